/*
 * test_policypv.c - unit tests of Policy Provider and the WSUS location
 * lookup, on a real database (SQLite, or PostgreSQL under
 * tests/with-postgres.sh), real inbox folders and a real HTTP listener:
 *   policy    the UpdateSource policy: hashes, CRC, bodies (golden files),
 *             first version, no change without a change, one increment per
 *             change, repair of rows that disagree, hostile values
 *   stn       .STN batches: the documented log lines, bad names and files
 *             quarantined with a status message each, a burst of 1,000
 *             files making one version, a failed write returning the files
 *   wsusloc   request parsing (the documents' request, UTF-16, a corpus of
 *             malformed and hostile requests) and the reply (golden)
 *   lookup    MP_GetWSUSServerLocations over the three tables
 *   mp        the management point listener over HTTP (libcurl)
 * Run one group by name: policypv-unit GROUP.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cm_error.h"
#include "db.h"
#include "inbox.h"
#include "location.h"
#include "log.h"
#include "policy.h"
#include "schema.h"
#include "stn.h"
#include "testutil.h"
#include "wsusloc.h"

#define DOC_SOURCE "{C2D17964-BBDD-4339-B9F3-12D7205B39CC}"
#define DOC_POLICY "{d0855677-b0a6-4e33-9bd5-7b0d06f0a2be}"
#define DOC_ASSIGNMENT "{375c8020-3cae-4736-89ca-ccf1ce6e3709}"
#define MAX_REPORTS 2048

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 4 << 20);
    size_t n = fread(buf, 1, (4 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    if (len)
        *len = n;
    return buf;
}

static char *golden(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", CM_POLICYPV_TESTS_DIR, name);
    char *s = read_file(path, NULL);
    if (!s)
        fail_msg("cannot read %s", path);
    /* A golden file may end with a newline that is not part of the document. */
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int count_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find '%s' -maxdepth 1 ! -type d -printf x | wc -c", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static int exists(const char *dir, const char *name)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static void put_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* ------------------------------------------------------------------ */
/* Database fixture                                                    */
/* ------------------------------------------------------------------ */

typedef struct fx {
    char dir[256], conn[1024], inboxes[320], logpath[320];
    db *d;
    inbox_catalogue *cat;
    inbox_dir box;
    int reports[MAX_REPORTS];
    size_t nreports;
} fx;

static void clean_tables(db *d)
{
    static const char *tables[] = {"SettingsPolicy",       "Policy",
                                   "PolicyAssignment",     "WSUSServerLocations",
                                   "Update_SyncStatus",    "CI_UpdateSources",
                                   "SoftwareUpdatePoints", "StatusMessageInsStrs",
                                   "StatusMessages",       "TableChangeNotifications"};
    char sql[128];
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        if (db_exec(d, sql) < 0)
            fail_msg("%s: %s", sql, db_errmsg(d));
    }
}

static int setup_db(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_int_equal(tu_mkdtemp(f->dir, sizeof f->dir), 0);
    tu_test_connstr(f->conn, sizeof f->conn, f->dir);
    if (db_open(&f->d, f->conn) < 0)
        fail_msg("db_open: %s", db_errmsg(f->d));
    if (schema_apply(f->d, NULL) < 0)
        fail_msg("schema: %s", db_errmsg(f->d));
    clean_tables(f->d);
    snprintf(f->inboxes, sizeof f->inboxes, "%s/inboxes", f->dir);
    assert_int_equal(inbox_catalogue_builtin(&f->cat), 0);
    assert_int_equal(inbox_tree_create(f->inboxes, f->cat), 0);
    assert_int_equal(
        inbox_dir_open(&f->box, f->inboxes, inbox_catalogue_find(f->cat, "policypv.box")), 0);
    snprintf(f->logpath, sizeof f->logpath, "%s/policypv.log", f->dir);
    assert_int_equal(log_open(f->logpath, "SMS_POLICY_PROVIDER", 0), 0);
    *state = f;
    return 0;
}

