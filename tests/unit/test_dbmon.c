/*
 * test_dbmon.c - smsdbmon's poll on a real database and real inboxes:
 * the documented RCV/SND lines, zero-byte and non-zero files, coalescing,
 * deletion only after the drop, hostile keys reported and never turned into
 * paths, disabled and unknown notifications, and a failing drop that keeps
 * its rows until the box works again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "log.h"
#include "notify.h"
#include "schema.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char inboxes[320];
    char logpath[320];
    db *d;
    inbox_catalogue *cat;
    dbmon m;
    int reports[16];
    int nreports;
    char last_istr2[1024];
} fixture;

static void on_report(void *ud, int id, char sev, const char *s0, const char *s1, const char *s2,
                      const char *s3)
{
    fixture *f = ud;
    (void)sev;
    (void)s0;
    (void)s1;
    (void)s3;
    if (f->nreports < 16)
        f->reports[f->nreports++] = id;
    snprintf(f->last_istr2, sizeof f->last_istr2, "%s", s2 ? s2 : "");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char conn[1024];
    assert_int_equal(tu_mkdtemp(f->dir, sizeof f->dir), 0);
    tu_test_connstr(conn, sizeof conn, f->dir);
    if (db_open(&f->d, conn) < 0)
        fail_msg("db_open: %s", db_errmsg(f->d));
    assert_int_equal(schema_apply(f->d, NULL), 0);
    db_exec(f->d, "DELETE FROM TableChangeNotifications");
    snprintf(f->inboxes, sizeof f->inboxes, "%s/inboxes", f->dir);
    assert_int_equal(inbox_catalogue_builtin(&f->cat), 0);
    assert_int_equal(inbox_tree_create(f->inboxes, f->cat), 0);
    snprintf(f->logpath, sizeof f->logpath, "%s/smsdbmon.log", f->dir);
    assert_int_equal(log_open(f->logpath, "SMS_DATABASE_NOTIFICATION_MONITOR", 0), 0);
    f->m.d = f->d;
    f->m.cat = f->cat;
    f->m.inboxes_dir = f->inboxes;
    f->m.batch_size = 500;
    f->m.report = on_report;
    f->m.ud = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    log_close();
    db_exec(f->d, "DELETE FROM TableChangeNotifications");
    db_close(f->d);
    inbox_catalogue_free(f->cat);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void add_note(fixture *f, const char *name, const char *table, const char *action,
                     const char *key)
{
    db_stmt *s;
    assert_int_equal(db_prepare(f->d, &s,
                                "INSERT INTO TableChangeNotifications (NotificationName, "
                                "TableName, Action, KeyValue) VALUES (?, ?, ?, ?)"),
                     0);
    db_bind_text(s, 1, name);
    db_bind_text(s, 2, table);
    db_bind_text(s, 3, action);
    db_bind_text(s, 4, key);
    if (db_step(s) < 0)
        fail_msg("insert: %s", db_errmsg(f->d));
    db_finalize(s);
}

static long long pending(fixture *f)
{
    long long n = -1;
    assert_int_equal(
        db_query_int(f->d, "SELECT COUNT(*) FROM TableChangeNotifications", NULL, NULL, &n), 0);
    return n;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

/* The console's SyncNow through the real trigger: SELF.SYN, zero bytes, and the log lines. */
static void test_syncnow_drops_self_syn(void **state)
{
    fixture *f = *state;
    char path[512];
    db_exec(f->d, "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, SourceSite) VALUES "
                  "('{11111111-2222-3333-4444-555555555555}', 'CS1')");
    db_exec(f->d, "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID) SELECT 'CS1', "
                  "UpdateSource_ID FROM CI_UpdateSources WHERE SourceSite = 'CS1'");
    db_exec(f->d, "DELETE FROM TableChangeNotifications");
    assert_int_equal(db_exec(f->d, "UPDATE Update_SyncStatus SET SyncNow = 'SELF'"), 0);
    assert_int_equal(db_exec(f->d, "UPDATE Update_SyncStatus SET SyncNow = NULL"), 0);
    assert_int_equal(pending(f), 1);
    assert_int_equal(dbmon_poll(&f->m), 1);
    snprintf(path, sizeof path, "%s/wsyncmgr.box/SELF.SYN", f->inboxes);
    assert_int_equal(file_size(path), 0);
    assert_int_equal(pending(f), 0);
    char *log = read_all(f->logpath);
    assert_non_null(log);
    assert_non_null(
        strstr(log, "RCV: UPDATE on Update_SyncStatus for SyncNotif_WSyncMgr [SELF ]["));
    char want[600];
    snprintf(want, sizeof want, "SND: Dropped %s [", path);
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "$$<SMS_DATABASE_NOTIFICATION_MONITOR><"));
    free(log);
    /* Nothing left: a second poll reads nothing and drops nothing new. */
    unlink(path);
    assert_int_equal(dbmon_poll(&f->m), 0);
    assert_int_equal(file_size(path), -1);
}

