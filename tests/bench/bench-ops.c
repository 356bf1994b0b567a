/*
 * tests/bench/bench-ops.c: the cost of each privileged operation the guest kernel
 * performs, as a hypercall (built and booted with privops=pv) and as a trapped,
 * emulated instruction (privops=trap). One source, two kernels: which backend this one
 * was linked with is privops->name, and every metric is "op.<name>.<backend>".
 *
 *   null        the cheapest round trip: version hypercall / wbinvd (emulated as nothing)
 *   cli, sti    the interrupt flag: the upcall-mask store / cli, sti
 *   idle        privops->idle with an event already pending, the upcall and the return
 *               from it included (sched BLOCK + iret hypercall / sti;hlt, iretq, cli);
 *               the raise of the event (a debug_op hypercall) and the handler's body
 *               are measured apart and subtracted
 *   timer       privops->set_timer, far in the future (set_timer_op / TSC-deadline wrmsr)
 *   cr3         a switch between two kernel roots (mmuext NEW_BASEPTR / mov to cr3);
 *               both roots stay typed (the second is also the user root), as a pinned
 *               root does
 *   tlbflush    privops->tlb_flush (mmuext TLB_FLUSH_LOCAL / mov cr3 of the same root)
 *   invlpg      one page (mmuext INVLPG_LOCAL / invlpg)
 *   pte         one entry of an in-use L1 through privops->pt_write + pt_commit (one
 *               mmu_update of one entry / one plain store)
 *   mmu1        pv only: a bare mmu_update of that one entry, no done pointer (pt_commit
 *               passes one, which costs the hypervisor two more walks of the guest tables)
 *   uva         pv only: update_va_mapping of one entry, no flush
 *   map_page    privops->map_page (update_va_mapping + INVLPG / store + invlpg)
 *   console64   privops->terminal_write of 64 bytes (one console_io WRITE_RAW / four
 *               LSR reads and 64 outs to the emulated UART)
 *   user_return a user-mode syscall and the kernel's return to user mode through
 *               privops->trap_return (iret hypercall / sysretq), per round trip
 *
 * Output lines are bench-core's plus a fourth transition count, exceptions per op:
 * "BENCH metric value per-op syscalls flushes cr3 exceptions" (see bench.h). Syscalls
 * and exceptions are known by construction of each loop; TLB flushes and CR3 loads are
 * the hypervisor's counters (HAKO_DEBUG_COUNTER). scripts/bench.sh turns the lines into
 * results.csv and derives the emulator's overhead (trap minus pv) from them.
 * BENCH-ENVS: pv trap
 */
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/traps.h>

#include <stdbool.h>

#include "bench.h"
#include "framework.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "trap.h"

const char test_title[] = "bench-ops";

#define UL(x) ((uint64_t)(x))
#define USER_CODE 0x400000ul

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);

static struct hako_shared_info *shared;
static struct hako_vcpu_info *vcpu;
static const uint64_t *p2m;
static bool trap_env;                 /* linked with the trap backend */

/* ---- counters and reporting ----------------------------------------------------------- */

/* One of the hypervisor's per-vCPU counters (HAKO_COUNTER_*). */
static uint64_t counter(unsigned which)
{
    return (uint64_t)hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, which, 0);
}

struct hw_counts {
    uint64_t flushes, cr3;            /* TLB flushes (full or one page), CR3 loads */
};

/* The hypervisor's TLB-flush and CR3-load counts so far. */
static struct hw_counts hw_now(void)
{
    return (struct hw_counts){
        .flushes = counter(HAKO_COUNTER_TLB_FLUSHES) + counter(HAKO_COUNTER_INVLPGS),
        .cr3 = counter(HAKO_COUNTER_CR3_LOADS),
    };
}

/* What one operation costs in hardware transitions, by construction. */
struct per_op {
    uint64_t syscalls, exceptions;
};

/* The counts from before to after. */
static struct hw_counts hw_delta(struct hw_counts before, struct hw_counts after)
{
    return (struct hw_counts){ after.flushes - before.flushes, after.cr3 - before.cr3 };
}

