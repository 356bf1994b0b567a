/*
 * hypervisor/sched.c: switching between vCPUs, blocking and waking, guest timers, the
 * timer interrupt, and the sched_op hypercall. Who runs next is decided by
 * sched_policy.c (credit scheduling with weights and caps); this file applies it.
 */
#include "sched.h"

#include <hako/hypercall.h>

#include "async.h"
#include "console.h"
#include "cpu.h"
#include "evtchn.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "pagetype.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "sched_policy.h"
#include "time.h"
#include "x86.h"

void context_switch(uint64_t *save_rsp, uint64_t load_rsp);

static struct sched_policy policy;
static bool policy_ready;
static uint64_t slice_end_ns;        /* when the running vCPU's slice ends, 0 = none */
static bool guest_deadlines_changed = true; /* recompute guest_deadline before use */
static uint64_t guest_deadline;             /* earliest guest timer / poll timeout */
static uint64_t programmed_deadline;        /* what the APIC was last asked for */

/* The policy, started on first use (after the time base exists). */
static struct sched_policy *pol(void)
{
    if (!policy_ready) {
        policy_init(&policy, time_now_ns());
        policy_ready = true;
    }
    return &policy;
}

void sched_add(struct vcpu *v)
{
    if (!v->se.queued)
        policy_add(pol(), &v->se);
    vcpu_update_runnable(v);
}

void sched_remove(struct vcpu *v)
{
    guest_deadlines_changed = true;         /* its timers no longer count */
    if (v->se.queued)
        policy_remove(pol(), &v->se);
    v->runnable = false;
}

static inline void update_runnable(struct vcpu *v)
{
    struct domain *d = v->dom;
    v->runnable = d->state == DOMAIN_RUNNING && !d->paused && !v->blocked;
    if (v->se.queued)
        policy_set_runnable(&policy, &v->se, v->runnable);   /* queued: policy is ready */
}

void vcpu_update_runnable(struct vcpu *v)
{
    update_runnable(v);
}

void vcpu_wake(struct vcpu *v)
{
    if (!v->blocked)
        return;
    if (v->polling)
        guest_deadlines_changed = true;     /* its poll timeout no longer counts */
    v->blocked = false;
    v->polling = false;
    update_runnable(v);
}

/* Save prev's FPU state and selectors; load next's, its address space and stacks, and
 * the null LDT (every CPU structure a guest can name is set here, at every switch). */
static void switch_state(struct vcpu *prev, struct vcpu *next)
{
    struct percpu *pc = this_cpu();
    if (prev) {
        __asm__ volatile("fxsave64 %0" : "=m"(prev->fpu));
        selectors_save(&prev->sel);
    }
    if (next) {
        __asm__ volatile("fxrstor64 %0" : : "m"(next->fpu));
        selectors_load(&next->sel);
        load_null_ldt();
        write_cr3(next->cr3);
        pagetype_tlb_flushed();
        next->stat_cr3_loads++;
        cpu_set_kernel_stack(next->stack_top);
        cpuid_fault_set(next->dom->type->cpuid_faulting);
    } else {
        write_cr3(paging_idle_cr3());   /* idle never runs on a domain's tables */
        pagetype_tlb_flushed();
    }
    pc->current = next;
}

#define TIME_REFRESH_NS 1000000ull    /* refresh a vCPU's time record at most this often */

static uint64_t earliest_guest_timer(void)
{
    if (!guest_deadlines_changed)
        return guest_deadline;
    guest_deadlines_changed = false;
    uint64_t best = 0;
    for_each_domain (d) {
        for_each_vcpu (d, v) {
            uint64_t cand[3] = { v->timer_deadline_ns, v->timer_period_ns ? v->timer_next_ns : 0,
                                 v->polling ? v->poll_deadline_ns : 0 };
            for (unsigned i = 0; i < 3; i++)
                if (cand[i] && (!best || cand[i] < best))
                    best = cand[i];
        }
    }
    return guest_deadline = best;
}

/* Program the APIC for the next thing that needs the CPU's attention: the end of the
 * running slice, a guest timer, or the console poll. */
static void reprogram_slow(void)
{
    uint64_t t = earliest_guest_timer();
    if (slice_end_ns && (!t || slice_end_ns < t))
        t = slice_end_ns;
    uint64_t c = console_poll_deadline(time_now_ns());
    if (c)
        t = !t || c < t ? c : t;
    /* An interrupt that comes earlier than needed only makes us decide again, so the
     * APIC is touched only to bring the deadline forward (or to arm it at all). */
    if (t && (!programmed_deadline || t < programmed_deadline))
        time_set_deadline(programmed_deadline = t);
}

/* reprogram_slow, after the check that settles most decisions: the APIC is already
 * armed no later than every candidate deadline (the slice end, known guest timers; no
 * console port to poll), so it would not be touched. */
