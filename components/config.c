/*
 * config.c - site.ini (inih) and the SC_Component_Property settings.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "cm_error.h"
#include "config.h"

struct ini_state {
    site_ini *out;
    char *errbuf;
    size_t errlen;
    int bad;
};

int config_site_code_valid(const char *code)
{
    if (!code || strlen(code) != 3)
        return 0;
    for (int i = 0; i < 3; i++)
        if (!isalnum((unsigned char)code[i]))
            return 0;
    return 1;
}

static int copy_value(char *dst, size_t len, const char *v)
{
    if (strlen(v) >= len)
        return 0;
    memcpy(dst, v, strlen(v) + 1);
    return 1;
}

/* inih handler: returns 0 on an error, which makes ini_parse report the line. */
static int site_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct ini_state *st = user;
    site_ini *o = st->out;
    int ok = 1;

    if (strcasecmp(section, "site") == 0) {
        if (strcasecmp(name, "code") == 0)
            ok = copy_value(o->site_code, sizeof o->site_code, value) &&
                 config_site_code_valid(value);
        else if (strcasecmp(name, "name") == 0)
            ok = copy_value(o->site_name, sizeof o->site_name, value);
        else if (strcasecmp(name, "type") == 0)
            ok = copy_value(o->site_type, sizeof o->site_type, value) &&
                 (strcmp(value, "CAS") == 0 || strcmp(value, "PRIMARY") == 0 ||
                  strcmp(value, "SECONDARY") == 0);
        else if (strcasecmp(name, "parent") == 0)
            ok = copy_value(o->parent_site, sizeof o->parent_site, value) &&
                 (!*value || config_site_code_valid(value));
        else if (strcasecmp(name, "server") == 0)
            ok = copy_value(o->server_name, sizeof o->server_name, value) && *value;
        else
            ok = 0;
    } else if (strcasecmp(section, "database") == 0) {
        if (strcasecmp(name, "connection") == 0)
            ok = copy_value(o->connection, sizeof o->connection, value) && *value;
        else
            ok = 0;
    } else if (strcasecmp(section, "logs") == 0) {
        if (strcasecmp(name, "max_size") == 0) {
            char *end;
            errno = 0;
            long v = strtol(value, &end, 10);
            ok = !errno && *value && !*end && v >= 0;
            o->log_max_size = v;
        } else {
            ok = 0;
        }
    } else {
        ok = 0;
    }
    if (!ok && !st->bad) {
        snprintf(st->errbuf, st->errlen, "bad or unknown setting [%s] %s = %s", section, name,
                 value);
        st->bad = 1;
    }
    return ok;
}

int config_load_ini(const char *root, site_ini *out, int *errline, char *errbuf, size_t errlen)
{
    char path[PATH_MAX + 16];
    struct ini_state st = {out, errbuf, errlen, 0};

    memset(out, 0, sizeof *out);
    *errline = 0;
    if (errlen)
        errbuf[0] = '\0';
    if (!copy_value(out->root, sizeof out->root, root))
        return -ENAMETOOLONG;
    snprintf(out->site_type, sizeof out->site_type, "PRIMARY");
    snprintf(path, sizeof path, "%s/site.ini", root);
    int rc = ini_parse(path, site_ini_handler, &st);
    if (rc < 0) {
        snprintf(errbuf, errlen, "cannot read %s", path);
        return -ENOENT;
    }
    if (rc > 0) {
        *errline = rc;
        if (!st.bad)
            snprintf(errbuf, errlen, "syntax error");
        return CM_EPARSE;
    }
    const char *missing = !out->site_code[0]     ? "[site] code"
                          : !out->server_name[0] ? "[site] server"
                          : !out->connection[0]  ? "[database] connection"
                                                 : NULL;
    if (missing) {
        snprintf(errbuf, errlen, "missing %s", missing);
        return CM_EPARSE;
    }
    if (!out->site_name[0])
        snprintf(out->site_name, sizeof out->site_name, "%s site", out->site_code);
    return 0;
}

int config_write_ini(const site_ini *ini, int overwrite)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/site.ini", ini->root);
    snprintf(tmp, sizeof tmp, "%s/.site.ini.%ld", ini->root, (long)getpid());
    if (!overwrite && access(path, F_OK) == 0)
        return -EEXIST;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "; site.ini - what the lab site server needs before it can reach its database.\n"
            "; Every other setting is in the site database (SC_Component_Property); change it\n"
            "; with SQL or cmsite, and the daemons pick it up without a restart.\n\n"
            "[site]\ncode = %s\nname = %s\ntype = %s\nparent = %s\nserver = %s\n\n"
            "[database]\n; any ODBC connection string, or a DSN name from odbc.ini\n"
            "connection = %s\n\n[logs]\n; bytes; a log larger than this is renamed to .lo_\n"
            "max_size = %ld\n",
            ini->site_code, ini->site_name, ini->site_type, ini->parent_site, ini->server_name,
            ini->connection, ini->log_max_size ? ini->log_max_size : 2560000L);
    int ret = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ret = -errno;
    if (fclose(f) != 0 && !ret)
        ret = -errno;
    if (!ret && rename(tmp, path) != 0)
        ret = -errno;
    if (ret)
        unlink(tmp);
    return ret;
}

