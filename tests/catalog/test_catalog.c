/*
 * test_catalog.c - cmocka tests of the update XML model (updxml), the CAB
 * writer, the catalog generator and the offline catalog reader, on real
 * files in temporary folders.  Run with one group name (updxml, cab, gen,
 * reader, hostile) or none for all.
 *
 * Golden files: tests/catalog/golden/ holds the MS-WSUSSS section 4 update
 * example and two Microsoft-shaped documents with their canonical forms.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <mspack.h>

#include "cabwrite.h"
#include "catalog.h"
#include "catalog_gen.h"
#include "cm_error.h"
#include "testutil.h"
#include "updxml.h"

#ifndef CM_CATALOG_TESTS_DIR
#error "CM_CATALOG_TESTS_DIR must name tests/catalog"
#endif

/* ---------- helpers ---------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return b;
}

static char *golden(const char *name, size_t *len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/golden/%s", CM_CATALOG_TESTS_DIR, name);
    char *b = slurp(p, len);
    if (!b)
        fail_msg("cannot read %s", p);
    return b;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static const char *DOC_HEAD =
    "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">";

/* A minimal valid document with one piece replaced, for the hostile cases. */
static char *doc_with(const char *identity, const char *props, const char *rest)
{
    char *s = NULL;
    if (asprintf(&s, "%s%s%s%s</upd:Update>", DOC_HEAD,
                 identity ? identity
                          : "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                            "RevisionNumber=\"1\"/>",
                 props ? props : "<upd:Properties UpdateType=\"Software\"/>", rest ? rest : "") < 0)
        return NULL;
    return s;
}

/* ---------- updxml_parse_fields against updxml_parse ---------- */

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int refs_same(const updxml_ref *a, const updxml_ref *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].id, b[i].id) != 0 || a[i].revision != b[i].revision)
            return 0;
    return 1;
}

#define SAME(cond, field)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return field;                                                                          \
    } while (0)

/*
 * The first field where t (from updxml_parse) and f (from
 * updxml_parse_fields) differ, or NULL: every field of the model, except
 * that f must have none of what only writing back needs.
 */
static const char *fields_differ(const updxml_update *t, const updxml_update *f)
{
    SAME(strcmp(t->update_id, f->update_id) == 0, "update_id");
    SAME(t->revision == f->revision, "revision");
    SAME(t->type == f->type, "type");
    SAME(t->category_type == f->category_type, "category_type");
    SAME(str_same(t->default_language, f->default_language), "default_language");
    SAME(str_same(t->creation_date, f->creation_date), "creation_date");
    SAME(str_same(t->publication_state, f->publication_state), "publication_state");
    SAME(t->expired == f->expired, "expired");
    SAME(str_same(t->publisher_id, f->publisher_id), "publisher_id");
    SAME(t->is_public == f->is_public, "is_public");
    SAME(t->explicitly_deployable == f->explicitly_deployable, "explicitly_deployable");
    SAME(str_same(t->detectoid_type, f->detectoid_type), "detectoid_type");
    SAME(str_same(t->kb_article_id, f->kb_article_id), "kb_article_id");
    SAME(str_same(t->security_bulletin_id, f->security_bulletin_id), "security_bulletin_id");
    SAME(str_same(t->msrc_severity, f->msrc_severity), "msrc_severity");
    SAME(t->display_order == f->display_order, "display_order");
    SAME(t->nlocalized == f->nlocalized, "nlocalized");
    for (size_t i = 0; i < t->nlocalized; i++) {
        SAME(str_same(t->localized[i].language, f->localized[i].language), "localized.language");
        SAME(str_same(t->localized[i].title, f->localized[i].title), "localized.title");
        SAME(str_same(t->localized[i].description, f->localized[i].description),
             "localized.description");
    }
    SAME(t->nprereqs == f->nprereqs, "nprereqs");
    for (size_t i = 0; i < t->nprereqs; i++) {
        const updxml_prereq *a = &t->prereqs[i], *b = &f->prereqs[i];
        SAME(a->at_least_one == b->at_least_one, "prereqs.at_least_one");
        SAME(a->is_category == b->is_category, "prereqs.is_category");
        SAME(a->nids == b->nids && refs_same(a->ids, b->ids, a->nids), "prereqs.ids");
    }
    SAME(t->nbundled == f->nbundled && refs_same(t->bundled, f->bundled, t->nbundled), "bundled");
    SAME(t->nsuperseded == f->nsuperseded &&
             refs_same(t->superseded, f->superseded, t->nsuperseded),
         "superseded");
    SAME(t->ncategories == f->ncategories &&
             refs_same(t->categories, f->categories, t->ncategories),
         "categories");
    SAME(t->nfiles == f->nfiles, "nfiles");
    for (size_t i = 0; i < t->nfiles; i++) {
        const updxml_file *a = &t->files[i], *b = &f->files[i];
        SAME(str_same(a->name, b->name), "files.name");
        SAME(strcmp(a->digest, b->digest) == 0, "files.digest");
        SAME(strcmp(a->algorithm, b->algorithm) == 0, "files.algorithm");
        SAME(strcmp(a->additional_digest, b->additional_digest) == 0, "files.additional_digest");
        SAME(strcmp(a->additional_algorithm, b->additional_algorithm) == 0,
             "files.additional_algorithm");
        SAME(a->size == b->size, "files.size");
        SAME(str_same(a->modified, b->modified), "files.modified");
        SAME(str_same(a->url, b->url), "files.url");
    }
    SAME(f->nprop_attrs == 0 && !f->prop_attrs, "prop_attrs (must stay empty)");
    SAME(!f->prop_extra_xml, "prop_extra_xml (must stay empty)");
    SAME(f->ncat_attrs == 0 && !f->cat_attrs, "cat_attrs (must stay empty)");
    SAME(!f->extra_xml, "extra_xml (must stay empty)");
    return NULL;
}

static void assert_fields_same(const updxml_update *tree, const updxml_update *fields)
{
    const char *d = fields_differ(tree, fields);
    if (d)
        fail_msg("updxml_parse_fields differs from updxml_parse in %s", d);
}

/*
 * Both parsers on len bytes of xml, copied to a buffer of exactly that size
 * (so a read past the end shows under AddressSanitizer): the same result,
 * the same fields on success, nothing left behind on failure.  The result.
 */
static int parse_both(const char *xml, size_t len)
{
    static const updxml_update zero;
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, xml, len);
    updxml_update t, f;
    int rt = updxml_parse(copy, len, &t), rf = updxml_parse_fields(copy, len, &f);
    if (rt != rf)
        fail_msg("updxml_parse %d, updxml_parse_fields %d for: %.300s", rt, rf, xml);
    if (rt == 0) {
        assert_fields_same(&t, &f);
    } else {
        assert_memory_equal(&t, &zero, sizeof zero);
        assert_memory_equal(&f, &zero, sizeof zero);
    }
    updxml_free(&t);
    updxml_free(&f);
    free(copy);
    return rt;
}

/* parse_both on a string, which must give code. */
static void expect_both(const char *xml, int code)
{
    int rc = parse_both(xml, strlen(xml));
    if (rc != code)
        fail_msg("expected %d, got %d for: %.300s", code, rc, xml);
}

/* ---------- updxml ---------- */

static void test_spec_example_golden(void **state)
{
    (void)state;
    size_t len, glen;
    char *xml = golden("wsusss-sample2-detectoid.xml", &len);
    assert_int_equal(parse_both(xml, len), 0);
    char *want = golden("wsusss-sample2-detectoid.canonical.xml", &glen);
    updxml_update u;
    assert_int_equal(updxml_parse(xml, len, &u), 0);
    assert_string_equal(u.update_id, "17e993cd-cf5a-4276-9944-6af62ff7139c");
    assert_int_equal(u.revision, 100);
    assert_int_equal(u.type, UPDXML_TYPE_DETECTOID);
    assert_int_equal(u.category_type, UPDXML_CAT_NONE);
    assert_string_equal(u.detectoid_type, "Application Locale");
    assert_int_equal(u.is_public, 0);
    assert_int_equal(u.explicitly_deployable, 0);
    assert_string_equal(u.publication_state, "Published");
    assert_int_equal(u.expired, 0);
    assert_string_equal(u.creation_date, "2006-05-22T19:10:10.172Z");
    assert_string_equal(u.publisher_id, "dd79a08b-c3c2-4e05-9862-ee90f9585e33");
    assert_string_equal(u.default_language, "en");
    assert_int_equal(u.nlocalized, 1);
    assert_string_equal(u.localized[0].language, "en");
    assert_string_equal(u.localized[0].title, "SQL 2005 English ia64");
    assert_null(u.localized[0].description);
    assert_string_equal(updxml_title(&u, "de"), "SQL 2005 English ia64");
    assert_int_equal(u.nprereqs, 1);
    assert_int_equal(u.prereqs[0].at_least_one, 0);
    assert_string_equal(u.prereqs[0].ids[0].id, "60916385-7546-4e9b-836e-79d65e517bab");
    assert_int_equal(u.ncategories, 0);
    assert_int_equal(u.nbundled + u.nsuperseded + u.nfiles, 0);
    assert_non_null(u.extra_xml);
    assert_non_null(strstr(u.extra_xml, "MsiProductInstalled"));
    assert_non_null(strstr(u.extra_xml, "{3c4a397d-22b2-4ab0-849f-f5e12672caca}"));

    char *out;
    size_t olen;
    assert_int_equal(updxml_write(&u, &out, &olen), 0);
    assert_int_equal(olen, glen);
    assert_memory_equal(out, want, glen);
    /* Canonical is a fixed point. */
    updxml_update again;
    assert_int_equal(updxml_parse(out, olen, &again), 0);
    char *out2;
    size_t olen2;
    assert_int_equal(updxml_write(&again, &out2, &olen2), 0);
    assert_int_equal(olen2, olen);
    assert_memory_equal(out2, out, olen);
    free(out2);
    updxml_free(&again);
    free(out);
    updxml_free(&u);
    free(xml);
    free(want);
}

