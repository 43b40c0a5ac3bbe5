/*
 * status.c - cmsite status: is the site running, which components run,
 * how many files wait in each inbox, the sync state of the update source,
 * and the last status messages.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmsite.h"
#include "inbox.h"

static const struct {
    const char *prog, *component;
} components[] = {
    {"smsdbmon", "SMS_DATABASE_NOTIFICATION_MONITOR"},
    {"wsusd", "WSUS (software update point stand-in)"},
    {"wcm", "SMS_WSUS_CONFIGURATION_MANAGER"},
    {"wsyncmgr", "SMS_WSUS_SYNC_MANAGER"},
    {"policypv", "SMS_POLICY_PROVIDER"},
    {"statesys", "SMS_STATE_SYSTEM"},
    {"smsmp", "MP_LocationManager (management point)"},
};

/* Regular files directly in a folder (a box's backlog). */
static long count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && e->d_type != DT_DIR)
            n++;
    closedir(d);
    return n;
}

static void print_boxes(const char *root)
{
    inbox_catalogue *cat;
    char dir[4096];
    if (inbox_catalogue_builtin(&cat) < 0)
        return;
    printf("\nInboxes (files waiting):\n");
    for (size_t i = 0; i < inbox_catalogue_count(cat); i++) {
        const inbox_box *b = inbox_catalogue_at(cat, i);
        snprintf(dir, sizeof dir, "%s/inboxes/%s", root, b->name);
        long n = count_files(dir);
        if (n < 0)
            printf("  %-34s missing\n", b->name);
        else
            printf("  %-34s %ld\n", b->name, n);
    }
    inbox_catalogue_free(cat);
}

static void print_sync(db *d, const char *site)
{
    db_stmt *st;
    if (db_prepare(d, &st,
                   "SELECT WSUSServerName, ContentVersion, LastSyncState, LastSyncStateTime, "
                   "LastSuccessfulSyncTime, LastSyncErrorCode FROM Update_SyncStatus WHERE "
                   "SiteCode = ?") < 0)
        return;
    db_bind_text(st, 1, site);
    printf("\nSoftware update sync:\n");
    while (db_step(st) == 1)
        printf("  SUP %s: content version %lld, last state %s at %s, last success %s, error %lld\n",
               db_col_text(st, 0), db_col_int(st, 1),
               db_col_is_null(st, 2) ? "none" : db_col_text(st, 2),
               db_col_is_null(st, 3) ? "-" : db_col_text(st, 3),
               db_col_is_null(st, 4) ? "never" : db_col_text(st, 4), db_col_int(st, 5));
    db_finalize(st);
}

int cmd_status(int argc, char **argv)
{
    const char *root;
    int ret = cmsite_parse_root(argc, argv, "status [--root DIR]", &root, NULL);
    long pid;
    site_ini ini;
    db *d;

    if (ret >= 0)
        return ret;
    int sup = cmsite_running(root, "cmsite", &pid);
    ret = cmsite_open(root, &ini, &d);
    if (ret == 2)
        return ret;
    printf("Site %s (%s) on %s, root %s\n", ini.site_code, ini.site_name, ini.server_name,
           ini.root);
    printf("Database: %s\n", d ? db_dialect_name(db_get_dialect(d)) : "unreachable");
    if (sup)
        printf("Supervisor: running (pid %ld)\n", pid);
    else
        printf("Supervisor: not running (start the site with `cmsite start`)\n");
    printf("\nComponents:\n");
    for (size_t i = 0; i < sizeof components / sizeof components[0]; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/run/%s.pid", root, components[i].prog);
        if (cmsite_running(root, components[i].prog, &pid))
            printf("  %-10s %-36s running (pid %ld)\n", components[i].prog, components[i].component,
                   pid);
        else
            printf("  %-10s %-36s %s\n", components[i].prog, components[i].component,
                   stat(path, &st) == 0 ? "stopped" : "not running");
    }
    print_boxes(root);
    if (d) {
        print_sync(d, ini.site_code);
        printf("\nLast status messages:\n");
        cmsite_print_statmsgs(d, NULL, 0, 10);
        db_close(d);
    }
    return 0;
}
