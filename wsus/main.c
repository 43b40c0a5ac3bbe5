/*
 * main.c - wsusd, the software update point stand-in: a WSUS server that
 * speaks the administration API and the server-to-server protocol, with its
 * own SUSDB-like database, for a lab site server.
 *
 * wsusd is not a ConfigMgr component, so it does not run the site daemons'
 * loop (no site database, no status messages): it has its own database
 * (<root>/data/susdb.db by default) and its own small loop for signals and
 * the synchronization schedule.  Its log is <root>/logs/wsusd.log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/rand.h>
#include <uv.h>

#include "cabwrite.h"
#include "catalog_gen.h"
#include "cm_error.h"
#include "config.h"
#include "log.h"
#include "susdb.h"
#include "wsusd.h"

#define SCHEDULE_CHECK_MS 10000

static wsusd W;
static db *main_db;
static time_t last_check;

static void usage(FILE *f)
{
    fprintf(
        f, "usage: wsusd [--root DIR] [--db CONNECTION] [--port N] [--ssl-port N] [--bind ADDR]\n"
           "             [--cert PEM --key PEM] [--server-name FQDN] [--client-timeout SECONDS]\n"
           "             [--max-body BYTES] [--max-updates-per-request N] [--foreground]\n"
           "       wsusd [--root DIR] [--db CONNECTION] --init\n"
           "       wsusd [--root DIR] [--db CONNECTION] --set-account USER   (password on stdin)\n"
           "       wsusd [--root DIR] [--db CONNECTION] --clear-account\n"
           "       wsusd [--root DIR] [--db CONNECTION] --set NAME=VALUE\n"
           "       wsusd --generate OUT [--updates N] [--seed N] [--languages en,de,...]\n"
           "  The software update point stand-in: WSUS web services on port 8530 (8531 with\n"
           "  TLS when --cert and --key are given), bound to 127.0.0.1 unless --bind says\n"
           "  otherwise, with its database in DIR/data/susdb.db (or CONNECTION, any ODBC\n"
           "  connection string).  Listening on another address needs the WSUS server\n"
           "  connection account (--set-account).  Log: DIR/logs/wsusd.log.\n"
           "  --set NAME=VALUE changes a setting of tbConfiguration, e.g.\n"
           "  DssAuthRequiresAccount=1, UpstreamAccountName=..., UpstreamAccountPassword=...,\n"
           "  UpstreamSkipCertificateCheck=1, CompressUpdateBlobsOver=BYTES (-1: never).\n"
           "  --generate writes a synthetic catalog (a folder, or a cab when OUT ends in .cab).\n");
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (!f)
        return NULL;
    buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, max, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int lock_pid(const char *root)
{
    char path[PATH_MAX + 32], buf[32];
    snprintf(path, sizeof path, "%s/run/wsusd.pid", root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "wsusd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr, "wsusd: another wsusd is already running in %s (pid %s); not starting.\n",
                root, buf[0] ? buf : "unknown");
        close(fd);
        return -1;
    }
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
        close(fd);
        return -1;
    }
    return fd;
}

static int is_loopback(const char *addr)
{
    struct in_addr a;
    if (!addr || !*addr)
        return 1;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return 0;
    return (ntohl(a.s_addr) >> 24) == 127;
}

/* The key that seals this server's cookies, made once and kept in tbConfiguration. */
static int cookie_key(db *d, unsigned char key[32])
{
    char hex[80];
    if (susdb_get(d, "CookieKey", hex, sizeof hex) == 0 && strlen(hex) == 64) {
        for (int i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                break;
            key[i] = (unsigned char)v;
            if (i == 31)
                return 0;
        }
    }
    if (RAND_bytes(key, 32) != 1)
        return CM_EDB;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    return susdb_set(d, "CookieKey", hex);
}

