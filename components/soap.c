/*
 * soap.c - SOAP 1.1 over HTTP(S): the growable XML buffer, envelopes and
 * faults, safe parsing of messages, and the libcurl client whose errors
 * read as .NET's web-service errors (see soap.h for why).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <openssl/rand.h>

#include "cm_error.h"
#include "soap.h"

#define DEFAULT_TIMEOUT_S 300
#define DEFAULT_CONNECT_TIMEOUT_S 30
#define DEFAULT_MAX_RESPONSE (256u * 1024u * 1024u)

const char *soap_strerror(int code)
{
    switch (code) {
    case SOAP_ECONNECT:
        return "Unable to connect to the remote server";
    case SOAP_ERESOLVE:
        return "The remote name could not be resolved";
    case SOAP_EUNAUTHORIZED:
        return "The request failed with HTTP status 401: Unauthorized";
    case SOAP_EHTTP:
        return "The request failed with an HTTP error status";
    case SOAP_EFAULT:
        return "The server answered with a SOAP fault";
    case SOAP_EBADRESPONSE:
        return "The server's answer is not the expected SOAP message";
    case SOAP_ETIMEOUT:
        return "The operation has timed out";
    case SOAP_ECLOSED:
        return "The underlying connection was closed: An unexpected error occurred on a receive.";
    case SOAP_ETLS:
        return "The underlying connection was closed: Could not establish trust relationship "
               "for the SSL/TLS secure channel.";
    default:
        return cm_strerror(code);
    }
}

/* ------------------------------------------------------------------ */
/* Buffer                                                              */
/* ------------------------------------------------------------------ */

void soap_buf_init(soap_buf *b)
{
    memset(b, 0, sizeof *b);
}

void soap_buf_free(soap_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(soap_buf *b, size_t extra)
{
    if (b->err)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->err = 1;
            return -1;
        }
        cap *= 2;
    }
    char *nd = realloc(b->data, cap);
    if (!nd) {
        b->err = 1;
        return -1;
    }
    b->data = nd;
    b->cap = cap;
    return 0;
}

void soap_buf_add(soap_buf *b, const char *s, size_t n)
{
    if (!n) {
        buf_reserve(b, 0);
        if (b->data)
            b->data[b->len] = '\0';
        return;
    }
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void soap_buf_puts(soap_buf *b, const char *s)
{
    soap_buf_add(b, s, strlen(s));
}

void soap_buf_printf(soap_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void soap_buf_escapen(soap_buf *b, const char *s, size_t n)
{
    /* Room for the worst case first (every byte a "&quot;"), then bytes straight in. */
    if (n > ((size_t)-1) / 8) {
        b->err = 1;
        return;
    }
    if (buf_reserve(b, n * 6) < 0)
        return;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep;
        size_t rl;
        switch (c) {
        case '&':
            rep = "&amp;", rl = 5;
            break;
        case '<':
            rep = "&lt;", rl = 4;
            break;
        case '>':
            rep = "&gt;", rl = 4;
            break;
        case '"':
            rep = "&quot;", rl = 6;
            break;
        case '\r':
            rep = "&#xD;", rl = 5;
            break;
        default:
            /* Control characters other than tab and newline are not XML 1.0. */
            if (c >= 0x20 || c == '\t' || c == '\n')
                *o++ = (char)c;
            continue;
        }
        memcpy(o, rep, rl);
        o += rl;
    }
    *o = '\0';
    b->len = (size_t)(o - b->data);
}

void soap_buf_escape(soap_buf *b, const char *s)
{
    if (s)
        soap_buf_escapen(b, s, strlen(s));
}

void soap_buf_cdata(soap_buf *b, const char *s, size_t n)
{
    /*
     * One section, split where the text holds "]]>" (its '>' goes into the
     * next section) and around a carriage return (written as a reference:
     * a parser turns a CR inside a section into a line feed).
     */
    soap_buf_add(b, "<![CDATA[", 9);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            soap_buf_add(b, s + from, i - from);
            soap_buf_add(b, "]]>&#xD;<![CDATA[", 17);
            from = i + 1;
        } else if (s[i] == '>' && i >= 2 && s[i - 1] == ']' && s[i - 2] == ']' && i - 2 >= from) {
            soap_buf_add(b, s + from, i - from);
            soap_buf_add(b, "]]><![CDATA[", 12);
            from = i;
        }
    }
    soap_buf_add(b, s + from, n - from);
    soap_buf_add(b, "]]>", 3);
}

