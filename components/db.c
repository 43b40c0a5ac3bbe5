/*
 * db.c - the site database through unixODBC.
 *
 * A thin layer over the ODBC 3 API: connect by connection string or DSN,
 * prepared statements whose values are always bound parameters, explicit
 * transactions, and the detection of a lost connection (SQLSTATE class 08
 * and the server-shutdown states) so callers can reconnect.  Column values
 * are fetched as text with SQLGetData, which every driver supports for every
 * type and which keeps the callers independent of the dialect's types.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#include "cm_error.h"
#include "db.h"

#define DB_ERRMSG_MAX 1024
#define DB_MAX_PARAMS 128
#define DB_MAX_COLS 64
#define DB_CACHE 8 /* statements db_prepare_cached() keeps per connection */

struct db {
    SQLHENV env;
    SQLHDBC dbc;
    char *connstr;
    db_dialect dialect;
    int connected;
    int in_tx;
    unsigned generation; /* bumped on every reconnect; stale statements fail */
    db_trace_fn trace;
    void *trace_ud;
    db_stmt *cache[DB_CACHE];
    unsigned cache_next; /* the slot a full cache gives up next */
    char errmsg[DB_ERRMSG_MAX];
};

typedef struct db_param {
    int kind; /* 0 unset, 1 int, 2 text, 3 null */
    long long iv;
    char *sv;
    SQLLEN ind;
} db_param;

typedef struct db_col {
    char *buf;
    size_t cap, len; /* len: bytes of the value, without the NUL */
    int is_null;
} db_col;

struct db_stmt {
    db *d;
    SQLHSTMT h;
    unsigned generation;
    int executed;
    int nparams;
    db_param params[DB_MAX_PARAMS];
    SQLSMALLINT ncols;
    db_col cols[DB_MAX_COLS];
    long long changes;
    char *cache_sql; /* set while the connection's cache holds it */
    int in_use;      /* cached: handed out and not finalized yet */
};

static void stmt_free(db_stmt *s);

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

/*
 * Collect the driver's diagnostic records into d->errmsg and classify them:
 * returns CM_EDBCONN for a lost connection, CM_EDB otherwise.
 */
static int db_diag(db *d, SQLSMALLINT type, SQLHANDLE h, const char *what)
{
    SQLCHAR state[6], text[512];
    SQLINTEGER native;
    SQLSMALLINT textlen;
    int lost = 0;
    size_t off = 0;

    off = (size_t)snprintf(d->errmsg, sizeof d->errmsg, "%s failed", what);
    for (SQLSMALLINT i = 1; i < 8; i++) {
        SQLRETURN rc = SQLGetDiagRec(type, h, i, state, &native, text, sizeof text, &textlen);
        if (!SQL_SUCCEEDED(rc))
            break;
        if (off < sizeof d->errmsg)
            off += (size_t)snprintf(d->errmsg + off, sizeof d->errmsg - off, ": [%s] %s",
                                    (char *)state, (char *)text);
        /*
         * Class 08 is "connection exception"; 57P0x are PostgreSQL's
         * shutdown states; HYT01 is a connection timeout.  psqlODBC reports
         * a server that went away mid-session as 08S01, sometimes wrapped in
         * HY000 with the libpq text, which is matched below.
         */
        if (strncmp((char *)state, "08", 2) == 0 || strncmp((char *)state, "57P0", 4) == 0 ||
            strcmp((char *)state, "HYT01") == 0)
            lost = 1;
        if (strstr((char *)text, "server closed the connection") ||
            strstr((char *)text, "no connection to the server") ||
            strstr((char *)text, "could not send data") ||
            strstr((char *)text, "Connection refused") ||
            strstr((char *)text, "terminating connection"))
            lost = 1;
    }
    if (lost)
        d->connected = 0;
    return lost ? CM_EDBCONN : CM_EDB;
}

const char *db_errmsg(const db *d)
{
    return d ? d->errmsg : "no database handle";
}

