/*
 * bulk.c - many-row prepared statements with parameters bound once (see
 * bulk.h).  Column-wise buffers: slot (row r, column c) is bound to
 * parameter r * ncols + c + 1 of the full statement.  A flush of fewer
 * rows runs a ten-row statement and a one-row statement, each prepared once
 * and bound to the first slots, over rows moved down to those slots: a
 * statement prepared for every odd count would cost more than the rows.
 * A column without a size limit keeps a heap buffer per slot instead, and
 * its slots are bound again before each execution (a buffer may have moved
 * when it grew, or changed places with another in a short flush).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#include "bulk.h"
#include "cm_error.h"

typedef struct slotcol {
    bulk_type type;
    size_t maxlen; /* 0: no limit (lv, lcap) */
    long long *iv; /* rows values (BULK_INT) */
    char *sv;      /* rows * (maxlen + 1) bytes (BULK_TEXT with a limit) */
    char **lv;     /* rows buffers (BULK_TEXT without a limit) */
    size_t *lcap;  /* their sizes */
    SQLLEN *ind;   /* rows indicators */
} slotcol;

struct bulk {
    db *d;
    char *head, *tail;
    int ncols, rows;
    int cur;      /* rows complete in the buffers */
    unsigned set; /* bit per column set for the row being built (ncols <= 32) */
    slotcol *cols;
    SQLHSTMT full, mid, one;
    int mid_rows;
    unsigned flags;
    long long written;
};

/*
 * The SQLite ODBC driver (libsqliteodbc 0.9998) keeps the compiled
 * statement of a prepared SELECT or WITH from one execution to the next,
 * but compiles an INSERT again at every SQLExecute: for a 100-row upsert
 * that was two fifths of the writer's time.  A statement that begins with
 * a common table expression nobody reads is the same INSERT to SQLite (an
 * unused CTE is not evaluated), runs in the same transaction, reports the
 * same errors, and is compiled once.  Other databases get the plain text.
 */
#define SQLITE_KEEP_COMPILED "WITH bulk_keep_compiled AS (SELECT 1) "

static char *build_sql(const bulk *b, int rows)
{
    const char *prefix = db_get_dialect(b->d) == DB_DIALECT_SQLITE && !(b->flags & BULK_PLAIN)
                             ? SQLITE_KEEP_COMPILED
                             : "";
    size_t rowlen = 2 + (size_t)b->ncols * 3;
    size_t len =
        strlen(prefix) + strlen(b->head) + strlen(b->tail) + (size_t)rows * (rowlen + 2) + 8;
    char *sql = malloc(len), *p;
    if (!sql)
        return NULL;
    p = sql + sprintf(sql, "%s%s ", prefix, b->head);
    for (int r = 0; r < rows; r++) {
        if (r)
            *p++ = ',';
        *p++ = '(';
        for (int c = 0; c < b->ncols; c++) {
            if (c)
                *p++ = ',';
            *p++ = '?';
        }
        *p++ = ')';
    }
    strcpy(p, b->tail);
    return sql;
}

static int bind_stmt(bulk *b, SQLHSTMT h, int rows)
{
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < b->ncols; c++) {
            slotcol *col = &b->cols[c];
            SQLUSMALLINT idx = (SQLUSMALLINT)(r * b->ncols + c + 1);
            SQLRETURN rc;
            if (col->lv)
                continue; /* bound at each execution (bind_long) */
            if (col->type == BULK_INT)
                rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                                      &col->iv[r], 0, &col->ind[r]);
            else
                rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, col->maxlen,
                                      0, col->sv + (size_t)r * (col->maxlen + 1),
                                      (SQLLEN)(col->maxlen + 1), &col->ind[r]);
            if (!SQL_SUCCEEDED(rc))
                return db_native_error(b->d, SQL_HANDLE_STMT, h, "bulk bind");
        }
    }
    return 0;
}

/* The slots of the columns without a size limit, where their buffers are now. */
static int bind_long(bulk *b, SQLHSTMT h, int rows)
{
    for (int c = 0; c < b->ncols; c++) {
        slotcol *col = &b->cols[c];
        if (!col->lv)
            continue;
        for (int r = 0; r < rows; r++) {
            SQLUSMALLINT idx = (SQLUSMALLINT)(r * b->ncols + c + 1);
            SQLULEN size = col->ind[r] > 0 ? (SQLULEN)col->ind[r] : 1;
            SQLRETURN rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, size,
                                            0, col->lv[r], (SQLLEN)col->lcap[r], &col->ind[r]);
            if (!SQL_SUCCEEDED(rc))
                return db_native_error(b->d, SQL_HANDLE_STMT, h, "bulk bind");
        }
    }
    return 0;
}