static void test_software_golden(void **state)
{
    (void)state;
    size_t len, glen;
    char *xml = golden("software-update.xml", &len);
    assert_int_equal(parse_both(xml, len), 0);
    char *want = golden("software-update.canonical.xml", &glen);
    updxml_update u;
    assert_int_equal(updxml_parse(xml, len, &u), 0);
    assert_string_equal(u.update_id, "4b62aa32-52f6-4c15-b739-1c8e696eb33e");
    assert_int_equal(u.revision, 201);
    assert_int_equal(u.type, UPDXML_TYPE_SOFTWARE);
    assert_int_equal(u.expired, 1);
    assert_string_equal(u.kb_article_id, "3011780");
    assert_string_equal(u.security_bulletin_id, "MS14-068");
    assert_string_equal(u.msrc_severity, "Critical");
    assert_int_equal(u.nlocalized, 2);
    assert_string_equal(updxml_title(&u, "de"),
                        "Sicherheitsupdate für Windows Server 2012 (KB3011780)");
    assert_string_equal(u.localized[0].description,
                        "A security issue has been identified & fixed <here>.");
    /* Product and classification, named through AtLeastOne IsCategory="true". */
    assert_int_equal(u.ncategories, 2);
    assert_string_equal(u.categories[0].id, "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    assert_string_equal(u.categories[1].id, "0fa1201d-4330-4fa8-8ae9-b877473b6441");
    assert_int_equal(u.nprereqs, 4);
    assert_int_equal(u.prereqs[3].at_least_one, 1);
    assert_int_equal(u.prereqs[3].is_category, 0);
    assert_int_equal(u.prereqs[3].nids, 2);
    assert_int_equal(u.nbundled, 1);
    assert_string_equal(u.bundled[0].id, "c1e93ef9-761f-4f60-8372-df9bf5009be0");
    assert_int_equal(u.bundled[0].revision, 200);
    assert_int_equal(u.nsuperseded, 1);
    assert_string_equal(u.superseded[0].id, "52bdd083-4169-4094-8eea-6230c7c1520d");
    assert_int_equal(u.nfiles, 1);
    assert_string_equal(u.files[0].name, "windows8-rt-kb3011780-x64.cab");
    assert_string_equal(u.files[0].digest, "7H2iUMbmhYmoR0DvXJmGIlDdmds=");
    assert_string_equal(u.files[0].algorithm, "SHA1");
    assert_int_equal(u.files[0].size, 1048576);
    assert_string_equal(u.files[0].additional_algorithm, "SHA256");
    assert_null(u.files[0].url);
    /* What the model does not name is kept: attributes, Properties children, handler data. */
    assert_int_equal(u.nprop_attrs, 3);
    assert_string_equal(u.prop_attrs[0].name, "Handler");
    assert_non_null(strstr(u.prop_extra_xml, "SupportUrl"));
    assert_non_null(strstr(u.extra_xml, "type=\"cbs:Cbs\""));
    assert_non_null(strstr(u.extra_xml, "xmlns:cbs="));
    assert_non_null(strstr(u.extra_xml, "bar:WindowsVersion"));
    char *out;
    size_t olen;
    assert_int_equal(updxml_write(&u, &out, &olen), 0);
    assert_int_equal(olen, glen);
    assert_memory_equal(out, want, glen);
    free(out);
    updxml_free(&u);
    free(xml);
    free(want);
}

static void test_category_golden(void **state)
{
    (void)state;
    size_t len, glen;
    char *xml = golden("category-product.xml", &len);
    assert_int_equal(parse_both(xml, len), 0);
    char *want = golden("category-product.canonical.xml", &glen);
    updxml_update u;
    assert_int_equal(updxml_parse(xml, len, &u), 0);
    assert_string_equal(u.update_id, "a105a108-7c9b-4518-bbbe-73f0fe30012b"); /* braces, case */
    assert_int_equal(u.type, UPDXML_TYPE_CATEGORY);
    assert_int_equal(u.category_type, UPDXML_CAT_PRODUCT);
    assert_int_equal(u.display_order, 1800);
    assert_int_equal(u.ncat_attrs, 3);
    assert_int_equal(u.ncategories, 1); /* its parent, the Windows product family */
    assert_string_equal(u.categories[0].id, "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d");
    assert_null(u.extra_xml);
    char *out;
    size_t olen;
    assert_int_equal(updxml_write(&u, &out, &olen), 0);
    assert_int_equal(olen, glen);
    assert_memory_equal(out, want, glen);
    free(out);
    updxml_free(&u);
    free(xml);
    free(want);
}

static char *xdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

/* Every field the model has, with text that needs escaping. */
static void build_full(updxml_update *u)
{
    memset(u, 0, sizeof *u);
    strcpy(u->update_id, "9a9bafe2-fbfc-4b0b-8479-49a2bb08cd5a");
    u->revision = 103;
    u->type = UPDXML_TYPE_DRIVER;
    u->default_language = xdup("en");
    u->creation_date = xdup("2020-02-29T23:59:59Z");
    u->publication_state = xdup("Published");
    u->expired = 1;
    u->publisher_id = xdup("395392a0-19c0-48b7-a927-f7c15066d905");
    u->is_public = 1;
    u->explicitly_deployable = 0;
    u->kb_article_id = xdup("4567890");
    u->security_bulletin_id = xdup("MS20-001");
    u->msrc_severity = xdup("Important");
    u->display_order = -1;
    u->nlocalized = 3;
    u->localized = calloc(3, sizeof *u->localized);
    u->localized[0] = (updxml_localized){xdup("en"), xdup("A & B <c> \"d\" 'e'\ttab"),
                                         xdup("line1\nline2\r\nend")};
    u->localized[1] = (updxml_localized){xdup("ja"), xdup("更新プログラム 🙂"), NULL};
    u->localized[2] = (updxml_localized){xdup("pt-br"), NULL, xdup("  spaces kept  ")};
    u->nprereqs = 2;
    u->prereqs = calloc(2, sizeof *u->prereqs);
    u->prereqs[0].nids = 1;
    u->prereqs[0].ids = calloc(1, sizeof(updxml_ref));
    strcpy(u->prereqs[0].ids[0].id, "60916385-7546-4e9b-836e-79d65e517bab");
    u->prereqs[1].at_least_one = 1;
    u->prereqs[1].is_category = 1;
    u->prereqs[1].nids = 2;
    u->prereqs[1].ids = calloc(2, sizeof(updxml_ref));
    strcpy(u->prereqs[1].ids[0].id, "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    strcpy(u->prereqs[1].ids[1].id, "fdfe8200-9d98-44ba-a12a-772282bf60ef");
    u->nbundled = 1;
    u->bundled = calloc(1, sizeof *u->bundled);
    strcpy(u->bundled[0].id, "36b1c48e-c741-4047-9b09-d38698ed34b3");
    u->bundled[0].revision = 101;
    u->nsuperseded = 2;
    u->superseded = calloc(2, sizeof *u->superseded);
    strcpy(u->superseded[0].id, "0287014e-6772-4b4d-81f7-42063ac26e8a");
    strcpy(u->superseded[1].id, "ff2a96fb-cc89-4e5e-83b2-7d48aa179840");
    u->nfiles = 2;
    u->files = calloc(2, sizeof *u->files);
    u->files[0].name = xdup("drv&1.cab");
    strcpy(u->files[0].digest, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    strcpy(u->files[0].algorithm, "SHA1");
    u->files[0].size = 0;
    u->files[1].name = xdup("x.exe");
    strcpy(u->files[1].digest, "BBBBBBBBBBBBBBBBBBBBBBBBBBB=");
    u->files[1].size = -1;
    u->files[1].modified = xdup("2020-01-01T00:00:00Z");
    strcpy(u->files[1].additional_digest, "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=");
    strcpy(u->files[1].additional_algorithm, "SHA256");
    u->nprop_attrs = 1;
    u->prop_attrs = calloc(1, sizeof *u->prop_attrs);
    u->prop_attrs[0] = (updxml_attr){xdup("MaxDownloadSize"), xdup("12")};
}

static void assert_same(const updxml_update *a, const updxml_update *b)
{
    assert_string_equal(a->update_id, b->update_id);
    assert_int_equal(a->revision, b->revision);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->category_type, b->category_type);
    assert_string_equal(a->default_language, b->default_language);
    assert_string_equal(a->creation_date, b->creation_date);
    assert_int_equal(a->expired, b->expired);
    assert_string_equal(b->publication_state, a->expired ? "Expired" : "Published");
    assert_string_equal(a->publisher_id, b->publisher_id);
    assert_int_equal(a->is_public, b->is_public);
    assert_int_equal(a->explicitly_deployable, b->explicitly_deployable);
    assert_string_equal(a->kb_article_id, b->kb_article_id);
    assert_string_equal(a->security_bulletin_id, b->security_bulletin_id);
    assert_string_equal(a->msrc_severity, b->msrc_severity);
    assert_int_equal(a->nlocalized, b->nlocalized);
    for (size_t i = 0; i < a->nlocalized; i++) {
        assert_string_equal(a->localized[i].language, b->localized[i].language);
        if (a->localized[i].title)
            assert_string_equal(a->localized[i].title, b->localized[i].title);
        else
            assert_null(b->localized[i].title);
        if (a->localized[i].description)
            assert_string_equal(a->localized[i].description, b->localized[i].description);
        else
            assert_null(b->localized[i].description);
    }
    assert_int_equal(a->nprereqs, b->nprereqs);
    for (size_t i = 0; i < a->nprereqs; i++) {
        assert_int_equal(a->prereqs[i].at_least_one, b->prereqs[i].at_least_one);
        assert_int_equal(a->prereqs[i].is_category, b->prereqs[i].is_category);
        assert_int_equal(a->prereqs[i].nids, b->prereqs[i].nids);
        for (size_t j = 0; j < a->prereqs[i].nids; j++)
            assert_string_equal(a->prereqs[i].ids[j].id, b->prereqs[i].ids[j].id);
    }
    assert_int_equal(a->nbundled, b->nbundled);
    for (size_t i = 0; i < a->nbundled; i++) {
        assert_string_equal(a->bundled[i].id, b->bundled[i].id);
        assert_int_equal(a->bundled[i].revision, b->bundled[i].revision);
    }
    assert_int_equal(a->nsuperseded, b->nsuperseded);
    for (size_t i = 0; i < a->nsuperseded; i++)
        assert_string_equal(a->superseded[i].id, b->superseded[i].id);
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_string_equal(a->files[i].name, b->files[i].name);
        assert_string_equal(a->files[i].digest, b->files[i].digest);
        assert_string_equal(a->files[i].algorithm, b->files[i].algorithm);
        assert_int_equal(a->files[i].size, b->files[i].size);
        assert_string_equal(a->files[i].additional_digest, b->files[i].additional_digest);
    }
    assert_int_equal(a->nprop_attrs, b->nprop_attrs);
}

static void test_roundtrip(void **state)
{
    (void)state;
    updxml_update u, back;
    build_full(&u);
    char *x1, *x2;
    size_t l1, l2;
    assert_int_equal(updxml_write(&u, &x1, &l1), 0);
    assert_int_equal(updxml_parse(x1, l1, &back), 0);
    assert_same(&u, &back);
    assert_int_equal(back.ncategories, 2);
    assert_int_equal(parse_both(x1, l1), 0);
    assert_int_equal(updxml_write(&back, &x2, &l2), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(x1, x2, l1);
    free(x1);
    free(x2);
    updxml_free(&back);

    /* The expired flag wins over the state text, both ways. */
    u.expired = 0;
    assert_int_equal(updxml_write(&u, &x1, &l1), 0);
    assert_int_equal(updxml_parse(x1, l1, &back), 0);
    assert_int_equal(back.expired, 0);
    assert_string_equal(back.publication_state, "Published");
    free(x1);
    updxml_free(&back);
    updxml_free(&u);
    /* updxml_free leaves a zeroed struct, safe to free again. */
    updxml_free(&u);
    assert_int_equal(u.nfiles, 0);
}

/*
 * The parser context kept between documents: a document full of distinct
 * names (its dictionary grows past the bound, so the context is replaced),
 * a malformed one, and the same document read the same before and after.
 */
static void test_parser_reuse(void **state)
{
    (void)state;
    updxml_update u, back;
    build_full(&u);
    char *x;
    size_t l;
    assert_int_equal(updxml_write(&u, &x, &l), 0);
    assert_int_equal(updxml_parse(x, l, &back), 0);
    assert_same(&u, &back);
    updxml_free(&back);

    size_t cap = 30000 * 16 + 64, used = 0;
    char *names = malloc(cap);
    assert_non_null(names);
    used += (size_t)snprintf(names + used, cap - used, "<r>");
    for (int i = 0; i < 30000; i++)
        used += (size_t)snprintf(names + used, cap - used, "<n%d/>", i);
    used += (size_t)snprintf(names + used, cap - used, "</r>");
    assert_int_equal(updxml_parse(names, used, &back), CM_EPARSE);
    assert_int_equal(updxml_parse(names, used / 2, &back), CM_EPARSE);
    assert_int_equal(parse_both(names, used), CM_EPARSE);
    assert_int_equal(parse_both(names, used / 2), CM_EPARSE);
    free(names);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(updxml_parse(x, l, &back), 0);
        assert_same(&u, &back);
        updxml_free(&back);
        assert_int_equal(parse_both(x, l), 0);
    }
    free(x);
    updxml_free(&u);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    updxml_update u;
    char *x;
    size_t l;
    build_full(&u);
    free(u.localized[0].title);
    u.localized[0].title = xdup("bad \x01 control");
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    assert_null(x);
    free(u.localized[0].title);
    u.localized[0].title = xdup("bad \xc3\x28 utf8");
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    free(u.localized[0].title);
    u.localized[0].title = xdup("ok");
    strcpy(u.update_id, "9A9BAFE2-FBFC-4B0B-8479-49A2BB08CD5A"); /* not normalised */
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    strcpy(u.update_id, "9a9bafe2-fbfc-4b0b-8479-49a2bb08cd5a");
    u.revision = 0;
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    u.revision = 1;
    u.type = UPDXML_TYPE_CATEGORY; /* a category without a category type */
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    u.type = UPDXML_TYPE_SOFTWARE;
    free(u.localized[2].language);
    u.localized[2].language = xdup("../etc");
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    free(u.localized[2].language);
    u.localized[2].language = xdup("pt-br");
    strcpy(u.superseded[0].id, "not-a-guid");
    assert_int_equal(updxml_write(&u, &x, &l), CM_EPARSE);
    strcpy(u.superseded[0].id, "0287014e-6772-4b4d-81f7-42063ac26e8a");
    assert_int_equal(updxml_write(&u, &x, &l), 0);
    free(x);
    updxml_free(&u);
}

static void test_names_and_guids(void **state)
{
    (void)state;
    char g[UPDXML_GUID_SIZE];
    assert_int_equal(updxml_guid_normalize("{0FA1201D-4330-4FA8-8AE9-B877473B6441}", g), 0);
    assert_string_equal(g, "0fa1201d-4330-4fa8-8ae9-b877473b6441");
    assert_int_equal(updxml_guid_normalize("0fa1201d43304fa88ae9b877473b6441", g), CM_EPARSE);
    assert_int_equal(updxml_guid_normalize("0fa1201d-4330-4fa8-8ae9-b877473b644g", g), CM_EPARSE);
    assert_int_equal(updxml_guid_normalize("{0fa1201d-4330-4fa8-8ae9-b877473b6441", g), CM_EPARSE);
    assert_int_equal(updxml_guid_normalize(NULL, g), CM_EPARSE);
    updxml_type t;
    updxml_category_type c;
    assert_int_equal(updxml_type_from_name("Detectoid", &t), 0);
    assert_int_equal(t, UPDXML_TYPE_DETECTOID);
    assert_int_equal(updxml_type_from_name("software", &t), CM_EPARSE); /* exact, as XML is */
    assert_int_equal(updxml_category_type_from_name("UpdateClassification", &c), 0);
    assert_int_equal(c, UPDXML_CAT_UPDATE_CLASSIFICATION);
    assert_int_equal(updxml_category_type_from_name("Vendor", &c), CM_EPARSE);
    assert_string_equal(updxml_type_name(UPDXML_TYPE_CATEGORY), "Category");
    assert_string_equal(updxml_category_type_name(UPDXML_CAT_PRODUCT_FAMILY), "ProductFamily");
}

/* Refused with code by both parsers, which leave nothing to free (parse_both). */
static void expect_refused(const char *xml, int code)
{
    expect_both(xml, code);
}

static void test_hostile_documents(void **state)
{
    (void)state;
    char *s;
    /* Not XML, empty, another root, another namespace. */
    expect_refused("not xml at all", CM_EPARSE);
    expect_refused("", CM_EPARSE);
    expect_refused("<Update/>", CM_EPARSE);
    expect_refused("<upd:Update xmlns:upd=\"urn:other\"><upd:UpdateIdentity "
                   "UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                   "RevisionNumber=\"1\"/><upd:Properties UpdateType=\"Software\"/></upd:Update>",
                   CM_EPARSE);
    /* Missing or bad identity. */
    s = doc_with("", NULL, NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity RevisionNumber=\"1\"/>", NULL, NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity UpdateID=\"../../etc/passwd\" RevisionNumber=\"1\"/>", NULL,
                 NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\"/>", NULL,
                 NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                 "RevisionNumber=\"-4\"/>",
                 NULL, NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                 "RevisionNumber=\"99999999999\"/>",
                 NULL, NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with("<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                 "RevisionNumber=\"1\"/>"
                 "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                 "RevisionNumber=\"2\"/>",
                 NULL, NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    /* Unknown or missing types. */
    s = doc_with(NULL, "<upd:Properties UpdateType=\"Firmware\"/>", NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, "<upd:Properties/>", NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, "", NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, "<upd:Properties UpdateType=\"Category\"/>",
                 NULL); /* no CategoryInformation */
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, "<upd:Properties UpdateType=\"Category\"/>",
                 "<upd:HandlerSpecificData xmlns:cat=\"" UPDXML_NS_CATEGORY
                 "\"><cat:CategoryInformation CategoryType=\"Vendor\"/></upd:HandlerSpecificData>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, "<upd:Properties UpdateType=\"Software\" IsPublic=\"maybe\"/>", NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
    /* Bad relationships, files and languages. */
    s = doc_with(NULL, NULL,
                 "<upd:Relationships><upd:Prerequisites><upd:AtLeastOne "
                 "IsCategory=\"true\"/></upd:Prerequisites></upd:Relationships>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL,
                 "<upd:Relationships><upd:SupersededUpdates><upd:UpdateIdentity "
                 "UpdateID=\"x\"/></upd:SupersededUpdates></upd:Relationships>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL,
                 "<upd:Files><upd:File FileName=\"a\" Digest=\"not base64!\"/></upd:Files>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL,
                 "<upd:Files><upd:File FileName=\"a\" Digest=\"AAAA\" Size=\"-1\"/></upd:Files>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL,
                 "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>../../"
                 "x</upd:Language></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL,
                 "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</"
                 "upd:Language><upd:Title>a<upd:b/></upd:Title></upd:LocalizedProperties></"
                 "upd:LocalizedPropertiesCollection>");
    expect_refused(s, CM_EPARSE);
    free(s);
    s = doc_with(NULL, NULL, "stray text");
    expect_refused(s, CM_EPARSE);
    free(s);
}

static void test_entities_refused(void **state)
{
    (void)state;
    /* Billion laughs: refused before any expansion. */
    const char *bomb =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
        "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
        "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
        "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
        "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
        "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
        "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
        "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">"
        "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
        "RevisionNumber=\"1\"/>"
        "<upd:Properties "
        "UpdateType=\"Software\"/><upd:LocalizedPropertiesCollection><upd:LocalizedProperties>"
        "<upd:Language>en</upd:Language><upd:Title>&lol9;</upd:Title></upd:LocalizedProperties>"
        "</upd:LocalizedPropertiesCollection></upd:Update>";
    expect_refused(bomb, CM_EPARSE);
    /* An external entity: never read. */
    const char *xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE u [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">"
        "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
        "RevisionNumber=\"1\"/>"
        "<upd:Properties "
        "UpdateType=\"Software\"><upd:KBArticleID>&x;</upd:KBArticleID></upd:Properties></"
        "upd:Update>";
    expect_refused(xxe, CM_EPARSE);
    /* An undeclared entity reference is a well-formedness error. */
    char *s =
        doc_with(NULL,
                 "<upd:Properties "
                 "UpdateType=\"Software\"><upd:KBArticleID>&x;</upd:KBArticleID></upd:Properties>",
                 NULL);
    expect_refused(s, CM_EPARSE);
    free(s);
}

static void test_size_bounds(void **state)
{
    (void)state;
    /* A title over UPDXML_MAX_TEXT. */
    size_t big = UPDXML_MAX_TEXT + 10;
    char *title = malloc(big + 1);
    memset(title, 'x', big);
    title[big] = '\0';
    char *rest;
    assert_true(asprintf(&rest,
                         "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:"
                         "Language>en</upd:Language><upd:Title>%s</upd:Title></"
                         "upd:LocalizedProperties></upd:LocalizedPropertiesCollection>",
                         title) > 0);
    char *s = doc_with(NULL, NULL, rest);
    expect_refused(s, CM_ETOOBIG);
    free(s);
    free(rest);
    free(title);
    /* A document over UPDXML_MAX_DOC is refused unread. */
    size_t n = UPDXML_MAX_DOC + 1;
    char *huge = malloc(n);
    memset(huge, ' ', n);
    updxml_update u;
    assert_int_equal(updxml_parse(huge, n, &u), CM_ETOOBIG);
    assert_int_equal(updxml_parse_fields(huge, n, &u), CM_ETOOBIG);
    free(huge);
    /* More list entries than UPDXML_MAX_ITEMS. */
    size_t items = UPDXML_MAX_ITEMS + 1, one = 64;
    char *files = malloc(items * one + 64);
    size_t off = (size_t)sprintf(files, "<upd:Files>");
    for (size_t i = 0; i < items; i++)
        off += (size_t)sprintf(files + off, "<upd:File FileName=\"f\" Digest=\"AAAA\"/>");
    sprintf(files + off, "</upd:Files>");
    s = doc_with(NULL, NULL, files);
    expect_refused(s, CM_ETOOBIG);
    free(s);
    free(files);
}

/* ---------- updxml_parse_fields ---------- */

typedef struct gen_both {
    long n, cats, with_files, with_bundles;
} gen_both;

static int gen_both_cb(void *ud, const updxml_update *u, long long rid)
{
    (void)rid;
    gen_both *g = ud;
    char *x;
    size_t l;
    assert_int_equal(updxml_write(u, &x, &l), 0);
    assert_int_equal(parse_both(x, l), 0);
    free(x);
    g->n++;
    g->cats += u->type == UPDXML_TYPE_CATEGORY;
    g->with_files += u->nfiles > 0;
    g->with_bundles += u->nbundled > 0;
    return 0;
}

/* Every update of a generated catalog (its categories first), read by both parsers. */
static void test_fields_generated(void **state)
{
    (void)state;
    catalog_gen_stats st = {0};
    catalog_gen_options o = {.updates = 3000, .seed = 7, .languages = "en,de,fr", .stats = &st};
    gen_both g = {0};
    assert_int_equal(catalog_gen_each(&o, gen_both_cb, &g), 0);
    assert_int_equal(g.n, st.categories + st.updates);
    assert_int_equal(g.cats, st.categories);
    assert_true(g.cats > 10 && g.with_files > 1000 && g.with_bundles > 10);
}

/* fields_differ sees a change in any field, so the comparisons above can fail. */
static void test_fields_compare_fails(void **state)
{
    (void)state;
    updxml_update a, b;
    build_full(&a);
    char *x;
    size_t l;
    assert_int_equal(updxml_write(&a, &x, &l), 0);
    updxml_free(&a);
    assert_int_equal(updxml_parse(x, l, &a), 0);
    assert_int_equal(updxml_parse_fields(x, l, &b), 0);
    free(x);
    assert_null(fields_differ(&a, &b));
    /* A change to each kind of field, undone after. */
    b.revision++;
    assert_string_equal(fields_differ(&a, &b), "revision");
    b.revision--;
    b.localized[2].description[0] = 'X';
    assert_string_equal(fields_differ(&a, &b), "localized.description");
    b.localized[2].description[0] = ' ';
    b.prereqs[1].ids[1].revision = 9;
    assert_string_equal(fields_differ(&a, &b), "prereqs.ids");
    b.prereqs[1].ids[1].revision = 0;
    b.categories[0].id[0] = 'f';
    assert_string_equal(fields_differ(&a, &b), "categories");
    b.categories[0].id[0] = 'a';
    b.files[1].additional_digest[0] = 'D';
    assert_string_equal(fields_differ(&a, &b), "files.additional_digest");
    b.files[1].additional_digest[0] = 'C';
    b.files[0].size = 1;
    assert_string_equal(fields_differ(&a, &b), "files.size");
    b.files[0].size = 0;
    char *keep = b.msrc_severity;
    b.msrc_severity = NULL;
    assert_string_equal(fields_differ(&a, &b), "msrc_severity");
    b.msrc_severity = keep;
    b.extra_xml = xdup("<x/>");
    assert_string_equal(fields_differ(&a, &b), "extra_xml (must stay empty)");
    free(b.extra_xml);
    b.extra_xml = NULL;
    assert_null(fields_differ(&a, &b));
    /* The parts kept for writing back are empty in the fields-only result. */
    assert_int_equal(a.nprop_attrs, 1);
    assert_int_equal(b.nprop_attrs, 0);
    assert_null(b.prop_attrs);
    updxml_free(&a);
    updxml_free(&b);
}

/* ASCII text as UTF-16LE with a byte order mark; *len set. */
static char *utf16le(const char *ascii, size_t *len)
{
    size_t n = strlen(ascii);
    char *o = malloc(2 * n + 2);
    assert_non_null(o);
    o[0] = (char)0xFF;
    o[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++) {
        o[2 + 2 * i] = ascii[i];
        o[3 + 2 * i] = 0;
    }
    *len = 2 * n + 2;
    return o;
}

/* One LocalizedProperties with the given inside, as the rest of a doc_with document. */
static char *doc_loc(const char *inside)
{
    char *rest = NULL, *s;
    assert_true(asprintf(&rest,
                         "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties>%s</"
                         "upd:LocalizedProperties></upd:LocalizedPropertiesCollection>",
                         inside) > 0);
    s = doc_with(NULL, NULL, rest);
    free(rest);
    return s;
}

static void expect_doc(char *doc, int code)
{
    assert_non_null(doc);
    expect_both(doc, code);
    free(doc);
}

#define ID_1                                                                                       \
    "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" RevisionNumber=\"1\"/>"
#define CAT_NS_DECL " xmlns:cat=\"" UPDXML_NS_CATEGORY "\""

static void test_fields_hostile(void **state)
{
    (void)state;
    size_t len;
    char *s;
    /* DOCTYPE, plain, with entities, and in UTF-16 where the byte check cannot see it. */
    expect_both("<?xml version=\"1.0\"?><!DOCTYPE upd:Update><upd:Update "
                "xmlns:upd=\"" UPDXML_NS "\">" ID_1
                "<upd:Properties UpdateType=\"Software\"/></upd:Update>",
                CM_EPARSE);
    expect_both("<!DOCTYPE u [<!ENTITY t \"Title\">]><upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                "<upd:Properties UpdateType=\"Software\"><upd:KBArticleID>&t;</"
                "upd:KBArticleID></upd:Properties></upd:Update>",
                CM_EPARSE);
    const char *u16 = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE u [<!ENTITY t "
                      "\"x\">]><upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                      "<upd:Properties UpdateType=\"Software\"/></upd:Update>";
    s = utf16le(u16, &len);
    assert_null(memmem(s, len, "<!DOCTYPE", 9));
    assert_int_equal(parse_both(s, len), CM_EPARSE);
    free(s);
    /* The same UTF-16 document without the DOCTYPE is read, the same by both. */
    s = utf16le("<?xml version=\"1.0\" encoding=\"UTF-16\"?><upd:Update xmlns:upd=\"" UPDXML_NS
                "\">" ID_1 "<upd:Properties UpdateType=\"Software\"><upd:KBArticleID>42</"
                "upd:KBArticleID></upd:Properties></upd:Update>",
                &len);
    assert_int_equal(parse_both(s, len), 0);
    updxml_update f;
    assert_int_equal(updxml_parse_fields(s, len, &f), 0);
    assert_string_equal(f.kb_article_id, "42");
    updxml_free(&f);
    free(s);
    /* An entity nothing declares. */
    expect_doc(doc_loc("<upd:Language>en</upd:Language><upd:Title>&nbsp;</upd:Title>"), CM_EPARSE);

    /* References in attributes and text: a '&' reaches SAX as "&#38;" and is decoded. */
    s = doc_with("<upd:UpdateIdentity UpdateID=\"&#x30;fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                 "RevisionNumber=\"&#49;\"/>",
                 "<upd:Properties UpdateType=\"Software\" CreationDate=\"a&amp;b&lt;c&#38;d&#x41;"
                 "&amp;#38;&gt;&quot;\"/>",
                 "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</"
                 "upd:Language><upd:Title>x &amp; y &lt; z &#38; &#x41;&amp;amp;</upd:Title></"
                 "upd:LocalizedProperties></upd:LocalizedPropertiesCollection><upd:Files><upd:File "
                 "FileName=\"&#38;&#38;f&amp;\" Digest=\"AAAA\"/></upd:Files>");
    assert_int_equal(parse_both(s, strlen(s)), 0);
    assert_int_equal(updxml_parse_fields(s, strlen(s), &f), 0);
    assert_string_equal(f.update_id, "0fa1201d-4330-4fa8-8ae9-b877473b6441");
    assert_int_equal(f.revision, 1);
    assert_string_equal(f.creation_date, "a&b<c&dA&#38;>\"");
    assert_string_equal(f.localized[0].title, "x & y < z & A&amp;");
    assert_string_equal(f.files[0].name, "&&f&");
    updxml_free(&f);
    free(s);

    /* CDATA: not in a text element, nor among elements; inside what is not modelled, yes. */
    expect_doc(doc_loc("<upd:Language>en</upd:Language><upd:Title><![CDATA[t]]></upd:Title>"),
               CM_EPARSE);
    expect_doc(doc_loc("<![CDATA[]]><upd:Language>en</upd:Language>"), CM_EPARSE);
    expect_doc(doc_with(NULL, NULL, "<![CDATA[ ]]>"), CM_EPARSE);
    expect_doc(doc_with(NULL,
                        "<upd:Properties UpdateType=\"Software\"><![CDATA[x]]></upd:Properties>",
                        NULL),
               CM_EPARSE);
    expect_doc(
        doc_with(NULL, NULL, "<upd:ApplicabilityRules><![CDATA[<x>]]></upd:ApplicabilityRules>"),
        0);
    /* A File's own children are not checked, as the tree walk does not check them. */
    expect_doc(
        doc_with(NULL, NULL,
                 "<upd:Files><upd:File Digest=\"AAAA\">text<![CDATA[c]]></upd:File></upd:Files>"),
        0);

    /* Text other than blanks among the modelled elements, at each level the walk checks. */
    expect_doc(doc_with(NULL, NULL, " \t\r\n"), 0);
    expect_doc(doc_with(NULL, NULL, "x"), CM_EPARSE);
    expect_doc(doc_with(NULL, "<upd:Properties UpdateType=\"Software\">x</upd:Properties>", NULL),
               CM_EPARSE);
    expect_doc(doc_loc("x<upd:Language>en</upd:Language>"), CM_EPARSE);
    expect_doc(doc_with(NULL, NULL, "<upd:Relationships>x</upd:Relationships>"), CM_EPARSE);
    expect_doc(
        doc_with(NULL, NULL,
                 "<upd:Relationships><upd:Prerequisites><upd:AtLeastOne>x<upd:UpdateIdentity "
                 "UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\"/></upd:AtLeastOne></"
                 "upd:Prerequisites></upd:Relationships>"),
        CM_EPARSE);
    expect_doc(doc_with(NULL, NULL,
                        "<upd:Relationships><upd:BundledUpdates><upd:AtLeastOne>&#65;</"
                        "upd:AtLeastOne></upd:BundledUpdates></upd:Relationships>"),
               CM_EPARSE);
    expect_doc(doc_with(NULL, NULL, "<upd:Files>x</upd:Files>"), CM_EPARSE);

    /* One level of AtLeastOne inside a list is flattened; a second is refused. */
    expect_doc(doc_with(NULL, NULL,
                        "<upd:Relationships><upd:SupersededUpdates><upd:AtLeastOne><upd:"
                        "UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\"/></"
                        "upd:AtLeastOne></upd:SupersededUpdates></upd:Relationships>"),
               0);
    expect_doc(doc_with(NULL, NULL,
                        "<upd:Relationships><upd:SupersededUpdates><upd:AtLeastOne><upd:AtLeastOne>"
                        "<upd:UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\"/></"
                        "upd:AtLeastOne></upd:AtLeastOne></upd:SupersededUpdates></"
                        "upd:Relationships>"),
               CM_EPARSE);
    expect_doc(doc_with(NULL, NULL,
                        "<upd:Relationships><upd:Prerequisites><upd:AtLeastOne><upd:AtLeastOne>"
                        "<upd:AtLeastOne/></upd:AtLeastOne></upd:AtLeastOne></upd:Prerequisites></"
                        "upd:Relationships>"),
               CM_EPARSE);
    expect_doc(
        doc_with(NULL, NULL, "<upd:Relationships><upd:Other>x</upd:Other></upd:Relationships>"), 0);

    /* Comments and processing instructions: anywhere but a processing instruction in a text. */
    const char *commented =
        "<!--a--><?pi x?><upd:Update xmlns:upd=\"" UPDXML_NS "\"><!--b--><?pi?>" ID_1
        "<upd:Properties UpdateType=\"Software\"><?pi ?><!--c--></upd:Properties>"
        "<upd:LocalizedPropertiesCollection><!--d--><upd:LocalizedProperties><?pi?>"
        "<upd:Language><!--e-->e<!---->n<!--f--></upd:Language></upd:LocalizedProperties>"
        "</upd:LocalizedPropertiesCollection></upd:Update><!--g--><?pi y?>";
    expect_both(commented, 0);
    assert_int_equal(updxml_parse_fields(commented, strlen(commented), &f), 0);
    assert_string_equal(f.localized[0].language, "en"); /* text on both sides of comments, joined */
    updxml_free(&f);
    expect_doc(doc_loc("<upd:Language>e<?pi?>n</upd:Language>"), CM_EPARSE);
    expect_doc(doc_loc("<upd:Language>en</upd:Language><upd:Title>a<upd:b/></upd:Title>"),
               CM_EPARSE);

    /* A namespaced attribute is not the model's, even with the model's name. */
    expect_doc(doc_with(NULL,
                        "<upd:Properties xmlns:x=\"urn:x\" x:UpdateType=\"Driver\" "
                        "UpdateType=\"Software\" x:IsPublic=\"maybe\"/>",
                        NULL),
               0);
    expect_doc(doc_with(NULL, "<upd:Properties upd:UpdateType=\"Software\"/>", NULL), CM_EPARSE);
    expect_doc(doc_with("<upd:UpdateIdentity upd:UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" "
                        "RevisionNumber=\"1\"/>",
                        NULL, NULL),
               CM_EPARSE);
    /* A prefix that names no namespace: a namespace error libxml2 lets through. */
    expect_doc(doc_with(NULL, "<upd:Properties UpdateType=\"Software\" p:UpdateType=\"x\"/>", NULL),
               0);
    expect_doc(doc_with(NULL, "<upd:Properties p:UpdateType=\"Software\"/>", NULL), CM_EPARSE);

    /* The right name in another namespace is another element. */
    expect_doc(doc_with(NULL, "<o:Properties xmlns:o=\"urn:o\" UpdateType=\"Software\"/>", NULL),
               CM_EPARSE);
    expect_doc(doc_loc("<upd:Language>en</upd:Language><o:Title xmlns:o=\"urn:o\">t</o:Title>"), 0);
    expect_doc(doc_with(NULL, NULL,
                        "<upd:LocalizedPropertiesCollection><LocalizedProperties/></"
                        "upd:LocalizedPropertiesCollection>"),
               CM_EPARSE);
    expect_doc(doc_with(NULL, NULL, "<Files><File/></Files>"), 0);
    expect_doc(doc_with(NULL, "<upd:Properties UpdateType=\"Category\"/>",
                        "<upd:HandlerSpecificData xmlns:cat=\"urn:not-category\"><cat:"
                        "CategoryInformation CategoryType=\"Product\"/></upd:HandlerSpecificData>"),
               CM_EPARSE);
    expect_doc(
        doc_with(NULL, "<upd:Properties UpdateType=\"Category\"/>",
                 "<upd:HandlerSpecificData" CAT_NS_DECL "><cat:CategoryInformation "
                 "CategoryType=\"Vendor\"/><cat:CategoryInformation CategoryType=\"Company\" "
                 "DisplayOrder=\"4\"/></upd:HandlerSpecificData>"),
        0); /* the last CategoryInformation is the one read */
    expect_doc(doc_with(NULL, "<upd:Properties UpdateType=\"Category\"/>",
                        "<upd:HandlerSpecificData" CAT_NS_DECL "><cat:CategoryInformation "
                        "CategoryType=\"Company\"/></"
                        "upd:HandlerSpecificData><upd:HandlerSpecificData" CAT_NS_DECL
                        "><cat:CategoryInformation CategoryType=\"Product\"/></"
                        "upd:HandlerSpecificData>"),
               CM_EPARSE);

    /* Duplicates. */
    expect_doc(doc_with(NULL,
                        "<upd:Properties UpdateType=\"Software\"/><upd:Properties "
                        "UpdateType=\"Software\"/>",
                        NULL),
               CM_EPARSE);
    expect_doc(doc_with(ID_1 ID_1, NULL, NULL), CM_EPARSE);
    expect_doc(doc_loc("<upd:Language>en</upd:Language><upd:Language>de</upd:Language>"),
               CM_EPARSE);
    expect_doc(doc_with(NULL,
                        "<upd:Properties UpdateType=\"Software\" MsrcSeverity=\"Low\">"
                        "<upd:MsrcSeverity>Low</upd:MsrcSeverity></upd:Properties>",
                        NULL),
               CM_EPARSE);
    expect_doc(doc_with(NULL, NULL,
                        "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>"
                        "de</upd:Language></upd:LocalizedProperties><upd:LocalizedProperties><upd:"
                        "Language>de</upd:Language></upd:LocalizedProperties></"
                        "upd:LocalizedPropertiesCollection>"),
               CM_EPARSE);
}

/* A string of n copies of c. */
static char *run_of(char c, size_t n)
{
    char *r = malloc(n + 1);
    assert_non_null(r);
    memset(r, c, n);
    r[n] = '\0';
    return r;
}

/*
 * Text over UPDXML_MAX_TEXT is CM_ETOOBIG, unless the tree walk would have
 * refused something before it: both parsers give the same answer to
 * documents that break two rules.
 */
static void test_fields_bounds(void **state)
{
    (void)state;
    char *big = run_of('x', UPDXML_MAX_TEXT + 1), *exact = run_of('y', UPDXML_MAX_TEXT), *doc,
         *inside;
    assert_true(
        asprintf(&inside, "<upd:Language>en</upd:Language><upd:Title>%s</upd:Title>", exact) > 0);
    expect_doc(doc_loc(inside), 0);
    free(inside);
    assert_true(asprintf(&inside, "<upd:Language>en</upd:Language><upd:Title>%s</upd:Title>", big) >
                0);
    expect_doc(doc_loc(inside), CM_ETOOBIG);
    free(inside);
    /* In pieces around a comment, the same. */
    assert_true(asprintf(&inside, "<upd:Title>%s<!---->%s</upd:Title>", exact, "z") > 0);
    expect_doc(doc_loc(inside), CM_ETOOBIG);
    free(inside);
    /* The walk looks at a title's children before its length... */
    assert_true(asprintf(&inside, "<upd:Title>%s<?pi?></upd:Title>", big) > 0);
    expect_doc(doc_loc(inside), CM_EPARSE);
    free(inside);
    /* ...and at the text among an element's children before the element's contents. */
    assert_true(asprintf(&inside, "<upd:Title>%s</upd:Title>stray", big) > 0);
    expect_doc(doc_loc(inside), CM_EPARSE);
    free(inside);
    assert_true(asprintf(&doc,
                         "<upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                         "<upd:Properties UpdateType=\"Software\" CreationDate=\"%s\"/>stray</"
                         "upd:Update>",
                         big) > 0);
    expect_both(doc, CM_EPARSE);
    free(doc);
    /* Stray text in a later element the walk never reached does not count. */
    assert_true(asprintf(&doc,
                         "<upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                         "<upd:Properties UpdateType=\"Software\" CreationDate=\"%s\"/>"
                         "<upd:Relationships>stray</upd:Relationships></upd:Update>",
                         big) > 0);
    expect_both(doc, CM_ETOOBIG);
    free(doc);
    /* A rule checked before the long value still wins; a document that is not XML always does. */
    assert_true(
        asprintf(&doc,
                 "<upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                 "<upd:Properties UpdateType=\"Firmware\" CreationDate=\"%s\"/></upd:Update>",
                 big) > 0);
    expect_both(doc, CM_EPARSE);
    free(doc);
    assert_true(
        asprintf(&doc,
                 "<upd:Update xmlns:upd=\"" UPDXML_NS "\">" ID_1
                 "<upd:Properties UpdateType=\"Software\" CreationDate=\"%s\"/></upd:Updat>",
                 big) > 0);
    expect_both(doc, CM_EPARSE);
    free(doc);
    free(big);
    free(exact);

    /* UPDXML_MAX_ITEMS files are read; one more is CM_ETOOBIG. */
    for (size_t items = UPDXML_MAX_ITEMS; items <= UPDXML_MAX_ITEMS + 1; items++) {
        char *files = malloc(items * 48 + 64);
        if (!files) {
            fail();
            return;
        }
        size_t off = (size_t)sprintf(files, "<upd:Files>");
        for (size_t i = 0; i < items; i++)
            off += (size_t)sprintf(files + off, "<upd:File FileName=\"f\" Digest=\"AAAA\"/>");
        sprintf(files + off, "</upd:Files>");
        expect_doc(doc_with(NULL, NULL, files), items > UPDXML_MAX_ITEMS ? CM_ETOOBIG : 0);
        free(files);
    }
}

/*
 * What the tree walk copies into extra_xml (or prop_extra_xml) may not pass
 * UPDXML_MAX_DOC, and copies can be larger than the document: each carries
 * the namespace declarations in scope, and the serializer escapes (">" is
 * written "&gt;").  The fields-only parser, which keeps no copy, refuses
 * exactly the same documents: at the bound and one byte over, for copies
 * of the root's children and of Properties' children.
 */
static void test_fields_copy_bound(void **state)
{
    (void)state;
    const char *head =
        "<upd:Update xmlns:upd=\"" UPDXML_NS "\" xmlns:d=\"urn:decl-each-copy-carries\" "
        "xmlns=\"urn:default\">" ID_1;
    for (int props = 0; props < 2; props++) {
        size_t cap = UPDXML_MAX_DOC, n;
        char *doc = malloc(cap);
        if (!doc) {
            fail();
            return;
        }
        /* Copies that declare what they use ("upd:") and escape ("é" is "&#xE9;" in an attribute).
         */
        n = (size_t)sprintf(doc, "%s<upd:Properties UpdateType=\"Software\">%s", head,
                            props ? "" : "</upd:Properties>");
        for (int i = 0; i < 200; i++)
            n += (size_t)sprintf(doc + n, "<upd:x a=\"\xc3\xa9&amp;\">&gt;<!--c--></upd:x>");
        size_t body = n;
        const char *tail = props ? "</upd:Properties></upd:Update>" : "</upd:Update>";
        n += (size_t)sprintf(doc + n, "<p/>%s", tail);
        updxml_update t;
        assert_int_equal(updxml_parse(doc, n, &t), 0);
        size_t have = strlen(props ? t.prop_extra_xml : t.extra_xml);
        updxml_free(&t);
        assert_true(have > n);
        /* Text in <p> ("<p/>" becomes "<p>" text "</p>"): 4 bytes a '>', 1 a 'z'. */
        for (size_t over = 0; over < 2; over++) {
            size_t want = UPDXML_MAX_DOC - have - 3 + over, gt = want / 4 - 8, z = want - 4 * gt;
            n = body + (size_t)sprintf(doc + body, "<p>");
            memset(doc + n, '>', gt);
            memset(doc + n + gt, 'z', z);
            n += gt + z;
            n += (size_t)sprintf(doc + n, "</p>%s", tail);
            assert_true(n < UPDXML_MAX_DOC / 2);
            assert_int_equal(parse_both(doc, n), over ? CM_ETOOBIG : 0);
        }
        free(doc);
    }
}

/* A generated update with every kind of content, cut at every 97th byte. */
static int pick_rich(void *ud, const updxml_update *u, long long rid)
{
    (void)rid;
    if (u->nsuperseded == 0 || u->nfiles < 2 || u->nprereqs < 2 || u->nlocalized < 3)
        return 0;
    size_t len;
    assert_int_equal(updxml_write(u, (char **)ud, &len), 0);
    return 1;
}

static void test_fields_truncated(void **state)
{
    (void)state;
    char *x = NULL;
    catalog_gen_options o = {.updates = 400, .seed = 3, .languages = "en,de,ja"};
    assert_int_equal(catalog_gen_each(&o, pick_rich, &x), 1);
    size_t len = strlen(x);
    assert_int_equal(parse_both(x, len), 0);
    long cuts = 0;
    for (size_t cut = 97; cut < len; cut += 97, cuts++)
        assert_int_equal(parse_both(x, cut), CM_EPARSE);
    assert_true(cuts >= 20);
    free(x);
}

/*
 * A document shaped like Microsoft Update's with what the model does not
 * name: applicability rules nested deep, an installer's handler data, EULA
 * files, properties and relationship kinds the model drops.
 */
static void test_fields_unmodelled(void **state)
{
    (void)state;
    char *deep = NULL, *doc = NULL;
    size_t cap = 64 * 1024, n = 0;
    deep = malloc(cap);
    assert_non_null(deep);
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(deep + n, cap - n, "<bar:And d=\"%d\"><!-- %d -->", i, i);
    n += (size_t)snprintf(deep + n, cap - n,
                          "<bar:WindowsVersion Comparison=\"EqualTo\" Major=\"6\"/>");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(deep + n, cap - n, "</bar:And>");
    assert_true(
        asprintf(
            &doc,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<upd:Update xmlns:upd=\"" UPDXML_NS "\" "
            "xmlns:bar=\"http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules\" "
            "xmlns:msi=\"http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/"
            "WindowsInstaller\">\n"
            "  " ID_1 "\n"
            "  <upd:Properties UpdateType=\"Software\" Handler=\"msi\" MaxDownloadSize=\"10\" "
            "DefaultPropertiesLanguage=\"en\">\n"
            "    <upd:InstallationBehavior RebootBehavior=\"CanRequestReboot\"><upd:Impact "
            "v=\"&amp;\"/></upd:InstallationBehavior>\n"
            "    <upd:KBArticleID>5001</upd:KBArticleID>\n"
            "    "
            "<upd:SupportUrl><![CDATA[http://support.microsoft.com/?a=1&b=2]]></upd:SupportUrl>\n"
            "  </upd:Properties>\n"
            "  <upd:LocalizedPropertiesCollection><upd:LocalizedProperties>"
            "<upd:Language>en</upd:Language><upd:Title>T</upd:Title>"
            "<upd:ReleaseNotes>no <b>check</b> here</upd:ReleaseNotes>"
            "<upd:UninstallNotes/></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>\n"
            "  <upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory=\"true\">"
            "<upd:UpdateIdentity UpdateID=\"a105a108-7c9b-4518-bbbe-73f0fe30012b\"/>"
            "<upd:AtLeastOne><upd:UpdateIdentity "
            "UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\"/>"
            "</upd:AtLeastOne></upd:AtLeastOne></upd:Prerequisites>"
            "<upd:Supersedes>ignored text</upd:Supersedes>"
            "<upd:BundledUpdates><upd:AtLeastOne><upd:UpdateIdentity "
            "UpdateID=\"c1e93ef9-761f-4f60-8372-df9bf5009be0\" "
            "RevisionNumber=\"3\"/></upd:AtLeastOne>"
            "</upd:BundledUpdates></upd:Relationships>\n"
            "  <upd:ApplicabilityRules><upd:IsInstalled>%s</upd:IsInstalled>"
            "<upd:IsInstallable><bar:True/></upd:IsInstallable></upd:ApplicabilityRules>\n"
            "  <upd:Files><upd:File Digest=\"7H2iUMbmhYmoR0DvXJmGIlDdmds=\" FileName=\"a.msi\" "
            "Size=\"5\"><upd:Eula>x</upd:Eula><upd:AdditionalDigest Algorithm=\"SHA256\">"
            "m0FtEVc5zH3iKIlVZlRJvdBrdq9O5gMt0VNwTSj6DyE=</upd:AdditionalDigest>"
            "<upd:AdditionalDigest Algorithm=\"second is not read\">!</upd:AdditionalDigest>"
            "</upd:File></upd:Files>\n"
            "  <upd:HandlerSpecificData type=\"msi:WindowsInstaller\"><msi:MsiData "
            "ProductCode=\"{3c4a397d-22b2-4ab0-849f-f5e12672caca}\"><msi:Patch>%s</msi:Patch>"
            "</msi:MsiData></upd:HandlerSpecificData>\n"
            "</upd:Update>\n",
            deep, deep) > 0);
    expect_both(doc, 0);
    updxml_update f;
    assert_int_equal(updxml_parse_fields(doc, strlen(doc), &f), 0);
    assert_string_equal(f.kb_article_id, "5001");
    assert_int_equal(f.nprereqs, 1);
    assert_int_equal(f.prereqs[0].nids, 2); /* the nested group's member joins the group */
    assert_int_equal(f.ncategories, 2);
    assert_int_equal(f.nbundled, 1);
    assert_int_equal(f.bundled[0].revision, 3);
    assert_string_equal(f.files[0].additional_algorithm, "SHA256");
    assert_null(f.extra_xml);
    assert_null(f.prop_extra_xml);
    updxml_free(&f);
    free(doc);
    free(deep);
}

/* Two threads at once, as wsyncmgr's fetch threads call it, on their own documents. */
typedef struct thread_docs {
    char **xml;
    size_t *len;
    updxml_update *want;
    long n, cap, bad;
} thread_docs;

static int collect_docs(void *ud, const updxml_update *u, long long rid)
{
    (void)rid;
    thread_docs *d = ud;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->xml = realloc(d->xml, (size_t)d->cap * sizeof *d->xml);
        d->len = realloc(d->len, (size_t)d->cap * sizeof *d->len);
        assert_true(d->xml && d->len);
    }
    assert_int_equal(updxml_write(u, &d->xml[d->n], &d->len[d->n]), 0);
    d->n++;
    return 0;
}

static void *parse_all(void *arg)
{
    thread_docs *d = arg;
    for (int round = 0; round < 3; round++)
        for (long i = 0; i < d->n; i++) {
            updxml_update f;
            if (updxml_parse_fields(d->xml[i], d->len[i], &f) != 0 ||
                fields_differ(&d->want[i], &f))
                d->bad++;
            updxml_free(&f);
        }
    return NULL;
}

static void test_fields_threads(void **state)
{
    (void)state;
    thread_docs d[2] = {{0}, {0}};
    for (int t = 0; t < 2; t++) {
        catalog_gen_options o = {.updates = 600, .seed = (uint64_t)(11 + t), .languages = "en,fr"};
        assert_int_equal(catalog_gen_each(&o, collect_docs, &d[t]), 0);
        d[t].want = calloc((size_t)d[t].n, sizeof *d[t].want);
        assert_non_null(d[t].want);
        for (long i = 0; i < d[t].n; i++)
            assert_int_equal(updxml_parse(d[t].xml[i], d[t].len[i], &d[t].want[i]), 0);
    }
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, parse_all, &d[t]), 0);
    /* The tree parser on this thread meanwhile. */
    for (long i = 0; i < d[0].n; i++) {
        updxml_update t;
        assert_int_equal(updxml_parse(d[0].xml[i], d[0].len[i], &t), 0);
        updxml_free(&t);
    }
    for (int t = 0; t < 2; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(d[t].bad, 0);
        for (long i = 0; i < d[t].n; i++) {
            updxml_free(&d[t].want[i]);
            free(d[t].xml[i]);
        }
        free(d[t].want);
        free(d[t].xml);
        free(d[t].len);
    }
}

/* ---------- cab writer ---------- */

static char tmp[4096];

static int setup_tmp(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp);
}

static int teardown_tmp(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    return 0;
}

/* Extract every member of a cab with libmspack's own default I/O. */
static int mspack_list(const char *cabpath, char names[][64], size_t *sizes, int max)
{
    struct mscab_decompressor *d = mspack_create_cab_decompressor(NULL);
    assert_non_null(d);
    struct mscabd_cabinet *c = d->open(d, cabpath);
    int n = -1;
    if (c) {
        n = 0;
        for (struct mscabd_file *f = c->files; f && n < max; f = f->next, n++) {
            snprintf(names[n], 64, "%s", f->filename);
            sizes[n] = f->length;
        }
        d->close(d, c);
    }
    mspack_destroy_cab_decompressor(d);
    return n;
}

static char *mspack_get(const char *cabpath, const char *name, size_t *len)
{
    struct mscab_decompressor *d = mspack_create_cab_decompressor(NULL);
    struct mscabd_cabinet *c = d->open(d, cabpath);
    char *out = NULL;
    char dest[4200];
    snprintf(dest, sizeof dest, "%s/extracted", tmp);
    for (struct mscabd_file *f = c ? c->files : NULL; f; f = f->next)
        if (strcmp(f->filename, name) == 0 && d->extract(d, f, dest) == MSPACK_ERR_OK)
            out = slurp(dest, len);
    unlink(dest);
    if (c)
        d->close(d, c);
    mspack_destroy_cab_decompressor(d);
    return out;
}

static void test_cab_write_read(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/t.cab", tmp);
    cabw *w;
    assert_int_equal(cabw_create(&w, path), 0);
    size_t bign = 100000; /* crosses 32 KB data blocks */
    char *big = malloc(bign);
    for (size_t i = 0; i < bign; i++)
        big[i] = (char)(i * 7 + i / 300);
    assert_int_equal(cabw_add(w, "c/1", "<a/>", 4), 0);
    assert_int_equal(cabw_add(w, "empty", "", 0), 0);
    assert_int_equal(cabw_add(w, "l/en/1", big, bign), 0);
    /* Names that would escape a folder are refused. */
    assert_int_equal(cabw_add(w, "../x", "a", 1), CM_ENAME);
    assert_int_equal(cabw_add(w, "/etc/x", "a", 1), CM_ENAME);
    assert_int_equal(cabw_add(w, "a//b", "a", 1), CM_ENAME);
    assert_int_equal(cabw_add(w, "a\\..\\b", "a", 1), CM_ENAME);
    assert_int_equal(cabw_add(w, "", "a", 1), CM_ENAME);
    assert_int_equal(cabw_add(w, "c:x", "a", 1), CM_ENAME);
    assert_int_equal(cabw_finish(w), 0);

    char names[8][64];
    size_t sizes[8];
    assert_int_equal(mspack_list(path, names, sizes, 8), 3);
    assert_string_equal(names[0], "c\\1"); /* stored the Windows way */
    assert_int_equal(sizes[2], bign);
    size_t len;
    char *got = mspack_get(path, "l\\en\\1", &len);
    assert_non_null(got);
    assert_int_equal(len, bign);
    assert_memory_equal(got, big, bign);
    free(got);
    got = mspack_get(path, "empty", &len);
    assert_non_null(got);
    assert_int_equal(len, 0);
    free(got);

    /* The in-memory single-file form (XmlUpdateBlobCompressed). */
    unsigned char *mem;
    size_t memlen;
    assert_int_equal(cabw_single_mem("blob", big, bign, &mem, &memlen), 0);
    assert_memory_equal(mem, "MSCF", 4);
    snprintf(path, sizeof path, "%s/single.cab", tmp);
    spit(path, mem, memlen);
    free(mem);
    got = mspack_get(path, "blob", &len);
    assert_non_null(got);
    assert_int_equal(len, bign);
    assert_memory_equal(got, big, bign);
    free(got);
    free(big);

    /* A cab without files is not written. */
    assert_int_equal(cabw_create(&w, path), 0);
    assert_int_equal(cabw_finish(w), CM_EPARSE);
}

/* ---------- generator ---------- */

typedef struct collect {
    long n, cats, bundles, superseding, expired, revised, children;
    int langs_ok;
    char (*ids)[UPDXML_GUID_SIZE];
    int *is_cat;
    long cap;
    const char *langs[8];
    int nlangs;
    int order_ok;
} collect;

static long find_id(const collect *c, const char *id)
{
    for (long i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], id) == 0)
            return i;
    return -1;
}

