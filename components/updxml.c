/*
 * updxml.c - the MS-WSUSSS update XML model: a safe libxml2 parser into
 * updxml_update and a canonical writer back to XML (see updxml.h).  The
 * parser builds a tree and walks it; the checks and attribute rules it
 * applies live in updxml_util.c, shared with updxml_parse_fields
 * (updxml_sax.c), which must answer the same.
 *
 * Safety: documents with a DOCTYPE are refused before libxml2 sees them
 * (no internal entities, so no entity expansion of any size), the parser
 * runs with XML_PARSE_NONET and without NOENT/DTDLOAD, and every string and
 * list is bounded.  The writer escapes everything and refuses text that is
 * not valid UTF-8 or holds characters XML 1.0 cannot carry, so what it
 * writes always parses back to the same structure.
 */
#include "updxml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cm_error.h"
#include "updxml_util.h"

/* ---------- names ---------- */

static const char *const type_names[] = {"Software", "Driver", "Category", "Detectoid"};
static const char *const cat_names[] = {"", "Company", "ProductFamily", "Product",
                                        "UpdateClassification"};

const char *updxml_type_name(updxml_type t)
{
    if ((int)t < 0 || (size_t)t >= sizeof type_names / sizeof type_names[0])
        return "";
    return type_names[t];
}

const char *updxml_category_type_name(updxml_category_type t)
{
    if ((int)t < 0 || (size_t)t >= sizeof cat_names / sizeof cat_names[0])
        return "";
    return cat_names[t];
}

int updxml_type_from_name(const char *name, updxml_type *out)
{
    for (size_t i = 0; name && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(name, type_names[i]) == 0) {
            *out = (updxml_type)i;
            return 0;
        }
    return CM_EPARSE;
}

int updxml_category_type_from_name(const char *name, updxml_category_type *out)
{
    for (size_t i = 1; name && i < sizeof cat_names / sizeof cat_names[0]; i++)
        if (strcmp(name, cat_names[i]) == 0) {
            *out = (updxml_category_type)i;
            return 0;
        }
    return CM_EPARSE;
}

/*
 * Each hex digit's lower-case form, 0 for anything else: isxdigit and
 * tolower in one lookup, without a call into the locale per character.
 */
static const char hex_lower[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5',
    ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9', ['a'] = 'a', ['b'] = 'b',
    ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['A'] = 'a', ['B'] = 'b',
    ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f'};

int updxml_guid_normalize(const char *in, char out[UPDXML_GUID_SIZE])
{
    if (!in)
        return CM_EPARSE;
    size_t n = strlen(in);
    if (n == 38 && in[0] == '{' && in[37] == '}') {
        in++;
        n = 36;
    }
    if (n != 36)
        return CM_EPARSE;
    for (size_t i = 0; i < 36; i++) {
        char c = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return CM_EPARSE;
            out[i] = '-';
        } else if ((out[i] = hex_lower[(unsigned char)c]) == 0) {
            return CM_EPARSE;
        }
    }
    out[36] = '\0';
    return 0;
}

/* ---------- freeing ---------- */

static void free_attrs(updxml_attr *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].value);
    }
    free(a);
}

void updxml_free(updxml_update *u)
{
    if (!u)
        return;
    free(u->default_language);
    free(u->creation_date);
    free(u->publication_state);
    free(u->publisher_id);
    free(u->detectoid_type);
    free(u->kb_article_id);
    free(u->security_bulletin_id);
    free(u->msrc_severity);
    free_attrs(u->prop_attrs, u->nprop_attrs);
    free(u->prop_extra_xml);
    free_attrs(u->cat_attrs, u->ncat_attrs);
    for (size_t i = 0; u->localized && i < u->nlocalized; i++) {
        free(u->localized[i].language);
        free(u->localized[i].title);
        free(u->localized[i].description);
    }
    free(u->localized);
    for (size_t i = 0; u->prereqs && i < u->nprereqs; i++)
        free(u->prereqs[i].ids);
    free(u->prereqs);
    free(u->bundled);
    free(u->superseded);
    free(u->categories);
    for (size_t i = 0; u->files && i < u->nfiles; i++) {
        free(u->files[i].name);
        free(u->files[i].modified);
        free(u->files[i].url);
    }
    free(u->files);
    free(u->extra_xml);
    memset(u, 0, sizeof *u);
}

