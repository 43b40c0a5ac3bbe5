/*
 * daemon.c - the shared main loop of every daemon (libuv).
 *
 * Start-up is strict and fails with one clear message (bad arguments, a
 * corrupt site.ini, another instance holding the pid-file lock); after
 * that the loop never gives up: a database that is away at start or goes
 * away later is retried with backoff while the daemon keeps running, and a
 * handler's failure is logged and retried on the next rescan.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_error.h"
#include "daemon.h"
#include "log.h"

#define SETTINGS_REFRESH_MS 5000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STD_SETTINGS 3

typedef struct daemon_box {
    daemon_ctx *ctx;
    inbox_dir dir;
    daemon_inbox_fn fn;
    uv_fs_event_t ev;
    int watching;
    int pending;
} daemon_box;

struct daemon_timer {
    uv_timer_t h;
    daemon_ctx *ctx;
    daemon_timer_fn fn;
    void *ud;
    daemon_timer *next;
};

struct daemon_ctx {
    const daemon_spec *spec;
    site_ini ini;
    db *db;
    int db_ok;
    int started;
    int stopping;
    uv_loop_t *loop;
    inbox_catalogue *cat;
    char inboxes[PATH_MAX];
    daemon_box *boxes;
    size_t nboxes;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t reconnect_timer, settings_timer, work_timer, rescan_timer;
    long long backoff_ms;
    daemon_timer *timers;
    int pidfd;
    char pidpath[PATH_MAX + 64];
    long long verbose, sqltrace, log_max;
    config_setting *settings;
    size_t nsettings;
};

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

db *daemon_db(daemon_ctx *ctx)
{
    return ctx->db;
}

const site_ini *daemon_site(daemon_ctx *ctx)
{
    return &ctx->ini;
}

const inbox_catalogue *daemon_catalogue(daemon_ctx *ctx)
{
    return ctx->cat;
}

const char *daemon_inboxes_dir(daemon_ctx *ctx)
{
    return ctx->inboxes;
}

uv_loop_t *daemon_loop(daemon_ctx *ctx)
{
    return ctx->loop;
}

void *daemon_ud(daemon_ctx *ctx)
{
    return ctx->spec->ud;
}

int daemon_db_ok(daemon_ctx *ctx)
{
    return ctx->db_ok;
}

int daemon_statmsg(daemon_ctx *ctx, int id, char sev, char lev, const char *istr0,
                   const char *istr1, const char *istr2, const char *istr3)
{
    statmsg m;
    statmsg_init(&m, id, sev, lev, ctx->spec->component, ctx->ini.server_name, ctx->ini.site_code);
    m.istr[0] = istr0;
    m.istr[1] = istr1;
    m.istr[2] = istr2;
    m.istr[3] = istr3;
    /* Without a connection the line still reaches the log and the rows wait in the spool. */
    int ret = statmsg_report(ctx->db_ok ? ctx->db : NULL, &m);
    if (!ctx->db_ok)
        return ret;
    if (ret == CM_EDBCONN)
        daemon_db_lost(ctx);
    else if (ret < 0)
        log_msg("Failed to store status message %d: %s", id, db_errmsg(ctx->db));
    return ret;
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

static void apply_log_settings(daemon_ctx *ctx)
{
    log_set_verbose(ctx->verbose != 0);
    log_set_sqltrace(ctx->sqltrace != 0);
    /* site.ini's size wins when set: it is what the user wrote for this root. */
    log_set_max_size(ctx->ini.log_max_size ? ctx->ini.log_max_size : (long)ctx->log_max);
}

static void sql_trace(void *ud, const char *sql)
{
    (void)ud;
    log_sql(sql);
}

static int refresh_settings(daemon_ctx *ctx, int *changed)
{
    int ret = config_refresh(ctx->db, ctx->ini.site_code, ctx->spec->component, ctx->settings,
                             ctx->nsettings, changed);
    if (ret == CM_EDBCONN) {
        daemon_db_lost(ctx);
        return ret;
    }
    if (ret < 0) {
        log_msg("Failed to read the component settings: %s", db_errmsg(ctx->db));
        return ret;
    }
    apply_log_settings(ctx);
    return 0;
}

/*
 * Store the status messages this component spooled while the database was
 * away (by this run or by one that died before it came back).
 */
