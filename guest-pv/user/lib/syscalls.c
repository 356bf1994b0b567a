/*
 * guest-pv/user/lib/syscalls.c: the glue between newlib and the hako guest OS kernel.
 *
 * newlib was built with --disable-newlib-supplied-syscalls, so its reentrant wrappers
 * (_read_r, _sbrk_r, ...) call the plain names defined here: read write open close
 * lseek fstat stat isatty getpid kill sbrk fork execve wait times gettimeofday unlink
 * link _exit. After them come the POSIX functions newlib has no implementation of for
 * this target (waitpid, pipe, dup2, nanosleep, clock_gettime, signal, ...) and the
 * hako-specific calls declared in hoslib.h.
 *
 * The kernel uses newlib's errno, flag, mode, signal and wait-status values, so most
 * calls pass their arguments straight through; the exceptions (struct stat, clock ids,
 * timevals) convert explicitly. Every call returns -1 with errno = -result on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "hoslib.h"

#define SET_ERRNO(e) (errno = (e))

/* Turn a raw result into the libc convention: -1 with errno set, else the value. */
long hos_result(long ret)
{
    if (ret < 0 && ret > -4096) {
        SET_ERRNO((int)-ret);
        return -1;
    }
    return ret;
}

/* Fail with errno e: the libc convention for errors found in user space. */
static long fail(int e)
{
    SET_ERRNO(e);
    return -1;
}

/* ======================= the system calls newlib needs ============================== */

/* End the process with status & 0xff; never returns. */
void _exit(int status)
{
    for (;;)
        hos_syscall1(HOS_SYS_exit, status);
}

/* Read up to len bytes from fd into buf. */
_READ_WRITE_RETURN_TYPE read(int fd, void *buf, size_t len)
{
    return hos_result(hos_syscall3(HOS_SYS_read, fd, buf, len));
}

/* Write len bytes from buf to fd. */
_READ_WRITE_RETURN_TYPE write(int fd, const void *buf, size_t len)
{
    return hos_result(hos_syscall3(HOS_SYS_write, fd, buf, len));
}

/* Open path with flags (O_*); mode applies when O_CREAT creates the file. */
int open(const char *path, int flags, ...)
{
    int mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return (int)hos_result(hos_syscall3(HOS_SYS_open, path, flags, mode));
}

/* Close file descriptor fd. */
int close(int fd)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_close, fd));
}

/* Move fd's offset (SEEK_SET/CUR/END); returns the new offset. */
off_t lseek(int fd, off_t offset, int whence)
{
    return hos_result(hos_syscall3(HOS_SYS_lseek, fd, offset, whence));
}

/* Translate the kernel's stat record into newlib's struct stat. */
static void stat_from_hos(struct stat *out, const struct hos_stat *in)
{
    memset(out, 0, sizeof *out);
    out->st_ino = (ino_t)in->ino;
    out->st_mode = (mode_t)in->mode;
    out->st_nlink = (nlink_t)in->nlink;
    out->st_size = (off_t)in->size;
    out->st_mtim.tv_sec = (time_t)(in->mtime_ns / 1000000000u);
    out->st_mtim.tv_nsec = (long)(in->mtime_ns % 1000000000u);
    out->st_atim = out->st_mtim;
    out->st_ctim = out->st_mtim;
    out->st_blksize = 4096;
    out->st_blocks = (blkcnt_t)((in->size + 511) / 512);
}

/* Describe the open file fd. */
int fstat(int fd, struct stat *st)
{
    struct hos_stat hs;
    long ret = hos_result(hos_syscall2(HOS_SYS_fstat, fd, &hs));
    if (ret == 0)
        stat_from_hos(st, &hs);
    return (int)ret;
}

/* Describe the file at path. */
int stat(const char *path, struct stat *st)
{
    struct hos_stat hs;
    long ret = hos_result(hos_syscall2(HOS_SYS_stat, path, &hs));
    if (ret == 0)
        stat_from_hos(st, &hs);
    return (int)ret;
}

