/*
 * testutil.h - helpers shared by the unit test groups: temporary
 * directories and the test database connection string.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>

/* Create a fresh temporary directory; returns 0 and fills buf. */
int tu_mkdtemp(char *buf, size_t len);
/* rm -rf of a directory tree made by tu_mkdtemp. */
void tu_rmtree(const char *dir);
/*
 * The connection string the database tests use: $CM_TEST_DB when set (the
 * PostgreSQL wrapper sets it), otherwise an SQLite file in dir.
 */
void tu_test_connstr(char *buf, size_t len, const char *dir);

#endif