static int collect_cb(void *ud, const updxml_update *u, long long rid)
{
    collect *c = ud;
    assert_int_equal(rid, c->n + 1);
    /* Every reference points at something already in the stream. */
    for (size_t p = 0; p < u->nprereqs; p++)
        for (size_t k = 0; k < u->prereqs[p].nids; k++) {
            long at = find_id(c, u->prereqs[p].ids[k].id);
            if (at < 0 || (u->prereqs[p].is_category && !c->is_cat[at]))
                c->order_ok = 0;
        }
    for (size_t k = 0; k < u->nbundled; k++)
        if (find_id(c, u->bundled[k].id) < 0)
            c->order_ok = 0;
    for (size_t k = 0; k < u->nsuperseded; k++)
        if (find_id(c, u->superseded[k].id) < 0)
            c->order_ok = 0;
    if (u->type == UPDXML_TYPE_CATEGORY) {
        c->cats++;
        if (c->n != c->cats - 1)
            c->order_ok = 0; /* a category after an update */
    } else {
        assert_non_null(u->kb_article_id);
        assert_true(u->ncategories == 0); /* ncategories is parse-derived only */
        assert_true(u->nprereqs >= 2);
    }
    if (u->nbundled)
        c->bundles++;
    if (u->nsuperseded)
        c->superseding++;
    c->expired += u->expired;
    c->revised += u->revision > 100;
    c->children += u->explicitly_deployable == 0;
    if ((long)u->nlocalized != c->nlangs)
        c->langs_ok = 0;
    for (int l = 0; l < c->nlangs && l < (int)u->nlocalized; l++)
        if (strcmp(u->localized[l].language, c->langs[l]) != 0 || !u->localized[l].title)
            c->langs_ok = 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->ids = realloc(c->ids, (size_t)c->cap * UPDXML_GUID_SIZE);
        c->is_cat = realloc(c->is_cat, (size_t)c->cap * sizeof(int));
    }
    memcpy(c->ids[c->n], u->update_id, UPDXML_GUID_SIZE);
    c->is_cat[c->n] = u->type == UPDXML_TYPE_CATEGORY;
    c->n++;
    /* What the generator hands out always writes and parses back the same. */
    char *x;
    size_t l;
    assert_int_equal(updxml_write(u, &x, &l), 0);
    updxml_update back;
    assert_int_equal(updxml_parse(x, l, &back), 0);
    assert_string_equal(back.update_id, u->update_id);
    updxml_free(&back);
    free(x);
    return 0;
}

