/*
 * guest-pv/user/bin/usertests.c: usertests [-1] [test...]: checks the guest OS kernel
 * from user space, results and error paths alike.
 *
 * Every test runs in a forked child; it passes when the child exits with status 0 (a
 * failed check prints where and exits 1; a crash shows as a signal). The tests run in a
 * scratch directory under /tmp, which is removed at the end.
 *
 * Leaks: the first round warms the kernel's caches (heap slabs, file pages of the
 * programs exec'd, page tables of this process's own heap), so its memory numbers are
 * not comparable. A second round then runs every test that passed again and compares
 * meminfo's free_pages before and after each test and across the whole round: any page
 * that does not come back is reported as a leak of that test, and fails the run. "-1"
 * skips the second round.
 *
 * Output: "usertests: <name> ok" per test, then exactly "ALL TESTS PASSED" or
 * "usertests: N FAILED"; the exit status is 0 only when everything passed.
 *
 * The file is longer than most: it is a list of independent tests, each short.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hako/domctl.h>

#include "hoslib.h"

/* A string literal as a writable array (argv and envp entries are char *). */
#define S(literal) ((char[]){ literal })

#define PAGE 4096
#define SELF_PATH "/bin/usertests"
#define KERNEL_ADDR ((void *)0xffffffff80000000ul)       /* the guest kernel's image */
#define NONCANONICAL_ADDR ((void *)0x0000800000000000ul)
#define UNMAPPED_ADDR ((void *)0x0000600000000000ul)     /* 96 TiB: nothing lives there */
#define MMAP_BASE 0x0000100000000000ul                   /* where mmap starts */
#define MMAP_END  0x00007fffffeff000ul                   /* below the stack's 1 MiB */

extern char **environ;

static const char *current_test = "?";

/* Report a failed check in the current test and end the test's process. */
static void fail_at(int line, const char *what)
{
    printf("usertests: %s: FAILED at line %d: %s (errno %d)\n", current_test, line, what, errno);
    fflush(stdout);
    _exit(1);
}

#define CHECK(cond) do { if (!(cond)) fail_at(__LINE__, #cond); } while (0)
/* A libc call that must fail with errno e. */
#define CHECK_ERR(call, e) CHECK((call) == -1 && errno == (e))
/* A raw system call that must return -e. */
#define CHECK_RAW(call, e) CHECK((call) == -(long)(e))

/* Fork; the child runs fn(arg) and exits with its result. Returns the child's pid. */
static pid_t spawn(int (*fn)(long), long arg)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

/* Wait for child pid and return its wait status. */
static int wait_status(pid_t pid)
{
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

/* Free pages of the domain right now. */
static long free_pages(void)
{
    struct hos_meminfo mi;
    return hos_meminfo(&mi) == 0 ? (long)mi.free_pages : -1;
}

/* Create file path holding len bytes of data. */
static void make_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    CHECK(close(fd) == 0);
}

/* ============================ files ====================================================== */

/* write, read, lseek and fstat on a file bigger than a page. */
static void test_files(void)
{
    static char out[10000], in[10000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + i / 251);
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, out, sizeof out) == (ssize_t)sizeof out);
    CHECK(lseek(fd, 0, SEEK_CUR) == (off_t)sizeof out);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, in, sizeof in) == (ssize_t)sizeof in);
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK(read(fd, in, sizeof in) == 0);                         /* end of file */
    CHECK(lseek(fd, 4090, SEEK_SET) == 4090);                    /* across a page boundary */
    CHECK(read(fd, in, 20) == 20 && memcmp(in, out + 4090, 20) == 0);
    CHECK(lseek(fd, -10, SEEK_END) == (off_t)sizeof out - 10);
    CHECK(read(fd, in, 100) == 10);
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, 0, 7), EINVAL);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)sizeof out);
    CHECK(stat("f", &st) == 0 && st.st_size == (off_t)sizeof out);
    CHECK(close(fd) == 0);
    fd = open("f", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(write(fd, "x", 1), EBADF);
    CHECK(close(fd) == 0);
    fd = open("f", O_WRONLY);
    CHECK(fd >= 0);
    CHECK_ERR(read(fd, in, 1), EBADF);
    CHECK(close(fd) == 0);
    CHECK(unlink("f") == 0);
    CHECK_ERR(stat("f", &st), ENOENT);
    CHECK_ERR(open("f", O_RDONLY), ENOENT);
    CHECK_ERR(unlink("f"), ENOENT);
    CHECK(stat("/", &st) == 0 && S_ISDIR(st.st_mode));
}