/* The counts of a measurement less those of its baseline. */
static struct hw_counts hw_minus(struct hw_counts m, struct hw_counts baseline)
{
    return (struct hw_counts){ m.flushes - baseline.flushes, m.cr3 - baseline.cr3 };
}

/* Print op.<name>.<backend>: total ticks over ops, the transitions behind them. */
static void report_op(const char *name, uint64_t total, uint64_t ops, struct per_op t,
                      struct hw_counts hw)
{
    char metric[48];
    ksnprintf(metric, sizeof(metric), "op.%s.%s", name, privops->name);
    report_exc(metric, total, ops, t.syscalls * ops, hw.flushes, hw.cr3, t.exceptions * ops);
}

/* ---- timing loops --------------------------------------------------------------------- */

typedef void (*op_fn)(uint64_t i);

/* The ticks n calls of op(i) take. */
static uint64_t loop_ticks(op_fn op, uint64_t n)
{
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        op(i);
    return rdtsc() - t0;
}

/* The loop's own work: nothing. */
static void no_op(uint64_t i)
{
    __asm__ volatile("" : : "r"(i) : "memory");
}

/* The ticks of n calls of op beyond the empty loop's; *hw = the transitions counted. */
static uint64_t op_ticks(op_fn op, uint64_t n, struct hw_counts *hw)
{
    struct hw_counts before = hw_now();
    uint64_t t = loop_ticks(op, n);
    *hw = hw_delta(before, hw_now());
    uint64_t empty = loop_ticks(no_op, n);
    return t > empty ? t - empty : 0;
}

/* Time n calls of op and report them as op.<name>.<backend>. */
static void measure(const char *name, op_fn op, uint64_t n, struct per_op t)
{
    struct hw_counts hw;
    uint64_t ticks = op_ticks(op, n, &hw);
    report_op(name, ticks, n, t, hw);
}

/* ---- events ----------------------------------------------------------------------------- */

static volatile uint64_t events_taken;

/* Take every pending event: what an event handler's body does. */
static void consume_events(void)
{
    __atomic_store_n(&vcpu->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vcpu->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    for (unsigned w = 0; w < HAKO_NR_EVENT_CHANNELS / 64; w++)
        if (shared->evtchn_pending[w])
            __atomic_store_n(&shared->evtchn_pending[w], 0, __ATOMIC_SEQ_CST);
}

/* Raise the debug virq: an event pending on return (delivered if unmasked). */
static void raise_debug_event(void)
{
    hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_RAISE_VIRQ, 0, 0);
}

/* ---- user mode -------------------------------------------------------------------------- */

/* The user program: system calls, forever. */
extern const char bo_user_start[], bo_user_end[];
__asm__(".pushsection .text\n"
        "bo_user_start:\n"
        "1:  syscall\n"
        "    jmp 1b\n"
        "bo_user_end:\n"
        ".popsection\n");

static struct kjmp back_from_user;
static volatile uint64_t user_calls, user_target;
static uint64_t user_t0, user_t1;
static struct hw_counts user_hw0, user_hw1;

/* Exceptions and events from the backend's entry: events are consumed; the user
 * program's syscalls are counted and returned from until user_target, then the run
 * ends; anything else stops the benchmark. */
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    if (f->vector == HAKO_TRAP_EVENT) {
        consume_events();
        events_taken++;
        return;
    }
    if (f->vector == HAKO_TRAP_SYSCALL && (f->flags & HAKO_TF_USER) && user_target) {
        uint64_t c = ++user_calls;
        if (c == 1) {
            user_hw0 = hw_now();
            user_t0 = rdtsc();
        }
        if (c <= user_target)
            return;                 /* back to user mode: the operation measured */
        user_t1 = rdtsc();
        user_hw1 = hw_now();
        user_target = 0;
        kjmp_jump(&back_from_user, 1);
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx addr %lx flags %lx\n", f->vector,
            f->error_code, f->rip, f->fault_addr, f->flags);
    xtf_error("unexpected exception");
    kprintf("%u checks, %u failed\nTest result: ERROR\n", xtf_checks, xtf_failures);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, 2);
}

/* ---- the operations ----------------------------------------------------------------------- */

