/*
 * hypervisor/percpu.h: per-physical-CPU data, reached through %gs in the hypervisor.
 */
#ifndef HV_PERCPU_H
#define HV_PERCPU_H

#define HC_COUNT_SLOTS   32    /* hypercall numbers counted per vCPU */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct vcpu;

struct percpu {
    struct percpu *self;        /* %gs:0 reads back this structure's address */
    uint64_t scratch_rsp;       /* guest rsp parked by the syscall entry */
    uint64_t stack_top;         /* top of the running vCPU's hypervisor stack */
    struct vcpu *current;       /* running vCPU, or NULL when idle */
    uint64_t idle_rsp;          /* saved stack pointer of the idle context */
    bool cpuid_faulting_on;     /* CPUID faulting is on now (cpuid_fault.c) */
};

/* This CPU's per-CPU area. */
static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

/* The vCPU running on this CPU (NULL in the idle context). */
static inline struct vcpu *current_vcpu(void)
{
    return this_cpu()->current;
}
#endif
#endif /* HV_PERCPU_H */
