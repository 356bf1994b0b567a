/*
 * tests/unit/test_fs.c: host cmocka tests for the guest kernel's heap (kmalloc.c) and
 * ramfs (fs.c, file.c): paths, files, directories, unlink while open, getcwd, readdir,
 * big files, and out-of-memory injection. Every test ends by wiping the file system and
 * checking that every page it took came back.
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
#include "mm.h"
#include "guest_stubs.h"

static int group_setup(void **state)
{
    (void)state;
    fs_init();
    tty_init();
    return fs_root() ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    stub_usage_mark();
    return 0;
}

/* Wipe the file system; every page must be back. */
static int teardown(void **state)
{
    (void)state;
    stub_fs_clean_check();
    return 0;
}

/* Open or fail the test. */
static struct file *xopen(const char *path, int flags)
{
    struct file *f = NULL;
    long r = fs_open(NULL, path, flags, 0644, &f);
    if (r < 0)
        fail_msg("open %s: %ld", path, r);
    return f;
}

static uint64_t ino_of(struct inode *cwd, const char *path)
{
    struct hos_stat st;
    assert_int_equal(fs_stat(cwd, path, &st), 0);
    return st.ino;
}

/* ---- kmalloc ---------------------------------------------------------------------- */

static void test_kmalloc_sizes_alignment_and_zeroing(void **state)
{
    (void)state;
    static void *ptrs[2000];
    size_t sizes[] = { 1, 8, 16, 17, 31, 64, 100, 255, 512, 1000, 1024, 1025, 2048, 4000,
                       4096 };
    size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < 2000; i++) {
        size_t n = sizes[i % nsizes];
        unsigned char *p = kmalloc(n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t j = 0; j < n; j++)
            assert_int_equal(p[j], 0);
        memset(p, 0x5a, n);                  /* dirty it: the next user must see zeros */
        ptrs[i] = p;
    }
    assert_true(kmalloc_pages() > stub_heap_marked);
    /* Free in a scrambled order. */
    for (size_t i = 0; i < 2000; i++) {
        size_t k = (i * 7919) % 2000;
        kfree(ptrs[k]);
    }
    assert_int_equal(kmalloc_pages(), stub_heap_marked);
    assert_null(kmalloc(4097));
    kfree(NULL);
    unsigned char *p = kmalloc(100);
    for (int j = 0; j < 100; j++)
        assert_int_equal(p[j], 0);
    kfree(p);
}

static void test_kmalloc_out_of_memory(void **state)
{
    (void)state;
    stub_fail_after(0);
    assert_null(kmalloc(4096));
    void *p = kmalloc(32);                   /* may come from a partial slab */
    kfree(p);
    stub_fail_after(-1);
}

/* ---- paths and directories ---------------------------------------------------------- */

static void test_root_and_dots(void **state)
{
    (void)state;
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/", &st), 0);
    assert_int_equal(st.mode & HOS_S_IFMT, HOS_S_IFDIR);
    assert_int_equal(st.nlink, 2);
    uint64_t root = st.ino;
    assert_int_equal(ino_of(NULL, "/.."), root);
    assert_int_equal(ino_of(NULL, "///./../."), root);
    assert_int_equal(ino_of(fs_root(), "."), root);
    char buf[16];
    assert_int_equal(fs_getcwd(fs_root(), buf, sizeof(buf)), 1);
    assert_string_equal(buf, "/");
    assert_int_equal(fs_stat(NULL, "", &st), -HOS_ENOENT);
}

