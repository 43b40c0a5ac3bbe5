/*
 * inbox.c - the inbox catalogue, atomic drops into boxes, and the reader's
 * side of a box: scanning, claiming, quarantining, reading, and start-up
 * recovery.
 *
 * After Postfix queue directories and maildir, and OpenSMTPD's queue
 * writer: a file is written under tmp/, fsynced, renamed into the box and
 * the directory fsynced, so a reader never sees a partial file and a crash
 * loses nothing that was reported as dropped.  Nothing here logs: every
 * function returns 0 or a negative code and the caller, who knows the
 * context, logs once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* FNM_CASEFOLD, renameat2() and RENAME_NOREPLACE */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "cm_error.h"
#include "embedded.h"
#include "inbox.h"

/* ------------------------------------------------------------------------ */
/* Catalogue                                                                */
/* ------------------------------------------------------------------------ */

/* A box that does not say how large its files may be. */
#define CAT_DEFAULT_MAX_SIZE 65536L
/*
 * libinih is built with INI_MAX_LINE 200 and no realloc: it cuts a longer
 * line into pieces and parses the tail as a line of its own, which could
 * silently set a key.  Text with such a line is rejected before inih sees it.
 */
#define CAT_LINE_MAX 198
/*
 * inih copies a section name into a 50-byte buffer and cuts it silently; a
 * name long enough to fill the buffer may have been cut, so it is refused.
 */
#define CAT_SECTION_MAX 48
#define CAT_NO_BOX SIZE_MAX

struct inbox_catalogue {
    inbox_box *boxes;
    size_t n;
    size_t cap;
};

struct cat_parse {
    inbox_catalogue *c;
    size_t cur; /* index of the box of the current section, or CAT_NO_BOX */
    int err;    /* first error; inih keeps calling after a handler fails */
};

static int ascii_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/*
 * A relative path under <root>/inboxes made of plain components: it is
 * joined to the inboxes folder, so it must not be able to climb out of it.
 */
