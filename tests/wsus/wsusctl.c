/*
 * wsusctl.c - a command-line client of the WSUS administration API
 * (components/wsusapi.h), for the end-to-end tests: it drives a real
 * wsusd the way WCM and wsyncmgr do and prints what it gets back.
 *
 * usage: wsusctl [-h HOST] [-p PORT] [-s] [-k] [-u USER:PASSWORD] COMMAND [ARGS]
 * Exit status 0 on success; on failure the client's error text goes to
 * standard error and the status is 1 (3 for CM_ENOTFOUND).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_error.h"
#include "wsusapi.h"

static int fail(wsusapi *c, int ret)
{
    fprintf(stderr, "%s\n", wsusapi_error(c)[0] ? wsusapi_error(c) : cm_strerror(ret));
    return ret == CM_ENOTFOUND ? 3 : 1;
}

static void print_config(const wsusapi_config *c)
{
    static const char *src[] = {"MicrosoftUpdate", "UpstreamServer", "OfflineCatalog"};
    printf("SyncSource=%s\nUpstreamServerName=%s\nUpstreamServerPortNumber=%d\n"
           "UpstreamServerUseSsl=%d\nReplicaMode=%d\nMUUrl=%s\nOfflineCatalogPath=%s\n"
           "UseProxy=%d\nProxyName=%s\nProxyServerPort=%d\nLanguages=%s\nAllLanguages=%d\n"
           "LocalPortNumber=%d\n",
           src[c->source], c->upstream_server, c->upstream_port, c->upstream_ssl, c->replica_mode,
           c->mu_url, c->offline_path, c->use_proxy, c->proxy_name, c->proxy_port, c->languages,
           c->all_languages, c->server_port);
}

/* Split "a,b,c" into a malloc'd array of strings. */
static size_t split(const char *list, char ***out)
{
    size_t n = 0;
    char *copy = strdup(list), *save = NULL;
    *out = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        *out = realloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = strdup(t);
    }
    free(copy);
    return n;
}

static int cmd_sync_wait(wsusapi *c)
{
    wsusapi_sync_state st;
    wsusapi_progress pr, last = {0};
    wsusapi_sync_info info;
    int ret;
    if ((ret = wsusapi_start_sync(c)) < 0)
        return fail(c, ret);
    for (;;) {
        if ((ret = wsusapi_get_sync_state(c, &st)) < 0)
            return fail(c, ret);
        if ((ret = wsusapi_get_sync_progress(c, &pr)) < 0)
            return fail(c, ret);
        if (st == WSUSAPI_SYNC_NOT_PROCESSING)
            break;
        if (pr.phase != last.phase || pr.processed != last.processed)
            printf("progress %s %lld/%lld\n", wsusapi_phase_name(pr.phase), pr.processed, pr.total);
        last = pr;
        usleep(50000);
    }
    if ((ret = wsusapi_get_last_sync(c, &info)) < 0)
        return fail(c, ret);
    printf("result %s new %lld revised %lld expired %lld\n",
           info.result == WSUSAPI_RESULT_SUCCEEDED  ? "Succeeded"
           : info.result == WSUSAPI_RESULT_FAILED   ? "Failed"
           : info.result == WSUSAPI_RESULT_CANCELED ? "Canceled"
                                                    : "Never",
           info.new_updates, info.revised_updates, info.expired_updates);
    if (info.error[0])
        printf("error %s\n", info.error);
    return info.result == WSUSAPI_RESULT_SUCCEEDED ? 0 : 4;
}

