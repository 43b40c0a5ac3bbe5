/*
 * cabmem.c - reading single-file cabs in memory (libmspack through a
 * memory-backed mspack_system), and base64.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mspack.h>

#include "cabmem.h"
#include "cm_error.h"

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/*
 * libmspack names files with strings it passes back to open(); here a
 * "name" is the address of one of these, so no file system is involved.
 */
typedef struct memfile {
    const unsigned char *rdata; /* input, or NULL for the output */
    unsigned char *wdata;
    size_t len, cap, limit;
    int too_big;
} memfile;

typedef struct memhandle {
    memfile *mf;
    size_t pos;
} memhandle;

static struct mspack_file *mem_open(struct mspack_system *self, const char *filename, int mode)
{
    (void)self;
    memfile *mf = (memfile *)(uintptr_t)filename;
    if (!mf)
        return NULL;
    if (mode == MSPACK_SYS_OPEN_READ && !mf->rdata)
        return NULL;
    if (mode != MSPACK_SYS_OPEN_READ && mode != MSPACK_SYS_OPEN_WRITE)
        return NULL;
    memhandle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->mf = mf;
    return (struct mspack_file *)h;
}

static void mem_close(struct mspack_file *file)
{
    free(file);
}

static int mem_read(struct mspack_file *file, void *buffer, int bytes)
{
    memhandle *h = (memhandle *)file;
    if (bytes < 0 || !h->mf->rdata)
        return -1;
    size_t avail = h->pos < h->mf->len ? h->mf->len - h->pos : 0;
    size_t n = (size_t)bytes < avail ? (size_t)bytes : avail;
    memcpy(buffer, h->mf->rdata + h->pos, n);
    h->pos += n;
    return (int)n;
}

static int mem_write(struct mspack_file *file, void *buffer, int bytes)
{
    memhandle *h = (memhandle *)file;
    memfile *mf = h->mf;
    if (bytes < 0 || mf->rdata)
        return -1;
    if (mf->len + (size_t)bytes > mf->limit) {
        mf->too_big = 1;
        return -1;
    }
    if (mf->len + (size_t)bytes + 1 > mf->cap) {
        size_t cap = mf->cap ? mf->cap : 4096;
        while (cap < mf->len + (size_t)bytes + 1)
            cap *= 2;
        unsigned char *nd = realloc(mf->wdata, cap);
        if (!nd)
            return -1;
        mf->wdata = nd;
        mf->cap = cap;
    }
    memcpy(mf->wdata + mf->len, buffer, (size_t)bytes);
    mf->len += (size_t)bytes;
    return bytes;
}

static int mem_seek(struct mspack_file *file, off_t offset, int mode)
{
    memhandle *h = (memhandle *)file;
    off_t base;
    switch (mode) {
    case MSPACK_SYS_SEEK_START:
        base = 0;
        break;
    case MSPACK_SYS_SEEK_CUR:
        base = (off_t)h->pos;
        break;
    case MSPACK_SYS_SEEK_END:
        base = (off_t)h->mf->len;
        break;
    default:
        return -1;
    }
    if (base + offset < 0 || (size_t)(base + offset) > h->mf->len)
        return -1;
    h->pos = (size_t)(base + offset);
    return 0;
}

static off_t mem_tell(struct mspack_file *file)
{
    return (off_t)((memhandle *)file)->pos;
}

static void mem_message(struct mspack_file *file, const char *format, ...)
{
    /* The library never logs: libmspack's warnings are dropped. */
    (void)file;
    (void)format;
}

static void *mem_alloc(struct mspack_system *self, size_t bytes)
{
    (void)self;
    return malloc(bytes);
}

static void mem_free(void *ptr)
{
    free(ptr);
}

static void mem_copy(void *src, void *dest, size_t bytes)
{
    memmove(dest, src, bytes);
}

static struct mspack_system mem_system = {
    mem_open,    mem_close, mem_read, mem_write, mem_seek, mem_tell,
    mem_message, mem_alloc, mem_free, mem_copy,  NULL,
};

int cabmem_extract(const void *data, size_t len, size_t max_out, char **out, size_t *out_len)
{
    memfile in = {.rdata = data, .len = len};
    memfile res = {.limit = max_out};
    struct mscab_decompressor *cabd;
    struct mscabd_cabinet *cab;
    int ret = CM_EPARSE;

    *out = NULL;
    *out_len = 0;
    if (!data || len < 36 || memcmp(data, "MSCF", 4) != 0)
        return CM_EPARSE;
    cabd = mspack_create_cab_decompressor(&mem_system);
    if (!cabd)
        return -ENOMEM;
    cab = cabd->open(cabd, (const char *)(uintptr_t)&in);
    if (cab && cab->files) {
        if (cab->files->length > max_out) {
            ret = CM_ETOOBIG;
        } else if (cabd->extract(cabd, cab->files, (const char *)(uintptr_t)&res) ==
                       MSPACK_ERR_OK &&
                   res.len == cab->files->length) {
            if (!res.wdata)
                res.wdata = malloc(1);
            if (res.wdata) {
                res.wdata[res.len] = '\0';
                *out = (char *)res.wdata;
                *out_len = res.len;
                res.wdata = NULL;
                ret = 0;
            } else {
                ret = -ENOMEM;
            }
        } else if (res.too_big) {
            ret = CM_ETOOBIG;
        }
    }
    if (cab)
        cabd->close(cabd, cab);
    mspack_destroy_cab_decompressor(cabd);
    free(res.wdata);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Base64                                                              */
/* ------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cabmem_base64_encode(const void *data, size_t len, size_t *out_len)
{
    const unsigned char *p = data;
    size_t n = 4 * ((len + 2) / 3);
    char *o = malloc(n + 1), *q = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *q++ = b64[(v >> 18) & 63];
        *q++ = b64[(v >> 12) & 63];
        *q++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        *q++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *q = '\0';
    if (out_len)
        *out_len = n;
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int cabmem_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
    unsigned char *o = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    *out = NULL;
    *out_len = 0;
    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) {
            free(o);
            return CM_EPARSE;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(o);
        return CM_EPARSE;
    }
    *out = o;
    *out_len = n;
    return 0;
}
