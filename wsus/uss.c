/*
 * uss.c - wsusd as an upstream server (USS) of MS-WSUSSS: the
 * ServerSyncWebService (GetAuthConfig, GetCookie, GetConfigData,
 * GetRevisionIdList, GetUpdateData) and the DssAuthWebService
 * (GetAuthorizationCookie), validating every request as section 3.1.4 of
 * the specification says and answering faults with its ErrorCode values.
 *
 * Cookies are opaque to the downstream server; here they are
 * "<fields>|<HMAC-SHA256>" in base64, keyed with this server's secret, so
 * wsusd needs no cookie table and a forged or stale cookie is refused.
 * Anchors are "<ChangeAnchor>,<time>" as in the specification's examples.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cabmem.h"
#include "cm_error.h"
#include "log.h"
#include "susdb.h"
#include "wsusd.h"
#include "wsusss.h"

#define AUTH_COOKIE_LIFETIME_S (60 * 60)
#define COOKIE_LIFETIME_S (24 * 60 * 60)
/* Blobs larger than this go out as XmlUpdateBlobCompressed (a cab). */
#define COMPRESS_OVER_DEFAULT 4096

typedef struct uss_call {
    wsusd *w;
    db *d;
    const httpd_request *req;
    xmlNode *op;
    const char *opname;
    soap_buf out;
    const char *faultcode;
    const char *error_code;
    char fault[512];
} uss_call;

static int fault(uss_call *c, const char *code, const char *error_code, const char *msg,
                 const char *arg)
{
    c->faultcode = code;
    c->error_code = error_code;
    snprintf(c->fault, sizeof c->fault, msg, arg ? arg : "");
    return -1;
}

static int db_fault(uss_call *c, int ret)
{
    web_db_check(c->d, ret);
    log_msg("ServerSyncWebService: a database call failed: %s", db_errmsg(c->d));
    return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "The upstream server database failed: %s",
                 db_errmsg(c->d));
}

/* ------------------------------------------------------------------ */
/* Cookies                                                             */
/* ------------------------------------------------------------------ */

static void mac_hex(wsusd *w, const char *data, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), w->cookie_key, (int)sizeof w->cookie_key, (const unsigned char *)data,
         strlen(data), md, &len);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

/* Seal fields as base64("<fields>|<mac>"). */
static char *seal(wsusd *w, const char *fields)
{
    char mac[65], buf[600];
    mac_hex(w, fields, mac);
    snprintf(buf, sizeof buf, "%s|%s", fields, mac);
    return cabmem_base64_encode(buf, strlen(buf), NULL);
}

/* Open a sealed value into fields (NUL-terminated); 0, or CM_EPARSE when forged or malformed. */
static int unseal(wsusd *w, const char *b64, char *fields, size_t flen)
{
    unsigned char *raw;
    size_t len;
    char mac[65];
    if (!b64 || cabmem_base64_decode(b64, strlen(b64), &raw, &len) < 0)
        return CM_EPARSE;
    if (len < 66 || len >= flen + 65 || memchr(raw, '\0', len)) {
        free(raw);
        return CM_EPARSE;
    }
    const char *bar = (const char *)raw + len - 65;
    if (*bar != '|') {
        free(raw);
        return CM_EPARSE;
    }
    size_t fl = (size_t)(bar - (const char *)raw);
    memcpy(fields, raw, fl);
    fields[fl] = '\0';
    mac_hex(w, fields, mac);
    int ok = CRYPTO_memcmp(mac, bar + 1, 64) == 0;
    free(raw);
    return ok ? 0 : CM_EPARSE;
}

static void xsd_time(char *buf, size_t len, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S.0000000Z", &tm);
}

/* "1.20" -> major 1; CM_EPARSE when not "x.y". */
static int version_major(const char *v, int *major)
{
    int a, b, n = 0;
    if (sscanf(v, "%d.%d%n", &a, &b, &n) != 2 || v[n] || a < 0 || b < 0)
        return CM_EPARSE;
    *major = a;
    return 0;
}

