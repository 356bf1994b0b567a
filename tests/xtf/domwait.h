/*
 * tests/xtf/domwait.h: dom0-side helpers shared by the test kernels that create
 * domains (test-domains, test-foreign): time, polling one port, event-channel calls
 * with a struct argument, GETINFO, and waiting for a domain to stop.
 */
#ifndef XTF_DOMWAIT_H
#define XTF_DOMWAIT_H

#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "framework.h"
#include "privops.h"

#define DOMWAIT_MS 1000000ul

static inline uint64_t now_ns(void)
{
    return privops->time_ns();           /* ABI.md 14.4, as the reference guest reads it */
}

/* sched_op POLL on one port until deadline (absolute ns): 1 pending, 0 timeout. */
static inline long poll_port(uint32_t port, uint64_t deadline)
{
    static uint32_t ports[1];
    ports[0] = port;
    return hako_hypercall6(HAKO_HC_sched_op, HAKO_SCHED_POLL, (unsigned long)ports, 1,
                           deadline, 0, 0);
}

/* Clear port in sh; whether it was pending. */
static inline int port_test_and_clear(struct hako_shared_info *sh, uint32_t port)
{
    uint64_t bit = 1ull << (port % 64);
    return !!(__atomic_fetch_and(&sh->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit);
}

/* event_channel_op cmd on *op (through an aligned copy); the result comes back in *op. */
static inline long evtchn_struct(unsigned cmd, struct hako_evtchn *op)
{
    static struct hako_evtchn buf __attribute__((aligned(8)));
    buf = *op;
    long rc = hako_hypercall3(HAKO_HC_event_channel_op, cmd, (unsigned long)&buf, 0);
    *op = buf;
    return rc;
}

/* Bind HAKO_VIRQ_DOM_EXC (a domain stopped) and return its port; 0, with an XTF error,
 * when it cannot be bound. */
static inline uint32_t bind_dom_exc(void)
{
    struct hako_evtchn op = { .virq = HAKO_VIRQ_DOM_EXC };
    if (evtchn_struct(HAKO_EVTCHNOP_BIND_VIRQ, &op)) {
        xtf_error("cannot bind VIRQ_DOM_EXC");
        return 0;
    }
    return op.port;
}

/* GETINFO for domid into *info (8-aligned); 0 or the error. */
static inline long dom_getinfo(struct hako_domctl_info *info, unsigned domid)
{
    __builtin_memset(info, 0, sizeof(*info));
    info->domid = (uint16_t)domid;
    return hako_hypercall3(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, (unsigned long)info, 0);
}

/* Wait up to 5 s for domid to stop (shut down or crash), woken by exc_port (bound to
 * VIRQ_DOM_EXC); 1 when it did, with its info left in *info. */
static inline int dom_wait_stopped(struct hako_shared_info *sh, uint32_t exc_port,
                                   struct hako_domctl_info *info, unsigned domid)
{
    uint64_t end = now_ns() + 5000 * DOMWAIT_MS;
    for (;;) {
        port_test_and_clear(sh, exc_port);
        if (dom_getinfo(info, domid))
            return 0;
        if (info->state == HAKO_DOMSTATE_SHUTDOWN || info->state == HAKO_DOMSTATE_CRASHED)
            return 1;
        if (!poll_port(exc_port, end))
            return 0;
    }
}

#endif /* XTF_DOMWAIT_H */
