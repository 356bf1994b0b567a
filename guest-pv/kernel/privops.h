/*
 * guest-pv/kernel/privops.h: every privileged operation the guest kernel performs goes through
 * this one table, so the paravirtual backend (hypercalls) can be swapped for a trapping
 * or native one without touching the rest of the kernel. (Event channels, domain control
 * and console rings are paravirtual devices with no native counterpart; their drivers,
 * events.c, domains.c and consring.c, talk to the hypervisor themselves.)
 */
#ifndef GUEST_PRIVOPS_H
#define GUEST_PRIVOPS_H

#include <stddef.h>
#include <stdint.h>

#include <hako/hypercall.h>    /* HAKO_SHUTDOWN_*, the reasons shutdown takes */
#include <hako/start_info.h>
#include <hako/traps.h>

/* Hardware transitions (privops->hw_counts): syscall instructions into a hypervisor
 * (hypercalls), CPU exceptions (vectors 0-31) taken in ring 0, CR3 loads, and TLB
 * flushes (whole or one page). */
struct privops_hw {
    uint64_t hypercalls, exceptions, cr3_loads, tlb_flushes;
};

struct privops {
    /* Jumped to (never called) by guest_trap_entry once guest_trap has returned: every
     * register but rax holds the context to resume, rsp points at its struct
     * hako_trap_frame, and the frame's rax, rcx and r11 are restored from it. Does not
     * return. First in the table: entry.S reaches it at offset 0. */
    void (*trap_return)(void);
    const char *name;
    /* 1 when the kernel runs on hako (pv, trap); 0 when it owns the machine (native):
     * then what only a hypervisor offers (domains, console rings, foreign maps) is not
     * there. */
    int on_hypervisor;
    /* First thing at boot: what the backend needs from the start info. */
    void (*init)(const struct hako_start_info *si);
    /* Write bytes to the console. */
    void (*console_write)(const char *buf, size_t len);
    /* Write bytes to the terminal the control domain owns, unprefixed (its shell). */
    void (*terminal_write)(const char *buf, size_t len);
    /* Read up to len pending console bytes without waiting; count or negative error. */
    long (*console_read)(char *buf, size_t len);
    /* The version string of what the kernel runs on (NUL-terminated, at most len bytes
     * with the NUL); 0, or a negative error when there is none. */
    long (*platform_version)(char *buf, size_t len);
    /* Give up the CPU for a moment. */
    void (*yield)(void);
    /* The interrupt flag (events are the kernel's interrupts): irq_disable() masks
     * them; idle() waits for one with them unmasked (it is delivered first) and returns
     * with them masked again. */
    void (*irq_disable)(void);
    void (*idle)(void);
    /* Monotonic time since the platform started, in ns; one timer interrupt at or
     * after deadline_ns (that time; 0 = none). */
    uint64_t (*time_ns)(void);
    /* The time of day (ns since 1970 UTC) when time_ns() was 0; 0 when unknown. */
    uint64_t (*wallclock_ns)(void);
    long (*set_timer)(uint64_t deadline_ns);
    /* Stop the machine/domain: reason is HAKO_SHUTDOWN_*, code 0..255. */
    void (*shutdown)(unsigned reason, unsigned code) __attribute__((noreturn));

    /* Page tables. The kernel names every frame by its pfn and writes entries as (pfn,
     * HAKO_PTE_* flags); what the hardware entry holds is the backend's business.
     * Writes may be deferred (a lazy-MMU window) until pt_commit; reads see what is
     * committed. A frame becomes a table with pt_adopt before it is linked anywhere,
     * and stops being one with pt_release; a released frame may be reused only after
     * the next pt_commit and pt_settle. A top-level table (level 4) is an address space's root. */
    /* Entry idx (0..511) of the table at table_pfn: its flags (0 = not present) and,
     * when present, the pfn it points at. */
    uint64_t (*pt_read)(uint64_t table_pfn, unsigned idx, uint64_t *pfn);
    /* Set entry idx of the table at table_pfn to pfn with flags (flags 0 clears it). */
    long (*pt_write)(uint64_t table_pfn, unsigned idx, uint64_t pfn, uint64_t flags);
    /* Apply every deferred page-table write and release; 0 or the first failure. A
     * release may still be queued after it (pv-async): pt_settle finishes those. */
    long (*pt_commit)(void);
    /* Make the zeroed frame pfn a table at level 1..4; 0 or a negative error (the frame
     * is then ordinary memory again). */
    long (*pt_adopt)(uint64_t pfn, unsigned level);
    /* Make the table at pfn ordinary memory again. Release a root before the tables it
     * links (releasing the root ends their use as tables). The frame may be written
     * again only after the next pt_commit and then pt_settle. */
    void (*pt_release)(uint64_t pfn, unsigned level);
    /* Finish releases still queued after pt_commit (NULL: pt_commit finished them). */
    void (*pt_settle)(void);
    /* Replace the mapping of va in the kernel's address space at once (flags 0
     * unmaps), its stale translation flushed. */
    long (*map_page)(uint64_t va, uint64_t pfn, uint64_t flags);
    /* Point entry idx of the table at table_pfn at another domain's frame (writable,
     * no-execute): the control domain's view of a page of domain domid, named by the
     * frame number that domain's creation reported (a PV device's page, which has no
     * native counterpart). */
    long (*map_foreign)(uint64_t table_pfn, unsigned idx, uint64_t frame, unsigned domid);
    /* Forget every cached translation of the current address spaces. */
    void (*tlb_flush)(void);

    /* Exceptions and user mode: install handlers, the user syscall entry, and resume a
     * trap frame from C (returns only on failure). */
    long (*set_trap_table)(const struct hako_trap_info *t, unsigned n);
    long (*set_syscall_entry)(uint64_t rip);
    /* Where events (the kernel's interrupts) enter, with the same frame (0 = none). */
    long (*set_event_entry)(uint64_t rip);
    /* event_channel_op (ABI.md "Event channels"): BIND_VIRQ, SEND, CLOSE, ...; natively
     * only the timer and console virqs can be bound, to ports the backend chooses. */
    long (*event_channel_op)(unsigned cmd, uint64_t arg);
    /* Move device interrupts that have arrived into the shared-info event state, before
     * the kernel scans it (NULL: the hypervisor does that). */
    void (*collect_events)(void);
    /* Switch process: the kernel stack for events from user mode and the root of the
     * user address space (0 = none; pfn 0 holds the kernel image, never a table). */
    long (*set_user_context)(uint64_t kernel_rsp, uint64_t user_root_pfn);
    long (*resume)(struct hako_trap_frame *frame);
    /* The hardware transitions the platform has counted for this kernel so far (for
     * benchmarks; what cannot be counted reads 0). */
    void (*hw_counts)(struct privops_hw *out);
};
_Static_assert(__builtin_offsetof(struct privops, trap_return) == 0, "entry.S jumps through offset 0");

/* The backend this boot uses, picked by privops_select (privops.c) from the backends
 * every kernel image links (arch/<backend>/privops.c each define one). */
extern const struct privops *privops;
extern const struct privops privops_pv, privops_pv_batch, privops_pv_async, privops_trap,
    privops_native;
int privops_select(const char *cmdline);

#endif /* GUEST_PRIVOPS_H */
