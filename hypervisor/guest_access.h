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

#include "types.h"

struct vcpu;

/* True when [va, va+len) is a non-wrapping range wholly inside guest address space;
 * always true for len 0, which touches nothing. */
bool guest_range_ok(gva_t va, uint64_t len);

/* Translate va in v's current address space; 0 and *pa = machine address, or
 * -HAKO_EFAULT. */
int guest_translate(const struct vcpu *v, gva_t va, bool write, uint64_t *pa);

/* Check that all of [va, va+len) is accessible (writable too when write): 0 or
 * -HAKO_EFAULT. Touches nothing. */
int guest_check(const struct vcpu *v, gva_t va, uint64_t len, bool write);

/* Copy len bytes from guest va into dst; 0 or -HAKO_EFAULT (dst then undefined). */
int guest_copy_from(const struct vcpu *v, void *dst, gva_t va, uint64_t len);

/* Copy len bytes from src to guest va; 0 or -HAKO_EFAULT. Checks every page before
 * writing any, so a failed copy leaves guest memory untouched. */
int guest_copy_to(const struct vcpu *v, gva_t va, const void *src, uint64_t len);

#endif /* HV_GUEST_ACCESS_H */
