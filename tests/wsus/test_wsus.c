/*
 * test_wsus.c - unit and golden tests of the WSUS protocols and of wsusd's
 * database, one cmocka group per argument:
 *   soap     SOAP envelopes, faults, hostile XML, the HTTP client's errors
 *   cabmem   base64 and in-memory cabs (the spec's compressed blob header)
 *   golden   the MS-WSUSSS section 4 examples, parsed and produced
 *   wsusapi  the administration API's messages
 *   susdb    wsusd's SUSDB store, queries, cycles, settings, schedule
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cabmem.h"
#include "cabwrite.h"
#include "catalog_gen.h"
#include "cm_error.h"
#include "httpd.h"
#include "soap.h"
#include "susdb.h"
#include "testutil.h"
#include "updxml.h"
#include "wsusapi.h"
#include "wsusd.h"
#include "wsusss.h"

#ifndef CM_WSUS_TESTS_DIR
#define CM_WSUS_TESTS_DIR "."
#endif

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/%s", CM_WSUS_TESTS_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Parse a golden file; returns the body element (doc freed by the caller). */
static xmlNode *golden(const char *name, xmlDoc **doc)
{
    size_t len;
    xmlNode *op;
    char *xml = slurp(name, &len);
    assert_int_equal(soap_parse(xml, len, doc, &op), 0);
    free(xml);
    return op;
}

/* Wrap a body written by a writer in an envelope and parse it. */
static xmlNode *reparse(soap_buf *body, xmlDoc **doc)
{
    soap_buf b;
    xmlNode *op;
    soap_buf_init(&b);
    soap_envelope_begin(&b);
    soap_buf_add(&b, body->data, body->len);
    soap_envelope_end(&b);
    assert_false(b.err);
    assert_int_equal(soap_parse(b.data, b.len, doc, &op), 0);
    soap_buf_free(&b);
    soap_buf_free(body);
    return op;
}

static void strip_ws(char *s)
{
    char *o = s;
    for (; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t')
            *o++ = *s;
    *o = '\0';
}

/* ------------------------------------------------------------------ */
/* soap                                                                */
/* ------------------------------------------------------------------ */

static void test_buf_escape(void **state)
{
    (void)state;
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_escape(&b, "a<b>&\"c\x01\r\td");
    assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&#xD;\td");
    soap_buf_free(&b);
    soap_buf_init(&b);
    soap_buf_elem(&b, "X", "");
    soap_buf_elem_int(&b, "N", -5);
    char *t = soap_buf_take(&b, NULL);
    assert_string_equal(t, "<X /><N>-5</N>");
    free(t);
    /* An empty buffer still hands out an empty string. */
    soap_buf_init(&b);
    t = soap_buf_take(&b, NULL);
    assert_string_equal(t, "");
    free(t);
}

/* CDATA gives a reader the same text as escaping: "]]>" and CR included. */
static void test_buf_cdata(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",   "plain", "]]>",      "a]]>b]]>c",           "]]]>",
        "]]", "]]\r>", "x\r\ny\r", "<a b=\"&amp;\"/>]]>", "\r]]>\r",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        soap_buf b;
        xmlDoc *doc;
        xmlNode *op;
        soap_buf_init(&b);
        soap_envelope_begin(&b);
        soap_buf_puts(&b, "<X>");
        soap_buf_cdata(&b, texts[i], strlen(texts[i]));
        soap_buf_puts(&b, "</X>");
        soap_envelope_end(&b);
        assert_false(b.err);
        assert_int_equal(soap_parse(b.data, b.len, &doc, &op), 0);
        char *t = soap_text(op);
        assert_string_equal(t, texts[i]);
        free(t);
        xmlFreeDoc(doc);
        soap_buf_free(&b);
    }
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "not xml at all",
        "<Envelope><Body><X/></Body></Envelope>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
        "</soap:Body></soap:Envelope>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><X>"
        "</soap:Body></soap:Envelope>",
        /* External entity (XXE): refused before the parser sees it. */
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><X>&e;"
        "</X></soap:Body></soap:Envelope>",
        /* Entity expansion bomb. */
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>"
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><X>"
        "&lol2;</X></soap:Body></soap:Envelope>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xmlDoc *doc = NULL;
        xmlNode *op = NULL;
        assert_int_equal(soap_parse(bad[i], strlen(bad[i]), &doc, &op), CM_EPARSE);
        assert_null(doc);
    }
    assert_true(soap_has_doctype("\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c --> <!DOCTYPE a>", 45));
    assert_false(soap_has_doctype("<a><![CDATA[<!DOCTYPE x>]]></a>", 31));
}

static void test_fault_roundtrip(void **state)
{
    (void)state;
    size_t len;
    char fs[256], ec[64];
    xmlDoc *doc;
    xmlNode *op;
    char *xml = soap_fault_build("soap:Client", "The cookie has <expired>.",
                                 WSUSSS_ERR_INVALID_COOKIE, WSUSSS_NS "/GetConfigData", &len);
    assert_non_null(xml);
    assert_int_equal(soap_parse(xml, len, &doc, &op), 0);
    assert_int_equal(soap_fault_read(op, fs, sizeof fs, ec, sizeof ec), 1);
    assert_string_equal(fs, "The cookie has <expired>.");
    assert_string_equal(ec, "InvalidCookie");
    assert_non_null(strstr(xml, "<Method>&quot;http://www.microsoft.com/SoftwareDistribution/"
                                "GetConfigData&quot;</Method>"));
    xmlFreeDoc(doc);
    free(xml);
}

/* A test server that answers each path in its own (mis)behaving way. */
static void test_server(void *ud, const httpd_request *req, httpd_response *resp)
{
    (void)ud;
    const char *u = req->url;
    if (strcmp(u, "/401") == 0) {
        resp->status = 401;
        resp->www_authenticate = 1;
    } else if (strcmp(u, "/500") == 0) {
        resp->status = 500;
        resp->content_type = "text/html";
        resp->body = strdup("<html>Internal Server Error</html>");
    } else if (strcmp(u, "/503") == 0) {
        resp->status = 503;
        resp->content_type = "text/html";
        resp->body = strdup("busy");
    } else if (strcmp(u, "/garbage") == 0) {
        resp->content_type = "text/html";
        resp->body = strdup("<html><body>Hello</body></html>");
    } else if (strcmp(u, "/garbage-xml") == 0) {
        resp->body = strdup("<?xml version=\"1.0\"?><notsoap/>");
    } else if (strcmp(u, "/fault") == 0) {
        size_t len;
        resp->status = 500;
        resp->body =
            soap_fault_build("soap:Server", "Something broke.", "InternalServerError", NULL, &len);
        resp->body_len = len;
        return;
    } else if (strcmp(u, "/ok") == 0) {
        resp->body = strdup("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/"
                            "envelope/\"><soap:Body><PingResponse xmlns=\"urn:x\"/></soap:Body>"
                            "</soap:Envelope>");
    } else {
        resp->status = 404;
        resp->body = strdup("no");
    }
    if (resp->body)
        resp->body_len = strlen(resp->body);
}

static int call_path(int port, const char *host, const char *path, char *err, size_t elen)
{
    soap_endpoint ep = {.host = host, .port = port, .timeout_s = 20, .connect_timeout_s = 10};
    soap_client *c;
    xmlDoc *doc;
    xmlNode *resp;
    assert_int_equal(soap_client_new(&c, &ep), 0);
    int ret = soap_call(c, path, "urn:x/Ping", "<Ping xmlns=\"urn:x\"/>", 21, &doc, &resp);
    snprintf(err, elen, "%s", soap_client_error(c));
    if (ret == 0) {
        assert_string_equal((const char *)resp->name, "PingResponse");
        xmlFreeDoc(doc);
    }
    soap_client_free(c);
    return ret;
}

static void test_client_errors(void **state)
{
    (void)state;
    httpd *h;
    httpd_config cfg = {.port = 0};
    char err[2048];
    assert_int_equal(httpd_start(&h, &cfg, test_server, NULL), 0);
    int port = httpd_port(h);

    assert_int_equal(call_path(port, "127.0.0.1", "/ok", err, sizeof err), 0);
    assert_int_equal(call_path(port, "127.0.0.1", "/401", err, sizeof err), SOAP_EUNAUTHORIZED);
    assert_string_equal(err, "The request failed with HTTP status 401: Unauthorized");
    assert_int_equal(call_path(port, "127.0.0.1", "/500", err, sizeof err), SOAP_EHTTP);
    assert_string_equal(err, "The request failed with HTTP status 500: Internal Server Error");
    assert_int_equal(call_path(port, "127.0.0.1", "/503", err, sizeof err), SOAP_EHTTP);
    assert_string_equal(err, "The request failed with HTTP status 503: Service Unavailable");
    assert_int_equal(call_path(port, "127.0.0.1", "/garbage", err, sizeof err), SOAP_EBADRESPONSE);
    assert_string_equal(err, "Client found response content type of 'text/html', but expected "
                             "'text/xml'.");
    assert_int_equal(call_path(port, "127.0.0.1", "/garbage-xml", err, sizeof err),
                     SOAP_EBADRESPONSE);
    assert_int_equal(call_path(port, "127.0.0.1", "/fault", err, sizeof err), SOAP_EFAULT);
    assert_string_equal(err, "Something broke.");
    httpd_stop(h);

    /* The port is closed now: refused. */
    assert_int_equal(call_path(port, "127.0.0.1", "/ok", err, sizeof err), SOAP_ECONNECT);
    assert_string_equal(err, "Unable to connect to the remote server");
    assert_int_equal(call_path(8530, "wsus-upstream.invalid", "/ok", err, sizeof err),
                     SOAP_ERESOLVE);
    assert_string_equal(err, "The remote name could not be resolved: 'wsus-upstream.invalid'");
    /* A host that would change the URL is refused before any request. */
    soap_endpoint ep = {.host = "evil/path?x", .port = 1};
    soap_client *c;
    assert_int_equal(soap_client_new(&c, &ep), CM_ENAME);
}

