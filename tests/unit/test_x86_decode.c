/*
 * tests/unit/test_x86_decode.c: host cmocka tests for hypervisor/x86_decode.c.
 *
 * Every decode runs on a malloc'd copy of exactly `len` bytes, so a read past len shows
 * up under ASan. Expected results are whole struct x86_insn values, compared field by
 * field (the struct has padding).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "x86_decode.h"

/* WANT() fills the fields a test does not name; a test's own .field overrides them. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define NONE X86_REG_NONE
/* Memory operands spell out every field, so one overriding WANT()'s default leaves
 * nothing of the default behind. */
#define NOMEM { .base = NONE, .index = NONE, .scale = 0, .rip_rel = 0, .disp = 0 }
#define MEM(b, i, s, d) { .base = (b), .index = (i), .scale = (s), .rip_rel = 0, .disp = (d) }
#define RIPMEM(d) { .base = NONE, .index = NONE, .scale = 1, .rip_rel = 1, .disp = (d) }
#define WANT(...) ((struct x86_insn){ .reg = NONE, .rm_reg = NONE, .mem = NOMEM, .opsize = 4, \
                                      __VA_ARGS__ })
#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSP 4
#define RBP 5

/* Decode bytes[0 .. len) from a malloc'd buffer of exactly len bytes. */
static int dec_n(const uint8_t *bytes, size_t len, size_t pass_len, struct x86_insn *out)
{
    uint8_t *copy = malloc(len);
    assert_true(copy != NULL || len == 0);
    if (len)
        memcpy(copy, bytes, len);
    int r = x86_decode(copy, pass_len, out);
    free(copy);
    return r;
}

static int dec(const uint8_t *bytes, size_t len, struct x86_insn *out)
{
    return dec_n(bytes, len, len, out);
}

static int insn_eq(const struct x86_insn *a, const struct x86_insn *b)
{
    return a->op == b->op && a->len == b->len && a->prefixes == b->prefixes &&
           a->seg == b->seg && a->rex == b->rex && a->opsize == b->opsize &&
           a->reg == b->reg && a->rm_reg == b->rm_reg && a->has_mem == b->has_mem &&
           a->has_imm == b->has_imm && a->mem.base == b->mem.base &&
           a->mem.index == b->mem.index && a->mem.scale == b->mem.scale &&
           a->mem.rip_rel == b->mem.rip_rel && a->mem.disp == b->mem.disp && a->imm == b->imm;
}

static void print_insn(const char *what, const struct x86_insn *i)
{
    fprintf(stderr,
            "  %s: op %d (%s) len %u pfx %#x seg %u rex %#x opsize %u reg %u rm_reg %u "
            "has_mem %u has_imm %u mem {base %u index %u scale %u rip %u disp %d} imm %#llx\n",
            what, i->op, x86_op_name(i->op), i->len, i->prefixes, i->seg, i->rex, i->opsize,
            i->reg, i->rm_reg, i->has_mem, i->has_imm, i->mem.base, i->mem.index,
            i->mem.scale, i->mem.rip_rel, i->mem.disp, (unsigned long long)i->imm);
}

static void print_bytes(const uint8_t *b, size_t n)
{
    fprintf(stderr, "  bytes:");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", b[i]);
    fprintf(stderr, "\n");
}

/* bytes decode to exactly want, both alone and followed by more bytes. */
static void check_ok(const uint8_t *bytes, size_t len, struct x86_insn want, int line)
{
    struct x86_insn got;
    int r = dec(bytes, len, &got);
    if (r != X86_DECODE_OK || !insn_eq(&got, &want)) {
        fprintf(stderr, "line %d: result %d\n", line, r);
        print_bytes(bytes, len);
        if (r == X86_DECODE_OK)
            print_insn("got ", &got);
        print_insn("want", &want);
        fail();
    }
    uint8_t more[32];
    memcpy(more, bytes, len);
    memset(more + len, 0x90, sizeof(more) - len);
    r = dec(more, sizeof(more), &got);
    if (r != X86_DECODE_OK || !insn_eq(&got, &want)) {
        fprintf(stderr, "line %d: with trailing bytes: result %d\n", line, r);
        fail();
    }
}
#define OK(bytes, ...) check_ok(bytes, WANT(__VA_ARGS__), __LINE__)

static void check_err(const uint8_t *bytes, size_t len, int want, int line)
{
    struct x86_insn got;
    int r = dec(bytes, len, &got);
    if (r != want) {
        fprintf(stderr, "line %d: result %d, want %d\n", line, r, want);
        print_bytes(bytes, len);
        if (r == X86_DECODE_OK)
            print_insn("got", &got);
        fail();
    }
}
#define UNKNOWN(bytes) check_err(bytes, X86_DECODE_UNKNOWN, __LINE__)

/* ---- every op ---- */

static void test_no_operand_ops(void **state)
{
    (void)state;
    OK(B(0xFA), .op = X86_OP_CLI, .len = 1);
    OK(B(0xFB), .op = X86_OP_STI, .len = 1);
    OK(B(0xF4), .op = X86_OP_HLT, .len = 1);
    OK(B(0x9C), .op = X86_OP_PUSHF, .len = 1, .opsize = 8);
    OK(B(0x9D), .op = X86_OP_POPF, .len = 1, .opsize = 8);
    OK(B(0x66, 0x9C), .op = X86_OP_PUSHF, .len = 2, .prefixes = X86_PFX_OPSZ, .opsize = 2);
    OK(B(0x66, 0x48, 0x9D), .op = X86_OP_POPF, .len = 3, .prefixes = X86_PFX_OPSZ,
       .rex = 0x48, .opsize = 8);
    OK(B(0x48, 0xCF), .op = X86_OP_IRETQ, .len = 2, .rex = 0x48, .opsize = 8);
    OK(B(0x4F, 0xCF), .op = X86_OP_IRETQ, .len = 2, .rex = 0x4F, .opsize = 8);
    OK(B(0x48, 0x0F, 0x07), .op = X86_OP_SYSRETQ, .len = 3, .rex = 0x48, .opsize = 8);
    OK(B(0x0F, 0x09), .op = X86_OP_WBINVD, .len = 2);
    OK(B(0x0F, 0x08), .op = X86_OP_INVD, .len = 2);
    OK(B(0x0F, 0x32), .op = X86_OP_RDMSR, .len = 2);
    OK(B(0x0F, 0x30), .op = X86_OP_WRMSR, .len = 2);
    OK(B(0x0F, 0x31), .op = X86_OP_RDTSC, .len = 2);
    OK(B(0x0F, 0xA2), .op = X86_OP_CPUID, .len = 2);
    OK(B(0x0F, 0x01, 0xF8), .op = X86_OP_SWAPGS, .len = 3);
    OK(B(0x48, 0x0F, 0x01, 0xF8), .op = X86_OP_SWAPGS, .len = 4, .rex = 0x48, .opsize = 8);
}

