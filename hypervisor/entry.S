/*
 * hypervisor/entry.S: every way into and out of the hypervisor.
 *   syscall_entry   hypercall from a guest (syscall); returns with sysret
 *   exc_stub_N      exceptions and interrupts (IDT); return with iret
 *   context_switch  switch hypervisor stacks between vCPUs / the idle context
 * All of them build a struct cpu_regs (x86.h) on the vCPU's hypervisor stack.
 */
#include <hako/errno.h>
#include <hako/hypercall.h>

#include "asm-offsets.h"
#include "percpu.h"
#include "x86.h"

/* Caller-saved registers, highest frame slot first (struct cpu_regs). */
.macro SAVE_SCRATCH
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
.endm

.macro RESTORE_SCRATCH
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
.endm

.macro SAVE_GPRS
    SAVE_SCRATCH
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %rbp
    pushq %rbx
.endm

/* SAVE_GPRS and the CPU push struct cpu_regs (x86.h) in its field order; the offsets
 * come from asm-offsets.c, so a reordered struct stops the build here. */
.if FRAME_RBX != 0 || FRAME_R15 != 40 || FRAME_R10 != 56 || FRAME_RDX != 96 || FRAME_RAX != 112 \
    || FRAME_VECTOR != 120 || FRAME_ERROR != 128 || FRAME_RIP != 136 || FRAME_RSP != 160 \
    || FRAME_SIZE != 176
.error "struct cpu_regs no longer matches the order entry.S pushes it in"
.endif

/* The callee-saved registers, in the order context_switch and async_burst push them. */
.macro POP_CALLEE_SAVED
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
.endm

.macro RESTORE_GPRS
    popq %rbx
    popq %rbp
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    RESTORE_SCRATCH
.endm

/* Complete a hypercall frame at off(%rsp): the callee-saved registers (still the guest's,
 * C preserves them), the vector and the error code. */
.macro FILL_FRAME off
    movq %rbx, \off+0(%rsp)
    movq %rbp, \off+8(%rsp)
    movq %r12, \off+16(%rsp)
    movq %r13, \off+24(%rsp)
    movq %r14, \off+32(%rsp)
    movq %r15, \off+40(%rsp)
    movq $VECTOR_SYSCALL, \off+FRAME_VECTOR(%rsp)
    movq $0, \off+FRAME_ERROR(%rsp)
.endm

/* From a guest `syscall`: switch to the vCPU's hypervisor stack and build the frame,
 * leaving the vector, error code and callee-saved slots unwritten (FILL_FRAME). */
.macro SYSCALL_FRAME
    swapgs
    movq %rsp, %gs:PCPU_SCRATCH_RSP
    movq %gs:PCPU_STACK_TOP, %rsp
    pushq $SEL_GUEST_DS
    pushq %gs:PCPU_SCRATCH_RSP
    pushq %r11
    pushq $SEL_GUEST_CS64
    pushq %rcx
    subq $16, %rsp                  /* vector, error code: only slow paths need them */
    SAVE_SCRATCH
    subq $48, %rsp                  /* callee-saved slots: FILL_FRAME when needed */
.endm

/* The fast paths build and read struct hako_trap_frame (ABI.md 13.3) field by field;
 * the flags are formed as USER + 2 * mask. */
.if TF_SIZE != 96 || TF_FLAG_USER != 1 || TF_FLAG_MASKED != 2
.error "struct hako_trap_frame or its flags changed under the fast paths"
.endif

/* Put vCPU \v (a register) in guest mode \user (0 kernel, 1 user) on that mode's top-level
 * table (\l4_field: its mfn, a validated L4 the base pointer's type reference keeps one),
 * as vtrap_set_mode / vcpu_update_cr3 do; \tmp is clobbered. */
.macro ENTER_GUEST_MODE v, user, l4_field, tmp
    movb $\user, VCPU_PV_IN_USER(\v)
    movq \l4_field(\v), \tmp
    shlq $12, \tmp
    movq \tmp, VCPU_CR3(\v)
    movq \tmp, %cr3
    incq VCPU_STAT_CR3_LOADS(\v)
    movl $0, pagetype_stale(%rip)           /* pagetype_tlb_flushed() */
.endm

