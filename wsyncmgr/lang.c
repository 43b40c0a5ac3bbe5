/*
 * lang.c - WSUS language short names and their Windows locale IDs (see
 * lang.h).  The table holds the update languages WSUS offers.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cm_error.h"
#include "lang.h"

static const struct {
    const char *name;
    int lcid;
} langs[] = {
    {"ar", 1025},    {"bg", 1026},    {"cs", 1029}, {"da", 1030}, {"de", 1031}, {"el", 1032},
    {"en", 1033},    {"es", 3082},    {"et", 1061}, {"fi", 1035}, {"fr", 1036}, {"he", 1037},
    {"hi", 1081},    {"hr", 1050},    {"hu", 1038}, {"it", 1040}, {"ja", 1041}, {"ko", 1042},
    {"lt", 1063},    {"lv", 1062},    {"nl", 1043}, {"no", 1044}, {"nb", 1044}, {"pl", 1045},
    {"pt", 2070},    {"pt-br", 1046}, {"ro", 1048}, {"ru", 1049}, {"sk", 1051}, {"sl", 1060},
    {"sr", 2074},    {"sv", 1053},    {"th", 1054}, {"tr", 1055}, {"uk", 1058}, {"zh-cn", 2052},
    {"zh-tw", 1028}, {"zh-hk", 3076},
};

int lang_lcid(const char *short_name)
{
    if (!short_name)
        return 0;
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++)
        if (strcasecmp(langs[i].name, short_name) == 0)
            return langs[i].lcid;
    return 0;
}

int lang_find(const lang_set *set, const char *short_name)
{
    for (size_t i = 0; short_name && i < set->n; i++)
        if (strcasecmp(set->name[i], short_name) == 0)
            return (int)i;
    return -1;
}

int lang_parse(const char *setting, lang_set *out, size_t *unknown)
{
    const char *p = setting ? setting : "";
    size_t bad = 0;
    memset(out, 0, sizeof *out);
    while (*p) {
        char tok[16];
        size_t n = 0;
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        while (*p && *p != ',' && !isspace((unsigned char)*p)) {
            if (n + 1 < sizeof tok)
                tok[n++] = (char)tolower((unsigned char)*p);
            else
                n = sizeof tok; /* too long: not a language */
            p++;
        }
        if (n >= sizeof tok) {
            bad++;
            continue;
        }
        tok[n] = '\0';
        int lcid = lang_lcid(tok);
        if (!lcid) {
            bad++;
            continue;
        }
        if (lang_find(out, tok) >= 0)
            continue;
        if (out->n == LANG_MAX)
            return CM_ERANGE;
        snprintf(out->name[out->n], sizeof out->name[0], "%s", tok);
        out->lcid[out->n++] = lcid;
    }
    if (out->n == 0) {
        snprintf(out->name[0], sizeof out->name[0], "en");
        out->lcid[0] = 1033;
        out->n = 1;
    }
    if (unknown)
        *unknown = bad;
    return 0;
}
