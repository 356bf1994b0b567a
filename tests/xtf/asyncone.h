/*
 * tests/xtf/asyncone.h: run one submission through freshly set-up asynchronous rings
 * (ABI.md 17) and take its completion -- for tests that want a call's asynchronous form.
 */
#ifndef XTF_ASYNCONE_H
#define XTF_ASYNCONE_H

#include <hako/async.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "framework.h"
#include "ringio.h"

#define ASYNCONE_NONE (-1000l)   /* the result when no completion came */

/* Set up rings of four entries, run *e (user_data is set here), tear the rings down;
 * the completion's result, or ASYNCONE_NONE (a failed check says why). */
static inline long xtf_async_once(struct hako_async_sqe e)
{
    static uint8_t sq_mem[HAKO_ASYNC_RING_HDR + (64 << 2)] __attribute__((aligned(4096)));
    static uint8_t cq_mem[HAKO_ASYNC_RING_HDR + (16 << 2)] __attribute__((aligned(4096)));
    static struct hako_async_setup s __attribute__((aligned(8)));
    struct ringio_prod sq;
    struct ringio_cons cq;
    ringio_hdr_reset((struct ringio_hdr *)sq_mem, 0);
    ringio_hdr_reset((struct ringio_hdr *)cq_mem, 0);
    ringio_prod_attach(&sq, (struct ringio_hdr *)sq_mem, sq_mem + HAKO_ASYNC_RING_HDR, 2,
                       sizeof(struct hako_async_sqe));
    ringio_cons_attach(&cq, (struct ringio_hdr *)cq_mem, cq_mem + HAKO_ASYNC_RING_HDR, 2,
                       sizeof(struct hako_async_cqe));
    s = (struct hako_async_setup){ .sq_va = (uint64_t)sq_mem, .cq_va = (uint64_t)cq_mem,
                                   .sq_order = 2, .cq_order = 2 };
    if (!XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_SETUP, (uint64_t)&s), 0,
                       "async SETUP"))
        return ASYNCONE_NONE;
    e.user_data = 0xA51C;
    struct hako_async_cqe c = { 0, ASYNCONE_NONE };
    ringio_produce(&sq, &e, 1, NULL);
    hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0);   /* (a tick may have run it) */
    XTF_CHECK(ringio_consume(&cq, &c, 1, NULL) == 1 && c.user_data == 0xA51C,
              "no completion for the asynchronous submission");
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_TEARDOWN, 0), 0, "async TEARDOWN");
    return c.result;
}

#endif /* XTF_ASYNCONE_H */