/*
 * Check the <cookie> of a request: present, sealed by this server, not
 * expired, of protocol major version 1.  0, or -1 with the fault set.
 */
static int check_cookie(uss_call *c, char *dss_guid, size_t glen)
{
    wsusss_cookie ck;
    char fields[600], guid[64], ver[32], server[64];
    long long exp;
    int major, ret = wsusss_cookie_arg_read(c->op, &ck);
    if (ret < 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_COOKIE, "The cookie is missing or empty.",
                     NULL);
    ret = unseal(c->w, ck.data, fields, sizeof fields);
    wsusss_cookie_free(&ck);
    if (ret < 0 || sscanf(fields, "C1|%63[^|]|%31[^|]|%lld|%63[^|]", guid, ver, &exp, server) != 4)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_COOKIE, "The cookie could not be read.",
                     NULL);
    if (strcmp(server, c->w->server_id) != 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_COOKIE,
                     "The cookie was issued by another server.", NULL);
    if ((long long)time(NULL) > exp)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_COOKIE, "The cookie has expired.", NULL);
    if (version_major(ver, &major) < 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS, "protocolVersion", NULL);
    if (major != 1)
        return fault(c, "soap:Client", WSUSSS_ERR_INCOMPATIBLE_VERSION,
                     "The protocol version %s is not supported.", ver);
    if (dss_guid)
        snprintf(dss_guid, glen, "%s", guid);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static int op_auth_config(uss_call *c)
{
    char t[48];
    xsd_time(t, sizeof t, time(NULL));
    wsusss_auth_config_response_write(&c->out, t);
    return 0;
}

static int op_auth_cookie(uss_call *c)
{
    char name[256], guid[64], now[40], fields[400];
    if (wsusss_auth_cookie_request_read(c->op, name, sizeof name, guid, sizeof guid) < 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS,
                     "accountName or accountGuid is missing or malformed.", NULL);
    /* The DSS table: one row per downstream server. */
    susdb_now(now, sizeof now);
    long long have = 0;
    int ret =
        db_query_int(c->d, "SELECT COUNT(*) FROM tbDownstreamServerTarget WHERE AccountGuid = ?",
                     guid, NULL, &have);
    if (ret < 0)
        return db_fault(c, ret);
    db_stmt *st;
    if ((ret = db_prepare(c->d, &st,
                          have ? "UPDATE tbDownstreamServerTarget SET FullDomainName = ?, "
                                 "LastSyncTime = ? WHERE AccountGuid = ?"
                               : "INSERT INTO tbDownstreamServerTarget (FullDomainName, "
                                 "LastSyncTime, AccountGuid, FirstSeenTime) VALUES (?, ?, ?, ?)")) <
        0)
        return db_fault(c, ret);
    db_bind_text(st, 1, name);
    db_bind_text(st, 2, now);
    db_bind_text(st, 3, guid);
    if (!have)
        db_bind_text(st, 4, now);
    ret = db_step(st);
    db_finalize(st);
    if (ret < 0)
        return db_fault(c, ret);
    snprintf(fields, sizeof fields, "A1|%s|%lld", guid,
             (long long)time(NULL) + AUTH_COOKIE_LIFETIME_S);
    char *data = seal(c->w, fields);
    if (!data)
        return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "Out of memory.", NULL);
    if (!have)
        log_msg("DssAuthWebService: new downstream server %s (%s) from %s.", name, guid,
                c->req->remote_addr);
    wsusss_auth_cookie_response_write(&c->out, data);
    free(data);
    return 0;
}

