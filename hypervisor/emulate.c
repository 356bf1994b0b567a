/*
 * hypervisor/emulate.c: the trap-and-emulate dispatcher. A privileged instruction a
 * trap-mode kernel executes faults in ring 3 (#GP, #UD) or, for a store into one of its
 * page tables, raises a write-protection #PF; here it is fetched once through the
 * guest-access helpers, decoded (x86_decode.c) and emulated through the operation the
 * matching hypercall uses, or refused (the guest then gets its original fault).
 * ABI.md "Trap-and-emulate mode" lists every instruction and refusal.
 */
#include "emulate.h"

#include <stddef.h>

#include <hako/arch-x86_64.h>
#include <hako/domctl.h>
#include <hako/errno.h>
#include <hako/trapmode.h>

#include "cpu.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "mmu.h"
#include "paging.h"
#include "sched.h"
#include "time.h"
#include "vtrap.h"
#include "x86.h"

/* The public counter kind (HAKO_EMUL_*, ABI.md 16) each emulated instruction counts as;
 * decoded instructions that are never emulated stay 0 (they are only ever refused). */
static const uint8_t emul_kind[X86_OP_COUNT] = {
    [X86_OP_CLI] = HAKO_EMUL_CLI_STI,       [X86_OP_STI] = HAKO_EMUL_CLI_STI,
    [X86_OP_HLT] = HAKO_EMUL_HLT,
    [X86_OP_MOV_FROM_CR] = HAKO_EMUL_CR_READ, [X86_OP_MOV_TO_CR] = HAKO_EMUL_CR_WRITE,
    [X86_OP_INVLPG] = HAKO_EMUL_INVLPG,     [X86_OP_WBINVD] = HAKO_EMUL_WBINVD,
    [X86_OP_RDMSR] = HAKO_EMUL_MSR_READ,    [X86_OP_WRMSR] = HAKO_EMUL_MSR_WRITE,
    [X86_OP_LGDT] = HAKO_EMUL_DESC,         [X86_OP_LIDT] = HAKO_EMUL_DESC,
    [X86_OP_SGDT] = HAKO_EMUL_DESC,         [X86_OP_SIDT] = HAKO_EMUL_DESC,
    [X86_OP_SMSW] = HAKO_EMUL_DESC,         [X86_OP_LMSW] = HAKO_EMUL_DESC,
    [X86_OP_LTR] = HAKO_EMUL_DESC,          [X86_OP_STR] = HAKO_EMUL_DESC,
    [X86_OP_LLDT] = HAKO_EMUL_DESC,
    [X86_OP_IN] = HAKO_EMUL_PORT_IN,        [X86_OP_OUT] = HAKO_EMUL_PORT_OUT,
    [X86_OP_MOV_STORE] = HAKO_EMUL_PTE_STORE, [X86_OP_XCHG] = HAKO_EMUL_PTE_STORE,
    [X86_OP_CMPXCHG] = HAKO_EMUL_PTE_STORE,
    [X86_OP_IRETQ] = HAKO_EMUL_IRET,        [X86_OP_SYSRETQ] = HAKO_EMUL_SYSRET,
    [X86_OP_CPUID] = HAKO_EMUL_CPUID,
};
_Static_assert(HAKO_EMUL_KINDS <= HAKO_EMUL_SLOTS, "a counter for every kind");

#define PF_ERR_P 1u     /* #PF error code: a protection violation (the page is present) */
#define PF_ERR_W 2u     /* ... by a write */
#define PF_ERR_RSVD 8u  /* ... a reserved bit set in an entry */
#define PF_ERR_FETCH 16u /* ... an instruction fetch */

/* What emulating one instruction did. */
enum emul_result {
    EMUL_REFUSE,    /* not emulated: the guest gets its original fault */
    EMUL_NEXT,      /* done: continue after the instruction */
    EMUL_JUMP,      /* done: the instruction set rip itself (iretq, sysretq) */
};

uint64_t *emul_gpr(struct cpu_regs *regs, unsigned n)
{
#define GPR(r) (uint8_t)offsetof(struct cpu_regs, r)
    static const uint8_t offset[16] = {
        GPR(rax), GPR(rcx), GPR(rdx), GPR(rbx), GPR(rsp), GPR(rbp), GPR(rsi), GPR(rdi),
        GPR(r8), GPR(r9), GPR(r10), GPR(r11), GPR(r12), GPR(r13), GPR(r14), GPR(r15),
    };
#undef GPR
    return (uint64_t *)((char *)regs + offset[n & 15]);
}

