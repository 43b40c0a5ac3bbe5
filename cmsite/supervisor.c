/*
 * supervisor.c - cmsite start / stop: the supervisor that runs every
 * daemon of the site as its own process, as SMS_EXECUTIVE hosts the
 * components of a real site server.  A daemon that dies is restarted with
 * backoff (1 s doubling to 60 s, reset once it has run for a minute); stop
 * sends SIGTERM to each daemon and waits for it.  Its log is smsexec.log.
 * Daemons whose binaries are not built yet are simply not started.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cm_error.h"
#include "cmsite.h"
#include "log.h"

#define RESTART_MIN_MS 1000
#define RESTART_MAX_MS 60000
#define HEALTHY_MS 60000
#define STOP_WAIT_MS 20000

/* The site's daemons: binary name and the source folder it is built in. */
static const struct {
    const char *prog;
    const char *folder;
} daemons[] = {
    {"smsdbmon", "dbmon"},    {"wsusd", "wsus"},        {"wcm", "wcm"},  {"wsyncmgr", "wsyncmgr"},
    {"policypv", "policypv"}, {"statesys", "statesys"}, {"smsmp", "mp"},
};
#define NDAEMONS (sizeof daemons / sizeof daemons[0])

typedef struct child {
    const char *prog;
    char path[PATH_MAX];
    uv_process_t proc;
    uv_timer_t restart;
    int running;
    long long backoff_ms;
    uint64_t started_at;
} child;

static struct {
    uv_loop_t *loop;
    char root[PATH_MAX];
    child kids[NDAEMONS];
    size_t nkids;
    int stopping;
    uv_signal_t sigterm, sigint;
    uv_timer_t stop_timer;
    char only[512]; /* --only: the daemons to start; empty for all */
} sup;

static int selected(const char *prog);

