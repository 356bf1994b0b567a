/*
 * guest-pv/privops_pv.c: the paravirtual backend of the privileged-operations table.
 */
#include <hako/async.h>
#include <hako/events.h>
#include <hako/start_info.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "privops.h"
#include "ringio.h"

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

static void pv_yield(void)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0);
}

static struct hako_vcpu_info *vcpu0;

static void pv_init(const struct hako_start_info *si)
{
    vcpu0 = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
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

/* System time from the vcpu_info time record, without a hypercall (ABI.md 14.4). */
static uint64_t pv_time_ns(void)
{
    const struct hako_vcpu_time_info *ti = &pv_vcpu()->time;
    uint32_t v;
    uint64_t t;
    do {
        v = __atomic_load_n(&ti->version, __ATOMIC_ACQUIRE);
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        uint64_t d = (((uint64_t)hi << 32) | lo) - ti->tsc_timestamp;
        d = ti->tsc_shift >= 0 ? d << ti->tsc_shift : d >> -ti->tsc_shift;
        t = ti->system_time + (uint64_t)(((unsigned __int128)d * ti->tsc_to_system_mul) >> 32);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((v & 1) || v != __atomic_load_n(&ti->version, __ATOMIC_RELAXED));
    return t;
}

/* The wall clock in the shared-info page, under its version protocol (ABI.md 14.1). */
static uint64_t pv_wallclock_ns(void)
{
    const struct hako_shared_info *sh =
        (const struct hako_shared_info *)((const char *)vcpu0 -
                                          __builtin_offsetof(struct hako_shared_info, vcpu_info));
    uint32_t v;
    uint64_t ns;
    do {
        v = __atomic_load_n(&sh->wc_version, __ATOMIC_ACQUIRE);
        ns = sh->wc_sec * 1000000000ull + sh->wc_nsec;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((v & 1) || v != __atomic_load_n(&sh->wc_version, __ATOMIC_RELAXED));
    return ns;
}

static long pv_set_timer(uint64_t deadline_ns)
{
    return hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, deadline_ns);
}

/* mmu_update's FOREIGN command takes the domain as the 4th argument. */
static long pv_map_foreign(uint64_t pte_maddr, uint64_t mfn, unsigned domid)
{
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req.ptr = pte_maddr | HAKO_MMU_PT_UPDATE_FOREIGN;
    req.val = (mfn << 12) | HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX;
    return hako_hypercall6(HAKO_HC_mmu_update, (unsigned long)&req, 1, 0, domid, 0, 0);
}

static __attribute__((noreturn)) void pv_shutdown(unsigned reason, unsigned code)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, reason, code);
    for (;;) /* refused (bad reason or code): crash instead, which cannot be refused */
        hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 255);
}

static long pv_mmu_update(const struct hako_mmu_update *reqs, unsigned n, unsigned *done)
{
    uint64_t d = 0;
    long rc = hako_hypercall3(HAKO_HC_mmu_update, (unsigned long)reqs, n, (unsigned long)&d);
    if (done)
        *done = (unsigned)d;
    return rc;
}

static long pv_update_va_mapping(uint64_t va, uint64_t pte, unsigned flags)
{
    return hako_hypercall3(HAKO_HC_update_va_mapping, va, pte, flags);
}

static long pv_mmuext(const struct hako_mmuext_op *ops, unsigned n)
{
    return hako_hypercall3(HAKO_HC_mmuext_op, (unsigned long)ops, n, 0);
}

static long pv_set_trap_table(const struct hako_trap_info *t, unsigned n)
{
    return hako_hypercall3(HAKO_HC_set_trap_table, (unsigned long)t, n, 0);
}

static long pv_set_kernel_stack(uint64_t rsp)
{
    return hako_hypercall3(HAKO_HC_stack_switch, rsp, 0, 0);
}

static long pv_set_syscall_entry(uint64_t rip)
{
    return hako_hypercall3(HAKO_HC_set_callback, HAKO_CALLBACK_SYSCALL, rip, 0);
}

/* Both halves of a process switch in one multicall: one transition. */
static long pv_set_user_context(uint64_t kernel_rsp, uint64_t user_l4_mfn)
{
    static struct hako_mmuext_op base __attribute__((aligned(8)));
    static struct hako_multicall_entry mc[2] __attribute__((aligned(8)));
    base = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_NEW_USER_BASEPTR, .arg1 = user_l4_mfn };
    mc[0] = (struct hako_multicall_entry){ .op = HAKO_HC_stack_switch, .args = { kernel_rsp } };
    mc[1] = (struct hako_multicall_entry){ .op = HAKO_HC_mmuext_op,
                                           .args = { (uint64_t)&base, 1, 0 } };
    long rc = hako_hypercall2(HAKO_HC_multicall, (uint64_t)mc, 2);
    if (rc < 0)
        return rc;
    return mc[0].result ? mc[0].result : mc[1].result;
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

static void pv_kick(void)
{
    if (async_state > 0)
        hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0);
}

static void pv_queue(uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct hako_async_sqe e = { .op = op, .args = { a0, a1, a2 },
                                .flags = HAKO_ASYNC_NO_COMPLETION };
    bool notify;
    if (!async_up()) {
        hako_hypercall3(op, a0, a1, a2);
        return;
    }
    if (ringio_produce(&async_sq, &e, 1, &notify) != 1) {   /* full: make room */
        pv_kick();
        if (ringio_produce(&async_sq, &e, 1, &notify) != 1)
            hako_hypercall3(op, a0, a1, a2);
    }
}

static const struct privops pv_ops = {
    .name = "pv",
    .init = pv_init,
    .console_write = pv_console_write,
    .terminal_write = pv_terminal_write,
    .console_read = pv_console_read,
    .yield = pv_yield,
    .irq_disable = pv_irq_disable,
    .idle = pv_idle,
    .time_ns = pv_time_ns,
    .wallclock_ns = pv_wallclock_ns,
    .set_timer = pv_set_timer,
    .map_foreign = pv_map_foreign,
    .shutdown = pv_shutdown,
    .mmu_update = pv_mmu_update,
    .update_va_mapping = pv_update_va_mapping,
    .mmuext = pv_mmuext,
    .set_trap_table = pv_set_trap_table,
    .set_kernel_stack = pv_set_kernel_stack,
    .set_syscall_entry = pv_set_syscall_entry,
    .set_user_context = pv_set_user_context,
    .resume = pv_resume,
    .queue = pv_queue,
    .kick = pv_kick,
};

const struct privops *privops = &pv_ops;
