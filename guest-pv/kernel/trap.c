/*
 * guest-pv/kernel/trap.c: dispatch of bounced exceptions and user system calls.
 */
#include "trap.h"

#include <hako/hypercall.h>

#include "events.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "proc.h"

extern char guest_trap_entry[];

static const char *const names[32] = {
    [0] = "divide error", [1] = "debug", [3] = "breakpoint", [4] = "overflow",
    [5] = "bound range", [6] = "invalid opcode", [7] = "device not available",
    [10] = "invalid TSS", [11] = "segment not present", [12] = "stack fault",
    [13] = "general protection", [14] = "page fault", [16] = "x87 error",
    [17] = "alignment check", [19] = "SIMD error",
};

static uint64_t expect_vector = ~0ull, expect_skip;
static const uint64_t *expect_resume;
static int expect_hit;
static struct hako_trap_frame expect_frame;

void trap_expect(uint64_t vector, uint64_t skip)
{
    expect_vector = vector;
    expect_skip = skip;
    expect_resume = 0;
    expect_hit = 0;
}

void trap_expect_at(uint64_t vector, const uint64_t *resume)
{
    trap_expect(vector, 0);
    expect_resume = resume;
}

int trap_expected_hit(struct hako_trap_frame *out)
{
    *out = expect_frame;
    return expect_hit;
}

void trap_init(const struct hako_start_info *boot_info)
{
    struct hako_trap_info t[32];
    unsigned n = 0;
    for (unsigned v = 0; v < 32; v++)
        if (names[v])
            t[n++] = (struct hako_trap_info){ .vector = (uint8_t)v,
                                              .handler = (uint64_t)guest_trap_entry };
    if (privops->set_trap_table(t, n) || privops->set_syscall_entry((uint64_t)guest_trap_entry))
        kprintf("trap: cannot register handlers\n");
    events_init(boot_info, (uint64_t)guest_trap_entry);
}

/* Called by entry.S for every bounced event; returning resumes the frame. The kernel
 * runs with upcalls masked; iret restores the interrupted context's mask. */
static uint64_t exceptions_taken;      /* vectors 0-31 that reached guest_trap */

uint64_t trap_exceptions_taken(void)
{
    return exceptions_taken;
}

void guest_trap(struct guest_regs *regs, struct hako_trap_frame *f)
{
    privops->irq_disable();
    if (f->vector < 32)
        exceptions_taken++;
    if (f->vector == HAKO_TRAP_EVENT) {
        events_dispatch();
        if ((f->flags & HAKO_TF_USER) && cur)
            proc_return_to_user();
        return;
    }
    if (f->vector == HAKO_TRAP_SYSCALL) {
        if (!cur || !(f->flags & HAKO_TF_USER)) {
            f->rax = (uint64_t)-38;          /* no process: nothing to call */
            return;
        }
        proc_syscall(regs, f);
        proc_return_to_user();
        return;
    }
    if ((f->flags & HAKO_TF_USER) && cur) {
        proc_user_fault(f);
        proc_return_to_user();
        return;
    }
    if (f->vector == expect_vector) {
        expect_frame = *f;
        expect_hit = 1;
        expect_vector = ~0ull;
        f->rip = expect_resume ? *expect_resume : f->rip + expect_skip;
        return;
    }
    if (f->vector == 14 && mm_handle_fault(f->fault_addr, f->error_code))
        return;
    kprintf("kernel exception %lu (%s) at rip %lx, error %lx, address %lx, rsp %lx\n",
            f->vector, names[f->vector] ? names[f->vector] : "?", f->rip, f->error_code,
            f->fault_addr, f->rsp);
    privops->shutdown(HAKO_SHUTDOWN_CRASH, (unsigned)f->vector);
}
