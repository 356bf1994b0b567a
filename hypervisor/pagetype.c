/*
 * hypervisor/pagetype.c: frame types, reference counts and page-table validation.
 * See pagetype.h for the model. Every function here that can fail leaves all counts as
 * they were when it fails.
 */
#include "pagetype.h"

#include <hako/arch-x86_64.h>
#include <hako/errno.h>

#include "frame.h"
#include "mm.h"
#include "paging.h"
#include "panic.h"

static uint32_t (*audit_scratch)[2];
static uint64_t allowed_nx;
static bool writable_dropped;   /* a writable leaf went away since the last TLB flush */
static bool table_created;      /* a frame became a page table since the last TLB flush */
static bool table_dropped;      /* a frame stopped being a page table since then: the
                                   CPU's paging-structure caches may still use it */

bool pagetype_flush_needed(void)
{
    return (writable_dropped && table_created) || table_dropped;
}

void pagetype_tlb_flushed(void)
{
    writable_dropped = table_created = table_dropped = false;
}

void pagetype_init(uint32_t (*scratch)[2], bool nx_allowed)
{
    audit_scratch = scratch;
    allowed_nx = nx_allowed ? PTE_NX : 0;
}

/* True for the L4 slots that belong to the hypervisor. */
static bool hv_slot(unsigned level, unsigned idx)
{
    return level == 4 && idx >= HAKO_HV_L4_FIRST && idx <= HAKO_HV_L4_LAST;
}

int get_page(uint64_t mfn, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    if (f->ref_count == UINT32_MAX)
        return -HAKO_ENOSPC;
    f->ref_count++;
    return 0;
}

void put_page(uint64_t mfn)
{
    struct frame_info *f = frame_get(mfn);
    HV_ASSERT(f && f->ref_count > 0);
    f->ref_count--;
}

static int validate_table(uint64_t mfn, unsigned level, uint16_t domid);
static void devalidate_table(uint64_t mfn, unsigned level);

int get_page_type(uint64_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    HV_ASSERT(f && f->ref_count > 0);
    if (f->type_count == 0) {
        /* Claim the type before validating, so a loop back to this frame sees it. */
        f->type = (uint16_t)type;
        f->type_count = 1;
        table_created |= pgt_level(type) != 0;
        int rc = pgt_level(type) ? validate_table(mfn, pgt_level(type), domid) : 0;
        if (rc) {
            f->type = PGT_NONE;
            f->type_count = 0;
        }
        return rc;
    }
    if ((f->type & PGT_TYPE_MASK) != type)
        return -HAKO_EBUSY;
    if (f->type_count == UINT32_MAX)
        return -HAKO_ENOSPC;
    f->type_count++;
    return 0;
}

void put_page_type(uint64_t mfn)
{
    struct frame_info *f = frame_get(mfn);
    HV_ASSERT(f && f->type_count > 0);
    if (--f->type_count)
        return;
    unsigned level = pgt_level(f->type);
    f->type = PGT_NONE;
    if (level) {
        table_dropped = true;
        devalidate_table(mfn, level);
    }
}

int get_page_and_type(uint64_t mfn, unsigned type, uint16_t domid)
{
    int rc = get_page(mfn, domid);
    if (rc)
        return rc;
    if ((rc = get_page_type(mfn, type, domid)))
        put_page(mfn);
    return rc;
}

void put_page_and_type(uint64_t mfn)
{
    put_page_type(mfn);
    put_page(mfn);
}

/* References of one leaf frame mapped with or without write access. */
static int get_leaf(uint64_t mfn, bool writable, uint16_t domid)
{
    return writable ? get_page_and_type(mfn, PGT_WRITABLE, domid) : get_page(mfn, domid);
}

static void put_leaf(uint64_t mfn, bool writable)
{
    writable_dropped |= writable;
    writable ? put_page_and_type(mfn) : put_page(mfn);
}

/* True when pte at this level maps memory directly (4 KiB or 2 MiB page). */
static bool pte_is_leaf(unsigned level, uint64_t pte)
{
    return level == 1 || (level == 2 && (pte & PTE_PS));
}

int pte_get(unsigned level, uint64_t pte, uint16_t domid)
{
    if (!(pte & PTE_P))
        return 0;
    uint64_t allowed = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | (7ull << 9) | PTE_ADDR |
                       allowed_nx | (level == 2 ? PTE_PS : 0);
    if ((pte & ~allowed) || !(pte & PTE_U))
        return -HAKO_EINVAL;
    uint64_t mfn = (pte & PTE_ADDR) >> PAGE_SHIFT;
    bool w = pte & PTE_W;
    if (level == 2 && (pte & PTE_PS)) {
        if (mfn & 511)
            return -HAKO_EINVAL;     /* misaligned, or the PAT bit */
        for (unsigned k = 0; k < 512; k++) {
            int rc = get_leaf(mfn + k, w, domid);
            if (rc) {
                while (k--)
                    put_leaf(mfn + k, w);
                return rc;
            }
        }
        return 0;
    }
    if (level == 1)
        return get_leaf(mfn, w, domid);
    return get_page_and_type(mfn, PGT_L1 + level - 2, domid);
}

