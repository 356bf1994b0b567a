/* guest-pv/user_blob.S: the first user program's ELF image, carried in the kernel. */
    .section .rodata
    .p2align 3
    .globl user_init_start, user_init_end
user_init_start:
    .incbin USER_INIT_PATH
user_init_end:
