/*
 * httpd.c - the shared HTTP server (libmicrohttpd, internal polling thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cm_error.h"
#include "httpd.h"

#define DEFAULT_MAX_BODY (16u * 1024u * 1024u)

struct httpd {
    struct MHD_Daemon *mhd;
    httpd_handler fn;
    void *ud;
    size_t max_body;
    char realm[128];
    int port;
    void (*refused)(void *ud, const char *method, const char *url, const char *remote_addr,
                    int status);
};

/* The body collected across the calls libmicrohttpd makes for one request. */
typedef struct req_state {
    char *buf;
    size_t len, cap;
    int too_big;
} req_state;

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *type, char *body,
                                 size_t len, const char *realm, int ask_auth)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (ask_auth)
        ret = MHD_queue_basic_auth_fail_response(c, realm, r);
    else
        ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    httpd *h = cls;
    req_state *st = *con_cls;
    (void)version;

    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        return MHD_YES;
    }
    if (*data_size) {
        if (st->too_big || st->len + *data_size > h->max_body) {
            st->too_big = 1;
        } else {
            if (st->len + *data_size + 1 > st->cap) {
                size_t cap = (st->len + *data_size + 1) * 2;
                char *nb = realloc(st->buf, cap);
                if (!nb)
                    return MHD_NO;
                st->buf = nb;
                st->cap = cap;
            }
            memcpy(st->buf + st->len, data, *data_size);
            st->len += *data_size;
            st->buf[st->len] = '\0';
        }
        *data_size = 0;
        return MHD_YES;
    }
    char addr[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
    }
    if (st->too_big) {
        if (h->refused)
            h->refused(h->ud, method, url, addr, 413);
        return send_body(c, 413, "text/plain", strdup("request body too large\n"), 23, h->realm, 0);
    }
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    char soap[512] = "";
    const char *sa = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "SOAPAction");
    if (sa) {
        /* SOAP 1.1 quotes the action: "http://.../Method". */
        size_t n = strlen(sa);
        if (n >= 2 && sa[0] == '"' && sa[n - 1] == '"')
            snprintf(soap, sizeof soap, "%.*s", (int)(n - 2), sa + 1);
        else
            snprintf(soap, sizeof soap, "%s", sa);
    }
    httpd_request req = {
        .method = method,
        .url = url,
        .body = st->buf ? st->buf : "",
        .body_len = st->len,
        .remote_addr = addr,
        .user = user,
        .password = pass,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .soap_action = sa ? soap : NULL,
        .conn = c,
    };
    httpd_response resp = {.status = 200, .content_type = "text/xml; charset=utf-8"};
    h->fn(h->ud, &req, &resp);
    free(user);
    free(pass);
    return send_body(c, resp.status, resp.content_type, resp.body, resp.body ? resp.body_len : 0,
                     h->realm, resp.status == 401 && resp.www_authenticate);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_state *st = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (st) {
        free(st->buf);
        free(st);
        *con_cls = NULL;
    }
}

const char *httpd_header(const httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int httpd_start(httpd **out, const httpd_config *cfg, httpd_handler fn, void *ud)
{
    struct sockaddr_in sin = {0};
    httpd *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h)
        return -ENOMEM;
    h->fn = fn;
    h->ud = ud;
    h->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    h->refused = cfg->refused;
    snprintf(h->realm, sizeof h->realm, "%s", cfg->realm ? cfg->realm : "WSUS");
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->bind_addr ? cfg->bind_addr : "127.0.0.1", &sin.sin_addr) != 1) {
        free(h);
        return CM_EPARSE;
    }
    /* No MHD_USE_ERROR_LOG: a library does not print; failures come back as codes. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (cfg->cert_pem && cfg->key_pem)
        flags |= MHD_USE_TLS;
    h->mhd =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, h,
                         MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                         NULL, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 60u,
                         cfg->cert_pem && cfg->key_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                         cfg->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem, MHD_OPTION_END);
    if (!h->mhd) {
        free(h);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    *out = h;
    return 0;
}

int httpd_port(const httpd *h)
{
    return h->port;
}

void httpd_stop(httpd *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->mhd);
    free(h);
}