/* ---------- parsing: the tree walk ---------- */

static int is_el(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return 0;
    if (!ns)
        return 1;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

/* Only whitespace text may sit between the elements the model reads. */
static int only_space(const xmlNode *n)
{
    const char *c = (const char *)n->content;
    return !c || updxml_util_only_space(c, strlen(c));
}

/* Elements among n's children; text other than whitespace is an error. */
static int check_children(const xmlNode *parent)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE && !only_space(c)) || c->type == XML_CDATA_SECTION_NODE ||
            c->type == XML_ENTITY_REF_NODE)
            return CM_EPARSE;
    return 0;
}

/*
 * The text of n (an element with only text and comments in it), bounded,
 * in *out.  The usual case is one text node, copied once; anything else
 * goes through xmlNodeGetContent.
 */
static int node_text(const xmlNode *n, char **out)
{
    const xmlNode *t = n->children;
    if (!t || (t->type == XML_TEXT_NODE && !t->next)) {
        const char *c = t && t->content ? (const char *)t->content : "";
        if (strlen(c) > UPDXML_MAX_TEXT)
            return CM_ETOOBIG;
        *out = strdup(c);
        return *out ? 0 : -ENOMEM;
    }
    xmlChar *v = xmlNodeGetContent((xmlNode *)n);
    if (!v)
        return -ENOMEM;
    if (strlen((const char *)v) > UPDXML_MAX_TEXT) {
        xmlFree(v);
        return CM_ETOOBIG;
    }
    *out = strdup((const char *)v);
    xmlFree(v);
    return *out ? 0 : -ENOMEM;
}

/* Text content of an element with only text children, bounded. */
static int get_text(const xmlNode *n, char **out)
{
    *out = NULL;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type != XML_TEXT_NODE && c->type != XML_COMMENT_NODE)
            return CM_EPARSE;
    return node_text(n, out);
}

/*
 * The tree's side of updxml_util_get_fn.  An attribute's value is its one
 * text node, lent as it is; a value in several nodes (which the parser does
 * not build without entities) is joined into tmp, freed by tree_attrs_done.
 */
typedef struct tree_attrs {
    const xmlNode *n;
    xmlChar *tmp[16]; /* more than any rules function asks for */
    size_t ntmp;
} tree_attrs;

static int tree_get(void *src, const char *name, const char **value)
{
    tree_attrs *t = src;
    *value = NULL;
    xmlAttr *a = xmlHasNsProp((xmlNode *)t->n, (const xmlChar *)name, NULL);
    if (!a || (a->ns && a->ns->href))
        return 0;
    const xmlNode *c = a->children;
    const char *v = "";
    if (c && c->type == XML_TEXT_NODE && !c->next) {
        v = c->content ? (const char *)c->content : "";
    } else if (c) {
        xmlChar *joined = t->ntmp < sizeof t->tmp / sizeof t->tmp[0]
                              ? xmlNodeGetContent((const xmlNode *)a)
                              : NULL;
        if (!joined)
            return -ENOMEM;
        t->tmp[t->ntmp++] = joined;
        v = (const char *)joined;
    }
    if (strlen(v) > UPDXML_MAX_TEXT)
        return CM_ETOOBIG;
    *value = v;
    return 0;
}

static void tree_attrs_done(tree_attrs *t)
{
    for (size_t i = 0; i < t->ntmp; i++)
        xmlFree(t->tmp[i]);
}

static int parse_ref(const xmlNode *n, updxml_ref *r, int need_revision)
{
    tree_attrs t = {.n = n};
    int rc = updxml_util_ref(tree_get, &t, need_revision, r);
    tree_attrs_done(&t);
    return rc;
}

