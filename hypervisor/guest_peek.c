/*
 * hypervisor/guest_peek.c: the accesses to guest memory that do not go through the
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
#include "mm.h"
#include "percpu.h"
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

/* The one string move guest_direct_copy makes, and where it resumes when it faults. */
extern const char guest_direct_insn[], guest_direct_resume[];

/* Copy len bytes (a multiple of 8, at an 8-aligned gva, within one page) between buf and
 * guest gva through the current mapping, SMAP lifted for the move alone; 0, or
 * -HAKO_EFAULT when the range does not qualify or the move faults. Within one page
 * the first access decides: a move that faults has written nothing. */
static int __attribute__((noinline, noclone)) guest_direct_copy(gva_t gva, void *buf,
                                                                 uint64_t len, bool write)
{
    uint64_t va = gva_x(gva), n = len / 8;
    if (!len || ((len | va) & 7) || len > PAGE_SIZE - (va & (PAGE_SIZE - 1)) ||
        !guest_range_ok(gva, len))
        return -HAKO_EFAULT;
    void *dst = write ? (void *)va : buf;
    const void *src = write ? (const void *)buf : (const void *)va;
    __asm__ volatile("testl %[smap], %[smap]\n\t"
                     "jz 1f\n\t"
                     "stac\n"
                     "1:\n\t"
                     ".globl guest_direct_insn, guest_direct_resume\n"
                     "guest_direct_insn: rep movsq\n"
                     "guest_direct_resume:\n\t"
                     "testl %[smap], %[smap]\n\t"
                     "jz 2f\n\t"
                     "clac\n"
                     "2:"
                     : "+D"(dst), "+S"(src), "+c"(n)
                     : [smap] "r"((uint32_t)cpu_has.smap)
                     : "memory", "cc");
    return n ? -HAKO_EFAULT : 0;        /* a fault leaves the count of what is left */
}

int guest_copy_fast(struct vcpu *v, struct guest_walk_cache c[2], gva_t gva, void *buf,
                    uint64_t len, bool write)
{
    if (v == current_vcpu() && guest_direct_copy(gva, buf, len, write) == 0)
        return 0;
    return guest_copy_cached(v, c, gva, buf, len, write);
}

/* entry.S's fast paths: the trap-frame stores of a user syscall bounce and the frame
 * loads of an iret, each with the label it resumes at when one of them faults. */
extern const char pv_syscall_stores[], pv_syscall_stores_end[], pv_syscall_stores_fault[];
extern const char pv_iret_loads[], pv_iret_loads_end[], pv_iret_loads_fault[];

bool guest_peek_fixup(struct cpu_regs *regs)
{
    static const struct { const char *start, *end, *resume; } ranges[] = {
        { pv_syscall_stores, pv_syscall_stores_end, pv_syscall_stores_fault },
        { pv_iret_loads, pv_iret_loads_end, pv_iret_loads_fault },
    };
    if (regs->vector != 14 && regs->vector != 13)
        return false;
    for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (regs->rip >= (uint64_t)ranges[i].start && regs->rip < (uint64_t)ranges[i].end) {
            regs->rip = (uint64_t)ranges[i].resume;
            return true;
        }
    if (regs->rip == (uint64_t)guest_direct_insn) {
        regs->rip = (uint64_t)guest_direct_resume;    /* rcx: what is left, not 0 */
        return true;
    }
    if (regs->rip != (uint64_t)guest_peek_load0 && regs->rip != (uint64_t)guest_peek_load1)
        return false;
    regs->rip = (uint64_t)guest_peek_resume;
    regs->rsi = 1;                  /* guest_peek_insn's "faulted" operand */
    return true;
}
