/*
 * httpd.h - the HTTP server the lab's web services share (libmicrohttpd):
 * wsusd's WSUS web services and the management point's location service.
 *
 * The server runs its own thread; handlers are called there, one request at
 * a time, so a handler that needs the database uses a connection of its own
 * (not the daemon loop's).  Bodies are read whole, up to a cap, before the
 * handler sees them.  Listeners bind to loopback unless told otherwise, and
 * TLS is on when a certificate and key are given.
 */
#ifndef CM_HTTPD_H
#define CM_HTTPD_H

#include <stddef.h>

typedef struct httpd httpd;

typedef struct httpd_request {
    const char *method; /* "GET", "POST", ... */
    const char *url;    /* path, without the query string */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
    const char *remote_addr;  /* numeric address of the peer */
    const char *user;         /* HTTP Basic user name, or NULL */
    const char *password;     /* HTTP Basic password, or NULL */
    const char *content_type; /* or NULL */
    const char *soap_action;  /* the SOAPAction header without quotes, or NULL */
    void *conn;               /* for httpd_header() */
} httpd_request;

typedef struct httpd_response {
    int status;               /* default 200 */
    const char *content_type; /* default "text/xml; charset=utf-8" */
    char *body;               /* malloc'd by the handler; freed by httpd */
    size_t body_len;
    int www_authenticate; /* on 401: ask for Basic credentials */
} httpd_response;

typedef void (*httpd_handler)(void *ud, const httpd_request *req, httpd_response *resp);

typedef struct httpd_config {
    const char *bind_addr; /* NULL or "127.0.0.1": loopback; "0.0.0.0": every address */
    int port;
    const char *cert_pem; /* TLS certificate (PEM text) and key; NULL for plain HTTP */
    const char *key_pem;
    size_t max_body;    /* requests with larger bodies get 413; 0 = 16 MB */
    const char *realm;  /* Basic realm on 401 */
    unsigned timeout_s; /* a connection idle this long is closed; 0 = 60 s */
    /*
     * Optional: called in the server thread when a request is refused before
     * any handler sees it (413 for a body over max_body), so the owner can
     * log it.  ud is the handler's ud.
     */
    void (*refused)(void *ud, const char *method, const char *url, const char *remote_addr,
                    int status);
} httpd_config;

int httpd_start(httpd **out, const httpd_config *cfg, httpd_handler fn, void *ud);
void httpd_stop(httpd *h);
/* The port actually bound (useful with port 0 in tests). */
int httpd_port(const httpd *h);
/* A request header by name, or NULL. */
const char *httpd_header(const httpd_request *req, const char *name);

#endif
