/*
 * maint.c - deleting old expired updates in batches (see maint.h).
 *
 * A batch: pick up to `batch` candidates, then delete their rows table by
 * table with IN lists of 100 keys a statement (bulk.h), the configuration
 * items last, and commit.
 * Content that a deployment package holds (CI_ContentPackages) is left for
 * the package's own cleanup; only the link to the deleted update goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "cm_error.h"
#include "maint.h"
#include "syncstate.h"

/* The tables emptied for a batch, in order: what points at a CI before the CI. */
static const char *const deletes[] = {
    "DELETE FROM CI_ContentFiles WHERE Content_ID IN (SELECT cc.Content_ID FROM "
    "CI_ConfigurationItemContents cc WHERE cc.CI_ID IN (",
    "DELETE FROM CI_Contents WHERE Content_ID IN (SELECT cc.Content_ID FROM "
    "CI_ConfigurationItemContents cc WHERE cc.CI_ID IN (",
    "DELETE FROM CI_ConfigurationItemContents WHERE CI_ID IN (",
    "DELETE FROM CI_UpdateInfo WHERE CI_ID IN (",
    "DELETE FROM CI_LocalizedProperties WHERE CI_ID IN (",
    "DELETE FROM CI_CategoryMemberships WHERE CI_ID IN (",
    "DELETE FROM CI_ConfigurationItemRelations WHERE FromCI_ID IN (",
    "DELETE FROM CI_ConfigurationItemRelations WHERE ToCI_ID IN (",
    "DELETE FROM CI_CIUpdateSources WHERE CI_ID IN (",
    "DELETE FROM CI_ConfigurationItems WHERE CI_ID IN (",
};

/* The closing text of each statement above (the content ones close a subquery too). */
static const char *const closers[] = {
    ") AND cc.Content_ID NOT IN (SELECT p.Content_ID FROM CI_ContentPackages p))",
    ") AND cc.Content_ID NOT IN (SELECT p.Content_ID FROM CI_ContentPackages p))",
    ")",
    ")",
    ")",
    ")",
    ")",
    ")",
    ")",
    ")",
};

#define NDELETES (sizeof deletes / sizeof deletes[0])

static int pick(db *d, const char *cutoff, long long batch, long long **ids, size_t *n)
{
    db_stmt *s;
    size_t cap = (size_t)batch, k = 0;
    long long *v = malloc(cap * sizeof *v);
    int ret;
    *ids = NULL;
    *n = 0;
    if (!v)
        return -ENOMEM;
    ret = db_prepare(d, &s,
                     "SELECT ci.CI_ID FROM CI_ConfigurationItems ci "
                     "WHERE ci.CIType_ID IN (1, 8) AND ci.IsExpired = 1 "
                     "AND ci.DateLastModified < ? "
                     "AND NOT EXISTS (SELECT 1 FROM CI_AssignmentTargetedCIs t "
                     "WHERE t.CI_ID = ci.CI_ID) "
                     "AND NOT EXISTS (SELECT 1 FROM CI_ConfigurationItemRelations r "
                     "JOIN CI_AssignmentTargetedGroups g ON g.CI_ID = r.FromCI_ID "
                     "WHERE r.ToCI_ID = ci.CI_ID AND r.RelationType = 1) "
                     "ORDER BY ci.CI_ID LIMIT ?");
    if (ret < 0) {
        free(v);
        return ret;
    }
    if ((ret = db_bind_text(s, 1, cutoff)) == 0 && (ret = db_bind_int(s, 2, batch)) == 0)
        while ((ret = db_step(s)) == 1 && k < cap)
            v[k++] = db_col_int(s, 0);
    db_finalize(s);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *ids = v;
    *n = k;
    return 0;
}

static int delete_batch(db *d, const long long *ids, size_t n)
{
    int ret = 0;
    static const bulk_col key[] = {{BULK_INT, 0}};
    for (size_t t = 0; t < NDELETES && ret == 0; t++) {
        bulk *b;
        if ((ret = bulk_open(d, &b, deletes[t], closers[t], key, 1, 100)) < 0)
            break;
        for (size_t i = 0; i < n && ret == 0; i++)
            if ((ret = bulk_int(b, 0, ids[i])) == 0)
                ret = bulk_row(b);
        if (ret == 0)
            ret = bulk_flush(b);
        bulk_close(b);
    }
    return ret;
}

int maint_delete_expired(db *d, long long age_days, long long batch, time_t now, atomic_int *cancel,
                         maint_batch_fn fn, void *ud, long long *deleted)
{
    char cutoff[32];
    long long last = 0; /* the highest CI_ID deleted so far */
    int ret = 0;
    *deleted = 0;
    if (batch < 1)
        batch = 100;
    if (age_days < 0)
        age_days = 0;
    syncstate_time_text(now - (time_t)age_days * 86400, cutoff, sizeof cutoff);
    for (;;) {
        long long *ids = NULL;
        size_t n = 0;
        if (cancel && atomic_load(cancel))
            break;
        if ((ret = db_begin(d)) < 0)
            break;
        if ((ret = pick(d, cutoff, batch, &ids, &n)) == 0 && n) {
            /* Candidates come in CI_ID order: one seen again was not deleted, and the
             * loop would never end. */
            if (ids[0] <= last)
                ret = CM_EDB;
            else
                ret = delete_batch(d, ids, n);
            last = ids[n - 1];
        }
        free(ids);
        if (ret == 0)
            ret = db_commit(d);
        else
            db_rollback(d);
        if (ret < 0)
            break;
        if (n == 0)
            break;
        *deleted += (long long)n;
        if (fn)
            fn(ud, (long long)n);
        if ((long long)n < batch)
            break;
    }
    return ret;
}
