/*
 * hypervisor/domain.c: domain lifetime (create, shut down, crash, destroy).
 */
#include "domain.h"

#include <hako/errno.h>
#include <hako/hypercall.h>
#include <hako/memory.h>

#include "console.h"
#include "evtchn.h"
#include "cpu.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "sched.h"

static struct domain *domains[MAX_DOMAINS];
static uint64_t domains_live;       /* bit i: domains[i] is set */
_Static_assert(MAX_DOMAINS <= 64, "one bit per domain in domains_live");
static uint64_t stack_slots_used; /* bit i: stack slot i in use (one slot per vCPU) */
_Static_assert(MAX_DOMAINS * DOMAIN_MAX_VCPUS <= HV_STACK_SLOTS && HV_STACK_SLOTS <= 64,
               "every vCPU has a stack slot, one bit each");
_Static_assert(MAX_DOMAINS <= PGT_FOREIGN_DOMIDS, "every domid can count foreign mappings");

/* Hypervisor address of the top of stack slot i. */
static uint64_t stack_slot_top(unsigned i)
{
    return HV_STACKS_BASE + (uint64_t)(i + 1) * HV_STACK_SLOT;
}

/* Set up vCPU id of d: a stack slot with its pages, reset FPU state, and a first switch
 * frame that enters the guest frame. The caller checked that a slot and the frames are
 * free. */
static void vcpu_init(struct domain *d, unsigned id)
{
    struct vcpu *v = &d->vcpu[id];
    v->dom = d;
    v->id = id;
    v->hc_table = d->type->hc_table;
    v->se.weight = SCHED_DEFAULT_WEIGHT;
    if (d->type->vcpu_init)
        d->type->vcpu_init(v);
    vcpu_update_upcall_word(v);
    v->stack_slot = (unsigned)__builtin_ctzll(~stack_slots_used);
    stack_slots_used |= 1ull << v->stack_slot;
    v->stack_top = stack_slot_top(v->stack_slot);
    for (unsigned i = 1; i <= HV_STACK_PAGES; i++) {
        mfn_t mfn = frame_alloc(OWNER_HV, &d->hv_mem);
        paging_map_hv_page(v->stack_top - i * PAGE_SIZE, mfn,
                           PTE_P | PTE_W | (cpu_has.nx ? PTE_NX : 0));
    }

    /* Guest FPU starts in its reset state: FCW 0x37F, MXCSR 0x1F80. */
    *(uint16_t *)&v->fpu[0] = 0x37F;
    *(uint32_t *)&v->fpu[24] = 0x1F80;
    *(uint32_t *)&v->fpu[28] = 0xFFBF;  /* MXCSR_MASK */

    /* First switch to v returns into vcpu_first_entry with rsp at the guest frame. */
    extern char vcpu_first_entry[];
    uint64_t *sp = (uint64_t *)vcpu_regs(v);
    *--sp = (uint64_t)vcpu_first_entry;
    for (unsigned i = 0; i < 6; i++)
        *--sp = 0;                      /* rbp rbx r12 r13 r14 r15 */
    v->saved_rsp = (uint64_t)sp;
}

struct domain *domain_create(uint16_t domid, const char *name, bool privileged,
                             const struct guest_type *type, int *err)
{
    if (domid >= MAX_DOMAINS || domains[domid]) {
        *err = domid >= MAX_DOMAINS ? -HAKO_EINVAL : -HAKO_EEXIST;
        return NULL;
    }
    if (stack_slots_used == ~0ull || frame_free_count() < 2 + HV_STACK_PAGES) {
        *err = -HAKO_ENOMEM;
        return NULL;
    }
    struct frame_list hv_mem = { FRAME_NONE, 0 };
    struct domain *d = mfn_to_virt(frame_alloc(OWNER_HV, &hv_mem));
    _Static_assert(sizeof(struct domain) <= PAGE_SIZE, "domain fits a page");
    memset(d, 0, sizeof(*d));
    d->hv_mem = hv_mem;
    d->mem = (struct frame_list){ FRAME_NONE, 0 };
    d->domid = domid;
    d->privileged = privileged;
    d->type = type;
    d->state = DOMAIN_RUNNING;
    snprintf(d->name, sizeof(d->name), "%s", name);

    if (!evtchn_init(d)) {
        struct frame_list l = d->hv_mem;
        frame_free_list(&l);
        *err = -HAKO_ENOMEM;
        return NULL;
    }
    d->nr_vcpus = 1;
    vcpu_init(d, 0);
    domains[domid] = d;
    domains_live |= 1ull << domid;
    return d;
}

