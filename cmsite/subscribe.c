/*
 * subscribe.c - cmsite subscribe: the Products and Classifications tabs of
 * the software update point component.  It lists the categories known to
 * the site (CI_CategoryInstances, named by CI_LocalizedCategoryInstances)
 * with their subscription, and subscribes or unsubscribes products and
 * classifications by writing CI_UpdateCategorySubscription, as the SMS
 * Provider does.  The SubNotify_iu_WCM trigger records the change, smsdbmon
 * drops <CategoryInstanceID>.CSB into WSUSMgr.box, and WCM applies the new
 * subscription to the software update points.
 *
 * Categories normally reach the site database with a synchronization.  A
 * site that has none yet (before its first sync) cannot choose anything,
 * so then the categories are read from the site's first software update
 * point (ExecuteSPGetCategories) and inserted, as a sync would insert them.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "cmsite.h"
#include "wsusapi.h"

#define MAX_ARGS 256

typedef struct category {
    long long id;
    char unique_id[128];
    char type[32];
    char title[512];
    int subscribed;
} category;

typedef struct request {
    const char *arg;
    int classification; /* --classification, else --product */
} request;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cmsite subscribe [--root DIR] [--all]\n"
            "       cmsite subscribe [--root DIR] [--remove] [--product ID|TITLE]...\n"
            "                        [--classification ID|TITLE]...\n"
            "  Without --product or --classification, lists the products and classifications\n"
            "  known to the site, [x] marking those the site synchronizes (--all adds the\n"
            "  companies and product families).  --product and --classification subscribe to\n"
            "  a category, named by its title (\"Windows Server 2012\"), its GUID or its unique\n"
            "  ID (Product:<guid>); with --remove they unsubscribe.  The change is written to\n"
            "  CI_UpdateCategorySubscription: smsdbmon drops <CategoryInstanceID>.CSB into\n"
            "  WSUSMgr.box and WCM applies it to the software update points (WCM.log).\n"
            "  Categories come from the site database, filled by synchronization.  When the\n"
            "  site has no products or classifications yet, they are read from the site's\n"
            "  first software update point and inserted into CI_CategoryInstances.\n");
}

/* ------------------------------------------------------------------ */
/* Categories from the software update point                            */
/* ------------------------------------------------------------------ */

static int count_categories(db *d, long long *n)
{
    return db_query_int(d,
                        "SELECT COUNT(*) FROM CI_CategoryInstances WHERE IsTombstoned = 0 AND "
                        "CategoryTypeName IN ('Product', 'UpdateClassification')",
                        NULL, NULL, n);
}

typedef struct sup_row {
    char server[256];
    int port, use_ssl;
    char account[256], password[256];
} sup_row;

static int first_sup(db *d, const char *site, sup_row *s)
{
    db_stmt *st;
    int ret = db_prepare(d, &st,
                         "SELECT ServerName, PortNumber, SSLPortNumber, UseSSL, "
                         "ConnectionAccount, ConnectionPassword FROM SoftwareUpdatePoints "
                         "WHERE SiteCode = ? ORDER BY InstallOrder, SUP_ID");
    if (ret < 0)
        return ret;
    memset(s, 0, sizeof *s);
    if ((ret = db_bind_text(st, 1, site)) == 0 && (ret = db_step(st)) == 1) {
        snprintf(s->server, sizeof s->server, "%s", db_col_text(st, 0));
        s->use_ssl = db_col_int(st, 3) != 0;
        s->port = (int)db_col_int(st, s->use_ssl ? 2 : 1);
        snprintf(s->account, sizeof s->account, "%s", db_col_text(st, 4));
        snprintf(s->password, sizeof s->password, "%s", db_col_text(st, 5));
        ret = 0;
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(st);
    return ret;
}

/* Run one statement with up to three text parameters; changes in *changes. */
static int exec3(db *d, const char *sql, const char *p1, const char *p2, const char *p3,
                 long long *changes)
{
    db_stmt *st;
    int ret = db_prepare(d, &st, sql);
    if (ret < 0)
        return ret;
    const char *p[] = {p1, p2, p3};
    for (int i = 0; i < 3 && ret == 0 && p[i]; i++)
        ret = db_bind_text(st, i + 1, p[i]);
    if (ret == 0)
        ret = db_step(st);
    if (changes)
        *changes = db_changes(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

static const char *type_of(const wsusapi_category *v, size_t n, const char *guid)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i].id, guid) == 0)
            return v[i].type;
    return NULL;
}

