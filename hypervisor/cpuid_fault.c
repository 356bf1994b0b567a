/*
 * hypervisor/cpuid_fault.c: CPUID faulting (Intel's MSR_PLATFORM_INFO bit 31 says the
 * CPU has it, MSR_MISC_FEATURES_ENABLES bit 0 turns it on): with it on, cpuid outside
 * ring 0 raises #GP(0), so a trap-mode guest's cpuid can be answered by the emulator
 * (emulate_cpuid.c). Probed once at boot with a read that survives a #GP (a CPU without
 * the MSR, such as AMD's, refuses it); switched per vCPU by the scheduler, only when the
 * wanted state differs from the CPU's.
 */
#include "cpu.h"

#include "percpu.h"
#include "x86.h"

#define MSR_PLATFORM_INFO           0xCEu
#define PLATFORM_INFO_CPUID_FAULT   (1ull << 31)
#define MSR_MISC_FEATURES_ENABLES   0x140u
#define MISC_FEATURES_CPUID_FAULT   (1ull << 0)

/* The one instruction a #GP in the hypervisor may come from and be survived, and where
 * execution resumes then (cpuid_fault_fixup). */
extern const char rdmsr_safe_insn[], rdmsr_safe_resume[];

/* rdmsr that reports a #GP instead of taking the hypervisor down: true with *val, or
 * false when the CPU refused msr. Neither inlined nor cloned: its labels exist once. */
static __attribute__((noinline, noclone)) bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    uint64_t faulted = 0;
    __asm__ volatile(".globl rdmsr_safe_insn, rdmsr_safe_resume\n"
                     "rdmsr_safe_insn: rdmsr\n"
                     "rdmsr_safe_resume:"
                     : "=a"(lo), "=d"(hi), "+S"(faulted) : "c"(msr));
    *val = (uint64_t)hi << 32 | lo;
    return !faulted;
}

bool cpuid_fault_fixup(struct cpu_regs *regs)
{
    if (regs->vector != 13 || regs->rip != (uint64_t)rdmsr_safe_insn)
        return false;
    regs->rip = (uint64_t)rdmsr_safe_resume;
    regs->rsi = 1;                  /* rdmsr_safe's "faulted" operand */
    return true;
}

void cpuid_fault_probe(void)
{
    uint64_t info, misc;
    cpu_has.cpuid_faulting = rdmsr_safe(MSR_PLATFORM_INFO, &info) &&
                             (info & PLATFORM_INFO_CPUID_FAULT) &&
                             rdmsr_safe(MSR_MISC_FEATURES_ENABLES, &misc);
    if (cpu_has.cpuid_faulting)                 /* start off, whatever the loader left */
        wrmsr(MSR_MISC_FEATURES_ENABLES, misc & ~MISC_FEATURES_CPUID_FAULT);
    this_cpu()->cpuid_faulting_on = false;
}

void cpuid_fault_set(bool on)
{
    struct percpu *pc = this_cpu();
    if (!cpu_has.cpuid_faulting || pc->cpuid_faulting_on == on)
        return;
    uint64_t misc = rdmsr(MSR_MISC_FEATURES_ENABLES);
    wrmsr(MSR_MISC_FEATURES_ENABLES,
          on ? misc | MISC_FEATURES_CPUID_FAULT : misc & ~MISC_FEATURES_CPUID_FAULT);
    pc->cpuid_faulting_on = on;
}
