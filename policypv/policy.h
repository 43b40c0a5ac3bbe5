/*
 * policy.h - the UpdateSource policy of a site (seed 004 "Compliance"):
 * the policy that tells clients which update source and content version to
 * scan against.  It is three rows kept in step: SettingsPolicy (SourceType
 * UpdateSource, SourceID the site code) names the Policy row (Version
 * "N.00", Body, PolicyHash) and the PolicyAssignment row (same Version, its
 * own Body referencing the policy, InProcess, BodyHash).  Bodies are
 * hashed with SHA-256 and written as "SHA256:<64 hex digits>".
 */
#ifndef POLICYPV_POLICY_H
#define POLICYPV_POLICY_H

#include <stddef.h>

#include "db.h"

/* The most update sources one site's policy carries. */
#define POLICY_MAX_SOURCES 32

/* One CCM_UpdateSource instance of the body. */
typedef struct policy_source {
    char unique_id[72];        /* CI_UpdateSources.UpdateSource_UniqueID, {GUID} */
    long long content_version; /* Update_SyncStatus.ContentVersion for the site */
} policy_source;

/* What policy_update() found and did. */
typedef struct policy_result {
    int changed;        /* 1: a new version was written and committed */
    long long version;  /* the version in force afterwards; 0 when there is no policy */
    char policy_id[64]; /* Policy.PolicyID, {guid} */
    char assignment_id[64];
    long long padbid;  /* PolicyAssignment.PADBID */
    char reason[160];  /* why a new version was written */
    char sources[512]; /* "{GUID}=38, ..." for log lines and status messages */
    size_t nsources;
} policy_result;

/* "SHA256:" and the upper-case hex SHA-256 of data; out needs 72 bytes. */
int policy_hash(const char *data, size_t len, char *out, size_t outlen);

/* CRC-32 (IEEE) of the sources, as SettingsPolicy.SourceCRC: 8 lower-case hex digits. */
void policy_source_crc(const policy_source *src, size_t n, char out[9]);

/* The version number of a "N.00" version string, or 0 when it is not one. */
long long policy_version_parse(const char *s);

/*
 * The Policy body for a site, a policy ID and a version: a Machine policy
 * of category UpdateSource whose rule holds one CCM_UpdateSource instance
 * (UniqueID, ContentType 2, ContentVersion) per source.  malloc'd, not
 * newline-terminated; values are XML-escaped.
 */
int policy_body(const char *site, const char *policy_id, long long version,
                const policy_source *src, size_t n, char **out);

/* The PolicyAssignment body: the assignment referencing the policy version and its hash. */
int policy_assignment_body(const char *site, const char *assignment_id, const char *policy_id,
                           long long version, const char *policy_hash, char **out);

/*
 * Bring the site's UpdateSource policy up to date, in one transaction: read
 * the site's update sources that have synced (content version above 0),
 * compare with the stored rows, and when anything differs (content
 * versions, sources, or rows that do not agree with each other: hashes,
 * versions, InProcess left at 1) write the next version: Policy, then the
 * PolicyAssignment (InProcess 1 and BodyHash NULL, the body, then
 * InProcess 0 with the SHA-256 BodyHash), then SettingsPolicy.  Nothing is
 * written while the rows are current, so any number of notifications for
 * one change make one version.  A site without a synced source gets no
 * policy.  On failure everything is rolled back and the code returned
 * (CM_EDBCONN: the database went away).
 */
int policy_update(db *d, const char *site, policy_result *res);

/*
 * Check that the stored rows agree (hashes match bodies, versions match,
 * InProcess 0, the assignment references the policy).  Returns 0 when they
 * do, CM_ENOTFOUND when the site has no policy, CM_EPARSE with the reason in
 * why when they do not, or a database error.  Used by the tests.
 */
int policy_verify(db *d, const char *site, char *why, size_t whylen);

#endif
