/*
 * tests/xtf/test-devices.c: the control domain and the machine's devices (ABI.md 22).
 * tests/run.sh boots it with a virtio-blk disk (XTF-DISK below): a raw image of
 * DISK_SECTORS sectors. The test lists the devices with physdev_op, maps the disk's
 * registers with mmu_update (uncached) and reads its identity and capacity through the
 * mapping, and checks every refusal: other commands and indices, a misaligned argument,
 * frames that are neither RAM nor a listed device (the local APIC, the I/O APIC, a frame
 * past RAM: EPERM, and EINVAL with PCD/PWT, which only device frames may have), and
 * device frames anywhere but in an L1 entry. (A domU's physdev_op is
 * refused with EPERM: test-domains, domu mode `domctl`.)
 * XTF-DISK: 2048
 */
#include "framework.h"
#include "physmap.h"

#include <hako/errno.h>
#include <hako/memory.h>
#include <hako/physdev.h>

#include "mm.h"

const char test_title[] = "devices: physdev_op DEVICE_INFO, device registers mapped by dom0";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define EPERM  (-HAKO_EPERM)
#define ENOENT (-HAKO_ENOENT)
#define EINVAL (-HAKO_EINVAL)
#define EFAULT (-HAKO_EFAULT)
#define ENOSYS (-HAKO_ENOSYS)
#define DISK_SECTORS 2048u
#define WIN 0xFFFFFFFFB0000000ull           /* one L1 of slots for the mappings */
#define RW_FLAGS (HAKO_PTE_P | HAKO_PTE_W | HAKO_PTE_U)
#define IO_FLAGS (RW_FLAGS | HAKO_PTE_PCD | HAKO_PTE_PWT)

static long mmu1(uint64_t ptr, uint64_t val)
{
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req = (struct hako_mmu_update){ .ptr = ptr, .val = val };
    return HC3(HAKO_HC_mmu_update, &req, 1, 0);
}

static long info_of(unsigned index, struct hako_physdev_info *out)
{
    static struct hako_physdev_info info __attribute__((aligned(8)));
    info = (struct hako_physdev_info){ .index = index };
    long rc = HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_DEVICE_INFO, &info, 0);
    *out = info;
    return rc;
}

void test_main(const struct hako_start_info *si)
{
    mm_init(si);
    uint64_t kl4 = mm_kernel_root();
    struct hako_physdev_info d;
    if (!XTF_EXPECT_RC(info_of(0, &d), 0, "DEVICE_INFO of device 0 (the disk)"))
        return;
    kprintf("device 0: type %u, registers %lx+%u, irq %u\n", d.type, d.mmio_base, d.mmio_size,
            d.irq);
    XTF_CHECK(d.type == HAKO_PHYSDEV_VIRTIO_MMIO && d.mmio_size >= 0x100 + 8 &&
                  d.mmio_size <= 4096 && (d.mmio_base >> 12) == ((d.mmio_base + d.mmio_size - 1) >> 12) &&
                  d.irq < 24,
              "device 0: type %u size %u irq %u", d.type, d.mmio_size, d.irq);
    struct hako_physdev_info none;
    XTF_EXPECT_RC(info_of(1, &none), ENOENT, "DEVICE_INFO past the last device");
    XTF_EXPECT_RC(info_of(HAKO_PHYSDEV_MAX, &none), ENOENT, "DEVICE_INFO index 8");
    static struct hako_physdev_info raw[2] __attribute__((aligned(8)));
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_DEVICE_INFO, (char *)raw + 4, 0), EINVAL,
                  "DEVICE_INFO, misaligned");
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_DEVICE_INFO, 0x1000, 0), EFAULT,
                  "DEVICE_INFO, unmapped");
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, 99, raw, 0), ENOSYS, "physdev_op 99");

    /* An L1 of slots for the mappings. */
    if (!XTF_EXPECT_RC(mm_map(kl4, WIN, 0, 0) || mm_flush(), 0, "an L1 for the window"))
        return;
    uint64_t slot0 = pv_entry_maddr(kl4, WIN, 1), l2e = pv_entry_maddr(kl4, WIN, 2);
    uint64_t mfn = d.mmio_base >> 12, off = d.mmio_base & 0xFFF;
    if (!XTF_EXPECT_RC(mmu1(slot0, mfn << 12 | IO_FLAGS), 0, "map the disk's registers"))
        return;
    volatile const uint32_t *r = (volatile const uint32_t *)(WIN + off);
    uint32_t magic = r[0], version = r[1], devid = r[2];
    uint64_t capacity = r[0x100 / 4] | (uint64_t)r[0x104 / 4] << 32;
    kprintf("virtio-mmio: magic %x version %u device %u capacity %lu sectors\n", magic, version,
            devid, capacity);
    XTF_CHECK(magic == 0x74726976 && (version == 1 || version == 2) && devid == 2,
              "the registers say virtio, block device (magic %x version %u device %u)", magic,
              version, devid);
    XTF_CHECK(capacity == DISK_SECTORS, "capacity %lu sectors, the image has %u", capacity,
              DISK_SECTORS);
    XTF_EXPECT_RC(HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit with a device mapped");

    /* Refused: frames that are neither RAM nor a device, device frames above L1. */
    static const struct { uint64_t mfn; const char *what; } not_devices[] = {
        { 0xFEE00, "the local APIC" },
        { 0xFEC00, "the I/O APIC" },
        { 0xFEB01, "the page after the device's" },
        { 0x100000, "a frame past RAM" },
    };
    for (unsigned i = 0; i < sizeof(not_devices) / sizeof(not_devices[0]); i++) {
        XTF_EXPECT_RC(mmu1(slot0 + 8, not_devices[i].mfn << 12 | RW_FLAGS), EPERM,
                      what("map %s", not_devices[i].what));
        XTF_EXPECT_RC(mmu1(slot0 + 8, not_devices[i].mfn << 12 | IO_FLAGS), EINVAL,
                      what("map %s uncached (PCD/PWT are for device frames)", not_devices[i].what));
    }
    XTF_EXPECT_RC(mmu1(l2e + 8, mfn << 12 | RW_FLAGS), EPERM,
                  "a device frame as an L2 entry");
    XTF_EXPECT_RC(mmu1(l2e + 8, mfn << 12 | IO_FLAGS), EINVAL,
                  "a device frame as an uncached L2 entry");
    XTF_EXPECT_RC(mmu1(slot0 + 8, mfn << 12 | IO_FLAGS | (1ull << 7)), EINVAL,
                  "a device frame with PAT/PS set in an L1 entry");
    /* Unmapped again: no count error, the audit clean. */
    XTF_EXPECT_RC(mmu1(slot0, 0), 0, "unmap the disk's registers");
    XTF_EXPECT_RC(HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit after the unmap");
}
