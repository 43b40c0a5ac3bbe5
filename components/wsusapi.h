/*
 * wsusapi.h - the WSUS administration API (MS-WSUSAR subset), both ends'
 * message definitions and the client WCM and wsyncmgr use.
 *
 * The API is SOAP 1.1 at /ApiRemoting30/WebService.asmx, namespace
 * http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService,
 * with HTTP Basic authentication (the "WSUS server connection account").
 * Operations, named after MS-WSUSAR:
 *   GetServerProtocolVersion, GetServerVersion, ExecuteSPGetConfiguration,
 *   ExecuteSPSetConfiguration, GetSubscription, SetSubscription,
 *   StartSubscriptionManually, StopSubscription, GetSubscriptionState,
 *   GetServerSyncProgress, GetLastSynchronizationInfo (lab: the outcome of
 *   the last sync with its error text), ExecuteSPGetCategories,
 *   ExecuteSPGetUpdateById, ExecuteSPGetXmlForUpdate.
 * wsusd serves them with the same build/parse functions declared here, so
 * the two ends cannot drift.
 *
 * Every call returns 0 (or a count) on success and a negative code on
 * failure: a SOAP_E* code of soap.h, CM_ENOTFOUND, CM_EPARSE or -ENOMEM.
 * wsusapi_error() then holds the text to log, as the .NET API words it:
 *   connection refused / unreachable  "Unable to connect to the remote server"
 *   HTTP 401                           "The request failed with HTTP status 401: Unauthorized"
 *   name not resolved                  "The remote name could not be resolved: '<host>'"
 *   other HTTP status                  "The request failed with HTTP status 500: Internal Server
 * Error" SOAP fault                         the fault's faultstring The library never logs.
 */
#ifndef CM_WSUSAPI_H
#define CM_WSUSAPI_H

#include <stddef.h>
#include <time.h>

#include "soap.h"

#define WSUSAPI_NS "http://www.microsoft.com/SoftwareDistribution/Server/ApiRemotingWebService"
#define WSUSAPI_PATH "/ApiRemoting30/WebService.asmx"

/* What GetServerProtocolVersion answers (WSUS 3.0 SP2 / 4.0 / 10.0 API: 1.8) and the version. */
#define WSUSAPI_PROTOCOL_VERSION "1.8"
#define WSUSAPI_SERVER_VERSION "10.0.17763.1"

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

/* Where the server synchronizes from. */
typedef enum {
    WSUSAPI_SOURCE_MU = 0,       /* Microsoft Update (SyncFromMicrosoftUpdate = true) */
    WSUSAPI_SOURCE_UPSTREAM = 1, /* another WSUS or wsusd (UpstreamServerName/Port/UseSsl) */
    WSUSAPI_SOURCE_OFFLINE = 2   /* lab: a wsusscn2.cab or a directory of update XML */
} wsusapi_source;

/* ExecuteSPGetConfiguration / ExecuteSPSetConfiguration (the settings WCM manages). */
typedef struct wsusapi_config {
    wsusapi_source source;
    char upstream_server[256]; /* UpstreamServerName */
    int upstream_port;         /* UpstreamServerPortNumber, default 8530 */
    int upstream_ssl;          /* UpstreamServerUseSsl */
    int replica_mode;          /* IsReplicaServer: approvals follow the upstream */
    /*
     * MUUrl: the Microsoft Update server this WSUS talks to.  The lab default
     * is "generated:" (a small generated catalog, so a fresh lab syncs with no
     * network); "https://sws.update.microsoft.com" is the real one.
     */
    char mu_url[512];
    char offline_path[1024];  /* OfflineCatalogPath (lab) for WSUSAPI_SOURCE_OFFLINE */
    int use_proxy;            /* UseProxy */
    char proxy_name[256];     /* ProxyName */
    int proxy_port;           /* ProxyServerPort, default 80 */
    char proxy_user[256];     /* ProxyUserName (empty: anonymous proxy) */
    char proxy_domain[256];   /* ProxyUserDomain */
    char proxy_password[256]; /* write-only: Set sends it when not empty; Get returns "" */
    int all_languages;        /* AllUpdateLanguagesEnabled */
    char languages[512];      /* EnabledUpdateLanguages: comma-separated short names, "en,de" */
    int server_port;          /* the server's own port (PortNumber), read-only */
    int use_ssl;              /* the server answers on its SSL port too (read-only) */
} wsusapi_config;