int main(int argc, char **argv)
{
    wsusapi_target t = {.host = "127.0.0.1", .port = 8530, .timeout_s = 60};
    char user[256] = "", *pw = NULL;
    int c, ret;
    while ((c = getopt(argc, argv, "h:p:sku:")) != -1) {
        switch (c) {
        case 'h':
            t.host = optarg;
            break;
        case 'p':
            t.port = atoi(optarg);
            break;
        case 's':
            t.use_ssl = 1;
            break;
        case 'k':
            t.insecure = 1;
            break;
        case 'u':
            snprintf(user, sizeof user, "%s", optarg);
            pw = strchr(user, ':');
            if (pw)
                *pw++ = '\0';
            t.user = user;
            t.password = pw ? pw : "";
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: wsusctl [-h HOST] [-p PORT] [-s] [-k] [-u USER:PASS] COMMAND\n");
        return 2;
    }
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    wsusapi *api = NULL;
    if ((ret = wsusapi_connect(&api, &t)) < 0) {
        int r = fail(api, ret);
        wsusapi_close(api);
        return r;
    }
    ret = 0;
    if (strcmp(cmd, "version") == 0) {
        char v[64], p[64];
        if ((ret = wsusapi_server_version(api, v, sizeof v)) == 0 &&
            (ret = wsusapi_protocol_version(api, p, sizeof p)) == 0)
            printf("%s %s\n", v, p);
    } else if (strcmp(cmd, "config") == 0) {
        wsusapi_config cfg;
        if ((ret = wsusapi_get_config(api, &cfg)) == 0)
            print_config(&cfg);
    } else if (strcmp(cmd, "set-upstream") == 0 && nargs >= 2) {
        wsusapi_config cfg;
        if ((ret = wsusapi_get_config(api, &cfg)) == 0) {
            cfg.source = WSUSAPI_SOURCE_UPSTREAM;
            snprintf(cfg.upstream_server, sizeof cfg.upstream_server, "%s", args[0]);
            cfg.upstream_port = atoi(args[1]);
            cfg.upstream_ssl = nargs > 2 && strcmp(args[2], "ssl") == 0;
            cfg.replica_mode = nargs > 2 && strcmp(args[nargs - 1], "replica") == 0;
            ret = wsusapi_set_config(api, &cfg);
        }
    } else if (strcmp(cmd, "set-mu") == 0 && nargs == 1) {
        wsusapi_config cfg;
        if ((ret = wsusapi_get_config(api, &cfg)) == 0) {
            cfg.source = WSUSAPI_SOURCE_MU;
            snprintf(cfg.mu_url, sizeof cfg.mu_url, "%s", args[0]);
            ret = wsusapi_set_config(api, &cfg);
        }
    } else if (strcmp(cmd, "set-offline") == 0 && nargs == 1) {
        wsusapi_config cfg;
        if ((ret = wsusapi_get_config(api, &cfg)) == 0) {
            cfg.source = WSUSAPI_SOURCE_OFFLINE;
            snprintf(cfg.offline_path, sizeof cfg.offline_path, "%s", args[0]);
            ret = wsusapi_set_config(api, &cfg);
        }
    } else if (strcmp(cmd, "set-languages") == 0 && nargs == 1) {
        wsusapi_config cfg;
        if ((ret = wsusapi_get_config(api, &cfg)) == 0) {
            snprintf(cfg.languages, sizeof cfg.languages, "%s", args[0]);
            ret = wsusapi_set_config(api, &cfg);
        }
    } else if (strcmp(cmd, "subscription") == 0) {
        wsusapi_subscription sub;
        if ((ret = wsusapi_get_subscription(api, &sub)) == 0) {
            printf("auto %d time %ld perday %d\n", sub.sync_automatically, sub.time_of_day_s,
                   sub.syncs_per_day);
            for (size_t i = 0; i < sub.nproducts; i++)
                printf("product %s\n", sub.product_ids[i]);
            for (size_t i = 0; i < sub.nclassifications; i++)
                printf("classification %s\n", sub.classification_ids[i]);
            wsusapi_subscription_free(&sub);
        }
    } else if (strcmp(cmd, "subscribe") == 0 && nargs == 2) {
        /* subscribe PRODUCTS CLASSIFICATIONS ("-" for none) */
        wsusapi_subscription sub;
        if ((ret = wsusapi_get_subscription(api, &sub)) == 0) {
            wsusapi_subscription_free(&sub);
            sub.nproducts = strcmp(args[0], "-") ? split(args[0], &sub.product_ids) : 0;
            sub.nclassifications =
                strcmp(args[1], "-") ? split(args[1], &sub.classification_ids) : 0;
            ret = wsusapi_set_subscription(api, &sub);
            wsusapi_subscription_free(&sub);
        }
    } else if (strcmp(cmd, "schedule") == 0 && nargs == 3) {
        wsusapi_subscription sub;
        if ((ret = wsusapi_get_subscription(api, &sub)) == 0) {
            sub.sync_automatically = atoi(args[0]);
            sub.time_of_day_s = atol(args[1]);
            sub.syncs_per_day = atoi(args[2]);
            ret = wsusapi_set_subscription(api, &sub);
            wsusapi_subscription_free(&sub);
        }
    } else if (strcmp(cmd, "sync") == 0) {
        ret = wsusapi_start_sync(api);
    } else if (strcmp(cmd, "sync-wait") == 0) {
        int r = cmd_sync_wait(api);
        wsusapi_close(api);
        return r;
    } else if (strcmp(cmd, "stop") == 0) {
        ret = wsusapi_stop_sync(api);
    } else if (strcmp(cmd, "state") == 0) {
        wsusapi_sync_state st;
        if ((ret = wsusapi_get_sync_state(api, &st)) == 0)
            printf("%d\n", (int)st);
    } else if (strcmp(cmd, "progress") == 0) {
        wsusapi_progress pr;
        if ((ret = wsusapi_get_sync_progress(api, &pr)) == 0)
            printf("%d %lld %lld\n", (int)pr.phase, pr.processed, pr.total);
    } else if (strcmp(cmd, "last-sync") == 0) {
        wsusapi_sync_info info;
        if ((ret = wsusapi_get_last_sync(api, &info)) == 0)
            printf("result %d new %lld revised %lld expired %lld\nerror %s\n", (int)info.result,
                   info.new_updates, info.revised_updates, info.expired_updates, info.error);
    } else if (strcmp(cmd, "categories") == 0) {
        wsusapi_category *v;
        size_t n;
        if ((ret = wsusapi_get_categories(api, &v, &n)) == 0) {
            for (size_t i = 0; i < n; i++)
                printf("%s %s %s|%s\n", v[i].id, v[i].type,
                       v[i].parent_id[0] ? v[i].parent_id : "-", v[i].title);
            free(v);
        }
    } else if (strcmp(cmd, "update") == 0 && nargs == 1) {
        wsusapi_update u;
        if ((ret = wsusapi_get_update(api, args[0], &u)) == 0)
            printf("%s %d %s KB%s %s expired=%d superseded=%d class=%s|%s\n", u.id, u.revision,
                   u.update_type, u.kb_article, u.msrc_severity[0] ? u.msrc_severity : "-",
                   u.is_expired, u.is_superseded, u.classification_id, u.title);
    } else if (strcmp(cmd, "xml") == 0 && nargs == 1) {
        char *xml;
        size_t len;
        if ((ret = wsusapi_get_update_xml(api, args[0], &xml, &len)) == 0) {
            fwrite(xml, 1, len, stdout);
            putchar('\n');
            free(xml);
        }
    } else {
        fprintf(stderr, "wsusctl: unknown command %s\n", cmd);
        wsusapi_close(api);
        return 2;
    }
    int r = ret < 0 ? fail(api, ret) : 0;
    wsusapi_close(api);
    return r;
}
