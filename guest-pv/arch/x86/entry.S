/*
 * guest-pv/arch/x86/entry.S: the CPU entry points of the trap and native backends, as a
 * native kernel has them: one IDT stub per vector, the LSTAR syscall entry, and the way
 * back with iretq or sysretq (in trap mode both fault in ring 3 and are emulated). Each
 * entry turns the CPU's frame into the kernel's struct hako_trap_frame in place and
 * jumps to the handler registered for it (x86_handlers[], cpu.c). The selectors it
 * writes are x86_sel's; a frame is from user mode when its CS has RPL 3. A device
 * vector (X86_VECTOR_IRQ0..) notes its bit in x86_irqs_pending and enters as an event.
 *
 * CPU frame (after the stub's pushes):   [vector] [error] rip cs rflags rsp ss
 * struct hako_trap_frame:  rax rcx r11 vector error fault_addr flags rip cs rflags rsp ss
 * rip..ss are already where the trap frame wants them (offset 56): 40 bytes below the
 * pushes make room for rax, rcx, r11 and the two slots the CPU has no value for.
 */
#include <hako/traps.h>

#include "x86.h"

#define TF_RAX     0
#define TF_RCX     8
#define TF_R11     16
#define TF_VECTOR  24
#define TF_ERROR   32
#define TF_FAULT   40
#define TF_FLAGS   48
#define TF_RIP     56
#define TF_CS      64
#define TF_RFLAGS  72
#define TF_RSP     80
#define TF_SS      88
#define RFLAGS_IF  0x200

    .text
/* Stubs: vectors 0..X86_VECTORS-1, each 16 bytes (x86_stubs + 16 * vector). */
    .globl x86_stubs
    .p2align 4
x86_stubs:
    .set vec, 0
    .rept X86_VECTORS
    .p2align 4
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    .if vec >= X86_VECTOR_EVENT
    pushq $(vec - X86_VECTOR_EVENT)
    jmp x86_irq_common
    .else
    pushq $vec
    jmp x86_common
    .endif
    .set vec, vec + 1
    .endr

/* An event or device vector: note which (bit vec - X86_VECTOR_IRQ0; the event vector's
 * is none), then go on as HAKO_TRAP_EVENT. */
x86_irq_common:
    pushq %rcx
    movq 8(%rsp), %rcx
    testq %rcx, %rcx
    jz 1f
    decq %rcx
    lock btsq %rcx, x86_irqs_pending(%rip)
1:  popq %rcx
    movq $HAKO_TRAP_EVENT, (%rsp)

x86_common:
    subq $40, %rsp
    movq %rax, TF_RAX(%rsp)
    movq %rcx, TF_RCX(%rsp)
    movq %r11, TF_R11(%rsp)
    movq 40(%rsp), %rax             /* the stub's vector ... */
    movq 48(%rsp), %rcx             /* ... and the error code, moved down two slots */
    movq %rax, TF_VECTOR(%rsp)
    movq %rcx, TF_ERROR(%rsp)
    xorl %ecx, %ecx
    cmpq $14, %rax
    jne 1f
    movq %cr2, %rcx                 /* emulated: the virtual CR2 */
1:  movq %rcx, TF_FAULT(%rsp)
    xorl %ecx, %ecx
    testb $3, TF_CS(%rsp)
    jz 2f
    orl $HAKO_TF_USER, %ecx
2:  testq $RFLAGS_IF, TF_RFLAGS(%rsp)
    jnz 3f
    orl $HAKO_TF_EVENTS_MASKED, %ecx
3:  movq %rcx, TF_FLAGS(%rsp)
    cmpq $HAKO_TRAP_EVENT, %rax
    jne 4f
    movl $X86_VECTOR_EVENT, %eax    /* x86_handlers[X86_VECTOR_EVENT]: the event entry */
4:  leaq x86_handlers(%rip), %rcx
    movq (%rcx,%rax,8), %rax
    movq %rax, %r11
    movq TF_RAX(%rsp), %rax
    movq TF_RCX(%rsp), %rcx
    jmp *%r11                       /* r11 is in the frame: the handler restores it */

/* syscall from user mode: rcx = user rip, r11 = user rflags, rsp = user rsp, events
 * masked by SFMASK. Switch to the process's kernel stack and build the frame. */
    .globl x86_syscall_entry
x86_syscall_entry:
    movq %rsp, x86_user_rsp(%rip)
    movq x86_kernel_rsp(%rip), %rsp
    pushq x86_sel+X86_SEL_OFF_USER_CS+8(%rip)
    pushq x86_user_rsp(%rip)
    pushq %r11
    pushq x86_sel+X86_SEL_OFF_USER_CS(%rip)
    pushq %rcx
    pushq $HAKO_TF_USER
    pushq $0                        /* fault_addr */
    pushq $0                        /* error */
    pushq $HAKO_TRAP_SYSCALL
    pushq %r11
    pushq %rcx
    pushq %rax
    jmp *x86_handlers+X86_VECTORS*8(%rip)   /* the syscall entry the kernel set */

/* privops->trap_return: rsp at a struct hako_trap_frame, every register but rax, rcx,
 * r11 restored. A syscall's return to user mode uses sysretq (rcx and r11 are the
 * syscall's to clobber); everything else iretq with the frame's mode and mask. */
    .globl x86_trap_return
x86_trap_return:
    movq TF_FLAGS(%rsp), %rax
    testq $HAKO_TF_USER, %rax
    jz 5f
    cmpq $HAKO_TRAP_SYSCALL, TF_VECTOR(%rsp)
    jne 6f
    movq TF_RIP(%rsp), %rcx
    movq TF_RFLAGS(%rsp), %r11
    orq $RFLAGS_IF, %r11            /* user mode always runs with events on */
    movq TF_RAX(%rsp), %rax
    movq TF_RSP(%rsp), %rsp
    sysretq
6:  leaq x86_sel+X86_SEL_OFF_USER_CS(%rip), %rcx
    jmp 7f
5:  leaq x86_sel+X86_SEL_OFF_KERNEL_CS(%rip), %rcx
7:  movq (%rcx), %r11
    movq %r11, TF_CS(%rsp)
    movq 8(%rcx), %r11              /* the SS after the CS, user and kernel alike */
    movq %r11, TF_SS(%rsp)
  movq TF_RFLAGS(%rsp), %rcx      /* IF = !EVENTS_MASKED, as the PV iret does */
    andq $~RFLAGS_IF, %rcx
    testq $HAKO_TF_EVENTS_MASKED, %rax
    jnz 8f
    orq $RFLAGS_IF, %rcx
8:  movq %rcx, TF_RFLAGS(%rsp)
    movq TF_RAX(%rsp), %rax
    movq TF_RCX(%rsp), %rcx
    movq TF_R11(%rsp), %r11
    addq $TF_RIP, %rsp
    iretq

/* long x86_resume(struct hako_trap_frame *frame): privops->resume; never returns. */
    .globl x86_resume
x86_resume:
    movq %rdi, %rsp
    jmp x86_trap_return

    .bss
    .p2align 3
x86_user_rsp:   .quad 0
    .globl x86_kernel_rsp, x86_irqs_pending
x86_kernel_rsp: .quad 0
x86_irqs_pending: .quad 0       /* bit n: device vector X86_VECTOR_IRQ0 + n fired */