const char *db_dialect_name(db_dialect dialect)
{
    switch (dialect) {
    case DB_DIALECT_SQLITE:
        return "sqlite";
    case DB_DIALECT_POSTGRES:
        return "postgresql";
    case DB_DIALECT_MSSQL:
        return "sqlserver";
    default:
        return "other";
    }
}

db_dialect db_get_dialect(const db *d)
{
    return d->dialect;
}

void db_set_trace(db *d, db_trace_fn fn, void *ud)
{
    d->trace = fn;
    d->trace_ud = ud;
}

static void db_traced(db *d, const char *sql)
{
    if (d->trace)
        d->trace(d->trace_ud, sql);
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

static void db_disconnect(db *d)
{
    if (d->dbc) {
        if (d->connected)
            SQLDisconnect(d->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, d->dbc);
        d->dbc = NULL;
    }
    d->connected = 0;
    d->in_tx = 0;
}

static int db_exec_quiet(db *d, const char *sql)
{
    SQLHSTMT h;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, d->dbc, &h)))
        return db_diag(d, SQL_HANDLE_DBC, d->dbc, "SQLAllocHandle");
    SQLRETURN rc = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    int ret = 0;
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        ret = db_diag(d, SQL_HANDLE_STMT, h, sql);
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    return ret;
}

static int db_connect(db *d)
{
    char full[4096];
    SQLCHAR dbms[128] = "";
    SQLSMALLINT outlen;
    int ret;

    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, d->env, &d->dbc))) {
        snprintf(d->errmsg, sizeof d->errmsg, "cannot allocate an ODBC connection handle");
        d->dbc = NULL;
        return CM_EDB;
    }
    /* A bare name is a DSN from odbc.ini; anything with '=' is a full string. */
    if (strchr(d->connstr, '='))
        snprintf(full, sizeof full, "%s", d->connstr);
    else
        snprintf(full, sizeof full, "DSN=%s", d->connstr);
    SQLSetConnectAttr(d->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)10, 0);
    SQLRETURN rc = SQLDriverConnect(d->dbc, NULL, (SQLCHAR *)full, SQL_NTS, NULL, 0, &outlen,
                                    SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
        db_diag(d, SQL_HANDLE_DBC, d->dbc, "connect");
        SQLFreeHandle(SQL_HANDLE_DBC, d->dbc);
        d->dbc = NULL;
        return CM_EDBCONN;
    }
    d->connected = 1;
    SQLGetInfo(d->dbc, SQL_DBMS_NAME, dbms, sizeof dbms, &outlen);
    if (strstr((char *)dbms, "SQLite"))
        d->dialect = DB_DIALECT_SQLITE;
    else if (strstr((char *)dbms, "PostgreSQL"))
        d->dialect = DB_DIALECT_POSTGRES;
    else if (strstr((char *)dbms, "SQL Server"))
        d->dialect = DB_DIALECT_MSSQL;
    else
        d->dialect = DB_DIALECT_OTHER;

    if (d->dialect == DB_DIALECT_SQLITE) {
        /*
         * Several daemons share one embedded database file: WAL lets readers
         * run beside the one writer, and the busy timeout makes a writer wait
         * for another instead of failing at once.  A new file gets 16 KB
         * pages first (the size can only be chosen before the first table
         * and before WAL; on an existing file the pragma does nothing): a
         * sync writes a few hundred megabytes of configuration items, and
         * with 4 KB pages it spent a fifth more CPU in page splits, page
         * cache and log writes (bench/sitedb_write).
         */
        if ((ret = db_exec_quiet(d, "PRAGMA page_size=16384")) < 0 ||
            (ret = db_exec_quiet(d, "PRAGMA journal_mode=WAL")) < 0 ||
            (ret = db_exec_quiet(d, "PRAGMA busy_timeout=30000")) < 0 ||
            (ret = db_exec_quiet(d, "PRAGMA foreign_keys=OFF")) < 0) {
            db_disconnect(d);
            return ret;
        }
    }
    d->errmsg[0] = '\0';
    return 0;
}

