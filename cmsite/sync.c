/*
 * sync.c - cmsite sync [--wait] [--full]: request a software updates sync
 * as the console's "Synchronize Software Updates" does (SyncNow), and with
 * --wait follow it to its end: the sync's status messages (6701...6708) from
 * the site database, and its progress lines ("processed X out of Y items")
 * from wsyncmgr.log.  On a terminal the progress is one bar redrawn in
 * place; otherwise each step is a plain line, for scripts and CI logs.
 * Exit code 0 when the sync ends with 6702, 1 with the 6703 message when
 * it fails (or when it cannot be followed), 2 for wrong usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmsite.h"
#include "statmsg.h"

#define POLL_MS 200
#define GONE_S 10 /* wsyncmgr may be restarted by the supervisor; this long is "gone" */

typedef struct follower {
    db *d;
    int tty;
    long long after; /* StatusMessages.RecordID before the request */
    int started;     /* our sync's 6701 seen */
    char log[PATH_MAX + 64];
    off_t offset;
    char partial[4096];
    size_t npartial;
    int bar_shown;
    int outcome;             /* 1: 6702, -1: 6703, 0: running */
    long long first;         /* f->after at the request */
    long long blocked_since; /* a STATMSG line whose rows are not there yet, since */
    int drained;             /* the "Sync time" line after the outcome was printed */
} follower;

static long long mono_ms(void);

static void usage(FILE *f)
{
    fprintf(f, "usage: cmsite sync [--root DIR] [--wait] [--full] [--timeout SECONDS]\n"
               "  Requests a software updates sync (SyncNow; --full: FULL.SYN, every update read\n"
               "  again). With --wait, follows it to the end: a progress bar on a terminal,\n"
               "  plain lines otherwise. Exit code 0 when the sync succeeded (6702), 1 when it\n"
               "  failed (the 6703 message is printed) or could not be followed.\n"
               "  --timeout: give up after SECONDS (default 3600).\n");
}

static int request(db *d, const char *site, int full)
{
    db_stmt *st = NULL;
    int ret;
    /* The two statements of the SMS Provider's SyncNow (seed 004 SQL Profiler trace). */
    if ((ret = db_prepare(d, &st, "UPDATE Update_SyncStatus SET SyncNow = ? WHERE SiteCode = ?")) <
            0 ||
        (ret = db_bind_text(st, 1, full ? "FULL" : "SELF")) < 0 ||
        (ret = db_bind_text(st, 2, site)) < 0 || (ret = db_step(st)) < 0)
        goto done;
    if (db_changes(st) == 0) {
        ret = 1;
        goto done;
    }
    db_finalize(st);
    st = NULL;
    if ((ret = db_prepare(d, &st,
                          "UPDATE Update_SyncStatus SET SyncNow = NULL WHERE SiteCode = ?")) < 0 ||
        (ret = db_bind_text(st, 1, site)) < 0 || (ret = db_step(st)) < 0)
        goto done;
    ret = 0;
done:
    db_finalize(st);
    return ret;
}

static void clear_bar(follower *f)
{
    if (f->tty && f->bar_shown) {
        printf("\r\033[K");
        f->bar_shown = 0;
    }
}

/* A progress line of the log: draw the bar, or print the line. */
static void progress(follower *f, const char *msg)
{
    const char *p = strstr(msg, ", processed ");
    long long x = 0, y = 0;
    if (!f->tty) {
        printf("%s\n", msg);
        fflush(stdout);
        return;
    }
    char what[128];
    size_t wl = 0;
    const char *w = strncmp(msg, "sync: ", 6) == 0 ? msg + 6 : msg;
    while (w[wl] && w + wl != p && wl + 1 < sizeof what) {
        what[wl] = w[wl];
        wl++;
    }
    what[wl] = '\0';
    if (p)
        sscanf(p, ", processed %lld out of %lld", &x, &y);
    int width = 30, fill = y > 0 ? (int)(x * width / y) : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    if (p)
        printf("\r\033[K[%s] %3lld%%  %s  %lld/%lld", bar, y > 0 ? x * 100 / y : 100, what, x, y);
    else
        printf("\r\033[K[%s]       %s", bar, what);
    fflush(stdout);
    f->bar_shown = 1;
}

