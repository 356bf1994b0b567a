/*
 * tests/unit/test_elf.c: host cmocka tests for hypervisor/elf.c.
 *
 * Every parse runs on a malloc'd copy of exactly `len` bytes, so an out-of-bounds read
 * shows up under valgrind (or ASan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hako/errno.h"
#include "hako/elfnote.h"
#include "elf.h" /* hypervisor/elf.h (not the system <elf.h>) */

/* ---- ELF64 layouts, private to the test ---- */

struct t_ehdr {
    uint8_t  e_ident[16];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct t_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
struct t_nhdr {
    uint32_t n_namesz, n_descsz, n_type;
};

#define PT_NULL      0u
#define PT_LOAD      1u
#define PT_NOTE      4u
#define PT_GNU_STACK 0x6474e551u

/* ---- the image builder ---- */

#define KBASE      0xFFFFFFFF80000000ull
#define TEXT_VA    KBASE
#define TEXT_OFF   0x1000u
#define TEXT_SZ    0x100u
#define DATA_VA    (KBASE + 0x2000)
#define DATA_OFF   0x2000u
#define DATA_FSZ   0x80u
#define DATA_MSZ   0x3000u           /* bss tail */
#define NOTE_OFF   (DATA_OFF + DATA_FSZ)
#define GNU_NOTE   NOTE_OFF          /* "GNU" build-id note, 36 bytes */
#define HAKO_NOTE  (NOTE_OFF + 36)   /* hako ABI note, 28 bytes */
#define NOTE_SZ    64u
#define IMG_LEN    (NOTE_OFF + NOTE_SZ)
#define ENTRY      (TEXT_VA + 0x10)
#define PH_TEXT    0
#define PH_DATA    1
#define PH_NOTE    2
#define PH_STACK   3
#define NR_PH      4
#define PH_MAX     24
#define BUF_LEN    0x3000u

static _Alignas(8) uint8_t buf[BUF_LEN];
static uint64_t buf_len;
static struct elf_limits lim;

static struct t_ehdr *eh(void) { return (struct t_ehdr *)buf; }
static struct t_phdr *ph(unsigned i) { return (struct t_phdr *)(buf + 64) + i; }
static struct t_nhdr *hako_nh(void) { return (struct t_nhdr *)(buf + HAKO_NOTE); }
static struct hako_elfnote_abi *hako_desc(void)
{
    return (struct hako_elfnote_abi *)(buf + HAKO_NOTE + 12 + 8);
}

static void set_ph(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t va,
                   uint64_t filesz, uint64_t memsz)
{
    *ph(i) = (struct t_phdr){ .p_type = type, .p_flags = flags, .p_offset = off,
                              .p_vaddr = va, .p_paddr = va, .p_filesz = filesz,
                              .p_memsz = memsz, .p_align = 0x1000 };
}

static void put_note(uint64_t off, uint32_t namesz, const char *name, uint32_t type,
                     const void *desc, uint32_t descsz)
{
    struct t_nhdr nh = { namesz, descsz, type };
    memcpy(buf + off, &nh, sizeof(nh));
    memcpy(buf + off + 12, name, namesz);
    memcpy(buf + off + 12 + ((namesz + 3) & ~3u), desc, descsz);
}

/* Build the valid reference image into buf and reset lim to the standard limits. */
static void build(void)
{
    memset(buf, 0, sizeof(buf));
    struct t_ehdr *e = eh();
    memcpy(e->e_ident, "\177ELF", 4);
    e->e_ident[4] = 2; /* ELFCLASS64 */
    e->e_ident[5] = 1; /* ELFDATA2LSB */
    e->e_ident[6] = 1; /* EV_CURRENT */
    e->e_type = 2;     /* ET_EXEC */
    e->e_machine = 62; /* EM_X86_64 */
    e->e_version = 1;
    e->e_entry = ENTRY;
    e->e_phoff = 64;
    e->e_ehsize = 64;
    e->e_phentsize = 56;
    e->e_phnum = NR_PH;

    set_ph(PH_TEXT, PT_LOAD, ELF_PF_R | ELF_PF_X, TEXT_OFF, TEXT_VA, TEXT_SZ, TEXT_SZ);
    set_ph(PH_DATA, PT_LOAD, ELF_PF_R | ELF_PF_W, DATA_OFF, DATA_VA, DATA_FSZ, DATA_MSZ);
    set_ph(PH_NOTE, PT_NOTE, ELF_PF_R, NOTE_OFF, 0, NOTE_SZ, 0);
    ph(PH_NOTE)->p_align = 4;
    set_ph(PH_STACK, PT_GNU_STACK, ELF_PF_R | ELF_PF_W, 0, 0, 0, 0);

    memset(buf + TEXT_OFF, 0xCC, TEXT_SZ);
    memset(buf + DATA_OFF, 0x5A, DATA_FSZ);
    uint8_t build_id[20];
    memset(build_id, 0xAB, sizeof(build_id));
    put_note(GNU_NOTE, 4, "GNU", 3 /* NT_GNU_BUILD_ID */, build_id, sizeof(build_id));
    struct hako_elfnote_abi abi = { 0, 1 };
    put_note(HAKO_NOTE, 5, "hako", HAKO_ELFNOTE_ABI, &abi, sizeof(abi));
    buf_len = IMG_LEN;

    memset(&lim, 0, sizeof(lim));
    lim.windows[0] = (struct elf_window){ 0x1000, 0x0000800000000000ull };
    lim.windows[1] = (struct elf_window){ 0xFFFF880000000000ull, 0 /* 2^64 */ };
    lim.nr_windows = 2;
    lim.max_total_memsz = 64ull << 20;
    lim.abi_major = 0;
    lim.abi_minor = 1;
}

static int setup(void **state)
{
    (void)state;
    build();
    return 0;
}

/* Parse the first len bytes of src from an exact-size heap copy. */
static int parse_mem(const uint8_t *src, uint64_t len, struct elf_image *out, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, src, len);
    *why = NULL;
    int rc = elf_parse(copy, len, &lim, out, why);
    free(copy);
    if (rc != 0) {
        assert_non_null(*why); /* every refusal explains itself */
        assert_true(rc == -HAKO_EINVAL || rc == -HAKO_ERANGE || rc == -HAKO_E2BIG);
    }
    return rc;
}