/* 1 when fd is the console (a character device), else 0 with errno set. */
int isatty(int fd)
{
    struct hos_stat hs;
    long ret = hos_syscall2(HOS_SYS_fstat, fd, &hs);
    if (ret < 0) {
        SET_ERRNO((int)-ret);
        return 0;
    }
    if ((hs.mode & HOS_S_IFMT) != HOS_S_IFCHR) {
        SET_ERRNO(ENOTTY);
        return 0;
    }
    return 1;
}

/* The calling process's id. */
pid_t getpid(void)
{
    return (pid_t)hos_syscall0(HOS_SYS_getpid);
}

/* Send signal sig to process pid (pid < 0: to the process group -pid). */
int kill(pid_t pid, int sig)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_kill, pid, sig));
}

static uintptr_t initial_break;     /* the break at start-up: sbrk never goes below it */
static uintptr_t current_break;

/* Grow (or shrink) the heap by incr bytes; returns the old break or (void *)-1. */
void *sbrk(ptrdiff_t incr)
{
    if (current_break == 0) {
        long now = hos_syscall1(HOS_SYS_brk, 0);
        if (now <= 0)
            return (void *)fail(ENOMEM);
        initial_break = current_break = (uintptr_t)now;
    }
    uintptr_t old = current_break;
    uintptr_t want = old + (uintptr_t)incr;
    if ((incr > 0 && want < old) || (incr < 0 && (want > old || want < initial_break)))
        return (void *)fail(incr > 0 ? ENOMEM : EINVAL);
    if (incr == 0)
        return (void *)old;
    long got = hos_syscall1(HOS_SYS_brk, want);
    if (got < 0)
        return (void *)hos_result(got);
    if ((uintptr_t)got != want)                  /* the kernel kept the old break */
        return (void *)fail(ENOMEM);
    current_break = want;
    return (void *)old;
}

/* Duplicate the calling process; 0 in the child, the child's pid in the parent. */
pid_t fork(void)
{
    return (pid_t)hos_result(hos_syscall0(HOS_SYS_fork));
}

/* Replace the process image with the program at path; returns only on failure. */
int execve(const char *path, char *const argv[], char *const envp[])
{
    return (int)hos_result(hos_syscall3(HOS_SYS_execve, path, argv, envp));
}

/* Wait for a child process to end, with the kernel's options (WNOHANG). */
pid_t waitpid(pid_t pid, int *status, int options)
{
    return (pid_t)hos_result(hos_syscall3(HOS_SYS_waitpid, pid, status, options));
}

/* Wait for any child process to end. */
pid_t wait(int *status)
{
    return waitpid(-1, status, 0);
}

/* Read clock hos_clock (HOS_CLOCK_*) into *ts as seconds and nanoseconds. */
static int hos_clock(int hos_clock_id, struct hos_timespec *ts)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_clock_gettime, hos_clock_id, ts));
}

/* Process CPU time in clock ticks (no separate system time, nothing for children);
 * returns ticks since boot. */
clock_t times(struct tms *buf)
{
    struct hos_timespec now;
    if (hos_clock(HOS_CLOCK_MONOTONIC, &now) < 0)
        return (clock_t)-1;
    const uint64_t ns_per_tick = 1000000000u / CLOCKS_PER_SEC;
    if (buf) {
        struct hos_procinfo self;
        pid_t pid = getpid();
        memset(buf, 0, sizeof *buf);
        if (hos_procinfo(pid, &self) == pid)
            buf->tms_utime = (clock_t)(self.cpu_ns / ns_per_tick);
    }
    return (clock_t)(((uint64_t)now.sec * 1000000000u + (uint64_t)now.nsec) / ns_per_tick);
}

/* The real-time clock as seconds and microseconds; tz is ignored. */
int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    struct hos_timespec now;
    if (hos_result(hos_syscall1(HOS_SYS_gettimeofday, &now)) < 0)
        return -1;
    if (tv) {
        tv->tv_sec = (time_t)now.sec;
        tv->tv_usec = (suseconds_t)(now.nsec / 1000);
    }
    return 0;
}

/* Remove a file or an empty directory. */
int unlink(const char *path)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_unlink, path));
}

/* Hard links do not exist in the guest OS's file system. */
int link(const char *existing, const char *new_path)
{
    (void)existing;
    (void)new_path;
    return (int)fail(ENOSYS);
}

