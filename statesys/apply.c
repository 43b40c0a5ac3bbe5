/*
 * apply.c - the state system's rules on the database (see apply.h).
 *
 * One transaction's messages are first collapsed in memory onto the rows
 * they set (the latest MessageTime wins there already), then written with
 * many-row upserts whose WHERE clause applies the same rule against what
 * the table holds.  So a replay, a reordering or a crash and restart all
 * end in the same rows, and PostgreSQL never sees one key twice in one
 * statement (which it refuses).  Lookups of clients and topics are cached
 * for the life of the connection; a cached "unknown" is forgotten when the
 * caller says the site learned new topics.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "bulk.h"
#include "cm_error.h"
#include "hmap.h"

/* Rows per many-row statement. */
#define BULK_ROWS 100
/* Caches larger than this are dropped and refilled (memory stays bounded). */
#define CACHE_MAX 32768
/* Clients or serial states looked up by one statement (an IN list). */
#define IN_LIST 64
#define NULL_INT LLONG_MIN

/* ------------------------------------------------------------------ */
/* Caches                                                              */
/* ------------------------------------------------------------------ */

/* String key -> ID (0: looked up and not found). Keys are owned. */
typedef struct scache {
    hmap map;
    char **keys;
    long long *ids;
    size_t n, cap;
} scache;

static void scache_clear(scache *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    c->n = 0;
    hmap_clear(&c->map);
}

static void scache_free(scache *c)
{
    scache_clear(c);
    free(c->keys);
    free(c->ids);
    hmap_free(&c->map);
}

static int scache_get(scache *c, const char *key, long long *id)
{
    hkey k = {0, 0, 0, key};
    size_t i;
    if (!hmap_get(&c->map, &k, &i))
        return 0;
    *id = c->ids[i];
    return 1;
}

static int scache_put(scache *c, const char *key, long long id)
{
    if (c->n >= CACHE_MAX)
        scache_clear(c);
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 256;
        char **nk = realloc(c->keys, ncap * sizeof *nk);
        if (!nk)
            return -ENOMEM;
        c->keys = nk;
        long long *ni = realloc(c->ids, ncap * sizeof *ni);
        if (!ni)
            return -ENOMEM;
        c->ids = ni;
        c->cap = ncap;
    }
    char *dup = strdup(key);
    if (!dup)
        return -ENOMEM;
    hkey k = {0, 0, 0, dup};
    size_t existing;
    int r = hmap_put(&c->map, &k, c->n, &existing);
    if (r < 0) {
        free(dup);
        return r;
    }
    if (r == 1) {
        free(dup);
        c->ids[existing] = id;
        return 0;
    }
    c->keys[c->n] = dup;
    c->ids[c->n] = id;
    c->n++;
    return 0;
}

/* Remove the "unknown" answers by rebuilding without them. */
static int scache_drop_unknown(scache *c)
{
    size_t n = c->n;
    if (n == 0)
        return 0;
    char **keys = malloc((n ? n : 1) * sizeof *keys);
    long long *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!keys || !ids) {
        free(keys);
        free(ids);
        scache_clear(c);
        return 0;
    }
    memcpy(keys, c->keys, n * sizeof *keys);
    memcpy(ids, c->ids, n * sizeof *ids);
    c->n = 0;
    hmap_clear(&c->map);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] != 0)
            scache_put(c, keys[i], ids[i]);
        free(keys[i]);
    }
    free(keys);
    free(ids);
    return 0;
}

/*
 * A client's serial numbers as committed: the window [first, last] seen so
 * far (gaps inside it are SR_MissingMessageRanges).  Keeping the lowest
 * too makes the rules independent of order: a message below the window is
 * new history, not a replay.
 */
typedef struct serial_state {
    long long first, last;
    int has_row;
} serial_state;

/* ------------------------------------------------------------------ */
/* The rows of one transaction                                         */
/* ------------------------------------------------------------------ */

typedef struct row_comp {
    long long ci, m, status, time_ms, serial;
} row_comp;

typedef struct row_enf {
    long long ci, m, state, time_ms, serial, err;
} row_enf;

typedef struct row_scan {
    long long m, src, state, time_ms, serial, pkgver, err;
    char location[513];
    char wua[65];
} row_scan;

typedef struct row_asg {
    long long asg, m, type, state, time_ms, serial, compliant, err;
} row_asg;

typedef struct row_gen {
    long long m;
    const ss_batch *b;
    const ss_msg *msg;
} row_gen;

typedef struct ser {
    long long serial;
    long long time_ms; /* 0 for an invalid record */
    int invalid;
} ser;

typedef struct tx_machine {
    long long m;
    int created; /* the client was created in this transaction: it has no serial numbers yet */
    ser *s;
    size_t n, cap;
    long long invalid_noserial;
} tx_machine;

/* A file queued in the transaction, and a client of the transaction. */
typedef struct txfile {
    const ss_batch *b;
    size_t index;
} txfile;

typedef struct txclient {
    const ss_file *f; /* a file of the client: its GUID, name and version */
    long long id;
    int created;
} txclient;

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

struct apply {
    db *d;
    char site[8];
    /* Statements of the lookups, prepared once. */
    db_stmt *q_machines, *u_machine, *q_ci, *q_src, *q_asg, *q_serials, *q_ranges, *d_range;
    bulk *b_comp, *b_enf, *b_scan, *b_asg, *b_gen, *b_serial, *b_count, *b_range, *b_machine;
    /* Caches. */
    scache machines, cis, sources, assignments;
    hmap serials; /* machine -> index into sstates */
    serial_state *sstates;
    size_t nsstates, capsstates;
    /* The transaction. */
    hmap h_comp, h_enf, h_scan, h_asg, h_gen, h_txm;
    VEC(row_comp) comp;
    VEC(row_enf) enf;
    VEC(row_scan) scan;
    VEC(row_asg) asg;
    VEC(row_gen) gen;
    VEC(tx_machine) txm;
    /* The files queued by apply_add, and their clients resolved at flush. */
    VEC(txfile) txf;
    VEC(txclient) txc;
    hmap h_txc;
};

static int vec_grow_from(void **v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first;
    void *nv = realloc(*v, ncap * elem);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

static int vec_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    return vec_grow_from(v, cap, n, elem, 256);
}

#define VEC_PUSH(vec, out)                                                                         \
    (vec_grow((void **)&(vec).v, &(vec).cap, (vec).n, sizeof *(vec).v) < 0                         \
         ? -ENOMEM                                                                                 \
         : ((out) = &(vec).v[(vec).n++], memset((out), 0, sizeof *(out)), 0))

static int newer(long long t1, long long s1, long long t2, long long s2)
{
    return t1 > t2 || (t1 == t2 && s1 > s2);
}

