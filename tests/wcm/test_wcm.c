/*
 * test_wcm.c - unit tests of WSUS Configuration Manager's rules and its
 * site database access:
 *   desired   the configuration each SUP must have (top-level site with
 *             each sync source, child primary, secondary, replicas, a
 *             missing parent SUP, bad settings), proxy and languages, the
 *             differences to a SUP's settings and subscription, the
 *             fingerprint, the wording of waits and states, the advice on
 *             failures (the documents' troubleshooting steps)
 *   xml       the "Subscribed Update Categories" line against the
 *             document's WCM.log line, CDATA and escaping of hostile names
 *   sitedb    the reads and writes on a real database (SQLite, or
 *             PostgreSQL under tests/with-postgres.sh): hierarchy, SUPs in
 *             install order, the parent's first SUP, settings, subscribed
 *             categories with their English names, states and versions
 * Run one group by name: wcm-unit GROUP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cm_error.h"
#include "config.h"
#include "db.h"
#include "desired.h"
#include "log.h"
#include "schema.h"
#include "sitedb.h"
#include "supcfg.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static desired_sup sup(long long id, const char *site, const char *server, int port, int ssl)
{
    desired_sup s;
    memset(&s, 0, sizeof s);
    s.id = id;
    snprintf(s.site, sizeof s.site, "%s", site);
    snprintf(s.server, sizeof s.server, "%s", server);
    s.port = port;
    s.ssl_port = port + 1;
    s.use_ssl = ssl;
    s.install_order = (int)id;
    return s;
}

/* A site with n SUPs (the caller's array) and the given type and parent. */
static desired_input site(const char *code, const char *type, const char *parent, desired_sup *sups,
                          size_t n)
{
    desired_input in;
    memset(&in, 0, sizeof in);
    snprintf(in.site.code, sizeof in.site.code, "%s", code);
    snprintf(in.site.type, sizeof in.site.type, "%s", type);
    snprintf(in.site.parent, sizeof in.site.parent, "%s", parent);
    in.sups = sups;
    in.nsups = n;
    snprintf(in.sync.source, sizeof in.sync.source, "MicrosoftUpdate");
    snprintf(in.sync.languages, sizeof in.sync.languages, "en");
    return in;
}

static desired_category cat(const char *uid, const char *title)
{
    desired_category c;
    memset(&c, 0, sizeof c);
    snprintf(c.unique_id, sizeof c.unique_id, "%s", uid);
    assert_int_equal(desired_category_parse(uid, c.type, sizeof c.type, c.guid), 0);
    snprintf(c.title, sizeof c.title, "%s", title);
    return c;
}

/* The six categories of the document's WCM.log, in its order. */
#define P_2012 "Product:a105a108-7c9b-4518-bbbe-73f0fe30012b"
#define P_2008R2 "Product:fdfe8200-9d98-44ba-a12a-772282bf60ef"
#define C_SEC "UpdateClassification:0fa1201d-4330-4fa8-8ae9-b877473b6441"
#define C_ROLLUP "UpdateClassification:28bc880e-0592-4cbf-8f95-c79b17911d5f"
#define C_UPD "UpdateClassification:cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83"
#define C_CRIT "UpdateClassification:e6cf1350-c01b-414d-a61f-263d14d133b4"

static const struct {
    const char *uid, *title;
} doc_cats[] = {
    {P_2012, "Windows Server 2012"},
    {P_2008R2, "Windows Server 2008 R2"},
    {C_SEC, "Security Updates"},
    {C_ROLLUP, "Update Rollups"},
    {C_UPD, "Updates"},
    {C_CRIT, "Critical Updates"},
};

