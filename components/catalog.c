/*
 * catalog.c - streaming reader of offline catalogs (see catalog.h): a
 * directory of update XML documents, or a wsusscn2-style cab read with
 * libmspack.
 *
 * Both forms work in two phases.  The first call of catalog_next loads the
 * categories (few: hundreds to a few thousand) and sorts them parents
 * first; then the other updates stream one at a time in source order.
 * Cab members are extracted to memory through a small mspack_system of our
 * own (so no name from a cab ever becomes a path), and the inner
 * packageN.cab files, one at a time, to a private temporary folder.
 */
#include "catalog.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <mspack.h>

#include "cm_error.h"
#include "updxml_util.h"

#define MAX_ENTRIES 2000000L /* package.xml entries or directory files */
#define MAX_LANGS 64         /* languages one catalog may use */
#define MAX_URL 2048
#define MAX_PACKAGE_XML (2040L << 20)
#define MAX_INNER_CAB (2040L << 20)

/* ---------- small helpers ---------- */

typedef struct membuf {
    char *p;
    size_t len, cap, max;
    int over;
} membuf;

static int mb_put(membuf *b, const void *s, size_t n)
{
    if (b->len + n > b->max) {
        b->over = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > nc)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p)
            return -1;
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int mb_str(membuf *b, const char *s)
{
    return mb_put(b, s, strlen(s));
}

static int has_doctype(const char *s, size_t n)
{
    for (size_t i = 0; i + 9 <= n; i++)
        if (s[i] == '<' && memcmp(s + i, "<!DOCTYPE", 9) == 0)
            return 1;
    return 0;
}

/* ---------- libmspack I/O: real files for cabs, memory for members ---------- */

static char MEM_MARK; /* its address, passed as a "file name", means "extract to memory" */

typedef struct msys {
    struct mspack_system sys;
    membuf *target;
} msys;

typedef struct msfile {
    FILE *f;
    membuf *mem;
} msfile;

static struct mspack_file *ms_open(struct mspack_system *self, const char *name, int mode)
{
    msys *s = (msys *)self;
    msfile *mf = calloc(1, sizeof *mf);
    if (!mf)
        return NULL;
    if (name == &MEM_MARK) {
        if (mode != MSPACK_SYS_OPEN_WRITE || !s->target) {
            free(mf);
            return NULL;
        }
        mf->mem = s->target;
        mf->mem->len = 0;
        mf->mem->over = 0;
        return (struct mspack_file *)mf;
    }
    const char *m = mode == MSPACK_SYS_OPEN_READ     ? "rb"
                    : mode == MSPACK_SYS_OPEN_WRITE  ? "wb"
                    : mode == MSPACK_SYS_OPEN_UPDATE ? "r+b"
                                                     : "ab";
    mf->f = fopen(name, m);
    if (!mf->f) {
        free(mf);
        return NULL;
    }
    return (struct mspack_file *)mf;
}

static void ms_close(struct mspack_file *file)
{
    msfile *mf = (msfile *)file;
    if (mf && mf->f)
        fclose(mf->f);
    free(mf);
}

static int ms_read(struct mspack_file *file, void *buf, int n)
{
    msfile *mf = (msfile *)file;
    if (!mf->f || n < 0)
        return -1;
    size_t r = fread(buf, 1, (size_t)n, mf->f);
    return ferror(mf->f) ? -1 : (int)r;
}

static int ms_write(struct mspack_file *file, void *buf, int n)
{
    msfile *mf = (msfile *)file;
    if (n < 0)
        return -1;
    if (mf->mem)
        return mb_put(mf->mem, buf, (size_t)n) ? -1 : n;
    return (int)fwrite(buf, 1, (size_t)n, mf->f);
}

static int ms_seek(struct mspack_file *file, off_t off, int mode)
{
    msfile *mf = (msfile *)file;
    if (!mf->f)
        return -1;
    int w = mode == MSPACK_SYS_SEEK_START ? SEEK_SET
            : mode == MSPACK_SYS_SEEK_CUR ? SEEK_CUR
                                          : SEEK_END;
    return fseeko(mf->f, off, w) ? -1 : 0;
}

static off_t ms_tell(struct mspack_file *file)
{
    msfile *mf = (msfile *)file;
    return mf->f ? ftello(mf->f) : (off_t)mf->mem->len;
}

static void ms_message(struct mspack_file *file, const char *fmt, ...)
{
    /* Library code never logs; libmspack's warnings are dropped. */
    (void)file;
    (void)fmt;
}

static void *ms_alloc(struct mspack_system *self, size_t n)
{
    (void)self;
    return malloc(n);
}

static void ms_free(void *p)
{
    free(p);
}

static void ms_copy(void *src, void *dst, size_t n)
{
    memmove(dst, src, n);
}

static void msys_init(msys *s)
{
    memset(s, 0, sizeof *s);
    s->sys.open = ms_open;
    s->sys.close = ms_close;
    s->sys.read = ms_read;
    s->sys.write = ms_write;
    s->sys.seek = ms_seek;
    s->sys.tell = ms_tell;
    s->sys.message = ms_message;
    s->sys.alloc = ms_alloc;
    s->sys.free = ms_free;
    s->sys.copy = ms_copy;
}

/* ---------- one opened cab: its members by (normalised) name ---------- */

typedef struct cab_member {
    char *name; /* '/' separated */
    struct mscabd_file *file;
} cab_member;

typedef struct cab {
    struct mscabd_cabinet *cab;
    cab_member *members; /* hash table, open addressing */
    size_t cap;
    char label[64]; /* "package3.cab", for catalog_last_source */
} cab;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/*
 * A member name: '\\' or '/' separated relative components, none empty,
 * "." or "..", printable ASCII without ':'.  Anything else refuses the cab.
 */
