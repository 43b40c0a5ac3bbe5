/*
 * catalog_gen.c - the synthetic catalog generator (see catalog_gen.h).
 *
 * Every property of update i is a pure function of (seed, i), drawn from a
 * hash rather than a running PRNG, so the stream needs no memory of what it
 * already produced: update i may supersede i - lines (the previous update
 * of the same "line", which shares product and classification), units of
 * four updates are either four standalone updates or three bundled
 * children followed by their bundle, and an update knows it will be
 * superseded because it can compute what i + lines will do.
 */
#include "catalog_gen.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cabwrite.h"
#include "cm_error.h"

#define MAX_LINES 97 /* update lines: supersedence runs along a line */
#define UNIT 4       /* a bundle unit: three children, then the bundle */
#define MAX_LANGS 20
#define FIRST_REVISION 100
/* 2010-01-01T00:00:00Z; update i is created i * STEP seconds later. */
#define BASE_TIME 1262304000LL
#define STEP 2207LL
#define OFFLINE_NS "http://schemas.microsoft.com/msus/2004/02/OfflineSync"

/* ---------- deterministic hashing ---------- */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A value for (seed, what, i, k): independent streams for each property. */
static uint64_t h4(uint64_t seed, uint64_t what, uint64_t i, uint64_t k)
{
    return mix(mix(mix(seed ^ mix(what)) ^ i) ^ (k * 0x2545f4914f6cdd1dULL));
}

enum { H_ID, H_KIND, H_SUP, H_EXP, H_REV, H_KB, H_FILES, H_DIG, H_PRE, H_LINE, H_SEV, H_SIZE };