/* Lift SMAP for guest accesses through the guest's mapping (when the CPU has it). */
.macro STAC_IF_SMAP
    testb $1, cpu_has+CPU_HAS_SMAP(%rip)
    jz 99f
    stac
99:
.endm
.macro CLAC_IF_SMAP
    testb $1, cpu_has+CPU_HAS_SMAP(%rip)
    jz 99f
    clac
99:
.endm

    .text
/* Hypercall: rax = number, rdi rsi rdx r10 r8 r9 = arguments, rcx = rip, r11 = rflags. */
    .globl syscall_entry
    .p2align 4
syscall_entry:
    SYSCALL_FRAME
    movq %gs:PCPU_CURRENT, %r11
    testb $1, VCPU_PV_IN_USER(%r11)
    jnz 3f                          /* guest user mode: a system call for the guest kernel */
    cmpq hypercall_count(%rip), %rax
    jae 1f
    incq VCPU_HC_COUNT(%r11,%rax,8)  /* hypercall_count <= HC_COUNT_SLOTS (hypercall.c) */
    movq VCPU_HC_TABLE(%r11), %r11
    call *(%r11,%rax,8)
    .globl hypercall_return
hypercall_return:                   /* rax = the result; the frame's rax slot is stale */
    /* Returning to a non-canonical rip would fault in ring 0 (sysret, and iretq on the
     * upcall path too): refuse it first. rcx keeps the rip for sysret. */
    movq FRAME_RIP(%rsp), %rcx
    movq %rcx, %r11
    sarq $47, %r11
    incq %r11
    cmpq $1, %r11
    ja 2f
    /* An unmasked event pending (upcall_pending == 1, upcall_mask == 0) and a callback
     * to take it? Upcall. (Without a callback the word read is always 0.) */
    movq %gs:PCPU_CURRENT, %r11
    movq VCPU_PV_UPCALL_WORD(%r11), %r11
    cmpw $1, (%r11)
    je 4f
    /* The guest's registers but rax, rcx and r11 (the result, rip, rflags); the
     * callee-saved ones are still in their registers. Each slot is loaded once. */
5:  movq FRAME_R10(%rsp), %r10
    movq FRAME_R9(%rsp), %r9
    movq FRAME_R8(%rsp), %r8
    movq FRAME_RDI(%rsp), %rdi
    movq FRAME_RSI(%rsp), %rsi
    movq FRAME_RDX(%rsp), %rdx
    movq FRAME_RFLAGS(%rsp), %r11
    movq FRAME_RSP(%rsp), %rsp
    swapgs
    sysretq
1:  movq $-HAKO_ENOSYS, %rax
    jmp hypercall_return
2:  movq %rax, FRAME_RAX(%rsp)
    FILL_FRAME 0
    movq %rsp, %rdi
    call hypercall_bad_return       /* does not return */
    ud2
    /* A user-mode syscall of a PV guest (only those have a syscall_frame): bounce it to
     * the kernel's syscall callback here, doing what vtrap_bounce does (ABI.md 13.3): to
     * kernel mode on the kernel table, the trap frame written below kernel_sp through
     * the guest's own mapping (syscall_frame is in guest space, vtrap.c; a fault is
     * fixed up into the full path), then iretq to the callback with every register
     * but rip, rsp and RFLAGS the user's. */
3:  movq VCPU_PV_SYSCALL_FRAME(%r11), %rdx
    testq %rdx, %rdx
    jz 6f
    ENTER_GUEST_MODE %r11, 0, VCPU_PV_KERNEL_L4, %rsi
    movq VCPU_VCPU_INFO(%r11), %rsi
    movzbl VI_UPCALL_MASK(%rsi), %esi
    leal TF_FLAG_USER(,%rsi,TF_FLAG_MASKED), %esi   /* USER, MASKED if masked */
    movq FRAME_RFLAGS(%rsp), %rdi           /* the user's RFLAGS (its r11 too) */
    STAC_IF_SMAP
    .globl pv_syscall_stores, pv_syscall_stores_end, pv_syscall_stores_fault
