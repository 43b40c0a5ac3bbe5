/*
 * statesys.c - benchmark of the state system: state messages from the
 * first file dropped to the last row committed, with the real statesys
 * against a real site made by `cmsite init`, and, measured in the same run
 * on the same database, the raw rate of inserting the same rows through
 * ODBC with prepared statements in large transactions.  Prints:
 *
 *   - messages per second, first drop to last commit (files written by
 *     `cmsite simulate-clients` into a staging folder beforehand, then
 *     renamed into the inbox while statesys runs);
 *   - statesys's peak RSS (VmHWM);
 *   - the raw insert rate of the rows statesys produced in
 *     Update_ComplianceStatus, one row per statement and 100 rows per
 *     statement (the statements statesys itself uses), and the ratio; on
 *     SQLite also with plain statements (see bulk.c on why they differ).
 *
 * With --backlog the files are all in the inbox before statesys starts (a
 * backlog; the time runs from its start), which is how the memory target
 * is measured: --backlog --messages 1000000 --per-file 1 --files 10.  DESIGN.md's
 * targets: >= 100,000 messages/s on SQLite on a 2-core machine, >= 0.6 of
 * the raw rate, < 64 MB RSS with a 1,000,000-file backlog.
 *
 *   statesys_bench CMSITE STATESYS [--messages N] [--per-file M] [--files F]
 *                  [--updates U] [--backlog] [--db CONNECTION]   (or CM_TEST_DB)
 *
 * N messages in files of M messages, F files a client (so N / (M * F) clients).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bulk.h"
#include "config.h"
#include "db.h"
#include "worker.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(char *const argv[], int quiet)
{
    pid_t p = fork();
    if (p == 0) {
        if (quiet && !freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/*
 * CPU seconds of the process's threads, summed by thread name (the state
 * system names its threads ss-writer, ss-loader-N, ss-tasks).  Exited
 * threads (a round's loaders) are gone from /proc: they are sampled while
 * the run goes and their largest value kept.
 */
#define MAX_THREADS 64
typedef struct tcpu {
    long tid;
    char name[32];
    double secs;
} tcpu;

