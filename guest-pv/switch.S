/*
 * guest-pv/switch.S: switching between the kernel contexts of processes, and the way a
 * new process first leaves the kernel.
 */
    .text
/* void ctx_switch(struct kjmp *from, struct kjmp *to): save the callee-saved context in
 * from and continue the one in to (kernel threads of processes). */
    .globl ctx_switch
ctx_switch:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 48(%rdi)
    movq (%rsp), %rax
    movq %rax, 56(%rdi)
    movq %rsi, %rdi
    xorl %esi, %esi
    jmp kjmp_jump

/* A forked child's first run: rsp at its copy of the parent's saved registers. */
    .globl proc_fork_return
proc_fork_return:
    call proc_forkret
    jmp guest_trap_return