static int normalise_member(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n == 0 || n >= cap)
        return CM_ENAME;
    size_t comp = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = in[i];
        if (c == '/' || c == '\\' || c == '\0') {
            if (i == comp || (i - comp == 1 && in[comp] == '.') ||
                (i - comp == 2 && in[comp] == '.' && in[comp + 1] == '.'))
                return CM_ENAME;
            out[i] = c ? '/' : '\0';
            comp = i + 1;
            continue;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e || c == ':')
            return CM_ENAME;
        out[i] = c;
    }
    return 0;
}

static void cab_free(struct mscab_decompressor *d, cab *c)
{
    for (size_t i = 0; c->members && i < c->cap; i++)
        free(c->members[i].name);
    free(c->members);
    if (c->cab)
        d->close(d, c->cab);
    memset(c, 0, sizeof *c);
}

static int cab_load(struct mscab_decompressor *d, const char *path, const char *label, cab *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    c->cab = d->open(d, path);
    if (!c->cab)
        return d->last_error(d) == MSPACK_ERR_NOMEMORY ? -ENOMEM : CM_EPARSE;
    if (c->cab->next || c->cab->prevcab || c->cab->nextcab)
        return CM_EPARSE; /* cabinet sets are not part of the format */
    size_t n = 0;
    for (struct mscabd_file *f = c->cab->files; f; f = f->next)
        n++;
    if (n == 0)
        return CM_EPARSE;
    c->cap = 16;
    while (c->cap < n * 2)
        c->cap *= 2;
    c->members = calloc(c->cap, sizeof *c->members);
    if (!c->members)
        return -ENOMEM;
    for (struct mscabd_file *f = c->cab->files; f; f = f->next) {
        char nm[512];
        int rc = normalise_member(f->filename, nm, sizeof nm);
        if (rc)
            return rc;
        size_t i = name_hash(nm) & (c->cap - 1);
        while (c->members[i].name) {
            if (strcmp(c->members[i].name, nm) == 0)
                return CM_EPARSE; /* the same name twice */
            i = (i + 1) & (c->cap - 1);
        }
        c->members[i].name = strdup(nm);
        if (!c->members[i].name)
            return -ENOMEM;
        c->members[i].file = f;
    }
    return 0;
}

static struct mscabd_file *cab_find(const cab *c, const char *name)
{
    if (!c->members)
        return NULL;
    size_t i = name_hash(name) & (c->cap - 1);
    while (c->members[i].name) {
        if (strcmp(c->members[i].name, name) == 0)
            return c->members[i].file;
        i = (i + 1) & (c->cap - 1);
    }
    return NULL;
}

/* ---------- the reader ---------- */

typedef struct cat_doc {
    char id[UPDXML_GUID_SIZE];
    updxml_category_type type;
    long pos;      /* source order */
    long long rid; /* cab: RevisionId */
    char *xml;
    size_t len;
    updxml_ref *parents; /* category prerequisites */
    size_t nparents;
} cat_doc;

typedef struct pkg_entry {
    long long rid;
    char id[UPDXML_GUID_SIZE];
    int revision;
    uint64_t langs; /* bits into reader.langs */
    int is_cat;     /* may be a category: named as one, or without payload and not a bundle */
    int has_payload;
    int is_bundle;
} pkg_entry;

typedef struct part {
    char name[64];
    long long start;
} part;

struct catalog_reader {
    catalog_kind kind;
    char *path;
    int err;
    int phase; /* 0: categories not loaded; 1: categories; 2: updates; 3: end */
    char source[600];

    /* categories, sorted at load */
    cat_doc *cats;
    size_t ncats, catpos;

    /* directory form */
    char **names;
    size_t nnames, namepos;
    unsigned char *name_is_cat;

    /* cab form */
    msys sys;
    struct mscab_decompressor *cabd;
    cab outer;
    char tmpdir[4096];
    pkg_entry *entries;
    size_t nentries, entrypos;
    char langs[MAX_LANGS][17];
    int nlangs;
    uint32_t *urls; /* FileLocations: see url_put */
    size_t urlcap, nurls;
    char *urlpool;
    size_t urlpool_len, urlpool_cap;
    part *parts;
    size_t nparts;
    cab inner; /* the packageN.cab open now */
    int inner_part;
    membuf frag;
};

catalog_kind catalog_reader_kind(const catalog_reader *r)
{
    return r->kind;
}

size_t catalog_count(const catalog_reader *r)
{
    return r->kind == CATALOG_DIR ? r->nnames : r->nentries;
}

const char *catalog_last_source(const catalog_reader *r)
{
    return r ? r->source : "";
}

void catalog_update_clear(catalog_update *u)
{
    if (!u)
        return;
    free(u->xml);
    for (size_t i = 0; u->urls && i < u->nurls; i++)
        free(u->urls[i].url);
    free(u->urls);
    updxml_free(&u->parsed);
    memset(u, 0, sizeof *u);
}

/* ---------- categories: shared by both forms ---------- */

static int cat_rank(updxml_category_type t)
{
    return t == UPDXML_CAT_COMPANY          ? 0
           : t == UPDXML_CAT_PRODUCT_FAMILY ? 1
           : t == UPDXML_CAT_PRODUCT        ? 2
                                            : 3;
}