static void test_mkdir_lookup_errors(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir(NULL, "/a", 0755), 0);
    assert_int_equal(fs_mkdir(NULL, "/a/b", 0700), 0);
    assert_int_equal(fs_mkdir(NULL, "a/b/c/", 0755), 0);   /* trailing slash is fine */
    assert_int_equal(fs_mkdir(NULL, "/a", 0755), -HOS_EEXIST);
    assert_int_equal(fs_mkdir(NULL, "/", 0755), -HOS_EEXIST);
    assert_int_equal(fs_mkdir(NULL, "/a/.", 0755), -HOS_EEXIST);
    assert_int_equal(fs_mkdir(NULL, "/a/..", 0755), -HOS_EEXIST);
    assert_int_equal(fs_mkdir(NULL, "/x/y", 0755), -HOS_ENOENT);
    assert_int_equal(fs_mkdir(NULL, "", 0755), -HOS_ENOENT);
    struct file *f = xopen("/a/f", HOS_O_CREAT | HOS_O_WRONLY);
    file_close(f);
    assert_int_equal(fs_mkdir(NULL, "/a/f/d", 0755), -HOS_ENOTDIR);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/a/f/", &st), -HOS_ENOTDIR);
    assert_int_equal(fs_stat(NULL, "/a/f/x", &st), -HOS_ENOTDIR);
    assert_int_equal(fs_stat(NULL, "/a/b", &st), 0);
    assert_int_equal(st.mode, HOS_S_IFDIR | 0700);
    assert_int_equal(st.nlink, 3);                          /* b, b/., c/.. */
    assert_int_equal(ino_of(NULL, "/a/b/c/../.."), ino_of(NULL, "/a"));
    assert_int_equal(ino_of(NULL, "a//b///c"), ino_of(NULL, "/a/b/c"));
    assert_true(st.mtime_ns > 0);
}

static void test_name_and_path_limits(void **state)
{
    (void)state;
    char name[HOS_NAME_MAX + 3];
    memset(name, 'n', sizeof(name));
    name[0] = '/';
    name[HOS_NAME_MAX + 1] = 0;                             /* "/" + 60 characters */
    assert_int_equal(fs_mkdir(NULL, name, 0755), 0);
    name[HOS_NAME_MAX + 1] = 'n';
    name[HOS_NAME_MAX + 2] = 0;                             /* 61 characters */
    assert_int_equal(fs_mkdir(NULL, name, 0755), -HOS_ENAMETOOLONG);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, name, &st), -HOS_ENAMETOOLONG);

    char path[HOS_PATH_MAX + 8];
    memset(path, '/', sizeof(path));
    path[HOS_PATH_MAX - 2] = 'x';
    path[HOS_PATH_MAX - 1] = 0;                             /* 255 bytes + NUL: fits */
    assert_int_equal(fs_mkdir(NULL, path, 0755), 0);
    assert_int_equal(fs_stat(NULL, "/x", &st), 0);
    path[HOS_PATH_MAX - 1] = 'y';
    path[HOS_PATH_MAX] = 0;                                 /* 256 bytes: too long */
    assert_int_equal(fs_mkdir(NULL, path, 0755), -HOS_ENAMETOOLONG);
    path[HOS_PATH_MAX + 7] = 'z';                           /* no NUL in reach at all */
    assert_int_equal(fs_stat(NULL, path, &st), -HOS_ENAMETOOLONG);
}

/* ---- regular files ------------------------------------------------------------------ */

static void test_file_read_write_seek(void **state)
{
    (void)state;
    struct file *f;
    char buf[64];
    assert_int_equal(fs_open(NULL, "/f", HOS_O_RDWR, 0, &f), -HOS_ENOENT);
    f = xopen("/f", HOS_O_CREAT | HOS_O_RDWR);
    assert_int_equal(file_write(f, "hello", 5), 5);
    assert_int_equal(file_read(f, buf, sizeof(buf)), 0);    /* at the end */
    assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), 0);
    assert_int_equal(file_read(f, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(file_lseek(f, -2, HOS_SEEK_END), 3);
    assert_int_equal(file_read(f, buf, 1), 1);
    assert_int_equal(buf[0], 'l');
    assert_int_equal(file_lseek(f, 1, HOS_SEEK_CUR), 5);
    assert_int_equal(file_lseek(f, -6, HOS_SEEK_CUR), -HOS_EINVAL);
    assert_int_equal(file_lseek(f, INT64_MAX, HOS_SEEK_END), -HOS_EINVAL);
    assert_int_equal(file_lseek(f, 0, 7), -HOS_EINVAL);
    struct hos_stat st;
    assert_int_equal(file_fstat(f, &st), 0);
    assert_int_equal(st.size, 5);
    assert_int_equal(st.mode, HOS_S_IFREG | 0644);
    assert_int_equal(st.nlink, 1);
    file_close(f);

    assert_int_equal(fs_open(NULL, "/f", HOS_O_CREAT | HOS_O_EXCL | HOS_O_RDWR, 0, &f),
                     -HOS_EEXIST);
    assert_int_equal(fs_open(NULL, "/f", HOS_O_ACCMODE, 0, &f), -HOS_EINVAL);
    f = xopen("/f", HOS_O_WRONLY | HOS_O_APPEND);
    assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), 0);
    assert_int_equal(file_write(f, "!!", 2), 2);            /* appends anyway */
    assert_int_equal(file_read(f, buf, 1), -HOS_EBADF);
    file_close(f);
    f = xopen("/f", HOS_O_RDONLY);
    assert_int_equal(file_read(f, buf, sizeof(buf)), 7);
    assert_memory_equal(buf, "hello!!", 7);
    assert_int_equal(file_write(f, "x", 1), -HOS_EBADF);
    assert_int_equal(file_readdir(f, &(struct hos_dirent){ 0 }), -HOS_ENOTDIR);
    file_close(f);
    f = xopen("/f", HOS_O_RDWR | HOS_O_TRUNC);
    assert_int_equal(file_fstat(f, &st), 0);
    assert_int_equal(st.size, 0);
    assert_int_equal(fs_file_pages(), 0);
    file_close(f);
    assert_int_equal(fs_open(NULL, "/newdir/", HOS_O_CREAT | HOS_O_RDWR, 0, &f),
                     -HOS_EISDIR);
}

