/*
 * guest-pv/arch/native/head.S: the kernel's entry with no hypervisor. QEMU loads the
 * native image (kernel-native.ld) at its physical addresses through the PVH note and
 * enters native_start32 in 32-bit protected mode, paging off, ebx = the physical
 * address of the PVH start info. Here: long mode on early tables that map the first
 * GiB both at 0 and at the kernel's base (NATIVE_VIRT_BASE + physical address), then
 * native_boot(pvh_pa) in boot.c on the boot stack. The hako ABI note is absent on
 * purpose: the hypervisor must not take this image for a PV guest.
 */
#define NATIVE_VIRT_BASE 0xFFFFFFFF80000000
#define PHYS(x) ((x) - NATIVE_VIRT_BASE)
#define MSR_EFER 0xC0000080
#define EFER_SCE (1 << 0)
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

    .section .note.pvh, "a"
    .p2align 2
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long PHYS(native_start32)

    .section .text.boot, "ax"
    .code32
    .globl native_start32
native_start32:
    cli
    cld
    movl %ebx, %esi                         /* keep the start-info address */
    lgdt PHYS(early_gdt_ptr)
    movl $PHYS(native_boot_stack_top), %esp
    movl %cr4, %eax
    orl $(1 << 5), %eax                     /* PAE */
    movl %eax, %cr4
    movl $PHYS(early_l4), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $(EFER_LME | EFER_SCE | EFER_NXE), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010021, %eax                   /* PG | WP | NE | PE */
    movl %eax, %cr0
    ljmp $0x08, $PHYS(start64_low)

    .code64
start64_low:
    movabsq $start64_high, %rax
    jmp *%rax
start64_high:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movabsq $native_boot_stack_top, %rsp
    xorl %ebp, %ebp                         /* end of the frame-pointer chain */
    movl %esi, %edi                         /* native_boot(start_info_pa) */
    call native_boot
1:  ud2
    jmp 1b

    .data
    .p2align 3
early_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF                /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF                /* 0x10: data, DPL 0 */
early_gdt_end:
early_gdt_ptr:
    .word early_gdt_end - early_gdt - 1
    .long PHYS(early_gdt)

    /* L4[0] and L4[511] -> L3; L3[0] and L3[510] -> one L2 of 2 MiB pages (1 GiB). */
    .p2align 12
early_l4:
    .quad PHYS(early_l3) + 0x3
    .fill 510, 8, 0
    .quad PHYS(early_l3) + 0x3
early_l3:
    .quad PHYS(early_l2) + 0x3
    .fill 509, 8, 0
    .quad PHYS(early_l2) + 0x3
    .quad 0
early_l2:
    .set i, 0
    .rept 512
    .quad (i << 21) + 0x83                  /* present, writable, 2 MiB page */
    .set i, i + 1
    .endr

    .bss
    .p2align 12
    .globl native_boot_stack, native_boot_stack_top
native_boot_stack:
    .skip 16384
native_boot_stack_top:
