/*
 * tests/xtf/test-hypercall-errors.c: every hypercall with bad arguments must return the
 * documented error code (hypercall.h), preserve the guest's registers, leave memory it
 * refused to touch unchanged, and leave the hypervisor working afterwards.
 *
 * Bad shutdown requests use codes != 0 (and codes that truncate to != 0), so a
 * hypervisor that wrongly accepts one stops the domain with a visible non-zero status
 * and no "Test result" line instead of a false SUCCESS.
 */
#include "framework.h"

#include <stdarg.h>

const char test_title[] = "hypercall-errors";

#define EFAULT (-HAKO_EFAULT)
#define EINVAL (-HAKO_EINVAL)
#define ENOSYS (-HAKO_ENOSYS)
#define EPERM  (-HAKO_EPERM)
#define UL(x)  ((unsigned long)(x))

#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define CON_WRITE(p, l)  HC3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, p, l)
#define CON_READ(p, l)   HC3(HAKO_HC_console_io, HAKO_CONSOLE_READ, p, l)
#define VER_INFO(p)      HC3(HAKO_HC_version, HAKO_VERSION_INFO, p, 0)
#define SHUTDOWN(r, c)   HC3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, r, c)

/* Bad pointers every pointer-taking call must refuse with -HAKO_EFAULT. */
static const struct { uint64_t va; const char *what; } bad_ptrs[] = {
    { 0, "NULL" },
    { 0x1000, "unmapped lower half 0x1000" },
    { 0x400000000000, "unmapped lower half 0x400000000000" },
    { 0x0000800000000000, "non-canonical 0x0000800000000000" },
    { 0x8000000000000000, "non-canonical 0x8000000000000000" },
    { HAKO_HV_VA_START, "hypervisor range start" },
    { 0xFFFF87FFFFFFF000, "hypervisor range last page" },
    { HAKO_LOWER_HALF_END - 8, "lower half end, running into non-canonical" },
    { HAKO_HV_VA_END - 40, "last bytes of hypervisor range, running out of it" },
    { 0xFFFFFFFFFFFFFFF0, "wrapping past 2^64" },
};
#define NR_BAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))


/* ---- walking the initial page tables, to verify the test's own preconditions ---- */

/* The VA of the initial page-table frame with machine frame mfn, or NULL. */
static const uint64_t *pt_frame(const struct hako_start_info *si, uint64_t mfn)
{
    const uint64_t *p2m = (const uint64_t *)si->p2m_va;
    for (uint64_t i = 0; i < si->nr_pt_frames; i++)
        if (p2m[si->pt_first_pfn + i] == mfn)
            return (const uint64_t *)(si->virt_base + ((si->pt_first_pfn + i) << 12));
    return NULL;
}

#define PF_P 1ull
#define PF_W 2ull
#define PF_U 4ull
#define PF_UNKNOWN (~0ull)
/* Effective P/W/U of va in the initial tables (0 = not mapped), PF_UNKNOWN if unsure. */
static uint64_t va_flags(const struct hako_start_info *si, uint64_t va)
{
    const uint64_t *t = (const uint64_t *)si->pt_base_va;
    uint64_t acc = PF_P | PF_W | PF_U;
    if (va >= HAKO_LOWER_HALF_END && va < 0xFFFF800000000000ull)
        return 0;
    for (int shift = 39;; shift -= 9) {
        uint64_t e = t[(va >> shift) & 511];
        if (!(e & PF_P))
            return 0;
        acc &= e;
        if (shift == 12 || (shift < 39 && (e & 0x80)))
            return acc;
        if (!(t = pt_frame(si, (e & 0x000FFFFFFFFFF000ull) >> 12)))
            return PF_UNKNOWN;
    }
}

static int need(int ok, const char *what)
{
    if (!ok)
        xtf_error("precondition not met: %s", what);
    return ok;
}

/* ---- register preservation ------------------------------------------------------ */

