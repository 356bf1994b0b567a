/*
 * hypervisor/sched.c: round-robin run queue and vCPU switching.
 * (Weights, caps, timer-driven preemption and blocking arrive with the scheduler work;
 * the switching mechanism here is the one they will use.)
 */
#include "sched.h"

#include <hako/hypercall.h>

#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "pagetype.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "x86.h"

void context_switch(uint64_t *save_rsp, uint64_t load_rsp);

static struct vcpu *rq_head;  /* runnable vCPUs, in round-robin order */

void sched_add(struct vcpu *v)
{
    if (v->runnable)
        return;
    v->runnable = true;
    v->rq_next = NULL;
    struct vcpu **p = &rq_head;
    while (*p)
        p = &(*p)->rq_next;
    *p = v;
}

void sched_remove(struct vcpu *v)
{
    if (!v->runnable)
        return;
    for (struct vcpu **p = &rq_head; *p; p = &(*p)->rq_next) {
        if (*p == v) {
            *p = v->rq_next;
            break;
        }
    }
    v->runnable = false;
    v->rq_next = NULL;
}

/* The vCPU to run after cur: the next in the queue, wrapping; NULL when none. */
static struct vcpu *pick_next(struct vcpu *cur)
{
    if (cur && cur->runnable && cur->rq_next)
        return cur->rq_next;
    return rq_head;
}

/* Load next's address space, stacks and FPU state; save prev's FPU state. */
static void switch_state(struct vcpu *prev, struct vcpu *next)
{
    struct percpu *pc = this_cpu();
    if (prev)
        __asm__ volatile("fxsave64 %0" : "=m"(prev->fpu));
    if (next) {
        __asm__ volatile("fxrstor64 %0" : : "m"(next->fpu));
        write_cr3(next->cr3);
        pagetype_tlb_flushed();
        next->stat_cr3_loads++;
        cpu_set_kernel_stack(next->stack_top);
    } else {
        write_cr3(paging_idle_cr3());   /* idle never runs on a domain's tables */
    }
    pc->current = next;
}

void schedule(void)
{
    struct percpu *pc = this_cpu();
    struct vcpu *prev = pc->current;
    struct vcpu *next = pick_next(prev);
    if (next == prev)
        return;
    switch_state(prev, next);
    uint64_t *save = prev ? &prev->saved_rsp : &pc->idle_rsp;
    context_switch(save, next ? next->saved_rsp : pc->idle_rsp);
}

/* Called in the idle context when nothing is runnable: end the machine when dom0 is
 * gone or stopped, destroying every domain first. */
static void idle_check_machine(void)
{
    struct domain *dom0 = domain_get(0);
    if (dom0 && dom0->state == DOMAIN_RUNNING)
        return;
    unsigned status = HV_EXIT_CODE_MAX;
    if (dom0) {
        if (dom0->shutdown_reason == HAKO_SHUTDOWN_POWEROFF)
            status = MIN(dom0->shutdown_code, (uint32_t)HV_EXIT_CODE_MAX);
        else if (dom0->shutdown_reason == HAKO_SHUTDOWN_REBOOT)
            status = HV_EXIT_REBOOT;
        else
            status = HV_EXIT_CRASH;
    }
    for (unsigned id = 0; id < MAX_DOMAINS; id++)
        if (domain_get((uint16_t)id))
            domain_destroy(domain_get((uint16_t)id));
    extern uint64_t hv_free_frames_before_dom0;
    printk("all domains destroyed; %lu frames free (%lu before dom0 was built)\n",
           frame_free_count(), hv_free_frames_before_dom0);
    printk("machine exit status %u\n", status);
    machine_exit(status);
}

void sched_run(void)
{
    for (;;) {
        if (rq_head) {
            schedule();             /* returns when every vCPU has left the CPU */
            continue;
        }
        idle_check_machine();
        /* Domains exist but none can run: wait for an interrupt to wake one. */
        __asm__ volatile("sti; hlt; cli");
    }
}