static void test_sparse_file_reads_zeros(void **state)
{
    (void)state;
    struct file *f = xopen("/sparse", HOS_O_CREAT | HOS_O_RDWR);
    assert_int_equal(file_lseek(f, 10000, HOS_SEEK_SET), 10000);
    assert_int_equal(file_write(f, "x", 1), 1);
    assert_int_equal(fs_file_pages(), 2);                   /* one data page + the index */
    char buf[10001];
    assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), 0);
    assert_int_equal(file_read(f, buf, sizeof(buf)), 10001);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(buf[10000], 'x');
    file_close(f);
}

static unsigned char pattern_byte(uint64_t pos)
{
    return (unsigned char)((pos * 131) ^ (pos >> 12));
}

static void test_big_file_16mib(void **state)
{
    (void)state;
    const uint64_t size = 16 * 1024 * 1024 + 4096 + 100;
    static unsigned char chunk[65536];
    struct file *f = xopen("/kernel.img", HOS_O_CREAT | HOS_O_WRONLY);
    for (uint64_t pos = 0; pos < size;) {
        size_t n = size - pos < sizeof(chunk) ? size - pos : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern_byte(pos + i);
        assert_int_equal(file_write(f, chunk, n), n);
        pos += n;
    }
    file_close(f);
    uint64_t data_pages = (size + 4095) / 4096;
    uint64_t index_pages = (data_pages + FS_PAGE_PTRS - 1) / FS_PAGE_PTRS;
    assert_int_equal(fs_file_pages(), data_pages + index_pages);

    f = xopen("/kernel.img", HOS_O_RDONLY);
    uint64_t pos = 0;
    for (;;) {
        long r = file_read(f, chunk, 10007);                 /* odd size: crosses pages */
        assert_true(r >= 0);
        if (r == 0)
            break;
        for (long i = 0; i < r; i++)
            if (chunk[i] != pattern_byte(pos + (uint64_t)i))
                fail_msg("byte %lu differs", (unsigned long)(pos + (uint64_t)i));
        pos += (uint64_t)r;
    }
    assert_int_equal(pos, size);
    file_close(f);
    assert_int_equal(fs_unlink(NULL, "/kernel.img"), 0);
    assert_int_equal(fs_file_pages(), 0);
}

static void test_file_size_limit(void **state)
{
    (void)state;
    struct file *f = xopen("/huge", HOS_O_CREAT | HOS_O_RDWR);
    assert_int_equal(file_lseek(f, (int64_t)FS_FILE_MAX, HOS_SEEK_SET), (long)FS_FILE_MAX);
    assert_int_equal(file_write(f, "x", 1), -HOS_EFBIG);
    assert_int_equal(file_lseek(f, (int64_t)FS_FILE_MAX - 3, HOS_SEEK_SET),
                     (long)FS_FILE_MAX - 3);
    assert_int_equal(file_write(f, "abcdef", 6), 3);         /* what fits */
    struct hos_stat st;
    assert_int_equal(file_fstat(f, &st), 0);
    assert_int_equal(st.size, FS_FILE_MAX);
    file_close(f);
}