void vcpu_update_upcall_word(struct vcpu *v)
{
    static const uint16_t never;
    _Static_assert(__builtin_offsetof(struct hako_vcpu_info, evtchn_upcall_mask) ==
                       __builtin_offsetof(struct hako_vcpu_info, evtchn_upcall_pending) + 1,
                   "pending and mask form one little-endian word");
    v->pv.upcall_word = v->pv.event_callback && v->vcpu_info
                         ? (const uint16_t *)&v->vcpu_info->evtchn_upcall_pending
                         : &never;
}

void vcpu_update_cr3(struct vcpu *v)
{
    v->cr3 = (v->pv.in_user ? v->pv.user_l4 : v->pv.kernel_l4) << PAGE_SHIFT;
    /* Invariant: v->cr3 is a validated L4 of v's domain (the base pointer's type
     * reference keeps it so); guest accesses rely on it (guest_access.h). */
    const struct frame_info *f = frame_get(maddr_to_mfn(v->cr3));
    HV_ASSERT(f && f->owner == v->dom->domid && pgt_level(f->type) == 4 && f->type_count);
    if (current_vcpu() == v) {
        write_cr3(v->cr3);
        pagetype_tlb_flushed();
        v->stat_cr3_loads++;
    }
}

void domain_destroy(struct domain *d)
{
    HV_ASSERT(!current_vcpu() || current_vcpu()->dom != d);
    for_each_vcpu (d, v) {
        sched_remove(v);
        async_teardown(v);
    }
    evtchn_teardown(d);
    grant_teardown(d);                     /* grant bookkeeping, before the entries go */
    pagetype_drop_foreign_held(d->domid);  /* its references on others' frames */
    pagetype_revoke_foreign(d->domid);     /* others' entries onto its frames */
    domains[d->domid] = NULL;
    domains_live &= ~(1ull << d->domid);
    /* Every frame goes back to the pool at once, so references among them need no
     * unwinding; only the machine-to-phys entries are cleared. */
    for (uint32_t m = d->mem.head; m != FRAME_NONE; m = frame_get(_mfn(m))->next)
        m2p_set(_mfn(m), _pfn(HAKO_M2P_INVALID));
    for_each_vcpu (d, v) {
        for (unsigned i = 1; i <= HV_STACK_PAGES; i++)
            paging_unmap_hv_page(v->stack_top - i * PAGE_SIZE);
        stack_slots_used &= ~(1ull << v->stack_slot);
    }
    frame_free_list(&d->mem);
    struct frame_list hv_mem = d->hv_mem;   /* d lives in one of these frames */
    frame_free_list(&hv_mem);
}

static const char *const reason_names[] = { "poweroff", "reboot", "crash" };

void domain_shutdown(struct domain *d, uint32_t reason, uint32_t code)
{
    if (d->state != DOMAIN_RUNNING)
        return;
    HV_ASSERT(reason <= HAKO_SHUTDOWN_CRASH);
    d->state = reason == HAKO_SHUTDOWN_CRASH ? DOMAIN_CRASHED : DOMAIN_SHUTDOWN;
    d->shutdown_reason = reason;
    d->shutdown_code = code;
    printk("d%u (%s) stopped: %s, code %u\n", d->domid, d->name, reason_names[reason], code);
    for_each_vcpu (d, v)
        sched_remove(v);
    struct domain *dom0 = domain_get(0);
    if (dom0 && dom0 != d)
        evtchn_send_virq(dom0, HAKO_VIRQ_DOM_EXC);   /* the toolstack wants to know */
    if (d == dom0)                       /* the machine stops with dom0: nothing else runs */
        for (unsigned id = 1; id < MAX_DOMAINS; id++)
            if (domains[id]) {
                domains[id]->paused = true;
                for_each_vcpu (domains[id], v)
                    vcpu_update_runnable(v);
            }
    if (current_vcpu() && current_vcpu()->dom == d)
        schedule();                     /* not runnable any more: never comes back */
}

