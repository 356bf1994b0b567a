/*
 * guest-pv/kernel/proc.c: the process table, a round-robin scheduler on the virtual timer,
 * sleeping and waking, fork, exit, wait and signals.
 *
 * Each process has a kernel stack (its slot in kstacks); the hypervisor puts the frame
 * of every event from user mode at its top (stack_switch), so a process blocked in a
 * system call simply sleeps on its own stack. The scheduler runs on the boot stack and
 * switches kernel contexts (ctx_switch); the kernel never preempts itself: a tick only
 * sets need_resched, acted on before returning to user mode. The kernel is tickless:
 * the one-shot timer is armed only for the next sleeper's deadline, and for the end of
 * the time slice while more than one process wants the CPU (timer_update).
 */
#include "proc.h"

#include <hako/events.h>

#include "events.h"
#include "exec.h"
#include "fs.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"

#define KSTACK_SIZE  16384
#define TICK_NS      10000000ull        /* 10 ms time slices */
#define SIGSEGV      11                 /* newlib's number: a process that faulted */

struct proc *cur;
static struct proc procs[HOS_PROC_MAX];
static uint8_t kstacks[HOS_PROC_MAX][KSTACK_SIZE] __attribute__((aligned(16)));
static struct kjmp sched_ctx;
static int next_pid = 1;
static int need_resched;
static uint64_t timer_armed;             /* deadline the timer is set for, 0: none */
static uint64_t loaded_kstack = ~0ull, loaded_l4 = ~0ull;   /* what the hypervisor has */

extern char proc_fork_return[];

/* Save the running kernel context in from and continue the one in to; returns when
 * someone continues from (each process keeps its own kernel stack meanwhile). */
static void ctx_switch(struct kjmp *from, struct kjmp *to)
{
    if (kjmp_save(from) == 0)
        kjmp_jump(to, 1);
}

uint64_t proc_kstack_top(const struct proc *p)
{
    return (uint64_t)(kstacks[p->slot] + KSTACK_SIZE);
}

void proc_load_user_context(void)
{
    uint64_t ks = proc_kstack_top(cur), l4 = cur->vm.root;
    if (ks == loaded_kstack && l4 == loaded_l4)
        return;
    if (privops->set_user_context(ks, l4))
        kprintf("proc: cannot switch to pid %d\n", cur->pid);
    loaded_kstack = ks, loaded_l4 = l4;
}

/* Timer virq: the slice is over; wake sleepers whose deadline passed. */
static void timer_event(unsigned port, void *arg)
{
    (void)port, (void)arg;
    proc_tick();
}

/* Arm the timer for the earliest of: the first sleeper's deadline, and the end of the
 * current slice when someone else is waiting for the CPU. Leaves an earlier deadline
 * armed (it fires, and this runs again). */
static void timer_update(void)
{
    uint64_t now = ktime_ns(), want = 0;
    unsigned runnable = 0;
    for (unsigned i = 0; i < HOS_PROC_MAX; i++) {
        struct proc *p = &procs[i];
        runnable += p->state == P_RUNNABLE || p->state == P_RUNNING;
        if (p->state == P_SLEEPING && p->wake_ns && (!want || p->wake_ns < want))
            want = p->wake_ns;
    }
    if (runnable > 1 && (!want || now + TICK_NS < want))
        want = now + TICK_NS;
    if (timer_armed && timer_armed > now && (!want || timer_armed <= want))
        return;
    if (want != timer_armed && privops->set_timer(want) == 0)
        timer_armed = want;
}

void proc_tick(void)
{
    uint64_t now = ktime_ns();
    timer_armed = 0;
    need_resched = 1;
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        if (procs[i].state == P_SLEEPING && procs[i].wake_ns && procs[i].wake_ns <= now)
            procs[i].state = P_RUNNABLE;
    timer_update();
}

void proc_init(void)
{
    if (!events_bind_virq(HAKO_VIRQ_TIMER, timer_event, NULL))
        kprintf("proc: no timer: no preemption\n");
}

/* A free slot made an embryo with a new pid, or NULL. */
static struct proc *proc_alloc(void)
{
    for (unsigned i = 0; i < HOS_PROC_MAX; i++) {
        struct proc *p = &procs[i];
        if (p->state != P_UNUSED)
            continue;
        memset(p, 0, sizeof(*p));
        p->slot = i;
        p->state = P_EMBRYO;
        p->pid = next_pid++;
        p->mmap_next = USER_MMAP_BASE;
        return p;
    }
    return NULL;
}

