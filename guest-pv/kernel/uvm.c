/*
 * guest-pv/kernel/uvm.c: user address spaces built with batched page-table updates.
 *
 * The kernel's table does not map user pages, and a user table does not map the kernel:
 * the platform switches between them on every transition. The kernel reaches user
 * memory through its linear map of all frames, after walking the user tables (uvm_ptr).
 */
#include "uvm.h"

#include <hako/memory.h>

#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "user/hos.h"

/* The flags of va's leaf entry in vm (0 = not mapped), the pfn it maps in *pfn. */
static uint64_t leaf(const struct uvm *vm, uint64_t va, uint64_t *pfn)
{
    return mm_leaf(vm->root, va, pfn);
}

long uvm_create(struct uvm *vm)
{
    if (pfn_free_count() < USER_RESERVE_PAGES)
        return -HOS_ENOMEM;
    vm->pages = 0;
    vm->root = mm_new_root();
    return vm->root ? 0 : -HOS_ENOMEM;
}

/* The end of the pages from off (at most len) that va + off's leaf table maps (its 2 MiB). */
static uint64_t leaf_end(uint64_t va, uint64_t off, uint64_t len)
{
    uint64_t span = (1ull << 21) - ((va + off) & ((1ull << 21) - 1));
    return len - off < span ? len : off + span;
}

/* Map a fresh zeroed page at va through its leaf table t (the table on va's walk), unless
 * va is mapped already or memory is short; the page's kernel address or NULL. The
 * entry may stay queued: callers' queues hold nothing for va (each of their calls maps a
 * different page), so the check reads the table as it is. */
static void *map_zero_at(struct uvm *vm, uint64_t t, uint64_t va, uint64_t flags)
{
    uint64_t old, pfn;
    unsigned idx = mm_index(va, 1);
    if (pfn_free_count() < USER_RESERVE_PAGES || (privops->pt_read(t, idx, &old) & HAKO_PTE_P) ||
        !(pfn = pfn_alloc()))
        return NULL;
    if (privops->pt_write(t, idx, pfn, flags)) {
        pfn_free(pfn);
        return NULL;
    }
    vm->pages++;
    return pfn_to_va(pfn);
}

/* uvm_map_zero without applying queued updates first (map_zero_at's condition). */
static void *map_zero(struct uvm *vm, uint64_t va, uint64_t flags)
{
    uint64_t t;
    if (va >= USER_TOP || (va & (PAGE_SIZE - 1)) || pfn_free_count() < USER_RESERVE_PAGES ||
        mm_leaf_table(vm->root, va, &t))
        return NULL;
    return map_zero_at(vm, t, va, flags);
}

void *uvm_map_zero(struct uvm *vm, uint64_t va, uint64_t flags)
{
    mm_flush();                       /* an earlier call may have queued va itself */
    return map_zero(vm, va, flags);
}

long uvm_map_range(struct uvm *vm, uint64_t va, uint64_t len, uint64_t flags)
{
    if (va >= USER_TOP || USER_TOP - va < len || ((va | len) & (PAGE_SIZE - 1)))
        return -HOS_EINVAL;
    mm_flush();                       /* then one batch for the whole range */
    uint64_t off = 0;
    while (off < len) {
        uint64_t t, end = leaf_end(va, off, len);
        if (mm_leaf_table(vm->root, va + off, &t))
            goto fail;
        for (; off < end; off += PAGE_SIZE)     /* one walk per leaf table */
            if (!map_zero_at(vm, t, va + off, flags))
                goto fail;
    }
    return mm_flush() ? -HOS_ENOMEM : 0;
fail:
    uvm_unmap_range(vm, va, off);
    return -HOS_ENOMEM;
}

/* When no leaf table covers va: the bytes from va to the end of the region the missing
 * table would cover (nothing there is mapped); 0 when va has a leaf table. */
static uint64_t table_hole(const struct uvm *vm, uint64_t va)
{
    uint64_t t;
    if (mm_table(vm->root, va, 1, &t))
        return 0;
    for (unsigned level = 3; level >= 1; level--) {
        if (!mm_table(vm->root, va, level, &t)) {
            uint64_t span = 1ull << (12 + 9 * level);
            return span - (va & (span - 1));
        }
    }
    return 0;
}

void uvm_unmap_range(struct uvm *vm, uint64_t va, uint64_t len)
{
    uint64_t freed[64];
    unsigned n = 0;
    mm_flush();
    for (uint64_t off = 0; off < len;) {
        uint64_t t;
        if (!mm_table(vm->root, va + off, 1, &t)) {
            off += table_hole(vm, va + off);    /* whole tables missing: skip what they */
            continue;                           /* would map */
        }
        uint64_t end = leaf_end(va, off, len);
        for (; off < end; off += PAGE_SIZE) {   /* one walk per leaf table */
            uint64_t pfn;
            unsigned idx = mm_index(va + off, 1);
            if (!(privops->pt_read(t, idx, &pfn) & HAKO_PTE_P))
                continue;
            privops->pt_write(t, idx, 0, 0);
            freed[n++] = pfn;
            if (n == 64) {
                mm_flush();           /* the frames are free only once unmapped */
                while (n)
                    pfn_free(freed[--n]);
            }
            vm->pages--;
        }
    }
    mm_flush();
    while (n)
        pfn_free(freed[--n]);
}

