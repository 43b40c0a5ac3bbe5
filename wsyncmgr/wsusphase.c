/*
 * wsusphase.c - synchronizing a software update point with its upstream
 * through the WSUS administration API (see wsusphase.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cm_error.h"
#include "log.h"
#include "wsusphase.h"

#define PROGRESS_LOG_S 5 /* at most one progress line per phase this often */

int wsusphase_nap(sync_job *job, long long ms)
{
    while (ms > 0) {
        if (atomic_load(job->cancel))
            return 1;
        long long step = ms > 100 ? 100 : ms;
        usleep((useconds_t)(step * 1000));
        ms -= step;
    }
    return atomic_load(job->cancel) != 0;
}

void wsusphase_progress_text(const char *what, long long processed, long long total,
                             long long eta_s, char *buf, size_t len)
{
    long long pct = total > 0 ? processed * 100 / total : 100;
    if (pct > 100)
        pct = 100;
    if (eta_s >= 0)
        snprintf(buf, len,
                 "sync: %s, processed %lld out of %lld items (%lld%%), ETA in %02lld:%02lld:%02lld",
                 what, processed, total, pct, eta_s / 3600, eta_s / 60 % 60, eta_s % 60);
    else
        snprintf(buf, len, "sync: %s, processed %lld out of %lld items (%lld%%)", what, processed,
                 total, pct);
}

void wsusphase_target(const sync_job *job, const sync_sup *sup, char *addr, size_t alen,
                      wsusapi_target *t)
{
    memset(t, 0, sizeof *t);
    sync_sup_address(sup->server, job->ini.server_name, addr, alen);
    t->host = addr;
    t->use_ssl = sup->use_ssl;
    t->port =
        sup->use_ssl ? (sup->ssl_port ? sup->ssl_port : 8531) : (sup->port ? sup->port : 8530);
    t->user = sup->account[0] ? sup->account : NULL;
    t->password = sup->account[0] ? sup->password : NULL;
    t->timeout_s = job->set.call_timeout_s > 0 ? job->set.call_timeout_s : 60;
    /* The lab's SUPs present self-signed certificates. */
    t->insecure = 1;
}

static int fail(sync_job *job, const char *source, const char *message, int ret)
{
    snprintf(job->source, sizeof job->source, "%s", source);
    snprintf(job->error, sizeof job->error, "%s", message && *message ? message : "Unknown error");
    return ret < 0 ? ret : CM_EDB;
}

static int canceled(sync_job *job)
{
    job->canceled = 1;
    return CM_EDB;
}

static void lower(const char *in, char *out, size_t len)
{
    size_t i;
    for (i = 0; in[i] && i + 1 < len; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait while the SUP runs a sync somebody else started (the WSUS console, its schedule). */
static int wait_not_busy(sync_job *job, wsusapi *c, const char *fqdn)
{
    wsusapi_sync_state st;
    int ret = wsusapi_get_sync_state(c, &st);
    if (ret < 0)
        return fail(job, SRC_SYNC_WSUS, wsusapi_error(c), ret);
    if (st == WSUSAPI_SYNC_NOT_PROCESSING)
        return 0;
    long long limit_min = job->set.busy_timeout_min > 0 ? job->set.busy_timeout_min : 60;
    log_msg("WSUS server %s is already synchronizing. Waiting up to %lld minutes for that "
            "synchronization to finish",
            fqdn, limit_min);
    double deadline = mono() + (double)limit_min * 60.0;
    while (st != WSUSAPI_SYNC_NOT_PROCESSING) {
        if (mono() > deadline) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "Timed out waiting for WSUS server %s to finish the synchronization it was "
                     "already running",
                     fqdn);
            return fail(job, SRC_SYNC_WSUS, msg, CM_EDB);
        }
        if (wsusphase_nap(job, job->set.poll_ms > 0 ? job->set.poll_ms : 500))
            return canceled(job);
        if ((ret = wsusapi_get_sync_state(c, &st)) < 0)
            return fail(job, SRC_SYNC_WSUS, wsusapi_error(c), ret);
    }
    log_msg("WSUS server %s finished the synchronization it was running", fqdn);
    return 0;
}

