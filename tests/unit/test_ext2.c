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
static int fail_reads, fail_writes;     /* the device's injected faults: -HOS_EIO */

/* rw for the file-backed device. */
static long file_rw(struct blkdev *d, int write, uint64_t sector, uint32_t count, void *buf)
{
    if (sector + count > d->sectors)
        return -HOS_EINVAL;
    if (write ? fail_writes : fail_reads)
        return -HOS_EIO;
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
    if (fail_writes)
        return -HOS_EIO;
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

/* Write n bytes to path (created / truncated): 0, or the first error. */
static long try_put(const char *path, const void *buf, size_t n)
{
    struct file *f;
    long r = fs_open(NULL, path, HOS_O_WRONLY | HOS_O_CREAT | HOS_O_TRUNC, 0644, &f);
    if (r < 0)
        return r;
    size_t done = 0;
    while (done < n && (r = file_write(f, (const char *)buf + done, n - done)) > 0)
        done += (size_t)r;
    file_close(f);
    return r < 0 ? r : 0;
}

/* Sync, then require e2fsck -fn to find the image clean while it stays mounted. */
static void sync_and_check(void)
{
    assert_int_equal(fs_sync(), 0);
    assert_int_equal(run("/usr/sbin/e2fsck -fn %s >/tmp/hako-e2fsck.log 2>&1"), 0);
}

/* The superblock's free block and inode counts as on the image now. */
static void image_free_counts(uint32_t *blocks, uint32_t *inodes)
{
    uint32_t v[2];
    fflush(img);
    assert_int_equal(fseek(img, 1024 + 12, SEEK_SET), 0);
    assert_int_equal(fread(v, 4, 2, img), 2);
    *blocks = v[0];
    *inodes = v[1];
}

/* Sync, then require the image's free counts to be blocks and inodes. */
static void sync_and_expect_free(uint32_t blocks, uint32_t inodes)
{
    uint32_t b, i;
    assert_int_equal(fs_sync(), 0);
    image_free_counts(&b, &i);
    assert_int_equal(b, blocks);
    assert_int_equal(i, inodes);
}

/* Overwrite n bytes at byte off of the image. */
static void image_poke(uint64_t off, const void *buf, size_t n)
{
    assert_int_equal(fseek(img, (long)off, SEEK_SET), 0);
    assert_int_equal(fwrite(buf, 1, n, img), n);
    fflush(img);
}

/* The number debugfs prints after "tag" in the stat of path (e.g. "(IND):"), or 0. */
static uint32_t debugfs_stat_number(const char *path, const char *tag)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/sbin/debugfs -R 'stat %s' %s 2>/dev/null | "
             "grep -o '%s[0-9]*' | head -1 | tr -dc 0-9 >/tmp/hako-num.txt", path, IMG, tag);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen("/tmp/hako-num.txt", "r");
    unsigned long v = 0;
    if (f && fscanf(f, "%lu", &v) != 1)
        v = 0;
    if (f)
        fclose(f);
    return (uint32_t)v;
}