static int box_path_valid(const char *p)
{
    size_t len = strlen(p);
    const char *s = p;

    if (len == 0 || len >= sizeof(((inbox_box *)0)->name) || p[0] == '/')
        return 0;
    for (;;) {
        const char *slash = strchr(s, '/');
        size_t clen = slash ? (size_t)(slash - s) : strlen(s);

        if (clen == 0)
            return 0;
        if ((clen == 1 && s[0] == '.') || (clen == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        for (size_t i = 0; i < clen; i++)
            if (!ascii_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                return 0;
        if (!slash)
            return 1;
        s = slash + 1;
    }
}

static int copy_str(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size)
        return CM_EPARSE;
    memcpy(dst, src, len + 1);
    return 0;
}

/* Append comma-separated patterns (a continuation line adds more). */
static int cat_add_patterns(inbox_box *b, const char *value)
{
    const char *s = value;

    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);

        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        /* An empty item ("*.A,,*.B") is a typo, not a pattern that matches nothing. */
        if (end == s || memchr(s, '/', (size_t)(end - s)) != NULL)
            return CM_EPARSE;
        if (b->npatterns >= INBOX_MAX_PATTERNS || (size_t)(end - s) >= sizeof(b->patterns[0]))
            return CM_EPARSE;
        memcpy(b->patterns[b->npatterns], s, (size_t)(end - s));
        b->patterns[b->npatterns][end - s] = '\0';
        b->npatterns++;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

static int cat_parse_size(const char *value, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v <= 0)
        return CM_EPARSE;
    *out = v;
    return 0;
}

static int cat_parse_bool(const char *value, int *out)
{
    if (strcmp(value, "1") == 0 || strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0)
        *out = 1;
    else if (strcmp(value, "0") == 0 || strcasecmp(value, "no") == 0 ||
             strcasecmp(value, "false") == 0)
        *out = 0;
    else
        return CM_EPARSE;
    return 0;
}

static int cat_set_key(inbox_box *b, const char *key, const char *value)
{
    if (strcmp(key, "owner") == 0)
        return copy_str(b->owner, sizeof(b->owner), value);
    if (strcmp(key, "patterns") == 0)
        return cat_add_patterns(b, value);
    if (strcmp(key, "max_size") == 0)
        return cat_parse_size(value, &b->max_size);
    if (strcmp(key, "process") == 0)
        return cat_parse_bool(value, &b->claims);
    if (strcmp(key, "process_dir") == 0)
        return copy_str(b->process_dir, sizeof(b->process_dir), value);
    if (strcmp(key, "corrupt_dir") == 0)
        return copy_str(b->corrupt_dir, sizeof(b->corrupt_dir), value);
    if (strcmp(key, "description") == 0) {
        /* A continuation line of a long description joins the first. */
        size_t used = strlen(b->description);

        if (used == 0)
            return copy_str(b->description, sizeof(b->description), value);
        if (used + 1 >= sizeof(b->description))
            return CM_EPARSE;
        b->description[used] = ' ';
        return copy_str(b->description + used + 1, sizeof(b->description) - used - 1, value);
    }
    return CM_EPARSE;
}

/* Make the section's box current, adding it when the section is new. */
static int cat_select_box(struct cat_parse *p, const char *section)
{
    inbox_catalogue *c = p->c;

    if (p->cur != CAT_NO_BOX && strcmp(c->boxes[p->cur].name, section) == 0)
        return 0;
    if (strlen(section) >= CAT_SECTION_MAX || !box_path_valid(section))
        return CM_EPARSE;
    /*
     * A section seen again later is a second box of the same name (boxes
     * differing in case only would be one folder on the Windows server).
     */
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->boxes[i].name, section) == 0)
            return CM_EPARSE;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        inbox_box *nb = realloc(c->boxes, ncap * sizeof(*nb));

        if (!nb)
            return -ENOMEM;
        c->boxes = nb;
        c->cap = ncap;
    }
    memset(&c->boxes[c->n], 0, sizeof(c->boxes[0]));
    memcpy(c->boxes[c->n].name, section, strlen(section) + 1);
    p->cur = c->n++;
    return 0;
}

static int cat_handler(void *user, const char *section, const char *key, const char *value)
{
    struct cat_parse *p = user;
    int rc;

    if (p->err)
        return 0;
    rc = cat_select_box(p, section);
    if (rc == 0)
        rc = cat_set_key(&p->c->boxes[p->cur], key, value);
    if (rc < 0) {
        p->err = rc;
        return 0;
    }
    return 1;
}

static int cat_check_lines(const char *text)
{
    const char *s = text;

    for (;;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);

        if (len > CAT_LINE_MAX)
            return CM_EPARSE;
        if (!nl)
            return 0;
        s = nl + 1;
    }
}

/* "<box>/<leaf>"; CAT_SECTION_MAX leaves room, so failing is only a guard. */
static int cat_default_dir(char *dst, size_t size, const char *name, const char *leaf)
{
    int n = snprintf(dst, size, "%s/%s", name, leaf);

    return n < 0 || (size_t)n >= size ? CM_EPARSE : 0;
}

/* Defaults and the checks that need the whole section. */
static int cat_finish(inbox_catalogue *c)
{
    for (size_t i = 0; i < c->n; i++) {
        inbox_box *b = &c->boxes[i];

        if (b->npatterns == 0)
            return CM_EPARSE;
        if (b->max_size == 0)
            b->max_size = CAT_DEFAULT_MAX_SIZE;
        if (b->process_dir[0] == '\0' &&
            cat_default_dir(b->process_dir, sizeof(b->process_dir), b->name, "process") < 0)
            return CM_EPARSE;
        if (b->corrupt_dir[0] == '\0' &&
            cat_default_dir(b->corrupt_dir, sizeof(b->corrupt_dir), b->name, "corrupt") < 0)
            return CM_EPARSE;
        if (!box_path_valid(b->process_dir) || !box_path_valid(b->corrupt_dir))
            return CM_EPARSE;
        /* Moving a file into its own folder would look like success and do nothing. */
        if (strcmp(b->process_dir, b->name) == 0 || strcmp(b->corrupt_dir, b->name) == 0 ||
            strcmp(b->process_dir, b->corrupt_dir) == 0)
            return CM_EPARSE;
    }
    return 0;
}

