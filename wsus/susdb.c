/*
 * susdb.c - wsusd's database: schema, settings, subscription, the update
 * store of the sync and the queries of the web services (see susdb.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <openssl/crypto.h>
#include <sql.h>
#include <sqlext.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cm_error.h"
#include "embedded.h"
#include "susdb.h"

/* Compiled in from wsus/sql/<dialect>/ by components/embed.py. */
extern const embedded_file susdb_sqlite_files[];
extern const size_t susdb_sqlite_count;
extern const embedded_file susdb_postgresql_files[];
extern const size_t susdb_postgresql_count;

/*
 * StepAPI=1: libsqliteodbc then steps a SELECT as the caller fetches its
 * rows, instead of reading the whole result into memory of its own at
 * SQLExecute.  GetUpdateData reads a few hundred kilobytes of update XML a
 * call; copied whole first, it cost wsusd a tenth of its CPU in a sync.
 */
void susdb_default_connection(const char *root, char *buf, size_t len)
{
    snprintf(buf, len, "Driver=SQLite3;StepAPI=1;Database=%s/data/susdb.db", root);
}

int susdb_apply(db *d, const char **failed)
{
    const embedded_file *files;
    size_t count;
    switch (db_get_dialect(d)) {
    case DB_DIALECT_SQLITE: {
        files = susdb_sqlite_files;
        count = susdb_sqlite_count;
        /*
         * A new file gets 16 KB pages (the XML makes long rows; fewer, larger
         * writes).  WAL fixes the page size, so it is set with the journal
         * back in DELETE mode, on the empty file only.
         */
        long long tables = 0;
        if (db_query_int(d, "SELECT COUNT(*) FROM sqlite_master", NULL, NULL, &tables) == 0 &&
            tables == 0 &&
            (db_exec(d, "PRAGMA journal_mode=DELETE") < 0 ||
             db_exec(d, "PRAGMA page_size=16384") < 0 || db_exec(d, "VACUUM") < 0 ||
             db_exec(d, "PRAGMA journal_mode=WAL") < 0)) {
            if (failed)
                *failed = "page size";
            return CM_EDB;
        }
        break;
    }
    case DB_DIALECT_POSTGRES:
        files = susdb_postgresql_files;
        count = susdb_postgresql_count;
        break;
    default:
        if (failed)
            *failed = db_dialect_name(db_get_dialect(d));
        return CM_ENOTFOUND;
    }
    for (size_t i = 0; i < count; i++) {
        int ret = db_exec_script(d, files[i].text);
        if (ret < 0) {
            if (failed)
                *failed = files[i].name;
            return ret;
        }
    }
    return 0;
}

int susdb_tune(db *d)
{
    if (db_get_dialect(d) != DB_DIALECT_SQLITE)
        return 0;
    /*
     * WAL with synchronous NORMAL cannot corrupt the file; a power cut may
     * lose the last batches, which the next sync fetches again (anchors move
     * only after a pass).  A larger page cache keeps the indexes in memory.
     */
    int ret = db_exec(d, "PRAGMA synchronous=NORMAL");
    if (ret == 0)
        ret = db_exec(d, "PRAGMA cache_size=-65536");
    /* Checkpoint less often: a page changed by many commits is copied once. */
    if (ret == 0)
        ret = db_exec(d, "PRAGMA wal_autocheckpoint=8192");
    return ret;
}

int susdb_init_root(const char *root, char *errbuf, size_t errlen)
{
    char path[4200], conn[4300];
    const char *failed = NULL;
    db *d = NULL;
    int ret;
    snprintf(path, sizeof path, "%s/data", root);
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", path, strerror(errno));
        return -errno;
    }
    susdb_default_connection(root, conn, sizeof conn);
    if ((ret = db_open(&d, conn)) < 0) {
        snprintf(errbuf, errlen, "cannot open %s/susdb.db: %s", path,
                 d ? db_errmsg(d) : cm_strerror(ret));
        db_close(d);
        return ret;
    }
    if ((ret = susdb_apply(d, &failed)) < 0)
        snprintf(errbuf, errlen, "creating the WSUS database failed in %s: %s",
                 failed ? failed : "?", db_errmsg(d));
    else {
        char id[37];
        if ((ret = susdb_server_id(d, id)) < 0)
            snprintf(errbuf, errlen, "cannot record the WSUS server ID: %s", db_errmsg(d));
    }
    db_close(d);
    return ret;
}

void susdb_now(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

/* "YYYY-MM-DD HH:MM:SS[.mmm]" (or with 'T', 'Z') to time_t; 0 when empty or bad. */
static time_t parse_db_time(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || sscanf(s, "%d-%d-%d%*[ T]%d:%d:%d", &y, &mo, &d, &h, &mi, &se) < 3 || y < 1971)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return timegm(&tm);
}

static void fmt_db_time(char *buf, size_t len, time_t t)
{
    struct tm tm;
    if (t <= 0) {
        buf[0] = '\0';
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S.000", &tm);
}

/* Run one statement with text parameters (NULL ends the list); *changes when asked. */
static int exec_params(db *d, const char *sql, const char *const *params, long long *changes)
{
    db_stmt *st;
    int ret = db_prepare(d, &st, sql);
    if (ret < 0)
        return ret;
    for (int i = 0; params && params[i]; i++)
        if ((ret = db_bind_text(st, i + 1, params[i])) < 0)
            goto done;
    ret = db_step(st);
    if (changes)
        *changes = db_changes(st);
done:
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

int susdb_get(db *d, const char *name, char *buf, size_t len)
{
    db_stmt *st;
    int ret = db_prepare_cached(d, &st, "SELECT Value FROM tbConfiguration WHERE Name = ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, name)) == 0 && (ret = db_step(st)) == 1) {
        snprintf(buf, len, "%s", db_col_text(st, 0));
        ret = 0;
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(st);
    return ret;
}

int susdb_set(db *d, const char *name, const char *value)
{
    long long n = 0;
    const char *p[] = {value ? value : "", name, NULL};
    int ret = exec_params(d, "UPDATE tbConfiguration SET Value = ? WHERE Name = ?", p, &n);
    if (ret < 0 || n > 0)
        return ret;
    const char *q[] = {name, value ? value : "", NULL};
    return exec_params(d, "INSERT INTO tbConfiguration (Name, Value) VALUES (?, ?)", q, NULL);
}

long long susdb_get_int(db *d, const char *name, long long def)
{
    char buf[64], *end;
    if (susdb_get(d, name, buf, sizeof buf) < 0)
        return def;
    long long v = strtoll(buf, &end, 10);
    return end == buf ? def : v;
}

static void new_guid(char out[37])
{
    unsigned char b[16] = {0};
    if (RAND_bytes(b, sizeof b) != 1) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        memcpy(b, &tv, sizeof tv < sizeof b ? sizeof tv : sizeof b);
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int susdb_server_id(db *d, char out[37])
{
    char buf[64];
    int ret = susdb_get(d, "ServerID", buf, sizeof buf);
    if (ret == 0 && wsusss_guid_parse(buf, out) == 0)
        return 0;
    if (ret < 0 && ret != CM_ENOTFOUND)
        return ret;
    new_guid(out);
    return susdb_set(d, "ServerID", out);
}

/* ------------------------------------------------------------------ */
/* Account                                                             */
/* ------------------------------------------------------------------ */

#define PBKDF2_ITERATIONS 2000

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return CM_EPARSE;
        out[i] = (unsigned char)v;
    }
    return s[2 * n] == '\0' || s[2 * n] == '$' ? 0 : CM_EPARSE;
}

static int derive(const char *password, const unsigned char *salt, int iterations,
                  unsigned char out[32])
{
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, 16, iterations, EVP_sha256(),
                             32, out) == 1
               ? 0
               : CM_EDB;
}

int susdb_set_account(db *d, const char *user, const char *password)
{
    unsigned char salt[16], key[32];
    char rec[200], sh[33], kh[65];
    int ret;
    if (!user || !*user) {
        if ((ret = susdb_set(d, "ApiAccountName", "")) < 0)
            return ret;
        return susdb_set(d, "ApiAccountPasswordHash", "");
    }
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        derive(password ? password : "", salt, PBKDF2_ITERATIONS, key) < 0)
        return CM_EDB;
    hex(salt, sizeof salt, sh);
    hex(key, sizeof key, kh);
    snprintf(rec, sizeof rec, "pbkdf2-sha256$%d$%s$%s", PBKDF2_ITERATIONS, sh, kh);
    if ((ret = susdb_set(d, "ApiAccountName", user)) < 0)
        return ret;
    return susdb_set(d, "ApiAccountPasswordHash", rec);
}

int susdb_check_account(db *d, const char *user, const char *password)
{
    char name[256], rec[256];
    unsigned char salt[16], want[32], got[32];
    int iterations, ret;
    if ((ret = susdb_get(d, "ApiAccountName", name, sizeof name)) < 0 && ret != CM_ENOTFOUND)
        return ret;
    if (ret == CM_ENOTFOUND || !name[0])
        return CM_ENOTFOUND;
    if (!user || !password || strcmp(user, name) != 0)
        return 0;
    if ((ret = susdb_get(d, "ApiAccountPasswordHash", rec, sizeof rec)) < 0)
        return ret == CM_ENOTFOUND ? 0 : ret;
    const char *p = rec;
    if (strncmp(p, "pbkdf2-sha256$", 14) != 0)
        return 0;
    p += 14;
    iterations = atoi(p);
    p = strchr(p, '$');
    if (!p || iterations < 1 || iterations > 10000000 || unhex(p + 1, salt, sizeof salt) < 0)
        return 0;
    p = strchr(p + 1, '$');
    if (!p || unhex(p + 1, want, sizeof want) < 0 || derive(password, salt, iterations, got) < 0)
        return 0;
    return CRYPTO_memcmp(want, got, sizeof got) == 0;
}