int db_open(db **out, const char *connstr)
{
    db *d = calloc(1, sizeof *d);
    *out = d;
    if (!d)
        return -12; /* -ENOMEM */
    d->connstr = strdup(connstr ? connstr : "");
    if (!d->connstr)
        return -12;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &d->env))) {
        d->env = NULL;
        snprintf(d->errmsg, sizeof d->errmsg, "cannot allocate the ODBC environment");
        return CM_EDB;
    }
    SQLSetEnvAttr(d->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    return db_connect(d);
}

int db_reconnect(db *d)
{
    db_disconnect(d);
    d->generation++;
    return db_connect(d);
}

void db_close(db *d)
{
    if (!d)
        return;
    for (int i = 0; i < DB_CACHE; i++)
        stmt_free(d->cache[i]);
    db_disconnect(d);
    if (d->env)
        SQLFreeHandle(SQL_HANDLE_ENV, d->env);
    free(d->connstr);
    free(d);
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */
/* ------------------------------------------------------------------ */

static int db_check_connected(db *d)
{
    if (!d->connected || !d->dbc) {
        snprintf(d->errmsg, sizeof d->errmsg, "not connected to the database");
        return CM_EDBCONN;
    }
    return 0;
}

int db_begin(db *d)
{
    int ret = db_check_connected(d);
    if (ret < 0)
        return ret;
    db_traced(d, "BEGIN TRANSACTION");
    if (!SQL_SUCCEEDED(
            SQLSetConnectAttr(d->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0)))
        return db_diag(d, SQL_HANDLE_DBC, d->dbc, "BEGIN");
    d->in_tx = 1;
    return 0;
}

static int db_end(db *d, SQLSMALLINT how, const char *what)
{
    int ret = db_check_connected(d);
    if (ret < 0)
        return ret;
    db_traced(d, what);
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, d->dbc, how)))
        ret = db_diag(d, SQL_HANDLE_DBC, d->dbc, what);
    if (d->connected)
        SQLSetConnectAttr(d->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0);
    d->in_tx = 0;
    return ret;
}

int db_commit(db *d)
{
    return db_end(d, SQL_COMMIT, "COMMIT");
}

int db_rollback(db *d)
{
    return db_end(d, SQL_ROLLBACK, "ROLLBACK");
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

int db_exec(db *d, const char *sql)
{
    int ret = db_check_connected(d);
    if (ret < 0)
        return ret;
    db_traced(d, sql);
    return db_exec_quiet(d, sql);
}

/* True when a batch holds something other than blanks and "--" comments. */
static int batch_has_sql(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (isspace((unsigned char)s[i])) {
            i++;
        } else if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else {
            return 1;
        }
    }
    return 0;
}

/* True when the line [s, s+n) is only "GO" with optional blanks. */
static int line_is_go(const char *s, size_t n)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    return n == 2 && toupper((unsigned char)s[0]) == 'G' && toupper((unsigned char)s[1]) == 'O';
}

/*
 * Copy a batch without its "--" comments.  Drivers scan statement text for
 * parameter markers and quotes themselves (the SQLite driver among them does
 * not know SQL comments), so an apostrophe in a comment would derail them.
 * Quoted literals ('' escapes included) are copied untouched.
 */
static char *strip_comments(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    int quoted = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!quoted && s[i] == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
            if (i < n)
                *o++ = '\n';
            continue;
        }
        if (s[i] == '\'')
            quoted = !quoted;
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static int db_exec_batch(db *d, const char *s, size_t n)
{
    if (!batch_has_sql(s, n))
        return 0;
    char *sql = strip_comments(s, n);
    if (!sql)
        return -12;
    int ret = db_exec(d, sql);
    free(sql);
    return ret;
}

