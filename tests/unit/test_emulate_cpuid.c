/*
 * tests/unit/test_emulate_cpuid.c: cmocka tests of hypervisor/emulate_cpuid.c, the
 * cpuid view a trap-mode guest gets under CPUID faulting (ABI.md 20.4), computed from
 * the CPU these tests run on: whatever that CPU has, the bits hako cannot give a guest
 * read 0, the bits it can are the CPU's, and undescribed leaves read 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpu.h"        /* hypervisor/cpu.h */
#include "emulate.h"    /* hypervisor/emulate.h */
#include "x86.h"

struct cpu_features cpu_has;

#define BIT(n) (1u << (n))

/* The host's own answer for leaf/sub. */
static void host(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    cpuid(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
}

static void assert_zero_leaf(uint32_t leaf, uint32_t sub)
{
    uint32_t r[4] = { 1, 1, 1, 1 };
    emul_cpuid(leaf, sub, r);
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
}

static void test_leaf0(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    emul_cpuid(0, 0, r);
    host(0, 0, h);
    assert_true(r[0] <= 7 && r[0] == (h[0] < 7 ? h[0] : 7));
    assert_int_equal(r[1], h[1]);       /* the vendor string is the CPU's */
    assert_int_equal(r[2], h[2]);
    assert_int_equal(r[3], h[3]);
}

static void test_leaf1(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    emul_cpuid(1, 0, r);
    host(1, 0, h);
    assert_int_equal(r[0], h[0]);                               /* signature */
    assert_true(r[2] & BIT(31));                                /* hypervisor present */
    /* MONITOR VMX SMX EST TM2 PDCM PCID DCA x2APIC XSAVE OSXSAVE AVX F16C */
    assert_int_equal(r[2] & (BIT(3) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(15) | BIT(17) |
                             BIT(18) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(29)), 0);
    /* VME DE PSE MCE APIC SEP MTRR PGE MCA PSE36 DS ACPI HTT TM PBE */
    assert_int_equal(r[3] & (BIT(1) | BIT(2) | BIT(3) | BIT(7) | BIT(9) | BIT(11) | BIT(12) |
                             BIT(13) | BIT(14) | BIT(17) | BIT(21) | BIT(22) | BIT(28) |
                             BIT(29) | BIT(31)), 0);
    /* Kept bits are the CPU's: FPU TSC MSR PAE CX8 SSE SSE2; SSE3 POPCNT. */
    uint32_t edx_kept = BIT(0) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(25) | BIT(26);
    assert_int_equal(r[3] & edx_kept, h[3] & edx_kept);
    assert_int_equal(r[2] & (BIT(0) | BIT(23)), h[2] & (BIT(0) | BIT(23)));
    assert_int_equal(r[1] >> 24, 0);                            /* APIC ID 0 */
    assert_int_equal((r[1] >> 16) & 0xFF, 1);                   /* one logical CPU */
    assert_int_equal(r[1] & 0xFFFF, h[1] & 0xFFFF);
}

static void test_leaf7(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    host(0, 0, h);
    if (h[0] < 7)
        skip();
    emul_cpuid(7, 0, r);
    host(7, 0, h);
    assert_int_equal(r[0], 0);                                  /* no subleaf 1 */
    /* FSGSBASE AVX2 SMEP INVPCID RTM MPX AVX512F/DQ SMAP AVX512* PT */
    assert_int_equal(r[1] & (BIT(0) | BIT(4) | BIT(5) | BIT(7) | BIT(10) | BIT(11) | BIT(14) |
                             BIT(16) | BIT(17) | BIT(20) | BIT(21) | BIT(25) | BIT(26) |
                             BIT(27) | BIT(28) | BIT(30) | BIT(31)), 0);
    assert_int_equal(r[2] & ~BIT(22), 0);                       /* only RDPID */
    assert_int_equal(r[3], 0);                                  /* no speculation MSRs */
    uint32_t kept = BIT(3) | BIT(8) | BIT(9) | BIT(19);         /* BMI1 BMI2 ERMS ADX */
    assert_int_equal(r[1] & kept, h[1] & kept);
    assert_zero_leaf(7, 1);
}

static void test_zero_leaves(void **state)
{
    (void)state;
    assert_zero_leaf(3, 0);
    assert_zero_leaf(6, 0);
    assert_zero_leaf(8, 0);                 /* past the maximum basic leaf */
    assert_zero_leaf(0xB, 0);               /* topology */
    assert_zero_leaf(0xD, 0);               /* XSAVE */
    assert_zero_leaf(0xD, 1);
    assert_zero_leaf(0x40000000u, 0);       /* no hypervisor leaves */
    assert_zero_leaf(0x80000009u, 0);       /* past the maximum extended leaf */
    assert_zero_leaf(0xFFFFFFFFu, 0);
}

static void test_extended(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    host(0x80000000u, 0, h);
    if (h[0] < 0x80000001u)
        skip();
    emul_cpuid(0x80000000u, 0, r);
    assert_true(r[0] >= 0x80000001u && r[0] <= 0x80000008u);
    assert_int_equal(r[1] | r[2] | r[3], 0);
    host(0x80000001u, 0, h);
    cpu_has.nx = true;
    emul_cpuid(0x80000001u, 0, r);
    assert_int_equal(r[3] & BIT(20), h[3] & BIT(20));           /* NX as the CPU has it */
    assert_int_equal(r[3] & BIT(29), h[3] & BIT(29));           /* long mode */
    assert_int_equal(r[3] & BIT(26), 0);                        /* no 1 GiB pages */
    assert_int_equal(r[2] & BIT(2), 0);                         /* no SVM */
    cpu_has.nx = false;
    emul_cpuid(0x80000001u, 0, r);
    assert_int_equal(r[3] & BIT(20), 0);                        /* NX only when hako uses it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf0),
        cmocka_unit_test(test_leaf1),
        cmocka_unit_test(test_leaf7),
        cmocka_unit_test(test_zero_leaves),
        cmocka_unit_test(test_extended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
