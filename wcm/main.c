/*
 * main.c - wcm, SMS_WSUS_CONFIGURATION_MANAGER (WCM.log): keeps every
 * software update point of the site configured as the site says.
 *
 * It configures the SUPs (supcfg.c, from the rules of desired.c and the
 * tables of sitedb.c) when it starts, every 'Check Interval' minutes, at
 * once on a .CSB notification in WSUSMgr.box ("File notification triggered
 * WCM Inbox.", dropped by smsdbmon when CI_UpdateCategorySubscription
 * changes), and when the site's settings for its SUPs change in the
 * database (an account fixed, a proxy set: what a site control change
 * notification does on a real site server; here a cheap poll of the rows)
 * or its own settings for connecting to them do (a CA file, a timeout).
 * After a successful pass it watches closely for 'Subscription Wait'
 * seconds ("Will wait for 1 minute for any subscription or proxy
 * changes"), then logs how long it waits for the next check.  A
 * notification file is deleted only once the pass that read the
 * subscription after it was dropped has recorded its outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "daemon.h"
#include "log.h"
#include "sitedb.h"
#include "supcfg.h"

#define WCM_BOX "WSUSMgr.box"
#define SCAN_BATCH 256
#define MAX_PW_SUPS 64
#define DB_RETRY_MS 60000
/* How often the site's settings are compared with the last pass: closely during the wait
 * after a success, then every few seconds (a handful of small queries). */
#define WATCH_CLOSE_MS 1000
#define WATCH_MS 5000
/* A burst of notifications is let settle this long, but never delays a pass more than
 * SETTLE_MAX_MS after the first one was seen. */
#define SETTLE_MS 200
#define SETTLE_MAX_MS 1000

static long long check_min = 60;
static long long wait_s = 60;
static long long timeout_s = 60;
static long long ssl_insecure = 0;
static char ca_file[1024];

static config_setting settings[] = {
    {"Check Interval", CONFIG_INT, 60, NULL, &check_min, NULL, 0},
    {"Subscription Wait", CONFIG_INT, 60, NULL, &wait_s, NULL, 0},
    {"Connection Timeout", CONFIG_INT, 60, NULL, &timeout_s, NULL, 0},
    {"SSL CA File", CONFIG_STR, 0, "", NULL, ca_file, sizeof ca_file},
    {"SSL Skip Certificate Check", CONFIG_INT, 0, NULL, &ssl_insecure, NULL, 0},
};

typedef enum { PASS_NONE, PASS_SCHEDULED, PASS_NOTIFY, PASS_CHANGED } pass_kind;

static struct {
    daemon_timer *tick;
    inbox_dir box;
    int have_box;
    int csb_pending;
    uint64_t csb_seen_at;    /* when the waiting notifications were first seen */
    uint64_t csb_hold_until; /* after a file could not be deleted */
    uint64_t next_check_at;  /* loop time (ms) of the next interval check; 0 = now */
    uint64_t wait_until;     /* end of the close watch after a successful pass */
    int wait_logged;         /* "Waiting for changes for N minutes" said for this pass */
    uint64_t last_pass_at;
    int have_pass;
    uint64_t last_fp;
    struct {
        long long sup_id;
        uint64_t hash;
    } pw[MAX_PW_SUPS]; /* what proxy password each SUP was last given (a server never
                          returns it; unknown after a restart, so it is sent once then) */
    size_t npw;
    int load_failed; /* reported once until a load works again */
    int force;       /* a setting of how to connect changed: configure again */
    char last_ca[1024];
    long long last_insecure, last_timeout;
} wcm;

static long long check_ms(void)
{
    return (check_min > 0 ? check_min : 1) * 60000LL;
}

static long long wait_ms(void)
{
    return (wait_s > 0 ? wait_s : 0) * 1000LL;
}

/* ------------------------------------------------------------------ */
/* The inbox                                                           */
/* ------------------------------------------------------------------ */

