/*
 * hmap.c - linear probing over a power-of-two table, grown at 70 % load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t key_hash(const hkey *k)
{
    uint64_t h = mix((uint64_t)k->a * 31 + mix((uint64_t)k->b) * 17 + mix((uint64_t)k->c));
    if (k->s) {
        uint64_t f = 1469598103934665603ULL;
        for (const unsigned char *p = (const unsigned char *)k->s; *p; p++)
            f = (f ^ *p) * 1099511628211ULL;
        h = mix(h ^ f);
    }
    return h;
}

static int key_eq(const hkey *x, const hkey *y)
{
    if (x->a != y->a || x->b != y->b || x->c != y->c)
        return 0;
    if (!x->s || !y->s)
        return x->s == y->s;
    return strcmp(x->s, y->s) == 0;
}

static size_t find(const hmap *m, const hkey *k, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].used) {
        if (m->slots[i].hash == h && key_eq(&m->slots[i].key, k))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

int hmap_get(const hmap *m, const hkey *k, size_t *val)
{
    if (m->cap == 0)
        return 0;
    size_t i = find(m, k, key_hash(k));
    if (!m->slots[i].used)
        return 0;
    *val = m->slots[i].val;
    return 1;
}

static int grow(hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    hentry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = (size_t)m->slots[i].hash & (ncap - 1);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int hmap_put(hmap *m, const hkey *k, size_t val, size_t *existing)
{
    uint64_t h = key_hash(k);
    if ((m->n + 1) * 10 > m->cap * 7 && grow(m) < 0)
        return -ENOMEM;
    size_t i = find(m, k, h);
    if (m->slots[i].used) {
        if (existing)
            *existing = m->slots[i].val;
        return 1;
    }
    m->slots[i].used = 1;
    m->slots[i].key = *k;
    m->slots[i].hash = h;
    m->slots[i].val = val;
    m->n++;
    return 0;
}

void hmap_clear(hmap *m)
{
    /* A table grown by one huge transaction is given back rather than kept. */
    if (m->cap > 65536) {
        hmap_free(m);
        return;
    }
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

void hmap_free(hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