static int teardown_db(void **state)
{
    fx *f = *state;
    log_close();
    clean_tables(f->d);
    db_close(f->d);
    inbox_catalogue_free(f->cat);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* An update source of a site at a content version in all three tables; returns its ID. */
static long long add_source(db *d, const char *uid, const char *site, long long cv)
{
    tu_sql(d,
           "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, UpdateSourceName, SourceSite, "
           "ContentVersion) VALUES (?, 'WSUS Enterprise Server', ?, ?)",
           "tti", uid, site, cv);
    long long id = tu_qint(d,
                           "SELECT UpdateSource_ID FROM CI_UpdateSources WHERE "
                           "UpdateSource_UniqueID = ?",
                           uid);
    tu_sql(d,
           "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID, WSUSServerName, "
           "ContentVersion, SyncCatalogVersion) VALUES (?, ?, 'ps1site.contoso.com', ?, ?)",
           "tiii", site, id, cv, cv);
    return id;
}

static void add_location(db *d, long long id, const char *site, const char *server, const char *url,
                         long long cv, long long internet, long long order)
{
    tu_sql(d,
           "INSERT INTO WSUSServerLocations (UpdateSource_ID, SiteCode, ServerName, WSUSURL, "
           "ContentVersion, IsInternetFacing) VALUES (?, ?, ?, ?, ?, ?)",
           "itttii", id, site, server, url, cv, internet);
    tu_sql(
        d,
        "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, InstallOrder, IsInternetFacing) "
        "VALUES (?, ?, ?, ?)",
        "ttii", site, server, order, internet);
}

/* What spProcessSUMSyncStateMessage does after a sync: all three tables to one version. */
static void set_version(db *d, long long id, const char *site, long long cv)
{
    tu_sql(d, "UPDATE CI_UpdateSources SET ContentVersion = ? WHERE UpdateSource_ID = ?", "ii", cv,
           id);
    tu_sql(d,
           "UPDATE Update_SyncStatus SET ContentVersion = ?, SyncCatalogVersion = ? WHERE "
           "UpdateSource_ID = ? AND SiteCode = ?",
           "iiit", cv, cv, id, site);
    tu_sql(d,
           "UPDATE WSUSServerLocations SET ContentVersion = ? WHERE UpdateSource_ID = ? AND "
           "SiteCode = ?",
           "iit", cv, id, site);
}

static char *policy_version_of(db *d, const char *site)
{
    return tu_qtext(
        d,
        "SELECT p.Version FROM Policy p JOIN SettingsPolicy s ON s.PolicyID = p.PolicyID "
        "WHERE s.SourceType = 'UpdateSource' AND s.SourceID = ?",
        site);
}

/* ------------------------------------------------------------------ */
/* policy                                                              */
/* ------------------------------------------------------------------ */

static void test_hash_and_crc(void **state)
{
    (void)state;
    char h[80], crc[9];
    assert_int_equal(policy_hash("abc", 3, h, sizeof h), 0);
    assert_string_equal(h,
                        "SHA256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    assert_int_equal(policy_hash("", 0, h, sizeof h), 0);
    assert_string_equal(h,
                        "SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
    assert_int_equal(policy_hash("abc", 3, h, 20), CM_ERANGE);
    /* CRC-32 of "<id>=<version>;" per source, as zlib computes it. */
    policy_source one[] = {{DOC_SOURCE, 38}};
    policy_source two[] = {{DOC_SOURCE, 38}, {"{A0000000-0000-0000-0000-000000000001}", 5}};
    policy_source_crc(one, 1, crc);
    assert_string_equal(crc, "fb2a39dd");
    policy_source_crc(two, 2, crc);
    assert_string_equal(crc, "13cd11ca");
    one[0].content_version = 39;
    policy_source_crc(one, 1, crc);
    assert_string_not_equal(crc, "fb2a39dd");
}

static void test_version_parse(void **state)
{
    (void)state;
    assert_int_equal(policy_version_parse("40.00"), 40);
    assert_int_equal(policy_version_parse("1.00"), 1);
    assert_int_equal(policy_version_parse("0.00"), 0);
    assert_int_equal(policy_version_parse("40.5"), 0);
    assert_int_equal(policy_version_parse("40"), 0);
    assert_int_equal(policy_version_parse("-1.00"), 0);
    assert_int_equal(policy_version_parse(" 4.00"), 0);
    assert_int_equal(policy_version_parse(""), 0);
    assert_int_equal(policy_version_parse(NULL), 0);
}

/* The text of the first element named name below n (CDATA included). */
static char *elem_text(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0) {
            xmlChar *c = xmlNodeGetContent(n);
            char *s = strdup((const char *)c);
            xmlFree(c);
            return s;
        }
        char *s = elem_text(n->children, name);
        if (s)
            return s;
    }
    return NULL;
}

/* The CCM_UpdateSource property of a policy body (parsed as a client would). */
static char *body_property(const char *body, const char *prop)
{
    xmlDocPtr doc = xmlReadMemory(body, (int)strlen(body), "p.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    char *action = elem_text(xmlDocGetRootElement(doc), "PolicyAction");
    xmlFreeDoc(doc);
    assert_non_null(action);
    doc = xmlReadMemory(action, (int)strlen(action), "i.xml", NULL, XML_PARSE_NONET);
    free(action);
    assert_non_null(doc);
    char *out = NULL;
    for (xmlNodePtr p = xmlDocGetRootElement(doc)->children; p && !out; p = p->next) {
        xmlChar *name = p->type == XML_ELEMENT_NODE ? xmlGetProp(p, (const xmlChar *)"name") : NULL;
        if (name && strcmp((const char *)name, prop) == 0)
            out = elem_text(p->children, "value");
        xmlFree(name);
    }
    xmlFreeDoc(doc);
    return out;
}

static void test_bodies_golden(void **state)
{
    (void)state;
    policy_source src[] = {{DOC_SOURCE, 38}};
    char *body = NULL, *pa = NULL, *want;
    assert_int_equal(policy_body("PS1", DOC_POLICY, 40, src, 1, &body), 0);
    want = golden("updatesource_policy.xml");
    assert_string_equal(body, want);
    free(want);
    char *v = body_property(body, "ContentVersion");
    assert_string_equal(v, "38");
    free(v);
    v = body_property(body, "UniqueID");
    assert_string_equal(v, DOC_SOURCE);
    free(v);
    assert_int_equal(policy_assignment_body("PS1", DOC_ASSIGNMENT, DOC_POLICY, 40,
                                            "SHA256:000000000000000000000000000000000000000000"
                                            "0000000000000000000000",
                                            &pa),
                     0);
    want = golden("policy_assignment.xml");
    assert_string_equal(pa, want);
    free(want);
    free(body);
    free(pa);
}

/* Hashes, versions and references agree, checked independently of policy_verify. */
static void assert_rows_agree(db *d, const char *site, const char *version)
{
    char why[200], h[80];
    assert_int_equal(policy_verify(d, site, why, sizeof why), 0);
    char *pid =
        tu_qtext(d,
                 "SELECT PolicyID FROM SettingsPolicy WHERE SourceType = 'UpdateSource' AND "
                 "SourceID = ?",
                 site);
    assert_non_null(pid);
    char *body = tu_qtext(d, "SELECT Body FROM Policy WHERE PolicyID = ?", pid);
    char *hash = tu_qtext(d, "SELECT PolicyHash FROM Policy WHERE PolicyID = ?", pid);
    char *ver = tu_qtext(d, "SELECT Version FROM Policy WHERE PolicyID = ?", pid);
    char *pav = tu_qtext(d, "SELECT Version FROM PolicyAssignment WHERE PolicyID = ?", pid);
    char *pab = tu_qtext(d, "SELECT Body FROM PolicyAssignment WHERE PolicyID = ?", pid);
    char *pah = tu_qtext(d, "SELECT BodyHash FROM PolicyAssignment WHERE PolicyID = ?", pid);
    assert_int_equal(tu_qint(d, "SELECT InProcess FROM PolicyAssignment WHERE PolicyID = ?", pid),
                     0);
    assert_string_equal(ver, version);
    assert_string_equal(pav, version);
    assert_int_equal(policy_hash(body, strlen(body), h, sizeof h), 0);
    assert_string_equal(h, hash);
    assert_int_equal(policy_hash(pab, strlen(pab), h, sizeof h), 0);
    assert_string_equal(h, pah);
    assert_non_null(strstr(pab, hash));
    free(pid);
    free(body);
    free(hash);
    free(ver);
    free(pav);
    free(pab);
    free(pah);
}

static void test_no_policy_before_a_sync(void **state)
{
    fx *f = *state;
    policy_result r;
    add_source(f->d, DOC_SOURCE, "PS1", 0);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.changed, 0);
    assert_int_equal(r.version, 0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SettingsPolicy", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Policy", NULL), 0);
    assert_int_equal(policy_verify(f->d, "PS1", NULL, 0), CM_ENOTFOUND);
}

static void test_first_policy_and_the_documents_query(void **state)
{
    fx *f = *state;
    policy_result r;
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.nsources, 1);
    assert_string_equal(r.sources, DOC_SOURCE "=38");
    assert_rows_agree(f->d, "PS1", "1.00");
    /* The query the documents give, as they give it (less SQL Server's CONVERT). */
    char *body = tu_qtext(f->d,
                          "SELECT Body FROM Policy WHERE PolicyID = (SELECT PolicyID FROM "
                          "SettingsPolicy WHERE SourceType = 'UpdateSource')",
                          NULL);
    assert_non_null(body);
    char *v = body_property(body, "ContentVersion");
    assert_string_equal(v, "38");
    free(v);
    assert_non_null(strstr(body, "PolicyCategory=\"UpdateSource\" PolicySource=\"SMS:PS1\""));
    free(body);
    assert_int_equal(tu_qint(f->d,
                             "SELECT COUNT(*) FROM SettingsPolicy s JOIN PolicyAssignment a ON "
                             "a.PADBID = s.PADBID AND a.PolicyAssignmentID = s.PolicyAssignmentID "
                             "WHERE s.SourceID = ? AND s.SourceType = 'UpdateSource'",
                             "PS1"),
                     1);
    assert_int_equal(
        tu_qint(f->d, "SELECT COUNT(*) FROM PolicyAssignment WHERE HashAlgId = 32780", NULL), 1);
}

