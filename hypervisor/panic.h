/*
 * hypervisor/panic.h: fatal hypervisor errors. Only for hypervisor-internal invariants;
 * never for guest-controlled values.
 */
#ifndef HV_PANIC_H
#define HV_PANIC_H

/* Machine exit statuses besides dom0's own poweroff code (0..HV_EXIT_CODE_MAX). */
#define HV_EXIT_CODE_MAX 123
#define HV_EXIT_REBOOT   124   /* dom0 asked for a reboot */
#define HV_EXIT_CRASH    126   /* dom0 crashed */
#define HV_EXIT_PANIC    127   /* the hypervisor stopped on an internal error */

struct cpu_regs;

/* Stop the machine: QEMU's isa-debug-exit exits with status * 2 + 1. */
void machine_exit(unsigned status) __attribute__((noreturn));

/* Print the message and stop the machine with HV_EXIT_PANIC. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* panic, with the faulting frame (regs, when not NULL) dumped. */
void panic_with_regs(const struct cpu_regs *regs, const char *msg) __attribute__((noreturn));

/* Check a hypervisor invariant. cond must have no side effects: it is the check only
 * (tests/lint/check-hv-assert.py refuses ++, --, assignments and impure calls in it). */
#define HV_ASSERT(cond)                                                         \
    do {                                                                        \
        if (__builtin_expect(!(cond), 0))                                       \
            panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)

#endif /* HV_PANIC_H */
