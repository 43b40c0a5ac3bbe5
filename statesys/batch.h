/*
 * batch.h - a chunk of SMX files after parsing: for each file its name, its
 * client and its records, the records' strings in one arena.  A loader
 * thread fills a batch, the writer applies it and then deletes its files;
 * between the two the batch is the only copy of the work, so nothing here
 * is shared or locked.
 */
#ifndef STATESYS_BATCH_H
#define STATESYS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "inbox.h"
#include "smx.h"

typedef enum {
    SS_FILE_OK,       /* parsed; its records are in the batch */
    SS_FILE_BAD,      /* unreadable or not a state message batch: quarantined */
    SS_FILE_DEFERRED, /* failed while it may still be written: put back to its box */
    SS_FILE_GONE      /* vanished from process/ before it was read */
} ss_file_state;

/* One record as the writer needs it (strings are arena offsets). */
typedef struct ss_msg {
    long long time_ms;
    long long serial; /* -1 when the record had no usable serial number */
    long long revision;
    int topic_type;
    int state_id;
    int id_type;
    int criticality;
    int invalid; /* an smx_invalid reason; the record is only counted */
    uint32_t key, topic, user, sid, params;
} ss_msg;

typedef struct ss_file {
    char name[INBOX_NAME_MAX + 1];
    int box; /* index of the box it was claimed from */
    ss_file_state state;
    char client_id[SMX_CLIENT_ID_MAX + 1];
    char netbios[SMX_NAME_MAX + 1];
    char client_version[SMX_NAME_MAX + 1];
    size_t first, nmsgs; /* its records: msgs[first .. first + nmsgs) */
    long long ninvalid;
    long long size;
    uint32_t reason; /* why it is bad: an arena offset (batch_set_reason) */
} ss_file;

typedef struct ss_batch {
    ss_file *files;
    size_t nfiles, capfiles;
    ss_msg *msgs;
    size_t nmsgs, capmsgs;
    char *arena;
    size_t arenalen, arenacap;
    long long bytes; /* the files' sizes */
    /* After batch_compact(): "<box digit><name>\0" for each file to delete, nothing else. */
    char *names;
    size_t names_len, ndelete, nfiles_done, nbad;
    struct ss_batch *next;
} ss_batch;

ss_batch *batch_new(void);
void batch_free(ss_batch *b);
/* Add a file (state SS_FILE_OK, no records yet); returns it or NULL. */
ss_file *batch_add_file(ss_batch *b, const char *name, int box, long long size);
/* Append a parsed record to the last file.  Returns 0 or -ENOMEM. */
int batch_add_record(ss_batch *b, const smx_record *r);
/* Drop the records of the last file (it failed after some were added). */
void batch_drop_records(ss_batch *b);
/* Record why a file is bad (kept in the arena). */
void batch_set_reason(ss_batch *b, ss_file *f, const char *why);
/*
 * Once applied and committed, a batch only needs the names of the files to
 * delete: keep those, packed, and free the records (a backlog of small
 * files would otherwise keep every parsed record until its file is gone).
 */
int batch_compact(ss_batch *b);
static inline const char *batch_str(const ss_batch *b, uint32_t off)
{
    return b->arena + off;
}

#endif
