/*
 * trigger.h - what starts a sync (DESIGN.md 2.1), as pure functions the
 * daemon loop uses and the tests check: the request files of wsyncmgr.box
 * (SELF.SYN, FULL.SYN, <PARENT>.SYN), the regular schedule and the retry
 * after a failure, and the times the log shows ("Next scheduled sync is a
 * retry sync at ...", "Waiting N minutes for requests...").
 */
#ifndef WSYNCMGR_TRIGGER_H
#define WSYNCMGR_TRIGGER_H

#include <stddef.h>
#include <time.h>

typedef enum {
    TRIGGER_BAD = 0, /* not a request this site accepts */
    TRIGGER_LOCAL,   /* SELF.SYN */
    TRIGGER_FULL,    /* FULL.SYN */
    TRIGGER_PARENT   /* <PARENT>.SYN from the parent site */
} trigger_file;

/*
 * Classify a file name of wsyncmgr.box (names match case-insensitively, as
 * on the Windows site server).  For TRIGGER_PARENT the site code is copied
 * to site (8 bytes).  For TRIGGER_BAD why says what is wrong.
 */
trigger_file trigger_classify(const char *name, const char *own_site, const char *parent_site,
                              char site[8], char *why, size_t whylen);

/* The sync times a site keeps between syncs. */
typedef struct trigger_state {
    time_t last_sync; /* end of the last sync, successful or not (0: never) */
    time_t last_fail; /* end of the last failed sync, 0 when the last sync succeeded */
    time_t origin;    /* when the schedule started counting (daemon start) */
} trigger_state;

/* The next regular sync: last sync (or origin) + schedule; 0 when there is no schedule. */
time_t trigger_next_regular(const trigger_state *s, long long schedule_min);
/* The retry after a failure: last failure + retry interval; 0 when none is due. */
time_t trigger_next_retry(const trigger_state *s, long long retry_min);
/* The earlier of the two (0: nothing scheduled); *is_retry set when it is the retry. */
time_t trigger_next(const trigger_state *s, long long schedule_min, long long retry_min,
                    int *is_retry);

/* Whole minutes until t, rounded ("Waiting 60 minutes for requests..."); 0 when due. */
long long trigger_minutes_until(time_t t, time_t now);

/* Local time as the site server's logs show it: "1/16/2014 2:25:00 PM". */
void trigger_time_text(time_t t, char *buf, size_t len);

#endif
