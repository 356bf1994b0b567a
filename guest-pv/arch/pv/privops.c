/*
 * guest-pv/arch/pv/privops.c: the paravirtual backends of the privileged-operations
 * table: every operation is a hypercall. Page-table entries hold machine frames
 * (physmap.h translates pfns). Three levels of the same code, one boot word each:
 *   privops=pv        one hypercall per operation: no batching, no rings
 *   privops=pv-batch  entry writes queued and sent as one mmu_update at pt_commit (the
 *                     lazy-MMU window), with the releases of table frames in the same
 *                     multicall
 *   privops=pv-async  (the default) pv-batch, with the releases queued on the
 *                     asynchronous ring instead: the hypervisor runs them when the vCPU
 *                     next blocks, yields or is interrupted, pt_settle at the latest
 */
#include <hako/async.h>
#include <hako/events.h>
#include <hako/start_info.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/version.h>

#include "klib.h"
#include "mm.h"
#include "hvplatform.h"
#include "privops.h"
#include "physmap.h"
#include "ringio.h"

#define BATCH_MAX 64                 /* entry writes per mmu_update batch */
#define DEFER_MAX 32                 /* releases per pv-batch multicall */

/* How much of the hypercall interface this boot uses (the table's init sets it). */
enum pv_level { PV_SINGLE, PV_BATCH, PV_ASYNC };
static enum pv_level level = PV_ASYNC;

/* console_io write of any length, in chunks the hypervisor accepts. */
static void pv_console_out(unsigned cmd, const char *buf, size_t len)
{
    while (len) {
        size_t chunk = len < HAKO_CONSOLE_IO_MAX ? len : HAKO_CONSOLE_IO_MAX;
        hako_hypercall3(HAKO_HC_console_io, cmd, (unsigned long)buf, chunk);
        buf += chunk, len -= chunk;
    }
}

static void pv_console_write(const char *buf, size_t len)
{
    pv_console_out(HAKO_CONSOLE_WRITE, buf, len);
}

static void pv_terminal_write(const char *buf, size_t len)
{
    pv_console_out(HAKO_CONSOLE_WRITE_RAW, buf, len);
}

static long pv_console_read(char *buf, size_t len)
{
    return hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_READ, (unsigned long)buf, len);
}

static struct hako_vcpu_info *vcpu0;

static void pv_init(const struct hako_start_info *si)
{
    vcpu0 = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    physmap_init(si);
    hv_platform_init(si);
}

/* The upcall mask in vcpu_info is the virtual interrupt flag. */
static struct hako_vcpu_info *pv_vcpu(void)
{
    return vcpu0;
}

static void pv_irq_disable(void)
{
    __atomic_store_n(&pv_vcpu()->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
}

/* BLOCK clears the mask, returns at once if an event is pending, and the upcall comes on
 * the way out; mask again afterwards. */
static void pv_idle(void)
{
    hako_hypercall2(HAKO_HC_sched_op, HAKO_SCHED_BLOCK, 0);
    pv_irq_disable();
}

static long pv_set_timer(uint64_t deadline_ns)
{
    return hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, deadline_ns);
}

static long pv_set_trap_table(const struct hako_trap_info *t, unsigned n)
{
    return hako_hypercall3(HAKO_HC_set_trap_table, (unsigned long)t, n, 0);
}

static long pv_set_syscall_entry(uint64_t rip)
{
    return hako_hypercall3(HAKO_HC_set_callback, HAKO_CALLBACK_SYSCALL, rip, 0);
}

static long pv_set_event_entry(uint64_t rip)
{
    return hako_hypercall3(HAKO_HC_set_callback, HAKO_CALLBACK_EVENT, rip, 0);
}

/* Both halves of a process switch, one hypercall each: a two-entry multicall costs the
 * hypervisor more than the transition it saves (make bench, tradeoff ctxsw). */
static long pv_set_user_context(uint64_t kernel_rsp, uint64_t user_root_pfn)
{
    static struct hako_mmuext_op base __attribute__((aligned(8)));
    base = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_NEW_USER_BASEPTR,
                                    .arg1 = user_root_pfn ? pv_mfn(user_root_pfn) : 0 };
    long rc = hako_hypercall2(HAKO_HC_stack_switch, kernel_rsp, 0);
    return rc ? rc : hako_hypercall3(HAKO_HC_mmuext_op, (unsigned long)&base, 1, 0);
}

/* The iret hypercall takes its frame at rsp: switch to the frame, then call. */
static long pv_resume(struct hako_trap_frame *frame)
{
    long rc;
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movq %1, %%rsp\n\t"
                     "syscall\n\t"
                     "movq %%rbx, %%rsp"
                     : "=a"(rc)
                     : "r"(frame), "a"((long)HAKO_HC_iret)
                     : "rbx", "rcx", "r11", "memory");
    return rc;
}

/* Fire-and-forget work goes through the asynchronous hypercall rings (set up on first
 * use); without them it runs at once. */
#define QUEUE_ORDER 4                /* 16 queued operations */
static uint8_t sq_mem[HAKO_ASYNC_RING_HDR + (64 << QUEUE_ORDER)] __attribute__((aligned(64)));
static uint8_t cq_mem[HAKO_ASYNC_RING_HDR + 16] __attribute__((aligned(64)));  /* unused */
static struct ringio_prod async_sq;
static int async_state;              /* 0: not tried, 1: rings up, -1: unavailable */

static bool async_up(void)
{
    static struct hako_async_setup s __attribute__((aligned(8)));
    if (async_state)
        return async_state > 0;
    ringio_hdr_reset((struct ringio_hdr *)sq_mem, 0);
    ringio_hdr_reset((struct ringio_hdr *)cq_mem, 0);
    ringio_prod_attach(&async_sq, (struct ringio_hdr *)sq_mem, sq_mem + HAKO_ASYNC_RING_HDR,
                       QUEUE_ORDER, sizeof(struct hako_async_sqe));
    s = (struct hako_async_setup){ .sq_va = (uint64_t)sq_mem, .cq_va = (uint64_t)cq_mem,
                                   .sq_order = QUEUE_ORDER, .cq_order = 0 };
    async_state = hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_SETUP, (uint64_t)&s) ? -1 : 1;
    return async_state > 0;
}

/* Make sure everything queued on the asynchronous ring has run: one ENTER while the
 * hypervisor has not consumed it all (it drains the ring by itself when the vCPU blocks,
 * yields or is interrupted, so usually nothing is left). */
static void async_kick(void)
{
    if (async_state > 0 && ringio_prod_space(&async_sq) != 1 << QUEUE_ORDER)
        hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0);
}

/* Queue op(a0, a1, a2) to run later, in order, with no result; at once without rings. */
static void async_queue(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct hako_async_sqe e = { .op = op, .args = { a0, a1, a2 },
                                .flags = HAKO_ASYNC_NO_COMPLETION };
    bool notify;
    if (!async_up()) {
        hako_hypercall3(op, a0, a1, a2);
        return;
    }
    if (ringio_produce(&async_sq, &e, 1, &notify) != 1) {   /* full: make room */
        async_kick();
        if (ringio_produce(&async_sq, &e, 1, &notify) != 1)
            hako_hypercall3(op, a0, a1, a2);
    }
}

/* The lazy-MMU window: entry writes waiting for pt_commit, and (pv-batch) the releases
 * that go in the same multicall after them. */
static struct hako_mmu_update batch[BATCH_MAX];
static unsigned batch_len;
static struct hako_multicall_entry deferred[1 + DEFER_MAX] __attribute__((aligned(8)));
static unsigned deferred_len;        /* entries from deferred[1] on */

/* Send the window: one mmu_update, or one multicall of it and the releases. No done
 * pointer: writing it back costs the hypervisor two more walks of the guest's tables,
 * and a failure is a kernel bug either way (it is reported). */
static long pv_pt_commit(void)
{
    long rc = 0;
    if (!batch_len && !deferred_len)
        return 0;                       /* an empty window (always, with privops=pv) */
    if (deferred_len) {
        unsigned first = batch_len ? 0 : 1;
        deferred[0] = (struct hako_multicall_entry){
            .op = HAKO_HC_mmu_update,
            .args = { (uint64_t)batch, batch_len, 0 } };
        rc = hako_hypercall2(HAKO_HC_multicall, (uint64_t)&deferred[first],
                             1 + deferred_len - first);
        rc = rc < 0 ? rc : 0;           /* the number of entries run, or an error */
        for (unsigned i = first; rc == 0 && i <= deferred_len; i++)
            rc = deferred[i].result;
    } else if (batch_len) {
        rc = hako_hypercall3(HAKO_HC_mmu_update, (unsigned long)batch, batch_len, 0);
    }
    if (rc)
        kprintf("pv: page-table batch of %u writes and %u releases failed: %ld\n", batch_len,
                deferred_len, rc);
    batch_len = deferred_len = 0;
    return rc;
}

static long pv_pt_write(uint64_t table_pfn, unsigned idx, uint64_t pfn, uint64_t flags)
{
    struct hako_mmu_update u = { .ptr = pv_table_entry_maddr(table_pfn, idx),
                                 .val = pv_pte(pfn, flags) };
    if (level == PV_SINGLE)
        return hako_hypercall3(HAKO_HC_mmu_update, (unsigned long)&u, 1, 0);
    batch[batch_len++] = u;
    return batch_len == BATCH_MAX ? pv_pt_commit() : 0;
}

/* The frame's linear alias: read-only while it is a table, read-write otherwise. */
static long set_alias(uint64_t pfn, uint64_t flags)
{
    return hako_hypercall3(HAKO_HC_update_va_mapping, (uint64_t)pfn_va(pfn), pv_pte(pfn, flags),
                           HAKO_UVMF_INVLPG);
}

