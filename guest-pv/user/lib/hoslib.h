/*
 * guest-pv/user/lib/hoslib.h: what the hako guest OS's user-space library (libhos.a)
 * offers beyond newlib's own headers: the raw system call, the POSIX-ish calls newlib
 * does not declare for this target (mmap, uname, a directory reader), and wrappers for
 * the hako-specific system calls (memory and process information, domain control,
 * consoles, reboot). Every function here follows the libc convention: on failure it
 * returns -1 (MAP_FAILED for mmap, NULL for pointers) and sets errno.
 *
 * User programs include newlib's headers as usual (<stdio.h>, <unistd.h>, ...) and this
 * one for the rest. The kernel interface itself (numbers, structures) is ../hos.h.
 */
#ifndef HOSLIB_H
#define HOSLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "hos.h"

/* newlib declares the POSIX timer calls only where _POSIX_TIMERS is defined, which it is
 * not for this target: the same prototypes here, and CLOCK_MONOTONIC with newlib's value. */
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC ((clockid_t)4)
#endif
int clock_gettime(clockid_t clock_id, struct timespec *tp);
int nanosleep(const struct timespec *rqtp, struct timespec *rmtp);

/* Issue system call nr with six arguments; returns rax (negative HOS_E* on failure). */
static inline long hos_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* Shorthands for fewer arguments (the unused registers are passed as zero). */
#define hos_syscall0(nr)             hos_syscall6((nr), 0, 0, 0, 0, 0, 0)
#define hos_syscall1(nr, a)          hos_syscall6((nr), (long)(a), 0, 0, 0, 0, 0)
#define hos_syscall2(nr, a, b)       hos_syscall6((nr), (long)(a), (long)(b), 0, 0, 0, 0)
#define hos_syscall3(nr, a, b, c)    hos_syscall6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* Turn a raw result into the libc convention: -1 with errno set, else the value. */
long hos_result(long ret);

/* ---- memory mapping (anonymous, private only) ---------------------------------------- */
#define PROT_NONE     0
#define PROT_READ     HOS_PROT_READ
#define PROT_WRITE    HOS_PROT_WRITE
#define PROT_EXEC     HOS_PROT_EXEC
#define MAP_PRIVATE   HOS_MAP_PRIVATE
#define MAP_ANONYMOUS HOS_MAP_ANONYMOUS
#define MAP_ANON      HOS_MAP_ANONYMOUS
#define MAP_FAILED    ((void *)-1)

/* Map len bytes of zeroed anonymous memory; returns its address or MAP_FAILED. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
/* Unmap [addr, addr + len). */
int munmap(void *addr, size_t len);

/* ---- system identity, scheduling ------------------------------------------------------ */
/* Let another runnable process have the CPU (newlib declares it only for some targets). */
int sched_yield(void);
/* Fill *buf with the system's names ("hako", the node name "dom0" or a domU's name, ...). */
int uname(struct hos_utsname *buf);

/* ---- directories: newlib's <dirent.h> is not available for this target ---------------- */
typedef struct hos_dir {
    int fd;                     /* the directory, opened with O_DIRECTORY */
    struct hos_dirent entry;    /* the entry hos_readdir returned last */
} HOS_DIR;

/* Open directory path for reading its entries; NULL with errno on failure. */
HOS_DIR *hos_opendir(const char *path);
/* The next entry (valid until the next call), or NULL at the end (errno unchanged) or on error (errno set). */
struct hos_dirent *hos_readdir(HOS_DIR *dir);
/* Close the directory and free dir. */
int hos_closedir(HOS_DIR *dir);

/* ---- hako-specific system calls ---------------------------------------------------- */
/* Fill *info with the domain's memory counters. */
int hos_meminfo(struct hos_meminfo *info);
/* Describe the process with the lowest pid >= pid: returns its pid, -1 with errno
 * ESRCH after the last one. Iterate with pid = previous + 1. */
int hos_procinfo(int pid, struct hos_procinfo *info);
/* One hypervisor domain-control operation (hypercall-abi/hako/domctl.h): arg points to a
 * structure of len bytes, or is passed through as a number when len is 0. */
long hos_domctl(unsigned cmd, uint64_t arg, size_t len);
/* Connect the console to domain domid's console until the user types ^] (0x1d). */
int hos_console_attach(int domid);
/* Build and start a domU from files as *req describes; returns its domid. */
int hos_domain_create(const struct hos_domain_create *req);
/* Power off (HOS_REBOOT_POWEROFF) or reboot (HOS_REBOOT_REBOOT) with code: control
 * domain only; returns -1 (EPERM) elsewhere, otherwise does not return. */
int hos_reboot(int kind, int code);
/* Write every file system's changes (ext2 at /disk) to its disk: 0 or -1. */
int hos_sync(void);
/* Switch the console's line discipline: HOS_TTY_COOKED or HOS_TTY_RAW. */
int hos_ttymode(int mode);

#endif /* HOSLIB_H */
