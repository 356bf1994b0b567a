/*
 * hypervisor/vtrap.c: virtual exceptions, the guest's two modes, and their hypercalls
 * (set_trap_table, stack_switch, set_callback, iret). See ABI.md "Traps".
 */
#include "vtrap.h"

#include <hako/arch-x86_64.h>
#include <hako/errno.h>
#include <hako/traps.h>

#include "console.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "x86.h"


void vtrap_set_mode(struct vcpu *v, bool user)
{
    v->pv.in_user = user;
    vcpu_update_cr3(v);
}

/* The guest handler for a bounced vector, 0 if none. */
static uint64_t handler_for(struct vcpu *v, uint64_t vector)
{
    switch (vector) {
    case HAKO_TRAP_SYSCALL: return v->pv.syscall_callback;
    case HAKO_TRAP_EVENT: return v->pv.event_callback;
    case HAKO_TRAP_FAILSAFE: return v->pv.failsafe_callback;
    default: return vector < HAKO_TRAP_VECTORS ? v->pv.trap_handler[vector] : 0;
    }
}

bool vtrap_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t vector, uint64_t error_code,
                  gva_t fault_addr)
{
    uint64_t handler = handler_for(v, vector);
    bool from_user = v->pv.in_user;
    if (!handler || (from_user && !v->pv.kernel_sp))
        return false;
    uint8_t masked = __atomic_load_n(&v->vcpu_info->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
    struct hako_trap_frame f = {
        .rax = regs->rax, .rcx = regs->rcx, .r11 = regs->r11,
        .vector = vector, .error_code = error_code, .fault_addr = gva_x(fault_addr),
        .flags = (from_user ? HAKO_TF_USER : 0) | (masked ? HAKO_TF_EVENTS_MASKED : 0),
        .rip = regs->rip, .cs = regs->cs, .rflags = regs->rflags, .rsp = regs->rsp,
        .ss = regs->ss,
    };
    if (from_user)
        vtrap_set_mode(v, false);
    uint64_t stack = from_user ? v->pv.kernel_sp : regs->rsp;
    uint64_t frame_va = ALIGN_DOWN(stack - sizeof(f), 16);
    if (stack < sizeof(f) || guest_copy_fast(v, v->frame_walk[1], _gva(frame_va), &f, sizeof(f), true))
        domain_crash(v->dom, regs, "cannot write a trap frame on the guest kernel stack");
    regs->rip = handler;
    regs->rsp = frame_va;
    regs->rflags = HAKO_GUEST_RFLAGS;
    regs->cs = HAKO_GUEST_CS64;
    regs->ss = HAKO_GUEST_DS;
    if (vector == HAKO_TRAP_EVENT)
        __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
    return true;
}

bool vtrap_deliver_events(struct vcpu *v, struct cpu_regs *regs)
{
    return vtrap_event_deliverable(v) && vtrap_bounce(v, regs, HAKO_TRAP_EVENT, 0, _gva(0));
}

bool vtrap_hypercall_events(struct cpu_regs *regs)
{
    struct vcpu *v = current_vcpu();
    return v->dom->type->deliver_events(v, regs);
}

void vtrap_user_syscall(struct cpu_regs *regs)
{
    struct vcpu *v = current_vcpu();
    v->dom->type->user_syscall(v, regs);
}

/* A PV user-mode syscall: bounce it to the kernel's syscall callback. */
static void pv_user_syscall(struct vcpu *v, struct cpu_regs *regs)
{
    if (!vtrap_bounce(v, regs, HAKO_TRAP_SYSCALL, 0, _gva(0)))
        domain_crash(v->dom, regs, "syscall from user mode with no kernel syscall callback");
}

/* An exception from a PV guest: count it and bounce it to the guest kernel's handler;
 * a vector without one stops the domain. */
static void pv_exception(struct vcpu *v, struct cpu_regs *regs, gva_t cr2)
{
    v->dom->stat_traps[regs->vector]++;
    if (!vtrap_bounce(v, regs, regs->vector, regs->error_code, cr2))
        domain_crash(v->dom, regs, "unhandled exception (no guest handler)");
}

const struct guest_type guest_type_pv = {
    .name = "pv",
    .hcg = HCG_PV,
    .hc_table = hc_table_pv,
    .mc_burst = hc_mc_burst_pv,
    .async_burst = hc_async_burst_pv,
    .exception = pv_exception,
    .deliver_events = vtrap_deliver_events,
    .user_syscall = pv_user_syscall,
};

/* set_trap_table(table, count): all entries are checked before any is applied. */
long hc_set_trap_table(HC_ARGS)
{
    (void)a3;
    struct hako_trap_info t[HAKO_TRAP_VECTORS];
    if (a2 > HAKO_TRAP_VECTORS || (a1 & 7))
        return -HAKO_EINVAL;
    if (guest_copy_from(current_vcpu(), t, _gva(a1), a2 * sizeof(t[0])))
        return -HAKO_EFAULT;
    for (uint64_t i = 0; i < a2; i++) {
        bool pad = false;
        for (unsigned b = 0; b < sizeof(t[i]._pad0); b++)
            pad |= t[i]._pad0[b] != 0;
        if (pad || t[i].vector >= HAKO_TRAP_VECTORS ||
            (t[i].handler && !guest_addr_ok(t[i].handler)))
            return -HAKO_EINVAL;
    }
    for (uint64_t i = 0; i < a2; i++)
        current_vcpu()->pv.trap_handler[t[i].vector] = t[i].handler;
    return 0;
}

/* Recompute v's syscall_frame after its kernel stack or syscall callback changed: the
 * address vtrap_bounce would write a syscall's frame at, when that is guest space. */
static void pv_update_syscall_frame(struct vcpu *v)
{
    uint64_t sp = v->pv.kernel_sp, at = ALIGN_DOWN(sp - sizeof(struct hako_trap_frame), 16);
    bool ok = v->pv.syscall_callback && sp >= sizeof(struct hako_trap_frame) &&
              guest_range_ok(_gva(at), sizeof(struct hako_trap_frame));
    v->pv.syscall_frame = ok ? at : 0;
}

/* stack_switch(kernel_rsp): the stack for events that arrive in user mode. */
long hc_stack_switch(HC_ARGS)
{
    (void)a2, (void)a3;
    if (a1 && !guest_addr_ok(a1 - 1))
        return -HAKO_EINVAL;
    current_vcpu()->pv.kernel_sp = a1;
    pv_update_syscall_frame(current_vcpu());
    return 0;
}

/* set_callback(type, address) */
long hc_set_callback(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    uint64_t *slot = a1 == HAKO_CALLBACK_SYSCALL ? &v->pv.syscall_callback
                     : a1 == HAKO_CALLBACK_EVENT ? &v->pv.event_callback
                     : a1 == HAKO_CALLBACK_FAILSAFE ? &v->pv.failsafe_callback : NULL;
    if (!slot)
        return -HAKO_ENOSYS;
    if (a2 && !guest_addr_ok(a2))
        return -HAKO_EINVAL;
    *slot = a2;
    vcpu_update_upcall_word(v);
    pv_update_syscall_frame(v);
    return 0;
}

/* iret(): resume the context in the trap frame at the caller's rsp. */
long hc_iret(HC_ARGS)
{
    (void)a1, (void)a2, (void)a3;
    struct vcpu *v = current_vcpu();
    struct cpu_regs *regs = vcpu_regs(v);
    struct hako_trap_frame f;
    long err = 0;
    if (guest_copy_fast(v, v->frame_walk[0], _gva(regs->rsp), &f, sizeof(f), false))
        err = -HAKO_EFAULT;
    else if (!guest_addr_ok(f.rip) || (f.flags & ~(HAKO_TF_USER | HAKO_TF_EVENTS_MASKED)) ||
             ((f.flags & HAKO_TF_USER) && !v->pv.user_l4))
        err = -HAKO_EINVAL;
    if (err) {
        /* A refused frame goes to the failsafe callback when there is one. */
        if (vtrap_bounce(v, regs, HAKO_TRAP_FAILSAFE, (uint64_t)-err, _gva(0)))
            resume_frame_at(regs);
        return err;
    }
    regs->rax = f.rax;
    regs->rcx = f.rcx;
    regs->r11 = f.r11;
    regs->rip = f.rip;
    regs->rsp = f.rsp;
    regs->rflags = (f.rflags & GUEST_RFLAGS_MASK) | HAKO_GUEST_RFLAGS;
    regs->cs = HAKO_GUEST_CS64;
    regs->ss = HAKO_GUEST_DS;
    if (f.flags & HAKO_TF_USER)
        vtrap_set_mode(v, true);
    __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, (f.flags & HAKO_TF_EVENTS_MASKED) ? 1 : 0,
                     __ATOMIC_SEQ_CST);
    vtrap_deliver_events(v, regs);      /* unmasking may let a pending event in at once */
    resume_frame_at(regs);
}