int inbox_catalogue_parse(const char *text, inbox_catalogue **out)
{
    inbox_catalogue *c = NULL;
    struct cat_parse p;
    int rc, r;

    if (!text || !out)
        return -EINVAL;
    *out = NULL;
    rc = cat_check_lines(text);
    if (rc < 0)
        goto out;
    c = calloc(1, sizeof(*c));
    if (!c) {
        rc = -ENOMEM;
        goto out;
    }
    p.c = c;
    p.cur = CAT_NO_BOX;
    p.err = 0;
    r = ini_parse_string(text, cat_handler, &p);
    if (p.err)
        rc = p.err;
    else if (r == -2)
        rc = -ENOMEM;
    else if (r != 0 || c->n == 0)
        rc = CM_EPARSE;
    else
        rc = cat_finish(c);
    if (rc < 0)
        goto out;
    *out = c;
    c = NULL;
out:
    inbox_catalogue_free(c);
    return rc;
}

int inbox_catalogue_builtin(inbox_catalogue **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    /* Looked up by name so that other files may join the embedded set. */
    for (size_t i = 0; i < inboxes_count; i++)
        if (strcmp(inboxes_files[i].name, "catalogue.ini") == 0)
            return inbox_catalogue_parse(inboxes_files[i].text, out);
    return CM_ENOTFOUND;
}

void inbox_catalogue_free(inbox_catalogue *c)
{
    if (!c)
        return;
    free(c->boxes);
    free(c);
}

size_t inbox_catalogue_count(const inbox_catalogue *c)
{
    return c ? c->n : 0;
}

const inbox_box *inbox_catalogue_at(const inbox_catalogue *c, size_t i)
{
    return c && i < c->n ? &c->boxes[i] : NULL;
}

const inbox_box *inbox_catalogue_find(const inbox_catalogue *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->boxes[i].name, name) == 0)
            return &c->boxes[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Paths and folders                                                        */
/* ------------------------------------------------------------------------ */

static int path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_one(const char *path)
{
    struct stat st;

    if (mkdir(path, 0750) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    int rc;

    if (len == 0 || len >= sizeof(buf))
        return len ? -ENAMETOOLONG : -EINVAL;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        rc = mkdir_one(buf);
        buf[i] = '/';
        if (rc < 0)
            return rc;
    }
    return mkdir_one(buf);
}

/*
 * fsync a directory so that a rename or unlink in it survives a crash.  A
 * file system that cannot sync directories (EINVAL) has nothing to sync.
 */
static int sync_dir_fd(int dfd)
{
    if (fsync(dfd) == 0 || errno == EINVAL || errno == ENOTSUP)
        return 0;
    return -errno;
}

static int sync_dir(const char *path)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (dfd < 0)
        return -errno;
    rc = sync_dir_fd(dfd);
    close(dfd);
    return rc;
}

int inbox_dir_open(inbox_dir *d, const char *inboxes_dir, const inbox_box *b)
{
    int rc;

    if (!d || !inboxes_dir || !b)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    d->box = b;
    rc = path_join(d->path, sizeof(d->path), inboxes_dir, b->name);
    if (rc == 0)
        rc = path_join(d->tmp, sizeof(d->tmp), d->path, "tmp");
    if (rc == 0)
        rc = path_join(d->process, sizeof(d->process), inboxes_dir, b->process_dir);
    if (rc == 0)
        rc = path_join(d->corrupt, sizeof(d->corrupt), inboxes_dir, b->corrupt_dir);
    return rc;
}