static int parse(void)
{
    struct elf_image out;
    const char *why;
    return parse_mem(buf, buf_len, &out, &why);
}

/* Parse buf and expect refusal rc with a message containing msg (if non-NULL). */
static void expect_fail(int rc, const char *msg)
{
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), rc);
    if (msg && !strstr(why, msg))
        fail_msg("why = \"%s\", expected \"%s\"", why, msg);
}

/* ---- tests ---- */

static void test_valid(void **state)
{
    (void)state;
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.entry, ENTRY);
    assert_int_equal(out.va_lo, KBASE);
    assert_int_equal(out.va_hi, KBASE + 0x5000);
    assert_int_equal(out.nr_segments, 2);
    assert_int_equal(out.seg[0].vaddr, TEXT_VA);
    assert_int_equal(out.seg[0].memsz, TEXT_SZ);
    assert_int_equal(out.seg[0].offset, TEXT_OFF);
    assert_int_equal(out.seg[0].filesz, TEXT_SZ);
    assert_int_equal(out.seg[0].flags, ELF_PF_R | ELF_PF_X);
    assert_int_equal(out.seg[1].vaddr, DATA_VA);
    assert_int_equal(out.seg[1].memsz, DATA_MSZ);
    assert_int_equal(out.seg[1].offset, DATA_OFF);
    assert_int_equal(out.seg[1].filesz, DATA_FSZ);
    assert_int_equal(out.seg[1].flags, ELF_PF_R | ELF_PF_W);
    assert_int_equal(out.note_abi_major, 0);
    assert_int_equal(out.note_abi_minor, 1);
}

static void test_truncated(void **state)
{
    (void)state;
    struct elf_image out;
    const char *why;
    for (uint64_t len = 0; len < IMG_LEN; len++)
        assert_int_not_equal(parse_mem(buf, len, &out, &why), 0);
    assert_int_equal(parse_mem(buf, IMG_LEN, &out, &why), 0);
}

