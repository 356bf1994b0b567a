/*
 * hypervisor/console.h: the serial console shared by the hypervisor and the domains.
 * Every line on the wire is prefixed with its source: "(hv) " or "(dN) ".
 */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_VECTOR    0xE0     /* the UART's receive interrupt */
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

/* Route the UART's receive interrupt to CONSOLE_VECTOR (after the local APIC is up). */
void console_enable_irq(void);

/* CONSOLE_VECTOR fired: take the received bytes in (the caller sends the EOI). */
void console_interrupt(void);

/* Read up to len pending input bytes without waiting; returns the count. */
size_t console_read(char *buf, size_t len);

#endif /* HV_CONSOLE_H */