static char *strdup_or_die(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------------------ */
/* desired                                                             */
/* ------------------------------------------------------------------ */

static void test_states_and_words(void **state)
{
    (void)state;
    assert_string_equal(desired_state_name(0), "WSUS_CONFIG_NONE");
    assert_string_equal(desired_state_name(1), "WSUS_CONFIG_PENDING");
    assert_string_equal(desired_state_name(2), "WSUS_CONFIG_SUCCESS");
    assert_string_equal(desired_state_name(3), "WSUS_CONFIG_FAILED");
    assert_string_equal(desired_state_name(4), "WSUS_CONFIG_SUBSCRIPTION_PENDING");
    assert_string_equal(desired_bool(0), "False");
    assert_string_equal(desired_bool(7), "True");
    char buf[64];
    desired_wait_text(60, buf, sizeof buf);
    assert_string_equal(buf, "1 minute"); /* the document's "Will wait for 1 minute" */
    desired_wait_text(120, buf, sizeof buf);
    assert_string_equal(buf, "2 minutes");
    desired_wait_text(1, buf, sizeof buf);
    assert_string_equal(buf, "1 second");
    desired_wait_text(90, buf, sizeof buf);
    assert_string_equal(buf, "90 seconds");
    desired_wait_text(0, buf, sizeof buf);
    assert_string_equal(buf, "0 seconds");
}

static void test_category_parse(void **state)
{
    char type[32], guid[40];
    (void)state;
    assert_int_equal(desired_category_parse(P_2012, type, sizeof type, guid), 0);
    assert_string_equal(type, "Product");
    assert_string_equal(guid, "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    assert_int_equal(desired_category_parse("UpdateClassification:{E6CF1350-C01B-414D-A61F-"
                                            "263D14D133B4}",
                                            type, sizeof type, guid),
                     0);
    assert_string_equal(type, "UpdateClassification");
    assert_string_equal(guid, "e6cf1350-c01b-414d-a61f-263d14d133b4");
    const char *bad[] = {"Locale:9",
                         "Product",
                         ":a105a108-7c9b-4518-bbbe-73f0fe30012b",
                         "Product:a105a108-7c9b-4518-bbbe-73f0fe30012",
                         "Product:a105a108x7c9b-4518-bbbe-73f0fe30012b",
                         "Pro duct:a105a108-7c9b-4518-bbbe-73f0fe30012b",
                         "Product:a105a108-7c9b-4518-bbbe-73f0fe30012b'--",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(desired_category_parse(bad[i], type, sizeof type, guid), CM_EPARSE);
}

static void test_top_level_sources(void **state)
{
    desired_sup s[1] = {sup(1, "CS1", "cs1site.contoso.com", 8530, 0)};
    desired_input in = site("CS1", "CAS", "", s, 1);
    wsusapi_config c;
    char why[512], text[512];
    (void)state;

    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_MU);
    assert_int_equal(c.replica_mode, 0);
    assert_int_equal(c.use_proxy, 0);
    assert_string_equal(c.languages, "en");
    assert_int_equal(c.all_languages, 0);
    desired_upstream_text(&c, text, sizeof text);
    assert_string_equal(text, "Microsoft Update");

    /* A primary without a parent is a top-level site too; the empty source means MU. */
    snprintf(in.site.type, sizeof in.site.type, "PRIMARY");
    in.sync.source[0] = '\0';
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_MU);

    snprintf(in.sync.source, sizeof in.sync.source, "UpstreamServer");
    snprintf(in.sync.upstream, sizeof in.sync.upstream, " wsus01.contoso.com:8531 ");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_UPSTREAM);
    assert_string_equal(c.upstream_server, "wsus01.contoso.com");
    assert_int_equal(c.upstream_port, 8531);
    assert_int_equal(c.upstream_ssl, 0);
    desired_upstream_text(&c, text, sizeof text);
    assert_string_equal(text, "wsus01.contoso.com, port: 8531, useSSL: False");

    snprintf(in.sync.upstream, sizeof in.sync.upstream, "https://wsus01.contoso.com/");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.upstream_port, 8531);
    assert_int_equal(c.upstream_ssl, 1);
    snprintf(in.sync.upstream, sizeof in.sync.upstream, "http://wsus01");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.upstream_port, 8530);
    assert_int_equal(c.upstream_ssl, 0);

    const char *bad[] = {"",         "wsus01:0", "wsus01:70000", "wsus01:80x",
                         "bad host", "a/b:80",   "wsus01:",      "'; DROP TABLE x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(in.sync.upstream, sizeof in.sync.upstream, "%s", bad[i]);
        assert_true(desired_config(&in, 0, &c, why, sizeof why) < 0);
        assert_non_null(strstr(why, "Upstream Server"));
    }

    snprintf(in.sync.source, sizeof in.sync.source, "OfflineCatalog");
    snprintf(in.sync.offline_path, sizeof in.sync.offline_path, "/srv/wsusscn2.cab");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_OFFLINE);
    assert_string_equal(c.offline_path, "/srv/wsusscn2.cab");
    in.sync.offline_path[0] = '\0';
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), CM_EPARSE);
    assert_non_null(strstr(why, "Offline Catalog Path"));

    snprintf(in.sync.source, sizeof in.sync.source, "Carrier pigeon");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), CM_EPARSE);
    assert_non_null(strstr(why, "'Carrier pigeon' is not one of MicrosoftUpdate"));
    assert_int_equal(desired_config(&in, 1, &c, why, sizeof why), CM_ENOTFOUND);
}

static void test_hierarchy(void **state)
{
    desired_sup ps1[3] = {sup(10, "PS1", "ps1site.contoso.com", 8530, 0),
                          sup(11, "PS1", "ps1sup2.contoso.com", 80, 0),
                          sup(12, "PS1", "ps1ibcm.contoso.com", 8530, 1)};
    desired_input in = site("PS1", "PRIMARY", "CS1", ps1, 3);
    wsusapi_config c;
    char why[512];
    (void)state;

    /* The parent site has no SUP: nothing to sync from. */
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), CM_ENOTFOUND);
    assert_non_null(strstr(why, "parent site CS1 has no software update point"));

    in.has_parent_sup = 1;
    in.parent_sup = sup(1, "CS1", "cs1site.contoso.com", 8530, 1);
    in.parent_sup.ssl_port = 8531;
    /* The child primary's first SUP syncs from the parent's first SUP, never as a replica,
     * on the parent's SSL port because the parent SUP uses SSL; the sync source setting is
     * the top-level site's business. */
    snprintf(in.sync.source, sizeof in.sync.source, "UpstreamServer");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_UPSTREAM);
    assert_string_equal(c.upstream_server, "cs1site.contoso.com");
    assert_int_equal(c.upstream_port, 8531);
    assert_int_equal(c.upstream_ssl, 1);
    assert_int_equal(c.replica_mode, 0);

    /* Other SUPs of the site: replicas of the site's first SUP. */
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(desired_config(&in, i, &c, why, sizeof why), 0);
        assert_int_equal(c.source, WSUSAPI_SOURCE_UPSTREAM);
        assert_string_equal(c.upstream_server, "ps1site.contoso.com");
        assert_int_equal(c.upstream_port, 8530);
        assert_int_equal(c.upstream_ssl, 0);
        assert_int_equal(c.replica_mode, 1);
    }

    /* A secondary site's SUP is a replica of the parent's first SUP. */
    desired_sup ss1[1] = {sup(20, "SS1", "ss1site.contoso.com", 8530, 0)};
    desired_input sec = site("SS1", "SECONDARY", "PS1", ss1, 1);
    sec.has_parent_sup = 1;
    sec.parent_sup = ps1[0];
    assert_int_equal(desired_config(&sec, 0, &c, why, sizeof why), 0);
    assert_string_equal(c.upstream_server, "ps1site.contoso.com");
    assert_int_equal(c.replica_mode, 1);
    /* A secondary site without a parent is a broken hierarchy, said as such. */
    sec.site.parent[0] = '\0';
    assert_int_equal(desired_config(&sec, 0, &c, why, sizeof why), CM_EPARSE);
    assert_non_null(strstr(why, "secondary site without a parent"));

    /* A top-level site's second SUP is a replica of its first, whatever the sync source. */
    desired_sup cs1[2] = {sup(1, "CS1", "cs1site.contoso.com", 8530, 0),
                          sup(2, "CS1", "cs1sup2.contoso.com", 8530, 0)};
    desired_input top = site("CS1", "CAS", "", cs1, 2);
    assert_int_equal(desired_config(&top, 1, &c, why, sizeof why), 0);
    assert_string_equal(c.upstream_server, "cs1site.contoso.com");
    assert_int_equal(c.replica_mode, 1);
}

