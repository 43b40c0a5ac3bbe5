/*
 * sitedb_write.c - benchmark of the site-database writer of wsyncmgr alone:
 * a generated catalog (100,000 updates by default) written as
 * configuration items through wsyncmgr's sitedb, in one transaction, with
 * no SUP, HTTP or SOAP in the way.  Generating and parsing the updates is
 * done between the timed calls, so what is printed is the writer's own
 * cost: wall time and CPU time of the thread (the figure that stays steady
 * on a shared machine), updates per second, and the commit.  It tells how
 * much of bench/sync's site phase is the database, and lets a change to
 * the writer be measured without the rest of the sync.
 *
 *   sitedb_write [--updates N] [--db CONNECTION]   (or CM_TEST_DB; default a new SQLite file)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog_gen.h"
#include "db.h"
#include "lang.h"
#include "schema.h"
#include "sitedb.h"
#include "sync.h"
#include "updxml.h"

#define BATCH 100

typedef struct run {
    db *d;
    sitedb *w;
    int categories_done;
    updxml_update parsed[BATCH];
    char *xml[BATCH];
    sitedb_item items[BATCH];
    size_t n;
    double wall, cpu;
    long updates;
    int err;
} run;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run one sitedb call between the clocks. */
#define TIMED(r, call)                                                                             \
    do {                                                                                           \
        double w0_ = clock_s(CLOCK_MONOTONIC), c0_ = clock_s(CLOCK_THREAD_CPUTIME_ID);             \
        int rc_ = (call);                                                                          \
        (r)->wall += clock_s(CLOCK_MONOTONIC) - w0_;                                               \
        (r)->cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0_;                                        \
        if (rc_ < 0 && !(r)->err) {                                                                \
            fprintf(stderr, "sitedb_write: %s: %s\n", #call, db_errmsg((r)->d));                   \
            (r)->err = rc_;                                                                        \
        }                                                                                          \
    } while (0)

static void flush(run *r)
{
    if (r->n)
        TIMED(r, sitedb_updates(r->w, r->items, r->n, NULL, 0));
    for (size_t i = 0; i < r->n; i++) {
        updxml_free(&r->parsed[i]);
        free(r->xml[i]);
    }
    r->n = 0;
}

static int on_update(void *ud, const updxml_update *u, long long rid)
{
    run *r = ud;
    char *xml;
    size_t len;
    (void)rid;
    if (r->err)
        return 1;
    /* The writer gets what a sync hands it: the XML and its parse. */
    if (updxml_write(u, &xml, &len) < 0)
        return 1;
    if (u->type == UPDXML_TYPE_CATEGORY) {
        updxml_update c;
        if (updxml_parse(xml, len, &c) < 0) {
            free(xml);
            return 1;
        }
        TIMED(r, sitedb_category(r->w, &c));
        updxml_free(&c);
        free(xml);
        return 0;
    }
    if (!r->categories_done) {
        TIMED(r, sitedb_categories_done(r->w));
        r->categories_done = 1;
    }
    if (updxml_parse(xml, len, &r->parsed[r->n]) < 0) {
        free(xml);
        return 1;
    }
    r->xml[r->n] = xml;
    r->items[r->n].u = &r->parsed[r->n];
    r->items[r->n].xml = xml;
    r->items[r->n].xml_len = len;
    r->n++;
    r->updates++;
    if (r->n == BATCH)
        flush(r);
    return 0;
}

int main(int argc, char **argv)
{
    long updates = 100000;
    const char *conn = getenv("CM_TEST_DB");
    char dir[PATH_MAX] = "", cs[PATH_MAX + 64];
    const char *failed = NULL;
    run r = {0};
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--updates") && i + 1 < argc)
            updates = atol(argv[++i]);
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            conn = argv[++i];
        else {
            fprintf(stderr, "usage: sitedb_write [--updates N] [--db CONNECTION]\n");
            return 2;
        }
    }
    if (!conn || !*conn) {
        snprintf(dir, sizeof dir, "%s/cmbench-sitedb.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
            return 1;
        snprintf(cs, sizeof cs, "Driver=SQLite3;Database=%s/site.db", dir);
        conn = cs;
    }
    if (db_open(&r.d, conn) < 0 || schema_apply(r.d, &failed) < 0) {
        fprintf(stderr, "sitedb_write: %s: %s\n", failed ? failed : "connect", db_errmsg(r.d));
        goto out;
    }
    /* The connection settings of wsyncmgr's sync job. */
    sync_connection_tune(r.d);
    db_exec(r.d, "DELETE FROM CI_ConfigurationItems");
    lang_set langs;
    size_t unknown = 0;
    lang_parse("en", &langs, &unknown);
    sitedb_options o = {
        .site = "CS1", .source_id = 1, .langs = &langs, .new_version = 1, .now = time(NULL)};
    if (db_begin(r.d) < 0 || sitedb_begin(&r.w, r.d, &o) < 0) {
        fprintf(stderr, "sitedb_write: begin: %s\n", db_errmsg(r.d));
        goto out;
    }
    catalog_gen_options g = {.updates = updates, .seed = 1, .languages = "en"};
    if (catalog_gen_each(&g, on_update, &r) != 0 || r.err) {
        fprintf(stderr, "sitedb_write: generating or writing the updates failed\n");
        goto out;
    }
    flush(&r);
    TIMED(&r, sitedb_finish(r.w));
    double c0 = clock_s(CLOCK_MONOTONIC);
    if (r.err || db_commit(r.d) < 0) {
        fprintf(stderr, "sitedb_write: %s\n", db_errmsg(r.d));
        goto out;
    }
    double commit = clock_s(CLOCK_MONOTONIC) - c0;
    const sitedb_stats *st = sitedb_get_stats(r.w);
    printf("site-database writer alone (wsyncmgr sitedb), %s, %ld generated updates\n",
           db_dialect_name(db_get_dialect(r.d)), r.updates);
    printf("  written:     %ld new, %ld superseded, %ld files\n", st->inserted,
           st->newly_superseded, st->files);
    printf("  writing:     %.2f s wall, %.2f s CPU of the thread (%.0f updates/s of CPU)\n", r.wall,
           r.cpu, r.cpu > 0 ? (double)r.updates / r.cpu : 0);
    printf("  commit:      %.2f s\n", commit);
    rc = 0;
out:
    sitedb_free(r.w);
    db_close(r.d);
    if (dir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "sitedb_write: could not remove %s\n", dir);
    }
    return rc;
}
