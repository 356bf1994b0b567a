/*
 * hypervisor/trapmode.c: the trap-and-emulate guest type. Its kernel runs in ring 3 but
 * is written like a native one: exceptions reach it through the IDT it loaded with lidt,
 * as the CPU's own frame (error code, rip, cs, rflags, rsp, ss) on the stack the TSS it
 * loaded with ltr names; it leaves with iretq or sysretq; user-mode syscalls enter it at
 * LSTAR. Its privileged instructions fault and go to the emulator (emulate.c) first.
 * See ABI.md "Trap-and-emulate mode".
 */
#include <hako/arch-x86_64.h>
#include <hako/errno.h>
#include <hako/trapmode.h>
#include <hako/traps.h>

#include "console.h"
#include "cpu.h"
#include "emulate.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "mmu.h"
#include "pagetype.h"
#include "vtrap.h"
#include "x86.h"

#define IDT_VECTORS (HAKO_TRAP_EVENT_VECTOR + 1)   /* gates hako reads: 0..31 and events */

/* One 64-bit IDT gate as the guest wrote it. */
struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, attr;          /* attr: P(7) DPL(6:5) type(3:0) */
    uint16_t off1;
    uint32_t off2, reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "a long-mode gate is 16 bytes");

#define GATE_P          0x80u
#define GATE_TYPE_INTR  0xEu
#define GATE_TYPE_TRAP  0xFu

/* True when the CPU pushes an error code for vector. */
static bool vector_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
           vector == 29 || vector == 30;
}

/* The virtual interrupt flag is the inverse of the upcall mask. */
static bool vif(const struct vcpu *v)
{
    return !__atomic_load_n(&v->vcpu_info->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
}

static void set_vif(struct vcpu *v, bool on)
{
    __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, on ? 0 : 1, __ATOMIC_SEQ_CST);
}

/* The kernel stack for an entry from user mode: rsp0 of the TSS ltr loaded (read from
 * guest memory now, as the CPU does, in kernel mode: the user table does not map the
 * kernel), 0 when there is none or it is unusable. */
static uint64_t tss_rsp0(struct vcpu *v)
{
    uint64_t rsp0;
    if (!v->trap.tss_base || guest_copy_from(v, &rsp0, _gva(v->trap.tss_base + 4), 8))
        return 0;
    return rsp0 && guest_addr_ok(rsp0 - 1) ? rsp0 : 0;
}

/* Deliver vector to v's kernel through its IDT as the CPU would: a hardware frame on
 * the current stack (kernel mode) or the TSS's rsp0 (user mode, which switches to
 * kernel mode). False, with nothing changed, when there is no gate or no stack; a stack
 * the frame cannot be written to stops the domain. */
static bool trap_deliver(struct vcpu *v, struct cpu_regs *regs, unsigned vector, bool has_err,
                         uint64_t err)
{
    uint64_t handler = vector == HAKO_TRAP_EVENT_VECTOR ? v->pv.event_callback
                       : vector < HAKO_TRAP_VECTORS ? v->pv.trap_handler[vector] : 0;
    bool from_user = v->pv.in_user;
    if (!handler)
        return false;
    if (from_user)
        vtrap_set_mode(v, false);       /* the TSS is in the kernel's address space */
    uint64_t stack = from_user ? tss_rsp0(v) : regs->rsp;
    if (!stack) {
        vtrap_set_mode(v, true);
        return false;
    }
    uint64_t f[6];
    unsigned n = 0;
    if (has_err)
        f[n++] = err;
    f[n++] = regs->rip;
    f[n++] = from_user ? HAKO_TRAP_USER_CS : HAKO_TRAP_KERNEL_CS;
    f[n++] = (regs->rflags & ~RFLAGS_IF) | (vif(v) ? RFLAGS_IF : 0);
    f[n++] = regs->rsp;
    f[n++] = from_user ? HAKO_TRAP_USER_SS : HAKO_TRAP_KERNEL_SS;
    uint64_t top = ALIGN_DOWN(stack, 16), at = top - n * 8;
    if (top < n * 8 || guest_copy_fast(v, v->frame_walk[1], _gva(at), f, n * 8, true))
        domain_crash(v->dom, regs, "cannot write an exception frame on the guest kernel stack");
    regs->rip = handler;
    regs->rsp = at;
    regs->rflags = (regs->rflags & GUEST_RFLAGS_MASK & ~RFLAGS_TF) | HAKO_GUEST_RFLAGS;
    regs->cs = HAKO_GUEST_CS64;
    regs->ss = HAKO_GUEST_DS;
    if (vector == HAKO_TRAP_EVENT_VECTOR || !(v->trap.trap_gates & (1ull << vector)))
        set_vif(v, false);      /* an interrupt gate (events always are one) */
    return true;
}