static void test_bad_magic(void **state)   { (void)state; buf[1] = 'F'; expect_fail(-HAKO_EINVAL, "magic"); }
static void test_bad_class(void **state)   { (void)state; buf[4] = 1; expect_fail(-HAKO_EINVAL, "64-bit"); }
static void test_bad_data(void **state)    { (void)state; buf[5] = 2; expect_fail(-HAKO_EINVAL, "endian"); }
static void test_bad_ident_version(void **state) { (void)state; buf[6] = 0; expect_fail(-HAKO_EINVAL, "version"); }
static void test_bad_type(void **state)    { (void)state; eh()->e_type = 3; expect_fail(-HAKO_EINVAL, "executable"); }
static void test_bad_machine(void **state) { (void)state; eh()->e_machine = 3; expect_fail(-HAKO_EINVAL, "x86-64"); }
static void test_bad_version(void **state) { (void)state; eh()->e_version = 2; expect_fail(-HAKO_EINVAL, "version"); }

static void test_bad_phentsize(void **state)
{
    (void)state;
    eh()->e_phentsize = 64;
    expect_fail(-HAKO_EINVAL, "program header size");
    eh()->e_phentsize = 0;
    expect_fail(-HAKO_EINVAL, "program header size");
}

static void test_bad_phnum(void **state)
{
    (void)state;
    eh()->e_phnum = 0;
    expect_fail(-HAKO_EINVAL, "program header count");
    eh()->e_phnum = 65;
    expect_fail(-HAKO_EINVAL, "program header count");
}

static void test_phoff_beyond_file(void **state)
{
    (void)state;
    eh()->e_phoff = IMG_LEN + 8;
    expect_fail(-HAKO_EINVAL, "program headers outside");
    eh()->e_phoff = IMG_LEN - 56 * NR_PH + 1; /* table ends one byte past the end */
    expect_fail(-HAKO_EINVAL, "program headers outside");
}

static void test_phoff_overflow(void **state)
{
    (void)state;
    eh()->e_phoff = UINT64_MAX - 50; /* phoff + 4*56 wraps to a small value */
    expect_fail(-HAKO_EINVAL, "program headers outside");
    eh()->e_phoff = UINT64_MAX;
    expect_fail(-HAKO_EINVAL, "program headers outside");
}

static void test_filesz_gt_memsz(void **state)
{
    (void)state;
    ph(PH_DATA)->p_filesz = DATA_MSZ + 1;
    expect_fail(-HAKO_EINVAL, "file size");
}

static void test_segment_beyond_end(void **state)
{
    (void)state;
    ph(PH_DATA)->p_filesz = IMG_LEN - DATA_OFF + 1;
    expect_fail(-HAKO_EINVAL, "outside the image");
}

static void test_offset_wrap(void **state)
{
    (void)state;
    ph(PH_TEXT)->p_offset = UINT64_MAX - 10; /* offset + filesz wraps to a small value */
    expect_fail(-HAKO_EINVAL, "outside the image");
}

static void test_vaddr_wrap(void **state)
{
    (void)state;
    ph(PH_DATA)->p_memsz = UINT64_MAX - DATA_VA + 2; /* end wraps to 1 */
    expect_fail(-HAKO_EINVAL, "wraps");
    ph(PH_DATA)->p_memsz = UINT64_MAX;
    expect_fail(-HAKO_EINVAL, "wraps");
}

static void test_overlap_same_page(void **state)
{
    (void)state;
    ph(PH_DATA)->p_vaddr = TEXT_VA + 0x800; /* disjoint bytes, shared page */
    expect_fail(-HAKO_EINVAL, "overlapping");
    build();
    ph(PH_DATA)->p_vaddr = TEXT_VA;          /* identical start */
    expect_fail(-HAKO_EINVAL, "overlapping");
    build();
    ph(PH_DATA)->p_vaddr = TEXT_VA + 0x1000; /* adjacent pages: fine */
    assert_int_equal(parse(), 0);
}

static void test_hypervisor_hole(void **state)
{
    (void)state;
    ph(PH_DATA)->p_vaddr = 0xFFFF800000000000ull;
    expect_fail(-HAKO_ERANGE, "guest address space");
    build();
    ph(PH_DATA)->p_vaddr = 0; /* below the lower window */
    expect_fail(-HAKO_ERANGE, "guest address space");
}