static const char *source_key(wsusapi_source s)
{
    return s == WSUSAPI_SOURCE_UPSTREAM  ? "UpstreamServer"
           : s == WSUSAPI_SOURCE_OFFLINE ? "OfflineCatalog"
                                         : "MicrosoftUpdate";
}

static void get_str(db *d, const char *name, char *buf, size_t len, const char *def)
{
    if (susdb_get(d, name, buf, len) < 0)
        snprintf(buf, len, "%s", def);
}

int susdb_config_load(db *d, wsusapi_config *cfg)
{
    char src[32];
    db_stmt *st;
    int ret;
    wsusapi_config_defaults(cfg);
    get_str(d, "SyncSource", src, sizeof src, "MicrosoftUpdate");
    cfg->source = strcmp(src, "UpstreamServer") == 0   ? WSUSAPI_SOURCE_UPSTREAM
                  : strcmp(src, "OfflineCatalog") == 0 ? WSUSAPI_SOURCE_OFFLINE
                                                       : WSUSAPI_SOURCE_MU;
    get_str(d, "UpstreamServerName", cfg->upstream_server, sizeof cfg->upstream_server, "");
    cfg->upstream_port = (int)susdb_get_int(d, "UpstreamServerPortNumber", 8530);
    cfg->upstream_ssl = (int)susdb_get_int(d, "UpstreamServerUseSsl", 0);
    cfg->replica_mode = (int)susdb_get_int(d, "IsReplicaServer", 0);
    get_str(d, "MUUrl", cfg->mu_url, sizeof cfg->mu_url, "generated:");
    get_str(d, "OfflineCatalogPath", cfg->offline_path, sizeof cfg->offline_path, "");
    cfg->use_proxy = (int)susdb_get_int(d, "UseProxy", 0);
    get_str(d, "ProxyName", cfg->proxy_name, sizeof cfg->proxy_name, "");
    cfg->proxy_port = (int)susdb_get_int(d, "ProxyServerPort", 80);
    get_str(d, "ProxyUserName", cfg->proxy_user, sizeof cfg->proxy_user, "");
    get_str(d, "ProxyUserDomain", cfg->proxy_domain, sizeof cfg->proxy_domain, "");
    get_str(d, "ProxyPassword", cfg->proxy_password, sizeof cfg->proxy_password, "");
    cfg->all_languages = (int)susdb_get_int(d, "AllUpdateLanguagesEnabled", 0);
    cfg->languages[0] = '\0';
    if ((ret = db_prepare(d, &st,
                          "SELECT ShortLanguage FROM tbLanguage WHERE Enabled = 1 "
                          "ORDER BY LanguageID")) < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        size_t l = strlen(cfg->languages);
        snprintf(cfg->languages + l, sizeof cfg->languages - l, "%s%s", l ? "," : "",
                 db_col_text(st, 0));
    }
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

int susdb_config_save(db *d, const wsusapi_config *cfg)
{
    char num[32];
    int ret;
    const char *langs = cfg->languages;
    /* Check the languages before changing anything. */
    char list[sizeof cfg->languages];
    snprintf(list, sizeof list, "%s", langs);
    for (char *save = NULL, *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        long long n = 0;
        if ((ret = db_query_int(d, "SELECT COUNT(*) FROM tbLanguage WHERE ShortLanguage = ?", t,
                                NULL, &n)) < 0)
            return ret;
        if (!n)
            return CM_ERANGE;
    }
    if ((ret = db_begin(d)) < 0)
        return ret;
#define SETS(k, v)                                                                                 \
    if ((ret = susdb_set(d, k, v)) < 0)                                                            \
        goto fail;
#define SETI(k, v)                                                                                 \
    snprintf(num, sizeof num, "%d", (int)(v));                                                     \
    if ((ret = susdb_set(d, k, num)) < 0)                                                          \
        goto fail;
    SETS("SyncSource", source_key(cfg->source));
    SETS("UpstreamServerName", cfg->upstream_server);
    SETI("UpstreamServerPortNumber", cfg->upstream_port);
    SETI("UpstreamServerUseSsl", cfg->upstream_ssl);
    SETI("IsReplicaServer", cfg->replica_mode);
    SETS("MUUrl", cfg->mu_url[0] ? cfg->mu_url : "generated:");
    SETS("OfflineCatalogPath", cfg->offline_path);
    SETI("UseProxy", cfg->use_proxy);
    SETS("ProxyName", cfg->proxy_name);
    SETI("ProxyServerPort", cfg->proxy_port);
    SETS("ProxyUserName", cfg->proxy_user);
    SETS("ProxyUserDomain", cfg->proxy_domain);
    if (cfg->proxy_password[0]) {
        SETS("ProxyPassword", cfg->proxy_password);
    }
    SETI("AllUpdateLanguagesEnabled", cfg->all_languages);
#undef SETS
#undef SETI
    if (langs[0]) {
        if ((ret = db_exec(d, "UPDATE tbLanguage SET Enabled = 0")) < 0)
            goto fail;
        snprintf(list, sizeof list, "%s", langs);
        for (char *save = NULL, *t = strtok_r(list, ", ", &save); t;
             t = strtok_r(NULL, ", ", &save)) {
            const char *p[] = {t, NULL};
            if ((ret = exec_params(d, "UPDATE tbLanguage SET Enabled = 1 WHERE ShortLanguage = ?",
                                   p, NULL)) < 0)
                goto fail;
        }
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Subscription                                                        */
/* ------------------------------------------------------------------ */

static int add_id(char ***arr, size_t *n, const char *id)
{
    char **na = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!na)
        return -ENOMEM;
    *arr = na;
    if (!(na[*n] = strdup(id)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

int susdb_subscription_load(db *d, wsusapi_subscription *sub)
{
    db_stmt *st;
    int ret;
    memset(sub, 0, sizeof *sub);
    sub->syncs_per_day = 1;
    if ((ret = db_prepare(d, &st,
                          "SELECT SynchronizeAutomatically, SynchronizeAutomaticallyTimeOfDay, "
                          "NumberOfSynchronizationsPerDay, LastSynchronizationTime, LastModifiedBy "
                          "FROM tbSubscription WHERE SubscriptionID = 1")) < 0)
        return ret;
    if ((ret = db_step(st)) == 1) {
        sub->sync_automatically = (int)db_col_int(st, 0);
        sub->time_of_day_s = (long)db_col_int(st, 1);
        sub->syncs_per_day = (int)db_col_int(st, 2);
        sub->last_sync_time = parse_db_time(db_col_text(st, 3));
        snprintf(sub->last_modified_by, sizeof sub->last_modified_by, "%s", db_col_text(st, 4));
    }
    db_finalize(st);
    if (ret < 0)
        return ret;
    if ((ret = db_prepare(d, &st,
                          "SELECT CategoryID, CategoryType FROM tbSubscriptionCategory "
                          "ORDER BY CategoryType, CategoryID")) < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        int cls = strcmp(db_col_text(st, 1), "UpdateClassification") == 0;
        int r = cls ? add_id(&sub->classification_ids, &sub->nclassifications, db_col_text(st, 0))
                    : add_id(&sub->product_ids, &sub->nproducts, db_col_text(st, 0));
        if (r < 0) {
            ret = r;
            break;
        }
    }
    db_finalize(st);
    if (ret < 0) {
        wsusapi_subscription_free(sub);
        return ret;
    }
    return 0;
}

int susdb_subscription_save(db *d, const wsusapi_subscription *sub, const char *modified_by)
{
    char now[40], a[16], t[16], n[16];
    int ret;
    susdb_now(now, sizeof now);
    snprintf(a, sizeof a, "%d", sub->sync_automatically ? 1 : 0);
    snprintf(t, sizeof t, "%ld", sub->time_of_day_s);
    snprintf(n, sizeof n, "%d", sub->syncs_per_day);
    if ((ret = db_begin(d)) < 0)
        return ret;
    const char *p[] = {a, t, n, modified_by ? modified_by : "", now, NULL};
    if ((ret = exec_params(d,
                           "UPDATE tbSubscription SET SynchronizeAutomatically = CAST(? AS "
                           "INTEGER), SynchronizeAutomaticallyTimeOfDay = CAST(? AS INTEGER), "
                           "NumberOfSynchronizationsPerDay = CAST(? AS INTEGER), LastModifiedBy = "
                           "?, LastModifiedTime = ? WHERE SubscriptionID = 1",
                           p, NULL)) < 0 ||
        (ret = db_exec(d, "DELETE FROM tbSubscriptionCategory")) < 0)
        goto fail;
    for (size_t i = 0; i < sub->nproducts + sub->nclassifications; i++) {
        int cls = i >= sub->nproducts;
        const char *id = cls ? sub->classification_ids[i - sub->nproducts] : sub->product_ids[i];
        const char *q[] = {id, cls ? "UpdateClassification" : "Product", NULL};
        long long have = 0;
        if ((ret = db_query_int(d,
                                "SELECT COUNT(*) FROM tbSubscriptionCategory WHERE CategoryID = ? "
                                "AND CategoryType = ?",
                                q[0], q[1], &have)) < 0)
            goto fail;
        if (!have && (ret = exec_params(d,
                                        "INSERT INTO tbSubscriptionCategory (CategoryID, "
                                        "CategoryType) VALUES (?, ?)",
                                        q, NULL)) < 0)
            goto fail;
    }
    return db_commit(d);
fail:
    db_rollback(d);
    return ret;
}

int susdb_last_sync_load(db *d, wsusapi_sync_info *info)
{
    db_stmt *st;
    int ret;
    memset(info, 0, sizeof *info);
    if ((ret = db_prepare(d, &st,
                          "SELECT LastSyncResult, LastSyncStartTime, LastSyncEndTime, "
                          "LastSyncError, LastSyncNewUpdates, LastSyncRevisedUpdates, "
                          "LastSyncExpiredUpdates FROM tbSubscription WHERE SubscriptionID = 1")) <
        0)
        return ret;
    if ((ret = db_step(st)) == 1) {
        const char *r = db_col_text(st, 0);
        info->result = strcmp(r, "Succeeded") == 0  ? WSUSAPI_RESULT_SUCCEEDED
                       : strcmp(r, "Failed") == 0   ? WSUSAPI_RESULT_FAILED
                       : strcmp(r, "Canceled") == 0 ? WSUSAPI_RESULT_CANCELED
                                                    : WSUSAPI_RESULT_NEVER;
        info->start_time = parse_db_time(db_col_text(st, 1));
        info->end_time = parse_db_time(db_col_text(st, 2));
        snprintf(info->error, sizeof info->error, "%s", db_col_text(st, 3));
        info->new_updates = db_col_int(st, 4);
        info->revised_updates = db_col_int(st, 5);
        info->expired_updates = db_col_int(st, 6);
    }
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

int susdb_last_sync_save(db *d, const wsusapi_sync_info *info)
{
    static const char *names[] = {"Never", "Succeeded", "Failed", "Canceled"};
    char st[40], en[40], nn[32], rv[32], ex[32];
    db_stmt *s;
    int ret;
    fmt_db_time(st, sizeof st, info->start_time);
    fmt_db_time(en, sizeof en, info->end_time);
    snprintf(nn, sizeof nn, "%lld", info->new_updates);
    snprintf(rv, sizeof rv, "%lld", info->revised_updates);
    snprintf(ex, sizeof ex, "%lld", info->expired_updates);
    if ((ret = db_prepare(d, &s,
                          "UPDATE tbSubscription SET LastSyncResult = ?, LastSyncStartTime = ?, "
                          "LastSyncEndTime = ?, LastSyncError = ?, LastSyncNewUpdates = ?, "
                          "LastSyncRevisedUpdates = ?, LastSyncExpiredUpdates = ?, "
                          "LastSynchronizationTime = CASE WHEN ? = 'Succeeded' THEN ? ELSE "
                          "LastSynchronizationTime END WHERE SubscriptionID = 1")) < 0)
        return ret;
    const char *res = names[info->result <= WSUSAPI_RESULT_CANCELED ? info->result : 0];
    db_bind_text(s, 1, res);
    db_bind_text(s, 2, st);
    db_bind_text(s, 3, en);
    db_bind_text(s, 4, info->error);
    db_bind_int(s, 5, info->new_updates);
    db_bind_int(s, 6, info->revised_updates);
    db_bind_int(s, 7, info->expired_updates);
    db_bind_text(s, 8, res);
    db_bind_text(s, 9, en);
    ret = db_step(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

int susdb_languages(db *d, wsusss_language **out, size_t *n)
{
    db_stmt *st;
    size_t cap = 0, cnt = 0;
    wsusss_language *v = NULL;
    int ret;
    *out = NULL;
    *n = 0;
    if ((ret = db_prepare(d, &st,
                          "SELECT LanguageID, ShortLanguage, LongLanguage, Enabled FROM tbLanguage "
                          "ORDER BY LanguageID")) < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            wsusss_language *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            v = nv;
        }
        v[cnt].id = (int)db_col_int(st, 0);
        snprintf(v[cnt].short_name, sizeof v[cnt].short_name, "%s", db_col_text(st, 1));
        snprintf(v[cnt].long_name, sizeof v[cnt].long_name, "%s", db_col_text(st, 2));
        v[cnt].enabled = (int)db_col_int(st, 3);
        cnt++;
    }
    db_finalize(st);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* ------------------------------------------------------------------ */
/* GUID map: update GUID -> LocalUpdateID and highest revision stored  */
/* ------------------------------------------------------------------ */

typedef struct guid_entry {
    char id[37];
    long long local_id;
    int max_revision; /* 0: referenced only */
} guid_entry;

typedef struct guid_map {
    guid_entry *e;
    size_t cap, n;
} guid_map;

static size_t guid_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static guid_entry *map_find(guid_map *m, const char *id)
{
    if (!m->cap)
        return NULL;
    for (size_t i = guid_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].id[0])
            return NULL;
        if (strcmp(m->e[i].id, id) == 0)
            return &m->e[i];
    }
}

static guid_entry *map_put(guid_map *m, const char *id, long long local_id, int max_rev)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        guid_entry *ne = calloc(ncap, sizeof *ne);
        if (!ne)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].id[0])
                continue;
            size_t j = guid_hash(m->e[i].id) & (ncap - 1);
            while (ne[j].id[0])
                j = (j + 1) & (ncap - 1);
            ne[j] = m->e[i];
        }
        free(m->e);
        m->e = ne;
        m->cap = ncap;
    }
    size_t i = guid_hash(id) & (m->cap - 1);
    while (m->e[i].id[0] && strcmp(m->e[i].id, id) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->e[i].id[0]) {
        snprintf(m->e[i].id, sizeof m->e[i].id, "%s", id);
        m->n++;
    }
    m->e[i].local_id = local_id;
    m->e[i].max_revision = max_rev;
    return &m->e[i];
}

static void map_free(guid_map *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

/*
 * Rows held back and written as multi-row INSERTs when a batch is flushed:
 * one statement for many rows costs little more than one for one row, and
 * the store writes a dozen rows per update.  These statements go through
 * the ODBC handles directly (db_native_handle), prepared once and executed
 * again and again: through db_step the SQLite driver would parse the long
 * statement text again at every execution.  Values are copied.
 */
#define RB_MAX_PARAMS 64

typedef struct rb_cell {
    int kind; /* 1 int, 2 text, 3 null */
    long long iv;
    char *sv;
    SQLLEN ind;
} rb_cell;

typedef struct rowbuf {
    db *d;
    const char *head; /* "INSERT INTO t (a, b) VALUES " */
    int ncols, max_rows;
    int rows, col;
    rb_cell cells[RB_MAX_PARAMS];
    SQLHSTMT full, one;
} rowbuf;

static int rb_prepare(rowbuf *b, int rows, SQLHSTMT *out)
{
    char sql[2048];
    SQLHDBC dbc = db_native_handle(b->d);
    SQLHSTMT h = SQL_NULL_HSTMT;
    size_t n = (size_t)snprintf(sql, sizeof sql, "%s", b->head);
    *out = SQL_NULL_HSTMT;
    for (int r = 0; r < rows && n < sizeof sql; r++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(", r ? "," : "");
        for (int c = 0; c < b->ncols && n < sizeof sql; c++)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s?", c ? "," : "");
        n += (size_t)snprintf(sql + n, sizeof sql - n, ")");
    }
    if (n >= sizeof sql)
        return CM_ETOOBIG;
    if (!dbc)
        return CM_EDBCONN;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h)))
        return db_native_error(b->d, SQL_HANDLE_DBC, dbc, "allocate a statement");
    if (!SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)sql, SQL_NTS))) {
        int ret = db_native_error(b->d, SQL_HANDLE_STMT, h, "prepare");
        SQLFreeHandle(SQL_HANDLE_STMT, h);
        return ret;
    }
    *out = h;
    return 0;
}

