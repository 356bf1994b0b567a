/*
 * guest-pv/proc.c: loading and running a user program in its own address space.
 *
 * The program gets a private top-level table holding only its own pages in the lower
 * half; the kernel's table does not map them, and theirs does not map the kernel, so
 * the hypervisor's switch between the two on every transition keeps them apart. The
 * kernel reaches user memory only by walking the user tables (user_read).
 */
#include "proc.h"

#include <hako/hypercall.h>

#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "trap.h"
#include "user/syscall.h"

#define USER_TOP        0x0000800000000000ull
#define USER_STACK_TOP  0x0000007FFFFFF000ull
#define PROC_MAX_PAGES  64

struct proc {
    uint64_t l4_mfn;
    uint64_t pages[PROC_MAX_PAGES];   /* data pfns, freed at exit */
    unsigned nr_pages;
    struct kjmp ctx;                  /* the kernel context proc_run resumes */
    long status;
    uint64_t fault_addr;
};

static struct proc the_proc;
static struct proc *cur;
static uint8_t event_stack[16384] __attribute__((aligned(16)));

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* A new zeroed page mapped at user address va; its linear-map alias, or NULL. */
static char *user_page(struct proc *p, uint64_t va, uint64_t flags)
{
    uint64_t pfn = p->nr_pages < PROC_MAX_PAGES ? pfn_alloc() : 0;
    if (!pfn)
        return NULL;
    p->pages[p->nr_pages++] = pfn;
    if (mm_map(p->l4_mfn, va, pfn_to_mfn(pfn), flags))
        return NULL;
    return pfn_to_va(pfn);
}

/* Copy each PT_LOAD of the image into fresh user pages; the entry point, or 0. */
static uint64_t load_elf(struct proc *p, const uint8_t *img, uint64_t len)
{
    struct elf64_ehdr eh;
    if (len < sizeof(eh))
        return 0;
    memcpy(&eh, img, sizeof(eh));
    if (memcmp(eh.ident, "\177ELF\2\1", 6) || eh.machine != 62 || eh.phnum > 16 ||
        eh.phentsize != sizeof(struct elf64_phdr) || eh.phoff > len ||
        len - eh.phoff < (uint64_t)eh.phnum * sizeof(struct elf64_phdr))
        return 0;
    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf64_phdr ph;
        memcpy(&ph, img + eh.phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != 1)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > len || len - ph.offset < ph.filesz ||
            ph.vaddr >= USER_TOP || USER_TOP - ph.vaddr < ph.memsz || (ph.vaddr & 4095))
            return 0;
        uint64_t flags = (ph.flags & 2) ? PTE_USER_RW : (ph.flags & 1) ? PTE_USER_RX
                                                                      : PTE_USER_RW & ~HAKO_PTE_W;
        for (uint64_t off = 0; off < ph.memsz; off += PAGE_SIZE) {
            char *page = user_page(p, ph.vaddr + off, flags);
            if (!page)
                return 0;
            if (off < ph.filesz)
                memcpy(page, img + ph.offset + off,
                       ph.filesz - off < PAGE_SIZE ? ph.filesz - off : PAGE_SIZE);
        }
    }
    return eh.entry;
}

/* Copy len bytes at user address uva into buf, checking every page is a user page of
 * the current process; 0 or -GUEST_EFAULT. */
static long user_read(struct proc *p, uint64_t uva, void *buf, uint64_t len)
{
    char *out = buf;
    if (uva >= USER_TOP || USER_TOP - uva < len)
        return -GUEST_EFAULT;
    while (len) {
        uint64_t maddr = mm_entry_maddr(p->l4_mfn, uva, 1);
        uint64_t e = maddr ? ((const uint64_t *)pfn_to_va(mfn_to_pfn(maddr >> 12)))
                                 [(maddr & 4095) / 8] : 0;
        if ((e & (HAKO_PTE_P | HAKO_PTE_U)) != (HAKO_PTE_P | HAKO_PTE_U))
            return -GUEST_EFAULT;
        uint64_t chunk = PAGE_SIZE - (uva & 4095);
        chunk = chunk < len ? chunk : len;
        memcpy(out, (char *)pfn_to_va(mfn_to_pfn((e & HAKO_PTE_ADDR) >> 12)) + (uva & 4095),
               chunk);
        out += chunk, uva += chunk, len -= chunk;
    }
    return 0;
}

