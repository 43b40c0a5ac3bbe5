/*
 * cursor.c - a box read in directory order across calls (see cursor.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "cursor.h"

void cursor_init(box_cursor *c, const inbox_dir *box)
{
    c->box = box;
    c->dir = NULL;
}

void cursor_close(box_cursor *c)
{
    if (c->dir)
        closedir(c->dir);
    c->dir = NULL;
}

static inbox_reject check(const inbox_box *b, const char *name, const struct stat *st)
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

int cursor_next(box_cursor *c, inbox_entry *out, size_t max, size_t *n, int *at_end,
                inbox_reject_fn on_reject, void *ud)
{
    *n = 0;
    *at_end = 0;
    if (!c->dir) {
        c->dir = opendir(c->box->path);
        if (!c->dir)
            return -errno;
    }
    while (*n < max) {
        struct dirent *de;
        struct stat st;
        inbox_reject why;

        errno = 0;
        de = readdir(c->dir);
        if (!de) {
            int err = errno;
            cursor_close(c);
            *at_end = 1;
            return err ? -err : 0;
        }
        /* ".", "..", and other tools' hidden temporaries. */
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(c->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) /* taken meanwhile */
                continue;
            return -errno;
        }
        /* tmp/ and the sub-boxes live here too. */
        if (S_ISDIR(st.st_mode))
            continue;
        why = check(c->box->box, de->d_name, &st);
        if (why) {
            if (on_reject)
                on_reject(ud, de->d_name, why);
            continue;
        }
        inbox_entry *e = &out[(*n)++];
        memcpy(e->name, de->d_name, strlen(de->d_name) + 1);
        e->size = st.st_size;
        e->mtime = st.st_mtim;
    }
    return 0;
}