static void test_mov_cr(void **state)
{
    (void)state;
    /* mov rax, cr0 / mov rbx, cr3 / mov cr4, rdx / mov cr2, rsp */
    OK(B(0x0F, 0x20, 0xC0), .op = X86_OP_MOV_FROM_CR, .len = 3, .opsize = 8, .reg = 0,
       .rm_reg = RAX);
    OK(B(0x0F, 0x20, 0xDB), .op = X86_OP_MOV_FROM_CR, .len = 3, .opsize = 8, .reg = 3,
       .rm_reg = RBX);
    OK(B(0x0F, 0x22, 0xE2), .op = X86_OP_MOV_TO_CR, .len = 3, .opsize = 8, .reg = 4,
       .rm_reg = RDX);
    OK(B(0x0F, 0x22, 0xD4), .op = X86_OP_MOV_TO_CR, .len = 3, .opsize = 8, .reg = 2,
       .rm_reg = RSP);
    /* REX.R: cr8; REX.B: r9; REX.W changes nothing; 66 changes nothing */
    OK(B(0x44, 0x0F, 0x20, 0xC0), .op = X86_OP_MOV_FROM_CR, .len = 4, .rex = 0x44,
       .opsize = 8, .reg = 8, .rm_reg = RAX);
    OK(B(0x4D, 0x0F, 0x22, 0xC1), .op = X86_OP_MOV_TO_CR, .len = 4, .rex = 0x4D,
       .opsize = 8, .reg = 8, .rm_reg = 9);
    OK(B(0x41, 0x0F, 0x22, 0xD9), .op = X86_OP_MOV_TO_CR, .len = 4, .rex = 0x41,
       .opsize = 8, .reg = 3, .rm_reg = 9);
    OK(B(0x66, 0x0F, 0x20, 0xD8), .op = X86_OP_MOV_FROM_CR, .len = 4,
       .prefixes = X86_PFX_OPSZ, .opsize = 8, .reg = 3, .rm_reg = RAX);
    /* mod is ignored: no SIB or displacement is read, the operand is still a register */
    OK(B(0x0F, 0x20, 0x18), .op = X86_OP_MOV_FROM_CR, .len = 3, .opsize = 8, .reg = 3,
       .rm_reg = RAX);
    OK(B(0x0F, 0x22, 0x05), .op = X86_OP_MOV_TO_CR, .len = 3, .opsize = 8, .reg = 0,
       .rm_reg = RBP);
    OK(B(0x0F, 0x22, 0x5C), .op = X86_OP_MOV_TO_CR, .len = 3, .opsize = 8, .reg = 3,
       .rm_reg = RSP);
    OK(B(0x41, 0x0F, 0x20, 0x9C), .op = X86_OP_MOV_FROM_CR, .len = 4, .rex = 0x41,
       .opsize = 8, .reg = 3, .rm_reg = 12);
    /* only cr0, cr2, cr3, cr4, cr8 */
    for (unsigned cr = 0; cr < 16; cr++) {
        uint8_t b[4] = { (uint8_t)(cr >= 8 ? 0x44 : 0x40), 0x0F, 0x20,
                         (uint8_t)(0xC0 | (cr & 7) << 3) };
        for (unsigned to = 0; to < 2; to++) {
            b[2] = to ? 0x22 : 0x20;
            struct x86_insn in;
            int r = dec(b, sizeof(b), &in);
            if (cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8) {
                assert_int_equal(r, X86_DECODE_OK);
                assert_int_equal(in.reg, cr);
                assert_int_equal(in.op, to ? X86_OP_MOV_TO_CR : X86_OP_MOV_FROM_CR);
            } else {
                assert_int_equal(r, X86_DECODE_UNKNOWN);
            }
        }
    }
    UNKNOWN(B(0x0F, 0x20, 0xC8));        /* cr1 */
    UNKNOWN(B(0x0F, 0x22, 0xE8));        /* cr5 */
    UNKNOWN(B(0x44, 0x0F, 0x22, 0xC8));  /* cr9 */
    UNKNOWN(B(0xF0, 0x0F, 0x20, 0xC0));  /* LOCK mov cr0 (AMD's cr8 alias) refused */
    UNKNOWN(B(0x0F, 0x21, 0xC0));        /* mov from dr: not known */
    UNKNOWN(B(0x0F, 0x23, 0xC0));        /* mov to dr */
}

static void test_descriptor_table_ops(void **state)
{
    (void)state;
    OK(B(0x0F, 0x01, 0x38), .op = X86_OP_INVLPG, .len = 3, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x01, 0x10), .op = X86_OP_LGDT, .len = 3, .opsize = 8, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x01, 0x5B, 0x10), .op = X86_OP_LIDT, .len = 4, .opsize = 8, .has_mem = 1,
       .mem = MEM(RBX, NONE, 1, 0x10));
    OK(B(0x0F, 0x01, 0x01), .op = X86_OP_SGDT, .len = 3, .opsize = 8, .has_mem = 1,
       .mem = MEM(RCX, NONE, 1, 0));
    OK(B(0x41, 0x0F, 0x01, 0x0A), .op = X86_OP_SIDT, .len = 4, .rex = 0x41, .opsize = 8,
       .has_mem = 1, .mem = MEM(10, NONE, 1, 0));
    OK(B(0x0F, 0x01, 0x3D, 0x00, 0x10, 0x00, 0x00), .op = X86_OP_INVLPG, .len = 7,
       .has_mem = 1, .mem = RIPMEM(0x1000));
    /* register forms of the memory-only ones are other instructions */
    for (unsigned rm = 0; rm < 8; rm++) {
        UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xC0 | rm)));   /* /0: vmcall, ... */
        UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xC8 | rm)));   /* /1: monitor, mwait, ... */
        UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xD0 | rm)));   /* /2: xgetbv, xsetbv, ... */
        UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xD8 | rm)));   /* /3: vmrun, ... */
        UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xE8 | rm)));   /* /5 */
        if (rm != 0)
            UNKNOWN(B(0x0F, 0x01, (uint8_t)(0xF8 | rm))); /* /7: rdtscp, ... */
    }
    UNKNOWN(B(0x0F, 0x01, 0x28));   /* 0F 01 /5 mem */
    /* REX.B does not extend an rm that is part of the opcode */
    OK(B(0x41, 0x0F, 0x01, 0xF8), .op = X86_OP_SWAPGS, .len = 4, .rex = 0x41);
}

static void test_msw_tr_ldt(void **state)
{
    (void)state;
    OK(B(0x0F, 0x01, 0x20), .op = X86_OP_SMSW, .len = 3, .opsize = 2, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x01, 0xE1), .op = X86_OP_SMSW, .len = 3, .opsize = 4, .rm_reg = RCX);
    OK(B(0x48, 0x0F, 0x01, 0xE1), .op = X86_OP_SMSW, .len = 4, .rex = 0x48, .opsize = 8,
       .rm_reg = RCX);
    OK(B(0x66, 0x0F, 0x01, 0xE1), .op = X86_OP_SMSW, .len = 4, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .rm_reg = RCX);
    OK(B(0x49, 0x0F, 0x01, 0xE7), .op = X86_OP_SMSW, .len = 4, .rex = 0x49, .opsize = 8,
       .rm_reg = 15);
    OK(B(0x0F, 0x01, 0x30), .op = X86_OP_LMSW, .len = 3, .opsize = 2, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x01, 0xF2), .op = X86_OP_LMSW, .len = 3, .opsize = 2, .rm_reg = RDX);
    OK(B(0x41, 0x0F, 0x01, 0xF3), .op = X86_OP_LMSW, .len = 4, .rex = 0x41, .opsize = 2,
       .rm_reg = 11);
    OK(B(0x0F, 0x00, 0x18), .op = X86_OP_LTR, .len = 3, .opsize = 2, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x00, 0xD8), .op = X86_OP_LTR, .len = 3, .opsize = 2, .rm_reg = RAX);
    OK(B(0x41, 0x0F, 0x00, 0xDD), .op = X86_OP_LTR, .len = 4, .rex = 0x41, .opsize = 2,
       .rm_reg = 13);
    OK(B(0x0F, 0x00, 0x0E), .op = X86_OP_STR, .len = 3, .opsize = 2, .has_mem = 1,
       .mem = MEM(6, NONE, 1, 0));
    OK(B(0x0F, 0x00, 0xC8), .op = X86_OP_STR, .len = 3, .opsize = 4, .rm_reg = RAX);
    OK(B(0x48, 0x0F, 0x00, 0xCF), .op = X86_OP_STR, .len = 4, .rex = 0x48, .opsize = 8,
       .rm_reg = 7);
    OK(B(0x0F, 0x00, 0x10), .op = X86_OP_LLDT, .len = 3, .opsize = 2, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x0F, 0x00, 0xD1), .op = X86_OP_LLDT, .len = 3, .opsize = 2, .rm_reg = RCX);
    /* the rest of 0F 00: sldt, verr, verw, ... */
    UNKNOWN(B(0x0F, 0x00, 0x00));
    UNKNOWN(B(0x0F, 0x00, 0xC0));
    UNKNOWN(B(0x0F, 0x00, 0x20));
    UNKNOWN(B(0x0F, 0x00, 0x28));
    UNKNOWN(B(0x0F, 0x00, 0x30));
    UNKNOWN(B(0x0F, 0x00, 0xF8));
}

