/*
 * guest-pv/kernel/main.c: the PV reference guest kernel's start of day.
 *
 * Reads start info, says hello through the console hypercall, checks that the boot
 * environment is what ABI.md promises, then loads the initrd into the in-memory file
 * system and starts init (/bin/sh -l) -- or, given one of the words below, shuts down
 * with a status right after the checks (the hypervisor's boot tests use these).
 * Command-line words for exercising the hypervisor's failure paths:
 *   fault=ud | fault=pf | fault=gp   take that exception before registering handlers
 *                                    (the hypervisor crashes the domain with a dump)
 *   fault=badstack                   take one with an unusable stack, after registering
 *                                    handlers (delivering it fails: the domain crashes)
 *   fault=rostack                    the same with the stack in the (read-only) page of
 *                                    the kernel's top-level table: refused alike
 *   fault=syscall-end                hypercall whose return address is not canonical
 *   shutdown=crash | shutdown=reboot stop with that reason
 *   exit=N                           power off with status N (0..9)
 */
#include <hako/memory.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/events.h>
#include <hako/start_info.h>

#include "blkdev.h"
#include "blkfront.h"
#include "fs.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "proc.h"
#include "trap.h"

void console_init(const struct hako_start_info *si);
void syscall_init(const struct hako_start_info *si);

#define LAZY_BASE  0xFFFFFFFFC0000000ull   /* demand-zero test region */
#define LAZY_PAGES 16

/* dom0's kernel image carries its initrd (initrd_blob.S); a domU gets one as its boot
 * module. */
extern const char initrd_start[] __attribute__((weak)), initrd_end[] __attribute__((weak));

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

/* The hypervisor answers: version, version info, yield. */
static void check_hypervisor_calls(void)
{
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

    if (privops->on_hypervisor)
        check_hypervisor_calls();

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
    trap_expect(13, 3);                        /* a non-canonical address, in any mode */
    __asm__ volatile("movabsq $0x8000000000000000, %%rax; movq (%%rax), %%rax" : : : "rax");
    check(trap_expected_hit(&f) && f.vector == 13 && f.error_code == 0,
          "general protection delivered");
    trap_expect(14, 3);                        /* a read of the hypervisor's range */
    __asm__ volatile("movabsq $0xFFFF800000000000, %%rax; movq (%%rax), %%rax" : : : "rax");
    check(trap_expected_hit(&f) && f.vector == 14 && f.fault_addr == 0xFFFF800000000000ull &&
              (f.error_code & 4) == (privops->on_hypervisor ? 4u : 0u),   /* ring 3 on hako */
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

/* Memory: reference counts, and demand-zero pages. */
static void check_memory(void)
{
    long audit = 0;
    if (privops->on_hypervisor) {
        audit = hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0);
        check(audit == 0, "hypervisor reference counts consistent at boot");
    }

    mm_set_lazy_region(LAZY_BASE, LAZY_BASE + LAZY_PAGES * PAGE_SIZE);
    int lazy_ok = 1;
    for (uint64_t i = 0; i < LAZY_PAGES; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(LAZY_BASE + i * PAGE_SIZE + 8 * i);
        lazy_ok &= *p == 0;              /* first touch faults and maps a zeroed page */
        *p = 0x1234 + i;
        lazy_ok &= *p == 0x1234 + i;
    }
    check(lazy_ok && mm_lazy_faults() == LAZY_PAGES, "demand-zero pages, one fault each");

    if (privops->on_hypervisor) {
        audit = hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0);
        check(audit == 0, "hypervisor reference counts consistent after the lazy region");
    }
}

/* Make a hypercall from the last two bytes of the lower half, with an event pending and
 * unmasked, so its return address (2^47) is not canonical: the hypervisor must stop the
 * domain rather than return there. */
static void syscall_at_end_of_lower_half(const struct hako_start_info *si)
{
    uint64_t pfn = pfn_alloc(), page = 0x00007FFFFFFFF000ull;
    ((uint8_t *)pfn_to_va(pfn))[4094] = 0x0F;          /* syscall */
    ((uint8_t *)pfn_to_va(pfn))[4095] = 0x05;
    if (!pfn || mm_map(mm_kernel_root(), page, pfn, HAKO_PTE_P | HAKO_PTE_U) ||
        mm_flush())
        return;
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    sh->vcpu_info[0].evtchn_upcall_pending = 1;
    sh->vcpu_info[0].evtchn_upcall_mask = 0;
    __asm__ volatile("movl %0, %%eax; xorl %%edi, %%edi; jmp *%1"
                     : : "i"(HAKO_HC_version), "r"(page + 4094) : "rax", "rdi", "memory");
}

