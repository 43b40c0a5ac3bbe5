/*
 * summary.c - the summarization tasks (see summary.h).  Each summary table
 * is rebuilt whole in one transaction (delete, then one INSERT ... SELECT),
 * so a reader sees the previous summary or the new one, never half of each.
 * The SQL text is the same in both dialects; the times are bound as UTC
 * text, which both compare correctly with the stored times.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cm_error.h"
#include "smx.h"
#include "summary.h"

static const char *const TASKS[] = {SUM_UPDATE_STATUS, SUM_ASSIGNMENT, SUM_GROUP, SUM_MIGRATE,
                                    SUM_DELETE_AGED};

int summary_known(const char *task)
{
    for (size_t i = 0; i < sizeof TASKS / sizeof TASKS[0]; i++)
        if (strcmp(task, TASKS[i]) == 0)
            return 1;
    return 0;
}

static void time_text(long long offset_s, char *buf)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    smx_format_time(((long long)ts.tv_sec + offset_s) * 1000 + ts.tv_nsec / 1000000, buf);
}

/* Machines that count: discovered, not obsolete, not decommissioned. */
static const char *ACTIVE = "SELECT COUNT(*) FROM System_DISC WHERE Obsolete0 = 0 AND "
                            "Decommissioned0 = 0";

static int run_sql(db *d, const char *sql, const long long *ints, int nints, const char *text,
                   int text_at, long long *changes)
{
    db_stmt *s;
    int ret = db_prepare(d, &s, sql);
    if (ret < 0)
        return ret;
    for (int i = 0; i < nints && ret == 0; i++)
        ret = db_bind_int(s, i + 1, ints[i]);
    if (ret == 0 && text)
        ret = db_bind_text(s, text_at, text);
    if (ret == 0)
        ret = db_step(s);
    if (ret >= 0 && changes)
        *changes = db_changes(s);
    db_finalize(s);
    return ret < 0 ? ret : 0;
}

/* Delete the old summary, insert the new one; *rows the rows inserted. */
static int rebuild(db *d, const char *del, const char *ins, int with_total, long long *rows)
{
    long long total = 0;
    char now[SMX_TIME_LEN + 1];
    int ret;
    time_text(0, now);
    if ((ret = db_begin(d)) < 0)
        return ret;
    if (with_total)
        ret = db_query_int(d, ACTIVE, NULL, NULL, &total);
    if (ret == 0)
        ret = run_sql(d, del, NULL, 0, NULL, 0, NULL);
    if (ret == 0) {
        long long ints[2] = {total, total};
        ret = run_sql(d, ins, ints, with_total ? 2 : 0, now, with_total ? 3 : 1, rows);
    }
    if (ret == 0)
        ret = db_commit(d);
    if (ret < 0)
        db_rollback(d);
    return ret;
}

static int update_status(db *d, long long *rows)
{
    return rebuild(
        d, "DELETE FROM Update_StatusSummary",
        "INSERT INTO Update_StatusSummary (CI_ID, NumRequired, NumInstalled, NumNotRequired, "
        "NumUnknown, NumTotal, LastSummaryTime) "
        "SELECT ci.CI_ID, "
        "SUM(CASE WHEN cs.Status = 2 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cs.Status = 3 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cs.Status = 1 THEN 1 ELSE 0 END), "
        "? - SUM(CASE WHEN cs.Status IN (1, 2, 3) THEN 1 ELSE 0 END), ?, ? "
        "FROM CI_ConfigurationItems ci "
        "LEFT JOIN Update_ComplianceStatus cs ON cs.CI_ID = ci.CI_ID AND cs.MachineID IN "
        "(SELECT sd.ItemKey FROM System_DISC sd WHERE sd.Obsolete0 = 0 AND sd.Decommissioned0 = 0) "
        "WHERE ci.CIType_ID IN (1, 8) GROUP BY ci.CI_ID",
        1, rows);
}

static int assignment(db *d, long long *rows)
{
    /* Machines, not messages: COUNT(DISTINCT ...) so two failed topics count one machine. */
    return rebuild(
        d, "DELETE FROM Update_AssignmentSummary",
        "INSERT INTO Update_AssignmentSummary (AssignmentID, NumTotal, NumCompliant, "
        "NumNonCompliant, NumUnknown, NumInProgress, NumFailed, LastSummaryTime) "
        "SELECT a.AssignmentID, COUNT(DISTINCT st.MachineID), "
        "COUNT(DISTINCT CASE WHEN st.TopicType = 300 AND st.StateID = 1 THEN st.MachineID END), "
        "COUNT(DISTINCT CASE WHEN st.TopicType = 300 AND st.StateID = 2 THEN st.MachineID END), "
        "COUNT(DISTINCT st.MachineID) - COUNT(DISTINCT CASE WHEN st.TopicType = 300 AND "
        "st.StateID IN (1, 2) THEN st.MachineID END), "
        "COUNT(DISTINCT CASE WHEN st.TopicType = 301 AND st.StateID IN (1, 2, 3, 5, 7, 8, 10, 11) "
        "THEN st.MachineID END), "
        "COUNT(DISTINCT CASE WHEN (st.TopicType = 301 AND st.StateID IN (6, 9)) OR "
        "(st.TopicType = 302 AND st.StateID = 3) THEN st.MachineID END), ? "
        "FROM CI_CIAssignments a "
        "LEFT JOIN Update_AssignmentStatus st ON st.AssignmentID = a.AssignmentID "
        "WHERE a.IsTombstoned = 0 GROUP BY a.AssignmentID",
        0, rows);
}

