/*
 * tests/abi/minimal/kernel.c: the smallest correct hako guest, written from ABI.md and
 * the public headers alone (it includes nothing else). Each step of ABI.md 11 prints
 * "minimal: <step> ok" or "minimal: <step> FAIL <why>"; the kernel powers off with
 * status 0 when every step passed, 1 otherwise.
 */
#include <hako/arch-x86_64.h>
#include <hako/async.h>
#include <hako/errno.h>
#include <hako/events.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/memory.h>
#include <hako/start_info.h>
#include <hako/traps.h>

#define UL(x) ((unsigned long)(x))

static const struct hako_start_info *si;
static struct hako_shared_info *shared;
static uint64_t nx;                 /* HAKO_PTE_NX when HAKO_FEAT_NX, else 0 */
static uint64_t next_free_pfn;
static int failures;

/* ---- console --------------------------------------------------------------------- */

/* Write a NUL-terminated string to the console. */
static void puts_hv(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    hako_hypercall3(HAKO_HC_console_io, HAKO_CONSOLE_WRITE, UL(s), n);
}

/* Write v in hexadecimal. */
static void put_hex(uint64_t v)
{
    char b[19];
    int i = sizeof(b) - 1;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    puts_hv(b + i);
}

/* Report a step: "minimal: <step> ok", or FAIL with what went wrong and a value. */
static int step(const char *name, int ok, const char *why, uint64_t value)
{
    puts_hv("minimal: ");
    puts_hv(name);
    if (ok) {
        puts_hv(" ok\n");
        return 1;
    }
    failures++;
    puts_hv(" FAIL ");
    puts_hv(why);
    puts_hv(" ");
    put_hex(value);
    puts_hv("\n");
    return 0;
}

/* ---- memory (ABI.md 4.2, 12.8) --------------------------------------------------- */

/* Virtual address of pfn in the initial linear mapping. */
static uint64_t *pfn_va(uint64_t pfn) { return (uint64_t *)(si->virt_base + pfn * 4096); }
/* Machine frame of pfn. */
static uint64_t pfn_mfn(uint64_t pfn) { return ((const uint64_t *)si->p2m_va)[pfn]; }
/* A page table's entries, read through the linear map (its pfn is m2p[mfn]). */
static uint64_t *table_va(uint64_t mfn) { return pfn_va(((const uint64_t *)HAKO_M2P_VA)[mfn]); }

/* The next free, zeroed pfn (never given back: this kernel is tiny). */
static uint64_t alloc_pfn(void) { return next_free_pfn++; }

/* Make a free frame's linear alias read-only, so the frame may become a page table. */
static long prepare_table(uint64_t pfn)
{
    return hako_hypercall3(HAKO_HC_update_va_mapping, UL(pfn_va(pfn)),
                           HAKO_PTE(pfn_mfn(pfn), HAKO_PTE_P | HAKO_PTE_U) | nx, HAKO_UVMF_INVLPG);
}

/* Write entry `index` of table frame `table_mfn`. */
static long set_entry(uint64_t table_mfn, uint64_t index, uint64_t pte)
{
    struct hako_mmu_update u = {
        .ptr = HAKO_MMU_PTR(table_mfn, index, HAKO_MMU_NORMAL_PT_UPDATE), .val = pte };
    return hako_hypercall3(HAKO_HC_mmu_update, UL(&u), 1, 0);
}

/* Map va with leaf entry pte in the tree under l4_mfn, adding missing tables. */
static long map_page(uint64_t l4_mfn, uint64_t va, uint64_t pte)
{
    uint64_t table = l4_mfn;
    for (int level = 4; level > 1; level--) {
        uint64_t e = table_va(table)[HAKO_PT_INDEX(va, level)];
        if (!(e & HAKO_PTE_P)) {
            uint64_t pfn = alloc_pfn();
            long rc;
            e = HAKO_PTE(pfn_mfn(pfn), HAKO_PTE_P | HAKO_PTE_W | HAKO_PTE_U);
            if ((rc = prepare_table(pfn)) || (rc = set_entry(table, HAKO_PT_INDEX(va, level), e)))
                return rc;
        }
        table = HAKO_PTE_MFN(e);
    }
    return set_entry(table, HAKO_PT_INDEX(va, 1), pte);
}

/* The L1 frame that maps va under l4_mfn (the tables exist: map_page made them). */
static uint64_t l1_of(uint64_t l4_mfn, uint64_t va)
{
    uint64_t table = l4_mfn;
    for (int level = 4; level > 1; level--)
        table = HAKO_PTE_MFN(table_va(table)[HAKO_PT_INDEX(va, level)]);
    return table;
}

