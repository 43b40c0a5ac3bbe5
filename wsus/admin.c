/*
 * admin.c - the WSUS administration API (/ApiRemoting30/WebService.asmx):
 * one function per MS-WSUSAR operation, dispatched on the first element of
 * the SOAP body.  The messages are wsusapi.h's, shared with the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "log.h"
#include "susdb.h"
#include "wsusd.h"
#include "wsusss.h"

/* What one operation produced: a response body or a fault. */
typedef struct admin_call {
    wsusd *w;
    db *d;
    const httpd_request *req;
    xmlNode *op;
    soap_buf out;
    const char *faultcode;
    char fault[512];
} admin_call;

static int fault(admin_call *c, const char *code, const char *fmt, const char *arg)
{
    c->faultcode = code;
    snprintf(c->fault, sizeof c->fault, fmt, arg ? arg : "");
    return -1;
}

static int db_fault(admin_call *c, int ret)
{
    web_db_check(c->d, ret);
    log_msg("AdminDataAccess: a database call failed: %s", db_errmsg(c->d));
    return fault(c, "soap:Server", "The WSUS database could not be read or written: %s",
                 db_errmsg(c->d));
}

static void scalar(admin_call *c, const char *op, const char *value)
{
    wsusapi_response_begin(&c->out, op, 1);
    soap_buf_escape(&c->out, value);
    wsusapi_response_end(&c->out, op, 1);
}

static void empty(admin_call *c, const char *op)
{
    wsusapi_response_begin(&c->out, op, 0);
    wsusapi_response_end(&c->out, op, 0);
}

/* The first enabled update language, for titles. */
static void first_language(admin_call *c, char *buf, size_t len)
{
    wsusapi_config cfg;
    snprintf(buf, len, "en");
    if (susdb_config_load(c->d, &cfg) == 0 && cfg.languages[0]) {
        snprintf(buf, len, "%s", cfg.languages);
        buf[strcspn(buf, ",")] = '\0';
    }
}

static int op_protocol_version(admin_call *c)
{
    scalar(c, "GetServerProtocolVersion", WSUSAPI_PROTOCOL_VERSION);
    return 0;
}

static int op_server_version(admin_call *c)
{
    scalar(c, "GetServerVersion", WSUSAPI_SERVER_VERSION);
    return 0;
}

static int op_get_config(admin_call *c)
{
    wsusapi_config cfg;
    int ret = susdb_config_load(c->d, &cfg);
    if (ret < 0)
        return db_fault(c, ret);
    cfg.proxy_password[0] = '\0'; /* write-only */
    cfg.server_port = c->w->http.h ? httpd_port(c->w->http.h) : c->w->port;
    cfg.use_ssl = c->w->https.h != NULL;
    wsusapi_response_begin(&c->out, "ExecuteSPGetConfiguration", 1);
    soap_buf_puts(&c->out, "<Configuration>");
    wsusapi_config_write(&c->out, &cfg);
    soap_buf_puts(&c->out, "</Configuration>");
    wsusapi_response_end(&c->out, "ExecuteSPGetConfiguration", 1);
    return 0;
}

static const char *source_text(const wsusapi_config *cfg, char *buf, size_t len)
{
    if (cfg->source == WSUSAPI_SOURCE_UPSTREAM)
        snprintf(buf, len, "upstream server %s:%d%s", cfg->upstream_server, cfg->upstream_port,
                 cfg->upstream_ssl ? " (SSL)" : "");
    else if (cfg->source == WSUSAPI_SOURCE_OFFLINE)
        snprintf(buf, len, "offline catalog %s", cfg->offline_path);
    else
        snprintf(buf, len, "Microsoft Update (%s)", cfg->mu_url);
    return buf;
}

static int op_set_config(admin_call *c)
{
    wsusapi_config cfg;
    char src[1200];
    int ret = wsusapi_config_read(soap_child(c->op, "configuration"), &cfg);
    if (ret < 0)
        return fault(c, "soap:Client", "The configuration is not valid: %s",
                     ret == CM_ERANGE ? "a port is out of range"
                                      : "a required setting is missing or malformed");
    ret = susdb_config_save(c->d, &cfg);
    if (ret == CM_ERANGE)
        return fault(c, "soap:Client", "The configuration is not valid: %s",
                     "an update language is not known to this server");
    if (ret < 0)
        return db_fault(c, ret);
    log_msg("AdminDataAccess.SetConfiguration Configuration changed by %s: sync from %s%s, "
            "languages %s",
            c->req->user ? c->req->user : "(anonymous)", source_text(&cfg, src, sizeof src),
            cfg.replica_mode ? " as a replica" : "", cfg.languages);
    empty(c, "ExecuteSPSetConfiguration");
    return 0;
}

