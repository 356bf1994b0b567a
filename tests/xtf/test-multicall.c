/*
 * tests/xtf/test-multicall.c: batched hypercalls. Every entry runs in order with its own
 * result; failures do not stop a batch unless asked to; nesting and iret are refused;
 * bad arrays fail cleanly; long batches are split and completed; batch hypercalls inside
 * a multicall run to their end; the burst loop and the full path agree wherever the
 * entries they share a batch with, and the page boundaries, fall; an array whose va is
 * remapped (between calls or by the batch itself) is read from its new frame.
 */
#include <hako/domctl.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "framework.h"
#include "klib.h"
#include "mm.h"
#include "physmap.h"

const char test_title[] = "multicall";

#define UL(x) ((unsigned long)(x))
static struct hako_multicall_entry mc[HAKO_MULTICALL_MAX] __attribute__((aligned(8)));

static long multicall(struct hako_multicall_entry *calls, unsigned long n)
{
    return hako_hypercall2(HAKO_HC_multicall, UL(calls), n);
}

static void set(unsigned i, uint64_t op, uint64_t a1, uint64_t a2, uint64_t a3, uint32_t flags)
{
    mc[i] = (struct hako_multicall_entry){ .op = op, .args = { a1, a2, a3 }, .result = 0x55,
                                           .flags = flags };
}

/* Hypercalls number nr this domain has made (domctl GETINFO). */
static uint64_t hc_made(uint32_t domid, unsigned nr)
{
    static struct hako_domctl_info info __attribute__((aligned(8)));
    memset(&info, 0, sizeof(info));
    info.domid = (uint16_t)domid;
    if (hako_hypercall3(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, UL(&info), 0))
        return ~0ull;
    return info.hc_counts[nr];
}

/* Batches of length 1..70 of version calls starting at entries around a page boundary
 * (so the entry across it falls at many places in them, and at every place in the burst
 * loop's rounds of four), each with one entry at position `at` (many positions, and none)
 * of a kind the burst loop leaves to the full path: a sched_op (yield), an unknown flag,
 * an unknown number, a refused call. Every entry must get its own result and every call
 * run must be counted once. */
