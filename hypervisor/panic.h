/*
 * hypervisor/panic.h: fatal hypervisor errors. Only for hypervisor-internal invariants;
 * never for guest-controlled values.
 */
#ifndef HV_PANIC_H
#define HV_PANIC_H

/* Print the message with a register dump and stop the machine with HV_EXIT_PANIC. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define HV_ASSERT(cond)                                                         \
    do {                                                                        \
        if (__builtin_expect(!(cond), 0))                                       \
            panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)

#endif /* HV_PANIC_H */
