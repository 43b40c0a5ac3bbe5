/*
 * bulk.h - many rows per prepared statement: the writers of the state
 * system (state messages) and of the WSUS synchronization manager (update
 * metadata as configuration items).
 *
 * One INSERT ... VALUES (?, ...), (?, ...), ... [ON CONFLICT ...] with a
 * fixed number of rows, prepared once on the writer's connection, its
 * parameters bound once to buffers owned here, and executed each time the
 * buffers are full.  This is what lets statesys write ~100,000 rows a second
 * through ODBC, and a sync write an update's dozen rows in microseconds: a statement per row costs
 * a driver round trip per row (a network round trip on PostgreSQL), and rebinding per execution
 * costs as much again.  Every value is still a bound parameter.
 *
 * The caller owns the transaction; a bulk never commits.  On a lost
 * connection, close every bulk before db_reconnect() (their statements
 * belong to the old connection) and open them again after.
 */
#ifndef CM_BULK_H
#define CM_BULK_H

#include <stddef.h>

#include "db.h"

typedef enum { BULK_INT, BULK_TEXT } bulk_type;

typedef struct bulk_col {
    bulk_type type;
    /*
     * BULK_TEXT: the longest value in bytes (the column's size), or 0 for no
     * limit (a buffer per row that grows with its value, bound again at each
     * execution: for large documents such as an update's XML).
     */
    size_t maxlen;
} bulk_col;

typedef struct bulk bulk;

/*
 * head: "INSERT INTO T (a, b, c) VALUES", tail: "" or " ON CONFLICT ...".
 * The row placeholders "(?, ?, ?)" are generated from ncols.  rows is the
 * number of rows per execution.
 */
int bulk_open(db *d, bulk **out, const char *head, const char *tail, const bulk_col *cols,
              int ncols, int rows);
/*
 * The same with flags: BULK_PLAIN sends the statement exactly as given (on
 * SQLite, without the prefix that keeps it compiled; see bulk.c), which is
 * how the benchmark measures what a plain ODBC program gets.
 */
#define BULK_PLAIN 1
int bulk_open_flags(db *d, bulk **out, const char *head, const char *tail, const bulk_col *cols,
                    int ncols, int rows, unsigned flags);
void bulk_close(bulk *b);

/* Set a column of the row being built (columns from 0). */
int bulk_int(bulk *b, int col, long long v);
int bulk_text(bulk *b, int col, const char *v); /* NULL is SQL NULL; too long: CM_ETOOBIG */
/* len bytes of v, which need not end in a NUL (and must not contain one). */
int bulk_text_len(bulk *b, int col, const char *v, size_t len);
int bulk_null(bulk *b, int col);
/* The row is complete: executes when the buffers are full. */
int bulk_row(bulk *b);
/* Execute the rows pending (a statement of the exact count). */
int bulk_flush(bulk *b);
/* Forget the rows pending (after a rollback). */
void bulk_discard(bulk *b);
/* Rows passed to the database since open (executed, not necessarily committed). */
long long bulk_rows_written(const bulk *b);

#endif
