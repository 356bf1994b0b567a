/*
 * hypervisor/async.c: asynchronous hypercalls (ABI.md "Asynchronous hypercalls").
 *
 * The rings live in guest frames. At setup the hypervisor takes a writable-type
 * reference on each (so none can become a page table while registered) and maps them
 * into a per-vCPU window of its own, so later changes to the guest's mappings cannot
 * move them. Both rings are driven with ring-io: the submission ring as consumer (every
 * entry is copied out once, impossible indices detach the rings), the completion ring
 * as producer (a full ring holds submissions back; nothing is dropped).
 */
#include "async.h"

#include <hako/errno.h>
#include <hako/events.h>
#include <hako/hypercall.h>

#include "console.h"
#include "cpu.h"
#include "domain.h"
#include "evtchn.h"
#include "guest_access.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "pagetype.h"
#include "paging.h"

/* Hypervisor address of ring r's window for v. */
static uint64_t window(struct vcpu *v, unsigned r)
{
    return HV_ASYNC_BASE + (uint64_t)v->stack_slot * HV_ASYNC_SLOT +
           r * (HV_ASYNC_SLOT / ASYNC_RINGS);
}

void async_teardown(struct vcpu *v)
{
    struct async_state *a = &v->async;
    for (unsigned r = 0; r < ASYNC_RINGS; r++) {
        for (unsigned i = 0; i < a->nr_pages[r]; i++) {
            paging_unmap_hv_page(window(v, r) + i * PAGE_SIZE);
            put_page_and_type(_mfn(a->mfn[r][i]));
        }
        a->nr_pages[r] = 0;
    }
    a->active = false;
    a->chain_cancelled = false;
}

/* Hold and map the frames of guest range [va, va+len) as ring r; 0 or error. The ring
 * then starts at window(v, r) + (va & 4095). */
static int map_ring(struct vcpu *v, unsigned r, uint64_t va, uint64_t len)
{
    struct async_state *a = &v->async;
    uint64_t first = va & PAGE_MASK;
    uint64_t pages = ALIGN_UP((va - first) + len, PAGE_SIZE) / PAGE_SIZE;
    if ((va & (RINGIO_CACHE_LINE - 1)) || pages > ASYNC_MAX_PAGES || !guest_range_ok(_gva(va), len))
        return -HAKO_EINVAL;
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t pa;
        int rc = guest_translate(v, _gva(first + i * PAGE_SIZE), true, &pa) ? -HAKO_EFAULT
                 : get_page_and_type(maddr_to_mfn(pa), PGT_WRITABLE, v->dom->domid);
        if (rc == -HAKO_EPERM)
            rc = -HAKO_EFAULT;                  /* another domain's frame (a foreign mapping) */
        if (rc)
            return rc;                          /* the caller tears down what was mapped */
        a->mfn[r][i] = pa >> PAGE_SHIFT;
        a->nr_pages[r]++;
        paging_map_hv_page(window(v, r) + i * PAGE_SIZE, maddr_to_mfn(pa),
                           PTE_P | PTE_W | (cpu_has.nx ? PTE_NX : 0));
    }
    return 0;
}