static void build_wuident(wsusd *w)
{
    char txt[256];
    unsigned char *cab = NULL;
    size_t len = 0;
    snprintf(txt, sizeof txt,
             "[wuident]\r\nServerVersion=%s\r\nProtocolVersion=%s\r\nSelfUpdateVersion=7.6.7600.320"
             "\r\n",
             WSUSAPI_SERVER_VERSION, WSUSSS_PROTOCOL_VERSION);
    if (cabw_single_mem("wuident.txt", txt, strlen(txt), &cab, &len) == 0 &&
        len <= sizeof w->wuident_cab) {
        memcpy(w->wuident_cab, cab, len);
        w->wuident_len = len;
    }
    free(cab);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static uv_loop_t *loop;
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t schedule_timer;

static void close_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    if (signum == SIGHUP) {
        log_msg("Received SIGHUP; settings are read from the database at each use.");
        return;
    }
    log_msg("Received signal %d: WSUS is stopping.", signum);
    uv_walk(loop, close_cb, NULL);
}

static void on_schedule(uv_timer_t *h)
{
    wsusapi_subscription sub;
    time_t now = time(NULL);
    (void)h;
    int ret = susdb_subscription_load(main_db, &sub);
    if (ret < 0) {
        web_db_check(main_db, ret);
        return;
    }
    time_t next = sync_next_scheduled(&sub, last_check);
    wsusapi_subscription_free(&sub);
    if (next && next <= now) {
        ret = sync_start(&W, 0);
        if (ret == 0)
            log_msg("CatalogSyncAgent.Sync Starting the scheduled synchronization.");
    }
    last_check = now;
}

/* ------------------------------------------------------------------ */
/* Commands that do not serve                                          */
/* ------------------------------------------------------------------ */

static int open_db(const char *conn, db **d)
{
    const char *failed = NULL;
    int ret = db_open(d, conn);
    if (ret < 0) {
        fprintf(stderr, "wsusd: cannot connect to the WSUS database '%s': %s\n", conn,
                *d ? db_errmsg(*d) : cm_strerror(ret));
        return ret;
    }
    if ((ret = susdb_apply(*d, &failed)) < 0) {
        fprintf(stderr, "wsusd: creating the WSUS database failed in %s: %s\n",
                failed ? failed : "?", db_errmsg(*d));
        return ret;
    }
    return 0;
}

static int cmd_generate(const char *out, long updates, unsigned long long seed, const char *langs)
{
    catalog_gen_stats stats = {0};
    catalog_gen_options o = {0};
    o.out = out;
    o.updates = updates;
    o.seed = seed;
    o.languages = langs;
    o.stats = &stats;
    int ret = catalog_generate(&o);
    if (ret < 0) {
        fprintf(stderr, "wsusd: cannot generate the catalog %s: %s\n", out, cm_strerror(ret));
        return 1;
    }
    printf("Generated %s: %ld categories, %ld updates (%ld bundles, %ld superseding, %ld expired, "
           "%ld revised), %ld files.\n",
           out, stats.categories, stats.updates, stats.bundles, stats.superseding, stats.expired,
           stats.revised, stats.files);
    return 0;
}

