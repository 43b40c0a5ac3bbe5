/*
 * catalog_gen.h - the synthetic update catalog generator: companies,
 * product families, products and classifications (the real well-known
 * classification GUIDs and a few real products, plus synthetic ones), then
 * software updates with KB numbers, titles in several languages, MSRC
 * severities, supersedence chains, bundles, expired updates and later
 * revisions, all in the MS-WSUSSS update XML format (updxml.h).
 *
 * Deterministic: the same options give byte-identical output, on any
 * machine (the generator has its own PRNG and fixed dates).  Any size up to
 * CATALOG_GEN_MAX_UPDATES, generated as a stream: memory does not grow with
 * the catalog beyond a few bytes per update.
 *
 * Output forms, both read back by catalog.h to the same stream: a
 * directory of update XML documents named NNNNNNN-<update id>.xml (the
 * number is the stream position, so name order is stream order), or a
 * wsusscn2-style cab: index.xml, package.cab holding package.xml (one
 * <Update> entry per revision, RevisionId = stream position, and the
 * FileLocations), package2.cab, package3.cab... holding the c/<RevisionId>,
 * x/<RevisionId> and l/<language>/<RevisionId> fragments, at most 60,000
 * files each.  Cabs are written uncompressed (cabwrite.h), which every CAB
 * reader accepts.  File URLs point under CATALOG_GEN_URL_BASE.
 */
#ifndef CM_CATALOG_GEN_H
#define CM_CATALOG_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "updxml.h"

#define CATALOG_GEN_MAX_UPDATES 200000

typedef enum catalog_gen_format {
    CATALOG_GEN_AUTO = 0, /* a path ending in ".cab" (any case) is a cab, else a directory */
    CATALOG_GEN_DIR,
    CATALOG_GEN_CAB
} catalog_gen_format;

typedef struct catalog_gen_options {
    const char *out;           /* directory (created; must be empty or absent) or cab file */
    catalog_gen_format format; /* CATALOG_GEN_AUTO by default */
    long updates;              /* non-category updates, 0..CATALOG_GEN_MAX_UPDATES */
    uint64_t seed;
    const char *languages; /* "en,de,fr"; NULL or "" means "en"; "en" is always included */
    struct catalog_gen_stats *stats; /* optional: filled with what was generated */
} catalog_gen_options;

/* What a generation produced. */
typedef struct catalog_gen_stats {
    long categories;
    long updates; /* non-category updates */
    long bundles;
    long superseding; /* updates that supersede at least one other */
    long expired;
    long revised; /* updates at a revision above the first */
    long files;
    unsigned long long bytes; /* update XML bytes generated */
} catalog_gen_stats;

/*
 * Called once per generated update, in stream order (categories first,
 * parents before children; bundled updates before their bundles).  u is
 * valid during the call only.  revision_id is the update's position + 1 in
 * the stream (the wsusscn2 RevisionId).  Returning non-zero stops the
 * generation with that value.
 */
typedef int (*catalog_gen_fn)(void *ud, const updxml_update *u, long long revision_id);

/* Generate without writing anything: the stream every writer uses. */
int catalog_gen_each(const catalog_gen_options *o, catalog_gen_fn fn, void *ud);
/*
 * Write the catalog to o->out.  0, or CM_ERANGE (size or languages out of
 * range), CM_ENAME (bad output path, or a non-empty directory), -errno.
 * A cab is written to a temporary name beside it and renamed into place.
 */
int catalog_generate(const catalog_gen_options *o);

/* The base URL generated files point at (a path under wsusd's own content). */
#define CATALOG_GEN_URL_BASE "http://localhost:8530/Content/"

#endif
