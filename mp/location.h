/*
 * location.h - the management point's location service for WSUS: an HTTP
 * listener (components/httpd.h, its own thread and its own database
 * connection) that answers a WSUSLocationRequest POSTed to
 * /ccm_system/request with the WSUSLocationReply of the site database
 * (components/wsusloc.h), logging what MP_Location.log shows (seed 004
 * "WSUS Server Location").
 */
#ifndef MP_LOCATION_H
#define MP_LOCATION_H

#include "httpd.h"

/* The path clients POST location requests to (CCM messaging's endpoint). */
#define MPLOC_PATH "/ccm_system/request"

typedef struct mploc mploc;

typedef struct mploc_config {
    const char *connection; /* the site database (ODBC connection string or DSN) */
    const char *site;       /* this management point's site code: the default assigned site */
    const char *server;     /* the site server's name, for status messages */
    const char *component;  /* the component name of status messages (MP_LocationManager) */
    int port;               /* 0: any free port (see mploc_port) */
} mploc_config;

/*
 * Start listening on 127.0.0.1:port (loopback only: the listener has no
 * authentication).  The database is connected on the first request, in the
 * listener's thread, and again after it is lost.  Returns 0, or a negative
 * code (-EADDRINUSE when the port is taken).
 */
int mploc_start(mploc **out, const mploc_config *cfg);
void mploc_stop(mploc *m);
int mploc_port(const mploc *m);

/* One request, as the listener calls it (exposed for tests). */
void mploc_handle(void *ud, const httpd_request *req, httpd_response *resp);

#endif
