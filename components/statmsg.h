/*
 * statmsg.h - ConfigMgr status messages.
 *
 * A status message is written twice, as the real site server does: as the
 * STATMSG: line in the component's log and as rows in StatusMessages,
 * StatusMessageInsStrs and StatusMessageAttributes, so it can be read in the
 * log, queried with SQL, and shown as text (cmsite statmsg).
 */
#ifndef CM_STATMSG_H
#define CM_STATMSG_H

#include <stddef.h>
#include <time.h>

#include "db.h"

#define STATMSG_MAX_INSSTRS 10
#define STATMSG_MAX_ATTRS 8

/* Severity letters of the STATMSG line and their stored values. */
#define STATMSG_SEV_INFO 0x40000000L
#define STATMSG_SEV_WARNING 0x80000000L
#define STATMSG_SEV_ERROR 0xC0000000L
/* Message types (LEV= M, D, A). */
#define STATMSG_TYPE_MILESTONE 256
#define STATMSG_TYPE_DETAIL 512
#define STATMSG_TYPE_AUDIT 768

typedef struct statmsg_attr {
    int id;
    const char *value;
} statmsg_attr;

typedef struct statmsg {
    int id;                /* MessageID, e.g. 6701 */
    char sev;              /* 'I', 'W' or 'E' */
    char lev;              /* 'M' milestone, 'D' detail, 'A' audit */
    const char *component; /* e.g. SMS_WSUS_SYNC_MANAGER */
    const char *machine;   /* SYS=, the site server's name */
    const char *site;      /* SITE=, the site code */
    long pid;
    long tid;
    struct timespec time;                  /* UTC time of the event */
    const char *istr[STATMSG_MAX_INSSTRS]; /* NULL reads as "" */
    int nattrs;
    statmsg_attr attrs[STATMSG_MAX_ATTRS];
} statmsg;

/*
 * Fill the fields that come from the process (pid, tid, now); the caller
 * sets id, sev, lev, component, machine, site and the strings.
 */
void statmsg_init(statmsg *m, int id, char sev, char lev, const char *component,
                  const char *machine, const char *site);

/*
 * The log line, e.g.
 *   STATMSG: ID=6701 SEV=I LEV=M SOURCE="SMS Server" COMP="SMS_WSUS_SYNC_MANAGER"
 *   SYS=CS1SITE.CONTOSO.COM SITE=CS1 PID=432 TID=3404 GMTDATE=Thu Jan 16 18:53:52.608 2014
 *   ISTR0="" ... ISTR9="" NUMATTRS=0
 * (one line; attributes follow as AID=n AVAL="v").  Returns the length or a
 * negative code; always NUL-terminated.
 */
int statmsg_format_line(char *buf, size_t len, const statmsg *m);

/* Store the rows in one transaction; returns the new RecordID in *record_id. */
int statmsg_store(db *d, const statmsg *m, long long *record_id);

/*
 * What components call: write the STATMSG line to the component log and
 * store the rows.  The line is written even when the database is away (d
 * NULL, or the connection breaks): the rows then wait in the spool, and the
 * return value, CM_EDBCONN, tells the caller to reconnect.
 */
int statmsg_report(db *d, const statmsg *m);

/*
 * The spool: status messages whose rows could not be stored wait as .SVF
 * files in inboxes/statmgr.box/statmsgs, the folder where the real site
 * server's components leave theirs for Status Manager.  A message is lost
 * neither when the database is away nor when the process dies before it
 * comes back.  The file is ours (a line per field, %XX for control bytes),
 * named <component>.<time>.<pid>.<seq>.SVF.
 */
#define STATMSG_SPOOL_BOX "statmgr.box/statmsgs"
/* Set the spool of this process (once, at start-up, before any thread reports). */
int statmsg_spool_open(const char *inboxes_dir);
/* Spool one message (statmsg_report does this by itself when the store fails). */
int statmsg_spool_write(const statmsg *m);
/* 1 when this process spooled a message that no replay has taken yet. */
int statmsg_spool_pending(void);
/*
 * Store the component's spooled messages, oldest first, each in its own
 * transaction, skipping one stored already (same message, process, thread,
 * component and time), and delete each file after its commit.  Files that
 * cannot be read back go to corrupt/ (counted in *bad).  Stops at the first
 * database error, leaving the rest for the next replay.
 */
int statmsg_spool_replay(db *d, const char *component, size_t *stored, size_t *bad);

/*
 * The message text from the catalogue (StatusMessageCatalog) with %1..%10
 * replaced by the insertion strings; used by cmsite statmsg.
 */
int statmsg_render(db *d, int message_id, const char *const istr[STATMSG_MAX_INSSTRS], char *buf,
                   size_t len);

/* The same, preferring the component's own text for the ID over the generic one. */
int statmsg_render_component(db *d, int message_id, const char *component,
                             const char *const istr[STATMSG_MAX_INSSTRS], char *buf, size_t len);

#endif
