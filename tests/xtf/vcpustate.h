/*
 * tests/xtf/vcpustate.h: the part of a vCPU's register state the hypervisor must keep
 * per vCPU across switches (ABI.md 2, 4.3): the data segment selectors DS/ES/FS/GS and
 * the x87/SSE state. Shared by test-vcpu-state (dom0) and the domU's `state` mode.
 *
 * Test kernels are built with -mgeneral-regs-only, so the compiler never touches an x87
 * or XMM register: what inline asm puts there stays until the hypervisor changes it.
 * The larger helpers are kept out of line (VS_FN), once per kernel, to keep the domU
 * image small.
 */
#ifndef XTF_VCPUSTATE_H
#define XTF_VCPUSTATE_H

#include <stdint.h>

#include "klib.h"

/* Kinds of difference (vstate_diff). */
#define VS_SEL 1u   /* a data segment selector */
#define VS_FPU 2u   /* x87 control/status/tag word, an x87 register, or MXCSR */
#define VS_XMM 4u   /* an XMM register */
#define VS_ALL (VS_SEL | VS_FPU | VS_XMM)

/* The domU's `state` power-off code: kinds its entry state differed from the reset
 * state in (bits 0..2), kinds that changed under it during the rounds (bits 3..5). */
#define STATE_CODE_ROUND_SHIFT 3
#define STATE_CODE_PROTOCOL    64u   /* binding or sending on the event channel failed */
#define STATE_CODE_LOAD        128u  /* its own state did not read back as loaded */

/* The fxsave64 image (64-bit layout). */
struct fxsave_area {
    uint16_t fcw, fsw;
    uint8_t ftw, _rsv0;                /* abridged tag: bit i = physical register i in use */
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    struct { uint64_t mant; uint16_t se; uint8_t _rsv[6]; } st[8];   /* ST(0)..ST(7) */
    uint8_t xmm[16][16];
    uint8_t _rsv1[96];
} __attribute__((aligned(16)));
_Static_assert(sizeof(struct fxsave_area) == 512, "fxsave image");

/* What to load: selectors, control words, and register contents derived from seed
 * (0: every register zero, as after reset); depth = x87 registers in use (0..8). */
struct vstate_spec {
    uint16_t sel[4];                   /* ds es fs gs */
    uint16_t fcw;
    uint32_t mxcsr;
    uint8_t seed;
    unsigned depth;
};

/* The reset state of a new vCPU (ABI.md 4.3): null selectors, FCW 0x037F, MXCSR
 * 0x1F80, x87 stack empty, every register zero. */
static const struct vstate_spec vstate_reset_spec = { { 0, 0, 0, 0 }, 0x037F, 0x1F80, 0, 0 };

/* One snapshot, each part read by its own instruction, plus the whole fxsave image. */
struct vstate {
    uint16_t sel[4];                   /* mov %ds/%es/%fs/%gs */
    uint16_t fcw;                      /* fnstcw */
    uint32_t mxcsr;                    /* stmxcsr */
    uint8_t xmm[16][16];               /* movdqu, xmm0..xmm15 */
    struct fxsave_area fx;             /* fxsave64 / fxrstor64 */
};

#define VS_FN static __attribute__((noinline, unused))

#define VS_XMM_ST(n) "movdqu %%xmm" #n ", " #n "*16(%0)\n\t"
#define VS_XMM_EACH(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) \
    op(8) op(9) op(10) op(11) op(12) op(13) op(14) op(15)

/* Read the live state into *s. */
VS_FN void vstate_read(struct vstate *s)
{
    __asm__ volatile("movw %%ds, %0\n\tmovw %%es, %1\n\tmovw %%fs, %2\n\tmovw %%gs, %3"
                     : "=m"(s->sel[0]), "=m"(s->sel[1]), "=m"(s->sel[2]), "=m"(s->sel[3]));
    __asm__ volatile("fnstcw %0\n\tstmxcsr %1" : "=m"(s->fcw), "=m"(s->mxcsr));
    __asm__ volatile(VS_XMM_EACH(VS_XMM_ST) : : "r"(s->xmm) : "memory");
    __asm__ volatile("fxsave64 %0" : "=m"(s->fx));
}