uint64_t emul_mem_addr(struct cpu_regs *regs, const struct x86_insn *insn)
{
    const struct x86_mem *m = &insn->mem;
    uint64_t a = (uint64_t)(int64_t)m->disp;
    if (m->rip_rel)
        a += regs->rip + insn->len;
    if (m->base != X86_REG_NONE)
        a += *emul_gpr(regs, m->base);
    if (m->index != X86_REG_NONE)
        a += *emul_gpr(regs, m->index) * m->scale;
    if (insn->prefixes & X86_PFX_ADSZ)
        a = (uint32_t)a;
    return a;
}

/* Write val to register n with the CPU's rule for size: 4 zero-extends, 1 and 2
 * merge into the low bytes. */
static void set_reg(struct cpu_regs *regs, unsigned n, unsigned size, uint64_t val)
{
    uint64_t *r = emul_gpr(regs, n);
    switch (size) {
    case 1: *r = (*r & ~0xFFull) | (val & 0xFF); break;
    case 2: *r = (*r & ~0xFFFFull) | (val & 0xFFFF); break;
    case 4: *r = (uint32_t)val; break;
    default: *r = val; break;
    }
}

/* Fetch up to 15 instruction bytes at rip into buf (16 bytes): all 15, or what the page
 * holds when the next page cannot be read; 0 when not even that can. Through the guest's
 * own mapping first (guest_peek_insn), through a walk of its tables when that cannot
 * read all 16. */
static size_t fetch(struct vcpu *v, uint64_t rip, uint8_t buf[16])
{
    if (guest_peek_insn(_gva(rip), buf) == 0)
        return X86_MAX_INSN_LEN;
    size_t n = MIN((size_t)X86_MAX_INSN_LEN, PAGE_SIZE - (rip & (PAGE_SIZE - 1)));
    if (guest_fetch(v, buf, _gva(rip), n))
        return 0;
    if (n < X86_MAX_INSN_LEN && rip + n != 0 &&     /* never wraps to address 0 */
        !guest_fetch(v, buf + n, _gva(rip + n), X86_MAX_INSN_LEN - n))
        return X86_MAX_INSN_LEN;
    return n;
}

/* mov from crN: the virtual values; CR3 is the kernel-mode table's machine address. */
static enum emul_result read_cr(struct vcpu *v, unsigned cr, uint64_t *val)
{
    switch (cr) {
    case 0: *val = v->trap.cr0; return EMUL_NEXT;
    case 2: *val = v->trap.cr2; return EMUL_NEXT;
    case 3: *val = v->pv.kernel_l4 << PAGE_SHIFT; return EMUL_NEXT;
    case 4: *val = v->trap.cr4; return EMUL_NEXT;
    case 8: *val = 0; return EMUL_NEXT;
    default: return EMUL_REFUSE;
    }
}

/* mov to crN: CR3 switches the kernel table (validated as NEW_BASEPTR; the same table
 * again only flushes); CR0/CR4/CR8 accept only the value they hold. */
static enum emul_result write_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
    switch (cr) {
    case 0: return val == v->trap.cr0 ? EMUL_NEXT : EMUL_REFUSE;
    case 2: v->trap.cr2 = val; return EMUL_NEXT;
    case 3: {
        if (val & ~(PTE_ADDR | 0x18))      /* only the address, PWT and PCD */
            return EMUL_REFUSE;
        uint64_t mfn = (val & PTE_ADDR) >> PAGE_SHIFT;
        if (mfn == v->pv.kernel_l4) {
            v->stat_cr3_loads++;
            flush_tlb_local();
            return EMUL_NEXT;
        }
        if (!mfn)
            return EMUL_REFUSE;
        int rc = mmu_set_baseptr(v, mfn, false);
        if (rc == -HAKO_EBUSY && trapmode_drop_kept_roots(v))
            rc = mmu_set_baseptr(v, mfn, false);    /* a kept tree held a conflicting type */
        return rc == 0 ? EMUL_NEXT : EMUL_REFUSE;
    }
    case 4: return val == v->trap.cr4 ? EMUL_NEXT : EMUL_REFUSE;
    case 8: return val == 0 ? EMUL_NEXT : EMUL_REFUSE;
    default: return EMUL_REFUSE;
    }
}

