/*
 * hypervisor/emulate_io.c: the UART a trap-mode kernel drives with in/out: a 16550
 * subset at COM1, byte-wide. Output goes to the console exactly as console_io WRITE
 * does (prefixed with the domain; the control domain's unprefixed, as it owns the
 * terminal, like console_io WRITE_RAW); input is the console's, for the control domain only
 * (as console_io READ). No interrupts: IER is kept but never raises one.
 */
#include <hako/trapmode.h>

#include "console.h"
#include "emulate.h"

enum uart_reg { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB  0x80u
#define LSR_DR    0x01u     /* data ready */
#define LSR_THRE  0x20u     /* transmit holding register empty */
#define LSR_TEMT  0x40u     /* transmitter empty */
#define MSR_IDLE  0xB0u     /* DCD, DSR, CTS: a terminal is attached */

/* The register offset of port, or -1 when port is not the UART's or size is not 1. */
static int uart_reg(uint16_t port, unsigned size)
{
    if (size != 1 || port < HAKO_TRAP_UART_BASE || port >= HAKO_TRAP_UART_BASE + HAKO_TRAP_UART_PORTS)
        return -1;
    return (int)(port - HAKO_TRAP_UART_BASE);
}

bool emul_port_in(struct vcpu *v, uint16_t port, unsigned size, uint64_t *val)
{
    struct trap_vcpu *t = &v->trap;
    bool dlab = t->uart_lcr & LCR_DLAB;
    bool input = v->dom->privileged && console_has_input();
    char c;
    switch (uart_reg(port, size)) {
    case RBR_THR:
        if (dlab)
            *val = t->uart_dll;
        else
            *val = input && console_read(&c, 1) == 1 ? (uint8_t)c : 0;
        return true;
    case IER: *val = dlab ? t->uart_dlm : t->uart_ier; return true;
    case IIR_FCR: *val = 0x01; return true;    /* no interrupt pending, no FIFO */
    case LCR: *val = t->uart_lcr; return true;
    case MCR: *val = t->uart_mcr; return true;
    case LSR: *val = LSR_THRE | LSR_TEMT | (input ? LSR_DR : 0); return true;
    case MSR: *val = MSR_IDLE; return true;
    case SCR: *val = t->uart_scr; return true;
    default: return false;
    }
}

bool emul_port_out(struct vcpu *v, uint16_t port, unsigned size, uint64_t val)
{
    struct trap_vcpu *t = &v->trap;
    bool dlab = t->uart_lcr & LCR_DLAB;
    uint8_t b = (uint8_t)val;
    switch (uart_reg(port, size)) {
    case RBR_THR:
        if (dlab)
            t->uart_dll = b;
        else
            console_write(v->dom->privileged ? CONSOLE_SOURCE_RAW : (int)v->dom->domid,
                          (const char *)&b, 1);
        return true;
    case IER:
        if (dlab)
            t->uart_dlm = b;
        else
            t->uart_ier = b & 0x0F;
        return true;
    case IIR_FCR: return true;                  /* FIFO control: nothing to set */
    case LCR: t->uart_lcr = b; return true;
    case MCR: t->uart_mcr = b & 0x1F; return true;
    case LSR:
    case MSR: return true;                      /* read-only: writes are ignored */
    case SCR: t->uart_scr = b; return true;
    default: return false;
    }
}
