/*
 * cimap.c - the GUID hash table of the site-database phase (see cimap.h).
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

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static cimap_entry *find(const cimap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        cimap_entry *e = &m->slots[i];
        if (!e->id[0] || strcmp(e->id, key) == 0)
            return e;
    }
}

/* Move the entries to a table of cap slots (a power of two, more than twice the entries). */
static int rehash(cimap *m, size_t cap)
{
    cimap_entry *old = m->slots, *slots = calloc(cap, sizeof *slots);
    size_t oldcap = m->cap;
    if (!slots)
        return -1;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].id[0])
            *find(m, old[i].id) = old[i];
    free(old);
    return 0;
}

static int grow(cimap *m)
{
    return rehash(m, m->cap ? m->cap * 2 : 1024);
}

int cimap_reserve(cimap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < n * 2 + 2)
        cap *= 2;
    return cap == m->cap ? 0 : rehash(m, cap);
}

cimap_entry *cimap_get(const cimap *m, const char *id)
{
    char key[37];
    if (!id || !norm(id, key))
        return NULL;
    cimap_entry *e = find(m, key);
    return e && e->id[0] ? e : NULL;
}

cimap_entry *cimap_put(cimap *m, const char *id)
{
    char key[37];
    if (!id || !norm(id, key))
        return NULL;
    /* Keep the table at most half full so probes stay short. */
    if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
        return NULL;
    cimap_entry *e = find(m, key);
    if (!e->id[0]) {
        memset(e, 0, sizeof *e);
        memcpy(e->id, key, sizeof key);
        m->n++;
    }
    return e;
}
