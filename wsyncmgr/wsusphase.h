/*
 * wsusphase.h - the WSUS phase of a sync: ask a software update point to
 * synchronize with its upstream through the WSUS administration API
 * (StartSubscriptionManually), follow its progress with the "sync: WSUS
 * synchronizing updates, processed X out of Y items (Z%), ETA in ..."
 * lines, and turn what went wrong into the documented 6703 message and
 * source (seed 002): the connection refused, 401, and the SUP's own failed
 * sync with WSUS's error text (an upstream that cannot be resolved, a
 * parent that refuses DssAuthWebService).
 */
#ifndef WSYNCMGR_WSUSPHASE_H
#define WSYNCMGR_WSUSPHASE_H

#include "sync.h"
#include "syncstate.h"
#include "wsusapi.h"

/* The sources of the documented failures (ISTR0 of 6703). */
#define SRC_DOSYNC "CWSyncMgr::DoSync"
#define SRC_CREATE_SERVER "Microsoft.UpdateServices.Administration.AdminProxy.CreateUpdateServer"
#define SRC_SYNC_WSUS                                                                              \
    "Microsoft.SystemsManagementServer.SoftwareUpdatesManagement.WSyncAction.WSyncAction.SyncWSUS"
#define SRC_SYNC_SMS                                                                               \
    "Microsoft.SystemsManagementServer.SoftwareUpdatesManagement.WSyncAction.WSyncAction.SyncSMS"

/* The admin API target of a SUP (strings point into sup and addr). */
void wsusphase_target(const sync_job *job, const sync_sup *sup, char *addr, size_t alen,
                      wsusapi_target *t);

/*
 * Synchronize one SUP: the first SUP with its upstream (replica 0), or a
 * replica with the first SUP (replica 1).  Returns 0 when the SUP's sync
 * succeeded; otherwise a negative code with job->error and job->source set
 * (or job->canceled).
 */
int wsusphase_run(sync_job *job, const sync_sup *sup, int replica);

/* Sleep ms in short steps; 1 when the job was canceled meanwhile. */
int wsusphase_nap(sync_job *job, long long ms);

/* "sync: WSUS synchronizing updates, processed 122 out of 130 items (93%), ETA in 00:00:03". */
void wsusphase_progress_text(const char *what, long long processed, long long total,
                             long long eta_s, char *buf, size_t len);

#endif
