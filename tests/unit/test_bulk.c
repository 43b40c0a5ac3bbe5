/*
 * test_bulk.c - the many-row statements of components/bulk.c against a real
 * driver (SQLite by default, PostgreSQL under tests/with-postgres.sh): every
 * remainder of a flush, columns with and without a size limit, values that
 * look like SQL or hold every kind of character, NULLs, and the DELETE form
 * with an IN list that the sync and its maintenance use.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulk.h"
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
    db_exec(f->d, "DROP TABLE IF EXISTS BulkTest");
    assert_int_equal(db_exec(f->d, "CREATE TABLE BulkTest (A INTEGER PRIMARY KEY, B VARCHAR(20), "
                                   "C BIGINT, D TEXT)"),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    db_exec(f->d, "DROP TABLE IF EXISTS BulkTest");
    tu_db_close(f->d, f->dir);
    free(f);
    return 0;
}

/* The D value of row a, or "null". */
static char *d_of(fixture *f, long long a)
{
    db_stmt *s;
    char *out = NULL;
    assert_int_equal(db_prepare(f->d, &s, "SELECT D FROM BulkTest WHERE A = ?"), 0);
    assert_int_equal(db_bind_int(s, 1, a), 0);
    assert_int_equal(db_step(s), 1);
    out = strdup(db_col_is_null(s, 0) ? "null" : db_col_text(s, 0));
    db_finalize(s);
    assert_non_null(out);
    return out;
}

/*
 * A value of row i for the column without a limit: sizes from empty to
 * 100 KB, so buffers grow, shrink in use and change places in short flushes.
 */
static char *long_value(int i)
{
    static const size_t sizes[] = {0, 1, 37, 4095, 4096, 70000, 100000, 12};
    size_t n = sizes[i % 8];
    char *v = malloc(n + 1);
    assert_non_null(v);
    for (size_t k = 0; k < n; k++)
        v[k] = (char)('a' + (k + (size_t)i) % 26);
    if (n > 8)
        memcpy(v, "'\";--", 6); /* looks like SQL: it must arrive as it is */
    v[n] = '\0';
    return v;
}