/* rdmsr: the few MSRs a small kernel uses (ABI.md); others are refused. */
static enum emul_result read_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case HAKO_MSR_EFER: *val = rdmsr(MSR_EFER) & (EFER_SCE | EFER_LME | (1u << 10) | EFER_NXE); break;
    case HAKO_MSR_STAR: *val = v->trap.star; break;
    case HAKO_MSR_LSTAR: *val = v->pv.syscall_callback; break;
    case HAKO_MSR_SFMASK: *val = v->trap.sfmask; break;
    case HAKO_MSR_PAT: *val = rdmsr(HAKO_MSR_PAT); break;
    case HAKO_MSR_TSC_DEADLINE: *val = v->trap.tsc_deadline; break;
    case HAKO_MSR_USER_ROOT: *val = v->pv.user_l4 << PAGE_SHIFT; break;
    default: return EMUL_REFUSE;
    }
    return EMUL_NEXT;
}

/* wrmsr: LSTAR and SFMASK as set_callback would, the TSC deadline as set_timer_op
 * ONESHOT, the user root as NEW_USER_BASEPTR; EFER and PAT only keep their value. */
static enum emul_result write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    uint64_t cur;
    switch (msr) {
    case HAKO_MSR_EFER:
    case HAKO_MSR_PAT:
        return read_msr(v, msr, &cur) == EMUL_NEXT && cur == val ? EMUL_NEXT : EMUL_REFUSE;
    case HAKO_MSR_STAR:
        v->trap.star = val;
        return EMUL_NEXT;
    case HAKO_MSR_LSTAR:
        if (val && !guest_addr_ok(val))
            return EMUL_REFUSE;
        v->pv.syscall_callback = val;
        return EMUL_NEXT;
    case HAKO_MSR_SFMASK:
        if (val >> 32)
            return EMUL_REFUSE;
        v->trap.sfmask = val;
        return EMUL_NEXT;
    case HAKO_MSR_TSC_DEADLINE:
        v->trap.tsc_deadline = val;
        cur = val ? time_tsc_to_ns(val) : 0;        /* once: MAX evaluates twice */
        time_set_oneshot(v, val ? MAX(cur, 1ull) : 0);
        return EMUL_NEXT;
    case HAKO_MSR_USER_ROOT:
        if (val & ~PTE_ADDR)
            return EMUL_REFUSE;
        return trapmode_set_user_root(v, val >> PAGE_SHIFT) == 0 ? EMUL_NEXT : EMUL_REFUSE;
    default:
        return EMUL_REFUSE;
    }
}

/* The 10-byte pseudo-descriptor of lgdt/lidt/sgdt/sidt. */
struct __attribute__((packed)) pseudo_desc {
    uint16_t limit;
    uint64_t base;
};

/* A 16-bit selector operand of ltr/lldt (register or memory). */
static bool read_sel(struct vcpu *v, struct cpu_regs *regs, const struct x86_insn *in,
                     uint16_t *sel)
{
    if (!in->has_mem) {
        *sel = (uint16_t)*emul_gpr(regs, in->rm_reg);
        return true;
    }
    return guest_copy_from(v, sel, _gva(emul_mem_addr(regs, in)), 2) == 0;
}

/* Store a 16-bit value (str, smsw) to a register (zero-extended to its size) or memory. */
static enum emul_result store_word(struct vcpu *v, struct cpu_regs *regs,
                                   const struct x86_insn *in, uint64_t val)
{
    if (!in->has_mem) {
        set_reg(regs, in->rm_reg, in->opsize, val);
        return EMUL_NEXT;
    }
    uint16_t w = (uint16_t)val;
    return guest_copy_to(v, _gva(emul_mem_addr(regs, in)), &w, 2) ? EMUL_REFUSE : EMUL_NEXT;
}

/* The descriptor-table instructions: lidt/lgdt read their operand, sidt/sgdt write
 * the virtual one back (they fault only because CR4.UMIP is set). */
