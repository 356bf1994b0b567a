/*
 * hypervisor/console.h: the serial console shared by the hypervisor and the domains.
 * Every line on the wire is prefixed with its source: "(hv) " or "(dN) ".
 */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Read up to len pending input bytes without waiting; returns the count. */
size_t console_read(char *buf, size_t len);

#endif /* HV_CONSOLE_H */