int db_exec_script(db *d, const char *script)
{
    const char *batch = script, *p = script;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        if (line_is_go(p, linelen)) {
            int ret = db_exec_batch(d, batch, (size_t)(p - batch));
            if (ret < 0)
                return ret;
            batch = eol ? eol + 1 : p + linelen;
        }
        p = eol ? eol + 1 : p + linelen;
    }
    return db_exec_batch(d, batch, (size_t)(p - batch));
}

int db_prepare(db *d, db_stmt **out, const char *sql)
{
    *out = NULL;
    int ret = db_check_connected(d);
    if (ret < 0)
        return ret;
    db_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return -12;
    s->d = d;
    s->generation = d->generation;
    db_traced(d, sql);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, d->dbc, &s->h))) {
        ret = db_diag(d, SQL_HANDLE_DBC, d->dbc, "SQLAllocHandle");
        free(s);
        return ret;
    }
    if (!SQL_SUCCEEDED(SQLPrepare(s->h, (SQLCHAR *)sql, SQL_NTS))) {
        ret = db_diag(d, SQL_HANDLE_STMT, s->h, "prepare");
        SQLFreeHandle(SQL_HANDLE_STMT, s->h);
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

int db_in_list_sql(char *buf, size_t len, const char *head, size_t n, const char *tail)
{
    size_t used = (size_t)snprintf(buf, len, "%s(", head);
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s?", i ? "," : "");
    if (used < len)
        used += (size_t)snprintf(buf + used, len - used, ")%s", tail ? tail : "");
    return used < len ? 0 : CM_ETOOBIG;
}

/*
 * A statement from the connection's cache when one with the same text is
 * idle (reset, its parameters to be bound again), else a new one that
 * joins the cache.  For statements run again and again with other values:
 * drivers compile SELECTs once per handle, and the compile was a tenth of
 * a busy server's time.
 */
int db_prepare_cached(db *d, db_stmt **out, const char *sql)
{
    int slot = -1, ret;
    *out = NULL;
    if ((ret = db_check_connected(d)) < 0)
        return ret;
    for (int i = 0; i < DB_CACHE; i++) {
        db_stmt *s = d->cache[i];
        if (s && s->generation != d->generation && !s->in_use) {
            /* Prepared before a reconnect: its handle went with the old connection. */
            stmt_free(s);
            d->cache[i] = s = NULL;
        }
        if (!s) {
            if (slot < 0)
                slot = i;
            continue;
        }
        if (s->in_use || strcmp(s->cache_sql, sql) != 0)
            continue;
        db_reset(s);
        s->in_use = 1;
        db_traced(d, sql);
        *out = s;
        return 0;
    }
    if ((ret = db_prepare(d, out, sql)) < 0)
        return ret;
    for (int k = 0; slot < 0 && k < DB_CACHE; k++) {
        unsigned i = (d->cache_next + (unsigned)k) % DB_CACHE;
        if (!d->cache[i]->in_use) {
            stmt_free(d->cache[i]);
            d->cache[i] = NULL;
            slot = (int)i;
            d->cache_next = i + 1;
        }
    }
    /* Every slot busy, or no memory for the text: the statement is simply not kept. */
    if (slot >= 0 && ((*out)->cache_sql = strdup(sql)) != NULL) {
        (*out)->in_use = 1;
        d->cache[slot] = *out;
    }
    return 0;
}

static db_param *db_param_slot(db_stmt *s, int idx)
{
    if (idx < 1 || idx > DB_MAX_PARAMS)
        return NULL;
    db_param *p = &s->params[idx - 1];
    free(p->sv);
    p->sv = NULL;
    if (idx > s->nparams)
        s->nparams = idx;
    return p;
}

int db_bind_int(db_stmt *s, int idx, long long v)
{
    db_param *p = db_param_slot(s, idx);
    if (!p)
        return CM_ERANGE;
    p->kind = 1;
    p->iv = v;
    return 0;
}

int db_bind_text(db_stmt *s, int idx, const char *v)
{
    if (!v)
        return db_bind_null(s, idx);
    db_param *p = db_param_slot(s, idx);
    if (!p)
        return CM_ERANGE;
    p->sv = strdup(v);
    if (!p->sv)
        return -12;
    p->kind = 2;
    return 0;
}

int db_bind_null(db_stmt *s, int idx)
{
    db_param *p = db_param_slot(s, idx);
    if (!p)
        return CM_ERANGE;
    p->kind = 3;
    return 0;
}

static int db_bind_all(db_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        db_param *p = &s->params[i];
        SQLRETURN rc;
        switch (p->kind) {
        case 1:
            p->ind = 0;
            rc = SQLBindParameter(s->h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT,
                                  SQL_BIGINT, 0, 0, &p->iv, 0, &p->ind);
            break;
        case 2: {
            size_t len = strlen(p->sv);
            p->ind = (SQLLEN)len;
            rc = SQLBindParameter(s->h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                                  SQL_VARCHAR, len ? len : 1, 0, p->sv, (SQLLEN)len + 1, &p->ind);
            break;
        }
        case 3:
            p->ind = SQL_NULL_DATA;
            rc = SQLBindParameter(s->h, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                                  SQL_VARCHAR, 1, 0, NULL, 0, &p->ind);
            break;
        default:
            snprintf(s->d->errmsg, sizeof s->d->errmsg, "parameter %d is not bound", i + 1);
            return CM_EDB;
        }
        if (!SQL_SUCCEEDED(rc))
            return db_diag(s->d, SQL_HANDLE_STMT, s->h, "bind");
    }
    return 0;
}

