/*
 * tests/xtf/test-console.c: console input for the control domain arrives as
 * HAKO_VIRQ_CONSOLE and is read with console_io(READ). The bytes come from QEMU's
 * standard input: tests/run.sh and tests/system/test-console.sh pipe "hako\n" in and
 * expect SUCCESS; with nothing to read (QEMU's stdin at /dev/null) it reports SKIP.
 */
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "framework.h"
#include "privops.h"
#include "klib.h"

const char test_title[] = "console input";

/* System time now, from the shared-info record (ABI.md 14.4). */

void test_main(const struct hako_start_info *si)
{
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    static struct hako_evtchn op __attribute__((aligned(8))) = { .virq = HAKO_VIRQ_CONSOLE };
    if (XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ,
                                      (unsigned long)&op), 0, "bind the console virq") == 0)
        return;
    uint32_t port = op.port;
    char buf[64];
    size_t got = 0;
    uint64_t deadline = privops->time_ns() + 3000000000ull;
    while (got < 5) {
        /* Sleep until the virq says input is waiting (or give up at the deadline). */
        long r = hako_hypercall6(HAKO_HC_sched_op, HAKO_SCHED_POLL, (unsigned long)&port, 1,
                                 deadline, 0, 0);
        if (r == 0)
            break;
        __atomic_fetch_and(&sh->evtchn_pending[port / 64], ~(1ull << (port % 64)),
                           __ATOMIC_SEQ_CST);
        long n = hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_READ,
                                 (unsigned long)(buf + got), sizeof(buf) - 1 - got);
        if (!XTF_CHECK(n >= 0, "console read after the virq: %ld", n))
            return;
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (got == 0) {
        xtf_skip("no console input arrived (run with input on QEMU's stdin)");
        return;
    }
    XTF_CHECK(got >= 5 && memcmp(buf, "hako\n", 5) == 0, "read \"%s\" (%lu bytes), want \"hako\\n\"",
              buf, (unsigned long)got);
    kprintf("console input: read %lu bytes through VIRQ_CONSOLE\n", (unsigned long)got);
}