/* O_CREAT|O_EXCL, O_TRUNC, O_APPEND, and bad names. */
static void test_open_flags(void)
{
    char buf[32];
    struct stat st;
    make_file("g", "0123456789", 10);
    CHECK_ERR(open("g", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    int fd = open("g", O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "ab", 2) == 2);                              /* goes to the end anyway */
    CHECK(close(fd) == 0);
    fd = open("g", O_RDONLY);
    CHECK(read(fd, buf, sizeof buf) == 12 && memcmp(buf, "0123456789ab", 12) == 0);
    CHECK(close(fd) == 0);
    fd = open("g", O_RDWR | O_TRUNC);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(close(fd) == 0);
    fd = open("h", O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK_ERR(open("g/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
    CHECK_ERR(open("missing/x", O_CREAT | O_WRONLY, 0644), ENOENT);
    CHECK_ERR(open(".", O_WRONLY), EISDIR);
    CHECK_ERR(open("g", O_RDONLY | O_DIRECTORY), ENOTDIR);
    char name[HOS_NAME_MAX + 10];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CHECK_ERR(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    static char path[HOS_PATH_MAX + 20];
    for (size_t i = 0; i + 2 < sizeof path; i += 2)
        memcpy(path + i, "a/", 2);
    CHECK_ERR(open(path, O_RDONLY), ENAMETOOLONG);
    CHECK(unlink("g") == 0 && unlink("h") == 0);
}

/* A file unlinked while open stays readable through its descriptor. */
static void test_unlink_open(void)
{
    char buf[8];
    make_file("u", "still here", 10);
    int fd = open("u", O_RDWR);
    CHECK(fd >= 0);
    CHECK(unlink("u") == 0);
    struct stat st;
    CHECK_ERR(stat("u", &st), ENOENT);
    CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "still", 5) == 0);
    CHECK(write(fd, "!", 1) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 10);
    CHECK(close(fd) == 0);
    fd = open("u", O_CREAT | O_EXCL | O_RDWR, 0644);             /* the name is free again */
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK(close(fd) == 0 && unlink("u") == 0);
}

/* mkdir, chdir, getcwd, readdir, and removing directories. */
static void test_dirs(void)
{
    char cwd[HOS_PATH_MAX], here[HOS_PATH_MAX];
    CHECK(getcwd(here, sizeof here) == here);
    CHECK(mkdir("d", 0755) == 0);
    CHECK_ERR(mkdir("d", 0755), EEXIST);
    CHECK_ERR(mkdir("nodir/d", 0755), ENOENT);
    CHECK(chdir("d") == 0);
    CHECK(getcwd(cwd, sizeof cwd) == cwd);
    CHECK(strlen(cwd) == strlen(here) + 2 && strcmp(cwd + strlen(here), "/d") == 0);
    make_file("a", "1", 1);
    make_file("b", "22", 2);
    CHECK(mkdir("sub", 0755) == 0);
    CHECK(chdir("..") == 0);
    CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, here) == 0);
    int seen_a = 0, seen_b = 0, seen_sub = 0, others = 0;
    HOS_DIR *dir = hos_opendir("d");
    CHECK(dir != NULL);
    struct hos_dirent *de;
    while ((de = hos_readdir(dir)) != NULL) {
        CHECK(de->name_len == strlen(de->name));
        if (strcmp(de->name, "a") == 0)
            seen_a += (de->mode & HOS_S_IFMT) == HOS_S_IFREG;
        else if (strcmp(de->name, "b") == 0)
            seen_b += (de->mode & HOS_S_IFMT) == HOS_S_IFREG;
        else if (strcmp(de->name, "sub") == 0)
            seen_sub += (de->mode & HOS_S_IFMT) == HOS_S_IFDIR;
        else if (strcmp(de->name, ".") != 0 && strcmp(de->name, "..") != 0)
            others++;
    }
    CHECK(seen_a == 1 && seen_b == 1 && seen_sub == 1 && others == 0);
    CHECK(hos_closedir(dir) == 0);
    dir = hos_opendir("d");                      /* entries left: one to copy out */
    CHECK(dir != NULL);
    CHECK_RAW(hos_syscall2(HOS_SYS_readdir, dir->fd, KERNEL_ADDR), HOS_EFAULT);
    CHECK_RAW(hos_syscall2(HOS_SYS_readdir, dir->fd, NULL), HOS_EFAULT);
    CHECK(hos_closedir(dir) == 0);
    int fd = open("d/a", O_RDONLY);
    struct hos_dirent one;
    CHECK_RAW(hos_syscall2(HOS_SYS_readdir, fd, &one), HOS_ENOTDIR);
    CHECK(close(fd) == 0);
    CHECK_ERR(unlink("d"), ENOTEMPTY);
    CHECK_ERR(rmdir("d/a"), ENOTDIR);
    CHECK_ERR(chdir("d/a"), ENOTDIR);
    CHECK_ERR(chdir("nowhere"), ENOENT);
    CHECK_RAW(hos_syscall2(HOS_SYS_getcwd, cwd, 1), HOS_ERANGE);
    CHECK(unlink("d/a") == 0 && unlink("d/b") == 0 && rmdir("d/sub") == 0);
    CHECK(rmdir("d") == 0);
    CHECK_ERR(chdir("d"), ENOENT);
}

/* Every call that takes a descriptor refuses bad ones. */
static void test_bad_fds(void)
{
    char buf[4];
    struct stat st;
    const int bad[] = { 17, -1, HOS_OPEN_MAX, 1000, 0x7fffffff };  /* 17: in range, closed */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i > 0)
            CHECK_ERR(dup2(0, bad[i]), EBADF);                   /* not a descriptor number */
        CHECK_ERR(read(bad[i], buf, 1), EBADF);
        CHECK_ERR(write(bad[i], "x", 1), EBADF);
        CHECK_ERR(close(bad[i]), EBADF);
        CHECK_ERR(fstat(bad[i], &st), EBADF);
        CHECK_ERR(lseek(bad[i], 0, SEEK_SET), EBADF);
        CHECK_ERR(dup(bad[i]), EBADF);
        CHECK_ERR(dup2(bad[i], 5), EBADF);
    }
    int fd = dup(0);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK_ERR(close(fd), EBADF);                                 /* closed twice */
    CHECK_ERR(read(fd, buf, 1), EBADF);
}

/* Buffers and strings at NULL, in the kernel, unmapped, read-only or running off the
 * end of a mapping are refused with EFAULT (and never kill the caller). */
static void test_bad_pointers(void)
{
    void *const bad[] = { NULL, KERNEL_ADDR, NONCANONICAL_ADDR, UNMAPPED_ADDR,
                          (void *)0xfffffffffffff000ul };
    make_file("p", "some data here", 14);
    int fd = open("p", O_RDWR);
    CHECK(fd >= 0);
    int fds[2];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *b = bad[i];
        CHECK_RAW(hos_syscall3(HOS_SYS_write, fd, b, 4), HOS_EFAULT);
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        CHECK_RAW(hos_syscall3(HOS_SYS_read, fd, b, 4), HOS_EFAULT);
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        CHECK_RAW(hos_syscall3(HOS_SYS_open, b, O_RDONLY, 0), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_stat, b, 0), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_stat, "p", b), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_fstat, fd, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_pipe, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_chdir, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_mkdir, b, 0755), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_unlink, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_getcwd, b, 64), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_clock_gettime, HOS_CLOCK_MONOTONIC, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_gettimeofday, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_nanosleep, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_uname, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall1(HOS_SYS_meminfo, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall2(HOS_SYS_procinfo, 0, b), HOS_EFAULT);
        CHECK_RAW(hos_syscall3(HOS_SYS_execve, b, 0, 0), HOS_EFAULT);
        if (b != NULL) {                         /* { "x", NULL } is a fine argv */
            char *argv_bad[] = { S("x"), b, NULL };
            CHECK_RAW(hos_syscall3(HOS_SYS_execve, SELF_PATH, argv_bad, 0), HOS_EFAULT);
        }
        CHECK_RAW(hos_syscall3(HOS_SYS_execve, SELF_PATH, b == NULL ? KERNEL_ADDR : b, 0),
                  HOS_EFAULT);
    }
    /* Read-only memory (this program's text) cannot be a read buffer or a pipe array. */
    CHECK_RAW(hos_syscall3(HOS_SYS_read, fd, (void *)test_bad_pointers, 4), HOS_EFAULT);
    CHECK_RAW(hos_syscall1(HOS_SYS_pipe, (void *)test_bad_pointers), HOS_EFAULT);
    /* A valid start with a length that wraps or runs into the kernel. */
    static char buf[64];
    CHECK_RAW(hos_syscall3(HOS_SYS_write, fd, buf, 1ul << 62), HOS_EFAULT);
    CHECK_RAW(hos_syscall3(HOS_SYS_write, fd, buf, ~0ul - (unsigned long)buf + 2), HOS_EFAULT);

    /* A page followed by an unmapped one: strings and buffers that cross the boundary. */
    char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(two != MAP_FAILED);
    CHECK(munmap(two + PAGE, PAGE) == 0);
    char *tail = two + PAGE - 16;
    memset(tail, 'a', 16);                                       /* no NUL before the hole */
    CHECK_RAW(hos_syscall3(HOS_SYS_open, tail, O_RDONLY, 0), HOS_EFAULT);
    CHECK_RAW(hos_syscall2(HOS_SYS_mkdir, tail, 0755), HOS_EFAULT);
    CHECK_RAW(hos_syscall3(HOS_SYS_execve, tail, 0, 0), HOS_EFAULT);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    long got = hos_syscall3(HOS_SYS_read, fd, tail, 64);         /* the file has 14 bytes */
    CHECK(got == 14 || got == -HOS_EFAULT);                      /* fits before the hole */
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], "0123456789012345678901234567890123456789", 40) == 40);
    got = hos_syscall3(HOS_SYS_read, fds[0], tail, 40);
    CHECK(got == -HOS_EFAULT || (got >= 0 && got <= 16));
    long w = hos_syscall3(HOS_SYS_write, fd, tail, 64);
    CHECK(w == -HOS_EFAULT || (w >= 0 && w <= 16));
    CHECK(munmap(two, PAGE) == 0);
    CHECK(close(fds[0]) == 0 && close(fds[1]) == 0);
    CHECK(close(fd) == 0 && unlink("p") == 0);
}

