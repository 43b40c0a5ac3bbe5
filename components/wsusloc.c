/*
 * wsusloc.c - the WSUS server location lookup (MP_GetWSUSServerLocations)
 * and its request and reply documents.  Requests come from clients over
 * HTTP, so the parser is strict and bounded: libxml2 without DTD loading,
 * entity substitution or network access, and any DOCTYPE refused before
 * libxml2 sees the bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cm_error.h"
#include "config.h"
#include "wsusloc.h"

/* ------------------------------------------------------------------ */
/* Request                                                             */
/* ------------------------------------------------------------------ */

int wsusloc_guid_valid(const char *s)
{
    static const int dash_at[] = {9, 14, 19, 24};
    if (!s || strlen(s) != 38 || s[0] != '{' || s[37] != '}')
        return 0;
    for (int i = 1; i < 37; i++) {
        int dash = 0;
        for (size_t k = 0; k < sizeof dash_at / sizeof dash_at[0]; k++)
            dash |= i == dash_at[k];
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/*
 * A DOCTYPE anywhere, also in UTF-16 (NUL bytes between the letters are
 * skipped), so no internal subset, entity or external reference is ever
 * handed to the parser.
 */
static int has_doctype(const char *p, size_t len)
{
    static const char pat[] = "<!DOCTYPE";
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\0')
            continue;
        if (c == pat[k])
            k++;
        else
            k = c == pat[0] ? 1 : 0;
        if (k == sizeof pat - 1)
            return 1;
    }
    return 0;
}

static void set_why(char *why, size_t len, const char *msg)
{
    if (why && len)
        snprintf(why, len, "%s", msg);
}

/* A copy of an attribute, or NULL when absent; *too_long when over max. */
static char *get_attr(xmlNodePtr n, const char *name, size_t max, int *too_long)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    if (strlen((const char *)v) > max) {
        *too_long = 1;
        xmlFree(v);
        return NULL;
    }
    char *copy = strdup((const char *)v);
    xmlFree(v);
    return copy;
}

static int is_elem(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

/* A content version: 1 to 9 decimal digits (the columns are 32-bit). */
static int parse_version(const char *s, long long *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9)
        return CM_EPARSE;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return CM_EPARSE;
    *out = strtoll(s, NULL, 10);
    return 0;
}

static int parse_content(xmlNodePtr n, wsusloc_request *req, char *why, size_t whylen)
{
    int too_long = 0, ret = CM_EPARSE;
    char *id = get_attr(n, "ID", 64, &too_long);
    char *ver = get_attr(n, "Version", 64, &too_long);
    if (!id || !wsusloc_guid_valid(id))
        set_why(why, whylen, "Content ID is missing or not a {GUID}");
    else if (!ver || parse_version(ver, &req->version) < 0)
        set_why(why, whylen, "Content Version is missing or not a number of at most 9 digits");
    else {
        snprintf(req->content_id, sizeof req->content_id, "%s", id);
        ret = 0;
    }
    free(id);
    free(ver);
    return ret;
}

static int parse_client_info(xmlNodePtr n, wsusloc_request *req, char *why, size_t whylen)
{
    int too_long = 0;
    char *net = get_attr(n, "OnInternet", 16, &too_long);
    if (net) {
        int ok = strcmp(net, "0") == 0 || strcmp(net, "1") == 0;
        req->on_internet = net[0] == '1';
        free(net);
        if (!ok) {
            set_why(why, whylen, "ClientLocationInfo OnInternet must be 0 or 1");
            return CM_EPARSE;
        }
    }
    for (xmlNodePtr c = n->children; c; c = c->next) {
        char *dst = NULL;
        if (is_elem(c, "Forest"))
            dst = req->forest;
        else if (is_elem(c, "Domain"))
            dst = req->domain;
        if (!dst)
            continue;
        char *name = get_attr(c, "Name", 255, &too_long);
        snprintf(dst, 256, "%s", name ? name : "");
        free(name);
    }
    if (too_long) {
        set_why(why, whylen, "a ClientLocationInfo value is too long");
        return CM_EPARSE;
    }
    return 0;
}

