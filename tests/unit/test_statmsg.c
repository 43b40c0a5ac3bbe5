/*
 * test_statmsg.c - unit tests of components/statmsg.c: the STATMSG: line
 * against tests/golden/statmsg_lines.txt (seed 002 and 004 lines), and, on
 * the test database ($CM_TEST_DB or SQLite) with the site schema, the rows
 * statmsg_store() writes, statmsg_report() and statmsg_render().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cm_error.h"
#include "db.h"
#include "inbox.h"
#include "log.h"
#include "schema.h"
#include "statmsg.h"
#include "testutil.h"

#ifndef CM_TESTS_DIR
#define CM_TESTS_DIR "tests"
#endif

#define WSYNC "SMS_WSUS_SYNC_MANAGER"
#define SYS "CS1SITE.CONTOSO.COM"
#define SITE "CS1"
/* 6703 from the seeded catalogue (sql/<dialect>/40_seed.sql) with seed 002's strings. */
#define RENDERED_6703                                                                              \
    "WSUS Synchronization failed.\n Message: Unable to connect to the remote server.\n Source: "   \
    "Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer."

/* ------------------------------------------------------------ golden line */

static void set_time(statmsg *m, time_t sec, long ms)
{
    m->time.tv_sec = sec;
    m->time.tv_nsec = ms * 1000000L + 123456; /* sub-millisecond digits are dropped */
}

/* The message of each golden case, built as a component would build it. */
static int build_case(const char *name, statmsg *m)
{
    if (strcmp(name, "seed002_6701") == 0) {
        statmsg_init(m, 6701, 'I', 'M', WSYNC, SYS, SITE);
        m->pid = 3584;
        m->tid = 756;
        set_time(m, 1186422865, 519); /* Mon Aug 06 17:54:25.519 2007 */
    } else if (strcmp(name, "seed002_6703") == 0) {
        statmsg_init(m, 6703, 'E', 'M', WSYNC, SYS, SITE);
        m->pid = 2300;
        m->tid = 3720;
        set_time(m, 1389898432, 608);
        m->istr[0] = "Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer";
        m->istr[1] = "Unable to connect to the remote server";
    } else if (strcmp(name, "seed002_6703_newlines") == 0) {
        statmsg_init(m, 6703, 'E', 'M', WSYNC, SYS, SITE);
        m->pid = 3584;
        m->tid = 756;
        set_time(m, 1186422872, 699);
        m->istr[0] = "Microsoft.SystemsManagementServer.SoftwareUpdatesManagement.WSyncAction."
                     "WSyncAction.SyncWSUS";
        m->istr[1] = "UssCommunicationError: WebException: The remote name could not be "
                     "resolved: 'www.update.microsoft.com'\r\n\nat "
                     "System.Net.HttpWebRequest.GetRequestStream()";
    } else if (strcmp(name, "seed004_6701") == 0) {
        statmsg_init(m, 6701, 'I', 'M', WSYNC, SYS, SITE);
        m->pid = 432;
        m->tid = 3404;
        set_time(m, 1389898432, 608); /* Thu Jan 16 18:53:52.608 2014 */
    } else if (strcmp(name, "attrs") == 0) {
        statmsg_init(m, 5800, 'I', 'M', "SMS_OBJECT_REPLICATION_MANAGER", SYS, SITE);
        m->pid = 432;
        m->tid = 3404;
        set_time(m, 1389898432, 608);
        m->istr[0] = "CS100012";
        m->nattrs = 2;
        m->attrs[0] = (statmsg_attr){401, "CS100012"};
        m->attrs[1] = (statmsg_attr){404, "CS1"};
    } else if (strcmp(name, "warning_detail") == 0) {
        static const char *const letters[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
        statmsg_init(m, 6707, 'W', 'D', WSYNC, SYS, SITE);
        m->pid = 1;
        m->tid = 2;
        set_time(m, 1483228799, 1); /* 2016-12-31 23:59:59 UTC */
        for (int i = 0; i < STATMSG_MAX_INSSTRS; i++)
            m->istr[i] = letters[i];
    } else {
        return -1;
    }
    return 0;
}

static void test_golden_lines(void **state)
{
    char path[512], line[4096], out[4096];
    int cases = 0, lineno = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/golden/statmsg_lines.txt", CM_TESTS_DIR);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *tab;
        statmsg m;
        int n;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        if (build_case(line, &m) != 0)
            fail_msg("statmsg_lines.txt:%d: unknown case '%s'", lineno, line);
        n = statmsg_format_line(out, sizeof(out), &m);
        if (n < 0 || strcmp(out, tab + 1) != 0)
            fail_msg("statmsg_lines.txt:%d (%s):\n got  '%s'\n want '%s'", lineno, line, out,
                     tab + 1);
        assert_int_equal(n, (int)strlen(tab + 1));
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 6);
}

