/*
 * bulk.c - multi-row statements (see bulk.h).
 *
 * The values of the group being collected are kept here (db.c copies
 * bound values and cannot hand them back), bound to the full-size
 * statement when the group is complete, or to a statement of exactly the
 * remaining rows at flush.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "cm_error.h"

static char *build_sql(const bulk *b, int rows)
{
    size_t len = strlen(b->prefix) + strlen(b->suffix) + 1 +
                 (size_t)rows * (strlen(b->row) + strlen(b->sep));
    char *sql = malloc(len), *p = sql;
    if (!sql)
        return NULL;
    p += sprintf(p, "%s", b->prefix);
    for (int i = 0; i < rows; i++)
        p += sprintf(p, "%s%s", i ? b->sep : "", b->row);
    sprintf(p, "%s", b->suffix);
    return sql;
}

static void clear_values(bulk *b)
{
    for (int i = 0; i < b->nvals; i++) {
        free(b->vals[i].text);
        b->vals[i].text = NULL;
    }
    b->nvals = 0;
}

int bulk_init(bulk *b, db *d, const char *prefix, const char *row, const char *sep,
              const char *suffix, int ncols)
{
    char *sql;
    int ret;
    memset(b, 0, sizeof *b);
    if (ncols < 1 || ncols > BULK_MAX_PARAMS)
        return CM_ERANGE;
    b->d = d;
    b->ncols = ncols;
    b->per_stmt = BULK_MAX_PARAMS / ncols;
    b->prefix = strdup(prefix);
    b->row = strdup(row);
    b->sep = strdup(sep);
    b->suffix = strdup(suffix);
    if (!b->prefix || !b->row || !b->sep || !b->suffix) {
        bulk_free(b);
        return -ENOMEM;
    }
    if (!(sql = build_sql(b, b->per_stmt))) {
        bulk_free(b);
        return -ENOMEM;
    }
    ret = db_prepare(d, &b->multi, sql);
    free(sql);
    if (ret < 0)
        bulk_free(b);
    return ret;
}

/* Bind the collected values to s and run it once. */
static int run(bulk *b, db_stmt *s)
{
    int ret = 0;
    for (int i = 0; i < b->nvals && ret == 0; i++) {
        bulk_value *v = &b->vals[i];
        if (v->kind == 1)
            ret = db_bind_int(s, i + 1, v->iv);
        else if (v->kind == 2)
            ret = db_bind_text(s, i + 1, v->text);
        else
            ret = db_bind_null(s, i + 1);
    }
    if (ret == 0)
        ret = db_step(s);
    db_reset(s);
    if (ret < 0)
        return b->err = ret;
    b->total += b->nvals / b->ncols;
    clear_values(b);
    return 0;
}

static int add(bulk *b, int kind, long long iv, const char *text)
{
    if (b->err)
        return b->err;
    bulk_value *v = &b->vals[b->nvals];
    v->kind = kind;
    v->iv = iv;
    v->text = NULL;
    if (kind == 2 && !(v->text = strdup(text)))
        return b->err = -ENOMEM;
    b->nvals++;
    if (b->nvals == b->per_stmt * b->ncols)
        return run(b, b->multi);
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
    db_stmt *s = NULL;
    char *sql;
    int ret;
    if (b->err)
        return b->err;
    if (b->nvals % b->ncols)
        return b->err = CM_EPARSE; /* a row left half-filled is a caller's bug */
    if (b->nvals == 0)
        return 0;
    if (!(sql = build_sql(b, b->nvals / b->ncols)))
        return b->err = -ENOMEM;
    ret = db_prepare(b->d, &s, sql);
    free(sql);
    if (ret < 0)
        return b->err = ret;
    ret = run(b, s);
    db_finalize(s);
    return ret;
}

void bulk_free(bulk *b)
{
    clear_values(b);
    db_finalize(b->multi);
    free(b->prefix);
    free(b->row);
    free(b->sep);
    free(b->suffix);
    memset(b, 0, sizeof *b);
}