struct regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rsp;
    uint64_t xmm0, xmm15;
};
struct probe {
    struct regs in, out;
};
static const char *const reg_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
                                         "r8",  "r9",  "r10", "r11", "r12", "r13", "r14",
                                         "r15", "rsp", "xmm0", "xmm15" };
_Static_assert(sizeof(struct regs) == 18 * 8, "regs layout used by regs_probe");

/* Load in.* (in.rsp is filled in), syscall, store every register into out.*; returns rax. */
long regs_probe(struct probe *p);
__asm__(".pushsection .text\n"
        ".globl regs_probe\n"
        ".type regs_probe, @function\n"
        "regs_probe:\n"
        "    pushq %rbp\n    pushq %rbx\n    pushq %r12\n"
        "    pushq %r13\n    pushq %r14\n    pushq %r15\n"
        "    pushq %rdi\n"                      /* the probe, found again through rsp */
        "    movq %rsp, 120(%rdi)\n"
        "    movq 128(%rdi), %rax\n    movq %rax, %xmm0\n"
        "    movq 136(%rdi), %rax\n    movq %rax, %xmm15\n"
        "    movq 0(%rdi), %rax\n    movq 8(%rdi), %rbx\n    movq 24(%rdi), %rdx\n"
        "    movq 32(%rdi), %rsi\n   movq 48(%rdi), %rbp\n   movq 56(%rdi), %r8\n"
        "    movq 64(%rdi), %r9\n    movq 72(%rdi), %r10\n   movq 88(%rdi), %r12\n"
        "    movq 96(%rdi), %r13\n   movq 104(%rdi), %r14\n  movq 112(%rdi), %r15\n"
        "    movq 40(%rdi), %rdi\n"
        "    syscall\n"
        "    movq %rsp, %rcx\n"                 /* rcx and r11 are ours again */
        "    movq (%rsp), %r11\n"
        "    movq %rax, 144(%r11)\n    movq %rbx, 152(%r11)\n  movq %rdx, 168(%r11)\n"
        "    movq %rsi, 176(%r11)\n    movq %rdi, 184(%r11)\n  movq %rbp, 192(%r11)\n"
        "    movq %r8, 200(%r11)\n     movq %r9, 208(%r11)\n   movq %r10, 216(%r11)\n"
        "    movq %r12, 232(%r11)\n    movq %r13, 240(%r11)\n  movq %r14, 248(%r11)\n"
        "    movq %r15, 256(%r11)\n    movq %rcx, 264(%r11)\n"
        "    movq %xmm0, %rax\n        movq %rax, 272(%r11)\n"
        "    movq %xmm15, %rax\n       movq %rax, 280(%r11)\n"
        "    movq 144(%r11), %rax\n"
        "    popq %rdi\n"
        "    popq %r15\n    popq %r14\n    popq %r13\n"
        "    popq %r12\n    popq %rbx\n    popq %rbp\n"
        "    ret\n"
        ".size regs_probe, . - regs_probe\n"
        ".popsection\n");

/* Issue nr(a1, a2, a3) with distinctive values everywhere else; check rc and registers. */
static void check_regs(const char *name, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                       long expect)
{
    static uint64_t nonce = 0x5eed;
    struct probe p;
    uint64_t *in = (uint64_t *)&p.in, *out = (uint64_t *)&p.out;
    nonce = nonce * 6364136223846793005ull + 1442695040888963407ull;
    for (unsigned i = 0; i < 18; i++) {
        in[i] = (0x0101010101010101ull * (i + 0x11)) ^ (nonce >> 8);
        out[i] = 0;
    }
    p.in.rax = nr, p.in.rdi = a1, p.in.rsi = a2, p.in.rdx = a3;
    long rc = regs_probe(&p);
    XTF_EXPECT_RC(rc, expect, what("register probe: %s", name));
    for (unsigned i = 1; i < 18; i++) {
        if (i == 2 || i == 10)
            continue;                            /* rcx, r11: clobbered by syscall */
        XTF_CHECK(out[i] == in[i], "register probe %s: %s was %lx before, %lx after", name,
                  reg_names[i], in[i], out[i]);
    }
}

