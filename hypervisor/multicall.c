/*
 * hypervisor/multicall.c: running a batch of hypercalls with one transition.
 * Each entry is copied in once, run through the normal dispatch table, and its result
 * written back; long batches are split (hc_preempt) and resume where they stopped. Only
 * the multicall itself is ever split: a batch hypercall inside it (mmu_update...) runs to
 * its end, since a split needs the guest to re-issue exactly that call.
 */
#include <hako/errno.h>
#include <hako/hypercall.h>

#include "guest_access.h"
#include "hcalls.h"
#include "lib.h"
#include "mm.h"

#define MC_ENTRY sizeof(struct hako_multicall_entry)

/* Write one entry's result; false when the guest array is no longer writable. */
static bool put_result(uint64_t calls, uint64_t i, long r)
{
    return guest_copy_to(caller_cr3(), calls + i * MC_ENTRY +
                                           __builtin_offsetof(struct hako_multicall_entry, result),
                         &r, sizeof(r)) == 0;
}

/* Run one entry for v; its result. */
static long run_entry(struct vcpu *v, const struct hako_multicall_entry *e)
{
    if (e->_pad0 || (e->flags & ~HAKO_MC_STOP_ON_ERROR))
        return -HAKO_EINVAL;
    if (e->op == HAKO_HC_multicall || e->op == HAKO_HC_iret)
        return -HAKO_EINVAL;                    /* no nesting; no leaving mid-batch */
    if (e->op >= hypercall_count)
        return -HAKO_ENOSYS;
    v->hc_count[e->op]++;
    v->mc_args = e->args;
    long r = hypercall_table[e->op](e->args[0], e->args[1], e->args[2]);
    v->mc_args = NULL;
    return r;
}

/* True for hypercalls that can change the caller's page tables (and so the mapping of
 * the multicall array itself). */
static bool changes_mappings(uint64_t op)
{
    return op == HAKO_HC_mmu_update || op == HAKO_HC_mmuext_op ||
           op == HAKO_HC_update_va_mapping;
}

/* multicall(calls, count) */
long hc_multicall(HC_ARGS)
{
    (void)a3;
    uint64_t calls = a1, count = a2;
    struct vcpu *v = current_vcpu();
    if (count > HAKO_MULTICALL_MAX)
        return -HAKO_E2BIG;
    if (calls & 7)
        return -HAKO_EINVAL;
    uint64_t i = hc_resume(HAKO_HC_multicall, calls, count, 0), start = i;
    /* Entries that lie inside one page are read and answered through a single
     * translation of that page (checked writable, as the results go there too); the
     * translation is dropped whenever an entry may have changed the mappings. */
    uint64_t page_va = 1, pa = 0;      /* 1: no page translated */
    while (i < count) {
        if (i - start >= HC_PREEMPT_CHUNK)
            return hc_preempt(HAKO_HC_multicall, calls, count, 0, i);
        uint64_t va = calls + i * MC_ENTRY;
        struct hako_multicall_entry *slot = NULL, e;
        if ((va & (PAGE_SIZE - 1)) + MC_ENTRY <= PAGE_SIZE) {
            if ((va & PAGE_MASK) != page_va) {
                if (!guest_range_ok(va, MC_ENTRY) ||
                    guest_translate(caller_cr3(), va & PAGE_MASK, true, &pa))
                    return -HAKO_EFAULT;
                page_va = va & PAGE_MASK;
            }
            slot = (struct hako_multicall_entry *)phys_to_virt(pa + (va & (PAGE_SIZE - 1)));
            memcpy(&e, slot, MC_ENTRY);                 /* copied once */
        } else if (guest_copy_from(caller_cr3(), &e, va, MC_ENTRY)) {
            return -HAKO_EFAULT;                        /* an entry across two pages */
        }
        long r = run_entry(v, &e);
        if (changes_mappings(e.op)) {
            page_va = 1;                                /* translate again before use */
            slot = NULL;
        }
        if (slot)
            __atomic_store_n(&slot->result, r, __ATOMIC_RELAXED);
        else if (!put_result(calls, i, r))
            return -HAKO_EFAULT;
        i++;
        if (r < 0 && (e.flags & HAKO_MC_STOP_ON_ERROR)) {
            for (uint64_t j = i; j < count; j++)
                if (!put_result(calls, j, -HAKO_ECANCELED))
                    return -HAKO_EFAULT;
            return (long)i;
        }
    }
    return (long)count;
}
