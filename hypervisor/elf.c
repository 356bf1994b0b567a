/*
 * hypervisor/elf.c: validation of a guest kernel ELF image.
 *
 * The image is untrusted. Every header is copied out of it into a local before it is
 * looked at, every range is checked against img[0..len) before it is read, and every
 * sum is checked for wrap-around. Address-range ends are kept as uint64_t where 0
 * means 2^64, so a segment or window may reach the very top of the address space.
 */
#include <stdint.h>
#include <stddef.h>

#include "hako/errno.h"
#include "hako/elfnote.h"
#include "elf.h"

#define PAGE_SIZE 4096ull
#define PAGE_MASK (PAGE_SIZE - 1)
#define MAX_PHNUM 64

#define ET_EXEC     2
#define EM_X86_64   62
#define EV_CURRENT  1
#define PT_LOAD     1
#define PT_NOTE     4

struct ehdr {
    uint8_t  e_ident[16];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

struct nhdr {
    uint32_t n_namesz, n_descsz, n_type;
};

_Static_assert(sizeof(struct ehdr) == 64, "Elf64_Ehdr size");
_Static_assert(sizeof(struct phdr) == 56, "Elf64_Phdr size");
_Static_assert(sizeof(struct nhdr) == 12, "Elf64_Nhdr size");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ELFDATA2LSB fields read natively");

// Set *why to msg (if why is non-NULL) and return err.
static int fail(const char **why, const char *msg, int err)
{
    if (why)
        *why = msg;
    return err;
}

// Is end a <= end b, where an end of 0 means 2^64?
static int end_le(uint64_t a, uint64_t b)
{
    return b == 0 || (a != 0 && a <= b);
}

// Does [off, off+size) lie inside [0, len)? Overflow-safe.
static int in_file(uint64_t off, uint64_t size, uint64_t len)
{
    return off <= len && size <= len - off;
}

// Round an address-range end up to a page; 0 (2^64) and wrap past the top give 0.
static uint64_t page_up(uint64_t end)
{
    return (end + PAGE_MASK) & ~PAGE_MASK;
}

// Does [vaddr, end) lie wholly inside one window of lim?
static int in_window(const struct elf_limits *lim, uint64_t vaddr, uint64_t end)
{
    for (unsigned i = 0; i < lim->nr_windows && i < 2; i++) {
        const struct elf_window *w = &lim->windows[i];
        if (vaddr >= w->lo && end_le(end, w->hi))
            return 1;
    }
    return 0;
}

// Check one PT_LOAD and append it to out->seg; *total accumulates page-rounded memsz.
static int add_load(const struct phdr *ph, uint64_t len, const struct elf_limits *lim,
                    struct elf_image *out, uint64_t *total, const char **why)
{
    if (ph->p_memsz == 0 && ph->p_filesz == 0)
        return 0; /* empty: nothing to load */
    if (ph->p_filesz > ph->p_memsz)
        return fail(why, "segment file size exceeds memory size", -HAKO_EINVAL);
    if (!in_file(ph->p_offset, ph->p_filesz, len))
        return fail(why, "segment outside the image", -HAKO_EINVAL);
    /* end == 0 is allowed only when the segment ends exactly at 2^64 */
    uint64_t end = ph->p_vaddr + ph->p_memsz;
    if (end != 0 && end <= ph->p_vaddr)
        return fail(why, "segment address range wraps", -HAKO_EINVAL);
    if (out->nr_segments == ELF_MAX_SEGMENTS)
        return fail(why, "too many segments", -HAKO_E2BIG);
    if (!in_window(lim, ph->p_vaddr, end))
        return fail(why, "segment outside guest address space", -HAKO_ERANGE);

    uint64_t size = page_up(end) - (ph->p_vaddr & ~PAGE_MASK); /* 0 means 2^64 */
    if (size == 0 || size > lim->max_total_memsz - *total)
        return fail(why, "image too large", -HAKO_E2BIG);
    *total += size;

