/*
 * guest-pv/arch/x86/uart.c: the 16550 UART at COM1 (I/O ports 0x3F8..0x3FF), polled
 * as a native driver polls it. In trap mode each in/out traps and the hypervisor's
 * 16550 subset answers (ABI.md "Trap-and-emulate mode").
 */
#include "x86.h"

#define UART_BASE 0x3F8
#define UART_DATA 0
#define UART_LSR  5
#define LSR_DR    0x01u
#define LSR_THRE  0x20u
#define UART_FIFO 16            /* bytes the 16550 takes per "transmitter empty" */

/* Wait for the transmitter once per FIFO's worth of bytes. */
void uart_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (i % UART_FIFO == 0)
            while (!(inb(UART_BASE + UART_LSR) & LSR_THRE))
                ;
        outb(UART_BASE + UART_DATA, (uint8_t)buf[i]);
    }
}

long uart_read(char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && (inb(UART_BASE + UART_LSR) & LSR_DR))
        buf[n++] = (char)inb(UART_BASE + UART_DATA);
    return (long)n;
}
