/*
 * guest-pv/drivers/blkback.h: the block back end of hypercall-abi/hako/blkif.h, in the
 * control domain. It drives the machine's disk (virtio_blk.c) and serves virtual disks:
 * the whole disk to this kernel's own front end (blkfront.c, a local connection whose
 * grants it reads from this kernel's table), and a region of it to each domU created
 * with one (over the link area of its console page). Every request is checked
 * (blkback_check) before anything is done for it.
 */
#ifndef GUEST_BLKBACK_H
#define GUEST_BLKBACK_H

#include <stdint.h>

#include <hako/blkif.h>

/* ---- request validation (blkback_check.c, pure: host unit tests include it) ---- */

/* Check request r (already copied out of the ring) against a disk of disk_sectors and
 * max_segments: 0 and the number of sectors it moves in *nsect, or the response status
 * it gets: -HAKO_EINVAL malformed (op, padding, segment count or sector bounds inside a
 * page), -HAKO_ERANGE sectors outside the disk. */
long blkback_check(const struct hako_blkif_request *r, uint64_t disk_sectors,
                   unsigned max_segments, uint64_t *nsect);

/* Does [start, start + n) fit in [0, size) without overflow? */
int blkback_range_ok(uint64_t start, uint64_t n, uint64_t size);

struct ringio_pair_layout;
/* The blkif ring page's layout (hako/blkif.h), the same for both ends. 0, or -1 if
 * ring-io disagrees with the header's offsets. */
int blkif_ring_layout(struct ringio_pair_layout *l);

/* ---- the back end (blkback.c) ---- */

/* Find and set up the machine's disk. 0, or -HAKO_ENOENT when there is none. */
long blkback_init(void);

/* The disk's capacity in sectors (0 before blkback_init or without a disk). */
uint64_t blkback_disk_sectors(void);

/* Connect this kernel's own front end to the whole disk: ring is its ring page (already
 * reset); segments name grants of this kernel's own table to domain 0. No notification
 * either way: the front end kicks with blkback_kick_local and polls responses after
 * each idle. 0 or a negative HAKO_E*. */
long blkback_connect_local(void *ring);

/* The local front end published requests. */
void blkback_kick_local(void);

/* Pick a region of n sectors for a new virtual disk: at *start when *start is not
 * UINT64_MAX, else the first free place. It may not overlap this kernel's own file
 * system (the sectors its ext2 superblock claims) or another domain's region.
 * 0, -HAKO_ERANGE (outside the disk or overlapping), -HAKO_ENOSPC, -HAKO_ENOENT. */
long blkback_pick_region(uint64_t n, uint64_t *start);

/* Offer domid (just created) the region [start, start + n) through the link area of
 * its console page, mapped here at link. 0 or a negative HAKO_E*. */
long blkback_offer(unsigned domid, volatile struct hako_vbd_link *link, uint64_t start,
                   uint64_t n);

/* An event arrived on domid's console port: connect when its front end is ready. */
void blkback_console_event(unsigned domid);

/* Stop serving domid: wait for its requests in flight, unmap its grants and ring, close
 * its port. Before the domain is destroyed (no DMA may reach freed frames). */
void blkback_disconnect(unsigned domid);

#endif /* GUEST_BLKBACK_H */
