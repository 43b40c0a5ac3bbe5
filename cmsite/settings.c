/*
 * settings.c - cmsite config: list and change component settings
 * (SC_Component_Property), as the console's component properties do.  A
 * value set here is stored for this site (overriding the default stored
 * with SiteCode ''); the daemons pick it up within seconds, or at once on
 * SIGHUP, without a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmsite.h"

static int list(db *d, const char *site, const char *component)
{
    db_stmt *st;
    int ret = db_prepare(d, &st,
                         "SELECT ComponentName, PropertyName, SiteCode, Value1, Value3 FROM "
                         "SC_Component_Property WHERE (SiteCode = ? OR SiteCode = '') AND (? = '' "
                         "OR ComponentName = ?) ORDER BY ComponentName, PropertyName, SiteCode");
    if (ret < 0)
        return ret;
    db_bind_text(st, 1, site);
    db_bind_text(st, 2, component ? component : "");
    db_bind_text(st, 3, component ? component : "");
    while ((ret = db_step(st)) == 1) {
        const char *v1 = db_col_text(st, 3);
        printf("%-34s %-28s %-8s %s\n", db_col_text(st, 0), db_col_text(st, 1),
               *db_col_text(st, 2) ? db_col_text(st, 2) : "default", *v1 ? v1 : db_col_text(st, 4));
    }
    db_finalize(st);
    return ret;
}

int cmd_config(int argc, char **argv)
{
    const char *root;
    int ret =
        cmsite_parse_root(argc, argv,
                          "config [--root DIR] [COMPONENT [PROPERTY VALUE]]\n"
                          "  Lists the component settings, or sets one for this site, e.g.\n"
                          "  cmsite config SMS_DATABASE_NOTIFICATION_MONITOR 'Verbose Logging' 1",
                          &root, NULL);
    site_ini ini;
    db *d;

    if (ret >= 0)
        return ret;
    int nargs = argc - optind;
    if (nargs == 2 || nargs > 3) {
        fprintf(stderr, "cmsite: config takes COMPONENT, or COMPONENT PROPERTY VALUE\n");
        return 2;
    }
    if ((ret = cmsite_open(root, &ini, &d)) != 0)
        return ret;
    if (nargs == 3) {
        const char *comp = argv[optind], *prop = argv[optind + 1], *value = argv[optind + 2];
        char *end;
        long long num = strtoll(value, &end, 10);
        /* Numbers go to Value3 and text to Value1; a number is stored in both. */
        if (*end != '\0' || !*value)
            num = 0;
        ret = config_set(d, ini.site_code, comp, prop, value, num);
        if (ret == 0)
            printf("%s: '%s' = %s for site %s\n", comp, prop, value, ini.site_code);
    } else {
        ret = list(d, ini.site_code, nargs == 1 ? argv[optind] : NULL);
    }
    if (ret < 0)
        fprintf(stderr, "cmsite: config failed: %s\n", db_errmsg(d));
    db_close(d);
    return ret < 0 ? 1 : 0;
}