static int rb_open(rowbuf *b, db *d, const char *head, int ncols)
{
    int ret;
    memset(b, 0, sizeof *b);
    b->d = d;
    b->head = head;
    b->ncols = ncols;
    b->max_rows = RB_MAX_PARAMS / ncols;
    if ((ret = rb_prepare(b, b->max_rows, &b->full)) < 0 || (ret = rb_prepare(b, 1, &b->one)) < 0)
        return ret;
    return 0;
}

static void rb_clear(rowbuf *b)
{
    for (int i = 0; i < b->rows * b->ncols + b->col; i++) {
        free(b->cells[i].sv);
        b->cells[i].sv = NULL;
    }
    b->rows = b->col = 0;
}

static void rb_close(rowbuf *b)
{
    rb_clear(b);
    /* Handles of a connection that was lost went with it. */
    if (db_native_handle(b->d)) {
        if (b->full)
            SQLFreeHandle(SQL_HANDLE_STMT, b->full);
        if (b->one)
            SQLFreeHandle(SQL_HANDLE_STMT, b->one);
    }
    b->full = b->one = SQL_NULL_HSTMT;
}

/* Run h over rows [first, first + nrows) of the buffer. */
static int rb_exec(rowbuf *b, SQLHSTMT h, int first, int nrows)
{
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < b->ncols; c++) {
            rb_cell *cell = &b->cells[(first + r) * b->ncols + c];
            SQLUSMALLINT idx = (SQLUSMALLINT)(r * b->ncols + c + 1);
            SQLRETURN rc;
            if (cell->kind == 1) {
                cell->ind = 0;
                rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                                      &cell->iv, 0, &cell->ind);
            } else if (cell->kind == 2) {
                size_t len = strlen(cell->sv);
                cell->ind = (SQLLEN)len;
                rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                                      len ? len : 1, 0, cell->sv, (SQLLEN)len + 1, &cell->ind);
            } else {
                cell->ind = SQL_NULL_DATA;
                rc = SQLBindParameter(h, idx, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 1, 0, NULL,
                                      0, &cell->ind);
            }
            if (!SQL_SUCCEEDED(rc))
                return db_native_error(b->d, SQL_HANDLE_STMT, h, "bind");
        }
    SQLRETURN rc = SQLExecute(h);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        return db_native_error(b->d, SQL_HANDLE_STMT, h, "insert");
    return 0;
}

/* Write every complete row held back. */
static int rb_flush(rowbuf *b)
{
    int ret = 0;
    if (b->rows == b->max_rows)
        ret = rb_exec(b, b->full, 0, b->rows);
    else
        for (int r = 0; r < b->rows && ret == 0; r++)
            ret = rb_exec(b, b->one, r, 1);
    rb_clear(b);
    return ret;
}

static rb_cell *rb_next(rowbuf *b)
{
    rb_cell *c = &b->cells[b->rows * b->ncols + b->col++];
    free(c->sv);
    memset(c, 0, sizeof *c);
    return c;
}

