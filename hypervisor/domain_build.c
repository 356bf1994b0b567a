/*
 * hypervisor/domain_build.c: the domain builder (see ABI.md "Boot protocol").
 *
 * Pseudo-physical layout, in pfn order from virt_base (the kernel's lowest page):
 *   [kernel image pages][start info][shared info][p2m][page tables][boot stack]
 *   [console page, domUs only][boot module pages, if any][free...]
 * and pfns [0, nr_mapped) are mapped at virt_base + pfn * 4 KiB. Page tables are L4,
 * then the L3s, L2s and L1s, each level in address order, all mapped read-only.
 * Pfn order is the order of the domain's frame list, so every step below is one
 * in-order walk of that list with cursors; no pfn->mfn array is needed.
 */
#include "domain_build.h"

#include <hako/arch-x86_64.h>
#include <hako/errno.h>
#include <hako/start_info.h>
#include <hako/version.h>

#include "cpu.h"
#include "elf.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "paging.h"
#include "panic.h"
#include "time.h"

struct layout {
    uint64_t virt_base, nr_pages, nr_mapped;
    uint64_t kernel_pages, si_pfn, shinfo_pfn, p2m_pfn, p2m_pages;
    uint64_t pt_pfn, nr_l3, nr_l2, nr_l1, nr_pt, stack_pfn, console_pfn, mod_pfn, mod_pages;
    uint64_t first_free;
};

/* Number of distinct tables at the level of `shift` covering [va, va + n pages). */
static uint64_t tables_needed(uint64_t va, uint64_t n, unsigned shift)
{
    uint64_t last = va + (n << PAGE_SHIFT) - 1;
    return (last >> shift) - (va >> shift) + 1;
}

/* Compute the boot layout; 0 or -HAKO_ENOMEM/-HAKO_E2BIG when it cannot fit. */
static int plan_layout(const struct elf_image *img, const struct domain_build_params *p,
                       uint64_t window_end, struct layout *l, const char **why)
{
    uint64_t nr_pages = p->nr_pages;
    l->virt_base = img->va_lo;
    l->nr_pages = nr_pages;
    l->kernel_pages = (img->va_hi - img->va_lo) >> PAGE_SHIFT;
    l->nr_mapped = MIN(nr_pages, (window_end - l->virt_base) >> PAGE_SHIFT);
    l->si_pfn = l->kernel_pages;
    l->shinfo_pfn = l->si_pfn + 1;
    l->p2m_pfn = l->shinfo_pfn + 1;
    l->p2m_pages = ALIGN_UP(nr_pages * 8, PAGE_SIZE) >> PAGE_SHIFT;
    l->pt_pfn = l->p2m_pfn + l->p2m_pages;
    l->nr_l3 = tables_needed(l->virt_base, l->nr_mapped, 39);
    l->nr_l2 = tables_needed(l->virt_base, l->nr_mapped, 30);
    l->nr_l1 = tables_needed(l->virt_base, l->nr_mapped, 21);
    l->nr_pt = 1 + l->nr_l3 + l->nr_l2 + l->nr_l1;
    l->stack_pfn = l->pt_pfn + l->nr_pt;
    l->console_pfn = l->stack_pfn + BOOT_STACK_PAGES;   /* = mod_pfn when no console */
    l->mod_pfn = l->console_pfn + (p->console ? 1 : 0);
    l->mod_pages = ALIGN_UP(p->module_len, PAGE_SIZE) >> PAGE_SHIFT;
    l->first_free = l->mod_pfn + l->mod_pages;
    if (1 + l->nr_l3 + l->nr_l2 > MAX_UPPER_TABLES) {
        *why = "initial mapping too large";
        return -HAKO_E2BIG;
    }
    if (l->first_free > l->nr_mapped) {
        *why = "memory too small for the kernel, its boot layout and module";
        return -HAKO_ENOMEM;
    }
    return 0;
}

/* Leaf PTE rights for pfn under the layout: ELF flags for the kernel image, read-only
 * for page tables, read-write otherwise; no-execute wherever the ELF did not ask for X. */
static uint64_t leaf_flags(const struct layout *l, const struct elf_image *img, uint64_t pfn)
{
    uint64_t nx = cpu_has.nx ? PTE_NX : 0;
    uint64_t base = PTE_P | PTE_U;
    if (pfn >= l->pt_pfn && pfn < l->pt_pfn + l->nr_pt)
        return base | nx;
    if (pfn >= l->kernel_pages)
        return base | PTE_W | nx;
    uint64_t va = l->virt_base + (pfn << PAGE_SHIFT);
    for (unsigned s = 0; s < img->nr_segments; s++) {
        const struct elf_segment *seg = &img->seg[s];
        uint64_t lo = ALIGN_DOWN(seg->vaddr, PAGE_SIZE);
        uint64_t hi = ALIGN_UP(seg->vaddr + seg->memsz, PAGE_SIZE);
        if (va >= lo && (va < hi || hi == 0))
            return base | ((seg->flags & ELF_PF_W) ? PTE_W : 0) |
                   ((seg->flags & ELF_PF_X) ? 0 : nx);
    }
    return base | PTE_W | nx;            /* a gap between segments */
}