/* ============================ pipes and descriptors ====================================== */

/* Child side of test_pipes: copy a 64 KiB pattern into the pipe at fd. */
static int pipe_writer(long fd)
{
    static unsigned char block[1000];
    for (int n = 0; n < 64 * 1024;) {
        size_t len = sizeof block;
        if (len > (size_t)(64 * 1024 - n))
            len = (size_t)(64 * 1024 - n);
        for (size_t i = 0; i < len; i++)
            block[i] = (unsigned char)((n + (int)i) % 251);
        if (write((int)fd, block, len) != (ssize_t)len)
            return 1;
        n += (int)len;
    }
    return 0;
}

/* Data through a pipe, EOF once the writer is gone, EPIPE once the reader is gone. */
static void test_pipes(void)
{
    int fds[2];
    char buf[512];
    CHECK(pipe(fds) == 0 && fds[0] != fds[1]);
    CHECK(write(fds[1], "hello", 5) == 5);
    CHECK(read(fds[0], buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK_ERR(write(fds[0], "x", 1), EBADF);
    CHECK_ERR(read(fds[1], buf, 1), EBADF);
    CHECK_ERR(lseek(fds[0], 0, SEEK_SET), ESPIPE);
    struct stat st;
    CHECK(fstat(fds[0], &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(write(fds[1], "bye", 3) == 3 && close(fds[1]) == 0);
    CHECK(read(fds[0], buf, sizeof buf) == 3);                   /* what was left ... */
    CHECK(read(fds[0], buf, sizeof buf) == 0);                   /* ... then end of file */
    CHECK(close(fds[0]) == 0);

    CHECK(pipe(fds) == 0);
    pid_t pid = spawn(pipe_writer, fds[1]);
    CHECK(close(fds[1]) == 0);
    long total = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            CHECK((unsigned char)buf[i] == (total + i) % 251);
        total += n;
    }
    CHECK(total == 64 * 1024);
    int status = wait_status(pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(close(fds[0]) == 0);

    CHECK(pipe(fds) == 0);
    CHECK(close(fds[0]) == 0);
    CHECK_ERR(write(fds[1], "x", 1), EPIPE);                     /* and we are still alive */
    CHECK(close(fds[1]) == 0);
}

/* dup and dup2 share the open file (and its offset); EMFILE when the table is full. */
static void test_dup(void)
{
    int lowest = dup(0);
    CHECK(lowest >= 0 && close(lowest) == 0);
    int fd = open("dupfile", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd == lowest);
    int fd2 = dup(fd);
    CHECK(fd2 > fd);
    CHECK(write(fd, "abc", 3) == 3 && write(fd2, "def", 3) == 3);
    CHECK(lseek(fd, 0, SEEK_CUR) == 6 && lseek(fd2, 0, SEEK_CUR) == 6);
    CHECK(dup2(fd, 20) == 20);
    CHECK(write(20, "g", 1) == 1);
    CHECK(dup2(fd, fd) == fd);
    int other = open("dupother", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(other >= 0);
    CHECK(dup2(fd, other) == other);                             /* closes "dupother" first */
    struct stat st;
    CHECK(fstat(other, &st) == 0 && st.st_size == 7);
    CHECK(close(fd) == 0);
    CHECK(write(fd2, "h", 1) == 1);
    CHECK(fstat(fd2, &st) == 0 && st.st_size == 8);
    int opened[HOS_OPEN_MAX + 1], count = 0;
    for (;;) {
        int d = dup(0);
        if (d < 0) {
            CHECK(errno == EMFILE);
            break;
        }
        CHECK(count < HOS_OPEN_MAX);
        opened[count++] = d;
    }
    CHECK(count > 0);
    for (int i = 0; i < count; i++)
        CHECK(close(opened[i]) == 0);
    CHECK(close(fd2) == 0 && close(20) == 0 && close(other) == 0);
    CHECK(unlink("dupfile") == 0 && unlink("dupother") == 0);
}

/* ============================ processes ================================================== */

static volatile int shared_variable = 7;

/* Child body that exits with the given code. */
static int exit_with(long code)
{
    shared_variable = 99;                                        /* must not reach the parent */
    if (getppid() <= 0)
        return 100;
    exit((int)code);
}

/* fork, exit statuses, wait, separate memory. */
static void test_fork_wait(void)
{
    int status = wait_status(spawn(exit_with, 42));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
    CHECK(shared_variable == 7);
    status = wait_status(spawn(exit_with, 256 + 3));             /* only the low byte counts */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    pid_t pids[10];
    for (int i = 0; i < 10; i++)
        pids[i] = spawn(exit_with, i);
    int seen = 0;
    for (int i = 0; i < 10; i++) {
        pid_t pid = wait(&status);
        CHECK(pid > 0 && WIFEXITED(status));
        for (int j = 0; j < 10; j++)
            if (pids[j] == pid) {
                CHECK(WEXITSTATUS(status) == j);
                seen |= 1 << j;
            }
    }
    CHECK(seen == 0x3ff);
    CHECK_ERR(wait(&status), ECHILD);
}

/* Child body: close the pipe's write end (arg >> 16), read its read end (arg & 0xffff)
 * until end of file, then exit 5. */
static int wait_for_eof(long fds)
{
    char c;
    close((int)(fds >> 16));
    while (read((int)(fds & 0xffff), &c, 1) > 0)
        ;
    return 5;
}

/* waitpid with WNOHANG, for a specific child, and ECHILD. */
static void test_waitpid(void)
{
    int fds[2], status;
    CHECK(pipe(fds) == 0);
    pid_t pid = spawn(wait_for_eof, fds[0] | (long)fds[1] << 16);
    CHECK(close(fds[0]) == 0);
    CHECK(waitpid(pid, &status, WNOHANG) == 0);
    CHECK(waitpid(-1, &status, WNOHANG) == 0);
    CHECK(close(fds[1]) == 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 5);
    CHECK_ERR(waitpid(pid, &status, 0), ECHILD);                 /* already reaped */
    CHECK_ERR(waitpid(-1, &status, WNOHANG), ECHILD);
    CHECK_ERR(waitpid(getppid(), &status, 0), ECHILD);           /* not our child */
    CHECK(getpgid(0) > 0);
    CHECK(setpgid(0, 0) == 0 && getpgid(0) == getpid());
}

/* Child body that sleeps forever (optionally ignoring SIGTERM), after a ready byte. */
static int sleep_forever(long ready_fd_and_ignore)
{
    int fd = (int)(ready_fd_and_ignore & 0xffff);
    if (ready_fd_and_ignore >> 16)
        if (signal(SIGTERM, SIG_IGN) == SIG_ERR)
            return 1;
    if (write(fd, "r", 1) != 1)
        return 2;
    for (;;) {
        struct timespec ts = { .tv_sec = 1, .tv_nsec = 0 };
        nanosleep(&ts, NULL);
    }
}

/* Start sleep_forever in a child and wait until it is running; returns its pid. */
static pid_t start_sleeper(int ignore_term)
{
    int fds[2];
    char c;
    CHECK(pipe(fds) == 0);
    pid_t pid = spawn(sleep_forever, fds[1] | (long)ignore_term << 16);
    CHECK(read(fds[0], &c, 1) == 1);
    CHECK(close(fds[0]) == 0 && close(fds[1]) == 0);
    return pid;
}

/* kill with SIGKILL and SIGTERM, ignoring SIGTERM, and kill's errors. */
static void test_kill(void)
{
    pid_t pid = start_sleeper(0);
    CHECK(kill(pid, SIGKILL) == 0);
    int status = wait_status(pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pid = start_sleeper(0);
    CHECK(kill(pid, SIGTERM) == 0);
    status = wait_status(pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    pid = start_sleeper(1);
    CHECK(kill(pid, SIGTERM) == 0);
    struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    CHECK(waitpid(pid, &status, WNOHANG) == 0);                  /* ignored: still alive */
    CHECK(kill(pid, SIGKILL) == 0);
    status = wait_status(pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_ERR(kill(pid, SIGKILL), ESRCH);                        /* reaped: gone */
    CHECK_ERR(kill(getpid(), 99), EINVAL);
    CHECK_ERR(kill(getpid(), -1), EINVAL);
    CHECK(signal(SIGKILL, SIG_IGN) == SIG_ERR && errno == EINVAL);
}

/* Child bodies that fault in different ways. */
static int recurse_forever(long depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    if (depth > (1l << 30))                  /* never: the 1 MiB stack ends long before */
        return 0;
    return recurse_forever(depth + 1) + frame[0];
}
static int fault(long kind)
{
    unsigned quotient = 1, remainder = 0, zero = 0;
    switch (kind) {
    case 0: *(volatile int *)0 = 1; break;                                  /* NULL write */
    case 1: (void)*(volatile char *)KERNEL_ADDR; break;                      /* kernel read */
    case 2: *(volatile char *)(void *)test_bad_pointers = 0; break;         /* text write */
    case 3: __asm__ volatile("ud2"); break;                                 /* invalid opcode */
    case 4:                                                                 /* divide error */
        __asm__ volatile("divl %2" : "+a"(quotient), "+d"(remainder) : "r"(zero));
        return (int)quotient;
    case 5: return recurse_forever(0);                                      /* stack overflow */
    case 6: __asm__ volatile("cli"); break;                                 /* privileged */
    case 7: (void)*(volatile char *)NONCANONICAL_ADDR; break;               /* #GP */
    }
    return 0;
}

/* Faulting children end as if killed by a signal; the parent carries on. */
static void test_faults(void)
{
    for (long kind = 0; kind <= 7; kind++) {
        int status = wait_status(spawn(fault, kind));
        if (!WIFSIGNALED(status))
            printf("usertests: faults: kind %ld gave status %#x\n", kind, status);
        CHECK(WIFSIGNALED(status));
    }
}

/* What main() does for "usertests --argv-check": check argv and envp from execve. */
static int argv_check(int argc, char **argv)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.2f", 2.5);                      /* SSE on the new stack */
    if (argc != 4 || strcmp(argv[2], "one") != 0 || strcmp(argv[3], "two words") != 0 ||
        argv[4] != NULL || strcmp(buf, "2.50") != 0)
        return 1;
    const char *env = getenv("UT_ENV");
    return env && strcmp(env, "yes") == 0 ? 42 : 2;
}

/* Child body for test_exec: run /bin/echo with its stdout on the pipe fd. */
static int exec_echo(long fd)
{
    char *argv[] = { S("echo"), S("-n"), S("a b"), S("c"), NULL };
    dup2((int)fd, 1);
    execve("/bin/echo", argv, environ);
    return 1;
}

/* Child body for test_exec: re-run this program with known argv and envp. */
static int exec_self(long unused)
{
    (void)unused;
    char *argv[] = { S("usertests"), S("--argv-check"), S("one"), S("two words"), NULL };
    char *envp[] = { S("UT_ENV=yes"), NULL };
    execve(SELF_PATH, argv, envp);
    return 1;
}

/* Child body for test_exec_mutants: exec the file at path (exit 100 if that fails). */
static int exec_path(long path)
{
    char *argv[] = { S("mutant"), NULL };
    execve((const char *)path, argv, environ);
    return 100;
}

/* Hostile ELF files: /bin/true with one header field made impossible each fails with
 * ENOEXEC (the caller carries on); with random bytes of its headers flipped, every
 * attempt ends -- exec refused, the program run, or the process killed -- and never
 * the kernel. */
static void test_exec_mutants(void)
{
    static unsigned char orig[64 * 1024], img[64 * 1024];
    int fd = open("/bin/true", O_RDONLY);
    CHECK(fd >= 0);
    ssize_t len = read(fd, orig, sizeof orig);
    CHECK(len > 512 && len < (ssize_t)sizeof orig && close(fd) == 0);
    uint64_t phoff;
    memcpy(&phoff, orig + 32, 8);
    CHECK(phoff + 56 <= (uint64_t)len);
    const struct { size_t at, size; uint64_t value; } lies[] = {
        { 32, 8, (uint64_t)len + 100 },          /* program headers past the end */
        { 56, 2, 0 },                            /* no program headers */
        { 16, 2, 3 },                            /* a shared object, not an executable */
        { 24, 8, 0xFFFF800000000000ull },        /* entry in the hypervisor's range */
        { phoff + 16, 8, 0xFFFFFFFF80000000ull }, /* first segment over the kernel */
        { phoff + 8, 8, (uint64_t)len },         /* its data past the end of the file */
        { phoff + 40, 8, 1ull << 46 },           /* its memory size beyond user space */
    };
    char *argv[] = { S("mutant"), NULL };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(img, orig, (size_t)len);
        memcpy(img + lies[i].at, &lies[i].value, lies[i].size);
        make_file("mutant", img, (size_t)len);
        CHECK_ERR(execve("mutant", argv, environ), ENOEXEC);
    }
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        memcpy(img, orig, (size_t)len);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            img[(seed >> 8) % (phoff + 2 * 56)] ^= (unsigned char)(1u << ((seed >> 4) & 7));
        }
        make_file("mutant", img, (size_t)len);
        int status = wait_status(spawn(exec_path, (long)"mutant"));
        CHECK(WIFEXITED(status) || WIFSIGNALED(status));
    }
    CHECK(unlink("mutant") == 0);
}

/* execve: missing and non-ELF files fail cleanly; argv and envp arrive intact. */
static void test_exec(void)
{
    char *argv[] = { S("x"), NULL };
    CHECK_ERR(execve("/no/such/program", argv, environ), ENOENT);
    CHECK(execve("/", argv, environ) == -1 &&
          (errno == EACCES || errno == EISDIR || errno == ENOEXEC));
    make_file("notelf", "#!/bin/sh\necho hi\n", 19);
    CHECK_ERR(execve("notelf", argv, environ), ENOEXEC);
    make_file("empty", "", 0);
    CHECK_ERR(execve("empty", argv, environ), ENOEXEC);
    static unsigned char fake[256] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    memset(fake + 7, 0xff, sizeof fake - 7);                     /* a header full of lies */
    make_file("badelf", fake, sizeof fake);
    CHECK_ERR(execve("badelf", argv, environ), ENOEXEC);
    static char big[HOS_ARG_MAX + 100];
    memset(big, 'x', sizeof big - 1);
    char *too_long[] = { S("x"), big, NULL };
    CHECK_ERR(execve(SELF_PATH, too_long, environ), E2BIG);
    CHECK(unlink("notelf") == 0 && unlink("empty") == 0 && unlink("badelf") == 0);

    int fds[2];
    char buf[32];
    CHECK(pipe(fds) == 0);
    pid_t pid = spawn(exec_echo, fds[1]);
    CHECK(close(fds[1]) == 0);
    ssize_t total = 0, n;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    buf[total] = '\0';
    CHECK(strcmp(buf, "a b c") == 0);
    int status = wait_status(pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(close(fds[0]) == 0);
    status = wait_status(spawn(exec_self, 0));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

/* ============================ memory ===================================================== */

/* sbrk grows and shrinks the heap; regrown pages come back zeroed. */
static void test_sbrk(void)
{
    char *start = sbrk(0);
    uintptr_t pad = (PAGE - (uintptr_t)start % PAGE) % PAGE;
    CHECK(sbrk((ptrdiff_t)pad) == start);
    char *base = sbrk(0);
    CHECK((uintptr_t)base % PAGE == 0);
    CHECK(sbrk(3 * PAGE + 1) == base && sbrk(0) == base + 3 * PAGE + 1);
    memset(base, 0x5a, 3 * PAGE + 1);
    CHECK(sbrk(-(3 * PAGE + 1)) == base + 3 * PAGE + 1 && sbrk(0) == base);
    CHECK(sbrk(2 * PAGE) == base);
    for (int i = 0; i < 2 * PAGE; i++)
        CHECK(base[i] == 0);
    CHECK(sbrk(-2 * PAGE) != (void *)-1 && sbrk(0) == base);
    long now = hos_syscall1(HOS_SYS_brk, 0);
    CHECK(now == (long)base);
    CHECK(hos_syscall1(HOS_SYS_brk, 0x1000) == now);             /* below the program */
    CHECK(hos_syscall1(HOS_SYS_brk, (long)KERNEL_ADDR) == now);  /* into the kernel */
    CHECK(hos_syscall1(HOS_SYS_brk, 0x7ffffffff000l) == now);    /* over the stack */
}

/* malloc of a few MiB and of many small blocks. */
static void test_malloc(void)
{
    size_t big = 4u << 20;
    unsigned char *p = malloc(big);
    CHECK(p != NULL);
    for (size_t i = 0; i < big; i += 512)
        p[i] = (unsigned char)(i >> 9);
    for (size_t i = 0; i < big; i += 512)
        CHECK(p[i] == (unsigned char)(i >> 9));
    free(p);
    void *small[1000];
    for (int i = 0; i < 1000; i++) {
        small[i] = malloc((size_t)(i % 100) + 1);
        CHECK(small[i] != NULL);
        memset(small[i], i, (size_t)(i % 100) + 1);
    }
    for (int i = 0; i < 1000; i++)
        free(small[i]);
    char *r = NULL;
    for (size_t n = 1; n <= (1u << 20); n *= 4) {
        r = realloc(r, n);
        CHECK(r != NULL);
        r[n - 1] = 'z';
    }
    free(r);
}

/* Child body: touch memory that was unmapped at address addr. */
static int touch(long addr)
{
    *(volatile char *)addr = 1;
    return 0;
}

/* Child body: read the byte at addr (returns only if that works). */
static int peek(long addr)
{
    return *(volatile char *)addr;
}

/* Anonymous mmap gives zeroed memory; munmap takes it away; bad requests fail. */
static void test_mmap(void)
{
    size_t len = 4u << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED && (uintptr_t)p % PAGE == 0);
    for (size_t i = 0; i < len; i += PAGE)
        CHECK(p[i] == 0 && p[i + PAGE - 1] == 0);
    for (size_t i = 0; i < len; i += PAGE)
        p[i] = (unsigned char)(i / PAGE);
    for (size_t i = 0; i < len; i += PAGE)
        CHECK(p[i] == (unsigned char)(i / PAGE));
    CHECK(munmap(p, len) == 0);
    int status = wait_status(spawn(touch, (long)p));
    CHECK(WIFSIGNALED(status));
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
          errno == EINVAL);
    CHECK(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 0, 0) == MAP_FAILED);    /* a file */
    CHECK_ERR(munmap((void *)((uintptr_t)p + 1), PAGE), EINVAL);            /* unaligned */
    CHECK_ERR(munmap(KERNEL_ADDR, PAGE), EINVAL);
    /* PROT_NONE reserves addresses only: touching them faults. */
    unsigned char *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(none != MAP_FAILED);
    CHECK(WIFSIGNALED(wait_status(spawn(peek, (long)none))));
    CHECK(munmap(none, PAGE) == 0);
    /* The heap cannot grow into the anonymous mappings. */
    CHECK(sbrk(0x100000000000l) == (void *)-1);
}

/* Process groups: a new group is named after its leader, an existing one may be joined;
 * the console can only be given to a live group. */
static void test_pgroups(void)
{
    CHECK_RAW(hos_syscall2(HOS_SYS_setpgid, 0, 99999), HOS_EPERM);
    CHECK_RAW(hos_syscall2(HOS_SYS_setpgid, 0, -1), HOS_EINVAL);
    CHECK(setpgid(0, 0) == 0 && getpgrp() == getpid());
    CHECK_RAW(hos_syscall1(HOS_SYS_tcsetpgrp, 99999), HOS_EPERM);
    CHECK_RAW(hos_syscall1(HOS_SYS_tcsetpgrp, 0), HOS_EINVAL);
}

/* System calls take buffers and strings anywhere in the stack's 1 MiB, grown or not yet
 * (the kernel grows it as a touch from user mode would). */
static void test_stack_buffers(void)
{
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)(PAGE - 1);
    char *deep = (char *)(frame - 512 * 1024);                  /* not touched yet */
    make_file("s", "stacked", 7);
    int fd = open("s", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, deep, 7) == 7 && memcmp(deep, "stacked", 7) == 0);
    CHECK(close(fd) == 0);
    char *deeper = deep - 64 * 1024;
    CHECK(stat("s", (struct stat *)deeper) == 0);
    CHECK(hos_syscall2(HOS_SYS_getcwd, deeper - 4096, 256) > 0 && deeper[-4096] == '/');
    char *below = (char *)(0x00007ffffffff000ul - (1ul << 20) - PAGE);  /* past the 1 MiB */
    CHECK_RAW(hos_syscall2(HOS_SYS_getcwd, below, 256), HOS_EFAULT);
    CHECK(unlink("s") == 0);
}

/* Filling the file system stops at the kernel's reserve (ENOSPC): pipes and directories
 * still work, fork works or fails cleanly, and removing the file gives it all back. */
static void test_fs_full(void)
{
    static char block[64 * 1024];
    memset(block, 'f', sizeof block);
    long before = free_pages();
    int fd = open("full", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    long total = 0;
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) {
            CHECK(n < 0 && errno == ENOSPC);
            break;
        }
        total += n;
    }
    CHECK(close(fd) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0 && close(fds[0]) == 0 && close(fds[1]) == 0);
    CHECK(mkdir("fulldir", 0755) == 0 && rmdir("fulldir") == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(4);
    CHECK(pid > 0 || errno == ENOMEM || errno == EAGAIN);
    int status;
    CHECK(pid < 0 || (waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == 4));
    CHECK(unlink("full") == 0);
    CHECK(free_pages() + 4 >= before);
}

/* Fork until the kernel says no; every child then exits and is reaped. */
static void test_forkbomb(void)
{
    int fds[2], count = 0;
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    for (;;) {
        pid_t pid = fork();
        if (pid < 0) {
            CHECK(errno == EAGAIN || errno == ENOMEM);
            break;
        }
        if (pid == 0) {
            char c;
            close(fds[1]);
            read(fds[0], &c, 1);                                 /* until the parent closes */
            _exit(0);
        }
        count++;
        CHECK(count <= 10 * HOS_PROC_MAX);
    }
    CHECK(count > 0);
    CHECK(close(fds[1]) == 0 && close(fds[0]) == 0);
    for (int i = 0; i < count; i++) {
        int status;
        CHECK(wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_ERR(wait(NULL), ECHILD);
    pid_t pid = fork();                                          /* forking works again */
    if (pid == 0)
        _exit(0);
    CHECK(pid > 0 && wait(NULL) == pid);
}

/* Grow the heap until ENOMEM (touching every page), survive, give it all back. */
static void test_oom(void)
{
    long before = free_pages();
    long total = 0;
    for (;;) {
        char *p = sbrk(1 << 20);
        if (p == (void *)-1) {
            CHECK(errno == ENOMEM);
            break;
        }
        for (long i = 0; i < (1 << 20); i += PAGE)
            p[i] = 1;
        total += 1 << 20;
        CHECK(total < (1l << 32));
    }
    CHECK(total > 0);
    CHECK(sbrk(-total) != (void *)-1);
    void *maps[4096];
    int nmaps = 0;
    for (; nmaps < 4096; nmaps++) {
        maps[nmaps] = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
        if (maps[nmaps] == MAP_FAILED) {
            CHECK(errno == ENOMEM);
            break;
        }
        for (long i = 0; i < (1 << 20); i += PAGE)
            ((char *)maps[nmaps])[i] = 1;
    }
    CHECK(nmaps > 0 && nmaps < 4096);
    for (int i = 0; i < nmaps; i++)
        CHECK(munmap(maps[i], 1 << 20) == 0);
    long after = free_pages();
    CHECK(after + 64 >= before);             /* page tables may stay until the process ends */
    printf("usertests: oom: %ld MiB of heap, %d MiB mapped before ENOMEM\n", total >> 20, nmaps);
}

/* ============================ hostile arguments ========================================== */

/* munmap of a huge, mostly empty range is quick (the kernel does not visit every page
 * of it while nothing else runs); the whole mmap area at once is fine too. */
static void test_munmap_huge(void)
{
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 1;
    struct timespec t0, t1;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
    CHECK(munmap(p, 1ul << 40) == 0);                            /* 1 TiB: 256 M pages */
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t1) == 0);
    CHECK(t1.tv_sec - t0.tv_sec < 2);
    int status = wait_status(spawn(touch, (long)p));
    CHECK(WIFSIGNALED(status));
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(munmap((void *)MMAP_BASE, MMAP_END - MMAP_BASE) == 0);  /* 112 TiB */
    status = wait_status(spawn(touch, (long)p));
    CHECK(WIFSIGNALED(status));
    CHECK_ERR(munmap((void *)MMAP_BASE, MMAP_END - MMAP_BASE + PAGE), EINVAL);
}

/* Child body: leave an empty page table behind in each of n 2 MiB regions of the mmap
 * area (mapping a region and unmapping it again keeps its table). */
static int scatter_tables(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, (2 << 20) - PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        if (munmap(p, (2 << 20) - PAGE) != 0)
            return 2;
    }
    return 0;
}

