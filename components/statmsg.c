/*
 * statmsg.c - ConfigMgr status messages: the STATMSG: log line, the rows in
 * StatusMessages / StatusMessageInsStrs / StatusMessageAttributes, and the
 * catalogue text with its %1..%10 insertion strings filled in.
 *
 * The line copies the real site server's byte for byte (seed 002, 004), with
 * English day and month names whatever the locale, because scripts and
 * people grep site-server logs for exactly that text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm_error.h"
#include "inbox.h"
#include "log.h"
#include "statmsg.h"

/* ---------------------------------------------------------------- helpers */

/* Own tables: strftime's %a/%b would follow LC_TIME. */
static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/*
 * An appender that keeps counting past the end of its buffer, so one pass
 * both fills a fixed buffer and measures what a complete line needs.
 */
typedef struct outbuf {
    char *buf;
    size_t len;
    size_t pos; /* bytes the complete text needs so far */
} outbuf;

static void out_char(outbuf *o, char c)
{
    if (o->len > 0 && o->pos < o->len - 1)
        o->buf[o->pos] = c;
    o->pos++;
}

static void out_str(outbuf *o, const char *s)
{
    for (; s && *s; s++)
        out_char(o, *s);
}

/* An insertion string or attribute value on the one-line STATMSG: newlines as '~'. */
static void out_oneline(outbuf *o, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\r')
            continue; /* CR LF is one line break, as in log.c */
        out_char(o, *s == '\n' ? '~' : *s);
    }
}

