/*
 * tests/bench/tradeoff/tradeoff.c: the PV trade-off workloads, lmbench-style, as one
 * user program of the reference guest. The same binary runs under every privops mode
 * (native, trap, pv, pv-batch, pv-async); scripts/bench.sh boots each mode, runs
 * `tradeoff` from the shell and turns its lines into results.csv rows
 * tradeoff.<workload>.<mode> (README "The PV trade-off, measured").
 *
 *   getpid      the null system call
 *   read1       read of 1 byte from a pipe kept full
 *   pipe_rtt    a 1-byte round trip between two processes over two pipes
 *   ctxsw       a switch between two processes that sched_yield to each other
 *   fork_exit   fork, the child exits, the parent waits
 *   fork_exec   fork, the child execs /bin/true, the parent waits
 *   pagefault   a first touch of a fresh anonymous (stack) page, in a new process
 *   mmap1m      mmap 1 MiB, write every page, munmap
 *   macro       one pipeline of a shell script run by /bin/sh (echo | cat > file),
 *               10 pipelines per script run
 *
 * Each workload is warmed up once, then measured REPS times; per run it takes the TSC
 * (under QEMU's -icount shift=0 that counts instructions), CLOCK_MONOTONIC and the
 * platform's transition counts (hwcount: syscalls into ring 0, exceptions, CR3 loads,
 * TLB flushes). It prints, per workload:
 *   TRADEOFF <name> <ops/run> <median ticks/op> <min ticks/op> <median ns/op>
 *            <syscalls/op> <exceptions/op> <cr3 loads/op> <tlb flushes/op> <hypercalls/op>
 * the transition counts taken over all runs (less the cost of reading them).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hoslib.h"

#define REPS 5
#define PAGE 4096ul

struct sample {
    uint64_t ticks, ns;
};

/* The TSC: instructions retired under -icount shift=0, time otherwise. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* CLOCK_MONOTONIC in ns. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The platform's transition counts so far (zeros when the kernel has none). */
static struct hos_hwcount hwcount(void)
{
    struct hos_hwcount c = { 0 };
    hos_syscall6(HOS_SYS_hwcount, (long)&c, 0, 0, 0, 0, 0);
    return c;
}

/* b - a, field by field. */
static struct hos_hwcount hw_sub(struct hos_hwcount b, struct hos_hwcount a)
{
    return (struct hos_hwcount){ b.syscalls - a.syscalls, b.user_syscalls - a.user_syscalls,
                                 b.hypercalls - a.hypercalls, b.exceptions - a.exceptions,
                                 b.cr3_loads - a.cr3_loads, b.tlb_flushes - a.tlb_flushes };
}

static void die(const char *what)
{
    fprintf(stderr, "tradeoff: %s failed\n", what);
    exit(1);
}

/* ---- the workloads: each runs n operations ---------------------------------------- */

static void w_getpid(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        hos_syscall6(HOS_SYS_getpid, 0, 0, 0, 0, 0, 0);
}

static int full_pipe[2];

/* Fill full_pipe so that n 1-byte reads find a byte each. */
static void read1_prepare(unsigned n)
{
    static char buf[4096];
    if (write(full_pipe[1], buf, n) != (ssize_t)n)
        die("filling the pipe");
}

static void w_read1(unsigned n)
{
    char c;
    for (unsigned i = 0; i < n; i++)
        if (read(full_pipe[0], &c, 1) != 1)
            die("read1");
}

/* Fork a child that echoes bytes from to_child back on to_parent until EOF. */
static pid_t start_echo(int to_child[2], int to_parent[2])
{
    if (pipe(to_child) || pipe(to_parent))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char c;
        close(to_child[1]);
        close(to_parent[0]);
        while (read(to_child[0], &c, 1) == 1)
            if (write(to_parent[1], &c, 1) != 1)
                break;
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    return pid;
}

static int echo_out, echo_in;

static void w_pipe_rtt(unsigned n)
{
    char c = 'x';
    for (unsigned i = 0; i < n; i++)
        if (write(echo_out, &c, 1) != 1 || read(echo_in, &c, 1) != 1)
            die("pipe round trip");
}

