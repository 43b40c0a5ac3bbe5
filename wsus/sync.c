/*
 * sync.c - wsusd's synchronization: in its own thread, from the source the
 * administration API configured, into the SUSDB tables.
 *
 * Sources:
 *   - an upstream server (another wsusd, a real WSUS) or Microsoft Update
 *     (MUUrl https://...), through the MS-WSUSSS client: authorization,
 *     GetConfigData, a configuration pass (categories) and an update pass
 *     (filtered by the subscription), GetUpdateData in batches no larger
 *     than the upstream's MaxNumberOfUpdatesPerRequest;
 *   - the offline catalog (a wsusscn2.cab or a folder of update XML) read
 *     with catalog.h;
 *   - the lab's generated catalog (MUUrl "generated:..."), catalog_gen.h,
 *     so a fresh lab syncs something real-shaped with no network.
 * Each batch is one transaction, committed when complete, and an upstream's
 * anchors are saved only when a pass has finished: a sync that fails keeps
 * every whole batch and the previous anchors, and the next sync asks again
 * and fetches only what is still missing.  Bad update XML is refused one
 * update at a time (one log line each); cycles in supersedence or bundles
 * are broken after the import.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "catalog_gen.h"
#include "cm_error.h"
#include "events.h"
#include "log.h"
#include "susdb.h"
#include "wsusd.h"
#include "wsusss.h"

/*
 * Updates per transaction.  Large transactions matter: every commit rewrites
 * the index pages the batch touched, and update GUIDs land all over the
 * indexes.  A failed sync keeps every committed transaction.
 */
#define COMMIT_EVERY 2000
#define GENERATED_DEFAULT_UPDATES 300
#define GENERATED_DEFAULT_LANGUAGES "en,de,fr,ja"

typedef struct sync_run {
    wsusd *w;
    db *d;
    susdb_store *store;
    wsusapi_config cfg;
    wsusapi_subscription sub;
    int manual;
    /* Counts for the outcome. */
    long long n_new, n_revised, n_same, n_expired, n_bad, n_filtered;
    char error[1024];
    int canceled;
    /* Local filtering (offline and generated sources). */
    int local_filter;
    char (*prod)[37];
    size_t nprod;
    char (*cls)[37];
    size_t ncls;
    /* Batching for local sources. */
    int in_txn;
    int batch;
} sync_run;

/* ------------------------------------------------------------------ */
/* Status shared with the administration API                           */
/* ------------------------------------------------------------------ */

void sync_get_status(wsusd *w, wsusd_sync_status *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->st;
    pthread_mutex_unlock(&w->lock);
}

void sync_request_stop(wsusd *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->st.running)
        w->st.stop_requested = 1;
    pthread_mutex_unlock(&w->lock);
}

static int stopping(sync_run *r)
{
    pthread_mutex_lock(&r->w->lock);
    int s = r->w->st.stop_requested;
    pthread_mutex_unlock(&r->w->lock);
    return s;
}

static void set_phase(sync_run *r, wsusapi_phase p, long long total)
{
    pthread_mutex_lock(&r->w->lock);
    r->w->st.phase = p;
    r->w->st.total = total;
    r->w->st.processed = 0;
    pthread_mutex_unlock(&r->w->lock);
}

static void add_processed(sync_run *r, long long n, int grow_total)
{
    pthread_mutex_lock(&r->w->lock);
    r->w->st.processed += n;
    if (grow_total && r->w->st.total < r->w->st.processed)
        r->w->st.total = r->w->st.processed;
    pthread_mutex_unlock(&r->w->lock);
}

/* ------------------------------------------------------------------ */
/* Storing                                                             */
/* ------------------------------------------------------------------ */

static int in_sorted(char (*set)[37], size_t n, const char *id)
{
    return n && bsearch(id, set, n, sizeof *set, (int (*)(const void *, const void *))strcmp);
}

/* The subscription filter of local sources (see README: empty means everything). */
static int wanted(sync_run *r, const updxml_update *u)
{
    int in_prod = !r->nprod, in_cls = !r->ncls;
    if (!r->local_filter || u->type == UPDXML_TYPE_CATEGORY || u->type == UPDXML_TYPE_DETECTOID)
        return 1;
    for (size_t p = 0; p < u->nprereqs; p++) {
        if (!u->prereqs[p].is_category)
            continue;
        for (size_t i = 0; i < u->prereqs[p].nids; i++) {
            if (in_sorted(r->prod, r->nprod, u->prereqs[p].ids[i].id))
                in_prod = 1;
            if (in_sorted(r->cls, r->ncls, u->prereqs[p].ids[i].id))
                in_cls = 1;
        }
    }
    return in_prod && in_cls;
}

/*
 * Store one update from its XML.  Bad XML is refused with one log line and
 * does not stop the sync; a database failure does.  expect_id, when given,
 * is the identity the source announced for this blob.
 */
/*
 * Store one update already parsed (parse_ret is updxml_parse_fields's
 * result, u its output: the document itself is stored as it came, so the
 * parts kept only for writing it back are not needed).  Bad XML is refused
 * with one log line and does not stop the sync; a database failure does.
 * expect, when given, is the identity the source announced for this blob.
 * u is freed.
 */
