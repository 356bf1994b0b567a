/*
 * hypervisor/guest_access.h: safe access to guest virtual memory.
 *
 * Every guest pointer goes through here. A range is accepted only if it does not wrap,
 * lies wholly in guest space (canonical, outside the hypervisor slots), and every page
 * is mapped present + user (+ writable for writes) at every level of the given
 * address space. Data moves through the direct map, so a bad pointer yields
 * -HAKO_EFAULT and never a hypervisor fault.
 */
#ifndef HV_GUEST_ACCESS_H
#define HV_GUEST_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

/* True when [va, va+len) is a non-wrapping range wholly inside guest address space;
 * always true for len 0, which touches nothing. */
bool guest_range_ok(uint64_t va, uint64_t len);

/* Translate va in address space cr3; 0 and *pa = machine address, or -HAKO_EFAULT. */
int guest_translate(uint64_t cr3, uint64_t va, bool write, uint64_t *pa);

/* Check that all of [va, va+len) is accessible (writable too when write): 0 or
 * -HAKO_EFAULT. Touches nothing. */
int guest_check(uint64_t cr3, uint64_t va, uint64_t len, bool write);

/* Copy len bytes from guest va into dst; 0 or -HAKO_EFAULT (dst then undefined). */
int guest_copy_from(uint64_t cr3, void *dst, uint64_t va, uint64_t len);

/* Copy len bytes from src to guest va; 0 or -HAKO_EFAULT. Checks every page before
 * writing any, so a failed copy leaves guest memory untouched. */
int guest_copy_to(uint64_t cr3, uint64_t va, const void *src, uint64_t len);

#endif /* HV_GUEST_ACCESS_H */
