/*
 * guest-pv/drivers/blkdev.h: a block device as the guest kernel's upper layers see it
 * (the buffer cache and file systems). blkfront.c provides the one disk of this kernel;
 * host unit tests provide file-backed ones.
 *
 * Sectors are 512 bytes. rw and flush are synchronous: they return when the transfer is
 * complete (the kernel keeps the CPU meanwhile, idling until the completion's event), so
 * callers need no locking beyond the kernel's single-threaded rule (fs.h).
 */
#ifndef GUEST_BLKDEV_H
#define GUEST_BLKDEV_H

#include <stdint.h>

#define BLKDEV_SECTOR_SIZE 512u

struct blkdev {
    const char *name;           /* for messages, e.g. "xvda" */
    uint64_t sectors;           /* capacity in 512-byte sectors */
    /* Read (write = 0) or write count sectors starting at sector into/from buf (kernel
     * memory, any alignment, count * 512 bytes). 0, -HOS_EINVAL past the end, or
     * -HOS_EIO when the device or its back end failed the request. */
    long (*rw)(struct blkdev *d, int write, uint64_t sector, uint32_t count, void *buf);
    /* Make every completed write durable. 0 or -HOS_EIO. */
    long (*flush)(struct blkdev *d);
    void *priv;                 /* the driver's */
};

/* The disk this kernel was given (dom0: the whole physical disk; a domU: its virtual
 * disk), or NULL when it has none. Valid after blkfront_init. */
struct blkdev *blkdev_disk(void);

#endif /* GUEST_BLKDEV_H */