static int prepare(bulk *b, int rows, SQLHSTMT *out)
{
    SQLHDBC dbc = db_native_handle(b->d);
    SQLHSTMT h = SQL_NULL_HSTMT;
    char *sql;
    int ret;

    *out = SQL_NULL_HSTMT;
    if (!dbc)
        return CM_EDBCONN;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h)))
        return db_native_error(b->d, SQL_HANDLE_DBC, dbc, "bulk statement");
    sql = build_sql(b, rows);
    if (!sql) {
        SQLFreeHandle(SQL_HANDLE_STMT, h);
        return -ENOMEM;
    }
    if (!SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)sql, SQL_NTS))) {
        ret = db_native_error(b->d, SQL_HANDLE_STMT, h, "bulk prepare");
        goto fail;
    }
    if ((ret = bind_stmt(b, h, rows)) < 0)
        goto fail;
    free(sql);
    *out = h;
    return 0;
fail:
    free(sql);
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    return ret;
}

int bulk_open(db *d, bulk **out, const char *head, const char *tail, const bulk_col *cols,
              int ncols, int rows)
{
    return bulk_open_flags(d, out, head, tail, cols, ncols, rows, 0);
}

int bulk_open_flags(db *d, bulk **out, const char *head, const char *tail, const bulk_col *cols,
                    int ncols, int rows, unsigned flags)
{
    bulk *b;
    int ret = -ENOMEM;

    *out = NULL;
    if (ncols < 1 || ncols > 32 || rows < 1 || rows * ncols > 30000)
        return -EINVAL;
    b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->d = d;
    b->flags = flags;
    b->ncols = ncols;
    b->rows = rows;
    b->head = strdup(head);
    b->tail = strdup(tail ? tail : "");
    b->cols = calloc((size_t)ncols, sizeof *b->cols);
    if (!b->head || !b->tail || !b->cols)
        goto fail;
    for (int c = 0; c < ncols; c++) {
        slotcol *col = &b->cols[c];
        col->type = cols[c].type;
        col->maxlen = cols[c].maxlen;
        col->ind = calloc((size_t)rows, sizeof *col->ind);
        if (col->type == BULK_INT)
            col->iv = calloc((size_t)rows, sizeof *col->iv);
        else if (col->maxlen)
            col->sv = calloc((size_t)rows, col->maxlen + 1);
        else if ((col->lv = calloc((size_t)rows, sizeof *col->lv)) != NULL)
            col->lcap = calloc((size_t)rows, sizeof *col->lcap);
        if (!col->ind || (!col->iv && !col->sv && !col->lcap))
            goto fail;
    }
    if ((ret = prepare(b, rows, &b->full)) < 0)
        goto fail;
    b->mid_rows = rows >= 20 ? 10 : 0;
    *out = b;
    return 0;
fail:
    bulk_close(b);
    return ret;
}

void bulk_close(bulk *b)
{
    if (!b)
        return;
    if (b->full != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, b->full);
    if (b->mid != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, b->mid);
    if (b->one != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, b->one);
    if (b->cols) {
        for (int c = 0; c < b->ncols; c++) {
            slotcol *col = &b->cols[c];
            for (int r = 0; col->lv && r < b->rows; r++)
                free(col->lv[r]);
            free(col->lv);
            free(col->lcap);
            free(col->iv);
            free(col->sv);
            free(col->ind);
        }
    }
    free(b->cols);
    free(b->head);
    free(b->tail);
    free(b);
}

int bulk_int(bulk *b, int col, long long v)
{
    if (col < 0 || col >= b->ncols || b->cols[col].type != BULK_INT)
        return -EINVAL;
    b->cols[col].iv[b->cur] = v;
    b->cols[col].ind[b->cur] = 0;
    b->set |= 1u << col;
    return 0;
}

