/*
 * test_wsyncmgr.c - unit tests of WSUS Synchronization Manager's pure
 * parts, on a real site database (SQLite in a temporary folder, or the
 * PostgreSQL server of tests/with-postgres.sh through $CM_TEST_DB):
 * languages, request files and sync times, the sync state rules and the
 * content version, the multi-row writer, the site-database phase against a
 * generated catalog (inserted, unchanged, revised, expired, superseded,
 * bundles, full rewrite, rollback), and the expired-update maintenance.
 *
 *   wsyncmgr-unit [GROUP]   GROUP: lang trigger syncstate sitedb maint (all by default)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "catalog_gen.h"
#include "cimap.h"
#include "cm_error.h"
#include "db.h"
#include "lang.h"
#include "maint.h"
#include "schema.h"
#include "sitedb.h"
#include "sitephase.h"
#include "syncstate.h"
#include "testutil.h"
#include "trigger.h"
#include "updxml.h"

/* ------------------------------------------------------------------ */
/* Fixture: a site database with one site, one SUP, one update source   */
/* ------------------------------------------------------------------ */

typedef struct fx {
    char dir[512];
    db *d;
    sync_source src;
} fx;

static const char *const wipe[] = {
    "DELETE FROM CI_ConfigurationItems",
    "DELETE FROM CI_UpdateInfo",
    "DELETE FROM CI_LocalizedProperties",
    "DELETE FROM CI_CategoryInstances",
    "DELETE FROM CI_LocalizedCategoryInstances",
    "DELETE FROM CI_CategoryMemberships",
    "DELETE FROM CI_ConfigurationItemRelations",
    "DELETE FROM CI_CIUpdateSources",
    "DELETE FROM CI_Contents",
    "DELETE FROM CI_ContentFiles",
    "DELETE FROM CI_ConfigurationItemContents",
    "DELETE FROM CI_ContentPackages",
    "DELETE FROM CI_CIAssignments",
    "DELETE FROM CI_AssignmentTargetedCIs",
    "DELETE FROM CI_AssignmentTargetedGroups",
    "DELETE FROM Update_SyncStatus",
    "DELETE FROM CI_UpdateSources",
    "DELETE FROM WSUSServerLocations",
    "DELETE FROM SoftwareUpdatePoints",
    "DELETE FROM SiteControl",
    "DELETE FROM Update_SyncAnchors",
    "DELETE FROM TableChangeNotifications",
};