void domain_crash(struct domain *d, const struct cpu_regs *regs, const char *why)
{
    printk("d%u (%s) crashed: %s\n", d->domid, d->name, why);
    if (regs)
        dump_regs(regs);
    domain_shutdown(d, HAKO_SHUTDOWN_CRASH, (uint32_t)(regs ? regs->vector : 0));
}

void pagetype_count_error(mfn_t mfn, const char *what)
{
    struct vcpu *v = current_vcpu();
    if (!v)     /* the idle context tears domains down without dropping references */
        panic("%s (mfn %lx) outside any hypercall", what, mfn_x(mfn));
    char why[96];
    snprintf(why, sizeof(why), "%s (mfn %lx): its page tables are inconsistent", what,
             mfn_x(mfn));
    domain_crash(v->dom, NULL, why);
}

struct domain *domain_get(uint16_t domid)
{
    return domid < MAX_DOMAINS ? domains[domid] : NULL;
}

/* The lowest-id existing domain at or above from (domains_live), or NULL. */
struct domain *domain_next(unsigned from)
{
    uint64_t m = from < MAX_DOMAINS ? domains_live & (~0ull << from) : 0;
    return m ? domains[__builtin_ctzll(m)] : NULL;
}

unsigned domain_count(void)
{
    unsigned n = 0;
    for (uint64_t m = domains_live; m; m &= m - 1)   /* no popcnt without libgcc */
        n++;
    return n;
}

static const char *const vector_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved", "#MF x87 error",
    "#AC alignment check", "#MC machine check", "#XM SIMD error", "#VE virtualization",
    "#CP control protection", "reserved", "reserved", "reserved", "reserved", "reserved",
    "reserved", "#HV", "#VC", "#SX security", "reserved",
};

void dump_regs(const struct cpu_regs *r)
{
    const char *name = r->vector < 32             ? vector_names[r->vector]
                       : r->vector == VECTOR_SYSCALL ? "hypercall"
                                                     : "interrupt";
    printk("  vector %lu (%s) error code 0x%lx\n", r->vector, name, r->error_code);
    printk("  rip %016lx cs %04lx rflags %016lx\n", r->rip, r->cs, r->rflags);
    printk("  rsp %016lx ss %04lx cr2 %016lx cr3 %016lx\n", r->rsp, r->ss, read_cr2(),
           read_cr3());
    printk("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", r->rax, r->rbx, r->rcx, r->rdx);
    printk("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", r->rsi, r->rdi, r->rbp, r->r8);
    printk("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", r->r9, r->r10, r->r11, r->r12);
    printk("  r13 %016lx r14 %016lx r15 %016lx\n", r->r13, r->r14, r->r15);
}

void domain_end_machine_if_done(void)
{
    struct domain *dom0 = domain_get(0);
    if (dom0 && dom0->state == DOMAIN_RUNNING)
        return;
    unsigned status = HV_EXIT_CODE_MAX;
    if (dom0) {
        if (dom0->shutdown_reason == HAKO_SHUTDOWN_POWEROFF)
            status = MIN(dom0->shutdown_code, (uint32_t)HV_EXIT_CODE_MAX);
        else if (dom0->shutdown_reason == HAKO_SHUTDOWN_REBOOT)
            status = HV_EXIT_REBOOT;
        else
            status = HV_EXIT_CRASH;
    }
    for (unsigned id = 0; id < MAX_DOMAINS; id++)
        if (domain_get((uint16_t)id))
            domain_destroy(domain_get((uint16_t)id));
    extern uint64_t hv_free_frames_before_dom0;
    printk("all domains destroyed; %lu frames free (%lu before dom0 was built)\n",
           frame_free_count(), hv_free_frames_before_dom0);
    printk("machine exit status %u\n", status);
    machine_exit(status);
}
