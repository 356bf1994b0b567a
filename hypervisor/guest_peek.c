/*
 * hypervisor/guest_peek.c: the one read of guest memory that does not go through the
 * direct map. The trap-mode emulator needs the instruction bytes at the faulting rip;
 * the CPU has just fetched them through the guest's current table,
 * which is a validated one (it maps only frames the guest owns, page tables read-only),
 * so two loads through that same mapping read exactly what the CPU ran, at a fraction
 * of a software walk (emulate.c falls back to the walk when they cannot). SMAP is lifted (stac) for those loads alone; a fault on one (the
 * mapping went away, or never allowed a read) is fixed up here and reported, never
 * taken as a hypervisor fault. Isolation does not rest on SMAP: the address is checked
 * to be guest space first, and the table walked is one hako validated.
 */
#include <hako/errno.h>

#include "cpu.h"
#include "guest_access.h"
#include "x86.h"

/* The two loads guest_peek_insn makes, and where it resumes when either faults. */
extern const char guest_peek_load0[], guest_peek_load1[], guest_peek_resume[];

int __attribute__((noinline, noclone)) guest_peek_insn(gva_t gva, uint8_t out[16])
{
    uint64_t faulted = 0, lo = 0, hi = 0;
    if (!guest_range_ok(gva, 16))
        return -HAKO_EFAULT;
    __asm__ volatile("testl %[smap], %[smap]\n\t"
                     "jz 1f\n\t"
                     "stac\n"
                     "1:\n\t"
                     ".globl guest_peek_load0, guest_peek_load1, guest_peek_resume\n"
                     "guest_peek_load0: movq (%[va]), %[lo]\n"
                     "guest_peek_load1: movq 8(%[va]), %[hi]\n"
                     "guest_peek_resume:\n\t"
                     "testl %[smap], %[smap]\n\t"
                     "jz 2f\n\t"
                     "clac\n"
                     "2:"
                     : [lo] "+r"(lo), [hi] "+r"(hi), "+S"(faulted)
                     : [va] "r"(gva_x(gva)), [smap] "r"((uint32_t)cpu_has.smap)
                     : "memory", "cc");
    if (faulted)
        return -HAKO_EFAULT;
    __builtin_memcpy(out, &lo, 8);
    __builtin_memcpy(out + 8, &hi, 8);
    return 0;
}

bool guest_peek_fixup(struct cpu_regs *regs)
{
    if ((regs->vector != 14 && regs->vector != 13) ||
        (regs->rip != (uint64_t)guest_peek_load0 && regs->rip != (uint64_t)guest_peek_load1))
        return false;
    regs->rip = (uint64_t)guest_peek_resume;
    regs->rsi = 1;                  /* guest_peek_insn's "faulted" operand */
    return true;
}