static struct hako_mmuext_op mmuext __attribute__((aligned(8)));

/* One mmuext operation by hypercall. */
static long mmuext_one(unsigned cmd, uint64_t arg1)
{
    mmuext = (struct hako_mmuext_op){ .cmd = cmd, .arg1 = arg1 };
    return hako_hypercall3(HAKO_HC_mmuext_op, UL(&mmuext), 1, 0);
}

/* The cheapest round trip: version() / wbinvd, which the emulator does nothing for. */
static void op_null(uint64_t i)
{
    (void)i;
    if (trap_env)
        __asm__ volatile("wbinvd" ::: "memory");
    else
        hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI);
}

static void op_cli(uint64_t i)
{
    (void)i;
    privops->irq_disable();
}

/* Unmask events as a kernel does: sti, or clear the upcall mask and, should an event
 * have come meanwhile, enter the hypervisor once so it is delivered. */
static void irq_enable(void)
{
    if (trap_env) {
        __asm__ volatile("sti" ::: "memory");
        return;
    }
    __atomic_store_n(&vcpu->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
        hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI);
}

/* sti then cli (sti alone is this minus op_cli). */
static void op_sti_cli(uint64_t i)
{
    (void)i;
    irq_enable();
    privops->irq_disable();
}

/* The baseline of op_idle: raise an event and consume it in place. */
static void op_raise_consume(uint64_t i)
{
    (void)i;
    raise_debug_event();
    consume_events();
}

/* Raise an event, then idle: it is delivered at once and idle returns. */
static void op_raise_idle(uint64_t i)
{
    (void)i;
    raise_debug_event();
    privops->idle();
}

static uint64_t time_base_ns;

/* Arm the one-shot timer well in the future (it never fires here). */
static void op_timer(uint64_t i)
{
    privops->set_timer(time_base_ns + 10000000000ull + i);
}

static uint64_t root_maddr[2];        /* the boot kernel root and its copy */

/* Switch the kernel root to the other one of the two. */
static void op_cr3(uint64_t i)
{
    uint64_t to = root_maddr[(i & 1) ^ 1];
    if (trap_env)
        __asm__ volatile("mov %0, %%cr3" : : "r"(to) : "memory");
    else
        mmuext_one(HAKO_MMUEXT_NEW_BASEPTR, to >> 12);
}

static void op_tlbflush(uint64_t i)
{
    (void)i;
    privops->tlb_flush();
}

static uint64_t scratch_pfn, scratch_va, scratch_l1, scratch_idx;

static void op_invlpg(uint64_t i)
{
    (void)i;
    if (trap_env)
        __asm__ volatile("invlpg (%0)" : : "r"(scratch_va) : "memory");
    else
        mmuext_one(HAKO_MMUEXT_INVLPG_LOCAL, scratch_va);
}

/* The scratch page read-only on even i, writable on odd: every write changes the
 * entry, and an even count of writes leaves it writable. */
static uint64_t scratch_flags(uint64_t i)
{
    return (i & 1) ? PTE_KERNEL_RW : PTE_KERNEL_RO;
}

/* One entry of an in-use L1, written and committed. */
static void op_pte(uint64_t i)
{
    privops->pt_write(scratch_l1, (unsigned)scratch_idx, scratch_pfn, scratch_flags(i));
    privops->pt_commit();
}

static struct hako_mmu_update one_update __attribute__((aligned(8)));

/* pv: mmu_update of the same entry alone, without a done pointer. */
static void op_mmu1(uint64_t i)
{
    one_update = (struct hako_mmu_update){
        .ptr = (p2m[scratch_l1] << 12) | (scratch_idx * 8),
        .val = (p2m[scratch_pfn] << 12) | scratch_flags(i),
    };
    hako_hypercall3(HAKO_HC_mmu_update, UL(&one_update), 1, 0);
}

/* pv: update_va_mapping of the same entry, without a flush. */
static void op_uva(uint64_t i)
{
    hako_hypercall3(HAKO_HC_update_va_mapping, scratch_va,
                    (p2m[scratch_pfn] << 12) | scratch_flags(i), HAKO_UVMF_NONE);
}