static void out_fmt(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(outbuf *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    out_str(o, tmp);
}

static void out_finish(outbuf *o)
{
    if (o->len == 0)
        return;
    o->buf[o->pos < o->len ? o->pos : o->len - 1] = '\0';
}

static int valid_message(const statmsg *m)
{
    if (!m || m->nattrs < 0 || m->nattrs > STATMSG_MAX_ATTRS)
        return 0;
    return 1;
}

/* The UTC time split into fields, with milliseconds. */
static int utc_fields(const struct timespec *ts, struct tm *tm, long *ms)
{
    time_t t = ts->tv_sec;

    if (!gmtime_r(&t, tm))
        return CM_ERANGE;
    *ms = ts->tv_nsec / 1000000L;
    if (*ms < 0 || *ms > 999)
        *ms = 0;
    return 0;
}

static void format_into(outbuf *o, const statmsg *m, const struct tm *tm, long ms)
{
    out_fmt(o, "STATMSG: ID=%d SEV=%c LEV=%c SOURCE=\"SMS Server\" COMP=\"", m->id, m->sev, m->lev);
    out_str(o, m->component);
    out_str(o, "\" SYS=");
    out_str(o, m->machine);
    out_str(o, " SITE=");
    out_str(o, m->site);
    out_fmt(o, " PID=%ld TID=%ld GMTDATE=%s %s %02d %02d:%02d:%02d.%03ld %04d", m->pid, m->tid,
            day_names[tm->tm_wday % 7], month_names[tm->tm_mon % 12], tm->tm_mday, tm->tm_hour,
            tm->tm_min, tm->tm_sec, ms, tm->tm_year + 1900);
    for (int i = 0; i < STATMSG_MAX_INSSTRS; i++) {
        out_fmt(o, " ISTR%d=\"", i);
        out_oneline(o, m->istr[i]);
        out_char(o, '"');
    }
    out_fmt(o, " NUMATTRS=%d", m->nattrs);
    for (int i = 0; i < m->nattrs; i++) {
        out_fmt(o, " AID=%d AVAL=\"", m->attrs[i].id);
        out_oneline(o, m->attrs[i].value);
        out_char(o, '"');
    }
}

/* ---------------------------------------------------------------- the line */

void statmsg_init(statmsg *m, int id, char sev, char lev, const char *component,
                  const char *machine, const char *site)
{
    memset(m, 0, sizeof(*m));
    m->id = id;
    m->sev = sev;
    m->lev = lev;
    m->component = component;
    m->machine = machine;
    m->site = site;
    m->pid = (long)getpid();
    m->tid = (long)syscall(SYS_gettid);
    clock_gettime(CLOCK_REALTIME, &m->time);
}

/* Returns the full length of the line even when buf is too small. */
static int measure_or_format(char *buf, size_t len, const statmsg *m)
{
    outbuf o = {buf, len, 0};
    struct tm tm;
    long ms;
    int ret;

    if (!valid_message(m))
        return -EINVAL;
    if ((ret = utc_fields(&m->time, &tm, &ms)) < 0)
        return ret;
    format_into(&o, m, &tm, ms);
    out_finish(&o);
    if (o.pos > (size_t)0x7fffffff)
        return CM_ETOOBIG;
    return (int)o.pos;
}

int statmsg_format_line(char *buf, size_t len, const statmsg *m)
{
    int n;

    if (!buf || len == 0)
        return -EINVAL;
    buf[0] = '\0';
    n = measure_or_format(buf, len, m);
    if (n < 0)
        return n;
    /* A cut STATMSG: line would mislead whoever parses it: say so. */
    if ((size_t)n >= len)
        return CM_ETOOBIG;
    return n;
}

/* ------------------------------------------------------------------ rows */

static int message_type(char lev, long long *out)
{
    switch (lev) {
    case 'M':
        *out = STATMSG_TYPE_MILESTONE;
        return 0;
    case 'D':
        *out = STATMSG_TYPE_DETAIL;
        return 0;
    case 'A':
        *out = STATMSG_TYPE_AUDIT;
        return 0;
    default:
        return CM_ERANGE;
    }
}

static int severity(char sev, long long *out)
{
    switch (sev) {
    case 'I':
        *out = STATMSG_SEV_INFO;
        return 0;
    case 'W':
        *out = STATMSG_SEV_WARNING;
        return 0;
    case 'E':
        *out = STATMSG_SEV_ERROR;
        return 0;
    default:
        return CM_ERANGE;
    }
}

/* The Time column: UTC as 'YYYY-MM-DD HH:MM:SS.mmm', which every dialect parses. */
static int time_text(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    long ms;
    int ret = utc_fields(ts, &tm, &ms);

    if (ret < 0)
        return ret;
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03ld", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return 0;
}

static const char sql_insert_msg[] =
    "INSERT INTO StatusMessages (ModuleName, Component, MachineName, SiteCode, MessageID, "
    "MessageType, Severity, ProcessID, ThreadID, Time, Win32Error) "
    "VALUES ('SMS Server', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)";
/*
 * PostgreSQL will not put a parameter that the driver types as varchar into
 * a TIMESTAMP column; SQLite must not see the CAST (TIMESTAMP has NUMERIC
 * affinity there and would keep only the year).
 */
static const char sql_insert_msg_pg[] =
    "INSERT INTO StatusMessages (ModuleName, Component, MachineName, SiteCode, MessageID, "
    "MessageType, Severity, ProcessID, ThreadID, Time, Win32Error) "
    "VALUES ('SMS Server', ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), 0)";
/*
 * Portable across dialects (no RETURNING / SCOPE_IDENTITY / last_insert_rowid),
 * and right because our transaction is still open: no other writer's row with
 * this process, thread and message can be newer than ours.
 */
static const char sql_last_id[] = "SELECT MAX(RecordID) FROM StatusMessages "
                                  "WHERE ProcessID = ? AND ThreadID = ? AND MessageID = ?";
static const char sql_insert_str[] =
    "INSERT INTO StatusMessageInsStrs (RecordID, InsStrIndex, InsStrValue) VALUES (?, ?, ?)";
static const char sql_insert_attr[] = "INSERT INTO StatusMessageAttributes (RecordID, "
                                      "AttributeID, AttributeValue) VALUES (?, ?, ?)";

static int insert_message(db *d, const statmsg *m, long long type, long long sev)
{
    char when[80]; /* 24 needed; room for any int year keeps -Wformat-truncation quiet */
    db_stmt *s = NULL;
    int ret;

    if ((ret = time_text(&m->time, when, sizeof(when))) < 0)
        return ret;
    ret = db_prepare(d, &s,
                     db_get_dialect(d) == DB_DIALECT_POSTGRES ? sql_insert_msg_pg : sql_insert_msg);
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, m->component ? m->component : "")) < 0 ||
        (ret = db_bind_text(s, 2, m->machine ? m->machine : "")) < 0 ||
        (ret = db_bind_text(s, 3, m->site ? m->site : "")) < 0 ||
        (ret = db_bind_int(s, 4, m->id)) < 0 || (ret = db_bind_int(s, 5, type)) < 0 ||
        (ret = db_bind_int(s, 6, sev)) < 0 || (ret = db_bind_int(s, 7, m->pid)) < 0 ||
        (ret = db_bind_int(s, 8, m->tid)) < 0 || (ret = db_bind_text(s, 9, when)) < 0)
        goto out;
    ret = db_step(s);
    if (ret > 0)
        ret = 0;
