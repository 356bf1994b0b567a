/*
 * hako public ABI: memory virtualization (direct paging).
 *
 * A guest's page tables are ordinary x86-64 4-level tables in frames it owns. The
 * hypervisor gives every frame exactly one type at a time and only lets a frame be
 * used as a page table of level N after checking every entry in it ("validation");
 * page-table frames can never be mapped writable. Guests change page-table entries
 * through the hypercalls below, never by writing them. See ABI.md "Memory".
 */
#ifndef HAKO_MEMORY_H
#define HAKO_MEMORY_H

#include "compiler.h"

/*
 * Read-only machine-to-pseudo-physical table (m2p), mapped by the hypervisor into every
 * address space at HAKO_M2P_VA: uint64_t m2p[mfn] = the pfn its owner recorded for the
 * frame. Only entries for the reader's own frames mean anything to it; free frames read
 * HAKO_M2P_INVALID.
 */
#define HAKO_M2P_VA        0xFFFF810000000000ULL
#define HAKO_M2P_INVALID   (~0ULL)

/* Bits a guest may set in a present page-table entry (any level): */
#define HAKO_PTE_P         (1ULL << 0)   /* present */
#define HAKO_PTE_W         (1ULL << 1)   /* writable */
#define HAKO_PTE_U         (1ULL << 2)   /* user: required in every present entry */
#define HAKO_PTE_PWT       (1ULL << 3)   /* 0.9: write-through; device frames only (ABI.md 22) */
#define HAKO_PTE_PCD       (1ULL << 4)   /* 0.9: cache disable; device frames only */
#define HAKO_PTE_A         (1ULL << 5)   /* accessed */
#define HAKO_PTE_D         (1ULL << 6)   /* dirty (meaningful in leaf entries; ignored above) */
#define HAKO_PTE_PS        (1ULL << 7)   /* 2 MiB page, in an L2 entry only */
#define HAKO_PTE_AVAIL     (7ULL << 9)   /* bits 9..11: free for the guest */
#define HAKO_PTE_NX        (1ULL << 63)  /* no-execute, when HAKO_FEAT_NX */
#define HAKO_PTE_ADDR      0x000FFFFFFFFFF000ULL   /* bits 12..51: the machine address */

/* Page-table geometry: 4 levels of 512 entries; level 1 (L1) maps 4 KiB pages. */
#define HAKO_PT_ENTRIES    512u
#define HAKO_PT_SHIFT(level)       (3 + 9 * (level))   /* 12, 21, 30, 39 for L1..L4 */
#define HAKO_PT_INDEX(va, level)   (((uint64_t)(va) >> HAKO_PT_SHIFT(level)) & 511u)
#define HAKO_PTE_MFN(pte)          (((uint64_t)(pte) & HAKO_PTE_ADDR) >> 12)
#define HAKO_PTE(mfn, bits)        (((uint64_t)(mfn) << 12) | (uint64_t)(bits))

/* ---- mmu_update(reqs, count, done) ---------------------------------------------- */
/* IN  struct hako_mmu_update reqs[count]; OUT uint64_t *done (may be 0).
 * Applies the requests in order and stops at the first failure, whose error it returns;
 * *done = number applied. Long batches are split by the hypervisor transparently. */
#define HAKO_MMU_NORMAL_PT_UPDATE  0u   /* ptr = machine address of a PTE (8-aligned) */
#define HAKO_MMU_MACHPHYS_UPDATE   1u   /* ptr = mfn << 12 | 1; val = pfn to record in m2p */
#define HAKO_MMU_PT_UPDATE_FOREIGN 2u   /* ABI 0.5, control domain only: ptr = machine
                                           address of an entry of one of the caller's L1
                                           tables | 2; val = a present leaf entry naming a
                                           frame of the domain whose id is the hypercall's
                                           4th argument (r10). See ABI.md 12.3. */
#define HAKO_MMU_CMD_MASK          3u   /* the command sits in ptr's low two bits */
#define HAKO_MMU_BATCH_MAX         (1u << 24)  /* larger count: -HAKO_E2BIG */
/* ptr of a NORMAL_PT_UPDATE or PT_UPDATE_FOREIGN: entry `index` of table frame
 * table_mfn; ptr of a MACHPHYS_UPDATE: frame mfn. */