static void test_no_change_no_version_and_one_increment_per_change(void **state)
{
    fx *f = *state;
    policy_result r;
    long long id = add_source(f->d, DOC_SOURCE, "PS1", 38);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    char *pid = strdup(r.policy_id);
    long long padbid = r.padbid;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(policy_update(f->d, "PS1", &r), 0);
        assert_int_equal(r.changed, 0);
        assert_int_equal(r.version, 1);
    }
    set_version(f->d, id, "PS1", 39);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.version, 2);
    assert_string_equal(r.policy_id, pid);
    assert_int_equal(r.padbid, padbid);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.changed, 0);
    assert_rows_agree(f->d, "PS1", "2.00");
    char *body = tu_qtext(f->d, "SELECT Body FROM Policy WHERE PolicyID = ?", pid);
    char *v = body_property(body, "ContentVersion");
    assert_string_equal(v, "39");
    free(v);
    free(body);
    free(pid);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Policy", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM PolicyAssignment", NULL), 1);
}

/* Rows that disagree (a writer without a transaction, a hand edit) get a fresh version. */
static void test_repairs(void **state)
{
    fx *f = *state;
    policy_result r;
    char why[200];
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    static const struct {
        const char *sql;
        const char *why;
    } breaks[] = {
        {"UPDATE PolicyAssignment SET InProcess = 1", "InProcess"},
        {"UPDATE Policy SET Body = 'half written'", "PolicyHash"},
        {"UPDATE PolicyAssignment SET Version = '99.00'", "version differs"},
        {"UPDATE PolicyAssignment SET Body = 'x'", "BodyHash"},
        {"UPDATE PolicyAssignment SET BodyHash = NULL", "BodyHash"},
        {"UPDATE Policy SET Version = 'garbage'", "N.00"},
        {"DELETE FROM PolicyAssignment", "missing"},
        {"DELETE FROM Policy", "missing"},
    };
    long long version = 1;
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        assert_int_equal(db_exec(f->d, breaks[i].sql), 0);
        assert_int_equal(policy_verify(f->d, "PS1", why, sizeof why), CM_EPARSE);
        if (!strstr(why, breaks[i].why))
            fail_msg("%s: reason '%s'", breaks[i].sql, why);
        assert_int_equal(policy_update(f->d, "PS1", &r), 0);
        assert_int_equal(r.changed, 1);
        /* Always forward, never back to a version a client may have seen. */
        assert_true(r.version > version);
        version = r.version;
        char vtext[32];
        snprintf(vtext, sizeof vtext, "%lld.00", version);
        assert_rows_agree(f->d, "PS1", vtext);
    }
    /* 2, 3, then past the 99.00 the assignment once claimed: 100 to 105. */
    assert_int_equal(version, 105);
}

static void test_hostile_unique_id_stays_data(void **state)
{
    fx *f = *state;
    policy_result r;
    const char *evil = "]]><x a=\"'&amp;\"/><![CDATA[";
    add_source(f->d, evil, "PS1", 7);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.changed, 1);
    char *body = tu_qtext(f->d, "SELECT Body FROM Policy", NULL);
    char *v = body_property(body, "UniqueID");
    assert_string_equal(v, evil);
    free(v);
    v = body_property(body, "ContentVersion");
    assert_string_equal(v, "7");
    free(v);
    free(body);
    assert_rows_agree(f->d, "PS1", "1.00");
}

static void test_sites_and_expired_sources(void **state)
{
    fx *f = *state;
    policy_result r;
    long long a = add_source(f->d, DOC_SOURCE, "PS1", 38);
    add_source(f->d, "{A0000000-0000-0000-0000-000000000001}", "PS2", 5);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(policy_update(f->d, "PS2", &r), 0);
    assert_string_equal(r.sources, "{A0000000-0000-0000-0000-000000000001}=5");
    assert_rows_agree(f->d, "PS1", "1.00");
    assert_rows_agree(f->d, "PS2", "1.00");
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SettingsPolicy", NULL), 2);
    /* A second source of PS1; then the first expires: each is a change of PS1 only. */
    long long b =
        tu_qint(f->d,
                "SELECT UpdateSource_ID FROM CI_UpdateSources WHERE UpdateSource_UniqueID "
                "= ?",
                "{A0000000-0000-0000-0000-000000000001}");
    tu_sql(f->d,
           "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID, ContentVersion) VALUES "
           "('PS1', ?, 5)",
           "i", b);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.nsources, 2);
    tu_sql(f->d, "UPDATE CI_UpdateSources SET IsExpired = 1 WHERE UpdateSource_ID = ?", "i", a);
    assert_int_equal(policy_update(f->d, "PS1", &r), 0);
    assert_int_equal(r.version, 3);
    assert_string_equal(r.sources, "{A0000000-0000-0000-0000-000000000001}=5");
    char *v = policy_version_of(f->d, "PS2");
    assert_string_equal(v, "1.00");
    free(v);
}

/* ------------------------------------------------------------------ */
/* stn                                                                 */
/* ------------------------------------------------------------------ */

static void on_report(void *ud, int id, char sev, const char *s0, const char *s1, const char *s2,
                      const char *s3)
{
    fx *f = ud;
    (void)sev;
    (void)s0;
    (void)s1;
    (void)s2;
    (void)s3;
    if (f->nreports < MAX_REPORTS)
        f->reports[f->nreports++] = id;
}

static int nreports(fx *f, int id)
{
    int n = 0;
    for (size_t i = 0; i < f->nreports; i++)
        n += f->reports[i] == id;
    return n;
}

static stn make_stn(fx *f, const char *site)
{
    stn s = {.d = f->d, .site = site, .report = on_report, .ud = f};
    return s;
}

/* Run batches until the box is drained, as the daemon loop does. */
static int drain(stn *s, const inbox_dir *box)
{
    int ret, rounds = 0;
    while ((ret = stn_batch(s, box)) == 1)
        rounds++;
    return ret < 0 ? ret : rounds + 1;
}

static void test_name_id(void **state)
{
    (void)state;
    char id[64];
    assert_int_equal(stn_name_id(DOC_SOURCE ".STN", id, sizeof id), 1);
    assert_string_equal(id, DOC_SOURCE);
    assert_int_equal(stn_name_id("{c2d17964-bbdd-4339-b9f3-12d7205b39cc}.stn", id, sizeof id), 1);
    assert_int_equal(stn_name_id("C2D17964-BBDD-4339-B9F3-12D7205B39CC.STN", id, sizeof id), 0);
    assert_int_equal(stn_name_id("{C2D17964-BBDD-4339-B9F3-12D7205B39CG}.STN", id, sizeof id), 0);
    assert_int_equal(stn_name_id("{C2D17964BBDD-4339-B9F3-12D7205B39CCC}.STN", id, sizeof id), 0);
    assert_int_equal(stn_name_id(DOC_SOURCE ".SYN", id, sizeof id), 0);
    assert_int_equal(stn_name_id(DOC_SOURCE ".STN.tmp", id, sizeof id), 0);
    assert_int_equal(stn_name_id("notaguid.STN", id, sizeof id), 0);
    assert_int_equal(stn_name_id(".STN", id, sizeof id), 0);
    assert_int_equal(stn_name_id(DOC_SOURCE ".STN", id, 10), 0);
}

