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
/* What the TLB may hold stale since the last flush: one word, so that entry.S's fast
 * paths clear it with the CR3 loads they make (pagetype.h). */
union pagetype_stale pagetype_stale;
/* Foreign mappings (L1 entries of one domain naming another domain's frame), counted
 * per domain: mapped[d] entries of other domains map frames of d; held[d] entries of
 * d's tables map other domains' frames. */
static uint32_t foreign_mapped[PGT_FOREIGN_DOMIDS], foreign_held[PGT_FOREIGN_DOMIDS];

bool pagetype_flush_needed(void)
{
    const union pagetype_stale st = pagetype_stale;
    return (st.writable_dropped && st.table_created) || st.table_dropped || st.foreign_dropped;
}

void pagetype_tlb_flushed(void)
{
    pagetype_stale.any = 0;
}

void pagetype_init(uint32_t (*scratch)[2], bool nx_allowed)
{
    audit_scratch = scratch;
    allowed_nx = nx_allowed ? PTE_NX : 0;
    for (unsigned d = 0; d < PGT_FOREIGN_DOMIDS; d++)
        foreign_mapped[d] = foreign_held[d] = 0;
}

/* True for the L4 slots that belong to the hypervisor. */
static bool hv_slot(unsigned level, unsigned idx)
{
    return level == 4 && idx >= HAKO_HV_L4_FIRST && idx <= HAKO_HV_L4_LAST;
}

int get_page(mfn_t mfn, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    if (f->ref_count == UINT32_MAX)
        return -HAKO_ENOSPC;
    f->ref_count++;
    return 0;
}

void put_page(mfn_t mfn)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->ref_count == 0) {
        pagetype_count_error(mfn, "reference count underflow");
        return;
    }
    f->ref_count--;
}

static int validate_table(mfn_t mfn, unsigned level, uint16_t domid);
static void devalidate_table(mfn_t mfn, unsigned level);
static void pte_put_from(unsigned level, uint64_t pte, uint16_t table_owner);

/* Owner argument of pte_put_from for references that are never foreign. */
#define OWNER_SELF OWNER_FREE

int get_page_type(mfn_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    HV_ASSERT(f && f->ref_count > 0);
    if (f->type_count == 0) {
        /* Claim the type before validating, so a loop back to this frame sees it. */
        f->type = (uint16_t)type;
        f->type_count = 1;
        pagetype_stale.table_created |= pgt_level(type) != 0;
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

void put_page_type(mfn_t mfn)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->type_count == 0) {
        pagetype_count_error(mfn, "type count underflow");
        return;
    }
    if (--f->type_count)
        return;
    unsigned level = pgt_level(f->type);
    f->type = PGT_NONE;
    if (level) {
        pagetype_stale.table_dropped = true;
        devalidate_table(mfn, level);
    }
}

int get_page_and_type_slow(mfn_t mfn, unsigned type, uint16_t domid)
{
    int rc = get_page(mfn, domid);
    if (rc)
        return rc;
    if ((rc = get_page_type(mfn, type, domid)))
        put_page(mfn);
    return rc;
}

void put_page_and_type_slow(mfn_t mfn)
{
    put_page_type(mfn);
    put_page(mfn);
}

/* References of one leaf frame mapped with or without write access. */
static int get_leaf(mfn_t mfn, bool writable, uint16_t domid)
{
    return writable ? get_page_and_type(mfn, PGT_WRITABLE, domid) : get_page(mfn, domid);
}

/* Drop a leaf reference held by an entry of a table owned by table_owner (OWNER_SELF:
 * the frame's own owner); a foreign one also leaves the foreign counts. */
