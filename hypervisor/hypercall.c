/*
 * hypervisor/hypercall.c: the hypercall dispatch table and the first hypercalls.
 * Each handler decodes and validates its arguments completely before it acts.
 */
#include <hako/arch-x86_64.h>
#include <hako/hypercall.h>

#include "console.h"
#include "cpu.h"
#include "domain.h"
#include "guest_access.h"
#include "lib.h"
#include "percpu.h"
#include "sched.h"

#ifndef HAKO_HV_VERSION
#define HAKO_HV_VERSION "unknown"
#endif

typedef long (*hypercall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* The calling domain. */
static struct domain *caller(void)
{
    return current_vcpu()->dom;
}

/* The caller's current address space, for guest pointers. */
static uint64_t caller_cr3(void)
{
    return current_vcpu()->cr3;
}

/* console_io(cmd, buf, len): write to or read from the console. */
static long hc_console_io(uint64_t cmd, uint64_t buf, uint64_t len, uint64_t a4, uint64_t a5,
                          uint64_t a6)
{
    (void)a4, (void)a5, (void)a6;
    char kbuf[HAKO_CONSOLE_IO_MAX];
    if (cmd != HAKO_CONSOLE_WRITE && cmd != HAKO_CONSOLE_READ)
        return -HAKO_ENOSYS;
    if (len > HAKO_CONSOLE_IO_MAX)
        return -HAKO_EINVAL;
    if (cmd == HAKO_CONSOLE_WRITE) {
        if (guest_copy_from(caller_cr3(), kbuf, buf, len))
            return -HAKO_EFAULT;
        console_write(caller()->domid, kbuf, len);
        return (long)len;
    }
    if (!caller()->privileged)
        return -HAKO_EPERM;
    if (!guest_range_ok(buf, len))
        return -HAKO_EFAULT;
    /* Check the whole buffer is writable before consuming input we could not deliver. */
    uint64_t pa;
    for (uint64_t off = 0; off < len; off += HAKO_PAGE_SIZE)
        if (guest_translate(caller_cr3(), buf + off, true, &pa))
            return -HAKO_EFAULT;
    if (len && guest_translate(caller_cr3(), buf + len - 1, true, &pa))
        return -HAKO_EFAULT;
    size_t n = console_read(kbuf, len);
    if (guest_copy_to(caller_cr3(), buf, kbuf, n))
        return -HAKO_EFAULT;
    return (long)n;
}

/* version(cmd, arg): ABI version, or the full version/feature record. */
static long hc_version(uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5,
                       uint64_t a6)
{
    (void)a3, (void)a4, (void)a5, (void)a6;
    extern const uint64_t hypercall_count;
    switch (cmd) {
    case HAKO_VERSION_ABI:
        return HAKO_ABI_VERSION;
    case HAKO_VERSION_INFO: {
        if (arg & 7)
            return -HAKO_EINVAL;
        struct hako_version_info info;
        memset(&info, 0, sizeof(info));
        info.abi_major = HAKO_ABI_MAJOR;
        info.abi_minor = HAKO_ABI_MINOR;
        info.nr_hypercalls = (uint32_t)hypercall_count;
        info.features = cpu_has.nx ? HAKO_FEAT_NX : 0;
        snprintf(info.hv_version, sizeof(info.hv_version), "%s", HAKO_HV_VERSION);
        return guest_copy_to(caller_cr3(), arg, &info, sizeof(info));
    }
    default:
        return -HAKO_ENOSYS;
    }
}

/* sched_op(cmd, arg1, arg2): yield or shut down the calling domain. */
static long hc_sched_op(uint64_t cmd, uint64_t reason, uint64_t code, uint64_t a4,
                        uint64_t a5, uint64_t a6)
{
    (void)a4, (void)a5, (void)a6;
    switch (cmd) {
    case HAKO_SCHED_YIELD:
        schedule();
        return 0;
    case HAKO_SCHED_SHUTDOWN:
        if (reason > HAKO_SHUTDOWN_CRASH || code > HAKO_SHUTDOWN_CODE_MAX)
            return -HAKO_EINVAL;
        if (reason == HAKO_SHUTDOWN_CRASH) {
            printk("d%u (%s) asked to crash, code %lu\n", caller()->domid, caller()->name, code);
            dump_regs(vcpu_regs(current_vcpu()));
        }
        domain_shutdown(caller(), (uint32_t)reason, (uint32_t)code);
        return 0; /* not reached: a stopped domain is never resumed */
    default:
        return -HAKO_ENOSYS;
    }
}

const hypercall_fn hypercall_table[] = {
    [HAKO_HC_console_io] = hc_console_io,
    [HAKO_HC_version] = hc_version,
    [HAKO_HC_sched_op] = hc_sched_op,
};
const uint64_t hypercall_count = ARRAY_SIZE(hypercall_table);
