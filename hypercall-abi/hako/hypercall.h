/*
 * hako public ABI: hypercall numbers and calling convention.
 *
 * Calling convention (x86-64), from the guest kernel (ring 3):
 *   rax = hypercall number (HAKO_HC_*)
 *   rdi, rsi, rdx, r10, r8, r9 = arguments 1..6 (unused ones are ignored)
 *   execute `syscall`
 *   rax = result: >= 0 success, < 0 = -HAKO_E* (see errno.h)
 *   rcx and r11 are clobbered (by the syscall instruction); every other register,
 *   including the argument registers, rsp and the FPU/SSE state, is preserved.
 *   Memory named by pointer arguments is read or written as documented per call;
 *   the hypercall is a full compiler barrier for it ("memory" clobber).
 * Unknown numbers and unknown sub-commands return -HAKO_ENOSYS.
 * Guest pointers are guest virtual addresses in the caller's current address space.
 * A pointer that is not canonical, lies in the hypervisor range, wraps, is not mapped
 * present+user (+writable for OUT buffers) for its whole length gives -HAKO_EFAULT.
 * Pointers to structures must be aligned to 8 bytes, else -HAKO_EINVAL (every public
 * structure passed by pointer is declared with at least that alignment). Byte buffers
 * need no alignment; the POLL port array is 4-aligned.
 */
#ifndef HAKO_HYPERCALL_H
#define HAKO_HYPERCALL_H

#include "compiler.h"
#include "errno.h"
#include "version.h"

#define HAKO_HC_console_io   0   /* console_io(cmd, buf, len) */
#define HAKO_HC_version      1   /* version(cmd, arg) */
#define HAKO_HC_sched_op     2   /* sched_op(cmd, arg1, arg2) */
#define HAKO_HC_mmu_update   3   /* mmu_update(reqs, count, done)          memory.h */
#define HAKO_HC_mmuext_op    4   /* mmuext_op(ops, count, done)            memory.h */
#define HAKO_HC_update_va_mapping 5 /* update_va_mapping(va, val, flags)   memory.h */
#define HAKO_HC_memory_op    6   /* memory_op(cmd, arg)                    memory.h */
#define HAKO_HC_set_trap_table 7 /* set_trap_table(table, count)           traps.h */
#define HAKO_HC_stack_switch 8   /* stack_switch(kernel_rsp)               traps.h */
#define HAKO_HC_iret         9   /* iret(): frame at rsp; no return on success */
#define HAKO_HC_set_callback 10  /* set_callback(type, address)            traps.h */
#define HAKO_HC_debug_op     11  /* debug_op(cmd, arg) */
#define HAKO_HC_event_channel_op 12 /* event_channel_op(cmd, arg)          events.h */
#define HAKO_HC_set_timer_op 13  /* set_timer_op(cmd, value)               events.h */
#define HAKO_HC_domctl       14  /* domctl(cmd, arg): control domain only  domctl.h */
#define HAKO_HC_multicall    15  /* multicall(calls, count) */
#define HAKO_HC_async_op     16  /* async_op(cmd, arg)                     async.h */
#define HAKO_HC_grant_table_op 17 /* grant_table_op(cmd, ops, count)       grant_table.h */
#define HAKO_HC_physdev_op   18  /* physdev_op(cmd, arg): control domain   physdev.h */

/* ---- console_io ---------------------------------------------------------------- */
#define HAKO_CONSOLE_WRITE   0   /* IN buf[len]: write bytes to the domain's console. Returns len. */
#define HAKO_CONSOLE_WRITE_RAW 2 /* IN buf[len]: write bytes with no line prefix (ABI 0.5; for
                                    the control domain's terminal). Control domain only, else
                                    -HAKO_EPERM. Returns len. */
#define HAKO_CONSOLE_READ    1   /* OUT buf[len]: read up to len pending input bytes without
                                    waiting. Returns count (0 = nothing pending). Control domain
                                    only, else -HAKO_EPERM. */
#define HAKO_CONSOLE_IO_MAX  4096u  /* len above this: -HAKO_EINVAL. len == 0 returns 0. */

/* ---- version ------------------------------------------------------------------- */
#define HAKO_VERSION_ABI     0   /* Returns HAKO_ABI_VERSION of the running hypervisor. arg ignored. */
#define HAKO_VERSION_INFO    1   /* arg = OUT struct hako_version_info *. Returns 0. */

/* Feature bits in hako_version_info.features. */
#define HAKO_FEAT_NX         (1ULL << 0)  /* bit 63 (no-execute) in guest PTEs is honoured */
#define HAKO_FEAT_CPUID_EMULATED (1ULL << 1) /* 0.8: a trap-mode domain's cpuid is trapped
                                               (CPUID faulting) and answered with hako's
                                               view (ABI.md 20.4); clear: it runs natively */

