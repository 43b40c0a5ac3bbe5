/*
 * main.c - statesys, SMS_STATE_SYSTEM: turns the state message batches
 * (.SMX) that management points drop into auth/statesys.box into the
 * site's compliance data, and runs the software updates summarization
 * tasks.  This file declares the settings, the three inboxes and the timers
 * for the shared daemon loop, and decides when a processing round starts:
 * an inbox notification that finds files starts the Inbox Pause, after
 * which the round runs (ingest.c); the scheduler thread is tasks.c.
 */
#include <malloc.h>

#include <libxml/parser.h>

#include "cm_error.h"
#include "daemon.h"
#include "ingest.h"
#include "log.h"
#include "shared.h"
#include "tasks.h"

static long long s_loaders = 4, s_poll = 900, s_pause = 1, s_min_missing = 2880, s_heartbeat = 1440,
                 s_chunk = 256, s_settle = 5, s_aged = 90;

static config_setting settings[] = {
    {"Loader Threads", CONFIG_INT, 4, NULL, &s_loaders, NULL, 0},
    {"Inbox Polling Interval", CONFIG_INT, 900, NULL, &s_poll, NULL, 0},
    {"Inbox Pause", CONFIG_INT, 1, NULL, &s_pause, NULL, 0},
    {"Min Missing Message Age", CONFIG_INT, 2880, NULL, &s_min_missing, NULL, 0},
    {"Heartbeat Msg Interval", CONFIG_INT, 1440, NULL, &s_heartbeat, NULL, 0},
    {"Chunk Size", CONFIG_INT, 256, NULL, &s_chunk, NULL, 0},
    {"Settle Time", CONFIG_INT, 5, NULL, &s_settle, NULL, 0},
    {"Aged Status Days", CONFIG_INT, 90, NULL, &s_aged, NULL, 0},
};

#define BOX_HIGH "auth/statesys.box/incoming/high"
#define BOX_NORMAL "auth/statesys.box/incoming"
#define BOX_LOW "auth/statesys.box/incoming/low"
/* A timer that waits to be woken: its first, unprompted run is a year away. */
#define DORMANT_MS (365LL * 86400 * 1000)

static ss_shared sh;
static ingest *pipeline;
static tasks *scheduler;
static inbox_dir box_dirs[3];
static uv_async_t round_async;
static daemon_timer *kick_timer;
static int pausing, stopping;

/* The loop thread read the settings: the worker threads see them through sh. */
static void publish(void)
{
    atomic_store(&sh.loader_threads, s_loaders);
    atomic_store(&sh.chunk_size, s_chunk > 0 ? s_chunk : 1);
    atomic_store(&sh.settle_ms, s_settle > 0 ? s_settle * 1000 : 0);
    atomic_store(&sh.min_missing_age_min, s_min_missing);
    atomic_store(&sh.heartbeat_min, s_heartbeat);
    atomic_store(&sh.aged_days, s_aged);
}

/* Files are waiting: pause (as ConfigMgr does, to let a burst land), then run a round. */
static void notify(void)
{
    if (!pipeline || stopping || pausing)
        return;
    if (ingest_round_active(pipeline) || !ingest_has_work(pipeline))
        return;
    pausing = 1;
    if (s_pause > 0)
        log_msg("Inbox notification triggered, pause for %lld seconds....", s_pause);
    daemon_timer_wake(kick_timer, s_pause > 0 ? s_pause * 1000 : 0);
}

static int on_inbox(daemon_ctx *ctx, const inbox_dir *box, void *ud)
{
    (void)ctx;
    (void)box;
    (void)ud;
    /* The event is a hint; the round reads all three boxes itself. */
    notify();
    return 0;
}

static long long kick(daemon_ctx *ctx, void *ud)
{
    (void)ctx;
    (void)ud;
    pausing = 0;
    if (stopping || ingest_round_active(pipeline))
        return -1;
    if (ingest_has_work(pipeline)) {
        ingest_round_start(pipeline);
        return -1;
    }
    /* Only files put back wait: look again when the first may be retried. */
    long long retry = ingest_retry_in_ms(pipeline);
    if (retry >= 0) {
        pausing = 1;
        return retry + 50;
    }
    return -1;
}