static void now_text(char *buf)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    smx_format_time((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, buf);
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

/* Latest MessageTime wins; an equal time goes to the higher serial number. */
#define LATEST(tbl, tcol, scol)                                                                    \
    " WHERE " tbl "." tcol " IS NULL OR excluded." tcol " > " tbl "." tcol " OR (excluded." tcol   \
    " = " tbl "." tcol " AND excluded." scol " > " tbl "." scol ")"

static const char *COMP_HEAD =
    "INSERT INTO Update_ComplianceStatus (CI_ID, MachineID, Status, "
    "LastStatusCheckTime, LastStatusChangeTime, LastStatusSerial) VALUES";
static const char *COMP_TAIL =
    " ON CONFLICT (CI_ID, MachineID) DO UPDATE SET Status = excluded.Status,"
    " LastStatusCheckTime = excluded.LastStatusCheckTime,"
    " LastStatusChangeTime = CASE WHEN Update_ComplianceStatus.LastStatusCheckTime IS NULL"
    " OR excluded.Status <> Update_ComplianceStatus.Status THEN excluded.LastStatusCheckTime"
    " ELSE Update_ComplianceStatus.LastStatusChangeTime END,"
    " LastStatusSerial = excluded.LastStatusSerial" LATEST(
        "Update_ComplianceStatus", "LastStatusCheckTime", "LastStatusSerial");

static const char *ENF_HEAD = "INSERT INTO Update_ComplianceStatus (CI_ID, MachineID, "
                              "LastEnforcementMessageID, LastEnforcementMessageTime, "
                              "LastErrorCode) VALUES";
static const char *ENF_TAIL =
    " ON CONFLICT (CI_ID, MachineID) DO UPDATE SET"
    " LastEnforcementMessageID = excluded.LastEnforcementMessageID,"
    " LastEnforcementMessageTime = excluded.LastEnforcementMessageTime,"
    " LastErrorCode = excluded.LastErrorCode"
    " WHERE Update_ComplianceStatus.LastEnforcementMessageTime IS NULL"
    " OR excluded.LastEnforcementMessageTime > Update_ComplianceStatus.LastEnforcementMessageTime";

static const char *SCAN_HEAD =
    "INSERT INTO Update_ScanStatus (MachineID, UpdateSource_ID, LastScanState, "
    "LastScanStateTime, LastScanTime, LastScanPackageLocation, LastScanPackageVersion, "
    "LastErrorCode, LastWUAVersion, LastStatusSerial) VALUES";
static const char *SCAN_TAIL =
    " ON CONFLICT (MachineID, UpdateSource_ID) DO UPDATE SET"
    " LastScanState = excluded.LastScanState, LastScanStateTime = excluded.LastScanStateTime,"
    " LastScanTime = COALESCE(excluded.LastScanTime, Update_ScanStatus.LastScanTime),"
    " LastScanPackageLocation = COALESCE(excluded.LastScanPackageLocation,"
    " Update_ScanStatus.LastScanPackageLocation),"
    " LastScanPackageVersion = COALESCE(excluded.LastScanPackageVersion,"
    " Update_ScanStatus.LastScanPackageVersion),"
    " LastErrorCode = excluded.LastErrorCode,"
    " LastWUAVersion = COALESCE(excluded.LastWUAVersion, Update_ScanStatus.LastWUAVersion),"
    " LastStatusSerial = excluded.LastStatusSerial" LATEST("Update_ScanStatus", "LastScanStateTime",
                                                           "LastStatusSerial");

static const char *ASG_HEAD =
    "INSERT INTO Update_AssignmentStatus (AssignmentID, MachineID, TopicType, StateID, "
    "LastStateTime, IsCompliant, LastErrorCode, LastStatusSerial) VALUES";
static const char *ASG_TAIL =
    " ON CONFLICT (AssignmentID, MachineID, TopicType) DO UPDATE SET"
    " StateID = excluded.StateID, LastStateTime = excluded.LastStateTime,"
    " IsCompliant = excluded.IsCompliant, LastErrorCode = excluded.LastErrorCode,"
    " LastStatusSerial = excluded.LastStatusSerial" LATEST("Update_AssignmentStatus",
                                                           "LastStateTime", "LastStatusSerial");

static const char *GEN_HEAD =
    "INSERT INTO SR_CurrentState (MachineID, TopicType, TopicID, StateID, MessageTime, "
    "SerialNumber, UserParams, TopicIDType, Criticality, UserName, UserSID, RecordTime) VALUES";
static const char *GEN_TAIL =
    " ON CONFLICT (MachineID, TopicType, TopicID) DO UPDATE SET"
    " StateID = excluded.StateID, MessageTime = excluded.MessageTime,"
    " SerialNumber = excluded.SerialNumber, UserParams = excluded.UserParams,"
    " TopicIDType = excluded.TopicIDType, Criticality = excluded.Criticality,"
    " UserName = excluded.UserName, UserSID = excluded.UserSID,"
    " RecordTime = excluded.RecordTime" LATEST("SR_CurrentState", "MessageTime", "SerialNumber");

static const char *SERIAL_HEAD =
    "INSERT INTO SR_ClientSerials (MachineID, LastSerialNumber, LastMessageTime) VALUES";
static const char *SERIAL_TAIL =
    " ON CONFLICT (MachineID) DO UPDATE SET"
    " LastSerialNumber = CASE WHEN excluded.LastSerialNumber > SR_ClientSerials.LastSerialNumber"
    " THEN excluded.LastSerialNumber ELSE SR_ClientSerials.LastSerialNumber END,"
    " LastMessageTime = CASE WHEN SR_ClientSerials.LastMessageTime IS NULL"
    " OR excluded.LastMessageTime > SR_ClientSerials.LastMessageTime"
    " THEN excluded.LastMessageTime ELSE SR_ClientSerials.LastMessageTime END";

static const char *COUNT_HEAD =
    "INSERT INTO SR_ClientMessageCounts (MachineID, FirstSerialNumber, MessagesReceived, "
    "DuplicateMessages, InvalidMessages, LastReceivedTime) VALUES";
static const char *COUNT_TAIL =
    " ON CONFLICT (MachineID) DO UPDATE SET"
    " FirstSerialNumber = CASE WHEN SR_ClientMessageCounts.FirstSerialNumber IS NULL"
    " OR excluded.FirstSerialNumber < SR_ClientMessageCounts.FirstSerialNumber"
    " THEN excluded.FirstSerialNumber ELSE SR_ClientMessageCounts.FirstSerialNumber END,"
    " MessagesReceived = SR_ClientMessageCounts.MessagesReceived + excluded.MessagesReceived,"
    " DuplicateMessages = SR_ClientMessageCounts.DuplicateMessages + excluded.DuplicateMessages,"
    " InvalidMessages = SR_ClientMessageCounts.InvalidMessages + excluded.InvalidMessages,"
    " LastReceivedTime = excluded.LastReceivedTime";

/* A client seen for the first time; one that raced in meanwhile is left as it is. */
static const char *MACHINE_HEAD =
    "INSERT INTO System_DISC (SMS_Unique_Identifier0, Netbios_Name0, Name0, Client_Version0, "
    "SMS_Assigned_Sites0) VALUES";
static const char *MACHINE_TAIL = " ON CONFLICT (SMS_Unique_Identifier0) DO NOTHING";

static const char *RANGE_HEAD = "INSERT INTO SR_MissingMessageRanges (MachineID, StartSerial, "
                                "EndSerial, DetectedTime) VALUES";

#define I                                                                                          \
    {                                                                                              \
        BULK_INT, 0                                                                                \
    }
#define T(n)                                                                                       \
    {                                                                                              \
        BULK_TEXT, n                                                                               \
    }
static const bulk_col COMP_COLS[] = {I, I, I, T(SMX_TIME_LEN), T(SMX_TIME_LEN), I};
static const bulk_col ENF_COLS[] = {I, I, I, T(SMX_TIME_LEN), I};
static const bulk_col SCAN_COLS[] = {I,      I, I, T(SMX_TIME_LEN), T(SMX_TIME_LEN),
                                     T(512), I, I, T(64),           I};
static const bulk_col ASG_COLS[] = {I, I, I, I, T(SMX_TIME_LEN), I, I, I};
static const bulk_col GEN_COLS[] = {I,
                                    I,
                                    T(SMX_TOPIC_ID_MAX),
                                    I,
                                    T(SMX_TIME_LEN),
                                    I,
                                    T(SMX_PARAMS_MAX),
                                    I,
                                    I,
                                    T(SMX_USER_MAX),
                                    T(SMX_USER_MAX),
                                    T(SMX_TIME_LEN)};
static const bulk_col SERIAL_COLS[] = {I, I, T(SMX_TIME_LEN)};
static const bulk_col COUNT_COLS[] = {I, I, I, I, I, T(SMX_TIME_LEN)};
static const bulk_col RANGE_COLS[] = {I, I, I, T(32)};
static const bulk_col MACHINE_COLS[] = {T(SMX_CLIENT_ID_MAX), T(SMX_NAME_MAX), T(SMX_NAME_MAX),
                                        T(SMX_NAME_MAX), T(7)};
#undef I
#undef T
#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void close_stmts(apply *a)
{
    db_stmt **stmts[] = {&a->q_machines, &a->u_machine, &a->q_ci,     &a->q_src,
                         &a->q_asg,      &a->q_serials, &a->q_ranges, &a->d_range};
    bulk **bulks[] = {&a->b_comp,   &a->b_enf,   &a->b_scan,  &a->b_asg,    &a->b_gen,
                      &a->b_serial, &a->b_count, &a->b_range, &a->b_machine};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        db_finalize(*stmts[i]);
        *stmts[i] = NULL;
    }
    for (size_t i = 0; i < sizeof bulks / sizeof bulks[0]; i++) {
        bulk_close(*bulks[i]);
        *bulks[i] = NULL;
    }
}

