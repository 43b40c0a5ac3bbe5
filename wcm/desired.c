/*
 * desired.c - the configuration each software update point should have,
 * from the site's tables, and its difference to what the SUP reports.
 * Pure functions: no database, no network, no log (see desired.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "desired.h"

void desired_input_free(desired_input *in)
{
    if (!in)
        return;
    free(in->sups);
    free(in->cats);
    in->sups = NULL;
    in->cats = NULL;
    in->nsups = in->ncats = 0;
}

const char *desired_state_name(int state)
{
    switch (state) {
    case DESIRED_STATE_NONE:
        return "WSUS_CONFIG_NONE";
    case DESIRED_STATE_PENDING:
        return "WSUS_CONFIG_PENDING";
    case DESIRED_STATE_SUCCESS:
        return "WSUS_CONFIG_SUCCESS";
    case DESIRED_STATE_FAILED:
        return "WSUS_CONFIG_FAILED";
    case DESIRED_STATE_SUBSCRIPTION_PENDING:
        return "WSUS_CONFIG_SUBSCRIPTION_PENDING";
    default:
        return "WSUS_CONFIG_UNKNOWN";
    }
}

const char *desired_bool(int v)
{
    return v ? "True" : "False";
}

int desired_is_top_level(const desired_site *site)
{
    if (strcasecmp(site->type, "CAS") == 0)
        return 1;
    return strcasecmp(site->type, "SECONDARY") != 0 && site->parent[0] == '\0';
}

/* ------------------------------------------------------------------ */
/* Small text helpers                                                  */
/* ------------------------------------------------------------------ */

/* Copy s without leading and trailing blanks. */
static void trim_copy(char *out, size_t len, const char *s)
{
    size_t n;
    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A lower-case GUID from "a105a108-...", "{A105A108-...}"; 0 or CM_EPARSE. */
static int guid_norm(const char *in, char out[40])
{
    char t[64];
    size_t n;
    trim_copy(t, sizeof t, in);
    const char *p = t;
    n = strlen(p);
    if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
        p++;
        n -= 2;
    }
    if (n != 36)
        return CM_EPARSE;
    for (size_t i = 0; i < 36; i++) {
        char c = p[i];
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

int desired_category_parse(const char *unique_id, char *type, size_t tlen, char guid[40])
{
    const char *colon = strchr(unique_id, ':');
    size_t n;
    if (!colon)
        return CM_EPARSE;
    n = (size_t)(colon - unique_id);
    if (n == 0 || n >= tlen)
        return CM_EPARSE;
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)unique_id[i]))
            return CM_EPARSE;
    memcpy(type, unique_id, n);
    type[n] = '\0';
    return guid_norm(colon + 1, guid);
}

/* A host name or address an upstream may have: letters, digits, '.', '-', '_', ':' (IPv6). */
static int host_valid(const char *h)
{
    if (!*h || strlen(h) > 253)
        return 0;
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_')
            return 0;
    return 1;
}

/*
 * 'Upstream Server': "host", "host:port", "http://host:port" or
 * "https://host[:port]" (SSL); the default port is WSUS's, 8530 or 8531.
 */
static int parse_upstream(const char *text, char *host, size_t hlen, int *port, int *ssl)
{
    char t[512], *p, *colon, *end;
    trim_copy(t, sizeof t, text);
    p = t;
    *ssl = 0;
    if (strncasecmp(p, "https://", 8) == 0) {
        *ssl = 1;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    }
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        p[--n] = '\0';
    *port = *ssl ? 8531 : 8530;
    colon = strrchr(p, ':');
    if (colon) {
        *colon = '\0';
        long v = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || v < 1 || v > 65535)
            return CM_ERANGE;
        *port = (int)v;
    }
    if (!host_valid(p) || strlen(p) >= hlen)
        return CM_EPARSE;
    snprintf(host, hlen, "%s", p);
    return 0;
}

/* "CONTOSO\svc" -> domain CONTOSO, user svc; anything else is the user name. */
static void split_account(const char *acct, char *user, size_t ulen, char *domain, size_t dlen)
{
    char t[512];
    trim_copy(t, sizeof t, acct);
    char *bs = strchr(t, '\\');
    if (bs) {
        *bs = '\0';
        snprintf(domain, dlen, "%s", t);
        snprintf(user, ulen, "%s", bs + 1);
    } else {
        domain[0] = '\0';
        snprintf(user, ulen, "%s", t);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void desired_languages_canon(const char *in, char *out, size_t len)
{
    char buf[1024], *items[128], *save = NULL;
    size_t n = 0, pos = 0;
    snprintf(buf, sizeof buf, "%s", in ? in : "");
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (char *tok = strtok_r(buf, ",; \t", &save); tok && n < 128;
         tok = strtok_r(NULL, ",; \t", &save)) {
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++)
            dup = strcmp(items[i], tok) == 0;
        if (!dup)
            items[n++] = tok;
    }
    qsort(items, n, sizeof items[0], cmp_str);
    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < n && len; i++) {
        int w = snprintf(out + pos, len - pos, "%s%s", i ? "," : "", items[i]);
        if (w < 0 || (size_t)w >= len - pos)
            break;
        pos += (size_t)w;
    }
}