static void test_in_out(void **state)
{
    (void)state;
    OK(B(0xE4, 0x60), .op = X86_OP_IN, .len = 2, .opsize = 1, .has_imm = 1, .imm = 0x60);
    OK(B(0xE5, 0x71), .op = X86_OP_IN, .len = 2, .opsize = 4, .has_imm = 1, .imm = 0x71);
    OK(B(0x66, 0xE5, 0x71), .op = X86_OP_IN, .len = 3, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .has_imm = 1, .imm = 0x71);
    OK(B(0xE6, 0x80), .op = X86_OP_OUT, .len = 2, .opsize = 1, .has_imm = 1, .imm = 0x80);
    OK(B(0xE7, 0xFF), .op = X86_OP_OUT, .len = 2, .opsize = 4, .has_imm = 1, .imm = 0xFF);
    OK(B(0x66, 0xE7, 0x00), .op = X86_OP_OUT, .len = 3, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .has_imm = 1, .imm = 0);
    OK(B(0xEC), .op = X86_OP_IN, .len = 1, .opsize = 1);
    OK(B(0xED), .op = X86_OP_IN, .len = 1, .opsize = 4);
    OK(B(0x66, 0xED), .op = X86_OP_IN, .len = 2, .prefixes = X86_PFX_OPSZ, .opsize = 2);
    OK(B(0x48, 0xED), .op = X86_OP_IN, .len = 2, .rex = 0x48, .opsize = 4);
    OK(B(0xEE), .op = X86_OP_OUT, .len = 1, .opsize = 1);
    OK(B(0x66, 0xEE), .op = X86_OP_OUT, .len = 2, .prefixes = X86_PFX_OPSZ, .opsize = 1);
    OK(B(0xEF), .op = X86_OP_OUT, .len = 1, .opsize = 4);
    OK(B(0x66, 0xEF), .op = X86_OP_OUT, .len = 2, .prefixes = X86_PFX_OPSZ, .opsize = 2);
    UNKNOWN(B(0xF0, 0xE4, 0x60));
    UNKNOWN(B(0xF0, 0xEE));
    UNKNOWN(B(0x6C));   /* insb: not known */
    UNKNOWN(B(0x6F));   /* outsd */
}

static void test_mov_store(void **state)
{
    (void)state;
    /* mov [rax], ecx and its operand sizes */
    OK(B(0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 2, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x48, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .rex = 0x48, .opsize = 8,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x48, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4,
       .prefixes = X86_PFX_OPSZ, .rex = 0x48, .opsize = 8, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    /* byte form: always 1; with no REX reg 4 is ah, with REX it is spl */
    OK(B(0x88, 0x08), .op = X86_OP_MOV_STORE, .len = 2, .opsize = 1, .reg = RCX,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x88, 0x20), .op = X86_OP_MOV_STORE, .len = 2, .opsize = 1, .reg = 4,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x40, 0x88, 0x20), .op = X86_OP_MOV_STORE, .len = 3, .rex = 0x40, .opsize = 1,
       .reg = 4, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x48, 0x88, 0x08), .op = X86_OP_MOV_STORE, .len = 4,
       .prefixes = X86_PFX_OPSZ, .rex = 0x48, .opsize = 1, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    /* C6 /0 ib: zero-extended */
    OK(B(0xC6, 0x00, 0x7F), .op = X86_OP_MOV_STORE, .len = 3, .opsize = 1, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1, .imm = 0x7F);
    OK(B(0xC6, 0x43, 0xFE, 0x80), .op = X86_OP_MOV_STORE, .len = 4, .opsize = 1,
       .has_mem = 1, .mem = MEM(RBX, NONE, 1, -2), .has_imm = 1, .imm = 0x80);
    /* C7 /0: imm32 sign-extended; imm16 with 66; REX.W beats 66 */
    OK(B(0xC7, 0x00, 0x78, 0x56, 0x34, 0x12), .op = X86_OP_MOV_STORE, .len = 6,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1, .imm = 0x12345678);
    OK(B(0xC7, 0x00, 0x00, 0x00, 0x00, 0x80), .op = X86_OP_MOV_STORE, .len = 6,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1,
       .imm = 0xFFFFFFFF80000000ull);
    OK(B(0x48, 0xC7, 0x00, 0xFF, 0xFF, 0xFF, 0xFF), .op = X86_OP_MOV_STORE, .len = 7,
       .rex = 0x48, .opsize = 8, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1,
       .imm = UINT64_MAX);
    OK(B(0x48, 0xC7, 0x00, 0xFF, 0xFF, 0xFF, 0x7F), .op = X86_OP_MOV_STORE, .len = 7,
       .rex = 0x48, .opsize = 8, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1,
       .imm = 0x7FFFFFFF);
    OK(B(0x66, 0xC7, 0x00, 0x34, 0x12), .op = X86_OP_MOV_STORE, .len = 5,
       .prefixes = X86_PFX_OPSZ, .opsize = 2, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0),
       .has_imm = 1, .imm = 0x1234);
    OK(B(0x66, 0xC7, 0x00, 0x00, 0x80), .op = X86_OP_MOV_STORE, .len = 5,
       .prefixes = X86_PFX_OPSZ, .opsize = 2, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0),
       .has_imm = 1, .imm = 0xFFFFFFFFFFFF8000ull);
    OK(B(0x66, 0x48, 0xC7, 0x00, 0x00, 0x80, 0x00, 0x00), .op = X86_OP_MOV_STORE, .len = 8,
       .prefixes = X86_PFX_OPSZ, .rex = 0x48, .opsize = 8, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0), .has_imm = 1, .imm = 0x8000);
    /* imm after a rip-relative displacement */
    OK(B(0xC7, 0x05, 0xF0, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00), .op = X86_OP_MOV_STORE,
       .len = 10, .has_mem = 1, .mem = RIPMEM(-16), .has_imm = 1, .imm = 1);
    /* register forms never fault on a page table; C6/C7 /1../7 are not mov */
    UNKNOWN(B(0x89, 0xC8));
    UNKNOWN(B(0x48, 0x89, 0xC8));
    UNKNOWN(B(0x88, 0xC8));
    UNKNOWN(B(0xC6, 0xC0, 0x00));
    UNKNOWN(B(0xC7, 0xC0, 0x00, 0x00, 0x00, 0x00));
    for (unsigned reg = 1; reg < 8; reg++) {
        UNKNOWN(B(0xC7, (uint8_t)(reg << 3), 0, 0, 0, 0));
        UNKNOWN(B(0xC6, (uint8_t)(reg << 3), 0));
    }
    UNKNOWN(B(0xF0, 0x89, 0x08));   /* LOCK mov */
    UNKNOWN(B(0xF0, 0xC7, 0x00, 0, 0, 0, 0));
    UNKNOWN(B(0x8B, 0x08));         /* loads are not known */
    UNKNOWN(B(0x8A, 0x08));
}

