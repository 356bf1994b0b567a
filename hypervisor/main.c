/*
 * hypervisor/main.c: start of day. Find memory, take over the CPU, build dom0, run it.
 *
 * Boot command line: hypervisor options, then "--", then dom0's kernel command line.
 * Hypervisor options: dom0_mem=<size> (default 32M); hv_selftest=fault takes an exception
 * in the hypervisor after dom0 is built, to exercise the panic path.
 */
#include <hako/start_info.h>
#include <hako/version.h>

#include "boot_info.h"
#include "console.h"
#include "cpu.h"
#include "devices.h"
#include "domain.h"
#include "domain_build.h"
#include "frame.h"
#include "guest_access.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "paging.h"
#include "panic.h"
#include "sched.h"
#include "time.h"

#ifndef HAKO_HV_VERSION
#define HAKO_HV_VERSION "unknown"
#endif

#define DOM0_MEM_DEFAULT (32ull << 20)

extern char hv_image_start[], hv_image_end[];

static struct boot_info boot;
uint64_t hv_free_frames_before_dom0;

/* Ranges no allocation may touch until dom0 is built: low 1 MiB, image, modules, boot
 * info, and the frame table (memory_init reserves each once). */
static struct boot_range reserved[2 + BOOT_MAX_MODS + ARRAY_SIZE(boot.info_pages) + 1];
static unsigned nr_reserved;

static void reserve(uint64_t start, uint64_t end)
{
    if (end > start)
        reserved[nr_reserved++] = (struct boot_range){ ALIGN_DOWN(start, PAGE_SIZE),
                                                       ALIGN_UP(end, PAGE_SIZE) };
}

/* The first reserved range overlapping [start, end), or NULL. */
static const struct boot_range *overlap(uint64_t start, uint64_t end)
{
    const struct boot_range *best = NULL;
    for (unsigned i = 0; i < nr_reserved; i++)
        if (reserved[i].start < end && start < reserved[i].end &&
            (!best || reserved[i].start < best->start))
            best = &reserved[i];
    return best;
}

/* Free RAM [start, end) to the frame allocator, minus every reserved range. */
static void free_ram(uint64_t start, uint64_t end)
{
    while (start < end) {
        const struct boot_range *r = overlap(start, end);
        uint64_t stop = r ? MAX(r->start, start) : end;
        frame_add_free_range(maddr_to_mfn(start), (stop - start) >> PAGE_SHIFT);
        start = r ? MAX(r->end, stop) : end;
    }
}

/* Find size bytes of page-aligned RAM above 1 MiB that overlap nothing reserved. */
static uint64_t find_boot_area(uint64_t size)
{
    for (unsigned i = 0; i < boot.nr_ram; i++) {
        uint64_t start = MAX(boot.ram[i].start, 1ull << 20);
        while (start + size <= boot.ram[i].end) {
            const struct boot_range *r = overlap(start, start + size);
            if (!r)
                return start;
            start = r->end;
        }
    }
    panic("no room for the frame table (%lu bytes)", size);
}

/* Set up the frame table and hand all unreserved RAM to the allocator. */
static void memory_init(void)
{
    uint64_t total = 0;
    reserve(0, 1ull << 20);
    reserve(virt_to_phys(hv_image_start), virt_to_phys(hv_image_end));
    for (unsigned i = 0; i < boot.nr_mods; i++)
        reserve(boot.mod[i].start, boot.mod[i].end);
    for (unsigned i = 0; i < ARRAY_SIZE(boot.info_pages); i++)
        reserve(boot.info_pages[i].start, boot.info_pages[i].end);

    /* The frame table, followed by the page-type audit's two counters per frame. */
    uint64_t nr_frames = boot.ram_end >> PAGE_SHIFT;
    uint64_t table_size = ALIGN_UP(nr_frames * (sizeof(struct frame_info) + 8), PAGE_SIZE);
    uint64_t table_pa = find_boot_area(table_size);
    reserve(table_pa, table_pa + table_size);
    frame_init(phys_to_virt(table_pa), nr_frames);
    pagetype_init(phys_to_virt(table_pa + nr_frames * sizeof(struct frame_info)), cpu_has.nx);
    for (unsigned i = 0; i < boot.nr_ram; i++) {
        free_ram(boot.ram[i].start, boot.ram[i].end);
        total += boot.ram[i].end - boot.ram[i].start;
    }
    printk("memory: %lu MiB RAM in %u ranges, %lu frames free\n", total >> 20, boot.nr_ram,
           frame_free_count());
    for (unsigned i = 0; i < boot.nr_ram; i++)
        printk("  ram %016lx-%016lx\n", boot.ram[i].start, boot.ram[i].end);
}

