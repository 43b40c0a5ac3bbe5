/*
 * stn.h - Policy Provider's scan tool notifications: the {GUID}.STN files
 * smsdbmon drops in policypv.box when the content version of an update
 * source changes (notification UpdSyncStatus_iu).  One batch of files
 * makes at most one new version of the site's UpdateSource policy.
 */
#ifndef POLICYPV_STN_H
#define POLICYPV_STN_H

#include <stddef.h>

#include "db.h"
#include "inbox.h"
#include "policy.h"

/* The most files one call reads; the daemon loop calls again for more. */
#define STN_BATCH 256

/* How a batch reports a status message (the daemon stores it). */
typedef void (*stn_report_fn)(void *ud, int id, char sev, const char *s0, const char *s1,
                              const char *s2, const char *s3);

typedef struct stn {
    db *d;
    const char *site;
    stn_report_fn report;
    void *ud;
    policy_result last; /* what the last policy update found and did */
} stn;

/*
 * The update source ID a file name carries: "{GUID}.STN" (any case) gives
 * "{GUID}" in id (39 bytes).  Returns 1 for such a name, 0 otherwise.
 */
int stn_name_id(const char *name, char *id, size_t idlen);

/*
 * One batch: claim up to STN_BATCH files, log the documented lines
 * (Found {GUID}.STN, Added Scan Tool ID {GUID}, Adding to delete list:
 * <path>), quarantine files that are not named after a known update source
 * (one log line and one status message each), bring the site's policy up
 * to date in one transaction (status message 8300 when a version was
 * written), and only then delete the files.  On a database failure the
 * claimed files go back to the box and the code is returned (CM_EDBCONN:
 * the caller reconnects; the box is read again afterwards).  Returns 1 when
 * a full batch was read (more may wait), 0 when the box is drained.
 */
int stn_batch(stn *s, const inbox_dir *box);

#endif