/* UpdateIdentity children of n, appended to *arr. */
static int parse_ref_list_at(const xmlNode *n, updxml_ref **arr, size_t *count, int depth)
{
    size_t cap = *count;
    int rc = check_children(n);
    for (const xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (depth == 0 && is_el(c, UPDXML_NS, "AtLeastOne")) {
            /* A group inside BundledUpdates: the model keeps its members only. */
            rc = parse_ref_list_at(c, arr, count, 1);
            cap = *count; /* the allocation is at least this; regrow from here */
            continue;
        }
        if (!is_el(c, UPDXML_NS, "UpdateIdentity"))
            return CM_EPARSE;
        rc = updxml_util_grow((void **)arr, &cap, *count, sizeof **arr);
        if (!rc)
            rc = parse_ref(c, &(*arr)[*count], 0);
        if (!rc)
            (*count)++;
    }
    return rc;
}

static int parse_ref_list(const xmlNode *n, updxml_ref **arr, size_t *count)
{
    return parse_ref_list_at(n, arr, count, 0);
}

static int parse_prereqs(const xmlNode *n, updxml_update *u)
{
    size_t cap = 0, catcap = 0;
    int rc = check_children(n);
    for (const xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        rc = updxml_util_grow((void **)&u->prereqs, &cap, u->nprereqs, sizeof *u->prereqs);
        if (rc)
            break;
        updxml_prereq *p = &u->prereqs[u->nprereqs];
        if (is_el(c, UPDXML_NS, "UpdateIdentity")) {
            p->ids = calloc(1, sizeof *p->ids);
            if (!p->ids)
                return -ENOMEM;
            u->nprereqs++;
            rc = parse_ref(c, &p->ids[0], 0);
            p->nids = 1;
        } else if (is_el(c, UPDXML_NS, "AtLeastOne")) {
            u->nprereqs++;
            p->at_least_one = 1;
            tree_attrs t = {.n = c};
            rc = updxml_util_is_category(tree_get, &t, &p->is_category);
            tree_attrs_done(&t);
            if (!rc)
                rc = parse_ref_list(c, &p->ids, &p->nids);
            if (!rc)
                rc = updxml_util_prereq_done(u, p, &catcap);
        } else {
            rc = CM_EPARSE;
        }
    }
    return rc;
}

static int parse_relationships(const xmlNode *n, updxml_update *u)
{
    int rc = check_children(n);
    int seen_pre = 0, seen_bun = 0, seen_sup = 0;
    for (const xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, UPDXML_NS, "Prerequisites")) {
            rc = seen_pre++ ? CM_EPARSE : parse_prereqs(c, u);
        } else if (is_el(c, UPDXML_NS, "BundledUpdates")) {
            rc = seen_bun++ ? CM_EPARSE : parse_ref_list(c, &u->bundled, &u->nbundled);
        } else if (is_el(c, UPDXML_NS, "SupersededUpdates")) {
            rc = seen_sup++ ? CM_EPARSE : parse_ref_list(c, &u->superseded, &u->nsuperseded);
        }
        /* Other relationship kinds are not modelled; they are dropped. */
    }
    return rc;
}

static int parse_localized(const xmlNode *n, updxml_update *u)
{
    size_t cap = 0;
    int rc = check_children(n);
    for (const xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!is_el(c, UPDXML_NS, "LocalizedProperties"))
            return CM_EPARSE;
        rc = updxml_util_grow((void **)&u->localized, &cap, u->nlocalized, sizeof *u->localized);
        if (rc)
            break;
        updxml_localized *l = &u->localized[u->nlocalized++];
        rc = check_children(c);
        for (const xmlNode *e = c->children; !rc && e; e = e->next) {
            if (e->type != XML_ELEMENT_NODE)
                continue;
            char **slot = NULL;
            if (is_el(e, UPDXML_NS, "Language"))
                slot = &l->language;
            else if (is_el(e, UPDXML_NS, "Title"))
                slot = &l->title;
            else if (is_el(e, UPDXML_NS, "Description"))
                slot = &l->description;
            if (!slot)
                continue; /* ReleaseNotes, UninstallNotes...: not modelled */
            if (*slot)
                return CM_EPARSE;
            rc = get_text(e, slot);
        }
        if (!rc)
            rc = updxml_util_localized_done(u);
    }
    return rc;
}

