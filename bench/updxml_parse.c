/*
 * updxml_parse.c - the CPU time of reading one update document with the
 * tree parser (updxml_parse) and with the fields-only SAX2 parser
 * (updxml_parse_fields, what wsyncmgr uses), on the same generated
 * documents in the same run.  Prints figures; asserts nothing about speed.
 *
 *   updxml_parse_bench [--updates N] [--languages en,de] [--seed S] [--rounds R]
 *
 * The documents (categories and updates from catalog_gen_each, written
 * with updxml_write) are generated in memory first.  Each round parses all
 * of them with one parser and then the other, alternating which goes
 * first so neither always finds the other's memory warm; each document is
 * parsed and its result freed before the next, and the figure is CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) per document.  The best round of each parser
 * is the one least disturbed by whatever else the machine runs.  A
 * document either parser refuses makes the run fail: figures for parses
 * that failed would mean nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog_gen.h"
#include "cm_error.h"
#include "updxml.h"

/* All documents in one buffer, one after the other. */
typedef struct docs {
    char *buf;
    size_t used, cap;
    size_t *off, *len;
    long n, ncap;
} docs;

static int add_doc(void *ud, const updxml_update *u, long long rid)
{
    (void)rid;
    docs *d = ud;
    char *xml;
    size_t len;
    int rc = updxml_write(u, &xml, &len);
    if (rc)
        return rc;
    if (d->used + len > d->cap) {
        size_t cap = d->cap ? d->cap : 1 << 24;
        while (d->used + len > cap)
            cap *= 2;
        char *b = realloc(d->buf, cap);
        if (!b)
            rc = -1;
        else
            d->buf = b, d->cap = cap;
    }
    if (!rc && d->n == d->ncap) {
        long ncap = d->ncap ? 2 * d->ncap : 4096;
        size_t *off = realloc(d->off, (size_t)ncap * sizeof *off);
        if (off)
            d->off = off;
        size_t *ln = off ? realloc(d->len, (size_t)ncap * sizeof *ln) : NULL;
        if (ln)
            d->len = ln, d->ncap = ncap;
        else
            rc = -1;
    }
    if (!rc) {
        memcpy(d->buf + d->used, xml, len);
        d->off[d->n] = d->used;
        d->len[d->n++] = len;
        d->used += len;
    }
    free(xml);
    return rc;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*parse_fn)(const char *, size_t, updxml_update *);

/* CPU seconds to parse and free every document; *failed counts refusals. */
static double parse_all(const docs *d, parse_fn parse, long *failed)
{
    double t0 = cpu_now();
    for (long i = 0; i < d->n; i++) {
        updxml_update u;
        if (parse(d->buf + d->off[i], d->len[i], &u) != 0)
            (*failed)++;
        updxml_free(&u);
    }
    return cpu_now() - t0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"updates", required_argument, NULL, 'n'},
                                         {"languages", required_argument, NULL, 'l'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    /* "en" as bench/sync.c generates its catalog: what the 12.5 us of the sync was measured on. */
    long updates = 100000, rounds = 3;
    const char *langs = "en";
    unsigned long long seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "n:l:s:r:", opts, NULL)) != -1) {
        if (c == 'n')
            updates = atol(optarg);
        else if (c == 'l')
            langs = optarg;
        else if (c == 's')
            seed = strtoull(optarg, NULL, 10);
        else if (c == 'r')
            rounds = atol(optarg);
        else
            return 2;
    }
    if (rounds < 1)
        rounds = 1;

    docs d = {0};
    catalog_gen_options o = {.updates = updates, .seed = seed, .languages = langs};
    int rc = catalog_gen_each(&o, add_doc, &d);
    if (rc) {
        fprintf(stderr, "updxml_parse_bench: generating: %s\n",
                rc == -1 ? "out of memory" : cm_strerror(rc));
        return 1;
    }
    printf("documents: %ld (%ld updates and their categories), languages %s, seed %llu, "
           "%.0f bytes each on average\n",
           d.n, updates, langs, seed, (double)d.used / (double)(d.n ? d.n : 1));

    double best_tree = 0, best_fields = 0;
    long failed_tree = 0, failed_fields = 0;
    for (long r = 0; r < rounds; r++) {
        double tree, fields;
        if (r % 2 == 0) {
            tree = parse_all(&d, updxml_parse, &failed_tree);
            fields = parse_all(&d, updxml_parse_fields, &failed_fields);
        } else {
            fields = parse_all(&d, updxml_parse_fields, &failed_fields);
            tree = parse_all(&d, updxml_parse, &failed_tree);
        }
        printf("round %ld: updxml_parse %.2f us/doc, updxml_parse_fields %.2f us/doc, ratio %.2f\n",
               r + 1, tree / (double)d.n * 1e6, fields / (double)d.n * 1e6, tree / fields);
        if (r == 0 || tree < best_tree)
            best_tree = tree;
        if (r == 0 || fields < best_fields)
            best_fields = fields;
    }
    printf("best:    updxml_parse %.2f us/doc, updxml_parse_fields %.2f us/doc, ratio %.2f\n",
           best_tree / (double)d.n * 1e6, best_fields / (double)d.n * 1e6, best_tree / best_fields);
    free(d.buf);
    free(d.off);
    free(d.len);
    if (failed_tree || failed_fields) {
        fprintf(stderr,
                "updxml_parse_bench: refused documents: updxml_parse %ld, "
                "updxml_parse_fields %ld\n",
                failed_tree, failed_fields);
        return 1;
    }
    return 0;
}
