/*
 * notify.h - the work of SMS Database Notification Monitor: turn rows of
 * TableChangeNotifications into files dropped in the registered inboxes.
 */
#ifndef DBMON_NOTIFY_H
#define DBMON_NOTIFY_H

#include "db.h"
#include "inbox.h"

typedef struct dbmon dbmon;

/* How the poll reports a status message (the daemon stores it). */
typedef void (*dbmon_report_fn)(void *ud, int id, char sev, const char *s0, const char *s1,
                                const char *s2, const char *s3);

struct dbmon {
    db *d;
    const inbox_catalogue *cat;
    const char *inboxes_dir;
    long long batch_size;
    dbmon_report_fn report;
    void *ud;
    int failing; /* a drop is failing: report it once, not at every poll */
};

/*
 * One pass: read up to batch_size notification rows in ID order, log each
 * (RCV:), drop one file per notification and key (SND:), and delete the
 * rows whose file is in place (or that were rejected, which is reported).
 * Returns the number of rows read (so the caller polls again at once when a
 * full batch came), or a negative code (CM_EDBCONN: the database is away).
 */
int dbmon_poll(dbmon *m);

/* The file name for a notification key and extension, validated for the box. */
int dbmon_file_name(const inbox_box *box, const char *key, const char *ext, char *buf, size_t len);

#endif
