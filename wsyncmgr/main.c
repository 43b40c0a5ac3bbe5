/*
 * main.c - wsyncmgr, SMS_WSUS_SYNC_MANAGER (WSUS Synchronization Manager):
 * the loop side.  It declares the settings, reads wsyncmgr.box, keeps the
 * schedule, the retry and the maintenance timers, and runs one job at a
 * time (a sync or a maintenance pass, sync.c) in a worker thread with its
 * own database connection, so the loop keeps answering signals, settings
 * and inbox events while a long sync runs.  Requests that arrive during a
 * job wait in the box and give one more sync afterwards.
 *
 * A request file is claimed into wsyncmgr.box/process when its sync starts
 * and deleted when the sync has ended (succeeded or failed): a sync cut
 * short by a crash or a stop runs again at the next start.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "cm_error.h"
#include "daemon.h"
#include "log.h"
#include "sync.h"
#include "syncstate.h"
#include "trigger.h"

#define BATCH 16
#define MAX_CLAIMED 8
#define COMPONENT "SMS_WSUS_SYNC_MANAGER"
/* Status message for a request file this site refuses (see docs/status-messages.md). */
#define MSG_BAD_REQUEST 8600

static long long schedule_min = 10080, retry_min = 60, post_wait_s = 120, cleanup_days = 7;
static long long maint_min = 60, busy_min = 60, maint_batch = 100, poll_ms = 500,
                 call_timeout_s = 120;
static char languages[512] = "en";

static config_setting settings[] = {
    {"Sync Schedule", CONFIG_INT, 10080, NULL, &schedule_min, NULL, 0},
    {"Retry Interval", CONFIG_INT, 60, NULL, &retry_min, NULL, 0},
    {"Post Sync Wait", CONFIG_INT, 120, NULL, &post_wait_s, NULL, 0},
    {"Expired Update Cleanup Age", CONFIG_INT, 7, NULL, &cleanup_days, NULL, 0},
    {"Maintenance Interval", CONFIG_INT, 60, NULL, &maint_min, NULL, 0},
    {"Maintenance Batch Size", CONFIG_INT, 100, NULL, &maint_batch, NULL, 0},
    {"WSUS Busy Timeout", CONFIG_INT, 60, NULL, &busy_min, NULL, 0},
    {"Progress Poll Interval", CONFIG_INT, 500, NULL, &poll_ms, NULL, 0},
    {"WSUS Call Timeout", CONFIG_INT, 120, NULL, &call_timeout_s, NULL, 0},
    {"Languages", CONFIG_STR, 0, "en", NULL, languages, sizeof languages},
};

static struct {
    daemon_ctx *ctx;
    const inbox_dir *box;
    daemon_timer *sync_timer, *maint_timer;
    uv_async_t done;
    int done_init;
    pthread_t thread;
    int running;
    sync_job *job;
    atomic_int cancel;
    char claimed[MAX_CLAIMED][INBOX_NAME_MAX + 1];
    int nclaimed;
    sync_kind timer_pending; /* a schedule or retry that fired during a job */
    int maint_pending;
    trigger_state ts;
} W;

