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