static int parse_files(const xmlNode *n, updxml_update *u)
{
    size_t cap = 0;
    int rc = check_children(n);
    for (const xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!is_el(c, UPDXML_NS, "File"))
            return CM_EPARSE;
        rc = updxml_util_grow((void **)&u->files, &cap, u->nfiles, sizeof *u->files);
        if (rc)
            break;
        updxml_file *f = &u->files[u->nfiles++];
        tree_attrs t = {.n = c};
        rc = updxml_util_file(tree_get, &t, f);
        tree_attrs_done(&t);
        for (const xmlNode *e = c->children; !rc && e; e = e->next) {
            if (!is_el(e, UPDXML_NS, "AdditionalDigest"))
                continue;
            tree_attrs ta = {.n = e};
            const char *alg = NULL;
            char *text = NULL;
            rc = tree_get(&ta, "Algorithm", &alg);
            if (!rc)
                rc = get_text(e, &text);
            if (!rc)
                rc = updxml_util_additional_digest(f, alg, text);
            free(text);
            tree_attrs_done(&ta);
            break;
        }
    }
    return rc;
}

/*
 * Serialise n as a self-contained element: a copy in a document of its
 * own, carrying the namespace declarations that were in scope for it
 * (prefixes used in attribute values, like type="cbs:Cbs", need them),
 * except upd: which every document the writer produces declares.
 */
static int dump_standalone(xmlNode *n, char **acc, size_t *acclen)
{
    xmlDoc *d = xmlNewDoc((const xmlChar *)"1.0");
    if (!d)
        return -ENOMEM;
    xmlNode *copy = xmlDocCopyNode(n, d, 1);
    if (!copy) {
        xmlFreeDoc(d);
        return -ENOMEM;
    }
    xmlDocSetRootElement(d, copy);
    xmlNs **list = xmlGetNsList(n->doc, n);
    for (size_t i = 0; list && list[i]; i++) {
        const xmlChar *pfx = list[i]->prefix;
        if (pfx && strcmp((const char *)pfx, "upd") == 0 && list[i]->href &&
            strcmp((const char *)list[i]->href, UPDXML_NS) == 0)
            continue;
        int declared = 0;
        for (xmlNs *ns = copy->nsDef; ns; ns = ns->next)
            if ((!ns->prefix && !pfx) ||
                (ns->prefix && pfx && strcmp((const char *)ns->prefix, (const char *)pfx) == 0))
                declared = 1;
        if (!declared)
            xmlNewNs(copy, list[i]->href, pfx);
    }
    xmlFree(list);
    xmlBuffer *b = xmlBufferCreate();
    int rc = b ? 0 : -ENOMEM;
    if (!rc && xmlNodeDump(b, d, copy, 0, 0) < 0)
        rc = CM_EPARSE;
    if (!rc) {
        size_t bl = (size_t)xmlBufferLength(b);
        if (*acclen + bl > UPDXML_MAX_DOC) {
            rc = CM_ETOOBIG;
        } else {
            char *p = realloc(*acc, *acclen + bl + 1);
            if (!p) {
                rc = -ENOMEM;
            } else {
                memcpy(p + *acclen, xmlBufferContent(b), bl);
                *acclen += bl;
                p[*acclen] = '\0';
                *acc = p;
            }
        }
    }
    if (b)
        xmlBufferFree(b);
    xmlFreeDoc(d);
    return rc;
}

static int add_attr(updxml_attr **arr, size_t *n, size_t *cap, const xmlAttr *a)
{
    if (a->ns && a->ns->href)
        return 0;
    int rc = updxml_util_grow((void **)arr, cap, *n, sizeof **arr);
    if (rc)
        return rc;
    xmlChar *v = xmlNodeGetContent((xmlNode *)a);
    if (!v)
        return -ENOMEM;
    if (strlen((const char *)v) > UPDXML_MAX_TEXT) {
        xmlFree(v);
        return CM_ETOOBIG;
    }
    (*arr)[*n].name = strdup((const char *)a->name);
    (*arr)[*n].value = strdup((const char *)v);
    xmlFree(v);
    (*n)++;
    return (*arr)[*n - 1].name && (*arr)[*n - 1].value ? 0 : -ENOMEM;
}

