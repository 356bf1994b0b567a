/*
 * guest-pv/proc.h: user processes (for now: one at a time, run to completion).
 */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H

#include <stdint.h>

#define PROC_EXIT_FAULT 0x100   /* added to the vector of an exception that ended it */

/* Load the ELF image into a new address space and run it in user mode until it exits
 * or faults. Returns its exit status, PROC_EXIT_FAULT + vector on an exception (with
 * *fault_addr set for page faults), or a negative error when it could not start. */
long proc_run(const void *elf, uint64_t len, uint64_t *fault_addr);

#endif /* GUEST_PROC_H */
