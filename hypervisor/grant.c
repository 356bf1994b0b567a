/*
 * hypervisor/grant.c: grant tables (ABI.md 21): a domain grants a peer one frame at a
 * time through entries in frames of its own; the peer maps the grant at one of its L1
 * entries (a foreign mapping, pagetype.c) or copies to or from it.
 *
 * State. A granter's entries are guest memory, read as one 8-byte snapshot and written
 * only in READING/WRITING, with atomic read-modify-write. What the hypervisor relies on
 * is its own: per granter, struct grant_active for each ref (how many mappings exist and
 * the frame they map), per mapper, a maptrack of the mappings it made.
 * Invariants: a maptrack slot in use names a live granter whose active entry counts it
 * (granter->grant.mapped is the number of such slots in all mappers); an active entry
 * with mappings keeps its frame and the grant's READING (and WRITING when one is
 * writable) set; a table with mappings is never replaced.
 */
#include "grant.h"

#include <stddef.h>

#include <hako/arch-x86_64.h>
#include <hako/errno.h>

#include "cpu.h"
#include "domain.h"
#include "frame.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "mmu.h"
#include "panic.h"
#include "percpu.h"

#define ENTRIES HAKO_GRANT_ENTRIES_PER_FRAME
_Static_assert(sizeof(struct grant_active) * ENTRIES == PAGE_SIZE, "one active page per frame");
_Static_assert(sizeof(struct grant_map) * HAKO_GRANT_MAPS_MAX <= PAGE_SIZE, "maptrack page");

/* The fields of an entry read as one 8-byte value. */
static uint16_t ge_flags(uint64_t e) { return (uint16_t)e; }
static uint16_t ge_domid(uint64_t e) { return (uint16_t)(e >> 16); }
static uint32_t ge_frame(uint64_t e) { return (uint32_t)(e >> 32); }

static uint64_t *entry_of(const struct domain *g, uint32_t ref)
{
    return (uint64_t *)mfn_to_virt(_mfn(g->grant.frames[ref / ENTRIES])) + ref % ENTRIES;
}

static struct grant_active *active_of(const struct domain *g, uint32_t ref)
{
    return &g->grant.active[ref / ENTRIES][ref % ENTRIES];
}

/* Set the READING/WRITING bits of g's entry ref to what its mappings say. */
static void sync_flags(const struct domain *g, uint32_t ref)
{
    const struct grant_active *a = active_of(g, ref);
    uint16_t *flags = (uint16_t *)entry_of(g, ref);
    if (!a->rw_maps)
        __atomic_fetch_and(flags, (uint16_t)~HAKO_GTF_WRITING, __ATOMIC_SEQ_CST);
    if (!a->rw_maps && !a->ro_maps)
        __atomic_fetch_and(flags, (uint16_t)~HAKO_GTF_READING, __ATOMIC_SEQ_CST);
}

/* A new hypervisor page for d, zeroed; NULL when memory is short. */
static void *hv_page(struct domain *d)
{
    mfn_t m = frame_alloc(OWNER_HV, &d->hv_mem);
    if (mfn_x(m) == FRAME_NONE)
        return NULL;
    return memset(mfn_to_virt(m), 0, PAGE_SIZE);
}

/* 0 when g may grant frame: g's own, no page table in use, nothing the hypervisor holds
 * for it; else -HAKO_EPERM / -HAKO_EBUSY. */
static int grantable(const struct domain *g, mfn_t frame)
{
    const struct frame_info *f = frame_get(frame);
    if (!f || f->owner != g->domid)
        return -HAKO_EPERM;
    if ((pgt_level(f->type) && f->type_count) || mfn_x(frame) == g->console_mfn ||
        mmu_frame_is_special(g, frame))
        return -HAKO_EBUSY;
    return 0;
}

/* The domain a grant side names for caller d: another live domain; NULL with *rc. */
static struct domain *granter_of(const struct domain *d, uint16_t domid, int *rc)
{
    struct domain *g = domid <= OWNER_DOMID_MAX ? domain_get(domid) : NULL;
    *rc = domid == d->domid || domid == HAKO_DOMID_SELF ? -HAKO_EINVAL
          : !g || g->state != DOMAIN_RUNNING          ? -HAKO_ESRCH : 0;
    return *rc ? NULL : g;
}