static void test_proxy_and_languages(void **state)
{
    desired_sup s[1] = {sup(1, "CS1", "cs1site.contoso.com", 8530, 0)};
    desired_input in = site("CS1", "CAS", "", s, 1);
    wsusapi_config c;
    char why[512], buf[128];
    (void)state;

    s[0].use_proxy = 1;
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), CM_EPARSE);
    assert_non_null(strstr(why, "no proxy server name"));
    snprintf(s[0].proxy_name, sizeof s[0].proxy_name, " proxy.contoso.com ");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.use_proxy, 1);
    assert_string_equal(c.proxy_name, "proxy.contoso.com");
    assert_int_equal(c.proxy_port, 80);
    assert_string_equal(c.proxy_user, "");
    assert_string_equal(c.proxy_password, "");
    s[0].proxy_port = 8080;
    snprintf(s[0].proxy_account, sizeof s[0].proxy_account, "CONTOSO\\proxysvc");
    snprintf(s[0].proxy_password, sizeof s[0].proxy_password, "p@ss");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_int_equal(c.proxy_port, 8080);
    assert_string_equal(c.proxy_domain, "CONTOSO");
    assert_string_equal(c.proxy_user, "proxysvc");
    assert_string_equal(c.proxy_password, "p@ss");
    snprintf(s[0].proxy_account, sizeof s[0].proxy_account, "proxysvc@contoso.com");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_string_equal(c.proxy_domain, "");
    assert_string_equal(c.proxy_user, "proxysvc@contoso.com");
    s[0].proxy_port = 70000;
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), CM_ERANGE);

    desired_languages_canon("en, DE;fr en", buf, sizeof buf);
    assert_string_equal(buf, "de,en,fr");
    desired_languages_canon("", buf, sizeof buf);
    assert_string_equal(buf, "");
    s[0].use_proxy = 0;
    snprintf(in.sync.languages, sizeof in.sync.languages, "fr,en,fr");
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_string_equal(c.languages, "en,fr");
    in.sync.languages[0] = '\0';
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_string_equal(c.languages, "en");
}

static void test_config_diff(void **state)
{
    wsusapi_config cur, want, merged;
    desired_changes ch;
    (void)state;

    wsusapi_config_defaults(&cur);
    snprintf(cur.mu_url, sizeof cur.mu_url, "https://sws.update.microsoft.com");
    cur.server_port = 8530;
    want = cur;
    snprintf(want.mu_url, sizeof want.mu_url, "generated:");
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_config_diff(&cur, &want, 0, &merged, &ch), 0);
    assert_int_equal(ch.n, 0);
    /* What WCM does not manage stays as the server has it. */
    assert_string_equal(merged.mu_url, "https://sws.update.microsoft.com");

    /* Same upstream written differently is no change. */
    cur.source = want.source = WSUSAPI_SOURCE_UPSTREAM;
    snprintf(cur.upstream_server, sizeof cur.upstream_server, "CS1SITE.contoso.com");
    snprintf(want.upstream_server, sizeof want.upstream_server, "cs1site.CONTOSO.com");
    snprintf(cur.languages, sizeof cur.languages, "de,en");
    snprintf(want.languages, sizeof want.languages, "en,de");
    assert_int_equal(desired_config_diff(&cur, &want, 0, &merged, &ch), 0);

    /* Everything differs. */
    want.upstream_port = 8531;
    want.upstream_ssl = 1;
    want.replica_mode = 1;
    want.use_proxy = 1;
    snprintf(want.proxy_name, sizeof want.proxy_name, "proxy");
    want.proxy_port = 8080;
    snprintf(want.proxy_user, sizeof want.proxy_user, "svc");
    snprintf(want.proxy_domain, sizeof want.proxy_domain, "CONTOSO");
    snprintf(want.proxy_password, sizeof want.proxy_password, "secret");
    snprintf(want.languages, sizeof want.languages, "en");
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_config_diff(&cur, &want, 0, &merged, &ch), 4);
    assert_int_equal(ch.n, 4);
    assert_string_equal(ch.line[0], "Changing the upstream server from CS1SITE.contoso.com, port: "
                                    "8530, useSSL: False to cs1site.CONTOSO.com, port: 8531, "
                                    "useSSL: True");
    assert_string_equal(ch.what[0], "upstream server");
    assert_string_equal(ch.line[1], "Changing replica mode from False to True");
    assert_string_equal(ch.line[2], "Changing the proxy server from no proxy to proxy:8080 with "
                                    "account CONTOSO\\svc");
    assert_string_equal(ch.line[3], "Changing update languages from de,en to en");
    assert_int_equal(merged.upstream_port, 8531);
    assert_int_equal(merged.replica_mode, 1);
    assert_string_equal(merged.proxy_password, "secret"); /* a new account gets its password */
    assert_string_equal(merged.languages, "en");
    assert_string_equal(merged.mu_url, "https://sws.update.microsoft.com");

    /* The same proxy: the password is sent only when it may have changed. */
    cur = merged;
    cur.proxy_password[0] = '\0'; /* servers never return it */
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_config_diff(&cur, &want, 0, &merged, &ch), 0);
    assert_string_equal(merged.proxy_password, "");
    assert_int_equal(desired_config_diff(&cur, &want, 1, &merged, &ch), 1);
    assert_string_equal(ch.line[0], "Setting the password of proxy account CONTOSO\\svc");
    assert_string_equal(merged.proxy_password, "secret");

    /* Turning the proxy off clears its account; all languages back to the site's list. */
    want.use_proxy = 0;
    want.proxy_name[0] = want.proxy_user[0] = want.proxy_domain[0] = '\0';
    cur.all_languages = 1;
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_config_diff(&cur, &want, 1, &merged, &ch), 2);
    assert_string_equal(ch.line[0], "Changing the proxy server from proxy:8080 with account "
                                    "CONTOSO\\svc to no proxy");
    assert_string_equal(ch.line[1], "Changing update languages from all languages to en");
    assert_int_equal(merged.use_proxy, 0);
    assert_string_equal(merged.proxy_user, "");
    assert_string_equal(merged.proxy_password, "");
    assert_int_equal(merged.all_languages, 0);

    /* Back to Microsoft Update. */
    want.source = WSUSAPI_SOURCE_MU;
    memset(&ch, 0, sizeof ch);
    assert_true(desired_config_diff(&merged, &want, 0, &cur, &ch) >= 1);
    assert_string_equal(ch.line[0], "Changing the upstream server from cs1site.CONTOSO.com, port: "
                                    "8531, useSSL: True to Microsoft Update");
    assert_int_equal(cur.source, WSUSAPI_SOURCE_MU);
}

