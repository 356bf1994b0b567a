/*
 * hypervisor/devices.c: the machine's devices that the control domain drives (ABI.md 22).
 * QEMU's microvm (with acpi=off) names its virtio-mmio transports on the command line,
 * one word `virtio_mmio.device=<size>@<base>:<irq>` each, as it does for Linux; the
 * hypervisor takes them from there, keeps those that are sane (outside RAM and clear of
 * the local APIC, the I/O APIC and the hypervisor's own devices), and lists them to the
 * control domain with physdev_op.
 */
#include "devices.h"

#include <hako/errno.h>

#include "console.h"
#include "domain.h"
#include "evtchn.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "percpu.h"
#include "sched.h"
#include "time.h"

struct physdev {
    uint64_t base;
    uint32_t size;
    uint32_t irq;
    bool bound;                 /* its virq is bound: the line is routed */
};

static struct physdev devs[HAKO_PHYSDEV_MAX];
static unsigned nr_devs;

/* Physical ranges besides RAM no listed device may overlap: the hypervisor's own. */
static const struct boot_range reserved[] = {
    { 0xFEC00000ull, 0xFEC01000ull },   /* I/O APIC */
    { 0xFEE00000ull, 0xFEF00000ull },   /* local APIC */
};

static bool overlaps(uint64_t s, uint64_t e, const struct boot_range *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (s < r[i].end && r[i].start < e)
            return true;
    return false;
}

/* Parse "<size>@<base>:<irq>" (each a number parse_size takes); false when malformed. */
static bool parse_device(const char *w, size_t len, struct physdev *out)
{
    size_t at = 0, colon = 0;
    for (size_t i = 0; i < len; i++) {
        if (w[i] == '@' && !at)
            at = i;
        else if (w[i] == ':' && at && !colon)
            colon = i;
    }
    uint64_t size, base, irq;
    if (!at || !colon || !parse_size(w, at, &size) ||
        !parse_size(w + at + 1, colon - at - 1, &base) ||
        !parse_size(w + colon + 1, len - colon - 1, &irq))
        return false;
    if (size == 0 || size > PAGE_SIZE || base + size < base || irq >= 24)
        return false;
    *out = (struct physdev){ base, (uint32_t)size, (uint32_t)irq, false };
    return true;
}

void devices_init(const struct boot_info *bi)
{
    static const char key[] = "virtio_mmio.device=";
    const size_t klen = sizeof(key) - 1;
    for (const char *c = bi->cmdline; *c;) {
        while (*c == ' ')
            c++;
        const char *w = c;
        while (*c && *c != ' ')
            c++;
        size_t len = (size_t)(c - w);
        if (len <= klen || strncmp(w, key, klen) != 0)
            continue;
        struct physdev d;
        if (!parse_device(w + klen, len - klen, &d) ||
            overlaps(d.base, d.base + d.size, bi->ram, bi->nr_ram) ||
            overlaps(d.base, d.base + d.size, reserved, sizeof(reserved) / sizeof(reserved[0])) ||
            d.irq == CONSOLE_UART_IRQ) {
            printk("devices: ignoring \"%.*s\" (malformed, or over RAM or a system device)\n",
                   (int)len, w);
            continue;
        }
        if (nr_devs == HAKO_PHYSDEV_MAX) {
            printk("devices: more than %u devices, ignoring the rest\n", HAKO_PHYSDEV_MAX);
            break;
        }
        devs[nr_devs++] = d;
        printk("device %u: virtio-mmio %016lx+%u irq %u\n", nr_devs - 1, d.base, d.size, d.irq);
    }
}

bool devices_frame_is_device(uint64_t mfn)
{
    for (unsigned i = 0; i < nr_devs; i++)
        if (mfn >= devs[i].base >> PAGE_SHIFT && mfn <= (devs[i].base + devs[i].size - 1) >> PAGE_SHIFT)
            return true;
    return false;
}

/* virtio-mmio raises a level-triggered, active-high line until its interrupt status is
 * acknowledged: routed level-triggered, and masked from delivery until the EOI. */
static void route(unsigned i, bool masked)
{
    ioapic_route(devs[i].irq, (DEVICE_VECTOR0 + i) | IOAPIC_LEVEL | (masked ? IOAPIC_MASKED : 0));
}

int devices_irq_bind(unsigned index, bool bind)
{
    if (index >= nr_devs)
        return -HAKO_ENOENT;
    devs[index].bound = bind;
    route(index, !bind);
    return 0;
}

void devices_interrupt(unsigned index)
{
    if (index < nr_devs)
        route(index, true);     /* until the control domain's EOI */
    time_ack();
    struct domain *d0 = domain_get(0);
    if (index < nr_devs && devs[index].bound && d0) {
        evtchn_send_virq(d0, HAKO_VIRQ_DEVICE0 + index);
        schedule();             /* dom0 may have been waiting for it */
    }
}

bool pagetype_io_frame(mfn_t mfn)
{
    return devices_frame_is_device(mfn_x(mfn));
}

bool pagetype_io_allowed(uint16_t domid, mfn_t mfn)
{
    const struct domain *d = domain_get(domid);
    return d && d->privileged && devices_frame_is_device(mfn_x(mfn));
}

/* physdev_op(cmd, arg): control domain only. */
long hc_physdev_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    if (!v->dom->privileged)
        return -HAKO_EPERM;             /* first, as domctl (ABI.md 22) */
    if (a1 != HAKO_PHYSDEVOP_DEVICE_INFO && a1 != HAKO_PHYSDEVOP_EOI)
        return -HAKO_ENOSYS;
    if (a1 == HAKO_PHYSDEVOP_EOI) {     /* arg: the device index */
        if (a2 >= nr_devs)
            return -HAKO_ENOENT;
        if (!devs[a2].bound)
            return -HAKO_EINVAL;
        route((unsigned)a2, false);     /* still asserted: it fires again at once */
        return 0;
    }
    if (a2 & 7)
        return -HAKO_EINVAL;
    struct hako_physdev_info info;
    if (guest_check(v, _gva(a2), sizeof(info), true) ||
        guest_copy_from(v, &info, _gva(a2), sizeof(info)))
        return -HAKO_EFAULT;
    if (info.index >= nr_devs)
        return -HAKO_ENOENT;
    const struct physdev *d = &devs[info.index];
    info.type = HAKO_PHYSDEV_VIRTIO_MMIO;
    info.mmio_base = d->base;
    info.mmio_size = d->size;
    info.irq = d->irq;
    return guest_copy_to(v, _gva(a2), &info, sizeof(info)) ? -HAKO_EFAULT : 0;
}
