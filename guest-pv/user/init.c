/*
 * guest-pv/user/init.c: the first user program. Runs in ring 3 in its own address space,
 * talks to the kernel only through system calls, and finally tries to read kernel
 * memory, which must fault (the kernel reports it and ends the program).
 */
#include "syscall.h"

/* Issue system call nr with up to three arguments. */
static long sys(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static unsigned long len(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void say(const char *s)
{
    sys(SYS_write, 1, (long)s, (long)len(s));
}

void user_main(void)
{
    const char *hello = "hello from user space\n";
    long n = sys(SYS_write, 1, (long)hello, (long)len(hello));
    long pid = sys(SYS_getpid, 0, 0, 0);
    long bad = sys(SYS_write, 1, (long)0xFFFFFFFF80000000ul, 16);  /* a kernel pointer */
    if (n != (long)len(hello) || pid != 1 || bad != -GUEST_EFAULT) {
        say("user: a system call gave a wrong result\n");
        sys(SYS_exit, 1, 0, 0);
    }
    say("user: system calls ok; now reading kernel memory\n");
    volatile const char *kernel = (const char *)0xFFFFFFFF80000000ul;
    (void)*kernel;                                  /* must fault */
    say("user: read kernel memory!\n");
    sys(SYS_exit, 2, 0, 0);
}