/* ------------------------------------------------------------------ */
/* The wanted configuration                                            */
/* ------------------------------------------------------------------ */

/* Upstream = another SUP (its SSL port when it uses SSL). */
static void upstream_sup(wsusapi_config *out, const desired_sup *up)
{
    out->source = WSUSAPI_SOURCE_UPSTREAM;
    snprintf(out->upstream_server, sizeof out->upstream_server, "%s", up->server);
    out->upstream_ssl = up->use_ssl != 0;
    out->upstream_port = up->use_ssl ? up->ssl_port : up->port;
}

static int top_level_source(const desired_sync *s, wsusapi_config *out, char *why, size_t whylen)
{
    char src[64];
    int ret;
    trim_copy(src, sizeof src, s->source);
    if (!src[0] || strcasecmp(src, "MicrosoftUpdate") == 0 ||
        strcasecmp(src, "Microsoft Update") == 0) {
        out->source = WSUSAPI_SOURCE_MU;
        return 0;
    }
    if (strcasecmp(src, "UpstreamServer") == 0 || strcasecmp(src, "Upstream") == 0) {
        ret = parse_upstream(s->upstream, out->upstream_server, sizeof out->upstream_server,
                             &out->upstream_port, &out->upstream_ssl);
        if (ret < 0) {
            snprintf(why, whylen,
                     "The sync source is UpstreamServer but the Upstream Server setting '%s' is "
                     "not a server name with an optional port (host, host:port or "
                     "https://host:port)",
                     s->upstream);
            return ret;
        }
        out->source = WSUSAPI_SOURCE_UPSTREAM;
        return 0;
    }
    if (strcasecmp(src, "OfflineCatalog") == 0 || strcasecmp(src, "Offline") == 0) {
        trim_copy(out->offline_path, sizeof out->offline_path, s->offline_path);
        if (!out->offline_path[0]) {
            snprintf(why, whylen,
                     "The sync source is OfflineCatalog but the Offline Catalog Path setting is "
                     "empty");
            return CM_EPARSE;
        }
        out->source = WSUSAPI_SOURCE_OFFLINE;
        return 0;
    }
    snprintf(why, whylen,
             "The Sync Source setting '%s' is not one of MicrosoftUpdate, UpstreamServer, "
             "OfflineCatalog",
             s->source);
    return CM_EPARSE;
}

int desired_config(const desired_input *in, size_t idx, wsusapi_config *out, char *why,
                   size_t whylen)
{
    const desired_sup *sup;
    char langs[512];
    int ret;

    wsusapi_config_defaults(out);
    if (whylen)
        why[0] = '\0';
    if (idx >= in->nsups)
        return CM_ENOTFOUND;
    sup = &in->sups[idx];

    if (idx > 0) {
        /* Every other SUP of a site is a replica of the site's first SUP. */
        upstream_sup(out, &in->sups[0]);
        out->replica_mode = 1;
    } else if (desired_is_top_level(&in->site)) {
        if ((ret = top_level_source(&in->sync, out, why, whylen)) < 0)
            return ret;
        out->replica_mode = 0;
    } else {
        if (!in->site.parent[0]) {
            snprintf(why, whylen, "Site %s is a secondary site without a parent site",
                     in->site.code);
            return CM_EPARSE;
        }
        if (!in->has_parent_sup) {
            snprintf(why, whylen,
                     "The parent site %s has no software update point; the first software "
                     "update point of site %s synchronizes from it",
                     in->site.parent, in->site.code);
            return CM_ENOTFOUND;
        }
        upstream_sup(out, &in->parent_sup);
        /* A child primary's first SUP is never a replica; a secondary site's always is. */
        out->replica_mode = strcasecmp(in->site.type, "SECONDARY") == 0;
    }

    if (sup->use_proxy) {
        char name[256];
        trim_copy(name, sizeof name, sup->proxy_name);
        if (!name[0]) {
            snprintf(why, whylen,
                     "The software update point %s is set to use a proxy server but has no "
                     "proxy server name",
                     sup->server);
            return CM_EPARSE;
        }
        out->use_proxy = 1;
        snprintf(out->proxy_name, sizeof out->proxy_name, "%s", name);
        out->proxy_port = sup->proxy_port > 0 ? sup->proxy_port : 80;
        if (out->proxy_port > 65535) {
            snprintf(why, whylen, "The proxy port %d of software update point %s is not valid",
                     sup->proxy_port, sup->server);
            return CM_ERANGE;
        }
        split_account(sup->proxy_account, out->proxy_user, sizeof out->proxy_user,
                      out->proxy_domain, sizeof out->proxy_domain);
        if (out->proxy_user[0])
            snprintf(out->proxy_password, sizeof out->proxy_password, "%s", sup->proxy_password);
    }

    desired_languages_canon(in->sync.languages, langs, sizeof langs);
    snprintf(out->languages, sizeof out->languages, "%s", langs[0] ? langs : "en");
    out->all_languages = 0;
    return 0;
}