/* A new, empty, pinned top-level table. */
static long new_l4(uint64_t pfn)
{
    struct hako_mmuext_op pin = { .cmd = HAKO_MMUEXT_PIN_L4_TABLE, .arg1 = pfn_mfn(pfn) };
    long rc = prepare_table(pfn);
    return rc ? rc : hako_hypercall3(HAKO_HC_mmuext_op, UL(&pin), 1, 0);
}

/* ---- traps, events and system calls (ABI.md 13, 14) ------------------------------- */

extern char trap_entry[], user_code[], user_exit[], after_int3[], at_ud2[];
long run_user(const struct hako_trap_frame *f);
uint64_t user_saved_rsp;

static volatile uint64_t last_vector, last_rip, last_flags, timer_events, syscalls;
static uint32_t timer_port;

/* Handle pending events in the order of ABI.md 10. */
static void handle_events(void)
{
    struct hako_vcpu_info *vi = &shared->vcpu_info[0];
    __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
    uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned w = (unsigned)__builtin_ctzll(sel);
        sel &= sel - 1;
        uint64_t bits = __atomic_load_n(&shared->evtchn_pending[w], __ATOMIC_SEQ_CST) &
                        ~__atomic_load_n(&shared->evtchn_mask[w], __ATOMIC_SEQ_CST);
        while (bits) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            __atomic_fetch_and(&shared->evtchn_pending[w], ~(1ULL << b), __ATOMIC_SEQ_CST);
            if (w * 64 + b == timer_port)
                timer_events++;
        }
    }
}

/* Every kind of entry lands here (entry.S trap_entry); the frame may be edited. */
void trap_handler(struct hako_trap_frame *f)
{
    last_vector = f->vector;
    last_rip = f->rip;
    last_flags = f->flags;
    switch (f->vector) {
    case 3:                                    /* int3: a trap, rip is after it */
        return;
    case 6:                                    /* ud2: a fault, skip the instruction */
        f->rip += 2;
        return;
    case HAKO_TRAP_EVENT:
        handle_events();
        return;
    case HAKO_TRAP_SYSCALL:
        syscalls++;
        if (f->rax == 7) {
            f->rax = 42;                       /* the answer, back in user mode */
        } else if (f->rax >= 1000) {           /* exit: resume run_user's caller */
            f->rax -= 1000;
            f->rip = UL(user_exit);
            f->rsp = user_saved_rsp;
            f->flags = HAKO_TF_EVENTS_MASKED;  /* kernel mode, events masked */
        } else {
            f->rax = (uint64_t)-HAKO_ENOSYS;
        }
        return;
    default:                                   /* failsafe or an unexpected fault */
        step("trap", 0, "unexpected vector", f->vector);
        hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 1);
    }
}

/* ---- the steps -------------------------------------------------------------------- */

/* Step 2: the hypervisor's ABI and features. */
static void step_version(void)
{
    static struct hako_version_info info;
    long v = hako_hypercall1(HAKO_HC_version, HAKO_VERSION_ABI);
    long rc = hako_hypercall2(HAKO_HC_version, HAKO_VERSION_INFO, UL(&info));
    if (info.features & HAKO_FEAT_NX)
        nx = HAKO_PTE_NX;
    step("version", v == HAKO_ABI_VERSION && rc == 0 && info.abi_minor == HAKO_ABI_MINOR &&
         info.nr_hypercalls == HAKO_HC_physdev_op + 1, "version", (uint64_t)v);
}

/* Step 3: a page at an address no initial L1 covers, through an L1 of our own. */
static void step_mapping(void)
{
    uint64_t va = si->virt_base + 64 * 1024 * 1024;   /* 32 MiB past the initial mapping */
    uint64_t l4 = pfn_mfn(si->pt_first_pfn), data = alloc_pfn();
    long no_l1 = hako_hypercall3(HAKO_HC_update_va_mapping, va,
                                 HAKO_PTE(pfn_mfn(data), HAKO_PTE_P | HAKO_PTE_U), 0);
    long rc = map_page(l4, va, HAKO_PTE(pfn_mfn(data), HAKO_PTE_P | HAKO_PTE_W | HAKO_PTE_U) | nx);
    if (!step("mapping", no_l1 == -HAKO_EINVAL && rc == 0, "map_page", (uint64_t)rc))
        return;
    volatile uint64_t *p = (volatile uint64_t *)va;
    *p = 0x1234abcd;
    int same = *pfn_va(data) == 0x1234abcd;           /* the same frame, seen twice */
    long unmap = set_entry(l1_of(l4, va), HAKO_PT_INDEX(va, 1), 0);
    long inv = hako_hypercall3(HAKO_HC_update_va_mapping, va, 0, HAKO_UVMF_INVLPG);
    long audit = hako_hypercall2(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0);
    step("unmap", same && unmap == 0 && inv == 0 && audit == 0, "audit", (uint64_t)audit);
}