static void test_format_errors(void **state)
{
    char small[64], out[2048];
    statmsg m;

    (void)state;
    build_case("seed002_6701", &m);
    memset(small, 'X', sizeof(small));
    assert_int_equal(statmsg_format_line(small, sizeof(small), &m), CM_ETOOBIG);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "STATMSG: ID=6701 SEV=I", strlen("STATMSG: ID=6701 SEV=I"));
    assert_int_equal(statmsg_format_line(NULL, 10, &m), -EINVAL);
    m.nattrs = STATMSG_MAX_ATTRS + 1;
    assert_int_equal(statmsg_format_line(out, sizeof(out), &m), -EINVAL);
    m.nattrs = -1;
    assert_int_equal(statmsg_format_line(out, sizeof(out), &m), -EINVAL);
}

static void test_init(void **state)
{
    struct timespec before, after;
    statmsg m;

    (void)state;
    memset(&m, 0x5A, sizeof(m)); /* garbage must not survive */
    clock_gettime(CLOCK_REALTIME, &before);
    statmsg_init(&m, 6704, 'I', 'M', WSYNC, SYS, SITE);
    clock_gettime(CLOCK_REALTIME, &after);
    assert_int_equal(m.id, 6704);
    assert_int_equal(m.sev, 'I');
    assert_int_equal(m.lev, 'M');
    assert_string_equal(m.component, WSYNC);
    assert_string_equal(m.machine, SYS);
    assert_string_equal(m.site, SITE);
    assert_int_equal(m.pid, (long)getpid());
    assert_int_equal(m.tid, (long)syscall(SYS_gettid));
    assert_true(m.time.tv_sec >= before.tv_sec && m.time.tv_sec <= after.tv_sec);
    for (int i = 0; i < STATMSG_MAX_INSSTRS; i++)
        assert_null(m.istr[i]);
    assert_int_equal(m.nattrs, 0);
}

/* --------------------------------------------------------------- database */

typedef struct fixture {
    char dir[256];
    db *d;
} fixture;