static void guid_from(uint64_t a, uint64_t b, char out[UPDXML_GUID_SIZE])
{
    /* Version 4 layout, so generated IDs look like any other random GUID. */
    a = (a & ~0xf000ULL) | 0x4000ULL;
    b = (b & ~(0xc000ULL << 48)) | (0x8000ULL << 48);
    snprintf(out, UPDXML_GUID_SIZE, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return mix(h);
}

/* ---------- the fixed categories ---------- */

typedef struct gen_cat {
    const char *id; /* NULL: derived from the name (seed-independent) */
    updxml_category_type type;
    const char *name;
    int parent;     /* index in cats[], -1 for none */
    int weight;     /* products and classifications: how often updates use it */
    int class_kind; /* classifications: index into the phrase tables */
} gen_cat;

enum { K_SEC, K_CRIT, K_UPD, K_ROLLUP, K_DEF, K_FEAT, K_SP, K_TOOLS, K_DRV, K_UPG, K_COUNT };

/* Company, family and product IDs marked real are Microsoft's; the rest are synthetic. */
static const gen_cat base_cats[] = {
    {"56309036-4c77-4dd9-951a-99ee9c246a94", UPDXML_CAT_COMPANY, "Microsoft Corporation", -1, 0, 0},
    {NULL, UPDXML_CAT_COMPANY, "Contoso Ltd", -1, 0, 0},
    {"6964aab4-c5b5-43bd-a17d-ffb4346a8e1d", UPDXML_CAT_PRODUCT_FAMILY, "Windows", 0, 0, 0},
    {"477b856e-65c4-4473-b621-a8b230bb70d9", UPDXML_CAT_PRODUCT_FAMILY, "Office", 0, 0, 0},
    {NULL, UPDXML_CAT_PRODUCT_FAMILY, "Contoso Server Products", 1, 0, 0},
    {"fdfe8200-9d98-44ba-a12a-772282bf60ef", UPDXML_CAT_PRODUCT, "Windows Server 2008 R2", 2, 12,
     0},
    {"a105a108-7c9b-4518-bbbe-73f0fe30012b", UPDXML_CAT_PRODUCT, "Windows Server 2012", 2, 12, 0},
    {"d31bd4c3-d872-41c9-a2e7-231f372588cb", UPDXML_CAT_PRODUCT, "Windows Server 2012 R2", 2, 10,
     0},
    {"569e8e8f-c6cd-42c8-92a3-efbb20a0f6f5", UPDXML_CAT_PRODUCT, "Windows Server 2016", 2, 8, 0},
    {"bfe5b177-a086-47a0-b102-097e4fa1f807", UPDXML_CAT_PRODUCT, "Windows 7", 2, 10, 0},
    {"a3c2375d-0c8a-42f9-bce0-28333e198407", UPDXML_CAT_PRODUCT, "Windows 10", 2, 10, 0},
    {"25aed893-7c2d-4a31-ae22-28ff8ac150ed", UPDXML_CAT_PRODUCT, "Office 2016", 3, 6, 0},
    {"0fa1201d-4330-4fa8-8ae9-b877473b6441", UPDXML_CAT_UPDATE_CLASSIFICATION, "Security Updates",
     -1, 35, K_SEC},
    {"e6cf1350-c01b-414d-a61f-263d14d133b4", UPDXML_CAT_UPDATE_CLASSIFICATION, "Critical Updates",
     -1, 10, K_CRIT},
    {"cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83", UPDXML_CAT_UPDATE_CLASSIFICATION, "Updates", -1, 24,
     K_UPD},
    {"28bc880e-0592-4cbf-8f95-c79b17911d5f", UPDXML_CAT_UPDATE_CLASSIFICATION, "Update Rollups", -1,
     8, K_ROLLUP},
    {"e0789628-ce08-4437-be74-2495b842f43b", UPDXML_CAT_UPDATE_CLASSIFICATION, "Definition Updates",
     -1, 8, K_DEF},
    {"b54e7d24-7add-428f-8b75-90a396fa584f", UPDXML_CAT_UPDATE_CLASSIFICATION, "Feature Packs", -1,
     3, K_FEAT},
    {"68c5b0a3-d1a6-4553-ae49-01d3a7827828", UPDXML_CAT_UPDATE_CLASSIFICATION, "Service Packs", -1,
     2, K_SP},
    {"b4832bd8-e735-4761-8daf-37f882276dab", UPDXML_CAT_UPDATE_CLASSIFICATION, "Tools", -1, 3,
     K_TOOLS},
    {"ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0", UPDXML_CAT_UPDATE_CLASSIFICATION, "Drivers", -1, 3,
     K_DRV},
    {"3689bdc8-b205-4af4-8d4a-a63924c5e9d5", UPDXML_CAT_UPDATE_CLASSIFICATION, "Upgrades", -1, 4,
     K_UPG},
};
#define NBASE ((int)(sizeof base_cats / sizeof base_cats[0]))
#define FAMILY_SYNTH 4 /* "Contoso Server Products": parent of the synthetic products */
#define MAX_SYNTH 40

/* ---------- languages and texts ---------- */

enum { L_EN, L_DE, L_FR, L_ES, L_JA, L_KNOWN };
static const char *const known_langs[L_KNOWN] = {"en", "de", "fr", "es", "ja"};

static const char *const class_names[K_COUNT][L_KNOWN] = {
    {"Security Updates", "Sicherheitsupdates", "Mises à jour de sécurité",
     "Actualizaciones de seguridad", "セキュリティ更新プログラム"},
    {"Critical Updates", "Kritische Updates", "Mises à jour critiques", "Actualizaciones críticas",
     "重要な更新"},
    {"Updates", "Updates", "Mises à jour", "Actualizaciones", "更新"},
    {"Update Rollups", "Updaterollups", "Correctifs cumulatifs",
     "Paquetes acumulativos de actualizaciones", "更新プログラムのロールアップ"},
    {"Definition Updates", "Definitionsupdates", "Mises à jour de définitions",
     "Actualizaciones de definiciones", "定義更新"},
    {"Feature Packs", "Feature Packs", "Feature Packs", "Feature Packs", "Feature Pack"},
    {"Service Packs", "Service Packs", "Service Packs", "Service Packs", "Service Pack"},
    {"Tools", "Tools", "Outils", "Herramientas", "ツール"},
    {"Drivers", "Treiber", "Pilotes", "Controladores", "ドライバー"},
    {"Upgrades", "Upgrades", "Mises à niveau", "Actualizaciones de versión", "アップグレード"},
};

static const char *const class_phrase[K_COUNT][L_KNOWN] = {
    {"Security Update", "Sicherheitsupdate", "Mise à jour de sécurité",
     "Actualización de seguridad", "セキュリティ更新プログラム"},
    {"Critical Update", "Kritisches Update", "Mise à jour critique", "Actualización crítica",
     "重要な更新プログラム"},
    {"Update", "Update", "Mise à jour", "Actualización", "更新プログラム"},
    {"Update Rollup", "Updaterollup", "Correctif cumulatif", "Paquete acumulativo",
     "更新プログラムのロールアップ"},
    {"Definition Update", "Definitionsupdate", "Mise à jour de définitions",
     "Actualización de definiciones", "定義更新"},
    {"Feature Pack", "Feature Pack", "Feature Pack", "Feature Pack", "Feature Pack"},
    {"Service Pack", "Service Pack", "Service Pack", "Service Pack", "Service Pack"},
    {"Tool", "Tool", "Outil", "Herramienta", "ツール"},
    {"Driver Update", "Treiberupdate", "Mise à jour de pilote", "Actualización de controlador",
     "ドライバー更新"},
    {"Feature Update", "Funktionsupdate", "Mise à jour de fonctionnalités",
     "Actualización de características", "機能更新プログラム"},
};

static const char *const for_word[L_KNOWN] = {"for", "für", "pour", "para", NULL};

static const char *const desc_fmt[L_KNOWN] = {
    "Install this update to resolve issues in %s. For a complete listing of the issues that "
    "are included in this update, see the associated Microsoft Knowledge Base article.",
    "Installieren Sie dieses Update, um Probleme in %s zu beheben. Eine vollständige Liste "
    "finden Sie im zugehörigen Microsoft Knowledge Base-Artikel.",
    "Installez cette mise à jour pour résoudre des problèmes dans %s. Pour obtenir la liste "
    "complète, consultez l'article de la Base de connaissances Microsoft associé.",
    "Instale esta actualización para resolver problemas de %s. Para obtener una lista "
    "completa, consulte el artículo de Microsoft Knowledge Base asociado.",
    "%s の問題を解決するには、この更新プログラムをインストールしてください。",
};

static const char *const severities[] = {"Critical", "Important", "Moderate", "Low"};

/* ---------- generator state ---------- */

typedef struct gen {
    const catalog_gen_options *o;
    int nlangs;
    char langs[MAX_LANGS][17];
    int lang_known[MAX_LANGS]; /* index into the text tables, or -1 */
    int ncats;
    gen_cat cats[NBASE + MAX_SYNTH];
    char cat_ids[NBASE + MAX_SYNTH][UPDXML_GUID_SIZE];
    char synth_names[MAX_SYNTH][48];
    int products[NBASE + MAX_SYNTH];
    int nproducts, product_weight;
    int classes[K_COUNT];
    int class_weight;
    long n;
    long lines; /* n / 8, within [5, MAX_LINES], odd: small catalogs get chains too */
    catalog_gen_stats st;
} gen;

static int valid_lang_code(const char *s, size_t n)
{
    if (n < 2 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return isalpha((unsigned char)s[0]) && s[n - 1] != '-';
}

static int add_lang(gen *g, const char *s, size_t n)
{
    if (!valid_lang_code(s, n))
        return CM_ERANGE;
    for (int i = 0; i < g->nlangs; i++)
        if (strlen(g->langs[i]) == n && memcmp(g->langs[i], s, n) == 0)
            return 0;
    if (g->nlangs >= MAX_LANGS)
        return CM_ERANGE;
    memcpy(g->langs[g->nlangs], s, n);
    g->langs[g->nlangs][n] = '\0';
    g->lang_known[g->nlangs] = -1;
    for (int k = 0; k < L_KNOWN; k++)
        if (strcmp(g->langs[g->nlangs], known_langs[k]) == 0)
            g->lang_known[g->nlangs] = k;
    g->nlangs++;
    return 0;
}

static int gen_init(gen *g, const catalog_gen_options *o)
{
    memset(g, 0, sizeof *g);
    g->o = o;
    if (o->updates < 0 || o->updates > CATALOG_GEN_MAX_UPDATES)
        return CM_ERANGE;
    g->n = o->updates;
    g->lines = g->n / 8 < 5 ? 5 : (g->n / 8 > MAX_LINES ? MAX_LINES : g->n / 8);
    g->lines |= 1;
    int rc = add_lang(g, "en", 2);
    for (const char *p = o->languages ? o->languages : ""; !rc && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n)
            rc = add_lang(g, p, n);
        p += n + (e ? 1 : 0);
    }
    if (rc)
        return rc;

    memcpy(g->cats, base_cats, sizeof base_cats);
    g->ncats = NBASE;
    /* Synthetic products grow with the catalog: 4, plus one per 5,000 updates. */
    int nsynth = 4 + (int)(g->n / 5000);
    if (nsynth > MAX_SYNTH)
        nsynth = MAX_SYNTH;
    /* They go after the real products and before the classifications. */
    int first_class = 0;
    while (first_class < NBASE && base_cats[first_class].type != UPDXML_CAT_UPDATE_CLASSIFICATION)
        first_class++;
    memmove(&g->cats[first_class + nsynth], &base_cats[first_class],
            (size_t)(NBASE - first_class) * sizeof base_cats[0]);
    for (int s = 0; s < nsynth; s++) {
        snprintf(g->synth_names[s], sizeof g->synth_names[s], "Contoso Widget Server %d", s + 1);
        g->cats[first_class + s] =
            (gen_cat){NULL, UPDXML_CAT_PRODUCT, g->synth_names[s], FAMILY_SYNTH, 2, 0};
    }
    g->ncats = NBASE + nsynth;
    for (int c = 0; c < g->ncats; c++) {
        const gen_cat *gc = &g->cats[c];
        if (gc->id)
            snprintf(g->cat_ids[c], UPDXML_GUID_SIZE, "%s", gc->id);
        else
            guid_from(str_hash(gc->name), str_hash(gc->name) * 31 + 7, g->cat_ids[c]);
        if (gc->type == UPDXML_CAT_PRODUCT) {
            g->products[g->nproducts++] = c;
            g->product_weight += gc->weight;
        } else if (gc->type == UPDXML_CAT_UPDATE_CLASSIFICATION) {
            g->classes[gc->class_kind] = c;
            g->class_weight += gc->weight;
        }
    }
    return 0;
}

/* ---------- the shape of the stream ---------- */

/* Position of update i in its unit; in a bundle unit, 0..2 are children, 3 the bundle. */
static int is_bundle_unit(const gen *g, long i)
{
    long unit = i / UNIT;
    if ((unit + 1) * UNIT > g->n)
        return 0; /* a short last unit is never a bundle */
    return h4(g->o->seed, H_KIND, (uint64_t)unit, 0) % 100 < 10;
}

static int is_child(const gen *g, long i)
{
    return is_bundle_unit(g, i) && i % UNIT != UNIT - 1;
}

static int is_bundle(const gen *g, long i)
{
    return is_bundle_unit(g, i) && i % UNIT == UNIT - 1;
}

/*
 * The product and classification of update i: those of its line, i mod
 * lines, so that i and i - lines (which it may supersede) agree; a child
 * takes its bundle's.
 */
static long line_of(const gen *g, long i)
{
    return (is_child(g, i) ? i / UNIT * UNIT + UNIT - 1 : i) % g->lines;
}

static int pick_weighted(const gen *g, const int *idx, int n, int total, uint64_t h)
{
    int x = (int)(h % (uint64_t)total);
    for (int k = 0; k < n; k++) {
        x -= g->cats[idx[k]].weight;
        if (x < 0)
            return idx[k];
    }
    return idx[n - 1];
}

static int product_of(const gen *g, long i)
{
    return pick_weighted(g, g->products, g->nproducts, g->product_weight,
                         h4(g->o->seed, H_LINE, (uint64_t)line_of(g, i), 1));
}

static int class_of(const gen *g, long i)
{
    int cls[K_COUNT];
    for (int k = 0; k < K_COUNT; k++)
        cls[k] = g->classes[k];
    return pick_weighted(g, cls, K_COUNT, g->class_weight,
                         h4(g->o->seed, H_LINE, (uint64_t)line_of(g, i), 2));
}

/* Update i supersedes i - g->lines (same line) when both stand alone or are bundles. */
static int supersedes_prev(const gen *g, long i)
{
    if (i < g->lines || is_child(g, i) || is_child(g, i - g->lines))
        return 0;
    return h4(g->o->seed, H_SUP, (uint64_t)i, 0) % 100 < 35;
}

static int is_superseded(const gen *g, long i)
{
    return i + g->lines < g->n && supersedes_prev(g, i + g->lines);
}

static int is_expired(const gen *g, long i)
{
    uint64_t h = h4(g->o->seed, H_EXP, (uint64_t)i, 0) % 100;
    return is_superseded(g, i) ? h < 30 : h < 2;
}

static int revision_of(const gen *g, long i)
{
    uint64_t h = h4(g->o->seed, H_REV, (uint64_t)i, 0) % 100;
    return FIRST_REVISION + (h < 12 ? 1 + (int)(h % 3) : 0);
}

static void update_id(const gen *g, long i, char out[UPDXML_GUID_SIZE])
{
    guid_from(h4(g->o->seed, H_ID, (uint64_t)i, 0), h4(g->o->seed, H_ID, (uint64_t)i, 1), out);
}

static long kb_of(const gen *g, long i)
{
    /* Children share their bundle's KB article, as real bundles do. */
    long b = is_child(g, i) ? i / UNIT * UNIT + UNIT - 1 : i;
    return 2500000 + b * 3 + (long)(h4(g->o->seed, H_KB, (uint64_t)b, 0) % 3);
}

static int has_prereq(const gen *g, long i)
{
    return i >= 2 * g->lines && !is_child(g, i) && !is_child(g, i - 2 * g->lines) &&
           h4(g->o->seed, H_PRE, (uint64_t)i, 0) % 100 < 4;
}

/* ---------- building one update ---------- */

static char *xstrdup(const char *s, int *err)
{
    char *p = strdup(s);
    if (!p)
        *err = -ENOMEM;
    return p;
}

static char *xprintf(int *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *xprintf(int *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) {
        p = NULL;
        *err = -ENOMEM;
    }
    va_end(ap);
    return p;
}

static void date_text(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static void digest_bytes(const gen *g, long i, int f, int which, unsigned char *out, size_t n)
{
    for (size_t k = 0; k < n; k += 8) {
        uint64_t v = h4(g->o->seed, H_DIG, (uint64_t)i, (uint64_t)(f * 16 + which * 8 + k));
        for (size_t b = 0; b < 8 && k + b < n; b++)
            out[k + b] = (unsigned char)(v >> (8 * b));
    }
}

static int set_ref(updxml_ref *r, const char *id, int revision)
{
    snprintf(r->id, sizeof r->id, "%s", id);
    r->revision = revision;
    return 0;
}

static int add_cat_group(updxml_update *u, const char *id)
{
    updxml_prereq *p = &u->prereqs[u->nprereqs++];
    p->at_least_one = 1;
    p->is_category = 1;
    p->nids = 1;
    p->ids = calloc(1, sizeof *p->ids);
    if (!p->ids)
        return -ENOMEM;
    return set_ref(&p->ids[0], id, 0);
}

static int localize(gen *g, updxml_update *u, const char *en_title, int kind, int prod, long kb,
                    int component)
{
    int err = 0;
    u->localized = calloc((size_t)g->nlangs, sizeof *u->localized);
    if (!u->localized)
        return -ENOMEM;
    u->nlocalized = (size_t)g->nlangs;
    for (int l = 0; l < g->nlangs && !err; l++) {
        updxml_localized *lp = &u->localized[l];
        int k = g->lang_known[l] < 0 ? L_EN : g->lang_known[l];
        lp->language = xstrdup(g->langs[l], &err);
        if (en_title) { /* a category: its name, translated where the tables have it */
            lp->title = xstrdup(kind >= 0 ? class_names[kind][k] : en_title, &err);
            lp->description = xprintf(&err, "%s", kind >= 0 ? class_names[kind][k] : en_title);
            continue;
        }
        const char *pname = g->cats[prod].name;
        const char *phrase = class_phrase[kind][k];
        char suffix[32] = "";
        if (component)
            snprintf(suffix, sizeof suffix, " - x64 (%d)", component);
        if (k == L_JA)
            lp->title = xprintf(&err, "%s 用%s (KB%ld)%s", pname, phrase, kb, suffix);
        else
            lp->title = xprintf(&err, "%s %s %s (KB%ld)%s", phrase, for_word[k], pname, kb, suffix);
        lp->description = xprintf(&err, desc_fmt[k], pname);
    }
    return err;
}

static int build_category(gen *g, int c, updxml_update *u)
{
    const gen_cat *gc = &g->cats[c];
    int err = 0;
    memset(u, 0, sizeof *u);
    snprintf(u->update_id, sizeof u->update_id, "%s", g->cat_ids[c]);
    u->revision = FIRST_REVISION;
    u->type = UPDXML_TYPE_CATEGORY;
    u->category_type = gc->type;
    u->default_language = xstrdup("en", &err);
    u->creation_date = xstrdup("2003-06-01T00:00:00Z", &err);
    u->publication_state = xstrdup("Published", &err);
    u->is_public = -1;
    u->explicitly_deployable = -1;
    u->display_order = c;
    if (err)
        return err;
    err = localize(g, u, gc->name,
                   gc->type == UPDXML_CAT_UPDATE_CLASSIFICATION ? gc->class_kind : -1, 0, 0, 0);
    if (!err && gc->parent >= 0) {
        u->prereqs = calloc(1, sizeof *u->prereqs);
        if (!u->prereqs)
            return -ENOMEM;
        err = add_cat_group(u, g->cat_ids[gc->parent]);
    }
    return err;
}

static const char *const file_ext[] = {"msu", "cab", "exe", "msi"};

static int build_update(gen *g, long i, updxml_update *u)
{
    int err = 0;
    memset(u, 0, sizeof *u);
    update_id(g, i, u->update_id);
    u->revision = revision_of(g, i);
    int prod = product_of(g, i), cls = class_of(g, i);
    int kind = g->cats[cls].class_kind;
    long kb = kb_of(g, i);
    u->type = kind == K_DRV ? UPDXML_TYPE_DRIVER : UPDXML_TYPE_SOFTWARE;
    u->default_language = xstrdup("en", &err);
    char date[32];
    date_text(BASE_TIME + i * STEP, date);
    u->creation_date = xstrdup(date, &err);
    u->expired = is_expired(g, i);
    u->publication_state = xstrdup(u->expired ? "Expired" : "Published", &err);
    u->publisher_id = xstrdup("395392a0-19c0-48b7-a927-f7c15066d905", &err);
    u->is_public = 1;
    u->explicitly_deployable = is_child(g, i) ? 0 : 1;
    u->display_order = -1;
    u->kb_article_id = xprintf(&err, "%ld", kb);
    if (kind == K_SEC) {
        u->msrc_severity = xstrdup(severities[h4(g->o->seed, H_SEV, (uint64_t)i, 0) % 4], &err);
        struct tm tm;
        time_t tt = (time_t)(BASE_TIME + i * STEP);
        gmtime_r(&tt, &tm);
        u->security_bulletin_id = xprintf(&err, "MS%02d-%03ld", tm.tm_year % 100, 1 + (kb % 997));
    }
    if (err)
        return err;
    int component = is_child(g, i) ? (int)(i % UNIT) + 1 : 0;
    err = localize(g, u, NULL, kind, prod, kb, component);
    if (err)
        return err;

    /* Relationships: product and classification, sometimes an earlier update. */
    u->prereqs = calloc(3, sizeof *u->prereqs);
    if (!u->prereqs)
        return -ENOMEM;
    err = add_cat_group(u, g->cat_ids[prod]);
    if (!err)
        err = add_cat_group(u, g->cat_ids[cls]);
    if (!err && has_prereq(g, i)) {
        updxml_prereq *p = &u->prereqs[u->nprereqs++];
        p->nids = 1;
        p->ids = calloc(1, sizeof *p->ids);
        if (!p->ids)
            return -ENOMEM;
        update_id(g, i - 2 * g->lines, p->ids[0].id);
    }
    if (!err && is_bundle(g, i)) {
        u->bundled = calloc(UNIT - 1, sizeof *u->bundled);
        if (!u->bundled)
            return -ENOMEM;
        for (long c = i - (UNIT - 1); c < i; c++) {
            updxml_ref *r = &u->bundled[u->nbundled++];
            update_id(g, c, r->id);
            r->revision = revision_of(g, c);
        }
        g->st.bundles++;
    }
    if (!err && supersedes_prev(g, i)) {
        u->superseded = calloc(1, sizeof *u->superseded);
        if (!u->superseded)
            return -ENOMEM;
        update_id(g, i - g->lines, u->superseded[0].id);
        u->nsuperseded = 1;
        g->st.superseding++;
    }

    /* Files: the payload sits in the children of a bundle, not in the bundle. */
    if (!err && !is_bundle(g, i)) {
        int nf = 1 + (int)(h4(g->o->seed, H_FILES, (uint64_t)i, 0) % 2);
        u->files = calloc((size_t)nf, sizeof *u->files);
        if (!u->files)
            return -ENOMEM;
        for (int f = 0; f < nf && !err; f++) {
            updxml_file *fp = &u->files[u->nfiles++];
            unsigned char sha1[20], sha256[32];
            digest_bytes(g, i, f, 0, sha1, sizeof sha1);
            digest_bytes(g, i, f, 1, sha256, sizeof sha256);
            b64(sha1, sizeof sha1, fp->digest);
            b64(sha256, sizeof sha256, fp->additional_digest);
            snprintf(fp->algorithm, sizeof fp->algorithm, "SHA1");
            snprintf(fp->additional_algorithm, sizeof fp->additional_algorithm, "SHA256");
            const char *ext = file_ext[(kind + f) % 4];
            fp->name = xprintf(&err, "windows-kb%ld-x64-%d.%s", kb, f + 1, ext);
            uint64_t hs = h4(g->o->seed, H_SIZE, (uint64_t)i, (uint64_t)f);
            fp->size = 100000 + (long long)(hs % 300000000ULL);
            fp->modified = xstrdup(date, &err);
            char hex[41];
            for (int b = 0; b < 20; b++)
                snprintf(hex + 2 * b, 3, "%02x", sha1[b]);
            fp->url = xprintf(&err, "%s%02x/%s.%s", CATALOG_GEN_URL_BASE, sha1[19], hex, ext);
            g->st.files++;
        }
    }
    if (u->expired)
        g->st.expired++;
    if (u->revision > FIRST_REVISION)
        g->st.revised++;
    return err;
}

int catalog_gen_each(const catalog_gen_options *o, catalog_gen_fn fn, void *ud)
{
    gen *g = malloc(sizeof *g);
    if (!g)
        return -ENOMEM;
    int rc = gen_init(g, o);
    long long rid = 0;
    updxml_update u;
    /* Categories: companies, families, products, classifications, in table order. */
    for (int c = 0; !rc && c < g->ncats; c++) {
        rc = build_category(g, c, &u);
        if (!rc)
            rc = fn(ud, &u, ++rid);
        updxml_free(&u);
        g->st.categories++;
    }
    for (long i = 0; !rc && i < g->n; i++) {
        rc = build_update(g, i, &u);
        if (!rc)
            rc = fn(ud, &u, ++rid);
        updxml_free(&u);
        g->st.updates++;
    }
    if (o->stats)
        *o->stats = g->st;
    free(g);
    return rc;
}

/* ---------- writers ---------- */

typedef struct writer {
    const catalog_gen_options *o;
    int cab;
    char tmpdir[4096]; /* the directory form's folder, or the cab's work folder */
    unsigned long long bytes;
    /* cab form */
    FILE *pkg;       /* package.xml being written */
    FILE *locs;      /* FileLocation lines, appended to package.xml at the end */
    cabw *part;      /* the packageN.cab being filled */
    int part_no;     /* N of that cab */
    long part_count; /* updates in it */
    long per_part;
    long long range_start[1024];
    int nparts;
} writer;

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -EIO;
    if (fclose(f) != 0 && !rc)
        rc = -EIO;
    return rc;
}

static int dir_cb(void *ud, const updxml_update *u, long long rid)
{
    writer *w = ud;
    char *xml;
    size_t len;
    int rc = updxml_write(u, &xml, &len);
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/%07lld-%s.xml", w->tmpdir, rid, u->update_id);
    rc = write_file(path, xml, len);
    w->bytes += len;
    free(xml);
    return rc;
}

/* ----- the wsusscn2 form ----- */

static void strip_ns(xmlNode *n, xmlNs *upd)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns == upd)
            n->ns = NULL;
        strip_ns(n->children, upd);
    }
}

