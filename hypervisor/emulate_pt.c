/*
 * hypervisor/emulate_pt.c: direct page-table stores. A trap-mode kernel maps its page
 * tables read-only (as every hako guest must) and writes entries with plain 8-byte
 * stores; each raises a write-protection #PF, and here the store is decoded, the new
 * entry validated by mmu_update's own code (mmu_pt_write) and applied. No shadow
 * tables: the guest's tables are the ones the CPU walks.
 */
#include <hako/arch-x86_64.h>
#include <hako/errno.h>
#include <hako/trapmode.h>

#include "emulate.h"
#include "frame.h"
#include "mm.h"
#include "mmu.h"
#include "pagetype.h"

#define PF_P     (1u << 0)
#define PF_W     (1u << 1)
#define PF_RSVD  (1u << 3)
#define PF_FETCH (1u << 4)

#define RFLAGS_ZF (1ull << 6)

/* The leaf entry that maps va in the address space whose top-level table is at machine
 * address cr3 (a validated L4 of the guest), or false when a level is missing or a
 * large page. */
static bool leaf_entry(uint64_t cr3, uint64_t va, uint64_t *out)
{
    uint64_t e = cr3;
#pragma GCC unroll 4
    for (unsigned shift = 39; shift >= 12; shift -= 9) {
        e = ((const uint64_t *)mfn_to_virt(maddr_to_mfn(e)))[(va >> shift) & 511];
        if (!(e & PTE_P) || (shift != 12 && (e & PTE_PS)))
            return false;
    }
    *out = e;
    return true;
}

/* True when f is a page table (any level) in use as one. */
static bool in_use_as_table(const struct frame_info *f)
{
    return pgt_level(f->type) && f->type_count;
}

bool emul_pt_store(struct vcpu *v, struct cpu_regs *regs, const struct x86_insn *in, gva_t cr2)
{
    /* A write to a present page, from an 8-byte store form, at the faulting address. */
    if ((regs->error_code & (PF_P | PF_W | PF_RSVD | PF_FETCH)) != (PF_P | PF_W) ||
        in->opsize != 8 || !in->has_mem ||
        (in->op != X86_OP_MOV_STORE && in->op != X86_OP_XCHG && in->op != X86_OP_CMPXCHG))
        return false;
    uint64_t va = emul_mem_addr(regs, in), leaf;
    if (va != gva_x(cr2) || (va & 7) || !leaf_entry(v->cr3, va, &leaf))
        return false;
    mfn_t table = pte_mfn(leaf);
    const struct frame_info *f = frame_get(table);
    if (!f || f->owner != v->dom->domid)
        return false;
    /* A frame in use as a table is written through validation; one the kernel marked
     * as a table alias but that is not one now (being built, or not loaded) is plain
     * memory of its own: written as it is. Any other read-only page is the guest's. */
    bool validated = in_use_as_table(f);
    if (!validated && !(leaf & HAKO_TRAP_PTE_TABLE))
        return false;
    unsigned idx = (unsigned)((va & (PAGE_SIZE - 1)) >> 3);
    uint64_t *slot = (uint64_t *)mfn_to_virt(table) + idx;
    uint64_t old = *slot;
    uint64_t *src = in->op == X86_OP_MOV_STORE && in->has_imm ? NULL : emul_gpr(regs, in->reg);
    uint64_t val = src ? *src : in->imm;
    if (in->op == X86_OP_CMPXCHG && regs->rax != old) {
        regs->rax = old;        /* compare failed: nothing is written */
        regs->rflags &= ~RFLAGS_ZF;
        return true;
    }
    int rc = validated ? mmu_pt_write(v->dom->domid, table, idx, val) : 0;
    if (rc && trapmode_drop_kept_roots(v)) {
        /* the table may be in use only by a kept root (a store into it is then a store
         * into memory, as without them), or a kept tree held a type in the way */
        validated = in_use_as_table(f);
        if (!validated && !(leaf & HAKO_TRAP_PTE_TABLE))
            return false;       /* the rule above, for what the table is now */
        rc = validated ? mmu_pt_write(v->dom->domid, table, idx, val) : 0;
    }
    if (rc)
        return false;
    if (!validated)
        *slot = val;
    if (in->op == X86_OP_XCHG)
        *src = old;
    else if (in->op == X86_OP_CMPXCHG)
        regs->rflags |= RFLAGS_ZF;
    return true;
}