static int op_cookie(uss_call *c)
{
    char *auth = NULL, ver[32], fields[600], guid[64];
    long long exp;
    int major;
    wsusss_cookie_request_read(c->op, &auth, ver, sizeof ver);
    if (!auth) {
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS,
                     "authCookies must hold exactly one AuthorizationCookie.", NULL);
    }
    int ret = unseal(c->w, auth, fields, sizeof fields);
    free(auth);
    if (ret < 0 || sscanf(fields, "A1|%63[^|]|%lld", guid, &exp) != 2 ||
        (long long)time(NULL) > exp)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_AUTH_COOKIE,
                     "The authorization cookie is not valid.", NULL);
    if (version_major(ver, &major) < 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS, "protocolVersion", NULL);
    if (major != 1)
        return fault(c, "soap:Client", WSUSSS_ERR_INCOMPATIBLE_VERSION,
                     "The protocol version %s is not supported.", ver);
    wsusss_cookie ck = {0};
    time_t e = time(NULL) + COOKIE_LIFETIME_S;
    xsd_time(ck.expiration, sizeof ck.expiration, e);
    snprintf(fields, sizeof fields, "C1|%s|%s|%lld|%s", guid, ver, (long long)e, c->w->server_id);
    ck.data = seal(c->w, fields);
    if (!ck.data)
        return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "Out of memory.", NULL);
    wsusss_cookie_response_write(&c->out, &ck);
    wsusss_cookie_free(&ck);
    return 0;
}

static void anchor_text(char *buf, size_t len, long long v)
{
    char now[40];
    susdb_now(now, sizeof now);
    snprintf(buf, len, "%lld,%s", v, now);
}

/* An anchor this server handed out: "<n>,<time>"; "" is the start.  0 or CM_EPARSE. */
static int anchor_parse(const char *a, long long *out)
{
    char *end;
    *out = 0;
    if (!a[0])
        return 0;
    errno = 0;
    long long v = strtoll(a, &end, 10);
    if (end == a || errno || v < 0 || (*end && *end != ','))
        return CM_EPARSE;
    *out = v;
    return 0;
}

static int op_config(uss_call *c)
{
    wsusss_config_data cfg = {0};
    wsusss_language *langs;
    size_t n;
    long long anchor;
    char anchor_in[200];
    int ret;
    if (check_cookie(c, NULL, 0) < 0)
        return -1;
    wsusss_config_request_read(c->op, anchor_in, sizeof anchor_in);
    if ((ret = susdb_languages(c->d, &langs, &n)) < 0 ||
        (ret = susdb_max_anchor(c->d, &anchor)) < 0)
        return db_fault(c, ret);
    cfg.languages = calloc(n + 1, sizeof *cfg.languages);
    if (!cfg.languages) {
        free(langs);
        return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "Out of memory.", NULL);
    }
    /* The first entry is "all" (LanguageID 0), as section 3.1.4.4 requires. */
    cfg.languages[0].id = 0;
    snprintf(cfg.languages[0].short_name, sizeof cfg.languages[0].short_name, "all");
    snprintf(cfg.languages[0].long_name, sizeof cfg.languages[0].long_name, "all");
    cfg.languages[0].enabled = (int)susdb_get_int(c->d, "AllUpdateLanguagesEnabled", 0);
    if (n)
        memcpy(cfg.languages + 1, langs, n * sizeof *langs);
    cfg.nlanguages = n + 1;
    free(langs);
    cfg.catalog_only_sync = 1; /* metadata only: the lab serves no content files */
    cfg.lazy_sync = 1;
    cfg.max_updates_per_request = (int)c->w->max_updates_per_request;
    cfg.max_driver_sets_per_request = 100;
    cfg.max_computer_ids = 50;
    cfg.max_pnp_ids = 500;
    cfg.max_decryption_updates = 100;
    anchor_text(cfg.new_config_anchor, sizeof cfg.new_config_anchor, anchor);
    snprintf(cfg.protocol_version, sizeof cfg.protocol_version, "%s", WSUSSS_PROTOCOL_VERSION);
    wsusss_config_response_write(&c->out, &cfg);
    wsusss_config_data_free(&cfg);
    return 0;
}

