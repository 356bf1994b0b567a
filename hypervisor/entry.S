/*
 * hypervisor/entry.S: every way into and out of the hypervisor.
 *   syscall_entry   hypercall from a guest (syscall); returns with sysret
 *   exc_stub_N      exceptions and interrupts (IDT); return with iret
 *   context_switch  switch hypervisor stacks between vCPUs / the idle context
 * All of them build a struct cpu_regs (x86.h) on the vCPU's hypervisor stack.
 */
#include <hako/errno.h>
#include <hako/hypercall.h>

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

/* Frame slots the sysret path reloads one by one (struct cpu_regs, x86.h; the scratch
 * slots are in SAVE_SCRATCH's order below rax). */
#define FRAME_OFF_R10    (FRAME_RAX - 7 * 8)
#define FRAME_OFF_R9     (FRAME_RAX - 6 * 8)
#define FRAME_OFF_R8     (FRAME_RAX - 5 * 8)
#define FRAME_OFF_RDI    (FRAME_RAX - 4 * 8)
#define FRAME_OFF_RSI    (FRAME_RAX - 3 * 8)
#define FRAME_OFF_RDX    (FRAME_RAX - 2 * 8)
#define FRAME_OFF_RFLAGS (FRAME_CS + 8)
#define FRAME_OFF_RSP    (FRAME_CS + 16)

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

    .text
/* Hypercall: rax = number, rdi rsi rdx r10 r8 r9 = arguments, rcx = rip, r11 = rflags. */
    .globl syscall_entry
    .p2align 4
syscall_entry:
    SYSCALL_FRAME
    movq %gs:PCPU_CURRENT, %r11
    testb $1, VCPU_IN_USER(%r11)
    jnz 3f                          /* guest user mode: a system call for the guest kernel */
    cmpq hypercall_count(%rip), %rax
    jae 1f
    incq VCPU_HC_COUNT(%r11,%rax,8)  /* hypercall_count <= HC_COUNT_SLOTS (hypercall.c) */
    leaq hypercall_table(%rip), %r11
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
    movq VCPU_UPCALL_WORD(%r11), %r11
    cmpw $1, (%r11)
    je 4f
    /* The guest's registers but rax, rcx and r11 (the result, rip, rflags); the
     * callee-saved ones are still in their registers. Each slot is loaded once. */
5:  movq FRAME_OFF_R10(%rsp), %r10
    movq FRAME_OFF_R9(%rsp), %r9
    movq FRAME_OFF_R8(%rsp), %r8
    movq FRAME_OFF_RDI(%rsp), %rdi
    movq FRAME_OFF_RSI(%rsp), %rsi
    movq FRAME_OFF_RDX(%rsp), %rdx
    movq FRAME_OFF_RFLAGS(%rsp), %r11
    movq FRAME_OFF_RSP(%rsp), %rsp
    swapgs
    sysretq
1:  movq $-HAKO_ENOSYS, %rax
    jmp hypercall_return
2:  movq %rax, FRAME_RAX(%rsp)
    FILL_FRAME 0
    movq %rsp, %rdi
    call hypercall_bad_return       /* does not return */
    ud2
3:  FILL_FRAME 0
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
    call trap_entry
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
 * field loaded once, handlers called through a 32-slot table. Each stops before the
 * first entry that needs the full path and returns where it stopped.
 *
 * long async_burst(const struct hako_async_sqe *sq_end, struct hako_async_cqe *cq_end,
 *                  long i, uint64_t *count, const hypercall_fn *table)
 * Runs submission slots sq_end[i/8] for i = i0, i0+8, ... < 0 (i0 = -8n), posting
 * {user_data, result} into cq_end[i/8]: only submissions with op < 32 and flags and
 * padding zero. Returns the i it stopped at (0: all ran). */
    .globl async_burst
async_burst:
    pushq %rbp
    movq %rsp, %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp                   /* calls on a 16-byte aligned stack */
    movq %rdi, %r12
    movq %rsi, %r13
    movq %rdx, %rbx
    movq %rcx, %r14
    movq %r8, %r15
    testq %rbx, %rbx
    jz .Lasync_stop
