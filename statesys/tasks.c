/*
 * tasks.c - the scheduler thread (see tasks.h).  It wakes every second:
 * that is how soon a RunNow request is served.  Task times are UTC text in
 * SR_SummaryTasks (LastRunTime, NextRunTime); a task never run is scheduled
 * one interval after the first start rather than run at once, as a site
 * server that starts does not summarize everything on the spot.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "cm_error.h"
#include "log.h"
#include "smx.h"
#include "summary.h"
#include "tasks.h"
#include "worker.h"

#define TICK_MS 1000
#define TOPIC_CHECK_MS 5000
#define MAX_TASKS 32

struct tasks {
    ss_shared *sh;
    char boxes[3][4096];
    pthread_t thread;
    int started;
    ss_stop stop;
    ss_conn conn;
    apply *a;
    char topics_sig[128];
    long long next_topic_check, next_heartbeat;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DD HH:MM:SS" (whole seconds: what the console shows). */
static void sql_time(long long ms, char *buf)
{
    smx_format_time(ms, buf);
    buf[19] = '\0';
}

typedef struct task_row {
    char name[129];
    long long enabled, interval, run_now;
    char next[40];
} task_row;

static int read_tasks(db *d, task_row *rows, size_t *n)
{
    db_stmt *q;
    int ret;
    *n = 0;
    if ((ret = db_prepare(d, &q,
                          "SELECT TaskName, Enabled, RunInterval, RunNow, NextRunTime FROM "
                          "SR_SummaryTasks ORDER BY TaskName")) < 0)
        return ret;
    while (*n < MAX_TASKS && (ret = db_step(q)) == 1) {
        task_row *r = &rows[(*n)++];
        snprintf(r->name, sizeof r->name, "%s", db_col_text(q, 0));
        r->enabled = db_col_int(q, 1);
        r->interval = db_col_int(q, 2);
        r->run_now = db_col_int(q, 3);
        snprintf(r->next, sizeof r->next, "%s", db_col_is_null(q, 4) ? "" : db_col_text(q, 4));
    }
    db_finalize(q);
    return ret < 0 ? ret : 0;
}

