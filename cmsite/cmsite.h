/*
 * cmsite.h - the commands of the cmsite command line, one file each.
 * Each returns the process exit code: 0 success, 1 failure of the action,
 * 2 wrong usage or a site that cannot be read.
 */
#ifndef CMSITE_H
#define CMSITE_H

#include "config.h"
#include "db.h"

int cmd_init(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_syncnow(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_statmsg(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_summarize(int argc, char **argv);
int cmd_wsus_location(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_subscribe(int argc, char **argv);

/* Shared by the commands: the site root from --root, $CMSITE_ROOT or ./site. */
const char *cmsite_root(const char *opt);
/*
 * Parse --root (and --foreground when fg is not NULL) for the commands that
 * take nothing else; positional arguments stay at optind.  Returns -1 to go
 * on, or the exit code (after printing "usage: cmsite <usage>").
 */
int cmsite_parse_root(int argc, char **argv, const char *usage, const char **root, int *fg);
/* Load site.ini and connect; prints what to do on failure. */
int cmsite_open(const char *root, site_ini *ini, db **d);
/* Whether the pid file's lock is held: 1 running (pid in *pid), 0 not. */
int cmsite_running(const char *root, const char *progname, long *pid);

/* Print the last `limit` status messages (of one component or ID when given). */
int cmsite_print_statmsgs(db *d, const char *component, long long id, long long limit);

#endif
