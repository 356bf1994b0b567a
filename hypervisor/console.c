/*
 * hypervisor/console.c: polled 16550 UART on COM1 and line-prefixed console output.
 */
#include "console.h"

#include "lib.h"
#include "x86.h"

#define COM1 0x3F8
#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

static int line_source = CONSOLE_SOURCE_HV; /* who owns the current, unfinished line */
static int at_line_start = 1;
/* Input that arrived before the FIFO was switched on (switching it on empties it): read
 * until the port has nothing, then switch at once, so at most a byte arriving in those
 * two instructions can be lost. */
static char early_input[256];
static size_t early_len, early_pos;

void console_init(void)
{
    while (early_len < sizeof(early_input) && (inb(COM1 + UART_LSR) & LSR_DR))
        early_input[early_len++] = (char)inb(COM1 + UART_DATA);
    outb(COM1 + UART_FCR, 0xC7);     /* FIFO on, cleared */
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80);     /* DLAB: divisor follows */
    outb(COM1 + UART_DATA, 0x01);    /* 115200 baud */
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x03);     /* 8N1 */
    outb(COM1 + UART_MCR, 0x03);     /* DTR, RTS; no interrupts (OUT2 off) */
}

/* Send one byte, waiting for the transmitter. */
static void uart_putc(char c)
{
    for (unsigned spin = 0; spin < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); spin++)
        ;
    outb(COM1 + UART_DATA, (uint8_t)c);
}

/* Emit the "(hv) " or "(dN) " prefix for source. */
static void put_prefix(int source)
{
    char p[16];
    if (source == CONSOLE_SOURCE_RAW)
        return;
    int n = source == CONSOLE_SOURCE_HV ? snprintf(p, sizeof(p), "(hv) ")
                                        : snprintf(p, sizeof(p), "(d%d) ", source);
    for (int i = 0; i < n; i++)
        uart_putc(p[i]);
}

void console_write(int source, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (!at_line_start && line_source != source) {
            uart_putc('\n');        /* another source interrupts an open line */
            at_line_start = 1;
        }
        if (at_line_start) {
            put_prefix(source);
            line_source = source;
            at_line_start = 0;
        }
        if (c == '\n') {
            uart_putc('\r');
            at_line_start = 1;
        }
        uart_putc(c);
    }
}

void printk(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(CONSOLE_SOURCE_HV, buf, MIN((size_t)n, sizeof(buf) - 1));
}

bool console_has_input(void)
{
    return early_pos < early_len || (inb(COM1 + UART_LSR) & LSR_DR);
}

size_t console_read(char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && early_pos < early_len)
        buf[n++] = early_input[early_pos++];
    while (n < len && (inb(COM1 + UART_LSR) & LSR_DR))
        buf[n++] = (char)inb(COM1 + UART_DATA);
    return n;
}
