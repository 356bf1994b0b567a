/* tests/xtf/domu/image.S: the domU kernel's ELF image, carried in test-domains.elf. */
    .section .rodata
    .p2align 3
    .globl domu_image_start, domu_image_end
domu_image_start:
    .incbin DOMU_PATH
domu_image_end:
