/*
 * wsusss.c - MS-WSUSSS messages (both ends) and the downstream client.
 * Element names and order follow the WSDL of MS-WSUSSS section 6.1.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "cabmem.h"
#include "cabwrite.h"
#include "cm_error.h"
#include "wsusss.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

int wsusss_guid_parse(const char *in, char out[37])
{
    char buf[64];
    size_t n;
    if (!in)
        return CM_EPARSE;
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
    memcpy(buf, in, 36);
    for (int i = 0; i < 36; i++) {
        char c = buf[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return CM_EPARSE;
            continue;
        }
        if (!isxdigit((unsigned char)c))
            return CM_EPARSE;
        buf[i] = (char)tolower((unsigned char)c);
    }
    memcpy(out, buf, 36);
    out[36] = '\0';
    return 0;
}

void wsusss_cookie_free(wsusss_cookie *c)
{
    if (!c)
        return;
    free(c->data);
    memset(c, 0, sizeof *c);
}

void wsusss_config_data_free(wsusss_config_data *c)
{
    if (!c)
        return;
    free(c->languages);
    memset(c, 0, sizeof *c);
}

void wsusss_filter_free(wsusss_filter *f)
{
    if (!f)
        return;
    free(f->categories);
    free(f->classifications);
    free(f->languages);
    memset(f, 0, sizeof *f);
}

void wsusss_update_data_free(wsusss_update_data *u, size_t n)
{
    if (!u)
        return;
    for (size_t i = 0; i < n; i++) {
        free(u[i].xml);
        free(u[i].digests);
    }
    free(u);
}

void wsusss_file_urls_free(wsusss_file_url *u, size_t n)
{
    if (!u)
        return;
    for (size_t i = 0; i < n; i++)
        free(u[i].mu_url);
    free(u);
}

static size_t count_children(xmlNode *parent, const char *name)
{
    size_t n = 0;
    for (xmlNode *c = soap_child(parent, name); c; c = soap_next(c, name))
        n++;
    return n;
}

static int read_identity(xmlNode *node, wsusss_identity *out)
{
    char buf[64];
    long long rev;
    soap_child_text(node, "UpdateID", buf, sizeof buf, "");
    if (wsusss_guid_parse(buf, out->id) < 0)
        return CM_EPARSE;
    if (soap_child_int(node, "RevisionNumber", &rev) < 0 || rev < 0 || rev > 0x7fffffff)
        return CM_EPARSE;
    out->revision = (int)rev;
    return 0;
}

static void write_identity(soap_buf *b, const char *elem, const wsusss_identity *id)
{
    /* Pieces instead of one printf: a revision list holds a hundred thousand of these. */
    char num[16];
    int n = snprintf(num, sizeof num, "%d", id->revision);
    size_t el = strlen(elem);
    soap_buf_add(b, "<", 1);
    soap_buf_add(b, elem, el);
    soap_buf_add(b, "><UpdateID>", 11);
    soap_buf_add(b, id->id, strlen(id->id));
    soap_buf_add(b, "</UpdateID><RevisionNumber>", 27);
    soap_buf_add(b, num, (size_t)n);
    soap_buf_add(b, "</RevisionNumber></", 19);
    soap_buf_add(b, elem, el);
    soap_buf_add(b, ">", 1);
}

/* Read every <UpdateIdentity> of an ArrayOfUpdateIdentity. */
static int read_identities(xmlNode *array, wsusss_identity **ids, size_t *n)
{
    size_t cnt = count_children(array, "UpdateIdentity"), i = 0;
    *ids = NULL;
    *n = 0;
    if (!cnt)
        return 0;
    wsusss_identity *v = calloc(cnt, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (xmlNode *c = soap_child(array, "UpdateIdentity"); c; c = soap_next(c, "UpdateIdentity"))
        if (read_identity(c, &v[i++]) < 0) {
            free(v);
            return CM_EPARSE;
        }
    *ids = v;
    *n = cnt;
    return 0;
}

static void write_cookie(soap_buf *b, const char *elem, const wsusss_cookie *c)
{
    soap_buf_printf(b, "<%s>", elem);
    soap_buf_elem(b, "Expiration", c && c->expiration[0] ? c->expiration : "0001-01-01T00:00:00");
    soap_buf_elem(b, "EncryptedData", c && c->data ? c->data : "");
    soap_buf_printf(b, "</%s>", elem);
}

static int read_cookie(xmlNode *node, wsusss_cookie *out)
{
    memset(out, 0, sizeof *out);
    if (!node)
        return CM_ENOTFOUND;
    soap_child_text(node, "Expiration", out->expiration, sizeof out->expiration, "");
    out->data = soap_child_strdup(node, "EncryptedData");
    if (!out->data)
        out->data = strdup("");
    if (!out->data)
        return -ENOMEM;
    return 0;
}

/* Trim whitespace at both ends in place (base64 text is often wrapped). */
static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[i]))
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* The expected result element of a response, e.g. GetCookieResponse/GetCookieResult. */
static xmlNode *result_of(xmlNode *resp, const char *response, const char *result)
{
    if (!resp || strcmp((const char *)resp->name, response) != 0)
        return NULL;
    return soap_child(resp, result);
}

/* ------------------------------------------------------------------ */
/* GetAuthConfig                                                       */
/* ------------------------------------------------------------------ */

void wsusss_auth_config_request_write(soap_buf *b)
{
    soap_buf_puts(b, "<GetAuthConfig xmlns=\"" WSUSSS_NS "\" />");
}

void wsusss_auth_config_response_write(soap_buf *b, const char *last_change)
{
    soap_buf_puts(b, "<GetAuthConfigResponse xmlns=\"" WSUSSS_NS "\"><GetAuthConfigResult>");
    soap_buf_elem(b, "LastChange", last_change);
    soap_buf_puts(b, "<AuthInfo><AuthPlugInInfo><PlugInID>" WSUSSS_PLUGIN_ID
                     "</PlugInID><ServiceUrl>" WSUSSS_SERVICE_URL
                     "</ServiceUrl></AuthPlugInInfo></AuthInfo>"
                     "</GetAuthConfigResult></GetAuthConfigResponse>");
}

int wsusss_auth_config_response_read(xmlNode *resp, char *plugin_id, size_t plen, char *service_url,
                                     size_t slen)
{
    xmlNode *r = result_of(resp, "GetAuthConfigResponse", "GetAuthConfigResult");
    xmlNode *info = soap_child(soap_child(r, "AuthInfo"), "AuthPlugInInfo");
    if (!info)
        return CM_EPARSE;
    soap_child_text(info, "PlugInID", plugin_id, plen, "");
    soap_child_text(info, "ServiceUrl", service_url, slen, "");
    trim(service_url);
    return plugin_id[0] && service_url[0] ? 0 : CM_EPARSE;
}

/* ------------------------------------------------------------------ */
/* GetAuthorizationCookie                                              */
/* ------------------------------------------------------------------ */

void wsusss_auth_cookie_request_write(soap_buf *b, const char *account_name,
                                      const char *account_guid)
{
    soap_buf_puts(b, "<GetAuthorizationCookie xmlns=\"" WSUSSS_DSSAUTH_NS "\">");
    soap_buf_elem(b, "accountName", account_name);
    soap_buf_elem(b, "accountGuid", account_guid);
    soap_buf_puts(b, "<programKeys /></GetAuthorizationCookie>");
}

static int fqdn_valid(const char *s)
{
    if (!*s || strlen(s) > 255)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
            return 0;
    return 1;
}

int wsusss_auth_cookie_request_read(xmlNode *op, char *account_name, size_t nlen,
                                    char *account_guid, size_t glen)
{
    char guid[37], buf[300];
    if (!op || strcmp((const char *)op->name, "GetAuthorizationCookie") != 0)
        return CM_EPARSE;
    soap_child_text(op, "accountName", buf, sizeof buf, "");
    trim(buf);
    if (!fqdn_valid(buf))
        return CM_EPARSE;
    snprintf(account_name, nlen, "%s", buf);
    soap_child_text(op, "accountGuid", buf, sizeof buf, "");
    if (wsusss_guid_parse(buf, guid) < 0)
        return CM_EPARSE;
    snprintf(account_guid, glen, "%s", guid);
    return 0;
}

