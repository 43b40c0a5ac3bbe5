/*
 * wsusapi.c - the WSUS administration API: message writers and readers
 * shared by wsusd and its clients, and the client calls.
 *
 * Rows travel as MS-WSUSAR's GenericReadableRow (positional values), the
 * configuration and the subscription as named elements.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "wsusapi.h"

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

void wsusapi_config_defaults(wsusapi_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->source = WSUSAPI_SOURCE_MU;
    cfg->upstream_port = 8530;
    snprintf(cfg->mu_url, sizeof cfg->mu_url, "generated:");
    cfg->proxy_port = 80;
    snprintf(cfg->languages, sizeof cfg->languages, "en");
    cfg->server_port = 8530;
}

const char *wsusapi_phase_name(wsusapi_phase p)
{
    switch (p) {
    case WSUSAPI_PHASE_CATEGORIES:
        return "categories";
    case WSUSAPI_PHASE_UPDATES:
        return "updates";
    case WSUSAPI_PHASE_APPROVALS:
        return "other items";
    default:
        return "not processing";
    }
}

static const char *tf(int v)
{
    return v ? "true" : "false";
}

static const char *source_name(wsusapi_source s)
{
    switch (s) {
    case WSUSAPI_SOURCE_UPSTREAM:
        return "UpstreamServer";
    case WSUSAPI_SOURCE_OFFLINE:
        return "OfflineCatalog";
    default:
        return "MicrosoftUpdate";
    }
}

/* xsd:dateTime in UTC; time 0 is .NET's DateTime.MinValue. */
static void fmt_time(char *buf, size_t len, time_t t)
{
    struct tm tm;
    if (t <= 0) {
        snprintf(buf, len, "0001-01-01T00:00:00");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static time_t parse_time(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) < 3 || y < 1971)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return timegm(&tm);
}

static void copy_text(xmlNode *parent, const char *name, char *out, size_t len, const char *def)
{
    soap_child_text(parent, name, out, len, def);
}

