/*
 * test_log.c - unit tests of components/log.c: the line framing against the
 * golden file tests/golden/log_lines.txt, long messages, the Windows bias,
 * and the file behaviour (append, rollover to .lo_, verbose and SQL trace
 * switches, stderr, concurrent writers).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cm_error.h"
#include "log.h"
#include "testutil.h"

#ifndef CM_TESTS_DIR
#define CM_TESTS_DIR "tests"
#endif

#define COMP "SMS_WSUS_SYNC_MANAGER"

/* ---------------------------------------------------------------- helpers */

/* Whole file as a NUL-terminated string (NULL if it cannot be read). */
static char *slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Start of line n (from 0) of s. */
static const char *nth_line(const char *s, int n)
{
    while (n-- > 0) {
        s = strchr(s, '\n');
        assert_non_null(s);
        s++;
    }
    return s;
}

/* The golden file's message escapes: \n \r \t \\. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *out++ = *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == 't' ? '\t' : *s;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Split on TABs keeping empty fields (strtok would merge them). */
static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    }
    return n;
}

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static int setup_dir(void **state)
{
    char *dir = malloc(256);
    if (!dir || tu_mkdtemp(dir, 256) != 0) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    log_close();
    log_set_verbose(0);
    log_set_sqltrace(0);
    log_set_stderr(0);
    tu_rmtree(*state);
    free(*state);
    return 0;
}

/*
 * Run fn with fd 2 pointing at a file, so what the log copies to stderr
 * can be checked; returns what was written there.
 */
static char *capture_stderr(const char *dir, void (*fn)(void))
{
    char path[512];
    int saved, fd;

    path_in(path, sizeof(path), dir, "stderr.txt");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    return slurp(path, NULL);
}

/* ---------------------------------------------------------------- framing */

static void test_golden_lines(void **state)
{
    char path[512], line[4096], out[4096];
    int cases = 0, lineno = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/golden/log_lines.txt", CM_TESTS_DIR);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char *fld[8];
        struct timespec ts;
        int n;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        n = split_tabs(line, fld, 8);
        if (n != 7)
            fail_msg("log_lines.txt:%d: %d fields, want 7", lineno, n);
        ts.tv_sec = (time_t)strtoll(fld[0], NULL, 10);
        ts.tv_nsec = strtol(fld[1], NULL, 10);
        unescape(fld[5]);
        n = log_format_line(out, sizeof(out), fld[5], fld[4], &ts, atoi(fld[2]),
                            strtol(fld[3], NULL, 10));
        if (n < 0 || strcmp(out, fld[6]) != 0)
            fail_msg("log_lines.txt:%d:\n got  '%s'\n want '%s'", lineno, out, fld[6]);
        assert_int_equal(n, (int)strlen(fld[6]));
        cases++;
    }
    fclose(f);
    assert_true(cases >= 15);
}

static void test_long_message(void **state)
{
    const size_t msglen = 10 * 1024;
    struct timespec ts = {1389899984, 123000000};
    const char *suffix = "  $$<" COMP "><01-16-2014 14:19:44.123+300><thread=3404 (0xD4C)>";
    size_t slen = strlen(suffix);
    char *msg = malloc(msglen + 1), *big = malloc(msglen + 512), small[256], tiny[16];
    int n;

    (void)state;
    assert_non_null(msg);
    assert_non_null(big);
    for (size_t i = 0; i < msglen; i++)
        msg[i] = (char)('a' + i % 26);
    msg[5000] = '\n';
    msg[msglen] = '\0';

    /* Enough room: the whole message, the newline as '~'. */
    n = log_format_line(big, msglen + 512, msg, COMP, &ts, 300, 3404);
    assert_int_equal(n, (int)(msglen + slen));
    assert_int_equal(big[5000], '~');
    assert_string_equal(big + msglen, suffix);
    assert_memory_equal(big, msg, 5000);

    /* Too little room: the message is cut, the framing stays whole. */
    memset(small, 'X', sizeof(small));
    n = log_format_line(small, sizeof(small), msg, COMP, &ts, 300, 3404);
    assert_int_equal(n, (int)sizeof(small) - 1);
    assert_int_equal(small[n], '\0');
    assert_string_equal(small + n - slen, suffix);
    assert_memory_equal(small, msg, (size_t)n - slen);

    /* Not even room for the framing: an error and an empty string. */
    memset(tiny, 'X', sizeof(tiny));
    n = log_format_line(tiny, sizeof(tiny), msg, COMP, &ts, 300, 3404);
    assert_int_equal(n, CM_ETOOBIG);
    assert_string_equal(tiny, "");

    assert_int_equal(log_format_line(NULL, 10, msg, COMP, &ts, 0, 1), -EINVAL);
    assert_int_equal(log_format_line(big, 100, msg, COMP, NULL, 0, 1), -EINVAL);
    free(msg);
    free(big);
}

static void test_null_message_and_component(void **state)
{
    struct timespec ts = {1389899984, 123000000};
    char out[256];

    (void)state;
    assert_true(log_format_line(out, sizeof(out), NULL, NULL, &ts, 0, 7) > 0);
    assert_string_equal(out, "  $$<><01-16-2014 19:19:44.123+000><thread=7 (0x7)>");
}