static void rb_int(rowbuf *b, long long v)
{
    rb_cell *c = rb_next(b);
    c->kind = 1;
    c->iv = v;
}

/* Text (NULL writes NULL); -ENOMEM is reported by rb_end. */
static void rb_text(rowbuf *b, const char *v)
{
    rb_cell *c = rb_next(b);
    if (!v) {
        c->kind = 3;
        return;
    }
    c->kind = 2;
    c->sv = strdup(v);
    if (!c->sv)
        c->kind = 0;
}

static void rb_null(rowbuf *b)
{
    rb_next(b)->kind = 3;
}

/* The row is complete: flush when the buffer is full. */
static int rb_end(rowbuf *b)
{
    for (int c = 0; c < b->ncols; c++)
        if (b->cells[b->rows * b->ncols + c].kind == 0) {
            b->col = 0;
            return -ENOMEM;
        }
    b->col = 0;
    b->rows++;
    return b->rows == b->max_rows ? rb_flush(b) : 0;
}

/* ------------------------------------------------------------------ */
/* Store                                                               */
/* ------------------------------------------------------------------ */

enum { RB_UPDATE, RB_REV, RB_XML, RB_RIC, RB_SUP, RB_BUNDLE, RB_LOC, RB_FILE, RB_FFR, RB_COUNT };

static const struct {
    const char *head;
    int ncols;
} rb_def[RB_COUNT] = {
    {"INSERT INTO tbUpdate (LocalUpdateID, UpdateID, UpdateTypeName, ImportedTime) VALUES ", 4},
    {"INSERT INTO tbRevision (RevisionID, LocalUpdateID, RevisionNumber, IsLatestRevision, "
     "IsCategory, UpdateType, CategoryType, PublicationState, IsExpired, KBArticleID, "
     "SecurityBulletinID, MsrcSeverity, CreationDate, ImportedTime, ChangeAnchor) VALUES ",
     15},
    {"INSERT INTO tbXml (RevisionID, RootElementXml) VALUES ", 2},
    {"INSERT INTO tbRevisionInCategory (RevisionID, CategoryID) VALUES ", 2},
    {"INSERT INTO tbRevisionSupersedesUpdate (RevisionID, SupersededUpdateID) VALUES ", 2},
    {"INSERT INTO tbBundleDependency (RevisionID, BundledUpdateID, BundledRevisionNumber) VALUES ",
     3},
    {"INSERT INTO tbPreComputedLocalizedProperty (RevisionID, ShortLanguage, Title, Description) "
     "VALUES ",
     4},
    {"INSERT INTO tbFile (FileDigest, FileName, Size, DigestAlgorithm, MUURL) VALUES ", 5},
    {"INSERT INTO tbFileForRevision (RevisionID, FileDigest) VALUES ", 2},
};

enum { ST_SET_TYPE, ST_CLR_LATEST, ST_DEL_CAT, ST_INS_CAT, ST_SEL_FILE, ST_SET_FILE_URL, ST_COUNT };

static const char *const store_sql[ST_COUNT] = {
    "UPDATE tbUpdate SET UpdateTypeName = ? WHERE LocalUpdateID = ?",
    "UPDATE tbRevision SET IsLatestRevision = 0 WHERE LocalUpdateID = ? AND IsLatestRevision = 1",
    "DELETE FROM tbCategory WHERE CategoryID = ?",
    "INSERT INTO tbCategory (CategoryID, CategoryType, ParentCategoryID, DisplayOrder) VALUES (?, "
    "?, ?, ?)",
    "SELECT MUURL FROM tbFile WHERE FileDigest = ?",
    "UPDATE tbFile SET MUURL = ? WHERE FileDigest = ?",
};

struct susdb_store {
    db *d;
    db_stmt *st[ST_COUNT];
    rowbuf rb[RB_COUNT];
    guid_map map;
    guid_map files; /* digests in tbFile (key: digest; max_revision: has a URL) */
    long long next_local, next_revision, next_anchor;
    char now[40];
};

void susdb_store_close(susdb_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        db_finalize(s->st[i]);
    for (int i = 0; i < RB_COUNT; i++)
        rb_close(&s->rb[i]);
    map_free(&s->map);
    map_free(&s->files);
    free(s);
}

int susdb_store_flush(susdb_store *s)
{
    int ret = 0;
    for (int i = 0; i < RB_COUNT && ret == 0; i++)
        ret = rb_flush(&s->rb[i]);
    return ret;
}

int susdb_store_open(susdb_store **out, db *d)
{
    susdb_store *s = calloc(1, sizeof *s);
    db_stmt *q;
    int ret;
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->d = d;
    long long v = 0;
    if ((ret = db_query_int(d, "SELECT COALESCE(MAX(LocalUpdateID), 0) FROM tbUpdate", NULL, NULL,
                            &v)) < 0)
        goto fail;
    s->next_local = v + 1;
    if ((ret = db_query_int(d, "SELECT COALESCE(MAX(RevisionID), 0) FROM tbRevision", NULL, NULL,
                            &v)) < 0)
        goto fail;
    s->next_revision = v + 1;
    if ((ret = db_query_int(d, "SELECT COALESCE(MAX(ChangeAnchor), 0) FROM tbRevision", NULL, NULL,
                            &v)) < 0)
        goto fail;
    s->next_anchor = v + 1;
    /* Every GUID known, with its highest revision, so storing needs no lookups. */
    if ((ret = db_prepare(d, &q,
                          "SELECT u.UpdateID, u.LocalUpdateID, COALESCE(MAX(r.RevisionNumber), 0) "
                          "FROM tbUpdate u LEFT JOIN tbRevision r ON r.LocalUpdateID = "
                          "u.LocalUpdateID GROUP BY u.UpdateID, u.LocalUpdateID")) < 0)
        goto fail;
    while ((ret = db_step(q)) == 1)
        if (!map_put(&s->map, db_col_text(q, 0), db_col_int(q, 1), (int)db_col_int(q, 2))) {
            ret = -ENOMEM;
            break;
        }
    db_finalize(q);
    if (ret < 0)
        goto fail;
    if ((ret = db_prepare(d, &q, "SELECT FileDigest, COALESCE(MUURL, '') FROM tbFile")) < 0)
        goto fail;
    while ((ret = db_step(q)) == 1)
        if (strlen(db_col_text(q, 0)) < 37 &&
            !map_put(&s->files, db_col_text(q, 0), 0, db_col_text(q, 1)[0] != 0)) {
            ret = -ENOMEM;
            break;
        }
    db_finalize(q);
    if (ret < 0)
        goto fail;
    for (int i = 0; i < ST_COUNT; i++)
        if ((ret = db_prepare(d, &s->st[i], store_sql[i])) < 0)
            goto fail;
    for (int i = 0; i < RB_COUNT; i++)
        if ((ret = rb_open(&s->rb[i], d, rb_def[i].head, rb_def[i].ncols)) < 0)
            goto fail;
    *out = s;
    return 0;
fail:
    susdb_store_close(s);
    return ret;
}

/* Run a prepared statement of the store once (parameters already bound). */
static int run(db_stmt *st)
{
    int ret = db_step(st);
    db_reset(st);
    return ret < 0 ? ret : 0;
}

/* The LocalUpdateID of a GUID, creating the row (referenced only) when new: 1 then. */
static int local_id(susdb_store *s, const char *id, const char *type, guid_entry **out)
{
    guid_entry *e = map_find(&s->map, id);
    int ret;
    if (e) {
        *out = e;
        return 0;
    }
    rowbuf *b = &s->rb[RB_UPDATE];
    rb_int(b, s->next_local);
    rb_text(b, id);
    rb_text(b, type);
    rb_text(b, s->now);
    if ((ret = rb_end(b)) < 0)
        return ret;
    if (!(e = map_put(&s->map, id, s->next_local, 0)))
        return -ENOMEM;
    s->next_local++;
    *out = e;
    return 1;
}

int susdb_store_has(susdb_store *s, const char *update_id, int revision)
{
    guid_entry *e = map_find(&s->map, update_id);
    long long n = 0;
    char lid[32], rev[32];
    if (!e || !e->max_revision || revision > e->max_revision)
        return 0;
    if (revision == e->max_revision)
        return 1;
    int ret = rb_flush(&s->rb[RB_REV]);
    if (ret < 0)
        return ret;
    snprintf(lid, sizeof lid, "%lld", e->local_id);
    snprintf(rev, sizeof rev, "%d", revision);
    ret = db_query_int(s->d,
                       "SELECT COUNT(*) FROM tbRevision WHERE LocalUpdateID = CAST(? AS "
                       "INTEGER) AND RevisionNumber = CAST(? AS INTEGER)",
                       lid, rev, &n);
    return ret < 0 ? ret : n > 0;
}

static int cmp_ll(const void *a, const void *b);

/* Comparators over pointers to structs that start with (or hold) a string key. */
static int cmp_first_string(const void *a, const void *b)
{
    const updxml_ref *x = *(const updxml_ref *const *)a, *y = *(const updxml_ref *const *)b;
    return strcmp(x->id, y->id);
}

static int cmp_language(const void *a, const void *b)
{
    const updxml_localized *x = *(const updxml_localized *const *)a;
    const updxml_localized *y = *(const updxml_localized *const *)b;
    return strcmp(x->language, y->language);
}

