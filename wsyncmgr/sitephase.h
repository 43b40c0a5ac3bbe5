/*
 * sitephase.h - the site-database phase of a sync (status 6705): read the
 * categories and the updates changed since the last sync from the first
 * software update point in bulk, over the server-to-server protocol
 * (MS-WSUSSS GetRevisionIdList with the anchors of the last sync, then
 * GetUpdateData in batches), and write them as configuration items
 * (sitedb.h), with the new content version and the new anchors, in one
 * transaction.  A failure rolls everything back: the previous content
 * version and items stay as they were.
 */
#ifndef WSYNCMGR_SITEPHASE_H
#define WSYNCMGR_SITEPHASE_H

#include "db.h"
#include "sync.h"
#include "syncstate.h"

/*
 * Run the phase against sup for the site's update source src.  On success
 * *version is the content version after it (src's, plus one when the site
 * database changed) and job->changed the items written.  On failure a
 * negative code with job->error / job->source (or job->canceled, or
 * job->db_lost) set.
 */
int sitephase_run(sync_job *job, db *d, const sync_sup *sup, const sync_source *src,
                  long long *version);

/* A fingerprint of what the update pass asks for (products, classifications, languages). */
unsigned long long sitephase_filter_hash(char **products, size_t np, char **classes, size_t nc,
                                         const lang_set *langs);

#endif