static int op_get_subscription(admin_call *c)
{
    wsusapi_subscription sub;
    int ret = susdb_subscription_load(c->d, &sub);
    if (ret < 0)
        return db_fault(c, ret);
    wsusapi_response_begin(&c->out, "GetSubscription", 1);
    wsusapi_subscription_write(&c->out, &sub);
    wsusapi_response_end(&c->out, "GetSubscription", 1);
    wsusapi_subscription_free(&sub);
    return 0;
}

static int op_set_subscription(admin_call *c)
{
    wsusapi_subscription sub;
    int ret = wsusapi_subscription_read(soap_child(c->op, "subscription"), &sub);
    if (ret < 0)
        return fault(c, "soap:Client", "The subscription is not valid: %s",
                     ret == CM_ERANGE ? "the schedule is out of range"
                                      : "a category ID is not a GUID");
    ret = susdb_subscription_save(c->d, &sub, c->req->user ? c->req->user : "");
    if (ret < 0) {
        wsusapi_subscription_free(&sub);
        return db_fault(c, ret);
    }
    log_msg("AdminDataAccess.SetSubscription Subscription changed by %s: %zu product(s), %zu "
            "classification(s), automatic synchronization %s",
            c->req->user ? c->req->user : "(anonymous)", sub.nproducts, sub.nclassifications,
            sub.sync_automatically ? "on" : "off");
    wsusapi_subscription_free(&sub);
    empty(c, "SetSubscription");
    return 0;
}

static int op_start(admin_call *c)
{
    int ret = sync_start(c->w, 1);
    if (ret < 0)
        return fault(c, "soap:Server", "The synchronization could not be started: %s",
                     cm_strerror(ret));
    if (ret == 0)
        log_msg("AdminDataAccess.StartSubscriptionManually Synchronization manually started");
    else
        log_msg("AdminDataAccess.StartSubscriptionManually A synchronization is already running");
    empty(c, "StartSubscriptionManually");
    return 0;
}

static int op_stop(admin_call *c)
{
    sync_request_stop(c->w);
    log_msg("AdminDataAccess.StopSubscription Synchronization stop requested");
    empty(c, "StopSubscription");
    return 0;
}

static int op_state(admin_call *c)
{
    wsusd_sync_status st;
    char v[8];
    sync_get_status(c->w, &st);
    snprintf(v, sizeof v, "%d",
             !st.running         ? WSUSAPI_SYNC_NOT_PROCESSING
             : st.stop_requested ? WSUSAPI_SYNC_STOPPING
                                 : WSUSAPI_SYNC_RUNNING);
    scalar(c, "GetSubscriptionState", v);
    return 0;
}

static int op_progress(admin_call *c)
{
    wsusd_sync_status st;
    sync_get_status(c->w, &st);
    wsusapi_response_begin(&c->out, "GetServerSyncProgress", 1);
    wsusapi_row_begin(&c->out);
    wsusapi_row_int(&c->out, st.running ? st.phase : WSUSAPI_PHASE_NOT_PROCESSING);
    wsusapi_row_int(&c->out, st.running ? st.total : 0);
    wsusapi_row_int(&c->out, st.running ? st.processed : 0);
    wsusapi_row_end(&c->out);
    wsusapi_response_end(&c->out, "GetServerSyncProgress", 1);
    return 0;
}

static int op_last_sync(admin_call *c)
{
    wsusapi_sync_info info;
    int ret = susdb_last_sync_load(c->d, &info);
    if (ret < 0)
        return db_fault(c, ret);
    wsusapi_response_begin(&c->out, "GetLastSynchronizationInfo", 1);
    wsusapi_sync_info_write(&c->out, &info);
    wsusapi_response_end(&c->out, "GetLastSynchronizationInfo", 1);
    return 0;
}

static int op_categories(admin_call *c)
{
    wsusapi_category *v;
    size_t n;
    char lang[32];
    first_language(c, lang, sizeof lang);
    int ret = susdb_categories(c->d, lang, &v, &n);
    if (ret < 0)
        return db_fault(c, ret);
    wsusapi_response_begin(&c->out, "ExecuteSPGetCategories", 1);
    for (size_t i = 0; i < n; i++) {
        wsusapi_row_begin(&c->out);
        wsusapi_row_str(&c->out, v[i].id);
        wsusapi_row_str(&c->out, v[i].type);
        wsusapi_row_str(&c->out, v[i].title);
        wsusapi_row_str(&c->out, v[i].parent_id[0] ? v[i].parent_id : NULL);
        wsusapi_row_int(&c->out, v[i].revision);
        wsusapi_row_time(&c->out, v[i].arrival_time);
        wsusapi_row_end(&c->out);
    }
    wsusapi_response_end(&c->out, "ExecuteSPGetCategories", 1);
    free(v);
    return 0;
}