/* A table frame has no writable mapping (ABI.md 12); a root is pinned as well. */
static long pv_pt_adopt(uint64_t pfn, unsigned table_level)
{
    static struct hako_mmuext_op pin __attribute__((aligned(8)));
    long rc = set_alias(pfn, PTE_KERNEL_RO);
    if (rc || table_level != 4)
        return rc;
    pin = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_PIN_L4_TABLE, .arg1 = pv_mfn(pfn) };
    if ((rc = hako_hypercall3(HAKO_HC_mmuext_op, (unsigned long)&pin, 1, 0)))
        set_alias(pfn, PTE_KERNEL_RW);
    return rc;
}

/* Unpin a root at once (that ends the tree's page-table types); the writable alias
 * comes back at once (pv), with the next pt_commit (pv-batch), or from the asynchronous
 * ring (pv-async: pt_settle makes sure it has). */
static void pv_pt_release(uint64_t pfn, unsigned table_level)
{
    static struct hako_mmuext_op unpin __attribute__((aligned(8)));
    if (table_level == 4) {
        unpin = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_UNPIN_TABLE, .arg1 = pv_mfn(pfn) };
        if (hako_hypercall3(HAKO_HC_mmuext_op, (unsigned long)&unpin, 1, 0))
            kprintf("pv: cannot unpin the table at pfn %lu\n", (unsigned long)pfn);
    }
    uint64_t va = (uint64_t)pfn_va(pfn), pte = pv_pte(pfn, PTE_KERNEL_RW);
    if (level == PV_ASYNC) {
        async_queue(HAKO_HC_update_va_mapping, va, pte, HAKO_UVMF_INVLPG);
    } else if (level == PV_BATCH) {
        deferred[1 + deferred_len++] = (struct hako_multicall_entry){
            .op = HAKO_HC_update_va_mapping, .args = { va, pte, HAKO_UVMF_INVLPG } };
        if (deferred_len == DEFER_MAX)
            pv_pt_commit();
    } else if (set_alias(pfn, PTE_KERNEL_RW)) {
        kprintf("pv: cannot make the frame at pfn %lu writable again\n", (unsigned long)pfn);
    }
}

/* pv-async: the releases queued have all run. */
static void pv_pt_settle(void)
{
    async_kick();
}

static long pv_map_page(uint64_t va, uint64_t pfn, uint64_t flags)
{
    return hako_hypercall3(HAKO_HC_update_va_mapping, va, pv_pte(pfn, flags), HAKO_UVMF_INVLPG);
}

static void pv_tlb_flush(void)
{
    static struct hako_mmuext_op op __attribute__((aligned(8)));
    op = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_TLB_FLUSH_LOCAL };
    hako_hypercall3(HAKO_HC_mmuext_op, (unsigned long)&op, 1, 0);
}

/* guest_trap_entry's way back: the iret hypercall takes the frame at rsp and restores
 * rax, rcx and r11 from it. */
#define STR_(x) #x
#define STR(x) STR_(x)
void pv_trap_return(void);
__asm__(".text\n"
        "pv_trap_return:\n\t"
        "movl $" STR(HAKO_HC_iret) ", %eax\n\t"
        "syscall\n\t"
        "ud2\n");                     /* iret refused the frame */

/* One table per level; they differ in name, in the level their init sets and in
 * pt_settle (only pv-async leaves releases queued after pt_commit). */
#define PV_INIT(fn, lvl)                                                      \
    static void fn(const struct hako_start_info *si) { level = lvl; pv_init(si); }
PV_INIT(pv_init_single, PV_SINGLE)
PV_INIT(pv_init_batch, PV_BATCH)
PV_INIT(pv_init_async, PV_ASYNC)

#define PV_TABLE(sym, name_, init_, settle_) \
const struct privops sym = { \
    .trap_return = pv_trap_return, \
    .name = name_, \
    .on_hypervisor = 1, \
    .init = init_, \
    .console_write = pv_console_write, \
    .terminal_write = pv_terminal_write, \
    .console_read = pv_console_read, \
    .platform_version = hv_platform_version, \
    .yield = hv_yield, \
    .irq_disable = pv_irq_disable, \
    .idle = pv_idle, \
    .time_ns = hv_time_ns, \
    .wallclock_ns = hv_wallclock_ns, \
    .set_timer = pv_set_timer, \
    .shutdown = hv_shutdown, \
    .pt_read = pv_pt_read, \
    .pt_write = pv_pt_write, \
    .pt_commit = pv_pt_commit, \
    .pt_adopt = pv_pt_adopt, \
    .pt_release = pv_pt_release, \
    .map_page = pv_map_page, \
    .map_foreign = pv_map_foreign, \
    .tlb_flush = pv_tlb_flush, \
    .set_trap_table = pv_set_trap_table, \
    .set_syscall_entry = pv_set_syscall_entry, \
    .event_channel_op = hv_event_channel_op, \
    .set_event_entry = pv_set_event_entry, \
    .set_user_context = pv_set_user_context, \
    .resume = pv_resume, \
    .pt_settle = settle_, \
    .hw_counts = hv_hw_counts, \
}

PV_TABLE(privops_pv, "pv", pv_init_single, NULL);
PV_TABLE(privops_pv_batch, "pv-batch", pv_init_batch, NULL);
PV_TABLE(privops_pv_async, "pv-async", pv_init_async, pv_pt_settle);