static void test_unlink_while_open(void **state)
{
    (void)state;
    struct file *f = xopen("/tmpfile", HOS_O_CREAT | HOS_O_RDWR);
    char data[9000];
    memset(data, 'q', sizeof(data));
    assert_int_equal(file_write(f, data, sizeof(data)), sizeof(data));
    struct file *g = file_dup(f);
    assert_ptr_equal(g, f);
    assert_int_equal(fs_unlink(NULL, "/tmpfile"), 0);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/tmpfile", &st), -HOS_ENOENT);
    assert_int_equal(file_fstat(f, &st), 0);
    assert_int_equal(st.nlink, 0);
    assert_int_equal(fs_file_pages(), 4);
    /* A new file of the same name is a different inode. */
    struct file *h = xopen("/tmpfile", HOS_O_CREAT | HOS_O_EXCL | HOS_O_RDWR);
    assert_int_equal(file_read(h, data, sizeof(data)), 0);
    file_close(h);
    /* The unlinked one still works through its description. */
    assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), 0);
    char back[9000];
    assert_int_equal(file_read(f, back, sizeof(back)), sizeof(back));
    assert_memory_equal(back, data, sizeof(back));
    assert_int_equal(file_write(f, "more", 4), 4);
    file_close(f);
    assert_true(fs_file_pages() > 0);                        /* g is still open */
    file_close(g);
    assert_int_equal(fs_file_pages(), 0);
}

static void test_unlink_rules(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir(NULL, "/d", 0755), 0);
    assert_int_equal(fs_mkdir(NULL, "/d/e", 0755), 0);
    file_close(xopen("/d/file", HOS_O_CREAT | HOS_O_WRONLY));
    assert_int_equal(fs_unlink(NULL, "/d"), -HOS_ENOTEMPTY);
    assert_int_equal(fs_unlink(NULL, "/"), -HOS_EBUSY);
    assert_int_equal(fs_unlink(NULL, "/.."), -HOS_EBUSY);
    assert_int_equal(fs_unlink(NULL, "/d/."), -HOS_EINVAL);
    assert_int_equal(fs_unlink(NULL, "/d/e/.."), -HOS_ENOTEMPTY);
    assert_int_equal(fs_unlink(NULL, "/d/missing"), -HOS_ENOENT);
    assert_int_equal(fs_unlink(NULL, "/d/file/"), -HOS_ENOTDIR);
    assert_int_equal(fs_unlink(NULL, "/d/e/"), 0);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/d/e", &st), -HOS_ENOENT);
    assert_int_equal(fs_stat(NULL, "/d", &st), 0);
    assert_int_equal(st.nlink, 2);
    assert_int_equal(fs_unlink(NULL, "/d/file"), 0);
    assert_int_equal(fs_unlink(NULL, "/d"), 0);
    assert_int_equal(fs_stat(NULL, "/", &st), 0);
    assert_int_equal(st.nlink, 2);
}

