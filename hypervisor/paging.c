/*
 * hypervisor/paging.c: the hypervisor's page tables.
 *
 * The 16 hypervisor L4 slots each get an L3 table at boot and never change afterwards,
 * so copying the slots into a guest's L4 once is enough: later mappings below them
 * (stacks) appear in every address space. RAM is mapped with 2 MiB pages, read-write
 * and no-execute, except the 2 MiB chunks holding the image, which use 4 KiB pages with
 * per-section rights (text RX, rodata R, data RW).
 */
#include "paging.h"

#include <hako/arch-x86_64.h>
#include <hako/memory.h>

#include "cpu.h"
#include "frame.h"
#include "lib.h"
#include "mm.h"
#include "panic.h"
#include "x86.h"

extern char hv_image_start[], hv_image_end[], hv_text_start[], hv_text_end[];
extern char hv_rodata_start[], hv_rodata_end[];

static uint64_t *idle_l4;
static struct frame_list hv_tables = { FRAME_NONE, 0 };

/* A zeroed hypervisor-owned page for a page table; panics when memory is exhausted. */
static uint64_t *alloc_table(void)
{
    mfn_t mfn = frame_alloc(OWNER_HV, &hv_tables);
    if (mfn_eq(mfn, INVALID_MFN))
        panic("out of memory for hypervisor page tables");
    uint64_t *t = mfn_to_virt(mfn);
    memset(t, 0, PAGE_SIZE);
    return t;
}

/* The next-level table under entry *e, allocating it when absent. Tables under the
 * guest-visible m2p slot are user-accessible (their leaves are read-only). */
static uint64_t *next_table(uint64_t *e, uint64_t va)
{
    if (!(*e & PTE_P))
        *e = virt_to_phys(alloc_table()) | PTE_P | PTE_W |
             (L4_INDEX(va) == L4_INDEX(HAKO_M2P_VA) ? PTE_U : 0);
    HV_ASSERT(!(*e & PTE_PS));
    return phys_to_virt(*e & PTE_ADDR);
}

/* Pointer to the L1 entry for va under l4, creating intermediate tables. */
static uint64_t *l1_entry(uint64_t *l4, uint64_t va)
{
    uint64_t *l3 = next_table(&l4[L4_INDEX(va)], va);
    uint64_t *l2 = next_table(&l3[L3_INDEX(va)], va);
    uint64_t *l1 = next_table(&l2[L2_INDEX(va)], va);
    return &l1[L1_INDEX(va)];
}

/* Rights for image page at va: text RX, rodata R, everything else RW; all supervisor. */
static uint64_t image_page_flags(uint64_t va, uint64_t nx)
{
    if (va >= (uint64_t)hv_text_start && va < (uint64_t)hv_text_end)
        return PTE_P;
    if (va >= (uint64_t)hv_rodata_start && va < (uint64_t)hv_rodata_end)
        return PTE_P | nx;
    return PTE_P | PTE_W | nx;
}

void paging_init(uint64_t ram_end)
{
    uint64_t nx = cpu_has.nx ? PTE_NX : 0;
    uint64_t img_lo = ALIGN_DOWN(virt_to_phys(hv_image_start), 1ul << 21);
    uint64_t img_hi = ALIGN_UP(virt_to_phys(hv_image_end), 1ul << 21);

    idle_l4 = alloc_table();
    for (unsigned s = HAKO_HV_L4_FIRST; s <= HAKO_HV_L4_LAST; s++)
        idle_l4[s] = virt_to_phys(alloc_table()) | PTE_P | PTE_W |
                     (s == L4_INDEX(HAKO_M2P_VA) ? PTE_U : 0);

    for (uint64_t pa = 0; pa < ALIGN_UP(ram_end, 1ul << 21); pa += 1ul << 21) {
        uint64_t va = DIRECTMAP_BASE + pa;
        if (pa >= img_lo && pa < img_hi) {
            for (uint64_t off = 0; off < (1ul << 21); off += PAGE_SIZE)
                *l1_entry(idle_l4, va + off) = (pa + off) | image_page_flags(va + off, nx);
            continue;
        }
        uint64_t *l3 = next_table(&idle_l4[L4_INDEX(va)], va);
        uint64_t *l2 = next_table(&l3[L3_INDEX(va)], va);
        l2[L2_INDEX(va)] = pa | PTE_P | PTE_W | PTE_PS | nx;
    }
    /* Tables for every stack slot now, so creating and destroying vCPUs never
     * allocates or leaks hypervisor page tables. */
    for (uint64_t va = HV_STACKS_BASE; va < HV_STACKS_BASE + HV_STACK_SLOTS * HV_STACK_SLOT;
         va += HV_STACK_SLOT)
        (void)l1_entry(idle_l4, va + HV_STACK_SLOT - PAGE_SIZE);
    for (uint64_t va = HV_SCRATCH_BASE; va < HV_SCRATCH_BASE + HV_SCRATCH_SIZE; va += 1ul << 21)
        (void)l1_entry(idle_l4, va);      /* the same for the image scratch window */
    for (uint64_t va = HV_ASYNC_BASE; va < HV_ASYNC_BASE + HV_STACK_SLOTS * HV_ASYNC_SLOT;
         va += 1ul << 21)
        (void)l1_entry(idle_l4, va);      /* ... and the asynchronous-ring windows */
    write_cr3(virt_to_phys(idle_l4));
}

void paging_map_hv_page(uint64_t va, mfn_t mfn, uint64_t flags)
{
    HV_ASSERT(va >= HAKO_HV_VA_START && va < HAKO_HV_VA_END);
    *l1_entry(idle_l4, va) = mfn_to_maddr(mfn) | flags;
    invlpg(va);
}

void paging_unmap_hv_page(uint64_t va)
{
    HV_ASSERT(va >= HAKO_HV_VA_START && va < HAKO_HV_VA_END);
    *l1_entry(idle_l4, va) = 0;
    invlpg(va);
}

void paging_copy_hv_slots(uint64_t *l4)
{
    for (unsigned s = HAKO_HV_L4_FIRST; s <= HAKO_HV_L4_LAST; s++)
        l4[s] = idle_l4[s];
}

void m2p_init(uint64_t nr_frames)
{
    static struct frame_list m2p_frames = { FRAME_NONE, 0 };
    uint64_t nx = cpu_has.nx ? PTE_NX : 0;
    uint64_t pages = ALIGN_UP(nr_frames * 8, PAGE_SIZE) / PAGE_SIZE;
    for (uint64_t i = 0; i < pages; i++) {
        mfn_t mfn = frame_alloc(OWNER_HV, &m2p_frames);
        if (mfn_eq(mfn, INVALID_MFN))
            panic("out of memory for the m2p table");
        memset(mfn_to_virt(mfn), 0xFF, PAGE_SIZE);          /* HAKO_M2P_INVALID */
        uint64_t ma = mfn_to_maddr(mfn);
        *l1_entry(idle_l4, HAKO_M2P_VA + i * PAGE_SIZE) = ma | PTE_P | PTE_U | nx;
        *l1_entry(idle_l4, HV_M2P_RW_BASE + i * PAGE_SIZE) = ma | PTE_P | PTE_W | nx;
    }
    write_cr3(read_cr3());
}

void m2p_set(mfn_t mfn, pfn_t pfn)
{
    ((uint64_t *)HV_M2P_RW_BASE)[mfn_x(mfn)] = pfn_x(pfn);
}

uint64_t paging_idle_cr3(void)
{
    return virt_to_phys(idle_l4);
}