/* ------------------------------------------------------------------ */
/* cabmem                                                              */
/* ------------------------------------------------------------------ */

static void test_base64(void **state)
{
    (void)state;
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n < 40; n++) {
        size_t el, dl;
        unsigned char *d;
        char *e = cabmem_base64_encode(data, n, &el);
        assert_non_null(e);
        assert_int_equal(el, 4 * ((n + 2) / 3));
        assert_int_equal(cabmem_base64_decode(e, el, &d, &dl), 0);
        assert_int_equal(dl, n);
        assert_memory_equal(d, data, n);
        free(d);
        free(e);
    }
    unsigned char *d;
    size_t dl;
    assert_int_equal(cabmem_base64_decode("TWFu\n TWE=", 10, &d, &dl), 0);
    assert_int_equal(dl, 5);
    assert_memory_equal(d, "ManMa", 5);
    free(d);
    assert_int_equal(cabmem_base64_decode("TW!u", 4, &d, &dl), CM_EPARSE);
    assert_int_equal(cabmem_base64_decode("TW=u", 4, &d, &dl), CM_EPARSE);
}

static void test_cab_roundtrip(void **state)
{
    (void)state;
    size_t n = 100000, cablen, outlen;
    char *text = malloc(n), *out;
    unsigned char *cab;
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 26);
    assert_int_equal(cabw_single_mem("blob", text, n, &cab, &cablen), 0);
    assert_int_equal(cabmem_extract(cab, cablen, 1u << 20, &out, &outlen), 0);
    assert_int_equal(outlen, n);
    assert_memory_equal(out, text, n);
    free(out);
    /* Larger than allowed. */
    assert_int_equal(cabmem_extract(cab, cablen, 1000, &out, &outlen), CM_ETOOBIG);
    /* Truncated, and a broken signature. */
    assert_int_equal(cabmem_extract(cab, cablen / 2, 1u << 20, &out, &outlen), CM_EPARSE);
    assert_int_equal(cabmem_extract(cab, 20, 1u << 20, &out, &outlen), CM_EPARSE);
    cab[0] = 'X';
    assert_int_equal(cabmem_extract(cab, cablen, 1u << 20, &out, &outlen), CM_EPARSE);
    free(cab);
    free(text);
    assert_int_equal(
        cabmem_extract("garbage garbage garbage garbage garbage", 39, 100, &out, &outlen),
        CM_EPARSE);
}

/* The first bytes of the specification's XmlUpdateBlobCompressed example. */
static void test_spec_blob_header(void **state)
{
    (void)state;
    const char *b64 = "TVNDRgAAAABfCwAAAAAAACwAAAAAAAAAAwEBAAEAAAAAAAAAQQAAAAEAAxU2NgAAAAAAAAAA"
                      "AAAAAAAAYmxvYgBL";
    unsigned char *b;
    size_t n;
    assert_int_equal(cabmem_base64_decode(b64, strlen(b64), &b, &n), 0);
    assert_memory_equal(b, "MSCF", 4);
    assert_int_equal(b[8] | b[9] << 8, 2911); /* cbCabinet */
    assert_int_equal(b[25], 1);               /* version 1.3 */
    assert_int_equal(b[24], 3);
    assert_int_equal(b[26] | b[27] << 8, 1);      /* one folder */
    assert_int_equal(b[28] | b[29] << 8, 1);      /* one file */
    assert_int_equal(b[42] | b[43] << 8, 0x1503); /* LZX, 2^21 window: 2 MB */
    assert_int_equal(b[44] | b[45] << 8, 13878);  /* the XML's size */
    assert_string_equal((const char *)b + 60, "blob");
    free(b);
}

/* ------------------------------------------------------------------ */
/* golden                                                              */
/* ------------------------------------------------------------------ */

static void test_golden_auth_config(void **state)
{
    (void)state;
    xmlDoc *doc;
    char plugin[64], url[256];
    xmlNode *op = golden("ss_getauthconfig_req.xml", &doc);
    assert_string_equal((const char *)op->name, "GetAuthConfig");
    assert_string_equal((const char *)op->ns->href, WSUSSS_NS);
    xmlFreeDoc(doc);
    op = golden("ss_getauthconfig_resp.xml", &doc);
    assert_int_equal(wsusss_auth_config_response_read(op, plugin, sizeof plugin, url, sizeof url),
                     0);
    assert_string_equal(plugin, "DssTargeting");
    assert_string_equal(url, "DssAuthWebService/DssAuthWebService.asmx");
    xmlFreeDoc(doc);
    /* Produced: our response reads back the same. */
    soap_buf b;
    soap_buf_init(&b);
    wsusss_auth_config_response_write(&b, "2006-06-07T20:41:50.883Z");
    op = reparse(&b, &doc);
    assert_int_equal(wsusss_auth_config_response_read(op, plugin, sizeof plugin, url, sizeof url),
                     0);
    assert_string_equal(plugin, "DssTargeting");
    assert_string_equal(url, "DssAuthWebService/DssAuthWebService.asmx");
    xmlFreeDoc(doc);
}

static void test_golden_auth_cookie(void **state)
{
    (void)state;
    xmlDoc *doc;
    char name[256], guid[64], plugin[64], *data;
    xmlNode *op = golden("ss_getauthcookie_req.xml", &doc);
    assert_string_equal((const char *)op->ns->href, WSUSSS_DSSAUTH_NS);
    assert_int_equal(wsusss_auth_cookie_request_read(op, name, sizeof name, guid, sizeof guid), 0);
    assert_string_equal(name, "HemantTest.redmond.microsoft.com");
    /* The example's GUID is mixed case; it is kept as a lower-case GUID. */
    assert_string_equal(guid, "adb2fe48-0b2e-451e-8fc8-44b29845b0c6");
    xmlFreeDoc(doc);
    soap_buf b;
    soap_buf_init(&b);
    wsusss_auth_cookie_request_write(&b, name, guid);
    op = reparse(&b, &doc);
    char name2[256], guid2[64];
    assert_int_equal(wsusss_auth_cookie_request_read(op, name2, sizeof name2, guid2, sizeof guid2),
                     0);
    assert_string_equal(name2, name);
    assert_string_equal(guid2, guid);
    xmlFreeDoc(doc);

    op = golden("ss_getauthcookie_resp.xml", &doc);
    assert_int_equal(wsusss_auth_cookie_response_read(op, plugin, sizeof plugin, &data), 0);
    assert_string_equal(plugin, "DssTargeting");
    strip_ws(data);
    assert_string_equal(data, "4VEGgCdh/cuG4BSwhzLDomn2BAcYKl45Po5CmuBbOlRXfwhmBopYbLUHLWPEHsBFG");
    xmlFreeDoc(doc);
    soap_buf_init(&b);
    wsusss_auth_cookie_response_write(&b, data);
    op = reparse(&b, &doc);
    char *data2;
    assert_int_equal(wsusss_auth_cookie_response_read(op, plugin, sizeof plugin, &data2), 0);
    assert_string_equal(data2, data);
    free(data);
    free(data2);
    xmlFreeDoc(doc);
}

static void test_golden_cookie(void **state)
{
    (void)state;
    xmlDoc *doc;
    char *auth, ver[16];
    wsusss_cookie ck;
    xmlNode *op = golden("ss_getcookie_req.xml", &doc);
    assert_int_equal(wsusss_cookie_request_read(op, &auth, ver, sizeof ver), 0);
    assert_non_null(auth);
    assert_string_equal(ver, "1.2");
    strip_ws(auth);
    assert_string_equal(auth, "4VEGgCdh/cuG4BSwhzLDomn2BAcYKl45Po5CmuBbOlRXfwhmBopYbLUHLWEHsBFG");
    xmlFreeDoc(doc);
    soap_buf b;
    soap_buf_init(&b);
    wsusss_cookie_request_write(&b, auth, NULL, ver);
    op = reparse(&b, &doc);
    char *auth2;
    assert_int_equal(wsusss_cookie_request_read(op, &auth2, ver, sizeof ver), 0);
    assert_string_equal(auth2, auth);
    assert_string_equal(ver, "1.2");
    assert_null(soap_child(op, "oldCookie")); /* first call: no old cookie */
    free(auth);
    free(auth2);
    xmlFreeDoc(doc);

    op = golden("ss_getcookie_resp.xml", &doc);
    assert_int_equal(wsusss_cookie_response_read(op, &ck), 0);
    assert_string_equal(ck.expiration, "2006-06-08T19:32:23.7190987Z");
    assert_int_equal(strncmp(ck.data, "edzLnPhI/Rjr6CBMlcP+", 20), 0);
    xmlFreeDoc(doc);
    soap_buf_init(&b);
    wsusss_cookie_response_write(&b, &ck);
    op = reparse(&b, &doc);
    wsusss_cookie ck2;
    assert_int_equal(wsusss_cookie_response_read(op, &ck2), 0);
    assert_string_equal(ck2.expiration, ck.expiration);
    assert_string_equal(ck2.data, ck.data);
    wsusss_cookie_free(&ck);
    wsusss_cookie_free(&ck2);
    xmlFreeDoc(doc);
}

