/*
 * cimap.c - the GUID hash table of the site-database phase (see cimap.h).
 *
 * The entries sit in one dense array in the order they were added, and the
 * open-addressing table holds only 8-byte slots: 32 bits of the key's hash
 * and the entry's index.  A probe compares hashes in the small table and
 * touches an entry only when they match.  With the entries themselves in
 * the table (144 bytes a slot, more than twice as many slots as entries),
 * the table of a 100,000-update sync was 38 MB of fresh memory, faulted in
 * at random places by the first lookups; now it is 2 MB of slots and 14 MB
 * of entries filled in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cimap.h"

void cimap_init(cimap *m)
{
    memset(m, 0, sizeof *m);
}

void cimap_free(cimap *m)
{
    free(m->v);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Lower-case copy of a 36-character GUID; 0 when it is not one (ASCII only: no locale call). */
static int norm(const char *in, char out[37])
{
    size_t i;
    for (i = 0; i < 36 && in[i]; i++) {
        char c = in[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    out[i] = '\0';
    return i == 36 && in[36] == '\0';
}

static uint32_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

/* A slot: the hash in the high half, the entry's index + 1 in the low half (0: free). */
static uint64_t slot_of(uint32_t h, size_t index)
{
    return (uint64_t)h << 32 | (uint64_t)(index + 1);
}

/* The slot of key (hash h): the one holding it, or the free one where it would go. */
static uint64_t *find(const cimap *m, const char *key, uint32_t h)
{
    for (size_t i = h & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
        uint64_t *s = &m->slots[i];
        if (!*s)
            return s;
        if ((uint32_t)(*s >> 32) == h && strcmp(m->v[(uint32_t)*s - 1].id, key) == 0)
            return s;
    }
}

/* Room for cap entries: the array, and a table of more than twice as many slots. */
static int resize(cimap *m, size_t cap)
{
    if (cap > UINT32_MAX - 1)
        return -1;
    size_t nslots = 1024;
    while (nslots < cap * 2 + 2)
        nslots *= 2;
    cimap_entry *v = realloc(m->v, cap * sizeof *v);
    if (!v)
        return -1;
    m->v = v;
    if (nslots != m->nslots) {
        uint64_t *slots = calloc(nslots, sizeof *slots);
        if (!slots)
            return -1; /* m->cap stays: the old table holds what it allows */
        free(m->slots);
        m->slots = slots;
        m->nslots = nslots;
        for (size_t i = 0; i < m->n; i++) {
            uint32_t h = hash(m->v[i].id);
            *find(m, m->v[i].id, h) = slot_of(h, i);
        }
    }
    /* Only now: cap is what the table has room for, at most half full. */
    m->cap = cap;
    return 0;
}

int cimap_reserve(cimap *m, size_t n)
{
    return n <= m->cap ? 0 : resize(m, n);
}

cimap_entry *cimap_get(const cimap *m, const char *id)
{
    char key[37];
    if (!m->n || !id || !norm(id, key))
        return NULL;
    uint64_t s = *find(m, key, hash(key));
    return s ? &m->v[(uint32_t)s - 1] : NULL;
}

cimap_entry *cimap_put(cimap *m, const char *id)
{
    char key[37];
    if (!id || !norm(id, key))
        return NULL;
    if (m->n == m->cap && resize(m, m->cap ? m->cap * 2 : 512) < 0)
        return NULL;
    uint32_t h = hash(key);
    uint64_t *s = find(m, key, h);
    if (*s)
        return &m->v[(uint32_t)*s - 1];
    cimap_entry *e = &m->v[m->n];
    memset(e, 0, sizeof *e);
    memcpy(e->id, key, sizeof key);
    *s = slot_of(h, m->n++);
    return e;
}