out:
    db_finalize(s);
    return ret;
}

static int last_record_id(db *d, const statmsg *m, long long *id)
{
    db_stmt *s = NULL;
    int ret = db_prepare(d, &s, sql_last_id);

    if (ret < 0)
        return ret;
    if ((ret = db_bind_int(s, 1, m->pid)) < 0 || (ret = db_bind_int(s, 2, m->tid)) < 0 ||
        (ret = db_bind_int(s, 3, m->id)) < 0)
        goto out;
    ret = db_step(s);
    if (ret == 1 && !db_col_is_null(s, 0)) {
        *id = db_col_int(s, 0);
        ret = 0;
    } else if (ret >= 0) {
        ret = CM_ENOTFOUND; /* the row we just inserted is not there */
    }
out:
    db_finalize(s);
    return ret;
}

/* One row per non-empty insertion string: empty ones are implied, as in the product. */
static int insert_strings(db *d, const statmsg *m, long long id)
{
    db_stmt *s = NULL;
    int ret = 0;

    for (int i = 0; i < STATMSG_MAX_INSSTRS; i++) {
        if (!m->istr[i] || !*m->istr[i])
            continue;
        if (!s && (ret = db_prepare(d, &s, sql_insert_str)) < 0)
            return ret;
        db_reset(s);
        if ((ret = db_bind_int(s, 1, id)) < 0 || (ret = db_bind_int(s, 2, i)) < 0 ||
            (ret = db_bind_text(s, 3, m->istr[i])) < 0 || (ret = db_step(s)) < 0)
            break;
        ret = 0;
    }
    db_finalize(s);
    return ret;
}

static int insert_attrs(db *d, const statmsg *m, long long id)
{
    db_stmt *s = NULL;
    int ret = 0;

    for (int i = 0; i < m->nattrs; i++) {
        if (!s && (ret = db_prepare(d, &s, sql_insert_attr)) < 0)
            return ret;
        db_reset(s);
        if ((ret = db_bind_int(s, 1, id)) < 0 || (ret = db_bind_int(s, 2, m->attrs[i].id)) < 0 ||
            (ret = db_bind_text(s, 3, m->attrs[i].value ? m->attrs[i].value : "")) < 0 ||
            (ret = db_step(s)) < 0)
            break;
        ret = 0;
    }
    db_finalize(s);
    return ret;
}

int statmsg_store(db *d, const statmsg *m, long long *record_id)
{
    long long type, sev, id = 0;
    int ret;

    if (!d || !valid_message(m))
        return -EINVAL;
    if ((ret = message_type(m->lev, &type)) < 0 || (ret = severity(m->sev, &sev)) < 0)
        return ret;
    if ((ret = db_begin(d)) < 0)
        return ret;
    if ((ret = insert_message(d, m, type, sev)) < 0 || (ret = last_record_id(d, m, &id)) < 0 ||
        (ret = insert_strings(d, m, id)) < 0 || (ret = insert_attrs(d, m, id)) < 0)
        goto fail;
    if ((ret = db_commit(d)) < 0)
        goto fail;
    if (record_id)
        *record_id = id;
    return 0;

fail:
    /* The first error is the one worth reporting; a failed rollback adds nothing. */
    db_rollback(d);
    return ret;
}

int statmsg_report(db *d, const statmsg *m)
{
    char stackbuf[1024];
    char *line = stackbuf;
    int n;

    n = measure_or_format(stackbuf, sizeof(stackbuf), m);
    if (n < 0)
        return n;
    if ((size_t)n >= sizeof(stackbuf)) {
        line = malloc((size_t)n + 1);
        if (line)
            measure_or_format(line, (size_t)n + 1, m);
        else
            line = stackbuf; /* out of memory: the cut line beats none */
    }
    log_msg("%s", line);
    if (line != stackbuf)
        free(line);
    /*
     * The log line is written even when the database is away, and the rows
     * wait in the spool until a connection takes them (statmsg_spool_replay).
     */
    int ret = d ? statmsg_store(d, m, NULL) : CM_EDBCONN;
    if (ret == CM_EDBCONN)
        statmsg_spool_write(m);
    return ret;
}

