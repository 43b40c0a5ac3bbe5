/*
 * db.h - the site database through unixODBC.
 *
 * Every statement is prepared and every value is a bound parameter; no SQL
 * is ever assembled from data.  A connection knows its dialect (SQLite,
 * PostgreSQL or SQL Server) so the few callers that must differ can ask.
 * When the server goes away, calls fail with CM_EDBCONN and the caller
 * decides when to call db_reconnect() (the daemon loop does it with
 * backoff).  The library never logs; db_errmsg() holds the last diagnostic.
 */
#ifndef CM_DB_H
#define CM_DB_H

#include <stddef.h>

typedef enum {
    DB_DIALECT_SQLITE,
    DB_DIALECT_POSTGRES,
    DB_DIALECT_MSSQL,
    DB_DIALECT_OTHER
} db_dialect;

typedef struct db db;
typedef struct db_stmt db_stmt;

/* An optional hook that sees every statement text before it runs (SQL tracing). */
typedef void (*db_trace_fn)(void *ud, const char *sql);

/*
 * Connect with an ODBC connection string ("Driver=SQLite3;Database=...")
 * or a bare DSN name.  On failure *out is still set (so db_errmsg() can say
 * why) and must be closed with db_close().
 */
int db_open(db **out, const char *connstr);
void db_close(db *d);
int db_reconnect(db *d);

db_dialect db_get_dialect(const db *d);
const char *db_dialect_name(db_dialect dialect);
const char *db_errmsg(const db *d);
void db_set_trace(db *d, db_trace_fn fn, void *ud);

/* Transactions; without db_begin() every statement commits by itself. */
int db_begin(db *d);
int db_commit(db *d);
int db_rollback(db *d);

/* Run one statement without parameters (DDL, PRAGMA). */
int db_exec(db *d, const char *sql);

/*
 * Run a script of statements separated by lines that hold only "GO" (the
 * SQL Server batch separator, used by every dialect's files here so that
 * trigger bodies may contain semicolons).
 */
int db_exec_script(db *d, const char *script);

/*
 * Prepared statements.  Parameters are numbered from 1; values are copied
 * at bind time.  db_step() executes on its first call after prepare or
 * reset and returns 1 while a row is available, 0 at the end, or a
 * negative code.  Column numbers start at 0; a text column stays valid
 * until the next db_step().
 */
int db_prepare(db *d, db_stmt **out, const char *sql);
/*
 * Like db_prepare, for a statement text run many times: db_finalize hands
 * it back to a small per-connection cache, and the next db_prepare_cached
 * of the same text reuses it without compiling it again.
 */
int db_prepare_cached(db *d, db_stmt **out, const char *sql);
/*
 * "<head>(?,?,...)<tail>" with n markers in buf: a statement whose text
 * depends on a count, never on data.  0, or CM_ETOOBIG when it does not fit.
 */
int db_in_list_sql(char *buf, size_t len, const char *head, size_t n, const char *tail);
int db_bind_int(db_stmt *s, int idx, long long v);
int db_bind_text(db_stmt *s, int idx, const char *v); /* NULL binds SQL NULL */
int db_bind_null(db_stmt *s, int idx);
int db_step(db_stmt *s);
int db_reset(db_stmt *s);
long long db_changes(const db_stmt *s);
int db_col_is_null(db_stmt *s, int col);
long long db_col_int(db_stmt *s, int col);
const char *db_col_text(db_stmt *s, int col); /* "" for NULL */
/* The length of db_col_text() as the driver reported it (its strlen unless the value holds a NUL).
 */
size_t db_col_len(db_stmt *s, int col);
void db_finalize(db_stmt *s);

/* Convenience: run a one-row, one-column query with up to two text
 * parameters (NULL for none) and return its integer value. */
int db_query_int(db *d, const char *sql, const char *p1, const char *p2, long long *out);

/*
 * For bulk writers that bind arrays of parameters themselves (statesys
 * writes many rows per statement): the connection's ODBC handle (an
 * SQLHDBC; NULL when not connected), valid until db_reconnect() or
 * db_close(), and the classification of a failed ODBC call made on it or on
 * a statement allocated from it: records db_errmsg() and returns CM_EDBCONN
 * for a lost connection, CM_EDB otherwise.  handle_type is an SQL_HANDLE_*.
 */
void *db_native_handle(db *d);
int db_native_error(db *d, int handle_type, void *handle, const char *what);

#endif