int bulk_text_len(bulk *b, int col, const char *v, size_t len)
{
    slotcol *c;
    char *dst;
    if (!v)
        return bulk_null(b, col);
    if (col < 0 || col >= b->ncols || b->cols[col].type != BULK_TEXT)
        return -EINVAL;
    c = &b->cols[col];
    if (c->lv) {
        if (len + 1 > c->lcap[b->cur]) {
            size_t cap = c->lcap[b->cur] ? c->lcap[b->cur] : 256;
            while (cap < len + 1)
                cap *= 2;
            char *p = realloc(c->lv[b->cur], cap);
            if (!p)
                return -ENOMEM;
            c->lv[b->cur] = p;
            c->lcap[b->cur] = cap;
        }
        dst = c->lv[b->cur];
    } else {
        if (len > c->maxlen)
            return CM_ETOOBIG;
        dst = c->sv + (size_t)b->cur * (c->maxlen + 1);
    }
    memcpy(dst, v, len);
    dst[len] = '\0';
    c->ind[b->cur] = (SQLLEN)len;
    b->set |= 1u << col;
    return 0;
}

int bulk_text(bulk *b, int col, const char *v)
{
    return bulk_text_len(b, col, v, v ? strlen(v) : 0);
}

int bulk_null(bulk *b, int col)
{
    if (col < 0 || col >= b->ncols)
        return -EINVAL;
    b->cols[col].ind[b->cur] = SQL_NULL_DATA;
    b->set |= 1u << col;
    return 0;
}

static int execute(bulk *b, SQLHSTMT h, int rows)
{
    int ret = bind_long(b, h, rows);
    if (ret < 0)
        return ret;
    SQLRETURN rc = SQLExecute(h);
    /*
     * No SQLFreeStmt(SQL_CLOSE): an INSERT has no cursor to close, and the
     * SQLite driver drops its compiled statement on a close, so the next
     * execution would parse the whole many-row statement again.
     */
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        ret = db_native_error(b->d, SQL_HANDLE_STMT, h, "bulk execute");
    if (ret == 0)
        b->written += rows;
    return ret;
}

int bulk_row(bulk *b)
{
    unsigned all = b->ncols == 32 ? 0xFFFFFFFFu : (1u << b->ncols) - 1;
    /* A column left unset would silently reuse the previous row's value. */
    if ((b->set & all) != all)
        return -EINVAL;
    b->set = 0;
    b->cur++;
    if (b->cur < b->rows)
        return 0;
    int ret = execute(b, b->full, b->rows);
    b->cur = 0;
    return ret;
}

/* Move count rows of every column from slot from down to slot to. */
static void move_rows(bulk *b, int from, int to, int count)
{
    for (int c = 0; c < b->ncols; c++) {
        slotcol *col = &b->cols[c];
        memmove(&col->ind[to], &col->ind[from], (size_t)count * sizeof *col->ind);
        if (col->lv) {
            /* The buffers change places: none is lost, none is copied. */
            for (int k = 0; k < count; k++) {
                char *p = col->lv[to + k];
                size_t cap = col->lcap[to + k];
                col->lv[to + k] = col->lv[from + k];
                col->lcap[to + k] = col->lcap[from + k];
                col->lv[from + k] = p;
                col->lcap[from + k] = cap;
            }
        } else if (col->type == BULK_INT)
            memmove(&col->iv[to], &col->iv[from], (size_t)count * sizeof *col->iv);
        else
            memmove(col->sv + (size_t)to * (col->maxlen + 1),
                    col->sv + (size_t)from * (col->maxlen + 1), (size_t)count * (col->maxlen + 1));
    }
}

int bulk_flush(bulk *b)
{
    int ret = 0, n = b->cur, i = 0;
    if (n == 0)
        return 0;
    b->cur = 0;
    b->set = 0;
    while (ret == 0 && b->mid_rows && n - i >= b->mid_rows) {
        if (b->mid == SQL_NULL_HSTMT && (ret = prepare(b, b->mid_rows, &b->mid)) < 0)
            break;
        if (i > 0)
            move_rows(b, i, 0, b->mid_rows);
        ret = execute(b, b->mid, b->mid_rows);
        i += b->mid_rows;
    }
    while (ret == 0 && i < n) {
        if (b->one == SQL_NULL_HSTMT && (ret = prepare(b, 1, &b->one)) < 0)
            break;
        if (i > 0)
            move_rows(b, i, 0, 1);
        ret = execute(b, b->one, 1);
        i++;
    }
    return ret;
}

void bulk_discard(bulk *b)
{
    if (b) {
        b->cur = 0;
        b->set = 0;
    }
}

long long bulk_rows_written(const bulk *b)
{
    return b->written;
}
