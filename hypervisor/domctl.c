/*
 * hypervisor/domctl.c: domain control for the control domain (create, destroy, pause,
 * unpause, get info, list, scheduling parameters). Kernel images are copied into a
 * hypervisor scratch window once, validated and built from there.
 */
#include <hako/domctl.h>
#include <hako/errno.h>
#include <hako/start_info.h>

#include "domctl.h"
#include "console.h"
#include "cpu.h"
#include "domain_build.h"
#include "evtchn.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "paging.h"
#include "sched.h"
#include "time.h"

/* The scratch window has page tables for HV_SCRATCH_SIZE bytes (paging_init) only. */
_Static_assert(HAKO_DOMCTL_IMAGE_MAX <= HV_SCRATCH_SIZE, "every accepted image fits the window");

/* Copy the image at guest va (len bytes) into freshly mapped scratch pages; 0 or error.
 * The pages are in *frames; the image is at HV_SCRATCH_BASE. */
static int image_copy_in(uint64_t va, uint64_t len, struct frame_list *frames)
{
    uint64_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
    if (frame_free_count() < pages)
        return -HAKO_ENOMEM;
    for (uint64_t i = 0; i < pages; i++)
        paging_map_hv_page(HV_SCRATCH_BASE + i * PAGE_SIZE, frame_alloc(OWNER_HV, frames),
                           PTE_P | PTE_W | (cpu_has.nx ? PTE_NX : 0));
    if (guest_copy_from(current_vcpu(), (void *)HV_SCRATCH_BASE, _gva(va), len))
        return -HAKO_EFAULT;
    return 0;
}

/* Unmap and free the scratch pages. */
static void image_release(struct frame_list *frames)
{
    for (uint64_t i = 0; i < frames->count; i++)
        paging_unmap_hv_page(HV_SCRATCH_BASE + i * PAGE_SIZE);
    frame_free_list(frames);
}

/* Copy a NUL-terminated guest string of at most max-1 bytes; 0 or error. */
static int string_copy_in(uint64_t va, char *buf, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        if (guest_copy_from(current_vcpu(), &buf[i], _gva(va + i), 1))
            return -HAKO_EFAULT;
        if (!buf[i])
            return 0;
    }
    return -HAKO_EINVAL;
}

/* A free domain id above 0, or 0 when all are taken. Ids are handed out round-robin so
 * a destroyed domain's id is not reused at once (its peers may still hold unbound ports
 * naming it). */
static uint16_t last_domid;     /* the id most recently given to a created domain */

static uint16_t free_domid(void)
{
    for (unsigned n = 0; n < MAX_DOMAINS - 1; n++) {
        uint16_t id = (uint16_t)(1 + (last_domid + n) % (MAX_DOMAINS - 1));
        if (!domain_get(id))
            return id;
    }
    return 0;
}

/* Give every vCPU of d the scheduling weight and cap (percent of a CPU, 0 = none). */
static void domain_set_sched(struct domain *d, uint16_t weight, uint16_t cap)
{
    for_each_vcpu (d, v) {
        v->se.weight = weight;
        v->se.cap = cap;
    }
}

/* Copy the boot module (len bytes at the caller's va, checked readable beforehand) into
 * d's frames from first_mfn on, in frame-list order; 0 or -HAKO_EFAULT. */
static int module_copy_in(uint64_t va, uint64_t len, mfn_t first_mfn)
{
    mfn_t mfn = first_mfn;
    for (uint64_t off = 0; off < len; off += PAGE_SIZE, mfn = _mfn(frame_get(mfn)->next)) {
        uint64_t n = MIN(len - off, (uint64_t)PAGE_SIZE);
        if (mfn_eq(mfn, INVALID_MFN) ||
            guest_copy_from(current_vcpu(), mfn_to_virt(mfn), _gva(va + off), n))
            return -HAKO_EFAULT;
    }
    return 0;
}