int inbox_tree_create(const char *inboxes_dir, const inbox_catalogue *c)
{
    inbox_dir d;
    int rc = 0;

    if (!inboxes_dir || !c)
        return -EINVAL;
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        rc = inbox_dir_open(&d, inboxes_dir, &c->boxes[i]);
        if (rc == 0)
            rc = mkdir_p(d.path);
        if (rc == 0)
            rc = mkdir_p(d.tmp);
        if (rc == 0)
            rc = mkdir_p(d.corrupt);
        if (rc == 0 && c->boxes[i].claims)
            rc = mkdir_p(d.process);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* Printable ASCII but for the characters a Windows file name cannot hold. */
static int name_char_ok(char ch)
{
    if (ch < 0x20 || ch > 0x7e)
        return 0;
    return strchr("/\\:*?\"<>|", ch) == NULL;
}

int inbox_name_valid(const inbox_box *b, const char *name)
{
    size_t len;

    if (!b || !name)
        return 0;
    len = strnlen(name, INBOX_NAME_MAX + 1);
    /* A leading '.' covers "." and "..", and hidden files are other tools' temporaries. */
    if (len == 0 || len > INBOX_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name_char_ok(name[i]))
            return 0;
    /* Case-insensitive, as the Windows site server matches its inbox files. */
    for (int i = 0; i < b->npatterns; i++)
        if (fnmatch(b->patterns[i], name, FNM_CASEFOLD) == 0)
            return 1;
    return 0;
}

/*
 * Weaker than inbox_name_valid: any single path component.  Files that scan
 * rejected for their name must still be quarantined or removed.
 */
static int name_safe(const char *name)
{
    size_t len;

    if (!name)
        return 0;
    len = strnlen(name, INBOX_NAME_MAX + 1);
    if (len == 0 || len > INBOX_NAME_MAX || strchr(name, '/'))
        return 0;
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* <path>/<name>, or <process>/<name> when claimed. */
static int entry_path(const inbox_dir *d, const char *name, int claimed, char *buf, size_t size)
{
    if (!d || !d->box)
        return -EINVAL;
    if (!name_safe(name))
        return CM_ENAME;
    /* A box that never claims has no process folder to look in. */
    if (claimed && !d->box->claims)
        return -EINVAL;
    return path_join(buf, size, claimed ? d->process : d->path, name);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

/* Makes temp names unique among the threads of one process. */
static atomic_ulong drop_counter;

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Unique without coordination, as maildir: time, pid, and a counter for this process. */
static int tmp_name(const inbox_dir *d, char *buf, size_t size)
{
    struct timespec now;
    unsigned long q = atomic_fetch_add(&drop_counter, 1);
    int n;

    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        return -errno;
    n = snprintf(buf, size, "%s/%lld.%09ld.P%ld.Q%lu", d->tmp, (long long)now.tv_sec,
                 (long)now.tv_nsec, (long)getpid(), q);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int inbox_drop(const inbox_dir *d, const char *name, const void *data, size_t len)
{
    char tmp[4096], final[4096];
    int fd = -1, dfd = -1, rc, created = 0, placed = 0;

    if (!d || !d->box || !name || (!data && len))
        return -EINVAL;
    if (!inbox_name_valid(d->box, name))
        return CM_ENAME;
    rc = path_join(final, sizeof(final), d->path, name);
    if (rc < 0)
        goto out;
    /* O_EXCL never reuses a name; a clash (a recycled pid) just takes the next one. */
    for (int attempt = 0;; attempt++) {
        rc = tmp_name(d, tmp, sizeof(tmp));
        if (rc < 0)
            goto out;
        fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
        if (fd >= 0)
            break;
        if (errno != EEXIST || attempt == 8) {
            rc = -errno;
            goto out;
        }
    }
    created = 1;
    rc = write_all(fd, data, len);
    if (rc < 0)
        goto out;
    if (fsync(fd) < 0) {
        rc = -errno;
        goto out;
    }
    /* close() reports late write-back errors (NFS); the fd is gone either way. */
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        rc = -errno;
        goto out;
    }
    /* Opened before the rename so nothing but the fsync can fail after it. */
    dfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = -errno;
        goto out;
    }
    if (rename(tmp, final) < 0) {
        rc = -errno;
        goto out;
    }
    created = 0;
    placed = 1;
    rc = sync_dir_fd(dfd);
    if (rc < 0)
        goto out;
    placed = 0;
out:
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(tmp);
    /*
     * The rename may not survive a crash: take the name back, so that the
     * caller, told of the failure, retries and its retry is the one copy.
     * Replaying a file is harmless, should a reader have taken it already.
     */
    if (placed)
        unlink(final);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Scanning                                                                 */
/* ------------------------------------------------------------------------ */

/* 1 when a comes before b: older mtime, then name. */
static int entry_before(const inbox_entry *a, const inbox_entry *b)
{
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec)
        return a->mtime.tv_nsec < b->mtime.tv_nsec;
    return strcmp(a->name, b->name) < 0;
}

static void entry_swap(inbox_entry *a, inbox_entry *b)
{
    inbox_entry t = *a;

    *a = *b;
    *b = t;
}

/* Max-heap on entry_before: the newest kept entry sits at h[0]. */
static void heap_down(inbox_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;

        if (l < n && entry_before(&h[top], &h[l]))
            top = l;
        if (r < n && entry_before(&h[top], &h[r]))
            top = r;
        if (top == i)
            return;
        entry_swap(&h[i], &h[top]);
        i = top;
    }
}

static void heap_up(inbox_entry *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!entry_before(&h[parent], &h[i]))
            return;
        entry_swap(&h[parent], &h[i]);
        i = parent;
    }
}

