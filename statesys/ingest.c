/*
 * ingest.c - the state message pipeline (see ingest.h).
 *
 * Threads: the round's "State Message Processing Thread #0" claims and
 * cuts the work and parses like its helpers #1..; the writer is the only
 * thread that touches the database for messages.  All shared state (the
 * two bounded queues, the list of files put back, the stop flag) is under
 * one mutex with one condition variable: every change is broadcast, and
 * every wait re-checks its own condition, which keeps the protocol simple
 * to read and the volume of signalling negligible (a chunk is many files).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "batch.h"
#include "cm_error.h"
#include "cursor.h"
#include "ingest.h"
#include "log.h"
#include "smx.h"
#include "worker.h"

#define MAX_LOADERS 16
#define CHUNK_MAX_BYTES (1L << 20)
/* Files claimed per load: enough for every loader, bounded so memory is too. */
#define LOAD_MAX 4096
/*
 * Parsed chunks waiting for the writer, beyond the loaders' own.  While the
 * writer commits, the loaders parse on into this queue, and the writer's
 * next transaction takes it all: at 4 the queue was full during most
 * commits and transactions averaged 11,600 messages of the 25,000 allowed
 * (86 commits for a million messages); at 16, 49 to 64 commits, for about
 * 6 MB more memory with the benchmark's 50-message files.
 */
#define WRITE_QUEUE_MAX 16
/* One transaction: this many messages or files, or every chunk waiting if fewer. */
#define TX_MAX_MESSAGES 25000
#define TX_MAX_FILES 4096
/* Committed chunks waiting for the cleaner to delete their files. */
#define CLEAN_QUEUE_MAX 64
#define DEFER_MAX 256
#define CLAIM_CLASH_RETRY_MS 1000
/*
 * How much nicer than the daemon the round's threads run.  The writer is
 * the one thread that cannot be shared out: with every loader busy it got
 * a fair share of the cores, two fifths of one on two cores, and parsed
 * chunks waited for it while loaders parsed ahead to the bounded queue.
 * At 10 the loaders' weight is a tenth of the writer's, so it has a core
 * whenever it has work, and the loaders still use every cycle it leaves.
 */
#define LOADER_NICE 10

typedef struct chunk_entry {
    char name[INBOX_NAME_MAX + 1];
    int box;
    long long size;
} chunk_entry;

typedef struct chunk {
    chunk_entry *e;
    size_t n;
    struct chunk *next;
} chunk;

typedef struct deferred {
    char name[INBOX_NAME_MAX + 1];
    long long retry_at; /* CLOCK_MONOTONIC ms */
} deferred;

typedef struct notice {
    int id;
    char sev;
    char s[4][512];
    struct notice *next;
} notice;

typedef struct writer {
    struct ingest *g;
    ss_conn conn;
    apply *a;
    unsigned gen;
} writer;

struct ingest {
    ss_shared *sh;
    inbox_dir boxes[3];
    void (*round_done)(void *ud);
    void *ud;

    /* Everything below is under stop.mu, signalled on stop.cv. */
    ss_stop stop;
    chunk *pq_head, *pq_tail;
    size_t pq_len;
    int loading_done;
    ss_batch *wq_head, *wq_tail;
    size_t wq_len;
    long long outstanding; /* chunks of this round not yet committed */
    deferred defer[DEFER_MAX];
    size_t ndefer;
    notice *notices, *notices_tail;