static void test_straddle_windows(void **state)
{
    (void)state;
    /* runs off the end of the lower window into the hole */
    ph(PH_DATA)->p_vaddr = 0x00007FFFFFFFF000ull;
    ph(PH_DATA)->p_memsz = 0x2000;
    expect_fail(-HAKO_ERANGE, "guest address space");
    /* starts in the hole, ends in the upper window */
    build();
    ph(PH_DATA)->p_vaddr = 0xFFFF87FFFFFFF000ull;
    expect_fail(-HAKO_ERANGE, "guest address space");
    /* adjacent windows: each half fits one window, the whole fits neither */
    build();
    lim.windows[0] = (struct elf_window){ 0xFFFF880000000000ull, KBASE + 0x2000 };
    lim.windows[1] = (struct elf_window){ KBASE + 0x2000, 0 };
    assert_int_equal(parse(), 0);
    ph(PH_DATA)->p_vaddr = KBASE + 0x1000;
    expect_fail(-HAKO_ERANGE, "guest address space");
}

/* Add n extra one-page RX PT_LOADs above the data segment. */
static void add_loads(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        set_ph(NR_PH + i, PT_LOAD, ELF_PF_R, TEXT_OFF, KBASE + 0x100000 + i * 0x1000,
               0x10, 0x10);
    eh()->e_phnum = NR_PH + n;
}

static void test_max_loads(void **state)
{
    (void)state;
    add_loads(ELF_MAX_SEGMENTS - 2);
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.nr_segments, ELF_MAX_SEGMENTS);
}

static void test_too_many_loads(void **state)
{
    (void)state;
    add_loads(ELF_MAX_SEGMENTS - 1);
    expect_fail(-HAKO_E2BIG, "too many");
}

static void test_total_memsz(void **state)
{
    (void)state;
    lim.max_total_memsz = 0x4000; /* text 1 page + data 3 pages: exactly fits */
    assert_int_equal(parse(), 0);
    lim.max_total_memsz = 0x3FFF;
    expect_fail(-HAKO_E2BIG, "too large");
    lim.max_total_memsz = 64ull << 20;
    ph(PH_DATA)->p_memsz = 64ull << 20; /* alone over the limit with the text page */
    expect_fail(-HAKO_E2BIG, "too large");
}

static void test_entry_outside(void **state)
{
    (void)state;
    eh()->e_entry = TEXT_VA + TEXT_SZ; /* one past the end of text, same page */
    expect_fail(-HAKO_EINVAL, "entry point");
    eh()->e_entry = TEXT_VA - 1;
    expect_fail(-HAKO_EINVAL, "entry point");
    eh()->e_entry = 0;
    expect_fail(-HAKO_EINVAL, "entry point");
}

static void test_entry_not_executable(void **state)
{
    (void)state;
    eh()->e_entry = DATA_VA + 0x10;
    expect_fail(-HAKO_EINVAL, "entry point");
}

static void test_missing_note(void **state)
{
    (void)state;
    ph(PH_NOTE)->p_type = PT_NULL;
    expect_fail(-HAKO_EINVAL, "missing hako ABI note");
    build();
    buf[HAKO_NOTE + 12 + 3] = 'x'; /* name "hakx" */
    expect_fail(-HAKO_EINVAL, "missing hako ABI note");
    build();
    hako_nh()->n_type = 2; /* another hako note type: skipped */
    expect_fail(-HAKO_EINVAL, "missing hako ABI note");
}

static void test_note_wrong_major(void **state)
{
    (void)state;
    hako_desc()->abi_major = 1;
    expect_fail(-HAKO_EINVAL, "major");
}

static void test_note_minor(void **state)
{
    (void)state;
    hako_desc()->abi_minor = 2;
    expect_fail(-HAKO_EINVAL, "minor");
    hako_desc()->abi_minor = 0; /* older minor runs */
    assert_int_equal(parse(), 0);
}

static void test_note_bad_descsz(void **state)
{
    (void)state;
    hako_nh()->n_descsz = 4;
    expect_fail(-HAKO_EINVAL, NULL);
    hako_nh()->n_descsz = 12; /* runs past the note segment */
    expect_fail(-HAKO_EINVAL, NULL);
    hako_nh()->n_descsz = 0;
    expect_fail(-HAKO_EINVAL, NULL);
}

