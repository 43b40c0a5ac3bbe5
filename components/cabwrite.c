/*
 * cabwrite.c - a minimal, correct MS-CAB writer (see cabwrite.h): header,
 * one CFFOLDER, the CFFILE directory, then CFDATA blocks of up to 32 KB
 * stored uncompressed.  All integers little-endian, as the format says.
 */
#include "cabwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_error.h"

#define CAB_BLOCK 32768u
#define CAB_HEADER 36u
#define CAB_FOLDER 8u
#define CAB_FILE_FIXED 16u
#define CAB_DATA_HEADER 8u
/* A fixed timestamp keeps generated cabs byte-identical: 2024-01-01 00:00:00. */
#define CAB_DOS_DATE ((uint16_t)(((2024 - 1980) << 9) | (1 << 5) | 1))
#define CAB_DOS_TIME 0
#define CAB_ATTR_ARCH 0x20

typedef struct cab_entry {
    char *name; /* stored form, '\\' separated */
    uint32_t size;
    uint32_t offset; /* in the folder's uncompressed data */
} cab_entry;

struct cabw {
    char *path;
    FILE *data; /* unlinked temporary file, or a memory stream */
    char *membuf;
    size_t memlen;
    cab_entry *files;
    size_t nfiles, cap;
    uint64_t total;
    size_t names_bytes;
    int err;
};

static int check_name(const char *name, char *stored, size_t cap)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= 256 || n >= cap)
        return CM_ENAME;
    size_t comp = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (c == '/' || c == '\\' || c == '\0') {
            if (i == comp) /* empty component, or a leading separator */
                return CM_ENAME;
            if ((i - comp == 1 && name[comp] == '.') ||
                (i - comp == 2 && name[comp] == '.' && name[comp + 1] == '.'))
                return CM_ENAME;
            comp = i + 1;
            stored[i] = c ? '\\' : '\0';
            continue;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e || c == ':')
            return CM_ENAME;
        stored[i] = c;
    }
    return 0;
}

int cabw_create(cabw **out, const char *path)
{
    *out = NULL;
    cabw *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    if (path) {
        size_t n = strlen(path);
        char *tmpl = malloc(n + 16);
        w->path = strdup(path);
        if (!tmpl || !w->path) {
            free(tmpl);
            free(w->path);
            free(w);
            return -ENOMEM;
        }
        snprintf(tmpl, n + 16, "%s.data.XXXXXX", path);
        int fd = mkstemp(tmpl);
        int e = errno;
        if (fd >= 0)
            unlink(tmpl);
        free(tmpl);
        if (fd < 0 || !(w->data = fdopen(fd, "w+b"))) {
            if (fd >= 0)
                close(fd);
            free(w->path);
            free(w);
            return -(e ? e : EIO);
        }
    } else {
        w->data = open_memstream(&w->membuf, &w->memlen);
        if (!w->data) {
            free(w);
            return -ENOMEM;
        }
    }
    *out = w;
    return 0;
}

static int add_entry(cabw *w, const char *name, size_t len)
{
    char stored[256];
    int rc = check_name(name, stored, sizeof stored);
    if (rc)
        return rc;
    if (w->nfiles >= CABW_MAX_FILES || w->total + len > CABW_MAX_BYTES)
        return CM_ETOOBIG;
    if (w->nfiles == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        cab_entry *p = realloc(w->files, nc * sizeof *p);
        if (!p)
            return -ENOMEM;
        w->files = p;
        w->cap = nc;
    }
    cab_entry *e = &w->files[w->nfiles];
    e->name = strdup(stored);
    if (!e->name)
        return -ENOMEM;
    e->size = (uint32_t)len;
    e->offset = (uint32_t)w->total;
    w->nfiles++;
    w->total += len;
    w->names_bytes += strlen(stored) + 1;
    return 0;
}

int cabw_add(cabw *w, const char *name, const void *data, size_t len)
{
    if (w->err)
        return w->err;
    int rc = add_entry(w, name, len);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, w->data) != len)
        return w->err = -EIO;
    return 0;
}

int cabw_add_path(cabw *w, const char *name, const char *src_path)
{
    if (w->err)
        return w->err;
    FILE *f = fopen(src_path, "rb");
    if (!f)
        return -errno;
    if (fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -EIO;
    }
    off_t size = ftello(f);
    rewind(f);
    if (size < 0 || (uint64_t)size > CABW_MAX_BYTES) {
        fclose(f);
        return CM_ETOOBIG;
    }
    int rc = add_entry(w, name, (size_t)size);
    char buf[65536];
    size_t left = (size_t)size;
    while (!rc && left) {
        size_t n = fread(buf, 1, left < sizeof buf ? left : sizeof buf, f);
        if (n == 0 || fwrite(buf, 1, n, w->data) != n)
            rc = w->err = -EIO;
        left -= n;
    }
    fclose(f);
    return rc;
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void free_w(cabw *w)
{
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].name);
    free(w->files);
    if (w->data)
        fclose(w->data);
    free(w->membuf);
    free(w->path);
    free(w);
}