static int op_revisions(uss_call *c)
{
    wsusss_filter f;
    wsusss_identity *ids;
    size_t n;
    long long after, upto;
    char anchor[200];
    int ret;
    if (check_cookie(c, NULL, 0) < 0)
        return -1;
    if (wsusss_revision_request_read(c->op, &f) < 0)
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS, "filter", NULL);
    if (anchor_parse(f.anchor, &after) < 0) {
        wsusss_filter_free(&f);
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS, "filter:Anchor", NULL);
    }
    /* Fix the end first: revisions stored meanwhile go into the next anchor. */
    if ((ret = susdb_max_anchor(c->d, &upto)) < 0 ||
        (ret = susdb_revisions_since(c->d, after, upto, f.get_config, f.categories, f.ncategories,
                                     f.classifications, f.nclassifications, &ids, &n)) < 0) {
        wsusss_filter_free(&f);
        return db_fault(c, ret);
    }
    anchor_text(anchor, sizeof anchor, upto);
    wsusss_revision_response_write(&c->out, anchor, ids, n);
    log_verbose("ServerSyncWebService.GetRevisionIdList %s pass after anchor %lld: %zu "
                "revision(s) for %s",
                f.get_config ? "configuration" : "update", after, n, c->req->remote_addr);
    free(ids);
    wsusss_filter_free(&f);
    return 0;
}

/* One file of the response's fileUrls (pointers into the batch's blobs). */
typedef struct file_url {
    const char *digest, *url;
} file_url;

/*
 * The digests already listed, as an open-addressing set (a file shared by
 * several updates goes into fileUrls once; a scan of the list per file was
 * quadratic in the batch).
 */
typedef struct digest_set {
    const char **v;
    size_t cap; /* a power of two, at least twice the files */
} digest_set;

static int digest_set_init(digest_set *s, size_t files)
{
    s->cap = 64;
    while (s->cap < files * 2)
        s->cap *= 2;
    s->v = calloc(s->cap, sizeof *s->v);
    return s->v ? 0 : -ENOMEM;
}

/* 1 when d was in the set already, else 0 (and it is now). */
static int digest_set_add(digest_set *s, const char *d)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = d; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->v[i]) {
            s->v[i] = d;
            return 0;
        }
        if (strcmp(s->v[i], d) == 0)
            return 1;
    }
}

static int op_update_data(uss_call *c)
{
    wsusss_identity *ids;
    size_t n, nall = 0, cap = 0;
    file_url *all = NULL;
    susdb_blob *blobs = NULL;
    digest_set seen = {0};
    int ret;
    if (check_cookie(c, NULL, 0) < 0)
        return -1;
    if (wsusss_update_request_read(c->op, &ids, &n) < 0 || !soap_child(c->op, "updateIds"))
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS, "updateIds", NULL);
    if (n > (size_t)c->w->max_updates_per_request) {
        free(ids);
        return fault(c, "soap:Client", WSUSSS_ERR_INVALID_PARAMETERS,
                     "updateIds: more than MaxNumberOfUpdatesPerRequest", NULL);
    }
    long long compress_over = susdb_get_int(c->d, "CompressUpdateBlobsOver", COMPRESS_OVER_DEFAULT);
    blobs = calloc(n ? n : 1, sizeof *blobs);
    if (!blobs) {
        free(ids);
        return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "Out of memory.", NULL);
    }
    if ((ret = susdb_revisions_xml(c->d, ids, n, blobs)) < 0) {
        free(ids);
        free(blobs);
        return db_fault(c, ret);
    }
    size_t files = 0;
    for (size_t i = 0; i < n; i++)
        files += blobs[i].ndigests;
    ret = digest_set_init(&seen, files);
    wsusss_update_response_begin(&c->out);
    for (size_t i = 0; i < n && ret == 0; i++) {
        susdb_blob *bl = &blobs[i];
        if (!bl->xml)
            continue; /* only the revisions found are returned (3.1.4.6) */
        int comp = compress_over >= 0 && (long long)bl->len > compress_over;
        ret = wsusss_update_response_add(&c->out, &ids[i], bl->xml, bl->len, comp, bl->digests,
                                         bl->ndigests);
        for (size_t k = 0; ret == 0 && k < bl->ndigests; k++) {
            if (digest_set_add(&seen, bl->digests[k]))
                continue;
            if (nall == cap) {
                cap = cap ? cap * 2 : 64;
                file_url *nv = realloc(all, cap * sizeof *nv);
                if (!nv) {
                    ret = -ENOMEM;
                    break;
                }
                all = nv;
            }
            all[nall++] = (file_url){bl->digests[k], bl->urls[k]};
        }
    }
    free(ids);
    if (ret == 0) {
        wsusss_update_response_urls(&c->out);
        for (size_t k = 0; k < nall; k++)
            wsusss_update_response_url(&c->out, all[k].digest, all[k].url);
        wsusss_update_response_end(&c->out);
    }
    susdb_blobs_free(blobs, n);
    free(blobs);
    free(all);
    free(seen.v);
    if (ret < 0)
        return fault(c, "soap:Server", WSUSSS_ERR_INTERNAL, "Out of memory.", NULL);
    return 0;
}

