/*
 * log.c - the component log: ConfigMgr site-server line framing, size-based
 * rollover to .lo_, verbose and SQL trace switches.
 *
 * A line is formatted completely in memory and handed to the kernel with one
 * write() on an O_APPEND descriptor, under a mutex, so lines from different
 * threads never interleave and a reader (CMTrace, tail -f) never sees half a
 * line.  Messages given to log_msg() are never truncated below
 * LOG_MAX_MESSAGE bytes (the buffer grows); longer ones are cut there, so a
 * runaway message cannot make one write() of unbounded size.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm_error.h"
#include "log.h"

/* Longest message text log_msg() keeps; see the file comment. */
#define LOG_MAX_MESSAGE (256 * 1024)
/* Longest component name put in the framing (real ones are < 40). */
#define LOG_MAX_COMPONENT 128
/* Room for the framing around the message, component excluded. */
#define LOG_FRAME_ROOM 96

/* ------------------------------------------------------------------ state */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char *log_path;    /* <name>.log */
static char *log_oldpath; /* <name>.lo_ */
static char log_component[LOG_MAX_COMPONENT + 1];
static long log_max_size;

/* Switches are read on every call without the lock, hence atomics. */
static atomic_int log_verbose_on;
static atomic_int log_sqltrace_on;
static atomic_int log_stderr_on;

/* ------------------------------------------------------------- formatting */

/*
 * The framing after the message: "  $$<COMP><MM-DD-YYYY HH:MM:SS.mmm+BIAS>
 * <thread=N (0xN)>".  The local time is derived from the bias alone, never
 * from TZ, so the same inputs always give the same line.
 */
static int format_suffix(char *buf, size_t len, const char *component, const struct timespec *ts,
                         int bias_minutes, long tid)
{
    time_t local = ts->tv_sec - (time_t)bias_minutes * 60;
    struct tm tm;
    char bias[16];
    long ms = ts->tv_nsec / 1000000L;
    int n;

    if (!gmtime_r(&local, &tm))
        return CM_ERANGE;
    if (ms < 0 || ms > 999)
        ms = 0;
    /* The real logs print a zero bias as "+000" and any other as %+d. */
    if (bias_minutes == 0)
        snprintf(bias, sizeof(bias), "+000");
    else
        snprintf(bias, sizeof(bias), "%+d", bias_minutes);
    n = snprintf(buf, len, "  $$<%.*s><%02d-%02d-%04d %02d:%02d:%02d.%03ld%s><thread=%ld (0x%lX)>",
                 LOG_MAX_COMPONENT, component ? component : "", tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, bias, tid,
                 (unsigned long)tid);
    if (n < 0 || (size_t)n >= len)
        return CM_ETOOBIG;
    return n;
}

int log_format_line(char *buf, size_t len, const char *msg, const char *component,
                    const struct timespec *ts, int bias_minutes, long tid)
{
    char suffix[LOG_MAX_COMPONENT + LOG_FRAME_ROOM];
    size_t pos = 0, room;
    int slen;

    if (!buf || len == 0 || !ts)
        return -EINVAL;
    buf[0] = '\0';
    slen = format_suffix(suffix, sizeof(suffix), component, ts, bias_minutes, tid);
    if (slen < 0)
        return slen;
    if ((size_t)slen >= len)
        return CM_ETOOBIG;
    /*
     * The message is cut, never the framing: a truncated line must still
     * parse in CMTrace with its component, time and thread.
     */
    room = len - 1 - (size_t)slen;
    for (const char *p = msg ? msg : ""; *p && pos < room; p++) {
        if (*p == '\r')
            continue; /* CR LF from Windows-born text is one line break */
        buf[pos++] = *p == '\n' ? '~' : *p;
    }
    memcpy(buf + pos, suffix, (size_t)slen + 1);
    return (int)(pos + (size_t)slen);
}

int log_bias_minutes(time_t t)
{
    struct tm tm;

    if (!localtime_r(&t, &tm))
        return 0;
    return (int)-(tm.tm_gmtoff / 60);
}

/* ---------------------------------------------------------------- writing */

static long current_tid(void)
{
    return (long)syscall(SYS_gettid);
}

/* One write() per line; a short write is finished rather than lost. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log */
        }
        buf += n;
        len -= (size_t)n;
    }
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/*
 * Called with the lock held.  The check uses the descriptor's size, not a
 * counter, so a log that already holds lines from an earlier run rolls over
 * at the right point too.  An empty file is never rolled over, or a single
 * line larger than the limit would roll over forever.
 */