/* GetSubscription / SetSubscription. */
typedef struct wsusapi_subscription {
    int sync_automatically;     /* SynchronizeAutomatically */
    long time_of_day_s;         /* SynchronizeAutomaticallyTimeOfDay, seconds after midnight UTC */
    int syncs_per_day;          /* NumberOfSynchronizationsPerDay */
    time_t last_sync_time;      /* LastSynchronizationTime (read-only; 0 = never) */
    char last_modified_by[128]; /* LastModifiedBy (read-only) */
    char **product_ids;         /* lower-case GUID text, "a105a108-7c9b-4518-bbbe-73f0fe30012b" */
    size_t nproducts;
    char **classification_ids;
    size_t nclassifications;
} wsusapi_subscription;

/* GetSubscriptionState: SynchronizationStatus. */
typedef enum {
    WSUSAPI_SYNC_NOT_PROCESSING = 0,
    WSUSAPI_SYNC_RUNNING = 1,
    WSUSAPI_SYNC_STOPPING = 2
} wsusapi_sync_state;

/* GetServerSyncProgress: SynchronizationPhase, items processed and total. */
typedef enum {
    WSUSAPI_PHASE_NOT_PROCESSING = 0,
    WSUSAPI_PHASE_CATEGORIES = 1, /* "synchronizing categories" */
    WSUSAPI_PHASE_UPDATES = 2,    /* "synchronizing updates" */
    WSUSAPI_PHASE_APPROVALS = 3   /* "synchronizing other items" (replicas) */
} wsusapi_phase;

typedef struct wsusapi_progress {
    wsusapi_phase phase;
    long long processed;
    long long total;
} wsusapi_progress;

/* GetLastSynchronizationInfo: the outcome of the last finished sync. */
typedef enum {
    WSUSAPI_RESULT_NEVER = 0,
    WSUSAPI_RESULT_SUCCEEDED = 1,
    WSUSAPI_RESULT_FAILED = 2,
    WSUSAPI_RESULT_CANCELED = 3
} wsusapi_result;

typedef struct wsusapi_sync_info {
    wsusapi_result result;
    time_t start_time, end_time;
    long long new_updates, revised_updates, expired_updates;
    /* On failure, as WSUS words it, e.g. "UssCommunicationError: WebException: The
     * remote name could not be resolved: 'upstream.contoso.com'" or
     * "DssAuthenticationError: WebException: The request failed with HTTP status 401:
     * Unauthorized." */
    char error[1024];
} wsusapi_sync_info;

/* ExecuteSPGetCategories: one row per category (company, product family, product,
 * classification). */
typedef struct wsusapi_category {
    char id[40];        /* lower-case GUID */
    char type[32];      /* "Company", "ProductFamily", "Product", "UpdateClassification" */
    char title[512];    /* in the server's first enabled language, else English */
    char parent_id[40]; /* "" for top-level categories */
    int revision;
    time_t arrival_time; /* when it reached this server */
} wsusapi_category;

/* ExecuteSPGetUpdateById: the update's properties. */
typedef struct wsusapi_update {
    char id[40];
    int revision;
    char update_type[32]; /* "Software", "Driver", "Category", "Detectoid" */
    char title[1024];
    char kb_article[32]; /* "2807986" or "" */
    char msrc_severity[32];
    time_t creation_date;
    time_t arrival_time;
    int is_expired;    /* IsDeclined in WSUS terms for expired/declined content */
    int is_superseded; /* a newer update supersedes it */
    char classification_id[40];
} wsusapi_update;

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

typedef struct wsusapi wsusapi;

typedef struct wsusapi_target {
    const char *host; /* the SUP's FQDN or address */
    int port;         /* 8530 / 8531 */
    int use_ssl;
    const char *user; /* the WSUS server connection account; NULL = anonymous */
    const char *password;
    long timeout_s;      /* per call; 0 = 300 s */
    const char *ca_file; /* for use_ssl; NULL = system trust store */
    int insecure;        /* skip certificate checks (lab self-signed only) */
} wsusapi_target;

/*
 * Connect: creates the client and calls GetServerProtocolVersion, so a
 * refused connection, an unresolvable name or a wrong account fails here
 * ("Attempting connection to WSUS server: ..." then "Successfully connected
 * to server: ..." is the caller's log).  On failure *out is still set when
 * allocation succeeded (so wsusapi_error() can be read) and must be closed.
 */
