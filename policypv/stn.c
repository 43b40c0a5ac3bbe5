/*
 * stn.c - one batch of {GUID}.STN files in policypv.box, as Policy
 * Provider handles them (seed 004 "Compliance"):
 *   Found {C2D17964-BBDD-4339-B9F3-12D7205B39CC}.STN
 *   Added Scan Tool ID {C2D17964-BBDD-4339-B9F3-12D7205B39CC}
 *   Adding to delete list: <root>/inboxes/policypv.box/{C2D1...}.STN
 * then the policy, then the deletes.  Files are claimed into the box's
 * process folder first, so a new drop of the same name during the work is
 * a new file that the next batch sees, not one this batch deletes.  The
 * content of a file does not matter (smsdbmon writes a line, a user's touch
 * writes nothing): the name says which source changed, and the policy is
 * rebuilt from the database.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "log.h"
#include "stn.h"
#include "wsusloc.h"

#define ID_LEN 39 /* {GUID} and its NUL */

int stn_name_id(const char *name, char *id, size_t idlen)
{
    size_t n = strlen(name);
    if (n != 38 + 4 || strcasecmp(name + 38, ".STN") != 0 || idlen < ID_LEN)
        return 0;
    memcpy(id, name, 38);
    id[38] = '\0';
    return wsusloc_guid_valid(id);
}

/* A name as it may appear in a log line or status message: control bytes become '?'. */
static void printable(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = '\0';
}

static const char *reject_text(inbox_reject why)
{
    switch (why) {
    case INBOX_REJECT_NAME:
        return "the name is not a notification file name";
    case INBOX_REJECT_TYPE:
        return "it is not a regular file";
    case INBOX_REJECT_LINKS:
        return "it has more than one hard link";
    default:
        return "it is larger than the inbox allows";
    }
}

typedef struct reject_ctx {
    stn *s;
    const inbox_dir *box;
    int claimed; /* the rejected file is in the process folder */
} reject_ctx;

static void report(stn *s, int id, char sev, const char *s0, const char *s1, const char *s2,
                   const char *s3)
{
    if (s->report)
        s->report(s->ud, id, sev, s0, s1, s2, s3);
}

/* Move a bad file to corrupt/ once, with one log line and one status message. */
static void quarantine(stn *s, const inbox_dir *box, const char *name, int claimed, int id,
                       const char *why)
{
    char shown[INBOX_NAME_MAX + 1];
    printable(name, shown, sizeof shown);
    int ret = inbox_quarantine(box, name, claimed);
    if (ret < 0) {
        log_msg("ERROR: Cannot move %s to %s: %s. %s.", shown, box->corrupt, cm_strerror(ret), why);
        return;
    }
    log_msg("ERROR: Rejected %s: %s. The file was moved to %s.", shown, why, box->corrupt);
    report(s, id, id == 8303 ? 'W' : 'E', shown, why, box->box->name, box->corrupt);
}

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    reject_ctx *r = ud;
    quarantine(r->s, r->box, name, r->claimed, 8302, reject_text(why));
}

/* A claimed file goes back to the box (over a newer drop of that name: it means the same). */
static void unclaim(const inbox_dir *box, const char *name)
{
    char from[4096 + INBOX_NAME_MAX + 2], to[4096 + INBOX_NAME_MAX + 2];
    snprintf(from, sizeof from, "%s/%s", box->process, name);
    snprintf(to, sizeof to, "%s/%s", box->path, name);
    if (rename(from, to) != 0 && errno != ENOENT)
        log_msg("ERROR: Cannot return %s to %s: %s. It is read again at the next start.", name,
                box->path, strerror(errno));
}

/* The update source's unique ID as CI_UpdateSources spells it, or CM_ENOTFOUND. */
static int source_lookup(db *d, const char *id, char *canon, size_t len)
{
    char up[ID_LEN];
    db_stmt *st;
    int ret;
    for (size_t i = 0; i < sizeof up; i++)
        up[i] = (char)toupper((unsigned char)id[i]);
    if ((ret = db_prepare(d, &st,
                          "SELECT UpdateSource_UniqueID FROM CI_UpdateSources "
                          "WHERE UPPER(UpdateSource_UniqueID) = ?")) < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, up)) == 0 && (ret = db_step(st)) == 1)
        snprintf(canon, len, "%s", db_col_text(st, 0));
    db_finalize(st);
    return ret == 1 ? 0 : ret == 0 ? CM_ENOTFOUND : ret;
}

static const char *err_text(db *d, int ret)
{
    return ret == CM_EDB || ret == CM_EDBCONN ? db_errmsg(d) : cm_strerror(ret);
}

/*
 * Files a batch works on: first the leftovers of the process folder (a
 * file that could not go back after a failure, or whose name was in the box
 * again at start-up recovery), then new files claimed from the box.
 */
typedef struct batch {
    inbox_entry *e;
    size_t n;
    int *claim_failed;
} batch;