static void test_batch_documented_lines(void **state)
{
    fx *f = *state;
    stn s = make_stn(f, "PS1");
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    /* smsdbmon's non-zero file, and a user's empty one in another case. */
    const char line[] = "UpdSyncStatus_iu UPDATE Update_SyncStatus " DOC_SOURCE " 46680\n";
    put_file(f->box.path, DOC_SOURCE ".STN", line, sizeof line - 1);
    put_file(f->box.path, "{c2d17964-bbdd-4339-b9f3-12d7205b39cc}.stn", "", 0);
    assert_int_equal(drain(&s, &f->box), 1);
    assert_int_equal(s.last.changed, 1);
    assert_int_equal(s.last.version, 1);
    assert_int_equal(count_files(f->box.path), 0);
    assert_int_equal(count_files(f->box.process), 0);
    assert_int_equal(count_files(f->box.corrupt), 0);
    assert_int_equal(nreports(f, 8300), 1);
    assert_int_equal((int)f->nreports, 1);
    char *log = read_file(f->logpath, NULL), want[1200];
    assert_non_null(strstr(log, "Found " DOC_SOURCE ".STN  $$<SMS_POLICY_PROVIDER><"));
    assert_non_null(strstr(log, "Found {c2d17964-bbdd-4339-b9f3-12d7205b39cc}.stn  $$<"));
    /* One source, one "Added Scan Tool ID", in the database's spelling. */
    const char *p = strstr(log, "Added Scan Tool ID " DOC_SOURCE "  $$<");
    assert_non_null(p);
    assert_null(strstr(p + 1, "Added Scan Tool ID"));
    snprintf(want, sizeof want, "Adding to delete list: %s/%s  $$<", f->box.path,
             DOC_SOURCE ".STN");
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof want, "Adding to delete list: %s/%s  $$<", f->box.path,
             "{c2d17964-bbdd-4339-b9f3-12d7205b39cc}.stn");
    assert_non_null(strstr(log, want));
    /* The documented order: found, added, delete list, then the policy. */
    assert_true(strstr(log, "Found ") < strstr(log, "Added Scan Tool ID"));
    assert_true(strstr(log, "Added Scan Tool ID") < strstr(log, "Adding to delete list"));
    assert_true(strstr(log, "Adding to delete list") < strstr(log, "Updated the UpdateSource"));
    free(log);
    assert_rows_agree(f->d, "PS1", "1.00");
    /* Again for the same content version: the files go, the version stays. */
    put_file(f->box.path, DOC_SOURCE ".STN", "", 0);
    assert_int_equal(drain(&s, &f->box), 1);
    assert_int_equal(s.last.changed, 0);
    assert_int_equal(s.last.version, 1);
    assert_int_equal(count_files(f->box.path), 0);
    assert_int_equal(count_files(f->box.process), 0);
}

static void test_batch_bad_names_and_files(void **state)
{
    fx *f = *state;
    stn s = make_stn(f, "PS1");
    char path[1200], big[70000];
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    put_file(f->box.path, "notaguid.STN", "x", 1);
    put_file(f->box.path, "{00000000-0000-0000-0000-000000000001}.STN", "", 0);
    put_file(f->box.path, "readme.txt", "hello", 5);
    memset(big, 'A', sizeof big);
    put_file(f->box.path, "{00000000-0000-0000-0000-000000000002}.STN", big, sizeof big);
    snprintf(path, sizeof path, "%s/{00000000-0000-0000-0000-000000000003}.STN", f->box.path);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    snprintf(path, sizeof path, "%s/{00000000-0000-0000-0000-000000000004}.STN", f->box.path);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/{00000000-0000-0000-0000-000000000005}.STN", f->box.path);
    assert_int_equal(mkdir(path, 0700), 0);
    put_file(f->box.path, "bad\nname.STN", "", 0);
    put_file(f->box.path, DOC_SOURCE ".STN", "", 0);

    assert_int_equal(drain(&s, &f->box), 1);
    /* The good file still made its policy; nothing else was lost or left. */
    assert_int_equal(s.last.version, 1);
    assert_int_equal(nreports(f, 8300), 1);
    assert_int_equal(nreports(f, 8303), 1); /* the unknown update source */
    assert_int_equal(nreports(f, 8302), 6); /* name, txt, size, symlink, fifo, control byte */
    assert_int_equal(count_files(f->box.path), 0);
    assert_int_equal(count_files(f->box.process), 0);
    assert_int_equal(count_files(f->box.corrupt), 7);
    assert_true(exists(f->box.corrupt, "notaguid.STN"));
    assert_true(exists(f->box.corrupt, "{00000000-0000-0000-0000-000000000001}.STN"));
    assert_true(exists(f->box.corrupt, "readme.txt"));
    /* The directory is not a notification and is left alone. */
    assert_true(exists(f->box.path, "{00000000-0000-0000-0000-000000000005}.STN"));
    /* The symlink was moved, never followed. */
    assert_true(exists("/etc", "passwd"));
    char *log = read_file(f->logpath, NULL);
    assert_non_null(strstr(log, "ERROR: Rejected notaguid.STN: the name is not an update source "
                                "unique ID ({GUID}.STN). The file was moved to "));
    assert_non_null(strstr(log, "ERROR: Rejected {00000000-0000-0000-0000-000000000001}.STN: no "
                                "update source in CI_UpdateSources has this ID."));
    assert_non_null(strstr(log, "ERROR: Rejected bad?name.STN"));
    free(log);
    /* A second pass finds nothing new: each bad file was handled once. */
    f->nreports = 0;
    assert_int_equal(drain(&s, &f->box), 1);
    assert_int_equal((int)f->nreports, 0);
}

