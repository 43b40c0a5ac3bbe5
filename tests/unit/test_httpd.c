/*
 * test_httpd.c - the shared HTTP server with a real client (libcurl) on
 * loopback: bodies, SOAPAction, Basic credentials and 401, the body cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "httpd.h"

/* Echoes what it saw; asks for credentials on /secret unless lab/pw. */
static void handler(void *ud, const httpd_request *req, httpd_response *resp)
{
    (void)ud;
    char buf[1024];
    if (strcmp(req->url, "/secret") == 0 &&
        !(req->user && req->password && strcmp(req->user, "lab") == 0 &&
          strcmp(req->password, "pw") == 0)) {
        resp->status = 401;
        resp->www_authenticate = 1;
        return;
    }
    int n = snprintf(buf, sizeof buf, "%s %s len=%zu soap=%s user=%s body=%s", req->method,
                     req->url, req->body_len, req->soap_action ? req->soap_action : "-",
                     req->user ? req->user : "-", req->body);
    resp->content_type = "text/plain";
    resp->body = strdup(buf);
    resp->body_len = (size_t)n;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    char *out = ud;
    size_t have = strlen(out), add = sz * n;
    if (have + add >= 4096)
        add = 4095 - have;
    memcpy(out + have, p, add);
    out[have + add] = '\0';
    return sz * n;
}

static long request(int port, const char *path, const char *body, const char *userpwd,
                    const char *soap, char *out)
{
    char url[256];
    long code = 0;
    struct curl_slist *hdr = NULL;
    CURL *c = curl_easy_init();
    out[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (userpwd)
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    if (soap) {
        hdr = curl_slist_append(hdr, soap);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return code;
}

static void test_http_round_trips(void **state)
{
    (void)state;
    httpd *h;
    char out[4096];
    httpd_config cfg = {.port = 0, .max_body = 1000, .realm = "WSUS"};
    assert_int_equal(httpd_start(&h, &cfg, handler, NULL), 0);
    int port = httpd_port(h);
    assert_true(port > 0);

    assert_int_equal(request(port, "/ClientWebService/x", NULL, NULL, NULL, out), 200);
    assert_string_equal(out, "GET /ClientWebService/x len=0 soap=- user=- body=");
    assert_int_equal(
        request(port, "/api", "<a>1</a>", NULL, "SOAPAction: \"http://example/GetThing\"", out),
        200);
    assert_string_equal(out, "POST /api len=8 soap=http://example/GetThing user=- body=<a>1</a>");
    /* No or wrong credentials: 401 with a Basic challenge; right ones pass. */
    assert_int_equal(request(port, "/secret", NULL, NULL, NULL, out), 401);
    assert_int_equal(request(port, "/secret", NULL, "lab:wrong", NULL, out), 401);
    assert_int_equal(request(port, "/secret", NULL, "lab:pw", NULL, out), 200);
    assert_non_null(strstr(out, "user=lab"));
    /* Over the cap: 413, and the server goes on serving. */
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    assert_int_equal(request(port, "/api", big, NULL, NULL, out), 413);
    free(big);
    assert_int_equal(request(port, "/after", NULL, NULL, NULL, out), 200);
    httpd_stop(h);
}

static void test_bad_bind(void **state)
{
    (void)state;
    httpd *h;
    httpd_config cfg = {.bind_addr = "not-an-address", .port = 0};
    assert_true(httpd_start(&h, &cfg, handler, NULL) < 0);
}

int test_httpd(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_round_trips),
        cmocka_unit_test(test_bad_bind),
    };
    return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
