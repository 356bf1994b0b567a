/*
 * hypervisor/cpu.c: GDT with ring-3 guest segments, TSS with IST stacks, IDT, syscall MSRs.
 */
#include "cpu.h"

#include "lib.h"
#include "percpu.h"
#include "x86.h"

struct cpu_features cpu_has;

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "tss size");

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, zero;
};

#define IST_DF  1
#define IST_NMI 2
#define IST_MC  3
#define IST_STACK_SIZE 8192

static uint64_t gdt[8] __attribute__((aligned(16))) = {
    0,
    0x00AF9A000000FFFF, /* 0x08 hypervisor code 64, DPL 0 */
    0x00CF92000000FFFF, /* 0x10 hypervisor data, DPL 0 */
    0,                  /* 0x18 would be 32-bit guest code (sysret layout): left empty,
                           so a guest can never enter compatibility mode */
    0x00CFF2000000FFFF, /* 0x20 guest data, DPL 3 */
    0x00AFFA000000FFFF, /* 0x28 guest code 64, DPL 3 */
    0, 0,               /* 0x30 TSS (16 bytes) */
};
static struct tss tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
static struct percpu cpu0;

extern char exc_stubs[];
extern char syscall_entry[], cstar_entry[];

/* Install IDT gate vec -> its stub with the given DPL and IST index. */
static void set_gate(unsigned vec, unsigned dpl, unsigned ist)
{
    uint64_t addr = (uint64_t)(exc_stubs + 16 * vec);
    idt[vec] = (struct idt_gate){
        .offset_lo = (uint16_t)addr,
        .selector = SEL_HV_CS,
        .ist = (uint8_t)ist,
        .type_attr = (uint8_t)(0x8E | (dpl << 5)), /* present, 64-bit interrupt gate */
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_hi = (uint32_t)(addr >> 32),
    };
}

/* Read which optional features this CPU has. */
static void probe_features(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000001, 0, &a, &b, &c, &d);
    cpu_has.nx = d & (1u << 20);
    cpuid(1, 0, &a, &b, &c, &d);
    cpu_has.pge = d & (1u << 13);
    cpuid(0, 0, &a, &b, &c, &d);
    if (a >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        cpu_has.smep = b & (1u << 7);
        cpu_has.smap = b & (1u << 20);
        cpu_has.umip = c & (1u << 2);
    }
}

void cpu_init(void)
{
    probe_features();

    uint64_t tss_addr = (uint64_t)&tss;
    gdt[6] = (sizeof(tss) - 1) | ((tss_addr & 0xFFFFFF) << 16) | (0x89ull << 40) |
             (((tss_addr >> 24) & 0xFF) << 56);
    gdt[7] = tss_addr >> 32;
    tss.iomap_base = sizeof(tss); /* no I/O bitmap: every port access from ring 3 faults */
    tss.ist[IST_DF - 1] = (uint64_t)&ist_stacks[0][IST_STACK_SIZE];
    tss.ist[IST_NMI - 1] = (uint64_t)&ist_stacks[1][IST_STACK_SIZE];
    tss.ist[IST_MC - 1] = (uint64_t)&ist_stacks[2][IST_STACK_SIZE];

    struct { uint16_t limit; uint64_t base; } __attribute__((packed))
        gdtr = { sizeof(gdt) - 1, (uint64_t)gdt }, idtr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    __asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
                     : : "i"(SEL_HV_CS) : "rax", "memory");
    __asm__ volatile("movw %w0, %%ds; movw %w0, %%es; movw %w0, %%ss" : : "r"(SEL_HV_DS));
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
    /* LDTR keeps its reset state (base 0) until loaded: a guest's LDT selector would make
     * the CPU read descriptors from guest memory at linear address 0. */
    load_null_ldt();

    for (unsigned v = 0; v < 256; v++)
        set_gate(v, 0, 0);
    set_gate(3, 3, 0);       /* int3 from the guest is a breakpoint, not a #GP */
    set_gate(4, 3, 0);       /* into */
    set_gate(2, 0, IST_NMI);
    set_gate(8, 0, IST_DF);
    set_gate(18, 0, IST_MC);
    __asm__ volatile("lidt %0" : : "m"(idtr));

    /* Per-CPU area: GS base while in the hypervisor; swapgs exchanges with the guest's. */
    cpu0.self = &cpu0;
    wrmsr(MSR_GS_BASE, (uint64_t)&cpu0);
    wrmsr(MSR_KERNEL_GS_BASE, 0);

    /* syscall: hypervisor CS = 0x08 (SS 0x10); sysret base 0x18 -> CS 0x2B, SS 0x23. */
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE | (cpu_has.nx ? EFER_NXE : 0));
    wrmsr(MSR_STAR, ((uint64_t)(SEL_GUEST_CS32 & ~3) << 48) | ((uint64_t)SEL_HV_CS << 32));
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_CSTAR, (uint64_t)cstar_entry);   /* unreachable (no 32-bit code segment) */
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);

    /* FPU/SSE usable by guests; the hypervisor itself is built without SSE. */
    write_cr0((read_cr0() | CR0_MP | CR0_NE | CR0_WP) & ~(CR0_EM | CR0_TS));
    /* CR4 written whole, not modified: no bit the loader left is kept (FSGSBASE would
     * let guests set their own segment bases). SMEP and SMAP only add depth; nothing
     * relies on them. */
    uint64_t cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpu_has.smep)
        cr4 |= CR4_SMEP;     /* never execute guest pages in ring 0 */
    if (cpu_has.smap)
        cr4 |= CR4_SMAP;     /* user pages only through the direct map (and guest_peek_insn) */
    if (cpu_has.umip)
        cr4 |= CR4_UMIP;     /* sgdt, sidt, sldt, str, smsw fault in ring 3 */
    write_cr4(cr4);
    __asm__ volatile("fninit");
    /* No hardware breakpoints, whatever the loader left: a data breakpoint on a guest's
     * `mov ss` would otherwise deliver #DB in ring 0 after its next `syscall`. */
    __asm__ volatile("movq %0, %%dr7" : : "r"(0x400ul));

    /* Mask both legacy PICs; the hypervisor polls until it drives its own timer. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);

    cpuid_fault_probe();     /* the IDT and per-CPU area are ready for its #GP */
}

void cpu_set_kernel_stack(uint64_t top)
{
    tss.rsp[0] = top;
    this_cpu()->stack_top = top;
}
