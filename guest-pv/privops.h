/*
 * guest-pv/privops.h: every privileged operation the guest kernel performs goes through
 * this one table, so the paravirtual backend (hypercalls) can be swapped for a trapping
 * or native one without touching the rest of the kernel. (Event channels, domain control
 * and console rings are paravirtual devices with no native counterpart; their drivers,
 * events.c, domains.c and consring.c, talk to the hypervisor themselves.)
 */
#ifndef GUEST_PRIVOPS_H
#define GUEST_PRIVOPS_H

#include <stddef.h>
#include <stdint.h>

#include <hako/memory.h>
#include <hako/start_info.h>
#include <hako/traps.h>

struct privops {
    const char *name;
    /* First thing at boot: what the backend needs from the start info. */
    void (*init)(const struct hako_start_info *si);
    /* Write bytes to the console. */
    void (*console_write)(const char *buf, size_t len);
    /* Write bytes to the terminal the control domain owns, unprefixed (its shell). */
    void (*terminal_write)(const char *buf, size_t len);
    /* Read up to len pending console bytes without waiting; count or negative error. */
    long (*console_read)(char *buf, size_t len);
    /* Give up the CPU for a moment. */
    void (*yield)(void);
    /* The interrupt flag: irq_disable() is cli; idle() waits for an interrupt with
     * interrupts enabled (they are delivered first) and returns with them disabled. */
    void (*irq_disable)(void);
    void (*idle)(void);
    /* Monotonic time since the hypervisor started, in ns; one timer interrupt at or
     * after deadline_ns (that time; 0 = none). */
    uint64_t (*time_ns)(void);
    /* The time of day (ns since 1970 UTC) when time_ns() was 0; 0 when unknown. */
    uint64_t (*wallclock_ns)(void);
    long (*set_timer)(uint64_t deadline_ns);
    /* Stop the machine/domain: reason is HAKO_SHUTDOWN_*, code 0..255. */
    void (*shutdown)(unsigned reason, unsigned code) __attribute__((noreturn));

    /* Page tables: apply n entry updates in order; *done = how many were applied. */
    long (*mmu_update)(const struct hako_mmu_update *reqs, unsigned n, unsigned *done);
    /* Replace the leaf entry mapping va in the current address space. */
    long (*update_va_mapping)(uint64_t va, uint64_t pte, unsigned flags);
    /* Point the leaf entry at machine address pte_maddr to frame mfn of domain domid
     * (writable, no-execute): the control domain's view of another domain's page. */
    long (*map_foreign)(uint64_t pte_maddr, uint64_t mfn, unsigned domid);
    /* Pin/unpin tables, switch base pointers, flush TLBs (HAKO_MMUEXT_*). */
    long (*mmuext)(const struct hako_mmuext_op *ops, unsigned n);

    /* Exceptions and user mode: install handlers, the stack for events from user mode,
     * the user syscall entry, and resume a trap frame (returns only on failure). */
    long (*set_trap_table)(const struct hako_trap_info *t, unsigned n);
    long (*set_kernel_stack)(uint64_t rsp);
    /* Fire-and-forget privileged work: queue op(a0, a1, a2) to run later, in order (no
     * result); kick() makes sure everything queued has run. */
    void (*queue)(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2);
    void (*kick)(void);
    long (*set_syscall_entry)(uint64_t rip);
    /* Switch process: the kernel stack for events from user mode and the user table
     * (mfn of a pinned L4, 0 = none), together. */
    long (*set_user_context)(uint64_t kernel_rsp, uint64_t user_l4_mfn);
    long (*resume)(struct hako_trap_frame *frame);
};

extern const struct privops *privops;

#endif /* GUEST_PRIVOPS_H */