/* ======================= POSIX calls newlib lacks here ============================== */

/* Create an anonymous pipe: fds[0] reads, fds[1] writes. */
int pipe(int fds[2])
{
    return (int)hos_result(hos_syscall1(HOS_SYS_pipe, fds));
}

/* Duplicate fd onto the lowest free descriptor. */
int dup(int fd)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_dup, fd));
}

/* Duplicate oldfd onto newfd (closing newfd first). */
int dup2(int oldfd, int newfd)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_dup2, oldfd, newfd));
}

/* Change the working directory. */
int chdir(const char *path)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_chdir, path));
}

/* Copy the working directory's path into buf (or a malloc'ed buffer when buf is NULL). */
char *getcwd(char *buf, size_t size)
{
    char *mine = NULL;
    if (!buf) {
        size = size ? size : HOS_PATH_MAX;
        buf = mine = malloc(size);
        if (!buf)
            return NULL;
    }
    if (hos_result(hos_syscall2(HOS_SYS_getcwd, buf, size)) < 0) {
        free(mine);
        return NULL;
    }
    return buf;
}

/* Create directory path. */
int mkdir(const char *path, mode_t mode)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_mkdir, path, mode));
}

/* Remove the empty directory path (ENOTDIR for anything else). */
int rmdir(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return (int)fail(ENOTDIR);
    return unlink(path);
}

/* The parent process's id. */
pid_t getppid(void)
{
    return (pid_t)hos_syscall0(HOS_SYS_getppid);
}

/* Put process pid (0 = self) into process group pgid (0 = a new group numbered pid). */
int setpgid(pid_t pid, pid_t pgid)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_setpgid, pid, pgid));
}

/* The process group of pid (0 = self). */
pid_t getpgid(pid_t pid)
{
    return (pid_t)hos_result(hos_syscall1(HOS_SYS_getpgid, pid));
}

/* The calling process's process group. */
pid_t getpgrp(void)
{
    return getpgid(0);
}

/* Make the calling process the leader of a new process group. */
int setpgrp(void)
{
    return setpgid(0, 0);
}

/* Make pgrp the console's foreground process group (the one ^C reaches); fd must be
 * the console. */
int tcsetpgrp(int fd, pid_t pgrp)
{
    if (!isatty(fd))
        return -1;
    return (int)hos_result(hos_syscall1(HOS_SYS_tcsetpgrp, pgrp));
}

/* Give up the CPU to another runnable process. */
int sched_yield(void)
{
    return (int)hos_result(hos_syscall0(HOS_SYS_sched_yield));
}

/* Sleep for *req; the guest OS has no signal handlers, so nothing remains in *rem. */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (req->tv_nsec < 0 || req->tv_nsec > 999999999 || req->tv_sec < 0)
        return (int)fail(EINVAL);
    struct hos_timespec ts = { .sec = req->tv_sec, .nsec = req->tv_nsec };
    if (hos_result(hos_syscall1(HOS_SYS_nanosleep, &ts)) < 0)
        return -1;
    if (rem)
        rem->tv_sec = rem->tv_nsec = 0;
    return 0;
}

/* Sleep for seconds; returns the seconds left (always 0). */
unsigned sleep(unsigned seconds)
{
    struct timespec ts = { .tv_sec = seconds, .tv_nsec = 0 };
    nanosleep(&ts, NULL);
    return 0;
}

/* Sleep for usec microseconds. */
int usleep(useconds_t usec)
{
    struct timespec ts = { .tv_sec = (time_t)(usec / 1000000), .tv_nsec = (long)(usec % 1000000) * 1000 };
    return nanosleep(&ts, NULL);
}

/* Read CLOCK_REALTIME or CLOCK_MONOTONIC (newlib's ids, mapped to the kernel's). */
int clock_gettime(clockid_t clock_id, struct timespec *tp)
{
    int hos_id;
    if (clock_id == CLOCK_REALTIME || clock_id == (clockid_t)0)   /* 0: REALTIME_COARSE */
        hos_id = HOS_CLOCK_REALTIME;
    else if (clock_id == CLOCK_MONOTONIC)
        hos_id = HOS_CLOCK_MONOTONIC;
    else
        return (int)fail(EINVAL);
    struct hos_timespec ts;
    if (hos_clock(hos_id, &ts) < 0)
        return -1;
    tp->tv_sec = (time_t)ts.sec;
    tp->tv_nsec = (long)ts.nsec;
    return 0;
}

