/*
 * hypervisor/boot.S: PVH entry (32-bit protected mode, paging off) to 64-bit long mode.
 *
 * QEMU loads the image at its physical (LMA) addresses and jumps to pvh_start32 with
 * ebx = physical address of the PVH start info. We map the first 4 GiB both at 0
 * (identity, dropped later by paging_init) and in the direct map at DIRECTMAP_BASE,
 * enter long mode, move to the high addresses and call hv_main(start_info_pa).
 */
#include "x86.h"

#define KBASE 0xFFFF800000000000
#define PHYS(x) ((x) - KBASE)

    .section .note.pvh, "a"
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long PHYS(pvh_start32)

    .section .boot.text, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %esi                         /* keep the start-info address */
    lgdt PHYS(early_gdt_ptr)
    movl $PHYS(boot_stack_top), %esp

    /* Long mode and NX availability (extended leaf 0x80000001, edx bits 29 and 20). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode
    movl %edx, %edi

    movl %cr4, %eax
    orl $(1 << 5), %eax                     /* PAE */
    movl %eax, %cr4
    movl $PHYS(early_l4), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_SCE), %eax
    btl $20, %edi
    jnc 1f
    orl $EFER_NXE, %eax
1:  wrmsr
    movl %cr0, %eax
    orl $0x80010021, %eax                   /* PG | WP | NE | PE */
    movl %eax, %cr0
    ljmp $SEL_HV_CS, $PHYS(start64_low)

no_long_mode:
    /* Say so on COM1, then stop the machine through isa-debug-exit (status 127). */
    movl $PHYS(no_lm_msg), %ebx
2:  movb (%ebx), %al
    testb %al, %al
    jz 3f
    movw $0x3F8, %dx
    outb %al, %dx
    incl %ebx
    jmp 2b
3:  movb $127, %al
    movw $0xF4, %dx
    outb %al, %dx
4:  hlt
    jmp 4b

    .code64
start64_low:
    movabsq $start64_high, %rax
    jmp *%rax

    .text
start64_high:
    movl $SEL_HV_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    movl %esi, %edi                         /* hv_main(start_info_pa) */
    call hv_main
5:  hlt
    jmp 5b

    .section .boot.data, "aw"
    .p2align 3
early_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF                /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF                /* 0x10: data, DPL 0 */
early_gdt_end:
early_gdt_ptr:
    .word early_gdt_end - early_gdt - 1
    .long PHYS(early_gdt)
no_lm_msg:
    .asciz "hako: this CPU has no long mode\r\n"

    /* Early page tables: L4[0] and L4[256] -> one L3 whose first 4 entries map 4 GiB. */
    .p2align 12
    .globl early_l4
early_l4:
    .quad PHYS(early_l3) + 0x3
    .fill 255, 8, 0
    .quad PHYS(early_l3) + 0x3
    .fill 255, 8, 0
early_l3:
    .quad PHYS(early_l2) + 0x3
    .quad PHYS(early_l2) + 0x1000 + 0x3
    .quad PHYS(early_l2) + 0x2000 + 0x3
    .quad PHYS(early_l2) + 0x3000 + 0x3
    .fill 508, 8, 0
early_l2:
    .set i, 0
    .rept 2048
    .quad (i << 21) + 0x83                  /* present, writable, 2 MiB page */
    .set i, i + 1
    .endr

    .section .bss
    .p2align 12
    .globl boot_stack_top
boot_stack:
    .skip 16384
boot_stack_top:
