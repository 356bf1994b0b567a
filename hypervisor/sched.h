/*
 * hypervisor/sched.h: choosing which vCPU runs, and switching to it.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include "domain.h"

/* Make v eligible to run. */
void sched_add(struct vcpu *v);

/* Take v off the run queue (it keeps its state). */
void sched_remove(struct vcpu *v);

/* Give the CPU to the next runnable vCPU, returning when the caller runs again
 * (immediately when it is the only one). A caller that is no longer runnable never
 * returns. */
void schedule(void);

/* Become this CPU's idle context and run vCPUs until no domain is left; never returns. */
void sched_run(void) __attribute__((noreturn));

#endif /* HV_SCHED_H */
