/*
 * guest-pv/kernel/switch.S: the way a new process first leaves the kernel (its saved context,
 * see proc.c, starts here).
 */
    .text
/* A forked child's first run: rsp at its copy of the parent's saved registers. */
    .globl proc_fork_return
proc_fork_return:
    call proc_forkret
    jmp guest_trap_return
