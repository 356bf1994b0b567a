/*
 * guest-pv/drivers/hvplatform.c: platform services shared by the privops backends that
 * run on hako (see hvplatform.h).
 */
#include "hvplatform.h"

#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/version.h>

#include "privops.h"

static const struct hako_shared_info *shared;
static uint16_t self_domid;

void hv_platform_init(const struct hako_start_info *si)
{
    shared = (const struct hako_shared_info *)si->shared_info_va;
    self_domid = (uint16_t)si->domid;
}

/* One of the hypervisor's per-vCPU counters (HAKO_COUNTER_*), 0 when refused. */
static uint64_t hv_counter(unsigned which)
{
    long n = hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, which, 0);
    return n < 0 ? 0 : (uint64_t)n;
}

void hv_hw_counts(struct privops_hw *out)
{
    static struct hako_domctl_info info __attribute__((aligned(8)));
    *out = (struct privops_hw){ 0 };
    info = (struct hako_domctl_info){ .domid = self_domid };
    if (hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, (uint64_t)&info) == 0) {
        for (unsigned i = 0; i < HAKO_DOMCTL_HC_SLOTS; i++)
            out->hypercalls += info.hc_counts[i];
        for (unsigned i = 0; i < 32; i++)
            out->exceptions += info.traps[i];
    }
    out->cr3_loads = hv_counter(HAKO_COUNTER_CR3_LOADS);
    out->tlb_flushes = hv_counter(HAKO_COUNTER_TLB_FLUSHES) + hv_counter(HAKO_COUNTER_INVLPGS);
}

long hv_platform_version(char *buf, size_t len)
{
    static struct hako_version_info info __attribute__((aligned(8)));
    long rc = hako_hypercall2(HAKO_HC_version, HAKO_VERSION_INFO, (uint64_t)&info);
    if (rc)
        return rc;
    size_t n = 0;
    for (; n + 1 < len && n < sizeof(info.hv_version) && info.hv_version[n]; n++)
        buf[n] = info.hv_version[n];
    if (len)
        buf[n] = 0;
    return 0;
}

/* System time from vCPU 0's time record, without a hypercall (ABI.md 14.4). */
uint64_t hv_time_ns(void)
{
    return hako_system_time_ns(&shared->vcpu_info[0].time);
}

/* The wall clock in the shared-info page, under its version protocol (ABI.md 14.1). */
uint64_t hv_wallclock_ns(void)
{
    uint32_t v;
    uint64_t ns;
    do {
        v = __atomic_load_n(&shared->wc_version, __ATOMIC_ACQUIRE);
        ns = shared->wc_sec * 1000000000ull + shared->wc_nsec;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((v & 1) || v != __atomic_load_n(&shared->wc_version, __ATOMIC_RELAXED));
    return ns;
}

void hv_yield(void)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0);
}

void hv_shutdown(unsigned reason, unsigned code)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, reason, code);
    for (;;) /* refused (bad reason or code): crash instead, which cannot be refused */
        hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 255);
}

long hv_event_channel_op(unsigned cmd, uint64_t arg)
{
    return hako_hypercall2(HAKO_HC_event_channel_op, cmd, arg);
}