#ifndef __ASSEMBLER__
struct hako_version_info {
    uint16_t abi_major;          /* OUT */
    uint16_t abi_minor;          /* OUT */
    uint32_t nr_hypercalls;      /* OUT: hypercall numbers 0..nr_hypercalls-1 exist */
    uint64_t features;           /* OUT: HAKO_FEAT_* */
    char     hv_version[32];     /* OUT: NUL-terminated hypervisor build string */
    uint64_t _reserved[4];       /* OUT: zero */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_version_info) == 80, "hako_version_info size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_version_info) == 8, "hako_version_info align");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_version_info, features) == 8, "features offset");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_version_info, hv_version) == 16, "hv_version offset");
#endif


/* ---- sched_op ------------------------------------------------------------------ */
#define HAKO_SCHED_YIELD     0   /* Give up the CPU; returns 0 when scheduled again. */
#define HAKO_SCHED_SHUTDOWN  1   /* arg1 = reason (HAKO_SHUTDOWN_*), arg2 = code 0..255.
                                    Does not return on success; -HAKO_EINVAL for a bad
                                    reason or code. */

#define HAKO_SCHED_BLOCK     2   /* Wait until an event is pending for this vCPU; clears the
                                    upcall mask first. Returns 0 (at once if one is pending). */
#define HAKO_SCHED_POLL      3   /* arg1 = IN uint32_t ports[arg2], arg2 = count (1..128),
                                    arg3 = absolute timeout in ns (0 = none). Returns 1 when
                                    one of the ports is pending, 0 on timeout. */
#define HAKO_SCHED_POLL_MAX  128

#define HAKO_SHUTDOWN_POWEROFF 0 /* clean stop; code is the exit status */
#define HAKO_SHUTDOWN_REBOOT   1 /* stop and ask to be restarted */
#define HAKO_SHUTDOWN_CRASH    2 /* the guest kernel gave up; code is its own reason */
#define HAKO_SHUTDOWN_CODE_MAX 255

/* ---- multicall ----------------------------------------------------------------- */
/* multicall(calls, count): run calls[0..count) in order, each as if made on its own;
 * each entry's result lands in its `result`. A failing entry does not stop the batch
 * unless it has HAKO_MC_STOP_ON_ERROR; then the entries after it are not run and get
 * -HAKO_ECANCELED. Returns the number of entries run, -HAKO_EFAULT if the array cannot
 * be read or written, -HAKO_EINVAL if it is misaligned, -HAKO_E2BIG when count >
 * HAKO_MULTICALL_MAX. Long batches are split
 * transparently. Not allowed inside a batch (result -HAKO_EINVAL): multicall itself
 * (no nesting) and iret. */
#define HAKO_MULTICALL_MAX     4096u
#define HAKO_MC_STOP_ON_ERROR  (1u << 0)

#ifndef __ASSEMBLER__
struct hako_multicall_entry {
    uint64_t op;          /* IN: hypercall number */
    uint64_t args[6];     /* IN: its arguments, as rdi, rsi, rdx, r10, r8, r9 */
    int64_t  result;      /* OUT: what it returned (or -HAKO_ECANCELED) */
    uint32_t flags;       /* IN: HAKO_MC_* */
    uint32_t _pad0;       /* IN: zero */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_multicall_entry) == 72, "multicall entry size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_multicall_entry) == 8, "hako_multicall_entry align");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_multicall_entry, result) == 56, "result offset");
#endif

/* ---- debug_op ------------------------------------------------------------------ */
#define HAKO_DEBUG_AUDIT         0  /* Recount every reference to the caller's frames (its
                                       validated page tables, pins, the hypervisor's own
                                       references, other domains' foreign mappings) and check
                                       its own foreign mappings; returns the number of frames
                                       and foreign counts that disagree (0 = consistent). */
#define HAKO_DEBUG_CONTINUATIONS 1  /* Returns how many times the caller's hypercalls were
                                       split (preempted and continued) so far. */
#define HAKO_DEBUG_COUNTER       2  /* arg = HAKO_COUNTER_*: returns that per-vCPU count */
#define HAKO_DEBUG_RAISE_VIRQ    3  /* raise HAKO_VIRQ_DEBUG on the caller */
#define HAKO_DEBUG_FREE_FRAMES   4  /* returns the hypervisor's free machine frames (leak checks) */
#define HAKO_DEBUG_TIME_HANDLER  5  /* runs the version(ABI) handler arg times (1..10^6) inside
                                       the hypervisor; returns the TSC ticks it took (under
                                       QEMU -icount: instructions): the bare handler cost */

#define HAKO_COUNTER_TLB_FLUSHES 0  /* full TLB flushes done for this vCPU by hypercalls */
#define HAKO_COUNTER_INVLPGS     1  /* single-page invalidations done for it */
#define HAKO_COUNTER_CR3_LOADS   2  /* address-space switches (mode changes, scheduling) */

#endif /* HAKO_HYPERCALL_H */