void soap_buf_elem(soap_buf *b, const char *name, const char *text)
{
    if (!text || !*text) {
        soap_buf_printf(b, "<%s />", name);
        return;
    }
    soap_buf_printf(b, "<%s>", name);
    soap_buf_escape(b, text);
    soap_buf_printf(b, "</%s>", name);
}

void soap_buf_elem_int(soap_buf *b, const char *name, long long v)
{
    soap_buf_printf(b, "<%s>%lld</%s>", name, v, name);
}

char *soap_buf_take(soap_buf *b, size_t *len)
{
    char *d;
    if (b->err) {
        soap_buf_free(b);
        return NULL;
    }
    if (!b->data) {
        if (buf_reserve(b, 0) < 0)
            return NULL;
        b->data[0] = '\0';
    }
    d = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}

/* ------------------------------------------------------------------ */
/* Envelopes and faults                                                */
/* ------------------------------------------------------------------ */

void soap_envelope_begin(soap_buf *b)
{
    soap_buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                     "<soap:Envelope xmlns:soap=\"" SOAP_ENV_NS "\" "
                     "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                     "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>");
}

void soap_envelope_end(soap_buf *b)
{
    soap_buf_puts(b, "</soap:Body></soap:Envelope>");
}

char *soap_fault_build(const char *faultcode, const char *faultstring, const char *error_code,
                       const char *method, size_t *len)
{
    soap_buf b;
    soap_buf_init(&b);
    soap_envelope_begin(&b);
    soap_buf_puts(&b, "<soap:Fault>");
    soap_buf_elem(&b, "faultcode", faultcode ? faultcode : "soap:Server");
    soap_buf_elem(&b, "faultstring", faultstring ? faultstring : "");
    if (error_code) {
        unsigned char r[16] = {0};
        char id[40];
        if (RAND_bytes(r, sizeof r) != 1)
            memset(r, 0x5a, sizeof r);
        r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
        r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
        snprintf(id, sizeof id,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
                 r[15]);
        soap_buf_puts(&b, "<detail>");
        soap_buf_elem(&b, "ErrorCode", error_code);
        soap_buf_elem(&b, "Message", faultstring);
        soap_buf_elem(&b, "ID", id);
        if (method) {
            soap_buf_puts(&b, "<Method>&quot;");
            soap_buf_escape(&b, method);
            soap_buf_puts(&b, "&quot;</Method>");
        }
        soap_buf_puts(&b, "</detail>");
    }
    soap_buf_puts(&b, "</soap:Fault>");
    soap_envelope_end(&b);
    return soap_buf_take(&b, len);
}

int soap_has_doctype(const char *xml, size_t len)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)xml[0] == 0xEF && (unsigned char)xml[1] == 0xBB &&
        (unsigned char)xml[2] == 0xBF)
        i = 3;
    /* Walk the prolog: declarations, PIs, comments, blanks, up to the root. */
    while (i < len) {
        while (i < len && isspace((unsigned char)xml[i]))
            i++;
        if (i >= len || xml[i] != '<')
            return 0;
        if (i + 1 < len && xml[i + 1] == '?') {
            const char *e = memmem(xml + i, len - i, "?>", 2);
            if (!e)
                return 0;
            i = (size_t)(e - xml) + 2;
        } else if (len - i >= 4 && memcmp(xml + i, "<!--", 4) == 0) {
            const char *e = memmem(xml + i + 4, len - i - 4, "-->", 3);
            if (!e)
                return 0;
            i = (size_t)(e - xml) + 3;
        } else if (len - i >= 9 && memcmp(xml + i, "<!DOCTYPE", 9) == 0) {
            return 1;
        } else {
            return 0;
        }
    }
    return 0;
}

