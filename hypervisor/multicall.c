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
#include "pagetype.h"

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
    /* sched_op's table entry completes the guest frame for crash dumps from the live
     * registers, which here are the multicall's: call the handler itself. */
    long r = e->op == HAKO_HC_sched_op ? hc_sched_op(e->args[0], e->args[1], e->args[2])
             : hypercall_table[e->op](e->args[0], e->args[1], e->args[2]);
    v->mc_args = NULL;
    return r;
}

/* True for hypercalls after which the array's mapping may have changed (page-table
 * operations, and the calls that run other hypercalls: async_op, sched_op). */
static bool changes_mappings(uint64_t op)
{
    return op == HAKO_HC_mmu_update || op == HAKO_HC_mmuext_op ||
           op == HAKO_HC_update_va_mapping || op == HAKO_HC_async_op ||
           op == HAKO_HC_sched_op;
}

/* The page of the array being worked through: translated once and held with a
 * writable-type reference, so the frame cannot become a page table (or change hands)
 * while results are stored into it, whatever the entries do. */
struct cached_page {
    uint64_t va;        /* page address, or 1 when none is held */
    uint64_t mfn;
};

static void release_page(struct cached_page *c)
{
    if (c->va != 1)
        put_page_and_type(c->mfn);
    c->va = 1;
}

/* Hold the page of va; false when it is not a writable page of the caller. */
static bool hold_page(struct cached_page *c, uint64_t va, uint16_t domid)
{
    uint64_t pa;
    release_page(c);
    if (guest_translate(caller_cr3(), va & PAGE_MASK, true, &pa) ||
        get_page_and_type(pa >> PAGE_SHIFT, PGT_WRITABLE, domid))
        return false;
    c->va = va & PAGE_MASK;
    c->mfn = pa >> PAGE_SHIFT;
    return true;
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
    struct cached_page page = { 1, 0 };
    long rc = (long)count;
    while (i < count) {
        if (i - start >= HC_PREEMPT_CHUNK) {
            release_page(&page);
            return hc_preempt(HAKO_HC_multicall, calls, count, 0, i);
        }
        uint64_t va = calls + i * MC_ENTRY;
        struct hako_multicall_entry *slot = NULL, e;
        if ((va & (PAGE_SIZE - 1)) + MC_ENTRY <= PAGE_SIZE) {
            if ((va & PAGE_MASK) != page.va &&
                (!guest_range_ok(va, MC_ENTRY) || !hold_page(&page, va, v->dom->domid))) {
                rc = -HAKO_EFAULT;
                break;
            }
            slot = (struct hako_multicall_entry *)((char *)mfn_to_virt(page.mfn) +
                                                   (va & (PAGE_SIZE - 1)));
            memcpy(&e, slot, MC_ENTRY);                 /* copied once */
        } else if (guest_copy_from(caller_cr3(), &e, va, MC_ENTRY)) {
            rc = -HAKO_EFAULT;                          /* an entry across two pages */
            break;
        }
        long r = run_entry(v, &e);
        if (changes_mappings(e.op)) {
            release_page(&page);                        /* translate again: the guest */
            slot = NULL;                                /* may have moved its array */
        }
        if (slot)
            __atomic_store_n(&slot->result, r, __ATOMIC_RELAXED);
        else if (!put_result(calls, i, r)) {
            rc = -HAKO_EFAULT;
            break;
        }
        i++;
        if (r < 0 && (e.flags & HAKO_MC_STOP_ON_ERROR)) {
            rc = (long)i;
            for (uint64_t j = i; j < count && rc >= 0; j++)
                if (!put_result(calls, j, -HAKO_ECANCELED))
                    rc = -HAKO_EFAULT;
            break;
        }
    }
    release_page(&page);
    return rc;
}
