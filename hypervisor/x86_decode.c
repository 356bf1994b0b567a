/*
 * hypervisor/x86_decode.c: the trap-and-emulate instruction decoder (x86_decode.h).
 *
 * 64-bit mode only. An instruction is: legacy prefixes (any order, any repetition),
 * then optionally a REX byte, then a one-byte opcode or 0F and a second opcode byte,
 * then ModRM, SIB, displacement and immediate as the opcode table says. Only the REX
 * byte immediately before the opcode counts: a REX followed by a legacy prefix or by
 * another REX is ignored, as the CPU ignores it. The bytes are untrusted: every read
 * goes through take(), which checks it against both len and the 15-byte limit first.
 *
 * Choices the header leaves open:
 *  - MOV to/from CR ignores ModRM.mod (the CPU treats it as 11): rm_reg is always
 *    ModRM.rm with REX.B, and no SIB or displacement is read.
 *  - opsize follows the operand-size rule (REX.W 8, 66 2, else 4; byte forms 1)
 *    except where the architecture fixes it: PUSHF/POPF 8 (2 with 66 and no REX.W),
 *    MOV CR, IRETQ, SYSRETQ 8, LGDT/LIDT/SGDT/SIDT 8 (the base of the 10-byte
 *    pseudo-descriptor), LTR/LLDT/LMSW 2, SMSW/STR with a memory operand 2, and
 *    IN/OUT (1 for E4/E6/EC/EE, else 2 with 66, else 4; REX.W is ignored).
 *  - Byte forms (88, C6, 86, 0F B0) without a REX byte name ah, ch, dh, bh by reg 4..7;
 *    the caller tells that case by insn.rex == 0.
 *  - C6's imm8 is zero-extended; C7's imm16 (with 66, no REX.W) or imm32 is
 *    sign-extended to 64 bits.
 *  - A SIB without an index gets scale 1. With 67 the address is still decoded in the
 *    64-bit ModRM form; the caller truncates the effective address to 32 bits.
 *  - F2/F3 are recorded but change nothing (so F3 0F 09, WBNOINVD, decodes as WBINVD,
 *    which does more, and XACQUIRE/XRELEASE hints are accepted).
 */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#include "x86_decode.h"

/* Opcode table flags. */
#define F_MODRM  0x0001u  /* a ModRM byte follows the opcode */
#define F_MEM    0x0002u  /* the rm operand must be memory */
#define F_LOCK   0x0004u  /* LOCK is allowed */
#define F_REG    0x0008u  /* ModRM.reg names a GPR operand (insn.reg) */
#define F_RM     0x0010u  /* ModRM.rm is an operand (a register or memory) */
#define F_REG0   0x0020u  /* ModRM.reg must be 0 */
#define F_IMM8   0x0040u  /* an imm8 follows */
#define F_IMMZ   0x0080u  /* an imm16 (with 66, no REX.W) or imm32 follows */
#define F_REXW   0x0100u  /* REX.W is required */
#define F_GROUP  0x0200u  /* op is chosen by ModRM.reg (0F 00, 0F 01) */
#define F_CR     0x0400u  /* MOV CR: reg is a control register, rm a GPR */

/* Operand-size classes. */
enum sz { SZ_GEN, SZ_1, SZ_2, SZ_8, SZ_STACK, SZ_IO, SZ_MEM2 };

struct opdesc {
    uint8_t op;      /* enum x86_op; X86_OP_NONE: not known */
    uint8_t sz;      /* enum sz */
    uint16_t flags;  /* F_* */
};

#define RM_MEM  (F_MODRM | F_RM | F_MEM)
#define SYS_RM  (F_MODRM | F_RM)

static const struct opdesc one_byte[256] = {
    [0xFA] = { X86_OP_CLI, SZ_GEN, 0 },
    [0xFB] = { X86_OP_STI, SZ_GEN, 0 },
    [0x9C] = { X86_OP_PUSHF, SZ_STACK, 0 },
    [0x9D] = { X86_OP_POPF, SZ_STACK, 0 },
    [0xF4] = { X86_OP_HLT, SZ_GEN, 0 },
    [0xCF] = { X86_OP_IRETQ, SZ_8, F_REXW },
    [0xE4] = { X86_OP_IN, SZ_1, F_IMM8 },
    [0xE5] = { X86_OP_IN, SZ_IO, F_IMM8 },
    [0xEC] = { X86_OP_IN, SZ_1, 0 },
    [0xED] = { X86_OP_IN, SZ_IO, 0 },
    [0xE6] = { X86_OP_OUT, SZ_1, F_IMM8 },
    [0xE7] = { X86_OP_OUT, SZ_IO, F_IMM8 },
    [0xEE] = { X86_OP_OUT, SZ_1, 0 },
    [0xEF] = { X86_OP_OUT, SZ_IO, 0 },
    [0x88] = { X86_OP_MOV_STORE, SZ_1, RM_MEM | F_REG },
    [0x89] = { X86_OP_MOV_STORE, SZ_GEN, RM_MEM | F_REG },
    [0xC6] = { X86_OP_MOV_STORE, SZ_1, RM_MEM | F_REG0 | F_IMM8 },
    [0xC7] = { X86_OP_MOV_STORE, SZ_GEN, RM_MEM | F_REG0 | F_IMMZ },
    [0x86] = { X86_OP_XCHG, SZ_1, RM_MEM | F_REG | F_LOCK },
    [0x87] = { X86_OP_XCHG, SZ_GEN, RM_MEM | F_REG | F_LOCK },
};

