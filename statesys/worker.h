/*
 * worker.h - what the state system's threads share: a stop flag with an
 * interruptible sleep, and a database connection of their own that is
 * opened, and reopened after a loss, with backoff.  The daemon loop's
 * connection stays on the loop thread; an ODBC connection is never used by
 * two threads.
 */
#ifndef STATESYS_WORKER_H
#define STATESYS_WORKER_H

#include <pthread.h>

#include "db.h"

typedef struct ss_stop {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
} ss_stop;

void stop_init(ss_stop *s);
void stop_destroy(ss_stop *s);
void stop_request(ss_stop *s);
int stop_requested(ss_stop *s);
/* Sleep up to ms; returns 1 when a stop was requested. */
int stop_sleep(ss_stop *s, long long ms);

typedef struct ss_conn {
    db *d;
    char connstr[2048];
    int lost; /* the last attempt failed or the connection was reported lost */
    long long backoff_ms;
} ss_conn;

void conn_init(ss_conn *c, const char *connstr);
void conn_close(ss_conn *c);
/*
 * Return with a connection (0), retrying with backoff (1 s doubling to
 * 60 s), or CM_EDBCONN once a stop is requested.  *reconnected (may be
 * NULL) is set when this call brought back a connection that had been lost.
 * what names the thread in the log lines.
 */
int conn_wait(ss_conn *c, ss_stop *s, const char *what, int *reconnected);
/* Report a CM_EDBCONN from a call: the next conn_wait() reconnects. */
void conn_lost(ss_conn *c);

#endif
