/*
 * hypervisor/cpu.h: processor setup (descriptor tables, syscall MSRs, control registers).
 */
#ifndef HV_CPU_H
#define HV_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* CPU features the hypervisor found and enabled. */
struct cpu_features {
    bool nx, smep, smap, umip, pge;
};
extern struct cpu_features cpu_has;

/* Load GDT/TSS/IDT, per-CPU area, syscall MSRs and CR0/CR4 settings for this CPU. */
void cpu_init(void);

/* Point the TSS ring-0 stack (used on exceptions from the guest) at top. */
void cpu_set_kernel_stack(uint64_t top);

#endif /* HV_CPU_H */
