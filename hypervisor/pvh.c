/*
 * hypervisor/pvh.c: read the PVH start info (Xen's HVM direct-boot layout that QEMU
 * uses for ELF kernels with a PHYS32_ENTRY note): memory map, modules, command line.
 */
#include "boot_info.h"

#include "lib.h"
#include "mm.h"
#include "panic.h"

#define PVH_MAGIC 0x336ec578u
#define E820_RAM 1

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

/* The page range holding [pa, pa+len), for the reservation list. */
static struct boot_range page_range(uint64_t pa, uint64_t len)
{
    return (struct boot_range){ ALIGN_DOWN(pa, PAGE_SIZE), ALIGN_UP(pa + len, PAGE_SIZE) };
}

void pvh_parse(uint64_t start_info_pa, struct boot_info *bi)
{
    struct pvh_start_info si;
    memset(bi, 0, sizeof(*bi));
    memcpy(&si, phys_to_virt(start_info_pa), sizeof(si));
    if (si.magic != PVH_MAGIC)
        panic("bad PVH start info magic %x", si.magic);
    if (si.version < 1 || si.memmap_entries == 0)
        panic("boot loader gave no memory map (PVH start info version %u)", si.version);
    bi->info_pages[0] = page_range(start_info_pa, sizeof(si));

    if (si.cmdline_paddr) {
        const char *c = phys_to_virt(si.cmdline_paddr);
        size_t n = strnlen(c, BOOT_CMDLINE_MAX - 1);
        memcpy(bi->cmdline, c, n);
        bi->info_pages[1] = page_range(si.cmdline_paddr, n + 1);
    }

    bi->info_pages[2] = page_range(si.memmap_paddr, si.memmap_entries * (uint64_t)sizeof(struct pvh_memmap_entry));
    for (uint32_t i = 0; i < si.memmap_entries; i++) {
        struct pvh_memmap_entry e;
        memcpy(&e, (char *)phys_to_virt(si.memmap_paddr) + i * sizeof(e), sizeof(e));
        if (e.type != E820_RAM || e.addr + e.size < e.addr)
            continue;
        uint64_t start = ALIGN_UP(e.addr, PAGE_SIZE), end = ALIGN_DOWN(e.addr + e.size, PAGE_SIZE);
        if (end <= start)
            continue;
        if (bi->nr_ram == BOOT_MAX_RAM)
            panic("more than %d RAM ranges", BOOT_MAX_RAM);
        bi->ram[bi->nr_ram++] = (struct boot_range){ start, end };
        bi->ram_end = MAX(bi->ram_end, end);
    }
    if (!bi->nr_ram)
        panic("memory map has no RAM");

    bi->info_pages[3] = page_range(si.modlist_paddr, si.nr_modules * sizeof(struct pvh_module));
    for (uint32_t i = 0; i < si.nr_modules && i < BOOT_MAX_MODS; i++) {
        struct pvh_module m;
        memcpy(&m, (char *)phys_to_virt(si.modlist_paddr) + i * sizeof(m), sizeof(m));
        if (m.paddr + m.size < m.paddr || m.paddr + m.size > bi->ram_end)
            panic("boot module %u at %lx+%lx is outside RAM", i, m.paddr, m.size);
        bi->mod[bi->nr_mods++] = (struct boot_range){ m.paddr, m.paddr + m.size };
    }
}