static int store_parsed(sync_run *r, int parse_ret, updxml_update *u, const char *xml, size_t len,
                        const wsusss_identity *expect, const susdb_url *urls, size_t nurls)
{
    susdb_stored what;
    int dropped = 0, ret;
    if (parse_ret < 0) {
        r->n_bad++;
        log_msg("CatalogSyncAgent.ImportUpdate Update %s revision %d refused: its update XML is "
                "%s.",
                expect ? expect->id : "(unknown)", expect ? expect->revision : 0,
                parse_ret == CM_ETOOBIG ? "too large" : "malformed or of an unknown type");
        return 0;
    }
    if (expect && (strcmp(u->update_id, expect->id) != 0 || u->revision != expect->revision)) {
        r->n_bad++;
        log_msg("CatalogSyncAgent.ImportUpdate Update %s revision %d refused: its XML is update %s "
                "revision %d.",
                expect->id, expect->revision, u->update_id, u->revision);
        updxml_free(u);
        return 0;
    }
    if (!wanted(r, u)) {
        r->n_filtered++;
        updxml_free(u);
        return 0;
    }
    ret = susdb_store_update(r->store, u, xml, len, urls, nurls, &what, &dropped);
    if (ret == 0) {
        if (dropped)
            log_msg("CatalogSyncAgent.ImportUpdate Update %s refers to itself %d time(s) as its "
                    "own category, superseded or bundled update; those references are ignored.",
                    u->update_id, dropped);
        if (what == SUSDB_STORED_NEW)
            r->n_new++;
        else if (what == SUSDB_STORED_REVISED)
            r->n_revised++;
        else
            r->n_same++;
        if (what != SUSDB_STORED_SAME && u->expired)
            r->n_expired++;
        log_verbose("CatalogSyncAgent.ImportUpdate %s %s revision %d - %s",
                    what == SUSDB_STORED_SAME ? "Unchanged" : "Imported", u->update_id, u->revision,
                    updxml_title(u, "en") ? updxml_title(u, "en") : "");
    }
    updxml_free(u);
    return ret;
}

/* Parse and store one update from its XML (see store_parsed). */
static int store_one(sync_run *r, const char *xml, size_t len, const wsusss_identity *expect,
                     const susdb_url *urls, size_t nurls)
{
    updxml_update u;
    int ret = updxml_parse_fields(xml, len, &u);
    return store_parsed(r, ret, &u, xml, len, expect, urls, nurls);
}

static int db_failure(sync_run *r, int ret, const char *what)
{
    snprintf(r->error, sizeof r->error, "SusDbError: %s: %s", what, db_errmsg(r->d));
    return ret;
}

/* Transactions of COMMIT_EVERY updates (every source). */
static int local_begin(sync_run *r)
{
    int ret;
    if (r->in_txn)
        return 0;
    if ((ret = db_begin(r->d)) < 0)
        return db_failure(r, ret, "cannot start a transaction");
    r->in_txn = 1;
    r->batch = 0;
    return 0;
}

static int local_commit(sync_run *r)
{
    int ret;
    if (!r->in_txn)
        return 0;
    r->in_txn = 0;
    if ((ret = susdb_store_flush(r->store)) < 0) {
        db_rollback(r->d);
        return db_failure(r, ret, "cannot store a batch");
    }
    if ((ret = db_commit(r->d)) < 0) {
        db_failure(r, ret, "cannot commit a batch");
        db_rollback(r->d);
        return ret;
    }
    return 0;
}

static void local_abort(sync_run *r)
{
    if (r->in_txn)
        db_rollback(r->d);
    r->in_txn = 0;
}