static int top_level(void)
{
    return daemon_site(W.ctx)->parent_site[0] == '\0';
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

static void *job_thread(void *arg)
{
    sync_job *job = arg;
    sync_job_run(job);
    uv_async_send(&W.done);
    return NULL;
}

static void fill_settings(sync_settings *s)
{
    size_t unknown = 0;
    s->post_sync_wait_s = post_wait_s;
    s->retry_minutes = retry_min;
    s->busy_timeout_min = busy_min;
    s->poll_ms = poll_ms;
    s->call_timeout_s = call_timeout_s;
    s->cleanup_age_days = cleanup_days;
    s->maint_batch = maint_batch;
    if (lang_parse(languages, &s->langs, &unknown) < 0)
        lang_parse("en", &s->langs, NULL);
    if (unknown)
        log_msg("The Languages setting \"%s\" names %zu language(s) WSUS does not know; they are "
                "ignored",
                languages, unknown);
}

static int start_job(job_type type, sync_kind kind, const char *parent)
{
    sync_job *job = calloc(1, sizeof *job);
    if (!job)
        return -ENOMEM;
    job->type = type;
    job->kind = kind;
    snprintf(job->parent_site, sizeof job->parent_site, "%s", parent ? parent : "");
    job->ini = *daemon_site(W.ctx);
    snprintf(job->inboxes_dir, sizeof job->inboxes_dir, "%s", daemon_inboxes_dir(W.ctx));
    fill_settings(&job->set);
    job->cancel = &W.cancel;
    if (type == JOB_SYNC) {
        log_msg("Starting Sync");
        log_msg("Performing sync on %s", sync_kind_text(kind));
    }
    W.job = job;
    W.running = 1;
    if (pthread_create(&W.thread, NULL, job_thread, job) != 0) {
        log_msg("Cannot start the sync thread: %s", strerror(errno));
        W.running = 0;
        W.job = NULL;
        free(job);
        return -EAGAIN;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

static void log_next(void)
{
    int is_retry = 0;
    time_t now = time(NULL), next = trigger_next(&W.ts, schedule_min, retry_min, &is_retry);
    char t[64];
    if (!next) {
        log_msg("No sync is scheduled. Waiting for requests...");
        return;
    }
    trigger_time_text(next, t, sizeof t);
    log_msg("Next scheduled sync is a %s sync at %s", is_retry ? "retry" : "regular", t);
    log_msg("Waiting %lld minutes for requests...", trigger_minutes_until(next, now));
}

static long long sync_timer_cb(daemon_ctx *ctx, void *ud)
{
    int is_retry = 0;
    time_t now = time(NULL), next = trigger_next(&W.ts, schedule_min, retry_min, &is_retry);
    (void)ctx;
    (void)ud;
    if (!next)
        return 3600 * 1000LL; /* nothing scheduled: look again after settings change */
    if (next > now) {
        long long ms = (long long)(next - now) * 1000;
        return ms > 3600 * 1000LL ? 3600 * 1000LL : ms;
    }
    /* Due.  During a job it runs once the job is over. */
    sync_kind k = is_retry ? SYNC_RETRY : SYNC_SCHEDULE;
    if (W.running) {
        W.timer_pending = k;
        return 3600 * 1000LL;
    }
    log_msg(is_retry ? "Wakeup for scheduled retry sync" : "Wakeup for scheduled regular sync");
    /* Counted from now, so a sync that cannot start is not retried in a tight loop. */
    W.ts.last_sync = now;
    if (start_job(JOB_SYNC, k, NULL) < 0)
        return 60 * 1000LL;
    return 3600 * 1000LL;
}

static long long maint_timer_cb(daemon_ctx *ctx, void *ud)
{
    long long every = (maint_min > 0 ? maint_min : 60) * 60 * 1000LL;
    (void)ctx;
    (void)ud;
    if (!top_level())
        return every; /* maintenance belongs to the top-level site */
    if (W.running)
        W.maint_pending = 1;
    else
        start_job(JOB_MAINTENANCE, SYNC_LOCAL, NULL);
    return every;
}

/* ------------------------------------------------------------------ */
/* The inbox                                                           */
/* ------------------------------------------------------------------ */

static const char *reject_text(inbox_reject why)
{
    switch (why) {
    case INBOX_REJECT_NAME:
        return "its name is not a valid request file name";
    case INBOX_REJECT_TYPE:
        return "it is not a regular file";
    case INBOX_REJECT_LINKS:
        return "it has more than one hard link";
    default:
        return "it is larger than a request file may be";
    }
}

static void refuse(const inbox_dir *box, const char *name, const char *why)
{
    char corrupt[4400];
    if (inbox_quarantine(box, name, 0) < 0)
        return; /* gone meanwhile, or moved by another reader */
    snprintf(corrupt, sizeof corrupt, "%s", box->corrupt);
    log_msg("Rejected %s in %s: %s. Moved it to %s", name, box->path, why, corrupt);
    daemon_statmsg(W.ctx, MSG_BAD_REQUEST, 'E', 'M', name, why, box->box->name, corrupt);
}

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    refuse(ud, name, reject_text(why));
}

/* Directories named like request files are skipped by inbox_scan: refuse them too. */
static void refuse_directories(const inbox_dir *box)
{
    DIR *dir = opendir(box->path);
    struct dirent *de;
    char names[BATCH][INBOX_NAME_MAX + 1];
    int n = 0;
    if (!dir)
        return;
    while ((de = readdir(dir)) && n < BATCH) {
        struct stat st;
        if (de->d_name[0] == '.' || !inbox_name_valid(box->box, de->d_name))
            continue;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            snprintf(names[n++], sizeof names[0], "%s", de->d_name);
    }
    closedir(dir);
    for (int i = 0; i < n; i++)
        refuse(box, names[i], "it is a directory");
}

static int handle_box(daemon_ctx *ctx, const inbox_dir *box, void *ud)
{
    inbox_entry e[BATCH];
    size_t n = 0;
    int ret, found = 0, full = 0, local = 0, parent = 0;
    char parent_site[8] = "";
    const site_ini *ini = daemon_site(ctx);
    (void)ud;

    W.box = box;
    if (W.running)
        return 0; /* looked at again when the job is over */
    refuse_directories(box);
    if ((ret = inbox_scan(box, e, BATCH, &n, on_reject, (void *)box)) < 0)
        return ret;
    W.nclaimed = 0;
    for (size_t i = 0; i < n && W.nclaimed < MAX_CLAIMED; i++) {
        char site[8], why[256];
        trigger_file t =
            trigger_classify(e[i].name, ini->site_code, ini->parent_site, site, why, sizeof why);
        if (t == TRIGGER_BAD) {
            refuse(box, e[i].name, why);
            continue;
        }
        if (!found++)
            log_msg("Wakeup by inbox drop");
        if (t == TRIGGER_LOCAL) {
            log_msg("Found local sync request file");
            local = 1;
        } else if (t == TRIGGER_FULL) {
            log_msg("Found local full sync request file");
            full = 1;
        } else {
            log_msg("Found parent sync notification file %s.", e[i].name);
            parent = 1;
            snprintf(parent_site, sizeof parent_site, "%s", site);
        }
        if (inbox_claim(box, e[i].name) == 0)
            snprintf(W.claimed[W.nclaimed++], sizeof W.claimed[0], "%s", e[i].name);
    }
    if (W.nclaimed == 0)
        return 0;
    (void)local;
    sync_kind k = full ? SYNC_FULL : parent ? SYNC_PARENT : SYNC_LOCAL;
    ret = start_job(JOB_SYNC, k, parent ? parent_site : NULL);
    if (ret < 0) {
        /* Put the requests back; the next rescan tries again. */
        size_t back = 0;
        inbox_recover(box, &back);
        W.nclaimed = 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* End of a job                                                        */
/* ------------------------------------------------------------------ */

static void done_cb(uv_async_t *h)
{
    (void)h;
    if (!W.running)
        return;
    pthread_join(W.thread, NULL);
    W.running = 0;
    sync_job *job = W.job;
    W.job = NULL;
    if (job->type == JOB_SYNC && !job->canceled) {
        for (int i = 0; i < W.nclaimed; i++)
            if (inbox_remove(W.box, W.claimed[i], 1) < 0)
                log_msg("Cannot remove the request file %s from %s", W.claimed[i], W.box->process);
        W.nclaimed = 0;
        W.ts.last_sync = job->finished;
        W.ts.last_fail = job->ok ? 0 : job->finished;
        /* A schedule that fired during this sync is served by it. */
        W.timer_pending = 0;
    }
    int was_sync = job->type == JOB_SYNC;
    free(job);
    if (atomic_load(&W.cancel))
        return;

    /* Requests that came during the job, then what the timers asked for. */
    if (W.box && daemon_db_ok(W.ctx))
        handle_box(W.ctx, W.box, NULL);
    if (!W.running && W.timer_pending) {
        sync_kind k = W.timer_pending;
        W.timer_pending = 0;
        start_job(JOB_SYNC, k, NULL);
    }
    if (!W.running && W.maint_pending) {
        W.maint_pending = 0;
        start_job(JOB_MAINTENANCE, SYNC_LOCAL, NULL);
    }
    /* Between syncs the log says when the next one comes (maintenance may run meanwhile). */
    if (was_sync && !(W.running && W.job && W.job->type == JOB_SYNC))
        log_next();
    if (W.sync_timer)
        daemon_timer_wake(W.sync_timer, 1000);
}

/* ------------------------------------------------------------------ */
/* Daemon hooks                                                        */
/* ------------------------------------------------------------------ */

static void load_sync_times(daemon_ctx *ctx)
{
    sync_source src;
    time_t now = time(NULL);
    W.ts.origin = now;
    if (syncstate_source(daemon_db(ctx), daemon_site(ctx)->site_code, &src) < 0)
        return;
    W.ts.last_sync = src.last_sync_time;
    if (src.last_state == SYNC_STATE_FAILED)
        W.ts.last_fail = src.last_state_time ? src.last_state_time : now;
}

static int start(daemon_ctx *ctx)
{
    W.ctx = ctx;
    /* Before any thread: both libraries' global set-up is not thread-safe. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
    uv_async_init(daemon_loop(ctx), &W.done, done_cb);
    W.done_init = 1;
    load_sync_times(ctx);
    log_msg("Sync schedule every %lld minutes, retry after %lld minutes, languages %s",
            schedule_min, retry_min, languages);
    log_next();
    W.sync_timer = daemon_timer_add(ctx, sync_timer_cb, NULL, 1000);
    /* Maintenance runs soon after start, then every Maintenance Interval. */
    W.maint_timer = daemon_timer_add(ctx, maint_timer_cb, NULL, 2000);
    return W.sync_timer && W.maint_timer ? 0 : CM_EDB;
}

static void stop(daemon_ctx *ctx)
{
    (void)ctx;
    atomic_store(&W.cancel, 1);
    if (W.running) {
        log_msg("Waiting for the running job to stop");
        pthread_join(W.thread, NULL);
        W.running = 0;
        free(W.job);
        W.job = NULL;
    }
}

static void settings_changed(daemon_ctx *ctx)
{
    (void)ctx;
    if (W.sync_timer)
        daemon_timer_wake(W.sync_timer, 0);
    if (W.maint_timer)
        daemon_timer_wake(W.maint_timer, (maint_min > 0 ? maint_min : 60) * 60 * 1000LL);
}

int main(int argc, char **argv)
{
    static const daemon_inbox_spec boxes[] = {
        {"wsyncmgr.box", handle_box},
    };
    static const daemon_spec spec = {
        .progname = "wsyncmgr",
        .component = COMPONENT,
        .logname = "wsyncmgr.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .inboxes = boxes,
        .ninboxes = 1,
        .rescan_ms = 5000,
        .start = start,
        .stop = stop,
        .settings_changed = settings_changed,
    };
    return daemon_main(argc, argv, &spec);
}
