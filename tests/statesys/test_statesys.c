/*
 * test_statesys.c - unit tests of the state system (statesys/): the SMX
 * parser (encodings, the seed 004 state message body as a golden parse,
 * XXE and entity bombs, hostile and missing values), the many-row
 * statements, and the rules that apply messages and summarize them, on the
 * test database ($CM_TEST_DB, set by tests/with-postgres.sh, or SQLite).
 *
 *   statesys-unit GROUP     groups: smx, apply, summary
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "apply.h"
#include "batch.h"
#include "cm_error.h"
#include "db.h"
#include "hmap.h"
#include "schema.h"
#include "smx.h"
#include "summary.h"
#include "testutil.h"

#ifndef CM_STATESYS_TESTS_DIR
#define CM_STATESYS_TESTS_DIR "tests/statesys"
#endif

#define SEED_UPDATE "505fda07-b4f3-45fb-83d9-8642554e2773"
#define SEED_CLIENT "GUID:A1006D0E-CF56-41D1-A006-6330EFC39381"

/* ------------------------------------------------------------------ */
/* Helpers: files, encodings, collected records                        */
/* ------------------------------------------------------------------ */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static char *seed_body(size_t *len)
{
    return read_all(CM_STATESYS_TESTS_DIR "/data/seed004-body.xml", len);
}

/* UTF-8 (any plane) to UTF-16 in either byte order, with or without a BOM. */
static unsigned char *utf16(const char *s, size_t len, int big, int bom, size_t *outlen)
{
    unsigned char *o = malloc(len * 2 + 2), *p = o;
    size_t i = 0;
    assert_non_null(o);
    if (bom) {
        *p++ = big ? 0xFE : 0xFF;
        *p++ = big ? 0xFF : 0xFE;
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        unsigned long cp;
        if (c < 0x80) {
            cp = c;
            i++;
        } else if ((c & 0xE0) == 0xC0) {
            cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3F);
            i += 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3F);
            i += 3;
        } else {
            cp = ((c & 0x07ul) << 18) | ((s[i + 1] & 0x3Ful) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
                 (s[i + 3] & 0x3F);
            i += 4;
        }
        unsigned units[2], n = 1;
        units[0] = (unsigned)cp;
        if (cp >= 0x10000) {
            units[0] = 0xD800 + (unsigned)((cp - 0x10000) >> 10);
            units[1] = 0xDC00 + (unsigned)((cp - 0x10000) & 0x3FF);
            n = 2;
        }
        for (unsigned k = 0; k < n; k++) {
            *p++ = (unsigned char)(big ? units[k] >> 8 : units[k] & 0xFF);
            *p++ = (unsigned char)(big ? units[k] & 0xFF : units[k] >> 8);
        }
    }
    *outlen = (size_t)(p - o);
    return o;
}

#define MAX_RECS 16
typedef struct rec {
    int invalid;
    char time[32];
    long long serial, type, state, revision, id_type;
    char topic[SMX_TOPIC_ID_MAX + 1], key[SMX_TOPIC_ID_MAX + 1], params[SMX_PARAMS_MAX + 1];
    char user[300];
} rec;

typedef struct recs {
    rec r[MAX_RECS];
    int n;
} recs;

static void collect(void *ud, const smx_record *r)
{
    recs *c = ud;
    if (c->n >= MAX_RECS)
        return;
    rec *x = &c->r[c->n++];
    x->invalid = (int)r->invalid;
    snprintf(x->time, sizeof x->time, "%s", r->invalid == SMX_OK ? r->time : "");
    x->serial = r->serial;
    x->type = r->topic_type;
    x->state = r->state_id;
    x->revision = r->revision;
    x->id_type = r->id_type;
    snprintf(x->topic, sizeof x->topic, "%s", r->topic_id);
    snprintf(x->key, sizeof x->key, "%s", r->key);
    snprintf(x->params, sizeof x->params, "%s", r->params);
    snprintf(x->user, sizeof x->user, "%s", r->user);
}

static int parse(const void *buf, size_t len, smx_header *h, recs *c, char *err, size_t errlen)
{
    smx_options opt = {16 * 1024 * 1024, 0};
    memset(c, 0, sizeof *c);
    return smx_parse_mem(buf, len, &opt, h, collect, c, err, errlen);
}

static void assert_seed_record(const smx_header *h, const recs *c)
{
    assert_int_equal(h->has_client_id, 1);
    assert_string_equal(h->client_id, SEED_CLIENT);
    assert_string_equal(h->netbios, "PS1WIN7X64");
    assert_string_equal(h->client_version, "5.00.7958.1000");
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].invalid, SMX_OK);
    assert_string_equal(c->r[0].time, "2014-01-20 17:18:55.573");
    assert_int_equal(c->r[0].serial, 232);
    assert_int_equal(c->r[0].type, 500);
    assert_int_equal(c->r[0].id_type, 3);
    assert_string_equal(c->r[0].topic, SEED_UPDATE);
    assert_string_equal(c->r[0].key, SEED_UPDATE);
    assert_int_equal(c->r[0].state, 2);
    assert_string_equal(c->r[0].params, "200");
    assert_int_equal(c->r[0].revision, 200);
}

/* A report around the given StateMessage elements (UTF-8 text). */
static char *report(const char *client, const char *netbios, const char *body)
{
    const char *fmt =
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Report><ReportHeader><Identification>"
        "<Machine><ClientInstalled>1</ClientInstalled><ClientType>1</ClientType><ClientID>%s"
        "</ClientID><ClientVersion>5.00.7958.1000</ClientVersion><NetBIOSName>%s</NetBIOSName>"
        "</Machine></Identification><ReportDetails><ReportContent>State Message Data"
        "</ReportContent></ReportDetails></ReportHeader><ReportBody>%s</ReportBody></Report>";
    size_t len = strlen(fmt) + strlen(client) + strlen(netbios) + strlen(body) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    snprintf(s, len, fmt, client, netbios, body);
    return s;
}

/* One StateMessage element; params is "" or "<Param>..</Param>..." */
static char *msg(const char *time, long long serial, const char *topic, int type, int state,
                 const char *params)
{
    char *s = malloc(16384);
    assert_non_null(s);
    snprintf(s, 16384,
             "<StateMessage MessageTime=\"%s\" SerialNumber=\"%lld\"><Topic ID=\"%s\" "
             "Type=\"%d\" IDType=\"3\" User=\"\" UserSID=\"\"/><State ID=\"%d\" "
             "Criticality=\"0\"/><UserParameters Flags=\"0\" Count=\"1\">%s</UserParameters>"
             "</StateMessage>",
             time, serial, topic, type, state, params);
    return s;
}

/* ------------------------------------------------------------------ */
/* smx: the parser                                                     */
/* ------------------------------------------------------------------ */

static void smx_seed_golden_every_encoding(void **state)
{
    size_t len, wlen;
    char *xml = seed_body(&len), err[256];
    smx_header h;
    recs c;
    (void)state;

    /* As MP_Relay writes it: UTF-16LE with a byte order mark. */
    unsigned char *w = utf16(xml, len, 0, 1, &wlen);
    assert_int_equal(parse(w, wlen, &h, &c, err, sizeof err), 0);
    assert_seed_record(&h, &c);
    free(w);
    /* UTF-16LE without a mark, UTF-16BE with and without. */
    for (int big = 0; big < 2; big++) {
        for (int bom = 0; bom < 2; bom++) {
            w = utf16(xml, len, big, bom, &wlen);
            assert_int_equal(parse(w, wlen, &h, &c, err, sizeof err), 0);
            assert_seed_record(&h, &c);
            free(w);
        }
    }
    /* UTF-8 labelled UTF-16 (the file as the document prints it), with and without a mark. */
    assert_int_equal(parse(xml, len, &h, &c, err, sizeof err), 0);
    assert_seed_record(&h, &c);
    char *bom8 = malloc(len + 3);
    memcpy(bom8, "\xEF\xBB\xBF", 3);
    memcpy(bom8 + 3, xml, len);
    assert_int_equal(parse(bom8, len + 3, &h, &c, err, sizeof err), 0);
    assert_seed_record(&h, &c);
    free(bom8);
    free(xml);
}

