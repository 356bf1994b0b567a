/*
 * guest-pv/arch/pv/privops_pv.h: what the paravirtual backend offers beyond the privops table,
 * for code that is about the PV ABI itself (the tests of the hypervisor and their
 * benchmarks): machine frames and machine addresses of page-table entries. The kernel
 * proper never uses these.
 */
#ifndef GUEST_PRIVOPS_PV_H
#define GUEST_PRIVOPS_PV_H

#include <stdint.h>

/* The machine frame behind pfn (the p2m). */
uint64_t pv_mfn(uint64_t pfn);

/* The machine address of the entry at `level` (1..4) for va in the address space whose
 * root is the table at root_pfn, or 0 when an upper level is missing. */
uint64_t pv_entry_maddr(uint64_t root_pfn, uint64_t va, unsigned level);

#endif /* GUEST_PRIVOPS_PV_H */
