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
#include "x86.h"

static struct hako_vcpu_info *vcpu0;
static uint64_t kernel_root_pfn;        /* the kernel's top-level table */
static uint64_t user_root_maddr;        /* what HAKO_MSR_USER_ROOT holds */

static void trap_init(const struct hako_start_info *si)
{
    vcpu0 = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    physmap_init(si);
    hv_platform_init(si);
    kernel_root_pfn = (si->pt_base_va - si->virt_base) >> 12;
    x86_cpu_init(&(struct x86_selectors){ HAKO_TRAP_KERNEL_CS, HAKO_TRAP_KERNEL_SS,
                                          HAKO_TRAP_USER_CS, HAKO_TRAP_USER_SS });
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

/* The kernel stack goes in the TSS (a plain store) and the syscall entry's copy; the
 * user root in the synthetic MSR, only when it changes. */
static long trap_set_user_context(uint64_t kernel_rsp, uint64_t user_root_pfn)
{
    uint64_t root = user_root_pfn ? pv_mfn(user_root_pfn) << 12 : 0;
    x86_set_kernel_stack(kernel_rsp);
    if (root != user_root_maddr) {
        wrmsr(HAKO_MSR_USER_ROOT, root);
        user_root_maddr = root;
    }
    return 0;
}

const struct privops privops_trap = {
    .trap_return = x86_trap_return,
    .name = "trap",
    .on_hypervisor = 1,
    .init = trap_init,
    .console_write = uart_write,
    .terminal_write = uart_write,
    .console_read = uart_read,
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
    .set_trap_table = x86_set_trap_table,
    .set_syscall_entry = x86_set_syscall_entry,
    .event_channel_op = hv_event_channel_op,
    .set_event_entry = x86_set_event_entry,
    .set_user_context = trap_set_user_context,
    .resume = x86_resume,
    .hw_counts = hv_hw_counts,
};