static void test_burst_edges(uint32_t domid)
{
    /* The first entry that crosses a page boundary, minus some: starts near one. */
    unsigned base = 0;
    while ((UL(&mc[base + 1]) & 4095) >= (UL(&mc[base]) & 4095))
        base++;
    base = base > 40 ? base - 40 : 0;
    unsigned bad = 0, runs = 0;
    uint64_t v0 = hc_made(domid, HAKO_HC_version), s0 = hc_made(domid, HAKO_HC_sched_op);
    uint64_t versions = 0, yields = 0;
    for (unsigned kind = 0; kind < 4; kind++) {
        for (unsigned len = 1; len <= 70; len += (len < 12 ? 1 : 7)) {
            for (unsigned start = base; start < base + 48; start += 3) {
                for (unsigned at = 0; at <= len; at += (len < 12 ? 1 : 5)) {
                    struct hako_multicall_entry *b = &mc[start];
                    for (unsigned i = 0; i < len; i++)
                        set(start + i, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
                    long want_at = 0;
                    if (at < len) {
                        switch (kind) {
                        case 0: set(start + at, HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0, 0);
                                want_at = 0; yields++; break;
                        case 1: b[at].flags = 1u << 7; want_at = -HAKO_EINVAL; break;
                        case 2: b[at].op = 32 + at; want_at = -HAKO_ENOSYS; break;
                        case 3: b[at].op = HAKO_HC_iret; want_at = -HAKO_EINVAL; break;
                        }
                    }
                    versions += len - (at < len);
                    runs++;
                    long rc = multicall(b, len);
                    int ok = rc == (long)len;
                    for (unsigned i = 0; i < len; i++)
                        ok &= b[i].result == (i == at ? want_at : HAKO_ABI_VERSION);
                    if (!ok && bad++ < 5)
                        xtf_failure("burst edges: kind %u, %u entries from %u, special at %u: "
                                    "rc %ld", kind, len, start, at, rc);
                }
            }
        }
    }
    XTF_CHECK(bad == 0, "%u of %u batches with a full-path entry went wrong", bad, runs);
    uint64_t dv = hc_made(domid, HAKO_HC_version) - v0, ds = hc_made(domid, HAKO_HC_sched_op) - s0;
    XTF_CHECK(dv == versions && ds == yields,
              "calls counted: version %lu (ran %lu), sched_op %lu (ran %lu)", dv, versions, ds,
              yields);
}

/* The array's page is translated again when its va is remapped (the translation cache
 * re-checks the page-table entries it used; ABI.md 7.5, 6): a multicall at va runs from
 * frame A, va is remapped to frame B holding another array -- by update_va_mapping
 * between two multicalls, then by the batch's own first entry -- and the next entries run
 * are B's, with their results stored in B; A's results stay as they were. A's entries
 * are version calls, B's console writes, so each result says which array ran. */
static void test_remapped_array(void)
{
    static const char b_ran[] = "multicall: array B ran\n";
    const uint64_t va = 0x200000000000ul, pte = PTE_KERNEL_RW, mark = 0x55;
    const long b_result = sizeof(b_ran) - 1;
    uint64_t pa = pfn_alloc(), pb = pfn_alloc();
    if (!pa || !pb || mm_map(mm_kernel_root(), va, pa, pte) || mm_flush()) {
        xtf_error("cannot map an array page at %lx", va);
        return;
    }
    struct hako_multicall_entry *a = pfn_to_va(pa), *b = pfn_to_va(pb);
    struct hako_multicall_entry *at = (struct hako_multicall_entry *)va;
    const struct hako_multicall_entry version = { .op = HAKO_HC_version, .result = mark },
        write_b = { .op = HAKO_HC_console_io,
                    .args = { HAKO_CONSOLE_WRITE, UL(b_ran), b_result }, .result = mark };
    a[0] = version, b[0] = write_b;
    XTF_EXPECT_RC(multicall(at, 1), 1, "multicall from array A (its page now cached)");
    XTF_CHECK(a[0].result == HAKO_ABI_VERSION, "array A's entry: result %ld", (long)a[0].result);
    a[0].result = mark;
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_update_va_mapping, va, (pv_mfn(pb) << 12) | pte,
                                  HAKO_UVMF_INVLPG), 0, "remap the array's va to frame B");
    XTF_EXPECT_RC(multicall(at, 1), 1, "multicall at the same va, now frame B");
    XTF_CHECK(b[0].result == b_result && a[0].result == (long)mark,
              "after remapping the array's va between calls: B's result %ld (want %ld: B's "
              "write ran there), A's %ld (want %ld: untouched)", (long)b[0].result, b_result,
              (long)a[0].result, (long)mark);

    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_update_va_mapping, va, (pv_mfn(pa) << 12) | pte,
                                  HAKO_UVMF_INVLPG), 0, "map frame A at the va again");
    a[0] = (struct hako_multicall_entry){ .op = HAKO_HC_update_va_mapping,
                                          .args = { va, (pv_mfn(pb) << 12) | pte,
                                                    HAKO_UVMF_INVLPG }, .result = mark };
    a[1] = version, b[0] = version, b[1] = write_b;
    XTF_EXPECT_RC(multicall(at, 2), 2, "multicall whose first entry remaps its own array");
    XTF_CHECK(b[0].result == 0 && b[1].result == b_result && a[0].result == (long)mark &&
                  a[1].result == (long)mark,
              "after the batch remapped its array: B's results %ld %ld (want 0, %ld), A's %ld "
              "%ld (want %ld, %ld: untouched)", (long)b[0].result, (long)b[1].result, b_result,
              (long)a[0].result, (long)a[1].result, (long)mark, (long)mark);
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_update_va_mapping, va, 0, HAKO_UVMF_INVLPG), 0,
                  "unmap the array's va");
    pfn_free(pa);
    pfn_free(pb);
}

