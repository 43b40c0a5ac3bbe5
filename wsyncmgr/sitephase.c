/*
 * sitephase.c - the site-database phase (see sitephase.h).
 *
 * Anchors: the last sync's GetRevisionIdList anchors are kept in
 * Update_SyncAnchors with the SUP they came from and a fingerprint of the
 * filter; a different SUP or filter, a FULL.SYN, or an anchor the SUP
 * refuses start from the beginning.  Updates whose revision the site
 * already holds are not fetched at all, so a sync costs what changed.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cm_error.h"
#include "log.h"
#include "sitedb.h"
#include "sitephase.h"
#include "updxml.h"
#include "wsusapi.h"
#include "wsusphase.h"
#include "wsusss.h"

#define PROGRESS_LOG_S 5
#define DEFAULT_BATCH 100
#define MAX_BATCH 1000

typedef struct anchors {
    char config[128], update[128];
} anchors;

/*
 * Seconds on a clock: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID
 * for the calling thread's CPU (what a part costs, whatever else runs).
 */
static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lower(const char *in, char *out, size_t len)
{
    size_t i;
    for (i = 0; in[i] && i + 1 < len; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

unsigned long long sitephase_filter_hash(char **products, size_t np, char **classes, size_t nc,
                                         const lang_set *langs)
{
    unsigned long long h = 1469598103934665603ULL;
    char **lists[2] = {products, classes};
    size_t ns[2] = {np, nc};
    for (int l = 0; l < 2; l++) {
        char **sorted = malloc((ns[l] ? ns[l] : 1) * sizeof *sorted);
        if (!sorted)
            return 0;
        if (ns[l])
            memcpy(sorted, lists[l], ns[l] * sizeof *sorted);
        qsort(sorted, ns[l], sizeof *sorted, str_cmp);
        for (size_t i = 0; i < ns[l]; i++)
            for (const char *p = sorted[i]; *p; p++)
                h = (h ^ (unsigned char)(*p | 0x20)) * 1099511628211ULL;
        h = (h ^ (unsigned char)('|' + l)) * 1099511628211ULL;
        free(sorted);
    }
    for (size_t i = 0; i < langs->n; i++)
        h = (h ^ (unsigned long long)langs->lcid[i]) * 1099511628211ULL;
    return h;
}

/* ------------------------------------------------------------------ */
/* Anchors                                                             */
/* ------------------------------------------------------------------ */

static int anchors_load(db *d, const sync_source *src, const char *server, const char *hash,
                        anchors *a)
{
    db_stmt *s;
    int ret;
    memset(a, 0, sizeof *a);
    ret = db_prepare(d, &s,
                     "SELECT ServerName, FilterHash, ConfigAnchor, UpdateAnchor "
                     "FROM Update_SyncAnchors WHERE SiteCode = ? AND UpdateSource_ID = ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, src->site)) == 0 &&
        (ret = db_bind_int(s, 2, src->source_id)) == 0 && (ret = db_step(s)) == 1) {
        if (strcasecmp(db_col_text(s, 0), server) == 0 && strcmp(db_col_text(s, 1), hash) == 0) {
            snprintf(a->config, sizeof a->config, "%s", db_col_text(s, 2));
            snprintf(a->update, sizeof a->update, "%s", db_col_text(s, 3));
        }
        ret = 0;
    }
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

static int anchors_save(db *d, const sync_source *src, const char *server, const char *hash,
                        const anchors *a)
{
    db_stmt *s;
    char now[32];
    long long changes = 0;
    int ret;
    syncstate_time_text(time(NULL), now, sizeof now);
    ret = db_prepare(d, &s,
                     "UPDATE Update_SyncAnchors SET ServerName = ?, FilterHash = ?, "
                     "ConfigAnchor = ?, UpdateAnchor = ?, LastModified = ? "
                     "WHERE SiteCode = ? AND UpdateSource_ID = ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, server)) == 0 && (ret = db_bind_text(s, 2, hash)) == 0 &&
        (ret = db_bind_text(s, 3, a->config)) == 0 && (ret = db_bind_text(s, 4, a->update)) == 0 &&
        (ret = db_bind_text(s, 5, now)) == 0 && (ret = db_bind_text(s, 6, src->site)) == 0 &&
        (ret = db_bind_int(s, 7, src->source_id)) == 0 && (ret = db_step(s)) >= 0)
        changes = db_changes(s);
    db_finalize(s);
    if (ret < 0 || changes > 0)
        return ret < 0 ? ret : 0;
    ret = db_prepare(d, &s,
                     "INSERT INTO Update_SyncAnchors (SiteCode, UpdateSource_ID, ServerName, "
                     "FilterHash, ConfigAnchor, UpdateAnchor, LastModified) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, src->site)) == 0 &&
        (ret = db_bind_int(s, 2, src->source_id)) == 0 && (ret = db_bind_text(s, 3, server)) == 0 &&
        (ret = db_bind_text(s, 4, hash)) == 0 && (ret = db_bind_text(s, 5, a->config)) == 0 &&
        (ret = db_bind_text(s, 6, a->update)) == 0 && (ret = db_bind_text(s, 7, now)) == 0)
        ret = db_step(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------------ */
/* The phase                                                           */
/* ------------------------------------------------------------------ */

typedef struct phase {
    sync_job *job;
    db *d;
    sitedb *w;
    wsusss_client *c;
    soap_endpoint ep; /* where c calls (for the second fetch thread's client) */
    size_t batch;
    long bad_xml;
    double t_fetch, t_parse, t_write; /* seconds spent in each part (for the log) */
    double cpu_read;                  /* CPU seconds of the fetch thread */
} phase;

static int fail(phase *p, const char *source, const char *message, int ret)
{
    snprintf(p->job->source, sizeof p->job->source, "%s", source);
    snprintf(p->job->error, sizeof p->job->error, "%s",
             message && *message ? message : "Unknown error");
    if (ret == CM_EDBCONN)
        p->job->db_lost = 1;
    return ret < 0 ? ret : CM_EDB;
}

static int db_fail(phase *p, int ret)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "Failed to update the site database: %s", db_errmsg(p->d));
    return fail(p, SRC_DOSYNC, msg, ret);
}

/* A failed call of client c (the phase's own, or a fetch thread's). */
static int ss_fail(phase *p, const wsusss_client *c, int ret)
{
    return fail(p, SRC_SYNC_SMS, wsusss_client_error(c), ret);
}

static void on_item(void *ud, const updxml_update *u, sitedb_result r)
{
    (void)ud;
    if ((r == SITEDB_INSERTED || r == SITEDB_REVISED || r == SITEDB_REWRITTEN) &&
        log_verbose_enabled() && u->type != UPDXML_TYPE_CATEGORY) {
        const char *title = updxml_title(u, "en");
        log_verbose("Synchronizing update %s - %s", u->update_id, title ? title : "");
    }
}

/* ------------------------------------------------------------------ */
/* Fetching: one batch read and parsed                                 */
/* ------------------------------------------------------------------ */

/* A batch read from the SUP and parsed, ready for sitedb. */
typedef struct batch {
    wsusss_update_data *ups;
    size_t nups;
    wsusss_file_url *urls;
    size_t nurls;
    updxml_update *parsed;
    sitedb_item *items;
    size_t nitems;
    sitedb_url *su;
    size_t count;     /* identities asked for */
    wsusss_client *c; /* the client that read it */
    int ret;          /* < 0: the read failed (the error is in c) */
    double t_fetch, t_parse;
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->nitems; i++)
        updxml_free(&b->parsed[i]);
    free(b->parsed);
    free(b->items);
    free(b->su);
    wsusss_update_data_free(b->ups, b->nups);
    wsusss_file_urls_free(b->urls, b->nurls);
    memset(b, 0, sizeof *b);
}

/* Read and parse one batch with client c (no database work: may run in a fetch thread). */
static void batch_read(wsusss_client *c, const wsusss_identity *ids, size_t k, batch *b)
{
    double t0 = clock_s(CLOCK_MONOTONIC);
    memset(b, 0, sizeof *b);
    b->count = k;
    b->c = c;
    b->ret = wsusss_get_update_data(c, ids, k, &b->ups, &b->nups, &b->urls, &b->nurls);
    double t1 = clock_s(CLOCK_MONOTONIC);
    b->t_fetch = t1 - t0;
    if (b->ret < 0)
        return;
    b->parsed = calloc(b->nups ? b->nups : 1, sizeof *b->parsed);
    b->items = calloc(b->nups ? b->nups : 1, sizeof *b->items);
    b->su = calloc(b->nurls ? b->nurls : 1, sizeof *b->su);
    if (!b->parsed || !b->items || !b->su) {
        b->ret = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < b->nurls; i++) {
        b->su[i].digest = b->urls[i].digest;
        b->su[i].url = b->urls[i].mu_url;
    }
    /* The XML is stored as it came: the parts kept only for writing it back are not read. */
    for (size_t i = 0; i < b->nups; i++) {
        int pr = updxml_parse_fields(b->ups[i].xml, b->ups[i].xml_len, &b->parsed[b->nitems]);
        if (pr < 0) {
            /* One bad document costs its update, not the sync. */
            log_msg("Skipped update %s revision %d: its metadata is not valid update XML (%s)",
                    b->ups[i].id.id, b->ups[i].id.revision, cm_strerror(pr));
            continue;
        }
        b->items[b->nitems].u = &b->parsed[b->nitems];
        b->items[b->nitems].xml = b->ups[i].xml;
        b->items[b->nitems].xml_len = b->ups[i].xml_len;
        b->nitems++;
    }
    b->t_parse = clock_s(CLOCK_MONOTONIC) - t1;
}

/* Write one batch; 0 or the phase's failure. */
static int batch_write(phase *p, batch *b, int config)
{
    int ret = 0;
    double t0 = clock_s(CLOCK_MONOTONIC);
    p->t_fetch += b->t_fetch;
    p->t_parse += b->t_parse;
    p->bad_xml += (long)(b->nups - b->nitems);
    if (b->ret < 0)
        return b->ret == -ENOMEM ? fail(p, SRC_DOSYNC, "Out of memory", -ENOMEM)
                                 : ss_fail(p, b->c, b->ret);
    if (config) {
        for (size_t i = 0; i < b->nitems && ret == 0; i++)
            ret = sitedb_category(p->w, b->items[i].u);
    } else {
        ret = sitedb_updates(p->w, b->items, b->nitems, b->su, b->nurls);
    }
    p->t_write += clock_s(CLOCK_MONOTONIC) - t0;
    return ret < 0 ? db_fail(p, ret) : 0;
}

/* ------------------------------------------------------------------ */
/* The fetch threads: reading the next batches while this one is written */
/* ------------------------------------------------------------------ */

/*
 * Two fetch threads, each with its own connection, take the batches in
 * turn: while one parses its answer the SUP already prepares the other's
 * (the SUP answers one request at a time, and one thread alone left it
 * idle while it parsed, and itself idle while the SUP worked).  Batch j
 * waits in slot j % QUEUE, so the writer takes them in order.
 */
#define READERS 2
#define QUEUE 4 /* batches read ahead */
/*
 * Batches a fetch thread has read and the writer may still be using: those
 * in the queue, the one being written, and the one just read.
 */
#define SPENT (QUEUE + 2)

typedef struct pipeline {
    phase *p;
    const wsusss_identity *ids;
    size_t n, nbatches;
    int nreaders;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch q[QUEUE];
    int ready[QUEUE];
    size_t next;    /* the batch the writer takes next */
    size_t written; /* batches the writer has finished with */
    int running;    /* fetch threads not finished */
    int abandoned;  /* a fetch thread quit before its last batch (a cancel) */
    int stop;       /* the writer gave up: the fetch threads stop too */
} pipeline;

/*
 * A fetch thread frees the batches it read, once the writer is done with
 * them: freed by the writer, each of the batch's blocks went back to the
 * reading thread's malloc arena under that arena's lock, which cost the
 * writer (the phase's busiest thread) a tenth of its time.
 */
typedef struct reader_arg {
    pipeline *pl;
    wsusss_client *c;
    size_t first; /* its batches: first, first + nreaders, ... */
    batch spent[SPENT];
    size_t spent_j[SPENT]; /* which batch each is */
    size_t nspent;
    pthread_t th;
} reader_arg;

/* Free the batches the writer has finished with (written is read under the lock). */
static void reader_free_spent(reader_arg *ra, size_t written)
{
    size_t keep = 0;
    for (size_t i = 0; i < ra->nspent; i++) {
        if (ra->spent_j[i] < written) {
            batch_free(&ra->spent[i]);
            continue;
        }
        ra->spent[keep] = ra->spent[i];
        ra->spent_j[keep++] = ra->spent_j[i];
    }
    ra->nspent = keep;
}

static void *reader(void *arg)
{
    reader_arg *ra = arg;
    pipeline *pl = ra->pl;
    int quit = 0;
    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (size_t j = ra->first; j < pl->nbatches; j += (size_t)pl->nreaders) {
        size_t off = j * pl->p->batch;
        size_t k = pl->n - off < pl->p->batch ? pl->n - off : pl->p->batch;
        batch b;
        /* Slot j % QUEUE is free once the writer has taken batch j - QUEUE. */
        pthread_mutex_lock(&pl->mu);
        while (j >= pl->next + QUEUE && !pl->stop)
            pthread_cond_wait(&pl->cv, &pl->mu);
        quit = pl->stop || atomic_load(pl->p->job->cancel);
        pthread_mutex_unlock(&pl->mu);
        if (quit)
            break;
        batch_read(ra->c, pl->ids + off, k, &b);
        pthread_mutex_lock(&pl->mu);
        pl->q[j % QUEUE] = b;
        pl->ready[j % QUEUE] = 1;
        size_t written = pl->written;
        pthread_cond_broadcast(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
        reader_free_spent(ra, written);
        assert(ra->nspent < SPENT);
        ra->spent[ra->nspent] = b;
        ra->spent_j[ra->nspent++] = j;
        if (b.ret < 0)
            break; /* the writer fails the phase when it reaches this batch */
    }
    pthread_mutex_lock(&pl->mu);
    pl->p->cpu_read += clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    pl->abandoned |= quit;
    pl->running--;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Tell the fetch threads to stop, wait for them, free what they left. */
static void pipeline_end(pipeline *pl, reader_arg *ra, int started)
{
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    for (int t = 0; t < started; t++)
        pthread_join(ra[t].th, NULL);
    /* What is left, read or not taken, is freed here (the threads have ended). */
    for (int t = 0; t < started; t++)
        reader_free_spent(&ra[t], (size_t)-1);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
}

/*
 * Start the fetch threads (two when a second client could be made, else
 * one); 0 when they could not start: the caller then reads in its own
 * thread.  *extra is the second client, for the caller to free.
 */
static int pipeline_start(pipeline *pl, reader_arg *ra, wsusss_client **extra, phase *p,
                          const wsusss_identity *ids, size_t n)
{
    memset(pl, 0, sizeof *pl);
    pl->p = p;
    pl->ids = ids;
    pl->n = n;
    pl->nbatches = (n + p->batch - 1) / p->batch;
    pl->nreaders = wsusss_client_clone(extra, p->c, &p->ep) == 0 ? READERS : 1;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    pl->running = pl->nreaders;
    for (int t = 0; t < pl->nreaders; t++) {
        ra[t] = (reader_arg){.pl = pl, .c = t ? *extra : p->c, .first = (size_t)t};
        if (pthread_create(&ra[t].th, NULL, reader, &ra[t]) != 0) {
            /* The batches are dealt out by count: all start, or none reads. */
            pthread_mutex_lock(&pl->mu);
            pl->running -= pl->nreaders - t;
            pthread_mutex_unlock(&pl->mu);
            pipeline_end(pl, ra, t);
            return 0;
        }
    }
    return 1;
}

/* The next batch in order from the fetch threads; 0, or CM_EDB when they stopped (a cancel). */
static int pipeline_take(pipeline *pl, batch *b)
{
    size_t slot = pl->next % QUEUE;
    pthread_mutex_lock(&pl->mu);
    while (!pl->ready[slot] && !pl->abandoned && pl->running > 0)
        pthread_cond_wait(&pl->cv, &pl->mu);
    int ok = pl->ready[slot];
    if (ok) {
        *b = pl->q[slot];
        pl->ready[slot] = 0;
        pl->next++;
        pthread_cond_broadcast(&pl->cv);
    }
    pthread_mutex_unlock(&pl->mu);
    return ok ? 0 : CM_EDB;
}

/*
 * Fetch the given identities in batches and hand each batch to sitedb:
 * categories one by one (the config pass, small), updates a batch at a time
 * with the next batches read and parsed meanwhile in threads of their own
 * (the SUP's answer time and the database's write time overlap).
 */
static int fetch(phase *p, const char *what, const wsusss_identity *ids, size_t n, int config)
{
    double last_line = clock_s(CLOCK_MONOTONIC);
    char line[256];
    size_t done = 0;
    int ret = 0;
    pipeline pl;
    reader_arg ra[READERS];
    wsusss_client *extra = NULL;
    int threaded = !config && n > p->batch;

    log_msg("sync: %s", what);
    if (threaded)
        threaded = pipeline_start(&pl, ra, &extra, p, ids, n);
    while (done < n && ret == 0) {
        batch b;
        if (atomic_load(p->job->cancel)) {
            p->job->canceled = 1;
            ret = CM_EDB;
            break;
        }
        if (threaded) {
            if ((ret = pipeline_take(&pl, &b)) < 0) {
                /* The readers stopped early: only a cancel does that without a failed batch. */
                p->job->canceled = 1;
                break;
            }
        } else {
            size_t k = n - done < p->batch ? n - done : p->batch;
            batch_read(p->c, ids + done, k, &b);
        }
        ret = batch_write(p, &b, config);
        done += b.count;
        if (threaded) {
            /* The fetch thread that read it frees it. */
            pthread_mutex_lock(&pl.mu);
            pl.written++;
            pthread_mutex_unlock(&pl.mu);
        } else {
            batch_free(&b);
        }
        if (ret == 0 && done < n && clock_s(CLOCK_MONOTONIC) - last_line >= PROGRESS_LOG_S) {
            wsusphase_progress_text(what, (long long)done, (long long)n, -1, line, sizeof line);
            log_msg("%s", line);
            last_line = clock_s(CLOCK_MONOTONIC);
        }
    }
    if (threaded)
        pipeline_end(&pl, ra, pl.nreaders);
    wsusss_client_free(extra);
    if (ret < 0)
        return ret;
    wsusphase_progress_text(what, (long long)n, (long long)n, -1, line, sizeof line);
    log_msg("%s", line);
    return 0;
}

/* The SUP's subscription: the update pass asks for what the SUP synchronizes. */
static int get_subscription(phase *p, const sync_sup *sup, wsusapi_subscription *sub)
{
    wsusapi_target t;
    wsusapi *c = NULL;
    char addr[256];
    int ret;
    memset(sub, 0, sizeof *sub);
    wsusphase_target(p->job, sup, addr, sizeof addr, &t);
    ret = wsusapi_connect(&c, &t);
    if (ret == 0)
        ret = wsusapi_get_subscription(c, sub);
    if (ret < 0)
        ret = fail(p, ret == 0 ? SRC_SYNC_SMS : SRC_CREATE_SERVER,
                   c ? wsusapi_error(c) : cm_strerror(ret), ret);
    wsusapi_close(c);
    return ret;
}

static int set_filter(wsusss_filter *f, const wsusapi_subscription *sub, const lang_set *langs,
                      int config)
{
    memset(f, 0, sizeof *f);
    f->get_config = config;
    f->languages = calloc(langs->n, sizeof *f->languages);
    if (!f->languages)
        return -ENOMEM;
    for (size_t i = 0; i < langs->n; i++)
        f->languages[i] = langs->lcid[i];
    f->nlanguages = langs->n;
    if (config)
        return 0;
    f->categories = calloc(sub->nproducts ? sub->nproducts : 1, sizeof *f->categories);
    f->classifications =
        calloc(sub->nclassifications ? sub->nclassifications : 1, sizeof *f->classifications);
    if (!f->categories || !f->classifications)
        return -ENOMEM;
    for (size_t i = 0; i < sub->nproducts; i++)
        snprintf(f->categories[f->ncategories++], 37, "%s", sub->product_ids[i]);
    for (size_t i = 0; i < sub->nclassifications; i++)
        snprintf(f->classifications[f->nclassifications++], 37, "%s", sub->classification_ids[i]);
    return 0;
}

/* GetRevisionIdList; an anchor the SUP refuses is dropped once and the list read whole. */
static int revision_ids(phase *p, wsusss_filter *f, char *anchor, size_t alen,
                        wsusss_identity **ids, size_t *n)
{
    char newanchor[128] = "";
    snprintf(f->anchor, sizeof f->anchor, "%s", anchor);
    int ret = wsusss_get_revision_ids(p->c, f, newanchor, sizeof newanchor, ids, n);
    if (ret == SOAP_EFAULT && anchor[0]) {
        log_msg("WSUS server refused the anchor of the last synchronization (%s); reading "
                "every item again",
                wsusss_client_error(p->c));
        f->anchor[0] = '\0';
        ret = wsusss_get_revision_ids(p->c, f, newanchor, sizeof newanchor, ids, n);
    }
    if (ret < 0)
        return ss_fail(p, p->c, ret);
    snprintf(anchor, alen, "%s", newanchor);
    return 0;
}

int sitephase_run(sync_job *job, db *d, const sync_sup *sup, const sync_source *src,
                  long long *version)
{
    phase p = {.job = job, .d = d, .batch = DEFAULT_BATCH};
    soap_endpoint ep = {0};
    wsusapi_subscription sub;
    wsusss_config_data cfg = {0};
    wsusss_filter fc = {0}, fu = {0};
    wsusss_identity *ids = NULL;
    size_t nids = 0;
    anchors a;
    char addr[256], fqdn[256], guid[40], hashtxt[24];
    long long cur =
        src->content_version > src->source_version ? src->content_version : src->source_version;
    int ret, in_tx = 0;

    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    *version = cur;
    lower(sup->server, fqdn, sizeof fqdn);
    log_msg("Synchronizing SMS database with WSUS server %s ...", fqdn);
    if ((ret = get_subscription(&p, sup, &sub)) < 0)
        return ret;

    sync_sup_address(sup->server, job->ini.server_name, addr, sizeof addr);
    ep.host = addr;
    ep.use_ssl = sup->use_ssl;
    ep.port =
        sup->use_ssl ? (sup->ssl_port ? sup->ssl_port : 8531) : (sup->port ? sup->port : 8530);
    ep.timeout_s = job->set.call_timeout_s > 0 ? job->set.call_timeout_s : 60;
    ep.insecure = 1;
    p.ep = ep;
    if ((ret = wsusss_client_new(&p.c, &ep)) < 0) {
        ret = fail(&p, SRC_SYNC_SMS, cm_strerror(ret), ret);
        goto out;
    }
    /* The site server identifies itself as a downstream server of its SUP. */
    snprintf(guid, sizeof guid, "%s", src->unique_id + (src->unique_id[0] == '{'));
    guid[strcspn(guid, "}")] = '\0';
    if ((ret = wsusss_authorize(p.c, job->ini.server_name, guid)) < 0 ||
        (ret = wsusss_get_config(p.c, "", &cfg)) < 0) {
        ret = ss_fail(&p, p.c, ret);
        goto out;
    }
    if (cfg.max_updates_per_request > 0)
        p.batch = (size_t)cfg.max_updates_per_request;
    if (p.batch > MAX_BATCH)
        p.batch = MAX_BATCH;

    snprintf(hashtxt, sizeof hashtxt, "%016llx",
             sitephase_filter_hash(sub.product_ids, sub.nproducts, sub.classification_ids,
                                   sub.nclassifications, &job->set.langs));
    if (job->kind == SYNC_FULL)
        memset(&a, 0, sizeof a);
    else if ((ret = anchors_load(d, src, sup->server, hashtxt, &a)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }
    if ((ret = set_filter(&fc, &sub, &job->set.langs, 1)) < 0 ||
        (ret = set_filter(&fu, &sub, &job->set.langs, 0)) < 0) {
        ret = fail(&p, SRC_DOSYNC, "Out of memory", ret);
        goto out;
    }

    /* Everything from here to the commit is one transaction. */
    if ((ret = db_begin(d)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }
    in_tx = 1;
    sitedb_options o = {.site = src->site,
                        .source_id = src->source_id,
                        .langs = &job->set.langs,
                        .full = job->kind == SYNC_FULL,
                        .new_version = cur + 1,
                        .now = time(NULL),
                        .on_item = on_item};
    if ((ret = sitedb_begin(&p.w, d, &o)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }

    /* Categories: the configuration pass. */
    if ((ret = revision_ids(&p, &fc, a.config, sizeof a.config, &ids, &nids)) < 0)
        goto out;
    if ((ret = fetch(&p, "SMS synchronizing categories", ids, nids, 1)) < 0)
        goto out;
    free(ids);
    ids = NULL;
    if ((ret = sitedb_categories_done(p.w)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }

    /* Updates: only revisions the site does not hold yet, unless this is a full sync. */
    if ((ret = revision_ids(&p, &fu, a.update, sizeof a.update, &ids, &nids)) < 0)
        goto out;
    const char **names = malloc((nids ? nids : 1) * sizeof *names);
    if (!names) {
        ret = fail(&p, SRC_DOSYNC, "Out of memory", -ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < nids; i++)
        names[i] = ids[i].id;
    ret = sitedb_prefetch(p.w, names, nids);
    free(names);
    if (ret < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }
    size_t keep = 0;
    for (size_t i = 0; i < nids; i++)
        if (job->kind == SYNC_FULL || sitedb_known_revision(p.w, ids[i].id) < ids[i].revision)
            ids[keep++] = ids[i];
    if ((ret = fetch(&p, "SMS synchronizing updates", ids, keep, 0)) < 0)
        goto out;
    if ((ret = sitedb_finish(p.w)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }
    const sitedb_stats *st = sitedb_get_stats(p.w);
    job->changed = sitedb_changed(p.w);
    log_msg("Done synchronizing SMS with WSUS Server %s", fqdn);
    if (st->inserted || st->revised || st->rewritten || st->categories_changed)
        log_msg("%ld new, %ld revised and %ld rewritten updates, %ld categories changed; %ld "
                "newly expired, %ld newly superseded",
                st->inserted, st->revised, st->rewritten, st->categories_changed, st->newly_expired,
                st->newly_superseded);
    log_msg("Site database phase: %.2f s reading from the WSUS server, %.2f s parsing, %.2f "
            "s writing the site database; CPU %.2f s in this thread, %.2f s in the reading thread",
            p.t_fetch, p.t_parse, p.t_write, clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0, p.cpu_read);
    if (st->unknown_categories)
        log_msg("%ld category memberships were skipped: the updates name categories the WSUS "
                "server did not send",
                st->unknown_categories);
    if (job->changed) {
        if ((ret = syncstate_set_content_version(d, src, cur + 1, time(NULL), sup)) < 0) {
            ret = db_fail(&p, ret);
            goto out;
        }
        *version = cur + 1;
    }
    if ((ret = anchors_save(d, src, sup->server, hashtxt, &a)) < 0 || (ret = db_commit(d)) < 0) {
        ret = db_fail(&p, ret);
        goto out;
    }
    in_tx = 0;
    if (job->changed)
        log_msg("Set content version of update source %s for site %s to %lld", src->unique_id,
                src->site, *version);
out:
    if (in_tx) {
        db_rollback(d);
        *version = cur;
        job->changed = 0;
    }
    free(ids);
    sitedb_free(p.w);
    wsusss_filter_free(&fc);
    wsusss_filter_free(&fu);
    wsusss_config_data_free(&cfg);
    wsusss_client_free(p.c);
    wsusapi_subscription_free(&sub);
    return ret;
}