static void test_burst_of_1000_makes_one_version(void **state)
{
    fx *f = *state;
    stn s = make_stn(f, "PS1");
    const char *id = DOC_SOURCE;
    char name[64];
    int letters[40], nletters = 0;
    add_source(f->d, id, "PS1", 38);
    for (int i = 0; id[i]; i++)
        if ((id[i] >= 'A' && id[i] <= 'F'))
            letters[nletters++] = i;
    assert_true(nletters >= 10);
    /* 600 spellings of the known source (case of letters and extension), ... */
    for (int n = 0; n < 600; n++) {
        snprintf(name, sizeof name, "%s%s", id, n & 1 ? ".stn" : ".STN");
        for (int k = 0; k < nletters; k++)
            if ((n >> (k + 1)) & 1)
                name[letters[k]] = (char)(name[letters[k]] - 'A' + 'a');
        put_file(f->box.path, name, n % 3 ? "" : "x\n", n % 3 ? 0 : 2);
    }
    /* ... 300 unknown sources and 100 names that are no ID at all. */
    for (int n = 0; n < 300; n++) {
        snprintf(name, sizeof name, "{00000000-0000-0000-0000-%012d}.STN", n);
        put_file(f->box.path, name, "", 0);
    }
    for (int n = 0; n < 100; n++) {
        snprintf(name, sizeof name, "bad%03d.STN", n);
        put_file(f->box.path, name, "", 0);
    }
    assert_int_equal(count_files(f->box.path), 1000);
    int rounds = drain(&s, &f->box);
    assert_true(rounds >= 1000 / STN_BATCH);
    char *v = policy_version_of(f->d, "PS1");
    assert_string_equal(v, "1.00");
    free(v);
    assert_int_equal(nreports(f, 8300), 1);
    assert_int_equal(nreports(f, 8303), 300);
    assert_int_equal(nreports(f, 8302), 100);
    assert_int_equal(count_files(f->box.path), 0);
    assert_int_equal(count_files(f->box.process), 0);
    assert_int_equal(count_files(f->box.corrupt), 400);
    assert_rows_agree(f->d, "PS1", "1.00");
}

/* Leftovers in process/ (start-up recovery leaves a file there when its name is in the box again).
 */
static void test_leftovers_in_process(void **state)
{
    fx *f = *state;
    stn s = make_stn(f, "PS1");
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    put_file(f->box.process, DOC_SOURCE ".STN", "old", 3);
    put_file(f->box.path, DOC_SOURCE ".STN", "new", 3);
    put_file(f->box.process, "{c2d17964-bbdd-4339-b9f3-12d7205b39cc}.STN", "", 0);
    put_file(f->box.process, "stray.txt", "", 0);
    assert_true(drain(&s, &f->box) >= 1);
    assert_int_equal(count_files(f->box.path), 0);
    assert_int_equal(count_files(f->box.process), 0);
    assert_int_equal(count_files(f->box.corrupt), 1);
    assert_true(exists(f->box.corrupt, "stray.txt"));
    assert_int_equal(nreports(f, 8300), 1);
    assert_int_equal(nreports(f, 8302), 1);
    char *v = policy_version_of(f->d, "PS1");
    assert_string_equal(v, "1.00");
    free(v);
    char *log = read_file(f->logpath, NULL);
    assert_null(strstr(log, "Cannot claim"));
    free(log);
}

/* A write that fails is rolled back whole, and the files wait in the box. */
static void test_failed_write_keeps_files(void **state)
{
    fx *f = *state;
    stn s = make_stn(f, "PS1");
    add_source(f->d, DOC_SOURCE, "PS1", 38);
    put_file(f->box.path, DOC_SOURCE ".STN", "", 0);
    assert_int_equal(db_exec(f->d, "ALTER TABLE PolicyAssignment RENAME TO PolicyAssignment_gone"),
                     0);
    int ret = stn_batch(&s, &f->box);
    assert_true(ret < 0);
    assert_int_equal(nreports(f, 8301), 1);
    assert_true(exists(f->box.path, DOC_SOURCE ".STN"));
    assert_int_equal(count_files(f->box.process), 0);
    /* The Policy row written before the failure went with the rollback. */
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Policy", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SettingsPolicy", NULL), 0);
    char *log = read_file(f->logpath, NULL);
    assert_non_null(strstr(log, "ERROR: Failed to update the UpdateSource policy of site PS1: "));
    free(log);
    assert_int_equal(db_exec(f->d, "ALTER TABLE PolicyAssignment_gone RENAME TO PolicyAssignment"),
                     0);
    assert_int_equal(drain(&s, &f->box), 1);
    assert_int_equal(s.last.version, 1);
    assert_int_equal(count_files(f->box.path), 0);
    assert_rows_agree(f->d, "PS1", "1.00");
}

/* ------------------------------------------------------------------ */
/* wsusloc                                                             */
/* ------------------------------------------------------------------ */

static void test_parse_documents_request(void **state)
{
    (void)state;
    wsusloc_request r;
    char why[256];
    char *doc = golden("mp_location_request.xml");
    assert_int_equal(wsusloc_parse_request(doc, strlen(doc), &r, why, sizeof why), 0);
    assert_string_equal(r.content_id, DOC_SOURCE);
    assert_int_equal(r.version, 38);
    assert_string_equal(r.assigned_site, "PS1");
    assert_int_equal(r.on_internet, 0);
    assert_string_equal(r.forest, "CONTOSO.COM");
    assert_string_equal(r.domain, "CONTOSO.COM");

    /* The same request as UTF-16LE with its byte-order mark. */
    size_t n = strlen(doc);
    char *u16 = calloc(1, 2 * n + 2);
    u16[0] = (char)0xFF;
    u16[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++)
        u16[2 + 2 * i] = doc[i];
    memset(&r, 0, sizeof r);
    assert_int_equal(wsusloc_parse_request(u16, 2 * n + 2, &r, why, sizeof why), 0);
    assert_string_equal(r.content_id, DOC_SOURCE);
    assert_int_equal(r.version, 38);
    free(u16);
    free(doc);
}

