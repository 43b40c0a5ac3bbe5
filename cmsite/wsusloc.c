/*
 * wsusloc.c - cmsite wsus-location: ask the site database where a client
 * finds its WSUS server, exactly as the management point does
 * (MP_GetWSUSServerLocations, components/wsusloc.c): from a
 * WSUSLocationRequest document (a file, or - for standard input) or from
 * flags, printing the WSUSLocationReply.  When the reply is empty it says
 * on standard error which of CI_UpdateSources, Update_SyncStatus and
 * WSUSServerLocations disagree, the check the documents recommend.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_error.h"
#include "cmsite.h"
#include "wsusloc.h"

#define EXIT_EMPTY 3

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cmsite wsus-location [--root DIR] [REQUEST.xml | -]\n"
            "       cmsite wsus-location [--root DIR] [--id {GUID}] [--version N] [--site CODE]\n"
            "                            [--internet] [--print-request]\n"
            "  Prints the WSUSLocationReply the management point gives for a\n"
            "  WSUSLocationRequest (a file, or - for standard input), or for the fields\n"
            "  given as flags: --id the update source unique ID (default: the site's),\n"
            "  --version the content version the client's policy names (default: the\n"
            "  site's current one), --site the client's assigned site (default: this\n"
            "  site), --internet for a client on the Internet.  --print-request prints\n"
            "  the request document instead (to POST to smsmp).\n"
            "  Exit status: 0 locations found, 3 empty reply (the reason goes to\n"
            "  standard error), 1 database failure, 2 usage or a malformed request.\n");
}

static int read_request(const char *path, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = WSUSLOC_MAX_REQUEST + 1;
    if (!f)
        return -errno;
    *buf = malloc(cap + 1);
    if (!*buf) {
        if (f != stdin)
            fclose(f);
        return -ENOMEM;
    }
    /* One byte over the cap is read so that an oversized request is noticed, not cut. */
    *len = fread(*buf, 1, cap, f);
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    (*buf)[*len] = '\0';
    return err ? -EIO : 0;
}

/* The site's update source and its current content version (the defaults of the flags). */
static int site_source(db *d, const char *site, char *id, size_t idlen, long long *version)
{
    db_stmt *st;
    int ret =
        db_prepare(d, &st,
                   "SELECT us.UpdateSource_UniqueID, ss.ContentVersion FROM Update_SyncStatus "
                   "ss JOIN CI_UpdateSources us ON us.UpdateSource_ID = ss.UpdateSource_ID "
                   "WHERE ss.SiteCode = ? AND (? = '' OR UPPER(us.UpdateSource_UniqueID) = "
                   "UPPER(?)) ORDER BY us.UpdateSource_ID");
    if (ret < 0)
        return ret;
    if ((ret = db_bind_text(st, 1, site)) == 0 && (ret = db_bind_text(st, 2, id)) == 0 &&
        (ret = db_bind_text(st, 3, id)) == 0 && (ret = db_step(st)) == 1) {
        if (!id[0])
            snprintf(id, idlen, "%s", db_col_text(st, 0));
        if (*version < 0)
            *version = db_col_int(st, 1);
    }
    db_finalize(st);
    return ret == 1 ? 0 : ret == 0 ? CM_ENOTFOUND : ret;
}