static void exec_ok(db *d, const char *sql)
{
    if (db_exec(d, sql) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
}

static long long q(db *d, const char *sql)
{
    long long v = -1;
    if (db_query_int(d, sql, NULL, NULL, &v) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    return v;
}

static long long q1(db *d, const char *sql, const char *p)
{
    long long v = -1;
    if (db_query_int(d, sql, p, NULL, &v) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    return v;
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char conn[1024];
    const char *failed = NULL;
    assert_non_null(f);
    assert_int_equal(tu_mkdtemp(f->dir, sizeof f->dir), 0);
    tu_test_connstr(conn, sizeof conn, f->dir);
    if (db_open(&f->d, conn) < 0)
        fail_msg("db_open: %s", db_errmsg(f->d));
    if (schema_apply(f->d, &failed) < 0)
        fail_msg("schema_apply (%s): %s", failed, db_errmsg(f->d));
    for (size_t i = 0; i < sizeof wipe / sizeof wipe[0]; i++)
        exec_ok(f->d, wipe[i]);
    exec_ok(f->d, "INSERT INTO SiteControl (SiteCode, SiteName, SiteType, ServerName) "
                  "VALUES ('CS1', 'Central', 'CAS', 'CS1SITE.CONTOSO.COM')");
    exec_ok(f->d, "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, InstallOrder, "
                  "WCMConfigState) VALUES ('CS1', 'CS1SITE.CONTOSO.COM', 1, 2)");
    exec_ok(f->d, "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, InstallOrder, UseSSL) "
                  "VALUES ('CS1', 'CS1SUP2.CONTOSO.COM', 2, 1)");
    exec_ok(f->d,
            "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, UpdateSourceName, "
            "SourceSite, ContentVersion) VALUES "
            "('{C2D17964-BBDD-4339-B9F3-12D7205B39CC}', 'WSUS Enterprise Server', 'CS1', 33)");
    long long sid = q(f->d, "SELECT MAX(UpdateSource_ID) FROM CI_UpdateSources");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID, WSUSServerName, "
             "ContentVersion, SyncCatalogVersion) VALUES ('CS1', %lld, 'CS1SITE.CONTOSO.COM', 33, "
             "33)",
             sid);
    exec_ok(f->d, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO WSUSServerLocations (UpdateSource_ID, SiteCode, ServerName, WSUSURL, "
             "ContentVersion) VALUES (%lld, 'CS1', 'CS1SITE.CONTOSO.COM', "
             "'http://CS1SITE.CONTOSO.COM:8530', 33)",
             sid);
    exec_ok(f->d, sql);
    exec_ok(f->d, "DELETE FROM TableChangeNotifications");
    assert_int_equal(syncstate_source(f->d, "CS1", &f->src), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    db_close(f->d);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */
/* lang                                                                */
/* ------------------------------------------------------------------ */

static void test_lang_parse(void **state)
{
    lang_set s;
    size_t unknown = 0;
    (void)state;
    assert_int_equal(lang_parse(" en, DE ,fr,en,xx,zh-TW", &s, &unknown), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.name[0], "en");
    assert_int_equal(s.lcid[0], 1033);
    assert_string_equal(s.name[1], "de");
    assert_int_equal(s.lcid[1], 1031);
    assert_int_equal(s.lcid[2], 1036);
    assert_string_equal(s.name[3], "zh-tw");
    assert_int_equal(s.lcid[3], 1028);
    assert_int_equal(unknown, 1);
    assert_int_equal(lang_find(&s, "FR"), 2);
    assert_int_equal(lang_find(&s, "ja"), -1);
    /* Nothing valid: English. */
    assert_int_equal(lang_parse("klingon,,", &s, &unknown), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.lcid[0], 1033);
    assert_int_equal(lang_lcid("ja"), 1041);
    assert_int_equal(lang_lcid("verylonglanguagename"), 0);
    assert_int_equal(lang_lcid(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* trigger                                                             */
/* ------------------------------------------------------------------ */

static void test_trigger_classify(void **state)
{
    char site[8], why[256];
    (void)state;
    assert_int_equal(trigger_classify("SELF.SYN", "CS1", "", site, why, sizeof why), TRIGGER_LOCAL);
    assert_int_equal(trigger_classify("self.syn", "CS1", "", site, why, sizeof why), TRIGGER_LOCAL);
    assert_int_equal(trigger_classify("FULL.SYN", "CS1", "", site, why, sizeof why), TRIGGER_FULL);
    assert_int_equal(trigger_classify("CS1.SYN", "PS1", "CS1", site, why, sizeof why),
                     TRIGGER_PARENT);
    assert_string_equal(site, "CS1");
    assert_int_equal(trigger_classify("cs1.syn", "PS1", "CS1", site, why, sizeof why),
                     TRIGGER_PARENT);
    /* A top-level site has no parent to hear from. */
    assert_int_equal(trigger_classify("TEQ.SYN", "CS1", "", site, why, sizeof why), TRIGGER_BAD);
    assert_non_null(strstr(why, "no parent site"));
    assert_int_equal(trigger_classify("PS2.SYN", "SS1", "PS1", site, why, sizeof why), TRIGGER_BAD);
    assert_non_null(strstr(why, "not the parent site PS1"));
    assert_int_equal(trigger_classify("hello world.SYN", "CS1", "", site, why, sizeof why),
                     TRIGGER_BAD);
    assert_int_equal(trigger_classify("SELF.TXT", "CS1", "", site, why, sizeof why), TRIGGER_BAD);
    assert_int_equal(trigger_classify(".SYN", "CS1", "", site, why, sizeof why), TRIGGER_BAD);
    assert_int_equal(trigger_classify("ABCDEFGHIJ.SYN", "CS1", "CS1", site, why, sizeof why),
                     TRIGGER_BAD);
}

static void test_trigger_times(void **state)
{
    trigger_state s = {0};
    int retry = 0;
    (void)state;
    s.origin = 1000000;
    /* Never synced: the schedule counts from the start. */
    assert_int_equal(trigger_next_regular(&s, 60), 1000000 + 3600);
    assert_int_equal(trigger_next_regular(&s, 0), 0);
    assert_int_equal(trigger_next_retry(&s, 60), 0);
    s.last_sync = 2000000;
    assert_int_equal(trigger_next(&s, 10080, 60, &retry), 2000000 + 10080 * 60);
    assert_int_equal(retry, 0);
    /* After a failure the retry comes first. */
    s.last_fail = 2000000;
    assert_int_equal(trigger_next(&s, 10080, 60, &retry), 2000000 + 3600);
    assert_int_equal(retry, 1);
    /* ... unless the regular sync is due earlier. */
    assert_int_equal(trigger_next(&s, 30, 60, &retry), 2000000 + 1800);
    assert_int_equal(retry, 0);
    assert_int_equal(trigger_next(&s, 0, 0, &retry), 0);
    /* The "Waiting N minutes" figure after a 3 second failed sync with a 60 minute retry. */
    assert_int_equal(trigger_minutes_until(2000000 + 3600, 2000000 + 3), 60);
    assert_int_equal(trigger_minutes_until(2000000 + 3600, 2000000 + 90), 59);
    assert_int_equal(trigger_minutes_until(5, 10), 0);
    char t[64];
    trigger_time_text(0, t, sizeof t);
    assert_non_null(strstr(t, "M")); /* "1/1/1970 12:00:00 AM" in UTC */
    assert_non_null(strchr(t, '/'));
}

/* ------------------------------------------------------------------ */
/* syncstate                                                           */
/* ------------------------------------------------------------------ */

static void test_syncstate_sups(void **state)
{
    fx *f = *state;
    sync_sup sups[4];
    size_t n = 0;
    char url[256];
    assert_int_equal(syncstate_sups(f->d, "CS1", sups, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(sups[0].server, "CS1SITE.CONTOSO.COM");
    assert_int_equal(sups[0].wcm_state, 2);
    assert_int_equal(sups[1].wcm_state, 0);
    syncstate_sup_url(&sups[0], url, sizeof url);
    assert_string_equal(url, "http://CS1SITE.CONTOSO.COM:8530");
    syncstate_sup_url(&sups[1], url, sizeof url);
    assert_string_equal(url, "https://CS1SUP2.CONTOSO.COM:8531");
    /* First installed first, whatever the insert order. */
    exec_ok(f->d, "UPDATE SoftwareUpdatePoints SET InstallOrder = 0 "
                  "WHERE ServerName = 'CS1SUP2.CONTOSO.COM'");
    assert_int_equal(syncstate_sups(f->d, "CS1", sups, 4, &n), 0);
    assert_string_equal(sups[0].server, "CS1SUP2.CONTOSO.COM");
    assert_int_equal(syncstate_sups(f->d, "XX1", sups, 4, &n), 0);
    assert_int_equal(n, 0);
}

static void test_syncstate_states(void **state)
{
    fx *f = *state;
    sync_source s;
    assert_int_equal(f->src.content_version, 33);
    assert_string_equal(f->src.unique_id, "{C2D17964-BBDD-4339-B9F3-12D7205B39CC}");
    assert_int_equal(syncstate_set_state(f->d, &f->src, SYNC_STATE_FAILED, 1400000000,
                                         SYNC_ERROR_E_FAIL,
                                         "Unable to connect to the remote server",
                                         "Microsoft.UpdateServices.Administration.AdminProxy."
                                         "CreateUpdateServer"),
                     0);
    assert_int_equal(q(f->d, "SELECT LastSyncState FROM v_SUPSyncStatus"), 6703);
    assert_int_equal(q(f->d, "SELECT LastSyncErrorCode FROM v_SUPSyncStatus"), -2147467259LL);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM v_SUPSyncStatus WHERE LastSyncErrorMessage = "
                             "'Unable to connect to the remote server'"),
                     1);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM v_SUPSyncStatus WHERE LastSuccessfulSyncTime "
                             "IS NULL AND LastSyncTime IS NOT NULL"),
                     1);
    assert_int_equal(syncstate_source(f->d, "CS1", &s), 0);
    assert_int_equal(s.last_state, 6703);
    assert_int_equal(s.last_state_time, 1400000000);
    /* A new sync clears the error; the phases move the state along. */
    assert_int_equal(
        syncstate_set_state(f->d, &f->src, SYNC_STATE_STARTED, 1400000100, 0, NULL, NULL), 0);
    assert_int_equal(q(f->d, "SELECT LastSyncErrorCode FROM v_SUPSyncStatus"), 0);
    assert_int_equal(
        q(f->d, "SELECT COUNT(*) FROM v_SUPSyncStatus WHERE LastSyncErrorMessage IS NULL"), 1);
    assert_int_equal(
        syncstate_set_state(f->d, &f->src, SYNC_STATE_SITE_DB, 1400000200, 0, NULL, NULL), 0);
    assert_int_equal(q(f->d, "SELECT LastSyncState FROM v_SUPSyncStatus"), 6705);
    assert_int_equal(syncstate_set_state(f->d, &f->src, SYNC_STATE_DONE, 1400000300, 0, NULL, NULL),
                     0);
    assert_int_equal(syncstate_source(f->d, "CS1", &s), 0);
    assert_int_equal(s.last_state, 6702);
    assert_int_equal(s.last_sync_time, 1400000300);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM v_SUPSyncStatus WHERE LastSuccessfulSyncTime "
                             "IS NOT NULL"),
                     1);
}

static void test_syncstate_content_version(void **state)
{
    fx *f = *state;
    sync_sup sups[4];
    size_t n = 0;
    assert_int_equal(syncstate_sups(f->d, "CS1", sups, 4, &n), 0);
    /* A server that was a SUP once and is no longer. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO WSUSServerLocations (UpdateSource_ID, SiteCode, ServerName, WSUSURL, "
             "ContentVersion) VALUES (%lld, 'CS1', 'OLDSUP.CONTOSO.COM', 'http://OLDSUP:8530', 33)",
             f->src.source_id);
    exec_ok(f->d, sql);
    /* spProcessSUMSyncStateMessage: all three tables, one version. */
    assert_int_equal(syncstate_set_content_version(f->d, &f->src, 34, 1400000000, &sups[0]), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM WSUSServerLocations WHERE ServerName = "
                             "'OLDSUP.CONTOSO.COM'"),
                     0);
    assert_int_equal(q(f->d, "SELECT ContentVersion FROM Update_SyncStatus"), 34);
    assert_int_equal(q(f->d, "SELECT SyncCatalogVersion FROM Update_SyncStatus"), 34);
    assert_int_equal(q(f->d, "SELECT ContentVersion FROM CI_UpdateSources"), 34);
    assert_int_equal(q(f->d, "SELECT ContentVersion FROM WSUSServerLocations WHERE ServerName = "
                             "'CS1SITE.CONTOSO.COM'"),
                     34);
    /* The content version change is what smsdbmon turns into the .STN file. */
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM TableChangeNotifications WHERE "
                             "NotificationName = 'UpdSyncStatus_iu' AND KeyValue = "
                             "'{C2D17964-BBDD-4339-B9F3-12D7205B39CC}'"),
                     1);
    /* The same version again changes nothing a client sees and notifies nobody. */
    assert_int_equal(syncstate_set_content_version(f->d, &f->src, 34, 1400000100, &sups[0]), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM TableChangeNotifications WHERE "
                             "NotificationName = 'UpdSyncStatus_iu'"),
                     1);
    /* A replica gets its own location row when it has synced. */
    assert_int_equal(syncstate_set_location_version(f->d, &f->src, 34, &sups[1]), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM WSUSServerLocations WHERE ServerName = "
                             "'CS1SUP2.CONTOSO.COM' AND ContentVersion = 34 AND WSUSURL = "
                             "'https://CS1SUP2.CONTOSO.COM:8531'"),
                     1);
    /* The time helpers. */
    char t[32];
    syncstate_time_text(1389898426, t, sizeof t);
    assert_string_equal(t, "2014-01-16 18:53:46");
    assert_int_equal(syncstate_time_parse("2014-01-16 18:53:46.123"), 1389898426);
    assert_int_equal(syncstate_time_parse("2014-01-16T18:53:46"), 1389898426);
    assert_int_equal(syncstate_time_parse(""), 0);
    syncstate_duration_text(233, t, sizeof t);
    assert_string_equal(t, "0d00h03m53s");
    syncstate_duration_text(90061, t, sizeof t);
    assert_string_equal(t, "1d01h01m01s");
}