static const char *reject_text(inbox_reject why)
{
    switch (why) {
    case INBOX_REJECT_NAME:
        return "the name is not <n>.CSB";
    case INBOX_REJECT_TYPE:
        return "not a regular file";
    case INBOX_REJECT_LINKS:
        return "the file has more than one hard link";
    default:
        return "the file is larger than the inbox allows";
    }
}

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    daemon_ctx *ctx = ud;
    if (inbox_quarantine(&wcm.box, name, 0) < 0)
        return;
    log_msg("Rejected notification file %s in %s: %s. Moved it to %s.", name, wcm.box.path,
            reject_text(why), wcm.box.corrupt);
    daemon_statmsg(ctx, 8403, 'E', 'M', name, WCM_BOX, reject_text(why), wcm.box.corrupt);
}

/*
 * The .CSB files waiting (up to one batch, oldest first) into snap, and
 * whether one was written in the last moments (smsdbmon drops one file per
 * changed category, so a change of several categories arrives as a burst
 * that one pass should cover).  Bad entries are quarantined on the way.
 */
static int csb_scan(daemon_ctx *ctx, inbox_entry *snap, size_t *n, int *settling)
{
    *n = 0;
    if (settling)
        *settling = 0;
    if (!wcm.have_box)
        return 0;
    int ret = inbox_scan(&wcm.box, snap, SCAN_BATCH, n, on_reject, ctx);
    for (size_t i = 0; ret == 0 && settling && i < *n; i++)
        if (inbox_is_settling(&snap[i], SETTLE_MS))
            *settling = 1;
    return ret;
}

/*
 * Delete the notifications the pass covered: the files that were there,
 * unchanged, when it started reading the database.  A file replaced since
 * (smsdbmon drops the same name again for a new change) has another time
 * and stays for the next pass.
 */
static int csb_remove_covered(daemon_ctx *ctx, const inbox_entry *snap, size_t nsnap)
{
    static inbox_entry now[SCAN_BATCH];
    size_t n = 0;
    int failed = 0;
    if (!nsnap || csb_scan(ctx, now, &n, NULL) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nsnap; k++) {
            if (strcmp(now[i].name, snap[k].name) != 0)
                continue;
            if (now[i].mtime.tv_sec != snap[k].mtime.tv_sec ||
                now[i].mtime.tv_nsec != snap[k].mtime.tv_nsec || now[i].size != snap[k].size)
                break;
            int ret = inbox_remove(&wcm.box, now[i].name, 0);
            if (ret == 0) {
                log_verbose("Processed notification file %s", now[i].name);
            } else if (!failed++) {
                log_msg("ERROR: Cannot delete the notification file %s from %s: %s. WCM looks "
                        "at the inbox again in %lld seconds.",
                        now[i].name, wcm.box.path, cm_strerror(ret), (long long)DB_RETRY_MS / 1000);
            }
            break;
        }
    return failed;
}

