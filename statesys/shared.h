/*
 * shared.h - what the state system's threads share: the settings as the
 * loop thread last read them (atomics: the loop thread writes, the others
 * read), the counters of the work done, and the site's identity for status
 * messages.
 */
#ifndef STATESYS_SHARED_H
#define STATESYS_SHARED_H

#include <stdatomic.h>

#include "statmsg.h"

#define SS_COMPONENT "SMS_STATE_SYSTEM"

typedef struct ss_shared {
    /* Settings (SC_Component_Property of SMS_STATE_SYSTEM). */
    atomic_llong loader_threads;      /* Loader Threads */
    atomic_llong chunk_size;          /* Chunk Size, files */
    atomic_llong settle_ms;           /* Settle Time */
    atomic_llong min_missing_age_min; /* Min Missing Message Age, minutes */
    atomic_llong heartbeat_min;       /* Heartbeat Msg Interval, minutes */
    atomic_llong aged_days;           /* Aged Status Days */
    /* Work done since start. */
    atomic_llong files, messages, duplicates, invalid, bad_files, rejected;
    /* Bumped when the site learns updates, sources or deployments. */
    atomic_uint topics_gen;
    /* For status messages from the worker threads. */
    char server[256];
    char site[8];
    char connstr[2048];
} ss_shared;

/*
 * A status message from a worker thread, on that thread's own connection
 * and outside any open transaction of it (d NULL: the log line only).
 */
static inline int ss_statmsg(const ss_shared *sh, db *d, int id, char sev, const char *s0,
                             const char *s1, const char *s2, const char *s3)
{
    statmsg m;
    statmsg_init(&m, id, sev, 'M', SS_COMPONENT, sh->server, sh->site);
    m.istr[0] = s0;
    m.istr[1] = s1;
    m.istr[2] = s2;
    m.istr[3] = s3;
    return statmsg_report(d, &m);
}

#endif