/* The value of option name= in the hypervisor part of the command line, or NULL. */
static const char *hv_option(const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *c = boot.cmdline;
    while (*c) {
        while (*c == ' ')
            c++;
        const char *word = c;
        while (*c && *c != ' ')
            c++;
        if (c - word == 2 && word[0] == '-' && word[1] == '-')
            return NULL;                       /* the rest belongs to dom0 */
        if ((size_t)(c - word) > nlen && strncmp(word, name, nlen) == 0 && word[nlen] == '=') {
            *len = (size_t)(c - word) - nlen - 1;
            return word + nlen + 1;
        }
    }
    return NULL;
}

/* dom0's command line: whatever follows " -- " (or a leading "-- "). */
static const char *dom0_cmdline(void)
{
    const char *c = boot.cmdline;
    if (strncmp(c, "--", 2) == 0 && (c[2] == ' ' || c[2] == '\0'))
        return c[2] ? c + 3 : c + 2;
    const char *sep = strstr(c, " -- ");
    if (sep)
        return sep + 4;
    size_t n = strlen(c);
    return n >= 3 && strcmp(c + n - 3, " --") == 0 ? c + n : "";
}

/* Build dom0 from the first boot module. */
static void build_dom0(void)
{
    if (boot.nr_mods == 0)
        panic("no boot module: pass the dom0 kernel with -initrd");
    uint64_t mem = DOM0_MEM_DEFAULT;
    size_t len;
    const char *opt = hv_option("dom0_mem", &len);
    if (opt && (!parse_size(opt, len, &mem) || mem < PAGE_SIZE))
        panic("bad dom0_mem option (want a size such as 64M)");

    hv_free_frames_before_dom0 = frame_free_count();
    int err;
    struct domain *d = domain_create(0, "dom0", true, guest_type_for_cmdline(dom0_cmdline()), &err);
    if (!d)
        panic("cannot create dom0 (%d)", err);
    struct domain_build_params p = {
        .image = phys_to_virt(boot.mod[0].start),
        .image_len = boot.mod[0].end - boot.mod[0].start,
        .nr_pages = mem >> PAGE_SHIFT,
        .cmdline = dom0_cmdline(),
        .si_flags = HAKO_SIF_PRIVILEGED | HAKO_SIF_INITDOMAIN,
    };
    const char *why = "unknown";
    int rc = domain_build(d, &p, &why);
    if (rc) {
        printk("dom0 kernel refused: %s (error %d)\n", why, rc);
        domain_destroy(d);
        panic("cannot build dom0");
    }
    printk("dom0: %lu MiB, %s, entry %016lx, command line \"%s\"\n", mem >> 20, d->type->name,
           vcpu_regs(&d->vcpu[0])->rip, p.cmdline);
    sched_add(&d->vcpu[0]);
}

/* C entry from boot.S, on the boot stack, with the PVH start info's physical address. */
void hv_main(uint64_t start_info_pa)
{
    console_init();
    printk("hako hypervisor %s (ABI %u.%u)\n", HAKO_HV_VERSION, HAKO_ABI_MAJOR,
           HAKO_ABI_MINOR);
    pvh_parse(start_info_pa, &boot);
    printk("command line: \"%s\"\n", boot.cmdline);
    cpu_init();
    printk("cpu: nx %d smep %d smap %d umip %d cpuid-faulting %d\n", cpu_has.nx, cpu_has.smep,
           cpu_has.smap, cpu_has.umip, cpu_has.cpuid_faulting);
    memory_init();
    devices_init(&boot);
    for (unsigned i = 0; i < boot.nr_mods; i++)
        printk("module %u: %016lx-%016lx (%lu bytes)\n", i, boot.mod[i].start, boot.mod[i].end,
               boot.mod[i].end - boot.mod[i].start);
    paging_init(boot.ram_end);
    uint8_t peeked[16];             /* guest_peek_insn's fault fixup works, every boot */
    if (guest_peek_insn(_gva(HAKO_LOWER_HALF_END - PAGE_SIZE), peeked) != -HAKO_EFAULT)
        panic("guest_peek_insn read an address nothing maps");
    m2p_init(frame_count());
    time_init();
    console_enable_irq();           /* input by interrupt from now on (the timer polls too) */
    build_dom0();
    size_t len;
    const char *selftest = hv_option("hv_selftest", &len);
    if (selftest && len == 5 && strncmp(selftest, "fault", 5) == 0) {
        printk("selftest: reading a non-canonical address in the hypervisor\n");
        (void)*(volatile uint64_t *)0x8000000000000000ull;
    }
    sched_run();
}