pv_syscall_stores:
    movq %rax, TF_RAX(%rdx)
    movq %rcx, TF_RCX(%rdx)
    movq %rdi, TF_R11(%rdx)
    movq $TF_VECTOR_SYSCALL, TF_VECTOR(%rdx)
    movq $0, TF_ERROR_CODE(%rdx)
    movq $0, TF_FAULT_ADDR(%rdx)
    movq %rsi, TF_FLAGS(%rdx)
    movq %rcx, TF_RIP(%rdx)
    movq $SEL_GUEST_CS64, TF_CS(%rdx)
    movq %rdi, TF_RFLAGS(%rdx)
    movq FRAME_RSP(%rsp), %rsi
    movq %rsi, TF_RSP(%rdx)
    movq $SEL_GUEST_DS, TF_SS(%rdx)
pv_syscall_stores_end:
    CLAC_IF_SMAP
    movq VCPU_PV_SYSCALL_CALLBACK(%r11), %rsi
    movq %rsi, FRAME_RIP(%rsp)              /* cs and ss are the guest's already */
    movq $TF_RFLAGS_FORCED, FRAME_RFLAGS(%rsp)
    movq %rdx, FRAME_RSP(%rsp)
    movq FRAME_RDX(%rsp), %rdx
    movq FRAME_RSI(%rsp), %rsi
    movq FRAME_RDI(%rsp), %rdi
    movq FRAME_R11(%rsp), %r11
    addq $FRAME_RIP, %rsp
    swapgs
    iretq
pv_syscall_stores_fault:                    /* guest_peek_fixup: a store faulted */
    CLAC_IF_SMAP
    movq %gs:PCPU_CURRENT, %rdi             /* back to user mode, then the full path */
    movl $1, %esi
    call vtrap_set_mode
6:  FILL_FRAME 0
    movq %rsp, %rdi
    call vtrap_user_syscall
    jmp resume_frame
4:  movq %rax, FRAME_RAX(%rsp)      /* the trap frame and the iretq path read it */
    FILL_FRAME 0
    movq %rsp, %rdi
    call vtrap_hypercall_events     /* bounced to the event callback? */
    testl %eax, %eax
    jnz resume_frame
    movq FRAME_RAX(%rsp), %rax      /* no (no callback): the normal way out, the frame */
    movq FRAME_RIP(%rsp), %rcx      /* untouched */
    jmp 5b

/* Hypercalls that need the complete frame (they dump it or resume through it) are
 * entered through these: fill it in, then run the C handler. The frame is found from the
 * stack top, so multicall can call them too (r11 is free: hypercalls clobber it). */
.macro FILL_VCPU_FRAME
    movq %gs:PCPU_STACK_TOP, %r11
    movq %rbx, -FRAME_SIZE+0(%r11)
    movq %rbp, -FRAME_SIZE+8(%r11)
    movq %r12, -FRAME_SIZE+16(%r11)
    movq %r13, -FRAME_SIZE+24(%r11)
    movq %r14, -FRAME_SIZE+32(%r11)
    movq %r15, -FRAME_SIZE+40(%r11)
    movq $VECTOR_SYSCALL, -FRAME_SIZE+FRAME_VECTOR(%r11)
    movq $0, -FRAME_SIZE+FRAME_ERROR(%r11)
.endm
    .globl hc_sched_op_full, hc_iret_full
hc_sched_op_full:
    cmpq $HAKO_SCHED_SHUTDOWN, %rdi  /* only a shutdown (crash dump) needs the frame */
    jne hc_sched_op
    FILL_VCPU_FRAME
    jmp hc_sched_op
hc_iret_full:
    FILL_VCPU_FRAME
    jmp hc_iret

/* iret to user mode, the common case (the return from a system call or an exception
 * taken in user mode), done here; anything else, or anything wrong, goes to hc_iret,
 * which reads the frame again (nothing was changed before it is left). Called from
 * syscall_entry only (iret is no multicall or async entry): the vCPU's frame is at
 * 8(%rsp). The same checks and effects as hc_iret: the frame wholly in guest space and
 * readable, flags exactly HAKO_TF_USER (and maybe HAKO_TF_EVENTS_MASKED), rip in guest
 * space, a user base pointer; no event to deliver once the mask is set from the frame. */
    .globl hc_iret_fast, pv_iret_loads, pv_iret_loads_end, pv_iret_loads_fault