/* A process with more than a thousand page tables gives every one back at exit. */
static void test_many_tables(void)
{
    long before = free_pages();
    int status = wait_status(spawn(scatter_tables, 1100));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    long after = free_pages();
    if (after + 8 < before)
        printf("usertests: many_tables: %ld pages lost\n", before - after);
    CHECK(after + 8 >= before);
}

/* A chain of thousands of removed directories, each holding its parent, is freed by the
 * close of the deepest one (without recursing once per level on the kernel stack). */
static void test_deep_dirs(void)
{
    enum { DEPTH = 3000 };
    long before = free_pages();
    CHECK(mkdir("deep", 0755) == 0 && chdir("deep") == 0);
    for (int i = 0; i < DEPTH; i++)
        CHECK(mkdir("d", 0755) == 0 && chdir("d") == 0);
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    for (int i = 0; i < DEPTH; i++)
        CHECK(chdir("..") == 0 && rmdir("d") == 0);
    CHECK(chdir("..") == 0 && rmdir("deep") == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(close(fd) == 0);                                       /* frees all of them */
    CHECK(mkdir("deep", 0755) == 0 && rmdir("deep") == 0);       /* and the kernel lives */
    CHECK(free_pages() + 4 >= before);
}

/* Child body: sleep for 2^64 ns (584 years), given as seconds and nanoseconds. */
static int sleep_ages(long unused)
{
    (void)unused;
    struct hos_timespec ts = { .sec = 18446744073l, .nsec = 709551616 };
    hos_syscall1(HOS_SYS_nanosleep, &ts);
    return 3;
}

/* A sleep too long to count in nanoseconds still sleeps (rather than wrap to nothing). */
static void test_sleep_long(void)
{
    pid_t pid = spawn(sleep_ages, 0);
    struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    int status;
    CHECK(waitpid(pid, &status, WNOHANG) == 0);                  /* still asleep */
    CHECK(kill(pid, SIGKILL) == 0);
    status = wait_status(pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* domctl takes a structure of exactly its size, or a number with len 0, as the command
 * says: never a pointer handed to the hypervisor unchecked (it would be read and written
 * as kernel memory). */
static void test_domctl_args(void)
{
    struct hako_domctl_info info;
    struct hako_domctl_sched sched;
    memset(&info, 0, sizeof info);
    memset(&sched, 0, sizeof sched);
    if (hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_NEXT, 0, 0) == -HOS_ENOSYS)
        return;                                      /* native: no hypervisor, no domains */
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_GETINFO, &info, 0), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_GETINFO, KERNEL_ADDR, 0), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_GETINFO, &info, 8), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_SET_SCHED, KERNEL_ADDR, 0), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_SET_SCHED, &sched, 4), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_NEXT, &info, 8), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_DESTROY, &info, 8), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, 99, &info, 8), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, 99, 0, 0), HOS_EINVAL);
    CHECK_RAW(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_GETINFO, NULL, sizeof info), HOS_EFAULT);
    long first = hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_NEXT, 0, 0);
    if (first == -HOS_EPERM)
        return;                                                  /* not the control domain */
    CHECK(first == 0);
    info.domid = 0;
    CHECK(hos_syscall3(HOS_SYS_domctl, HAKO_DOMCTL_GETINFO, &info, sizeof info) == 0);
    CHECK(info.nr_pages > 0 && info.state == HAKO_DOMSTATE_RUNNING);
}