/* Attributes of n the model does not name (see updxml_util_prop_known), kept in document order. */
static int add_other_attrs(const xmlNode *n, const char *const *known, updxml_attr **arr,
                           size_t *count)
{
    size_t cap = 0;
    int rc = 0;
    for (const xmlAttr *a = n->properties; !rc && a; a = a->next)
        if (!updxml_util_is_known((const char *)a->name, known) || (a->ns && a->ns->href))
            rc = add_attr(arr, count, &cap, a);
    return rc;
}

static int parse_properties(xmlNode *n, updxml_update *u)
{
    int rc = check_children(n);
    if (!rc) {
        tree_attrs t = {.n = n};
        rc = updxml_util_properties(tree_get, &t, u);
        tree_attrs_done(&t);
    }
    if (!rc)
        rc = add_other_attrs(n, updxml_util_prop_known, &u->prop_attrs, &u->nprop_attrs);
    size_t xlen = 0;
    for (xmlNode *c = n->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char **slot = NULL;
        if (is_el(c, UPDXML_NS, "KBArticleID"))
            slot = &u->kb_article_id;
        else if (is_el(c, UPDXML_NS, "SecurityBulletinID"))
            slot = &u->security_bulletin_id;
        else if (is_el(c, UPDXML_NS, "MsrcSeverity"))
            slot = &u->msrc_severity;
        if (slot) {
            if (*slot)
                return CM_EPARSE;
            rc = get_text(c, slot);
        } else {
            rc = dump_standalone(c, &u->prop_extra_xml, &xlen);
        }
    }
    return rc;
}

/* 1 when n is the category's HandlerSpecificData (and it was read), 0 when not. */
static int parse_category_info(const xmlNode *n, updxml_update *u)
{
    const xmlNode *ci = NULL;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (is_el(c, UPDXML_NS_CATEGORY, "CategoryInformation"))
            ci = c;
    if (!ci)
        return 0;
    tree_attrs t = {.n = ci};
    int rc =
        updxml_util_category(tree_get, &t, u->category_type, &u->category_type, &u->display_order);
    tree_attrs_done(&t);
    if (!rc)
        rc = add_other_attrs(ci, updxml_util_cat_known, &u->cat_attrs, &u->ncat_attrs);
    return rc ? rc : 1;
}

static int parse_root(xmlNode *root, updxml_update *u)
{
    if (!is_el(root, UPDXML_NS, "Update"))
        return CM_EPARSE;
    int rc = check_children(root);
    int seen_id = 0, seen_props = 0, seen_loc = 0, seen_rel = 0, seen_files = 0;
    size_t xlen = 0;
    u->display_order = -1;
    u->is_public = -1;
    u->explicitly_deployable = -1;
    for (xmlNode *c = root->children; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, UPDXML_NS, "UpdateIdentity")) {
            updxml_ref r;
            rc = seen_id++ ? CM_EPARSE : parse_ref(c, &r, 1);
            if (!rc && r.revision < 1)
                rc = CM_EPARSE;
            if (!rc) {
                memcpy(u->update_id, r.id, sizeof u->update_id);
                u->revision = r.revision;
            }
        } else if (is_el(c, UPDXML_NS, "Properties")) {
            rc = seen_props++ ? CM_EPARSE : parse_properties(c, u);
        } else if (is_el(c, UPDXML_NS, "LocalizedPropertiesCollection")) {
            rc = seen_loc++ ? CM_EPARSE : parse_localized(c, u);
        } else if (is_el(c, UPDXML_NS, "Relationships")) {
            rc = seen_rel++ ? CM_EPARSE : parse_relationships(c, u);
        } else if (is_el(c, UPDXML_NS, "Files")) {
            rc = seen_files++ ? CM_EPARSE : parse_files(c, u);
        } else if (is_el(c, UPDXML_NS, "HandlerSpecificData") &&
                   (rc = parse_category_info(c, u)) != 0) {
            if (rc == 1)
                rc = 0;
        } else {
            rc = dump_standalone(c, &u->extra_xml, &xlen);
        }
    }
    if (!rc)
        rc = updxml_util_update_done(u, seen_id, seen_props);
    return rc;
}

