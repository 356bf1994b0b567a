/*
 * hypervisor/hypercall.c: the hypercall dispatch table and the first hypercalls.
 * Each handler decodes and validates its arguments completely before it acts.
 */
#include <hako/arch-x86_64.h>
#include <hako/hypercall.h>

#include <hako/events.h>

#include "console.h"
#include "cpu.h"
#include "domain.h"
#include "evtchn.h"
#include "time.h"
#include "x86.h"
#include "guest_access.h"
#include "hcalls.h"
#include "lib.h"
#include "pagetype.h"
#include "percpu.h"
#include "sched.h"

#ifndef HAKO_HV_VERSION
#define HAKO_HV_VERSION "unknown"
#endif


/* The calling domain. */
static struct domain *caller(void)
{
    return current_vcpu()->dom;
}

/* console_io(cmd, buf, len): write to or read from the console. */
long hc_console_io(HC_ARGS)
{
    uint64_t cmd = a1, buf = a2, len = a3;
    char kbuf[HAKO_CONSOLE_IO_MAX];
    if (cmd != HAKO_CONSOLE_WRITE && cmd != HAKO_CONSOLE_READ && cmd != HAKO_CONSOLE_WRITE_RAW)
        return -HAKO_ENOSYS;
    if (len > HAKO_CONSOLE_IO_MAX)
        return -HAKO_EINVAL;
    if (cmd != HAKO_CONSOLE_WRITE && !caller()->privileged)
        return -HAKO_EPERM;
    if (cmd != HAKO_CONSOLE_READ) {
        if (guest_copy_from(current_vcpu(), kbuf, buf, len))
            return -HAKO_EFAULT;
        console_write(cmd == HAKO_CONSOLE_WRITE ? (int)caller()->domid : CONSOLE_SOURCE_RAW,
                      kbuf, len);
        return (long)len;
    }
    /* Check the whole buffer is writable before consuming input we could not deliver. */
    if (guest_check(current_vcpu(), buf, len, true))
        return -HAKO_EFAULT;
    size_t n = console_read(kbuf, len);
    if (guest_copy_to(current_vcpu(), buf, kbuf, n))
        return -HAKO_EFAULT;
    return (long)n;
}

/* version(cmd, arg): ABI version, or the full version/feature record. */
long hc_version(HC_ARGS)
{
    (void)a3;
    uint64_t cmd = a1, arg = a2;
    switch (cmd) {
    case HAKO_VERSION_ABI:
        return HAKO_ABI_VERSION;
    case HAKO_VERSION_INFO: {
        if (arg & 7)
            return -HAKO_EINVAL;
        struct hako_version_info info;
        memset(&info, 0, sizeof(info));
        info.abi_major = HAKO_ABI_MAJOR;
        info.abi_minor = HAKO_ABI_MINOR;
        info.nr_hypercalls = HC_NR;
        info.features = cpu_has.nx ? HAKO_FEAT_NX : 0;
        snprintf(info.hv_version, sizeof(info.hv_version), "%s", HAKO_HV_VERSION);
        return guest_copy_to(current_vcpu(), arg, &info, sizeof(info));
    }
    default:
        return -HAKO_ENOSYS;
    }
}