static int is_local(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *soap_child(xmlNode *parent, const char *local_name)
{
    if (!parent)
        return NULL;
    for (xmlNode *c = parent->children; c; c = c->next)
        if (is_local(c, local_name))
            return c;
    return NULL;
}

xmlNode *soap_next(xmlNode *node, const char *local_name)
{
    for (xmlNode *c = node ? node->next : NULL; c; c = c->next)
        if (is_local(c, local_name))
            return c;
    return NULL;
}

static xmlNode *first_element(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* Text content of an element: text and CDATA children only (never entity expansion). */
static char *node_text(xmlNode *n)
{
    soap_buf b;
    soap_buf_init(&b);
    for (xmlNode *c = n->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            soap_buf_puts(&b, (const char *)c->content);
    return soap_buf_take(&b, NULL);
}

char *soap_text(xmlNode *node)
{
    return node ? node_text(node) : NULL;
}

const char *soap_child_text(xmlNode *parent, const char *local_name, char *buf, size_t len,
                            const char *def)
{
    xmlNode *c = soap_child(parent, local_name);
    char *t;
    if (!c || !(t = node_text(c))) {
        snprintf(buf, len, "%s", def ? def : "");
        return buf;
    }
    snprintf(buf, len, "%s", t);
    free(t);
    return buf;
}

char *soap_child_strdup(xmlNode *parent, const char *local_name)
{
    xmlNode *c = soap_child(parent, local_name);
    return c ? node_text(c) : NULL;
}

int soap_child_int(xmlNode *parent, const char *local_name, long long *out)
{
    char buf[64], *end;
    xmlNode *c = soap_child(parent, local_name);
    if (!c)
        return CM_EPARSE;
    soap_child_text(parent, local_name, buf, sizeof buf, "");
    char *p = buf;
    while (isspace((unsigned char)*p))
        p++;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == p || *end || errno)
        return CM_EPARSE;
    *out = v;
    return 0;
}

int soap_child_bool(xmlNode *parent, const char *local_name, int def)
{
    char buf[16];
    if (!soap_child(parent, local_name))
        return def;
    soap_child_text(parent, local_name, buf, sizeof buf, "");
    if (strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0 || strcmp(buf, "True") == 0)
        return 1;
    if (strcmp(buf, "false") == 0 || strcmp(buf, "0") == 0 || strcmp(buf, "False") == 0)
        return 0;
    return def;
}

int soap_parse(const char *xml, size_t len, xmlDoc **doc, xmlNode **op)
{
    *doc = NULL;
    *op = NULL;
    if (!xml || len == 0 || len > (size_t)0x7fffffff)
        return CM_EPARSE;
    if (soap_has_doctype(xml, len))
        return CM_EPARSE;
    /* No network, no entity substitution, no DTD loading (see soap.h). */
    xmlDoc *d = xmlReadMemory(xml, (int)len, "soap.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d)
        return CM_EPARSE;
    xmlNode *env = xmlDocGetRootElement(d);
    if (!is_local(env, "Envelope") || !env->ns || !env->ns->href ||
        strcmp((const char *)env->ns->href, SOAP_ENV_NS) != 0 || d->intSubset) {
        xmlFreeDoc(d);
        return CM_EPARSE;
    }
    xmlNode *body = soap_child(env, "Body");
    xmlNode *first = body ? first_element(body->children) : NULL;
    if (!first) {
        xmlFreeDoc(d);
        return CM_EPARSE;
    }
    *doc = d;
    *op = first;
    return 0;
}

int soap_fault_read(xmlNode *op, char *faultstring, size_t fslen, char *error_code, size_t eclen)
{
    if (!is_local(op, "Fault"))
        return 0;
    if (faultstring)
        soap_child_text(op, "faultstring", faultstring, fslen, "");
    if (error_code) {
        xmlNode *det = soap_child(op, "detail");
        if (!det)
            det = soap_child(op, "Detail");
        soap_child_text(det, "ErrorCode", error_code, eclen, "");
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct soap_client {
    CURL *curl;
    char base[600]; /* scheme://host:port */
    char host[256];
    char *user, *password, *ca_file, *proxy, *proxy_user;
    long timeout_s, connect_timeout_s;
    int insecure;
    size_t max_response;
    char error[2048];
    char fault_code[64];
    int http_status;
    char reason[128];       /* the status line's reason phrase */
    char content_type[128]; /* the answer's Content-Type */
    soap_buf resp;
    int too_big;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

int soap_client_new(soap_client **out, const soap_endpoint *ep)
{
    soap_client *c;
    *out = NULL;
    if (!ep || !ep->host || !*ep->host || strlen(ep->host) >= 256)
        return CM_EPARSE;
    /* The host goes into a URL: refuse anything that could change its meaning. */
    for (const char *p = ep->host; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
            return CM_ENAME;
    /* curl_global_init is not thread-safe: once, whichever thread comes first. */
    pthread_once(&curl_once, curl_init_once);
    c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->curl = curl_easy_init();
    int port = ep->port ? ep->port : (ep->use_ssl ? 443 : 80);
    int v6 = strchr(ep->host, ':') && ep->host[0] != '[';
    snprintf(c->host, sizeof c->host, "%s", ep->host);
    snprintf(c->base, sizeof c->base, "%s://%s%s%s:%d", ep->use_ssl ? "https" : "http",
             v6 ? "[" : "", ep->host, v6 ? "]" : "", port);
    c->user = dup_or_null(ep->user);
    c->password = dup_or_null(ep->password);
    c->ca_file = dup_or_null(ep->ca_file);
    c->proxy = dup_or_null(ep->proxy);
    c->proxy_user = dup_or_null(ep->proxy_user);
    c->timeout_s = ep->timeout_s > 0 ? ep->timeout_s : DEFAULT_TIMEOUT_S;
    c->connect_timeout_s =
        ep->connect_timeout_s > 0 ? ep->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S;
    c->insecure = ep->insecure;
    c->max_response = ep->max_response ? ep->max_response : DEFAULT_MAX_RESPONSE;
    if (!c->curl || (ep->user && !c->user) || (ep->password && !c->password)) {
        soap_client_free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

void soap_client_free(soap_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->user);
    free(c->password);
    free(c->ca_file);
    free(c->proxy);
    free(c->proxy_user);
    soap_buf_free(&c->resp);
    free(c);
}

const char *soap_client_error(const soap_client *c)
{
    return c ? c->error : "";
}

int soap_client_http_status(const soap_client *c)
{
    return c ? c->http_status : 0;
}

const char *soap_client_fault_code(const soap_client *c)
{
    return c ? c->fault_code : "";
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    soap_client *c = ud;
    size_t n = size * nmemb;
    if (c->resp.len + n > c->max_response) {
        c->too_big = 1;
        return 0; /* aborts the transfer */
    }
    soap_buf_add(&c->resp, ptr, n);
    return c->resp.err ? 0 : n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    soap_client *c = ud;
    size_t n = size * nmemb;
    if (n > 9 && strncmp(ptr, "HTTP/", 5) == 0) {
        /* "HTTP/1.1 500 Internal Server Error\r\n": keep the reason phrase. */
        const char *p = memchr(ptr, ' ', n);
        c->reason[0] = '\0';
        c->content_type[0] = '\0';
        if (p && (size_t)(p - ptr) + 5 < n) {
            const char *r = p + 5;
            size_t rl = n - (size_t)(r - ptr);
            while (rl && (r[rl - 1] == '\r' || r[rl - 1] == '\n'))
                rl--;
            snprintf(c->reason, sizeof c->reason, "%.*s", (int)rl, r);
        }
    } else if (n > 13 && strncasecmp(ptr, "Content-Type:", 13) == 0) {
        const char *v = ptr + 13;
        size_t vl = n - 13;
        while (vl && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(c->content_type, sizeof c->content_type, "%.*s", (int)vl, v);
    }
    return n;
}

/* The .NET text of an HTTP status: the server's reason phrase, or the standard one. */
static const char *status_reason(const soap_client *c)
{
    if (c->reason[0])
        return c->reason;
    switch (c->http_status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Request Entity Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

static int map_curl_error(soap_client *c, CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(c->error, sizeof c->error, "The remote name could not be resolved: '%s'", c->host);
        return SOAP_ERESOLVE;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_ECONNECT));
        return SOAP_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_ETIMEOUT));
        return SOAP_ETIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
        snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_ETLS));
        return SOAP_ETLS;
    case CURLE_WRITE_ERROR:
        if (c->too_big) {
            snprintf(c->error, sizeof c->error,
                     "The response from the remote server exceeded the limit of %zu bytes.",
                     c->max_response);
            return SOAP_EBADRESPONSE;
        }
        snprintf(c->error, sizeof c->error, "Insufficient memory to read the response.");
        return -ENOMEM;
    default:
        snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_ECLOSED));
        return SOAP_ECLOSED;
    }
}

/* One HTTP exchange; fills c->resp, c->http_status.  Returns 0 or a SOAP_E* code. */
static int http_exchange(soap_client *c, const char *path, const char *action, const char *body,
                         size_t body_len)
{
    char url[1200], sa[1100];
    struct curl_slist *hdrs = NULL;
    CURL *h = c->curl;
    CURLcode rc;

    c->error[0] = '\0';
    c->fault_code[0] = '\0';
    c->http_status = 0;
    c->reason[0] = '\0';
    c->content_type[0] = '\0';
    c->too_big = 0;
    soap_buf_free(&c->resp);
    snprintf(url, sizeof url, "%s%s", c->base, path);

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Windows-Update-Agent/cmsite-lab");
    /* Only http and https, never a redirect to something else. */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (c->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
        if (c->proxy_user)
            curl_easy_setopt(h, CURLOPT_PROXYUSERPWD, c->proxy_user);
    } else {
        /* Environment proxies would silently reroute lab traffic. */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    }
    if (body) {
        snprintf(sa, sizeof sa, "SOAPAction: \"%s\"", action ? action : "");
        hdrs = curl_slist_append(hdrs, "Content-Type: text/xml; charset=utf-8");
        hdrs = curl_slist_append(hdrs, sa);
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    c->http_status = (int)status;
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK)
        return map_curl_error(c, rc);
    if (c->resp.err) {
        snprintf(c->error, sizeof c->error, "Insufficient memory to read the response.");
        return -ENOMEM;
    }
    return 0;
}

int soap_get(soap_client *c, const char *path, int *http_status, char **body, size_t *len)
{
    int ret = http_exchange(c, path, NULL, NULL, 0);
    *http_status = c->http_status;
    *body = NULL;
    *len = 0;
    if (ret < 0)
        return ret;
    *body = soap_buf_take(&c->resp, len);
    if (!*body)
        return -ENOMEM;
    return 0;
}

/* The request in its envelope, sent; 0 once an answer came (any status but 401). */
static int exchange(soap_client *c, const char *path, const char *action, const char *body,
                    size_t body_len)
{
    int ret;
    soap_buf req;
    soap_buf_init(&req);
    soap_envelope_begin(&req);
    soap_buf_add(&req, body, body_len);
    soap_envelope_end(&req);
    if (req.err) {
        soap_buf_free(&req);
        return -ENOMEM;
    }
    ret = http_exchange(c, path, action, req.data, req.len);
    soap_buf_free(&req);
    if (ret < 0)
        return ret;
    if (c->http_status == 401) {
        snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_EUNAUTHORIZED));
        return SOAP_EUNAUTHORIZED;
    }
    return 0;
}

