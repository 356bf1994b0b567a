/*
 * guest-pv/drivers/events.c: event channels in the guest kernel: the upcall handler's port
 * scan, per-port handlers, the timer and console virqs, and time since boot.
 *
 * The kernel runs with upcalls masked (privops->irq_disable) except in user mode and
 * while idle (privops->idle), so handlers only ever interrupt user code, the idle loop, or the few
 * instructions of a kernel entry before guest_trap masks them (events_enter).
 */
#include <hako/events.h>
#include <hako/traps.h>

#include "events.h"
#include "kern.h"
#include "klib.h"
#include "privops.h"

struct port_handler {
    void (*fn)(unsigned port, void *arg);
    void *arg;
};

static struct hako_shared_info *shared;
static struct hako_vcpu_info *vcpu;
static struct port_handler handlers[HAKO_NR_EVENT_CHANNELS];

/* Bind virq and return its port, or 0. */
static unsigned bind_virq(unsigned virq)
{
    struct hako_evtchn op __attribute__((aligned(8))) = { .virq = virq };
    if (privops->event_channel_op(HAKO_EVTCHNOP_BIND_VIRQ, (uint64_t)&op))
        return 0;
    return op.port;
}

void events_init(const struct hako_start_info *si, uint64_t callback)
{
    shared = (struct hako_shared_info *)si->shared_info_va;
    vcpu = &shared->vcpu_info[0];
    if (privops->set_event_entry(callback))
        kprintf("events: cannot register the event callback\n");
}

unsigned events_bind_virq(unsigned virq, void (*fn)(unsigned port, void *arg), void *arg)
{
    unsigned port = bind_virq(virq);
    if (port && events_bind(port, fn, arg))
        return 0;
    return port;
}

long events_bind(unsigned port, void (*fn)(unsigned port, void *arg), void *arg)
{
    if (port == 0 || port >= HAKO_NR_EVENT_CHANNELS)
        return -HAKO_EINVAL;
    handlers[port] = (struct port_handler){ fn, arg };
    return 0;
}

void events_unbind(unsigned port)
{
    if (port && port < HAKO_NR_EVENT_CHANNELS) {
        handlers[port] = (struct port_handler){ 0, 0 };
        privops->event_channel_op(HAKO_EVTCHNOP_CLOSE, port);
    }
}

void events_notify(unsigned port)
{
    privops->event_channel_op(HAKO_EVTCHNOP_SEND, port);
}

void events_dispatch(void)
{
    if (privops->collect_events)
        privops->collect_events();
    __atomic_store_n(&vcpu->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    uint64_t sel = __atomic_exchange_n(&vcpu->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned w = (unsigned)__builtin_ctzll(sel);
        sel &= sel - 1;
        uint64_t bits = __atomic_load_n(&shared->evtchn_pending[w], __ATOMIC_SEQ_CST) &
                        ~__atomic_load_n(&shared->evtchn_mask[w], __ATOMIC_RELAXED);
        __atomic_fetch_and(&shared->evtchn_pending[w], ~bits, __ATOMIC_SEQ_CST);
        while (bits) {
            unsigned port = w * 64 + (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (handlers[port].fn)
                handlers[port].fn(port, handlers[port].arg);
        }
    }
}

uint64_t ktime_ns(void)
{
    return privops->time_ns();
}
