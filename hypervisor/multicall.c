/*
 * hypervisor/multicall.c: running a batch of hypercalls with one transition.
 * Each entry is read once, run through the normal dispatch table, and its result
 * written back; long batches are split (hc_preempt) and resume where they stopped. Only
 * the multicall itself is ever split: a batch hypercall inside it (mmu_update...) runs to
 * its end, since a split needs the guest to re-issue exactly that call.
 *
 * The array is worked through page by page. Each page is translated (through a small
 * per-domain cache that is checked against the live page-table entries every time) and
 * held with a writable-type reference while its entries run and their results are
 * stored, so the frame can neither become a page table nor change hands meanwhile,
 * whatever the entries do. Inside a page, runs of plain entries go through a burst loop
 * (entry.S mc_burst: load the number, check it and the flags, call through the table,
 * store the result); everything else -- flags set, calls that may change mappings or
 * need more than three arguments, an entry across two pages -- takes the full path one
 * entry at a time, from a copy.
 */
#include <hako/errno.h>
#include <hako/hypercall.h>

#include "multicall.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"

#define MC_ENTRY sizeof(struct hako_multicall_entry)
/* Might running op have changed the array's mapping? (HCF_MAPPINGS: page-table
 * operations, and the calls that run other hypercalls: async_op, sched_op.) */
static bool changes_mappings(uint64_t op)
{
    return op < HC_NR && (hc_info[op].flags & HCF_MAPPINGS);
}

/* entry.S: run entries e[0..n) while each is a plain one (number below 32, flags and
 * padding zero, and a non-NULL burst-table slot), storing each result; returns
 * the first entry not run. It loads each field it uses once, before the call; of an
 * entry it does not run it has only looked at the number and flags, and that entry is
 * then copied and checked in full by the slow path (nothing the loop saw is used). */
struct hako_multicall_entry *mc_burst(struct hako_multicall_entry *e, uint64_t n,
                                      uint64_t *count, const hypercall_fn *table);

/* Arguments 4..6 for calls run by the burst loop: none of them reads them (see
 * hc_multicall_burst); the pointer also marks "inside a batch" (never split there) for the
 * whole multicall. */
static const uint64_t no_more_args[6];

/* Run one entry (a copy) the full way for v; its result. */
static long run_entry(struct vcpu *v, const struct hako_multicall_entry *e)
{
    if (e->_pad0 || (e->flags & ~HAKO_MC_STOP_ON_ERROR))
        return -HAKO_EINVAL;
    long rc = hc_batch_check(v, e->op, HCF_MULTICALL);  /* no nesting, no leaving mid-batch */
    if (rc)
        return rc;
    v->hc_count[e->op]++;
    v->mc_args = e->args;
    /* The C handler, not the syscall entry: sched_op's entry completes the guest frame
     * from the live registers, which here are the multicall's. */
    long r = hc_info[e->op].handler(e->args[0], e->args[1], e->args[2]);
    v->mc_args = no_more_args;
    return r;
}

/* Write one entry's result through the guest's current mappings; false when the array
 * is no longer writable there. */
static bool put_result(uint64_t calls, uint64_t i, long r)
{
    uint64_t at = calls + i * MC_ENTRY + __builtin_offsetof(struct hako_multicall_entry, result);
    return guest_copy_to(current_vcpu(), _gva(at), &r, sizeof(r)) == 0;
}

/* ---- translating and holding array pages ------------------------------------------ */

/* The last pages translated for each domain (a few ways, by page number), with the
 * four page-table entries each walk went through (where they are and what they held).
 * The walk is a function of cr3 and those entries alone, so while all of them still
 * hold the same values the translation is still the same: checking them is the whole
 * lookup. (A hit still takes the page's references like a miss; nothing is held
 * between calls.) */
