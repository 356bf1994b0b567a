/*
 * tests/xtf/evwait.h: waiting for one event-channel port without an event callback,
 * for small test and benchmark kernels.
 */
#ifndef XTF_EVWAIT_H
#define XTF_EVWAIT_H

#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

/* Wait for port to be pending, then clear it. Events are not delivered (no callback):
 * clear the upcall flag and the selector, look at the port, and only then block, so an
 * event arriving at any point is either seen here or makes BLOCK return at once. */
static inline void wait_port(struct hako_shared_info *sh, unsigned port)
{
    struct hako_vcpu_info *vi = &sh->vcpu_info[0];
    uint64_t bit = 1ull << (port % 64);
    for (;;) {
        __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        if (__atomic_fetch_and(&sh->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit)
            return;
        hako_hypercall1(HAKO_HC_sched_op, HAKO_SCHED_BLOCK);
    }
}

#endif /* XTF_EVWAIT_H */