/*
 * Keep the max oldest entries in out[] as a heap: O(n log max) time and no
 * memory beyond the caller's array, whatever the backlog (a million files).
 */
static void heap_offer(inbox_entry *h, size_t max, size_t *cnt, const inbox_entry *e)
{
    if (*cnt < max) {
        h[*cnt] = *e;
        heap_up(h, (*cnt)++);
    } else if (max > 0 && entry_before(e, &h[0])) {
        h[0] = *e;
        heap_down(h, max, 0);
    }
}

static void heap_sort(inbox_entry *h, size_t n)
{
    for (size_t k = n; k > 1; k--) {
        entry_swap(&h[0], &h[k - 1]);
        heap_down(h, k - 1, 0);
    }
}

static inbox_reject scan_check(const inbox_box *b, const char *name, const struct stat *st)
{
    if (!inbox_name_valid(b, name))
        return INBOX_REJECT_NAME;
    if (!S_ISREG(st->st_mode))
        return INBOX_REJECT_TYPE;
    /* A second link could be a name for a file outside the box. */
    if (st->st_nlink > 1)
        return INBOX_REJECT_LINKS;
    if (st->st_size > (off_t)b->max_size)
        return INBOX_REJECT_SIZE;
    return 0;
}

int inbox_scan(const inbox_dir *d, inbox_entry *out, size_t max, size_t *n,
               inbox_reject_fn on_reject, void *ud)
{
    DIR *dir = NULL;
    size_t cnt = 0;
    int rc = 0;

    if (!d || !d->box || !n || (max && !out))
        return -EINVAL;
    *n = 0;
    dir = opendir(d->path);
    if (!dir)
        return -errno;
    for (;;) {
        struct dirent *de;
        struct stat st;
        inbox_entry e;
        inbox_reject why;

        errno = 0;
        de = readdir(dir);
        if (!de) {
            rc = errno ? -errno : 0;
            break;
        }
        /* ".", "..", and other tools' hidden temporaries. */
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) /* taken by another reader since readdir */
                continue;
            rc = -errno;
            break;
        }
        /* tmp/, process/, corrupt/ and sub-boxes live here too. */
        if (S_ISDIR(st.st_mode))
            continue;
        why = scan_check(d->box, de->d_name, &st);
        if (why) {
            /* The callback may move the file: readdir tolerates that. */
            if (on_reject)
                on_reject(ud, de->d_name, why);
            continue;
        }
        memcpy(e.name, de->d_name, strlen(de->d_name) + 1);
        e.size = st.st_size;
        e.mtime = st.st_mtim;
        heap_offer(out, max, &cnt, &e);
    }
    closedir(dir);
    if (rc == 0) {
        heap_sort(out, cnt);
        *n = cnt;
    }
    return rc;
}

