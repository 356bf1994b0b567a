/*
 * guest-pv/drivers/virtio_blk.c: the machine's virtio-blk disk, for the control domain.
 *
 * Legacy virtio-mmio (QEMU microvm's transport): one virtqueue of QSIZE descriptors in
 * one page (descriptors at 0, the available ring after them, the used ring at
 * QUSED_OFF: QueueAlign 256), so its machine frame is all the device needs. Request
 * slot s owns descriptors [s * DESC_PER_SLOT, (s + 1) * DESC_PER_SLOT): header, data
 * buffers, status byte; headers and status bytes live in one more page. The device's
 * interrupt arrives as the virq HAKO_VIRQ_DEVICE0 + index event; the handler takes the
 * completions off the used ring, acknowledges the interrupt and sends the EOI.
 */
#include "virtio_blk.h"

#include <hako/errno.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/physdev.h>

#include "events.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "physmap.h"
#include "privops.h"

/* Legacy virtio-mmio registers (byte offsets). */
#define VM_MAGIC         0x000
#define VM_VERSION       0x004
#define VM_DEVICE_ID     0x008
#define VM_HOST_FEATURES 0x010
#define VM_HOST_FSEL     0x014
#define VM_GUEST_FEATURES 0x020
#define VM_GUEST_FSEL    0x024
#define VM_PAGE_SIZE     0x028
#define VM_QUEUE_SEL     0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM     0x038
#define VM_QUEUE_ALIGN   0x03C
#define VM_QUEUE_PFN     0x040
#define VM_QUEUE_NOTIFY  0x050
#define VM_INT_STATUS    0x060
#define VM_INT_ACK       0x064
#define VM_STATUS        0x070
#define VM_CONFIG        0x100          /* virtio-blk: capacity (u64 sectors) first */

#define ST_ACK 1u
#define ST_DRIVER 2u
#define ST_DRIVER_OK 4u
#define ST_FAILED 128u
#define F_BLK_FLUSH (1u << 9)

#define VIRTIO_MAGIC   0x74726976u      /* "virt" */
#define VIRTIO_ID_BLK  2u

#define QSIZE         128u
#define QUSED_OFF     2560u             /* 2048 descriptor bytes + 262 avail, aligned 256 */
#define DESC_PER_SLOT (VBLK_MAX_SEGS + 2u)
#define NSLOTS        (QSIZE / DESC_PER_SLOT)
#define D_NEXT  1u
#define D_WRITE 2u                      /* the device writes this buffer */

#define REGS_VA 0xFFFFFFFFB0200000ull   /* the device's register page */

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vused { uint32_t id, len; };
struct vhdr { uint32_t type, reserved; uint64_t sector; };

static struct {
    volatile uint32_t *regs;
    unsigned index;                     /* device index for EOI */
    uint64_t sectors;
    int flush_ok;                       /* the device negotiated FLUSH */
    struct vdesc *desc;
    volatile uint16_t *avail;           /* flags, idx, ring[QSIZE] */
    volatile uint16_t *used_hdr;        /* flags, idx */
    volatile struct vused *used;        /* ring[QSIZE] */
    uint16_t avail_idx, used_seen;
    uint8_t *meta;                      /* slot s: header at s * 32, status at s * 32 + 16 */
    uint64_t meta_maddr;
    struct vblk_req *slot[NSLOTS];
    unsigned inflight;
} d;

/* Map the machine frame mfn (a device's registers) uncached at va. 0 or an error. */
static long map_device_frame(uint64_t va, uint64_t mfn)
{
    uint64_t l1;
    long rc = mm_leaf_table(mm_kernel_root(), va, &l1);
    if (rc)
        return rc;
    static struct hako_mmu_update u __attribute__((aligned(8)));
    u.ptr = pv_table_entry_maddr(l1, mm_index(va, 1)) | HAKO_MMU_NORMAL_PT_UPDATE;
    u.val = (mfn << 12) | HAKO_PTE_P | HAKO_PTE_W | HAKO_PTE_U | HAKO_PTE_NX | HAKO_PTE_PCD |
            HAKO_PTE_PWT;
    return hako_hypercall3(HAKO_HC_mmu_update, (uint64_t)&u, 1, 0);
}