/* Find a daemon binary: $CMSITE_BINDIR, beside cmsite, or in the build tree. */
static int find_daemon(const char *prog, const char *folder, char *out, size_t len)
{
    char self[PATH_MAX], cand[PATH_MAX + 300];
    const char *bindir = getenv("CMSITE_BINDIR");
    if (bindir && *bindir) {
        snprintf(cand, sizeof cand, "%s/%s", bindir, prog);
        if (access(cand, X_OK) == 0 && strlen(cand) < len) {
            snprintf(out, len, "%s", cand);
            return 0;
        }
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return CM_ENOTFOUND;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(cand, sizeof cand, "%s/%s", self, prog);
    if (access(cand, X_OK) == 0 && strlen(cand) < len) {
        snprintf(out, len, "%s", cand);
        return 0;
    }
    snprintf(cand, sizeof cand, "%s/../%s/%s", self, folder, prog);
    if (access(cand, X_OK) == 0 && realpath(cand, self) && strlen(self) < len) {
        snprintf(out, len, "%s", self);
        return 0;
    }
    return CM_ENOTFOUND;
}

static void spawn_child(child *c);

static void restart_cb(uv_timer_t *h)
{
    child *c = h->data;
    if (!sup.stopping)
        spawn_child(c);
}

static void maybe_finish(void)
{
    for (size_t i = 0; i < sup.nkids; i++)
        if (sup.kids[i].running)
            return;
    uv_stop(sup.loop);
}

static void exit_cb(uv_process_t *p, int64_t status, int signo)
{
    child *c = p->data;
    c->running = 0;
    uv_close((uv_handle_t *)p, NULL);
    if (sup.stopping) {
        log_msg("%s stopped (exit status %lld).", c->prog, (long long)status);
        maybe_finish();
        return;
    }
    if (uv_now(sup.loop) - c->started_at >= HEALTHY_MS)
        c->backoff_ms = RESTART_MIN_MS;
    if (signo)
        log_msg("%s was ended by signal %d; restarting it in %lld seconds.", c->prog, signo,
                c->backoff_ms / 1000);
    else
        log_msg("%s exited with status %lld; restarting it in %lld seconds.", c->prog,
                (long long)status, c->backoff_ms / 1000);
    uv_timer_start(&c->restart, restart_cb, (uint64_t)c->backoff_ms, 0);
    c->backoff_ms *= 2;
    if (c->backoff_ms > RESTART_MAX_MS)
        c->backoff_ms = RESTART_MAX_MS;
}

static void spawn_child(child *c)
{
    char *args[] = {(char *)c->prog, "--root", sup.root, NULL};
    uv_process_options_t o = {0};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    /* Daemons write their own logs; what they print goes to the supervisor's stderr. */
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 2;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = c->path;
    o.args = args;
    o.exit_cb = exit_cb;
    o.stdio = stdio;
    o.stdio_count = 3;
    c->proc.data = c;
    int ret = uv_spawn(sup.loop, &c->proc, &o);
    if (ret < 0) {
        log_msg("Cannot start %s (%s): %s; retrying in %lld seconds.", c->prog, c->path,
                uv_strerror(ret), c->backoff_ms / 1000);
        uv_close((uv_handle_t *)&c->proc, NULL);
        uv_timer_start(&c->restart, restart_cb, (uint64_t)c->backoff_ms, 0);
        return;
    }
    c->running = 1;
    c->started_at = uv_now(sup.loop);
    log_msg("Started %s (pid %d).", c->prog, c->proc.pid);
}

static void stop_timeout_cb(uv_timer_t *h)
{
    (void)h;
    for (size_t i = 0; i < sup.nkids; i++)
        if (sup.kids[i].running) {
            log_msg("%s did not stop within %d seconds; killing it.", sup.kids[i].prog,
                    STOP_WAIT_MS / 1000);
            uv_process_kill(&sup.kids[i].proc, SIGKILL);
        }
}

static void sup_signal_cb(uv_signal_t *h, int signum)
{
    (void)h;
    if (sup.stopping)
        return;
    sup.stopping = 1;
    log_msg("Received signal %d: stopping the site's components.", signum);
    for (size_t i = 0; i < sup.nkids; i++) {
        uv_timer_stop(&sup.kids[i].restart);
        if (sup.kids[i].running)
            uv_process_kill(&sup.kids[i].proc, SIGTERM);
    }
    uv_timer_start(&sup.stop_timer, stop_timeout_cb, STOP_WAIT_MS, 0);
    maybe_finish();
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Runs the supervisor in this process until SIGTERM; holds run/cmsite.pid locked. */
static int supervise(const site_ini *ini)
{
    char path[PATH_MAX + 64], buf[32];
    snprintf(sup.root, sizeof sup.root, "%s", ini->root);
    snprintf(path, sizeof path, "%s/run/cmsite.pid", ini->root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "cmsite: the site in %s is already running (see `cmsite status`).\n",
                ini->root);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
        close(fd);
        return 1;
    }
    snprintf(path, sizeof path, "%s/logs/smsexec.log", ini->root);
    log_open(path, "SMS_EXECUTIVE", ini->log_max_size);
    log_msg("SMS_EXECUTIVE started for site %s on %s (pid %ld).", ini->site_code, ini->server_name,
            (long)getpid());

    sup.loop = uv_default_loop();
    for (size_t i = 0; i < NDAEMONS; i++) {
        child *c = &sup.kids[sup.nkids];
        if (!selected(daemons[i].prog)) {
            log_msg("%s not selected (--only %s); not started.", daemons[i].prog, sup.only);
            continue;
        }
        if (find_daemon(daemons[i].prog, daemons[i].folder, c->path, sizeof c->path) < 0) {
            log_msg("%s is not built yet; not started.", daemons[i].prog);
            continue;
        }
        c->prog = daemons[i].prog;
        c->backoff_ms = RESTART_MIN_MS;
        uv_timer_init(sup.loop, &c->restart);
        c->restart.data = c;
        sup.nkids++;
        spawn_child(c);
    }
    uv_signal_init(sup.loop, &sup.sigterm);
    uv_signal_init(sup.loop, &sup.sigint);
    uv_signal_start(&sup.sigterm, sup_signal_cb, SIGTERM);
    uv_signal_start(&sup.sigint, sup_signal_cb, SIGINT);
    uv_timer_init(sup.loop, &sup.stop_timer);
    signal(SIGPIPE, SIG_IGN);
    uv_run(sup.loop, UV_RUN_DEFAULT);
    uv_walk(sup.loop, close_all, NULL);
    uv_run(sup.loop, UV_RUN_DEFAULT);
    uv_loop_close(sup.loop);
    log_msg("SMS_EXECUTIVE stopped.");
    log_close();
    snprintf(path, sizeof path, "%s/run/cmsite.pid", ini->root);
    unlink(path);
    close(fd);
    return 0;
}

/* 1 when prog is named in the comma-separated list (or no list was given). */
static int selected(const char *prog)
{
    size_t n = strlen(prog);
    if (!sup.only[0])
        return 1;
    for (const char *p = sup.only; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, prog, n) == 0)
            return 1;
        p += len + (end ? 1 : 0);
    }
    return 0;
}

