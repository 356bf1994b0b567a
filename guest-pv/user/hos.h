/*
 * guest-pv/user/hos.h: the system-call interface of the hako reference guest OS ("hos"),
 * shared by its kernel (guest-pv/) and its user space (guest-pv/user/, dom0-tools/).
 * This is the guest OS's own interface, not the hypervisor ABI (that is ABI.md).
 *
 * Calling convention (like Linux x86-64): `syscall` with rax = number, arguments in
 * rdi, rsi, rdx, r10, r8, r9; the result comes back in rax, a negative HOS_E* code on
 * failure. rcx and r11 are clobbered, every other register is preserved.
 *
 * Error numbers, open flags, mode bits, signal numbers and the wait status encoding
 * have newlib's values, so the C library glue passes them through unchanged.
 * Every structure has fixed-width fields and the same layout for kernel and user.
 */
#ifndef HOS_H
#define HOS_H

#include <stdint.h>

/* ---- system-call numbers ---------------------------------------------------------- */
#define HOS_SYS_exit           0  /* exit(status): ends the process; status & 0xff */
#define HOS_SYS_write          1  /* write(fd, buf, len) -> bytes written */
#define HOS_SYS_getpid         2  /* getpid() */
#define HOS_SYS_read           3  /* read(fd, buf, len) -> bytes read, 0 at end of file */
#define HOS_SYS_open           4  /* open(path, flags, mode) -> fd */
#define HOS_SYS_close          5  /* close(fd) */
#define HOS_SYS_lseek          6  /* lseek(fd, offset, whence) -> new offset */
#define HOS_SYS_fstat          7  /* fstat(fd, struct hos_stat *) */
#define HOS_SYS_stat           8  /* stat(path, struct hos_stat *) */
#define HOS_SYS_unlink         9  /* unlink(path): files and empty directories */
#define HOS_SYS_mkdir         10  /* mkdir(path, mode) */
#define HOS_SYS_readdir       11  /* readdir(fd, struct hos_dirent *) -> 1 entry, 0 at end */
#define HOS_SYS_dup           12  /* dup(fd) -> lowest free fd */
#define HOS_SYS_dup2          13  /* dup2(oldfd, newfd) -> newfd */
#define HOS_SYS_pipe          14  /* pipe(int32_t fds[2]): fds[0] reads, fds[1] writes */
#define HOS_SYS_chdir         15  /* chdir(path) */
#define HOS_SYS_getcwd        16  /* getcwd(buf, size) -> length without the NUL */
#define HOS_SYS_fork          17  /* fork() -> child pid in the parent, 0 in the child */
#define HOS_SYS_execve        18  /* execve(path, argv, envp): returns only on failure */
#define HOS_SYS_waitpid       19  /* waitpid(pid, int32_t *status, options) -> pid */
#define HOS_SYS_kill          20  /* kill(pid, sig); pid < 0 = the process group -pid */
#define HOS_SYS_getppid       21  /* getppid() */
#define HOS_SYS_brk           22  /* brk(addr) -> the break after the call (0 = query) */
#define HOS_SYS_mmap          23  /* mmap(addr, len, prot, flags, fd, off) -> address */
#define HOS_SYS_munmap        24  /* munmap(addr, len) */
#define HOS_SYS_clock_gettime 25  /* clock_gettime(clock, struct hos_timespec *) */
#define HOS_SYS_gettimeofday  26  /* gettimeofday(struct hos_timespec *): sec and nsec */
#define HOS_SYS_nanosleep     27  /* nanosleep(const struct hos_timespec *) */
#define HOS_SYS_uname         28  /* uname(struct hos_utsname *) */
#define HOS_SYS_signal        29  /* signal(sig, HOS_SIG_DFL or HOS_SIG_IGN) -> old one */
#define HOS_SYS_meminfo       30  /* meminfo(struct hos_meminfo *) */
#define HOS_SYS_procinfo      31  /* procinfo(pid, struct hos_procinfo *): the process with
                                     the lowest pid >= pid -> its pid, -HOS_ESRCH after the last */
#define HOS_SYS_setpgid       32  /* setpgid(pid, pgid); 0 = self / pgid = pid */
#define HOS_SYS_getpgid       33  /* getpgid(pid); 0 = self */
#define HOS_SYS_tcsetpgrp     34  /* tcsetpgrp(pgid): the console's foreground group (^C) */
#define HOS_SYS_ttymode       35  /* ttymode(HOS_TTY_*): console line discipline on or off */
#define HOS_SYS_sched_yield   36  /* sched_yield() */
#define HOS_SYS_reboot        37  /* reboot(HOS_REBOOT_*, code): this domain (dom0: the
                                     machine) stops after a sync; does not return */
