/*
 * guest-pv/user/lib/crt0.S: process entry of hako guest user programs (newlib ABI).
 * The kernel enters _start in ring 3 with rsp at the SysV start-up block:
 *   [rsp] = argc, [rsp+8] = argv[0..argc-1], NULL, envp[...], NULL
 * rsp is 16-byte aligned and every other register is zero. _start sets environ, runs
 * the C library's constructors, calls main(argc, argv, envp) and passes its result to
 * exit(), which runs atexit handlers (and the destructors) and flushes stdio.
 */
    .text
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp                 /* the outermost frame, for debuggers */
    movq (%rsp), %r12               /* argc (r12-r14 survive the calls below) */
    leaq 8(%rsp), %r13              /* argv */
    leaq 16(%rsp,%r12,8), %r14      /* envp = argv + argc + 1 */
    andq $-16, %rsp                 /* already aligned; cheap insurance */
    movq %r14, environ(%rip)

    leaq __libc_fini_array(%rip), %rdi
    call atexit                     /* destructors run at exit() */
    call __libc_init_array          /* constructors (.preinit_array, .init_array) */

    movl %r12d, %edi
    movq %r13, %rsi
    movq %r14, %rdx
    call main
    movl %eax, %edi
    call exit
    ud2                             /* not reached: exit() does not return */
    .size _start, . - _start

/* __libc_init_array and __libc_fini_array call these; there is no .init/.fini code. */
    .globl _init
    .type _init, @function
_init:
    ret
    .size _init, . - _init
    .globl _fini
    .type _fini, @function
_fini:
    ret
    .size _fini, . - _fini

    .section .note.GNU-stack, "", @progbits