static void test_chdir_and_getcwd(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir(NULL, "/a", 0755), 0);
    assert_int_equal(fs_mkdir(NULL, "/a/bb", 0755), 0);
    assert_int_equal(fs_mkdir(NULL, "/a/bb/c", 0755), 0);
    file_close(xopen("/a/file", HOS_O_CREAT | HOS_O_WRONLY));
    struct inode *cwd, *next;
    assert_int_equal(fs_chdir(NULL, "/a/bb", &cwd), 0);
    char buf[64];
    assert_int_equal(fs_getcwd(cwd, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "/a/bb");
    assert_int_equal(fs_getcwd(cwd, buf, 5), -HOS_ERANGE);   /* no room for the NUL */
    assert_int_equal(fs_getcwd(cwd, buf, 6), 5);
    assert_int_equal(ino_of(cwd, "c"), ino_of(NULL, "/a/bb/c"));
    assert_int_equal(ino_of(cwd, "../file"), ino_of(NULL, "/a/file"));
    assert_int_equal(fs_chdir(cwd, "../file", &next), -HOS_ENOTDIR);
    assert_int_equal(fs_chdir(cwd, "nothing", &next), -HOS_ENOENT);
    assert_int_equal(fs_chdir(cwd, "..", &next), 0);
    inode_put(cwd);
    cwd = next;
    assert_int_equal(fs_getcwd(cwd, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "/a");
    /* Relative creation and a cwd that is removed under us. */
    assert_int_equal(fs_chdir(cwd, "bb/c", &next), 0);
    inode_put(cwd);
    cwd = next;
    assert_int_equal(fs_mkdir(cwd, "sub", 0755), 0);
    assert_int_equal(fs_unlink(cwd, "sub"), 0);
    assert_int_equal(fs_unlink(NULL, "/a/bb/c"), 0);
    assert_int_equal(fs_getcwd(cwd, buf, sizeof(buf)), -HOS_ENOENT);
    struct hos_stat st;
    assert_int_equal(fs_stat(cwd, ".", &st), 0);
    assert_int_equal(st.nlink, 1);
    assert_int_equal(fs_stat(cwd, "..", &st), -HOS_ENOENT);
    assert_int_equal(fs_mkdir(cwd, "x", 0755), -HOS_ENOENT);
    struct file *f;
    assert_int_equal(fs_open(cwd, "y", HOS_O_CREAT | HOS_O_RDWR, 0644, &f), -HOS_ENOENT);
    assert_int_equal(fs_open(cwd, ".", HOS_O_RDONLY, 0, &f), 0);
    struct hos_dirent d;
    assert_int_equal(file_readdir(f, &d), 1);
    assert_string_equal(d.name, ".");
    file_close(f);
    inode_put(cwd);                                          /* frees it */
}

static void test_readdir(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir(NULL, "/dir", 0755), 0);
    file_close(xopen("/dir/x", HOS_O_CREAT | HOS_O_WRONLY));
    file_close(xopen("/dir/yy", HOS_O_CREAT | HOS_O_WRONLY));
    assert_int_equal(fs_mkdir(NULL, "/dir/z", 0755), 0);
    struct file *f;
    assert_int_equal(fs_open(NULL, "/dir", HOS_O_WRONLY, 0, &f), -HOS_EISDIR);
    assert_int_equal(fs_open(NULL, "/dir", HOS_O_RDWR, 0, &f), -HOS_EISDIR);
    assert_int_equal(fs_open(NULL, "/dir", HOS_O_RDONLY | HOS_O_TRUNC, 0, &f), -HOS_EISDIR);
    assert_int_equal(fs_open(NULL, "/dir/x", HOS_O_RDONLY | HOS_O_DIRECTORY, 0, &f),
                     -HOS_ENOTDIR);
    assert_int_equal(fs_open(NULL, "/dir/new", HOS_O_CREAT | HOS_O_DIRECTORY, 0, &f),
                     -HOS_EINVAL);
    f = xopen("/dir", HOS_O_RDONLY | HOS_O_DIRECTORY);
    char buf[8];
    assert_int_equal(file_read(f, buf, sizeof(buf)), -HOS_EISDIR);
    assert_int_equal(file_write(f, buf, 1), -HOS_EBADF);
    const char *names[] = { ".", "..", "x", "yy", "z" };
    uint32_t modes[] = { HOS_S_IFDIR, HOS_S_IFDIR, HOS_S_IFREG, HOS_S_IFREG, HOS_S_IFDIR };
    struct hos_dirent d;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5; i++) {
            assert_int_equal(file_readdir(f, &d), 1);
            assert_string_equal(d.name, names[i]);
            assert_int_equal(d.name_len, strlen(names[i]));
            assert_int_equal(d.mode, modes[i]);
        }
        assert_int_equal(file_readdir(f, &d), 0);
        assert_int_equal(file_readdir(f, &d), 0);
        assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), 0);  /* rewind */
    }
    assert_int_equal(file_readdir(f, &d), 1);
    assert_int_equal(d.ino, ino_of(NULL, "/dir"));
    assert_int_equal(file_readdir(f, &d), 1);
    assert_int_equal(d.ino, ino_of(NULL, "/"));
    file_close(f);
}

