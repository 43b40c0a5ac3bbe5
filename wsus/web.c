/*
 * web.c - wsusd's web site: the listeners (8530, and 8531 with TLS), the
 * routing of the WSUS virtual directories, HTTP authentication of the
 * administration API, and the liveness answers a real WSUS gives
 * (/ is 403, ClientWebService, SimpleAuthWebService and Selfupdate exist).
 * Paths compare without case, as IIS does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "log.h"
#include "susdb.h"
#include "wsusd.h"
#include "wsusss.h"

static void set_body(httpd_response *resp, int status, const char *type, const char *text)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = strdup(text);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
}

void wsusd_fault(httpd_response *resp, const char *faultcode, const char *faultstring,
                 const char *error_code, const char *method)
{
    size_t len = 0;
    resp->status = 500;
    resp->content_type = "text/xml; charset=utf-8";
    resp->body = soap_fault_build(faultcode, faultstring, error_code, method, &len);
    resp->body_len = resp->body ? len : 0;
}

void wsusd_xml_begin(soap_buf *out)
{
    soap_envelope_begin(out);
}

void wsusd_xml(httpd_response *resp, soap_buf *out)
{
    soap_envelope_end(out);
    if (out->err) {
        wsusd_fault(resp, "soap:Server", "Insufficient memory to build the response.",
                    WSUSSS_ERR_INTERNAL, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/xml; charset=utf-8";
    resp->body = soap_buf_take(out, &resp->body_len);
}

void web_db_check(db *d, int ret)
{
    if (ret == CM_EDBCONN && db_reconnect(d) == 0)
        log_msg("Reconnected to the WSUS database.");
}

static const char page_403[] =
    "<html><head><title>403 - Forbidden: Access is denied.</title></head><body>"
    "<h2>403 - Forbidden: Access is denied.</h2>"
    "<h3>You do not have permission to view this directory or page using the credentials that "
    "you supplied.</h3></body></html>";

static const char page_404[] =
    "<html><head><title>404 - File or directory not found.</title></head><body>"
    "<h2>404 - File or directory not found.</h2></body></html>";

/* The help page ASP.NET shows for a GET of a web service. */
static void service_page(httpd_response *resp, const char *name, const char *const *ops)
{
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_printf(&b,
                    "<html><head><title>%s Web Service</title></head><body><h1>%s</h1>"
                    "<p>The following operations are supported.</p><ul>",
                    name, name);
    for (; *ops; ops++)
        soap_buf_printf(&b, "<li>%s</li>", *ops);
    soap_buf_puts(&b, "</ul></body></html>");
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->body = soap_buf_take(&b, &resp->body_len);
}

/* HTTP Basic check of the administration API; 1 when the request may go on. */
static int authorized(wsusd_listener *l, const httpd_request *req, httpd_response *resp,
                      const char *what)
{
    int ret = susdb_check_account(l->d, req->user, req->password);
    if (ret == 1 || ret == CM_ENOTFOUND)
        return 1;
    if (ret < 0) {
        web_db_check(l->d, ret);
        log_msg("Cannot check the account of a request to %s: %s", req->url, db_errmsg(l->d));
        wsusd_fault(resp, "soap:Server", "The server could not check the account.",
                    WSUSSS_ERR_INTERNAL, NULL);
        return 0;
    }
    if (req->user)
        log_msg("Access to %s denied for user '%s' from %s: wrong account or password (HTTP "
                "401: Unauthorized).",
                what, req->user, req->remote_addr);
    else
        log_msg("Access to %s denied for an anonymous request from %s (HTTP 401: Unauthorized).",
                what, req->remote_addr);
    set_body(resp, 401, "text/html",
             "<html><head><title>401 - Unauthorized: Access is denied due to invalid "
             "credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to "
             "invalid credentials.</h2></body></html>");
    resp->www_authenticate = 1;
    return 0;
}

