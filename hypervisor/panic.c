/*
 * hypervisor/panic.c: stopping the machine, on purpose (machine_exit) or because a
 * hypervisor invariant broke (panic). Needs only the console, port I/O and dump_regs.
 */
#include <stdarg.h>

#include "console.h"
#include "domain.h"
#include "lib.h"
#include "panic.h"
#include "percpu.h"
#include "x86.h"

void machine_exit(unsigned status)
{
    outb(0xF4, (uint8_t)(status & 0x7F)); /* isa-debug-exit: QEMU exits with status*2+1 */
    for (;;)
        __asm__ volatile("cli; hlt");
}

static int panicking;

void panic_with_regs(const struct cpu_regs *regs, const char *msg)
{
    if (panicking++)
        machine_exit(HV_EXIT_PANIC);        /* a fault while panicking: just stop */
    printk("PANIC: %s\n", msg);
    struct vcpu *v = current_vcpu();
    if (v)
        printk("  while running d%u (%s)\n", v->dom->domid, v->dom->name);
    if (regs)
        dump_regs(regs);
    machine_exit(HV_EXIT_PANIC);
}

void panic(const char *fmt, ...)
{
    char buf[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    panic_with_regs(NULL, buf);
}
