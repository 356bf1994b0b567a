/*
 * guest-pv/arch/trap/privops.c: the trap-and-emulate backend of the privileged-operations
 * table. Every operation is what a native kernel does: an instruction (cli, sti; hlt,
 * mov to cr3, invlpg, wrmsr, lgdt/lidt/ltr, in/out, iretq/sysretq) or a plain store into
 * a page table. In a trap-mode domain each faults in ring 3 and the hypervisor emulates
 * it (ABI.md "Trap-and-emulate mode"). What has no native form stays paravirtual:
 * system time is the PV clock (as kvmclock is for KVM guests), shutdown and yield are
 * sched_op, foreign maps are mmu_update. Page tables hold machine frames (no shadow
 * tables), so pfns are translated as the pv backend does (physmap.h).
 */
#include <stdbool.h>

#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/start_info.h>
#include <hako/trapmode.h>
#include <hako/version.h>

#include "klib.h"
#include "mm.h"
#include "hvplatform.h"
#include "physmap.h"
#include "privops.h"

#define RFLAGS_TF 0x100ull
#define RFLAGS_IF 0x200ull
#define RFLAGS_DF 0x400ull
#define RFLAGS_AC 0x40000ull

#define UART_DATA 0
#define UART_LSR  5
#define LSR_DR    0x01u
#define LSR_THRE  0x20u
#define UART_FIFO 16            /* bytes the 16550 takes per "transmitter empty" */

#define HANDLERS 34             /* 0..31 exceptions, 32 events, 33 syscalls */
#define SYSCALL_SLOT 33

/* Where entry_trap.S jumps once a frame is built (the kernel's handlers). */
uint64_t trap_handlers[HANDLERS];
extern uint64_t trap_kernel_rsp;
extern char trap_stubs[], trap_syscall_entry[];
void trap_trap_return(void);
long trap_resume(struct hako_trap_frame *frame);

static struct hako_vcpu_info *vcpu0;
static uint64_t kernel_root_pfn;        /* the kernel's top-level table */
static uint64_t user_root_maddr;        /* what HAKO_MSR_USER_ROOT holds */

/* The CPU structures the kernel owns, as a native one does: GDT (kernel code and data,
 * the TSS), TSS (rsp0 is the stack for entries from user mode), IDT. */
struct __attribute__((packed)) pseudo_desc {
    uint16_t limit;
    uint64_t base;
};
static uint64_t gdt[5] __attribute__((aligned(16)));
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
} idt[33] __attribute__((aligned(16)));
_Static_assert(sizeof(tss) == 104, "a 64-bit TSS is 104 bytes");

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

static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void load_idt(void)
{
    struct pseudo_desc d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

/* The GDT and TSS, loaded with lgdt and ltr; an IDT with no gate yet. */
static void cpu_tables_init(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[1] = 0x00AF9A000000FFFFull;     /* 0x08: 64-bit kernel code */
    gdt[2] = 0x00CF92000000FFFFull;     /* 0x10: kernel data */
    gdt[3] = limit | (base & 0xFFFFFF) << 16 | 0x89ull << 40 | ((base >> 24) & 0xFF) << 56;
    gdt[4] = base >> 32;                /* 0x18: the TSS */
    tss.iomap_base = sizeof(tss);
    struct pseudo_desc d = { sizeof(gdt) - 1, (uint64_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(d) : "memory");
    __asm__ volatile("ltr %w0" : : "r"(0x18) : "memory");
    load_idt();
}

static void trap_init(const struct hako_start_info *si)
{
    vcpu0 = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    physmap_init(si);
    hv_platform_init(si);
    kernel_root_pfn = (si->pt_base_va - si->virt_base) >> 12;
    cpu_tables_init();
}

/* A plain store into the table (mapped read-only): it faults and is emulated. */
static long trap_pt_write(uint64_t table_pfn, unsigned idx, uint64_t pfn, uint64_t flags)
{
    ((volatile uint64_t *)pfn_va(table_pfn))[idx] = pv_pte(pfn, flags);
    return 0;
}

static long trap_pt_commit(void)
{
    return 0;                   /* every store took effect when it was made */
}

/* The kernel-table entry that maps va (4 KiB), NULL when a level is missing. */
static volatile uint64_t *kernel_pte(uint64_t va)
{
    uint64_t pfn = kernel_root_pfn;
    for (unsigned level = 4; level > 1; level--) {
        uint64_t next;
        uint64_t flags = pv_pt_read(pfn, (va >> (12 + 9 * (level - 1))) & 511, &next);
        if (!(flags & HAKO_PTE_P) || (flags & HAKO_PTE_PS))
            return 0;
        pfn = next;
    }
    return (volatile uint64_t *)pfn_va(pfn) + ((va >> 12) & 511);
}

static long trap_map_page(uint64_t va, uint64_t pfn, uint64_t flags)
{
    volatile uint64_t *e = kernel_pte(va);
    if (!e)
        return -HAKO_EINVAL;
    *e = pv_pte(pfn, flags);
    invlpg(va);
    return 0;
}

/* A table frame has no writable mapping (ABI.md 12): its linear alias goes read-only,
 * marked as a table alias so stores through it are emulated whether or not the frame
 * is in use as a table yet. The hypervisor types it when it is linked or loaded. */
static long trap_pt_adopt(uint64_t pfn, unsigned level)
{
    (void)level;
    return trap_map_page((uint64_t)pfn_va(pfn), pfn, PTE_KERNEL_RO | HAKO_TRAP_PTE_TABLE);
}

static void trap_pt_release(uint64_t pfn, unsigned level)
{
    (void)level;
    if (trap_map_page((uint64_t)pfn_va(pfn), pfn, PTE_KERNEL_RW))
        kprintf("trap: cannot remap pfn %lu writable\n", (unsigned long)pfn);
}

/* mov to cr3 with the table already loaded: a flush. */
static void trap_tlb_flush(void)
{
    write_cr3(pv_mfn(kernel_root_pfn) << 12);
}

/* The UART, as a native driver drives it: wait for the transmitter once per FIFO. */
static void trap_console_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (i % UART_FIFO == 0)
            while (!(inb(HAKO_TRAP_UART_BASE + UART_LSR) & LSR_THRE))
                ;
        outb(HAKO_TRAP_UART_BASE + UART_DATA, (uint8_t)buf[i]);
    }
}

