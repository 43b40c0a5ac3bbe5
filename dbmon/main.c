/*
 * main.c - smsdbmon, SMS_DATABASE_NOTIFICATION_MONITOR: polls the site
 * database's change notifications and drops the registered inbox files.
 * The work is in notify.c; this file declares the settings and the poll
 * timer for the shared daemon loop.
 */
#include "cm_error.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

static long long poll_ms = 100;
static long long batch_size = 500;
static daemon_timer *poll_timer;
static dbmon mon;

static config_setting settings[] = {
    {"Polling Interval", CONFIG_INT, 100, NULL, &poll_ms, NULL, 0},
    {"Batch Size", CONFIG_INT, 500, NULL, &batch_size, NULL, 0},
};

static void report(void *ud, int id, char sev, const char *s0, const char *s1, const char *s2,
                   const char *s3)
{
    daemon_statmsg(ud, id, sev, 'M', s0, s1, s2, s3);
}

static long long poll_cb(daemon_ctx *ctx, void *ud)
{
    (void)ud;
    mon.d = daemon_db(ctx);
    mon.batch_size = batch_size;
    int ret = dbmon_poll(&mon);
    if (ret == CM_EDBCONN) {
        daemon_statmsg(ctx, 8101, 'W', 'M', db_errmsg(mon.d), NULL, NULL, NULL);
        daemon_db_lost(ctx);
        return poll_ms;
    }
    if (ret < 0) {
        log_msg("Reading change notifications failed: %s", db_errmsg(mon.d));
        return poll_ms > 1000 ? poll_ms : 1000;
    }
    /* A full batch means more rows are waiting: go on at once. */
    return ret >= batch_size ? 0 : (poll_ms > 0 ? poll_ms : 100);
}

static int start(daemon_ctx *ctx)
{
    mon.cat = daemon_catalogue(ctx);
    mon.inboxes_dir = daemon_inboxes_dir(ctx);
    mon.report = report;
    mon.ud = ctx;
    log_msg("Polling change notifications every %lld ms, %lld rows at a time.", poll_ms,
            batch_size);
    poll_timer = daemon_timer_add(ctx, poll_cb, NULL, 0);
    return poll_timer ? 0 : CM_EDB;
}

static void reconnected(daemon_ctx *ctx)
{
    daemon_statmsg(ctx, 8102, 'I', 'M', NULL, NULL, NULL, NULL);
    daemon_timer_wake(poll_timer, 0);
}

int main(int argc, char **argv)
{
    static const daemon_spec spec = {
        .progname = "smsdbmon",
        .component = "SMS_DATABASE_NOTIFICATION_MONITOR",
        .logname = "smsdbmon.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .start = start,
        .db_reconnected = reconnected,
    };
    return daemon_main(argc, argv, &spec);
}
