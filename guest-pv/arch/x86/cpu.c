/*
 * guest-pv/arch/x86/cpu.c: the CPU structures the kernel owns, as a native kernel owns
 * them: the GDT (kernel code and data, the TSS, user data and code), the TSS (rsp0 is
 * the stack for entries from user mode), the IDT, and the syscall MSRs. In trap mode
 * each lgdt, ltr, lidt and wrmsr traps and the hypervisor emulates it.
 */
#include <stdbool.h>

#include <hako/errno.h>

#include "x86.h"

struct __attribute__((packed)) pseudo_desc {
    uint16_t limit;
    uint64_t base;
};
static uint64_t gdt[X86_GDT_ENTRIES] __attribute__((aligned(16)));
static struct __attribute__((packed, aligned(8))) {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2, reserved1, ist[7], reserved2;
    uint16_t reserved3, iomap_base;
} tss;
static struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, attr;
    uint16_t off1;
    uint32_t off2, reserved;
} idt[X86_VECTORS] __attribute__((aligned(16)));
_Static_assert(sizeof(tss) == 104, "a 64-bit TSS is 104 bytes");
_Static_assert(X86_SEL_USER_SS == X86_SEL_USER_BASE + 8 + 3 &&
                   X86_SEL_USER_CS == X86_SEL_USER_BASE + 16 + 3, "sysretq's selector layout");

_Static_assert(__builtin_offsetof(struct x86_selectors, kernel_cs) == X86_SEL_OFF_KERNEL_CS &&
                   __builtin_offsetof(struct x86_selectors, kernel_ss) == X86_SEL_OFF_KERNEL_CS + 8 &&
                   __builtin_offsetof(struct x86_selectors, user_cs) == X86_SEL_OFF_USER_CS &&
                   __builtin_offsetof(struct x86_selectors, user_ss) == X86_SEL_OFF_USER_CS + 8,
               "entry.S reads each CS with its SS after it");

struct x86_selectors x86_sel;
uint64_t x86_handlers[X86_VECTORS + 1];

static void load_idt(void)
{
    struct pseudo_desc d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

void x86_cpu_init(const struct x86_selectors *sel)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    x86_sel = *sel;
    gdt[X86_SEL_KERNEL_CS / 8] = 0x00AF9A000000FFFFull;   /* 64-bit code, DPL 0 */
    gdt[X86_SEL_KERNEL_SS / 8] = 0x00CF92000000FFFFull;   /* data, DPL 0 */
    gdt[X86_SEL_TSS / 8] = limit | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
                           ((base >> 24) & 0xFF) << 56;
    gdt[X86_SEL_TSS / 8 + 1] = base >> 32;
    gdt[X86_SEL_USER_SS / 8] = 0x00CFF2000000FFFFull;     /* data, DPL 3 */
    gdt[X86_SEL_USER_CS / 8] = 0x00AFFA000000FFFFull;     /* 64-bit code, DPL 3 */
    tss.iomap_base = sizeof(tss);
    struct pseudo_desc d = { sizeof(gdt) - 1, (uint64_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(d) : "memory");
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)X86_SEL_TSS) : "memory");
    load_idt();
}

void x86_set_gate(unsigned v, int present)
{
    uint64_t off = (uint64_t)x86_stubs + 16 * v;
    idt[v] = (struct idt_gate){
        .off0 = (uint16_t)off, .sel = X86_SEL_KERNEL_CS, .attr = present ? 0x8E : 0,
        .off1 = (uint16_t)(off >> 16), .off2 = (uint32_t)(off >> 32),
    };
    load_idt();
}

long x86_set_trap_table(const struct hako_trap_info *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (t[i].vector >= HAKO_TRAP_VECTORS)
            return -HAKO_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        x86_handlers[t[i].vector] = t[i].handler;
        x86_set_gate(t[i].vector, t[i].handler != 0);
    }
    return 0;
}

long x86_set_event_entry(uint64_t rip)
{
    x86_handlers[X86_VECTOR_EVENT] = rip;
    x86_set_gate(X86_VECTOR_EVENT, rip != 0);
    return 0;
}

/* LSTAR takes user syscalls to entry.S with interrupts, TF, DF and AC cleared; STAR
 * names the kernel selectors and the user base sysretq uses. */
long x86_set_syscall_entry(uint64_t rip)
{
    x86_handlers[X86_SLOT_SYSCALL] = rip;
    wrmsr(X86_MSR_STAR, (uint64_t)X86_SEL_USER_BASE << 48 | (uint64_t)X86_SEL_KERNEL_CS << 32);
    wrmsr(X86_MSR_SFMASK, X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_DF | X86_RFLAGS_AC);
    wrmsr(X86_MSR_LSTAR, rip ? (uint64_t)x86_syscall_entry : 0);
    return 0;
}

void x86_set_kernel_stack(uint64_t rsp)
{
    tss.rsp0 = rsp;
    x86_kernel_rsp = rsp;
}