static void test_gen_stream(void **state)
{
    (void)state;
    catalog_gen_stats st = {0};
    catalog_gen_options o = {.updates = 3000, .seed = 42, .languages = "de,fr,ja", .stats = &st};
    collect c = {.langs_ok = 1, .order_ok = 1, .langs = {"en", "de", "fr", "ja"}, .nlangs = 4};
    assert_int_equal(catalog_gen_each(&o, collect_cb, &c), 0);
    assert_int_equal(c.n, st.categories + st.updates);
    assert_int_equal(st.updates, 3000);
    assert_int_equal(c.cats, st.categories);
    assert_true(c.order_ok);
    assert_true(c.langs_ok);
    assert_int_equal(c.bundles, st.bundles);
    assert_int_equal(c.superseding, st.superseding);
    assert_int_equal(c.expired, st.expired);
    assert_int_equal(c.revised, st.revised);
    assert_int_equal(c.children, 3 * st.bundles);
    assert_true(st.bundles > 10 && st.superseding > 300 && st.expired > 50 && st.revised > 100);
    /* The real classifications and the products seed 004 names are there. */
    const char *must[] = {
        "0fa1201d-4330-4fa8-8ae9-b877473b6441", "e6cf1350-c01b-414d-a61f-263d14d133b4",
        "cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83", "28bc880e-0592-4cbf-8f95-c79b17911d5f",
        "e0789628-ce08-4437-be74-2495b842f43b", "a105a108-7c9b-4518-bbbe-73f0fe30012b",
        "fdfe8200-9d98-44ba-a12a-772282bf60ef"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        long at = find_id(&c, must[i]);
        assert_true(at >= 0);
        assert_true(c.is_cat[at]);
    }
    /* IDs are unique. */
    for (long i = 1; i < c.n; i++)
        for (long j = 0; j < i; j += 97)
            assert_string_not_equal(c.ids[i], c.ids[j]);
    free(c.ids);
    free(c.is_cat);

    /* Same seed, same stream; another seed, another one. */
    collect a = {0}, b = {0};
    o.stats = NULL;
    o.updates = 200;
    assert_int_equal(catalog_gen_each(&o, collect_cb, &a), 0);
    assert_int_equal(catalog_gen_each(&o, collect_cb, &b), 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.ids, b.ids, (size_t)a.n * UPDXML_GUID_SIZE);
    free(b.ids);
    free(b.is_cat);
    memset(&b, 0, sizeof b);
    o.seed = 43;
    assert_int_equal(catalog_gen_each(&o, collect_cb, &b), 0);
    assert_string_not_equal(a.ids[a.n - 1], b.ids[b.n - 1]);
    free(a.ids);
    free(a.is_cat);
    free(b.ids);
    free(b.is_cat);
}