/* One fragment: the given nodes, serialised one after the other. */
static int dump_nodes(xmlDoc *d, xmlNode **nodes, int n, xmlBuffer *b)
{
    xmlBufferEmpty(b);
    for (int k = 0; k < n; k++)
        if (nodes[k] && xmlNodeDump(b, d, nodes[k], 0, 0) < 0)
            return CM_EPARSE;
    return 0;
}

static int part_open(writer *w)
{
    char path[4200];
    w->part_no = w->part_no ? w->part_no + 1 : 2;
    snprintf(path, sizeof path, "%s/package%d.cab", w->tmpdir, w->part_no);
    w->part_count = 0;
    return cabw_create(&w->part, path);
}

static int part_close(writer *w)
{
    if (!w->part)
        return 0;
    int rc = cabw_finish(w->part);
    w->part = NULL;
    return rc;
}

static void pkg_attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    for (const char *p = value; *p; p++) {
        if (*p == '&')
            fputs("&amp;", f);
        else if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '"')
            fputs("&quot;", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The package.xml entry of one update: what a scanner needs without the fragments. */
static void pkg_entry(writer *w, const updxml_update *u, long long rid)
{
    FILE *f = w->pkg;
    fputs("<Update", f);
    if (u->creation_date)
        pkg_attr(f, "CreationDate", u->creation_date);
    pkg_attr(f, "DefaultLanguage", u->default_language ? u->default_language : "en");
    pkg_attr(f, "UpdateId", u->update_id);
    fprintf(f, " RevisionNumber=\"%d\" RevisionId=\"%lld\"", u->revision, rid);
    if (u->nbundled)
        fputs(" IsBundle=\"true\"", f);
    if (u->type == UPDXML_TYPE_CATEGORY)
        fputs(" IsLeaf=\"true\" IsSoftware=\"false\"", f);
    if (u->explicitly_deployable == 0)
        fputs(" DeploymentAction=\"Bundle\"", f);
    fputs(">", f);
    int open = 0;
    for (size_t p = 0; p < u->nprereqs; p++) {
        const updxml_prereq *pr = &u->prereqs[p];
        if (!pr->is_category)
            continue;
        for (size_t k = 0; k < pr->nids; k++) {
            if (!open++)
                fputs("<Categories>", f);
            fprintf(f, "<Category Id=\"%s\"/>", pr->ids[k].id);
        }
    }
    if (open)
        fputs("</Categories>", f);
    if (u->nprereqs) {
        fputs("<Prerequisites>", f);
        for (size_t p = 0; p < u->nprereqs; p++) {
            const updxml_prereq *pr = &u->prereqs[p];
            if (pr->at_least_one)
                fputs("<Or>", f);
            for (size_t k = 0; k < pr->nids; k++)
                fprintf(f, "<UpdateId Id=\"%s\"/>", pr->ids[k].id);
            if (pr->at_least_one)
                fputs("</Or>", f);
        }
        fputs("</Prerequisites>", f);
    }
    fputs("<Languages>", f);
    for (size_t l = 0; l < u->nlocalized; l++)
        fprintf(f, "<Language Name=\"%s\"/>", u->localized[l].language);
    fputs("</Languages>", f);
    if (u->nfiles) {
        fputs("<PayloadFiles>", f);
        for (size_t k = 0; k < u->nfiles; k++) {
            fprintf(f, "<File Id=\"%s\"/>", u->files[k].digest);
            if (u->files[k].url) {
                fputs("<FileLocation", w->locs);
                pkg_attr(w->locs, "Id", u->files[k].digest);
                pkg_attr(w->locs, "Url", u->files[k].url);
                fputs("/>\n", w->locs);
            }
        }
        fputs("</PayloadFiles>", f);
    }
    fputs("</Update>\n", f);
}

static int cab_cb(void *ud, const updxml_update *u, long long rid)
{
    writer *w = ud;
    char *xml;
    size_t len;
    int rc = updxml_write(u, &xml, &len);
    if (rc)
        return rc;
    w->bytes += len;
    xmlDoc *d = xmlReadMemory(xml, (int)len, "update.xml", NULL,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(xml);
    if (!d)
        return CM_EPARSE;
    xmlNode *root = xmlDocGetRootElement(d);
    xmlNs *upd = root->ns;
    /*
     * Split the document the way wsusscn2 does: c/ the core (identity,
     * properties, relationships, handler data), x/ the extended properties
     * (KB article, bulletin, severity) and files, l/<lang>/ one
     * LocalizedProperties each.  Fragments carry no namespace prefix.
     */
    xmlNode *core[8] = {0}, *ext[4] = {0}, *loc = NULL, *props = NULL;
    int nc = 0, nx = 0;
    for (xmlNode *c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *nm = (const char *)c->name;
        if (strcmp(nm, "LocalizedPropertiesCollection") == 0)
            loc = c;
        else if (strcmp(nm, "Files") == 0 && nx < 4)
            ext[nx++] = c;
        else if (nc < 8)
            core[nc++] = c;
        if (strcmp(nm, "Properties") == 0)
            props = c;
    }
    /* ExtendedProperties: the MsrcSeverity attribute and the text children of Properties. */
    xmlNode *xp = xmlNewDocNode(d, upd, (const xmlChar *)"ExtendedProperties", NULL);
    if (!xp) {
        xmlFreeDoc(d);
        return -ENOMEM;
    }
    xmlAddChild(root, xp); /* owned by the document from here */
    if (props) {
        xmlAttr *sev = xmlHasProp(props, (const xmlChar *)"MsrcSeverity");
        if (sev) {
            xmlChar *v = xmlNodeGetContent((xmlNode *)sev);
            xmlNewProp(xp, (const xmlChar *)"MsrcSeverity", v);
            xmlFree(v);
            xmlRemoveProp(sev);
        }
        xmlAttr *dl = xmlHasProp(props, (const xmlChar *)"DefaultPropertiesLanguage");
        if (dl) {
            xmlChar *v = xmlNodeGetContent((xmlNode *)dl);
            xmlNewProp(xp, (const xmlChar *)"DefaultPropertiesLanguage", v);
            xmlFree(v);
            xmlRemoveProp(dl);
        }
        xmlNode *c = props->children;
        while (c) {
            xmlNode *next = c->next;
            xmlUnlinkNode(c);
            xmlAddChild(xp, c);
            c = next;
        }
    }
    memmove(ext + 1, ext, sizeof ext - sizeof ext[0]);
    ext[0] = xp;
    nx++;
    strip_ns(root->children, upd);

    xmlBuffer *b = xmlBufferCreate();
    char name[64];
    rc = b ? 0 : -ENOMEM;
    if (!rc && !w->part)
        rc = part_open(w);
    if (!rc && w->part_count == 0) {
        if (w->nparts >= (int)(sizeof w->range_start / sizeof w->range_start[0]))
            rc = CM_ETOOBIG;
        else
            w->range_start[w->nparts++] = rid;
    }
    if (!rc)
        rc = dump_nodes(d, core, nc, b);
    if (!rc) {
        snprintf(name, sizeof name, "c/%lld", rid);
        rc = cabw_add(w->part, name, xmlBufferContent(b), (size_t)xmlBufferLength(b));
    }
    if (!rc)
        rc = dump_nodes(d, ext, nx, b);
    if (!rc) {
        snprintf(name, sizeof name, "x/%lld", rid);
        rc = cabw_add(w->part, name, xmlBufferContent(b), (size_t)xmlBufferLength(b));
    }
    size_t li = 0;
    for (xmlNode *c = loc ? loc->children : NULL; !rc && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        rc = dump_nodes(d, &c, 1, b);
        if (!rc && li < u->nlocalized) {
            snprintf(name, sizeof name, "l/%s/%lld", u->localized[li].language, rid);
            rc = cabw_add(w->part, name, xmlBufferContent(b), (size_t)xmlBufferLength(b));
        }
        li++;
    }
    if (b)
        xmlBufferFree(b);
    xmlFreeDoc(d);
    if (!rc)
        pkg_entry(w, u, rid);
    if (!rc && ferror(w->pkg))
        rc = -EIO;
    if (!rc && ++w->part_count >= w->per_part)
        rc = part_close(w);
    return rc;
}

static int rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc = rm_tree(p) ? -EIO : rc;
        else if (unlink(p) != 0)
            rc = -errno;
    }
    closedir(d);
    if (rmdir(path) != 0 && !rc)
        rc = -errno;
    return rc;
}

