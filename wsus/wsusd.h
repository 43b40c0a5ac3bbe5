/*
 * wsusd.h - the software update point stand-in: the state its parts share
 * (main.c starts it, web.c serves HTTP, admin.c the administration API,
 * uss.c the server-to-server protocol, sync.c synchronizes, events.c
 * records WSUS events).
 *
 * Threads: the main thread runs the loop (signals, schedule); each HTTP
 * listener runs in its own libmicrohttpd thread with its own database
 * connection; a sync runs in its own thread with its own connection.  The
 * sync status below is shared under `lock`.
 */
#ifndef WSUS_WSUSD_H
#define WSUS_WSUSD_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "db.h"
#include "httpd.h"
#include "wsusapi.h"

#define WSUSD_LOG_COMPONENT "WsusService"

/* What the administration API reports about the running sync. */
typedef struct wsusd_sync_status {
    int running;
    int stop_requested;
    int manual;
    wsusapi_phase phase;
    long long processed, total;
} wsusd_sync_status;

/* One HTTP listener (plain or TLS) and the connection its thread uses. */
typedef struct wsusd_listener {
    struct wsusd *w;
    httpd *h;
    db *d;
    int tls;
} wsusd_listener;

typedef struct wsusd {
    /* Settings (command line and site.ini) */
    char root[PATH_MAX];
    char conn[2048];
    char server_name[256];
    char bind_addr[64];
    int port, ssl_port;
    char *cert_pem, *key_pem;
    long client_timeout_s;
    size_t max_body;
    long long max_updates_per_request; /* what GetConfigData advertises */

    /* Runtime */
    char server_id[37];
    unsigned char cookie_key[32];
    unsigned char wuident_cab[512];
    size_t wuident_len;
    wsusd_listener http, https;
    pthread_mutex_t lock;
    wsusd_sync_status st;
    pthread_t sync_thread;
    int sync_thread_live;
} wsusd;

/* sync.c: start a sync in its own thread (0 started, 1 one is running already, <0 error). */
int sync_start(wsusd *w, int manual);
/* Ask the running sync to stop at its next batch (it ends as Canceled). */
void sync_request_stop(wsusd *w);
void sync_get_status(wsusd *w, wsusd_sync_status *out);
/* Wait for a sync thread that has finished or was asked to stop. */
void sync_join(wsusd *w);
/* The time of the next scheduled sync after `after` (0: none scheduled). */
time_t sync_next_scheduled(const wsusapi_subscription *sub, time_t after);

/* web.c: the listeners. */
int web_start(wsusd *w);
void web_stop(wsusd *w);
/* A database call of a handler failed: reconnect once when the connection is gone. */
void web_db_check(db *d, int ret);

/* admin.c: POST /ApiRemoting30/WebService.asmx (already authenticated). */
void admin_handle(wsusd *w, db *d, const httpd_request *req, httpd_response *resp);
/* uss.c: the ServerSyncWebService (dssauth 0) and DssAuthWebService (dssauth 1). */
void uss_handle(wsusd *w, db *d, const httpd_request *req, httpd_response *resp, int dssauth);

/* Helpers shared by the handlers. */
void wsusd_fault(httpd_response *resp, const char *faultcode, const char *faultstring,
                 const char *error_code, const char *method);
/*
 * A handler's answer is written straight into its envelope: wsusd_xml_begin
 * on the empty buffer, the operation's element, then wsusd_xml closes the
 * envelope and hands the buffer to the response (no copy of the answer).
 */
void wsusd_xml_begin(soap_buf *out);
void wsusd_xml(httpd_response *resp, soap_buf *out);

#endif
