/*
 * simulate.c - cmsite simulate-clients: writes the state message batches
 * (.SMX) that N clients would send through a management point, into
 * statesys's inbox (or any folder), to load a lab with compliance data and
 * to drive the state system's benchmark.
 *
 * Each file is what MP_Relay writes: a <Report> in UTF-16LE with a byte
 * order mark, declared encoding="UTF-16" (seed 004, "State Message
 * Processing Flow"), with a client's identification and several state
 * messages whose serial numbers increase per client.  Files are written
 * under a hidden temporary name and renamed into place, so a reader never
 * sees half a file.  Everything is deterministic for a --seed (client IDs,
 * names, states), except the IDs of --generate-updates rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cm_error.h"
#include "cmsite.h"

#define MAX_UPDATES 100000
#define MAX_ASSIGNMENTS 16

typedef struct sim {
    long long machines, files, messages, first_machine, first_serial, max_updates;
    unsigned long long seed;
    int mix, hostile, utf8;
    char out[PATH_MAX];
    char **updates;
    long long *revisions;
    size_t nupdates;
    char source[80];
    long long content_version;
    char wsus_url[512];
    char *assignments[MAX_ASSIGNMENTS];
    size_t nassignments;
    long long base_ms;
    /* What was written. */
    long long nfiles, nmsgs, gaps, replays, backdated;
    char *buf;
    size_t len, cap;
    unsigned char *wbuf;
    size_t wcap;
    unsigned long long tmpseq;
} sim;

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static unsigned long long next_rand(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void guid_from(unsigned long long *s, char *out, int upper)
{
    unsigned long long a = next_rand(s), b = next_rand(s);
    snprintf(out, 37,
             upper ? "%08llX-%04llX-4%03llX-%04llX-%012llX"
                   : "%08llx-%04llx-4%03llx-%04llx-%012llx",
             a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF, ((b >> 48) & 0x3FFF) | 0x8000,
             b & 0xFFFFFFFFFFFFULL);
}

static int put(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(sim *s, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return 0;
        }
        size_t ncap = s->cap ? s->cap * 2 : 65536;
        while (ncap < s->len + (size_t)n + 1)
            ncap *= 2;
        char *nb = realloc(s->buf, ncap);
        if (!nb)
            return -1;
        s->buf = nb;
        s->cap = ncap;
    }
}

static void wmi_time(long long ms, char *out)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d%02d%02d%02d%02d%02d.%03lld000+000", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/* UTF-8 to UTF-16LE with a byte order mark, as MP_Relay writes SMX files. */
static int to_utf16(sim *s, size_t *outlen)
{
    size_t need = 2 + s->len * 4;
    if (need > s->wcap) {
        unsigned char *nb = realloc(s->wbuf, need);
        if (!nb)
            return -1;
        s->wbuf = nb;
        s->wcap = need;
    }
    unsigned char *o = s->wbuf;
    const unsigned char *p = (const unsigned char *)s->buf, *end = p + s->len;
    *o++ = 0xFF;
    *o++ = 0xFE;
    while (p < end) {
        unsigned long cp;
        if (*p < 0x80) {
            cp = *p++;
        } else if ((*p & 0xE0) == 0xC0 && p + 1 < end) {
            cp = ((unsigned long)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
            p += 2;
        } else if ((*p & 0xF0) == 0xE0 && p + 2 < end) {
            cp = ((unsigned long)(p[0] & 0x0F) << 12) | ((unsigned long)(p[1] & 0x3F) << 6) |
                 (p[2] & 0x3F);
            p += 3;
        } else if ((*p & 0xF8) == 0xF0 && p + 3 < end) {
            cp = ((unsigned long)(p[0] & 0x07) << 18) | ((unsigned long)(p[1] & 0x3F) << 12) |
                 ((unsigned long)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
            p += 4;
        } else {
            cp = 0xFFFD;
            p++;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            unsigned long hi = 0xD800 + (cp >> 10), lo = 0xDC00 + (cp & 0x3FF);
            *o++ = (unsigned char)(hi & 0xFF);
            *o++ = (unsigned char)(hi >> 8);
            *o++ = (unsigned char)(lo & 0xFF);
            *o++ = (unsigned char)(lo >> 8);
        } else {
            *o++ = (unsigned char)(cp & 0xFF);
            *o++ = (unsigned char)(cp >> 8);
        }
    }
    *outlen = (size_t)(o - s->wbuf);
    return 0;
}

/* Write under a hidden name, then rename to an 8-character name not taken yet. */
static int write_file(sim *s, unsigned long long *rnd)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char tmp[PATH_MAX + 64], final[PATH_MAX + 64];
    const void *data;
    size_t len;
    int fd;

    if (s->utf8) {
        data = s->buf;
        len = s->len;
    } else {
        if (to_utf16(s, &len) < 0)
            return -ENOMEM;
        data = s->wbuf;
    }
    snprintf(tmp, sizeof tmp, "%s/.simulate.%ld.%llu", s->out, (long)getpid(), s->tmpseq++);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return -err;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0) {
        int err = errno;
        unlink(tmp);
        return -err;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        char name[16];
        for (int i = 0; i < 8; i++)
            name[i] = alpha[next_rand(rnd) % 36];
        snprintf(name + 8, sizeof name - 8, ".SMX");
        snprintf(final, sizeof final, "%s/%s", s->out, name);
        /*
         * Never over a file another writer put there, and never visible with
         * two links (a reader rightly refuses such a file): a rename that
         * does not replace.
         */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0) {
            s->nfiles++;
            return 0;
        }
        if (errno != EEXIST) {
            int err = errno;
            unlink(tmp);
            return -err;
        }
    }
    unlink(tmp);
    return -EEXIST;
}

