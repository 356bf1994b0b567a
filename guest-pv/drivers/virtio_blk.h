/*
 * guest-pv/drivers/virtio_blk.h: the control domain's driver of the machine's
 * virtio-blk disk (legacy virtio-mmio transport, hypercall-abi/hako/physdev.h), used by
 * the block back end (blkback.c). Requests are asynchronous: submit, then the done
 * callback runs from the disk's interrupt event. Not reentrant (single-threaded kernel).
 */
#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H

#include <stdint.h>

#define VBLK_MAX_SEGS 8u                /* data buffers per request */

#define VBLK_READ  0u
#define VBLK_WRITE 1u
#define VBLK_FLUSH 4u                   /* virtio's numbers (T_IN, T_OUT, T_FLUSH) */

struct vblk_req {
    uint32_t type;                      /* VBLK_* */
    uint32_t nseg;                      /* 0 (FLUSH) .. VBLK_MAX_SEGS */
    uint64_t sector;                    /* of the physical disk */
    uint64_t maddr[VBLK_MAX_SEGS];      /* machine address of each buffer */
    uint32_t len[VBLK_MAX_SEGS];        /* bytes, multiples of 512, within one page */
    /* Called once from the interrupt's event: status 0 or -HAKO_EIO. */
    void (*done)(struct vblk_req *r, long status);
    void *arg;                          /* the caller's */
};

/* Find the machine's first virtio-blk device, map its registers, set up its queue and
 * bind its interrupt. 0, -HAKO_ENOENT (no disk), or another negative HAKO_E*. */
long vblk_init(void);

/* Capacity in 512-byte sectors (0 without a disk). */
uint64_t vblk_sectors(void);

/* Queue r (owned by the driver until done runs): 0, -HAKO_EAGAIN when every slot is
 * busy (retry after a completion), -HAKO_EINVAL for a malformed request (bounds are the
 * caller's job), -HAKO_ENOENT without a disk. */
long vblk_submit(struct vblk_req *r);

/* Requests queued and not yet completed. */
unsigned vblk_inflight(void);

/* Wait (idling) until every queued request has completed. */
void vblk_drain(void);

#endif /* GUEST_VIRTIO_BLK_H */
