/*
 * cursor.h - reading a box in directory order, a bounded slice at a time.
 *
 * inbox_scan() returns the oldest files first, which needs a full pass over
 * the folder for every batch: draining a backlog of n files in batches of k
 * costs n * n / k stat calls (a million files, batches of 8192: 120 million).
 * A cursor keeps its directory stream open between calls and hands out the
 * next acceptable files, so a whole backlog costs one pass.  The state
 * system may take files out of order because its rules do not depend on
 * order (the latest MessageTime wins; serial numbers are compared as sets).
 * Acceptance is inbox_scan()'s: a name the box accepts, a regular file
 * (lstat: a symlink is never followed), one link, within the size cap.
 */
#ifndef STATESYS_CURSOR_H
#define STATESYS_CURSOR_H

#include <dirent.h>
#include <stddef.h>

#include "inbox.h"

typedef struct box_cursor {
    const inbox_dir *box;
    DIR *dir; /* NULL between passes */
} box_cursor;

void cursor_init(box_cursor *c, const inbox_dir *box);
/*
 * Up to max acceptable files from where the last call stopped.  *at_end is
 * set to 1 when the pass reached the end of the folder (the next call
 * starts a new pass).  Rejected entries go to on_reject (which may move
 * them).  Returns 0 or a negative code.
 */
int cursor_next(box_cursor *c, inbox_entry *out, size_t max, size_t *n, int *at_end,
                inbox_reject_fn on_reject, void *ud);
void cursor_close(box_cursor *c);

#endif
