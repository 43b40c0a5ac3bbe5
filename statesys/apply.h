/*
 * apply.h - the rules that turn state messages into the site database's
 * current state (DESIGN.md section 2.6), on one connection:
 *
 *  - the client (ClientID GUID:...) is a System_DISC row, created on first
 *    sight, its NetBIOS name kept current;
 *  - topic type 500 whose topic is a known update sets
 *    Update_ComplianceStatus.Status; 402 sets its LastEnforcement* columns;
 *    501 for a known update source sets Update_ScanStatus; 300, 301 and 302
 *    for a known deployment set Update_AssignmentStatus; every other
 *    message, and one whose update, source or deployment the site does not
 *    know yet, sets SR_CurrentState (MachineID, TopicType, TopicID), from
 *    where apply_migrate() moves it once the site knows the topic;
 *  - the latest MessageTime wins (equal times: the higher serial number),
 *    so order does not matter and a replay changes nothing;
 *  - each client's serial numbers: the highest in SR_ClientSerials, the
 *    gaps in SR_MissingMessageRanges (a late message closes its gap), and
 *    per client the messages received, duplicates and invalid records in
 *    SR_ClientMessageCounts, so "every message exactly once" can be checked.
 *
 * The caller owns the transaction: apply_add() for each parsed batch, then
 * apply_flush(), then commit.  After a rollback call apply_abort().  The
 * batches handed to apply_add() must stay alive until apply_flush().
 */
#ifndef STATESYS_APPLY_H
#define STATESYS_APPLY_H

#include "batch.h"
#include "db.h"

typedef struct apply apply;

typedef struct apply_stats {
    long long files;        /* files applied */
    long long messages;     /* records with a new serial number (or none) applied */
    long long duplicates;   /* records whose serial number was already seen */
    long long invalid;      /* invalid records */
    long long pending;      /* rows kept in SR_CurrentState for a topic the site does not know */
    long long gaps_opened;  /* missing ranges recorded */
    long long gaps_closed;  /* serial numbers that filled a recorded gap */
    long long machines_new; /* System_DISC rows created */
} apply_stats;

/* site_code is written to System_DISC.SMS_Assigned_Sites0 for new clients. */
int apply_open(db *d, const char *site_code, apply **out);
void apply_close(apply *a);

/* Queue the OK files of a batch into the open transaction's work. */
int apply_add(apply *a, const ss_batch *b, apply_stats *st);
/* The same for one file of a batch (the writer's one-file-at-a-time fallback). */
int apply_add_file(apply *a, const ss_batch *b, size_t index, apply_stats *st);
/* Write everything queued since the last flush (no commit). */
int apply_flush(apply *a, apply_stats *st);
/* Forget queued work and every cached ID that the rollback may have undone. */
void apply_abort(apply *a);
/* Forget cached "unknown topic" answers (updates, sources or deployments arrived). */
void apply_forget_unknown(apply *a);

/*
 * SUM Migrate Update Status: move SR_CurrentState rows of topic types 300,
 * 301, 302, 402, 500 and 501 whose topic the site now knows into their
 * tables (latest MessageTime still wins there).  Runs its own transactions
 * of at most page rows; *moved receives the rows moved.
 */
int apply_migrate(apply *a, long long page, long long *moved);

#endif