static int cmp_digest(const void *a, const void *b)
{
    const updxml_file *x = *(const updxml_file *const *)a, *y = *(const updxml_file *const *)b;
    return strcmp(x->digest, y->digest);
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static int store_file(susdb_store *s, long long rev_id, const updxml_file *f, const char *url)
{
    db_stmt *st;
    int ret, found;
    char known_url[2048] = "";
    /* Known digests are kept in memory (a base64 SHA-1 fits the map's key). */
    guid_entry *fe = strlen(f->digest) < 37 ? map_find(&s->files, f->digest) : NULL;
    if (fe) {
        found = 1;
        if (url && *url && !fe->max_revision)
            known_url[0] = '\0'; /* a URL for a file that had none */
        else
            url = NULL;
    } else {
        st = s->st[ST_SEL_FILE];
        db_bind_text(st, 1, f->digest);
        found = db_step(st);
        if (found == 1)
            snprintf(known_url, sizeof known_url, "%s", db_col_text(st, 0));
        db_reset(st);
        if (found < 0)
            return found;
    }
    if (!found) {
        rowbuf *b = &s->rb[RB_FILE];
        rb_text(b, f->digest);
        rb_text(b, f->name);
        if (f->size >= 0)
            rb_int(b, f->size);
        else
            rb_null(b);
        rb_text(b, f->algorithm[0] ? f->algorithm : "SHA1");
        rb_text(b, nz(url));
        if ((ret = rb_end(b)) < 0)
            return ret;
    } else if (url && *url && strcmp(known_url, url) != 0) {
        /* The row may still be held back: write it first. */
        if ((ret = rb_flush(&s->rb[RB_FILE])) < 0)
            return ret;
        st = s->st[ST_SET_FILE_URL];
        db_bind_text(st, 1, url);
        db_bind_text(st, 2, f->digest);
        if ((ret = run(st)) < 0)
            return ret;
    }
    if (strlen(f->digest) < 37 &&
        !map_put(&s->files, f->digest, 0, (url && *url) || (fe && fe->max_revision)))
        return -ENOMEM;
    rowbuf *b = &s->rb[RB_FFR];
    rb_int(b, rev_id);
    rb_text(b, f->digest);
    return rb_end(b);
}

int susdb_store_update(susdb_store *s, const updxml_update *u, const char *xml, size_t len,
                       const susdb_url *urls, size_t nurls, susdb_stored *what, int *dropped)
{
    guid_entry *e;
    db_stmt *st;
    int ret, is_cat = u->type == UPDXML_TYPE_CATEGORY;
    const char *type = updxml_type_name(u->type);
    (void)len;

    *dropped = 0;
    susdb_now(s->now, sizeof s->now);
    if ((ret = local_id(s, u->update_id, type, &e)) < 0)
        return ret;
    int created = ret == 1;
    long long lid = e->local_id;
    int prev_max = e->max_revision;
    if (prev_max && u->revision <= prev_max &&
        (ret = susdb_store_has(s, u->update_id, u->revision))) {
        if (ret < 0)
            return ret;
        *what = SUSDB_STORED_SAME;
        return 0;
    }
    int latest = u->revision > prev_max;
    if (!prev_max && !created) {
        /* A referenced-only row learns its type now. */
        st = s->st[ST_SET_TYPE];
        db_bind_text(st, 1, type);
        db_bind_int(st, 2, lid);
        if ((ret = run(st)) < 0)
            return ret;
    } else if (latest) {
        /* The older revision may still be held back. */
        if ((ret = rb_flush(&s->rb[RB_REV])) < 0)
            return ret;
        st = s->st[ST_CLR_LATEST];
        db_bind_int(st, 1, lid);
        if ((ret = run(st)) < 0)
            return ret;
    }
    long long rev_id = s->next_revision++;
    rowbuf *b = &s->rb[RB_REV];
    rb_int(b, rev_id);
    rb_int(b, lid);
    rb_int(b, u->revision);
    rb_int(b, latest);
    rb_int(b, is_cat);
    rb_text(b, type);
    rb_text(b, is_cat ? updxml_category_type_name(u->category_type) : NULL);
    rb_text(b, u->publication_state);
    rb_int(b, u->expired ? 1 : 0);
    rb_text(b, nz(u->kb_article_id));
    rb_text(b, nz(u->security_bulletin_id));
    rb_text(b, nz(u->msrc_severity));
    rb_text(b, nz(u->creation_date));
    rb_text(b, s->now);
    rb_int(b, s->next_anchor++);
    if ((ret = rb_end(b)) < 0)
        return ret;
    b = &s->rb[RB_XML];
    rb_int(b, rev_id);
    rb_text(b, xml);
    if ((ret = rb_end(b)) < 0)
        return ret;

    /*
     * The categories it belongs to (the AtLeastOne IsCategory="true" groups
     * of its prerequisites); for a category, the first is its parent.  Every
     * list is sorted and made unique first: a document that names the same
     * thing twice must not break a primary key and with it the whole batch.
     */
    long long parent = 0;
    size_t ncat = 0;
    for (size_t p = 0; p < u->nprereqs; p++)
        if (u->prereqs[p].is_category)
            ncat += u->prereqs[p].nids;
    long long *cats = malloc((ncat ? ncat : 1) * sizeof *cats);
    const void **ptrs =
        malloc((u->nsuperseded + u->nbundled + u->nlocalized + u->nfiles + 1) * sizeof *ptrs);
    if (!cats || !ptrs) {
        free(cats);
        free(ptrs);
        return -ENOMEM;
    }
    ncat = 0;
    for (size_t p = 0; p < u->nprereqs; p++) {
        if (!u->prereqs[p].is_category)
            continue;
        for (size_t i = 0; i < u->prereqs[p].nids; i++) {
            const char *cid = u->prereqs[p].ids[i].id;
            guid_entry *c;
            if (strcmp(cid, u->update_id) == 0) {
                (*dropped)++;
                continue;
            }
            if ((ret = local_id(s, cid, "Category", &c)) < 0)
                goto out;
            ret = 0;
            if (!parent)
                parent = c->local_id;
            cats[ncat++] = c->local_id;
        }
    }
    qsort(cats, ncat, sizeof *cats, cmp_ll);
    for (size_t i = 0; i < ncat; i++) {
        if (i && cats[i] == cats[i - 1])
            continue;
        b = &s->rb[RB_RIC];
        rb_int(b, rev_id);
        rb_int(b, cats[i]);
        if ((ret = rb_end(b)) < 0)
            goto out;
    }
    if (is_cat && latest) {
        st = s->st[ST_DEL_CAT];
        db_bind_int(st, 1, lid);
        if ((ret = run(st)) < 0)
            goto out;
        st = s->st[ST_INS_CAT];
        db_bind_int(st, 1, lid);
        db_bind_text(st, 2, updxml_category_type_name(u->category_type));
        if (parent)
            db_bind_int(st, 3, parent);
        else
            db_bind_null(st, 3);
        if (u->display_order >= 0)
            db_bind_int(st, 4, u->display_order);
        else
            db_bind_null(st, 4);
        if ((ret = run(st)) < 0)
            goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < u->nsuperseded; i++) {
        if (strcmp(u->superseded[i].id, u->update_id) == 0)
            (*dropped)++;
        else
            ptrs[n++] = &u->superseded[i];
    }
    qsort(ptrs, n, sizeof *ptrs, cmp_first_string);
    for (size_t i = 0; i < n; i++) {
        const updxml_ref *r = ptrs[i];
        if (i && cmp_first_string(&ptrs[i], &ptrs[i - 1]) == 0)
            continue;
        b = &s->rb[RB_SUP];
        rb_int(b, rev_id);
        rb_text(b, r->id);
        if ((ret = rb_end(b)) < 0)
            goto out;
    }
    n = 0;
    for (size_t i = 0; i < u->nbundled; i++) {
        if (strcmp(u->bundled[i].id, u->update_id) == 0)
            (*dropped)++;
        else
            ptrs[n++] = &u->bundled[i];
    }
    qsort(ptrs, n, sizeof *ptrs, cmp_first_string);
    for (size_t i = 0; i < n; i++) {
        const updxml_ref *r = ptrs[i];
        if (i && cmp_first_string(&ptrs[i], &ptrs[i - 1]) == 0)
            continue;
        b = &s->rb[RB_BUNDLE];
        rb_int(b, rev_id);
        rb_text(b, r->id);
        rb_int(b, r->revision);
        if ((ret = rb_end(b)) < 0)
            goto out;
    }
    n = 0;
    for (size_t i = 0; i < u->nlocalized; i++)
        if (u->localized[i].language)
            ptrs[n++] = &u->localized[i];
    qsort(ptrs, n, sizeof *ptrs, cmp_language);
    for (size_t i = 0; i < n; i++) {
        const updxml_localized *l = ptrs[i];
        if (i && cmp_language(&ptrs[i], &ptrs[i - 1]) == 0)
            continue;
        b = &s->rb[RB_LOC];
        rb_int(b, rev_id);
        rb_text(b, l->language);
        rb_text(b, l->title);
        rb_text(b, l->description);
        if ((ret = rb_end(b)) < 0)
            goto out;
    }
    n = 0;
    for (size_t i = 0; i < u->nfiles; i++)
        ptrs[n++] = &u->files[i];
    qsort(ptrs, n, sizeof *ptrs, cmp_digest);
    for (size_t i = 0; i < n; i++) {
        const updxml_file *f = ptrs[i];
        if (i && cmp_digest(&ptrs[i], &ptrs[i - 1]) == 0)
            continue;
        const char *url = f->url;
        for (size_t k = 0; k < nurls; k++)
            if (urls[k].digest && strcmp(urls[k].digest, f->digest) == 0) {
                url = urls[k].url;
                break;
            }
        if ((ret = store_file(s, rev_id, f, url)) < 0)
            goto out;
    }
    ret = 0;
out:
    free(cats);
    free(ptrs);
    if (ret < 0)
        return ret;
    if (latest)
        e->max_revision = u->revision;
    *what = prev_max ? SUSDB_STORED_REVISED : SUSDB_STORED_NEW;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cycles                                                              */
/* ------------------------------------------------------------------ */

typedef struct edge {
    long long rev_id; /* the revision that declares it */
    size_t from, to;  /* node indexes */
    int removed;
} edge;

/* Iterative depth-first search; an edge to a node on the stack closes a cycle. */
static int break_graph(db *d, const char *kind, const char *del_sql, guid_map *nodes, edge *edges,
                       size_t nedges, susdb_cycle_fn fn, void *ud)
{
    size_t nn = nodes->n, removed = 0;
    int ret = 0;
    /* Adjacency as index ranges into edges sorted by from. */
    size_t *first = calloc(nn + 1, sizeof *first), *order = malloc((nedges + 1) * sizeof *order);
    unsigned char *color = calloc(nn ? nn : 1, 1);
    size_t *stack = malloc((nn + 1) * sizeof *stack), *pos = calloc(nn ? nn : 1, sizeof *pos);
    char **names = calloc(nn ? nn : 1, sizeof *names);
    if (!first || !order || !color || !stack || !pos || !names) {
        ret = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nodes->cap; i++)
        if (nodes->e[i].id[0])
            names[nodes->e[i].local_id] = nodes->e[i].id;
    for (size_t i = 0; i < nedges; i++)
        first[edges[i].from + 1]++;
    for (size_t i = 0; i < nn; i++)
        first[i + 1] += first[i];
    {
        size_t *fill = calloc(nn ? nn : 1, sizeof *fill);
        if (!fill) {
            ret = -ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < nedges; i++)
            order[first[edges[i].from] + fill[edges[i].from]++] = i;
        free(fill);
    }
    for (size_t root = 0; root < nn; root++) {
        if (color[root])
            continue;
        size_t sp = 0;
        stack[sp++] = root;
        color[root] = 1;
        pos[root] = first[root];
        while (sp) {
            size_t v = stack[sp - 1];
            if (pos[v] == first[v + 1]) {
                color[v] = 2;
                sp--;
                continue;
            }
            edge *e = &edges[order[pos[v]++]];
            if (color[e->to] == 1) {
                e->removed = 1;
                removed++;
                if (fn)
                    fn(ud, kind, names[e->from], names[e->to]);
            } else if (!color[e->to]) {
                color[e->to] = 1;
                pos[e->to] = first[e->to];
                stack[sp++] = e->to;
            }
        }
    }
    for (size_t i = 0; i < nedges && ret == 0; i++) {
        if (!edges[i].removed)
            continue;
        db_stmt *st;
        if ((ret = db_prepare(d, &st, del_sql)) < 0)
            break;
        db_bind_int(st, 1, edges[i].rev_id);
        db_bind_text(st, 2, names[edges[i].to]);
        ret = db_step(st);
        db_finalize(st);
        ret = ret < 0 ? ret : 0;
    }
done:
    free(first);
    free(order);
    free(color);
    free(stack);
    free(pos);
    free(names);
    return ret < 0 ? ret : (int)removed;
}

static int node_of(guid_map *m, const char *id, size_t *out)
{
    guid_entry *e = map_find(m, id);
    if (!e && !(e = map_put(m, id, (long long)m->n, 0)))
        return -ENOMEM;
    *out = (size_t)e->local_id;
    return 0;
}

static int break_kind(db *d, const char *kind, const char *sel_sql, const char *del_sql,
                      susdb_cycle_fn fn, void *ud)
{
    guid_map nodes = {0};
    edge *edges = NULL;
    size_t n = 0, cap = 0;
    db_stmt *st;
    int ret;
    if ((ret = db_prepare(d, &st, sel_sql)) < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            edge *ne = realloc(edges, cap * sizeof *ne);
            if (!ne) {
                ret = -ENOMEM;
                break;
            }
            edges = ne;
        }
        edge *e = &edges[n];
        memset(e, 0, sizeof *e);
        e->rev_id = db_col_int(st, 0);
        if ((ret = node_of(&nodes, db_col_text(st, 1), &e->from)) < 0 ||
            (ret = node_of(&nodes, db_col_text(st, 2), &e->to)) < 0)
            break;
        n++;
    }
    db_finalize(st);
    if (ret >= 0)
        ret = n ? break_graph(d, kind, del_sql, &nodes, edges, n, fn, ud) : 0;
    map_free(&nodes);
    free(edges);
    return ret;
}

int susdb_break_cycles(db *d, susdb_cycle_fn fn, void *ud)
{
    int a = break_kind(d, "supersedence",
                       "SELECT s.RevisionID, u.UpdateID, s.SupersededUpdateID FROM "
                       "tbRevisionSupersedesUpdate s JOIN tbRevision r ON r.RevisionID = "
                       "s.RevisionID AND r.IsLatestRevision = 1 JOIN tbUpdate u ON "
                       "u.LocalUpdateID = r.LocalUpdateID ORDER BY r.ChangeAnchor",
                       "DELETE FROM tbRevisionSupersedesUpdate WHERE RevisionID = ? AND "
                       "SupersededUpdateID = ?",
                       fn, ud);
    if (a < 0)
        return a;
    int b = break_kind(
        d, "bundle",
        "SELECT s.RevisionID, u.UpdateID, s.BundledUpdateID FROM "
        "tbBundleDependency s JOIN tbRevision r ON r.RevisionID = s.RevisionID "
        "AND r.IsLatestRevision = 1 JOIN tbUpdate u ON u.LocalUpdateID = "
        "r.LocalUpdateID ORDER BY r.ChangeAnchor",
        "DELETE FROM tbBundleDependency WHERE RevisionID = ? AND BundledUpdateID = ?", fn, ud);
    if (b < 0)
        return b;
    return a + b;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

int susdb_max_anchor(db *d, long long *out)
{
    return db_query_int(d, "SELECT COALESCE(MAX(ChangeAnchor), 0) FROM tbRevision", NULL, NULL,
                        out);
}

/* A set of LocalUpdateIDs, sorted, for membership tests. */
typedef struct id_set {
    long long *v;
    size_t n, cap;
} id_set;

static int set_add(id_set *s, long long v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        long long *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static int set_has(const id_set *s, long long v)
{
    return s->n && bsearch(&v, s->v, s->n, sizeof v, cmp_ll) != NULL;
}

/*
 * The LocalUpdateIDs of the given category GUIDs and of every category
 * below them (a product family selects its products).
 */
static int expand_categories(db *d, char (*ids)[37], size_t n, id_set *out)
{
    typedef struct {
        long long id, parent;
        char guid[37];
    } cat;
    cat *cats = NULL;
    size_t nc = 0, cap = 0;
    db_stmt *st;
    int ret;
    if (!n)
        return 0;
    if ((ret = db_prepare(d, &st,
                          "SELECT c.CategoryID, COALESCE(c.ParentCategoryID, 0), u.UpdateID FROM "
                          "tbCategory c JOIN tbUpdate u ON u.LocalUpdateID = c.CategoryID")) < 0)
        return ret;
    while ((ret = db_step(st)) == 1) {
        if (nc == cap) {
            cap = cap ? cap * 2 : 256;
            cat *nv = realloc(cats, cap * sizeof *nv);
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            cats = nv;
        }
        cats[nc].id = db_col_int(st, 0);
        cats[nc].parent = db_col_int(st, 1);
        snprintf(cats[nc].guid, sizeof cats[nc].guid, "%s", db_col_text(st, 2));
        nc++;
    }
    db_finalize(st);
    /* Requested IDs may name categories not stored yet: keep them by GUID too. */
    for (size_t i = 0; ret >= 0 && i < n; i++) {
        long long lid = 0;
        if (db_query_int(d, "SELECT LocalUpdateID FROM tbUpdate WHERE UpdateID = ?", ids[i], NULL,
                         &lid) == 0 &&
            lid)
            ret = set_add(out, lid);
    }
    /* Add children until nothing changes (the category tree is shallow). */
    for (int changed = 1; ret >= 0 && changed;) {
        changed = 0;
        if (out->n)
            qsort(out->v, out->n, sizeof *out->v, cmp_ll);
        for (size_t i = 0; i < nc && ret >= 0; i++)
            if (cats[i].parent && !set_has(out, cats[i].id) && set_has(out, cats[i].parent)) {
                ret = set_add(out, cats[i].id);
                changed = 1;
            }
    }
    free(cats);
    if (ret >= 0)
        if (out->n)
            qsort(out->v, out->n, sizeof *out->v, cmp_ll);
    return ret < 0 ? ret : 0;
}

/* Parameters a revision-list statement may use for its category filter (the db layer's 128). */
#define FILTER_IN_SQL_MAX 128

int susdb_revisions_since(db *d, long long after, long long upto, int categories,
                          char (*products)[37], size_t nproducts, char (*classes)[37],
                          size_t nclasses, wsusss_identity **ids, size_t *n)
{
    id_set prod = {0}, cls = {0};
    wsusss_identity *v = NULL;
    size_t cnt = 0, cap = 0;
    db_stmt *st = NULL;
    int ret, filter = !categories && (nproducts || nclasses);
    *ids = NULL;
    *n = 0;
    if (filter && ((ret = expand_categories(d, products, nproducts, &prod)) < 0 ||
                   (ret = expand_categories(d, classes, nclasses, &cls)) < 0))
        goto done;
    /* A product or classification list that names nothing stored selects nothing. */
    if (filter && ((nproducts && !prod.n) || (nclasses && !cls.n))) {
        ret = 0;
        goto done;
    }
    /*
     * The update pass with a filter that fits in one statement asks the
     * database for the revisions in the categories (a row per revision);
     * otherwise a row per revision and category is read and filtered here.
     */
    int in_sql = filter && prod.n + cls.n + 2 <= FILTER_IN_SQL_MAX;
    char sql[4096];
    if (categories)
        snprintf(sql, sizeof sql, "%s",
                 "SELECT r.RevisionID, u.UpdateID, r.RevisionNumber, 0 FROM tbRevision r JOIN "
                 "tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID WHERE r.IsLatestRevision = 1 "
                 "AND (r.IsCategory = 1 OR r.UpdateType = 'Detectoid') AND r.ChangeAnchor > ? "
                 "AND r.ChangeAnchor <= ? ORDER BY r.ChangeAnchor");
    else if (!filter || in_sql) {
        size_t off = (size_t)snprintf(
            sql, sizeof sql, "%s",
            "SELECT r.RevisionID, u.UpdateID, r.RevisionNumber, 0 FROM tbRevision r JOIN tbUpdate "
            "u ON u.LocalUpdateID = r.LocalUpdateID WHERE r.IsLatestRevision = 1 AND "
            "r.IsCategory = 0 AND r.UpdateType <> 'Detectoid' AND r.ChangeAnchor > ? AND "
            "r.ChangeAnchor <= ?");
        const id_set *sets[2] = {&prod, &cls};
        for (int k = 0; k < 2 && in_sql; k++) {
            if (!sets[k]->n)
                continue;
            off += (size_t)snprintf(sql + off, sizeof sql - off, "%s",
                                    " AND EXISTS (SELECT 1 FROM tbRevisionInCategory c WHERE "
                                    "c.RevisionID = r.RevisionID AND c.CategoryID IN (");
            for (size_t i = 0; i < sets[k]->n && off < sizeof sql; i++)
                off += (size_t)snprintf(sql + off, sizeof sql - off, "%s?", i ? "," : "");
            if (off < sizeof sql)
                off += (size_t)snprintf(sql + off, sizeof sql - off, "))");
        }
        if (off < sizeof sql)
            snprintf(sql + off, sizeof sql - off, " ORDER BY r.ChangeAnchor, r.RevisionID");
    } else
        snprintf(sql, sizeof sql, "%s",
                 "SELECT r.RevisionID, u.UpdateID, r.RevisionNumber, COALESCE(c.CategoryID, 0) "
                 "FROM tbRevision r JOIN tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID LEFT "
                 "JOIN tbRevisionInCategory c ON c.RevisionID = r.RevisionID WHERE "
                 "r.IsLatestRevision = 1 AND r.IsCategory = 0 AND r.UpdateType <> 'Detectoid' "
                 "AND r.ChangeAnchor > ? AND r.ChangeAnchor <= ? ORDER BY r.ChangeAnchor, "
                 "r.RevisionID");
    if ((ret = db_prepare(d, &st, sql)) < 0)
        goto done;
    db_bind_int(st, 1, after);
    db_bind_int(st, 2, upto);
    if (in_sql) {
        int idx = 3;
        for (size_t i = 0; i < prod.n; i++)
            db_bind_int(st, idx++, prod.v[i]);
        for (size_t i = 0; i < cls.n; i++)
            db_bind_int(st, idx++, cls.v[i]);
        filter = 0; /* the database did it */
    }
    long long cur = -1;
    int in_prod = 0, in_cls = 0;
    for (;;) {
        ret = db_step(st);
        if (ret < 0)
            goto done;
        long long rid = ret == 1 ? db_col_int(st, 0) : -2;
        if (rid != cur && cur != -1) {
            /* The previous revision is complete: keep it when it passes the filter. */
            int keep = !filter || ((!nproducts || in_prod) && (!nclasses || in_cls));
            if (!keep)
                cnt--;
        }
        if (ret == 0)
            break;
        if (rid != cur) {
            if (cnt == cap) {
                cap = cap ? cap * 2 : 1024;
                wsusss_identity *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    ret = -ENOMEM;
                    goto done;
                }
                v = nv;
            }
            snprintf(v[cnt].id, sizeof v[cnt].id, "%s", db_col_text(st, 1));
            v[cnt].revision = (int)db_col_int(st, 2);
            cnt++;
            cur = rid;
            in_prod = in_cls = 0;
        }
        if (filter) {
            long long cid = db_col_int(st, 3);
            if (set_has(&prod, cid))
                in_prod = 1;
            if (set_has(&cls, cid))
                in_cls = 1;
        }
    }
    ret = 0;
    *ids = v;
    *n = cnt;
    v = NULL;
done:
    db_finalize(st);
    free(v);
    free(prod.v);
    free(cls.v);
    return ret;
}

static int cmp_guid(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int susdb_category_closure(db *d, char **ids, size_t n, char (**out)[37], size_t *nout)
{
    id_set set = {0};
    char(*v)[37] = NULL;
    size_t cnt = 0;
    int ret = 0;
    *out = NULL;
    *nout = 0;
    if (!n)
        return 0;
    char(*req)[37] = calloc(n, sizeof *req);
    if (!req)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        snprintf(req[i], sizeof req[i], "%s", ids[i]);
    if ((ret = expand_categories(d, req, n, &set)) < 0)
        goto done;
    /* The requested GUIDs themselves, whether stored or not, plus the stored closure. */
    v = calloc(n + set.n + 1, sizeof *v);
    if (!v) {
        ret = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(v[cnt++], req[i], 37);
    for (size_t i = 0; i < set.n; i++) {
        db_stmt *st;
        if ((ret = db_prepare(d, &st, "SELECT UpdateID FROM tbUpdate WHERE LocalUpdateID = ?")) < 0)
            goto done;
        db_bind_int(st, 1, set.v[i]);
        if ((ret = db_step(st)) == 1)
            snprintf(v[cnt++], 37, "%s", db_col_text(st, 0));
        db_finalize(st);
        if (ret < 0)
            goto done;
    }
    qsort(v, cnt, sizeof *v, cmp_guid);
    *out = v;
    *nout = cnt;
    v = NULL;
    ret = 0;
done:
    free(req);
    free(set.v);
    free(v);
    return ret;
}

int susdb_revision_xml(db *d, const wsusss_identity *id, char **xml, size_t *len,
                       char (**digests)[48], size_t *ndigests)
{
    db_stmt *st;
    long long rev_id = 0;
    int ret;
    *xml = NULL;
    *len = 0;
    *digests = NULL;
    *ndigests = 0;
    if ((ret = db_prepare(d, &st,
                          "SELECT r.RevisionID, x.RootElementXml FROM tbRevision r JOIN tbUpdate u "
                          "ON u.LocalUpdateID = r.LocalUpdateID JOIN tbXml x ON x.RevisionID = "
                          "r.RevisionID WHERE u.UpdateID = ? AND r.RevisionNumber = ?")) < 0)
        return ret;
    db_bind_text(st, 1, id->id);
    db_bind_int(st, 2, id->revision);
    if ((ret = db_step(st)) == 1) {
        rev_id = db_col_int(st, 0);
        *xml = strdup(db_col_text(st, 1));
        if (!*xml)
            ret = -ENOMEM;
        else
            *len = strlen(*xml);
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(st);
    if (ret < 0)
        return ret;
    if ((ret = db_prepare(d, &st,
                          "SELECT FileDigest FROM tbFileForRevision WHERE RevisionID = ? ORDER BY "
                          "FileDigest")) < 0)
        goto fail;
    db_bind_int(st, 1, rev_id);
    size_t cap = 0;
    while ((ret = db_step(st)) == 1) {
        if (*ndigests == cap) {
            cap = cap ? cap * 2 : 4;
            char(*nv)[48] = realloc(*digests, cap * sizeof *nv);
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            *digests = nv;
        }
        snprintf((*digests)[(*ndigests)++], 48, "%s", db_col_text(st, 0));
    }
    db_finalize(st);
    if (ret < 0)
        goto fail;
    return 0;
fail:
    free(*xml);
    free(*digests);
    *xml = NULL;
    *digests = NULL;
    *ndigests = 0;
    return ret;
}

int susdb_file_url(db *d, const char *digest, char *buf, size_t len)
{
    db_stmt *st;
    int ret = db_prepare(d, &st, "SELECT MUURL FROM tbFile WHERE FileDigest = ?");
    buf[0] = '\0';
    if (ret < 0)
        return ret;
    db_bind_text(st, 1, digest);
    if ((ret = db_step(st)) == 1)
        snprintf(buf, len, "%s", db_col_text(st, 0));
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

#define IN_CHUNK                                                                                   \
    100 /* values per IN (...) list: a whole batch, under the database layer's 128 parameters */

void susdb_blobs_free(susdb_blob *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++) {
        for (size_t k = 0; b[i].urls && k < b[i].ndigests; k++)
            free(b[i].urls[k]);
        free(b[i].urls);
        free(b[i].xml);
        free(b[i].digests);
    }
}

/*
 * The requests of one IN list, sorted so that each row the database
 * returns finds its slots by binary search (a row per slot was a scan of
 * the whole list: ten thousand comparisons a batch).
 */
typedef struct slot_key {
    const char *id;
    long long num; /* the revision number, or the RevisionID */
    size_t slot;
} slot_key;

static int slot_cmp(const void *a, const void *b)
{
    const slot_key *x = a, *y = b;
    int c = x->id && y->id ? strcmp(x->id, y->id) : 0;
    if (c)
        return c;
    return x->num < y->num ? -1 : x->num > y->num;
}

/* The first of the keys equal to k, or n when none is. */
static size_t slot_first(const slot_key *keys, size_t n, const slot_key *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot_cmp(&keys[mid], k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && slot_cmp(&keys[lo], k) == 0 ? lo : n;
}

static int blob_add_file(susdb_blob *b, const char *digest, const char *url)
{
    char(*nv)[48] = realloc(b->digests, (b->ndigests + 1) * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    b->digests = nv;
    char **nu = realloc(b->urls, (b->ndigests + 1) * sizeof *nu);
    if (!nu)
        return -ENOMEM;
    b->urls = nu;
    if (!(nu[b->ndigests] = strdup(url)))
        return -ENOMEM;
    snprintf(nv[b->ndigests++], 48, "%s", digest);
    return 0;
}

int susdb_revisions_xml(db *d, const wsusss_identity *ids, size_t n, susdb_blob *out)
{
    char sql[1024];
    long long *rev_ids = calloc(n ? n : 1, sizeof *rev_ids);
    slot_key *keys = calloc(IN_CHUNK, sizeof *keys);
    int ret = 0;
    memset(out, 0, n * sizeof *out);
    if (!rev_ids || !keys) {
        free(rev_ids);
        free(keys);
        return -ENOMEM;
    }
    for (size_t off = 0; off < n && ret == 0; off += IN_CHUNK) {
        size_t cnt = n - off < IN_CHUNK ? n - off : IN_CHUNK;
        db_stmt *st;
        ret = db_in_list_sql(
            sql, sizeof sql,
            "SELECT u.UpdateID, r.RevisionNumber, r.RevisionID, x.RootElementXml FROM "
            "tbUpdate u JOIN tbRevision r ON r.LocalUpdateID = u.LocalUpdateID JOIN tbXml "
            "x ON x.RevisionID = r.RevisionID WHERE u.UpdateID IN ",
            cnt, "");
        if (ret < 0 || (ret = db_prepare_cached(d, &st, sql)) < 0)
            break;
        for (size_t i = 0; i < cnt; i++) {
            db_bind_text(st, (int)i + 1, ids[off + i].id);
            keys[i] = (slot_key){ids[off + i].id, ids[off + i].revision, off + i};
        }
        qsort(keys, cnt, sizeof *keys, slot_cmp);
        while ((ret = db_step(st)) == 1) {
            slot_key k = {db_col_text(st, 0), (int)db_col_int(st, 1), 0};
            /* Every slot that asked for this revision (a list may name one twice). */
            for (size_t j = slot_first(keys, cnt, &k); j < cnt && slot_cmp(&keys[j], &k) == 0;
                 j++) {
                susdb_blob *b = &out[keys[j].slot];
                if (b->xml)
                    continue;
                rev_ids[keys[j].slot] = db_col_int(st, 2);
                b->len = db_col_len(st, 3);
                if (!(b->xml = malloc(b->len + 1))) {
                    ret = -ENOMEM;
                    break;
                }
                memcpy(b->xml, db_col_text(st, 3), b->len + 1);
            }
            if (ret < 0)
                break;
        }
        db_finalize(st);
    }
    /* The digests and where the files are, by revision. */
    for (size_t off = 0; off < n && ret >= 0; off += IN_CHUNK) {
        size_t cnt = n - off < IN_CHUNK ? n - off : IN_CHUNK;
        db_stmt *st;
        ret = db_in_list_sql(
            sql, sizeof sql,
            "SELECT ffr.RevisionID, ffr.FileDigest, COALESCE(f.MUURL, '') FROM "
            "tbFileForRevision ffr LEFT JOIN tbFile f ON f.FileDigest = ffr.FileDigest "
            "WHERE ffr.RevisionID IN ",
            cnt, " ORDER BY ffr.RevisionID, ffr.FileDigest");
        if (ret < 0 || (ret = db_prepare_cached(d, &st, sql)) < 0)
            break;
        for (size_t i = 0; i < cnt; i++) {
            db_bind_int(st, (int)i + 1, rev_ids[off + i]);
            keys[i] = (slot_key){NULL, rev_ids[off + i], off + i};
        }
        qsort(keys, cnt, sizeof *keys, slot_cmp);
        while ((ret = db_step(st)) == 1) {
            slot_key k = {NULL, db_col_int(st, 0), 0};
            for (size_t j = slot_first(keys, cnt, &k); ret >= 0 && j < cnt && keys[j].num == k.num;
                 j++)
                if (out[keys[j].slot].xml)
                    ret = blob_add_file(&out[keys[j].slot], db_col_text(st, 1), db_col_text(st, 2));
            if (ret < 0)
                break;
        }
        db_finalize(st);
    }
    free(rev_ids);
    free(keys);
    if (ret < 0) {
        susdb_blobs_free(out, n);
        memset(out, 0, n * sizeof *out);
        return ret;
    }
    return 0;
}

int susdb_categories(db *d, const char *language, wsusapi_category **out, size_t *n)
{
    db_stmt *st;
    wsusapi_category *v = NULL;
    size_t cnt = 0, cap = 0;
    int ret;
    *out = NULL;
    *n = 0;
    if ((ret = db_prepare(
             d, &st,
             "SELECT u.UpdateID, r.CategoryType, COALESCE(p.Title, pe.Title, ''), "
             "COALESCE(pu.UpdateID, ''), r.RevisionNumber, r.ImportedTime FROM tbRevision r JOIN "
             "tbUpdate u ON u.LocalUpdateID = r.LocalUpdateID LEFT JOIN tbCategory c ON "
             "c.CategoryID = r.LocalUpdateID LEFT JOIN tbUpdate pu ON pu.LocalUpdateID = "
             "c.ParentCategoryID LEFT JOIN tbPreComputedLocalizedProperty p ON p.RevisionID = "
             "r.RevisionID AND p.ShortLanguage = ? LEFT JOIN tbPreComputedLocalizedProperty pe ON "
             "pe.RevisionID = r.RevisionID AND pe.ShortLanguage = 'en' WHERE r.IsCategory = 1 AND "
             "r.IsLatestRevision = 1 ORDER BY r.ChangeAnchor")) < 0)
        return ret;
    db_bind_text(st, 1, language && *language ? language : "en");
    while ((ret = db_step(st)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            wsusapi_category *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            v = nv;
        }
        wsusapi_category *c = &v[cnt++];
        memset(c, 0, sizeof *c);
        snprintf(c->id, sizeof c->id, "%s", db_col_text(st, 0));
        snprintf(c->type, sizeof c->type, "%s", db_col_text(st, 1));
        snprintf(c->title, sizeof c->title, "%s", db_col_text(st, 2));
        snprintf(c->parent_id, sizeof c->parent_id, "%s", db_col_text(st, 3));
        c->revision = (int)db_col_int(st, 4);
        c->arrival_time = parse_db_time(db_col_text(st, 5));
    }
    db_finalize(st);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int susdb_update_by_id(db *d, const char *update_id, const char *language, wsusapi_update *out)
{
    db_stmt *st;
    int ret;
    memset(out, 0, sizeof *out);
    if ((ret = db_prepare(
             d, &st,
             "SELECT u.UpdateID, r.RevisionNumber, r.UpdateType, COALESCE(p.Title, pe.Title, ''), "
             "COALESCE(r.KBArticleID, ''), COALESCE(r.MsrcSeverity, ''), "
             "COALESCE(r.CreationDate, ''), r.ImportedTime, r.IsExpired, (SELECT COUNT(*) FROM "
             "tbRevisionSupersedesUpdate s JOIN tbRevision r2 ON r2.RevisionID = s.RevisionID AND "
             "r2.IsLatestRevision = 1 WHERE s.SupersededUpdateID = u.UpdateID), (SELECT "
             "cu.UpdateID FROM tbRevisionInCategory ric JOIN tbCategory c ON c.CategoryID = "
             "ric.CategoryID AND c.CategoryType = 'UpdateClassification' JOIN tbUpdate cu ON "
             "cu.LocalUpdateID = c.CategoryID WHERE ric.RevisionID = r.RevisionID ORDER BY "
             "cu.UpdateID LIMIT 1) FROM tbRevision r JOIN tbUpdate u ON u.LocalUpdateID = "
             "r.LocalUpdateID LEFT JOIN tbPreComputedLocalizedProperty p ON p.RevisionID = "
             "r.RevisionID AND p.ShortLanguage = ? LEFT JOIN tbPreComputedLocalizedProperty pe ON "
             "pe.RevisionID = r.RevisionID AND pe.ShortLanguage = 'en' WHERE u.UpdateID = ? AND "
             "r.IsLatestRevision = 1")) < 0)
        return ret;
    db_bind_text(st, 1, language && *language ? language : "en");
    db_bind_text(st, 2, update_id);
    if ((ret = db_step(st)) == 1) {
        snprintf(out->id, sizeof out->id, "%s", db_col_text(st, 0));
        out->revision = (int)db_col_int(st, 1);
        snprintf(out->update_type, sizeof out->update_type, "%s", db_col_text(st, 2));
        snprintf(out->title, sizeof out->title, "%s", db_col_text(st, 3));
        snprintf(out->kb_article, sizeof out->kb_article, "%s", db_col_text(st, 4));
        snprintf(out->msrc_severity, sizeof out->msrc_severity, "%s", db_col_text(st, 5));
        out->creation_date = parse_db_time(db_col_text(st, 6));
        out->arrival_time = parse_db_time(db_col_text(st, 7));
        out->is_expired = db_col_int(st, 8) != 0;
        out->is_superseded = db_col_int(st, 9) != 0;
        snprintf(out->classification_id, sizeof out->classification_id, "%s", db_col_text(st, 10));
        ret = 0;
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(st);
    return ret;
}

int susdb_update_xml(db *d, const char *update_id, char **xml, size_t *len)
{
    db_stmt *st;
    int ret;
    *xml = NULL;
    *len = 0;
    if ((ret = db_prepare(d, &st,
                          "SELECT x.RootElementXml FROM tbRevision r JOIN tbUpdate u ON "
                          "u.LocalUpdateID = r.LocalUpdateID JOIN tbXml x ON x.RevisionID = "
                          "r.RevisionID WHERE u.UpdateID = ? AND r.IsLatestRevision = 1")) < 0)
        return ret;
    db_bind_text(st, 1, update_id);
    if ((ret = db_step(st)) == 1) {
        *xml = strdup(db_col_text(st, 0));
        ret = *xml ? 0 : -ENOMEM;
        if (*xml)
            *len = strlen(*xml);
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(st);
    return ret;
}

int susdb_counts(db *d, long long *updates, long long *categories)
{
    int ret = db_query_int(d,
                           "SELECT COUNT(*) FROM tbRevision WHERE IsLatestRevision = 1 AND "
                           "IsCategory = 0",
                           NULL, NULL, updates);
    if (ret < 0)
        return ret;
    return db_query_int(d,
                        "SELECT COUNT(*) FROM tbRevision WHERE IsLatestRevision = 1 AND "
                        "IsCategory = 1",
                        NULL, NULL, categories);
}