static void test_golden_config(void **state)
{
    (void)state;
    xmlDoc *doc;
    char anchor[128];
    wsusss_cookie ck;
    wsusss_config_data cd;
    xmlNode *op = golden("ss_getconfigdata_req.xml", &doc);
    assert_int_equal(wsusss_config_request_read(op, anchor, sizeof anchor), 0);
    assert_string_equal(anchor, ""); /* the first call sends none */
    assert_int_equal(wsusss_cookie_arg_read(op, &ck), 0);
    assert_string_equal(ck.expiration, "2006-06-08T19:32:23.7190987Z");
    wsusss_cookie_free(&ck);
    xmlFreeDoc(doc);

    op = golden("ss_getconfigdata_resp.xml", &doc);
    assert_int_equal(wsusss_config_response_read(op, &cd), 0);
    assert_true(cd.catalog_only_sync);
    assert_true(cd.lazy_sync);
    assert_false(cd.hosts_psf);
    assert_int_equal(cd.max_updates_per_request, 100);
    assert_string_equal(cd.new_config_anchor, "14030,2006-06-08 15:38:16.022");
    assert_int_equal(cd.nlanguages, 2);
    assert_int_equal(cd.languages[0].id, 0);
    assert_string_equal(cd.languages[0].short_name, "all");
    assert_true(cd.languages[0].enabled);
    assert_int_equal(cd.languages[1].id, 1033);
    assert_string_equal(cd.languages[1].short_name, "en");
    assert_string_equal(cd.languages[1].long_name, "English");
    assert_false(cd.languages[1].enabled);
    xmlFreeDoc(doc);
    soap_buf b;
    soap_buf_init(&b);
    wsusss_config_response_write(&b, &cd);
    op = reparse(&b, &doc);
    wsusss_config_data cd2;
    assert_int_equal(wsusss_config_response_read(op, &cd2), 0);
    assert_int_equal(cd2.max_updates_per_request, 100);
    assert_string_equal(cd2.new_config_anchor, cd.new_config_anchor);
    assert_int_equal(cd2.nlanguages, 2);
    assert_memory_equal(cd2.languages, cd.languages, 2 * sizeof *cd.languages);
    wsusss_config_data_free(&cd);
    wsusss_config_data_free(&cd2);
    xmlFreeDoc(doc);
}

/*
 * The stream reader of GetRevisionIdList answers against the tree reader:
 * the same values from the same envelope, the same refusals, and the
 * answers it is not for handed back.
 */
static int both_read(const char *env, char *anchor, wsusss_identity **ids, size_t *n)
{
    char a2[128];
    wsusss_identity *v2 = NULL;
    size_t n2 = 0;
    int sret = wsusss_revision_response_parse(env, strlen(env), anchor, 128, ids, n);
    xmlDoc *doc = NULL;
    xmlNode *op = NULL;
    int tret;
    if (soap_parse(env, strlen(env), &doc, &op) < 0)
        tret = WSUSSS_NOT_THIS_ANSWER;
    else if (strcmp((const char *)op->name, "GetRevisionIdListResponse") != 0)
        tret = WSUSSS_NOT_THIS_ANSWER;
    else
        tret = wsusss_revision_response_read(op, a2, sizeof a2, &v2, &n2);
    xmlFreeDoc(doc);
    assert_int_equal(sret, tret);
    if (sret == 0) {
        assert_string_equal(anchor, a2);
        assert_int_equal(*n, n2);
        if (n2)
            assert_memory_equal(*ids, v2, n2 * sizeof *v2);
    }
    free(v2);
    return sret;
}

#define ENV_OPEN                                                                                   \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "                                    \
    "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
#define RESP_OPEN                                                                                  \
    "<soap:Body><GetRevisionIdListResponse "                                                       \
    "xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ServerSyncWebService\">"         \
    "<GetRevisionIdListResult>"
#define RESP_CLOSE                                                                                 \
    "</GetRevisionIdListResult></GetRevisionIdListResponse></soap:Body></soap:Envelope>"

