/*
 * test_db.c - the ODBC layer against a real driver: SQLite by default,
 * PostgreSQL when tests/with-postgres.sh sets CM_TEST_DB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cm_error.h"
#include "db.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    db *d;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_db_open(&f->d, f->dir, sizeof f->dir, 0);
    db_exec(f->d, "DROP TABLE IF EXISTS t_db");
    assert_int_equal(db_exec(f->d, "CREATE TABLE t_db (id INTEGER, name VARCHAR(200000), "
                                   "note VARCHAR(100))"),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    db_exec(f->d, "DROP TABLE IF EXISTS t_db");
    tu_db_close(f->d, f->dir);
    free(f);
    return 0;
}

static void insert_row(db *d, long long id, const char *name, const char *note)
{
    db_stmt *s;
    assert_int_equal(db_prepare(d, &s, "INSERT INTO t_db (id, name, note) VALUES (?, ?, ?)"), 0);
    assert_int_equal(db_bind_int(s, 1, id), 0);
    assert_int_equal(db_bind_text(s, 2, name), 0);
    assert_int_equal(db_bind_text(s, 3, note), 0);
    assert_int_equal(db_step(s), 0);
    assert_int_equal(db_changes(s), 1);
    db_finalize(s);
}

static long long count_rows(db *d)
{
    long long n = -1;
    assert_int_equal(db_query_int(d, "SELECT COUNT(*) FROM t_db", NULL, NULL, &n), 0);
    return n;
}

static void test_dialect(void **state)
{
    fixture *f = *state;
    const char *want = getenv("CM_TEST_DIALECT");
    db_dialect d = db_get_dialect(f->d);
    assert_true(d == DB_DIALECT_SQLITE || d == DB_DIALECT_POSTGRES);
    if (want)
        assert_string_equal(db_dialect_name(d), want);
}

/* Values with quotes, semicolons and comment markers are data, never SQL. */
static void test_bound_values_round_trip(void **state)
{
    fixture *f = *state;
    const char *hostile = "x'); DROP TABLE t_db; -- \"quoted\" \\ back";
    db_stmt *s;
    insert_row(f->d, 1, hostile, NULL);
    insert_row(f->d, 2, "plain", "n");
    assert_int_equal(db_prepare(f->d, &s, "SELECT id, name, note FROM t_db WHERE name = ?"), 0);
    assert_int_equal(db_bind_text(s, 1, hostile), 0);
    assert_int_equal(db_step(s), 1);
    assert_int_equal(db_col_int(s, 0), 1);
    assert_string_equal(db_col_text(s, 1), hostile);
    assert_true(db_col_is_null(s, 2));
    assert_string_equal(db_col_text(s, 2), "");
    assert_int_equal(db_step(s), 0);
    db_finalize(s);
    assert_int_equal(count_rows(f->d), 2);
}

/* A value far larger than the fetch buffer comes back whole. */
static void test_long_text(void **state)
{
    fixture *f = *state;
    size_t n = 150000;
    char *big = malloc(n + 1);
    db_stmt *s;
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    insert_row(f->d, 7, big, "big");
    assert_int_equal(db_prepare(f->d, &s, "SELECT name FROM t_db WHERE id = ?"), 0);
    assert_int_equal(db_bind_int(s, 1, 7), 0);
    assert_int_equal(db_step(s), 1);
    assert_int_equal(strlen(db_col_text(s, 0)), n);
    assert_int_equal(db_col_len(s, 0), n);
    assert_memory_equal(db_col_text(s, 0), big, n);
    db_finalize(s);
    free(big);
}

static void test_transactions(void **state)
{
    fixture *f = *state;
    assert_int_equal(db_begin(f->d), 0);
    insert_row(f->d, 1, "a", "rolled back");
    assert_int_equal(db_rollback(f->d), 0);
    assert_int_equal(count_rows(f->d), 0);
    assert_int_equal(db_begin(f->d), 0);
    insert_row(f->d, 2, "b", "committed");
    insert_row(f->d, 3, "c", "committed");
    assert_int_equal(db_commit(f->d), 0);
    assert_int_equal(count_rows(f->d), 2);
    /* Back in autocommit: a lone insert persists by itself. */
    insert_row(f->d, 4, "d", NULL);
    assert_int_equal(count_rows(f->d), 3);
}