static int digits(const char *s)
{
    if (!*s || strlen(s) > 9)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int cmd_wsus_location(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},    {"id", required_argument, NULL, 'i'},
        {"version", required_argument, NULL, 'v'}, {"site", required_argument, NULL, 's'},
        {"internet", no_argument, NULL, 'n'},      {"print-request", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *root = NULL, *file = NULL;
    wsusloc_request req;
    wsusloc_reply reply;
    site_ini ini;
    db *d = NULL;
    char why[512], out[8192];
    int c, ret, print_request = 0, flags = 0;

    memset(&req, 0, sizeof req);
    req.version = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:i:v:s:nph", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'i':
            if (!wsusloc_guid_valid(optarg)) {
                fprintf(stderr, "cmsite: --id must be an update source unique ID like "
                                "{C2D17964-BBDD-4339-B9F3-12D7205B39CC}.\n");
                return 2;
            }
            snprintf(req.content_id, sizeof req.content_id, "%s", optarg);
            flags = 1;
            break;
        case 'v':
            if (!digits(optarg)) {
                fprintf(stderr, "cmsite: --version must be a content version (a number).\n");
                return 2;
            }
            req.version = strtoll(optarg, NULL, 10);
            flags = 1;
            break;
        case 's':
            if (!config_site_code_valid(optarg)) {
                fprintf(stderr, "cmsite: --site must be a site code like PS1.\n");
                return 2;
            }
            snprintf(req.assigned_site, sizeof req.assigned_site, "%s", optarg);
            flags = 1;
            break;
        case 'n':
            req.on_internet = 1;
            flags = 1;
            break;
        case 'p':
            print_request = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        file = argv[optind++];
    if (optind != argc || (file && (flags || print_request))) {
        fprintf(stderr, "cmsite: give either a request file or flags, not both.\n");
        usage(stderr);
        return 2;
    }
    if (file) {
        char *buf = NULL;
        size_t len = 0;
        if ((ret = read_request(file, &buf, &len)) < 0) {
            fprintf(stderr, "cmsite: cannot read %s: %s\n", file, cm_strerror(ret));
            free(buf);
            return 2;
        }
        ret = wsusloc_parse_request(buf, len, &req, why, sizeof why);
        free(buf);
        if (ret < 0) {
            fprintf(stderr, "cmsite: %s is not a valid WSUSLocationRequest: %s.\n",
                    strcmp(file, "-") == 0 ? "the request" : file, why);
            return 2;
        }
    }
    if ((ret = cmsite_open(cmsite_root(root), &ini, &d)) != 0)
        return ret;
    if (!req.assigned_site[0])
        snprintf(req.assigned_site, sizeof req.assigned_site, "%s", ini.site_code);
    if (!file && (!req.content_id[0] || req.version < 0)) {
        ret =
            site_source(d, req.assigned_site, req.content_id, sizeof req.content_id, &req.version);
        if (ret < 0) {
            if (ret == CM_ENOTFOUND && req.content_id[0])
                fprintf(stderr,
                        "cmsite: site %s has no Update_SyncStatus row for update source %s; "
                        "give --version.\n",
                        req.assigned_site, req.content_id);
            else if (ret == CM_ENOTFOUND)
                fprintf(stderr,
                        "cmsite: site %s has no update source in Update_SyncStatus; give --id "
                        "and --version.\n",
                        req.assigned_site);
            else
                fprintf(stderr, "cmsite: reading the site's update source failed: %s\n",
                        db_errmsg(d));
            db_close(d);
            return ret == CM_ENOTFOUND ? 2 : 1;
        }
    }
    if (print_request) {
        db_close(d);
        if (wsusloc_request_xml(&req, out, sizeof out) < 0)
            return 1;
        printf("%s\n", out);
        return 0;
    }
    ret = wsusloc_lookup(d, &req, ini.site_code, &reply);
    if (ret < 0) {
        fprintf(stderr, "cmsite: the location lookup failed: %s\n", db_errmsg(d));
        db_close(d);
        return 1;
    }
    db_close(d);
    if (wsusloc_reply_xml(&reply, out, sizeof out) < 0) {
        fprintf(stderr, "cmsite: the reply does not fit the output buffer.\n");
        return 1;
    }
    printf("%s\n", out);
    if (reply.n == 0) {
        wsusloc_explain(&req, &reply, why, sizeof why);
        fprintf(stderr, "cmsite: no WSUS location: %s\n", why);
        return EXIT_EMPTY;
    }
    return 0;
}