static long domctl_create(uint64_t arg)
{
    struct hako_domctl_create c;
    char cmdline[HAKO_CMDLINE_MAX] = "";
    struct domain *self = current_vcpu()->dom;
    /* A caller built for ABI 0.4 knows only the first 88 bytes (domctl.h). */
    uint64_t size = self->abi_minor >= 5 ? sizeof(c) : HAKO_DOMCTL_CREATE_SIZE_V04;
    if (arg & 7)
        return -HAKO_EINVAL;
    memset(&c, 0, sizeof(c));
    if (guest_copy_from(current_vcpu(), &c, _gva(arg), size) ||
        guest_check(current_vcpu(), _gva(arg), size, true))
        return -HAKO_EFAULT;
    if (c.image_len == 0 || c.image_len > HAKO_DOMCTL_IMAGE_MAX || c.mem_pages == 0 ||
        c._pad0 || c._reserved[0] || c._reserved[1] || c._pad1 || c._reserved1 ||
        c.cap > 100 || c.module_len > HAKO_DOMCTL_MODULE_MAX ||
        strnlen(c.name, sizeof(c.name)) == sizeof(c.name))
        return -HAKO_EINVAL;
    if (c.cmdline_va) {
        int rc = string_copy_in(c.cmdline_va, cmdline, sizeof(cmdline));
        if (rc)
            return rc;
    }
    if (guest_check(current_vcpu(), _gva(c.module_va), c.module_len, false))
        return -HAKO_EFAULT;
    if (c.mem_pages > frame_free_count())
        return -HAKO_ENOMEM;
    uint16_t domid = free_domid();
    if (!domid)
        return -HAKO_ENOSPC;

    struct frame_list scratch = { FRAME_NONE, 0 };
    int rc = image_copy_in(c.image_va, c.image_len, &scratch);
    int err = 0;
    struct domain *d = rc ? NULL : domain_create(domid, c.name[0] ? c.name : "domU", false,
                                                 guest_type_for_cmdline(cmdline), &err);
    if (!rc && !d)
        rc = err;
    struct domain_build_params p = {
        .image = (const void *)HV_SCRATCH_BASE, .image_len = c.image_len,
        .nr_pages = c.mem_pages, .cmdline = cmdline, .si_flags = 0,
        .console = true, .module_len = c.module_len,
    };
    /* Its console port: unbound, offered to the caller (a fresh domain has free ports). */
    struct hako_evtchn port = { .remote_dom = self->domid };
    if (!rc) {
        const char *why = "unknown";
        if ((rc = domain_build(d, &p, &why)))
            printk("d%u: kernel refused: %s (error %d)\n", domid, why, rc);
        else if (!(rc = module_copy_in(c.module_va, c.module_len, p.module_mfn)) &&
                 !(rc = (int)evtchn_op(d, HAKO_EVTCHNOP_ALLOC_UNBOUND, &port)))
            ((struct hako_start_info *)mfn_to_virt(p.si_mfn))->console_port = port.port;
        if (rc)
            domain_destroy(d);      /* module checked readable above: cannot fail */
    }
    image_release(&scratch);
    if (rc)
        return rc;
    last_domid = domid;
    domain_set_sched(d, c.weight ? c.weight : SCHED_DEFAULT_WEIGHT, c.cap);
    c.domid = domid;
    c.console_mfn = d->console_mfn;
    c.console_port = port.port;
    guest_copy_to(current_vcpu(), _gva(arg), &c, size);   /* checked writable above */
    printk("d%u (%s) created: %lu pages, weight %u, cap %u, module %lu bytes\n", domid, d->name,
           c.mem_pages, d->vcpu[0].se.weight, c.cap, c.module_len);
    for_each_vcpu (d, v)
        sched_add(v);
    return domid;
}

