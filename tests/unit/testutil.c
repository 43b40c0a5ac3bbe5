/*
 * testutil.c - temporary directories and the test database for unit tests.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
