/*
 * worker.c - stop flag and per-thread connection (see worker.h).
 */
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
