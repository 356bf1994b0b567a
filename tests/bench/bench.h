/*
 * tests/bench/bench.h: what every benchmark kernel shares: the clock and the result
 * line scripts/bench.sh parses.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#include "klib.h"

/* The TSC (under QEMU -icount: retired instructions), not reordered with the code timed. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Print "BENCH <metric> <total/ops> per-op <syscalls>/<ops> <flushes>/<ops> <cr3>/<ops>". */
static inline void report(const char *metric, uint64_t total, uint64_t ops, uint64_t syscalls,
                          uint64_t flushes, uint64_t cr3)
{
    uint64_t milli = total * 1000 / ops;
    kprintf("BENCH %s %lu.%03lu per-op %lu/%lu %lu/%lu %lu/%lu\n", metric, milli / 1000,
            milli % 1000, syscalls, ops, flushes, ops, cr3, ops);
}

/* report() with a fourth transition count, exceptions (and their iret) per op:
 * "BENCH <metric> <total/ops> per-op <syscalls>/<ops> <flushes>/<ops> <cr3>/<ops>
 * <exceptions>/<ops>". */
static inline void report_exc(const char *metric, uint64_t total, uint64_t ops,
                              uint64_t syscalls, uint64_t flushes, uint64_t cr3,
                              uint64_t exceptions)
{
    uint64_t milli = total * 1000 / ops;
    kprintf("BENCH %s %lu.%03lu per-op %lu/%lu %lu/%lu %lu/%lu %lu/%lu\n", metric,
            milli / 1000, milli % 1000, syscalls, ops, flushes, ops, cr3, ops, exceptions, ops);
}

#endif /* BENCH_H */
