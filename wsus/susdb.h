/*
 * susdb.h - wsusd's own database (SUSDB-like tables, wsus/sql/<dialect>):
 * creating it, its settings, the subscription, storing synced updates and
 * the queries its web services answer from.
 *
 * Every function takes the connection of the thread that calls it (the
 * HTTP thread, the sync thread and the main thread each have their own)
 * and returns 0 or a negative code; db_errmsg() says why.  The store is
 * used by one writer at a time (the sync thread).
 */
#ifndef WSUS_SUSDB_H
#define WSUS_SUSDB_H

#include <stddef.h>
#include <time.h>

#include "db.h"
#include "updxml.h"
#include "wsusapi.h"
#include "wsusss.h"

/* The default database of a site root: <root>/data/susdb.db through the SQLite driver. */
void susdb_default_connection(const char *root, char *buf, size_t len);

/* Apply the compiled-in scripts (idempotent); *failed names the script on failure. */
int susdb_apply(db *d, const char **failed);
/* Per-connection settings for speed (SQLite: synchronous NORMAL under WAL, a larger cache). */
int susdb_tune(db *d);
/* cmsite init: create <root>/data/susdb.db with its schema; errbuf says why on failure. */
int susdb_init_root(const char *root, char *errbuf, size_t errlen);

/* tbConfiguration as name/value text. */
int susdb_get(db *d, const char *name, char *buf, size_t len); /* CM_ENOTFOUND when unset */
int susdb_set(db *d, const char *name, const char *value);
long long susdb_get_int(db *d, const char *name, long long def);

/* The server's identity: a GUID made on first use (ServerID). */
int susdb_server_id(db *d, char out[37]);

/*
 * The WSUS server connection account (HTTP Basic on the administration
 * API), stored as a salted PBKDF2 hash.  An empty user removes it.
 */
int susdb_set_account(db *d, const char *user, const char *password);
/* 1 when user and password match, 0 when not, CM_ENOTFOUND when none is configured. */
int susdb_check_account(db *d, const char *user, const char *password);

/* The administration API's configuration and subscription. */
int susdb_config_load(db *d, wsusapi_config *cfg);
int susdb_config_save(db *d, const wsusapi_config *cfg);
int susdb_subscription_load(db *d, wsusapi_subscription *sub);
int susdb_subscription_save(db *d, const wsusapi_subscription *sub, const char *modified_by);
int susdb_last_sync_load(db *d, wsusapi_sync_info *info);
int susdb_last_sync_save(db *d, const wsusapi_sync_info *info);

/* Languages (tbLanguage) for GetConfigData; *out malloc'd. */
int susdb_languages(db *d, wsusss_language **out, size_t *n);

/* The current time as the tables store it: "YYYY-MM-DD HH:MM:SS.mmm" UTC. */
void susdb_now(char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Storing synced updates                                              */
/* ------------------------------------------------------------------ */

typedef struct susdb_store susdb_store;

/* What storing one revision did. */
typedef enum {
    SUSDB_STORED_NEW = 1,     /* the first revision of an update */
    SUSDB_STORED_REVISED = 2, /* a new revision of a known update */
    SUSDB_STORED_SAME = 3     /* that revision was already there */
} susdb_stored;

/* A download location for one of the update's files (by digest). */
typedef struct susdb_url {
    const char *digest;
    const char *url;
} susdb_url;

int susdb_store_open(susdb_store **out, db *d);
void susdb_store_close(susdb_store *s);
/* Is this revision already stored? (1 yes, 0 no, <0 error) */
int susdb_store_has(susdb_store *s, const char *update_id, int revision);
/*
 * Store one parsed update with the XML it came as (inside the caller's
 * transaction).  Self-references (an update superseding or bundling
 * itself) are dropped; *dropped counts them.
 */
int susdb_store_update(susdb_store *s, const updxml_update *u, const char *xml, size_t len,
                       const susdb_url *urls, size_t nurls, susdb_stored *what, int *dropped);
/*
 * Rows are held back and written in multi-row statements: flush before
 * committing the transaction the updates were stored in.  After a rollback
 * the store is out of step with the database: close it.
 */
int susdb_store_flush(susdb_store *s);
/*
 * After a sync: find cycles in supersedence and in bundles among the latest
 * revisions and remove the edges that close them (each reported through
 * fn so the caller logs it).  Returns the number of edges removed.
 */
typedef void (*susdb_cycle_fn)(void *ud, const char *kind, const char *from, const char *to);
int susdb_break_cycles(db *d, susdb_cycle_fn fn, void *ud);

/* ------------------------------------------------------------------ */
/* Queries for the web services                                        */
/* ------------------------------------------------------------------ */

/* The current anchor value: the highest ChangeAnchor stored (0 when empty). */
int susdb_max_anchor(db *d, long long *out);

/*
 * Latest revisions changed after `after` and up to `upto` (anchor values): categories (config pass)
 * or updates.  For updates, when products or classifications are given, only updates in at least
 * one of the products (or their descendants) and at least one of the classifications.  *ids
 * malloc'd.
 */
int susdb_revisions_since(db *d, long long after, long long upto, int categories,
                          char (*products)[37], size_t nproducts, char (*classes)[37],
                          size_t nclasses, wsusss_identity **ids, size_t *n);

/* The XML of one revision (malloc'd) and its file digests; CM_ENOTFOUND when unknown. */
int susdb_revision_xml(db *d, const wsusss_identity *id, char **xml, size_t *len,
                       char (**digests)[48], size_t *ndigests);
/* The MUURL of a file, "" when none. */
int susdb_file_url(db *d, const char *digest, char *buf, size_t len);

/*
 * GetUpdateData's reads, a batch at a time (two statements for a whole
 * batch instead of a few per revision): the XML, file digests and their
 * MUURLs ("" when none) of each of ids[i] in out[i] (xml NULL when that
 * revision is unknown).
 */
typedef struct susdb_blob {
    char *xml;
    size_t len;
    char (*digests)[48];
    char **urls;
    size_t ndigests;
} susdb_blob;
int susdb_revisions_xml(db *d, const wsusss_identity *ids, size_t n, susdb_blob *out);
void susdb_blobs_free(susdb_blob *b, size_t n);

/*
 * The GUIDs of the given categories and of every stored category below
 * them (a product family stands for its products), sorted for bsearch with
 * strcmp; *out malloc'd.
 */
int susdb_category_closure(db *d, char **ids, size_t n, char (**out)[37], size_t *nout);

/* Rows for ExecuteSPGetCategories; *out malloc'd. */
int susdb_categories(db *d, const char *language, wsusapi_category **out, size_t *n);
/* ExecuteSPGetUpdateById / ExecuteSPGetXmlForUpdate (latest revision). */
int susdb_update_by_id(db *d, const char *update_id, const char *language, wsusapi_update *out);
int susdb_update_xml(db *d, const char *update_id, char **xml, size_t *len);

/* Counts for status: updates (not categories) and categories stored. */
int susdb_counts(db *d, long long *updates, long long *categories);

#endif