/* Insert the SUP's categories that the site lacks, with English names and parents. */
static int insert_categories(db *d, const char *site, const wsusapi_category *v, size_t n,
                             size_t *added)
{
    char uid[128], puid[128];
    long long ch;
    int ret;
    *added = 0;
    if ((ret = db_begin(d)) < 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        long long id = 0;
        snprintf(uid, sizeof uid, "%s:%s", v[i].type, v[i].id);
        ret = db_query_int(d,
                           "SELECT CategoryInstanceID FROM CI_CategoryInstances WHERE "
                           "CategoryInstance_UniqueID = ?",
                           uid, NULL, &id);
        if (ret == 0)
            continue;
        if (ret != CM_ENOTFOUND)
            goto fail;
        if ((ret = exec3(d,
                         "INSERT INTO CI_CategoryInstances (CategoryInstance_UniqueID, "
                         "CategoryTypeName, SourceSite) VALUES (?, ?, ?)",
                         uid, v[i].type, site, NULL)) < 0 ||
            (ret = exec3(d,
                         "INSERT INTO CI_LocalizedCategoryInstances (CategoryInstanceID, "
                         "LocaleID, CategoryInstanceName) SELECT CategoryInstanceID, 1033, ? "
                         "FROM CI_CategoryInstances WHERE CategoryInstance_UniqueID = ?",
                         v[i].title, uid, NULL, NULL)) < 0)
            goto fail;
        (*added)++;
    }
    /* Parents once every category has its row. */
    for (size_t i = 0; i < n; i++) {
        const char *ptype = v[i].parent_id[0] ? type_of(v, n, v[i].parent_id) : NULL;
        if (!ptype)
            continue;
        snprintf(uid, sizeof uid, "%s:%s", v[i].type, v[i].id);
        snprintf(puid, sizeof puid, "%s:%s", ptype, v[i].parent_id);
        if ((ret = exec3(d,
                         "UPDATE CI_CategoryInstances SET ParentCategoryInstanceID = (SELECT "
                         "p.CategoryInstanceID FROM CI_CategoryInstances p WHERE "
                         "p.CategoryInstance_UniqueID = ?) WHERE CategoryInstance_UniqueID = ? "
                         "AND ParentCategoryInstanceID IS NULL",
                         puid, uid, NULL, &ch)) < 0)
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return ret;
}

static int fetch_from_sup(db *d, const site_ini *ini)
{
    sup_row s;
    wsusapi *c = NULL;
    wsusapi_category *v = NULL;
    size_t n = 0, added = 0;
    int ret = first_sup(d, ini->site_code, &s);
    if (ret == CM_ENOTFOUND) {
        fprintf(stderr,
                "cmsite: site %s knows no products or classifications yet and has no software "
                "update point to read them from.\n",
                ini->site_code);
        return 1;
    }
    if (ret < 0) {
        fprintf(stderr, "cmsite: subscribe failed: %s\n", db_errmsg(d));
        return 1;
    }
    /* The same trust settings WCM uses for this SUP. */
    char ca[1024] = "";
    long long insecure = 0, timeout = 60;
    config_setting wcm[] = {
        {"SSL CA File", CONFIG_STR, 0, "", NULL, ca, sizeof ca},
        {"SSL Skip Certificate Check", CONFIG_INT, 0, NULL, &insecure, NULL, 0},
        {"Connection Timeout", CONFIG_INT, 60, NULL, &timeout, NULL, 0},
    };
    config_defaults(wcm, 3);
    if (config_refresh(d, ini->site_code, "SMS_WSUS_CONFIGURATION_MANAGER", wcm, 3, NULL) < 0) {
        fprintf(stderr, "cmsite: subscribe failed: %s\n", db_errmsg(d));
        return 1;
    }
    wsusapi_target t = {.host = s.server,
                        .port = s.port,
                        .use_ssl = s.use_ssl,
                        .user = s.account[0] ? s.account : NULL,
                        .password = s.password,
                        .timeout_s = timeout > 0 ? timeout : 60,
                        .ca_file = ca[0] ? ca : NULL,
                        .insecure = insecure != 0};
    if ((ret = wsusapi_connect(&c, &t)) < 0 || (ret = wsusapi_get_categories(c, &v, &n)) < 0) {
        fprintf(stderr,
                "cmsite: site %s knows no products or classifications yet, and reading them from "
                "its software update point %s (port %d) failed: %s.\n"
                "Start the site (cmsite start) so the software update point answers, or run a "
                "synchronization (cmsite syncnow) to fill the categories.\n",
                ini->site_code, s.server, s.port, c ? wsusapi_error(c) : cm_strerror(ret));
        wsusapi_close(c);
        return 1;
    }
    wsusapi_close(c);
    if (n == 0) {
        fprintf(stderr,
                "cmsite: site %s knows no products or classifications yet, and its software "
                "update point %s has none either.\n"
                "Synchronize first (cmsite syncnow): the first synchronization brings the "
                "categories, then choose the products and classifications here.\n",
                ini->site_code, s.server);
        return 1;
    }
    ret = insert_categories(d, ini->site_code, v, n, &added);
    free(v);
    if (ret < 0) {
        fprintf(stderr, "cmsite: inserting the categories failed: %s\n", db_errmsg(d));
        return 1;
    }
    printf("Site %s knew no products or classifications yet: read %zu categories from its "
           "software update point %s and inserted %zu into CI_CategoryInstances (a "
           "synchronization updates them).\n\n",
           ini->site_code, n, s.server, added);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The site's categories                                               */
/* ------------------------------------------------------------------ */

static int type_rank(const char *t)
{
    static const char *order[] = {"Company", "ProductFamily", "Product", "UpdateClassification"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(t, order[i]) == 0)
            return i;
    return 4;
}

static int cmp_category(const void *a, const void *b)
{
    const category *x = a, *y = b;
    int r = type_rank(x->type) - type_rank(y->type);
    if (r)
        return r;
    r = strcasecmp(x->title, y->title);
    return r ? r : strcmp(x->unique_id, y->unique_id);
}

static int load(db *d, category **out, size_t *n)
{
    db_stmt *st;
    category *v = NULL;
    size_t cnt = 0;
    int ret = db_prepare(
        d, &st,
        "SELECT ci.CategoryInstanceID, ci.CategoryInstance_UniqueID, ci.CategoryTypeName, "
        "COALESCE(l.CategoryInstanceName, (SELECT MIN(x.CategoryInstanceName) FROM "
        "CI_LocalizedCategoryInstances x WHERE x.CategoryInstanceID = ci.CategoryInstanceID), ''), "
        "COALESCE(s.IsSubscribed, 0) FROM CI_CategoryInstances ci "
        "LEFT JOIN CI_LocalizedCategoryInstances l ON l.CategoryInstanceID = "
        "ci.CategoryInstanceID AND l.LocaleID = 1033 "
        "LEFT JOIN CI_UpdateCategorySubscription s ON s.CategoryInstanceID = "
        "ci.CategoryInstanceID WHERE ci.IsTombstoned = 0");
    *out = NULL;
    *n = 0;
    if (ret < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        category *nv = realloc(v, (cnt + 1) * sizeof *v);
        if (!nv) {
            ret = CM_EDB;
            break;
        }
        v = nv;
        category *c = &v[cnt++];
        c->id = db_col_int(st, 0);
        snprintf(c->unique_id, sizeof c->unique_id, "%s", db_col_text(st, 1));
        snprintf(c->type, sizeof c->type, "%s", db_col_text(st, 2));
        snprintf(c->title, sizeof c->title, "%s", db_col_text(st, 3));
        c->subscribed = db_col_int(st, 4) != 0;
    }
    db_finalize(st);
    if (ret < 0) {
        free(v);
        return ret;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_category);
    *out = v;
    *n = cnt;
    return 0;
}

static void print_section(const category *v, size_t n, const char *type, const char *heading)
{
    size_t total = 0, sub = 0;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i].type, type) == 0) {
            total++;
            sub += v[i].subscribed != 0;
        }
    printf("%s (%zu, %zu subscribed):\n", heading, total, sub);
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i].type, type) == 0)
            printf("  [%c] %-48s %s\n", v[i].subscribed ? 'x' : ' ',
                   v[i].title[0] ? v[i].title : "(no name)", v[i].unique_id);
    if (!total)
        printf("  (none)\n");
}