static void smx_seed_as_printed_in_the_log(void **state)
{
    /*
     * The document's first and last quotes print <Topic ...> unclosed
     * ("UserSID=""><State"): not well-formed, so such a file is bad.
     */
    size_t len;
    char *xml = seed_body(&len), err[256];
    char *bad = malloc(len + 1);
    smx_header h;
    recs c;
    (void)state;
    const char *from = "UserSID=\"\"/><State";
    char *at = strstr(xml, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - xml);
    memcpy(bad, xml, pre);
    strcpy(bad + pre, "UserSID=\"\"><State");
    strcat(bad, at + strlen(from));
    assert_int_equal(parse(bad, strlen(bad), &h, &c, err, sizeof err), CM_EPARSE);
    assert_non_null(strstr(err, "not well-formed"));
    free(bad);
    free(xml);
}

static void smx_bom_against_declaration(void **state)
{
    size_t len, wlen;
    char *xml = seed_body(&len), err[256];
    smx_header h;
    recs c;
    (void)state;
    /* A UTF-16LE mark on a document declared UTF-8: the mark decides, and it is right. */
    char *decl8 = strdup(xml);
    memcpy(strstr(decl8, "UTF-16"), "UTF-8\" ", 7);
    unsigned char *w = utf16(decl8, strlen(decl8), 0, 1, &wlen);
    assert_int_equal(parse(w, wlen, &h, &c, err, sizeof err), 0);
    assert_seed_record(&h, &c);
    free(w);
    /* A big-endian mark on little-endian text: the mark is wrong, the file is bad. */
    w = utf16(xml, len, 0, 1, &wlen);
    w[0] = 0xFE;
    w[1] = 0xFF;
    assert_int_equal(parse(w, wlen, &h, &c, err, sizeof err), CM_EPARSE);
    free(w);
    free(decl8);
    free(xml);
}

static void smx_empty_truncated_malformed(void **state)
{
    size_t len, wlen;
    char *xml = seed_body(&len), err[256];
    smx_header h;
    recs c;
    (void)state;
    assert_int_equal(parse("", 0, &h, &c, err, sizeof err), CM_EPARSE);
    assert_string_equal(err, "the file is empty");
    assert_int_equal(parse("   \n", 4, &h, &c, err, sizeof err), CM_EPARSE);
    unsigned char *w = utf16(xml, len, 0, 1, &wlen);
    assert_int_equal(parse(w, wlen / 2, &h, &c, err, sizeof err), CM_EPARSE);
    /* An odd byte count cuts the last '>' in half (the file ends ">\n"). */
    assert_int_equal(parse(w, wlen - 3, &h, &c, err, sizeof err), CM_EPARSE);
    free(w);
    const char *mismatch = "<Report><ReportBody></ReportHeader></Report>";
    assert_int_equal(parse(mismatch, strlen(mismatch), &h, &c, err, sizeof err), CM_EPARSE);
    const char *other = "<Inventory><Report/></Inventory>";
    assert_int_equal(parse(other, strlen(other), &h, &c, err, sizeof err), CM_EPARSE);
    assert_string_equal(err, "the root element is not <Report>");
    const char *utf32 = "\xFF\xFE\0\0<\0\0\0";
    assert_int_equal(parse(utf32, 8, &h, &c, err, sizeof err), CM_EPARSE);
    free(xml);
}

static void smx_refuses_dtd_xxe_and_bombs(void **state)
{
    smx_header h;
    recs c;
    char err[256];
    (void)state;
    const char *xxe_file =
        "<?xml version=\"1.0\"?><!DOCTYPE Report [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<Report><ReportBody><StateMessage MessageTime=\"20140120171855.573000+000\" "
        "SerialNumber=\"1\"><Topic ID=\"&x;\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        "</ReportBody></Report>";
    assert_int_equal(parse(xxe_file, strlen(xxe_file), &h, &c, err, sizeof err), CM_EPARSE);
    assert_non_null(strstr(err, "DTD"));
    assert_int_equal(c.n, 0);
    const char *xxe_url =
        "<?xml version=\"1.0\"?><!DOCTYPE Report SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
        "<Report/>";
    assert_int_equal(parse(xxe_url, strlen(xxe_url), &h, &c, err, sizeof err), CM_EPARSE);
    const char *bomb =
        "<?xml version=\"1.0\"?><!DOCTYPE Report [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
        "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e "
        "\"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g "
        "\"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i "
        "\"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">"
        "]><Report><ReportBody><StateMessage MessageTime=\"20140120171855.573000+000\" "
        "SerialNumber=\"1\"><Topic ID=\"&i;\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        "</ReportBody></Report>";
    assert_int_equal(parse(bomb, strlen(bomb), &h, &c, err, sizeof err), CM_EPARSE);
    assert_int_equal(c.n, 0);
    const char *pe = "<?xml version=\"1.0\"?><!DOCTYPE Report [<!ENTITY % p SYSTEM "
                     "\"file:///etc/passwd\"> %p;]><Report/>";
    assert_int_equal(parse(pe, strlen(pe), &h, &c, err, sizeof err), CM_EPARSE);
    /* Without a DTD, an entity is simply undeclared. */
    const char *undeclared = "<Report><ReportBody>&foo;</ReportBody></Report>";
    assert_int_equal(parse(undeclared, strlen(undeclared), &h, &c, err, sizeof err), CM_EPARSE);
}

static void smx_hostile_values(void **state)
{
    smx_header h;
    recs c;
    char err[256], big[12000];
    (void)state;
    memset(big, 'A', 10240);
    big[10240] = '\0';
    char *m1 = msg("20140120171855.573000+000", 1, big, 1000, 1, "");
    char *m2 = msg("20140120171855.573000+000", 2, "&apos;; DROP TABLE System_DISC; --", 1000, 1,
                   "<Param>O&apos;Brien &amp; &quot;co&quot; &lt;x&gt;</Param>");
    char *m3 = msg("20140120171855.573000+000", 3, "A&amp;B", 1000, 1, "");
    char body[40000];
    snprintf(body, sizeof body, "%s%s%s", m1, m2, m3);
    char *r = report(SEED_CLIENT, "O&apos;Brien&apos;; DROP", body);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_string_equal(h.netbios, "O'Brien'; DROP");
    assert_int_equal(c.n, 3);
    assert_int_equal(c.r[0].invalid, SMX_BAD_TOPIC); /* 10 KB ID: over the column */
    assert_int_equal(c.r[0].serial, 1);              /* still counted as sent */
    assert_int_equal(c.r[1].invalid, SMX_OK);
    assert_string_equal(c.r[1].topic, "'; DROP TABLE System_DISC; --");
    assert_string_equal(c.r[1].params, "O'Brien & \"co\" <x>");
    assert_string_equal(c.r[2].topic, "A&B");
    free(r);
    /* A character reference to NUL is not XML at all. */
    char *m4 = msg("20140120171855.573000+000", 4, "nul&#0;here", 1000, 1, "");
    r = report(SEED_CLIENT, "PC", m4);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), CM_EPARSE);
    free(r);
    /* A control character by reference is well-formed in attribute-value form but refused. */
    char *m5 = msg("20140120171855.573000+000", 5, "tab&#9;inside", 1000, 1, "");
    r = report(SEED_CLIENT, "PC", m5);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_int_equal(c.r[0].invalid, SMX_BAD_TOPIC);
    free(r);
    /* A 10 KB NetBIOS name, and a client ID that is no GUID. */
    r = report(SEED_CLIENT, big, m3);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_int_equal(h.bad_netbios, 1);
    free(r);
    r = report("GUID:'; DROP TABLE x", "PC", m3);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_int_equal(h.has_client_id, 0);
    free(r);
    free(m1);
    free(m2);
    free(m3);
    free(m4);
    free(m5);
}

