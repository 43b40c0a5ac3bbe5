/*
 * main.c - cmsite, the lab site server's command line: dispatches to the
 * command files (init.c, supervisor.c, status.c, syncnow.c, statmsg.c,
 * settings.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cm_error.h"
#include "cmsite.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"init", cmd_init, "create a site: root folder, inboxes, site.ini, database schema and seed"},
    {"start", cmd_start, "start the site's daemons under the supervisor (SMS_EXECUTIVE)"},
    {"stop", cmd_stop, "stop the supervisor and every daemon cleanly"},
    {"status", cmd_status, "components, inbox backlogs, sync state, last status messages"},
    {"syncnow", cmd_syncnow, "request a software updates sync, as the console's Synchronize"},
    {"sync", cmd_sync, "request a sync and, with --wait, follow it to its end (exit 0 on 6702)"},
    {"statmsg", cmd_statmsg, "show status messages as text"},
    {"config", cmd_config, "list or change component settings (SC_Component_Property)"},
    {"simulate-clients", cmd_simulate,
     "write state message files (.SMX) as N clients would send them"},
    {"summarize", cmd_summarize,
     "run a summarization task of the state system now and show its result"},
    {"wsus-location", cmd_wsus_location,
     "where clients find their WSUS server (WSUSLocationReply)"},
    {"subscribe", cmd_subscribe,
     "list or change the products and classifications the site synchronizes"},
    {"catalog", cmd_catalog,
     "generate or check an offline update catalog (directory or wsusscn2 cab)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cmsite COMMAND [--root DIR] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nThe site root is --root DIR, else $CMSITE_ROOT, else ./site.\n"
               "`cmsite COMMAND --help` shows a command's options.\n");
}

const char *cmsite_root(const char *opt)
{
    const char *env = getenv("CMSITE_ROOT");
    if (opt && *opt)
        return opt;
    return env && *env ? env : "site";
}

int cmsite_parse_root(int argc, char **argv, const char *usage, const char **root, int *fg)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"foreground", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    *root = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:fh", opts, NULL)) != -1) {
        if (c == 'r') {
            *root = optarg;
        } else if (c == 'f' && fg) {
            *fg = 1;
        } else {
            fprintf(c == 'h' ? stdout : stderr, "usage: cmsite %s\n", usage);
            return c == 'h' ? 0 : 2;
        }
    }
    *root = cmsite_root(*root);
    return -1;
}

int cmsite_open(const char *root, site_ini *ini, db **d)
{
    char err[512], abs[PATH_MAX];
    int line = 0;
    /* An absolute root, so status and messages say exactly where the site is. */
    if (realpath(root, abs))
        root = abs;
    int ret = config_load_ini(root, ini, &line, err, sizeof err);
    *d = NULL;
    if (ret < 0) {
        if (line)
            fprintf(stderr, "cmsite: %s/site.ini line %d: %s\n", root, line, err);
        else
            fprintf(stderr,
                    "cmsite: %s/site.ini: %s. Create a site with `cmsite init --root %s`.\n", root,
                    err, root);
        return 2;
    }
    ret = db_open(d, ini->connection);
    if (ret < 0) {
        fprintf(stderr,
                "cmsite: cannot connect to the site database (%s): %s\n"
                "Check [database] connection in %s/site.ini and that the server is running.\n",
                ini->connection, *d ? db_errmsg(*d) : cm_strerror(ret), root);
        db_close(*d);
        *d = NULL;
        return 1;
    }
    return 0;
}

int cmsite_running(const char *root, const char *progname, long *pid)
{
    char path[4096], buf[32];
    snprintf(path, sizeof path, "%s/run/%s.pid", root, progname);
    *pid = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    *pid = strtol(buf, NULL, 10);
    close(fd);
    return running;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "cmsite: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