/* The lower-case GUID of an argument that is a GUID or a unique ID, else "". */
static void arg_guid(const char *arg, char out[40])
{
    const char *p = strchr(arg, ':');
    p = p ? p + 1 : arg;
    size_t n = strlen(p);
    out[0] = '\0';
    if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
        p++;
        n -= 2;
    }
    if (n != 36)
        return;
    for (size_t i = 0; i < 36; i++) {
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? p[i] != '-'
                                                      : !isxdigit((unsigned char)p[i])) {
            out[0] = '\0';
            return;
        }
        out[i] = (char)tolower((unsigned char)p[i]);
    }
    out[36] = '\0';
}

static int type_fits(const category *c, int classification)
{
    if (classification)
        return strcasecmp(c->type, "UpdateClassification") == 0;
    return strcasecmp(c->type, "Product") == 0 || strcasecmp(c->type, "ProductFamily") == 0 ||
           strcasecmp(c->type, "Company") == 0;
}

/* The one category an argument names; NULL (after saying why) when none or several. */
static category *resolve(category *v, size_t n, const request *r)
{
    char guid[40];
    category *hit = NULL;
    size_t hits = 0;
    const char *what = r->classification ? "classification" : "product";
    arg_guid(r->arg, guid);
    for (size_t i = 0; i < n; i++) {
        if (!type_fits(&v[i], r->classification))
            continue;
        const char *colon = strchr(v[i].unique_id, ':');
        int match = strcasecmp(v[i].unique_id, r->arg) == 0 ||
                    (guid[0] && colon && strcasecmp(colon + 1, guid) == 0) ||
                    strcasecmp(v[i].title, r->arg) == 0;
        if (match) {
            hit = &v[i];
            hits++;
        }
    }
    if (hits == 1)
        return hit;
    if (!hits) {
        fprintf(stderr,
                "cmsite: no %s '%s' is known to the site; `cmsite subscribe%s` lists them.\n", what,
                r->arg, r->classification ? "" : " --all");
        return NULL;
    }
    fprintf(stderr, "cmsite: '%s' names %zu %ss; give one of their IDs:\n", r->arg, hits, what);
    for (size_t i = 0; i < n; i++)
        if (type_fits(&v[i], r->classification) && strcasecmp(v[i].title, r->arg) == 0)
            fprintf(stderr, "  %s  %s\n", v[i].unique_id, v[i].title);
    return NULL;
}