static int cmd_admin(const char *conn, const char *set_account, int clear_account,
                     const char *set_kv)
{
    db *d = NULL;
    int ret = open_db(conn, &d);
    if (ret < 0) {
        db_close(d);
        return 1;
    }
    if (set_account) {
        char pw[512];
        if (!fgets(pw, sizeof pw, stdin)) {
            fprintf(stderr, "wsusd: give the password on standard input.\n");
            db_close(d);
            return 2;
        }
        pw[strcspn(pw, "\r\n")] = '\0';
        ret = susdb_set_account(d, set_account, pw);
        memset(pw, 0, sizeof pw);
        if (ret == 0)
            printf("The WSUS server connection account is now %s.\n", set_account);
    } else if (clear_account) {
        ret = susdb_set_account(d, "", "");
        if (ret == 0)
            printf("The WSUS server connection account is removed.\n");
    } else if (set_kv) {
        char name[128];
        const char *eq = strchr(set_kv, '=');
        if (!eq || eq == set_kv || (size_t)(eq - set_kv) >= sizeof name) {
            fprintf(stderr, "wsusd: --set takes NAME=VALUE.\n");
            db_close(d);
            return 2;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - set_kv), set_kv);
        ret = susdb_set(d, name, eq + 1);
        if (ret == 0)
            printf("%s = %s\n", name, eq + 1);
    } else {
        char id[37];
        ret = susdb_server_id(d, id);
        if (ret == 0)
            printf("WSUS database ready (server ID %s).\n", id);
    }
    if (ret < 0)
        fprintf(stderr, "wsusd: %s\n", db_errmsg(d));
    db_close(d);
    return ret < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"ssl-port", required_argument, NULL, 'P'},
                                         {"bind", required_argument, NULL, 'b'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"server-name", required_argument, NULL, 'n'},
                                         {"client-timeout", required_argument, NULL, 't'},
                                         {"max-body", required_argument, NULL, 'm'},
                                         {"max-updates-per-request", required_argument, NULL, 'u'},
                                         {"foreground", no_argument, NULL, 'f'},
                                         {"init", no_argument, NULL, 'i'},
                                         {"set-account", required_argument, NULL, 'A'},
                                         {"clear-account", no_argument, NULL, 'C'},
                                         {"set", required_argument, NULL, 'S'},
                                         {"generate", required_argument, NULL, 'g'},
                                         {"updates", required_argument, NULL, 'U'},
                                         {"seed", required_argument, NULL, 'E'},
                                         {"languages", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root_arg = getenv("CMSITE_ROOT"), *cert = NULL, *key = NULL;
    const char *set_account = NULL, *set_kv = NULL, *generate = NULL, *langs = NULL;
    int fg = 0, init = 0, clear_account = 0, c, ret;
    long updates = 1000;
    unsigned long long seed = 1;
    char path[PATH_MAX + 64];
    site_ini ini;

    memset(&W, 0, sizeof W);
    W.port = 8530;
    W.ssl_port = 8531;
    W.client_timeout_s = 60;
    W.max_body = 16u << 20;
    W.max_updates_per_request = 100;
    snprintf(W.root, sizeof W.root, "%s", root_arg && *root_arg ? root_arg : "site");
    while ((c = getopt_long(argc, argv, "r:d:p:P:b:c:k:n:t:m:u:fiA:CS:g:U:E:L:h", opts, NULL)) !=
           -1) {
        switch (c) {
        case 'r':
            snprintf(W.root, sizeof W.root, "%s", optarg);
            break;
        case 'd':
            snprintf(W.conn, sizeof W.conn, "%s", optarg);
            break;
        case 'p':
            W.port = atoi(optarg);
            break;
        case 'P':
            W.ssl_port = atoi(optarg);
            break;
        case 'b':
            snprintf(W.bind_addr, sizeof W.bind_addr, "%s", optarg);
            break;
        case 'c':
            cert = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'n':
            snprintf(W.server_name, sizeof W.server_name, "%s", optarg);
            break;
        case 't':
            W.client_timeout_s = atol(optarg);
            break;
        case 'm':
            W.max_body = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'u':
            W.max_updates_per_request = atoll(optarg);
            break;
        case 'f':
            fg = 1;
            break;
        case 'i':
            init = 1;
            break;
        case 'A':
            set_account = optarg;
            break;
        case 'C':
            clear_account = 1;
            break;
        case 'S':
            set_kv = optarg;
            break;
        case 'g':
            generate = optarg;
            break;
        case 'U':
            updates = atol(optarg);
            break;
        case 'E':
            seed = strtoull(optarg, NULL, 10);
            break;
        case 'L':
            langs = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || W.port < 0 || W.port > 65535 || W.ssl_port < 0 || W.ssl_port > 65535 ||
        W.client_timeout_s < 1 || W.max_body < 4096 || W.max_updates_per_request < 1 ||
        W.max_updates_per_request > 10000 || (!cert) != (!key)) {
        usage(stderr);
        return 2;
    }
    if (generate)
        return cmd_generate(generate, updates, seed, langs);

    char abs[PATH_MAX];
    snprintf(path, sizeof path, "%s", W.root);
    mkdir(path, 0750);
    if (realpath(W.root, abs))
        snprintf(W.root, sizeof W.root, "%s", abs);
    const char *subs[] = {"logs", "run", "data"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", W.root, subs[i]);
        mkdir(path, 0750);
    }
    if (!W.conn[0])
        susdb_default_connection(W.root, W.conn, sizeof W.conn);
    if (init || set_account || clear_account || set_kv)
        return cmd_admin(W.conn, set_account, clear_account, set_kv);

    /* site.ini, when this root is a site, names the server and the log size. */
    int errline = 0;
    char err[256];
    long log_max = LOG_DEFAULT_MAX_SIZE;
    if (config_load_ini(W.root, &ini, &errline, err, sizeof err) == 0) {
        if (!W.server_name[0])
            snprintf(W.server_name, sizeof W.server_name, "%s", ini.server_name);
        if (ini.log_max_size)
            log_max = ini.log_max_size;
    }
    if (!W.server_name[0] && gethostname(W.server_name, sizeof W.server_name - 1) != 0)
        snprintf(W.server_name, sizeof W.server_name, "localhost");
    if (cert) {
        W.cert_pem = read_file(cert, 1u << 20);
        W.key_pem = read_file(key, 1u << 20);
        if (!W.cert_pem || !W.key_pem) {
            fprintf(stderr, "wsusd: cannot read the certificate %s or the key %s.\n", cert, key);
            return 2;
        }
    }

    int pidfd = lock_pid(W.root);
    if (pidfd < 0)
        return 1;
    snprintf(path, sizeof path, "%s/logs/wsusd.log", W.root);
    if ((ret = log_open(path, WSUSD_LOG_COMPONENT, log_max)) < 0) {
        fprintf(stderr, "wsusd: cannot open %s: %s\n", path, cm_strerror(ret));
        return 1;
    }
    log_set_stderr(fg);
    signal(SIGPIPE, SIG_IGN);
    /* Before any thread parses XML: libxml2 sets itself up once, here. */
    xmlInitParser();
    pthread_mutex_init(&W.lock, NULL);
    log_msg("WSUS (wsusd) starting on %s (pid %ld), database %s.", W.server_name, (long)getpid(),
            W.conn);

    ret = open_db(W.conn, &main_db);
    if (ret == 0 && ((ret = susdb_server_id(main_db, W.server_id)) < 0 ||
                     (ret = cookie_key(main_db, W.cookie_key)) < 0))
        fprintf(stderr, "wsusd: %s\n", db_errmsg(main_db));
    if (ret < 0) {
        log_msg("WSUS cannot use its database %s: %s", W.conn,
                main_db ? db_errmsg(main_db) : cm_strerror(ret));
        db_close(main_db);
        log_close();
        return 1;
    }
    if (!is_loopback(W.bind_addr) && susdb_check_account(main_db, "", "") == CM_ENOTFOUND) {
        log_msg("WSUS refuses to listen on %s without the WSUS server connection account: set "
                "it with wsusd --set-account USER.",
                W.bind_addr);
        fprintf(stderr,
                "wsusd: listening on %s needs an account: run wsusd --root %s --set-account USER "
                "(password on standard input).\n",
                W.bind_addr, W.root);
        db_close(main_db);
        log_close();
        return 2;
    }
    build_wuident(&W);
    if ((ret = web_start(&W)) < 0) {
        fprintf(stderr, "wsusd: cannot listen on port %d: %s\n", W.port, cm_strerror(ret));
        db_close(main_db);
        log_close();
        return 1;
    }
    log_msg("WSUS started: server ID %s.", W.server_id);

    loop = uv_default_loop();
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_hup);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_hup, on_signal, SIGHUP);
    uv_timer_init(loop, &schedule_timer);
    last_check = time(NULL);
    uv_timer_start(&schedule_timer, on_schedule, SCHEDULE_CHECK_MS, SCHEDULE_CHECK_MS);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_run(loop, UV_RUN_NOWAIT);
    uv_loop_close(loop);

    /* Stop serving first, then let a running sync end at its next batch. */
    web_stop(&W);
    sync_request_stop(&W);
    sync_join(&W);
    db_close(main_db);
    log_msg("WSUS stopped.");
    log_close();
    free(W.cert_pem);
    free(W.key_pem);
    pthread_mutex_destroy(&W.lock);
    snprintf(path, sizeof path, "%s/run/wsusd.pid", W.root);
    unlink(path);
    close(pidfd);
    return 0;
}
