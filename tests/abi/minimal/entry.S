/*
 * tests/abi/minimal/entry.S: the assembler a hako guest cannot do without, written from
 * ABI.md alone: the ABI note (3), the entry point (4.3), the trap-entry stub (13.3), the
 * switch into user mode and back (13.4), and the user program itself.
 */
#include <hako/elfnote.h>
#include <hako/hypercall.h>
#include <hako/version.h>

    .section .note.hako, "a"
    .p2align 2
    .long 5, 8, HAKO_ELFNOTE_ABI        /* namesz, descsz, type */
    .asciz "hako"
    .p2align 2
    .long HAKO_ABI_MAJOR, HAKO_ABI_MINOR

    .text
/* Entry (ABI.md 4.3): rdi = start info, rsp = top of the boot stack, 16-aligned. */
    .globl _start
_start:
    call kmain                  /* void kmain(const struct hako_start_info *si): no return */
    ud2

/* The trap-entry stub of ABI.md 13.3: every vector, syscall, event and failsafe. */
    .globl trap_entry
trap_entry:                     /* rsp = struct hako_trap_frame *, 16-byte aligned */
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r8
    pushq %r9
    pushq %r10
    leaq 48(%rsp), %rdi
    call trap_handler           /* void trap_handler(struct hako_trap_frame *f) */
    popq %r10
    popq %r9
    popq %r8
    popq %rdx
    popq %rsi
    popq %rdi
    movl $HAKO_HC_iret, %eax
    syscall
    movl $HAKO_HC_sched_op, %eax    /* iret refused and no failsafe: give up */
    movl $HAKO_SCHED_SHUTDOWN, %edi
    movl $HAKO_SHUTDOWN_CRASH, %esi
    movl $255, %edx
    syscall

/* long run_user(const struct hako_trap_frame *f): enter user mode as *f says; returns
 * the value the program exits with (trap_handler resumes user_exit in kernel mode with
 * it in rax and rsp = user_saved_rsp), or the iret's error. */
    .globl run_user, user_exit
run_user:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, user_saved_rsp(%rip)
    movq %rdi, %rsp
    movl $HAKO_HC_iret, %eax
    syscall                     /* returns only if the frame was refused */
    movq user_saved_rsp(%rip), %rsp
user_exit:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* The user program: one page, mapped read-only and executable at its own address in
 * the user table. Syscall 7 asks the kernel for a number; syscall 1000 + n exits with n. */
    .section .user, "ax"
    .globl user_code
user_code:
    movl $7, %eax
    syscall                     /* rax = 42 from the kernel */
    addl $1000, %eax
    syscall                     /* exit(42): does not come back */
    ud2
