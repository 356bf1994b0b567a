/*
 * hypervisor/guest_access.h: safe access to guest virtual memory.
 *
 * Every guest pointer goes through here. A range is accepted only if it does not wrap,
 * lies wholly in guest space (canonical, outside the hypervisor slots), and every page
 * is mapped present + user (+ writable for writes) at every level of the vCPU's address
 * space. Data moves through the direct map, so a bad pointer yields -HAKO_EFAULT and
 * never a hypervisor fault.
 *
 * The address space is never a parameter: each page is translated through v->cr3 as it
 * is at that moment, and only while that root is a validated L4 of v's domain. So no
 * caller can keep a root across an operation that changes base pointers, and no guest
 * access ever walks a table that is not validated: whatever a walk reaches is what the
 * page-type rules allow (a writable leaf is a writable-typed frame, never a table).
 */
#ifndef HV_GUEST_ACCESS_H
#define HV_GUEST_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include <hako/arch-x86_64.h>

#include "types.h"

struct vcpu;

/* A recent walk of an instruction fetch (guest_fetch keeps the last two pages a vCPU
 * fetched from, newest first: an instruction that crosses a page, or a loop through two
 * pages, hits both): the root and 4 KiB page
 * it walked, the machine page it found and the entries it read on the way (L4 first;
 * three for a 2 MiB page). A walk is a function of the root and those entries alone, so
 * while the root is still v->cr3 and validated and every entry still holds the value
 * recorded, walking again would read the same entries and find the same page: checking
 * them is the lookup, and nothing ever has to invalidate it. */
struct guest_walk_cache {
    uint64_t root;              /* the v->cr3 walked; 0: empty */
    uint64_t va;                /* the page walked */
    uint64_t pa;                /* machine address of that page */
    uint64_t e[4];
    const uint64_t *at[4];      /* where each entry is (direct map): a function of root
                                   and the entries before it, so equal while they are */
    unsigned levels;
};

/* True when [va, va+len) is a non-wrapping range wholly inside guest address space;
 * always true for len 0, which touches nothing. */
static inline bool guest_range_ok(gva_t gva, uint64_t len)
{
    uint64_t va = gva_x(gva);
    if (len == 0)
        return true;                                    /* nothing will be touched */
    uint64_t last = va + (len - 1);
    if (last < va)
        return false;                                   /* wraps */
    if (last < HAKO_LOWER_HALF_END)
        return true;                                    /* wholly in the lower half */
    return va >= HAKO_HV_VA_END;                        /* wholly above the hypervisor */
}

/* Translate va in v's current address space; 0 and *pa = machine address, or
 * -HAKO_EFAULT. */
int guest_translate(const struct vcpu *v, gva_t va, bool write, uint64_t *pa);

/* Check that all of [va, va+len) is accessible (writable too when write): 0 or
 * -HAKO_EFAULT. Touches nothing. */
int guest_check(const struct vcpu *v, gva_t va, uint64_t len, bool write);

/* Copy len bytes from guest va into dst; 0 or -HAKO_EFAULT (dst then undefined). */
int guest_copy_from(const struct vcpu *v, void *dst, gva_t va, uint64_t len);

/* Copy len bytes (1.. the rest of va's page) from guest va into dst for an instruction
 * fetch: guest_copy_from's checks and result, through v's guest_walk_cache for the page
 * (which it updates); 0 or -HAKO_EFAULT. */
int guest_fetch(struct vcpu *v, void *dst, gva_t va, uint64_t len);

/* Copy len bytes to (write) or from guest va, for what a vCPU moves again and again in
 * the same few pages (exception and return frames on its kernel stacks, page-table
 * batches): guest_copy_to/guest_copy_from's checks and result, through the two most
 * recent walks c[] of v (walked for that access only: a cache is for reads or for
 * writes, never both; updated) when the bytes lie in one page; 0 or -HAKO_EFAULT. */
int guest_copy_cached(struct vcpu *v, struct guest_walk_cache c[2], gva_t va, void *buf,
                      uint64_t len, bool write);

/* guest_peek.c: guest_copy_cached's contract, through the guest's own mapping (one
 * string move, SMAP lifted for it) when v is the running vCPU and the range is whole
 * quadwords in one page; through guest_copy_cached otherwise or when the move faults. */
int guest_copy_fast(struct vcpu *v, struct guest_walk_cache c[2], gva_t va, void *buf,
                    uint64_t len, bool write);

/* Copy len bytes from src to guest va; 0 or -HAKO_EFAULT. Checks every page before
 * writing any, so a failed copy leaves guest memory untouched. */
int guest_copy_to(const struct vcpu *v, gva_t va, const void *src, uint64_t len);

/* guest_peek.c: the 16 bytes at gva read through the guest's current mapping (not the
 * direct map: only for the instruction at a faulting rip, which the CPU just fetched
 * there), with SMAP lifted for those loads. 0, or -HAKO_EFAULT when [gva, gva+16) is
 * not guest space or a load faults (guest_peek_fixup, from trap_entry, turns that fault
 * into the error). */
int guest_peek_insn(gva_t gva, uint8_t out[16]);
struct cpu_regs;
bool guest_peek_fixup(struct cpu_regs *regs);

#endif /* HV_GUEST_ACCESS_H */
