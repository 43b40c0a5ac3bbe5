/*
 * sitedb.c - WCM's reads and writes of the site database (see sitedb.h).
 * Every value is a bound parameter; ordering that must not depend on a
 * server's collation is done here in C.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "sitedb.h"

static const char sql_site[] =
    "SELECT SiteType, ParentSiteCode FROM SiteControl WHERE SiteCode = ?";

static const char sql_sups[] =
    "SELECT SUP_ID, ServerName, PortNumber, SSLPortNumber, UseSSL, IsInternetFacing, "
    "InstallOrder, ConnectionAccount, ConnectionPassword, UseProxy, ProxyName, ProxyPort, "
    "ProxyAccount, ProxyPassword, WCMConfigState FROM SoftwareUpdatePoints WHERE SiteCode = ? "
    "ORDER BY InstallOrder, SUP_ID";

/* The English name when there is one, else any name the category has. */
static const char sql_cats[] =
    "SELECT ci.CategoryInstance_UniqueID, ci.CategoryTypeName, "
    "COALESCE(l.CategoryInstanceName, (SELECT MIN(x.CategoryInstanceName) FROM "
    "CI_LocalizedCategoryInstances x WHERE x.CategoryInstanceID = ci.CategoryInstanceID), '') "
    "FROM CI_CategoryInstances ci "
    "LEFT JOIN CI_LocalizedCategoryInstances l ON l.CategoryInstanceID = ci.CategoryInstanceID "
    "AND l.LocaleID = 1033 "
    "WHERE ci.IsTombstoned = 0 AND (? = 0 OR ci.CategoryInstanceID IN (SELECT "
    "s.CategoryInstanceID FROM CI_UpdateCategorySubscription s WHERE s.IsSubscribed = 1))";

static void copy_col(char *out, size_t len, db_stmt *st, int col)
{
    snprintf(out, len, "%s", db_col_text(st, col));
}

static int load_sups(db *d, const char *site, desired_sup **out, size_t *n)
{
    db_stmt *st;
    desired_sup *v = NULL;
    size_t cnt = 0;
    int ret = db_prepare(d, &st, sql_sups);
    *out = NULL;
    *n = 0;
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, site)) < 0)
        goto done;
    while ((ret = db_step(st)) == 1) {
        desired_sup *nv = realloc(v, (cnt + 1) * sizeof *v);
        if (!nv) {
            ret = -ENOMEM;
            goto done;
        }
        v = nv;
        desired_sup *s = &v[cnt++];
        memset(s, 0, sizeof *s);
        s->id = db_col_int(st, 0);
        snprintf(s->site, sizeof s->site, "%s", site);
        copy_col(s->server, sizeof s->server, st, 1);
        s->port = (int)db_col_int(st, 2);
        s->ssl_port = (int)db_col_int(st, 3);
        s->use_ssl = db_col_int(st, 4) != 0;
        s->internet_facing = db_col_int(st, 5) != 0;
        s->install_order = (int)db_col_int(st, 6);
        copy_col(s->account, sizeof s->account, st, 7);
        copy_col(s->password, sizeof s->password, st, 8);
        s->use_proxy = db_col_int(st, 9) != 0;
        copy_col(s->proxy_name, sizeof s->proxy_name, st, 10);
        s->proxy_port = db_col_is_null(st, 11) ? 0 : (int)db_col_int(st, 11);
        copy_col(s->proxy_account, sizeof s->proxy_account, st, 12);
        copy_col(s->proxy_password, sizeof s->proxy_password, st, 13);
        s->state = (int)db_col_int(st, 14);
    }
done:
    db_finalize(st);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int cmp_cat(const void *a, const void *b)
{
    return strcmp(((const desired_category *)a)->unique_id,
                  ((const desired_category *)b)->unique_id);
}

static int load_cats(db *d, int subscribed_only, desired_category **out, size_t *n)
{
    db_stmt *st;
    desired_category *v = NULL;
    size_t cnt = 0;
    int ret = db_prepare(d, &st, sql_cats);
    *out = NULL;
    *n = 0;
    if (ret < 0)
        return ret;
    if ((ret = db_bind_int(st, 1, subscribed_only)) < 0)
        goto done;
    while ((ret = db_step(st)) == 1) {
        desired_category c;
        memset(&c, 0, sizeof c);
        copy_col(c.unique_id, sizeof c.unique_id, st, 0);
        copy_col(c.title, sizeof c.title, st, 2);
        /* A unique ID that is not "<Type>:<GUID>" cannot be sent to a WSUS server. */
        if (desired_category_parse(c.unique_id, c.type, sizeof c.type, c.guid) < 0)
            continue;
        if (db_col_text(st, 1)[0])
            copy_col(c.type, sizeof c.type, st, 1);
        desired_category *nv = realloc(v, (cnt + 1) * sizeof *v);
        if (!nv) {
            ret = -ENOMEM;
            goto done;
        }
        v = nv;
        v[cnt++] = c;
    }
done:
    db_finalize(st);
    if (ret < 0) {
        free(v);
        return ret;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_cat);
    *out = v;
    *n = cnt;
    return 0;
}