static void test_subscription_diff(void **state)
{
    wsusapi_subscription cur, merged;
    desired_changes ch;
    desired_category want[3], known[4];
    (void)state;

    want[0] = cat(P_2012, "Windows Server 2012");
    want[1] = cat(C_SEC, "Security Updates");
    want[2] = cat("ProductFamily:6964aab4-c5b5-43bd-a17d-ffb4346a8e1d", "Windows");
    known[0] = want[0];
    known[1] = want[1];
    known[2] = cat(P_2008R2, "Windows Server 2008 R2");
    known[3] = cat(C_CRIT, "Critical Updates");

    /* The server subscribes to 2008 R2, Critical Updates, something unknown, and syncs on
     * its own schedule. */
    memset(&cur, 0, sizeof cur);
    cur.sync_automatically = 1;
    cur.time_of_day_s = 3600;
    cur.syncs_per_day = 2;
    cur.nproducts = 2;
    cur.product_ids = calloc(2, sizeof(char *));
    cur.product_ids[0] = strdup_or_die("fdfe8200-9d98-44ba-a12a-772282bf60ef");
    cur.product_ids[1] = strdup_or_die("a105a108-7c9b-4518-bbbe-73f0fe30012b");
    cur.nclassifications = 2;
    cur.classification_ids = calloc(2, sizeof(char *));
    cur.classification_ids[0] = strdup_or_die("e6cf1350-c01b-414d-a61f-263d14d133b4");
    cur.classification_ids[1] = strdup_or_die("00000000-0000-0000-0000-000000000001");

    memset(&ch, 0, sizeof ch);
    int n = desired_subscription_diff(&cur, want, 3, known, 4, &merged, &ch);
    assert_int_equal(n, 6);
    assert_string_equal(ch.line[0], "Changing the synchronization schedule of the WSUS server "
                                    "from automatic to manual; the site starts every "
                                    "synchronization");
    assert_string_equal(ch.line[1], "Subscribing to " C_SEC " (Security Updates)");
    assert_string_equal(ch.line[2], "Subscribing to ProductFamily:6964aab4-c5b5-43bd-a17d-"
                                    "ffb4346a8e1d (Windows)");
    assert_string_equal(ch.line[3], "Unsubscribing from " P_2008R2 " (Windows Server 2008 R2)");
    assert_string_equal(ch.line[4], "Unsubscribing from " C_CRIT " (Critical Updates)");
    assert_string_equal(ch.line[5], "Unsubscribing from UpdateClassification:00000000-0000-0000-"
                                    "0000-000000000001");
    for (size_t i = 0; i < ch.n; i++)
        assert_string_equal(ch.what[i], "subscription");
    assert_int_equal(merged.sync_automatically, 0);
    assert_int_equal(merged.time_of_day_s, 3600);
    assert_int_equal(merged.syncs_per_day, 2);
    assert_int_equal(merged.nproducts, 2);
    assert_string_equal(merged.product_ids[0], "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    assert_string_equal(merged.product_ids[1], "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d");
    assert_int_equal(merged.nclassifications, 1);
    assert_string_equal(merged.classification_ids[0], "0fa1201d-4330-4fa8-8ae9-b877473b6441");

    /* Applied: no change left. */
    wsusapi_subscription_free(&cur);
    cur = merged;
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_subscription_diff(&cur, want, 3, known, 4, &merged, &ch), 0);
    wsusapi_subscription_free(&merged);

    /* Nothing subscribed at the site: everything goes. */
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_subscription_diff(&cur, NULL, 0, NULL, 0, &merged, &ch), 3);
    assert_int_equal(merged.nproducts, 0);
    assert_int_equal(merged.nclassifications, 0);
    wsusapi_subscription_free(&merged);
    wsusapi_subscription_free(&cur);

    /* More changes than lines: counted, not lost. */
    desired_category many[100];
    for (int i = 0; i < 100; i++) {
        char uid[80];
        snprintf(uid, sizeof uid, "Product:00000000-0000-0000-0000-%012d", i);
        many[i] = cat(uid, "p");
    }
    memset(&cur, 0, sizeof cur);
    memset(&ch, 0, sizeof ch);
    assert_int_equal(desired_subscription_diff(&cur, many, 100, NULL, 0, &merged, &ch), 100);
    assert_int_equal(ch.n, DESIRED_MAX_CHANGES);
    assert_int_equal(ch.dropped, 100 - DESIRED_MAX_CHANGES);
    assert_int_equal(merged.nproducts, 100);
    wsusapi_subscription_free(&merged);
}

