/*
 * hypervisor/mmu.c: the memory hypercalls (mmu_update, mmuext_op, update_va_mapping,
 * memory_op). Validation and reference counting live in pagetype.c; this file decodes
 * guest requests (copied in once), batches them, and splits long batches.
 */
#include <hako/arch-x86_64.h>
#include <hako/errno.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "mmu.h"
#include "frame.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "paging.h"
#include "x86.h"

#define COPY_BATCH 32   /* requests copied in at a time */
#define MAX_ITEM_SIZE sizeof(struct hako_mmuext_op)   /* the larger of the two batch items */
_Static_assert(sizeof(struct hako_mmu_update) <= MAX_ITEM_SIZE, "batch buffer fits every item");

bool mmu_frame_is_special(const struct domain *d, mfn_t mfn)
{
    if (mfn_x(mfn) == d->shinfo_mfn)
        return true;
    for (unsigned n = 0; n < d->nr_vcpus; n++) {
        const struct async_state *a = &d->vcpu[n].async;
        for (unsigned r = 0; a->active && r < ASYNC_RINGS; r++)
            for (unsigned i = 0; i < a->nr_pages[r]; i++)
                if (a->mfn[r][i] == mfn_x(mfn))
                    return true;
    }
    return false;
}

/* HAKO_MMU_PT_UPDATE_FOREIGN for domain domid: the foreign domain is the hypercall's
 * 4th argument, read here and only here. */
static int mmu_foreign(uint16_t domid, const struct hako_mmu_update *req)
{
    struct vcpu *v = current_vcpu();
    if ((req->ptr & 7) != HAKO_MMU_PT_UPDATE_FOREIGN)
        return -HAKO_EINVAL;
    if (!v->dom->privileged)
        return -HAKO_EPERM;
    uint64_t fd = hc_arg4(v);
    struct domain *f = fd <= OWNER_DOMID_MAX ? domain_get((uint16_t)fd) : NULL;
    if (!f)
        return -HAKO_ESRCH;
    if (f->domid == domid)
        return -HAKO_EINVAL;
    if ((req->val & HAKO_PTE_P) && mmu_frame_is_special(f, pte_mfn(req->val)))
        return -HAKO_EBUSY;
    bool changed;
    return pt_update_foreign(maddr_to_mfn(req->ptr), (req->ptr & (PAGE_SIZE - 1)) >> 3, req->val,
                             domid, f->domid, &changed);
}

/* Apply one mmu_update request for domain domid. */
static int __attribute__((noinline)) mmu_one(uint16_t domid, const struct hako_mmu_update *req)
{
    mfn_t mfn = maddr_to_mfn(req->ptr);
    bool changed;
    switch (req->ptr & HAKO_MMU_CMD_MASK) {
    case HAKO_MMU_NORMAL_PT_UPDATE:
        if (req->ptr & 7)
            return -HAKO_EINVAL;
        return pt_update(mfn, (req->ptr & (PAGE_SIZE - 1)) >> 3, req->val, domid, &changed);
    case HAKO_MMU_PT_UPDATE_FOREIGN:
        return mmu_foreign(domid, req);
    case HAKO_MMU_MACHPHYS_UPDATE: {
        struct frame_info *f = frame_get(mfn);
        if (req->ptr & (PAGE_SIZE - 1) & ~HAKO_MMU_CMD_MASK)
            return -HAKO_EINVAL;
        if (!f || f->owner != domid)
            return -HAKO_EPERM;
        m2p_set(mfn, _pfn(req->val));
        return 0;
    }
    default:
        return -HAKO_EINVAL;
    }
}

/* Common shape of the two batch hypercalls: check, resume, copy in COPY_BATCH items at a
 * time, apply in order until one fails, split every HC_PREEMPT_CHUNK items, flush the TLB
 * when safety needs it, report *done. Every read of the items and the write of *done go
 * through the vCPU's address space as it is at that moment (an item may change it:
 * NEW_BASEPTR), never through a root remembered from earlier in the call. */
typedef int (*batch_item_fn)(uint16_t domid, const void *item);