int wsusapi_connect(wsusapi **out, const wsusapi_target *t);
void wsusapi_close(wsusapi *c);

/* The text of the last failure ("" when the last call succeeded). */
const char *wsusapi_error(const wsusapi *c);
/* The HTTP status of the last answer (0 when there was none, e.g. refused). */
int wsusapi_http_status(const wsusapi *c);

/* GetServerProtocolVersion ("1.8") and GetServerVersion ("10.0.17763.1"). */
int wsusapi_protocol_version(wsusapi *c, char *buf, size_t len);
int wsusapi_server_version(wsusapi *c, char *buf, size_t len);

int wsusapi_get_config(wsusapi *c, wsusapi_config *out);
int wsusapi_set_config(wsusapi *c, const wsusapi_config *cfg);

/* The arrays of *out are malloc'd: free with wsusapi_subscription_free(). */
int wsusapi_get_subscription(wsusapi *c, wsusapi_subscription *out);
int wsusapi_set_subscription(wsusapi *c, const wsusapi_subscription *sub);
void wsusapi_subscription_free(wsusapi_subscription *sub);

/* StartSubscriptionManually: 0 when started, or when a sync is already running
 * (the caller then follows that sync, as ConfigMgr does). */
int wsusapi_start_sync(wsusapi *c);
/* StopSubscription: asks a running sync to stop (it ends as Canceled). */
int wsusapi_stop_sync(wsusapi *c);
int wsusapi_get_sync_state(wsusapi *c, wsusapi_sync_state *out);
int wsusapi_get_sync_progress(wsusapi *c, wsusapi_progress *out);
int wsusapi_get_last_sync(wsusapi *c, wsusapi_sync_info *out);

/* ExecuteSPGetCategories: *out is malloc'd (free()), *n its length. */
int wsusapi_get_categories(wsusapi *c, wsusapi_category **out, size_t *n);

/* ExecuteSPGetUpdateById: CM_ENOTFOUND (and a SOAP fault text) for an unknown ID. */
int wsusapi_get_update(wsusapi *c, const char *update_id, wsusapi_update *out);
/* ExecuteSPGetXmlForUpdate: the update's MS-WSUSSS metadata XML, malloc'd. */
int wsusapi_get_update_xml(wsusapi *c, const char *update_id, char **xml, size_t *len);

/* ------------------------------------------------------------------ */
/* Messages (shared by client and server; exposed for golden tests)     */
/* ------------------------------------------------------------------ */

/* Write the inner XML of a <Configuration> / <subscription> element. */
void wsusapi_config_write(soap_buf *b, const wsusapi_config *cfg);
int wsusapi_config_read(xmlNode *node, wsusapi_config *out);
void wsusapi_subscription_write(soap_buf *b, const wsusapi_subscription *sub);
int wsusapi_subscription_read(xmlNode *node, wsusapi_subscription *out);
/* Defaults: Microsoft Update ("generated:" lab catalog), port 8530, English, daily at 00:00. */
void wsusapi_config_defaults(wsusapi_config *cfg);
/* The answer of a server: <OpResponse xmlns=...>[<OpResult>] ... [</OpResult>]</OpResponse>. */
void wsusapi_response_begin(soap_buf *b, const char *op, int has_result);
void wsusapi_response_end(soap_buf *b, const char *op, int has_result);
/* One GenericReadableRow; values in order (a NULL string is written as nil). */
void wsusapi_row_begin(soap_buf *b);
void wsusapi_row_str(soap_buf *b, const char *v);
void wsusapi_row_int(soap_buf *b, long long v);
void wsusapi_row_bool(soap_buf *b, int v);
void wsusapi_row_time(soap_buf *b, time_t t);
void wsusapi_row_end(soap_buf *b);
/* GetLastSynchronizationInfo's result content. */
void wsusapi_sync_info_write(soap_buf *b, const wsusapi_sync_info *info);
/* xsd:dateTime in UTC ("2014-01-16T18:53:54Z"; 0 is "0001-01-01T00:00:00"). */
void wsusapi_time_format(char *buf, size_t len, time_t t);
/* The .NET text of a sync phase for logs ("categories", "updates", "other items"). */
const char *wsusapi_phase_name(wsusapi_phase p);

#endif