/* The bias comes from the local zone; restore TZ so other groups are unaffected. */
static void test_bias_minutes(void **state)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;

    (void)state;
    setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
    tzset();
    assert_int_equal(log_bias_minutes(1389899984), 300); /* January: EST */
    assert_int_equal(log_bias_minutes(1404000000), 240); /* June 2014: EDT */
    setenv("TZ", "UTC0", 1);
    tzset();
    assert_int_equal(log_bias_minutes(1389899984), 0);
    setenv("TZ", "IST-5:30", 1);
    tzset();
    assert_int_equal(log_bias_minutes(1389899984), -330);
    setenv("TZ", "CET-1", 1);
    tzset();
    assert_int_equal(log_bias_minutes(1389899984), -60);
    setenv("TZ", "PST8", 1);
    tzset();
    assert_int_equal(log_bias_minutes(1389899984), 480);

    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

/* ------------------------------------------------------------------ files */

/* A line as log_msg() writes it: message, framing with this thread's id. */
static void check_line(const char *line, const char *msg)
{
    char want[128];
    const char *p;

    assert_memory_equal(line, msg, strlen(msg));
    p = line + strlen(msg);
    assert_memory_equal(p, "  $$<" COMP "><", strlen("  $$<" COMP "><"));
    p += strlen("  $$<" COMP "><");
    /* MM-DD-YYYY HH:MM:SS.mmm then the bias */
    assert_true(p[2] == '-' && p[5] == '-' && p[10] == ' ' && p[13] == ':' && p[16] == ':' &&
                p[19] == '.');
    assert_true(p[23] == '+' || p[23] == '-');
    snprintf(want, sizeof(want), "><thread=%ld (0x%lX)>\n", (long)syscall(SYS_gettid),
             (unsigned long)syscall(SYS_gettid));
    p = strchr(p, '>');
    assert_non_null(p);
    assert_memory_equal(p, want, strlen(want));
}

static void test_file_write(void **state)
{
    const char *dir = *state;
    char path[512], *text;
    struct stat st;

    path_in(path, sizeof(path), dir, "wsyncmgr.log");
    assert_int_equal(log_open(path, COMP, LOG_DEFAULT_MAX_SIZE), 0);
    log_msg("Wakeup by inbox drop");
    log_msg("Found %d SUPs", 1);
    log_msg("two\nlines");
    log_close();

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777 & ~0640, 0); /* never wider than 0640 */
    text = slurp(path, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines(text), 3);
    check_line(nth_line(text, 0), "Wakeup by inbox drop");
    check_line(nth_line(text, 1), "Found 1 SUPs");
    check_line(nth_line(text, 2), "two~lines");
    free(text);

    /* Reopening appends. */
    assert_int_equal(log_open(path, COMP, 0), 0);
    log_msg("Starting Sync");
    log_close();
    text = slurp(path, NULL);
    assert_int_equal(count_lines(text), 4);
    check_line(nth_line(text, 3), "Starting Sync");
    free(text);
}

static void test_open_error(void **state)
{
    char path[512];

    path_in(path, sizeof(path), *state, "no/such/dir/x.log");
    assert_int_equal(log_open(path, COMP, 0), -ENOENT);
    assert_int_equal(log_open(NULL, COMP, 0), -EINVAL);
}

static void test_rollover(void **state)
{
    const char *dir = *state;
    char path[512], oldpath[512], *cur, *old, *last_old;
    size_t curlen;
    int first_cur, last_num;

    path_in(path, sizeof(path), dir, "wsyncmgr.log");
    path_in(oldpath, sizeof(oldpath), dir, "wsyncmgr.lo_");
    /* Each line is ~115 bytes: three fit in 400. */
    assert_int_equal(log_open(path, COMP, 400), 0);
    for (int i = 0; i < 20; i++)
        log_msg("rollover line %02d padded padded padded", i);
    log_close();

    cur = slurp(path, &curlen);
    old = slurp(oldpath, NULL);
    assert_non_null(cur);
    assert_non_null(old);
    assert_true(curlen > 0 && curlen <= 400);
    assert_true(count_lines(old) >= 1 && count_lines(old) <= 3);
    /* The new log starts with the line after the last one of the .lo_. */
    assert_int_equal(sscanf(cur, "rollover line %d", &first_cur), 1);
    old[strlen(old) - 1] = '\0';
    last_old = strrchr(old, '\n');
    last_old = last_old ? last_old + 1 : old;
    assert_int_equal(sscanf(last_old, "rollover line %d", &last_num), 1);
    assert_int_equal(first_cur, last_num + 1);
    /* And the new log holds the last line written. */
    cur[curlen - 1] = '\0';
    last_old = strrchr(cur, '\n');
    last_old = last_old ? last_old + 1 : cur;
    assert_int_equal(sscanf(last_old, "rollover line %d", &last_num), 1);
    assert_int_equal(last_num, 19);
    free(cur);
    free(old);

    /* A single line larger than the limit goes into an empty file, no rollover. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(oldpath), 0);
    assert_int_equal(log_open(path, COMP, 10), 0);
    log_msg("a line far longer than ten bytes");
    log_close();
    cur = slurp(path, NULL);
    assert_int_equal(count_lines(cur), 1);
    assert_int_equal(access(oldpath, F_OK), -1);
    free(cur);

    /* max_size <= 0: never rolls over. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(log_open(path, COMP, 0), 0);
    for (int i = 0; i < 50; i++)
        log_msg("no rollover %d", i);
    log_close();
    cur = slurp(path, NULL);
    assert_int_equal(count_lines(cur), 50);
    assert_int_equal(access(oldpath, F_OK), -1);
    free(cur);

    /* log_set_max_size applies to an open log. */
    assert_int_equal(log_open(path, COMP, 0), 0);
    log_set_max_size(100);
    log_msg("after the limit");
    log_close();
    assert_int_equal(access(oldpath, F_OK), 0);
    cur = slurp(path, NULL);
    assert_int_equal(count_lines(cur), 1);
    free(cur);
}