static void maybe_rollover(size_t linelen)
{
    struct stat st;
    int fd;

    if (log_max_size <= 0 || fstat(log_fd, &st) != 0 || st.st_size == 0)
        return;
    if ((unsigned long long)st.st_size + linelen <= (unsigned long long)log_max_size)
        return;
    if (rename(log_path, log_oldpath) != 0)
        return; /* keep appending to the old file rather than lose lines */
    fd = open_file(log_path);
    if (fd < 0)
        return; /* the descriptor still points at the .lo_ file; keep it */
    close(log_fd);
    log_fd = fd;
}

static void emit(const char *msg)
{
    char stackbuf[1024];
    char *line = stackbuf;
    size_t need;
    struct timespec ts;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    need = strlen(msg) + LOG_MAX_COMPONENT + LOG_FRAME_ROOM + 2;
    if (need > sizeof(stackbuf)) {
        line = malloc(need);
        if (!line) {
            line = stackbuf; /* out of memory: a truncated line beats none */
            need = sizeof(stackbuf);
        }
    } else {
        need = sizeof(stackbuf);
    }

    pthread_mutex_lock(&log_lock);
    n = log_format_line(line, need - 1, msg,
                        log_component[0] ? log_component : program_invocation_short_name, &ts,
                        log_bias_minutes(ts.tv_sec), current_tid());
    if (n >= 0) {
        line[n++] = '\n';
        line[n] = '\0';
        if (log_fd >= 0) {
            maybe_rollover((size_t)n);
            write_all(log_fd, line, (size_t)n);
        }
        if (log_fd < 0 || atomic_load(&log_stderr_on))
            write_all(STDERR_FILENO, line, (size_t)n);
    }
    pthread_mutex_unlock(&log_lock);

    if (line != stackbuf)
        free(line);
}

/* Format the caller's message into a buffer that grows up to LOG_MAX_MESSAGE. */
static void vemit(const char *fmt, va_list ap)
{
    char stackbuf[512];
    char *msg = stackbuf;
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    if (n >= (int)sizeof(stackbuf)) {
        size_t size = (size_t)n + 1;
        if (size > LOG_MAX_MESSAGE)
            size = LOG_MAX_MESSAGE;
        msg = malloc(size);
        if (msg)
            vsnprintf(msg, size, fmt, ap2);
        else
            msg = stackbuf; /* keep the truncated text */
    }
    va_end(ap2);
    if (n >= 0)
        emit(msg);
    if (msg != stackbuf)
        free(msg);
}

/* ------------------------------------------------------------- public API */

int log_open(const char *path, const char *component, long max_size)
{
    char *newpath = NULL, *oldpath = NULL;
    size_t plen;
    int fd, rc = 0;

    if (!path || !*path || !component)
        return -EINVAL;
    plen = strlen(path);
    newpath = strdup(path);
    oldpath = malloc(plen + 5);
    if (!newpath || !oldpath) {
        rc = -ENOMEM;
        goto out;
    }
    /* <name>.log rolls over to <name>.lo_, as on the site server. */
    if (plen >= 4 && strcmp(path + plen - 4, ".log") == 0) {
        memcpy(oldpath, path, plen + 1);
        oldpath[plen - 1] = '_';
    } else {
        snprintf(oldpath, plen + 5, "%s.lo_", path);
    }
    fd = open_file(path);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }

    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    free(log_path);
    free(log_oldpath);
    log_fd = fd;
    log_path = newpath;
    log_oldpath = oldpath;
    newpath = oldpath = NULL;
    snprintf(log_component, sizeof(log_component), "%s", component);
    log_max_size = max_size;
    pthread_mutex_unlock(&log_lock);

out:
    free(newpath);
    free(oldpath);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
    free(log_path);
    free(log_oldpath);
    log_path = log_oldpath = NULL;
    log_component[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

void log_set_verbose(int on)
{
    atomic_store(&log_verbose_on, on ? 1 : 0);
}

void log_set_sqltrace(int on)
{
    atomic_store(&log_sqltrace_on, on ? 1 : 0);
}

int log_verbose_enabled(void)
{
    return atomic_load(&log_verbose_on);
}

void log_set_max_size(long max_size)
{
    pthread_mutex_lock(&log_lock);
    log_max_size = max_size;
    pthread_mutex_unlock(&log_lock);
}

void log_set_stderr(int on)
{
    atomic_store(&log_stderr_on, on ? 1 : 0);
}

void log_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vemit(fmt, ap);
    va_end(ap);
}

void log_verbose(const char *fmt, ...)
{
    va_list ap;

    if (!atomic_load(&log_verbose_on))
        return;
    va_start(ap, fmt);
    vemit(fmt, ap);
    va_end(ap);
}

void log_sql(const char *sql)
{
    if (!atomic_load(&log_sqltrace_on))
        return;
    log_msg("SQL>>> %s", sql ? sql : "");
}
