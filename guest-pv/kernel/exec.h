/*
 * guest-pv/kernel/exec.h: loading programs into processes.
 */
#ifndef GUEST_EXEC_H
#define GUEST_EXEC_H

#include <stdint.h>

#include "proc.h"

/* execve for the current process: on success the saved registers and frame describe
 * the new program's first instruction; an error leaves the process untouched. */
long exec_user(struct guest_regs *regs, struct hako_trap_frame *f, uint64_t path_uva,
               uint64_t argv_uva, uint64_t envp_uva);

/* Load path into the new process p with argv {argv0, arg1 (may be NULL)} and make it
 * ready for its first run. */
long exec_kernel(struct proc *p, const char *path, const char *argv0, const char *arg1);

#endif /* GUEST_EXEC_H */