static void test_revision_stream(void **state)
{
    (void)state;
    char anchor[128];
    wsusss_identity *ids = NULL;
    size_t n = 0;

    /* A first sync's list (12 MB: more than libxml2 takes in one push), read both ways. */
    enum { BIG = 100000 };
    wsusss_identity *w = calloc(BIG, sizeof *w);
    assert_non_null(w);
    for (int i = 0; i < BIG; i++) {
        snprintf(w[i].id, sizeof w[i].id, "%08x-8798-4b37-8bf5-a3776130f5c9", i);
        w[i].revision = 100 + i % 7;
    }
    soap_buf body, env;
    soap_buf_init(&body);
    wsusss_revision_response_write(&body, "77,2026-12-04 01:02:03.456", w, BIG);
    soap_buf_init(&env);
    soap_envelope_begin(&env);
    soap_buf_add(&env, body.data, body.len);
    soap_envelope_end(&env);
    assert_int_equal(both_read(env.data, anchor, &ids, &n), 0);
    assert_true(env.len > 10000000);
    assert_int_equal(n, BIG);
    assert_memory_equal(ids, w, BIG * sizeof *w);
    assert_string_equal(anchor, "77,2026-12-04 01:02:03.456");
    free(ids);
    soap_buf_free(&body);
    soap_buf_free(&env);
    free(w);

    /* Spaces, braces and capitals, CDATA, a header, unknown and repeated elements, nesting. */
    static const char odd[] = ENV_OPEN
        "<soap:Header><x>1</x></soap:Header>" RESP_OPEN
        "<Other><Anchor>not this one</Anchor></Other>"
        "<Anchor>  12,<![CDATA[2026]]>-01-01 <b>00:00</b>  </Anchor><Anchor>second</Anchor>"
        "<NewRevisions><Noise/>"
        "<UpdateIdentity><UpdateID>{0287014E-6772-4B4D-81F7-42063AC26E8A}</UpdateID>"
        "<RevisionNumber> 100 </RevisionNumber><RevisionNumber>7</RevisionNumber>"
        "</UpdateIdentity>"
        "<UpdateIdentity><RevisionNumber>101</RevisionNumber>"
        "<UpdateID>ff2a96fb-cc89-4e5e-83b2-7d48aa179840</UpdateID><Extra><a><b/></a></Extra>"
        "</UpdateIdentity></NewRevisions><NewRevisions><UpdateIdentity><UpdateID>"
        "11111111-2222-3333-4444-555555555555</UpdateID><RevisionNumber>1</RevisionNumber>"
        "</UpdateIdentity></NewRevisions>" RESP_CLOSE;
    assert_int_equal(both_read(odd, anchor, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0].id, "0287014e-6772-4b4d-81f7-42063ac26e8a");
    assert_int_equal(ids[0].revision, 100);
    assert_int_equal(ids[1].revision, 101);
    assert_string_equal(anchor, "12,2026-01-01");
    free(ids);

    /* No list at all is an empty list; no anchor, or a bad identity, is refused. */
    assert_int_equal(
        both_read(ENV_OPEN RESP_OPEN "<Anchor>5</Anchor>" RESP_CLOSE, anchor, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
    static const char *const refused[] = {
        ENV_OPEN RESP_OPEN "<NewRevisions/>" RESP_CLOSE,
        ENV_OPEN RESP_OPEN "<Anchor>5</Anchor><NewRevisions><UpdateIdentity><UpdateID>"
                           "not-a-guid</UpdateID><RevisionNumber>1</RevisionNumber>"
                           "</UpdateIdentity></NewRevisions>" RESP_CLOSE,
        ENV_OPEN RESP_OPEN "<Anchor>5</Anchor><NewRevisions><UpdateIdentity><UpdateID>"
                           "0287014e-6772-4b4d-81f7-42063ac26e8a</UpdateID>"
                           "</UpdateIdentity></NewRevisions>" RESP_CLOSE,
        ENV_OPEN RESP_OPEN
        "<Anchor>5</Anchor><NewRevisions><UpdateIdentity><UpdateID>"
        "0287014e-6772-4b4d-81f7-42063ac26e8a</UpdateID><RevisionNumber>"
        "99999999999</RevisionNumber></UpdateIdentity></NewRevisions>" RESP_CLOSE,
        ENV_OPEN "<soap:Body><GetRevisionIdListResponse/></soap:Body></soap:Envelope>",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(both_read(refused[i], anchor, &ids, &n), CM_EPARSE);
        assert_null(ids);
    }

    /* What it is not for: a fault, garbage, a DOCTYPE, another envelope, a cut answer. */
    static const char *const other[] = {
        ENV_OPEN "<soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>no"
                 "</faultstring></soap:Fault></soap:Body></soap:Envelope>",
        "this is not XML",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
        "<GetRevisionIdListResponse><GetRevisionIdListResult><Anchor>&e;</Anchor>"
        "</GetRevisionIdListResult></GetRevisionIdListResponse></soap:Body></soap:Envelope>",
        "<Envelope xmlns=\"urn:other\"><Body><GetRevisionIdListResponse/></Body></Envelope>",
        ENV_OPEN RESP_OPEN "<Anchor>5</Anchor><NewRevisions><UpdateIdentity><UpdateID>0287",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        assert_int_equal(both_read(other[i], anchor, &ids, &n), WSUSSS_NOT_THIS_ANSWER);
        assert_null(ids);
    }
}

/*
 * Read a GetUpdateData answer both ways.  The stream reader either gives
 * exactly what the tree reader gives, or hands the answer over
 * (WSUSSS_NOT_THIS_ANSWER); *tree is what the tree reader returned.
 */
static int both_read_updates(const char *env, int *tree)
{
    wsusss_update_data *u1 = NULL, *u2 = NULL;
    wsusss_file_url *r1 = NULL, *r2 = NULL;
    size_t n1 = 0, n2 = 0, m1 = 0, m2 = 0;
    int sret = wsusss_update_response_parse(env, strlen(env), &u1, &n1, &r1, &m1);
    xmlDoc *doc = NULL;
    xmlNode *op = NULL;
    if (soap_parse(env, strlen(env), &doc, &op) < 0 ||
        strcmp((const char *)op->name, "GetUpdateDataResponse") != 0)
        *tree = WSUSSS_NOT_THIS_ANSWER;
    else
        *tree = wsusss_update_response_read(op, &u2, &n2, &r2, &m2);
    xmlFreeDoc(doc);
    assert_true(sret == 0 || sret == WSUSSS_NOT_THIS_ANSWER);
    if (sret == 0) {
        assert_int_equal(*tree, 0);
        assert_int_equal(n1, n2);
        assert_int_equal(m1, m2);
        for (size_t i = 0; i < n1; i++) {
            assert_memory_equal(&u1[i].id, &u2[i].id, sizeof u1[i].id);
            assert_int_equal(u1[i].xml_len, u2[i].xml_len);
            assert_memory_equal(u1[i].xml, u2[i].xml, u1[i].xml_len + 1);
            assert_int_equal(u1[i].was_compressed, u2[i].was_compressed);
            assert_int_equal(u1[i].ndigests, u2[i].ndigests);
            for (size_t k = 0; k < u1[i].ndigests; k++)
                assert_string_equal(u1[i].digests[k], u2[i].digests[k]);
        }
        for (size_t i = 0; i < m1; i++) {
            assert_string_equal(r1[i].digest, r2[i].digest);
            assert_true((r1[i].mu_url == NULL) == (r2[i].mu_url == NULL));
            if (r1[i].mu_url)
                assert_string_equal(r1[i].mu_url, r2[i].mu_url);
        }
    } else {
        assert_null(u1);
        assert_null(r1);
    }
    wsusss_update_data_free(u1, n1);
    wsusss_update_data_free(u2, n2);
    wsusss_file_urls_free(r1, m1);
    wsusss_file_urls_free(r2, m2);
    return sret;
}

#define UD_BODY_OPEN                                                                               \
    "<soap:Body><GetUpdateDataResponse "                                                           \
    "xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ServerSyncWebService\">"         \
    "<GetUpdateDataResult>"
#define UD_OPEN ENV_OPEN UD_BODY_OPEN
#define UD_CLOSE "</GetUpdateDataResult></GetUpdateDataResponse></soap:Body></soap:Envelope>"
#define UD_ID1                                                                                     \
    "<Id><UpdateID>0287014e-6772-4b4d-81f7-42063ac26e8a</UpdateID>"                                \
    "<RevisionNumber>100</RevisionNumber></Id>"

static void test_update_stream(void **state)
{
    (void)state;
    int tree;

    /*
     * What wsusd writes for a batch: markup, entities and UTF-8 in the
     * blobs, compressed blobs, files shared between updates, a URL without
     * MUUrl.  The stream must read it (not hand it over) and agree.
     */
    soap_buf body, env;
    soap_buf_init(&body);
    wsusss_update_response_begin(&body);
    for (int i = 0; i < 100; i++) {
        wsusss_identity id;
        char xml[600], dig[2][48];
        snprintf(id.id, sizeof id.id, "%08x-8798-4b37-8bf5-a3776130f5c9", i);
        id.revision = 100 + i;
        snprintf(xml, sizeof xml,
                 "<upd:Update xmlns:upd=\"u\"><upd:Title lang='en'>Update &amp; fix %d "
                 "\xc3\xa9\xe2\x82\xac \"q\" <![CDATA[x]]></upd:Title><b>]]]>\r\n]]>]]></b>"
                 "</upd:Update>",
                 i);
        snprintf(dig[0], 48, "AAAA%04dBBBBCCCCDDDDEEEEFFFF=", i);
        snprintf(dig[1], 48, "SHAREDDIGEST0000000000000000=");
        assert_int_equal(wsusss_update_response_add(&body, &id, xml, strlen(xml), i % 10 == 3, dig,
                                                    (size_t)(i % 3)),
                         0);
    }
    wsusss_update_response_urls(&body);
    wsusss_update_response_url(&body, "SHAREDDIGEST0000000000000000=", "http://x/shared.cab");
    wsusss_update_response_url(&body, "AAAA0001BBBBCCCCDDDDEEEEFFFF=", NULL);
    wsusss_update_response_end(&body);
    soap_buf_init(&env);
    soap_envelope_begin(&env);
    soap_buf_add(&env, body.data, body.len);
    soap_envelope_end(&env);
    soap_buf_add(&env, "", 1);
    assert_int_equal(both_read_updates(env.data, &tree), 0);
    /* The blobs come back byte for byte: CDATA split around "]]>" and CR. */
    wsusss_update_data *u = NULL;
    wsusss_file_url *fu = NULL;
    size_t nu = 0, nfu = 0;
    assert_int_equal(wsusss_update_response_parse(env.data, strlen(env.data), &u, &nu, &fu, &nfu),
                     0);
    assert_int_equal(nu, 100);
    assert_non_null(strstr(u[7].xml, "fix 7 \xc3\xa9\xe2\x82\xac \"q\" <![CDATA[x]]>"));
    assert_non_null(strstr(u[7].xml, "<b>]]]>\r\n]]>]]></b>"));
    assert_non_null(strstr(u[13].xml, "<b>]]]>\r\n]]>]]></b>"));
    assert_true(u[13].was_compressed);
    wsusss_update_data_free(u, nu);
    wsusss_file_urls_free(fu, nfu);
    soap_buf_free(&body);
    soap_buf_free(&env);

    /* Headers, CDATA, spaces, unknown and repeated elements: the first of each is read. */
    static const char odd[] =
        ENV_OPEN "<soap:Header><x>1</x></soap:Header>" UD_BODY_OPEN "<Other><updates/></Other>"
                 "<updates><Noise><ServerSyncUpdateData/></Noise>"
                 "<ServerSyncUpdateData><Extra>t</Extra>"
                 "<Id><UpdateID> {0287014E-6772-4B4D-81F7-42063AC26E8A} </UpdateID><x>9</x>"
                 "<RevisionNumber> 7 </RevisionNumber><RevisionNumber>8</RevisionNumber></Id>"
                 "<Id><UpdateID>11111111-2222-3333-4444-555555555555</UpdateID></Id>"
                 "<XmlUpdateBlob>&lt;a&gt;<![CDATA[<b/>]]>&#233;</XmlUpdateBlob>"
                 "<XmlUpdateBlob>second</XmlUpdateBlob>"
                 "<FileDigestList><base64Binary>  d1=  </base64Binary><x/><base64Binary>"
                 "<i>skipped</i>d2=</base64Binary></FileDigestList>"
                 "<FileDigestList><base64Binary>no</base64Binary></FileDigestList>"
                 "</ServerSyncUpdateData></updates><updates><ServerSyncUpdateData/></updates>"
                 "<fileUrls><ServerSyncUrlData><FileDigest> d1= </FileDigest><MUUrl></MUUrl>"
                 "</ServerSyncUrlData><ServerSyncUrlData><MUUrl>http://a/b?c=1&amp;d=2</MUUrl>"
                 "</ServerSyncUrlData></fileUrls>" UD_CLOSE;
    assert_int_equal(both_read_updates(odd, &tree), 0);

    /* No updates at all is an empty answer. */
    assert_int_equal(both_read_updates(UD_OPEN UD_CLOSE, &tree), 0);

    /* What the tree reader refuses, the stream hands over (and the tree refuses it). */
    static const char *const refused[] = {
        UD_OPEN "<updates><ServerSyncUpdateData><Id><UpdateID>not-a-guid</UpdateID>"
                "<RevisionNumber>1</RevisionNumber></Id><XmlUpdateBlob>x</XmlUpdateBlob>"
                "</ServerSyncUpdateData></updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData><Id><UpdateID>"
                "0287014e-6772-4b4d-81f7-42063ac26e8a</UpdateID></Id>"
                "<XmlUpdateBlob>x</XmlUpdateBlob></ServerSyncUpdateData></updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1 "<XmlUpdateBlob>x</XmlUpdateBlob>"
                "<XmlUpdateBlobCompressed>AAAA</XmlUpdateBlobCompressed>"
                "</ServerSyncUpdateData></updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1
                "</ServerSyncUpdateData></updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1
                "<XmlUpdateBlob>  </XmlUpdateBlob><XmlUpdateBlob/></ServerSyncUpdateData>"
                "</updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1 "<XmlUpdateBlob></XmlUpdateBlob>"
                "</ServerSyncUpdateData></updates>" UD_CLOSE,
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1
                "<XmlUpdateBlobCompressed>not base64 !</XmlUpdateBlobCompressed>"
                "</ServerSyncUpdateData></updates>" UD_CLOSE,
        ENV_OPEN "<soap:Body><GetUpdateDataResponse/></soap:Body></soap:Envelope>",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int sret = both_read_updates(refused[i], &tree);
        if (i == 4) {
            /* Spaces are a blob (the tree reader keeps them): both read it. */
            assert_int_equal(sret, 0);
            continue;
        }
        assert_int_equal(sret, WSUSSS_NOT_THIS_ANSWER);
        assert_true(tree < 0);
    }

    /* The update inline as elements (the specification's example): the tree serializes it. */
    assert_int_equal(
        both_read_updates(UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1
                                  "<XmlUpdateBlob><upd:Update xmlns:upd=\"u\"/></XmlUpdateBlob>"
                                  "</ServerSyncUpdateData></updates>" UD_CLOSE,
                          &tree),
        WSUSSS_NOT_THIS_ANSWER);
    assert_int_equal(tree, 0);

    /* Not for the stream: a fault, garbage, a DOCTYPE, another envelope, a cut answer. */
    static const char *const other[] = {
        ENV_OPEN "<soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>no"
                 "</faultstring></soap:Fault></soap:Body></soap:Envelope>",
        "this is not XML",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
        "<GetUpdateDataResponse><GetUpdateDataResult><updates><ServerSyncUpdateData>" UD_ID1
        "<XmlUpdateBlob>&e;</XmlUpdateBlob></ServerSyncUpdateData></updates>"
        "</GetUpdateDataResult></GetUpdateDataResponse></soap:Body></soap:Envelope>",
        "<Envelope xmlns=\"urn:other\"><Body><GetUpdateDataResponse/></Body></Envelope>",
        UD_OPEN "<updates><ServerSyncUpdateData>" UD_ID1 "<XmlUpdateBlob>&lt;a",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(both_read_updates(other[i], &tree), WSUSSS_NOT_THIS_ANSWER);
}

static void test_golden_revisions(void **state)
{
    (void)state;
    xmlDoc *doc;
    wsusss_filter f;
    wsusss_identity *ids;
    size_t n;
    char anchor[128];
    xmlNode *op = golden("ss_getrevisionidlist_req.xml", &doc);
    assert_int_equal(wsusss_revision_request_read(op, &f), 0);
    assert_true(f.get_config);
    assert_false(f.get63_language_only);
    assert_string_equal(f.anchor, "");
    assert_int_equal(f.ncategories, 0);
    xmlFreeDoc(doc);
    soap_buf b;
    soap_buf_init(&b);
    wsusss_cookie ck = {.expiration = "2006-05-26T22:59:25.1296674Z", .data = "c7jG7GX4"};
    wsusss_revision_request_write(&b, &ck, &f);
    op = reparse(&b, &doc);
    wsusss_filter f2;
    assert_int_equal(wsusss_revision_request_read(op, &f2), 0);
    assert_true(f2.get_config);
    assert_null(soap_child(soap_child(op, "filter"), "Anchor"));
    wsusss_filter_free(&f);
    wsusss_filter_free(&f2);
    xmlFreeDoc(doc);

    op = golden("ss_getrevisionidlist_resp.xml", &doc);
    assert_int_equal(wsusss_revision_response_read(op, anchor, sizeof anchor, &ids, &n), 0);
    assert_string_equal(anchor, "4742,2006-05-26 18:59:26.192");
    assert_int_equal(n, 2);
    assert_string_equal(ids[0].id, "0287014e-6772-4b4d-81f7-42063ac26e8a");
    assert_int_equal(ids[0].revision, 100);
    assert_string_equal(ids[1].id, "ff2a96fb-cc89-4e5e-83b2-7d48aa179840");
    assert_int_equal(ids[1].revision, 101);
    xmlFreeDoc(doc);
    soap_buf_init(&b);
    wsusss_revision_response_write(&b, anchor, ids, n);
    op = reparse(&b, &doc);
    wsusss_identity *ids2;
    size_t n2;
    assert_int_equal(wsusss_revision_response_read(op, anchor, sizeof anchor, &ids2, &n2), 0);
    assert_int_equal(n2, 2);
    assert_memory_equal(ids2, ids, 2 * sizeof *ids);
    assert_string_equal(anchor, "4742,2006-05-26 18:59:26.192");
    free(ids);
    free(ids2);
    xmlFreeDoc(doc);

    /* The update pass filter: products, classifications, languages. */
    memset(&f, 0, sizeof f);
    f.delta = 1;
    snprintf(f.anchor, sizeof f.anchor, "12,2026-01-01 00:00:00.000");
    char cats[2][37] = {"a105a108-7c9b-4518-bbbe-73f0fe30012b",
                        "fdfe8200-9d98-44ba-a12a-772282bf60ef"};
    char cls[1][37] = {"0fa1201d-4330-4fa8-8ae9-b877473b6441"};
    int langs[2] = {1033, 1031};
    f.categories = cats;
    f.ncategories = 2;
    f.classifications = cls;
    f.nclassifications = 1;
    f.languages = langs;
    f.nlanguages = 2;
    soap_buf_init(&b);
    wsusss_revision_request_write(&b, &ck, &f);
    op = reparse(&b, &doc);
    assert_int_equal(wsusss_revision_request_read(op, &f2), 0);
    assert_false(f2.get_config);
    assert_string_equal(f2.anchor, f.anchor);
    assert_int_equal(f2.ncategories, 2);
    assert_string_equal(f2.categories[1], cats[1]);
    assert_int_equal(f2.nclassifications, 1);
    assert_string_equal(f2.classifications[0], cls[0]);
    assert_int_equal(f2.nlanguages, 2);
    assert_int_equal(f2.languages[1], 1031);
    wsusss_filter_free(&f2);
    xmlFreeDoc(doc);
}

static void test_golden_update_data(void **state)
{
    (void)state;
    xmlDoc *doc;
    wsusss_identity *ids;
    size_t n, nups, nurls;
    wsusss_update_data *ups;
    wsusss_file_url *urls;
    xmlNode *op = golden("ss_getupdatedata_req.xml", &doc);
    assert_int_equal(wsusss_update_request_read(op, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[1].id, "36b1c48e-c741-4047-9b09-d38698ed34b3");
    assert_int_equal(ids[1].revision, 101);
    xmlFreeDoc(doc);
    soap_buf b;
    soap_buf_init(&b);
    wsusss_cookie ck = {.expiration = "2006-05-27T22:42:23.0632331Z", .data = "XXRQ"};
    wsusss_update_request_write(&b, &ck, ids, n);
    op = reparse(&b, &doc);
    wsusss_identity *ids2;
    size_t n2;
    assert_int_equal(wsusss_update_request_read(op, &ids2, &n2), 0);
    assert_int_equal(n2, 2);
    assert_memory_equal(ids2, ids, 2 * sizeof *ids);
    free(ids);
    free(ids2);
    xmlFreeDoc(doc);

    /* The example's compressed blob is trimmed: the message is refused cleanly. */
    op = golden("ss_getupdatedata_resp.xml", &doc);
    assert_int_equal(wsusss_update_response_read(op, &ups, &nups, &urls, &nurls), CM_EPARSE);
    assert_null(ups);
    xmlFreeDoc(doc);

    /* Without it, the inline update element is the blob, and a valid update. */
    op = golden("ss_getupdatedata_resp_inline.xml", &doc);
    assert_int_equal(wsusss_update_response_read(op, &ups, &nups, &urls, &nurls), 0);
    assert_int_equal(nups, 1);
    assert_int_equal(nurls, 0);
    assert_string_equal(ups[0].id.id, "17e993cd-cf5a-4276-9944-6af62ff7139c");
    assert_int_equal(ups[0].id.revision, 100);
    assert_false(ups[0].was_compressed);
    updxml_update u;
    assert_int_equal(updxml_parse(ups[0].xml, ups[0].xml_len, &u), 0);
    assert_string_equal(u.update_id, "17e993cd-cf5a-4276-9944-6af62ff7139c");
    assert_int_equal(u.revision, 100);
    assert_int_equal(u.type, UPDXML_TYPE_DETECTOID);
    assert_string_equal(updxml_title(&u, "en"), "SQL 2005 English ia64");
    xmlFreeDoc(doc);

    /* Produced: the same update as plain and as compressed blob, with a file URL. */
    char dig[1][48] = {"zVd5CFWBEGPdpSoHVxT3WEfXZPQ="};
    for (int comp = 0; comp <= 1; comp++) {
        soap_buf_init(&b);
        wsusss_update_response_begin(&b);
        assert_int_equal(
            wsusss_update_response_add(&b, &ups[0].id, ups[0].xml, ups[0].xml_len, comp, dig, 1),
            0);
        wsusss_update_response_urls(&b);
        wsusss_update_response_url(&b, dig[0], "http://download.windowsupdate.com/x.cab");
        wsusss_update_response_end(&b);
        op = reparse(&b, &doc);
        wsusss_update_data *u2;
        size_t nu2;
        assert_int_equal(wsusss_update_response_read(op, &u2, &nu2, &urls, &nurls), 0);
        assert_int_equal(nu2, 1);
        assert_int_equal(u2[0].was_compressed, comp);
        assert_int_equal(u2[0].xml_len, ups[0].xml_len);
        assert_memory_equal(u2[0].xml, ups[0].xml, ups[0].xml_len);
        assert_int_equal(u2[0].ndigests, 1);
        assert_string_equal(u2[0].digests[0], dig[0]);
        assert_int_equal(nurls, 1);
        assert_string_equal(urls[0].mu_url, "http://download.windowsupdate.com/x.cab");
        wsusss_update_data_free(u2, nu2);
        wsusss_file_urls_free(urls, nurls);
        xmlFreeDoc(doc);
    }
    updxml_free(&u);
    wsusss_update_data_free(ups, nups);
}

static void test_golden_fault(void **state)
{
    (void)state;
    xmlDoc *doc;
    char fs[2048], ec[64];
    xmlNode *op = golden("ss_fault_invalidcookie.xml", &doc);
    assert_int_equal(soap_fault_read(op, fs, sizeof fs, ec, sizeof ec), 1);
    assert_string_equal(ec, "InvalidCookie");
    assert_int_equal(strncmp(fs, "System.Web.Services.Protocols.SoapException: Fault occurred", 59),
                     0);
    xmlFreeDoc(doc);
}

static void test_request_validation(void **state)
{
    (void)state;
    static const char *bad_auth[] = {
        "<GetAuthorizationCookie xmlns=\"" WSUSSS_DSSAUTH_NS "\"><accountName></accountName>"
        "<accountGuid>adb2fe48-0b2e-451e-8fc8-44b29845b0c6</accountGuid></GetAuthorizationCookie>",
        "<GetAuthorizationCookie xmlns=\"" WSUSSS_DSSAUTH_NS "\"><accountName>a b</accountName>"
        "<accountGuid>adb2fe48-0b2e-451e-8fc8-44b29845b0c6</accountGuid></GetAuthorizationCookie>",
        "<GetAuthorizationCookie xmlns=\"" WSUSSS_DSSAUTH_NS "\"><accountName>x.y</accountName>"
        "<accountGuid>not-a-guid</accountGuid></GetAuthorizationCookie>",
    };
    for (size_t i = 0; i < sizeof bad_auth / sizeof bad_auth[0]; i++) {
        soap_buf b;
        xmlDoc *doc;
        char n[256], g[64];
        soap_buf_init(&b);
        soap_buf_puts(&b, bad_auth[i]);
        xmlNode *op = reparse(&b, &doc);
        assert_int_equal(wsusss_auth_cookie_request_read(op, n, sizeof n, g, sizeof g), CM_EPARSE);
        xmlFreeDoc(doc);
    }
    /* A filter without GetConfig, and identities that are not GUIDs. */
    soap_buf b;
    xmlDoc *doc;
    wsusss_filter f;
    soap_buf_init(&b);
    soap_buf_puts(&b, "<GetRevisionIdList xmlns=\"" WSUSSS_NS "\"><filter/></GetRevisionIdList>");
    xmlNode *op = reparse(&b, &doc);
    assert_int_equal(wsusss_revision_request_read(op, &f), CM_EPARSE);
    xmlFreeDoc(doc);
    wsusss_identity *ids;
    size_t n;
    soap_buf_init(&b);
    soap_buf_puts(&b, "<GetUpdateData xmlns=\"" WSUSSS_NS "\"><updateIds><UpdateIdentity>"
                      "<UpdateID>zz</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity>"
                      "</updateIds></GetUpdateData>");
    op = reparse(&b, &doc);
    assert_int_equal(wsusss_update_request_read(op, &ids, &n), CM_EPARSE);
    xmlFreeDoc(doc);
    char g[37];
    assert_int_equal(wsusss_guid_parse("{ADB2FE48-0B2E-451E-8FC8-44B29845B0C6}", g), 0);
    assert_string_equal(g, "adb2fe48-0b2e-451e-8fc8-44b29845b0c6");
    assert_int_equal(wsusss_guid_parse("adb2fe48-0b2e-451e-8fc8-44b29845b0c", g), CM_EPARSE);
}

/* ------------------------------------------------------------------ */
/* wsusapi                                                             */
/* ------------------------------------------------------------------ */

static xmlNode *wrap(const char *inner, xmlDoc **doc)
{
    soap_buf b;
    soap_buf_init(&b);
    soap_buf_printf(&b, "<X xmlns=\"%s\">%s</X>", WSUSAPI_NS, inner);
    return reparse(&b, doc);
}

static void test_config_roundtrip(void **state)
{
    (void)state;
    wsusapi_config c, c2;
    xmlDoc *doc;
    soap_buf b;
    wsusapi_config_defaults(&c);
    assert_string_equal(c.mu_url, "generated:");
    c.source = WSUSAPI_SOURCE_UPSTREAM;
    snprintf(c.upstream_server, sizeof c.upstream_server, "cs1site.contoso.com");
    c.upstream_port = 8531;
    c.upstream_ssl = 1;
    c.replica_mode = 1;
    c.use_proxy = 1;
    snprintf(c.proxy_name, sizeof c.proxy_name, "proxy <&> contoso");
    c.proxy_port = 3128;
    snprintf(c.proxy_password, sizeof c.proxy_password, "s3cret");
    snprintf(c.languages, sizeof c.languages, "en,de");
    soap_buf_init(&b);
    wsusapi_config_write(&b, &c);
    char *inner = soap_buf_take(&b, NULL);
    xmlNode *op = wrap(inner, &doc);
    free(inner);
    assert_int_equal(wsusapi_config_read(op, &c2), 0);
    assert_memory_equal(&c, &c2, sizeof c);
    xmlFreeDoc(doc);

    /* Invalid: an upstream without a name, a port out of range, an unknown source. */
    op = wrap("<SyncSource>UpstreamServer</SyncSource>", &doc);
    assert_int_equal(wsusapi_config_read(op, &c2), CM_EPARSE);
    xmlFreeDoc(doc);
    op = wrap("<SyncToMU>false</SyncToMU><UpstreamServerName>x</UpstreamServerName>"
              "<ServerPortNumber>70000</ServerPortNumber>",
              &doc);
    assert_int_equal(wsusapi_config_read(op, &c2), CM_ERANGE);
    xmlFreeDoc(doc);
    op = wrap("<SyncSource>Floppy</SyncSource>", &doc);
    assert_int_equal(wsusapi_config_read(op, &c2), CM_EPARSE);
    xmlFreeDoc(doc);
    /* The WSUS names alone (SyncToMU false + a name) mean an upstream server. */
    op = wrap("<SyncToMU>false</SyncToMU><UpstreamServerName>up</UpstreamServerName>", &doc);
    assert_int_equal(wsusapi_config_read(op, &c2), 0);
    assert_int_equal(c2.source, WSUSAPI_SOURCE_UPSTREAM);
    assert_int_equal(c2.upstream_port, 8530);
    xmlFreeDoc(doc);
}

static void test_subscription_roundtrip(void **state)
{
    (void)state;
    wsusapi_subscription s = {0}, s2;
    xmlDoc *doc;
    soap_buf b;
    char *p[] = {"A105A108-7C9B-4518-BBBE-73F0FE30012B"};
    char *c[] = {"0fa1201d-4330-4fa8-8ae9-b877473b6441", "{E6CF1350-C01B-414D-A61F-263D14D133B4}"};
    s.sync_automatically = 1;
    s.time_of_day_s = 3600;
    s.syncs_per_day = 4;
    s.product_ids = p;
    s.nproducts = 1;
    s.classification_ids = c;
    s.nclassifications = 2;
    soap_buf_init(&b);
    wsusapi_subscription_write(&b, &s);
    char *inner = soap_buf_take(&b, NULL);
    xmlNode *op = wrap(inner, &doc);
    free(inner);
    assert_int_equal(wsusapi_subscription_read(op, &s2), 0);
    assert_true(s2.sync_automatically);
    assert_int_equal(s2.time_of_day_s, 3600);
    assert_int_equal(s2.syncs_per_day, 4);
    assert_int_equal(s2.nproducts, 1);
    assert_string_equal(s2.product_ids[0], "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    assert_int_equal(s2.nclassifications, 2);
    assert_string_equal(s2.classification_ids[1], "e6cf1350-c01b-414d-a61f-263d14d133b4");
    wsusapi_subscription_free(&s2);
    xmlFreeDoc(doc);
    op = wrap("<Categories><guid>nope</guid></Categories>", &doc);
    assert_int_equal(wsusapi_subscription_read(op, &s2), CM_EPARSE);
    xmlFreeDoc(doc);
    op = wrap("<NumberOfSynchronizationsPerDay>25</NumberOfSynchronizationsPerDay>", &doc);
    assert_int_equal(wsusapi_subscription_read(op, &s2), CM_ERANGE);
    xmlFreeDoc(doc);
    assert_string_equal(wsusapi_phase_name(WSUSAPI_PHASE_APPROVALS), "other items");
}

static void test_api_refused(void **state)
{
    (void)state;
    httpd *h;
    httpd_config cfg = {.port = 0};
    assert_int_equal(httpd_start(&h, &cfg, test_server, NULL), 0);
    int port = httpd_port(h);
    httpd_stop(h);
    wsusapi *c;
    wsusapi_target t = {.host = "127.0.0.1", .port = port, .timeout_s = 10};
    assert_int_equal(wsusapi_connect(&c, &t), SOAP_ECONNECT);
    assert_string_equal(wsusapi_error(c), "Unable to connect to the remote server");
    assert_int_equal(wsusapi_http_status(c), 0);
    wsusapi_close(c);
}

/* ------------------------------------------------------------------ */
/* susdb                                                               */
/* ------------------------------------------------------------------ */

typedef struct db_fixture {
    char dir[256];
    db *d;
} db_fixture;

static int db_setup(void **state)
{
    db_fixture *f = calloc(1, sizeof *f);
    char conn[1024];
    const char *failed = NULL;
    assert_int_equal(tu_mkdtemp(f->dir, sizeof f->dir), 0);
    tu_test_connstr(conn, sizeof conn, f->dir);
    assert_int_equal(db_open(&f->d, conn), 0);
    /* Twice: the scripts are idempotent. */
    assert_int_equal(susdb_apply(f->d, &failed), 0);
    assert_int_equal(susdb_apply(f->d, &failed), 0);
    /* A PostgreSQL test database is shared: start from empty tables. */
    static const char *tables[] = {"tbUpdate",
                                   "tbRevision",
                                   "tbXml",
                                   "tbCategory",
                                   "tbRevisionInCategory",
                                   "tbRevisionSupersedesUpdate",
                                   "tbBundleDependency",
                                   "tbPreComputedLocalizedProperty",
                                   "tbFile",
                                   "tbFileForRevision",
                                   "tbSubscriptionCategory",
                                   "tbEventInstance",
                                   "tbConfiguration"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        assert_int_equal(db_exec(f->d, sql), 0);
    }
    *state = f;
    return 0;
}

static int db_teardown(void **state)
{
    db_fixture *f = *state;
    db_close(f->d);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

typedef struct gen_store {
    susdb_store *s;
    long news, same, cats;
} gen_store;

static int store_gen(void *ud, const updxml_update *u, long long rid)
{
    gen_store *g = ud;
    char *xml;
    size_t len;
    susdb_stored what;
    int dropped;
    (void)rid;
    assert_int_equal(updxml_write(u, &xml, &len), 0);
    assert_int_equal(susdb_store_update(g->s, u, xml, len, NULL, 0, &what, &dropped), 0);
    assert_int_equal(dropped, 0);
    if (what == SUSDB_STORED_NEW)
        g->news++;
    else if (what == SUSDB_STORED_SAME)
        g->same++;
    if (u->type == UPDXML_TYPE_CATEGORY)
        g->cats++;
    free(xml);
    return 0;
}

static void test_store_generated(void **state)
{
    db_fixture *f = *state;
    catalog_gen_options o = {.updates = 200, .seed = 7, .languages = "en,de"};
    gen_store g = {0};
    long long nu, nc, anchor;
    assert_int_equal(susdb_store_open(&g.s, f->d), 0);
    assert_int_equal(db_begin(f->d), 0);
    assert_int_equal(catalog_gen_each(&o, store_gen, &g), 0);
    assert_int_equal(susdb_store_flush(g.s), 0);
    assert_int_equal(db_commit(f->d), 0);
    assert_true(g.news >= 200 + g.cats);
    assert_int_equal(g.same, 0);
    susdb_store_close(g.s);
    assert_int_equal(susdb_counts(f->d, &nu, &nc), 0);
    assert_int_equal(nc, g.cats);
    assert_true(nu >= 200);

    /* Storing the same catalog again changes nothing. */
    gen_store g2 = {0};
    assert_int_equal(susdb_store_open(&g2.s, f->d), 0);
    assert_int_equal(db_begin(f->d), 0);
    assert_int_equal(catalog_gen_each(&o, store_gen, &g2), 0);
    assert_int_equal(susdb_store_flush(g2.s), 0);
    assert_int_equal(db_commit(f->d), 0);
    assert_int_equal(g2.news, 0);
    assert_int_equal(g2.same, g.news);
    susdb_store_close(g2.s);

    /* The configuration pass and the update pass see everything after anchor 0. */
    wsusss_identity *ids;
    size_t n;
    assert_int_equal(susdb_max_anchor(f->d, &anchor), 0);
    assert_int_equal(susdb_revisions_since(f->d, 0, anchor, 1, NULL, 0, NULL, 0, &ids, &n), 0);
    assert_int_equal(n, (size_t)nc);
    free(ids);
    assert_int_equal(susdb_revisions_since(f->d, 0, anchor, 0, NULL, 0, NULL, 0, &ids, &n), 0);
    assert_int_equal(n, (size_t)nu);
    /* Nothing after the newest anchor. */
    wsusss_identity *none;
    size_t nn;
    assert_int_equal(susdb_revisions_since(f->d, anchor, anchor, 0, NULL, 0, NULL, 0, &none, &nn),
                     0);
    assert_int_equal(nn, 0);
    free(none);

    /* A revision's XML comes back as stored, and parses. */
    char *xml, (*dig)[48];
    size_t len, nd;
    assert_int_equal(susdb_revision_xml(f->d, &ids[n - 1], &xml, &len, &dig, &nd), 0);
    updxml_update u;
    assert_int_equal(updxml_parse(xml, len, &u), 0);
    assert_string_equal(u.update_id, ids[n - 1].id);
    assert_int_equal(nd, u.nfiles);
    updxml_free(&u);
    free(xml);
    free(dig);
    wsusss_identity unknown = {"00000000-0000-0000-0000-000000000001", 1};
    assert_int_equal(susdb_revision_xml(f->d, &unknown, &xml, &len, &dig, &nd), CM_ENOTFOUND);

    /* Filtered by one product and one classification: a non-empty subset. */
    char prod[1][37], cls[1][37];
    const char *pick = "SELECT cu.UpdateID FROM tbRevisionInCategory ric JOIN tbCategory c ON "
                       "c.CategoryID = ric.CategoryID JOIN tbUpdate cu ON cu.LocalUpdateID = "
                       "c.CategoryID WHERE c.CategoryType = ? AND ric.RevisionID = (SELECT "
                       "MIN(a.RevisionID) FROM tbRevisionInCategory a JOIN tbCategory ca ON "
                       "ca.CategoryID = a.CategoryID AND ca.CategoryType = 'Product' JOIN "
                       "tbRevisionInCategory b ON b.RevisionID = a.RevisionID JOIN tbCategory cb "
                       "ON cb.CategoryID = b.CategoryID AND cb.CategoryType = "
                       "'UpdateClassification')";
    const char *types[] = {"Product", "UpdateClassification"};
    for (int k = 0; k < 2; k++) {
        db_stmt *st;
        assert_int_equal(db_prepare(f->d, &st, pick), 0);
        db_bind_text(st, 1, types[k]);
        assert_int_equal(db_step(st), 1);
        snprintf(k ? cls[0] : prod[0], 37, "%s", db_col_text(st, 0));
        db_finalize(st);
    }
    wsusss_identity *sub;
    size_t ns;
    assert_int_equal(susdb_revisions_since(f->d, 0, anchor, 0, prod, 1, cls, 1, &sub, &ns), 0);
    assert_true(ns > 0);
    assert_true(ns < n);
    for (size_t i = 0; i < ns; i++) {
        wsusapi_update wu;
        assert_int_equal(susdb_update_by_id(f->d, sub[i].id, "en", &wu), 0);
    }
    free(sub);
    free(ids);

    /* Categories with their parents, and an update by ID. */
    wsusapi_category *cats;
    size_t ncats;
    assert_int_equal(susdb_categories(f->d, "de", &cats, &ncats), 0);
    assert_int_equal(ncats, (size_t)nc);
    int with_parent = 0;
    for (size_t i = 0; i < ncats; i++)
        with_parent += cats[i].parent_id[0] != 0;
    assert_true(with_parent > 0);
    free(cats);
    wsusapi_update wu;
    assert_int_equal(susdb_update_by_id(f->d, "00000000-0000-0000-0000-000000000001", "en", &wu),
                     CM_ENOTFOUND);
}

/* An update document by hand: id, type, what it supersedes and bundles. */
static void make_update(updxml_update *u, const char *id, const char *supersedes,
                        const char *bundles)
{
    memset(u, 0, sizeof *u);
    snprintf(u->update_id, sizeof u->update_id, "%s", id);
    u->revision = 100;
    u->type = UPDXML_TYPE_SOFTWARE;
    u->is_public = -1;
    u->explicitly_deployable = -1;
    u->display_order = -1;
    u->nlocalized = 1;
    u->localized = calloc(1, sizeof *u->localized);
    u->localized[0].language = strdup("en");
    u->localized[0].title = strdup(id);
    if (supersedes) {
        u->nsuperseded = 1;
        u->superseded = calloc(1, sizeof *u->superseded);
        snprintf(u->superseded[0].id, sizeof u->superseded[0].id, "%s", supersedes);
    }
    if (bundles) {
        u->nbundled = 1;
        u->bundled = calloc(1, sizeof *u->bundled);
        snprintf(u->bundled[0].id, sizeof u->bundled[0].id, "%s", bundles);
        u->bundled[0].revision = 100;
    }
}

static int store_hand(susdb_store *s, const char *id, const char *sup, const char *bun)
{
    updxml_update u, p;
    char *xml;
    size_t len;
    susdb_stored what;
    int dropped = 0;
    make_update(&u, id, sup, bun);
    assert_int_equal(updxml_write(&u, &xml, &len), 0);
    assert_int_equal(updxml_parse(xml, len, &p), 0);
    assert_int_equal(susdb_store_update(s, &p, xml, len, NULL, 0, &what, &dropped), 0);
    updxml_free(&u);
    updxml_free(&p);
    free(xml);
    return dropped;
}

static int cycles_seen;
static void on_cycle(void *ud, const char *kind, const char *from, const char *to)
{
    (void)ud;
    (void)from;
    (void)to;
    assert_true(strcmp(kind, "supersedence") == 0 || strcmp(kind, "bundle") == 0);
    cycles_seen++;
}

static void test_store_cycles(void **state)
{
    db_fixture *f = *state;
    susdb_store *s;
    const char *A = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *B = "bbbbbbbb-0000-4000-8000-000000000002";
    const char *C = "cccccccc-0000-4000-8000-000000000003";
    const char *D = "dddddddd-0000-4000-8000-000000000004";
    const char *E = "eeeeeeee-0000-4000-8000-000000000005";
    const char *F = "ffffffff-0000-4000-8000-000000000006";
    assert_int_equal(susdb_store_open(&s, f->d), 0);
    assert_int_equal(db_begin(f->d), 0);
    /* A supersedes B supersedes C supersedes A; D supersedes and bundles itself. */
    assert_int_equal(store_hand(s, A, B, NULL), 0);
    assert_int_equal(store_hand(s, B, C, NULL), 0);
    assert_int_equal(store_hand(s, C, A, NULL), 0);
    assert_int_equal(store_hand(s, D, D, D), 2);
    /* E bundles F bundles E. */
    assert_int_equal(store_hand(s, E, NULL, F), 0);
    assert_int_equal(store_hand(s, F, NULL, E), 0);
    assert_int_equal(susdb_store_flush(s), 0);
    assert_int_equal(db_commit(f->d), 0);
    susdb_store_close(s);
    cycles_seen = 0;
    assert_int_equal(susdb_break_cycles(f->d, on_cycle, NULL), 2);
    assert_int_equal(cycles_seen, 2);
    assert_int_equal(susdb_break_cycles(f->d, on_cycle, NULL), 0);
    long long edges = 0;
    assert_int_equal(
        db_query_int(f->d, "SELECT COUNT(*) FROM tbRevisionSupersedesUpdate", NULL, NULL, &edges),
        0);
    assert_int_equal(edges, 2);
    assert_int_equal(
        db_query_int(f->d, "SELECT COUNT(*) FROM tbBundleDependency", NULL, NULL, &edges), 0);
    assert_int_equal(edges, 1);
    /* A superseded update reads as superseded. */
    wsusapi_update wu;
    assert_int_equal(susdb_update_by_id(f->d, B, "en", &wu), 0);
    assert_true(wu.is_superseded);
}

static void test_settings(void **state)
{
    db_fixture *f = *state;
    wsusapi_config c, c2;
    char id[37], id2[37];
    assert_int_equal(susdb_server_id(f->d, id), 0);
    assert_int_equal(susdb_server_id(f->d, id2), 0);
    assert_string_equal(id, id2);
    assert_int_equal(susdb_config_load(f->d, &c), 0);
    assert_int_equal(c.source, WSUSAPI_SOURCE_MU);
    assert_string_equal(c.mu_url, "generated:");
    assert_string_equal(c.languages, "en");
    c.source = WSUSAPI_SOURCE_OFFLINE;
    snprintf(c.offline_path, sizeof c.offline_path, "/srv/wsusscn2.cab");
    snprintf(c.languages, sizeof c.languages, "de,en,ja");
    assert_int_equal(susdb_config_save(f->d, &c), 0);
    assert_int_equal(susdb_config_load(f->d, &c2), 0);
    assert_int_equal(c2.source, WSUSAPI_SOURCE_OFFLINE);
    assert_string_equal(c2.offline_path, "/srv/wsusscn2.cab");
    assert_string_equal(c2.languages, "de,en,ja"); /* by LCID */
    snprintf(c.languages, sizeof c.languages, "en,xx");
    assert_int_equal(susdb_config_save(f->d, &c), CM_ERANGE);
    assert_int_equal(susdb_config_load(f->d, &c2), 0);
    assert_string_equal(c2.languages, "de,en,ja"); /* unchanged */

    assert_int_equal(susdb_check_account(f->d, "u", "p"), CM_ENOTFOUND);
    assert_int_equal(susdb_set_account(f->d, "CONTOSO\\wsus", "Pa55 word"), 0);
    assert_int_equal(susdb_check_account(f->d, "CONTOSO\\wsus", "Pa55 word"), 1);
    assert_int_equal(susdb_check_account(f->d, "CONTOSO\\wsus", "wrong"), 0);
    assert_int_equal(susdb_check_account(f->d, "other", "Pa55 word"), 0);
    assert_int_equal(susdb_check_account(f->d, NULL, NULL), 0);
    assert_int_equal(susdb_set_account(f->d, "", ""), 0);
    assert_int_equal(susdb_check_account(f->d, "u", "p"), CM_ENOTFOUND);

    wsusapi_subscription s = {0}, s2;
    char *p[] = {"a105a108-7c9b-4518-bbbe-73f0fe30012b"};
    s.sync_automatically = 1;
    s.time_of_day_s = 7200;
    s.syncs_per_day = 2;
    s.product_ids = p;
    s.nproducts = 1;
    assert_int_equal(susdb_subscription_save(f->d, &s, "tester"), 0);
    assert_int_equal(susdb_subscription_load(f->d, &s2), 0);
    assert_int_equal(s2.time_of_day_s, 7200);
    assert_int_equal(s2.nproducts, 1);
    assert_int_equal(s2.nclassifications, 0);
    assert_string_equal(s2.last_modified_by, "tester");
    wsusapi_subscription_free(&s2);

    wsusapi_sync_info in = {.result = WSUSAPI_RESULT_FAILED,
                            .start_time = 1700000000,
                            .end_time = 1700000060,
                            .new_updates = 5};
    snprintf(in.error, sizeof in.error, "UssCommunicationError: WebException: x");
    wsusapi_sync_info out;
    assert_int_equal(susdb_last_sync_save(f->d, &in), 0);
    assert_int_equal(susdb_last_sync_load(f->d, &out), 0);
    assert_int_equal(out.result, WSUSAPI_RESULT_FAILED);
    assert_int_equal(out.end_time, 1700000060);
    assert_int_equal(out.new_updates, 5);
    assert_string_equal(out.error, in.error);
}

static void test_schedule(void **state)
{
    (void)state;
    wsusapi_subscription s = {.sync_automatically = 0, .syncs_per_day = 1};
    time_t day = 1700006400 - (1700006400 % 86400);
    assert_int_equal(sync_next_scheduled(&s, day), 0);
    s.sync_automatically = 1;
    s.time_of_day_s = 3600;
    assert_int_equal(sync_next_scheduled(&s, day), day + 3600);
    assert_int_equal(sync_next_scheduled(&s, day + 3600), day + 86400 + 3600);
    s.syncs_per_day = 4; /* every 6 hours from 01:00 */
    assert_int_equal(sync_next_scheduled(&s, day + 3600), day + 3600 + 6 * 3600);
    assert_int_equal(sync_next_scheduled(&s, day + 23 * 3600), day + 86400 + 3600);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const struct CMUnitTest soap_tests[] = {
        cmocka_unit_test(test_buf_escape),    cmocka_unit_test(test_buf_cdata),
        cmocka_unit_test(test_parse_rejects), cmocka_unit_test(test_fault_roundtrip),
        cmocka_unit_test(test_client_errors),
    };
    const struct CMUnitTest cab_tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_cab_roundtrip),
        cmocka_unit_test(test_spec_blob_header),
    };
    const struct CMUnitTest golden_tests[] = {
        cmocka_unit_test(test_golden_auth_config), cmocka_unit_test(test_golden_auth_cookie),
        cmocka_unit_test(test_golden_cookie),      cmocka_unit_test(test_golden_config),
        cmocka_unit_test(test_golden_revisions),   cmocka_unit_test(test_golden_update_data),
        cmocka_unit_test(test_revision_stream),    cmocka_unit_test(test_update_stream),
        cmocka_unit_test(test_golden_fault),       cmocka_unit_test(test_request_validation),
    };
    const struct CMUnitTest api_tests[] = {
        cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_subscription_roundtrip),
        cmocka_unit_test(test_api_refused),
    };
    const struct CMUnitTest db_tests[] = {
        cmocka_unit_test_setup_teardown(test_store_generated, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_store_cycles, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_settings, db_setup, db_teardown),
        cmocka_unit_test(test_schedule),
    };
    const char *g = argc > 1 ? argv[1] : "";
    if (strcmp(g, "soap") == 0)
        return cmocka_run_group_tests_name("soap", soap_tests, NULL, NULL);
    if (strcmp(g, "cabmem") == 0)
        return cmocka_run_group_tests_name("cabmem", cab_tests, NULL, NULL);
    if (strcmp(g, "golden") == 0)
        return cmocka_run_group_tests_name("golden", golden_tests, NULL, NULL);
    if (strcmp(g, "wsusapi") == 0)
        return cmocka_run_group_tests_name("wsusapi", api_tests, NULL, NULL);
    if (strcmp(g, "susdb") == 0)
        return cmocka_run_group_tests_name("susdb", db_tests, NULL, NULL);
    fprintf(stderr, "usage: test-wsus soap|cabmem|golden|wsusapi|susdb\n");
    return 2;
}