/* sched_op(cmd, arg1, arg2): yield or shut down the calling domain. */
long hc_sched_op(HC_ARGS)
{
    uint64_t cmd = a1, reason = a2, code = a3;
    struct vcpu *v = current_vcpu();
    switch (cmd) {
    case HAKO_SCHED_YIELD:
        if (v->async.active)
            async_drain(v, ASYNC_DRAIN_ON_ENTRY);
        schedule();
        return 0;
    case HAKO_SCHED_BLOCK:
        if (v->async.active)
            async_drain(v, ASYNC_DRAIN_ON_ENTRY); /* may post completions: an event */
        /* Enabling events and blocking is one step, so a wakeup cannot be missed. */
        __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&v->vcpu_info->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
            v->blocked = true;
            vcpu_update_runnable(v);
            schedule();
        }
        return 0;
    case HAKO_SCHED_POLL: {
        uint64_t ports = a2, count = a3;
        if (count == 0 || count > HAKO_SCHED_POLL_MAX || (ports & 3))
            return -HAKO_EINVAL;
        if (guest_copy_from(current_vcpu(), v->poll_ports, ports, count * 4))
            return -HAKO_EFAULT;
        v->nr_poll_ports = (uint32_t)count;
        if (evtchn_any_pending(v->dom, v->poll_ports, v->nr_poll_ports))
            return 1;
        uint64_t timeout = hc_arg4(v);
        if (timeout && timeout <= time_now_ns())
            return 0;
        v->poll_deadline_ns = timeout;
        v->polling = v->blocked = true;
        vcpu_update_runnable(v);
        sched_timers_changed();
        schedule();
        v->polling = false;
        v->poll_deadline_ns = 0;
        return evtchn_any_pending(v->dom, v->poll_ports, v->nr_poll_ports) ? 1 : 0;
    }
    case HAKO_SCHED_SHUTDOWN:
        if (reason > HAKO_SHUTDOWN_CRASH || code > HAKO_SHUTDOWN_CODE_MAX)
            return -HAKO_EINVAL;
        if (reason == HAKO_SHUTDOWN_CRASH) {
            printk("d%u (%s) asked to crash, code %lu\n", caller()->domid, caller()->name, code);
            dump_regs(vcpu_regs(current_vcpu()));
        }
        domain_shutdown(caller(), (uint32_t)reason, (uint32_t)code);
        return 0; /* not reached: a stopped domain is never resumed */
    default:
        return -HAKO_ENOSYS;
    }
}

/* debug_op(cmd, arg): self-checks a guest (or its tests) can ask for. */
long hc_debug_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    switch (a1) {
    case HAKO_DEBUG_AUDIT: {
        struct hv_ref refs[3 + ASYNC_RINGS * ASYNC_MAX_PAGES + 2] = {
            { v->kernel_l4, PGT_L4 },
            { v->dom->shinfo_mfn, PGT_WRITABLE },
            { v->user_l4, PGT_L4 },
        };
        unsigned n = async_refs(v, refs, v->user_l4 ? 3 : 2);
        for (unsigned i = 0; i < v->nr_mc_held; i++)     /* audit made inside a multicall */
            refs[n++] = (struct hv_ref){ v->mc_held[i], PGT_WRITABLE };
        return pagetype_audit(v->dom->domid, refs, n);
    }
    case HAKO_DEBUG_CONTINUATIONS:
        return (long)v->continuations;
    case HAKO_DEBUG_TIME_HANDLER: {
        if (a2 == 0 || a2 > 1000000)
            return -HAKO_EINVAL;
        /* Called through the dispatch table, as the entry path and multicall call it. */
        hypercall_fn fn = hypercall_table[HAKO_HC_version];
        __asm__ volatile("" : "+r"(fn));                  /* no inlining it away */
        uint64_t t0 = rdtsc();
        for (uint64_t i = 0; i < a2; i++) {
            long r = fn(HAKO_VERSION_ABI, 0, 0);
            __asm__ volatile("" : : "r"(r) : "memory");   /* keep every call */
        }
        return (long)(rdtsc() - t0);
    }
    case HAKO_DEBUG_FREE_FRAMES:
        return (long)frame_free_count();
    case HAKO_DEBUG_RAISE_VIRQ:
        evtchn_send_virq(v->dom, HAKO_VIRQ_DEBUG);
        return 0;
    case HAKO_DEBUG_COUNTER:
        switch (a2) {
        case HAKO_COUNTER_TLB_FLUSHES: return (long)v->stat_tlb_flushes;
        case HAKO_COUNTER_INVLPGS: return (long)v->stat_invlpgs;
        case HAKO_COUNTER_CR3_LOADS: return (long)v->stat_cr3_loads;
        default: return -HAKO_EINVAL;
        }
    default:
        return -HAKO_ENOSYS;
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
    if (guest_copy_from(current_vcpu(), &op, a2, sizeof(op)) ||
        guest_check(current_vcpu(), a2, sizeof(op), true))
        return -HAKO_EFAULT;
    long rc = evtchn_op(d, (unsigned)a1, &op);
    if (rc == 0)
        guest_copy_to(current_vcpu(), a2, &op, sizeof(op));   /* checked writable above */
    return rc;
}

