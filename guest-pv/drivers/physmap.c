/*
 * guest-pv/drivers/physmap.c: pfns and machine frames under direct paging (physmap.h):
 * the p2m, the m2p and the linear map, shared by the pv and trap backends.
 */
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "physmap.h"

static uint64_t virt_base;                 /* the linear map of pfns (ABI.md 4.2) */
static const uint64_t *p2m;
static const uint64_t *const m2p = (const uint64_t *)HAKO_M2P_VA;

void physmap_init(const struct hako_start_info *si)
{
    virt_base = si->virt_base;
    p2m = (const uint64_t *)si->p2m_va;
}

void *pfn_va(uint64_t pfn)
{
    return (void *)(virt_base + (pfn << 12));
}

uint64_t pv_mfn(uint64_t pfn)
{
    return p2m[pfn];
}

uint64_t pv_pte(uint64_t pfn, uint64_t flags)
{
    return flags ? (p2m[pfn] << 12) | flags : 0;
}

uint64_t pv_table_entry_maddr(uint64_t table_pfn, unsigned idx)
{
    return (p2m[table_pfn] << 12) | (idx * 8);
}

uint64_t pv_pt_read(uint64_t table_pfn, unsigned idx, uint64_t *pfn)
{
    uint64_t e = ((const uint64_t *)pfn_va(table_pfn))[idx];
    if (!(e & HAKO_PTE_P))
        return 0;
    *pfn = m2p[(e & HAKO_PTE_ADDR) >> 12];
    return e & ~HAKO_PTE_ADDR;
}

uint64_t pv_entry_maddr(uint64_t root_pfn, uint64_t va, unsigned level)
{
    uint64_t pfn = root_pfn;
    for (unsigned l = 4;; l--) {
        unsigned idx = (va >> (12 + 9 * (l - 1))) & 511;
        if (l == level)
            return pv_table_entry_maddr(pfn, idx);
        uint64_t flags = pv_pt_read(pfn, idx, &pfn);
        if (!(flags & HAKO_PTE_P) || (flags & HAKO_PTE_PS))
            return 0;
    }
}

long pv_map_foreign(uint64_t table_pfn, unsigned idx, uint64_t frame, unsigned domid)
{
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req.ptr = pv_table_entry_maddr(table_pfn, idx) | HAKO_MMU_PT_UPDATE_FOREIGN;
    req.val = (frame << 12) | HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX;
    return hako_hypercall6(HAKO_HC_mmu_update, (unsigned long)&req, 1, 0, domid, 0, 0);
}