static void op_map_page(uint64_t i)
{
    privops->map_page(scratch_va, scratch_pfn, scratch_flags(i));
}

static char line64[64];

static void op_console64(uint64_t i)
{
    (void)i;
    privops->terminal_write(line64, sizeof(line64));
}

/* ---- set-up ----------------------------------------------------------------------------- */

/* Exception gates, the event entry and the syscall entry, all to guest_trap_entry. */
static bool install_entries(void)
{
    static struct hako_trap_info traps[HAKO_TRAP_VECTORS];
    for (unsigned v = 0; v < HAKO_TRAP_VECTORS; v++)
        traps[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    return XTF_EXPECT_RC(privops->set_trap_table(traps, HAKO_TRAP_VECTORS), 0, "trap table") &&
           XTF_EXPECT_RC(privops->set_event_entry(UL(guest_trap_entry)), 0, "event entry") &&
           XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "syscall entry");
}

static uint8_t user_kstack[8192] __attribute__((aligned(16)));

/* A second kernel root: every guest entry of the boot root copied (the same L3s). It
 * is made the user root too, which keeps it typed while it is not loaded. */
static uint64_t copy_kernel_root(void)
{
    uint64_t copy = mm_new_root(), root = mm_kernel_root();
    if (!copy)
        return 0;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t pfn, flags;
        if (i >= HAKO_HV_L4_FIRST && i <= HAKO_HV_L4_LAST)
            continue;
        if ((flags = privops->pt_read(root, i, &pfn)) && privops->pt_write(copy, i, pfn, flags))
            return 0;
    }
    if (privops->pt_commit() ||
        privops->set_user_context(UL(user_kstack + sizeof(user_kstack)), copy))
        return 0;
    return copy;
}

/* A user address space holding the user program at USER_CODE, and the kernel stack
 * its syscalls enter on; 0 or a negative error. */
static long build_user_space(void)
{
    uint64_t code = pfn_alloc(), root = mm_new_root();
    if (!code || !root)
        return -1;
    memcpy(pfn_to_va(code), bo_user_start, (size_t)(bo_user_end - bo_user_start));
    long rc = mm_map(root, USER_CODE, code, PTE_USER_RX);
    if (!rc)
        rc = mm_flush();
    if (!rc)
        rc = privops->set_user_context(UL(user_kstack + sizeof(user_kstack)), root);
    return rc;
}

/* Run the user program for n + 1 syscalls; the ticks of the last n round trips (each
 * a syscall in and a return to user mode), or 0 when it did not come back. */
static uint64_t run_user(uint64_t n)
{
    static struct hako_trap_frame uf __attribute__((aligned(16)));
    uf = (struct hako_trap_frame){ .rip = USER_CODE, .rsp = USER_CODE + 0x2000,
                                   .rflags = HAKO_GUEST_RFLAGS,
                                   .flags = HAKO_TF_USER | HAKO_TF_EVENTS_MASKED };
    user_calls = 0;
    if (kjmp_save(&back_from_user))
        return user_t1 - user_t0;
    user_target = n;
    long rc = privops->resume(&uf);
    user_target = 0;
    xtf_error("return to user mode refused: %ld", rc);
    return 0;
}

/* ---- the benchmark ---------------------------------------------------------------------- */

