/*
 * guest-pv/privops_pv.c: the paravirtual backend of the privileged-operations table.
 */
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "privops.h"

static void pv_console_write(const char *buf, size_t len)
{
    while (len) {
        size_t chunk = len < HAKO_CONSOLE_IO_MAX ? len : HAKO_CONSOLE_IO_MAX;
        hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, (unsigned long)buf, chunk);
        buf += chunk, len -= chunk;
    }
}

static long pv_console_read(char *buf, size_t len)
{
    return hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_READ, (unsigned long)buf, len);
}

static void pv_yield(void)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0);
}

static __attribute__((noreturn)) void pv_shutdown(unsigned reason, unsigned code)
{
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, reason, code);
    for (;;) /* refused (bad reason or code): crash instead, which cannot be refused */
        hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 255);
}

static const struct privops pv_ops = {
    .name = "pv",
    .console_write = pv_console_write,
    .console_read = pv_console_read,
    .yield = pv_yield,
    .shutdown = pv_shutdown,
};

const struct privops *privops = &pv_ops;