static long domctl_getinfo(uint64_t arg)
{
    struct hako_domctl_info info;
    /* A caller built for an older ABI knows only the part that ABI had (domctl.h). */
    uint32_t minor = current_vcpu()->dom->abi_minor;
    uint64_t size = minor >= 8 ? sizeof(info)
                    : minor >= 6 ? HAKO_DOMCTL_INFO_SIZE_V07 : HAKO_DOMCTL_INFO_SIZE_V05;
    _Static_assert(HC_NR <= HAKO_DOMCTL_HC_SLOTS, "hc_counts has a slot for every call");
    if (arg & 7)
        return -HAKO_EINVAL;
    if (guest_copy_from(current_vcpu(), &info, _gva(arg), size))
        return -HAKO_EFAULT;
    struct domain *d = domain_get(info.domid);
    if (!d)
        return -HAKO_ESRCH;
    uint16_t domid = info.domid;
    memset(&info, 0, sizeof(info));
    info.domid = domid;
    info.state = d->state == DOMAIN_SHUTDOWN  ? HAKO_DOMSTATE_SHUTDOWN
                 : d->state == DOMAIN_CRASHED ? HAKO_DOMSTATE_CRASHED
                 : d->paused                  ? HAKO_DOMSTATE_PAUSED
                                              : HAKO_DOMSTATE_RUNNING;
    info.weight = d->vcpu[0].se.weight;    /* the same on every vCPU (domain_set_sched) */
    info.cap = d->vcpu[0].se.cap;
    info.flags = d->si_flags;
    info.shutdown_reason = d->shutdown_reason;
    info.shutdown_code = d->shutdown_code;
    info.nr_pages = d->nr_pages;
    for_each_vcpu (d, v) {
        info.cpu_time_ns += v->cpu_time_ns;
        if (current_vcpu() == v)            /* the caller itself: include the running slice */
            info.cpu_time_ns += time_now_ns() - v->run_start_ns;
        for (unsigned i = 0; i < HC_NR; i++)
            info.hc_counts[i] += v->hc_count[i];
    }
    for (unsigned i = 0; i < 16; i++)
        info.hypercalls[i] = info.hc_counts[i];
    info.events = d->stat_events;
    for (unsigned i = 0; i < 32; i++)
        info.traps[i] = d->stat_traps[i];
    memcpy(info.name, d->name, sizeof(info.name));
    info.mode = d->type == &guest_type_trap ? HAKO_DOMMODE_TRAP : HAKO_DOMMODE_PV;
    for (unsigned i = 0; i < HAKO_EMUL_SLOTS; i++)
        info.emulated[i] = d->stat_emulated[i];
    return guest_copy_to(current_vcpu(), _gva(arg), &info, size);
}

/* A domain other than the caller that arg names; NULL with *rc set otherwise. */
static struct domain *target(uint64_t arg, long *rc)
{
    struct domain *d = arg < MAX_DOMAINS ? domain_get((uint16_t)arg) : NULL;
    *rc = !d ? -HAKO_ESRCH : d == current_vcpu()->dom ? -HAKO_EINVAL : 0;
    return *rc ? NULL : d;
}

/* domctl(cmd, arg) */
long hc_domctl(HC_ARGS)
{
    (void)a3;
    long rc;
    struct domain *d;
    if (!current_vcpu()->dom->privileged)
        return -HAKO_EPERM;
    switch (a1) {
    case HAKO_DOMCTL_CREATE:
        return domctl_create(a2);
    case HAKO_DOMCTL_DESTROY:
        if (!(d = target(a2, &rc)))
            return rc;
        if (!grant_only_grant_mappings(d))
            return -HAKO_EBUSY;         /* unmap its frames first (ABI.md 16); grant
                                           mappings are revoked (21.4) */
        printk("d%u (%s) destroyed\n", d->domid, d->name);
        domain_destroy(d);
        flush_tlb_if_unsafe();          /* foreign mappings it held are gone */
        return 0;
    case HAKO_DOMCTL_PAUSE:
    case HAKO_DOMCTL_UNPAUSE:
        if (!(d = target(a2, &rc)))
            return rc;
        d->paused = a1 == HAKO_DOMCTL_PAUSE;
        for_each_vcpu (d, v)
            vcpu_update_runnable(v);
        return 0;
    case HAKO_DOMCTL_GETINFO:
        return domctl_getinfo(a2);
    case HAKO_DOMCTL_NEXT:
        for (uint64_t id = a2; id < MAX_DOMAINS; id++)
            if (domain_get((uint16_t)id))
                return (long)id;
        return -HAKO_ESRCH;
    case HAKO_DOMCTL_SET_SCHED: {
        struct hako_domctl_sched s;
        if (a2 & 7)
            return -HAKO_EINVAL;
        if (guest_copy_from(current_vcpu(), &s, _gva(a2), sizeof(s)))
            return -HAKO_EFAULT;
        if (!s.weight || s.cap > 100 || s._pad0)
            return -HAKO_EINVAL;
        if (!(d = domain_get(s.domid)))
            return -HAKO_ESRCH;
        domain_set_sched(d, s.weight, s.cap);
        return 0;
    }
    default:
        return -HAKO_ENOSYS;
    }
}