static void test_gen_options(void **state)
{
    (void)state;
    char out[4200];
    snprintf(out, sizeof out, "%s/o", tmp);
    catalog_gen_options o = {.out = out, .updates = 10, .seed = 1};
    o.updates = CATALOG_GEN_MAX_UPDATES + 1;
    assert_int_equal(catalog_generate(&o), CM_ERANGE);
    o.updates = -1;
    assert_int_equal(catalog_generate(&o), CM_ERANGE);
    o.updates = 10;
    o.languages = "de,../x";
    assert_int_equal(catalog_generate(&o), CM_ERANGE);
    o.languages = "de,DE";
    assert_int_equal(catalog_generate(&o), CM_ERANGE);
    o.languages = "de,,fr,";
    assert_int_equal(catalog_generate(&o), 0);
    /* A directory that is not empty is not overwritten. */
    assert_int_equal(catalog_generate(&o), CM_ENAME);
    o.out = NULL;
    assert_int_equal(catalog_generate(&o), CM_ENAME);
    /* Nothing left behind beside the output. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", tmp);
    assert_int_equal(system(cmd), 0);
}

static int files_equal(const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static int trees_equal(const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "diff -r -q '%s' '%s' >/dev/null", a, b);
    return system(cmd) == 0;
}

static void test_gen_deterministic(void **state)
{
    (void)state;
    char d1[4200], d2[4200], d3[4200], c1[4200], c2[4200];
    snprintf(d1, sizeof d1, "%s/d1", tmp);
    snprintf(d2, sizeof d2, "%s/d2", tmp);
    snprintf(d3, sizeof d3, "%s/d3", tmp);
    snprintf(c1, sizeof c1, "%s/c1.cab", tmp);
    snprintf(c2, sizeof c2, "%s/C2.CAB", tmp);
    catalog_gen_stats st = {0};
    catalog_gen_options o = {.out = d1, .updates = 500, .seed = 9, .languages = "de", .stats = &st};
    assert_int_equal(catalog_generate(&o), 0);
    assert_true(st.bytes > 0);
    o.out = d2;
    assert_int_equal(catalog_generate(&o), 0);
    assert_true(trees_equal(d1, d2));
    o.seed = 10;
    o.out = d3;
    assert_int_equal(catalog_generate(&o), 0);
    assert_false(trees_equal(d1, d3));
    o.seed = 9;
    o.out = c1;
    assert_int_equal(catalog_generate(&o), 0);
    o.out = c2; /* the .cab suffix in any case */
    assert_int_equal(catalog_generate(&o), 0);
    assert_true(files_equal(c1, c2));
    /* The wsusscn2 layout: index.xml, package.cab, package2.cab... */
    char names[16][64];
    size_t sizes[16];
    int n = mspack_list(c1, names, sizes, 16);
    assert_true(n >= 3);
    assert_string_equal(names[0], "index.xml");
    assert_string_equal(names[1], "package.cab");
    assert_string_equal(names[2], "package2.cab");
    size_t len;
    char *index = mspack_get(c1, "index.xml", &len);
    assert_non_null(strstr(index, "<CAB NAME=\"package2.cab\" RANGESTART=\"1\"/>"));
    free(index);
}

