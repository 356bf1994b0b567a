/*
 * hako public ABI: asynchronous ("exception-less") hypercalls. A vCPU registers a
 * submission ring and a completion ring in its own memory; the hypervisor runs what is
 * submitted when the guest rings the doorbell (async_op ENTER), when the vCPU is
 * interrupted in kernel mode, and when it calls BLOCK or YIELD, and posts completions.
 * Each ring is a struct hako_ring_hdr (hako/ring.h: indices, barriers, notification)
 * followed directly by its entries. See ABI.md "Asynchronous hypercalls".
 */
#ifndef HAKO_ASYNC_H
#define HAKO_ASYNC_H

#include "compiler.h"
#include "ring.h"

/* async_op(cmd, arg) */
#define HAKO_ASYNC_SETUP     0   /* arg = IN struct hako_async_setup * */
#define HAKO_ASYNC_ENTER     1   /* arg ignored (0): run up to HAKO_ASYNC_ENTER_MAX
                                    submissions; returns the completions posted by this
                                    call. Call it again while submissions wait. */
#define HAKO_ASYNC_TEARDOWN  2   /* forget the rings (the memory is the guest's again) */

#define HAKO_ASYNC_ENTER_MAX 256u   /* submissions one ENTER runs at most */
#define HAKO_ASYNC_TICK_MAX  64u    /* ... one interrupt, BLOCK or YIELD runs at most */
#define HAKO_ASYNC_RING_HDR  256u   /* bytes of ring header (struct hako_ring_hdr) before
                                       the entries */
#define HAKO_ASYNC_MAX_ORDER 10u    /* rings hold at most 1024 entries */
/* Bytes of a ring of 2^order entries of esize bytes: header, then the entries. */
#define HAKO_ASYNC_RING_BYTES(order, esize) \
    (HAKO_ASYNC_RING_HDR + (1u << (order)) * (uint32_t)(esize))

/* hako_async_sqe.flags */
#define HAKO_ASYNC_LINK          (1u << 0)  /* run the next entry only if this one succeeds */
#define HAKO_ASYNC_BARRIER       (1u << 1)  /* start only after everything before completed */
#define HAKO_ASYNC_NO_COMPLETION (1u << 2)  /* post no completion for this entry */

#ifndef __ASSEMBLER__
HAKO_STATIC_ASSERT(sizeof(struct hako_ring_hdr) == HAKO_ASYNC_RING_HDR, "async ring header");

struct hako_async_setup {
    uint64_t sq_va;      /* IN: 64-byte aligned submission ring: header, then 2^sq_order sqes */
    uint64_t cq_va;      /* IN: 64-byte aligned completion ring: header, then 2^cq_order cqes */
    uint32_t sq_order;   /* IN: 0..HAKO_ASYNC_MAX_ORDER */
    uint32_t cq_order;   /* IN: 0..HAKO_ASYNC_MAX_ORDER */
    uint64_t _reserved[2]; /* IN: zero */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_async_setup) == 40, "hako_async_setup size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_async_setup) == 8, "hako_async_setup align");

/* A submission (64 bytes). */
struct hako_async_sqe {
    uint64_t op;         /* hypercall number */
    uint64_t args[5];    /* its arguments (rdi, rsi, rdx, r10, r8) */
    uint64_t user_data;  /* copied to the completion */
    uint32_t flags;      /* HAKO_ASYNC_* */
    uint32_t _pad0;      /* zero */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_async_sqe) == 64, "hako_async_sqe size");

/* A completion (16 bytes). */
struct hako_async_cqe {
    uint64_t user_data;  /* from the submission */
    int64_t  result;     /* what the hypercall returned, or -HAKO_ECANCELED / -HAKO_EINVAL */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_async_cqe) == 16, "hako_async_cqe size");
#endif

#endif /* HAKO_ASYNC_H */
