/*
 * guest-pv/arch/native/privops.c: the native backend: the kernel owns the machine, in
 * ring 0, with no hypervisor under it. Every operation is the instruction itself (the
 * same ones the trap backend uses, arch/x86/), page tables are written directly
 * (pfn = physical frame), time is the TSC measured against the PIT, the timer is the
 * local APIC's, and the UART's input interrupt comes through the I/O APIC. Device
 * interrupts become events: each one marks a port pending in a shared-info page the
 * backend keeps, which the kernel's event code scans as it scans the hypervisor's.
 */
#include <hako/events.h>
#include <hako/memory.h>

#include "klib.h"
#include "mm.h"
#include "native.h"
#include "privops.h"
#include "trap.h"
#include "x86.h"

#define APIC_EOI        0x0B0
#define APIC_SVR        0x0F0
#define APIC_LVT_TIMER  0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3E0
#define MSR_APIC_BASE   0x1B
#define SPURIOUS_VECTOR 0xFF

#define PIT_HZ          1193182ull
#define CALIBRATE_TICKS 11932u          /* 10 ms of PIT ticks */

#define VECTOR_TIMER    X86_VECTOR_IRQ0
#define VECTOR_UART     (X86_VECTOR_IRQ0 + 1)
#define UART_IRQ        4               /* COM1's ISA interrupt, I/O APIC input 4 */
#define UART_IER        0x3F9
#define UART_MCR        0x3FC

/* The ports the native "event controller" hands out: one per device. */
enum { PORT_TIMER = 1, PORT_CONSOLE = 2 };

extern uint64_t x86_irqs_pending;

static struct hako_shared_info *shared;
static uint64_t kernel_root_pfn;
static uint64_t loaded_root;            /* what CR3 holds */
static uint64_t tsc_hz, apic_hz, tsc_at_boot;
static uint64_t ns_per_tsc_32;          /* ns per TSC tick, times 2^32 */
static uint64_t apic_per_ns_32;         /* APIC timer ticks per ns, times 2^32 */

/* (a * b_32) >> 32: a scale times 2^32 applied to a. */
static uint64_t scale(uint64_t a, uint64_t b_32)
{
    return (uint64_t)(((unsigned __int128)a * b_32) >> 32);
}

static uint64_t wallclock_at_zero_ns;   /* time of day when time_ns() was 0; 0 unknown */
static uint64_t native_time_ns(void);

static uint32_t apic_read(unsigned reg)
{
    return *(volatile uint32_t *)(NATIVE_LAPIC_VA + reg);
}

static void apic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(NATIVE_LAPIC_VA + reg) = v;
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)NATIVE_IOAPIC_VA = reg;
    *(volatile uint32_t *)(NATIVE_IOAPIC_VA + 0x10) = v;
}

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* The PIT channel 0 counter (counting down). */
static uint16_t pit_read(void)
{
    outb(0x43, 0x00);                   /* latch channel 0 */
    uint8_t lo = inb(0x40);
    return (uint16_t)(lo | (inb(0x40) << 8));
}

/* Measure the TSC and the APIC timer (divided by 16) against 10 ms of the PIT. */
static void time_calibrate(void)
{
    apic_write(APIC_TIMER_DIV, 0x3);
    apic_write(APIC_LVT_TIMER, 1u << 16);             /* masked while calibrating */
    apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);
    outb(0x43, 0x30);                                 /* ch0, lo/hi, mode 0 */
    outb(0x40, 0xFF);
    outb(0x40, 0xFF);
    uint16_t p0 = pit_read(), p;
    uint64_t t0 = rdtsc();
    uint32_t a0 = apic_read(APIC_TIMER_CUR);
    unsigned spins = 0;
    do
        p = pit_read();
    while ((uint16_t)(p0 - p) < CALIBRATE_TICKS && ++spins < 50000000u);
    uint64_t ticks = (uint16_t)(p0 - p);
    tsc_hz = (rdtsc() - t0) * PIT_HZ / (ticks ? ticks : 1);
    apic_hz = (uint64_t)(a0 - apic_read(APIC_TIMER_CUR)) * PIT_HZ / (ticks ? ticks : 1);
    if (ticks < CALIBRATE_TICKS || !tsc_hz || !apic_hz) {
        kprintf("native: cannot calibrate the timers against the PIT; assuming 1 GHz\n");
        tsc_hz = apic_hz = 1000000000ull;
    }
    ns_per_tsc_32 = (1000000000ull << 32) / tsc_hz;
    apic_per_ns_32 = (apic_hz << 32) / 1000000000ull;
    tsc_at_boot = rdtsc();
    apic_write(APIC_TIMER_INIT, 0);
    apic_write(APIC_LVT_TIMER, VECTOR_TIMER);          /* one-shot */
}

