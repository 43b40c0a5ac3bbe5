/*
 * supcfg.h - configure one software update point through the WSUS
 * administration API: connect with the SUP's connection account, check the
 * server's version, then change what differs from the site's settings
 * (upstream, replica mode, proxy, languages, then the subscription), with
 * the WCM.log lines of the documents and, on failure, what to check.
 */
#ifndef WCM_SUPCFG_H
#define WCM_SUPCFG_H

#include "desired.h"

/* The oldest WSUS WCM accepts: WSUS 3.0 SP2 + KB2720211 + KB2734608 (seed 004, Table 1). */
#define SUPCFG_MIN_VERSION "3.2.7600.256"

typedef struct supcfg_opts {
    long timeout_s;                /* per API call; 0 = the client's default */
    const char *ca_file;           /* trust anchors for SSL; NULL = the system's */
    int insecure;                  /* SSL without certificate checks (lab self-signed servers) */
    int send_proxy_password;       /* the proxy password may have changed since it was last sent */
    const desired_category *known; /* every category of the site, for names; may be NULL */
    size_t nknown;
} supcfg_opts;

typedef struct supcfg_result {
    int ok;
    int code;            /* the negative code of the failure */
    char error[1024];    /* what failed, as the API words it */
    char advice[1024];   /* what to check (the documents' troubleshooting steps) */
    char where[128];     /* "port: 8530, useSSL: False" */
    char version[64];    /* the server's version, when read */
    char upstream[1400]; /* the upstream the SUP now has */
    int nchanges;
    char summary[256]; /* what was changed: "upstream server, languages, subscription" */
    int proxy_password_sent;
} supcfg_result;

/* Configure in->sups[idx]; logs as it goes; the result says how it ended. */
void supcfg_run(const desired_input *in, size_t idx, const supcfg_opts *o, supcfg_result *r);

/* Compare dotted versions numerically: <0, 0, >0. */
int supcfg_version_cmp(const char *a, const char *b);

/* What to check for a failure code (and HTTP status) on SUP s. */
void supcfg_advice(int code, int http_status, int setting, const desired_sup *s, char *buf,
                   size_t len);

#endif