static int keep_category(catalog_reader *r, const updxml_update *u, const char *xml, size_t len,
                         long pos, long long rid)
{
    if (r->ncats % 64 == 0) {
        cat_doc *p = realloc(r->cats, (r->ncats + 64) * sizeof *p);
        if (!p)
            return -ENOMEM;
        r->cats = p;
    }
    cat_doc *c = &r->cats[r->ncats];
    memset(c, 0, sizeof *c);
    memcpy(c->id, u->update_id, sizeof c->id);
    c->type = u->category_type;
    c->pos = pos;
    c->rid = rid;
    c->xml = malloc(len + 1);
    if (!c->xml)
        return -ENOMEM;
    memcpy(c->xml, xml, len);
    c->xml[len] = '\0';
    c->len = len;
    if (u->ncategories) {
        c->parents = malloc(u->ncategories * sizeof *c->parents);
        if (!c->parents) {
            free(c->xml);
            return -ENOMEM;
        }
        memcpy(c->parents, u->categories, u->ncategories * sizeof *c->parents);
        c->nparents = u->ncategories;
    }
    r->ncats++;
    return 0;
}

static int cat_cmp(const void *a, const void *b)
{
    const cat_doc *x = a, *y = b;
    int rx = cat_rank(x->type), ry = cat_rank(y->type);
    if (rx != ry)
        return rx - ry;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct id_index {
    const char *id;
    size_t at;
} id_index;

static int id_index_cmp(const void *a, const void *b)
{
    const id_index *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->at < y->at ? -1 : x->at > y->at);
}

/* Binary heap of indices: the earliest ready category goes first. */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;
    h[i] = v;
    while (i && h[(i - 1) / 2] > h[i]) {
        size_t t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0];
    h[0] = h[--(*n)];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && h[l] < h[m])
            m = l;
        if (r < *n && h[r] < h[m])
            m = r;
        if (m == i)
            break;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

/*
 * Parents first: by kind (companies, families, products, classifications),
 * then source order, each placed only after the categories it names that
 * the catalog holds (Kahn's algorithm, earliest ready first).  A cycle
 * among categories refuses the catalog.
 */
static int sort_categories(catalog_reader *r)
{
    size_t n = r->ncats;
    if (n == 0)
        return 0;
    qsort(r->cats, n, sizeof *r->cats, cat_cmp);
    id_index *idx = malloc(n * sizeof *idx);
    size_t *pending = calloc(n, sizeof *pending);
    size_t *heap = malloc(n * sizeof *heap);
    size_t *order = malloc(n * sizeof *order);
    /* children: for each category, the categories naming it (CSR lists) */
    size_t nedges = 0;
    for (size_t i = 0; i < n; i++)
        nedges += r->cats[i].nparents;
    size_t *cstart = calloc(n + 1, sizeof *cstart);
    size_t *child = malloc((nedges ? nedges : 1) * sizeof *child);
    int rc = idx && pending && heap && order && cstart && child ? 0 : -ENOMEM;
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            idx[i] = (id_index){r->cats[i].id, i};
        qsort(idx, n, sizeof *idx, id_index_cmp);
        /* Edges parent -> child, for every holder of the parent's ID. */
        for (int pass = 0; pass < 2; pass++) {
            size_t *fill = pass ? calloc(n, sizeof *fill) : NULL;
            if (pass && !fill) {
                rc = -ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < r->cats[i].nparents; p++) {
                    id_index key = {r->cats[i].parents[p].id, 0};
                    size_t lo = 0, hi = n;
                    while (lo < hi) { /* first entry with this ID */
                        size_t mid = (lo + hi) / 2;
                        if (strcmp(idx[mid].id, key.id) < 0)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    for (size_t k = lo; k < n && strcmp(idx[k].id, key.id) == 0; k++) {
                        size_t par = idx[k].at;
                        if (par == i)
                            continue;
                        if (!pass) {
                            cstart[par + 1]++;
                            pending[i]++;
                        } else {
                            child[cstart[par] + fill[par]++] = i;
                        }
                    }
                }
            if (!pass)
                for (size_t i = 0; i < n; i++)
                    cstart[i + 1] += cstart[i];
            free(fill);
        }
    }
    size_t hn = 0, done = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (pending[i] == 0)
            heap_push(heap, &hn, i);
    while (!rc && hn) {
        size_t i = heap_pop(heap, &hn);
        order[done++] = i;
        for (size_t k = cstart[i]; k < cstart[i + 1]; k++)
            if (--pending[child[k]] == 0)
                heap_push(heap, &hn, child[k]);
    }
    if (!rc && done != n) {
        for (size_t i = 0; i < n; i++)
            if (pending[i]) {
                snprintf(r->source, sizeof r->source, "category %s", r->cats[i].id);
                break;
            }
        rc = CM_EPARSE;
    }
    cat_doc *out = rc ? NULL : malloc(n * sizeof *out);
    if (!rc && !out)
        rc = -ENOMEM;
    if (!rc) {
        for (size_t k = 0; k < n; k++)
            out[k] = r->cats[order[k]];
        free(r->cats);
        r->cats = out;
    }
    free(idx);
    free(pending);
    free(heap);
    free(order);
    free(cstart);
    free(child);
    return rc;
}

static int emit_category(catalog_reader *r, catalog_update *u)
{
    cat_doc *c = &r->cats[r->catpos++];
    snprintf(r->source, sizeof r->source, "category %s", c->id);
    int rc = updxml_parse(c->xml, c->len, &u->parsed);
    if (rc)
        return rc;
    memcpy(u->update_id, c->id, sizeof u->update_id);
    u->revision = u->parsed.revision;
    u->revision_id = c->rid;
    u->is_category = 1;
    u->category_type = c->type;
    u->xml = c->xml;
    u->xml_len = c->len;
    c->xml = NULL;
    return 1;
}

