/*
 * sync.c - benchmark: a whole WSUS synchronization of a generated catalog
 * (100,000 updates by default) with the real daemons, wsusd as the software
 * update point and wsyncmgr, on a site made by `cmsite init` (SQLite, or the
 * connection string given with --db).  Prints the time from SELF.SYN to
 * 6702, each phase's time (from wsyncmgr.log), the updates per second of the
 * site-database phase, and wsyncmgr's peak RSS; then the same for a second
 * sync after 1 % of the updates got a new revision (an offline catalog of
 * the revised updates imported by wsusd), which should cost in proportion.
 * DESIGN.md's targets: site phase >= 20,000 updates/s, the first sync under
 * 30 s, wsyncmgr under 256 MB.
 *
 *   sync CMSITE WSUSD WSYNCMGR [--updates N] [--revise PERCENT] [--db CONNECTION] [--keep]
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "catalog_gen.h"
#include "config.h"
#include "db.h"
#include "updxml.h"

static char root[PATH_MAX];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(char *const argv[])
{
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static pid_t spawn(char *const argv[])
{
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static int port_free(int port)
{
    struct sockaddr_in a = {0};
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static int port_open(int port)
{
    struct sockaddr_in a = {0};
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static int sql(db *d, const char *s)
{
    int ret = db_exec(d, s);
    if (ret < 0)
        fprintf(stderr, "sync bench: %s: %s\n", s, db_errmsg(d));
    return ret;
}

/* Seconds since the epoch of a log line's "<MM-DD-YYYY HH:MM:SS.mmm" stamp (local, as written). */
static double line_time(const char *line)
{
    const char *p = strstr(line, "><");
    int mo, d, y, h, mi, s, ms;
    struct tm tm = {0};
    if (!p || sscanf(p + 2, "%d-%d-%d %d:%d:%d.%d", &mo, &d, &y, &h, &mi, &s, &ms) != 7)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (double)timegm(&tm) + ms / 1000.0;
}

typedef struct figures {
    double total, wsus, site, fetch, parse, write, cpu_main, cpu_read, cpu_wsusd;
    long updates, changed;
} figures;

/* Read the phases of the last sync from wsyncmgr.log (lines after offset). */
static double cpu_at(double t);

static void phases(long offset, figures *f)
{
    char path[PATH_MAX + 64], line[8192];
    double t_ws = 0, t_wd = 0, t_ss = 0, t_sd = 0;
    snprintf(path, sizeof path, "%s/logs/wsyncmgr.log", root);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    fseek(fp, offset, SEEK_SET);
    while (fgets(line, sizeof line, fp)) {
        long a, b, c;
        if (strstr(line, "sync: Starting WSUS synchronization"))
            t_ws = line_time(line);
        else if (strstr(line, "Done synchronizing WSUS Server"))
            t_wd = line_time(line);
        else if (strstr(line, "Synchronizing SMS database with WSUS server"))
            t_ss = line_time(line);
        else if (strstr(line, "Done synchronizing SMS with WSUS Server"))
            t_sd = line_time(line);
        else if (sscanf(line, "%ld new, %ld revised and %ld rewritten updates", &a, &b, &c) == 3)
            f->updates = a + b + c;
        else if (sscanf(line, "Updated %ld items in SMS database", &a) == 1)
            f->changed = a;
        else
            sscanf(line,
                   "Site database phase: %lf s reading from the WSUS server, %lf s parsing, %lf "
                   "s writing the site database; CPU %lf s in this thread, %lf s in the reading",
                   &f->fetch, &f->parse, &f->write, &f->cpu_main, &f->cpu_read);
    }
    fclose(fp);
    f->wsus = t_wd > t_ws ? t_wd - t_ws : 0;
    f->site = t_sd > t_ss ? t_sd - t_ss : 0;
    f->cpu_wsusd = t_sd > t_ss ? cpu_at(t_sd) - cpu_at(t_ss) : 0;
}