    writer w;
    pthread_t writer;
    int writer_started;
    /* Committed batches whose files the cleaner deletes (off the writer's path). */
    ss_batch *cq_head, *cq_tail;
    size_t cq_len;
    pthread_t cleaner;
    int cleaner_started, cleaner_done;
    pthread_t round;
    int round_running; /* a round thread exists (until joined) */
    int helpers;
    box_cursor cursors[3]; /* used by thread #0 only */
    inbox_entry *load_buf;
    int load_boxes[LOAD_MAX];
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long tid(void)
{
    return (long)syscall(SYS_gettid);
}

static long long loaders(ingest *g)
{
    long long n = atomic_load(&g->sh->loader_threads);
    return n < 1 ? 1 : n > MAX_LOADERS ? MAX_LOADERS : n;
}

/* ------------------------------------------------------------------ */
/* Notices: status messages the writer sends on its connection         */
/* ------------------------------------------------------------------ */

static void notice_add(ingest *g, int id, char sev, const char *s0, const char *s1, const char *s2,
                       const char *s3)
{
    notice *n = calloc(1, sizeof *n);
    const char *s[4] = {s0, s1, s2, s3};
    if (!n)
        return; /* the log line was written; only the row is lost */
    n->id = id;
    n->sev = sev;
    for (int i = 0; i < 4; i++)
        snprintf(n->s[i], sizeof n->s[i], "%s", s[i] ? s[i] : "");
    pthread_mutex_lock(&g->stop.mu);
    if (g->notices_tail)
        g->notices_tail->next = n;
    else
        g->notices = n;
    g->notices_tail = n;
    pthread_cond_broadcast(&g->stop.cv);
    pthread_mutex_unlock(&g->stop.mu);
}

/* ------------------------------------------------------------------ */
/* Files put back (still being written, or a name clash in process/)   */
/* ------------------------------------------------------------------ */

static void defer_add_locked(ingest *g, const char *name, long long delay_ms)
{
    size_t slot = g->ndefer;
    for (size_t i = 0; i < g->ndefer; i++)
        if (strcmp(g->defer[i].name, name) == 0)
            slot = i;
    if (slot == g->ndefer) {
        if (g->ndefer == DEFER_MAX) {
            /* The list is full: forget the entry due soonest (it is retried a bit early). */
            slot = 0;
            for (size_t i = 1; i < g->ndefer; i++)
                if (g->defer[i].retry_at < g->defer[slot].retry_at)
                    slot = i;
        } else {
            g->ndefer++;
        }
    }
    snprintf(g->defer[slot].name, sizeof g->defer[slot].name, "%s", name);
    g->defer[slot].retry_at = mono_ms() + delay_ms;
}

static void defer_add(ingest *g, const char *name, long long delay_ms)
{
    pthread_mutex_lock(&g->stop.mu);
    defer_add_locked(g, name, delay_ms);
    pthread_mutex_unlock(&g->stop.mu);
}

/* 1 when the name waits for its retry time; expired entries are dropped. */
static int deferred_now(ingest *g, const char *name)
{
    long long now = mono_ms();
    int waiting = 0;
    pthread_mutex_lock(&g->stop.mu);
    for (size_t i = 0; i < g->ndefer; i++) {
        if (strcmp(g->defer[i].name, name) != 0)
            continue;
        if (g->defer[i].retry_at > now)
            waiting = 1;
        else
            g->defer[i] = g->defer[--g->ndefer];
        break;
    }
    pthread_mutex_unlock(&g->stop.mu);
    return waiting;
}

long long ingest_retry_in_ms(ingest *g)
{
    long long now = mono_ms(), best = -1;
    pthread_mutex_lock(&g->stop.mu);
    for (size_t i = 0; i < g->ndefer; i++) {
        long long in = g->defer[i].retry_at - now;
        if (in < 0)
            in = 0;
        if (best < 0 || in < best)
            best = in;
    }
    pthread_mutex_unlock(&g->stop.mu);
    return best;
}

/* ------------------------------------------------------------------ */
/* Rejected entries of a box                                           */
/* ------------------------------------------------------------------ */

static const char *reject_text(inbox_reject why)
{
    switch (why) {
    case INBOX_REJECT_NAME:
        return "a name the inbox does not accept";
    case INBOX_REJECT_TYPE:
        return "not a regular file (a symbolic link, a folder entry or a device)";
    case INBOX_REJECT_LINKS:
        return "a file with more than one hard link";
    default:
        return "larger than the inbox accepts";
    }
}

typedef struct reject_ctx {
    ingest *g;
    const inbox_dir *box;
} reject_ctx;

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    reject_ctx *r = ud;
    /* Moved, never opened or followed: a symlink goes to corrupt/ as a symlink. */
    if (inbox_quarantine(r->box, name, 0) < 0)
        return;
    log_msg("Rejected file %s in %s (%s); moved it to %s.", name, r->box->path, reject_text(why),
            r->box->corrupt);
    atomic_fetch_add(&r->g->sh->rejected, 1);
    notice_add(r->g, 8201, 'W', name, r->box->box->name, reject_text(why), r->box->corrupt);
}

/* ------------------------------------------------------------------ */
/* The loop thread's quick look                                        */
/* ------------------------------------------------------------------ */