/* The updateId parameter as a lower-case GUID. */
static int update_id_param(admin_call *c, char id[37])
{
    char buf[128];
    soap_child_text(c->op, "updateId", buf, sizeof buf, "");
    if (wsusss_guid_parse(buf, id) < 0)
        return fault(c, "soap:Client", "The update ID '%s' is not a GUID.", buf);
    return 0;
}

static int op_update_by_id(admin_call *c)
{
    wsusapi_update u;
    char id[37], lang[32];
    if (update_id_param(c, id) < 0)
        return -1;
    first_language(c, lang, sizeof lang);
    int ret = susdb_update_by_id(c->d, id, lang, &u);
    if (ret == CM_ENOTFOUND)
        return fault(c, "soap:Client", "The update could not be found: %s.", id);
    if (ret < 0)
        return db_fault(c, ret);
    wsusapi_response_begin(&c->out, "ExecuteSPGetUpdateById", 1);
    wsusapi_row_begin(&c->out);
    wsusapi_row_str(&c->out, u.id);
    wsusapi_row_int(&c->out, u.revision);
    wsusapi_row_str(&c->out, u.update_type);
    wsusapi_row_str(&c->out, u.title);
    wsusapi_row_str(&c->out, u.kb_article);
    wsusapi_row_str(&c->out, u.msrc_severity);
    wsusapi_row_time(&c->out, u.creation_date);
    wsusapi_row_time(&c->out, u.arrival_time);
    wsusapi_row_bool(&c->out, u.is_expired);
    wsusapi_row_bool(&c->out, u.is_superseded);
    wsusapi_row_str(&c->out, u.classification_id[0] ? u.classification_id : NULL);
    wsusapi_row_end(&c->out);
    wsusapi_response_end(&c->out, "ExecuteSPGetUpdateById", 1);
    return 0;
}

static int op_update_xml(admin_call *c)
{
    char id[37], *xml;
    size_t len;
    if (update_id_param(c, id) < 0)
        return -1;
    int ret = susdb_update_xml(c->d, id, &xml, &len);
    if (ret == CM_ENOTFOUND)
        return fault(c, "soap:Client", "The update could not be found: %s.", id);
    if (ret < 0)
        return db_fault(c, ret);
    wsusapi_response_begin(&c->out, "ExecuteSPGetXmlForUpdate", 1);
    soap_buf_escapen(&c->out, xml, len);
    wsusapi_response_end(&c->out, "ExecuteSPGetXmlForUpdate", 1);
    free(xml);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(admin_call *c);
} ops[] = {
    {"GetServerProtocolVersion", op_protocol_version},
    {"GetServerVersion", op_server_version},
    {"ExecuteSPGetConfiguration", op_get_config},
    {"ExecuteSPSetConfiguration", op_set_config},
    {"GetSubscription", op_get_subscription},
    {"SetSubscription", op_set_subscription},
    {"StartSubscriptionManually", op_start},
    {"StopSubscription", op_stop},
    {"GetSubscriptionState", op_state},
    {"GetServerSyncProgress", op_progress},
    {"GetLastSynchronizationInfo", op_last_sync},
    {"ExecuteSPGetCategories", op_categories},
    {"ExecuteSPGetUpdateById", op_update_by_id},
    {"ExecuteSPGetXmlForUpdate", op_update_xml},
};

void admin_handle(wsusd *w, db *d, const httpd_request *req, httpd_response *resp)
{
    admin_call c = {.w = w, .d = d, .req = req};
    xmlDoc *doc = NULL;
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
        if (strcmp(ops[i].name, name) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0] || strcmp(ns, WSUSAPI_NS) != 0) {
        char what[300];
        snprintf(what, sizeof what, "%s%s%s", ns, *ns ? "/" : "", name);
        log_msg("SoapUtilities.ThrowException Unknown operation %s requested by %s on %s; "
                "answered with a SOAP fault.",
                what, req->remote_addr, req->url);
        c.faultcode = "soap:Client";
        snprintf(c.fault, sizeof c.fault,
                 "Server did not recognize the value of HTTP Header SOAPAction: %s.",
                 req->soap_action ? req->soap_action : what);
        ret = -1;
    } else {
        ret = ops[i].fn(&c);
        if (ret < 0)
            log_msg("SoapUtilities.ThrowException %s from %s failed: %s", name, req->remote_addr,
                    c.fault);
    }
    if (ret < 0)
        wsusd_fault(resp, c.faultcode ? c.faultcode : "soap:Server", c.fault, NULL, NULL);
    else
        wsusd_xml(resp, &c.out);
    soap_buf_free(&c.out);
    xmlFreeDoc(doc);
}