static void native_init(const struct hako_start_info *si)
{
    shared = (struct hako_shared_info *)si->shared_info_va;
    kernel_root_pfn = si->pt_first_pfn;
    loaded_root = kernel_root_pfn << 12;
    x86_cpu_init(&(struct x86_selectors){ X86_SEL_KERNEL_CS, X86_SEL_KERNEL_SS,
                                          X86_SEL_USER_CS, X86_SEL_USER_SS });
    outb(0x21, 0xFF);                                 /* the 8259s stay masked */
    outb(0xA1, 0xFF);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
    apic_write(APIC_SVR, 0x100 | SPURIOUS_VECTOR);
    time_calibrate();
    uint64_t rtc = native_rtc_seconds(), now = native_time_ns();
    if (rtc && rtc * 1000000000ull > now)
        wallclock_at_zero_ns = rtc * 1000000000ull - now;
}

static uint64_t native_time_ns(void)
{
    return scale(rdtsc() - tsc_at_boot, ns_per_tsc_32);
}

static uint64_t native_wallclock_ns(void)
{
    return wallclock_at_zero_ns;
}

/* One-shot APIC timer at deadline_ns; far deadlines are approached a second at a
 * time (the interrupt then finds nothing due and the kernel asks again). */
static long native_set_timer(uint64_t deadline_ns)
{
    if (!deadline_ns) {
        apic_write(APIC_TIMER_INIT, 0);
        return 0;
    }
    uint64_t now = native_time_ns();
    uint64_t delta = deadline_ns > now ? deadline_ns - now : 1000;
    if (delta > 1000000000ull)
        delta = 1000000000ull;
    uint64_t count = scale(delta, apic_per_ns_32);
    apic_write(APIC_TIMER_INIT, (uint32_t)(count ? count : 1));
    return 0;
}

static long native_platform_version(char *buf, size_t len)
{
    (void)buf, (void)len;
    return -HAKO_ENOSYS;                /* nothing under the kernel */
}

static void native_yield(void)
{
    __asm__ volatile("pause");
}

static void native_irq_disable(void)
{
    __asm__ volatile("cli" ::: "memory");
}

static void native_idle(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* QEMU's isa-debug-exit at port 0xF4 ends the machine with status 2v+1; v uses the
 * statuses scripts/qemu-run.sh reports for the hypervisor (124 reboot, 126 crash). */
static __attribute__((noreturn)) void native_shutdown(unsigned reason, unsigned code)
{
    unsigned v = reason == HAKO_SHUTDOWN_REBOOT ? 124 : reason == HAKO_SHUTDOWN_CRASH ? 126
                                                                                      : code & 0x7F;
    for (;;) {
        outb(0xF4, (uint8_t)v);
        __asm__ volatile("cli; hlt");
    }
}

/* What privops->hw_counts reports natively: the kernel's own CR3 loads and flushes. */
static uint64_t cr3_loads, tlb_flushes;

/* Cached translations pt_write may have left stale until the next pt_commit. */
#define STALE_LOCAL  1u
#define STALE_GLOBAL 2u
#define X86_PTE_G    (1ull << 8)
static unsigned stale;

/* Flush every translation, global ones too (toggle CR4.PGE). */
static void flush_global(void)
{
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~(1ull << 7)) : "memory");
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

