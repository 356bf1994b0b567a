/*
 * hypervisor/vtrap.h: delivering exceptions and user system calls to the guest kernel.
 */
#ifndef HV_VTRAP_H
#define HV_VTRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"
#include "guest_access.h"
#include "hcall_list.h"
#include "types.h"

/* RFLAGS bits a guest may set in a frame it resumes: arithmetic flags, TF, DF, AC. */
#define GUEST_RFLAGS_MASK 0x40DD5ull

/* A guest code or stack address the hypervisor may jump to or store at. */
static inline bool guest_addr_ok(uint64_t va)
{
    return guest_range_ok(_gva(va), 1);
}

/* v may take an event now: one is pending, events are unmasked, and no split hypercall
 * waits to be re-issued (the guest must get straight back to it, or a handler's own
 * batch call would lose its progress). Both guest types' deliver_events start here. */
static inline bool vtrap_event_deliverable(const struct vcpu *v)
{
    const struct hako_vcpu_info *vi = v->vcpu_info;
    return !v->cont.active && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
}

/* Switch v between kernel and user mode, loading the matching top-level table. */
void vtrap_set_mode(struct vcpu *v, bool user);

/* Deliver vector (0..31 or HAKO_TRAP_SYSCALL) to v's guest kernel by building a trap
 * frame on its kernel stack and pointing regs at the handler. False when the guest has
 * no handler for it; the domain has then been left untouched. A guest stack the frame
 * cannot be written to crashes the domain (does not return). */
bool vtrap_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t vector, uint64_t error_code,
                  gva_t fault_addr);

/* If v has an unmasked event pending and an event callback, bounce to it (masking
 * further upcalls); regs is the context it interrupts. True when it bounced. */
bool vtrap_deliver_events(struct vcpu *v, struct cpu_regs *regs);

/* entry.S: a hypercall is returning with an unmasked event pending. True when regs now
 * enter the event callback (leave through iretq), false to return normally. */
bool vtrap_hypercall_events(struct cpu_regs *regs);

/* entry.S: syscall from guest user mode, to be bounced to the kernel's syscall callback. */
void vtrap_user_syscall(struct cpu_regs *regs);

/* set_trap_table, stack_switch, set_callback, iret (ABI.md 13.2). */
long hc_set_trap_table(HC_ARGS);
long hc_stack_switch(HC_ARGS);
long hc_set_callback(HC_ARGS);
long hc_iret(HC_ARGS);

#endif /* HV_VTRAP_H */