#define HOS_SYS_domctl        38  /* domctl(cmd, arg, len): a hypervisor domain-control
                                     operation (hypercall-abi/hako/domctl.h), control
                                     domain only. GETINFO and SET_SCHED: arg points to the
                                     structure and len is exactly its size (copied in and
                                     back out); DESTROY, PAUSE, UNPAUSE, NEXT: arg is the
                                     number and len 0; anything else (CREATE included:
                                     use domain_create) -HOS_EINVAL */
#define HOS_SYS_console_attach 39 /* console_attach(domid): forward the console to and from
                                     domain domid's console ring until the user types ^]
                                     (0x1d); 0 after detaching */
#define HOS_SYS_domain_create 40  /* domain_create(struct hos_domain_create *) -> domid:
                                     builds a domU from an image and initrd in files, with
                                     a console ring served by this kernel */
#define HOS_SYS_hwcount       41  /* hwcount(struct hos_hwcount *): hardware transitions
                                     so far, for benchmarks */
#define HOS_SYS_sync          42  /* sync(): write every file system's changes to its disk */
#define HOS_NR_SYSCALLS       43

/* ---- limits ------------------------------------------------------------------------ */
#define HOS_PATH_MAX    256     /* bytes in a path, with the NUL */
#define HOS_NAME_MAX    60      /* bytes in one path component, without the NUL */
#define HOS_ARG_MAX     (16 * 1024)  /* bytes of argv + envp strings and pointers */
#define HOS_OPEN_MAX    32      /* file descriptors per process */
#define HOS_PROC_MAX    64      /* processes at once */

/* ---- error numbers (newlib's values) ------------------------------------------------ */
#define HOS_EPERM     1
#define HOS_ENOENT    2
#define HOS_ESRCH     3
#define HOS_EINTR     4
#define HOS_EIO       5
#define HOS_ENXIO     6     /* no such device or address (a disk region that cannot be had) */
#define HOS_E2BIG     7
#define HOS_ENOEXEC   8
#define HOS_EBADF     9
#define HOS_ECHILD   10
#define HOS_EAGAIN   11
#define HOS_ENOMEM   12
#define HOS_EACCES   13
#define HOS_EFAULT   14
#define HOS_EBUSY    16
#define HOS_EEXIST   17
#define HOS_ENODEV   19     /* no such device (no disk to give a domU) */
#define HOS_ENOTDIR  20
#define HOS_EISDIR   21
#define HOS_EINVAL   22
#define HOS_EMFILE   24
#define HOS_ENOTTY   25
#define HOS_EFBIG    27
#define HOS_ENOSPC   28
#define HOS_ESPIPE   29
#define HOS_EROFS    30
#define HOS_EPIPE    32
#define HOS_ERANGE   34
#define HOS_ENOSYS   88
#define HOS_ENOTEMPTY 90
#define HOS_ENAMETOOLONG 91

/* ---- open flags (newlib's values) -------------------------------------------------- */
#define HOS_O_RDONLY    0x0000
#define HOS_O_WRONLY    0x0001
#define HOS_O_RDWR      0x0002
#define HOS_O_ACCMODE   0x0003
#define HOS_O_APPEND    0x0008
#define HOS_O_CREAT     0x0200
#define HOS_O_TRUNC     0x0400
#define HOS_O_EXCL      0x0800
#define HOS_O_DIRECTORY 0x200000

#define HOS_SEEK_SET 0
#define HOS_SEEK_CUR 1
#define HOS_SEEK_END 2

/* ---- mode bits (newlib's values) --------------------------------------------------- */
#define HOS_S_IFMT   0170000
#define HOS_S_IFDIR  0040000
#define HOS_S_IFCHR  0020000
#define HOS_S_IFIFO  0010000
#define HOS_S_IFREG  0100000

/* ---- signals (newlib's numbers); only the default action or ignoring exist --------- */
#define HOS_SIGINT   2
#define HOS_SIGKILL  9
#define HOS_SIGTERM 15
#define HOS_NSIG    32
#define HOS_SIG_DFL  0          /* SIGINT/SIGTERM/SIGKILL end the process */
#define HOS_SIG_IGN  1          /* ignored (not possible for SIGKILL: -HOS_EINVAL) */

/* ---- wait status (the usual encoding: newlib's WIFEXITED etc. decode it) ----------- */
#define HOS_W_EXITED(code)   (((code) & 0xff) << 8)   /* exit(code) */
#define HOS_W_SIGNALED(sig)  ((sig) & 0x7f)           /* ended by signal sig */
#define HOS_WNOHANG  1