static void sample_threads(pid_t pid, tcpu *t, int *n)
{
    char path[128], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    long hz = sysconf(_SC_CLK_TCK);
    if (!d)
        return;
    while ((e = readdir(d))) {
        long tid = atol(e->d_name);
        if (tid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", (long)pid, tid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close)
            continue;
        unsigned long ut = 0, st = 0;
        /* After ") ": state, then 10 fields, then utime and stime (fields 14, 15). */
        if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        int i;
        for (i = 0; i < *n; i++)
            if (t[i].tid == tid)
                break;
        if (i == *n) {
            if (*n == MAX_THREADS)
                continue;
            (*n)++;
            t[i].tid = tid;
            snprintf(t[i].name, sizeof t[i].name, "%.*s", (int)(close - open - 1), open + 1);
        }
        t[i].secs = (double)(ut + st) / (double)hz;
    }
    closedir(d);
}

/* Rename every file of stage into box; returns the count. */
static long drop_all(const char *stage, const char *box)
{
    DIR *d = opendir(stage);
    struct dirent *e;
    long n = 0;
    char from[PATH_MAX + 300], to[PATH_MAX + 300];
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", stage, e->d_name);
        snprintf(to, sizeof to, "%s/%s", box, e->d_name);
        if (rename(from, to) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void rm_rf(const char *path)
{
    char *argv[] = {"/bin/rm", "-rf", (char *)path, NULL};
    run(argv, 0);
}

typedef struct row {
    long long ci, m, status, serial;
    char t1[32], t2[32];
} row;

/* text with every occurrence of from replaced by to; NULL without memory. */
static char *renamed(const char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *m = strstr(text, from); m; m = strstr(m + fl, from))
        count++;
    char *out = malloc(strlen(text) + count * tl + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text;;) {
        const char *m = strstr(p, from);
        size_t k = m ? (size_t)(m - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!m)
            break;
        memcpy(o, to, tl);
        o += tl;
        p = m + fl;
    }
    *o = '\0';
    return out;
}

/*
 * An empty copy of a table as the site schema made it: the same columns, key
 * and indexes.  SQLite has no CREATE TABLE ... LIKE: there the table's and its
 * indexes' own statements from sqlite_master are run with the name replaced.
 */
static int copy_table(db *d, const char *from, const char *to)
{
    char sql[256];
    db_stmt *q;
    char **stmts = NULL;
    size_t n = 0;
    int ret;
    if (db_get_dialect(d) == DB_DIALECT_POSTGRES) {
        snprintf(sql, sizeof sql, "CREATE TABLE %s (LIKE %s INCLUDING ALL)", to, from);
        return db_exec(d, sql);
    }
    /* The table first, then its indexes (not its triggers); an automatic index has none. */
    if ((ret = db_prepare(d, &q,
                          "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                          "AND type IN ('table', 'index') ORDER BY type = 'table' DESC")) < 0)
        return ret;
    if ((ret = db_bind_text(q, 1, from)) == 0) {
        while ((ret = db_step(q)) == 1) {
            char *one = renamed(db_col_text(q, 0), from, to);
            char **nv = one ? realloc(stmts, (n + 1) * sizeof *nv) : NULL;
            if (!nv) {
                free(one);
                ret = -ENOMEM;
                break;
            }
            stmts = nv;
            stmts[n++] = one;
        }
    }
    db_finalize(q);
    for (size_t i = 0; i < n; i++) {
        if (ret == 0)
            ret = db_exec(d, stmts[i]);
        free(stmts[i]);
    }
    free(stmts);
    return ret < 0 ? ret : n ? 0 : -ENOENT;
}

/* The raw rate: the rows statesys wrote, inserted into a copy of the table. */
static int raw_rate(db *d, int rows_per_stmt, unsigned flags, const row *rows, long n, double *rate)
{
    static const bulk_col cols[] = {{BULK_INT, 0},   {BULK_INT, 0},   {BULK_INT, 0},
                                    {BULK_TEXT, 31}, {BULK_TEXT, 31}, {BULK_INT, 0}};
    bulk *b = NULL;
    int ret;
    db_exec(d, "DROP TABLE IF EXISTS Bench_ComplianceStatus");
    if ((ret = copy_table(d, "Update_ComplianceStatus", "Bench_ComplianceStatus")) < 0)
        return ret;
    double t0 = now_s();
    if ((ret =
             bulk_open_flags(d, &b,
                             "INSERT INTO Bench_ComplianceStatus (CI_ID, MachineID, Status, "
                             "LastStatusCheckTime, LastStatusChangeTime, LastStatusSerial) VALUES",
                             "", cols, 6, rows_per_stmt, flags)) < 0)
        return ret;
    /* Large transactions: as statesys's, about 25,000 rows each. */
    for (long i = 0; i < n && ret == 0; i += 25000) {
        if ((ret = db_begin(d)) < 0)
            break;
        for (long k = i; k < n && k < i + 25000 && ret == 0; k++) {
            const row *r = &rows[k];
            if ((ret = bulk_int(b, 0, r->ci)) == 0 && (ret = bulk_int(b, 1, r->m)) == 0 &&
                (ret = bulk_int(b, 2, r->status)) == 0 && (ret = bulk_text(b, 3, r->t1)) == 0 &&
                (ret = bulk_text(b, 4, r->t2)) == 0 && (ret = bulk_int(b, 5, r->serial)) == 0)
                ret = bulk_row(b);
        }
        if (ret == 0)
            ret = bulk_flush(b);
        if (ret == 0)
            ret = db_commit(d);
    }
    double t1 = now_s();
    bulk_close(b);
    db_exec(d, "DROP TABLE IF EXISTS Bench_ComplianceStatus");
    *rate = ret == 0 ? (double)n / (t1 - t0) : 0;
    return ret;
}

int main(int argc, char **argv)
{
    long long messages = 1000000, per_file = 50, updates = 100, files = 1;
    int backlog = 0;
    const char *conn = getenv("CM_TEST_DB");
    char root[] = "/tmp/cmbench-statesys.XXXXXX", stage[PATH_MAX], box[PATH_MAX], err[256] = "",
         num[4][32];
    int errline = 0, ret = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: statesys_bench CMSITE STATESYS [--messages N] [--per-file M] "
                        "[--files F] [--updates U] [--backlog] [--db CONNECTION]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
            messages = atoll(argv[++i]);
        else if (strcmp(argv[i], "--per-file") == 0 && i + 1 < argc)
            per_file = atoll(argv[++i]);
        else if (strcmp(argv[i], "--updates") == 0 && i + 1 < argc)
            updates = atoll(argv[++i]);
        else if (strcmp(argv[i], "--files") == 0 && i + 1 < argc)
            files = atoll(argv[++i]);
        else if (strcmp(argv[i], "--backlog") == 0)
            backlog = 1;
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            conn = argv[++i];
        else {
            fprintf(stderr, "statesys_bench: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (messages < 1 || per_file < 1 || updates < 1 || files < 1)
        return 2;
    long long machines = (messages + per_file * files - 1) / (per_file * files);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(stage, sizeof stage, "%s/stage", root);
    snprintf(box, sizeof box, "%s/inboxes/auth/statesys.box/incoming", root);

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
    char *pause0[] = {argv[1],       "config", "--root", root, "SMS_STATE_SYSTEM",
                      "Inbox Pause", "0",      NULL};
    snprintf(num[0], sizeof num[0], "%lld", machines);
    snprintf(num[1], sizeof num[1], "%lld", per_file);
    snprintf(num[2], sizeof num[2], "%lld", updates);
    snprintf(num[3], sizeof num[3], "%lld", files);
    char *sim[] = {argv[1],
                   "simulate-clients",
                   "--root",
                   root,
                   "--generate-updates",
                   num[2],
                   "--machines",
                   num[0],
                   "--files",
                   num[3],
                   "--messages",
                   num[1],
                   "--out",
                   stage,
                   NULL};
    if (run(init, 1) != 0 || run(pause0, 1) != 0 || mkdir(stage, 0750) != 0) {
        fprintf(stderr, "statesys_bench: cannot create the site in %s\n", root);
        goto out;
    }
    double g0 = now_s();
    if (run(sim, 1) != 0) {
        fprintf(stderr, "statesys_bench: cmsite simulate-clients failed\n");
        goto out;
    }
    double g1 = now_s();

    site_ini ini;
    db *d = NULL;
    if (config_load_ini(root, &ini, &errline, err, sizeof err) < 0 ||
        db_open(&d, ini.connection) < 0) {
        fprintf(stderr, "statesys_bench: cannot open the site database: %s\n",
                d ? db_errmsg(d) : err);
        db_close(d);
        goto out;
    }
    long long expected = 0;
    /* What simulate-clients wrote is what must arrive. */
    expected = machines * per_file * files;
    if (backlog)
        drop_all(stage, box);

    pid_t pid = fork();
    if (pid == 0) {
        char *a[] = {argv[2], "--root", root, NULL};
        execv(argv[2], a);
        _exit(127);
    }
    double t0 = now_s();
    if (!backlog) {
        /* statesys running and idle: the files land as a management point would drop them. */
        char pidfile[PATH_MAX + 32];
        snprintf(pidfile, sizeof pidfile, "%s/run/statesys.pid", root);
        while (access(pidfile, F_OK) != 0 && now_s() - t0 < 30)
            usleep(10000);
        usleep(500000);
        t0 = now_s();
        drop_all(stage, box);
    }
    double t_drop = now_s();
    long long got = 0;
    long rss = 0;
    tcpu threads[MAX_THREADS];
    int nthreads = 0;
    while (now_s() - t0 < 3600) {
        sample_threads(pid, threads, &nthreads);
        long r = peak_rss_kb(pid);
        if (r > rss)
            rss = r;
        if (db_query_int(d, "SELECT COALESCE(SUM(MessagesReceived), 0) FROM SR_ClientMessageCounts",
                         NULL, NULL, &got) == 0 &&
            got >= expected)
            break;
        usleep(20000);
    }
    double t1 = now_s();
    long r = peak_rss_kb(pid);
    if (r > rss)
        rss = r;
    sample_threads(pid, threads, &nthreads);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (got < expected) {
        fprintf(stderr, "statesys_bench: only %lld of %lld messages arrived within an hour\n", got,
                expected);
        db_close(d);
        goto out;
    }

    /* The rows statesys produced, read back and inserted again raw. */
    long n = 0, cap = 1 << 16;
    row *rows = malloc((size_t)cap * sizeof *rows);
    db_stmt *q;
    if (rows && db_prepare(d, &q,
                           "SELECT CI_ID, MachineID, Status, LastStatusCheckTime, "
                           "LastStatusChangeTime, LastStatusSerial FROM Update_ComplianceStatus "
                           "WHERE LastStatusCheckTime IS NOT NULL") == 0) {
        while (db_step(q) == 1) {
            if (n == cap) {
                row *nr = realloc(rows, (size_t)cap * 2 * sizeof *rows);
                if (!nr)
                    break;
                rows = nr;
                cap *= 2;
            }
            row *x = &rows[n++];
            x->ci = db_col_int(q, 0);
            x->m = db_col_int(q, 1);
            x->status = db_col_int(q, 2);
            snprintf(x->t1, sizeof x->t1, "%s", db_col_text(q, 3));
            snprintf(x->t2, sizeof x->t2, "%s", db_col_text(q, 4));
            x->serial = db_col_int(q, 5);
        }
        db_finalize(q);
    }
    /* The raw inserts run with the settings statesys's writer gives its own connection. */
    if (db_get_dialect(d) == DB_DIALECT_SQLITE) {
        db_exec(d, "PRAGMA temp_store = MEMORY");
        db_exec(d, "PRAGMA cache_size = -8192");
    }
    /*
     * Both statement shapes: as statesys sends them (on SQLite with the
     * prefix that keeps them compiled, the strict comparison) and as a plain
     * ODBC program would (compiled again at each execution by the SQLite
     * driver; the same statements on other databases).
     */
    int sqlite = db_get_dialect(d) == DB_DIALECT_SQLITE;
    double raw1 = 0, raw100 = 0, plain1 = 0, plain100 = 0;
    int r1 = raw_rate(d, 1, 0, rows, n, &raw1);
    int r100 = raw_rate(d, 100, 0, rows, n, &raw100);
    int p1 = sqlite ? raw_rate(d, 1, BULK_PLAIN, rows, n, &plain1) : 0;
    int p100 = sqlite ? raw_rate(d, 100, BULK_PLAIN, rows, n, &plain100) : 0;
    free(rows);

    double rate = (double)expected / (t1 - t0);
    printf("statesys benchmark (%s, %s)\n", db_dialect_name(db_get_dialect(d)),
           backlog ? "backlog present at start" : "files dropped while statesys runs");
    printf("  workload: %lld state messages in %lld files (%lld per file, %lld clients, %lld "
           "updates), written by cmsite simulate-clients in %.1f s\n",
           expected, machines * files, per_file, machines, updates, g1 - g0);
    if (!backlog)
        printf("  drop (rename into the inbox): %.2f s\n", t_drop - t0);
    printf("  statesys: %.2f s from %s to last commit: %.0f messages/s\n", t1 - t0,
           backlog ? "start" : "first drop", rate);
    printf("  statesys peak RSS: %.1f MB\n", (double)rss / 1024.0);
    double writer = 0, loaders = 0, other = 0;
    for (int i = 0; i < nthreads; i++) {
        if (strcmp(threads[i].name, "ss-writer") == 0)
            writer += threads[i].secs;
        else if (strncmp(threads[i].name, "ss-loader", 9) == 0)
            loaders += threads[i].secs;
        else
            other += threads[i].secs;
    }
    printf("  statesys CPU: writer %.2f s, loaders %.2f s, other %.2f s (%.1f us of CPU a "
           "message)\n",
           writer, loaders, other, (writer + loaders + other) * 1e6 / (double)expected);
    if (r1 == 0 && r100 == 0 && p1 == 0 && p100 == 0) {
        printf("  raw ODBC insert of the same %ld rows (Update_ComplianceStatus copy, 25,000 rows "
               "a transaction): %.0f rows/s one row a statement, %.0f rows/s 100 rows a "
               "statement\n",
               n, raw1, raw100);
        printf("  ratio statesys / raw: %.2f of the 100-row rate, %.2f of the one-row rate\n",
               rate / raw100, rate / raw1);
        if (sqlite) {
            printf("  raw ODBC insert, plain statements (compiled again at each execution): %.0f "
                   "rows/s one row a statement, %.0f rows/s 100 rows a statement\n",
                   plain1, plain100);
            printf("  ratio statesys / raw plain: %.2f of the 100-row rate, %.2f of the one-row "
                   "rate\n",
                   rate / plain100, rate / plain1);
        }
        ret = 0;
    } else {
        fprintf(stderr, "statesys_bench: the raw insert failed: %s\n", db_errmsg(d));
    }
    db_close(d);
out:
    rm_rf(root);
    return ret;
}