/* Close the image after an umount (or a failed mount) and drop the mount point. */
static void image_done(void)
{
    if (img)
        fclose(img);
    img = NULL;
    fs_unlink(NULL, "/disk");
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

/* Pattern byte i of file seed. */
static char pattern(size_t i, unsigned seed)
{
    return (char)(i * seed + i / 4096 + seed);
}

static void test_block_sizes_and_rev0(void **state)
{
    (void)state;
    static const struct { const char *opts; uint32_t bs; } cfgs[] = {
        { "-b 2048", 2048 }, { "-b 4096", 4096 }, { "-b 4096 -I 128", 4096 },
        { "-r 0 -b 1024", 1024 }, { "-r 0 -b 4096", 4096 },
    };
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        uint32_t bs = cfgs[c].bs, p = bs / 4;
        size_t size = (size_t)(12 + p + 3) * bs + 100;      /* into double-indirect */
        char *big = malloc(size), *back = malloc(size);
        for (size_t i = 0; i < size; i++)
            big[i] = pattern(i, (unsigned)c + 3);
        stub_usage_mark();
        make_image(cfgs[c].opts, "16M");
        assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
        assert_int_equal(fs_mkdir(NULL, "/disk/d", 0755), 0);
        put_file("/disk/big", big, size, 0);
        char name[64];
        for (int i = 0; i < 300; i++) {             /* the directory grows past a block */
            snprintf(name, sizeof name, "/disk/d/entry-with-a-long-name-%03d", i);
            put_file(name, name, strlen(name), 0);
        }
        for (int i = 0; i < 300; i += 2) {
            snprintf(name, sizeof name, "/disk/d/entry-with-a-long-name-%03d", i);
            assert_int_equal(fs_unlink(NULL, name), 0);
        }
        assert_int_equal(get_file("/disk/big", back, size), (long)size);
        assert_memory_equal(big, back, size);
        struct hos_stat st;
        assert_int_equal(fs_stat(NULL, "/disk/d", &st), 0);
        assert_true(st.size >= 2 * bs && st.size % bs == 0);   /* a directory's blocks */
        char small[64];
        assert_int_equal(get_file("/disk/d/entry-with-a-long-name-299", small, sizeof small),
                         (long)strlen("/disk/d/entry-with-a-long-name-299"));
        assert_int_equal(get_file("/disk/d/entry-with-a-long-name-298", small, 1),
                         -HOS_ENOENT);
        umount_and_check();
        image_done();
        stub_usage_check();
        FILE *h = fopen("/tmp/hako-big.bin", "wb");
        assert_int_equal(fwrite(big, 1, size, h), size);
        fclose(h);
        assert_int_equal(run("/usr/sbin/debugfs -R 'dump /big /tmp/hako-big.out' %s "
                             ">/dev/null 2>&1 && cmp -s /tmp/hako-big.bin /tmp/hako-big.out"), 0);
        assert_int_equal(run("test $(/usr/sbin/debugfs -R 'ls -p /d' %s 2>/dev/null | "
                             "grep -v '^/0/' | grep -c entry-with) -eq 150"), 0);
        free(big);
        free(back);
    }
}

static void test_unlink_while_open(void **state)
{
    (void)state;
    make_image("-b 1024", "8M");
    uint32_t blocks0, inodes0, blocks1, inodes1;
    image_free_counts(&blocks0, &inodes0);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    static char data[100 * 1024], back[100 * 1024];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = pattern(i, 5);
    put_file("/disk/f", data, sizeof data, 0);
    struct file *f;
    assert_int_equal(fs_open(NULL, "/disk/f", HOS_O_RDWR, 0, &f), 0);
    assert_int_equal(fs_unlink(NULL, "/disk/f"), 0);
    assert_int_equal(get_file("/disk/f", back, 1), -HOS_ENOENT);
    assert_int_equal(file_write(f, "tail", 4), 4);      /* still writable (at offset 0) */
    size_t done = 0;
    long r;
    while ((r = file_read(f, back + done, sizeof back - done)) > 0)
        done += (size_t)r;
    assert_int_equal(done, sizeof data - 4);
    assert_memory_equal(back, data + 4, done);
    assert_int_equal(fs_umount("/disk"), -HOS_EBUSY);   /* the open file holds it */
    put_file("/disk/f", "new", 3, 0);                   /* the name is free again */
    assert_int_equal(fs_unlink(NULL, "/disk/f"), 0);
    file_close(f);                                      /* now its blocks go */
    sync_and_expect_free(blocks0, inodes0);
    /* freeing at the last close fails (its indirect block cannot be read): the inode
     * stays an orphan, and a later sync frees it */
    put_file("/disk/g", data, sizeof data, 0);
    assert_int_equal(fs_umount("/disk"), 0);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    assert_int_equal(fs_open(NULL, "/disk/g", HOS_O_RDONLY, 0, &f), 0);
    assert_int_equal(fs_unlink(NULL, "/disk/g"), 0);
    fail_reads = 1;
    file_close(f);
    assert_int_equal(fs_sync(), 0);
    image_free_counts(&blocks1, &inodes1);
    assert_true(blocks1 < blocks0 && inodes1 < inodes0);
    fail_reads = 0;
    sync_and_expect_free(blocks0, inodes0);
    umount_and_check();
    image_done();
}