static void test_fingerprint(void **state)
{
    desired_sup s[2] = {sup(1, "CS1", "cs1site.contoso.com", 8530, 0),
                        sup(2, "CS1", "cs1sup2.contoso.com", 8530, 0)};
    desired_input in = site("CS1", "CAS", "", s, 2);
    (void)state;
    uint64_t a = desired_fingerprint(&in);
    assert_true(a == desired_fingerprint(&in));
    snprintf(s[0].password, sizeof s[0].password, "fixed");
    uint64_t b = desired_fingerprint(&in);
    assert_true(b != a);
    s[1].use_proxy = 1;
    assert_true(desired_fingerprint(&in) != b);
    s[1].use_proxy = 0;
    assert_true(desired_fingerprint(&in) == b);
    snprintf(in.sync.languages, sizeof in.sync.languages, "en,de");
    assert_true(desired_fingerprint(&in) != b);
    snprintf(in.sync.languages, sizeof in.sync.languages, "en");
    /* Field boundaries count: "ab"+"c" is not "a"+"bc". */
    snprintf(s[0].account, sizeof s[0].account, "ab");
    snprintf(s[0].password, sizeof s[0].password, "c");
    uint64_t c = desired_fingerprint(&in);
    snprintf(s[0].account, sizeof s[0].account, "a");
    snprintf(s[0].password, sizeof s[0].password, "bc");
    assert_true(desired_fingerprint(&in) != c);
    /* The subscription arrives as .CSB notifications, not through the fingerprint. */
    uint64_t d = desired_fingerprint(&in);
    desired_category one = cat(P_2012, "Windows Server 2012");
    in.cats = &one;
    in.ncats = 1;
    assert_true(desired_fingerprint(&in) == d);
}

static void test_version_and_advice(void **state)
{
    desired_sup s = sup(1, "CS1", "cs1site.contoso.com", 8530, 0);
    char buf[1024];
    (void)state;
    assert_int_equal(supcfg_version_cmp("3.2.7600.256", SUPCFG_MIN_VERSION), 0);
    assert_true(supcfg_version_cmp("3.2.7600.251", SUPCFG_MIN_VERSION) < 0);
    assert_true(supcfg_version_cmp("3.2.7600.262", SUPCFG_MIN_VERSION) > 0);
    assert_true(supcfg_version_cmp("6.2.9200.16384", SUPCFG_MIN_VERSION) > 0);
    assert_true(supcfg_version_cmp(WSUSAPI_SERVER_VERSION, SUPCFG_MIN_VERSION) > 0);
    assert_true(supcfg_version_cmp("3.2", SUPCFG_MIN_VERSION) < 0);
    assert_true(supcfg_version_cmp("10", "9.9.9") > 0);
    assert_int_equal(supcfg_version_cmp("3.2.7600.256.0", "3.2.7600.256"), 0);
    assert_true(supcfg_version_cmp("garbage", SUPCFG_MIN_VERSION) < 0);
    assert_true(supcfg_version_cmp("", SUPCFG_MIN_VERSION) < 0);

    /* The documents' troubleshooting steps, chosen by the failure. */
    supcfg_advice(SOAP_ECONNECT, 0, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "Verify that the Update Services service is running on the WSUS "
                                "computer."));
    assert_non_null(strstr(buf, "Check the port settings configured for the Software Update "
                                "Point and verify that they are the same as the port settings "
                                "that are configured for the website used by WSUS on the "
                                "Software Update Point (port 8530, SSL port 8531, useSSL: "
                                "False)."));
    supcfg_advice(SOAP_EUNAUTHORIZED, 401, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "Verify that the Software Update Point connection account is "
                                "configured (if required) and that it has the permissions to "
                                "connect to the WSUS computer"));
    assert_non_null(strstr(buf, "ApiRemoting30 Virtual Directory"));
    supcfg_advice(SOAP_ERESOLVE, 0, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "fully qualified domain name (FQDN)"));
    assert_non_null(strstr(buf, "cs1site.contoso.com"));
    supcfg_advice(SOAP_ETLS, 0, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "verify that WSUS is correctly configured for SSL"));
    supcfg_advice(SOAP_EHTTP, 407, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "proxy configuration and account"));
    supcfg_advice(SOAP_EHTTP, 503, 0, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "Default Website or WSUS Administration website"));
    supcfg_advice(SOAP_EFAULT, 500, 1, &s, buf, sizeof buf);
    assert_non_null(strstr(buf, "The WSUS server rejected the setting."));
    supcfg_advice(SOAP_EFAULT, 500, 0, &s, buf, sizeof buf);
    assert_null(strstr(buf, "rejected"));
}

/* ------------------------------------------------------------------ */
/* xml                                                                 */
/* ------------------------------------------------------------------ */

/* The document's line: "Subscribed Update Categories <?xml ...</Categories>". */
static char *document_line(void)
{
    char path[1024], line[8192];
    char *found = NULL;
    snprintf(path, sizeof path, "%s/004_1bbeee101073e624.txt", CM_SEEDS_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Subscribed Update Categories ", 29) == 0) {
            char *end = strstr(line, "</Categories>");
            assert_non_null(end);
            end[strlen("</Categories>")] = '\0';
            found = strdup_or_die(line);
            break;
        }
    fclose(f);
    assert_non_null(found);
    return found;
}

static void test_xml_matches_document(void **state)
{
    desired_category v[6];
    char line[8192], msg[8192];
    struct timespec ts = {1392000000, 0};
    (void)state;
    for (size_t i = 0; i < 6; i++)
        v[i] = cat(doc_cats[i].uid, doc_cats[i].title);
    char *xml = desired_categories_xml(v, 6);
    assert_non_null(xml);
    snprintf(msg, sizeof msg, "Subscribed Update Categories %s", xml);
    /* Framed as WCM.log frames it: line breaks become '~'. */
    assert_true(
        log_format_line(line, sizeof line, msg, "SMS_WSUS_CONFIGURATION_MANAGER", &ts, 0, 1) > 0);
    char *frame = strstr(line, "  $$<SMS_WSUS_CONFIGURATION_MANAGER>");
    assert_non_null(frame);
    *frame = '\0';
    char *doc = document_line();
    assert_string_equal(line, doc);
    free(doc);
    free(xml);

    xml = desired_categories_xml(NULL, 0);
    assert_string_equal(xml, "<?xml version=\"1.0\" ?>\n<Categories>\n</Categories>");
    free(xml);
}

