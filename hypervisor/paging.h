/*
 * hypervisor/paging.h: the hypervisor's own page tables (direct map, image, stacks).
 */
#ifndef HV_PAGING_H
#define HV_PAGING_H

#include <stdint.h>

#include "types.h"

/* Build the final hypervisor tables for RAM [0, ram_end) and switch to them. */
void paging_init(uint64_t ram_end);

/* Map one 4 KiB page at hypervisor address va (in a hypervisor slot) to mfn. */
void paging_map_hv_page(uint64_t va, mfn_t mfn, uint64_t flags);

/* Remove the mapping at hypervisor address va and flush it from the TLB. */
void paging_unmap_hv_page(uint64_t va);

/* Copy the hypervisor's L4 slots into a new top-level table (guest or idle). */
void paging_copy_hv_slots(uint64_t *l4);

/* Allocate and map the m2p table for nr_frames machine frames, all invalid. */
void m2p_init(uint64_t nr_frames);

/* Record that machine frame mfn holds pseudo-physical frame pfn (or HAKO_M2P_INVALID). */
void m2p_set(mfn_t mfn, pfn_t pfn);

/* Machine address of the idle (hypervisor-only) top-level table. */
uint64_t paging_idle_cr3(void);

#endif /* HV_PAGING_H */