/* ============================ libc on top ================================================ */

/* newlib's printf of floating point (SSE) and libm. */
static void test_printf_float(void)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", 3.14159);
    CHECK(strcmp(buf, "3.142") == 0);
    snprintf(buf, sizeof buf, "%.3f|%g|%.2e", -0.0005, 0.25, 12345.678);
    CHECK(strcmp(buf, "-0.001|0.25|1.23e+04") == 0);
    snprintf(buf, sizeof buf, "%zu %lld %x", (size_t)7, -3ll, 255u);
    CHECK(strcmp(buf, "7 -3 ff") == 0);
    CHECK(fabs(sqrt(2.0) - 1.41421356) < 1e-8);
    CHECK(strtod("2.5e3", NULL) == 2500.0);
}

/* clock_gettime advances across a 10 ms nanosleep; bad clocks and times fail. */
static void test_time(void)
{
    struct timespec t0, t1, rt;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
    struct timespec ten_ms = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
    CHECK(nanosleep(&ten_ms, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t1) == 0);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
    CHECK(ns >= 10 * 1000 * 1000 && ns < 5ll * 1000 * 1000 * 1000);
    CHECK(t1.tv_nsec >= 0 && t1.tv_nsec < 1000000000);
    /* The time of day comes from the hypervisor's RTC (QEMU's: the host's time). */
    CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0 && rt.tv_sec > 1577836800);  /* > 2020 */
    CHECK(time(NULL) >= rt.tv_sec);
    struct hos_timespec hts;
    CHECK_RAW(hos_syscall2(HOS_SYS_clock_gettime, 7, &hts), HOS_EINVAL);
    struct hos_timespec bad = { .sec = 0, .nsec = 1000000000 };
    CHECK_RAW(hos_syscall1(HOS_SYS_nanosleep, &bad), HOS_EINVAL);
    bad.sec = -1;
    bad.nsec = 0;
    CHECK_RAW(hos_syscall1(HOS_SYS_nanosleep, &bad), HOS_EINVAL);
    CHECK(hos_syscall1(HOS_SYS_gettimeofday, &hts) == 0 && hts.nsec < 1000000000);
    CHECK(sched_yield() == 0);
}