static const struct opdesc two_byte[256] = {
    [0x00] = { X86_OP_NONE, SZ_GEN, F_MODRM | F_GROUP },
    [0x01] = { X86_OP_NONE, SZ_GEN, F_MODRM | F_GROUP },
    [0x07] = { X86_OP_SYSRETQ, SZ_8, F_REXW },
    [0x20] = { X86_OP_MOV_FROM_CR, SZ_8, F_MODRM | F_CR },
    [0x22] = { X86_OP_MOV_TO_CR, SZ_8, F_MODRM | F_CR },
    [0x08] = { X86_OP_INVD, SZ_GEN, 0 },
    [0x09] = { X86_OP_WBINVD, SZ_GEN, 0 },
    [0x30] = { X86_OP_WRMSR, SZ_GEN, 0 },
    [0x31] = { X86_OP_RDTSC, SZ_GEN, 0 },
    [0x32] = { X86_OP_RDMSR, SZ_GEN, 0 },
    [0xA2] = { X86_OP_CPUID, SZ_GEN, 0 },
    [0xB0] = { X86_OP_CMPXCHG, SZ_1, RM_MEM | F_REG | F_LOCK },
    [0xB1] = { X86_OP_CMPXCHG, SZ_GEN, RM_MEM | F_REG | F_LOCK },
};

/* 0F 00 /reg, register or memory. */
static const struct opdesc grp_0f00[8] = {
    [1] = { X86_OP_STR, SZ_MEM2, SYS_RM },
    [2] = { X86_OP_LLDT, SZ_2, SYS_RM },
    [3] = { X86_OP_LTR, SZ_2, SYS_RM },
};

/* 0F 01 /reg with a memory operand (mod != 11). */
static const struct opdesc grp_0f01_mem[8] = {
    [0] = { X86_OP_SGDT, SZ_8, RM_MEM },
    [1] = { X86_OP_SIDT, SZ_8, RM_MEM },
    [2] = { X86_OP_LGDT, SZ_8, RM_MEM },
    [3] = { X86_OP_LIDT, SZ_8, RM_MEM },
    [4] = { X86_OP_SMSW, SZ_MEM2, SYS_RM },
    [6] = { X86_OP_LMSW, SZ_2, SYS_RM },
    [7] = { X86_OP_INVLPG, SZ_GEN, RM_MEM },
};

/* 0F 01 /reg with mod == 11; SWAPGS (0F 01 F8) is matched on the whole ModRM byte. */
static const struct opdesc grp_0f01_reg[8] = {
    [4] = { X86_OP_SMSW, SZ_MEM2, SYS_RM },
    [6] = { X86_OP_LMSW, SZ_2, SYS_RM },
};

static const char *const op_names[X86_OP_COUNT] = {
    [X86_OP_CLI] = "cli", [X86_OP_STI] = "sti", [X86_OP_PUSHF] = "pushf",
    [X86_OP_POPF] = "popf", [X86_OP_HLT] = "hlt", [X86_OP_IRETQ] = "iretq",
    [X86_OP_SYSRETQ] = "sysretq", [X86_OP_MOV_FROM_CR] = "mov-from-cr",
    [X86_OP_MOV_TO_CR] = "mov-to-cr", [X86_OP_INVLPG] = "invlpg",
    [X86_OP_WBINVD] = "wbinvd", [X86_OP_INVD] = "invd", [X86_OP_RDMSR] = "rdmsr",
    [X86_OP_WRMSR] = "wrmsr", [X86_OP_RDTSC] = "rdtsc", [X86_OP_CPUID] = "cpuid",
    [X86_OP_LGDT] = "lgdt", [X86_OP_LIDT] = "lidt", [X86_OP_SGDT] = "sgdt",
    [X86_OP_SIDT] = "sidt", [X86_OP_SMSW] = "smsw", [X86_OP_LMSW] = "lmsw",
    [X86_OP_LTR] = "ltr", [X86_OP_STR] = "str", [X86_OP_LLDT] = "lldt",
    [X86_OP_SWAPGS] = "swapgs", [X86_OP_IN] = "in", [X86_OP_OUT] = "out",
    [X86_OP_MOV_STORE] = "mov-store", [X86_OP_XCHG] = "xchg",
    [X86_OP_CMPXCHG] = "cmpxchg",
};

