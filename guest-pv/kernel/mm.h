/*
 * guest-pv/kernel/mm.h: the guest kernel's memory: pseudo-physical frames, the linear map of
 * them, and page-table edits through the privileged-operations table.
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdint.h>

#include <hako/memory.h>
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
/* Free a frame pt_release made ordinary memory again, once pt_commit has run: free at
 * once, or as soon as the backend's pt_settle says the release has finished. */
void pfn_free_released(uint64_t pfn);
/* Frames free, or free once their release has finished. */
uint64_t pfn_free_count(void);

/* The kernel's linear-map address of pfn (every frame is mapped there). */
void *pfn_to_va(uint64_t pfn);

/* The root (top-level table, as a pfn) of the kernel's address space. */
uint64_t mm_kernel_root(void);

/* A new, empty root table (for a user address space); its pfn or 0. */
uint64_t mm_new_root(void);

/* Map va -> pfn with pte flags in the address space whose root is root_pfn, creating
 * intermediate tables as needed. The entry write may be deferred -- a lazy-MMU window
 * that lasts until mm_flush() (a new intermediate table is linked at once). 0 or a
 * negative error. */
long mm_map(uint64_t root_pfn, uint64_t va, uint64_t pfn, uint64_t flags);

/* mm_map's walk alone: *table_pfn = the leaf (level-1) table for va under root_pfn,
 * created (and linked at once) as needed. 0 or a negative error. */
long mm_leaf_table(uint64_t root_pfn, uint64_t va, uint64_t *table_pfn);

/* Remove the mapping of va (deferred like mm_map). */
long mm_unmap(uint64_t root_pfn, uint64_t va);

/* Apply deferred page-table work; 0 or the first failure. */
long mm_flush(void);

/* The index of va's entry in its table at level (1..4). */
unsigned mm_index(uint64_t va, unsigned level);

/* 1 with *table_pfn = the table at level (1..4) on va's walk under root_pfn, or 0 when
 * an upper level is missing. */
int mm_table(uint64_t root_pfn, uint64_t va, unsigned level, uint64_t *table_pfn);

/* The index of the first present entry of the table at table_pfn from i on (below n),
 * n when there is none. Read straight from the table: in every mode the kernel's linear
 * map can read its page tables (read-only where the hypervisor requires it), and the
 * present bit is where x86 puts it. For scans of whole tables (fork, teardown). */
unsigned mm_next_present(uint64_t table_pfn, unsigned i, unsigned n);

/* The flags of va's leaf entry under root_pfn (0 = not mapped), the pfn it maps in *pfn. */
uint64_t mm_leaf(uint64_t root_pfn, uint64_t va, uint64_t *pfn);

/* A demand-zero region: faults on its pages are satisfied with fresh zeroed pages. */
void mm_set_lazy_region(uint64_t start, uint64_t end);

/* Handle a kernel page fault at addr; 1 if it was a demand-zero fault now fixed. */
int mm_handle_fault(uint64_t addr, uint64_t error_code);

/* Pages mapped on demand so far. */
uint64_t mm_lazy_faults(void);

#endif /* GUEST_MM_H */
