/*
 * hypervisor/hypercall.h: the hypercall tables (generated from hcall_list.h), split
 * hypercalls (continuations), and helpers shared by the handlers. Each handler is
 * declared in the header of the file that owns its state.
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include <stdint.h>

#include <hako/errno.h>

#include "domain.h"
#include "hcall_list.h"
#include "pagetype.h"
#include "percpu.h"
#include "types.h"

/* Items a batch hypercall handles before it lets the CPU go and continues. */
#define HC_PREEMPT_CHUNK 1024

/* version(cmd, arg) */
long hc_version(HC_ARGS);

/* entry.S: complete the register frame, then run hc_sched_op / hc_iret. */
long hc_sched_op_full(HC_ARGS);
long hc_iret_full(HC_ARGS);
/* entry.S: iret back to user mode without C (the common case), else hc_iret_full. */
long hc_iret_fast(HC_ARGS);

/* The size of every dispatch table (HC_NR, as a variable for entry.S). */
extern const uint64_t hypercall_count;

/* Each guest type's tables (hypercall.c, from HC_LIST; struct guest_type points at them):
 * the dispatch table entry.S calls through, by number; and the burst loops' tables
 * (entry.S mc_burst, async_burst), by number below HC_BURST_SLOTS: the syscall entry
 * for a call the loop may run; for the others a handler that answers refused (EINVAL)
 * or unknown (ENOSYS); or NULL for a call the loop must leave to the full path. */
#define HC_BURST_SLOTS 32
extern const hypercall_fn hc_table_pv[HC_NR];
extern const hypercall_fn hc_mc_burst_pv[HC_BURST_SLOTS];
extern const hypercall_fn hc_async_burst_pv[HC_BURST_SLOTS];
extern const hypercall_fn hc_table_trap[HC_NR];
extern const hypercall_fn hc_mc_burst_trap[HC_BURST_SLOTS];
extern const hypercall_fn hc_async_burst_trap[HC_BURST_SLOTS];

/* What HC_LIST says of one hypercall, for the paths that run calls one at a time. */
struct hc_info {
    hypercall_fn handler;       /* the C handler (batches call it, not entry.S's wrapper) */
    uint8_t nargs;              /* above 3: reads hc_arg4 */
    uint8_t flags;              /* HCF_* */
    uint8_t guests;             /* HCG_* */
};
extern const struct hc_info hc_info[HC_NR];

/* May a batch (allowed = HCF_MULTICALL or HCF_ASYNC) of v run hypercall op? 0 if so,
 * else the entry's result: ENOSYS for no such call (for v's guest type), EINVAL if
 * refused. */
static inline long hc_batch_check(const struct vcpu *v, uint64_t op, unsigned allowed)
{
    if (op >= HC_NR || !(hc_info[op].guests & v->dom->type->hcg))
        return -HAKO_ENOSYS;
    return (hc_info[op].flags & allowed) ? 0 : -HAKO_EINVAL;
}

/* The 4th argument of the running hypercall (r10, or the multicall entry's args[3]). */
static inline uint64_t hc_arg4(struct vcpu *v)
{
    return v->mc_args ? v->mc_args[3] : vcpu_regs(v)->r10;
}

/* Where a split hypercall (nr with these arguments) left off, or 0 for a fresh call. */
uint64_t hc_resume(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3);

/* Split the running hypercall after `progress` items: the guest re-issues it on return
 * (rip moves back onto its syscall) and it resumes there. Returns the value the handler
 * must return (the hypercall number, which lands in rax). */
long hc_preempt(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t progress);

/* Leave the hypervisor through the full-frame (iretq) path with regs; never returns. */
void resume_frame_at(struct cpu_regs *regs) __attribute__((noreturn));

/* Flush this CPU's non-global TLB entries. */
static inline void flush_tlb_local(void)
{
    write_cr3(read_cr3());
    pagetype_tlb_flushed();
    current_vcpu()->stat_tlb_flushes++;
}

/* Invalidate one guest page on this CPU. */
static inline void flush_tlb_one(gva_t va)
{
    invlpg(gva_x(va));
    current_vcpu()->stat_invlpgs++;
}

/* Before returning to the guest from a page-table hypercall: flush if a stale writable
 * translation could reach a frame that has become a page table (pagetype.h). */
static inline void flush_tlb_if_unsafe(void)
{
    if (pagetype_flush_needed())
        flush_tlb_local();
}

#endif /* HV_HYPERCALL_H */
