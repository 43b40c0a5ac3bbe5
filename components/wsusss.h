/*
 * wsusss.h - the WSUS server-to-server protocol (MS-WSUSSS): its messages,
 * written and read by both ends, and the downstream (DSS) client.
 *
 * Services (SOAP 1.1, document/literal):
 *   /ServerSyncWebService/ServerSyncWebService.asmx, namespace
 *     http://www.microsoft.com/SoftwareDistribution: GetAuthConfig,
 *     GetCookie, GetConfigData, GetRevisionIdList, GetUpdateData
 *   /DssAuthWebService/DssAuthWebService.asmx, namespace
 *     http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService:
 *     GetAuthorizationCookie
 * A DSS authorizes (GetAuthConfig, GetAuthorizationCookie, GetCookie), reads
 * the upstream's configuration (GetConfigData), then runs a configuration
 * pass (GetRevisionIdList with GetConfig=true: categories, classifications,
 * detectoids) and an update pass (GetConfig=false, with the product and
 * classification filters and languages), each followed by GetUpdateData in
 * batches no larger than the upstream's MaxNumberOfUpdatesPerRequest.
 * Anchors are opaque strings the upstream hands out and gets back.
 *
 * Update blobs travel either as XmlUpdateBlob (the XML as text) or as
 * XmlUpdateBlobCompressed (a one-file cab, base64); the readers here always
 * give back plain XML.
 */
#ifndef CM_WSUSSS_H
#define CM_WSUSSS_H

#include <stddef.h>

#include "soap.h"

#define WSUSSS_NS "http://www.microsoft.com/SoftwareDistribution"
#define WSUSSS_DSSAUTH_NS "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
#define WSUSSS_SYNC_PATH "/ServerSyncWebService/ServerSyncWebService.asmx"
#define WSUSSS_DSSAUTH_PATH "/DssAuthWebService/DssAuthWebService.asmx"
#define WSUSSS_PLUGIN_ID "DssTargeting"
#define WSUSSS_SERVICE_URL "DssAuthWebService/DssAuthWebService.asmx"
/* The protocol version this implementation speaks (WSUS 10.0). */
#define WSUSSS_PROTOCOL_VERSION "1.20"
/* Largest decompressed update blob accepted (same bound as updxml's). */
#define WSUSSS_MAX_BLOB (4u << 20)

/* MS-WSUSSS 2.2.9.3 ErrorCode values. */
#define WSUSSS_ERR_INVALID_PARAMETERS "InvalidParameters"
#define WSUSSS_ERR_INVALID_COOKIE "InvalidCookie"
#define WSUSSS_ERR_INTERNAL "InternalServerError"
#define WSUSSS_ERR_INCOMPATIBLE_VERSION "IncompatibleProtocolVersion"
#define WSUSSS_ERR_INVALID_AUTH_COOKIE "InvalidAuthorizationCookie"
#define WSUSSS_ERR_SERVER_CHANGED "ServerChanged"
#define WSUSSS_ERR_SERVER_BUSY "ServerBusy"

/* An UpdateIdentity: the update's GUID (lower case) and a revision number. */
typedef struct wsusss_identity {
    char id[37];
    int revision;
} wsusss_identity;

/* A Cookie: its expiration (xsd:dateTime text) and EncryptedData (base64 text). */
typedef struct wsusss_cookie {
    char expiration[40];
    char *data;
} wsusss_cookie;

typedef struct wsusss_language {
    int id; /* LCID; 0 = "all" */
    char short_name[16];
    char long_name[64];
    int enabled;
} wsusss_language;

/* GetConfigData's ServerSyncConfigData. */
typedef struct wsusss_config_data {
    int catalog_only_sync;
    int lazy_sync;
    int hosts_psf;
    int max_updates_per_request;
    int max_driver_sets_per_request;
    int max_computer_ids;
    int max_pnp_ids;
    int max_decryption_updates;
    char new_config_anchor[128];
    char protocol_version[16];
    wsusss_language *languages;
    size_t nlanguages;
} wsusss_config_data;

