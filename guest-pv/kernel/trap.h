/*
 * guest-pv/kernel/trap.h: the guest kernel's exception and system-call handling.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

#include <hako/start_info.h>
#include <hako/traps.h>

/* Registers saved by entry.S below the trap frame (lowest address first). */
struct guest_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
};

/* Saved kernel context for leaving user mode (entry.S). */
struct kjmp {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
int kjmp_save(struct kjmp *j) __attribute__((returns_twice));
void kjmp_jump(struct kjmp *j, int value) __attribute__((noreturn));

/* Register the trap handlers, the user syscall entry and the event callback. */
void trap_init(const struct hako_start_info *si);

/* Arm a one-shot expectation: the next kernel exception `vector` is recorded and resumed
 * `skip` bytes past the faulting instruction (for self-tests of exception delivery). */
void trap_expect(uint64_t vector, uint64_t skip);

/* The same, resuming at the address *resume holds when the exception comes. */
void trap_expect_at(uint64_t vector, const uint64_t *resume);

/* The frame of the last expected exception, and whether it happened since arming. */
int trap_expected_hit(struct hako_trap_frame *out);

/* The system-call layer (syscall.c): handle the user syscall the frame describes. */
void proc_syscall(struct guest_regs *regs, struct hako_trap_frame *frame);

/* CPU exceptions (vectors 0-31) that have reached the kernel's trap entry so far. */
uint64_t trap_exceptions_taken(void);

#endif /* GUEST_TRAP_H */
