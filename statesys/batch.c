/*
 * batch.c - growing arrays and the string arena of a parsed chunk.  Offset
 * 0 of the arena is the empty string, shared by every empty field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

ss_batch *batch_new(void)
{
    ss_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->arenacap = 4096;
    b->arena = malloc(b->arenacap);
    if (!b->arena) {
        free(b);
        return NULL;
    }
    b->arena[0] = '\0';
    b->arenalen = 1;
    return b;
}

void batch_free(ss_batch *b)
{
    if (!b)
        return;
    free(b->names);
    free(b->files);
    free(b->msgs);
    free(b->arena);
    free(b);
}

ss_file *batch_add_file(ss_batch *b, const char *name, int box, long long size)
{
    ss_file *f;
    if (b->nfiles == b->capfiles) {
        size_t ncap = b->capfiles ? b->capfiles * 2 : 32;
        ss_file *nf = realloc(b->files, ncap * sizeof *nf);
        if (!nf)
            return NULL;
        b->files = nf;
        b->capfiles = ncap;
    }
    f = &b->files[b->nfiles++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->box = box;
    f->state = SS_FILE_OK;
    f->first = b->nmsgs;
    f->size = size;
    b->bytes += size;
    return f;
}

static int arena_add(ss_batch *b, const char *s, uint32_t *off)
{
    size_t len = strlen(s);
    if (len == 0) {
        *off = 0;
        return 0;
    }
    if (b->arenalen + len + 1 > b->arenacap) {
        size_t ncap = b->arenacap * 2;
        while (ncap < b->arenalen + len + 1)
            ncap *= 2;
        if (ncap > UINT32_MAX)
            return -ENOMEM;
        char *na = realloc(b->arena, ncap);
        if (!na)
            return -ENOMEM;
        b->arena = na;
        b->arenacap = ncap;
    }
    *off = (uint32_t)b->arenalen;
    memcpy(b->arena + b->arenalen, s, len + 1);
    b->arenalen += len + 1;
    return 0;
}

int batch_add_record(ss_batch *b, const smx_record *r)
{
    ss_file *f = &b->files[b->nfiles - 1];
    ss_msg *m;
    int ret;
    if (b->nmsgs == b->capmsgs) {
        size_t ncap = b->capmsgs ? b->capmsgs * 2 : 256;
        ss_msg *nm = realloc(b->msgs, ncap * sizeof *nm);
        if (!nm)
            return -ENOMEM;
        b->msgs = nm;
        b->capmsgs = ncap;
    }
    m = &b->msgs[b->nmsgs];
    memset(m, 0, sizeof *m);
    m->invalid = (int)r->invalid;
    /* A serial number is kept even for an invalid record: it was sent, so it is no gap. */
    m->serial = r->serial;
    f->nmsgs++;
    b->nmsgs++;
    if (r->invalid != SMX_OK) {
        f->ninvalid++;
        return 0;
    }
    m->time_ms = r->time_ms;
    m->revision = r->revision;
    m->topic_type = (int)r->topic_type;
    m->state_id = (int)r->state_id;
    m->id_type = (int)r->id_type;
    m->criticality = (int)r->criticality;
    if ((ret = arena_add(b, r->key, &m->key)) < 0)
        return ret;
    if (strcmp(r->key, r->topic_id) == 0)
        m->topic = m->key;
    else if ((ret = arena_add(b, r->topic_id, &m->topic)) < 0)
        return ret;
    if ((ret = arena_add(b, r->user, &m->user)) < 0 ||
        (ret = arena_add(b, r->user_sid, &m->sid)) < 0 ||
        (ret = arena_add(b, r->params, &m->params)) < 0)
        return ret;
    return 0;
}

void batch_drop_records(ss_batch *b)
{
    ss_file *f;
    if (b->nfiles == 0)
        return;
    f = &b->files[b->nfiles - 1];
    b->nmsgs = f->first;
    f->nmsgs = 0;
    f->ninvalid = 0;
    /* The arena keeps the strings: a bad file is rare and the chunk short-lived. */
}

void batch_set_reason(ss_batch *b, ss_file *f, const char *why)
{
    uint32_t off = 0;
    if (arena_add(b, why, &off) == 0)
        f->reason = off;
}

int batch_compact(ss_batch *b)
{
    size_t len = 0, n = 0, bad = 0, done = 0;
    for (size_t i = 0; i < b->nfiles; i++) {
        if (b->files[i].state == SS_FILE_OK)
            len += strlen(b->files[i].name) + 2;
    }
    char *names = malloc(len ? len : 1), *p = names;
    if (!names)
        return -ENOMEM;
    for (size_t i = 0; i < b->nfiles; i++) {
        ss_file *f = &b->files[i];
        if (f->state == SS_FILE_BAD)
            bad++;
        if (f->state == SS_FILE_OK || f->state == SS_FILE_BAD)
            done++;
        if (f->state != SS_FILE_OK)
            continue;
        size_t l = strlen(f->name);
        *p++ = (char)('0' + f->box);
        memcpy(p, f->name, l + 1);
        p += l + 1;
        n++;
    }
    free(b->files);
    free(b->msgs);
    free(b->arena);
    b->files = NULL;
    b->msgs = NULL;
    b->arena = NULL;
    b->nfiles = b->nmsgs = b->capfiles = b->capmsgs = b->arenalen = b->arenacap = 0;
    b->names = names;
    b->names_len = len;
    b->ndelete = n;
    b->nfiles_done = done;
    b->nbad = bad;
    return 0;
}