/* A hypercall made with RFLAGS.DF set: the hypervisor must not copy backwards. */
static long hypercall_df(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    long ret;
    __asm__ volatile("std\n\tsyscall\n\tcld"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}

/* ---- the test ------------------------------------------------------------------- */

static char scratch[4096] __attribute__((aligned(4096)));
static struct hako_version_info vinfo __attribute__((aligned(16)));
static uint64_t pt_copy[512];

void test_main(const struct hako_start_info *si)
{
    const int priv = !!(si->flags & HAKO_SIF_PRIVILEGED);
    const uint64_t map_end = si->virt_base + si->nr_mapped_pages * HAKO_PAGE_SIZE;
    const uint64_t pt = si->pt_base_va;
    const uint64_t n_before = xtf_checks;

    /* The test's assumptions about the address space. */
    if (!need(va_flags(si, 0x1000) == 0 && va_flags(si, 0x400000000000) == 0, "0x1000 and "
              "0x400000000000 unmapped") ||
        !need(va_flags(si, map_end) == 0, "the page after the mapped region is unmapped") ||
        !need(va_flags(si, pt) == (PF_P | PF_U), "initial L4 mapped present, user, read-only") ||
        !need(va_flags(si, (uint64_t)scratch) == (PF_P | PF_W | PF_U), "scratch writable") ||
        !need(si->first_free_pfn + 1 < si->nr_mapped_pages, "two free mapped pages at the end"))
        return;
    const uint64_t last_page = map_end - HAKO_PAGE_SIZE;   /* free, writable */

    /* 1. Unknown hypercall numbers (the first one, nr_hypercalls, is checked below).
     * Arguments that would be a valid console write catch
     * a number truncated to 32 bits on the way to the table. */
    static const uint64_t bad_nrs[] = { 63, 64, 1000, 0x7fffffff, ~0ul, 1ul << 63,
                                        1ul << 32, (1ul << 63) | 1, 0xffffffff00000000ul };
    for (unsigned i = 0; i < sizeof(bad_nrs) / sizeof(bad_nrs[0]); i++)
        XTF_EXPECT_RC(hako_hypercall6(bad_nrs[i], HAKO_CONSOLE_WRITE, UL("!\n"), 2, 0, 0, 0),
                      ENOSYS, what("unknown hypercall number %lx", bad_nrs[i]));
    long v = HC3(HAKO_HC_version, HAKO_VERSION_INFO, &vinfo, 0);
    if (XTF_EXPECT_RC(v, 0, "version INFO (to learn nr_hypercalls)"))
        XTF_EXPECT_RC(HC3(vinfo.nr_hypercalls, 0, 0, 0), ENOSYS,
                      what("hypercall number nr_hypercalls (%u)", vinfo.nr_hypercalls));

    /* 2. Unknown sub-commands (1 << 32 would truncate to a valid one). */
    static const uint64_t bad_cmds[] = { 4, 5, 0xff, ~0ul, 1ul << 32, (1ul << 32) | 1 };
    for (unsigned i = 0; i < sizeof(bad_cmds) / sizeof(bad_cmds[0]); i++) {
        uint64_t c = bad_cmds[i];
        XTF_EXPECT_RC(HC3(HAKO_HC_console_io, c, scratch, 1), ENOSYS,
                      what("console_io cmd %lx", c));
        XTF_EXPECT_RC(HC3(HAKO_HC_version, c, &vinfo, 0), ENOSYS, what("version cmd %lx", c));
        /* reason 0 (poweroff) code 3: a truncated shutdown would end with status 3. */
        XTF_EXPECT_RC(HC3(HAKO_HC_sched_op, c, 0, 3), ENOSYS, what("sched_op cmd %lx", c));
    }

    /* 3. Console write from bad pointers. */
    for (unsigned i = 0; i < NR_BAD; i++)
        XTF_EXPECT_RC(CON_WRITE(bad_ptrs[i].va, 64), EFAULT,
                      what("console write from %s (%lx, len 64)", bad_ptrs[i].what,
                           bad_ptrs[i].va));
    XTF_EXPECT_RC(CON_WRITE(map_end - 8, 64), EFAULT,
                  "console write running past the end of the mapped region");
    XTF_EXPECT_RC(CON_WRITE(map_end, 1), EFAULT, "console write of the unmapped page after it");
    XTF_EXPECT_RC(CON_WRITE(scratch, HAKO_CONSOLE_IO_MAX + 1), EINVAL,
                  "console write, len HAKO_CONSOLE_IO_MAX + 1");
    XTF_EXPECT_RC(CON_WRITE(scratch, ~0ul), EINVAL, "console write, len ~0");
    XTF_EXPECT_RC(CON_WRITE(scratch, 1ul << 32), EINVAL, "console write, len 1 << 32");
    XTF_EXPECT_RC(CON_WRITE(0, 0), 0, "console write, len 0, NULL");
    XTF_EXPECT_RC(CON_WRITE(0x1000, 0), 0, "console write, len 0, unmapped pointer");
    XTF_EXPECT_RC(CON_WRITE(0x8000000000000000ul, 0), 0, "console write, len 0, non-canonical");
    XTF_EXPECT_RC(CON_WRITE(0xFFFF800000000000ul, 0), 0, "console write, len 0, hypervisor range");

    /* Byte buffers need no alignment, and may cross pages. */
    static const char odd[] = "x[odd-aligned console write]\n";
    XTF_EXPECT_RC(CON_WRITE(odd + 1, sizeof(odd) - 2), sizeof(odd) - 2,
                  "console write from an odd address");
    static const char cross[] = "[page-crossing console write]\n";
    char *cp = (char *)(last_page - 10);
    memcpy(cp, cross, sizeof(cross));
    XTF_EXPECT_RC(CON_WRITE(cp, sizeof(cross) - 1), sizeof(cross) - 1,
                  "console write crossing into the last mapped page");

    /* 4. Console read: control domain only; OUT buffers must be writable. */
    if (priv) {
        memcpy(pt_copy, (const void *)pt, sizeof(pt_copy));
        XTF_EXPECT_RC(CON_READ(pt, 16), EFAULT, "console read into the read-only L4");
        if (va_flags(si, UL(test_title)) == (PF_P | PF_U))
            XTF_EXPECT_RC(CON_READ(test_title, 16), EFAULT, "console read into read-only .rodata");
        XTF_CHECK(memcmp(pt_copy, (const void *)pt, sizeof(pt_copy)) == 0,
                  "console read changed the read-only L4");
        for (unsigned i = 0; i < NR_BAD; i++)
            XTF_EXPECT_RC(CON_READ(bad_ptrs[i].va, 16), EFAULT,
                          what("console read into %s (%lx)", bad_ptrs[i].what, bad_ptrs[i].va));
        XTF_EXPECT_RC(CON_READ(map_end - 8, 16), EFAULT, "console read past the mapped end");
        XTF_EXPECT_RC(CON_READ(scratch, HAKO_CONSOLE_IO_MAX + 1), EINVAL,
                      "console read, len HAKO_CONSOLE_IO_MAX + 1");
        XTF_EXPECT_RC(CON_READ(scratch, ~0ul), EINVAL, "console read, len ~0");
        XTF_EXPECT_RC(CON_READ(0, 0), 0, "console read, len 0, NULL");
        long n = CON_READ(scratch + 1, 64);
        XTF_CHECK(n >= 0 && n <= 64, "console read into a valid odd buffer returned %ld (%s)",
                  n, xtf_errname(n));
        n = CON_READ(scratch, HAKO_CONSOLE_IO_MAX);
        XTF_CHECK(n >= 0 && n <= (long)HAKO_CONSOLE_IO_MAX,
                  "console read, len HAKO_CONSOLE_IO_MAX, returned %ld (%s)", n, xtf_errname(n));
    } else {
        XTF_EXPECT_RC(CON_READ(scratch, 16), EPERM, "console read from an unprivileged domain");
    }

    /* 5. version INFO into bad places. */
    for (unsigned i = 0; i < NR_BAD; i++) {
        uint64_t va = bad_ptrs[i].va & ~7ul;
        XTF_EXPECT_RC(VER_INFO(va), EFAULT,
                      what("version INFO into %s (%lx)", bad_ptrs[i].what, va));
    }
    memset(scratch, 0x5a, 128);
    XTF_EXPECT_RC(VER_INFO(scratch + 4), EINVAL, "version INFO, 8-aligned buffer + 4");
    XTF_EXPECT_RC(VER_INFO(scratch + 1), EINVAL, "version INFO, odd buffer");
    int untouched = 1;
    for (unsigned i = 0; i < 128; i++)
        untouched &= scratch[i] == 0x5a;
    XTF_CHECK(untouched, "version INFO wrote to a misaligned buffer it refused");

    memcpy(pt_copy, (const void *)pt, sizeof(pt_copy));
    XTF_EXPECT_RC(VER_INFO(pt), EFAULT, "version INFO into the read-only L4");
    XTF_CHECK(memcmp(pt_copy, (const void *)pt, sizeof(pt_copy)) == 0,
              "version INFO changed the read-only L4");
    if (va_flags(si, UL(test_title) & ~7ul) == (PF_P | PF_U))
        XTF_EXPECT_RC(VER_INFO(UL(test_title) & ~7ul), EFAULT,
                      "version INFO into read-only .rodata");
    else
        kprintf("note: .rodata is not mapped read-only; its OUT-buffer checks skipped\n");
    XTF_EXPECT_RC(VER_INFO(pt + HAKO_PAGE_SIZE - 40), EFAULT,
                  "version INFO into the end of the L4 (read-only, maybe next page too)");

    uint8_t *tail = (uint8_t *)(map_end - 40);
    memset(tail, 0xa5, 40);
    XTF_EXPECT_RC(VER_INFO(tail), EFAULT, "version INFO straddling the end of the mapping");
    untouched = 1;
    for (unsigned i = 0; i < 40; i++)
        untouched &= tail[i] == 0xa5;
    XTF_CHECK(untouched, "version INFO partly wrote a buffer it refused with EFAULT");
    XTF_EXPECT_RC(VER_INFO(0xFFFFFFFFFFFFFFF8), EFAULT, "version INFO wrapping past 2^64");

    /* 6. Bad shutdown requests are refused and the domain keeps running. */
    static const struct { uint64_t reason, code; } bad_sd[] = {
        { 3, 3 }, { 0xffffffff, 3 }, { ~0ul, 3 }, { (1ul << 32), 3 }, { (1ul << 32) | 1, 3 },
        { HAKO_SHUTDOWN_POWEROFF, 257 }, { HAKO_SHUTDOWN_POWEROFF, (1ul << 32) | 1 },
        { HAKO_SHUTDOWN_POWEROFF, ~0ul }, { HAKO_SHUTDOWN_POWEROFF, 256 },
        { HAKO_SHUTDOWN_REBOOT, 256 }, { HAKO_SHUTDOWN_CRASH, 256 },
    };
    for (unsigned i = 0; i < sizeof(bad_sd) / sizeof(bad_sd[0]); i++)
        XTF_EXPECT_RC(SHUTDOWN(bad_sd[i].reason, bad_sd[i].code), EINVAL,
                      what("sched_op shutdown reason %lx code %lx", bad_sd[i].reason,
                           bad_sd[i].code));

    /* 7. Registers survive successful and failing hypercalls (rcx, r11 excepted). */
    check_regs("version ABI", HAKO_HC_version, HAKO_VERSION_ABI, 0x1234, 0x5678,
               HAKO_ABI_VERSION);
    check_regs("version unknown cmd", HAKO_HC_version, 0xA5A5A5A5A5A5A502ul, 0, 0, ENOSYS);
    check_regs("unknown hypercall nr", 0x1000, 0, UL(scratch), 1, ENOSYS);
    check_regs("console write EFAULT", HAKO_HC_console_io, HAKO_CONSOLE_WRITE,
               0x8000000000000000ul, 16, EFAULT);
    check_regs("version INFO EINVAL", HAKO_HC_version, HAKO_VERSION_INFO, UL(scratch) + 4, 0,
               EINVAL);
    check_regs("sched_op shutdown EINVAL", HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, 7, 3, EINVAL);
    check_regs("sched_op yield", HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0, 0);
    static const char rmsg[] = "[register probe console write]\n";
    check_regs("console write", HAKO_HC_console_io, HAKO_CONSOLE_WRITE, UL(rmsg),
               sizeof(rmsg) - 1, sizeof(rmsg) - 1);

    /* 8. The hypervisor still works. */
    XTF_EXPECT_RC(HC3(HAKO_HC_version, HAKO_VERSION_ABI, 0, 0), HAKO_ABI_VERSION, "version ABI");
    uint8_t *vi = (uint8_t *)(last_page - 40);      /* 8-aligned, crossing a page boundary */
    memset(vi, 0xAA, sizeof(struct hako_version_info));
    if (XTF_EXPECT_RC(VER_INFO(vi), 0, "version INFO crossing a page boundary")) {
        struct hako_version_info *info = (struct hako_version_info *)vi;
        XTF_CHECK(info->abi_major == HAKO_ABI_MAJOR && info->abi_minor == HAKO_ABI_MINOR,
                  "version INFO abi %u.%u", info->abi_major, info->abi_minor);
        XTF_CHECK(info->nr_hypercalls >= 3 && info->nr_hypercalls < 64,
                  "version INFO nr_hypercalls %u", info->nr_hypercalls);
        XTF_CHECK((info->features & ~HAKO_FEAT_NX) == 0, "version INFO features %lx",
                  info->features);
        XTF_CHECK(info->hv_version[0] && memchr_nul(info->hv_version, 32),
                  "version INFO hv_version empty or not NUL-terminated");
        XTF_CHECK(!(info->_reserved[0] | info->_reserved[1] | info->_reserved[2] |
                    info->_reserved[3]), "version INFO _reserved not zeroed");
        kprintf("hypervisor %s, %u hypercalls\n", info->hv_version, info->nr_hypercalls);
    }
    memset(&vinfo, 0xAA, sizeof(vinfo));
    if (XTF_EXPECT_RC(hypercall_df(HAKO_HC_version, HAKO_VERSION_INFO, UL(&vinfo), 0), 0,
                      "version INFO with RFLAGS.DF set"))
        XTF_CHECK(vinfo.abi_major == HAKO_ABI_MAJOR && vinfo.abi_minor == HAKO_ABI_MINOR &&
                      vinfo.nr_hypercalls >= 3 && !vinfo._reserved[0] && !vinfo._reserved[3] &&
                      memchr_nul(vinfo.hv_version, 32),
                  "version INFO with RFLAGS.DF set wrote a bad record");
    static const char dfmsg[] = "[console write with DF set]\n";
    XTF_EXPECT_RC(hypercall_df(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, UL(dfmsg),
                               sizeof(dfmsg) - 1), sizeof(dfmsg) - 1, "console write with DF set");
    static const char hello[] = "[console still works]\n";
    XTF_EXPECT_RC(CON_WRITE(hello, sizeof(hello) - 1), sizeof(hello) - 1,
                  "console write of a normal string");
    XTF_EXPECT_RC(HC3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0), 0, "yield");
    XTF_EXPECT_RC(HC3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, ~0ul, ~0ul), 0,
                  "yield ignores its unused arguments");
    kprintf("%lu hypercall checks in this test\n", (uint64_t)(xtf_checks - n_before));
}
