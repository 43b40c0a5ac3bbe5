/*
 * schema.c - applies the compiled-in site database scripts for the
 * dialect of a connection (sql/sqlite or sql/postgresql).
 */
#include "cm_error.h"
#include "embedded.h"
#include "schema.h"

int schema_apply(db *d, const char **failed_file)
{
    const embedded_file *files;
    size_t count;

    switch (db_get_dialect(d)) {
    case DB_DIALECT_SQLITE:
        files = sql_sqlite_files;
        count = sql_sqlite_count;
        break;
    case DB_DIALECT_POSTGRES:
        files = sql_postgresql_files;
        count = sql_postgresql_count;
        break;
    default:
        /* SQL Server scripts come with the FreeTDS work; refuse clearly until then. */
        if (failed_file)
            *failed_file = db_dialect_name(db_get_dialect(d));
        return CM_ENOTFOUND;
    }
    /* The build lists the scripts in name order (sql/meson.build). */
    for (size_t i = 0; i < count; i++) {
        int ret = db_exec_script(d, files[i].text);
        if (ret < 0) {
            if (failed_file)
                *failed_file = files[i].name;
            return ret;
        }
    }
    return 0;
}

int schema_version(db *d, long long *version)
{
    return db_query_int(d, "SELECT MAX(Version) FROM SchemaVersion", NULL, NULL, version);
}
