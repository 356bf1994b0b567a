/*
 * guest-pv/kernel/entry.S: where the hypervisor bounces exceptions and user system calls to,
 * plus a minimal setjmp/longjmp for leaving user mode.
 *
 * On entry rsp points at a struct hako_trap_frame and every other register holds the
 * interrupted context's value. We save those below the frame, call
 * guest_trap(regs, frame), restore them, and resume the (possibly edited) frame at rsp
 * through the privops backend's trap_return (privops.h), which restores rax, rcx and
 * r11 from the frame.
 */

    .text
    .globl guest_trap_entry
guest_trap_entry:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi                 /* struct guest_regs * */
    leaq 120(%rsp), %rsi            /* struct hako_trap_frame * */
    call guest_trap
    .globl guest_trap_return
guest_trap_return:                  /* rsp at the saved registers, the frame above them */
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    movq privops(%rip), %rax        /* rax, rcx, r11 come back from the frame */
    jmp *(%rax)                     /* privops->trap_return */

/* int kjmp_save(struct kjmp *j): 0 now, the value given to kjmp_jump later. */
    .globl kjmp_save
kjmp_save:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 48(%rdi)             /* rsp after our return */
    movq (%rsp), %rax
    movq %rax, 56(%rdi)             /* return address */
    xorl %eax, %eax
    ret

/* void kjmp_jump(struct kjmp *j, int value): return again from kjmp_save(j). */
    .globl kjmp_jump
kjmp_jump:
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    movl %esi, %eax
    jmp *56(%rdi)