static int exec_update(db *d, const char *sql, const char *t1, const char *t2, long long i1,
                       long long i2, const char *name)
{
    db_stmt *s;
    int ret = db_prepare(d, &s, sql), idx = 1;
    if (ret < 0)
        return ret;
    if (t1)
        ret = db_bind_text(s, idx++, t1);
    if (ret == 0 && t2)
        ret = db_bind_text(s, idx++, t2);
    if (ret == 0 && i1 != LLONG_MIN)
        ret = db_bind_int(s, idx++, i1);
    if (ret == 0 && i2 != LLONG_MIN)
        ret = db_bind_int(s, idx++, i2);
    if (ret == 0)
        ret = db_bind_text(s, idx, name);
    if (ret == 0)
        ret = db_step(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

static int run_task(tasks *t, const task_row *r)
{
    db *d = t->conn.d;
    long long status = 0, start = now_ms(), mstart = mono_ms();
    char last[24], next[24], secs[32], st[32];
    int ret;

    /* Cleared first: a request made while the task runs asks for another run. */
    if (r->run_now &&
        (ret = exec_update(d, "UPDATE SR_SummaryTasks SET RunNow = 0 WHERE TaskName = ?", NULL,
                           NULL, LLONG_MIN, LLONG_MIN, r->name)) < 0)
        return ret;
    log_msg("Started task '%s'", r->name);
    ret = summary_run(d, t->a, r->name, atomic_load(&t->sh->aged_days), &status);
    long long secs_run = (mono_ms() - mstart) / 1000;
    if (ret == CM_EDBCONN)
        return ret;
    sql_time(start, last);
    sql_time(now_ms() + (r->interval > 0 ? r->interval : 3600) * 1000, next);
    snprintf(secs, sizeof secs, "%lld", secs_run);
    if (ret < 0) {
        char why[1200];
        snprintf(why, sizeof why, "%s", db_errmsg(d));
        log_msg("Task '%s' failed after running for %lld seconds: %s", r->name, secs_run, why);
        ss_statmsg(t->sh, d, 8203, 'E', r->name, secs, why, NULL);
        status = -1;
    } else {
        log_msg("Task '%s' completed successfully after running for %lld seconds, with status "
                "%lld.",
                r->name, secs_run, status);
        snprintf(st, sizeof st, "%lld", status);
        ss_statmsg(t->sh, d, 8202, 'I', r->name, secs, st, NULL);
    }
    return exec_update(d,
                       "UPDATE SR_SummaryTasks SET LastRunTime = ?, NextRunTime = ?, "
                       "LastRunDuration = ?, LastRunStatus = ? WHERE TaskName = ?",
                       last, next, secs_run, status, r->name);
}

static int schedule(tasks *t)
{
    task_row rows[MAX_TASKS];
    size_t n;
    db *d = t->conn.d;
    int ret = read_tasks(d, rows, &n);
    if (ret < 0)
        return ret;
    long long now = now_ms();
    for (size_t i = 0; i < n && !stop_requested(&t->stop); i++) {
        task_row *r = &rows[i];
        long long next;
        if (!summary_known(r->name))
            continue;
        if (!r->run_now && !r->enabled)
            continue;
        if (!r->run_now && r->next[0] == '\0') {
            char buf[24];
            sql_time(now + (r->interval > 0 ? r->interval : 3600) * 1000, buf);
            if ((ret = exec_update(d,
                                   "UPDATE SR_SummaryTasks SET NextRunTime = ? WHERE TaskName = ? "
                                   "AND NextRunTime IS NULL",
                                   buf, NULL, LLONG_MIN, LLONG_MIN, r->name)) < 0)
                return ret;
            continue;
        }
        if (!r->run_now && smx_parse_sql_time(r->next, &next) == 0 && next > now)
            continue;
        if ((ret = run_task(t, r)) < 0)
            return ret;
    }
    return 0;
}

/*
 * The site learned updates, sources or deployments: the writer forgets its
 * "unknown" answers and waiting states are migrated at once.
 */
static int topic_check(tasks *t)
{
    long long c1 = 0, m1 = 0, c2 = 0, c3 = 0, pending = 0;
    char sig[128];
    db *d = t->conn.d;
    int ret;
    if ((ret = db_query_int(d, "SELECT COUNT(*) FROM CI_ConfigurationItems", NULL, NULL, &c1)) <
            0 ||
        (ret = db_query_int(d, "SELECT COALESCE(MAX(CI_ID), 0) FROM CI_ConfigurationItems", NULL,
                            NULL, &m1)) < 0 ||
        (ret = db_query_int(d, "SELECT COUNT(*) FROM CI_UpdateSources", NULL, NULL, &c2)) < 0 ||
        (ret = db_query_int(d, "SELECT COUNT(*) FROM CI_CIAssignments", NULL, NULL, &c3)) < 0)
        return ret;
    snprintf(sig, sizeof sig, "%lld/%lld/%lld/%lld", c1, m1, c2, c3);
    if (strcmp(sig, t->topics_sig) == 0)
        return 0;
    int first = t->topics_sig[0] == '\0';
    snprintf(t->topics_sig, sizeof t->topics_sig, "%s", sig);
    if (!first)
        atomic_fetch_add(&t->sh->topics_gen, 1);
    if ((ret = db_query_int(d,
                            "SELECT COUNT(*) FROM SR_CurrentState WHERE TopicType IN (300, 301, "
                            "302, 402, 500, 501)",
                            NULL, NULL, &pending)) < 0)
        return ret;
    if (pending == 0)
        return 0;
    task_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", SUM_MIGRATE);
    r.interval = 86400;
    db_query_int(d, "SELECT RunInterval FROM SR_SummaryTasks WHERE TaskName = ?", SUM_MIGRATE, NULL,
                 &r.interval);
    return run_task(t, &r);
}

static long long count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long long n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && e->d_type != DT_DIR)
            n++;
    closedir(d);
    return n;
}

