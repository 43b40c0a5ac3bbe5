/*
 * updxml_util.c - the checks and attribute rules both update XML parsers
 * share (see updxml_util.h), and the parser context each thread keeps.
 */
#include "updxml_util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"

const char *const updxml_util_prop_known[] = {
    "UpdateType", "DefaultPropertiesLanguage", "CreationDate",  "PublicationState", "PublisherID",
    "IsPublic",   "ExplicitlyDeployable",      "DetectoidType", "MsrcSeverity",     NULL};

const char *const updxml_util_cat_known[] = {"CategoryType", "DisplayOrder", NULL};

int updxml_util_is_known(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (name[0] == (*list)[0] && strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* ---------- before and after libxml2 ---------- */

/*
 * A DOCTYPE is the only way to declare entities; refuse it outright.  The
 * scan looks for the '!' (rare in update documents, unlike '<'), so it runs
 * at memchr's speed.
 */
static int has_doctype(const char *xml, size_t len)
{
    static const char pat[] = "<!DOCTYPE";
    const char *end = xml + len, *p = xml + 1;
    while (len >= sizeof pat - 1 && p < end && (p = memchr(p, '!', (size_t)(end - p))) != NULL) {
        if (p[-1] == '<' && (size_t)(end - p) >= sizeof pat - 2 &&
            memcmp(p + 1, pat + 2, sizeof pat - 3) == 0)
            return 1;
        p++;
    }
    return 0;
}

int updxml_util_precheck(const char *xml, size_t len)
{
    if (!xml)
        return CM_EPARSE;
    if (len > UPDXML_MAX_DOC)
        return CM_ETOOBIG;
    if (len == 0 || len > INT_MAX || has_doctype(xml, len))
        return CM_EPARSE;
    return 0;
}

int updxml_util_result(int rc)
{
    return rc == -ENOMEM ? rc : (rc == CM_ETOOBIG ? rc : CM_EPARSE);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctxt_key;
static int ctxt_key_ok;

/* Names a reused context may hold before it is replaced (they stay in its dictionary). */
#define CTXT_MAX_NAMES 20000

static void ctxt_free(void *c)
{
    xmlFreeParserCtxt(c);
}

static void xml_init(void)
{
    xmlInitParser();
    ctxt_key_ok = pthread_key_create(&ctxt_key, ctxt_free) == 0;
}

/*
 * A new context and dictionary per document was a sixth of the parse of a
 * small update, so each thread keeps one.
 */
xmlParserCtxtPtr updxml_util_thread_ctxt(void)
{
    pthread_once(&xml_once, xml_init);
    if (!ctxt_key_ok)
        return NULL;
    xmlParserCtxtPtr c = pthread_getspecific(ctxt_key);
    if (c && c->dict && xmlDictSize(c->dict) > CTXT_MAX_NAMES) {
        /* A document with very many names: its dictionary goes with the context. */
        pthread_setspecific(ctxt_key, NULL);
        xmlFreeParserCtxt(c);
        c = NULL;
    }
    if (!c && (c = xmlNewParserCtxt()) != NULL && pthread_setspecific(ctxt_key, c) != 0) {
        xmlFreeParserCtxt(c);
        c = NULL;
    }
    return c;
}

/* ---------- values ---------- */

int updxml_util_only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

int updxml_util_valid_language(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

int updxml_util_valid_digest(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= UPDXML_DIGEST_SIZE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/' && s[i] != '=')
            return 0;
    return 1;
}

/* "true"/"1" 1, "false"/"0" 0, NULL -1; anything else CM_EPARSE. */
static int parse_bool(const char *v, int *out)
{
    if (!v) {
        *out = -1;
        return 0;
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return CM_EPARSE;
    return 0;
}

static int parse_int(const char *v, long long min, long long max, long long *out)
{
    if (!v || !*v)
        return CM_EPARSE;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return CM_EPARSE;
    *out = x;
    return 0;
}

int updxml_util_grow(void **arr, size_t *cap, size_t n, size_t elsize)
{
    if (n >= UPDXML_MAX_ITEMS)
        return CM_ETOOBIG;
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, nc * elsize);
    if (!p)
        return -ENOMEM;
    memset((char *)p + *cap * elsize, 0, (nc - *cap) * elsize);
    *arr = p;
    *cap = nc;
    return 0;
}

static int add_category(updxml_update *u, size_t *cap, const updxml_ref *r)
{
    for (size_t i = 0; i < u->ncategories; i++)
        if (strcmp(u->categories[i].id, r->id) == 0)
            return 0;
    int rc = updxml_util_grow((void **)&u->categories, cap, u->ncategories, sizeof *u->categories);
    if (rc)
        return rc;
    u->categories[u->ncategories++] = *r;
    return 0;
}

/* ---------- the rules of each element's attributes ---------- */

/* s into a fixed-size field the caller has checked it fits (with its NUL). */
static void copy_checked(char *field, const char *s)
{
    memcpy(field, s, strlen(s) + 1);
}

/* An attribute the model keeps, copied into *out (left NULL when absent). */
static int get_copy(updxml_util_get_fn get, void *src, const char *name, char **out)
{
    const char *v = NULL;
    int rc = get(src, name, &v);
    if (!rc && v && !(*out = strdup(v)))
        rc = -ENOMEM;
    return rc;
}

int updxml_util_ref(updxml_util_get_fn get, void *src, int need_revision, updxml_ref *r)
{
    const char *id = NULL, *rev = NULL;
    int rc = get(src, "UpdateID", &id);
    if (!rc)
        rc = get(src, "RevisionNumber", &rev);
    if (!rc)
        rc = updxml_guid_normalize(id, r->id);
    if (!rc) {
        long long x = 0;
        if (rev)
            rc = parse_int(rev, 0, INT_MAX, &x);
        else if (need_revision)
            rc = CM_EPARSE;
        r->revision = (int)x;
    }
    return rc;
}

int updxml_util_properties(updxml_util_get_fn get, void *src, updxml_update *u)
{
    const char *type = NULL, *pub = NULL, *expl = NULL;
    int rc = get(src, "UpdateType", &type);
    if (!rc && !type)
        rc = CM_EPARSE;
    if (!rc)
        rc = updxml_type_from_name(type, &u->type);
    if (!rc)
        rc = get_copy(get, src, "DefaultPropertiesLanguage", &u->default_language);
    if (!rc && u->default_language && !updxml_util_valid_language(u->default_language))
        rc = CM_EPARSE;
    if (!rc)
        rc = get_copy(get, src, "CreationDate", &u->creation_date);
    if (!rc)
        rc = get_copy(get, src, "PublicationState", &u->publication_state);
    if (!rc)
        rc = get_copy(get, src, "PublisherID", &u->publisher_id);
    if (!rc)
        rc = get(src, "IsPublic", &pub);
    if (!rc)
        rc = parse_bool(pub, &u->is_public);
    if (!rc)
        rc = get(src, "ExplicitlyDeployable", &expl);
    if (!rc)
        rc = parse_bool(expl, &u->explicitly_deployable);
    if (!rc)
        rc = get_copy(get, src, "DetectoidType", &u->detectoid_type);
    if (!rc)
        rc = get_copy(get, src, "MsrcSeverity", &u->msrc_severity);
    u->expired = u->publication_state && strcmp(u->publication_state, "Expired") == 0;
    return rc;
}

int updxml_util_is_category(updxml_util_get_fn get, void *src, int *is_category)
{
    const char *v = NULL;
    int rc = get(src, "IsCategory", &v);
    if (!rc) {
        int b = 0;
        rc = parse_bool(v, &b);
        *is_category = b == 1;
    }
    return rc;
}

int updxml_util_file(updxml_util_get_fn get, void *src, updxml_file *f)
{
    const char *dig = NULL, *alg = NULL, *size = NULL;
    f->size = -1;
    int rc = get_copy(get, src, "FileName", &f->name);
    if (!rc)
        rc = get(src, "Digest", &dig);
    if (!rc)
        rc = get(src, "DigestAlgorithm", &alg);
    if (!rc)
        rc = get(src, "Size", &size);
    if (!rc)
        rc = get_copy(get, src, "Modified", &f->modified);
    if (!rc && (!dig || !updxml_util_valid_digest(dig)))
        rc = CM_EPARSE;
    if (!rc && alg && strlen(alg) >= sizeof f->algorithm)
        rc = CM_EPARSE;
    if (!rc && size)
        rc = parse_int(size, 0, LLONG_MAX, &f->size);
    if (!rc) {
        copy_checked(f->digest, dig);
        copy_checked(f->algorithm, alg ? alg : "");
    }
    return rc;
}

int updxml_util_additional_digest(updxml_file *f, const char *algorithm, const char *text)
{
    if (!text || !updxml_util_valid_digest(text) || !algorithm ||
        strlen(algorithm) >= sizeof f->additional_algorithm)
        return CM_EPARSE;
    copy_checked(f->additional_digest, text);
    copy_checked(f->additional_algorithm, algorithm);
    return 0;
}

int updxml_util_category(updxml_util_get_fn get, void *src, updxml_category_type current,
                         updxml_category_type *type, int *display_order)
{
    if (current != UPDXML_CAT_NONE)
        return CM_EPARSE;
    const char *ct = NULL, *order = NULL;
    int rc = get(src, "CategoryType", &ct);
    if (!rc)
        rc = updxml_category_type_from_name(ct, type);
    if (!rc)
        rc = get(src, "DisplayOrder", &order);
    if (!rc && order) {
        long long x = 0;
        rc = parse_int(order, 0, INT_MAX, &x);
        *display_order = (int)x;
    }
    return rc;
}

/* ---------- after an element's last child ---------- */

int updxml_util_localized_done(const updxml_update *u)
{
    const updxml_localized *l = &u->localized[u->nlocalized - 1];
    if (!updxml_util_valid_language(l->language))
        return CM_EPARSE;
    for (size_t i = 0; i + 1 < u->nlocalized; i++)
        if (strcmp(u->localized[i].language, l->language) == 0)
            return CM_EPARSE;
    return 0;
}

int updxml_util_prereq_done(updxml_update *u, const updxml_prereq *p, size_t *catcap)
{
    int rc = p->nids == 0 ? CM_EPARSE : 0;
    for (size_t i = 0; !rc && p->is_category && i < p->nids; i++)
        rc = add_category(u, catcap, &p->ids[i]);
    return rc;
}

int updxml_util_update_done(const updxml_update *u, int seen_identity, int seen_properties)
{
    if (!seen_identity || !seen_properties)
        return CM_EPARSE;
    if ((u->type == UPDXML_TYPE_CATEGORY) != (u->category_type != UPDXML_CAT_NONE))
        return CM_EPARSE;
    return 0;
}
