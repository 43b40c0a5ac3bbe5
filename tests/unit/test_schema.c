/*
 * test_schema.c - the site database scripts on a real database: they apply
 * twice without change, record the schema version, create every table and
 * view DESIGN.md names, seed the catalogues, and their change-notification
 * triggers record exactly the documented notifications.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "schema.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    db *d;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_db_open(&f->d, f->dir, sizeof f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_db_close(f->d, f->dir);
    free(f);
    return 0;
}

static void test_idempotent_and_versioned(void **state)
{
    fixture *f = *state;
    long long v = 0, states = tu_qint(f->d, "SELECT COUNT(*) FROM SR_StateNames", NULL);
    assert_int_equal(schema_apply(f->d, NULL), 0);
    assert_int_equal(schema_apply(f->d, NULL), 0);
    assert_int_equal(schema_version(f->d, &v), 0);
    assert_int_equal(v, SCHEMA_VERSION);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_StateNames", NULL), states);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SchemaVersion", NULL), 1);
}

static void test_tables_and_views_exist(void **state)
{
    fixture *f = *state;
    static const char *names[] = {
        "SiteControl", "SoftwareUpdatePoints", "SC_Component_Property", "CI_UpdateSources",
        "Update_SyncStatus", "WSUSServerLocations", "CI_ConfigurationItems", "CI_UpdateInfo",
        "CI_LocalizedProperties", "CI_CategoryInstances", "CI_LocalizedCategoryInstances",
        "CI_CategoryMemberships", "CI_UpdateCategorySubscription", "CI_ConfigurationItemRelations",
        "CI_CIUpdateSources", "CI_Contents", "CI_ContentFiles", "CI_ConfigurationItemContents",
        "CI_CIAssignments", "CI_AssignmentTargetedCIs", "CI_AssignmentTargetedGroups", "Policy",
        "PolicyAssignment", "SettingsPolicy", "System_DISC", "SR_StateNames",
        "Update_ComplianceStatus", "Update_ScanStatus", "SR_MissingMessageRanges",
        "SR_SummaryTasks", "StatusMessages", "StatusMessageInsStrs", "StatusMessageAttributes",
        "StatusMessageCatalog", "TableChangeNotifications", "DBMonNotifications", "SchemaVersion",
        /* views */
        "v_SUPSyncStatus", "vSMS_SC_Component_Properties", "v_UpdateInfo", "v_UpdateCIs",
        "vSMS_ConfigurationItems", "v_CICategories_All", "v_R_System", "v_StateNames",
        "v_Update_ComplianceStatus", "v_UpdateScanStatus", "v_UpdateAssignmentStatus",
        "vSR_SummaryTasks", "v_StatusMessage", "v_StatMsgInsStrings", "v_StatMsgAttributes"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char sql[256];
        long long n = -1;
        /* Names come from the list above, never from input. */
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", names[i]);
        if (db_query_int(f->d, sql, NULL, NULL, &n) < 0)
            fail_msg("%s: %s", names[i], db_errmsg(f->d));
        assert_true(n >= 0);
    }
}

