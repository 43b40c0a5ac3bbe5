/*
 * updxml.h - the MS-WSUSSS update XML (one <upd:Update> document, namespace
 * http://schemas.microsoft.com/msus/2002/12/Update) as a C structure: what
 * wsusd stores in its SUSDB-like tables and what the sync manager reads.
 *
 * updxml_parse() reads a document with libxml2 without entities, DTDs or the
 * network and within size bounds, and fills the model (updxml_parse_fields()
 * does the same without what only writing back needs); updxml_write() writes
 * the model back as canonical XML (fixed prefixes, fixed attribute and
 * element order), so parse(write(u)) == u and write(parse(write(u))) is
 * byte-identical.  Parts of a real Microsoft document that the model does not
 * name (ApplicabilityRules, installer HandlerSpecificData, EULA files...)
 * are kept as raw XML in extra_xml and written back, so nothing a real
 * upstream sends is lost on the way through.
 *
 * Relationships other than Prerequisites, BundledUpdates and
 * SupersededUpdates are dropped, and an AtLeastOne group inside
 * BundledUpdates is flattened into its members.
 *
 * All strings are malloc'd UTF-8 and NUL-terminated; updxml_free() releases
 * everything a parse (or a caller filling the struct with malloc'd data)
 * put in it.  Functions return 0 or a negative cm_error.h code:
 * CM_EPARSE for malformed XML or a document the model rejects (no identity,
 * a bad GUID, an unknown UpdateType or CategoryType), CM_ETOOBIG for input
 * over the bounds below, -ENOMEM.
 */
#ifndef CM_UPDXML_H
#define CM_UPDXML_H

#include <stddef.h>

#define UPDXML_NS "http://schemas.microsoft.com/msus/2002/12/Update"
#define UPDXML_NS_CATEGORY "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category"

#define UPDXML_GUID_SIZE 37         /* "0fa1201d-4330-4fa8-8ae9-b877473b6441" + NUL, lower case */
#define UPDXML_DIGEST_SIZE 48       /* base64 SHA-1 is 28 characters; room for SHA-256 (44) */
#define UPDXML_MAX_DOC (4u << 20)   /* one update document */
#define UPDXML_MAX_TEXT (64u << 10) /* one title, description or attribute value */
#define UPDXML_MAX_ITEMS 10000      /* entries in any one list (languages, files, IDs) */

typedef enum updxml_type {
    UPDXML_TYPE_SOFTWARE = 0,
    UPDXML_TYPE_DRIVER,
    UPDXML_TYPE_CATEGORY,
    UPDXML_TYPE_DETECTOID
} updxml_type;

typedef enum updxml_category_type {
    UPDXML_CAT_NONE = 0, /* not a category */
    UPDXML_CAT_COMPANY,
    UPDXML_CAT_PRODUCT_FAMILY,
    UPDXML_CAT_PRODUCT,
    UPDXML_CAT_UPDATE_CLASSIFICATION
} updxml_category_type;

/* One UpdateIdentity inside Relationships.  revision 0: the attribute is absent. */
typedef struct updxml_ref {
    char id[UPDXML_GUID_SIZE];
    int revision;
} updxml_ref;

/*
 * One entry of Prerequisites: either a single <UpdateIdentity> (at_least_one
 * 0, nids 1) or an <AtLeastOne> group of several.  An AtLeastOne group with
 * IsCategory="true" is how an update names its product and classification,
 * and how a category names its parent.
 */
typedef struct updxml_prereq {
    int at_least_one;
    int is_category;
    size_t nids;
    updxml_ref *ids;
} updxml_prereq;

typedef struct updxml_localized {
    char *language;    /* "en", "de", "zh-tw" ... */
    char *title;       /* may be NULL */
    char *description; /* may be NULL */
} updxml_localized;

/* An attribute the model does not name, kept to be written back. */
typedef struct updxml_attr {
    char *name; /* un-namespaced attribute name (namespaced ones are not kept) */
    char *value;
} updxml_attr;

typedef struct updxml_file {
    char *name;                                 /* FileName attribute */
    char digest[UPDXML_DIGEST_SIZE];            /* Digest attribute (base64) */
    char algorithm[16];                         /* DigestAlgorithm, normally "SHA1" */
    char additional_digest[UPDXML_DIGEST_SIZE]; /* <AdditionalDigest>, "" when absent */
    char additional_algorithm[16];              /* its Algorithm ("SHA256") */
    long long size;                             /* Size attribute, -1 when absent */
    char *modified;                             /* Modified attribute, or NULL */
    /*
     * Download URL.  Not part of the update XML in MS-WSUSSS (it travels in
     * ServerSyncUrlData or the offline catalog's FileLocations), so
     * updxml_parse leaves it NULL and updxml_write does not emit it; the
     * catalog reader and the sync client fill it from those sources.
     */
    char *url;
} updxml_file;