static int open_stmts(apply *a)
{
    int ret;
    db *d = a->d;
    char in_text[IN_LIST * 3 + 1] = "", sql[1024];
    for (int i = 0; i < IN_LIST; i++)
        strcat(in_text, i ? ", ?" : "?");
    snprintf(sql, sizeof sql,
             "SELECT SMS_Unique_Identifier0, ItemKey, Netbios_Name0, Client_Version0 FROM "
             "System_DISC WHERE SMS_Unique_Identifier0 IN (%s)",
             in_text);
    if ((ret = db_prepare(d, &a->q_machines, sql)) < 0)
        return ret;
    snprintf(sql, sizeof sql,
             "SELECT s.MachineID, s.LastSerialNumber, c.FirstSerialNumber FROM SR_ClientSerials s "
             "LEFT JOIN SR_ClientMessageCounts c ON c.MachineID = s.MachineID WHERE s.MachineID "
             "IN (%s)",
             in_text);
    if ((ret = db_prepare(d, &a->q_serials, sql)) < 0)
        return ret;
    if ((ret =
             db_prepare(d, &a->u_machine,
                        "UPDATE System_DISC SET Netbios_Name0 = ?, Name0 = ?, Client_Version0 = ? "
                        "WHERE ItemKey = ?")) < 0 ||
        (ret = db_prepare(d, &a->q_ci,
                          "SELECT CI_ID FROM CI_ConfigurationItems WHERE CI_UniqueID = ?")) < 0 ||
        (ret = db_prepare(d, &a->q_src,
                          "SELECT UpdateSource_ID FROM CI_UpdateSources WHERE "
                          "UpdateSource_UniqueID = ?")) < 0 ||
        (ret = db_prepare(d, &a->q_asg,
                          "SELECT AssignmentID FROM CI_CIAssignments WHERE "
                          "Assignment_UniqueID = ?")) < 0 ||
        (ret = db_prepare(d, &a->q_ranges,
                          "SELECT StartSerial, EndSerial, DetectedTime FROM "
                          "SR_MissingMessageRanges WHERE MachineID = ? ORDER BY StartSerial")) <
            0 ||
        (ret = db_prepare(d, &a->d_range,
                          "DELETE FROM SR_MissingMessageRanges WHERE MachineID = ? AND "
                          "StartSerial = ?")) < 0)
        return ret;
    if ((ret = bulk_open(d, &a->b_comp, COMP_HEAD, COMP_TAIL, COMP_COLS, NCOLS(COMP_COLS),
                         BULK_ROWS)) < 0 ||
        (ret = bulk_open(d, &a->b_enf, ENF_HEAD, ENF_TAIL, ENF_COLS, NCOLS(ENF_COLS), BULK_ROWS)) <
            0 ||
        (ret = bulk_open(d, &a->b_scan, SCAN_HEAD, SCAN_TAIL, SCAN_COLS, NCOLS(SCAN_COLS),
                         BULK_ROWS)) < 0 ||
        (ret = bulk_open(d, &a->b_asg, ASG_HEAD, ASG_TAIL, ASG_COLS, NCOLS(ASG_COLS), BULK_ROWS)) <
            0 ||
        (ret = bulk_open(d, &a->b_gen, GEN_HEAD, GEN_TAIL, GEN_COLS, NCOLS(GEN_COLS), 20)) < 0 ||
        (ret = bulk_open(d, &a->b_serial, SERIAL_HEAD, SERIAL_TAIL, SERIAL_COLS, NCOLS(SERIAL_COLS),
                         BULK_ROWS)) < 0 ||
        (ret = bulk_open(d, &a->b_count, COUNT_HEAD, COUNT_TAIL, COUNT_COLS, NCOLS(COUNT_COLS),
                         BULK_ROWS)) < 0 ||
        (ret = bulk_open(d, &a->b_range, RANGE_HEAD, "", RANGE_COLS, NCOLS(RANGE_COLS), 20)) < 0 ||
        (ret = bulk_open(d, &a->b_machine, MACHINE_HEAD, MACHINE_TAIL, MACHINE_COLS,
                         NCOLS(MACHINE_COLS), IN_LIST)) < 0)
        return ret;
    return 0;
}

int apply_open(db *d, const char *site_code, apply **out)
{
    apply *a = calloc(1, sizeof *a);
    int ret;
    *out = NULL;
    if (!a)
        return -ENOMEM;
    a->d = d;
    snprintf(a->site, sizeof a->site, "%s", site_code ? site_code : "");
    /*
     * SQLite: a many-row statement keeps a statement journal (to undo
     * itself half-way), which goes to a temporary file once over 64 KB;
     * kept in memory it costs no writes.  A transaction of the writer
     * dirties a few thousand pages, which an 8 MB cache holds without
     * spilling them to the WAL before the commit (the memory target is
     * 64 MB).  Both settings are this connection's only.
     */
    /*
     * PostgreSQL: plan each lookup for the tables as they are now.  A plan
     * cached while System_DISC was empty scans it whole for every list of
     * clients once it holds thousands (ten times the cost, and growing).
     */
    if (db_get_dialect(d) == DB_DIALECT_POSTGRES)
        db_exec(d, "SET plan_cache_mode = force_custom_plan");
    if (db_get_dialect(d) == DB_DIALECT_SQLITE) {
        db_exec(d, "PRAGMA temp_store = MEMORY");
        db_exec(d, "PRAGMA cache_size = -8192");
    }
    if ((ret = open_stmts(a)) < 0) {
        apply_close(a);
        return ret;
    }
    *out = a;
    return 0;
}

static void tx_clear(apply *a)
{
    hmap_clear(&a->h_comp);
    hmap_clear(&a->h_enf);
    hmap_clear(&a->h_scan);
    hmap_clear(&a->h_asg);
    hmap_clear(&a->h_gen);
    hmap_clear(&a->h_txm);
    hmap_clear(&a->h_txc);
    for (size_t i = 0; i < a->txm.n; i++)
        free(a->txm.v[i].s);
    a->comp.n = a->enf.n = a->scan.n = a->asg.n = a->gen.n = a->txm.n = 0;
    a->txf.n = a->txc.n = 0;
}

void apply_close(apply *a)
{
    if (!a)
        return;
    tx_clear(a);
    close_stmts(a);
    scache_free(&a->machines);
    scache_free(&a->cis);
    scache_free(&a->sources);
    scache_free(&a->assignments);
    hmap_free(&a->serials);
    free(a->sstates);
    hmap_free(&a->h_comp);
    hmap_free(&a->h_enf);
    hmap_free(&a->h_scan);
    hmap_free(&a->h_asg);
    hmap_free(&a->h_gen);
    hmap_free(&a->h_txm);
    hmap_free(&a->h_txc);
    free(a->txf.v);
    free(a->txc.v);
    free(a->comp.v);
    free(a->enf.v);
    free(a->scan.v);
    free(a->asg.v);
    free(a->gen.v);
    free(a->txm.v);
    free(a);
}

