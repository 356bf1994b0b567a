/*
 * hypervisor/console.c: polled 16550 UART on COM1, line-prefixed console output, console
 * input for dom0 (VIRQ_CONSOLE), and the console_io hypercall.
 */
#include "console.h"

#include <hako/events.h>

#include "domain.h"
#include "evtchn.h"

#include "cpu.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "paging.h"
#include "percpu.h"
#include "x86.h"

#define COM1 0x3F8
#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

#define IOAPIC_MFN  _mfn(0xFEC00000ull >> 12)
#define IOAPIC_VA   0xFFFF820000001000ull      /* next to the local APIC (slot 260) */

static int line_source = CONSOLE_SOURCE_HV; /* who owns the current, unfinished line */
static int at_line_start = 1;
/* Input taken from the UART (by its interrupt, or polled) and not read by dom0 yet.
 * What arrives while it is full stays in the UART (and QEMU) until there is room. */
static char input[4096];
static size_t in_head, in_count;

/* Move what the UART holds into `input`, as far as it fits. */
static void uart_drain(void)
{
    while (in_count < sizeof(input) && (inb(COM1 + UART_LSR) & LSR_DR)) {
        input[(in_head + in_count) % sizeof(input)] = (char)inb(COM1 + UART_DATA);
        in_count++;
    }
}

void console_init(void)
{
    /* Input that arrived before the FIFO was switched on (switching it on empties it):
     * read until the port has nothing, then switch at once, so at most a byte arriving
     * in those two instructions can be lost. */
    uart_drain();
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

void ioapic_route(unsigned pin, uint32_t low)
{
    volatile uint32_t *sel = (volatile uint32_t *)IOAPIC_VA;
    volatile uint32_t *win = (volatile uint32_t *)(IOAPIC_VA + 0x10);
    *sel = 0x10 + 2 * pin + 1;
    *win = 0;                         /* to the local APIC with id 0 */
    *sel = 0x10 + 2 * pin;
    *win = low;
}

void console_enable_irq(void)
{
    paging_map_hv_page(IOAPIC_VA, IOAPIC_MFN, PTE_P | PTE_W | PTE_PCD | PTE_PWT |
                                                  (cpu_has.nx ? PTE_NX : 0));
    ioapic_route(CONSOLE_UART_IRQ, CONSOLE_VECTOR); /* fixed, physical, edge, active high */
    outb(COM1 + UART_IER, 0x01);      /* interrupt when data is available */
    outb(COM1 + UART_MCR, 0x0B);      /* DTR, RTS, OUT2 (gates the IRQ line) */
}

void console_interrupt(void)
{
    uart_drain();
    inb(COM1 + UART_IIR);             /* acknowledge whatever else it had to say */
}

bool console_has_input(void)
{
    uart_drain();
    return in_count > 0;
}

size_t console_read(char *buf, size_t len)
{
    uart_drain();
    size_t n = 0;
    for (; n < len && in_count; n++, in_count--) {
        buf[n] = input[in_head];
        in_head = (in_head + 1) % sizeof(input);
    }
    uart_drain();                     /* room again: take what waited in the UART */
    return n;
}

/* console_io(cmd, buf, len): write to or read from the console. */
long hc_console_io(HC_ARGS)
{
    uint64_t cmd = a1, buf = a2, len = a3;
    char kbuf[HAKO_CONSOLE_IO_MAX];
    if (cmd != HAKO_CONSOLE_WRITE && cmd != HAKO_CONSOLE_READ && cmd != HAKO_CONSOLE_WRITE_RAW)
        return -HAKO_ENOSYS;
    if (len > HAKO_CONSOLE_IO_MAX)
        return -HAKO_EINVAL;
    if (cmd != HAKO_CONSOLE_WRITE && !current_vcpu()->dom->privileged)
        return -HAKO_EPERM;
    if (cmd != HAKO_CONSOLE_READ) {
        if (guest_copy_from(current_vcpu(), kbuf, _gva(buf), len))
            return -HAKO_EFAULT;
        console_write(cmd == HAKO_CONSOLE_WRITE ? (int)current_vcpu()->dom->domid : CONSOLE_SOURCE_RAW,
                      kbuf, len);
        return (long)len;
    }
    /* Check the whole buffer is writable before consuming input we could not deliver. */
    if (guest_check(current_vcpu(), _gva(buf), len, true))
        return -HAKO_EFAULT;
    size_t n = console_read(kbuf, len);
    if (guest_copy_to(current_vcpu(), _gva(buf), kbuf, n))
        return -HAKO_EFAULT;
    return (long)n;
}

/* ---- console input for dom0 (VIRQ_CONSOLE) --------------------------------------- */

#define CONSOLE_POLL_NS 20000000ull   /* the UART is polled for dom0's console virq */

/* The port dom0 bound to console input, 0 if none. (Nobody ever bound the console
 * virq, the common case: no lookup at all.) */
static unsigned console_virq_port(void)
{
    if (!evtchn_console_virq_bound)
        return 0;
    struct domain *dom0 = domain_get(0);
    return dom0 && dom0->state == DOMAIN_RUNNING ? dom0->virq_port[HAKO_VIRQ_CONSOLE] : 0;
}


/* The earliest guest timer or poll timeout (0 if none), recomputed only after a change. */

uint64_t console_poll_deadline(uint64_t now)
{
    return console_virq_port() ? now + CONSOLE_POLL_NS : 0;
}

bool console_notify_dom0(void)
{
    if (!console_virq_port() || !console_has_input())
        return false;
    evtchn_send_virq(domain_get(0), HAKO_VIRQ_CONSOLE);
    return true;
}