static int collect(stn *s, const inbox_dir *box, batch *b, int *skipped)
{
    inbox_dir pdir = *box;
    reject_ctx rc = {s, box, 1};
    size_t nleft = 0, nnew = 0;
    int ret;

    /* The process folder seen as a box of its own, to list it with the same checks. */
    snprintf(pdir.path, sizeof pdir.path, "%s", box->process);
    if ((ret = inbox_scan(&pdir, b->e, STN_BATCH, &nleft, on_reject, &rc)) < 0)
        return ret;
    rc.claimed = 0;
    if ((ret = inbox_scan(box, b->e + nleft, STN_BATCH - nleft, &nnew, on_reject, &rc)) < 0)
        return ret;
    for (size_t i = nleft; i < nleft + nnew; i++) {
        ret = inbox_claim(box, b->e[i].name);
        if (ret == -EEXIST) {
            /* Its twin from process/ is in this batch; this one waits for the next. */
            *skipped = 1;
            b->claim_failed[i] = 1;
        } else if (ret < 0) {
            if (ret != -ENOENT)
                log_msg("ERROR: Cannot claim %s in %s: %s. It is tried again later.", b->e[i].name,
                        box->path, cm_strerror(ret));
            b->claim_failed[i] = 1;
        }
    }
    b->n = nleft + nnew;
    return nleft + nnew == STN_BATCH;
}

int stn_batch(stn *s, const inbox_dir *box)
{
    batch b = {calloc(STN_BATCH, sizeof *b.e), 0, calloc(STN_BATCH, sizeof(int))};
    char(*ids)[ID_LEN] = calloc(STN_BATCH, sizeof *ids);
    size_t *kept = calloc(STN_BATCH, sizeof *kept);
    size_t nkept = 0, nids = 0;
    int ret, full, skipped = 0;

    if (!b.e || !b.claim_failed || !ids || !kept) {
        ret = -ENOMEM;
        goto out;
    }
    if ((ret = full = collect(s, box, &b, &skipped)) < 0 || b.n == 0)
        goto out;
    log_msg("File notification triggered.");
    for (size_t i = 0; i < b.n; i++) {
        const char *name = b.e[i].name;
        char id[ID_LEN], canon[80];
        if (b.claim_failed[i])
            continue;
        log_msg("Found %s", name);
        if (!stn_name_id(name, id, sizeof id)) {
            quarantine(s, box, name, 1, 8302,
                       "the name is not an update source unique ID ({GUID}.STN)");
            continue;
        }
        ret = source_lookup(s->d, id, canon, sizeof canon);
        if (ret == CM_ENOTFOUND) {
            quarantine(s, box, name, 1, 8303, "no update source in CI_UpdateSources has this ID");
            continue;
        }
        if (ret < 0) {
            unclaim(box, name);
            goto fail;
        }
        size_t k = 0;
        while (k < nids && strcasecmp(ids[k], canon) != 0)
            k++;
        if (k == nids) {
            snprintf(ids[nids++], ID_LEN, "%s", canon);
            log_msg("Added Scan Tool ID %s", canon);
        }
        log_msg("Adding to delete list: %s/%s", box->path, name);
        kept[nkept++] = i;
    }
    ret = 0;
    if (nkept == 0)
        goto done;

    if ((ret = policy_update(s->d, s->site, &s->last)) < 0)
        goto fail;
    policy_result *r = &s->last;
    char version[32];
    snprintf(version, sizeof version, "%lld.00", r->version);
    if (r->changed) {
        log_msg("Updated the UpdateSource policy %s of site %s to version %s (%s): %s.",
                r->policy_id, s->site, version, r->reason, r->sources[0] ? r->sources : "none");
        report(s, 8300, 'I', r->policy_id, version, s->site, r->sources);
    } else if (r->version > 0) {
        log_msg("The UpdateSource policy %s of site %s is current at version %s (%s).",
                r->policy_id, s->site, version, r->sources);
    } else {
        log_msg("Site %s has no synchronized update source yet: no UpdateSource policy to write.",
                s->site);
    }
    /* Committed: now the files may go. */
    for (size_t k = 0; k < nkept; k++) {
        int rr = inbox_remove(box, b.e[kept[k]].name, 1);
        if (rr < 0)
            log_msg("ERROR: Cannot delete %s/%s: %s", box->process, b.e[kept[k]].name,
                    cm_strerror(rr));
    }
done:
    ret = full || skipped ? 1 : 0;
    goto out;

fail:
    for (size_t k = 0; k < nkept; k++)
        unclaim(box, b.e[kept[k]].name);
    log_msg("ERROR: Failed to update the UpdateSource policy of site %s: %s. Nothing was "
            "written; the notification files stay in %s and are processed again.",
            s->site, err_text(s->d, ret), box->path);
    report(s, 8301, 'E', s->site, err_text(s->d, ret), NULL, NULL);
out:
    free(b.e);
    free(b.claim_failed);
    free(ids);
    free(kept);
    return ret;
}