#define TCACHE_WAYS 4
struct mc_tcache {
    uint64_t cr3, va, mfn;
    const uint64_t *pte_at[4];                  /* in the direct map */
    uint64_t pte[4];
    uint64_t _pad[5];                           /* 128 bytes: the index is a shift */
};
_Static_assert(sizeof(struct mc_tcache) == 128, "tcache entry size");
static struct mc_tcache tcache[MAX_DOMAINS][TCACHE_WAYS];

static inline bool tcache_hit(const struct mc_tcache *t, uint64_t cr3, uint64_t va)
{
#define PTE_AT(l) __atomic_load_n(t->pte_at[l], __ATOMIC_RELAXED)
    return t->cr3 == cr3 && t->va == va && PTE_AT(3) == t->pte[3] && PTE_AT(2) == t->pte[2] &&
           PTE_AT(1) == t->pte[1] && PTE_AT(0) == t->pte[0];
#undef PTE_AT
}

/* After guest_translate found va (4 KiB leaf) at mfn: remember the entries it used. */
static void tcache_fill(struct mc_tcache *t, uint64_t cr3, uint64_t va, uint64_t mfn)
{
    uint64_t table = cr3 & PTE_ADDR;
    t->cr3 = 0;
    for (unsigned l = 0; l < 4; l++) {
        const uint64_t *at = (const uint64_t *)phys_to_virt(table + ((va >> (39 - 9 * l)) & 511) * 8);
        uint64_t e = __atomic_load_n(at, __ATOMIC_RELAXED);
        if ((l == 1 || l == 2) && (e & PTE_PS))
            return;                             /* a large page: not cached */
        t->pte_at[l] = at;
        t->pte[l] = e;
        table = e & PTE_ADDR;
    }
    if (table >> PAGE_SHIFT != mfn)
        return;                                 /* not what the walk found: not cached */
    t->va = va;
    t->mfn = mfn;
    t->cr3 = cr3;
}

/* The machine frame of the writable guest page at va (page-aligned) in v's current
 * address space, through the cache; false when there is none. */
static bool __attribute__((noinline)) translate_slow(struct vcpu *v, struct mc_tcache *t,
                                                     uint64_t va, uint64_t *mfn)
{
    uint64_t pa;
    if (!guest_range_ok(_gva(va), PAGE_SIZE) || guest_translate(v, _gva(va), true, &pa))
        return false;
    *mfn = pa >> PAGE_SHIFT;
    tcache_fill(t, v->cr3, va, *mfn);
    return true;
}

/* Hold the page at va (page-aligned) for v with a writable-type reference, setting
 * *mfn: false when it is not a writable page of the caller's (in its current address
 * space). Dropped with put_page_and_type(*mfn). */
static inline __attribute__((always_inline)) bool hold_page(struct vcpu *v, uint64_t va,
                                                         uint64_t *mfn)
{
    uint16_t domid = v->dom->domid;
    struct mc_tcache *t = &tcache[domid][(va >> PAGE_SHIFT) % TCACHE_WAYS];
    uint64_t m = t->mfn;
    if (!tcache_hit(t, v->cr3, va) && !translate_slow(v, t, va, &m))
        return false;
    if (get_page_and_type(_mfn(m), PGT_WRITABLE, domid))
        return false;
    *mfn = m;
    return true;
}

/* ---- the call ------------------------------------------------------------------------ */

