/*
 * catalog.c - cmsite catalog: the offline update catalogs wsusd can sync
 * from.  "generate" writes a synthetic catalog (components/catalog_gen.h)
 * as a directory of update XML documents or as a wsusscn2-style cab;
 * "check" reads one (components/catalog.h) the way wsusd imports it and
 * prints what it holds, so a catalog can be verified before a sync.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_gen.h"
#include "cm_error.h"
#include "cmsite.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cmsite catalog generate --out DIR|FILE.cab [--updates N] [--seed S]\n"
            "                               [--languages en,de,...] [--format dir|cab]\n"
            "       cmsite catalog check PATH [--list]\n"
            "  generate: a synthetic catalog in the MS-WSUSSS update XML format, the same\n"
            "    for the same options: companies, product families, products and\n"
            "    classifications, then N updates (default 1000, at most %d) with KB\n"
            "    articles, localized titles, supersedence, bundles, expired updates and\n"
            "    revisions.  A path ending in .cab gets the wsusscn2.cab layout, anything\n"
            "    else a new (or empty) directory of update documents.\n"
            "  check: read a catalog (directory or cab) as wsusd imports it and print\n"
            "    its counts; --list prints one line per update.  Exit status 1 when the\n"
            "    catalog is refused (the reason and the place go to standard error).\n",
            CATALOG_GEN_MAX_UPDATES);
}

static int parse_long(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int generate(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"updates", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"languages", required_argument, NULL, 'l'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    catalog_gen_stats st = {0};
    catalog_gen_options o = {.updates = 1000, .seed = 1, .stats = &st};
    long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:s:l:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out = optarg;
            break;
        case 'n':
            if (parse_long(optarg, 0, CATALOG_GEN_MAX_UPDATES, &v)) {
                fprintf(stderr, "cmsite catalog: --updates must be 0..%d\n",
                        CATALOG_GEN_MAX_UPDATES);
                return 2;
            }
            o.updates = (long)v;
            break;
        case 's':
            if (parse_long(optarg, 0, INT64_MAX, &v)) {
                fprintf(stderr, "cmsite catalog: --seed must be a non-negative integer\n");
                return 2;
            }
            o.seed = (uint64_t)v;
            break;
        case 'l':
            o.languages = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "dir") == 0) {
                o.format = CATALOG_GEN_DIR;
            } else if (strcmp(optarg, "cab") == 0) {
                o.format = CATALOG_GEN_CAB;
            } else {
                fprintf(stderr, "cmsite catalog: --format is dir or cab\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.out || optind != argc) {
        usage(stderr);
        return 2;
    }
    int rc = catalog_generate(&o);
    if (rc) {
        fprintf(stderr, "cmsite catalog: cannot generate %s: %s\n", o.out,
                rc == CM_ENAME ? "the directory exists and is not empty, or the path is not usable"
                               : cm_strerror(rc));
        return rc == CM_ERANGE ? 2 : 1;
    }
    printf("%s: %ld categories, %ld updates (%ld bundles, %ld superseding, %ld expired, %ld "
           "revised, %ld files), %llu bytes of update XML\n",
           o.out, st.categories, st.updates, st.bundles, st.superseding, st.expired, st.revised,
           st.files, st.bytes);
    return 0;
}

static int check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"list", no_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int list = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "lh", opts, NULL)) != -1) {
        if (c == 'l') {
            list = 1;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    catalog_reader *r;
    int rc = catalog_open(&r, path);
    if (rc) {
        fprintf(stderr, "cmsite catalog: cannot read %s: %s\n", path, cm_strerror(rc));
        return 1;
    }
    catalog_update u = {0};
    long counts[4] = {0}, cats[5] = {0}, expired = 0, urls = 0;
    unsigned long long bytes = 0;
    while ((rc = catalog_next(r, &u)) == 1) {
        counts[u.parsed.type]++;
        cats[u.category_type]++;
        expired += u.parsed.expired;
        urls += (long)u.nurls;
        bytes += u.xml_len;
        if (list) {
            const char *title = updxml_title(&u.parsed, "en");
            printf("%s %d %s%s%s %s\n", u.update_id, u.revision, updxml_type_name(u.parsed.type),
                   u.is_category ? "/" : "",
                   u.is_category ? updxml_category_type_name(u.category_type) : "",
                   title ? title : "");
        }
    }
    if (rc < 0)
        fprintf(stderr, "cmsite catalog: %s refused at %s: %s\n", path, catalog_last_source(r),
                cm_strerror(rc));
    else
        printf("%s: %s, %ld categories (%ld companies, %ld product families, %ld products, %ld "
               "classifications), %ld software, %ld driver, %ld detectoid updates, %ld expired, "
               "%ld file locations, %llu bytes\n",
               path, catalog_reader_kind(r) == CATALOG_CAB ? "cab" : "directory",
               counts[UPDXML_TYPE_CATEGORY], cats[UPDXML_CAT_COMPANY],
               cats[UPDXML_CAT_PRODUCT_FAMILY], cats[UPDXML_CAT_PRODUCT],
               cats[UPDXML_CAT_UPDATE_CLASSIFICATION], counts[UPDXML_TYPE_SOFTWARE],
               counts[UPDXML_TYPE_DRIVER], counts[UPDXML_TYPE_DETECTOID], expired, urls, bytes);
    catalog_update_clear(&u);
    catalog_close(r);
    return rc < 0 ? 1 : 0;
}

int cmd_catalog(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "generate") == 0)
        return generate(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return check(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