static void smx_missing_and_absurd(void **state)
{
    smx_header h;
    recs c;
    char err[256];
    (void)state;
    const char *body =
        /* 0: no MessageTime */
        "<StateMessage SerialNumber=\"1\"><Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/>"
        "</StateMessage>"
        /* 1: no SerialNumber */
        "<StateMessage MessageTime=\"20140120171855.573000+000\"><Topic ID=\"x\" Type=\"1000\"/>"
        "<State ID=\"1\"/></StateMessage>"
        /* 2: no Topic */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"3\">"
        "<State ID=\"1\"/></StateMessage>"
        /* 3: no State */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"4\">"
        "<Topic ID=\"x\" Type=\"1000\"/></StateMessage>"
        /* 4: negative serial */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"-5\">"
        "<Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        /* 5: 20-digit serial */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" "
        "SerialNumber=\"99999999999999999999\"><Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/>"
        "</StateMessage>"
        /* 6: month 13 */
        "<StateMessage MessageTime=\"20141320171855.573000+000\" SerialNumber=\"7\">"
        "<Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        /* 7: year 0000 */
        "<StateMessage MessageTime=\"00000101000000.000000+000\" SerialNumber=\"8\">"
        "<Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        /* 8: far future */
        "<StateMessage MessageTime=\"20990101000000.000000+000\" SerialNumber=\"9\">"
        "<Topic ID=\"x\" Type=\"1000\"/><State ID=\"1\"/></StateMessage>"
        /* 9: an unknown topic type is kept (generic current state) */
        "<StateMessage MessageTime=\"20140120171855.573000+060\" SerialNumber=\"10\">"
        "<Topic ID=\"Any/Thing\" Type=\"9999\"/><State ID=\"77\"/></StateMessage>"
        /* 10: a state the update detection type does not have */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"11\">"
        "<Topic ID=\"" SEED_UPDATE "\" Type=\"500\"/><State ID=\"7\"/></StateMessage>"
        /* 11: type 500 whose topic is no update ID */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"12\">"
        "<Topic ID=\"not-a-guid\" Type=\"500\"/><State ID=\"2\"/></StateMessage>"
        /* 12: 402 with the update's model name, upper-case GUID */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"13\">"
        "<Topic ID=\"Site_D3A5F7EA-25D4-4C6B-B47C-C74997522A76/SUM_505FDA07-B4F3-45FB-83D9-"
        "8642554E2773\" Type=\"402\"/><State ID=\"10\"/></StateMessage>"
        /* 13: revision that is not a number */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"14\">"
        "<Topic ID=\"" SEED_UPDATE "\" Type=\"500\"/><State ID=\"2\"/><UserParameters "
        "Count=\"1\"><Param>two hundred</Param></UserParameters></StateMessage>"
        /* 14: type written as text */
        "<StateMessage MessageTime=\"20140120171855.573000+000\" SerialNumber=\"15\">"
        "<Topic ID=\"x\" Type=\"five hundred\"/><State ID=\"1\"/></StateMessage>";
    char *r = report(SEED_CLIENT, "PC", body);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 15);
    assert_int_equal(c.r[0].invalid, SMX_BAD_TIME);
    assert_int_equal(c.r[0].serial, 1);
    assert_int_equal(c.r[1].invalid, SMX_BAD_SERIAL);
    assert_int_equal(c.r[1].serial, -1);
    assert_int_equal(c.r[2].invalid, SMX_BAD_TOPIC);
    assert_int_equal(c.r[3].invalid, SMX_BAD_STATE);
    assert_int_equal(c.r[4].invalid, SMX_BAD_SERIAL);
    assert_int_equal(c.r[5].invalid, SMX_BAD_SERIAL);
    assert_int_equal(c.r[6].invalid, SMX_BAD_TIME);
    assert_int_equal(c.r[7].invalid, SMX_BAD_TIME);
    assert_int_equal(c.r[8].invalid, SMX_BAD_TIME);
    assert_int_equal(c.r[9].invalid, SMX_OK);
    assert_int_equal(c.r[9].type, 9999);
    assert_string_equal(c.r[9].key, "Any/Thing");
    /* +060: the local time is an hour ahead of UTC. */
    assert_string_equal(c.r[9].time, "2014-01-20 16:18:55.573");
    assert_int_equal(c.r[10].invalid, SMX_UNKNOWN_STATE);
    assert_int_equal(c.r[11].invalid, SMX_BAD_TOPIC_ID);
    assert_int_equal(c.r[12].invalid, SMX_OK);
    assert_string_equal(c.r[12].key, SEED_UPDATE);
    assert_int_equal(c.r[13].invalid, SMX_BAD_PARAMS);
    assert_int_equal(c.r[14].invalid, SMX_BAD_TOPIC_TYPE);
    free(r);
}

static void smx_params_and_size_cap(void **state)
{
    smx_header h;
    recs c;
    char err[256], params[4096] = "";
    (void)state;
    for (int i = 0; i < 65; i++)
        strcat(params, "<Param>1</Param>");
    char *m1 = msg("20140120171855.573000+000", 1, "x", 1000, 1, params);
    char *m2 = msg("20140120171855.573000+000", 2, "x", 1000, 1, "<Param>a&#9;b</Param>");
    char *m3 = msg("20140120171855.573000+000", 3, "x", 1000, 1,
                   "<Param>a</Param><Param></Param><Param><![CDATA[c<d]]></Param>");
    char body[8192];
    snprintf(body, sizeof body, "%s%s%s", m1, m2, m3);
    char *r = report(SEED_CLIENT, "PC", body);
    assert_int_equal(parse(r, strlen(r), &h, &c, err, sizeof err), 0);
    assert_int_equal(c.r[0].invalid, SMX_BAD_PARAMS);
    assert_int_equal(c.r[1].invalid, SMX_BAD_PARAMS);
    assert_int_equal(c.r[2].invalid, SMX_OK);
    assert_string_equal(c.r[2].params, "a\t\tc<d");
    /* Over the cap: refused while reading, whatever the file holds. */
    smx_options opt = {100, 0};
    assert_int_equal(smx_parse_mem(r, strlen(r), &opt, &h, collect, &c, err, sizeof err),
                     CM_ETOOBIG);
    free(r);
    free(m1);
    free(m2);
    free(m3);
}

