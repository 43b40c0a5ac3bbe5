/*
 * notify.c - SMS Database Notification Monitor's poll: rows of
 * TableChangeNotifications (written by the triggers of sql/<dialect>/
 * 30_triggers.sql) become files in the inboxes registered in
 * DBMonNotifications, as in ConfigMgr:
 *   RCV: UPDATE on Update_SyncStatus for SyncNotif_WSyncMgr [SELF ][47788]
 *   SND: Dropped <root>/inboxes/wsyncmgr.box/SELF.SYN [47788]
 * Repeats of one notification and key in a batch make one file.  A row is
 * deleted only after its file is in place, so a crash re-drops a file
 * (harmless) and never loses one.  A key that would not make a safe file
 * name is reported and removed, never turned into a path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "log.h"
#include "notify.h"

#define KEY_LOG_MAX 200

typedef struct note_row {
    long long id;
    char *name, *table, *action, *key, *box, *ext;
    int registered, zero_byte, enabled;
    int group; /* index of the first row with the same notification and key */
    int done;  /* handled: delete the row */
} note_row;

static void rows_free(note_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].name);
        free(rows[i].table);
        free(rows[i].action);
        free(rows[i].key);
        free(rows[i].box);
        free(rows[i].ext);
    }
    free(rows);
}

/* The key as it may appear in a log line: shortened, so a hostile 10 KB value stays readable. */
static void key_for_log(const char *key, char *buf, size_t len)
{
    if (strlen(key) < KEY_LOG_MAX || len <= KEY_LOG_MAX + 4)
        snprintf(buf, len, "%s", key);
    else
        snprintf(buf, len, "%.*s...", KEY_LOG_MAX, key);
}

int dbmon_file_name(const inbox_box *box, const char *key, const char *ext, char *buf, size_t len)
{
    size_t klen = strlen(key), elen = strlen(ext);
    if (klen == 0 || elen == 0 || klen + elen + 2 > len || klen + elen + 1 > INBOX_NAME_MAX)
        return CM_ENAME;
    snprintf(buf, len, "%s.%s", key, ext);
    return inbox_name_valid(box, buf) ? 0 : CM_ENAME;
}

static int load_rows(dbmon *m, note_row **out, size_t *count)
{
    db_stmt *st;
    size_t n = 0, cap = 64;
    note_row *rows = calloc(cap, sizeof *rows);
    int ret;

    *out = NULL;
    *count = 0;
    if (!rows)
        return -ENOMEM;
    ret = db_prepare(m->d, &st,
                     "SELECT t.ID, t.NotificationName, t.TableName, t.Action, t.KeyValue, "
                     "n.Box, n.Extension, n.ZeroByte, n.Enabled, n.NotificationName "
                     "FROM TableChangeNotifications t LEFT JOIN DBMonNotifications n "
                     "ON n.NotificationName = t.NotificationName ORDER BY t.ID LIMIT ?");
    if (ret < 0) {
        free(rows);
        return ret;
    }
    if ((ret = db_bind_int(st, 1, m->batch_size > 0 ? m->batch_size : 500)) < 0)
        goto fail;
    while ((ret = db_step(st)) == 1) {
        if (n == cap) {
            note_row *nr = realloc(rows, 2 * cap * sizeof *rows);
            if (!nr) {
                ret = -ENOMEM;
                goto fail;
            }
            memset(nr + cap, 0, cap * sizeof *rows);
            rows = nr;
            cap *= 2;
        }
        note_row *r = &rows[n++];
        r->id = db_col_int(st, 0);
        r->name = strdup(db_col_text(st, 1));
        r->table = strdup(db_col_text(st, 2));
        r->action = strdup(db_col_text(st, 3));
        r->key = strdup(db_col_text(st, 4));
        r->box = strdup(db_col_text(st, 5));
        r->ext = strdup(db_col_text(st, 6));
        r->zero_byte = (int)db_col_int(st, 7);
        r->enabled = (int)db_col_int(st, 8);
        r->registered = !db_col_is_null(st, 9);
        if (!r->name || !r->table || !r->action || !r->key || !r->box || !r->ext) {
            ret = -ENOMEM;
            goto fail;
        }
    }
    if (ret < 0)
        goto fail;
    db_finalize(st);
    *out = rows;
    *count = n;
    return 0;
fail:
    db_finalize(st);
    rows_free(rows, n);
    return ret;
}

static int delete_rows(dbmon *m, note_row *rows, size_t n)
{
    db_stmt *st = NULL;
    int ret, any = 0;
    for (size_t i = 0; i < n; i++)
        any |= rows[i].done;
    if (!any)
        return 0;
    if ((ret = db_begin(m->d)) < 0)
        return ret;
    if ((ret = db_prepare(m->d, &st, "DELETE FROM TableChangeNotifications WHERE ID = ?")) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].done)
            continue;
        db_reset(st);
        if ((ret = db_bind_int(st, 1, rows[i].id)) < 0 || (ret = db_step(st)) < 0)
            goto fail;
    }
    db_finalize(st);
    return db_commit(m->d);
