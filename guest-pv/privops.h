/*
 * guest-pv/privops.h: every privileged operation the guest kernel performs goes through
 * this one table, so the paravirtual backend (hypercalls) can be swapped for a trapping
 * or native one without touching the rest of the kernel.
 */
#ifndef GUEST_PRIVOPS_H
#define GUEST_PRIVOPS_H

#include <stddef.h>
#include <stdint.h>

struct privops {
    const char *name;
    /* Write bytes to the console. */
    void (*console_write)(const char *buf, size_t len);
    /* Read up to len pending console bytes without waiting; count or negative error. */
    long (*console_read)(char *buf, size_t len);
    /* Give up the CPU for a moment. */
    void (*yield)(void);
    /* Stop the machine/domain: reason is HAKO_SHUTDOWN_*, code 0..255. */
    void (*shutdown)(unsigned reason, unsigned code) __attribute__((noreturn));
};

extern const struct privops *privops;

#endif /* GUEST_PRIVOPS_H */