static void smx_from_a_file_descriptor(void **state)
{
    char dir[256], path[300], err[256];
    size_t len, wlen;
    char *xml = seed_body(&len);
    smx_header h;
    recs c;
    (void)state;
    assert_int_equal(tu_mkdtemp(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/YCE2H3VD.SMX", dir);
    unsigned char *w = utf16(xml, len, 0, 1, &wlen);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(w, 1, wlen, f), wlen);
    fclose(f);
    int fd = open(path, O_RDONLY);
    smx_options opt = {1 << 20, 0};
    memset(&c, 0, sizeof c);
    assert_int_equal(smx_parse_fd(fd, &opt, &h, collect, &c, err, sizeof err), 0);
    close(fd);
    assert_seed_record(&h, &c);
    free(w);
    free(xml);
    tu_rmtree(dir);
}

/* UTF-8 (any plane) to UTF-16 without a mark, either byte order. */
static unsigned char *utf16_any(const char *s, int big, size_t *outlen)
{
    return utf16(s, strlen(s), big, 0, outlen);
}

/*
 * statesys decodes UTF-16 itself (smx.c, utf16_read): the records must be
 * the ones the UTF-8 text gives, for characters of one, two and three
 * bytes and for surrogate pairs, wherever a read cuts the text (a comment
 * of 0 to 3 characters moves every pair across the read boundaries); and
 * a surrogate without its other half makes the file bad.
 */
static void smx_utf16_decoded_as_utf8(void **state)
{
    /* Type 500 wants the revision first; the characters come in the second parameter. */
    char err[256], param[4000] = "<Param>200</Param><Param>", pad[8];
    smx_header h8, h16;
    recs c8, c16;
    (void)state;
    /* 850 pairs (3,400 bytes of UTF-8, under the 4,000 of a record's parameters). */
    strcat(param, "\xC3\xA9\xE2\x82\xAC\xE4\xB8\xAD");
    for (int i = 0; i < 850; i++)
        strcat(param, "\xF0\x9F\x98\x80");
    strcat(param, "</Param>");
    char *body = msg("20140120171855.573000+000", 7, SEED_UPDATE, 500, 2, param);
    for (int k = 0; k < 4; k++) {
        memset(pad, 'x', (size_t)k);
        pad[k] = '\0';
        char *xml = report(SEED_CLIENT, "PS1WIN7X64", body);
        size_t len = strlen(xml) + 16;
        char *withpad = malloc(len);
        assert_non_null(withpad);
        /* The comment goes after the declaration, before <Report>. */
        char *root = strstr(xml, "<Report>");
        snprintf(withpad, len, "%.*s<!--%s-->%s", (int)(root - xml), xml, pad, root);
        assert_int_equal(parse(withpad, strlen(withpad), &h8, &c8, err, sizeof err), 0);
        assert_int_equal(c8.n, 1);
        assert_int_equal(c8.r[0].invalid, SMX_OK);
        assert_non_null(strstr(c8.r[0].params, "\xC3\xA9\xE2\x82\xAC\xE4\xB8\xAD\xF0\x9F\x98\x80"));
        for (int big = 0; big < 2; big++) {
            size_t wlen;
            unsigned char *w = utf16_any(withpad, big, &wlen);
            assert_int_equal(parse(w, wlen, &h16, &c16, err, sizeof err), 0);
            assert_string_equal(h16.client_id, h8.client_id);
            assert_int_equal(c16.n, 1);
            assert_int_equal(c16.r[0].invalid, SMX_OK);
            assert_string_equal(c16.r[0].params, c8.r[0].params);
            free(w);
        }
        free(withpad);
        free(xml);
    }
    free(body);
    /* A low surrogate alone, and a high one followed by a letter. */
    char *xml = report(SEED_CLIENT, "PS1WIN7X64", "");
    for (int bad = 0; bad < 2; bad++) {
        size_t wlen;
        unsigned char *w = utf16_any(xml, 0, &wlen);
        unsigned char *at = w + 2 * (strstr(xml, "PS1WIN7X64") - xml);
        if (bad == 0) {
            at[0] = 0x00;
            at[1] = 0xDC;
        } else {
            at[0] = 0x3D;
            at[1] = 0xD8;
        }
        assert_int_equal(parse(w, wlen, &h16, &c16, err, sizeof err), CM_EPARSE);
        assert_string_equal(err, "cannot decode the file as UTF-16");
        free(w);
    }
    free(xml);
}

static void smx_times_and_guids(void **state)
{
    long long ms;
    char buf[SMX_TIME_LEN + 1], g[37];
    (void)state;
    assert_int_equal(smx_parse_wmi_time("20140120171855.573000+000", &ms), 0);
    smx_format_time(ms, buf);
    assert_string_equal(buf, "2014-01-20 17:18:55.573");
    assert_int_equal(smx_parse_sql_time("2014-01-20 17:18:55.573", &ms), 0);
    smx_format_time(ms, buf);
    assert_string_equal(buf, "2014-01-20 17:18:55.573");
    assert_int_equal(smx_parse_sql_time("2014-01-20 17:18:55", &ms), 0);
    assert_int_equal(smx_parse_wmi_time("20140120171855-300", &ms), 0);
    smx_format_time(ms, buf);
    assert_string_equal(buf, "2014-01-20 22:18:55.000");
    assert_int_equal(smx_parse_wmi_time("20000229120000.000000+000", &ms), 0);
    assert_int_equal(smx_parse_wmi_time("20010229120000.000000+000", &ms), CM_EPARSE);
    assert_int_equal(smx_parse_wmi_time("2014012017185", &ms), CM_EPARSE);
    assert_int_equal(smx_parse_wmi_time("20140120171855.573000+9999", &ms), CM_EPARSE);
    assert_int_equal(smx_parse_wmi_time("********171855.573000+000", &ms), CM_EPARSE);
    assert_int_equal(smx_guid_canonical("{C2D17964-bbdd-4339-B9F3-12D7205B39CC}", 38, 1, g), 0);
    assert_string_equal(g, "C2D17964-BBDD-4339-B9F3-12D7205B39CC");
    assert_int_equal(smx_guid_canonical("C2D17964-BBDD-4339-B9F3-12D7205B39C", 35, 1, g),
                     CM_EPARSE);
    assert_int_equal(smx_guid_canonical("C2D17964+BBDD-4339-B9F3-12D7205B39CC", 36, 1, g),
                     CM_EPARSE);
}

static void hmap_basics(void **state)
{
    hmap m = {0};
    size_t v;
    (void)state;
    for (long long i = 0; i < 10000; i++) {
        hkey k = {i, i * 7, 3, i % 2 ? "odd" : NULL};
        assert_int_equal(hmap_put(&m, &k, (size_t)i, NULL), 0);
    }
    for (long long i = 0; i < 10000; i++) {
        hkey k = {i, i * 7, 3, i % 2 ? "odd" : NULL};
        assert_int_equal(hmap_get(&m, &k, &v), 1);
        assert_int_equal(v, (size_t)i);
        size_t e;
        assert_int_equal(hmap_put(&m, &k, 99, &e), 1);
        assert_int_equal(e, (size_t)i);
    }
    hkey miss = {1, 7, 3, NULL}; /* 1 is odd: stored with "odd" */
    assert_int_equal(hmap_get(&m, &miss, &v), 0);
    hmap_clear(&m);
    assert_int_equal(hmap_get(&m, &miss, &v), 0);
    hmap_free(&m);
}

/* ------------------------------------------------------------------ */
/* The database fixture                                                */
/* ------------------------------------------------------------------ */

typedef struct fx {
    char dir[256];
    db *d;
    apply *a;
} fx;

static const char *const TABLES[] = {"System_DISC",
                                     "Update_ComplianceStatus",
                                     "Update_ScanStatus",
                                     "Update_AssignmentStatus",
                                     "SR_CurrentState",
                                     "SR_MissingMessageRanges",
                                     "SR_ClientSerials",
                                     "SR_ClientMessageCounts",
                                     "CI_ConfigurationItems",
                                     "CI_UpdateSources",
                                     "CI_CIAssignments",
                                     "CI_ConfigurationItemRelations",
                                     "Update_StatusSummary",
                                     "Update_AssignmentSummary",
                                     "Update_GroupStatusSummary",
                                     "CI_LocalizedProperties",
                                     "CI_UpdateInfo"};

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char conn[1024];
    if (!f || tu_mkdtemp(f->dir, sizeof f->dir) < 0)
        return -1;
    tu_test_connstr(conn, sizeof conn, f->dir);
    if (db_open(&f->d, conn) < 0 || schema_apply(f->d, NULL) < 0) {
        fprintf(stderr, "fixture: %s\n", db_errmsg(f->d));
        return -1;
    }
    /* PostgreSQL keeps one database for the run: start each test from empty tables. */
    for (size_t i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s", TABLES[i]);
        if (db_exec(f->d, sql) < 0)
            return -1;
    }
    if (apply_open(f->d, "CS1", &f->a) < 0)
        return -1;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    apply_close(f->a);
    db_close(f->d);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void q_text(fx *f, const char *sql, char *out, size_t len)
{
    db_stmt *s;
    out[0] = '\0';
    assert_int_equal(db_prepare(f->d, &s, sql), 0);
    if (db_step(s) == 1)
        snprintf(out, len, "%s", db_col_text(s, 0));
    db_finalize(s);
}

static void exec(fx *f, const char *sql)
{
    if (db_exec(f->d, sql) < 0)
        fail_msg("%s: %s", sql, db_errmsg(f->d));
}

static long long add_update(fx *f, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, RevisionNumber) VALUES "
             "('%s', 1, 200)",
             id);
    exec(f, sql);
    return tu_qint(f->d, "SELECT CI_ID FROM CI_ConfigurationItems WHERE CI_UniqueID = ?", id);
}

static void to_batch(void *ud, const smx_record *r)
{
    assert_int_equal(batch_add_record(ud, r), 0);
}

/* Parse a report into a batch (as a loader does) and apply it in one transaction. */
static apply_stats apply_xml(fx *f, const char *xml)
{
    ss_batch *b = batch_new();
    smx_header h;
    char err[256];
    apply_stats st;
    memset(&st, 0, sizeof st);
    ss_file *file = batch_add_file(b, "TEST.SMX", 1, (long long)strlen(xml));
    assert_int_equal(smx_parse_mem(xml, strlen(xml), NULL, &h, to_batch, b, err, sizeof err), 0);
    file = &b->files[0];
    assert_int_equal(h.has_client_id, 1);
    snprintf(file->client_id, sizeof file->client_id, "%s", h.client_id);
    snprintf(file->netbios, sizeof file->netbios, "%s", h.netbios);
    assert_int_equal(db_begin(f->d), 0);
    if (apply_add(f->a, b, &st) < 0 || apply_flush(f->a, &st) < 0)
        fail_msg("apply: %s", db_errmsg(f->d));
    assert_int_equal(db_commit(f->d), 0);
    batch_free(b);
    return st;
}

static apply_stats apply_msgs(fx *f, const char *client, const char *netbios, const char *body)
{
    char *r = report(client, netbios, body);
    apply_stats st = apply_xml(f, r);
    free(r);
    return st;
}

static apply_stats apply_one(fx *f, const char *time, long long serial, const char *topic, int type,
                             int state, const char *params)
{
    char *m = msg(time, serial, topic, type, state, params);
    apply_stats st = apply_msgs(f, SEED_CLIENT, "PS1WIN7X64", m);
    free(m);
    return st;
}

