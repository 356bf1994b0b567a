/*
 * hako public ABI: inline hypercall invocation for GNU C / C++ guests on x86-64.
 * Optional convenience; the convention itself is in hypercall.h and ABI.md.
 */
#ifndef HAKO_HCALL_H
#define HAKO_HCALL_H

#include "compiler.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__ASSEMBLER__)
/* Issue hypercall nr with six arguments; returns rax (>= 0 or -HAKO_E*). */
static inline long hako_hypercall6(unsigned long nr, unsigned long a1, unsigned long a2,
                                   unsigned long a3, unsigned long a4, unsigned long a5,
                                   unsigned long a6)
{
    long ret;
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    register unsigned long r9 __asm__("r9") = a6;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}

/* The same with fewer arguments: only the registers used are loaded (the hypervisor
 * ignores the rest). */
static inline long hako_hypercall1(unsigned long nr, unsigned long a1)
{
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a1) : "rcx", "r11", "memory");
    return ret;
}

static inline long hako_hypercall2(unsigned long nr, unsigned long a1, unsigned long a2)
{
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2)
                         : "rcx", "r11", "memory");
    return ret;
}

static inline long hako_hypercall3(unsigned long nr, unsigned long a1, unsigned long a2,
                                   unsigned long a3)
{
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
                         : "rcx", "r11", "memory");
    return ret;
}

/* The 4th argument travels in r10 (syscall overwrites rcx). */
static inline long hako_hypercall4(unsigned long nr, unsigned long a1, unsigned long a2,
                                   unsigned long a3, unsigned long a4)
{
    long ret;
    register unsigned long r10 __asm__("r10") = a4;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                         : "rcx", "r11", "memory");
    return ret;
}

static inline long hako_hypercall5(unsigned long nr, unsigned long a1, unsigned long a2,
                                   unsigned long a3, unsigned long a4, unsigned long a5)
{
    long ret;
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                         : "rcx", "r11", "memory");
    return ret;
}
#endif

#endif /* HAKO_HCALL_H */