#define REX_W 0x8u
#define REX_R 0x4u
#define REX_X 0x2u
#define REX_B 0x1u

/* The bytes being decoded and how far the decoder has read. */
struct cursor {
    const uint8_t *b;
    size_t len;
    size_t pos;
};

/* Read n (1..4) little-endian bytes at the cursor into *v and advance, or return
 * TOO_LONG if they would end past byte 15, TRUNCATED if past len. */
static int take(struct cursor *c, size_t n, uint32_t *v)
{
    if (c->pos + n > X86_MAX_INSN_LEN)
        return X86_DECODE_TOO_LONG;
    if (c->pos + n > c->len)
        return X86_DECODE_TRUNCATED;
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint32_t)c->b[c->pos + i] << (8 * i);
    c->pos += n;
    *v = x;
    return X86_DECODE_OK;
}

/* Is b a legacy prefix? If so, record it in *in. */
static bool legacy_prefix(uint8_t b, struct x86_insn *in)
{
    switch (b) {
    case 0xF0: in->prefixes |= X86_PFX_LOCK; return true;
    case 0xF3: in->prefixes |= X86_PFX_REP; return true;
    case 0xF2: in->prefixes |= X86_PFX_REPNE; return true;
    case 0x66: in->prefixes |= X86_PFX_OPSZ; return true;
    case 0x67: in->prefixes |= X86_PFX_ADSZ; return true;
    case 0x26: in->seg = X86_SEG_ES; break;
    case 0x2E: in->seg = X86_SEG_CS; break;
    case 0x36: in->seg = X86_SEG_SS; break;
    case 0x3E: in->seg = X86_SEG_DS; break;
    case 0x64: in->seg = X86_SEG_FS; break;
    case 0x65: in->seg = X86_SEG_GS; break;
    default: return false;
    }
    in->prefixes |= X86_PFX_SEG;   /* the last segment override wins */
    return true;
}

/* Decode the memory operand of ModRM byte modrm (mod != 11) into in->mem, reading the
 * SIB and displacement at the cursor. */
static int decode_mem(struct cursor *c, uint8_t modrm, struct x86_insn *in)
{
    unsigned mod = modrm >> 6, rm = modrm & 7u;
    unsigned rex = in->rex;
    uint32_t v;
    int r;
    bool disp32 = mod == 2;

    in->has_mem = 1;
    in->mem = (struct x86_mem){ .base = X86_REG_NONE, .index = X86_REG_NONE, .scale = 1 };
    if (rm == 4) {
        if ((r = take(c, 1, &v)) != X86_DECODE_OK)
            return r;
        unsigned index = ((v >> 3) & 7u) | ((rex & REX_X) ? 8u : 0u);
        unsigned base = (v & 7u) | ((rex & REX_B) ? 8u : 0u);
        if (index != 4) {
            in->mem.index = (uint8_t)index;
            in->mem.scale = (uint8_t)(1u << (v >> 6));
        }
        if ((v & 7u) == 5 && mod == 0)
            disp32 = true;              /* no base: disp32 */
        else
            in->mem.base = (uint8_t)base;
    } else if (rm == 5 && mod == 0) {
        in->mem.rip_rel = 1;
        disp32 = true;
    } else {
        in->mem.base = (uint8_t)(rm | ((rex & REX_B) ? 8u : 0u));
    }
    if (mod == 1) {
        if ((r = take(c, 1, &v)) != X86_DECODE_OK)
            return r;
        in->mem.disp = (int8_t)(uint8_t)v;
    } else if (disp32) {
        if ((r = take(c, 4, &v)) != X86_DECODE_OK)
            return r;
        in->mem.disp = (int32_t)v;
    }
    return X86_DECODE_OK;
}