/* ------------------------------------------------------------------ */
/* apply: the rules                                                    */
/* ------------------------------------------------------------------ */

static void apply_seed_message(void **state)
{
    fx *f = *state;
    size_t len;
    char *xml = seed_body(&len), out[64];
    long long ci = add_update(f, SEED_UPDATE);
    apply_stats st = apply_xml(f, xml);
    assert_int_equal(st.files, 1);
    assert_int_equal(st.messages, 1);
    assert_int_equal(st.machines_new, 1);
    long long m = tu_qint(f->d, "SELECT ItemKey FROM System_DISC WHERE SMS_Unique_Identifier0 = ?",
                          SEED_CLIENT);
    assert_true(m > 0);
    q_text(f, "SELECT Netbios_Name0 FROM v_R_System", out, sizeof out);
    assert_string_equal(out, "PS1WIN7X64");
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT Status FROM v_Update_ComplianceStatus WHERE CI_ID = %lld AND ResourceID = "
             "%lld",
             ci, m);
    assert_int_equal(tu_qint(f->d, sql, NULL), 2);
    q_text(f, "SELECT LastStatusCheckTime FROM Update_ComplianceStatus", out, sizeof out);
    assert_int_equal(strncmp(out, "2014-01-20 17:18:55.573", 23), 0);
    assert_int_equal(tu_qint(f->d, "SELECT LastSerialNumber FROM SR_ClientSerials", NULL), 232);
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_CurrentState", NULL), 0);

    /* The same file again (a replay after a crash): nothing changes but the duplicate count. */
    st = apply_xml(f, xml);
    assert_int_equal(st.messages, 0);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Update_ComplianceStatus", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM System_DISC", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT DuplicateMessages FROM SR_ClientMessageCounts", NULL),
                     1);
    free(xml);
}

static void apply_latest_message_time_wins(void **state)
{
    fx *f = *state;
    char out[64];
    add_update(f, SEED_UPDATE);
    apply_one(f, "20140120120000.000000+000", 10, SEED_UPDATE, 500, 2, "<Param>200</Param>");
    /* Older: ignored. */
    apply_one(f, "20140120110000.000000+000", 11, SEED_UPDATE, 500, 3, "<Param>200</Param>");
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 2);
    /* Newer: applied, and the status change time moves. */
    apply_one(f, "20140120130000.000000+000", 12, SEED_UPDATE, 500, 3, "<Param>200</Param>");
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 3);
    q_text(f, "SELECT LastStatusChangeTime FROM Update_ComplianceStatus", out, sizeof out);
    assert_int_equal(strncmp(out, "2014-01-20 13:00:00", 19), 0);
    /* Newer, same status: the check time moves, the change time stays. */
    apply_one(f, "20140120140000.000000+000", 13, SEED_UPDATE, 500, 3, "<Param>200</Param>");
    q_text(f, "SELECT LastStatusCheckTime FROM Update_ComplianceStatus", out, sizeof out);
    assert_int_equal(strncmp(out, "2014-01-20 14:00:00", 19), 0);
    q_text(f, "SELECT LastStatusChangeTime FROM Update_ComplianceStatus", out, sizeof out);
    assert_int_equal(strncmp(out, "2014-01-20 13:00:00", 19), 0);
    /* The same time: the higher serial number wins. */
    apply_one(f, "20140120140000.000000+000", 14, SEED_UPDATE, 500, 1, "<Param>200</Param>");
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 1);

    /* Within one transaction, in either order, the latest wins too. */
    char *a = msg("20140121100000.000000+000", 20, SEED_UPDATE, 500, 2, "");
    char *b = msg("20140121090000.000000+000", 21, SEED_UPDATE, 500, 3, "");
    char body[8192];
    snprintf(body, sizeof body, "%s%s", a, b);
    apply_msgs(f, SEED_CLIENT, "PS1WIN7X64", body);
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 2);
    free(a);
    free(b);
    a = msg("20140122090000.000000+000", 22, SEED_UPDATE, 500, 1, "");
    b = msg("20140122100000.000000+000", 23, SEED_UPDATE, 500, 3, "");
    snprintf(body, sizeof body, "%s%s", a, b);
    apply_msgs(f, SEED_CLIENT, "PS1WIN7X64", body);
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 3);
    free(a);
    free(b);
}

static void apply_unknown_update_waits_then_migrates(void **state)
{
    fx *f = *state;
    char out[64];
    const char *later = "d1f4d3e2-0000-4000-8000-000000000001";
    /* The client reports an update the site has not synchronized yet (upper case, even). */
    apply_stats st =
        apply_one(f, "20140120120000.000000+000", 1, "D1F4D3E2-0000-4000-8000-000000000001", 500, 2,
                  "<Param>100</Param>");
    assert_int_equal(st.pending, 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Update_ComplianceStatus", NULL), 0);
    q_text(f, "SELECT TopicID FROM SR_CurrentState WHERE TopicType = 500", out, sizeof out);
    assert_string_equal(out, later);
    /* A newer state while it still waits: the waiting row follows the latest. */
    apply_one(f, "20140120130000.000000+000", 2, later, 500, 3, "<Param>100</Param>");
    assert_int_equal(tu_qint(f->d, "SELECT StateID FROM SR_CurrentState", NULL), 3);

    /* The update arrives (a sync): the migration moves the state to its table. */
    long long ci = add_update(f, later);
    apply_forget_unknown(f->a);
    long long moved = 0;
    assert_int_equal(summary_run(f->d, f->a, SUM_MIGRATE, 90, &moved), 0);
    assert_int_equal(moved, 1);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_CurrentState", NULL), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT Status FROM Update_ComplianceStatus WHERE CI_ID = %lld", ci);
    assert_int_equal(tu_qint(f->d, sql, NULL), 3);
    /* New messages for it now go straight to the table. */
    st = apply_one(f, "20140120140000.000000+000", 3, later, 500, 1, "");
    assert_int_equal(st.pending, 0);
    assert_int_equal(tu_qint(f->d, sql, NULL), 1);
    /* A waiting row older than the table's state does not overwrite it when migrated. */
    exec(f, "INSERT INTO SR_CurrentState (MachineID, TopicType, TopicID, StateID, MessageTime, "
            "SerialNumber) SELECT ItemKey, 500, 'd1f4d3e2-0000-4000-8000-000000000001', 2, "
            "'2014-01-19 00:00:00.000', 1 FROM System_DISC");
    assert_int_equal(summary_run(f->d, f->a, SUM_MIGRATE, 90, &moved), 0);
    assert_int_equal(moved, 1);
    assert_int_equal(tu_qint(f->d, sql, NULL), 1);
}

static void apply_serial_gaps(void **state)
{
    fx *f = *state;
    char body[16384] = "";
    add_update(f, SEED_UPDATE);
    /* 1, 2 and 5: 3..4 are missing. */
    long long serials[] = {1, 2, 5};
    for (int i = 0; i < 3; i++) {
        char *m = msg("20140120120000.000000+000", serials[i], "Topic/A", 1000, 1, "");
        strcat(body, m);
        free(m);
    }
    apply_msgs(f, SEED_CLIENT, "PC1", body);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT StartSerial FROM SR_MissingMessageRanges", NULL), 3);
    assert_int_equal(tu_qint(f->d, "SELECT EndSerial FROM SR_MissingMessageRanges", NULL), 4);
    /* 9: 6..8 missing too. */
    apply_one(f, "20140120120000.000000+000", 9, "Topic/A", 1000, 1, "");
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 2);
    /* 7 arrives late: 6..8 splits into 6 and 8. */
    apply_one(f, "20140120120000.000000+000", 7, "Topic/A", 1000, 1, "");
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 3);
    assert_int_equal(
        tu_qint(f->d,
                "SELECT COUNT(*) FROM SR_MissingMessageRanges WHERE StartSerial = 6 AND "
                "EndSerial = 6",
                NULL),
        1);
    /* 3, 4, 6 and 8 in one file: every gap closes; 5 again is a duplicate. */
    body[0] = '\0';
    long long late[] = {8, 3, 6, 4, 5};
    for (int i = 0; i < 5; i++) {
        char *m = msg("20140120120000.000000+000", late[i], "Topic/A", 1000, 1, "");
        strcat(body, m);
        free(m);
    }
    apply_stats st = apply_msgs(f, SEED_CLIENT, "PC1", body);
    assert_int_equal(st.messages, 4);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.gaps_closed, 4);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT LastSerialNumber FROM SR_ClientSerials", NULL), 9);
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL), 9);
    assert_int_equal(tu_qint(f->d, "SELECT DuplicateMessages FROM SR_ClientMessageCounts", NULL),
                     1);
    /* A huge jump is one range, not billions of rows. */
    apply_one(f, "20140120120000.000000+000", 900000000000LL, "Topic/A", 1000, 1, "");
    assert_int_equal(tu_qint(f->d, "SELECT EndSerial FROM SR_MissingMessageRanges", NULL),
                     899999999999LL);
}