/* async_op(SETUP, arg) */
static long async_setup(struct vcpu *v, uint64_t arg)
{
    struct hako_async_setup s;
    if (arg & 7)
        return -HAKO_EINVAL;
    if (guest_copy_from(v, &s, _gva(arg), sizeof(s)))
        return -HAKO_EFAULT;
    if (s.sq_order > HAKO_ASYNC_MAX_ORDER || s.cq_order > HAKO_ASYNC_MAX_ORDER ||
        s._reserved[0] || s._reserved[1])
        return -HAKO_EINVAL;
    if (v->async.active)
        return -HAKO_EEXIST;
    /* The rings' headers are the ABI's struct hako_ring_hdr, worked with ring-io. */
    _Static_assert(sizeof(struct ringio_hdr) == sizeof(struct hako_ring_hdr) &&
                   __builtin_offsetof(struct ringio_hdr, prod_event) == 64 &&
                   __builtin_offsetof(struct ringio_hdr, cons) == 128 &&
                   __builtin_offsetof(struct ringio_hdr, cons_event) == 192,
                   "ring-io's header is hako_ring_hdr");
    uint64_t sq_len = HAKO_ASYNC_RING_BYTES(s.sq_order, sizeof(struct hako_async_sqe));
    uint64_t cq_len = HAKO_ASYNC_RING_BYTES(s.cq_order, sizeof(struct hako_async_cqe));
    int rc = map_ring(v, 0, s.sq_va, sq_len);
    if (!rc)
        rc = map_ring(v, 1, s.cq_va, cq_len);
    if (!rc) {
        char *sq = (char *)window(v, 0) + (s.sq_va & (PAGE_SIZE - 1));
        char *cq = (char *)window(v, 1) + (s.cq_va & (PAGE_SIZE - 1));
        int a = ringio_cons_attach(&v->async.sq, (struct ringio_hdr *)sq, sq + HAKO_ASYNC_RING_HDR,
                                   s.sq_order, sizeof(struct hako_async_sqe));
        int b = ringio_prod_attach(&v->async.cq, (struct ringio_hdr *)cq, cq + HAKO_ASYNC_RING_HDR,
                                   s.cq_order, sizeof(struct hako_async_cqe));
        rc = a || b ? -HAKO_EIO : 0;            /* indices already impossible */
    }
    if (rc) {
        async_teardown(v);
        return rc;
    }
    v->async.active = true;
    return 0;
}

/* Arguments 4..6 of a submission run by the burst loop: none of the calls it runs reads
 * them (hc_arg4's users are sched_op(POLL), refused here, and mmu_update's
 * PT_UPDATE_FOREIGN, left to run_sqe); the pointer also marks "inside a batch" for the
 * batch calls (never split there). */
static const uint64_t no_more_args[6];

/* Run one submission the full way (a copy of it); its result. */
static long run_sqe(struct vcpu *v, const struct hako_async_sqe *e)
{
    if (v->async.chain_cancelled)
        return -HAKO_ECANCELED;
    if (e->_pad0 || (e->flags & ~(HAKO_ASYNC_LINK | HAKO_ASYNC_BARRIER | HAKO_ASYNC_NO_COMPLETION)))
        return -HAKO_EINVAL;
    long rc = hc_batch_check(v, e->op, HCF_ASYNC);
    if (rc)
        return rc;
    uint64_t args6[6] = { e->args[0], e->args[1], e->args[2], e->args[3], e->args[4], 0 };
    const uint64_t *saved = v->mc_args;
    v->hc_count[e->op]++;
    v->mc_args = args6;
    long r = hc_info[e->op].handler(args6[0], args6[1], args6[2]);
    v->mc_args = saved;
    return r;
}

/* entry.S: the burst loop. Runs up to n submissions from consecutive slots with flags
 * and padding all zero (no LINK, BARRIER, NO_COMPLETION) and a non-NULL burst-table
 * slot, posting each completion into consecutive completion slots (ours until the
 * index is published). Every field of a submission it runs is loaded once, before the
 * call. It stops at the first submission that needs run_sqe (having only looked at its number and flags: that one is then
 * copied and checked in full, and nothing the loop saw is used). */
long async_burst(const struct hako_async_sqe *sq_end, struct hako_async_cqe *cq_end, long i,
                 uint64_t *count, const hypercall_fn *table);

/* Run up to n submissions from sq[] with completions into cq[]; how many ran. */
static unsigned run_burst(struct vcpu *v, const struct hako_async_sqe *sq,
                          struct hako_async_cqe *cq, unsigned n)
{
    long i = async_burst(sq + n, cq + n, -8 * (long)n, v->hc_count, v->dom->type->async_burst);
    return n + (unsigned)(i / 8);
}

