/*
 * syncnow.c - cmsite syncnow [--full]: what the console's "Synchronize
 * Software Updates" does.  It sets Update_SyncStatus.SyncNow to 'SELF'
 * ('FULL' with --full) and then back to NULL, exactly as the SMS Provider's
 * SyncNow method does; the change-notification trigger records the change
 * and smsdbmon drops SELF.SYN (or FULL.SYN) into wsyncmgr.box.
 */
#include <getopt.h>
#include <stdio.h>

#include "cmsite.h"

int cmd_syncnow(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"full", no_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *root = NULL;
    int full = 0, c, ret;
    site_ini ini;
    db *d;
    db_stmt *st = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:Fh", opts, NULL)) != -1) {
        if (c == 'r') {
            root = optarg;
        } else if (c == 'F') {
            full = 1;
        } else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: cmsite syncnow [--root DIR] [--full]\n"
                    "  Requests a software updates sync (SELF.SYN); --full re-reads every update "
                    "(FULL.SYN).\n");
            return c == 'h' ? 0 : 2;
        }
    }
    root = cmsite_root(root);
    if ((ret = cmsite_open(root, &ini, &d)) != 0)
        return ret;
    int rc = 1;
    /* Two statements, as the SQL Profiler trace of the real SyncNow shows. */
    if (db_prepare(d, &st, "UPDATE Update_SyncStatus SET SyncNow = ? WHERE SiteCode = ?") < 0 ||
        db_bind_text(st, 1, full ? "FULL" : "SELF") < 0 || db_bind_text(st, 2, ini.site_code) < 0 ||
        db_step(st) < 0)
        goto fail;
    if (db_changes(st) == 0) {
        fprintf(stderr, "cmsite: site %s has no Update_SyncStatus row; run `cmsite init` again.\n",
                ini.site_code);
        goto done;
    }
    db_finalize(st);
    st = NULL;
    if (db_prepare(d, &st, "UPDATE Update_SyncStatus SET SyncNow = NULL WHERE SiteCode = ?") < 0 ||
        db_bind_text(st, 1, ini.site_code) < 0 || db_step(st) < 0)
        goto fail;
    printf("Requested a %ssynchronization for site %s.\n", full ? "full " : "", ini.site_code);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "cmsite: syncnow failed: %s\n", db_errmsg(d));
done:
    db_finalize(st);
    db_close(d);
    return rc;
}