void desired_upstream_text(const wsusapi_config *cfg, char *buf, size_t len)
{
    switch (cfg->source) {
    case WSUSAPI_SOURCE_UPSTREAM:
        snprintf(buf, len, "%s, port: %d, useSSL: %s", cfg->upstream_server, cfg->upstream_port,
                 desired_bool(cfg->upstream_ssl));
        break;
    case WSUSAPI_SOURCE_OFFLINE:
        snprintf(buf, len, "offline catalog %s", cfg->offline_path);
        break;
    default:
        snprintf(buf, len, "Microsoft Update");
    }
}

/* ------------------------------------------------------------------ */
/* Differences                                                         */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static void change(desired_changes *ch, const char *what,
                                                         const char *fmt, ...)
{
    va_list ap;
    if (ch->n >= DESIRED_MAX_CHANGES) {
        ch->dropped++;
        return;
    }
    ch->what[ch->n] = what;
    va_start(ap, fmt);
    vsnprintf(ch->line[ch->n], sizeof ch->line[ch->n], fmt, ap);
    va_end(ap);
    ch->n++;
}

static int same_upstream(const wsusapi_config *a, const wsusapi_config *b)
{
    if (a->source != b->source)
        return 0;
    if (a->source == WSUSAPI_SOURCE_UPSTREAM)
        return strcasecmp(a->upstream_server, b->upstream_server) == 0 &&
               a->upstream_port == b->upstream_port && !a->upstream_ssl == !b->upstream_ssl;
    if (a->source == WSUSAPI_SOURCE_OFFLINE)
        return strcmp(a->offline_path, b->offline_path) == 0;
    return 1;
}

static void proxy_text(const wsusapi_config *c, char *buf, size_t len)
{
    if (!c->use_proxy) {
        snprintf(buf, len, "no proxy");
        return;
    }
    if (c->proxy_user[0])
        snprintf(buf, len, "%s:%d with account %s%s%s", c->proxy_name, c->proxy_port,
                 c->proxy_domain, c->proxy_domain[0] ? "\\" : "", c->proxy_user);
    else
        snprintf(buf, len, "%s:%d without an account", c->proxy_name, c->proxy_port);
}

static int same_proxy(const wsusapi_config *a, const wsusapi_config *b)
{
    if (!a->use_proxy != !b->use_proxy)
        return 0;
    if (!a->use_proxy)
        return 1;
    return strcasecmp(a->proxy_name, b->proxy_name) == 0 && a->proxy_port == b->proxy_port &&
           strcasecmp(a->proxy_user, b->proxy_user) == 0 &&
           strcasecmp(a->proxy_domain, b->proxy_domain) == 0;
}

