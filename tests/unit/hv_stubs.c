/*
 * tests/unit/hv_stubs.c: what hypervisor logic files need from the rest of the
 * hypervisor when they are built for the host.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uintptr_t test_directmap_base;

/* A hypervisor invariant broke: report and abort (cmocka records the test as failed). */
void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hypervisor panic: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* hypervisor/paging.c is not built for the host. Instead of the hypervisor's L4 slots,
 * write a recognisable marker into each: 0xdead00000000 | slot << 12 | present. */
#include "paging.h"

void paging_copy_hv_slots(uint64_t *l4)
{
    for (uint64_t slot = 256; slot <= 271; slot++)
        l4[slot] = 0xdead00000000ull | (slot << 12) | 1;
}

/* pagetype.c reports a reference dropped that was never taken; the tests count them. */
#include "pagetype.h"

unsigned pagetype_count_errors;

void pagetype_count_error(mfn_t mfn, const char *what)
{
    if (getenv("HV_STUBS_VERBOSE"))
        fprintf(stderr, "count error: %s (mfn %lx)\n", what, (unsigned long)mfn_x(mfn));
    pagetype_count_errors++;
}

/* Device frames for the host tests: [test_io_lo, test_io_hi) may be mapped by
 * test_io_domid (pagetype_io_*, devices.c in the hypervisor). Empty unless a test sets it. */
uint64_t test_io_lo, test_io_hi;
uint16_t test_io_domid;

bool pagetype_io_frame(mfn_t mfn)
{
    return mfn_x(mfn) >= test_io_lo && mfn_x(mfn) < test_io_hi;
}

bool pagetype_io_allowed(uint16_t domid, mfn_t mfn)
{
    return domid == test_io_domid && pagetype_io_frame(mfn);
}
