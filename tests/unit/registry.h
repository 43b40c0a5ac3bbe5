/*
 * registry.h - the one list of unit test groups (libuv style).  Each group
 * lives in tests/unit/test_<group>.c and defines int test_<group>(void),
 * which runs its cmocka group and returns the number of failures.
 */
#ifndef TEST_REGISTRY_H
#define TEST_REGISTRY_H

#define TEST_GROUPS(X)                                                                             \
    X(log)                                                                                         \
    X(statmsg)                                                                                     \
    X(inbox)                                                                                       \
    X(db)                                                                                          \
    X(schema)                                                                                      \
    X(config)                                                                                      \
    X(dbmon)                                                                                       \
    X(httpd)                                                                                       \
    X(bulk)

#define TEST_DECLARE(g) int test_##g(void);
TEST_GROUPS(TEST_DECLARE)
#undef TEST_DECLARE

#endif
