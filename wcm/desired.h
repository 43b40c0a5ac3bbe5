/*
 * desired.h - what a software update point should look like, computed from
 * the site's tables, and how that differs from what the SUP has now.
 *
 * Everything here is pure (no database, no network, no log), so the rules
 * WCM applies can be tested on their own: the upstream of each SUP in the
 * hierarchy (DESIGN.md 2.3, seed 004 "Check the update source settings in
 * WSUS"), the proxy and its account, the languages, the subscribed products
 * and classifications, the "Subscribed Update Categories" XML WCM logs, and
 * the list of changes between the SUP's settings and the site's.
 */
#ifndef WCM_DESIRED_H
#define WCM_DESIRED_H

#include <stddef.h>
#include <stdint.h>

#include "wsusapi.h"

/* A site of the hierarchy (SiteControl). */
typedef struct desired_site {
    char code[8];
    char type[16];  /* CAS, PRIMARY or SECONDARY */
    char parent[8]; /* "" for a top-level site */
} desired_site;

/* A software update point (a SoftwareUpdatePoints row). */
typedef struct desired_sup {
    long long id; /* SUP_ID */
    char site[8];
    char server[256];
    int port, ssl_port, use_ssl;
    int internet_facing;
    int install_order;
    char account[256], password[256]; /* the WSUS server connection account */
    int use_proxy;
    char proxy_name[256];
    int proxy_port;
    char proxy_account[256], proxy_password[256];
    int state; /* WCMConfigState */
} desired_sup;

/* The site-wide settings WCM applies (SMS_WSUS_SYNC_MANAGER properties). */
typedef struct desired_sync {
    char source[64];         /* 'Sync Source': MicrosoftUpdate, UpstreamServer or OfflineCatalog */
    char upstream[512];      /* 'Upstream Server': host, host:port, https://host[:port] */
    char offline_path[1024]; /* 'Offline Catalog Path' for OfflineCatalog */
    char languages[512];     /* 'Languages': "en", "en,de" */
} desired_sync;

/* A category known to the site (CI_CategoryInstances with its English name). */
typedef struct desired_category {
    char unique_id[128]; /* as stored: "Product:a105a108-7c9b-4518-bbbe-73f0fe30012b" */
    char type[32];       /* Company, ProductFamily, Product, UpdateClassification */
    char guid[40];       /* the lower-case GUID after the colon */
    char title[512];
} desired_category;

/* Everything the configuration of one site's SUPs depends on. */
typedef struct desired_input {
    desired_site site;
    desired_sup *sups; /* this site's SUPs, first installed first */
    size_t nsups;
    int has_parent_sup;     /* the parent site has a SUP in this database */
    desired_sup parent_sup; /* its first SUP */
    desired_sync sync;
    desired_category *cats; /* the subscribed categories, by unique ID */
    size_t ncats;
} desired_input;

void desired_input_free(desired_input *in);

/* Names of the configuration states (DESIGN.md 2.3), "WSUS_CONFIG_SUCCESS". */
enum {
    DESIRED_STATE_NONE = 0,
    DESIRED_STATE_PENDING = 1,
    DESIRED_STATE_SUCCESS = 2,
    DESIRED_STATE_FAILED = 3,
    DESIRED_STATE_SUBSCRIPTION_PENDING = 4
};
const char *desired_state_name(int state);

/* "True" / "False", as .NET prints a bool in WCM.log. */
const char *desired_bool(int v);

/* 1 for a top-level site (a CAS, or a primary without a parent). */
int desired_is_top_level(const desired_site *site);

/*
 * Split a category unique ID ("Product:<guid>") into its type and
 * lower-case GUID.  0, or CM_EPARSE when it is not "<Type>:<GUID>".
 */
int desired_category_parse(const char *unique_id, char *type, size_t tlen, char guid[40]);

/*
 * The settings SUP number idx of in->sups must have: upstream (Microsoft
 * Update, an upstream server or the offline catalog for the top-level
 * site's first SUP as in->sync says; the parent site's first SUP for the
 * first SUP of a child primary or secondary site; the site's first SUP for
 * every other SUP), replica mode (other SUPs and secondary sites), proxy
 * and proxy account, languages.  Fields WCM does not manage keep the
 * defaults of wsusapi_config_defaults().  Returns 0, or CM_EPARSE /
 * CM_ENOTFOUND with why saying what in the site's settings is wrong.
 */
int desired_config(const desired_input *in, size_t idx, wsusapi_config *out, char *why,
                   size_t whylen);

/* A short description of an upstream for logs: "Microsoft Update", "CS1SITE.CONTOSO.COM, port:
 * 8530, useSSL: False", "offline catalog /srv/wsusscn2.cab". */
void desired_upstream_text(const wsusapi_config *cfg, char *buf, size_t len);

/* Languages as a canonical set: lower-case, de-duplicated, sorted, comma-separated. */
void desired_languages_canon(const char *in, char *out, size_t len);

/* What differs, one log line per change. */
#define DESIRED_MAX_CHANGES 64
typedef struct desired_changes {
    size_t n;
    size_t dropped; /* changes beyond DESIRED_MAX_CHANGES: counted, not worded */
    const char *what[DESIRED_MAX_CHANGES]; /* "upstream server", "proxy", "languages", ... */
    char line[DESIRED_MAX_CHANGES][768];
} desired_changes;

/*
 * Compare the settings WCM manages.  *merged is cur with the managed
 * fields of want (so what WCM does not manage, such as the Microsoft
 * Update URL, stays as the server has it).  The proxy password cannot be
 * read back from a server: when send_proxy_password is set, want's is sent
 * and counted as a change.  Returns the number of changes (0: nothing to
 * set).
 */
int desired_config_diff(const wsusapi_config *cur, const wsusapi_config *want,
                        int send_proxy_password, wsusapi_config *merged, desired_changes *ch);

/*
 * Compare the subscription: products (Company, ProductFamily and Product
 * categories) and classifications.  *merged gets cur's schedule with
 * exactly the wanted IDs (free with wsusapi_subscription_free()); known
 * (may be NULL) names removed categories in the change lines.  Returns the
 * number of changes, or -ENOMEM.
 */
int desired_subscription_diff(const wsusapi_subscription *cur, const desired_category *want,
                              size_t nwant, const desired_category *known, size_t nknown,
                              wsusapi_subscription *merged, desired_changes *ch);

/*
 * The XML WCM logs after "Subscribed Update Categories ": an XML
 * declaration, then <Categories> with one <Category Id="..."> per
 * category, its title as CDATA, one element per line (the log shows the
 * line breaks as '~').  Malloc'd; NULL when out of memory.
 */
char *desired_categories_xml(const desired_category *cats, size_t n);

/*
 * A fingerprint of the site's settings for its SUPs (the hierarchy, the
 * SUP rows, the sync source and languages), so WCM notices a change (an
 * account fixed, a proxy set) between its hourly checks without contacting
 * the SUPs.  The subscription is left out: its changes arrive as .CSB.
 */
uint64_t desired_fingerprint(const desired_input *in);

/* "1 minute", "2 minutes", "30 seconds": how WCM words its waits. */
void desired_wait_text(long long seconds, char *buf, size_t len);

#endif
