/*
 * guest-pv/drivers/diskdev.c: /dev/xvda, this kernel's disk (blkdev_disk()) as a file:
 * reads and writes of whole sectors at sector-aligned offsets, straight through the
 * block driver (no cache), for tools and benchmarks that want the raw device.
 */
#include "blkdev.h"
#include "fs.h"
#include "klib.h"

#define CHUNK_SECTORS 64u               /* 32 KiB per call into the driver */

/* The disk, and whether [off, off + n) is a sector-aligned range on it. */
static struct blkdev *disk_range(const struct file *f, size_t n, uint64_t *sectors)
{
    struct blkdev *d = blkdev_disk();
    if (!d || f->offset % BLKDEV_SECTOR_SIZE || n % BLKDEV_SECTOR_SIZE)
        return NULL;
    uint64_t first = f->offset / BLKDEV_SECTOR_SIZE;
    uint64_t want = n / BLKDEV_SECTOR_SIZE;
    *sectors = first >= d->sectors ? 0 : (want < d->sectors - first ? want : d->sectors - first);
    return d;
}

/* read/write: bytes moved (0 at the end of the disk), -HOS_EINVAL when unaligned,
 * -HOS_EIO when the driver failed. */
static long disk_rw(struct file *f, void *buf, size_t n, int write)
{
    uint64_t sectors;
    struct blkdev *d = disk_range(f, n, &sectors);
    if (!d)
        return blkdev_disk() ? -HOS_EINVAL : -HOS_EIO;
    uint8_t *p = buf;
    for (uint64_t done = 0; done < sectors;) {
        uint32_t k = sectors - done < CHUNK_SECTORS ? (uint32_t)(sectors - done) : CHUNK_SECTORS;
        long rc = d->rw(d, write, f->offset / BLKDEV_SECTOR_SIZE, k, p);
        if (rc)
            return done ? (long)(done * BLKDEV_SECTOR_SIZE) : rc;
        f->offset += (uint64_t)k * BLKDEV_SECTOR_SIZE;
        p += (uint64_t)k * BLKDEV_SECTOR_SIZE;
        done += k;
    }
    return (long)(sectors * BLKDEV_SECTOR_SIZE);
}

static long disk_read(struct file *f, void *buf, size_t n) { return disk_rw(f, buf, n, 0); }

static long disk_write(struct file *f, const void *buf, size_t n)
{
    return disk_rw(f, (void *)(uintptr_t)buf, n, 1);
}

/* lseek: the new offset; -HOS_EINVAL for a bad whence or a negative position. */
static long disk_lseek(struct file *f, int64_t off, int whence)
{
    struct blkdev *d = blkdev_disk();
    int64_t base = whence == HOS_SEEK_SET ? 0 : whence == HOS_SEEK_CUR ? (int64_t)f->offset :
                   whence == HOS_SEEK_END && d ? (int64_t)(d->sectors * BLKDEV_SECTOR_SIZE) : -1;
    int64_t pos;
    if (base < 0 || __builtin_add_overflow(base, off, &pos) || pos < 0)
        return -HOS_EINVAL;
    f->offset = (uint64_t)pos;
    return (long)pos;
}

static void disk_stat(const struct file *f, struct hos_stat *st)
{
    (void)f;
    struct blkdev *d = blkdev_disk();
    memset(st, 0, sizeof(*st));
    st->mode = HOS_S_IFCHR | 0600;
    st->nlink = 1;
    st->size = d ? d->sectors * BLKDEV_SECTOR_SIZE : 0;
}

const struct file_ops disk_file_ops = {
    .read = disk_read,
    .write = disk_write,
    .lseek = disk_lseek,
    .stat = disk_stat,
};
