/*
 * policy.c - write and check the UpdateSource policy of a site.  The
 * statements follow the SQL the documents show Policy Provider running
 * (seed 004 "Policy Provider creates or updates the UpdateSource Policy"):
 * read SettingsPolicy, set the Policy version and body, set the
 * PolicyAssignment version with InProcess 1 and no BodyHash, set its body,
 * then InProcess 0 with the hash.  Here they all run in one transaction,
 * so a reader, a crash or a lost server never leaves a half-written policy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cm_error.h"
#include "policy.h"

#define ID_MAX 257 /* the ID columns are VARCHAR(256) */

/* The hash algorithm columns as the documents show them (CALG_SHA_256). */
#define HASH_ALG_OID "1.2.840.113549.1.1.11"
#define HASH_ALG_ID 32780

/* ------------------------------------------------------------------ */
/* Hashes and identifiers                                              */
/* ------------------------------------------------------------------ */

int policy_hash(const char *data, size_t len, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789ABCDEF";

    if (outlen < 7 + 64 + 1)
        return CM_ERANGE;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return CM_EDB;
    memcpy(out, "SHA256:", 7);
    for (unsigned i = 0; i < mdlen; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[7 + 2 * mdlen] = '\0';
    return 0;
}

static unsigned long crc32_update(unsigned long crc, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320UL & (0UL - (crc & 1UL)));
    }
    return crc;
}

void policy_source_crc(const policy_source *src, size_t n, char out[9])
{
    unsigned long crc = 0xFFFFFFFFUL;
    char buf[128];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "%s=%lld;", src[i].unique_id, src[i].content_version);
        crc = crc32_update(crc, buf, (size_t)len < sizeof buf ? (size_t)len : sizeof buf - 1);
    }
    snprintf(out, 9, "%08lx", (crc ^ 0xFFFFFFFFUL) & 0xFFFFFFFFUL);
}

long long policy_version_parse(const char *s)
{
    char *end;
    long long v;
    if (!s || *s < '0' || *s > '9')
        return 0;
    v = strtoll(s, &end, 10);
    return strcmp(end, ".00") == 0 && v > 0 ? v : 0;
}

/* A new {guid}, lower case as the documents show policy IDs. */
static int new_guid(char *buf, size_t len)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return CM_EDB;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(buf, len, "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Bodies                                                              */
/* ------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t used, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->used + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->used + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->used, s, n);
    b->used += n;
    b->p[b->used] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Text escaped for XML; inside the CDATA section too, so "]]>" can never end it early. */
static void sb_esc(sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
            break;
        case '"':
            sb_puts(b, "&quot;");
            break;
        case '\'':
            sb_puts(b, "&apos;");
            break;
        default:
            sb_put(b, s, 1);
        }
    }
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int sb_finish(sbuf *b, char **out)
{
    if (b->oom || !b->p) {
        free(b->p);
        *out = NULL;
        return -ENOMEM;
    }
    *out = b->p;
    return 0;
}

int policy_body(const char *site, const char *policy_id, long long version,
                const policy_source *src, size_t n, char **out)
{
    sbuf b = {0};
    sb_puts(&b, "<Policy PolicyID=\"");
    sb_esc(&b, policy_id);
    sb_printf(&b, "\" PolicyVersion=\"%lld.00\" PolicyType=\"Machine\" ", version);
    sb_puts(&b, "PolicyCategory=\"UpdateSource\" PolicySource=\"SMS:");
    sb_esc(&b, site);
    sb_puts(&b, "\">");
    for (size_t i = 0; i < n; i++) {
        /* One rule per source; its ID is the source's, so it stays the same across versions. */
        sb_puts(&b, "\n\t<PolicyRule PolicyRuleID=\"");
        sb_esc(&b, src[i].unique_id);
        sb_puts(&b, "\">\n\t\t<PolicyAction PolicyActionType=\"WMI-XML\"><![CDATA[");
        sb_puts(&b, "<instance class=\"CCM_UpdateSource\">\n");
        sb_puts(&b, "\t<property name=\"UniqueID\" type=\"8\"><value>");
        sb_esc(&b, src[i].unique_id);
        sb_puts(&b, "</value></property>\n");
        sb_puts(&b, "\t<property name=\"ContentType\" type=\"19\"><value>2</value></property>\n");
        sb_printf(
            &b, "\t<property name=\"ContentVersion\" type=\"19\"><value>%lld</value></property>\n",
            src[i].content_version);
        sb_puts(&b, "</instance>]]></PolicyAction>\n\t</PolicyRule>");
    }
    sb_puts(&b, "\n</Policy>");
    return sb_finish(&b, out);
}