/* Step 4: an int3 (trap) and a ud2 (fault), each handled and returned from. */
static __attribute__((noinline)) void step_trap(void)
{
    static struct hako_trap_info t[] = {
        { .vector = 3, .handler = UL(trap_entry) },
        { .vector = 6, .handler = UL(trap_entry) },
        { .vector = 13, .handler = UL(trap_entry) },
        { .vector = 14, .handler = UL(trap_entry) },
    };
    long rc = hako_hypercall2(HAKO_HC_set_trap_table, UL(t), 4);
    long fs = hako_hypercall2(HAKO_HC_set_callback, HAKO_CALLBACK_FAILSAFE, UL(trap_entry));
    __asm__ __volatile__("int3\n\t.globl after_int3\nafter_int3:" ::: "memory");
    int int3_ok = last_vector == 3 && last_rip == UL(after_int3);
    __asm__ __volatile__(".globl at_ud2\nat_ud2: ud2" ::: "memory");
    int ud2_ok = last_vector == 6 && last_rip == UL(at_ud2);
    step("trap", rc == 0 && fs == 0 && int3_ok && ud2_ok, "vector", last_vector);
}

/* Step 5: a one-shot timer 1 ms ahead, waited for with BLOCK. */
static void step_timer(void)
{
    struct hako_evtchn bind = { .virq = HAKO_VIRQ_TIMER };
    const volatile struct hako_vcpu_time_info *ti = &shared->vcpu_info[0].time;
    long cb = hako_hypercall2(HAKO_HC_set_callback, HAKO_CALLBACK_EVENT, UL(trap_entry));
    long rc = hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, UL(&bind));
    timer_port = bind.port;
    uint64_t t0 = hako_system_time_ns(ti);
    long set = hako_hypercall2(HAKO_HC_set_timer_op, HAKO_TIMER_ONESHOT, t0 + 1000000);
    for (int i = 0; i < 1000 && !timer_events; i++)
        hako_hypercall1(HAKO_HC_sched_op, HAKO_SCHED_BLOCK);   /* unmasks; upcall on exit */
    shared->vcpu_info[0].evtchn_upcall_mask = 1;
    uint64_t t1 = hako_system_time_ns(ti);
    step("timer", cb == 0 && rc == 0 && set == 0 && timer_events == 1 &&
         last_vector == HAKO_TRAP_EVENT && t1 >= t0 + 1000000, "events", timer_events);
}

/* Step 6: one multicall without and one with HAKO_MC_STOP_ON_ERROR. */
static void step_multicall(void)
{
    static struct hako_mmuext_op flush = { .cmd = HAKO_MMUEXT_TLB_FLUSH_LOCAL };
    static struct hako_multicall_entry mc[4];
    for (int stop = 0; stop < 2; stop++) {
        mc[0] = (struct hako_multicall_entry){ .op = HAKO_HC_version };
        mc[1] = (struct hako_multicall_entry){ .op = HAKO_HC_mmuext_op, .args = { UL(&flush), 1 } };
        mc[2] = (struct hako_multicall_entry){ .op = 99, .flags = stop ? HAKO_MC_STOP_ON_ERROR : 0 };
        mc[3] = (struct hako_multicall_entry){ .op = HAKO_HC_version };
        long n = hako_hypercall2(HAKO_HC_multicall, UL(mc), 4);
        int ok = mc[0].result == HAKO_ABI_VERSION && mc[1].result == 0 &&
                 mc[2].result == -HAKO_ENOSYS &&
                 (stop ? n == 3 && mc[3].result == -HAKO_ECANCELED
                       : n == 4 && mc[3].result == HAKO_ABI_VERSION);
        step(stop ? "multicall-stop" : "multicall", ok, "count", (uint64_t)n);
    }
}

/* Step 7: three submissions (a LINK chain that fails halfway) through our own rings. */
#define ORDER 3
static uint8_t sq_mem[HAKO_ASYNC_RING_BYTES(ORDER, sizeof(struct hako_async_sqe))]
    __attribute__((aligned(HAKO_RING_ALIGN)));
static uint8_t cq_mem[HAKO_ASYNC_RING_BYTES(ORDER, sizeof(struct hako_async_cqe))]
    __attribute__((aligned(HAKO_RING_ALIGN)));