static void replay_spool(daemon_ctx *ctx)
{
    size_t stored = 0, bad = 0;
    int ret = statmsg_spool_replay(ctx->db, ctx->spec->component, &stored, &bad);
    if (stored)
        log_msg("Stored %zu status message(s) that waited in %s while the site database was away.",
                stored, STATMSG_SPOOL_BOX);
    if (bad)
        log_msg("ERROR: Moved %zu unreadable status message file(s) of %s to %s/corrupt.", bad,
                ctx->spec->component, STATMSG_SPOOL_BOX);
    if (ret == CM_EDBCONN)
        daemon_db_lost(ctx);
    else if (ret < 0)
        log_msg("Failed to store the spooled status messages: %s", db_errmsg(ctx->db));
}

static void settings_cb(uv_timer_t *h)
{
    daemon_ctx *ctx = h->data;
    int changed = 0;
    if (!ctx->db_ok)
        return;
    /* Threads with their own connections (sync, listeners) may have spooled too. */
    if (statmsg_spool_pending())
        replay_spool(ctx);
    if (!ctx->db_ok)
        return;
    if (refresh_settings(ctx, &changed) == 0 && changed) {
        log_msg("Component settings changed; new values are in effect.");
        if (ctx->spec->settings_changed)
            ctx->spec->settings_changed(ctx);
    }
}

/* ------------------------------------------------------------------ */
/* Inboxes                                                             */
/* ------------------------------------------------------------------ */

static void work_cb(uv_timer_t *h);

static void schedule_work(daemon_ctx *ctx, long long ms)
{
    if (!ctx->stopping)
        uv_timer_start(&ctx->work_timer, work_cb, (uint64_t)ms, 0);
}

static void work_cb(uv_timer_t *h)
{
    daemon_ctx *ctx = h->data;
    int more = 0;
    if (!ctx->db_ok || ctx->stopping)
        return;
    for (size_t i = 0; i < ctx->nboxes && ctx->db_ok; i++) {
        daemon_box *b = &ctx->boxes[i];
        if (!b->pending)
            continue;
        int ret = b->fn(ctx, &b->dir, ctx->spec->ud);
        if (ret > 0) {
            more = 1;
        } else if (ret == CM_EDBCONN) {
            daemon_db_lost(ctx);
        } else {
            if (ret < 0)
                log_msg("Processing inbox %s failed: %s. Will retry at the next rescan.",
                        b->dir.box->name, cm_strerror(ret));
            b->pending = 0;
        }
    }
    /* Yield to the loop between batches so signals and timers are served. */
    if (more)
        schedule_work(ctx, 0);
}

static void box_mark_all(daemon_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nboxes; i++)
        ctx->boxes[i].pending = 1;
    if (ctx->nboxes)
        schedule_work(ctx, 0);
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status)
{
    daemon_box *b = h->data;
    (void)filename;
    (void)events;
    (void)status;
    /* The event is only a hint: the handler rescans the box. */
    b->pending = 1;
    schedule_work(b->ctx, 0);
}

static void box_watch(daemon_box *b)
{
    struct stat st;
    if (b->watching)
        return;
    if (stat(b->dir.path, &st) != 0) {
        /* A box removed behind our back is made again, with one log line. */
        if (inbox_tree_create(b->ctx->inboxes, b->ctx->cat) == 0)
            log_msg("Inbox %s was missing and has been created again.", b->dir.path);
        else
            return;
    }
    uv_fs_event_init(b->ctx->loop, &b->ev);
    b->ev.data = b;
    if (uv_fs_event_start(&b->ev, fs_event_cb, b->dir.path, 0) == 0)
        b->watching = 1;
    else
        uv_close((uv_handle_t *)&b->ev, NULL);
}

static void rescan_cb(uv_timer_t *h)
{
    daemon_ctx *ctx = h->data;
    for (size_t i = 0; i < ctx->nboxes; i++) {
        daemon_box *b = &ctx->boxes[i];
        struct stat st;
        if (b->watching && stat(b->dir.path, &st) != 0) {
            uv_fs_event_stop(&b->ev);
            uv_close((uv_handle_t *)&b->ev, NULL);
            b->watching = 0;
        }
        box_watch(b);
    }
    box_mark_all(ctx);
}

static void boxes_recover(daemon_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nboxes; i++) {
        size_t n = 0;
        int ret = inbox_recover(&ctx->boxes[i].dir, &n);
        if (ret < 0)
            log_msg("Recovery of inbox %s failed: %s", ctx->boxes[i].dir.path, cm_strerror(ret));
        else if (n)
            log_msg("Recovered %zu file(s) left in process by an earlier run of %s.", n,
                    ctx->boxes[i].dir.path);
    }
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