void pte_put(unsigned level, uint64_t pte)
{
    if (!(pte & PTE_P))
        return;
    uint64_t mfn = (pte & PTE_ADDR) >> PAGE_SHIFT;
    if (level == 2 && (pte & PTE_PS)) {
        for (unsigned k = 0; k < 512; k++)
            put_leaf(mfn + k, pte & PTE_W);
    } else if (level == 1) {
        put_leaf(mfn, pte & PTE_W);
    } else {
        put_page_and_type(mfn);
    }
}

/* Check every entry of a table about to become level `level`; take their references. */
static int validate_table(uint64_t mfn, unsigned level, uint16_t domid)
{
    uint64_t *t = mfn_to_virt(mfn);
    for (unsigned i = 0; i < 512; i++) {
        if (hv_slot(level, i))
            continue;
        int rc = pte_get(level, t[i], domid);
        if (rc) {
            while (i--)
                if (!hv_slot(level, i))
                    pte_put(level, t[i]);
            return rc;
        }
    }
    if (level == 4)
        paging_copy_hv_slots(t);
    return 0;
}

/* Drop the references a table's entries hold; it is about to stop being a table. */
static void devalidate_table(uint64_t mfn, unsigned level)
{
    uint64_t *t = mfn_to_virt(mfn);
    for (unsigned i = 0; i < 512; i++) {
        if (hv_slot(level, i))
            t[i] = 0;                /* the frame may become guest-writable: no hv pointers */
        else
            pte_put(level, t[i]);
    }
}

int pt_update(uint64_t table_mfn, unsigned idx, uint64_t val, uint16_t domid, bool *flush)
{
    struct frame_info *f = frame_get(table_mfn);
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    unsigned level = pgt_level(f->type);
    if (!level || f->type_count == 0 || idx >= 512)
        return -HAKO_EINVAL;
    if (hv_slot(level, idx))
        return -HAKO_EPERM;
    uint64_t *slot = (uint64_t *)mfn_to_virt(table_mfn) + idx;
    uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
    int rc = pte_get(level, val, domid);
    if (rc)
        return rc;
    __atomic_store_n(slot, val, __ATOMIC_RELAXED);
    pte_put(level, old);
    if ((old & PTE_P) && old != val)
        *flush = true;
    return 0;
}

int pt_pin(uint64_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!pgt_level(type))
        return -HAKO_EINVAL;                 /* only page tables can be pinned */
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    if (f->type & PGT_PINNED)            /* pinned as another type: a type conflict */
        return (f->type & PGT_TYPE_MASK) == type ? -HAKO_EEXIST : -HAKO_EBUSY;
    int rc = get_page_and_type(mfn, type, domid);
    if (rc)
        return rc;
    f->type |= PGT_PINNED;
    return 0;
}

int pt_unpin(uint64_t mfn, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    if (!(f->type & PGT_PINNED))
        return -HAKO_EINVAL;
    f->type &= (uint16_t)~PGT_PINNED;
    put_page_and_type(mfn);
    return 0;
}

void pt_unpin_all(uint16_t domid)
{
    for (uint64_t mfn = 0; mfn < frame_count(); mfn++) {
        struct frame_info *f = frame_get(mfn);
        if (f->owner == domid && (f->type & PGT_PINNED))
            pt_unpin(mfn, domid);
    }
}

/* Audit helper: count one reference from a table entry (or pin, or the hypervisor) to
 * mfn that relies on `type` (PGT_NONE: a plain reference). Returns 1 when the reference
 * itself is wrong (frame not the domain's, or typed differently). */
static unsigned audit_account(uint64_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != domid)
        return 1;
    audit_scratch[mfn][0]++;
    if (type == PGT_NONE)
        return 0;
    audit_scratch[mfn][1]++;
    return (f->type & PGT_TYPE_MASK) != type;
}

unsigned pagetype_audit(uint16_t domid, const struct hv_ref *refs, unsigned nr_refs)
{
    unsigned bad = 0;
    uint64_t n = frame_count();
    for (uint64_t mfn = 0; mfn < n; mfn++)
        audit_scratch[mfn][0] = audit_scratch[mfn][1] = 0;
    for (uint64_t mfn = 0; mfn < n; mfn++) {
        struct frame_info *f = frame_get(mfn);
        if (f->owner != domid)
            continue;
        unsigned level = pgt_level(f->type);
        if (f->type & PGT_PINNED)
            bad += audit_account(mfn, f->type & PGT_TYPE_MASK, domid);
        if (!level || f->type_count == 0)
            continue;
        const uint64_t *t = mfn_to_virt(mfn);
        for (unsigned i = 0; i < 512; i++) {
            uint64_t e = t[i], target = (e & PTE_ADDR) >> PAGE_SHIFT;
            if (hv_slot(level, i) || !(e & PTE_P))
                continue;
            if (!pte_is_leaf(level, e)) {
                bad += audit_account(target, PGT_L1 + level - 2, domid);
                continue;
            }
            unsigned pages = level == 1 ? 1 : 512;
            for (unsigned k = 0; k < pages; k++)
                bad += audit_account(target + k, (e & PTE_W) ? PGT_WRITABLE : PGT_NONE, domid);
        }
    }
    for (unsigned i = 0; i < nr_refs; i++)
        bad += audit_account(refs[i].mfn, refs[i].type, domid);
    for (uint64_t mfn = 0; mfn < n; mfn++) {
        struct frame_info *f = frame_get(mfn);
        if (f->owner == domid && (f->ref_count != audit_scratch[mfn][0] ||
                                  f->type_count != audit_scratch[mfn][1]))
            bad++;
    }
    return bad;
}
