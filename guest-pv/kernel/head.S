/*
 * guest-pv/kernel/head.S: guest kernel entry and the hako ABI note.
 * The hypervisor enters _start in ring 3 with rdi = start info, rsp = top of the boot
 * stack (ABI.md "Boot protocol").
 */
#include <hako/elfnote.h>
#include <hako/version.h>

/* The minor this kernel declares; tests/xtf/test-abi04 builds it for an older one. */
#ifndef HAKO_NOTE_ABI_MINOR
#define HAKO_NOTE_ABI_MINOR HAKO_ABI_MINOR
#endif

    .section .note.hako, "a"
    .p2align 2
    .long 5                         /* namesz: "hako\0" */
    .long 8                         /* descsz */
    .long HAKO_ELFNOTE_ABI
    .asciz "hako"
    .p2align 2
    .long HAKO_ABI_MAJOR
    .long HAKO_NOTE_ABI_MINOR

    .text
    .globl _start
_start:
    xorl %ebp, %ebp                 /* end of the frame-pointer chain */
    andq $-16, %rsp
    call kernel_main                /* kernel_main(start_info); must not return */
1:  ud2
    jmp 1b