static long long poll(daemon_ctx *ctx, void *ud)
{
    (void)ctx;
    (void)ud;
    notify();
    return (s_poll > 0 ? s_poll : 900) * 1000;
}

/* Runs on the round's thread: hand over to the loop thread. */
static void round_done(void *ud)
{
    (void)ud;
    uv_async_send(&round_async);
}

static void on_round_done(uv_async_t *h)
{
    (void)h;
    if (stopping)
        return;
    ingest_round_join(pipeline);
    /* Files that arrived during the round, or files put back, start the next one. */
    notify();
    if (!pausing) {
        long long retry = ingest_retry_in_ms(pipeline);
        if (retry >= 0) {
            pausing = 1;
            daemon_timer_wake(kick_timer, retry + 50);
        }
    }
}

static int start(daemon_ctx *ctx)
{
    const site_ini *ini = daemon_site(ctx);
    const inbox_catalogue *cat = daemon_catalogue(ctx);
    const char *names[3] = {BOX_HIGH, BOX_NORMAL, BOX_LOW};
    const inbox_dir *dirs[3];
    const char *paths[3];
    int ret;

    snprintf(sh.server, sizeof sh.server, "%s", ini->server_name);
    snprintf(sh.site, sizeof sh.site, "%s", ini->site_code);
    snprintf(sh.connstr, sizeof sh.connstr, "%s", ini->connection);
    publish();
    for (int i = 0; i < 3; i++) {
        const inbox_box *b = inbox_catalogue_find(cat, names[i]);
        if (!b || (ret = inbox_dir_open(&box_dirs[i], daemon_inboxes_dir(ctx), b)) < 0) {
            log_msg("The inbox %s is not in the catalogue.", names[i]);
            return CM_ENOTFOUND;
        }
        dirs[i] = &box_dirs[i];
        paths[i] = box_dirs[i].path;
    }
    uv_async_init(daemon_loop(ctx), &round_async, on_round_done);
    if ((ret = ingest_start(&pipeline, &sh, dirs, round_done, NULL)) < 0 ||
        (ret = tasks_start(&scheduler, &sh, paths)) < 0) {
        log_msg("Cannot start the state system threads: %s", cm_strerror(ret));
        return ret;
    }
    kick_timer = daemon_timer_add(ctx, kick, NULL, DORMANT_MS);
    if (!kick_timer || !daemon_timer_add(ctx, poll, NULL, (s_poll > 0 ? s_poll : 900) * 1000))
        return -ENOMEM;
    log_msg("State message processing: %lld loader thread(s), chunks of %lld files, inbox pause "
            "%lld s, polling every %lld s, settle time %lld s.",
            s_loaders, s_chunk, s_pause, s_poll, s_settle);
    return 0;
}

static void stop(daemon_ctx *ctx)
{
    (void)ctx;
    stopping = 1;
    ingest_stop(pipeline);
    pipeline = NULL;
    tasks_stop(scheduler);
    scheduler = NULL;
}

static void settings_changed(daemon_ctx *ctx)
{
    (void)ctx;
    publish();
}

int main(int argc, char **argv)
{
    static const daemon_inbox_spec boxes[] = {
        /* incoming first: the three share process/, recovered through the first. */
        {BOX_NORMAL, on_inbox},
        {BOX_HIGH, on_inbox},
        {BOX_LOW, on_inbox},
    };
    static const daemon_spec spec = {
        .progname = "statesys",
        .component = SS_COMPONENT,
        .logname = "statesys.log",
        .settings = settings,
        .nsettings = sizeof settings / sizeof settings[0],
        .inboxes = boxes,
        .ninboxes = sizeof boxes / sizeof boxes[0],
        .start = start,
        .stop = stop,
        .settings_changed = settings_changed,
    };
    /*
     * Two malloc arenas, not one per thread: the loaders allocate what the
     * writer frees, and an arena per thread keeps that memory twice over
     * (the memory target is 64 MB whatever the backlog).
     */
    mallopt(M_ARENA_MAX, 2);
    /* libxml2 is initialised once, before any parsing thread exists. */
    xmlInitParser();
    int ret = daemon_main(argc, argv, &spec);
    xmlCleanupParser();
    return ret;
}