/* Set sig's action to SIG_DFL or SIG_IGN (the only two the guest OS has); returns the
 * previous one, SIG_ERR with errno EINVAL for a handler function. */
_sig_func_ptr signal(int sig, _sig_func_ptr action)
{
    long hos_action;
    if (action == SIG_DFL)
        hos_action = HOS_SIG_DFL;
    else if (action == SIG_IGN)
        hos_action = HOS_SIG_IGN;
    else {
        SET_ERRNO(EINVAL);
        return SIG_ERR;
    }
    long old = hos_result(hos_syscall2(HOS_SYS_signal, sig, hos_action));
    if (old < 0)
        return SIG_ERR;
    return old == HOS_SIG_IGN ? SIG_IGN : SIG_DFL;
}

/* Send sig to the calling process (abort() uses this). */
int raise(int sig)
{
    return kill(getpid(), sig);
}

/* ======================= hoslib.h ===================================================== */

/* Map len bytes of zeroed anonymous memory; returns its address or MAP_FAILED. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    long ret = hos_syscall6(HOS_SYS_mmap, (long)addr, (long)len, prot, flags, fd, offset);
    if (hos_result(ret) == -1)
        return MAP_FAILED;
    return (void *)ret;
}

/* Unmap [addr, addr + len). */
int munmap(void *addr, size_t len)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_munmap, addr, len));
}

/* Fill *buf with the system's names. */
int uname(struct hos_utsname *buf)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_uname, buf));
}

/* Open directory path for reading its entries. */
HOS_DIR *hos_opendir(const char *path)
{
    int fd = open(path, O_RDONLY | HOS_O_DIRECTORY);
    if (fd < 0)
        return NULL;
    HOS_DIR *dir = calloc(1, sizeof *dir);
    if (!dir) {
        close(fd);
        SET_ERRNO(ENOMEM);
        return NULL;
    }
    dir->fd = fd;
    return dir;
}

/* The next entry, or NULL at the end (errno unchanged) or on an error (errno set). */
struct hos_dirent *hos_readdir(HOS_DIR *dir)
{
    long ret = hos_result(hos_syscall2(HOS_SYS_readdir, dir->fd, &dir->entry));
    if (ret <= 0)
        return NULL;
    dir->entry.name[sizeof dir->entry.name - 1] = '\0';
    return &dir->entry;
}

/* Close the directory and free dir. */
int hos_closedir(HOS_DIR *dir)
{
    int ret = close(dir->fd);
    free(dir);
    return ret;
}

/* Fill *info with the domain's memory counters. */
int hos_meminfo(struct hos_meminfo *info)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_meminfo, info));
}

/* Describe the process with the lowest pid >= pid; returns its pid. */
int hos_procinfo(int pid, struct hos_procinfo *info)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_procinfo, pid, info));
}

/* One hypervisor domain-control operation. */
long hos_domctl(unsigned cmd, uint64_t arg, size_t len)
{
    return hos_result(hos_syscall3(HOS_SYS_domctl, cmd, arg, len));
}

/* Connect the console to domain domid's console until ^]. */
int hos_console_attach(int domid)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_console_attach, domid));
}

/* Build and start a domU; returns its domid. */
int hos_domain_create(const struct hos_domain_create *req)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_domain_create, req));
}

/* Power off or reboot the machine (control domain only). */
int hos_reboot(int kind, int code)
{
    return (int)hos_result(hos_syscall2(HOS_SYS_reboot, kind, code));
}

/* Write every file system's changes to its disk. */
int hos_sync(void)
{
    return (int)hos_result(hos_syscall0(HOS_SYS_sync));
}

/* Switch the console's line discipline. */
int hos_ttymode(int mode)
{
    return (int)hos_result(hos_syscall1(HOS_SYS_ttymode, mode));
}