static int is_empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

static int finish_cab(writer *w, const catalog_gen_options *o)
{
    int rc = part_close(w);
    /* package.xml: the entries, then the file locations. */
    if (!rc) {
        fputs("</Updates>\n<FileLocations>\n", w->pkg);
        rewind(w->locs);
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, w->locs)) > 0)
            if (fwrite(buf, 1, n, w->pkg) != n)
                rc = -EIO;
        fputs("</FileLocations>\n</OfflineSyncPackage>\n", w->pkg);
        if (fflush(w->pkg) != 0 || ferror(w->pkg))
            rc = -EIO;
    }
    char path[4200], src[4200];
    cabw *cw = NULL;
    if (!rc) {
        snprintf(path, sizeof path, "%s/package.cab", w->tmpdir);
        snprintf(src, sizeof src, "%s/package.xml", w->tmpdir);
        rc = cabw_create(&cw, path);
        if (!rc)
            rc = cabw_add_path(cw, "package.xml", src);
        rc = rc ? (cabw_abort(cw), rc) : cabw_finish(cw);
    }
    /* index.xml: which packageN.cab holds which RevisionId range. */
    char *index = NULL;
    size_t ilen = 0;
    FILE *ix = rc ? NULL : open_memstream(&index, &ilen);
    if (!rc && !ix)
        rc = -ENOMEM;
    if (ix) {
        fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Index>\n<CABLIST>\n"
              "<CAB NAME=\"package.cab\"/>\n",
              ix);
        for (int p = 0; p < w->nparts; p++)
            fprintf(ix, "<CAB NAME=\"package%d.cab\" RANGESTART=\"%lld\"/>\n", p + 2,
                    w->range_start[p]);
        fputs("</CABLIST>\n</Index>\n", ix);
        if (fclose(ix) != 0)
            rc = -ENOMEM;
    }
    char tmpcab[4200];
    snprintf(tmpcab, sizeof tmpcab, "%s.tmp", o->out);
    if (!rc)
        rc = cabw_create(&cw, tmpcab);
    if (!rc) {
        rc = cabw_add(cw, "index.xml", index, ilen);
        snprintf(src, sizeof src, "%s/package.cab", w->tmpdir);
        if (!rc)
            rc = cabw_add_path(cw, "package.cab", src);
        for (int p = 0; !rc && p < w->nparts; p++) {
            char nm[32];
            snprintf(nm, sizeof nm, "package%d.cab", p + 2);
            snprintf(src, sizeof src, "%s/%s", w->tmpdir, nm);
            rc = cabw_add_path(cw, nm, src);
        }
        rc = rc ? (cabw_abort(cw), rc) : cabw_finish(cw);
        if (!rc && rename(tmpcab, o->out) != 0)
            rc = -errno;
        if (rc)
            unlink(tmpcab);
    }
    free(index);
    return rc;
}

