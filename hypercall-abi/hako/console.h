/*
 * hako public ABI (0.5): the console page of a domain created with HAKO_DOMCTL_CREATE.
 *
 * One 4 KiB page of the domU's own memory (start_info console_va/console_pfn; the
 * creator learns its machine frame from hako_domctl_create.console_mfn and maps it with
 * HAKO_MMU_PT_UPDATE_FOREIGN). It holds two byte rings (hako/ring.h: layout, index,
 * barrier and notification rules; entries of 1 byte):
 *   out  the domU produces console output, the console back end (the creator) consumes;
 *   in   the back end produces keyboard input, the domU consumes.
 * Notification in both directions is the console event channel (start_info
 * console_port in the domU, bound by the back end with BIND_INTERDOMAIN). The
 * hypervisor zeroes the page when it builds the domain (all indices 0: an empty, valid
 * pair of rings) and never reads or writes it afterwards. Since ABI 0.10 it also holds
 * the link area of the domain's virtual block device (hako/blkif.h). See ABI.md
 * "Console page".
 */
#ifndef HAKO_CONSOLE_H
#define HAKO_CONSOLE_H

#include "compiler.h"
#include "ring.h"
#include "blkif.h"

#define HAKO_CONSOLE_OUT_ORDER  11u   /* out ring: 2^11 = 2048 bytes */
#define HAKO_CONSOLE_IN_ORDER   10u   /* in ring: 2^10 = 1024 bytes */
#define HAKO_CONSOLE_OUT_SIZE   (1u << HAKO_CONSOLE_OUT_ORDER)
#define HAKO_CONSOLE_IN_SIZE    (1u << HAKO_CONSOLE_IN_ORDER)

#ifndef __ASSEMBLER__
struct hako_console_page {
    struct hako_ring_hdr out;                 /* domU -> back end: header */
    struct hako_ring_hdr in;                  /* back end -> domU: header */
    uint8_t  out_data[HAKO_CONSOLE_OUT_SIZE]; /* byte i of the out ring: slot i % 2048 */
    uint8_t  in_data[HAKO_CONSOLE_IN_SIZE];   /* byte i of the in ring: slot i % 1024 */
    uint64_t out_dropped;       /* written by the domU: output bytes it dropped because
                                   the out ring was full (informational: a backend may
                                   show it, never trusts it) */
    uint8_t  _reserved0[56];    /* zero */
    struct hako_vbd_link vbd;   /* ABI 0.10: the block device link area (hako/blkif.h),
                                   shared with the domain's block back end */
    uint8_t  _reserved[384];    /* zero */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, in) == 256, "in header offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, out_data) == 512, "out_data offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, in_data) == 2560, "in_data offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, out_dropped) == 3584,
                   "out_dropped offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, vbd) == 3648, "vbd offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_console_page) == 4096, "hako_console_page size");
#endif

#endif /* HAKO_CONSOLE_H */
