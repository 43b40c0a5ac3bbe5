/*
 * wsusd_sync.c - benchmark of wsusd's synchronization (DESIGN.md section
 * 10): two real wsusd processes, the upstream one importing a generated
 * catalog (default 100,000 updates), the downstream one syncing it over
 * MS-WSUSSS.  Prints updates per second for both and the peak memory of
 * each process (VmHWM).  Target: the whole catalog upstream-synced in
 * under 15 s.  Figures, not assertions: timing belongs here, not in tests.
 *
 * usage: wsusd_sync WSUSD [--updates N] [--seed N]
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsusapi.h"

typedef struct server {
    char root[300];
    int port;
    pid_t pid;
} server;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int start(const char *wsusd, server *s, const char *base, const char *name)
{
    char port[16];
    snprintf(s->root, sizeof s->root, "%s/%s", base, name);
    s->port = free_port();
    snprintf(port, sizeof port, "%d", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        execl(wsusd, "wsusd", "--root", s->root, "--port", port, (char *)NULL);
        _exit(127);
    }
    return s->pid > 0 ? 0 : -1;
}

static wsusapi *connect_to(server *s)
{
    wsusapi_target t = {.host = "127.0.0.1", .port = s->port, .timeout_s = 600};
    for (int i = 0; i < 300; i++) {
        wsusapi *c = NULL;
        if (wsusapi_connect(&c, &t) == 0)
            return c;
        wsusapi_close(c);
        usleep(100000);
    }
    return NULL;
}

static long peak_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Start a sync and wait for its end; the seconds it took, or < 0. */
static double sync_and_wait(wsusapi *c, wsusapi_sync_info *info)
{
    wsusapi_sync_state st;
    double t0 = now_s();
    if (wsusapi_start_sync(c) < 0)
        return -1;
    do {
        usleep(20000);
        if (wsusapi_get_sync_state(c, &st) < 0)
            return -1;
    } while (st != WSUSAPI_SYNC_NOT_PROCESSING);
    double t = now_s() - t0;
    if (wsusapi_get_last_sync(c, info) < 0)
        return -1;
    return t;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"updates", required_argument, NULL, 'u'},
                                         {"seed", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    long updates = 100000, seed = 1;
    int c, rc = 1;
    while ((c = getopt_long(argc, argv, "u:s:", opts, NULL)) != -1) {
        if (c == 'u')
            updates = atol(optarg);
        else if (c == 's')
            seed = atol(optarg);
        else
            return 2;
    }
    if (optind + 1 != argc || updates < 1) {
        fprintf(stderr, "usage: wsusd_sync WSUSD [--updates N] [--seed N]\n");
        return 2;
    }
    const char *wsusd = argv[optind];
    char base[] = "/tmp/wsusdbench.XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    server up = {0}, down = {0};
    wsusapi *cu = NULL, *cd = NULL;
    wsusapi_config cfg;
    wsusapi_sync_info info;
    if (start(wsusd, &up, base, "upstream") < 0 || start(wsusd, &down, base, "downstream") < 0 ||
        !(cu = connect_to(&up)) || !(cd = connect_to(&down))) {
        fprintf(stderr, "wsusd_sync: the wsusd processes did not start\n");
        goto done;
    }

    /* The upstream server imports the generated catalog. */
    if (wsusapi_get_config(cu, &cfg) < 0)
        goto api_failed;
    cfg.source = WSUSAPI_SOURCE_MU;
    snprintf(cfg.mu_url, sizeof cfg.mu_url, "generated:?updates=%ld&seed=%ld", updates, seed);
    if (wsusapi_set_config(cu, &cfg) < 0)
        goto api_failed;
    double t1 = sync_and_wait(cu, &info);
    if (t1 < 0 || info.result != WSUSAPI_RESULT_SUCCEEDED) {
        fprintf(stderr, "wsusd_sync: the upstream import failed: %s\n", info.error);
        goto done;
    }
    long long n1 = info.new_updates;
    printf("wsusd local import of the generated catalog: %lld updates in %.2f s (%.0f updates/s), "
           "peak memory %.1f MB\n",
           n1, t1, (double)n1 / t1, (double)peak_kb(up.pid) / 1024.0);

    /* The downstream server syncs it over MS-WSUSSS. */
    if (wsusapi_get_config(cd, &cfg) < 0)
        goto api_failed;
    cfg.source = WSUSAPI_SOURCE_UPSTREAM;
    snprintf(cfg.upstream_server, sizeof cfg.upstream_server, "127.0.0.1");
    cfg.upstream_port = up.port;
    if (wsusapi_set_config(cd, &cfg) < 0)
        goto api_failed;
    double t2 = sync_and_wait(cd, &info);
    if (t2 < 0 || info.result != WSUSAPI_RESULT_SUCCEEDED) {
        fprintf(stderr, "wsusd_sync: the upstream sync failed: %s\n", info.error);
        goto done;
    }
    long long n2 = info.new_updates;
    printf("wsusd upstream sync over MS-WSUSSS: %lld updates in %.2f s (%.0f updates/s), peak "
           "memory %.1f MB downstream, %.1f MB upstream\n",
           n2, t2, (double)n2 / t2, (double)peak_kb(down.pid) / 1024.0,
           (double)peak_kb(up.pid) / 1024.0);
    printf("target (whole catalog upstream-synced in under 15 s): %s\n",
           t2 < 15.0 ? "met" : "not met");
    rc = 0;
    goto done;
api_failed:
    fprintf(stderr, "wsusd_sync: %s\n", wsusapi_error(cu));
done:
    wsusapi_close(cu);
    wsusapi_close(cd);
    server *all[] = {&up, &down};
    for (int i = 0; i < 2; i++)
        if (all[i]->pid > 0) {
            kill(all[i]->pid, SIGTERM);
            waitpid(all[i]->pid, NULL, 0);
        }
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