/* uname's strings are there and terminated. */
static void test_uname(void)
{
    struct hos_utsname u;
    memset(&u, 0x7f, sizeof u);
    CHECK(uname(&u) == 0);
    CHECK(memchr(u.sysname, 0, sizeof u.sysname) && strcmp(u.sysname, "hako") == 0);
    CHECK(memchr(u.nodename, 0, sizeof u.nodename) && u.nodename[0] != '\0');
    CHECK(memchr(u.release, 0, sizeof u.release) && memchr(u.version, 0, sizeof u.version));
    CHECK(memchr(u.machine, 0, sizeof u.machine) && strcmp(u.machine, "x86_64") == 0);
}

/* procinfo finds this process with the right parent and name; meminfo is consistent. */
static void test_procinfo(void)
{
    struct hos_procinfo pi;
    int found = 0, count = 0;
    for (int pid = 0; hos_procinfo(pid, &pi) >= 0; pid = pi.pid + 1) {
        CHECK(pi.pid >= pid && count++ < 10 * HOS_PROC_MAX);
        if (pi.pid == getpid()) {
            found = 1;
            CHECK(pi.ppid == getppid() && pi.state == HOS_PROC_RUNNING && pi.pages > 0);
            CHECK(strcmp(pi.name, "usertests") == 0);
        }
    }
    CHECK(errno == ESRCH && found);
    CHECK_ERR(hos_procinfo(1 << 30, &pi), ESRCH);
    struct hos_meminfo mi;
    CHECK(hos_meminfo(&mi) == 0 && mi.page_size == PAGE);
    CHECK(mi.free_pages < mi.total_pages && mi.kernel_pages < mi.total_pages);
}

