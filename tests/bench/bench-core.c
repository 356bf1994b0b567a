/*
 * tests/bench/bench-core.c: microbenchmarks of hypercall and page-table update cost.
 *
 * Run under QEMU -icount shift=0 (rdtsc then counts retired guest instructions, hypervisor
 * included) and under plain TCG (rdtsc counts host TSC ticks). Prints one line per
 * measurement, "BENCH <metric> <value> <unit> <syscalls/op> <tlb flushes/op> <cr3 loads/op>",
 * which scripts/bench.sh turns into build/bench/results.csv. Transition counts are
 * known by construction of each loop (icount charges nothing for them).
 */
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/async.h>
#include <hako/events.h>
#include <hako/memory.h>

#include "bench.h"
#include "framework.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "physmap.h"
#include "ringio.h"

const char test_title[] = "bench-core";

#define REPS 64
#define MAX_BATCH 512

static uint64_t counter(unsigned which)
{
    return (uint64_t)hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, which, 0);
}

/* TLB flushes (full or one page) and CR3 loads so far. */
static void transitions(uint64_t *flushes, uint64_t *cr3)
{
    *flushes = counter(HAKO_COUNTER_TLB_FLUSHES) + counter(HAKO_COUNTER_INVLPGS);
    *cr3 = counter(HAKO_COUNTER_CR3_LOADS);
}


static struct hako_mmu_update reqs[MAX_BATCH];

/* One mmu_update batch; *done (when not NULL) = how many requests were applied. */
static long mmu_update(const struct hako_mmu_update *r, unsigned n, unsigned *done)
{
    uint64_t d = 0;
    long rc = hako_hypercall3(HAKO_HC_mmu_update, (unsigned long)r, n, (unsigned long)&d);
    if (done)
        *done = (unsigned)d;
    return rc;
}