int sitedb_categories(db *d, desired_category **out, size_t *n)
{
    return load_cats(d, 0, out, n);
}

static int load_site(db *d, const site_ini *ini, desired_site *site)
{
    db_stmt *st;
    int ret = db_prepare(d, &st, sql_site);
    memset(site, 0, sizeof *site);
    snprintf(site->code, sizeof site->code, "%s", ini->site_code);
    snprintf(site->type, sizeof site->type, "%s", ini->site_type[0] ? ini->site_type : "PRIMARY");
    snprintf(site->parent, sizeof site->parent, "%s", ini->parent_site);
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, ini->site_code)) == 0 && (ret = db_step(st)) == 1) {
        if (db_col_text(st, 0)[0])
            copy_col(site->type, sizeof site->type, st, 0);
        copy_col(site->parent, sizeof site->parent, st, 1);
    }
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

int sitedb_load(db *d, const site_ini *ini, desired_input *in)
{
    desired_sup *parent = NULL;
    size_t nparent = 0;
    int ret;
    char src[64] = "", up[512] = "", off[1024] = "", langs[512] = "";
    config_setting sync[] = {
        {"Sync Source", CONFIG_STR, 0, "MicrosoftUpdate", NULL, src, sizeof src},
        {"Upstream Server", CONFIG_STR, 0, "", NULL, up, sizeof up},
        {"Offline Catalog Path", CONFIG_STR, 0, "", NULL, off, sizeof off},
        {"Languages", CONFIG_STR, 0, "en", NULL, langs, sizeof langs},
    };

    memset(in, 0, sizeof *in);
    if ((ret = load_site(d, ini, &in->site)) < 0)
        return ret;
    if ((ret = load_sups(d, in->site.code, &in->sups, &in->nsups)) < 0)
        goto fail;
    if (in->site.parent[0]) {
        if ((ret = load_sups(d, in->site.parent, &parent, &nparent)) < 0)
            goto fail;
        if (nparent) {
            in->parent_sup = parent[0];
            in->has_parent_sup = 1;
        }
        free(parent);
    }
    config_defaults(sync, sizeof sync / sizeof sync[0]);
    if ((ret = config_refresh(d, in->site.code, "SMS_WSUS_SYNC_MANAGER", sync,
                              sizeof sync / sizeof sync[0], NULL)) < 0)
        goto fail;
    snprintf(in->sync.source, sizeof in->sync.source, "%s", src);
    snprintf(in->sync.upstream, sizeof in->sync.upstream, "%s", up);
    snprintf(in->sync.offline_path, sizeof in->sync.offline_path, "%s", off);
    snprintf(in->sync.languages, sizeof in->sync.languages, "%s", langs);
    if ((ret = load_cats(d, 1, &in->cats, &in->ncats)) < 0)
        goto fail;
    return 0;
fail:
    desired_input_free(in);
    return ret;
}

/* The current UTC time in the dialect's words (the time columns hold UTC). */
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

int sitedb_set_state(db *d, long long sup_id, int state, const char *error)
{
    char sql[256], err[1024];
    db_stmt *st;
    /* WCMLastError is VARCHAR(1024): cut a long text at a character boundary. */
    snprintf(err, sizeof err, "%s", error ? error : "");
    size_t n = strlen(err);
    if (n > 1000) {
        n = 1000;
        while (n && ((unsigned char)err[n] & 0xC0) == 0x80)
            n--;
        err[n] = '\0';
    }
    snprintf(sql, sizeof sql,
             "UPDATE SoftwareUpdatePoints SET WCMConfigState = ?, WCMConfigStateTime = %s, "
             "WCMLastError = ? WHERE SUP_ID = ?",
             now_utc(d));
    int ret = db_prepare(d, &st, sql);
    if (ret < 0)
        return ret;
    if ((ret = db_bind_int(st, 1, state)) == 0 &&
        (ret = db_bind_text(st, 2, err[0] ? err : NULL)) == 0 &&
        (ret = db_bind_int(st, 3, sup_id)) == 0)
        ret = db_step(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

int sitedb_set_version(db *d, long long sup_id, const char *version)
{
    db_stmt *st;
    int ret =
        db_prepare(d, &st, "UPDATE SoftwareUpdatePoints SET WSUSVersion = ? WHERE SUP_ID = ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, version)) == 0 && (ret = db_bind_int(st, 2, sup_id)) == 0)
        ret = db_step(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}
