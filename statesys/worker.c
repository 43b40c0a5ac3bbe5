/*
 * worker.c - stop flag and per-thread connection (see worker.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "cm_error.h"
#include "log.h"
#include "worker.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

void stop_init(ss_stop *s)
{
    pthread_condattr_t attr;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    s->stopping = 0;
}

void stop_destroy(ss_stop *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

void stop_request(ss_stop *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int stop_requested(ss_stop *s)
{
    pthread_mutex_lock(&s->mu);
    int r = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int stop_sleep(ss_stop *s, long long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    int r = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return r;
}

void conn_init(ss_conn *c, const char *connstr)
{
    c->d = NULL;
    snprintf(c->connstr, sizeof c->connstr, "%s", connstr);
    c->lost = 0;
    c->backoff_ms = BACKOFF_MIN_MS;
}

void conn_close(ss_conn *c)
{
    db_close(c->d);
    c->d = NULL;
}

void conn_lost(ss_conn *c)
{
    c->lost = 1;
}

int conn_wait(ss_conn *c, ss_stop *s, const char *what, int *reconnected)
{
    int was_lost = c->lost, logged = 0;
    if (reconnected)
        *reconnected = 0;
    while (!stop_requested(s)) {
        int ret;
        if (c->d && !c->lost)
            return 0;
        if (!c->d)
            ret = db_open(&c->d, c->connstr);
        else
            ret = db_reconnect(c->d);
        if (ret == 0) {
            c->lost = 0;
            c->backoff_ms = BACKOFF_MIN_MS;
            if (was_lost) {
                log_msg("%s reconnected to the site database.", what);
                if (reconnected)
                    *reconnected = 1;
            }
            return 0;
        }
        c->lost = 1;
        was_lost = 1;
        if (!logged) {
            log_msg("%s cannot reach the site database: %s. Retrying with backoff.", what,
                    c->d ? db_errmsg(c->d) : cm_strerror(ret));
            logged = 1;
        }
        if (stop_sleep(s, c->backoff_ms))
            break;
        c->backoff_ms *= 2;
        if (c->backoff_ms > BACKOFF_MAX_MS)
            c->backoff_ms = BACKOFF_MAX_MS;
    }
    return CM_EDBCONN;
}

/*
 * SQLite's ABI values (sqlite3.h): the library is reached through dlopen,
 * as the ODBC driver's own dependency, so that building statesys needs no
 * SQLite headers and a site on another database loads nothing.
 */
#define SQLITE_OK_ 0
#define SQLITE_CONFIG_MEMSTATUS_ 9

int ss_sqlite_tune(void)
{
    /*
     * The handle is kept for the life of the process on purpose: closed, the
     * library could be unloaded before the driver loads it, and the setting
     * with it.  RTLD_GLOBAL is not needed; the driver's own reference to
     * libsqlite3.so.0 finds this copy by its name.
     */
    void *lib = dlopen("libsqlite3.so.0", RTLD_NOW);
    if (!lib)
        return CM_EDB;
    int (*config)(int, ...) = (int (*)(int, ...))dlsym(lib, "sqlite3_config");
    if (!config)
        return CM_EDB;
    /*
     * With memory statistics on (the library's default), every allocation
     * and free of every connection takes one process-wide mutex to count
     * it: a tenth of the writer's time, in lock and unlock alone, for
     * figures nothing here reads (no soft heap limit is set).
     */
    return config(SQLITE_CONFIG_MEMSTATUS_, 0) == SQLITE_OK_ ? 0 : CM_EDB;
}