/* ------------------------------------------------------------------ */
/* sitedb against a generated catalog                                  */
/* ------------------------------------------------------------------ */

typedef struct doc {
    char *xml;
    size_t len;
    updxml_update u;
} doc;

typedef struct cat {
    doc *v;
    size_t n, cap;
    size_t ncats;
} cat;

static int collect(void *ud, const updxml_update *u, long long rid)
{
    cat *c = ud;
    (void)rid;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    doc *d = &c->v[c->n];
    assert_int_equal(updxml_write(u, &d->xml, &d->len), 0);
    assert_int_equal(updxml_parse(d->xml, d->len, &d->u), 0);
    if (u->type == UPDXML_TYPE_CATEGORY)
        c->ncats++;
    c->n++;
    return 0;
}

static void cat_make(cat *c, long updates, uint64_t seed)
{
    catalog_gen_options o = {0};
    memset(c, 0, sizeof *c);
    o.updates = updates;
    o.seed = seed;
    o.languages = "en,de,fr";
    assert_int_equal(catalog_gen_each(&o, collect, c), 0);
}

static void cat_free(cat *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].xml);
        updxml_free(&c->v[i].u);
    }
    free(c->v);
}

/* Replace document i by a new revision (optionally expired). */
static void cat_revise(cat *c, size_t i, int expire)
{
    doc *d = &c->v[i];
    d->u.revision++;
    if (expire) {
        d->u.expired = 1;
        free(d->u.publication_state);
        d->u.publication_state = strdup("Expired");
    }
    free(d->xml);
    assert_int_equal(updxml_write(&d->u, &d->xml, &d->len), 0);
}

typedef struct run_out {
    long changed;
    sitedb_stats st;
} run_out;

/* One site-database phase over the whole catalog, committed (or rolled back). */
static void run_phase(fx *f, cat *c, const char *langs, int full, int commit, run_out *out)
{
    lang_set ls;
    sitedb *w = NULL;
    assert_int_equal(lang_parse(langs, &ls, NULL), 0);
    sitedb_options o = {.site = "CS1",
                        .source_id = f->src.source_id,
                        .langs = &ls,
                        .full = full,
                        .new_version = 34,
                        .now = 1400000000};
    assert_int_equal(db_begin(f->d), 0);
    if (sitedb_begin(&w, f->d, &o) < 0)
        fail_msg("sitedb_begin: %s", db_errmsg(f->d));
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].u.type == UPDXML_TYPE_CATEGORY)
            assert_int_equal(sitedb_category(w, &c->v[i].u), 0);
    assert_int_equal(sitedb_categories_done(w), 0);
    size_t i = c->ncats;
    while (i < c->n) {
        sitedb_item items[37];
        size_t k = 0;
        for (; k < 37 && i < c->n; k++, i++) {
            items[k].u = &c->v[i].u;
            items[k].xml = c->v[i].xml;
            items[k].xml_len = c->v[i].len;
        }
        sitedb_url url = {"GJ/F+9a4H33xLJ1vYhSFYUWSU3I=", "http://localhost:8530/Content/x.msu"};
        if (sitedb_updates(w, items, k, &url, 1) < 0)
            fail_msg("sitedb_updates: %s", db_errmsg(f->d));
    }
    if (sitedb_finish(w) < 0)
        fail_msg("sitedb_finish: %s", db_errmsg(f->d));
    out->changed = sitedb_changed(w);
    out->st = *sitedb_get_stats(w);
    if (commit)
        assert_int_equal(db_commit(f->d), 0);
    else
        assert_int_equal(db_rollback(f->d), 0);
    sitedb_free(w);
}

