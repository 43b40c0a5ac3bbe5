/*
 * runner.c - runs one unit test group by name (or all of them), so that
 * meson registers each group as its own test.
 */
#include <stdio.h>
#include <string.h>

#include "registry.h"

struct group {
    const char *name;
    int (*run)(void);
};

#define TEST_ENTRY(g) {#g, test_##g},
static const struct group groups[] = {TEST_GROUPS(TEST_ENTRY)};
#undef TEST_ENTRY

int main(int argc, char **argv)
{
    int failed = 0, found = 0;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        found = 1;
        failed += groups[i].run();
    }
    if (!found) {
        fprintf(stderr, "unit-runner: no test group named '%s'\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    return failed ? 1 : 0;
}
