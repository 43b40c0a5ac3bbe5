/*
 * test_inbox.c - unit tests of components/inbox.c: the compiled-in and
 * malformed catalogues, file name rules, atomic drops (one that fails part
 * way included), scanning with its rejects, claiming, quarantine, reading
 * and start-up recovery, each on a fresh temporary inbox tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_error.h"
#include "inbox.h"
#include "testutil.h"

/* A small catalogue whose size cap makes oversize files cheap to build. */
static const char test_catalogue[] = "[t.box]\n"
                                     "owner = test\n"
                                     "patterns = *.SMX, *.SYN\n"
                                     "max_size = 100\n"
                                     "process = 1\n"
                                     "\n"
                                     "[plain.box]\n"
                                     "owner = test\n"
                                     "patterns = *.SYN\n"
                                     "max_size = 100\n";

struct fx {
    char root[4096];
    char inboxes[4200];
    inbox_catalogue *cat;  /* the builtin catalogue */
    inbox_catalogue *tcat; /* test_catalogue */
    inbox_dir t;           /* t.box: claims */
    inbox_dir plain;       /* plain.box: does not claim */
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_at(const char *dir, const char *name, const char *text)
{
    char path[8192];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    write_file(path, text, strlen(text));
}

/* Whole file into a malloc'd NUL-terminated buffer; NULL when missing. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[8192];
    FILE *f;
    char *buf;
    long sz;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    sz = ftell(f);
    assert_true(sz >= 0);
    rewind(f);
    buf = malloc((size_t)sz + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    buf[sz] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)sz;
    return buf;
}

static void assert_content(const char *dir, const char *name, const char *want)
{
    char *got = slurp(dir, name, NULL);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static int exists_at(const char *dir, const char *name)
{
    char path[8192];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static int is_dir(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Entries of a folder that are not folders ("." and ".." aside). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        assert_int_equal(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
        if (!S_ISDIR(st.st_mode))
            n++;
    }
    closedir(d);
    return n;
}

static void set_mtime(const char *dir, const char *name, time_t sec)
{
    char path[8192];
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

struct rejects {
    int n;
    char names[32][INBOX_NAME_MAX + 1];
    inbox_reject why[32];
};

static void on_reject(void *ud, const char *name, inbox_reject why)
{
    struct rejects *r = ud;

    assert_true(r->n < 32);
    snprintf(r->names[r->n], sizeof(r->names[0]), "%s", name);
    r->why[r->n++] = why;
}

/* The reason name was rejected for, or 0 when it was not reported. */
static int reject_of(const struct rejects *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return (int)r->why[i];
    return 0;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(tu_mkdtemp(f->root, sizeof(f->root)), 0);
    snprintf(f->inboxes, sizeof(f->inboxes), "%s/inboxes", f->root);
    assert_int_equal(inbox_catalogue_builtin(&f->cat), 0);
    assert_int_equal(inbox_catalogue_parse(test_catalogue, &f->tcat), 0);
    assert_int_equal(inbox_tree_create(f->inboxes, f->cat), 0);
    assert_int_equal(inbox_tree_create(f->inboxes, f->tcat), 0);
    assert_int_equal(inbox_dir_open(&f->t, f->inboxes, inbox_catalogue_find(f->tcat, "t.box")), 0);
    assert_int_equal(
        inbox_dir_open(&f->plain, f->inboxes, inbox_catalogue_find(f->tcat, "plain.box")), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    tu_rmtree(f->root);
    inbox_catalogue_free(f->cat);
    inbox_catalogue_free(f->tcat);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Catalogue                                                                */
/* ------------------------------------------------------------------------ */

static void test_builtin_catalogue(void **state)
{
    inbox_catalogue *c = NULL;
    const inbox_box *b;

    (void)state;
    assert_int_equal(inbox_catalogue_builtin(&c), 0);
    assert_true(inbox_catalogue_count(c) >= 10);
    assert_null(inbox_catalogue_at(c, inbox_catalogue_count(c)));
    assert_null(inbox_catalogue_find(c, "nosuch.box"));

    b = inbox_catalogue_find(c, "wsyncmgr.box");
    assert_non_null(b);
    assert_string_equal(b->owner, "wsyncmgr");
    assert_int_equal(b->npatterns, 1);
    assert_string_equal(b->patterns[0], "*.SYN");
    assert_int_equal(b->max_size, 65536);
    assert_int_equal(b->claims, 1); /* wsyncmgr claims a request while it syncs */
    assert_string_equal(b->process_dir, "wsyncmgr.box/process");
    assert_string_equal(b->corrupt_dir, "wsyncmgr.box/corrupt");
    b = inbox_catalogue_find(c, "objmgr.box");
    assert_non_null(b);
    assert_int_equal(b->claims, 0); /* no reader claims what nobody reads */

    assert_non_null(inbox_catalogue_find(c, "wsyncmgr.box/outbox"));
    b = inbox_catalogue_find(c, "WSUSMgr.box");
    assert_non_null(b);
    assert_string_equal(b->patterns[0], "*.CSB");
    b = inbox_catalogue_find(c, "policypv.box");
    assert_non_null(b);
    assert_string_equal(b->patterns[0], "*.STN");
    b = inbox_catalogue_find(c, "policypv.box/policytargeteval");
    assert_non_null(b);
    assert_int_equal(b->npatterns, 2);
    assert_string_equal(b->patterns[0], "*.PAC");
    assert_string_equal(b->patterns[1], "*.CRP");
    b = inbox_catalogue_find(c, "objmgr.box");
    assert_non_null(b);
    assert_int_equal(b->npatterns, 4);

    b = inbox_catalogue_find(c, "auth/statesys.box/incoming");
    assert_non_null(b);
    assert_int_equal(b->claims, 1);
    assert_string_equal(b->patterns[0], "*.SMX");
    assert_int_equal(b->max_size, 16777216);
    assert_string_equal(b->process_dir, "auth/statesys.box/process");
    assert_string_equal(b->corrupt_dir, "auth/statesys.box/corrupt");
    b = inbox_catalogue_find(c, "auth/statesys.box/incoming/high");
    assert_non_null(b);
    assert_string_equal(b->process_dir, "auth/statesys.box/process");
    assert_non_null(inbox_catalogue_find(c, "auth/statesys.box/incoming/low"));
    assert_non_null(inbox_catalogue_find(c, "replmgr.box"));
    inbox_catalogue_free(c);
}

static void test_parse_defaults_and_trim(void **state)
{
    inbox_catalogue *c = NULL;
    const inbox_box *b;

    (void)state;
    assert_int_equal(inbox_catalogue_parse("[a.box/sub-1_x]\n"
                                           "patterns =   *.A ,\t*.b  \n"
                                           "description = one\n"
                                           "  two\n",
                                           &c),
                     0);
    assert_int_equal(inbox_catalogue_count(c), 1);
    b = inbox_catalogue_at(c, 0);
    assert_string_equal(b->name, "a.box/sub-1_x");
    assert_int_equal(b->npatterns, 2);
    assert_string_equal(b->patterns[0], "*.A");
    assert_string_equal(b->patterns[1], "*.b");
    assert_int_equal(b->max_size, 65536);
    assert_int_equal(b->claims, 0);
    assert_string_equal(b->process_dir, "a.box/sub-1_x/process");
    assert_string_equal(b->corrupt_dir, "a.box/sub-1_x/corrupt");
    assert_string_equal(b->description, "one two");
    inbox_catalogue_free(c);
}

static void test_parse_rejects(void **state)
{
    char long_line[400], long_section[128];
    const char *bad[] = {
        "",
        "; nothing but a comment\n",
        "[x.box]\n",
        "patterns = *.A\n",
        "[x.box]\npatterns = *.A\ncolour = red\n",
        "[x.box]\npatterns = *.A\nOwner = me\n",
        "[../x]\npatterns = *.A\n",
        "[x.box/../../etc]\npatterns = *.A\n",
        "[/abs.box]\npatterns = *.A\n",
        "[a//b]\npatterns = *.A\n",
        "[a/]\npatterns = *.A\n",
        "[a/./b]\npatterns = *.A\n",
        "[a b]\npatterns = *.A\n",
        "[a\\b]\npatterns = *.A\n",
        "[x.box]\nowner = me\n",
        "[x.box]\npatterns = *.A,,*.B\n",
        "[x.box]\npatterns = sub/*.A\n",
        "[x.box]\npatterns = 1,2,3,4,5,6,7,8,9\n",
        "[x.box]\npatterns = *.A\nmax_size = -1\n",
        "[x.box]\npatterns = *.A\nmax_size = 0\n",
        "[x.box]\npatterns = *.A\nmax_size = 12k\n",
        "[x.box]\npatterns = *.A\nmax_size = 99999999999999999999999\n",
        "[x.box]\npatterns = *.A\nprocess = maybe\n",
        "[x.box]\npatterns = *.A\nprocess_dir = ../elsewhere\n",
        "[x.box]\npatterns = *.A\ncorrupt_dir = /var/tmp\n",
        "[x.box]\npatterns = *.A\ncorrupt_dir = x.box\n",
        "[x.box]\npatterns = *.A\n[y.box]\npatterns = *.B\n[X.BOX]\npatterns = *.C\n",
        "[x.box]\nthis line is not a key\n",
        "[x.box\npatterns = *.A\n",
        long_line,
        long_section,
    };
    inbox_catalogue *c;

    (void)state;
    snprintf(long_line, sizeof(long_line), "[x.box]\npatterns = *.A\ndescription = %0300d\n", 0);
    snprintf(long_section, sizeof(long_section), "[%060d]\npatterns = *.A\n", 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = (inbox_catalogue *)1;
        if (inbox_catalogue_parse(bad[i], &c) != CM_EPARSE)
            fail_msg("catalogue %zu accepted: %s", i, bad[i]);
        assert_null(c);
    }
    assert_int_equal(inbox_catalogue_parse(NULL, &c), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Names and the tree                                                       */
/* ------------------------------------------------------------------------ */

static void test_name_valid(void **state)
{
    struct fx *f = *state;
    const inbox_box *syn = inbox_catalogue_find(f->cat, "wsyncmgr.box");
    const inbox_box *pte = inbox_catalogue_find(f->cat, "policypv.box/policytargeteval");
    const inbox_box *any = inbox_catalogue_find(f->cat, "replmgr.box");
    char name[400];
    const char *bad[] = {
        "",          "../x.SYN", "a/b.SYN",  ".SYN",           ".hidden.SYN", "..",
        ".",         "x.TXT",    "x.SYN.1",  "x.SYNC",         "a\nb.SYN",    "a\tb.SYN",
        "a\x7f.SYN", "a\"b.SYN", "a\\b.SYN", "a:b.SYN",        "a*b.SYN",     "a?b.SYN",
        "a<b.SYN",   "a>b.SYN",  "a|b.SYN",  "caf\xc3\xa9.SYN"};

    assert_true(inbox_name_valid(syn, "SELF.SYN"));
    assert_true(inbox_name_valid(syn, "self.syn"));
    assert_true(inbox_name_valid(syn, "FULL.SYN"));
    assert_true(inbox_name_valid(syn, "CS1.Syn"));
    assert_true(inbox_name_valid(syn, "a b.SYN"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (inbox_name_valid(syn, bad[i]))
            fail_msg("name %zu accepted", i);
    assert_false(inbox_name_valid(syn, NULL));
    assert_false(inbox_name_valid(NULL, "SELF.SYN"));

    /* 255 bytes is the limit; 256 and 300 are over it. */
    memset(name, 'a', sizeof(name));
    memcpy(name + 251, ".SYN", 5);
    assert_true(inbox_name_valid(syn, name));
    memset(name, 'a', sizeof(name));
    memcpy(name + 252, ".SYN", 5);
    assert_false(inbox_name_valid(syn, name));
    memset(name, 'a', sizeof(name));
    memcpy(name + 296, ".SYN", 5);
    assert_false(inbox_name_valid(syn, name));

    assert_true(inbox_name_valid(pte, "17.PAC"));
    assert_true(inbox_name_valid(pte, "18.crp"));
    assert_false(inbox_name_valid(pte, "{0F3C}.STN"));
    assert_true(inbox_name_valid(any, "anything.bin"));
    assert_false(inbox_name_valid(any, "a:b"));
    assert_false(inbox_name_valid(any, ".profile"));
}

static void test_tree_create_twice(void **state)
{
    struct fx *f = *state;
    char path[8192];
    struct stat st;
    inbox_dir d;

    /* The fixture made the tree once already. */
    assert_int_equal(inbox_tree_create(f->inboxes, f->cat), 0);
    for (size_t i = 0; i < inbox_catalogue_count(f->cat); i++) {
        const inbox_box *b = inbox_catalogue_at(f->cat, i);

        assert_int_equal(inbox_dir_open(&d, f->inboxes, b), 0);
        assert_true(is_dir(d.path));
        assert_true(is_dir(d.tmp));
        assert_true(is_dir(d.corrupt));
        assert_int_equal(is_dir(d.process), b->claims);
        assert_int_equal(lstat(d.path, &st), 0);
        assert_int_equal(st.st_mode & 0777 & ~0750, 0);
    }
    assert_int_equal(
        inbox_dir_open(&d, f->inboxes,
                       inbox_catalogue_find(f->cat, "auth/statesys.box/incoming/high")),
        0);
    snprintf(path, sizeof(path), "%s/auth/statesys.box/process", f->inboxes);
    assert_string_equal(d.process, path);
    snprintf(path, sizeof(path), "%s/auth/statesys.box/incoming/high/tmp", f->inboxes);
    assert_string_equal(d.tmp, path);

    /* A file where a folder must go is an error, not a silent success. */
    snprintf(path, sizeof(path), "%s/blocked", f->root);
    write_file(path, "x", 1);
    assert_int_equal(inbox_tree_create(path, f->tcat), -ENOTDIR);
}

/* ------------------------------------------------------------------------ */
/* Drops                                                                    */
/* ------------------------------------------------------------------------ */

static void test_drop_exact(void **state)
{
    struct fx *f = *state;
    static const char data[] = "hello\0world\n";
    char path[8192];
    struct stat st;
    inbox_dir d;
    size_t len;
    char *got;

    assert_int_equal(inbox_dir_open(&d, f->inboxes, inbox_catalogue_find(f->cat, "wsyncmgr.box")),
                     0);
    assert_int_equal(inbox_drop(&d, "SELF.SYN", data, sizeof(data) - 1), 0);
    got = slurp(d.path, "SELF.SYN", &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof(data) - 1);
    assert_memory_equal(got, data, len);
    free(got);
    snprintf(path, sizeof(path), "%s/SELF.SYN", d.path);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777 & ~0640, 0);
    assert_int_equal(count_files(d.tmp), 0);

    /* Zero-byte notification files are the common case. */
    assert_int_equal(inbox_drop(&d, "FULL.SYN", NULL, 0), 0);
    got = slurp(d.path, "FULL.SYN", &len);
    assert_non_null(got);
    assert_int_equal(len, 0);
    free(got);
    assert_int_equal(count_files(d.path), 2);
    assert_int_equal(count_files(d.tmp), 0);
}

static void test_drop_replaces(void **state)
{
    struct fx *f = *state;

    assert_int_equal(inbox_drop(&f->plain, "CS1.SYN", "one", 3), 0);
    assert_int_equal(inbox_drop(&f->plain, "CS1.SYN", "two!", 4), 0);
    assert_content(f->plain.path, "CS1.SYN", "two!");
    assert_int_equal(count_files(f->plain.path), 1);
    assert_int_equal(count_files(f->plain.tmp), 0);
}

static void test_drop_bad_name(void **state)
{
    struct fx *f = *state;

    assert_int_equal(inbox_drop(&f->plain, "x.TXT", "x", 1), CM_ENAME);
    assert_int_equal(inbox_drop(&f->plain, "../x.SYN", "x", 1), CM_ENAME);
    assert_int_equal(inbox_drop(&f->plain, "a/b.SYN", "x", 1), CM_ENAME);
    assert_int_equal(inbox_drop(&f->plain, ".SYN", "x", 1), CM_ENAME);
    assert_int_equal(inbox_drop(&f->plain, "x.SYN", NULL, 1), -EINVAL);
    assert_int_equal(count_files(f->plain.path), 0);
    assert_int_equal(count_files(f->plain.tmp), 0);
    assert_false(exists_at(f->inboxes, "x.SYN"));
}

/*
 * A disk that fills part way: RLIMIT_FSIZE makes write() fail with EFBIG
 * after the first bytes.  In a child, so the test process keeps its limits.
 */
static void test_drop_fails_midwrite(void **state)
{
    struct fx *f = *state;
    static char big[65536];
    int status;
    pid_t pid;

    memset(big, 'x', sizeof(big));
    assert_int_equal(inbox_drop(&f->plain, "OLD.SYN", "old", 3), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {4096, 4096};
        int rc1, rc2;

        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        rc1 = inbox_drop(&f->plain, "NEW.SYN", big, sizeof(big));
        rc2 = inbox_drop(&f->plain, "OLD.SYN", big, sizeof(big));
        _exit(rc1 == -EFBIG && rc2 == -EFBIG ? 0 : 11);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_false(exists_at(f->plain.path, "NEW.SYN"));
    /* The failed replacement left the previous file whole. */
    assert_content(f->plain.path, "OLD.SYN", "old");
    assert_int_equal(count_files(f->plain.path), 1);
    assert_int_equal(count_files(f->plain.tmp), 0);
}

/* ------------------------------------------------------------------------ */
/* Scanning                                                                 */
/* ------------------------------------------------------------------------ */

static void test_scan_order_and_rejects(void **state)
{
    struct fx *f = *state;
    const char *p = f->t.path;
    char path[8192], target[8192];
    char hundred[101], big[102];
    inbox_entry out[16];
    struct rejects r;
    size_t n;

    memset(hundred, 'h', 100);
    hundred[100] = '\0';
    memset(big, 'b', 101);
    big[101] = '\0';
    write_at(p, "c.SMX", "c");
    write_at(p, "b.SMX", "b");
    write_at(p, "a.SMX", "a");
    write_at(p, "exact.SYN", hundred);
    set_mtime(p, "c.SMX", 1000);
    set_mtime(p, "b.SMX", 2000);
    set_mtime(p, "a.SMX", 2000);
    set_mtime(p, "exact.SYN", 3000);

    snprintf(target, sizeof(target), "%s/c.SMX", p);
    snprintf(path, sizeof(path), "%s/link.SMX", p);
    assert_int_equal(symlink(target, path), 0);
    write_at(p, "hl.SMX", "h");
    snprintf(target, sizeof(target), "%s/hl.SMX", p);
    snprintf(path, sizeof(path), "%s/hl2.SMX", p);
    assert_int_equal(link(target, path), 0);
    snprintf(path, sizeof(path), "%s/fifo.SMX", p);
    assert_int_equal(mkfifo(path, 0600), 0);
    write_at(p, "big.SMX", big);
    write_at(p, "bad.TXT", "x");
    write_at(p, ".hidden.SMX", "x");
    snprintf(path, sizeof(path), "%s/sub.SMX", p);
    assert_int_equal(mkdir(path, 0700), 0);

    memset(&r, 0, sizeof(r));
    assert_int_equal(inbox_scan(&f->t, out, 16, &n, on_reject, &r), 0);
    assert_int_equal(n, 4);
    assert_string_equal(out[0].name, "c.SMX");
    assert_string_equal(out[1].name, "a.SMX");
    assert_string_equal(out[2].name, "b.SMX");
    assert_string_equal(out[3].name, "exact.SYN");
    assert_int_equal(out[0].mtime.tv_sec, 1000);
    assert_int_equal(out[0].size, 1);
    assert_int_equal(out[3].size, 100);

    assert_int_equal(r.n, 6);
    assert_int_equal(reject_of(&r, "link.SMX"), INBOX_REJECT_TYPE);
    assert_int_equal(reject_of(&r, "fifo.SMX"), INBOX_REJECT_TYPE);
    assert_int_equal(reject_of(&r, "hl.SMX"), INBOX_REJECT_LINKS);
    assert_int_equal(reject_of(&r, "hl2.SMX"), INBOX_REJECT_LINKS);
    assert_int_equal(reject_of(&r, "big.SMX"), INBOX_REJECT_SIZE);
    assert_int_equal(reject_of(&r, "bad.TXT"), INBOX_REJECT_NAME);

    /* A bounded batch is the oldest files, still in order. */
    assert_int_equal(inbox_scan(&f->t, out, 2, &n, NULL, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].name, "c.SMX");
    assert_string_equal(out[1].name, "a.SMX");

    memset(&r, 0, sizeof(r));
    assert_int_equal(inbox_scan(&f->t, NULL, 0, &n, on_reject, &r), 0);
    assert_int_equal(n, 0);
    assert_int_equal(r.n, 6);
}

/* The heap keeps exactly the oldest max of many files, whatever readdir's order. */
static void test_scan_bounded_oldest(void **state)
{
    struct fx *f = *state;
    inbox_entry out[300];
    char name[32];
    size_t n;

    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "f%03d.SMX", i);
        write_at(f->t.path, name, "x");
        /* 7919 is prime to 200: every mtime 1000..1199 once, scattered over names. */
        set_mtime(f->t.path, name, 1000 + (time_t)((i * 7919) % 200));
    }
    assert_int_equal(inbox_scan(&f->t, out, 10, &n, NULL, NULL), 0);
    assert_int_equal(n, 10);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(out[k].mtime.tv_sec, 1000 + (time_t)k);

    assert_int_equal(inbox_scan(&f->t, out, 300, &n, NULL, NULL), 0);
    assert_int_equal(n, 200);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(out[k].mtime.tv_sec, 1000 + (time_t)k);
}

static void test_settling(void **state)
{
    inbox_entry e;

    (void)state;
    memset(&e, 0, sizeof(e));
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &e.mtime), 0);
    assert_true(inbox_is_settling(&e, 600000));
    assert_false(inbox_is_settling(&e, 0));
    e.mtime.tv_sec -= 3600;
    assert_false(inbox_is_settling(&e, 600000));
    e.mtime.tv_sec += 7200;
    assert_false(inbox_is_settling(&e, 600000));
    e.mtime.tv_sec = 0;
    assert_false(inbox_is_settling(&e, 600000));
}

/* ------------------------------------------------------------------------ */
/* Claim, quarantine, remove, read, recover                                 */
/* ------------------------------------------------------------------------ */

static void test_claim(void **state)
{
    struct fx *f = *state;
    char *data = NULL;
    size_t len = 0;

    assert_int_equal(inbox_drop(&f->t, "m1.SMX", "batch", 5), 0);
    assert_int_equal(inbox_claim(&f->t, "m1.SMX"), 0);
    assert_false(exists_at(f->t.path, "m1.SMX"));
    assert_content(f->t.process, "m1.SMX", "batch");
    assert_int_equal(inbox_read(&f->t, "m1.SMX", 1, 100, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "batch");
    free(data);
    assert_int_equal(inbox_remove(&f->t, "m1.SMX", 1), 0);
    assert_false(exists_at(f->t.process, "m1.SMX"));
    assert_int_equal(inbox_remove(&f->t, "m1.SMX", 1), 0);

    /* A claim never overwrites a file already in process/. */
    assert_int_equal(inbox_drop(&f->t, "m2.SMX", "first", 5), 0);
    assert_int_equal(inbox_claim(&f->t, "m2.SMX"), 0);
    assert_int_equal(inbox_drop(&f->t, "m2.SMX", "second", 6), 0);
    assert_int_equal(inbox_claim(&f->t, "m2.SMX"), -EEXIST);
    assert_content(f->t.process, "m2.SMX", "first");
    assert_content(f->t.path, "m2.SMX", "second");

    assert_int_equal(inbox_claim(&f->t, "none.SMX"), -ENOENT);
    assert_int_equal(inbox_claim(&f->t, "../m2.SMX"), CM_ENAME);
    assert_int_equal(inbox_drop(&f->plain, "P.SYN", "", 0), 0);
    assert_int_equal(inbox_claim(&f->plain, "P.SYN"), -EINVAL);
    assert_int_equal(inbox_remove(&f->plain, "P.SYN", 0), 0);
    assert_false(exists_at(f->plain.path, "P.SYN"));
}

static void test_quarantine_twice(void **state)
{
    struct fx *f = *state;
    char longname[INBOX_NAME_MAX + 1], cut[INBOX_NAME_MAX + 1];

    assert_int_equal(inbox_drop(&f->t, "q.SMX", "first", 5), 0);
    assert_int_equal(inbox_quarantine(&f->t, "q.SMX", 0), 0);
    assert_int_equal(inbox_drop(&f->t, "q.SMX", "second", 6), 0);
    assert_int_equal(inbox_claim(&f->t, "q.SMX"), 0);
    assert_int_equal(inbox_quarantine(&f->t, "q.SMX", 1), 0);
    assert_content(f->t.corrupt, "q.SMX", "first");
    assert_content(f->t.corrupt, "q.SMX.1", "second");
    assert_false(exists_at(f->t.path, "q.SMX"));
    assert_false(exists_at(f->t.process, "q.SMX"));

    /* Files scan rejected for their names must still be quarantinable. */
    write_at(f->t.path, "bad.TXT", "x");
    assert_int_equal(inbox_quarantine(&f->t, "bad.TXT", 0), 0);
    assert_true(exists_at(f->t.corrupt, "bad.TXT"));
    assert_int_equal(inbox_quarantine(&f->t, "../q.SMX", 0), CM_ENAME);

    /* At the length limit the suffix replaces the end of the name. */
    memset(longname, 'L', INBOX_NAME_MAX);
    longname[INBOX_NAME_MAX] = '\0';
    write_at(f->t.path, longname, "1");
    assert_int_equal(inbox_quarantine(&f->t, longname, 0), 0);
    write_at(f->t.path, longname, "2");
    assert_int_equal(inbox_quarantine(&f->t, longname, 0), 0);
    assert_content(f->t.corrupt, longname, "1");
    memcpy(cut, longname, INBOX_NAME_MAX - 2);
    memcpy(cut + INBOX_NAME_MAX - 2, ".1", 3);
    assert_content(f->t.corrupt, cut, "2");
    assert_int_equal(count_files(f->t.corrupt), 5);
}

static void test_read(void **state)
{
    struct fx *f = *state;
    char target[8192], path[8192];
    char fifty[51];
    char *data;
    size_t len;

    write_at(f->t.path, "r.SMX", "abc");
    assert_int_equal(inbox_read(&f->t, "r.SMX", 0, 100, &data, &len), 0);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    free(data);

    write_at(f->t.path, "empty.SMX", "");
    assert_int_equal(inbox_read(&f->t, "empty.SMX", 0, 100, &data, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);

    memset(fifty, 'f', 50);
    fifty[50] = '\0';
    write_at(f->t.path, "big.SMX", fifty);
    data = (char *)1;
    assert_int_equal(inbox_read(&f->t, "big.SMX", 0, 10, &data, &len), CM_ETOOBIG);
    assert_null(data);
    assert_int_equal(inbox_read(&f->t, "big.SMX", 0, 50, &data, &len), 0);
    assert_int_equal(len, 50);
    free(data);

    snprintf(target, sizeof(target), "%s/r.SMX", f->t.path);
    snprintf(path, sizeof(path), "%s/link.SMX", f->t.path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(inbox_read(&f->t, "link.SMX", 0, 100, &data, &len), -ELOOP);
    assert_null(data);

    snprintf(path, sizeof(path), "%s/fifo.SMX", f->t.path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(inbox_read(&f->t, "fifo.SMX", 0, 100, &data, &len), -EINVAL);

    snprintf(path, sizeof(path), "%s/hard.SMX", f->t.path);
    assert_int_equal(link(target, path), 0);
    assert_int_equal(inbox_read(&f->t, "hard.SMX", 0, 100, &data, &len), -EMLINK);

    assert_int_equal(inbox_read(&f->t, "none.SMX", 0, 100, &data, &len), -ENOENT);
    assert_int_equal(inbox_read(&f->t, "../r.SMX", 0, 100, &data, &len), CM_ENAME);
    assert_int_equal(inbox_read(&f->plain, "r.SYN", 1, 100, &data, &len), -EINVAL);
}

static void test_recover(void **state)
{
    struct fx *f = *state;
    char path[8192];
    size_t moved = 99;

    write_at(f->t.tmp, "1700000000.000000001.P1.Q0", "partial");
    write_at(f->t.tmp, "1700000000.000000002.P1.Q1", "partial");
    snprintf(path, sizeof(path), "%s/keep", f->t.tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    write_at(f->t.process, "p1.SMX", "one");
    write_at(f->t.process, "p2.SMX", "two");

    assert_int_equal(inbox_recover(&f->t, &moved), 0);
    assert_int_equal(moved, 2);
    assert_int_equal(count_files(f->t.tmp), 0);
    assert_true(is_dir(path));
    assert_int_equal(count_files(f->t.process), 0);
    assert_content(f->t.path, "p1.SMX", "one");
    assert_content(f->t.path, "p2.SMX", "two");

    /* A name back in the box meanwhile: neither copy is lost. */
    write_at(f->t.process, "p1.SMX", "older");
    assert_int_equal(inbox_recover(&f->t, &moved), 0);
    assert_int_equal(moved, 0);
    assert_content(f->t.path, "p1.SMX", "one");
    assert_content(f->t.process, "p1.SMX", "older");

    /* A box that never claims only has its tmp/ cleared. */
    write_at(f->plain.tmp, "leftover", "x");
    assert_int_equal(inbox_recover(&f->plain, &moved), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(count_files(f->plain.tmp), 0);
}

int test_inbox(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_catalogue),
        cmocka_unit_test(test_parse_defaults_and_trim),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test_setup_teardown(test_name_valid, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tree_create_twice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_exact, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_replaces, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_bad_name, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_drop_fails_midwrite, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scan_order_and_rejects, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_scan_bounded_oldest, fx_setup, fx_teardown),
        cmocka_unit_test(test_settling),
        cmocka_unit_test_setup_teardown(test_claim, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_twice, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recover, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests_name("inbox", tests, NULL, NULL);
}

#ifdef INBOX_TEST_MAIN
/* Standalone build of this group alone (the project's runner is tests/unit/runner.c). */
int main(void)
{
    return test_inbox() ? 1 : 0;
}
#endif