/* What the catalog says the tables must hold. */
typedef struct expect {
    long updates, bundles, expired, superseded_targets, supersede_rels, bundle_rels, files, cats;
} expect;

static void expectations(const cat *c, expect *e)
{
    memset(e, 0, sizeof *e);
    e->cats = (long)c->ncats;
    for (size_t i = c->ncats; i < c->n; i++) {
        const updxml_update *u = &c->v[i].u;
        e->updates++;
        e->bundles += u->nbundled > 0;
        e->expired += u->expired != 0;
        e->files += (long)u->nfiles;
        e->supersede_rels += (long)u->nsuperseded;
        e->bundle_rels += (long)u->nbundled;
    }
    /* Distinct updates some update supersedes. */
    for (size_t i = c->ncats; i < c->n; i++) {
        int hit = 0;
        for (size_t j = c->ncats; j < c->n && !hit; j++)
            for (size_t k = 0; k < c->v[j].u.nsuperseded && !hit; k++)
                hit = strcmp(c->v[j].u.superseded[k].id, c->v[i].u.update_id) == 0;
        e->superseded_targets += hit;
    }
}

static void test_sitedb_first_sync(void **state)
{
    fx *f = *state;
    cat c;
    expect e;
    run_out r;
    char sql[512];
    /* Over 512 updates: the hash table grows in the middle of a batch. */
    cat_make(&c, 1200, 7);
    expectations(&c, &e);
    assert_true(e.bundles > 0 && e.expired > 0 && e.superseded_targets > 0);

    run_phase(f, &c, "en,de", 0, 1, &r);
    assert_int_equal(r.st.inserted, e.updates);
    assert_int_equal(r.st.categories, e.cats);
    assert_int_equal(r.st.categories_changed, e.cats);
    assert_int_equal(r.changed, e.updates + e.cats);
    assert_int_equal(r.st.unknown_categories, 0);
    assert_int_equal(r.st.unresolved_relations, 0);

    db *d = f->d;
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)"),
                     e.updates);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID = 8"),
                     e.bundles);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1"),
                     e.expired);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsSuperseded = 1"),
                     e.superseded_targets);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE "
                          "RelationType = 6"),
                     e.supersede_rels);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE "
                          "RelationType = 1"),
                     e.bundle_rels);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_UpdateInfo"), e.updates);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_CIUpdateSources WHERE MinSourceVersion = 34"),
                     e.updates);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ContentFiles"), e.files);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ContentFiles WHERE FileHash LIKE 'SHA1:%'"),
                     e.files);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItemContents"),
                     q(d, "SELECT COUNT(*) FROM CI_Contents"));
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_CategoryInstances"), e.cats);
    /* Two configured languages of the three the catalog has. */
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_LocalizedProperties"), 2 * e.updates);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_LocalizedProperties WHERE LocaleID = 1036"), 0);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_LocalizedCategoryInstances WHERE LocaleID = "
                          "1031"),
                     e.cats);

    /* One update in detail: the first software update of the catalog. */
    const updxml_update *u = NULL;
    for (size_t i = c.ncats; i < c.n && !u; i++)
        if (c.v[i].u.nfiles && c.v[i].u.kb_article_id)
            u = &c.v[i].u;
    assert_non_null(u);
    assert_int_equal(q1(d, "SELECT RevisionNumber FROM CI_ConfigurationItems WHERE CI_UniqueID = ?",
                        u->update_id),
                     u->revision);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM v_UpdateInfo WHERE CI_UniqueID = ? AND ArticleID = '%s'",
             u->kb_article_id);
    assert_int_equal(q1(d, sql, u->update_id), 1);
    assert_int_equal(q1(d,
                        "SELECT COUNT(*) FROM CI_LocalizedProperties lp JOIN "
                        "CI_ConfigurationItems ci ON ci.CI_ID = lp.CI_ID WHERE ci.CI_UniqueID = ? "
                        "AND lp.LocaleID = 1033 AND lp.InformativeURL LIKE "
                        "'http://support.microsoft.com/kb/%'",
                        u->update_id),
                     1);
    /* Its memberships: its product and classification, and the product's family and company. */
    assert_int_equal(q1(d,
                        "SELECT COUNT(*) FROM CI_CategoryMemberships m JOIN "
                        "CI_ConfigurationItems ci ON ci.CI_ID = m.CI_ID JOIN "
                        "CI_CategoryInstances c ON c.CategoryInstanceID = m.CategoryInstanceID "
                        "WHERE ci.CI_UniqueID = ? AND c.CategoryTypeName = 'Company'",
                        u->update_id),
                     1);
    assert_int_equal(q1(d,
                        "SELECT COUNT(*) FROM CI_CategoryMemberships m JOIN "
                        "CI_ConfigurationItems ci ON ci.CI_ID = m.CI_ID JOIN "
                        "CI_CategoryInstances c ON c.CategoryInstanceID = m.CategoryInstanceID "
                        "WHERE ci.CI_UniqueID = ? AND c.CategoryTypeName IN ('Product', "
                        "'UpdateClassification')",
                        u->update_id),
                     2);
    /* The XML is kept as the SDM package digest, byte for byte. */
    db_stmt *s;
    assert_int_equal(db_prepare(d, &s,
                                "SELECT SDMPackageDigest, ModelName FROM CI_ConfigurationItems "
                                "WHERE CI_UniqueID = ?"),
                     0);
    assert_int_equal(db_bind_text(s, 1, u->update_id), 0);
    assert_int_equal(db_step(s), 1);
    for (size_t i = 0; i < c.n; i++)
        if (&c.v[i].u == u)
            assert_string_equal(db_col_text(s, 0), c.v[i].xml);
    assert_non_null(strstr(db_col_text(s, 1), "SUM_"));
    db_finalize(s);
    /* Category tree: products have a family parent. */
    assert_true(q(d, "SELECT COUNT(*) FROM CI_CategoryInstances WHERE CategoryTypeName = "
                     "'Product' AND ParentCategoryInstanceID IS NULL") == 0);
    assert_true(q(d, "SELECT COUNT(*) FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID "
                     "= 'UpdateClassification:0fa1201d-4330-4fa8-8ae9-b877473b6441'") == 1);
    cat_free(&c);
}

