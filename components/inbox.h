/*
 * inbox.h - inbox boxes: the catalogue, atomic drops, and safe reading.
 *
 * The catalogue (inboxes/catalogue.ini in the source tree, compiled into
 * every binary) is the single source of box names, owners, name patterns
 * and size caps.  Writers drop files atomically (tmp/ name, O_EXCL, fsync,
 * rename, fsync of the directory), so a reader never sees a partial file.
 * Readers accept only regular files with one link whose names match the
 * box's patterns, claim them, delete them only after what they caused is
 * committed, and quarantine a bad file to corrupt/ once.
 */
#ifndef CM_INBOX_H
#define CM_INBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define INBOX_NAME_MAX 255
#define INBOX_MAX_PATTERNS 8

typedef struct inbox_box {
    char name[128]; /* path under <root>/inboxes, '/' separated: "auth/statesys.box/incoming" */
    char owner[64]; /* daemon that reads it ("wsyncmgr"), or a description */
    char patterns[INBOX_MAX_PATTERNS][64]; /* fnmatch patterns, matched case-insensitively */
    int npatterns;
    long max_size;         /* bytes; a larger file is rejected */
    int claims;            /* 1: the reader claims files into the process folder first */
    char process_dir[128]; /* under <root>/inboxes; default "<name>/process" */
    char corrupt_dir[128]; /* under <root>/inboxes; default "<name>/corrupt" */
    char description[256];
} inbox_box;

typedef struct inbox_catalogue inbox_catalogue;

/*
 * Parse catalogue text (INI: one [section] per box; keys owner, patterns,
 * max_size, process, process_dir, corrupt_dir, description).
 */
int inbox_catalogue_parse(const char *text, inbox_catalogue **out);
/* The catalogue compiled into the binary (inboxes/catalogue.ini). */
int inbox_catalogue_builtin(inbox_catalogue **out);
void inbox_catalogue_free(inbox_catalogue *c);
size_t inbox_catalogue_count(const inbox_catalogue *c);
const inbox_box *inbox_catalogue_at(const inbox_catalogue *c, size_t i);
const inbox_box *inbox_catalogue_find(const inbox_catalogue *c, const char *name);

/*
 * Create <inboxes_dir>/<box> for every box, each with tmp/, its corrupt
 * folder, and its process folder where the box claims files.  Idempotent.
 */
int inbox_tree_create(const char *inboxes_dir, const inbox_catalogue *c);

/* One box on disk: its folder and the folders beside it. */
typedef struct inbox_dir {
    const inbox_box *box;
    char path[4096];    /* <inboxes_dir>/<name> */
    char tmp[4096];     /* <path>/tmp */
    char process[4096]; /* <inboxes_dir>/<process_dir> */
    char corrupt[4096]; /* <inboxes_dir>/<corrupt_dir> */
} inbox_dir;

int inbox_dir_open(inbox_dir *d, const char *inboxes_dir, const inbox_box *b);

/*
 * A file name a box accepts: 1..255 bytes, no '/', not "." or "..", no
 * control characters, no leading '.', and matching one of the patterns.
 * Returns 1 for valid, 0 for not.
 */
int inbox_name_valid(const inbox_box *b, const char *name);

/*
 * Drop a file atomically into a box: write <path>/tmp/<unique>
 * (O_CREAT|O_EXCL, 0640), fsync, rename to <path>/<name>, fsync <path>.
 * The name must be valid for the box (CM_ENAME otherwise).  An existing file
 * of that name is replaced.  On any failure (a full disk among them)
 * nothing becomes visible under <name> and the temp file is removed.
 */
int inbox_drop(const inbox_dir *d, const char *name, const void *data, size_t len);

typedef struct inbox_entry {
    char name[INBOX_NAME_MAX + 1];
    off_t size;
    struct timespec mtime;
} inbox_entry;

/* Why inbox_scan() passed over a file (reported so the caller can log and quarantine). */
typedef enum {
    INBOX_REJECT_NAME = 1, /* name fails inbox_name_valid */
    INBOX_REJECT_TYPE,     /* not a regular file (symlink, fifo, ...) */
    INBOX_REJECT_LINKS,    /* more than one hard link */
    INBOX_REJECT_SIZE      /* over the box's size cap */
} inbox_reject;

typedef void (*inbox_reject_fn)(void *ud, const char *name, inbox_reject why);

/*
 * List up to max acceptable files in the box folder (not its sub-folders),
 * oldest first (by mtime, then name).  Rejected entries are reported to
 * on_reject (may be NULL) and not listed; directories are skipped silently.
 * *n receives the count.  Uses lstat: a symlink is never followed.
 */
int inbox_scan(const inbox_dir *d, inbox_entry *out, size_t max, size_t *n,
               inbox_reject_fn on_reject, void *ud);

/* 1 when the file changed less than settle_ms before now: it may still be growing. */
int inbox_is_settling(const inbox_entry *e, long settle_ms);

/* Move <path>/<name> to <process>/<name> (claim before long work). */
int inbox_claim(const inbox_dir *d, const char *name);
/*
 * Move <path>/<name> (or, when claimed, <process>/<name>) to
 * <corrupt>/<name>; a name already in corrupt/ gets a numeric suffix.
 */
int inbox_quarantine(const inbox_dir *d, const char *name, int claimed);
/* Delete <path>/<name>, or <process>/<name> when claimed; a missing file is not an error. */
int inbox_remove(const inbox_dir *d, const char *name, int claimed);
/* Read a whole file (<= max bytes, else CM_ETOOBIG) into a malloc'd, NUL-terminated buffer. */
int inbox_read(const inbox_dir *d, const char *name, int claimed, size_t max, char **data,
               size_t *len);

/*
 * Start-up recovery: delete everything in tmp/, move the files of the
 * process folder back into the box.  *recovered receives the count moved.
 */
int inbox_recover(const inbox_dir *d, size_t *recovered);

#endif