/* Non-zero .STN, and repeats of one key coalesced into one file. */
static void test_stn_nonzero_and_coalescing(void **state)
{
    fixture *f = *state;
    const char *guid = "{C2D17964-BBDD-4339-B9F3-12D7205B39CC}";
    char path[512];
    add_note(f, "UpdSyncStatus_iu", "Update_SyncStatus", "UPDATE", guid);
    add_note(f, "UpdSyncStatus_iu", "Update_SyncStatus", "UPDATE", guid);
    add_note(f, "SubNotify_iu_WCM", "CI_UpdateCategorySubscription", "UPDATE", "177");
    add_note(f, "UpdSyncStatus_iu", "Update_SyncStatus", "UPDATE", guid);
    assert_int_equal(dbmon_poll(&f->m), 4);
    assert_int_equal(pending(f), 0);
    snprintf(path, sizeof path, "%s/policypv.box/%s.STN", f->inboxes, guid);
    assert_true(file_size(path) > 0);
    snprintf(path, sizeof path, "%s/WSUSMgr.box/177.CSB", f->inboxes);
    assert_int_equal(file_size(path), 0);
    char *log = read_all(f->logpath);
    assert_non_null(log);
    /* One SND for the three STN rows, with "(non-zero)" as in the documents. */
    const char *p = strstr(log, ".STN (non-zero) [");
    assert_non_null(p);
    assert_null(strstr(p + 1, ".STN (non-zero) ["));
    int rcv = 0;
    for (const char *q = log; (q = strstr(q, "RCV: UPDATE on Update_SyncStatus for "
                                             "UpdSyncStatus_iu")) != NULL;
         q++)
        rcv++;
    assert_int_equal(rcv, 3);
    free(log);
}

/* Hostile keys: reported (8100), removed, and no file appears anywhere. */
static void test_hostile_keys(void **state)
{
    fixture *f = *state;
    char *big = malloc(10241);
    memset(big, 'A', 10240);
    big[10240] = '\0';
    const char *keys[] = {"../../escape", "a/b", "quote'\"", "..", "", "x\ny", "C:\\evil", big};
    size_t nkeys = sizeof keys / sizeof keys[0];
    int before = count_entries(f->dir);
    for (size_t i = 0; i < nkeys; i++)
        add_note(f, "SyncNotif_WSyncMgr", "Update_SyncStatus", "UPDATE", keys[i]);
    assert_int_equal(dbmon_poll(&f->m), (int)nkeys);
    assert_int_equal(pending(f), 0);
    assert_int_equal(f->nreports, (int)nkeys);
    for (int i = 0; i < f->nreports; i++)
        assert_int_equal(f->reports[i], 8100);
    /* The only new file is the log itself (it existed before, maybe empty). */
    assert_int_equal(count_entries(f->dir), before);
    char path[512];
    snprintf(path, sizeof path, "%s/escape.SYN", f->dir);
    assert_int_equal(file_size(path), -1);
    /* The reported key is shortened, not 10 KB. */
    assert_true(strlen(f->last_istr2) < 300);
    char *log = read_all(f->logpath);
    assert_non_null(strstr(log, "ERROR: Rejected UPDATE on Update_SyncStatus for "
                                "SyncNotif_WSyncMgr [../../escape ]"));
    free(log);
    free(big);
}

static void test_disabled_and_unknown(void **state)
{
    fixture *f = *state;
    add_note(f, "CINotify_iud", "CI_ConfigurationItems", "INSERT", "16777264");
    add_note(f, "NoSuchNotification", "X", "INSERT", "1");
    assert_int_equal(dbmon_poll(&f->m), 2);
    assert_int_equal(pending(f), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/objmgr.box/16777264.CIN", f->inboxes);
    assert_int_equal(file_size(path), -1);
    assert_int_equal(f->nreports, 0);
}

/* A box that cannot take the file: rows kept, reported once, dropped once it works again. */
static void test_failed_drop_keeps_rows(void **state)
{
    fixture *f = *state;
    char box[512], path[600];
    snprintf(box, sizeof box, "%s/wsyncmgr.box", f->inboxes);
    snprintf(path, sizeof path, "rm -rf '%s' && touch '%s'", box, box);
    assert_int_equal(system(path), 0); /* a file where the folder should be */
    add_note(f, "SyncNotif_WSyncMgr", "Update_SyncStatus", "UPDATE", "SELF");
    add_note(f, "SubNotify_iu_WCM", "CI_UpdateCategorySubscription", "UPDATE", "5");
    assert_int_equal(dbmon_poll(&f->m), 2);
    assert_int_equal(pending(f), 2); /* the failed one and the one behind it */
    assert_int_equal(dbmon_poll(&f->m), 2);
    assert_int_equal(pending(f), 2);
    assert_int_equal(f->nreports, 1); /* reported once, not at every poll */
    assert_int_equal(f->reports[0], 8103);
    unlink(box);
    assert_int_equal(inbox_tree_create(f->inboxes, f->cat), 0);
    assert_int_equal(dbmon_poll(&f->m), 2);
    assert_int_equal(pending(f), 0);
    snprintf(path, sizeof path, "%s/SELF.SYN", box);
    assert_int_equal(file_size(path), 0);
    snprintf(path, sizeof path, "%s/WSUSMgr.box/5.CSB", f->inboxes);
    assert_int_equal(file_size(path), 0);
}

/* A batch smaller than the backlog drains in order over several polls. */
static void test_batches(void **state)
{
    fixture *f = *state;
    char key[16];
    f->m.batch_size = 3;
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "%d", i);
        add_note(f, "SubNotify_iu_WCM", "CI_UpdateCategorySubscription", "INSERT", key);
    }
    assert_int_equal(dbmon_poll(&f->m), 3);
    assert_int_equal(dbmon_poll(&f->m), 3);
    assert_int_equal(dbmon_poll(&f->m), 1);
    assert_int_equal(dbmon_poll(&f->m), 0);
    for (int i = 0; i < 7; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/WSUSMgr.box/%d.CSB", f->inboxes, i);
        assert_int_equal(file_size(path), 0);
    }
}

int test_dbmon(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_syncnow_drops_self_syn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stn_nonzero_and_coalescing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_drop_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
    };
    return cmocka_run_group_tests_name("dbmon", tests, NULL, NULL);
}