static inline void reprogram(void)
{
    uint64_t armed = programmed_deadline;
    if (armed && !guest_deadlines_changed && !evtchn_console_virq_bound &&
        (!slice_end_ns || slice_end_ns >= armed) && (!guest_deadline || guest_deadline >= armed))
        return;
    reprogram_slow();
}

void sched_timers_changed(void)
{
    guest_deadlines_changed = true;
    reprogram();
}

/* Fire due guest timers and poll timeouts; tell dom0 about console input. */
static void run_guest_timers(uint64_t now)
{
    guest_deadlines_changed = true;
    console_notify_dom0();
    for_each_domain (d) {
        if (d->state != DOMAIN_RUNNING)
            continue;
        for_each_vcpu (d, v) {
            if (v->timer_deadline_ns && now >= v->timer_deadline_ns) {
                v->timer_deadline_ns = 0;
                evtchn_send_virq(d, HAKO_VIRQ_TIMER);
            }
            if (v->timer_period_ns && now >= v->timer_next_ns) {
                /* Next expiry after now, skipping missed ones; a period that would run past
                 * 2^64 ns simply ends the timer. */
                uint64_t missed = (now - v->timer_next_ns) / v->timer_period_ns + 1;
                if (missed > (UINT64_MAX - v->timer_next_ns) / v->timer_period_ns)
                    v->timer_period_ns = v->timer_next_ns = 0;
                else
                    v->timer_next_ns += missed * v->timer_period_ns;
                evtchn_send_virq(d, HAKO_VIRQ_TIMER);
            }
            if (v->polling && v->poll_deadline_ns && now >= v->poll_deadline_ns)
                vcpu_wake(v);
        }
    }
}

void schedule(void)
{
    struct percpu *pc = this_cpu();
    struct vcpu *prev = pc->current;
    uint64_t now = time_now_ns(), slice = 0;
    if (prev) {
        uint64_t ran = now - prev->run_start_ns;
        prev->cpu_time_ns += ran;
        if (prev->se.queued)
            policy_charge(pol(), &prev->se, ran, now);
    }
    struct sched_entity *e = policy_pick(pol(), now, prev ? &prev->se : NULL, &slice);
    struct vcpu *next = e ? (struct vcpu *)((char *)e - __builtin_offsetof(struct vcpu, se))
                          : NULL;
    slice_end_ns = slice ? now + slice : 0;
    reprogram();
    if (next) {
        next->run_start_ns = now;
        if (now - next->time_filled_ns >= TIME_REFRESH_NS) {   /* keep guests' deltas short */
            time_fill(&next->vcpu_info->time, &next->time_version);
            next->time_filled_ns = now;
        }
    }
    if (next == prev)
        return;
    switch_state(prev, next);
    uint64_t *save = prev ? &prev->saved_rsp : &pc->idle_rsp;
    context_switch(save, next ? next->saved_rsp : pc->idle_rsp);
}

void sched_timer_interrupt(void)
{
    time_ack();
    programmed_deadline = 0;                /* it fired: nothing is armed any more */
    uint64_t now = time_now_ns();
    run_guest_timers(now);
    schedule();                         /* slice over, or someone woke: decide again */
}

void sched_console_interrupt(void)
{
    console_interrupt();
    time_ack();                              /* the local APIC's EOI */
    if (console_notify_dom0())
        schedule();                          /* dom0 may have been waiting for it */
}

void sched_run(void)
{
    for (;;) {
        schedule();                     /* returns when nothing can run */
        domain_end_machine_if_done();    /* dom0 gone or stopped: the end */
        /* Wait for the timer or a device; interrupts are taken only here and in guests. */
        __asm__ volatile("sti; hlt; cli");
    }
}

void sched_block(struct vcpu *v)
{
    if (!__atomic_load_n(&v->vcpu_info->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        v->blocked = true;
        vcpu_update_runnable(v);
        schedule();
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
        sched_block(v);
        return 0;
    case HAKO_SCHED_POLL: {
        uint64_t ports = a2, count = a3;
        if (count == 0 || count > HAKO_SCHED_POLL_MAX || (ports & 3))
            return -HAKO_EINVAL;
        if (guest_copy_from(current_vcpu(), v->poll_ports, _gva(ports), count * 4))
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
            printk("d%u (%s) asked to crash, code %lu\n", current_vcpu()->dom->domid, current_vcpu()->dom->name, code);
            dump_regs(vcpu_regs(current_vcpu()));
        }
        domain_shutdown(current_vcpu()->dom, (uint32_t)reason, (uint32_t)code);
        return 0; /* not reached: a stopped domain is never resumed */
    default:
        return -HAKO_ENOSYS;
    }
}