static long log_size(void)
{
    char path[PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof path, "%s/logs/wsyncmgr.log", root);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

/* CPU seconds (user + system) a process has used so far, from /proc; -1 if unknown. */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long ut, st;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double real_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* wsusd's CPU sampled while a sync runs, to tell what the site phase cost it. */
#define MAX_SAMPLES 40000
static double sample_t[MAX_SAMPLES], sample_cpu[MAX_SAMPLES];
static size_t nsamples;
static pid_t wsusd_pid = -1;

/* wsusd's CPU seconds at wall time t (the last sample at or before t). */
static double cpu_at(double t)
{
    double v = nsamples ? sample_cpu[0] : 0;
    for (size_t i = 0; i < nsamples && sample_t[i] <= t; i++)
        v = sample_cpu[i];
    return v;
}

/* Drop SELF.SYN and wait for the sync's 6702 (or 6703): 0, or -1 on failure or time-out. */
static int one_sync(db *d, figures *f, int timeout_s)
{
    long long last = 0, id = 0;
    char path[PATH_MAX + 64];
    long off = log_size();
    db_query_int(d, "SELECT COALESCE(MAX(RecordID), 0) FROM StatusMessages", NULL, NULL, &last);
    snprintf(path, sizeof path, "%s/inboxes/wsyncmgr.box/SELF.SYN", root);
    double t0 = now_s();
    int fd = open(path, O_CREAT | O_WRONLY, 0640);
    if (fd < 0)
        return -1;
    close(fd);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT COALESCE(MAX(MessageID), 0) FROM StatusMessages WHERE RecordID > %lld AND "
             "Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID IN (6702, 6703)",
             last);
    nsamples = 0;
    while (now_s() - t0 < timeout_s) {
        if (nsamples < MAX_SAMPLES) {
            sample_t[nsamples] = real_s();
            sample_cpu[nsamples++] = proc_cpu(wsusd_pid);
        }
        if (db_query_int(d, q, NULL, NULL, &id) == 0 && id)
            break;
        usleep(50000);
    }
    f->total = now_s() - t0;
    usleep(300000); /* the lines after the message */
    phases(off, f);
    if (id != 6702)
        fprintf(stderr, "sync bench: the sync %s (see %s/logs/wsyncmgr.log)\n",
                id == 6703 ? "failed" : "did not end in time", root);
    return id == 6702 ? 0 : -1;
}

/* The revised catalog: every category, and every Nth update with its next revision. */
typedef struct revise_ctx {
    char dir[PATH_MAX];
    long every;
    long seen, written;
} revise_ctx;

