/*
 * hypervisor/x86.h: x86-64 architecture definitions and tiny instruction wrappers.
 */
#ifndef HV_X86_H
#define HV_X86_H

/* GDT layout (see cpu.c). Guest selectors must match hako/arch-x86_64.h. */
#define SEL_HV_CS      0x08
#define SEL_HV_DS      0x10
#define SEL_GUEST_CS32 0x1B
#define SEL_GUEST_DS   0x23
#define SEL_GUEST_CS64 0x2B
#define SEL_TSS        0x30

#define VECTOR_SYSCALL 0x100   /* frame.vector of a hypercall entry */

#define MSR_EFER           0xC0000080
#define MSR_STAR           0xC0000081
#define MSR_LSTAR          0xC0000082
#define MSR_CSTAR          0xC0000083
#define MSR_SFMASK         0xC0000084
#define MSR_FS_BASE        0xC0000100
#define MSR_GS_BASE        0xC0000101
#define MSR_KERNEL_GS_BASE 0xC0000102

#define EFER_SCE (1 << 0)
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)


#ifndef __ASSEMBLER__
#include <stdint.h>

/* Register frame on a hypervisor stack, lowest address first: entry.S pushes it in this
 * order and takes the offsets from asm-offsets.c. The callee-saved registers come first
 * so the hypercall fast path can skip them (C code preserves them); paths that need them
 * in the frame store them (entry.S FILL_FRAME). */
struct cpu_regs {
    uint64_t rbx, rbp, r12, r13, r14, r15;          /* callee-saved */
    uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;   /* as pushed by the CPU */
};

#define CR0_MP (1ul << 1)
#define CR0_EM (1ul << 2)
#define CR0_TS (1ul << 3)
#define CR0_NE (1ul << 5)
#define CR0_WP (1ul << 16)

#define CR4_PAE        (1ul << 5)
#define CR4_PGE        (1ul << 7)
#define CR4_OSFXSR     (1ul << 9)
#define CR4_OSXMMEXCPT (1ul << 10)
#define CR4_UMIP       (1ul << 11)
#define CR4_SMEP       (1ul << 20)
#define CR4_SMAP       (1ul << 21)

#define RFLAGS_TF (1ul << 8)
#define RFLAGS_IF (1ul << 9)
#define RFLAGS_DF (1ul << 10)
#define RFLAGS_NT (1ul << 14)
#define RFLAGS_AC (1ul << 18)

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

#define DEFINE_CR(n)                                                      \
    static inline uint64_t read_cr##n(void)                               \
    {                                                                     \
        uint64_t v;                                                       \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                 \
        return v;                                                         \
    }                                                                     \
    static inline void write_cr##n(uint64_t v)                            \
    {                                                                     \
        __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");        \
    }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* The data segment selectors a guest can load itself (ds, es, fs, gs): they are part of
 * a vCPU's state, kept while it is switched out. */
struct guest_selectors {
    uint16_t ds, es, fs, gs;
};

static inline void selectors_save(struct guest_selectors *s)
{
    __asm__ volatile("movw %%ds, %0; movw %%es, %1; movw %%fs, %2; movw %%gs, %3"
                     : "=m"(s->ds), "=m"(s->es), "=m"(s->fs), "=m"(s->gs));
}

/* Load saved selectors (values the CPU accepted from the guest, so they load again).
 * GS is loaded between two swapgs: loading a selector sets the GS base, and the one in
 * use here is the per-CPU area's; the guest's base is 0 (ABI.md 2). Interrupts are off. */
static inline void selectors_load(const struct guest_selectors *s)
{
    __asm__ volatile("movw %0, %%ds; movw %1, %%es; movw %2, %%fs; swapgs; movw %3, %%gs; swapgs"
                     : : "m"(s->ds), "m"(s->es), "m"(s->fs), "m"(s->gs) : "memory");
}

/* No LDT: LDTR null, so every selector with TI=1 faults (#GP) wherever it is used. */
static inline void load_null_ldt(void)
{
    __asm__ volatile("lldt %w0" : : "r"(0) : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif /* __ASSEMBLER__ */
#endif /* HV_X86_H */
