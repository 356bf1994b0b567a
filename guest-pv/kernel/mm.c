/*
 * guest-pv/kernel/mm.c: pseudo-physical frame allocator, page-table walking, mapping with
 * deferred entry writes, and demand-zero faults.
 *
 * Frames are named by pfn throughout; the privileged-operations table reads and writes
 * page-table entries (privops.h), so nothing here knows what the hardware entries hold.
 */
#include "mm.h"

#include <hako/memory.h>

#include "klib.h"
#include "privops.h"
#include "user/hos.h"

static const struct hako_start_info *boot;
static uint64_t *free_stack;          /* free pfns, a stack stored in pages of its own */
static uint64_t free_top;
static uint64_t lazy_start, lazy_end, lazy_faults;

void mm_init(const struct hako_start_info *si)
{
    boot = si;
    /* The free-pfn stack lives in the first free pages themselves. */
    uint64_t first = si->first_free_pfn, last = si->nr_mapped_pages;
    uint64_t stack_pages = ((last - first) * 8 + PAGE_SIZE - 1) / PAGE_SIZE;
    free_stack = pfn_to_va(first);
    for (uint64_t pfn = last; pfn-- > first + stack_pages;)
        free_stack[free_top++] = pfn;
}

void *pfn_to_va(uint64_t pfn)
{
    return (void *)(boot->virt_base + pfn * PAGE_SIZE);
}

/* Released table frames waiting for their release to finish (pt_settle) before they
 * are free again: with pv-async the hypervisor usually has run it by itself by then. */
#define SETTLING_MAX 128
static uint64_t settling[SETTLING_MAX];
static unsigned nsettling;

/* Finish the queued releases and free the frames that waited for them. */
static void settle(void)
{
    if (!nsettling)
        return;
    privops->pt_settle();
    while (nsettling)
        pfn_free(settling[--nsettling]);
}

void pfn_free_released(uint64_t pfn)
{
    if (!privops->pt_settle) {
        pfn_free(pfn);
        return;
    }
    if (nsettling == SETTLING_MAX)
        settle();
    settling[nsettling++] = pfn;
}

uint64_t pfn_alloc(void)
{
    if (!free_top)
        settle();
    if (!free_top)
        return 0;
    uint64_t pfn = free_stack[--free_top];
    memset(pfn_to_va(pfn), 0, PAGE_SIZE);
    return pfn;
}

void pfn_free(uint64_t pfn)
{
    free_stack[free_top++] = pfn;
}

uint64_t pfn_free_count(void)
{
    return free_top + nsettling;
}

uint64_t mm_kernel_root(void)
{
    return boot->pt_first_pfn;
}

long mm_flush(void)
{
    return privops->pt_commit();
}

unsigned mm_index(uint64_t va, unsigned level)
{
    return (va >> (12 + 9 * (level - 1))) & 511;
}

unsigned mm_next_present(uint64_t table_pfn, unsigned i, unsigned n)
{
    const volatile uint64_t *t = pfn_to_va(table_pfn);
    for (; i < n && (i & 3); i++)
        if (t[i] & HAKO_PTE_P)
            return i;
    for (; i + 4 <= n; i += 4)          /* most entries are empty: four at a time */
        if ((t[i] | t[i + 1] | t[i + 2] | t[i + 3]) & HAKO_PTE_P)
            break;
    for (; i < n; i++)
        if (t[i] & HAKO_PTE_P)
            return i;
    return n;
}

int mm_table(uint64_t root_pfn, uint64_t va, unsigned level, uint64_t *table_pfn)
{
    uint64_t pfn = root_pfn;
    for (unsigned l = 4; l > level; l--) {
        uint64_t next, flags = privops->pt_read(pfn, mm_index(va, l), &next);
        if (!(flags & HAKO_PTE_P) || (flags & HAKO_PTE_PS))
            return 0;
        pfn = next;
    }
    *table_pfn = pfn;
    return 1;
}

uint64_t mm_leaf(uint64_t root_pfn, uint64_t va, uint64_t *pfn)
{
    uint64_t t;
    return mm_table(root_pfn, va, 1, &t) ? privops->pt_read(t, mm_index(va, 1), pfn) : 0;
}

/* A fresh zeroed frame made a table at level; its pfn or 0. */
static uint64_t new_table(unsigned level)
{
    uint64_t pfn = pfn_alloc();
    if (pfn && privops->pt_adopt(pfn, level)) {
        pfn_free(pfn);
        return 0;
    }
    return pfn;
}

uint64_t mm_new_root(void)
{
    return new_table(4);
}

long mm_leaf_table(uint64_t root_pfn, uint64_t va, uint64_t *table_pfn)
{
    uint64_t t = root_pfn;
    for (unsigned level = 4; level > 1; level--) {
        uint64_t next, e = privops->pt_read(t, mm_index(va, level), &next);
        if (e & HAKO_PTE_P) {
            t = next;
            continue;
        }
        long rc = mm_flush();             /* the walk below needs earlier updates in place */
        uint64_t table = rc ? 0 : new_table(level - 1);
        if (rc || !table)
            return rc ? rc : -HOS_ENOMEM;
        if ((rc = privops->pt_write(t, mm_index(va, level), table,
                                    HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W)) ||
            (rc = mm_flush()))
            return rc;
        t = table;
    }
    *table_pfn = t;
    return 0;
}

long mm_map(uint64_t root_pfn, uint64_t va, uint64_t pfn, uint64_t flags)
{
    uint64_t t;
    long rc = mm_leaf_table(root_pfn, va, &t);
    return rc ? rc : privops->pt_write(t, mm_index(va, 1), pfn, flags);
}

long mm_unmap(uint64_t root_pfn, uint64_t va)
{
    uint64_t t;
    return mm_table(root_pfn, va, 1, &t) ? privops->pt_write(t, mm_index(va, 1), 0, 0) : 0;
}

void mm_set_lazy_region(uint64_t start, uint64_t end)
{
    lazy_start = start;
    lazy_end = end;
}

int mm_handle_fault(uint64_t addr, uint64_t error_code)
{
    if (addr < lazy_start || addr >= lazy_end || (error_code & 1))
        return 0;                          /* not ours, or a protection fault */
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return 0;
    uint64_t va = addr & ~(PAGE_SIZE - 1);
    if (mm_map(mm_kernel_root(), va, pfn, PTE_KERNEL_RW) || mm_flush()) {
        pfn_free(pfn);
        return 0;
    }
    /* The frame stays mapped writable in the linear map too; both aliases are fine. */
    lazy_faults++;
    return 1;
}

uint64_t mm_lazy_faults(void)
{
    return lazy_faults;
}
