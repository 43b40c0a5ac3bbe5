/*
 * sitedb.c - the site-database phase: update metadata to configuration
 * items (see sitedb.h).
 *
 * Speed comes from three things: what the site holds is read once into
 * hash tables (cimap.h), so no update costs a lookup query; CI_ID and
 * Content_ID values are handed out here, so an update's rows need no
 * round trip to learn its key; and rows go out many per statement
 * (bulk.h).  Within a batch the rows of revised updates are deleted first
 * (one statement per table for the whole batch), then everything is
 * inserted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bulk.h"
#include "cimap.h"
#include "cm_error.h"
#include "sitedb.h"
#include "syncstate.h"

/* A stored localized category name (for "did this category change"). */
typedef struct cat_name {
    long long cat_id;
    int lcid;
    char *name;
} cat_name;

/* A relation whose target was not known when its source was written. */
typedef struct pending_rel {
    long long from;
    char to[37];
    int type;
    int quiet; /* prerequisites usually name detectoids: not worth counting */
} pending_rel;

/* One localized row to write. */
typedef struct loc_row {
    int lcid;
    const char *title;
    const char *desc;
} loc_row;

enum { REL_BUNDLED = 1, REL_REQUIRED = 2, REL_SUPERSEDED = 6 };

struct sitedb {
    db *d;
    sitedb_options o;
    sitedb_stats st;
    char now[32];
    long changed;
    cimap cis, cats;
    /*
     * The update CIs of the site are read all at once (all_loaded) when a
     * sync names many of them; otherwise the ones a sync names are looked
     * up as they are needed, and asked remembers every GUID looked up
     * (found or not), so an incremental sync costs what changed and not
     * what the site holds.
     */
    int all_loaded;
    long long held; /* update CIs of the site at the start */
    cimap asked;
    cat_name *names;
    size_t nnames, capnames;
    pending_rel *pend;
    size_t npend, cappend;
    long long next_ci_id, next_content_id;
    long long max_ci_id, max_content_id; /* what this phase handed out */
    bulk *ins_ci, *ins_info, *ins_loc, *ins_member, *ins_rel, *ins_src, *ins_content, *ins_file,
        *ins_cicontent;
    bulk *del_info, *del_loc, *del_member, *del_rel, *del_src, *del_file;
    bulk *upd_sup; /* IsSuperseded = 1 for CI_IDs written by this sync */
    db_stmt *upd_ci, *upd_content, *upd_sup_old; /* ... and for one written before */
    long long *supq; /* CI_IDs for upd_sup, after ins_ci's rows are out */
    size_t nsupq, capsupq;
    cimap_entry **catv; /* categories by CategoryInstanceID (entries move when cats grows) */
    size_t ncatv;
    int cat_dirty;
    char **index_sql; /* indexes dropped for a bulk load, rebuilt by sitedb_finish */
    size_t nindex;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

int sitedb_severity(const char *msrc)
{
    if (!msrc)
        return 0;
    if (strcasecmp(msrc, "Critical") == 0)
        return 10;
    if (strcasecmp(msrc, "Important") == 0)
        return 8;
    if (strcasecmp(msrc, "Moderate") == 0)
        return 6;
    if (strcasecmp(msrc, "Low") == 0)
        return 2;
    return 0;
}

/* "2010-01-01T07:58:11.172Z" as the tables store time: "2010-01-01 07:58:11". */
static const char *xml_time(const char *in, char *buf, size_t len)
{
    int y, mo, d, h, mi, s;
    if (!in || sscanf(in, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
        return NULL;
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
    return buf;
}

static int run_sql(db *d, const char *sql)
{
    return db_exec(d, sql);
}

static int exec_int(db *d, const char *sql, long long v, long long *changes)
{
    db_stmt *s;
    int ret = db_prepare(d, &s, sql);
    if (ret < 0)
        return ret;
    if ((ret = db_bind_int(s, 1, v)) == 0)
        ret = db_step(s);
    if (ret >= 0 && changes)
        *changes = db_changes(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

/* The rows of CI_LocalizedProperties (or CI_LocalizedCategoryInstances) for u. */
static size_t localized_rows(const sitedb *w, const updxml_update *u, loc_row *out)
{
    size_t n = 0;
    for (size_t i = 0; i < w->o.langs->n; i++)
        for (size_t j = 0; j < u->nlocalized; j++) {
            const updxml_localized *l = &u->localized[j];
            if (l->language && strcasecmp(l->language, w->o.langs->name[i]) == 0) {
                out[n].lcid = w->o.langs->lcid[i];
                out[n].title = l->title;
                out[n].desc = l->description;
                n++;
                break;
            }
        }
    if (n || u->nlocalized == 0)
        return n;
    /* None of the site's languages: keep the update's own default, so it has a name. */
    const updxml_localized *l = &u->localized[0];
    for (size_t j = 0; j < u->nlocalized; j++)
        if (u->default_language && u->localized[j].language &&
            strcasecmp(u->localized[j].language, u->default_language) == 0)
            l = &u->localized[j];
    out[0].lcid = lang_lcid(l->language);
    if (!out[0].lcid)
        out[0].lcid = 1033;
    out[0].title = l->title;
    out[0].desc = l->description;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Loading what the site holds                                         */
/* ------------------------------------------------------------------ */

/* An update CI read from the site; NULL when it is not a GUID or this phase wrote it already. */
static cimap_entry *ci_from_row(sitedb *w, db_stmt *s)
{
    cimap_entry *e = cimap_put(&w->cis, db_col_text(s, 0));
    if (!e || e->seen)
        return NULL;
    e->ci_id = db_col_int(s, 1);
    e->revision = (int)db_col_int(s, 2);
    e->is_expired = db_col_int(s, 3) != 0;
    e->is_superseded = db_col_int(s, 4) != 0;
    return e;
}

static int load_cis(sitedb *w)
{
    db_stmt *s;
    int ret = db_prepare(w->d, &s,
                         "SELECT ci.CI_UniqueID, ci.CI_ID, ci.RevisionNumber, ci.IsExpired, "
                         "ci.IsSuperseded, c.Content_ID FROM CI_ConfigurationItems ci "
                         "LEFT JOIN CI_Contents c ON c.Content_UniqueID = ci.CI_UniqueID "
                         "WHERE ci.CIType_ID IN (1, 8)");
    if (ret < 0)
        return ret;
    while ((ret = db_step(s)) == 1) {
        cimap_entry *e = ci_from_row(w, s);
        if (e)
            e->content_id = db_col_is_null(s, 5) ? 0 : db_col_int(s, 5);
    }
    db_finalize(s);
    w->all_loaded = ret == 0;
    return ret < 0 ? ret : 0;
}

#define LOOKUP_IN 100 /* GUIDs per IN list */

/* "<head>(?,...)" prepared (kept by the connection) with the n GUIDs bound. */
static int in_query(sitedb *w, db_stmt **s, const char *head, const char *const *ids, size_t n)
{
    char sql[1024];
    int ret;
    *s = NULL;
    if ((ret = db_in_list_sql(sql, sizeof sql, head, n, NULL)) < 0 ||
        (ret = db_prepare_cached(w->d, s, sql)) < 0)
        return ret;
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = db_bind_text(*s, (int)i + 1, ids[i]);
    return ret;
}

/* The update CIs (and their contents) of up to LOOKUP_IN lower-case GUIDs. */
static int lookup_some(sitedb *w, const char *const *ids, size_t n)
{
    db_stmt *s;
    /*
     * CIs this phase writes carry the GUID as updxml gives it: lower case.
     * The type is checked here, not in the statement: with it there, SQLite
     * reads every update through the type's index (70 ms a list, not 0.3).
     */
    int ret = in_query(w, &s,
                       "SELECT CI_UniqueID, CI_ID, RevisionNumber, IsExpired, IsSuperseded, "
                       "CIType_ID FROM CI_ConfigurationItems WHERE CI_UniqueID IN ",
                       ids, n);
    while (ret == 0 && (ret = db_step(s)) == 1) {
        long long type = db_col_int(s, 5);
        if (type == 1 || type == 8)
            ci_from_row(w, s);
        ret = 0;
    }
    db_finalize(s);
    if (ret < 0)
        return ret;
    ret = in_query(
        w, &s, "SELECT Content_UniqueID, Content_ID FROM CI_Contents WHERE Content_UniqueID IN ",
        ids, n);
    while (ret == 0 && (ret = db_step(s)) == 1) {
        cimap_entry *e = cimap_get(&w->cis, db_col_text(s, 0));
        if (e && !e->seen)
            e->content_id = db_col_int(s, 1);
        ret = 0;
    }
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

/* Look up the GUIDs not read or asked yet (anything not a GUID is not an update CI). */
static int lookup(sitedb *w, const char *const *ids, size_t n)
{
    char batch[LOOKUP_IN][37];
    const char *ptr[LOOKUP_IN];
    size_t k = 0;
    int ret = 0;
    if (w->all_loaded)
        return 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        if (!ids[i] || cimap_get(&w->cis, ids[i]) || cimap_get(&w->asked, ids[i]))
            continue;
        cimap_entry *a = cimap_put(&w->asked, ids[i]);
        if (!a) {
            /* cimap_put refuses what is not 36 characters; anything else is memory. */
            if (strlen(ids[i]) == 36)
                ret = -ENOMEM;
            continue;
        }
        /* A copy: the table moves when it grows. */
        memcpy(batch[k], a->id, sizeof batch[k]);
        ptr[k] = batch[k];
        if (++k == LOOKUP_IN) {
            ret = lookup_some(w, ptr, k);
            k = 0;
        }
    }
    return ret == 0 && k ? lookup_some(w, ptr, k) : ret;
}

int sitedb_prefetch(sitedb *w, const char *const *ids, size_t n)
{
    /*
     * Room for what will be read and what this sync brings, at most, so the
     * table does not grow on the way (each growth rehashed it whole).
     */
    int all = !w->all_loaded && (long long)n * 4 >= w->held;
    if (cimap_reserve(&w->cis, n + (all ? (size_t)w->held : 0)) < 0)
        return -ENOMEM;
    if (w->all_loaded)
        return 0;
    /* Naming a quarter of what the site holds or more: one scan is cheaper. */
    return all ? load_cis(w) : lookup(w, ids, n);
}

static int add_name(sitedb *w, long long cat_id, int lcid, const char *name)
{
    if (w->nnames == w->capnames) {
        size_t cap = w->capnames ? w->capnames * 2 : 256;
        cat_name *p = realloc(w->names, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        w->names = p;
        w->capnames = cap;
    }
    cat_name *c = &w->names[w->nnames];
    if (!(c->name = strdup(name ? name : "")))
        return -ENOMEM;
    c->cat_id = cat_id;
    c->lcid = lcid;
    w->nnames++;
    return 0;
}

static int load_cats(sitedb *w)
{
    db_stmt *s;
    int ret = db_prepare(w->d, &s,
                         "SELECT CategoryInstanceID, CategoryInstance_UniqueID, CategoryTypeName, "
                         "ParentCategoryInstanceID FROM CI_CategoryInstances");
    if (ret < 0)
        return ret;
    while ((ret = db_step(s)) == 1) {
        const char *uid = db_col_text(s, 1), *colon = strchr(uid, ':');
        cimap_entry *e = colon ? cimap_put(&w->cats, colon + 1) : NULL;
        if (!e)
            continue; /* Locale:9 and other non-GUID categories */
        e->ci_id = db_col_int(s, 0);
        snprintf(e->cat_type, sizeof e->cat_type, "%s", db_col_text(s, 2));
        e->parent_id = db_col_is_null(s, 3) ? 0 : db_col_int(s, 3);
    }
    db_finalize(s);
    if (ret < 0)
        return ret;
    ret = db_prepare(w->d, &s,
                     "SELECT CategoryInstanceID, LocaleID, CategoryInstanceName "
                     "FROM CI_LocalizedCategoryInstances");
    if (ret < 0)
        return ret;
    while ((ret = db_step(s)) == 1)
        if ((ret = add_name(w, db_col_int(s, 0), (int)db_col_int(s, 1), db_col_text(s, 2))) < 0)
            break;
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

static int cat_cmp(const void *a, const void *b)
{
    long long x = (*(cimap_entry *const *)a)->ci_id, y = (*(cimap_entry *const *)b)->ci_id;
    return x < y ? -1 : x > y;
}

/* The categories sorted by CategoryInstanceID, rebuilt after categories were added. */
static int cat_index(sitedb *w)
{
    size_t n = 0;
    if (!w->cat_dirty && w->catv)
        return 0;
    free(w->catv);
    w->catv = malloc((w->cats.n ? w->cats.n : 1) * sizeof *w->catv);
    if (!w->catv)
        return -ENOMEM;
    for (size_t i = 0; i < w->cats.n; i++)
        w->catv[n++] = &w->cats.v[i];
    qsort(w->catv, n, sizeof *w->catv, cat_cmp);
    w->ncatv = n;
    w->cat_dirty = 0;
    return 0;
}

/* The category entry whose CategoryInstanceID is id. */
static const cimap_entry *cat_by_id(const sitedb *w, long long id)
{
    size_t lo = 0, hi = w->ncatv;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->catv[mid]->ci_id < id)
            lo = mid + 1;
        else if (w->catv[mid]->ci_id > id)
            hi = mid;
        else
            return w->catv[mid];
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Bulk load                                                           */
/* ------------------------------------------------------------------ */

/* The tables the phase writes a row or more of per update. */
static const char *const bulk_tables[] = {"CI_ConfigurationItems",
                                          "CI_UpdateInfo",
                                          "CI_LocalizedProperties",
                                          "CI_CategoryMemberships",
                                          "CI_CIUpdateSources",
                                          "CI_ConfigurationItemRelations",
                                          "CI_Contents",
                                          "CI_ContentFiles",
                                          "CI_ConfigurationItemContents"};

static int plain_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/*
 * A first sync on SQLite writes every row of these tables at once: their
 * secondary indexes are dropped here and built again from the rows by
 * sitedb_finish, inside the same transaction.  Kept up row by row, the
 * indexes on random GUIDs (CI_UniqueID, Content_UniqueID) and the others
 * cost the writer a third of its time for 100,000 updates; built at the
 * end, a fifth of that.  What other connections read meanwhile is their
 * snapshot, indexes included (WAL), and a phase that fails rolls the drop
 * back with everything else.  The statements are the schema's own, read
 * back from sqlite_master.  Not on PostgreSQL: DROP INDEX there locks the
 * table against readers until the commit.
 */
static int indexes_drop(sitedb *w)
{
    char sql[512];
    size_t ntables = sizeof bulk_tables / sizeof bulk_tables[0];
    db_stmt *s;
    int ret = db_in_list_sql(sql, sizeof sql,
                             "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql "
                             "IS NOT NULL AND tbl_name IN ",
                             ntables, " ORDER BY name");
    if (ret < 0 || (ret = db_prepare(w->d, &s, sql)) < 0)
        return ret;
    for (size_t i = 0; i < ntables && ret == 0; i++)
        ret = db_bind_text(s, (int)i + 1, bulk_tables[i]);
    char **names = NULL;
    size_t n = 0;
    while (ret == 0 && (ret = db_step(s)) == 1) {
        char **nv = realloc(names, (n + 1) * sizeof *nv);
        char **sv = realloc(w->index_sql, (n + 1) * sizeof *sv);
        if (nv)
            names = nv;
        if (sv)
            w->index_sql = sv;
        if (!nv || !sv) {
            ret = -ENOMEM;
            break;
        }
        names[n] = strdup(db_col_text(s, 0));
        w->index_sql[n] = strdup(db_col_text(s, 1));
        n++;
        ret = !names[n - 1] || !w->index_sql[n - 1] ? -ENOMEM : 0;
    }
    db_finalize(s);
    w->nindex = n;
    for (size_t i = 0; i < n && ret >= 0; i++) {
        /* The names are the schema's own: any other kind fails the phase rather than be quoted. */
        if (!plain_name(names[i])) {
            ret = CM_EDB;
            break;
        }
        snprintf(sql, sizeof sql, "DROP INDEX %s", names[i]);
        ret = run_sql(w->d, sql);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ret < 0 ? ret : 0;
}

static int indexes_rebuild(sitedb *w)
{
    int ret = 0;
    for (size_t i = 0; i < w->nindex && ret == 0; i++)
        ret = run_sql(w->d, w->index_sql[i]);
    if (ret == 0)
        w->st.indexes_rebuilt = (long)w->nindex;
    return ret;
}

/* ------------------------------------------------------------------ */
/* Begin                                                               */
/* ------------------------------------------------------------------ */

static int lock_and_number(sitedb *w)
{
    long long v = 0;
    int ret;
    if (db_get_dialect(w->d) == DB_DIALECT_POSTGRES) {
        /* Readers go on; other writers of these two tables wait for the commit. */
        ret = run_sql(w->d, "LOCK TABLE CI_ConfigurationItems, CI_Contents IN EXCLUSIVE MODE");
    } else {
        /* A write statement takes SQLite's write lock now, before the keys are read. */
        ret = run_sql(w->d, "DELETE FROM CI_ConfigurationItems WHERE CI_ID < 0 AND CI_ID > 0");
    }
    if (ret < 0)
        return ret;
    ret = db_query_int(w->d, "SELECT COALESCE(MAX(CI_ID), 0) FROM CI_ConfigurationItems", NULL,
                       NULL, &v);
    if (ret < 0)
        return ret;
    w->next_ci_id = v + 1;
    ret =
        db_query_int(w->d, "SELECT COALESCE(MAX(Content_ID), 0) FROM CI_Contents", NULL, NULL, &v);
    if (ret < 0)
        return ret;
    w->next_content_id = v + 1;
    return 0;
}

/* Rows per multi-row statement: 100 rows of 12 columns stay under SQL Server's 2,100 parameters. */
#define ROWS 100

/*
 * On SQLite the inserts say OR FAIL: a statement that may stop half-way
 * with ABORT keeps a statement journal, a copy of every page it changes,
 * so that it alone can be undone.  The phase never keeps half a statement:
 * any failure rolls the whole transaction back, so FAIL (stop, report,
 * keep the rows before) costs nothing in correctness, and saved a tenth of
 * the writer's CPU.
 */
static int open_insert(sitedb *w, bulk **b, const char *table, const char *columns,
                       const bulk_col *cols, int ncols)
{
    char head[512];
    snprintf(head, sizeof head, "INSERT%s INTO %s (%s) VALUES",
             db_get_dialect(w->d) == DB_DIALECT_SQLITE ? " OR FAIL" : "", table, columns);
    return bulk_open(w->d, b, head, "", cols, ncols, ROWS);
}

/* The writer that deletes the rows of a list of keys: "... WHERE CI_ID IN ((?), (?), ...)". */
static int open_delete(sitedb *w, bulk **b, const char *table, const char *column)
{
    static const bulk_col key[] = {{BULK_INT, 0}};
    char head[256];
    snprintf(head, sizeof head, "DELETE FROM %s WHERE %s IN (", table, column);
    return bulk_open(w->d, b, head, ")", key, 1, ROWS);
}

static int prepare_writers(sitedb *w)
{
    db *d = w->d;
    int ret;
    /*
     * Text whose size the phase knows gets a buffer of that size; text from
     * the update's XML (titles, descriptions, file names, the XML itself)
     * has no limit.
     */
#define I                                                                                          \
    {                                                                                              \
        BULK_INT, 0                                                                                \
    }
#define GUID                                                                                       \
    {                                                                                              \
        BULK_TEXT, 36                                                                              \
    }
#define TIME                                                                                       \
    {                                                                                              \
        BULK_TEXT, 31                                                                              \
    }
#define NAME                                                                                       \
    {                                                                                              \
        BULK_TEXT, 127                                                                             \
    }
#define ANY                                                                                        \
    {                                                                                              \
        BULK_TEXT, 0                                                                               \
    }
    static const bulk_col ci[] = {I, GUID, I, NAME, I, ANY, I, I, I, TIME, TIME, NAME};
    static const bulk_col info[] = {I, ANY, ANY, NAME, I, TIME, TIME, I, I, I, I, I};
    static const bulk_col loc[] = {I, I, ANY, ANY, NAME};
    static const bulk_col two[] = {I, I}, three[] = {I, I, I};
    static const bulk_col content[] = {I, GUID, I, I, NAME, TIME, TIME};
    static const bulk_col file[] = {I, ANY, ANY, ANY, I};
#undef I
#undef GUID
#undef TIME
#undef NAME
#undef ANY
#define INS(b, table, columns, cols)                                                               \
    if ((ret = open_insert(w, &w->b, table, columns, cols, (int)(sizeof cols / sizeof cols[0]))) < \
        0)                                                                                         \
        return ret;
#define DEL(b, table, column)                                                                      \
    if ((ret = open_delete(w, &w->b, table, column)) < 0)                                          \
        return ret;
    INS(ins_ci, "CI_ConfigurationItems",
        "CI_ID, CI_UniqueID, CIType_ID, ModelName, RevisionNumber, SDMPackageDigest, IsExpired, "
        "IsSuperseded, IsHidden, DateCreated, DateLastModified, SourceSite",
        ci);
    INS(ins_info, "CI_UpdateInfo",
        "CI_ID, ArticleID, BulletinID, UpdateType, Severity, DatePosted, DateRevised, "
        "MaxExecutionTime, RequiresExclusiveHandling, RevisionNumber, EULAExists, Size",
        info);
    INS(ins_loc, "CI_LocalizedProperties",
        "CI_ID, LocaleID, DisplayName, Description, InformativeURL", loc);
    INS(ins_member, "CI_CategoryMemberships", "CI_ID, CategoryInstanceID", two);
    INS(ins_rel, "CI_ConfigurationItemRelations", "FromCI_ID, ToCI_ID, RelationType", three);
    INS(ins_src, "CI_CIUpdateSources", "CI_ID, UpdateSource_ID, MinSourceVersion", three);
    INS(ins_content, "CI_Contents",
        "Content_ID, Content_UniqueID, ContentType, ContentVersion, SourceSite, DateCreated, "
        "DateLastModified",
        content);
    INS(ins_file, "CI_ContentFiles", "Content_ID, FileName, SourceURL, FileHash, FileSize", file);
    INS(ins_cicontent, "CI_ConfigurationItemContents", "CI_ID, Content_ID", two);
    DEL(del_info, "CI_UpdateInfo", "CI_ID");
    DEL(del_loc, "CI_LocalizedProperties", "CI_ID");
    DEL(del_member, "CI_CategoryMemberships", "CI_ID");
    DEL(del_rel, "CI_ConfigurationItemRelations", "FromCI_ID");
    DEL(del_src, "CI_CIUpdateSources", "CI_ID");
    DEL(del_file, "CI_ContentFiles", "Content_ID");
#undef INS
#undef DEL
    static const bulk_col key[] = {{BULK_INT, 0}};
    int sqlite = db_get_dialect(d) == DB_DIALECT_SQLITE;
    if ((ret = bulk_open(d, &w->upd_sup,
                         sqlite ? "UPDATE OR FAIL CI_ConfigurationItems SET IsSuperseded = 1 "
                                  "WHERE CI_ID IN ("
                                : "UPDATE CI_ConfigurationItems SET IsSuperseded = 1 "
                                  "WHERE CI_ID IN (",
                         ")", key, 1, ROWS)) < 0)
        return ret;
    if ((ret = db_prepare(d, &w->upd_sup_old,
                          "UPDATE CI_ConfigurationItems SET IsSuperseded = 1, DateLastModified = ? "
                          "WHERE CI_ID = ?")) < 0)
        return ret;
    if ((ret = db_prepare(d, &w->upd_ci,
                          "UPDATE CI_ConfigurationItems SET CIType_ID = ?, ModelName = ?, "
                          "RevisionNumber = ?, SDMPackageDigest = ?, IsExpired = ?, IsHidden = ?, "
                          "DateLastModified = ?, SourceSite = ? WHERE CI_ID = ?")) < 0)
        return ret;
    return db_prepare(d, &w->upd_content,
                      "UPDATE CI_Contents SET ContentVersion = ?, DateLastModified = ? "
                      "WHERE Content_ID = ?");
}

int sitedb_begin(sitedb **out, db *d, const sitedb_options *o)
{
    sitedb *w = calloc(1, sizeof *w);
    int ret;
    *out = w;
    if (!w)
        return -ENOMEM;
    w->d = d;
    w->o = *o;
    syncstate_time_text(o->now ? o->now : time(NULL), w->now, sizeof w->now);
    cimap_init(&w->cis);
    cimap_init(&w->cats);
    cimap_init(&w->asked);
    if ((ret = lock_and_number(w)) < 0 ||
        (ret =
             db_query_int(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID IN (1, 8)",
                          NULL, NULL, &w->held)) < 0 ||
        (ret = load_cats(w)) < 0 || (ret = prepare_writers(w)) < 0)
        return ret;
    w->all_loaded = w->held == 0; /* a first sync has nothing to read */
    if (w->held == 0 && db_get_dialect(d) == DB_DIALECT_SQLITE)
        return indexes_drop(w);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Categories                                                          */
/* ------------------------------------------------------------------ */

static const char *stored_name(const sitedb *w, long long cat_id, int lcid)
{
    for (size_t i = 0; i < w->nnames; i++)
        if (w->names[i].cat_id == cat_id && w->names[i].lcid == lcid)
            return w->names[i].name;
    return NULL;
}

static size_t stored_name_count(const sitedb *w, long long cat_id)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nnames; i++)
        n += w->names[i].cat_id == cat_id;
    return n;
}

static void forget_names(sitedb *w, long long cat_id)
{
    size_t j = 0;
    for (size_t i = 0; i < w->nnames; i++) {
        if (w->names[i].cat_id == cat_id)
            free(w->names[i].name);
        else
            w->names[j++] = w->names[i];
    }
    w->nnames = j;
}

static int write_cat_names(sitedb *w, long long cat_id, const loc_row *rows, size_t n)
{
    db_stmt *s = NULL;
    int ret =
        exec_int(w->d, "DELETE FROM CI_LocalizedCategoryInstances WHERE CategoryInstanceID = ?",
                 cat_id, NULL);
    if (ret < 0)
        return ret;
    forget_names(w, cat_id);
    if (n == 0)
        return 0;
    ret = db_prepare(w->d, &s,
                     "INSERT INTO CI_LocalizedCategoryInstances (CategoryInstanceID, LocaleID, "
                     "CategoryInstanceName) VALUES (?, ?, ?)");
    for (size_t i = 0; i < n && ret == 0; i++) {
        if ((ret = db_bind_int(s, 1, cat_id)) < 0 || (ret = db_bind_int(s, 2, rows[i].lcid)) < 0 ||
            (ret = db_bind_text(s, 3, rows[i].title)) < 0 || (ret = db_step(s)) < 0)
            break;
        db_reset(s);
        ret = add_name(w, cat_id, rows[i].lcid, rows[i].title);
    }
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

static void mark_changed(sitedb *w, cimap_entry *e)
{
    if (!e->changed) {
        e->changed = 1;
        w->st.categories_changed++;
        w->changed++;
    }
}

int sitedb_category(sitedb *w, const updxml_update *u)
{
    const char *type = updxml_category_type_name(u->category_type);
    char uid[128];
    loc_row rows[LANG_MAX];
    size_t nrows;
    int ret;

    if (u->type != UPDXML_TYPE_CATEGORY || u->category_type == UPDXML_CAT_NONE || !type) {
        w->st.skipped++;
        if (w->o.on_item)
            w->o.on_item(w->o.ud, u, SITEDB_SKIPPED);
        return 0;
    }
    w->st.categories++;
    snprintf(uid, sizeof uid, "%s:%s", type, u->update_id);
    nrows = localized_rows(w, u, rows);
    cimap_entry *e = cimap_get(&w->cats, u->update_id);
    int is_new = !e;
    if (!e && !(e = cimap_put(&w->cats, u->update_id)))
        return -ENOMEM;
    w->cat_dirty = 1;
    snprintf(e->parent, sizeof e->parent, "%s", u->ncategories ? u->categories[0].id : "");
    e->seen = 1;

    if (is_new) {
        db_stmt *s;
        if ((ret = db_prepare(w->d, &s,
                              "INSERT INTO CI_CategoryInstances (CategoryInstance_UniqueID, "
                              "CategoryTypeName, SourceSite, DateCreated, DateLastModified) "
                              "VALUES (?, ?, ?, ?, ?)")) < 0)
            return ret;
        if ((ret = db_bind_text(s, 1, uid)) == 0 && (ret = db_bind_text(s, 2, type)) == 0 &&
            (ret = db_bind_text(s, 3, w->o.site)) == 0 && (ret = db_bind_text(s, 4, w->now)) == 0 &&
            (ret = db_bind_text(s, 5, w->now)) == 0)
            ret = db_step(s);
        db_finalize(s);
        if (ret < 0)
            return ret;
        long long id = 0;
        if ((ret = db_query_int(w->d,
                                "SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE "
                                "CategoryInstance_UniqueID = ?",
                                uid, NULL, &id)) < 0)
            return ret;
        e->ci_id = id;
        e->is_new = 1;
        snprintf(e->cat_type, sizeof e->cat_type, "%s", type);
        mark_changed(w, e);
        ret = write_cat_names(w, id, rows, nrows);
    } else {
        int differs = strcmp(e->cat_type, type) != 0 || stored_name_count(w, e->ci_id) != nrows;
        for (size_t i = 0; i < nrows && !differs; i++) {
            const char *old = stored_name(w, e->ci_id, rows[i].lcid);
            differs = !old || strcmp(old, rows[i].title ? rows[i].title : "") != 0;
        }
        if (!differs && !w->o.full)
            ret = 0;
        else {
            db_stmt *s;
            if ((ret = db_prepare(w->d, &s,
                                  "UPDATE CI_CategoryInstances SET CategoryInstance_UniqueID = ?, "
                                  "CategoryTypeName = ?, IsTombstoned = 0, DateLastModified = ? "
                                  "WHERE CategoryInstanceID = ?")) < 0)
                return ret;
            if ((ret = db_bind_text(s, 1, uid)) == 0 && (ret = db_bind_text(s, 2, type)) == 0 &&
                (ret = db_bind_text(s, 3, w->now)) == 0 && (ret = db_bind_int(s, 4, e->ci_id)) == 0)
                ret = db_step(s);
            db_finalize(s);
            if (ret < 0)
                return ret;
            snprintf(e->cat_type, sizeof e->cat_type, "%s", type);
            mark_changed(w, e);
            ret = write_cat_names(w, e->ci_id, rows, nrows);
        }
    }
    if (w->o.on_item)
        w->o.on_item(w->o.ud, u,
                     e->changed ? (is_new ? SITEDB_INSERTED : SITEDB_REVISED) : SITEDB_UNCHANGED);
    return ret;
}

int sitedb_categories_done(sitedb *w)
{
    db_stmt *s = NULL;
    int ret = 0;
    for (size_t i = 0; i < w->cats.n && ret == 0; i++) {
        cimap_entry *e = &w->cats.v[i];
        if (!e->seen)
            continue;
        const cimap_entry *p = e->parent[0] ? cimap_get(&w->cats, e->parent) : NULL;
        long long parent = p ? p->ci_id : 0;
        if (parent == e->parent_id)
            continue;
        if (!s && (ret = db_prepare(w->d, &s,
                                    "UPDATE CI_CategoryInstances SET ParentCategoryInstanceID = ?, "
                                    "DateLastModified = ? WHERE CategoryInstanceID = ?")) < 0)
            break;
        if ((ret = parent ? db_bind_int(s, 1, parent) : db_bind_null(s, 1)) < 0 ||
            (ret = db_bind_text(s, 2, w->now)) < 0 || (ret = db_bind_int(s, 3, e->ci_id)) < 0 ||
            (ret = db_step(s)) < 0)
            break;
        db_reset(s);
        e->parent_id = parent;
        w->cat_dirty = 1;
        mark_changed(w, e);
        ret = 0;
    }
    db_finalize(s);
    return ret < 0 ? ret : cat_index(w);
}

/* ------------------------------------------------------------------ */
/* Updates                                                             */
/* ------------------------------------------------------------------ */

static int add_pending(sitedb *w, long long from, const char *to, int type, int quiet)
{
    if (w->npend == w->cappend) {
        size_t cap = w->cappend ? w->cappend * 2 : 1024;
        pending_rel *p = realloc(w->pend, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        w->pend = p;
        w->cappend = cap;
    }
    pending_rel *r = &w->pend[w->npend++];
    r->from = from;
    snprintf(r->to, sizeof r->to, "%s", to);
    r->type = type;
    r->quiet = quiet;
    return 0;
}

/*
 * The target of a supersedes relation written now is marked superseded.
 * One this sync writes (its DateLastModified is already now) waits in supq
 * until its row is surely out, then goes in an IN list with the rest of
 * the batch: the rows a batch supersedes are usually recent, their pages
 * still in the cache, where a pass over the whole table at the end read
 * and rewrote nearly every page of it.  One written by an earlier sync is
 * marked at once, with the time.
 */
static int mark_superseded(sitedb *w, cimap_entry *t)
{
    int ret;
    if (t->is_superseded)
        return 0;
    t->is_superseded = 1;
    w->st.newly_superseded++;
    if (t->changed) {
        if (w->nsupq == w->capsupq) {
            size_t cap = w->capsupq ? w->capsupq * 2 : 256;
            long long *q = realloc(w->supq, cap * sizeof *q);
            if (!q)
                return -ENOMEM;
            w->supq = q;
            w->capsupq = cap;
        }
        w->supq[w->nsupq++] = t->ci_id;
        return 0;
    }
    if ((ret = db_bind_text(w->upd_sup_old, 1, w->now)) < 0 ||
        (ret = db_bind_int(w->upd_sup_old, 2, t->ci_id)) < 0 || (ret = db_step(w->upd_sup_old)) < 0)
        return ret;
    db_reset(w->upd_sup_old);
    return 0;
}

/* The queued marks, once the rows they change are written. */
static int flush_superseded(sitedb *w)
{
    int ret = 0;
    if (w->nsupq == 0)
        return 0;
    if ((ret = bulk_flush(w->ins_ci)) < 0)
        return ret;
    for (size_t i = 0; i < w->nsupq && ret == 0; i++)
        if ((ret = bulk_int(w->upd_sup, 0, w->supq[i])) == 0)
            ret = bulk_row(w->upd_sup);
    w->nsupq = 0;
    return ret < 0 ? ret : bulk_flush(w->upd_sup);
}

static int write_rel(sitedb *w, long long from, cimap_entry *to, int type)
{
    int ret;
    if ((ret = bulk_int(w->ins_rel, 0, from)) < 0 ||
        (ret = bulk_int(w->ins_rel, 1, to->ci_id)) < 0 ||
        (ret = bulk_int(w->ins_rel, 2, type)) < 0 || (ret = bulk_row(w->ins_rel)) < 0)
        return ret;
    w->st.relations++;
    return type == REL_SUPERSEDED ? mark_superseded(w, to) : 0;
}

/* One relation of the update written now, or later when its target comes later. */
static int relation(sitedb *w, long long from, const char *to_id, int type, int quiet,
                    long long *done, size_t *ndone, size_t maxdone)
{
    cimap_entry *t = cimap_get(&w->cis, to_id);
    if (!t)
        return add_pending(w, from, to_id, type, quiet);
    if (t->ci_id == from)
        return 0;
    /* The same target named twice in one list must not break the key. */
    for (size_t i = 0; i < *ndone; i++)
        if (done[i * 2] == t->ci_id && done[i * 2 + 1] == type)
            return 0;
    if (*ndone < maxdone) {
        done[*ndone * 2] = t->ci_id;
        done[*ndone * 2 + 1] = type;
        (*ndone)++;
    }
    return write_rel(w, from, t, type);
}

static int write_relations(sitedb *w, long long ci_id, const updxml_update *u)
{
    long long done[2 * 256];
    size_t ndone = 0;
    int ret = 0;
    for (size_t i = 0; i < u->nsuperseded && ret == 0; i++)
        ret = relation(w, ci_id, u->superseded[i].id, REL_SUPERSEDED, 0, done, &ndone, 256);
    for (size_t i = 0; i < u->nbundled && ret == 0; i++)
        ret = relation(w, ci_id, u->bundled[i].id, REL_BUNDLED, 0, done, &ndone, 256);
    for (size_t i = 0; i < u->nprereqs && ret == 0; i++) {
        const updxml_prereq *p = &u->prereqs[i];
        if (p->is_category)
            continue;
        for (size_t j = 0; j < p->nids && ret == 0; j++)
            ret = relation(w, ci_id, p->ids[j].id, REL_REQUIRED, 1, done, &ndone, 256);
    }
    return ret;
}

/* The update's categories and their ancestors (Company, ProductFamily), each once. */
static int write_memberships(sitedb *w, long long ci_id, const updxml_update *u)
{
    long long ids[64];
    size_t n = 0;
    int ret = cat_index(w);
    if (ret < 0)
        return ret;
    for (size_t i = 0; i < u->ncategories; i++) {
        const cimap_entry *c = cimap_get(&w->cats, u->categories[i].id);
        if (!c) {
            w->st.unknown_categories++;
            continue;
        }
        /* Walk up the parents; a cycle or a deep chain stops at the array's end. */
        for (int depth = 0; c && depth < 8 && n < sizeof ids / sizeof ids[0]; depth++) {
            size_t k;
            for (k = 0; k < n && ids[k] != c->ci_id; k++)
                ;
            if (k < n)
                break;
            ids[n++] = c->ci_id;
            c = c->parent_id ? cat_by_id(w, c->parent_id) : NULL;
        }
    }
    for (size_t i = 0; i < n && ret == 0; i++)
        if ((ret = bulk_int(w->ins_member, 0, ci_id)) == 0 &&
            (ret = bulk_int(w->ins_member, 1, ids[i])) == 0)
            ret = bulk_row(w->ins_member);
    return ret;
}

static const char *find_url(const sitedb_url *urls, size_t nurls, const char *digest)
{
    for (size_t i = 0; i < nurls; i++)
        if (urls[i].digest && strcmp(urls[i].digest, digest) == 0)
            return urls[i].url;
    return NULL;
}

static int write_content(sitedb *w, cimap_entry *e, const updxml_update *u, int existing,
                         const sitedb_url *urls, size_t nurls)
{
    char hash[UPDXML_DIGEST_SIZE + 8];
    int ret;
    if (u->nfiles == 0)
        return 0; /* a revision without files keeps its (now empty) content item */
    if (existing && e->content_id) {
        if ((ret = db_bind_int(w->upd_content, 1, u->revision)) < 0 ||
            (ret = db_bind_text(w->upd_content, 2, w->now)) < 0 ||
            (ret = db_bind_int(w->upd_content, 3, e->content_id)) < 0 ||
            (ret = db_step(w->upd_content)) < 0)
            return ret;
        db_reset(w->upd_content);
    } else {
        e->content_id = w->next_content_id++;
        w->max_content_id = e->content_id;
        bulk *b = w->ins_content, *c = w->ins_cicontent;
        if ((ret = bulk_int(b, 0, e->content_id)) < 0 || (ret = bulk_text(b, 1, e->id)) < 0 ||
            (ret = bulk_int(b, 2, 0)) < 0 || (ret = bulk_int(b, 3, u->revision)) < 0 ||
            (ret = bulk_text(b, 4, w->o.site)) < 0 || (ret = bulk_text(b, 5, w->now)) < 0 ||
            (ret = bulk_text(b, 6, w->now)) < 0 || (ret = bulk_row(b)) < 0 ||
            (ret = bulk_int(c, 0, e->ci_id)) < 0 || (ret = bulk_int(c, 1, e->content_id)) < 0 ||
            (ret = bulk_row(c)) < 0)
            return ret;
    }
    for (size_t i = 0; i < u->nfiles; i++) {
        const updxml_file *f = &u->files[i];
        const char *url = f->url ? f->url : find_url(urls, nurls, f->digest);
        snprintf(hash, sizeof hash, "%s:%s", f->algorithm[0] ? f->algorithm : "SHA1", f->digest);
        bulk *b = w->ins_file;
        if ((ret = bulk_int(b, 0, e->content_id)) < 0 ||
            (ret = bulk_text(b, 1, f->name ? f->name : "")) < 0 ||
            (ret = bulk_text(b, 2, url)) < 0 ||
            (ret = bulk_text(b, 3, f->digest[0] ? hash : NULL)) < 0 ||
            (ret = bulk_int(b, 4, f->size > 0 ? f->size : 0)) < 0 || (ret = bulk_row(b)) < 0)
            return ret;
        w->st.files++;
    }
    return 0;
}

static int write_update(sitedb *w, const sitedb_item *it, cimap_entry *e, sitedb_result how,
                        const sitedb_url *urls, size_t nurls)
{
    const updxml_update *u = it->u;
    char model[64], posted[32], kburl[128];
    const char *posted_p = xml_time(u->creation_date, posted, sizeof posted);
    long long size = 0;
    loc_row rows[LANG_MAX];
    size_t nrows = localized_rows(w, u, rows);
    int citype = u->nbundled ? 8 : 1, hidden = u->explicitly_deployable == 0;
    bulk *b;
    int ret;

    snprintf(model, sizeof model, "SUM_%s", e->id);
    for (size_t i = 0; i < u->nfiles; i++)
        size += u->files[i].size > 0 ? u->files[i].size : 0;

    if (how == SITEDB_INSERTED) {
        b = w->ins_ci;
        if ((ret = bulk_int(b, 0, e->ci_id)) < 0 || (ret = bulk_text(b, 1, e->id)) < 0 ||
            (ret = bulk_int(b, 2, citype)) < 0 || (ret = bulk_text(b, 3, model)) < 0 ||
            (ret = bulk_int(b, 4, u->revision)) < 0 ||
            (ret = bulk_text_len(b, 5, it->xml, it->xml_len)) < 0 ||
            (ret = bulk_int(b, 6, u->expired)) < 0 || (ret = bulk_int(b, 7, 0)) < 0 ||
            (ret = bulk_int(b, 8, hidden)) < 0 || (ret = bulk_text(b, 9, w->now)) < 0 ||
            (ret = bulk_text(b, 10, w->now)) < 0 || (ret = bulk_text(b, 11, w->o.site)) < 0 ||
            (ret = bulk_row(b)) < 0)
            return ret;
    } else {
        char *xml = strndup(it->xml, it->xml_len);
        db_stmt *s = w->upd_ci;
        if (!xml)
            return -ENOMEM;
        if ((ret = db_bind_int(s, 1, citype)) < 0 || (ret = db_bind_text(s, 2, model)) < 0 ||
            (ret = db_bind_int(s, 3, u->revision)) < 0 || (ret = db_bind_text(s, 4, xml)) < 0 ||
            (ret = db_bind_int(s, 5, u->expired)) < 0 || (ret = db_bind_int(s, 6, hidden)) < 0 ||
            (ret = db_bind_text(s, 7, w->now)) < 0 || (ret = db_bind_text(s, 8, w->o.site)) < 0 ||
            (ret = db_bind_int(s, 9, e->ci_id)) == 0)
            ret = db_step(s);
        db_reset(s);
        free(xml);
        if (ret < 0)
            return ret;
    }

    b = w->ins_info;
    if ((ret = bulk_int(b, 0, e->ci_id)) < 0 || (ret = bulk_text(b, 1, u->kb_article_id)) < 0 ||
        (ret = bulk_text(b, 2, u->security_bulletin_id)) < 0 ||
        (ret = bulk_text(b, 3, updxml_type_name(u->type))) < 0 ||
        (ret = bulk_int(b, 4, sitedb_severity(u->msrc_severity))) < 0 ||
        (ret = bulk_text(b, 5, posted_p)) < 0 || (ret = bulk_text(b, 6, posted_p)) < 0 ||
        (ret = bulk_int(b, 7, 600)) < 0 || (ret = bulk_int(b, 8, 0)) < 0 ||
        (ret = bulk_int(b, 9, u->revision)) < 0 || (ret = bulk_int(b, 10, 0)) < 0 ||
        (ret = bulk_int(b, 11, size)) < 0 || (ret = bulk_row(b)) < 0)
        return ret;

    if (u->kb_article_id && *u->kb_article_id)
        snprintf(kburl, sizeof kburl, "http://support.microsoft.com/kb/%.100s", u->kb_article_id);
    if (nrows == 0) {
        /* No localized text at all: the update still needs a name the console can show. */
        rows[0].lcid = w->o.langs->lcid[0];
        rows[0].title = e->id;
        rows[0].desc = NULL;
        nrows = 1;
        w->st.untitled++;
    }
    for (size_t i = 0; i < nrows; i++) {
        b = w->ins_loc;
        if ((ret = bulk_int(b, 0, e->ci_id)) < 0 || (ret = bulk_int(b, 1, rows[i].lcid)) < 0 ||
            (ret = bulk_text(b, 2, rows[i].title ? rows[i].title : e->id)) < 0 ||
            (ret = bulk_text(b, 3, rows[i].desc)) < 0 ||
            (ret = bulk_text(b, 4, u->kb_article_id && *u->kb_article_id ? kburl : NULL)) < 0 ||
            (ret = bulk_row(b)) < 0)
            return ret;
    }
    if ((ret = write_memberships(w, e->ci_id, u)) < 0 ||
        (ret = write_relations(w, e->ci_id, u)) < 0)
        return ret;
    b = w->ins_src;
    if ((ret = bulk_int(b, 0, e->ci_id)) < 0 || (ret = bulk_int(b, 1, w->o.source_id)) < 0 ||
        (ret = bulk_int(b, 2, w->o.new_version)) < 0 || (ret = bulk_row(b)) < 0)
        return ret;
    return write_content(w, e, u, how != SITEDB_INSERTED, urls, nurls);
}

static int is_update_type(const updxml_update *u)
{
    return u->type == UPDXML_TYPE_SOFTWARE || u->type == UPDXML_TYPE_DRIVER;
}

/* What the site holds of the updates of a batch and of what they name (see asked). */
static int lookup_batch(sitedb *w, const sitedb_item *items, size_t n)
{
    const char **ids = NULL;
    size_t k = 0, cap = 0;
    int ret;
    if (w->all_loaded)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const updxml_update *u = items[i].u;
        size_t need = 1 + u->nsuperseded + u->nbundled;
        for (size_t j = 0; j < u->nprereqs; j++)
            need += u->prereqs[j].is_category ? 0 : u->prereqs[j].nids;
        if (k + need > cap) {
            size_t nc = (k + need) * 2;
            const char **nv = realloc(ids, nc * sizeof *nv);
            if (!nv) {
                free(ids);
                return -ENOMEM;
            }
            ids = nv;
            cap = nc;
        }
        ids[k++] = u->update_id;
        for (size_t j = 0; j < u->nsuperseded; j++)
            ids[k++] = u->superseded[j].id;
        for (size_t j = 0; j < u->nbundled; j++)
            ids[k++] = u->bundled[j].id;
        for (size_t j = 0; j < u->nprereqs; j++)
            for (size_t m = 0; !u->prereqs[j].is_category && m < u->prereqs[j].nids; m++)
                ids[k++] = u->prereqs[j].ids[m].id;
    }
    ret = lookup(w, ids, k);
    free(ids);
    return ret;
}

int sitedb_updates(sitedb *w, const sitedb_item *items, size_t n, const sitedb_url *urls,
                   size_t nurls)
{
    sitedb_result *how = calloc(n ? n : 1, sizeof *how);
    int ret = 0, deletes = 0;
    if (!how)
        return -ENOMEM;
    if ((ret = lookup_batch(w, items, n)) < 0) {
        free(how);
        return ret;
    }
    /* Decide, and delete what revised updates will write again. */
    for (size_t i = 0; i < n && ret == 0; i++) {
        const updxml_update *u = items[i].u;
        if (u->type == UPDXML_TYPE_CATEGORY) {
            how[i] = SITEDB_SKIPPED; /* handled below, as a category */
            continue;
        }
        if (!is_update_type(u)) {
            how[i] = SITEDB_SKIPPED;
            w->st.skipped++;
            if (w->o.on_item)
                w->o.on_item(w->o.ud, u, SITEDB_SKIPPED);
            continue;
        }
        cimap_entry *e = cimap_get(&w->cis, u->update_id);
        if (e && e->seen) {
            how[i] = SITEDB_UNCHANGED; /* the same update twice in one sync */
            continue;
        }
        if (!e) {
            if (!(e = cimap_put(&w->cis, u->update_id))) {
                ret = -ENOMEM;
                break;
            }
            e->ci_id = w->next_ci_id++;
            w->max_ci_id = e->ci_id;
            e->is_new = 1;
            how[i] = SITEDB_INSERTED;
        } else if (u->revision > e->revision) {
            how[i] = SITEDB_REVISED;
        } else if (w->o.full) {
            how[i] = SITEDB_REWRITTEN;
        } else {
            how[i] = SITEDB_UNCHANGED;
        }
        e->seen = 1;
        /* Set before the writing: a relation in this batch may name it first (supq). */
        e->changed = how[i] != SITEDB_UNCHANGED;
        if (how[i] == SITEDB_REVISED || how[i] == SITEDB_REWRITTEN) {
            deletes = 1;
            bulk *dels[] = {w->del_info, w->del_loc, w->del_member, w->del_rel, w->del_src};
            for (size_t k = 0; k < sizeof dels / sizeof dels[0] && ret == 0; k++)
                if ((ret = bulk_int(dels[k], 0, e->ci_id)) == 0)
                    ret = bulk_row(dels[k]);
            if (ret == 0 && e->content_id && (ret = bulk_int(w->del_file, 0, e->content_id)) == 0)
                ret = bulk_row(w->del_file);
            if (ret < 0)
                break;
        }
    }
    if (ret == 0 && deletes) {
        bulk *dels[] = {w->del_info, w->del_loc, w->del_member,
                        w->del_rel,  w->del_src, w->del_file};
        for (size_t i = 0; i < sizeof dels / sizeof dels[0] && ret == 0; i++)
            ret = bulk_flush(dels[i]);
    }
    /* Write. */
    for (size_t i = 0; i < n && ret == 0; i++) {
        const updxml_update *u = items[i].u;
        if (u->type == UPDXML_TYPE_CATEGORY) {
            ret = sitedb_category(w, u);
            continue;
        }
        if (how[i] == SITEDB_SKIPPED)
            continue;
        w->st.updates++;
        if (how[i] == SITEDB_UNCHANGED) {
            w->st.unchanged++;
        } else {
            /* Looked up again: adding entries above may have moved the table. */
            cimap_entry *e = cimap_get(&w->cis, u->update_id);
            if ((ret = write_update(w, &items[i], e, how[i], urls, nurls)) < 0)
                break;
            if (u->expired && !e->is_expired && how[i] != SITEDB_INSERTED)
                w->st.newly_expired++;
            e->is_expired = u->expired != 0;
            e->revision = u->revision;
            w->changed++; /* e->changed was set when the batch was decided */
            if (how[i] == SITEDB_INSERTED)
                w->st.inserted++;
            else if (how[i] == SITEDB_REVISED)
                w->st.revised++;
            else
                w->st.rewritten++;
        }
        if (w->o.on_item)
            w->o.on_item(w->o.ud, u, how[i]);
    }
    free(how);
    return ret < 0 ? ret : flush_superseded(w);
}

/* ------------------------------------------------------------------ */
/* Finish                                                              */
/* ------------------------------------------------------------------ */

static int set_sequence(sitedb *w, const char *table, const char *column, long long value)
{
    char sql[256];
    db_stmt *s;
    int ret;
    /* Identity sequences do not follow explicit keys: move them past what was handed out. */
    snprintf(sql, sizeof sql,
             "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
             "GREATEST(CAST(? AS BIGINT), (SELECT COALESCE(MAX(%s), 1) FROM %s)))",
             table, column, column, table);
    if ((ret = db_prepare(w->d, &s, sql)) < 0)
        return ret;
    if ((ret = db_bind_int(s, 1, value)) == 0)
        ret = db_step(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

int sitedb_finish(sitedb *w)
{
    bulk *ins[] = {w->ins_ci,  w->ins_info,    w->ins_loc,  w->ins_member,
                   w->ins_src, w->ins_content, w->ins_file, w->ins_cicontent};
    int ret = 0;
    for (size_t i = 0; i < w->npend && ret == 0; i++) {
        pending_rel *r = &w->pend[i];
        cimap_entry *t = cimap_get(&w->cis, r->to);
        if (!t) {
            if (!r->quiet)
                w->st.unresolved_relations++;
            continue;
        }
        if (t->ci_id == r->from)
            continue;
        /* A duplicate of a relation already written would break the key. */
        int dup = 0;
        /* The relations of one update are next to each other in the list. */
        for (size_t j = i; j-- > 0 && w->pend[j].from == r->from && !dup;)
            dup = w->pend[j].type == r->type && strcmp(w->pend[j].to, r->to) == 0;
        if (!dup)
            ret = write_rel(w, r->from, t, r->type);
    }
    for (size_t i = 0; i < sizeof ins / sizeof ins[0] && ret == 0; i++)
        ret = bulk_flush(ins[i]);
    if (ret == 0)
        ret = bulk_flush(w->ins_rel);
    if (ret == 0)
        ret = flush_superseded(w);
    if (ret == 0)
        ret = indexes_rebuild(w);
    if (ret < 0)
        return ret;
    if (db_get_dialect(w->d) == DB_DIALECT_POSTGRES) {
        if (w->max_ci_id &&
            (ret = set_sequence(w, "ci_configurationitems", "ci_id", w->max_ci_id)) < 0)
            return ret;
        if (w->max_content_id &&
            (ret = set_sequence(w, "ci_contents", "content_id", w->max_content_id)) < 0)
            return ret;
    }
    return 0;
}

int sitedb_known_revision(const sitedb *w, const char *update_id)
{
    const cimap_entry *e = cimap_get(&w->cis, update_id);
    return e ? e->revision : 0;
}

long sitedb_changed(const sitedb *w)
{
    return w->changed;
}

const sitedb_stats *sitedb_get_stats(const sitedb *w)
{
    return &w->st;
}

void sitedb_free(sitedb *w)
{
    if (!w)
        return;
    bulk *all[] = {w->ins_ci,  w->ins_info,    w->ins_loc,  w->ins_member,    w->ins_rel,
                   w->ins_src, w->ins_content, w->ins_file, w->ins_cicontent, w->del_info,
                   w->del_loc, w->del_member,  w->del_rel,  w->del_src,       w->del_file};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        bulk_close(all[i]);
    bulk_close(w->upd_sup);
    db_finalize(w->upd_ci);
    db_finalize(w->upd_content);
    db_finalize(w->upd_sup_old);
    free(w->supq);
    for (size_t i = 0; i < w->nnames; i++)
        free(w->names[i].name);
    free(w->names);
    free(w->pend);
    free(w->catv);
    for (size_t i = 0; i < w->nindex; i++)
        free(w->index_sql[i]);
    free(w->index_sql);
    cimap_free(&w->cis);
    cimap_free(&w->cats);
    cimap_free(&w->asked);
    free(w);
}
