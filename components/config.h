/*
 * config.h - site settings.
 *
 * <root>/site.ini holds only what is needed before the database can be
 * reached (site code, server name, connection string, log size).  Every
 * other setting is a row of SC_Component_Property, read through a table of
 * settings each daemon declares, and re-read while the daemon runs, so a
 * change made with SQL or cmsite takes effect without a restart.
 */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "db.h"

typedef struct site_ini {
    char root[PATH_MAX]; /* the folder that holds site.ini */
    char site_code[8];   /* e.g. CS1 */
    char site_name[128];
    char site_type[16];    /* CAS, PRIMARY or SECONDARY */
    char parent_site[8];   /* empty for a top-level site */
    char server_name[256]; /* the site server's FQDN as logs and status messages show it */
    char connection[2048]; /* ODBC connection string or DSN */
    long log_max_size;     /* bytes; 0 = the default */
} site_ini;

/*
 * Read <root>/site.ini.  On a parse error returns CM_EPARSE with *errline
 * set to the first bad line (0 when a required key is missing) and errbuf
 * saying what is wrong.
 */
int config_load_ini(const char *root, site_ini *out, int *errline, char *errbuf, size_t errlen);

/* Write a new site.ini (cmsite init); fails if one exists unless overwrite. */
int config_write_ini(const site_ini *ini, int overwrite);

/* A valid site code: three letters or digits. */
int config_site_code_valid(const char *code);

typedef enum { CONFIG_INT, CONFIG_STR } config_type;

/* One setting a daemon declares: name as in SC_Component_Property. */
typedef struct config_setting {
    const char *name;
    config_type type;
    long long def_int;   /* default for CONFIG_INT */
    const char *def_str; /* default for CONFIG_STR */
    long long *ival;     /* where the value goes (CONFIG_INT) */
    char *sval;          /* where the value goes (CONFIG_STR) */
    size_t slen;
} config_setting;

/* Set every setting to its default. */
void config_defaults(config_setting *settings, size_t n);

/*
 * Read the component's rows (site-specific rows override the defaults
 * stored with SiteCode '') and update the settings; settings without a row
 * keep their defaults.  *changed (when not NULL) is set to 1 when a value
 * differs from before.
 */
int config_refresh(db *d, const char *site_code, const char *component, config_setting *settings,
                   size_t n, int *changed);

/* Set a site-specific value (insert or update), as the console would. */
int config_set(db *d, const char *site_code, const char *component, const char *property,
               const char *value1, long long value3);

#endif
