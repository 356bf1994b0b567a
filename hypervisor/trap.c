/*
 * hypervisor/trap.c: exceptions and interrupts taken by the hypervisor.
 * A fault in the hypervisor is fatal; a fault in a guest stops only that domain.
 */
#include "console.h"
#include "cpu.h"
#include "devices.h"
#include "domain.h"
#include "guest_access.h"
#include "lib.h"
#include "panic.h"
#include "percpu.h"
#include "sched.h"
#include "time.h"

/* Entry from exc_common (entry.S) for every vector; returns to resume the frame. */
void trap_entry(struct cpu_regs *regs)
{
    bool from_guest = regs->cs & 3;
    if (regs->vector >= 32) {               /* interrupts: from a guest or the idle loop */
        if (regs->vector == TIMER_VECTOR)
            sched_timer_interrupt();
        else if (regs->vector == CONSOLE_VECTOR)
            sched_console_interrupt();
        else if (regs->vector >= DEVICE_VECTOR0 && regs->vector < DEVICE_VECTOR0 + HAKO_PHYSDEV_MAX)
            devices_interrupt((unsigned)(regs->vector - DEVICE_VECTOR0));
        else if (regs->vector != SPURIOUS_VECTOR)
            printk("unexpected interrupt, vector %lu\n", regs->vector);
        if (from_guest) {
            struct vcpu *v = current_vcpu();
            async_drain(v, ASYNC_DRAIN_ON_ENTRY);   /* no doorbell needed */
            v->dom->type->deliver_events(v, regs);
        }
        return;
    }
    if (!from_guest && (cpuid_fault_fixup(regs) || guest_peek_fixup(regs)))
        return;     /* the boot-time MSR probe's expected #GP, a failed guest_peek_insn */
    if (!from_guest)
        panic_with_regs(regs, "exception in the hypervisor");
    if (regs->vector == 2 || regs->vector == 8 || regs->vector == 18)
        panic_with_regs(regs, "NMI, double fault or machine check");
    struct vcpu *v = current_vcpu();
    gva_t cr2 = _gva(regs->vector == 14 ? read_cr2() : 0);
    v->dom->type->exception(v, regs, cr2);      /* handled, or the domain is stopped */
    v->dom->type->deliver_events(v, regs);
}

/* The frame of a hypercall would return to a non-canonical rip (a syscall in the last
 * bytes of the lower half): sysret would fault in ring 0, so stop the domain instead. */
void hypercall_bad_return(struct cpu_regs *regs)
{
    domain_crash(current_vcpu()->dom, regs, "hypercall returns to a non-canonical address");
    panic_with_regs(regs, "crashed domain resumed");
}

/* A syscall from 32-bit code reached the hypervisor (entry.S cstar_entry). */
void compat_syscall(struct cpu_regs *regs)
{
    domain_crash(current_vcpu()->dom, regs, "syscall from 32-bit code");
    panic_with_regs(regs, "crashed domain resumed");
}
