/*
 * hypervisor/debug.c: debug_op, the self-checks a guest (or its tests) can ask for.
 */
#include <hako/hypercall.h>

#include "async.h"
#include "debug.h"
#include "domain.h"
#include "evtchn.h"
#include "frame.h"
#include "hypercall.h"
#include "pagetype.h"
#include "percpu.h"
#include "x86.h"

/* debug_op(cmd, arg): self-checks a guest (or its tests) can ask for. */
long hc_debug_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    switch (a1) {
    case HAKO_DEBUG_AUDIT: {
        struct hv_ref refs[3 + ASYNC_RINGS * ASYNC_MAX_PAGES + 2 + TRAP_KEPT_ROOTS +
                           HAKO_GRANT_FRAMES_MAX] = {
            { _mfn(v->pv.kernel_l4), PGT_L4 },
            { _mfn(v->dom->shinfo_mfn), PGT_WRITABLE },
            { _mfn(v->pv.user_l4), PGT_L4 },
        };
        unsigned n = async_refs(v, refs, v->pv.user_l4 ? 3 : 2);
        for (unsigned i = 0; i < v->nr_mc_held; i++)     /* audit made inside a multicall */
            refs[n++] = (struct hv_ref){ _mfn(v->mc_held[i]), PGT_WRITABLE };
        for (unsigned i = 0; i < TRAP_KEPT_ROOTS; i++)    /* trap mode's kept user roots */
            if (v->trap.kept_roots[i])
                refs[n++] = (struct hv_ref){ _mfn(v->trap.kept_roots[i]), PGT_L4 };
        n = grant_refs(v->dom, refs, n);                  /* its grant-table frames */
        return pagetype_audit(v->dom->domid, refs, n);
    }
    case HAKO_DEBUG_CONTINUATIONS:
        return (long)v->continuations;
    case HAKO_DEBUG_TIME_HANDLER: {
        if (a2 == 0 || a2 > 1000000)
            return -HAKO_EINVAL;
        /* Called through the dispatch table, as the entry path and multicall call it. */
        hypercall_fn fn = v->hc_table[HAKO_HC_version];
        __asm__ volatile("" : "+r"(fn));                  /* no inlining it away */
        uint64_t t0 = rdtsc();
        for (uint64_t i = 0; i < a2; i++) {
            long r = fn(HAKO_VERSION_ABI, 0, 0);
            __asm__ volatile("" : : "r"(r) : "memory");   /* keep every call */
        }
        return (long)(rdtsc() - t0);
    }
    case HAKO_DEBUG_FREE_FRAMES:
        return (long)frame_free_count();
    case HAKO_DEBUG_RAISE_VIRQ:
        evtchn_send_virq(v->dom, HAKO_VIRQ_DEBUG);
        return 0;
    case HAKO_DEBUG_COUNTER:
        switch (a2) {
        case HAKO_COUNTER_TLB_FLUSHES: return (long)v->stat_tlb_flushes;
        case HAKO_COUNTER_INVLPGS: return (long)v->stat_invlpgs;
        case HAKO_COUNTER_CR3_LOADS: return (long)v->stat_cr3_loads;
        default: return -HAKO_EINVAL;
        }
    default:
        return -HAKO_ENOSYS;
    }
}