static void test_reset_and_changes(void **state)
{
    fixture *f = *state;
    db_stmt *s;
    for (int i = 0; i < 5; i++)
        insert_row(f->d, i, "n", "x");
    assert_int_equal(db_prepare(f->d, &s, "UPDATE t_db SET note = ? WHERE id >= ?"), 0);
    assert_int_equal(db_bind_text(s, 1, "y"), 0);
    assert_int_equal(db_bind_int(s, 2, 3), 0);
    assert_int_equal(db_step(s), 0);
    assert_int_equal(db_changes(s), 2);
    db_reset(s);
    assert_int_equal(db_bind_text(s, 1, "z"), 0);
    assert_int_equal(db_bind_int(s, 2, 100), 0);
    assert_int_equal(db_step(s), 0);
    assert_int_equal(db_changes(s), 0);
    db_finalize(s);
}

static void test_script_with_go(void **state)
{
    fixture *f = *state;
    const char *script = "-- a comment only batch\nGO\n"
                         "INSERT INTO t_db (id, name) VALUES (1, 'GO on a line is data; ok')\n"
                         "go\n\n  GO  \n"
                         "INSERT INTO t_db (id, name) VALUES (2, 'two')\n";
    long long n = 0;
    assert_int_equal(db_exec_script(f->d, script), 0);
    assert_int_equal(count_rows(f->d), 2);
    assert_int_equal(db_query_int(f->d, "SELECT id FROM t_db WHERE name = ?", "two", NULL, &n), 0);
    assert_int_equal(n, 2);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    db_stmt *s = NULL;
    long long n;
    int ret = db_prepare(f->d, &s, "SELEC nonsense FROM nowhere");
    if (ret == 0) /* some drivers defer the check to execution */
        ret = db_step(s);
    db_finalize(s);
    assert_int_equal(ret, CM_EDB);
    assert_true(strlen(db_errmsg(f->d)) > 0);
    assert_int_equal(db_query_int(f->d, "SELECT id FROM t_db WHERE id = 42", NULL, NULL, &n),
                     CM_ENOTFOUND);
    /* The connection is still good after an error. */
    insert_row(f->d, 1, "after error", NULL);
    assert_int_equal(count_rows(f->d), 1);
}

static void test_bad_connection(void **state)
{
    (void)state;
    db *d = NULL;
    int ret = db_open(&d, "Driver=NoSuchDriverAnywhere;Database=/nonexistent");
    assert_true(ret < 0);
    assert_non_null(d);
    assert_non_null(strstr(db_errmsg(d), "connect"));
    db_close(d);
}

/* A DSN name works as well as a connection string (here from an odbc.ini of our own). */
static void test_dsn(void **state)
{
    fixture *f = *state;
    char conn[1024], ini[512];
    tu_test_connstr(conn, sizeof conn, f->dir);
    snprintf(ini, sizeof ini, "%s/odbc.ini", f->dir);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fprintf(fp, "[cmlab_test_dsn]\n");
    /* The same key=value pairs, one a line; odbc.ini spells the login keys out. */
    for (char *tok = strtok(conn, ";"); tok; tok = strtok(NULL, ";")) {
        if (strncasecmp(tok, "Uid=", 4) == 0)
            fprintf(fp, "Username=%s\n", tok + 4);
        else if (strncasecmp(tok, "Pwd=", 4) == 0)
            fprintf(fp, "Password=%s\n", tok + 4);
        else
            fprintf(fp, "%s\n", tok);
    }
    fclose(fp);
    /*
     * The connection runs in a child: with a DSN the SQLite driver keeps the
     * attributes it read and is unloaded before LeakSanitizer can name it,
     * so its leak could not be suppressed by library name; _exit skips the
     * report, and the child's status carries the result.
     */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("ODBCINI", ini, 1);
        db *d = NULL;
        int ok = db_open(&d, "cmlab_test_dsn") == 0 && db_get_dialect(d) == db_get_dialect(f->d) &&
                 db_exec(d, "INSERT INTO t_db (id, name) VALUES (5, 'through the DSN')") == 0;
        if (!ok)
            fprintf(stderr, "DSN connect: %s\n", db_errmsg(d));
        db_close(d);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(count_rows(f->d), 1);
}

