/*
 * guest-pv/uvm.c: user address spaces built with batched page-table updates.
 *
 * The kernel's table does not map user pages, and a user table does not map the kernel:
 * the hypervisor switches between them on every transition. The kernel reaches user
 * memory through its linear map of all frames, after walking the user tables (uvm_ptr).
 */
#include "uvm.h"

#include <hako/hypercall.h>

#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "user/hos.h"

/* The leaf entry for va in vm, or 0 if it is not mapped. */
static uint64_t leaf(const struct uvm *vm, uint64_t va)
{
    uint64_t maddr = mm_entry_maddr(vm->l4_mfn, va, 1);
    if (!maddr)
        return 0;
    return ((const uint64_t *)pfn_to_va(mfn_to_pfn(maddr >> 12)))[(maddr & 4095) / 8];
}

long uvm_create(struct uvm *vm)
{
    if (pfn_free_count() < USER_RESERVE_PAGES)
        return -HOS_ENOMEM;
    vm->pages = 0;
    vm->l4_mfn = mm_new_l4();
    return vm->l4_mfn ? 0 : -HOS_ENOMEM;
}

/* uvm_map_zero without applying queued updates first, for callers whose queue holds
 * nothing for va (each of their calls maps a different page): the check for an existing
 * mapping then reads the tables as they are, and the new entry stays queued. */
static void *map_zero(struct uvm *vm, uint64_t va, uint64_t flags)
{
    if (va >= USER_TOP || (va & (PAGE_SIZE - 1)) || pfn_free_count() < USER_RESERVE_PAGES)
        return NULL;
    if (leaf(vm, va) & HAKO_PTE_P)
        return NULL;
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return NULL;
    if (mm_map(vm->l4_mfn, va, pfn_to_mfn(pfn), flags)) {
        pfn_free(pfn);
        return NULL;
    }
    vm->pages++;
    return pfn_to_va(pfn);
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
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        if (!map_zero(vm, va + off, flags)) {
            uvm_unmap_range(vm, va, off);
            return -HOS_ENOMEM;
        }
    }
    return mm_flush() ? -HOS_ENOMEM : 0;
}

/* When no leaf table covers va: the bytes from va to the end of the region the missing
 * table would cover (nothing there is mapped); 0 when va has a leaf table. */
static uint64_t table_hole(const struct uvm *vm, uint64_t va)
{
    for (unsigned level = 4; level > 1; level--) {
        uint64_t maddr = mm_entry_maddr(vm->l4_mfn, va, level);
        uint64_t e = ((const uint64_t *)pfn_to_va(mfn_to_pfn(maddr >> 12)))[(maddr & 4095) / 8];
        if (!(e & HAKO_PTE_P)) {
            uint64_t span = 1ull << (12 + 9 * (level - 1));
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
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        uint64_t hole = table_hole(vm, va + off);
        if (hole) {                   /* whole tables missing: skip what they would map */
            off += hole - PAGE_SIZE;
            continue;
        }
        uint64_t e = leaf(vm, va + off);
        if (!(e & HAKO_PTE_P))
            continue;
        mm_unmap(vm->l4_mfn, va + off);
        freed[n++] = mfn_to_pfn((e & HAKO_PTE_ADDR) >> 12);
        if (n == 64) {
            mm_flush();               /* the frames are free only once unmapped */
            while (n)
                pfn_free(freed[--n]);
        }
        vm->pages--;
    }
    mm_flush();
    while (n)
        pfn_free(freed[--n]);
}

/* Call fn(va, entry, ctx) for every present user leaf under the table at level. */
static long walk(uint64_t mfn, unsigned level, uint64_t base,
                 long (*fn)(uint64_t va, uint64_t e, void *ctx), void *ctx)
{
    const uint64_t *t = pfn_to_va(mfn_to_pfn(mfn));
    unsigned n = level == 4 ? 256 : 512;
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = t[i];
        if (!(e & HAKO_PTE_P))
            continue;
        uint64_t va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
        long rc = level == 1 ? fn(va, e, ctx)
                             : walk((e & HAKO_PTE_ADDR) >> 12, level - 1, va, fn, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* Fork helper: copy one page of the parent into the child. */
static long copy_page(uint64_t va, uint64_t e, void *ctx)
{
    struct uvm *dst = ctx;
    void *page = map_zero(dst, va, e & (HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W | HAKO_PTE_NX));
    if (!page)
        return -HOS_ENOMEM;
    memcpy(page, pfn_to_va(mfn_to_pfn((e & HAKO_PTE_ADDR) >> 12)), PAGE_SIZE);
    return 0;
}

long uvm_copy(struct uvm *dst, const struct uvm *src)
{
    mm_flush();
    long rc = walk(src->l4_mfn, 4, 0, copy_page, dst);
    long frc = mm_flush();
    return rc ? rc : frc ? -HOS_ENOMEM : 0;
}

/* Tables of an address space being torn down, waiting for their linear aliases to be
 * writable again before they are free (the kernel does not preempt itself). */
static uint64_t dead_tables[64];
static unsigned ndead;

/* Free the tables in dead_tables once the queued remappings have run. */
static void free_dead_tables(void)
{
    privops->kick();
    while (ndead)
        pfn_free(dead_tables[--ndead]);
}

/* Teardown helper: free the unpinned table mfn at `level` (user half only), the data
 * pages and tables under it first; however many there are. */
static void free_table(uint64_t mfn, unsigned level)
{
    uint64_t pfn = mfn_to_pfn(mfn);
    const uint64_t *t = pfn_to_va(pfn);
    for (unsigned i = 0; i < (level == 4 ? 256u : 512u); i++) {
        if (!(t[i] & HAKO_PTE_P))
            continue;
        uint64_t child = (t[i] & HAKO_PTE_ADDR) >> 12;
        if (level == 1)
            pfn_free(mfn_to_pfn(child));
        else
            free_table(child, level - 1);
    }
    /* An ordinary frame again: make its linear alias writable (fire-and-forget, kicked
     * once per batch) and free it. */
    privops->queue(HAKO_HC_update_va_mapping, (uint64_t)t, (mfn << 12) | PTE_KERNEL_RW,
                   HAKO_UVMF_INVLPG);
    dead_tables[ndead++] = pfn;
    if (ndead == sizeof(dead_tables) / sizeof(dead_tables[0]))
        free_dead_tables();
}

void uvm_destroy(struct uvm *vm)
{
    if (!vm->l4_mfn)
        return;
    mm_flush();
    struct hako_mmuext_op unpin = { .cmd = HAKO_MMUEXT_UNPIN_TABLE, .arg1 = vm->l4_mfn };
    if (privops->mmuext(&unpin, 1))
        kprintf("uvm: cannot release an address space\n");
    free_table(vm->l4_mfn, 4);
    free_dead_tables();
    vm->l4_mfn = 0;
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
    if (va >= USER_TOP || !vm->l4_mfn)
        return NULL;
    uint64_t e = leaf(vm, va);
    if (!(e & HAKO_PTE_P))
        return uvm_grow_stack(vm, va);
    if (!(e & HAKO_PTE_U) ||
        (write && !(e & HAKO_PTE_W)))
        return NULL;
    return (char *)pfn_to_va(mfn_to_pfn((e & HAKO_PTE_ADDR) >> 12)) + (va & (PAGE_SIZE - 1));
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