static long run_batch(uint64_t nr, uint64_t items, uint64_t count, uint64_t done_ptr,
                      size_t item_size, batch_item_fn apply)
{
    struct vcpu *v = current_vcpu();
    uint16_t domid = v->dom->domid;
    if (count > HAKO_MMU_BATCH_MAX || (v->mc_args && count > HC_PREEMPT_CHUNK))
        return -HAKO_E2BIG;     /* inside a multicall or async batch: never split, so short */
    long rc = 0;
    uint8_t buf[COPY_BATCH * MAX_ITEM_SIZE];
    if (count == 1 && !done_ptr) {
        /* One item and no done pointer (what a kernel without batching sends): nothing
         * to resume, split or report, so only the steps below that apply. */
        (void)hc_resume(nr, items, count, done_ptr);    /* 0: one item is never split */
        if (guest_copy_fast(v, v->batch_walk, _gva(items), buf, item_size, false))
            rc = -HAKO_EFAULT;
        else
            rc = apply(domid, buf);
        flush_tlb_if_unsafe();
        return rc;
    }
    if (done_ptr & 7)
        return -HAKO_EINVAL;
    if (done_ptr && guest_check(v, _gva(done_ptr), 8, true))
        return -HAKO_EFAULT;
    uint64_t i = hc_resume(nr, items, count, done_ptr), start = i;
    while (i < count && rc == 0) {
        if (i - start >= HC_PREEMPT_CHUNK) {
            flush_tlb_if_unsafe();
            return hc_preempt(nr, items, count, done_ptr, i);
        }
        uint64_t n = MIN(count - i, (uint64_t)COPY_BATCH);
        if (guest_copy_fast(v, v->batch_walk, _gva(items + i * item_size), buf,
                              n * item_size, false)) {
            rc = -HAKO_EFAULT;
            break;
        }
        for (uint64_t j = 0; j < n && rc == 0; j++)
            if ((rc = apply(domid, buf + j * item_size)) == 0)
                i++;
    }
    flush_tlb_if_unsafe();   /* the guest flushes for its own view (ABI.md 10) */
    /* (Checked writable above; it can fail only if the batch itself unmapped it, or
     * switched to a table that does not map it writable.) */
    if (done_ptr && guest_copy_to(v, _gva(done_ptr), &i, 8))
        return -HAKO_EFAULT;
    return rc;
}

/* Where mmu_update's page-table writes report a changed entry: nothing reads it (the
 * TLB work is flush_tlb_if_unsafe's and the guest's, ABI.md 10). */
static bool mmu_changed_ignored;

static int mmu_item(uint16_t domid, const void *item)
{
    struct hako_mmu_update req;
    __builtin_memcpy(&req, item, sizeof(req));    /* two moves, not a call */
    if ((req.ptr & 7) == HAKO_MMU_NORMAL_PT_UPDATE)  /* the common case, a tail call */
        return pt_update(maddr_to_mfn(req.ptr), (req.ptr & (PAGE_SIZE - 1)) >> 3, req.val, domid,
                         &mmu_changed_ignored);
    return mmu_one(domid, &req);
}

/* mmu_update(reqs, count, done) */
long hc_mmu_update(HC_ARGS)
{
    return run_batch(HAKO_HC_mmu_update, a1, a2, a3, sizeof(struct hako_mmu_update), mmu_item);
}

int mmu_set_baseptr(struct vcpu *v, uint64_t mfn, bool user)
{
    uint64_t *slot = user ? &v->pv.user_l4 : &v->pv.kernel_l4;
    if (mfn == 0 && !user)
        return -HAKO_EINVAL;
    if (mfn) {
        int rc = get_page_and_type(_mfn(mfn), PGT_L4, v->dom->domid);
        if (rc)
            return rc;
    }
    uint64_t old = *slot;
    *slot = mfn;
    vcpu_update_cr3(v);
    if (old)
        put_page_and_type(_mfn(old));
    return 0;
}

int mmu_invlpg(gva_t va)
{
    if (!guest_range_ok(va, 1))
        return -HAKO_EINVAL;
    flush_tlb_one(va);
    return 0;
}

int mmu_pt_write(uint16_t domid, mfn_t table, unsigned idx, uint64_t val)
{
    bool changed;
    int rc = pt_update(table, idx, val, domid, &changed);
    flush_tlb_if_unsafe();
    return rc;
}