int ingest_has_work(ingest *g)
{
    for (int b = 0; b < 3; b++) {
        box_cursor c;
        reject_ctx rc = {g, &g->boxes[b]};
        int found = 0;
        cursor_init(&c, &g->boxes[b]);
        for (;;) {
            inbox_entry e;
            size_t n = 0;
            int at_end = 0;
            if (cursor_next(&c, &e, 1, &n, &at_end, on_reject, &rc) < 0 || n == 0)
                break;
            if (!deferred_now(g, e.name)) {
                found = 1;
                break;
            }
        }
        cursor_close(&c);
        if (found)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Loading: claim a slice, cut it into chunks                          */
/* ------------------------------------------------------------------ */

static void push_chunk(ingest *g, chunk *c)
{
    pthread_mutex_lock(&g->stop.mu);
    if (g->pq_tail)
        g->pq_tail->next = c;
    else
        g->pq_head = c;
    g->pq_tail = c;
    g->pq_len++;
    g->outstanding++;
    pthread_cond_broadcast(&g->stop.cv);
    pthread_mutex_unlock(&g->stop.mu);
}

static int make_chunks(ingest *g, const inbox_entry *e, const int *boxes, size_t n)
{
    long long per = atomic_load(&g->sh->chunk_size);
    int made = 0;
    if (per < 1)
        per = 1;
    for (size_t i = 0; i < n;) {
        chunk *c = calloc(1, sizeof *c);
        size_t take = 0;
        long long bytes = 0;
        while (i + take < n && take < (size_t)per &&
               (take == 0 || bytes + e[i + take].size <= CHUNK_MAX_BYTES)) {
            bytes += e[i + take].size;
            take++;
        }
        if (c)
            c->e = calloc(take, sizeof *c->e);
        if (!c || !c->e) {
            /* Out of memory: the claimed files wait in process/ for the next start. */
            free(c);
            log_msg("Out of memory while loading state messages; %zu file(s) wait in %s.", n - i,
                    g->boxes[1].process);
            return made;
        }
        for (size_t k = 0; k < take; k++) {
            snprintf(c->e[k].name, sizeof c->e[k].name, "%s", e[i + k].name);
            c->e[k].box = boxes[i + k];
            c->e[k].size = e[i + k].size;
        }
        c->n = take;
        push_chunk(g, c);
        made++;
        i += take;
    }
    return made;
}

/* Claim up to LOAD_MAX files, high priority first; returns the chunks made. */
static int load(ingest *g)
{
    inbox_entry *e = g->load_buf;
    size_t got = 0;

    for (int b = 0; b < 3 && got < LOAD_MAX; b++) {
        reject_ctx rc = {g, &g->boxes[b]};
        for (;;) {
            size_t n = 0, base = got;
            int at_end = 0;
            int ret =
                cursor_next(&g->cursors[b], e + base, LOAD_MAX - base, &n, &at_end, on_reject, &rc);
            if (ret < 0) {
                log_msg("Cannot read inbox %s: %s", g->boxes[b].path, cm_strerror(ret));
                cursor_close(&g->cursors[b]);
                break;
            }
            /* Claim each; the ones taken are packed at the front. */
            for (size_t i = 0; i < n; i++) {
                inbox_entry x = e[base + i];
                if (deferred_now(g, x.name))
                    continue;
                ret = inbox_claim(&g->boxes[b], x.name);
                if (ret == -EEXIST) {
                    /* The same name from another box is in process/: after it. */
                    defer_add(g, x.name, CLAIM_CLASH_RETRY_MS);
                    continue;
                }
                if (ret < 0) {
                    if (ret != -ENOENT)
                        log_msg("Cannot claim %s from %s: %s", x.name, g->boxes[b].path,
                                cm_strerror(ret));
                    continue;
                }
                e[got] = x;
                g->load_boxes[got] = b;
                got++;
            }
            if (at_end || got >= LOAD_MAX)
                break;
        }
    }
    return make_chunks(g, e, g->load_boxes, got);
}

/* ------------------------------------------------------------------ */
/* Parsing a chunk                                                     */
/* ------------------------------------------------------------------ */

typedef struct parse_ctx {
    ss_batch *b;
    int oom;
    long long invalid;
    smx_invalid first_why;
    long long first_serial;
} parse_ctx;

static void on_record(void *ud, const smx_record *r)
{
    parse_ctx *p = ud;
    if (p->oom)
        return;
    if (batch_add_record(p->b, r) < 0)
        p->oom = 1;
    if (r->invalid != SMX_OK && p->invalid++ == 0) {
        p->first_why = r->invalid;
        p->first_serial = r->serial;
    }
}

/* Put a claimed file back into its box (it may still be being written). */
static int unclaim(const inbox_dir *box, const char *name)
{
    char from[8192], to[8192];
    snprintf(from, sizeof from, "%s/%s", box->process, name);
    snprintf(to, sizeof to, "%s/%s", box->path, name);
    /* Never over a newer file of the same name, and never seen with two links. */
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
        return -errno;
    return 0;
}

static void bad_file(ingest *g, ss_batch *b, ss_file *f, const char *why)
{
    batch_set_reason(b, f, why);
    const inbox_dir *box = &g->boxes[f->box];
    int ret = inbox_quarantine(box, f->name, 1);
    f->state = SS_FILE_BAD;
    if (ret < 0) {
        log_msg("Bad state message file %s (%s); it could not be moved to %s: %s. It stays in %s.",
                f->name, why, box->corrupt, cm_strerror(ret), box->process);
        return;
    }
    log_msg("CMessageProcessor - Bad state message file %s: %s. Moved it to %s.", f->name, why,
            box->corrupt);
    atomic_fetch_add(&g->sh->bad_files, 1);
}

static void parse_file(ingest *g, ss_batch *b, const chunk_entry *ce)
{
    const inbox_dir *box = &g->boxes[ce->box];
    ss_file *f = batch_add_file(b, ce->name, ce->box, ce->size);
    char path[8192], err[512];
    struct stat st;
    smx_header hdr;
    parse_ctx pc = {b, 0, 0, SMX_OK, -1};
    smx_options opt = {(size_t)box->box->max_size, 0};
    int fd, ret;

    if (!f) {
        log_msg("Out of memory while parsing %s; it waits in %s for the next start.", ce->name,
                box->process);
        return;
    }
    log_verbose("CMessageProcessor - Processing file: %s", ce->name);
    snprintf(path, sizeof path, "%s/%s", box->process, ce->name);
    /* O_NOFOLLOW and O_NONBLOCK: a symlink or a fifo swapped in is refused, never waited on. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            f->state = SS_FILE_GONE;
            return;
        }
        snprintf(err, sizeof err, "cannot open it: %s", strerror(errno));
        bad_file(g, b, f, err);
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
        close(fd);
        bad_file(g, b, f, "not a regular file with a single link");
        return;
    }
    ret = smx_parse_fd(fd, &opt, &hdr, on_record, &pc, err, sizeof err);
    if (ret == 0 && pc.oom) {
        ret = -ENOMEM;
        snprintf(err, sizeof err, "out of memory");
    }
    if (ret < 0) {
        batch_drop_records(b);
        inbox_entry e;
        memset(&e, 0, sizeof e);
        e.mtime = st.st_mtim;
        /* Changed a moment ago, or we ran short: not the file's fault yet. */
        if (ret == -ENOMEM ||
            (ret == CM_EPARSE && inbox_is_settling(&e, (long)atomic_load(&g->sh->settle_ms)))) {
            close(fd);
            if (unclaim(box, ce->name) == 0) {
                f->state = SS_FILE_DEFERRED;
                defer_add(g, ce->name, atomic_load(&g->sh->settle_ms) + 100);
                log_verbose("CMessageProcessor - %s is incomplete and still changing; it will be "
                            "read again.",
                            ce->name);
                return;
            }
            bad_file(g, b, f, err[0] ? err : cm_strerror(ret));
            return;
        }
        close(fd);
        bad_file(g, b, f, err[0] ? err : cm_strerror(ret));
        return;
    }
    close(fd);
    if (!hdr.has_client_id) {
        batch_drop_records(b);
        bad_file(g, b, f, "the report header has no valid ClientID (GUID:...)");
        return;
    }
    if (hdr.bad_netbios) {
        batch_drop_records(b);
        bad_file(g, b, f,
                 "the NetBIOSName of the report header is too long or holds control "
                 "characters");
        return;
    }
    snprintf(f->client_id, sizeof f->client_id, "%s", hdr.client_id);
    snprintf(f->netbios, sizeof f->netbios, "%s", hdr.netbios);
    snprintf(f->client_version, sizeof f->client_version, "%s", hdr.client_version);
    if (pc.invalid > 0)
        log_msg("CMessageProcessor - %s holds %lld invalid record(s); the first (serial number "
                "%lld): %s.",
                ce->name, pc.invalid, pc.first_serial, smx_invalid_text(pc.first_why));
    log_verbose("CMessageProcessor - Processed %zu records with %lld invalid records.", f->nmsgs,
                pc.invalid);
}

static void push_batch(ingest *g, ss_batch *b)
{
    pthread_mutex_lock(&g->stop.mu);
    while (g->wq_len >= (size_t)loaders(g) + WRITE_QUEUE_MAX && !g->stop.stopping)
        pthread_cond_wait(&g->stop.cv, &g->stop.mu);
    if (g->stop.stopping) {
        pthread_mutex_unlock(&g->stop.mu);
        batch_free(b); /* its files wait in process/ for the next start */
        return;
    }
    if (g->wq_tail)
        g->wq_tail->next = b;
    else
        g->wq_head = b;
    g->wq_tail = b;
    g->wq_len++;
    pthread_cond_broadcast(&g->stop.cv);
    pthread_mutex_unlock(&g->stop.mu);
}

static void parse_chunk(ingest *g, chunk *c)
{
    ss_batch *b = batch_new();
    if (b) {
        for (size_t i = 0; i < c->n && !stop_requested(&g->stop); i++)
            parse_file(g, b, &c->e[i]);
        push_batch(g, b);
    } else {
        log_msg("Out of memory while parsing a chunk of %zu file(s); they wait in %s.", c->n,
                g->boxes[1].process);
        pthread_mutex_lock(&g->stop.mu);
        g->outstanding--;
        pthread_cond_broadcast(&g->stop.cv);
        pthread_mutex_unlock(&g->stop.mu);
    }
    free(c->e);
    free(c);
}

/* Take a chunk; NULL when loading is done and none is left (or on stop). */
static chunk *pop_chunk(ingest *g, int wait)
{
    chunk *c = NULL;
    pthread_mutex_lock(&g->stop.mu);
    for (;;) {
        if (g->stop.stopping)
            break;
        if (g->pq_head) {
            c = g->pq_head;
            g->pq_head = c->next;
            if (!g->pq_head)
                g->pq_tail = NULL;
            g->pq_len--;
            c->next = NULL;
            pthread_cond_broadcast(&g->stop.cv);
            break;
        }
        if (g->loading_done || !wait)
            break;
        pthread_cond_wait(&g->stop.cv, &g->stop.mu);
    }
    pthread_mutex_unlock(&g->stop.mu);
    return c;
}

/* ------------------------------------------------------------------ */
/* The round: thread #0 and its helpers                                */
/* ------------------------------------------------------------------ */

typedef struct helper {
    ingest *g;
    int index;
    pthread_t t;
} helper;

static void *helper_main(void *arg)
{
    helper *h = arg;
    long id = tid();
    chunk *c;
    char name[16];
    snprintf(name, sizeof name, "ss-loader-%d", h->index);
    pthread_setname_np(pthread_self(), name);
    log_msg("Thread \"State Message Processing Thread #%d\" id:%ld started", h->index, id);
    while ((c = pop_chunk(h->g, 1)))
        parse_chunk(h->g, c);
    log_msg("Thread \"State Message Processing Thread #%d\" id:%ld terminated normally", h->index,
            id);
    return NULL;
}

static void *round_main(void *arg)
{
    ingest *g = arg;
    long id = tid();
    helper hs[MAX_LOADERS];
    int nh = 0;
    long long n = loaders(g);

    pthread_setname_np(pthread_self(), "ss-loader-0");
    /*
     * On Linux the nice value is the thread's own and a thread inherits its
     * creator's, so the helpers created below are as nice as #0.  Raising a
     * nice value needs no privilege; should it fail, the round runs as
     * before, only slower.
     */
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)id);
    if (errno == 0)
        (void)setpriority(PRIO_PROCESS, (id_t)id,
                          nice_now + LOADER_NICE > 19 ? 19 : nice_now + LOADER_NICE);
    log_msg("Thread \"State Message Processing Thread #0\" id:%ld started", id);
    for (int i = 1; i < n; i++) {
        hs[nh].g = g;
        hs[nh].index = i;
        if (pthread_create(&hs[nh].t, NULL, helper_main, &hs[nh]) == 0)
            nh++;
    }
    for (int b = 0; b < 3; b++)
        cursor_init(&g->cursors[b], &g->boxes[b]);
    for (;;) {
        int do_load = 0;
        pthread_mutex_lock(&g->stop.mu);
        if (g->stop.stopping) {
            pthread_mutex_unlock(&g->stop.mu);
            break;
        }
        /* Keep a chunk ready for every loader; otherwise parse like the others. */
        if (!g->loading_done && g->pq_len < (size_t)(nh + 1))
            do_load = 1;
        pthread_mutex_unlock(&g->stop.mu);
        if (do_load) {
            int made = load(g);
            log_msg("total chucks loaded (%d)", made);
            if (made == 0) {
                pthread_mutex_lock(&g->stop.mu);
                g->loading_done = 1;
                pthread_cond_broadcast(&g->stop.cv);
                pthread_mutex_unlock(&g->stop.mu);
            }
            continue;
        }
        chunk *c = pop_chunk(g, 0);
        if (c) {
            parse_chunk(g, c);
            continue;
        }
        pthread_mutex_lock(&g->stop.mu);
        int done = g->loading_done;
        pthread_mutex_unlock(&g->stop.mu);
        if (done)
            break;
    }
    for (int b = 0; b < 3; b++)
        cursor_close(&g->cursors[b]);
    for (int i = 0; i < nh; i++)
        pthread_join(hs[i].t, NULL);
    /* The round is over once the writer has committed (or given back) everything. */
    pthread_mutex_lock(&g->stop.mu);
    while (g->outstanding > 0 && !g->stop.stopping)
        pthread_cond_wait(&g->stop.cv, &g->stop.mu);
    pthread_mutex_unlock(&g->stop.mu);
    log_msg("Thread \"State Message Processing Thread #0\" id:%ld terminated normally", id);
    if (g->round_done)
        g->round_done(g->ud);
    return NULL;
}

