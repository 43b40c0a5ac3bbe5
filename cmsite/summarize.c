/*
 * summarize.c - cmsite summarize <task>: what the console's "Run
 * Summarization" does.  It sets SR_SummaryTasks.RunNow = 1 for the task,
 * waits until statesys has run it (RunNow back to 0 and a new LastRunTime),
 * and prints the result the way StateSys.log reports it, with the summary
 * the task wrote.  --list shows the tasks (vSR_SummaryTasks).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmsite.h"

static const struct {
    const char *alias, *name;
} tasks[] = {
    {"update-status", "SUM Update Status Summarizer"},
    {"assignment", "SUM Assignment Compliance Evaluator"},
    {"group", "SUM Update Group Status Summarizer"},
    {"migrate", "SUM Migrate Update Status"},
    {"delete-aged", "SUM Delete Aged Status"},
};
#define NTASKS (sizeof tasks / sizeof tasks[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: cmsite summarize [--root DIR] [--timeout SECONDS] [--limit N] TASK\n"
               "       cmsite summarize [--root DIR] --list\n"
               "  Runs a summarization task of the state system now (as the console's Run\n"
               "  Summarization), waits for statesys to finish it and prints its result.\n"
               "  TASK is the task's name or its short name:\n");
    for (size_t i = 0; i < NTASKS; i++)
        fprintf(f, "    %-13s %s\n", tasks[i].alias, tasks[i].name);
    fprintf(f, "  --timeout S   give up waiting after S seconds (default 120)\n"
               "  --limit N     rows of the summary to print (default 20)\n");
}

static int list_tasks(db *d)
{
    db_stmt *q;
    if (db_prepare(d, &q,
                   "SELECT TaskName, Enabled, RunInterval, LastRunTime, NextRunTime, RunNow, "
                   "LastRunDuration, LastRunStatus FROM vSR_SummaryTasks ORDER BY TaskName") < 0) {
        fprintf(stderr, "cmsite summarize: %s\n", db_errmsg(d));
        return 1;
    }
    printf("%-38s %-7s %-8s %-19s %-19s %-6s %s\n", "TaskName", "Enabled", "Interval",
           "LastRunTime", "NextRunTime", "RunNow", "LastRun (s, status)");
    while (db_step(q) == 1)
        printf("%-38s %-7s %-8s %-19.19s %-19.19s %-6s %s s, %s\n", db_col_text(q, 0),
               db_col_text(q, 1), db_col_text(q, 2), db_col_text(q, 3), db_col_text(q, 4),
               db_col_text(q, 5), db_col_is_null(q, 6) ? "-" : db_col_text(q, 6),
               db_col_is_null(q, 7) ? "-" : db_col_text(q, 7));
    db_finalize(q);
    return 0;
}

static void print_rows(db *d, const char *title, const char *sql, int ncols, long long limit)
{
    db_stmt *q;
    if (db_prepare(d, &q, sql) < 0)
        return;
    db_bind_int(q, 1, limit);
    printf("\n%s\n", title);
    while (db_step(q) == 1) {
        for (int c = 0; c < ncols; c++)
            printf(c ? "  %8s" : "  %-40.40s", db_col_text(q, c));
        printf("\n");
    }
    db_finalize(q);
}

static void print_result(db *d, const char *task, long long limit)
{
    if (strcmp(task, "SUM Update Status Summarizer") == 0) {
        printf("\n  %-40s  %8s  %8s  %8s  %8s  %8s", "update (v_UpdateSummary)", "required",
               "installed", "not req.", "unknown", "total");
        print_rows(d, "",
                   "SELECT COALESCE(Title, CAST(CI_ID AS VARCHAR(16))), NumRequired, "
                   "NumInstalled, NumNotRequired, NumUnknown, NumTotal FROM v_UpdateSummary "
                   "ORDER BY NumRequired DESC, CI_ID LIMIT ?",
                   6, limit);
    } else if (strcmp(task, "SUM Assignment Compliance Evaluator") == 0) {
        printf("\n  %-40s  %8s  %8s  %8s  %8s  %8s  %8s", "deployment", "total", "compl.", "non-c.",
               "unknown", "progress", "failed");
        print_rows(d, "",
                   "SELECT COALESCE(a.AssignmentName, a.Assignment_UniqueID), s.NumTotal, "
                   "s.NumCompliant, s.NumNonCompliant, s.NumUnknown, s.NumInProgress, "
                   "s.NumFailed FROM Update_AssignmentSummary s JOIN CI_CIAssignments a ON "
                   "a.AssignmentID = s.AssignmentID ORDER BY s.AssignmentID LIMIT ?",
                   7, limit);
    } else if (strcmp(task, "SUM Update Group Status Summarizer") == 0) {
        printf("\n  %-40s  %8s  %8s  %8s  %8s  %8s", "update group (CI_ID)", "required",
               "installed", "not req.", "unknown", "total");
        print_rows(d, "",
                   "SELECT CAST(CI_ID AS VARCHAR(16)), NumRequired, NumInstalled, "
                   "NumNotRequired, NumUnknown, NumTotal FROM Update_GroupStatusSummary ORDER BY "
                   "CI_ID LIMIT ?",
                   6, limit);
    }
}

int cmd_summarize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},  {"timeout", required_argument, NULL, 't'},
        {"limit", required_argument, NULL, 'l'}, {"list", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *root = NULL, *task = NULL;
    long long timeout = 120, limit = 20;
    int c, list = 0, ret, rc = 1;
    site_ini ini;
    db *d;
    db_stmt *q = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:t:l:Lh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 't':
            timeout = atoll(optarg);
            break;
        case 'l':
            limit = atoll(optarg);
            break;
        case 'L':
            list = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if ((!list && optind != argc - 1) || (list && optind != argc) || timeout < 1) {
        usage(stderr);
        return 2;
    }
    if (!list) {
        const char *arg = argv[optind];
        for (size_t i = 0; i < NTASKS; i++)
            if (strcasecmp(arg, tasks[i].alias) == 0 || strcasecmp(arg, tasks[i].name) == 0)
                task = tasks[i].name;
        if (!task) {
            fprintf(stderr, "cmsite summarize: unknown task '%s'.\n\n", arg);
            usage(stderr);
            return 2;
        }
    }
    root = cmsite_root(root);
    if ((ret = cmsite_open(root, &ini, &d)) != 0)
        return ret;
    if (list) {
        rc = list_tasks(d);
        db_close(d);
        return rc;
    }

    /* The run this command asks for is the one that ends with a new LastRunTime. */
    char before[64] = "";
    if (db_prepare(d, &q, "SELECT LastRunTime FROM SR_SummaryTasks WHERE TaskName = ?") < 0 ||
        db_bind_text(q, 1, task) < 0 || (ret = db_step(q)) < 0)
        goto dberr;
    if (ret == 0) {
        fprintf(stderr,
                "cmsite summarize: SR_SummaryTasks has no row for '%s'; run `cmsite init "
                "--root %s` again to restore the tasks.\n",
                task, root);
        goto out;
    }
    snprintf(before, sizeof before, "%s", db_col_text(q, 0));
    db_finalize(q);
    q = NULL;
    if (db_prepare(d, &q, "UPDATE SR_SummaryTasks SET RunNow = 1 WHERE TaskName = ?") < 0 ||
        db_bind_text(q, 1, task) < 0 || db_step(q) < 0)
        goto dberr;
    db_finalize(q);
    q = NULL;

    long pid;
    if (!cmsite_running(ini.root, "statesys", &pid)) {
        fprintf(stderr,
                "cmsite summarize: statesys is not running for site %s; '%s' is marked to run "
                "(RunNow = 1) and will run when statesys starts (`cmsite start --root %s`).\n",
                ini.site_code, task, root);
        goto out;
    }
    printf("Requested '%s'; waiting for statesys (pid %ld)...\n", task, pid);
    fflush(stdout);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (db_prepare(d, &q,
                       "SELECT RunNow, LastRunTime, LastRunDuration, LastRunStatus FROM "
                       "SR_SummaryTasks WHERE TaskName = ?") < 0 ||
            db_bind_text(q, 1, task) < 0 || (ret = db_step(q)) < 0)
            goto dberr;
        if (ret == 1 && db_col_int(q, 0) == 0 && strcmp(db_col_text(q, 1), before) != 0) {
            long long secs = db_col_int(q, 2), status = db_col_int(q, 3);
            if (status < 0) {
                printf("Task '%s' failed after running for %lld seconds; see "
                       "`cmsite statmsg --root %s --component SMS_STATE_SYSTEM` and "
                       "statesys.log.\n",
                       task, secs, root);
                goto out;
            }
            printf("Task '%s' completed successfully after running for %lld seconds, with "
                   "status %lld.\n",
                   task, secs, status);
            db_finalize(q);
            q = NULL;
            print_result(d, task, limit);
            rc = 0;
            goto out;
        }
        db_finalize(q);
        q = NULL;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= timeout) {
            fprintf(stderr,
                    "cmsite summarize: statesys did not finish '%s' within %lld seconds. It is "
                    "still requested (RunNow = 1); look at %s/logs/statesys.log, or wait longer "
                    "with --timeout.\n",
                    task, timeout, ini.root);
            goto out;
        }
        usleep(100000);
    }
dberr:
    fprintf(stderr, "cmsite summarize: %s\n", db_errmsg(d));
out:
    db_finalize(q);
    db_close(d);
    return rc;
}
