/*
 * cm_error.c - text for the error codes of cm_error.h.
 */
#include <string.h>

#include "cm_error.h"

const char *cm_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case CM_EDB:
        return "database error";
    case CM_EDBCONN:
        return "database connection lost";
    case CM_EPARSE:
        return "malformed input";
    case CM_ENAME:
        return "invalid name";
    case CM_ENOTFOUND:
        return "not found";
    case CM_ELOCKED:
        return "locked by another process";
    case CM_ETOOBIG:
        return "input too large";
    case CM_ERANGE:
        return "value out of range";
    default:
        if (code < 0 && code > -4096)
            return strerror(-code);
        return "unknown error";
    }
}