/* The operand size of an instruction of class sz, given its prefixes and operand kind. */
static uint8_t operand_size(enum sz sz, const struct x86_insn *in)
{
    bool w = (in->rex & REX_W) != 0, o = (in->prefixes & X86_PFX_OPSZ) != 0;

    switch (sz) {
    case SZ_1: return 1;
    case SZ_2: return 2;
    case SZ_8: return 8;
    case SZ_STACK: return (o && !w) ? 2 : 8;
    case SZ_IO: return o ? 2 : 4;
    case SZ_MEM2:
        if (in->has_mem)
            return 2;
        break;
    case SZ_GEN: break;
    }
    return w ? 8 : o ? 2 : 4;
}

/* Decode bytes[0 .. len) into *out with the opcode tables (see x86_decode.h). */
int x86_decode_table(const uint8_t *bytes, size_t len, struct x86_insn *out)
{
    struct cursor c = { .b = bytes, .len = len, .pos = 0 };
    struct x86_insn *in = out;      /* decoded in place: *out is unspecified on failure */
    *in = (struct x86_insn){
        .op = X86_OP_NONE, .reg = X86_REG_NONE, .rm_reg = X86_REG_NONE,
        .mem = { .base = X86_REG_NONE, .index = X86_REG_NONE },
    };
    struct opdesc d;
    uint32_t v, modrm = 0;
    int r;

    /* Prefixes; only a REX immediately before the opcode counts. */
    for (;;) {
        if ((r = take(&c, 1, &v)) != X86_DECODE_OK)
            return r;
        uint8_t b = (uint8_t)v;
        if (legacy_prefix(b, in))
            in->rex = 0;
        else if ((b & 0xF0u) == 0x40u)
            in->rex = b;
        else
            break;
    }

    /* Opcode. */
    if (v != 0x0F) {
        d = one_byte[v];
    } else {
        if ((r = take(&c, 1, &v)) != X86_DECODE_OK)
            return r;
        d = two_byte[v];
    }
    if (d.flags & F_MODRM) {
        if ((r = take(&c, 1, &modrm)) != X86_DECODE_OK)
            return r;
    }
    unsigned mod = modrm >> 6, regf = (modrm >> 3) & 7u;
    if (d.flags & F_GROUP) {
        bool is_0f01 = v == 0x01;
        if (is_0f01 && modrm == 0xF8)
            d = (struct opdesc){ X86_OP_SWAPGS, SZ_GEN, F_MODRM };
        else if (is_0f01)
            d = mod == 3 ? grp_0f01_reg[regf] : grp_0f01_mem[regf];
        else
            d = grp_0f00[regf];
    }

    /* Refused forms, known before the rest of the bytes are read. */
    if (d.op == X86_OP_NONE)
        return X86_DECODE_UNKNOWN;
    if ((d.flags & F_REXW) && !(in->rex & REX_W))
        return X86_DECODE_UNKNOWN;
    if ((in->prefixes & X86_PFX_LOCK) && !(d.flags & F_LOCK))
        return X86_DECODE_UNKNOWN;
    if ((d.flags & F_MEM) && mod == 3)
        return X86_DECODE_UNKNOWN;
    if ((d.flags & F_REG0) && regf != 0)
        return X86_DECODE_UNKNOWN;
    in->op = (enum x86_op)d.op;

    /* Operands. */
    if (d.flags & F_CR) {
        unsigned cr = regf | ((in->rex & REX_R) ? 8u : 0u);
        if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
            return X86_DECODE_UNKNOWN;
        in->reg = (uint8_t)cr;
        in->rm_reg = (uint8_t)((modrm & 7u) | ((in->rex & REX_B) ? 8u : 0u));
    } else {
        if (d.flags & F_REG)
            in->reg = (uint8_t)(regf | ((in->rex & REX_R) ? 8u : 0u));
        if ((d.flags & F_RM) && mod == 3)
            in->rm_reg = (uint8_t)((modrm & 7u) | ((in->rex & REX_B) ? 8u : 0u));
        else if (d.flags & F_RM) {
            if ((r = decode_mem(&c, (uint8_t)modrm, in)) != X86_DECODE_OK)
                return r;
        }
    }
    in->opsize = operand_size((enum sz)d.sz, in);

    /* Immediate. */
    if (d.flags & F_IMM8) {
        if ((r = take(&c, 1, &v)) != X86_DECODE_OK)
            return r;
        in->has_imm = 1;
        in->imm = v;
    } else if (d.flags & F_IMMZ) {
        if (in->opsize == 2) {
            if ((r = take(&c, 2, &v)) != X86_DECODE_OK)
                return r;
            in->imm = (uint64_t)(int64_t)(int16_t)(uint16_t)v;
        } else {
            if ((r = take(&c, 4, &v)) != X86_DECODE_OK)
                return r;
            in->imm = (uint64_t)(int64_t)(int32_t)v;
        }
        in->has_imm = 1;
    }

    in->len = (uint8_t)c.pos;
    return X86_DECODE_OK;
}