int desired_config_diff(const wsusapi_config *cur, const wsusapi_config *want,
                        int send_proxy_password, wsusapi_config *merged, desired_changes *ch)
{
    char a[1200], b[1200];
    int n = 0;

    *merged = *cur;
    merged->proxy_password[0] = '\0';

    if (!same_upstream(cur, want)) {
        desired_upstream_text(cur, a, sizeof a);
        desired_upstream_text(want, b, sizeof b);
        change(ch, "upstream server", "Changing the upstream server from %s to %s", a, b);
        merged->source = want->source;
        if (want->source == WSUSAPI_SOURCE_UPSTREAM) {
            snprintf(merged->upstream_server, sizeof merged->upstream_server, "%s",
                     want->upstream_server);
            merged->upstream_port = want->upstream_port;
            merged->upstream_ssl = want->upstream_ssl;
        } else if (want->source == WSUSAPI_SOURCE_OFFLINE) {
            snprintf(merged->offline_path, sizeof merged->offline_path, "%s", want->offline_path);
        }
        n++;
    }
    if (!cur->replica_mode != !want->replica_mode) {
        change(ch, "replica mode", "Changing replica mode from %s to %s",
               desired_bool(cur->replica_mode), desired_bool(want->replica_mode));
        merged->replica_mode = want->replica_mode != 0;
        n++;
    }
    int proxy_changed = !same_proxy(cur, want);
    if (proxy_changed) {
        proxy_text(cur, a, sizeof a);
        proxy_text(want, b, sizeof b);
        change(ch, "proxy", "Changing the proxy server from %s to %s", a, b);
        merged->use_proxy = want->use_proxy != 0;
        /* Turning the proxy off also clears its account, so no stale credentials stay. */
        snprintf(merged->proxy_name, sizeof merged->proxy_name, "%s", want->proxy_name);
        merged->proxy_port = want->proxy_port;
        snprintf(merged->proxy_user, sizeof merged->proxy_user, "%s", want->proxy_user);
        snprintf(merged->proxy_domain, sizeof merged->proxy_domain, "%s", want->proxy_domain);
        n++;
    }
    if (want->use_proxy && want->proxy_user[0] && want->proxy_password[0] &&
        (send_proxy_password || proxy_changed)) {
        snprintf(merged->proxy_password, sizeof merged->proxy_password, "%s", want->proxy_password);
        if (!proxy_changed) {
            change(ch, "proxy", "Setting the password of proxy account %s%s%s", want->proxy_domain,
                   want->proxy_domain[0] ? "\\" : "", want->proxy_user);
            n++;
        }
    }
    desired_languages_canon(cur->languages, a, sizeof a);
    desired_languages_canon(want->languages, b, sizeof b);
    if (cur->all_languages != want->all_languages || strcmp(a, b) != 0) {
        change(ch, "languages", "Changing update languages from %s to %s",
               cur->all_languages ? "all languages" : (a[0] ? a : "none"),
               want->all_languages ? "all languages" : b);
        snprintf(merged->languages, sizeof merged->languages, "%s", want->languages);
        merged->all_languages = want->all_languages;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Subscription                                                        */
/* ------------------------------------------------------------------ */

static int is_classification(const desired_category *c)
{
    return strcasecmp(c->type, "UpdateClassification") == 0;
}

static int is_product(const desired_category *c)
{
    return strcasecmp(c->type, "Product") == 0 || strcasecmp(c->type, "ProductFamily") == 0 ||
           strcasecmp(c->type, "Company") == 0;
}

static int has_id(char *const *ids, size_t n, const char *guid)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(ids[i], guid) == 0)
            return 1;
    return 0;
}

static int wanted(const desired_category *want, size_t n, int classification, const char *guid)
{
    for (size_t i = 0; i < n; i++)
        if ((classification ? is_classification(&want[i]) : is_product(&want[i])) &&
            strcmp(want[i].guid, guid) == 0)
            return 1;
    return 0;
}

static const desired_category *find_known(const desired_category *known, size_t n, const char *guid)
{
    for (size_t i = 0; known && i < n; i++)
        if (strcmp(known[i].guid, guid) == 0)
            return &known[i];
    return NULL;
}

