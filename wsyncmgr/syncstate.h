/*
 * syncstate.h - the sync state of a site in the site database: its
 * software update points (SoftwareUpdatePoints, first installed first), its
 * update source and Update_SyncStatus row, the state the console shows
 * (LastSyncState and friends, v_SUPSyncStatus), and the content version
 * written the way spProcessSUMSyncStateMessage writes it (seed 004
 * "Compliance"): Update_SyncStatus, CI_UpdateSources and
 * WSUSServerLocations together, so the three tables the management point
 * compares agree (seed 003).
 *
 * Library code: returns 0 or a negative code (CM_EDBCONN when the database
 * is gone), never logs; db_errmsg() says why.
 */
#ifndef WSYNCMGR_SYNCSTATE_H
#define WSYNCMGR_SYNCSTATE_H

#include <stddef.h>
#include <time.h>

#include "db.h"

/* The console's sync states: the status message IDs. */
enum {
    SYNC_STATE_STARTED = 6701,
    SYNC_STATE_DONE = 6702,
    SYNC_STATE_FAILED = 6703,
    SYNC_STATE_WSUS = 6704,
    SYNC_STATE_SITE_DB = 6705,
    SYNC_STATE_REPLICA = 6706
};

/* E_FAIL, as the documents' 6703 says ("error 2147500037"), stored as a signed int. */
#define SYNC_ERROR_E_FAIL (-2147467259LL)

/* A software update point of the site. */
typedef struct sync_sup {
    long long id;
    char server[256];
    int port, ssl_port, use_ssl, internet_facing, install_order;
    char account[256], password[256];
    int use_proxy;
    char proxy_name[256];
    int proxy_port;
    int wcm_state; /* WCMConfigState: 2 = WSUS_CONFIG_SUCCESS */
    char wcm_error[1024];
} sync_sup;

#define SYNC_MAX_SUPS 32

/* The site's update source and its Update_SyncStatus row. */
typedef struct sync_source {
    char site[8];
    long long source_id;
    char unique_id[72];        /* {GUID} */
    long long content_version; /* Update_SyncStatus.ContentVersion */
    long long source_version;  /* CI_UpdateSources.ContentVersion */
    int last_state;            /* 0 when never synced */
    time_t last_state_time;    /* 0 when unknown */
    time_t last_sync_time;     /* LastSyncTime, 0 when never */
} sync_source;

/* UTC text as the tables store it: "YYYY-MM-DD HH:MM:SS". */
void syncstate_time_text(time_t t, char *buf, size_t len);
/* Parse that text (a ".mmm" or "+00" tail is ignored); 0 when empty or malformed. */
time_t syncstate_time_parse(const char *s);

/* The site's SUPs ordered by InstallOrder (then SUP_ID); *n may be 0. */
int syncstate_sups(db *d, const char *site, sync_sup *out, size_t max, size_t *n);
/* The WSUS URL clients use: http://SERVER:8530, or https with the SSL port. */
void syncstate_sup_url(const sync_sup *s, char *buf, size_t len);

/* The site's Update_SyncStatus row and its update source; CM_ENOTFOUND when none. */
int syncstate_source(db *d, const char *site, sync_source *out);

/*
 * Record a state change of the sync (v_SUPSyncStatus):
 *   6701 started   LastSyncState/Time, the error fields cleared;
 *   6704-6706      LastSyncState/Time;
 *   6702 done      also LastSuccessfulSyncTime and LastSyncTime, error cleared;
 *   6703 failed    also LastSyncTime and the error code, message and source.
 */
int syncstate_set_state(db *d, const sync_source *src, int state, time_t when, long long error_code,
                        const char *error_message, const char *error_source);

/*
 * spProcessSUMSyncStateMessage: set the content version of the update
 * source for the site to version at sync time `when`: Update_SyncStatus
 * (ContentVersion, SyncCatalogVersion, LastSyncTime, WSUSServerName),
 * CI_UpdateSources (ContentVersion, DateModified) and the
 * WSUSServerLocations row of sup (inserted when missing; rows of servers
 * that are no longer SUPs of the site are removed).  Runs inside the
 * caller's transaction when there is one.
 */
int syncstate_set_content_version(db *d, const sync_source *src, long long version, time_t when,
                                  const sync_sup *sup);

/* Only the WSUSServerLocations row of one SUP (a replica that finished its sync). */
int syncstate_set_location_version(db *d, const sync_source *src, long long version,
                                   const sync_sup *sup);

/* "0d00h03m53s", the Sync time of the log. */
void syncstate_duration_text(long long seconds, char *buf, size_t len);

#endif
