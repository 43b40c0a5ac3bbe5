/*
 * bulk.h - many rows per statement for the site-database phase.
 *
 * A sync writes around ten rows per update; one statement per row costs a
 * driver round trip each.  A bulk writer collects rows and runs one
 * multi-row statement per group ("INSERT ... VALUES (?,?),(?,?),..." or
 * "DELETE ... WHERE CI_ID IN (?,?,...)"), as many rows as fit in the
 * parameter limit of db.c, and the rest one statement per row at flush.
 * Values are always bound parameters.  Rows are written in the order they
 * were added.
 */
#ifndef WSYNCMGR_BULK_H
#define WSYNCMGR_BULK_H

#include "db.h"

#define BULK_MAX_PARAMS 64 /* db.c binds at most this many parameters */

typedef struct bulk_value {
    int kind; /* 1 integer, 2 text, 3 NULL */
    long long iv;
    char *text;
} bulk_value;

typedef struct bulk {
    db *d;
    char *prefix, *row, *sep, *suffix;
    int ncols;
    int per_stmt; /* rows of the multi-row statement */
    db_stmt *multi;
    bulk_value vals[BULK_MAX_PARAMS]; /* the group being collected */
    int nvals;
    long long total; /* rows written */
    int err;         /* sticky: the first failure */
} bulk;

/*
 * Prepare a writer.  The statement is prefix + row (sep row)* + suffix;
 * row holds ncols '?' markers.  E.g. bulk_init(b, d, "INSERT INTO T (A, B)
 * VALUES ", "(?, ?)", ", ", "", 2).  Returns 0 or a negative code.
 */
int bulk_init(bulk *b, db *d, const char *prefix, const char *row, const char *sep,
              const char *suffix, int ncols);
/* Values of the current row, left to right; the row is written when complete. */
int bulk_int(bulk *b, long long v);
int bulk_text(bulk *b, const char *v); /* NULL binds SQL NULL */
int bulk_null(bulk *b);
/* Write every row still pending. */
int bulk_flush(bulk *b);
void bulk_free(bulk *b);

#endif
