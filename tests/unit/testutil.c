/*
 * testutil.c - temporary directories, the test database and SQL helpers
 * for the unit tests (see testutil.h).
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cm_error.h"
#include "schema.h"
#include "testutil.h"

int tu_mkdtemp(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, len, "%s/cmtest.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_test_connstr(char *buf, size_t len, const char *dir)
{
    const char *env = getenv("CM_TEST_DB");
    if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "Driver=SQLite3;Database=%s/test.db", dir);
}

void tu_db_open(db **d, char *dir, size_t len, int schema)
{
    char conn[1024];
    const char *failed = NULL;
    *d = NULL;
    if (tu_mkdtemp(dir, len) < 0)
        fail_msg("cannot make a temporary directory");
    tu_test_connstr(conn, sizeof conn, dir);
    if (db_open(d, conn) < 0)
        fail_msg("db_open(%s): %s", conn, db_errmsg(*d));
    if (schema && schema_apply(*d, &failed) < 0)
        fail_msg("schema_apply (%s): %s", failed ? failed : "?", db_errmsg(*d));
}

void tu_db_close(db *d, const char *dir)
{
    db_close(d);
    tu_rmtree(dir);
}

void tu_sql(db *d, const char *sql, const char *fmt, ...)
{
    db_stmt *st;
    va_list ap;
    int ret = 0;
    if (db_prepare(d, &st, sql) < 0)
        fail_msg("prepare %s: %s", sql, db_errmsg(d));
    va_start(ap, fmt);
    for (int i = 0; fmt && fmt[i] && ret == 0; i++) {
        if (fmt[i] == 'i')
            ret = db_bind_int(st, i + 1, va_arg(ap, long long));
        else
            ret = db_bind_text(st, i + 1, va_arg(ap, const char *));
    }
    va_end(ap);
    if (ret < 0 || db_step(st) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    db_finalize(st);
}

long long tu_qint(db *d, const char *sql, const char *p1)
{
    long long v = -1;
    int ret = db_query_int(d, sql, p1, NULL, &v);
    if (ret == CM_ENOTFOUND)
        return -1;
    if (ret < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    return v;
}

char *tu_qtext(db *d, const char *sql, const char *p1)
{
    db_stmt *st;
    char *out = NULL;
    int ret;
    if (db_prepare(d, &st, sql) < 0)
        fail_msg("prepare %s: %s", sql, db_errmsg(d));
    if (p1 && db_bind_text(st, 1, p1) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    if ((ret = db_step(st)) < 0)
        fail_msg("%s: %s", sql, db_errmsg(d));
    if (ret == 1 && !(out = strdup(db_col_text(st, 0))))
        fail_msg("out of memory");
    db_finalize(st);
    return out;
}