/* The current UTC time in the dialect's words. */
static const char *now_utc(db *d)
{
    switch (db_get_dialect(d)) {
    case DB_DIALECT_POSTGRES:
        return "(now() AT TIME ZONE 'utc')";
    case DB_DIALECT_MSSQL:
        return "GETUTCDATE()";
    default:
        return "CURRENT_TIMESTAMP";
    }
}

/* Write one subscription row: update it, or insert it when the category has none yet. */
static int write_subscription(db *d, long long id, int on)
{
    char sql[256];
    db_stmt *st;
    long long changes = 0;
    snprintf(sql, sizeof sql,
             "UPDATE CI_UpdateCategorySubscription SET IsSubscribed = ?, DateLastModified = %s "
             "WHERE CategoryInstanceID = ?",
             now_utc(d));
    int ret = db_prepare(d, &st, sql);
    if (ret < 0)
        return ret;
    if ((ret = db_bind_int(st, 1, on)) == 0 && (ret = db_bind_int(st, 2, id)) == 0 &&
        (ret = db_step(st)) >= 0)
        changes = db_changes(st);
    db_finalize(st);
    if (ret < 0 || changes)
        return ret < 0 ? ret : 0;
    snprintf(sql, sizeof sql,
             "INSERT INTO CI_UpdateCategorySubscription (CategoryInstanceID, IsSubscribed, "
             "DateLastModified) VALUES (?, ?, %s)",
             now_utc(d));
    if ((ret = db_prepare(d, &st, sql)) < 0)
        return ret;
    if ((ret = db_bind_int(st, 1, id)) == 0 && (ret = db_bind_int(st, 2, on)) == 0)
        ret = db_step(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

static int apply(db *d, const site_ini *ini, const char *root, category *v, size_t n,
                 const request *reqs, size_t nreqs, int on)
{
    category *hits[MAX_ARGS];
    int changed[MAX_ARGS] = {0};
    size_t nchanged = 0;
    int ret;
    for (size_t i = 0; i < nreqs; i++)
        if (!(hits[i] = resolve(v, n, &reqs[i])))
            return 2;
    if ((ret = db_begin(d)) < 0)
        goto fail;
    for (size_t i = 0; i < nreqs; i++) {
        category *c = hits[i];
        if (c->subscribed == on)
            continue;
        if ((ret = write_subscription(d, c->id, on)) < 0) {
            db_rollback(d);
            goto fail;
        }
        c->subscribed = on;
        changed[i] = 1;
        nchanged++;
        printf("%s %s (%s)\n", on ? "Subscribed to" : "Unsubscribed from", c->unique_id, c->title);
    }
    if ((ret = db_commit(d)) < 0)
        goto fail;
    for (size_t i = 0; i < nreqs; i++) {
        int dup = 0;
        for (size_t k = 0; k < i; k++)
            dup |= hits[k] == hits[i];
        if (!dup && !changed[i])
            printf("%s %s (%s) already.\n", on ? "Subscribed to" : "Not subscribed to",
                   hits[i]->unique_id, hits[i]->title);
    }
    if (nchanged) {
        long pid;
        printf("\nsmsdbmon drops a .CSB notification into WSUSMgr.box; WCM then configures the "
               "software update points of site %s (see WCM.log).\n",
               ini->site_code);
        if (!cmsite_running(root, "wcm", &pid))
            printf("WCM is not running: it applies the change when the site starts (cmsite "
                   "start).\n");
    }
    return 0;
fail:
    fprintf(stderr, "cmsite: subscribe failed: %s\n", db_errmsg(d));
    return 1;
}

int cmd_subscribe(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"product", required_argument, NULL, 'p'},
                                         {"classification", required_argument, NULL, 'c'},
                                         {"remove", no_argument, NULL, 'x'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    request reqs[MAX_ARGS];
    size_t nreqs = 0;
    const char *root = NULL;
    int all = 0, remove = 0, c, ret, rc;
    char abs_root[4096];
    site_ini ini;
    db *d;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:p:c:xah", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'p':
        case 'c':
            if (nreqs == MAX_ARGS) {
                fprintf(stderr, "cmsite: at most %d categories at a time\n", MAX_ARGS);
                return 2;
            }
            reqs[nreqs].arg = optarg;
            reqs[nreqs++].classification = c == 'c';
            break;
        case 'x':
            remove = 1;
            break;
        case 'a':
            all = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cmsite: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (remove && !nreqs) {
        fprintf(stderr, "cmsite: --remove needs --product or --classification\n");
        usage(stderr);
        return 2;
    }
    root = cmsite_root(root);
    if ((ret = cmsite_open(root, &ini, &d)) != 0)
        return ret;
    snprintf(abs_root, sizeof abs_root, "%s", ini.root[0] ? ini.root : root);

    long long count = 0;
    if ((ret = count_categories(d, &count)) < 0 && ret != CM_ENOTFOUND) {
        fprintf(stderr, "cmsite: subscribe failed: %s\n", db_errmsg(d));
        db_close(d);
        return 1;
    }
    if (count == 0 && (rc = fetch_from_sup(d, &ini)) != 0) {
        db_close(d);
        return rc;
    }
    category *v;
    size_t n;
    if ((ret = load(d, &v, &n)) < 0) {
        fprintf(stderr, "cmsite: subscribe failed: %s\n", db_errmsg(d));
        db_close(d);
        return 1;
    }
    if (nreqs) {
        rc = apply(d, &ini, abs_root, v, n, reqs, nreqs, !remove);
    } else {
        if (all) {
            print_section(v, n, "Company", "Companies");
            print_section(v, n, "ProductFamily", "Product families");
        }
        print_section(v, n, "Product", "Products");
        print_section(v, n, "UpdateClassification", "Classifications");
        rc = 0;
    }
    free(v);
    db_close(d);
    return rc;
}