static void test_console_device(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir(NULL, "/dev", 0755), 0);
    assert_int_equal(fs_mknod(NULL, "/dev/console", 0620, FS_DEV_CONSOLE), 0);
    assert_int_equal(fs_mknod(NULL, "/dev/other", 0620, 77), 0);
    assert_int_equal(fs_mknod(NULL, "/dev/console", 0620, FS_DEV_CONSOLE), -HOS_EEXIST);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/dev/console", &st), 0);
    assert_int_equal(st.mode, HOS_S_IFCHR | 0620);
    struct file *f = xopen("/dev/console", HOS_O_WRONLY);
    assert_ptr_equal(f->ops, &tty_file_ops);
    stub_out_clear();
    assert_int_equal(file_write(f, "hi\n", 3), 3);
    assert_string_equal(stub_out, "hi\n");
    assert_int_equal(file_lseek(f, 0, HOS_SEEK_SET), -HOS_ESPIPE);
    assert_int_equal(file_fstat(f, &st), 0);
    assert_int_equal(st.mode & HOS_S_IFMT, HOS_S_IFCHR);
    char c;
    assert_int_equal(file_read(f, &c, 1), -HOS_EBADF);
    file_close(f);
    assert_int_equal(fs_open(NULL, "/dev/other", HOS_O_RDWR, 0, &f), -HOS_EIO);
}

/* ---- out of memory ------------------------------------------------------------------ */

/* One run of a scenario that allocates in many places, with pfn_alloc failing after
 * `budget` pages: every step either works or fails cleanly. 1 if all steps worked. */
static int scenario(long budget)
{
    static char data[3 * 4096 + 10];
    memset(data, 'd', sizeof(data));
    int all_ok = 1;
    struct file *f = NULL, *rd = NULL, *wr = NULL;
    long r;
    stub_fail_after(budget);
#define STEP(expr) do { r = (expr); if (r < 0) { all_ok = 0; \
        assert_true(r == -HOS_ENOMEM || r == -HOS_ENOENT); } } while (0)
    STEP(fs_mkdir(NULL, "/m", 0755));
    STEP(fs_mkdir(NULL, "/m/n", 0755));
    STEP(fs_mknod(NULL, "/m/tty", 0600, FS_DEV_CONSOLE));
    STEP(fs_open(NULL, "/m/n/f", HOS_O_CREAT | HOS_O_RDWR, 0644, &f));
    if (r == 0) {
        STEP(file_write(f, data, sizeof(data)));
        if (r >= 0 && r != (long)sizeof(data))
            all_ok = 0;                                      /* short write */
    } else {
        f = NULL;
    }
    STEP(pipe_open(&rd, &wr));
    if (r < 0)
        rd = wr = NULL;
    for (int i = 0; i < 40; i++) {                           /* many slab objects */
        char name[32];
        snprintf(name, sizeof(name), "/m/file%d", i);
        struct file *g;
        STEP(fs_open(NULL, name, HOS_O_CREAT | HOS_O_WRONLY, 0644, &g));
        if (r == 0)
            file_close(g);
    }
    struct inode *cwd;
    STEP(fs_chdir(NULL, "/m/n", &cwd));
    if (r == 0)
        inode_put(cwd);
#undef STEP
    stub_fail_after(-1);
    file_close(f);
    file_close(rd);
    file_close(wr);
    return all_ok;
}

static void test_out_of_memory_never_leaks(void **state)
{
    (void)state;
    long budget;
    for (budget = 0; budget < 1000; budget++) {
        int done = scenario(budget);
        stub_fs_clean_check();
        if (done)
            break;
    }
    assert_true(budget > 3 && budget < 1000);                 /* it did reach the end */
    print_message("scenario completes with %ld pages; smaller budgets failed cleanly\n",
                  budget);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_kmalloc_sizes_alignment_and_zeroing),
        T(test_kmalloc_out_of_memory),
        T(test_root_and_dots),
        T(test_mkdir_lookup_errors),
        T(test_name_and_path_limits),
        T(test_file_read_write_seek),
        T(test_sparse_file_reads_zeros),
        T(test_big_file_16mib),
        T(test_file_size_limit),
        T(test_unlink_while_open),
        T(test_unlink_rules),
        T(test_chdir_and_getcwd),
        T(test_readdir),
        T(test_console_device),
        T(test_out_of_memory_never_leaks),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