int proc_count(void)
{
    int n = 0;
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        n += procs[i].state != P_UNUSED;
    return n;
}

void proc_fx_reset(struct proc *p)
{
    memset(p->fx, 0, sizeof(p->fx));
    p->fx[0] = 0x7f, p->fx[1] = 0x03;                   /* FCW: all exceptions masked */
    p->fx[24] = 0x80, p->fx[25] = 0x1f;                 /* MXCSR: the same */
}

/* Switch from the current process to the scheduler; returns when picked again. The
 * processes share the vCPU's x87/SSE registers: each keeps its own copy while out. */
static void sched(void)
{
    struct proc *p = cur;
    uint64_t now = ktime_ns();
    p->cpu_ns += now - p->ran_at;
    __asm__ volatile("fxsave64 %0" : "=m"(p->fx));
    ctx_switch(&p->ctx, &sched_ctx);
    __asm__ volatile("fxrstor64 %0" : : "m"(p->fx));
}

void scheduler(void)
{
    unsigned last = 0;
    for (;;) {
        struct proc *p = NULL;
        for (unsigned n = 1; n <= HOS_PROC_MAX && !p; n++) {
            struct proc *q = &procs[(last + n) % HOS_PROC_MAX];
            if (q->state == P_RUNNABLE)
                p = q;
        }
        timer_update();
        if (!p) {
            privops->idle();             /* the upcall runs the handlers, then back here */
            continue;
        }
        last = p->slot;
        need_resched = 0;
        p->state = P_RUNNING;
        p->ran_at = ktime_ns();
        cur = p;
        proc_load_user_context();
        ctx_switch(&sched_ctx, &p->ctx);
        cur = NULL;
    }
}

void proc_yield(void)
{
    cur->state = P_RUNNABLE;
    sched();
}

long proc_sleep(const void *chan, uint64_t deadline_ns)
{
    if (cur->killed)
        return -HOS_EINTR;
    cur->chan = chan;
    cur->wake_ns = deadline_ns;
    cur->state = P_SLEEPING;
    sched();
    cur->chan = NULL;
    cur->wake_ns = 0;
    return cur->killed ? -HOS_EINTR : 0;
}

void kwakeup(const void *chan)
{
    int woke = 0;
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        if (procs[i].state == P_SLEEPING && procs[i].chan == chan) {
            procs[i].state = P_RUNNABLE;
            woke = 1;
        }
    if (woke && cur)
        timer_update();                      /* the running process now has company */
}

