/*
 * hypervisor/guest_access.c: guest pointer validation by software page walk.
 */
#include "guest_access.h"

#include <hako/arch-x86_64.h>
#include <hako/errno.h>

#include "domain.h"
#include "frame.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "x86_decode.h"

/* Entry idx of the table at machine address table_pa, or 0 (absent) outside RAM. */
static uint64_t table_entry(uint64_t table_pa, unsigned idx)
{
    if (!frame_get(maddr_to_mfn(table_pa)))
        return 0;                                       /* points outside RAM: treat as absent */
    const uint64_t *t = phys_to_virt(table_pa);
    return __atomic_load_n(&t[idx], __ATOMIC_RELAXED);   /* read each entry once */
}

/* True when root (a CR3 value) is a validated top-level table of v's domain right now.
 * It always is for v->cr3 (the vCPU holds an L4 type reference on it); checked anyway,
 * at every walk, so that a stale root can never be walked (fail closed). */
static inline bool root_validated(const struct vcpu *v, uint64_t root)
{
    const struct frame_info *f = frame_get(pte_mfn(root));
    return f && f->owner == v->dom->domid && pgt_level(f->type) == 4 && f->type_count != 0;
}

/* guest_translate's walk for the access bits need; when rec is not NULL it also records
 * the entries read in rec[] and how many in *levels (inlined: NULL costs nothing). */
static inline __attribute__((always_inline)) int
walk(const struct vcpu *v, gva_t gva, uint64_t need, uint64_t *pa, uint64_t *rec,
     const uint64_t **rec_at, unsigned *levels)
{
    uint64_t va = gva_x(gva);
    uint64_t root = v->cr3, table = root & PTE_ADDR;
    static const unsigned shift[4] = { 39, 30, 21, 12 };
    if (!guest_range_ok(gva, 1) || !root_validated(v, root))
        return -HAKO_EFAULT;
    for (unsigned level = 0; level < 4; level++) {
        uint64_t e = table_entry(table, (va >> shift[level]) & 511);
        if ((e & need) != need)
            return -HAKO_EFAULT;
        /* Large pages only where validation allows them (2 MiB, at L2): a 1 GiB entry
         * cannot be in a validated table, so none is ever followed. */
        if (level == 1 && (e & PTE_PS))
            return -HAKO_EFAULT;
        if (rec) {
            rec[level] = e;
            rec_at[level] = (const uint64_t *)phys_to_virt(table) + ((va >> shift[level]) & 511);
        }
        uint64_t page_mask = (1ull << shift[level]) - 1;
        if (level == 3 || (level == 2 && (e & PTE_PS))) {
            uint64_t base = e & PTE_ADDR & ~page_mask;
            if (!frame_get(maddr_to_mfn(base | (va & page_mask))))
                return -HAKO_EFAULT;
            *pa = base | (va & page_mask);
            if (levels)
                *levels = level + 1;
            return 0;
        }
        table = e & PTE_ADDR;
    }
    return -HAKO_EFAULT; /* not reached */
}

int guest_translate(const struct vcpu *v, gva_t gva, bool write, uint64_t *pa)
{
    return walk(v, gva, PTE_P | PTE_U | (write ? PTE_W : 0), pa, NULL, NULL, NULL);
}

/* True when the walk c records would read the same entries now: c's root is v->cr3 and a
 * validated L4 of v's domain, and each entry on the path to c->va holds what c saw (so
 * the tables, found from the root and those entries, are the ones the walk read). */
static inline bool walk_cache_holds(const struct vcpu *v, const struct guest_walk_cache *c)
{
#define SAME(l) (__atomic_load_n(c->at[l], __ATOMIC_RELAXED) == c->e[l])
    return c->root && c->root == v->cr3 && root_validated(v, c->root) && SAME(0) && SAME(1) &&
           SAME(2) && (c->levels == 3 || SAME(3));
#undef SAME
}

