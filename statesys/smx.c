/*
 * smx.c - the SMX (state message batch) parser: encoding sniffing, a
 * libxml2 SAX2 stream with every dangerous feature off, and the checks each
 * record must pass before statesys applies it.
 *
 * Why SAX2 and not the reader or a tree: a backlog may hold a million files
 * and the writer must never wait for the parsers, so parsing is a single
 * pass that keeps one record at a time.  Why the encoding is decided here
 * and the declaration ignored (XML_PARSE_IGNORE_ENC): management points
 * declare encoding="UTF-16" on content that may be UTF-8, and a declaration
 * cannot be trusted more than the bytes.  The byte order mark, when there
 * is one, wins; without one the first characters decide.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "cm_error.h"
#include "smx.h"

/* Elements deeper than this are skipped (nothing of ours lives there). */
#define SMX_MAX_DEPTH 64
/* A Param or header text longer than its field marks the field as too long. */
#define SMX_TEXT_MAX SMX_PARAMS_MAX

/* The elements the parser cares about, by position in the document. */
typedef enum {
    E_OTHER,
    E_REPORT,
    E_HEADER,
    E_IDENT,
    E_MACHINE,
    E_CLIENTID,
    E_NETBIOS,
    E_CLIENTVER,
    E_BODY,
    E_MSG,
    E_TOPIC,
    E_STATE,
    E_UPARAMS,
    E_PARAM
} smx_elem;

typedef struct field {
    char buf[SMX_USER_MAX + 1];
    int present;
    int overflow;
} field;

typedef struct parser {
    xmlParserCtxtPtr ctxt;
    smx_header *hdr;
    smx_record_fn fn;
    void *ud;
    long long now_ms;
    int depth;
    smx_elem stack[SMX_MAX_DEPTH];
    char *err;
    size_t errlen;
    int failed; /* our own refusal (DTD, root) */

    /* Text of the element being collected (header fields, Param). */
    char text[SMX_TEXT_MAX + 1];
    size_t textlen;
    int text_overflow;

    /* The record being built. */
    int in_msg;
    char time_s[64];
    int time_present, time_overflow;
    char serial_s[32];
    int serial_present, serial_overflow;
    char topic_id[SMX_TOPIC_ID_MAX + 1];
    int topic_present, topic_id_present, topic_id_overflow;
    char type_s[32], idtype_s[32], state_s[32], crit_s[32];
    int type_present, idtype_present, state_present, crit_present, num_overflow;
    field user, user_sid;
    char params[SMX_PARAMS_MAX + 1];
    size_t paramslen;
    int nparams;
    int params_bad;
    char first_param[32];
    int first_param_overflow;
} parser;

/* ------------------------------------------------------------------ */
/* Times and GUIDs                                                     */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int smx_parse_wmi_time(const char *s, long long *utc_ms)
{
    int y, mo, d, h, mi, sec, ms = 0, off = 0;
    size_t len = strlen(s);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    /* yyyymmddHHMMSS, then optionally .ffffff (1-6 digits), then optionally +UUU / -UUU. */
    if (len < 14 || digits(s, 4, &y) < 0 || digits(s + 4, 2, &mo) < 0 || digits(s + 6, 2, &d) < 0 ||
        digits(s + 8, 2, &h) < 0 || digits(s + 10, 2, &mi) < 0 || digits(s + 12, 2, &sec) < 0)
        return CM_EPARSE;
    const char *p = s + 14;
    if (*p == '.') {
        int n = 0, frac = 0;
        p++;
        while (p[n] >= '0' && p[n] <= '9' && n < 6) {
            frac = frac * 10 + (p[n] - '0');
            n++;
        }
        if (n == 0)
            return CM_EPARSE;
        for (int i = n; i < 3; i++)
            frac *= 10;
        for (int i = 3; i < n; i++)
            frac /= 10;
        ms = frac;
        p += n;
    }
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (strlen(p + 1) != 3 || digits(p + 1, 3, &off) < 0 || off > 14 * 60)
            return CM_EPARSE;
        off *= sign;
        p += 4;
    }
    if (*p != '\0')
        return CM_EPARSE;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
        return CM_EPARSE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
        return CM_EPARSE;
    long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    long long secs = days * 86400 + h * 3600 + mi * 60 + sec;
    /* CIM_DATETIME: the offset is minutes east of UTC, so UTC = local - offset. */
    secs -= (long long)off * 60;
    *utc_ms = secs * 1000 + ms;
    return 0;
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* Written out by hand: the writer formats two times per row, and printf costs more than the row. */
void smx_format_time(long long utc_ms, char *buf)
{
    long long secs = utc_ms >= 0 ? utc_ms / 1000 : (utc_ms - 999) / 1000;
    long long ms = utc_ms - secs * 1000;
    long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    long long rem = secs - days * 86400;
    long long y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    put2(buf, (unsigned)(y / 100));
    put2(buf + 2, (unsigned)(y % 100));
    buf[4] = '-';
    put2(buf + 5, m);
    buf[7] = '-';
    put2(buf + 8, d);
    buf[10] = ' ';
    put2(buf + 11, (unsigned)(rem / 3600));
    buf[13] = ':';
    put2(buf + 14, (unsigned)(rem / 60 % 60));
    buf[16] = ':';
    put2(buf + 17, (unsigned)(rem % 60));
    buf[19] = '.';
    buf[20] = (char)('0' + ms / 100);
    put2(buf + 21, (unsigned)(ms % 100));
    buf[23] = '\0';
}

