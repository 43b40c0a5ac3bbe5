/*
 * hmap.h - an open-addressing hash map from a composite key (three
 * integers and an optional string) to a caller's index, for the writer's
 * caches and for collapsing the messages of one transaction onto their rows.
 * The map never owns the key strings: they must outlive their entries.
 */
#ifndef STATESYS_HMAP_H
#define STATESYS_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hkey {
    long long a, b, c;
    const char *s; /* NULL when the key has no string */
} hkey;

typedef struct hentry {
    hkey key;
    uint64_t hash;
    size_t val;
    int used;
} hentry;

typedef struct hmap {
    hentry *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} hmap;

/* Find a key: 1 and *val when present, 0 when not. */
int hmap_get(const hmap *m, const hkey *k, size_t *val);
/*
 * Insert or find: returns 1 and *val of the existing entry when the key is
 * present, 0 after inserting it with val, or -ENOMEM.
 */
int hmap_put(hmap *m, const hkey *k, size_t val, size_t *existing);
void hmap_clear(hmap *m);
void hmap_free(hmap *m);

#endif