/* hwcount: the counts only grow, this process's system calls among them; a bad pointer
 * is EFAULT. On hako the hypercall count is part of the syscalls; natively it is 0. */
static void test_hwcount(void)
{
    struct hos_hwcount a, b;
    CHECK(hos_syscall1(HOS_SYS_hwcount, &a) == 0);
    for (int i = 0; i < 10; i++)
        (void)hos_syscall1(HOS_SYS_getpid, 0);
    CHECK(hos_syscall1(HOS_SYS_hwcount, &b) == 0);
    CHECK(b.user_syscalls >= a.user_syscalls + 11 && b.hypercalls >= a.hypercalls);
    CHECK(b.syscalls == b.user_syscalls + b.hypercalls && b.exceptions >= a.exceptions);
    CHECK(b.cr3_loads >= a.cr3_loads && b.tlb_flushes >= a.tlb_flushes);
    CHECK_RAW(hos_syscall1(HOS_SYS_hwcount, KERNEL_ADDR), HOS_EFAULT);
    CHECK_RAW(hos_syscall1(HOS_SYS_hwcount, NULL), HOS_EFAULT);
}

/* ============================ the driver ================================================= */

struct test {
    const char *name;
    void (*fn)(void);
};

static const struct test tests[] = {
    { "files", test_files },         { "open_flags", test_open_flags },
    { "unlink_open", test_unlink_open }, { "dirs", test_dirs },
    { "bad_fds", test_bad_fds },     { "bad_pointers", test_bad_pointers },
    { "pipes", test_pipes },         { "dup", test_dup },
    { "fork_wait", test_fork_wait }, { "waitpid", test_waitpid },
    { "kill", test_kill },           { "faults", test_faults },
    { "exec", test_exec },           { "sbrk", test_sbrk },
    { "malloc", test_malloc },       { "mmap", test_mmap },
    { "printf_float", test_printf_float }, { "time", test_time },
    { "uname", test_uname },         { "procinfo", test_procinfo },
    { "forkbomb", test_forkbomb },   { "oom", test_oom },
    { "munmap_huge", test_munmap_huge }, { "many_tables", test_many_tables },
    { "deep_dirs", test_deep_dirs }, { "sleep_long", test_sleep_long },
    { "domctl_args", test_domctl_args }, { "stack_buffers", test_stack_buffers },
    { "fs_full", test_fs_full },     { "pgroups", test_pgroups },
    { "exec_mutants", test_exec_mutants }, { "hwcount", test_hwcount },
};
#define NTESTS ((int)(sizeof tests / sizeof tests[0]))

