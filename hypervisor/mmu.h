/*
 * hypervisor/mmu.h: the page-table hypercalls.
 */
#ifndef HV_MMU_H
#define HV_MMU_H

#include "hcall_list.h"

/* mmu_update, mmuext_op, update_va_mapping, memory_op (ABI.md 12). */
long hc_mmu_update(HC_ARGS);
long hc_mmuext_op(HC_ARGS);
long hc_update_va_mapping(HC_ARGS);
long hc_memory_op(HC_ARGS);

#endif /* HV_MMU_H */