/* n yields while a child yields back: 2n switches, so ops/run counts switches. */
static void w_ctxsw(unsigned n)
{
    for (unsigned i = 0; i < n / 2; i++)
        hos_syscall6(HOS_SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

static void w_fork_exit(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(0);
        int st;
        if (waitpid(pid, &st, 0) != pid)
            die("waitpid");
    }
}

static void w_fork_exec(unsigned n)
{
    static char name[] = "true";
    char *const argv[] = { name, NULL };
    for (unsigned i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            execve("/bin/true", argv, environ);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("fork+exec of /bin/true");
    }
}

static void w_mmap1m(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        void *m = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED)
            die("mmap");
        volatile char *p = m;
        for (unsigned off = 0; off < (1u << 20); off += PAGE)
            p[off] = 1;
        if (munmap(m, 1u << 20))
            die("munmap");
    }
}

#define MACRO_PIPELINES 10
static char macro_script[] = "/tmp/tradeoff-macro.sh";

/* The macro workload's script: MACRO_PIPELINES pipelines. */
static void macro_prepare(void)
{
    mkdir("/tmp", 0755);
    FILE *f = fopen(macro_script, "w");
    if (!f)
        die("writing the macro script");
    for (unsigned i = 0; i < MACRO_PIPELINES; i++)
        fprintf(f, "echo hako %u | cat > /tmp/tradeoff-macro.out\n", i);
    fclose(f);
}

/* n pipelines: n / MACRO_PIPELINES runs of the script. */
static void w_macro(unsigned n)
{
    static char name[] = "sh";
    char *const argv[] = { name, macro_script, NULL };
    for (unsigned i = 0; i < n / MACRO_PIPELINES; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            execve("/bin/sh", argv, environ);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("the macro script");
    }
}

/* ---- measuring ----------------------------------------------------------------------- */

/* One timed run of n operations of fn, its transitions added to *hw. */
static struct sample run_once(void (*fn)(unsigned), unsigned n, struct hos_hwcount *hw)
{
    struct hos_hwcount c0 = hwcount();
    uint64_t ns0 = now_ns(), t0 = rdtsc();
    fn(n);
    uint64_t t1 = rdtsc(), ns1 = now_ns();
    struct hos_hwcount d = hw_sub(hwcount(), c0);
    hw->syscalls += d.syscalls, hw->exceptions += d.exceptions, hw->hypercalls += d.hypercalls;
    hw->cr3_loads += d.cr3_loads, hw->tlb_flushes += d.tlb_flushes;
    return (struct sample){ t1 - t0, ns1 - ns0 };
}

static void w_nothing(unsigned n)
{
    (void)n;
}

/* What run_once's own reading of clocks and counters adds to every run's counts. */
static struct hos_hwcount hw_overhead(void)
{
    struct hos_hwcount d = { 0 };
    run_once(w_nothing, 0, &d);
    return d;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorted in place). */