#define HAKO_MMU_PTR(table_mfn, index, cmd) \
    (((uint64_t)(table_mfn) << 12) | ((uint64_t)(index) << 3) | (uint64_t)(cmd))
#define HAKO_MMU_MACHPHYS_PTR(mfn) (((uint64_t)(mfn) << 12) | HAKO_MMU_MACHPHYS_UPDATE)

#ifndef __ASSEMBLER__
struct hako_mmu_update {
    uint64_t ptr;   /* IN: machine address of the entry | HAKO_MMU_* command */
    uint64_t val;   /* IN: new entry (or pfn) */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_mmu_update) == 16, "hako_mmu_update size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_mmu_update) == 8, "hako_mmu_update align");
#endif


/* ---- mmuext_op(ops, count, done) ------------------------------------------------ */
#define HAKO_MMUEXT_PIN_L1_TABLE      0u  /* arg1 = mfn: validate as L1 and keep it so */
#define HAKO_MMUEXT_PIN_L2_TABLE      1u
#define HAKO_MMUEXT_PIN_L3_TABLE      2u
#define HAKO_MMUEXT_PIN_L4_TABLE      3u
#define HAKO_MMUEXT_UNPIN_TABLE       4u  /* arg1 = mfn of a table this domain pinned */
#define HAKO_MMUEXT_NEW_BASEPTR       5u  /* arg1 = mfn of an L4: the kernel address space */
#define HAKO_MMUEXT_NEW_USER_BASEPTR  6u  /* arg1 = mfn of an L4 for user mode, or 0: none */
#define HAKO_MMUEXT_TLB_FLUSH_LOCAL   7u  /* flush this vCPU's TLB */
#define HAKO_MMUEXT_INVLPG_LOCAL      8u  /* arg1 = virtual address */
#define HAKO_MMUEXT_TLB_FLUSH_ALL     9u  /* flush on every vCPU of the domain */
#define HAKO_MMUEXT_INVLPG_ALL       10u  /* arg1 = virtual address, every vCPU */

#ifndef __ASSEMBLER__
struct hako_mmuext_op {
    uint32_t cmd;       /* IN: HAKO_MMUEXT_* */
    uint32_t _pad0;     /* IN: zero */
    uint64_t arg1;      /* IN: mfn or virtual address, per command */
    uint64_t arg2;      /* IN: zero (reserved) */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_mmuext_op) == 24, "hako_mmuext_op size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_mmuext_op) == 8, "hako_mmuext_op align");
#endif


/* ---- update_va_mapping(va, val, flags) ------------------------------------------ */
/* Replace the L1 entry that maps va in the current address space. */
#define HAKO_UVMF_NONE        0u
#define HAKO_UVMF_INVLPG      1u   /* then flush va from this vCPU's TLB */
#define HAKO_UVMF_TLB_FLUSH   2u   /* then flush this vCPU's whole TLB */

/* ---- memory_op(cmd, arg) -------------------------------------------------------- */
#define HAKO_MEM_CURRENT_RESERVATION  0u  /* returns pages the domain owns */
#define HAKO_MEM_MAXIMUM_RESERVATION  1u  /* returns the most pages it may own */
#define HAKO_MEM_MACHPHYS_MAPPING     2u  /* arg = OUT struct hako_machphys_mapping * */

#ifndef __ASSEMBLER__
struct hako_machphys_mapping {
    uint64_t m2p_va;        /* OUT: HAKO_M2P_VA */
    uint64_t m2p_entries;   /* OUT: entries in the m2p (machine frames on this host) */
    uint64_t p2m_va;        /* OUT: where the boot layout put this domain's p2m */
    uint64_t p2m_entries;   /* OUT: its entries (= pages at boot) */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_machphys_mapping) == 32, "hako_machphys_mapping size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_machphys_mapping) == 8, "hako_machphys_mapping align");
#endif


#endif /* HAKO_MEMORY_H */