static int push_id(char ***ids, size_t *n, const char *guid)
{
    char **v = realloc(*ids, (*n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    *ids = v;
    if (!(v[*n] = strdup(guid)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

int desired_subscription_diff(const wsusapi_subscription *cur, const desired_category *want,
                              size_t nwant, const desired_category *known, size_t nknown,
                              wsusapi_subscription *merged, desired_changes *ch)
{
    int n = 0;
    memset(merged, 0, sizeof *merged);
    /* ConfigMgr starts every sync itself: the SUP's own schedule stays off. */
    merged->sync_automatically = 0;
    merged->time_of_day_s = cur->time_of_day_s;
    merged->syncs_per_day = cur->syncs_per_day > 0 ? cur->syncs_per_day : 1;
    if (cur->sync_automatically) {
        change(ch, "subscription",
               "Changing the synchronization schedule of the WSUS server from automatic to "
               "manual; the site starts every synchronization");
        n++;
    }
    for (size_t i = 0; i < nwant; i++) {
        int cls = is_classification(&want[i]);
        if (!cls && !is_product(&want[i]))
            continue;
        int ret =
            cls ? push_id(&merged->classification_ids, &merged->nclassifications, want[i].guid)
                : push_id(&merged->product_ids, &merged->nproducts, want[i].guid);
        if (ret < 0) {
            wsusapi_subscription_free(merged);
            return ret;
        }
        if (!has_id(cls ? cur->classification_ids : cur->product_ids,
                    cls ? cur->nclassifications : cur->nproducts, want[i].guid)) {
            change(ch, "subscription", "Subscribing to %s (%s)", want[i].unique_id, want[i].title);
            n++;
        }
    }
    for (int cls = 0; cls < 2; cls++) {
        char *const *ids = cls ? cur->classification_ids : cur->product_ids;
        size_t nids = cls ? cur->nclassifications : cur->nproducts;
        for (size_t i = 0; i < nids; i++) {
            if (wanted(want, nwant, cls, ids[i]))
                continue;
            const desired_category *k = find_known(known, nknown, ids[i]);
            if (k)
                change(ch, "subscription", "Unsubscribing from %s (%s)", k->unique_id, k->title);
            else
                change(ch, "subscription", "Unsubscribing from %s:%s",
                       cls ? "UpdateClassification" : "Product", ids[i]);
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* The Subscribed Update Categories line                                */
/* ------------------------------------------------------------------ */

/* CDATA cannot hold "]]>": split it across two sections.  Control characters become blanks
 * so one category stays one line. */
static void add_cdata(soap_buf *b, const char *s)
{
    soap_buf_puts(b, "<![CDATA[");
    for (const char *p = s; *p; p++) {
        if (p[0] == ']' && p[1] == ']' && p[2] == '>') {
            soap_buf_puts(b, "]]]]><![CDATA[>");
            p += 2;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            soap_buf_add(b, " ", 1);
        } else {
            soap_buf_add(b, p, 1);
        }
    }
    soap_buf_puts(b, "]]>");
}

char *desired_categories_xml(const desired_category *cats, size_t n)
{
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_puts(&b, "<?xml version=\"1.0\" ?>\n<Categories>\n");
    for (size_t i = 0; i < n; i++) {
        soap_buf_puts(&b, "<Category Id=\"");
        soap_buf_escape(&b, cats[i].unique_id);
        soap_buf_puts(&b, "\">");
        add_cdata(&b, cats[i].title);
        soap_buf_puts(&b, "</Category>\n");
    }
    soap_buf_puts(&b, "</Categories>");
    if (b.err) {
        soap_buf_free(&b);
        return NULL;
    }
    return soap_buf_take(&b, NULL);
}

/* ------------------------------------------------------------------ */
/* Fingerprint and wording                                              */
/* ------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    h = fnv(h, s, strlen(s));
    return fnv(h, "\x1f", 1);
}

static uint64_t fnv_int(uint64_t h, long long v)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", v);
    return fnv_str(h, t);
}

static uint64_t fnv_sup(uint64_t h, const desired_sup *s)
{
    h = fnv_int(h, s->id);
    h = fnv_str(h, s->server);
    h = fnv_int(h, s->port);
    h = fnv_int(h, s->ssl_port);
    h = fnv_int(h, s->use_ssl);
    h = fnv_int(h, s->install_order);
    h = fnv_str(h, s->account);
    h = fnv_str(h, s->password);
    h = fnv_int(h, s->use_proxy);
    h = fnv_str(h, s->proxy_name);
    h = fnv_int(h, s->proxy_port);
    h = fnv_str(h, s->proxy_account);
    return fnv_str(h, s->proxy_password);
}

uint64_t desired_fingerprint(const desired_input *in)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv_str(h, in->site.code);
    h = fnv_str(h, in->site.type);
    h = fnv_str(h, in->site.parent);
    for (size_t i = 0; i < in->nsups; i++)
        h = fnv_sup(h, &in->sups[i]);
    h = fnv_int(h, in->has_parent_sup);
    if (in->has_parent_sup)
        h = fnv_sup(h, &in->parent_sup);
    h = fnv_str(h, in->sync.source);
    h = fnv_str(h, in->sync.upstream);
    h = fnv_str(h, in->sync.offline_path);
    /* The subscription is not part of it: its changes come as .CSB notifications. */
    return fnv_str(h, in->sync.languages);
}

void desired_wait_text(long long seconds, char *buf, size_t len)
{
    if (seconds >= 60 && seconds % 60 == 0)
        snprintf(buf, len, "%lld minute%s", seconds / 60, seconds == 60 ? "" : "s");
    else
        snprintf(buf, len, "%lld second%s", seconds, seconds == 1 ? "" : "s");
}