/* ---------- reader ---------- */

typedef struct stream {
    long n;
    catalog_update *u;
} stream;

static void read_all(const char *path, stream *s, catalog_kind want)
{
    catalog_reader *r;
    assert_int_equal(catalog_open(&r, path), 0);
    assert_int_equal(catalog_reader_kind(r), want);
    long count = (long)catalog_count(r);
    s->u = calloc((size_t)count + 1, sizeof *s->u);
    s->n = 0;
    int rc;
    catalog_update cur = {0};
    while ((rc = catalog_next(r, &cur)) == 1) {
        assert_true(s->n < count);
        s->u[s->n++] = cur;
        memset(&cur, 0, sizeof cur);
    }
    if (rc != 0)
        fail_msg("%s: %d at %s", path, rc, catalog_last_source(r));
    assert_int_equal(s->n, count);
    assert_int_equal(catalog_next(r, &cur), 0); /* stays at the end */
    catalog_close(r);
}

static void free_stream(stream *s)
{
    for (long i = 0; i < s->n; i++)
        catalog_update_clear(&s->u[i]);
    free(s->u);
}

static long stream_find(const stream *s, long upto, const char *id)
{
    for (long i = 0; i < upto; i++)
        if (strcmp(s->u[i].update_id, id) == 0)
            return i;
    return -1;
}

