/*
 * test_config.c - site.ini parsing (good and corrupt files) and the
 * SC_Component_Property settings: defaults, site overrides, re-reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cm_error.h"
#include "config.h"
#include "schema.h"
#include "testutil.h"

static void write_ini(const char *dir, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/site.ini", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_ini_good(void **state)
{
    (void)state;
    char dir[256], err[256];
    site_ini ini;
    int line = -1;
    assert_int_equal(tu_mkdtemp(dir, sizeof dir), 0);
    write_ini(dir, "; comment\n[site]\ncode = CS1\nserver = cs1site.contoso.com\ntype = CAS\n"
                   "[database]\nconnection = Driver=SQLite3;Database=/x/site.db\n"
                   "[logs]\nmax_size = 1000\n");
    assert_int_equal(config_load_ini(dir, &ini, &line, err, sizeof err), 0);
    assert_string_equal(ini.site_code, "CS1");
    assert_string_equal(ini.server_name, "cs1site.contoso.com");
    assert_string_equal(ini.site_type, "CAS");
    assert_string_equal(ini.connection, "Driver=SQLite3;Database=/x/site.db");
    assert_int_equal(ini.log_max_size, 1000);
    assert_string_equal(ini.root, dir);
    /* A site.ini written by config_write_ini reads back the same. */
    site_ini back;
    assert_int_equal(config_write_ini(&ini, 0), -17 /* -EEXIST */);
    assert_int_equal(config_write_ini(&ini, 1), 0);
    assert_int_equal(config_load_ini(dir, &back, &line, err, sizeof err), 0);
    assert_string_equal(back.connection, ini.connection);
    assert_string_equal(back.site_type, "CAS");
    tu_rmtree(dir);
}

/* Each corrupt file is refused with the line that is wrong. */
static void test_ini_corrupt(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int line;
    } cases[] = {
        {"[site]\ncode = CS1\nserver = s\nbogus = 1\n[database]\nconnection = x\n", 4},
        {"[site]\ncode = TOOLONG\nserver = s\n[database]\nconnection = x\n", 2},
        {"[site]\ncode = C$1\nserver = s\n[database]\nconnection = x\n", 2},
        {"[site]\ncode = CS1\nserver = s\n[database]\nconnection = x\n[logs]\nmax_size = -5\n", 7},
        {"[site]\ncode = CS1\nserver = s\nthis line is garbage\n[database]\nconnection = x\n", 4},
        {"[site\ncode = CS1\n", 1},
        {"[site]\ncode = CS1\nserver = s\n", 0}, /* no connection */
        {"\x01\x02\xff\xfe binary junk\n", 1},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256], err[256];
        site_ini ini;
        int line = -1;
        assert_int_equal(tu_mkdtemp(dir, sizeof dir), 0);
        write_ini(dir, cases[i].text);
        assert_int_equal(config_load_ini(dir, &ini, &line, err, sizeof err), CM_EPARSE);
        assert_int_equal(line, cases[i].line);
        assert_true(strlen(err) > 0);
        tu_rmtree(dir);
    }
    char err[256];
    site_ini ini;
    int line;
    assert_int_equal(config_load_ini("/nonexistent/dir", &ini, &line, err, sizeof err), -2);
}

static void test_settings(void **state)
{
    (void)state;
    char dir[256], conn[1024];
    db *d;
    long long poll = -1, batch = -1;
    char lang[32];
    int changed = 0;
    config_setting s[] = {
        {"Polling Interval", CONFIG_INT, 7, NULL, &poll, NULL, 0},
        {"Batch Size", CONFIG_INT, 9, NULL, &batch, NULL, 0},
        {"No Such Property", CONFIG_STR, 0, "fallback", NULL, lang, sizeof lang},
    };
    assert_int_equal(tu_mkdtemp(dir, sizeof dir), 0);
    tu_test_connstr(conn, sizeof conn, dir);
    assert_int_equal(db_open(&d, conn), 0);
    assert_int_equal(schema_apply(d, NULL), 0);
    db_exec(d, "DELETE FROM SC_Component_Property WHERE SiteCode = 'TST'");

    config_defaults(s, 3);
    assert_int_equal(poll, 7);
    assert_string_equal(lang, "fallback");
    /* The seeded defaults (SiteCode '') apply. */
    assert_int_equal(config_refresh(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", s, 3, &changed),
                     0);
    assert_int_equal(poll, 100);
    assert_int_equal(batch, 500);
    assert_string_equal(lang, "fallback");
    assert_int_equal(changed, 1);
    /* A site row overrides the default, and a re-read sees it without restart. */
    assert_int_equal(
        config_set(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", "Polling Interval", NULL, 25), 0);
    assert_int_equal(config_refresh(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", s, 3, &changed),
                     0);
    assert_int_equal(poll, 25);
    assert_int_equal(changed, 1);
    assert_int_equal(config_refresh(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", s, 3, &changed),
                     0);
    assert_int_equal(changed, 0);
    /* Another site is not affected. */
    long long other = -1;
    config_setting o[] = {{"Polling Interval", CONFIG_INT, 7, NULL, &other, NULL, 0}};
    assert_int_equal(config_refresh(d, "XYZ", "SMS_DATABASE_NOTIFICATION_MONITOR", o, 1, NULL), 0);
    assert_int_equal(other, 100);
    /* Updating an existing row works too; deleting it brings the default back. */
    assert_int_equal(
        config_set(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", "Polling Interval", NULL, 30), 0);
    assert_int_equal(config_refresh(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", s, 3, NULL), 0);
    assert_int_equal(poll, 30);
    db_exec(d, "DELETE FROM SC_Component_Property WHERE SiteCode = 'TST'");
    db_exec(d, "DELETE FROM SC_Component_Property WHERE SiteCode = '' AND PropertyName = 'Batch "
               "Size' AND ComponentName = 'SMS_DATABASE_NOTIFICATION_MONITOR'");
    assert_int_equal(config_refresh(d, "TST", "SMS_DATABASE_NOTIFICATION_MONITOR", s, 3, NULL), 0);
    assert_int_equal(poll, 100);
    assert_int_equal(batch, 9);
    db_close(d);
    tu_rmtree(dir);
}

int test_config(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini_good),
        cmocka_unit_test(test_ini_corrupt),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
