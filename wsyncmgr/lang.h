/*
 * lang.h - the update languages of the site: the short names WSUS uses in
 * update metadata ("en", "de", "zh-tw") and the Windows locale IDs
 * ConfigMgr stores them under (CI_LocalizedProperties.LocaleID 1033...).
 *
 * The 'Languages' setting of SMS_WSUS_SYNC_MANAGER is a comma-separated list
 * of short names; the site phase writes localized titles and descriptions
 * for exactly those, and asks the software update point for them.
 */
#ifndef WSYNCMGR_LANG_H
#define WSYNCMGR_LANG_H

#include <stddef.h>

#define LANG_MAX 32 /* languages one site may configure */

typedef struct lang_set {
    size_t n;
    char name[LANG_MAX][16]; /* lower case, as update XML spells them */
    int lcid[LANG_MAX];
} lang_set;

/* The LCID of a WSUS language short name (any case), or 0 when unknown. */
int lang_lcid(const char *short_name);

/*
 * Parse the 'Languages' setting ("en,de", spaces allowed).  Unknown names
 * are skipped and counted in *unknown (may be NULL); duplicates are
 * dropped; English is used when nothing valid is left.  Returns 0, or
 * CM_ERANGE when more than LANG_MAX names are given.
 */
int lang_parse(const char *setting, lang_set *out, size_t *unknown);

/* The index of a short name in the set, or -1. */
int lang_find(const lang_set *set, const char *short_name);

#endif
