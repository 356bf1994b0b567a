/*
 * hypervisor/percpu.h: per-physical-CPU data, reached through %gs in the hypervisor.
 */
#ifndef HV_PERCPU_H
#define HV_PERCPU_H

#define PCPU_SCRATCH_RSP 8
#define PCPU_STACK_TOP   16
#define PCPU_CURRENT     24
#define VCPU_IN_USER     0     /* offsetof(struct vcpu, in_user), checked in domain.h */
#define VCPU_UPCALL_WORD 8     /* offsetof(struct vcpu, upcall_word) */
#define VCPU_HC_COUNT    16    /* offsetof(struct vcpu, hc_count) */
#define HC_COUNT_SLOTS   32    /* hypercall numbers counted per vCPU */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct vcpu;

struct percpu {
    struct percpu *self;        /* %gs:0 reads back this structure's address */
    uint64_t scratch_rsp;       /* guest rsp parked by the syscall entry */
    uint64_t stack_top;         /* top of the running vCPU's hypervisor stack */
    struct vcpu *current;       /* running vCPU, or NULL when idle */
    uint64_t idle_rsp;          /* saved stack pointer of the idle context */
};
_Static_assert(__builtin_offsetof(struct percpu, scratch_rsp) == PCPU_SCRATCH_RSP, "pcpu");
_Static_assert(__builtin_offsetof(struct percpu, stack_top) == PCPU_STACK_TOP, "pcpu");
_Static_assert(__builtin_offsetof(struct percpu, current) == PCPU_CURRENT, "pcpu");

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