/* Page tables hold physical frames, and pfn = physical frame. */
static uint64_t native_pt_read(uint64_t table_pfn, unsigned idx, uint64_t *pfn)
{
    uint64_t e = ((const uint64_t *)(NATIVE_VIRT_BASE + (table_pfn << 12)))[idx];
    if (!(e & HAKO_PTE_P))
        return 0;
    *pfn = (e & HAKO_PTE_ADDR) >> 12;
    return e & ~HAKO_PTE_ADDR;
}

/* The kernel's half of the top level never has U (the kernel's PTE flags carry it for
 * the PV backends, whose kernels run in ring 3), so every kernel mapping is
 * supervisor-only here, whatever its lower levels say. */
static long native_pt_write(uint64_t table_pfn, unsigned idx, uint64_t pfn, uint64_t flags)
{
    if (table_pfn == kernel_root_pfn && idx >= 256)
        flags &= ~HAKO_PTE_U;
    volatile uint64_t *e = (volatile uint64_t *)(NATIVE_VIRT_BASE + (table_pfn << 12)) + idx;
    uint64_t old = *e, val = flags ? pfn << 12 | flags : 0;
    *e = val;
    if ((old & HAKO_PTE_P) && old != val)
        stale |= old & X86_PTE_G ? STALE_GLOBAL : STALE_LOCAL;
    return 0;
}

/* Every store took effect when it was made; a translation one of them changed or
 * removed may still be cached: flush once for the whole window, as the hypervisor
 * does after an mmu_update batch (globals too when a boot-time global entry changed). */
static long native_pt_commit(void)
{
    if (stale) {
        if (stale & STALE_GLOBAL)
            flush_global();
        else
            write_cr3(loaded_root);
        cr3_loads += !(stale & STALE_GLOBAL);
        tlb_flushes++;
        stale = 0;
    }
    return 0;
}

/* Tables are ordinary memory to a native kernel: nothing to do. */
static long native_pt_adopt(uint64_t pfn, unsigned level)
{
    (void)pfn, (void)level;
    return 0;
}

static void native_pt_release(uint64_t pfn, unsigned level)
{
    (void)pfn, (void)level;
}

static long native_map_page(uint64_t va, uint64_t pfn, uint64_t flags)
{
    uint64_t table = kernel_root_pfn;
    for (unsigned level = 4; level > 1; level--) {
        uint64_t f = native_pt_read(table, (va >> (12 + 9 * (level - 1))) & 511, &table);
        if (!(f & HAKO_PTE_P) || (f & HAKO_PTE_PS))
            return -HAKO_EINVAL;
    }
    native_pt_write(table, (va >> 12) & 511, pfn, flags);
    invlpg(va);
    tlb_flushes++;
    return 0;
}

static long native_map_foreign(uint64_t table_pfn, unsigned idx, uint64_t frame, unsigned domid)
{
    (void)table_pfn, (void)idx, (void)frame, (void)domid;
    return -HAKO_ENOSYS;                /* no other domains */
}

static void native_tlb_flush(void)
{
    write_cr3(loaded_root);
    cr3_loads++;
    tlb_flushes++;
}

/* One address space per process: the user root gets the kernel's half of the top
 * level (its tables are shared), and stays loaded in kernel mode too. */
static long native_set_user_context(uint64_t kernel_rsp, uint64_t user_root_pfn)
{
    x86_set_kernel_stack(kernel_rsp);
    uint64_t root = (user_root_pfn ? user_root_pfn : kernel_root_pfn) << 12;
    if (user_root_pfn) {
        uint64_t *u = (uint64_t *)(NATIVE_VIRT_BASE + root);
        const uint64_t *k = (const uint64_t *)(NATIVE_VIRT_BASE + (kernel_root_pfn << 12));
        if (u[511] != k[511])
            memcpy(u + 256, k + 256, 256 * sizeof(*u));
    }
    if (root != loaded_root) {
        write_cr3(root);
        loaded_root = root;
        cr3_loads++;
    }
    return 0;
}

