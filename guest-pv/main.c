/*
 * guest-pv/main.c: the PV reference guest kernel's start of day.
 *
 * Reads start info, says hello through the console hypercall, checks that the boot
 * environment is what ABI.md promises, and shuts down with a status.
 * Command-line words for exercising the hypervisor's failure paths:
 *   fault=ud | fault=pf | fault=gp   take that exception before registering handlers
 *                                    (the hypervisor crashes the domain with a dump)
 *   fault=badstack                   take one with an unusable stack, after registering
 *                                    handlers (delivering it fails: the domain crashes)
 *   fault=syscall-end                hypercall whose return address is not canonical
 *   shutdown=crash | shutdown=reboot stop with that reason
 *   exit=N                           power off with status N (0..9)
 */
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/events.h>
#include <hako/start_info.h>

#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "proc.h"
#include "trap.h"

#define LAZY_BASE  0xFFFFFFFFC0000000ull   /* demand-zero test region */
#define LAZY_PAGES 16

extern const char user_init_start[], user_init_end[];

static int checks_run, checks_failed;

/* Record one boot-environment check. */
static void check(int ok, const char *what)
{
    checks_run++;
    if (!ok) {
        checks_failed++;
        kprintf("check FAILED: %s\n", what);
    }
}

/* Take the exception named on the command line, if any. */
static void maybe_fault(const char *cmdline)
{
    if (cmdline_has(cmdline, "fault=ud"))
        __asm__ volatile("ud2");
    if (cmdline_has(cmdline, "fault=pf"))
        (void)*(volatile uint64_t *)0xFFFF800000000000ull;   /* the hypervisor's range */
    if (cmdline_has(cmdline, "fault=gp"))
        __asm__ volatile("cli");                             /* privileged in ring 3 */
}

/* Check what ABI.md promises about the boot environment. */
static void check_boot_state(const struct hako_start_info *si)
{
    uint64_t rsp;
    __asm__ volatile("movq %%rsp, %0" : "=r"(rsp));
    check(si->magic == HAKO_START_INFO_MAGIC, "start info magic");
    check(si->abi_major == HAKO_ABI_MAJOR, "start info ABI major");
    check(si->cmdline_len == strlen(si->cmdline), "command line length");
    check(si->first_free_pfn <= si->nr_mapped_pages && si->nr_mapped_pages <= si->nr_pages,
          "layout fits the mapped range");
    check(rsp > si->stack_va && rsp <= si->stack_va + si->stack_size, "running on boot stack");
    check(si->pt_base_va == si->virt_base + (si->pt_first_pfn << 12), "page table location");

    long v = hako_hypercall3(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0);
    check(v == HAKO_ABI_VERSION, "version hypercall");
    struct hako_version_info info;
    memset(&info, 0xAA, sizeof(info));
    long rc = hako_hypercall3(HAKO_HC_version, HAKO_VERSION_INFO, (unsigned long)&info, 0);
    check(rc == 0 && info.abi_major == HAKO_ABI_MAJOR && info.abi_minor == HAKO_ABI_MINOR &&
              info.nr_hypercalls >= 3 && memchr_nul(info.hv_version, sizeof(info.hv_version)) &&
              info._reserved[0] == 0,
          "version info");
    check(hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0) == 0, "yield");

    /* The p2m names a distinct machine frame for every pfn (sampled). */
    const uint64_t *p2m = (const uint64_t *)si->p2m_va;
    int p2m_ok = 1;
    for (uint64_t pfn = 1; pfn < si->nr_pages; pfn += 97)
        p2m_ok &= p2m[pfn] != p2m[pfn - 1] && p2m[pfn] != 0;
    check(p2m_ok, "p2m entries");

    /* Every free mapped page is present, writable and zeroed. */
    int mem_ok = 1;
    for (uint64_t pfn = si->first_free_pfn; pfn < si->nr_mapped_pages; pfn++) {
        volatile uint64_t *p = (volatile uint64_t *)(si->virt_base + (pfn << 12));
        mem_ok &= p[0] == 0 && p[511] == 0;
        p[0] = pfn;
        mem_ok &= p[0] == pfn;
    }
    check(mem_ok, "free memory is mapped, writable and zeroed");
}

/* Exceptions are delivered to our handlers with the right frame, and resume. */
static void check_exception_delivery(const struct hako_start_info *si)
{
    struct hako_trap_frame f;
    uint64_t rip;
    trap_expect(3, 0);                         /* int3 is a trap: rip is already past it */
    __asm__ volatile("leaq 1f(%%rip), %0; int3; 1:" : "=r"(rip));
    check(trap_expected_hit(&f) && f.vector == 3 && f.rip == rip && !(f.flags & HAKO_TF_USER),
          "breakpoint delivered to the kernel");
    trap_expect(6, 2);                         /* ud2 is a fault: resume 2 bytes on */
    __asm__ volatile("leaq 1f(%%rip), %0; 1: ud2" : "=r"(rip));
    check(trap_expected_hit(&f) && f.vector == 6 && f.rip == rip, "invalid opcode delivered");
    trap_expect(13, 1);                        /* cli is privileged in ring 3 */
    __asm__ volatile("cli");
    check(trap_expected_hit(&f) && f.vector == 13 && f.error_code == 0,
          "general protection delivered");
    trap_expect(14, 3);                        /* a read of the hypervisor's range */
    __asm__ volatile("movabsq $0xFFFF800000000000, %%rax; movq (%%rax), %%rax" : : : "rax");
    check(trap_expected_hit(&f) && f.vector == 14 && f.fault_addr == 0xFFFF800000000000ull &&
              (f.error_code & 4),
          "page fault delivered with its address");
    /* Compatibility mode must be out of reach: selector 0x1B (what sysret's layout would
     * make 32-bit code) is empty, so a far jump to it faults instead of switching. */
    static struct { uint64_t offset; uint16_t sel; } far = { 0, 0x1B };   /* m16:64 */
    trap_expect_at(13, &far.offset);
    __asm__ volatile("leaq 1f(%%rip), %%rax; movq %%rax, (%0); rex64 ljmp *(%0); 1:"
                     : : "r"(&far) : "rax", "memory");
    check(trap_expected_hit(&f) && f.vector == 13 && (f.error_code & ~7ull) == 0x18,
          "no way into 32-bit code: far jump to selector 0x1B faults");
    (void)si;
}