static int heartbeat(tasks *t)
{
    ss_shared *sh = t->sh;
    db *d = t->conn.d;
    char files[32], msgs[32], bad[32], waiting[32];
    long long backlog = 0;
    int ret;
    for (int i = 0; i < 3; i++)
        backlog += count_files(t->boxes[i]);
    snprintf(files, sizeof files, "%lld", atomic_load(&sh->files));
    snprintf(msgs, sizeof msgs, "%lld", atomic_load(&sh->messages));
    snprintf(bad, sizeof bad, "%lld", atomic_load(&sh->bad_files));
    snprintf(waiting, sizeof waiting, "%lld", backlog);
    if ((ret = ss_statmsg(sh, d, 8207, 'I', files, msgs, bad, waiting)) == CM_EDBCONN)
        return ret;

    /* Gaps older than Min Missing Message Age: the clients ConfigMgr would ask to resync. */
    long long age = atomic_load(&sh->min_missing_age_min), clients = 0, ranges = 0;
    char cutoff[24];
    sql_time(now_ms() - age * 60000, cutoff);
    if ((ret = db_query_int(d,
                            "SELECT COUNT(DISTINCT MachineID) FROM SR_MissingMessageRanges WHERE "
                            "DetectedTime < ?",
                            cutoff, NULL, &clients)) < 0 ||
        (ret = db_query_int(d,
                            "SELECT COUNT(*) FROM SR_MissingMessageRanges WHERE "
                            "DetectedTime < ?",
                            cutoff, NULL, &ranges)) < 0)
        return ret;
    if (clients > 0) {
        char c[32], a[32], r[32];
        snprintf(c, sizeof c, "%lld", clients);
        snprintf(a, sizeof a, "%lld", age);
        snprintf(r, sizeof r, "%lld", ranges);
        log_msg("%lld clients have state messages missing for more than %lld minutes (%lld "
                "ranges).",
                clients, age, ranges);
        ss_statmsg(sh, d, 8206, 'W', c, a, r, NULL);
    }
    return 0;
}

static void *tasks_main(void *arg)
{
    tasks *t = arg;
    long long mono = mono_ms();
    pthread_setname_np(pthread_self(), "ss-tasks");
    t->next_topic_check = mono;
    /* A first heartbeat at start: the missing-message check runs at once too. */
    t->next_heartbeat = mono;
    while (!stop_requested(&t->stop)) {
        int ret = 0;
        if (conn_wait(&t->conn, &t->stop, "The summarization thread", NULL) < 0)
            break;
        if (!t->a && (ret = apply_open(t->conn.d, t->sh->site, &t->a)) < 0) {
            t->a = NULL;
        } else {
            ret = schedule(t);
            mono = mono_ms();
            if (ret == 0 && mono >= t->next_topic_check) {
                ret = topic_check(t);
                t->next_topic_check = mono + TOPIC_CHECK_MS;
            }
            long long hb = atomic_load(&t->sh->heartbeat_min);
            if (ret == 0 && hb > 0 && mono >= t->next_heartbeat) {
                ret = heartbeat(t);
                t->next_heartbeat = mono + hb * 60000;
            }
        }
        if (ret == CM_EDBCONN) {
            apply_close(t->a);
            t->a = NULL;
            conn_lost(&t->conn);
            continue;
        }
        if (ret < 0)
            log_msg("Summarization scheduling failed: %s. Will retry.", db_errmsg(t->conn.d));
        stop_sleep(&t->stop, TICK_MS);
    }
    apply_close(t->a);
    t->a = NULL;
    conn_close(&t->conn);
    return NULL;
}

int tasks_start(tasks **out, ss_shared *sh, const char *const boxes[3])
{
    tasks *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return -ENOMEM;
    t->sh = sh;
    for (int i = 0; i < 3; i++)
        snprintf(t->boxes[i], sizeof t->boxes[i], "%s", boxes[i]);
    stop_init(&t->stop);
    conn_init(&t->conn, sh->connstr);
    if (pthread_create(&t->thread, NULL, tasks_main, t) != 0) {
        stop_destroy(&t->stop);
        free(t);
        return -EAGAIN;
    }
    t->started = 1;
    *out = t;
    return 0;
}

void tasks_stop(tasks *t)
{
    if (!t)
        return;
    stop_request(&t->stop);
    if (t->started)
        pthread_join(t->thread, NULL);
    stop_destroy(&t->stop);
    free(t);
}