/* ---------------------------------------------------------------- render */

/*
 * The catalogue keys texts by (MessageID, Component), Component '' being the
 * text for every component.  With a component, its own text wins over the
 * generic one; without, the generic one wins over any other.
 */
static const char sql_catalog_comp[] =
    "SELECT MessageText FROM StatusMessageCatalog WHERE MessageID = ? AND Component IN (?, '') "
    "ORDER BY CASE WHEN Component = '' THEN 1 ELSE 0 END";
static const char sql_catalog_any[] =
    "SELECT MessageText FROM StatusMessageCatalog WHERE MessageID = ? ORDER BY Component";

/*
 * %1..%10 become the insertion strings (%10 is read before %1), '~' in the
 * catalogue stands for a line break, as in the product's message DLLs.
 */
static void render_text(outbuf *o, const char *text, const char *const istr[])
{
    for (const char *p = text; *p; p++) {
        if (*p == '~') {
            out_char(o, '\n');
        } else if (p[0] == '%' && p[1] >= '1' && p[1] <= '9') {
            int n = p[1] - '0';
            p++;
            if (n == 1 && p[1] == '0') {
                n = 10;
                p++;
            }
            if (istr && istr[n - 1])
                out_str(o, istr[n - 1]);
        } else {
            out_char(o, *p);
        }
    }
}

/*
 * statmsg_render() for the text of one component (cmsite statmsg knows it
 * from StatusMessages.Component); component NULL or "" reads as "any
 * component".
 */
int statmsg_render_component(db *d, int message_id, const char *component,
                             const char *const istr[STATMSG_MAX_INSSTRS], char *buf, size_t len)
{
    int specific = component && *component;
    db_stmt *s = NULL;
    outbuf o = {buf, len, 0};
    int ret;

    if (!d || !buf || len == 0)
        return -EINVAL;
    buf[0] = '\0';
    if ((ret = db_prepare(d, &s, specific ? sql_catalog_comp : sql_catalog_any)) < 0)
        return ret;
    if ((ret = db_bind_int(s, 1, message_id)) < 0 ||
        (specific && (ret = db_bind_text(s, 2, component)) < 0))
        goto out;
    ret = db_step(s);
    if (ret == 0) {
        ret = CM_ENOTFOUND;
    } else if (ret == 1) {
        render_text(&o, db_col_text(s, 0), istr);
        out_finish(&o);
        ret = o.pos < len ? 0 : CM_ETOOBIG;
    }
out:
    db_finalize(s);
    return ret;
}

int statmsg_render(db *d, int message_id, const char *const istr[STATMSG_MAX_INSSTRS], char *buf,
                   size_t len)
{
    return statmsg_render_component(d, message_id, NULL, istr, buf, len);
}

/* ---------------------------------------------------------------- spool */

/*
 * The spool lives in one box of the catalogue for the whole process.  It is
 * set once at start-up, before any thread that reports exists, and read-only
 * afterwards, so the threads that write to it need no lock.
 */
static inbox_box spool_box_def;
static inbox_dir spool_box;
static int spool_ready;
static atomic_uint spool_seq;
static atomic_int spool_pending;

int statmsg_spool_open(const char *inboxes_dir)
{
    inbox_catalogue *c = NULL;
    const inbox_box *b;
    int ret;

    if ((ret = inbox_catalogue_builtin(&c)) < 0)
        return ret;
    b = inbox_catalogue_find(c, STATMSG_SPOOL_BOX);
    if (!b) {
        inbox_catalogue_free(c);
        return CM_ENOTFOUND;
    }
    spool_box_def = *b;
    inbox_catalogue_free(c);
    if ((ret = inbox_dir_open(&spool_box, inboxes_dir, &spool_box_def)) < 0)
        return ret;
    spool_ready = 1;
    return 0;
}

/* '%', line breaks and other control bytes as %XX: one field per line, any bytes. */
static void spool_escaped(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '%' || *p < 0x20 || *p == 0x7f)
            fprintf(f, "%%%02X", *p);
        else
            fputc(*p, f);
    }
}