/* The fast path of x86_decode: a prefix-free instruction the emulator sees most (at most
 * one REX byte, then cli, sti, hlt, pushf, popf, iretq, mov/xchg to memory, a no-operand
 * 0F op, mov cr or invlpg), decoded straight into *out exactly as x86_decode_table would;
 * X86_DECODE_SLOW for anything else (and for every form it would refuse or truncate). */
int x86_decode_fast(const uint8_t *bytes, size_t len, struct x86_insn *out)
{
    size_t p = 0;
    uint8_t rex = 0;
    if (len == 0)
        return X86_DECODE_SLOW;
    if ((bytes[0] & 0xF0u) == 0x40u) {
        rex = bytes[0];
        p = 1;
    }
    if (p >= len)
        return X86_DECODE_SLOW;
    *out = (struct x86_insn){
        .op = X86_OP_NONE, .rex = rex, .opsize = (rex & REX_W) ? 8 : 4,
        .reg = X86_REG_NONE, .rm_reg = X86_REG_NONE,
        .mem = { .base = X86_REG_NONE, .index = X86_REG_NONE },
    };
    uint8_t op = bytes[p++], modrm;
    switch (op) {
    case 0xFA: out->op = X86_OP_CLI; break;
    case 0xFB: out->op = X86_OP_STI; break;
    case 0xF4: out->op = X86_OP_HLT; break;
    case 0x9C: out->op = X86_OP_PUSHF; out->opsize = 8; break;
    case 0x9D: out->op = X86_OP_POPF; out->opsize = 8; break;
    case 0xCF:
        if (!(rex & REX_W))
            return X86_DECODE_SLOW;
        out->op = X86_OP_IRETQ;
        break;
    case 0x89:
    case 0x87:
        if (p >= len || (bytes[p] >> 6) == 3)
            return X86_DECODE_SLOW;
        modrm = bytes[p++];
        out->op = op == 0x89 ? X86_OP_MOV_STORE : X86_OP_XCHG;
        out->reg = (uint8_t)(((modrm >> 3) & 7u) | ((rex & REX_R) ? 8u : 0u));
        goto mem;
    case 0x0F:
        if (p >= len)
            return X86_DECODE_SLOW;
        op = bytes[p++];
        switch (op) {
        case 0x08: out->op = X86_OP_INVD; break;
        case 0x09: out->op = X86_OP_WBINVD; break;
        case 0x30: out->op = X86_OP_WRMSR; break;
        case 0x31: out->op = X86_OP_RDTSC; break;
        case 0x32: out->op = X86_OP_RDMSR; break;
        case 0xA2: out->op = X86_OP_CPUID; break;
        case 0x07:
            if (!(rex & REX_W))
                return X86_DECODE_SLOW;
            out->op = X86_OP_SYSRETQ;
            break;
        case 0x20:
        case 0x22: {
            if (p >= len)
                return X86_DECODE_SLOW;
            modrm = bytes[p++];
            unsigned cr = ((modrm >> 3) & 7u) | ((rex & REX_R) ? 8u : 0u);
            if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
                return X86_DECODE_SLOW;
            out->op = op == 0x20 ? X86_OP_MOV_FROM_CR : X86_OP_MOV_TO_CR;
            out->opsize = 8;
            out->reg = (uint8_t)cr;
            out->rm_reg = (uint8_t)((modrm & 7u) | ((rex & REX_B) ? 8u : 0u));
            break;
        }
        case 0x01:              /* only invlpg: 0F 01 /7 with a memory operand */
            if (p >= len || (bytes[p] >> 6) == 3 || ((bytes[p] >> 3) & 7u) != 7)
                return X86_DECODE_SLOW;
            modrm = bytes[p++];
            out->op = X86_OP_INVLPG;
            goto mem;
        default:
            return X86_DECODE_SLOW;
        }
        break;
    default:
        return X86_DECODE_SLOW;
    }
    out->len = (uint8_t)p;
    return X86_DECODE_OK;
mem: {
        struct cursor c = { .b = bytes, .len = len, .pos = p };
        if (decode_mem(&c, modrm, out) != X86_DECODE_OK)
            return X86_DECODE_SLOW;
        out->len = (uint8_t)c.pos;
        return X86_DECODE_OK;
    }
}

/* The name of op, or "?" when op is not a known instruction. */
const char *x86_op_name(enum x86_op op)
{
    if ((unsigned)op >= X86_OP_COUNT || !op_names[op])
        return "?";
    return op_names[op];
}
