/*
 * guest-pv/drivers/physmap.h: the memory model every backend that runs on hako shares
 * (direct paging, ABI.md 4): page-table entries hold machine frames, the p2m gives the
 * machine frame behind each pfn, the read-only m2p the way back, and the linear map
 * (virt_base + pfn * 4 KiB) reaches every pfn. A native backend has pfn = mfn instead.
 */
#ifndef GUEST_PHYSMAP_H
#define GUEST_PHYSMAP_H

#include <stdint.h>

#include <hako/start_info.h>

/* Remember si's p2m and linear map (before any call below). */
void physmap_init(const struct hako_start_info *si);

/* The linear-map address of pfn. */
void *pfn_va(uint64_t pfn);

/* The machine frame behind pfn (the p2m). */
uint64_t pv_mfn(uint64_t pfn);

/* The machine PTE that maps pfn with flags; flags 0 is the empty entry. */
uint64_t pv_pte(uint64_t pfn, uint64_t flags);

/* The machine address of entry idx of the table at table_pfn (mmu_update's ptr). */
uint64_t pv_table_entry_maddr(uint64_t table_pfn, unsigned idx);

/* The machine address of the entry at `level` (1..4) for va in the address space whose
 * root is the table at root_pfn, or 0 when an upper level is missing. */
uint64_t pv_entry_maddr(uint64_t root_pfn, uint64_t va, unsigned level);

/* privops pt_read: tables are readable through the linear map (privops.h). */
uint64_t pv_pt_read(uint64_t table_pfn, unsigned idx, uint64_t *pfn);

/* privops map_foreign: mmu_update's FOREIGN command, a PV device's mapping (privops.h). */
long pv_map_foreign(uint64_t table_pfn, unsigned idx, uint64_t frame, unsigned domid);

#endif /* GUEST_PHYSMAP_H */
