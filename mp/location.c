/*
 * location.c - the management point's WSUS location service.  Requests are
 * handled one at a time in the listener's thread, with the listener's own
 * database connection (the daemon loop's is never touched from here), and
 * logged as the real MP_Location.log logs them with verbose logging on:
 *   MP LM: Message Body : <WSUSLocationRequest ...>
 *   MP LM: calling MP_GetWSUSServerLocations
 *   MP LM: Reply message body:~<WSUSLocationReply ...>
 * A malformed request is refused with 400, one log line and one status
 * message; the listener goes on serving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "cm_error.h"
#include "log.h"
#include "location.h"
#include "statmsg.h"
#include "wsusloc.h"

/* How much of a request body a log line shows. */
#define LOG_BODY_MAX 2048

struct mploc {
    httpd *h;
    db *d; /* the listener thread's own connection; NULL until the first request */
    int db_failing;
    char *connection, *site, *server, *component;
};

static void trace(void *ud, const char *sql)
{
    (void)ud;
    log_sql(sql);
}

/* A status message from the listener thread, stored through its own connection. */
static void report(mploc *m, int id, char sev, const char *s0, const char *s1, const char *s2)
{
    statmsg msg;
    statmsg_init(&msg, id, sev, 'M', m->component, m->server, m->site);
    msg.istr[0] = s0;
    msg.istr[1] = s1;
    msg.istr[2] = s2;
    statmsg_report(m->d, &msg);
}

static int ensure_db(mploc *m)
{
    int ret;
    if (m->d)
        return 0;
    ret = db_open(&m->d, m->connection);
    if (ret < 0) {
        if (!m->db_failing)
            log_msg("ERROR: MP LM: cannot connect to the site database: %s",
                    m->d ? db_errmsg(m->d) : cm_strerror(ret));
        db_close(m->d);
        m->d = NULL;
        return ret;
    }
    db_set_trace(m->d, trace, m);
    return 0;
}

/* The lookup, reconnecting once when the connection was lost since the last request. */
static int lookup(mploc *m, const wsusloc_request *req, wsusloc_reply *reply)
{
    int ret = ensure_db(m);
    if (ret == 0) {
        ret = wsusloc_lookup(m->d, req, m->site, reply);
        if (ret == CM_EDBCONN && db_reconnect(m->d) == 0)
            ret = wsusloc_lookup(m->d, req, m->site, reply);
    }
    if (ret < 0) {
        const char *err = m->d ? db_errmsg(m->d) : cm_strerror(ret);
        if (!m->db_failing) {
            log_msg("ERROR: MP LM: MP_GetWSUSServerLocations failed: %s. Location requests "
                    "are answered with 503 until the site database is back.",
                    err);
            report(m, 8342, 'E', err, NULL, NULL);
        }
        m->db_failing = 1;
        if (ret == CM_EDBCONN && m->d) {
            /* Connect afresh next time rather than reuse a dead handle. */
            db_close(m->d);
            m->d = NULL;
        }
        return ret;
    }
    if (m->db_failing)
        log_msg("MP LM: the site database answers again.");
    m->db_failing = 0;
    return 0;
}

static void respond(httpd_response *resp, int status, const char *type, const char *text)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = strdup(text);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
}

static void refuse(mploc *m, const httpd_request *req, httpd_response *resp, int status,
                   const char *why)
{
    log_msg("ERROR: MP LM: Rejected a WSUS location request from %s: %s.", req->remote_addr, why);
    /* The status message rows need the connection; without it the line is still logged. */
    ensure_db(m);
    report(m, 8340, 'E', req->remote_addr, why, NULL);
    char text[400];
    snprintf(text, sizeof text, "malformed WSUS location request: %s\n", why);
    respond(resp, status, "text/plain; charset=utf-8", text);
}