static void test_xml_hostile_names(void **state)
{
    desired_category v[2];
    (void)state;
    v[0] = cat(P_2012, "Evil ]]><x/> & \"quoted\" <name>\nsecond line");
    v[1] = cat(C_SEC, "");
    snprintf(v[1].unique_id, sizeof v[1].unique_id, "UpdateClassification:<\"&>");
    char *xml = desired_categories_xml(v, 2);
    assert_non_null(xml);
    assert_string_equal(xml, "<?xml version=\"1.0\" ?>\n<Categories>\n"
                             "<Category Id=\"" P_2012 "\"><![CDATA[Evil ]]]]><![CDATA[><x/> & "
                             "\"quoted\" <name> second line]]></Category>\n"
                             "<Category Id=\"UpdateClassification:&lt;&quot;&amp;&gt;\">"
                             "<![CDATA[]]></Category>\n</Categories>");
    free(xml);
}

/* ------------------------------------------------------------------ */
/* sitedb                                                              */
/* ------------------------------------------------------------------ */

typedef struct fx {
    char dir[256], conn[1024];
    db *d;
    site_ini ini;
} fx;

static int setup_db(void **state)
{
    static const char *tables[] = {"SiteControl",
                                   "SoftwareUpdatePoints",
                                   "CI_UpdateCategorySubscription",
                                   "CI_LocalizedCategoryInstances",
                                   "CI_CategoryInstances",
                                   "TableChangeNotifications"};
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(tu_mkdtemp(f->dir, sizeof f->dir), 0);
    tu_test_connstr(f->conn, sizeof f->conn, f->dir);
    if (db_open(&f->d, f->conn) < 0)
        fail_msg("db_open: %s", db_errmsg(f->d));
    if (schema_apply(f->d, NULL) < 0)
        fail_msg("schema: %s", db_errmsg(f->d));
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        if (db_exec(f->d, sql) < 0)
            fail_msg("%s: %s", sql, db_errmsg(f->d));
    }
    tu_sql(f->d, "DELETE FROM SC_Component_Property WHERE SiteCode <> ''", NULL);
    snprintf(f->ini.site_code, sizeof f->ini.site_code, "PS1");
    snprintf(f->ini.site_type, sizeof f->ini.site_type, "PRIMARY");
    snprintf(f->ini.server_name, sizeof f->ini.server_name, "ps1site.contoso.com");
    *state = f;
    return 0;
}