void proc_syscall(struct guest_regs *regs, struct hako_trap_frame *f)
{
    char buf[256];
    long ret;
    switch (f->rax) {
    case SYS_exit:
        cur->status = (long)(regs->rdi & 0xff);
        kjmp_jump(&cur->ctx, 1);
    case SYS_write:
        if (regs->rdi != 1 && regs->rdi != 2) {
            ret = -GUEST_EBADF;
            break;
        }
        ret = 0;
        for (uint64_t done = 0; done < regs->rdx && ret == 0; done += sizeof(buf)) {
            uint64_t n = regs->rdx - done < sizeof(buf) ? regs->rdx - done : sizeof(buf);
            if ((ret = user_read(cur, regs->rsi + done, buf, n)) == 0)
                privops->console_write(buf, n);
        }
        ret = ret ? ret : (long)regs->rdx;
        break;
    case SYS_getpid:
        ret = 1;
        break;
    default:
        ret = -GUEST_ENOSYS;
    }
    f->rax = (uint64_t)ret;
}

void proc_user_fault(struct hako_trap_frame *f)
{
    kprintf("user program: exception %lu at rip %lx, address %lx: ended\n", f->vector, f->rip,
            f->fault_addr);
    cur->status = PROC_EXIT_FAULT + (long)f->vector;
    cur->fault_addr = f->fault_addr;
    kjmp_jump(&cur->ctx, 1);
}

/* Collect the page-table pfns under table mfn at `level` into out[]; returns the count. */
static unsigned collect_tables(uint64_t mfn, unsigned level, uint64_t *out, unsigned n)
{
    uint64_t pfn = mfn_to_pfn(mfn);
    const uint64_t *t = pfn_to_va(pfn);
    out[n++] = pfn;
    for (unsigned i = 0; level > 1 && i < (level == 4 ? 256u : 512u); i++)
        if (t[i] & HAKO_PTE_P)
            n = collect_tables((t[i] & HAKO_PTE_ADDR) >> 12, level - 1, out, n);
    return n;
}

/* Drop the address space and give every page back. */
static void proc_teardown(struct proc *p)
{
    uint64_t tables[PROC_MAX_PAGES];
    unsigned nt = collect_tables(p->l4_mfn, 4, tables, 0);
    struct hako_mmuext_op ops[2] = {
        { .cmd = HAKO_MMUEXT_NEW_USER_BASEPTR, .arg1 = 0 },
        { .cmd = HAKO_MMUEXT_UNPIN_TABLE, .arg1 = p->l4_mfn },
    };
    if (privops->mmuext(ops, 2))
        kprintf("proc: cannot release the address space\n");
    /* Making the tables' linear aliases writable again is fire-and-forget work: queue
     * it all and kick once before the frames are handed out again. */
    for (unsigned i = 0; i < nt; i++) {
        uint64_t pte = (pfn_to_mfn(tables[i]) << 12) | PTE_KERNEL_RW;
        privops->queue(HAKO_HC_update_va_mapping, (uint64_t)pfn_to_va(tables[i]), pte,
                       HAKO_UVMF_INVLPG);
    }
    privops->kick();
    for (unsigned i = 0; i < nt; i++)
        pfn_free(tables[i]);
    for (unsigned i = 0; i < p->nr_pages; i++)
        pfn_free(p->pages[i]);
}

long proc_run(const void *elf, uint64_t len, uint64_t *fault_addr)
{
    struct proc *p = &the_proc;
    memset(p, 0, sizeof(*p));
    if (!(p->l4_mfn = mm_new_l4()))
        return -12;
    uint64_t entry = load_elf(p, elf, len);
    long rc = entry && user_page(p, USER_STACK_TOP - PAGE_SIZE, PTE_USER_RW) ? mm_flush() : -8;
    struct hako_mmuext_op base = { .cmd = HAKO_MMUEXT_NEW_USER_BASEPTR, .arg1 = p->l4_mfn };
    if (rc == 0)
        rc = privops->mmuext(&base, 1);
    if (rc == 0)
        rc = privops->set_kernel_stack((uint64_t)(event_stack + sizeof(event_stack)));
    if (rc == 0) {
        cur = p;
        if (kjmp_save(&p->ctx) == 0) {
            struct hako_trap_frame f = {
                .rip = entry, .rsp = USER_STACK_TOP, .rflags = 0x202, .flags = HAKO_TF_USER,
            };
            rc = privops->resume(&f);      /* returns only if the frame was refused */
        } else {
            rc = p->status;
            *fault_addr = p->fault_addr;
        }
        cur = NULL;
    }
    proc_teardown(p);
    return rc;
}
