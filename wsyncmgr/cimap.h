/*
 * cimap.h - what the site database already holds, by GUID, for the
 * site-database phase: each update CI (its CI_ID, revision, flags and
 * content) and each category (its CategoryInstanceID).  Loaded once at the
 * start of the phase, so deciding "new, revised or unchanged" and resolving
 * relations costs no query per update.  An open-addressing hash table on
 * the GUID text over a dense array of entries (144 bytes an entry, 16 to 32
 * bytes of table).
 */
#ifndef WSYNCMGR_CIMAP_H
#define WSYNCMGR_CIMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cimap_entry {
    char id[37];          /* lower-case GUID; "" marks a free slot */
    long long ci_id;      /* CI_ID, or CategoryInstanceID for categories */
    long long content_id; /* CI_Contents.Content_ID, 0 when none */
    int revision;
    unsigned char is_expired, is_superseded;
    unsigned char seen;    /* handled by this sync already */
    unsigned char is_new;  /* inserted by this sync */
    unsigned char changed; /* written by this sync (categories: counted once) */
    long long parent_id;   /* categories: ParentCategoryInstanceID, 0 when none */
    char parent[37];       /* categories: the parent GUID this sync received */
    char cat_type[24];     /* categories: CategoryTypeName */
} cimap_entry;

/*
 * v[0..n) are the entries in the order they were added (for walking them
 * all); they move when the map grows, so a pointer to an entry is good
 * until the next cimap_put or cimap_reserve.
 */
typedef struct cimap {
    cimap_entry *v;
    size_t n, cap;
    uint64_t *slots; /* the table (see cimap.c) */
    size_t nslots;
} cimap;

void cimap_init(cimap *m);
void cimap_free(cimap *m);
/*
 * Room for n entries in all without growing (a sync knows how many updates
 * come): each growth rehashed the table and moved the entries.  0 or -1.
 */
int cimap_reserve(cimap *m, size_t n);
/* The entry for id (any case), or NULL. */
cimap_entry *cimap_get(const cimap *m, const char *id);
/* The entry for id, added (zeroed apart from the id) when missing; NULL on ENOMEM or a bad id. */
cimap_entry *cimap_put(cimap *m, const char *id);

#endif