/* Categories first, parents before children, needed categories before updates. */
static void check_order(const stream *s)
{
    int seen_update = 0;
    for (long i = 0; i < s->n; i++) {
        const catalog_update *u = &s->u[i];
        if (u->is_category)
            assert_false(seen_update);
        else
            seen_update = 1;
        for (size_t k = 0; k < u->parsed.ncategories; k++) {
            long at = stream_find(s, s->n, u->parsed.categories[k].id);
            if (at >= 0)
                assert_true(at < i);
        }
        for (size_t k = 0; k < u->parsed.nbundled; k++) {
            long at = stream_find(s, s->n, u->parsed.bundled[k].id);
            if (at >= 0) /* a bundled update the catalog holds comes first */
                assert_true(at < i);
        }
    }
}

static void test_cab_equals_dir(void **state)
{
    (void)state;
    char dir[4200], cab[4200];
    snprintf(dir, sizeof dir, "%s/cat", tmp);
    snprintf(cab, sizeof cab, "%s/wsusscn2.cab", tmp);
    catalog_gen_stats st = {0};
    catalog_gen_options o = {
        .out = dir, .updates = 1500, .seed = 2024, .languages = "de,ja", .stats = &st};
    assert_int_equal(catalog_generate(&o), 0);
    o.out = cab;
    assert_int_equal(catalog_generate(&o), 0);
    /* The reader's own temporary files go under TMPDIR: a private one here. */
    char rtmp[4200];
    snprintf(rtmp, sizeof rtmp, "%s/readertmp", tmp);
    assert_int_equal(mkdir(rtmp, 0700), 0);
    char *old_tmpdir = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", rtmp, 1);
    stream a, b;
    read_all(dir, &a, CATALOG_DIR);
    read_all(cab, &b, CATALOG_CAB);
    assert_int_equal(a.n, st.categories + st.updates);
    assert_int_equal(a.n, b.n);
    long cats = 0, urls = 0, files = 0;
    for (long i = 0; i < a.n; i++) {
        assert_string_equal(a.u[i].update_id, b.u[i].update_id);
        assert_int_equal(a.u[i].revision, b.u[i].revision);
        assert_int_equal(a.u[i].is_category, b.u[i].is_category);
        assert_int_equal(a.u[i].category_type, b.u[i].category_type);
        assert_int_equal(a.u[i].xml_len, b.u[i].xml_len);
        assert_memory_equal(a.u[i].xml, b.u[i].xml, a.u[i].xml_len);
        assert_int_equal(a.u[i].revision_id, 0);
        assert_true(b.u[i].revision_id > 0);
        cats += a.u[i].is_category;
        /* Download locations: from the cab's FileLocations, one per file. */
        assert_int_equal(a.u[i].nurls, 0);
        assert_int_equal(b.u[i].nurls, b.u[i].parsed.nfiles);
        for (size_t k = 0; k < b.u[i].nurls; k++) {
            assert_string_equal(b.u[i].urls[k].digest, b.u[i].parsed.files[k].digest);
            assert_int_equal(
                strncmp(b.u[i].urls[k].url, CATALOG_GEN_URL_BASE, strlen(CATALOG_GEN_URL_BASE)), 0);
            assert_string_equal(b.u[i].parsed.files[k].url, b.u[i].urls[k].url);
        }
        urls += (long)b.u[i].nurls;
        files += (long)b.u[i].parsed.nfiles;
    }
    assert_int_equal(cats, st.categories);
    assert_int_equal(urls, st.files);
    assert_int_equal(files, st.files);
    check_order(&a);
    check_order(&b);
    free_stream(&a);
    free_stream(&b);
    /* The reader's temporary folder is gone once it is closed. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", rtmp);
    assert_int_equal(system(cmd), 0);
    if (old_tmpdir)
        setenv("TMPDIR", old_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmpdir);
}

static void write_doc(const char *dir, const char *name, const char *xml)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    spit(p, xml, strlen(xml));
}

static char *category_doc(const char *id, const char *type, const char *parent)
{
    char *s, *rel = NULL;
    if (parent)
        assert_true(
            asprintf(&rel,
                     "<upd:Relationships><upd:Prerequisites><upd:AtLeastOne "
                     "IsCategory=\"true\"><upd:UpdateIdentity "
                     "UpdateID=\"%s\"/></upd:AtLeastOne></upd:Prerequisites></upd:Relationships>",
                     parent) > 0);
    assert_true(asprintf(&s,
                         "%s<upd:UpdateIdentity UpdateID=\"%s\" "
                         "RevisionNumber=\"1\"/><upd:Properties UpdateType=\"Category\"/>%s"
                         "<upd:HandlerSpecificData xmlns:cat=\"" UPDXML_NS_CATEGORY
                         "\"><cat:CategoryInformation "
                         "CategoryType=\"%s\"/></upd:HandlerSpecificData></upd:Update>",
                         DOC_HEAD, id, rel ? rel : "", type) > 0);
    free(rel);
    return s;
}

static void test_dir_foreign_order(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/foreign", tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    size_t len;
    char *spec = golden("wsusss-sample2-detectoid.xml", &len);
    write_doc(dir, "a-detectoid.xml", spec);
    free(spec);
    char *sw = golden("software-update.xml", &len);
    write_doc(dir, "b-update.XML", sw);
    free(sw);
    /* Categories named in the wrong order: product, then family, then company. */
    char *p = category_doc("a105a108-7c9b-4518-bbbe-73f0fe30012b", "Product",
                           "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d");
    char *f = category_doc("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d", "ProductFamily",
                           "56309036-4c77-4dd9-951a-99ee9c246a94");
    char *c = category_doc("56309036-4c77-4dd9-951a-99ee9c246a94", "Company", NULL);
    char *k = category_doc("0fa1201d-4330-4fa8-8ae9-b877473b6441", "UpdateClassification", NULL);
    write_doc(dir, "c.xml", p);
    write_doc(dir, "d.xml", f);
    write_doc(dir, "e.xml", c);
    write_doc(dir, "f.xml", k);
    write_doc(dir, "notes.txt", "not a catalog document");
    write_doc(dir, ".hidden.xml", "ignored");
    free(p);
    free(f);
    free(c);
    free(k);
    stream s;
    read_all(dir, &s, CATALOG_DIR);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.u[0].update_id, "56309036-4c77-4dd9-951a-99ee9c246a94");
    assert_string_equal(s.u[1].update_id, "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d");
    assert_string_equal(s.u[2].update_id, "a105a108-7c9b-4518-bbbe-73f0fe30012b");
    assert_string_equal(s.u[3].update_id, "0fa1201d-4330-4fa8-8ae9-b877473b6441");
    assert_string_equal(s.u[4].update_id, "17e993cd-cf5a-4276-9944-6af62ff7139c");
    assert_string_equal(s.u[5].update_id, "4b62aa32-52f6-4c15-b739-1c8e696eb33e");
    assert_int_equal(s.u[3].category_type, UPDXML_CAT_UPDATE_CLASSIFICATION);
    assert_int_equal(s.u[5].parsed.type, UPDXML_TYPE_SOFTWARE);
    /* The directory form hands back the document exactly as stored. */
    char *raw = golden("software-update.xml", &len);
    assert_int_equal(s.u[5].xml_len, len);
    assert_memory_equal(s.u[5].xml, raw, len);
    free(raw);
    check_order(&s);
    free_stream(&s);
}

/* ---------- hostile catalogs ---------- */

static int drain(const char *path, char *source, size_t cap)
{
    catalog_reader *r;
    int rc = catalog_open(&r, path);
    if (rc)
        return rc;
    catalog_update u = {0};
    while ((rc = catalog_next(r, &u)) == 1)
        ;
    if (source)
        snprintf(source, cap, "%s", catalog_last_source(r));
    /* After an error the stream stays stopped with the same code. */
    if (rc < 0)
        assert_int_equal(catalog_next(r, &u), rc);
    catalog_update_clear(&u);
    catalog_close(r);
    return rc;
}