/* Follow the SUP's sync until it ends, logging its phases and progress. */
static int follow(sync_job *job, wsusapi *c, int replica, time_t started)
{
    const char *who = replica ? "Replica WSUS" : "WSUS";
    wsusapi_phase last_phase = WSUSAPI_PHASE_NOT_PROCESSING;
    wsusapi_progress last = {0};
    double phase_start = mono(), last_line = 0;
    int seen_running = 0, idle_polls = 0, ret;
    char what[96], line[256];

    for (;;) {
        wsusapi_sync_state st;
        wsusapi_progress pr;
        if ((ret = wsusapi_get_sync_state(c, &st)) < 0 ||
            (ret = wsusapi_get_sync_progress(c, &pr)) < 0)
            return fail(job, SRC_SYNC_WSUS, wsusapi_error(c), ret);
        if (st != WSUSAPI_SYNC_NOT_PROCESSING)
            seen_running = 1;
        if (pr.phase != WSUSAPI_PHASE_NOT_PROCESSING && pr.phase != last_phase) {
            /* The previous phase ended: its last line says 100%. */
            if (last_phase != WSUSAPI_PHASE_NOT_PROCESSING && last.total > 0) {
                wsusphase_progress_text(what, last.total, last.total, -1, line, sizeof line);
                log_msg("%s", line);
            }

            snprintf(what, sizeof what, "%s synchronizing %s", who, wsusapi_phase_name(pr.phase));
            log_msg("sync: %s", what);
            last_phase = pr.phase;
            phase_start = mono();
            last_line = phase_start;
        } else if (pr.phase != WSUSAPI_PHASE_NOT_PROCESSING && pr.total > 0 &&
                   mono() - last_line >= PROGRESS_LOG_S && pr.processed < pr.total) {
            double el = mono() - phase_start;
            long long eta =
                pr.processed > 0
                    ? (long long)(el * (double)(pr.total - pr.processed) / (double)pr.processed)
                    : -1;
            wsusphase_progress_text(what, pr.processed, pr.total, eta, line, sizeof line);
            log_msg("%s", line);
            last_line = mono();
        }
        if (pr.phase != WSUSAPI_PHASE_NOT_PROCESSING)
            last = pr;
        if (st == WSUSAPI_SYNC_NOT_PROCESSING) {
            wsusapi_sync_info info;
            if ((ret = wsusapi_get_last_sync(c, &info)) < 0)
                return fail(job, SRC_SYNC_WSUS, wsusapi_error(c), ret);
            /*
             * Done once the SUP reports a sync that began with ours; a SUP
             * that has not picked the request up yet is given a few polls.
             */
            if (info.result != WSUSAPI_RESULT_NEVER && info.start_time >= started - 1) {
                if (last_phase != WSUSAPI_PHASE_NOT_PROCESSING && last.total > 0) {
                    long long t = last.total;
                    wsusphase_progress_text(what, t, t, -1, line, sizeof line);
                    log_msg("%s", line);
                }
                if (info.result == WSUSAPI_RESULT_SUCCEEDED)
                    return 0;
                if (info.result == WSUSAPI_RESULT_CANCELED)
                    return fail(job, SRC_SYNC_WSUS,
                                info.error[0] ? info.error
                                              : "The WSUS synchronization was canceled",
                                CM_EDB);
                return fail(job, SRC_SYNC_WSUS, info.error, CM_EDB);
            }
            if (seen_running || ++idle_polls > 100)
                return fail(job, SRC_SYNC_WSUS,
                            "The WSUS server did not report the outcome of the synchronization",
                            CM_EDB);
        }
        if (wsusphase_nap(job, job->set.poll_ms > 0 ? job->set.poll_ms : 500)) {
            /* Stopping: the SUP's own sync is asked to stop too, so it does not run on alone. */
            wsusapi_stop_sync(c);
            return canceled(job);
        }
    }
}

int wsusphase_run(sync_job *job, const sync_sup *sup, int replica)
{
    wsusapi_target t;
    wsusapi *c = NULL;
    char addr[256], fqdn[256];
    int ret;

    lower(sup->server, fqdn, sizeof fqdn);
    wsusphase_target(job, sup, addr, sizeof addr, &t);
    ret = wsusapi_connect(&c, &t);
    if (ret < 0) {
        ret = fail(job, SRC_CREATE_SERVER, c ? wsusapi_error(c) : cm_strerror(ret), ret);
        wsusapi_close(c);
        return ret;
    }
    log_msg("Synchronizing WSUS server %s ...", fqdn);
    if ((ret = wait_not_busy(job, c, fqdn)) < 0)
        goto done;
    log_msg("sync: Starting %s synchronization", replica ? "Replica WSUS" : "WSUS");
    time_t started = time(NULL);
    if ((ret = wsusapi_start_sync(c)) < 0) {
        ret = fail(job, SRC_SYNC_WSUS, wsusapi_error(c), ret);
        goto done;
    }
    if ((ret = follow(job, c, replica, started)) < 0)
        goto done;
    log_msg("Done synchronizing WSUS Server %s", fqdn);
done:
    wsusapi_close(c);
    return ret;
}