static void apply_serials_in_any_order(void **state)
{
    fx *f = *state;
    char body[16384];
    /* A client's last file first: its earlier messages are history, not replays. */
    body[0] = '\0';
    for (int i = 91; i <= 100; i++) {
        char *m = msg("20140120120000.000000+000", i, "Topic/A", 1000, 1, "");
        strcat(body, m);
        free(m);
    }
    apply_msgs(f, SEED_CLIENT, "PC1", body);
    body[0] = '\0';
    for (int i = 1; i <= 10; i++) {
        char *m = msg("20140120120000.000000+000", i, "Topic/A", 1000, 1, "");
        strcat(body, m);
        free(m);
    }
    apply_stats st = apply_msgs(f, SEED_CLIENT, "PC1", body);
    assert_int_equal(st.messages, 10);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL),
                     20);
    assert_int_equal(tu_qint(f->d, "SELECT FirstSerialNumber FROM SR_ClientMessageCounts", NULL),
                     1);
    assert_int_equal(tu_qint(f->d, "SELECT StartSerial FROM SR_MissingMessageRanges", NULL), 11);
    assert_int_equal(tu_qint(f->d, "SELECT EndSerial FROM SR_MissingMessageRanges", NULL), 90);
    /* The middle, in two files in reverse order: every number once, no gap left. */
    for (int part = 1; part >= 0; part--) {
        body[0] = '\0';
        for (int i = 11 + part * 40; i < 51 + part * 40; i++) {
            char *m = msg("20140120120000.000000+000", i, "Topic/A", 1000, 1, "");
            strcat(body, m);
            free(m);
        }
        apply_msgs(f, SEED_CLIENT, "PC1", body);
    }
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL),
                     100);
    assert_int_equal(tu_qint(f->d, "SELECT DuplicateMessages FROM SR_ClientMessageCounts", NULL),
                     0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 0);
    /* Another client: 1, then 5 (2..4 missing), then 3: 2 and 4 stay missing. */
    char *m = msg("20140120120000.000000+000", 1, "Topic/B", 1000, 1, "");
    apply_msgs(f, "GUID:00000000-0000-4000-8000-0000000000FF", "PC2", m);
    free(m);
    m = msg("20140120120000.000000+000", 5, "Topic/B", 1000, 1, "");
    apply_msgs(f, "GUID:00000000-0000-4000-8000-0000000000FF", "PC2", m);
    free(m);
    m = msg("20140120120000.000000+000", 3, "Topic/B", 1000, 1, "");
    apply_msgs(f, "GUID:00000000-0000-4000-8000-0000000000FF", "PC2", m);
    free(m);
    assert_int_equal(tu_qint(f->d,
                             "SELECT COUNT(*) FROM SR_MissingMessageRanges r JOIN System_DISC s "
                             "ON s.ItemKey = r.MachineID WHERE s.Netbios_Name0 = 'PC2'",
                             NULL),
                     2);
}

/*
 * A client's 20 files of 5 messages, applied in a shuffled order, several
 * files a transaction, some files twice (as after a kill): every serial
 * number counted once, no gap left.
 */
static void apply_serials_shuffled(void **state)
{
    fx *f = *state;
    int order[30];
    unsigned long long rnd = 12345;
    for (int round = 0; round < 8; round++) {
        char client[64];
        snprintf(client, sizeof client, "GUID:00000000-0000-4000-8000-%012d", round);
        for (int i = 0; i < 30; i++)
            order[i] = i % 20; /* ten files twice */
        for (int i = 29; i > 0; i--) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((rnd >> 33) % (unsigned long long)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < 30;) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            int per = 1 + (int)((rnd >> 33) % 4);
            ss_batch *b = batch_new();
            for (int k = 0; k < per && i < 30; k++, i++) {
                char body[8192] = "";
                for (int m = 0; m < 5; m++) {
                    char *x =
                        msg("20140120120000.000000+000", order[i] * 5 + m + 1, "T", 1000, 1, "");
                    strcat(body, x);
                    free(x);
                }
                char *r = report(client, "PC", body);
                smx_header h;
                ss_file *file = batch_add_file(b, "F.SMX", 1, 1);
                assert_int_equal(smx_parse_mem(r, strlen(r), NULL, &h, to_batch, b, NULL, 0), 0);
                file = &b->files[b->nfiles - 1];
                snprintf(file->client_id, sizeof file->client_id, "%s", h.client_id);
                free(r);
            }
            apply_stats st;
            memset(&st, 0, sizeof st);
            assert_int_equal(db_begin(f->d), 0);
            if (apply_add(f->a, b, &st) < 0 || apply_flush(f->a, &st) < 0)
                fail_msg("round %d: %s", round, db_errmsg(f->d));
            assert_int_equal(db_commit(f->d), 0);
            batch_free(b);
        }
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT c.MessagesReceived * 1000 + c.DuplicateMessages FROM "
                 "SR_ClientMessageCounts c JOIN System_DISC s ON s.ItemKey = c.MachineID WHERE "
                 "s.SMS_Unique_Identifier0 = '%s'",
                 client);
        assert_int_equal(tu_qint(f->d, sql, NULL), 100 * 1000 + 50);
    }
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 0);
}

/* Known clients read back in lists (more than one IN list's worth), in one transaction. */
static void apply_many_known_clients(void **state)
{
    fx *f = *state;
    for (int pass = 1; pass <= 3; pass++) {
        ss_batch *b = batch_new();
        for (int c = 0; c < 150; c++) {
            char client[64];
            snprintf(client, sizeof client, "GUID:00000000-0000-4000-8000-%012d", c);
            char *m = msg("20140120120000.000000+000", pass, "T", 1000, pass, "");
            char *r = report(client, "PC", m);
            smx_header h;
            batch_add_file(b, "F.SMX", 1, 1);
            assert_int_equal(smx_parse_mem(r, strlen(r), NULL, &h, to_batch, b, NULL, 0), 0);
            snprintf(b->files[b->nfiles - 1].client_id, SMX_CLIENT_ID_MAX + 1, "%s", h.client_id);
            free(m);
            free(r);
        }
        apply_stats st;
        memset(&st, 0, sizeof st);
        assert_int_equal(db_begin(f->d), 0);
        if (apply_add(f->a, b, &st) < 0 || apply_flush(f->a, &st) < 0)
            fail_msg("pass %d: %s", pass, db_errmsg(f->d));
        assert_int_equal(db_commit(f->d), 0);
        assert_int_equal(st.machines_new, pass == 1 ? 150 : 0);
        assert_int_equal(st.messages, 150);
        assert_int_equal(st.duplicates, 0);
        batch_free(b);
        /* A new connection's caches: every client and its serial numbers read back. */
        apply_close(f->a);
        assert_int_equal(apply_open(f->d, "CS1", &f->a), 0);
    }
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM System_DISC", NULL), 150);
    assert_int_equal(
        tu_qint(f->d, "SELECT SUM(MessagesReceived) FROM SR_ClientMessageCounts", NULL), 450);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_MissingMessageRanges", NULL), 0);
    assert_int_equal(
        tu_qint(f->d, "SELECT COUNT(*) FROM SR_ClientSerials WHERE LastSerialNumber = 3", NULL),
        150);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_CurrentState WHERE StateID = 3", NULL),
                     150);
}

