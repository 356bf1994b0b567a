/*
 * tests/unit/test_cpio.c: host cmocka tests for the initrd loader (guest-pv/kernel/cpio.c):
 * a good archive built here, then hostile ones (truncated at every length, broken
 * fields, random bytes, random mutations of a good archive, out of memory). Each
 * archive is copied into a buffer of exactly its size, so ASan catches any read past
 * the end; after each load the file system is wiped and every page must be back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs.h"
#include "kern.h"
#include "guest_stubs.h"

/* ---- building archives -------------------------------------------------------------- */

struct archive {
    unsigned char *buf;
    size_t len, cap;
    size_t headers[64];          /* where each entry's header starts */
    size_t nheaders;
};

static void ar_put(struct archive *a, const void *p, size_t n)
{
    if (a->len + n > a->cap) {
        a->cap = (a->len + n) * 2 + 1024;
        a->buf = realloc(a->buf, a->cap);
        assert_non_null(a->buf);
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

static void ar_pad4(struct archive *a)
{
    while (a->len % 4)
        ar_put(a, "", 1);
}

/* Append one newc entry; namesize counts the NUL as the format says. */
static void ar_add(struct archive *a, const char *name, uint32_t mode, const void *data,
                   size_t size)
{
    char hdr[111];
    size_t namesize = strlen(name) + 1;
    snprintf(hdr, sizeof(hdr),
             "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
             (unsigned)a->nheaders + 100, mode, 0u, 0u, 1u, 0u, (unsigned)size,
             0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
    if (a->nheaders < 64)
        a->headers[a->nheaders++] = a->len;
    ar_put(a, hdr, 110);
    ar_put(a, name, namesize);
    ar_pad4(a);
    if (size)
        ar_put(a, data, size);
    ar_pad4(a);
}

static void ar_trailer(struct archive *a)
{
    ar_add(a, "TRAILER!!!", 0, NULL, 0);
}

/* A small archive with every kind of entry: returns the number it should load. */
static long build_good(struct archive *a)
{
    static char sh[5000];
    for (size_t i = 0; i < sizeof(sh); i++)
        sh[i] = (char)(i * 7);
    memset(a, 0, sizeof(*a));
    ar_add(a, ".", HOS_S_IFDIR | 0755, NULL, 0);                  /* the root: skipped */
    ar_add(a, "./bin", HOS_S_IFDIR | 0750, NULL, 0);
    ar_add(a, "./bin/sh", HOS_S_IFREG | 0755, sh, sizeof(sh));
    ar_add(a, "etc/motd", HOS_S_IFREG | 0644, "hello\n", 6);       /* parent missing */
    ar_add(a, "/abs//x", HOS_S_IFREG | 0600, "x", 1);
    ar_add(a, "lnk", 0120777, "bin/sh", 6);                        /* symlink: skipped */
    ar_add(a, "dev/console", HOS_S_IFCHR | 0600, NULL, 0);         /* device: skipped */
    ar_add(a, "empty", HOS_S_IFREG | 0644, NULL, 0);
    ar_add(a, "bin/", HOS_S_IFDIR | 0755, NULL, 0);                /* exists: fine */
    ar_add(a, "etc/motd", HOS_S_IFREG | 0644, "bye\n", 4);         /* replaced */
    ar_trailer(a);
    return 7;
}

/* An exact-size heap copy of the first n bytes of a (ASan sees reads past its end). */
static long load_exact(const unsigned char *buf, size_t n)
{
    unsigned char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n)
        memcpy(copy, buf, n);
    long r = fs_load_cpio(copy, n);
    free(copy);
    return r;
}

/* ---- fixture ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    fs_init();
    return fs_root() ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    stub_usage_mark();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stub_fs_clean_check();
    return 0;
}

static void assert_file(const char *path, const void *data, size_t len, uint32_t mode)
{
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, path, &st), 0);
    assert_int_equal(st.mode, mode);
    assert_int_equal(st.size, len);
    struct file *f;
    assert_int_equal(fs_open(NULL, path, HOS_O_RDONLY, 0, &f), 0);
    char *back = malloc(len + 1);
    assert_int_equal(file_read(f, back, len + 1), len);
    assert_memory_equal(back, data, len);
    free(back);
    file_close(f);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_good_archive(void **state)
{
    (void)state;
    struct archive a;
    long want = build_good(&a);
    assert_int_equal(load_exact(a.buf, a.len), want);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/bin", &st), 0);
    assert_int_equal(st.mode, HOS_S_IFDIR | 0750);
    static char sh[5000];
    for (size_t i = 0; i < sizeof(sh); i++)
        sh[i] = (char)(i * 7);
    assert_file("/bin/sh", sh, sizeof(sh), HOS_S_IFREG | 0755);
    assert_file("/etc/motd", "bye\n", 4, HOS_S_IFREG | 0644);
    assert_int_equal(fs_stat(NULL, "/etc", &st), 0);
    assert_int_equal(st.mode & HOS_S_IFMT, HOS_S_IFDIR);
    assert_file("/abs/x", "x", 1, HOS_S_IFREG | 0600);
    assert_file("/empty", "", 0, HOS_S_IFREG | 0644);
    assert_int_equal(fs_stat(NULL, "/lnk", &st), -HOS_ENOENT);
    assert_int_equal(fs_stat(NULL, "/dev/console", &st), -HOS_ENOENT);
    free(a.buf);
}

static void test_large_file_in_archive(void **state)
{
    (void)state;
    size_t size = 3 * 1024 * 1024 + 3;
    unsigned char *big = malloc(size);
    for (size_t i = 0; i < size; i++)
        big[i] = (unsigned char)(i ^ (i >> 9));
    struct archive a;
    memset(&a, 0, sizeof(a));
    ar_add(&a, "boot/domu.elf", HOS_S_IFREG | 0644, big, size);
    ar_trailer(&a);
    assert_int_equal(load_exact(a.buf, a.len), 1);
    assert_file("/boot/domu.elf", big, size, HOS_S_IFREG | 0644);
    free(big);
    free(a.buf);
}

/* Write 8 hex digits of v into field i of the header at h. */
static void set_field(unsigned char *h, int i, uint32_t v)
{
    char tmp[9];
    snprintf(tmp, sizeof(tmp), "%08x", v);
    memcpy(h + 6 + 8 * i, tmp, 8);
}

/* A good entry "/ok" then a second entry broken by `breaker`: -HOS_EINVAL, "/ok" stays. */
static void check_broken(void (*breaker)(struct archive *a, unsigned char *h),
                         const char *what)
{
    struct archive a;
    memset(&a, 0, sizeof(a));
    ar_add(&a, "ok", HOS_S_IFREG | 0644, "fine", 4);
    ar_add(&a, "second", HOS_S_IFREG | 0644, "data", 4);
    ar_trailer(&a);
    breaker(&a, a.buf + a.headers[1]);
    long r = load_exact(a.buf, a.len);
    if (r != -HOS_EINVAL)
        fail_msg("%s: got %ld", what, r);
    assert_file("/ok", "fine", 4, HOS_S_IFREG | 0644);
    free(a.buf);
    stub_fs_clean_check();
}

static void break_magic(struct archive *a, unsigned char *h) { (void)a; h[5] = '7'; }
static void break_hex(struct archive *a, unsigned char *h)
{
    (void)a;
    h[6 + 8 * 6 + 3] = 'g';
}
static void break_hex_space(struct archive *a, unsigned char *h)
{
    (void)a;
    h[6 + 8 * 11] = ' ';
}
static void break_namesize0(struct archive *a, unsigned char *h)
{
    (void)a;
    set_field(h, 11, 0);
}
static void break_namesize_huge(struct archive *a, unsigned char *h)
{
    (void)a;
    set_field(h, 11, 0xffffffffu);
}
static void break_name_nul(struct archive *a, unsigned char *h)
{
    (void)a;
    h[110 + 6] = 'X';                          /* "second" loses its NUL */
}
static void break_name_inner_nul(struct archive *a, unsigned char *h)
{
    (void)a;
    h[110 + 2] = 0;
}
static void break_filesize(struct archive *a, unsigned char *h)
{
    (void)a;
    set_field(h, 6, 0xfffffff0u);
}
static void break_filesize_by_one(struct archive *a, unsigned char *h)
{
    size_t data_end = (size_t)(h - a->buf) + 110 + 7 + 3 + 4;  /* header, name, pad, data */
    set_field(h, 6, (uint32_t)(a->len - data_end + 4 + 1));     /* one past the end */
}
static void break_dotdot(struct archive *a, unsigned char *h)
{
    (void)a;
    memcpy(h + 110, "../etc", 6);              /* same length as "second" */
}
static void break_inner_dotdot(struct archive *a, unsigned char *h)
{
    (void)a;
    memcpy(h + 110, "a/../b", 6);
}

static void test_broken_entries(void **state)
{
    (void)state;
    check_broken(break_magic, "magic");
    check_broken(break_hex, "hex digit");
    check_broken(break_hex_space, "space in a field");
    check_broken(break_namesize0, "namesize 0");
    check_broken(break_namesize_huge, "namesize huge");
    check_broken(break_name_nul, "name without NUL");
    check_broken(break_name_inner_nul, "name with an inner NUL");
    check_broken(break_filesize, "filesize past the end");
    check_broken(break_filesize_by_one, "filesize one past the end");
    check_broken(break_dotdot, "leading ..");
    check_broken(break_inner_dotdot, "inner ..");
}

static void test_names_too_long(void **state)
{
    (void)state;
    char name[HOS_PATH_MAX + 10];
    struct archive a;
    /* A component of HOS_NAME_MAX + 1 characters. */
    memset(name, 'c', HOS_NAME_MAX + 1);
    name[HOS_NAME_MAX + 1] = 0;
    memset(&a, 0, sizeof(a));
    ar_add(&a, name, HOS_S_IFREG | 0644, "x", 1);
    ar_trailer(&a);
    assert_int_equal(load_exact(a.buf, a.len), -HOS_EINVAL);
    free(a.buf);
    /* A whole name longer than a path. */
    for (size_t i = 0; i < sizeof(name) - 1; i++)
        name[i] = i % 10 == 9 ? '/' : 'p';
    name[sizeof(name) - 1] = 0;
    memset(&a, 0, sizeof(a));
    ar_add(&a, name, HOS_S_IFREG | 0644, "x", 1);
    ar_trailer(&a);
    assert_int_equal(load_exact(a.buf, a.len), -HOS_EINVAL);
    free(a.buf);
}

static void test_empty_missing_trailer_and_type_clash(void **state)
{
    (void)state;
    assert_int_equal(load_exact(NULL, 0), -HOS_EINVAL);
    assert_int_equal(fs_load_cpio(NULL, 100), -HOS_EINVAL);
    struct archive a;
    memset(&a, 0, sizeof(a));
    ar_add(&a, "f", HOS_S_IFREG | 0644, "1", 1);
    assert_int_equal(load_exact(a.buf, a.len), -HOS_EINVAL);   /* no trailer */
    assert_file("/f", "1", 1, HOS_S_IFREG | 0644);
    ar_add(&a, "f/g", HOS_S_IFREG | 0644, "2", 1);              /* f is not a directory */
    ar_trailer(&a);
    assert_int_equal(load_exact(a.buf, a.len), -HOS_ENOTDIR);
    free(a.buf);
    memset(&a, 0, sizeof(a));
    ar_add(&a, "f", HOS_S_IFDIR | 0755, NULL, 0);               /* a file is in the way */
    ar_trailer(&a);
    assert_true(load_exact(a.buf, a.len) < 0);
    free(a.buf);
}

static void test_every_truncation(void **state)
{
    (void)state;
    struct archive a;
    long want = build_good(&a);
    for (size_t n = 0; n < a.len; n++) {
        long r = load_exact(a.buf, n);
        /* Only a cut inside the trailer's padding can still succeed. */
        if (r != -HOS_EINVAL && !(r == want && n + 4 > a.len))
            fail_msg("prefix %zu: got %ld", n, r);
        stub_fs_clean_check();
    }
    print_message("%zu prefixes of a %zu-byte archive refused cleanly\n", a.len, a.len);
    free(a.buf);
}

static void test_random_bytes(void **state)
{
    (void)state;
    srand(12345);
    unsigned char buf[700];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = (size_t)rand() % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand();
        if (iter % 2 && n >= 6)
            memcpy(buf, "070701", 6);          /* get past the magic half the time */
        if (iter % 4 == 1 && n >= 110)         /* and past the hex fields a quarter */
            for (size_t i = 6; i < 110; i++)
                buf[i] = "0123456789abcdef"[rand() % 3 == 0 ? rand() % 16 : 0];
        long r = load_exact(buf, n);
        assert_true(r >= -HOS_ENAMETOOLONG);   /* some error code or a count */
        stub_fs_clean_check();
    }
}

static void test_random_mutations(void **state)
{
    (void)state;
    srand(777);
    struct archive a;
    build_good(&a);
    unsigned char *m = malloc(a.len);
    static const char hex[] = "0123456789abcdefABCDEF";
    long successes = 0;
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(m, a.buf, a.len);
        size_t n = a.len;
        int edits = 1 + rand() % 6;
        for (int e = 0; e < edits; e++) {
            int kind = rand() % 4;
            if (kind == 0) {                   /* any byte anywhere */
                m[(size_t)rand() % n] = (unsigned char)rand();
            } else if (kind == 1 || kind == 2) { /* a hex digit of some header field */
                size_t h = a.headers[(size_t)rand() % a.nheaders];
                size_t at = h + 6 + (size_t)rand() % 104;
                if (at < n)
                    m[at] = kind == 1 ? (unsigned char)hex[rand() % 22] : 'f';
            } else if (n > 1) {                /* cut the end off */
                n = 1 + (size_t)rand() % (n - 1);
            }
        }
        long r = load_exact(m, n);
        if (r >= 0)
            successes++;
        assert_true(r >= -HOS_ENAMETOOLONG);
        stub_fs_clean_check();
    }
    print_message("%ld of 4000 mutated archives still loaded\n", successes);
    free(m);
    free(a.buf);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    struct archive a;
    long want = build_good(&a);
    long budget;
    for (budget = 0; budget < 500; budget++) {
        stub_fail_after(budget);
        long r = load_exact(a.buf, a.len);
        stub_fail_after(-1);
        if (r != want && r != -HOS_ENOMEM)
            fail_msg("budget %ld: got %ld", budget, r);
        stub_fs_clean_check();
        if (r == want)
            break;
    }
    assert_true(budget > 3 && budget < 500);
    free(a.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_good_archive),
        T(test_large_file_in_archive),
        T(test_broken_entries),
        T(test_names_too_long),
        T(test_empty_missing_trailer_and_type_clash),
        T(test_every_truncation),
        T(test_random_bytes),
        T(test_random_mutations),
        T(test_out_of_memory),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
