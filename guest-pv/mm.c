/*
 * guest-pv/mm.c: pseudo-physical frame allocator, page-table walking through the linear
 * map, batched page-table updates, and demand-zero faults.
 *
 * Page tables are read-only to the kernel; it reads them through the linear map and
 * changes them with mmu_update (queued in `batch` and sent together).
 */
#include "mm.h"

#include <hako/memory.h>

#include "klib.h"
#include "privops.h"

#define BATCH_MAX 64

static const struct hako_start_info *boot;
static const uint64_t *p2m;
static const uint64_t *m2p = (const uint64_t *)HAKO_M2P_VA;
static uint64_t *free_stack;          /* free pfns, a stack stored in pages of its own */
static uint64_t free_top;
static struct hako_mmu_update batch[BATCH_MAX];
static unsigned batch_len;
static uint64_t lazy_start, lazy_end, lazy_faults;

void mm_init(const struct hako_start_info *si)
{
    boot = si;
    p2m = (const uint64_t *)si->p2m_va;
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

uint64_t pfn_to_mfn(uint64_t pfn)
{
    return p2m[pfn];
}

uint64_t mfn_to_pfn(uint64_t mfn)
{
    return m2p[mfn];
}

uint64_t pfn_alloc(void)
{
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
    return free_top;
}

uint64_t mm_kernel_l4(void)
{
    return pfn_to_mfn(boot->pt_first_pfn);
}

long mm_flush(void)
{
    unsigned done = 0;
    long rc = batch_len ? privops->mmu_update(batch, batch_len, &done) : 0;
    if (rc)
        kprintf("mm: batch of %u failed at entry %u: %ld\n", batch_len, done, rc);
    batch_len = 0;
    return rc;
}

/* Queue one entry update; sends the batch when it is full. */
static long queue(uint64_t maddr, uint64_t val)
{
    batch[batch_len++] = (struct hako_mmu_update){ .ptr = maddr, .val = val };
    return batch_len == BATCH_MAX ? mm_flush() : 0;
}

long mm_protect_linear(uint64_t pfn)
{
    uint64_t pte = (pfn_to_mfn(pfn) << 12) | PTE_KERNEL_RO;
    return privops->update_va_mapping((uint64_t)pfn_to_va(pfn), pte, HAKO_UVMF_INVLPG);
}

/* The table (as a linear-map pointer) that an entry points at. */
static const uint64_t *table_of(uint64_t entry)
{
    return pfn_to_va(mfn_to_pfn((entry & HAKO_PTE_ADDR) >> 12));
}

uint64_t mm_entry_maddr(uint64_t l4_mfn, uint64_t va, unsigned level)
{
    uint64_t mfn = l4_mfn;
    for (unsigned l = 4;; l--) {
        unsigned idx = (va >> (12 + 9 * (l - 1))) & 511;
        if (l == level)
            return (mfn << 12) | (idx * 8);
        uint64_t e = ((const uint64_t *)pfn_to_va(mfn_to_pfn(mfn)))[idx];
        if (!(e & HAKO_PTE_P) || (e & HAKO_PTE_PS))
            return 0;
        mfn = (e & HAKO_PTE_ADDR) >> 12;
    }
}

/* A fresh zeroed frame made read-only, ready to become a page table; its mfn or 0. */
static uint64_t new_table_frame(void)
{
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return 0;
    if (mm_protect_linear(pfn)) {
        pfn_free(pfn);
        return 0;
    }
    return pfn_to_mfn(pfn);
}

uint64_t mm_new_l4(void)
{
    uint64_t mfn = new_table_frame();
    struct hako_mmuext_op pin = { .cmd = HAKO_MMUEXT_PIN_L4_TABLE, .arg1 = mfn };
    if (mfn && privops->mmuext(&pin, 1)) {   /* an ordinary frame again: give it back */
        uint64_t pfn = mfn_to_pfn(mfn);
        privops->update_va_mapping((uint64_t)pfn_to_va(pfn), (mfn << 12) | PTE_KERNEL_RW,
                                   HAKO_UVMF_INVLPG);
        pfn_free(pfn);
        return 0;
    }
    return mfn;
}

long mm_map(uint64_t l4_mfn, uint64_t va, uint64_t mfn, uint64_t flags)
{
    for (unsigned level = 4; level > 1; level--) {
        uint64_t maddr = mm_entry_maddr(l4_mfn, va, level);
        uint64_t e = table_of(maddr)[(maddr & 4095) / 8];
        if (e & HAKO_PTE_P)
            continue;
        long rc = mm_flush();             /* the walk below needs earlier updates in place */
        uint64_t table = new_table_frame();
        if (rc || !table)
            return rc ? rc : -12;
        if ((rc = queue(maddr, (table << 12) | HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W)) ||
            (rc = mm_flush()))
            return rc;
    }
    return queue(mm_entry_maddr(l4_mfn, va, 1), (mfn << 12) | flags);
}

long mm_unmap(uint64_t l4_mfn, uint64_t va)
{
    uint64_t maddr = mm_entry_maddr(l4_mfn, va, 1);
    return maddr ? queue(maddr, 0) : 0;
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
    if (mm_map(mm_kernel_l4(), va, pfn_to_mfn(pfn), PTE_KERNEL_RW) || mm_flush()) {
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