static void test_dir_hostile(void **state)
{
    (void)state;
    char dir[4200], src[600], link[4300];
    snprintf(dir, sizeof dir, "%s/bad", tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    char *good = doc_with(NULL, NULL, NULL);
    write_doc(dir, "1.xml", good);
    write_doc(dir, "2.xml",
              "<upd:Update xmlns:upd=\"" UPDXML_NS
              "\"><upd:Properties UpdateType=\"Software\"/></upd:Update>");
    assert_int_equal(drain(dir, src, sizeof src), CM_EPARSE);
    assert_string_equal(src, "2.xml"); /* the caller can say which file */
    write_doc(dir, "2.xml", good);
    assert_int_equal(drain(dir, NULL, 0), 0);
    /* A symbolic link is not followed. */
    snprintf(link, sizeof link, "%s/3.xml", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(drain(dir, src, sizeof src), CM_ENAME);
    unlink(link);
    /* A folder named like a document. */
    assert_int_equal(mkdir(link, 0700), 0);
    assert_int_equal(drain(dir, NULL, 0), CM_ENAME);
    rmdir(link);
    /* A cycle among categories. */
    char *x = category_doc("11111111-1111-4111-8111-111111111111", "Product",
                           "22222222-2222-4222-8222-222222222222");
    char *y = category_doc("22222222-2222-4222-8222-222222222222", "Product",
                           "11111111-1111-4111-8111-111111111111");
    write_doc(dir, "4.xml", x);
    write_doc(dir, "5.xml", y);
    assert_int_equal(drain(dir, src, sizeof src), CM_EPARSE);
    assert_non_null(strstr(src, "category"));
    free(x);
    free(y);
    free(good);
    /* Neither a folder nor a cab, or nothing at all. */
    snprintf(link, sizeof link, "%s/plain.cab", tmp);
    spit(link, "hello", 5);
    assert_int_equal(drain(link, NULL, 0), CM_EPARSE);
    snprintf(link, sizeof link, "%s/absent", tmp);
    assert_int_equal(drain(link, NULL, 0), CM_ENOTFOUND);
}

/* Replace the first occurrence of `from` in a file by `to` (same length). */
static void patch_file(const char *path, const char *from, const char *to)
{
    size_t len;
    char *b = slurp(path, &len);
    assert_non_null(b);
    size_t n = strlen(from);
    assert_int_equal(n, strlen(to));
    char *at = NULL;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(b + i, from, n) == 0) {
            at = b + i;
            break;
        }
    assert_non_null(at);
    memcpy(at, to, n);
    spit(path, b, len);
    free(b);
}

/* A wsusscn2-style cab assembled by hand from the given package.xml and fragments. */
static void make_cab(const char *out, const char *package_xml, const char *frag_name,
                     const char *frag, const char *outer_extra)
{
    char inner[4200], pkg[4200];
    snprintf(inner, sizeof inner, "%s/inner2.cab", tmp);
    snprintf(pkg, sizeof pkg, "%s/inner.cab", tmp);
    cabw *w;
    assert_int_equal(cabw_create(&w, inner), 0);
    assert_int_equal(cabw_add(w, frag_name, frag, strlen(frag)), 0);
    assert_int_equal(cabw_finish(w), 0);
    assert_int_equal(cabw_create(&w, pkg), 0);
    assert_int_equal(cabw_add(w, "package.xml", package_xml, strlen(package_xml)), 0);
    assert_int_equal(cabw_finish(w), 0);
    const char *index = "<Index><CABLIST><CAB NAME=\"package.cab\"/><CAB NAME=\"package2.cab\" "
                        "RANGESTART=\"1\"/></CABLIST></Index>";
    assert_int_equal(cabw_create(&w, out), 0);
    assert_int_equal(cabw_add(w, "index.xml", index, strlen(index)), 0);
    assert_int_equal(cabw_add_path(w, "package.cab", pkg), 0);
    assert_int_equal(cabw_add_path(w, "package2.cab", inner), 0);
    if (outer_extra)
        assert_int_equal(cabw_add(w, outer_extra, "x", 1), 0);
    assert_int_equal(cabw_finish(w), 0);
}

static const char *PKG =
    "<OfflineSyncPackage xmlns=\"http://schemas.microsoft.com/msus/2004/02/OfflineSync\"><Updates>"
    "<Update UpdateId=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" RevisionNumber=\"1\" "
    "RevisionId=\"1\">"
    "<PayloadFiles><File Id=\"AAAA\"/></PayloadFiles></Update></Updates>"
    "<FileLocations><FileLocation Id=\"AAAA\" "
    "Url=\"http://example.invalid/a.cab\"/></FileLocations></OfflineSyncPackage>";
static const char *CORE =
    "<UpdateIdentity UpdateID=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" RevisionNumber=\"1\"/>"
    "<Properties UpdateType=\"Software\"/><Files><File FileName=\"a.cab\" "
    "Digest=\"AAAA\"/></Files>";

static void test_cab_hostile(void **state)
{
    (void)state;
    char cab[4200], src[600];
    snprintf(cab, sizeof cab, "%s/h.cab", tmp);
    /* The hand-made cab is good: one update, its URL from FileLocations. */
    make_cab(cab, PKG, "c/1", CORE, NULL);
    stream s;
    read_all(cab, &s, CATALOG_CAB);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.u[0].nurls, 1);
    assert_string_equal(s.u[0].urls[0].url, "http://example.invalid/a.cab");
    free_stream(&s);

    /* A member of the outer cab that climbs out: refused at open. */
    make_cab(cab, PKG, "c/1", CORE, "xx/passwd");
    patch_file(cab, "xx\\passwd", "..\\passwd");
    assert_int_equal(drain(cab, NULL, 0), CM_ENAME);
    make_cab(cab, PKG, "c/1", CORE, "Xetc");
    patch_file(cab, "Xetc", "/etc");
    assert_int_equal(drain(cab, NULL, 0), CM_ENAME);
    /* A fragment name that climbs out, inside package2.cab: refused when it is opened. */
    make_cab(cab, PKG, "c/xx/1", CORE, NULL);
    patch_file(cab, "c\\xx\\1", "c\\..\\1");
    assert_int_equal(drain(cab, src, sizeof src), CM_ENAME);
    assert_non_null(strstr(src, "package2.cab"));
    /* index.xml naming a cab that is not there, or a name that is not packageN.cab. */
    make_cab(cab, PKG, "c/1", CORE, NULL);
    patch_file(cab, "NAME=\"package2.cab\"", "NAME=\"package9.cab\"");
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);
    make_cab(cab, PKG, "c/1", CORE, NULL);
    patch_file(cab, "NAME=\"package2.cab\"", "NAME=\"../tmp/x.cab\"");
    assert_int_equal(drain(cab, NULL, 0), CM_ENAME);
    /* package.xml with an entity declaration. */
    char *bad;
    assert_true(asprintf(&bad, "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>%s", PKG) >
                0);
    make_cab(cab, bad, "c/1", CORE, NULL);
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);
    free(bad);
    /* A fragment that is not the update package.xml names. */
    make_cab(
        cab, PKG, "c/1",
        "<UpdateIdentity UpdateID=\"e6cf1350-c01b-414d-a61f-263d14d133b4\" RevisionNumber=\"1\"/>"
        "<Properties UpdateType=\"Software\"/>",
        NULL);
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);
    /* A missing core fragment, and a fragment that is not XML. */
    make_cab(cab, PKG, "c/2", CORE, NULL);
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);
    make_cab(cab, PKG, "c/1", "<UpdateIdentity", NULL);
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);

    /* A generated cab, truncated or damaged: refused cleanly, never a crash. */
    char gen[4200];
    snprintf(gen, sizeof gen, "%s/g.cab", tmp);
    catalog_gen_options o = {.out = gen, .updates = 300, .seed = 5};
    assert_int_equal(catalog_generate(&o), 0);
    size_t len;
    char *whole = slurp(gen, &len);
    size_t cuts[] = {10, 36, 100, len / 3, len / 2, len - 100, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(cab, whole, cuts[i]);
        int rc = drain(cab, NULL, 0);
        if (rc >= 0)
            fail_msg("a cab cut at %zu of %zu was accepted", cuts[i], len);
    }
    /* Damage the header's size fields and a data block's length. */
    char *copy = malloc(len);
    memcpy(copy, whole, len);
    copy[0] = 'X'; /* the signature */
    spit(cab, copy, len);
    assert_int_equal(drain(cab, NULL, 0), CM_EPARSE);
    memcpy(copy, whole, len);
    copy[36] ^= 0x01; /* the folder's data offset: every block header is misread */
    spit(cab, copy, len);
    assert_true(drain(cab, NULL, 0) < 0);
    memcpy(copy, whole, len);
    copy[42] ^= 0x01; /* the compression type: none becomes MSZIP */
    spit(cab, copy, len);
    assert_true(drain(cab, NULL, 0) < 0);
    memcpy(copy, whole, len);
    copy[28] = 0; /* cFiles */
    copy[29] = 0;
    spit(cab, copy, len);
    assert_true(drain(cab, NULL, 0) < 0);
    memcpy(copy, whole, len);
    memset(copy + len / 2, 0xff, 4096); /* inside a packageN.cab's data */
    spit(cab, copy, len);
    int rc = drain(cab, NULL, 0);
    assert_true(rc <= 0); /* uncompressed data may still be XML; anything but a crash */
    free(copy);
    free(whole);
}

/* ---------- main ---------- */

int main(int argc, char **argv)
{
    const struct CMUnitTest updxml_tests[] = {
        cmocka_unit_test(test_spec_example_golden), cmocka_unit_test(test_software_golden),
        cmocka_unit_test(test_category_golden),     cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_parser_reuse),        cmocka_unit_test(test_writer_refuses),
        cmocka_unit_test(test_names_and_guids),     cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_entities_refused),    cmocka_unit_test(test_size_bounds),
        cmocka_unit_test(test_fields_generated),    cmocka_unit_test(test_fields_compare_fails),
        cmocka_unit_test(test_fields_hostile),      cmocka_unit_test(test_fields_bounds),
        cmocka_unit_test(test_fields_copy_bound),   cmocka_unit_test(test_fields_truncated),
        cmocka_unit_test(test_fields_unmodelled),   cmocka_unit_test(test_fields_threads),
    };
    const struct CMUnitTest cab_tests[] = {
        cmocka_unit_test_setup_teardown(test_cab_write_read, setup_tmp, teardown_tmp),
    };
    const struct CMUnitTest gen_tests[] = {
        cmocka_unit_test(test_gen_stream),
        cmocka_unit_test_setup_teardown(test_gen_options, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_gen_deterministic, setup_tmp, teardown_tmp),
    };
    const struct CMUnitTest reader_tests[] = {
        cmocka_unit_test_setup_teardown(test_cab_equals_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_dir_foreign_order, setup_tmp, teardown_tmp),
    };
    const struct CMUnitTest hostile_tests[] = {
        cmocka_unit_test_setup_teardown(test_dir_hostile, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_cab_hostile, setup_tmp, teardown_tmp),
    };
    const char *g = argc > 1 ? argv[1] : NULL;
    int fails = 0, ran = 0;
    if (!g || strcmp(g, "updxml") == 0)
        ran++, fails += cmocka_run_group_tests_name("updxml", updxml_tests, NULL, NULL);
    if (!g || strcmp(g, "cab") == 0)
        ran++, fails += cmocka_run_group_tests_name("cab", cab_tests, NULL, NULL);
    if (!g || strcmp(g, "gen") == 0)
        ran++, fails += cmocka_run_group_tests_name("gen", gen_tests, NULL, NULL);
    if (!g || strcmp(g, "reader") == 0)
        ran++, fails += cmocka_run_group_tests_name("reader", reader_tests, NULL, NULL);
    if (!g || strcmp(g, "hostile") == 0)
        ran++, fails += cmocka_run_group_tests_name("hostile", hostile_tests, NULL, NULL);
    if (!ran) {
        fprintf(stderr, "unknown group %s\n", g);
        return 2;
    }
    return fails ? 1 : 0;
}