/* Read every column of the current row as text. */
static int db_fetch_cols(db_stmt *s)
{
    for (SQLSMALLINT c = 0; c < s->ncols && c < DB_MAX_COLS; c++) {
        db_col *col = &s->cols[c];
        size_t off = 0;
        if (!col->buf) {
            col->cap = 256;
            col->buf = malloc(col->cap);
            if (!col->buf)
                return -12;
        }
        col->is_null = 0;
        col->len = 0;
        for (;;) {
            SQLLEN ind = 0;
            SQLRETURN rc = SQLGetData(s->h, (SQLUSMALLINT)(c + 1), SQL_C_CHAR, col->buf + off,
                                      (SQLLEN)(col->cap - off), &ind);
            if (rc == SQL_NO_DATA)
                break;
            if (!SQL_SUCCEEDED(rc))
                return db_diag(s->d, SQL_HANDLE_STMT, s->h, "fetch");
            if (ind == SQL_NULL_DATA) {
                col->is_null = 1;
                col->buf[0] = '\0';
                break;
            }
            if (rc == SQL_SUCCESS_WITH_INFO &&
                (ind == SQL_NO_TOTAL || (size_t)ind >= col->cap - off)) {
                /* Truncated: keep what came (minus its NUL) and grow. */
                off = col->cap - 1;
                size_t need = ind == SQL_NO_TOTAL ? col->cap * 2 : off + (size_t)ind + 1;
                char *nb = realloc(col->buf, need);
                if (!nb)
                    return -12;
                col->buf = nb;
                col->cap = need;
                continue;
            }
            /* A driver that cannot tell the length: the text ends at its NUL. */
            col->len = ind >= 0 && (size_t)ind < col->cap - off ? off + (size_t)ind
                                                                : off + strlen(col->buf + off);
            break;
        }
    }
    return 0;
}

