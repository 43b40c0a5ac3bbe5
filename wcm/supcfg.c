/*
 * supcfg.c - one software update point's configuration pass through the
 * WSUS administration API (see supcfg.h).  The lines "Attempting connection
 * to WSUS server: ...", "Successfully connected to server: ..." and
 * "Subscribed Update Categories ..." are the documents' (seed 004, WSUS
 * Configuration Manager); the advice on failure quotes seed 004's
 * troubleshooting steps.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "log.h"
#include "supcfg.h"
#include "wsusapi.h"

/* The next number of a dotted version; anything after a non-numeric part is ignored. */
static long next_part(const char **p)
{
    char *end;
    if (!**p)
        return 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || (*end && *end != '.')) {
        *p += strlen(*p);
        return end == *p ? 0 : v;
    }
    *p = *end == '.' ? end + 1 : end;
    return v;
}

int supcfg_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        long x = next_part(&a), y = next_part(&b);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* Seed 004, "Synchronization fails because of authentication and proxy issues" and
 * "... because of Web Service issues": the steps that fit the failure. */
static const char step_service[] =
    "Verify that the Update Services service is running on the WSUS computer. Verify that the "
    "Default Website or WSUS Administration website is running on the WSUS computer.";
static const char step_ports[] =
    "Check the port settings configured for the Software Update Point and verify that they are "
    "the same as the port settings that are configured for the website used by WSUS on the "
    "Software Update Point";
static const char step_fqdn[] =
    "Verify that the fully qualified domain name (FQDN) for the software Update Point site "
    "system server is correct and accessible from the Site Server";
static const char step_account[] =
    "Verify that the Software Update Point connection account is configured (if required) and "
    "that it has the permissions to connect to the WSUS computer";
static const char step_vdir[] =
    "Verify that the permissions on the ApiRemoting30 Virtual Directory are set correctly.";
static const char step_proxy[] =
    "Verify that the proxy configuration and account for the Software Update Point is correct.";
static const char step_ssl[] =
    "If the Software Update Point is configured for SSL (HTTPS), verify that WSUS is correctly "
    "configured for SSL. Verify that the certificate configured for the WSUS website is "
    "configured with the correct FQDN";
static const char step_wsusctrl[] = "Review wsusd.log (WSUSCtrl.log) on the WSUS computer for "
                                    "errors.";

void supcfg_advice(int code, int http_status, int setting, const desired_sup *s, char *buf,
                   size_t len)
{
    switch (code) {
    case SOAP_ECONNECT:
        snprintf(buf, len, "%s %s (port %d, SSL port %d, useSSL: %s).", step_service, step_ports,
                 s->port, s->ssl_port, desired_bool(s->use_ssl));
        return;
    case SOAP_ERESOLVE:
        snprintf(buf, len, "%s (%s).", step_fqdn, s->server);
        return;
    case SOAP_EUNAUTHORIZED:
        snprintf(buf, len, "%s (connection account: %s). %s", step_account,
                 s->account[0] ? s->account : "none, the site server's own identity", step_vdir);
        return;
    case SOAP_ETLS:
        snprintf(buf, len, "%s (%s) and that it has not expired.", step_ssl, s->server);
        return;
    case SOAP_EBADRESPONSE:
        snprintf(buf, len,
                 "%s (port %d, SSL port %d, useSSL: %s); the server did not answer as the WSUS "
                 "administration API (ApiRemoting30).",
                 step_ports, s->port, s->ssl_port, desired_bool(s->use_ssl));
        return;
    case SOAP_EFAULT:
        if (setting)
            snprintf(buf, len,
                     "The WSUS server rejected the setting. Check the properties of the software "
                     "update point (SoftwareUpdatePoints) and the software update point "
                     "component settings (Sync Source, Upstream Server, Languages, the products "
                     "and classifications of `cmsite subscribe`). %s",
                     step_wsusctrl);
        else
            snprintf(buf, len, "%s", step_wsusctrl);
        return;
    case SOAP_EHTTP:
        if (http_status == 403) {
            snprintf(buf, len, "%s (connection account: %s). %s", step_account,
                     s->account[0] ? s->account : "none", step_vdir);
            return;
        }
        if (http_status == 407 || http_status == 502) {
            snprintf(buf, len, "%s", step_proxy);
            return;
        }
        /* 500, 503 and the rest are web service issues. */
        break;
    default:
        break;
    }
    snprintf(buf, len, "%s %s (port %d, SSL port %d, useSSL: %s). %s", step_service, step_ports,
             s->port, s->ssl_port, desired_bool(s->use_ssl), step_wsusctrl);
}