/* The disk's interrupt: complete every request the device has used, then EOI. */
static void vblk_interrupt(unsigned port, void *arg)
{
    (void)port, (void)arg;
    uint32_t isr = d.regs[VM_INT_STATUS / 4];
    d.regs[VM_INT_ACK / 4] = isr;                   /* the line goes down */
    for (;;) {
        uint16_t idx = __atomic_load_n(&d.used_hdr[1], __ATOMIC_ACQUIRE);
        if (idx == d.used_seen)
            break;
        uint32_t id = d.used[d.used_seen % QSIZE].id;
        d.used_seen++;
        unsigned s = id / DESC_PER_SLOT;
        struct vblk_req *r = s < NSLOTS && id % DESC_PER_SLOT == 0 ? d.slot[s] : NULL;
        if (!r) {
            kprintf("virtio-blk: the device completed unknown descriptor %u\n", id);
            continue;
        }
        d.slot[s] = NULL;
        d.inflight--;
        long status = d.meta[s * 32 + 16] == 0 ? 0 : -HAKO_EIO;
        r->done(r, status);
    }
    hako_hypercall2(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_EOI, d.index);
}

/* Set up device index idx (a virtio-blk behind info): 0 or a negative HAKO_E*. */
static long vblk_setup(unsigned idx, const struct hako_physdev_info *info)
{
    if (map_device_frame(REGS_VA, info->mmio_base >> 12))
        return -HAKO_EFAULT;
    volatile uint32_t *r = (volatile uint32_t *)(REGS_VA + (info->mmio_base & 0xFFF));
    if (r[VM_MAGIC / 4] != VIRTIO_MAGIC || r[VM_VERSION / 4] != 1 ||
        r[VM_DEVICE_ID / 4] != VIRTIO_ID_BLK)
        return -HAKO_ENOENT;
    uint64_t qpfn = pfn_alloc(), mpfn = pfn_alloc();
    if (!qpfn || !mpfn)
        return -HAKO_ENOMEM;
    memset(pfn_to_va(qpfn), 0, PAGE_SIZE);
    memset(pfn_to_va(mpfn), 0, PAGE_SIZE);
    d.regs = r;
    d.index = idx;
    d.desc = pfn_to_va(qpfn);
    d.avail = (volatile uint16_t *)((uint8_t *)d.desc + QSIZE * sizeof(struct vdesc));
    d.used_hdr = (volatile uint16_t *)((uint8_t *)d.desc + QUSED_OFF);
    d.used = (volatile struct vused *)((uint8_t *)d.desc + QUSED_OFF + 4);
    d.meta = pfn_to_va(mpfn);
    d.meta_maddr = pv_mfn(mpfn) << 12;
    r[VM_STATUS / 4] = 0;                                   /* reset */
    r[VM_STATUS / 4] = ST_ACK | ST_DRIVER;
    r[VM_HOST_FSEL / 4] = 0;
    uint32_t features = r[VM_HOST_FEATURES / 4] & F_BLK_FLUSH;
    r[VM_GUEST_FSEL / 4] = 0;
    r[VM_GUEST_FEATURES / 4] = features;
    d.flush_ok = features != 0;
    r[VM_PAGE_SIZE / 4] = PAGE_SIZE;
    r[VM_QUEUE_SEL / 4] = 0;
    if (r[VM_QUEUE_NUM_MAX / 4] < QSIZE) {
        r[VM_STATUS / 4] = ST_FAILED;
        return -HAKO_ENOENT;
    }
    r[VM_QUEUE_NUM / 4] = QSIZE;
    r[VM_QUEUE_ALIGN / 4] = 256;
    r[VM_QUEUE_PFN / 4] = (uint32_t)pv_mfn(qpfn);
    d.sectors = (uint64_t)r[VM_CONFIG / 4] | (uint64_t)r[VM_CONFIG / 4 + 1] << 32;
    if (!events_bind_virq(HAKO_VIRQ_DEVICE0 + idx, vblk_interrupt, NULL)) {
        r[VM_STATUS / 4] = ST_FAILED;
        return -HAKO_EIO;
    }
    r[VM_STATUS / 4] = ST_ACK | ST_DRIVER | ST_DRIVER_OK;
    return 0;
}