int smx_parse_sql_time(const char *s, long long *utc_ms)
{
    int y, mo, d, h, mi, sec, ms = 0;
    /* "YYYY-MM-DD HH:MM:SS" with an optional fraction, as both dialects print it. */
    if (strlen(s) < 19 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
        s[7] != '-' || digits(s + 8, 2, &d) < 0 || (s[10] != ' ' && s[10] != 'T') ||
        digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
        digits(s + 17, 2, &sec) < 0)
        return CM_EPARSE;
    if (s[19] == '.') {
        int n = 0, frac = 0;
        for (const char *p = s + 20; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        for (int i = n; i < 3; i++)
            frac *= 10;
        ms = frac;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return CM_EPARSE;
    *utc_ms =
        (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) * 1000 +
        ms;
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int smx_guid_canonical(const char *s, size_t len, int upper, char *out)
{
    if (len == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        len = 36;
    }
    if (len != 36)
        return CM_EPARSE;
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return CM_EPARSE;
            out[i] = c;
            continue;
        }
        if (!is_hex(c))
            return CM_EPARSE;
        if (upper && c >= 'a' && c <= 'f')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
    }
    out[36] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ */
/* Record checks                                                       */
/* ------------------------------------------------------------------ */

const char *smx_invalid_text(smx_invalid why)
{
    switch (why) {
    case SMX_OK:
        return "valid";
    case SMX_BAD_TIME:
        return "MessageTime missing, malformed or out of range";
    case SMX_BAD_SERIAL:
        return "SerialNumber missing or not a number in range";
    case SMX_BAD_TOPIC:
        return "Topic or its ID missing, too long or holding control characters";
    case SMX_BAD_TOPIC_TYPE:
        return "Topic Type missing or not a number";
    case SMX_BAD_STATE:
        return "State or its ID missing or not a number";
    case SMX_UNKNOWN_STATE:
        return "a state ID the topic type does not define";
    case SMX_BAD_TOPIC_ID:
        return "a topic ID that is not what the topic type needs";
    case SMX_BAD_PARAMS:
        return "user parameters too many, too long, or holding a tab or newline";
    case SMX_BAD_FIELD:
        return "User, UserSID, IDType or Criticality malformed or too long";
    }
    return "unknown";
}

/*
 * A non-negative decimal number of at most maxdig digits (no sign, no
 * blanks: a client never sends them, and a lenient reading of "1e9" or
 * "-1" would hide a broken client).
 */
static int parse_uint(const char *s, int maxdig, long long *out)
{
    long long v = 0;
    int n = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= maxdig)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* Highest state ID of the topic types DESIGN.md 2.6 seeds in SR_StateNames; -1 for others. */
static long long max_state(long long type)
{
    switch (type) {
    case 300:
        return 3;
    case 301:
        return 11;
    case 302:
        return 3;
    case 400:
        return 3;
    case 401:
        return 7;
    case 402:
        return 14;
    case 500:
        return 3;
    case 501:
        return 4;
    default:
        return -1;
    }
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/*
 * The canonical key of a topic: the update's GUID in lower case for 500
 * and 402 (402 topics may be "Site_<scope>/SUM_<guid>", the update's model
 * name), the {GUID} in upper case for update sources (501) and deployments
 * (300-302), the ID as sent for every other type.
 */
static smx_invalid topic_key(long long type, const char *id, char *key, size_t keylen)
{
    char g[37];
    size_t len = strlen(id);
    switch (type) {
    case 500:
    case 402: {
        const char *p = id;
        if (type == 402) {
            const char *slash = strrchr(id, '/');
            if (slash)
                p = slash + 1;
            if (strncasecmp(p, "SUM_", 4) == 0)
                p += 4;
        }
        if (smx_guid_canonical(p, strlen(p), 0, g) < 0)
            return SMX_BAD_TOPIC_ID;
        snprintf(key, keylen, "%s", g);
        return SMX_OK;
    }
    case 300:
    case 301:
    case 302:
    case 501:
        if (smx_guid_canonical(id, len, 1, g) < 0)
            return SMX_BAD_TOPIC_ID;
        snprintf(key, keylen, "{%s}", g);
        return SMX_OK;
    default:
        snprintf(key, keylen, "%s", id);
        return SMX_OK;
    }
}

static long long clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The earliest MessageTime taken (older is a client clock that was never set). */
#define SMX_MIN_TIME_MS 631152000000LL /* 1990-01-01 */
/* How far ahead of our clock a client's clock may run. */
#define SMX_MAX_AHEAD_MS (24LL * 3600 * 1000)

static smx_invalid check_record(parser *p, smx_record *r, char *key, size_t keylen)
{
    /*
     * The serial number first: it is kept even when the rest is invalid (a
     * record that was sent is no gap).  A client's counter: 18 digits is far
     * past any real one.
     */
    if (!p->serial_present || p->serial_overflow || parse_uint(p->serial_s, 18, &r->serial) < 0) {
        r->serial = -1;
        return SMX_BAD_SERIAL;
    }
    if (!p->time_present || p->time_overflow || smx_parse_wmi_time(p->time_s, &r->time_ms) < 0 ||
        r->time_ms < SMX_MIN_TIME_MS || r->time_ms > p->now_ms + SMX_MAX_AHEAD_MS)
        return SMX_BAD_TIME;
    smx_format_time(r->time_ms, r->time);
    if (!p->topic_present || !p->topic_id_present || p->topic_id_overflow ||
        p->topic_id[0] == '\0' || has_ctl(p->topic_id))
        return SMX_BAD_TOPIC;
    if (!p->type_present || parse_uint(p->type_s, 9, &r->topic_type) < 0)
        return SMX_BAD_TOPIC_TYPE;
    if (!p->state_present || parse_uint(p->state_s, 9, &r->state_id) < 0)
        return SMX_BAD_STATE;
    if (p->num_overflow || p->user.overflow || p->user_sid.overflow || has_ctl(p->user.buf) ||
        has_ctl(p->user_sid.buf))
        return SMX_BAD_FIELD;
    if (p->idtype_present && p->idtype_s[0] && parse_uint(p->idtype_s, 9, &r->id_type) < 0)
        return SMX_BAD_FIELD;
    if (p->crit_present && p->crit_s[0] && parse_uint(p->crit_s, 9, &r->criticality) < 0)
        return SMX_BAD_FIELD;
    long long maxs = max_state(r->topic_type);
    if (maxs >= 0 && r->state_id > maxs)
        return SMX_UNKNOWN_STATE;
    if (p->params_bad)
        return SMX_BAD_PARAMS;
    smx_invalid why = topic_key(r->topic_type, p->topic_id, key, keylen);
    if (why != SMX_OK)
        return why;
    /* Type 500: the first parameter is the update's revision number. */
    if (r->topic_type == 500 && p->nparams > 0) {
        if (p->first_param_overflow || parse_uint(p->first_param, 9, &r->revision) < 0)
            return SMX_BAD_PARAMS;
    }
    return SMX_OK;
}

/* ------------------------------------------------------------------ */
/* SAX2 callbacks                                                      */
/* ------------------------------------------------------------------ */

static void fail(parser *p, const char *msg)
{
    if (!p->failed) {
        p->failed = 1;
        snprintf(p->err, p->errlen, "%s", msg);
    }
    xmlStopParser(p->ctxt);
}

static int name_is(const xmlChar *name, const char *want)
{
    return strcmp((const char *)name, want) == 0;
}

/*
 * Copy an attribute value (not NUL-terminated) into dst.  Without entity
 * substitution libxml2 hands "&" over as "&#38;" (for both "&amp;" and a
 * character reference), and no other text can produce that sequence in a
 * well-formed attribute, so it is turned back into "&" here.
 */
static void attr_copy(char *dst, size_t cap, const xmlChar *v, const xmlChar *end, int *overflow)
{
    size_t n = 0;
    const char *s = (const char *)v, *e = (const char *)end;
    *overflow = 0;
    while (s < e) {
        char c = *s;
        if (c == '&' && e - s >= 5 && memcmp(s, "&#38;", 5) == 0)
            s += 5;
        else
            s++;
        if (n + 1 >= cap) {
            *overflow = 1;
            break;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
}

static void msg_reset(parser *p)
{
    p->in_msg = 1;
    p->time_present = p->time_overflow = 0;
    p->serial_present = p->serial_overflow = 0;
    p->topic_present = p->topic_id_present = p->topic_id_overflow = 0;
    p->type_present = p->idtype_present = p->state_present = p->crit_present = 0;
    p->num_overflow = 0;
    p->topic_id[0] = p->time_s[0] = p->serial_s[0] = '\0';
    p->type_s[0] = p->idtype_s[0] = p->state_s[0] = p->crit_s[0] = '\0';
    memset(&p->user, 0, sizeof p->user);
    memset(&p->user_sid, 0, sizeof p->user_sid);
    p->params[0] = '\0';
    p->paramslen = 0;
    p->nparams = 0;
    p->params_bad = 0;
    p->first_param[0] = '\0';
    p->first_param_overflow = 0;
}

static void num_attr(parser *p, char *dst, size_t cap, int *present, const xmlChar *v,
                     const xmlChar *end)
{
    int of;
    attr_copy(dst, cap, v, end, &of);
    *present = 1;
    if (of)
        p->num_overflow = 1;
}

static void msg_attrs(parser *p, smx_elem el, int nb, const xmlChar **a)
{
    for (int i = 0; i < nb; i++) {
        const xmlChar *name = a[i * 5], *v = a[i * 5 + 3], *end = a[i * 5 + 4];
        int of;
        if (el == E_MSG) {
            if (name_is(name, "MessageTime")) {
                attr_copy(p->time_s, sizeof p->time_s, v, end, &p->time_overflow);
                p->time_present = 1;
            } else if (name_is(name, "SerialNumber")) {
                attr_copy(p->serial_s, sizeof p->serial_s, v, end, &p->serial_overflow);
                p->serial_present = 1;
            }
        } else if (el == E_TOPIC) {
            if (name_is(name, "ID")) {
                attr_copy(p->topic_id, sizeof p->topic_id, v, end, &p->topic_id_overflow);
                p->topic_id_present = 1;
            } else if (name_is(name, "Type")) {
                num_attr(p, p->type_s, sizeof p->type_s, &p->type_present, v, end);
            } else if (name_is(name, "IDType")) {
                num_attr(p, p->idtype_s, sizeof p->idtype_s, &p->idtype_present, v, end);
            } else if (name_is(name, "User")) {
                attr_copy(p->user.buf, sizeof p->user.buf, v, end, &of);
                p->user.present = 1;
                p->user.overflow = of;
            } else if (name_is(name, "UserSID")) {
                attr_copy(p->user_sid.buf, sizeof p->user_sid.buf, v, end, &of);
                p->user_sid.present = 1;
                p->user_sid.overflow = of;
            }
        } else if (el == E_STATE) {
            if (name_is(name, "ID"))
                num_attr(p, p->state_s, sizeof p->state_s, &p->state_present, v, end);
            else if (name_is(name, "Criticality"))
                num_attr(p, p->crit_s, sizeof p->crit_s, &p->crit_present, v, end);
        }
    }
}

static smx_elem classify(smx_elem parent, const xmlChar *name)
{
    switch (parent) {
    case E_REPORT:
        if (name_is(name, "ReportHeader"))
            return E_HEADER;
        if (name_is(name, "ReportBody"))
            return E_BODY;
        break;
    case E_HEADER:
        if (name_is(name, "Identification"))
            return E_IDENT;
        break;
    case E_IDENT:
        if (name_is(name, "Machine"))
            return E_MACHINE;
        break;
    case E_MACHINE:
        if (name_is(name, "ClientID"))
            return E_CLIENTID;
        if (name_is(name, "NetBIOSName"))
            return E_NETBIOS;
        if (name_is(name, "ClientVersion"))
            return E_CLIENTVER;
        break;
    case E_BODY:
        if (name_is(name, "StateMessage"))
            return E_MSG;
        break;
    case E_MSG:
        if (name_is(name, "Topic"))
            return E_TOPIC;
        if (name_is(name, "State"))
            return E_STATE;
        if (name_is(name, "UserParameters"))
            return E_UPARAMS;
        break;
    case E_UPARAMS:
        if (name_is(name, "Param"))
            return E_PARAM;
        break;
    default:
        break;
    }
    return E_OTHER;
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    parser *p = ctx;
    smx_elem el;
    (void)prefix;
    (void)URI;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    if (p->depth == 0) {
        if (!name_is(localname, "Report")) {
            fail(p, "the root element is not <Report>");
            return;
        }
        el = E_REPORT;
    } else {
        smx_elem parent = p->depth <= SMX_MAX_DEPTH ? p->stack[p->depth - 1] : E_OTHER;
        el = classify(parent, localname);
    }
    if (p->depth < SMX_MAX_DEPTH)
        p->stack[p->depth] = el;
    p->depth++;
    switch (el) {
    case E_MSG:
        msg_reset(p);
        p->hdr->report_records++;
        msg_attrs(p, el, nb_attributes, attributes);
        break;
    case E_TOPIC:
        p->topic_present = 1;
        msg_attrs(p, el, nb_attributes, attributes);
        break;
    case E_STATE:
        msg_attrs(p, el, nb_attributes, attributes);
        break;
    case E_CLIENTID:
    case E_NETBIOS:
    case E_CLIENTVER:
    case E_PARAM:
        p->textlen = 0;
        p->text_overflow = 0;
        p->text[0] = '\0';
        break;
    default:
        break;
    }
}

static smx_elem current(parser *p)
{
    return p->depth > 0 && p->depth <= SMX_MAX_DEPTH ? p->stack[p->depth - 1] : E_OTHER;
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
    parser *p = ctx;
    smx_elem el = current(p);
    if (el != E_CLIENTID && el != E_NETBIOS && el != E_CLIENTVER && el != E_PARAM)
        return;
    if (p->text_overflow)
        return;
    if (p->textlen + (size_t)len > SMX_TEXT_MAX) {
        p->text_overflow = 1;
        return;
    }
    memcpy(p->text + p->textlen, ch, (size_t)len);
    p->textlen += (size_t)len;
    p->text[p->textlen] = '\0';
}

/* Leading and trailing blanks of a header field (the documents wrap them). */
static const char *trim(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static void header_field(parser *p, smx_elem el)
{
    const char *v = trim(p->text);
    smx_header *h = p->hdr;
    if (el == E_CLIENTID) {
        char g[37];
        h->has_client_id = 0;
        if (!p->text_overflow && strncasecmp(v, "GUID:", 5) == 0 &&
            smx_guid_canonical(v + 5, strlen(v + 5), 1, g) == 0) {
            snprintf(h->client_id, sizeof h->client_id, "GUID:%s", g);
            h->has_client_id = 1;
        }
    } else if (el == E_NETBIOS) {
        if (p->text_overflow || strlen(v) > SMX_NAME_MAX || has_ctl(v)) {
            h->bad_netbios = 1;
            h->netbios[0] = '\0';
        } else {
            h->bad_netbios = 0;
            snprintf(h->netbios, sizeof h->netbios, "%s", v);
        }
    } else if (el == E_CLIENTVER) {
        if (!p->text_overflow && strlen(v) <= SMX_NAME_MAX && !has_ctl(v))
            snprintf(h->client_version, sizeof h->client_version, "%s", v);
    }
}

static void add_param(parser *p)
{
    const char *v = p->text;
    size_t n = p->textlen;
    if (p->nparams == 0) {
        if (n >= sizeof p->first_param)
            p->first_param_overflow = 1;
        else
            memcpy(p->first_param, v, n + 1);
    }
    p->nparams++;
    /* Tabs join the values in SR_CurrentState.UserParams: a value may not hold one. */
    if (p->text_overflow || p->nparams > SMX_PARAM_COUNT_MAX || memchr(v, '\t', n) ||
        memchr(v, '\n', n) || memchr(v, '\r', n) ||
        p->paramslen + n + (p->nparams > 1) > SMX_PARAMS_MAX) {
        p->params_bad = 1;
        return;
    }
    if (p->nparams > 1)
        p->params[p->paramslen++] = '\t';
    memcpy(p->params + p->paramslen, v, n);
    p->paramslen += n;
    p->params[p->paramslen] = '\0';
}

static void end_msg(parser *p)
{
    smx_record r;
    char key[SMX_TOPIC_ID_MAX + 1] = "";
    memset(&r, 0, sizeof r);
    r.revision = -1;
    r.serial = -1;
    r.invalid = check_record(p, &r, key, sizeof key);
    r.topic_id = p->topic_id;
    r.key = key;
    r.user = p->user.buf;
    r.user_sid = p->user_sid.buf;
    r.params = p->params;
    r.nparams = p->nparams;
    p->in_msg = 0;
    if (p->fn)
        p->fn(p->ud, &r);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI)
{
    parser *p = ctx;
    smx_elem el = current(p);
    (void)localname;
    (void)prefix;
    (void)URI;
    switch (el) {
    case E_CLIENTID:
    case E_NETBIOS:
    case E_CLIENTVER:
        header_field(p, el);
        break;
    case E_PARAM:
        if (p->in_msg)
            add_param(p);
        break;
    case E_MSG:
        if (p->in_msg)
            end_msg(p);
        break;
    default:
        break;
    }
    if (p->depth > 0)
        p->depth--;
}

/* A DOCTYPE is refused before its internal subset is read: no entity is ever declared. */
static void on_dtd(void *ctx, const xmlChar *name, const xmlChar *ExternalID,
                   const xmlChar *SystemID)
{
    (void)name;
    (void)ExternalID;
    (void)SystemID;
    fail(ctx, "a document type declaration (DTD) is not accepted in a state message file");
}

/* Any entity lookup beyond the predefined five fails: there are no declarations. */
static xmlEntityPtr on_entity(void *ctx, const xmlChar *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

static void on_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

typedef struct input {
    int fd; /* -1 for memory */
    const unsigned char *mem;
    size_t memlen, mempos;
    unsigned char head[4]; /* the first bytes, read to sniff the encoding */
    size_t headlen, headpos;
    size_t total, max;
    int too_big;
    int read_errno;
    /*
     * 0: the bytes go to libxml2 as they are (UTF-8); 1 UTF-16LE, 2
     * UTF-16BE: decoded to UTF-8 here (see utf16_read).  carry holds the
     * bytes of a unit or surrogate pair cut by the end of a read.
     */
    int utf16;
    int decode_error;
    unsigned char carry[4];
    size_t ncarry;
} input;

static ssize_t raw_read(input *in, unsigned char *buf, size_t len)
{
    if (in->fd < 0) {
        size_t n = in->memlen - in->mempos;
        if (n > len)
            n = len;
        memcpy(buf, in->mem + in->mempos, n);
        in->mempos += n;
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t n = read(in->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            in->read_errno = errno;
        return n;
    }
}

/* The file's bytes, with the cap on their count. */
static int bytes_read(input *in, char *buf, int len)
{
    size_t got = 0;
    if (len <= 0)
        return 0;
    while (in->headpos < in->headlen && got < (size_t)len)
        buf[got++] = (char)in->head[in->headpos++];
    if (got < (size_t)len) {
        ssize_t n = raw_read(in, (unsigned char *)buf + got, (size_t)len - got);
        if (n < 0)
            return -1;
        got += (size_t)n;
    }
    in->total += got;
    /* The file may have grown since it was measured: the cap holds while reading too. */
    if (in->max && in->total > in->max) {
        in->too_big = 1;
        return -1;
    }
    return (int)got;
}

/*
 * UTF-16 to UTF-8, as libxml2's own decoder would do it but a quarter of
 * the instructions (callgrind): libxml2 2.9 converts UTF-16 one unit at a
 * time through a generic loop, which was a sixth of statesys's whole CPU
 * time on the files management points write (UTF-16LE, nearly all ASCII).
 * libxml2 then parses the same UTF-8 it would have produced itself, so
 * every check on characters stays its own.  The same input is refused: a
 * low surrogate without a high one, or a high one not followed by a low
 * one.  An incomplete unit or pair at the very end of the file is dropped,
 * as libxml2 drops it.
 */
static int utf16_read(input *in, char *buf, int len)
{
    unsigned char raw[4096 + sizeof in->carry];
    unsigned char *o = (unsigned char *)buf;
    size_t out = 0;
    int le = in->utf16 == 1;
    const uint16_t one = 1;
    int host_le = *(const unsigned char *)&one == 1;

    /* A unit gives at most 3 bytes of UTF-8, a pair (two units) 4. */
    size_t units = (size_t)len / 3;
    if (units * 2 > sizeof raw)
        units = sizeof raw / 2;
    if (units < 2)
        return -1; /* libxml2 asks for kilobytes; a tiny buffer cannot hold a pair */
    while (out == 0) {
        size_t avail = in->ncarry, i = 0;
        memcpy(raw, in->carry, in->ncarry);
        if (units * 2 > avail) {
            int n = bytes_read(in, (char *)raw + avail, (int)(units * 2 - avail));
            if (n < 0)
                return -1;
            if (n == 0) {
                in->ncarry = 0;
                return 0;
            }
            avail += (size_t)n;
        }
        while (i + 1 < avail) {
            /* Four ASCII characters at a time: nearly every character of a state message. */
            while (i + 8 <= avail) {
                uint64_t w;
                memcpy(&w, raw + i, 8);
                /* Memory order: in little-endian units the high bytes are the odd ones. */
                if (w & (le == host_le ? 0xFF80FF80FF80FF80ULL : 0x80FF80FF80FF80FFULL))
                    break;
                o[out] = raw[i + !le];
                o[out + 1] = raw[i + 2 + !le];
                o[out + 2] = raw[i + 4 + !le];
                o[out + 3] = raw[i + 6 + !le];
                out += 4;
                i += 8;
            }
            if (i + 1 >= avail)
                break;
            unsigned u = le ? (unsigned)raw[i] | (unsigned)raw[i + 1] << 8
                            : (unsigned)raw[i] << 8 | (unsigned)raw[i + 1];
            if (u < 0x80) {
                o[out++] = (unsigned char)u;
                i += 2;
            } else if (u < 0x800) {
                o[out++] = (unsigned char)(0xC0 | u >> 6);
                o[out++] = (unsigned char)(0x80 | (u & 0x3F));
                i += 2;
            } else if (u >= 0xD800 && u <= 0xDBFF) {
                if (i + 3 >= avail)
                    break; /* the low surrogate comes with the next read */
                unsigned v = le ? (unsigned)raw[i + 2] | (unsigned)raw[i + 3] << 8
                                : (unsigned)raw[i + 2] << 8 | (unsigned)raw[i + 3];
                if (v < 0xDC00 || v > 0xDFFF) {
                    in->decode_error = 1;
                    return -1;
                }
                unsigned long c = 0x10000UL + ((unsigned long)(u - 0xD800) << 10) + (v - 0xDC00);
                o[out++] = (unsigned char)(0xF0 | c >> 18);
                o[out++] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
                o[out++] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
                o[out++] = (unsigned char)(0x80 | (c & 0x3F));
                i += 4;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                in->decode_error = 1;
                return -1;
            } else {
                o[out++] = (unsigned char)(0xE0 | u >> 12);
                o[out++] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
                o[out++] = (unsigned char)(0x80 | (u & 0x3F));
                i += 2;
            }
        }
        in->ncarry = avail - i;
        memcpy(in->carry, raw + i, in->ncarry);
    }
    return (int)out;
}

static int io_read(void *ctx, char *buf, int len)
{
    input *in = ctx;
    return in->utf16 ? utf16_read(in, buf, len) : bytes_read(in, buf, len);
}

static int io_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/*
 * Read the first bytes and decide the encoding.  The byte order mark is
 * consumed here (so libxml2 never sees a second opinion); without one, '<'
 * and blanks in 16-bit units reveal UTF-16 and its byte order.
 */
static xmlCharEncoding sniff(input *in)
{
    unsigned char *h = in->head;
    size_t n = 0;
    while (n < 4) {
        ssize_t r = raw_read(in, h + n, 4 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    in->headlen = n;
    in->headpos = 0;
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) {
        in->headpos = 3;
        in->total = 3;
        return XML_CHAR_ENCODING_UTF8;
    }
    if (n >= 2 && h[0] == 0xFF && h[1] == 0xFE) {
        if (n == 4 && h[2] == 0 && h[3] == 0)
            return XML_CHAR_ENCODING_ERROR; /* UTF-32LE: not a state message */
        in->headpos = 2;
        in->total = 2;
        return XML_CHAR_ENCODING_UTF16LE;
    }
    if (n >= 2 && h[0] == 0xFE && h[1] == 0xFF) {
        in->headpos = 2;
        in->total = 2;
        return XML_CHAR_ENCODING_UTF16BE;
    }
    if (n >= 2 && h[0] != 0 && h[1] == 0)
        return XML_CHAR_ENCODING_UTF16LE;
    if (n >= 2 && h[0] == 0 && h[1] != 0)
        return XML_CHAR_ENCODING_UTF16BE;
    return XML_CHAR_ENCODING_UTF8;
}

static int parse_input(input *in, const smx_options *opt, smx_header *hdr, smx_record_fn fn,
                       void *ud, char *err, size_t errlen)
{
    xmlSAXHandler sax;
    parser *p;
    xmlParserCtxtPtr ctxt;
    int ret;
    char dummy[2];

    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    memset(hdr, 0, sizeof *hdr);
    xmlCharEncoding enc = sniff(in);
    if (in->read_errno)
        return -in->read_errno;
    if (in->headlen == 0) {
        snprintf(err, errlen, "the file is empty");
        return CM_EPARSE;
    }
    if (enc == XML_CHAR_ENCODING_ERROR) {
        snprintf(err, errlen, "the file is not UTF-8 or UTF-16");
        return CM_EPARSE;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->hdr = hdr;
    p->fn = fn;
    p->ud = ud;
    p->err = err;
    p->errlen = errlen;
    p->now_ms = opt && opt->now_ms ? opt->now_ms : clock_ms();

    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    sax.internalSubset = on_dtd;
    sax.externalSubset = on_dtd;
    sax.getEntity = on_entity;
    sax.getParameterEntity = on_entity;
    sax.serror = on_error;

    /* Created without an encoding: what it reads is UTF-8, decoded here if need be. */
    ctxt = xmlCreateIOParserCtxt(&sax, p, io_read, io_close, in, XML_CHAR_ENCODING_NONE);
    if (!ctxt) {
        free(p);
        return -ENOMEM;
    }
    p->ctxt = ctxt;
    /* UTF-16 reaches libxml2 as UTF-8 (utf16_read). */
    if (enc == XML_CHAR_ENCODING_UTF16LE)
        in->utf16 = 1;
    else if (enc == XML_CHAR_ENCODING_UTF16BE)
        in->utf16 = 2;
    /*
     * NONET: no network, ever.  IGNORE_ENC: the encoding decided above
     * stands.  Not NOENT (no substitution), not DTDLOAD/DTDATTR/DTDVALID
     * (nothing external is read), not HUGE (libxml2's own limits on names,
     * text and depth stay on).
     */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    ctxt->sax->serror = on_error;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    xmlParseDocument(ctxt);

    if (in->too_big) {
        snprintf(err, errlen, "the file is larger than %zu bytes", in->max);
        ret = CM_ETOOBIG;
    } else if (in->decode_error) {
        snprintf(err, errlen, "cannot decode the file as UTF-16");
        ret = CM_EPARSE;
    } else if (in->read_errno) {
        ret = -in->read_errno;
    } else if (p->failed) {
        ret = CM_EPARSE;
    } else if (!ctxt->wellFormed) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        if (e && e->message) {
            size_t n = strlen(e->message);
            while (n && (e->message[n - 1] == '\n' || e->message[n - 1] == ' '))
                n--;
            snprintf(err, errlen, "not well-formed XML (line %d): %.*s", e->line, (int)n,
                     e->message);
        } else {
            snprintf(err, errlen, "not well-formed XML");
        }
        ret = CM_EPARSE;
    } else if (p->depth != 0 || !p->stack[0]) {
        snprintf(err, errlen, "the file holds no <Report>");
        ret = CM_EPARSE;
    } else {
        ret = 0;
    }
    xmlFreeParserCtxt(ctxt);
    free(p);
    return ret;
}

int smx_parse_fd(int fd, const smx_options *opt, smx_header *hdr, smx_record_fn fn, void *ud,
                 char *err, size_t errlen)
{
    input in;
    memset(&in, 0, sizeof in);
    in.fd = fd;
    in.max = opt ? opt->max_bytes : 0;
    return parse_input(&in, opt, hdr, fn, ud, err, errlen);
}

int smx_parse_mem(const void *buf, size_t len, const smx_options *opt, smx_header *hdr,
                  smx_record_fn fn, void *ud, char *err, size_t errlen)
{
    input in;
    memset(&in, 0, sizeof in);
    in.fd = -1;
    in.mem = buf;
    in.memlen = len;
    in.max = opt ? opt->max_bytes : 0;
    return parse_input(&in, opt, hdr, fn, ud, err, errlen);
}
