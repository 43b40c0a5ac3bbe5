/*
 * catalog.h - reading an offline update catalog as a stream, for wsusd's
 * "sync from the offline catalog": a wsusscn2.cab, or a directory of update
 * XML documents (one <upd:Update> document per file, *.xml).
 *
 * The wsusscn2.cab form: the outer cab holds index.xml (the CABLIST that
 * maps RevisionId ranges to packageN.cab), package.cab (holding package.xml,
 * the OfflineSyncPackage: one <Update> entry per revision with its
 * categories, and the FileLocations table), and package2.cab..packageN.cab
 * holding the per-revision XML fragments in c/<RevisionId> (core),
 * x/<RevisionId> (extended: properties and files) and
 * l/<language>/<RevisionId> (localized properties).  The reader stitches
 * the fragments of one revision back into one complete update document.
 *
 * Order: every category first, each after the categories it names as
 * parents (companies, product families, products, classifications; ties in
 * source order), then the other updates in the source's order (RevisionId
 * order for a cab, byte order of the file names for a directory; the
 * generator puts bundled updates before their bundles).  A cab's categories
 * are found through package.xml: what some update names in <Categories>,
 * and entries without payload that are not bundles (checked in their core
 * fragment; a detectoid goes back to its place in the stream).
 *
 * The directory form hands back each document as stored (validated by a
 * parse); the cab form stitches the fragments of a revision into one
 * document and hands back its canonical form (updxml_write), so a
 * generated catalog gives byte-identical streams in both forms.  File
 * download URLs come from package.xml's FileLocations (cab form only).
 *
 * Memory: the reader keeps the categories and the index of the source (file
 * names, or package.xml's revision list and FileLocations: about 0.4 KB per
 * update), never the catalog's update documents; the cab form extracts one
 * packageN.cab at a time to a private folder under $TMPDIR (or /tmp) that
 * catalog_close removes.
 *
 * Bad input: names with '/', '\\' or '..' components where the format does
 * not allow them, absolute names, cabs that fail their checks, fragments
 * that are not XML, all give CM_EPARSE (or CM_ENAME for names) and never
 * write outside the reader's temporary folder.
 */
#ifndef CM_CATALOG_H
#define CM_CATALOG_H

#include <stddef.h>

#include "updxml.h"

typedef struct catalog_reader catalog_reader;

typedef enum catalog_kind {
    CATALOG_DIR = 1, /* a directory of update XML documents */
    CATALOG_CAB = 2  /* a wsusscn2-style cab */
} catalog_kind;

/* Where one of the update's files can be downloaded (FileLocations). */
typedef struct catalog_file_url {
    char digest[UPDXML_DIGEST_SIZE]; /* base64 SHA-1, as in the update's <File Digest=> */
    char *url;
} catalog_file_url;

/* One update of the stream.  Owned by the caller; see catalog_next. */
typedef struct catalog_update {
    char update_id[UPDXML_GUID_SIZE]; /* lower case */
    int revision;                     /* RevisionNumber */
    long long revision_id;            /* package.xml RevisionId; 0 from a directory */
    int is_category;
    updxml_category_type category_type; /* UPDXML_CAT_NONE unless a category */
    char *xml;                          /* the complete update document, NUL-terminated */
    size_t xml_len;                     /* without the NUL */
    size_t nurls; /* download locations of its files, when the source has them */
    catalog_file_url *urls;
    updxml_update parsed; /* the same document, parsed (the reader validates every one) */
} catalog_update;

/*
 * Open path: a directory, or a cab file (recognised by its MSCF signature,
 * whatever its name).  CM_ENOTFOUND when it does not exist, CM_EPARSE when
 * it is neither or is corrupt.
 */
int catalog_open(catalog_reader **out, const char *path);
catalog_kind catalog_reader_kind(const catalog_reader *r);
/* Updates (categories included) the source says it holds, known after open. */
size_t catalog_count(const catalog_reader *r);
/*
 * The next update: 1 and *u filled, 0 at the end, or a negative code.  u
 * must be zeroed before the first call; each call releases what u held
 * before, and catalog_update_clear releases the last one.  After an error
 * the stream stops (later calls return the same error).
 */
int catalog_next(catalog_reader *r, catalog_update *u);
void catalog_update_clear(catalog_update *u);
/*
 * What the last catalog_next was reading, for the caller's
 * log line: a file name of the directory, or "package3.cab:c/1234", or "".
 */
const char *catalog_last_source(const catalog_reader *r);
void catalog_close(catalog_reader *r);

#endif
