/*
 * guest-pv/kernel/syscall.c: the system-call layer: decode, copy user arguments in once,
 * validate, call the subsystem, copy results out. Subsystems never sleep; this layer
 * sleeps on their wait channel when they say -HOS_EAGAIN.
 */
#include <hako/start_info.h>

#include "domains.h"
#include "exec.h"
#include "fs.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "proc.h"

#define HEAP_MAX (1ull << 30)

static const struct hako_start_info *boot_si;
static char nodename[32] = "dom0";

void syscall_init(const struct hako_start_info *si)
{
    boot_si = si;
    if (si->domid != 0)
        ksnprintf(nodename, sizeof(nodename), "dom%u", si->domid);
    /* hostname=NAME on the command line (dom0 puts the domain's name there). */
    for (const char *c = si->cmdline; *c; c++) {
        if ((c == si->cmdline || c[-1] == ' ') && strncmp(c, "hostname=", 9) == 0) {
            size_t n = 0;
            for (c += 9; c[n] && c[n] != ' ' && n < sizeof(nodename) - 1; n++)
                nodename[n] = c[n];
            if (n)
                nodename[n] = 0;
            break;
        }
    }
}

/* The first time anyone reads typed input, the system is up: say when (rdtsc counts
 * instructions under QEMU -icount; make bench reads this line). */
static void note_first_prompt(void)
{
    static int seen;
    if (seen++)
        return;
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    kprintf("ready for input: rdtsc %lu, %lu ms since the %s started\n",
            ((uint64_t)hi << 32) | lo, ktime_ns() / 1000000,
            privops->on_hypervisor ? "hypervisor" : "machine");
}

/* The open file behind fd, or NULL. */
static struct file *fd_file(uint64_t fd)
{
    return fd < HOS_OPEN_MAX ? cur->files[fd] : NULL;
}

/* Install f in the lowest free descriptor >= from; the fd or -HOS_EMFILE. */
static long fd_install(struct file *f, unsigned from)
{
    for (unsigned fd = from; fd < HOS_OPEN_MAX; fd++)
        if (!cur->files[fd]) {
            cur->files[fd] = f;
            return fd;
        }
    return -HOS_EMFILE;
}

/* Copy a user path in; its length or an error. */
static long get_path(uint64_t uva, char *path)
{
    long rc = strncpy_from_user(&cur->vm, path, uva, HOS_PATH_MAX);
    return rc == 0 ? -HOS_ENOENT : rc;
}

/* read/write moved page by page straight between the file and user memory. */
static long sys_rw(uint64_t fd, uint64_t uva, uint64_t len, int write)
{
    struct file *f = fd_file(fd);
    if (!f)
        return -HOS_EBADF;
    if (uva >= USER_TOP || USER_TOP - uva < len)
        return -HOS_EFAULT;
    if (!write && f->ops == &tty_file_ops)
        note_first_prompt();
    uint64_t done = 0;
    while (done < len) {
        uint64_t chunk = PAGE_SIZE - ((uva + done) & (PAGE_SIZE - 1));
        chunk = chunk < len - done ? chunk : len - done;
        void *u = uvm_ptr(&cur->vm, uva + done, !write);
        if (!u)
            return done ? (long)done : -HOS_EFAULT;
        long r = write ? file_write(f, u, chunk) : file_read(f, u, chunk);
        if (r == -HOS_EAGAIN) {
            if (done && !write)
                break;                       /* a read returns what it has */
            long s = proc_sleep(file_wait_chan(f), 0);
            if (s)
                return done ? (long)done : s;
            continue;
        }
        if (r < 0)
            return done ? (long)done : r;
        done += (uint64_t)r;
        if ((uint64_t)r < chunk && !write)
            break;                           /* short read: end of data for now */
    }
    return (long)done;
}