/* ---------- directory form ---------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_open(catalog_reader *r)
{
    DIR *d = opendir(r->path);
    if (!d)
        return -errno;
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 5 || strcasecmp(e->d_name + n - 4, ".xml") != 0)
            continue;
        if (r->nnames >= (size_t)MAX_ENTRIES) {
            rc = CM_ETOOBIG;
            break;
        }
        if (r->nnames == cap) {
            size_t nc = cap ? cap * 2 : 256;
            char **p = realloc(r->names, nc * sizeof *p);
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            r->names = p;
            cap = nc;
        }
        r->names[r->nnames] = strdup(e->d_name);
        if (!r->names[r->nnames])
            rc = -ENOMEM;
        else
            r->nnames++;
    }
    closedir(d);
    if (rc)
        return rc;
    if (r->nnames)
        qsort(r->names, r->nnames, sizeof *r->names, name_cmp);
    r->name_is_cat = calloc(r->nnames ? r->nnames : 1, 1);
    return r->name_is_cat ? 0 : -ENOMEM;
}

/* Read a directory entry, refusing links, non-files and oversized files. */
static int dir_read(catalog_reader *r, const char *name, size_t prefix, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char path[8192];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", r->path, name) >= sizeof path)
        return CM_ENAME;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? CM_ENAME : -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = CM_ENAME;
    else if ((unsigned long long)st.st_size > UPDXML_MAX_DOC)
        rc = CM_ETOOBIG;
    size_t want = rc ? 0 : (size_t)st.st_size;
    if (prefix && want > prefix)
        want = prefix;
    char *buf = rc ? NULL : malloc(want + 1);
    if (!rc && !buf)
        rc = -ENOMEM;
    size_t got = 0;
    while (!rc && got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : CM_EPARSE;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* Pass one: the documents that are categories, kept; the others only flagged. */
static int dir_load_categories(catalog_reader *r)
{
    for (size_t i = 0; i < r->nnames; i++) {
        snprintf(r->source, sizeof r->source, "%s", r->names[i]);
        char *buf;
        size_t len;
        /* UpdateType sits in Properties near the top; a prefix tells most apart. */
        int rc = dir_read(r, r->names[i], 8192, &buf, &len);
        if (rc)
            return rc;
        /* The quoted value: IsCategory="true" and CategoryType= do not match. */
        int maybe = strstr(buf, "\"Category\"") || strstr(buf, "'Category'");
        free(buf);
        if (!maybe)
            continue;
        rc = dir_read(r, r->names[i], 0, &buf, &len);
        if (rc)
            return rc;
        updxml_update u;
        rc = updxml_parse(buf, len, &u);
        if (!rc && u.type == UPDXML_TYPE_CATEGORY) {
            rc = keep_category(r, &u, buf, len, (long)i, 0);
            r->name_is_cat[i] = 1;
        }
        updxml_free(&u);
        free(buf);
        if (rc)
            return rc;
    }
    return sort_categories(r);
}

static int dir_next(catalog_reader *r, catalog_update *u)
{
    while (r->namepos < r->nnames && r->name_is_cat[r->namepos])
        r->namepos++;
    if (r->namepos >= r->nnames)
        return 0;
    const char *name = r->names[r->namepos++];
    snprintf(r->source, sizeof r->source, "%s", name);
    int rc = dir_read(r, name, 0, &u->xml, &u->xml_len);
    if (!rc)
        rc = updxml_parse(u->xml, u->xml_len, &u->parsed);
    if (rc)
        return rc;
    memcpy(u->update_id, u->parsed.update_id, sizeof u->update_id);
    u->revision = u->parsed.revision;
    u->is_category = u->parsed.type == UPDXML_TYPE_CATEGORY;
    u->category_type = u->parsed.category_type;
    return 1;
}

/* ---------- cab form ---------- */

/* Extract one member to memory, within max bytes. */
static int cab_extract_mem(catalog_reader *r, const cab *c, const char *name, size_t max,
                           membuf *out, int required)
{
    struct mscabd_file *f = cab_find(c, name);
    if (!f)
        return required ? CM_EPARSE : 1;
    if (f->length > max)
        return CM_ETOOBIG;
    out->max = max;
    r->sys.target = out;
    int e = r->cabd->extract(r->cabd, f, &MEM_MARK);
    r->sys.target = NULL;
    if (out->over)
        return CM_ETOOBIG;
    if (e != MSPACK_ERR_OK)
        return e == MSPACK_ERR_NOMEMORY ? -ENOMEM : CM_EPARSE;
    if (out->len != f->length)
        return CM_EPARSE;
    if (!out->p && mb_put(out, "", 0))
        return -ENOMEM;
    return 0;
}

static int cab_extract_file(catalog_reader *r, const cab *c, const char *name, const char *dest,
                            long max)
{
    struct mscabd_file *f = cab_find(c, name);
    if (!f)
        return CM_EPARSE;
    if ((long)f->length > max)
        return CM_ETOOBIG;
    int e = r->cabd->extract(r->cabd, f, dest);
    if (e != MSPACK_ERR_OK) {
        unlink(dest);
        return e == MSPACK_ERR_NOMEMORY ? -ENOMEM : CM_EPARSE;
    }
    return 0;
}

static int lang_bit(catalog_reader *r, const char *name, uint64_t *mask)
{
    /* The same rule as a document's languages: they name the catalog's folders. */
    if (!updxml_util_valid_language(name))
        return CM_EPARSE;
    for (int i = 0; i < r->nlangs; i++)
        if (strcmp(r->langs[i], name) == 0) {
            *mask |= 1ULL << i;
            return 0;
        }
    if (r->nlangs >= MAX_LANGS)
        return CM_ETOOBIG;
    snprintf(r->langs[r->nlangs], sizeof r->langs[0], "%s", name);
    *mask |= 1ULL << r->nlangs++;
    return 0;
}

/*
 * FileLocations: digest -> URL.  package.xml lists them after every update,
 * so they are kept, compactly: "digest\0url\0" strings in one pool, and a
 * hash table of 32-bit offsets into it (0: empty slot).
 */
static int url_put(catalog_reader *r, const char *digest, const char *url)
{
    size_t dl = strlen(digest), ul = strlen(url);
    if (dl == 0 || dl >= UPDXML_DIGEST_SIZE || ul > MAX_URL)
        return CM_EPARSE;
    if ((r->nurls + 1) * 2 > r->urlcap) {
        size_t nc = r->urlcap ? r->urlcap * 2 : 1024;
        uint32_t *n = calloc(nc, sizeof *n);
        if (!n)
            return -ENOMEM;
        for (size_t i = 0; i < r->urlcap; i++) {
            if (!r->urls[i])
                continue;
            size_t j = name_hash(r->urlpool + r->urls[i]) & (nc - 1);
            while (n[j])
                j = (j + 1) & (nc - 1);
            n[j] = r->urls[i];
        }
        free(r->urls);
        r->urls = n;
        r->urlcap = nc;
    }
    size_t j = name_hash(digest) & (r->urlcap - 1);
    while (r->urls[j]) {
        if (strcmp(r->urlpool + r->urls[j], digest) == 0)
            return 0; /* the first location wins */
        j = (j + 1) & (r->urlcap - 1);
    }
    if (r->urlpool_len == 0)
        r->urlpool_len = 1; /* offset 0 means "empty" */
    size_t need = r->urlpool_len + dl + ul + 2;
    if (need > UINT32_MAX / 2)
        return CM_ETOOBIG;
    if (need > r->urlpool_cap) {
        size_t nc = r->urlpool_cap ? r->urlpool_cap : 65536;
        while (nc < need)
            nc *= 2;
        char *p = realloc(r->urlpool, nc);
        if (!p)
            return -ENOMEM;
        r->urlpool = p;
        r->urlpool_cap = nc;
    }
    r->urls[j] = (uint32_t)r->urlpool_len;
    memcpy(r->urlpool + r->urlpool_len, digest, dl + 1);
    memcpy(r->urlpool + r->urlpool_len + dl + 1, url, ul + 1);
    r->urlpool_len = need;
    r->nurls++;
    return 0;
}

static const char *url_get(const catalog_reader *r, const char *digest)
{
    if (!r->urls)
        return NULL;
    size_t j = name_hash(digest) & (r->urlcap - 1);
    while (r->urls[j]) {
        const char *d = r->urlpool + r->urls[j];
        if (strcmp(d, digest) == 0)
            return d + strlen(d) + 1;
        j = (j + 1) & (r->urlcap - 1);
    }
    return NULL;
}

/* Category IDs named by package.xml, in a small open-addressing set. */
typedef struct idset {
    char (*ids)[UPDXML_GUID_SIZE];
    size_t cap, n;
} idset;

static int idset_add(idset *s, const char *id)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        char(*n)[UPDXML_GUID_SIZE] = calloc(nc, UPDXML_GUID_SIZE);
        if (!n)
            return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->ids[i][0])
                continue;
            size_t j = name_hash(s->ids[i]) & (nc - 1);
            while (n[j][0])
                j = (j + 1) & (nc - 1);
            memcpy(n[j], s->ids[i], UPDXML_GUID_SIZE);
        }
        free(s->ids);
        s->ids = n;
        s->cap = nc;
    }
    size_t j = name_hash(id) & (s->cap - 1);
    while (s->ids[j][0]) {
        if (strcmp(s->ids[j], id) == 0)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    memcpy(s->ids[j], id, UPDXML_GUID_SIZE);
    s->n++;
    return 0;
}

static int idset_has(const idset *s, const char *id)
{
    if (!s->ids)
        return 0;
    size_t j = name_hash(id) & (s->cap - 1);
    while (s->ids[j][0]) {
        if (strcmp(s->ids[j], id) == 0)
            return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

static char *reader_attr(xmlTextReaderPtr x, const char *name)
{
    return (char *)xmlTextReaderGetAttribute(x, (const xmlChar *)name);
}

static int pkg_update_start(catalog_reader *r, xmlTextReaderPtr x, size_t *cap)
{
    if (r->nentries >= (size_t)MAX_ENTRIES)
        return CM_ETOOBIG;
    if (r->nentries == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        pkg_entry *p = realloc(r->entries, nc * sizeof *p);
        if (!p)
            return -ENOMEM;
        r->entries = p;
        *cap = nc;
    }
    pkg_entry *e = &r->entries[r->nentries];
    memset(e, 0, sizeof *e);
    char *id = reader_attr(x, "UpdateId"), *rid = reader_attr(x, "RevisionId");
    char *rev = reader_attr(x, "RevisionNumber"), *bundle = reader_attr(x, "IsBundle");
    e->is_bundle = bundle && strcmp(bundle, "true") == 0;
    xmlFree(bundle);
    int rc = updxml_guid_normalize(id, e->id);
    if (!rc) {
        char *end;
        errno = 0;
        e->rid = rid ? strtoll(rid, &end, 10) : -1;
        if (!rid || errno || *end || e->rid < 0)
            rc = CM_EPARSE;
        e->revision = rev ? atoi(rev) : 0;
    }
    xmlFree(id);
    xmlFree(rid);
    xmlFree(rev);
    if (!rc)
        r->nentries++;
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const pkg_entry *x = a, *y = b;
    return x->rid < y->rid ? -1 : x->rid > y->rid;
}

/* Stream package.xml: the entries, the categories they name, the file locations. */
static int read_package_xml(catalog_reader *r, const char *path)
{
    xmlTextReaderPtr x =
        xmlReaderForFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!x)
        return CM_EPARSE;
    idset cats = {0};
    size_t cap = 0;
    int rc = 0, in_update = 0, ret;
    while (!rc && (ret = xmlTextReaderRead(x)) == 1) {
        int type = xmlTextReaderNodeType(x);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE) {
            rc = CM_EPARSE;
            break;
        }
        const char *nm = (const char *)xmlTextReaderConstLocalName(x);
        if (type == XML_READER_TYPE_END_ELEMENT && strcmp(nm, "Update") == 0) {
            in_update = 0;
            continue;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        int depth = xmlTextReaderDepth(x);
        if (depth == 0 && strcmp(nm, "OfflineSyncPackage") != 0) {
            rc = CM_EPARSE;
        } else if (depth == 2 && strcmp(nm, "Update") == 0) {
            rc = pkg_update_start(r, x, &cap);
            in_update = !xmlTextReaderIsEmptyElement(x);
        } else if (in_update && strcmp(nm, "Category") == 0) {
            char *id = reader_attr(x, "Id");
            char g[UPDXML_GUID_SIZE];
            rc = updxml_guid_normalize(id, g);
            if (!rc)
                rc = idset_add(&cats, g);
            xmlFree(id);
        } else if (in_update && strcmp(nm, "PayloadFiles") == 0) {
            r->entries[r->nentries - 1].has_payload = 1;
        } else if (in_update && strcmp(nm, "Language") == 0) {
            char *lang = reader_attr(x, "Name");
            rc = lang ? lang_bit(r, lang, &r->entries[r->nentries - 1].langs) : CM_EPARSE;
            xmlFree(lang);
        } else if (strcmp(nm, "FileLocation") == 0) {
            char *id = reader_attr(x, "Id"), *url = reader_attr(x, "Url");
            rc = id && url ? url_put(r, id, url) : CM_EPARSE;
            xmlFree(id);
            xmlFree(url);
        }
    }
    if (!rc && ret != 0)
        rc = CM_EPARSE;
    xmlFreeTextReader(x);
    if (!rc && r->nentries) {
        qsort(r->entries, r->nentries, sizeof *r->entries, entry_cmp);
        for (size_t i = 0; i < r->nentries; i++) {
            if (i && r->entries[i].rid == r->entries[i - 1].rid)
                rc = CM_EPARSE; /* two entries with one RevisionId */
            pkg_entry *e = &r->entries[i];
            /*
             * Candidates for the categories phase: what some update names as
             * a category, and what carries no payload and is no bundle (a
             * category nothing names yet, or a detectoid, which phase one
             * puts back in the stream).
             */
            e->is_cat = idset_has(&cats, e->id) || (!e->has_payload && !e->is_bundle);
        }
    }
    free(cats.ids);
    return rc;
}

static int part_cmp(const void *a, const void *b)
{
    const part *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int valid_part_name(const char *s)
{
    if (strncmp(s, "package", 7) != 0)
        return 0;
    const char *p = s + 7;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    return strcmp(p, ".cab") == 0 && p - s < 20;
}

/* index.xml: the CABLIST of packageN.cab and the first RevisionId of each. */
static int read_index(catalog_reader *r, const membuf *m)
{
    if (has_doctype(m->p, m->len) || m->len > INT_MAX)
        return CM_EPARSE;
    xmlDoc *d = xmlReadMemory(m->p, (int)m->len, "index.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d)
        return CM_EPARSE;
    int rc = 0;
    xmlNode *root = xmlDocGetRootElement(d), *list = NULL;
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "CABLIST") == 0)
            list = c;
    if (!list)
        rc = CM_EPARSE;
    for (xmlNode *c = list ? list->children : NULL; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "CAB") != 0)
            continue;
        char *name = (char *)xmlGetProp(c, (const xmlChar *)"NAME");
        char *start = (char *)xmlGetProp(c, (const xmlChar *)"RANGESTART");
        if (!name) {
            rc = CM_EPARSE;
        } else if (start) {
            char *end;
            errno = 0;
            long long s = strtoll(start, &end, 10);
            if (!valid_part_name(name))
                rc = CM_ENAME;
            else if (errno || *end || s < 0 || r->nparts >= 4096)
                rc = CM_EPARSE;
            else if (!cab_find(&r->outer, name))
                rc = CM_EPARSE;
            if (!rc) {
                part *p = realloc(r->parts, (r->nparts + 1) * sizeof *p);
                if (!p) {
                    rc = -ENOMEM;
                } else {
                    r->parts = p;
                    snprintf(p[r->nparts].name, sizeof p[0].name, "%s", name);
                    p[r->nparts++].start = s;
                }
            }
        }
        xmlFree(name);
        xmlFree(start);
    }
    xmlFreeDoc(d);
    if (!rc && r->nparts)
        qsort(r->parts, r->nparts, sizeof *r->parts, part_cmp);
    return rc;
}

static int cab_open(catalog_reader *r)
{
    msys_init(&r->sys);
    r->cabd = mspack_create_cab_decompressor(&r->sys.sys);
    if (!r->cabd)
        return -ENOMEM;
    r->inner_part = -1;
    snprintf(r->source, sizeof r->source, "%s", r->path);
    int rc = cab_load(r->cabd, r->path, "outer", &r->outer);
    if (rc)
        return rc;
    const char *tmp = getenv("TMPDIR");
    snprintf(r->tmpdir, sizeof r->tmpdir, "%s/cmcatalog.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r->tmpdir)) {
        r->tmpdir[0] = '\0';
        return -errno;
    }
    membuf m = {0};
    snprintf(r->source, sizeof r->source, "index.xml");
    rc = cab_extract_mem(r, &r->outer, "index.xml", 16u << 20, &m, 1);
    if (!rc)
        rc = read_index(r, &m);
    free(m.p);
    char pcab[4200], pxml[4200];
    snprintf(pcab, sizeof pcab, "%s/package.cab", r->tmpdir);
    snprintf(pxml, sizeof pxml, "%s/package.xml", r->tmpdir);
    if (!rc) {
        snprintf(r->source, sizeof r->source, "package.cab");
        rc = cab_extract_file(r, &r->outer, "package.cab", pcab, MAX_INNER_CAB);
    }
    cab pkg = {0};
    if (!rc)
        rc = cab_load(r->cabd, pcab, "package.cab", &pkg);
    if (!rc) {
        snprintf(r->source, sizeof r->source, "package.cab:package.xml");
        rc = cab_extract_file(r, &pkg, "package.xml", pxml, MAX_PACKAGE_XML);
    }
    cab_free(r->cabd, &pkg);
    unlink(pcab);
    if (!rc)
        rc = read_package_xml(r, pxml);
    unlink(pxml);
    return rc;
}

static int part_of(const catalog_reader *r, long long rid)
{
    int found = -1;
    for (size_t i = 0; i < r->nparts; i++)
        if (r->parts[i].start <= rid)
            found = (int)i;
    return found;
}

static int use_part(catalog_reader *r, int p)
{
    if (p == r->inner_part)
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/part.cab", r->tmpdir);
    if (r->inner_part >= 0) {
        cab_free(r->cabd, &r->inner);
        unlink(path);
        r->inner_part = -1;
    }
    snprintf(r->source, sizeof r->source, "%s", r->parts[p].name);
    int rc = cab_extract_file(r, &r->outer, r->parts[p].name, path, MAX_INNER_CAB);
    if (!rc)
        rc = cab_load(r->cabd, path, r->parts[p].name, &r->inner);
    if (rc) {
        cab_free(r->cabd, &r->inner);
        unlink(path);
        return rc;
    }
    r->inner_part = p;
    return 0;
}

/* Skip a UTF-8 byte order mark and an XML declaration at the start of a fragment. */
static const char *frag_body(const membuf *m, size_t *len)
{
    const char *p = m->p;
    size_t n = m->len;
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    }
    if (n >= 5 && memcmp(p, "<?xml", 5) == 0) {
        const char *e = memchr(p, '>', n);
        if (e) {
            n -= (size_t)(e + 1 - p);
            p = e + 1;
        }
    }
    *len = n;
    return p;
}

static int add_frag(catalog_reader *r, membuf *doc, const char *name, int required)
{
    snprintf(r->source, sizeof r->source, "%s:%s", r->inner.label, name);
    int rc = cab_extract_mem(r, &r->inner, name, UPDXML_MAX_DOC, &r->frag, required);
    if (rc)
        return rc == 1 ? 0 : rc;
    size_t n;
    const char *body = frag_body(&r->frag, &n);
    if (has_doctype(body, n))
        return CM_EPARSE;
    return mb_put(doc, body, n) ? (doc->over ? CM_ETOOBIG : -ENOMEM) : 0;
}

/* Fold ExtendedProperties (x/ fragment) into Properties, as one update document has it. */
static void merge_extended(xmlNode *root)
{
    xmlNode *props = NULL, *ext = NULL;
    for (xmlNode *c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!props && strcmp((const char *)c->name, "Properties") == 0)
            props = c;
        else if (!ext && strcmp((const char *)c->name, "ExtendedProperties") == 0)
            ext = c;
    }
    if (!props || !ext)
        return;
    for (xmlAttr *a = ext->properties; a; a = a->next) {
        if (a->ns || xmlHasProp(props, a->name))
            continue;
        xmlChar *v = xmlNodeGetContent((xmlNode *)a);
        if (v)
            xmlSetProp(props, a->name, v);
        xmlFree(v);
    }
    xmlNode *c = ext->children;
    while (c) {
        xmlNode *next = c->next;
        xmlUnlinkNode(c);
        xmlAddChild(props, c);
        c = next;
    }
    xmlUnlinkNode(ext);
    xmlFreeNode(ext);
}

static int attach_urls(catalog_reader *r, catalog_update *u)
{
    const updxml_update *p = &u->parsed;
    if (!p->nfiles)
        return 0;
    u->urls = calloc(p->nfiles, sizeof *u->urls);
    if (!u->urls)
        return -ENOMEM;
    for (size_t i = 0; i < p->nfiles; i++) {
        const char *url = url_get(r, p->files[i].digest);
        if (!url)
            continue;
        catalog_file_url *f = &u->urls[u->nurls];
        snprintf(f->digest, sizeof f->digest, "%s", p->files[i].digest);
        f->url = strdup(url);
        if (!f->url)
            return -ENOMEM;
        u->nurls++;
        if (!u->parsed.files[i].url)
            u->parsed.files[i].url = strdup(url);
    }
    return 0;
}

/*
 * One revision's c/, x/ and l/<lang>/ fragments stitched into one update
 * document: unprefixed fragment elements land in the update namespace
 * through a default namespace declaration, then the result is parsed and
 * written back canonically (so it matches what the directory form holds).
 */
