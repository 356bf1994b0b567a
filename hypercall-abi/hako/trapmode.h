/*
 * hako public ABI: trap-and-emulate mode. A domain created in this mode runs a kernel
 * written like a native one: it executes privileged instructions (cli, mov to cr3,
 * wrmsr, lidt, iretq, out...) and stores straight into its own page tables; each one
 * faults in ring 3 and the hypervisor decodes, checks and emulates it. See ABI.md
 * "Trap-and-emulate mode" for every instruction, its exact semantics and what is refused.
 */
#ifndef HAKO_TRAPMODE_H
#define HAKO_TRAPMODE_H

#include "compiler.h"

/* The selectors a trap-mode kernel sees in the frames the hypervisor pushes and gives
 * to iretq. The kernel ones have RPL 0 and the user ones name a slot the hypervisor
 * keeps empty, so an iretq with either faults and is emulated (a ring-3 iretq to a
 * present ring-3 selector would not). */
#define HAKO_TRAP_KERNEL_CS   0x08u
#define HAKO_TRAP_KERNEL_SS   0x10u
#define HAKO_TRAP_USER_CS     0x43u
#define HAKO_TRAP_USER_SS     0x4Bu

/* Event upcalls arrive as this IDT vector (an external interrupt) while the virtual
 * interrupt flag is set. */
#define HAKO_TRAP_EVENT_VECTOR 32u

/* The virtual control registers a trap-mode kernel starts with (mov from crN). */
#define HAKO_TRAP_CR0  0x80050033ull   /* PG WP NE ET MP PE */
#define HAKO_TRAP_CR4  0x00000620ull   /* OSXMMEXCPT OSFXSR PAE */

/* MSRs (rdmsr/wrmsr). The architectural ones keep their meaning; the synthetic one
 * holds what ring compression needs and no instruction can say: the top-level table
 * of user mode (a machine address, 0 = none), loaded on every entry to user mode. */
#define HAKO_MSR_EFER          0xC0000080u   /* read; a write must keep the value */
#define HAKO_MSR_STAR          0xC0000081u   /* read/write, kept, not used */
#define HAKO_MSR_LSTAR         0xC0000082u   /* user-mode syscall entry */
#define HAKO_MSR_SFMASK        0xC0000084u   /* rflags bits cleared on that entry */
#define HAKO_MSR_PAT           0x00000277u   /* read; a write must keep the value */
#define HAKO_MSR_TSC_DEADLINE  0x000006E0u   /* one-shot timer at this TSC value, 0 = off */
#define HAKO_MSR_USER_ROOT     0x4B480000u   /* synthetic: user-mode top-level table */

/* A software-available PTE bit a trap-mode kernel sets in the read-only leaf entries
 * through which it writes its page tables. A store through such an entry is emulated:
 * validated like mmu_update when the frame is in use as a page table, written as it is
 * when the frame is not one now (a table being built, or one not loaded). A store
 * through any other read-only entry is the guest's own #PF. */
#define HAKO_TRAP_PTE_TABLE    (1ULL << 9)

/* The emulated UART: a 16550 subset at COM1, byte-wide in/out only. */
#define HAKO_TRAP_UART_BASE    0x3F8u
#define HAKO_TRAP_UART_PORTS   8u

#endif /* HAKO_TRAPMODE_H */