static void put_leaf(mfn_t mfn, bool writable, uint16_t table_owner)
{
    struct frame_info *f = frame_get(mfn);
    if (!f) {
        if (!pagetype_io_frame(mfn))    /* device registers: the entry held nothing */
            pagetype_count_error(mfn, "a table entry names a frame outside RAM");
        return;
    }
    pagetype_stale.writable_dropped |= writable;
    if (table_owner != OWNER_SELF && f->owner != table_owner) {
        if (f->owner >= PGT_FOREIGN_DOMIDS || table_owner >= PGT_FOREIGN_DOMIDS ||
            foreign_mapped[f->owner] == 0 || foreign_held[table_owner] == 0) {
            pagetype_count_error(mfn, "a foreign mapping that was never counted");
            return;
        }
        foreign_mapped[f->owner]--;
        foreign_held[table_owner]--;
        pagetype_stale.foreign_dropped = true;
    }
    writable ? put_page_and_type(mfn) : put_page(mfn);
}

/* True when pte at this level maps memory directly (4 KiB or 2 MiB page). */
static bool pte_is_leaf(unsigned level, uint64_t pte)
{
    return level == 1 || (level == 2 && (pte & PTE_PS));
}

/* True when present entry pte of a level-`level` table has the user bit and no bit
 * beyond those ABI.md 12.2 allows there. */
static bool pte_bits_ok(unsigned level, uint64_t pte)
{
    uint64_t allowed = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | (7ull << 9) | PTE_ADDR |
                       allowed_nx | (level == 2 ? PTE_PS : 0);
    return !(pte & ~allowed) && (pte & PTE_U);
}

int pte_get(unsigned level, uint64_t pte, uint16_t domid)
{
    if (!(pte & PTE_P))
        return 0;
    mfn_t mfn = pte_mfn(pte);
    if (level == 1 && !frame_get(mfn) && pagetype_io_allowed(domid, mfn))
        return pte_bits_ok(1, pte & ~(PTE_PCD | PTE_PWT)) ? 0 : -HAKO_EINVAL;  /* no refs */
    if (!pte_bits_ok(level, pte))
        return -HAKO_EINVAL;
    bool w = pte & PTE_W;
    if (level == 2 && (pte & PTE_PS)) {
        if (mfn_x(mfn) & 511)
            return -HAKO_EINVAL;     /* misaligned, or the PAT bit */
        for (unsigned k = 0; k < 512; k++) {
            int rc = get_leaf(mfn_add(mfn, k), w, domid);
            if (rc) {
                while (k--)
                    put_leaf(mfn_add(mfn, k), w, OWNER_SELF);
                return rc;
            }
        }
        return 0;
    }
    if (level == 1)
        return get_leaf(mfn, w, domid);
    return get_page_and_type(mfn, PGT_L1 + level - 2, domid);
}

/* Drop the references of an entry of a table owned by table_owner. */
static void pte_put_from(unsigned level, uint64_t pte, uint16_t table_owner)
{
    if (!(pte & PTE_P))
        return;
    mfn_t mfn = pte_mfn(pte);
    if (level == 2 && (pte & PTE_PS)) {
        for (unsigned k = 0; k < 512; k++)
            put_leaf(mfn_add(mfn, k), pte & PTE_W, OWNER_SELF);
    } else if (level == 1) {
        put_leaf(mfn, pte & PTE_W, table_owner);
    } else {
        put_page_and_type(mfn);
    }
}

void pte_put(unsigned level, uint64_t pte)
{
    pte_put_from(level, pte, OWNER_SELF);
}

/* The index of the first present entry of t at or after i, 512 when there is none.
 * Tables are mostly empty, so finding the present entries is most of what validating
 * and devalidating one costs: four entries are tested per step. */
static unsigned next_present(const uint64_t *t, unsigned i)
{
    for (; i < 512 && (i & 3); i++)
        if (t[i] & PTE_P)
            return i;
    for (; i < 512; i += 4)
        if ((t[i] | t[i + 1] | t[i + 2] | t[i + 3]) & PTE_P)
            break;
    for (; i < 512; i++)
        if (t[i] & PTE_P)
            return i;
    return 512;
}