void wsusss_auth_cookie_response_write(soap_buf *b, const char *cookie_data_b64)
{
    soap_buf_puts(b, "<GetAuthorizationCookieResponse xmlns=\"" WSUSSS_DSSAUTH_NS
                     "\"><GetAuthorizationCookieResult><PlugInId>" WSUSSS_PLUGIN_ID "</PlugInId>");
    soap_buf_elem(b, "CookieData", cookie_data_b64);
    soap_buf_puts(b, "</GetAuthorizationCookieResult></GetAuthorizationCookieResponse>");
}

int wsusss_auth_cookie_response_read(xmlNode *resp, char *plugin_id, size_t plen,
                                     char **cookie_data_b64)
{
    xmlNode *r = result_of(resp, "GetAuthorizationCookieResponse", "GetAuthorizationCookieResult");
    *cookie_data_b64 = NULL;
    if (!r)
        return CM_EPARSE;
    soap_child_text(r, "PlugInId", plugin_id, plen, "");
    char *data = soap_child_strdup(r, "CookieData");
    if (!data)
        return CM_EPARSE;
    trim(data);
    if (!*data) {
        free(data);
        return CM_EPARSE;
    }
    *cookie_data_b64 = data;
    return 0;
}

/* ------------------------------------------------------------------ */
/* GetCookie                                                           */
/* ------------------------------------------------------------------ */

void wsusss_cookie_request_write(soap_buf *b, const char *auth_cookie_b64,
                                 const wsusss_cookie *old_cookie, const char *protocol_version)
{
    soap_buf_puts(b, "<GetCookie xmlns=\"" WSUSSS_NS "\"><authCookies><AuthorizationCookie>"
                     "<PlugInId>" WSUSSS_PLUGIN_ID "</PlugInId>");
    soap_buf_elem(b, "CookieData", auth_cookie_b64);
    soap_buf_puts(b, "</AuthorizationCookie></authCookies>");
    if (old_cookie && old_cookie->data && old_cookie->data[0])
        write_cookie(b, "oldCookie", old_cookie);
    soap_buf_elem(b, "protocolVersion", protocol_version);
    soap_buf_puts(b, "</GetCookie>");
}

int wsusss_cookie_request_read(xmlNode *op, char **auth_cookie_b64, char *protocol_version,
                               size_t vlen)
{
    *auth_cookie_b64 = NULL;
    if (!op || strcmp((const char *)op->name, "GetCookie") != 0)
        return CM_EPARSE;
    xmlNode *arr = soap_child(op, "authCookies");
    soap_child_text(op, "protocolVersion", protocol_version, vlen, "");
    trim(protocol_version);
    if (arr && count_children(arr, "AuthorizationCookie") == 1) {
        char *d = soap_child_strdup(soap_child(arr, "AuthorizationCookie"), "CookieData");
        if (d) {
            trim(d);
            *auth_cookie_b64 = d;
        }
    }
    return 0;
}

void wsusss_cookie_response_write(soap_buf *b, const wsusss_cookie *c)
{
    soap_buf_puts(b, "<GetCookieResponse xmlns=\"" WSUSSS_NS "\">");
    write_cookie(b, "GetCookieResult", c);
    soap_buf_puts(b, "</GetCookieResponse>");
}

int wsusss_cookie_response_read(xmlNode *resp, wsusss_cookie *out)
{
    xmlNode *r = result_of(resp, "GetCookieResponse", "GetCookieResult");
    int ret = read_cookie(r, out);
    if (ret == CM_ENOTFOUND)
        return CM_EPARSE;
    if (ret < 0)
        return ret;
    trim(out->data);
    if (!out->data[0]) {
        wsusss_cookie_free(out);
        return CM_EPARSE;
    }
    return 0;
}

