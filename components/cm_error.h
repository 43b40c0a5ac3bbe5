/*
 * cm_error.h - the error codes shared by every library in components/.
 *
 * Library functions return 0 on success or a negative code (libuv style):
 * either a negated errno value, or one of the project codes below, which
 * sit far below any errno so the two never collide.  cm_strerror() turns
 * either kind into text for the caller that logs.
 */
#ifndef CM_ERROR_H
#define CM_ERROR_H

enum {
    CM_EDB = -10001,       /* the database rejected a statement */
    CM_EDBCONN = -10002,   /* the connection to the database is gone */
    CM_EPARSE = -10003,    /* malformed input (file, setting, message) */
    CM_ENAME = -10004,     /* a name that fails validation (file, box, key) */
    CM_ENOTFOUND = -10005, /* a row, setting or box that does not exist */
    CM_ELOCKED = -10006,   /* another process holds the lock */
    CM_ETOOBIG = -10007,   /* input over its size cap */
    CM_ERANGE = -10008     /* a value out of its allowed range */
};

/* Text for a code returned by any components/ function. */
const char *cm_strerror(int code);

#endif