static void test_note_namesz_huge(void **state)
{
    (void)state;
    ((struct t_nhdr *)(buf + GNU_NOTE))->n_namesz = UINT32_MAX;
    expect_fail(-HAKO_EINVAL, "malformed note");
    build();
    hako_nh()->n_namesz = UINT32_MAX - 2; /* rounds up to 2^32 */
    expect_fail(-HAKO_EINVAL, "malformed note");
    build();
    ((struct t_nhdr *)(buf + GNU_NOTE))->n_descsz = UINT32_MAX;
    expect_fail(-HAKO_EINVAL, "malformed note");
}

static void test_note_segment_outside(void **state)
{
    (void)state;
    ph(PH_NOTE)->p_offset = UINT64_MAX - 10;
    expect_fail(-HAKO_EINVAL, "outside the image");
    build();
    ph(PH_NOTE)->p_filesz = NOTE_SZ + 1;
    expect_fail(-HAKO_EINVAL, "outside the image");
}

static void test_duplicate_note(void **state)
{
    (void)state;
    /* second PT_NOTE covering only the hako note */
    set_ph(NR_PH, PT_NOTE, ELF_PF_R, HAKO_NOTE, 0, 28, 0);
    eh()->e_phnum = NR_PH + 1;
    expect_fail(-HAKO_EINVAL, "duplicate");
}

static void test_no_load(void **state)
{
    (void)state;
    ph(PH_TEXT)->p_type = PT_NULL;
    ph(PH_DATA)->p_type = PT_GNU_STACK;
    expect_fail(-HAKO_EINVAL, "no loadable segment");
}

static void test_empty_load(void **state)
{
    (void)state;
    set_ph(NR_PH, PT_LOAD, ELF_PF_R, 0, 0, 0, 0); /* empty: skipped, even at vaddr 0 */
    eh()->e_phnum = NR_PH + 1;
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.nr_segments, 2);
    ph(NR_PH)->p_filesz = 1; /* memsz 0 but filesz 1: refused */
    expect_fail(-HAKO_EINVAL, "file size");
}

static void test_unsorted_phdrs(void **state)
{
    (void)state;
    struct t_phdr t = *ph(PH_TEXT);
    *ph(PH_TEXT) = *ph(PH_DATA);
    *ph(PH_DATA) = t;
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.seg[0].vaddr, TEXT_VA);
    assert_int_equal(out.seg[1].vaddr, DATA_VA);
}

static void test_top_of_address_space(void **state)
{
    (void)state;
    /* text ends exactly at 2^64: allowed, va_hi reads 0 */
    ph(PH_TEXT)->p_vaddr = 0xFFFFFFFFFFFFF000ull;
    ph(PH_TEXT)->p_memsz = 0x1000;
    eh()->e_entry = 0xFFFFFFFFFFFFFFF0ull;
    struct elf_image out;
    const char *why;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.va_lo, KBASE + 0x2000);
    assert_int_equal(out.va_hi, 0);
    assert_int_equal(out.seg[1].vaddr, 0xFFFFFFFFFFFFF000ull);
    /* ... but not with the upper window ending below 2^64 */
    lim.windows[1].hi = 0xFFFFFFFFFFFFF000ull;
    expect_fail(-HAKO_ERANGE, "guest address space");
    /* an unaligned tail on the last page rounds va_hi to 2^64 too */
    lim.windows[1].hi = 0;
    ph(PH_TEXT)->p_memsz = 0x100;
    eh()->e_entry = 0xFFFFFFFFFFFFF010ull;
    assert_int_equal(parse_mem(buf, buf_len, &out, &why), 0);
    assert_int_equal(out.va_hi, 0);
}