/* Call fn(va, pfn, flags, ctx) for every present user leaf under the table at level. */
static long walk(uint64_t table, unsigned level, uint64_t base,
                 long (*fn)(uint64_t va, uint64_t pfn, uint64_t flags, void *ctx), void *ctx)
{
    unsigned n = level == 4 ? 256 : 512;
    for (unsigned i = mm_next_present(table, 0, n); i < n; i = mm_next_present(table, i + 1, n)) {
        uint64_t pfn, flags = privops->pt_read(table, i, &pfn);
        if (!(flags & HAKO_PTE_P))
            continue;
        uint64_t va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
        long rc = level == 1 ? fn(va, pfn, flags, ctx) : walk(pfn, level - 1, va, fn, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* Fork helper: copy one page of the parent into the child. */
static long copy_page(uint64_t va, uint64_t pfn, uint64_t flags, void *ctx)
{
    struct uvm *dst = ctx;
    void *page = map_zero(dst, va, flags & (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX));
    if (!page)
        return -HOS_ENOMEM;
    memcpy(page, pfn_to_va(pfn), PAGE_SIZE);
    return 0;
}

long uvm_copy(struct uvm *dst, const struct uvm *src)
{
    mm_flush();
    long rc = walk(src->root, 4, 0, copy_page, dst);
    long frc = mm_flush();
    return rc ? rc : frc ? -HOS_ENOMEM : 0;
}

/* Released tables of an address space being torn down, free once the release has been
 * committed (the kernel does not preempt itself). */
static uint64_t dead_tables[64];
static unsigned ndead;

/* Free the tables in dead_tables once their release is committed. */
static void free_dead_tables(void)
{
    mm_flush();
    while (ndead)
        pfn_free_released(dead_tables[--ndead]);
}

/* Teardown helper: release the table at pfn and `level` (user half only) after its root
 * was released, and free it, the data pages and the tables under it. */
static void free_table(uint64_t table, unsigned level)
{
    unsigned n = level == 4 ? 256 : 512;
    for (unsigned i = mm_next_present(table, 0, n); i < n; i = mm_next_present(table, i + 1, n)) {
        uint64_t child;
        if (!(privops->pt_read(table, i, &child) & HAKO_PTE_P))
            continue;
        if (level == 1)
            pfn_free(child);
        else
            free_table(child, level - 1);
    }
    if (level != 4)
        privops->pt_release(table, level);
    dead_tables[ndead++] = table;
    if (ndead == sizeof(dead_tables) / sizeof(dead_tables[0]))
        free_dead_tables();
}

void uvm_destroy(struct uvm *vm)
{
    if (!vm->root)
        return;
    mm_flush();
    privops->pt_release(vm->root, 4);   /* the root first: that ends the tree's use */
    free_table(vm->root, 4);
    free_dead_tables();
    vm->root = 0;
    vm->pages = 0;
}

void *uvm_grow_stack(struct uvm *vm, uint64_t va)
{
    if (va < USER_STACK_TOP - USER_STACK_MAX || va >= USER_STACK_TOP)
        return NULL;
    char *page = uvm_map_zero(vm, va & ~(PAGE_SIZE - 1), PTE_USER_RW);
    return page && mm_flush() == 0 ? page + (va & (PAGE_SIZE - 1)) : NULL;
}

void *uvm_ptr(struct uvm *vm, uint64_t va, int write)
{
    uint64_t pfn;
    if (va >= USER_TOP || !vm->root)
        return NULL;
    uint64_t e = leaf(vm, va, &pfn);
    if (!(e & HAKO_PTE_P))
        return uvm_grow_stack(vm, va);
    if (!(e & HAKO_PTE_U) ||
        (write && !(e & HAKO_PTE_W)))
        return NULL;
    return (char *)pfn_to_va(pfn) + (va & (PAGE_SIZE - 1));
}

/* Copy n bytes between kernel buf and user uva in either direction. */
static long user_copy(struct uvm *vm, uint64_t uva, void *buf, size_t n, int to_user)
{
    char *k = buf;
    mm_flush();
    if (uva >= USER_TOP || USER_TOP - uva < n)
        return -HOS_EFAULT;
    while (n) {
        char *u = uvm_ptr(vm, uva, to_user);
        if (!u)
            return -HOS_EFAULT;
        size_t chunk = PAGE_SIZE - (uva & (PAGE_SIZE - 1));
        chunk = chunk < n ? chunk : n;
        if (to_user)
            memcpy(u, k, chunk);
        else
            memcpy(k, u, chunk);
        k += chunk, uva += chunk, n -= chunk;
    }
    return 0;
}

long copy_from_user(struct uvm *vm, void *dst, uint64_t uva, size_t n)
{
    return user_copy(vm, uva, dst, n, 0);
}

long copy_to_user(struct uvm *vm, uint64_t uva, const void *src, size_t n)
{
    return user_copy(vm, uva, (void *)(uintptr_t)src, n, 1);  /* to_user: only read */
}

long strncpy_from_user(struct uvm *vm, char *dst, uint64_t uva, size_t max)
{
    size_t i = 0;
    mm_flush();
    while (i < max) {
        const char *u = uvm_ptr(vm, uva + i, 0);
        if (!u)
            return -HOS_EFAULT;
        size_t chunk = PAGE_SIZE - ((uva + i) & (PAGE_SIZE - 1));
        for (size_t end = i + chunk; i < end && i < max; i++, u++)
            if ((dst[i] = *u) == 0)
                return (long)i;
    }
    return -HOS_ENAMETOOLONG;
}
