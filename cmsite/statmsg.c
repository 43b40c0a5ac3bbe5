/*
 * statmsg.c - cmsite statmsg: the site's status messages as text, newest
 * last, as the console's status message viewer shows them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmsite.h"
#include "statmsg.h"

int cmsite_print_statmsgs(db *d, const char *component, long long id, long long limit)
{
    db_stmt *st, *ins;
    int ret;
    /* Newest first in the query, so LIMIT keeps the latest; printed oldest first. */
    ret = db_prepare(d, &st,
                     "SELECT RecordID, Time, Component, MachineName, SiteCode, MessageID, Severity "
                     "FROM StatusMessages WHERE (? = '' OR Component = ?) AND (? = 0 OR MessageID "
                     "= ?) ORDER BY RecordID DESC LIMIT ?");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, component ? component : "")) < 0 ||
        (ret = db_bind_text(st, 2, component ? component : "")) < 0 ||
        (ret = db_bind_int(st, 3, id)) < 0 || (ret = db_bind_int(st, 4, id)) < 0 ||
        (ret = db_bind_int(st, 5, limit)) < 0) {
        db_finalize(st);
        return ret;
    }
    size_t n = 0, cap = 16;
    char **lines = malloc(cap * sizeof *lines);
    while (lines && (ret = db_step(st)) == 1) {
        const char *istr[STATMSG_MAX_INSSTRS] = {0};
        char *vals[STATMSG_MAX_INSSTRS] = {0};
        char text[4096], line[8192];
        long long rec = db_col_int(st, 0), sev = db_col_int(st, 6);
        if (db_prepare(d, &ins,
                       "SELECT InsStrIndex, InsStrValue FROM StatusMessageInsStrs WHERE RecordID = "
                       "? ORDER BY InsStrIndex") == 0) {
            db_bind_int(ins, 1, rec);
            while (db_step(ins) == 1) {
                long long k = db_col_int(ins, 0);
                if (k >= 0 && k < STATMSG_MAX_INSSTRS && !vals[k])
                    istr[k] = vals[k] = strdup(db_col_text(ins, 1));
            }
            db_finalize(ins);
        }
        if (statmsg_render_component(d, (int)db_col_int(st, 5), db_col_text(st, 2), istr, text,
                                     sizeof text) < 0)
            snprintf(text, sizeof text, "Message ID %lld", db_col_int(st, 5));
        for (int k = 0; k < STATMSG_MAX_INSSTRS; k++)
            free(vals[k]);
        snprintf(line, sizeof line, "%s  %-5s %s  %s  %s  %lld  %s", db_col_text(st, 1),
                 sev == 0xC0000000LL   ? "Error"
                 : sev == 0x80000000LL ? "Warn"
                                       : "Info",
                 db_col_text(st, 4), db_col_text(st, 2), db_col_text(st, 3), db_col_int(st, 5),
                 text);
        if (n == cap) {
            char **nl = realloc(lines, 2 * cap * sizeof *lines);
            if (!nl)
                break;
            lines = nl;
            cap *= 2;
        }
        lines[n++] = strdup(line);
    }
    for (size_t i = n; i-- > 0;) {
        printf("%s\n", lines[i] ? lines[i] : "");
        free(lines[i]);
    }
    free(lines);
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

int cmd_statmsg(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'}, {"component", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, 'i'},   {"limit", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *root = NULL, *comp = NULL;
    long long id = 0, limit = 50;
    int c, ret;
    site_ini ini;
    db *d;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:c:i:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'c':
            comp = optarg;
            break;
        case 'i':
            id = atoll(optarg);
            break;
        case 'n':
            limit = atoll(optarg);
            break;
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: cmsite statmsg [--root DIR] [--component NAME] [--id N] [--limit N]\n"
                    "  Shows the latest status messages (50 by default) as text.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (limit <= 0) {
        fprintf(stderr, "cmsite: --limit must be a positive number\n");
        return 2;
    }
    if ((ret = cmsite_open(cmsite_root(root), &ini, &d)) != 0)
        return ret;
    ret = cmsite_print_statmsgs(d, comp, id, limit);
    if (ret < 0)
        fprintf(stderr, "cmsite: cannot read status messages: %s\n", db_errmsg(d));
    db_close(d);
    return ret < 0 ? 1 : 0;
}