static void test_parse_malformed_corpus(void **state)
{
    (void)state;
    static const struct {
        const char *xml;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"not xml at all", "well-formed"},
        {"<WSUSLocationRequest SchemaVersion=\"1.00\"><Content ID=\"" DOC_SOURCE "\"",
         "well-formed"},
        {"<Other><Content ID=\"" DOC_SOURCE "\" Version=\"38\"/></Other>", "not a WSUSLocation"},
        {"<WSUSLocationRequest/>", "no Content"},
        {"<WSUSLocationRequest><Content Version=\"38\"/></WSUSLocationRequest>", "Content ID"},
        {"<WSUSLocationRequest><Content ID=\"C2D17964\" Version=\"38\"/></WSUSLocationRequest>",
         "Content ID"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE "\"/></WSUSLocationRequest>",
         "Content Version"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"-1\"/></WSUSLocationRequest>",
         "Content Version"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"99999999999999\"/></WSUSLocationRequest>",
         "Content Version"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38 OR 1=1\"/></WSUSLocationRequest>",
         "Content Version"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38\"/><Content ID=\"" DOC_SOURCE "\" Version=\"39\"/></WSUSLocationRequest>",
         "more than one"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38\"/><AssignedSite SiteCode=\"P'1\"/></WSUSLocationRequest>",
         "SiteCode"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38\"/><AssignedSite SiteCode=\"PS10\"/></WSUSLocationRequest>",
         "SiteCode"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38\"/><ClientLocationInfo OnInternet=\"maybe\"/></WSUSLocationRequest>",
         "OnInternet"},
        /* XXE: an external entity naming a local file. */
        {"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
         "<WSUSLocationRequest><Content ID=\"&x;\" Version=\"38\"/></WSUSLocationRequest>",
         "DOCTYPE"},
        /* An external DTD over the network. */
        {"<!DOCTYPE WSUSLocationRequest SYSTEM \"http://127.0.0.1:1/x.dtd\">"
         "<WSUSLocationRequest/>",
         "DOCTYPE"},
        /* Billion laughs. */
        {"<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
         "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d "
         "\"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
         "<WSUSLocationRequest><Content ID=\"&d;\" Version=\"38\"/></WSUSLocationRequest>",
         "DOCTYPE"},
        {"<WSUSLocationRequest><Content ID=\"" DOC_SOURCE
         "\" Version=\"38\"/></WSUSLocationRequest><second/>",
         "well-formed"},
    };
    wsusloc_request r;
    char why[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ret = wsusloc_parse_request(bad[i].xml, strlen(bad[i].xml), &r, why, sizeof why);
        if (ret >= 0 || !strstr(why, bad[i].why))
            fail_msg("case %zu: ret %d, reason '%s', wanted '%s'", i, ret, why, bad[i].why);
    }
    /* A DOCTYPE in UTF-16 is found too. */
    const char *dt = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r/>";
    size_t n = strlen(dt);
    char *u16 = calloc(1, 2 * n + 2);
    u16[0] = (char)0xFF;
    u16[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++)
        u16[2 + 2 * i] = dt[i];
    assert_int_equal(wsusloc_parse_request(u16, 2 * n + 2, &r, why, sizeof why), CM_EPARSE);
    assert_non_null(strstr(why, "DOCTYPE"));
    free(u16);
    /* Oversized, and NUL bytes in the middle. */
    char *huge = malloc(WSUSLOC_MAX_REQUEST + 10);
    memset(huge, ' ', WSUSLOC_MAX_REQUEST + 10);
    assert_int_equal(wsusloc_parse_request(huge, WSUSLOC_MAX_REQUEST + 10, &r, why, sizeof why),
                     CM_ETOOBIG);
    free(huge);
    const char nul[] = "<WSUSLocationRequest>\0<Content/></WSUSLocationRequest>";
    assert_int_equal(wsusloc_parse_request(nul, sizeof nul - 1, &r, why, sizeof why), CM_EPARSE);
}

/*
 * A seeded mutation run over the documents' request (flipped, dropped and
 * inserted bytes, cuts, hostile fragments): the parser must answer every
 * mutant with 0 or an error, never crash or read out of bounds (the
 * sanitizer build checks that), and whatever it accepts must be valid.
 */
static void test_parse_mutations(void **state)
{
    (void)state;
    static const char *frags[] = {"<!DOCTYPE x [<!ENTITY e \"a\">]>",
                                  "&e;",
                                  "<![CDATA[",
                                  "]]>",
                                  "\xef\xbb\xbf",
                                  "<Content ID=\"{",
                                  "\"",
                                  "\xff\xfe",
                                  "&#0;",
                                  "<?xml version=\"1.0\" encoding=\"UTF-16\"?>"};
    char *doc = golden("mp_location_request.xml");
    size_t n = strlen(doc), accepted = 0;
    char buf[2048], why[256];
    unsigned long long x = 0x9E3779B97F4A7C15ULL;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, doc, n);
        size_t len = n;
        int edits = 1 + iter % 4;
        for (int k = 0; k < edits; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x % (len ? len : 1));
            switch ((x >> 32) % 5) {
            case 0: /* flip a byte */
                buf[at] = (char)(x >> 40);
                break;
            case 1: /* drop a byte */
                if (len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            case 2: /* cut */
                len = at;
                break;
            case 3: { /* insert a fragment */
                const char *f = frags[(x >> 48) % (sizeof frags / sizeof frags[0])];
                size_t fl = strlen(f);
                if (len + fl < sizeof buf) {
                    memmove(buf + at + fl, buf + at, len - at);
                    memcpy(buf + at, f, fl);
                    len += fl;
                }
                break;
            }
            default: /* a NUL */
                buf[at] = '\0';
            }
        }
        wsusloc_request r;
        if (wsusloc_parse_request(buf, len, &r, why, sizeof why) == 0) {
            accepted++;
            assert_int_equal(wsusloc_guid_valid(r.content_id), 1);
            assert_true(r.version >= 0 && r.version <= 999999999);
        } else {
            assert_true(why[0] != '\0');
        }
    }
    /* Some mutants (in the IP addresses, say) stay valid requests. */
    assert_true(accepted > 0);
    free(doc);
}

static void test_request_round_trip(void **state)
{
    (void)state;
    wsusloc_request a = {0}, b;
    char buf[2048], why[256];
    snprintf(a.content_id, sizeof a.content_id, "%s", DOC_SOURCE);
    a.version = 38;
    snprintf(a.assigned_site, sizeof a.assigned_site, "PS1");
    a.on_internet = 1;
    snprintf(a.forest, sizeof a.forest, "CONTOSO.COM & \"friends\" <x>");
    assert_true(wsusloc_request_xml(&a, buf, sizeof buf) > 0);
    assert_int_equal(wsusloc_parse_request(buf, strlen(buf), &b, why, sizeof why), 0);
    assert_string_equal(b.content_id, a.content_id);
    assert_int_equal(b.version, 38);
    assert_string_equal(b.assigned_site, "PS1");
    assert_int_equal(b.on_internet, 1);
    assert_string_equal(b.forest, a.forest);
    assert_int_equal(wsusloc_request_xml(&a, buf, 20), CM_ETOOBIG);
}

