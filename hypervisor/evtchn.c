/*
 * hypervisor/evtchn.c: event channels, Xen-style two-level pending bitmaps, and the
 * event_channel_op hypercall.
 *
 * A port is pending when its bit in shared_info.evtchn_pending is set. Raising an event
 * sets that bit; if the port is not masked and the word's bit in the vCPU's pending
 * selector was clear, it also sets upcall_pending and wakes the vCPU. The guest owns
 * the shared page and may scribble on it: the hypervisor only ever does atomic bit
 * operations there and never reads it to decide anything about another domain.
 */
#include "evtchn.h"

#include <hako/errno.h>

#include "devices.h"
#include "domain.h"
#include "frame.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "panic.h"
#include "percpu.h"
#include "sched.h"

bool evtchn_console_virq_bound;

static bool test_and_set(uint64_t *word, unsigned bit)
{
    return __atomic_fetch_or(word, 1ull << bit, __ATOMIC_SEQ_CST) & (1ull << bit);
}

static bool test(const uint64_t *word, unsigned bit)
{
    return __atomic_load_n(word, __ATOMIC_SEQ_CST) & (1ull << bit);
}

static void clear(uint64_t *word, unsigned bit)
{
    __atomic_fetch_and(word, ~(1ull << bit), __ATOMIC_SEQ_CST);
}

bool evtchn_init(struct domain *d)
{
    mfn_t mfn = frame_alloc(OWNER_HV, &d->hv_mem);
    if (mfn_eq(mfn, INVALID_MFN))
        return false;
    d->evtchn = mfn_to_virt(mfn);
    memset(d->evtchn, 0, PAGE_SIZE);
    _Static_assert(HAKO_NR_EVENT_CHANNELS * sizeof(struct evtchn) == PAGE_SIZE, "one page");
    return true;
}

/* The port entry, or NULL for port 0 / out of range. */
/* A port or virq already checked to be below HAKO_NR_EVENT_CHANNELS, as evtchn.remote_port. */
static uint32_t port_checked(uint64_t checked)
{
    _Static_assert(HAKO_NR_EVENT_CHANNELS <= (1u << 14), "ports fit evtchn.remote_port");
    _Static_assert(HAKO_NR_VIRQS <= (1u << 14), "virqs fit evtchn.remote_port");
    HV_ASSERT(checked < HAKO_NR_EVENT_CHANNELS);
    return (uint32_t)checked;
}
#define PORT_FIELD(checked) (port_checked(checked) & 0x3fffu)

static struct evtchn *port_get(struct domain *d, uint64_t port)
{
    return port > 0 && port < HAKO_NR_EVENT_CHANNELS ? &d->evtchn[port] : NULL;
}

/* The lowest free port of d, or 0 when all are in use. */
static unsigned port_alloc(struct domain *d)
{
    for (unsigned p = 1; p < HAKO_NR_EVENT_CHANNELS; p++)
        if (d->evtchn[p].state == HAKO_EVTCHN_FREE)
            return p;
    return 0;
}

/* Flag an upcall for v and wake it if it is blocked -- but not if it is polling: a poll
 * ends only on its own ports (or its timeout). */
static void raise_upcall(struct vcpu *v, struct hako_vcpu_info *vi)
{
    __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    if (!v->polling)
        vcpu_wake(v);
}

/* The rest of evtchn_set_pending for a vCPU in POLL (out of line: rare). */
static void __attribute__((noinline)) set_pending_polling(struct domain *d, unsigned port,
                                                          bool was_pending)
{
    struct hako_shared_info *s = d->shinfo;
    struct vcpu *v = &d->vcpu[0];
    struct hako_vcpu_info *vi = &s->vcpu_info[0];
    if (evtchn_any_pending(d, v->poll_ports, v->nr_poll_ports))
        vcpu_wake(v);                   /* a poll ends on its ports, masked or not */
    if (!was_pending && !test(&s->evtchn_mask[port / 64], port % 64) &&
        !test_and_set(&vi->evtchn_pending_sel, port / 64))
        raise_upcall(v, vi);
}

void evtchn_set_pending(struct domain *d, unsigned port)
{
    struct hako_shared_info *s = d->shinfo;
    struct vcpu *v = &d->vcpu[0];        /* every port notifies vCPU 0 (ABI.md) */
    struct hako_vcpu_info *vi = &s->vcpu_info[0];
    d->stat_events++;
    bool was_pending = test_and_set(&s->evtchn_pending[port / 64], port % 64);
    if (v->polling) {
        set_pending_polling(d, port, was_pending);
        return;
    }
    if (was_pending || test(&s->evtchn_mask[port / 64], port % 64) ||
        test_and_set(&vi->evtchn_pending_sel, port / 64))
        return;
    __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    vcpu_wake(v);                       /* not polling: see raise_upcall */
}