/* Load the initrd, start init, and run processes from now on. */
static void __attribute__((noreturn)) start_os(const struct hako_start_info *si)
{
    const void *initrd = (const void *)si->mod_va;
    uint64_t len = si->mod_len;
    if (!initrd && initrd_start) {
        initrd = initrd_start;
        len = (uint64_t)(initrd_end - initrd_start);
    }
    fs_init();
    tty_init();
    long rc = initrd ? fs_load_cpio(initrd, len) : -HOS_ENOENT;
    if (rc < 0)
        kprintf("initrd: %s (%ld)\n", initrd ? "damaged, loaded what came before" : "none", rc);
    if (fs_mkdir(NULL, "/dev", 0755) == 0)
        fs_mknod(NULL, "/dev/console", HOS_S_IFCHR | 0666, FS_DEV_CONSOLE);
    console_init(si);
    blkfront_init(si);
    struct blkdev *disk = blkdev_disk();
    if (disk) {
        fs_mknod(NULL, "/dev/xvda", HOS_S_IFCHR | 0600, FS_DEV_DISK);
        if ((rc = fs_mount_ext2(disk, "/disk")) < 0)
            kprintf("/disk: no ext2 file system mounted (error %ld)\n", -rc);
    }
    syscall_init(si);
    proc_init();
    if ((rc = proc_spawn_init("/bin/sh", "-sh", NULL)) < 0) {
        kprintf("cannot start /bin/sh: error %ld\n", rc);
        privops->shutdown(HAKO_SHUTDOWN_CRASH, 3);
    }
    scheduler();
}

/* Entry from head.S. */
void kernel_main(const struct hako_start_info *si)
{
    int known = privops_select(si->cmdline);
    privops->init(si);
    kprintf("hako PV guest kernel, ABI %u.%u, privileged operations: %s\n",
            HAKO_ABI_MAJOR, HAKO_ABI_MINOR, privops->name);
    kprintf("domain %u%s: %lu pages (%lu MiB), command line \"%s\"\n", si->domid,
            (si->flags & HAKO_SIF_PRIVILEGED) ? " (control domain)" : "", si->nr_pages,
            si->nr_pages >> 8, si->cmdline);
    if (known < 0)
        kprintf("unknown privops= backend on the command line: running paravirtual\n");
    check_boot_state(si);
    maybe_fault(si->cmdline);          /* before trap_init: the hypervisor reports these */
    mm_init(si);
    trap_init(si);
    check_exception_delivery(si);
    check_memory();
    if (cmdline_has(si->cmdline, "fault=badstack"))   /* nowhere to put the trap frame */
        __asm__ volatile("movq $0x1000, %rsp; ud2");
    if (cmdline_has(si->cmdline, "fault=rostack"))    /* a page table under the frame */
        __asm__ volatile("movq %0, %%rsp; ud2"
                         : : "r"((uint64_t)pfn_to_va(mm_kernel_root()) + 4096));
    if (privops->on_hypervisor && cmdline_has(si->cmdline, "fault=syscall-end"))
        syscall_at_end_of_lower_half(si);
    kprintf("boot checks: %d run, %d failed\n", checks_run, checks_failed);
    if (cmdline_has(si->cmdline, "shutdown=crash"))
        privops->shutdown(HAKO_SHUTDOWN_CRASH, 42);
    if (cmdline_has(si->cmdline, "shutdown=reboot"))
        privops->shutdown(HAKO_SHUTDOWN_REBOOT, 0);
    unsigned code = checks_failed ? 1 : 0;
    int stop = 0;
    for (unsigned n = 0; n <= 9; n++) {
        char word[8] = { 'e', 'x', 'i', 't', '=', (char)('0' + n), 0 };
        if (cmdline_has(si->cmdline, word))
            code = n, stop = 1;
    }
    if (stop) {
        kprintf("powering off with status %u\n", code);
        privops->shutdown(HAKO_SHUTDOWN_POWEROFF, code);
    }
    start_os(si);
}
