/*
 * syncstate.c - the sync state rows of a site (see syncstate.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "syncstate.h"

void syncstate_time_text(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

time_t syncstate_time_parse(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%d-%d-%d%*[ T]%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

void syncstate_duration_text(long long s, char *buf, size_t len)
{
    if (s < 0)
        s = 0;
    snprintf(buf, len, "%lldd%02lldh%02lldm%02llds", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
}

void syncstate_sup_url(const sync_sup *s, char *buf, size_t len)
{
    if (s->use_ssl)
        snprintf(buf, len, "https://%s:%d", s->server, s->ssl_port ? s->ssl_port : 8531);
    else
        snprintf(buf, len, "http://%s:%d", s->server, s->port ? s->port : 8530);
}

int syncstate_sups(db *d, const char *site, sync_sup *out, size_t max, size_t *n)
{
    db_stmt *s;
    int ret;
    *n = 0;
    ret = db_prepare(d, &s,
                     "SELECT SUP_ID, ServerName, PortNumber, SSLPortNumber, UseSSL, "
                     "IsInternetFacing, InstallOrder, ConnectionAccount, ConnectionPassword, "
                     "UseProxy, ProxyName, ProxyPort, WCMConfigState, WCMLastError "
                     "FROM SoftwareUpdatePoints WHERE SiteCode = ? ORDER BY InstallOrder, SUP_ID");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, site)) < 0)
        goto done;
    while ((ret = db_step(s)) == 1) {
        if (*n == max)
            continue;
        sync_sup *p = &out[(*n)++];
        memset(p, 0, sizeof *p);
        p->id = db_col_int(s, 0);
        snprintf(p->server, sizeof p->server, "%s", db_col_text(s, 1));
        p->port = (int)db_col_int(s, 2);
        p->ssl_port = (int)db_col_int(s, 3);
        p->use_ssl = db_col_int(s, 4) != 0;
        p->internet_facing = db_col_int(s, 5) != 0;
        p->install_order = (int)db_col_int(s, 6);
        snprintf(p->account, sizeof p->account, "%s", db_col_text(s, 7));
        snprintf(p->password, sizeof p->password, "%s", db_col_text(s, 8));
        p->use_proxy = db_col_int(s, 9) != 0;
        snprintf(p->proxy_name, sizeof p->proxy_name, "%s", db_col_text(s, 10));
        p->proxy_port = (int)db_col_int(s, 11);
        p->wcm_state = (int)db_col_int(s, 12);
        snprintf(p->wcm_error, sizeof p->wcm_error, "%s", db_col_text(s, 13));
    }
done:
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

int syncstate_source(db *d, const char *site, sync_source *out)
{
    db_stmt *s;
    int ret;
    memset(out, 0, sizeof *out);
    ret = db_prepare(d, &s,
                     "SELECT ss.UpdateSource_ID, us.UpdateSource_UniqueID, ss.ContentVersion, "
                     "us.ContentVersion, ss.LastSyncState, ss.LastSyncStateTime, ss.LastSyncTime "
                     "FROM Update_SyncStatus ss JOIN CI_UpdateSources us "
                     "ON us.UpdateSource_ID = ss.UpdateSource_ID "
                     "WHERE ss.SiteCode = ? ORDER BY ss.UpdateSource_ID");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(s, 1, site)) == 0 && (ret = db_step(s)) == 1) {
        snprintf(out->site, sizeof out->site, "%s", site);
        out->source_id = db_col_int(s, 0);
        snprintf(out->unique_id, sizeof out->unique_id, "%s", db_col_text(s, 1));
        out->content_version = db_col_int(s, 2);
        out->source_version = db_col_int(s, 3);
        out->last_state = (int)db_col_int(s, 4);
        out->last_state_time = syncstate_time_parse(db_col_text(s, 5));
        out->last_sync_time = syncstate_time_parse(db_col_text(s, 6));
        ret = 0;
    } else if (ret == 0) {
        ret = CM_ENOTFOUND;
    }
    db_finalize(s);
    return ret;
}

/* Run one statement whose parameters are given as text (NULL binds NULL) or integers. */
typedef struct arg {
    const char *text;
    long long iv;
    int is_int;
} arg;

