/*
 * guest-pv/kernel/proc.h: processes: the table, the scheduler, sleeping and waking, fork, exit,
 * wait and signals.
 */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H

#include <stdint.h>

#include <hako/traps.h>

#include "trap.h"
#include "user/hos.h"
#include "uvm.h"

struct file;
struct inode;

enum proc_state { P_UNUSED, P_EMBRYO, P_RUNNABLE, P_RUNNING, P_SLEEPING, P_ZOMBIE };

struct proc {
    int pid, ppid, pgid;
    enum proc_state state;
    const void *chan;            /* what it sleeps on */
    uint64_t wake_ns;            /* sleep deadline (0: none) */
    struct uvm vm;
    uint64_t brk_start, brk;     /* the heap: [brk_start, brk) */
    uint64_t mmap_next;          /* next anonymous mapping */
    struct file *files[HOS_OPEN_MAX];
    struct inode *cwd;
    uint32_t sig_ignored;        /* bit s: signal s is ignored */
    int killed;                  /* a fatal signal to act on, 0: none */
    int exit_status;             /* wait status once a zombie */
    struct kjmp ctx;             /* kernel context while switched out */
    unsigned slot;               /* index: also its kernel stack */
    uint64_t cpu_ns, ran_at;
    char name[32];
    uint8_t fx[512] __attribute__((aligned(16)));   /* its x87/SSE state while switched out */
};

/* The process running now (NULL in the scheduler and at boot). */
extern struct proc *cur;

/* Set up the table and the timer. */
void proc_init(void);

/* Create the first process running path with argv {argv0, arg1 (may be NULL)};
 * its pid or a negative error. */
long proc_spawn_init(const char *path, const char *argv0, const char *arg1);

/* Run processes forever (idles with the hypervisor when none can run). */
void scheduler(void) __attribute__((noreturn));

/* Give up the CPU but stay runnable. */
void proc_yield(void);

/* Sleep on chan until kwakeup(chan), a signal, or (deadline_ns != 0) that time.
 * 0, or -HOS_EINTR when a fatal signal is pending. */
long proc_sleep(const void *chan, uint64_t deadline_ns);

/* The kernel stack top of p (what stack_switch gets). */
uint64_t proc_kstack_top(const struct proc *p);

/* Make the hypervisor's user table and kernel stack those of cur. */
void proc_load_user_context(void);

/* System calls implemented here. */
long proc_fork(const struct guest_regs *regs, const struct hako_trap_frame *f);
void proc_exit(int wait_status) __attribute__((noreturn));
long proc_waitpid(int pid, uint64_t status_uva, int options);
long proc_kill(int pid, int sig);
long proc_signal(int sig, int action);
long proc_setpgid(int pid, int pgid);
long proc_getpgid(int pid);
/* Make pgid (a live process group) the console's foreground group. */
long proc_tcsetpgrp(int pgid);
long proc_info(int pid, struct hos_procinfo *out);
int proc_count(void);

/* Make p's first run resume user mode with regs and frame f (copied to the top of its
 * kernel stack, where events from user mode put them); the copy of the frame. */
struct hako_trap_frame *proc_set_first_run(struct proc *p, const struct guest_regs *regs,
                                           const struct hako_trap_frame *f);

/* Give p the x87/SSE state a new program starts with. */
void proc_fx_reset(struct proc *p);

/* Before returning to user mode: preempt if the tick asked, act on fatal signals. */
void proc_return_to_user(void);

/* A user-mode exception: grow the stack or end the process. */
void proc_user_fault(struct hako_trap_frame *frame);

/* Timer tick from the event handler. */
void proc_tick(void);

#endif /* GUEST_PROC_H */