/* ---- memory mapping (anonymous, private only) --------------------------------------- */
#define HOS_PROT_READ   1
#define HOS_PROT_WRITE  2
#define HOS_PROT_EXEC   4
#define HOS_MAP_PRIVATE   0x02
#define HOS_MAP_ANONYMOUS 0x20

/* ---- clocks ------------------------------------------------------------------------ */
#define HOS_CLOCK_REALTIME  0   /* since 1970 UTC (the hypervisor's RTC; since boot if none) */
#define HOS_CLOCK_MONOTONIC 1   /* since boot */

/* ---- tty modes, reboot kinds --------------------------------------------------------- */
#define HOS_TTY_COOKED  0       /* line editing, echo, ^C/^U/backspace (the default) */
#define HOS_TTY_RAW     1       /* bytes as typed, no echo, no signals */
#define HOS_REBOOT_POWEROFF 0
#define HOS_REBOOT_REBOOT   1

/* ---- structures ------------------------------------------------------------------- */
struct hos_stat {
    uint64_t ino;
    uint32_t mode;              /* HOS_S_IF* | permission bits */
    uint32_t nlink;
    uint64_t size;              /* bytes (a directory: 0 in ramfs, its blocks on a disk) */
    uint64_t mtime_ns;          /* last modification, CLOCK_REALTIME in ns */
};

struct hos_dirent {
    uint64_t ino;
    uint32_t mode;              /* HOS_S_IF* of the entry */
    uint32_t name_len;
    char     name[HOS_NAME_MAX + 4];  /* NUL-terminated */
};

struct hos_timespec {
    int64_t sec;
    int64_t nsec;               /* 0..999999999 */
};

struct hos_utsname {
    char sysname[32];           /* "hako" */
    char nodename[32];          /* "dom0", or the domain's name */
    char release[32];           /* the guest OS release */
    char version[64];           /* hypervisor version string */
    char machine[32];           /* "x86_64" */
};

/* hwcount: transitions into ring 0 since boot, as the platform counts them (the
 * hypervisor for a kernel on hako, the kernel itself natively); differences between
 * two calls are what a workload cost. */
struct hos_hwcount {
    uint64_t syscalls;        /* syscall instructions into ring 0: user_syscalls + hypercalls */
    uint64_t user_syscalls;   /* system calls user programs made */
    uint64_t hypercalls;      /* hypercalls the kernel made (0 natively) */
    uint64_t exceptions;      /* CPU exceptions (vectors 0-31) taken in ring 0 */
    uint64_t cr3_loads;       /* address-space switches */
    uint64_t tlb_flushes;     /* TLB flushes, whole or one page */
};
_Static_assert(sizeof(struct hos_hwcount) == 48, "hos_hwcount layout");

struct hos_meminfo {
    uint64_t page_size;         /* 4096 */
    uint64_t total_pages;       /* pages the domain owns */
    uint64_t free_pages;        /* pages free for processes, files and the kernel */
    uint64_t kernel_pages;      /* pages the kernel holds (heap, tables) */
    uint64_t file_pages;        /* pages holding file data */
};

/* hos_procinfo.state */
#define HOS_PROC_RUNNING  0     /* running or runnable */
#define HOS_PROC_SLEEPING 1
#define HOS_PROC_ZOMBIE   2

struct hos_procinfo {
    int32_t  pid, ppid, pgid;
    uint32_t state;             /* HOS_PROC_* */
    uint64_t pages;             /* user pages mapped */
    uint64_t cpu_ns;            /* CPU time used */
    char     name[32];          /* program name (argv[0]'s last component) */
};

struct hos_domain_create {
    uint64_t image_path;        /* IN: user pointer to the kernel image's path */
    uint64_t initrd_path;       /* IN: user pointer to an initrd's path, 0 = none */
    uint64_t cmdline;           /* IN: user pointer to the command line, 0 = empty */
    uint64_t mem_pages;         /* IN: memory, 0 = 4096 pages (16 MiB) */
    char     name[32];          /* IN: NUL-terminated */
    uint16_t weight, cap;       /* IN: as for HAKO_DOMCTL_CREATE (0 = defaults) */
    uint32_t _pad0;             /* IN: zero */
    uint64_t disk_sectors;      /* IN: a virtual disk of this many 512-byte sectors, a
                                   region of this kernel's disk; 0 = none */
    uint64_t disk_start;        /* IN: its first sector on this kernel's disk, or
                                   HOS_DISK_ANYWHERE: the first free place */
};
#define HOS_DISK_ANYWHERE UINT64_MAX

#endif /* HOS_H */