hc_iret_fast:
    movq 8+FRAME_RSP(%rsp), %rsi            /* the guest's frame */
    leaq TF_SIZE-1(%rsi), %rdx
    cmpq %rsi, %rdx
    jb hc_iret_full                         /* wraps */
    movabsq $GUEST_LOWER_END, %rdi
    cmpq %rdi, %rdx
    jb 1f                                   /* wholly in the lower half */
    movabsq $GUEST_UPPER_START, %rdi
    cmpq %rdi, %rsi
    jb hc_iret_full                         /* reaches into the hypervisor's range */
1:  STAC_IF_SMAP
pv_iret_loads:
    movq TF_FLAGS(%rsi), %rdx
    movq TF_RIP(%rsi), %rdi
    movq TF_RFLAGS(%rsi), %r8
    movq TF_RSP(%rsi), %r9
    movq TF_RAX(%rsi), %rax
    movq TF_RCX(%rsi), %rcx
    movq TF_R11(%rsi), %r10
pv_iret_loads_end:
    CLAC_IF_SMAP
    movq %gs:PCPU_CURRENT, %r11
    cmpq $TF_FLAG_USER, %rdx
    je 2f
    cmpq $TF_FLAG_USER|TF_FLAG_MASKED, %rdx
    jne hc_iret_full
2:  movabsq $GUEST_LOWER_END, %rsi          /* guest_addr_ok(rip) */
    cmpq %rsi, %rdi
    jb 3f
    movabsq $GUEST_UPPER_START, %rsi
    cmpq %rsi, %rdi
    jb hc_iret_full
3:  cmpq $0, VCPU_PV_USER_L4(%r11)
    je hc_iret_full
    shrl $1, %edx                           /* the upcall mask the frame asks for */
    jnz 4f
    movq VCPU_PV_UPCALL_WORD(%r11), %rsi    /* unmasking with an event pending and a */
    cmpb $0, (%rsi)                         /* callback to take it: hc_iret delivers it */
    jne hc_iret_full
4:  movq VCPU_VCPU_INFO(%r11), %rsi
    xchgb %dl, VI_UPCALL_MASK(%rsi)         /* a sequentially consistent store */
    ENTER_GUEST_MODE %r11, 1, VCPU_PV_USER_L4, %rsi
    andq $TF_RFLAGS_KEPT, %r8
    orq $TF_RFLAGS_FORCED, %r8
    movq %rdi, 8+FRAME_RIP(%rsp)            /* cs and ss are the guest's already */
    movq %r8, 8+FRAME_RFLAGS(%rsp)
    movq %r9, 8+FRAME_RSP(%rsp)
    movq %r10, %r11
    movq 8+FRAME_RDX(%rsp), %rdx            /* the rest as at the hypercall */
    movq 8+FRAME_RSI(%rsp), %rsi
    movq 8+FRAME_RDI(%rsp), %rdi
    movq 8+FRAME_R8(%rsp), %r8
    movq 8+FRAME_R9(%rsp), %r9
    movq 8+FRAME_R10(%rsp), %r10
    addq $8+FRAME_RIP, %rsp
    swapgs
    iretq
pv_iret_loads_fault:                        /* guest_peek_fixup: a load faulted */
    CLAC_IF_SMAP
    jmp hc_iret_full

/* syscall from 32-bit code: impossible (the GDT has no 32-bit code segment), but should
 * it ever happen, stop the domain instead of running on its stack. */
    .globl cstar_entry
cstar_entry:
    SYSCALL_FRAME
    FILL_FRAME 0
    movq %rsp, %rdi
    call compat_syscall             /* does not return */
    ud2

/* void resume_frame_at(struct cpu_regs *regs): leave through the iretq path. */
    .globl resume_frame_at
resume_frame_at:
    movq %rdi, %rsp
    jmp resume_frame

/* Exception and interrupt stubs: 16 bytes each, exc_stubs + 16 * vector. */
    .p2align 4
    .globl exc_stubs
exc_stubs:
    .set vec, 0
    .rept 256
    .p2align 4
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0                        /* no CPU error code: push a zero */
    .endif
    pushq $vec
    jmp exc_common
    .set vec, vec + 1
    .endr

exc_common:
    testb $3, 24(%rsp)              /* frame: vector, error, rip, cs */
    jz 1f
    swapgs