/* Check grant ref of g for use by user (writes too when write): 0 with *e the entry as
 * read, or the error. The frame is checked too, against the mappings that exist. */
static int grant_check(const struct domain *g, uint32_t ref, uint16_t user, bool write,
                       uint64_t *e)
{
    if (ref >= g->grant.nr_frames * ENTRIES)
        return -HAKO_EINVAL;
    *e = __atomic_load_n(entry_of(g, ref), __ATOMIC_ACQUIRE);
    uint16_t flags = ge_flags(*e);
    if (flags & ~HAKO_GTF_KNOWN)
        return -HAKO_EINVAL;
    if (!(flags & HAKO_GTF_PERMIT_ACCESS))
        return -HAKO_ENOENT;
    if (ge_domid(*e) != user || (write && (flags & HAKO_GTF_READONLY)))
        return -HAKO_EPERM;
    const struct grant_active *a = active_of(g, ref);
    if ((a->ro_maps || a->rw_maps) && a->frame != ge_frame(*e))
        return -HAKO_EBUSY;             /* the entry changed under its mappings */
    return grantable(g, _mfn(ge_frame(*e)));
}

/* The target of SETUP_TABLE / QUERY_SIZE for caller d; NULL with *rc. */
static struct domain *table_owner(struct domain *d, uint16_t domid, int *rc)
{
    if (domid == HAKO_DOMID_SELF || domid == d->domid)
        return *rc = 0, d;
    struct domain *t = domid <= OWNER_DOMID_MAX ? domain_get(domid) : NULL;
    *rc = !d->privileged ? -HAKO_EPERM : !t ? -HAKO_ESRCH : 0;
    return *rc ? NULL : t;
}

static int gnt_setup(struct domain *d, void *arg)
{
    struct hako_gnttab_setup *op = arg;
    int rc;
    if (op->_pad0 || op->_pad1 || op->nr_frames > HAKO_GRANT_FRAMES_MAX)
        return -HAKO_EINVAL;
    struct domain *t = table_owner(d, op->domid, &rc);
    if (!t)
        return rc;
    uint32_t n = op->nr_frames;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (op->frames[i] == op->frames[j])
                return -HAKO_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        mfn_t m = _mfn(op->frames[i]);
        const struct frame_info *f = frame_get(m);
        if (!f || f->owner != t->domid)
            return -HAKO_EPERM;
        if (mfn_x(m) == t->console_mfn || mmu_frame_is_special(t, m))
            return -HAKO_EBUSY;
    }
    if (t->grant.mapped)
        return -HAKO_EBUSY;             /* the old table's grants are in use */
    for (uint32_t i = 0; i < n; i++)
        if (!t->grant.active[i] && !(t->grant.active[i] = hv_page(t)))
            return -HAKO_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = get_page_and_type(_mfn(op->frames[i]), PGT_WRITABLE, t->domid))) {
            while (i--)
                put_page_and_type(_mfn(op->frames[i]));
            return rc;                  /* a page table: -HAKO_EBUSY */
        }
    }
    for (uint32_t i = 0; i < t->grant.nr_frames; i++)  /* new taken first: a frame in */
        put_page_and_type(_mfn(t->grant.frames[i]));    /* both keeps its type */
    for (uint32_t i = 0; i < HAKO_GRANT_FRAMES_MAX; i++) {
        t->grant.frames[i] = i < n ? op->frames[i] : 0;
        if (t->grant.active[i])
            memset(t->grant.active[i], 0, PAGE_SIZE);
    }
    t->grant.nr_frames = n;
    return 0;
}

static int gnt_query(struct domain *d, void *arg)
{
    struct hako_gnttab_query *op = arg;
    int rc;
    if (op->_pad0)
        return -HAKO_EINVAL;
    struct domain *t = table_owner(d, op->domid, &rc);
    if (!t)
        return rc;
    op->nr_frames = t->grant.nr_frames;
    op->max_frames = HAKO_GRANT_FRAMES_MAX;
    return 0;
}

/* Claim grant ref of g for a mapping by d: READING (and WRITING) set in the entry only
 * if it is still exactly what was checked. 0 with the frame in *frame, or the error. */