/* After the categories of a local source: the subscription's filter sets. */
static int local_filter_ready(sync_run *r)
{
    int ret;
    free(r->prod);
    free(r->cls);
    r->prod = r->cls = NULL;
    r->nprod = r->ncls = 0;
    if ((ret = susdb_category_closure(r->d, r->sub.product_ids, r->sub.nproducts, &r->prod,
                                      &r->nprod)) < 0 ||
        (ret = susdb_category_closure(r->d, r->sub.classification_ids, r->sub.nclassifications,
                                      &r->cls, &r->ncls)) < 0)
        return db_failure(r, ret, "cannot read the categories");
    r->local_filter = 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Generated catalog                                                   */
/* ------------------------------------------------------------------ */

typedef struct gen_state {
    sync_run *r;
    long categories;
    long updates; /* the catalog's size, the updates phase's total */
    int in_updates;
    int counting;
} gen_state;

static int gen_each(void *ud, const updxml_update *u, long long revision_id)
{
    gen_state *g = ud;
    sync_run *r = g->r;
    char *xml;
    size_t len;
    int ret;
    (void)revision_id;
    if (g->counting) {
        if (u->type != UPDXML_TYPE_CATEGORY)
            return 1; /* categories come first: the count is known */
        g->categories++;
        return 0;
    }
    if (!g->in_updates && u->type != UPDXML_TYPE_CATEGORY) {
        if ((ret = local_commit(r)) < 0 || (ret = local_filter_ready(r)) < 0)
            return ret;
        g->in_updates = 1;
        log_msg("CatalogSyncAgent.Sync Synchronizing updates");
        set_phase(r, WSUSAPI_PHASE_UPDATES, g->updates);
    }
    if (r->batch == 0 && stopping(r)) {
        r->canceled = 1;
        return 1;
    }
    if ((ret = local_begin(r)) < 0)
        return ret;
    if ((ret = updxml_write(u, &xml, &len)) < 0) {
        r->n_bad++;
        log_msg("CatalogSyncAgent.ImportUpdate Update %s from the generated catalog could not be "
                "written as XML: %s",
                u->update_id, cm_strerror(ret));
        return 0;
    }
    ret = store_one(r, xml, len, NULL, NULL, 0);
    free(xml);
    if (ret < 0)
        return db_failure(r, ret, "cannot store an update");
    add_processed(r, 1, 0);
    if (++r->batch >= COMMIT_EVERY)
        return local_commit(r);
    return 0;
}

/* "generated:?updates=300&seed=1&languages=en,de" (every part optional). */
static int parse_generated(const char *url, catalog_gen_options *o, char *langs, size_t llen)
{
    const char *q = url + strlen("generated:");
    char buf[512];
    memset(o, 0, sizeof *o);
    o->updates = GENERATED_DEFAULT_UPDATES;
    o->seed = 1;
    snprintf(langs, llen, "%s", GENERATED_DEFAULT_LANGUAGES);
    if (*q == '?')
        q++;
    snprintf(buf, sizeof buf, "%s", q);
    for (char *save = NULL, *t = strtok_r(buf, "&;", &save); t; t = strtok_r(NULL, "&;", &save)) {
        char *eq = strchr(t, '='), *end;
        if (!eq)
            return CM_EPARSE;
        *eq++ = '\0';
        if (strcmp(t, "updates") == 0) {
            long v = strtol(eq, &end, 10);
            if (*end || v < 0 || v > CATALOG_GEN_MAX_UPDATES)
                return CM_ERANGE;
            o->updates = v;
        } else if (strcmp(t, "seed") == 0) {
            unsigned long long v = strtoull(eq, &end, 10);
            if (*end)
                return CM_EPARSE;
            o->seed = v;
        } else if (strcmp(t, "languages") == 0) {
            snprintf(langs, llen, "%s", eq);
        } else {
            return CM_EPARSE;
        }
    }
    o->languages = langs;
    return 0;
}

static int sync_generated(sync_run *r)
{
    catalog_gen_options o;
    char langs[256];
    gen_state g = {.r = r};
    int ret;
    if (parse_generated(r->cfg.mu_url, &o, langs, sizeof langs) < 0) {
        snprintf(r->error, sizeof r->error,
                 "UssCommunicationError: The Microsoft Update URL '%s' is not valid.",
                 r->cfg.mu_url);
        return CM_EPARSE;
    }
    log_msg("CatalogSyncAgent.Sync Synchronizing from the lab's generated catalog (%ld updates, "
            "seed %llu, languages %s)",
            o.updates, (unsigned long long)o.seed, langs);
    g.counting = 1;
    g.updates = o.updates;
    ret = catalog_gen_each(&o, gen_each, &g);
    if (ret < 0) {
        snprintf(r->error, sizeof r->error, "UssCommunicationError: the generated catalog: %s",
                 cm_strerror(ret));
        return ret;
    }
    g.counting = 0;
    log_msg("CatalogSyncAgent.Sync Synchronizing categories");
    set_phase(r, WSUSAPI_PHASE_CATEGORIES, g.categories);
    ret = catalog_gen_each(&o, gen_each, &g);
    if (ret == 0 && !g.in_updates) {
        /* A catalog of categories only. */
        if ((ret = local_commit(r)) == 0)
            ret = local_filter_ready(r);
    }
    if (ret == 0)
        ret = local_commit(r);
    if (ret != 0) {
        local_abort(r);
        if (r->canceled)
            return 1;
        if (!r->error[0])
            snprintf(r->error, sizeof r->error, "UssCommunicationError: the generated catalog: %s",
                     cm_strerror(ret));
        return ret < 0 ? ret : CM_EDB;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Offline catalog                                                     */
/* ------------------------------------------------------------------ */

static int sync_offline(sync_run *r)
{
    catalog_reader *cr = NULL;
    catalog_update cu = {0};
    int ret, in_updates = 0;
    long long cats = 0;
    const char *path = r->cfg.offline_path;

    ret = catalog_open(&cr, path);
    if (ret < 0) {
        snprintf(r->error, sizeof r->error, "%s: the offline catalog %s %s.",
                 "UssCommunicationError", path,
                 ret == CM_ENOTFOUND ? "does not exist"
                 : ret == CM_ENAME   ? "holds a file name that is not allowed"
                                     : "is neither a wsusscn2.cab nor a folder of update XML, or "
                                       "is corrupt");
        return ret;
    }
    log_msg("CatalogSyncAgent.Sync Synchronizing from the offline catalog %s (%s, %zu updates)",
            path, catalog_reader_kind(cr) == CATALOG_CAB ? "cab" : "folder", catalog_count(cr));
    log_msg("CatalogSyncAgent.Sync Synchronizing categories");
    set_phase(r, WSUSAPI_PHASE_CATEGORIES, 0);
    for (;;) {
        ret = catalog_next(cr, &cu);
        if (ret <= 0)
            break;
        if (!in_updates && !cu.is_category) {
            if ((ret = local_commit(r)) < 0 || (ret = local_filter_ready(r)) < 0)
                break;
            in_updates = 1;
            log_msg("CatalogSyncAgent.Sync Synchronizing updates");
            long long total = (long long)catalog_count(cr) - cats;
            set_phase(r, WSUSAPI_PHASE_UPDATES, total > 0 ? total : 0);
        }
        if (r->batch == 0 && stopping(r)) {
            r->canceled = 1;
            ret = 1;
            break;
        }
        if ((ret = local_begin(r)) < 0)
            break;
        susdb_url *urls = cu.nurls ? calloc(cu.nurls, sizeof *urls) : NULL;
        if (cu.nurls && !urls) {
            ret = -ENOMEM;
            snprintf(r->error, sizeof r->error, "SusDbError: out of memory");
            break;
        }
        for (size_t i = 0; i < cu.nurls; i++) {
            urls[i].digest = cu.urls[i].digest;
            urls[i].url = cu.urls[i].url;
        }
        wsusss_identity id;
        snprintf(id.id, sizeof id.id, "%s", cu.update_id);
        id.revision = cu.revision;
        ret = store_one(r, cu.xml, cu.xml_len, &id, urls, cu.nurls);
        free(urls);
        if (ret < 0) {
            db_failure(r, ret, "cannot store an update");
            break;
        }
        if (cu.is_category)
            cats++;
        add_processed(r, 1, !in_updates);
        if (++r->batch >= COMMIT_EVERY && (ret = local_commit(r)) < 0)
            break;
    }
    catalog_update_clear(&cu);
    if (ret < 0 && !r->error[0])
        snprintf(r->error, sizeof r->error,
                 "UssCommunicationError: the offline catalog %s is corrupt: %s", path,
                 cm_strerror(ret));
    catalog_close(cr);
    if (ret == 0) {
        if (!in_updates && (ret = local_commit(r)) == 0)
            ret = local_filter_ready(r);
        if (ret == 0)
            ret = local_commit(r);
    }
    if (ret != 0) {
        local_abort(r);
        return r->canceled ? 1 : ret;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Upstream server or Microsoft Update (MS-WSUSSS)                     */
/* ------------------------------------------------------------------ */

typedef struct uss_src {
    sync_run *r;
    wsusss_client *c;
    char url[600]; /* for logs and the anchors' key */
    int is_mu;     /* Microsoft Update itself */
    int max_batch; /* MaxNumberOfUpdatesPerRequest */
    int reauthorized;
} uss_src;

static int uss_fail(uss_src *s, int ret)
{
    snprintf(s->r->error, sizeof s->r->error, "%s", wsusss_client_error(s->c));
    return ret;
}

static int uss_authorize(uss_src *s)
{
    int ret = wsusss_authorize(s->c, s->r->w->server_name, s->r->w->server_id);
    return ret < 0 ? uss_fail(s, ret) : 0;
}

/*
 * A cookie the upstream refuses means: authorize again and retry (a few
 * times per sync).  A failed authorization leaves its text in err.
 */
static int cookie_refused(uss_src *s, int ret, char *err, size_t errlen)
{
    const char *code = wsusss_client_fault_code(s->c);
    if (ret != SOAP_EFAULT || s->reauthorized > 2)
        return 0;
    if (strcmp(code, WSUSSS_ERR_INVALID_COOKIE) != 0 &&
        strcmp(code, WSUSSS_ERR_INVALID_AUTH_COOKIE) != 0)
        return 0;
    s->reauthorized++;
    log_msg("CatalogSyncAgent.Sync The upstream server refused the cookie (%s); authorizing "
            "again.",
            code);
    if (wsusss_authorize(s->c, s->r->w->server_name, s->r->w->server_id) < 0) {
        snprintf(err, errlen, "%s", wsusss_client_error(s->c));
        return 0;
    }
    return 1;
}

/*
 * Fetching runs ahead of storing, in a thread of its own: while one batch
 * is written to the database, the next ones are requested, received and
 * parsed (the HTTP exchange, the SOAP message and each update's XML), so
 * the upstream server, the network and both cores work at once.
 */
#define FETCH_AHEAD 3

typedef struct fetched {
    int ret; /* < 0: this batch could not be fetched; error says why */
    char error[1024];
    size_t off, cnt;
    wsusss_update_data *ups;
    size_t nups;
    wsusss_file_url *urls;
    size_t nurls;
    updxml_update *parsed; /* parsed[i] of ups[i], when parse_ret[i] == 0 */
    int *parse_ret;
    int *asked; /* ups[i] is one of the identities asked for */
} fetched;

typedef struct fetcher {
    uss_src *s;
    const wsusss_identity *ids;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fetched *q[FETCH_AHEAD];
    int head, count, quit, done;
} fetcher;

static void fetched_free(fetched *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->parsed && i < f->nups; i++)
        if (f->parse_ret[i] == 0)
            updxml_free(&f->parsed[i]);
    free(f->parsed);
    free(f->parse_ret);
    free(f->asked);
    wsusss_update_data_free(f->ups, f->nups);
    wsusss_file_urls_free(f->urls, f->nurls);
    free(f);
}

/* One GetUpdateData, then every update's XML parsed. */
static void fetch_batch(fetcher *ft, fetched *f)
{
    uss_src *s = ft->s;
    int ret;
    do {
        ret = wsusss_get_update_data(s->c, ft->ids + f->off, f->cnt, &f->ups, &f->nups, &f->urls,
                                     &f->nurls);
    } while (ret < 0 && cookie_refused(s, ret, f->error, sizeof f->error));
    if (ret < 0) {
        f->ret = ret;
        if (!f->error[0])
            snprintf(f->error, sizeof f->error, "%s", wsusss_client_error(s->c));
        return;
    }
    f->parsed = calloc(f->nups ? f->nups : 1, sizeof *f->parsed);
    f->parse_ret = calloc(f->nups ? f->nups : 1, sizeof *f->parse_ret);
    f->asked = calloc(f->nups ? f->nups : 1, sizeof *f->asked);
    if (!f->parsed || !f->parse_ret || !f->asked) {
        f->ret = -ENOMEM;
        snprintf(f->error, sizeof f->error, "SusDbError: out of memory");
        return;
    }
    for (size_t i = 0; i < f->nups; i++) {
        for (size_t k = 0; k < f->cnt && !f->asked[i]; k++)
            f->asked[i] = strcmp(ft->ids[f->off + k].id, f->ups[i].id.id) == 0 &&
                          ft->ids[f->off + k].revision == f->ups[i].id.revision;
        f->parse_ret[i] = -1;
        if (f->asked[i])
            f->parse_ret[i] = updxml_parse_fields(f->ups[i].xml, f->ups[i].xml_len, &f->parsed[i]);
    }
}

static void *fetch_main(void *arg)
{
    fetcher *ft = arg;
    size_t step = (size_t)ft->s->max_batch;
    for (size_t off = 0; off < ft->n; off += step) {
        pthread_mutex_lock(&ft->mu);
        while (ft->count == FETCH_AHEAD && !ft->quit)
            pthread_cond_wait(&ft->cv, &ft->mu);
        int quit = ft->quit;
        pthread_mutex_unlock(&ft->mu);
        if (quit)
            break;
        fetched *f = calloc(1, sizeof *f);
        if (f) {
            f->off = off;
            f->cnt = ft->n - off < step ? ft->n - off : step;
            fetch_batch(ft, f);
        }
        /* Once queued, f belongs to the storing thread: decide before. */
        int failed = !f || f->ret < 0;
        pthread_mutex_lock(&ft->mu);
        ft->q[(ft->head + ft->count) % FETCH_AHEAD] = f; /* NULL: out of memory */
        ft->count++;
        pthread_cond_broadcast(&ft->cv);
        pthread_mutex_unlock(&ft->mu);
        if (failed)
            break;
    }
    pthread_mutex_lock(&ft->mu);
    ft->done = 1;
    pthread_cond_broadcast(&ft->cv);
    pthread_mutex_unlock(&ft->mu);
    return NULL;
}

/* The next fetched batch, or NULL when the fetcher has finished. */
static fetched *fetch_next(fetcher *ft, int *end)
{
    fetched *f = NULL;
    pthread_mutex_lock(&ft->mu);
    while (ft->count == 0 && !ft->done)
        pthread_cond_wait(&ft->cv, &ft->mu);
    *end = ft->count == 0;
    if (ft->count) {
        f = ft->q[ft->head];
        ft->head = (ft->head + 1) % FETCH_AHEAD;
        ft->count--;
        pthread_cond_broadcast(&ft->cv);
    }
    pthread_mutex_unlock(&ft->mu);
    return f;
}

/* Store one fetched batch (in the current transaction). */
static int store_fetched(sync_run *r, fetched *f)
{
    int ret = 0;
    susdb_url *su = f->nurls ? calloc(f->nurls, sizeof *su) : NULL;
    if (f->nurls && !su) {
        snprintf(r->error, sizeof r->error, "SusDbError: out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < f->nurls; i++) {
        su[i].digest = f->urls[i].digest;
        su[i].url = f->urls[i].mu_url;
    }
    if ((ret = local_begin(r)) == 0) {
        for (size_t i = 0; i < f->nups && ret == 0; i++) {
            /* Only what was asked for, with the identity it was asked as. */
            if (!f->asked[i]) {
                r->n_bad++;
                log_msg("CatalogSyncAgent.ImportUpdate The upstream server sent update %s "
                        "revision %d, which was not asked for; it is ignored.",
                        f->ups[i].id.id, f->ups[i].id.revision);
                continue;
            }
            int pr = f->parse_ret[i];
            f->parse_ret[i] = -1; /* store_parsed frees it */
            ret = store_parsed(r, pr, &f->parsed[i], f->ups[i].xml, f->ups[i].xml_len,
                               &f->ups[i].id, su, f->nurls);
            if (ret < 0)
                db_failure(r, ret, "cannot store an update");
        }
        r->batch += (int)f->cnt;
        if (ret == 0 && r->batch >= COMMIT_EVERY)
            ret = local_commit(r);
    }
    free(su);
    return ret;
}

/* Fetch and store the missing revisions of ids, in batches. */
static int uss_fetch(uss_src *s, wsusss_identity *ids, size_t n)
{
    sync_run *r = s->r;
    fetcher ft = {.s = s, .ids = ids, .n = n};
    pthread_t th;
    int ret = 0, end = 0;
    if (!n)
        return local_commit(r);
    pthread_mutex_init(&ft.mu, NULL);
    pthread_cond_init(&ft.cv, NULL);
    if ((ret = pthread_create(&th, NULL, fetch_main, &ft)) != 0) {
        snprintf(r->error, sizeof r->error, "SusDbError: cannot start a thread");
        pthread_mutex_destroy(&ft.mu);
        pthread_cond_destroy(&ft.cv);
        return -ret;
    }
    for (;;) {
        if (stopping(r)) {
            r->canceled = 1;
            ret = 1;
            break;
        }
        fetched *f = fetch_next(&ft, &end);
        if (end)
            break;
        if (!f) {
            snprintf(r->error, sizeof r->error, "SusDbError: out of memory");
            ret = -ENOMEM;
            break;
        }
        if (f->ret < 0) {
            snprintf(r->error, sizeof r->error, "%s", f->error);
            ret = f->ret;
            fetched_free(f);
            break;
        }
        ret = store_fetched(r, f);
        size_t cnt = f->cnt;
        fetched_free(f);
        if (ret < 0)
            break;
        add_processed(r, (long long)cnt, 0);
    }
    /* Stop the fetcher and free what it fetched ahead. */
    pthread_mutex_lock(&ft.mu);
    ft.quit = 1;
    pthread_cond_broadcast(&ft.cv);
    pthread_mutex_unlock(&ft.mu);
    pthread_join(th, NULL);
    while (ft.count) {
        fetched_free(ft.q[ft.head]);
        ft.head = (ft.head + 1) % FETCH_AHEAD;
        ft.count--;
    }
    pthread_mutex_destroy(&ft.mu);
    pthread_cond_destroy(&ft.cv);
    if (ret < 0) {
        local_abort(r);
        return ret;
    }
    /* Done, or canceled: what is stored so far is whole. */
    int c = local_commit(r);
    return c < 0 ? c : ret;
}

/* Keep only the revisions not stored yet (what makes a retried sync resume). */
static int missing_only(sync_run *r, wsusss_identity *ids, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        int has = susdb_store_has(r->store, ids[i].id, ids[i].revision);
        if (has < 0)
            return db_failure(r, has, "cannot read the stored revisions");
        if (!has)
            ids[k++] = ids[i];
        else
            r->n_same++;
    }
    *n = k;
    return 0;
}

/* One pass: GetRevisionIdList with the filter, then the missing revisions. */
static int uss_pass(uss_src *s, wsusss_filter *f, const char *anchor_key, wsusapi_phase phase)
{
    sync_run *r = s->r;
    wsusss_identity *ids = NULL;
    size_t n = 0;
    char anchor[200];
    int ret;
    if (susdb_get(r->d, anchor_key, f->anchor, sizeof f->anchor) < 0)
        f->anchor[0] = '\0';
    do {
        ret = wsusss_get_revision_ids(s->c, f, anchor, sizeof anchor, &ids, &n);
    } while (ret < 0 && cookie_refused(s, ret, r->error, sizeof r->error));
    if (ret < 0)
        return r->error[0] ? ret : uss_fail(s, ret);
    size_t listed = n;
    if ((ret = missing_only(r, ids, &n)) < 0) {
        free(ids);
        return ret;
    }
    log_msg("CatalogSyncAgent.Sync Synchronizing %s: %zu new revision(s) of %zu listed by the "
            "upstream server",
            phase == WSUSAPI_PHASE_CATEGORIES ? "categories" : "updates", n, listed);
    set_phase(r, phase, (long long)n);
    ret = uss_fetch(s, ids, n);
    free(ids);
    if (ret != 0)
        return ret;
    /* The pass is complete: only now does the anchor move. */
    if ((ret = susdb_set(r->d, anchor_key, anchor)) < 0)
        return db_failure(r, ret, "cannot save the anchor");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A text that changes whenever what the update pass asks for changes. */
static void filter_key(sync_run *r, const int *langs, size_t nl, char *buf, size_t len)
{
    size_t used = 0;
    if (r->sub.nproducts)
        qsort(r->sub.product_ids, r->sub.nproducts, sizeof(char *), cmp_str);
    if (r->sub.nclassifications)
        qsort(r->sub.classification_ids, r->sub.nclassifications, sizeof(char *), cmp_str);
    used += (size_t)snprintf(buf + used, len - used, "r%d|p", r->cfg.replica_mode);
    for (size_t i = 0; i < r->sub.nproducts && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, ":%.8s", r->sub.product_ids[i]);
    for (size_t i = 0; i < r->sub.nclassifications && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, ":%.8s", r->sub.classification_ids[i]);
    for (size_t i = 0; i < nl && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "|%d", langs[i]);
}

static int sync_uss(sync_run *r, const soap_endpoint *ep, const char *url, int is_mu)
{
    uss_src s = {.r = r, .is_mu = is_mu};
    wsusss_config_data cd = {0};
    wsusss_filter f = {0};
    wsusss_language *langs = NULL;
    size_t nlangs = 0;
    char key[700], old[700], fkey[1200], ofkey[1200];
    int ret;

    snprintf(s.url, sizeof s.url, "%s", url);
    if ((ret = wsusss_client_new(&s.c, ep)) < 0) {
        snprintf(r->error, sizeof r->error,
                 "UssCommunicationError: WebException: Invalid URI: The hostname could not be "
                 "parsed.");
        return ret;
    }
    log_msg("CatalogSyncAgent.Sync Synchronizing from %s %s",
            is_mu ? "Microsoft Update" : "the upstream server", url);
    /* Anchors belong to one upstream: a new upstream starts from nothing. */
    snprintf(key, sizeof key, "%s", url);
    if (susdb_get(r->d, "UpstreamAnchorSource", old, sizeof old) < 0 || strcmp(old, key) != 0) {
        if ((ret = susdb_set(r->d, "UpstreamAnchorSource", key)) < 0 ||
            (ret = susdb_set(r->d, "UpstreamConfigAnchor", "")) < 0 ||
            (ret = susdb_set(r->d, "UpstreamCategoryAnchor", "")) < 0 ||
            (ret = susdb_set(r->d, "UpstreamSyncAnchor", "")) < 0) {
            ret = db_failure(r, ret, "cannot reset the anchors");
            goto done;
        }
    }
    if ((ret = uss_authorize(&s)) < 0)
        goto done;
    char canchor[200];
    if (susdb_get(r->d, "UpstreamConfigAnchor", canchor, sizeof canchor) < 0)
        canchor[0] = '\0';
    do {
        ret = wsusss_get_config(s.c, canchor, &cd);
    } while (ret < 0 && cookie_refused(&s, ret, r->error, sizeof r->error));
    if (ret < 0) {
        if (!r->error[0])
            uss_fail(&s, ret);
        goto done;
    }
    s.max_batch = cd.max_updates_per_request;

    /* Configuration pass: categories, classifications, detectoids. */
    f.get_config = 1;
    if ((ret = uss_pass(&s, &f, "UpstreamCategoryAnchor", WSUSAPI_PHASE_CATEGORIES)) != 0)
        goto done;

    /* Update pass, with the subscription (replicas take everything). */
    int *lcids = NULL;
    size_t nl = 0;
    if ((ret = susdb_languages(r->d, &langs, &nlangs)) < 0) {
        ret = db_failure(r, ret, "cannot read the languages");
        goto done;
    }
    if (!r->cfg.all_languages && nlangs) {
        lcids = calloc(nlangs, sizeof *lcids);
        if (!lcids) {
            ret = -ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < nlangs; i++)
            if (langs[i].enabled)
                lcids[nl++] = langs[i].id;
    }
    memset(&f, 0, sizeof f);
    f.get_config = 0;
    f.delta = 1;
    f.languages = lcids;
    f.nlanguages = nl;
    if (!r->cfg.replica_mode) {
        if (r->sub.nproducts) {
            f.categories = calloc(r->sub.nproducts, sizeof *f.categories);
            for (size_t i = 0; f.categories && i < r->sub.nproducts; i++)
                snprintf(f.categories[i], 37, "%s", r->sub.product_ids[i]);
            f.ncategories = f.categories ? r->sub.nproducts : 0;
        }
        if (r->sub.nclassifications) {
            f.classifications = calloc(r->sub.nclassifications, sizeof *f.classifications);
            for (size_t i = 0; f.classifications && i < r->sub.nclassifications; i++)
                snprintf(f.classifications[i], 37, "%s", r->sub.classification_ids[i]);
            f.nclassifications = f.classifications ? r->sub.nclassifications : 0;
        }
    }
    /* A changed filter asks again from the start (what was stored is skipped). */
    filter_key(r, lcids, nl, fkey, sizeof fkey);
    if (susdb_get(r->d, "UpstreamFilter", ofkey, sizeof ofkey) < 0 || strcmp(ofkey, fkey) != 0) {
        if ((ret = susdb_set(r->d, "UpstreamSyncAnchor", "")) < 0 ||
            (ret = susdb_set(r->d, "UpstreamFilter", fkey)) < 0) {
            wsusss_filter_free(&f);
            ret = db_failure(r, ret, "cannot reset the anchors");
            goto done;
        }
    }
    if (is_mu && !r->sub.nproducts && !r->sub.nclassifications) {
        /* Microsoft Update would send everything it has: subscribe first. */
        log_msg("CatalogSyncAgent.Sync No products or classifications are subscribed; only "
                "categories were synchronized from Microsoft Update.");
        ret = 0;
    } else {
        ret = uss_pass(&s, &f, "UpstreamSyncAnchor", WSUSAPI_PHASE_UPDATES);
    }
    wsusss_filter_free(&f);
    if (ret == 0 && (ret = susdb_set(r->d, "UpstreamConfigAnchor", cd.new_config_anchor)) < 0)
        ret = db_failure(r, ret, "cannot save the anchor");
done:
    free(langs);
    wsusss_config_data_free(&cd);
    wsusss_client_free(s.c);
    return r->canceled ? 1 : ret;
}

/* The endpoint of the configured upstream or Microsoft Update URL. */
static int endpoint_for(sync_run *r, soap_endpoint *ep, char *host, size_t hlen, char *url,
                        size_t ulen, char *proxy, size_t plen, char *proxy_user, size_t pulen,
                        char *user, char *password, int *is_mu)
{
    wsusapi_config *c = &r->cfg;
    memset(ep, 0, sizeof *ep);
    *is_mu = c->source == WSUSAPI_SOURCE_MU;
    if (*is_mu) {
        const char *u = c->mu_url;
        int ssl = strncasecmp(u, "https://", 8) == 0;
        if (!ssl && strncasecmp(u, "http://", 7) != 0)
            return CM_EPARSE;
        const char *h = u + (ssl ? 8 : 7);
        size_t hl = strcspn(h, ":/");
        if (!hl || hl >= hlen)
            return CM_EPARSE;
        memcpy(host, h, hl);
        host[hl] = '\0';
        ep->port = ssl ? 443 : 80;
        if (h[hl] == ':')
            ep->port = atoi(h + hl + 1);
        ep->use_ssl = ssl;
    } else {
        snprintf(host, hlen, "%s", c->upstream_server);
        ep->port = c->upstream_port;
        ep->use_ssl = c->upstream_ssl;
    }
    if (ep->port < 1 || ep->port > 65535)
        return CM_ERANGE;
    ep->host = host;
    snprintf(url, ulen, "%s://%s:%d", ep->use_ssl ? "https" : "http", host, ep->port);
    if (c->use_proxy && c->proxy_name[0]) {
        snprintf(proxy, plen, "%s:%d", c->proxy_name, c->proxy_port);
        ep->proxy = proxy;
        if (c->proxy_user[0]) {
            snprintf(proxy_user, pulen, "%s%s%s:%s", c->proxy_domain,
                     c->proxy_domain[0] ? "\\" : "", c->proxy_user, c->proxy_password);
            ep->proxy_user = proxy_user;
        }
    }
    /* Lab settings: credentials for an upstream that requires them, TLS trust. */
    if (susdb_get(r->d, "UpstreamAccountName", user, 256) == 0 && user[0]) {
        if (susdb_get(r->d, "UpstreamAccountPassword", password, 256) < 0)
            password[0] = '\0';
        ep->user = user;
        ep->password = password;
    }
    ep->timeout_s = (long)susdb_get_int(r->d, "UpstreamTimeoutSeconds", 120);
    ep->connect_timeout_s = 15;
    ep->insecure = (int)susdb_get_int(r->d, "UpstreamSkipCertificateCheck", 0);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The sync thread                                                     */
/* ------------------------------------------------------------------ */

static void cycle_found(void *ud, const char *kind, const char *from, const char *to)
{
    (void)ud;
    log_msg("CatalogSyncAgent.Sync A %s cycle was found: update %s leads back to itself through "
            "update %s; that relation is ignored.",
            kind, to, from);
}

static int run_source(sync_run *r)
{
    soap_endpoint ep;
    char host[256], url[600], proxy[300], proxy_user[800], user[256], password[256];
    int is_mu, ret;
    if (r->cfg.source == WSUSAPI_SOURCE_OFFLINE)
        return sync_offline(r);
    if (r->cfg.source == WSUSAPI_SOURCE_MU && strncmp(r->cfg.mu_url, "generated:", 10) == 0)
        return sync_generated(r);
    if ((ret = endpoint_for(r, &ep, host, sizeof host, url, sizeof url, proxy, sizeof proxy,
                            proxy_user, sizeof proxy_user, user, password, &is_mu)) < 0) {
        snprintf(r->error, sizeof r->error,
                 "UssCommunicationError: WebException: Invalid URI: The hostname could not be "
                 "parsed.");
        return ret;
    }
    return sync_uss(r, &ep, url, is_mu);
}

static void *sync_main(void *arg)
{
    sync_run *r = arg;
    wsusd *w = r->w;
    wsusapi_sync_info info = {0};
    int ret;

    info.start_time = time(NULL);
    if ((ret = db_open(&r->d, w->conn)) < 0 || (ret = susdb_tune(r->d)) < 0) {
        snprintf(r->error, sizeof r->error, "SusDbError: cannot connect to the WSUS database: %s",
                 r->d ? db_errmsg(r->d) : cm_strerror(ret));
        db_close(r->d);
        r->d = NULL;
    }
    events_report(r->d, r->manual ? EVENT_SYNC_MANUAL : EVENT_SYNC_SCHEDULED, "Information",
                  "Synchronization",
                  r->manual ? "A manual synchronization was started."
                            : "A scheduled synchronization was started.");
    if (r->d) {
        if ((ret = susdb_config_load(r->d, &r->cfg)) < 0 ||
            (ret = susdb_subscription_load(r->d, &r->sub)) < 0 ||
            (ret = susdb_store_open(&r->store, r->d)) < 0)
            db_failure(r, ret, "cannot read the configuration");
        else
            ret = run_source(r);
        susdb_store_close(r->store);
        r->store = NULL;
        if (ret == 0) {
            int removed = susdb_break_cycles(r->d, cycle_found, r);
            if (removed < 0)
                ret = db_failure(r, removed, "cannot check supersedence and bundles");
        }
    } else {
        ret = CM_EDBCONN;
    }

    info.end_time = time(NULL);
    info.new_updates = r->n_new;
    info.revised_updates = r->n_revised;
    info.expired_updates = r->n_expired;
    log_msg("CatalogSyncAgent.Sync %lld new, %lld revised, %lld unchanged, %lld refused, %lld "
            "outside the subscription",
            r->n_new, r->n_revised, r->n_same, r->n_bad, r->n_filtered);
    if (ret == 0 && !r->canceled) {
        info.result = WSUSAPI_RESULT_SUCCEEDED;
        events_report(r->d, EVENT_SYNC_SUCCEEDED, "Information", "Synchronization",
                      "Synchronization completed successfully.");
        log_msg("CatalogSyncAgent.SetSubscriptionStateWithRetry Firing event SyncFinish...");
    } else if (r->canceled) {
        info.result = WSUSAPI_RESULT_CANCELED;
        snprintf(info.error, sizeof info.error, "The synchronization was canceled.");
        events_report(r->d, EVENT_SYNC_CANCELED, "Warning", "Synchronization",
                      "Synchronization was canceled.");
    } else {
        char msg[1200];
        info.result = WSUSAPI_RESULT_FAILED;
        if (!r->error[0])
            snprintf(r->error, sizeof r->error, "UssCommunicationError: %s", cm_strerror(ret));
        snprintf(info.error, sizeof info.error, "%s", r->error);
        snprintf(msg, sizeof msg, "Synchronization failed. Reason: %s", r->error);
        events_report(r->d, EVENT_SYNC_FAILED, "Error", "Synchronization", msg);
    }
    if (r->d && (ret = susdb_last_sync_save(r->d, &info)) < 0)
        log_msg("Cannot record the outcome of the synchronization: %s", db_errmsg(r->d));

    pthread_mutex_lock(&w->lock);
    w->st.running = 0;
    w->st.stop_requested = 0;
    w->st.phase = WSUSAPI_PHASE_NOT_PROCESSING;
    pthread_mutex_unlock(&w->lock);

    wsusapi_subscription_free(&r->sub);
    free(r->prod);
    free(r->cls);
    db_close(r->d);
    free(r);
    return NULL;
}

void sync_join(wsusd *w)
{
    pthread_mutex_lock(&w->lock);
    int live = w->sync_thread_live;
    w->sync_thread_live = 0;
    pthread_mutex_unlock(&w->lock);
    if (live)
        pthread_join(w->sync_thread, NULL);
}

int sync_start(wsusd *w, int manual)
{
    sync_run *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->w = w;
    r->manual = manual;
    pthread_mutex_lock(&w->lock);
    if (w->st.running) {
        pthread_mutex_unlock(&w->lock);
        free(r);
        return 1;
    }
    /* A finished thread no longer takes the lock: joining it here is safe. */
    if (w->sync_thread_live)
        pthread_join(w->sync_thread, NULL);
    w->sync_thread_live = 0;
    memset(&w->st, 0, sizeof w->st);
    w->st.running = 1;
    w->st.manual = manual;
    w->st.phase = WSUSAPI_PHASE_CATEGORIES;
    int ret = pthread_create(&w->sync_thread, NULL, sync_main, r);
    if (ret == 0)
        w->sync_thread_live = 1;
    else
        w->st.running = 0;
    pthread_mutex_unlock(&w->lock);
    if (ret != 0) {
        free(r);
        return -ret;
    }
    return 0;
}

time_t sync_next_scheduled(const wsusapi_subscription *sub, time_t after)
{
    if (!sub->sync_automatically || sub->syncs_per_day < 1)
        return 0;
    long interval = 86400L / sub->syncs_per_day;
    time_t day = after - (after % 86400);
    time_t t0 = day + (sub->time_of_day_s % interval);
    if (after < t0)
        return t0;
    return t0 + ((after - t0) / interval + 1) * interval;
}