/* Check every entry of a table about to become level `level`; take their references. */
static int validate_table(mfn_t mfn, unsigned level, uint16_t domid)
{
    uint64_t *t = mfn_to_virt(mfn);
    for (unsigned i = next_present(t, 0); i < 512; i = next_present(t, i + 1)) {
        if (hv_slot(level, i))
            continue;
        int rc = pte_get(level, t[i], domid);
        if (rc) {
            while (i--)
                if (!hv_slot(level, i))
                    pte_put_from(level, t[i], domid);
            return rc;
        }
    }
    if (level == 4)
        paging_copy_hv_slots(t);
    return 0;
}

/* Drop the references a table's entries hold; it is about to stop being a table. */
static void devalidate_table(mfn_t mfn, unsigned level)
{
    uint64_t *t = mfn_to_virt(mfn);
    uint16_t owner = frame_get(mfn)->owner;
    for (unsigned i = next_present(t, 0); i < 512; i = next_present(t, i + 1))
        if (!hv_slot(level, i))
            pte_put_from(level, t[i], owner);
    if (level == 4)                  /* the frame may become guest-writable: no hv pointers */
        for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
            t[i] = 0;
}

/* Level (1..4) of table_mfn when it is a validated table of domid and idx indexes it;
 * -HAKO_EPERM when it is not domid's, -HAKO_EINVAL otherwise. */
static int table_level(mfn_t table_mfn, unsigned idx, uint16_t domid)
{
    struct frame_info *f = frame_get(table_mfn);
    if (!f || f->owner != domid)
        return -HAKO_EPERM;
    unsigned level = pgt_level(f->type);
    if (!level || f->type_count == 0 || idx >= 512)
        return -HAKO_EINVAL;
    return (int)level;
}

/* Store val, whose references are taken, in entry idx of table_mfn (level `level`,
 * owned by domid) and drop the references of the entry it replaces. */
static void set_entry(mfn_t table_mfn, unsigned level, unsigned idx, uint64_t val,
                      uint16_t domid, bool *flush)
{
    uint64_t *slot = (uint64_t *)mfn_to_virt(table_mfn) + idx;
    uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
    __atomic_store_n(slot, val, __ATOMIC_RELAXED);
    pte_put_from(level, old, domid);
    if ((old & PTE_P) && old != val)
        *flush = true;
}

/* pt_update beyond its plain L1 case. */
static int __attribute__((noinline)) pt_update_general(mfn_t table_mfn, unsigned idx, uint64_t val,
                                                       uint16_t domid, bool *flush)
{
    int level = table_level(table_mfn, idx, domid);
    if (level < 0)
        return level;
    if (hv_slot((unsigned)level, idx))
        return -HAKO_EPERM;
    int rc = pte_get((unsigned)level, val, domid);
    if (rc)
        return rc;
    set_entry(table_mfn, (unsigned)level, idx, val, domid, flush);
    return 0;
}

/* Done here: the common case, entry idx of table_mfn, a validated L1 of domid, where the
 * entry replaced and the new one are each either not present or a leaf of one of domid's
 * own frames whose counts move by one without leaving range (a frame's first writable
 * mapping claims the writable type and its last one gives it up; neither validates
 * anything). It takes and drops exactly the references the general path would. Any
 * other case, errors included, goes to pt_update_general with nothing changed. */
int pt_update(mfn_t table_mfn, unsigned idx, uint64_t val, uint16_t domid, bool *flush)
{
    struct frame_info *t = frame_get(table_mfn);
    if (!t || t->owner != domid || (t->type & PGT_TYPE_MASK) != PGT_L1 || !t->type_count ||
        idx >= 512)
        goto general;
    uint64_t *slot = (uint64_t *)mfn_to_virt(table_mfn) + idx;
    uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
    struct frame_info *nf = NULL, *of = NULL;
    bool nw = val & PTE_W, ow = old & PTE_W;
    if (val & PTE_P) {
        if (!pte_bits_ok(1, val) || !(nf = frame_get(pte_mfn(val))) || nf->owner != domid ||
            nf->ref_count == UINT32_MAX)
            goto general;
        if (nw && nf->type_count != 0 &&
            ((nf->type & PGT_TYPE_MASK) != PGT_WRITABLE || nf->type_count == UINT32_MAX))
            goto general;
    }
    if (old & PTE_P) {      /* foreign, or counts that cannot hold it: the general path */
        of = frame_get(pte_mfn(old));
        if (!of || of->owner != domid || of->ref_count == 0 || (ow && of->type_count == 0))
            goto general;
    }
    if (nf) {
        nf->ref_count++;
        if (nw && nf->type_count++ == 0)
            nf->type = PGT_WRITABLE;
    }
    __atomic_store_n(slot, val, __ATOMIC_RELAXED);
    if (of) {
        of->ref_count--;
        if (ow && --of->type_count == 0)
            of->type = PGT_NONE;
        pagetype_stale.writable_dropped |= ow;
        if (old != val)
            *flush = true;
    }
    return 0;
general:
    return pt_update_general(table_mfn, idx, val, domid, flush);
}



