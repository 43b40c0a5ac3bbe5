/*
 * updxml_util.h - what the two update XML parsers (updxml_parse, the tree
 * walk in updxml.c, and updxml_parse_fields, the SAX2 parser in
 * updxml_sax.c) share: the value checks, the bounded lists, and the rules
 * each modelled element's attributes follow, in the order the checks run.
 * Internal to components/; callers use updxml.h.
 *
 * The order matters as much as the checks: a document can break two rules
 * at once (a bad UpdateType and a 100 KB CreationDate), and the one checked
 * first decides whether it is CM_EPARSE or CM_ETOOBIG.  Keeping each
 * sequence in one function is what makes both parsers give the same answer.
 */
#ifndef CM_UPDXML_UTIL_H
#define CM_UPDXML_UTIL_H

#include <stddef.h>

#include <libxml/parser.h>

#include "updxml.h"

/*
 * How a parser hands the rules below the attributes of one element: the
 * value of the un-namespaced attribute name in *value, NULL when absent,
 * valid until the rules function that asked returns.  0, CM_ETOOBIG for a
 * value longer than UPDXML_MAX_TEXT, or -ENOMEM.
 */
typedef int (*updxml_util_get_fn)(void *src, const char *name, const char **value);

/*
 * The attributes of <Properties> and <cat:CategoryInformation> that the
 * model names (NULL-terminated); the tree walk keeps the others for writing
 * back, and the fields-only parser still has to bound them the same way.
 */
extern const char *const updxml_util_prop_known[];
extern const char *const updxml_util_cat_known[];
int updxml_util_is_known(const char *name, const char *const *list);

/*
 * The checks done before libxml2 sees a document (NULL, empty, over
 * UPDXML_MAX_DOC, over INT_MAX, or holding "<!DOCTYPE" anywhere): 0 or the
 * code to return.
 */
int updxml_util_precheck(const char *xml, size_t len);
/* Any error of a parse becomes what the public functions return: -ENOMEM, CM_ETOOBIG or CM_EPARSE.
 */
int updxml_util_result(int rc);
/*
 * This thread's parser context, kept between documents and replaced when
 * its dictionary grows past a bound; NULL when there is none (the caller
 * then uses a fresh one).  Also runs xmlInitParser once.
 */
xmlParserCtxtPtr updxml_util_thread_ctxt(void);

/* True when s[0..n) holds only spaces, tabs, CRs and LFs, the text allowed between elements. */
int updxml_util_only_space(const char *s, size_t n);
/* Languages name folders in the offline catalog, so they are kept strict. */
int updxml_util_valid_language(const char *s);
/* Digests are base64 and fit the model's fixed-size fields. */
int updxml_util_valid_digest(const char *s);
/* Makes room for entry n of *arr (capacity *cap); lists stop at UPDXML_MAX_ITEMS (CM_ETOOBIG). */
int updxml_util_grow(void **arr, size_t *cap, size_t n, size_t elsize);

/* The rules of one element's attributes follow, each in the order the checks run. */
int updxml_util_ref(updxml_util_get_fn get, void *src, int need_revision, updxml_ref *r);
/* The named attributes of <Properties>; the caller deals with the others. */
int updxml_util_properties(updxml_util_get_fn get, void *src, updxml_update *u);
/* A prerequisite <AtLeastOne> names categories when IsCategory is true. */
int updxml_util_is_category(updxml_util_get_fn get, void *src, int *is_category);
int updxml_util_file(updxml_util_get_fn get, void *src, updxml_file *f);
/* Only a <File>'s first <AdditionalDigest> is read: its Algorithm attribute and its text. */
int updxml_util_additional_digest(updxml_file *f, const char *algorithm, const char *text);
/*
 * The named attributes of <cat:CategoryInformation> go into *type and
 * *display_order (which the caller sets to -1 first); an update that
 * already has a category type (current) cannot have a second one.
 */
int updxml_util_category(updxml_util_get_fn get, void *src, updxml_category_type current,
                         updxml_category_type *type, int *display_order);

/*
 * These run after the last child of an element whose rules look at the
 * whole of it: the LocalizedProperties just read, the prerequisite just
 * read (p, whose categories go into u->categories of capacity *catcap), and
 * the update itself.
 */
int updxml_util_localized_done(const updxml_update *u);
int updxml_util_prereq_done(updxml_update *u, const updxml_prereq *p, size_t *catcap);
int updxml_util_update_done(const updxml_update *u, int seen_identity, int seen_properties);

#endif