int soap_call(soap_client *c, const char *path, const char *action, const char *body,
              size_t body_len, xmlDoc **doc, xmlNode **resp)
{
    int ret;
    *doc = NULL;
    *resp = NULL;
    if ((ret = exchange(c, path, action, body, body_len)) < 0)
        return ret;
    return soap_client_answer(c, doc, resp);
}

int soap_call_raw(soap_client *c, const char *path, const char *action, const char *body,
                  size_t body_len, const char **xml, size_t *len)
{
    int ret;
    *xml = NULL;
    *len = 0;
    if ((ret = exchange(c, path, action, body, body_len)) < 0)
        return ret;
    if (c->http_status == 200 && c->resp.len) {
        *xml = c->resp.data;
        *len = c->resp.len;
        return 0;
    }
    /* Not a plain answer: the tree tells the fault or the status, as soap_call does. */
    xmlDoc *d;
    xmlNode *op;
    ret = soap_client_answer(c, &d, &op);
    assert(ret < 0); /* only a 200 with a body reads as an answer, and it went out above */
    return ret;
}

int soap_client_answer(soap_client *c, xmlDoc **doc, xmlNode **resp)
{
    xmlDoc *d = NULL;
    xmlNode *op = NULL;
    *doc = NULL;
    *resp = NULL;
    int parsed = c->resp.len ? soap_parse(c->resp.data, c->resp.len, &d, &op) : CM_EPARSE;
    if (parsed == 0 &&
        soap_fault_read(op, c->error, sizeof c->error, c->fault_code, sizeof c->fault_code)) {
        xmlFreeDoc(d);
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "%s", soap_strerror(SOAP_EFAULT));
        return SOAP_EFAULT;
    }
    if (c->http_status != 200) {
        xmlFreeDoc(d);
        snprintf(c->error, sizeof c->error, "The request failed with HTTP status %d: %s",
                 c->http_status, status_reason(c));
        return SOAP_EHTTP;
    }
    if (parsed < 0) {
        if (c->content_type[0] && !strstr(c->content_type, "xml"))
            snprintf(c->error, sizeof c->error,
                     "Client found response content type of '%s', but expected 'text/xml'.",
                     c->content_type);
        else
            snprintf(c->error, sizeof c->error, "There is an error in XML document (1, 1).");
        return SOAP_EBADRESPONSE;
    }
    *doc = d;
    *resp = op;
    return 0;
}
