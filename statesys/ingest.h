/*
 * ingest.h - the state message pipeline of statesys.
 *
 * A processing round, started by the daemon loop when the inboxes hold
 * files (after the Inbox Pause), runs "State Message Processing Thread #0":
 * it claims files into process/ a bounded slice at a time (incoming/high
 * first, then incoming, then incoming/low), cuts them into chunks (Chunk
 * Size files, at most a megabyte), and with its helper threads #1..#N-1
 * (Loader Threads in all) parses them.  One writer thread, with its own
 * database connection, applies the parsed chunks many files per
 * transaction and deletes each file only after its rows are committed.  A
 * crash at any point leaves files in process/, which the next start puts
 * back (daemon_main recovers the boxes) and which are applied again
 * harmlessly.  Bad files go to corrupt/ once; a file that fails to parse
 * while it may still be written (changed less than Settle Time ago) is put
 * back and retried later.
 */
#ifndef STATESYS_INGEST_H
#define STATESYS_INGEST_H

#include "inbox.h"
#include "shared.h"

typedef struct ingest ingest;

/* boxes: [0] incoming/high, [1] incoming, [2] incoming/low. */
int ingest_start(ingest **out, ss_shared *sh, const inbox_dir *const boxes[3],
                 void (*round_done)(void *ud), void *ud);
void ingest_stop(ingest *g);

/* Loop thread: 1 when a box holds a file to process now (quick: stops at the first). */
int ingest_has_work(ingest *g);
/* Loop thread: start a round (0), or -EBUSY when one runs. */
int ingest_round_start(ingest *g);
int ingest_round_active(ingest *g);
/* Loop thread, after round_done was called: reap the round's thread. */
void ingest_round_join(ingest *g);
/* Milliseconds until the earliest file put back may be retried, or -1 when none waits. */
long long ingest_retry_in_ms(ingest *g);

#endif
