/*
 * guest-pv/arch/trap/entry_trap.S: the trap backend's CPU entry points, written as a
 * native kernel's are: one IDT stub per vector, the LSTAR syscall entry, and the way
 * back with iretq or sysretq (both fault in ring 3 and are emulated). Each entry turns
 * the CPU's frame into the kernel's struct hako_trap_frame in place and jumps to the
 * handler the kernel registered (trap_handlers[], privops.c).
 *
 * CPU frame (after the stub's pushes):   [vector] [error] rip cs rflags rsp ss
 * struct hako_trap_frame:  rax rcx r11 vector error fault_addr flags rip cs rflags rsp ss
 * rip..ss are already where the trap frame wants them (offset 56): 40 bytes below the
 * pushes make room for rax, rcx, r11 and the two slots the CPU has no value for.
 */
#include <hako/traps.h>
#include <hako/trapmode.h>

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
/* Stubs: vectors 0..31 and the event vector, each 16 bytes (trap_stub + 16 * vector). */
    .globl trap_stubs
    .p2align 4
trap_stubs:
    .set vec, 0
    .rept 33
    .p2align 4
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    .if vec == HAKO_TRAP_EVENT_VECTOR
    pushq $HAKO_TRAP_EVENT
    .else
    pushq $vec
    .endif
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
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
    cmpq $HAKO_TRAP_USER_CS, TF_CS(%rsp)
    jne 2f
    orl $HAKO_TF_USER, %ecx
2:  testq $RFLAGS_IF, TF_RFLAGS(%rsp)
    jnz 3f
    orl $HAKO_TF_EVENTS_MASKED, %ecx
3:  movq %rcx, TF_FLAGS(%rsp)
    cmpq $HAKO_TRAP_EVENT, %rax
    jne 4f
    movl $32, %eax                  /* trap_handlers[32]: the event entry */
4:  leaq trap_handlers(%rip), %rcx
    movq (%rcx,%rax,8), %rax
    movq %rax, %r11
    movq TF_RAX(%rsp), %rax
    movq TF_RCX(%rsp), %rcx
    jmp *%r11                       /* r11 is in the frame: the handler restores it */

/* syscall from user mode: rcx = user rip, r11 = user rflags, rsp = user rsp, events
 * masked by SFMASK. Switch to the process's kernel stack and build the frame. */
    .globl trap_syscall_entry
trap_syscall_entry:
    movq %rsp, trap_user_rsp(%rip)
    movq trap_kernel_rsp(%rip), %rsp
    pushq $HAKO_TRAP_USER_SS
    pushq trap_user_rsp(%rip)
    pushq %r11
    pushq $HAKO_TRAP_USER_CS
    pushq %rcx
    pushq $HAKO_TF_USER
    pushq $0                        /* fault_addr */
    pushq $0                        /* error */
    pushq $HAKO_TRAP_SYSCALL
    pushq %r11
    pushq %rcx
    pushq %rax
    jmp *trap_handlers+33*8(%rip)   /* the syscall entry the kernel set */

/* privops->trap_return: rsp at a struct hako_trap_frame, every register but rax, rcx,
 * r11 restored. A syscall's return to user mode uses sysretq (rcx and r11 are the
 * syscall's to clobber); everything else iretq with the frame's mode and mask. */
    .globl trap_trap_return
trap_trap_return:
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
6:  movq $HAKO_TRAP_USER_CS, TF_CS(%rsp)
    movq $HAKO_TRAP_USER_SS, TF_SS(%rsp)
    jmp 7f
5:  movq $HAKO_TRAP_KERNEL_CS, TF_CS(%rsp)
    movq $HAKO_TRAP_KERNEL_SS, TF_SS(%rsp)
7:  movq TF_RFLAGS(%rsp), %rcx      /* IF = !EVENTS_MASKED, as the PV iret does */
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

/* long trap_resume(struct hako_trap_frame *frame): privops->resume; never returns. */
    .globl trap_resume
trap_resume:
    movq %rdi, %rsp
    jmp trap_trap_return

    .bss
    .p2align 3
trap_user_rsp:  .quad 0
    .globl trap_kernel_rsp
trap_kernel_rsp: .quad 0
