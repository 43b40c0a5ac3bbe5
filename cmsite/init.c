/*
 * init.c - cmsite init: make a site.  Creates the root (site.ini, logs/,
 * run/, data/, the inbox tree of the catalogue), creates or updates the
 * site database schema with its seed data, and inserts the site's own rows
 * (site control, its software update point, its update source and sync
 * status).  Running it again on an existing site is safe: it only adds
 * what is missing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cm_error.h"
#include "cmsite.h"
#include "inbox.h"
#include "schema.h"
#include "susdb.h"

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* A new {GUID} for the site's update source. */
static int new_guid(char *buf, size_t len)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return CM_EDB;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(buf, len, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* Run one statement with text parameters (NULL ends the list). */
static int exec_text(db *d, const char *sql, const char *const *params, long long *changes)
{
    db_stmt *st;
    int ret = db_prepare(d, &st, sql);
    if (ret < 0)
        return ret;
    for (int i = 0; params && params[i]; i++)
        if ((ret = db_bind_text(st, i + 1, params[i])) < 0)
            goto done;
    ret = db_step(st);
    if (changes)
        *changes = db_changes(st);
done:
    db_finalize(st);
    return ret < 0 ? ret : 0;
}

/*
 * Insert a row unless count_sql (same parameters, or the first nparams of
 * them) already finds one, so that init can run again on an existing site.
 */
static int ensure_row(db *d, const char *count_sql, int nparams, const char *insert_sql,
                      const char *const *params)
{
    long long n = 0;
    int ret = db_query_int(d, count_sql, params[0], nparams > 1 ? params[1] : NULL, &n);
    if (ret < 0)
        return ret;
    return n ? 0 : exec_text(d, insert_sql, params, NULL);
}

/* The site's own rows, each inserted only when missing. */
static int seed_site(db *d, const site_ini *ini)
{
    char guid[64], url[512], src[32], buildno[16] = "9135";
    long long src_id = 0;
    int ret;

    const char *site[] = {ini->site_code,   ini->site_name, ini->site_type, ini->parent_site,
                          ini->server_name, ini->root,      buildno,        NULL};
    if ((ret = ensure_row(d, "SELECT COUNT(*) FROM SiteControl WHERE SiteCode = ?", 1,
                          "INSERT INTO SiteControl (SiteCode, SiteName, SiteType, ParentSiteCode, "
                          "ServerName, InstallDir, BuildNumber) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          site)) < 0)
        return ret;
    /* The first SUP is the site server itself, on WSUS's default ports. */
    const char *sup[] = {ini->site_code, ini->server_name, NULL};
    if ((ret = ensure_row(d, "SELECT COUNT(*) FROM SoftwareUpdatePoints WHERE SiteCode = ?", 1,
                          "INSERT INTO SoftwareUpdatePoints (SiteCode, ServerName, PortNumber, "
                          "SSLPortNumber, UseSSL, IsInternetFacing, InstallOrder) VALUES (?, ?, "
                          "8530, 8531, 0, 0, 1)",
                          sup)) < 0)
        return ret;
    ret = db_query_int(d, "SELECT MIN(UpdateSource_ID) FROM CI_UpdateSources WHERE SourceSite = ?",
                       ini->site_code, NULL, &src_id);
    if (ret < 0 && ret != CM_ENOTFOUND)
        return ret;
    if (src_id == 0) {
        if ((ret = new_guid(guid, sizeof guid)) < 0)
            return ret;
        const char *p[] = {guid, ini->site_code, NULL};
        if ((ret = exec_text(d,
                             "INSERT INTO CI_UpdateSources (UpdateSource_UniqueID, "
                             "UpdateSourceName, UpdateSourceDescription, SourceSite, ScanMethod) "
                             "VALUES (?, 'WSUS Enterprise Server', 'Microsoft Update', ?, 'WUA')",
                             p, NULL)) < 0 ||
            (ret = db_query_int(d,
                                "SELECT UpdateSource_ID FROM CI_UpdateSources WHERE "
                                "UpdateSource_UniqueID = ?",
                                guid, NULL, &src_id)) < 0)
            return ret;
    }
    snprintf(src, sizeof src, "%lld", src_id);
    snprintf(url, sizeof url, "http://%s:8530", ini->server_name);
    const char *status[] = {ini->site_code, src, ini->server_name, NULL};
    if ((ret = ensure_row(d,
                          "SELECT COUNT(*) FROM Update_SyncStatus WHERE SiteCode = ? AND "
                          "UpdateSource_ID = CAST(? AS INTEGER)",
                          2,
                          "INSERT INTO Update_SyncStatus (SiteCode, UpdateSource_ID, "
                          "WSUSServerName, WSUSSourceServer, ContentVersion, SyncCatalogVersion) "
                          "VALUES (?, CAST(? AS INTEGER), ?, 'Microsoft Update', 0, 0)",
                          status)) < 0)
        return ret;
    const char *loc[] = {ini->site_code, src, ini->server_name, url, NULL};
    return ensure_row(d,
                      "SELECT COUNT(*) FROM WSUSServerLocations WHERE SiteCode = ? AND "
                      "UpdateSource_ID = CAST(? AS INTEGER)",
                      2,
                      "INSERT INTO WSUSServerLocations (SiteCode, UpdateSource_ID, ServerName, "
                      "WSUSURL, ContentVersion, IsInternetFacing) VALUES (?, CAST(? AS INTEGER), "
                      "?, ?, 0, 0)",
                      loc);
}

/*
 * The site server's name is also its software update point's, and wsusd
 * listens on 127.0.0.1 by default: the host name is only a good default
 * when it resolves there (Debian often maps it to 127.0.1.1 instead).
 */
static int resolves_to_loopback(const char *name)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res, *p;
    int found = 0;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return 0;
    for (p = res; p; p = p->ai_next) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)p->ai_addr;
        if (ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK)
            found = 1;
    }
    freeaddrinfo(res);
    return found;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cmsite init [--root DIR] [--db CONNECTION] [--site CODE] [--server NAME]\n"
            "                   [--name TEXT] [--type CAS|PRIMARY|SECONDARY] [--parent CODE]\n"
            "  Creates a site in DIR (default $CMSITE_ROOT or ./site): site.ini, inboxes, logs,\n"
            "  and the site database.  Without --db the database is embedded SQLite\n"
            "  (DIR/data/site.db); --db takes any ODBC connection string or DSN, e.g.\n"
            "  'Driver=PostgreSQL Unicode;Servername=127.0.0.1;Port=5432;Database=cm;Uid=cm'.\n"
            "  Running it again on an existing site adds only what is missing.\n");
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"site", required_argument, NULL, 's'},
                                         {"server", required_argument, NULL, 'S'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"type", required_argument, NULL, 't'},
                                         {"parent", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root = NULL, *conn = NULL, *code = "CS1", *server = NULL, *name = NULL,
               *type = "PRIMARY", *parent = "";
    char abs[PATH_MAX], path[PATH_MAX + 64], host[256], err[512];
    const char *failed = NULL;
    site_ini ini;
    db *d = NULL;
    int c, ret, line;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:d:s:S:n:t:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'd':
            conn = optarg;
            break;
        case 's':
            code = optarg;
            break;
        case 'S':
            server = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'p':
            parent = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!config_site_code_valid(code)) {
        fprintf(stderr, "cmsite: the site code must be three letters or digits, like CS1.\n");
        return 2;
    }
    if (strcmp(type, "CAS") != 0 && strcmp(type, "PRIMARY") != 0 && strcmp(type, "SECONDARY")) {
        fprintf(stderr, "cmsite: --type must be CAS, PRIMARY or SECONDARY.\n");
        return 2;
    }
    root = cmsite_root(root);
    if ((ret = mkdir_p(root)) < 0 || !realpath(root, abs)) {
        fprintf(stderr, "cmsite: cannot create the site root %s: %s\n", root,
                strerror(ret < 0 ? -ret : errno));
        return 1;
    }
    const char *subdirs[] = {"logs", "run", "data", "inboxes"};
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", abs, subdirs[i]);
        if ((ret = mkdir_p(path)) < 0) {
            fprintf(stderr, "cmsite: cannot create %s: %s\n", path, strerror(-ret));
            return 1;
        }
    }

    snprintf(path, sizeof path, "%s/site.ini", abs);
    if (access(path, F_OK) == 0) {
        /* An existing site keeps its settings; init only completes it. */
        if (config_load_ini(abs, &ini, &line, err, sizeof err) < 0) {
            fprintf(stderr, "cmsite: %s%s%.0d: %s\nFix or remove it, then run init again.\n", path,
                    line ? " line " : "", line, err);
            return 2;
        }
        if (conn && strcmp(conn, ini.connection) != 0) {
            fprintf(stderr,
                    "cmsite: %s already uses the database '%s'; edit site.ini to change it.\n",
                    path, ini.connection);
            return 2;
        }
        printf("Site %s exists in %s; completing it.\n", ini.site_code, abs);
    } else {
        memset(&ini, 0, sizeof ini);
        snprintf(ini.root, sizeof ini.root, "%s", abs);
        snprintf(ini.site_code, sizeof ini.site_code, "%s", code);
        for (char *p = ini.site_code; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        if (!server) {
            if (gethostname(host, sizeof host) != 0 || !host[0] || !resolves_to_loopback(host))
                snprintf(host, sizeof host, "localhost");
            host[sizeof host - 1] = '\0';
            server = host;
        }
        snprintf(ini.server_name, sizeof ini.server_name, "%s", server);
        snprintf(ini.site_name, sizeof ini.site_name, "%s", name ? name : "Lab site");
        snprintf(ini.site_type, sizeof ini.site_type, "%s", type);
        snprintf(ini.parent_site, sizeof ini.parent_site, "%s", parent);
        if (conn)
            snprintf(ini.connection, sizeof ini.connection, "%s", conn);
        else
            snprintf(ini.connection, sizeof ini.connection,
                     "Driver=SQLite3;Database=%s/data/site.db", abs);
        ini.log_max_size = 2560000;
        if ((ret = config_write_ini(&ini, 0)) < 0) {
            fprintf(stderr, "cmsite: cannot write %s: %s\n", path, cm_strerror(ret));
            return 1;
        }
    }

    inbox_catalogue *cat;
    snprintf(path, sizeof path, "%s/inboxes", abs);
    if ((ret = inbox_catalogue_builtin(&cat)) < 0 || (ret = inbox_tree_create(path, cat)) < 0) {
        fprintf(stderr, "cmsite: cannot create the inboxes in %s: %s\n", path, cm_strerror(ret));
        return 1;
    }
    inbox_catalogue_free(cat);

    if ((ret = db_open(&d, ini.connection)) < 0) {
        fprintf(stderr,
                "cmsite: cannot connect to the site database '%s': %s\n"
                "For SQLite, install the driver (Debian: libsqliteodbc); for PostgreSQL, "
                "odbc-postgresql and a running server.\n",
                ini.connection, d ? db_errmsg(d) : cm_strerror(ret));
        db_close(d);
        return 1;
    }
    if ((ret = schema_apply(d, &failed)) < 0) {
        fprintf(stderr, "cmsite: creating the schema failed in %s: %s\n", failed ? failed : "?",
                db_errmsg(d));
        db_close(d);
        return 1;
    }
    if ((ret = seed_site(d, &ini)) < 0) {
        fprintf(stderr, "cmsite: adding the site's rows failed: %s\n", db_errmsg(d));
        db_close(d);
        return 1;
    }
    /* The software update point's own database (wsusd's SUSDB), beside the site's. */
    if (susdb_init_root(abs, err, sizeof err) < 0) {
        fprintf(stderr, "cmsite: %s\n", err);
        db_close(d);
        return 1;
    }
    long long version = 0;
    schema_version(d, &version);
    printf("Site %s ready in %s: database %s (schema version %lld), server %s.\n"
           "Start it with: cmsite start --root %s\n",
           ini.site_code, abs, db_dialect_name(db_get_dialect(d)), version, ini.server_name, abs);
    db_close(d);
    return 0;
}