/* The schema's secondary indexes of the CI tables, as "name:sql|..." (SQLite). */
static char *ci_indexes(db *d)
{
    char *v = tu_qtext(d,
                       "SELECT group_concat(name || ':' || sql, '|') FROM (SELECT name, sql FROM "
                       "sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name LIKE "
                       "'CI\\_%' ESCAPE '\\' ORDER BY name)",
                       NULL);
    assert_non_null(v);
    return v;
}

static void test_sitedb_bulk_indexes(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    sitedb *w = NULL;
    lang_set ls;
    cat_make(&c, 300, 5);
    if (db_get_dialect(f->d) != DB_DIALECT_SQLITE) {
        /* PostgreSQL keeps its indexes: dropping one there locks readers out until the commit. */
        run_phase(f, &c, "en", 0, 1, &r);
        assert_int_equal(r.st.indexes_rebuilt, 0);
        cat_free(&c);
        return;
    }
    char *before = ci_indexes(f->d);
    long long nidx = q(f->d, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS "
                             "NOT NULL AND tbl_name IN ('CI_ConfigurationItems', 'CI_Contents', "
                             "'CI_ContentFiles', 'CI_CategoryMemberships')");
    assert_true(nidx >= 4);
    /* A first sync drops them in its transaction... */
    assert_int_equal(lang_parse("en", &ls, NULL), 0);
    sitedb_options o = {.site = "CS1", .source_id = f->src.source_id, .langs = &ls};
    assert_int_equal(db_begin(f->d), 0);
    assert_int_equal(sitedb_begin(&w, f->d, &o), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS "
                             "NOT NULL AND tbl_name = 'CI_ConfigurationItems'"),
                     0);
    /* ... and a phase that fails gets them back with the rollback. */
    assert_int_equal(db_rollback(f->d), 0);
    sitedb_free(w);
    char *after = ci_indexes(f->d);
    assert_string_equal(after, before);
    free(after);

    /* A whole first sync builds them again, the same, over the rows it wrote. */
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.st.inserted, 300);
    assert_true(r.st.indexes_rebuilt >= nidx);
    after = ci_indexes(f->d);
    assert_string_equal(after, before);
    free(after);
    char *ok = tu_qtext(f->d, "PRAGMA integrity_check", NULL);
    assert_string_equal(ok, "ok");
    free(ok);
    /* The unique ones hold again. */
    assert_true(db_exec(f->d, "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID) SELECT "
                              "CI_UniqueID, CIType_ID FROM CI_ConfigurationItems LIMIT 1") < 0);
    /* A sync of a site that holds updates keeps the indexes as they are. */
    c.v[c.n - 1].u.revision++;
    free(c.v[c.n - 1].xml);
    assert_int_equal(updxml_write(&c.v[c.n - 1].u, &c.v[c.n - 1].xml, &c.v[c.n - 1].len), 0);
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.st.revised, 1);
    assert_int_equal(r.st.indexes_rebuilt, 0);
    after = ci_indexes(f->d);
    assert_string_equal(after, before);
    free(after);
    free(before);
    cat_free(&c);
}

static void test_sitedb_incremental(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    cat_make(&c, 200, 11);
    run_phase(f, &c, "en", 0, 1, &r);
    long total = r.st.inserted;

    /* The same catalog again: nothing changes, so the content version would stay. */
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.changed, 0);
    assert_int_equal(r.st.unchanged, total);
    assert_int_equal(r.st.categories_changed, 0);

    /* Two new revisions, one of them expiring its update, and a renamed category. */
    size_t a = c.ncats + 3, b = c.ncats + 10;
    while (c.v[a].u.expired)
        a++;
    while (c.v[b].u.expired || b == a)
        b++;
    cat_revise(&c, a, 0);
    cat_revise(&c, b, 1);
    free(c.v[0].u.localized[0].title);
    c.v[0].u.localized[0].title = strdup("Renamed Company");
    long long ci_a = q1(f->d, "SELECT CI_ID FROM CI_ConfigurationItems WHERE CI_UniqueID = ?",
                        c.v[a].u.update_id);
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.st.revised, 2);
    assert_int_equal(r.st.newly_expired, 1);
    assert_int_equal(r.st.categories_changed, 1);
    assert_int_equal(r.changed, 3);
    /* A revision keeps its CI_ID; its rows are replaced, not duplicated. */
    assert_int_equal(q1(f->d, "SELECT CI_ID FROM CI_ConfigurationItems WHERE CI_UniqueID = ?",
                        c.v[a].u.update_id),
                     ci_a);
    assert_int_equal(q1(f->d,
                        "SELECT RevisionNumber FROM CI_ConfigurationItems WHERE "
                        "CI_UniqueID = ?",
                        c.v[a].u.update_id),
                     c.v[a].u.revision);
    assert_int_equal(q1(f->d, "SELECT IsExpired FROM CI_ConfigurationItems WHERE CI_UniqueID = ?",
                        c.v[b].u.update_id),
                     1);
    assert_int_equal(
        q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)"), total);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_UpdateInfo"), total);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_LocalizedProperties"), total);
    assert_int_equal(q1(f->d,
                        "SELECT COUNT(*) FROM CI_LocalizedCategoryInstances WHERE "
                        "CategoryInstanceName = ?",
                        "Renamed Company"),
                     1);

    /* A full sync rewrites every update and keeps the tables the same size. */
    long long rels = q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItemRelations");
    long long members = q(f->d, "SELECT COUNT(*) FROM CI_CategoryMemberships");
    long long files = q(f->d, "SELECT COUNT(*) FROM CI_ContentFiles");
    run_phase(f, &c, "en", 1, 1, &r);
    assert_int_equal(r.st.rewritten, total);
    assert_int_equal(r.changed, total + (long)c.ncats);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItemRelations"), rels);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_CategoryMemberships"), members);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ContentFiles"), files);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_Contents"),
                     q(f->d, "SELECT COUNT(DISTINCT Content_UniqueID) FROM CI_Contents"));
    cat_free(&c);
}

/* Document i also supersedes the update of document t (a new revision of i). */
static void cat_supersede(cat *c, size_t i, size_t t)
{
    updxml_update *u = &c->v[i].u;
    updxml_ref *v = realloc(u->superseded, (u->nsuperseded + 1) * sizeof *v);
    assert_non_null(v);
    u->superseded = v;
    memset(&v[u->nsuperseded], 0, sizeof v[0]);
    memcpy(v[u->nsuperseded].id, c->v[t].u.update_id, sizeof v[0].id);
    u->nsuperseded++;
    cat_revise(c, i, 0);
}

static long long is_superseded(fx *f, const cat *c, size_t i)
{
    return q1(f->d, "SELECT IsSuperseded FROM CI_ConfigurationItems WHERE CI_UniqueID = ?",
              c->v[i].u.update_id);
}

