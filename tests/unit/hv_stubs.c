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