int ingest_round_start(ingest *g)
{
    if (g->round_running)
        return -EBUSY;
    pthread_mutex_lock(&g->stop.mu);
    g->loading_done = 0;
    g->outstanding = 0;
    pthread_mutex_unlock(&g->stop.mu);
    log_msg("Found new state messages to process, starting processing thread");
    if (pthread_create(&g->round, NULL, round_main, g) != 0) {
        log_msg("Cannot start the state message processing thread: %s", strerror(errno));
        return -EAGAIN;
    }
    g->round_running = 1;
    return 0;
}

int ingest_round_active(ingest *g)
{
    return g->round_running;
}

void ingest_round_join(ingest *g)
{
    if (g->round_running) {
        pthread_join(g->round, NULL);
        g->round_running = 0;
    }
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */
/* ------------------------------------------------------------------ */

/* Errors worth the same batch again: a deadlock, a serialization failure, a busy SQLite. */
static int transient(db *d)
{
    const char *m = db_errmsg(d);
    return strstr(m, "[40P01]") || strstr(m, "[40001]") || strstr(m, "database is locked") ||
           strstr(m, "database table is locked");
}

static int commit_all(writer *w, ss_batch *list, apply_stats *st)
{
    db *d = w->conn.d;
    int ret = db_begin(d);
    for (ss_batch *b = list; b && ret == 0; b = b->next)
        ret = apply_add(w->a, b, st);
    if (ret == 0)
        ret = apply_flush(w->a, st);
    if (ret == 0)
        ret = db_commit(d);
    if (ret < 0) {
        db_rollback(d);
        apply_abort(w->a);
    }
    return ret;
}

/*
 * After the commit: the writer reports the bad files (it has the
 * connection) and hands the batches to the cleaner, which deletes the
 * files; unlink costs as much as a tenth of the writer's time otherwise.
 */
static void finish(writer *w, ss_batch *list, const apply_stats *st)
{
    ingest *g = w->g;
    ss_shared *sh = g->sh;
    ss_batch *last = NULL;
    size_t n = 0;
    for (ss_batch *b = list; b; b = b->next, n++) {
        last = b;
        for (size_t i = 0; i < b->nfiles; i++) {
            ss_file *f = &b->files[i];
            if (f->state == SS_FILE_BAD)
                ss_statmsg(sh, w->conn.d, 8200, 'E', f->name, batch_str(b, f->reason),
                           g->boxes[f->box].corrupt, NULL);
        }
        /* Only the names are needed from now on; without memory the records stay (slower). */
        batch_compact(b);
    }
    atomic_fetch_add(&sh->messages, st->messages);
    atomic_fetch_add(&sh->duplicates, st->duplicates);
    atomic_fetch_add(&sh->invalid, st->invalid);
    if (!list)
        return;
    pthread_mutex_lock(&g->stop.mu);
    /* A cleaner behind (deleting is slow in a huge folder) holds the writer back. */
    while (g->cq_len >= CLEAN_QUEUE_MAX && !g->cleaner_done)
        pthread_cond_wait(&g->stop.cv, &g->stop.mu);
    if (g->cq_tail)
        g->cq_tail->next = list;
    else
        g->cq_head = list;
    g->cq_tail = last;
    g->cq_len += n;
    pthread_cond_broadcast(&g->stop.cv);
    pthread_mutex_unlock(&g->stop.mu);
}

static void clean(ingest *g, ss_batch *b)
{
    if (b->names) {
        for (const char *p = b->names; p < b->names + b->names_len; p += strlen(p) + 1) {
            const inbox_dir *box = &g->boxes[p[0] - '0'];
            int ret = inbox_remove(box, p + 1, 1);
            if (ret < 0)
                log_msg("Cannot delete %s/%s after applying it: %s", box->process, p + 1,
                        cm_strerror(ret));
        }
        log_verbose("CMessageProcessor - Processed %zu message files in this batch, with %zu "
                    "bad files.",
                    b->nfiles_done, b->nbad);
        atomic_fetch_add(&g->sh->files, (long long)b->ndelete);
        return;
    }
    /* Not compacted (no memory for the names): the same from the files. */
    size_t files = 0, bad = 0;
    for (size_t i = 0; i < b->nfiles; i++) {
        ss_file *f = &b->files[i];
        const inbox_dir *box = &g->boxes[f->box];
        if (f->state == SS_FILE_OK) {
            int ret = inbox_remove(box, f->name, 1);
            if (ret < 0)
                log_msg("Cannot delete %s/%s after applying it: %s", box->process, f->name,
                        cm_strerror(ret));
            files++;
        } else if (f->state == SS_FILE_BAD) {
            files++;
            bad++;
        }
    }
    log_verbose("CMessageProcessor - Processed %zu message files in this batch, with %zu bad "
                "files.",
                files, bad);
    atomic_fetch_add(&g->sh->files, (long long)(files - bad));
}

/* Deletes committed files; on stop, drains what was committed before leaving. */
static void *cleaner_main(void *arg)
{
    ingest *g = arg;
    pthread_setname_np(pthread_self(), "ss-cleaner");
    pthread_mutex_lock(&g->stop.mu);
    for (;;) {
        while (!g->cq_head && !g->cleaner_done)
            pthread_cond_wait(&g->stop.cv, &g->stop.mu);
        ss_batch *b = g->cq_head;
        if (!b)
            break;
        g->cq_head = b->next;
        if (!g->cq_head)
            g->cq_tail = NULL;
        g->cq_len--;
        pthread_mutex_unlock(&g->stop.mu);
        clean(g, b);
        batch_free(b);
        pthread_mutex_lock(&g->stop.mu);
        /* The round ends when its files are gone, not only committed. */
        g->outstanding--;
        pthread_cond_broadcast(&g->stop.cv);
    }
    pthread_mutex_unlock(&g->stop.mu);
    return NULL;
}

/* The batch failed as a whole: each file in its own transaction; a file the database refuses is
 * bad. */
static int one_by_one(writer *w, ss_batch *list, apply_stats *st)
{
    ingest *g = w->g;
    db *d = w->conn.d;
    for (ss_batch *b = list; b; b = b->next) {
        for (size_t i = 0; i < b->nfiles; i++) {
            ss_file *f = &b->files[i];
            if (f->state != SS_FILE_OK)
                continue;
            int ret = db_begin(d);
            if (ret == 0)
                ret = apply_add_file(w->a, b, i, st);
            if (ret == 0)
                ret = apply_flush(w->a, st);
            if (ret == 0)
                ret = db_commit(d);
            if (ret == 0)
                continue;
            db_rollback(d);
            apply_abort(w->a);
            if (ret == CM_EDBCONN || transient(d))
                return ret == CM_EDBCONN ? ret : CM_EDB;
            char why[700];
            snprintf(why, sizeof why, "the database refused its records: %s", db_errmsg(d));
            bad_file(g, b, f, why);
        }
    }
    return 0;
}

/* Take the parsed chunks waiting, up to a transaction's worth; NULL on stop. */
static ss_batch *take(ingest *g, notice **notices)
{
    ss_batch *list = NULL, *tail = NULL;
    size_t msgs = 0, files = 0;
    pthread_mutex_lock(&g->stop.mu);
    while (!g->wq_head && !g->notices && !g->stop.stopping)
        pthread_cond_wait(&g->stop.cv, &g->stop.mu);
    if (!g->stop.stopping) {
        while (g->wq_head && (msgs == 0 || (msgs + g->wq_head->nmsgs <= TX_MAX_MESSAGES &&
                                            files + g->wq_head->nfiles <= TX_MAX_FILES))) {
            ss_batch *b = g->wq_head;
            g->wq_head = b->next;
            if (!g->wq_head)
                g->wq_tail = NULL;
            g->wq_len--;
            b->next = NULL;
            msgs += b->nmsgs;
            files += b->nfiles;
            if (tail)
                tail->next = b;
            else
                list = b;
            tail = b;
        }
        *notices = g->notices;
        g->notices = g->notices_tail = NULL;
        pthread_cond_broadcast(&g->stop.cv);
    }
    pthread_mutex_unlock(&g->stop.mu);
    return list;
}

/* Give a list back to the head of the queue (the connection dropped: retried after it). */
static void requeue(ingest *g, ss_batch *list)
{
    if (!list)
        return;
    ss_batch *last = list;
    size_t n = 1;
    while (last->next) {
        last = last->next;
        n++;
    }
    pthread_mutex_lock(&g->stop.mu);
    last->next = g->wq_head;
    g->wq_head = list;
    if (!g->wq_tail)
        g->wq_tail = last;
    g->wq_len += n;
    pthread_mutex_unlock(&g->stop.mu);
}

static void send_notices(writer *w, notice *n)
{
    while (n) {
        notice *next = n->next;
        ss_statmsg(w->g->sh, w->conn.d && !w->conn.lost ? w->conn.d : NULL, n->id, n->sev, n->s[0],
                   n->s[1], n->s[2], n->s[3]);
        free(n);
        n = next;
    }
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    ingest *g = w->g;
    pthread_setname_np(pthread_self(), "ss-writer");
    for (;;) {
        notice *notices = NULL;
        ss_batch *list = take(g, &notices);
        if (!list && !notices)
            break; /* stopping */
        int reconnected = 0;
        if (conn_wait(&w->conn, &g->stop, "The state message writer", &reconnected) < 0) {
            requeue(g, list);
            send_notices(w, notices);
            break;
        }
        if (reconnected)
            ss_statmsg(g->sh, w->conn.d, 8205, 'I', NULL, NULL, NULL, NULL);
        if (!w->a) {
            int ret = apply_open(w->conn.d, g->sh->site, &w->a);
            if (ret < 0) {
                w->a = NULL;
                if (ret == CM_EDBCONN)
                    conn_lost(&w->conn);
                else
                    log_msg("The state message writer cannot prepare its statements: %s",
                            db_errmsg(w->conn.d));
                requeue(g, list);
                send_notices(w, notices);
                stop_sleep(&g->stop, 1000);
                continue;
            }
        }
        unsigned gen = atomic_load(&g->sh->topics_gen);
        if (gen != w->gen) {
            apply_forget_unknown(w->a);
            w->gen = gen;
        }
        send_notices(w, notices);
        if (!list)
            continue;

        apply_stats st;
        memset(&st, 0, sizeof st);
        int ret = commit_all(w, list, &st);
        if (ret == 0) {
            finish(w, list, &st);
            continue;
        }
        if (ret == CM_EDBCONN) {
            ss_statmsg(g->sh, NULL, 8204, 'W', db_errmsg(w->conn.d), NULL, NULL, NULL);
            apply_close(w->a);
            w->a = NULL;
            conn_lost(&w->conn);
            requeue(g, list);
            continue;
        }
        if (transient(w->conn.d)) {
            requeue(g, list);
            stop_sleep(&g->stop, 100);
            continue;
        }
        /* Something in the batch is refused: find it, apply the rest. */
        char why[1100], nfiles[32];
        size_t n = 0;
        for (ss_batch *b = list; b; b = b->next)
            n += b->nfiles;
        snprintf(why, sizeof why, "%s", db_errmsg(w->conn.d));
        snprintf(nfiles, sizeof nfiles, "%zu", n);
        log_msg("Cannot commit a batch of %zu state message files: %s. Applying them one at a "
                "time.",
                n, why);
        ss_statmsg(g->sh, w->conn.d, 8208, 'E', nfiles, why, NULL, NULL);
        memset(&st, 0, sizeof st);
        ret = one_by_one(w, list, &st);
        if (ret < 0) {
            if (ret == CM_EDBCONN) {
                apply_close(w->a);
                w->a = NULL;
                conn_lost(&w->conn);
            }
            requeue(g, list);
            continue;
        }
        finish(w, list, &st);
    }
    apply_close(w->a);
    w->a = NULL;
    conn_close(&w->conn);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */
/* ------------------------------------------------------------------ */

int ingest_start(ingest **out, ss_shared *sh, const inbox_dir *const boxes[3],
                 void (*round_done)(void *ud), void *ud)
{
    ingest *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g)
        return -ENOMEM;
    g->sh = sh;
    for (int i = 0; i < 3; i++)
        g->boxes[i] = *boxes[i];
    g->round_done = round_done;
    g->ud = ud;
    g->load_buf = calloc(LOAD_MAX, sizeof *g->load_buf);
    if (!g->load_buf) {
        free(g);
        return -ENOMEM;
    }
    stop_init(&g->stop);
    g->w.g = g;
    g->w.gen = atomic_load(&sh->topics_gen);
    conn_init(&g->w.conn, sh->connstr);
    if (pthread_create(&g->cleaner, NULL, cleaner_main, g) != 0) {
        stop_destroy(&g->stop);
        free(g->load_buf);
        free(g);
        return -EAGAIN;
    }
    g->cleaner_started = 1;
    if (pthread_create(&g->writer, NULL, writer_main, &g->w) != 0) {
        ingest_stop(g);
        return -EAGAIN;
    }
    g->writer_started = 1;
    *out = g;
    return 0;
}

void ingest_stop(ingest *g)
{
    if (!g)
        return;
    stop_request(&g->stop);
    ingest_round_join(g);
    if (g->writer_started)
        pthread_join(g->writer, NULL);
    /* What the writer committed is deleted before the process leaves. */
    if (g->cleaner_started) {
        pthread_mutex_lock(&g->stop.mu);
        g->cleaner_done = 1;
        pthread_cond_broadcast(&g->stop.cv);
        pthread_mutex_unlock(&g->stop.mu);
        pthread_join(g->cleaner, NULL);
    }
    /* What was claimed and not committed waits in process/ for the next start. */
    while (g->pq_head) {
        chunk *c = g->pq_head;
        g->pq_head = c->next;
        free(c->e);
        free(c);
    }
    while (g->wq_head) {
        ss_batch *b = g->wq_head;
        g->wq_head = b->next;
        batch_free(b);
    }
    while (g->notices) {
        notice *n = g->notices;
        g->notices = n->next;
        free(n);
    }
    stop_destroy(&g->stop);
    free(g->load_buf);
    free(g);
}