int pt_update_foreign(mfn_t table_mfn, unsigned idx, uint64_t val, uint16_t domid,
                      uint16_t fdomid, bool *flush)
{
    int level = table_level(table_mfn, idx, domid);
    if (level < 0)
        return level;
    if (level != 1 || domid >= PGT_FOREIGN_DOMIDS || fdomid >= PGT_FOREIGN_DOMIDS ||
        fdomid == domid || !(val & PTE_P) || !pte_bits_ok(1, val))
        return -HAKO_EINVAL;
    mfn_t mfn = pte_mfn(val);
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != fdomid)
        return -HAKO_EINVAL;
    if (pgt_level(f->type) && f->type_count)
        return -HAKO_EBUSY;              /* never a window onto another domain's tables */
    if (foreign_mapped[fdomid] == UINT32_MAX || foreign_held[domid] == UINT32_MAX)
        return -HAKO_ENOSPC;
    int rc = get_leaf(mfn, val & PTE_W, fdomid);
    if (rc)
        return rc;
    foreign_mapped[fdomid]++;
    foreign_held[domid]++;
    set_entry(table_mfn, 1, idx, val, domid, flush);
    return 0;
}

uint32_t pagetype_foreign_mapped(uint16_t domid)
{
    return domid < PGT_FOREIGN_DOMIDS ? foreign_mapped[domid] : 0;
}

uint32_t pagetype_foreign_held(uint16_t domid)
{
    return domid < PGT_FOREIGN_DOMIDS ? foreign_held[domid] : 0;
}

/* Clear every entry of validated L1 tables owned by table_owner (any domain when
 * table_owner is OWNER_SELF) that maps a frame of frame_owner (any other domain when
 * frame_owner is OWNER_SELF), dropping its references. */
static void clear_foreign(uint16_t table_owner, uint16_t frame_owner)
{
    for (uint64_t m = 0; m < frame_count(); m++) {
        struct frame_info *t = frame_get(_mfn(m));
        if (t->owner > OWNER_DOMID_MAX || pgt_level(t->type) != 1 || t->type_count == 0 ||
            (table_owner != OWNER_SELF && t->owner != table_owner))
            continue;
        uint64_t *e = mfn_to_virt(_mfn(m));
        for (unsigned i = 0; i < 512; i++) {
            if (!(e[i] & PTE_P))
                continue;
            struct frame_info *f = frame_get(pte_mfn(e[i]));
            if (!f || f->owner == t->owner ||
                (frame_owner != OWNER_SELF && f->owner != frame_owner))
                continue;
            uint64_t old = e[i];
            __atomic_store_n(&e[i], 0, __ATOMIC_RELAXED);
            pte_put_from(1, old, t->owner);
        }
    }
}

void pagetype_drop_foreign_held(uint16_t domid)
{
    if (pagetype_foreign_held(domid))
        clear_foreign(domid, OWNER_SELF);
}

void pagetype_revoke_foreign(uint16_t domid)
{
    if (pagetype_foreign_mapped(domid))
        clear_foreign(OWNER_SELF, domid);
}

int pt_pin(mfn_t mfn, unsigned type, uint16_t domid)
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

