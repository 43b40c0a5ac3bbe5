/*
 * sync.c - one synchronization from start to end, as the worker thread runs
 * it (see sync.h).  The order of the steps, the log lines and the status
 * messages are those of seed 004 ("Synchronization", "On Central
 * Administration Site or Standalone Primary Site" and "On Child Primary Site
 * and Secondary Sites") and of seed 002 for the failures.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm_error.h"
#include "inbox.h"
#include "log.h"
#include "maint.h"
#include "sitephase.h"
#include "statmsg.h"
#include "sync.h"
#include "syncstate.h"
#include "wsusphase.h"

#define COMPONENT "SMS_WSUS_SYNC_MANAGER"

const char *sync_kind_text(sync_kind k)
{
    switch (k) {
    case SYNC_SCHEDULE:
        return "regular schedule";
    case SYNC_RETRY:
        return "retry schedule";
    case SYNC_PARENT:
        return "parent request";
    default:
        return "local request";
    }
}

void sync_sup_address(const char *server, const char *site_server, char *buf, size_t len)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(server, NULL, &hints, &res) == 0) {
        freeaddrinfo(res);
        snprintf(buf, len, "%s", server);
        return;
    }
    if (site_server && strcasecmp(server, site_server) == 0)
        snprintf(buf, len, "127.0.0.1");
    else
        snprintf(buf, len, "%s", server);
}

static void sql_trace(void *ud, const char *sql)
{
    (void)ud;
    log_sql(sql);
}

/*
 * A status message of the component: the STATMSG line, and the rows now or,
 * with no connection (d NULL once the job's connection is lost), from the
 * spool when the database is back.
 */
static void report(sync_job *job, db *d, int id, char sev, const char *s0, const char *s1)
{
    statmsg m;
    statmsg_init(&m, id, sev, 'M', COMPONENT, job->ini.server_name, job->ini.site_code);
    m.istr[0] = s0;
    m.istr[1] = s1;
    if (statmsg_report(d, &m) == CM_EDBCONN)
        job->db_lost = 1;
}

static void set_state(sync_job *job, db *d, const sync_source *src, int state)
{
    int ret = syncstate_set_state(d, src, state, time(NULL),
                                  state == SYNC_STATE_FAILED ? SYNC_ERROR_E_FAIL : 0, job->error,
                                  job->source);
    if (ret == CM_EDBCONN)
        job->db_lost = 1;
    else if (ret < 0)
        log_msg("Failed to record the sync state %d: %s", state, db_errmsg(d));
}

static int fail(sync_job *job, const char *source, const char *message)
{
    snprintf(job->source, sizeof job->source, "%s", source);
    snprintf(job->error, sizeof job->error, "%s", message);
    return CM_EDB;
}

/* The site's child sites, "PS1, PS2" (empty when none). */
static int child_sites(db *d, const char *site, char *buf, size_t len, char codes[][8], size_t max,
                       size_t *n)
{
    db_stmt *s;
    int ret;
    buf[0] = '\0';
    *n = 0;
    if ((ret = db_prepare(d, &s,
                          "SELECT SiteCode FROM SiteControl WHERE ParentSiteCode = ? "
                          "ORDER BY SiteCode")) < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, site)) == 0)
        while ((ret = db_step(s)) == 1) {
            const char *c = db_col_text(s, 0);
            if (!config_site_code_valid(c) || *n == max)
                continue;
            snprintf(codes[*n], 8, "%s", c);
            size_t l = strlen(buf);
            snprintf(buf + l, len - l, "%s%s", *n ? ", " : "", c);
            (*n)++;
        }
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

/* Tell the child sites to sync: <site>.SYN into the outbox, for replication to deliver. */
static void notify_children(sync_job *job, db *d)
{
    char list[512], codes[32][8], name[16], outbox[4200], path[4300];
    size_t n = 0;
    inbox_catalogue *cat = NULL;
    if (child_sites(d, job->ini.site_code, list, sizeof list, codes, 32, &n) < 0 || n == 0)
        return;
    log_msg("Sending sync notification to child site(s): %s", list);
    snprintf(name, sizeof name, "%s.SYN", job->ini.site_code);
    if (inbox_catalogue_builtin(&cat) == 0) {
        const inbox_box *b = inbox_catalogue_find(cat, "wsyncmgr.box/outbox");
        inbox_dir dir;
        if (b && inbox_dir_open(&dir, job->inboxes_dir, b) == 0 &&
            inbox_drop(&dir, name, "", 0) == 0) {
            snprintf(outbox, sizeof outbox, "%s", dir.path);
            snprintf(path, sizeof path, "%s/%s", outbox, name);
            log_msg("SQL Replication type has not been set for %s, replicating to (%s), inbox: "
                    "%s/replmgr.box",
                    path, list, job->inboxes_dir);
        } else {
            log_msg("Failed to write the sync notification %s for child site(s) %s", name, list);
        }
    }
    inbox_catalogue_free(cat);
}