static int run(db *d, const char *sql, const arg *args, int n, long long *changes)
{
    db_stmt *s;
    int ret = db_prepare(d, &s, sql);
    if (ret < 0)
        return ret;
    for (int i = 0; i < n && ret == 0; i++)
        ret = args[i].is_int ? db_bind_int(s, i + 1, args[i].iv)
                             : db_bind_text(s, i + 1, args[i].text);
    if (ret == 0)
        ret = db_step(s);
    if (ret >= 0 && changes)
        *changes = db_changes(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

#define T(v)                                                                                       \
    {                                                                                              \
        (v), 0, 0                                                                                  \
    }
#define I(v)                                                                                       \
    {                                                                                              \
        NULL, (v), 1                                                                               \
    }

int syncstate_set_state(db *d, const sync_source *src, int state, time_t when, long long error_code,
                        const char *error_message, const char *error_source)
{
    char t[32];
    syncstate_time_text(when, t, sizeof t);
    switch (state) {
    case SYNC_STATE_STARTED: {
        arg a[] = {I(state), T(t), T(src->site), I(src->source_id)};
        return run(d,
                   "UPDATE Update_SyncStatus SET LastSyncState = ?, LastSyncStateTime = ?, "
                   "LastSyncErrorCode = 0, LastSyncErrorMessage = NULL, "
                   "LastSyncErrorSource = NULL WHERE SiteCode = ? AND UpdateSource_ID = ?",
                   a, 4, NULL);
    }
    case SYNC_STATE_DONE: {
        arg a[] = {I(state), T(t), T(t), T(t), T(src->site), I(src->source_id)};
        return run(d,
                   "UPDATE Update_SyncStatus SET LastSyncState = ?, LastSyncStateTime = ?, "
                   "LastSuccessfulSyncTime = ?, LastSyncTime = ?, LastSyncErrorCode = 0, "
                   "LastSyncErrorMessage = NULL, LastSyncErrorSource = NULL "
                   "WHERE SiteCode = ? AND UpdateSource_ID = ?",
                   a, 6, NULL);
    }
    case SYNC_STATE_FAILED: {
        char msg[1024], srcbuf[256];
        /* The columns are bounded; the full text is in the log and the status message. */
        snprintf(msg, sizeof msg, "%s", error_message ? error_message : "");
        snprintf(srcbuf, sizeof srcbuf, "%s", error_source ? error_source : "");
        arg a[] = {I(state), T(t),      T(t),         I(error_code),
                   T(msg),   T(srcbuf), T(src->site), I(src->source_id)};
        return run(d,
                   "UPDATE Update_SyncStatus SET LastSyncState = ?, LastSyncStateTime = ?, "
                   "LastSyncTime = ?, LastSyncErrorCode = ?, LastSyncErrorMessage = ?, "
                   "LastSyncErrorSource = ? WHERE SiteCode = ? AND UpdateSource_ID = ?",
                   a, 8, NULL);
    }
    default: {
        arg a[] = {I(state), T(t), T(src->site), I(src->source_id)};
        return run(d,
                   "UPDATE Update_SyncStatus SET LastSyncState = ?, LastSyncStateTime = ? "
                   "WHERE SiteCode = ? AND UpdateSource_ID = ?",
                   a, 4, NULL);
    }
    }
}

int syncstate_set_location_version(db *d, const sync_source *src, long long version,
                                   const sync_sup *sup)
{
    char t[32], url[512];
    long long changes = 0;
    int ret;
    syncstate_time_text(time(NULL), t, sizeof t);
    syncstate_sup_url(sup, url, sizeof url);
    arg up[] = {I(version),        T(url),       I(sup->internet_facing), T(t),
                I(src->source_id), T(src->site), T(sup->server)};
    ret = run(d,
              "UPDATE WSUSServerLocations SET ContentVersion = ?, WSUSURL = ?, "
              "IsInternetFacing = ?, LastModified = ? "
              "WHERE UpdateSource_ID = ? AND SiteCode = ? AND ServerName = ?",
              up, 7, &changes);
    if (ret < 0 || changes > 0)
        return ret;
    arg ins[] = {I(src->source_id),       T(src->site), T(sup->server), T(url), I(version),
                 I(sup->internet_facing), T(t)};
    return run(d,
               "INSERT INTO WSUSServerLocations (UpdateSource_ID, SiteCode, ServerName, WSUSURL, "
               "ContentVersion, IsInternetFacing, LastModified) VALUES (?, ?, ?, ?, ?, ?, ?)",
               ins, 7, NULL);
}

int syncstate_set_content_version(db *d, const sync_source *src, long long version, time_t when,
                                  const sync_sup *sup)
{
    char t[32];
    int ret;
    syncstate_time_text(when, t, sizeof t);
    arg ss[] = {I(version), I(version), T(t), T(sup->server), T(src->site), I(src->source_id)};
    ret = run(d,
              "UPDATE Update_SyncStatus SET ContentVersion = ?, SyncCatalogVersion = ?, "
              "LastSyncTime = ?, WSUSServerName = ? WHERE SiteCode = ? AND UpdateSource_ID = ?",
              ss, 6, NULL);
    if (ret < 0)
        return ret;
    arg us[] = {I(version), T(t), I(src->source_id)};
    ret = run(d,
              "UPDATE CI_UpdateSources SET ContentVersion = ?, DateModified = ? "
              "WHERE UpdateSource_ID = ?",
              us, 3, NULL);
    if (ret < 0)
        return ret;
    /* A server that is no longer a SUP of the site must not be handed to clients. */
    arg gone[] = {I(src->source_id), T(src->site), T(src->site)};
    ret = run(d,
              "DELETE FROM WSUSServerLocations WHERE UpdateSource_ID = ? AND SiteCode = ? AND "
              "ServerName NOT IN (SELECT ServerName FROM SoftwareUpdatePoints WHERE SiteCode = ?)",
              gone, 3, NULL);
    if (ret < 0)
        return ret;
    return syncstate_set_location_version(d, src, version, sup);
}
