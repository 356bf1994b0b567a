/*
 * hypervisor/boot_info.h: what the boot loader told us (PVH start info), copied out.
 */
#ifndef HV_BOOT_INFO_H
#define HV_BOOT_INFO_H

#include <stdint.h>

#define BOOT_MAX_RAM 32
#define BOOT_MAX_MODS 4
#define BOOT_CMDLINE_MAX 1024

struct boot_range {
    uint64_t start, end;        /* physical [start, end) */
};

struct boot_info {
    struct boot_range ram[BOOT_MAX_RAM];    /* usable RAM, page-aligned inward */
    unsigned nr_ram;
    uint64_t ram_end;                       /* end of the highest RAM range */
    struct boot_range mod[BOOT_MAX_MODS];   /* boot modules (dom0 kernel first) */
    unsigned nr_mods;
    struct boot_range info_pages[4];        /* start info, module list, memory map, cmdline */
    char cmdline[BOOT_CMDLINE_MAX];
};

/* Copy the PVH start info at physical start_info_pa into *bi; panics if unusable. */
void pvh_parse(uint64_t start_info_pa, struct boot_info *bi);

#endif /* HV_BOOT_INFO_H */