    struct elf_segment *s = &out->seg[out->nr_segments++];
    s->vaddr = ph->p_vaddr;
    s->memsz = ph->p_memsz;
    s->offset = ph->p_offset;
    s->filesz = ph->p_filesz;
    s->flags = ph->p_flags & (ELF_PF_X | ELF_PF_W | ELF_PF_R);
    return 0;
}

// Sort out->seg by vaddr (insertion sort; at most ELF_MAX_SEGMENTS entries).
static void sort_segments(struct elf_image *out)
{
    for (unsigned i = 1; i < out->nr_segments; i++) {
        struct elf_segment s = out->seg[i];
        unsigned j = i;
        for (; j > 0 && out->seg[j - 1].vaddr > s.vaddr; j--)
            out->seg[j] = out->seg[j - 1];
        out->seg[j] = s;
    }
}

// Walk the notes in img[off, off+size); record the hako ABI note in *out, counting it in *found.
static int scan_notes(const uint8_t *img, uint64_t off, uint64_t size,
                      struct elf_image *out, unsigned *found, const char **why)
{
    while (size > 0) {
        struct nhdr nh;
        if (size < sizeof(nh))
            return fail(why, "malformed note", -HAKO_EINVAL);
        __builtin_memcpy(&nh, img + off, sizeof(nh));
        /* 32-bit sizes rounded up to 4 cannot wrap in 64 bits */
        uint64_t name_al = ((uint64_t)nh.n_namesz + 3) & ~3ull;
        uint64_t desc_al = ((uint64_t)nh.n_descsz + 3) & ~3ull;
        uint64_t rest = size - sizeof(nh);
        if (name_al > rest || desc_al > rest - name_al)
            return fail(why, "malformed note", -HAKO_EINVAL);

        uint64_t name = off + sizeof(nh), desc = name + name_al;
        if (nh.n_namesz == sizeof(HAKO_ELFNOTE_NAME) && nh.n_type == HAKO_ELFNOTE_ABI &&
            __builtin_memcmp(img + name, HAKO_ELFNOTE_NAME, sizeof(HAKO_ELFNOTE_NAME)) == 0) {
            struct hako_elfnote_abi abi;
            if (nh.n_descsz != sizeof(abi))
                return fail(why, "bad hako ABI note", -HAKO_EINVAL);
            if (++*found > 1)
                return fail(why, "duplicate hako ABI note", -HAKO_EINVAL);
            __builtin_memcpy(&abi, img + desc, sizeof(abi));
            out->note_abi_major = abi.abi_major;
            out->note_abi_minor = abi.abi_minor;
        }
        off = desc + desc_al;
        size = rest - name_al - desc_al;
    }
    return 0;
}

// Check the ELF header fields; on success *eh holds a copy of it.
static int check_ehdr(const uint8_t *img, uint64_t len, struct ehdr *eh, const char **why)
{
    if (len < sizeof(*eh))
        return fail(why, "image too small for an ELF header", -HAKO_EINVAL);
    __builtin_memcpy(eh, img, sizeof(*eh));
    if (__builtin_memcmp(eh->e_ident, "\177ELF", 4) != 0)
        return fail(why, "bad ELF magic", -HAKO_EINVAL);
    if (eh->e_ident[4] != 2 /* ELFCLASS64 */)
        return fail(why, "not a 64-bit ELF", -HAKO_EINVAL);
    if (eh->e_ident[5] != 1 /* ELFDATA2LSB */)
        return fail(why, "not a little-endian ELF", -HAKO_EINVAL);
    if (eh->e_ident[6] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return fail(why, "bad ELF version", -HAKO_EINVAL);
    if (eh->e_type != ET_EXEC)
        return fail(why, "not an executable ELF", -HAKO_EINVAL);
    if (eh->e_machine != EM_X86_64)
        return fail(why, "not an x86-64 ELF", -HAKO_EINVAL);
    if (eh->e_phentsize != sizeof(struct phdr))
        return fail(why, "bad program header size", -HAKO_EINVAL);
    if (eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM)
        return fail(why, "bad program header count", -HAKO_EINVAL);
    if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(struct phdr), len))
        return fail(why, "program headers outside the image", -HAKO_EINVAL);
    return 0;
}

// Check the sorted segments: no shared pages, entry inside an executable one.
static int check_layout(struct elf_image *out, const char **why)
{
    for (unsigned i = 0; i + 1 < out->nr_segments; i++) {
        uint64_t hi = page_up(out->seg[i].vaddr + out->seg[i].memsz);
        if (hi == 0 || hi > (out->seg[i + 1].vaddr & ~PAGE_MASK))
            return fail(why, "overlapping segments", -HAKO_EINVAL);
    }
    int entry_ok = 0;
    for (unsigned i = 0; i < out->nr_segments; i++) {
        const struct elf_segment *s = &out->seg[i];
        if ((s->flags & ELF_PF_X) && out->entry >= s->vaddr &&
            (out->entry - s->vaddr) < s->memsz)
            entry_ok = 1;
    }
    if (!entry_ok)
        return fail(why, "entry point outside executable segments", -HAKO_EINVAL);
    const struct elf_segment *last = &out->seg[out->nr_segments - 1];
    out->va_lo = out->seg[0].vaddr & ~PAGE_MASK;
    out->va_hi = page_up(last->vaddr + last->memsz);
    return 0;
}

int elf_parse(const void *img, uint64_t len, const struct elf_limits *lim,
              struct elf_image *out, const char **why)
{
    const uint8_t *p = img;
    struct ehdr eh;
    int err = check_ehdr(p, len, &eh, why);
    if (err)
        return err;

    __builtin_memset(out, 0, sizeof(*out));
    out->entry = eh.e_entry;
    uint64_t total = 0;
    unsigned notes_found = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct phdr ph;
        __builtin_memcpy(&ph, p + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD) {
            err = add_load(&ph, len, lim, out, &total, why);
        } else if (ph.p_type == PT_NOTE) {
            if (!in_file(ph.p_offset, ph.p_filesz, len))
                return fail(why, "note segment outside the image", -HAKO_EINVAL);
            err = scan_notes(p, ph.p_offset, ph.p_filesz, out, &notes_found, why);
        }
        if (err)
            return err;
    }
    if (out->nr_segments == 0)
        return fail(why, "no loadable segment", -HAKO_EINVAL);

    sort_segments(out);
    err = check_layout(out, why);
    if (err)
        return err;

    if (notes_found == 0)
        return fail(why, "missing hako ABI note", -HAKO_EINVAL);
    if (out->note_abi_major != lim->abi_major)
        return fail(why, "unsupported hako ABI major", -HAKO_EINVAL);
    if (out->note_abi_minor > lim->abi_minor)
        return fail(why, "kernel needs a newer hako ABI minor", -HAKO_EINVAL);
    return 0;
}