/* Load *s (built by vstate_make) into the live registers. */
static inline void vstate_load(const struct vstate *s)
{
    __asm__ volatile("fxrstor64 %0" : : "m"(s->fx));
    __asm__ volatile("movw %0, %%ds\n\tmovw %1, %%es\n\tmovw %2, %%fs\n\tmovw %3, %%gs"
                     : : "m"(s->sel[0]), "m"(s->sel[1]), "m"(s->sel[2]), "m"(s->sel[3])
                     : "memory");
}

/* Build the snapshot a vCPU holding spec would read, fxsave image included. */
VS_FN void vstate_make(struct vstate *s, const struct vstate_spec *spec)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->sel, spec->sel, sizeof(s->sel));
    s->fcw = s->fx.fcw = spec->fcw;
    s->mxcsr = s->fx.mxcsr = spec->mxcsr;
    s->fx.fsw = (uint16_t)(((8 - spec->depth) & 7) << 11);             /* TOP */
    s->fx.ftw = (uint8_t)(spec->depth ? 0xFF << (8 - spec->depth) : 0);
    if (!spec->seed)
        return;
    for (unsigned i = 0; i < 8; i++) {       /* normal extended-precision values */
        s->fx.st[i].mant = 1ull << 63 | (uint64_t)spec->seed << 40 | i * 0x01010101ull;
        s->fx.st[i].se = (uint16_t)(0x3FF0 + i + (spec->seed & 1 ? 0x8000 : 0));
    }
    for (unsigned i = 0; i < 16; i++)
        for (unsigned j = 0; j < 16; j++)
            s->xmm[i][j] = s->fx.xmm[i][j] = (uint8_t)(spec->seed ^ (i * 16 + j));
}

/* Two selectors are the same; every null selector (0..3) counts as one value. */
static inline int vstate_sel_same(uint16_t a, uint16_t b)
{
    return (a & 0xFFFC) == 0 ? (b & 0xFFFC) == 0 : a == b;
}

/* The kinds (VS_*) in which a and b differ. The instruction pointers in the fxsave
 * image (FOP, FIP, FDP) and its reserved bytes are not state a domain keeps. */
VS_FN unsigned vstate_diff(const struct vstate *a, const struct vstate *b)
{
    const struct fxsave_area *x = &a->fx, *y = &b->fx;
    unsigned kinds = 0;
    for (unsigned i = 0; i < 4; i++)
        if (!vstate_sel_same(a->sel[i], b->sel[i]))
            kinds |= VS_SEL;
    if (a->fcw != b->fcw || a->mxcsr != b->mxcsr || x->fcw != y->fcw || x->fsw != y->fsw ||
        x->ftw != y->ftw || x->mxcsr != y->mxcsr)
        kinds |= VS_FPU;
    for (unsigned i = 0; i < 8; i++)
        if (x->st[i].mant != y->st[i].mant || x->st[i].se != y->st[i].se)
            kinds |= VS_FPU;
    if (memcmp(a->xmm, b->xmm, sizeof(a->xmm)) || memcmp(x->xmm, y->xmm, sizeof(x->xmm)))
        kinds |= VS_XMM;
    return kinds;
}

/* "selectors+x87/MXCSR+XMM" for a set of kinds ("nothing" for none); a static buffer. */
VS_FN const char *vstate_kinds(unsigned kinds)
{
    static const char *const names[] = { "selectors", "x87/MXCSR", "XMM" };
    static char buf[48];
    unsigned n = 0;
    buf[0] = 0;
    for (unsigned k = 0; k < 3; k++)
        if (kinds & 1u << k)
            n += (unsigned)ksnprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "+" : "", names[k]);
    return n ? buf : "nothing";
}

/* Print a snapshot on one line: selectors, control words, ST(0), xmm0 and xmm15. */
VS_FN void vstate_print(const char *tag, const struct vstate *s)
{
    uint64_t x0[2], x15[2];
    memcpy(x0, s->xmm[0], 16);
    memcpy(x15, s->xmm[15], 16);
    kprintf("%s: ds %x es %x fs %x gs %x fcw %x fsw %x ftw %x mxcsr %x st0 %x:%lx "
            "xmm0 %lx:%lx xmm15 %lx:%lx\n", tag, s->sel[0], s->sel[1], s->sel[2], s->sel[3],
            s->fcw, s->fx.fsw, s->fx.ftw, s->mxcsr, s->fx.st[0].se, s->fx.st[0].mant, x0[1],
            x0[0], x15[1], x15[0]);
}

#endif /* XTF_VCPUSTATE_H */
