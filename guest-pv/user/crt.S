/* guest-pv/user/crt.S: user program entry; rsp = top of its stack. */
    .text
    .globl _start
_start:
    andq $-16, %rsp
    call user_main
    xorl %edi, %edi
    xorl %eax, %eax                 /* SYS_exit(0) */
    syscall
    ud2
