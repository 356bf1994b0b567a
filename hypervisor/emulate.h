/*
 * hypervisor/emulate.h: the trap-and-emulate instruction emulator (emulate.c dispatches,
 * emulate_io.c is the UART, emulate_pt.c the page-table stores, trapmode.c the
 * descriptor tables, frames and mode changes). Every instruction is fetched once from
 * guest memory, decoded (x86_decode.c), checked and then applied through the same
 * internal operations the matching hypercalls use.
 */
#ifndef HV_EMULATE_H
#define HV_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"
#include "types.h"
#include "x86_decode.h"

/* Try to emulate the instruction at regs->rip of v that raised regs->vector (#GP, #UD,
 * or a write-protection #PF at cr2) in guest kernel mode, or a #GP in user mode (only a
 * cpuid there is emulated, and uncounted). True when it was emulated
 * (regs advanced past it, or changed by the instruction); false to deliver the original
 * fault to the guest unchanged (a refused iretq that raised #PF becomes the #GP(0) it
 * is: regs->vector and error_code say which fault to deliver). */
bool emulate_insn(struct vcpu *v, struct cpu_regs *regs, gva_t cr2);

/* The #GP fast path (entry.S calls it for a #GP from ring 3 before trap_entry): the
 * one-byte cli and sti, wbinvd, wrmsr of the TSC deadline, invlpg through a register and
 * mov of a register to CR3, unprefixed, from a trap-mode kernel, known by their first bytes, emulated exactly as
 * emulate_insn
 * would (same operations, counters, event delivery). False, with nothing changed, for
 * anything else: trap_entry's full path then handles the fault. */
bool emulate_gp_fast(struct cpu_regs *regs);

/* entry.S, for a #PF from ring 3: a trap-mode kernel's 8-byte store into one of its
 * page tables, in a form x86_decode's fast path decodes, emulated exactly as the full
 * path would (emul_pt_store); true when done (resume the frame), false to take the
 * full path (nothing changed). */
bool emulate_pf_fast(struct cpu_regs *regs);

/* The general-purpose register n (0..15, rax..r15) of a frame. */
uint64_t *emul_gpr(struct cpu_regs *regs, unsigned n);

/* The linear address of insn's memory operand (fs/gs bases are 0 in every guest). */
uint64_t emul_mem_addr(struct cpu_regs *regs, const struct x86_insn *insn);

/* in/out on an emulated port: size bytes to/from *val; false for a port or size the
 * emulated UART does not have (the guest gets #GP). */
bool emul_port_in(struct vcpu *v, uint16_t port, unsigned size, uint64_t *val);
bool emul_port_out(struct vcpu *v, uint16_t port, unsigned size, uint64_t val);

/* A store to a page-table frame (a write-protection #PF at cr2 from guest kernel mode):
 * validate the new entry with mmu_update's code and apply it. False when it is not a
 * page-table store hako can prove safe. */
bool emul_pt_store(struct vcpu *v, struct cpu_regs *regs, const struct x86_insn *insn, gva_t cr2);

/* emulate_cpuid.c: the guest's view of cpuid leaf/sub (eax, ebx, ecx, edx in r[0..3]),
 * for a trap-mode guest whose cpuid faults (ABI.md 20.4). */
void emul_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* trapmode.c: lidt/lgdt/ltr with their operand already fetched; iretq/sysretq. False
 * when refused (the guest gets #GP). */
bool trapmode_lidt(struct vcpu *v, uint64_t base, uint16_t limit);
bool trapmode_ltr(struct vcpu *v, uint16_t sel);
bool trapmode_iretq(struct vcpu *v, struct cpu_regs *regs);
/* Load mfn as v's user root (HAKO_MSR_USER_ROOT), the one it replaces kept typed;
 * 0 or mmu_set_baseptr's error. */
int trapmode_set_user_root(struct vcpu *v, uint64_t mfn);
/* Drop every kept root of v's domain (their type references, and the trees they alone
 * kept validated); true when there were any, so a refused operation may be retried. */
bool trapmode_drop_kept_roots(struct vcpu *v);
bool trapmode_sysretq(struct vcpu *v, struct cpu_regs *regs);

#endif /* HV_EMULATE_H */
