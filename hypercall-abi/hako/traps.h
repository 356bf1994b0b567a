/*
 * hako public ABI: virtual exceptions, guest system calls, and the two guest modes.
 *
 * The guest kernel and its user programs both run in ring 3. The hypervisor tracks which
 * of the two a vCPU is in ("kernel mode" / "user mode") and gives each its own top-level
 * table (mmuext NEW_BASEPTR / NEW_USER_BASEPTR), switching on every transition.
 * Exceptions and user-mode `syscall`s are delivered ("bounced") to handlers the kernel
 * registers, on the kernel stack, with a struct hako_trap_frame. See ABI.md "Traps".
 */
#ifndef HAKO_TRAPS_H
#define HAKO_TRAPS_H

#include "compiler.h"

#define HAKO_TRAP_VECTORS   32      /* exception vectors 0..31 can have handlers */
#define HAKO_TRAP_SYSCALL   256     /* trap_frame.vector for a user-mode syscall */
#define HAKO_TRAP_EVENT     257     /* trap_frame.vector for an event upcall */
#define HAKO_TRAP_FAILSAFE  258     /* an iret frame was refused; error_code = -error */

/* set_trap_table(table, count): IN struct hako_trap_info table[count], count <= 32.
 * Each entry sets (handler != 0) or clears (handler == 0) the handler of one vector. */
#ifndef __ASSEMBLER__
struct hako_trap_info {
    uint8_t  vector;    /* IN: 0..31 */
    uint8_t  _pad0[7];  /* IN: zero */
    uint64_t handler;   /* IN: guest kernel virtual address, or 0 to remove */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_trap_info) == 16, "hako_trap_info size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_trap_info) == 8, "hako_trap_info align");
#endif


/* set_callback(type, address) */
#define HAKO_CALLBACK_SYSCALL  0u   /* where user-mode `syscall` lands in the kernel */
#define HAKO_CALLBACK_EVENT    1u   /* event upcalls (the upcall mask is set on entry) */
#define HAKO_CALLBACK_FAILSAFE 2u   /* instead of failing, a refused iret lands here */

/* trap_frame.flags */
#define HAKO_TF_USER   (1ULL << 0)  /* the interrupted context was user mode; iret with it
                                       set returns to user mode */
#define HAKO_TF_EVENTS_MASKED (1ULL << 1) /* the interrupted context had its upcall mask
                                       set; iret restores the mask from this bit */

/*
 * Pushed by the hypervisor on the kernel stack (16-byte aligned) when it bounces an
 * exception or a user syscall; the handler starts with rsp pointing at it and every
 * other register as the interrupted context had it. The iret hypercall takes the same
 * frame, at rsp, and resumes the context it describes (rax, rcx, r11 from the frame).
 */
#ifndef __ASSEMBLER__
struct hako_trap_frame {
    uint64_t rax;         /* interrupted rax (a syscall handler stores the result here) */
    uint64_t rcx;         /* interrupted rcx */
    uint64_t r11;         /* interrupted r11 */
    uint64_t vector;      /* 0..31, HAKO_TRAP_SYSCALL, HAKO_TRAP_EVENT or HAKO_TRAP_FAILSAFE */
    uint64_t error_code;  /* CPU error code, 0 if the vector has none */
    uint64_t fault_addr;  /* page faults: the faulting address (CR2); else 0 */
    uint64_t flags;       /* HAKO_TF_* */
    uint64_t rip;         /* where to resume */
    uint64_t cs;          /* HAKO_GUEST_CS64 (informational) */
    uint64_t rflags;      /* resumed with IF=1, IOPL=0; only arithmetic flags, DF, TF, AC kept */
    uint64_t rsp;         /* stack pointer to resume with */
    uint64_t ss;          /* HAKO_GUEST_DS (informational) */
};
HAKO_STATIC_ASSERT(sizeof(struct hako_trap_frame) == 96, "hako_trap_frame size");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_trap_frame, rip) == 56, "trap_frame rip offset");
#endif


#endif /* HAKO_TRAPS_H */