static void test_enospc_leaves_fs_consistent(void **state)
{
    (void)state;
    make_image("-b 1024 -N 16 -m 0", "1M");
    uint32_t blocks0, inodes0;
    image_free_counts(&blocks0, &inodes0);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    static char data[64 * 1024];
    memset(data, 0x5a, sizeof data);
    struct file *f;
    assert_int_equal(fs_open(NULL, "/disk/fill", HOS_O_WRONLY | HOS_O_CREAT, 0644, &f), 0);
    long r;
    uint64_t written = 0;
    while ((r = file_write(f, data, sizeof data)) > 0)
        written += (uint64_t)r;
    assert_int_equal(r, -HOS_ENOSPC);
    file_close(f);
    assert_true(written > 512 * 1024);
    struct hos_stat st;
    assert_int_equal(fs_stat(NULL, "/disk/fill", &st), 0);
    assert_int_equal(st.size, written);
    sync_and_check();
    assert_int_equal(fs_mkdir(NULL, "/disk/dir", 0755), -HOS_ENOSPC);   /* no block */
    sync_and_check();
    char name[32];
    int files = 0;
    for (;; files++) {                      /* empty files need inodes only */
        snprintf(name, sizeof name, "/disk/e%d", files);
        if ((r = fs_open(NULL, name, HOS_O_WRONLY | HOS_O_CREAT, 0644, &f)) < 0)
            break;
        file_close(f);
    }
    assert_int_equal(r, -HOS_ENOSPC);
    assert_true(files >= 1);
    sync_and_check();
    assert_int_equal(fs_unlink(NULL, "/disk/fill"), 0);
    for (int i = 0; i < files; i++) {
        snprintf(name, sizeof name, "/disk/e%d", i);
        assert_int_equal(fs_unlink(NULL, name), 0);
    }
    sync_and_expect_free(blocks0, inodes0);
    assert_int_equal(fs_mkdir(NULL, "/disk/dir", 0755), 0);
    umount_and_check();
    image_done();
}

static void test_eio_during_reads_and_writes(void **state)
{
    (void)state;
    make_image("-b 1024", "8M");
    stub_usage_mark();
    fail_reads = 1;
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), -HOS_EIO);
    fail_reads = 0;
    fs_unlink(NULL, "/disk");
    stub_usage_check();
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    put_file("/disk/old", "old", 3, 0);
    assert_int_equal(fs_umount("/disk"), 0);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    char buf[8];
    fail_reads = 1;                          /* the root directory's block is not cached */
    assert_int_equal(get_file("/disk/old", buf, sizeof buf), -HOS_EIO);
    fail_reads = 0;
    assert_int_equal(get_file("/disk/old", buf, sizeof buf), 3);
    static char data[600 * 1024], back[600 * 1024];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = pattern(i, 11);
    fail_writes = 1;                         /* more than the cache holds: write-backs fail */
    struct file *f;
    assert_int_equal(fs_open(NULL, "/disk/f", HOS_O_WRONLY | HOS_O_CREAT, 0644, &f), 0);
    long r;
    size_t done = 0;
    while (done < sizeof data && (r = file_write(f, data + done, sizeof data - done)) > 0)
        done += (size_t)r;
    assert_int_equal(r, -HOS_EIO);
    assert_true(done < sizeof data);
    file_close(f);
    assert_int_equal(fs_sync(), -HOS_EIO);
    assert_int_equal(fs_umount("/disk"), -HOS_EIO);  /* unmounted; what it could not write is lost */
    fail_writes = 0;
    fs_unlink(NULL, "/disk");
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);   /* the disk as before: old only */
    assert_int_equal(get_file("/disk/old", buf, sizeof buf), 3);
    assert_int_equal(get_file("/disk/f", buf, 1), -HOS_ENOENT);
    /* a failed sync keeps the buffers dirty: the next one writes them */
    assert_int_equal(fs_mkdir(NULL, "/disk/d", 0755), 0);
    put_file("/disk/d/f", data, 200 * 1024, 0);
    fail_writes = 1;
    assert_int_equal(fs_sync(), -HOS_EIO);
    fail_writes = 0;
    sync_and_check();
    assert_int_equal(get_file("/disk/d/f", back, sizeof back), 200 * 1024);
    assert_memory_equal(back, data, 200 * 1024);
    umount_and_check();
    image_done();
}