static int header(sim *s, const char *client, const char *netbios)
{
    char date[32];
    wmi_time(s->base_ms + 3600 * 1000, date);
    return put(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Report><ReportHeader><Identification>"
        "<Machine><ClientInstalled>1</ClientInstalled><ClientType>1</ClientType>"
        "<ClientID>GUID:%s</ClientID><ClientVersion>5.00.7958.1000</ClientVersion>"
        "<NetBIOSName>%s</NetBIOSName><CodePage>437</CodePage><SystemDefaultLCID>1033"
        "</SystemDefaultLCID><Priority>5</Priority></Machine></Identification>"
        "<ReportDetails><ReportContent>State Message Data</ReportContent><ReportType>Full"
        "</ReportType><Date>%s</Date><Version>1.0</Version><Format>1.0</Format>"
        "</ReportDetails></ReportHeader><ReportBody>",
        client, netbios, date);
}

static int message(sim *s, long long t, long long serial, const char *topic, int type, int idtype,
                   int state, const char *const *params, int nparams)
{
    char when[32];
    wmi_time(t, when);
    if (put(s,
            "<StateMessage MessageTime=\"%s\" SerialNumber=\"%lld\"><Topic ID=\"%s\" Type=\"%d\" "
            "IDType=\"%d\" User=\"\" UserSID=\"\"/><State ID=\"%d\" Criticality=\"0\"/>"
            "<UserParameters Flags=\"0\" Count=\"%d\">",
            when, serial, topic, type, idtype, state, nparams) < 0)
        return -1;
    for (int i = 0; i < nparams; i++)
        if (put(s, "<Param>%s</Param>", params[i]) < 0)
            return -1;
    return put(s, "</UserParameters></StateMessage>");
}