/* Copy the file-backed bytes of every segment that fall in kernel page va into dst. */
static void load_page(const struct domain_build_params *p, const struct elf_image *img,
                      uint64_t va, char *dst)
{
    for (unsigned s = 0; s < img->nr_segments; s++) {
        const struct elf_segment *seg = &img->seg[s];
        uint64_t lo = MAX(va, seg->vaddr);
        uint64_t hi = MIN(va + PAGE_SIZE - 1, seg->vaddr + seg->filesz - 1);
        if (seg->filesz == 0 || lo > hi)
            continue;
        memcpy(dst + (lo - va), (const char *)p->image + seg->offset + (lo - seg->vaddr),
               hi - lo + 1);
    }
}

/* Next frame after mfn on its owner's list. */
static mfn_t list_next(mfn_t mfn)
{
    return _mfn(frame_get(mfn)->next);
}

/* Walk the domain's frames in pfn order, loading the kernel and filling p2m and the
 * page tables. upper[] holds the mfns of the L4, L3s and L2s (in that order). */
static void fill_memory(struct domain *d, const struct domain_build_params *p,
                        const struct elf_image *img, const struct layout *l,
                        const mfn_t *upper, mfn_t l1_first, mfn_t p2m_first)
{
    uint64_t intermediate = PTE_P | PTE_W | PTE_U;
    uint64_t *l4 = mfn_to_virt(upper[0]);
    paging_copy_hv_slots(l4);
    for (uint64_t i = 0; i < l->nr_l3; i++) {
        uint64_t va = l->virt_base + (i << 39);
        l4[L4_INDEX(va)] = mfn_to_maddr(upper[1 + i]) | intermediate;
    }
    for (uint64_t i = 0; i < l->nr_l2; i++) {
        uint64_t va = ALIGN_DOWN(l->virt_base, 1ull << 30) + (i << 30);
        uint64_t *l3 = mfn_to_virt(upper[1 + (va >> 39) - (l->virt_base >> 39)]);
        l3[L3_INDEX(va)] = mfn_to_maddr(upper[1 + l->nr_l3 + i]) | intermediate;
    }

    mfn_t p2m_cur = p2m_first, l1_cur = l1_first, mfn = _mfn(d->mem.head);
    uint64_t *p2m = mfn_to_virt(p2m_cur);
    uint64_t *l1 = mfn_to_virt(l1_cur);
    for (uint64_t pfn = 0; pfn < l->nr_pages; pfn++, mfn = list_next(mfn)) {
        if (pfn && pfn % 512 == 0)
            p2m = mfn_to_virt(p2m_cur = list_next(p2m_cur));
        p2m[pfn % 512] = mfn_x(mfn);
        m2p_set(mfn, _pfn(pfn));
        if (pfn < l->kernel_pages)
            load_page(p, img, l->virt_base + (pfn << PAGE_SHIFT), mfn_to_virt(mfn));
        if (pfn >= l->nr_mapped)
            continue;
        uint64_t va = l->virt_base + (pfn << PAGE_SHIFT);
        if (pfn && L1_INDEX(va) == 0)
            l1 = mfn_to_virt(l1_cur = list_next(l1_cur));
        if (pfn == 0 || L1_INDEX(va) == 0) {
            uint64_t *l2 = mfn_to_virt(upper[1 + l->nr_l3 + (va >> 30) - (l->virt_base >> 30)]);
            l2[L2_INDEX(va)] = mfn_to_maddr(l1_cur) | intermediate;
        }
        l1[L1_INDEX(va)] = mfn_to_maddr(mfn) | leaf_flags(l, img, pfn);
    }
}

/* Fill the start-info page. */
static void fill_start_info(struct domain *d, const struct domain_build_params *p,
                            const struct layout *l, struct hako_start_info *si)
{
    uint64_t vb = l->virt_base;
    memset(si, 0, sizeof(*si));
    si->magic = HAKO_START_INFO_MAGIC;
    si->abi_major = HAKO_ABI_MAJOR;
    si->abi_minor = HAKO_ABI_MINOR;
    si->domid = d->domid;
    si->flags = p->si_flags;
    si->nr_pages = l->nr_pages;
    si->virt_base = vb;
    si->nr_mapped_pages = l->nr_mapped;
    si->p2m_va = vb + (l->p2m_pfn << PAGE_SHIFT);
    si->pt_base_va = vb + (l->pt_pfn << PAGE_SHIFT);
    si->pt_first_pfn = l->pt_pfn;
    si->nr_pt_frames = l->nr_pt;
    si->shared_info_va = vb + (l->shinfo_pfn << PAGE_SHIFT);
    si->stack_va = vb + (l->stack_pfn << PAGE_SHIFT);
    si->stack_size = BOOT_STACK_PAGES * PAGE_SIZE;
    si->first_free_pfn = l->first_free;
    if (p->module_len) {
        si->mod_va = vb + (l->mod_pfn << PAGE_SHIFT);
        si->mod_len = p->module_len;
    }
    if (p->console) {
        si->console_va = vb + (l->console_pfn << PAGE_SHIFT);
        si->console_pfn = l->console_pfn;
    }
    size_t n = strnlen(p->cmdline, HAKO_CMDLINE_MAX - 1);
    memcpy(si->cmdline, p->cmdline, n);
    si->cmdline_len = (uint32_t)n;
}