static void apply_topic_types(void **state)
{
    fx *f = *state;
    char out[128], sql[256];
    long long ci = add_update(f, SEED_UPDATE);
    exec(f, "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, UpdateSourceName) VALUES "
            "('{C2D17964-BBDD-4339-B9F3-12D7205B39CC}', 'WSUS Enterprise Server')");
    exec(f, "INSERT INTO CI_CIAssignments (Assignment_UniqueID, AssignmentName) VALUES "
            "('{B040D195-8FA8-48D3-953F-17E878DAB23D}', 'Lab deployment')");
    const char *body[] = {
        /* 402, failed to install, with an HRESULT */
        "<StateMessage MessageTime=\"20140209191516.000000+000\" SerialNumber=\"1\"><Topic "
        "ID=\"Site_D3A5F7EA-25D4-4C6B-B47C-C74997522A76/SUM_" SEED_UPDATE "\" Type=\"402\" "
        "IDType=\"3\"/><State ID=\"11\" Criticality=\"0\"/><UserParameters Count=\"1\">"
        "<Param>0x80240022</Param></UserParameters></StateMessage>",
        /* 501 scan completed against the update source */
        "<StateMessage MessageTime=\"20140120171853.000000+000\" SerialNumber=\"2\"><Topic "
        "ID=\"{c2d17964-bbdd-4339-b9f3-12d7205b39cc}\" Type=\"501\" IDType=\"3\"/><State "
        "ID=\"3\"/><UserParameters Count=\"4\"><Param>38</Param><Param>http://PS1SITE.CONTOSO."
        "COM:8530</Param><Param>0</Param><Param>7.6.7600.320</Param></UserParameters>"
        "</StateMessage>",
        /* 300 compliant, 301 enforcement success */
        "<StateMessage MessageTime=\"20140209191919.000000+000\" SerialNumber=\"3\"><Topic "
        "ID=\"{B040D195-8FA8-48D3-953F-17E878DAB23D}\" Type=\"300\" IDType=\"2\"/><State "
        "ID=\"1\"/></StateMessage>",
        "<StateMessage MessageTime=\"20140209191919.000000+000\" SerialNumber=\"4\"><Topic "
        "ID=\"{B040D195-8FA8-48D3-953F-17E878DAB23D}\" Type=\"301\" IDType=\"2\"/><State "
        "ID=\"4\"/></StateMessage>",
        /* 401: any other type, kept in the generic table with its hostile ID as is */
        "<StateMessage MessageTime=\"20140209191919.000000+000\" SerialNumber=\"5\"><Topic "
        "ID=\"&apos;); DROP TABLE System_DISC; --\" Type=\"401\" IDType=\"1\" User=\"CONTOSO\\"
        "admin\" UserSID=\"S-1-5-21-1\"/><State ID=\"2\" Criticality=\"1\"/><UserParameters "
        "Count=\"2\"><Param>a</Param><Param>b</Param></UserParameters></StateMessage>",
        /* an invalid record beside them: counted, not applied */
        "<StateMessage MessageTime=\"20140209191919.000000+000\" SerialNumber=\"6\"><Topic "
        "ID=\"" SEED_UPDATE "\" Type=\"500\"/><State ID=\"9\"/></StateMessage>",
    };
    char all[8192] = "";
    for (size_t i = 0; i < sizeof body / sizeof body[0]; i++)
        strcat(all, body[i]);
    apply_stats st = apply_msgs(f, SEED_CLIENT, "PS1WIN7X64", all);
    assert_int_equal(st.messages, 6);
    assert_int_equal(st.invalid, 1);
    snprintf(sql, sizeof sql,
             "SELECT LastEnforcementMessageID FROM Update_ComplianceStatus WHERE CI_ID = %lld", ci);
    assert_int_equal(tu_qint(f->d, sql, NULL), 11);
    assert_int_equal(tu_qint(f->d, "SELECT LastErrorCode FROM Update_ComplianceStatus", NULL),
                     -2145124318LL);
    assert_int_equal(tu_qint(f->d, "SELECT Status FROM Update_ComplianceStatus", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT LastScanState FROM v_UpdateScanStatus", NULL), 3);
    q_text(f, "SELECT LastScanStateName FROM v_UpdateScanStatus", out, sizeof out);
    assert_string_equal(out, "completed");
    assert_int_equal(tu_qint(f->d, "SELECT LastScanPackageVersion FROM Update_ScanStatus", NULL),
                     38);
    q_text(f, "SELECT LastScanPackageLocation FROM Update_ScanStatus", out, sizeof out);
    assert_string_equal(out, "http://PS1SITE.CONTOSO.COM:8530");
    q_text(f, "SELECT LastWUAVersion FROM Update_ScanStatus", out, sizeof out);
    assert_string_equal(out, "7.6.7600.320");
    assert_int_equal(
        tu_qint(f->d, "SELECT IsCompliant FROM v_UpdateAssignmentStatus WHERE TopicType = 300",
                NULL),
        1);
    q_text(f, "SELECT StateName FROM v_UpdateAssignmentStatus WHERE TopicType = 301", out,
           sizeof out);
    assert_string_equal(out, "Successfully installed update(s)");
    q_text(f, "SELECT TopicID FROM SR_CurrentState WHERE TopicType = 401", out, sizeof out);
    assert_string_equal(out, "'); DROP TABLE System_DISC; --");
    q_text(f, "SELECT UserParams FROM SR_CurrentState WHERE TopicType = 401", out, sizeof out);
    assert_string_equal(out, "a\tb");
    q_text(f, "SELECT UserName FROM SR_CurrentState WHERE TopicType = 401", out, sizeof out);
    assert_string_equal(out, "CONTOSO\\admin");
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM System_DISC", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT InvalidMessages FROM SR_ClientMessageCounts", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT MessagesReceived FROM SR_ClientMessageCounts", NULL), 6);
}

static void apply_client_renamed(void **state)
{
    fx *f = *state;
    char out[64];
    apply_one(f, "20140120120000.000000+000", 1, "T", 1000, 1, "");
    char *m = msg("20140120120000.000000+000", 2, "T", 1000, 1, "");
    apply_msgs(f, SEED_CLIENT, "RENAMED-PC", m);
    free(m);
    /* A fresh connection's cache reads the row again and sees the new name. */
    apply_close(f->a);
    assert_int_equal(apply_open(f->d, "CS1", &f->a), 0);
    m = msg("20140120120000.000000+000", 3, "T", 1000, 1, "");
    apply_msgs(f, SEED_CLIENT, "RENAMED-PC", m);
    free(m);
    q_text(f, "SELECT Netbios_Name0 FROM System_DISC", out, sizeof out);
    assert_string_equal(out, "RENAMED-PC");
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM System_DISC", NULL), 1);
}

/* ------------------------------------------------------------------ */
/* summary: the SUM tasks                                              */
/* ------------------------------------------------------------------ */

static void summary_update_status(void **state)
{
    fx *f = *state;
    long long status = 0;
    char sql[256];
    long long x = add_update(f, "aaaaaaaa-0000-4000-8000-000000000001");
    long long y = add_update(f, "aaaaaaaa-0000-4000-8000-000000000002");
    static const char *const clients[] = {
        "GUID:00000000-0000-4000-8000-000000000001", "GUID:00000000-0000-4000-8000-000000000002",
        "GUID:00000000-0000-4000-8000-000000000003", "GUID:00000000-0000-4000-8000-000000000004"};
    static const int states[] = {2, 3, 1, 0};
    for (int i = 0; i < 4; i++) {
        char *m = msg("20140120120000.000000+000", 1, "aaaaaaaa-0000-4000-8000-000000000001", 500,
                      states[i], "");
        apply_msgs(f, clients[i], "PC", m);
        free(m);
    }
    assert_int_equal(summary_run(f->d, f->a, SUM_UPDATE_STATUS, 90, &status), 0);
    assert_int_equal(status, 2); /* two updates summarized */
    snprintf(sql, sizeof sql,
             "SELECT NumRequired * 10000 + NumInstalled * 1000 + NumNotRequired * 100 + "
             "NumUnknown * 10 + NumTotal FROM v_UpdateSummary WHERE CI_ID = %lld",
             x);
    assert_int_equal(tu_qint(f->d, sql, NULL), 11114);
    snprintf(sql, sizeof sql,
             "SELECT NumRequired * 10000 + NumInstalled * 1000 + NumNotRequired * 100 + "
             "NumUnknown * 10 + NumTotal FROM v_UpdateSummary WHERE CI_ID = %lld",
             y);
    assert_int_equal(tu_qint(f->d, sql, NULL), 44);
    /* A decommissioned client no longer counts. */
    exec(f, "UPDATE System_DISC SET Decommissioned0 = 1 WHERE SMS_Unique_Identifier0 = "
            "'GUID:00000000-0000-4000-8000-000000000001'");
    assert_int_equal(summary_run(f->d, f->a, SUM_UPDATE_STATUS, 90, &status), 0);
    snprintf(sql, sizeof sql,
             "SELECT NumRequired * 10000 + NumInstalled * 1000 + NumNotRequired * 100 + "
             "NumUnknown * 10 + NumTotal FROM Update_StatusSummary WHERE CI_ID = %lld",
             x);
    assert_int_equal(tu_qint(f->d, sql, NULL), 1113);
}

static void summary_groups_and_deployments(void **state)
{
    fx *f = *state;
    long long status = 0;
    long long u1 = add_update(f, "bbbbbbbb-0000-4000-8000-000000000001");
    long long u2 = add_update(f, "bbbbbbbb-0000-4000-8000-000000000002");
    char sql[512];
    exec(f, "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID) VALUES ('ScopeId_X/"
            "AuthList_1', 9)");
    long long g =
        tu_qint(f->d, "SELECT CI_ID FROM CI_ConfigurationItems WHERE CIType_ID = 9", NULL);
    snprintf(sql, sizeof sql,
             "INSERT INTO CI_ConfigurationItemRelations (FromCI_ID, ToCI_ID, RelationType) VALUES "
             "(%lld, %lld, 1)",
             g, u1);
    exec(f, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO CI_ConfigurationItemRelations (FromCI_ID, ToCI_ID, RelationType) VALUES "
             "(%lld, %lld, 1)",
             g, u2);
    exec(f, sql);
    exec(f, "INSERT INTO CI_CIAssignments (Assignment_UniqueID, AssignmentName) VALUES "
            "('{B040D195-8FA8-48D3-953F-17E878DAB23D}', 'Lab deployment')");
    /* Client 1: one member required; client 2: installed and not required; client 3: 300 only. */
    char *a =
        msg("20140120120000.000000+000", 1, "bbbbbbbb-0000-4000-8000-000000000001", 500, 2, "");
    char *b =
        msg("20140120120000.000000+000", 2, "bbbbbbbb-0000-4000-8000-000000000002", 500, 1, "");
    char *c1 =
        msg("20140120120000.000000+000", 3, "{B040D195-8FA8-48D3-953F-17E878DAB23D}", 300, 2, "");
    char body[8192];
    snprintf(body, sizeof body, "%s%s%s", a, b, c1);
    apply_msgs(f, "GUID:00000000-0000-4000-8000-00000000000A", "PC1", body);
    free(a);
    free(b);
    free(c1);
    a = msg("20140120120000.000000+000", 1, "bbbbbbbb-0000-4000-8000-000000000001", 500, 3, "");
    b = msg("20140120120000.000000+000", 2, "bbbbbbbb-0000-4000-8000-000000000002", 500, 1, "");
    c1 = msg("20140120120000.000000+000", 3, "{B040D195-8FA8-48D3-953F-17E878DAB23D}", 300, 1, "");
    char *d1 = msg("20140120120000.000000+000", 4, "{B040D195-8FA8-48D3-953F-17E878DAB23D}", 301, 6,
                   "<Param>0x80070005</Param>");
    snprintf(body, sizeof body, "%s%s%s%s", a, b, c1, d1);
    apply_msgs(f, "GUID:00000000-0000-4000-8000-00000000000B", "PC2", body);
    free(a);
    free(b);
    free(c1);
    free(d1);
    a = msg("20140120120000.000000+000", 1, "{B040D195-8FA8-48D3-953F-17E878DAB23D}", 301, 7, "");
    apply_msgs(f, "GUID:00000000-0000-4000-8000-00000000000C", "PC3", a);
    free(a);

    assert_int_equal(summary_run(f->d, f->a, SUM_GROUP, 90, &status), 0);
    assert_int_equal(status, 1);
    snprintf(sql, sizeof sql,
             "SELECT NumRequired * 10000 + NumInstalled * 1000 + NumNotRequired * 100 + "
             "NumUnknown * 10 + NumTotal FROM Update_GroupStatusSummary WHERE CI_ID = %lld",
             g);
    assert_int_equal(tu_qint(f->d, sql, NULL), 11013);
    assert_int_equal(summary_run(f->d, f->a, SUM_ASSIGNMENT, 90, &status), 0);
    assert_int_equal(status, 1);
    assert_int_equal(tu_qint(f->d, "SELECT NumTotal FROM Update_AssignmentSummary", NULL), 3);
    assert_int_equal(tu_qint(f->d, "SELECT NumCompliant FROM Update_AssignmentSummary", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT NumNonCompliant FROM Update_AssignmentSummary", NULL),
                     1);
    assert_int_equal(tu_qint(f->d, "SELECT NumUnknown FROM Update_AssignmentSummary", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT NumInProgress FROM Update_AssignmentSummary", NULL), 1);
    assert_int_equal(tu_qint(f->d, "SELECT NumFailed FROM Update_AssignmentSummary", NULL), 1);
    assert_int_equal(
        tu_qint(f->d, "SELECT LastErrorCode FROM Update_AssignmentStatus WHERE StateID = 6", NULL),
        -2147024891LL);
}

static void summary_delete_aged(void **state)
{
    fx *f = *state;
    long long status = 0;
    char old[32], fresh[32], body[8192];
    time_t now = time(NULL);
    struct tm tm;
    add_update(f, SEED_UPDATE);
    gmtime_r(&(time_t){now - 10 * 86400}, &tm);
    strftime(old, sizeof old, "%Y%m%d%H%M%S.000000+000", &tm);
    gmtime_r(&(time_t){now - 3600}, &tm);
    strftime(fresh, sizeof fresh, "%Y%m%d%H%M%S.000000+000", &tm);
    char *a = msg(old, 1, SEED_UPDATE, 500, 2, "");
    char *b = msg(old, 2, "Old/Topic", 1000, 1, "");
    char *c1 = msg(fresh, 3, "Fresh/Topic", 1000, 1, "");
    snprintf(body, sizeof body, "%s%s%s", a, b, c1);
    apply_msgs(f, SEED_CLIENT, "PC", body);
    free(a);
    free(b);
    free(c1);
    assert_int_equal(summary_run(f->d, f->a, SUM_DELETE_AGED, 5, &status), 0);
    assert_int_equal(status, 2);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM Update_ComplianceStatus", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_CurrentState", NULL), 1);
    assert_int_equal(summary_run(f->d, f->a, "SUM No Such Task", 5, &status), CM_ENOTFOUND);
    assert_true(summary_known(SUM_MIGRATE));
    assert_false(summary_known("SUM No Such Task"));
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "";
    int failed = 0, any = 0;
    xmlInitParser();
    const struct CMUnitTest smx[] = {
        cmocka_unit_test(smx_seed_golden_every_encoding),
        cmocka_unit_test(smx_seed_as_printed_in_the_log),
        cmocka_unit_test(smx_bom_against_declaration),
        cmocka_unit_test(smx_empty_truncated_malformed),
        cmocka_unit_test(smx_refuses_dtd_xxe_and_bombs),
        cmocka_unit_test(smx_hostile_values),
        cmocka_unit_test(smx_missing_and_absurd),
        cmocka_unit_test(smx_params_and_size_cap),
        cmocka_unit_test(smx_from_a_file_descriptor),
        cmocka_unit_test(smx_utf16_decoded_as_utf8),
        cmocka_unit_test(smx_times_and_guids),
        cmocka_unit_test(hmap_basics),
    };
    const struct CMUnitTest applyt[] = {
        cmocka_unit_test_setup_teardown(apply_seed_message, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_latest_message_time_wins, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_unknown_update_waits_then_migrates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(apply_serial_gaps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_serials_in_any_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_serials_shuffled, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_many_known_clients, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_topic_types, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(apply_client_renamed, fx_setup, fx_teardown),
    };
    const struct CMUnitTest summary[] = {
        cmocka_unit_test_setup_teardown(summary_update_status, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(summary_groups_and_deployments, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(summary_delete_aged, fx_setup, fx_teardown),
    };
    if (!*group || strcmp(group, "smx") == 0) {
        any = 1;
        failed += cmocka_run_group_tests_name("statesys-smx", smx, NULL, NULL);
    }
    if (!*group || strcmp(group, "apply") == 0) {
        any = 1;
        failed += cmocka_run_group_tests_name("statesys-apply", applyt, NULL, NULL);
    }
    if (!*group || strcmp(group, "summary") == 0) {
        any = 1;
        failed += cmocka_run_group_tests_name("statesys-summary", summary, NULL, NULL);
    }
    xmlCleanupParser();
    if (!any) {
        fprintf(stderr, "statesys-unit: no group named '%s'\n", group);
        return 2;
    }
    return failed ? 1 : 0;
}