static void test_corrupt_metadata_gives_eio(void **state)
{
    (void)state;
    make_image("-b 1024", "8M");
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    static char data[20 * 1024];
    memset(data, 'f', sizeof data);
    put_file("/disk/f", data, sizeof data, 0);          /* has an indirect block */
    put_file("/disk/g", "g", 1, 0);
    put_file("/disk/h", "h", 1, 0);
    assert_int_equal(fs_mkdir(NULL, "/disk/d", 0755), 0);
    put_file("/disk/d/x", "x", 1, 0);
    assert_int_equal(fs_mkdir(NULL, "/disk/e", 0755), 0);
    assert_int_equal(fs_mkdir(NULL, "/disk/k", 0755), 0);
    put_file("/disk/k/y", "y", 1, 0);
    umount_and_check();
    fs_unlink(NULL, "/disk");
    uint32_t ind = debugfs_stat_number("/f", "(IND):");
    uint32_t dblk = debugfs_stat_number("/d", "(0):");
    uint32_t kblk = debugfs_stat_number("/k", "(0):");
    assert_true(ind > 1 && dblk > 1 && kblk > 1);
    assert_int_equal(run("/usr/sbin/debugfs -w -R 'sif /g block[0] 99999999' %s >/dev/null 2>&1"), 0);
    assert_int_equal(run("/usr/sbin/debugfs -w -R 'sif /h mode 0' %s >/dev/null 2>&1"), 0);
    assert_int_equal(run("/usr/sbin/debugfs -w -R 'sif /e size 1000' %s >/dev/null 2>&1"), 0);
    img = fopen(IMG, "r+b");
    assert_non_null(img);
    static uint8_t ones[1024];
    memset(ones, 0xff, sizeof ones);
    image_poke((uint64_t)ind * 1024, ones, sizeof ones);    /* block numbers past the end */
    uint16_t rec_len = 3;                                   /* "." too short */
    image_poke((uint64_t)dblk * 1024 + 4, &rec_len, 2);
    uint32_t bad_ino = 0x7fffffff;                          /* y's inode out of range */
    image_poke((uint64_t)kblk * 1024 + 24, &bad_ino, 4);

    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    char buf[32];
    static char back[20 * 1024];
    assert_int_equal(get_file("/disk/f", back, sizeof back), -HOS_EIO);
    struct file *f;
    assert_int_equal(fs_open(NULL, "/disk/f", HOS_O_WRONLY | HOS_O_APPEND, 0, &f), 0);
    assert_int_equal(file_write(f, "more", 4), -HOS_EIO);
    file_close(f);
    assert_int_equal(get_file("/disk/g", buf, sizeof buf), -HOS_EIO);
    assert_int_equal(get_file("/disk/h", buf, sizeof buf), -HOS_EIO);
    assert_int_equal(get_file("/disk/d/x", buf, sizeof buf), -HOS_EIO);
    assert_int_equal(fs_open(NULL, "/disk/d/new", HOS_O_WRONLY | HOS_O_CREAT, 0644, &f),
                     -HOS_EIO);
    assert_int_equal(fs_unlink(NULL, "/disk/d/x"), -HOS_EIO);
    assert_int_equal(fs_open(NULL, "/disk/e/new", HOS_O_WRONLY | HOS_O_CREAT, 0644, &f),
                     -HOS_EIO);
    assert_int_equal(get_file("/disk/k/y", buf, sizeof buf), -HOS_EIO);
    put_file("/disk/ok", "fine", 4, 0);                     /* the rest still works */
    assert_int_equal(get_file("/disk/ok", buf, sizeof buf), 4);
    uint32_t blocks0, inodes0, blocks1, inodes1;
    assert_int_equal(fs_sync(), 0);
    image_free_counts(&blocks0, &inodes0);
    assert_int_equal(fs_unlink(NULL, "/disk/f"), 0);        /* bad numbers are dropped: */
    assert_int_equal(fs_unlink(NULL, "/disk/g"), 0);        /* orphans until a sync */
    assert_int_equal(fs_sync(), 0);
    image_free_counts(&blocks1, &inodes1);
    assert_int_equal(inodes1, inodes0 + 2);
    assert_true(blocks1 > blocks0);
    assert_int_equal(fs_umount("/disk"), 0);
    fs_unlink(NULL, "/disk");

    /* geometry the mount refuses: a group's inode table past the end, a short device */
    uint32_t table = 0x00ffffff, saved;
    assert_int_equal(fseek(img, 2048 + 8, SEEK_SET), 0);
    assert_int_equal(fread(&saved, 4, 1, img), 1);
    image_poke(2048 + 8, &table, 4);
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), -HOS_EINVAL);
    image_poke(2048 + 8, &saved, 4);
    uint64_t sectors = disk.sectors;
    disk.sectors /= 2;
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), -HOS_EINVAL);
    disk.sectors = sectors;
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    assert_int_equal(fs_umount("/disk"), 0);
    image_done();
}