static enum emul_result desc_table(struct vcpu *v, struct cpu_regs *regs, const struct x86_insn *in)
{
    struct pseudo_desc d;
    gva_t at = _gva(emul_mem_addr(regs, in));
    switch (in->op) {
    case X86_OP_LIDT:
    case X86_OP_LGDT:
        if (guest_copy_from(v, &d, at, sizeof(d)))
            return EMUL_REFUSE;
        if (in->op == X86_OP_LIDT)
            return trapmode_lidt(v, d.base, d.limit) ? EMUL_NEXT : EMUL_REFUSE;
        if (!guest_range_ok(_gva(d.base), d.limit + 1ull))
            return EMUL_REFUSE;
        v->trap.gdt_base = d.base;
        v->trap.gdt_limit = d.limit;
        return EMUL_NEXT;
    default:                    /* SIDT, SGDT */
        d = in->op == X86_OP_SIDT
                ? (struct pseudo_desc){ .limit = v->trap.idt_limit, .base = v->trap.idt_base }
                : (struct pseudo_desc){ .limit = v->trap.gdt_limit, .base = v->trap.gdt_base };
        return guest_copy_to(v, at, &d, sizeof(d)) ? EMUL_REFUSE : EMUL_NEXT;
    }
}

/* hlt: wait for an event (with the virtual IF clear it is left pending). `sti; hlt` is
 * one step, as the CPU's interrupt shadow makes it: no event slips in between. */
static enum emul_result halt(struct vcpu *v)
{
    sched_block(v);
    return EMUL_NEXT;
}

/* Emulate one decoded instruction that raised #GP or #UD. */
static enum emul_result emulate_op(struct vcpu *v, struct cpu_regs *regs, struct x86_insn *in,
                                   const uint8_t *bytes, size_t avail)
{
    uint64_t val = 0;
    enum emul_result r;
    switch (in->op) {
    case X86_OP_CLI:
        __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
        return EMUL_NEXT;
    case X86_OP_STI:
        __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
        if (avail > in->len && bytes[in->len] == 0xF4 &&    /* sti; hlt */
            guest_addr_ok(regs->rip + in->len + 1)) {
            in->len++;
            in->op = X86_OP_HLT;                            /* counted as a hlt */
            return halt(v);
        }
        return EMUL_NEXT;       /* pending events are delivered on the way out */
    case X86_OP_HLT:
        return halt(v);
    case X86_OP_MOV_FROM_CR:
        if ((r = read_cr(v, in->reg, &val)) == EMUL_NEXT)
            set_reg(regs, in->rm_reg, 8, val);
        return r;
    case X86_OP_MOV_TO_CR:
        return write_cr(v, in->reg, *emul_gpr(regs, in->rm_reg));
    case X86_OP_INVLPG:
        return mmu_invlpg(_gva(emul_mem_addr(regs, in))) ? EMUL_REFUSE : EMUL_NEXT;
    case X86_OP_WBINVD:         /* the hypervisor keeps caches coherent: nothing to do */
        return EMUL_NEXT;
    case X86_OP_RDMSR:
        if ((r = read_msr(v, (uint32_t)regs->rcx, &val)) == EMUL_NEXT) {
            set_reg(regs, 0, 4, val);
            set_reg(regs, 2, 4, val >> 32);
        }
        return r;
    case X86_OP_WRMSR:
        return write_msr(v, (uint32_t)regs->rcx, (uint32_t)regs->rax | regs->rdx << 32);
    case X86_OP_LIDT:
    case X86_OP_LGDT:
    case X86_OP_SIDT:
    case X86_OP_SGDT:
        return desc_table(v, regs, in);
    case X86_OP_LTR: {
        uint16_t sel;
        return read_sel(v, regs, in, &sel) && trapmode_ltr(v, sel) ? EMUL_NEXT : EMUL_REFUSE;
    }
    case X86_OP_LLDT: {         /* only the null LDT exists */
        uint16_t sel;
        return read_sel(v, regs, in, &sel) && (sel & ~3u) == 0 ? EMUL_NEXT : EMUL_REFUSE;
    }
    case X86_OP_STR:
        return store_word(v, regs, in, v->trap.tr);
    case X86_OP_SMSW:
        return store_word(v, regs, in, in->has_mem ? v->trap.cr0 & 0xFFFF : v->trap.cr0);
    case X86_OP_LMSW: {         /* accepted when it keeps PE MP EM TS as they are */
        uint16_t w;
        if (!read_sel(v, regs, in, &w))
            return EMUL_REFUSE;
        return (w & 0xF) == (v->trap.cr0 & 0xF) ? EMUL_NEXT : EMUL_REFUSE;
    }
    case X86_OP_IN:
        if (!emul_port_in(v, in->has_imm ? (uint16_t)in->imm : (uint16_t)regs->rdx, in->opsize,
                          &val))
            return EMUL_REFUSE;
        set_reg(regs, 0, in->opsize, val);
        return EMUL_NEXT;
    case X86_OP_OUT:
        return emul_port_out(v, in->has_imm ? (uint16_t)in->imm : (uint16_t)regs->rdx,
                             in->opsize, regs->rax)
                   ? EMUL_NEXT : EMUL_REFUSE;
    case X86_OP_IRETQ:
        return trapmode_iretq(v, regs) ? EMUL_JUMP : EMUL_REFUSE;
    case X86_OP_SYSRETQ:
        return trapmode_sysretq(v, regs) ? EMUL_JUMP : EMUL_REFUSE;
    case X86_OP_CPUID: {        /* faults only with CPUID faulting on (cpuid_fault.c) */
        uint32_t q[4];
        if (!cpu_has.cpuid_faulting)
            return EMUL_REFUSE;
        emul_cpuid((uint32_t)regs->rax, (uint32_t)regs->rcx, q);
        set_reg(regs, 0, 4, q[0]);
        set_reg(regs, 3, 4, q[1]);
        set_reg(regs, 1, 4, q[2]);
        set_reg(regs, 2, 4, q[3]);
        return EMUL_NEXT;
    }
    default:                    /* pushf/popf/rdtsc/swapgs do not fault in ring 3 here;
                                   invd and the rest are refused */
        return EMUL_REFUSE;
    }
}

