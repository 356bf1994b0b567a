/*
 * hypervisor/guest_type.h: what differs between kinds of guest. A domain has one guest
 * type; the core (scheduling, memory, events, batches) reaches everything type-specific
 * through it: which hypercalls exist, what an exception from the guest does, how a
 * pending event reaches it. The PV type (vtrap.c) is the only one so far; a
 * trap-and-emulate type adds an instruction emulator as its exception handler and its
 * own hypercall tables, without touching the callers.
 */
#ifndef HV_GUEST_TYPE_H
#define HV_GUEST_TYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "hcall_list.h"
#include "types.h"

struct vcpu;
struct cpu_regs;

/* The paravirtualized part of a vCPU: the guest kernel's own trap table, stacks,
 * callbacks and its two modes (vtrap.c, mmu.c). */
struct pv_vcpu {
    bool in_user;               /* guest user mode (else guest kernel mode); entry.S reads it */
    const uint16_t *upcall_word;        /* entry.S: upcall_pending | upcall_mask << 8 of its
                                           vcpu_info when it has an event callback, else a
                                           word that is always 0 (no upcall to deliver) */
    uint64_t kernel_l4;         /* mfn of the kernel-mode top-level table (holds a type ref) */
    uint64_t user_l4;           /* mfn of the user-mode top-level table, 0 = none */
    uint64_t kernel_sp;         /* guest kernel stack for events from user mode, 0 = none */
    uint64_t trap_handler[32];  /* guest handlers for vectors 0..31, 0 = none */
    uint64_t syscall_callback;  /* guest kernel entry for user-mode syscall, 0 = none */
    uint64_t event_callback;    /* guest entry for event upcalls, 0 = none */
    uint64_t failsafe_callback; /* guest entry for refused iret frames, 0 = none */
    uint64_t syscall_frame;     /* entry.S's user-syscall fast path: where the trap frame
                                   goes below kernel_sp, when there is a syscall callback
                                   and the frame lies in guest space; else 0 (the full
                                   path). PV domains only (vtrap.c keeps it) */
};

/* The trap-and-emulate part of a vCPU: the virtual CPU state a native-style kernel
 * reads and writes with instructions (trapmode.c, emulate*.c). Its handlers, syscall
 * entry and event entry live in pv_vcpu's fields (trap_handler[], syscall_callback,
 * event_callback) so delivery and the upcall check are shared. */
#define TRAP_KEPT_ROOTS 4

struct trap_vcpu {
    uint64_t cr0, cr2, cr4;     /* virtual values (mov from crN) */
    uint64_t idt_base, gdt_base;        /* as lidt/lgdt loaded them */
    uint16_t idt_limit, gdt_limit;
    uint16_t tr;                /* as ltr loaded it, 0 = none */
    uint64_t tss_base;          /* the TSS ltr named (rsp0 read from it on entry from
                                   user mode), 0 = none */
    uint64_t trap_gates;        /* bit n: IDT vector n is a trap gate (keeps the
                                   virtual IF); else an interrupt gate */
    uint64_t star, sfmask;      /* MSRs kept for rdmsr (sfmask also applies) */
    uint64_t tsc_deadline;      /* the TSC-deadline MSR, 0 = off */
    uint8_t uart_ier, uart_lcr, uart_mcr, uart_scr, uart_dll, uart_dlm;  /* 16550 subset */
    /* User roots loaded lately, newest first, each holding one page and L4 type
     * reference so that loading it again validates nothing (0 = empty). Dropped, all
     * of them, when a type they hold stands in the way (trapmode_drop_kept_roots). */
    uint64_t kept_roots[TRAP_KEPT_ROOTS];
    /* The bytes emulate_gp_fast read at peek_rip and did not emulate, for the full path
     * of the same #GP (emulate_insn) to use instead of reading them again. */
    uint8_t peeked[16];
    uint64_t peek_rip;
    bool peek_valid;
};

struct guest_type {
    const char *name;
    unsigned hcg;                       /* its HCG_* bit: the HC_LIST calls it may make */
    const hypercall_fn *hc_table;       /* syscall dispatch by number, HC_NR slots: the
                                           calls it may not make answer ENOSYS */
    const hypercall_fn *mc_burst;       /* entry.S mc_burst's table (hypercall.h) */
    const hypercall_fn *async_burst;    /* entry.S async_burst's table */
    /* An exception (vector 0..31) the guest running on v took, regs its frame, cr2 the
     * fault address of a page fault: handle it or stop the domain. */
    void (*exception)(struct vcpu *v, struct cpu_regs *regs, gva_t cr2);
    /* Before v resumes regs: deliver a pending unmasked event if v can take one now.
     * True when regs were changed to enter it. */
    bool (*deliver_events)(struct vcpu *v, struct cpu_regs *regs);
    /* A syscall from v's user mode (regs: rip after it, rcx/r11 as the CPU left
     * them): enter the guest kernel's system-call path, or stop the domain. */
    void (*user_syscall)(struct vcpu *v, struct cpu_regs *regs);
    /* Set up the type-specific state of a new vCPU (NULL: nothing to do). */
    void (*vcpu_init)(struct vcpu *v);
    /* Run with CPUID faulting on (where the CPU has it): its cpuid is emulated. */
    bool cpuid_faulting;
};

/* The paravirtualized guest type (vtrap.c). */
extern const struct guest_type guest_type_pv;
/* The trap-and-emulate guest type (trapmode.c). */
extern const struct guest_type guest_type_trap;

/* The guest type a kernel command line asks for: trap when it has the word
 * "privops=trap", else PV (ABI.md "Trap-and-emulate mode"). */
const struct guest_type *guest_type_for_cmdline(const char *cmdline);

#endif /* HV_GUEST_TYPE_H */
