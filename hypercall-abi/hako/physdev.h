/*
 * hako public ABI: the machine's devices, for the control domain, which drives them.
 * See ABI.md "Devices" (ABI 0.9).
 */
#ifndef HAKO_PHYSDEV_H
#define HAKO_PHYSDEV_H

#include "compiler.h"

#define HAKO_PHYSDEV_MAX 8              /* devices the hypervisor lists, indices 0..7 */

/* hako_physdev_info.type */
#define HAKO_PHYSDEV_VIRTIO_MMIO 1      /* a virtio device on the virtio-mmio transport */

/* physdev_op(cmd, arg): control domain only (-HAKO_EPERM for others). */
#define HAKO_PHYSDEVOP_DEVICE_INFO 0    /* arg: struct hako_physdev_info * */
#define HAKO_PHYSDEVOP_EOI         1    /* arg: device index; its interrupt was handled */

#ifndef __ASSEMBLER__
/* DEVICE_INFO: device index (0..HAKO_PHYSDEV_MAX-1, in the order the machine lists
 * them); -HAKO_ENOENT past the last one. */
struct hako_physdev_info {
    uint32_t index;                     /* IN */
    uint32_t type;                      /* OUT: HAKO_PHYSDEV_* */
    uint64_t mmio_base;                 /* OUT: physical (machine) address of its registers */
    uint32_t mmio_size;                 /* OUT: bytes */
    uint32_t irq;                       /* OUT: its interrupt line (I/O APIC input) */
} HAKO_ALIGNED(8);                      /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_physdev_info) == 24, "physdev_info size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_physdev_info) == 8, "physdev_info align");
#endif

#endif /* HAKO_PHYSDEV_H */