static void test_verbose_and_sql(void **state)
{
    const char *dir = *state;
    char path[512], *text;

    path_in(path, sizeof(path), dir, "wsyncmgr.log");
    assert_int_equal(log_open(path, COMP, 0), 0);
    log_set_verbose(0);
    log_set_sqltrace(0);
    assert_int_equal(log_verbose_enabled(), 0);
    log_verbose("hidden verbose %d", 1);
    log_sql("SELECT hidden");
    log_set_verbose(1);
    assert_int_equal(log_verbose_enabled(), 1);
    log_verbose("shown verbose %d", 2);
    log_sql("SELECT still hidden");
    log_set_sqltrace(1);
    log_sql("SELECT 1\nFROM x");
    log_close();

    text = slurp(path, NULL);
    assert_int_equal(count_lines(text), 2);
    assert_null(strstr(text, "hidden"));
    check_line(text, "shown verbose 2");
    check_line(strchr(text, '\n') + 1, "SQL>>> SELECT 1~FROM x");
    free(text);
}

static void write_before_open(void)
{
    log_msg("before open %d", 42);
}

static void write_with_stderr(void)
{
    log_set_stderr(1);
    log_msg("copied to stderr");
    log_set_stderr(0);
    log_msg("file only");
}

static void test_stderr(void **state)
{
    const char *dir = *state;
    char path[512], *err, *text;

    log_close();
    err = capture_stderr(dir, write_before_open);
    assert_non_null(err);
    assert_int_equal(count_lines(err), 1);
    assert_memory_equal(err, "before open 42  $$<", strlen("before open 42  $$<"));
    free(err);

    path_in(path, sizeof(path), dir, "wsyncmgr.log");
    assert_int_equal(log_open(path, COMP, 0), 0);
    err = capture_stderr(dir, write_with_stderr);
    log_close();
    text = slurp(path, NULL);
    assert_int_equal(count_lines(err), 1);
    check_line(err, "copied to stderr");
    assert_int_equal(count_lines(text), 2);
    check_line(text, "copied to stderr");
    check_line(strchr(text, '\n') + 1, "file only");
    free(err);
    free(text);
}

/* A 10 KB message through log_msg(): written whole, on one line. */
static void test_long_message_file(void **state)
{
    char path[512], *msg, *text;
    size_t len;

    path_in(path, sizeof(path), *state, "wsyncmgr.log");
    msg = malloc(10241);
    assert_non_null(msg);
    memset(msg, 'q', 10240);
    msg[10240] = '\0';
    assert_int_equal(log_open(path, COMP, 0), 0);
    log_msg("%s", msg);
    log_close();
    text = slurp(path, &len);
    assert_int_equal(count_lines(text), 1);
    check_line(text, msg);
    free(text);
    free(msg);
}

#define THREADS 8
#define LINES_PER_THREAD 200

static void *writer(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_msg("thread %ld line %d %s", n, i, "payload payload payload payload payload");
    return NULL;
}

static void test_threads(void **state)
{
    char path[512], *text, *line, *save = NULL;
    pthread_t th[THREADS];
    int lines = 0;

    path_in(path, sizeof(path), *state, "wsyncmgr.log");
    assert_int_equal(log_open(path, COMP, 0), 0);
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    log_close();

    text = slurp(path, NULL);
    assert_non_null(text);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long t;
        int i;
        size_t len = strlen(line);
        assert_int_equal(sscanf(line, "thread %ld line %d payload", &t, &i), 2);
        assert_non_null(strstr(line, " payload  $$<" COMP "><"));
        assert_true(len > 2 && strcmp(line + len - 2, ")>") == 0);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    free(text);
}

/* ------------------------------------------------------------------ group */

int test_log(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_lines),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_null_message_and_component),
        cmocka_unit_test(test_bias_minutes),
        cmocka_unit_test_setup_teardown(test_file_write, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_error, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rollover, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_verbose_and_sql, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_stderr, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_long_message_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_threads, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

#ifdef LOG_TEST_MAIN
int main(void)
{
    return test_log() ? 1 : 0;
}
#endif