void apply_abort(apply *a)
{
    bulk *bulks[] = {a->b_comp,   a->b_enf,   a->b_scan,  a->b_asg,    a->b_gen,
                     a->b_serial, a->b_count, a->b_range, a->b_machine};
    tx_clear(a);
    for (size_t i = 0; i < sizeof bulks / sizeof bulks[0]; i++)
        bulk_discard(bulks[i]);
    /* Machines created and serial numbers advanced by the rolled-back work are gone. */
    scache_clear(&a->machines);
    hmap_clear(&a->serials);
    a->nsstates = 0;
}

void apply_forget_unknown(apply *a)
{
    scache_drop_unknown(&a->cis);
    scache_drop_unknown(&a->sources);
    scache_drop_unknown(&a->assignments);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */
/* ------------------------------------------------------------------ */

/* Run a one-text-parameter query for an ID: 1 found, 0 not, or a negative code. */
static int query_id(db_stmt *q, const char *key, long long *id)
{
    int ret;
    db_reset(q);
    if ((ret = db_bind_text(q, 1, key)) < 0)
        return ret;
    ret = db_step(q);
    if (ret == 1)
        *id = db_col_int(q, 0);
    db_reset(q);
    return ret;
}

static void ascii_case(char *s, int upper)
{
    for (; *s; s++) {
        if (upper && *s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
        else if (!upper && *s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

/*
 * A topic's ID in its table, trying the canonical key and the other
 * spellings other writers may have stored (case, braces).  0 when unknown.
 */
static int lookup_topic(apply *a, scache *c, db_stmt *q, const char *key, long long *id)
{
    char alt[SMX_TOPIC_ID_MAX + 3];
    int ret;
    if (scache_get(c, key, id))
        return 0;
    *id = 0;
    ret = query_id(q, key, id);
    if (ret == 0) {
        /* The other case, then with braces added or taken away. */
        snprintf(alt, sizeof alt, "%s", key);
        ascii_case(alt, alt[0] == '{' ? 0 : 1);
        ret = query_id(q, alt, id);
        if (ret == 0) {
            if (key[0] == '{')
                snprintf(alt, sizeof alt, "%.*s", (int)strlen(key) - 2, key + 1);
            else
                snprintf(alt, sizeof alt, "{%s}", key);
            ret = query_id(q, alt, id);
        }
    }
    if (ret < 0)
        return ret;
    if (ret == 0)
        *id = 0;
    (void)a;
    return scache_put(c, key, *id);
}

/*
 * Look up up to IN_LIST clients of the transaction (txc indexes ks[0..n))
 * in one statement; the unused places of the IN list repeat the first GUID.
 * A client found gets its ID (and its name and version brought up to date).
 */
static int machines_query(apply *a, const size_t *ks, size_t n)
{
    db_stmt *q = a->q_machines;
    int ret = 0;
    db_reset(q);
    for (int i = 0; i < IN_LIST && ret == 0; i++)
        ret = db_bind_text(q, i + 1, a->txc.v[ks[(size_t)i < n ? (size_t)i : 0]].f->client_id);
    if (ret < 0)
        return ret;
    typedef struct found {
        size_t k;
        long long id;
        int stale;
    } found;
    found hits[IN_LIST];
    int nhits = 0;
    while (nhits < IN_LIST && (ret = db_step(q)) == 1) {
        hkey key = {0, 0, 0, db_col_text(q, 0)};
        size_t k;
        if (!hmap_get(&a->h_txc, &key, &k) || a->txc.v[k].id != 0)
            continue;
        const ss_file *f = a->txc.v[k].f;
        hits[nhits].k = k;
        hits[nhits].id = db_col_int(q, 1);
        hits[nhits].stale =
            (f->netbios[0] && strcmp(db_col_text(q, 2), f->netbios) != 0) ||
            (f->client_version[0] && strcmp(db_col_text(q, 3), f->client_version) != 0);
        nhits++;
    }
    db_reset(q);
    if (ret < 0)
        return ret;
    for (int i = 0; i < nhits; i++) {
        txclient *c = &a->txc.v[hits[i].k];
        c->id = hits[i].id;
        if (!hits[i].stale)
            continue;
        /* Renamed, or a new client version: keep the discovered system current. */
        const char *name = c->f->netbios[0] ? c->f->netbios : NULL;
        const char *version = c->f->client_version[0] ? c->f->client_version : NULL;
        db_stmt *u = a->u_machine;
        db_reset(u);
        if ((ret = db_bind_text(u, 1, name)) < 0 || (ret = db_bind_text(u, 2, name)) < 0 ||
            (ret = db_bind_text(u, 3, version)) < 0 || (ret = db_bind_int(u, 4, c->id)) < 0 ||
            (ret = db_step(u)) < 0)
            return ret;
        db_reset(u);
    }
    return 0;
}

/*
 * The clients of the queued files: from the cache, else looked up by lists
 * of IN_LIST, else created (many rows a statement) and looked up again.  A
 * round trip per client would be the writer's largest cost on PostgreSQL.
 */
static int resolve_machines(apply *a, apply_stats *st)
{
    int ret = 0;
    for (size_t i = 0; i < a->txf.n; i++) {
        const ss_file *f = &a->txf.v[i].b->files[a->txf.v[i].index];
        hkey key = {0, 0, 0, f->client_id};
        size_t k;
        if (hmap_get(&a->h_txc, &key, &k))
            continue;
        txclient *c;
        if (VEC_PUSH(a->txc, c) < 0 || hmap_put(&a->h_txc, &key, a->txc.n - 1, NULL) < 0)
            return -ENOMEM;
        c->f = f;
        c->id = 0;
        scache_get(&a->machines, f->client_id, &c->id);
    }
    /* Unknown to the cache: look them up, a list at a time. */
    size_t *todo = malloc((a->txc.n ? a->txc.n : 1) * sizeof *todo), ntodo = 0;
    if (!todo)
        return -ENOMEM;
    for (int pass = 0; pass < 2 && ret == 0; pass++) {
        ntodo = 0;
        for (size_t k = 0; k < a->txc.n; k++)
            if (a->txc.v[k].id == 0)
                todo[ntodo++] = k;
        if (ntodo == 0)
            break;
        if (pass == 1) {
            /* Still unknown: first sight of these clients. */
            for (size_t i = 0; i < ntodo && ret == 0; i++) {
                const ss_file *f = a->txc.v[todo[i]].f;
                const char *name = f->netbios[0] ? f->netbios : NULL;
                bulk *b = a->b_machine;
                a->txc.v[todo[i]].created = 1;
                if ((ret = bulk_text(b, 0, f->client_id)) == 0 &&
                    (ret = bulk_text(b, 1, name)) == 0 && (ret = bulk_text(b, 2, name)) == 0 &&
                    (ret = bulk_text(b, 3, f->client_version[0] ? f->client_version : NULL)) == 0 &&
                    (ret = bulk_text(b, 4, a->site[0] ? a->site : NULL)) == 0)
                    ret = bulk_row(b);
            }
            if (ret == 0)
                ret = bulk_flush(a->b_machine);
        }
        for (size_t i = 0; i < ntodo && ret == 0; i += IN_LIST)
            ret = machines_query(a, todo + i, ntodo - i < IN_LIST ? ntodo - i : IN_LIST);
    }
    free(todo);
    if (ret < 0)
        return ret;
    for (size_t k = 0; k < a->txc.n; k++) {
        txclient *c = &a->txc.v[k];
        if (c->id == 0)
            return CM_EDB; /* inserted yet not found: the database misbehaves */
        if (c->created && st)
            st->machines_new++;
        if ((ret = scache_put(&a->machines, c->f->client_id, c->id)) < 0)
            return ret;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Collecting one transaction's rows                                   */
/* ------------------------------------------------------------------ */

static tx_machine *txm_get(apply *a, long long m)
{
    hkey k = {m, 0, 0, NULL};
    size_t i;
    if (hmap_get(&a->h_txm, &k, &i))
        return &a->txm.v[i];
    tx_machine *t;
    if (VEC_PUSH(a->txm, t) < 0)
        return NULL;
    t->m = m;
    if (hmap_put(&a->h_txm, &k, a->txm.n - 1, NULL) < 0) {
        a->txm.n--;
        return NULL;
    }
    return t;
}

static int txm_add(tx_machine *t, long long serial, long long time_ms, int invalid)
{
    if (serial < 0) {
        t->invalid_noserial++;
        return 0;
    }
    /* Most clients send a few messages a transaction: start small. */
    if (vec_grow_from((void **)&t->s, &t->cap, t->n, sizeof *t->s, 8) < 0)
        return -ENOMEM;
    t->s[t->n].serial = serial;
    t->s[t->n].time_ms = time_ms;
    t->s[t->n].invalid = invalid;
    t->n++;
    return 0;
}

/*
 * Find or add the row of a key; *slot is the row's index, *fresh 1 when
 * the row is new (the caller fills it), 0 when the caller must decide
 * whether its message is newer.
 */
static int keyed(hmap *h, long long a1, long long b1, long long c1, const char *s, size_t n,
                 size_t *slot, int *fresh)
{
    hkey k = {a1, b1, c1, s};
    size_t existing;
    int r = hmap_put(h, &k, n, &existing);
    if (r < 0)
        return r;
    *fresh = r == 0;
    *slot = *fresh ? n : existing;
    return 0;
}

/* An integer parameter ("123", "-5", "0x80240022"), as a 32-bit code; NULL_INT when absent. */
static long long param_int(const char *params, int index)
{
    const char *p = params;
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    if (!p || !*p || *p == '\t')
        return NULL_INT;
    char *end;
    long long v;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        v = (long long)strtoull(p + 2, &end, 16);
    else
        v = strtoll(p, &end, 10);
    if (end == p || (*end != '\0' && *end != '\t'))
        return NULL_INT;
    /* HRESULTs arrive unsigned (0x80240022) and are stored as the signed 32-bit value. */
    return (long long)(int32_t)(uint32_t)v;
}

static void param_text(const char *params, int index, char *out, size_t len)
{
    const char *p = params;
    out[0] = '\0';
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    if (!p)
        return;
    size_t n = strcspn(p, "\t");
    if (n < len) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
}

static int put_comp(apply *a, long long ci, long long m, long long status, long long t,
                    long long serial)
{
    size_t i;
    int fresh, ret;
    if ((ret = keyed(&a->h_comp, ci, m, 0, NULL, a->comp.n, &i, &fresh)) < 0)
        return ret;
    if (fresh) {
        row_comp *r;
        if (VEC_PUSH(a->comp, r) < 0)
            return -ENOMEM;
    } else if (!newer(t, serial, a->comp.v[i].time_ms, a->comp.v[i].serial)) {
        return 0;
    }
    a->comp.v[i] = (row_comp){ci, m, status, t, serial};
    return 0;
}

static int put_enf(apply *a, long long ci, long long m, long long state, long long t,
                   long long serial, long long err)
{
    size_t i;
    int fresh, ret;
    if ((ret = keyed(&a->h_enf, ci, m, 0, NULL, a->enf.n, &i, &fresh)) < 0)
        return ret;
    if (fresh) {
        row_enf *r;
        if (VEC_PUSH(a->enf, r) < 0)
            return -ENOMEM;
    } else if (!newer(t, serial, a->enf.v[i].time_ms, a->enf.v[i].serial)) {
        return 0;
    }
    a->enf.v[i] = (row_enf){ci, m, state, t, serial, err};
    return 0;
}

static int put_scan(apply *a, long long m, long long src, long long state, long long t,
                    long long serial, const char *params)
{
    size_t i;
    int fresh, ret;
    if ((ret = keyed(&a->h_scan, m, src, 0, NULL, a->scan.n, &i, &fresh)) < 0)
        return ret;
    if (fresh) {
        row_scan *r;
        if (VEC_PUSH(a->scan, r) < 0)
            return -ENOMEM;
    } else if (!newer(t, serial, a->scan.v[i].time_ms, a->scan.v[i].serial)) {
        return 0;
    }
    row_scan *r = &a->scan.v[i];
    r->m = m;
    r->src = src;
    r->state = state;
    r->time_ms = t;
    r->serial = serial;
    /* 501 parameters: content version, scan package location, error code, WUA version. */
    r->pkgver = param_int(params, 0);
    if (r->pkgver != NULL_INT && r->pkgver < 0)
        r->pkgver = NULL_INT;
    param_text(params, 1, r->location, sizeof r->location);
    r->err = param_int(params, 2);
    param_text(params, 3, r->wua, sizeof r->wua);
    return 0;
}

static int put_asg(apply *a, long long asg, long long m, long long type, long long state,
                   long long t, long long serial, const char *params)
{
    size_t i;
    int fresh, ret;
    if ((ret = keyed(&a->h_asg, asg, m, type, NULL, a->asg.n, &i, &fresh)) < 0)
        return ret;
    if (fresh) {
        row_asg *r;
        if (VEC_PUSH(a->asg, r) < 0)
            return -ENOMEM;
    } else if (!newer(t, serial, a->asg.v[i].time_ms, a->asg.v[i].serial)) {
        return 0;
    }
    long long compliant = NULL_INT, err = NULL_INT;
    if (type == 300)
        compliant = state == 1 ? 1 : state == 2 ? 0 : NULL_INT;
    if ((type == 301 && (state == 6 || state == 9)) || (type == 302 && state == 3))
        err = param_int(params, 0);
    a->asg.v[i] = (row_asg){asg, m, type, state, t, serial, compliant, err};
    return 0;
}

static int put_gen(apply *a, long long m, const ss_batch *b, const ss_msg *msg)
{
    size_t i;
    int fresh, ret;
    if ((ret = keyed(&a->h_gen, m, msg->topic_type, 0, batch_str(b, msg->key), a->gen.n, &i,
                     &fresh)) < 0)
        return ret;
    if (fresh) {
        row_gen *r;
        if (VEC_PUSH(a->gen, r) < 0)
            return -ENOMEM;
    } else if (!newer(msg->time_ms, msg->serial, a->gen.v[i].msg->time_ms,
                      a->gen.v[i].msg->serial)) {
        return 0;
    }
    a->gen.v[i] = (row_gen){m, b, msg};
    return 0;
}

/* Route one valid message to the row it sets. */
static int route(apply *a, long long m, const ss_batch *b, const ss_msg *msg, apply_stats *st)
{
    const char *key = batch_str(b, msg->key);
    long long id = 0;
    int ret;
    switch (msg->topic_type) {
    case 500:
    case 402:
        if ((ret = lookup_topic(a, &a->cis, a->q_ci, key, &id)) < 0)
            return ret;
        if (id && msg->topic_type == 500)
            return put_comp(a, id, m, msg->state_id, msg->time_ms, msg->serial);
        if (id) {
            long long err = NULL_INT;
            if (msg->state_id == 6 || msg->state_id == 11 || msg->state_id == 14)
                err = param_int(batch_str(b, msg->params), 0);
            return put_enf(a, id, m, msg->state_id, msg->time_ms, msg->serial, err);
        }
        break;
    case 501:
        if ((ret = lookup_topic(a, &a->sources, a->q_src, key, &id)) < 0)
            return ret;
        if (id)
            return put_scan(a, m, id, msg->state_id, msg->time_ms, msg->serial,
                            batch_str(b, msg->params));
        break;
    case 300:
    case 301:
    case 302:
        if ((ret = lookup_topic(a, &a->assignments, a->q_asg, key, &id)) < 0)
            return ret;
        if (id)
            return put_asg(a, id, m, msg->topic_type, msg->state_id, msg->time_ms, msg->serial,
                           batch_str(b, msg->params));
        break;
    default:
        return put_gen(a, m, b, msg);
    }
    /* A topic the site does not know yet: kept, and moved by SUM Migrate Update Status. */
    if (st)
        st->pending++;
    return put_gen(a, m, b, msg);
}

int apply_add_file(apply *a, const ss_batch *b, size_t index, apply_stats *st)
{
    txfile *t;
    if (b->files[index].state != SS_FILE_OK)
        return 0;
    /* The work happens at apply_flush(), when the transaction's clients are known at once. */
    if (VEC_PUSH(a->txf, t) < 0)
        return -ENOMEM;
    t->b = b;
    t->index = index;
    if (st)
        st->files++;
    return 0;
}

/* Each queued file's records onto the rows they set, and its serial numbers. */
static int route_files(apply *a, apply_stats *st)
{
    int ret;
    for (size_t i = 0; i < a->txf.n; i++) {
        const ss_batch *b = a->txf.v[i].b;
        const ss_file *f = &b->files[a->txf.v[i].index];
        hkey key = {0, 0, 0, f->client_id};
        size_t k;
        if (!hmap_get(&a->h_txc, &key, &k))
            return CM_EDB;
        long long m = a->txc.v[k].id;
        tx_machine *t = txm_get(a, m);
        if (!t)
            return -ENOMEM;
        t->created = a->txc.v[k].created;
        for (size_t j = f->first; j < f->first + f->nmsgs; j++) {
            const ss_msg *msg = &b->msgs[j];
            if ((ret = txm_add(t, msg->serial, msg->invalid ? 0 : msg->time_ms, msg->invalid)) < 0)
                return ret;
            if (msg->invalid)
                continue;
            if ((ret = route(a, m, b, msg, st)) < 0)
                return ret;
        }
    }
    return 0;
}

int apply_add(apply *a, const ss_batch *b, apply_stats *st)
{
    for (size_t fi = 0; fi < b->nfiles; fi++) {
        int ret = apply_add_file(a, b, fi, st);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static int bind_time(bulk *b, int col, long long t)
{
    char buf[SMX_TIME_LEN + 1];
    smx_format_time(t, buf);
    return bulk_text(b, col, buf);
}

static int bind_opt(bulk *b, int col, long long v)
{
    return v == NULL_INT ? bulk_null(b, col) : bulk_int(b, col, v);
}

static int write_rows(apply *a, const char *now)
{
    int ret = 0;
    for (size_t i = 0; i < a->comp.n && ret == 0; i++) {
        row_comp *r = &a->comp.v[i];
        bulk *b = a->b_comp;
        char t[SMX_TIME_LEN + 1];
        /* Check and change time are the same message time: formatted once. */
        smx_format_time(r->time_ms, t);
        if ((ret = bulk_int(b, 0, r->ci)) < 0 || (ret = bulk_int(b, 1, r->m)) < 0 ||
            (ret = bulk_int(b, 2, r->status)) < 0 || (ret = bulk_text(b, 3, t)) < 0 ||
            (ret = bulk_text(b, 4, t)) < 0 || (ret = bulk_int(b, 5, r->serial)) < 0)
            break;
        ret = bulk_row(b);
    }
    if (ret == 0)
        ret = bulk_flush(a->b_comp);
    for (size_t i = 0; i < a->enf.n && ret == 0; i++) {
        row_enf *r = &a->enf.v[i];
        bulk *b = a->b_enf;
        if ((ret = bulk_int(b, 0, r->ci)) < 0 || (ret = bulk_int(b, 1, r->m)) < 0 ||
            (ret = bulk_int(b, 2, r->state)) < 0 || (ret = bind_time(b, 3, r->time_ms)) < 0 ||
            (ret = bind_opt(b, 4, r->err)) < 0)
            break;
        ret = bulk_row(b);
    }
    if (ret == 0)
        ret = bulk_flush(a->b_enf);
    for (size_t i = 0; i < a->scan.n && ret == 0; i++) {
        row_scan *r = &a->scan.v[i];
        bulk *b = a->b_scan;
        if ((ret = bulk_int(b, 0, r->m)) < 0 || (ret = bulk_int(b, 1, r->src)) < 0 ||
            (ret = bulk_int(b, 2, r->state)) < 0 || (ret = bind_time(b, 3, r->time_ms)) < 0 ||
            (ret = r->state == 3 ? bind_time(b, 4, r->time_ms) : bulk_null(b, 4)) < 0 ||
            (ret = bulk_text(b, 5, r->location[0] ? r->location : NULL)) < 0 ||
            (ret = bind_opt(b, 6, r->pkgver > INT32_MAX ? NULL_INT : r->pkgver)) < 0 ||
            (ret = bind_opt(b, 7, r->err)) < 0 ||
            (ret = bulk_text(b, 8, r->wua[0] ? r->wua : NULL)) < 0 ||
            (ret = bulk_int(b, 9, r->serial)) < 0)
            break;
        ret = bulk_row(b);
    }
    if (ret == 0)
        ret = bulk_flush(a->b_scan);
    for (size_t i = 0; i < a->asg.n && ret == 0; i++) {
        row_asg *r = &a->asg.v[i];
        bulk *b = a->b_asg;
        if ((ret = bulk_int(b, 0, r->asg)) < 0 || (ret = bulk_int(b, 1, r->m)) < 0 ||
            (ret = bulk_int(b, 2, r->type)) < 0 || (ret = bulk_int(b, 3, r->state)) < 0 ||
            (ret = bind_time(b, 4, r->time_ms)) < 0 || (ret = bind_opt(b, 5, r->compliant)) < 0 ||
            (ret = bind_opt(b, 6, r->err)) < 0 || (ret = bulk_int(b, 7, r->serial)) < 0)
            break;
        ret = bulk_row(b);
    }
    if (ret == 0)
        ret = bulk_flush(a->b_asg);
    for (size_t i = 0; i < a->gen.n && ret == 0; i++) {
        row_gen *r = &a->gen.v[i];
        const ss_msg *m = r->msg;
        bulk *b = a->b_gen;
        const char *user = batch_str(r->b, m->user), *sid = batch_str(r->b, m->sid);
        if ((ret = bulk_int(b, 0, r->m)) < 0 || (ret = bulk_int(b, 1, m->topic_type)) < 0 ||
            (ret = bulk_text(b, 2, batch_str(r->b, m->key))) < 0 ||
            (ret = bulk_int(b, 3, m->state_id)) < 0 || (ret = bind_time(b, 4, m->time_ms)) < 0 ||
            (ret = bulk_int(b, 5, m->serial)) < 0 ||
            (ret = bulk_text(b, 6, batch_str(r->b, m->params))) < 0 ||
            (ret = bulk_int(b, 7, m->id_type)) < 0 || (ret = bulk_int(b, 8, m->criticality)) < 0 ||
            (ret = bulk_text(b, 9, user[0] ? user : NULL)) < 0 ||
            (ret = bulk_text(b, 10, sid[0] ? sid : NULL)) < 0 || (ret = bulk_text(b, 11, now)) < 0)
            break;
        ret = bulk_row(b);
    }
    if (ret == 0)
        ret = bulk_flush(a->b_gen);
    return ret;
}

typedef struct range {
    long long start, end;
    char detected[32];
    int dirty; /* a piece of a split range, not in the table yet */
} range;

typedef VEC(range) range_vec;

static int ser_cmp(const void *x, const void *y)
{
    const ser *a = x, *b = y;
    return a->serial < b->serial ? -1 : a->serial > b->serial;
}

static serial_state *sstate_get(apply *a, long long m)
{
    hkey k = {m, 0, 0, NULL};
    size_t i;
    if (hmap_get(&a->serials, &k, &i))
        return &a->sstates[i];
    return NULL;
}

static serial_state *sstate_add(apply *a, long long m)
{
    if (vec_grow((void **)&a->sstates, &a->capsstates, a->nsstates, sizeof *a->sstates) < 0)
        return NULL;
    serial_state *s = &a->sstates[a->nsstates];
    s->has_row = 0;
    s->first = s->last = -1;
    hkey k = {m, 0, 0, NULL};
    if (hmap_put(&a->serials, &k, a->nsstates, NULL) < 0)
        return NULL;
    a->nsstates++;
    return s;
}

/*
 * The committed serial numbers of the transaction's clients, looked up by
 * lists of IN_LIST; a client created in this transaction has none.
 */
static int sstates_load(apply *a)
{
    long long ids[IN_LIST];
    int n = 0, ret = 0;
    /* Room for every client of the transaction, so no entry moves while it is used. */
    if (a->nsstates + a->txm.n > CACHE_MAX) {
        hmap_clear(&a->serials);
        a->nsstates = 0;
    }
    for (size_t i = 0; i <= a->txm.n && ret == 0; i++) {
        if (i < a->txm.n) {
            tx_machine *t = &a->txm.v[i];
            if (sstate_get(a, t->m))
                continue;
            if (t->created) {
                if (!sstate_add(a, t->m))
                    return -ENOMEM;
                continue;
            }
            ids[n++] = t->m;
        }
        if (n == 0 || (n < IN_LIST && i < a->txm.n))
            continue;
        /* Not found means no serial number yet: every asked client gets an entry. */
        for (int k = 0; k < n; k++)
            if (!sstate_add(a, ids[k]))
                return -ENOMEM;
        db_stmt *q = a->q_serials;
        db_reset(q);
        for (int k = 0; k < IN_LIST && ret == 0; k++)
            ret = db_bind_int(q, k + 1, ids[k < n ? k : 0]);
        if (ret < 0)
            break;
        while ((ret = db_step(q)) == 1) {
            serial_state *s = sstate_get(a, db_col_int(q, 0));
            if (!s)
                continue;
            s->has_row = 1;
            s->last = db_col_int(q, 1);
            /* A row written before the lowest was kept: the window starts at the highest. */
            s->first = db_col_is_null(q, 2) ? s->last : db_col_int(q, 2);
        }
        db_reset(q);
        n = 0;
    }
    return ret < 0 ? ret : 0;
}

static int ranges_load(apply *a, long long m, range_vec *rv)
{
    db_stmt *q = a->q_ranges;
    int ret;
    db_reset(q);
    if ((ret = db_bind_int(q, 1, m)) < 0)
        return ret;
    while ((ret = db_step(q)) == 1) {
        range *r;
        if (VEC_PUSH(*rv, r) < 0) {
            ret = -ENOMEM;
            break;
        }
        r->start = db_col_int(q, 0);
        r->end = db_col_int(q, 1);
        snprintf(r->detected, sizeof r->detected, "%s", db_col_text(q, 2));
    }
    db_reset(q);
    return ret;
}

static int range_push(apply *a, long long m, long long start, long long end, const char *when)
{
    bulk *b = a->b_range;
    int ret;
    if ((ret = bulk_int(b, 0, m)) < 0 || (ret = bulk_int(b, 1, start)) < 0 ||
        (ret = bulk_int(b, 2, end)) < 0 || (ret = bulk_text(b, 3, when)) < 0)
        return ret;
    return bulk_row(b);
}

static int range_delete(apply *a, long long m, long long start)
{
    db_stmt *d = a->d_range;
    int ret;
    db_reset(d);
    if ((ret = db_bind_int(d, 1, m)) < 0 || (ret = db_bind_int(d, 2, start)) < 0 ||
        (ret = db_step(d)) < 0)
        return ret;
    db_reset(d);
    return 0;
}

/*
 * A serial number at or below the highest seen: a gap it fills (the range
 * is split), or a duplicate.  Returns 1 for filled, 0 for duplicate.
 */
static int fill_gap(apply *a, long long m, range_vec *rv, long long s, int *ret)
{
    for (size_t i = 0; i < rv->n; i++) {
        range *r = &rv->v[i];
        if (s < r->start || s > r->end)
            continue;
        range orig = *r;
        if (!orig.dirty && (*ret = range_delete(a, m, orig.start)) < 0)
            return 0;
        orig.dirty = 1;
        /* The range is removed from the list and its pieces pushed back. */
        rv->v[i] = rv->v[--rv->n];
        if (orig.start < s) {
            range *p;
            if (VEC_PUSH(*rv, p) < 0) {
                *ret = -ENOMEM;
                return 0;
            }
            *p = orig;
            p->end = s - 1;
        }
        if (s < orig.end) {
            range *p;
            if (VEC_PUSH(*rv, p) < 0) {
                *ret = -ENOMEM;
                return 0;
            }
            *p = orig;
            p->start = s + 1;
        }
        return 1;
    }
    return 0;
}

static int range_add(range_vec *rv, long long start, long long end, const char *when)
{
    range *r;
    if (VEC_PUSH(*rv, r) < 0)
        return -ENOMEM;
    r->start = start;
    r->end = end;
    r->dirty = 1;
    snprintf(r->detected, sizeof r->detected, "%s", when);
    return 0;
}

/*
 * One client's serial numbers of this transaction against what is stored.
 * Taken in ascending order: a number above the window extends it (the
 * numbers skipped are a new gap), one below it extends it downwards (the
 * same), one inside fills a gap or is a duplicate.  The end state is the
 * same whatever order files and transactions came in.
 */
static int write_serials(apply *a, tx_machine *t, const char *now, apply_stats *st)
{
    serial_state *s;
    range_vec rv = {0}; /* the client's ranges: loaded ones, then the new and split ones */
    int ranges_loaded = 0, ret = 0;
    long long fresh = 0, dups = 0, invalid = t->invalid_noserial, max_time = 0;

    s = sstate_get(a, t->m);
    if (!s)
        return CM_EDB; /* sstates_load() gave every client of the transaction an entry */
    qsort(t->s, t->n, sizeof *t->s, ser_cmp);
    long long first = s->has_row ? s->first : -1, last = s->has_row ? s->last : -1;
    for (size_t i = 0; i < t->n && ret == 0; i++) {
        const ser *x = &t->s[i];
        if (i > 0 && x->serial == t->s[i - 1].serial) {
            dups++;
            continue;
        }
        if (x->time_ms > max_time)
            max_time = x->time_ms;
        if (last < 0) { /* first sight of the client */
            first = last = x->serial;
        } else if (x->serial > last) {
            if (x->serial > last + 1 && (ret = range_add(&rv, last + 1, x->serial - 1, now)) == 0 &&
                st)
                st->gaps_opened++;
            last = x->serial;
        } else if (x->serial < first) {
            if (x->serial < first - 1 &&
                (ret = range_add(&rv, x->serial + 1, first - 1, now)) == 0 && st)
                st->gaps_opened++;
            first = x->serial;
        } else {
            /* Inside the window: a late message filling a gap, or a replay. */
            if (!ranges_loaded) {
                if ((ret = ranges_load(a, t->m, &rv)) < 0)
                    break;
                ranges_loaded = 1;
            }
            int filled = fill_gap(a, t->m, &rv, x->serial, &ret);
            if (ret < 0)
                break;
            if (!filled) {
                dups++;
                continue;
            }
            if (st)
                st->gaps_closed++;
        }
        fresh++;
        invalid += x->invalid != 0;
    }
    /* New ranges and the pieces of split ones (with their first detection time). */
    for (size_t i = 0; i < rv.n && ret == 0; i++)
        if (rv.v[i].dirty)
            ret = range_push(a, t->m, rv.v[i].start, rv.v[i].end, rv.v[i].detected);
    if (ret == 0 && t->n > 0) {
        char tbuf[SMX_TIME_LEN + 1];
        bulk *b = a->b_serial;
        if (max_time > 0)
            smx_format_time(max_time, tbuf);
        if ((ret = bulk_int(b, 0, t->m)) == 0 && (ret = bulk_int(b, 1, last)) == 0 &&
            (ret = max_time > 0 ? bulk_text(b, 2, tbuf) : bulk_null(b, 2)) == 0)
            ret = bulk_row(b);
        if (ret == 0) {
            s->has_row = 1;
            s->first = first;
            s->last = last;
        }
    }
    if (ret == 0) {
        bulk *b = a->b_count;
        if ((ret = bulk_int(b, 0, t->m)) == 0 &&
            (ret = first >= 0 ? bulk_int(b, 1, first) : bulk_null(b, 1)) == 0 &&
            (ret = bulk_int(b, 2, fresh)) == 0 && (ret = bulk_int(b, 3, dups)) == 0 &&
            (ret = bulk_int(b, 4, invalid)) == 0 && (ret = bulk_text(b, 5, now)) == 0)
            ret = bulk_row(b);
    }
    if (st) {
        st->messages += fresh;
        st->duplicates += dups;
        st->invalid += invalid;
    }
    free(rv.v);
    return ret;
}

int apply_flush(apply *a, apply_stats *st)
{
    char now[SMX_TIME_LEN + 1];
    int ret;
    now_text(now);
    ret = resolve_machines(a, st);
    if (ret == 0)
        ret = route_files(a, st);
    if (ret == 0)
        ret = write_rows(a, now);
    if (ret == 0)
        ret = sstates_load(a);
    for (size_t i = 0; i < a->txm.n && ret == 0; i++)
        ret = write_serials(a, &a->txm.v[i], now, st);
    if (ret == 0)
        ret = bulk_flush(a->b_range);
    if (ret == 0)
        ret = bulk_flush(a->b_serial);
    if (ret == 0)
        ret = bulk_flush(a->b_count);
    tx_clear(a);
    return ret;
}

/* ------------------------------------------------------------------ */
/* SUM Migrate Update Status                                           */
/* ------------------------------------------------------------------ */

typedef struct mrow {
    long long m, type, state, serial;
    char topic[SMX_TOPIC_ID_MAX + 1];
    char time[40];
    char params[SMX_PARAMS_MAX + 1];
} mrow;

static int migrate_page(apply *a, long long page, long long *last_m, long long *last_type,
                        char *last_id, long long *moved, int *more)
{
    db_stmt *q = NULL, *del = NULL;
    mrow *rows = NULL;
    size_t n = 0;
    int ret;

    *more = 0;
    rows = calloc((size_t)page, sizeof *rows);
    if (!rows)
        return -ENOMEM;
    /* Keyset paging: rows the site still cannot place are passed over, not re-read. */
    ret = db_prepare(a->d, &q,
                     "SELECT MachineID, TopicType, TopicID, StateID, MessageTime, SerialNumber, "
                     "UserParams FROM SR_CurrentState WHERE TopicType IN (300, 301, 302, 402, "
                     "500, 501) AND (MachineID > ? OR (MachineID = ? AND (TopicType > ? OR "
                     "(TopicType = ? AND TopicID > ?)))) ORDER BY MachineID, TopicType, TopicID "
                     "LIMIT ?");
    if (ret < 0)
        goto out;
    if ((ret = db_bind_int(q, 1, *last_m)) < 0 || (ret = db_bind_int(q, 2, *last_m)) < 0 ||
        (ret = db_bind_int(q, 3, *last_type)) < 0 || (ret = db_bind_int(q, 4, *last_type)) < 0 ||
        (ret = db_bind_text(q, 5, last_id)) < 0 || (ret = db_bind_int(q, 6, page)) < 0)
        goto out;
    while (n < (size_t)page && (ret = db_step(q)) == 1) {
        mrow *r = &rows[n++];
        r->m = db_col_int(q, 0);
        r->type = db_col_int(q, 1);
        snprintf(r->topic, sizeof r->topic, "%s", db_col_text(q, 2));
        r->state = db_col_int(q, 3);
        snprintf(r->time, sizeof r->time, "%s", db_col_text(q, 4));
        r->serial = db_col_int(q, 5);
        snprintf(r->params, sizeof r->params, "%s", db_col_text(q, 6));
    }
    if (ret < 0)
        goto out;
    db_finalize(q);
    q = NULL;
    if (n == 0)
        goto out;
    *more = n == (size_t)page;
    *last_m = rows[n - 1].m;
    *last_type = rows[n - 1].type;
    snprintf(last_id, SMX_TOPIC_ID_MAX + 1, "%s", rows[n - 1].topic);

    if ((ret = db_prepare(a->d, &del,
                          "DELETE FROM SR_CurrentState WHERE MachineID = ? AND TopicType = ? AND "
                          "TopicID = ?")) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        mrow *r = &rows[i];
        long long id = 0, t;
        if (smx_parse_sql_time(r->time, &t) < 0)
            continue;
        switch (r->type) {
        case 500:
        case 402:
            ret = lookup_topic(a, &a->cis, a->q_ci, r->topic, &id);
            if (ret == 0 && id && r->type == 500)
                ret = put_comp(a, id, r->m, r->state, t, r->serial);
            else if (ret == 0 && id)
                ret = put_enf(a, id, r->m, r->state, t, r->serial,
                              (r->state == 6 || r->state == 11 || r->state == 14)
                                  ? param_int(r->params, 0)
                                  : NULL_INT);
            break;
        case 501:
            ret = lookup_topic(a, &a->sources, a->q_src, r->topic, &id);
            if (ret == 0 && id)
                ret = put_scan(a, r->m, id, r->state, t, r->serial, r->params);
            break;
        default:
            ret = lookup_topic(a, &a->assignments, a->q_asg, r->topic, &id);
            if (ret == 0 && id)
                ret = put_asg(a, id, r->m, r->type, r->state, t, r->serial, r->params);
            break;
        }
        if (ret < 0)
            goto out;
        if (!id)
            continue;
        db_reset(del);
        if ((ret = db_bind_int(del, 1, r->m)) < 0 || (ret = db_bind_int(del, 2, r->type)) < 0 ||
            (ret = db_bind_text(del, 3, r->topic)) < 0 || (ret = db_step(del)) < 0)
            goto out;
        (*moved)++;
    }
    ret = write_rows(a, "");
out:
    tx_clear(a);
    db_finalize(q);
    db_finalize(del);
    free(rows);
    return ret;
}

int apply_migrate(apply *a, long long page, long long *moved)
{
    long long last_m = -1, last_type = -1;
    char last_id[SMX_TOPIC_ID_MAX + 1] = "";
    int more = 1, ret = 0;

    *moved = 0;
    if (page < 1)
        page = 500;
    while (more) {
        long long n = 0;
        if ((ret = db_begin(a->d)) < 0)
            return ret;
        ret = migrate_page(a, page, &last_m, &last_type, last_id, &n, &more);
        if (ret == 0)
            ret = db_commit(a->d);
        if (ret < 0) {
            db_rollback(a->d);
            apply_abort(a);
            return ret;
        }
        *moved += n;
    }
    return 0;
}