void cabw_abort(cabw *w)
{
    if (w)
        free_w(w);
}

/* Header, folder, directory and data blocks, to out. */
static int emit(cabw *w, FILE *out, const char *data_mem)
{
    uint32_t nblocks = (uint32_t)((w->total + CAB_BLOCK - 1) / CAB_BLOCK);
    if (nblocks > 65535)
        return CM_ETOOBIG;
    uint32_t coff_files = CAB_HEADER + CAB_FOLDER;
    uint32_t coff_data = coff_files + (uint32_t)(w->nfiles * CAB_FILE_FIXED + w->names_bytes);
    uint64_t size = (uint64_t)coff_data + (uint64_t)nblocks * CAB_DATA_HEADER + w->total;
    if (size > UINT32_MAX)
        return CM_ETOOBIG;

    unsigned char h[CAB_HEADER + CAB_FOLDER] = {'M', 'S', 'C', 'F'};
    put32(h + 8, (uint32_t)size);
    put32(h + 16, coff_files);
    h[24] = 3; /* versionMinor */
    h[25] = 1; /* versionMajor */
    put16(h + 26, 1);
    put16(h + 28, (uint16_t)w->nfiles);
    put16(h + 30, 0);      /* flags: no reserve, no previous or next cabinet */
    put16(h + 32, 0x4c43); /* setID */
    put16(h + 34, 0);      /* iCabinet */
    put32(h + 36, coff_data);
    put16(h + 40, (uint16_t)nblocks);
    put16(h + 42, 0); /* typeCompress: none */
    if (fwrite(h, 1, sizeof h, out) != sizeof h)
        return -EIO;

    for (size_t i = 0; i < w->nfiles; i++) {
        unsigned char f[CAB_FILE_FIXED];
        put32(f, w->files[i].size);
        put32(f + 4, w->files[i].offset);
        put16(f + 8, 0); /* iFolder */
        put16(f + 10, CAB_DOS_DATE);
        put16(f + 12, CAB_DOS_TIME);
        put16(f + 14, CAB_ATTR_ARCH);
        size_t nl = strlen(w->files[i].name) + 1;
        if (fwrite(f, 1, sizeof f, out) != sizeof f || fwrite(w->files[i].name, 1, nl, out) != nl)
            return -EIO;
    }

    if (!data_mem && fseeko(w->data, 0, SEEK_SET) != 0)
        return -EIO;
    unsigned char *buf = data_mem ? NULL : malloc(CAB_BLOCK);
    if (!data_mem && !buf)
        return -ENOMEM;
    int rc = 0;
    for (uint64_t pos = 0; !rc && pos < w->total;) {
        uint32_t n = w->total - pos < CAB_BLOCK ? (uint32_t)(w->total - pos) : CAB_BLOCK;
        const unsigned char *src = data_mem ? (const unsigned char *)data_mem + pos : buf;
        if (!data_mem && fread(buf, 1, n, w->data) != n) {
            rc = -EIO;
            break;
        }
        unsigned char dh[CAB_DATA_HEADER] = {0}; /* csum 0: not computed, as the format allows */
        put16(dh + 4, (uint16_t)n);              /* cbData */
        put16(dh + 6, (uint16_t)n);              /* cbUncomp */
        if (fwrite(dh, 1, sizeof dh, out) != sizeof dh || fwrite(src, 1, n, out) != n)
            rc = -EIO;
        pos += n;
    }
    free(buf);
    return rc;
}

int cabw_finish(cabw *w)
{
    if (!w)
        return CM_EPARSE;
    int rc = w->err;
    if (!rc && w->nfiles == 0)
        rc = CM_EPARSE; /* readers refuse a cabinet without files */
    if (!rc && fflush(w->data) != 0)
        rc = -EIO;
    if (!rc) {
        FILE *out = fopen(w->path, "wb");
        if (!out) {
            rc = -errno;
        } else {
            rc = emit(w, out, NULL);
            if (fflush(out) != 0 || fsync(fileno(out)) != 0)
                rc = rc ? rc : -EIO;
            if (fclose(out) != 0 && !rc)
                rc = -EIO;
            if (rc)
                unlink(w->path);
        }
    }
    free_w(w);
    return rc;
}

int cabw_single_mem(const char *name, const void *data, size_t len, unsigned char **out,
                    size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    cabw *w;
    int rc = cabw_create(&w, NULL);
    if (rc)
        return rc;
    rc = cabw_add(w, name, data, len);
    if (!rc && fflush(w->data) != 0)
        rc = -EIO;
    char *res = NULL;
    size_t reslen = 0;
    FILE *o = rc ? NULL : open_memstream(&res, &reslen);
    if (!rc && !o)
        rc = -ENOMEM;
    if (!rc)
        rc = emit(w, o, w->membuf);
    if (o && fclose(o) != 0 && !rc)
        rc = -ENOMEM;
    free_w(w);
    if (rc) {
        free(res);
        return rc;
    }
    *out = (unsigned char *)res;
    *outlen = reslen;
    return 0;
}
