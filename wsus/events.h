/*
 * events.h - WSUS events: what WSUS writes to the Windows event log and to
 * SoftwareDistribution.log, here a line of wsusd.log in the same words
 *   EventLogEventReporter.ReportEvent EventId=382,Type=Information,
 *   Category=Synchronization,Message=A manual synchronization was started.
 * and a row of tbEventInstance.
 */
#ifndef WSUS_EVENTS_H
#define WSUS_EVENTS_H

#include "db.h"

enum {
    EVENT_SYNC_SCHEDULED = 381, /* A scheduled synchronization was started. */
    EVENT_SYNC_MANUAL = 382,    /* A manual synchronization was started. */
    EVENT_SYNC_SUCCEEDED = 384, /* Synchronization completed successfully. */
    EVENT_SYNC_CANCELED = 385,  /* Synchronization was canceled. */
    EVENT_SYNC_FAILED = 386     /* Synchronization failed. Reason: ... */
};

/*
 * Log the event and store it (d may be NULL when the database is away: the
 * line is still written).  type is "Information", "Warning" or "Error".
 */
int events_report(db *d, int event_id, const char *type, const char *category, const char *message);

#endif
