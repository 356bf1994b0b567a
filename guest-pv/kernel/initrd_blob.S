/* guest-pv/kernel/initrd_blob.S: dom0's initrd (cpio newc), carried in dom0's kernel image. */
    .section .rodata
    .p2align 12
    .globl initrd_start, initrd_end
initrd_start:
    .incbin INITRD_PATH
initrd_end:
