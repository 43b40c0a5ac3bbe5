/*
 * updxml_sax.c - updxml_parse_fields(): the update model read with
 * libxml2's SAX2 interface, without building a tree, for callers that never
 * write the document back (wsyncmgr).  It answers exactly as updxml_parse()
 * does, field for field, but leaves out what the model keeps only for
 * writing back (prop_attrs, prop_extra_xml, cat_attrs, extra_xml).
 *
 * The tree walk (updxml.c) looks at a document in its own order: the text
 * among an element's children before the element's attributes, a title's
 * children before its length, the last CategoryInformation of a
 * HandlerSpecificData.  When a document breaks two rules, that order picks
 * the error, and the error picks the class (CM_EPARSE or CM_ETOOBIG).  So
 * this parser follows the walk's order where it differs from the
 * document's: a CM_ETOOBIG does not stop the parse, since a later part of
 * the document (stray text among the children of an element the walk had
 * already entered, or a well-formedness error anywhere) still makes it
 * CM_EPARSE.  CM_EPARSE and -ENOMEM stop it at once.
 *
 * What the tree walk copies into extra_xml and prop_extra_xml is not kept,
 * but its size is: the walk refuses a document whose copies come to more
 * than UPDXML_MAX_DOC, and copies can be larger than the document (every
 * copy carries the namespace declarations in scope, and the serializer
 * escapes).  The sizes below follow libxml2's serializer (xmlsave.c) for
 * what a parse can produce.
 *
 * The rules of each modelled element's attributes, and every value check,
 * are updxml_util.c's, shared with the tree walk.
 */
#include "updxml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "cm_error.h"
#include "updxml_util.h"

/* What the tree walk does with an element decides what this parser does with it (see
 * start_element). */
enum kind {
    K_SKIP,      /* the walk never looks inside */
    K_ROOT,      /* upd:Update */
    K_PROPS,     /* Properties */
    K_TEXT,      /* Language, Title, Description, KBArticleID...: text into a slot */
    K_DIGEST,    /* a File's first AdditionalDigest: text and its Algorithm */
    K_LOCS,      /* LocalizedPropertiesCollection */
    K_LOC,       /* LocalizedProperties */
    K_RELS,      /* Relationships */
    K_PREREQS,   /* Prerequisites */
    K_PRE_GROUP, /* an AtLeastOne in Prerequisites: a list of references */
    K_REFS,      /* BundledUpdates, SupersededUpdates: a list of references */
    K_GROUP,     /* an AtLeastOne inside a list: its members join the list */
    K_FILES,     /* Files */
    K_FILE,      /* File */
    K_HSD,       /* HandlerSpecificData: the category's, or copied (sized) */
    K_COPY       /* an element the walk copies, or inside one (sized) */
};

typedef struct frame {
    unsigned char kind;
    unsigned char checked;  /* check_children: text other than blanks, CDATA are errors */
    unsigned char children; /* sized: anything inside yet ("/>" or "></x>") */
    unsigned char upd_decl; /* sized: declares the upd prefix */
    unsigned char seen;     /* K_FILE: its AdditionalDigest; K_HSD: a CategoryInformation */
} frame;

#define FIXED_FRAMES 32
#define FIXED_NS 16
/* Documents up to this size are copied to the stack (most updates are 2 to 20 KB). */
#define SMALL_DOC 16384

typedef struct sax {
    xmlParserCtxtPtr ctxt;
    updxml_update *u;
    int rc;   /* the first error in the walk's order (see fail) */
    int done; /* the root element ended */

    frame *fr; /* fr[depth - 1] is the innermost open element */
    size_t depth, frcap;
    frame fixed[FIXED_FRAMES];

    const xmlChar *ns_upd; /* the dictionary's UPDXML_NS, once seen: compared by address */

    int seen_id, seen_props, seen_locs, seen_rels, seen_files, seen_pre, seen_bun, seen_sup;
    size_t loccap, precap, catcap, filecap;
    /* The list of references being read (K_PRE_GROUP, K_REFS and their K_GROUP). */
    updxml_ref **refs;
    size_t *nrefs, refcap;

    /* Text of the open K_TEXT or K_DIGEST element, bounded. */
    char **slot;
    char *text;
    size_t tlen, tcap;
    int toolong;
    /* The open K_DIGEST's Algorithm: enough of it for the length check. */
    int alg_set;
    char alg[17];

    /* The last CategoryInformation of the open HandlerSpecificData, read as the walk would. */
    int ci_rc;
    updxml_category_type ci_type;
    int ci_order;

    /*
     * The namespace declarations of the root and of Properties, as pairs
     * (prefix, URI) from the parser's dictionary: what a copy of one of
     * their children declares.
     */
    const xmlChar **ns;
    size_t nroot_ns, nprops_ns, nscap;
    const xmlChar *ns_fixed[2 * FIXED_NS];

    /* The copy being sized: its top element's depth, its length so far. */
    int sz_on;
    size_t sz_depth, sz_len;
    size_t *sz_acc;  /* &extra_len or &prop_len */
    int sz_upd_ns;   /* upd is UPDXML_NS in that scope (declared only when used) */
    int sz_upd_used; /* something inside uses upd from outside the copy */
    int sz_upd_decl; /* open elements of the copy that declare upd */
    size_t extra_len, prop_len;

    /* Attribute values lent to the rules, NUL-terminated and decoded. */
    char *scratch;
    size_t scap, sused;
    char scratch_fixed[1024];
} sax;