static void step_async(void)
{
    struct hako_ring_hdr *sq = (struct hako_ring_hdr *)sq_mem, *cq = (struct hako_ring_hdr *)cq_mem;
    struct hako_async_sqe *sqes = (struct hako_async_sqe *)(sq_mem + HAKO_ASYNC_RING_HDR);
    struct hako_async_cqe *cqes = (struct hako_async_cqe *)(cq_mem + HAKO_ASYNC_RING_HDR);
    struct hako_async_setup s = { .sq_va = UL(sq_mem), .cq_va = UL(cq_mem),
                                  .sq_order = ORDER, .cq_order = ORDER };
    long rc = hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_SETUP, UL(&s));
    uint32_t prod = 0, cons = 0;
    sqes[HAKO_RING_SLOT(prod++, ORDER)] = (struct hako_async_sqe){
        .op = HAKO_HC_version, .user_data = 1, .flags = HAKO_ASYNC_LINK };
    sqes[HAKO_RING_SLOT(prod++, ORDER)] = (struct hako_async_sqe){
        .op = 99, .user_data = 2, .flags = HAKO_ASYNC_LINK };
    sqes[HAKO_RING_SLOT(prod++, ORDER)] = (struct hako_async_sqe){
        .op = HAKO_HC_version, .user_data = 3 };
    hako_ring_store_release(&sq->prod, prod);                /* entries, then publish */
    long posted = hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_ENTER, 0);
    static const int64_t want[3] = { HAKO_ABI_VERSION, -HAKO_ENOSYS, -HAKO_ECANCELED };
    int ok = rc == 0 && posted == 3;
    uint32_t avail = hako_ring_load_acquire(&cq->prod) - cons;
    ok = ok && avail == 3 && hako_ring_load_acquire(&sq->cons) == prod;
    for (unsigned i = 0; ok && i < avail; i++, cons++) {
        struct hako_async_cqe c = cqes[HAKO_RING_SLOT(cons, ORDER)];   /* copy out once */
        ok = c.user_data == i + 1 && c.result == want[i];
    }
    hako_ring_store_release(&cq->cons, cons);
    long down = hako_hypercall2(HAKO_HC_async_op, HAKO_ASYNC_TEARDOWN, 0);
    step("async", ok && down == 0, "posted", (uint64_t)posted);
}

/* Step 8: a user program in its own address space, one syscall answered, one exit. */
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));

static void step_user(void)
{
    uint64_t code_pfn = (UL(user_code) - si->virt_base) >> 12, stack_pfn = alloc_pfn();
    uint64_t l4_pfn = alloc_pfn(), l4 = pfn_mfn(l4_pfn);
    const uint64_t code_va = 0x400000, stack_va = 0x800000;
    long rc = new_l4(l4_pfn);
    if (!rc)
        rc = map_page(l4, code_va, HAKO_PTE(pfn_mfn(code_pfn), HAKO_PTE_P | HAKO_PTE_U));
    if (!rc)
        rc = map_page(l4, stack_va, HAKO_PTE(pfn_mfn(stack_pfn),
                                             HAKO_PTE_P | HAKO_PTE_W | HAKO_PTE_U) | nx);
    struct hako_mmuext_op op = { .cmd = HAKO_MMUEXT_NEW_USER_BASEPTR, .arg1 = l4 };
    if (!rc)
        rc = hako_hypercall3(HAKO_HC_mmuext_op, UL(&op), 1, 0);
    if (!rc)
        rc = hako_hypercall2(HAKO_HC_set_callback, HAKO_CALLBACK_SYSCALL, UL(trap_entry));
    if (!rc)
        rc = hako_hypercall1(HAKO_HC_stack_switch, UL(kernel_stack + sizeof(kernel_stack)));
    if (!step("user-setup", rc == 0, "rc", (uint64_t)rc))
        return;
    static struct hako_trap_frame f;
    f = (struct hako_trap_frame){ .rip = code_va, .rsp = stack_va + 4096,
                                  .rflags = HAKO_GUEST_RFLAGS, .flags = HAKO_TF_USER };
    long exit_value = run_user(&f);
    step("user", exit_value == 42 && syscalls == 2 && last_vector == HAKO_TRAP_SYSCALL &&
         (last_flags & HAKO_TF_USER), "exit value", (uint64_t)exit_value);
}

/* Entry from entry.S: run every step, then power off (status 0 only if all passed). */
void kmain(const struct hako_start_info *start)
{
    si = start;
    if (si->magic != HAKO_START_INFO_MAGIC || si->abi_major != HAKO_ABI_MAJOR)
        hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_CRASH, 2);
    shared = (struct hako_shared_info *)si->shared_info_va;
    next_free_pfn = si->first_free_pfn;
    step("boot", 1, "", 0);
    step_version();
    step_mapping();
    step_trap();
    step_timer();
    step_multicall();
    step_async();
    step_user();
    long audit = hako_hypercall2(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0);
    step("audit", audit == 0, "frames", (uint64_t)audit);
    step("shutdown", 1, "", 0);
    hako_hypercall3(HAKO_HC_sched_op, HAKO_SCHED_SHUTDOWN, HAKO_SHUTDOWN_POWEROFF,
                    failures ? 1 : 0);
    for (;;)
        ;
}