/* A hint from the loop (a watch event or the rescan): a notification wakes the tick now. */
static int handle_box(daemon_ctx *ctx, const inbox_dir *box, void *ud)
{
    static inbox_entry e[SCAN_BATCH];
    size_t n = 0;
    (void)box;
    (void)ud;
    int ret = csb_scan(ctx, e, &n, NULL);
    if (ret < 0)
        return ret;
    if (n && wcm.tick && !wcm.csb_pending) {
        wcm.csb_pending = 1;
        wcm.csb_seen_at = uv_now(daemon_loop(ctx));
        daemon_timer_wake(wcm.tick, 0);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One pass                                                            */
/* ------------------------------------------------------------------ */

static uint64_t pw_hash(const desired_sup *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *parts[] = {s->proxy_name, s->proxy_account, s->proxy_password};
    for (size_t k = 0; k < 3; k++) {
        for (const char *p = parts[k]; *p; p++) {
            h ^= (unsigned char)*p;
            h *= 0x100000001b3ULL;
        }
        h ^= 0x1f;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int pw_needs_send(const desired_sup *s)
{
    for (size_t i = 0; i < wcm.npw; i++)
        if (wcm.pw[i].sup_id == s->id)
            return wcm.pw[i].hash != pw_hash(s);
    return 1;
}

static void pw_remember(const desired_sup *s)
{
    for (size_t i = 0; i < wcm.npw; i++)
        if (wcm.pw[i].sup_id == s->id) {
            wcm.pw[i].hash = pw_hash(s);
            return;
        }
    if (wcm.npw < MAX_PW_SUPS) {
        wcm.pw[wcm.npw].sup_id = s->id;
        wcm.pw[wcm.npw++].hash = pw_hash(s);
    }
}

/* Store a SUP's state; log the documents' line when the number changes. */
static int set_state(daemon_ctx *ctx, desired_sup *s, int state, const char *error)
{
    int ret = sitedb_set_state(daemon_db(ctx), s->id, state, error);
    if (ret < 0) {
        log_msg("ERROR: Failed to record configuration state %d of WSUS server %s: %s", state,
                s->server, db_errmsg(daemon_db(ctx)));
        return ret;
    }
    if (state != s->state)
        log_msg("Setting new configuration state to %d (%s)", state, desired_state_name(state));
    s->state = state;
    return 0;
}

static void version_check_lines(void)
{
    log_msg("Checking for supported version of WSUS (min WSUS 3.0 SP2 + KB2720211 + KB2734608)");
    log_msg("Checking runtime v2.0.50727...");
    log_msg("Did not find supported version of assembly Microsoft.UpdateServices.Administration.");
    log_msg("Checking runtime v4.0.30319...");
    log_msg("Found supported assembly Microsoft.UpdateServices.Administration version 4.0.0.0, "
            "file version %s",
            WSUSAPI_SERVER_VERSION);
    log_msg("Found supported assembly Microsoft.UpdateServices.BaseApi version 4.0.0.0, file "
            "version %s",
            WSUSAPI_SERVER_VERSION);
    log_msg("Supported WSUS version found");
}

/* Configure every SUP; returns 0, or a negative code when the outcome could not be recorded. */
static int run_pass(daemon_ctx *ctx, desired_input *in, pass_kind kind, int *all_ok)
{
    desired_category *known = NULL;
    size_t nknown = 0;
    char wait_text[64];
    int ret = 0;

    *all_ok = 1;
    if (kind == PASS_NOTIFY)
        log_msg("File notification triggered WCM Inbox.");
    else if (kind == PASS_SCHEDULED)
        version_check_lines();
    else
        log_msg("The settings of the software update points of site %s changed in the site "
                "database; configuring them now.",
                in->site.code);
    if (in->nsups == 0) {
        log_msg("Site %s has no software update point; there is nothing to configure.",
                in->site.code);
        return 0;
    }
    /* Names for the change lines; a failure here only makes those lines terser. */
    if (sitedb_categories(daemon_db(ctx), &known, &nknown) == CM_EDBCONN)
        return CM_EDBCONN;
    desired_wait_text(wait_s, wait_text, sizeof wait_text);

    for (size_t i = 0; i < in->nsups; i++) {
        desired_sup *s = &in->sups[i];
        int before = s->state;
        int interim = kind == PASS_NOTIFY              ? DESIRED_STATE_SUBSCRIPTION_PENDING
                      : s->state == DESIRED_STATE_NONE ? DESIRED_STATE_PENDING
                                                       : -1;
        if (interim >= 0 && interim != s->state && (ret = set_state(ctx, s, interim, NULL)) < 0)
            goto done;

        supcfg_opts o = {.timeout_s = timeout_s > 0 ? timeout_s : 60,
                         .ca_file = ca_file,
                         .insecure = ssl_insecure != 0,
                         .send_proxy_password = pw_needs_send(s),
                         .known = known,
                         .nknown = nknown};
        supcfg_result r;
        supcfg_run(in, i, &o, &r);

        if (r.ok) {
            if (r.proxy_password_sent)
                pw_remember(s);
            if (r.version[0] &&
                sitedb_set_version(daemon_db(ctx), s->id, r.version) == CM_EDBCONN) {
                ret = CM_EDBCONN;
                goto done;
            }
            log_msg("Configuration successful. Will wait for %s for any subscription or proxy "
                    "changes",
                    wait_text);
            if ((ret = set_state(ctx, s, DESIRED_STATE_SUCCESS, NULL)) < 0)
                goto done;
            if (before != DESIRED_STATE_SUCCESS || r.nchanges)
                daemon_statmsg(ctx, 8400, 'I', 'M', s->server, r.where, r.upstream,
                               r.nchanges ? r.summary : "nothing");
        } else {
            *all_ok = 0;
            daemon_statmsg(ctx, 8401, 'E', 'M', s->server, r.where, r.error, r.advice);
            if ((ret = set_state(ctx, s, DESIRED_STATE_FAILED, r.error)) < 0)
                goto done;
        }
    }
done:
    free(known);
    return ret;
}

/* ------------------------------------------------------------------ */
/* The tick: decides whether a pass is due                              */
/* ------------------------------------------------------------------ */

static void log_waiting(uint64_t now)
{
    uint64_t left = wcm.next_check_at > now ? wcm.next_check_at - now : 0;
    log_msg("Waiting for changes for %llu minutes", (unsigned long long)((left + 30000) / 60000));
    wcm.wait_logged = 1;
}

static long long tick(daemon_ctx *ctx, void *ud)
{
    static inbox_entry snap[SCAN_BATCH];
    uint64_t now = uv_now(daemon_loop(ctx));
    desired_input in;
    pass_kind kind = PASS_NONE;
    size_t ncsb = 0;
    int ret, all_ok = 0, settling = 0;
    (void)ud;

    /* Taken before the database is read: these notifications are covered by the pass. */
    if (csb_scan(ctx, snap, &ncsb, &settling) < 0)
        ncsb = 0;
    else {
        if (ncsb && !wcm.csb_pending)
            wcm.csb_seen_at = now;
        wcm.csb_pending = ncsb > 0;
    }
    if (wcm.csb_pending && settling && now - wcm.csb_seen_at < SETTLE_MAX_MS)
        return SETTLE_MS;

    ret = sitedb_load(daemon_db(ctx), daemon_site(ctx), &in);
    if (ret < 0) {
        if (ret == CM_EDBCONN) {
            daemon_db_lost(ctx);
            return 1000;
        }
        if (!wcm.load_failed) {
            const char *err = ret == CM_EDB ? db_errmsg(daemon_db(ctx)) : cm_strerror(ret);
            log_msg("ERROR: Cannot read the software update points of site %s from the site "
                    "database: %s. Will retry in %lld seconds.",
                    daemon_site(ctx)->site_code, err, (long long)DB_RETRY_MS / 1000);
            daemon_statmsg(ctx, 8402, 'E', 'M', daemon_site(ctx)->site_code, err, NULL, NULL);
            wcm.load_failed = 1;
        }
        return DB_RETRY_MS;
    }
    wcm.load_failed = 0;
    uint64_t fp = desired_fingerprint(&in);

    if (wcm.csb_pending && now >= wcm.csb_hold_until)
        kind = PASS_NOTIFY;
    else if (now >= wcm.next_check_at)
        kind = PASS_SCHEDULED;
    else if (wcm.have_pass && (fp != wcm.last_fp || wcm.force))
        kind = PASS_CHANGED;

    if (kind != PASS_NONE) {
        ret = run_pass(ctx, &in, kind, &all_ok);
        if (ret == CM_EDBCONN) {
            /* Nothing recorded: the notifications stay, the pass runs again once the
             * database is back. */
            desired_input_free(&in);
            daemon_db_lost(ctx);
            return 1000;
        }
        if (ret < 0) {
            /* The outcome could not be recorded (logged by set_state): the notifications
             * stay and the pass runs again in a while, not in a tight loop. */
            desired_input_free(&in);
            return DB_RETRY_MS;
        }
        now = uv_now(daemon_loop(ctx));
        wcm.have_pass = 1;
        wcm.force = 0;
        wcm.last_pass_at = now;
        wcm.last_fp = fp;
        wcm.next_check_at = now + (uint64_t)check_ms();
        wcm.wait_logged = 0;
        wcm.wait_until = all_ok && in.nsups ? now + (uint64_t)wait_ms() : now;
        /* A file that cannot be deleted must not make pass after pass: it waits a while. */
        if (csb_remove_covered(ctx, snap, ncsb))
            wcm.csb_hold_until = now + DB_RETRY_MS;
        static inbox_entry left[SCAN_BATCH];
        size_t nleft = 0;
        wcm.csb_pending = csb_scan(ctx, left, &nleft, NULL) == 0 && nleft > 0;
        wcm.csb_seen_at = now;
    }
    desired_input_free(&in);
    if (wcm.have_pass && !wcm.wait_logged && now >= wcm.wait_until)
        log_waiting(now);

    /* Next look: a waiting notification at once, else the end of the close watch, the
     * interval check, or the next comparison of the site's settings. */
    if (wcm.csb_pending && now >= wcm.csb_hold_until)
        return 0;
    uint64_t next = wcm.next_check_at > now ? wcm.next_check_at - now : 0;
    uint64_t watch = now < wcm.wait_until ? WATCH_CLOSE_MS : WATCH_MS;
    if (watch < next)
        next = watch;
    if (!wcm.wait_logged && wcm.wait_until > now && wcm.wait_until - now < next)
        next = wcm.wait_until - now;
    return (long long)next;
}

/* ------------------------------------------------------------------ */
/* Daemon                                                              */
/* ------------------------------------------------------------------ */

/* Remember how WCM connects, so a change of it (a CA file given) configures again. */
static int connection_settings_changed(void)
{
    int changed = strcmp(wcm.last_ca, ca_file) != 0 || wcm.last_insecure != ssl_insecure ||
                  wcm.last_timeout != timeout_s;
    snprintf(wcm.last_ca, sizeof wcm.last_ca, "%s", ca_file);
    wcm.last_insecure = ssl_insecure;
    wcm.last_timeout = timeout_s;
    return changed;
}

static int start(daemon_ctx *ctx)
{
    const inbox_box *b = inbox_catalogue_find(daemon_catalogue(ctx), WCM_BOX);
    if (!b || inbox_dir_open(&wcm.box, daemon_inboxes_dir(ctx), b) < 0) {
        log_msg("ERROR: The inbox catalogue has no usable %s.", WCM_BOX);
        return CM_ENOTFOUND;
    }
    wcm.have_box = 1;
    connection_settings_changed();
    log_msg("WSUS Configuration Manager checks the software update points of site %s every %lld "
            "minute(s) and on notifications in %s.",
            daemon_site(ctx)->site_code, check_min, wcm.box.path);
    wcm.tick = daemon_timer_add(ctx, tick, NULL, 0);
    return wcm.tick ? 0 : -1;
}

static void settings_changed(daemon_ctx *ctx)
{
    (void)ctx;
    if (connection_settings_changed())
        wcm.force = 1;
    /* A new interval counts from the last check. */
    if (wcm.have_pass)
        wcm.next_check_at = wcm.last_pass_at + (uint64_t)check_ms();
    if (wcm.tick)
        daemon_timer_wake(wcm.tick, 0);
}

static void reconnected(daemon_ctx *ctx)
{
    (void)ctx;
    if (wcm.tick)
        daemon_timer_wake(wcm.tick, 0);
}

int main(int argc, char **argv)
{
    static const daemon_inbox_spec boxes[] = {
        {WCM_BOX, handle_box},
    };
    static const daemon_spec spec = {
        .progname = "wcm",
        .component = "SMS_WSUS_CONFIGURATION_MANAGER",
        .logname = "WCM.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .inboxes = boxes,
        .ninboxes = 1,
        .rescan_ms = 10000,
        .start = start,
        .settings_changed = settings_changed,
        .db_reconnected = reconnected,
    };
    return daemon_main(argc, argv, &spec);
}