/* After a reconnect, statements of the old connection fail cleanly; new ones work. */
/* The name of row id through a cached statement (NULL when there is none). */
static char *cached_name(db *d, long long id, db_stmt **used)
{
    db_stmt *s;
    char *name = NULL;
    assert_int_equal(db_prepare_cached(d, &s, "SELECT name FROM t_db WHERE id = ?"), 0);
    assert_int_equal(db_bind_int(s, 1, id), 0);
    int r = db_step(s);
    assert_true(r >= 0);
    if (r == 1) {
        assert_int_equal(db_col_len(s, 0), strlen(db_col_text(s, 0)));
        name = strdup(db_col_text(s, 0));
    }
    if (used)
        *used = s;
    db_finalize(s);
    return name;
}

/*
 * A cached statement comes back for the same text with its new values, an
 * open one is never handed out twice, a full cache still prepares, and a
 * reconnect replaces what the old connection held.
 */
static void test_prepare_cached(void **state)
{
    fixture *f = *state;
    db_stmt *a, *b, *open, *s;
    char *n;
    insert_row(f->d, 1, "one", NULL);
    insert_row(f->d, 2, "two", NULL);
    n = cached_name(f->d, 1, &a);
    assert_string_equal(n, "one");
    free(n);
    n = cached_name(f->d, 2, &b);
    assert_string_equal(n, "two");
    free(n);
    assert_ptr_equal(a, b);
    assert_null(cached_name(f->d, 3, NULL));

    /* Held open (a cursor part-read): the same text gets another statement. */
    assert_int_equal(db_prepare_cached(f->d, &open, "SELECT name FROM t_db WHERE id = ?"), 0);
    assert_int_equal(db_bind_int(open, 1, 1), 0);
    assert_int_equal(db_step(open), 1);
    n = cached_name(f->d, 2, &b);
    assert_string_equal(n, "two");
    free(n);
    assert_ptr_not_equal(open, b);
    assert_string_equal(db_col_text(open, 0), "one");
    db_finalize(open);

    /* More texts than the cache holds: each still works, the first again too. */
    for (int i = 0; i < 20; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT name FROM t_db WHERE id = ? AND %d = %d", i, i);
        assert_int_equal(db_prepare_cached(f->d, &s, sql), 0);
        assert_int_equal(db_bind_int(s, 1, 1 + i % 2), 0);
        assert_int_equal(db_step(s), 1);
        assert_string_equal(db_col_text(s, 0), i % 2 ? "two" : "one");
        db_finalize(s);
    }
    n = cached_name(f->d, 1, NULL);
    assert_string_equal(n, "one");
    free(n);

    /* A finalized cached statement ends its read: a write from another connection goes through. */
    db *other;
    char conn[1024];
    tu_test_connstr(conn, sizeof conn, f->dir);
    assert_int_equal(db_open(&other, conn), 0);
    assert_int_equal(db_exec(other, "UPDATE t_db SET note = 'w' WHERE id = 1"), 0);
    db_close(other);

    assert_int_equal(db_reconnect(f->d), 0);
    n = cached_name(f->d, 2, NULL);
    assert_string_equal(n, "two");
    free(n);
}

/* IN lists are built from a count only; one that does not fit is refused, not cut. */
static void test_in_list_sql(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(db_in_list_sql(buf, sizeof buf, "SELECT 1 WHERE x IN ", 3, " ORDER BY 1"), 0);
    assert_string_equal(buf, "SELECT 1 WHERE x IN (?,?,?) ORDER BY 1");
    assert_int_equal(db_in_list_sql(buf, sizeof buf, "x IN ", 1, NULL), 0);
    assert_string_equal(buf, "x IN (?)");
    assert_int_equal(db_in_list_sql(buf, sizeof buf, "x IN ", 40, NULL), CM_ETOOBIG);
    assert_int_equal(db_in_list_sql(buf, 17, "x IN ", 5, ""), 0);
    assert_string_equal(buf, "x IN (?,?,?,?,?)");
    assert_int_equal(db_in_list_sql(buf, 17, "x IN ", 5, "y"), CM_ETOOBIG);
}

static void test_reconnect(void **state)
{
    fixture *f = *state;
    db_stmt *old;
    insert_row(f->d, 1, "before", NULL);
    assert_int_equal(db_prepare(f->d, &old, "SELECT COUNT(*) FROM t_db"), 0);
    assert_int_equal(db_reconnect(f->d), 0);
    assert_int_equal(db_step(old), CM_EDBCONN);
    db_finalize(old);
    assert_int_equal(count_rows(f->d), 1);
}

int test_db(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dialect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_values_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_with_go, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test(test_bad_connection),
        cmocka_unit_test_setup_teardown(test_dsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_cached, setup, teardown),
        cmocka_unit_test(test_in_list_sql),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