/*
 * Supersedence whatever the order: a target that comes after its
 * superseder in the same sync, and a target written by an earlier sync
 * (marked, with its DateLastModified moved to this sync's time).
 */
static void test_sitedb_supersede(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    cat_make(&c, 120, 5);
    size_t first = c.ncats, last = c.n - 1;
    while (c.v[last].u.type == UPDXML_TYPE_CATEGORY || c.v[last].u.expired)
        last--;
    cat_supersede(&c, first, last);
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(is_superseded(f, &c, last), 1);
    long long marked = q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsSuperseded = 1");
    assert_int_equal(r.st.newly_superseded, marked);

    /* An update of the first sync, superseded by a revision in the second. */
    size_t t = first + 1, by = first + 2;
    while (is_superseded(f, &c, t) != 0 || t == by)
        t++;
    db_stmt *st;
    assert_int_equal(db_prepare(f->d, &st,
                                "UPDATE CI_ConfigurationItems SET DateLastModified = "
                                "'2001-01-01 00:00:00' WHERE CI_UniqueID = ?"),
                     0);
    assert_int_equal(db_bind_text(st, 1, c.v[t].u.update_id), 0);
    assert_true(db_step(st) >= 0);
    db_finalize(st);
    cat_supersede(&c, by, t);
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.st.revised, 1);
    assert_int_equal(r.st.newly_superseded, 1);
    assert_int_equal(is_superseded(f, &c, t), 1);
    assert_int_equal(q1(f->d,
                        "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CI_UniqueID = ? AND "
                        "DateLastModified > '2002-01-01 00:00:00'",
                        c.v[t].u.update_id),
                     1);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsSuperseded = 1"),
                     marked + 1);
    /* Every target of a stored supersedes relation is marked, and nothing else. */
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems ci WHERE "
                             "(ci.IsSuperseded = 1) <> EXISTS (SELECT 1 FROM "
                             "CI_ConfigurationItemRelations x WHERE x.ToCI_ID = ci.CI_ID AND "
                             "x.RelationType = 6)"),
                     0);
    cat_free(&c);
}

/* A sitedb of its own (options as run_phase's), in a transaction of f->d. */
static sitedb *begin_phase(fx *f, lang_set *ls)
{
    sitedb *w = NULL;
    assert_int_equal(lang_parse("en", ls, NULL), 0);
    sitedb_options o = {.site = "CS1",
                        .source_id = f->src.source_id,
                        .langs = ls,
                        .new_version = 35,
                        .now = 1400000100};
    assert_int_equal(db_begin(f->d), 0);
    if (sitedb_begin(&w, f->d, &o) < 0)
        fail_msg("sitedb_begin: %s", db_errmsg(f->d));
    return w;
}

/*
 * An incremental sync reads only what it names: the revisions it asks
 * about, the updates of its batches and their relations' targets, found
 * one by one in what the site holds; naming many reads everything at once.
 */
static void test_sitedb_lookup(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    lang_set ls;
    cat_make(&c, 300, 13);
    run_phase(f, &c, "en", 0, 1, &r);
    long long held =
        q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)");
    long long contents = q(f->d, "SELECT COUNT(*) FROM CI_Contents");
    assert_true(held >= 300);

    /* Two names: only they are known. */
    size_t a = c.ncats + 5, t = c.ncats + 200, other = c.ncats + 100;
    while (c.v[a].u.expired || c.v[a].u.nfiles == 0)
        a++;
    while (c.v[t].u.expired || is_superseded(f, &c, t) || t == a)
        t++;
    sitedb *w = begin_phase(f, &ls);
    const char *names[] = {c.v[a].u.update_id, "not-a-guid", c.v[t].u.update_id};
    assert_int_equal(sitedb_prefetch(w, names, 3), 0);
    assert_int_equal(sitedb_known_revision(w, c.v[a].u.update_id), c.v[a].u.revision);
    assert_int_equal(sitedb_known_revision(w, c.v[t].u.update_id), c.v[t].u.revision);
    assert_int_equal(sitedb_known_revision(w, c.v[other].u.update_id), 0);

    /* A new revision of a that supersedes u, which this sync does not name otherwise. */
    size_t u = c.ncats + 150;
    while (c.v[u].u.expired || is_superseded(f, &c, u) || u == a || u == t)
        u++;
    cat_supersede(&c, a, u);
    sitedb_item it = {&c.v[a].u, c.v[a].xml, c.v[a].len};
    assert_int_equal(sitedb_categories_done(w), 0);
    assert_int_equal(sitedb_updates(w, &it, 1, NULL, 0), 0);
    assert_int_equal(sitedb_finish(w), 0);
    const sitedb_stats *st = sitedb_get_stats(w);
    assert_int_equal(st->revised, 1);
    assert_int_equal(st->inserted, 0);
    assert_int_equal(st->newly_superseded, 1);
    assert_int_equal(st->unresolved_relations, 0);
    assert_int_equal(db_commit(f->d), 0);
    sitedb_free(w);
    assert_int_equal(is_superseded(f, &c, u), 1);
    assert_int_equal(
        q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)"), held);
    /* The revision found its content item: updated, not a second one. */
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_Contents"), contents);
    assert_int_equal(q1(f->d, "SELECT ContentVersion FROM CI_Contents WHERE Content_UniqueID = ?",
                        c.v[a].u.update_id),
                     c.v[a].u.revision);

    /* Naming a quarter of the site or more reads it all: everything is known. */
    w = begin_phase(f, &ls);
    const char **many = calloc(c.n, sizeof *many);
    assert_non_null(many);
    size_t k = 0;
    for (size_t i = c.ncats; i < c.n && (long long)k * 4 < held; i++)
        many[k++] = c.v[i].u.update_id;
    assert_int_equal(sitedb_prefetch(w, many, k), 0);
    assert_int_equal(sitedb_known_revision(w, c.v[c.n - 1].u.update_id), c.v[c.n - 1].u.revision);
    assert_int_equal(sitedb_known_revision(w, c.v[a].u.update_id), c.v[a].u.revision);
    assert_int_equal(db_rollback(f->d), 0);
    sitedb_free(w);
    free(many);
    cat_free(&c);
}

static void test_sitedb_rollback(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    cat_make(&c, 100, 3);
    /* A phase that fails is rolled back: nothing of it stays. */
    run_phase(f, &c, "en", 0, 0, &r);
    assert_true(r.changed > 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems"), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_CategoryInstances"), 0);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ContentFiles"), 0);
    /* And the next one writes everything, with keys that do not collide. */
    run_phase(f, &c, "en", 0, 1, &r);
    assert_int_equal(r.st.inserted, 100);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_ConfigurationItems"), 100);
    /* Another writer of the table after the phase gets a fresh key (identity sequences). */
    exec_ok(f->d, "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, ModelName) "
                  "VALUES ('ScopeId_1/AuthList_1', 9, 'update group')");
    assert_int_equal(q(f->d, "SELECT COUNT(DISTINCT CI_ID) FROM CI_ConfigurationItems"), 101);
    cat_free(&c);
}