int inbox_is_settling(const inbox_entry *e, long settle_ms)
{
    struct timespec now;
    long long limit_s, age_ms;

    if (!e || settle_ms <= 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
        return 0;
    /* Compare whole seconds first so no subtraction can overflow on a wild mtime. */
    limit_s = settle_ms / 1000 + 1;
    if (e->mtime.tv_sec < now.tv_sec - limit_s || e->mtime.tv_sec > now.tv_sec + limit_s)
        return 0;
    age_ms = ((long long)now.tv_sec - e->mtime.tv_sec) * 1000 +
             ((long long)now.tv_nsec - e->mtime.tv_nsec) / 1000000;
    /*
     * An mtime a little ahead of the clock (another host's clock, touch -d)
     * counts as fresh, but only as near as settle_ms: a file stamped far in
     * the future must not wait forever.
     */
    if (age_ms < 0)
        age_ms = -age_ms;
    return age_ms < settle_ms;
}

/* ------------------------------------------------------------------------ */
/* Claiming, quarantine, removal, reading                                   */
/* ------------------------------------------------------------------------ */

/*
 * rename() that fails with -EEXIST rather than replace a file: boxes that
 * share a process or corrupt folder must never overwrite each other's files.
 */
static int rename_noreplace(const char *from, const char *to)
{
    int rc;

    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    /* A file system without RENAME_NOREPLACE: link() refuses an existing target too. */
    if (link(from, to) < 0)
        return -errno;
    if (unlink(from) < 0) {
        rc = -errno;
        unlink(to);
        return rc;
    }
    return 0;
}

int inbox_claim(const inbox_dir *d, const char *name)
{
    char from[4096], to[4096];
    int rc;

    rc = entry_path(d, name, 0, from, sizeof(from));
    if (rc == 0)
        rc = entry_path(d, name, 1, to, sizeof(to));
    if (rc == 0)
        rc = rename_noreplace(from, to);
    return rc;
}

/* QUARANTINE_MAX_SUFFIX copies of one name are a loop, not bad luck. */
#define QUARANTINE_MAX_SUFFIX 9999

/* name, or name.<k> cut so that it stays a legal file name. */
static void quarantine_name(char *buf, const char *name, unsigned k)
{
    char suffix[16] = "";
    size_t slen, blen = strlen(name);

    if (k > 0)
        snprintf(suffix, sizeof(suffix), ".%u", k);
    slen = strlen(suffix);
    if (blen > INBOX_NAME_MAX - slen)
        blen = INBOX_NAME_MAX - slen;
    memcpy(buf, name, blen);
    memcpy(buf + blen, suffix, slen + 1);
}

int inbox_quarantine(const inbox_dir *d, const char *name, int claimed)
{
    char from[4096], to[4096], cand[INBOX_NAME_MAX + 1];
    int rc;

    rc = entry_path(d, name, claimed, from, sizeof(from));
    if (rc < 0)
        return rc;
    /*
     * Never overwrite: the first bad file of a name is as much evidence as
     * the last.  No directory fsync: a quarantine lost in a crash is only
     * done again at the next scan.
     */
    for (unsigned k = 0; k <= QUARANTINE_MAX_SUFFIX; k++) {
        quarantine_name(cand, name, k);
        rc = path_join(to, sizeof(to), d->corrupt, cand);
        if (rc == 0)
            rc = rename_noreplace(from, to);
        if (rc != -EEXIST)
            break;
    }
    return rc;
}

int inbox_remove(const inbox_dir *d, const char *name, int claimed)
{
    char path[4096];
    int rc;

    rc = entry_path(d, name, claimed, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int inbox_read(const inbox_dir *d, const char *name, int claimed, size_t max, char **data,
               size_t *len)
{
    char path[4096];
    struct stat st;
    char *buf = NULL;
    size_t cap, total = 0;
    int fd = -1, rc;

    if (!data || !len)
        return -EINVAL;
    *data = NULL;
    *len = 0;
    /* Room for the NUL and one byte of growth must stay countable. */
    if (max > SIZE_MAX - 2)
        max = SIZE_MAX - 2;
    rc = entry_path(d, name, claimed, path, sizeof(path));
    if (rc < 0)
        goto out;
    /* O_NONBLOCK: opening a fifo someone put in the box must not hang the reader. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if (st.st_nlink > 1) {
        rc = -EMLINK;
        goto out;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        rc = CM_ETOOBIG;
        goto out;
    }
    /* +2: the NUL, and a byte to notice a file still growing past fstat's size. */
    cap = (size_t)st.st_size + 2;
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n;

        if (total + 1 == cap) {
            size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
            char *nb;

            if (total > max) {
                rc = CM_ETOOBIG;
                goto out;
            }
            nb = realloc(buf, ncap);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + total, cap - 1 - total);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        total += (size_t)n;
    }
    if (total > max) {
        rc = CM_ETOOBIG;
        goto out;
    }
    buf[total] = '\0';
    *data = buf;
    *len = total;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Start-up recovery                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Call fn for every entry of a folder that is not a directory (lstat: a
 * symlink counts as a file and is never followed).  Entries that vanish
 * meanwhile are skipped; fn returns 0 to go on or a negative code to stop.
 */
static int for_each_file(const char *path, int (*fn)(int dfd, const char *name, void *ud), void *ud)
{
    DIR *dir = opendir(path);
    int rc = 0;

    if (!dir)
        return -errno;
    for (;;) {
        struct dirent *de;
        struct stat st;

        errno = 0;
        de = readdir(dir);
        if (!de) {
            rc = errno ? -errno : 0;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            rc = -errno;
            break;
        }
        if (S_ISDIR(st.st_mode))
            continue;
        if ((rc = fn(dirfd(dir), de->d_name, ud)) < 0)
            break;
    }
    closedir(dir);
    return rc;
}

/* A writer that died left its temp files; none of them was ever visible. */
static int remove_tmp_file(int dfd, const char *name, void *ud)
{
    (void)ud;
    if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

struct recover_state {
    const inbox_dir *d;
    size_t moved;
};

/*
 * Files claimed before a crash go back to be read again (replaying is
 * harmless).  A name that is in the box again meanwhile stays in process/
 * rather than overwrite the newer file; it is tried again next start.
 */
static int return_claimed_file(int dfd, const char *name, void *ud)
{
    struct recover_state *r = ud;
    char from[4096], to[4096];
    int rc;
    (void)dfd;

    rc = path_join(from, sizeof(from), r->d->process, name);
    if (rc == 0)
        rc = path_join(to, sizeof(to), r->d->path, name);
    if (rc == 0)
        rc = rename_noreplace(from, to);
    if (rc == -EEXIST || rc == -ENOENT)
        return 0;
    if (rc == 0)
        r->moved++;
    return rc;
}

/*
 * Boxes may share one process folder (statesys's incoming, incoming/high
 * and incoming/low all claim into auth/statesys.box/process), and a claimed
 * file does not remember its box.  Every file of the process folder goes
 * back to the box recovered, so for a shared folder the caller recovers
 * through the first box (incoming) and the others find it empty.
 */
int inbox_recover(const inbox_dir *d, size_t *recovered)
{
    struct recover_state r = {d, 0};
    int rc;

    if (recovered)
        *recovered = 0;
    if (!d || !d->box)
        return -EINVAL;
    rc = for_each_file(d->tmp, remove_tmp_file, NULL);
    if (rc == 0 && d->box->claims) {
        rc = for_each_file(d->process, return_claimed_file, &r);
        /* The renames back into the box are made durable before reading resumes. */
        if (rc == 0 && r.moved > 0)
            rc = sync_dir(d->path);
    }
    if (recovered)
        *recovered = r.moved;
    return rc;
}
