/*
 * log.h - component logs in the ConfigMgr site-server framing.
 *
 * One process writes one component log (<root>/logs/<name>.log), each line
 *   message  $$<COMPONENT><MM-DD-YYYY HH:MM:SS.mmm+BIAS><thread=N (0xN)>
 * where BIAS is the Windows bias in minutes (UTC = local + bias) and
 * embedded newlines are written as '~', so CMTrace and the users who know
 * the real product read it as they read a site server's logs.  When the
 * file reaches its size limit it is renamed to .lo_ and a new one started.
 * Verbose lines and SQL trace lines appear only when those switches are on.
 */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stddef.h>
#include <time.h>

#define LOG_DEFAULT_MAX_SIZE (2500L * 1024L)

/* Open (append) the log; component is e.g. "SMS_WSUS_SYNC_MANAGER". */
int log_open(const char *path, const char *component, long max_size);
void log_close(void);
void log_set_verbose(int on);
void log_set_sqltrace(int on);
int log_verbose_enabled(void);
void log_set_max_size(long max_size);

/* Also copy each line to stderr (for foreground runs). */
void log_set_stderr(int on);

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One SQL trace line ("SQL>>>" + statement), only when SQL tracing is on. */
void log_sql(const char *sql);

/*
 * Format one line, without writing it: the pure function behind log_msg(),
 * exposed for golden tests.  ts is the wall-clock time, bias_minutes the
 * Windows bias in force at that time, tid the thread id.  Returns the length
 * written (always NUL-terminated, truncated to fit), or a negative code.
 */
int log_format_line(char *buf, size_t len, const char *msg, const char *component,
                    const struct timespec *ts, int bias_minutes, long tid);

/* The Windows bias (minutes, UTC = local + bias) for a UTC time. */
int log_bias_minutes(time_t t);

#endif