/* The version the parent site's sync reached (a child's sync follows it). */
static long long parent_version(db *d, const char *parent, long long own)
{
    long long v = 0;
    if (db_query_int(d, "SELECT MAX(ContentVersion) FROM Update_SyncStatus WHERE SiteCode = ?",
                     parent, NULL, &v) == 0 &&
        v > 0)
        return v;
    return own;
}

static void sleep_text(long long s, char *buf, size_t len)
{
    if (s >= 60 && s % 60 == 0)
        snprintf(buf, len, "%lld more minute%s", s / 60, s == 60 ? "" : "s");
    else
        snprintf(buf, len, "%lld more second%s", s, s == 1 ? "" : "s");
}

static int run_sync(sync_job *job, db *d)
{
    sync_sup sups[SYNC_MAX_SUPS];
    size_t nsups = 0;
    sync_source src;
    int ret, top = job->ini.parent_site[0] == '\0';
    char msg[1024];

    log_msg("Read SUPs from SCF for %s", job->ini.server_name);
    if ((ret = syncstate_sups(d, job->ini.site_code, sups, SYNC_MAX_SUPS, &nsups)) < 0) {
        job->db_lost = ret == CM_EDBCONN;
        snprintf(msg, sizeof msg, "Failed to read the software update points: %s", db_errmsg(d));
        return fail(job, SRC_DOSYNC, msg);
    }
    log_msg("Found %zu SUPs", nsups);
    for (size_t i = 0; i < nsups; i++)
        log_msg("Found active SUP %s from SCF File.", sups[i].server);
    if ((ret = syncstate_source(d, job->ini.site_code, &src)) < 0) {
        job->db_lost = ret == CM_EDBCONN;
        snprintf(msg, sizeof msg,
                 ret == CM_ENOTFOUND
                     ? "Site %s has no update source in Update_SyncStatus; run cmsite init again"
                     : "Failed to read the update source of site %s",
                 job->ini.site_code);
        report(job, d, 6701, 'I', NULL, NULL);
        return fail(job, SRC_DOSYNC, msg);
    }
    job->version =
        src.content_version > src.source_version ? src.content_version : src.source_version;
    report(job, d, 6701, 'I', NULL, NULL);
    set_state(job, d, &src, SYNC_STATE_STARTED);
    if (nsups == 0)
        return fail(job, SRC_DOSYNC, "No active software update point is installed for this site");

    const sync_sup *first = &sups[0];
    /* WCM configures a SUP before it can sync (seed 004 Troubleshooting). */
    if (first->wcm_state != 2)
        return fail(job, SRC_DOSYNC,
                    "WSUS server not configured. Please refer to WCM.log for configuration "
                    "error details");
    log_msg("Synchronizing WSUS server %s", first->server);
    report(job, d, 6704, 'I', NULL, NULL);
    set_state(job, d, &src, SYNC_STATE_WSUS);
    if ((ret = wsusphase_run(job, first, 0)) < 0)
        return ret;
    if (job->set.post_sync_wait_s > 0) {
        char t[64];
        sleep_text(job->set.post_sync_wait_s, t, sizeof t);
        log_msg("Sleeping %s for WSUS server sync results to become available", t);
        if (wsusphase_nap(job, job->set.post_sync_wait_s * 1000)) {
            job->canceled = 1;
            return CM_EDB;
        }
    }

    long long version = job->version;
    if (!top && job->kind == SYNC_PARENT)
        version = parent_version(d, job->parent_site, version);
    if ((ret = syncstate_set_content_version(d, &src, version, time(NULL), first)) < 0) {
        job->db_lost = ret == CM_EDBCONN;
        snprintf(msg, sizeof msg, "Failed to set the content version: %s", db_errmsg(d));
        return fail(job, SRC_DOSYNC, msg);
    }
    log_msg("Set content version of update source %s for site %s to %lld", src.unique_id, src.site,
            version);
    src.content_version = src.source_version = version;
    job->version = version;

    if (top) {
        report(job, d, 6705, 'I', NULL, NULL);
        set_state(job, d, &src, SYNC_STATE_SITE_DB);
        if ((ret = sitephase_run(job, d, first, &src, &version)) < 0)
            return ret;
        job->version = version;
        src.content_version = src.source_version = version;
    }

    if (nsups > 1) {
        log_msg("Synchronizing replica WSUS servers");
        report(job, d, 6706, 'I', NULL, NULL);
        set_state(job, d, &src, SYNC_STATE_REPLICA);
        for (size_t i = 1; i < nsups; i++) {
            if (sups[i].wcm_state != 2)
                return fail(job, SRC_DOSYNC,
                            "WSUS server not configured. Please refer to WCM.log for "
                            "configuration error details");
            if ((ret = wsusphase_run(job, &sups[i], 1)) < 0)
                return ret;
            if ((ret = syncstate_set_location_version(d, &src, job->version, &sups[i])) < 0) {
                job->db_lost = ret == CM_EDBCONN;
                snprintf(msg, sizeof msg, "Failed to set the content version: %s", db_errmsg(d));
                return fail(job, SRC_DOSYNC, msg);
            }
        }
    }
    /* The state first: whoever sees 6702 finds v_SUPSyncStatus already saying so. */
    job->error[0] = job->source[0] = '\0';
    set_state(job, d, &src, SYNC_STATE_DONE);
    report(job, d, 6702, 'I', NULL, NULL);
    log_msg("Sync succeeded. Setting sync alert to canceled state on site %s", job->ini.site_code);
    if (top || job->kind != SYNC_PARENT)
        log_msg("Updated %ld items in SMS database, new update source content version is %lld",
                job->changed, job->version);
    else
        log_msg("Successfully synced site with parent %s, version %lld", job->parent_site,
                job->version);
    job->ok = 1;
    return 0;
}