int guest_fetch(struct vcpu *v, void *dst, gva_t gva, uint64_t len)
{
    uint64_t va = gva_x(gva);
    if (len == 0 || len > PAGE_SIZE - (va & (PAGE_SIZE - 1)))
        return -HAKO_EFAULT;            /* one page at most: the cached copy never splits it */
    return guest_copy_cached(v, v->fetch_walk, gva, dst, len, false);
}

int guest_copy_cached(struct vcpu *v, struct guest_walk_cache c[2], gva_t gva, void *buf,
                      uint64_t len, bool write)
{
    uint64_t pa, va = gva_x(gva), page = va & PAGE_MASK;
    if (len == 0 || len > PAGE_SIZE - (va & (PAGE_SIZE - 1)) || !guest_range_ok(gva, len))
        return write ? guest_copy_to(v, gva, buf, len) : guest_copy_from(v, buf, gva, len);
    if (c[0].va == page && walk_cache_holds(v, &c[0])) {
        pa = c[0].pa | (va & (PAGE_SIZE - 1));
    } else if (c[1].va == page && walk_cache_holds(v, &c[1])) {
        pa = c[1].pa | (va & (PAGE_SIZE - 1));
    } else {
        c[1] = c[0];                    /* the newest first: two kernel stacks in turn hit */
        c[0].root = 0;
        if (walk(v, gva, PTE_P | PTE_U | (write ? PTE_W : 0), &pa, c[0].e, c[0].at,
                 &c[0].levels))
            return -HAKO_EFAULT;
        c[0].va = page;
        c[0].pa = pa & PAGE_MASK;
        c[0].root = v->cr3;
    }
    if (write)
        memcpy(phys_to_virt(pa), buf, len);
    else
        memcpy(buf, phys_to_virt(pa), len);
    return 0;
}

int guest_copy_from(const struct vcpu *v, void *dst, gva_t gva, uint64_t len)
{
    if (!guest_range_ok(gva, len))
        return -HAKO_EFAULT;
    char *d = dst;
    uint64_t va = gva_x(gva);
    while (len) {
        uint64_t pa, chunk = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
        if (guest_translate(v, _gva(va), false, &pa))
            return -HAKO_EFAULT;
        memcpy(d, phys_to_virt(pa), chunk);
        d += chunk, va += chunk, len -= chunk;
    }
    return 0;
}

int guest_check(const struct vcpu *v, gva_t gva, uint64_t len, bool write)
{
    uint64_t pa, va = gva_x(gva);
    if (!guest_range_ok(gva, len))
        return -HAKO_EFAULT;
    if (len == 0)
        return 0;
    for (uint64_t p = va & PAGE_MASK; p <= va + (len - 1); p += PAGE_SIZE) {
        if (guest_translate(v, _gva(p < va ? va : p), write, &pa))
            return -HAKO_EFAULT;
        if (p + PAGE_SIZE < p)
            break;                                      /* range ends at 2^64 */
    }
    return 0;
}

int guest_copy_to(const struct vcpu *v, gva_t gva, const void *src, uint64_t len)
{
    uint64_t pa, va = gva_x(gva);
    /* Within one page (nearly every call) its translation is the whole check: one walk. */
    if (len && len <= PAGE_SIZE - (va & (PAGE_SIZE - 1))) {
        if (guest_translate(v, gva, true, &pa))
            return -HAKO_EFAULT;
        memcpy(phys_to_virt(pa), src, len);
        return 0;
    }
    if (guest_check(v, gva, len, true))
        return -HAKO_EFAULT;
    const char *s = src;
    while (len) {
        uint64_t chunk = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
        if (guest_translate(v, _gva(va), true, &pa))
            return -HAKO_EFAULT;   /* tables changed under us (another vCPU) */
        memcpy(phys_to_virt(pa), s, chunk);
        s += chunk, va += chunk, len -= chunk;
    }
    return 0;
}