/* An exception from a trap-mode guest: the emulator first (kernel mode; in user mode
 * only for a cpuid that CPUID faulting made #GP), then the guest's own gate; no gate
 * stops the domain. */
static void trap_exception(struct vcpu *v, struct cpu_regs *regs, gva_t cr2)
{
    unsigned vector = (unsigned)regs->vector;
    v->dom->stat_traps[vector]++;
    bool emulable = v->pv.in_user ? vector == 13 && cpu_has.cpuid_faulting   /* cpuid */
                                  : vector == 6 || vector == 13 || vector == 14;
    if (emulable && emulate_insn(v, regs, cr2))
        return;
    vector = (unsigned)regs->vector;    /* the emulator may have named the fault it is */
    if (vector == 14)
        v->trap.cr2 = gva_x(cr2);
    if (!trap_deliver(v, regs, vector, vector_has_error_code(vector), regs->error_code))
        domain_crash(v->dom, regs, "unhandled exception (no IDT gate or no kernel stack)");
}

/* Pending unmasked event and an event gate: enter it as an external interrupt. */
static bool trap_deliver_events(struct vcpu *v, struct cpu_regs *regs)
{
    return vtrap_event_deliverable(v) && trap_deliver(v, regs, HAKO_TRAP_EVENT_VECTOR, false, 0);
}

/* syscall from user mode, as the CPU does it: rcx = rip, r11 = rflags, rflags &=
 * ~SFMASK, enter kernel mode at LSTAR on the same stack. */
static void trap_user_syscall(struct vcpu *v, struct cpu_regs *regs)
{
    if (!v->pv.syscall_callback)
        domain_crash(v->dom, regs, "syscall from user mode with no LSTAR");
    regs->rcx = regs->rip;
    regs->r11 = (regs->rflags & ~RFLAGS_IF) | (vif(v) ? RFLAGS_IF : 0);
    vtrap_set_mode(v, false);
    regs->rip = v->pv.syscall_callback;
    regs->rflags = (regs->rflags & ~v->trap.sfmask & GUEST_RFLAGS_MASK) | HAKO_GUEST_RFLAGS;
    if (v->trap.sfmask & RFLAGS_IF)
        set_vif(v, false);
}

/* A trap-mode vCPU starts as a native CPU would hand over to a kernel: the documented
 * CR0/CR4, no IDT, no TSS, interrupts off. */
static void trap_vcpu_init(struct vcpu *v)
{
    v->trap = (struct trap_vcpu){ .cr0 = HAKO_TRAP_CR0, .cr4 = HAKO_TRAP_CR4 };
}

const struct guest_type guest_type_trap = {
    .name = "trap",
    .hcg = HCG_TRAP,
    .hc_table = hc_table_trap,
    .mc_burst = hc_mc_burst_trap,
    .async_burst = hc_async_burst_trap,
    .exception = trap_exception,
    .deliver_events = trap_deliver_events,
    .user_syscall = trap_user_syscall,
    .vcpu_init = trap_vcpu_init,
    .cpuid_faulting = true,
};

const struct guest_type *guest_type_for_cmdline(const char *cmdline)
{
    static const char word[] = "privops=trap";
    for (const char *c = cmdline; *c;) {
        while (*c == ' ')
            c++;
        const char *w = c;
        while (*c && *c != ' ')
            c++;
        if ((size_t)(c - w) == sizeof(word) - 1 && strncmp(w, word, sizeof(word) - 1) == 0)
            return &guest_type_trap;
    }
    return &guest_type_pv;
}

bool trapmode_lidt(struct vcpu *v, uint64_t base, uint16_t limit)
{
    struct idt_gate g[IDT_VECTORS];
    unsigned n = MIN((limit + 1u) / 16u, IDT_VECTORS);
    uint64_t handler[IDT_VECTORS], trap_gates = 0;
    if (n && guest_copy_from(v, g, _gva(base), n * sizeof(g[0])))
        return false;
    for (unsigned i = 0; i < IDT_VECTORS; i++) {          /* check every gate first */
        handler[i] = 0;
        if (i >= n || !(g[i].attr & GATE_P))
            continue;
        uint64_t off = g[i].off0 | (uint64_t)g[i].off1 << 16 | (uint64_t)g[i].off2 << 32;
        unsigned type = g[i].attr & 0xFu;
        if ((type != GATE_TYPE_INTR && type != GATE_TYPE_TRAP) || g[i].ist || g[i].reserved ||
            g[i].sel != HAKO_TRAP_KERNEL_CS || !guest_addr_ok(off))
            return false;
        handler[i] = off;
        if (type == GATE_TYPE_TRAP)
            trap_gates |= 1ull << i;
    }
    for (unsigned i = 0; i < HAKO_TRAP_VECTORS; i++)      /* then apply them all */
        v->pv.trap_handler[i] = handler[i];
    v->pv.event_callback = handler[HAKO_TRAP_EVENT_VECTOR];
    v->trap.trap_gates = trap_gates;
    v->trap.idt_base = base;
    v->trap.idt_limit = limit;
    vcpu_update_upcall_word(v);
    return true;
}