static int claim(const struct domain *g, uint32_t ref, uint16_t user, bool write, mfn_t *frame)
{
    for (unsigned tries = 0; tries < 4; tries++) {
        uint64_t e;
        int rc = grant_check(g, ref, user, write, &e);
        if (rc)
            return rc;
        uint64_t want = e | HAKO_GTF_READING | (write ? HAKO_GTF_WRITING : 0);
        if (__atomic_compare_exchange_n(entry_of(g, ref), &e, want, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            *frame = _mfn(ge_frame(e));
            return 0;
        }
    }
    return -HAKO_EAGAIN;
}

static int gnt_map(struct domain *d, void *arg)
{
    struct hako_gnttab_map *op = arg;
    int rc;
    if (op->flags & ~HAKO_GNTMAP_READONLY)
        return -HAKO_EINVAL;
    bool write = !(op->flags & HAKO_GNTMAP_READONLY);
    struct domain *g = granter_of(d, op->domid, &rc);
    if (!g)
        return rc;
    uint64_t e;
    if ((rc = grant_check(g, op->ref, d->domid, write, &e)))
        return rc;
    /* Where: an empty entry of one of the caller's validated L1 tables. */
    mfn_t table = maddr_to_mfn(op->pte_maddr);
    unsigned idx = (unsigned)((op->pte_maddr & (PAGE_SIZE - 1)) >> 3);
    const struct frame_info *t = frame_get(table);
    if (op->pte_maddr & 7)
        return -HAKO_EINVAL;
    if (!t || t->owner != d->domid)
        return -HAKO_EPERM;
    if (pgt_level(t->type) != 1 || !t->type_count)
        return -HAKO_EINVAL;
    if (__atomic_load_n((uint64_t *)mfn_to_virt(table) + idx, __ATOMIC_RELAXED) & PTE_P)
        return -HAKO_EEXIST;
    if (!d->grant.maptrack && !(d->grant.maptrack = hv_page(d)))
        return -HAKO_ENOMEM;
    if (d->grant.nr_maps == HAKO_GRANT_MAPS_MAX)
        return -HAKO_ENOSPC;
    unsigned h = 0;
    while (d->grant.maptrack[h].used)
        h++;
    /* Claim the grant, then map it; a mapping that fails gives the claim back. */
    mfn_t frame;
    if ((rc = claim(g, op->ref, d->domid, write, &frame)))
        return rc;
    uint64_t val = mfn_x(frame) << PAGE_SHIFT | PTE_P | PTE_U | PTE_A | PTE_D |
                   (write ? PTE_W : 0) | (cpu_has.nx ? PTE_NX : 0);
    bool changed;
    if ((rc = pt_update_foreign(table, idx, val, d->domid, g->domid, &changed))) {
        sync_flags(g, op->ref);
        return rc;
    }
    struct grant_active *a = active_of(g, op->ref);
    a->frame = (uint32_t)mfn_x(frame);
    write ? a->rw_maps++ : a->ro_maps++;
    d->grant.maptrack[h] = (struct grant_map){ .pte_maddr = op->pte_maddr, .ref = op->ref,
                                               .granter = g->domid, .readonly = !write,
                                               .used = 1 };
    d->grant.nr_maps++;
    g->grant.mapped++;
    op->handle = h;
    return 0;
}

/* Forget mapping slot m of d: the granter's counts and flags follow. */
static void map_release(struct domain *d, struct grant_map *m)
{
    struct domain *g = domain_get(m->granter);
    HV_ASSERT(g && g->grant.mapped);    /* invariant: a used slot's granter is live */
    struct grant_active *a = active_of(g, m->ref);
    m->readonly ? a->ro_maps-- : a->rw_maps--;
    sync_flags(g, m->ref);
    g->grant.mapped--;
    m->used = 0;
    d->grant.nr_maps--;
}

static int gnt_unmap(struct domain *d, void *arg)
{
    struct hako_gnttab_unmap *op = arg;
    if (op->handle >= HAKO_GRANT_MAPS_MAX || !d->grant.maptrack)
        return -HAKO_EINVAL;
    struct grant_map *m = &d->grant.maptrack[op->handle];
    if (!m->used || m->pte_maddr != op->pte_maddr)
        return -HAKO_EINVAL;
    const struct domain *g = domain_get(m->granter);
    HV_ASSERT(g);
    /* The entry goes if it still maps the granted frame in a validated L1 of d's. */
    mfn_t table = maddr_to_mfn(m->pte_maddr);
    unsigned idx = (unsigned)((m->pte_maddr & (PAGE_SIZE - 1)) >> 3);
    const struct frame_info *t = frame_get(table);
    if (t && t->owner == d->domid && pgt_level(t->type) == 1 && t->type_count) {
        uint64_t cur = __atomic_load_n((uint64_t *)mfn_to_virt(table) + idx, __ATOMIC_RELAXED);
        bool changed;
        if ((cur & PTE_P) && mfn_x(pte_mfn(cur)) == active_of(g, m->ref)->frame) {
            int rc = pt_update(table, idx, 0, d->domid, &changed);
            HV_ASSERT(rc == 0);         /* an empty entry is always valid */
        }
    }
    map_release(d, m);
    return 0;
}

/* One side of a copy for caller d: the frame it names, with a reference taken on it. */
static int copy_side(struct domain *d, const struct hako_gnttab_copy_ptr *p, bool gref,
                     bool dst, uint16_t len, mfn_t *frame)
{
    int rc;
    if (p->offset > PAGE_SIZE || len > PAGE_SIZE - p->offset)
        return -HAKO_EINVAL;            /* a copy never crosses a page */
    if (gref) {
        struct domain *g = granter_of(d, p->domid, &rc);
        uint64_t e;
        if (!g || (rc = grant_check(g, p->ref_or_frame, d->domid, dst, &e)))
            return rc;
        *frame = _mfn(ge_frame(e));
        return get_page(*frame, g->domid);
    }
    if (p->domid != HAKO_DOMID_SELF)
        return -HAKO_EINVAL;
    *frame = _mfn(p->ref_or_frame);
    const struct frame_info *f = frame_get(*frame);
    if (!f || f->owner != d->domid)
        return -HAKO_EPERM;
    if (dst && ((pgt_level(f->type) && f->type_count) || mfn_x(*frame) == d->console_mfn ||
                mmu_frame_is_special(d, *frame)))
        return -HAKO_EBUSY;
    return get_page(*frame, d->domid);
}

static int gnt_copy(struct domain *d, void *arg)
{
    struct hako_gnttab_copy *op = arg;
    int rc;
    if (op->flags & ~(HAKO_GNTCOPY_SRC_GREF | HAKO_GNTCOPY_DST_GREF) || op->len > PAGE_SIZE)
        return -HAKO_EINVAL;
    mfn_t src, dst;
    if ((rc = copy_side(d, &op->src, op->flags & HAKO_GNTCOPY_SRC_GREF, false, op->len, &src)))
        return rc;
    if ((rc = copy_side(d, &op->dst, op->flags & HAKO_GNTCOPY_DST_GREF, true, op->len, &dst))) {
        put_page(src);
        return rc;
    }
    memmove((uint8_t *)mfn_to_virt(dst) + op->dst.offset,
            (const uint8_t *)mfn_to_virt(src) + op->src.offset, op->len);
    put_page(src);
    put_page(dst);
    return 0;
}

/* The operations of grant_table_op: each struct's size, where its status goes, and the
 * function that checks and does one (0 or the error for its status). */
#define GNT_OP(cmd, type, fn) \
    [cmd] = { sizeof(struct type), offsetof(struct type, status), fn }
static const struct {
    uint8_t size, status;
    int (*run)(struct domain *d, void *op);
} gnt_ops[] = {
    GNT_OP(HAKO_GNTTABOP_SETUP_TABLE, hako_gnttab_setup, gnt_setup),
    GNT_OP(HAKO_GNTTABOP_QUERY_SIZE, hako_gnttab_query, gnt_query),
    GNT_OP(HAKO_GNTTABOP_MAP, hako_gnttab_map, gnt_map),
    GNT_OP(HAKO_GNTTABOP_UNMAP, hako_gnttab_unmap, gnt_unmap),
    GNT_OP(HAKO_GNTTABOP_COPY, hako_gnttab_copy, gnt_copy),
};

/* grant_table_op(cmd, ops, count) */
long hc_grant_table_op(HC_ARGS)
{
    struct vcpu *v = current_vcpu();
    if (a1 >= sizeof(gnt_ops) / sizeof(gnt_ops[0]))
        return -HAKO_ENOSYS;
    if (a3 == 0 || a3 > HAKO_GNTTAB_BATCH_MAX ||
        (a1 <= HAKO_GNTTABOP_QUERY_SIZE && a3 != 1) || (a2 & 7))
        return -HAKO_EINVAL;
    uint64_t size = gnt_ops[a1].size, len = a3 * size;
    uint8_t buf[HAKO_GNTTAB_BATCH_MAX * sizeof(struct hako_gnttab_map)]
        __attribute__((aligned(8)));
    _Static_assert(sizeof(struct hako_gnttab_unmap) <= sizeof(struct hako_gnttab_map) &&
                       sizeof(struct hako_gnttab_copy) <= sizeof(struct hako_gnttab_map) &&
                       sizeof(struct hako_gnttab_setup) <= sizeof(buf),
                   "the buffer holds the largest batch");
    if (guest_check(v, _gva(a2), len, true) || guest_copy_from(v, buf, _gva(a2), len))
        return -HAKO_EFAULT;            /* copied in once; every check reads the copy */
    for (uint64_t i = 0; i < a3; i++) {
        uint8_t *op = buf + i * size;
        int32_t status = gnt_ops[a1].run(v->dom, op);
        __builtin_memcpy(op + gnt_ops[a1].status, &status, sizeof(status));
    }
    flush_tlb_if_unsafe();              /* an unmap or a failed map may have dropped one */
    return guest_copy_to(v, _gva(a2), buf, len) ? -HAKO_EFAULT : 0;
}

unsigned grant_refs(const struct domain *d, struct hv_ref *refs, unsigned n)
{
    for (uint32_t i = 0; i < d->grant.nr_frames; i++)
        refs[n++] = (struct hv_ref){ _mfn(d->grant.frames[i]), PGT_WRITABLE };
    return n;
}

/* True when mapper m has a grant mapping of granter g's frame at entry slot (ABI.md
 * 21.3: at the pte_maddr of one of m's mappings of g's grants, mapping its frame). */
static bool is_grant_entry(const struct domain *m, const struct domain *g, uint64_t slot_maddr,
                           uint64_t pte)
{
    for (unsigned h = 0; m && m->grant.maptrack && h < HAKO_GRANT_MAPS_MAX; h++) {
        const struct grant_map *gm = &m->grant.maptrack[h];
        if (gm->used && gm->granter == g->domid && gm->pte_maddr == slot_maddr &&
            active_of(g, gm->ref)->frame == mfn_x(pte_mfn(pte)))
            return true;
    }
    return false;
}

bool grant_only_grant_mappings(const struct domain *d)
{
    if (!pagetype_foreign_mapped(d->domid))
        return true;
    /* Look at every entry of another domain's that maps one of d's frames. */
    for (uint64_t t = 0; t < frame_count(); t++) {
        const struct frame_info *tf = frame_get(_mfn(t));
        if (tf->owner > OWNER_DOMID_MAX || tf->owner == d->domid || pgt_level(tf->type) != 1 ||
            !tf->type_count)
            continue;
        const uint64_t *e = mfn_to_virt(_mfn(t));
        for (unsigned i = 0; i < 512; i++) {
            const struct frame_info *f = (e[i] & PTE_P) ? frame_get(pte_mfn(e[i])) : NULL;
            if (f && f->owner == d->domid &&
                !is_grant_entry(domain_get(tf->owner), d, t * PAGE_SIZE + i * 8u, e[i]))
                return false;
        }
    }
    return true;
}

void grant_teardown(struct domain *d)
{
    for (unsigned h = 0; d->grant.maptrack && h < HAKO_GRANT_MAPS_MAX; h++)
        if (d->grant.maptrack[h].used)
            map_release(d, &d->grant.maptrack[h]);  /* entries: drop_foreign_held */
    if (d->grant.mapped) {
        for_each_domain (o) {
            for (unsigned h = 0; o != d && o->grant.maptrack && h < HAKO_GRANT_MAPS_MAX; h++) {
                struct grant_map *m = &o->grant.maptrack[h];
                if (m->used && m->granter == d->domid) {    /* entries: revoke_foreign */
                    m->used = 0;
                    o->grant.nr_maps--;
                    d->grant.mapped--;
                }
            }
        }
    }
    HV_ASSERT(d->grant.mapped == 0 && d->grant.nr_maps == 0);
}
