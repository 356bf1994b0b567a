/*
 * tests/xtf/test-abi07.c: a control-domain kernel whose ABI note says 0.7 (the Makefile
 * links it with head.S built for that minor), checking that GETINFO, whose structure
 * grew in 0.8 (mode, emulated[]), writes only the HAKO_DOMCTL_INFO_SIZE_V07 bytes a 0.7
 * caller knows (ABI.md 16, "Size by ABI"): what follows is untouched, hc_counts is
 * still filled, and a structure whose 0.7 size ends on the last mapped byte works while
 * one reaching 8 bytes further is EFAULT.
 */
#include "framework.h"

#include <hako/domctl.h>
#include <hako/version.h>

const char test_title[] = "ABI 0.7 caller";

#define UL(x) ((unsigned long)(x))
#define DOMCTL(cmd, arg) hako_hypercall3(HAKO_HC_domctl, cmd, UL(arg), 0)
#define FILL 0xA5

/* Room for the structure plus a guard, filled with FILL before the call. */
static union {
    struct hako_domctl_info i;
    uint8_t b[1024];
} buf __attribute__((aligned(8)));

/* The first offset at or after from where buf no longer holds FILL, or to when none. */
static unsigned first_written(unsigned from, unsigned to)
{
    for (unsigned k = from; k < to; k++)
        if (buf.b[k] != FILL)
            return k;
    return to;
}

static void test_getinfo_v07(void)
{
    long v = hako_hypercall2(HAKO_HC_version, HAKO_VERSION_ABI, 0);
    XTF_CHECK(v == HAKO_ABI_VERSION, "version says %lx, expected %x", v, HAKO_ABI_VERSION);
    memset(&buf, FILL, sizeof(buf));
    buf.i.domid = 0;
    if (!XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, &buf.i), 0, "GETINFO of itself"))
        return;
    unsigned at = first_written(HAKO_DOMCTL_INFO_SIZE_V07, sizeof(buf));
    XTF_CHECK(at == sizeof(buf), "GETINFO wrote byte %u, past the 0.7 size %u", at,
              HAKO_DOMCTL_INFO_SIZE_V07);
    XTF_CHECK(buf.i.domid == 0 && buf.i.state == HAKO_DOMSTATE_RUNNING &&
              buf.i.hc_counts[HAKO_HC_version] >= 1 && buf.i.hc_counts[HAKO_HC_domctl] >= 1,
              "GETINFO's 0.7 fields: domid %u state %u version calls %lu domctl calls %lu",
              buf.i.domid, buf.i.state, (unsigned long)buf.i.hc_counts[HAKO_HC_version],
              (unsigned long)buf.i.hc_counts[HAKO_HC_domctl]);
}

static void test_short_size_faults(const struct hako_start_info *si)
{
    /* The end of the initial mapping (ABI.md 4.2): the page after it is not mapped. */
    uint64_t end = si->virt_base + (si->nr_mapped_pages << 12);
    struct hako_domctl_info *last = (struct hako_domctl_info *)(end - HAKO_DOMCTL_INFO_SIZE_V07);
    last->domid = 0;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, last), 0,
                  "GETINFO whose 0.7 size ends on the last mapped byte");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, end - HAKO_DOMCTL_INFO_SIZE_V07 + 8), -HAKO_EFAULT,
                  "GETINFO whose 0.7 size crosses the end of the mapping");
}

void test_main(const struct hako_start_info *si)
{
    test_getinfo_v07();
    test_short_size_faults(si);
}