static int group_status(db *d, long long *rows)
{
    /*
     * A machine's state for a group is the "worst" of its member updates:
     * required if one is required, else installed if one is installed,
     * else not required if one is known not required, else unknown.
     */
    return rebuild(
        d, "DELETE FROM Update_GroupStatusSummary",
        "INSERT INTO Update_GroupStatusSummary (CI_ID, NumRequired, NumInstalled, NumNotRequired, "
        "NumUnknown, NumTotal, LastSummaryTime) "
        "SELECT g.CI_ID, "
        "SUM(CASE WHEN m.rnk = 3 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN m.rnk = 2 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN m.rnk = 1 THEN 1 ELSE 0 END), "
        "? - SUM(CASE WHEN m.rnk >= 1 THEN 1 ELSE 0 END), ?, ? "
        "FROM CI_ConfigurationItems g "
        "LEFT JOIN (SELECT r.FromCI_ID AS GroupID, cs.MachineID, "
        "MAX(CASE cs.Status WHEN 2 THEN 3 WHEN 3 THEN 2 WHEN 1 THEN 1 ELSE 0 END) AS rnk "
        "FROM CI_ConfigurationItemRelations r "
        "JOIN Update_ComplianceStatus cs ON cs.CI_ID = r.ToCI_ID "
        "JOIN System_DISC sd ON sd.ItemKey = cs.MachineID AND sd.Obsolete0 = 0 AND "
        "sd.Decommissioned0 = 0 "
        "WHERE r.RelationType = 1 GROUP BY r.FromCI_ID, cs.MachineID) m ON m.GroupID = g.CI_ID "
        "WHERE g.CIType_ID = 9 GROUP BY g.CI_ID",
        1, rows);
}

static int delete_aged(db *d, long long days, long long *rows)
{
    static const char *const DEL[] = {
        "DELETE FROM Update_ComplianceStatus WHERE (LastStatusCheckTime IS NULL OR "
        "LastStatusCheckTime < ?) AND (LastEnforcementMessageTime IS NULL OR "
        "LastEnforcementMessageTime < ?)",
        "DELETE FROM Update_ScanStatus WHERE LastScanStateTime < ?",
        "DELETE FROM Update_AssignmentStatus WHERE LastStateTime < ?",
        "DELETE FROM SR_CurrentState WHERE MessageTime < ?",
    };
    char cutoff[SMX_TIME_LEN + 1];
    int ret;
    if (days < 0)
        days = 0;
    time_text(-days * 86400, cutoff);
    *rows = 0;
    if ((ret = db_begin(d)) < 0)
        return ret;
    for (size_t i = 0; i < sizeof DEL / sizeof DEL[0] && ret == 0; i++) {
        db_stmt *s;
        if ((ret = db_prepare(d, &s, DEL[i])) < 0)
            break;
        ret = db_bind_text(s, 1, cutoff);
        if (ret == 0 && i == 0)
            ret = db_bind_text(s, 2, cutoff);
        if (ret == 0)
            ret = db_step(s);
        if (ret >= 0) {
            *rows += db_changes(s);
            ret = 0;
        }
        db_finalize(s);
    }
    if (ret == 0)
        ret = db_commit(d);
    if (ret < 0)
        db_rollback(d);
    return ret;
}

int summary_run(db *d, apply *a, const char *task, long long aged_days, long long *status)
{
    *status = 0;
    if (strcmp(task, SUM_UPDATE_STATUS) == 0)
        return update_status(d, status);
    if (strcmp(task, SUM_ASSIGNMENT) == 0)
        return assignment(d, status);
    if (strcmp(task, SUM_GROUP) == 0)
        return group_status(d, status);
    if (strcmp(task, SUM_MIGRATE) == 0)
        return apply_migrate(a, 500, status);
    if (strcmp(task, SUM_DELETE_AGED) == 0)
        return delete_aged(d, aged_days, status);
    return CM_ENOTFOUND;
}
