/*
 * bulk.c - rows written a group per statement (see bulk.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "cm_error.h"

/* ------------------------------------------------------------------ */
/* The growable text buffer                                            */
/* ------------------------------------------------------------------ */

static int reserve(bulk *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p)
        return -ENOMEM;
    b->buf = p;
    b->cap = cap;
    return 0;
}

static int put(bulk *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return -ENOMEM;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes as is. */
static int put_json_string(bulk *b, const char *s)
{
    size_t n = strlen(s);
    if (reserve(b, n * 6 + 2) < 0)
        return -ENOMEM;
    char *o = b->buf + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->buf);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

static int init_common(bulk *b, db *d)
{
    memset(b, 0, sizeof *b);
    b->d = d;
    db_dialect dl = db_get_dialect(d);
    b->json = dl == DB_DIALECT_SQLITE || dl == DB_DIALECT_POSTGRES;
    return 0;
}

static int prepare(bulk *b, const char *sql)
{
    int ret = db_prepare(b->d, &b->st, sql);
    if (ret < 0)
        bulk_free(b);
    return ret;
}

int bulk_insert_init(bulk *b, db *d, const char *table, const char *columns, const char *types)
{
    char sql[4096];
    size_t off;
    int n = (int)strlen(types);
    init_common(b, d);
    if (n < 1 || n > BULK_MAX_COLS || strspn(types, "itd") != (size_t)n)
        return CM_ERANGE;
    b->ncols = n;
    memcpy(b->types, types, (size_t)n + 1);
    int pg = db_get_dialect(d) == DB_DIALECT_POSTGRES;
    off = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (%s) ", table, columns);
    if (!b->json) {
        off += (size_t)snprintf(sql + off, sizeof sql - off, "VALUES (");
        for (int i = 0; i < n; i++)
            off += (size_t)snprintf(sql + off, sizeof sql - off, "%s?", i ? ", " : "");
        snprintf(sql + off, sizeof sql - off, ")");
        return prepare(b, sql);
    }
    off += (size_t)snprintf(sql + off, sizeof sql - off, "SELECT ");
    for (int i = 0; i < n; i++) {
        const char *sep = i ? ", " : "";
        if (!pg)
            off += (size_t)snprintf(sql + off, sizeof sql - off, "%sjson_extract(value, '$[%d]')",
                                    sep, i);
        else if (types[i] == 'i')
            off +=
                (size_t)snprintf(sql + off, sizeof sql - off, "%sCAST(x->>%d AS BIGINT)", sep, i);
        else if (types[i] == 'd')
            off += (size_t)snprintf(sql + off, sizeof sql - off, "%sCAST(x->>%d AS TIMESTAMP)", sep,
                                    i);
        else
            off += (size_t)snprintf(sql + off, sizeof sql - off, "%sx->>%d", sep, i);
    }
    snprintf(sql + off, sizeof sql - off, "%s",
             pg ? " FROM jsonb_array_elements(CAST(? AS jsonb)) x" : " FROM json_each(?)");
    if (off >= sizeof sql - 64)
        return CM_ERANGE;
    return prepare(b, sql);
}

int bulk_list_init(bulk *b, db *d, const char *prefix, const char *suffix)
{
    char sql[4096];
    init_common(b, d);
    b->ncols = 1;
    b->types[0] = 'i';
    b->list = 1;
    int pg = db_get_dialect(d) == DB_DIALECT_POSTGRES;
    const char *list = !b->json ? "?"
                       : pg     ? "SELECT CAST(v AS BIGINT) FROM "
                                  "jsonb_array_elements_text(CAST(? AS jsonb)) v"
                                : "SELECT value FROM json_each(?)";
    if ((size_t)snprintf(sql, sizeof sql, "%s%s%s", prefix, list, suffix) >= sizeof sql)
        return CM_ERANGE;
    return prepare(b, sql);
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

static int run_json(bulk *b)
{
    int ret;
    if (b->rows == 0)
        return 0;
    if ((ret = put(b, "]", 1)) < 0 || (ret = db_bind_text(b->st, 1, b->buf)) < 0 ||
        (ret = db_step(b->st)) < 0) {
        db_reset(b->st);
        return b->err = ret;
    }
    db_reset(b->st);
    b->total += b->rows;
    b->rows = 0;
    b->len = 0;
    return 0;
}

static int run_plain(bulk *b)
{
    int ret = 0;
    for (int i = 0; i < b->ncols && ret == 0; i++) {
        if (b->kind[i] == 1)
            ret = db_bind_int(b->st, i + 1, b->iv[i]);
        else if (b->kind[i] == 2)
            ret = db_bind_text(b->st, i + 1, b->sv[i]);
        else
            ret = db_bind_null(b->st, i + 1);
    }
    for (int i = 0; i < b->ncols; i++) {
        free(b->sv[i]);
        b->sv[i] = NULL;
    }
    if (ret == 0)
        ret = db_step(b->st);
    db_reset(b->st);
    if (ret < 0)
        return b->err = ret;
    b->total++;
    return 0;
}

/* One value: kind 1 integer, 2 text, 3 NULL. */
static int add(bulk *b, int kind, long long iv, const char *text)
{
    int ret;
    char num[32];
    if (b->err)
        return b->err;
    if (!b->json) {
        b->kind[b->col] = kind;
        b->iv[b->col] = iv;
        if (kind == 2 && !(b->sv[b->col] = strdup(text)))
            return b->err = -ENOMEM;
        if (++b->col < b->ncols)
            return 0;
        b->col = 0;
        return run_plain(b);
    }
    /* The array opens with the first row; each row is an array of its columns (a list's
     * rows are bare values). */
    const char *open = b->list ? (b->rows ? "," : "[") : b->col ? "," : b->rows ? ",[" : "[[";
    if ((ret = put(b, open, strlen(open))) < 0)
        return b->err = ret;
    if (kind == 1) {
        int n = snprintf(num, sizeof num, "%lld", iv);
        ret = put(b, num, (size_t)n);
    } else if (kind == 2) {
        ret = put_json_string(b, text);
    } else {
        ret = put(b, "null", 4);
    }
    if (ret < 0)
        return b->err = ret;
    if (++b->col < b->ncols)
        return 0;
    b->col = 0;
    if (!b->list && (ret = put(b, "]", 1)) < 0)
        return b->err = ret;
    if (++b->rows >= BULK_MAX_ROWS || b->len >= BULK_MAX_BYTES)
        return run_json(b);
    return 0;
}

int bulk_int(bulk *b, long long v)
{
    return add(b, 1, v, NULL);
}

int bulk_text(bulk *b, const char *v)
{
    return v ? add(b, 2, 0, v) : add(b, 3, 0, NULL);
}

int bulk_null(bulk *b)
{
    return add(b, 3, 0, NULL);
}

int bulk_flush(bulk *b)
{
    if (b->err)
        return b->err;
    if (b->col != 0)
        return b->err = CM_EPARSE; /* a row left half-filled is a caller's bug */
    return b->json ? run_json(b) : 0;
}

void bulk_free(bulk *b)
{
    db_finalize(b->st);
    free(b->buf);
    for (int i = 0; i < BULK_MAX_COLS; i++)
        free(b->sv[i]);
    memset(b, 0, sizeof *b);
}