/* multicall(calls, count) */
long hc_multicall(HC_ARGS)
{
    (void)a3;
    uint64_t calls = a1, count = a2;
    if (count > HAKO_MULTICALL_MAX)
        return -HAKO_E2BIG;
    if (calls & 7)
        return -HAKO_EINVAL;
    struct vcpu *v = current_vcpu();
    /* (Without a pending continuation hc_resume would say 0: skip the call.) */
    uint64_t i = v->cont.active ? hc_resume(HAKO_HC_multicall, calls, count, 0) : 0;
    uint64_t stop = MIN(count, i + HC_PREEMPT_CHUNK);  /* where this part ends */
    uint64_t va = calls + i * MC_ENTRY;                 /* entry i */
    uint64_t page_va = 1, mfn = 0;                      /* the page held; 1 = none */
    long rc = (long)count;
    bool failed = false;                                /* rc is final */
    v->mc_args = no_more_args;
    while (i < stop) {
        uint64_t off = va & (PAGE_SIZE - 1);
        if (va - off != page_va) {
            if (page_va != 1)
                put_page_and_type(_mfn(mfn));
            page_va = 1;
            /* (va below calls: the array ran past 2^64, which is not a wrap to 0.) */
            if (va < calls || !hold_page(v, va - off, &mfn)) {
                rc = -HAKO_EFAULT, failed = true;
                break;
            }
            page_va = va - off;
        }
        char *page = mfn_to_virt(_mfn(mfn));
        struct hako_multicall_entry *e = (struct hako_multicall_entry *)(page + off);
        /* The entries wholly inside this page, up to the end of this part. */
        uint64_t n = MIN((PAGE_SIZE - off) / MC_ENTRY, stop - i);
        if (n) {
            v->mc_held[0] = mfn, v->nr_mc_held = 1;
            uint64_t ran = (uint64_t)(mc_burst(e, n, v->hc_count, v->dom->type->mc_burst) - e);
            i += ran;
            va += ran * MC_ENTRY;
            off += ran * MC_ENTRY;
            e += ran;
            if (ran == n && (i == stop || off == PAGE_SIZE))
                continue;       /* the end of this part, or the next page */
        }
        /* Entry i the full way: copied once, from this page or from this one and the
         * next when it lies across the boundary. */
        struct hako_multicall_entry c;
        long *slot;
        uint64_t next_mfn = 0;
        bool across = off + MC_ENTRY > PAGE_SIZE;
        if (!across) {
            memcpy(&c, e, MC_ENTRY);
            slot = &e->result;
        } else {
            /* (Both pages are guest pages; only a wrap past the top is not an array.) */
            if (page_va + PAGE_SIZE == 0 || !hold_page(v, page_va + PAGE_SIZE, &next_mfn)) {
                rc = -HAKO_EFAULT, failed = true;
                break;
            }
            char *npage = mfn_to_virt(_mfn(next_mfn));
            uint64_t part = PAGE_SIZE - off,
                     roff = off + __builtin_offsetof(struct hako_multicall_entry, result);
            memcpy(&c, e, part);
            memcpy((char *)&c + part, npage, MC_ENTRY - part);
            slot = (long *)(roff < PAGE_SIZE ? page + roff : npage + (roff - PAGE_SIZE));
        }
        v->mc_held[0] = mfn, v->mc_held[1] = next_mfn, v->nr_mc_held = across ? 2 : 1;
        long r = run_entry(v, &c);
        if (changes_mappings(c.op)) {
            put_page_and_type(_mfn(mfn));             /* translate again: the guest */
            page_va = 1;                        /* may have moved its array */
            if (across)
                put_page_and_type(_mfn(next_mfn));
            if (!put_result(calls, i, r)) {
                rc = -HAKO_EFAULT, failed = true;
                break;
            }
        } else {
            __atomic_store_n(slot, r, __ATOMIC_RELAXED);
            if (across) {                       /* go on in the next page */
                put_page_and_type(_mfn(mfn));
                page_va += PAGE_SIZE;
                mfn = next_mfn;
            }
        }
        i++;
        va += MC_ENTRY;
        if (r < 0 && (c.flags & HAKO_MC_STOP_ON_ERROR)) {
            if (page_va != 1)
                put_page_and_type(_mfn(mfn));
            page_va = 1;
            rc = (long)i, failed = true;
            for (uint64_t j = i; j < count && rc >= 0; j++)
                if (!put_result(calls, j, -HAKO_ECANCELED))
                    rc = -HAKO_EFAULT;
            break;
        }
    }
    v->mc_args = NULL;
    v->nr_mc_held = 0;
    if (page_va != 1)
        put_page_and_type(_mfn(mfn));
    if (!failed && i < count)
        return hc_preempt(HAKO_HC_multicall, calls, count, 0, i);
    return rc;
}