/* Apply one mmuext operation. */
static int mmuext_item(uint16_t domid, const void *item)
{
    struct hako_mmuext_op op;
    __builtin_memcpy(&op, item, sizeof(op));      /* inline moves, not a call */
    if (op.cmd > HAKO_MMUEXT_INVLPG_ALL)
        return -HAKO_ENOSYS;
    if (op._pad0 || op.arg2)
        return -HAKO_EINVAL;
    switch (op.cmd) {
    case HAKO_MMUEXT_PIN_L1_TABLE:
    case HAKO_MMUEXT_PIN_L2_TABLE:
    case HAKO_MMUEXT_PIN_L3_TABLE:
    case HAKO_MMUEXT_PIN_L4_TABLE:
        return pt_pin(_mfn(op.arg1), PGT_L1 + op.cmd - HAKO_MMUEXT_PIN_L1_TABLE, domid);
    case HAKO_MMUEXT_UNPIN_TABLE:
        return pt_unpin(_mfn(op.arg1), domid);
    case HAKO_MMUEXT_NEW_BASEPTR:
    case HAKO_MMUEXT_NEW_USER_BASEPTR:
        return mmu_set_baseptr(current_vcpu(), op.arg1, op.cmd == HAKO_MMUEXT_NEW_USER_BASEPTR);
    case HAKO_MMUEXT_TLB_FLUSH_LOCAL:
    case HAKO_MMUEXT_TLB_FLUSH_ALL:      /* one vCPU per domain: local is all */
        flush_tlb_local();
        return 0;
    case HAKO_MMUEXT_INVLPG_LOCAL:
    case HAKO_MMUEXT_INVLPG_ALL:
        return mmu_invlpg(_gva(op.arg1));
    default:
        return -HAKO_ENOSYS;
    }
}

/* mmuext_op(ops, count, done) */
long hc_mmuext_op(HC_ARGS)
{
    return run_batch(HAKO_HC_mmuext_op, a1, a2, a3, sizeof(struct hako_mmuext_op), mmuext_item);
}

/* The validated L1 table mapping va in address space cr3, or mfn 0 if there is none. */
static mfn_t find_l1(uint64_t cr3, uint64_t va)
{
    mfn_t table = maddr_to_mfn(cr3);
    static const unsigned shift[3] = { 39, 30, 21 };
    for (unsigned level = 0; level < 3; level++) {
        uint64_t e = ((const uint64_t *)mfn_to_virt(table))[(va >> shift[level]) & 511];
        if (!(e & PTE_P) || (e & PTE_PS))
            return _mfn(0);
        table = pte_mfn(e);
    }
    return table;
}

/* update_va_mapping(va, val, flags) */
long hc_update_va_mapping(HC_ARGS)
{
    uint64_t va = a1, val = a2, flags = a3;
    struct vcpu *v = current_vcpu();
    if (flags > HAKO_UVMF_TLB_FLUSH || !guest_range_ok(_gva(va), 1))
        return -HAKO_EINVAL;
    mfn_t l1 = find_l1(v->cr3, va);
    if (!mfn_x(l1))
        return -HAKO_EINVAL;
    bool changed = false;
    int rc = pt_update(l1, L1_INDEX(va), val, v->dom->domid, &changed);
    if (rc)
        return rc;
    if (flags == HAKO_UVMF_TLB_FLUSH)
        flush_tlb_local();
    else if (flags == HAKO_UVMF_INVLPG)
        flush_tlb_one(_gva(va));
    flush_tlb_if_unsafe();
    return 0;
}

/* memory_op(cmd, arg) */
long hc_memory_op(HC_ARGS)
{
    (void)a3;
    struct domain *d = current_vcpu()->dom;
    switch (a1) {
    case HAKO_MEM_CURRENT_RESERVATION:
        return (long)d->nr_pages;
    case HAKO_MEM_MAXIMUM_RESERVATION:
        return (long)d->max_pages;
    case HAKO_MEM_MACHPHYS_MAPPING: {
        if (a2 & 7)
            return -HAKO_EINVAL;
        struct hako_machphys_mapping m = {
            .m2p_va = HAKO_M2P_VA,
            .m2p_entries = frame_count(),
            .p2m_va = d->p2m_va,
            .p2m_entries = d->nr_pages,
        };
        return guest_copy_to(current_vcpu(), _gva(a2), &m, sizeof(m));
    }
    default:
        return -HAKO_ENOSYS;
    }
}