int updxml_parse(const char *xml, size_t len, updxml_update *out)
{
    memset(out, 0, sizeof *out);
    int rc = updxml_util_precheck(xml, len);
    if (rc)
        return rc;
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlParserCtxtPtr ctxt = updxml_util_thread_ctxt();
    xmlDoc *doc = ctxt ? xmlCtxtReadMemory(ctxt, xml, (int)len, "update.xml", NULL, opts)
                       : xmlReadMemory(xml, (int)len, "update.xml", NULL, opts);
    if (!doc)
        return CM_EPARSE;
    rc = doc->intSubset || doc->extSubset ? CM_EPARSE : 0;
    if (!rc)
        rc = parse_root(xmlDocGetRootElement(doc), out);
    xmlFreeDoc(doc);
    if (rc) {
        updxml_free(out);
        return updxml_util_result(rc);
    }
    return 0;
}

const char *updxml_title(const updxml_update *u, const char *language)
{
    const updxml_localized *def = NULL;
    for (size_t i = 0; i < u->nlocalized; i++) {
        const updxml_localized *l = &u->localized[i];
        if (!l->title)
            continue;
        if (language && strcmp(l->language, language) == 0)
            return l->title;
        if (!def && u->default_language && strcmp(l->language, u->default_language) == 0)
            def = l;
    }
    if (def)
        return def->title;
    for (size_t i = 0; i < u->nlocalized; i++)
        if (u->localized[i].title)
            return u->localized[i].title;
    return NULL;
}

/* ---------- writing ---------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int err;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > nc)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) {
            b->err = -ENOMEM;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (XML 1.0 characters only), or 0. */
static size_t utf8_char(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
    size_t n;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

/* Escaped text (attr: for an attribute value in double quotes). */
static void sb_esc(sbuf *b, const char *s, int attr)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !b->err) {
        const unsigned char *run = p;
        while (*p && *p >= 0x20 && *p < 0x80 && *p != '&' && *p != '<' && *p != '>' && *p != '"')
            p++;
        sb_put(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        switch (*p) {
        case '&':
            sb_str(b, "&amp;");
            p++;
            continue;
        case '<':
            sb_str(b, "&lt;");
            p++;
            continue;
        case '>':
            sb_str(b, "&gt;");
            p++;
            continue;
        case '"':
            sb_str(b, attr ? "&quot;" : "\"");
            p++;
            continue;
        case '\r':
            sb_str(b, "&#13;");
            p++;
            continue;
        case '\t':
            sb_str(b, attr ? "&#9;" : "\t");
            p++;
            continue;
        case '\n':
            sb_str(b, attr ? "&#10;" : "\n");
            p++;
            continue;
        default:
            break;
        }
        size_t n = utf8_char(p);
        if (n == 0) {
            b->err = CM_EPARSE;
            return;
        }
        sb_put(b, (const char *)p, n);
        p += n;
    }
}

static void sb_attr(sbuf *b, const char *name, const char *value)
{
    if (!value)
        return;
    sb_str(b, " ");
    sb_str(b, name);
    sb_str(b, "=\"");
    sb_esc(b, value, 1);
    sb_str(b, "\"");
}

static void sb_attr_int(sbuf *b, const char *name, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    sb_attr(b, name, num);
}

static void sb_el(sbuf *b, const char *name, const char *text)
{
    if (!text)
        return;
    sb_str(b, "<upd:");
    sb_str(b, name);
    sb_str(b, ">");
    sb_esc(b, text, 0);
    sb_str(b, "</upd:");
    sb_str(b, name);
    sb_str(b, ">");
}

static int valid_ref(const updxml_ref *r)
{
    char tmp[UPDXML_GUID_SIZE];
    return updxml_guid_normalize(r->id, tmp) == 0 && strcmp(tmp, r->id) == 0 && r->revision >= 0;
}