static int cab_build(catalog_reader *r, const pkg_entry *e, catalog_update *u)
{
    int p = part_of(r, e->rid);
    if (p < 0)
        return CM_EPARSE;
    int rc = use_part(r, p);
    if (rc)
        return rc;
    membuf doc = {.max = UPDXML_MAX_DOC};
    char name[64];
    if (mb_str(&doc, "<upd:Update xmlns:upd=\"" UPDXML_NS "\" xmlns=\"" UPDXML_NS "\">"))
        return -ENOMEM;
    snprintf(name, sizeof name, "c/%lld", e->rid);
    rc = add_frag(r, &doc, name, 1);
    snprintf(name, sizeof name, "x/%lld", e->rid);
    if (!rc)
        rc = add_frag(r, &doc, name, 0);
    if (!rc && e->langs && mb_str(&doc, "<LocalizedPropertiesCollection>"))
        rc = -ENOMEM;
    for (int l = 0; !rc && l < r->nlangs; l++) {
        if (!(e->langs & (1ULL << l)))
            continue;
        snprintf(name, sizeof name, "l/%s/%lld", r->langs[l], e->rid);
        rc = add_frag(r, &doc, name, 0);
    }
    if (!rc && e->langs && mb_str(&doc, "</LocalizedPropertiesCollection>"))
        rc = -ENOMEM;
    if (!rc && mb_str(&doc, "</upd:Update>"))
        rc = doc.over ? CM_ETOOBIG : -ENOMEM;
    snprintf(r->source, sizeof r->source, "%s:c/%lld", r->inner.label, e->rid);
    xmlDoc *d = NULL;
    if (!rc) {
        d = xmlReadMemory(doc.p, (int)doc.len, "update.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!d || !xmlDocGetRootElement(d))
            rc = CM_EPARSE;
    }
    free(doc.p);
    xmlChar *mem = NULL;
    int memlen = 0;
    if (!rc) {
        merge_extended(xmlDocGetRootElement(d));
        xmlDocDumpMemoryEnc(d, &mem, &memlen, "UTF-8");
        if (!mem)
            rc = -ENOMEM;
    }
    if (d)
        xmlFreeDoc(d);
    if (!rc)
        rc = updxml_parse((const char *)mem, (size_t)memlen, &u->parsed);
    xmlFree(mem);
    if (!rc && strcmp(u->parsed.update_id, e->id) != 0)
        rc = CM_EPARSE; /* the fragment is not the update package.xml says */
    if (!rc)
        rc = updxml_write(&u->parsed, &u->xml, &u->xml_len);
    if (!rc)
        rc = attach_urls(r, u);
    if (rc)
        return rc;
    memcpy(u->update_id, e->id, sizeof u->update_id);
    u->revision = u->parsed.revision;
    u->revision_id = e->rid;
    u->is_category = u->parsed.type == UPDXML_TYPE_CATEGORY;
    u->category_type = u->parsed.category_type;
    return 1;
}

static int cab_load_categories(catalog_reader *r)
{
    for (size_t i = 0; i < r->nentries; i++) {
        pkg_entry *e = &r->entries[i];
        if (!e->is_cat)
            continue;
        catalog_update u = {0};
        int rc = cab_build(r, e, &u);
        if (rc == 1 && u.is_category)
            rc = keep_category(r, &u.parsed, u.xml, u.xml_len, (long)i, e->rid);
        else if (rc == 1)
            e->is_cat = 0; /* named as a category, but is not one: streamed in order */
        catalog_update_clear(&u);
        if (rc < 0)
            return rc;
    }
    return sort_categories(r);
}

static int cab_next(catalog_reader *r, catalog_update *u)
{
    while (r->entrypos < r->nentries && r->entries[r->entrypos].is_cat)
        r->entrypos++;
    if (r->entrypos >= r->nentries)
        return 0;
    return cab_build(r, &r->entries[r->entrypos++], u);
}

/* ---------- public ---------- */

int catalog_open(catalog_reader **out, const char *path)
{
    *out = NULL;
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return CM_ENOTFOUND;
    catalog_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->path = strdup(path);
    r->inner_part = -1;
    int rc = r->path ? 0 : -ENOMEM;
    if (!rc && S_ISDIR(st.st_mode)) {
        r->kind = CATALOG_DIR;
        rc = dir_open(r);
    } else if (!rc && S_ISREG(st.st_mode)) {
        unsigned char sig[4] = {0};
        FILE *f = fopen(path, "rb");
        if (!f || fread(sig, 1, 4, f) != 4 || memcmp(sig, "MSCF", 4) != 0)
            rc = CM_EPARSE;
        if (f)
            fclose(f);
        r->kind = CATALOG_CAB;
        if (!rc)
            rc = cab_open(r);
    } else if (!rc) {
        rc = CM_EPARSE;
    }
    if (rc) {
        catalog_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int catalog_next(catalog_reader *r, catalog_update *u)
{
    catalog_update_clear(u);
    if (r->err)
        return r->err;
    int rc = 0;
    if (r->phase == 0) {
        rc = r->kind == CATALOG_DIR ? dir_load_categories(r) : cab_load_categories(r);
        r->phase = 1;
    }
    if (!rc && r->phase == 1) {
        if (r->catpos < r->ncats)
            rc = emit_category(r, u);
        else
            r->phase = 2;
    }
    if (!rc && r->phase == 2) {
        rc = r->kind == CATALOG_DIR ? dir_next(r, u) : cab_next(r, u);
        if (rc == 0)
            r->phase = 3;
    }
    if (rc < 0) {
        catalog_update_clear(u);
        r->err = rc;
    }
    return rc;
}

void catalog_close(catalog_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncats; i++) {
        free(r->cats[i].xml);
        free(r->cats[i].parents);
    }
    free(r->cats);
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i]);
    free(r->names);
    free(r->name_is_cat);
    if (r->cabd) {
        cab_free(r->cabd, &r->inner);
        cab_free(r->cabd, &r->outer);
        mspack_destroy_cab_decompressor(r->cabd);
    }
    if (r->tmpdir[0]) {
        char p[4200];
        snprintf(p, sizeof p, "%s/part.cab", r->tmpdir);
        unlink(p);
        snprintf(p, sizeof p, "%s/package.cab", r->tmpdir);
        unlink(p);
        snprintf(p, sizeof p, "%s/package.xml", r->tmpdir);
        unlink(p);
        rmdir(r->tmpdir);
    }
    free(r->entries);
    free(r->urls);
    free(r->urlpool);
    free(r->parts);
    free(r->frag.p);
    free(r->path);
    free(r);
}
