/*
 * guest-pv/kernel/uvm.h: user address spaces: a private pinned top-level table per process
 * holding only its own pages in the lower half, and safe access to them from the kernel.
 */
#ifndef GUEST_UVM_H
#define GUEST_UVM_H

#include <stddef.h>
#include <stdint.h>

#define USER_TOP        0x0000800000000000ull   /* first non-user address */
#define USER_STACK_TOP  0x00007FFFFFFFF000ull
#define USER_STACK_MAX  (1ull << 20)            /* the stack grows on demand to this */
#define USER_MMAP_BASE  0x0000100000000000ull   /* anonymous mappings go up from here */
#define USER_RESERVE_PAGES 256                  /* kept free for the kernel */

struct uvm {
    uint64_t root;          /* pfn of the root table; 0: none */
    uint64_t pages;         /* user pages mapped */
};

/* A new, empty address space; 0 or -HOS_ENOMEM. */
long uvm_create(struct uvm *vm);

/* Free every page and table of vm (which must not be the active user table). */
void uvm_destroy(struct uvm *vm);

/* Map a fresh zeroed page at page-aligned va; its kernel alias, or NULL (out of memory,
 * or already mapped). */
void *uvm_map_zero(struct uvm *vm, uint64_t va, uint64_t flags);

/* Map zeroed pages over [va, va + len) (page-aligned); on failure nothing stays mapped.
 * 0, -HOS_ENOMEM, or -HOS_EINVAL for a range outside user space. */
long uvm_map_range(struct uvm *vm, uint64_t va, uint64_t len, uint64_t flags);

/* Unmap and free the pages in [va, va + len) (page-aligned; holes are fine). */
void uvm_unmap_range(struct uvm *vm, uint64_t va, uint64_t len);

/* Make dst a copy of src (fork); 0 or -HOS_ENOMEM (dst then holds a partial copy for
 * the caller to destroy). */
long uvm_copy(struct uvm *dst, const struct uvm *src);

/* Grow the stack to va: map the missing page holding va when it lies in the stack's
 * region; the kernel alias of va, or NULL (outside the region, already mapped, or out
 * of memory). */
void *uvm_grow_stack(struct uvm *vm, uint64_t va);

/* Kernel alias of the user byte at va when it is mapped (and writable, if write). A
 * missing page of the stack's region is mapped first, as a user access would grow it. */
void *uvm_ptr(struct uvm *vm, uint64_t va, int write);

/* Copy between kernel and user memory; 0 or -HOS_EFAULT. */
long copy_from_user(struct uvm *vm, void *dst, uint64_t uva, size_t n);
long copy_to_user(struct uvm *vm, uint64_t uva, const void *src, size_t n);

/* Copy a NUL-terminated user string of at most max-1 characters; its length,
 * -HOS_EFAULT or -HOS_ENAMETOOLONG. */
long strncpy_from_user(struct uvm *vm, char *dst, uint64_t uva, size_t max);

#endif /* GUEST_UVM_H */