int statmsg_spool_write(const statmsg *m)
{
    char name[INBOX_NAME_MAX + 1], *text = NULL;
    size_t len = 0;
    FILE *f;
    int ret;

    if (!spool_ready)
        return CM_ENOTFOUND;
    if (!valid_message(m) || !m->component || !*m->component)
        return -EINVAL;
    /* Time first so the names of one component sort as the events happened. */
    snprintf(name, sizeof name, "%s.%lld%09ld.%ld.%u.SVF", m->component, (long long)m->time.tv_sec,
             m->time.tv_nsec, (long)getpid(), atomic_fetch_add(&spool_seq, 1));
    if (!inbox_name_valid(&spool_box_def, name))
        return CM_ENAME;
    if (!(f = open_memstream(&text, &len)))
        return -errno;
    fprintf(f, "SVF 1\nid=%d\nsev=%c\nlev=%c\ncomponent=", m->id, m->sev, m->lev);
    spool_escaped(f, m->component);
    fputs("\nmachine=", f);
    spool_escaped(f, m->machine);
    fputs("\nsite=", f);
    spool_escaped(f, m->site);
    fprintf(f, "\npid=%ld\ntid=%ld\ntime=%lld.%09ld\n", m->pid, m->tid, (long long)m->time.tv_sec,
            m->time.tv_nsec);
    for (int i = 0; i < STATMSG_MAX_INSSTRS; i++) {
        if (!m->istr[i] || !*m->istr[i])
            continue;
        fprintf(f, "istr%d=", i);
        spool_escaped(f, m->istr[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < m->nattrs; i++) {
        fprintf(f, "attr=%d:", m->attrs[i].id);
        spool_escaped(f, m->attrs[i].value);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(text);
        return -ENOMEM;
    }
    ret = inbox_drop(&spool_box, name, text, len);
    free(text);
    if (ret == 0)
        atomic_store(&spool_pending, 1);
    return ret;
}

int statmsg_spool_pending(void)
{
    return atomic_load(&spool_pending);
}

/* A spooled message read back: the strings point into its own buffer. */
typedef struct spooled {
    statmsg m;
    char *buf;
} spooled;

static int unescape_in_place(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        unsigned v;
        if (sscanf(r + 1, "%2x", &v) != 1 || !r[1] || !r[2] || v == 0)
            return CM_EPARSE;
        *w++ = (char)v;
        r += 2;
    }
    *w = '\0';
    return 0;
}

static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return CM_EPARSE;
    *out = v;
    return 0;
}

/* Parse a spool file's text (modified in place; sp->m points into it). */
static int spool_parse(char *text, statmsg *m)
{
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    long long v;
    int seen = 0;

    memset(m, 0, sizeof *m);
    if (!line || strcmp(line, "SVF 1") != 0)
        return CM_EPARSE;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *val = strchr(line, '=');
        if (!val)
            return CM_EPARSE;
        *val++ = '\0';
        if (unescape_in_place(val) < 0)
            return CM_EPARSE;
        if (!strcmp(line, "id")) {
            if (parse_long(val, 0, 0x7fffffff, &v) < 0)
                return CM_EPARSE;
            m->id = (int)v;
            seen |= 1;
        } else if (!strcmp(line, "sev") || !strcmp(line, "lev")) {
            if (strlen(val) != 1)
                return CM_EPARSE;
            *(line[0] == 's' ? &m->sev : &m->lev) = val[0];
            seen |= line[0] == 's' ? 2 : 4;
        } else if (!strcmp(line, "component")) {
            m->component = val;
            seen |= 8;
        } else if (!strcmp(line, "machine")) {
            m->machine = val;
        } else if (!strcmp(line, "site")) {
            m->site = val;
        } else if (!strcmp(line, "pid") || !strcmp(line, "tid")) {
            if (parse_long(val, 0, 0x7fffffff, &v) < 0)
                return CM_EPARSE;
            *(line[0] == 'p' ? &m->pid : &m->tid) = (long)v;
        } else if (!strcmp(line, "time")) {
            long long sec, nsec;
            char *dot = strchr(val, '.');
            if (!dot)
                return CM_EPARSE;
            *dot = '\0';
            if (parse_long(val, 0, 253402300799LL, &sec) < 0 ||
                parse_long(dot + 1, 0, 999999999, &nsec) < 0)
                return CM_EPARSE;
            m->time.tv_sec = (time_t)sec;
            m->time.tv_nsec = (long)nsec;
            seen |= 16;
        } else if (!strncmp(line, "istr", 4) && line[4] >= '0' && line[4] <= '9' && !line[5]) {
            m->istr[line[4] - '0'] = val;
        } else if (!strcmp(line, "attr")) {
            char *colon = strchr(val, ':');
            if (!colon || m->nattrs >= STATMSG_MAX_ATTRS)
                return CM_EPARSE;
            *colon = '\0';
            if (parse_long(val, 0, 0x7fffffff, &v) < 0)
                return CM_EPARSE;
            m->attrs[m->nattrs].id = (int)v;
            m->attrs[m->nattrs++].value = colon + 1;
        } else {
            return CM_EPARSE;
        }
    }
    long long type, sevv;
    if (seen != 31 || message_type(m->lev, &type) < 0 || severity(m->sev, &sevv) < 0)
        return CM_EPARSE;
    return 0;
}

