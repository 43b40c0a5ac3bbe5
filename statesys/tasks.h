/*
 * tasks.h - the state system's scheduler thread: runs the summarization
 * tasks of SR_SummaryTasks on their schedules and on demand (RunNow = 1,
 * what `cmsite summarize` sets), runs SUM Migrate Update Status as soon as
 * the site learns updates, update sources or deployments it had states
 * waiting for, and sends the heartbeat and missing-message status messages.
 * It has its own database connection.
 */
#ifndef STATESYS_TASKS_H
#define STATESYS_TASKS_H

#include "shared.h"

typedef struct tasks tasks;

/* boxes: the three inbox folders, for the heartbeat's backlog count. */
int tasks_start(tasks **out, ss_shared *sh, const char *const boxes[3]);
void tasks_stop(tasks *t);

#endif