bool emulate_insn(struct vcpu *v, struct cpu_regs *regs, gva_t cr2)
{
    bool user = v->pv.in_user;      /* user mode: only cpuid, and nothing is counted */
    uint8_t bytes[16];
    struct x86_insn in;
    /* A not-present #PF is never an emulated instruction's: the guest's own, uncounted. */
    if (regs->vector == 14 && !(regs->error_code & PF_ERR_P))
        return false;
    size_t n;
    if (v->trap.peek_valid && regs->vector == 13 && v->trap.peek_rip == regs->rip) {
        __builtin_memcpy(bytes, v->trap.peeked, 16);    /* this #GP's, read just now */
        n = X86_MAX_INSN_LEN;
    } else {
        n = fetch(v, regs->rip, bytes);
    }
    v->trap.peek_valid = false;
    enum emul_result r = EMUL_REFUSE;
    bool decoded = n && x86_decode(bytes, n, &in) == X86_DECODE_OK;
    /* The rip after it must be one the guest can resume at: an instruction ending at
     * the top of the lower half is refused, never emulated into a non-canonical return. */
    if (decoded && guest_addr_ok(regs->rip + in.len)) {
        /* A ring-3 iretq can also raise #PF: QEMU's TCG reads the frame as a supervisor
         * access, which SMAP refuses on a user page (ABI.md "Trap-and-emulate mode"). */
        if (user)
            r = in.op == X86_OP_CPUID ? emulate_op(v, regs, &in, bytes, n) : EMUL_REFUSE;
        else if (regs->vector == 14 && in.op != X86_OP_IRETQ)
            r = emul_pt_store(v, regs, &in, cr2) ? EMUL_NEXT : EMUL_REFUSE;
        else
            r = emulate_op(v, regs, &in, bytes, n);
    }
    if (r == EMUL_REFUSE) {
        if (!user)
            v->dom->stat_emulated[HAKO_EMUL_REFUSED]++;
        if (!user && regs->vector == 14 && decoded && in.op == X86_OP_IRETQ) {
            regs->vector = 13;          /* a refused iretq is #GP(0), however it trapped */
            regs->error_code = 0;
        }
        return false;
    }
    if (!user)
        v->dom->stat_emulated[emul_kind[in.op]]++;
    if (r == EMUL_NEXT)
        regs->rip += in.len;
    return true;
}