static void sb_ref(sbuf *b, const updxml_ref *r)
{
    if (!valid_ref(r)) {
        b->err = CM_EPARSE;
        return;
    }
    sb_str(b, "<upd:UpdateIdentity UpdateID=\"");
    sb_str(b, r->id);
    sb_str(b, "\"");
    if (r->revision > 0)
        sb_attr_int(b, "RevisionNumber", r->revision);
    sb_str(b, "/>");
}

static int valid_attr_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

static void sb_attrs(sbuf *b, const updxml_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid_attr_name(a[i].name)) {
            b->err = CM_EPARSE;
            return;
        }
        sb_attr(b, a[i].name, a[i].value);
    }
}

static const char *bool_text(int v)
{
    return v < 0 ? NULL : (v ? "true" : "false");
}

int updxml_write(const updxml_update *u, char **xml, size_t *len)
{
    *xml = NULL;
    if (len)
        *len = 0;
    char id[UPDXML_GUID_SIZE];
    if (updxml_guid_normalize(u->update_id, id) || strcmp(id, u->update_id) != 0 ||
        u->revision < 1 || (int)u->type < 0 || u->type > UPDXML_TYPE_DETECTOID)
        return CM_EPARSE;
    if ((u->type == UPDXML_TYPE_CATEGORY) != (u->category_type > UPDXML_CAT_NONE &&
                                              u->category_type <= UPDXML_CAT_UPDATE_CLASSIFICATION))
        return CM_EPARSE;
    if (u->default_language && !updxml_util_valid_language(u->default_language))
        return CM_EPARSE;

    sbuf b = {0};
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<upd:Update xmlns:upd=\"" UPDXML_NS
               "\">\n");
    sb_str(&b, "<upd:UpdateIdentity UpdateID=\"");
    sb_str(&b, u->update_id);
    sb_str(&b, "\"");
    sb_attr_int(&b, "RevisionNumber", u->revision);
    sb_str(&b, "/>\n<upd:Properties");
    sb_attr(&b, "DefaultPropertiesLanguage", u->default_language);
    sb_attr(&b, "UpdateType", updxml_type_name(u->type));
    sb_attr(&b, "ExplicitlyDeployable", bool_text(u->explicitly_deployable));
    sb_attr(&b, "IsPublic", bool_text(u->is_public));
    sb_attr(&b, "DetectoidType", u->detectoid_type);
    /* PublicationState follows the expired flag, whatever the string says. */
    const char *state = u->publication_state;
    if (u->expired)
        state = "Expired";
    else if (state && strcmp(state, "Expired") == 0)
        state = "Published";
    sb_attr(&b, "PublicationState", state);
    sb_attr(&b, "CreationDate", u->creation_date);
    sb_attr(&b, "PublisherID", u->publisher_id);
    sb_attr(&b, "MsrcSeverity", u->msrc_severity);
    sb_attrs(&b, u->prop_attrs, u->nprop_attrs);
    if (u->kb_article_id || u->security_bulletin_id || u->prop_extra_xml) {
        sb_str(&b, ">");
        sb_el(&b, "KBArticleID", u->kb_article_id);
        sb_el(&b, "SecurityBulletinID", u->security_bulletin_id);
        if (u->prop_extra_xml)
            sb_str(&b, u->prop_extra_xml);
        sb_str(&b, "</upd:Properties>\n");
    } else {
        sb_str(&b, "/>\n");
    }

    if (u->nlocalized) {
        sb_str(&b, "<upd:LocalizedPropertiesCollection>\n");
        for (size_t i = 0; i < u->nlocalized; i++) {
            const updxml_localized *l = &u->localized[i];
            if (!updxml_util_valid_language(l->language)) {
                b.err = CM_EPARSE;
                break;
            }
            sb_str(&b, "<upd:LocalizedProperties>");
            sb_el(&b, "Language", l->language);
            sb_el(&b, "Title", l->title);
            sb_el(&b, "Description", l->description);
            sb_str(&b, "</upd:LocalizedProperties>\n");
        }
        sb_str(&b, "</upd:LocalizedPropertiesCollection>\n");
    }

    if (u->nprereqs || u->nbundled || u->nsuperseded) {
        sb_str(&b, "<upd:Relationships>\n");
        if (u->nprereqs) {
            sb_str(&b, "<upd:Prerequisites>");
            for (size_t i = 0; i < u->nprereqs; i++) {
                const updxml_prereq *p = &u->prereqs[i];
                if (p->nids == 0 || (!p->at_least_one && (p->nids != 1 || p->is_category))) {
                    b.err = CM_EPARSE;
                    break;
                }
                if (p->at_least_one)
                    sb_str(&b, p->is_category ? "<upd:AtLeastOne IsCategory=\"true\">"
                                              : "<upd:AtLeastOne>");
                for (size_t j = 0; j < p->nids; j++)
                    sb_ref(&b, &p->ids[j]);
                if (p->at_least_one)
                    sb_str(&b, "</upd:AtLeastOne>");
            }
            sb_str(&b, "</upd:Prerequisites>\n");
        }
        if (u->nbundled) {
            sb_str(&b, "<upd:BundledUpdates>");
            for (size_t i = 0; i < u->nbundled; i++)
                sb_ref(&b, &u->bundled[i]);
            sb_str(&b, "</upd:BundledUpdates>\n");
        }
        if (u->nsuperseded) {
            sb_str(&b, "<upd:SupersededUpdates>");
            for (size_t i = 0; i < u->nsuperseded; i++)
                sb_ref(&b, &u->superseded[i]);
            sb_str(&b, "</upd:SupersededUpdates>\n");
        }
        sb_str(&b, "</upd:Relationships>\n");
    }

    if (u->extra_xml) {
        sb_str(&b, u->extra_xml);
        sb_str(&b, "\n");
    }

    if (u->nfiles) {
        sb_str(&b, "<upd:Files>\n");
        for (size_t i = 0; i < u->nfiles; i++) {
            const updxml_file *f = &u->files[i];
            if (!updxml_util_valid_digest(f->digest) ||
                (f->additional_digest[0] && (!updxml_util_valid_digest(f->additional_digest) ||
                                             !f->additional_algorithm[0]))) {
                b.err = CM_EPARSE;
                break;
            }
            sb_str(&b, "<upd:File");
            sb_attr(&b, "Digest", f->digest);
            sb_attr(&b, "DigestAlgorithm", f->algorithm[0] ? f->algorithm : NULL);
            sb_attr(&b, "FileName", f->name);
            if (f->size >= 0)
                sb_attr_int(&b, "Size", f->size);
            sb_attr(&b, "Modified", f->modified);
            if (f->additional_digest[0]) {
                sb_str(&b, "><upd:AdditionalDigest");
                sb_attr(&b, "Algorithm", f->additional_algorithm);
                sb_str(&b, ">");
                sb_esc(&b, f->additional_digest, 0);
                sb_str(&b, "</upd:AdditionalDigest></upd:File>\n");
            } else {
                sb_str(&b, "/>\n");
            }
        }
        sb_str(&b, "</upd:Files>\n");
    }

    if (u->type == UPDXML_TYPE_CATEGORY) {
        sb_str(&b, "<upd:HandlerSpecificData type=\"cat:Category\" xmlns:cat=\"" UPDXML_NS_CATEGORY
                   "\"><cat:CategoryInformation");
        sb_attr(&b, "CategoryType", updxml_category_type_name(u->category_type));
        if (u->display_order >= 0)
            sb_attr_int(&b, "DisplayOrder", u->display_order);
        sb_attrs(&b, u->cat_attrs, u->ncat_attrs);
        sb_str(&b, "/></upd:HandlerSpecificData>\n");
    }
    sb_str(&b, "</upd:Update>\n");

    if (!b.err && b.len > UPDXML_MAX_DOC)
        b.err = CM_ETOOBIG;
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *xml = b.p;
    if (len)
        *len = b.len;
    return 0;
}