static void user_timer_cb(uv_timer_t *h)
{
    daemon_timer *t = h->data;
    long long next;
    if (t->ctx->stopping)
        return;
    if (!t->ctx->db_ok) {
        /* Handlers all need the database; look again soon. */
        uv_timer_start(&t->h, user_timer_cb, 1000, 0);
        return;
    }
    next = t->fn(t->ctx, t->ud);
    if (next >= 0 && !t->ctx->stopping)
        uv_timer_start(&t->h, user_timer_cb, (uint64_t)next, 0);
}

daemon_timer *daemon_timer_add(daemon_ctx *ctx, daemon_timer_fn fn, void *ud, long long first_ms)
{
    daemon_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = ctx;
    t->fn = fn;
    t->ud = ud;
    t->next = ctx->timers;
    ctx->timers = t;
    uv_timer_init(ctx->loop, &t->h);
    t->h.data = t;
    uv_timer_start(&t->h, user_timer_cb, (uint64_t)(first_ms < 0 ? 0 : first_ms), 0);
    return t;
}

void daemon_timer_wake(daemon_timer *t, long long ms)
{
    if (!t->ctx->stopping)
        uv_timer_start(&t->h, user_timer_cb, (uint64_t)(ms < 0 ? 0 : ms), 0);
}

/* ------------------------------------------------------------------ */
/* Database connection                                                 */
/* ------------------------------------------------------------------ */

static void on_db_up(daemon_ctx *ctx)
{
    ctx->db_ok = 1;
    ctx->backoff_ms = BACKOFF_MIN_MS;
    db_set_trace(ctx->db, sql_trace, ctx);
    if (refresh_settings(ctx, NULL) < 0 && !ctx->db_ok)
        return;
    if (!ctx->started) {
        log_msg("Connected to the site database (%s).", db_dialect_name(db_get_dialect(ctx->db)));
        if (ctx->spec->start && ctx->spec->start(ctx) < 0) {
            log_msg("%s could not start; stopping.", ctx->spec->component);
            daemon_stop(ctx);
            return;
        }
        ctx->started = 1;
        replay_spool(ctx);
        daemon_statmsg(ctx, 500, 'I', 'M', NULL, NULL, NULL, NULL);
        boxes_recover(ctx);
        for (size_t i = 0; i < ctx->nboxes; i++)
            box_watch(&ctx->boxes[i]);
        uv_timer_start(&ctx->rescan_timer, rescan_cb,
                       (uint64_t)(ctx->spec->rescan_ms ? ctx->spec->rescan_ms : 60000),
                       (uint64_t)(ctx->spec->rescan_ms ? ctx->spec->rescan_ms : 60000));
        uv_timer_start(&ctx->settings_timer, settings_cb, SETTINGS_REFRESH_MS, SETTINGS_REFRESH_MS);
    } else {
        log_msg("Reconnected to the site database.");
        replay_spool(ctx);
        if (ctx->db_ok && ctx->spec->db_reconnected)
            ctx->spec->db_reconnected(ctx);
    }
    box_mark_all(ctx);
}

static void reconnect_cb(uv_timer_t *h)
{
    daemon_ctx *ctx = h->data;
    int ret;
    if (ctx->stopping)
        return;
    if (!ctx->db)
        ret = db_open(&ctx->db, ctx->ini.connection);
    else
        ret = db_reconnect(ctx->db);
    if (ret == 0) {
        on_db_up(ctx);
        return;
    }
    log_msg("Cannot connect to the site database: %s. Will retry in %lld seconds.",
            ctx->db ? db_errmsg(ctx->db) : cm_strerror(ret), ctx->backoff_ms / 1000);
    uv_timer_start(&ctx->reconnect_timer, reconnect_cb, (uint64_t)ctx->backoff_ms, 0);
    ctx->backoff_ms *= 2;
    if (ctx->backoff_ms > BACKOFF_MAX_MS)
        ctx->backoff_ms = BACKOFF_MAX_MS;
}

void daemon_db_lost(daemon_ctx *ctx)
{
    if (!ctx->db_ok)
        return;
    ctx->db_ok = 0;
    log_msg("Lost the connection to the site database: %s. Reconnecting.", db_errmsg(ctx->db));
    ctx->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_start(&ctx->reconnect_timer, reconnect_cb, BACKOFF_MIN_MS, 0);
}