static int poll_messages(follower *f, int limit);

/*
 * One line of the log.  A STATMSG line of the sync is printed from its
 * stored rows, so messages and progress come out in the order they
 * happened; 0 when its rows are not stored yet (the line is read again).
 */
static int log_line(follower *f, char *line)
{
    char *frame = strstr(line, "  $$<");
    int id = 0;
    if (frame)
        *frame = '\0';
    if (sscanf(line, "STATMSG: ID=%d ", &id) == 1 && id >= 6701 && id <= 6708 &&
        strstr(line, "COMP=\"SMS_WSUS_SYNC_MANAGER\"")) {
        long long before = f->after, seen = 0;
        /* One message per line: the next lines come after it. */
        int r = poll_messages(f, 1);
        if (r != 0)
            f->outcome = r;
        if (f->after != before || r != 0)
            return 1;
        /* Printed already, or never stored (the database was away): do not wait for ever. */
        db_stmt *q;
        if (db_prepare(f->d, &q,
                       "SELECT COUNT(*) FROM StatusMessages WHERE Component = "
                       "'SMS_WSUS_SYNC_MANAGER' AND MessageID = ? AND RecordID > ? AND "
                       "RecordID <= ?") == 0) {
            db_bind_int(q, 1, id);
            db_bind_int(q, 2, f->first);
            db_bind_int(q, 3, f->after);
            if (db_step(q) == 1)
                seen = db_col_int(q, 0);
            db_finalize(q);
        }
        if (seen)
            return 1;
        if (!f->blocked_since)
            f->blocked_since = mono_ms();
        if (mono_ms() - f->blocked_since > 5000) {
            f->blocked_since = 0;
            return 1;
        }
        return 0;
    }
    f->blocked_since = 0;
    if (f->started && (strncmp(line, "sync: ", 6) == 0 || strncmp(line, "Sleeping ", 9) == 0))
        progress(f, line);
    if (f->outcome &&
        (strncmp(line, "Updated ", 8) == 0 || strncmp(line, "Successfully synced site", 24) == 0 ||
         strncmp(line, "Sync failed. Will retry", 23) == 0 ||
         strncmp(line, "Sync time: ", 11) == 0)) {
        clear_bar(f);
        printf("%s\n", line);
        if (strncmp(line, "Sync time: ", 11) == 0)
            f->drained = 1;
    }
    return 1;
}

/* Read what wsyncmgr.log gained since last time (a rolled-over log starts again at 0). */
static void tail_log(follower *f)
{
    struct stat st;
    FILE *fp;
    char buf[8192];
    if (stat(f->log, &st) != 0)
        return;
    if (st.st_size < f->offset) {
        f->offset = 0;
        f->npartial = 0;
    }
    if (st.st_size == f->offset || !(fp = fopen(f->log, "r")))
        return;
    if (fseeko(fp, f->offset, SEEK_SET) == 0) {
        size_t n;
        off_t line_start = f->offset;
        int stop = 0;
        f->npartial = 0;
        int draining = f->outcome != 0;
        while (!stop && (draining || f->outcome == 0) && (n = fread(buf, 1, sizeof buf, fp)) > 0) {
            for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    f->partial[f->npartial] = '\0';
                    f->npartial = 0;
                    if (!log_line(f, f->partial)) {
                        stop = 1; /* its status message is not stored yet: again next time */
                        break;
                    }
                    line_start = f->offset + (off_t)i + 1;
                    if (f->outcome != 0 && !draining)
                        break;
                } else if (f->npartial + 1 < sizeof f->partial) {
                    f->partial[f->npartial++] = buf[i];
                }
            }
            if (!stop && (draining || f->outcome == 0))
                f->offset += (off_t)n;
        }
        /* Resume at the first line not handled (a partial last line is read again). */
        f->offset = line_start;
    }
    fclose(fp);
}