static const struct {
    const char *name;
    int dssauth;
    int (*fn)(uss_call *c);
} ops[] = {
    {"GetAuthConfig", 0, op_auth_config}, {"GetCookie", 0, op_cookie},
    {"GetConfigData", 0, op_config},      {"GetRevisionIdList", 0, op_revisions},
    {"GetUpdateData", 0, op_update_data}, {"GetAuthorizationCookie", 1, op_auth_cookie},
};

void uss_handle(wsusd *w, db *d, const httpd_request *req, httpd_response *resp, int dssauth)
{
    uss_call c = {.w = w, .d = d, .req = req};
    xmlDoc *doc = NULL;
    const char *ns_want = dssauth ? WSUSSS_DSSAUTH_NS : WSUSSS_NS;
    char method[300] = "";
    int ret;

    soap_buf_init(&c.out);
    if (soap_parse(req->body, req->body_len, &doc, &c.op) < 0) {
        log_msg("SoapUtilities.ThrowException A request to %s from %s is not a SOAP message; "
                "answered with a SOAP fault.",
                req->url, req->remote_addr);
        wsusd_fault(resp, "soap:Client",
                    "Server was unable to read request. ---> There is an error in XML document "
                    "(1, 1).",
                    NULL, NULL);
        return;
    }
    wsusd_xml_begin(&c.out);
    const char *name = (const char *)c.op->name;
    const char *ns = c.op->ns && c.op->ns->href ? (const char *)c.op->ns->href : "";
    size_t i;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].dssauth == dssauth && strcmp(ops[i].name, name) == 0)
            break;
    snprintf(method, sizeof method, "%s/%s", ns_want, name);
    if (i == sizeof ops / sizeof ops[0] || strcmp(ns, ns_want) != 0) {
        log_msg("SoapUtilities.ThrowException Unknown operation %s%s%s requested by %s on %s; "
                "answered with a SOAP fault.",
                ns, *ns ? "/" : "", name, req->remote_addr, req->url);
        c.faultcode = "soap:Client";
        snprintf(c.fault, sizeof c.fault,
                 "Server did not recognize the value of HTTP Header SOAPAction: %s.",
                 req->soap_action ? req->soap_action : method);
        ret = -1;
    } else {
        c.opname = name;
        ret = ops[i].fn(&c);
        if (ret < 0)
            log_msg("SoapUtilities.ThrowException %s from %s: %s%s%s", name, req->remote_addr,
                    c.error_code ? c.error_code : "", c.error_code ? ": " : "", c.fault);
    }
    if (ret < 0)
        wsusd_fault(resp, c.faultcode ? c.faultcode : "soap:Server", c.fault, c.error_code,
                    c.error_code ? method : NULL);
    else
        wsusd_xml(resp, &c.out);
    soap_buf_free(&c.out);
    xmlFreeDoc(doc);
}
