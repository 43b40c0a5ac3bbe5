/*
 * wsusloc.h - the WSUS server location lookup of the management point
 * (seed 004 "WSUS Server Location", seed 003): parse a client's
 * WSUSLocationRequest, run the MP_GetWSUSServerLocations logic over
 * CI_UpdateSources, Update_SyncStatus and WSUSServerLocations, and write
 * the WSUSLocationReply.  Shared by `cmsite wsus-location` and the
 * management point stand-in (smsmp), so both answer exactly alike.
 *
 * A location is returned only when the content version the client asks
 * for is the version all three tables hold for the update source and the
 * client's assigned site; when they disagree (a failed sync) the reply is
 * empty, as the documents describe.  The library never logs: the lookup
 * also reports the versions it found so the caller can say why a reply is
 * empty.
 */
#ifndef CM_WSUSLOC_H
#define CM_WSUSLOC_H

#include <stddef.h>

#include "db.h"

/* The largest request accepted (a real one is well under 1 KB). */
#define WSUSLOC_MAX_REQUEST 65536
/* The most location records one reply carries (a site has a few SUPs). */
#define WSUSLOC_MAX_RECORDS 16

typedef struct wsusloc_request {
    char content_id[40];   /* the update source unique ID, {GUID} as sent */
    long long version;     /* the content version the client's policy names */
    char assigned_site[8]; /* "" when the request names none */
    int on_internet;       /* ClientLocationInfo OnInternet: 0 intranet, 1 Internet */
    char forest[256];      /* informational (MP_GetWSUSServerLocations takes it) */
    char domain[256];
} wsusloc_request;

typedef struct wsusloc_record {
    char url[512];     /* WSUSURL, e.g. http://PS1SITE.CONTOSO.COM:8530 */
    char server[256];  /* ServerName */
    long long version; /* the content version of the location */
} wsusloc_record;

typedef struct wsusloc_reply {
    char site[8]; /* MPSite SiteCode: the site the locations belong to */
    wsusloc_record rec[WSUSLOC_MAX_RECORDS];
    size_t n;
    /* What the three tables hold, to explain an empty reply. */
    int source_found;           /* the unique ID is in CI_UpdateSources (not expired) */
    long long source_version;   /* CI_UpdateSources.ContentVersion */
    int status_found;           /* Update_SyncStatus has a row for the site and source */
    long long status_version;   /* Update_SyncStatus.ContentVersion */
    size_t nlocations;          /* WSUSServerLocations rows for the site and source */
    size_t nlocations_net;      /* ... of them for the client's network (intranet/Internet) */
    long long location_version; /* the version of the first such row */
} wsusloc_reply;

/* 1 when s is a {GUID}: braces, 8-4-4-4-12 hex digits, either case. */
int wsusloc_guid_valid(const char *s);

/*
 * Parse a WSUSLocationRequest (UTF-8, or UTF-16 with its byte-order mark).
 * The parser never loads a DTD or an external entity and never touches the
 * network; a document with a DOCTYPE is refused outright (entity bombs
 * need one).  Returns 0, CM_ETOOBIG over WSUSLOC_MAX_REQUEST, or CM_EPARSE
 * with the reason in why.  Call xmlInitParser() once in the main thread
 * before parsing in other threads.
 */
int wsusloc_parse_request(const char *xml, size_t len, wsusloc_request *req, char *why,
                          size_t whylen);

/* A request document for the given fields (cmsite's flags, tests). */
int wsusloc_request_xml(const wsusloc_request *req, char *buf, size_t len);

/*
 * MP_GetWSUSServerLocations: the locations of req's update source for the
 * request's assigned site (default_site when it names none) at exactly the
 * requested content version, for the client's network, ordered as the
 * site's software update points are installed.  One statement, so the
 * three tables are read as of one moment.  Returns 0 (out->n may be 0) or
 * a negative code (CM_EDBCONN: the database is away).
 */
int wsusloc_lookup(db *d, const wsusloc_request *req, const char *default_site, wsusloc_reply *out);

/*
 * The WSUSLocationReply document (attribute values escaped), e.g.
 *   <WSUSLocationReply SchemaVersion="1.00"><Sites><Site><MPSite SiteCode="PS1"/>
 *   <LocationRecords><LocationRecord WSUSURL="..." ServerName="..." Version="38"/>
 *   </LocationRecords></Site></Sites></WSUSLocationReply>   (one line)
 * and <WSUSLocationReply SchemaVersion="1.00"><Sites/></WSUSLocationReply>
 * when there is no location.  Returns the length or CM_ETOOBIG.
 */
int wsusloc_reply_xml(const wsusloc_reply *r, char *buf, size_t len);

/* Why a reply is empty, in one sentence for a log line or a terminal. */
void wsusloc_explain(const wsusloc_request *req, const wsusloc_reply *r, char *buf, size_t len);

#endif
