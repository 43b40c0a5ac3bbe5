/*
 * bulk.h - many rows per statement for the site-database phase.
 *
 * A sync writes around ten rows per update; one statement per row costs a
 * driver round trip each (and the SQLite ODBC driver parses the statement
 * again at every execution).  A bulk writer collects rows as one JSON
 * array and hands it to a single statement as one bound parameter, which
 * the database unpacks itself:
 *   SQLite      INSERT INTO T (A, B) SELECT json_extract(value, '$[0]'), ... FROM json_each(?)
 *   PostgreSQL  INSERT INTO T (A, B) SELECT CAST(x->>0 AS BIGINT), ... FROM
 *               jsonb_array_elements(CAST(? AS jsonb)) x
 * so the SQL text is fixed and every value is still a bound parameter, never
 * SQL.  Other dialects get one plain statement per row.  Rows are written
 * in the order they were added; a group goes out when it is large enough
 * and at bulk_flush().
 */
#ifndef WSYNCMGR_BULK_H
#define WSYNCMGR_BULK_H

#include <stddef.h>

#include "db.h"

#define BULK_MAX_COLS 16
#define BULK_MAX_ROWS 1000        /* rows per statement */
#define BULK_MAX_BYTES (8u << 20) /* JSON text per statement (a group may exceed it by a row) */

typedef struct bulk {
    db *d;
    db_stmt *st;
    int json; /* 1: the JSON form; 0: one statement per row */
    int list; /* a list of values rather than rows of columns */
    int ncols;
    char types[BULK_MAX_COLS + 1]; /* per column: i integer, t text, d date/time */
    char *buf;                     /* the JSON array being built (or the current row's values) */
    size_t len, cap;
    int rows, col;
    long long total; /* rows written */
    int err;         /* sticky: the first failure */
    /* Plain form: the values of the current row. */
    int kind[BULK_MAX_COLS];
    long long iv[BULK_MAX_COLS];
    char *sv[BULK_MAX_COLS];
} bulk;

/*
 * An INSERT writer: table, its comma-separated columns, and one type letter
 * per column ("itd": integer, text, date/time as 'YYYY-MM-DD HH:MM:SS').
 */
int bulk_insert_init(bulk *b, db *d, const char *table, const char *columns, const char *types);
/*
 * A writer of integer lists: the statement is prefix + <a subquery that
 * yields the values> + suffix, e.g. "DELETE FROM T WHERE CI_ID IN (" ... ")".
 */
int bulk_list_init(bulk *b, db *d, const char *prefix, const char *suffix);
/* Values of the current row, left to right; the row is complete after ncols values. */
int bulk_int(bulk *b, long long v);
int bulk_text(bulk *b, const char *v); /* NULL writes SQL NULL */
int bulk_null(bulk *b);
/* Write every row still pending. */
int bulk_flush(bulk *b);
void bulk_free(bulk *b);

#endif