static long sys_open(uint64_t path_uva, uint64_t flags, uint64_t mode)
{
    char path[HOS_PATH_MAX];
    struct file *f;
    long rc = get_path(path_uva, path);
    if (rc < 0)
        return rc;
    if ((rc = fs_open(cur->cwd, path, (int)flags, (unsigned)mode, &f)))
        return rc;
    if ((rc = fd_install(f, 0)) < 0)
        file_close(f);
    return rc;
}

static long sys_close(uint64_t fd)
{
    struct file *f = fd_file(fd);
    if (!f)
        return -HOS_EBADF;
    cur->files[fd] = NULL;
    file_close(f);
    return 0;
}

static long sys_stat(uint64_t a, uint64_t st_uva, int by_fd)
{
    struct hos_stat st;
    long rc;
    if (by_fd) {
        struct file *f = fd_file(a);
        rc = f ? file_fstat(f, &st) : -HOS_EBADF;
    } else {
        char path[HOS_PATH_MAX];
        rc = get_path(a, path);
        if (rc >= 0)
            rc = fs_stat(cur->cwd, path, &st);
    }
    if (rc == 0)
        rc = copy_to_user(&cur->vm, st_uva, &st, sizeof(st));
    return rc;
}

/* unlink, mkdir, chdir: operations on one path. */
static long sys_path_op(uint64_t nr, uint64_t path_uva, uint64_t mode)
{
    char path[HOS_PATH_MAX];
    long rc = get_path(path_uva, path);
    if (rc < 0)
        return rc;
    if (nr == HOS_SYS_unlink)
        return fs_unlink(cur->cwd, path);
    if (nr == HOS_SYS_mkdir)
        return fs_mkdir(cur->cwd, path, (unsigned)mode);
    struct inode *dir;
    if ((rc = fs_chdir(cur->cwd, path, &dir)))
        return rc;
    inode_put(cur->cwd);
    cur->cwd = dir;
    return 0;
}

static long sys_readdir(uint64_t fd, uint64_t d_uva)
{
    struct hos_dirent d;
    struct file *f = fd_file(fd);
    if (!f)
        return -HOS_EBADF;
    memset(&d, 0, sizeof(d));
    long rc = file_readdir(f, &d);
    if (rc == 1 && copy_to_user(&cur->vm, d_uva, &d, sizeof(d)))
        return -HOS_EFAULT;
    return rc;
}

static long sys_dup2(uint64_t oldfd, uint64_t newfd, int any)
{
    struct file *f = fd_file(oldfd);
    if (!f)
        return -HOS_EBADF;
    if (any) {
        struct file *d = file_dup(f);
        long fd = fd_install(d, 0);
        if (fd < 0)
            file_close(d);
        return fd;
    }
    if (newfd >= HOS_OPEN_MAX)
        return -HOS_EBADF;
    if (newfd == oldfd)
        return (long)newfd;
    if (cur->files[newfd])
        file_close(cur->files[newfd]);
    cur->files[newfd] = file_dup(f);
    return (long)newfd;
}

static long sys_pipe(uint64_t fds_uva)
{
    struct file *r, *w;
    long rc = pipe_open(&r, &w);
    if (rc)
        return rc;
    long rfd = fd_install(r, 0), wfd = rfd < 0 ? rfd : fd_install(w, 0);
    int32_t fds[2] = { (int32_t)rfd, (int32_t)wfd };
    if (rfd >= 0 && wfd >= 0 && copy_to_user(&cur->vm, fds_uva, fds, sizeof(fds)) == 0)
        return 0;
    rc = rfd < 0 ? rfd : wfd < 0 ? wfd : -HOS_EFAULT;
    if (rfd >= 0)
        cur->files[rfd] = NULL;
    if (wfd >= 0)
        cur->files[wfd] = NULL;
    file_close(r);
    file_close(w);
    return rc;
}