static int is_cab_path(const char *p)
{
    size_t n = strlen(p);
    return n >= 4 && strcasecmp(p + n - 4, ".cab") == 0;
}

int catalog_generate(const catalog_gen_options *o)
{
    if (!o || !o->out || !*o->out || strlen(o->out) > 3800)
        return CM_ENAME;
    if (o->updates < 0 || o->updates > CATALOG_GEN_MAX_UPDATES)
        return CM_ERANGE;
    writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->o = o;
    w->cab = o->format == CATALOG_GEN_CAB || (o->format == CATALOG_GEN_AUTO && is_cab_path(o->out));
    struct stat st;
    int rc = 0;
    if (!w->cab && stat(o->out, &st) == 0 && (!S_ISDIR(st.st_mode) || !is_empty_dir(o->out)))
        rc = CM_ENAME;
    if (w->cab && stat(o->out, &st) == 0 && S_ISDIR(st.st_mode))
        rc = CM_ENAME;
    snprintf(w->tmpdir, sizeof w->tmpdir, "%s.tmp.XXXXXX", o->out);
    if (!rc && !mkdtemp(w->tmpdir))
        rc = -errno;
    int made = !rc;
    if (!rc && !w->cab) {
        rc = catalog_gen_each(o, dir_cb, w);
        if (!rc) {
            if (stat(o->out, &st) == 0)
                rmdir(o->out); /* empty, checked above */
            if (rename(w->tmpdir, o->out) != 0)
                rc = -errno;
            else
                made = 0;
        }
    } else if (!rc) {
        char path[4200];
        /* Each packageN.cab holds at most 60,000 files: c/, x/ and one l/ per language. */
        int nl = 1;
        if (o->languages)
            for (const char *p = o->languages; *p; p++)
                nl += *p == ',';
        w->per_part = 60000 / (2 + nl + 1);
        snprintf(path, sizeof path, "%s/package.xml", w->tmpdir);
        w->pkg = fopen(path, "w+b");
        w->locs = tmpfile();
        if (!w->pkg || !w->locs)
            rc = -errno;
        if (!rc) {
            char pkgid[UPDXML_GUID_SIZE];
            guid_from(h4(o->seed, 99, 0, 0), h4(o->seed, 99, 1, 0), pkgid);
            fprintf(
                w->pkg,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<OfflineSyncPackage "
                "xmlns=\"" OFFLINE_NS
                "\" MinimumClientVersion=\"5.8.0.2678\" ProtocolVersion=\"1.0\" PackageId=\"%s\""
                " SourceId=\"cc8e7ac9-6fe3-4e1c-9a5b-7e1b6fa2f2a4\" "
                "CreationDate=\"2024-01-01T00:00:00Z\""
                " PackageVersion=\"1.1\">\n<Updates>\n",
                pkgid);
            rc = catalog_gen_each(o, cab_cb, w);
        }
        if (!rc)
            rc = finish_cab(w, o);
        if (w->part)
            cabw_abort(w->part);
        if (w->pkg)
            fclose(w->pkg);
        if (w->locs)
            fclose(w->locs);
    }
    if (made)
        rm_tree(w->tmpdir);
    if (!rc && o->stats)
        o->stats->bytes = w->bytes;
    free(w);
    return rc;
}