/* The UART's receive interrupt, through the I/O APIC to VECTOR_UART on CPU 0. */
static void uart_irq_enable(void)
{
    ioapic_write(0x10 + 2 * UART_IRQ + 1, 0);
    ioapic_write(0x10 + 2 * UART_IRQ, VECTOR_UART);   /* edge, active high, unmasked */
    outb(UART_MCR, 0x0B);                             /* DTR, RTS, OUT2 (the IRQ line) */
    outb(UART_IER, 0x01);                             /* received data available */
}

static long native_event_channel_op(unsigned cmd, uint64_t arg)
{
    struct hako_evtchn *op = (struct hako_evtchn *)arg;
    switch (cmd) {
    case HAKO_EVTCHNOP_BIND_VIRQ:
        if (op->virq == HAKO_VIRQ_TIMER) {
            op->port = PORT_TIMER;
            return 0;
        }
        if (op->virq == HAKO_VIRQ_CONSOLE) {
            uart_irq_enable();
            op->port = PORT_CONSOLE;
            return 0;
        }
        return -HAKO_EINVAL;
    case HAKO_EVTCHNOP_CLOSE:
        return 0;
    default:
        return -HAKO_ENOSYS;            /* no other domains to signal */
    }
}

/* Mark port pending as the hypervisor would (ABI.md "Event channels"). */
static void mark_pending(unsigned port)
{
    __atomic_fetch_or(&shared->evtchn_pending[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&shared->vcpu_info[0].evtchn_pending_sel, 1ull << (port / 64),
                      __ATOMIC_SEQ_CST);
    __atomic_store_n(&shared->vcpu_info[0].evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
}

static void native_collect_events(void)
{
    uint64_t irqs = __atomic_exchange_n(&x86_irqs_pending, 0, __ATOMIC_SEQ_CST);
    if (irqs & (1u << (VECTOR_TIMER - X86_VECTOR_IRQ0))) {
        apic_write(APIC_EOI, 0);
        mark_pending(PORT_TIMER);
    }
    if (irqs & (1u << (VECTOR_UART - X86_VECTOR_IRQ0))) {
        apic_write(APIC_EOI, 0);
        mark_pending(PORT_CONSOLE);
    }
}

/* The event entry also takes the device vectors. */
static long native_set_event_entry(uint64_t rip)
{
    long rc = x86_set_event_entry(rip);
    x86_set_gate(VECTOR_TIMER, rip != 0);
    x86_set_gate(VECTOR_UART, rip != 0);
    return rc;
}

/* No hypervisor: no hypercalls; exceptions are the ones the kernel's own entry saw. */
static void native_hw_counts(struct privops_hw *out)
{
    *out = (struct privops_hw){ .exceptions = trap_exceptions_taken(), .cr3_loads = cr3_loads,
                                .tlb_flushes = tlb_flushes };
}

const struct privops privops_native = {
    .trap_return = x86_trap_return,
    .name = "native",
    .on_hypervisor = 0,
    .init = native_init,
    .console_write = uart_write,
    .terminal_write = uart_write,
    .console_read = uart_read,
    .platform_version = native_platform_version,
    .yield = native_yield,
    .irq_disable = native_irq_disable,
    .idle = native_idle,
    .time_ns = native_time_ns,
    .wallclock_ns = native_wallclock_ns,
    .set_timer = native_set_timer,
    .shutdown = native_shutdown,
    .pt_read = native_pt_read,
    .pt_write = native_pt_write,
    .pt_commit = native_pt_commit,
    .pt_adopt = native_pt_adopt,
    .pt_release = native_pt_release,
    .map_page = native_map_page,
    .map_foreign = native_map_foreign,
    .tlb_flush = native_tlb_flush,
    .set_trap_table = x86_set_trap_table,
    .set_syscall_entry = x86_set_syscall_entry,
    .set_event_entry = native_set_event_entry,
    .event_channel_op = native_event_channel_op,
    .collect_events = native_collect_events,
    .set_user_context = native_set_user_context,
    .resume = x86_resume,
    .hw_counts = native_hw_counts,
};