1:  SAVE_GPRS
    /* The CPU leaves the interrupted context's AC and DF set on exception delivery (a
     * guest may set both in ring 3): start from known RFLAGS (IF stays 0: interrupt
     * gates), so no guest-chosen flag, such as AC's SMAP override, reaches C code. */
    pushq $2
    popfq
    movq %rsp, %rdi
    cmpq $13, FRAME_VECTOR(%rsp)    /* a #GP or #PF from ring 3: the emulator's fast */
    je 4f                           /* paths first */
    cmpq $14, FRAME_VECTOR(%rsp)
    jne 3f
    testb $3, FRAME_CS(%rsp)
    jz 3f
    call emulate_pf_fast
    jmp 5f
4:  testb $3, FRAME_CS(%rsp)
    jz 3f
    call emulate_gp_fast
5:  testb %al, %al
    jnz resume_frame
    movq %rsp, %rdi
3:  call trap_entry
    .globl resume_frame
resume_frame:                       /* rsp = struct cpu_regs to return to */
    RESTORE_GPRS
    addq $16, %rsp
    testb $3, 8(%rsp)
    jz 2f
    swapgs
2:  iretq

/* void context_switch(uint64_t *save_rsp, uint64_t load_rsp) */
    .globl context_switch
context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    POP_CALLEE_SAVED
    ret

/* First return address of a new vCPU's switch frame: enter its guest frame. */
    .globl vcpu_first_entry
vcpu_first_entry:
    jmp resume_frame

/* Burst loops of the batch paths (async.c, multicall.c): the per-entry work only, each
 * field loaded once, handlers called through a 32-slot burst table (hypercall.c). A NULL
 * slot marks a call the loop must leave to the C full path: the loop stops before that
 * entry, having run nothing of it, and returns where it stopped. Both loops run four
 * entries per round; a burst whose length is not a multiple of four enters the round at
 * the position that makes it end exactly at the last entry. The bases are biased so that
 * most displacements fit a byte, which keeps every jrcxz within its reach. */
.if SQE_SIZE != 64 || CQE_SIZE != 16 || SQE_PAD0 != SQE_FLAGS + 4 || MC_PAD0 != MC_FLAGS + 4
.error "the burst loops' strides or the flags/_pad0 pair changed"
.endif

/* long async_burst(const struct hako_async_sqe *sq_end, struct hako_async_cqe *cq_end,
 *                  long i, uint64_t *count, const hypercall_fn *table)
 * Runs submission slots sq_end[i/8] for i = i0, i0+8, ... < 0 (i0 = -8n), posting
 * {user_data, result} into cq_end[i/8]: only submissions with op <= BURST_OP_MAX, flags
 * and padding zero and a non-NULL table slot. Returns the i it stopped at (0: all ran).
 * r12 = sq_end + 128, r13 = cq_end + 32, rbx = i - 8p at position p. */
.macro AS_ONE p
.Las_pos\p:
    movq \p*64-128+SQE_OP(%r12,%rbx,8), %rax
    cmpq $BURST_OP_MAX, %rax
    ja .Las_stop\p
    cmpq $0, \p*64-128+SQE_FLAGS(%r12,%rbx,8)     /* flags, _pad0 */
    jne .Las_stop\p
    movq (%r15,%rax,8), %rcx                      /* table[op] */
    jrcxz .Las_stop\p
    incq (%r14,%rax,8)                            /* hc_count[op] */
    movq \p*64-128+SQE_USER_DATA(%r12,%rbx,8), %rdx /* the completion slot is ours */
    movq %rdx, \p*16-32+CQE_USER_DATA(%r13,%rbx,2) /* until the index is published */
    movq \p*64-128+SQE_ARGS(%r12,%rbx,8), %rdi
    movq \p*64-128+SQE_ARGS+8(%r12,%rbx,8), %rsi
    movq \p*64-128+SQE_ARGS+16(%r12,%rbx,8), %rdx
    call *%rcx
    movq %rax, \p*16-32+CQE_RESULT(%r13,%rbx,2)
.endm
.macro AS_STOP p
.Las_stop\p:
    leaq 8*\p(%rbx), %rax
    jmp .Las_out
.endm
    .globl async_burst