long async_drain(struct vcpu *v, unsigned max)
{
    struct async_state *a = &v->async;
    /* Submissions are the kernel's: their pointers and page-table operations mean its
     * address space, so they never run while the vCPU is in user mode. */
    if (!a->active || v->pv.in_user || v->cont.active)
        return 0;   /* (a split call waiting to be re-issued runs first: see hc_preempt) */
    long posted = 0;
    bool broken = false, notify = false, unused;
    const uint64_t *saved_args = v->mc_args;
    /* Entries run strictly in order and each completes before the next starts, so a
     * BARRIER entry needs nothing more; a full completion ring stops the drain. The
     * rings are worked in bursts: both indices are read (and checked) once per burst,
     * the entries run in place (each field read once), and both indices are published
     * once at the end. */
    for (unsigned n = 0; n < max;) {
        int avail = ringio_cons_avail(&a->sq), space = ringio_prod_space(&a->cq);
        if (avail < 0 || space < 0) {
            broken = true;
            break;
        }
        unsigned k = (unsigned)(avail < space ? avail : space);
        if (k > max - n)
            k = max - n;
        if (k == 0)
            break;
        if (!a->chain_cancelled) {
            /* Borrow the entries in place, up to the end of either ring's slot array. */
            uint32_t ks = k, kc = k;
            const struct hako_async_sqe *sq = ringio_cons_peek(&a->sq, &ks);
            struct hako_async_cqe *cq = ringio_prod_peek(&a->cq, &kc);
            k = ks < kc ? ks : kc;
            bool all = k == (unsigned)avail;    /* this burst can empty the ring */
            v->mc_args = no_more_args;
            unsigned done = run_burst(v, sq, cq, k);
            v->mc_args = saved_args;
            ringio_cons_advance(&a->sq, done);
            ringio_prod_advance(&a->cq, done);
            posted += done;
            n += done;
            if (done == k) {
                if (all && n < max)
                    break;      /* ran all there was: nothing else runs meanwhile */
                continue;
            }
        }
        /* One submission the full way: a copy of it. */
        struct hako_async_sqe e;
        if (ringio_cons_read(&a->sq, &e, 1) != 1) {
            broken = true;
            break;
        }
        long r = run_sqe(v, &e);
        a->chain_cancelled = (e.flags & HAKO_ASYNC_LINK) && r < 0;
        if (!(e.flags & HAKO_ASYNC_NO_COMPLETION)) {
            struct hako_async_cqe c = { .user_data = e.user_data, .result = r };
            if (ringio_prod_write(&a->cq, &c, 1) != 1) {
                broken = true;
                break;
            }
            posted++;
        }
        n++;
        if (!a->active)                         /* an entry tore the rings down */
            return posted;
    }
    if (!broken && (ringio_cons_publish(&a->sq, &unused) < 0 ||
                    ringio_prod_publish(&a->cq, &notify) < 0))
        broken = true;
    if (broken) {
        printk("d%u: asynchronous hypercall rings corrupted: detached\n", v->dom->domid);
        async_teardown(v);
        return -HAKO_EIO;
    }
    if (notify)
        evtchn_send_virq(v->dom, HAKO_VIRQ_ASYNC);
    return posted;
}

unsigned async_refs(struct vcpu *v, struct hv_ref *refs, unsigned n)
{
    for (unsigned r = 0; r < ASYNC_RINGS; r++)
        for (unsigned i = 0; i < v->async.nr_pages[r]; i++)
            refs[n++] = (struct hv_ref){ _mfn(v->async.mfn[r][i]), PGT_WRITABLE };
    return n;
}

/* async_op(cmd, arg) */
long hc_async_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    switch (a1) {
    case HAKO_ASYNC_SETUP:
        return async_setup(v, a2);
    case HAKO_ASYNC_ENTER:
        if (!v->async.active)
            return -HAKO_ENOENT;
        return async_drain(v, ASYNC_DRAIN_ON_DOORBELL);
    case HAKO_ASYNC_TEARDOWN:
        if (!v->async.active)
            return -HAKO_ENOENT;
        async_teardown(v);
        return 0;
    default:
        return -HAKO_ENOSYS;
    }
}