static long sys_getcwd(uint64_t buf_uva, uint64_t size)
{
    char path[HOS_PATH_MAX];
    long rc = fs_getcwd(cur->cwd, path, sizeof(path));
    if (rc < 0)
        return rc;
    if ((uint64_t)rc + 1 > size)
        return -HOS_ERANGE;
    return copy_to_user(&cur->vm, buf_uva, path, (size_t)rc + 1) ? -HOS_EFAULT : rc;
}

static long sys_brk(uint64_t addr)
{
    uint64_t old_top = (cur->brk + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (addr < cur->brk_start || addr - cur->brk_start > HEAP_MAX || addr > USER_MMAP_BASE)
        return (long)cur->brk;                /* the heap stays below anonymous mappings */
    uint64_t new_top = (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (new_top > old_top) {
        if (uvm_map_range(&cur->vm, old_top, new_top - old_top, PTE_USER_RW))
            return (long)cur->brk;           /* unchanged: out of memory */
    } else if (new_top < old_top) {
        uvm_unmap_range(&cur->vm, new_top, old_top - new_top);
    }
    cur->brk = addr;
    return (long)addr;
}

static long sys_mmap(uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd)
{
    if (len == 0 || len > HEAP_MAX || (int)fd != -1 ||
        (flags & ~(uint64_t)(HOS_MAP_PRIVATE | HOS_MAP_ANONYMOUS)) ||
        !(flags & HOS_MAP_ANONYMOUS) || (prot & ~7ull))
        return -HOS_EINVAL;
    len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t va = cur->mmap_next;
    if (va + len + PAGE_SIZE > USER_STACK_TOP - USER_STACK_MAX)
        return -HOS_ENOMEM;
    uint64_t pte = (prot & HOS_PROT_WRITE) ? PTE_USER_RW : (PTE_USER_RW & ~HAKO_PTE_W);
    if (prot & HOS_PROT_EXEC)
        pte &= ~HAKO_PTE_NX;
    long rc = prot ? uvm_map_range(&cur->vm, va, len, pte) : 0;   /* PROT_NONE: only the */
    if (rc)                                                        /* addresses, no pages */
        return rc;
    cur->mmap_next = va + len + PAGE_SIZE;        /* a guard page between mappings */
    return (long)va;
}

static long sys_munmap(uint64_t va, uint64_t len)
{
    if ((va & (PAGE_SIZE - 1)) || len == 0 || va < USER_MMAP_BASE ||
        va >= USER_STACK_TOP - USER_STACK_MAX || USER_STACK_TOP - USER_STACK_MAX - va < len)
        return -HOS_EINVAL;
    uvm_unmap_range(&cur->vm, va, (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
    return 0;
}

/* Real time in ns since 1970 (kern.h). */
uint64_t krealtime_ns(void)
{
    return ktime_ns() + privops->wallclock_ns();
}

static long sys_time(uint64_t clock, uint64_t ts_uva)
{
    if (clock != HOS_CLOCK_REALTIME && clock != HOS_CLOCK_MONOTONIC)
        return -HOS_EINVAL;
    uint64_t ns = clock == HOS_CLOCK_REALTIME ? krealtime_ns() : ktime_ns();
    struct hos_timespec ts = { .sec = (int64_t)(ns / 1000000000ull),
                               .nsec = (int64_t)(ns % 1000000000ull) };
    return copy_to_user(&cur->vm, ts_uva, &ts, sizeof(ts));
}

static long sys_nanosleep(uint64_t ts_uva)
{
    struct hos_timespec ts;
    if (copy_from_user(&cur->vm, &ts, ts_uva, sizeof(ts)))
        return -HOS_EFAULT;
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
        return -HOS_EINVAL;
    uint64_t ns, deadline;
    if (__builtin_mul_overflow((uint64_t)ts.sec, 1000000000ull, &ns) ||
        __builtin_add_overflow(ns, (uint64_t)ts.nsec, &ns) ||
        __builtin_add_overflow(ns, ktime_ns(), &deadline))
        deadline = ~0ull;                    /* beyond the clock: until a signal */
    static const char sleeping;
    while (ktime_ns() < deadline) {
        long rc = proc_sleep(&sleeping, deadline == ~0ull ? 0 : deadline);
        if (rc)
            return rc;
    }
    return 0;
}

static long sys_uname(uint64_t uva)
{
    struct hos_utsname u;
    memset(&u, 0, sizeof(u));
    memcpy(u.sysname, "hako", 5);
    memcpy(u.nodename, nodename, sizeof(u.nodename));
    memcpy(u.release, "0.6", 4);
    memcpy(u.machine, "x86_64", 7);
    privops->platform_version(u.version, sizeof(u.version));
    return copy_to_user(&cur->vm, uva, &u, sizeof(u));
}

static long sys_meminfo(uint64_t uva)
{
    struct hos_meminfo m = {
        .page_size = PAGE_SIZE, .total_pages = boot_si->nr_pages,
        .free_pages = pfn_free_count(), .kernel_pages = kmalloc_pages(),
        .file_pages = fs_file_pages(),
    };
    return copy_to_user(&cur->vm, uva, &m, sizeof(m));
}

static long sys_procinfo(uint64_t pid, uint64_t uva)
{
    struct hos_procinfo pi;
    long rc = proc_info((int)pid, &pi);
    if (rc >= 0 && copy_to_user(&cur->vm, uva, &pi, sizeof(pi)))
        return -HOS_EFAULT;
    return rc;
}

/* Power off or reboot this domain (dom0: the machine) after writing mounted file systems
 * back; returns only on a bad how. */
static long sys_reboot(uint64_t how, uint64_t code)
{
    if (how != HOS_REBOOT_POWEROFF && how != HOS_REBOOT_REBOOT)
        return -HOS_EINVAL;
    long rc = fs_sync();                  /* files on disk survive the power-off */
    if (rc < 0)
        kprintf("sync before %s failed: error %ld\n",
                how == HOS_REBOOT_REBOOT ? "reboot" : "power-off", -rc);
    kprintf("%s\n", how == HOS_REBOOT_REBOOT ? "rebooting" : "powering off");
    privops->shutdown(how == HOS_REBOOT_REBOOT ? HAKO_SHUTDOWN_REBOOT : HAKO_SHUTDOWN_POWEROFF,
                      (unsigned)(code & 0x7f));
}

static uint64_t user_syscalls;       /* every system call made so far (hwcount) */

/* hwcount: the platform's transition counts and the kernel's own syscall count. */
static long sys_hwcount(uint64_t uva)
{
    struct privops_hw hw;
    privops->hw_counts(&hw);
    struct hos_hwcount c = { .syscalls = user_syscalls + hw.hypercalls,
                             .user_syscalls = user_syscalls, .hypercalls = hw.hypercalls,
                             .exceptions = hw.exceptions, .cr3_loads = hw.cr3_loads,
                             .tlb_flushes = hw.tlb_flushes };
    return copy_to_user(&cur->vm, uva, &c, sizeof(c)) ? -HOS_EFAULT : 0;
}

void proc_syscall(struct guest_regs *r, struct hako_trap_frame *f)
{
    user_syscalls++;
    uint64_t a0 = r->rdi, a1 = r->rsi, a2 = r->rdx, a3 = r->r10;
    int on_hv = privops->on_hypervisor;   /* domains exist only on a hypervisor */
    long rc;
    switch (f->rax) {
    case HOS_SYS_exit:        proc_exit(HOS_W_EXITED((int)(a0 & 0xff)));
    case HOS_SYS_read:        rc = sys_rw(a0, a1, a2, 0); break;
    case HOS_SYS_write:       rc = sys_rw(a0, a1, a2, 1); break;
    case HOS_SYS_getpid:      rc = cur->pid; break;
    case HOS_SYS_getppid:     rc = cur->ppid; break;
    case HOS_SYS_open:        rc = sys_open(a0, a1, a2); break;
    case HOS_SYS_close:       rc = sys_close(a0); break;
    case HOS_SYS_lseek: {
        struct file *fl = fd_file(a0);
        rc = fl ? file_lseek(fl, (int64_t)a1, (int)a2) : -HOS_EBADF;
        break;
    }
    case HOS_SYS_fstat:       rc = sys_stat(a0, a1, 1); break;
    case HOS_SYS_stat:        rc = sys_stat(a0, a1, 0); break;
    case HOS_SYS_unlink:
    case HOS_SYS_mkdir:
    case HOS_SYS_chdir:       rc = sys_path_op(f->rax, a0, a1); break;
    case HOS_SYS_readdir:     rc = sys_readdir(a0, a1); break;
    case HOS_SYS_dup:         rc = sys_dup2(a0, 0, 1); break;
    case HOS_SYS_dup2:        rc = sys_dup2(a0, a1, 0); break;
    case HOS_SYS_pipe:        rc = sys_pipe(a0); break;
    case HOS_SYS_getcwd:      rc = sys_getcwd(a0, a1); break;
    case HOS_SYS_fork:        rc = proc_fork(r, f); break;
    case HOS_SYS_execve:      rc = exec_user(r, f, a0, a1, a2);
                              if (rc == 0)
                                  return;       /* rax is the new program's (0) */
                              break;
    case HOS_SYS_waitpid:     rc = proc_waitpid((int)a0, a1, (int)a2); break;
    case HOS_SYS_kill:        rc = proc_kill((int)a0, (int)a1); break;
    case HOS_SYS_brk:         rc = sys_brk(a0); break;
    case HOS_SYS_mmap:        rc = sys_mmap(a1, a2, a3, r->r8); break;
    case HOS_SYS_munmap:      rc = sys_munmap(a0, a1); break;
    case HOS_SYS_clock_gettime: rc = sys_time(a0, a1); break;
    case HOS_SYS_gettimeofday: rc = sys_time(HOS_CLOCK_REALTIME, a0); break;
    case HOS_SYS_nanosleep:   rc = sys_nanosleep(a0); break;
    case HOS_SYS_uname:       rc = sys_uname(a0); break;
    case HOS_SYS_signal:      rc = proc_signal((int)a0, (int)a1); break;
    case HOS_SYS_meminfo:     rc = sys_meminfo(a0); break;
    case HOS_SYS_procinfo:    rc = sys_procinfo(a0, a1); break;
    case HOS_SYS_setpgid:     rc = proc_setpgid((int)a0, (int)a1); break;
    case HOS_SYS_getpgid:     rc = proc_getpgid((int)a0); break;
    case HOS_SYS_tcsetpgrp:   rc = proc_tcsetpgrp((int)a0); break;
    case HOS_SYS_ttymode:     rc = a0 <= HOS_TTY_RAW ? (tty_set_mode((int)a0), 0) : -HOS_EINVAL;
                              break;
    case HOS_SYS_sched_yield: proc_yield(); rc = 0; break;
    case HOS_SYS_reboot:      rc = sys_reboot(a0, a1); break;
    case HOS_SYS_hwcount:     rc = sys_hwcount(a0); break;
    case HOS_SYS_sync:        rc = fs_sync(); break;
    case HOS_SYS_domctl:      rc = on_hv ? dom_domctl(a0, a1, a2) : -HOS_ENOSYS; break;
    case HOS_SYS_console_attach: rc = on_hv ? dom_console_attach(a0) : -HOS_ENOSYS; break;
    case HOS_SYS_domain_create: rc = on_hv ? dom_create(a0) : -HOS_ENOSYS; break;
    default:                  rc = -HOS_ENOSYS;
    }
    f->rax = (uint64_t)rc;
}