/* Memory and traps: demand-zero pages, then the first user program. */
static void check_memory_and_user_mode(void)
{
    long audit = hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0);
    check(audit == 0, "hypervisor reference counts consistent at boot");

    mm_set_lazy_region(LAZY_BASE, LAZY_BASE + LAZY_PAGES * PAGE_SIZE);
    int lazy_ok = 1;
    for (uint64_t i = 0; i < LAZY_PAGES; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(LAZY_BASE + i * PAGE_SIZE + 8 * i);
        lazy_ok &= *p == 0;              /* first touch faults and maps a zeroed page */
        *p = 0x1234 + i;
        lazy_ok &= *p == 0x1234 + i;
    }
    check(lazy_ok && mm_lazy_faults() == LAZY_PAGES, "demand-zero pages, one fault each");

    uint64_t free_before = pfn_free_count(), fault_addr = 0;
    long status = proc_run(user_init_start, (uint64_t)(user_init_end - user_init_start),
                           &fault_addr);
    kprintf("user program ended with status %lx (fault address %lx)\n", status, fault_addr);
    check(status == PROC_EXIT_FAULT + 14 && fault_addr == 0xFFFFFFFF80000000ull,
          "user program ran, made system calls, and could not read kernel memory");
    check(pfn_free_count() == free_before, "user program's memory returned");
    audit = hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0);
    check(audit == 0, "hypervisor reference counts consistent after the user program");
}

/* Make a hypercall from the last two bytes of the lower half, with an event pending and
 * unmasked, so its return address (2^47) is not canonical: the hypervisor must stop the
 * domain rather than return there. */
static void syscall_at_end_of_lower_half(const struct hako_start_info *si)
{
    uint64_t pfn = pfn_alloc(), page = 0x00007FFFFFFFF000ull;
    ((uint8_t *)pfn_to_va(pfn))[4094] = 0x0F;          /* syscall */
    ((uint8_t *)pfn_to_va(pfn))[4095] = 0x05;
    if (!pfn || mm_map(mm_kernel_l4(), page, pfn_to_mfn(pfn), HAKO_PTE_P | HAKO_PTE_U) ||
        mm_flush())
        return;
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    sh->vcpu_info[0].evtchn_upcall_pending = 1;
    sh->vcpu_info[0].evtchn_upcall_mask = 0;
    __asm__ volatile("movl %0, %%eax; xorl %%edi, %%edi; jmp *%1"
                     : : "i"(HAKO_HC_version), "r"(page + 4094) : "rax", "rdi", "memory");
}

/* Entry from head.S. */
void kernel_main(const struct hako_start_info *si)
{
    kprintf("hako PV guest kernel, ABI %u.%u, privileged operations: %s\n",
            HAKO_ABI_MAJOR, HAKO_ABI_MINOR, privops->name);
    kprintf("domain %u%s: %lu pages (%lu MiB), command line \"%s\"\n", si->domid,
            (si->flags & HAKO_SIF_PRIVILEGED) ? " (control domain)" : "", si->nr_pages,
            si->nr_pages >> 8, si->cmdline);
    check_boot_state(si);
    maybe_fault(si->cmdline);          /* before trap_init: the hypervisor reports these */
    mm_init(si);
    trap_init();
    check_exception_delivery(si);
    check_memory_and_user_mode();
    if (cmdline_has(si->cmdline, "fault=badstack"))   /* nowhere to put the trap frame */
        __asm__ volatile("movq $0x1000, %rsp; ud2");
    if (cmdline_has(si->cmdline, "fault=syscall-end"))
        syscall_at_end_of_lower_half(si);
    kprintf("boot checks: %d run, %d failed\n", checks_run, checks_failed);
    if (cmdline_has(si->cmdline, "shutdown=crash"))
        privops->shutdown(HAKO_SHUTDOWN_CRASH, 42);
    if (cmdline_has(si->cmdline, "shutdown=reboot"))
        privops->shutdown(HAKO_SHUTDOWN_REBOOT, 0);
    unsigned code = checks_failed ? 1 : 0;
    for (unsigned n = 0; n <= 9; n++) {
        char word[8] = { 'e', 'x', 'i', 't', '=', (char)('0' + n), 0 };
        if (cmdline_has(si->cmdline, word))
            code = n;
    }
    kprintf("powering off with status %u\n", code);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, code);
}
