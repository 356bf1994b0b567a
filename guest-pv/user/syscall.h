/*
 * guest-pv/user/syscall.h: system-call numbers of the hako guest OS (between its user
 * programs and its kernel; not part of the hypervisor ABI). rax = number, arguments in
 * rdi, rsi, rdx, result in rax (negative errno on failure).
 */
#ifndef GUEST_SYSCALL_H
#define GUEST_SYSCALL_H

#define SYS_exit    0   /* exit(status) */
#define SYS_write   1   /* write(fd, buf, len) -> len; fd 1 and 2 go to the console */
#define SYS_getpid  2   /* getpid() */

#define GUEST_EFAULT 14
#define GUEST_EBADF  9
#define GUEST_ENOSYS 38

#endif /* GUEST_SYSCALL_H */