static int child_int(xmlNode *parent, const char *name, int def)
{
    long long v;
    if (soap_child_int(parent, name, &v) < 0 || v < -0x7fffffffLL || v > 0x7fffffffLL)
        return def;
    return (int)v;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

void wsusapi_config_write(soap_buf *b, const wsusapi_config *cfg)
{
    soap_buf_elem(b, "SyncSource", source_name(cfg->source));
    soap_buf_printf(b, "<SyncToMU>%s</SyncToMU>", tf(cfg->source == WSUSAPI_SOURCE_MU));
    soap_buf_elem(b, "UpstreamServerName", cfg->upstream_server);
    soap_buf_elem_int(b, "ServerPortNumber", cfg->upstream_port);
    soap_buf_printf(b, "<UpstreamServerUseSsl>%s</UpstreamServerUseSsl>", tf(cfg->upstream_ssl));
    soap_buf_printf(b, "<ReplicaMode>%s</ReplicaMode>", tf(cfg->replica_mode));
    soap_buf_elem(b, "MUUrl", cfg->mu_url);
    soap_buf_elem(b, "OfflineCatalogPath", cfg->offline_path);
    soap_buf_printf(b, "<UseProxy>%s</UseProxy>", tf(cfg->use_proxy));
    soap_buf_elem(b, "ProxyName", cfg->proxy_name);
    soap_buf_elem_int(b, "ProxyServerPort", cfg->proxy_port);
    soap_buf_elem(b, "ProxyUserName", cfg->proxy_user);
    soap_buf_elem(b, "ProxyUserDomain", cfg->proxy_domain);
    if (cfg->proxy_password[0])
        soap_buf_elem(b, "ProxyPassword", cfg->proxy_password);
    soap_buf_printf(b, "<ServerSupportsAllLanguages>%s</ServerSupportsAllLanguages>",
                    tf(cfg->all_languages));
    soap_buf_elem(b, "EnabledUpdateLanguages", cfg->languages);
    soap_buf_elem_int(b, "LocalPortNumber", cfg->server_port);
    soap_buf_printf(b, "<LocalUseSsl>%s</LocalUseSsl>", tf(cfg->use_ssl));
}

int wsusapi_config_read(xmlNode *node, wsusapi_config *out)
{
    char src[32];
    wsusapi_config_defaults(out);
    if (!node)
        return CM_EPARSE;
    copy_text(node, "UpstreamServerName", out->upstream_server, sizeof out->upstream_server, "");
    copy_text(node, "OfflineCatalogPath", out->offline_path, sizeof out->offline_path, "");
    copy_text(node, "SyncSource", src, sizeof src, "");
    if (strcmp(src, "MicrosoftUpdate") == 0)
        out->source = WSUSAPI_SOURCE_MU;
    else if (strcmp(src, "UpstreamServer") == 0)
        out->source = WSUSAPI_SOURCE_UPSTREAM;
    else if (strcmp(src, "OfflineCatalog") == 0)
        out->source = WSUSAPI_SOURCE_OFFLINE;
    else if (src[0])
        return CM_EPARSE;
    else if (soap_child_bool(node, "SyncToMU", 1))
        out->source = WSUSAPI_SOURCE_MU;
    else if (out->upstream_server[0])
        out->source = WSUSAPI_SOURCE_UPSTREAM;
    else if (out->offline_path[0])
        out->source = WSUSAPI_SOURCE_OFFLINE;
    else
        return CM_EPARSE;
    out->upstream_port = child_int(node, "ServerPortNumber", 8530);
    out->upstream_ssl = soap_child_bool(node, "UpstreamServerUseSsl", 0);
    out->replica_mode = soap_child_bool(node, "ReplicaMode", 0);
    copy_text(node, "MUUrl", out->mu_url, sizeof out->mu_url, "generated:");
    out->use_proxy = soap_child_bool(node, "UseProxy", 0);
    copy_text(node, "ProxyName", out->proxy_name, sizeof out->proxy_name, "");
    out->proxy_port = child_int(node, "ProxyServerPort", 80);
    copy_text(node, "ProxyUserName", out->proxy_user, sizeof out->proxy_user, "");
    copy_text(node, "ProxyUserDomain", out->proxy_domain, sizeof out->proxy_domain, "");
    copy_text(node, "ProxyPassword", out->proxy_password, sizeof out->proxy_password, "");
    out->all_languages = soap_child_bool(node, "ServerSupportsAllLanguages", 0);
    copy_text(node, "EnabledUpdateLanguages", out->languages, sizeof out->languages, "en");
    out->server_port = child_int(node, "LocalPortNumber", 8530);
    out->use_ssl = soap_child_bool(node, "LocalUseSsl", 0);
    if (out->upstream_port < 1 || out->upstream_port > 65535 || out->proxy_port < 1 ||
        out->proxy_port > 65535)
        return CM_ERANGE;
    if (out->source == WSUSAPI_SOURCE_UPSTREAM && !out->upstream_server[0])
        return CM_EPARSE;
    if (out->source == WSUSAPI_SOURCE_OFFLINE && !out->offline_path[0])
        return CM_EPARSE;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Subscription                                                        */
/* ------------------------------------------------------------------ */

void wsusapi_subscription_free(wsusapi_subscription *sub)
{
    if (!sub)
        return;
    for (size_t i = 0; i < sub->nproducts; i++)
        free(sub->product_ids[i]);
    for (size_t i = 0; i < sub->nclassifications; i++)
        free(sub->classification_ids[i]);
    free(sub->product_ids);
    free(sub->classification_ids);
    sub->product_ids = sub->classification_ids = NULL;
    sub->nproducts = sub->nclassifications = 0;
}

void wsusapi_subscription_write(soap_buf *b, const wsusapi_subscription *sub)
{
    char t[40];
    soap_buf_printf(b, "<SynchronizeAutomatically>%s</SynchronizeAutomatically>",
                    tf(sub->sync_automatically));
    soap_buf_elem_int(b, "SynchronizeAutomaticallyTimeOfDay", sub->time_of_day_s);
    soap_buf_elem_int(b, "NumberOfSynchronizationsPerDay", sub->syncs_per_day);
    fmt_time(t, sizeof t, sub->last_sync_time);
    soap_buf_elem(b, "LastSynchronizationTime", t);
    soap_buf_elem(b, "LastModifiedBy", sub->last_modified_by);
    soap_buf_puts(b, "<Categories>");
    for (size_t i = 0; i < sub->nproducts; i++)
        soap_buf_elem(b, "guid", sub->product_ids[i]);
    soap_buf_puts(b, "</Categories><Classifications>");
    for (size_t i = 0; i < sub->nclassifications; i++)
        soap_buf_elem(b, "guid", sub->classification_ids[i]);
    soap_buf_puts(b, "</Classifications>");
}

/* Lower-case GUID text, with or without braces; 0 or CM_EPARSE. */
static int guid_norm(const char *in, char out[37])
{
    size_t n;
    while (isspace((unsigned char)*in))
        in++;
    n = strlen(in);
    while (n && isspace((unsigned char)in[n - 1]))
        n--;
    if (n >= 2 && in[0] == '{' && in[n - 1] == '}') {
        in++;
        n -= 2;
    }
    if (n != 36)
        return CM_EPARSE;
    for (size_t i = 0; i < 36; i++) {
        char c = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return CM_EPARSE;
            out[i] = c;
        } else if (isxdigit((unsigned char)c)) {
            out[i] = (char)tolower((unsigned char)c);
        } else {
            return CM_EPARSE;
        }
    }
    out[36] = '\0';
    return 0;
}

static int read_guids(xmlNode *arr, char ***out, size_t *n)
{
    size_t cnt = 0, i = 0;
    *out = NULL;
    *n = 0;
    for (xmlNode *c = soap_child(arr, "guid"); c; c = soap_next(c, "guid"))
        cnt++;
    if (!cnt)
        return 0;
    if (cnt > 100000)
        return CM_ETOOBIG;
    char **v = calloc(cnt, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (xmlNode *c = soap_child(arr, "guid"); c; c = soap_next(c, "guid")) {
        char *t = soap_text(c), g[37];
        int bad = !t || guid_norm(t, g) < 0;
        free(t);
        if (bad || !(v[i] = strdup(g))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return bad ? CM_EPARSE : -ENOMEM;
        }
        i++;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int wsusapi_subscription_read(xmlNode *node, wsusapi_subscription *out)
{
    char t[64];
    int ret;
    memset(out, 0, sizeof *out);
    if (!node)
        return CM_EPARSE;
    out->sync_automatically = soap_child_bool(node, "SynchronizeAutomatically", 0);
    if (soap_child(node, "SynchronizeAutomaticallyTimeOfDay"))
        out->time_of_day_s = child_int(node, "SynchronizeAutomaticallyTimeOfDay", 0);
    else
        out->time_of_day_s = child_int(node, "synchronizeAutomaticallyTimeOfDay", 0);
    out->syncs_per_day = child_int(node, "NumberOfSynchronizationsPerDay", 1);
    copy_text(node, "LastSynchronizationTime", t, sizeof t, "");
    out->last_sync_time = parse_time(t);
    copy_text(node, "LastModifiedBy", out->last_modified_by, sizeof out->last_modified_by, "");
    if (out->time_of_day_s < 0 || out->time_of_day_s >= 86400 || out->syncs_per_day < 1 ||
        out->syncs_per_day > 24)
        return CM_ERANGE;
    if ((ret = read_guids(soap_child(node, "Categories"), &out->product_ids, &out->nproducts)) <
            0 ||
        (ret = read_guids(soap_child(node, "Classifications"), &out->classification_ids,
                          &out->nclassifications)) < 0) {
        wsusapi_subscription_free(out);
        return ret;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct wsusapi {
    soap_client *sc;
    char error[2048];
};

const char *wsusapi_error(const wsusapi *c)
{
    return c ? c->error : "";
}

int wsusapi_http_status(const wsusapi *c)
{
    return c ? soap_client_http_status(c->sc) : 0;
}

void wsusapi_close(wsusapi *c)
{
    if (!c)
        return;
    soap_client_free(c->sc);
    free(c);
}

/*
 * Call op with the given inner XML (NULL: no parameters).  On success
 * *doc owns the answer and *result is <opResult> (NULL when the operation
 * returns nothing).
 */
static int api_call(wsusapi *c, const char *op, const char *params, xmlDoc **doc, xmlNode **result)
{
    char action[256], resp_name[160], res_name[160];
    soap_buf b;
    xmlNode *resp = NULL;
    int ret;

    *doc = NULL;
    *result = NULL;
    c->error[0] = '\0';
    snprintf(action, sizeof action, "%s/%s", WSUSAPI_NS, op);
    snprintf(resp_name, sizeof resp_name, "%sResponse", op);
    snprintf(res_name, sizeof res_name, "%sResult", op);
    soap_buf_init(&b);
    soap_buf_printf(&b, "<%s xmlns=\"%s\">", op, WSUSAPI_NS);
    if (params)
        soap_buf_puts(&b, params);
    soap_buf_printf(&b, "</%s>", op);
    if (b.err) {
        soap_buf_free(&b);
        snprintf(c->error, sizeof c->error, "%s", cm_strerror(-ENOMEM));
        return -ENOMEM;
    }
    ret = soap_call(c->sc, WSUSAPI_PATH, action, b.data, b.len, doc, &resp);
    soap_buf_free(&b);
    if (ret < 0) {
        snprintf(c->error, sizeof c->error, "%s", soap_client_error(c->sc));
        return ret;
    }
    if (strcmp((const char *)resp->name, resp_name) != 0) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        snprintf(c->error, sizeof c->error, "There is an error in XML document (1, 1).");
        return SOAP_EBADRESPONSE;
    }
    *result = soap_child(resp, res_name);
    return 0;
}

static int bad_answer(wsusapi *c, int ret)
{
    if (ret == -ENOMEM) {
        snprintf(c->error, sizeof c->error, "%s", cm_strerror(ret));
        return ret;
    }
    snprintf(c->error, sizeof c->error, "There is an error in XML document (1, 1).");
    return SOAP_EBADRESPONSE;
}

static int scalar_text(wsusapi *c, const char *op, char *buf, size_t len)
{
    xmlDoc *doc;
    xmlNode *res;
    int ret = api_call(c, op, NULL, &doc, &res);
    if (ret < 0)
        return ret;
    char *t = res ? soap_text(res) : NULL;
    if (!t) {
        xmlFreeDoc(doc);
        return bad_answer(c, res ? -ENOMEM : CM_EPARSE);
    }
    snprintf(buf, len, "%s", t);
    free(t);
    xmlFreeDoc(doc);
    return 0;
}

int wsusapi_protocol_version(wsusapi *c, char *buf, size_t len)
{
    return scalar_text(c, "GetServerProtocolVersion", buf, len);
}

int wsusapi_server_version(wsusapi *c, char *buf, size_t len)
{
    return scalar_text(c, "GetServerVersion", buf, len);
}

int wsusapi_connect(wsusapi **out, const wsusapi_target *t)
{
    soap_endpoint ep = {0};
    char v[64];
    int ret;
    wsusapi *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return -ENOMEM;
    ep.host = t->host;
    ep.port = t->port ? t->port : (t->use_ssl ? 8531 : 8530);
    ep.use_ssl = t->use_ssl;
    ep.user = t->user;
    ep.password = t->password;
    ep.timeout_s = t->timeout_s;
    ep.ca_file = t->ca_file;
    ep.insecure = t->insecure;
    ep.max_response = 64u << 20;
    if ((ret = soap_client_new(&c->sc, &ep)) < 0) {
        snprintf(c->error, sizeof c->error, "%s",
                 ret == CM_ENAME || ret == CM_EPARSE
                     ? "Invalid URI: The hostname could not be parsed."
                     : cm_strerror(ret));
        return ret;
    }
    return wsusapi_protocol_version(c, v, sizeof v);
}

int wsusapi_get_config(wsusapi *c, wsusapi_config *out)
{
    xmlDoc *doc;
    xmlNode *res;
    int ret = api_call(c, "ExecuteSPGetConfiguration", NULL, &doc, &res);
    if (ret < 0)
        return ret;
    ret = wsusapi_config_read(soap_child(res, "Configuration"), out);
    xmlFreeDoc(doc);
    return ret < 0 ? bad_answer(c, ret) : 0;
}

int wsusapi_set_config(wsusapi *c, const wsusapi_config *cfg)
{
    xmlDoc *doc;
    xmlNode *res;
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_puts(&b, "<configuration>");
    wsusapi_config_write(&b, cfg);
    soap_buf_puts(&b, "</configuration>");
    if (b.err) {
        soap_buf_free(&b);
        return bad_answer(c, -ENOMEM);
    }
    int ret = api_call(c, "ExecuteSPSetConfiguration", b.data, &doc, &res);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    xmlFreeDoc(doc);
    return 0;
}

int wsusapi_get_subscription(wsusapi *c, wsusapi_subscription *out)
{
    xmlDoc *doc;
    xmlNode *res;
    memset(out, 0, sizeof *out);
    int ret = api_call(c, "GetSubscription", NULL, &doc, &res);
    if (ret < 0)
        return ret;
    ret = wsusapi_subscription_read(res, out);
    xmlFreeDoc(doc);
    return ret < 0 ? bad_answer(c, ret) : 0;
}

int wsusapi_set_subscription(wsusapi *c, const wsusapi_subscription *sub)
{
    xmlDoc *doc;
    xmlNode *res;
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_puts(&b, "<subscription>");
    wsusapi_subscription_write(&b, sub);
    soap_buf_puts(&b, "</subscription>");
    if (b.err) {
        soap_buf_free(&b);
        return bad_answer(c, -ENOMEM);
    }
    int ret = api_call(c, "SetSubscription", b.data, &doc, &res);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    xmlFreeDoc(doc);
    return 0;
}

static int no_result(wsusapi *c, const char *op)
{
    xmlDoc *doc;
    xmlNode *res;
    int ret = api_call(c, op, NULL, &doc, &res);
    if (ret < 0)
        return ret;
    xmlFreeDoc(doc);
    return 0;
}

int wsusapi_start_sync(wsusapi *c)
{
    return no_result(c, "StartSubscriptionManually");
}

int wsusapi_stop_sync(wsusapi *c)
{
    return no_result(c, "StopSubscription");
}

int wsusapi_get_sync_state(wsusapi *c, wsusapi_sync_state *out)
{
    char buf[32], *end;
    int ret = scalar_text(c, "GetSubscriptionState", buf, sizeof buf);
    if (ret < 0)
        return ret;
    long v = strtol(buf, &end, 10);
    if (end == buf || v < 0 || v > 2)
        return bad_answer(c, CM_EPARSE);
    *out = (wsusapi_sync_state)v;
    return 0;
}

/* The values of the rows of an ArrayOfGenericReadableRow, row by row. */
typedef struct row_set {
    size_t nrows;
    size_t *ncols;
    char ***vals;
} row_set;

static void rows_free(row_set *r)
{
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t k = 0; k < r->ncols[i]; k++)
            free(r->vals[i][k]);
        free(r->vals[i]);
    }
    free(r->vals);
    free(r->ncols);
    memset(r, 0, sizeof *r);
}

static int rows_read(xmlNode *result, row_set *out)
{
    size_t n = 0, i = 0;
    memset(out, 0, sizeof *out);
    for (xmlNode *r = soap_child(result, "GenericReadableRow"); r;
         r = soap_next(r, "GenericReadableRow"))
        n++;
    if (!n)
        return 0;
    out->ncols = calloc(n, sizeof *out->ncols);
    out->vals = calloc(n, sizeof *out->vals);
    if (!out->ncols || !out->vals) {
        rows_free(out);
        return -ENOMEM;
    }
    out->nrows = n;
    for (xmlNode *r = soap_child(result, "GenericReadableRow"); r;
         r = soap_next(r, "GenericReadableRow"), i++) {
        xmlNode *vals = soap_child(r, "Values");
        size_t nc = 0, k = 0;
        for (xmlNode *v = soap_child(vals, "anyType"); v; v = soap_next(v, "anyType"))
            nc++;
        out->vals[i] = calloc(nc ? nc : 1, sizeof(char *));
        if (!out->vals[i]) {
            rows_free(out);
            return -ENOMEM;
        }
        for (xmlNode *v = soap_child(vals, "anyType"); v; v = soap_next(v, "anyType")) {
            out->vals[i][k] = soap_text(v);
            if (!out->vals[i][k]) {
                out->ncols[i] = k;
                rows_free(out);
                return -ENOMEM;
            }
            k++;
        }
        out->ncols[i] = nc;
    }
    return 0;
}

static const char *row_val(const row_set *r, size_t row, size_t col)
{
    return row < r->nrows && col < r->ncols[row] ? r->vals[row][col] : "";
}

int wsusapi_get_sync_progress(wsusapi *c, wsusapi_progress *out)
{
    xmlDoc *doc;
    xmlNode *res;
    row_set rows;
    int ret = api_call(c, "GetServerSyncProgress", NULL, &doc, &res);
    if (ret < 0)
        return ret;
    ret = rows_read(res, &rows);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_answer(c, ret);
    if (rows.nrows < 1 || rows.ncols[0] < 3) {
        rows_free(&rows);
        return bad_answer(c, CM_EPARSE);
    }
    long phase = strtol(row_val(&rows, 0, 0), NULL, 10);
    out->phase = phase >= 0 && phase <= 3 ? (wsusapi_phase)phase : WSUSAPI_PHASE_NOT_PROCESSING;
    out->total = strtoll(row_val(&rows, 0, 1), NULL, 10);
    out->processed = strtoll(row_val(&rows, 0, 2), NULL, 10);
    rows_free(&rows);
    return 0;
}

int wsusapi_get_last_sync(wsusapi *c, wsusapi_sync_info *out)
{
    xmlDoc *doc;
    xmlNode *res;
    char t[64];
    memset(out, 0, sizeof *out);
    int ret = api_call(c, "GetLastSynchronizationInfo", NULL, &doc, &res);
    if (ret < 0)
        return ret;
    if (!res) {
        xmlFreeDoc(doc);
        return bad_answer(c, CM_EPARSE);
    }
    copy_text(res, "Result", t, sizeof t, "");
    if (strcmp(t, "Succeeded") == 0)
        out->result = WSUSAPI_RESULT_SUCCEEDED;
    else if (strcmp(t, "Failed") == 0)
        out->result = WSUSAPI_RESULT_FAILED;
    else if (strcmp(t, "Canceled") == 0)
        out->result = WSUSAPI_RESULT_CANCELED;
    else
        out->result = WSUSAPI_RESULT_NEVER;
    copy_text(res, "StartTime", t, sizeof t, "");
    out->start_time = parse_time(t);
    copy_text(res, "EndTime", t, sizeof t, "");
    out->end_time = parse_time(t);
    long long v;
    out->new_updates = soap_child_int(res, "NewUpdates", &v) == 0 ? v : 0;
    out->revised_updates = soap_child_int(res, "RevisedUpdates", &v) == 0 ? v : 0;
    out->expired_updates = soap_child_int(res, "ExpiredUpdates", &v) == 0 ? v : 0;
    copy_text(res, "Error", out->error, sizeof out->error, "");
    xmlFreeDoc(doc);
    return 0;
}

int wsusapi_get_categories(wsusapi *c, wsusapi_category **out, size_t *n)
{
    xmlDoc *doc;
    xmlNode *res;
    row_set rows;
    *out = NULL;
    *n = 0;
    int ret = api_call(c, "ExecuteSPGetCategories", NULL, &doc, &res);
    if (ret < 0)
        return ret;
    ret = rows_read(res, &rows);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_answer(c, ret);
    if (!rows.nrows)
        return 0;
    wsusapi_category *v = calloc(rows.nrows, sizeof *v);
    if (!v) {
        rows_free(&rows);
        return bad_answer(c, -ENOMEM);
    }
    for (size_t i = 0; i < rows.nrows; i++) {
        snprintf(v[i].id, sizeof v[i].id, "%s", row_val(&rows, i, 0));
        snprintf(v[i].type, sizeof v[i].type, "%s", row_val(&rows, i, 1));
        snprintf(v[i].title, sizeof v[i].title, "%s", row_val(&rows, i, 2));
        snprintf(v[i].parent_id, sizeof v[i].parent_id, "%s", row_val(&rows, i, 3));
        v[i].revision = atoi(row_val(&rows, i, 4));
        v[i].arrival_time = parse_time(row_val(&rows, i, 5));
    }
    *out = v;
    *n = rows.nrows;
    rows_free(&rows);
    return 0;
}

static int id_param(wsusapi *c, const char *update_id, soap_buf *b)
{
    char g[37];
    if (!update_id || guid_norm(update_id, g) < 0) {
        snprintf(c->error, sizeof c->error, "The update ID '%s' is not a GUID.",
                 update_id ? update_id : "");
        return CM_EPARSE;
    }
    soap_buf_init(b);
    soap_buf_elem(b, "updateId", g);
    return b->err ? -ENOMEM : 0;
}

int wsusapi_get_update(wsusapi *c, const char *update_id, wsusapi_update *out)
{
    xmlDoc *doc;
    xmlNode *res;
    row_set rows;
    soap_buf b;
    memset(out, 0, sizeof *out);
    int ret = id_param(c, update_id, &b);
    if (ret < 0)
        return ret;
    ret = api_call(c, "ExecuteSPGetUpdateById", b.data, &doc, &res);
    soap_buf_free(&b);
    if (ret < 0)
        return ret == SOAP_EFAULT && strstr(c->error, "could not be found") ? CM_ENOTFOUND : ret;
    ret = rows_read(res, &rows);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_answer(c, ret);
    if (rows.nrows < 1) {
        rows_free(&rows);
        snprintf(c->error, sizeof c->error, "The update could not be found.");
        return CM_ENOTFOUND;
    }
    snprintf(out->id, sizeof out->id, "%s", row_val(&rows, 0, 0));
    out->revision = atoi(row_val(&rows, 0, 1));
    snprintf(out->update_type, sizeof out->update_type, "%s", row_val(&rows, 0, 2));
    snprintf(out->title, sizeof out->title, "%s", row_val(&rows, 0, 3));
    snprintf(out->kb_article, sizeof out->kb_article, "%s", row_val(&rows, 0, 4));
    snprintf(out->msrc_severity, sizeof out->msrc_severity, "%s", row_val(&rows, 0, 5));
    out->creation_date = parse_time(row_val(&rows, 0, 6));
    out->arrival_time = parse_time(row_val(&rows, 0, 7));
    out->is_expired = strcmp(row_val(&rows, 0, 8), "true") == 0;
    out->is_superseded = strcmp(row_val(&rows, 0, 9), "true") == 0;
    snprintf(out->classification_id, sizeof out->classification_id, "%s", row_val(&rows, 0, 10));
    rows_free(&rows);
    return 0;
}

int wsusapi_get_update_xml(wsusapi *c, const char *update_id, char **xml, size_t *len)
{
    xmlDoc *doc;
    xmlNode *res;
    soap_buf b;
    *xml = NULL;
    *len = 0;
    int ret = id_param(c, update_id, &b);
    if (ret < 0)
        return ret;
    ret = api_call(c, "ExecuteSPGetXmlForUpdate", b.data, &doc, &res);
    soap_buf_free(&b);
    if (ret < 0)
        return ret == SOAP_EFAULT && strstr(c->error, "could not be found") ? CM_ENOTFOUND : ret;
    char *t = res ? soap_text(res) : NULL;
    xmlFreeDoc(doc);
    if (!t || !*t) {
        free(t);
        return bad_answer(c, res ? -ENOMEM : CM_EPARSE);
    }
    *xml = t;
    *len = strlen(t);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Server-side writers                                                 */
/* ------------------------------------------------------------------ */

void wsusapi_time_format(char *buf, size_t len, time_t t)
{
    fmt_time(buf, len, t);
}

void wsusapi_response_begin(soap_buf *b, const char *op, int has_result)
{
    soap_buf_printf(b, "<%sResponse xmlns=\"%s\">", op, WSUSAPI_NS);
    if (has_result)
        soap_buf_printf(b, "<%sResult>", op);
}

void wsusapi_response_end(soap_buf *b, const char *op, int has_result)
{
    if (has_result)
        soap_buf_printf(b, "</%sResult>", op);
    soap_buf_printf(b, "</%sResponse>", op);
}

void wsusapi_row_begin(soap_buf *b)
{
    soap_buf_puts(b, "<GenericReadableRow><Values>");
}

void wsusapi_row_str(soap_buf *b, const char *v)
{
    if (!v) {
        soap_buf_puts(b, "<anyType xsi:nil=\"true\" />");
        return;
    }
    soap_buf_puts(b, "<anyType xsi:type=\"xsd:string\">");
    soap_buf_escape(b, v);
    soap_buf_puts(b, "</anyType>");
}

void wsusapi_row_int(soap_buf *b, long long v)
{
    soap_buf_printf(b, "<anyType xsi:type=\"xsd:int\">%lld</anyType>", v);
}

void wsusapi_row_bool(soap_buf *b, int v)
{
    soap_buf_printf(b, "<anyType xsi:type=\"xsd:boolean\">%s</anyType>", tf(v));
}

void wsusapi_row_time(soap_buf *b, time_t t)
{
    char buf[40];
    fmt_time(buf, sizeof buf, t);
    soap_buf_printf(b, "<anyType xsi:type=\"xsd:dateTime\">%s</anyType>", buf);
}

void wsusapi_row_end(soap_buf *b)
{
    soap_buf_puts(b, "</Values></GenericReadableRow>");
}

void wsusapi_sync_info_write(soap_buf *b, const wsusapi_sync_info *info)
{
    static const char *names[] = {"Never", "Succeeded", "Failed", "Canceled"};
    char t[40];
    soap_buf_elem(b, "Result",
                  info->result >= WSUSAPI_RESULT_NEVER && info->result <= WSUSAPI_RESULT_CANCELED
                      ? names[info->result]
                      : "Never");
    fmt_time(t, sizeof t, info->start_time);
    soap_buf_elem(b, "StartTime", t);
    fmt_time(t, sizeof t, info->end_time);
    soap_buf_elem(b, "EndTime", t);
    soap_buf_elem_int(b, "NewUpdates", info->new_updates);
    soap_buf_elem_int(b, "RevisedUpdates", info->revised_updates);
    soap_buf_elem_int(b, "ExpiredUpdates", info->expired_updates);
    soap_buf_elem(b, "Error", info->error);
}