int wsusloc_parse_request(const char *xml, size_t len, wsusloc_request *req, char *why,
                          size_t whylen)
{
    xmlDocPtr doc = NULL;
    int ret = CM_EPARSE, ncontent = 0;

    memset(req, 0, sizeof *req);
    set_why(why, whylen, "");
    if (!xml || len == 0) {
        set_why(why, whylen, "the request is empty");
        return CM_EPARSE;
    }
    if (len > WSUSLOC_MAX_REQUEST) {
        set_why(why, whylen, "the request is larger than 64 KB");
        return CM_ETOOBIG;
    }
    if (has_doctype(xml, len)) {
        set_why(why, whylen, "a DOCTYPE is not allowed in a location request");
        return CM_EPARSE;
    }
    /* No XML_PARSE_NOENT, DTDLOAD, DTDATTR or XINCLUDE: nothing is fetched or expanded. */
    doc = xmlReadMemory(xml, (int)len, "WSUSLocationRequest.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        char msg[200] = "not well-formed XML";
        if (e && e->message) {
            snprintf(msg, sizeof msg, "not well-formed XML: %s", e->message);
            msg[strcspn(msg, "\r\n")] = '\0';
        }
        set_why(why, whylen, msg);
        return CM_EPARSE;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (xmlGetIntSubset(doc)) {
        set_why(why, whylen, "a DOCTYPE is not allowed in a location request");
        goto out;
    }
    if (!root || !is_elem(root, "WSUSLocationRequest")) {
        set_why(why, whylen, "the document is not a WSUSLocationRequest");
        goto out;
    }
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (is_elem(c, "Content")) {
            if (++ncontent > 1) {
                set_why(why, whylen, "the request names more than one Content");
                goto out;
            }
            if (parse_content(c, req, why, whylen) < 0)
                goto out;
        } else if (is_elem(c, "AssignedSite")) {
            int too_long = 0;
            char *code = get_attr(c, "SiteCode", 16, &too_long);
            int ok = code && config_site_code_valid(code);
            if (ok)
                snprintf(req->assigned_site, sizeof req->assigned_site, "%s", code);
            free(code);
            if (!ok) {
                set_why(why, whylen, "AssignedSite SiteCode is not a site code");
                goto out;
            }
        } else if (is_elem(c, "ClientLocationInfo")) {
            if (parse_client_info(c, req, why, whylen) < 0)
                goto out;
        }
    }
    if (ncontent == 0) {
        set_why(why, whylen, "the request has no Content element");
        goto out;
    }
    ret = 0;
out:
    xmlFreeDoc(doc);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

typedef struct outbuf {
    char *p;
    size_t len, used;
    int overflow;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    if (o->overflow || o->used + n + 1 > o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->used, s, n);
    o->used += n;
    o->p[o->used] = '\0';
}

static void puts_(outbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

/* An attribute value with the five XML special characters escaped. */
static void put_attr(outbuf *o, const char *name, const char *v)
{
    puts_(o, " ");
    puts_(o, name);
    puts_(o, "=\"");
    for (; *v; v++) {
        switch (*v) {
        case '&':
            puts_(o, "&amp;");
            break;
        case '<':
            puts_(o, "&lt;");
            break;
        case '>':
            puts_(o, "&gt;");
            break;
        case '"':
            puts_(o, "&quot;");
            break;
        case '\'':
            puts_(o, "&apos;");
            break;
        default:
            put(o, v, 1);
        }
    }
    puts_(o, "\"");
}

static int finish(outbuf *o)
{
    if (o->overflow) {
        if (o->len)
            o->p[0] = '\0';
        return CM_ETOOBIG;
    }
    return (int)o->used;
}

int wsusloc_request_xml(const wsusloc_request *req, char *buf, size_t len)
{
    outbuf o = {buf, len, 0, 0};
    char num[32];
    if (len)
        buf[0] = '\0';
    puts_(&o, "<WSUSLocationRequest SchemaVersion=\"1.00\"><Content");
    put_attr(&o, "ID", req->content_id);
    snprintf(num, sizeof num, "%lld", req->version);
    put_attr(&o, "Version", num);
    puts_(&o, "/>");
    if (req->assigned_site[0]) {
        puts_(&o, "<AssignedSite");
        put_attr(&o, "SiteCode", req->assigned_site);
        puts_(&o, "/>");
    }
    puts_(&o, "<ClientLocationInfo");
    put_attr(&o, "OnInternet", req->on_internet ? "1" : "0");
    if (!req->forest[0] && !req->domain[0]) {
        puts_(&o, "/></WSUSLocationRequest>");
        return finish(&o);
    }
    puts_(&o, ">");
    if (req->forest[0]) {
        puts_(&o, "<Forest");
        put_attr(&o, "Name", req->forest);
        puts_(&o, "/>");
    }
    if (req->domain[0]) {
        puts_(&o, "<Domain");
        put_attr(&o, "Name", req->domain);
        puts_(&o, "/>");
    }
    puts_(&o, "</ClientLocationInfo></WSUSLocationRequest>");
    return finish(&o);
}

int wsusloc_reply_xml(const wsusloc_reply *r, char *buf, size_t len)
{
    outbuf o = {buf, len, 0, 0};
    char num[32];
    if (len)
        buf[0] = '\0';
    puts_(&o, "<WSUSLocationReply SchemaVersion=\"1.00\">");
    if (r->n == 0) {
        puts_(&o, "<Sites/></WSUSLocationReply>");
        return finish(&o);
    }
    puts_(&o, "<Sites><Site><MPSite");
    put_attr(&o, "SiteCode", r->site);
    puts_(&o, "/><LocationRecords>");
    for (size_t i = 0; i < r->n; i++) {
        puts_(&o, "<LocationRecord");
        put_attr(&o, "WSUSURL", r->rec[i].url);
        put_attr(&o, "ServerName", r->rec[i].server);
        snprintf(num, sizeof num, "%lld", r->rec[i].version);
        put_attr(&o, "Version", num);
        puts_(&o, "/>");
    }
    puts_(&o, "</LocationRecords></Site></Sites></WSUSLocationReply>");
    return finish(&o);
}

/* ------------------------------------------------------------------ */
/* Lookup                                                              */
/* ------------------------------------------------------------------ */

/*
 * One row per location of the site (or one row of NULLs when it has none),
 * with the source's and the sync status's versions beside each, so the
 * three tables are compared as of one moment.
 */
static const char sql_lookup[] =
    "SELECT us.ContentVersion, ss.ContentVersion, wl.ServerName, wl.WSUSURL, wl.ContentVersion, "
    "wl.IsInternetFacing "
    "FROM CI_UpdateSources us "
    "LEFT JOIN Update_SyncStatus ss ON ss.UpdateSource_ID = us.UpdateSource_ID AND ss.SiteCode = ? "
    "LEFT JOIN WSUSServerLocations wl ON wl.UpdateSource_ID = us.UpdateSource_ID "
    "AND wl.SiteCode = ? "
    "LEFT JOIN SoftwareUpdatePoints sup ON sup.SiteCode = wl.SiteCode "
    "AND sup.ServerName = wl.ServerName "
    "WHERE UPPER(us.UpdateSource_UniqueID) = ? AND us.IsExpired = 0 "
    "ORDER BY COALESCE(sup.InstallOrder, 0), wl.ServerName";

int wsusloc_lookup(db *d, const wsusloc_request *req, const char *default_site, wsusloc_reply *out)
{
    char id[40];
    db_stmt *st;
    int ret;

    memset(out, 0, sizeof *out);
    snprintf(out->site, sizeof out->site, "%s",
             req->assigned_site[0] ? req->assigned_site : (default_site ? default_site : ""));
    snprintf(id, sizeof id, "%s", req->content_id);
    for (char *p = id; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if ((ret = db_prepare(d, &st, sql_lookup)) < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, out->site)) < 0 || (ret = db_bind_text(st, 2, out->site)) < 0 ||
        (ret = db_bind_text(st, 3, id)) < 0)
        goto done;
    while ((ret = db_step(st)) == 1) {
        out->source_found = 1;
        out->source_version = db_col_int(st, 0);
        if (!db_col_is_null(st, 1)) {
            out->status_found = 1;
            out->status_version = db_col_int(st, 1);
        }
        if (db_col_is_null(st, 2))
            continue;
        out->nlocations++;
        long long version = db_col_int(st, 4);
        if ((db_col_int(st, 5) != 0) != (req->on_internet != 0))
            continue;
        if (out->nlocations_net++ == 0)
            out->location_version = version;
        /* The documents' rule: every table at the version the client asks for. */
        if (!out->status_found || out->source_version != req->version ||
            out->status_version != req->version || version != req->version ||
            out->n == WSUSLOC_MAX_RECORDS)
            continue;
        wsusloc_record *r = &out->rec[out->n++];
        snprintf(r->server, sizeof r->server, "%s", db_col_text(st, 2));
        snprintf(r->url, sizeof r->url, "%s", db_col_text(st, 3));
        r->version = version;
    }
done:
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

void wsusloc_explain(const wsusloc_request *req, const wsusloc_reply *r, char *buf, size_t len)
{
    const char *net = req->on_internet ? "Internet-facing" : "intranet";
    if (r->n > 0)
        snprintf(buf, len,
                 "%zu location(s) of update source %s for site %s at content version %lld.", r->n,
                 req->content_id, r->site, req->version);
    else if (!r->source_found)
        snprintf(buf, len, "Update source %s is not in CI_UpdateSources (or it is expired).",
                 req->content_id);
    else if (!r->status_found)
        snprintf(buf, len, "Site %s has no Update_SyncStatus row for update source %s.", r->site,
                 req->content_id);
    else if (r->nlocations == 0)
        snprintf(buf, len, "Site %s has no WSUSServerLocations row for update source %s.", r->site,
                 req->content_id);
    else if (r->nlocations_net == 0)
        snprintf(buf, len, "Site %s has no %s WSUS server location for update source %s.", r->site,
                 net, req->content_id);
    else
        snprintf(buf, len,
                 "The content versions disagree: the client asks for %lld, CI_UpdateSources "
                 "holds %lld, Update_SyncStatus %lld and WSUSServerLocations %lld for site %s.",
                 req->version, r->source_version, r->status_version, r->location_version, r->site);
}