static void test_sitedb_bad_metadata(void **state)
{
    fx *f = *state;
    lang_set ls;
    sitedb *w = NULL;
    updxml_update u;
    const char *xml =
        "<?xml version=\"1.0\"?><upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/"
        "Update\"><upd:UpdateIdentity UpdateID=\"11111111-2222-4333-8444-555555555555\" "
        "RevisionNumber=\"101\"/><upd:Properties UpdateType=\"Software\"/><upd:Relationships>"
        "<upd:Prerequisites><upd:AtLeastOne IsCategory=\"true\"><upd:UpdateIdentity "
        "UpdateID=\"99999999-8888-4777-8666-555555555555\"/></upd:AtLeastOne></upd:Prerequisites>"
        "<upd:SupersededUpdates><upd:UpdateIdentity UpdateID=\"99999999-1111-4777-8666-"
        "555555555555\"/></upd:SupersededUpdates></upd:Relationships></upd:Update>";
    assert_int_equal(updxml_parse(xml, strlen(xml), &u), 0);
    assert_int_equal(lang_parse("en", &ls, NULL), 0);
    sitedb_options o = {.site = "CS1",
                        .source_id = f->src.source_id,
                        .langs = &ls,
                        .new_version = 34,
                        .now = 1400000000};
    assert_int_equal(db_begin(f->d), 0);
    assert_int_equal(sitedb_begin(&w, f->d, &o), 0);
    sitedb_item it = {&u, xml, strlen(xml)};
    assert_int_equal(sitedb_updates(w, &it, 1, NULL, 0), 0);
    assert_int_equal(sitedb_finish(w), 0);
    /* Written, with its ID as its name, and the unknown references counted, not fatal. */
    assert_int_equal(sitedb_get_stats(w)->inserted, 1);
    assert_int_equal(sitedb_get_stats(w)->untitled, 1);
    assert_int_equal(sitedb_get_stats(w)->unknown_categories, 1);
    assert_int_equal(sitedb_get_stats(w)->unresolved_relations, 1);
    assert_int_equal(db_commit(f->d), 0);
    sitedb_free(w);
    updxml_free(&u);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_LocalizedProperties WHERE DisplayName = "
                             "'11111111-2222-4333-8444-555555555555'"),
                     1);
    assert_int_equal(q(f->d, "SELECT COUNT(*) FROM CI_CategoryMemberships"), 0);
    assert_int_equal(sitedb_severity("Critical"), 10);
    assert_int_equal(sitedb_severity("important"), 8);
    assert_int_equal(sitedb_severity("Moderate"), 6);
    assert_int_equal(sitedb_severity("Low"), 2);
    assert_int_equal(sitedb_severity(NULL), 0);
    assert_int_equal(sitedb_severity("Unspecified"), 0);
}

/* ------------------------------------------------------------------ */
/* cimap                                                               */
/* ------------------------------------------------------------------ */

/* The GUID of number i, upper case when upper (the map lower-cases its keys). */
static void guid_of(unsigned i, int upper, char out[37])
{
    snprintf(out, 37, upper ? "%08X-0000-4000-8000-%012X" : "%08x-0000-4000-8000-%012x", i,
             i * 2654435761u);
}

static void test_cimap(void **state)
{
    cimap m;
    char id[37];
    (void)state;
    cimap_init(&m);
    assert_null(cimap_get(&m, "00000001-0000-4000-8000-000000000001"));
    assert_null(cimap_put(&m, "not-a-guid"));
    assert_null(cimap_put(&m, NULL));
    assert_int_equal(cimap_reserve(&m, 100), 0);
    /* Past the reservation several times: every entry survives each growth. */
    for (unsigned i = 0; i < 5000; i++) {
        guid_of(i, i % 2, id);
        cimap_entry *e = cimap_put(&m, id);
        assert_non_null(e);
        assert_int_equal(e->ci_id, 0); /* new entries are zeroed */
        e->ci_id = (long long)i + 1;
        e->revision = (int)i % 7;
    }
    assert_int_equal(m.n, 5000);
    for (unsigned i = 0; i < 5000; i++) {
        guid_of(i, !(i % 2), id); /* the other case finds the same entry */
        cimap_entry *e = cimap_get(&m, id);
        assert_non_null(e);
        assert_int_equal(e->ci_id, (long long)i + 1);
        assert_int_equal(e->revision, (int)i % 7);
        assert_ptr_equal(cimap_put(&m, id), e); /* a second put is the same entry */
        /* The entries are in the order they were added. */
        assert_ptr_equal(&m.v[i], e);
    }
    assert_int_equal(m.n, 5000);
    guid_of(5000, 0, id);
    assert_null(cimap_get(&m, id));
    /* A reservation below what is held changes nothing. */
    assert_int_equal(cimap_reserve(&m, 10), 0);
    assert_int_equal(m.n, 5000);
    cimap_free(&m);
    assert_null(cimap_get(&m, id));
}

static void test_filter_hash(void **state)
{
    char *p1[] = {"a105a108-7c9b-4518-bbbe-73f0fe30012b", "bfe5b177-a086-47a0-b102-097e4fa1f807"};
    char *p2[] = {"bfe5b177-a086-47a0-b102-097e4fa1f807", "A105A108-7C9B-4518-BBBE-73F0FE30012B"};
    char *c1[] = {"0fa1201d-4330-4fa8-8ae9-b877473b6441"};
    lang_set en, ende;
    (void)state;
    lang_parse("en", &en, NULL);
    lang_parse("en,de", &ende, NULL);
    unsigned long long h = sitephase_filter_hash(p1, 2, c1, 1, &en);
    assert_true(h == sitephase_filter_hash(p2, 2, c1, 1, &en));
    assert_true(h != sitephase_filter_hash(p1, 2, c1, 1, &ende));
    assert_true(h != sitephase_filter_hash(p1, 1, c1, 1, &en));
    /* A product is not a classification. */
    assert_true(sitephase_filter_hash(p1, 1, NULL, 0, &en) !=
                sitephase_filter_hash(NULL, 0, p1, 1, &en));
}

/* ------------------------------------------------------------------ */
/* maintenance                                                         */
/* ------------------------------------------------------------------ */

static long long batches[16];
static int nbatches;

static void on_batch(void *ud, long long n)
{
    (void)ud;
    if (nbatches < 16)
        batches[nbatches++] = n;
}

