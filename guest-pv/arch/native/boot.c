/*
 * guest-pv/arch/native/boot.c: from QEMU's PVH start info to kernel_main, with no
 * hypervisor. The machine's memory becomes the kernel's pfns one to one (pfn = physical
 * frame, an identity p2m); the linear map (NATIVE_VIRT_BASE + physical address) is
 * built here with 4 KiB pages, global and supervisor-only, text executable and the rest
 * not; the start info the kernel reads is filled in as the hypervisor would fill it.
 */
#include <hako/memory.h>
#include <hako/version.h>

#include "klib.h"
#include "native.h"
#include "privops.h"
#include "x86.h"

#define PVH_MAGIC 0x336ec578u
#define E820_RAM  1
#define PTE_P     HAKO_PTE_P
#define PTE_W     HAKO_PTE_W
#define PTE_PCD   (1ull << 4)
#define PTE_G     (1ull << 8)
#define PTE_NX    HAKO_PTE_NX

struct pvh_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct pvh_module {
    uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

extern char native_image_start[], native_text_end[], kernel_end[];
extern char native_boot_stack[], native_boot_stack_top[];
void kernel_main(const struct hako_start_info *si) __attribute__((noreturn));

struct hako_start_info native_si;
static uint64_t next_pa;                 /* boot allocations: zeroed pages from here */

static void *pa_va(uint64_t pa)
{
    return (void *)(NATIVE_VIRT_BASE + pa);
}

static uint64_t va_pa(const void *va)
{
    return (uint64_t)va - NATIVE_VIRT_BASE;
}

/* n zeroed pages at next_pa (still inside the early tables' first GiB). */
static uint64_t boot_alloc(uint64_t n)
{
    uint64_t pa = next_pa;
    memset(pa_va(pa), 0, n * 4096);
    next_pa += n * 4096;
    return pa;
}

/* The end of the RAM range that holds the image, capped to what the linear map covers. */
static uint64_t ram_top(const struct pvh_start_info *pvh)
{
    const struct pvh_memmap_entry *m = pa_va(pvh->memmap_paddr);
    uint64_t image = va_pa(native_image_start);
    for (uint32_t i = 0; i < pvh->memmap_entries; i++)
        if (m[i].type == E820_RAM && m[i].addr <= image && image < m[i].addr + m[i].size)
            return (m[i].addr + m[i].size < NATIVE_MAX_RAM ? m[i].addr + m[i].size
                                                           : NATIVE_MAX_RAM) & ~4095ull;
    return 0;
}

/* The entry for va at `level` in the tree under l4 (physical), its tables allocated as
 * the walk needs them. */
static uint64_t *boot_entry(uint64_t l4, uint64_t va, unsigned level)
{
    uint64_t table = l4;
    for (unsigned l = 4;; l--) {
        uint64_t *e = (uint64_t *)pa_va(table) + ((va >> (12 + 9 * (l - 1))) & 511);
        if (l == level)
            return e;
        if (!(*e & PTE_P))
            *e = boot_alloc(1) | PTE_P | PTE_W;
        table = *e & HAKO_PTE_ADDR;
    }
}

void native_boot(uint32_t pvh_pa) __attribute__((noreturn));
void native_boot(uint32_t pvh_pa)
{
    struct pvh_start_info pvh;
    memcpy(&pvh, pa_va(pvh_pa), sizeof(pvh));
    uint64_t top = pvh.magic == PVH_MAGIC && pvh.memmap_entries ? ram_top(&pvh) : 0;
    /* A boot module (an initrd) sits in RAM: memory ends below it. */
    const struct pvh_module *mod = pvh.nr_modules ? pa_va(pvh.modlist_paddr) : 0;
    if (mod && mod->paddr < top)
        top = mod->paddr & ~4095ull;
    if (top == 0) {
        uart_write("native: no usable memory map\n", 29);
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    struct hako_start_info *si = &native_si;
    si->magic = HAKO_START_INFO_MAGIC;
    si->abi_major = HAKO_ABI_MAJOR;
    si->abi_minor = HAKO_ABI_MINOR;
    si->flags = HAKO_SIF_PRIVILEGED | HAKO_SIF_INITDOMAIN;
    si->nr_pages = si->nr_mapped_pages = top >> 12;
    si->virt_base = NATIVE_VIRT_BASE;
    if (pvh.cmdline_paddr) {
        const char *c = pa_va(pvh.cmdline_paddr);
        size_t n = 0;
        while (n < HAKO_CMDLINE_MAX - 1 && c[n])
            n++;
        memcpy(si->cmdline, c, n);
        si->cmdline_len = (uint32_t)n;
    }

    /* The page tables first (the kernel finds them at pt_first_pfn), then the p2m and
     * the page the native backend keeps its event state in. */
    next_pa = va_pa(kernel_end);
    uint64_t l4 = boot_alloc(1);
    si->pt_first_pfn = l4 >> 12;
    for (uint64_t pa = 0; pa < top; pa += 4096) {
        int text = pa >= va_pa(native_image_start) && pa < va_pa(native_text_end);
        *boot_entry(l4, NATIVE_VIRT_BASE + pa, 1) = pa | PTE_P | PTE_G | (text ? 0 : PTE_W | PTE_NX);
    }
    *boot_entry(l4, NATIVE_LAPIC_VA, 1) = NATIVE_LAPIC_PA | PTE_P | PTE_W | PTE_PCD | PTE_G | PTE_NX;
    *boot_entry(l4, NATIVE_IOAPIC_VA, 1) = NATIVE_IOAPIC_PA | PTE_P | PTE_W | PTE_PCD | PTE_G | PTE_NX;
    si->nr_pt_frames = (next_pa >> 12) - si->pt_first_pfn;
    si->pt_base_va = (uint64_t)pa_va(l4);
    uint64_t *p2m = pa_va(boot_alloc((si->nr_pages * 8 + 4095) / 4096));
    for (uint64_t pfn = 0; pfn < si->nr_pages; pfn++)
        p2m[pfn] = pfn;
    si->p2m_va = (uint64_t)p2m;
    si->shared_info_va = (uint64_t)pa_va(boot_alloc(1));
    si->stack_va = (uint64_t)native_boot_stack;
    si->stack_size = (uint64_t)(native_boot_stack_top - native_boot_stack);
    si->first_free_pfn = next_pa >> 12;

    /* Pages above the boot allocations must read as zero, as a hypervisor gives them. */
    for (uint64_t pa = next_pa; pa < top; pa += 4096)
        if (((uint64_t *)pa_va(pa))[0] | ((uint64_t *)pa_va(pa))[511])
            memset(pa_va(pa), 0, 4096);
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= (1u << 7) | (1u << 9) | (1u << 10);          /* PGE, OSFXSR, OSXMMEXCPT */
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    write_cr3(l4);
    privops = &privops_native;
    kernel_main(si);
}