static int revise_one(void *ud, const updxml_update *u, long long rid)
{
    revise_ctx *r = ud;
    char path[PATH_MAX + 100], *xml = NULL;
    size_t len = 0;
    int is_cat = u->type == UPDXML_TYPE_CATEGORY;
    if (!is_cat && (r->seen++ % r->every) != 0)
        return 0;
    updxml_update copy = *u;
    if (!is_cat)
        copy.revision = u->revision + 1;
    if (updxml_write(&copy, &xml, &len) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/%07lld-%s.xml", r->dir, rid, u->update_id);
    FILE *fp = fopen(path, "w");
    if (!fp || fwrite(xml, 1, len, fp) != len) {
        free(xml);
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    free(xml);
    r->written += !is_cat;
    return 0;
}

static void print(const char *what, const figures *f, long rss)
{
    printf("%s\n", what);
    printf("  SELF.SYN to 6702:        %8.2f s\n", f->total);
    printf("  WSUS phase:              %8.2f s\n", f->wsus);
    printf("  site database phase:     %8.2f s  (%ld updates written, %.0f updates/s)\n", f->site,
           f->updates, f->site > 0 ? (double)f->updates / f->site : 0);
    printf("    reading from the SUP:  %8.2f s (overlapped with writing)\n", f->fetch);
    printf("    parsing update XML:    %8.2f s\n", f->parse);
    printf("    writing the database:  %8.2f s  (%.0f updates/s)\n", f->write,
           f->write > 0 ? (double)f->updates / f->write : 0);
    printf(
        "  CPU, site database phase: %.2f s writing thread, %.2f s reading thread, %.2f s wsusd\n",
        f->cpu_main, f->cpu_read, f->cpu_wsusd);
    printf("  items updated:           %8ld\n", f->changed);
    printf("  wsyncmgr peak RSS:       %8.1f MB\n", rss / 1024.0);
}

int main(int argc, char **argv)
{
    long updates = 100000, revise = 1;
    const char *conn = NULL;
    int keep = 0, rc = 1, port = 0;
    pid_t wsusd = -1, wsm = -1;
    db *d = NULL;
    char buf[PATH_MAX + 256], sport[16], ssl[16];

    if (argc < 4) {
        fprintf(stderr, "usage: sync CMSITE WSUSD WSYNCMGR [--updates N] [--revise PERCENT] "
                        "[--db CONNECTION] [--keep]\n");
        return 2;
    }
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--updates") && i + 1 < argc)
            updates = atol(argv[++i]);
        else if (!strcmp(argv[i], "--revise") && i + 1 < argc)
            revise = atol(argv[++i]);
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            conn = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
    }
    if (!conn)
        conn = getenv("CM_TEST_DB");
    snprintf(root, sizeof root, "%s/cmbench-sync.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return 1;
    snprintf(buf, sizeof buf, "%s/site", root);
    strcat(root, "/site");

    /* The site. */
    char *init[] = {argv[1],
                    "init",
                    "--root",
                    root,
                    "--site",
                    "CS1",
                    "--server",
                    "cs1site.contoso.com",
                    conn ? "--db" : NULL,
                    (char *)conn,
                    NULL};
    if (run(init) != 0) {
        fprintf(stderr, "sync bench: cmsite init failed\n");
        goto out;
    }
    site_ini ini;
    int eline;
    char err[256];
    if (config_load_ini(root, &ini, &eline, err, sizeof err) < 0 || db_open(&d, ini.connection) < 0)
        goto out;
    for (port = 20000 + (int)(getpid() % 20000); port < 65000; port += 2)
        if (port_free(port) && port_free(port + 1))
            break;
    snprintf(buf, sizeof buf,
             "UPDATE SoftwareUpdatePoints SET ServerName = 'localhost', PortNumber = %d, "
             "SSLPortNumber = %d, WCMConfigState = 2 WHERE SiteCode = 'CS1'",
             port, port + 1);
    if (sql(d, buf) < 0 ||
        config_set(d, "CS1", "SMS_WSUS_SYNC_MANAGER", "Post Sync Wait", NULL, 0) < 0 ||
        config_set(d, "CS1", "SMS_WSUS_SYNC_MANAGER", "Maintenance Interval", NULL, 1440) < 0)
        goto out;

    /* The SUP, with the generated catalog as its Microsoft Update. */
    char mu[128];
    snprintf(mu, sizeof mu, "MUUrl=generated:?updates=%ld&seed=1&languages=en", updates);
    char *set1[] = {argv[2], "--root", root, "--set", mu, NULL};
    if (run(set1) != 0)
        goto out;
    snprintf(sport, sizeof sport, "%d", port);
    snprintf(ssl, sizeof ssl, "%d", port + 1);
    char *ws[] = {argv[2], "--root", root, "--port", sport, "--ssl-port", ssl, NULL};
    wsusd = spawn(ws);
    wsusd_pid = wsusd;
    for (int i = 0; i < 200 && !port_open(port); i++)
        usleep(50000);
    char *wm[] = {argv[3], "--root", root, NULL};
    wsm = spawn(wm);
    sleep(2);

    printf("WSUS synchronization benchmark: %ld generated updates, site database %s\n", updates,
           db_dialect_name(db_get_dialect(d)));
    figures f1 = {0}, f2 = {0};
    if (one_sync(d, &f1, 900) < 0)
        goto out;
    print("first sync (everything new):", &f1, peak_rss_kb(wsm));

    /* 1 % of the updates revised: an offline catalog holding just those, for wsusd to import. */
    revise_ctx r = {.every = revise > 0 ? 100 / revise : 100};
    snprintf(r.dir, sizeof r.dir, "%s/revised", root);
    mkdir(r.dir, 0750);
    catalog_gen_options o = {0};
    o.updates = updates;
    o.seed = 1;
    o.languages = "en";
    if (catalog_gen_each(&o, revise_one, &r) < 0)
        goto out;
    char src[] = "SyncSource=OfflineCatalog", path[PATH_MAX + 32];
    snprintf(path, sizeof path, "OfflineCatalogPath=%s", r.dir);
    char *set2[] = {argv[2], "--root", root, "--set", src, NULL};
    char *set3[] = {argv[2], "--root", root, "--set", path, NULL};
    if (run(set2) != 0 || run(set3) != 0)
        goto out;
    if (one_sync(d, &f2, 900) < 0)
        goto out;
    snprintf(buf, sizeof buf, "second sync (%ld updates revised):", r.written);
    print(buf, &f2, peak_rss_kb(wsm));
    printf("targets: site phase >= 20000 updates/s, first sync < 30 s, wsyncmgr < 256 MB\n");
    rc = 0;
out:
    if (wsm > 0)
        kill(wsm, SIGTERM), waitpid(wsm, NULL, 0);
    if (wsusd > 0)
        kill(wsusd, SIGTERM), waitpid(wsusd, NULL, 0);
    db_close(d);
    if (!keep) {
        char *parent = strdup(root);
        *strrchr(parent, '/') = '\0';
        char *rm[] = {"/bin/rm", "-rf", parent, NULL};
        run(rm);
        free(parent);
    } else {
        printf("site kept in %s\n", root);
    }
    return rc;
}