/* ------------------------------------------------------------------ */
/* Signals and stop                                                    */
/* ------------------------------------------------------------------ */

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void daemon_stop(daemon_ctx *ctx)
{
    if (ctx->stopping)
        return;
    ctx->stopping = 1;
    if (ctx->spec->stop && ctx->started)
        ctx->spec->stop(ctx);
    if (ctx->started) /* without the database the rows wait in the spool */
        daemon_statmsg(ctx, 502, 'I', 'M', NULL, NULL, NULL, NULL);
    uv_walk(ctx->loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    daemon_ctx *ctx = h->data;
    if (signum == SIGHUP) {
        int changed = 0;
        log_msg("Received SIGHUP: re-reading the component settings.");
        if (ctx->db_ok && refresh_settings(ctx, &changed) == 0 && changed &&
            ctx->spec->settings_changed)
            ctx->spec->settings_changed(ctx);
        return;
    }
    log_msg("Received signal %d: %s is stopping.", signum, ctx->spec->component);
    daemon_stop(ctx);
}

/* ------------------------------------------------------------------ */
/* Start-up                                                            */
/* ------------------------------------------------------------------ */

static int lock_pidfile(daemon_ctx *ctx)
{
    char buf[32];
    snprintf(ctx->pidpath, sizeof ctx->pidpath, "%s/run/%s.pid", ctx->ini.root,
             ctx->spec->progname);
    ctx->pidfd = open(ctx->pidpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (ctx->pidfd < 0)
        return -errno;
    if (flock(ctx->pidfd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ssize_t n = pread(ctx->pidfd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr, "%s: another %s is already running for site %s (pid %s); not starting.\n",
                ctx->spec->progname, ctx->spec->progname, ctx->ini.site_code,
                buf[0] ? buf : "unknown");
        close(ctx->pidfd);
        ctx->pidfd = -1;
        return err == EWOULDBLOCK ? CM_ELOCKED : -err;
    }
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(ctx->pidfd, 0) != 0 || pwrite(ctx->pidfd, buf, (size_t)len, 0) != len)
        return -errno;
    return 0;
}

static void usage(const daemon_spec *spec, FILE *f)
{
    fprintf(f,
            "usage: %s [--root DIR] [--foreground]\n"
            "  %s, the %s of the lab site server.\n"
            "  --root DIR      the site root (holds site.ini); default $CMSITE_ROOT or ./site\n"
            "  --foreground    also copy the log lines to standard error\n"
            "Usually started by `cmsite start`. Log: <root>/logs/%s\n",
            spec->progname, spec->progname, spec->component, spec->logname);
}

static int parse_args(int argc, char **argv, const daemon_spec *spec, char *root, size_t len,
                      int *fg)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"foreground", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *r = getenv("CMSITE_ROOT");
    int c;
    snprintf(root, len, "%s", r && *r ? r : "site");
    while ((c = getopt_long(argc, argv, "r:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            snprintf(root, len, "%s", optarg);
            break;
        case 'f':
            *fg = 1;
            break;
        case 'h':
            usage(spec, stdout);
            exit(0);
        default:
            usage(spec, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(spec, stderr);
        return 2;
    }
    return 0;
}

static int setup_settings(daemon_ctx *ctx)
{
    const daemon_spec *spec = ctx->spec;
    ctx->nsettings = spec->nsettings + STD_SETTINGS;
    ctx->settings = calloc(ctx->nsettings, sizeof *ctx->settings);
    if (!ctx->settings)
        return -ENOMEM;
    ctx->settings[0] =
        (config_setting){"Verbose Logging", CONFIG_INT, 0, NULL, &ctx->verbose, NULL, 0};
    ctx->settings[1] =
        (config_setting){"SQL Tracing", CONFIG_INT, 0, NULL, &ctx->sqltrace, NULL, 0};
    ctx->settings[2] = (config_setting){
        "Log Max Size", CONFIG_INT, LOG_DEFAULT_MAX_SIZE, NULL, &ctx->log_max, NULL, 0};
    for (size_t i = 0; i < spec->nsettings; i++)
        ctx->settings[STD_SETTINGS + i] = spec->settings[i];
    config_defaults(ctx->settings, ctx->nsettings);
    return 0;
}

static int setup_boxes(daemon_ctx *ctx)
{
    const daemon_spec *spec = ctx->spec;
    int ret;
    snprintf(ctx->inboxes, sizeof ctx->inboxes, "%s/inboxes", ctx->ini.root);
    if ((ret = inbox_catalogue_builtin(&ctx->cat)) < 0)
        return ret;
    if ((ret = inbox_tree_create(ctx->inboxes, ctx->cat)) < 0)
        return ret;
    if ((ret = statmsg_spool_open(ctx->inboxes)) < 0)
        return ret;
    ctx->boxes = calloc(spec->ninboxes ? spec->ninboxes : 1, sizeof *ctx->boxes);
    if (!ctx->boxes)
        return -ENOMEM;
    for (size_t i = 0; i < spec->ninboxes; i++) {
        const inbox_box *b = inbox_catalogue_find(ctx->cat, spec->inboxes[i].box);
        if (!b)
            return CM_ENOTFOUND;
        ctx->boxes[i].ctx = ctx;
        ctx->boxes[i].fn = spec->inboxes[i].fn;
        if ((ret = inbox_dir_open(&ctx->boxes[i].dir, ctx->inboxes, b)) < 0)
            return ret;
    }
    ctx->nboxes = spec->ninboxes;
    return 0;
}

static void free_ctx(daemon_ctx *ctx)
{
    while (ctx->timers) {
        daemon_timer *t = ctx->timers;
        ctx->timers = t->next;
        free(t);
    }
    free(ctx->boxes);
    free(ctx->settings);
    inbox_catalogue_free(ctx->cat);
    db_close(ctx->db);
    if (ctx->pidfd >= 0) {
        unlink(ctx->pidpath);
        close(ctx->pidfd);
    }
}

int daemon_main(int argc, char **argv, const daemon_spec *spec)
{
    daemon_ctx ctx = {0};
    char root[PATH_MAX], path[PATH_MAX + 64], err[512];
    int fg = 0, errline = 0, ret;

    ctx.spec = spec;
    ctx.pidfd = -1;
    if (parse_args(argc, argv, spec, root, sizeof root, &fg) != 0)
        return 2;
    ret = config_load_ini(root, &ctx.ini, &errline, err, sizeof err);
    if (ret < 0) {
        if (errline)
            fprintf(stderr, "%s: %s/site.ini line %d: %s\n", spec->progname, root, errline, err);
        else
            fprintf(stderr, "%s: %s/site.ini: %s (run `cmsite init` to create a site)\n",
                    spec->progname, root, err);
        return 2;
    }
    snprintf(path, sizeof path, "%s/logs", root);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/run", root);
    mkdir(path, 0750);
    if ((ret = lock_pidfile(&ctx)) < 0) {
        if (ret != CM_ELOCKED)
            fprintf(stderr, "%s: cannot lock %s: %s\n", spec->progname, ctx.pidpath,
                    cm_strerror(ret));
        free_ctx(&ctx);
        return 1;
    }
    snprintf(path, sizeof path, "%s/logs/%s", root, spec->logname);
    if ((ret = log_open(path, spec->component, ctx.ini.log_max_size)) < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", spec->progname, path, cm_strerror(ret));
        free_ctx(&ctx);
        return 1;
    }
    log_set_stderr(fg);
    if ((ret = setup_settings(&ctx)) < 0 || (ret = setup_boxes(&ctx)) < 0) {
        log_msg("%s cannot start: the inboxes under %s/inboxes: %s", spec->component, root,
                cm_strerror(ret));
        fprintf(stderr, "%s: cannot set up the inboxes: %s\n", spec->progname, cm_strerror(ret));
        free_ctx(&ctx);
        log_close();
        return 1;
    }
    log_msg("%s started for site %s on %s (pid %ld).", spec->component, ctx.ini.site_code,
            ctx.ini.server_name, (long)getpid());

    ctx.loop = uv_default_loop();
    uv_signal_init(ctx.loop, &ctx.sigterm);
    uv_signal_init(ctx.loop, &ctx.sigint);
    uv_signal_init(ctx.loop, &ctx.sighup);
    ctx.sigterm.data = ctx.sigint.data = ctx.sighup.data = &ctx;
    uv_signal_start(&ctx.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&ctx.sigint, signal_cb, SIGINT);
    uv_signal_start(&ctx.sighup, signal_cb, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    uv_timer_init(ctx.loop, &ctx.reconnect_timer);
    uv_timer_init(ctx.loop, &ctx.settings_timer);
    uv_timer_init(ctx.loop, &ctx.work_timer);
    uv_timer_init(ctx.loop, &ctx.rescan_timer);
    ctx.reconnect_timer.data = ctx.settings_timer.data = &ctx;
    ctx.work_timer.data = ctx.rescan_timer.data = &ctx;
    ctx.backoff_ms = BACKOFF_MIN_MS;
    /* The first connection attempt runs at once from the loop. */
    uv_timer_start(&ctx.reconnect_timer, reconnect_cb, 0, 0);

    uv_run(ctx.loop, UV_RUN_DEFAULT);
    uv_run(ctx.loop, UV_RUN_NOWAIT);
    uv_loop_close(ctx.loop);
    log_msg("%s stopped.", spec->component);
    free_ctx(&ctx);
    log_close();
    return 0;
}