static int setup_db(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    char connstr[512];
    const char *failed = NULL;
    int ret;

    if (!fx || tu_mkdtemp(fx->dir, sizeof(fx->dir)) != 0) {
        free(fx);
        return -1;
    }
    tu_test_connstr(connstr, sizeof(connstr), fx->dir);
    ret = db_open(&fx->d, connstr);
    if (ret == 0)
        ret = schema_apply(fx->d, &failed);
    if (ret != 0) {
        fprintf(stderr, "statmsg setup: %s (%s): %s\n", cm_strerror(ret), failed ? failed : "open",
                db_errmsg(fx->d));
        db_close(fx->d);
        tu_rmtree(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown_db(void **state)
{
    fixture *fx = *state;

    log_close();
    db_close(fx->d);
    tu_rmtree(fx->dir);
    free(fx);
    return 0;
}

/*
 * A thread id no real thread of this run has, so rows of an earlier run on
 * a shared PostgreSQL database never match the MAX(RecordID) of this one.
 */
static long unique_tid(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return 1000000L + (long)(ts.tv_nsec % 1000000L);
}

static void build_6703(statmsg *m)
{
    statmsg_init(m, 6703, 'E', 'M', WSYNC, SYS, SITE);
    m->tid = unique_tid();
    set_time(m, 1389898432, 608);
    m->istr[0] = "Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer";
    m->istr[1] = "Unable to connect to the remote server\nsecond line";
    m->nattrs = 2;
    m->attrs[0] = (statmsg_attr){404, SITE};
    m->attrs[1] = (statmsg_attr){401, "CS100012"};
}

static void test_store(void **state)
{
    fixture *fx = *state;
    long long rid = -1;
    db_stmt *s;
    statmsg m;

    build_6703(&m);
    assert_int_equal(statmsg_store(fx->d, &m, &rid), 0);
    assert_true(rid > 0);

    assert_int_equal(db_prepare(fx->d, &s,
                                "SELECT ModuleName, Component, MachineName, SiteCode, MessageID, "
                                "MessageType, Severity, ProcessID, ThreadID, Time, Win32Error "
                                "FROM StatusMessages WHERE RecordID = ?"),
                     0);
    assert_int_equal(db_bind_int(s, 1, rid), 0);
    assert_int_equal(db_step(s), 1);
    assert_string_equal(db_col_text(s, 0), "SMS Server");
    assert_string_equal(db_col_text(s, 1), WSYNC);
    assert_string_equal(db_col_text(s, 2), SYS);
    assert_string_equal(db_col_text(s, 3), SITE);
    assert_int_equal(db_col_int(s, 4), 6703);
    assert_int_equal(db_col_int(s, 5), STATMSG_TYPE_MILESTONE);
    assert_int_equal(db_col_int(s, 6), STATMSG_SEV_ERROR);
    assert_int_equal(db_col_int(s, 7), m.pid);
    assert_int_equal(db_col_int(s, 8), m.tid);
    assert_string_equal(db_col_text(s, 9), "2014-01-16 18:53:52.608");
    assert_int_equal(db_col_int(s, 10), 0);
    assert_int_equal(db_step(s), 0);
    db_finalize(s);

    assert_int_equal(db_prepare(fx->d, &s,
                                "SELECT InsStrIndex, InsStrValue FROM StatusMessageInsStrs "
                                "WHERE RecordID = ? ORDER BY InsStrIndex"),
                     0);
    assert_int_equal(db_bind_int(s, 1, rid), 0);
    assert_int_equal(db_step(s), 1);
    assert_int_equal(db_col_int(s, 0), 0);
    assert_string_equal(db_col_text(s, 1), m.istr[0]);
    assert_int_equal(db_step(s), 1);
    assert_int_equal(db_col_int(s, 0), 1);
    /* The row keeps the real line break; only the log line flattens it. */
    assert_string_equal(db_col_text(s, 1), m.istr[1]);
    assert_int_equal(db_step(s), 0);
    db_finalize(s);

    assert_int_equal(db_prepare(fx->d, &s,
                                "SELECT AttributeID, AttributeValue FROM StatusMessageAttributes "
                                "WHERE RecordID = ? ORDER BY AttributeID"),
                     0);
    assert_int_equal(db_bind_int(s, 1, rid), 0);
    assert_int_equal(db_step(s), 1);
    assert_int_equal(db_col_int(s, 0), 401);
    assert_string_equal(db_col_text(s, 1), "CS100012");
    assert_int_equal(db_step(s), 1);
    assert_int_equal(db_col_int(s, 0), 404);
    assert_string_equal(db_col_text(s, 1), SITE);
    assert_int_equal(db_step(s), 0);
    db_finalize(s);
}

static long long count_rows(db *d, const char *sql, long long rid)
{
    db_stmt *s;
    long long n;

    assert_int_equal(db_prepare(d, &s, sql), 0);
    assert_int_equal(db_bind_int(s, 1, rid), 0);
    assert_int_equal(db_step(s), 1);
    n = db_col_int(s, 0);
    db_finalize(s);
    return n;
}

static void test_store_kinds(void **state)
{
    fixture *fx = *state;
    long long rid1 = -1, rid2 = -1, rid3 = -1;
    statmsg m;

    /* Two messages from one thread: distinct RecordIDs, the later one larger. */
    statmsg_init(&m, 6701, 'I', 'M', WSYNC, SYS, SITE);
    m.tid = unique_tid();
    assert_int_equal(statmsg_store(fx->d, &m, &rid1), 0);
    assert_int_equal(statmsg_store(fx->d, &m, &rid2), 0);
    assert_true(rid1 > 0 && rid2 > rid1);
    /* No strings, no attributes: no rows in the side tables. */
    assert_int_equal(
        count_rows(fx->d, "SELECT COUNT(*) FROM StatusMessageInsStrs WHERE RecordID = ?", rid1), 0);
    assert_int_equal(
        count_rows(fx->d, "SELECT COUNT(*) FROM StatusMessageAttributes WHERE RecordID = ?", rid1),
        0);

    /* Warning at audit level; only the non-empty string (index 3) is stored. */
    statmsg_init(&m, 6707, 'W', 'A', WSYNC, SYS, SITE);
    m.tid = unique_tid();
    m.istr[0] = "";
    m.istr[3] = "fourth";
    assert_int_equal(statmsg_store(fx->d, &m, &rid3), 0);
    assert_int_equal(count_rows(fx->d,
                                "SELECT COUNT(*) FROM StatusMessageInsStrs WHERE RecordID = ? "
                                "AND InsStrIndex = 3",
                                rid3),
                     1);
    assert_int_equal(
        count_rows(fx->d, "SELECT COUNT(*) FROM StatusMessageInsStrs WHERE RecordID = ?", rid3), 1);
    assert_int_equal(
        count_rows(fx->d, "SELECT MessageType FROM StatusMessages WHERE RecordID = ?", rid3),
        STATMSG_TYPE_AUDIT);
    assert_int_equal(
        count_rows(fx->d, "SELECT Severity FROM StatusMessages WHERE RecordID = ?", rid3),
        STATMSG_SEV_WARNING);

    statmsg_init(&m, 6704, 'I', 'D', WSYNC, SYS, SITE);
    m.tid = unique_tid();
    assert_int_equal(statmsg_store(fx->d, &m, &rid3), 0);
    assert_int_equal(
        count_rows(fx->d, "SELECT MessageType FROM StatusMessages WHERE RecordID = ?", rid3),
        STATMSG_TYPE_DETAIL);
    assert_int_equal(
        count_rows(fx->d, "SELECT Severity FROM StatusMessages WHERE RecordID = ?", rid3),
        STATMSG_SEV_INFO);

    /* Bad letters are refused before anything is written. */
    m.sev = 'X';
    assert_int_equal(statmsg_store(fx->d, &m, &rid3), CM_ERANGE);
    m.sev = 'I';
    m.lev = 'Q';
    assert_int_equal(statmsg_store(fx->d, &m, &rid3), CM_ERANGE);
    assert_int_equal(statmsg_store(NULL, &m, &rid3), -EINVAL);
}

/* A failure half-way through leaves no StatusMessages row behind. */
static void test_store_rollback(void **state)
{
    fixture *fx = *state;
    long long before = 0, after = 0, rid = 0;
    statmsg m;

    build_6703(&m);
    assert_int_equal(
        db_query_int(fx->d, "SELECT COUNT(*) FROM StatusMessages", NULL, NULL, &before), 0);
    /* The side table is away: the message row must be rolled back with it. */
    assert_int_equal(
        db_exec(fx->d, "ALTER TABLE StatusMessageAttributes RENAME TO StatusMessageAttributesX"),
        0);
    assert_true(statmsg_store(fx->d, &m, &rid) < 0);
    assert_int_equal(
        db_exec(fx->d, "ALTER TABLE StatusMessageAttributesX RENAME TO StatusMessageAttributes"),
        0);
    assert_int_equal(db_query_int(fx->d, "SELECT COUNT(*) FROM StatusMessages", NULL, NULL, &after),
                     0);
    assert_int_equal(after, before);
    /* And the connection is usable again, outside any transaction. */
    assert_int_equal(statmsg_store(fx->d, &m, &rid), 0);
    assert_true(rid > 0);
}

static void test_report(void **state)
{
    fixture *fx = *state;
    char path[512], line[4096], *text;
    long long n = 0;
    size_t len;
    FILE *f;
    statmsg m;

    snprintf(path, sizeof(path), "%s/wsyncmgr.log", fx->dir);
    assert_int_equal(log_open(path, WSYNC, 0), 0);
    build_6703(&m);
    assert_int_equal(statmsg_report(fx->d, &m), 0);
    /* No database: the line is still written, the caller hears why. */
    m.id = 6702;
    m.sev = 'I';
    assert_int_equal(statmsg_report(NULL, &m), CM_EDBCONN);
    log_close();

    n = statmsg_format_line(line, sizeof(line), &m);
    assert_int_equal(n, (int)strlen(line));
    f = fopen(path, "r");
    assert_non_null(f);
    text = calloc(1, 65536);
    assert_non_null(text);
    len = fread(text, 1, 65535, f);
    fclose(f);
    assert_true(len > 0);
    assert_non_null(strstr(text, "STATMSG: ID=6703 SEV=E LEV=M SOURCE=\"SMS Server\" COMP=\"" WSYNC
                                 "\" SYS=" SYS " SITE=" SITE));
    assert_non_null(strstr(text, "ISTR1=\"Unable to connect to the remote server~second line\""));
    assert_non_null(strstr(text, "NUMATTRS=2 AID=404 AVAL=\"CS1\" AID=401 AVAL=\"CS100012\"  $$<"));
    /* The second line, exactly, followed by the log framing. */
    strcat(line, "  $$<" WSYNC "><");
    assert_non_null(strstr(text, line));
    free(text);

    n = count_rows(fx->d,
                   "SELECT COUNT(*) FROM StatusMessages WHERE MessageID = 6703 AND ThreadID = ?",
                   m.tid);
    assert_int_equal(n, 1);
}

static void add_text(db *d, int id, const char *component, const char *text)
{
    db_stmt *s;

    assert_int_equal(db_prepare(d, &s,
                                "INSERT INTO StatusMessageCatalog (MessageID, Component, Severity, "
                                "MessageText) VALUES (?, ?, 'I', ?)"),
                     0);
    assert_int_equal(db_bind_int(s, 1, id), 0);
    assert_int_equal(db_bind_text(s, 2, component), 0);
    assert_int_equal(db_bind_text(s, 3, text), 0);
    assert_int_equal(db_step(s), 0);
    db_finalize(s);
}

static void test_render(void **state)
{
    fixture *fx = *state;
    const char *istr[STATMSG_MAX_INSSTRS] = {
        "Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer",
        "Unable to connect to the remote server"};
    char buf[1024], tiny[8];

    /* The seeded catalogue (schema_apply). */
    assert_int_equal(statmsg_render(fx->d, 6701, istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "WSUS Synchronization started.");
    assert_int_equal(statmsg_render(fx->d, 6703, istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, RENDERED_6703);

    assert_int_equal(statmsg_render(fx->d, 6703, istr, tiny, sizeof(tiny)), CM_ETOOBIG);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_int_equal(statmsg_render(fx->d, 4242, istr, buf, sizeof(buf)), CM_ENOTFOUND);
    assert_string_equal(buf, "");
}

/* Substitution rules and the choice between generic and component texts. */
static void test_render_rules(void **state)
{
    fixture *fx = *state;
    const char *istr[STATMSG_MAX_INSSTRS] = {"one", "two", NULL, NULL, NULL,
                                             NULL,  NULL,  NULL, NULL, "ten"};
    char buf[256];

    /* Ids far from any the product uses; a shared PostgreSQL may hold an earlier run's. */
    assert_int_equal(
        db_exec(fx->d, "DELETE FROM StatusMessageCatalog WHERE MessageID BETWEEN 99900 AND 99999"),
        0);
    add_text(fx->d, 99901, "", "A=%1 J=%10 B=%2~next line: [%3] 100% %x");
    add_text(fx->d, 99902, "", "generic %1");
    add_text(fx->d, 99902, "SMS_TEST_COMPONENT", "specific %2");
    add_text(fx->d, 99903, "SMS_TEST_COMPONENT", "only specific");

    assert_int_equal(statmsg_render(fx->d, 99901, istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "A=one J=ten B=two\nnext line: [] 100% %x");
    assert_int_equal(statmsg_render(fx->d, 99901, NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "A= J= B=\nnext line: [] 100% %x");

    assert_int_equal(statmsg_render(fx->d, 99902, istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "generic one");
    assert_int_equal(
        statmsg_render_component(fx->d, 99902, "SMS_TEST_COMPONENT", istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "specific two");
    assert_int_equal(statmsg_render_component(fx->d, 99902, "SMS_OTHER", istr, buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, "generic one");

    assert_int_equal(statmsg_render(fx->d, 99903, istr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "only specific");
    assert_int_equal(statmsg_render_component(fx->d, 99903, "SMS_OTHER", istr, buf, sizeof(buf)),
                     CM_ENOTFOUND);

    assert_int_equal(
        db_exec(fx->d, "DELETE FROM StatusMessageCatalog WHERE MessageID BETWEEN 99900 AND 99999"),
        0);
}

/* ------------------------------------------------------------------ spool */

static int spool_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(find '%s' -maxdepth 1 -name '*.SVF' | wc -l) -gt 0", dir);
    return system(cmd) == 0;
}

/*
 * A message that cannot be stored waits in the spool and comes back
 * byte for byte, control bytes, quotes and '%' among them, exactly once.
 */
static void test_spool(void **state)
{
    fixture *fx = *state;
    char inboxes[300], spool[400], path[512];
    const char *hostile = "50% off\r\nline\x01two 'quoted' \"dq\" %41";
    inbox_catalogue *cat;
    size_t stored = 9, bad = 9;
    db_stmt *s;
    statmsg m;

    snprintf(inboxes, sizeof inboxes, "%s/inboxes", fx->dir);
    snprintf(spool, sizeof spool, "%s/" STATMSG_SPOOL_BOX, inboxes);
    assert_int_equal(inbox_catalogue_builtin(&cat), 0);
    assert_int_equal(inbox_tree_create(inboxes, cat), 0);
    inbox_catalogue_free(cat);
    assert_int_equal(statmsg_spool_open(inboxes), 0);
    snprintf(path, sizeof path, "%s/wsyncmgr.log", fx->dir);
    assert_int_equal(log_open(path, WSYNC, 0), 0);

    build_6703(&m);
    m.istr[1] = hostile;
    m.attrs[1].value = "100%";
    assert_int_equal(statmsg_report(NULL, &m), CM_EDBCONN);
    assert_true(spool_files(spool));
    assert_int_equal(statmsg_spool_pending(), 1);
    assert_int_equal(
        count_rows(fx->d, "SELECT COUNT(*) FROM StatusMessages WHERE ThreadID = ?", m.tid), 0);

    /* Another component's replay leaves the file alone. */
    assert_int_equal(statmsg_spool_replay(fx->d, "SMS_OTHER", &stored, &bad), 0);
    assert_int_equal(stored, 0);
    assert_true(spool_files(spool));

    assert_int_equal(statmsg_spool_replay(fx->d, WSYNC, &stored, &bad), 0);
    assert_int_equal(stored, 1);
    assert_int_equal(bad, 0);
    assert_false(spool_files(spool));
    assert_int_equal(statmsg_spool_pending(), 0);
    assert_int_equal(count_rows(fx->d,
                                "SELECT COUNT(*) FROM StatusMessages WHERE ThreadID = ? AND "
                                "MessageID = 6703 AND Severity = 3221225472",
                                m.tid),
                     1);
    assert_int_equal(db_prepare(fx->d, &s,
                                "SELECT i.InsStrValue FROM StatusMessageInsStrs i JOIN "
                                "StatusMessages m ON m.RecordID = i.RecordID WHERE m.ThreadID = ? "
                                "AND i.InsStrIndex = 1"),
                     0);
    assert_int_equal(db_bind_int(s, 1, m.tid), 0);
    assert_int_equal(db_step(s), 1);
    assert_string_equal(db_col_text(s, 0), hostile);
    db_finalize(s);

    /* The same event spooled again (a replay cut before its file was removed). */
    assert_int_equal(statmsg_spool_write(&m), 0);
    assert_int_equal(statmsg_spool_replay(fx->d, WSYNC, &stored, &bad), 0);
    assert_int_equal(stored, 0);
    assert_false(spool_files(spool));
    assert_int_equal(
        count_rows(fx->d, "SELECT COUNT(*) FROM StatusMessages WHERE ThreadID = ?", m.tid), 1);

    /* A file this module cannot read back goes to corrupt/, counted once. */
    snprintf(path, sizeof path, "%s/" WSYNC ".1.1.1.SVF", spool);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("SVF 1\nid=6702\nsev=X\n", f);
    fclose(f);
    assert_int_equal(statmsg_spool_replay(fx->d, WSYNC, &stored, &bad), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(stored, 0);
    snprintf(path, sizeof path, "%s/corrupt/" WSYNC ".1.1.1.SVF", spool);
    assert_int_equal(access(path, F_OK), 0);
    log_close();
}

/* ------------------------------------------------------------------ group */

int test_statmsg(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_lines),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_init),
        cmocka_unit_test_setup_teardown(test_store, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_store_kinds, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_store_rollback, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_report, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_render, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_render_rules, setup_db, teardown_db),
        /* Last: the spool is set for the whole process. */
        cmocka_unit_test_setup_teardown(test_spool, setup_db, teardown_db),
    };
    return cmocka_run_group_tests_name("statmsg", tests, NULL, NULL);
}

#ifdef STATMSG_TEST_MAIN
int main(void)
{
    return test_statmsg() ? 1 : 0;
}
#endif
