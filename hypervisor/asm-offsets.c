/*
 * hypervisor/asm-offsets.c: the structure offsets and sizes assembly uses, generated
 * from the C definitions so they cannot drift. Compiled to assembly only (never linked):
 * each DEFINE leaves a "->NAME value" line that the Makefile turns into
 * $(BUILD)/hypervisor/asm-offsets.h, which entry.S includes.
 */
#include <stddef.h>

#include <hako/arch-x86_64.h>
#include <hako/async.h>
#include <hako/hypercall.h>
#include <hako/traps.h>

#include "cpu.h"
#include "domain.h"
#include "hypercall.h"
#include "percpu.h"
#include "vtrap.h"
#include "x86.h"

#define DEFINE(name, value) __asm__ volatile("\n->" #name " %0" : : "i"(value))
#define OFFSET(name, type, member) DEFINE(name, offsetof(type, member))

/* Never called: its assembly is the output. */
void asm_offsets(void);
void asm_offsets(void)
{
    OFFSET(PCPU_SCRATCH_RSP, struct percpu, scratch_rsp);
    OFFSET(PCPU_STACK_TOP, struct percpu, stack_top);
    OFFSET(PCPU_CURRENT, struct percpu, current);

    OFFSET(VCPU_PV_IN_USER, struct vcpu, pv.in_user);
    OFFSET(VCPU_PV_UPCALL_WORD, struct vcpu, pv.upcall_word);
    OFFSET(VCPU_PV_KERNEL_L4, struct vcpu, pv.kernel_l4);
    OFFSET(VCPU_PV_USER_L4, struct vcpu, pv.user_l4);
    OFFSET(VCPU_PV_SYSCALL_CALLBACK, struct vcpu, pv.syscall_callback);
    OFFSET(VCPU_PV_SYSCALL_FRAME, struct vcpu, pv.syscall_frame);
    OFFSET(VCPU_VCPU_INFO, struct vcpu, vcpu_info);
    OFFSET(VCPU_CR3, struct vcpu, cr3);
    OFFSET(VCPU_STAT_CR3_LOADS, struct vcpu, stat_cr3_loads);
    OFFSET(VI_UPCALL_PENDING, struct hako_vcpu_info, evtchn_upcall_pending);
    OFFSET(VI_UPCALL_MASK, struct hako_vcpu_info, evtchn_upcall_mask);
    OFFSET(TF_RAX, struct hako_trap_frame, rax);
    OFFSET(TF_RCX, struct hako_trap_frame, rcx);
    OFFSET(TF_R11, struct hako_trap_frame, r11);
    OFFSET(TF_VECTOR, struct hako_trap_frame, vector);
    OFFSET(TF_ERROR_CODE, struct hako_trap_frame, error_code);
    OFFSET(TF_FAULT_ADDR, struct hako_trap_frame, fault_addr);
    OFFSET(TF_FLAGS, struct hako_trap_frame, flags);
    OFFSET(TF_RIP, struct hako_trap_frame, rip);
    OFFSET(TF_CS, struct hako_trap_frame, cs);
    OFFSET(TF_RFLAGS, struct hako_trap_frame, rflags);
    OFFSET(TF_RSP, struct hako_trap_frame, rsp);
    OFFSET(TF_SS, struct hako_trap_frame, ss);
    DEFINE(TF_SIZE, sizeof(struct hako_trap_frame));
    DEFINE(TF_VECTOR_SYSCALL, HAKO_TRAP_SYSCALL);
    DEFINE(TF_FLAG_USER, HAKO_TF_USER);
    DEFINE(TF_FLAG_MASKED, HAKO_TF_EVENTS_MASKED);
    DEFINE(TF_RFLAGS_KEPT, GUEST_RFLAGS_MASK);
    DEFINE(TF_RFLAGS_FORCED, HAKO_GUEST_RFLAGS);
    DEFINE(GUEST_LOWER_END, HAKO_LOWER_HALF_END);
    DEFINE(GUEST_UPPER_START, HAKO_HV_VA_END);
    OFFSET(CPU_HAS_SMAP, struct cpu_features, smap);
    OFFSET(VCPU_HC_TABLE, struct vcpu, hc_table);
    OFFSET(VCPU_HC_COUNT, struct vcpu, hc_count);

    /* struct cpu_regs: the frame entry.S builds on a vCPU's hypervisor stack. */
    OFFSET(FRAME_RBX, struct cpu_regs, rbx);
    OFFSET(FRAME_RBP, struct cpu_regs, rbp);
    OFFSET(FRAME_R12, struct cpu_regs, r12);
    OFFSET(FRAME_R13, struct cpu_regs, r13);
    OFFSET(FRAME_R14, struct cpu_regs, r14);
    OFFSET(FRAME_R15, struct cpu_regs, r15);
    OFFSET(FRAME_R11, struct cpu_regs, r11);
    OFFSET(FRAME_R10, struct cpu_regs, r10);
    OFFSET(FRAME_R9, struct cpu_regs, r9);
    OFFSET(FRAME_R8, struct cpu_regs, r8);
    OFFSET(FRAME_RDI, struct cpu_regs, rdi);
    OFFSET(FRAME_RSI, struct cpu_regs, rsi);
    OFFSET(FRAME_RDX, struct cpu_regs, rdx);
    OFFSET(FRAME_RAX, struct cpu_regs, rax);
    OFFSET(FRAME_VECTOR, struct cpu_regs, vector);
    OFFSET(FRAME_ERROR, struct cpu_regs, error_code);
    OFFSET(FRAME_RIP, struct cpu_regs, rip);
    OFFSET(FRAME_CS, struct cpu_regs, cs);
    OFFSET(FRAME_RFLAGS, struct cpu_regs, rflags);
    OFFSET(FRAME_RSP, struct cpu_regs, rsp);
    DEFINE(FRAME_SIZE, sizeof(struct cpu_regs));

    /* The batch items the burst loops read in place. */
    OFFSET(MC_OP, struct hako_multicall_entry, op);
    OFFSET(MC_ARGS, struct hako_multicall_entry, args);
    OFFSET(MC_RESULT, struct hako_multicall_entry, result);
    OFFSET(MC_FLAGS, struct hako_multicall_entry, flags);
    OFFSET(MC_PAD0, struct hako_multicall_entry, _pad0);
    DEFINE(MC_SIZE, sizeof(struct hako_multicall_entry));
    OFFSET(SQE_OP, struct hako_async_sqe, op);
    OFFSET(SQE_ARGS, struct hako_async_sqe, args);
    OFFSET(SQE_USER_DATA, struct hako_async_sqe, user_data);
    OFFSET(SQE_FLAGS, struct hako_async_sqe, flags);
    OFFSET(SQE_PAD0, struct hako_async_sqe, _pad0);
    DEFINE(SQE_SIZE, sizeof(struct hako_async_sqe));
    OFFSET(CQE_USER_DATA, struct hako_async_cqe, user_data);
    OFFSET(CQE_RESULT, struct hako_async_cqe, result);
    DEFINE(CQE_SIZE, sizeof(struct hako_async_cqe));

    /* The highest number a burst table has a slot for. */
    DEFINE(BURST_OP_MAX, HC_BURST_SLOTS - 1);
}