void evtchn_send_virq(struct domain *d, unsigned virq)
{
    if (virq < HAKO_NR_VIRQS && d->virq_port[virq])
        evtchn_set_pending(d, d->virq_port[virq]);
}

bool evtchn_any_pending(struct domain *d, const uint32_t *ports, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (ports[i] > 0 && ports[i] < HAKO_NR_EVENT_CHANNELS &&
            test(&d->shinfo->evtchn_pending[ports[i] / 64], ports[i] % 64))
            return true;
    return false;
}

/* Close port p of d; a connected peer's end goes back to unbound (sends then fail). */
static void port_close(struct domain *d, unsigned p)
{
    struct evtchn *e = &d->evtchn[p];
    if (e->state == HAKO_EVTCHN_INTERDOMAIN) {
        struct domain *peer = domain_get((uint16_t)e->remote_dom);
        if (peer && peer->evtchn) {
            struct evtchn *pe = &peer->evtchn[e->remote_port];
            if (pe->state == HAKO_EVTCHN_INTERDOMAIN && pe->remote_dom == d->domid &&
                pe->remote_port == p)
                *pe = (struct evtchn){ .state = HAKO_EVTCHN_UNBOUND, .remote_dom = d->domid };
        }
    } else if (e->state == HAKO_EVTCHN_VIRQ) {
        d->virq_port[e->remote_port] = 0;
        if (e->remote_port >= HAKO_VIRQ_DEVICE0)
            devices_irq_bind(e->remote_port - HAKO_VIRQ_DEVICE0, false);  /* masked again */
    }
    *e = (struct evtchn){ .state = HAKO_EVTCHN_FREE };
    clear(&d->shinfo->evtchn_pending[p / 64], p % 64);
}

void evtchn_teardown(struct domain *d)
{
    if (!d->evtchn)
        return;
    for (unsigned p = 1; p < HAKO_NR_EVENT_CHANNELS; p++)
        if (d->evtchn[p].state != HAKO_EVTCHN_FREE)
            port_close(d, p);
    /* Ports elsewhere that still name d (offered to it, or left by its closes) must not
     * be bindable by a later domain that gets the same id: they now name nobody. */
    for (unsigned id = 0; id < MAX_DOMAINS; id++) {
        struct domain *o = domain_get((uint16_t)id);
        if (!o || o == d || !o->evtchn)
            continue;
        for (unsigned p = 1; p < HAKO_NR_EVENT_CHANNELS; p++)
            if (o->evtchn[p].state == HAKO_EVTCHN_UNBOUND && o->evtchn[p].remote_dom == d->domid)
                o->evtchn[p].remote_dom = HAKO_DOMID_NONE;
    }
}

long evtchn_op(struct domain *d, unsigned cmd, struct hako_evtchn *op)
{
    switch (cmd) {
    case HAKO_EVTCHNOP_ALLOC_UNBOUND: {
        if (!domain_get(op->remote_dom))
            return -HAKO_ESRCH;
        unsigned p = port_alloc(d);
        if (!p)
            return -HAKO_ENOSPC;
        d->evtchn[p] = (struct evtchn){ .state = HAKO_EVTCHN_UNBOUND, .remote_dom = op->remote_dom };
        op->port = p;
        return 0;
    }
    case HAKO_EVTCHNOP_BIND_INTERDOMAIN: {
        struct domain *peer = domain_get(op->remote_dom);
        if (!peer || !peer->evtchn)
            return -HAKO_ESRCH;
        struct evtchn *pe = port_get(peer, op->remote_port);
        if (!pe || pe->state != HAKO_EVTCHN_UNBOUND || pe->remote_dom != d->domid)
            return -HAKO_EINVAL;    /* not offered to us */
        unsigned p = port_alloc(d);
        if (!p)
            return -HAKO_ENOSPC;
        d->evtchn[p] = (struct evtchn){ .state = HAKO_EVTCHN_INTERDOMAIN,
                                        .remote_dom = peer->domid,
                                        .remote_port = PORT_FIELD(op->remote_port) };
        *pe = (struct evtchn){ .state = HAKO_EVTCHN_INTERDOMAIN, .remote_dom = d->domid,
                               .remote_port = PORT_FIELD(p) };
        op->port = p;
        return 0;
    }
    case HAKO_EVTCHNOP_BIND_VIRQ: {
        if (op->virq >= HAKO_NR_VIRQS)
            return -HAKO_EINVAL;
        bool device = op->virq >= HAKO_VIRQ_DEVICE0;
        if ((op->virq == HAKO_VIRQ_CONSOLE || op->virq == HAKO_VIRQ_DOM_EXC || device) &&
            !d->privileged)
            return -HAKO_EPERM;
        if (d->virq_port[op->virq])
            return -HAKO_EEXIST;
        unsigned p = port_alloc(d);
        if (!p)
            return -HAKO_ENOSPC;
        if (device) {                   /* the interrupt is routed from now on */
            int rc = devices_irq_bind(op->virq - HAKO_VIRQ_DEVICE0, true);
            if (rc)
                return rc;
        }
        d->evtchn[p] = (struct evtchn){ .state = HAKO_EVTCHN_VIRQ, .remote_port = PORT_FIELD(op->virq) };
        d->virq_port[op->virq] = (uint16_t)p;
        if (op->virq == HAKO_VIRQ_CONSOLE)
            evtchn_console_virq_bound = true;
        op->port = p;
        return 0;
    }
    case HAKO_EVTCHNOP_STATUS: {
        struct evtchn *e = port_get(d, op->port);
        if (!e)
            return -HAKO_EINVAL;
        op->state = e->state;
        op->remote_dom = e->state == HAKO_EVTCHN_VIRQ ? 0 : e->remote_dom;
        op->remote_port = e->state == HAKO_EVTCHN_INTERDOMAIN ? e->remote_port : 0;
        op->virq = e->state == HAKO_EVTCHN_VIRQ ? e->remote_port : 0;
        return 0;
    }
    default:
        return -HAKO_ENOSYS;
    }
}

