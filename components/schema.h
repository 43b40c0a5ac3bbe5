/*
 * schema.h - create or bring up to date the site database.
 *
 * The scripts of sql/<dialect>/ are compiled into the binaries; applying
 * them is idempotent, so `cmsite init` can run again on an existing site.
 */
#ifndef CM_SCHEMA_H
#define CM_SCHEMA_H

#include "db.h"

/* The version the compiled-in scripts create (SchemaVersion.Version). */
#define SCHEMA_VERSION 1

/*
 * Run every script of the connection's dialect in name order.  On failure
 * *failed_file (when not NULL) names the script and db_errmsg() says why.
 */
int schema_apply(db *d, const char **failed_file);

/* The highest SchemaVersion recorded, or CM_ENOTFOUND on an empty database. */
int schema_version(db *d, long long *version);

#endif