void test_main(const struct hako_start_info *si)
{
    mm_init(si);
    /* Basic batch and per-entry results, failures not stopping it. */
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    set(1, 999, 0, 0, 0, 0);
    set(2, HAKO_HC_console_io, HAKO_CONSOLE_WRITE, UL("mc\n"), 3, 0);
    set(3, HAKO_HC_version, 77, 0, 0, 0);
    set(4, HAKO_HC_multicall, UL(mc), 1, 0, 0);
    set(5, HAKO_HC_iret, 0, 0, 0, 0);
    XTF_EXPECT_RC(multicall(mc, 6), 6, "batch of 6 with failures runs them all");
    XTF_CHECK(mc[0].result == HAKO_ABI_VERSION, "entry 0 result %ld", (long)mc[0].result);
    XTF_CHECK(mc[1].result == -HAKO_ENOSYS, "unknown op result %ld", (long)mc[1].result);
    XTF_CHECK(mc[2].result == 3, "console write result %ld", (long)mc[2].result);
    XTF_CHECK(mc[3].result == -HAKO_ENOSYS, "unknown sub-command result %ld", (long)mc[3].result);
    XTF_CHECK(mc[4].result == -HAKO_EINVAL, "nested multicall refused: %ld", (long)mc[4].result);
    XTF_CHECK(mc[5].result == -HAKO_EINVAL, "iret in a batch refused: %ld", (long)mc[5].result);

    /* Stop on error: the rest is cancelled, not run. */
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    set(1, HAKO_HC_version, 77, 0, 0, HAKO_MC_STOP_ON_ERROR);
    set(2, HAKO_HC_console_io, HAKO_CONSOLE_WRITE, UL("NOT REACHED\n"), 12, 0);
    set(3, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    XTF_EXPECT_RC(multicall(mc, 4), 2, "stop on error: 2 entries ran");
    XTF_CHECK(mc[1].result == -HAKO_ENOSYS && mc[2].result == -HAKO_ECANCELED &&
                  mc[3].result == -HAKO_ECANCELED,
              "stop on error results %ld %ld %ld", (long)mc[1].result, (long)mc[2].result,
              (long)mc[3].result);
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, HAKO_MC_STOP_ON_ERROR);
    XTF_EXPECT_RC(multicall(mc, 1), 1, "stop flag on a succeeding entry changes nothing");

    /* Bad entries and arrays. */
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 1u << 5);
    XTF_EXPECT_RC(multicall(mc, 1), 1, "unknown flag: the entry fails, the call does not");
    XTF_CHECK(mc[0].result == -HAKO_EINVAL, "unknown flag result %ld", (long)mc[0].result);
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    mc[0]._pad0 = 1;
    multicall(mc, 1);
    XTF_CHECK(mc[0].result == -HAKO_EINVAL, "non-zero padding result %ld", (long)mc[0].result);
    XTF_EXPECT_RC(multicall(mc, HAKO_MULTICALL_MAX + 1), -HAKO_E2BIG, "too many entries");
    XTF_EXPECT_RC(multicall((void *)(UL(mc) + 4), 1), -HAKO_EINVAL, "misaligned array");
    XTF_EXPECT_RC(multicall(NULL, 1), -HAKO_EFAULT, "NULL array");
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_multicall, 0xFFFF800000000000ul, 1), -HAKO_EFAULT,
                  "array in the hypervisor's range");
    XTF_EXPECT_RC(multicall(NULL, 0), 0, "empty batch");
    {   /* An array that runs past 2^64 does not go on at address 0 (ABI 6: no range
         * wraps): its last page is the top one and page 0 is mapped too. The entry in
         * the top page runs, the next one is a fault. */
        const uint64_t top = 0xFFFFFFFFFFFFF000ul, off = 4096 - sizeof(mc[0]);
        uint64_t pt = pfn_alloc(), pz = pfn_alloc();
        if (!pt || !pz || mm_map(mm_kernel_root(), top, pt, PTE_KERNEL_RW) ||
            mm_map(mm_kernel_root(), 0, pz, PTE_KERNEL_RW) || mm_flush()) {
            xtf_error("cannot map the top page and page 0");
        } else {
            struct hako_multicall_entry *last = (void *)((char *)pfn_to_va(pt) + off),
                                        *zero = pfn_to_va(pz);
            *last = (struct hako_multicall_entry){ .op = HAKO_HC_version, .result = 0x55 };
            *zero = *last;
            XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_multicall, top + off, 2), -HAKO_EFAULT,
                          "array running past 2^64");
            XTF_CHECK(last->result == HAKO_ABI_VERSION && zero->result == 0x55,
                      "array past 2^64: results %ld (top) and %ld (address 0, not run)",
                      (long)last->result, (long)zero->result);
            mm_unmap(mm_kernel_root(), top);
            mm_unmap(mm_kernel_root(), 0);
            mm_flush();
        }
    }
    /* An array in read-only memory: the first result cannot be written. */
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_multicall, si->pt_base_va, 1), -HAKO_EFAULT,
                  "array in read-only memory");

    /* A long batch is split and completed. */
    long c0 = hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_CONTINUATIONS);
    for (unsigned i = 0; i < HAKO_MULTICALL_MAX; i++)
        set(i, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    XTF_EXPECT_RC(multicall(mc, HAKO_MULTICALL_MAX), HAKO_MULTICALL_MAX, "4096 entries");
    int all = 1;
    for (unsigned i = 0; i < HAKO_MULTICALL_MAX; i++)
        all &= mc[i].result == HAKO_ABI_VERSION;
    XTF_CHECK(all, "every entry of the long batch has its result");
    XTF_CHECK(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_CONTINUATIONS) > c0,
              "the long batch was split and continued");

    /* Batches inside a batch are never split, so they are kept short: a 1024-request
     * mmu_update in a multicall runs to its end, a longer one is refused. */
    static struct hako_mmu_update req[2000];
    uint64_t pfn = si->first_free_pfn + 100;
    uint64_t maddr = pv_entry_maddr(mm_kernel_root(), UL(pfn_to_va(pfn)), 1);
    uint64_t pte = (pv_mfn(pfn) << 12) | PTE_KERNEL_RW;
    for (unsigned i = 0; i < 2000; i++)
        req[i] = (struct hako_mmu_update){ .ptr = maddr, .val = (i & 1) ? pte : pte & ~HAKO_PTE_W };
    req[1023].val = pte;                          /* the 1024-request batch ends writable */
    static uint64_t done __attribute__((aligned(8)));
    set(0, HAKO_HC_mmu_update, UL(req), 1024, UL(&done), 0);
    set(1, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    set(2, HAKO_HC_mmu_update, UL(req), 2000, UL(&done), 0);
    XTF_EXPECT_RC(multicall(mc, 3), 3, "multicall with mmu_update batches");
    XTF_CHECK(mc[0].result == 0 && mc[1].result == HAKO_ABI_VERSION &&
                  mc[2].result == -HAKO_E2BIG && done == 1024,
              "mmu_update inside multicall: results %ld %ld, done %lu", (long)mc[0].result,
              (long)mc[2].result, done);
    test_burst_edges(si->domid);
    test_remapped_array();
    /* The audit made from inside a batch (the array page is held meanwhile) is exact. */
    set(0, HAKO_HC_version, HAKO_VERSION_ABI, 0, 0, 0);
    set(1, HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0, 0);
    set(2, HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0, 0);
    set(3, HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0, 0);
    XTF_EXPECT_RC(multicall(mc, 4), 4, "multicall with audits");
    XTF_CHECK(mc[1].result == 0 && mc[3].result == 0, "audit inside a multicall: %ld, %ld",
              (long)mc[1].result, (long)mc[3].result);
    {   /* and with the audit entry across a page boundary (both pages held) */
        unsigned x = 0;
        while ((UL(&mc[x]) & 4095) + sizeof(mc[0]) <= 4096)
            x++;
        set(x, HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0, 0);
        set(x + 1, HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0, 0);
        XTF_EXPECT_RC(multicall(&mc[x], 2), 2, "multicall with audits across a page");
        XTF_CHECK(mc[x].result == 0 && mc[x + 1].result == 0,
                  "audit inside a multicall across a page: %ld, %ld", (long)mc[x].result,
                  (long)mc[x + 1].result);
    }
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit after");
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI), HAKO_ABI_VERSION,
                  "hypervisor still works");
}
