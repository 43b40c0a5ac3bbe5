/*
 * daemon.h - the one main loop every daemon runs.
 *
 * A daemon's main() declares its component, its settings, the inboxes it
 * reads and its timers, and calls daemon_main().  The loop (libuv) does the
 * rest: arguments, site.ini, the component log, the pid-file lock (one
 * process per component and site), the database connection and its
 * reconnection with backoff, settings re-read on a timer and on SIGHUP,
 * clean stop on SIGTERM/SIGINT, watched inboxes with a periodic rescan,
 * start-up recovery of the boxes, and the component's start/stop status
 * messages.
 */
#ifndef CM_DAEMON_H
#define CM_DAEMON_H

#include <uv.h>

#include "config.h"
#include "db.h"
#include "inbox.h"
#include "statmsg.h"

typedef struct daemon_ctx daemon_ctx;
typedef struct daemon_timer daemon_timer;

/*
 * An inbox handler: process one bounded batch of the box.  Return 1 when
 * more work remains (the loop calls again soon), 0 when the box is drained,
 * or a negative code (CM_EDBCONN pauses all handlers until the database is
 * back; the box is rescanned then).
 */
typedef int (*daemon_inbox_fn)(daemon_ctx *ctx, const inbox_dir *box, void *ud);

/*
 * A timer callback: return the delay in milliseconds until the next call,
 * or a negative value to stop the timer.  A callback that hits CM_EDBCONN
 * calls daemon_db_lost() and returns its next delay as usual.
 */
typedef long long (*daemon_timer_fn)(daemon_ctx *ctx, void *ud);

typedef struct daemon_inbox_spec {
    const char *box; /* a box name of the catalogue */
    daemon_inbox_fn fn;
} daemon_inbox_spec;

typedef struct daemon_spec {
    const char *progname;  /* smsdbmon */
    const char *component; /* SMS_DATABASE_NOTIFICATION_MONITOR */
    const char *logname;   /* smsdbmon.log */
    config_setting *settings;
    size_t nsettings;
    const daemon_inbox_spec *inboxes;
    size_t ninboxes;
    long long rescan_ms;           /* periodic rescan of the inboxes; 0 = 60 s */
    int (*start)(daemon_ctx *ctx); /* after the database is up; may add timers */
    void (*stop)(daemon_ctx *ctx); /* before the loop closes */
    void (*settings_changed)(daemon_ctx *ctx);
    void (*db_reconnected)(daemon_ctx *ctx); /* after a lost connection came back */
    void *ud;
} daemon_spec;

/* Run the daemon; returns the process exit code. */
int daemon_main(int argc, char **argv, const daemon_spec *spec);

/* Accessors for handlers. */
db *daemon_db(daemon_ctx *ctx);
const site_ini *daemon_site(daemon_ctx *ctx);
const inbox_catalogue *daemon_catalogue(daemon_ctx *ctx);
const char *daemon_inboxes_dir(daemon_ctx *ctx);
uv_loop_t *daemon_loop(daemon_ctx *ctx);
void *daemon_ud(daemon_ctx *ctx);

/* Timers: first call after first_ms. */
daemon_timer *daemon_timer_add(daemon_ctx *ctx, daemon_timer_fn fn, void *ud, long long first_ms);
/* Re-arm a timer to fire after ms (sooner or later than planned). */
void daemon_timer_wake(daemon_timer *t, long long ms);

/*
 * Report that a database call failed with CM_EDBCONN: logs once, pauses the
 * inbox handlers, and reconnects with backoff (1 s doubling to 60 s).
 */
void daemon_db_lost(daemon_ctx *ctx);
int daemon_db_ok(daemon_ctx *ctx);

/* A status message from this component: the STATMSG line and the rows. */
int daemon_statmsg(daemon_ctx *ctx, int id, char sev, char lev, const char *istr0,
                   const char *istr1, const char *istr2, const char *istr3);

/* Ask the loop to stop (as SIGTERM does). */
void daemon_stop(daemon_ctx *ctx);

#endif