static void test_reply_golden_and_escaping(void **state)
{
    (void)state;
    wsusloc_reply r = {0};
    char buf[4096];
    snprintf(r.site, sizeof r.site, "PS1");
    r.n = 2;
    snprintf(r.rec[0].url, sizeof r.rec[0].url, "http://PS1SITE.CONTOSO.COM:8530");
    snprintf(r.rec[0].server, sizeof r.rec[0].server, "PS1SITE.CONTOSO.COM");
    r.rec[0].version = 38;
    snprintf(r.rec[1].url, sizeof r.rec[1].url, "https://PS1SYS.CONTOSO.COM:8531");
    snprintf(r.rec[1].server, sizeof r.rec[1].server, "PS1SYS.CONTOSO.COM");
    r.rec[1].version = 38;
    assert_true(wsusloc_reply_xml(&r, buf, sizeof buf) > 0);
    char *want = golden("mp_location_reply.xml");
    assert_string_equal(buf, want);
    free(want);
    r.n = 0;
    assert_true(wsusloc_reply_xml(&r, buf, sizeof buf) > 0);
    assert_string_equal(buf,
                        "<WSUSLocationReply SchemaVersion=\"1.00\"><Sites/></WSUSLocationReply>");
    r.n = 1;
    snprintf(r.rec[0].url, sizeof r.rec[0].url, "http://x/?a=1&b=\"2\"<'>");
    assert_true(wsusloc_reply_xml(&r, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "WSUSURL=\"http://x/?a=1&amp;b=&quot;2&quot;&lt;&apos;&gt;\""));
    xmlDocPtr doc = xmlReadMemory(buf, (int)strlen(buf), "r.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlFreeDoc(doc);
    assert_int_equal(wsusloc_reply_xml(&r, buf, 30), CM_ETOOBIG);
    assert_int_equal(wsusloc_guid_valid(DOC_SOURCE), 1);
    assert_int_equal(wsusloc_guid_valid("{c2d17964-bbdd-4339-b9f3-12d7205b39cc}"), 1);
    assert_int_equal(wsusloc_guid_valid("{C2D17964-BBDD-4339-B9F3-12D7205B39C}"), 0);
    assert_int_equal(wsusloc_guid_valid(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* lookup                                                              */
/* ------------------------------------------------------------------ */

/* The documents' site: PS1 with two SUPs at content version 38. */
static long long doc_site(fx *f)
{
    long long id = add_source(f->d, DOC_SOURCE, "PS1", 38);
    add_location(f->d, id, "PS1", "PS1SYS.CONTOSO.COM", "https://PS1SYS.CONTOSO.COM:8531", 38, 0,
                 2);
    add_location(f->d, id, "PS1", "PS1SITE.CONTOSO.COM", "http://PS1SITE.CONTOSO.COM:8530", 38, 0,
                 1);
    return id;
}

static void ask(fx *f, const char *id, long long version, const char *site, int internet,
                wsusloc_reply *out)
{
    wsusloc_request r = {0};
    snprintf(r.content_id, sizeof r.content_id, "%s", id);
    r.version = version;
    snprintf(r.assigned_site, sizeof r.assigned_site, "%s", site ? site : "");
    r.on_internet = internet;
    if (wsusloc_lookup(f->d, &r, "PS1", out) < 0)
        fail_msg("lookup: %s", db_errmsg(f->d));
}

static void test_lookup_the_documents_case(void **state)
{
    fx *f = *state;
    wsusloc_reply r;
    char buf[4096];
    doc_site(f);
    char *doc = golden("mp_location_request.xml");
    wsusloc_request req;
    assert_int_equal(wsusloc_parse_request(doc, strlen(doc), &req, NULL, 0), 0);
    free(doc);
    assert_int_equal(wsusloc_lookup(f->d, &req, "CS1", &r), 0);
    assert_int_equal(r.n, 2);
    assert_true(wsusloc_reply_xml(&r, buf, sizeof buf) > 0);
    char *want = golden("mp_location_reply.xml");
    assert_string_equal(buf, want);
    free(want);
    /* The unique ID in another case, and no assigned site (the MP's own). */
    ask(f, "{c2d17964-bbdd-4339-b9f3-12d7205b39cc}", 38, NULL, 0, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.site, "PS1");
}

static void test_lookup_versions_must_agree(void **state)
{
    fx *f = *state;
    wsusloc_reply r;
    char why[512];
    wsusloc_request req = {0};
    long long id = doc_site(f);
    ask(f, DOC_SOURCE, 37, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    ask(f, DOC_SOURCE, 39, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    snprintf(req.content_id, sizeof req.content_id, "%s", DOC_SOURCE);
    req.version = 39;
    wsusloc_explain(&req, &r, why, sizeof why);
    assert_non_null(strstr(why, "The content versions disagree: the client asks for 39, "
                                "CI_UpdateSources holds 38, Update_SyncStatus 38 and "
                                "WSUSServerLocations 38"));
    /* A failed sync: the source and the sync status moved on, the locations did not. */
    tu_sql(f->d, "UPDATE CI_UpdateSources SET ContentVersion = 39", NULL);
    tu_sql(f->d, "UPDATE Update_SyncStatus SET ContentVersion = 39", NULL);
    ask(f, DOC_SOURCE, 39, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    ask(f, DOC_SOURCE, 38, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    /* One of the three only. */
    set_version(f->d, id, "PS1", 40);
    tu_sql(f->d, "UPDATE CI_UpdateSources SET ContentVersion = 41", NULL);
    ask(f, DOC_SOURCE, 40, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    set_version(f->d, id, "PS1", 40);
    ask(f, DOC_SOURCE, 40, "PS1", 0, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rec[0].version, 40);
    assert_string_equal(r.rec[0].url, "http://PS1SITE.CONTOSO.COM:8530");
}

static void test_lookup_unknown_site_and_network(void **state)
{
    fx *f = *state;
    wsusloc_reply r;
    char why[512];
    wsusloc_request req = {0};
    long long id = doc_site(f);
    snprintf(req.content_id, sizeof req.content_id, "%s", "{00000000-0000-0000-0000-000000000009}");
    ask(f, req.content_id, 38, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
    wsusloc_explain(&req, &r, why, sizeof why);
    assert_non_null(strstr(why, "is not in CI_UpdateSources"));
    snprintf(req.content_id, sizeof req.content_id, "%s", DOC_SOURCE);
    ask(f, DOC_SOURCE, 38, "PS2", 0, &r);
    assert_int_equal(r.n, 0);
    wsusloc_explain(&req, &r, why, sizeof why);
    assert_non_null(strstr(why, "Site PS2 has no Update_SyncStatus row"));
    /* No Internet-facing SUP yet, then one. */
    ask(f, DOC_SOURCE, 38, "PS1", 1, &r);
    assert_int_equal(r.n, 0);
    req.on_internet = 1;
    wsusloc_explain(&req, &r, why, sizeof why);
    assert_non_null(strstr(why, "no Internet-facing WSUS server location"));
    add_location(f->d, id, "PS1", "PS1DMZ.CONTOSO.COM", "https://ps1dmz.contoso.com:8531", 38, 1,
                 3);
    ask(f, DOC_SOURCE, 38, "PS1", 1, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.rec[0].server, "PS1DMZ.CONTOSO.COM");
    ask(f, DOC_SOURCE, 38, "PS1", 0, &r);
    assert_int_equal(r.n, 2);
    /* An expired source has no location. */
    tu_sql(f->d, "UPDATE CI_UpdateSources SET IsExpired = 1", NULL);
    ask(f, DOC_SOURCE, 38, "PS1", 0, &r);
    assert_int_equal(r.n, 0);
}

/* ------------------------------------------------------------------ */
/* mp                                                                  */
/* ------------------------------------------------------------------ */

typedef struct reply_buf {
    char data[16384];
    size_t len;
} reply_buf;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    reply_buf *b = ud;
    size_t add = sz * n;
    if (b->len + add >= sizeof b->data)
        add = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return sz * n;
}

static long http(int port, const char *method, const char *path, const char *body, size_t len,
                 reply_buf *out)
{
    char url[256];
    long code = 0;
    CURL *c = curl_easy_init();
    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void test_mp_answers_and_refuses(void **state)
{
    fx *f = *state;
    mploc *m;
    reply_buf out;
    doc_site(f);
    log_set_verbose(1);
    mploc_config cfg = {f->conn, "PS1", "ps1site.contoso.com", "MP_LocationManager", 0};
    assert_int_equal(mploc_start(&m, &cfg), 0);
    int port = mploc_port(m);
    assert_true(port > 0);

    char *doc = golden("mp_location_request.xml");
    assert_int_equal(http(port, NULL, MPLOC_PATH, doc, strlen(doc), &out), 200);
    char *want = golden("mp_location_reply.xml");
    assert_string_equal(out.data, want);
    free(want);
    /* CCM messaging's own verb works too. */
    assert_int_equal(http(port, "CCM_POST", MPLOC_PATH, doc, strlen(doc), &out), 200);
    free(doc);
    /* An older content version: an empty reply, not an error. */
    const char older[] =
        "<WSUSLocationRequest SchemaVersion=\"1.00\"><Content ID=\"" DOC_SOURCE
        "\" Version=\"37\"/><AssignedSite SiteCode=\"PS1\"/></WSUSLocationRequest>";
    assert_int_equal(http(port, NULL, MPLOC_PATH, older, sizeof older - 1, &out), 200);
    assert_string_equal(out.data,
                        "<WSUSLocationReply SchemaVersion=\"1.00\"><Sites/></WSUSLocationReply>");

    /* Refusals: malformed (400), too large (413), wrong verb and path. */
    const char *bad[] = {"garbage", "<WSUSLocationRequest/>",
                         "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(http(port, NULL, MPLOC_PATH, bad[i], strlen(bad[i]), &out), 400);
    char *big = malloc(WSUSLOC_MAX_REQUEST + 100);
    memset(big, 'x', WSUSLOC_MAX_REQUEST + 100);
    assert_int_equal(http(port, NULL, MPLOC_PATH, big, WSUSLOC_MAX_REQUEST + 100, &out), 413);
    free(big);
    assert_int_equal(http(port, "GET", MPLOC_PATH, NULL, 0, &out), 405);
    assert_int_equal(http(port, NULL, "/SMS_MP/.sms_aut", "x", 1, &out), 404);
    /* Still serving. */
    assert_int_equal(http(port, NULL, MPLOC_PATH, older, sizeof older - 1, &out), 200);
    mploc_stop(m);
    log_set_verbose(0);

    /* One status message per refused request (400 and 413), stored by the listener. */
    assert_int_equal(tu_qint(f->d,
                             "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 8340 AND "
                             "Component = 'MP_LocationManager'",
                             NULL),
                     4);
    char *log = read_file(f->logpath, NULL);
    assert_non_null(strstr(log, "MP LM: Message Body : <WSUSLocationRequest SchemaVersion=\"1.00\">"
                                "<Content ID=\"" DOC_SOURCE "\" Version=\"38\"/>"));
    assert_non_null(strstr(log, "MP LM: calling MP_GetWSUSServerLocations  $$<"));
    assert_non_null(strstr(log, "MP LM: Reply message body:~<WSUSLocationReply SchemaVersion="));
    assert_non_null(strstr(log, "ERROR: MP LM: Rejected a WSUS location request from 127.0.0.1: "
                                "a DOCTYPE is not allowed"));
    assert_non_null(strstr(log, "MP LM: No WSUS location for update source " DOC_SOURCE
                                " version 37: The content versions disagree"));
    free(log);
}

static void test_mp_without_database(void **state)
{
    fx *f = *state;
    mploc *m;
    reply_buf out;
    char conn[600];
    snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s/no/such/dir/site.db", f->dir);
    mploc_config cfg = {conn, "PS1", "ps1site.contoso.com", "MP_LocationManager", 0};
    assert_int_equal(mploc_start(&m, &cfg), 0);
    char *doc = golden("mp_location_request.xml");
    assert_int_equal(http(mploc_port(m), NULL, MPLOC_PATH, doc, strlen(doc), &out), 503);
    assert_int_equal(http(mploc_port(m), NULL, MPLOC_PATH, doc, strlen(doc), &out), 503);
    free(doc);
    mploc_stop(m);
    char *log = read_file(f->logpath, NULL);
    /* Said once, not at every request. */
    const char *p = strstr(log, "MP LM: MP_GetWSUSServerLocations failed: ");
    assert_non_null(p);
    assert_null(strstr(p + 1, "MP LM: MP_GetWSUSServerLocations failed: "));
    assert_non_null(strstr(log, "STATMSG: ID=8342 SEV=E"));
    free(log);
    /* A port that is taken is refused, not shared. */
    mploc *a, *b;
    mploc_config c2 = {f->conn, "PS1", "x", "MP_LocationManager", 0};
    assert_int_equal(mploc_start(&a, &c2), 0);
    c2.port = mploc_port(a);
    assert_int_equal(mploc_start(&b, &c2), -EADDRINUSE);
    mploc_stop(a);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const struct CMUnitTest policy[] = {
        cmocka_unit_test(test_hash_and_crc),
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test(test_bodies_golden),
        cmocka_unit_test_setup_teardown(test_no_policy_before_a_sync, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_first_policy_and_the_documents_query, setup_db,
                                        teardown_db),
        cmocka_unit_test_setup_teardown(test_no_change_no_version_and_one_increment_per_change,
                                        setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_repairs, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_hostile_unique_id_stays_data, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_sites_and_expired_sources, setup_db, teardown_db),
    };
    const struct CMUnitTest stn_tests[] = {
        cmocka_unit_test(test_name_id),
        cmocka_unit_test_setup_teardown(test_batch_documented_lines, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_batch_bad_names_and_files, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_burst_of_1000_makes_one_version, setup_db,
                                        teardown_db),
        cmocka_unit_test_setup_teardown(test_leftovers_in_process, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_files, setup_db, teardown_db),
    };
    const struct CMUnitTest wsusloc[] = {
        cmocka_unit_test(test_parse_documents_request),
        cmocka_unit_test(test_parse_malformed_corpus),
        cmocka_unit_test(test_parse_mutations),
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_reply_golden_and_escaping),
    };
    const struct CMUnitTest lookup[] = {
        cmocka_unit_test_setup_teardown(test_lookup_the_documents_case, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_lookup_versions_must_agree, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_lookup_unknown_site_and_network, setup_db,
                                        teardown_db),
    };
    const struct CMUnitTest mp[] = {
        cmocka_unit_test_setup_teardown(test_mp_answers_and_refuses, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_mp_without_database, setup_db, teardown_db),
    };
    const char *g = argc > 1 ? argv[1] : "all";
    int all = strcmp(g, "all") == 0, failed = 0, found = 0;
    xmlInitParser();
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define GROUP(name, tests)                                                                         \
    if (all || strcmp(g, name) == 0) {                                                             \
        found = 1;                                                                                 \
        failed +=                                                                                  \
            _cmocka_run_group_tests(name, tests, sizeof tests / sizeof tests[0], NULL, NULL);      \
    }
    GROUP("policy", policy)
    GROUP("stn", stn_tests)
    GROUP("wsusloc", wsusloc)
    GROUP("lookup", lookup)
    GROUP("mp", mp)
#undef GROUP
    curl_global_cleanup();
    xmlCleanupParser();
    if (!found) {
        fprintf(stderr, "policypv-unit: no test group named '%s'\n", g);
        return 2;
    }
    return failed ? 1 : 0;
}
