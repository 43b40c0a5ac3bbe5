/*
 * catalog_bench.c - how fast the catalog generator writes and the offline
 * catalog reader reads, for both forms (a directory of update XML documents
 * and a wsusscn2-style cab), and the peak memory of the whole run: the
 * reader is meant to stream, so peak memory should not grow with the
 * catalog.  Prints figures; asserts nothing about speed.
 *
 *   catalog_bench [--updates N] [--languages de,fr] [--seed S] [--dir TMPBASE]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "catalog.h"
#include "catalog_gen.h"
#include "cm_error.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int read_all(const char *path, long *n, unsigned long long *bytes)
{
    catalog_reader *r;
    int rc = catalog_open(&r, path);
    if (rc) {
        fprintf(stderr, "catalog_bench: open %s: %s\n", path, cm_strerror(rc));
        return rc;
    }
    catalog_update u = {0};
    *n = 0;
    *bytes = 0;
    while ((rc = catalog_next(r, &u)) == 1) {
        (*n)++;
        *bytes += u.xml_len;
    }
    if (rc < 0)
        fprintf(stderr, "catalog_bench: %s at %s: %s\n", path, catalog_last_source(r),
                cm_strerror(rc));
    catalog_update_clear(&u);
    catalog_close(r);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"updates", required_argument, NULL, 'n'},
                                         {"languages", required_argument, NULL, 'l'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    long updates = 100000;
    const char *langs = "de", *base = getenv("TMPDIR");
    unsigned long long seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "n:l:s:d:", opts, NULL)) != -1) {
        if (c == 'n')
            updates = atol(optarg);
        else if (c == 'l')
            langs = optarg;
        else if (c == 's')
            seed = strtoull(optarg, NULL, 10);
        else if (c == 'd')
            base = optarg;
        else
            return 2;
    }
    char work[4096], dir[4200], cab[4200], cmd[8500];
    snprintf(work, sizeof work, "%s/catalog-bench.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/catalog", work);
    snprintf(cab, sizeof cab, "%s/wsusscn2.cab", work);
    int rc = 0;
    catalog_gen_stats st = {0};
    catalog_gen_options o = {
        .out = dir, .updates = updates, .seed = seed, .languages = langs, .stats = &st};

    printf("catalog: %ld updates, languages en,%s, seed %llu\n", updates, langs, seed);
    double t0 = now();
    if ((rc = catalog_generate(&o)) == 0) {
        double t = now() - t0;
        printf("generate directory: %.2f s, %.0f updates/s, %.1f MB of update XML\n", t,
               (double)(st.categories + st.updates) / t, (double)st.bytes / 1e6);
    }
    o.out = cab;
    t0 = now();
    if (!rc && (rc = catalog_generate(&o)) == 0) {
        double t = now() - t0;
        printf("generate cab:       %.2f s, %.0f updates/s\n", t,
               (double)(st.categories + st.updates) / t);
    }
    long n;
    unsigned long long bytes;
    t0 = now();
    if (!rc && (rc = read_all(dir, &n, &bytes)) == 0) {
        double t = now() - t0;
        printf("read directory:     %.2f s, %.0f updates/s (%ld updates)\n", t, (double)n / t, n);
    }
    t0 = now();
    if (!rc && (rc = read_all(cab, &n, &bytes)) == 0) {
        double t = now() - t0;
        printf("read cab:           %.2f s, %.0f updates/s (%ld updates)\n", t, (double)n / t, n);
    }
    printf("peak memory (RSS):  %.1f MB\n", (double)peak_rss_kb() / 1024.0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (system(cmd) != 0)
        fprintf(stderr, "catalog_bench: could not remove %s\n", work);
    return rc ? 1 : 0;
}