static uint64_t median(uint64_t *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Print a count per operation with two decimals, never below zero. */
static void print_per_op(int64_t total, unsigned ops)
{
    if (total < 0)
        total = 0;
    uint64_t c = (uint64_t)total * 100 / ops;
    printf(" %llu.%02llu", (unsigned long long)(c / 100), (unsigned long long)(c % 100));
}

/* Report one workload from its runs (ticks and ns per run of ops operations). */
static void report(const char *name, unsigned ops, struct sample *s, unsigned reps,
                   struct hos_hwcount hw, struct hos_hwcount per_run_overhead)
{
    uint64_t ticks[REPS], ns[REPS];
    for (unsigned i = 0; i < reps; i++)
        ticks[i] = s[i].ticks, ns[i] = s[i].ns;
    uint64_t tmed = median(ticks, reps), tmin = ticks[0], nmed = median(ns, reps);
    printf("TRADEOFF %s %u %llu %llu %llu", name, ops, (unsigned long long)(tmed / ops),
           (unsigned long long)(tmin / ops), (unsigned long long)(nmed / ops));
    unsigned all = ops * reps;
    print_per_op((int64_t)(hw.syscalls - reps * per_run_overhead.syscalls), all);
    print_per_op((int64_t)(hw.exceptions - reps * per_run_overhead.exceptions), all);
    print_per_op((int64_t)(hw.cr3_loads - reps * per_run_overhead.cr3_loads), all);
    print_per_op((int64_t)(hw.tlb_flushes - reps * per_run_overhead.tlb_flushes), all);
    print_per_op((int64_t)(hw.hypercalls - reps * per_run_overhead.hypercalls), all);
    printf("\n");
    fflush(stdout);
}

/* Warm up, run REPS times, report. prepare (may be NULL) runs before every run, untimed. */
static void measure(const char *name, void (*fn)(unsigned), unsigned ops,
                    void (*prepare)(unsigned))
{
    struct sample s[REPS];
    struct hos_hwcount hw = { 0 }, scratch = { 0 }, over = hw_overhead();
    if (prepare)
        prepare(ops);
    run_once(fn, ops, &scratch);        /* warm-up */
    for (unsigned i = 0; i < REPS; i++) {
        if (prepare)
            prepare(ops);
        s[i] = run_once(fn, ops, &hw);
    }
    report(name, ops, s, REPS, hw, over);
}

/* The page-fault workload runs in a child (its stack pages are fresh only once): the
 * child touches PF_PAGES new stack pages per run and sends its samples back. */
#define PF_PAGES 32
struct pf_result {
    struct sample s[REPS];
    struct hos_hwcount hw, over;
};

/* Touch n fresh stack pages below the current stack pointer (each one a fault). */
static void __attribute__((noinline)) touch_stack_pages(unsigned n, unsigned first)
{
    volatile char *sp = (volatile char *)__builtin_frame_address(0);
    for (unsigned i = 0; i < n; i++)
        sp[-(long)((first + i + 2) * PAGE)] = 1;
}

static unsigned pf_next;

static void w_pagefault(unsigned n)
{
    touch_stack_pages(n, pf_next);
    pf_next += n;
}

static void measure_pagefault(void)
{
    int p[2];
    if (pipe(p))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        struct pf_result r = { .over = hw_overhead() };
        struct hos_hwcount scratch = { 0 };
        close(p[0]);
        run_once(w_pagefault, PF_PAGES, &scratch);          /* warm-up */
        for (unsigned i = 0; i < REPS; i++)
            r.s[i] = run_once(w_pagefault, PF_PAGES, &r.hw);
        _exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
    }
    close(p[1]);
    struct pf_result r;
    int st;
    if (read(p[0], &r, sizeof(r)) != sizeof(r) || waitpid(pid, &st, 0) != pid)
        die("the page-fault child");
    close(p[0]);
    report("pagefault", PF_PAGES, r.s, REPS, r.hw, r.over);
}

/* True when name is to be run (no names given: all). */
static int wanted(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    printf("TRADEOFF-BEGIN reps %d\n", REPS);
    if (wanted(argc, argv, "getpid"))
        measure("getpid", w_getpid, 1000, NULL);
    if (wanted(argc, argv, "read1")) {
        if (pipe(full_pipe))
            die("pipe");
        measure("read1", w_read1, 1000, read1_prepare);
        close(full_pipe[0]);
        close(full_pipe[1]);
    }
    if (wanted(argc, argv, "pipe_rtt")) {
        int to_child[2], to_parent[2];
        pid_t pid = start_echo(to_child, to_parent);
        echo_out = to_child[1], echo_in = to_parent[0];
        measure("pipe_rtt", w_pipe_rtt, 200, NULL);
        close(echo_out);
        close(echo_in);
        waitpid(pid, NULL, 0);
    }
    if (wanted(argc, argv, "ctxsw")) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            for (;;)
                hos_syscall6(HOS_SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        measure("ctxsw", w_ctxsw, 400, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (wanted(argc, argv, "fork_exit"))
        measure("fork_exit", w_fork_exit, 20, NULL);
    if (wanted(argc, argv, "fork_exec"))
        measure("fork_exec", w_fork_exec, 10, NULL);
    if (wanted(argc, argv, "pagefault"))
        measure_pagefault();
    if (wanted(argc, argv, "mmap1m"))
        measure("mmap1m", w_mmap1m, 4, NULL);
    if (wanted(argc, argv, "macro")) {
        macro_prepare();
        measure("macro", w_macro, MACRO_PIPELINES, NULL);
        unlink(macro_script);
        unlink("/tmp/tradeoff-macro.out");
    }
    printf("TRADEOFF-END\n");
    return 0;
}