static void add_summary(supcfg_result *r, const char *what)
{
    size_t n = strlen(r->summary);
    snprintf(r->summary + n, sizeof r->summary - n, "%s%s", n ? ", " : "", what);
}

/* Log the failure with what to check; the caller records the state. */
static void fail(supcfg_result *r, const desired_sup *s, wsusapi *c, int code, int setting,
                 const char *what)
{
    r->ok = 0;
    r->code = code;
    snprintf(r->error, sizeof r->error, "%s",
             c && wsusapi_error(c)[0] ? wsusapi_error(c) : cm_strerror(code));
    supcfg_advice(code, c ? wsusapi_http_status(c) : 0, setting, s, r->advice, sizeof r->advice);
    log_msg("ERROR: %s on WSUS server %s, %s failed: %s", what, s->server, r->where, r->error);
    log_msg("Steps to try: %s", r->advice);
    log_msg("Remote configuration failed on WSUS Server.");
}

static void log_changes(const desired_changes *ch, size_t from)
{
    for (size_t i = from; i < ch->n; i++)
        log_msg("%s", ch->line[i]);
    if (ch->dropped)
        log_msg("... and %zu more change(s)", ch->dropped);
}

void supcfg_run(const desired_input *in, size_t idx, const supcfg_opts *o, supcfg_result *r)
{
    const desired_sup *s = &in->sups[idx];
    wsusapi_config want, cur, merged;
    wsusapi_subscription sub_cur, sub_new;
    wsusapi_target t = {0};
    desired_changes ch = {0};
    wsusapi *c = NULL;
    char why[1024];
    int port = s->use_ssl ? s->ssl_port : s->port;
    int ret, n;

    memset(r, 0, sizeof *r);
    memset(&sub_cur, 0, sizeof sub_cur);
    memset(&sub_new, 0, sizeof sub_new);
    snprintf(r->where, sizeof r->where, "port: %d, useSSL: %s", port, desired_bool(s->use_ssl));

    /* What the site says comes first: a site setting that makes no sense is not sent. */
    if ((ret = desired_config(in, idx, &want, why, sizeof why)) < 0) {
        r->code = ret;
        snprintf(r->error, sizeof r->error, "%s", why);
        snprintf(r->advice, sizeof r->advice,
                 "Correct the software update point component settings (cmsite config "
                 "SMS_WSUS_SYNC_MANAGER) or the SoftwareUpdatePoints rows of the site.");
        log_msg("ERROR: Cannot compute the configuration of WSUS server %s: %s", s->server, why);
        log_msg("Steps to try: %s", r->advice);
        return;
    }
    desired_upstream_text(&want, r->upstream, sizeof r->upstream);

    log_msg("Attempting connection to WSUS server: %s, port: %d, useSSL: %s", s->server, port,
            desired_bool(s->use_ssl));
    t.host = s->server;
    t.port = port;
    t.use_ssl = s->use_ssl;
    t.user = s->account[0] ? s->account : NULL;
    t.password = s->password;
    t.timeout_s = o->timeout_s;
    t.ca_file = o->ca_file && *o->ca_file ? o->ca_file : NULL;
    t.insecure = o->insecure;
    if ((ret = wsusapi_connect(&c, &t)) < 0) {
        fail(r, s, c, ret, 0, "Connecting");
        goto done;
    }
    log_msg("Successfully connected to server: %s, port: %d, useSSL: %s", s->server, port,
            desired_bool(s->use_ssl));

    if ((ret = wsusapi_server_version(c, r->version, sizeof r->version)) < 0) {
        fail(r, s, c, ret, 0, "Reading the server version");
        goto done;
    }
    if (supcfg_version_cmp(r->version, SUPCFG_MIN_VERSION) < 0) {
        r->code = CM_ERANGE;
        snprintf(r->error, sizeof r->error,
                 "WSUS version %s is not supported (min WSUS 3.0 SP2 + KB2720211 + KB2734608, "
                 "%s)",
                 r->version, SUPCFG_MIN_VERSION);
        snprintf(r->advice, sizeof r->advice,
                 "Update WSUS on %s to a supported version (see \"How to check WSUS server "
                 "version\").",
                 s->server);
        log_msg("ERROR: %s on WSUS server %s", r->error, s->server);
        log_msg("Steps to try: %s", r->advice);
        log_msg("Remote configuration failed on WSUS Server.");
        goto done;
    }
    log_verbose("WSUS server %s reports version %s.", s->server, r->version);

    /* Upstream, replica mode, proxy, languages. */
    log_msg("Verify Upstream Server settings on the Active WSUS Server");
    if ((ret = wsusapi_get_config(c, &cur)) < 0) {
        fail(r, s, c, ret, 0, "Reading the configuration");
        goto done;
    }
    n = desired_config_diff(&cur, &want, o->send_proxy_password, &merged, &ch);
    if (n > 0) {
        log_msg("Updating the configuration of WSUS server %s (%d change%s):", s->server, n,
                n == 1 ? "" : "s");
        log_changes(&ch, 0);
        if ((ret = wsusapi_set_config(c, &merged)) < 0) {
            fail(r, s, c, ret, 1, "Changing the configuration");
            goto done;
        }
        r->proxy_password_sent = merged.proxy_password[0] != '\0';
        r->nchanges += n;
        for (size_t i = 0; i < ch.n; i++)
            add_summary(r, ch.what[i]);
        log_msg("Successfully updated the configuration of WSUS server %s; upstream is %s",
                s->server, r->upstream);
    } else {
        log_msg("No changes - WSUS Server settings are correctly configured and Upstream Server "
                "is set to %s",
                r->upstream);
    }

    /* Products and classifications. */
    char *xml = desired_categories_xml(in->cats, in->ncats);
    log_msg("Subscribed Update Categories %s", xml ? xml : "(out of memory)");
    free(xml);
    if ((ret = wsusapi_get_subscription(c, &sub_cur)) < 0) {
        fail(r, s, c, ret, 0, "Reading the subscription");
        goto done;
    }
    size_t from = ch.n;
    n = desired_subscription_diff(&sub_cur, in->cats, in->ncats, o->known, o->nknown, &sub_new,
                                  &ch);
    if (n < 0) {
        r->code = n;
        snprintf(r->error, sizeof r->error, "%s", cm_strerror(n));
        log_msg("ERROR: %s", r->error);
        goto done;
    }
    if (n > 0) {
        log_msg("Updating the subscription of WSUS server %s (%d change%s):", s->server, n,
                n == 1 ? "" : "s");
        log_changes(&ch, from);
        if ((ret = wsusapi_set_subscription(c, &sub_new)) < 0) {
            fail(r, s, c, ret, 1, "Changing the subscription");
            goto done;
        }
        r->nchanges += n;
        add_summary(r, "subscription");
        log_msg("Successfully updated the subscription of WSUS server %s: %zu product(s), %zu "
                "classification(s)",
                s->server, sub_new.nproducts, sub_new.nclassifications);
    } else {
        log_verbose("The subscription of WSUS server %s is current.", s->server);
    }
    r->ok = 1;
done:
    wsusapi_subscription_free(&sub_cur);
    wsusapi_subscription_free(&sub_new);
    wsusapi_close(c);
}