typedef struct updxml_update {
    /* UpdateIdentity */
    char update_id[UPDXML_GUID_SIZE]; /* lower case */
    int revision;                     /* RevisionNumber, >= 1 */

    /* Properties */
    updxml_type type;
    updxml_category_type category_type; /* categories only */
    char *default_language;             /* DefaultPropertiesLanguage, or NULL */
    char *creation_date;                /* CreationDate, "2006-05-22T19:10:10.172Z", or NULL */
    char *publication_state;            /* "Published", "Expired", or NULL */
    int expired;                        /* 1 when PublicationState is "Expired" */
    char *publisher_id;                 /* PublisherID GUID text, or NULL */
    int is_public;                      /* IsPublic; -1 when absent */
    int explicitly_deployable;          /* ExplicitlyDeployable; -1 when absent */
    char *detectoid_type;               /* DetectoidType, or NULL */
    char *kb_article_id;                /* KBArticleID ("3000850", no "KB"), or NULL */
    char *security_bulletin_id;         /* SecurityBulletinID ("MS14-068"), or NULL */
    char *msrc_severity;                /* MsrcSeverity ("Critical"...), or NULL */
    int display_order;                  /* categories: DisplayOrder, -1 when absent */
    /* Other attributes of <Properties> (Handler, MaxDownloadSize...), in document order. */
    size_t nprop_attrs;
    updxml_attr *prop_attrs;
    /* Other children of <Properties> (InstallationBehavior, SupportUrl...), raw XML, or NULL. */
    char *prop_extra_xml;
    /* Other attributes of a category's <CategoryInformation> (ProhibitsUpdates...). */
    size_t ncat_attrs;
    updxml_attr *cat_attrs;

    /* LocalizedPropertiesCollection */
    size_t nlocalized;
    updxml_localized *localized;

    /* Relationships */
    size_t nprereqs;
    updxml_prereq *prereqs;
    size_t nbundled; /* BundledUpdates */
    updxml_ref *bundled;
    size_t nsuperseded; /* SupersededUpdates */
    updxml_ref *superseded;

    /*
     * Derived on parse, for callers that only want "which categories": the
     * IDs of every AtLeastOne IsCategory="true" group, in document order,
     * without repeats.  updxml_write ignores it (prereqs is the truth).
     */
    size_t ncategories;
    updxml_ref *categories;

    /* Files */
    size_t nfiles;
    updxml_file *files;

    /*
     * Top-level children the model does not name, as self-contained XML
     * elements (each carries its own namespace declarations), in document
     * order, or NULL.
     */
    char *extra_xml;
} updxml_update;

/* Names as the XML spells them ("Software", "UpdateClassification"...). */
const char *updxml_type_name(updxml_type t);
const char *updxml_category_type_name(updxml_category_type t);
/* 0 and *out set, or CM_EPARSE for a name the format does not define. */
int updxml_type_from_name(const char *name, updxml_type *out);
int updxml_category_type_from_name(const char *name, updxml_category_type *out);

/*
 * Normalise a GUID ("{0FA1201D-...}" or "0fa1201d-...") to 36 lower-case
 * characters in out.  0, or CM_EPARSE when it is not a GUID.
 */
int updxml_guid_normalize(const char *in, char out[UPDXML_GUID_SIZE]);

/*
 * Parse one update document (len bytes, need not be NUL-terminated).  out
 * is overwritten (not freed first); on failure it is left empty (zeroed), so
 * updxml_free is always safe afterwards.
 */
int updxml_parse(const char *xml, size_t len, updxml_update *out);
/*
 * updxml_parse for readers that never write the document back: the same
 * result for any input (0, CM_EPARSE, CM_ETOOBIG or -ENOMEM) and, on
 * success, the same fields, except that what the model keeps only for
 * writing back is left empty (nprop_attrs/prop_attrs, prop_extra_xml,
 * ncat_attrs/cat_attrs, extra_xml): content the model does not name is
 * skipped.  Read with libxml2's SAX2 interface, without a tree, several
 * times faster.  Safe to call from several threads at once.
 */
int updxml_parse_fields(const char *xml, size_t len, updxml_update *out);
/* Free everything in u and zero it. */
void updxml_free(updxml_update *u);
/*
 * Write u as a canonical document (UTF-8, with an XML declaration).  *xml is
 * malloc'd and NUL-terminated; *len excludes the NUL.  CM_EPARSE when u
 * itself is invalid (bad GUID, revision < 1, category without a type).
 */
int updxml_write(const updxml_update *u, char **xml, size_t *len);

/* Title for a language, falling back to the default language, then the first. */
const char *updxml_title(const updxml_update *u, const char *language);

#endif