void test_main(const struct hako_start_info *si)
{
    mm_init(si);

    /* hc.null: the cheapest hypercall, version(ABI): entry, dispatch, exit. */
    const uint64_t n = 20000;
    uint64_t f0, c0, f1, c1;
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI);
    uint64_t t1 = rdtsc();
    /* The empty loop, to subtract its own cost. */
    uint64_t t2 = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        __asm__ volatile("" : : "r"(i) : "memory");
    uint64_t t3 = rdtsc();
    report("hc.null", (t1 - t0) - (t3 - t2), n, n, 0, 0);   /* touches no TLB state */

    /* hc.handler.null: the bare version(ABI) handler, timed inside the hypervisor. */
    uint64_t h = (uint64_t)hako_hypercall2(HAKO_HC_debug_op, HAKO_DEBUG_TIME_HANDLER, n);
    report("hc.handler.null", h, n, 0, 0, 0);

    /* hc.multicall@N: the same null call, N to a multicall (per call). */
    static struct hako_multicall_entry mc[256] __attribute__((aligned(8)));
    static const unsigned mc_sizes[] = { 1, 8, 64, 256 };
    for (unsigned s = 0; s < 4; s++) {
        unsigned bn = mc_sizes[s], reps = 8192 / bn;
        for (unsigned i = 0; i < bn; i++)
            mc[i] = (struct hako_multicall_entry){ .op = HAKO_HC_version,
                                                   .args = { HAKO_VERSION_ABI } };
        t0 = rdtsc();
        for (unsigned r = 0; r < reps; r++)
            hako_hypercall2(HAKO_HC_multicall, (uint64_t)mc, bn);
        t1 = rdtsc();
        char name[32];
        ksnprintf(name, sizeof(name), "hc.multicall@%u", bn);
        report(name, t1 - t0, (uint64_t)reps * bn, reps, 0, 0);
    }

    /* hc.async@N: null calls through the asynchronous rings, one doorbell per N. */
    static uint8_t sq_mem[HAKO_ASYNC_RING_HDR + (64 << 8)] __attribute__((aligned(4096)));
    static uint8_t cq_mem[HAKO_ASYNC_RING_HDR + (16 << 8)] __attribute__((aligned(4096)));
    static struct hako_async_setup as __attribute__((aligned(8)));
    static struct hako_async_sqe sqe[256];
    static struct hako_async_cqe cqe[256];
    struct ringio_prod sq;
    struct ringio_cons cq;
    bool nfy;
    ringio_hdr_reset((struct ringio_hdr *)sq_mem, 0);
    ringio_hdr_reset((struct ringio_hdr *)cq_mem, 0);
    ringio_prod_attach(&sq, (struct ringio_hdr *)sq_mem, sq_mem + HAKO_ASYNC_RING_HDR, 8, 64);
    ringio_cons_attach(&cq, (struct ringio_hdr *)cq_mem, cq_mem + HAKO_ASYNC_RING_HDR, 8, 16);
    as = (struct hako_async_setup){ .sq_va = (uint64_t)sq_mem, .cq_va = (uint64_t)cq_mem,
                                    .sq_order = 8, .cq_order = 8 };
    if (hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_SETUP, (uint64_t)&as)) {
        xtf_error("async setup failed");
        return;
    }
    for (unsigned i = 0; i < 256; i++)
        sqe[i] = (struct hako_async_sqe){ .op = HAKO_HC_version, .args = { HAKO_VERSION_ABI } };
    static const unsigned as_sizes[] = { 1, 8, 64, 256 };
    for (unsigned s = 0; s < 4; s++) {
        unsigned bn = as_sizes[s], reps = 8192 / bn;
        t0 = rdtsc();
        for (unsigned r = 0; r < reps; r++) {   /* submit, doorbell, reap: the whole cycle */
            ringio_produce(&sq, sqe, bn, &nfy);
            hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0);
            ringio_consume(&cq, cqe, bn, &nfy);
        }
        t1 = rdtsc();
        char name[32];
        ksnprintf(name, sizeof(name), "hc.async@%u", bn);
        report(name, t1 - t0, (uint64_t)reps * bn, reps, 0, 0);
    }
    /* hc.async@tick: no doorbell: 64 submissions are left for the hypervisor, which runs
     * them when the vCPU next enters it for another reason -- here a BLOCK until a 1 ms
     * timer (idle time costs no instructions under icount). Per op: everything, the
     * block, the timer and two scheduling decisions included, divided by 64. */
    static struct hako_evtchn tv __attribute__((aligned(8))) = { .virq = HAKO_VIRQ_TIMER };
    hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, (uint64_t)&tv);
    const struct hako_vcpu_time_info *ti =
        &((const struct hako_shared_info *)si->shared_info_va)->vcpu_info[0].time;
    t0 = rdtsc();
    for (unsigned r = 0; r < 16; r++) {
        ringio_produce(&sq, sqe, 64, &nfy);
        uint64_t d = rdtsc() - ti->tsc_timestamp;
        d = ti->tsc_shift >= 0 ? d << ti->tsc_shift : d >> -ti->tsc_shift;
        uint64_t now = ti->system_time + (uint64_t)(((unsigned __int128)d * ti->tsc_to_system_mul) >> 32);
        hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, now + 1000000);
        hako_hypercall1(HAKO_HC_sched_op, HAKO_SCHED_BLOCK);
        ringio_consume(&cq, cqe, 64, &nfy);
    }
    t1 = rdtsc();
    report("hc.async@tick", t1 - t0, 16 * 64, 16 * 3, 0, 0);
    hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_TEARDOWN, 0);

    /* Scratch: 512 free pages of the linear map; their L1 entries are what we rewrite,
     * flipping W each round so every request changes a present entry. */
    uint64_t base_pfn = si->first_free_pfn + 64;
    if (base_pfn + MAX_BATCH > si->nr_mapped_pages) {
        xtf_error("not enough mapped memory for the benchmark");
        return;
    }
    uint64_t kl4 = mm_kernel_root();
    for (unsigned i = 0; i < MAX_BATCH; i++)
        reqs[i].ptr = pv_entry_maddr(kl4, (uint64_t)pfn_to_va(base_pfn + i), 1);
    unsigned round = 0;

    /* mmu.uva: one update_va_mapping per PTE (the demand-paging path). */
    uint64_t va = (uint64_t)pfn_to_va(base_pfn);
    uint64_t pte_rw = (pv_mfn(base_pfn) << 12) | PTE_KERNEL_RW;
    transitions(&f0, &c0);
    t0 = rdtsc();
    for (unsigned i = 0; i < 2000; i++)
        hako_hypercall3(HAKO_HC_update_va_mapping, va, (i & 1) ? pte_rw : pte_rw & ~HAKO_PTE_W, HAKO_UVMF_INVLPG);
    t1 = rdtsc();
    transitions(&f1, &c1);
    report("mmu.uva", t1 - t0, 2000, 2000, f1 - f0, c1 - c0);

    /* mmu.batch@N: mmu_update batches of N distinct PTEs. */
    static const unsigned sizes[] = { 1, 8, 64, 512 };
    for (unsigned s = 0; s < 4; s++) {
        unsigned bn = sizes[s];
        uint64_t total = 0, ops = 0;
        transitions(&f0, &c0);
        for (unsigned r = 0; r < REPS; r++, round++) {
            for (unsigned i = 0; i < bn; i++) {
                uint64_t pte = (pv_mfn(base_pfn + i) << 12) | PTE_KERNEL_RW;
                reqs[i].val = (round & 1) ? pte : pte & ~HAKO_PTE_W;
            }
            unsigned done = 0;
            t0 = rdtsc();
            long rc = mmu_update(reqs, bn, &done);
            t1 = rdtsc();
            if (rc || done != bn) {
                xtf_error("mmu_update batch of %u failed: %ld after %u", bn, rc, done);
                return;
            }
            total += t1 - t0;
            ops += bn;
        }
        char name[32];
        ksnprintf(name, sizeof(name), "mmu.batch@%u", bn);
        transitions(&f1, &c1);
        report(name, total, ops, REPS, f1 - f0, c1 - c0);
    }
    /* Leave every scratch page writable again. */
    for (unsigned i = 0; i < MAX_BATCH; i++)
        reqs[i].val = (pv_mfn(base_pfn + i) << 12) | PTE_KERNEL_RW;
    XTF_EXPECT_RC(mmu_update(reqs, MAX_BATCH, NULL), 0, "restore scratch mappings");
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit");
}
