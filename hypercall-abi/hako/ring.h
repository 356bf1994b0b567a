/*
 * hako public ABI: single-producer/single-consumer rings in shared memory, used by the
 * asynchronous-hypercall rings (async.h) and the console page (console.h). See ABI.md
 * "Shared rings".
 *
 * A ring is a header (struct hako_ring_hdr, 256 bytes, 64-byte aligned) and an array of
 * 2^order entries of a fixed size. The header holds four free-running 32-bit indices,
 * each alone on its 64-byte line and each written by one side only:
 *   prod        producer: entries published so far (wraps at 2^32)
 *   prod_event  consumer: "notify me when entry number prod_event is published"
 *   cons        consumer: entries consumed so far (their slots may be reused)
 *   cons_event  producer: "notify me when entry number cons_event is consumed"
 * Entry number i lives in slot HAKO_RING_SLOT(i, order). prod - cons (as uint32_t) is
 * the number of entries waiting, 0..2^order; anything else means the peer is broken.
 *
 * Barriers (each pairs with the one named after it):
 *   publish (producer): write the entries, then store prod with release order
 *     (hako_ring_store_release)                      -- pairs with the consumer's acquire;
 *   consume: load prod with acquire order (hako_ring_load_acquire), copy the entries out,
 *     then store cons with release order             -- pairs with the producer's acquire
 *     load of cons before it reuses the slots;
 *   notify: a side that publishes and may have to notify makes the index store
 *     sequentially consistent (hako_ring_store_fence) and then loads the peer's event
 *     index; a side about to wait stores its event index the same way and then loads
 *     the peer's index again. Either the publisher sees the new event index or the
 *     waiter sees the new entries: no wake-up is lost.
 */
#ifndef HAKO_RING_H
#define HAKO_RING_H

#include "compiler.h"

#define HAKO_RING_HDR_SIZE  256u   /* sizeof(struct hako_ring_hdr) */
#define HAKO_RING_ALIGN     64u    /* a ring header's alignment */

/* Slot of entry number i in a ring of 2^order entries. */
#define HAKO_RING_SLOT(i, order) ((uint32_t)(i) & ((1u << (order)) - 1u))

#ifndef __ASSEMBLER__
struct hako_ring_hdr {
    uint32_t prod;              /* producer: entries published so far */
    uint8_t  _pad0[60];         /* zero */
    uint32_t prod_event;        /* consumer: notify me when entry prod_event is published */
    uint8_t  _pad1[60];         /* zero */
    uint32_t cons;              /* consumer: entries consumed so far */
    uint8_t  _pad2[60];         /* zero */
    uint32_t cons_event;        /* producer: notify me when entry cons_event is consumed */
    uint8_t  _pad3[60];         /* zero */
} HAKO_ALIGNED(64);
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, prod_event) == 64, "prod_event offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, cons) == 128, "cons offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_ring_hdr, cons_event) == 192, "cons_event offset");
HAKO_STATIC_ASSERT(sizeof(struct hako_ring_hdr) == HAKO_RING_HDR_SIZE, "hako_ring_hdr size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_ring_hdr) == HAKO_RING_ALIGN, "hako_ring_hdr align");

/* The notification rule: a side that moved its index from old_idx to new_idx notifies
 * the peer when the peer's event index lies in [old_idx, new_idx), i.e. the peer asked
 * to hear about one of the entries just published (or consumed). */
static inline int hako_ring_need_notify(uint32_t old_idx, uint32_t new_idx, uint32_t event)
{
    return (uint32_t)(new_idx - event - 1u) < (uint32_t)(new_idx - old_idx);
}

#if defined(__GNUC__)
/* Load the peer's index (prod for a consumer, cons for a producer): acquire order. */
static inline uint32_t hako_ring_load_acquire(const volatile uint32_t *idx)
{
    return __atomic_load_n(idx, __ATOMIC_ACQUIRE);
}

/* Publish one's own index (prod or cons) when nobody needs a notification check. */
static inline void hako_ring_store_release(volatile uint32_t *idx, uint32_t value)
{
    __atomic_store_n(idx, value, __ATOMIC_RELEASE);
}

/* Store an index or an event index, then a full barrier (an xchg on x86-64): the next
 * load of the peer's index or event index cannot be satisfied before this store is
 * visible. Use it before checking whether to notify, and when arming before a wait. */
static inline void hako_ring_store_fence(volatile uint32_t *idx, uint32_t value)
{
    __atomic_exchange_n(idx, value, __ATOMIC_SEQ_CST);
}
#endif /* __GNUC__ */
#endif /* __ASSEMBLER__ */

#endif /* HAKO_RING_H */
