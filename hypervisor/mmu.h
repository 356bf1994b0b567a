/*
 * hypervisor/mmu.h: the page-table hypercalls.
 */
#ifndef HV_MMU_H
#define HV_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "hcall_list.h"
#include "types.h"

struct vcpu;
struct domain;

/* mmu_update, mmuext_op, update_va_mapping, memory_op (ABI.md 12). */
long hc_mmu_update(HC_ARGS);
long hc_mmuext_op(HC_ARGS);
long hc_update_va_mapping(HC_ARGS);
long hc_memory_op(HC_ARGS);

/* The operations the hypercalls and the trap-mode emulator share (one validation). */
/* Replace v's kernel (user == false) or user top-level table with mfn (0: none, user
 * only), holding an L4 type reference on the new one; 0 or a negative error. */
int mmu_set_baseptr(struct vcpu *v, uint64_t mfn, bool user);
/* Flush the translation of one guest address; -EINVAL outside the guest's range. */
int mmu_invlpg(gva_t va);
/* Validate and write entry idx of domid's page table at mfn table (mmu_update's
 * NORMAL_PT_UPDATE), flushing what safety needs; 0 or a negative error. */
int mmu_pt_write(uint16_t domid, mfn_t table, unsigned idx, uint64_t val);

/* True when mfn is a frame the hypervisor holds for its own use in d (shared info,
 * asynchronous-hypercall rings): never mapped by another domain. */
bool mmu_frame_is_special(const struct domain *d, mfn_t mfn);

#endif /* HV_MMU_H */
