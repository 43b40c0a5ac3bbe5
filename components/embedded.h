/*
 * embedded.h - data files compiled into the binaries by components/embed.py:
 * the inbox catalogue (inboxes/catalogue.ini) and the site database scripts
 * (sql/<dialect>/NN_name.sql).
 */
#ifndef CM_EMBEDDED_H
#define CM_EMBEDDED_H

#include <stddef.h>

typedef struct embedded_file {
    const char *name; /* base name, e.g. "catalogue.ini" or "10_schema.sql" */
    const char *text; /* NUL-terminated contents */
    size_t len;
} embedded_file;

extern const embedded_file inboxes_files[];
extern const size_t inboxes_count;
extern const embedded_file sql_sqlite_files[];
extern const size_t sql_sqlite_count;
extern const embedded_file sql_postgresql_files[];
extern const size_t sql_postgresql_count;

#endif
