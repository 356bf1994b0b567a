/*
 * hypervisor/console.h: the serial console shared by the hypervisor and the domains.
 * Every line on the wire is prefixed with its source: "(hv) " or "(dN) ".
 */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hcall_list.h"

#define CONSOLE_VECTOR    0xE0     /* the UART's receive interrupt */
#define CONSOLE_UART_IRQ  4        /* its I/O APIC input (COM1 on the ISA bus) */
#define CONSOLE_SOURCE_HV (-1)
#define CONSOLE_SOURCE_RAW (-2)   /* the control domain's terminal output: no prefix */

/* Program the UART (COM1, 115200 8N1, polled). */
void console_init(void);

/* Write len bytes from source (a domid or CONSOLE_SOURCE_HV), adding line prefixes. */
void console_write(int source, const char *buf, size_t len);

/* Hypervisor printf to the console. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when input bytes are waiting. */
bool console_has_input(void);

/* Write I/O APIC input pin's redirection entry: low word `low` (vector, trigger, mask),
 * delivered to the boot CPU. The I/O APIC is mapped by console_enable_irq. */
#define IOAPIC_LEVEL  (1u << 15)
#define IOAPIC_MASKED (1u << 16)
void ioapic_route(unsigned pin, uint32_t low);

/* Route the UART's receive interrupt to CONSOLE_VECTOR (after the local APIC is up). */
void console_enable_irq(void);

/* CONSOLE_VECTOR fired: take the received bytes in (the caller sends the EOI). */
void console_interrupt(void);

/* When the UART must next be polled for dom0's console virq (now + the poll period), or
 * 0 when dom0 has not bound it. */
uint64_t console_poll_deadline(uint64_t now);

/* Input waiting and dom0 bound VIRQ_CONSOLE: send it; true when sent. */
bool console_notify_dom0(void);

/* Read up to len pending input bytes without waiting; returns the count. */
size_t console_read(char *buf, size_t len);

/* console_io(cmd, buf, len): write to or read from the console. */
long hc_console_io(HC_ARGS);

#endif /* HV_CONSOLE_H */
