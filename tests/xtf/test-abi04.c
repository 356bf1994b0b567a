/*
 * tests/xtf/test-abi04.c: a control-domain kernel whose ABI note says 0.4 (the Makefile
 * links it with head.S built for that minor), checking that the structures which grew
 * since are read and written at the size its ABI knows, so an older kernel's buffers
 * are never overrun (ABI.md 16, "Size by ABI").
 *
 * Checked: CREATE reads and writes only the first HAKO_DOMCTL_CREATE_SIZE_V04 bytes
 * (garbage past them is neither rejected nor overwritten, and the domain is built);
 * GETINFO writes only the first HAKO_DOMCTL_INFO_SIZE_V05 bytes (hc_counts and what
 * follows untouched) and still fills hypercalls[]; both still refuse a structure whose
 * shorter size crosses into an unmapped page (EFAULT); the version hypercall still says the current ABI.
 */
#include "framework.h"

#include <hako/domctl.h>
#include <hako/version.h>

const char test_title[] = "ABI 0.4 caller";

#define UL(x) ((unsigned long)(x))
#define DOMCTL(cmd, arg) hako_hypercall3(HAKO_HC_domctl, cmd, UL(arg), 0)
#define FILL 0xA5

extern const char domu_image_start[], domu_image_end[];

/* Room for each structure plus a guard, all filled with FILL before a call. */
static union {
    struct hako_domctl_create c;
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

static void test_create_v04(void)
{
    memset(&buf, FILL, sizeof(buf));
    memset(&buf, 0, HAKO_DOMCTL_CREATE_SIZE_V04);   /* the 0.4 layout, all of it valid */
    buf.c.image_va = UL(domu_image_start);
    buf.c.image_len = (uint64_t)(domu_image_end - domu_image_start);
    buf.c.mem_pages = 256;
    ksnprintf(buf.c.name, sizeof(buf.c.name), "abi04");
    long rc = DOMCTL(HAKO_DOMCTL_CREATE, &buf.c);
    if (!XTF_CHECK(rc > 0 && rc == buf.c.domid, "CREATE with the 0.4 layout and garbage past it: rc %ld (%s), domid %u",
                   rc, xtf_errname(rc), buf.c.domid))
        return;
    unsigned at = first_written(HAKO_DOMCTL_CREATE_SIZE_V04, sizeof(buf));
    XTF_CHECK(at == sizeof(buf), "CREATE wrote byte %u, past the 0.4 size %u", at,
              HAKO_DOMCTL_CREATE_SIZE_V04);
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_DESTROY, rc), 0, "destroy the 0.4-built domain");
}

static void test_getinfo_v05(void)
{
    /* Some hypercalls first, so hypercalls[] has something to show. */
    long v = hako_hypercall2(HAKO_HC_version, HAKO_VERSION_ABI, 0);
    XTF_CHECK(v == HAKO_ABI_VERSION, "version says %lx, expected %x", v, HAKO_ABI_VERSION);
    memset(&buf, FILL, sizeof(buf));
    buf.i.domid = 0;
    long rc = DOMCTL(HAKO_DOMCTL_GETINFO, &buf.i);
    if (!XTF_EXPECT_RC(rc, 0, "GETINFO of itself"))
        return;
    unsigned at = first_written(HAKO_DOMCTL_INFO_SIZE_V05, sizeof(buf));
    XTF_CHECK(at == sizeof(buf), "GETINFO wrote byte %u, past the 0.5 size %u", at,
              HAKO_DOMCTL_INFO_SIZE_V05);
    XTF_CHECK(buf.i.domid == 0 && buf.i.state == HAKO_DOMSTATE_RUNNING &&
              buf.i.hypercalls[HAKO_HC_version] >= 1 && buf.i.hypercalls[HAKO_HC_domctl] >= 2,
              "GETINFO's 0.5 fields: domid %u state %u version calls %lu domctl calls %lu",
              buf.i.domid, buf.i.state, (unsigned long)buf.i.hypercalls[HAKO_HC_version],
              (unsigned long)buf.i.hypercalls[HAKO_HC_domctl]);
}

/* The shorter sizes are still checked in full: a structure that ends on the last
 * mapped byte works, one that reaches 8 bytes further faults. */
static void test_short_sizes_fault(const struct hako_start_info *si)
{
    /* The end of the initial mapping (ABI.md 4.2): the page after it is not mapped. */
    uint64_t end = si->virt_base + (si->nr_mapped_pages << 12);
    struct hako_domctl_info *last = (struct hako_domctl_info *)(end - HAKO_DOMCTL_INFO_SIZE_V05);
    last->domid = 0;
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, last), 0,
                  "GETINFO whose 0.5 size ends on the last mapped byte");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_GETINFO, end - HAKO_DOMCTL_INFO_SIZE_V05 + 8), -HAKO_EFAULT,
                  "GETINFO whose 0.5 size crosses the end of the mapping");
    XTF_EXPECT_RC(DOMCTL(HAKO_DOMCTL_CREATE, end - HAKO_DOMCTL_CREATE_SIZE_V04 + 8), -HAKO_EFAULT,
                  "CREATE whose 0.4 size crosses the end of the mapping");
}

void test_main(const struct hako_start_info *si)
{
    test_create_v04();
    test_getinfo_v05();
    test_short_sizes_fault(si);
}