static long trap_console_read(char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && (inb(HAKO_TRAP_UART_BASE + UART_LSR) & LSR_DR))
        buf[n++] = (char)inb(HAKO_TRAP_UART_BASE + UART_DATA);
    return (long)n;
}

static void trap_irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}

/* sti; hlt is one step (the interrupt shadow); the event is taken, then mask again. */
static void trap_idle(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* The TSC-deadline MSR: deadline_ns turned into a TSC value with the PV clock's
 * scale, rounded up so the timer never fires early. */
static long trap_set_timer(uint64_t deadline_ns)
{
    uint64_t tsc = 0;
    if (deadline_ns) {
        const volatile struct hako_vcpu_time_info *ti = &vcpu0->time;
        uint64_t base = ti->system_time, ts = ti->tsc_timestamp;
        uint32_t mul = ti->tsc_to_system_mul;
        int8_t shift = ti->tsc_shift;
        uint64_t ns = deadline_ns > base ? deadline_ns - base : 0;
        if (!mul)
            mul = 1;
        /* ns * 2^32 / mul in 64-bit pieces (no 128-bit division here). */
        uint64_t d = (ns / mul) << 32 | ((ns % mul) << 32) / mul;
        d = shift >= 0 ? d >> shift : d << -shift;
        tsc = ts + d + 1;
    }
    wrmsr(HAKO_MSR_TSC_DEADLINE, tsc);
    return 0;
}

/* Point IDT vector v at its stub, present as an interrupt gate (or remove it). */
static void set_gate(unsigned v, bool present)
{
    uint64_t off = (uint64_t)trap_stubs + 16 * v;
    idt[v] = (struct idt_gate){
        .off0 = (uint16_t)off, .sel = HAKO_TRAP_KERNEL_CS, .attr = present ? 0x8E : 0,
        .off1 = (uint16_t)(off >> 16), .off2 = (uint32_t)(off >> 32),
    };
}

static long trap_set_trap_table(const struct hako_trap_info *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (t[i].vector >= HAKO_TRAP_VECTORS)
            return -HAKO_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        trap_handlers[t[i].vector] = t[i].handler;
        set_gate(t[i].vector, t[i].handler != 0);
    }
    load_idt();
    return 0;
}

static long trap_set_event_entry(uint64_t rip)
{
    trap_handlers[HAKO_TRAP_EVENT_VECTOR] = rip;
    set_gate(HAKO_TRAP_EVENT_VECTOR, rip != 0);
    load_idt();
    return 0;
}

/* LSTAR takes user syscalls to entry_trap.S with events, TF, DF and AC cleared. */
static long trap_set_syscall_entry(uint64_t rip)
{
    trap_handlers[SYSCALL_SLOT] = rip;
    wrmsr(HAKO_MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC);
    wrmsr(HAKO_MSR_LSTAR, rip ? (uint64_t)trap_syscall_entry : 0);
    return 0;
}

/* The kernel stack goes in the TSS (a plain store) and the syscall entry's copy; the
 * user root in the synthetic MSR, only when it changes. */
static long trap_set_user_context(uint64_t kernel_rsp, uint64_t user_root_pfn)
{
    uint64_t root = user_root_pfn ? pv_mfn(user_root_pfn) << 12 : 0;
    tss.rsp0 = kernel_rsp;
    trap_kernel_rsp = kernel_rsp;
    if (root != user_root_maddr) {
        wrmsr(HAKO_MSR_USER_ROOT, root);
        user_root_maddr = root;
    }
    return 0;
}

const struct privops privops_trap = {
    .trap_return = trap_trap_return,
    .name = "trap",
    .init = trap_init,
    .console_write = trap_console_write,
    .terminal_write = trap_console_write,
    .console_read = trap_console_read,
    .platform_version = hv_platform_version,
    .yield = hv_yield,
    .irq_disable = trap_irq_disable,
    .idle = trap_idle,
    .time_ns = hv_time_ns,
    .wallclock_ns = hv_wallclock_ns,
    .set_timer = trap_set_timer,
    .shutdown = hv_shutdown,
    .pt_read = pv_pt_read,
    .pt_write = trap_pt_write,
    .pt_commit = trap_pt_commit,
    .pt_adopt = trap_pt_adopt,
    .pt_release = trap_pt_release,
    .map_page = trap_map_page,
    .map_foreign = pv_map_foreign,
    .tlb_flush = trap_tlb_flush,
    .set_trap_table = trap_set_trap_table,
    .set_syscall_entry = trap_set_syscall_entry,
    .set_event_entry = trap_set_event_entry,
    .set_user_context = trap_set_user_context,
    .resume = trap_resume,
};