long evtchn_send(struct domain *d, uint64_t port)
{
    if (port - 1 >= HAKO_NR_EVENT_CHANNELS - 1)        /* port 0 or out of range */
        return -HAKO_EINVAL;
    struct evtchn e = d->evtchn[port];                  /* one read of the entry */
    if (e.state != HAKO_EVTCHN_INTERDOMAIN)
        return e.state == HAKO_EVTCHN_UNBOUND ? -HAKO_ENOTCONN : -HAKO_EINVAL;
    struct domain *peer = domain_get((uint16_t)e.remote_dom);
    if (!peer)
        return -HAKO_ENOTCONN;
    evtchn_set_pending(peer, e.remote_port);
    return 0;
}

long evtchn_port_op(struct domain *d, unsigned cmd, uint64_t port)
{
    if (cmd == HAKO_EVTCHNOP_SEND)
        return evtchn_send(d, port);            /* checks the port itself */
    if (cmd != HAKO_EVTCHNOP_CLOSE && cmd != HAKO_EVTCHNOP_UNMASK)
        return -HAKO_ENOSYS;
    struct evtchn *e = port_get(d, port);
    if (!e)
        return -HAKO_EINVAL;
    switch (cmd) {
    case HAKO_EVTCHNOP_CLOSE:
        if (e->state == HAKO_EVTCHN_FREE)
            return -HAKO_EINVAL;
        port_close(d, (unsigned)port);
        return 0;
    default: { /* UNMASK: clear the mask; if pending, deliver as if raised now */
        struct hako_shared_info *s = d->shinfo;
        struct hako_vcpu_info *vi = &s->vcpu_info[0];
        clear(&s->evtchn_mask[port / 64], port % 64);
        if (test(&s->evtchn_pending[port / 64], port % 64) &&
            !test_and_set(&vi->evtchn_pending_sel, (unsigned)(port / 64)))
            raise_upcall(&d->vcpu[0], vi);
        return 0;
    }
    }
}

/* event_channel_op(cmd, arg), every command but SEND */
static long __attribute__((noinline)) event_channel_op(struct domain *d, uint64_t a1, uint64_t a2)
{
    if (a1 > HAKO_EVTCHNOP_UNMASK)
        return -HAKO_ENOSYS;
    _Static_assert(HAKO_EVTCHNOP_SEND == HAKO_EVTCHNOP_STATUS + 1, "struct commands first");
    if (a1 >= HAKO_EVTCHNOP_SEND)
        return evtchn_port_op(d, (unsigned)a1, a2);
    struct hako_evtchn op;
    if (a2 & 7)
        return -HAKO_EINVAL;
    if (guest_copy_from(current_vcpu(), &op, _gva(a2), sizeof(op)) ||
        guest_check(current_vcpu(), _gva(a2), sizeof(op), true))
        return -HAKO_EFAULT;
    long rc = evtchn_op(d, (unsigned)a1, &op);
    if (rc == 0)
        guest_copy_to(current_vcpu(), _gva(a2), &op, sizeof(op));   /* checked writable above */
    return rc;
}

/* event_channel_op(cmd, arg): SEND, the hot one, goes straight to its handler. */
long hc_event_channel_op(HC_ARGS)
{
    (void)a3;
    struct domain *d = current_vcpu()->dom;
    if (a1 == HAKO_EVTCHNOP_SEND)
        return evtchn_send(d, a2);
    return event_channel_op(d, a1, a2);
}