/* GetRevisionIdList's ServerSyncFilter. */
typedef struct wsusss_filter {
    char anchor[128]; /* "" for the first call (the element is then omitted) */
    int get_config;
    int get63_language_only;
    char (*categories)[37]; /* products (and families, companies) */
    size_t ncategories;
    char (*classifications)[37];
    size_t nclassifications;
    int *languages; /* LCIDs */
    size_t nlanguages;
    int delta; /* the Delta flag sent with every Id and language */
} wsusss_filter;

/* One ServerSyncUpdateData, decompressed. */
typedef struct wsusss_update_data {
    wsusss_identity id;
    char *xml; /* NUL-terminated */
    size_t xml_len;
    int was_compressed;  /* came as XmlUpdateBlobCompressed */
    char (*digests)[48]; /* FileDigestList, base64 */
    size_t ndigests;
} wsusss_update_data;

/* One ServerSyncUrlData. */
typedef struct wsusss_file_url {
    char digest[48];
    char *mu_url;
} wsusss_file_url;

void wsusss_cookie_free(wsusss_cookie *c);
void wsusss_config_data_free(wsusss_config_data *c);
void wsusss_filter_free(wsusss_filter *f);
void wsusss_update_data_free(wsusss_update_data *u, size_t n);
void wsusss_file_urls_free(wsusss_file_url *u, size_t n);

/* ------------------------------------------------------------------ */
/* Messages: the body element of each request and response.            */
/* Writers append to a soap_buf; readers take the body element and      */
/* return 0, CM_EPARSE (a missing or malformed field) or -ENOMEM.       */
/* ------------------------------------------------------------------ */

/* GetAuthConfig */
void wsusss_auth_config_request_write(soap_buf *b);
void wsusss_auth_config_response_write(soap_buf *b, const char *last_change);
int wsusss_auth_config_response_read(xmlNode *resp, char *plugin_id, size_t plen, char *service_url,
                                     size_t slen);

/* GetAuthorizationCookie (DssAuthWebService) */
void wsusss_auth_cookie_request_write(soap_buf *b, const char *account_name,
                                      const char *account_guid);
/* Validates as MS-WSUSSS 3.1.4.2 says: a name of FQDN characters and a GUID. */
int wsusss_auth_cookie_request_read(xmlNode *op, char *account_name, size_t nlen,
                                    char *account_guid, size_t glen);
void wsusss_auth_cookie_response_write(soap_buf *b, const char *cookie_data_b64);
int wsusss_auth_cookie_response_read(xmlNode *resp, char *plugin_id, size_t plen,
                                     char **cookie_data_b64);

/* GetCookie */
void wsusss_cookie_request_write(soap_buf *b, const char *auth_cookie_b64,
                                 const wsusss_cookie *old_cookie, const char *protocol_version);
/* *auth_cookie_b64 NULL when the array does not hold exactly one cookie. */
int wsusss_cookie_request_read(xmlNode *op, char **auth_cookie_b64, char *protocol_version,
                               size_t vlen);
void wsusss_cookie_response_write(soap_buf *b, const wsusss_cookie *c);
int wsusss_cookie_response_read(xmlNode *resp, wsusss_cookie *out);
/* The <cookie> argument of the other requests; CM_ENOTFOUND when absent or empty. */
int wsusss_cookie_arg_read(xmlNode *op, wsusss_cookie *out);

/* GetConfigData */
void wsusss_config_request_write(soap_buf *b, const wsusss_cookie *c, const char *config_anchor);
int wsusss_config_request_read(xmlNode *op, char *config_anchor, size_t alen);
void wsusss_config_response_write(soap_buf *b, const wsusss_config_data *cfg);
int wsusss_config_response_read(xmlNode *resp, wsusss_config_data *out);

/* GetRevisionIdList */
void wsusss_revision_request_write(soap_buf *b, const wsusss_cookie *c, const wsusss_filter *f);
int wsusss_revision_request_read(xmlNode *op, wsusss_filter *out);
void wsusss_revision_response_write(soap_buf *b, const char *anchor, const wsusss_identity *ids,
                                    size_t n);
int wsusss_revision_response_read(xmlNode *resp, char *anchor, size_t alen, wsusss_identity **ids,
                                  size_t *n);
