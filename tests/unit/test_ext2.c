/*
 * tests/unit/test_ext2.c: host cmocka tests for the buffer cache (bcache.c) and ext2
 * (ext2_*.c) through the file layer: images made by mke2fs at test time, a file-backed
 * struct blkdev, e2fsck -fn and debugfs to check what the driver wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bcache.h"
#include "fs.h"
#include "guest_stubs.h"

#define IMG "/tmp/hako-test-ext2.img"

static FILE *img;

/* rw for the file-backed device. */
static long file_rw(struct blkdev *d, int write, uint64_t sector, uint32_t count, void *buf)
{
    if (sector + count > d->sectors)
        return -HOS_EINVAL;
    size_t n = (size_t)count * 512;
    if (fseek(img, (long)(sector * 512), SEEK_SET))
        return -HOS_EIO;
    size_t done = write ? fwrite(buf, 1, n, img) : fread(buf, 1, n, img);
    return done == n ? 0 : -HOS_EIO;
}

/* flush for the file-backed device. */
static long file_flush(struct blkdev *d)
{
    (void)d;
    return fflush(img) == 0 ? 0 : -HOS_EIO;
}

static struct blkdev disk = { .name = "img", .rw = file_rw, .flush = file_flush };

/* Make a fresh image with mke2fs options opts and size, and open it as disk. */
static void make_image(const char *opts, const char *size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -f %s; /usr/sbin/mke2fs -q -F -t ext2 %s %s %s >/dev/null 2>&1",
             IMG, opts, IMG, size);
    assert_int_equal(system(cmd), 0);
    img = fopen(IMG, "r+b");
    assert_non_null(img);
    fseek(img, 0, SEEK_END);
    disk.sectors = (uint64_t)ftell(img) / 512;
}

/* Run a shell command on the image (%s = its path): its exit status. */
static int run(const char *fmt)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, IMG);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Write n bytes to path (created / truncated), or fail. */
static void put_file(const char *path, const void *buf, size_t n, int flags)
{
    struct file *f;
    assert_int_equal(fs_open(NULL, path, HOS_O_WRONLY | HOS_O_CREAT | flags, 0644, &f), 0);
    assert_int_equal(file_write(f, buf, n), (long)n);
    file_close(f);
}

/* Read up to n bytes of path: bytes read. */
static long get_file(const char *path, void *buf, size_t n)
{
    struct file *f;
    long r = fs_open(NULL, path, HOS_O_RDONLY, 0, &f);
    if (r < 0)
        return r;
    size_t done = 0;
    while (done < n && (r = file_read(f, (char *)buf + done, n - done)) > 0)
        done += (size_t)r;
    file_close(f);
    return r < 0 ? r : (long)done;
}

/* Unmount /disk, close the image and require e2fsck -fn to find it clean. */
static void umount_and_check(void)
{
    assert_int_equal(fs_umount("/disk"), 0);
    fclose(img);
    img = NULL;
    assert_int_equal(run("/usr/sbin/e2fsck -fn %s >/tmp/hako-e2fsck.log 2>&1"), 0);
}

static int group_setup(void **state)
{
    (void)state;
    fs_init();
    return fs_root() ? 0 : -1;
}