1:  movq (%r12,%rbx,8), %rax        /* op */
    cmpq $31, %rax
    ja .Lasync_stop
    cmpq $0, 56(%r12,%rbx,8)        /* flags, _pad0 */
    jne .Lasync_stop
    movq 48(%r12,%rbx,8), %rdx      /* user_data: the completion slot is ours until */
    movq %rdx, (%r13,%rbx,2)        /* the index is published */
    incq (%r14,%rax,8)              /* hc_count[op] */
    movq 8(%r12,%rbx,8), %rdi
    movq 16(%r12,%rbx,8), %rsi
    movq 24(%r12,%rbx,8), %rdx
    call *(%r15,%rax,8)
    movq %rax, 8(%r13,%rbx,2)       /* result */
    addq $8, %rbx
    jnz 1b
.Lasync_stop:
    movq %rbx, %rax
    addq $8, %rsp
    POP_CALLEE_SAVED
    ret

/* The table slot of every op async_burst must leave to the full path (it reads more than
 * three arguments). Only ever called from async_burst's call site (never from C): it
 * undoes the count, drops its return address and leaves async_burst before the entry
 * (the user_data it stored is in a completion slot not yet published). */
    .globl async_full_op
async_full_op:
    decq (%r14,%rax,8)                  /* rax = op: not run after all */
    popq %rcx
    jmp .Lasync_stop

/* struct hako_multicall_entry *mc_burst(struct hako_multicall_entry *e, uint64_t n,
 *                                       uint64_t *count, const hypercall_fn *table)
 * Runs entries e[0..n) while each has an op below 32 and flags and padding zero, calling
 * table[op] and storing each result; returns the first entry it did not run (e + n when
 * all ran). A table slot holding mc_slow_op marks an op the loop must not run: calling
 * it stops the loop before that entry (see there). Four entries per round: r12 = the
 * end, rbx = a negative offset from it; a burst whose length is not a multiple of four
 * enters the round at the position that makes it end exactly at e + n. */
.macro MC_ONE p
.Lmc_pos\p:
    movq \p*72(%r12,%rbx), %rax         /* op */
    cmpq $31, %rax
    ja .Lmc_stop\p
    cmpq $0, \p*72+64(%r12,%rbx)        /* flags, _pad0 */
    jne .Lmc_stop\p
    incq (%r14,%rax,8)                  /* hc_count[op] */
    movq \p*72+8(%r12,%rbx), %rdi
    movq \p*72+16(%r12,%rbx), %rsi
    movq \p*72+24(%r12,%rbx), %rdx
    call *(%r15,%rax,8)
.Lmc_ret\p:
    movq %rax, \p*72+56(%r12,%rbx)      /* result */
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
    leaq (%rsi,%rsi,8), %r12
    leaq (%rdi,%r12,8), %r12            /* end = e + 72n */
    movl %esi, %eax
    negl %eax
    andl $3, %eax                       /* j = (-n) mod 4: start at position j */
    addq %rax, %rsi
    imulq $-72, %rsi, %rbx              /* rbx = -72(n + j): position j is e[0] */
    cmpl $2, %eax
    je .Lmc_pos2
    ja .Lmc_pos3
    testl %eax, %eax
    jnz .Lmc_pos1
    MC_ONE 0
    MC_ONE 1
    MC_ONE 2
    MC_ONE 3
    addq $4*72, %rbx
    jnz .Lmc_pos0
    movq %r12, %rax                     /* all ran */
.Lmc_out:
    popq %r15
    popq %r14
    popq %r12
    popq %rbx
    popq %rbp
9:  ret
.Lmc_stop0:
    leaq 0*72(%r12,%rbx), %rax
    jmp .Lmc_out
.Lmc_stop1:
    leaq 1*72(%r12,%rbx), %rax
    jmp .Lmc_out
.Lmc_stop2:
    leaq 2*72(%r12,%rbx), %rax
    jmp .Lmc_out
.Lmc_stop3:
    leaq 3*72(%r12,%rbx), %rax
    jmp .Lmc_out

/* The table slot of every op mc_burst must leave to the full path. It is only ever
 * called from mc_burst's call sites (never from C): it undoes the count, drops its
 * return address and leaves mc_burst before the entry, found from the call site. */
    .globl mc_slow_op
mc_slow_op:
    decq (%r14,%rax,8)                  /* rax = op: not run after all */
    popq %rcx
    leaq .Lmc_ret1(%rip), %rdx
    cmpq %rdx, %rcx
    je .Lmc_stop1
    leaq .Lmc_ret2(%rip), %rdx
    cmpq %rdx, %rcx
    je .Lmc_stop2
    leaq .Lmc_ret3(%rip), %rdx
    cmpq %rdx, %rcx
    je .Lmc_stop3
    jmp .Lmc_stop0