static void test_xchg_cmpxchg(void **state)
{
    (void)state;
    OK(B(0x87, 0x08), .op = X86_OP_XCHG, .len = 2, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x48, 0x87, 0x08), .op = X86_OP_XCHG, .len = 3, .rex = 0x48, .opsize = 8,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x87, 0x08), .op = X86_OP_XCHG, .len = 3, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x86, 0x08), .op = X86_OP_XCHG, .len = 2, .opsize = 1, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF0, 0x87, 0x08), .op = X86_OP_XCHG, .len = 3, .prefixes = X86_PFX_LOCK,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF0, 0xF0, 0x4C, 0x86, 0x3F), .op = X86_OP_XCHG, .len = 5,
       .prefixes = X86_PFX_LOCK, .rex = 0x4C, .opsize = 1, .reg = 15, .has_mem = 1,
       .mem = MEM(7, NONE, 1, 0));
    OK(B(0x0F, 0xB1, 0x08), .op = X86_OP_CMPXCHG, .len = 3, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x48, 0x0F, 0xB1, 0x08), .op = X86_OP_CMPXCHG, .len = 4, .rex = 0x48, .opsize = 8,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x0F, 0xB1, 0x08), .op = X86_OP_CMPXCHG, .len = 4, .prefixes = X86_PFX_OPSZ,
       .opsize = 2, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF0, 0x48, 0x0F, 0xB1, 0x0B), .op = X86_OP_CMPXCHG, .len = 5,
       .prefixes = X86_PFX_LOCK, .rex = 0x48, .opsize = 8, .reg = RCX, .has_mem = 1,
       .mem = MEM(RBX, NONE, 1, 0));
    OK(B(0x0F, 0xB0, 0x08), .op = X86_OP_CMPXCHG, .len = 3, .opsize = 1, .reg = RCX,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF0, 0x0F, 0xB0, 0x51, 0x08), .op = X86_OP_CMPXCHG, .len = 5,
       .prefixes = X86_PFX_LOCK, .opsize = 1, .reg = RDX, .has_mem = 1,
       .mem = MEM(RCX, NONE, 1, 8));
    /* register forms */
    UNKNOWN(B(0x87, 0xC8));
    UNKNOWN(B(0x86, 0xC8));
    UNKNOWN(B(0xF0, 0x87, 0xC8));
    UNKNOWN(B(0x0F, 0xB1, 0xC8));
    UNKNOWN(B(0x0F, 0xB0, 0xC8));
    UNKNOWN(B(0xF0, 0x0F, 0xB1, 0xC8));
    UNKNOWN(B(0x91));   /* xchg ecx, eax: no ModRM, not known */
    UNKNOWN(B(0x0F, 0xC7, 0x08));   /* cmpxchg8b: not known */
}

/* ---- prefixes and REX ---- */