static void handle(void *ud, const httpd_request *req, httpd_response *resp)
{
    static const char *const api_ops[] = {"GetServerProtocolVersion",
                                          "GetServerVersion",
                                          "ExecuteSPGetConfiguration",
                                          "ExecuteSPSetConfiguration",
                                          "GetSubscription",
                                          "SetSubscription",
                                          "StartSubscriptionManually",
                                          "StopSubscription",
                                          "GetSubscriptionState",
                                          "GetServerSyncProgress",
                                          "GetLastSynchronizationInfo",
                                          "ExecuteSPGetCategories",
                                          "ExecuteSPGetUpdateById",
                                          "ExecuteSPGetXmlForUpdate",
                                          NULL};
    static const char *const sync_ops[] = {"GetAuthConfig",     "GetCookie",     "GetConfigData",
                                           "GetRevisionIdList", "GetUpdateData", NULL};
    static const char *const dss_ops[] = {"GetAuthorizationCookie", NULL};
    static const char *const simple_ops[] = {"GetAuthorizationCookie", NULL};
    wsusd_listener *l = ud;
    wsusd *w = l->w;
    const char *u = req->url;
    int post = strcmp(req->method, "POST") == 0;

    if (strcmp(u, "/") == 0 || strcasecmp(u, "/default.htm") == 0) {
        set_body(resp, 403, "text/html", page_403);
    } else if (strcasecmp(u, "/ClientWebService/wusserverversion.xml") == 0) {
        char xml[512];
        snprintf(xml, sizeof xml,
                 "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<ServerVersion>"
                 "<Version>%s</Version><ProtocolVersion>%s</ProtocolVersion></ServerVersion>\r\n",
                 WSUSAPI_SERVER_VERSION, WSUSSS_PROTOCOL_VERSION);
        set_body(resp, 200, "text/xml", xml);
    } else if (strcasecmp(u, "/SimpleAuthWebService/SimpleAuth.asmx") == 0) {
        service_page(resp, "SimpleAuthWebService", simple_ops);
    } else if (strcasecmp(u, "/Selfupdate/wuident.cab") == 0) {
        resp->status = 200;
        resp->content_type = "application/vnd.ms-cab-compressed";
        resp->body = malloc(w->wuident_len);
        if (resp->body) {
            memcpy(resp->body, w->wuident_cab, w->wuident_len);
            resp->body_len = w->wuident_len;
        }
    } else if (strcasecmp(u, WSUSAPI_PATH) == 0) {
        if (!authorized(l, req, resp, u))
            return;
        if (post)
            admin_handle(w, l->d, req, resp);
        else
            service_page(resp, "ApiRemotingWebService", api_ops);
    } else if (strcasecmp(u, WSUSSS_SYNC_PATH) == 0) {
        if (post)
            uss_handle(w, l->d, req, resp, 0);
        else
            service_page(resp, "ServerSyncWebService", sync_ops);
    } else if (strcasecmp(u, WSUSSS_DSSAUTH_PATH) == 0) {
        /* Anonymous as on WSUS, unless this server requires its account (lab setting). */
        if (susdb_get_int(l->d, "DssAuthRequiresAccount", 0) && !authorized(l, req, resp, u))
            return;
        if (post)
            uss_handle(w, l->d, req, resp, 1);
        else
            service_page(resp, "DssAuthWebService", dss_ops);
    } else {
        set_body(resp, 404, "text/html", page_404);
    }
}

static void refused(void *ud, const char *method, const char *url, const char *remote_addr,
                    int status)
{
    wsusd_listener *l = ud;
    log_msg("Request %s %s from %s refused with HTTP %d: the body is larger than %zu bytes.",
            method, url, remote_addr, status, l->w->max_body);
}

static int start_one(wsusd *w, wsusd_listener *l, int port, int tls)
{
    httpd_config cfg = {0};
    int ret;
    l->w = w;
    l->tls = tls;
    if ((ret = db_open(&l->d, w->conn)) < 0 || (ret = susdb_tune(l->d)) < 0) {
        log_msg("Cannot connect to the WSUS database for the web service: %s",
                l->d ? db_errmsg(l->d) : cm_strerror(ret));
        db_close(l->d);
        l->d = NULL;
        return ret;
    }
    cfg.bind_addr = w->bind_addr[0] ? w->bind_addr : NULL;
    cfg.port = port;
    cfg.cert_pem = tls ? w->cert_pem : NULL;
    cfg.key_pem = tls ? w->key_pem : NULL;
    cfg.max_body = w->max_body;
    cfg.realm = "WSUS";
    cfg.timeout_s = (unsigned)w->client_timeout_s;
    cfg.refused = refused;
    if ((ret = httpd_start(&l->h, &cfg, handle, l)) < 0) {
        log_msg("Cannot listen on %s port %d: %s", w->bind_addr[0] ? w->bind_addr : "127.0.0.1",
                port, cm_strerror(ret));
        db_close(l->d);
        l->d = NULL;
        return ret;
    }
    log_msg("Listening on %s port %d (%s).", w->bind_addr[0] ? w->bind_addr : "127.0.0.1",
            httpd_port(l->h), tls ? "HTTPS" : "HTTP");
    return 0;
}

int web_start(wsusd *w)
{
    int ret = start_one(w, &w->http, w->port, 0);
    if (ret < 0)
        return ret;
    if (w->cert_pem && w->key_pem && (ret = start_one(w, &w->https, w->ssl_port, 1)) < 0) {
        web_stop(w);
        return ret;
    }
    return 0;
}

void web_stop(wsusd *w)
{
    wsusd_listener *ls[] = {&w->http, &w->https};
    for (int i = 0; i < 2; i++) {
        httpd_stop(ls[i]->h);
        ls[i]->h = NULL;
        db_close(ls[i]->d);
        ls[i]->d = NULL;
    }
}