static int teardown_db(void **state)
{
    fx *f = *state;
    db_close(f->d);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void add_sup(db *d, const char *site, const char *server, long long order, long long ssl)
{
    tu_sql(d,
           "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, PortNumber, SSLPortNumber, "
           "UseSSL, InstallOrder) VALUES (?, ?, 8530, 8531, ?, ?)",
           "ttii", site, server, ssl, order);
}

static long long add_category(db *d, const char *uid, const char *type, const char *name,
                              long long locale)
{
    tu_sql(d,
           "INSERT INTO CI_CategoryInstances (CategoryInstance_UniqueID, CategoryTypeName) "
           "VALUES (?, ?)",
           "tt", uid, type);
    long long id = tu_qint(d,
                           "SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE "
                           "CategoryInstance_UniqueID = ?",
                           uid);
    if (name)
        tu_sql(d,
               "INSERT INTO CI_LocalizedCategoryInstances (CategoryInstanceID, LocaleID, "
               "CategoryInstanceName) VALUES (?, ?, ?)",
               "iit", id, locale, name);
    return id;
}

static void subscribe(db *d, long long id, long long on)
{
    tu_sql(d,
           "INSERT INTO CI_UpdateCategorySubscription (CategoryInstanceID, IsSubscribed) VALUES "
           "(?, ?)",
           "ii", id, on);
}

static void test_load_hierarchy_and_sups(void **state)
{
    fx *f = *state;
    desired_input in;

    /* No SiteControl row: site.ini says what the site is. */
    assert_int_equal(sitedb_load(f->d, &f->ini, &in), 0);
    assert_string_equal(in.site.code, "PS1");
    assert_string_equal(in.site.type, "PRIMARY");
    assert_string_equal(in.site.parent, "");
    assert_int_equal(in.nsups, 0);
    assert_string_equal(in.sync.source, "MicrosoftUpdate");
    assert_string_equal(in.sync.languages, "en");
    desired_input_free(&in);

    tu_sql(f->d, "INSERT INTO SiteControl (SiteCode, SiteType, ParentSiteCode) VALUES (?, ?, ?)",
           "ttt", "CS1", "CAS", "");
    tu_sql(f->d, "INSERT INTO SiteControl (SiteCode, SiteType, ParentSiteCode) VALUES (?, ?, ?)",
           "ttt", "PS1", "PRIMARY", "CS1");
    /* Inserted out of order: the first installed comes first. */
    add_sup(f->d, "PS1", "ps1sup3.contoso.com", 3, 0);
    add_sup(f->d, "PS1", "ps1site.contoso.com", 1, 0);
    add_sup(f->d, "PS1", "ps1sup2.contoso.com", 2, 1);
    add_sup(f->d, "CS1", "cs1sup2.contoso.com", 2, 0);
    add_sup(f->d, "CS1", "cs1site.contoso.com", 1, 1);
    tu_sql(f->d,
           "UPDATE SoftwareUpdatePoints SET ConnectionAccount = ?, ConnectionPassword = ?, "
           "UseProxy = 1, ProxyName = ?, ProxyPort = 3128, ProxyAccount = ?, ProxyPassword = ?, "
           "WCMConfigState = 3 WHERE ServerName = ?",
           "tttttt", "CONTOSO\\wsus", "pw'; --", "proxy.contoso.com", "CONTOSO\\px", "pxpw",
           "ps1sup2.contoso.com");
    assert_int_equal(config_set(f->d, "PS1", "SMS_WSUS_SYNC_MANAGER", "Languages", "en,de", 0), 0);

    assert_int_equal(sitedb_load(f->d, &f->ini, &in), 0);
    assert_string_equal(in.site.parent, "CS1");
    assert_int_equal(in.nsups, 3);
    assert_string_equal(in.sups[0].server, "ps1site.contoso.com");
    assert_string_equal(in.sups[1].server, "ps1sup2.contoso.com");
    assert_string_equal(in.sups[2].server, "ps1sup3.contoso.com");
    assert_int_equal(in.sups[1].use_ssl, 1);
    assert_int_equal(in.sups[1].ssl_port, 8531);
    assert_string_equal(in.sups[1].account, "CONTOSO\\wsus");
    assert_string_equal(in.sups[1].password, "pw'; --");
    assert_int_equal(in.sups[1].use_proxy, 1);
    assert_string_equal(in.sups[1].proxy_name, "proxy.contoso.com");
    assert_int_equal(in.sups[1].proxy_port, 3128);
    assert_string_equal(in.sups[1].proxy_account, "CONTOSO\\px");
    assert_string_equal(in.sups[1].proxy_password, "pxpw");
    assert_int_equal(in.sups[1].state, 3);
    assert_int_equal(in.sups[0].proxy_port, 0); /* NULL */
    assert_int_equal(in.has_parent_sup, 1);
    assert_string_equal(in.parent_sup.server, "cs1site.contoso.com");
    assert_string_equal(in.sync.languages, "en,de");

    /* The rules on what was read. */
    wsusapi_config c;
    char why[256];
    assert_int_equal(desired_config(&in, 0, &c, why, sizeof why), 0);
    assert_string_equal(c.upstream_server, "cs1site.contoso.com");
    assert_int_equal(c.upstream_port, 8531);
    assert_int_equal(c.upstream_ssl, 1);
    assert_int_equal(c.replica_mode, 0);
    assert_string_equal(c.languages, "de,en");
    assert_int_equal(desired_config(&in, 2, &c, why, sizeof why), 0);
    assert_string_equal(c.upstream_server, "ps1site.contoso.com");
    assert_int_equal(c.replica_mode, 1);
    uint64_t fp = desired_fingerprint(&in);
    desired_input_free(&in);

    /* Fixing an account shows in the fingerprint. */
    tu_sql(f->d, "UPDATE SoftwareUpdatePoints SET ConnectionPassword = ? WHERE ServerName = ?",
           "tt", "right", "ps1sup2.contoso.com");
    assert_int_equal(sitedb_load(f->d, &f->ini, &in), 0);
    assert_true(desired_fingerprint(&in) != fp);
    desired_input_free(&in);
}

static void test_load_subscribed_categories(void **state)
{
    fx *f = *state;
    desired_input in;
    desired_category *all;
    size_t nall;
    char line[8192], msg[8192];
    struct timespec ts = {1392000000, 0};

    /* The document's six, stored in another order, with names in several languages. */
    long long ids[6];
    for (int i = 5; i >= 0; i--) {
        char type[32], guid[40];
        assert_int_equal(desired_category_parse(doc_cats[i].uid, type, sizeof type, guid), 0);
        ids[i] = add_category(f->d, doc_cats[i].uid, type, doc_cats[i].title, 1033);
        tu_sql(f->d,
               "INSERT INTO CI_LocalizedCategoryInstances (CategoryInstanceID, LocaleID, "
               "CategoryInstanceName) VALUES (?, 1031, ?)",
               "it", ids[i], "Deutsch");
        subscribe(f->d, ids[i], 1);
    }
    /* Not subscribed, unsubscribed, tombstoned, not a WSUS category, no name at all. */
    add_category(f->d, "Product:11111111-1111-1111-1111-111111111111", "Product", "Not chosen",
                 1033);
    subscribe(f->d,
              add_category(f->d, "Product:22222222-2222-2222-2222-222222222222", "Product",
                           "Unsubscribed", 1033),
              0);
    long long t = add_category(f->d, "Product:33333333-3333-3333-3333-333333333333", "Product",
                               "Tombstoned", 1033);
    tu_sql(f->d, "UPDATE CI_CategoryInstances SET IsTombstoned = 1 WHERE CategoryInstanceID = ?",
           "i", t);
    subscribe(f->d, t, 1);
    subscribe(f->d, add_category(f->d, "Locale:9", "Locale", "English", 1033), 1);
    subscribe(f->d,
              add_category(f->d, "UpdateClassification:44444444-4444-4444-4444-444444444444",
                           "UpdateClassification", "Nur Deutsch", 1031),
              1);
    subscribe(f->d,
              add_category(f->d, "UpdateClassification:55555555-5555-5555-5555-555555555555",
                           "UpdateClassification", NULL, 0),
              1);

    assert_int_equal(sitedb_load(f->d, &f->ini, &in), 0);
    assert_int_equal(in.ncats, 8);
    /* The document's order: by unique ID. */
    assert_string_equal(in.cats[0].unique_id, P_2012);
    assert_string_equal(in.cats[0].title, "Windows Server 2012");
    assert_string_equal(in.cats[0].type, "Product");
    assert_string_equal(in.cats[1].unique_id, P_2008R2);
    assert_string_equal(in.cats[2].unique_id, C_SEC);
    assert_string_equal(in.cats[4].unique_id,
                        "UpdateClassification:44444444-4444-4444-4444-444444444444");
    assert_string_equal(in.cats[4].title, "Nur Deutsch");
    assert_string_equal(in.cats[5].title, "");
    assert_string_equal(in.cats[7].unique_id, C_CRIT);

    /* Without the two extra classifications the line is the document's, byte for byte. */
    tu_sql(f->d,
           "UPDATE CI_UpdateCategorySubscription SET IsSubscribed = 0 WHERE CategoryInstanceID IN "
           "(SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID "
           "LIKE ?)",
           "t", "UpdateClassification:55555555%");
    tu_sql(f->d,
           "UPDATE CI_UpdateCategorySubscription SET IsSubscribed = 0 WHERE CategoryInstanceID IN "
           "(SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID "
           "LIKE ?)",
           "t", "UpdateClassification:44444444%");
    desired_input_free(&in);
    assert_int_equal(sitedb_load(f->d, &f->ini, &in), 0);
    assert_int_equal(in.ncats, 6);
    char *xml = desired_categories_xml(in.cats, in.ncats);
    snprintf(msg, sizeof msg, "Subscribed Update Categories %s", xml);
    free(xml);
    assert_true(
        log_format_line(line, sizeof line, msg, "SMS_WSUS_CONFIGURATION_MANAGER", &ts, 0, 1) > 0);
    *strstr(line, "  $$<") = '\0';
    char *doc = document_line();
    assert_string_equal(line, doc);
    free(doc);
    desired_input_free(&in);

    assert_int_equal(sitedb_categories(f->d, &all, &nall), 0);
    assert_int_equal(nall, 10); /* every live WSUS category, subscribed or not */
    free(all);
}

static void test_state_and_version(void **state)
{
    fx *f = *state;
    add_sup(f->d, "PS1", "ps1site.contoso.com", 1, 0);
    long long id = tu_qint(f->d, "SELECT SUP_ID FROM SoftwareUpdatePoints WHERE ServerName = ?",
                           "ps1site.contoso.com");
    assert_true(id > 0);
    assert_int_equal(
        tu_qint(f->d, "SELECT WCMConfigState FROM SoftwareUpdatePoints WHERE SiteCode = ?", "PS1"),
        0);

    char longerr[3000];
    memset(longerr, 'x', sizeof longerr - 1);
    longerr[sizeof longerr - 1] = '\0';
    memcpy(longerr, "\xc3\xa9", 2);
    assert_int_equal(sitedb_set_state(f->d, id, 3, longerr), 0);
    assert_int_equal(
        tu_qint(f->d, "SELECT WCMConfigState FROM SoftwareUpdatePoints WHERE SiteCode = ?", "PS1"),
        3);
    char *err =
        tu_qtext(f->d, "SELECT WCMLastError FROM SoftwareUpdatePoints WHERE SiteCode = ?", "PS1");
    assert_non_null(err);
    assert_true(strlen(err) <= 1000);
    assert_memory_equal(err, "\xc3\xa9", 2);
    free(err);
    assert_int_equal(tu_qint(f->d,
                             "SELECT COUNT(*) FROM SoftwareUpdatePoints WHERE SiteCode = ? AND "
                             "WCMConfigStateTime IS NOT NULL",
                             "PS1"),
                     1);

    assert_int_equal(sitedb_set_state(f->d, id, 2, ""), 0);
    assert_int_equal(tu_qint(f->d,
                             "SELECT COUNT(*) FROM SoftwareUpdatePoints WHERE SiteCode = ? AND "
                             "WCMConfigState = 2 AND WCMLastError IS NULL",
                             "PS1"),
                     1);
    assert_int_equal(sitedb_set_version(f->d, id, "10.0.17763.1"), 0);
    err = tu_qtext(f->d, "SELECT WSUSVersion FROM SoftwareUpdatePoints WHERE SiteCode = ?", "PS1");
    assert_string_equal(err, "10.0.17763.1");
    free(err);
    /* The state time is UTC, as every time column: within a day of now either way. */
    err = tu_qtext(f->d, "SELECT WCMConfigStateTime FROM SoftwareUpdatePoints WHERE SiteCode = ?",
                   "PS1");
    assert_non_null(err);
    struct tm tm = {0};
    assert_non_null(strptime(err, "%Y-%m-%d %H:%M:%S", &tm));
    time_t t = timegm(&tm), now = time(NULL);
    assert_true(t > now - 86400 && t < now + 86400);
    free(err);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const struct CMUnitTest desired[] = {
        cmocka_unit_test(test_states_and_words),    cmocka_unit_test(test_category_parse),
        cmocka_unit_test(test_top_level_sources),   cmocka_unit_test(test_hierarchy),
        cmocka_unit_test(test_proxy_and_languages), cmocka_unit_test(test_config_diff),
        cmocka_unit_test(test_subscription_diff),   cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_version_and_advice),
    };
    const struct CMUnitTest xml[] = {
        cmocka_unit_test(test_xml_matches_document),
        cmocka_unit_test(test_xml_hostile_names),
    };
    const struct CMUnitTest sitedb[] = {
        cmocka_unit_test_setup_teardown(test_load_hierarchy_and_sups, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_load_subscribed_categories, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_state_and_version, setup_db, teardown_db),
    };
    const char *g = argc > 1 ? argv[1] : "all";
    int fails = 0, all = strcmp(g, "all") == 0, ran = 0;
    if (all || strcmp(g, "desired") == 0) {
        fails += cmocka_run_group_tests_name("desired", desired, NULL, NULL);
        ran = 1;
    }
    if (all || strcmp(g, "xml") == 0) {
        fails += cmocka_run_group_tests_name("xml", xml, NULL, NULL);
        ran = 1;
    }
    if (all || strcmp(g, "sitedb") == 0) {
        fails += cmocka_run_group_tests_name("sitedb", sitedb, NULL, NULL);
        ran = 1;
    }
    if (!ran) {
        fprintf(stderr, "wcm-unit: unknown group %s (desired, xml, sitedb)\n", g);
        return 2;
    }
    return fails ? 1 : 0;
}
