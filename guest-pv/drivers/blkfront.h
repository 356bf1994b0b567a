/*
 * guest-pv/drivers/blkfront.h: the block front end (hypercall-abi/hako/blkif.h): this
 * kernel's disk, a struct blkdev (blkdev.h) served by a back end: the control domain's
 * own blkback for dom0 (the whole machine disk), the one named by "vbd=<domid>" on the
 * command line for a domU.
 */
#ifndef GUEST_BLKFRONT_H
#define GUEST_BLKFRONT_H

#include <hako/start_info.h>

/* Connect the disk, if this kernel has one (quietly nothing otherwise). */
void blkfront_init(const struct hako_start_info *si);

#endif /* GUEST_BLKFRONT_H */
