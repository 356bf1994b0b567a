/*
 * hypervisor/sched.h: choosing which vCPU runs, and switching to it.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include "domain.h"
#include "hcall_list.h"

/* Make v known to the scheduler (runnable when its domain may run). */
void sched_add(struct vcpu *v);

/* Forget v (domain stopped or destroyed). */
void sched_remove(struct vcpu *v);

/* Give the CPU to the next runnable vCPU, returning when the caller runs again
 * (immediately when it is the only one). A caller that is no longer runnable never
 * returns. */
void schedule(void);

/* A guest timer or poll deadline changed: reprogram the hardware timer. */
void sched_timers_changed(void);

/* The APIC timer fired (interrupts path). */
void sched_timer_interrupt(void);

/* The UART's receive interrupt: take the input in, tell dom0 (VIRQ_CONSOLE). */
void sched_console_interrupt(void);

/* Become this CPU's idle context and run vCPUs until no domain is left; never returns. */
void sched_run(void) __attribute__((noreturn));

/* sched_op(cmd, arg1, arg2): yield, block, poll or shut down the caller. */
long hc_sched_op(HC_ARGS);

/* The current vCPU v waits until an event is pending for it (its upcall_pending),
 * masked or not; returns at once if one already is (sched_op BLOCK, trap-mode hlt). */
void sched_block(struct vcpu *v);

#endif /* HV_SCHED_H */