/* ---------- errors ---------- */

/*
 * CM_ETOOBIG is kept and the parse goes on (the walk had stopped there, but
 * a check it made earlier, on text still to come, or libxml2 on the rest of
 * the document, may make it CM_EPARSE); anything else ends the parse.
 */
static void fail(sax *s, int rc)
{
    if (rc == CM_ETOOBIG) {
        if (!s->rc)
            s->rc = rc;
        return;
    }
    s->rc = rc;
    xmlStopParser(s->ctxt);
}

static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    fail(ctx, CM_EPARSE);
}

/* Errors are read from the context; none is printed or passed to a global handler. */
static void quiet(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

/* ---------- names ---------- */

static int is_upd(sax *s, const xmlChar *uri)
{
    if (!uri)
        return 0;
    if (uri == s->ns_upd)
        return 1;
    if (strcmp((const char *)uri, UPDXML_NS) != 0)
        return 0;
    s->ns_upd = uri;
    return 1;
}

/* Names are short and mostly differ early: compared here rather than through a call to strcmp. */
static int is_name(const xmlChar *name, const char *want)
{
    while (*name && *name == (xmlChar)*want) {
        name++;
        want++;
    }
    return *name == (xmlChar)*want;
}

static int is_upd_prefix(const xmlChar *prefix)
{
    return prefix && strcmp((const char *)prefix, "upd") == 0;
}

static int same_prefix(const xmlChar *a, const xmlChar *b)
{
    return a == b || (a && b && strcmp((const char *)a, (const char *)b) == 0);
}

/* ---------- attributes ---------- */

/*
 * Without entity substitution libxml2 hands an attribute value with each
 * '&' (from &amp; or &#38;) as the five characters "&#38;" and no other
 * '&', which the tree builder turns back into '&'.  Decoded into out (room
 * for end - v bytes); the decoded length.
 */
static size_t decode_value(const xmlChar *v, const xmlChar *end, char *out)
{
    size_t n = 0;
    while (v < end) {
        const xmlChar *amp = memchr(v, '&', (size_t)(end - v));
        size_t run = (size_t)((amp ? amp : end) - v);
        memcpy(out + n, v, run);
        n += run;
        v += run;
        if (!amp)
            break;
        out[n++] = '&';
        v += end - v >= 5 && memcmp(v, "&#38;", 5) == 0 ? 5 : 1;
    }
    return n;
}

/* The decoded length of a value, counted without copying it (for values bounded, not kept). */
static size_t value_length(const xmlChar *v, const xmlChar *end)
{
    size_t n = (size_t)(end - v);
    for (const xmlChar *p = v; (p = memchr(p, '&', (size_t)(end - p))) != NULL; p++)
        if (end - p >= 5 && memcmp(p, "&#38;", 5) == 0)
            n -= 4;
    return n;
}

/* SAX2 hands attributes as (localname, prefix, URI, value, end) tuples. */
typedef struct sax_attrs {
    sax *s;
    int n;
    const xmlChar **a;
} sax_attrs;

/*
 * Room in the scratch area for every value of the element at once, so
 * values lent to one rules function stay where they are.
 */
static int attrs_begin(sax_attrs *t, sax *s, int n, const xmlChar **a)
{
    t->s = s;
    t->n = n;
    t->a = a;
    size_t need = 0;
    for (int i = 0; i < n; i++)
        need += (size_t)(a[5 * i + 4] - a[5 * i + 3]) + 1;
    s->sused = 0;
    if (need > s->scap) {
        char *p = s->scratch == s->scratch_fixed ? malloc(need) : realloc(s->scratch, need);
        if (!p)
            return -ENOMEM;
        s->scratch = p;
        s->scap = need;
    }
    return 0;
}

/* The SAX side of updxml_util_get_fn: values are decoded into the scratch area and lent from there.
 */
static int sax_get(void *src, const char *name, const char **value)
{
    sax_attrs *t = src;
    sax *s = t->s;
    *value = NULL;
    for (int i = 0; i < t->n; i++) {
        const xmlChar **a = t->a + 5 * i;
        /* Un-prefixed attributes are never in a namespace; prefixed ones are not the model's. */
        if (a[1] || !is_name(a[0], name))
            continue;
        size_t raw = (size_t)(a[4] - a[3]);
        if (s->sused + raw + 1 > s->scap)
            return -ENOMEM; /* each attribute is asked for once: attrs_begin made room */
        char *out = s->scratch + s->sused;
        size_t n = decode_value(a[3], a[4], out);
        if (n > UPDXML_MAX_TEXT)
            return CM_ETOOBIG;
        out[n] = '\0';
        s->sused += n + 1;
        *value = out;
        return 0;
    }
    return 0;
}

/*
 * The attributes the tree walk keeps in prop_attrs or cat_attrs: those in
 * no namespace (a prefix that names none makes a name like "p:x", which is
 * not a known one) and not in known.  Only their count and lengths matter.
 */
static int other_attrs(int n, const xmlChar **attrs, const char *const *known)
{
    size_t kept = 0;
    for (int i = 0; i < n; i++) {
        const xmlChar **a = attrs + 5 * i;
        if (a[2] || (!a[1] && updxml_util_is_known((const char *)a[0], known)))
            continue;
        if (kept++ >= UPDXML_MAX_ITEMS || value_length(a[3], a[4]) > UPDXML_MAX_TEXT)
            return CM_ETOOBIG;
    }
    return 0;
}

/* ---------- sizes of the copies the walk would make ---------- */

static size_t qname_length(const xmlChar *local, const xmlChar *prefix)
{
    return strlen((const char *)local) + (prefix ? strlen((const char *)prefix) + 1 : 0);
}

/* The length of ' xmlns:p="uri"' as xmlNsDumpOutput writes it (xmlBufWriteQuotedString quotes). */
static size_t decl_length(const xmlChar *prefix, const xmlChar *uri)
{
    const char *u = (const char *)uri;
    size_t n = 1 + (prefix ? 6 + strlen((const char *)prefix) : 5) + 1 + strlen(u) + 2;
    if (strchr(u, '"') && strchr(u, '\''))
        for (const char *p = u; (p = strchr(p, '"')) != NULL; p++)
            n += 5; /* &quot; */
    return n;
}

/* The length of element text as xmlEscapeContent writes it: markup characters and CR escaped. */
static size_t text_length(const xmlChar *ch, size_t len)
{
    size_t n = len;
    for (size_t i = 0; i < len; i++) {
        if (ch[i] == '<' || ch[i] == '>')
            n += 3;
        else if (ch[i] == '&' || ch[i] == '\r')
            n += 4;
    }
    return n;
}

/* The length of a character reference such as "&#xE9;", as xmlSerializeHexCharRef writes it. */
static size_t charref_length(unsigned cp)
{
    size_t digits = 1;
    while (cp >= 0x10 && digits < 6) {
        cp >>= 4;
        digits++;
    }
    return 4 + digits;
}

/*
 * An attribute value as xmlBufAttrSerializeTxtContent writes it in a
 * document without an encoding: the decoded value, escaped, with
 * everything outside ASCII as a character reference.
 */
static size_t value_out_length(const xmlChar *v, const xmlChar *end)
{
    size_t n = 0;
    while (v < end) {
        unsigned c = *v;
        if (c == '&') {
            n += 5;
            v += end - v >= 5 && memcmp(v, "&#38;", 5) == 0 ? 5 : 1;
            continue;
        }
        if (c >= 0x80) {
            size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            unsigned cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
            for (size_t i = 1; i < len && v + i < end; i++)
                cp = (cp << 6) | (v[i] & 0x3F);
            n += charref_length(cp);
            v += len;
            continue;
        }
        n += c == '\n' || c == '\r' ? 5
             : c == '\t'            ? 4
             : c == '"'             ? 6
             : c == '<' || c == '>' ? 4
                                    : 1;
        v++;
    }
    return n;
}

static int in_pairs(const xmlChar *prefix, int n, const xmlChar **pairs)
{
    for (int i = 0; i < n; i++)
        if (same_prefix(prefix, pairs[2 * i]))
            return 1;
    return 0;
}

/*
 * The declarations a copy's top element carries besides its own: those in
 * scope where it stands (Properties' over the root's), except a prefix it
 * declares itself, and except upd bound to UPDXML_NS, which dump_standalone
 * leaves out and libxml2's copy adds back only when something in the copy
 * uses it (sz_upd_ns, settled at the end).
 */
static size_t scope_length(sax *s, int props, int nown, const xmlChar **own)
{
    size_t n = 0;
    const xmlChar **root = s->ns, **pr = s->ns + 2 * s->nroot_ns;
    int npr = props ? (int)s->nprops_ns : 0;
    s->sz_upd_ns = 0;
    for (int pass = 0; pass < 2; pass++) {
        const xmlChar **pairs = pass ? root : pr;
        int count = pass ? (int)s->nroot_ns : npr;
        for (int i = 0; i < count; i++) {
            const xmlChar *p = pairs[2 * i], *uri = pairs[2 * i + 1];
            if (in_pairs(p, nown, own) || (pass && in_pairs(p, npr, pr)))
                continue;
            if (is_upd_prefix(p) && strcmp((const char *)uri, UPDXML_NS) == 0)
                s->sz_upd_ns = 1;
            else
                n += decl_length(p, uri);
        }
    }
    return n;
}

/* Adds the start tag of an element in a copy, without its ">" or "/>", which its end decides. */
static void size_start(sax *s, frame *f, const xmlChar *local, const xmlChar *prefix,
                       const xmlChar *uri, int nns, const xmlChar **ns, int nattrs,
                       const xmlChar **attrs)
{
    size_t n = 1 + qname_length(local, prefix);
    for (int i = 0; i < nns; i++) {
        n += decl_length(ns[2 * i], ns[2 * i + 1]);
        if (is_upd_prefix(ns[2 * i]))
            f->upd_decl = 1;
    }
    s->sz_upd_decl += f->upd_decl;
    if (uri && is_upd_prefix(prefix) && !s->sz_upd_decl)
        s->sz_upd_used = 1;
    for (int i = 0; i < nattrs; i++) {
        const xmlChar **a = attrs + 5 * i;
        n += 1 + qname_length(a[0], a[1]) + 2 + value_out_length(a[3], a[4]) + 1;
        if (a[2] && is_upd_prefix(a[1]) && !s->sz_upd_decl)
            s->sz_upd_used = 1;
    }
    s->sz_len += n;
}

/* Marks the innermost open element of a copy as having content: it ends "></x>", not "/>". */
static void size_child(sax *s)
{
    s->fr[s->depth - 1].children = 1;
}

/* ---------- the frame stack ---------- */

static frame *push(sax *s, enum kind kind, int checked)
{
    if (s->depth == s->frcap) {
        size_t nc = s->frcap * 2;
        frame *p = s->fr == s->fixed ? malloc(nc * sizeof *p) : realloc(s->fr, nc * sizeof *p);
        if (!p) {
            fail(s, -ENOMEM);
            return NULL;
        }
        if (s->fr == s->fixed)
            memcpy(p, s->fixed, sizeof s->fixed);
        s->fr = p;
        s->frcap = nc;
    }
    frame *f = &s->fr[s->depth++];
    memset(f, 0, sizeof *f);
    f->kind = (unsigned char)kind;
    f->checked = (unsigned char)checked;
    return f;
}

/* ---------- text ---------- */

static void text_begin(sax *s, char **slot)
{
    s->slot = slot;
    s->text = NULL;
    s->tlen = s->tcap = 0;
    s->toolong = 0;
}

static void text_add(sax *s, const xmlChar *ch, size_t len)
{
    if (s->toolong)
        return;
    if (s->tlen + len > UPDXML_MAX_TEXT) {
        s->toolong = 1; /* decided at the end: a child that is not text comes first */
        return;
    }
    if (s->tlen + len + 1 > s->tcap) {
        size_t nc = s->tcap * 2 > s->tlen + len + 1 ? s->tcap * 2 : s->tlen + len + 1;
        char *p = realloc(s->text, nc);
        if (!p) {
            fail(s, -ENOMEM);
            return;
        }
        s->text = p;
        s->tcap = nc;
    }
    memcpy(s->text + s->tlen, ch, len);
    s->tlen += len;
    s->text[s->tlen] = '\0';
}

/* Hands the element's text to the caller, who owns it, or gives the error get_text would. */
static int text_end(sax *s, char **out)
{
    *out = NULL;
    if (s->toolong) {
        free(s->text);
        s->text = NULL;
        return CM_ETOOBIG;
    }
    if (!s->text && !(s->text = strdup("")))
        return -ENOMEM;
    *out = s->text;
    s->text = NULL;
    return 0;
}

/* ---------- elements ---------- */

/* Starts sizing the copy the walk would make of f, a child of the root or of Properties. */
static void copy_begin(sax *s, frame *f, int props, const xmlChar *local, const xmlChar *prefix,
                       const xmlChar *uri, int nns, const xmlChar **ns, int nattrs,
                       const xmlChar **attrs)
{
    s->sz_on = 1;
    s->sz_depth = s->depth;
    s->sz_acc = props ? &s->prop_len : &s->extra_len;
    s->sz_upd_used = 0;
    s->sz_upd_decl = 0;
    s->sz_len = scope_length(s, props, nns, ns);
    size_start(s, f, local, prefix, uri, nns, ns, nattrs, attrs);
}

static void copy_end(sax *s)
{
    size_t n = s->sz_len;
    if (s->sz_upd_used && s->sz_upd_ns)
        n += decl_length((const xmlChar *)"upd", (const xmlChar *)UPDXML_NS);
    s->sz_on = 0;
    *s->sz_acc += n;
    if (*s->sz_acc > UPDXML_MAX_DOC)
        fail(s, CM_ETOOBIG);
}

/* Keeps an element's namespace declarations, since copies of its children carry them. */
static void keep_ns(sax *s, size_t *count, int nns, const xmlChar **ns)
{
    *count = 0;
    if (nns <= 0)
        return;
    size_t have = 2 * (s->nroot_ns + s->nprops_ns), need = have + 2 * (size_t)nns;
    if (need > s->nscap) {
        const xmlChar **p =
            s->ns == s->ns_fixed ? malloc(need * sizeof *p) : realloc(s->ns, need * sizeof *p);
        if (!p) {
            fail(s, -ENOMEM);
            return;
        }
        if (s->ns == s->ns_fixed)
            memcpy(p, s->ns_fixed, have * sizeof *p);
        s->ns = p;
        s->nscap = need;
    }
    memcpy(s->ns + have, ns, 2 * (size_t)nns * sizeof *ns);
    *count = (size_t)nns;
}

static void root_start(sax *s, const xmlChar *local, const xmlChar *uri, int nns,
                       const xmlChar **ns)
{
    if (!is_upd(s, uri) || !is_name(local, "Update")) {
        fail(s, CM_EPARSE);
        return;
    }
    s->u->display_order = -1;
    s->u->is_public = -1;
    s->u->explicitly_deployable = -1;
    keep_ns(s, &s->nroot_ns, nns, ns);
    push(s, K_ROOT, 1);
}

static void properties_start(sax *s, int nns, const xmlChar **ns, int nattrs, const xmlChar **attrs)
{
    /* The walk checks Properties' text first, so it still counts after a bad attribute. */
    if (!push(s, K_PROPS, 1))
        return;
    keep_ns(s, &s->nprops_ns, nns, ns);
    sax_attrs t;
    int rc = attrs_begin(&t, s, nattrs, attrs);
    if (!rc)
        rc = updxml_util_properties(sax_get, &t, s->u);
    if (!rc)
        rc = other_attrs(nattrs, attrs, updxml_util_prop_known);
    if (rc)
        fail(s, rc);
}

/* Reads an UpdateIdentity in a list of references (K_PRE_GROUP, K_REFS, K_GROUP). */
static void ref_start(sax *s, int nattrs, const xmlChar **attrs)
{
    sax_attrs t;
    int rc = updxml_util_grow((void **)s->refs, &s->refcap, *s->nrefs, sizeof **s->refs);
    if (!rc)
        rc = attrs_begin(&t, s, nattrs, attrs);
    if (!rc)
        rc = updxml_util_ref(sax_get, &t, 0, &(*s->refs)[*s->nrefs]);
    if (!rc)
        (*s->nrefs)++;
    if (rc)
        fail(s, rc);
    push(s, K_SKIP, 0);
}

static void refs_begin(sax *s, updxml_ref **arr, size_t *count)
{
    s->refs = arr;
    s->nrefs = count;
    s->refcap = 0;
}

static void prereq_start(sax *s, const xmlChar *local, const xmlChar *uri, int nattrs,
                         const xmlChar **attrs)
{
    updxml_update *u = s->u;
    int rc = updxml_util_grow((void **)&u->prereqs, &s->precap, u->nprereqs, sizeof *u->prereqs);
    updxml_prereq *p = rc ? NULL : &u->prereqs[u->nprereqs];
    sax_attrs t;
    if (!rc && is_upd(s, uri) && is_name(local, "UpdateIdentity")) {
        p->ids = calloc(1, sizeof *p->ids);
        if (!p->ids) {
            fail(s, -ENOMEM);
            return;
        }
        u->nprereqs++;
        rc = attrs_begin(&t, s, nattrs, attrs);
        if (!rc)
            rc = updxml_util_ref(sax_get, &t, 0, &p->ids[0]);
        p->nids = 1;
    } else if (!rc && is_upd(s, uri) && is_name(local, "AtLeastOne")) {
        u->nprereqs++;
        p->at_least_one = 1;
        rc = attrs_begin(&t, s, nattrs, attrs);
        if (!rc)
            rc = updxml_util_is_category(sax_get, &t, &p->is_category);
        if (!rc) {
            /* Only now does the walk check the group's children. */
            refs_begin(s, &p->ids, &p->nids);
            push(s, K_PRE_GROUP, 1);
            return;
        }
    } else if (!rc) {
        rc = CM_EPARSE;
    }
    if (rc)
        fail(s, rc);
    push(s, K_SKIP, 0);
}

static void file_start(sax *s, int nattrs, const xmlChar **attrs)
{
    updxml_update *u = s->u;
    sax_attrs t;
    int rc = updxml_util_grow((void **)&u->files, &s->filecap, u->nfiles, sizeof *u->files);
    if (!rc) {
        updxml_file *f = &u->files[u->nfiles++];
        rc = attrs_begin(&t, s, nattrs, attrs);
        if (!rc)
            rc = updxml_util_file(sax_get, &t, f);
    }
    if (rc)
        fail(s, rc);
    push(s, rc ? K_SKIP : K_FILE, 0);
}

static void digest_start(sax *s, int nattrs, const xmlChar **attrs)
{
    sax_attrs t;
    const char *alg = NULL;
    int rc = attrs_begin(&t, s, nattrs, attrs);
    if (!rc)
        rc = sax_get(&t, "Algorithm", &alg);
    if (rc) {
        fail(s, rc);
        push(s, K_SKIP, 0); /* the walk reads the attribute before looking at the text */
        return;
    }
    s->alg_set = alg != NULL;
    if (alg) {
        /* Sixteen characters or more is refused, so more than that need not be kept. */
        size_t n = strlen(alg);
        n = n < sizeof s->alg - 1 ? n : sizeof s->alg - 1;
        memcpy(s->alg, alg, n);
        s->alg[n] = '\0';
    }
    text_begin(s, NULL);
    push(s, K_DIGEST, 0);
}

/* Reads a CategoryInformation as if it were the last one, which is the one the walk reads. */
static void category_info(sax *s, int nattrs, const xmlChar **attrs)
{
    sax_attrs t;
    s->ci_type = UPDXML_CAT_NONE;
    s->ci_order = -1;
    s->ci_rc = attrs_begin(&t, s, nattrs, attrs);
    if (!s->ci_rc)
        s->ci_rc =
            updxml_util_category(sax_get, &t, s->u->category_type, &s->ci_type, &s->ci_order);
    if (!s->ci_rc)
        s->ci_rc = other_attrs(nattrs, attrs, updxml_util_cat_known);
}

/* Starts a text element whose text goes into slot; each may come only once. */
static void text_start(sax *s, char **slot)
{
    if (*slot) {
        fail(s, CM_EPARSE);
        return;
    }
    text_begin(s, slot);
    push(s, K_TEXT, 0);
}

/*
 * An element that may come once in its parent and whose children the walk
 * checks first; a list of references (K_REFS) names where its entries go.
 */
static void start_once(sax *s, int *seen, enum kind kind, updxml_ref **arr, size_t *count)
{
    if ((*seen)++) {
        fail(s, CM_EPARSE);
        return;
    }
    if (arr)
        refs_begin(s, arr, count);
    push(s, kind, 1);
}

/* Sizes an element inside a copy, or inside a HandlerSpecificData that may turn out to be one. */
static void copy_child(sax *s, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                       int nns, const xmlChar **ns, int nattrs, const xmlChar **attrs)
{
    if (!s->sz_on) {
        push(s, K_SKIP, 0);
        return;
    }
    size_child(s);
    frame *f = push(s, K_COPY, 0);
    if (f)
        size_start(s, f, local, prefix, uri, nns, ns, nattrs, attrs);
}

static void copy_element_end(sax *s, const frame *f, const xmlChar *local, const xmlChar *prefix)
{
    if (!s->sz_on)
        return;
    s->sz_len += f->children ? qname_length(local, prefix) + 4 : 2;
    s->sz_upd_decl -= f->upd_decl;
    if (s->depth + 1 == s->sz_depth)
        copy_end(s);
}

static void root_child(sax *s, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                       int nns, const xmlChar **ns, int nattrs, const xmlChar **attrs)
{
    int upd = is_upd(s, uri);
    if (upd && is_name(local, "UpdateIdentity")) {
        updxml_ref r;
        sax_attrs t;
        int rc = s->seen_id++ ? CM_EPARSE : attrs_begin(&t, s, nattrs, attrs);
        if (!rc)
            rc = updxml_util_ref(sax_get, &t, 1, &r);
        if (!rc && r.revision < 1)
            rc = CM_EPARSE;
        if (!rc) {
            memcpy(s->u->update_id, r.id, sizeof s->u->update_id);
            s->u->revision = r.revision;
        } else {
            fail(s, rc);
        }
        push(s, K_SKIP, 0);
    } else if (upd && is_name(local, "Properties")) {
        if (s->seen_props++)
            fail(s, CM_EPARSE);
        else
            properties_start(s, nns, ns, nattrs, attrs);
    } else if (upd && is_name(local, "LocalizedPropertiesCollection")) {
        start_once(s, &s->seen_locs, K_LOCS, NULL, NULL);
    } else if (upd && is_name(local, "Relationships")) {
        start_once(s, &s->seen_rels, K_RELS, NULL, NULL);
    } else if (upd && is_name(local, "Files")) {
        start_once(s, &s->seen_files, K_FILES, NULL, NULL);
    } else {
        /* Copied to extra_xml, unless it is the category's HandlerSpecificData. */
        int hsd = upd && is_name(local, "HandlerSpecificData");
        frame *f = push(s, hsd ? K_HSD : K_COPY, 0);
        if (f)
            copy_begin(s, f, 0, local, prefix, uri, nns, ns, nattrs, attrs);
    }
}

static void start_element(void *ctx, const xmlChar *local, const xmlChar *prefix,
                          const xmlChar *uri, int nns, const xmlChar **ns, int nattrs,
                          int ndefaulted, const xmlChar **attrs)
{
    (void)ndefaulted;
    sax *s = ctx;
    frame *parent = s->depth ? &s->fr[s->depth - 1] : NULL;
    if (s->rc) {
        /* After a CM_ETOOBIG only the checks the walk made before it still count. */
        if (parent && (parent->kind == K_TEXT || parent->kind == K_DIGEST))
            fail(s, CM_EPARSE);
        else
            push(s, K_SKIP, 0);
        return;
    }
    if (!parent) {
        root_start(s, local, uri, nns, ns);
        return;
    }
    updxml_update *u = s->u;
    int upd = is_upd(s, uri);
    switch ((enum kind)parent->kind) {
    case K_ROOT:
        root_child(s, local, prefix, uri, nns, ns, nattrs, attrs);
        return;
    case K_PROPS:
        if (upd && is_name(local, "KBArticleID")) {
            text_start(s, &u->kb_article_id);
        } else if (upd && is_name(local, "SecurityBulletinID")) {
            text_start(s, &u->security_bulletin_id);
        } else if (upd && is_name(local, "MsrcSeverity")) {
            text_start(s, &u->msrc_severity);
        } else {
            frame *f = push(s, K_COPY, 0);
            if (f)
                copy_begin(s, f, 1, local, prefix, uri, nns, ns, nattrs, attrs);
        }
        return;
    case K_TEXT:
    case K_DIGEST:
        fail(s, CM_EPARSE); /* text elements hold text and comments only */
        return;
    case K_LOCS: {
        if (!upd || !is_name(local, "LocalizedProperties")) {
            fail(s, CM_EPARSE);
            return;
        }
        int rc = updxml_util_grow((void **)&u->localized, &s->loccap, u->nlocalized,
                                  sizeof *u->localized);
        if (rc)
            fail(s, rc);
        else
            u->nlocalized++;
        push(s, rc ? K_SKIP : K_LOC, !rc);
        return;
    }
    case K_LOC: {
        updxml_localized *l = &u->localized[u->nlocalized - 1];
        if (upd && is_name(local, "Language"))
            text_start(s, &l->language);
        else if (upd && is_name(local, "Title"))
            text_start(s, &l->title);
        else if (upd && is_name(local, "Description"))
            text_start(s, &l->description);
        else
            push(s, K_SKIP, 0); /* ReleaseNotes, UninstallNotes...: not modelled */
        return;
    }
    case K_RELS:
        if (upd && is_name(local, "Prerequisites"))
            start_once(s, &s->seen_pre, K_PREREQS, NULL, NULL);
        else if (upd && is_name(local, "BundledUpdates"))
            start_once(s, &s->seen_bun, K_REFS, &u->bundled, &u->nbundled);
        else if (upd && is_name(local, "SupersededUpdates"))
            start_once(s, &s->seen_sup, K_REFS, &u->superseded, &u->nsuperseded);
        else
            push(s, K_SKIP, 0); /* other relationship kinds are dropped */
        return;
    case K_PREREQS:
        prereq_start(s, local, uri, nattrs, attrs);
        return;
    case K_PRE_GROUP:
    case K_REFS:
    case K_GROUP:
        if (upd && is_name(local, "UpdateIdentity"))
            ref_start(s, nattrs, attrs);
        else if (parent->kind != K_GROUP && upd && is_name(local, "AtLeastOne"))
            push(s, K_GROUP, 1); /* one level of grouping: its members join the list */
        else
            fail(s, CM_EPARSE);
        return;
    case K_FILES:
        if (!upd || !is_name(local, "File"))
            fail(s, CM_EPARSE);
        else
            file_start(s, nattrs, attrs);
        return;
    case K_FILE:
        if (!parent->seen && upd && is_name(local, "AdditionalDigest")) {
            parent->seen = 1; /* the first one only */
            digest_start(s, nattrs, attrs);
        } else {
            push(s, K_SKIP, 0);
        }
        return;
    case K_HSD:
        if (uri && is_name(local, "CategoryInformation") &&
            strcmp((const char *)uri, UPDXML_NS_CATEGORY) == 0) {
            /* A HandlerSpecificData with one is the category's and is not copied. */
            parent->seen = 1;
            s->sz_on = 0;
            category_info(s, nattrs, attrs);
            push(s, K_SKIP, 0);
        } else {
            copy_child(s, local, prefix, uri, nns, ns, nattrs, attrs);
        }
        return;
    case K_COPY:
        copy_child(s, local, prefix, uri, nns, ns, nattrs, attrs);
        return;
    case K_SKIP:
        push(s, K_SKIP, 0);
        return;
    }
}

static void end_element(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    (void)uri;
    sax *s = ctx;
    if (!s->depth)
        return;
    frame f = s->fr[--s->depth];
    if (s->rc) {
        free(s->text); /* an element whose text was being read when the parse stopped */
        s->text = NULL;
        return;
    }
    updxml_update *u = s->u;
    int rc = 0;
    switch ((enum kind)f.kind) {
    case K_ROOT:
        rc = updxml_util_update_done(u, s->seen_id, s->seen_props);
        s->done = 1;
        break;
    case K_TEXT:
        rc = text_end(s, s->slot);
        break;
    case K_DIGEST: {
        char *text = NULL;
        rc = text_end(s, &text);
        if (!rc)
            rc = updxml_util_additional_digest(&u->files[u->nfiles - 1], s->alg_set ? s->alg : NULL,
                                               text);
        free(text);
        break;
    }
    case K_LOC:
        rc = updxml_util_localized_done(u);
        break;
    case K_PRE_GROUP:
        rc = updxml_util_prereq_done(u, &u->prereqs[u->nprereqs - 1], &s->catcap);
        break;
    case K_HSD:
        if (!f.seen) {
            copy_element_end(s, &f, local, prefix); /* no CategoryInformation: copied */
        } else if (!(rc = s->ci_rc)) {
            u->category_type = s->ci_type;
            u->display_order = s->ci_order;
        }
        break;
    case K_COPY:
        copy_element_end(s, &f, local, prefix);
        break;
    default:
        break;
    }
    if (rc)
        fail(s, rc);
}

/* Handles text or CDATA among the children of the innermost open element. */
static void content(sax *s, const xmlChar *ch, int len, int cdata)
{
    if (!s->depth)
        return;
    frame *f = &s->fr[s->depth - 1];
    if (f->checked) {
        if (cdata || !updxml_util_only_space((const char *)ch, (size_t)len))
            fail(s, CM_EPARSE);
        return;
    }
    if (s->rc)
        return;
    if (f->kind == K_TEXT || f->kind == K_DIGEST) {
        if (cdata)
            fail(s, CM_EPARSE);
        else
            text_add(s, ch, (size_t)len);
    } else if ((f->kind == K_COPY || f->kind == K_HSD) && s->sz_on) {
        f->children = 1;
        s->sz_len += cdata ? 12 + (size_t)len : text_length(ch, (size_t)len);
    }
}

static void characters(void *ctx, const xmlChar *ch, int len)
{
    content(ctx, ch, len, 0);
}

static void cdata_block(void *ctx, const xmlChar *ch, int len)
{
    content(ctx, ch, len, 1);
}

/* Comments and processing instructions may stand among elements and are sized in copies. */
static void other_node(sax *s, size_t length, int in_text_ok)
{
    if (!s->depth)
        return;
    frame *f = &s->fr[s->depth - 1];
    if (f->kind == K_TEXT || f->kind == K_DIGEST) {
        if (!in_text_ok)
            fail(s, CM_EPARSE);
    } else if (!s->rc && (f->kind == K_COPY || f->kind == K_HSD) && s->sz_on) {
        f->children = 1;
        s->sz_len += length;
    }
}

static void comment(void *ctx, const xmlChar *value)
{
    other_node(ctx, 7 + strlen((const char *)value), 1);
}

static void processing_instruction(void *ctx, const xmlChar *target, const xmlChar *data)
{
    other_node(ctx, 4 + strlen((const char *)target) + (data ? 1 + strlen((const char *)data) : 0),
               0);
}

/* An entity reference needs a declared entity, so a DOCTYPE, which is refused anyway. */
static void reference(void *ctx, const xmlChar *name)
{
    (void)name;
    fail(ctx, CM_EPARSE);
}

static const xmlSAXHandler handler = {
    .internalSubset = refuse_doctype,
    .externalSubset = refuse_doctype,
    .startElementNs = start_element,
    .endElementNs = end_element,
    .characters = characters,
    .ignorableWhitespace = characters, /* as the tree builder: no blank-text guessing */
    .cdataBlock = cdata_block,
    .comment = comment,
    .processingInstruction = processing_instruction,
    .reference = reference,
    .serror = quiet,
    .initialized = XML_SAX2_MAGIC,
};

/* ---------- the parse ---------- */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * 1 when libxml2 reads the document as UTF-8 without converting it: it
 * starts with '<' and a second byte that is not NUL (so no UTF-16 or
 * UCS-4), or with the UTF-8 byte order mark, and an XML declaration, if
 * any, names UTF-8 or no encoding.  Such a document parses the same from
 * a plain memory input as from libxml2's input buffer, which only an
 * encoding switch needs.
 */
static int plain_utf8(const char *x, size_t len)
{
    size_t i = 0;
    if (!x || len < 2)
        return 0;
    if (len >= 3 && memcmp(x, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    else if (x[0] != '<' || x[1] == '\0')
        return 0;
    if (len - i < 6 || memcmp(x + i, "<?xml", 5) != 0 || !blank(x[i + 5]))
        return 1;
    const char *decl = x + i, *end = memmem(decl, len - i, "?>", 2);
    if (!end)
        return 0;
    /* A well-formed declaration has "encoding" nowhere but as its name. */
    const char *e = memmem(decl, (size_t)(end - decl), "encoding", 8);
    if (!e)
        return 1;
    const char *p = e + 8;
    while (p < end && blank(*p))
        p++;
    if (p == end || *p++ != '=')
        return 0;
    while (p < end && blank(*p))
        p++;
    if (p == end || (*p != '"' && *p != '\''))
        return 0;
    char q = *p++;
    const char *v = p;
    while (p < end && *p != q)
        p++;
    size_t n = (size_t)(p - v);
    return p < end && ((n == 5 && strncasecmp(v, "UTF-8", 5) == 0) ||
                       (n == 4 && strncasecmp(v, "UTF8", 4) == 0));
}

/*
 * Parse with the SAX handler in ctxt.  A plain UTF-8 document is read from
 * a NUL-terminated copy through a bare input (libxml2 relies on the NUL),
 * which saves the input buffer xmlCtxtReadMemory sets up: a fifth of the
 * parse of a small update.  Anything else goes through xmlCtxtReadMemory,
 * as updxml_parse does.
 */
static int run(xmlParserCtxtPtr ctxt, const char *xml, size_t len, int opts)
{
    if (!plain_utf8(xml, len)) {
        xmlCtxtReadMemory(ctxt, xml, (int)len, "update.xml", NULL, opts);
        return 0;
    }
    char small[SMALL_DOC], *copy = len < sizeof small ? small : malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, xml, len);
    copy[len] = '\0';
    xmlCtxtReset(ctxt);
    xmlParserInputPtr in = xmlNewInputStream(ctxt);
    if (!in) {
        if (copy != small)
            free(copy);
        return -ENOMEM;
    }
    in->base = in->cur = (const xmlChar *)copy;
    in->end = in->base + len;
    if (inputPush(ctxt, in) < 0) {
        if (copy != small)
            free(copy);
        return -ENOMEM;
    }
    xmlCtxtUseOptions(ctxt, opts);
    xmlParseDocument(ctxt);
    /* Nothing of the copy may outlive it in the context. */
    xmlFreeInputStream(inputPop(ctxt));
    if (copy != small)
        free(copy);
    return 0;
}

int updxml_parse_fields(const char *xml, size_t len, updxml_update *out)
{
    memset(out, 0, sizeof *out);
    int rc = updxml_util_precheck(xml, len);
    if (rc)
        return rc;
    xmlParserCtxtPtr ctxt = updxml_util_thread_ctxt(), own = NULL;
    if (!ctxt && !(ctxt = own = xmlNewParserCtxt()))
        return -ENOMEM;
    sax s = {.ctxt = ctxt,
             .u = out,
             .frcap = FIXED_FRAMES,
             .nscap = 2 * FIXED_NS,
             .scap = sizeof s.scratch_fixed};
    s.fr = s.fixed;
    s.ns = s.ns_fixed;
    s.scratch = s.scratch_fixed;

    /* The context is the one updxml_parse uses on this thread: its handler goes back after. */
    xmlSAXHandler saved = *ctxt->sax;
    void *saved_data = ctxt->userData;
    *ctxt->sax = handler;
    ctxt->userData = &s;
    rc = run(ctxt, xml, len, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int well_formed = ctxt->wellFormed;
    *ctxt->sax = saved;
    ctxt->userData = saved_data;
    if (own)
        xmlFreeParserCtxt(own);

    if (!rc)
        rc = s.rc;
    if ((!rc || rc == CM_ETOOBIG) && (!well_formed || (!rc && !s.done)))
        rc = CM_EPARSE;
    free(s.text);
    if (s.scratch != s.scratch_fixed)
        free(s.scratch);
    if (s.fr != s.fixed)
        free(s.fr);
    if (s.ns != s.ns_fixed)
        free(s.ns);
    if (rc) {
        updxml_free(out);
        return updxml_util_result(rc);
    }
    return 0;
}
