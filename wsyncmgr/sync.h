/*
 * sync.h - one synchronization (or one maintenance run) of WSUS
 * Synchronization Manager, as the worker thread runs it: the phases of
 * DESIGN.md 2.1 in order, with the log lines and status messages of the
 * documents, on a database connection of its own.
 *
 * The daemon loop (main.c) fills a job, starts a thread on sync_job_run(),
 * and reads the outcome when the thread says it is done.  The job never
 * touches the loop's state; it stops at its next step when *cancel is set
 * (SIGTERM), rolling back what it had not committed.
 */
#ifndef WSYNCMGR_SYNC_H
#define WSYNCMGR_SYNC_H

#include <stdatomic.h>
#include <time.h>

#include "config.h"
#include "lang.h"

/* What asked for the sync (the "Performing sync on ..." line). */
typedef enum {
    SYNC_LOCAL = 1, /* SELF.SYN, SyncNow */
    SYNC_FULL,      /* FULL.SYN: every update read and written again */
    SYNC_SCHEDULE,  /* the sync schedule */
    SYNC_RETRY,     /* the retry after a failure */
    SYNC_PARENT     /* <PARENT>.SYN from the parent site */
} sync_kind;

typedef enum { JOB_SYNC = 1, JOB_MAINTENANCE } job_type;

/* The settings a job runs with (copied: the loop may re-read its own meanwhile). */
typedef struct sync_settings {
    long long post_sync_wait_s; /* 'Post Sync Wait' */
    long long retry_minutes;    /* 'Retry Interval' */
    long long busy_timeout_min; /* 'WSUS Busy Timeout': a sync the SUP was already running */
    long long poll_ms;          /* progress polling of the SUP */
    long long call_timeout_s;   /* one call to the SUP */
    long long cleanup_age_days; /* 'Expired Update Cleanup Age' */
    long long maint_batch;      /* expired updates deleted per transaction */
    lang_set langs;             /* 'Languages' */
} sync_settings;

typedef struct sync_job {
    /* In */
    job_type type;
    sync_kind kind;
    char parent_site[8]; /* SYNC_PARENT: the site that asked */
    site_ini ini;
    char inboxes_dir[4096];
    sync_settings set;
    atomic_int *cancel;

    /* Out */
    int ok;       /* 1: 6702 (or maintenance done) */
    int canceled; /* stopped by *cancel before it finished */
    int db_lost;  /* the site database went away */
    time_t started, finished;
    long long version; /* the content version after the sync */
    long changed;      /* items written to the site database */
    long long deleted; /* maintenance: expired updates deleted */
    char error[2048];  /* 6703 ISTR1 */
    char source[256];  /* 6703 ISTR0 */
} sync_job;

/* Run the job to its end (thread entry point's body); the outcome is in job. */
void sync_job_run(sync_job *job);

/*
 * The settings of a sync job's own connection (SQLite: page cache,
 * temporary storage, no checkpoint inside the commit; see sync.c), and the
 * checkpoint at the job's end that goes with them.  Nothing on other
 * databases.
 */
void sync_connection_tune(db *d);
void sync_connection_checkpoint(db *d);

/* The "Performing sync on ..." words of a kind: "local request", "regular schedule"... */
const char *sync_kind_text(sync_kind k);

/*
 * The address to connect to for a SUP named server: the name itself when
 * it resolves; the loopback address when it does not and it is this site
 * server (the lab's SUP, wsusd, listens on loopback on the site server).
 */
void sync_sup_address(const char *server, const char *site_server, char *buf, size_t len);

#endif