/*
 * The same event stored already?  A message whose commit reached the server
 * just before the connection broke, or a replay cut short between its commit
 * and the file's removal, must not be stored twice.
 */
static const char sql_seen[] = "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = ? AND "
                               "ProcessID = ? AND ThreadID = ? AND Component = ? AND Time = ?";
static const char sql_seen_pg[] =
    "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = ? AND ProcessID = ? AND "
    "ThreadID = ? AND Component = ? AND Time = CAST(? AS TIMESTAMP)";

static int already_stored(db *d, const statmsg *m)
{
    char when[80];
    db_stmt *s = NULL;
    int ret;

    if ((ret = time_text(&m->time, when, sizeof when)) < 0)
        return ret;
    if ((ret = db_prepare(d, &s,
                          db_get_dialect(d) == DB_DIALECT_POSTGRES ? sql_seen_pg : sql_seen)) < 0)
        return ret;
    if ((ret = db_bind_int(s, 1, m->id)) < 0 || (ret = db_bind_int(s, 2, m->pid)) < 0 ||
        (ret = db_bind_int(s, 3, m->tid)) < 0 || (ret = db_bind_text(s, 4, m->component)) < 0 ||
        (ret = db_bind_text(s, 5, when)) < 0)
        goto out;
    ret = db_step(s);
    if (ret == 1)
        ret = db_col_int(s, 0) > 0;
    else if (ret == 0)
        ret = CM_ENOTFOUND;
out:
    db_finalize(s);
    return ret;
}

typedef struct reject_count {
    size_t *bad;
} reject_count;

static void spool_reject(void *ud, const char *name, inbox_reject why)
{
    reject_count *rc = ud;
    (void)why;
    /* Not a file this module wrote: out of the way, once, and counted. */
    if (inbox_quarantine(&spool_box, name, 0) == 0)
        (*rc->bad)++;
}

int statmsg_spool_replay(db *d, const char *component, size_t *stored, size_t *bad)
{
    enum { SLICE = 1024 };
    inbox_entry *e;
    size_t n, plen, own;
    reject_count rc = {bad};
    int ret = 0;

    *stored = *bad = 0;
    if (!spool_ready)
        return 0;
    if (!d || !component || !*component)
        return -EINVAL;
    if (!(e = calloc(SLICE, sizeof *e)))
        return -ENOMEM;
    plen = strlen(component);
    atomic_store(&spool_pending, 0);
    do {
        own = 0;
        if ((ret = inbox_scan(&spool_box, e, SLICE, &n, spool_reject, &rc)) < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            char *text = NULL;
            size_t len;
            statmsg m;
            /* Each daemon replays its own messages: one process per component. */
            if (strncmp(e[i].name, component, plen) != 0 || e[i].name[plen] != '.')
                continue;
            own++;
            ret = inbox_read(&spool_box, e[i].name, 0, (size_t)spool_box_def.max_size, &text, &len);
            if (ret == 0 && strlen(text) == len && spool_parse(text, &m) == 0 &&
                strcmp(m.component, component) == 0) {
                ret = already_stored(d, &m);
                if (ret == 0)
                    ret = statmsg_store(d, &m, NULL);
                free(text);
                if (ret < 0)
                    goto out; /* the file stays for the next replay */
                if (ret == 0)
                    (*stored)++;
                inbox_remove(&spool_box, e[i].name, 0);
                ret = 0;
                continue;
            }
            free(text);
            if (ret == -ENOENT) {
                ret = 0;
                continue;
            }
            ret = 0;
            if (inbox_quarantine(&spool_box, e[i].name, 0) == 0)
                (*bad)++;
        }
    } while (own > 0 && n == SLICE);
out:
    if (ret < 0)
        atomic_store(&spool_pending, 1);
    free(e);
    return ret;
}