/* One client's stream of messages, files of s->messages each. */
static int machine(sim *s, long long index)
{
    unsigned long long rnd = s->seed * 0x100000001B3ULL + (unsigned long long)index;
    char client[40], netbios[32];
    long long serial = s->first_serial, k = 0, next500 = 0;
    int ret;

    guid_from(&rnd, client, 1);
    snprintf(netbios, sizeof netbios, "LAB%07lld", index);
    for (long long f = 0; f < s->files; f++) {
        s->len = 0;
        if (header(s, client, netbios) < 0)
            return -ENOMEM;
        for (long long j = 0; j < s->messages; j++, k++) {
            long long t = s->base_ms + k * 1000 + index % 1000;
            char buf[4][600];
            const char *params[4];
            int r;
            /* Not before a client's first message: a gap there is history, not a gap. */
            if (s->hostile && k > 0 && next_rand(&rnd) % 20 == 0) {
                serial += 1 + (long long)(next_rand(&rnd) % 3); /* a gap */
                s->gaps++;
            }
            if (s->hostile && next_rand(&rnd) % 25 == 0) {
                t -= 3600 * 1000; /* a message older than the one before */
                s->backdated++;
            }
            if (s->mix && k == 0 && s->source[0]) {
                /* The scan first: 501 completed against the site's update source. */
                snprintf(buf[0], sizeof buf[0], "%lld", s->content_version);
                snprintf(buf[1], sizeof buf[1], "%s", s->wsus_url);
                snprintf(buf[2], sizeof buf[2], "0");
                snprintf(buf[3], sizeof buf[3], "7.6.7600.320");
                for (int i = 0; i < 4; i++)
                    params[i] = buf[i];
                r = message(s, t, serial, s->source, 501, 3, 3, params, 4);
            } else if (s->mix && s->nassignments && k % 25 == 1) {
                const char *a = s->assignments[(k / 25) % s->nassignments];
                r = message(s, t, serial, a, 300, 2, next_rand(&rnd) % 3 ? 1 : 2, NULL, 0);
            } else if (s->mix && s->nassignments && k % 25 == 2) {
                const char *a = s->assignments[(k / 25) % s->nassignments];
                static const int enforce[] = {4, 4, 4, 1, 7, 8, 6};
                r = message(s, t, serial, a, 301, 2, enforce[next_rand(&rnd) % 7], NULL, 0);
            } else if (s->mix && k % 20 == 3) {
                const char *u = s->updates[(next500 + 7) % s->nupdates];
                int state = next_rand(&rnd) % 4 ? 10 : 7;
                r = message(s, t, serial, u, 402, 3, state, NULL, 0);
            } else if (s->mix && k % 50 == 4) {
                /* Any other topic type lands in the generic current-state table. */
                snprintf(buf[0], sizeof buf[0], "ScopeId_%s/Baseline_%lld", client, k % 5);
                r = message(s, t, serial, buf[0], 401, 1, 1 + (int)(next_rand(&rnd) % 2), NULL, 0);
            } else {
                size_t u = (size_t)(next500++ % (long long)s->nupdates);
                static const int states[] = {1, 1, 1, 1, 2, 2, 2, 3, 3, 3};
                snprintf(buf[0], sizeof buf[0], "%lld", s->revisions[u]);
                params[0] = buf[0];
                r = message(s, t, serial, s->updates[u], 500, 3, states[next_rand(&rnd) % 10],
                            params, 1);
            }
            if (r < 0)
                return -ENOMEM;
            serial++;
            s->nmsgs++;
        }
        if (put(s, "</ReportBody></Report>\r\n") < 0)
            return -ENOMEM;
        if ((ret = write_file(s, &rnd)) < 0)
            return ret;
        /* A relay that sends the same batch twice: the copy must change nothing. */
        if (s->hostile && next_rand(&rnd) % 10 == 0) {
            if ((ret = write_file(s, &rnd)) < 0)
                return ret;
            s->replays++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* What the site knows                                                 */
/* ------------------------------------------------------------------ */

static int add_update(sim *s, const char *id, long long rev)
{
    if (s->nupdates >= MAX_UPDATES)
        return 0;
    char **nu = realloc(s->updates, (s->nupdates + 1) * sizeof *nu);
    if (!nu)
        return -ENOMEM;
    s->updates = nu;
    long long *nr = realloc(s->revisions, (s->nupdates + 1) * sizeof *nr);
    if (!nr)
        return -ENOMEM;
    s->revisions = nr;
    s->updates[s->nupdates] = strdup(id);
    if (!s->updates[s->nupdates])
        return -ENOMEM;
    s->revisions[s->nupdates++] = rev;
    return 0;
}

static int read_site(sim *s, db *d)
{
    db_stmt *q;
    int ret;
    if (s->nupdates == 0) {
        if ((ret = db_prepare(d, &q,
                              "SELECT CI_UniqueID, RevisionNumber FROM CI_ConfigurationItems WHERE "
                              "CIType_ID = 1 AND IsExpired = 0 ORDER BY CI_ID")) < 0)
            return ret;
        while ((s->max_updates <= 0 || (long long)s->nupdates < s->max_updates) &&
               (ret = db_step(q)) == 1)
            if ((ret = add_update(s, db_col_text(q, 0), db_col_int(q, 1))) < 0)
                break;
        db_finalize(q);
        if (ret < 0)
            return ret;
    }
    if ((ret = db_prepare(d, &q,
                          "SELECT s.UpdateSource_UniqueID, s.ContentVersion, l.WSUSURL FROM "
                          "CI_UpdateSources s LEFT JOIN WSUSServerLocations l ON "
                          "l.UpdateSource_ID = s.UpdateSource_ID ORDER BY s.UpdateSource_ID")) < 0)
        return ret;
    if ((ret = db_step(q)) == 1) {
        snprintf(s->source, sizeof s->source, "%s", db_col_text(q, 0));
        s->content_version = db_col_int(q, 1);
        snprintf(s->wsus_url, sizeof s->wsus_url, "%s", db_col_text(q, 2));
    }
    db_finalize(q);
    if (ret < 0)
        return ret;
    if ((ret = db_prepare(d, &q,
                          "SELECT Assignment_UniqueID FROM CI_CIAssignments WHERE IsTombstoned = 0 "
                          "ORDER BY AssignmentID")) < 0)
        return ret;
    while (s->nassignments < MAX_ASSIGNMENTS && (ret = db_step(q)) == 1) {
        s->assignments[s->nassignments] = strdup(db_col_text(q, 0));
        if (s->assignments[s->nassignments])
            s->nassignments++;
    }
    db_finalize(q);
    return ret < 0 ? ret : 0;
}

/* Synthetic update CIs, standing in for a sync until wsyncmgr fills the table. */
static int generate_updates(db *d, const char *site, long long n, long long *made)
{
    db_stmt *ci = NULL, *lp = NULL, *ui = NULL;
    long long base = 0;
    int ret;
    *made = 0;
    db_query_int(d, "SELECT COUNT(*) FROM CI_ConfigurationItems WHERE CIType_ID = 1", NULL, NULL,
                 &base);
    if ((ret = db_begin(d)) < 0)
        return ret;
    if ((ret = db_prepare(d, &ci,
                          "INSERT INTO CI_ConfigurationItems (CI_UniqueID, CIType_ID, ModelName, "
                          "RevisionNumber, SourceSite, CreatedBy) VALUES (?, 1, ?, 200, ?, "
                          "'cmsite simulate-clients')")) < 0 ||
        (ret = db_prepare(d, &lp,
                          "INSERT INTO CI_LocalizedProperties (CI_ID, LocaleID, DisplayName, "
                          "Description) SELECT CI_ID, 1033, ?, ? FROM CI_ConfigurationItems "
                          "WHERE CI_UniqueID = ?")) < 0 ||
        (ret = db_prepare(d, &ui,
                          "INSERT INTO CI_UpdateInfo (CI_ID, ArticleID, UpdateType, Severity, "
                          "RevisionNumber) SELECT CI_ID, ?, 'Software', 8, 200 FROM "
                          "CI_ConfigurationItems WHERE CI_UniqueID = ?")) < 0)
        goto out;
    for (long long i = 0; i < n; i++) {
        unsigned char r[16];
        unsigned long long st;
        char id[40], model[160], title[160], kb[32];
        if (RAND_bytes(r, sizeof r) != 1) {
            ret = CM_EDB;
            goto out;
        }
        memcpy(&st, r, sizeof st);
        guid_from(&st, id, 0);
        long long kbn = 4000000 + base + i;
        snprintf(kb, sizeof kb, "%lld", kbn);
        snprintf(model, sizeof model, "Site_%s/SUM_%s", site, id);
        snprintf(title, sizeof title, "Lab Update for Windows (KB%lld)", kbn);
        db_reset(ci);
        db_reset(lp);
        db_reset(ui);
        if ((ret = db_bind_text(ci, 1, id)) < 0 || (ret = db_bind_text(ci, 2, model)) < 0 ||
            (ret = db_bind_text(ci, 3, site)) < 0 || (ret = db_step(ci)) < 0 ||
            (ret = db_bind_text(lp, 1, title)) < 0 ||
            (ret = db_bind_text(lp, 2,
                                "A synthetic update written by cmsite simulate-clients "
                                "--generate-updates.")) < 0 ||
            (ret = db_bind_text(lp, 3, id)) < 0 || (ret = db_step(lp)) < 0 ||
            (ret = db_bind_text(ui, 1, kb)) < 0 || (ret = db_bind_text(ui, 2, id)) < 0 ||
            (ret = db_step(ui)) < 0)
            goto out;
        (*made)++;
    }
    ret = db_commit(d);
out:
    db_finalize(ci);
    db_finalize(lp);
    db_finalize(ui);
    if (ret < 0)
        db_rollback(d);
    return ret < 0 ? ret : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cmsite simulate-clients [--root DIR] [options]\n"
            "  Writes the state message files (.SMX) that clients send through a management\n"
            "  point into statesys's inbox: UTF-16 <Report> files, several messages each, serial\n"
            "  numbers increasing per client, a mix of topic types and states.\n"
            "  --machines N          clients (default 10)\n"
            "  --files N             files per client (default 1)\n"
            "  --messages N          state messages per file (default 20)\n"
            "  --updates N           report against at most N of the site's updates (default all)\n"
            "  --update-ids ID,...   report against these update IDs instead of the site's\n"
            "  --generate-updates N  first insert N synthetic updates into CI_ConfigurationItems\n"
            "                        (CIType_ID 1): they stand in for a software updates sync,\n"
            "                        so the lab has updates to report against\n"
            "  --compliance-only     only topic type 500 (update compliance); the default mixes\n"
            "                        in 501 scan, 402 enforcement, 300/301 deployment and 401\n"
            "  --hostile             also skip serial numbers (gaps), send some files twice and\n"
            "                        date some messages earlier than the one before\n"
            "  --priority P          normal (default), high or low: incoming/, incoming/high/...\n"
            "  --out DIR             write into DIR instead of the inbox\n"
            "  --first-machine K     number clients from K (default 0): distinct runs, distinct "
            "clients\n"
            "  --first-serial S      first serial number of every client (default 1)\n"
            "  --seed N              the clients and states for seed N (default 1)\n"
            "  --utf8                write UTF-8 labelled UTF-16, as some relays do\n");
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"machines", required_argument, NULL, 'm'},
                                         {"files", required_argument, NULL, 'f'},
                                         {"messages", required_argument, NULL, 'n'},
                                         {"updates", required_argument, NULL, 'u'},
                                         {"update-ids", required_argument, NULL, 'U'},
                                         {"generate-updates", required_argument, NULL, 'g'},
                                         {"compliance-only", no_argument, NULL, 'c'},
                                         {"hostile", no_argument, NULL, 'H'},
                                         {"priority", required_argument, NULL, 'p'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"first-machine", required_argument, NULL, 'k'},
                                         {"first-serial", required_argument, NULL, 's'},
                                         {"seed", required_argument, NULL, 'S'},
                                         {"utf8", no_argument, NULL, '8'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root = NULL, *ids = NULL, *prio = "normal", *out = NULL;
    long long generate = 0;
    sim s;
    int c, ret, rc = 1;
    site_ini ini;
    db *d = NULL;

    memset(&s, 0, sizeof s);
    s.machines = 10;
    s.files = 1;
    s.messages = 20;
    s.first_serial = 1;
    s.seed = 1;
    s.mix = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:m:f:n:u:U:g:cHp:o:k:s:S:8h", opts, NULL)) != -1) {
        char *end = NULL;
        long long v = 0;
        if (strchr("mfnugksS", c)) {
            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno || *end || v < 0) {
                fprintf(stderr, "cmsite simulate-clients: '%s' is not a number\n", optarg);
                return 2;
            }
        }
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'm':
            s.machines = v;
            break;
        case 'f':
            s.files = v;
            break;
        case 'n':
            s.messages = v;
            break;
        case 'u':
            s.max_updates = v;
            break;
        case 'U':
            ids = optarg;
            break;
        case 'g':
            generate = v;
            break;
        case 'c':
            s.mix = 0;
            break;
        case 'H':
            s.hostile = 1;
            break;
        case 'p':
            prio = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'k':
            s.first_machine = v;
            break;
        case 's':
            s.first_serial = v;
            break;
        case 'S':
            s.seed = (unsigned long long)v;
            break;
        case '8':
            s.utf8 = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || s.machines < 1 || s.files < 1 || s.messages < 1) {
        usage(stderr);
        return 2;
    }
    if (strcmp(prio, "normal") && strcmp(prio, "high") && strcmp(prio, "low")) {
        fprintf(stderr, "cmsite simulate-clients: --priority is normal, high or low\n");
        return 2;
    }
    root = cmsite_root(root);
    if ((ret = cmsite_open(root, &ini, &d)) != 0)
        return ret;
    if (generate > 0) {
        long long made = 0;
        if ((ret = generate_updates(d, ini.site_code, generate, &made)) < 0) {
            fprintf(stderr, "cmsite simulate-clients: cannot insert the updates: %s\n",
                    db_errmsg(d));
            goto done;
        }
        printf("Inserted %lld synthetic updates into CI_ConfigurationItems (standing in for a "
               "software updates sync).\n",
               made);
    }
    if (ids) {
        char *copy = strdup(ids), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
            if (add_update(&s, t, 200) < 0)
                break;
        free(copy);
    }
    if ((ret = read_site(&s, d)) < 0) {
        fprintf(stderr, "cmsite simulate-clients: cannot read the site's updates: %s\n",
                db_errmsg(d));
        goto done;
    }
    if (s.nupdates == 0) {
        fprintf(stderr, "cmsite simulate-clients: the site has no updates to report against.\n"
                        "Run a software updates sync, or add --generate-updates N (synthetic "
                        "updates standing in for a sync), or give --update-ids.\n");
        goto done;
    }
    if (out)
        snprintf(s.out, sizeof s.out, "%s", out);
    else
        snprintf(s.out, sizeof s.out, "%s/inboxes/auth/statesys.box/incoming%s", ini.root,
                 strcmp(prio, "normal") == 0 ? ""
                 : strcmp(prio, "high") == 0 ? "/high"
                                             : "/low");
    struct stat st;
    if (stat(s.out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cmsite simulate-clients: %s is not a folder%s.\n", s.out,
                out ? "" : " (run `cmsite init` for this root)");
        goto done;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    /* The messages of the last hour or so, one a second per client. */
    s.base_ms = ((long long)now.tv_sec - 3600) * 1000;
    for (long long m = 0; m < s.machines; m++) {
        if ((ret = machine(&s, s.first_machine + m)) < 0) {
            fprintf(stderr, "cmsite simulate-clients: cannot write into %s: %s\n", s.out,
                    cm_strerror(ret));
            goto done;
        }
    }
    printf("Wrote %lld files with %lld state messages for %lld clients into %s", s.nfiles, s.nmsgs,
           s.machines, s.out);
    if (s.hostile)
        printf(" (%lld gaps in serial numbers, %lld files sent twice, %lld messages dated "
               "earlier)",
               s.gaps, s.replays, s.backdated);
    printf(".\n");
    rc = 0;
done:
    for (size_t i = 0; i < s.nupdates; i++)
        free(s.updates[i]);
    for (size_t i = 0; i < s.nassignments; i++)
        free(s.assignments[i]);
    free(s.updates);
    free(s.revisions);
    free(s.buf);
    free(s.wbuf);
    db_close(d);
    return rc;
}