static void test_rex_bits(void **state)
{
    (void)state;
    /* 89 0C 1A: mov [rdx+rbx], ecx; each REX bit on its own, then all four */
    OK(B(0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 3, .reg = RCX, .has_mem = 1,
       .mem = MEM(RDX, RBX, 1, 0));
    OK(B(0x48, 0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x48, .opsize = 8,
       .reg = RCX, .has_mem = 1, .mem = MEM(RDX, RBX, 1, 0));
    OK(B(0x44, 0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x44,
       .reg = 9, .has_mem = 1, .mem = MEM(RDX, RBX, 1, 0));
    OK(B(0x42, 0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x42,
       .reg = RCX, .has_mem = 1, .mem = MEM(RDX, 11, 1, 0));
    OK(B(0x41, 0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x41,
       .reg = RCX, .has_mem = 1, .mem = MEM(10, RBX, 1, 0));
    OK(B(0x4F, 0x89, 0x0C, 0x1A), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x4F, .opsize = 8,
       .reg = 9, .has_mem = 1, .mem = MEM(10, 11, 1, 0));
    /* REX.B on a ModRM base without SIB; REX.X without SIB changes nothing */
    OK(B(0x41, 0x89, 0x0F), .op = X86_OP_MOV_STORE, .len = 3, .rex = 0x41, .reg = RCX,
       .has_mem = 1, .mem = MEM(15, NONE, 1, 0));
    OK(B(0x42, 0x89, 0x0F), .op = X86_OP_MOV_STORE, .len = 3, .rex = 0x42, .reg = RCX,
       .has_mem = 1, .mem = MEM(7, NONE, 1, 0));
    /* plain 40: a REX with no bits */
    OK(B(0x40, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .rex = 0x40, .reg = RCX,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
}

static void test_rex_then_legacy(void **state)
{
    (void)state;
    /* a REX followed by a legacy prefix is ignored */
    OK(B(0x48, 0x66, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4,
       .prefixes = X86_PFX_OPSZ, .opsize = 2, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x4D, 0x2E, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4,
       .prefixes = X86_PFX_SEG, .seg = X86_SEG_CS, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x48, 0xF0, 0x87, 0x08), .op = X86_OP_XCHG, .len = 4, .prefixes = X86_PFX_LOCK,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    UNKNOWN(B(0x48, 0x66, 0xCF));           /* the REX.W does not count: a 32-bit iret */
    UNKNOWN(B(0x48, 0x3E, 0x0F, 0x07));
    OK(B(0x66, 0x48, 0xCF), .op = X86_OP_IRETQ, .len = 3, .prefixes = X86_PFX_OPSZ,
       .rex = 0x48, .opsize = 8);
    OK(B(0x48, 0x66, 0x41, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 5,
       .prefixes = X86_PFX_OPSZ, .rex = 0x41, .opsize = 2, .reg = RCX, .has_mem = 1,
       .mem = MEM(8, NONE, 1, 0));
    /* of two REX bytes only the one before the opcode counts */
    OK(B(0x48, 0x41, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x41,
       .reg = RCX, .has_mem = 1, .mem = MEM(8, NONE, 1, 0));
    UNKNOWN(B(0x48, 0x40, 0xCF));
    /* the REX may precede the 0F escape, not the second opcode byte */
    UNKNOWN(B(0x0F, 0x48, 0x07));
}

static void test_legacy_prefixes(void **state)
{
    (void)state;
    static const struct { uint8_t b; uint8_t seg; } segs[] = {
        { 0x26, X86_SEG_ES }, { 0x2E, X86_SEG_CS }, { 0x36, X86_SEG_SS },
        { 0x3E, X86_SEG_DS }, { 0x64, X86_SEG_FS }, { 0x65, X86_SEG_GS },
    };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        OK(B(segs[i].b, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3,
           .prefixes = X86_PFX_SEG, .seg = segs[i].seg, .reg = RCX, .has_mem = 1,
           .mem = MEM(RAX, NONE, 1, 0));
        OK(B(segs[i].b, 0x0F, 0x01, 0x38), .op = X86_OP_INVLPG, .len = 4,
           .prefixes = X86_PFX_SEG, .seg = segs[i].seg, .has_mem = 1,
           .mem = MEM(RAX, NONE, 1, 0));
    }
    /* the last segment override wins */
    OK(B(0x64, 0x65, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4, .prefixes = X86_PFX_SEG,
       .seg = X86_SEG_GS, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x65, 0x64, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 4, .prefixes = X86_PFX_SEG,
       .seg = X86_SEG_FS, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF3, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .prefixes = X86_PFX_REP,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF2, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .prefixes = X86_PFX_REPNE,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x67, 0x89, 0x08), .op = X86_OP_MOV_STORE, .len = 3, .prefixes = X86_PFX_ADSZ,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    /* all of them, repeated, in an odd order */
    OK(B(0x67, 0x66, 0xF2, 0x65, 0xF3, 0xF0, 0x66, 0x26, 0x67, 0xF0, 0x87, 0x08),
       .op = X86_OP_XCHG, .len = 12,
       .prefixes = X86_PFX_LOCK | X86_PFX_REP | X86_PFX_REPNE | X86_PFX_OPSZ | X86_PFX_ADSZ |
                   X86_PFX_SEG,
       .seg = X86_SEG_ES, .opsize = 2, .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0x66, 0x66, 0x66, 0xFA), .op = X86_OP_CLI, .len = 4, .prefixes = X86_PFX_OPSZ,
       .opsize = 2);
}

static void test_lock(void **state)
{
    (void)state;
    const uint8_t *const refused[] = {
        (const uint8_t[]){ 0xF0, 0xFA }, (const uint8_t[]){ 0xF0, 0xFB },
        (const uint8_t[]){ 0xF0, 0xF4 }, (const uint8_t[]){ 0xF0, 0x9C },
        (const uint8_t[]){ 0xF0, 0x48, 0xCF }, (const uint8_t[]){ 0xF0, 0x0F, 0x31 },
        (const uint8_t[]){ 0xF0, 0x0F, 0xA2 }, (const uint8_t[]){ 0xF0, 0x0F, 0x01, 0x38 },
        (const uint8_t[]){ 0xF0, 0x0F, 0x01, 0xF8 }, (const uint8_t[]){ 0xF0, 0x88, 0x08 },
        (const uint8_t[]){ 0xF0, 0x0F, 0x00, 0x18 }, (const uint8_t[]){ 0xF0, 0x48, 0x0F, 0x07 },
    };
    static const size_t lens[] = { 2, 2, 2, 2, 3, 3, 3, 4, 4, 3, 4, 4 };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        check_err(refused[i], lens[i], X86_DECODE_UNKNOWN, __LINE__);
    UNKNOWN(B(0xF0, 0xFA));
    UNKNOWN(B(0xF0, 0x89, 0x08));
    UNKNOWN(B(0x66, 0xF0, 0x89, 0x08));
    OK(B(0xF0, 0x87, 0x08), .op = X86_OP_XCHG, .len = 3, .prefixes = X86_PFX_LOCK,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
    OK(B(0xF0, 0x0F, 0xB1, 0x08), .op = X86_OP_CMPXCHG, .len = 4, .prefixes = X86_PFX_LOCK,
       .reg = RCX, .has_mem = 1, .mem = MEM(RAX, NONE, 1, 0));
}

/* ---- ModRM and SIB ---- */

static void test_modrm_sib(void **state)
{
    (void)state;
    /* rip-relative; REX.B does not turn it into r13 */
    OK(B(0x89, 0x05, 0x78, 0x56, 0x34, 0x12), .op = X86_OP_MOV_STORE, .len = 6, .reg = RAX,
       .has_mem = 1, .mem = RIPMEM(0x12345678));
    OK(B(0x41, 0x89, 0x0D, 0x00, 0x00, 0x00, 0x80), .op = X86_OP_MOV_STORE, .len = 7,
       .rex = 0x41, .reg = RCX, .has_mem = 1, .mem = RIPMEM(INT32_MIN));
    /* rbp / r13 with mod 01 and 10 are bases */
    OK(B(0x89, 0x45, 0xF8), .op = X86_OP_MOV_STORE, .len = 3, .reg = RAX, .has_mem = 1,
       .mem = MEM(RBP, NONE, 1, -8));
    OK(B(0x41, 0x89, 0x45, 0x00), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x41, .reg = RAX,
       .has_mem = 1, .mem = MEM(13, NONE, 1, 0));
    OK(B(0x41, 0x89, 0x85, 0x00, 0x01, 0x00, 0x00), .op = X86_OP_MOV_STORE, .len = 7,
       .rex = 0x41, .reg = RAX, .has_mem = 1, .mem = MEM(13, NONE, 1, 0x100));
    /* SIB, base 101, mod 00: disp32 and no base (REX.B or not) */
    OK(B(0x89, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), .op = X86_OP_MOV_STORE, .len = 7,
       .reg = RAX, .has_mem = 1, .mem = MEM(NONE, NONE, 1, 0x12345678));
    OK(B(0x41, 0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00), .op = X86_OP_MOV_STORE, .len = 8,
       .rex = 0x41, .reg = RAX, .has_mem = 1, .mem = MEM(NONE, NONE, 1, 0x1000));
    OK(B(0x89, 0x04, 0x8D, 0x00, 0x10, 0x00, 0x00), .op = X86_OP_MOV_STORE, .len = 7,
       .reg = RAX, .has_mem = 1, .mem = MEM(NONE, RCX, 4, 0x1000));
    /* SIB, base 101, mod 01/10: rbp or r13 */
    OK(B(0x89, 0x44, 0x25, 0x08), .op = X86_OP_MOV_STORE, .len = 4, .reg = RAX, .has_mem = 1,
       .mem = MEM(RBP, NONE, 1, 8));
    OK(B(0x41, 0x89, 0x84, 0x25, 0x00, 0x00, 0x01, 0x00), .op = X86_OP_MOV_STORE, .len = 8,
       .rex = 0x41, .reg = RAX, .has_mem = 1, .mem = MEM(13, NONE, 1, 0x10000));
    /* rsp / r12 need a SIB; index 100 is none */
    OK(B(0x89, 0x04, 0x24), .op = X86_OP_MOV_STORE, .len = 3, .reg = RAX, .has_mem = 1,
       .mem = MEM(RSP, NONE, 1, 0));
    OK(B(0x41, 0x89, 0x04, 0x24), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x41, .reg = RAX,
       .has_mem = 1, .mem = MEM(12, NONE, 1, 0));
    OK(B(0x41, 0x89, 0x44, 0x24, 0x10), .op = X86_OP_MOV_STORE, .len = 5, .rex = 0x41,
       .reg = RAX, .has_mem = 1, .mem = MEM(12, NONE, 1, 0x10));
    OK(B(0x89, 0x04, 0xA0), .op = X86_OP_MOV_STORE, .len = 3, .reg = RAX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, 0));   /* scale bits with no index: scale 1 */
    /* index r12 with REX.X is an index */
    OK(B(0x42, 0x89, 0x04, 0xE0), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x42, .reg = RAX,
       .has_mem = 1, .mem = MEM(RAX, 12, 8, 0));
    OK(B(0x43, 0x89, 0x04, 0xE4), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x43, .reg = RAX,
       .has_mem = 1, .mem = MEM(12, 12, 8, 0));
    /* r12 as rm without SIB is impossible: rm 100 always means SIB */
    OK(B(0x49, 0x89, 0x04, 0x24), .op = X86_OP_MOV_STORE, .len = 4, .rex = 0x49, .opsize = 8,
       .reg = RAX, .has_mem = 1, .mem = MEM(12, NONE, 1, 0));
    /* displacements: disp8 negative, disp32 negative */
    OK(B(0x89, 0x40, 0x80), .op = X86_OP_MOV_STORE, .len = 3, .reg = RAX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, -128));
    OK(B(0x89, 0x48, 0xFF), .op = X86_OP_MOV_STORE, .len = 3, .reg = RCX, .has_mem = 1,
       .mem = MEM(RAX, NONE, 1, -1));
    OK(B(0x89, 0x80, 0x00, 0x00, 0x00, 0x80), .op = X86_OP_MOV_STORE, .len = 6, .reg = RAX,
       .has_mem = 1, .mem = MEM(RAX, NONE, 1, INT32_MIN));
    OK(B(0x89, 0x44, 0x8B, 0xFC), .op = X86_OP_MOV_STORE, .len = 4, .reg = RAX, .has_mem = 1,
       .mem = MEM(RBX, RCX, 4, -4));
    /* every scale */
    for (unsigned ss = 0; ss < 4; ss++) {
        uint8_t sib = (uint8_t)(ss << 6 | RCX << 3 | RAX);
        OK(B(0x89, 0x14, sib), .op = X86_OP_MOV_STORE, .len = 3, .reg = RDX, .has_mem = 1,
           .mem = MEM(RAX, RCX, (uint8_t)(1u << ss), 0));
    }
    /* every register as a ModRM base, with and without REX.B (rm 100 via SIB 24, rm 101
     * with mod 01 and a zero disp8) */
    for (unsigned r = 0; r < 16; r++) {
        uint8_t rex = (uint8_t)(0x40 | (r >> 3));
        uint8_t low = (uint8_t)(r & 7);
        if (low == 4)
            OK(B(rex, 0x89, 0x0C, 0x24), .op = X86_OP_MOV_STORE, .len = 4, .rex = rex,
               .reg = RCX, .has_mem = 1, .mem = MEM((uint8_t)r, NONE, 1, 0));
        else if (low == 5)
            OK(B(rex, 0x89, 0x4D, 0x00), .op = X86_OP_MOV_STORE, .len = 4, .rex = rex,
               .reg = RCX, .has_mem = 1, .mem = MEM((uint8_t)r, NONE, 1, 0));
        else
            OK(B(rex, 0x89, (uint8_t)(0x08 | low)), .op = X86_OP_MOV_STORE, .len = 3,
               .rex = rex, .reg = RCX, .has_mem = 1, .mem = MEM((uint8_t)r, NONE, 1, 0));
    }
}

/* ---- refused ---- */

static void test_refused(void **state)
{
    (void)state;
    UNKNOWN(B(0xCF));               /* 32-bit iret */
    UNKNOWN(B(0x40, 0xCF));
    UNKNOWN(B(0x47, 0xCF));
    UNKNOWN(B(0x66, 0xCF));
    UNKNOWN(B(0x0F, 0x07));         /* sysret to 32-bit code */
    UNKNOWN(B(0x41, 0x0F, 0x07));
    UNKNOWN(B(0x0F, 0x0B));         /* ud2 */
    UNKNOWN(B(0x90));               /* nop */
    UNKNOWN(B(0x0F, 0x05));         /* syscall */
    UNKNOWN(B(0x0F, 0x06));         /* clts */
    UNKNOWN(B(0x0F, 0x34));         /* sysenter */
    UNKNOWN(B(0x0F, 0x33));         /* rdpmc */
    UNKNOWN(B(0x0F, 0xFF));
    UNKNOWN(B(0x00, 0x00));
    UNKNOWN(B(0xCC));
    UNKNOWN(B(0xCD, 0x80));
    UNKNOWN(B(0xFF, 0xFF));
    UNKNOWN(B(0xC3));
    UNKNOWN(B(0x48, 0x90));
    UNKNOWN(B(0x0F, 0x01, 0xF9));   /* rdtscp */
    UNKNOWN(B(0x0F, 0x01, 0xD0));   /* xgetbv */
}

/* Everything but the listed one-byte and 0F opcodes is unknown, whatever follows. */
static void test_unknown_opcodes(void **state)
{
    (void)state;
    static const uint8_t known1[] = { 0xFA, 0xFB, 0x9C, 0x9D, 0xF4, 0xCF, 0xE4, 0xE5,
                                      0xE6, 0xE7, 0xEC, 0xED, 0xEE, 0xEF, 0x88, 0x89,
                                      0xC6, 0xC7, 0x86, 0x87, 0x0F };
    static const uint8_t known2[] = { 0x00, 0x01, 0x07, 0x20, 0x22, 0x08, 0x09, 0x30,
                                      0x31, 0x32, 0xA2, 0xB0, 0xB1 };
    for (unsigned op = 0; op < 256; op++) {
        if (memchr(known1, (int)op, sizeof(known1)) || (op & 0xF0) == 0x40 || op == 0xF0 ||
            op == 0xF2 || op == 0xF3 || op == 0x66 || op == 0x67 || op == 0x26 ||
            op == 0x2E || op == 0x36 || op == 0x3E || op == 0x64 || op == 0x65)
            continue;
        check_err(B((uint8_t)op, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), X86_DECODE_UNKNOWN,
                  __LINE__);
    }
    for (unsigned op = 0; op < 256; op++) {
        if (memchr(known2, (int)op, sizeof(known2)))
            continue;
        check_err(B(0x0F, (uint8_t)op, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
                  X86_DECODE_UNKNOWN, __LINE__);
        check_err(B(0x48, 0x0F, (uint8_t)op, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
                  X86_DECODE_UNKNOWN, __LINE__);
    }
}

/* ---- lengths ---- */

/* Every proper prefix of bytes is TRUNCATED; the whole decodes with length len. */
static void check_truncation(const uint8_t *bytes, size_t len, int line)
{
    struct x86_insn in;
    for (size_t n = 0; n < len; n++) {
        int r = dec(bytes, n, &in);
        if (r != X86_DECODE_TRUNCATED) {
            fprintf(stderr, "line %d: first %zu of %zu bytes: result %d\n", line, n, len, r);
            fail();
        }
    }
    assert_int_equal(dec(bytes, len, &in), X86_DECODE_OK);
    assert_int_equal(in.len, len);
}
#define TRUNC(bytes) check_truncation(bytes, __LINE__)

static void test_truncation(void **state)
{
    (void)state;
    TRUNC(B(0x48, 0xC7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE));
    TRUNC(B(0x66, 0x2E, 0x48, 0x89, 0x44, 0x24, 0x08));
    TRUNC(B(0xF0, 0x48, 0x0F, 0xB1, 0x8C, 0x24, 0x00, 0x01, 0x00, 0x00));
    TRUNC(B(0x89, 0x05, 0x78, 0x56, 0x34, 0x12));
    TRUNC(B(0x89, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12));
    TRUNC(B(0x66, 0xC7, 0x40, 0xF0, 0x34, 0x12));
    TRUNC(B(0xC6, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01));
    TRUNC(B(0x48, 0x0F, 0x07));
    TRUNC(B(0x65, 0x0F, 0x01, 0x3C, 0x25, 0x00, 0x10, 0x00, 0x00));
    TRUNC(B(0x0F, 0x01, 0xF8));
    TRUNC(B(0x44, 0x0F, 0x22, 0xC0));
    TRUNC(B(0x0F, 0x00, 0x5E, 0x04));
    TRUNC(B(0x66, 0xE5, 0x71));
    TRUNC(B(0x67, 0x66, 0xF3, 0xF2, 0x3E, 0xFA));
    /* nothing at all */
    struct x86_insn in;
    assert_int_equal(x86_decode(NULL, 0, &in), X86_DECODE_TRUNCATED);
    assert_int_equal(dec(B(0x0F), &in), X86_DECODE_TRUNCATED);
    assert_int_equal(dec(B(0x48), &in), X86_DECODE_TRUNCATED);
    assert_int_equal(dec(B(0xF0, 0x48), &in), X86_DECODE_TRUNCATED);
}

static void test_length_limit(void **state)
{
    (void)state;
    struct x86_insn in;
    uint8_t b[32];
    static const uint8_t pfx[] = { 0x66, 0x67, 0x2E, 0x3E, 0x26, 0x36, 0x64, 0x65, 0xF2,
                                   0xF3 };

    /* 14 prefixes + a 1-byte op: 15, fine; 15 prefixes: too long */
    for (size_t i = 0; i < 15; i++)
        b[i] = pfx[i % sizeof(pfx)];
    b[14] = 0xFA;
    assert_int_equal(dec(b, 15, &in), X86_DECODE_OK);
    assert_int_equal(in.op, X86_OP_CLI);
    assert_int_equal(in.len, 15);
    b[14] = 0x66;
    b[15] = 0xFA;
    assert_int_equal(dec(b, 16, &in), X86_DECODE_TOO_LONG);
    assert_int_equal(dec(b, 15, &in), X86_DECODE_TOO_LONG);       /* needs a 16th byte */
    assert_int_equal(dec_n(b, 15, 1000, &in), X86_DECODE_TOO_LONG); /* reads only 15 */
    assert_int_equal(dec(b, 14, &in), X86_DECODE_TRUNCATED);
    /* 13 prefixes + 0F 31: 15; 14 prefixes + 0F 31: 16 */
    b[13] = 0x0F;
    b[14] = 0x31;
    assert_int_equal(dec(b, 15, &in), X86_DECODE_OK);
    assert_int_equal(in.op, X86_OP_RDTSC);
    assert_int_equal(in.len, 15);
    b[13] = 0x66;
    b[14] = 0x0F;
    b[15] = 0x31;
    assert_int_equal(dec(b, 16, &in), X86_DECODE_TOO_LONG);
    /* 13 prefixes + REX.W CF */
    b[13] = 0x48;
    b[14] = 0xCF;
    assert_int_equal(dec(b, 15, &in), X86_DECODE_OK);
    assert_int_equal(in.op, X86_OP_IRETQ);
    assert_int_equal(in.rex, 0x48);
    /* 15 of the same prefix, a REX in the middle */
    memset(b, 0xF3, 15);
    b[7] = 0x41;
    assert_int_equal(dec(b, 15, &in), X86_DECODE_TOO_LONG);

    /* a long valid store reaching exactly 15 bytes:
     * fs cs ds mov qword [rax+rcx*4+0x12345678], 0xffffffffdeadbeef */
    OK(B(0x64, 0x2E, 0x3E, 0x48, 0xC7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0xEF, 0xBE, 0xAD,
         0xDE),
       .op = X86_OP_MOV_STORE, .len = 15, .prefixes = X86_PFX_SEG, .seg = X86_SEG_DS,
       .rex = 0x48, .opsize = 8, .has_mem = 1, .mem = MEM(RAX, RCX, 4, 0x12345678),
       .has_imm = 1, .imm = 0xFFFFFFFFDEADBEEFull);
    TRUNC(B(0x64, 0x2E, 0x3E, 0x48, 0xC7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0xEF, 0xBE,
            0xAD, 0xDE));
    /* one more prefix: 16 bytes. Once the imm32 is known to end past 15 the answer is
     * TOO_LONG however many bytes were given; before that, TRUNCATED. */
    static const uint8_t l16[] = { 0x65, 0x64, 0x2E, 0x3E, 0x48, 0xC7, 0x84, 0x88, 0x78,
                                   0x56, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE };
    for (size_t n = 0; n <= sizeof(l16); n++)
        assert_int_equal(dec(l16, n, &in), n >= 12 ? X86_DECODE_TOO_LONG
                                                   : X86_DECODE_TRUNCATED);
    assert_int_equal(dec_n(l16, 15, 16, &in), X86_DECODE_TOO_LONG);
    /* 10 prefixes + 89 with SIB + disp32: 10 + 7 = 17 */
    memset(b, 0x3E, 10);
    memcpy(b + 10, (const uint8_t[]){ 0x89, 0x04, 0x25, 0, 0, 0, 0 }, 7);
    assert_int_equal(dec(b, 17, &in), X86_DECODE_TOO_LONG);
    assert_int_equal(dec(b, 13, &in), X86_DECODE_TOO_LONG);
    assert_int_equal(dec(b, 12, &in), X86_DECODE_TRUNCATED);
    assert_int_equal(dec(b + 2, 15, &in), X86_DECODE_OK);
    assert_int_equal(in.len, 15);
}

/* ---- every op, names ---- */

static void test_every_op(void **state)
{
    (void)state;
    static const struct { uint8_t b[8]; uint8_t len; enum x86_op op; } enc[] = {
        { { 0xFA }, 1, X86_OP_CLI },
        { { 0xFB }, 1, X86_OP_STI },
        { { 0x9C }, 1, X86_OP_PUSHF },
        { { 0x9D }, 1, X86_OP_POPF },
        { { 0xF4 }, 1, X86_OP_HLT },
        { { 0x48, 0xCF }, 2, X86_OP_IRETQ },
        { { 0x48, 0x0F, 0x07 }, 3, X86_OP_SYSRETQ },
        { { 0x0F, 0x20, 0xD8 }, 3, X86_OP_MOV_FROM_CR },
        { { 0x0F, 0x22, 0xD8 }, 3, X86_OP_MOV_TO_CR },
        { { 0x0F, 0x01, 0x38 }, 3, X86_OP_INVLPG },
        { { 0x0F, 0x09 }, 2, X86_OP_WBINVD },
        { { 0x0F, 0x08 }, 2, X86_OP_INVD },
        { { 0x0F, 0x32 }, 2, X86_OP_RDMSR },
        { { 0x0F, 0x30 }, 2, X86_OP_WRMSR },
        { { 0x0F, 0x31 }, 2, X86_OP_RDTSC },
        { { 0x0F, 0xA2 }, 2, X86_OP_CPUID },
        { { 0x0F, 0x01, 0x10 }, 3, X86_OP_LGDT },
        { { 0x0F, 0x01, 0x18 }, 3, X86_OP_LIDT },
        { { 0x0F, 0x01, 0x00 }, 3, X86_OP_SGDT },
        { { 0x0F, 0x01, 0x08 }, 3, X86_OP_SIDT },
        { { 0x0F, 0x01, 0xE0 }, 3, X86_OP_SMSW },
        { { 0x0F, 0x01, 0xF0 }, 3, X86_OP_LMSW },
        { { 0x0F, 0x00, 0xD8 }, 3, X86_OP_LTR },
        { { 0x0F, 0x00, 0xC8 }, 3, X86_OP_STR },
        { { 0x0F, 0x00, 0xD0 }, 3, X86_OP_LLDT },
        { { 0x0F, 0x01, 0xF8 }, 3, X86_OP_SWAPGS },
        { { 0xEC }, 1, X86_OP_IN },
        { { 0xEE }, 1, X86_OP_OUT },
        { { 0x89, 0x00 }, 2, X86_OP_MOV_STORE },
        { { 0x87, 0x00 }, 2, X86_OP_XCHG },
        { { 0x0F, 0xB1, 0x00 }, 3, X86_OP_CMPXCHG },
    };
    uint64_t seen = 0;
    _Static_assert(X86_OP_COUNT <= 64, "seen is a 64-bit mask");
    for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        struct x86_insn in;
        assert_int_equal(dec(enc[i].b, enc[i].len, &in), X86_DECODE_OK);
        assert_int_equal(in.op, enc[i].op);
        assert_int_equal(in.len, enc[i].len);
        seen |= 1ull << in.op;
    }
    assert_int_equal(seen, ((1ull << X86_OP_COUNT) - 1) & ~1ull);
}

static void test_op_names(void **state)
{
    (void)state;
    static const char *const names[X86_OP_COUNT] = {
        "?", "cli", "sti", "pushf", "popf", "hlt", "iretq", "sysretq", "mov-from-cr",
        "mov-to-cr", "invlpg", "wbinvd", "invd", "rdmsr", "wrmsr", "rdtsc", "cpuid", "lgdt",
        "lidt", "sgdt", "sidt", "smsw", "lmsw", "ltr", "str", "lldt", "swapgs", "in", "out",
        "mov-store", "xchg", "cmpxchg",
    };
    for (unsigned op = 0; op < X86_OP_COUNT; op++)
        assert_string_equal(x86_op_name((enum x86_op)op), names[op]);
    assert_string_equal(x86_op_name(X86_OP_COUNT), "?");
    assert_string_equal(x86_op_name((enum x86_op)1000), "?");
    assert_string_equal(x86_op_name((enum x86_op)-1), "?");
}

/* ---- random corpus ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t xorshift64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_sane(const uint8_t *b, size_t n, const struct x86_insn *in)
{
    size_t max = n < X86_MAX_INSN_LEN ? n : X86_MAX_INSN_LEN;
    assert_true(in->len >= 1 && in->len <= max);
    assert_true(in->op > X86_OP_NONE && in->op < X86_OP_COUNT);
    assert_string_not_equal(x86_op_name(in->op), "?");
    assert_true(in->opsize == 1 || in->opsize == 2 || in->opsize == 4 || in->opsize == 8);
    assert_true(in->reg < 16 || in->reg == NONE);
    assert_true(in->rm_reg < 16 || in->rm_reg == NONE);
    assert_true(in->has_mem <= 1 && in->has_imm <= 1);
    if (in->has_mem) {
        assert_true(in->rm_reg == NONE);
        assert_true(in->mem.base < 16 || in->mem.base == NONE);
        assert_true(in->mem.index < 16 || in->mem.index == NONE);
        assert_true(in->mem.index != 4);
        assert_true(in->mem.scale == 1 || in->mem.scale == 2 || in->mem.scale == 4 ||
                    in->mem.scale == 8);
        assert_true(!in->mem.rip_rel || (in->mem.base == NONE && in->mem.index == NONE));
    } else {
        assert_true(in->mem.base == NONE && in->mem.index == NONE && in->mem.scale == 0 &&
                    in->mem.rip_rel == 0 && in->mem.disp == 0);
    }
    if (!in->has_imm)
        assert_true(in->imm == 0);
    if (in->prefixes & X86_PFX_LOCK)
        assert_true((in->op == X86_OP_XCHG || in->op == X86_OP_CMPXCHG) && in->has_mem);
    assert_true(in->rex == 0 || (in->rex & 0xF0) == 0x40);
    /* the instruction alone decodes the same */
    struct x86_insn again;
    assert_int_equal(dec(b, in->len, &again), X86_DECODE_OK);
    assert_true(insn_eq(in, &again));
}

/* Fill b[0 .. n) with one of four kinds of string: random bytes; bytes half drawn from
 * the ones the decoder cares about; a few prefixes, a known opcode, then random bytes;
 * or the same after 8..16 prefixes (to reach the 15-byte limit). */
static void random_string(uint8_t *b, size_t n, unsigned kind)
{
    static const uint8_t interesting[] = {
        0xF0, 0xF2, 0xF3, 0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x40, 0x41, 0x44,
        0x48, 0x4F, 0x0F, 0x00, 0x01, 0x07, 0x20, 0x22, 0xB0, 0xB1, 0x88, 0x89, 0xC6, 0xC7,
        0x86, 0x87, 0xCF, 0xE4, 0xE5, 0xEC, 0xEF, 0xFA, 0x9C, 0x04, 0x05, 0x24, 0x25, 0x84,
        0xF8, 0x38, 0x10, 0xE0, 0xD8, 0xC0,
    };
    static const uint8_t prefixes[] = { 0xF0, 0xF2, 0xF3, 0x66, 0x67, 0x26, 0x2E, 0x36,
                                        0x3E, 0x64, 0x65, 0x40, 0x41, 0x42, 0x44, 0x48,
                                        0x4F, 0x48, 0x48, 0x48 };
    static const uint8_t op1[] = { 0xFA, 0xFB, 0x9C, 0x9D, 0xF4, 0xCF, 0xE4, 0xE5, 0xE6,
                                   0xE7, 0xEC, 0xED, 0xEE, 0xEF, 0x88, 0x89, 0xC6, 0xC7,
                                   0x86, 0x87, 0x90, 0xCC };
    static const uint8_t op2[] = { 0x00, 0x01, 0x07, 0x20, 0x22, 0x08, 0x09, 0x30, 0x31,
                                   0x32, 0xA2, 0xB0, 0xB1, 0x0B, 0x05 };
    uint64_t mix = xorshift64();
    size_t i = 0;
    if (kind >= 2) {
        unsigned np = (unsigned)(kind == 2 ? xorshift64() % 5 : 8 + xorshift64() % 9);
        for (; np && i < n; np--, i++)
            b[i] = prefixes[xorshift64() % sizeof(prefixes)];
        if (i < n && (xorshift64() & 1)) {
            b[i++] = op1[xorshift64() % sizeof(op1)];
        } else {
            if (i < n)
                b[i++] = 0x0F;
            if (i < n)
                b[i++] = op2[xorshift64() % sizeof(op2)];
        }
    }
    for (; i < n; i++) {
        uint64_t r = xorshift64();
        b[i] = kind == 1 && ((mix >> i) & 1) ? interesting[(r >> 8) % sizeof(interesting)]
                                             : (uint8_t)(r >> 32);
    }
}

static void test_random_corpus(void **state)
{
    (void)state;
    unsigned counts[4] = { 0 };
    uint64_t ok_ops = 0;
    uint8_t tmp[20];
    for (unsigned iter = 0; iter < 300000; iter++) {
        size_t n = (size_t)(xorshift64() % 21);
        random_string(tmp, n, iter % 4);
        uint8_t *buf = malloc(n);
        assert_true(buf != NULL || n == 0);
        if (n)
            memcpy(buf, tmp, n);
        struct x86_insn in;
        int r = x86_decode(buf, n, &in);
        assert_true(r == X86_DECODE_OK || r == X86_DECODE_UNKNOWN ||
                    r == X86_DECODE_TRUNCATED || r == X86_DECODE_TOO_LONG);
        counts[-r]++;
        if (r == X86_DECODE_OK) {
            check_sane(buf, n, &in);
            ok_ops |= 1ull << in.op;
        }
        if (r == X86_DECODE_TRUNCATED)
            assert_true(n < X86_MAX_INSN_LEN);
        free(buf);
    }
    fprintf(stderr, "  corpus: %u ok, %u unknown, %u truncated, %u too long\n", counts[0],
            counts[1], counts[2], counts[3]);
    /* the corpus reaches every op, and every outcome */
    assert_int_equal(ok_ops, ((1ull << X86_OP_COUNT) - 1) & ~1ull);
    for (unsigned i = 0; i < 4; i++)
        assert_true(counts[i] > 100);
}


/* ---- the fast path agrees with the tables ---- */

/* x86_decode_fast on bytes[0 .. len) either declines or gives exactly what the table
 * decoder gives, and x86_decode always gives what the tables give; 1 when it decoded. */
static int check_fast(const uint8_t *bytes, size_t len)
{
    struct x86_insn fast, table, whole;
    uint8_t *copy = malloc(len ? len : 1);
    assert_true(copy != NULL);
    memcpy(copy, bytes, len);
    int rf = x86_decode_fast(copy, len, &fast);
    int rt = x86_decode_table(copy, len, &table);
    int rw = x86_decode(copy, len, &whole);
    free(copy);
    if ((rf != X86_DECODE_SLOW && rf != X86_DECODE_OK) || rw != rt ||
        (rf == X86_DECODE_OK && (rt != X86_DECODE_OK || !insn_eq(&fast, &table))) ||
        (rt == X86_DECODE_OK && !insn_eq(&whole, &table))) {
        fprintf(stderr, "fast %d, table %d, x86_decode %d\n", rf, rt, rw);
        print_bytes(bytes, len);
        if (rf == X86_DECODE_OK)
            print_insn("fast ", &fast);
        if (rt == X86_DECODE_OK)
            print_insn("table", &table);
        fail();
    }
    return rf == X86_DECODE_OK;
}

static void test_fast_path(void **state)
{
    (void)state;
    uint8_t b[X86_MAX_INSN_LEN];
    unsigned fast = 0;
    /* Every string of up to 3 bytes the fast path can start on (any first byte; any
     * second and third after 0F or a REX byte), alone and with random bytes after it
     * (enough for any displacement), at every length up to 15. */
    for (unsigned b0 = 0; b0 < 256; b0++) {
        bool deep = b0 == 0x0F || (b0 & 0xF0) == 0x40;
        for (unsigned b1 = 0; b1 < 256; b1++) {
            for (unsigned b2 = 0; b2 < (deep ? 256u : 1u); b2++) {
                b[0] = (uint8_t)b0, b[1] = (uint8_t)b1, b[2] = (uint8_t)b2;
                for (size_t i = 3; i < sizeof(b); i++)
                    b[i] = (uint8_t)(xorshift64() >> 32);
                if (b1 == 0 && b2 == 0)
                    fast += (unsigned)check_fast(b, 1);
                if (b2 == 0 && !deep)
                    fast += (unsigned)check_fast(b, 2);
                if (deep) {
                    fast += (unsigned)check_fast(b, 2);
                    fast += (unsigned)check_fast(b, 3);
                    /* a REX 0F op modrm string needs a fourth byte */
                    fast += (unsigned)check_fast(b, 4 + (size_t)(xorshift64() % 12));
                }
                fast += (unsigned)check_fast(b, sizeof(b));
            }
        }
    }
    /* The random corpus of test_random_corpus, every string at every length. */
    uint8_t tmp[20];
    for (unsigned iter = 0; iter < 300000; iter++) {
        size_t n = (size_t)(xorshift64() % 21);
        random_string(tmp, n, iter % 4);
        for (size_t l = 0; l <= n; l++)
            fast += (unsigned)check_fast(tmp, l);
    }
    fprintf(stderr, "  fast path: %u strings decoded by it\n", fast);
    assert_true(fast > 100000);
    /* the forms it is for */
    static const struct { uint8_t b[4]; size_t n; } hot[] = {
        { { 0xFA }, 1 }, { { 0xFB }, 1 }, { { 0xF4 }, 1 }, { { 0x0F, 0x09 }, 2 },
        { { 0x0F, 0x30 }, 2 }, { { 0x0F, 0x32 }, 2 }, { { 0x0F, 0x22, 0xD8 }, 3 },
        { { 0x0F, 0x20, 0xD8 }, 3 }, { { 0x0F, 0x01, 0x38 }, 3 }, { { 0x48, 0xCF }, 2 },
        { { 0x48, 0x89, 0x07 }, 3 }, { { 0x48, 0x87, 0x07 }, 3 }, { { 0x48, 0x0F, 0x07 }, 3 },
        { { 0x44, 0x0F, 0x22, 0xC0 }, 4 },
    };
    for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++)
        assert_int_equal(check_fast(hot[i].b, hot[i].n), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test(f)
        T(test_no_operand_ops),
        T(test_mov_cr),
        T(test_descriptor_table_ops),
        T(test_msw_tr_ldt),
        T(test_in_out),
        T(test_mov_store),
        T(test_xchg_cmpxchg),
        T(test_rex_bits),
        T(test_rex_then_legacy),
        T(test_legacy_prefixes),
        T(test_lock),
        T(test_modrm_sib),
        T(test_refused),
        T(test_unknown_opcodes),
        T(test_truncation),
        T(test_length_limit),
        T(test_every_op),
        T(test_op_names),
        T(test_random_corpus),
        T(test_fast_path),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