/*
 * The same from the raw answer (a whole SOAP envelope), read as a stream
 * without building a tree: the same values and the same refusals, or
 * WSUSSS_NOT_THIS_ANSWER when the envelope holds something else (a fault)
 * or is not XML at all, for the caller to read the way every answer is read.
 */
#define WSUSSS_NOT_THIS_ANSWER (-10301)
int wsusss_revision_response_parse(const char *xml, size_t len, char *anchor, size_t alen,
                                   wsusss_identity **ids, size_t *n);

/* GetUpdateData */
void wsusss_update_request_write(soap_buf *b, const wsusss_cookie *c, const wsusss_identity *ids,
                                 size_t n);
/* *ids is NULL (n 0) when updateIds is absent. */
int wsusss_update_request_read(xmlNode *op, wsusss_identity **ids, size_t *n);
/* The response is written in parts: begin, one add per update, urls, end. */
void wsusss_update_response_begin(soap_buf *b);
/* compress: send the blob as XmlUpdateBlobCompressed (a one-file cab). */
int wsusss_update_response_add(soap_buf *b, const wsusss_identity *id, const char *xml, size_t len,
                               int compress, char (*digests)[48], size_t ndigests);
void wsusss_update_response_urls(soap_buf *b); /* closes <updates>, opens <fileUrls> */
void wsusss_update_response_url(soap_buf *b, const char *digest, const char *mu_url);
void wsusss_update_response_end(soap_buf *b);
int wsusss_update_response_read(xmlNode *resp, wsusss_update_data **ups, size_t *nups,
                                wsusss_file_url **urls, size_t *nurls);
/*
 * The same from the raw answer (a whole SOAP envelope), read as a stream (a first sync reads a
 * thousand of these): the same values, or WSUSSS_NOT_THIS_ANSWER for
 * anything the stream does not read as the tree reader would (a fault, an
 * update inline as elements, any value the tree reader refuses), for the
 * caller to read with wsusss_update_response_read, which then tells what is
 * wrong.
 */
int wsusss_update_response_parse(const char *xml, size_t len, wsusss_update_data **ups,
                                 size_t *nups, wsusss_file_url **urls, size_t *nurls);

/* Parse a GUID in any case, with or without braces, into 36 lower-case characters. */
int wsusss_guid_parse(const char *in, char out[37]);

/* ------------------------------------------------------------------ */
/* Downstream client                                                   */
/* ------------------------------------------------------------------ */

typedef struct wsusss_client wsusss_client;

int wsusss_client_new(wsusss_client **out, const soap_endpoint *ep);
/*
 * A second client of the server at ep in c's session (the same
 * authorization and sync cookies, no new authorization): a client is one
 * connection used by one thread at a time, so two threads that fetch at
 * once each need their own.
 */
int wsusss_client_clone(wsusss_client **out, const wsusss_client *c, const soap_endpoint *ep);
void wsusss_client_free(wsusss_client *c);

/*
 * The text of the last failure, as WSUS records a failed synchronization:
 *   "UssCommunicationError: WebException: Unable to connect to the remote server"
 *   "UssCommunicationError: WebException: The remote name could not be resolved: 'host'"
 *   "DssAuthenticationError: WebException: The request failed with HTTP status 401:
 *    Unauthorized."  (a refusal by the DssAuthWebService)
 *   "UssCommunicationError: SoapException: <faultstring>"
 */
const char *wsusss_client_error(const wsusss_client *c);
/* The ErrorCode of the last SOAP fault ("" when none). */
const char *wsusss_client_fault_code(const wsusss_client *c);

/* The authorization step: GetAuthConfig, GetAuthorizationCookie, GetCookie. */
int wsusss_authorize(wsusss_client *c, const char *account_name, const char *account_guid);
int wsusss_get_config(wsusss_client *c, const char *config_anchor, wsusss_config_data *out);
int wsusss_get_revision_ids(wsusss_client *c, const wsusss_filter *f, char *anchor, size_t alen,
                            wsusss_identity **ids, size_t *n);
int wsusss_get_update_data(wsusss_client *c, const wsusss_identity *ids, size_t n,
                           wsusss_update_data **ups, size_t *nups, wsusss_file_url **urls,
                           size_t *nurls);

#endif
