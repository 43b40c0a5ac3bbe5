/*
 * dbmon_latency.c - benchmark: the time from a committed database change
 * (the console's SyncNow: UPDATE Update_SyncStatus SET SyncNow = 'SELF') to
 * SELF.SYN in place in wsyncmgr.box, with the real smsdbmon running against
 * a real site made by `cmsite init` (SQLite by default, or the connection
 * string given with --db).  Prints the median, p99 and max.  DESIGN.md's
 * target is a median under 250 ms.
 *
 *   dbmon_latency CMSITE SMSDBMON [--iterations N] [--db CONNECTION]
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(char *const argv[])
{
    pid_t p = fork();
    if (p == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* Wait for name to be created or moved into the watched folder. */
static int wait_file(int ifd, const char *name, int timeout_ms)
{
    char buf[4096] __attribute__((aligned(8)));
    double end = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = {ifd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t n = read(ifd, buf, sizeof buf);
        for (ssize_t off = 0; off < n;) {
            struct inotify_event *e = (struct inotify_event *)(buf + off);
            if (e->len && strcmp(e->name, name) == 0)
                return 0;
            off += (ssize_t)sizeof *e + e->len;
        }
    }
}

int main(int argc, char **argv)
{
    int iterations = 200;
    const char *conn = NULL;
    char root[] = "/tmp/cmbench.XXXXXX", box[PATH_MAX], file[PATH_MAX + 16], err[256];
    if (argc < 3) {
        fprintf(stderr, "usage: dbmon_latency CMSITE SMSDBMON [--iterations N] [--db CONN]\n");
        return 2;
    }
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iterations") == 0)
            iterations = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--db") == 0)
            conn = argv[i + 1];
    }
    if (iterations < 10)
        iterations = 10;
    if (!mkdtemp(root))
        return 1;
    char *init[] = {argv[1], "init", "--root", root, conn ? "--db" : NULL, (char *)conn, NULL};
    if (run(init) != 0) {
        fprintf(stderr, "dbmon_latency: cmsite init failed\n");
        return 1;
    }
    pid_t mon = fork();
    if (mon == 0) {
        execl(argv[2], argv[2], "--root", root, (char *)NULL);
        _exit(127);
    }
    site_ini ini;
    int line;
    db *d;
    if (config_load_ini(root, &ini, &line, err, sizeof err) < 0 ||
        db_open(&d, ini.connection) < 0) {
        fprintf(stderr, "dbmon_latency: cannot open the site database\n");
        kill(mon, SIGTERM);
        return 1;
    }
    snprintf(box, sizeof box, "%s/inboxes/wsyncmgr.box", root);
    snprintf(file, sizeof file, "%s/SELF.SYN", box);
    int ifd = inotify_init1(IN_CLOEXEC);
    inotify_add_watch(ifd, box, IN_CREATE | IN_MOVED_TO);

    double *lat = calloc((size_t)iterations, sizeof *lat);
    int n = 0, warm = 5;
    db_stmt *set, *reset;
    db_prepare(d, &set, "UPDATE Update_SyncStatus SET SyncNow = 'SELF' WHERE SiteCode = ?");
    db_prepare(d, &reset, "UPDATE Update_SyncStatus SET SyncNow = NULL WHERE SiteCode = ?");
    for (int i = 0; i < iterations + warm; i++) {
        unlink(file);
        /* Spread the starts over the poll interval, as real changes are. */
        usleep((useconds_t)(rand() % 50000));
        double t0 = now_ms();
        db_reset(set);
        db_bind_text(set, 1, ini.site_code);
        if (db_step(set) < 0) {
            fprintf(stderr, "dbmon_latency: update failed: %s\n", db_errmsg(d));
            break;
        }
        db_reset(reset);
        db_bind_text(reset, 1, ini.site_code);
        db_step(reset);
        if (wait_file(ifd, "SELF.SYN", 10000) < 0) {
            fprintf(stderr, "dbmon_latency: SELF.SYN did not appear within 10 s\n");
            break;
        }
        if (i >= warm)
            lat[n++] = now_ms() - t0;
    }
    db_finalize(set);
    db_finalize(reset);
    db_close(d);
    kill(mon, SIGTERM);
    waitpid(mon, NULL, 0);
    char *rm[] = {"/bin/rm", "-rf", root, NULL};
    run(rm);
    if (n == 0)
        return 1;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double p50 = lat[n / 2], p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    printf("smsdbmon latency, database change to file in place (%d changes, %s):\n", n,
           conn ? "given database" : "SQLite");
    printf("  median %.1f ms\n  p99    %.1f ms\n  max    %.1f ms\n", p50, p99, lat[n - 1]);
    printf("  target: median <= 250 ms: %s\n", p50 <= 250.0 ? "met" : "NOT met");
    free(lat);
    return 0;
}
