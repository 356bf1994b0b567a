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
 * With the disk's virq bound, one read of sector 0 (which tests/run.sh writes "hako xtf
 * disk" into) goes through a virtqueue by DMA and completes by interrupt, delivered as
 * the virq's event; the EOI and its refusals follow.
 * XTF-DISK: 2048
 */
#include "framework.h"
#include "physmap.h"

#include <hako/errno.h>
#include <hako/events.h>
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
#define EEXIST (-HAKO_EEXIST)
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

/* Legacy virtio-mmio registers (byte offsets) and the one queue this test uses. */
#define VM_QUEUE_SEL 0x30
#define VM_QUEUE_NUM_MAX 0x34
#define VM_QUEUE_NUM 0x38
#define VM_QUEUE_ALIGN 0x3C
#define VM_QUEUE_PFN 0x40
#define VM_QUEUE_NOTIFY 0x50
#define VM_INT_STATUS 0x60
#define VM_INT_ACK 0x64
#define VM_STATUS 0x70
#define VM_PAGE_SIZE 0x28
#define QN 8                                /* descriptors */

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };

/* One read of sector 0 through the disk's virtqueue, completed by its interrupt: the
 * device reads the request and writes the data by DMA to machine addresses of ours, and
 * the completion arrives as the device virq's event. */
static void disk_read_by_interrupt(volatile uint32_t *r, const struct hako_start_info *si)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    static struct hako_evtchn ev __attribute__((aligned(8)));
    ev = (struct hako_evtchn){ .virq = HAKO_VIRQ_DEVICE0 };
    if (!XTF_EXPECT_RC(HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, &ev, 0), 0,
                       "bind the disk's virq"))
        return;
    unsigned port = ev.port;
    ev = (struct hako_evtchn){ .virq = HAKO_VIRQ_DEVICE0 + 1 };
    XTF_EXPECT_RC(HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, &ev, 0), ENOENT,
                  "bind the virq of a device that does not exist");
    ev = (struct hako_evtchn){ .virq = HAKO_VIRQ_DEVICE0 };
    XTF_EXPECT_RC(HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, &ev, 0), EEXIST,
                  "bind the disk's virq twice");
    /* The queue in one page (descriptors, available ring, used ring at 256: QueueAlign),
     * the request in another: header, 512 data bytes, status. */
    uint64_t qpfn = pfn_alloc(), bpfn = pfn_alloc();
    uint8_t *q = pfn_va(qpfn), *b = pfn_va(bpfn);
    uint64_t qm = pv_mfn(qpfn) << 12, bm = pv_mfn(bpfn) << 12;
    struct vdesc *desc = (struct vdesc *)q;
    volatile uint16_t *avail = (volatile uint16_t *)(q + QN * 16);
    volatile uint16_t *used = (volatile uint16_t *)(q + 256);
    uint32_t hdr[4] = { 0, 0, 0, 0 };                 /* VIRTIO_BLK_T_IN, sector 0 */
    __builtin_memcpy(b, hdr, 16);
    for (unsigned i = 0; i < 512; i++)
        b[16 + i] = 0xEE;
    b[16 + 512] = 0xFF;
    desc[0] = (struct vdesc){ bm, 16, 1, 1 };                  /* NEXT */
    desc[1] = (struct vdesc){ bm + 16, 512, 1 | 2, 2 };        /* NEXT | WRITE */
    desc[2] = (struct vdesc){ bm + 16 + 512, 1, 2, 0 };        /* WRITE */
    r[VM_STATUS / 4] = 0;                                      /* reset */
    r[VM_STATUS / 4] = 1 | 2;                                  /* ACKNOWLEDGE | DRIVER */
    r[VM_PAGE_SIZE / 4] = 4096;
    r[VM_QUEUE_SEL / 4] = 0;
    if (!XTF_CHECK(r[VM_QUEUE_NUM_MAX / 4] >= QN, "queue 0 takes %u descriptors", QN))
        return;
    r[VM_QUEUE_NUM / 4] = QN;
    r[VM_QUEUE_ALIGN / 4] = 256;
    r[VM_QUEUE_PFN / 4] = (uint32_t)(qm >> 12);
    r[VM_STATUS / 4] = 1 | 2 | 4;                              /* DRIVER_OK */
    avail[2] = 0;                                              /* ring[0]: descriptor 0 */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail[1] = 1;                                              /* idx */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t bit = 1ull << (port % 64);
    __atomic_fetch_and(&sh->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST);
    r[VM_QUEUE_NOTIFY / 4] = 0;
    unsigned spins = 0;
    while (!(__atomic_load_n(&sh->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) & bit) &&
           spins++ < 200000)
        HC3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0);
    XTF_CHECK(spins < 200000, "the disk's interrupt arrived as an event");
    kprintf("disk read: used idx %u, status %u, event after %lu yields\n", (unsigned)used[1],
            (unsigned)b[16 + 512], (unsigned long)spins);
    XTF_CHECK(used[1] == 1 && b[16 + 512] == 0 && __builtin_memcmp(b + 16, "hako xtf disk", 13) == 0,
              "sector 0 read by DMA (used idx %u, status %u)", used[1], b[16 + 512]);
    uint32_t isr = r[VM_INT_STATUS / 4];
    r[VM_INT_ACK / 4] = isr;                                   /* the line goes down */
    XTF_CHECK(isr & 1, "interrupt status says used buffer (%x)", isr);
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_EOI, 0, 0), 0, "EOI of the disk");
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_EOI, 1, 0), ENOENT, "EOI of no device");
    r[VM_STATUS / 4] = 0;                                      /* reset: DMA stops */
    XTF_EXPECT_RC(HC3(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_CLOSE, port, 0), 0,
                  "close the disk's port");
    XTF_EXPECT_RC(HC3(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_EOI, 0, 0), EINVAL,
                  "EOI with the virq unbound");
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
    disk_read_by_interrupt((volatile uint32_t *)(WIN + off), si);

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
