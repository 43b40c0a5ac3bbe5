/*
 * summary.h - the software updates summarization tasks of the state
 * system (seed 004, "Software Update Summarization"; DESIGN.md 2.6), as
 * listed in SR_SummaryTasks:
 *
 *   SUM Update Status Summarizer        per update: required, installed,
 *                                       not required, unknown, total
 *                                       (Update_StatusSummary, v_UpdateSummary)
 *   SUM Assignment Compliance Evaluator per deployment (Update_AssignmentSummary)
 *   SUM Update Group Status Summarizer  per update group (Update_GroupStatusSummary)
 *   SUM Migrate Update Status           states kept for topics the site did
 *                                       not know move to their tables
 *   SUM Delete Aged Status              client states older than Aged Status Days
 *
 * Each returns its status as ConfigMgr logs it: the number of rows the
 * task wrote (or moved, or deleted).
 */
#ifndef STATESYS_SUMMARY_H
#define STATESYS_SUMMARY_H

#include "apply.h"
#include "db.h"

#define SUM_UPDATE_STATUS "SUM Update Status Summarizer"
#define SUM_ASSIGNMENT "SUM Assignment Compliance Evaluator"
#define SUM_GROUP "SUM Update Group Status Summarizer"
#define SUM_MIGRATE "SUM Migrate Update Status"
#define SUM_DELETE_AGED "SUM Delete Aged Status"

/* 1 when statesys runs a task of this name. */
int summary_known(const char *task);

/*
 * Run a task in its own transaction(s).  a is the apply context of the same
 * connection (for the migration); aged_days is the age for Delete Aged
 * Status.  *status receives the task's status.  CM_ENOTFOUND for an
 * unknown task.
 */
int summary_run(db *d, apply *a, const char *task, long long aged_days, long long *status);

#endif