fail:
    db_finalize(st);
    db_rollback(m->d);
    return ret;
}

static void report(dbmon *m, int id, char sev, const char *s0, const char *s1, const char *s2,
                   const char *s3)
{
    if (m->report)
        m->report(m->ud, id, sev, s0, s1, s2, s3);
}

/*
 * Drop the file of one group (rows sharing notification and key; the last
 * row's ID is the one logged, as ConfigMgr does).  Returns 0 when the rows
 * may be deleted, a negative code when the drop failed and they must stay.
 */
static int handle_group(dbmon *m, note_row *rows, size_t n, size_t first)
{
    note_row *r = &rows[first];
    long long last_id = r->id;
    char keylog[KEY_LOG_MAX + 8], fname[INBOX_NAME_MAX + 1], path[8192];
    inbox_dir dir;
    int ret;

    for (size_t i = first; i < n; i++)
        if (rows[i].group == (int)first)
            last_id = rows[i].id;
    key_for_log(r->key, keylog, sizeof keylog);

    if (!r->registered) {
        log_msg("Notification %s is not registered in DBMonNotifications; ignored [%lld]", r->name,
                last_id);
        return 0;
    }
    if (!r->enabled) {
        log_verbose("Notification %s is disabled; no file dropped [%lld]", r->name, last_id);
        return 0;
    }
    const inbox_box *box = inbox_catalogue_find(m->cat, r->box);
    if (!box || dbmon_file_name(box, r->key, r->ext, fname, sizeof fname) < 0) {
        log_msg("ERROR: Rejected %s on %s for %s [%s ][%lld]: the key does not make a valid "
                "file name for inbox %s. No file dropped; the notification is removed.",
                r->action, r->table, r->name, keylog, last_id, r->box);
        report(m, 8100, 'E', r->name, r->table, keylog, r->box);
        return 0;
    }
    if ((ret = inbox_dir_open(&dir, m->inboxes_dir, box)) < 0)
        return ret;
    char body[2048];
    int blen = 0;
    if (!r->zero_byte)
        blen = snprintf(body, sizeof body, "%s %s %s %s %lld\n", r->name, r->action, r->table,
                        r->key, last_id);
    ret = inbox_drop(&dir, fname, body, blen > 0 ? (size_t)blen : 0);
    if (ret == -ENOENT && inbox_tree_create(m->inboxes_dir, m->cat) == 0) {
        /* Someone removed the box: make it again rather than hold every notification back. */
        log_msg("Inbox %s was missing and has been created again.", dir.path);
        ret = inbox_drop(&dir, fname, body, blen > 0 ? (size_t)blen : 0);
    }
    snprintf(path, sizeof path, "%s/%s", dir.path, fname);
    if (ret < 0) {
        if (!m->failing) {
            log_msg("ERROR: Failed to drop %s: %s. The notification is kept and will be "
                    "retried [%lld]",
                    path, cm_strerror(ret), last_id);
            report(m, 8103, 'E', fname, box->name, cm_strerror(ret), NULL);
        }
        m->failing = 1;
        return ret;
    }
    if (m->failing)
        log_msg("Dropping files works again.");
    m->failing = 0;
    log_msg("SND: Dropped %s%s [%lld]", path, r->zero_byte ? "" : " (non-zero)", last_id);
    return 0;
}

int dbmon_poll(dbmon *m)
{
    note_row *rows;
    size_t n;
    int ret = load_rows(m, &rows, &n);
    if (ret < 0)
        return ret;

    /* Log every row as received and group repeats of one notification and key. */
    for (size_t i = 0; i < n; i++) {
        char keylog[KEY_LOG_MAX + 8];
        key_for_log(rows[i].key, keylog, sizeof keylog);
        log_msg("RCV: %s on %s for %s [%s ][%lld]", rows[i].action, rows[i].table, rows[i].name,
                keylog, rows[i].id);
        rows[i].group = (int)i;
        for (size_t j = 0; j < i; j++) {
            if (rows[j].group == (int)j && strcmp(rows[j].name, rows[i].name) == 0 &&
                strcmp(rows[j].key, rows[i].key) == 0) {
                rows[i].group = (int)j;
                break;
            }
        }
    }
    /* Drop in order; stop at the first failed drop so later files never overtake it. */
    for (size_t i = 0; i < n; i++) {
        if (rows[i].group != (int)i)
            continue;
        if (handle_group(m, rows, n, i) < 0)
            break;
        for (size_t j = i; j < n; j++)
            if (rows[j].group == (int)i)
                rows[j].done = 1;
    }
    ret = delete_rows(m, rows, n);
    rows_free(rows, n);
    return ret < 0 ? ret : (int)n;
}
