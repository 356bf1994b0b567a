/*
 * guest-pv/privops_pv.c: the paravirtual backend of the privileged-operations table.
 */
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "privops.h"

static void pv_console_write(const char *buf, size_t len)
{
    while (len) {
        size_t chunk = len < HAKO_CONSOLE_IO_MAX ? len : HAKO_CONSOLE_IO_MAX;
        hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, (unsigned long)buf, chunk);
        buf += chunk, len -= chunk;
    }
}

static long pv_console_read(char *buf, size_t len)
{
    return hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_READ, (unsigned long)buf, len);
}

static void pv_yield(void)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0);
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

static const struct privops pv_ops = {
    .name = "pv",
    .console_write = pv_console_write,
    .console_read = pv_console_read,
    .yield = pv_yield,
    .shutdown = pv_shutdown,
    .mmu_update = pv_mmu_update,
    .update_va_mapping = pv_update_va_mapping,
    .mmuext = pv_mmuext,
    .set_trap_table = pv_set_trap_table,
    .set_kernel_stack = pv_set_kernel_stack,
    .set_syscall_entry = pv_set_syscall_entry,
    .resume = pv_resume,
};

const struct privops *privops = &pv_ops;
