/*
 * labtestd.c - a daemon that exists only for the tests of the shared daemon
 * loop (components/daemon.c): it reads the state message inbox the way a
 * real reader must (bounded batches, claim, settle time, quarantine of bad
 * files, delete after the work), logs a verbose tick on a timer, and says
 * when its settings change, so tests/e2e/daemon.sh can check start-up
 * recovery, watching, rescans, signals, settings re-reads and pid locking
 * with a real process.  It is not installed and not started by cmsite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "daemon.h"
#include "log.h"

#define BATCH 16

static long long tick_ms = 200;
static long long settle_ms = 0;

static config_setting settings[] = {
    {"Tick Interval", CONFIG_INT, 200, NULL, &tick_ms, NULL, 0},
    {"Settle Time", CONFIG_INT, 0, NULL, &settle_ms, NULL, 0},
};

static const char *reject_name(inbox_reject why)
{
    switch (why) {
    case INBOX_REJECT_NAME:
        return "name";
    case INBOX_REJECT_TYPE:
        return "not a regular file";
    case INBOX_REJECT_LINKS:
        return "hard links";
    default:
        return "size";
    }
}

struct reject_ctx {
    daemon_ctx *ctx;
    const inbox_dir *box;
};

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    struct reject_ctx *r = ud;
    if (inbox_quarantine(r->box, name, 0) == 0) {
        log_msg("Rejected %s (%s); moved to corrupt.", name, reject_name(why));
        daemon_statmsg(r->ctx, 99990, 'E', 'M', name, reject_name(why), NULL, NULL);
    }
}

static int handle_box(daemon_ctx *ctx, const inbox_dir *box, void *ud)
{
    inbox_entry e[BATCH];
    size_t n = 0;
    struct reject_ctx r = {ctx, box};
    (void)ud;
    int ret = inbox_scan(box, e, BATCH, &n, on_reject, &r);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        char *data = NULL;
        size_t len = 0;
        if (inbox_is_settling(&e[i], settle_ms))
            continue;
        if ((ret = inbox_claim(box, e[i].name)) < 0)
            continue;
        if ((ret = inbox_read(box, e[i].name, 1, 1 << 20, &data, &len)) < 0 ||
            strncmp(data, "BAD", 3) == 0) {
            inbox_quarantine(box, e[i].name, 1);
            log_msg("Bad file %s; moved to corrupt.", e[i].name);
            daemon_statmsg(ctx, 99991, 'E', 'M', e[i].name, NULL, NULL, NULL);
        } else {
            log_msg("Processed file %s (%zu bytes)", e[i].name, len);
            inbox_remove(box, e[i].name, 1);
        }
        free(data);
    }
    /* A full batch means there may be more; a settling file waits for the rescan. */
    return n == BATCH ? 1 : 0;
}

static long long tick(daemon_ctx *ctx, void *ud)
{
    (void)ctx;
    (void)ud;
    log_verbose("tick");
    return tick_ms;
}

static int start(daemon_ctx *ctx)
{
    return daemon_timer_add(ctx, tick, NULL, tick_ms) ? 0 : CM_EDB;
}

static void changed(daemon_ctx *ctx)
{
    (void)ctx;
    log_msg("Settings now: Tick Interval %lld, Settle Time %lld", tick_ms, settle_ms);
}

int main(int argc, char **argv)
{
    static const daemon_inbox_spec boxes[] = {
        {"auth/statesys.box/incoming", handle_box},
    };
    static const daemon_spec spec = {
        .progname = "labtestd",
        .component = "SMS_LAB_TEST_COMPONENT",
        .logname = "labtestd.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .inboxes = boxes,
        .ninboxes = 1,
        .rescan_ms = 1000,
        .start = start,
        .settings_changed = changed,
    };
    return daemon_main(argc, argv, &spec);
}