long vblk_init(void)
{
    for (unsigned i = 0; i < HAKO_PHYSDEV_MAX; i++) {
        static struct hako_physdev_info info __attribute__((aligned(8)));
        info = (struct hako_physdev_info){ .index = i };
        if (hako_hypercall2(HAKO_HC_physdev_op, HAKO_PHYSDEVOP_DEVICE_INFO, (uint64_t)&info))
            break;
        if (info.type != HAKO_PHYSDEV_VIRTIO_MMIO)
            continue;
        long rc = vblk_setup(i, &info);
        if (rc != -HAKO_ENOENT)
            return rc;
    }
    return -HAKO_ENOENT;
}

uint64_t vblk_sectors(void)
{
    return d.regs ? d.sectors : 0;
}

unsigned vblk_inflight(void)
{
    return d.inflight;
}

long vblk_submit(struct vblk_req *r)
{
    if (!d.regs)
        return -HAKO_ENOENT;
    if (r->nseg > VBLK_MAX_SEGS || (r->type == VBLK_FLUSH) != (r->nseg == 0) ||
        (r->type != VBLK_READ && r->type != VBLK_WRITE && r->type != VBLK_FLUSH))
        return -HAKO_EINVAL;
    for (unsigned i = 0; i < r->nseg; i++)
        if (!r->len[i] || r->len[i] % 512 || (r->maddr[i] & 0xFFF) + r->len[i] > PAGE_SIZE)
            return -HAKO_EINVAL;
    unsigned s = 0;
    while (s < NSLOTS && d.slot[s])
        s++;
    if (s == NSLOTS)
        return -HAKO_EAGAIN;
    if (r->type == VBLK_FLUSH && !d.flush_ok) {     /* a write-through disk: nothing to do */
        r->done(r, 0);
        return 0;
    }
    struct vhdr *h = (struct vhdr *)(d.meta + s * 32);
    *h = (struct vhdr){ .type = r->type, .sector = r->sector };
    d.meta[s * 32 + 16] = 0xFF;
    unsigned base = s * DESC_PER_SLOT, n = 0;
    d.desc[base] = (struct vdesc){ d.meta_maddr + s * 32, 16, D_NEXT, (uint16_t)(base + 1) };
    for (unsigned i = 0; i < r->nseg; i++, n++)
        d.desc[base + 1 + i] = (struct vdesc){ r->maddr[i], r->len[i],
            (uint16_t)(D_NEXT | (r->type == VBLK_READ ? D_WRITE : 0)), (uint16_t)(base + 2 + i) };
    d.desc[base + 1 + n] = (struct vdesc){ d.meta_maddr + s * 32 + 16, 1, D_WRITE, 0 };
    d.slot[s] = r;
    d.inflight++;
    d.avail[2 + d.avail_idx % QSIZE] = (uint16_t)base;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);        /* the descriptors before the index */
    d.avail_idx++;
    __atomic_store_n(&d.avail[1], d.avail_idx, __ATOMIC_SEQ_CST);
    d.regs[VM_QUEUE_NOTIFY / 4] = 0;
    return 0;
}

void vblk_drain(void)
{
    while (d.inflight)
        privops->idle();
}