static void test_maint(void **state)
{
    fx *f = *state;
    cat c;
    run_out r;
    cat_make(&c, 300, 5);
    run_phase(f, &c, "en", 0, 1, &r); /* rows dated 1400000000 (May 2014) */
    db *d = f->d;
    long long expired = q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1");
    long long total = q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems");
    assert_true(expired >= 4);
    /* One expired update is deployed, one is in a deployed update group, one is recent. */
    exec_ok(d, "INSERT INTO CI_CIAssignments (Assignment_UniqueID, AssignmentName) VALUES "
               "('{A1}', 'Deployment 1')");
    exec_ok(d, "INSERT INTO CI_AssignmentTargetedCIs (AssignmentID, CI_ID) SELECT "
               "MAX(a.AssignmentID), MIN(ci.CI_ID) FROM CI_CIAssignments a, CI_ConfigurationItems "
               "ci WHERE ci.IsExpired = 1");
    exec_ok(d, "INSERT INTO CI_ConfigurationItems (CI_ID, CI_UniqueID, CIType_ID, ModelName) "
               "VALUES (900000, 'ScopeId_X/AuthList_1', 9, 'group')");
    exec_ok(d, "INSERT INTO CI_ConfigurationItemRelations (FromCI_ID, ToCI_ID, RelationType) "
               "SELECT 900000, MAX(CI_ID), 1 FROM CI_ConfigurationItems WHERE IsExpired = 1 AND "
               "CIType_ID IN (1, 8)");
    exec_ok(d, "INSERT INTO CI_AssignmentTargetedGroups (AssignmentID, CI_ID) SELECT "
               "MAX(AssignmentID), 900000 FROM CI_CIAssignments");
    exec_ok(d, "UPDATE CI_ConfigurationItems SET DateLastModified = '2099-01-01 00:00:00' WHERE "
               "CI_ID = (SELECT MIN(CI_ID) FROM CI_ConfigurationItems WHERE IsExpired = 1 AND "
               "CI_ID > (SELECT MIN(CI_ID) FROM CI_ConfigurationItems WHERE IsExpired = 1))");
    /* A package holds the content of one of the deletable updates. */
    exec_ok(d, "INSERT INTO CI_ContentPackages (PkgID, Content_ID) SELECT 'CS100006', "
               "MIN(cc.Content_ID) FROM CI_ConfigurationItemContents cc JOIN CI_ConfigurationItems "
               "ci ON ci.CI_ID = cc.CI_ID WHERE ci.IsExpired = 1 AND ci.DateLastModified < "
               "'2050-01-01' AND NOT EXISTS (SELECT 1 FROM CI_AssignmentTargetedCIs t WHERE "
               "t.CI_ID = ci.CI_ID) AND ci.CI_ID <> (SELECT MAX(CI_ID) FROM CI_ConfigurationItems "
               "WHERE IsExpired = 1 AND CIType_ID IN (1, 8))");
    long long want = expired - 3;
    long long deleted = 0;
    nbatches = 0;
    /* Seven days after the rows were written: everything else is old enough. */
    assert_int_equal(
        maint_delete_expired(d, 7, 2, 1400000000 + 8 * 86400, NULL, on_batch, NULL, &deleted), 0);
    assert_int_equal(deleted, want);
    assert_int_equal(nbatches, (int)((want + 1) / 2));
    assert_int_equal(batches[0], 2);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE IsExpired = 1"), 3);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItems"), total + 1 - want);
    /* Nothing of the deleted updates is left behind. */
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_UpdateInfo WHERE CI_ID NOT IN (SELECT CI_ID "
                          "FROM CI_ConfigurationItems)"),
                     0);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_LocalizedProperties WHERE CI_ID NOT IN "
                          "(SELECT CI_ID FROM CI_ConfigurationItems)"),
                     0);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_ConfigurationItemRelations WHERE ToCI_ID NOT "
                          "IN (SELECT CI_ID FROM CI_ConfigurationItems) OR FromCI_ID NOT IN "
                          "(SELECT CI_ID FROM CI_ConfigurationItems)"),
                     0);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_CIUpdateSources WHERE CI_ID NOT IN (SELECT "
                          "CI_ID FROM CI_ConfigurationItems)"),
                     0);
    /* ... except the content a package still holds. */
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_Contents WHERE Content_ID NOT IN (SELECT "
                          "Content_ID FROM CI_ConfigurationItemContents)"),
                     1);
    assert_int_equal(q(d, "SELECT COUNT(*) FROM CI_Contents c JOIN CI_ContentPackages p ON "
                          "p.Content_ID = c.Content_ID"),
                     1);
    /* Again: nothing more to delete. */
    assert_int_equal(
        maint_delete_expired(d, 7, 2, 1400000000 + 8 * 86400, NULL, NULL, NULL, &deleted), 0);
    assert_int_equal(deleted, 0);
    cat_free(&c);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const struct CMUnitTest lang[] = {cmocka_unit_test(test_lang_parse)};
    const struct CMUnitTest trigger[] = {cmocka_unit_test(test_trigger_classify),
                                         cmocka_unit_test(test_trigger_times)};
    const struct CMUnitTest syncstate[] = {
        cmocka_unit_test_setup_teardown(test_syncstate_sups, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_syncstate_states, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_syncstate_content_version, fx_setup, fx_teardown)};
    const struct CMUnitTest sitedbt[] = {
        cmocka_unit_test_setup_teardown(test_sitedb_first_sync, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_bulk_indexes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_incremental, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_supersede, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_lookup, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sitedb_bad_metadata, fx_setup, fx_teardown),
        cmocka_unit_test(test_filter_hash),
        cmocka_unit_test(test_cimap)};
    const struct CMUnitTest maint[] = {
        cmocka_unit_test_setup_teardown(test_maint, fx_setup, fx_teardown)};
    const char *g = argc > 1 ? argv[1] : "";
    int failed = 0;
    if (!*g || !strcmp(g, "lang"))
        failed += cmocka_run_group_tests_name("wsyncmgr-lang", lang, NULL, NULL);
    if (!*g || !strcmp(g, "trigger"))
        failed += cmocka_run_group_tests_name("wsyncmgr-trigger", trigger, NULL, NULL);
    if (!*g || !strcmp(g, "syncstate"))
        failed += cmocka_run_group_tests_name("wsyncmgr-syncstate", syncstate, NULL, NULL);
    if (!*g || !strcmp(g, "sitedb"))
        failed += cmocka_run_group_tests_name("wsyncmgr-sitedb", sitedbt, NULL, NULL);
    if (!*g || !strcmp(g, "maint"))
        failed += cmocka_run_group_tests_name("wsyncmgr-maint", maint, NULL, NULL);
    return failed ? 1 : 0;
}