void test_main(const struct hako_start_info *si)
{
    shared = (struct hako_shared_info *)si->shared_info_va;
    vcpu = &shared->vcpu_info[0];
    p2m = (const uint64_t *)si->p2m_va;
    trap_env = strncmp(privops->name, "trap", 5) == 0;
    mm_init(si);
    if (!install_entries())
        return;
    privops->irq_disable();
    const struct per_op one_call = { 1, 0 }, one_trap = { 0, 1 }, nothing = { 0, 0 };

    measure("null", op_null, 20000, trap_env ? one_trap : one_call);

    /* cli, and sti as the sti+cli pair minus cli (same n, same loop). */
    const uint64_t nf = 20000;
    struct hw_counts hw, hw_base;
    uint64_t cli = op_ticks(op_cli, nf, &hw_base);
    report_op("cli", cli, nf, trap_env ? one_trap : nothing, hw_base);
    uint64_t pair = op_ticks(op_sti_cli, nf, &hw);
    report_op("sti", pair > cli ? pair - cli : 0, nf, trap_env ? one_trap : nothing,
              hw_minus(hw, hw_base));

    /* idle with an event already pending: the upcall is taken and idle returns. */
    static struct hako_evtchn dbg __attribute__((aligned(8))) = { .virq = HAKO_VIRQ_DEBUG };
    if (!XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ,
                                       UL(&dbg)), 0, "bind the debug virq"))
        return;
    const uint64_t ni = 4000;
    uint64_t base = op_ticks(op_raise_consume, ni, &hw_base);
    uint64_t e0 = events_taken;
    uint64_t idle = op_ticks(op_raise_idle, ni, &hw);
    XTF_CHECK(events_taken - e0 == ni, "idle took one event per call (%lu of %lu)",
              events_taken - e0, ni);
    report_op("idle", idle > base ? idle - base : 0, ni,
              trap_env ? (struct per_op){ 0, 3 } : (struct per_op){ 2, 0 },
              hw_minus(hw, hw_base));

    /* The timer, armed far ahead each time, then off. */
    time_base_ns = privops->time_ns();
    measure("timer", op_timer, 4000, trap_env ? one_trap : one_call);
    privops->set_timer(0);

    /* Scratch: a free page of the linear map and the L1 entry that maps it. */
    scratch_pfn = pfn_alloc();
    scratch_va = UL(pfn_to_va(scratch_pfn));
    if (!scratch_pfn || !mm_table(mm_kernel_root(), scratch_va, 1, &scratch_l1)) {
        xtf_error("no scratch page");
        return;
    }
    scratch_idx = mm_index(scratch_va, 1);

    /* CR3 switches between the boot root and its copy; an even count ends on the boot one. */
    uint64_t copy = copy_kernel_root();
    if (!XTF_CHECK(copy != 0, "a copy of the kernel root, held as the user root"))
        return;
    root_maddr[0] = p2m[mm_kernel_root()] << 12;
    root_maddr[1] = p2m[copy] << 12;
    measure("cr3", op_cr3, 4000, trap_env ? one_trap : one_call);
    measure("tlbflush", op_tlbflush, 4000, trap_env ? one_trap : one_call);
    measure("invlpg", op_invlpg, 4000, trap_env ? one_trap : one_call);

    /* Page-table entries: an even count leaves the scratch page writable. */
    measure("pte", op_pte, 4000, trap_env ? one_trap : one_call);
    if (!trap_env) {
        measure("mmu1", op_mmu1, 4000, one_call);
        measure("uva", op_uva, 4000, one_call);
    }
    measure("map_page", op_map_page, 4000, trap_env ? (struct per_op){ 0, 2 } : one_call);
    XTF_CHECK(mm_leaf(mm_kernel_root(), scratch_va, &(uint64_t){ 0 }) & HAKO_PTE_W,
              "the scratch page is writable again");
    *(volatile uint64_t *)scratch_va = 1;

    /* Console: 64 bytes a line (the trap backend polls LSR once per 16 bytes). */
    for (unsigned i = 0; i < sizeof(line64) - 1; i++)
        line64[i] = (char)('0' + i % 10);
    line64[sizeof(line64) - 1] = '\n';
    measure("console64", op_console64, 200, trap_env ? (struct per_op){ 0, 68 } : one_call);

    /* Return to user mode: round trips of the user program's syscall. */
    if (!XTF_EXPECT_RC(build_user_space(), 0, "a user address space"))
        return;
    const uint64_t nu = 2000;
    uint64_t user = run_user(nu);
    if (XTF_CHECK(user != 0, "the user program came back after %lu syscalls", nu + 1))
        report_op("user_return", user, nu,
                  trap_env ? (struct per_op){ 1, 1 } : (struct per_op){ 2, 0 },
                  hw_delta(user_hw0, user_hw1));

    XTF_EXPECT_RC(privops->set_user_context(0, 0), 0, "drop the user root");
    XTF_EXPECT_RC(hako_hypercall3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit");
}