void config_defaults(config_setting *settings, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        config_setting *s = &settings[i];
        if (s->type == CONFIG_INT)
            *s->ival = s->def_int;
        else
            snprintf(s->sval, s->slen, "%s", s->def_str ? s->def_str : "");
    }
}

int config_refresh(db *d, const char *site_code, const char *component, config_setting *settings,
                   size_t n, int *changed)
{
    db_stmt *st;
    int ret, any = 0;
    /* Row values land here first: a site row overrides the default row of the same name. */
    const char **sval = calloc(n ? n : 1, sizeof *sval);
    char **owned = calloc(n ? n : 1, sizeof *owned);
    long long *ival = calloc(n ? n : 1, sizeof *ival);
    if (!sval || !owned || !ival) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ival[i] = settings[i].def_int;
        sval[i] = settings[i].def_str ? settings[i].def_str : "";
    }
    /* '' sorts first, so a site's own row comes after the default and wins. */
    ret = db_prepare(d, &st,
                     "SELECT PropertyName, Value1, Value3 FROM SC_Component_Property "
                     "WHERE ComponentName = ? AND (SiteCode = ? OR SiteCode = '') "
                     "ORDER BY SiteCode");
    if (ret < 0)
        goto out;
    if ((ret = db_bind_text(st, 1, component)) < 0 || (ret = db_bind_text(st, 2, site_code)) < 0)
        goto done;
    while ((ret = db_step(st)) == 1) {
        const char *prop = db_col_text(st, 0);
        for (size_t i = 0; i < n; i++) {
            if (strcasecmp(prop, settings[i].name) != 0)
                continue;
            if (settings[i].type == CONFIG_INT) {
                ival[i] = db_col_is_null(st, 2) ? settings[i].def_int : db_col_int(st, 2);
            } else {
                free(owned[i]);
                owned[i] = strdup(db_col_text(st, 1));
                if (!owned[i]) {
                    ret = -ENOMEM;
                    goto done;
                }
                sval[i] = owned[i];
            }
        }
    }
    if (ret < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        config_setting *s = &settings[i];
        if (s->type == CONFIG_INT && *s->ival != ival[i]) {
            *s->ival = ival[i];
            any = 1;
        } else if (s->type == CONFIG_STR && strncmp(s->sval, sval[i], s->slen) != 0) {
            snprintf(s->sval, s->slen, "%s", sval[i]);
            any = 1;
        }
    }
done:
    db_finalize(st);
out:
    for (size_t i = 0; owned && i < n; i++)
        free(owned[i]);
    free(owned);
    free(sval);
    free(ival);
    if (changed)
        *changed = any;
    return ret < 0 ? ret : 0;
}

int config_set(db *d, const char *site_code, const char *component, const char *property,
               const char *value1, long long value3)
{
    db_stmt *st;
    int ret = db_prepare(d, &st,
                         "UPDATE SC_Component_Property SET Value1 = ?, Value3 = ? "
                         "WHERE SiteCode = ? AND ComponentName = ? AND PropertyName = ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, value1 ? value1 : "")) < 0 ||
        (ret = db_bind_int(st, 2, value3)) < 0 || (ret = db_bind_text(st, 3, site_code)) < 0 ||
        (ret = db_bind_text(st, 4, component)) < 0 || (ret = db_bind_text(st, 5, property)) < 0 ||
        (ret = db_step(st)) < 0)
        goto done;
    if (db_changes(st) == 0) {
        db_finalize(st);
        ret = db_prepare(d, &st,
                         "INSERT INTO SC_Component_Property (SiteCode, ComponentName, "
                         "PropertyName, Value1, Value2, Value3) VALUES (?, ?, ?, ?, '', ?)");
        if (ret < 0)
            return ret;
        if ((ret = db_bind_text(st, 1, site_code)) < 0 ||
            (ret = db_bind_text(st, 2, component)) < 0 ||
            (ret = db_bind_text(st, 3, property)) < 0 ||
            (ret = db_bind_text(st, 4, value1 ? value1 : "")) < 0 ||
            (ret = db_bind_int(st, 5, value3)) < 0)
            goto done;
        ret = db_step(st);
    }
done:
    db_finalize(st);
    return ret < 0 ? ret : 0;
}
