/*
 * hypervisor/guest_peek.c: the one read of guest memory that does not go through the
 * direct map. The trap-mode #GP fast path (emulate_gp_fast) needs the two opcode bytes
 * at the faulting rip; the CPU has just fetched them through the guest's current table,
 * which is a validated one (it maps only frames the guest owns, page tables read-only),
 * so one load through that same mapping reads exactly what the CPU ran, at a fraction
 * of a software walk. SMAP is lifted (stac) for that load alone; a fault on it (the
 * mapping went away, or never allowed a read) is fixed up here and reported, never
 * taken as a hypervisor fault. Isolation does not rest on SMAP: the address is checked
 * to be guest space first, and the table walked is one hako validated.
 */
#include <hako/errno.h>

#include "cpu.h"
#include "guest_access.h"
#include "x86.h"

/* The one load guest_peek2 makes, and where it resumes when that load faults. */
extern const char guest_peek_insn[], guest_peek_resume[];

int __attribute__((noinline, noclone)) guest_peek2(gva_t gva, uint16_t *out)
{
    uint64_t faulted = 0;
    uint32_t val = 0;
    if (!guest_range_ok(gva, 2))
        return -HAKO_EFAULT;
    __asm__ volatile("testl %[smap], %[smap]\n\t"
                     "jz 1f\n\t"
                     "stac\n"
                     "1:\n\t"
                     ".globl guest_peek_insn, guest_peek_resume\n"
                     "guest_peek_insn: movzwl (%[va]), %[val]\n"
                     "guest_peek_resume:\n\t"
                     "testl %[smap], %[smap]\n\t"
                     "jz 2f\n\t"
                     "clac\n"
                     "2:"
                     : [val] "+r"(val), "+S"(faulted)
                     : [va] "r"(gva_x(gva)), [smap] "r"((uint32_t)cpu_has.smap)
                     : "memory", "cc");
    if (faulted)
        return -HAKO_EFAULT;
    *out = (uint16_t)val;
    return 0;
}

bool guest_peek_fixup(struct cpu_regs *regs)
{
    if ((regs->vector != 14 && regs->vector != 13) || regs->rip != (uint64_t)guest_peek_insn)
        return false;
    regs->rip = (uint64_t)guest_peek_resume;
    regs->rsi = 1;                  /* guest_peek2's "faulted" operand */
    return true;
}
