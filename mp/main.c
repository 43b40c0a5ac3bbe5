/*
 * main.c - smsmp, a stand-in for the management point's location service
 * (component MP_LocationManager, log MP_Location.log): answers the
 * WSUSLocationRequest of lab clients over HTTP on loopback (location.c).
 * The port is the site setting SMS_MP_CONTROL_MANAGER 'Location Port'
 * (8003 by default); a change is picked up without a restart, and a port
 * that is taken is retried.
 */
#include <stdio.h>

#include "cm_error.h"
#include "daemon.h"
#include "location.h"
#include "log.h"

#define MP_SETTINGS_COMPONENT "SMS_MP_CONTROL_MANAGER"
#define DEFAULT_PORT 8003
#define TICK_MS 5000

static long long port = DEFAULT_PORT;
static config_setting mp_settings[] = {
    {"Location Port", CONFIG_INT, DEFAULT_PORT, NULL, &port, NULL, 0},
};
static mploc *loc;
static long long listening_port = -1;
static int start_failing;

static void listen_start(daemon_ctx *ctx)
{
    const site_ini *ini = daemon_site(ctx);
    char text[32];
    if (port < 0 || port > 65535) {
        log_msg("ERROR: MP LM: %s 'Location Port' %lld is not a port; using %d.",
                MP_SETTINGS_COMPONENT, port, DEFAULT_PORT);
        port = DEFAULT_PORT;
    }
    mploc_config cfg = {ini->connection, ini->site_code, ini->server_name, "MP_LocationManager",
                        (int)port};
    int ret = mploc_start(&loc, &cfg);
    if (ret < 0) {
        if (!start_failing) {
            log_msg("ERROR: MP LM: Cannot listen on 127.0.0.1:%lld: %s. Will retry every %d "
                    "seconds.",
                    port, cm_strerror(ret), TICK_MS / 1000);
            snprintf(text, sizeof text, "%lld", port);
            daemon_statmsg(ctx, 8341, 'E', 'M', text, cm_strerror(ret), NULL, NULL);
        }
        start_failing = 1;
        return;
    }
    start_failing = 0;
    listening_port = port;
    log_msg("MP LM: Listening for WSUS location requests on http://127.0.0.1:%d%s", mploc_port(loc),
            MPLOC_PATH);
}

/* Re-read the MP's settings (they belong to another component) and keep the listener up. */
static long long tick(daemon_ctx *ctx, void *ud)
{
    int changed = 0;
    (void)ud;
    int ret = config_refresh(daemon_db(ctx), daemon_site(ctx)->site_code, MP_SETTINGS_COMPONENT,
                             mp_settings, 1, &changed);
    if (ret == CM_EDBCONN)
        daemon_db_lost(ctx);
    else if (ret < 0)
        log_msg("ERROR: MP LM: reading the %s settings failed: %s", MP_SETTINGS_COMPONENT,
                db_errmsg(daemon_db(ctx)));
    if (loc && port != listening_port) {
        log_msg("MP LM: 'Location Port' is now %lld; moving the listener.", port);
        mploc_stop(loc);
        loc = NULL;
    }
    if (!loc)
        listen_start(ctx);
    return TICK_MS;
}

static int start(daemon_ctx *ctx)
{
    config_defaults(mp_settings, 1);
    return daemon_timer_add(ctx, tick, NULL, 0) ? 0 : CM_EDB;
}

static void stop(daemon_ctx *ctx)
{
    (void)ctx;
    /* Joins the listener thread before the loop and the log close. */
    mploc_stop(loc);
    loc = NULL;
}

int main(int argc, char **argv)
{
    static const daemon_spec spec = {
        .progname = "smsmp",
        .component = "MP_LocationManager",
        .logname = "MP_Location.log",
        .start = start,
        .stop = stop,
    };
    return daemon_main(argc, argv, &spec);
}