static void test_create_write_read_and_fsck_clean(void **state)
{
    (void)state;
    make_image("-b 1024", "8M");
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    assert_int_equal(fs_mkdir(NULL, "/disk/dir", 0755), 0);
    put_file("/disk/dir/hello", "hello\n", 6, 0);
    put_file("/disk/dir/hello", "again\n", 6, HOS_O_APPEND);
    char buf[64];
    assert_int_equal(get_file("/disk/dir/hello", buf, sizeof buf), 12);
    assert_memory_equal(buf, "hello\nagain\n", 12);
    put_file("/disk/gone", "x", 1, 0);
    assert_int_equal(fs_unlink(NULL, "/disk/gone"), 0);
    assert_int_equal(get_file("/disk/gone", buf, 1), -HOS_ENOENT);
    assert_int_equal(fs_mkdir(NULL, "/disk/empty", 0755), 0);
    assert_int_equal(fs_unlink(NULL, "/disk/dir"), -HOS_ENOTEMPTY);
    assert_int_equal(fs_unlink(NULL, "/disk/empty"), 0);
    /* a file needing double-indirect blocks with 1 KiB blocks: > 268 KiB */
    static char big[600 * 1024], back[600 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 1024);
    put_file("/disk/big", big, sizeof big, 0);
    assert_int_equal(get_file("/disk/big", back, sizeof back), (long)sizeof back);
    assert_memory_equal(big, back, sizeof big);
    put_file("/disk/big", "short", 5, HOS_O_TRUNC);
    assert_int_equal(get_file("/disk/big", back, sizeof back), 5);
    /* paths across the mount point */
    struct inode *cwd, *up;
    char path[HOS_PATH_MAX];
    assert_int_equal(fs_chdir(NULL, "/disk/dir", &cwd), 0);
    assert_int_equal(fs_getcwd(cwd, path, sizeof path), 9);
    assert_string_equal(path, "/disk/dir");
    assert_int_equal(fs_chdir(cwd, "../..", &up), 0);
    assert_ptr_equal(up, fs_root());
    inode_put(up);
    inode_put(cwd);
    assert_int_equal(fs_sync(), 0);
    umount_and_check();
    assert_int_equal(run("/usr/sbin/debugfs -R 'cat /dir/hello' %s 2>/dev/null | "
                         "grep -qx again"), 0);
    assert_int_equal(fs_unlink(NULL, "/disk"), 0);
}

static void test_debugfs_files_read_back(void **state)
{
    (void)state;
    make_image("-b 1024", "8M");
    FILE *h = fopen("/tmp/hako-host.bin", "wb");
    for (int i = 0; i < 400 * 1024; i++)
        fputc((i * 13) & 0xff, h);
    fclose(h);
    fclose(img);
    assert_int_equal(run("/usr/sbin/debugfs -w -R 'write /tmp/hako-host.bin host' %s "
                         ">/dev/null 2>&1"), 0);
    img = fopen(IMG, "r+b");
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    static char back[400 * 1024];
    assert_int_equal(get_file("/disk/host", back, sizeof back), (long)sizeof back);
    for (int i = 0; i < 400 * 1024; i++)
        assert_int_equal((unsigned char)back[i], (i * 13) & 0xff);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/disk/host", &st), 0);
    assert_int_equal(st.size, 400 * 1024);
    umount_and_check();
    assert_int_equal(fs_unlink(NULL, "/disk"), 0);
}

static void test_bad_magic_refused(void **state)
{
    (void)state;
    make_image("-b 1024", "4M");
    uint16_t bad = 0x1234;
    fseek(img, 1024 + 56, SEEK_SET);
    fwrite(&bad, 2, 1, img);
    fflush(img);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), -HOS_EINVAL);
    uint32_t log = 9;                       /* absurd block size */
    bad = 0xEF53;
    fseek(img, 1024 + 56, SEEK_SET);
    fwrite(&bad, 2, 1, img);
    fseek(img, 1024 + 24, SEEK_SET);
    fwrite(&log, 4, 1, img);
    fflush(img);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), -HOS_EINVAL);
    fclose(img);
    img = NULL;
    fs_unlink(NULL, "/disk");
}

static void test_bcache_eviction_writes_back(void **state)
{
    (void)state;
    make_image("-b 1024", "4M");
    struct bcache *c = bcache_create(&disk, 1024, 4);
    assert_non_null(c);
    for (uint64_t blk = 100; blk < 110; blk++) {
        struct buf *b;
        assert_int_equal(bcache_zero(c, blk, &b), 0);
        memset(b->data, (int)blk, 1024);
        bcache_release(c, b);
    }
    assert_true(bcache_count(c) <= 4);
    assert_true(bcache_evict_writes(c) >= 6);
    struct buf *b;
    assert_int_equal(bcache_read(c, 100, &b), 0);
    assert_int_equal(b->data[5], 100);
    bcache_release(c, b);
    assert_int_equal(bcache_read(c, disk.sectors, &b), -HOS_EINVAL);
    bcache_destroy(c);
    fclose(img);
    img = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_write_read_and_fsck_clean),
        cmocka_unit_test(test_debugfs_files_read_back),
        cmocka_unit_test(test_bad_magic_refused),
        cmocka_unit_test(test_bcache_eviction_writes_back),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