int wsusss_cookie_arg_read(xmlNode *op, wsusss_cookie *out)
{
    int ret = read_cookie(soap_child(op, "cookie"), out);
    if (ret < 0)
        return ret;
    trim(out->data);
    if (!out->data[0]) {
        wsusss_cookie_free(out);
        return CM_ENOTFOUND;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* GetConfigData                                                       */
/* ------------------------------------------------------------------ */

void wsusss_config_request_write(soap_buf *b, const wsusss_cookie *c, const char *config_anchor)
{
    soap_buf_puts(b, "<GetConfigData xmlns=\"" WSUSSS_NS "\">");
    write_cookie(b, "cookie", c);
    if (config_anchor && *config_anchor)
        soap_buf_elem(b, "configAnchor", config_anchor);
    soap_buf_puts(b, "</GetConfigData>");
}

int wsusss_config_request_read(xmlNode *op, char *config_anchor, size_t alen)
{
    if (!op || strcmp((const char *)op->name, "GetConfigData") != 0)
        return CM_EPARSE;
    soap_child_text(op, "configAnchor", config_anchor, alen, "");
    return 0;
}

static const char *tf(int v)
{
    return v ? "true" : "false";
}

void wsusss_config_response_write(soap_buf *b, const wsusss_config_data *cfg)
{
    soap_buf_puts(b, "<GetConfigDataResponse xmlns=\"" WSUSSS_NS "\"><GetConfigDataResult>");
    soap_buf_printf(b, "<CatalogOnlySync>%s</CatalogOnlySync>", tf(cfg->catalog_only_sync));
    soap_buf_printf(b, "<LazySync>%s</LazySync>", tf(cfg->lazy_sync));
    soap_buf_printf(b, "<ServerHostsPsfFiles>%s</ServerHostsPsfFiles>", tf(cfg->hosts_psf));
    soap_buf_elem_int(b, "MaxNumberOfComputerIdsInRequest", cfg->max_computer_ids);
    soap_buf_elem_int(b, "MaxNumberOfDriverSetsPerRequest", cfg->max_driver_sets_per_request);
    soap_buf_elem_int(b, "MaxNumberOfPnpHardwareIdsInRequest", cfg->max_pnp_ids);
    soap_buf_elem_int(b, "MaxNumberOfUpdatesPerRequest", cfg->max_updates_per_request);
    soap_buf_elem(b, "NewConfigAnchor", cfg->new_config_anchor);
    soap_buf_elem(b, "ProtocolVersion", cfg->protocol_version);
    soap_buf_puts(b, "<LanguageUpdateList>");
    for (size_t i = 0; i < cfg->nlanguages; i++) {
        const wsusss_language *l = &cfg->languages[i];
        soap_buf_puts(b, "<ServerSyncLanguageData>");
        soap_buf_elem_int(b, "LanguageID", l->id);
        soap_buf_elem(b, "ShortLanguage", l->short_name);
        soap_buf_elem(b, "LongLanguage", l->long_name);
        soap_buf_printf(b, "<Enabled>%s</Enabled>", tf(l->enabled));
        soap_buf_puts(b, "</ServerSyncLanguageData>");
    }
    soap_buf_puts(b, "</LanguageUpdateList>");
    soap_buf_elem_int(b, "MaxUpdatesPerRequestInGetUpdateDecryptionData",
                      cfg->max_decryption_updates);
    soap_buf_puts(b, "</GetConfigDataResult></GetConfigDataResponse>");
}

static int opt_int(xmlNode *r, const char *name, int def)
{
    long long v;
    if (soap_child_int(r, name, &v) < 0 || v < 0 || v > 0x7fffffff)
        return def;
    return (int)v;
}

int wsusss_config_response_read(xmlNode *resp, wsusss_config_data *out)
{
    xmlNode *r = result_of(resp, "GetConfigDataResponse", "GetConfigDataResult");
    long long max;
    memset(out, 0, sizeof *out);
    if (!r || soap_child_int(r, "MaxNumberOfUpdatesPerRequest", &max) < 0 || max < 1 ||
        max > 100000)
        return CM_EPARSE;
    out->max_updates_per_request = (int)max;
    out->catalog_only_sync = soap_child_bool(r, "CatalogOnlySync", 1);
    out->lazy_sync = soap_child_bool(r, "LazySync", 1);
    out->hosts_psf = soap_child_bool(r, "ServerHostsPsfFiles", 0);
    out->max_driver_sets_per_request = opt_int(r, "MaxNumberOfDriverSetsPerRequest", 0);
    out->max_computer_ids = opt_int(r, "MaxNumberOfComputerIdsInRequest", 0);
    out->max_pnp_ids = opt_int(r, "MaxNumberOfPnpHardwareIdsInRequest", 0);
    out->max_decryption_updates = opt_int(r, "MaxUpdatesPerRequestInGetUpdateDecryptionData", 0);
    soap_child_text(r, "NewConfigAnchor", out->new_config_anchor, sizeof out->new_config_anchor,
                    "");
    soap_child_text(r, "ProtocolVersion", out->protocol_version, sizeof out->protocol_version, "");
    xmlNode *list = soap_child(r, "LanguageUpdateList");
    size_t n = count_children(list, "ServerSyncLanguageData"), i = 0;
    if (n) {
        out->languages = calloc(n, sizeof *out->languages);
        if (!out->languages)
            return -ENOMEM;
        for (xmlNode *c = soap_child(list, "ServerSyncLanguageData"); c;
             c = soap_next(c, "ServerSyncLanguageData")) {
            wsusss_language *l = &out->languages[i++];
            l->id = opt_int(c, "LanguageID", 0);
            soap_child_text(c, "ShortLanguage", l->short_name, sizeof l->short_name, "");
            soap_child_text(c, "LongLanguage", l->long_name, sizeof l->long_name, "");
            l->enabled = soap_child_bool(c, "Enabled", 0);
        }
        out->nlanguages = n;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* GetRevisionIdList                                                   */
/* ------------------------------------------------------------------ */

static void write_id_deltas(soap_buf *b, const char *elem, char (*ids)[37], size_t n, int delta)
{
    if (!n)
        return;
    soap_buf_printf(b, "<%s>", elem);
    for (size_t i = 0; i < n; i++)
        soap_buf_printf(b, "<IdAndDelta><Id>%s</Id><Delta>%s</Delta></IdAndDelta>", ids[i],
                        tf(delta));
    soap_buf_printf(b, "</%s>", elem);
}

void wsusss_revision_request_write(soap_buf *b, const wsusss_cookie *c, const wsusss_filter *f)
{
    soap_buf_puts(b, "<GetRevisionIdList xmlns=\"" WSUSSS_NS "\">");
    write_cookie(b, "cookie", c);
    soap_buf_puts(b, "<filter>");
    if (f->anchor[0])
        soap_buf_elem(b, "Anchor", f->anchor);
    soap_buf_printf(b, "<GetConfig>%s</GetConfig>", tf(f->get_config));
    soap_buf_printf(b, "<Get63LanguageOnly>%s</Get63LanguageOnly>", tf(f->get63_language_only));
    if (!f->get_config) {
        write_id_deltas(b, "Categories", f->categories, f->ncategories, f->delta);
        write_id_deltas(b, "Classifications", f->classifications, f->nclassifications, f->delta);
        if (f->nlanguages) {
            soap_buf_puts(b, "<Languages>");
            for (size_t i = 0; i < f->nlanguages; i++)
                soap_buf_printf(b,
                                "<LanguageAndDelta><Id>%d</Id><Delta>%s</Delta></LanguageAndDelta>",
                                f->languages[i], tf(f->delta));
            soap_buf_puts(b, "</Languages>");
        }
    }
    soap_buf_puts(b, "</filter></GetRevisionIdList>");
}

static int read_id_deltas(xmlNode *arr, char (**out)[37], size_t *n)
{
    size_t cnt = count_children(arr, "IdAndDelta"), i = 0;
    char buf[64];
    *out = NULL;
    *n = 0;
    if (!cnt)
        return 0;
    char(*v)[37] = calloc(cnt, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (xmlNode *c = soap_child(arr, "IdAndDelta"); c; c = soap_next(c, "IdAndDelta")) {
        soap_child_text(c, "Id", buf, sizeof buf, "");
        if (wsusss_guid_parse(buf, v[i++]) < 0) {
            free(v);
            return CM_EPARSE;
        }
    }
    *out = v;
    *n = cnt;
    return 0;
}

int wsusss_revision_request_read(xmlNode *op, wsusss_filter *out)
{
    int ret;
    memset(out, 0, sizeof *out);
    if (!op || strcmp((const char *)op->name, "GetRevisionIdList") != 0)
        return CM_EPARSE;
    xmlNode *f = soap_child(op, "filter");
    if (!f || !soap_child(f, "GetConfig"))
        return CM_EPARSE;
    soap_child_text(f, "Anchor", out->anchor, sizeof out->anchor, "");
    trim(out->anchor);
    out->get_config = soap_child_bool(f, "GetConfig", 0);
    out->get63_language_only = soap_child_bool(f, "Get63LanguageOnly", 0);
    if ((ret = read_id_deltas(soap_child(f, "Categories"), &out->categories, &out->ncategories)) <
            0 ||
        (ret = read_id_deltas(soap_child(f, "Classifications"), &out->classifications,
                              &out->nclassifications)) < 0) {
        wsusss_filter_free(out);
        return ret;
    }
    xmlNode *langs = soap_child(f, "Languages");
    size_t nl = count_children(langs, "LanguageAndDelta"), i = 0;
    if (nl) {
        out->languages = calloc(nl, sizeof *out->languages);
        if (!out->languages) {
            wsusss_filter_free(out);
            return -ENOMEM;
        }
        for (xmlNode *c = soap_child(langs, "LanguageAndDelta"); c;
             c = soap_next(c, "LanguageAndDelta"))
            out->languages[i++] = opt_int(c, "Id", 0);
        out->nlanguages = nl;
    }
    return 0;
}

void wsusss_revision_response_write(soap_buf *b, const char *anchor, const wsusss_identity *ids,
                                    size_t n)
{
    soap_buf_puts(b,
                  "<GetRevisionIdListResponse xmlns=\"" WSUSSS_NS "\"><GetRevisionIdListResult>");
    soap_buf_elem(b, "Anchor", anchor);
    soap_buf_puts(b, "<NewRevisions>");
    for (size_t i = 0; i < n; i++)
        write_identity(b, "UpdateIdentity", &ids[i]);
    soap_buf_puts(b, "</NewRevisions></GetRevisionIdListResult></GetRevisionIdListResponse>");
}

int wsusss_revision_response_read(xmlNode *resp, char *anchor, size_t alen, wsusss_identity **ids,
                                  size_t *n)
{
    xmlNode *r = result_of(resp, "GetRevisionIdListResponse", "GetRevisionIdListResult");
    *ids = NULL;
    *n = 0;
    if (!r || !soap_child(r, "Anchor"))
        return CM_EPARSE;
    soap_child_text(r, "Anchor", anchor, alen, "");
    trim(anchor);
    return read_identities(soap_child(r, "NewRevisions"), ids, n);
}

/* ------------------------------------------------------------------ */
/* GetRevisionIdList as a stream                                       */
/* ------------------------------------------------------------------ */

/*
 * Where the reader is in Envelope/Body/GetRevisionIdListResponse/
 * GetRevisionIdListResult/{Anchor, NewRevisions/UpdateIdentity/{UpdateID,
 * RevisionNumber}}: each level is entered by its first element of that
 * name, as soap_child() finds it in the tree, and other elements are
 * skipped with what they hold.
 */
/* What every stream reader's state begins with (see stream_read()). */
typedef struct stream_flags {
    int not_answer; /* not the answer this reader reads: the caller asks the tree reader */
    int nomem;
} stream_flags;

enum { RV_ENVELOPE = 1, RV_BODY, RV_RESPONSE, RV_RESULT, RV_ITEM, RV_IDENTITY, RV_FIELD };

typedef struct rev_reader {
    stream_flags f; /* first, for stream_read() */
    int depth;      /* depth of the element being read (the envelope is 1) */
    int level;      /* the deepest level of the expected path entered, at its own depth */
    int seen_body, seen_response, seen_result, seen_anchor, seen_new;
    int invalid;
    int field; /* 1 UpdateID, 2 RevisionNumber, 3 Anchor: text collected until its end */
    int field_depth;
    int seen_id, seen_rev;
    char id[64], rev[64];
    size_t idlen, revlen;
    char *anchor;
    size_t alen, anchorlen;
    wsusss_identity *v;
    size_t n, cap;
} rev_reader;

static void rv_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs)
{
    rev_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    const char *ln = (const char *)name;
    (void)prefix, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
    r->depth++;
    if (r->level != r->depth - 1)
        return; /* inside something skipped, or inside a field */
    switch (r->level) {
    case 0:
        /* The root: a SOAP 1.1 envelope, as soap_parse() requires. */
        if (strcmp(ln, "Envelope") != 0 || !uri || strcmp((const char *)uri, SOAP_ENV_NS) != 0)
            r->f.not_answer = 1;
        else
            r->level = RV_ENVELOPE;
        return;
    case RV_ENVELOPE:
        if (!r->seen_body && strcmp(ln, "Body") == 0)
            r->seen_body = 1, r->level = RV_BODY;
        return;
    case RV_BODY:
        /* The body's first element is the answer; anything else (a Fault) is read elsewhere. */
        if (r->seen_response)
            return;
        r->seen_response = 1;
        if (strcmp(ln, "GetRevisionIdListResponse") != 0)
            r->f.not_answer = 1;
        else
            r->level = RV_RESPONSE;
        return;
    case RV_RESPONSE:
        if (!r->seen_result && strcmp(ln, "GetRevisionIdListResult") == 0)
            r->seen_result = 1, r->level = RV_RESULT;
        return;
    case RV_RESULT:
        if (!r->seen_anchor && strcmp(ln, "Anchor") == 0) {
            r->seen_anchor = 1;
            r->field = 3, r->field_depth = r->depth;
            r->level = RV_FIELD;
        } else if (!r->seen_new && strcmp(ln, "NewRevisions") == 0) {
            r->seen_new = 1;
            r->level = RV_ITEM;
        }
        return;
    case RV_ITEM:
        if (strcmp(ln, "UpdateIdentity") == 0) {
            r->seen_id = r->seen_rev = 0;
            r->idlen = r->revlen = 0;
            r->level = RV_IDENTITY;
        }
        return;
    case RV_IDENTITY:
        if (!r->seen_id && strcmp(ln, "UpdateID") == 0)
            r->seen_id = 1, r->field = 1;
        else if (!r->seen_rev && strcmp(ln, "RevisionNumber") == 0)
            r->seen_rev = 1, r->field = 2;
        else
            return;
        r->field_depth = r->depth;
        r->level = RV_FIELD;
        return;
    default:
        return;
    }
}

/*
 * The field's own text (its text and CDATA children, not what elements in
 * it hold, as soap_child_text() reads it), bounded as the tree reader
 * bounds it (63 bytes, alen - 1).
 */
static void rv_text(void *ctx, const xmlChar *ch, int len)
{
    rev_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    char *buf;
    size_t *used, cap;
    if (!r->field || r->depth != r->field_depth)
        return;
    if (r->field == 1)
        buf = r->id, used = &r->idlen, cap = sizeof r->id;
    else if (r->field == 2)
        buf = r->rev, used = &r->revlen, cap = sizeof r->rev;
    else
        buf = r->anchor, used = &r->anchorlen, cap = r->alen;
    size_t k = cap > *used + 1 ? cap - *used - 1 : 0;
    if (k > (size_t)len)
        k = (size_t)len;
    memcpy(buf + *used, ch, k);
    *used += k;
    buf[*used] = '\0';
}

static void rv_identity_done(rev_reader *r)
{
    wsusss_identity id;
    char *p = r->rev, *end;
    long long rev;
    memset(&id, 0, sizeof id);
    if (wsusss_guid_parse(r->seen_id ? r->id : "", id.id) < 0 || !r->seen_rev) {
        r->invalid = 1;
        return;
    }
    /* As soap_child_int() reads it: spaces around one decimal integer. */
    while (isspace((unsigned char)*p))
        p++;
    errno = 0;
    rev = strtoll(p, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == p || *end || errno || rev < 0 || rev > 0x7fffffff) {
        r->invalid = 1;
        return;
    }
    id.revision = (int)rev;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        wsusss_identity *nv = realloc(r->v, cap * sizeof *nv);
        if (!nv) {
            r->f.nomem = 1;
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = id;
}

static void rv_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    rev_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    (void)name, (void)prefix, (void)uri;
    if (r->level == RV_FIELD) {
        /* Elements inside a field are skipped, with their text. */
        if (r->depth == r->field_depth) {
            r->field = 0;
            r->level = r->field_depth == RV_RESULT + 1 ? RV_RESULT : RV_IDENTITY;
        }
    } else if (r->level == r->depth) {
        if (r->level == RV_IDENTITY && !r->invalid && !r->f.nomem)
            rv_identity_done(r);
        r->level--;
    }
    r->depth--;
}

static void stream_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static xmlEntityPtr stream_entity(void *ctx, const xmlChar *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

/* A DOCTYPE: not an answer these readers read (soap_parse() refuses it too). */
static void stream_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name, (void)ext, (void)sys;
    ((stream_flags *)((xmlParserCtxtPtr)ctx)->_private)->not_answer = 1;
}

/*
 * Read xml with a reader's SAX callbacks, with no network, entities or DTD
 * (as soap_parse() reads), in pieces of 64 KB: libxml2 refuses one push of
 * more than 10 MB as a "huge input lookup".  The reader's state begins with
 * its stream_flags; reading stops once either flag is set.
 * 1 when what was read is well formed, 0 when not, -ENOMEM.
 */
static int stream_read(const char *xml, size_t len, void *reader, startElementNsSAX2Func start,
                       endElementNsSAX2Func end, charactersSAXFunc text)
{
    const stream_flags *flags = reader; /* the reader's first member */
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = start;
    sax.endElementNs = end;
    sax.characters = text;
    sax.cdataBlock = text;
    sax.internalSubset = stream_dtd;
    sax.externalSubset = stream_dtd;
    sax.getEntity = stream_entity;
    sax.getParameterEntity = stream_entity;
    sax.serror = stream_error;
    xmlParserCtxtPtr ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, "soap.xml");
    if (!ctxt)
        return -ENOMEM;
    ctxt->_private = reader;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    for (size_t off = 0; off < len && ctxt->wellFormed && !flags->not_answer && !flags->nomem;) {
        size_t k = len - off < 65536 ? len - off : 65536;
        xmlParseChunk(ctxt, xml + off, (int)k, 0);
        off += k;
    }
    if (ctxt->wellFormed && !flags->not_answer && !flags->nomem)
        xmlParseChunk(ctxt, NULL, 0, 1);
    int well_formed = ctxt->wellFormed;
    xmlFreeParserCtxt(ctxt);
    return well_formed ? 1 : 0;
}

int wsusss_revision_response_parse(const char *xml, size_t len, char *anchor, size_t alen,
                                   wsusss_identity **ids, size_t *n)
{
    rev_reader r;
    *ids = NULL;
    *n = 0;
    if (!xml || len == 0 || len > INT_MAX || alen == 0 || soap_has_doctype(xml, len))
        return WSUSSS_NOT_THIS_ANSWER;
    memset(&r, 0, sizeof r);
    r.anchor = anchor;
    r.alen = alen;
    anchor[0] = '\0';
    int well_formed = stream_read(xml, len, &r, rv_start, rv_end, rv_text);
    if (well_formed < 0)
        return well_formed;
    int ret = 0;
    if (r.f.nomem)
        ret = -ENOMEM;
    else if (!well_formed || r.f.not_answer || !r.seen_response)
        ret = WSUSSS_NOT_THIS_ANSWER;
    else if (!r.seen_result || !r.seen_anchor || r.invalid)
        ret = CM_EPARSE;
    if (ret < 0) {
        free(r.v);
        anchor[0] = '\0';
        return ret;
    }
    trim(anchor);
    *ids = r.v;
    *n = r.n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* GetUpdateData                                                       */
/* ------------------------------------------------------------------ */

void wsusss_update_request_write(soap_buf *b, const wsusss_cookie *c, const wsusss_identity *ids,
                                 size_t n)
{
    soap_buf_puts(b, "<GetUpdateData xmlns=\"" WSUSSS_NS "\">");
    write_cookie(b, "cookie", c);
    soap_buf_puts(b, "<updateIds>");
    for (size_t i = 0; i < n; i++)
        write_identity(b, "UpdateIdentity", &ids[i]);
    soap_buf_puts(b, "</updateIds></GetUpdateData>");
}

int wsusss_update_request_read(xmlNode *op, wsusss_identity **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (!op || strcmp((const char *)op->name, "GetUpdateData") != 0)
        return CM_EPARSE;
    xmlNode *arr = soap_child(op, "updateIds");
    if (!arr)
        return 0;
    return read_identities(arr, ids, n);
}

void wsusss_update_response_begin(soap_buf *b)
{
    soap_buf_puts(b,
                  "<GetUpdateDataResponse xmlns=\"" WSUSSS_NS "\"><GetUpdateDataResult><updates>");
}

int wsusss_update_response_add(soap_buf *b, const wsusss_identity *id, const char *xml, size_t len,
                               int compress, char (*digests)[48], size_t ndigests)
{
    soap_buf_puts(b, "<ServerSyncUpdateData>");
    write_identity(b, "Id", id);
    if (!compress) {
        /*
         * XmlUpdateBlob is a string in MS-WSUSSS; written as CDATA it
         * is the same string to any XML reader, and a reader scans it in
         * one piece instead of resolving an entity per tag (a sixth of the
         * sync manager's reading time with escaped text).
         */
        soap_buf_puts(b, "<XmlUpdateBlob>");
        soap_buf_cdata(b, xml, len);
        soap_buf_puts(b, "</XmlUpdateBlob>");
    }
    if (ndigests) {
        soap_buf_puts(b, "<FileDigestList>");
        for (size_t i = 0; i < ndigests; i++)
            soap_buf_elem(b, "base64Binary", digests[i]);
        soap_buf_puts(b, "</FileDigestList>");
    }
    if (compress) {
        unsigned char *cab;
        size_t cablen, b64len;
        int ret = cabw_single_mem("blob", xml, len, &cab, &cablen);
        if (ret < 0)
            return ret;
        char *t = cabmem_base64_encode(cab, cablen, &b64len);
        free(cab);
        if (!t)
            return -ENOMEM;
        soap_buf_puts(b, "<XmlUpdateBlobCompressed>");
        soap_buf_add(b, t, b64len);
        soap_buf_puts(b, "</XmlUpdateBlobCompressed>");
        free(t);
    }
    soap_buf_puts(b, "</ServerSyncUpdateData>");
    return b->err ? -ENOMEM : 0;
}

void wsusss_update_response_urls(soap_buf *b)
{
    soap_buf_puts(b, "</updates><fileUrls>");
}

void wsusss_update_response_url(soap_buf *b, const char *digest, const char *mu_url)
{
    soap_buf_puts(b, "<ServerSyncUrlData>");
    soap_buf_elem(b, "FileDigest", digest);
    if (mu_url && *mu_url)
        soap_buf_elem(b, "MUUrl", mu_url);
    soap_buf_puts(b, "</ServerSyncUrlData>");
}

void wsusss_update_response_end(soap_buf *b)
{
    soap_buf_puts(b, "</fileUrls></GetUpdateDataResult></GetUpdateDataResponse>");
}

/* ------------------------------------------------------------------ */
/* GetUpdateData as a stream                                           */
/* ------------------------------------------------------------------ */

/*
 * What each open element is to the reader.  An element is entered as the
 * tree reader finds it: the first child of its name (soap_child()) where
 * one is read, every child of its name where a list is read; anything else
 * is skipped with what it holds.  Text fields collect their own text (text
 * and CDATA children), as node_text() does.
 */
enum {
    UD_SKIP = 0,
    UD_ENVELOPE,
    UD_BODY,
    UD_RESPONSE,
    UD_RESULT,
    UD_UPDATES,
    UD_UPDATE, /* ServerSyncUpdateData */
    UD_ID,
    UD_FIELD_ID,  /* Id/UpdateID */
    UD_FIELD_REV, /* Id/RevisionNumber */
    UD_BLOB,      /* XmlUpdateBlob */
    UD_BLOB_COMP, /* XmlUpdateBlobCompressed */
    UD_DIGESTS,   /* FileDigestList */
    UD_FIELD_DIGEST,
    UD_URLS, /* fileUrls */
    UD_URL,  /* ServerSyncUrlData */
    UD_FIELD_URL_DIGEST,
    UD_FIELD_MUURL,
};

#define UD_MAX_DEPTH 16
#define UD_SHORT 256 /* identity and digest fields; anything longer goes to the tree reader */

typedef struct ud_reader {
    stream_flags f; /* first, for stream_read() */
    int depth;
    unsigned char what[UD_MAX_DEPTH + 1];
    int seen_body, seen_response, seen_result, seen_updates, seen_urls;
    /* The update being read. */
    int seen_id, seen_uid, seen_rev, seen_blob, seen_comp, seen_digests;
    char uid[UD_SHORT], rev[UD_SHORT], field[UD_SHORT];
    size_t uidlen, revlen, fieldlen;
    soap_buf blob, comp, muurl;
    char (*digests)[48];
    size_t ndigests, capdigests;
    /* The URL being read. */
    int seen_url_digest, seen_muurl;
    /* What was read. */
    wsusss_update_data *ups;
    size_t nups, capups;
    wsusss_file_url *urls;
    size_t nurls, capurls;
} ud_reader;

static int ud_grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = realloc(*v, nc * size);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

/* Whether ln is the first child named name (soap_child() reads that one); *seen marks it. */
static int first_of(int *seen, const char *ln, const char *name)
{
    if (*seen || strcmp(ln, name) != 0)
        return 0;
    *seen = 1;
    return 1;
}

/* Which child of an element of kind parent this one is to the reader. */
static int ud_child(ud_reader *r, int parent, const char *ln, const xmlChar *uri)
{
    switch (parent) {
    case 0: /* the root: a SOAP 1.1 envelope, as soap_parse() requires */
        if (strcmp(ln, "Envelope") != 0 || !uri || strcmp((const char *)uri, SOAP_ENV_NS) != 0)
            r->f.not_answer = 1;
        return UD_ENVELOPE;
    case UD_ENVELOPE:
        return first_of(&r->seen_body, ln, "Body") ? UD_BODY : UD_SKIP;
    case UD_BODY:
        /* The body's first element is the answer; anything else (a Fault) is read elsewhere. */
        if (r->seen_response)
            return UD_SKIP;
        r->seen_response = 1;
        if (strcmp(ln, "GetUpdateDataResponse") != 0)
            r->f.not_answer = 1;
        return UD_RESPONSE;
    case UD_RESPONSE:
        return first_of(&r->seen_result, ln, "GetUpdateDataResult") ? UD_RESULT : UD_SKIP;
    case UD_RESULT:
        if (first_of(&r->seen_updates, ln, "updates"))
            return UD_UPDATES;
        if (first_of(&r->seen_urls, ln, "fileUrls"))
            return UD_URLS;
        return UD_SKIP;
    case UD_UPDATES:
        if (strcmp(ln, "ServerSyncUpdateData") != 0)
            return UD_SKIP;
        r->seen_id = r->seen_uid = r->seen_rev = r->seen_blob = r->seen_comp = 0;
        r->seen_digests = 0;
        r->uidlen = r->revlen = 0;
        r->uid[0] = r->rev[0] = '\0';
        r->blob.len = r->comp.len = 0;
        r->ndigests = 0;
        return UD_UPDATE;
    case UD_UPDATE:
        if (first_of(&r->seen_id, ln, "Id"))
            return UD_ID;
        if (first_of(&r->seen_blob, ln, "XmlUpdateBlob"))
            return UD_BLOB;
        if (first_of(&r->seen_comp, ln, "XmlUpdateBlobCompressed"))
            return UD_BLOB_COMP;
        if (first_of(&r->seen_digests, ln, "FileDigestList"))
            return UD_DIGESTS;
        return UD_SKIP;
    case UD_ID:
        if (first_of(&r->seen_uid, ln, "UpdateID"))
            return UD_FIELD_ID;
        if (first_of(&r->seen_rev, ln, "RevisionNumber"))
            return UD_FIELD_REV;
        return UD_SKIP;
    case UD_DIGESTS:
        if (strcmp(ln, "base64Binary") != 0)
            return UD_SKIP;
        r->fieldlen = 0;
        r->field[0] = '\0';
        return UD_FIELD_DIGEST;
    case UD_URLS:
        if (strcmp(ln, "ServerSyncUrlData") != 0)
            return UD_SKIP;
        r->seen_url_digest = r->seen_muurl = 0;
        r->muurl.len = 0;
        r->fieldlen = 0;
        r->field[0] = '\0';
        return UD_URL;
    case UD_URL:
        if (first_of(&r->seen_url_digest, ln, "FileDigest"))
            return UD_FIELD_URL_DIGEST;
        if (first_of(&r->seen_muurl, ln, "MUUrl"))
            return UD_FIELD_MUURL;
        return UD_SKIP;
    case UD_BLOB:
        /* The update inline as elements: the tree reader serializes it back. */
        r->f.not_answer = 1;
        return UD_SKIP;
    default:
        return UD_SKIP;
    }
}

static void ud_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs)
{
    ud_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    (void)prefix, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
    if (r->depth >= UD_MAX_DEPTH) {
        r->depth++;
        return; /* deeper than anything read: skipped (the parent is a skipped element) */
    }
    int parent = r->depth ? r->what[r->depth] : 0;
    r->depth++;
    r->what[r->depth] = (unsigned char)(r->depth == 1 || parent != UD_SKIP
                                            ? ud_child(r, parent, (const char *)name, uri)
                                            : UD_SKIP);
}

/* Text of a short field; one longer than UD_SHORT sends the answer to the tree reader. */
static void ud_short(ud_reader *r, char *buf, size_t *used, const xmlChar *ch, int len)
{
    if (*used + (size_t)len >= UD_SHORT) {
        r->f.not_answer = 1;
        return;
    }
    memcpy(buf + *used, ch, (size_t)len);
    *used += (size_t)len;
    buf[*used] = '\0';
}

static void ud_text(void *ctx, const xmlChar *ch, int len)
{
    ud_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    if (r->depth > UD_MAX_DEPTH || len <= 0)
        return;
    switch (r->what[r->depth]) {
    case UD_FIELD_ID:
        ud_short(r, r->uid, &r->uidlen, ch, len);
        return;
    case UD_FIELD_REV:
        ud_short(r, r->rev, &r->revlen, ch, len);
        return;
    case UD_FIELD_DIGEST:
    case UD_FIELD_URL_DIGEST:
        ud_short(r, r->field, &r->fieldlen, ch, len);
        return;
    case UD_BLOB:
        if (r->blob.len + (size_t)len > WSUSSS_MAX_BLOB)
            r->f.not_answer = 1; /* too big: refused by the tree reader */
        else
            soap_buf_add(&r->blob, (const char *)ch, (size_t)len);
        return;
    case UD_BLOB_COMP:
        soap_buf_add(&r->comp, (const char *)ch, (size_t)len);
        return;
    case UD_FIELD_MUURL:
        soap_buf_add(&r->muurl, (const char *)ch, (size_t)len);
        return;
    default:
        return;
    }
}

/* An update read whole: kept as read_identity() and read_blob() read it, or left to the tree. */
static void ud_update_done(ud_reader *r)
{
    wsusss_update_data u;
    char *p, *end;
    long long rev;
    memset(&u, 0, sizeof u);
    if (r->blob.err || r->comp.err) {
        r->f.nomem = 1;
        return;
    }
    /* read_identity(): the text as a 64-byte buffer holds it. */
    if (r->uidlen > 63 || r->revlen > 63 || !r->seen_rev ||
        wsusss_guid_parse(r->uid, u.id.id) < 0) {
        r->f.not_answer = 1;
        return;
    }
    p = r->rev;
    while (isspace((unsigned char)*p))
        p++;
    errno = 0;
    rev = strtoll(p, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == p || *end || errno || rev < 0 || rev > 0x7fffffff) {
        r->f.not_answer = 1;
        return;
    }
    u.id.revision = (int)rev;
    /* read_blob(): exactly one of the two forms, not empty. */
    if (r->seen_blob == r->seen_comp || (r->seen_blob && r->blob.len == 0)) {
        r->f.not_answer = 1;
        return;
    }
    if (r->seen_blob) {
        u.xml = malloc(r->blob.len + 1);
        if (!u.xml) {
            r->f.nomem = 1;
            return;
        }
        memcpy(u.xml, r->blob.data, r->blob.len);
        u.xml[r->blob.len] = '\0';
        u.xml_len = r->blob.len;
    } else {
        unsigned char *cab;
        size_t cablen;
        char *t = soap_buf_take(&r->comp, NULL);
        int ret = t ? cabmem_base64_decode(t, strlen(t), &cab, &cablen) : -ENOMEM;
        free(t);
        soap_buf_init(&r->comp);
        if (ret == 0) {
            ret = cabmem_extract(cab, cablen, WSUSSS_MAX_BLOB, &u.xml, &u.xml_len);
            free(cab);
        }
        if (ret < 0) {
            free(u.xml);
            if (ret == -ENOMEM)
                r->f.nomem = 1;
            else
                r->f.not_answer = 1;
            return;
        }
        u.was_compressed = 1;
    }
    if (r->ndigests) {
        u.digests = malloc(r->ndigests * sizeof *u.digests);
        if (!u.digests) {
            free(u.xml);
            r->f.nomem = 1;
            return;
        }
        memcpy(u.digests, r->digests, r->ndigests * sizeof *u.digests);
        u.ndigests = r->ndigests;
    }
    if (ud_grow((void **)&r->ups, &r->capups, r->nups, sizeof *r->ups) < 0) {
        free(u.xml);
        free(u.digests);
        r->f.nomem = 1;
        return;
    }
    r->ups[r->nups++] = u;
}

static void ud_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    ud_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
    (void)name, (void)prefix, (void)uri;
    int what = r->depth <= UD_MAX_DEPTH ? r->what[r->depth] : UD_SKIP;
    r->depth--;
    if (r->f.not_answer || r->f.nomem)
        return;
    switch (what) {
    case UD_UPDATE:
        ud_update_done(r);
        return;
    case UD_FIELD_DIGEST:
        /* soap_text(), trimmed, in a 48-byte digest. */
        if (ud_grow((void **)&r->digests, &r->capdigests, r->ndigests, sizeof *r->digests) < 0) {
            r->f.nomem = 1;
            return;
        }
        trim(r->field);
        snprintf(r->digests[r->ndigests++], 48, "%s", r->field);
        r->fieldlen = 0;
        r->field[0] = '\0';
        return;
    case UD_URL: {
        /* soap_child_text() into the 48-byte digest, then trimmed; MUUrl copied when present. */
        wsusss_file_url v;
        memset(&v, 0, sizeof v);
        snprintf(v.digest, sizeof v.digest, "%s", r->seen_url_digest ? r->field : "");
        trim(v.digest);
        if (r->seen_muurl) {
            soap_buf_add(&r->muurl, "", 1);
            if (r->muurl.err || !(v.mu_url = strdup(r->muurl.data))) {
                r->f.nomem = 1;
                return;
            }
        }
        if (ud_grow((void **)&r->urls, &r->capurls, r->nurls, sizeof *r->urls) < 0) {
            free(v.mu_url);
            r->f.nomem = 1;
            return;
        }
        r->urls[r->nurls++] = v;
        return;
    }
    default:
        return;
    }
}

static void ud_free(ud_reader *r)
{
    wsusss_update_data_free(r->ups, r->nups);
    wsusss_file_urls_free(r->urls, r->nurls);
    r->ups = NULL;
    r->urls = NULL;
    r->nups = r->nurls = 0;
}

int wsusss_update_response_parse(const char *xml, size_t len, wsusss_update_data **ups,
                                 size_t *nups, wsusss_file_url **urls, size_t *nurls)
{
    ud_reader r;
    *ups = NULL;
    *nups = 0;
    *urls = NULL;
    *nurls = 0;
    if (!xml || len == 0 || len > INT_MAX || soap_has_doctype(xml, len))
        return WSUSSS_NOT_THIS_ANSWER;
    memset(&r, 0, sizeof r);
    soap_buf_init(&r.blob);
    soap_buf_init(&r.comp);
    soap_buf_init(&r.muurl);
    int well_formed = stream_read(xml, len, &r, ud_start, ud_end, ud_text);
    if (well_formed < 0)
        r.f.nomem = 1;
    soap_buf_free(&r.blob);
    soap_buf_free(&r.comp);
    soap_buf_free(&r.muurl);
    free(r.digests);
    int ret = 0;
    if (r.f.nomem)
        ret = -ENOMEM;
    else if (!well_formed || r.f.not_answer || !r.seen_response || !r.seen_result)
        ret = WSUSSS_NOT_THIS_ANSWER; /* the tree reader tells what it is */
    if (ret < 0) {
        ud_free(&r);
        return ret;
    }
    *ups = r.ups;
    *nups = r.nups;
    *urls = r.urls;
    *nurls = r.nurls;
    return 0;
}

/*
 * The blob of one ServerSyncUpdateData as XML text.  XmlUpdateBlob is a
 * string, but the specification's own example shows the update element
 * inline, so an element child is serialized back to text as well.
 */
static int read_blob(xmlNode *sud, wsusss_update_data *u)
{
    xmlNode *plain = soap_child(sud, "XmlUpdateBlob");
    xmlNode *comp = soap_child(sud, "XmlUpdateBlobCompressed");
    if (plain && !comp) {
        xmlNode *el = NULL;
        for (xmlNode *c = plain->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) {
                el = c;
                break;
            }
        if (el) {
            xmlBuffer *xb = xmlBufferCreate();
            if (!xb)
                return -ENOMEM;
            if (xmlNodeDump(xb, el->doc, el, 0, 0) < 0) {
                xmlBufferFree(xb);
                return CM_EPARSE;
            }
            u->xml_len = (size_t)xmlBufferLength(xb);
            u->xml = malloc(u->xml_len + 1);
            if (u->xml) {
                memcpy(u->xml, xmlBufferContent(xb), u->xml_len);
                u->xml[u->xml_len] = '\0';
            }
            xmlBufferFree(xb);
            return u->xml ? 0 : -ENOMEM;
        }
        u->xml = soap_child_strdup(sud, "XmlUpdateBlob");
        if (!u->xml)
            return -ENOMEM;
        u->xml_len = strlen(u->xml);
        if (u->xml_len > WSUSSS_MAX_BLOB)
            return CM_ETOOBIG;
        return u->xml_len ? 0 : CM_EPARSE;
    }
    if (comp && !plain) {
        char *t = soap_child_strdup(sud, "XmlUpdateBlobCompressed");
        unsigned char *cab;
        size_t cablen;
        int ret;
        if (!t)
            return -ENOMEM;
        ret = cabmem_base64_decode(t, strlen(t), &cab, &cablen);
        free(t);
        if (ret < 0)
            return ret;
        ret = cabmem_extract(cab, cablen, WSUSSS_MAX_BLOB, &u->xml, &u->xml_len);
        free(cab);
        u->was_compressed = 1;
        return ret;
    }
    /* Both or neither: MS-WSUSSS 3.1.4.6.3.3 allows exactly one. */
    return CM_EPARSE;
}

int wsusss_update_response_read(xmlNode *resp, wsusss_update_data **ups, size_t *nups,
                                wsusss_file_url **urls, size_t *nurls)
{
    xmlNode *r = result_of(resp, "GetUpdateDataResponse", "GetUpdateDataResult");
    int ret = 0;
    *ups = NULL;
    *nups = 0;
    *urls = NULL;
    *nurls = 0;
    if (!r)
        return CM_EPARSE;
    xmlNode *arr = soap_child(r, "updates");
    size_t n = count_children(arr, "ServerSyncUpdateData"), i = 0;
    wsusss_update_data *u = n ? calloc(n, sizeof *u) : NULL;
    if (n && !u)
        return -ENOMEM;
    for (xmlNode *c = soap_child(arr, "ServerSyncUpdateData"); c;
         c = soap_next(c, "ServerSyncUpdateData"), i++) {
        xmlNode *dl = soap_child(c, "FileDigestList");
        size_t nd = count_children(dl, "base64Binary"), k = 0;
        if (read_identity(soap_child(c, "Id"), &u[i].id) < 0) {
            ret = CM_EPARSE;
            break;
        }
        if ((ret = read_blob(c, &u[i])) < 0)
            break;
        if (nd) {
            u[i].digests = calloc(nd, sizeof *u[i].digests);
            if (!u[i].digests) {
                ret = -ENOMEM;
                break;
            }
            for (xmlNode *d = soap_child(dl, "base64Binary"); d; d = soap_next(d, "base64Binary")) {
                char *t = soap_text(d);
                if (!t) {
                    ret = -ENOMEM;
                    break;
                }
                trim(t);
                snprintf(u[i].digests[k++], 48, "%s", t);
                free(t);
            }
            if (ret < 0)
                break;
            u[i].ndigests = nd;
        }
    }
    if (ret < 0) {
        wsusss_update_data_free(u, n);
        return ret;
    }
    xmlNode *fu = soap_child(r, "fileUrls");
    size_t nu = count_children(fu, "ServerSyncUrlData"), j = 0;
    wsusss_file_url *v = nu ? calloc(nu, sizeof *v) : NULL;
    if (nu && !v) {
        wsusss_update_data_free(u, n);
        return -ENOMEM;
    }
    for (xmlNode *c = soap_child(fu, "ServerSyncUrlData"); c;
         c = soap_next(c, "ServerSyncUrlData")) {
        soap_child_text(c, "FileDigest", v[j].digest, sizeof v[j].digest, "");
        trim(v[j].digest);
        v[j].mu_url = soap_child_strdup(c, "MUUrl");
        j++;
    }
    *ups = u;
    *nups = n;
    *urls = v;
    *nurls = nu;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Downstream client                                                   */
/* ------------------------------------------------------------------ */

struct wsusss_client {
    soap_client *sc;
    char error[2400];
    char fault_code[64];
    char auth_path[300];
    char *auth_cookie;
    wsusss_cookie cookie;
};

int wsusss_client_new(wsusss_client **out, const soap_endpoint *ep)
{
    wsusss_client *c = calloc(1, sizeof *c);
    int ret;
    *out = NULL;
    if (!c)
        return -ENOMEM;
    if ((ret = soap_client_new(&c->sc, ep)) < 0) {
        free(c);
        return ret;
    }
    snprintf(c->auth_path, sizeof c->auth_path, "%s", WSUSSS_DSSAUTH_PATH);
    *out = c;
    return 0;
}

int wsusss_client_clone(wsusss_client **out, const wsusss_client *c, const soap_endpoint *ep)
{
    wsusss_client *n;
    int ret = wsusss_client_new(&n, ep);
    if (ret < 0)
        return ret;
    memcpy(n->auth_path, c->auth_path, sizeof n->auth_path);
    memcpy(n->cookie.expiration, c->cookie.expiration, sizeof n->cookie.expiration);
    if ((c->auth_cookie && !(n->auth_cookie = strdup(c->auth_cookie))) ||
        (c->cookie.data && !(n->cookie.data = strdup(c->cookie.data)))) {
        wsusss_client_free(n);
        return -ENOMEM;
    }
    *out = n;
    return 0;
}

void wsusss_client_free(wsusss_client *c)
{
    if (!c)
        return;
    soap_client_free(c->sc);
    free(c->auth_cookie);
    wsusss_cookie_free(&c->cookie);
    free(c);
}

const char *wsusss_client_error(const wsusss_client *c)
{
    return c ? c->error : "";
}

const char *wsusss_client_fault_code(const wsusss_client *c)
{
    return c ? c->fault_code : "";
}

/*
 * One call; on failure the error reads as WSUS words a failed sync: the
 * authorization web service's refusals are DssAuthenticationError, the
 * rest UssCommunicationError.
 */
static int ss_result(wsusss_client *c, int dss, int ret, const char *response, xmlDoc **doc,
                     xmlNode **resp);

static int ss_call(wsusss_client *c, int dss, const char *path, const char *action, soap_buf *body,
                   const char *response, xmlDoc **doc, xmlNode **resp)
{
    c->error[0] = '\0';
    c->fault_code[0] = '\0';
    if (body->err) {
        snprintf(c->error, sizeof c->error, "%s: OutOfMemoryException",
                 dss ? "DssAuthenticationError" : "UssCommunicationError");
        return -ENOMEM;
    }
    int ret = soap_call(c->sc, path, action, body->data, body->len, doc, resp);
    return ss_result(c, dss, ret, response, doc, resp);
}

/* What soap_call (or soap_client_answer) gave, in WSUS words (see ss_call). */
static int ss_result(wsusss_client *c, int dss, int ret, const char *response, xmlDoc **doc,
                     xmlNode **resp)
{
    const char *kind = dss ? "DssAuthenticationError" : "UssCommunicationError";
    if (ret == SOAP_EFAULT) {
        snprintf(c->fault_code, sizeof c->fault_code, "%s", soap_client_fault_code(c->sc));
        snprintf(c->error, sizeof c->error, "%s: SoapException: %s", kind,
                 soap_client_error(c->sc));
        return ret;
    }
    if (ret < 0) {
        snprintf(c->error, sizeof c->error, "%s: WebException: %s%s", kind,
                 soap_client_error(c->sc), dss && ret == SOAP_EUNAUTHORIZED ? "." : "");
        return ret;
    }
    if (strcmp((const char *)(*resp)->name, response) != 0) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        *resp = NULL;
        snprintf(c->error, sizeof c->error,
                 "%s: InvalidOperationException: There is an error in XML document (1, 1).", kind);
        return SOAP_EBADRESPONSE;
    }
    return 0;
}

static int bad_message(wsusss_client *c, int dss, int ret)
{
    if (ret == -ENOMEM)
        snprintf(c->error, sizeof c->error, "%s: OutOfMemoryException",
                 dss ? "DssAuthenticationError" : "UssCommunicationError");
    else
        snprintf(c->error, sizeof c->error,
                 "%s: InvalidOperationException: There is an error in XML document (1, 1).",
                 dss ? "DssAuthenticationError" : "UssCommunicationError");
    return ret == -ENOMEM ? ret : SOAP_EBADRESPONSE;
}

/* The ServiceUrl becomes a path on the same server: accept plain relative paths only. */
static int service_path_ok(const char *s)
{
    if (!*s || strstr(s, "..") || strstr(s, "//") || strlen(s) > 250)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("/._-", *s))
            return 0;
    return 1;
}

int wsusss_authorize(wsusss_client *c, const char *account_name, const char *account_guid)
{
    soap_buf b;
    xmlDoc *doc = NULL;
    xmlNode *resp;
    char plugin[64], url[300];
    int ret;

    soap_buf_init(&b);
    wsusss_auth_config_request_write(&b);
    ret = ss_call(c, 0, WSUSSS_SYNC_PATH, WSUSSS_NS "/GetAuthConfig", &b, "GetAuthConfigResponse",
                  &doc, &resp);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    ret = wsusss_auth_config_response_read(resp, plugin, sizeof plugin, url, sizeof url);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_message(c, 0, ret);
    if (service_path_ok(url))
        snprintf(c->auth_path, sizeof c->auth_path, "/%s", url);

    soap_buf_init(&b);
    wsusss_auth_cookie_request_write(&b, account_name, account_guid);
    ret = ss_call(c, 1, c->auth_path, WSUSSS_DSSAUTH_NS "/GetAuthorizationCookie", &b,
                  "GetAuthorizationCookieResponse", &doc, &resp);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    free(c->auth_cookie);
    c->auth_cookie = NULL;
    ret = wsusss_auth_cookie_response_read(resp, plugin, sizeof plugin, &c->auth_cookie);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_message(c, 1, ret);

    soap_buf_init(&b);
    wsusss_cookie_request_write(&b, c->auth_cookie, &c->cookie, WSUSSS_PROTOCOL_VERSION);
    ret = ss_call(c, 0, WSUSSS_SYNC_PATH, WSUSSS_NS "/GetCookie", &b, "GetCookieResponse", &doc,
                  &resp);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    wsusss_cookie nc;
    ret = wsusss_cookie_response_read(resp, &nc);
    xmlFreeDoc(doc);
    if (ret < 0)
        return bad_message(c, 0, ret);
    wsusss_cookie_free(&c->cookie);
    c->cookie = nc;
    return 0;
}

int wsusss_get_config(wsusss_client *c, const char *config_anchor, wsusss_config_data *out)
{
    soap_buf b;
    xmlDoc *doc = NULL;
    xmlNode *resp;
    int ret;
    memset(out, 0, sizeof *out);
    soap_buf_init(&b);
    wsusss_config_request_write(&b, &c->cookie, config_anchor);
    ret = ss_call(c, 0, WSUSSS_SYNC_PATH, WSUSSS_NS "/GetConfigData", &b, "GetConfigDataResponse",
                  &doc, &resp);
    soap_buf_free(&b);
    if (ret < 0)
        return ret;
    ret = wsusss_config_response_read(resp, out);
    xmlFreeDoc(doc);
    return ret < 0 ? bad_message(c, 0, ret) : 0;
}

int wsusss_get_revision_ids(wsusss_client *c, const wsusss_filter *f, char *anchor, size_t alen,
                            wsusss_identity **ids, size_t *n)
{
    soap_buf b;
    xmlDoc *doc = NULL;
    xmlNode *resp;
    const char *xml;
    size_t len;
    int ret;
    *ids = NULL;
    *n = 0;
    c->error[0] = '\0';
    c->fault_code[0] = '\0';
    soap_buf_init(&b);
    wsusss_revision_request_write(&b, &c->cookie, f);
    if (b.err) {
        soap_buf_free(&b);
        return bad_message(c, 0, -ENOMEM);
    }
    /*
     * A first sync's list holds every update the SUP has: read as a stream,
     * not as a tree of half a million nodes (60 MB of fresh memory for
     * 100,000 updates, most of the time the list took).
     */
    ret = soap_call_raw(c->sc, WSUSSS_SYNC_PATH, WSUSSS_NS "/GetRevisionIdList", b.data, b.len,
                        &xml, &len);
    soap_buf_free(&b);
    if (ret < 0)
        return ss_result(c, 0, ret, NULL, NULL, NULL);
    ret = wsusss_revision_response_parse(xml, len, anchor, alen, ids, n);
    if (ret != WSUSSS_NOT_THIS_ANSWER)
        return ret < 0 ? bad_message(c, 0, ret) : 0;
    /* Something else came with HTTP 200 (a fault, say): read it as every other answer is read. */
    ret = soap_client_answer(c->sc, &doc, &resp);
    if ((ret = ss_result(c, 0, ret, "GetRevisionIdListResponse", &doc, &resp)) < 0)
        return ret;
    ret = wsusss_revision_response_read(resp, anchor, alen, ids, n);
    xmlFreeDoc(doc);
    return ret < 0 ? bad_message(c, 0, ret) : 0;
}

int wsusss_get_update_data(wsusss_client *c, const wsusss_identity *ids, size_t n,
                           wsusss_update_data **ups, size_t *nups, wsusss_file_url **urls,
                           size_t *nurls)
{
    soap_buf b;
    xmlDoc *doc = NULL;
    xmlNode *resp;
    int ret;
    *ups = NULL;
    *nups = 0;
    *urls = NULL;
    *nurls = 0;
    const char *xml;
    size_t len;
    c->error[0] = '\0';
    c->fault_code[0] = '\0';
    soap_buf_init(&b);
    wsusss_update_request_write(&b, &c->cookie, ids, n);
    if (b.err) {
        soap_buf_free(&b);
        return bad_message(c, 0, -ENOMEM);
    }
    /* Read as a stream: no tree of the answer, and each blob copied once. */
    ret = soap_call_raw(c->sc, WSUSSS_SYNC_PATH, WSUSSS_NS "/GetUpdateData", b.data, b.len, &xml,
                        &len);
    soap_buf_free(&b);
    if (ret < 0)
        return ss_result(c, 0, ret, NULL, NULL, NULL);
    ret = wsusss_update_response_parse(xml, len, ups, nups, urls, nurls);
    if (ret != WSUSSS_NOT_THIS_ANSWER)
        return ret < 0 ? bad_message(c, 0, ret) : 0;
    /* Anything else is read as every other answer is, which tells what it is. */
    ret = soap_client_answer(c->sc, &doc, &resp);
    if ((ret = ss_result(c, 0, ret, "GetUpdateDataResponse", &doc, &resp)) < 0)
        return ret;
    ret = wsusss_update_response_read(resp, ups, nups, urls, nurls);
    xmlFreeDoc(doc);
    return ret < 0 ? bad_message(c, 0, ret) : 0;
}