static void test_enomem_leaves_fs_consistent(void **state)
{
    (void)state;
    make_image("-b 4096", "16M");
    static char data[60 * 1024];
    memset(data, 'm', sizeof data);
    stub_usage_mark();
    assert_int_equal(fs_mount_ext2(&disk, "/disk"), 0);
    int clean_runs = 0, refusals = 0;
    char dir[32], file[48], prev_dir[32] = "", prev_file[48] = "";
    for (long n = 0; n < 400 && clean_runs < 3; n++) {
        snprintf(dir, sizeof dir, "/disk/d%ld", n);
        snprintf(file, sizeof file, "%s/f", dir);
        stub_fail_after(n);
        long r1 = fs_mkdir(NULL, dir, 0755);
        long r2 = r1 == 0 ? try_put(file, data, sizeof data) : 0;
        long r3 = prev_dir[0] ? fs_unlink(NULL, prev_file) : 0;
        long r4 = prev_dir[0] && r3 == 0 ? fs_unlink(NULL, prev_dir) : 0;
        stub_fail_after(-1);
        assert_true(r1 == 0 || r1 == -HOS_ENOMEM);
        assert_true(r2 == 0 || r2 == -HOS_ENOMEM);
        assert_true(r3 == 0 || r3 == -HOS_ENOMEM || r3 == -HOS_ENOENT);
        assert_true(r4 == 0 || r4 == -HOS_ENOMEM || r4 == -HOS_ENOENT);
        sync_and_check();
        if (r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0)
            clean_runs++;
        else
            refusals++;
        if (prev_dir[0] && (r3 < 0 || r4 < 0)) {          /* clean up what is left */
            fs_unlink(NULL, prev_file);
            fs_unlink(NULL, prev_dir);
        }
        strcpy(prev_dir, r1 == 0 ? dir : "");
        strcpy(prev_file, file);
        sync_and_check();
    }
    assert_int_equal(clean_runs, 3);
    assert_true(refusals >= 5);                         /* ENOMEM came at several places */
    umount_and_check();
    image_done();
    stub_usage_check();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_write_read_and_fsck_clean),
        cmocka_unit_test(test_debugfs_files_read_back),
        cmocka_unit_test(test_bad_magic_refused),
        cmocka_unit_test(test_bcache_eviction_writes_back),
        cmocka_unit_test(test_block_sizes_and_rev0),
        cmocka_unit_test(test_unlink_while_open),
        cmocka_unit_test(test_enospc_leaves_fs_consistent),
        cmocka_unit_test(test_eio_during_reads_and_writes),
        cmocka_unit_test(test_corrupt_metadata_gives_eio),
        cmocka_unit_test(test_enomem_leaves_fs_consistent),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