/* ISTR0 and ISTR1 of a status message. */
static void insertion_strings(db *d, long long rec, char *s0, char *s1, size_t len)
{
    db_stmt *st;
    s0[0] = s1[0] = '\0';
    if (db_prepare(d, &st,
                   "SELECT InsStrIndex, InsStrValue FROM StatusMessageInsStrs WHERE RecordID = ? "
                   "AND InsStrIndex IN (0, 1)") < 0)
        return;
    db_bind_int(st, 1, rec);
    while (db_step(st) == 1)
        snprintf(db_col_int(st, 0) == 0 ? s0 : s1, len, "%s", db_col_text(st, 1));
    db_finalize(st);
}

/*
 * New status messages of wsyncmgr: 1 when the sync ended well, -1 when it
 * failed, 0 while it runs, -2 when the database cannot be read.
 */
static int poll_messages(follower *f, int limit)
{
    db_stmt *st;
    int outcome = 0;
    long long recs[64];
    int ids[64], n = 0;
    if (db_prepare(f->d, &st,
                   "SELECT RecordID, MessageID FROM StatusMessages WHERE RecordID > ? AND "
                   "Component = 'SMS_WSUS_SYNC_MANAGER' AND MessageID BETWEEN 6701 AND 6708 "
                   "ORDER BY RecordID LIMIT 64") < 0)
        return -2;
    db_bind_int(st, 1, f->after);
    while (db_step(st) == 1 && n < 64) {
        recs[n] = db_col_int(st, 0);
        ids[n++] = (int)db_col_int(st, 1);
    }
    db_finalize(st);
    for (int i = 0, printed = 0; i < n && outcome == 0 && printed < limit; i++) {
        char text[2048], s0[1024], s1[2048];
        f->after = recs[i];
        /* A sync that was running before our request is not ours: wait for our 6701. */
        if (!f->started && ids[i] != 6701)
            continue;
        printed++;
        f->started = 1;
        insertion_strings(f->d, recs[i], s0, s1, sizeof s0);
        const char *istr[STATMSG_MAX_INSSTRS] = {s0, s1};
        if (statmsg_render_component(f->d, ids[i], "SMS_WSUS_SYNC_MANAGER", istr, text,
                                     sizeof text) < 0)
            snprintf(text, sizeof text, "status message %d", ids[i]);
        for (char *p = text; *p; p++)
            if (*p == '~')
                *p = ' ';
        clear_bar(f);
        printf("%d %s\n", ids[i], text);
        fflush(stdout);
        if (ids[i] == 6702)
            outcome = 1;
        else if (ids[i] == 6703) {
            size_t l = strlen(s1);
            fprintf(stderr, "cmsite: Sync failed: %s%s Source: %s\n", s1,
                    l && s1[l - 1] == '.' ? "" : ".", s0);
            outcome = -1;
        }
    }
    return outcome;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int follow(follower *f, const char *root, long long timeout_s)
{
    long long deadline = mono_ms() + timeout_s * 1000, gone_since = 0;
    for (;;) {
        tail_log(f);
        /* Without a log to follow, the status messages alone tell the story. */
        struct stat lst;
        int r = f->outcome ? f->outcome : stat(f->log, &lst) != 0 ? poll_messages(f, 64) : 0;
        if (r == 1 || r == -1) {
            f->outcome = r;
            /* The lines after the last message: items updated, the sync time. */
            for (int i = 0; i < 10 && !f->drained; i++) {
                tail_log(f);
                if (!f->drained)
                    usleep(POLL_MS * 1000);
            }
            clear_bar(f);
            return r == 1 ? 0 : 1;
        }
        if (r == -2) {
            fprintf(stderr, "cmsite: cannot read the status messages: %s\n", db_errmsg(f->d));
            return 1;
        }
        long pid;
        if (!cmsite_running(root, "wsyncmgr", &pid)) {
            if (!gone_since)
                gone_since = mono_ms();
            else if (mono_ms() - gone_since > GONE_S * 1000) {
                clear_bar(f);
                fprintf(stderr,
                        "cmsite: wsyncmgr stopped before the sync finished; the request stays in "
                        "wsyncmgr.box and runs when it starts again.\n");
                return 1;
            }
        } else {
            gone_since = 0;
        }
        if (mono_ms() > deadline) {
            clear_bar(f);
            fprintf(stderr,
                    "cmsite: the sync did not finish within %lld seconds; it goes on (see "
                    "%s).\n",
                    timeout_s, f->log);
            return 1;
        }
        usleep(POLL_MS * 1000);
    }
}

int cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'}, {"wait", no_argument, NULL, 'w'},
        {"full", no_argument, NULL, 'F'},       {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *root = NULL;
    int wait = 0, full = 0, c, ret;
    long long timeout_s = 3600;
    char abs[PATH_MAX];
    site_ini ini;
    follower f;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:wFt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'w':
            wait = 1;
            break;
        case 'F':
            full = 1;
            break;
        case 't': {
            char *end;
            timeout_s = strtoll(optarg, &end, 10);
            if (*end || timeout_s <= 0) {
                fprintf(stderr, "cmsite: --timeout takes a number of seconds\n");
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    root = cmsite_root(root);
    if (realpath(root, abs))
        root = abs;
    memset(&f, 0, sizeof f);
    if ((ret = cmsite_open(root, &ini, &f.d)) != 0)
        return ret;
    long pid;
    if (wait && !cmsite_running(root, "wsyncmgr", &pid)) {
        fprintf(stderr,
                "cmsite: wsyncmgr is not running for site %s, so the sync cannot be followed. "
                "Start the site with `cmsite start --root %s`.\n",
                ini.site_code, root);
        db_close(f.d);
        return 1;
    }
    if (wait && !cmsite_running(root, "smsdbmon", &pid))
        fprintf(stderr, "cmsite: smsdbmon is not running: the request waits in the database "
                        "until it starts.\n");
    /* Where to start reading: after everything that is already there. */
    if (db_query_int(f.d, "SELECT COALESCE(MAX(RecordID), 0) FROM StatusMessages", NULL, NULL,
                     &f.after) < 0)
        f.after = 0;
    f.first = f.after;
    snprintf(f.log, sizeof f.log, "%s/logs/wsyncmgr.log", root);
    struct stat st;
    f.offset = stat(f.log, &st) == 0 ? st.st_size : 0;
    f.tty = isatty(STDOUT_FILENO);

    ret = request(f.d, ini.site_code, full);
    if (ret != 0) {
        if (ret == 1)
            fprintf(stderr,
                    "cmsite: site %s has no Update_SyncStatus row; run `cmsite init` "
                    "again.\n",
                    ini.site_code);
        else
            fprintf(stderr, "cmsite: sync request failed: %s\n", db_errmsg(f.d));
        db_close(f.d);
        return 1;
    }
    printf("Requested a %ssynchronization for site %s.\n", full ? "full " : "", ini.site_code);
    fflush(stdout);
    if (!wait) {
        db_close(f.d);
        return 0;
    }
    ret = follow(&f, root, timeout_s);
    if (ret == 0) {
        long long v = 0;
        if (db_query_int(f.d, "SELECT ContentVersion FROM Update_SyncStatus WHERE SiteCode = ?",
                         ini.site_code, NULL, &v) == 0)
            printf("Sync succeeded. Update source content version is %lld.\n", v);
    }
    db_close(f.d);
    return ret;
}
