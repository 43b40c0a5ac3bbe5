/*
 * testutil.h - helpers shared by the unit test groups: temporary
 * directories and the test database connection string.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>

#include "db.h"

/* Create a fresh temporary directory; returns 0 and fills buf. */
int tu_mkdtemp(char *buf, size_t len);
/* rm -rf of a directory tree made by tu_mkdtemp. */
void tu_rmtree(const char *dir);
/*
 * The connection string the database tests use: $CM_TEST_DB when set (the
 * PostgreSQL wrapper sets it), otherwise an SQLite file in dir.
 */
void tu_test_connstr(char *buf, size_t len, const char *dir);
/*
 * A fresh temporary directory in dir (len bytes) and a connection to the
 * test database, with the site schema applied when schema is set; the
 * test fails with the database's message when either cannot be had.
 */
void tu_db_open(db **d, char *dir, size_t len, int schema);
/* Close the connection and remove the directory. */
void tu_db_close(db *d, const char *dir);

/*
 * SQL in tests; an error fails the test with the statement and the
 * database's message.  tu_sql binds one value per character of fmt
 * ('i' a long long, anything else a string).  tu_qint gives -1 and
 * tu_qtext NULL (else a copy to free) when there is no row.
 */
void tu_sql(db *d, const char *sql, const char *fmt, ...);
long long tu_qint(db *d, const char *sql, const char *p1);
char *tu_qtext(db *d, const char *sql, const char *p1);

#endif