int db_step(db_stmt *s)
{
    db *d = s->d;
    int ret;
    if (s->generation != d->generation || !d->connected) {
        snprintf(d->errmsg, sizeof d->errmsg, "statement prepared on a lost connection");
        return CM_EDBCONN;
    }
    if (!s->executed) {
        if ((ret = db_bind_all(s)) < 0)
            return ret;
        SQLRETURN rc = SQLExecute(s->h);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
            return db_diag(d, SQL_HANDLE_STMT, s->h, "execute");
        s->executed = 1;
        SQLLEN rows = 0;
        if (rc != SQL_NO_DATA && SQL_SUCCEEDED(SQLRowCount(s->h, &rows)))
            s->changes = rows < 0 ? 0 : rows;
        else
            s->changes = 0;
        if (!SQL_SUCCEEDED(SQLNumResultCols(s->h, &s->ncols)))
            s->ncols = 0;
    }
    if (s->ncols <= 0)
        return 0;
    SQLRETURN rc = SQLFetch(s->h);
    if (rc == SQL_NO_DATA)
        return 0;
    if (!SQL_SUCCEEDED(rc))
        return db_diag(d, SQL_HANDLE_STMT, s->h, "fetch");
    if ((ret = db_fetch_cols(s)) < 0)
        return ret;
    return 1;
}

int db_reset(db_stmt *s)
{
    SQLFreeStmt(s->h, SQL_CLOSE);
    SQLFreeStmt(s->h, SQL_RESET_PARAMS);
    s->executed = 0;
    s->ncols = 0;
    s->changes = 0;
    return 0;
}

long long db_changes(const db_stmt *s)
{
    return s->changes;
}

int db_col_is_null(db_stmt *s, int col)
{
    if (col < 0 || col >= s->ncols || col >= DB_MAX_COLS)
        return 1;
    return s->cols[col].is_null;
}

const char *db_col_text(db_stmt *s, int col)
{
    if (col < 0 || col >= s->ncols || col >= DB_MAX_COLS || !s->cols[col].buf ||
        s->cols[col].is_null)
        return "";
    return s->cols[col].buf;
}

size_t db_col_len(db_stmt *s, int col)
{
    if (col < 0 || col >= s->ncols || col >= DB_MAX_COLS || !s->cols[col].buf ||
        s->cols[col].is_null)
        return 0;
    return s->cols[col].len;
}

long long db_col_int(db_stmt *s, int col)
{
    return strtoll(db_col_text(s, col), NULL, 10);
}

void db_finalize(db_stmt *s)
{
    if (!s)
        return;
    if (s->cache_sql) {
        /* Back to the cache, its cursor closed (a read transaction ends with it). */
        if (s->generation == s->d->generation && s->d->dbc)
            db_reset(s);
        s->in_use = 0;
        return;
    }
    stmt_free(s);
}

static void stmt_free(db_stmt *s)
{
    if (!s)
        return;
    if (s->h && s->generation == s->d->generation && s->d->dbc)
        SQLFreeHandle(SQL_HANDLE_STMT, s->h);
    for (int i = 0; i < DB_MAX_PARAMS; i++)
        free(s->params[i].sv);
    for (int i = 0; i < DB_MAX_COLS; i++)
        free(s->cols[i].buf);
    free(s->cache_sql);
    free(s);
}

int db_query_int(db *d, const char *sql, const char *p1, const char *p2, long long *out)
{
    db_stmt *s;
    int ret = db_prepare(d, &s, sql);
    if (ret < 0)
        return ret;
    if (p1 && (ret = db_bind_text(s, 1, p1)) < 0)
        goto done;
    if (p2 && (ret = db_bind_text(s, 2, p2)) < 0)
        goto done;
    ret = db_step(s);
    if (ret == 1) {
        *out = db_col_int(s, 0);
        ret = 0;
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
done:
    db_finalize(s);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Native access for bulk writers                                      */
/* ------------------------------------------------------------------ */

void *db_native_handle(db *d)
{
    return d && d->connected ? (void *)d->dbc : NULL;
}

int db_native_error(db *d, int handle_type, void *handle, const char *what)
{
    return db_diag(d, (SQLSMALLINT)handle_type, (SQLHANDLE)handle, what);
}