/* The process with pid, or NULL. */
static struct proc *find(int pid)
{
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        if (procs[i].state != P_UNUSED && procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

/* Mark sig for p (unless ignored) and wake it so it can act. */
static void post_signal(struct proc *p, int sig)
{
    if (p->state == P_ZOMBIE || p->state == P_UNUSED)
        return;
    if (sig != HOS_SIGKILL && (p->sig_ignored & (1u << sig)))
        return;
    if (!p->killed)
        p->killed = sig;
    if (p->state == P_SLEEPING)
        p->state = P_RUNNABLE;
}

void ksignal_group(int pgid, int sig)
{
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        if (procs[i].state != P_UNUSED && procs[i].pgid == pgid && procs[i].pid != 1)
            post_signal(&procs[i], sig);
}

/* Is pgid the group of some live process? */
static int group_exists(int pgid)
{
    for (unsigned i = 0; i < HOS_PROC_MAX; i++)
        if (procs[i].state != P_UNUSED && procs[i].state != P_ZOMBIE &&
            procs[i].pgid == pgid)
            return 1;
    return 0;
}

long proc_kill(int pid, int sig)
{
    if (sig != 0 && sig != HOS_SIGINT && sig != HOS_SIGKILL && sig != HOS_SIGTERM)
        return -HOS_EINVAL;
    if (pid <= 0) {
        int pgid = pid == 0 ? cur->pgid : -pid;
        if (!group_exists(pgid))
            return -HOS_ESRCH;
        if (sig)
            ksignal_group(pgid, sig);
        return 0;
    }
    struct proc *p = find(pid);
    if (!p || p->state == P_ZOMBIE)
        return -HOS_ESRCH;
    if (pid == 1)
        return -HOS_EPERM;               /* init cannot be killed */
    if (sig)
        post_signal(p, sig);
    return 0;
}

long proc_signal(int sig, int action)
{
    if (sig <= 0 || sig >= HOS_NSIG || (action != HOS_SIG_DFL && action != HOS_SIG_IGN) ||
        (sig == HOS_SIGKILL && action == HOS_SIG_IGN))
        return -HOS_EINVAL;
    long old = (cur->sig_ignored >> sig) & 1 ? HOS_SIG_IGN : HOS_SIG_DFL;
    if (action == HOS_SIG_IGN)
        cur->sig_ignored |= 1u << sig;
    else
        cur->sig_ignored &= ~(1u << sig);
    return old;
}

long proc_setpgid(int pid, int pgid)
{
    struct proc *p = pid == 0 ? cur : find(pid);
    if (pgid < 0)
        return -HOS_EINVAL;
    if (!p || p->state == P_ZOMBIE || (p != cur && p->ppid != cur->pid))
        return -HOS_ESRCH;
    pgid = pgid ? pgid : p->pid;
    if (pgid != p->pid && !group_exists(pgid))
        return -HOS_EPERM;                   /* a new group is named after its leader */
    p->pgid = pgid;
    return 0;
}

long proc_tcsetpgrp(int pgid)
{
    if (pgid <= 0)
        return -HOS_EINVAL;
    if (!group_exists(pgid))
        return -HOS_EPERM;
    tty_set_fg(pgid);
    return 0;
}

long proc_getpgid(int pid)
{
    struct proc *p = pid == 0 ? cur : find(pid);
    return p ? p->pgid : -HOS_ESRCH;
}

long proc_info(int pid, struct hos_procinfo *out)
{
    struct proc *best = NULL;
    for (unsigned i = 0; i < HOS_PROC_MAX; i++) {
        struct proc *p = &procs[i];
        if (p->state != P_UNUSED && p->state != P_EMBRYO && p->pid >= pid &&
            (!best || p->pid < best->pid))
            best = p;
    }
    if (!best)
        return -HOS_ESRCH;
    memset(out, 0, sizeof(*out));
    out->pid = best->pid;
    out->ppid = best->ppid;
    out->pgid = best->pgid;
    out->state = best->state == P_ZOMBIE ? HOS_PROC_ZOMBIE
                 : best->state == P_SLEEPING ? HOS_PROC_SLEEPING : HOS_PROC_RUNNING;
    out->pages = best->vm.pages;
    out->cpu_ns = best->cpu_ns + (best == cur ? ktime_ns() - best->ran_at : 0);
    memcpy(out->name, best->name, sizeof(out->name));
    return best->pid;
}

/* Give back everything a dead or never-started process holds except its slot. */
static void release_resources(struct proc *p)
{
    for (unsigned fd = 0; fd < HOS_OPEN_MAX; fd++)
        if (p->files[fd]) {
            file_close(p->files[fd]);
            p->files[fd] = NULL;
        }
    if (p->cwd) {
        inode_put(p->cwd);
        p->cwd = NULL;
    }
    if (p->vm.root) {
        if (loaded_l4 == p->vm.root) {     /* never free the active user table */
            privops->set_user_context(loaded_kstack, 0);
            loaded_l4 = 0;
        }
        uvm_destroy(&p->vm);
    }
}

long proc_fork(const struct guest_regs *regs, const struct hako_trap_frame *f)
{
    struct proc *np = proc_alloc();
    if (!np)
        return -HOS_EAGAIN;
    long rc = uvm_create(&np->vm);
    if (rc == 0)
        rc = uvm_copy(&np->vm, &cur->vm);
    if (rc) {
        release_resources(np);
        np->state = P_UNUSED;
        return rc;
    }
    for (unsigned fd = 0; fd < HOS_OPEN_MAX; fd++)
        if (cur->files[fd])
            np->files[fd] = file_dup(cur->files[fd]);
    np->cwd = cur->cwd ? inode_get(cur->cwd) : NULL;
    np->ppid = cur->pid;
    np->pgid = cur->pgid;
    np->brk_start = cur->brk_start;
    np->brk = cur->brk;
    np->mmap_next = cur->mmap_next;
    np->sig_ignored = cur->sig_ignored;
    memcpy(np->name, cur->name, sizeof(np->name));
    __asm__ volatile("fxsave64 %0" : "=m"(np->fx));
    /* The child starts by returning from this same system call with 0. */
    proc_set_first_run(np, regs, f)->rax = 0;
    np->state = P_RUNNABLE;
    timer_update();
    return np->pid;
}

struct hako_trap_frame *proc_set_first_run(struct proc *p, const struct guest_regs *regs,
                                           const struct hako_trap_frame *f)
{
    uint64_t top = proc_kstack_top(p);
    struct hako_trap_frame *pf = (struct hako_trap_frame *)(top - sizeof(*pf));
    struct guest_regs *pr = (struct guest_regs *)((uint64_t)pf - sizeof(*pr));
    *pf = *f;
    *pr = *regs;
    p->ctx = (struct kjmp){ .rsp = (uint64_t)pr, .rip = (uint64_t)proc_fork_return };
    return pf;
}

/* The first code a new process runs in the kernel (entry.S proc_fork_return). */
void proc_forkret(void)
{
    __asm__ volatile("fxrstor64 %0" : : "m"(cur->fx));
    proc_return_to_user();
}

void proc_exit(int wait_status)
{
    struct proc *p = cur, *init = find(1);
    release_resources(p);
    for (unsigned i = 0; i < HOS_PROC_MAX; i++) {
        struct proc *c = &procs[i];
        if (c->state != P_UNUSED && c->ppid == p->pid) {
            c->ppid = 1;
            if (c->state == P_ZOMBIE && init)
                kwakeup(init);
        }
    }
    p->exit_status = wait_status;
    p->state = P_ZOMBIE;
    struct proc *parent = find(p->ppid);
    if (parent)
        kwakeup(parent);
    if (p->pid == 1) {                       /* the system goes down with init */
        int code = (wait_status & 0x7f) ? 1 : (wait_status >> 8) & 0xff;
        kprintf("init exited with status %d: powering off\n", code);
        privops->shutdown(HAKO_SHUTDOWN_POWEROFF, (unsigned)(code & 0x7f));
    }
    sched();
    for (;;)
        ;                                    /* a zombie is never picked */
}

long proc_waitpid(int pid, uint64_t status_uva, int options)
{
    if (options & ~HOS_WNOHANG)
        return -HOS_EINVAL;
    for (;;) {
        int children = 0;
        for (unsigned i = 0; i < HOS_PROC_MAX; i++) {
            struct proc *c = &procs[i];
            if (c->state == P_UNUSED || c->ppid != cur->pid || (pid > 0 && c->pid != pid) ||
                (pid < -1 && c->pgid != -pid) || (pid == 0 && c->pgid != cur->pgid))
                continue;
            children = 1;
            if (c->state != P_ZOMBIE)
                continue;
            int32_t st = c->exit_status;
            if (status_uva && copy_to_user(&cur->vm, status_uva, &st, sizeof(st)))
                return -HOS_EFAULT;
            int cpid = c->pid;
            c->state = P_UNUSED;
            return cpid;
        }
        if (!children)
            return -HOS_ECHILD;
        if (options & HOS_WNOHANG)
            return 0;
        long rc = proc_sleep(cur, 0);
        if (rc)
            return rc;
    }
}

void proc_return_to_user(void)
{
    if (need_resched) {
        need_resched = 0;
        proc_yield();
    }
    if (cur->killed)
        proc_exit(HOS_W_SIGNALED(cur->killed));
}

void proc_user_fault(struct hako_trap_frame *f)
{
    uint64_t a = f->fault_addr;
    if (f->vector == 14 && !(f->error_code & 1) && uvm_grow_stack(&cur->vm, a))
        return;                              /* the stack grew by a page */
    kprintf("pid %d (%s): exception %lu at rip %lx, address %lx: killed\n", cur->pid,
            cur->name, f->vector, f->rip, a);
    proc_exit(HOS_W_SIGNALED(SIGSEGV));
}

long proc_spawn_init(const char *path, const char *argv0, const char *arg1)
{
    struct proc *p = proc_alloc();
    if (!p)
        return -HOS_EAGAIN;
    p->pgid = p->pid;
    p->cwd = inode_get(fs_root());
    struct file *tty = tty_open();
    for (unsigned fd = 0; fd < 3; fd++)
        p->files[fd] = fd ? file_dup(tty) : tty;
    tty_set_fg(p->pgid);
    proc_fx_reset(p);
    long rc = exec_kernel(p, path, argv0, arg1);
    if (rc) {
        release_resources(p);
        p->state = P_UNUSED;
        return rc;
    }
    p->state = P_RUNNABLE;
    return p->pid;
}
