/*
 * hako public ABI: the ELF note every hako guest kernel image carries.
 *
 * A PT_NOTE program header must contain a note with name "hako" (namesz 5, including
 * the NUL), type HAKO_ELFNOTE_ABI and a struct hako_elfnote_abi descriptor naming the
 * ABI the kernel was built for. The hypervisor refuses an image without it, with
 * another major, or with a minor newer than its own.
 */
#ifndef HAKO_ELFNOTE_H
#define HAKO_ELFNOTE_H

#include "compiler.h"

#define HAKO_ELFNOTE_NAME "hako"
#define HAKO_ELFNOTE_ABI  1u

#ifndef __ASSEMBLER__
struct hako_elfnote_abi {
    uint32_t abi_major;
    uint32_t abi_minor;
};
HAKO_STATIC_ASSERT(sizeof(struct hako_elfnote_abi) == 8, "hako_elfnote_abi size");
#endif

#endif /* HAKO_ELFNOTE_H */
