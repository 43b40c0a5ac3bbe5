/*
 * sitedb.h - the site-database phase of a sync: software update metadata
 * (MS-WSUSSS update XML, already parsed with updxml_parse) written as
 * configuration items (DESIGN.md 5.2, seed 004 "WSUS Synchronization
 * Manager synchronizes the software updates metadata").
 *
 *   categories  CI_CategoryInstances ("Product:<guid>"...), their parents,
 *               CI_LocalizedCategoryInstances in the site's languages;
 *   updates     CI_ConfigurationItems (CIType_ID 1 update, 8 bundle; the
 *               XML in SDMPackageDigest), CI_UpdateInfo,
 *               CI_LocalizedProperties in the site's languages,
 *               CI_CategoryMemberships (the update's categories and their
 *               ancestors), CI_ConfigurationItemRelations (6 supersedes,
 *               1 bundles, 2 requires), CI_CIUpdateSources, and the content:
 *               CI_Contents, CI_ContentFiles, CI_ConfigurationItemContents.
 * Updates newly superseded or expired, and new revisions, are marked so.
 *
 * Everything runs inside the caller's transaction (db_begin() first, then
 * sitedb_begin(), batches, sitedb_finish(), and the caller's commit or
 * rollback), so a failed phase leaves the previous items untouched.  On
 * SQLite the phase takes the write lock at sitedb_begin(); on PostgreSQL it
 * locks CI_ConfigurationItems and CI_Contents against other writers (reads
 * go on), because it hands out CI_ID and Content_ID values itself in order
 * to write many rows per statement.
 *
 * An update whose revision the site already holds is left alone, unless
 * the phase is full (FULL.SYN): then every update received is rewritten.
 */
#ifndef WSYNCMGR_SITEDB_H
#define WSYNCMGR_SITEDB_H

#include <stddef.h>
#include <time.h>

#include "db.h"
#include "lang.h"
#include "updxml.h"

typedef struct sitedb sitedb;

/* What happened to one update or category (for the caller's log). */
typedef enum {
    SITEDB_INSERTED = 1,
    SITEDB_REVISED,   /* a newer revision replaced the stored one */
    SITEDB_REWRITTEN, /* same revision, rewritten by a full sync */
    SITEDB_UNCHANGED,
    SITEDB_SKIPPED /* not an update or category the site stores (detectoid) */
} sitedb_result;

typedef struct sitedb_options {
    const char *site;      /* SourceSite of new rows */
    long long source_id;   /* UpdateSource_ID */
    const lang_set *langs; /* the languages written */
    int full;              /* rewrite every update received */
    long long new_version; /* MinSourceVersion of what this phase writes */
    time_t now;            /* DateCreated / DateLastModified of the rows written */
    /* Called once per update and category handled (may be NULL). */
    void (*on_item)(void *ud, const updxml_update *u, sitedb_result r);
    void *ud;
} sitedb_options;

typedef struct sitedb_stats {
    long categories, categories_changed;
    long updates, inserted, revised, rewritten, unchanged, skipped;
    long newly_expired, newly_superseded;
    long unknown_categories; /* memberships naming a category the site does not know */
    long untitled;           /* updates without a title in any language */
    long relations, unresolved_relations, files;
    long indexes_rebuilt; /* secondary indexes built after a first sync's bulk load */
} sitedb_stats;

/* One downloadable file location (GetUpdateData's ServerSyncUrlData). */
typedef struct sitedb_url {
    const char *digest; /* base64 SHA-1, as <File Digest=> */
    const char *url;
} sitedb_url;

/* One update of a batch, with the XML it was parsed from (stored as SDMPackageDigest). */
typedef struct sitedb_item {
    const updxml_update *u;
    const char *xml;
    size_t xml_len;
} sitedb_item;

/*
 * Lock, count what the site holds, prepare the writers.  Inside a
 * transaction.  On SQLite, when the site holds no update yet (a first
 * sync), the secondary indexes of the CI tables are dropped for the bulk
 * load and built again by sitedb_finish (sitedb.c).
 */
int sitedb_begin(sitedb **out, db *d, const sitedb_options *o);
/* A category (UpdateType Category); its parent may come later in the pass. */
int sitedb_category(sitedb *w, const updxml_update *u);
/* After the categories: resolve parents that came after their children. */
int sitedb_categories_done(sitedb *w);
/* A batch of updates (categories in it are handled as categories). urls may be NULL. */
int sitedb_updates(sitedb *w, const sitedb_item *items, size_t n, const sitedb_url *urls,
                   size_t nurls);
/*
 * Read what the site holds of these updates (GUIDs), before
 * sitedb_known_revision is asked about them: all update CIs at once when
 * they are many against what the site holds, else just these.  Updates a
 * batch names are read anyway (sitedb_updates), so this is only needed for
 * sitedb_known_revision.
 */
int sitedb_prefetch(sitedb *w, const char *const *ids, size_t n);
/*
 * The revision of an update the site holds, or 0: lets the caller skip
 * fetching what it already has (a full sync fetches everything).  Known for
 * the updates given to sitedb_prefetch.
 */
int sitedb_known_revision(const sitedb *w, const char *update_id);
/* Flush, resolve relations, mark superseded updates, rebuild what sitedb_begin dropped. */
int sitedb_finish(sitedb *w);
/* Items written (categories and updates): 0 means the content version stays. */
long sitedb_changed(const sitedb *w);
const sitedb_stats *sitedb_get_stats(const sitedb *w);
/* Free the writer (after the caller's commit or rollback). */
void sitedb_free(sitedb *w);

/* ConfigMgr's severity number for an MSRC severity: Critical 10, Important 8, Moderate 6, Low 2. */
int sitedb_severity(const char *msrc);

#endif