int cmd_start(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"foreground", no_argument, NULL, 'f'},
                                         {"only", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root = NULL;
    char err[512], abs[PATH_MAX];
    int fg = 0, line, c;
    site_ini ini;
    long pid;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:fo:h", opts, NULL)) != -1) {
        if (c == 'r') {
            root = optarg;
        } else if (c == 'f') {
            fg = 1;
        } else if (c == 'o') {
            snprintf(sup.only, sizeof sup.only, "%s", optarg);
        } else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: cmsite start [--root DIR] [--foreground] [--only smsdbmon,wsusd,...]\n"
                    "  Starts every built daemon of the site under the supervisor; --only starts\n"
                    "  just the named ones (to watch one component at work, or in tests).\n");
            return c == 'h' ? 0 : 2;
        }
    }
    root = cmsite_root(root);
    if (!realpath(root, abs)) {
        fprintf(stderr, "cmsite: no site at %s: create one with `cmsite init --root %s`.\n", root,
                root);
        return 2;
    }
    if (config_load_ini(abs, &ini, &line, err, sizeof err) < 0) {
        fprintf(stderr, "cmsite: %s/site.ini%s%.0d: %s\n", abs, line ? " line " : "", line, err);
        return 2;
    }
    if (cmsite_running(abs, "cmsite", &pid)) {
        printf("The site %s in %s is already running (supervisor pid %ld).\n", ini.site_code, abs,
               pid);
        return 0;
    }
    if (fg)
        return supervise(&ini);

    pid_t child_pid = fork();
    if (child_pid < 0) {
        perror("cmsite: fork");
        return 1;
    }
    if (child_pid == 0) {
        /* The supervisor leaves the terminal: its words go to smsexec.log. */
        setsid();
        int nul = open("/dev/null", O_RDWR);
        char errpath[PATH_MAX + 32];
        snprintf(errpath, sizeof errpath, "%s/logs/daemons.err", abs);
        int errfd = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(errfd >= 0 ? errfd : nul, 2);
        }
        _exit(supervise(&ini));
    }
    for (int i = 0; i < 100; i++) {
        if (cmsite_running(abs, "cmsite", &pid))
            break;
        int st;
        if (waitpid(child_pid, &st, WNOHANG) == child_pid) {
            fprintf(stderr, "cmsite: the supervisor exited at once; see %s/logs/smsexec.log\n",
                    abs);
            return 1;
        }
        usleep(50000);
    }
    printf("Site %s started in %s (supervisor pid %ld). Logs: %s/logs; `cmsite status` shows "
           "the components.\n",
           ini.site_code, abs, (long)child_pid, abs);
    return 0;
}

int cmd_stop(int argc, char **argv)
{
    const char *root;
    long pid;
    int rc = cmsite_parse_root(argc, argv, "stop [--root DIR]", &root, NULL);
    if (rc >= 0)
        return rc;
    if (!cmsite_running(root, "cmsite", &pid) || pid <= 0) {
        printf("The site in %s is not running.\n", root);
        return 0;
    }
    if (kill((pid_t)pid, SIGTERM) != 0) {
        fprintf(stderr, "cmsite: cannot signal the supervisor (pid %ld): %s\n", pid,
                strerror(errno));
        return 1;
    }
    /* The supervisor waits up to 20 s for each daemon, then kills it. */
    for (int i = 0; i < 600; i++) {
        if (!cmsite_running(root, "cmsite", &pid)) {
            printf("Site stopped.\n");
            return 0;
        }
        usleep(50000);
    }
    fprintf(stderr, "cmsite: the supervisor did not stop within 30 seconds.\n");
    return 1;
}