static void test_seed_data(void **state)
{
    fixture *f = *state;
    /* DESIGN.md 2.6: the topic types and their states. */
    assert_int_equal(
        tu_qint(f->d, "SELECT COUNT(*) FROM SR_StateNames WHERE TopicType = 500", NULL), 4);
    assert_int_equal(
        tu_qint(f->d, "SELECT COUNT(*) FROM SR_StateNames WHERE TopicType = 301", NULL), 12);
    assert_int_equal(
        tu_qint(f->d, "SELECT COUNT(*) FROM SR_StateNames WHERE TopicType = 402", NULL), 15);
    assert_int_equal(
        tu_qint(f->d,
                "SELECT COUNT(*) FROM v_StateNames WHERE TopicType = 500 AND StateID = 2 "
                "AND StateName = ?",
                "Update is required"),
        1);
    for (int id = 6701; id <= 6708; id++) {
        char sid[8];
        snprintf(sid, sizeof sid, "%d", id);
        assert_int_equal(tu_qint(f->d,
                                 "SELECT COUNT(*) FROM StatusMessageCatalog WHERE MessageID = "
                                 "CAST(? AS INTEGER)",
                                 sid),
                         1);
    }
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM DBMonNotifications", NULL), 7);
    assert_int_equal(tu_qint(f->d,
                             "SELECT ZeroByte FROM DBMonNotifications WHERE NotificationName = ?",
                             "UpdSyncStatus_iu"),
                     0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM SR_SummaryTasks", NULL), 5);
    assert_int_equal(tu_qint(f->d,
                             "SELECT Value3 FROM SC_Component_Property WHERE SiteCode = '' AND "
                             "ComponentName = 'SMS_WSUS_SYNC_MANAGER' AND PropertyName = ?",
                             "Retry Interval"),
                     60);
}

static void exec_ok(db *d, const char *sql)
{
    if (db_exec(d, sql) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
}

static void test_notification_triggers(void **state)
{
    fixture *f = *state;
    db *d = f->d;
    const char *guid = "{C2D17964-BBDD-4339-B9F3-12D7205B39CC}";
    db_stmt *s;

    exec_ok(d, "DELETE FROM TableChangeNotifications");
    assert_int_equal(db_prepare(d, &s,
                                "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, "
                                "UpdateSourceName, SourceSite) VALUES (?, 'WSUS', 'CS1')"),
                     0);
    assert_int_equal(db_bind_text(s, 1, guid), 0);
    assert_int_equal(db_step(s), 0);
    db_finalize(s);
    long long src =
        tu_qint(d,
                "SELECT UpdateSource_ID FROM CI_UpdateSources WHERE UpdateSource_UniqueID "
                "= ?",
                guid);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID, WSUSServerName) VALUES "
             "('CS1', %lld, 'cs1site')",
             src);
    exec_ok(d, sql);
    /* The console's SyncNow: set, then reset; only the set is a notification. */
    exec_ok(d, "UPDATE Update_SyncStatus SET SyncNow = 'SELF' WHERE SiteCode = 'CS1'");
    exec_ok(d, "UPDATE Update_SyncStatus SET SyncNow = NULL WHERE SiteCode = 'CS1'");
    exec_ok(d, "UPDATE Update_SyncStatus SET ContentVersion = 34 WHERE SiteCode = 'CS1'");
    /* Same version again: no new scan tool notification. */
    exec_ok(d, "UPDATE Update_SyncStatus SET ContentVersion = 34 WHERE SiteCode = 'CS1'");
    exec_ok(d, "INSERT INTO CI_UpdateCategorySubscription (CategoryInstanceID, IsSubscribed) "
               "VALUES (177, 1)");
    /* CINotify_iud is registered but disabled: no row. */
    exec_ok(d, "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID) VALUES ('u1', 1)");

    assert_int_equal(tu_qint(d, "SELECT COUNT(*) FROM TableChangeNotifications", NULL), 4);
    assert_int_equal(
        tu_qint(d,
                "SELECT COUNT(*) FROM TableChangeNotifications WHERE NotificationName = "
                "'SyncNotif_WSyncMgr' AND KeyValue = 'SELF' AND Action = 'UPDATE' AND "
                "TableName = ?",
                "Update_SyncStatus"),
        1);
    assert_int_equal(
        tu_qint(d,
                "SELECT COUNT(*) FROM TableChangeNotifications WHERE NotificationName = "
                "'UpdSyncStatus_iu' AND KeyValue = ?",
                guid),
        2); /* the insert and the version change */
    assert_int_equal(
        tu_qint(d,
                "SELECT COUNT(*) FROM TableChangeNotifications WHERE NotificationName = "
                "'SubNotify_iu_WCM' AND KeyValue = ?",
                "177"),
        1);
    assert_int_equal(
        tu_qint(d, "SELECT COUNT(*) FROM TableChangeNotifications WHERE NotificationName = ?",
                "CINotify_iud"),
        0);
    /* Rows come out in the order they went in. */
    assert_int_equal(
        tu_qint(d,
                "SELECT COUNT(*) FROM TableChangeNotifications a, TableChangeNotifications "
                "b WHERE a.NotificationName = 'SyncNotif_WSyncMgr' AND b.NotificationName "
                "= ? AND b.ID > a.ID",
                "SubNotify_iu_WCM"),
        1);
    exec_ok(d, "DELETE FROM TableChangeNotifications");
}

int test_schema(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idempotent_and_versioned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_and_views_exist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_triggers, setup, teardown),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
