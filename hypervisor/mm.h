/*
 * hypervisor/mm.h: the hypervisor's virtual layout and page-table entry bits.
 *
 * The hypervisor owns L4 slots 256..271 (hako/arch-x86_64.h). Inside them:
 *   slot 256  0xFFFF800000000000  direct map of all RAM (supervisor, NX except hv text)
 *   slot 257  0xFFFF808000000000  per-vCPU hypervisor stacks with guard pages
 *   slot 258  0xFFFF810000000000  m2p, read-only and user-visible (HAKO_M2P_VA)
 *   slot 259  0xFFFF818000000000  the same m2p frames, writable, for the hypervisor
 *   slot 260  0xFFFF820000000000  the local APIC registers
 *   slot 261  0xFFFF828000000000  scratch window for kernel images being built (16 MiB)
 *   slot 262  0xFFFF830000000000  per-vCPU windows onto asynchronous-hypercall rings
 * The hypervisor image runs inside the direct map at DIRECTMAP_BASE + physical address.
 */
#ifndef HV_MM_H
#define HV_MM_H

#include <stdint.h>

#include "types.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096ul
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ull

#define L4_INDEX(va) (((va) >> 39) & 511)
#define L3_INDEX(va) (((va) >> 30) & 511)
#define L2_INDEX(va) (((va) >> 21) & 511)
#define L1_INDEX(va) (((va) >> 12) & 511)

#define HV_STACKS_BASE 0xFFFF808000000000ull
#define HV_STACK_PAGES 4                   /* 16 KiB per vCPU */
#define HV_STACK_SLOT  (64 * 1024ull)      /* stack plus guard pages below it */
#define HV_STACK_SLOTS 64                  /* vCPUs that can exist at once */
#define HV_M2P_RW_BASE 0xFFFF818000000000ull
#define HV_SCRATCH_BASE 0xFFFF828000000000ull
#define HV_SCRATCH_SIZE (16ull << 20)
#define HV_ASYNC_BASE   0xFFFF830000000000ull
#define HV_ASYNC_SLOT   (256 * 1024ull)   /* per vCPU: two 128 KiB ring windows */

#ifdef HAKO_HOST_TEST
extern uintptr_t test_directmap_base;      /* host tests point this at fake RAM */
#define DIRECTMAP_BASE ((uint64_t)test_directmap_base)
#else
#define DIRECTMAP_BASE 0xFFFF800000000000ull
#endif

/* Hypervisor virtual address of a physical address (through the direct map). */
static inline void *phys_to_virt(uint64_t pa)
{
    return (void *)(uintptr_t)(DIRECTMAP_BASE + pa);
}

/* Physical address of a direct-map virtual address. */
static inline uint64_t virt_to_phys(const void *va)
{
    return (uint64_t)(uintptr_t)va - DIRECTMAP_BASE;
}

/* Machine address of the first byte of frame mfn. */
static inline uint64_t mfn_to_maddr(mfn_t mfn)
{
    return mfn_x(mfn) << PAGE_SHIFT;
}

/* The machine frame holding machine address ma. */
static inline mfn_t maddr_to_mfn(uint64_t ma)
{
    return _mfn(ma >> PAGE_SHIFT);
}

/* The frame a page-table entry (or CR3 value) points at. */
static inline mfn_t pte_mfn(uint64_t pte)
{
    return maddr_to_mfn(pte & PTE_ADDR);
}

/* Hypervisor virtual address of machine frame mfn. */
static inline void *mfn_to_virt(mfn_t mfn)
{
    return phys_to_virt(mfn_to_maddr(mfn));
}

#endif /* HV_MM_H */