/* Run one test in a child; 1 when it passed. */
static int run_test(const struct test *t)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("usertests: %s: fork failed: %s\n", t->name, strerror(errno));
        return 0;
    }
    if (pid == 0) {
        current_test = t->name;
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("usertests: %s: waitpid failed: %s\n", t->name, strerror(errno));
        return 0;
    }
    if (WIFSIGNALED(status))
        printf("usertests: %s: killed by signal %d\n", t->name, WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Whether test name was selected on the command line (all when none were). */
static int selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

/* Run the selected tests, then the leak round; print the verdict. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--argv-check") == 0)
        return argv_check(argc, argv);
    int first = 1, leak_round = 1;
    if (argc > 1 && strcmp(argv[1], "-1") == 0) {
        leak_round = 0;
        first = 2;
    }
    char dir[64];
    mkdir("/tmp", 0755);
    snprintf(dir, sizeof dir, "/tmp/usertests.%d", (int)getpid());
    if (mkdir(dir, 0755) < 0 || chdir(dir) < 0) {
        printf("usertests: cannot make %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int failed = 0;
    int passed[NTESTS];
    for (int i = 0; i < NTESTS; i++) {
        passed[i] = 0;
        if (!selected(tests[i].name, argc, argv, first))
            continue;
        passed[i] = run_test(&tests[i]);
        if (passed[i])
            printf("usertests: %s ok\n", tests[i].name);
        else {
            printf("usertests: %s FAILED\n", tests[i].name);
            failed++;
        }
    }
    if (leak_round) {
        printf("usertests: leak check: every passing test again\n");
        long round_before = free_pages();
        for (int i = 0; i < NTESTS; i++) {
            if (!passed[i])
                continue;
            long before = free_pages();
            int ok = run_test(&tests[i]);
            long after = free_pages();
            if (!ok) {
                printf("usertests: %s FAILED in the second round\n", tests[i].name);
                failed++;
            } else if (after < before) {
                printf("usertests: %s leaks %ld pages\n", tests[i].name, before - after);
                failed++;
            }
        }
        long round_after = free_pages();
        if (round_after < round_before) {
            printf("usertests: the second round lost %ld pages\n", round_before - round_after);
            failed++;
        }
    }
    chdir("/");
    if (rmdir(dir) < 0)
        printf("usertests: %s left behind: %s\n", dir, strerror(errno));
    if (failed)
        printf("usertests: %d FAILED\n", failed);
    else
        printf("ALL TESTS PASSED\n");
    return failed ? 1 : 0;
}
