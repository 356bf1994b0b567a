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
    bool cpuid_faulting;        /* cpuid outside ring 0 can be made to #GP (cpuid_fault.c) */
};
extern struct cpu_features cpu_has;

/* Load GDT/TSS/IDT, per-CPU area, syscall MSRs and CR0/CR4 settings for this CPU. */
void cpu_init(void);

/* cpuid_fault.c: find out whether this CPU has CPUID faulting (cpu_has.cpuid_faulting)
 * and leave it off; call once the IDT is loaded (the probe may take a #GP). */
void cpuid_fault_probe(void);

/* Turn CPUID faulting on or off on this CPU (nothing when it has none). */
void cpuid_fault_set(bool on);

struct cpu_regs;
/* A #GP in the hypervisor that cpuid_fault_probe expects: resume past it and return
 * true; false for every other exception (which stays fatal). */
bool cpuid_fault_fixup(struct cpu_regs *regs);

/* Point the TSS ring-0 stack (used on exceptions from the guest) at top. */
void cpu_set_kernel_stack(uint64_t top);

#endif /* HV_CPU_H */
