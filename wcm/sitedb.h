/*
 * sitedb.h - what WCM reads from and writes to the site database: the
 * site's place in the hierarchy (SiteControl), its software update points
 * and their configuration state (SoftwareUpdatePoints), the site-wide
 * settings it applies (SMS_WSUS_SYNC_MANAGER properties), and the
 * subscribed products and classifications (CI_UpdateCategorySubscription
 * with CI_CategoryInstances and CI_LocalizedCategoryInstances).
 * Returns 0 or a negative code (CM_EDBCONN when the database went away);
 * never logs.
 */
#ifndef WCM_SITEDB_H
#define WCM_SITEDB_H

#include "config.h"
#include "db.h"
#include "desired.h"

/*
 * Load everything the configuration of site_code's SUPs depends on.  The
 * site's type and parent come from SiteControl, or from site.ini when the
 * site has no row there.  in->cats is sorted by unique ID.
 */
int sitedb_load(db *d, const site_ini *ini, desired_input *in);

/* Every category known to the site (for the names in change lines); sorted by unique ID. */
int sitedb_categories(db *d, desired_category **out, size_t *n);

/* Record a SUP's configuration state, its time (UTC) and the error ("" clears it). */
int sitedb_set_state(db *d, long long sup_id, int state, const char *error);

/* Record the WSUS version a SUP reported. */
int sitedb_set_version(db *d, long long sup_id, const char *version);

#endif
