/*
 * guest-pv/drivers/console.c: where the tty's bytes go and come from. The control domain uses
 * the hypervisor's console (console_io, input signalled by VIRQ_CONSOLE); a domU with a
 * console page uses its ring, which the control domain serves (consring.c).
 */
#include <hako/events.h>

#include "consring.h"
#include "events.h"
#include "fs.h"
#include "kern.h"
#include "privops.h"

static int use_ring, privileged;

void tty_output(const char *buf, size_t n)
{
    if (use_ring)
        consring_front_write(buf, n);
    else if (privileged)
        privops->terminal_write(buf, n);
    else
        privops->console_write(buf, n);
}

/* Input is waiting: move what fits into the tty. The rest waits where it is (the
 * hypervisor's buffer, the UART, the console ring) until a reader makes room
 * (tty_drained). */
static void console_event(unsigned port, void *arg)
{
    char buf[128];
    long n = 1;
    (void)port, (void)arg;
    for (size_t room; n > 0 && (room = tty_room()) > 0;) {
        size_t want = room < sizeof(buf) ? room : sizeof(buf);
        n = use_ring ? consring_front_read(buf, want) : privops->console_read(buf, want);
        if (n > 0)
            tty_input(buf, (size_t)n);
    }
}

void tty_drained(void)
{
    console_event(0, NULL);
}

void console_init(const struct hako_start_info *si)
{
    privileged = (si->flags & HAKO_SIF_PRIVILEGED) != 0;
    if (consring_front_init(si) > 0) {
        use_ring = 1;
        events_bind(consring_front_port(), console_event, NULL);
        console_event(0, NULL);          /* anything typed before we listened */
        return;
    }
    if (!events_bind_virq(HAKO_VIRQ_CONSOLE, console_event, NULL))
        return;                          /* not the control domain: output only */
    console_event(0, NULL);
}