/* ---- mutation fuzzing ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t xorshift64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int end_le(uint64_t a, uint64_t b) { return b == 0 || (a != 0 && a <= b); }

/* Assert every documented property of a successful parse. */
static void check_invariants(const struct elf_image *out, uint64_t len)
{
    assert_true(out->nr_segments >= 1 && out->nr_segments <= ELF_MAX_SEGMENTS);
    int entry_ok = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < out->nr_segments; i++) {
        const struct elf_segment *s = &out->seg[i];
        uint64_t end = s->vaddr + s->memsz;
        assert_true(s->memsz > 0);
        assert_true(s->filesz <= s->memsz);
        assert_true(s->offset <= len && s->filesz <= len - s->offset);
        assert_true(end == 0 || end > s->vaddr);
        int in = 0;
        for (unsigned w = 0; w < lim.nr_windows; w++)
            in |= s->vaddr >= lim.windows[w].lo && end_le(end, lim.windows[w].hi);
        assert_true(in);
        assert_true(s->vaddr >= out->va_lo);
        assert_true(end_le(end, out->va_hi));
        uint64_t pg_end = (end + 0xFFF) & ~0xFFFull;
        if (i + 1 < out->nr_segments) {
            assert_true(pg_end != 0);
            assert_true(pg_end <= (out->seg[i + 1].vaddr & ~0xFFFull)); /* sorted, no sharing */
        }
        total += pg_end - (s->vaddr & ~0xFFFull);
        if ((s->flags & ELF_PF_X) && out->entry >= s->vaddr && out->entry - s->vaddr < s->memsz)
            entry_ok = 1;
    }
    assert_true(entry_ok);
    assert_true(total <= lim.max_total_memsz);
    assert_int_equal(out->va_lo & 0xFFF, 0);
    assert_int_equal(out->va_hi & 0xFFF, 0);
    assert_int_equal(out->note_abi_major, lim.abi_major);
    assert_true(out->note_abi_minor <= lim.abi_minor);
}

static void test_mutation_fuzz(void **state)
{
    (void)state;
    static const uint64_t interesting[] = {
        0, 1, 0xFFF, 0x1000, 0x7FFFFFFF, 0xFFFFFFFF, 0x0000800000000000ull,
        0xFFFF800000000000ull, 0xFFFF880000000000ull, KBASE, UINT64_MAX - 10, UINT64_MAX,
    };
    uint8_t ref[BUF_LEN], img[BUF_LEN];
    memcpy(ref, buf, sizeof(ref));
    unsigned ok = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        memcpy(img, ref, sizeof(img));
        unsigned nmut = 1 + xorshift64() % 4;
        for (unsigned m = 0; m < nmut; m++) {
            uint64_t r = xorshift64();
            if (r & 1) {
                /* a random byte in the ELF header / program headers or the notes */
                uint64_t pos = (r >> 8) & 1 ? (r >> 16) % (64 + 56 * NR_PH)
                                            : NOTE_OFF + (r >> 16) % NOTE_SZ;
                img[pos] = (uint8_t)(xorshift64() >> 32);
            } else {
                /* an interesting value over a program header's 8-byte field */
                uint64_t v = interesting[(r >> 8) % (sizeof(interesting) / sizeof(interesting[0]))];
                uint64_t pos = 64 + 8 * ((r >> 24) % (56 * NR_PH / 8));
                memcpy(img + pos, &v, 8);
            }
        }
        uint64_t len = xorshift64() % 8 == 0 ? xorshift64() % (IMG_LEN + 1) : IMG_LEN;
        struct elf_image out;
        const char *why;
        if (parse_mem(img, len, &out, &why) == 0) {
            ok++;
            check_invariants(&out, len);
        }
    }
    /* many mutations land in fields the parser ignores (paddr, align, shoff, ...) */
    assert_true(ok > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, setup)
        T(test_valid),
        T(test_truncated),
        T(test_bad_magic),
        T(test_bad_class),
        T(test_bad_data),
        T(test_bad_ident_version),
        T(test_bad_type),
        T(test_bad_machine),
        T(test_bad_version),
        T(test_bad_phentsize),
        T(test_bad_phnum),
        T(test_phoff_beyond_file),
        T(test_phoff_overflow),
        T(test_filesz_gt_memsz),
        T(test_segment_beyond_end),
        T(test_offset_wrap),
        T(test_vaddr_wrap),
        T(test_overlap_same_page),
        T(test_hypervisor_hole),
        T(test_straddle_windows),
        T(test_max_loads),
        T(test_too_many_loads),
        T(test_total_memsz),
        T(test_entry_outside),
        T(test_entry_not_executable),
        T(test_missing_note),
        T(test_note_wrong_major),
        T(test_note_minor),
        T(test_note_bad_descsz),
        T(test_note_namesz_huge),
        T(test_note_segment_outside),
        T(test_duplicate_note),
        T(test_no_load),
        T(test_empty_load),
        T(test_unsorted_phdrs),
        T(test_top_of_address_space),
        T(test_mutation_fuzz),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
