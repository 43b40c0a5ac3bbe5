/*
 * events.c - WSUS events: one log line in SoftwareDistribution.log's words
 * and one tbEventInstance row each.
 */
#include <stdio.h>

#include "events.h"
#include "log.h"
#include "susdb.h"

int events_report(db *d, int event_id, const char *type, const char *category, const char *message)
{
    char now[40];
    db_stmt *st;
    int ret;
    log_msg("EventLogEventReporter.ReportEvent EventId=%d,Type=%s,Category=%s,Message=%s", event_id,
            type, category, message);
    if (!d)
        return 0;
    susdb_now(now, sizeof now);
    if ((ret = db_prepare(d, &st,
                          "INSERT INTO tbEventInstance (EventID, EventType, Category, "
                          "TimeAtServer, Message) VALUES (?, ?, ?, ?, ?)")) < 0)
        return ret;
    db_bind_int(st, 1, event_id);
    db_bind_text(st, 2, type);
    db_bind_text(st, 3, category);
    db_bind_text(st, 4, now);
    db_bind_text(st, 5, message);
    ret = db_step(st);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}
