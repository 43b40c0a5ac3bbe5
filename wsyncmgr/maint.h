/*
 * maint.h - the hourly maintenance of WSUS Synchronization Manager on the
 * top-level site (seed 004 "Maintenance", "Expired updates"): delete the
 * expired updates that no deployment references (directly, or through an
 * update group a deployment targets) and that have been expired for longer
 * than the cleanup age, with every row that belongs to them, a batch per
 * transaction, so the work never holds the database for long and a crash
 * loses at most the batch in progress.
 */
#ifndef WSYNCMGR_MAINT_H
#define WSYNCMGR_MAINT_H

#include <stdatomic.h>
#include <time.h>

#include "db.h"

/* Called after each committed batch with its size (for "Deleted 100 expired updates"). */
typedef void (*maint_batch_fn)(void *ud, long long deleted);

/*
 * Delete expired updates last modified before now - age_days, batch at a
 * time.  *deleted receives the total.  Stops between batches when *cancel
 * is set (may be NULL).  Returns 0 or a negative code (what was committed
 * stays deleted).
 */
int maint_delete_expired(db *d, long long age_days, long long batch, time_t now, atomic_int *cancel,
                         maint_batch_fn fn, void *ud, long long *deleted);

#endif
