/*
 * hypervisor/x86_decode.h: a small table-driven x86-64 instruction decoder for the
 * trap-and-emulate path. It knows only the instructions the emulator handles (the list
 * below) and refuses everything else; it reads only the bytes it is given, never guest
 * memory, so it is pure and host-testable (tests/unit/test_x86_decode.c).
 */
#ifndef HV_X86_DECODE_H
#define HV_X86_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15     /* the architectural limit: longer is #GP */

/* What an instruction is. Forms are 64-bit mode only. */
enum x86_op {
    X86_OP_NONE,
    X86_OP_CLI,         /* FA */
    X86_OP_STI,         /* FB */
    X86_OP_PUSHF,       /* 9C */
    X86_OP_POPF,        /* 9D */
    X86_OP_HLT,         /* F4 */
    X86_OP_IRETQ,       /* REX.W CF (plain CF, a 32-bit iret, is refused) */
    X86_OP_SYSRETQ,     /* REX.W 0F 07 (plain 0F 07 returns to 32-bit code: refused) */
    X86_OP_MOV_FROM_CR, /* 0F 20 /r: reg = creg; rm must be a register */
    X86_OP_MOV_TO_CR,   /* 0F 22 /r: creg = reg */
    X86_OP_INVLPG,      /* 0F 01 /7, memory operand */
    X86_OP_WBINVD,      /* 0F 09 */
    X86_OP_INVD,        /* 0F 08 */
    X86_OP_RDMSR,       /* 0F 32 */
    X86_OP_WRMSR,       /* 0F 30 */
    X86_OP_RDTSC,       /* 0F 31 */
    X86_OP_CPUID,       /* 0F A2 */
    X86_OP_LGDT,        /* 0F 01 /2, memory operand */
    X86_OP_LIDT,        /* 0F 01 /3, memory operand */
    X86_OP_SGDT,        /* 0F 01 /0, memory operand */
    X86_OP_SIDT,        /* 0F 01 /1, memory operand */
    X86_OP_SMSW,        /* 0F 01 /4, register or memory */
    X86_OP_LMSW,        /* 0F 01 /6, register or memory */
    X86_OP_LTR,         /* 0F 00 /3, register or memory (16-bit) */
    X86_OP_STR,         /* 0F 00 /1, register or memory */
    X86_OP_LLDT,        /* 0F 00 /2 */
    X86_OP_SWAPGS,      /* 0F 01 F8 */
    X86_OP_IN,          /* E4 ib / E5 ib / EC / ED: al/ax/eax from port */
    X86_OP_OUT,         /* E6 ib / E7 ib / EE / EF: port from al/ax/eax */
    X86_OP_MOV_STORE,   /* 88 /r, 89 /r (reg -> mem), C6 /0 ib, C7 /0 id (imm -> mem) */
    X86_OP_XCHG,        /* 86 /r, 87 /r with a memory operand (implicitly locked) */
    X86_OP_CMPXCHG,     /* 0F B0 /r, 0F B1 /r with a memory operand */
    X86_OP_COUNT
};

/* Register numbers: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7, r8..r15 8..15. */
#define X86_REG_NONE 0xFF

/* Prefix bits in x86_insn.prefixes. */
#define X86_PFX_LOCK  (1u << 0)   /* F0 */
#define X86_PFX_REP   (1u << 1)   /* F3 */
#define X86_PFX_REPNE (1u << 2)   /* F2 */
#define X86_PFX_OPSZ  (1u << 3)   /* 66 */
#define X86_PFX_ADSZ  (1u << 4)   /* 67 */
#define X86_PFX_SEG   (1u << 5)   /* any of 26 2E 36 3E 64 65: seg says which */

/* Segment override values in x86_insn.seg (meaningful when X86_PFX_SEG is set). */
enum x86_seg { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

/* A memory operand: base + index * scale + disp (+ rip of the next instruction when
 * rip_rel). base/index are X86_REG_NONE when absent. */
struct x86_mem {
    uint8_t base, index, scale;   /* scale 1, 2, 4 or 8 */
    uint8_t rip_rel;              /* 1: disp is relative to the next instruction */
    int32_t disp;
};

/* One decoded instruction. */
struct x86_insn {
    enum x86_op op;
    uint8_t len;            /* bytes, 1..15, prefixes included */
    uint8_t prefixes;       /* X86_PFX_* */
    uint8_t seg;            /* enum x86_seg when X86_PFX_SEG */
    uint8_t rex;            /* the REX byte, 0 when none */
    uint8_t opsize;         /* operand size in bytes: 1, 2, 4 or 8 */
    uint8_t reg;            /* ModRM.reg with REX.R: a GPR, or the CR number for
                               MOV_FROM_CR/MOV_TO_CR; X86_REG_NONE when unused */
    uint8_t rm_reg;         /* the register operand of ModRM.rm (with REX.B) when the
                               operand is a register, else X86_REG_NONE */
    uint8_t has_mem;        /* 1: mem holds the memory operand */
    uint8_t has_imm;        /* 1: imm holds an immediate (sign-extended to 64 bits for
                               C7; zero-extended imm8 port for IN/OUT E4..E7) */
    struct x86_mem mem;
    uint64_t imm;
};

/* x86_decode results. */
#define X86_DECODE_OK        0
#define X86_DECODE_UNKNOWN  (-1)  /* not an instruction the emulator knows, or a form of
                                     one it refuses (wrong operand kind, LOCK where not
                                     allowed, a 32-bit form of a 64-bit-only op) */
#define X86_DECODE_TRUNCATED (-2) /* needs more bytes than len gave (len < 15) */
#define X86_DECODE_TOO_LONG (-3)  /* would be longer than 15 bytes */

/* x86_decode's two halves, for the tests that prove they agree: the fast path for the
 * common prefix-free forms returns X86_DECODE_OK with *out exactly as the table decoder
 * fills it, or X86_DECODE_SLOW (nothing decided) for everything else; the table decoder
 * decodes everything. x86_decode is the fast path, then the tables when it declines. */
#define X86_DECODE_SLOW 1
int x86_decode_fast(const uint8_t *bytes, size_t len, struct x86_insn *out);
int x86_decode_table(const uint8_t *bytes, size_t len, struct x86_insn *out);

/* Decode the instruction at bytes[0 .. len) (len may exceed 15; only 15 are read).
 * Fills *out on X86_DECODE_OK; on anything else *out is unspecified. */
static inline int x86_decode(const uint8_t *bytes, size_t len, struct x86_insn *out)
{
    int r = x86_decode_fast(bytes, len, out);
    return r == X86_DECODE_SLOW ? x86_decode_table(bytes, len, out) : r;
}

/* A name for op ("cli", "mov-to-cr", ...), for counters and logs. */
const char *x86_op_name(enum x86_op op);

#endif /* HV_X86_DECODE_H */
