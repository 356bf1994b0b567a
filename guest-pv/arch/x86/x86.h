/*
 * guest-pv/arch/x86/x86.h: what a kernel that owns an x86-64 CPU the native way needs,
 * shared by the trap backend (where each privileged step traps and is emulated) and
 * the native one (where it simply runs): the CPU's own tables (cpu.c), the exception,
 * interrupt and syscall entry points (entry.S), the UART (uart.c), and the instructions.
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include <hako/traps.h>
#endif

#define X86_RFLAGS_TF 0x100ull
#define X86_RFLAGS_IF 0x200ull
#define X86_RFLAGS_DF 0x400ull
#define X86_RFLAGS_AC 0x40000ull

#define X86_MSR_STAR   0xC0000081u
#define X86_MSR_LSTAR  0xC0000082u
#define X86_MSR_SFMASK 0xC0000084u

/* The kernel's own GDT (cpu.c): kernel code and data, the TSS, and user data and code
 * in the order sysretq needs (STAR's user base X86_SEL_USER_BASE: SS = base + 8,
 * CS = base + 16). */
#define X86_SEL_KERNEL_CS 0x08u
#define X86_SEL_KERNEL_SS 0x10u
#define X86_SEL_TSS       0x18u
#define X86_SEL_USER_BASE 0x38u
#define X86_SEL_USER_SS   0x43u
#define X86_SEL_USER_CS   0x4Bu
#define X86_GDT_ENTRIES   10u

/* IDT vectors with an entry: 0..31 exceptions, X86_VECTOR_EVENT (the kernel's event
 * entry), and X86_VECTOR_IRQ0.. the native backend's device interrupts. */
#define X86_VECTOR_EVENT 32u
#define X86_VECTOR_IRQ0  33u
#define X86_VECTORS      36u
#define X86_SLOT_SYSCALL X86_VECTORS     /* x86_handlers[]: the syscall entry */

/* Offsets in struct x86_selectors, for entry.S. */
#define X86_SEL_OFF_KERNEL_CS 0
#define X86_SEL_OFF_USER_CS   16

#ifndef __ASSEMBLER__
/* The selectors the entry code puts in frames and gives to iretq/sysretq: the real
 * ones natively, the ones the hypervisor defines in trap mode (entry.S reads them). */
struct x86_selectors {
    uint64_t kernel_cs, kernel_ss, user_cs, user_ss;
};
extern struct x86_selectors x86_sel;

/* Where entry.S jumps once a frame is built: the kernel's handler for each vector,
 * then the syscall entry; a device vector's may be a backend's own. */
extern uint64_t x86_handlers[X86_VECTORS + 1];
/* The kernel stack for entries from user mode (syscalls; the TSS has its own copy). */
extern uint64_t x86_kernel_rsp;
extern char x86_stubs[], x86_syscall_entry[];

/* privops->trap_return and ->resume (entry.S). */
void x86_trap_return(void);
long x86_resume(struct hako_trap_frame *frame);

/* cpu.c: load the GDT, TSS and an IDT with no gate yet, using selectors sel. */
void x86_cpu_init(const struct x86_selectors *sel);
/* privops entries (privops.h says what each does). */
long x86_set_trap_table(const struct hako_trap_info *t, unsigned n);
long x86_set_event_entry(uint64_t rip);
long x86_set_syscall_entry(uint64_t rip);
/* Gate vector v to x86_stubs (or remove it) and load the IDT. */
void x86_set_gate(unsigned v, int present);
/* The stack entries from user mode start on (TSS rsp0 and the syscall entry's copy). */
void x86_set_kernel_stack(uint64_t rsp);

/* uart.c: the 16550 at COM1, polled as a native driver polls it. */
void uart_write(const char *buf, size_t len);
long uart_read(char *buf, size_t len);

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

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

#endif /* !__ASSEMBLER__ */
#endif /* GUEST_X86_H */
