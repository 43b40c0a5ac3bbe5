/*
 * main.c - policypv, SMS_POLICY_PROVIDER: keeps the site's UpdateSource
 * policy in step with the content version of its update source.  It reads
 * the {GUID}.STN files smsdbmon drops in policypv.box (stn.c) and, every
 * 'Polling Interval' seconds and at start, checks the policy against the
 * database, so a notification missed while it was down is caught.  The
 * policy itself is written by policy.c.
 */
#include <stdio.h>

#include "cm_error.h"
#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "stn.h"

/* The first check waits for the start-up recovery of the box to be read first. */
#define FIRST_CHECK_MS 5000
#define RETRY_MS 60000

static long long poll_s = 3600;
static daemon_timer *check_timer;
static stn notes;

static config_setting settings[] = {
    {"Polling Interval", CONFIG_INT, 3600, NULL, &poll_s, NULL, 0},
};

static long long interval_ms(void)
{
    return (poll_s > 0 ? poll_s : 1) * 1000;
}

static void report(void *ud, int id, char sev, const char *s0, const char *s1, const char *s2,
                   const char *s3)
{
    daemon_statmsg(ud, id, sev, 'M', s0, s1, s2, s3);
}

static int handle_box(daemon_ctx *ctx, const inbox_dir *box, void *ud)
{
    (void)ud;
    notes.d = daemon_db(ctx);
    return stn_batch(&notes, box);
}

/* The periodic check: the same work as a notification, for every source of the site. */
static long long check_cb(daemon_ctx *ctx, void *ud)
{
    policy_result r;
    char version[32];
    const char *site = daemon_site(ctx)->site_code;
    (void)ud;
    int ret = policy_update(daemon_db(ctx), site, &r);
    if (ret < 0) {
        const char *err =
            ret == CM_EDB || ret == CM_EDBCONN ? db_errmsg(daemon_db(ctx)) : cm_strerror(ret);
        log_msg("ERROR: The periodic check of the UpdateSource policy of site %s failed: %s. "
                "Nothing was written.",
                site, err);
        daemon_statmsg(ctx, 8301, 'E', 'M', site, err, NULL, NULL);
        if (ret == CM_EDBCONN)
            daemon_db_lost(ctx);
        return interval_ms() < RETRY_MS ? interval_ms() : RETRY_MS;
    }
    snprintf(version, sizeof version, "%lld.00", r.version);
    if (r.changed) {
        log_msg("Periodic check: the UpdateSource policy %s of site %s was out of date (%s); "
                "wrote version %s: %s.",
                r.policy_id, site, r.reason, version, r.sources[0] ? r.sources : "none");
        daemon_statmsg(ctx, 8304, 'W', 'M', r.policy_id, version, r.reason, r.sources);
    } else {
        log_verbose("Periodic check: the UpdateSource policy of site %s is current (version %s).",
                    site, version);
    }
    return interval_ms();
}

static int start(daemon_ctx *ctx)
{
    notes.site = daemon_site(ctx)->site_code;
    notes.report = report;
    notes.ud = ctx;
    log_msg("Checking the UpdateSource policy of site %s every %lld seconds.", notes.site, poll_s);
    check_timer = daemon_timer_add(ctx, check_cb, NULL, FIRST_CHECK_MS);
    return check_timer ? 0 : CM_EDB;
}

static void settings_changed(daemon_ctx *ctx)
{
    (void)ctx;
    log_msg("Checking the UpdateSource policy every %lld seconds.", poll_s);
    daemon_timer_wake(check_timer, interval_ms());
}

int main(int argc, char **argv)
{
    static const daemon_inbox_spec boxes[] = {
        {"policypv.box", handle_box},
    };
    static const daemon_spec spec = {
        .progname = "policypv",
        .component = "SMS_POLICY_PROVIDER",
        .logname = "policypv.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .inboxes = boxes,
        .ninboxes = 1,
        .rescan_ms = 10000,
        .start = start,
        .settings_changed = settings_changed,
    };
    return daemon_main(argc, argv, &spec);
}
