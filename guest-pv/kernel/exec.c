/*
 * guest-pv/kernel/exec.c: execve: load a static ELF64 program from the file system into a new
 * address space, build its stack (argc, argv, envp), and only then drop the old one, so
 * a failing exec leaves the caller as it was.
 */
#include "exec.h"

#include "fs.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"

#define MAX_ARGS      512
#define STACK_PAGES   16                    /* mapped at exec; more on demand */

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

/* Arguments and environment, copied in before the old image goes (exec never sleeps,
 * and the kernel never preempts itself, so one static buffer serves everyone). */
static struct {
    char buf[HOS_ARG_MAX];
    size_t used;
    unsigned n, argc;                       /* strings in all; the first argc are argv */
    uint32_t off[MAX_ARGS];
} args;

/* Append one kernel string to args; 0 or -HOS_E2BIG. */
static long args_add(const char *s)
{
    size_t len = strlen(s);
    if (args.n >= MAX_ARGS || len + 1 > sizeof(args.buf) - args.used)
        return -HOS_E2BIG;
    args.off[args.n++] = (uint32_t)args.used;
    memcpy(args.buf + args.used, s, len + 1);
    args.used += len + 1;
    return 0;
}

/* Append a NULL-terminated user array of strings to args; 0 or an error. */
static long args_from_user(struct uvm *vm, uint64_t uva)
{
    for (unsigned i = 0; uva; i++) {
        uint64_t ptr;
        if (copy_from_user(vm, &ptr, uva + 8ull * i, 8))
            return -HOS_EFAULT;
        if (!ptr)
            return 0;
        if (args.n >= MAX_ARGS)
            return -HOS_E2BIG;
        long len = strncpy_from_user(vm, args.buf + args.used, ptr,
                                     sizeof(args.buf) - args.used);
        if (len < 0)
            return len == -HOS_ENAMETOOLONG ? -HOS_E2BIG : len;
        args.off[args.n++] = (uint32_t)args.used;
        args.used += (size_t)len + 1;
    }
    return 0;
}

/* Read exactly n bytes at offset off of f; 0 or -HOS_ENOEXEC. */
static long read_at(struct file *f, uint64_t off, void *buf, size_t n)
{
    if (file_lseek(f, (int64_t)off, HOS_SEEK_SET) != (long)off)
        return -HOS_ENOEXEC;
    for (size_t done = 0; done < n;) {
        long r = file_read(f, (char *)buf + done, n - done);
        if (r <= 0)
            return -HOS_ENOEXEC;
        done += (size_t)r;
    }
    return 0;
}

/* Load one PT_LOAD segment into vm. */
static long load_segment(struct uvm *vm, struct file *f, const struct elf64_phdr *ph)
{
    uint64_t flags = (ph->flags & 2) ? PTE_USER_RW
                     : (ph->flags & 1) ? PTE_USER_RX : (PTE_USER_RW & ~HAKO_PTE_W);
    uint64_t start = ph->vaddr & ~(PAGE_SIZE - 1), end = ph->vaddr + ph->memsz;
    for (uint64_t va = start; va < end; va += PAGE_SIZE) {
        char *page = uvm_map_zero(vm, va, flags);
        if (!page && !(page = uvm_ptr(vm, va, 0)))   /* shared with the previous one */
            return -HOS_ENOMEM;
        page = (char *)((uint64_t)page & ~(PAGE_SIZE - 1));
        /* The part of this page that comes from the file: [lo, hi) in segment VAs. */
        uint64_t lo = va > ph->vaddr ? va : ph->vaddr;
        uint64_t hi = va + PAGE_SIZE < ph->vaddr + ph->filesz ? va + PAGE_SIZE
                                                                : ph->vaddr + ph->filesz;
        if (lo < hi) {
            long rc = read_at(f, ph->offset + (lo - ph->vaddr), page + (lo - va), hi - lo);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Load the ELF file f into vm; its entry point and the end of its image. */
static long load_elf(struct uvm *vm, struct file *f, uint64_t *entry, uint64_t *image_end)
{
    struct elf64_ehdr eh;
    struct hos_stat st;
    long rc = file_fstat(f, &st);
    if (rc)
        return rc;
    if ((st.mode & HOS_S_IFMT) != HOS_S_IFREG)
        return -HOS_EACCES;
    if (st.size < sizeof(eh) || read_at(f, 0, &eh, sizeof(eh)) ||
        memcmp(eh.ident, "\177ELF\2\1", 6) || eh.type != 2 || eh.machine != 62 ||
        eh.phnum == 0 || eh.phnum > 16 || eh.phentsize != sizeof(struct elf64_phdr) ||
        eh.entry >= USER_TOP)
        return -HOS_ENOEXEC;
    *image_end = 0;
    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf64_phdr ph;
        if (read_at(f, eh.phoff + i * sizeof(ph), &ph, sizeof(ph)))
            return -HOS_ENOEXEC;
        if (ph.type != 1)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > st.size || st.size - ph.offset < ph.filesz ||
            ph.vaddr < PAGE_SIZE || ph.vaddr >= USER_MMAP_BASE ||
            USER_MMAP_BASE - ph.vaddr < ph.memsz)
            return -HOS_ENOEXEC;
        if ((rc = load_segment(vm, f, &ph)))
            return rc;
        if (ph.vaddr + ph.memsz > *image_end)
            *image_end = ph.vaddr + ph.memsz;
    }
    *entry = eh.entry;
    return *image_end ? mm_flush() : -HOS_ENOEXEC;
}

/* Build the initial stack in vm from args; the user rsp, or 0 on failure. */
static uint64_t build_stack(struct uvm *vm)
{
    uint64_t bottom = USER_STACK_TOP - STACK_PAGES * PAGE_SIZE;
    if (uvm_map_range(vm, bottom, STACK_PAGES * PAGE_SIZE, PTE_USER_RW))
        return 0;
    uint64_t strings = (USER_STACK_TOP - args.used) & ~15ull;
    unsigned envc = args.n - args.argc;
    uint64_t nptr = 1 + args.argc + 1 + envc + 1;
    uint64_t sp = (strings - nptr * 8) & ~15ull;
    if (copy_to_user(vm, strings, args.buf, args.used))
        return 0;
    uint64_t v = args.argc;
    long rc = copy_to_user(vm, sp, &v, 8);
    uint64_t slot = sp + 8;
    for (unsigned i = 0; i < args.n; i++, slot += 8) {
        if (i == args.argc) {                       /* argv's NULL, then envp */
            v = 0;
            rc |= copy_to_user(vm, slot, &v, 8);
            slot += 8;
        }
        v = strings + args.off[i];
        rc |= copy_to_user(vm, slot, &v, 8);
    }
    if (args.argc == args.n) {
        v = 0;
        rc |= copy_to_user(vm, slot, &v, 8);
        slot += 8;
    }
    v = 0;
    rc |= copy_to_user(vm, slot, &v, 8);
    return rc ? 0 : sp;
}

/* Replace p's image with the program at path and the arguments in args. */
static long exec_commit(struct proc *p, const char *path, uint64_t *entry, uint64_t *sp)
{
    struct file *f;
    struct uvm vm;
    uint64_t image_end;
    long rc = fs_open(p->cwd, path, HOS_O_RDONLY, 0, &f);
    if (rc)
        return rc;
    if ((rc = uvm_create(&vm))) {
        file_close(f);
        return rc;
    }
    rc = load_elf(&vm, f, entry, &image_end);
    file_close(f);
    if (rc == 0 && !(*sp = build_stack(&vm)))
        rc = -HOS_ENOMEM;
    if (rc) {
        uvm_destroy(&vm);
        return rc;
    }
    struct uvm old = p->vm;
    p->vm = vm;
    p->brk_start = p->brk = (image_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    p->mmap_next = USER_MMAP_BASE;
    if (p == cur)
        proc_load_user_context();
    if (old.root)
        uvm_destroy(&old);
    const char *name = path;
    for (const char *s = path; *s; s++)
        if (*s == '/' && s[1])
            name = s + 1;
    memset(p->name, 0, sizeof(p->name));
    for (unsigned i = 0; i < sizeof(p->name) - 1 && name[i]; i++)
        p->name[i] = name[i];
    return 0;
}

/* Point the saved user context at a fresh program. */
static void fresh_frame(struct guest_regs *regs, struct hako_trap_frame *f, uint64_t entry,
                        uint64_t sp)
{
    memset(regs, 0, sizeof(*regs));
    *f = (struct hako_trap_frame){ .rip = entry, .rsp = sp, .rflags = 0x202,
                                   .flags = HAKO_TF_USER };
}

long exec_user(struct guest_regs *regs, struct hako_trap_frame *f, uint64_t path_uva,
               uint64_t argv_uva, uint64_t envp_uva)
{
    static char path[HOS_PATH_MAX];
    long rc = strncpy_from_user(&cur->vm, path, path_uva, sizeof(path));
    if (rc < 0)
        return rc;
    args.used = args.n = 0;
    if ((rc = args_from_user(&cur->vm, argv_uva)))
        return rc;
    args.argc = args.n;
    if ((rc = args_from_user(&cur->vm, envp_uva)))
        return rc;
    uint64_t entry, sp;
    if ((rc = exec_commit(cur, path, &entry, &sp)))
        return rc;
    proc_fx_reset(cur);
    __asm__ volatile("fxrstor64 %0" : : "m"(cur->fx));
    fresh_frame(regs, f, entry, sp);
    return 0;
}

long exec_kernel(struct proc *p, const char *path, const char *argv0, const char *arg1)
{
    args.used = args.n = 0;
    long rc = args_add(argv0);
    if (rc == 0 && arg1)
        rc = args_add(arg1);
    args.argc = args.n;
    if (rc == 0)
        rc = args_add("PATH=/bin");
    if (rc == 0)
        rc = args_add("HOME=/");
    uint64_t entry, sp;
    proc_fx_reset(p);
    if (rc || (rc = exec_commit(p, path, &entry, &sp)))
        return rc;
    struct guest_regs regs;
    struct hako_trap_frame f;
    fresh_frame(&regs, &f, entry, sp);
    proc_set_first_run(p, &regs, &f);
    return 0;
}