bool trapmode_ltr(struct vcpu *v, uint16_t sel)
{
    uint8_t d[16];
    uint32_t idx = sel & ~7u;
    if ((sel & 4) || idx == 0 || idx + 15u > v->trap.gdt_limit ||
        guest_copy_from(v, d, _gva(v->trap.gdt_base + idx), sizeof(d)))
        return false;
    uint64_t base = d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24 |
                    (uint64_t)(d[8] | d[9] << 8 | d[10] << 16 | (uint32_t)d[11] << 24) << 32;
    uint32_t limit = d[0] | (uint32_t)d[1] << 8 | (uint32_t)(d[6] & 0xF) << 16;
    if ((d[5] & 0x9F) != 0x89 || limit < 0x67 || !guest_range_ok(_gva(base), 0x68))
        return false;           /* present, available 64-bit TSS, big enough, guest memory */
    v->trap.tr = sel;
    v->trap.tss_base = base;
    return true;
}

/* Resume in kernel or user mode (HAKO_TRAP_*_CS names which) at rip with rflags, the
 * virtual IF taken from rflags; the caller has checked rip and the mode. */
static void resume_to(struct vcpu *v, struct cpu_regs *regs, bool user, uint64_t rip,
                      uint64_t rflags, uint64_t rsp)
{
    regs->rip = rip;
    regs->rsp = rsp;
    regs->rflags = (rflags & GUEST_RFLAGS_MASK) | HAKO_GUEST_RFLAGS;
    regs->cs = HAKO_GUEST_CS64;
    regs->ss = HAKO_GUEST_DS;
    if (user)
        vtrap_set_mode(v, true);
    set_vif(v, rflags & RFLAGS_IF);
}

bool trapmode_iretq(struct vcpu *v, struct cpu_regs *regs)
{
    uint64_t f[5];              /* rip cs rflags rsp ss */
    if (guest_copy_fast(v, v->frame_walk[0], _gva(regs->rsp), f, sizeof(f), false) || !guest_addr_ok(f[0]))
        return false;
    bool user = f[1] == HAKO_TRAP_USER_CS && f[4] == HAKO_TRAP_USER_SS;
    bool kernel = f[1] == HAKO_TRAP_KERNEL_CS && f[4] == HAKO_TRAP_KERNEL_SS;
    if (!(user || kernel) || (user && !v->pv.user_l4))
        return false;
    resume_to(v, regs, user, f[0], f[2], f[3]);
    return true;
}

bool trapmode_sysretq(struct vcpu *v, struct cpu_regs *regs)
{
    if (!guest_addr_ok(regs->rcx) || !v->pv.user_l4)
        return false;
    resume_to(v, regs, true, regs->rcx, regs->r11, regs->rsp);
    return true;
}

/* Keep a reference on the user root mfn (about to be replaced) in v's kept roots,
 * newest first, the oldest dropped when they are full. */
static void keep_root(struct vcpu *v, uint64_t mfn)
{
    uint64_t *k = v->trap.kept_roots;
    unsigned i;
    for (i = 0; i < TRAP_KEPT_ROOTS && k[i] != mfn; i++)
        ;
    if (i == TRAP_KEPT_ROOTS) {         /* not kept yet: take a reference of its own */
        if (get_page_and_type(_mfn(mfn), PGT_L4, v->dom->domid))
            return;                     /* cannot happen: it is loaded, hence an L4 */
        i = TRAP_KEPT_ROOTS - 1;
        if (k[i])
            put_page_and_type(_mfn(k[i]));
    }
    for (; i > 0; i--)                  /* move it to the front */
        k[i] = k[i - 1];
    k[0] = mfn;
}

int trapmode_set_user_root(struct vcpu *v, uint64_t mfn)
{
    if (v->pv.user_l4 && v->pv.user_l4 != mfn)
        keep_root(v, v->pv.user_l4);
    int rc = mmu_set_baseptr(v, mfn, true);
    if (rc == -HAKO_EBUSY && trapmode_drop_kept_roots(v))
        rc = mmu_set_baseptr(v, mfn, true);     /* a kept tree held a conflicting type */
    return rc;
}

bool trapmode_drop_kept_roots(struct vcpu *v)
{
    bool dropped = false;
    for_each_vcpu (v->dom, w) {
        for (unsigned i = 0; i < TRAP_KEPT_ROOTS; i++) {
            if (w->trap.kept_roots[i]) {
                put_page_and_type(_mfn(w->trap.kept_roots[i]));
                w->trap.kept_roots[i] = 0;
                dropped = true;
            }
        }
    }
    if (dropped)
        flush_tlb_if_unsafe();
    return dropped;
}