int pt_unpin(mfn_t mfn, uint16_t domid)
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
    for (uint64_t m = 0; m < frame_count(); m++) {
        struct frame_info *f = frame_get(_mfn(m));
        if (f->owner == domid && (f->type & PGT_PINNED))
            pt_unpin(_mfn(m), domid);
    }
}

/* Audit helper: count one reference from a table entry (or pin, or the hypervisor) to
 * mfn that relies on `type` (PGT_NONE: a plain reference). Returns 1 when the reference
 * itself is wrong (frame not the domain's, or typed differently). */
static unsigned audit_account(mfn_t mfn, unsigned type, uint16_t domid)
{
    struct frame_info *f = frame_get(mfn);
    if (!f || f->owner != domid)
        return 1;
    audit_scratch[mfn_x(mfn)][0]++;
    if (type == PGT_NONE)
        return 0;
    audit_scratch[mfn_x(mfn)][1]++;
    return (f->type & PGT_TYPE_MASK) != type;
}

unsigned pagetype_audit(uint16_t domid, const struct hv_ref *refs, unsigned nr_refs)
{
    unsigned bad = 0;
    uint32_t held = 0, mapped = 0;  /* foreign entries in domid's tables / onto its frames */
    uint64_t n = frame_count();
    for (uint64_t m = 0; m < n; m++)
        audit_scratch[m][0] = audit_scratch[m][1] = 0;
    for (uint64_t m = 0; m < n; m++) {
        struct frame_info *f = frame_get(_mfn(m));
        if (f->owner > OWNER_DOMID_MAX)
            continue;
        unsigned level = pgt_level(f->type);
        if (f->owner == domid && (f->type & PGT_PINNED))
            bad += audit_account(_mfn(m), f->type & PGT_TYPE_MASK, domid);
        if (!level || f->type_count == 0 || (f->owner != domid && level != 1))
            continue;
        const uint64_t *t = mfn_to_virt(_mfn(m));
        for (unsigned i = 0; i < 512; i++) {
            uint64_t e = t[i];
            mfn_t target = pte_mfn(e);
            if (hv_slot(level, i) || !(e & PTE_P))
                continue;
            struct frame_info *tf = frame_get(target);
            if (level == 1 && !tf && pagetype_io_frame(target))
                continue;                   /* device registers: no references */
            if (f->owner != domid) {
                /* Another domain's L1: only its (foreign) mappings of domid's frames. */
                if (tf && tf->owner == domid) {
                    mapped++;
                    bad += audit_account(target, (e & PTE_W) ? PGT_WRITABLE : PGT_NONE, domid);
                }
                continue;
            }
            if (level == 1 && tf && tf->owner != domid && tf->owner <= OWNER_DOMID_MAX) {
                /* A foreign mapping: counted against its owner when that one is
                 * audited; here only its type is checked. */
                held++;
                bad += (e & PTE_W) && (tf->type & PGT_TYPE_MASK) != PGT_WRITABLE;
                continue;
            }
            if (!pte_is_leaf(level, e)) {
                bad += audit_account(target, PGT_L1 + level - 2, domid);
                continue;
            }
            unsigned pages = level == 1 ? 1 : 512;
            unsigned leaf_type = (e & PTE_W) ? PGT_WRITABLE : PGT_NONE;
            for (unsigned k = 0; k < pages; k++)
                bad += audit_account(mfn_add(target, k), leaf_type, domid);
        }
    }
    for (unsigned i = 0; i < nr_refs; i++)
        bad += audit_account(refs[i].mfn, refs[i].type, domid);
    for (uint64_t m = 0; m < n; m++) {
        struct frame_info *f = frame_get(_mfn(m));
        if (f->owner == domid && (f->ref_count != audit_scratch[m][0] ||
                                  f->type_count != audit_scratch[m][1]))
            bad++;
    }
    bad += held != pagetype_foreign_held(domid);
    bad += mapped != pagetype_foreign_mapped(domid);
    return bad;
}
