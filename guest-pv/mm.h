/*
 * guest-pv/mm.h: the guest kernel's memory: pseudo-physical frames, the linear map of
 * them, and page-table edits through the privileged-operations table.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdint.h>

#include <hako/start_info.h>

#define PAGE_SIZE 4096ul
#define PTE_KERNEL_RW (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX)
#define PTE_KERNEL_RO (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_NX)
#define PTE_USER_RX   (HAKO_PTE_P | HAKO_PTE_U)
#define PTE_USER_RW   (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX)

/* Take over memory management from the boot layout in si. */
void mm_init(const struct hako_start_info *si);

/* A free pseudo-physical frame, zeroed, or 0 when memory is exhausted. */
uint64_t pfn_alloc(void);
void pfn_free(uint64_t pfn);
uint64_t pfn_free_count(void);

/* Conversions: pfn <-> machine frame, pfn <-> linear-map address. */
uint64_t pfn_to_mfn(uint64_t pfn);
uint64_t mfn_to_pfn(uint64_t mfn);
void *pfn_to_va(uint64_t pfn);

/* Machine frame of the kernel's top-level table. */
uint64_t mm_kernel_l4(void);

/* A new, empty, pinned top-level table (for a user address space); its mfn or 0. */
uint64_t mm_new_l4(void);

/* Map va -> mfn with pte flags in the address space whose L4 is l4_mfn, creating
 * intermediate tables as needed. Updates are queued -- a lazy-MMU window that lasts
 * until mm_flush() (or until the queue is full, or a new table must be linked) and goes
 * to the hypervisor as one mmu_update batch. 0 or a negative error. */
long mm_map(uint64_t l4_mfn, uint64_t va, uint64_t mfn, uint64_t flags);

/* Remove the mapping of va (queued like mm_map). */
long mm_unmap(uint64_t l4_mfn, uint64_t va);

/* Apply queued page-table updates in one batch; 0 or the first failure. */
long mm_flush(void);

/* Make the pfn's linear-map alias read-only (before it becomes a page table). */
long mm_protect_linear(uint64_t pfn);

/* The machine address of the entry at `level` (1..4) for va under l4_mfn, or 0 when an
 * upper level is missing. */
uint64_t mm_entry_maddr(uint64_t l4_mfn, uint64_t va, unsigned level);

/* A demand-zero region: faults on its pages are satisfied with fresh zeroed pages. */
void mm_set_lazy_region(uint64_t start, uint64_t end);

/* Handle a kernel page fault at addr; 1 if it was a demand-zero fault now fixed. */
int mm_handle_fault(uint64_t addr, uint64_t error_code);

/* Pages mapped on demand so far. */
uint64_t mm_lazy_faults(void);

#endif /* GUEST_MM_H */