/* A body over the cap, refused by the server before the handler: the same line and message. */
static void on_refused(void *ud, const char *method, const char *url, const char *remote_addr,
                       int status)
{
    mploc *m = ud;
    (void)method;
    if (status != 413)
        return;
    log_msg("ERROR: MP LM: Rejected a WSUS location request from %s: the request is larger "
            "than 64 KB (%s).",
            remote_addr, url);
    ensure_db(m);
    report(m, 8340, 'E', remote_addr, "the request is larger than 64 KB", NULL);
}

void mploc_handle(void *ud, const httpd_request *req, httpd_response *resp)
{
    mploc *m = ud;
    wsusloc_request lr;
    wsusloc_reply reply;
    char why[256], out[8192];

    if (strcmp(req->url, MPLOC_PATH) != 0) {
        respond(resp, 404, "text/plain; charset=utf-8", "not found\n");
        return;
    }
    if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "CCM_POST") != 0) {
        respond(resp, 405, "text/plain; charset=utf-8", "POST a WSUSLocationRequest here\n");
        return;
    }
    if (req->body_len > WSUSLOC_MAX_REQUEST) {
        refuse(m, req, resp, 413, "the request is larger than 64 KB");
        return;
    }
    /* The body as one log line: without its trailing line break, and cut when long. */
    size_t shown = req->body_len;
    while (shown && (req->body[shown - 1] == '\n' || req->body[shown - 1] == '\r'))
        shown--;
    log_verbose("MP LM: Message Body : %.*s%s", (int)(shown < LOG_BODY_MAX ? shown : LOG_BODY_MAX),
                req->body, shown > LOG_BODY_MAX ? "..." : "");
    if (wsusloc_parse_request(req->body, req->body_len, &lr, why, sizeof why) < 0) {
        refuse(m, req, resp, 400, why);
        return;
    }
    log_verbose("MP LM: calling MP_GetWSUSServerLocations");
    if (lookup(m, &lr, &reply) < 0) {
        respond(resp, 503, "text/plain; charset=utf-8",
                "the site database is not available; try again later\n");
        return;
    }
    if (wsusloc_reply_xml(&reply, out, sizeof out) < 0) {
        respond(resp, 500, "text/plain; charset=utf-8", "reply too large\n");
        return;
    }
    log_verbose("MP LM: Reply message body:\n%s", out);
    if (reply.n == 0) {
        wsusloc_explain(&lr, &reply, why, sizeof why);
        log_msg("MP LM: No WSUS location for update source %s version %lld: %s", lr.content_id,
                lr.version, why);
    }
    respond(resp, 200, "text/xml; charset=utf-8", out);
}

void mploc_stop(mploc *m)
{
    if (!m)
        return;
    httpd_stop(m->h);
    db_close(m->d);
    free(m->connection);
    free(m->site);
    free(m->server);
    free(m->component);
    free(m);
}

int mploc_start(mploc **out, const mploc_config *cfg)
{
    mploc *m = calloc(1, sizeof *m);
    int ret;
    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->connection = strdup(cfg->connection ? cfg->connection : "");
    m->site = strdup(cfg->site ? cfg->site : "");
    m->server = strdup(cfg->server ? cfg->server : "");
    m->component = strdup(cfg->component ? cfg->component : "MP_LocationManager");
    if (!m->connection || !m->site || !m->server || !m->component) {
        mploc_stop(m);
        return -ENOMEM;
    }
    /* libxml2 is initialised here, in the caller's thread, before the listener parses. */
    xmlInitParser();
    httpd_config hc = {.bind_addr = "127.0.0.1",
                       .port = cfg->port,
                       .max_body = WSUSLOC_MAX_REQUEST,
                       .refused = on_refused};
    if ((ret = httpd_start(&m->h, &hc, mploc_handle, m)) < 0) {
        mploc_stop(m);
        return ret;
    }
    *out = m;
    return 0;
}

int mploc_port(const mploc *m)
{
    return httpd_port(m->h);
}