/* What trap_entry and emulate_insn do after a fast path emulated op (len bytes) for
 * exception vector: count it, step over it, deliver an event it let in. */
static void fast_done(struct vcpu *v, struct cpu_regs *regs, unsigned vector, enum x86_op op,
                      uint64_t len)
{
    v->dom->stat_traps[vector]++;
    v->dom->stat_emulated[emul_kind[op]]++;
    regs->rip += len;
    if (vtrap_event_deliverable(v))
        v->dom->type->deliver_events(v, regs);
}

bool emulate_gp_fast(struct cpu_regs *regs)
{
    struct vcpu *v = current_vcpu();
    uint8_t *bytes = v->trap.peeked;
    if (v->dom->type != &guest_type_trap || v->pv.in_user || guest_peek_insn(_gva(regs->rip), bytes))
        return false;       /* not a trap-mode kernel, or 16 bytes cannot be read so */
    v->trap.peek_rip = regs->rip;       /* emulate_insn uses them if this is no fast one */
    v->trap.peek_valid = true;
    uint16_t b = (uint16_t)(bytes[0] | bytes[1] << 8);
    enum x86_op op;
    uint64_t len = 2;
    if ((b & 0xFF) == 0xFA)
        op = X86_OP_CLI, len = 1;
    else if ((b & 0xFF) == 0xFB && b >> 8 != 0xF4)  /* sti; hlt is one step: the full path */
        op = X86_OP_STI, len = 1;
    else if (b == 0x090F)
        op = X86_OP_WBINVD;
    else if (b == 0x300F && (uint32_t)regs->rcx == HAKO_MSR_TSC_DEADLINE)
        op = X86_OP_WRMSR;
    else if (b == 0x010F && (bytes[2] & 0xF8) == 0x38 && (bytes[2] & 7) != 4 &&
             (bytes[2] & 7) != 5)
        op = X86_OP_INVLPG, len = 3;        /* invlpg (%reg): ModRM mod 0, reg 7 */
    else if (b == 0x220F && (bytes[2] & 0xF8) == 0xD8)
        op = X86_OP_MOV_TO_CR, len = 3;     /* mov %reg, %cr3: ModRM mod 3, reg 3 */
    else
        return false;
    /* The 16 bytes read are guest space, so the rip after the instruction is one the
     * guest can resume at (an instruction ending the lower half takes the full path,
     * which refuses it). */
    if (op == X86_OP_INVLPG) {
        if (mmu_invlpg(_gva(*emul_gpr(regs, bytes[2] & 7))))
            return false;               /* not a guest address: the full path refuses it */
    } else if (op == X86_OP_MOV_TO_CR) {
        if (write_cr(v, 3, *emul_gpr(regs, bytes[2] & 7)) != EMUL_NEXT)
            return false;               /* refused: the full path refuses it again */
    } else if (op == X86_OP_WRMSR)
        write_msr(v, HAKO_MSR_TSC_DEADLINE, (uint32_t)regs->rax | regs->rdx << 32);
    else if (op != X86_OP_WBINVD)   /* wbinvd: nothing to do */
        __atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, op == X86_OP_CLI, __ATOMIC_SEQ_CST);
    v->trap.peek_valid = false;
    fast_done(v, regs, 13, op, len);            /* after sti, or a deadline already past */
    return true;
}

bool emulate_pf_fast(struct cpu_regs *regs)
{
    struct vcpu *v = current_vcpu();
    if (v->dom->type != &guest_type_trap || v->pv.in_user ||
        (regs->error_code & (PF_ERR_P | PF_ERR_W | PF_ERR_RSVD | PF_ERR_FETCH)) != (PF_ERR_P | PF_ERR_W))
        return false;       /* not a kernel's write to a present read-only page */
    gva_t cr2 = _gva(read_cr2());       /* before the peek, whose fault would replace it */
    uint8_t bytes[16];
    struct x86_insn in;
    if (guest_peek_insn(_gva(regs->rip), bytes) ||
        x86_decode_fast(bytes, sizeof(bytes), &in) != X86_DECODE_OK ||
        !guest_addr_ok(regs->rip + in.len) || !emul_pt_store(v, regs, &in, cr2))
        return false;
    fast_done(v, regs, 14, in.op, in.len);
    return true;
}
