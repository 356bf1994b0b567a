/*
 * hypervisor/emulate_cpuid.c: what cpuid answers a trap-mode guest when CPUID faulting
 * lets hako see it (ABI.md 20.4). The machine's own answer, read in ring 0, with only
 * the feature bits of a whitelist kept: what the guest can really use in ring 3 under
 * hako. Everything that needs a control bit, MSR or state hako does not give a guest
 * (VMX, PCID, PGE, x2APIC, XSAVE and AVX, FSGSBASE, SMEP/SMAP/UMIP, speculation-control
 * MSRs...) reads 0; the hypervisor-present bit reads 1; topology says one CPU, APIC ID 0.
 * Leaves hako does not describe read 0.
 */
#include "emulate.h"

#include "cpu.h"
#include "x86.h"

#define BASIC_MAX   0x7u            /* highest basic leaf the guest is told about */
#define EXT_MAX     0x80000008u     /* highest extended leaf */

/* Leaf 1. ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT TSC-deadline (the
 * emulated HAKO_MSR_TSC_DEADLINE) AES RDRAND; the hypervisor-present bit is set. */
#define L1_ECX_KEEP ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | \
                     (1u << 20) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 30))
#define L1_ECX_HYPERVISOR (1u << 31)
/* EDX: FPU TSC MSR PAE CX8 CMOV PAT CLFSH MMX FXSR SSE SSE2. */
#define L1_EDX_KEEP ((1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 15) | \
                     (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
/* EBX: brand index and CLFLUSH line size kept; one logical CPU, APIC ID 0. */
#define L1_EBX_KEEP 0x0000FFFFu
#define L1_EBX_ONE_CPU (1u << 16)
/* Leaf 7.0 EBX: BMI1 BMI2 ERMS RDSEED ADX CLFLUSHOPT CLWB SHA. */
#define L7_EBX_KEEP ((1u << 3) | (1u << 8) | (1u << 9) | (1u << 18) | (1u << 19) | (1u << 23) | \
                     (1u << 24) | (1u << 29))
/* ECX: RDPID only. */
#define L7_ECX_KEEP (1u << 22)
/* Extended leaf 0x80000001. ECX: LAHF/SAHF, LZCNT, PREFETCHW. EDX: SYSCALL, NX (only
 * when hako enables it), RDTSCP, long mode. */
#define E1_ECX_KEEP ((1u << 0) | (1u << 5) | (1u << 8))
#define E1_EDX_KEEP ((1u << 11) | (1u << 27) | (1u << 29))
#define E1_EDX_NX   (1u << 20)
/* 0x80000007 EDX: invariant TSC. */
#define E7_EDX_KEEP (1u << 8)

void emul_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    static uint32_t max_basic, max_ext;     /* the machine's, capped; read once */
    uint32_t a = 0, b = 0, c = 0, d = 0;
    if (!max_ext) {
        cpuid(0, 0, &max_basic, &b, &c, &d);
        cpuid(0x80000000u, 0, &max_ext, &b, &c, &d);
        max_basic = max_basic < BASIC_MAX ? max_basic : BASIC_MAX;
        max_ext = max_ext < EXT_MAX ? max_ext : EXT_MAX;
    }
    bool known = leaf <= max_basic || (leaf >= 0x80000000u && leaf <= max_ext);
    r[0] = r[1] = r[2] = r[3] = 0;
    if (!known)
        return;
    cpuid(leaf, sub, &a, &b, &c, &d);
    switch (leaf) {
    case 0:                         /* max leaf, vendor string */
        r[0] = max_basic, r[1] = b, r[2] = c, r[3] = d;
        return;
    case 1:                         /* signature, features */
        r[0] = a;
        r[1] = (b & L1_EBX_KEEP) | L1_EBX_ONE_CPU;
        r[2] = (c & L1_ECX_KEEP) | L1_ECX_HYPERVISOR;
        r[3] = d & L1_EDX_KEEP;
        return;
    case 2:                         /* cache and TLB descriptors */
        r[0] = a, r[1] = b, r[2] = c, r[3] = d;
        return;
    case 4:                         /* cache parameters: one core, one thread per cache */
        r[0] = a & 0x3FFFu, r[1] = b, r[2] = c, r[3] = d;
        return;
    case 7:                         /* structured features: subleaf 0 only */
        if (sub == 0)
            r[1] = b & L7_EBX_KEEP, r[2] = c & L7_ECX_KEEP;
        return;
    case 0x80000000u:
        r[0] = max_ext;
        return;
    case 0x80000001u:
        r[0] = a;
        r[2] = c & E1_ECX_KEEP;
        r[3] = (d & E1_EDX_KEEP) | (cpu_has.nx ? (d & E1_EDX_NX) : 0);
        return;
    case 0x80000002u:               /* the brand string */
    case 0x80000003u:
    case 0x80000004u:
    case 0x80000006u:               /* L2 cache */
        r[0] = a, r[1] = b, r[2] = c, r[3] = d;
        return;
    case 0x80000007u:
        r[3] = d & E7_EDX_KEEP;
        return;
    case 0x80000008u:               /* address sizes only */
        r[0] = a & 0xFFFFu;
        return;
    default:                        /* 3, 5, 6, 0x80000005: nothing hako describes */
        return;
    }
}
