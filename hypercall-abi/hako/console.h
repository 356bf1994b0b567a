/*
 * hako public ABI (0.5): the console page of a domain created with HAKO_DOMCTL_CREATE.
 *
 * One 4 KiB page of the domU's own memory (start_info console_va/console_pfn; the
 * creator learns its machine frame from hako_domctl_create.console_mfn and maps it with
 * HAKO_MMU_PT_UPDATE_FOREIGN). It holds two byte rings with ring-io's layout and rules
 * (ring-io/README.md: free-running 32-bit indices, event indices, barriers P1..P4 and
 * C1..C4), entry size 1 byte:
 *   out  the domU produces console output, the console backend (the creator) consumes;
 *   in   the backend produces keyboard input, the domU consumes.
 * Notification in both directions is the console event channel (start_info
 * console_port in the domU, bound by the backend with BIND_INTERDOMAIN): a side sends
 * an event when ring-io's event-index rule says the peer asked for one. The hypervisor
 * zeroes the page when it builds the domain (all indices 0: an empty, valid pair of
 * rings) and never reads or writes it afterwards. See ABI.md "Console page".
 */
#ifndef HAKO_CONSOLE_H
#define HAKO_CONSOLE_H

#include "compiler.h"

#define HAKO_CONSOLE_OUT_ORDER  11u   /* out ring: 2^11 = 2048 bytes */
#define HAKO_CONSOLE_IN_ORDER   10u   /* in ring: 2^10 = 1024 bytes */
#define HAKO_CONSOLE_OUT_SIZE   (1u << HAKO_CONSOLE_OUT_ORDER)
#define HAKO_CONSOLE_IN_SIZE    (1u << HAKO_CONSOLE_IN_ORDER)

#ifndef __ASSEMBLER__
/* A ring header: ring-io's struct ringio_hdr, byte for byte. Each index is written by
 * one side only; the other side validates it before use (never trust the peer). */
struct hako_ring_hdr {
    uint32_t prod;              /* producer: bytes ever published (free-running) */
    uint8_t  _pad0[60];         /* zero */
    uint32_t prod_event;        /* consumer: notify me when byte prod_event is published */
    uint8_t  _pad1[60];
    uint32_t cons;              /* consumer: bytes ever consumed */
    uint8_t  _pad2[60];
    uint32_t cons_event;        /* producer: notify me when byte cons_event is consumed */
    uint8_t  _pad3[60];
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, prod_event) == 64, "prod_event offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, cons) == 128, "cons offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, cons_event) == 192, "cons_event offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_ring_hdr) == 256, "hako_ring_hdr size");

struct hako_console_page {
    struct hako_ring_hdr out;                 /* domU -> backend: header */
    struct hako_ring_hdr in;                  /* backend -> domU: header */
    uint8_t  out_data[HAKO_CONSOLE_OUT_SIZE]; /* byte i of the out ring: slot i % 2048 */
    uint8_t  in_data[HAKO_CONSOLE_IN_SIZE];   /* byte i of the in ring: slot i % 1024 */
    uint64_t out_dropped;       /* written by the domU: output bytes it dropped because
                                   the out ring was full (informational: a backend may
                                   show it, never trusts it) */
    uint8_t  _reserved[504];    /* zero */
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, in) == 256, "in header offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, out_data) == 512, "out_data offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, in_data) == 2560, "in_data offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_console_page, out_dropped) == 3584,
                   "out_dropped offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_console_page) == 4096, "hako_console_page size");
#endif

#endif /* HAKO_CONSOLE_H */