int policy_assignment_body(const char *site, const char *assignment_id, const char *policy_id,
                           long long version, const char *policy_hash, char **out)
{
    sbuf b = {0};
    sb_puts(&b, "<PolicyAssignment PolicyAssignmentID=\"");
    sb_esc(&b, assignment_id);
    sb_puts(&b, "\">\n\t<Policy PolicyID=\"");
    sb_esc(&b, policy_id);
    sb_printf(&b, "\" PolicyVersion=\"%lld.00\" PolicySource=\"SMS:", version);
    sb_esc(&b, site);
    sb_puts(&b, "\" PolicyCategory=\"UpdateSource\" PolicyHash=\"");
    sb_esc(&b, policy_hash);
    sb_puts(&b, "\"/>\n</PolicyAssignment>");
    return sb_finish(&b, out);
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

typedef struct param {
    int kind; /* 0 text, 1 integer */
    long long i;
    const char *s;
} param;

#define PT(x)                                                                                      \
    {                                                                                              \
        0, 0, (x)                                                                                  \
    }
#define PI(x)                                                                                      \
    {                                                                                              \
        1, (x), NULL                                                                               \
    }

/* The current UTC time in the dialect's words (the LastUpdateTime columns are UTC). */
static const char *now_utc(db *d)
{
    switch (db_get_dialect(d)) {
    case DB_DIALECT_POSTGRES:
        return "(now() AT TIME ZONE 'utc')";
    case DB_DIALECT_MSSQL:
        return "GETUTCDATE()";
    default:
        return "CURRENT_TIMESTAMP";
    }
}

static int prepare_bound(db *d, db_stmt **st, const char *sql, const param *p, size_t n)
{
    int ret = db_prepare(d, st, sql);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = p[i].kind == 1 ? db_bind_int(*st, (int)i + 1, p[i].i)
                             : db_bind_text(*st, (int)i + 1, p[i].s);
    if (ret < 0)
        db_finalize(*st);
    return ret;
}

/* Run a statement that returns no rows. */
static int run(db *d, const char *sql, const param *p, size_t n)
{
    db_stmt *st;
    int ret = prepare_bound(d, &st, sql, p, n);
    if (ret < 0)
        return ret;
    ret = db_step(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

/* The same, with "%s" in sql standing for the current UTC time. */
static int run_now(db *d, const char *sql_fmt, const param *p, size_t n)
{
    char sql[1024];
    snprintf(sql, sizeof sql, sql_fmt, now_utc(d));
    return run(d, sql, p, n);
}

#define NP(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

typedef struct stored {
    int has_settings;
    char policy_id[ID_MAX], assignment_id[ID_MAX], source_crc[72];
    long long padbid;
    int has_policy;
    char version[40];
    char *body;
    char hash[300];
    int has_pa;
    long long pa_padbid, in_process, tombstoned;
    char pa_policy_id[ID_MAX], pa_version[40], pa_hash[300];
    char *pa_body;
} stored;

static void stored_free(stored *s)
{
    free(s->body);
    free(s->pa_body);
}

static char *dup_col(db_stmt *st, int col)
{
    return strdup(db_col_text(st, col));
}

static int load_sources(db *d, const char *site, policy_source *src, size_t *n)
{
    static const char sql[] =
        "SELECT us.UpdateSource_UniqueID, ss.ContentVersion FROM Update_SyncStatus ss "
        "JOIN CI_UpdateSources us ON us.UpdateSource_ID = ss.UpdateSource_ID "
        "WHERE ss.SiteCode = ? AND us.IsExpired = 0 AND ss.ContentVersion > 0 "
        "ORDER BY us.UpdateSource_ID";
    const param p[] = {PT(site)};
    db_stmt *st;
    int ret = prepare_bound(d, &st, sql, p, NP(p));
    *n = 0;
    if (ret < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        if (*n == POLICY_MAX_SOURCES)
            continue;
        snprintf(src[*n].unique_id, sizeof src[*n].unique_id, "%s", db_col_text(st, 0));
        src[*n].content_version = db_col_int(st, 1);
        (*n)++;
    }
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

static int load_stored(db *d, const char *site, stored *s)
{
    db_stmt *st;
    int ret;
    memset(s, 0, sizeof *s);

    /* The documents' first statement. */
    const param p1[] = {PT(site)};
    ret =
        prepare_bound(d, &st,
                      "SELECT PolicyID, PolicyAssignmentID, SourceCRC, PADBID FROM SettingsPolicy "
                      "WHERE SourceID = ? AND SourceType = 'UpdateSource'",
                      p1, NP(p1));
    if (ret < 0)
        return ret;
    if ((ret = db_step(st)) == 1) {
        s->has_settings = 1;
        snprintf(s->policy_id, sizeof s->policy_id, "%s", db_col_text(st, 0));
        snprintf(s->assignment_id, sizeof s->assignment_id, "%s", db_col_text(st, 1));
        snprintf(s->source_crc, sizeof s->source_crc, "%s", db_col_text(st, 2));
        s->padbid = db_col_is_null(st, 3) ? -1 : db_col_int(st, 3);
    }
    db_finalize(st);
    if (ret < 0 || !s->has_settings)
        return ret < 0 ? ret : 0;

    const param p2[] = {PT(s->policy_id)};
    ret = prepare_bound(d, &st, "SELECT Version, Body, PolicyHash FROM Policy WHERE PolicyID = ?",
                        p2, NP(p2));
    if (ret < 0)
        return ret;
    if ((ret = db_step(st)) == 1) {
        s->has_policy = 1;
        snprintf(s->version, sizeof s->version, "%s", db_col_text(st, 0));
        snprintf(s->hash, sizeof s->hash, "%s", db_col_text(st, 2));
        if (!(s->body = dup_col(st, 1)))
            ret = -ENOMEM;
    }
    db_finalize(st);
    if (ret < 0)
        return ret;

    const param p3[] = {PT(s->assignment_id)};
    ret = prepare_bound(d, &st,
                        "SELECT PADBID, PolicyID, Version, Body, BodyHash, InProcess, IsTombstoned "
                        "FROM PolicyAssignment WHERE PolicyAssignmentID = ?",
                        p3, NP(p3));
    if (ret < 0)
        return ret;
    if ((ret = db_step(st)) == 1) {
        s->has_pa = 1;
        s->pa_padbid = db_col_int(st, 0);
        snprintf(s->pa_policy_id, sizeof s->pa_policy_id, "%s", db_col_text(st, 1));
        snprintf(s->pa_version, sizeof s->pa_version, "%s", db_col_text(st, 2));
        snprintf(s->pa_hash, sizeof s->pa_hash, "%s", db_col_text(st, 4));
        s->in_process = db_col_int(st, 5);
        s->tombstoned = db_col_int(st, 6);
        if (!(s->pa_body = dup_col(st, 3)))
            ret = -ENOMEM;
    }
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

/*
 * Why the stored rows do not agree with each other, or NULL when they do.
 * Checked in the order a client would trip over them.
 */
static const char *disagreement(const char *site, const stored *s, int *err)
{
    char h[80];
    char *pa_expect = NULL;
    const char *why = NULL;
    long long v = policy_version_parse(s->version);

    *err = 0;
    if (!s->has_settings || !s->policy_id[0] || !s->assignment_id[0])
        return "there is no UpdateSource policy for the site yet";
    if (!s->has_policy)
        return "the Policy row is missing";
    if (v <= 0)
        return "the Policy version is not of the form N.00";
    if ((*err = policy_hash(s->body, strlen(s->body), h, sizeof h)) < 0)
        return NULL;
    if (strcmp(h, s->hash) != 0)
        return "the Policy body does not match its PolicyHash";
    if (!s->has_pa)
        return "the PolicyAssignment row is missing";
    if (s->in_process)
        return "the PolicyAssignment row was left InProcess";
    if (s->tombstoned)
        return "the PolicyAssignment row is tombstoned";
    if (s->padbid != s->pa_padbid)
        return "SettingsPolicy names another PADBID than the PolicyAssignment row";
    if (strcmp(s->pa_policy_id, s->policy_id) != 0)
        return "the PolicyAssignment row references another policy";
    if (strcmp(s->pa_version, s->version) != 0)
        return "the PolicyAssignment version differs from the Policy version";
    if ((*err = policy_hash(s->pa_body, strlen(s->pa_body), h, sizeof h)) < 0)
        return NULL;
    if (strcmp(h, s->pa_hash) != 0)
        return "the PolicyAssignment body does not match its BodyHash";
    if ((*err = policy_assignment_body(site, s->assignment_id, s->policy_id, v, s->hash,
                                       &pa_expect)) < 0)
        return NULL;
    if (strcmp(pa_expect, s->pa_body) != 0)
        why = "the PolicyAssignment body does not reference the current policy version and hash";
    free(pa_expect);
    return why;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static int write_version(db *d, const char *site, stored *s, const policy_source *src, size_t n,
                         long long version, const char *crc, policy_result *res)
{
    char vtext[40], phash[80], pahash[80];
    char *body = NULL, *pa_body = NULL;
    int ret;

    if (!s->has_settings || !s->policy_id[0] || !s->assignment_id[0]) {
        /* A site's first policy (or one whose SettingsPolicy row was lost): new IDs. */
        if ((ret = new_guid(s->policy_id, sizeof s->policy_id)) < 0 ||
            (ret = new_guid(s->assignment_id, sizeof s->assignment_id)) < 0)
            return ret;
        s->has_policy = s->has_pa = 0;
    }
    snprintf(vtext, sizeof vtext, "%lld.00", version);
    if ((ret = policy_body(site, s->policy_id, version, src, n, &body)) < 0 ||
        (ret = policy_hash(body, strlen(body), phash, sizeof phash)) < 0 ||
        (ret = policy_assignment_body(site, s->assignment_id, s->policy_id, version, phash,
                                      &pa_body)) < 0 ||
        (ret = policy_hash(pa_body, strlen(pa_body), pahash, sizeof pahash)) < 0)
        goto out;

    /* Policy: the version and the body. */
    if (s->has_policy) {
        const param p[] = {PT(vtext), PT(body), PT(phash), PT(s->policy_id)};
        ret = run_now(d,
                      "UPDATE Policy SET Version = ?, Body = ?, PolicyHash = ?, "
                      "LastUpdateTime = %s WHERE PolicyID = ?",
                      p, NP(p));
    } else {
        const param p[] = {PT(s->policy_id), PT(vtext), PT(body), PT(phash)};
        ret = run_now(d,
                      "INSERT INTO Policy (PolicyID, Version, Body, PolicyHash, PolicyFlags, "
                      "PolicyPriority, DeviceVersion, LastUpdateTime) VALUES (?, ?, ?, ?, 0, 25, "
                      "'', %s)",
                      p, NP(p));
    }
    if (ret < 0)
        goto out;

    /* PolicyAssignment: the version, marked in process and without a hash ... */
    if (s->has_pa) {
        const param p[] = {PT(vtext), PT(s->policy_id), PI(s->pa_padbid)};
        ret = run(d,
                  "UPDATE PolicyAssignment SET Version = ?, InProcess = 1, BodyHash = NULL, "
                  "PolicyID = ?, IsTombstoned = 0 WHERE PADBID = ?",
                  p, NP(p));
    } else {
        const param p[] = {PT(s->assignment_id), PT(s->policy_id), PT(vtext)};
        ret = run_now(d,
                      "INSERT INTO PolicyAssignment (PolicyAssignmentID, PolicyID, Version, "
                      "InProcess, IsTombstoned, LastUpdateTime) VALUES (?, ?, ?, 1, 0, %s)",
                      p, NP(p));
        if (ret == 0)
            ret =
                db_query_int(d, "SELECT PADBID FROM PolicyAssignment WHERE PolicyAssignmentID = ?",
                             s->assignment_id, NULL, &s->pa_padbid);
    }
    if (ret < 0)
        goto out;
    /* ... then the body ... */
    {
        const param p[] = {PT(pa_body), PI(s->pa_padbid)};
        if ((ret = run(d, "UPDATE PolicyAssignment SET Body = ? WHERE PADBID = ?", p, NP(p))) < 0)
            goto out;
    }
    /* ... then done: InProcess 0 and the SHA-256 of the body. */
    {
        const param p[] = {PT(pahash), PT(HASH_ALG_OID), PI(HASH_ALG_ID), PI(s->pa_padbid)};
        if ((ret = run_now(d,
                           "UPDATE PolicyAssignment SET InProcess = 0, BodyHash = ?, "
                           "HashAlgOID = ?, HashAlgId = ?, LastUpdateTime = %s WHERE PADBID = ?",
                           p, NP(p))) < 0)
            goto out;
    }

    /* SettingsPolicy: which policy is the site's UpdateSource policy, and of what sources. */
    if (s->has_settings) {
        const param p[] = {PT(s->policy_id), PT(s->assignment_id), PT(crc), PI(s->pa_padbid),
                           PT(site)};
        ret = run_now(d,
                      "UPDATE SettingsPolicy SET PolicyID = ?, PolicyAssignmentID = ?, "
                      "SourceCRC = ?, PADBID = ?, LastUpdateTime = %s "
                      "WHERE SourceType = 'UpdateSource' AND SourceID = ?",
                      p, NP(p));
    } else {
        const param p[] = {PT(s->policy_id), PT(s->assignment_id), PT(site), PT(crc),
                           PI(s->pa_padbid)};
        ret = run_now(d,
                      "INSERT INTO SettingsPolicy (PolicyID, PolicyAssignmentID, SourceID, "
                      "SourceType, SourceCRC, PADBID, LastUpdateTime) "
                      "VALUES (?, ?, ?, 'UpdateSource', ?, ?, %s)",
                      p, NP(p));
    }
    if (ret < 0)
        goto out;
    res->padbid = s->pa_padbid;
out:
    free(body);
    free(pa_body);
    return ret;
}

static void describe_sources(const policy_source *src, size_t n, policy_result *res)
{
    size_t used = 0;
    res->sources[0] = '\0';
    res->nsources = n;
    for (size_t i = 0; i < n && used < sizeof res->sources; i++) {
        int w = snprintf(res->sources + used, sizeof res->sources - used, "%s%s=%lld",
                         i ? ", " : "", src[i].unique_id, src[i].content_version);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int policy_update(db *d, const char *site, policy_result *res)
{
    policy_source src[POLICY_MAX_SOURCES];
    size_t n = 0;
    stored s;
    char crc[9];
    char *expect = NULL;
    const char *why = NULL;
    int ret, err = 0;

    memset(res, 0, sizeof *res);
    memset(&s, 0, sizeof s);
    if ((ret = db_begin(d)) < 0)
        return ret;
    /*
     * Write first: the transaction holds the write lock from its first
     * statement on (SQLite would otherwise fail the upgrade from reader to
     * writer when another daemon wrote meanwhile, and PostgreSQL locks the
     * site's row against a second writer).
     */
    const param plock[] = {PT(site)};
    if ((ret = run(d,
                   "UPDATE SettingsPolicy SET SourceCRC = SourceCRC "
                   "WHERE SourceType = 'UpdateSource' AND SourceID = ?",
                   plock, NP(plock))) < 0 ||
        (ret = load_sources(d, site, src, &n)) < 0 || (ret = load_stored(d, site, &s)) < 0)
        goto fail;
    describe_sources(src, n, res);
    policy_source_crc(src, n, crc);
    snprintf(res->policy_id, sizeof res->policy_id, "%s", s.policy_id);
    snprintf(res->assignment_id, sizeof res->assignment_id, "%s", s.assignment_id);
    res->padbid = s.pa_padbid;
    res->version = s.has_policy ? policy_version_parse(s.version) : 0;

    if (n == 0 && !s.has_settings) {
        /* Nothing has synced yet: no policy to give clients. */
        ret = db_commit(d);
        goto out;
    }
    why = disagreement(site, &s, &err);
    if (err < 0) {
        ret = err;
        goto fail;
    }
    if (!why) {
        long long v = policy_version_parse(s.version);
        if ((ret = policy_body(site, s.policy_id, v, src, n, &expect)) < 0)
            goto fail;
        if (strcmp(expect, s.body) != 0 || strcmp(crc, s.source_crc) != 0)
            why = "the update sources or their content versions changed";
    }
    if (!why) {
        ret = db_commit(d);
        goto out;
    }
    long long next = policy_version_parse(s.version);
    long long pav = s.has_pa ? policy_version_parse(s.pa_version) : 0;
    next = (pav > next ? pav : next) + 1;
    if ((ret = write_version(d, site, &s, src, n, next, crc, res)) < 0)
        goto fail;
    if ((ret = db_commit(d)) < 0)
        goto fail;
    res->changed = 1;
    res->version = next;
    snprintf(res->reason, sizeof res->reason, "%s", why);
    snprintf(res->policy_id, sizeof res->policy_id, "%s", s.policy_id);
    snprintf(res->assignment_id, sizeof res->assignment_id, "%s", s.assignment_id);
    goto out;
fail:
    /* A lost connection has rolled back on the server already; say so to a live one. */
    db_rollback(d);
    res->changed = 0;
out:
    free(expect);
    stored_free(&s);
    return ret < 0 ? ret : 0;
}

int policy_verify(db *d, const char *site, char *why, size_t whylen)
{
    stored s;
    int err = 0, ret = load_stored(d, site, &s);
    if (why && whylen)
        why[0] = '\0';
    if (ret < 0) {
        stored_free(&s);
        return ret;
    }
    if (!s.has_settings) {
        stored_free(&s);
        return CM_ENOTFOUND;
    }
    const char *w = disagreement(site, &s, &err);
    stored_free(&s);
    if (err < 0)
        return err;
    if (w && why && whylen)
        snprintf(why, whylen, "%s", w);
    return w ? CM_EPARSE : 0;
}
