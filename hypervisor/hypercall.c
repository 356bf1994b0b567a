/*
 * hypervisor/hypercall.c: the hypercall tables, generated from hcall_list.h; split
 * hypercalls (continuations); and version, which reports what the tables hold. The
 * handlers live with the state they own, each decoding and validating its arguments
 * completely before it acts.
 */
#include <hako/hypercall.h>
#include <hako/version.h>

#include "async.h"
#include "console.h"
#include "cpu.h"
#include "debug.h"
#include "domctl.h"
#include "devices.h"
#include "evtchn.h"
#include "grant.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mmu.h"
#include "multicall.h"
#include "percpu.h"
#include "sched.h"
#include "time.h"
#include "vtrap.h"

#ifndef HAKO_HV_VERSION
#define HAKO_HV_VERSION "unknown"
#endif

/* version(cmd, arg): ABI version, or the full version/feature record. */
long hc_version(HC_ARGS)
{
    (void)a3;
    uint64_t cmd = a1, arg = a2;
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
        info.nr_hypercalls = HC_NR;
        info.features = (cpu_has.nx ? HAKO_FEAT_NX : 0) |
                        (cpu_has.cpuid_faulting ? HAKO_FEAT_CPUID_EMULATED : 0);
        snprintf(info.hv_version, sizeof(info.hv_version), "%s", HAKO_HV_VERSION);
        return guest_copy_to(current_vcpu(), _gva(arg), &info, sizeof(info));
    }
    default:
        return -HAKO_ENOSYS;
    }
}

uint64_t hc_resume(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct vcpu *v = current_vcpu();
    struct hc_continuation *c = &v->cont;
    if (v->mc_args)
        return 0;       /* a call inside a batch: never split, never the one resumed */
    bool same = c->active && c->nr == nr && c->rip == vcpu_regs(v)->rip && c->args[0] == a1 &&
                c->args[1] == a2 && c->args[2] == a3;
    c->active = false;
    return same ? c->progress : 0;
}

long hc_preempt(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t progress)
{
    struct vcpu *v = current_vcpu();
    struct cpu_regs *regs = vcpu_regs(v);
    /* Remember the return address: re-issuing the syscall produces the same one. */
    v->cont = (struct hc_continuation){
        .active = true, .nr = nr, .rip = regs->rip, .args = { a1, a2, a3 }, .progress = progress,
    };
    regs->rip -= 2;                         /* back onto the 2-byte syscall instruction */
    v->continuations++;
    schedule();                             /* let anyone else who is runnable go first */
    return (long)nr;                        /* rax must hold the number when it re-runs */
}

/* An unknown number, or a call the caller's guest type may not make. */
static long hc_unknown(HC_ARGS)
{
    (void)a1, (void)a2, (void)a3;
    return -HAKO_ENOSYS;
}

/* A call a batch may not run: no nesting, no leaving or blocking mid-batch. */
static long hc_refused(HC_ARGS)
{
    (void)a1, (void)a2, (void)a3;
    return -HAKO_EINVAL;
}

#define HC_IN_ORDER(c, name, entry, nargs, flags, guests)                                      \
    _Static_assert(HC_INDEX_##name == HAKO_HC_##name, "HC_LIST in number order: " #name);
HC_LIST(HC_IN_ORDER, 0)
#undef HC_IN_ORDER
_Static_assert(HC_NR <= HC_COUNT_SLOTS, "entry.S counts every number");

const uint64_t hypercall_count = HC_NR;

#define HC_INFO(c, name, entry, nargs_, flags_, guests_)                                       \
    [HAKO_HC_##name] = { .handler = hc_##name, .nargs = (nargs_), .flags = (flags_),        \
                         .guests = (guests_) },
const struct hc_info hc_info[HC_NR] = { HC_LIST(HC_INFO, 0) };
#undef HC_INFO

_Static_assert(HC_BURST_SLOTS <= HC_COUNT_SLOTS && HC_NR <= HC_BURST_SLOTS,
               "every slot is counted, every call has one");

/* The tables of the guest type whose HCG_* bit is hcg, as constants named
 * hc_table_<type>, hc_mc_burst_<type>, hc_async_burst_<type> (hypercall.h). */
#define HC_DISPATCH(hcg, name, entry, nargs, flags, guests)                                 \
    [HAKO_HC_##name] = ((guests) & (hcg)) ? (entry) : hc_unknown,
/* A burst table's slot: unknown to this type, refused in this batch, NULL (left to the
 * C full path), or the syscall entry. */
#define HC_BURST_SLOT(hcg, entry, guests, allowed, full)                                    \
    (!((guests) & (hcg)) ? hc_unknown : !(allowed) ? hc_refused : (full) ? NULL : (entry))
/* multicall: calls that may change the array's mapping, or read a 4th argument, go the
 * full way (the array is translated again after them). */
#define HC_MC_SLOT(hcg, name, entry, nargs, flags, guests)                                  \
    [HAKO_HC_##name] = HC_BURST_SLOT(hcg, entry, guests, (flags) & HCF_MULTICALL,           \
                                     ((flags) & HCF_MAPPINGS) || (nargs) > 3),
/* async: the rings are the hypervisor's own window, so only a 4th argument matters. */
#define HC_ASYNC_SLOT(hcg, name, entry, nargs, flags, guests)                               \
    [HAKO_HC_##name] = HC_BURST_SLOT(hcg, entry, guests, (flags) & HCF_ASYNC, (nargs) > 3),
#define HC_TABLES(type, hcg)                                                                \
    _Pragma("GCC diagnostic push")                                                          \
    _Pragma("GCC diagnostic ignored \"-Woverride-init\"") /* the default, then each call */ \
    const hypercall_fn hc_table_##type[HC_NR] = { HC_LIST(HC_DISPATCH, hcg) };          \
    const hypercall_fn hc_mc_burst_##type[HC_BURST_SLOTS] = {                               \
        [0 ... HC_BURST_SLOTS - 1] = hc_unknown, HC_LIST(HC_MC_SLOT, hcg)               \
    };                                                                                      \
    const hypercall_fn hc_async_burst_##type[HC_BURST_SLOTS] = {                            \
        [0 ... HC_BURST_SLOTS - 1] = hc_unknown, HC_LIST(HC_ASYNC_SLOT, hcg)            \
    };                                                                                      \
    _Pragma("GCC diagnostic pop")

HC_TABLES(pv, HCG_PV)
HC_TABLES(trap, HCG_TRAP)