static void maint_batch(void *ud, long long n)
{
    (void)ud;
    log_msg("Deleted %lld expired updates", n);
}

static void run_maintenance(sync_job *job, db *d)
{
    log_msg("Deleting old expired updates...");
    int ret = maint_delete_expired(d, job->set.cleanup_age_days, job->set.maint_batch, time(NULL),
                                   job->cancel, maint_batch, NULL, &job->deleted);
    if (ret < 0) {
        job->db_lost = ret == CM_EDBCONN;
        log_msg("Deleting old expired updates failed: %s", db_errmsg(d));
    }
    log_msg("Deleted %lld expired updates total", job->deleted);
    job->ok = ret == 0;
}

void sync_connection_tune(db *d)
{
    /*
     * A sync writes far more pages than SQLite caches by default; spilling
     * them to the log in the middle of the transaction costs a write per
     * page again and again.  64 MB keeps the busy pages in memory.  Each
     * many-row statement inside the transaction also keeps a statement
     * journal (the pages it changes, to undo it alone); SQLite writes it to
     * a temporary file past 64 KB, a system call per page, so it stays in
     * memory (at most the pages one statement touches).  The commit of a
     * large sync would also copy the whole log into the database file and
     * flush both to disk before 6702 could be reported; that checkpoint is
     * run once the job has said how it ended instead.
     */
    if (db_get_dialect(d) != DB_DIALECT_SQLITE)
        return;
    db_exec(d, "PRAGMA cache_size = -65536");
    db_exec(d, "PRAGMA temp_store = MEMORY");
    db_exec(d, "PRAGMA wal_autocheckpoint = 0");
}

void sync_connection_checkpoint(db *d)
{
    /* Passive: readers and other writers are never waited for. */
    if (db_get_dialect(d) == DB_DIALECT_SQLITE)
        db_exec(d, "PRAGMA wal_checkpoint(PASSIVE)");
}

void sync_job_run(sync_job *job)
{
    db *d = NULL;
    char dur[32];
    int ret;

    job->started = time(NULL);
    job->ok = job->canceled = job->db_lost = 0;
    job->error[0] = job->source[0] = '\0';
    ret = db_open(&d, job->ini.connection);
    if (ret < 0) {
        log_msg("Cannot connect to the site database: %s", d ? db_errmsg(d) : cm_strerror(ret));
        job->db_lost = 1;
        if (job->type == JOB_SYNC) {
            fail(job, SRC_DOSYNC, "Cannot connect to the site database");
            log_msg("Sync failed: %s. Source: %s", job->error, job->source);
        }
        db_close(d);
        job->finished = time(NULL);
        return;
    }
    db_set_trace(d, sql_trace, NULL);
    sync_connection_tune(d);
    if (job->type == JOB_MAINTENANCE) {
        run_maintenance(job, d);
        if (!job->db_lost)
            sync_connection_checkpoint(d);
        db_close(d);
        job->finished = time(NULL);
        return;
    }

    if (job->kind == SYNC_FULL)
        log_msg("Full sync requested: every update will be read and written again");
    ret = run_sync(job, d);
    job->finished = time(NULL);
    syncstate_duration_text(job->finished - job->started, dur, sizeof dur);
    if (job->canceled) {
        log_msg("Sync stopped: %s is stopping. The request will run again when it starts.",
                COMPONENT);
    } else if (ret < 0) {
        sync_source src;
        size_t el = strlen(job->error);
        /* One full stop between message and source, as the documents show. */
        log_msg("Sync failed: %s%s Source: %s", job->error,
                el && job->error[el - 1] == '.' ? "" : ".", job->source);
        if (!job->db_lost && syncstate_source(d, job->ini.site_code, &src) == 0)
            set_state(job, d, &src, SYNC_STATE_FAILED);
        report(job, job->db_lost ? NULL : d, 6703, 'E', job->source, job->error);
        log_msg("Sync failed. Will retry in %lld minutes", job->set.retry_minutes);
        log_msg("Sync time: %s", dur);
    } else {
        log_msg("Sync time: %s", dur);
        notify_children(job, d);
    }
    if (!job->db_lost)
        sync_connection_checkpoint(d);
    db_close(d);
}