static void test_every_remainder(void **state)
{
    fixture *f = *state;
    static const bulk_col cols[] = {{BULK_INT, 0}, {BULK_TEXT, 20}, {BULK_INT, 0}, {BULK_TEXT, 0}};
    static const int counts[] = {0, 1, 9, 10, 11, 99, 100, 101, 257};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        bulk *b;
        assert_int_equal(db_exec(f->d, "DELETE FROM BulkTest"), 0);
        assert_int_equal(
            bulk_open(f->d, &b, "INSERT INTO BulkTest (A, B, C, D) VALUES", "", cols, 4, 100), 0);
        assert_int_equal(db_begin(f->d), 0);
        for (int i = 0; i < counts[k]; i++) {
            char t[21], *v = long_value(i);
            snprintf(t, sizeof t, "row %d", i);
            assert_int_equal(bulk_int(b, 0, i), 0);
            assert_int_equal(i % 7 ? bulk_text(b, 1, t) : bulk_null(b, 1), 0);
            assert_int_equal(bulk_int(b, 2, (long long)i * 1000000007LL), 0);
            assert_int_equal(i % 5 == 3 ? bulk_null(b, 3) : bulk_text(b, 3, v), 0);
            assert_int_equal(bulk_row(b), 0);
            free(v);
        }
        assert_int_equal(bulk_flush(b), 0);
        assert_int_equal(db_commit(f->d), 0);
        assert_int_equal(bulk_rows_written(b), counts[k]);
        bulk_close(b);
        assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest", NULL), counts[k]);
        for (int i = 0; i < counts[k]; i++) {
            char *got = d_of(f, i), *want = long_value(i);
            if (i % 5 == 3)
                assert_string_equal(got, "null");
            else
                assert_string_equal(got, want);
            free(got);
            free(want);
        }
        if (counts[k] > 0) {
            char sql[128];
            int last = counts[k] - 1;
            snprintf(sql, sizeof sql, "SELECT C FROM BulkTest WHERE A = %d", last);
            assert_int_equal(tu_qint(f->d, sql, NULL), (long long)last * 1000000007LL);
            assert_int_equal(
                tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest WHERE A = 0 AND B IS NULL", NULL), 1);
            if (counts[k] > 1)
                assert_int_equal(
                    tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest WHERE B = ?", "row 1"), 1);
        }
    }
}

static void test_odd_text(void **state)
{
    fixture *f = *state;
    static const bulk_col cols[] = {{BULK_INT, 0}, {BULK_TEXT, 0}};
    static const char *const odd[] = {
        "quote \" and backslash \\ and tab\t and newline\n",
        "Sicherheitsupdate f\xc3\xbcr Windows \xe2\x80\x93 \xe6\x9b\xb4\xe6\x96\xb0",
        "f008.cab'); DELETE FROM BulkTest; --",
        "\x01\x1f control characters",
        "",
    };
    const size_t n = sizeof odd / sizeof odd[0];
    bulk *b;
    assert_int_equal(bulk_open(f->d, &b, "INSERT INTO BulkTest (A, D) VALUES", "", cols, 2, 3), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(bulk_int(b, 0, (long long)i), 0);
        assert_int_equal(bulk_text(b, 1, odd[i]), 0);
        assert_int_equal(bulk_row(b), 0);
    }
    /* Bytes that are not NUL-terminated: only len of them are written. */
    assert_int_equal(bulk_int(b, 0, 100), 0);
    assert_int_equal(bulk_text_len(b, 1, "abcdef", 3), 0);
    assert_int_equal(bulk_row(b), 0);
    assert_int_equal(bulk_flush(b), 0);
    bulk_close(b);
    for (size_t i = 0; i < n; i++) {
        char *got = d_of(f, (long long)i);
        assert_string_equal(got, odd[i]);
        free(got);
    }
    char *got = d_of(f, 100);
    assert_string_equal(got, "abc");
    free(got);
}

static void test_delete_list(void **state)
{
    fixture *f = *state;
    static const bulk_col cols[] = {{BULK_INT, 0}}, row[] = {{BULK_INT, 0}, {BULK_INT, 0}};
    bulk *b;
    assert_int_equal(bulk_open(f->d, &b, "INSERT INTO BulkTest (A, C) VALUES", "", row, 2, 100), 0);
    for (int i = 0; i < 2500; i++) {
        assert_int_equal(bulk_int(b, 0, i), 0);
        assert_int_equal(bulk_int(b, 1, i), 0);
        assert_int_equal(bulk_row(b), 0);
    }
    /* Full statements go out as the rows come; the rest waits for the flush. */
    assert_int_equal(bulk_rows_written(b), 2500);
    assert_int_equal(bulk_flush(b), 0);
    bulk_close(b);
    assert_int_equal(bulk_open(f->d, &b, "DELETE FROM BulkTest WHERE A IN (", ")", cols, 1, 100),
                     0);
    for (int i = 0; i < 1500; i += 2) {
        assert_int_equal(bulk_int(b, 0, i), 0);
        assert_int_equal(bulk_row(b), 0);
    }
    assert_int_equal(bulk_flush(b), 0);
    assert_int_equal(bulk_rows_written(b), 750);
    bulk_close(b);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest", NULL), 1750);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest WHERE A = 1498", NULL), 0);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest WHERE A = 1499", NULL), 1);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    static const bulk_col cols[] = {{BULK_INT, 0}, {BULK_TEXT, 20}, {BULK_INT, 0}};
    bulk *b;
    assert_int_equal(bulk_open(f->d, &b, "INSERT INTO BulkTest (A, B, C) VALUES", "", cols, 3, 10),
                     0);
    assert_int_equal(bulk_text(b, 1, "twenty-one characters"), CM_ETOOBIG);
    /* A row with a column left unset is refused, not sent with stale values. */
    assert_int_equal(bulk_int(b, 0, 1), 0);
    assert_int_equal(bulk_row(b), -EINVAL);
    /* A value of the wrong type, or a column that does not exist. */
    assert_int_equal(bulk_text(b, 0, "x"), -EINVAL);
    assert_int_equal(bulk_int(b, 3, 1), -EINVAL);
    bulk_close(b);
    assert_int_equal(bulk_open(f->d, &b, "INSERT INTO BulkTest (A) VALUES", "", cols, 0, 10),
                     -EINVAL);
    /* A failing statement reports the database's error and writes nothing. */
    assert_int_equal(bulk_open(f->d, &b, "INSERT INTO BulkTest (A, B, C) VALUES", "", cols, 3, 2),
                     0);
    assert_int_equal(db_begin(f->d), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bulk_int(b, 0, 7), 0); /* the same key twice */
        assert_int_equal(bulk_text(b, 1, "dup"), 0);
        assert_int_equal(bulk_int(b, 2, 0), 0);
        if (i == 0)
            assert_int_equal(bulk_row(b), 0); /* not executed yet */
        else
            assert_true(bulk_row(b) < 0);
    }
    db_rollback(f->d);
    bulk_close(b);
    assert_int_equal(tu_qint(f->d, "SELECT COUNT(*) FROM BulkTest", NULL), 0);
}

int test_bulk(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_remainder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests_name("bulk", tests, NULL, NULL);
}