/* event_channel_op(cmd, arg): SEND, the hot one, goes straight to its handler. */
long hc_event_channel_op(HC_ARGS)
{
    (void)a3;
    struct domain *d = caller();
    if (a1 == HAKO_EVTCHNOP_SEND)
        return evtchn_send(d, a2);
    return event_channel_op(d, a1, a2);
}

/* set_timer_op(cmd, value) */
long hc_set_timer_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    switch (a1) {
    case HAKO_TIMER_ONESHOT:
        v->timer_deadline_ns = a2;
        if (a2 && a2 <= time_now_ns()) {        /* already due: fire now */
            v->timer_deadline_ns = 0;
            evtchn_send_virq(v->dom, HAKO_VIRQ_TIMER);
        }
        break;
    case HAKO_TIMER_PERIODIC:
        if (a2 && a2 < HAKO_TIMER_MIN_PERIOD)
            return -HAKO_EINVAL;
        uint64_t now = time_now_ns();
        v->timer_period_ns = a2;
        v->timer_next_ns = !a2 ? 0 : a2 > UINT64_MAX - now ? UINT64_MAX : now + a2;
        break;
    default:
        return -HAKO_ENOSYS;
    }
    sched_timers_changed();
    return 0;
}

uint64_t hc_resume(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct vcpu *v = current_vcpu();
    struct hc_continuation *c = &v->cont;
    if (v->mc_args)
        return 0;       /* a call inside a batch: never split, never the one resumed */
    bool same = c->active && c->nr == nr && c->rip == vcpu_regs(v)->rip && c->args[0] == a1 &&
                c->args[1] == a2 && c->args[2] == a3;
    c->active = false;
    return same ? c->progress : 0;
}

long hc_preempt(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t progress)
{
    struct vcpu *v = current_vcpu();
    struct cpu_regs *regs = vcpu_regs(v);
    /* Remember the return address: re-issuing the syscall produces the same one. */
    v->cont = (struct hc_continuation){
        .active = true, .nr = nr, .rip = regs->rip, .args = { a1, a2, a3 }, .progress = progress,
    };
    regs->rip -= 2;                         /* back onto the 2-byte syscall instruction */
    v->continuations++;
    schedule();                             /* let anyone else who is runnable go first */
    return (long)nr;                        /* rax must hold the number when it re-runs */
}

/* An unknown number, or a call the caller's guest type may not make. */
static long hc_unknown(HC_ARGS)
{
    (void)a1, (void)a2, (void)a3;
    return -HAKO_ENOSYS;
}

#define HC_IN_ORDER(name, entry, nargs, flags, guests)                                      \
    _Static_assert(HC_INDEX_##name == HAKO_HC_##name, "HC_LIST in number order: " #name);
HC_LIST(HC_IN_ORDER)
#undef HC_IN_ORDER
_Static_assert(HC_NR <= HC_COUNT_SLOTS, "entry.S counts every number");

#define HC_DISPATCH(name, entry, nargs, flags, guests)                                      \
    [HAKO_HC_##name] = ((guests) & HCG_PV) ? (entry) : hc_unknown,
const hypercall_fn hypercall_table[HC_NR] = { HC_LIST(HC_DISPATCH) };
#undef HC_DISPATCH
const uint64_t hypercall_count = HC_NR;

#define HC_INFO(name, entry, nargs_, flags_, guests_)                                       \
    [HAKO_HC_##name] = { .handler = hc_##name, .nargs = (nargs_), .flags = (flags_),        \
                         .guests = (guests_) },
const struct hc_info hc_info[HC_NR] = { HC_LIST(HC_INFO) };
#undef HC_INFO