int domain_build(struct domain *d, struct domain_build_params *p, const char **why)
{
    if (p->nr_pages == 0 || p->nr_pages > frame_free_count() || d->mem.count) {
        *why = d->mem.count ? "domain already has memory" : "not enough free memory";
        return p->nr_pages == 0 ? -HAKO_EINVAL : -HAKO_ENOMEM;
    }
    struct elf_limits lim = {
        .windows = { { 0, HAKO_LOWER_HALF_END }, { HAKO_HV_VA_END, 0 } },
        .nr_windows = 2,
        .max_total_memsz = p->nr_pages << PAGE_SHIFT,
        .abi_major = HAKO_ABI_MAJOR,
        .abi_minor = HAKO_ABI_MINOR,
    };
    struct elf_image img;
    struct layout l;
    int rc = elf_parse(p->image, p->image_len, &lim, &img, why);
    if (rc)
        return rc;
    uint64_t window_end = img.va_lo < HAKO_LOWER_HALF_END ? HAKO_LOWER_HALF_END : 0;
    if ((rc = plan_layout(&img, p, window_end, &l, why)))
        return rc;

    /* From here nothing can fail. */
    for (uint64_t i = 0; i < p->nr_pages; i++)
        memset(mfn_to_virt(frame_alloc(d->domid, &d->mem)), 0, PAGE_SIZE);
    d->nr_pages = p->nr_pages;

    mfn_t upper[MAX_UPPER_TABLES], l1_first = _mfn(0), p2m_first = _mfn(0), shinfo_mfn = _mfn(0);
    mfn_t si_mfn = _mfn(0), mfn = _mfn(d->mem.head);
    uint64_t nr_upper = 1 + l.nr_l3 + l.nr_l2;
    p->module_mfn = INVALID_MFN;
    d->console_mfn = 0;
    for (uint64_t pfn = 0; pfn < l.first_free; pfn++, mfn = list_next(mfn)) {
        if (pfn == l.console_pfn && p->console)
            d->console_mfn = mfn_x(mfn);
        if (pfn == l.mod_pfn && l.mod_pages)
            p->module_mfn = mfn;
        if (pfn == l.si_pfn)
            si_mfn = mfn;
        if (pfn == l.shinfo_pfn)
            shinfo_mfn = mfn;
        if (pfn == l.p2m_pfn)
            p2m_first = mfn;
        if (pfn >= l.pt_pfn && pfn < l.pt_pfn + nr_upper)
            upper[pfn - l.pt_pfn] = mfn;
        if (pfn == l.pt_pfn + nr_upper)
            l1_first = mfn;
    }
    fill_memory(d, p, &img, &l, upper, l1_first, p2m_first);
    fill_start_info(d, p, &l, mfn_to_virt(si_mfn));
    p->si_mfn = si_mfn;
    d->max_pages = p->nr_pages;
    d->si_flags = p->si_flags;
    d->abi_minor = img.note_abi_minor;
    d->p2m_va = l.virt_base + (l.p2m_pfn << PAGE_SHIFT);

    /* Validate the whole initial tree through the normal type machinery: the kernel base
     * pointer and a pin each hold an L4 reference; the hypervisor keeps the shared-info
     * frame writable-typed so it can never become a page table. A failure here would be
     * a builder bug, not a guest's doing. */
    struct vcpu *v = &d->vcpu[0];     /* the boot vCPU */
    v->pv.kernel_l4 = mfn_x(upper[0]);
    int base_ref = get_page_and_type(upper[0], PGT_L4, d->domid);
    int pin_ref = base_ref ? base_ref : pt_pin(upper[0], PGT_L4, d->domid);
    int shinfo_ref = get_page_and_type(shinfo_mfn, PGT_WRITABLE, d->domid);
    HV_ASSERT(base_ref == 0 && pin_ref == 0 && shinfo_ref == 0);
    d->shinfo_mfn = mfn_x(shinfo_mfn);
    d->shinfo = mfn_to_virt(shinfo_mfn);
    time_fill_wallclock(d->shinfo);
    v->vcpu_info = &d->shinfo->vcpu_info[0];
    vcpu_update_upcall_word(v);
    v->vcpu_info->evtchn_upcall_mask = 1;      /* events start masked (ABI.md 4.3) */
    time_fill(&v->vcpu_info->time, &v->time_version);

    struct cpu_regs *r = vcpu_regs(v);
    memset(r, 0, sizeof(*r));
    r->rip = img.entry;
    r->cs = HAKO_GUEST_CS64;
    r->rflags = HAKO_GUEST_RFLAGS;
    r->rsp = l.virt_base + ((l.stack_pfn + BOOT_STACK_PAGES) << PAGE_SHIFT);
    r->ss = HAKO_GUEST_DS;
    r->rdi = l.virt_base + (l.si_pfn << PAGE_SHIFT);
    vcpu_update_cr3(v);
    return 0;
}