async_burst:
    xorl %eax, %eax
    testq %rdx, %rdx
    jz 9f
    pushq %rbp
    movq %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp                       /* calls on a 16-byte aligned stack */
    leaq 128(%rdi), %r12
    leaq 32(%rsi), %r13
    movq %rcx, %r14
    movq %r8, %r15
    movq %rdx, %rax
    sarq $3, %rax
    andl $3, %eax                       /* j = (-n) mod 4: start at position j */
    leaq (,%rax,8), %rbx
    negq %rbx
    addq %rdx, %rbx                     /* rbx = i0 - 8j */
    cmpl $2, %eax
    je .Las_pos2
    ja .Las_pos3
    testl %eax, %eax
    jnz .Las_pos1
    jmp .Las_pos0
    AS_STOP 0
    AS_STOP 1
    AS_ONE 0
    AS_ONE 1
    AS_ONE 2
    AS_ONE 3
    addq $32, %rbx
    jnz .Las_pos0
    xorl %eax, %eax                     /* all ran */
.Las_out:
    addq $8, %rsp
    POP_CALLEE_SAVED
9:  ret
    AS_STOP 2
    AS_STOP 3

/* struct hako_multicall_entry *mc_burst(struct hako_multicall_entry *e, uint64_t n,
 *                                       uint64_t *count, const hypercall_fn *table)
 * Runs entries e[0..n) while each has an op <= BURST_OP_MAX, flags and padding zero and
 * a non-NULL table slot, calling table[op] and storing each result; returns the first
 * entry it did not run (e + n when all ran). r12 = e + n + MC_BIAS (bytes), rbx = a
 * negative byte offset from it. */
MC_BIAS = 108
.macro MC_ONE p
.Lmc_pos\p:
    movq \p*MC_SIZE-MC_BIAS+MC_OP(%r12,%rbx), %rax
    cmpq $BURST_OP_MAX, %rax
    ja .Lmc_stop\p
    cmpq $0, \p*MC_SIZE-MC_BIAS+MC_FLAGS(%r12,%rbx)  /* flags, _pad0 */
    jne .Lmc_stop\p
    movq (%r15,%rax,8), %rcx                        /* table[op] */
    jrcxz .Lmc_stop\p
    incq (%r14,%rax,8)                              /* hc_count[op] */
    movq \p*MC_SIZE-MC_BIAS+MC_ARGS(%r12,%rbx), %rdi
    movq \p*MC_SIZE-MC_BIAS+MC_ARGS+8(%r12,%rbx), %rsi
    movq \p*MC_SIZE-MC_BIAS+MC_ARGS+16(%r12,%rbx), %rdx
    call *%rcx
    movq %rax, \p*MC_SIZE-MC_BIAS+MC_RESULT(%r12,%rbx)
.endm
.macro MC_STOP p
.Lmc_stop\p:
    leaq \p*MC_SIZE-MC_BIAS(%r12,%rbx), %rax
    jmp .Lmc_out
.endm
    .globl mc_burst
mc_burst:
    movq %rdi, %rax
    testq %rsi, %rsi
    jz 9f
    pushq %rbp
    movq %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r14
    pushq %r15                          /* stack now 16-aligned for the calls */
    movq %rdx, %r14
    movq %rcx, %r15
    imulq $MC_SIZE, %rsi, %r12
    leaq MC_BIAS(%rdi,%r12), %r12       /* end + MC_BIAS */
    movl %esi, %eax
    negl %eax
    andl $3, %eax                       /* j = (-n) mod 4: start at position j */
    addq %rax, %rsi
    imulq $-MC_SIZE, %rsi, %rbx         /* rbx = -MC_SIZE(n + j): position j is e[0] */
    cmpl $2, %eax
    je .Lmc_pos2
    ja .Lmc_pos3
    testl %eax, %eax
    jnz .Lmc_pos1
    jmp .Lmc_pos0
    MC_STOP 0
    MC_STOP 1
    MC_ONE 0
    MC_ONE 1
    MC_ONE 2
    MC_ONE 3
    addq $4*MC_SIZE, %rbx
    jnz .Lmc_pos0
    leaq -MC_BIAS(%r12), %rax           /* all ran */
.Lmc_out:
    popq %r15
    popq %r14
    popq %r12
    popq %rbx
    popq %rbp
9:  ret
    MC_STOP 2
    MC_STOP 3
