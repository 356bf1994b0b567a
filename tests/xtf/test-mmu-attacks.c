/*
 * tests/xtf/test-mmu-attacks.c: a guest kernel attacking the hypervisor's memory
 * virtualization (direct paging). Every attack must be refused with the error code
 * pagetype.c / mmu.c document, leave all reference counts consistent
 * (debug_op AUDIT == 0), and leave the domain running: after each attack a valid
 * operation must still work.
 *
 * Layout used by the test (all built from free pfns):
 *   kernel L4 slot 1 (VA SCR = 0x8000000000) -> L3a -> L2a -> L1a: a scratch area whose
 *   L1 slots (SCR + i * 4 KiB) and L2 slots (SCR + j * 2 MiB) the attacks play with.
 *   A separate user address space (user L4 -> L3 -> L2 -> L1: a code and a stack page)
 *   for the user-mode attacks.
 *   A second kernel L4 (attack 16): a copy of the live one plus a private tree at L4
 *   slot 3 (VA PRIV) whose only mapping is one frame, writable.
 * Last (17), not an attack: update_va_mapping's INVLPG and TLB_FLUSH flags really flush
 * a translation the TLB holds.
 * The hypervisor reads and writes trap frames through the guest's own mapping with SMAP
 * lifted for those accesses only: the test runs with and without SMAP (and SMEP).
 * XTF-CPUS: max max,-smap,-smep
 */
#include "framework.h"

#include <stdarg.h>

#include <hako/events.h>
#include <hako/memory.h>
#include <hako/traps.h>

#include "asyncone.h"
#include "privops.h"
#include "trap.h"

const char test_title[] = "mmu-attacks";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))

#define EPERM  (-HAKO_EPERM)
#define EINVAL (-HAKO_EINVAL)
#define EBUSY  (-HAKO_EBUSY)
#define EEXIST (-HAKO_EEXIST)
#define EFAULT (-HAKO_EFAULT)
#define E2BIG  (-HAKO_E2BIG)
#define ENOSYS (-HAKO_ENOSYS)

/* PTE bits (the allowed ones come from memory.h). */
#define F_P    HAKO_PTE_P
#define F_W    HAKO_PTE_W
#define F_U    HAKO_PTE_U
#define F_A    HAKO_PTE_A
#define F_D    HAKO_PTE_D
#define F_PS   HAKO_PTE_PS
#define F_PWT  (1ull << 3)
#define F_PCD  (1ull << 4)
#define F_PAT1 (1ull << 7)      /* PAT bit of a 4 KiB leaf */
#define F_G    (1ull << 8)
#define ADDR   HAKO_PTE_ADDR
#define TBL    (F_P | F_W | F_U) /* an intermediate entry */

#define SCR        (1ull << 39)   /* kernel L4 slot 1 */
#define SCR_L4_IDX 1u
#define HV_IMAGE_MFN 0x100ull    /* 1 MiB: the hypervisor image */

_Static_assert(HAKO_HC_iret == 9, "iret number used in the asm below");
_Static_assert(sizeof(struct hako_trap_frame) == 96, "trap frame");

/* ---- small helpers ---------------------------------------------------------------- */


static __attribute__((noreturn)) void die(const char *why)
{
    xtf_error("%s", why);
    kprintf("%u checks, %u failed\n", xtf_checks, xtf_failures);
    kprintf("Test result: %s\n", xtf_failures ? "FAILURE" : "ERROR");
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, xtf_failures ? 1 : 2);
}

static int cur_attack;

/* One refused (or accepted) request: check the code and print a one-line verdict. */
static int attack_rc(const char *desc, long got, long expected, const char *expr, int line)
{
    int ok = xtf_expect_rc(got, expected, desc, expr, __FILE__, line);
    kprintf("[attack %d] %s -> %s %s\n", cur_attack, desc, xtf_errname(expected),
            ok ? "ok" : "FAILED");
    return ok;
}
#define ATTACK(desc, expr, expected) attack_rc((desc), (long)(expr), (long)(expected), #expr, __LINE__)
/* A valid operation: must succeed (quietly unless it fails). */
#define VALID(desc, expr) XTF_EXPECT_RC((expr), 0, (desc))

/* ---- the guest's memory ------------------------------------------------------------ */

static const struct hako_start_info *si;
static const uint64_t *p2m;
#define M2P ((const uint64_t *)HAKO_M2P_VA)
static uint64_t m2p_entries, nx, next_pfn, l4_mfn;

static uint64_t va_of_pfn(uint64_t pfn) { return si->virt_base + (pfn << 12); }
static uint64_t mfn_of_pfn(uint64_t pfn) { return p2m[pfn]; }
static uint64_t pfn_of_mfn(uint64_t mfn)
{
    return mfn < m2p_entries ? M2P[mfn] : HAKO_M2P_INVALID;
}
static int owned(uint64_t mfn) { return pfn_of_mfn(mfn) < si->nr_pages; }

/* The linear-map view of one of the guest's frames (read-only for page tables). */
static uint64_t *frame_va(uint64_t mfn)
{
    uint64_t pfn = pfn_of_mfn(mfn);
    if (pfn >= si->nr_mapped_pages)
        die(what("frame %lx is not in the linear map (m2p %lx)", mfn, pfn));
    return (uint64_t *)va_of_pfn(pfn);
}

/* Machine address of the level-`level` entry for va in the kernel address space. */
static uint64_t entry_maddr(uint64_t va, unsigned level)
{
    uint64_t mfn = l4_mfn;
    for (unsigned l = 4;; l--) {
        unsigned idx = (va >> (3 + 9 * l)) & 511;
        if (l == level)
            return (mfn << 12) | (idx << 3);
        uint64_t e = frame_va(mfn)[idx];
        if (!(e & F_P) || (l < 4 && (e & F_PS)))
            die(what("no level-%u table maps %lx", level, va));
        mfn = (e & ADDR) >> 12;
    }
}
static uint64_t pte_maddr(uint64_t va) { return entry_maddr(va, 1); }
static uint64_t read_entry(uint64_t maddr) { return frame_va(maddr >> 12)[(maddr & 0xfff) >> 3]; }
#define ENT(table_mfn, idx) (((uint64_t)(table_mfn) << 12) | ((uint64_t)(idx) << 3))

/* ---- hypercall wrappers -------------------------------------------------------------- */

/* The 4th argument (r10) is 0, dom0's own id: a FOREIGN request here gets EINVAL. */
static long mmu_batch(const struct hako_mmu_update *r, uint64_t n, uint64_t *done)
{
    return hako_hypercall4(HAKO_HC_mmu_update, UL(r), n, UL(done), 0);
}

/* One mmu_update; also checks *done agrees with the result. */
static long mmu1(uint64_t ptr, uint64_t val)
{
    static struct hako_mmu_update r;
    uint64_t done = 0xdead;
    r.ptr = ptr, r.val = val;
    long rc = mmu_batch(&r, 1, &done);
    XTF_CHECK(done == (rc == 0 ? 1u : 0u), "mmu_update(%lx, %lx) -> %ld but done = %lu", ptr, val,
              rc, done);
    return rc;
}

static long ext(uint32_t cmd, uint64_t arg)
{
    static struct hako_mmuext_op op;
    uint64_t done = 0xdead;
    op.cmd = cmd, op._pad0 = 0, op.arg1 = arg, op.arg2 = 0;
    long rc = HC3(HAKO_HC_mmuext_op, &op, 1, &done);
    XTF_CHECK(done == (rc == 0 ? 1u : 0u), "mmuext_op(%u, %lx) -> %ld but done = %lu", cmd, arg,
              rc, done);
    return rc;
}
#define PIN(level, mfn) ext(HAKO_MMUEXT_PIN_L1_TABLE + (level) - 1, (mfn))
#define UNPIN(mfn)      ext(HAKO_MMUEXT_UNPIN_TABLE, (mfn))

static long uvm(uint64_t va, uint64_t val, unsigned flags)
{
    return HC3(HAKO_HC_update_va_mapping, va, val, flags);
}

static long audit(void) { return HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0); }
static long continuations(void) { return HC3(HAKO_HC_debug_op, HAKO_DEBUG_CONTINUATIONS, 0, 0); }

/* Make the linear mapping of va writable or read-only. */
static long set_va_writable(uint64_t va, int writable)
{
    uint64_t cur = read_entry(pte_maddr(va));
    return uvm(va, writable ? (cur | F_W) : (cur & ~F_W), HAKO_UVMF_INVLPG);
}

/* ---- a frame allocator over the free pfns ------------------------------------------ */

static uint64_t alloc_pfn(void)
{
    if (next_pfn >= si->nr_mapped_pages)
        die("out of free mapped pages");
    return next_pfn++;
}

/* A free data frame (zeroed by the builder, mapped writable in the linear map). */
static uint64_t alloc_data(void)
{
    return mfn_of_pfn(alloc_pfn());
}

/* A frame ready to become a page table: zeroed, its linear mapping read-only. */
static uint64_t new_table(void)
{
    uint64_t pfn = alloc_pfn();
    memset((void *)va_of_pfn(pfn), 0, 4096);
    if (set_va_writable(va_of_pfn(pfn), 0))
        die("cannot make a fresh frame read-only");
    return mfn_of_pfn(pfn);
}

/* ---- traps: guest-pv's entry (entry.S) calls guest_trap; user entry --------------- */

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);
long iret_to(struct hako_trap_frame *f);
extern const char user_code_start[], user_code_end[], user_after_syscall[], user_read_kernel[],
    user_read_hv[], user_read_hv_insn[], user_write_ro[], user_write_ro_insn[];

__asm__(".pushsection .text\n"
        /* long iret_to(frame): the iret hypercall with rsp = frame; returns only on error */
        ".globl iret_to\n"
        "iret_to:\n"
        "    pushq %rbx\n"
        "    movq %rsp, %rbx\n"
        "    movq %rdi, %rsp\n"
        "    movl $9, %eax\n"
        "    syscall\n"
        "    movq %rbx, %rsp\n"
        "    popq %rbx\n"
        "    ret\n"
        /* User-mode code, copied into the user code page (position-independent). */
        ".globl user_code_start, user_after_syscall, user_read_kernel, user_read_hv\n"
        ".globl user_read_hv_insn, user_write_ro, user_write_ro_insn, user_code_end\n"
        "user_code_start:\n"
        "    movl $2, %eax\n"             /* what would be sched_op(SHUTDOWN, POWEROFF, 77) */
        "    movl $1, %edi\n"
        "    xorl %esi, %esi\n"
        "    movl $77, %edx\n"
        "    syscall\n"                   /* from user mode: goes to the guest kernel */
        "user_after_syscall:\n"
        "    pushq %rax\n"                /* the user stack works... */
        "    popq %rdx\n"                 /* ...and rdx = what the kernel returned */
        "    movabsq $0xFFFFFFFF80000000, %rcx\n"
        "user_read_kernel:\n"
        "    movq (%rcx), %rax\n"         /* read guest kernel text: must #PF */
        "    ud2\n"
        "user_read_hv:\n"
        "    movabsq $0xFFFF800000000000, %rcx\n"
        "user_read_hv_insn:\n"
        "    movq (%rcx), %rax\n"         /* read the hypervisor's direct map: must #PF */
        "    ud2\n"
        "user_write_ro:\n"
        "    leaq user_code_start(%rip), %rcx\n"
        "user_write_ro_insn:\n"
        "    movq %rax, (%rcx)\n"         /* write its own read-only code page: must #PF */
        "    ud2\n"
        "user_code_end:\n"
        ".popsection\n");

static struct kjmp jb;
static volatile int armed;
static struct hako_trap_frame trap_seen, sc_seen;
static struct guest_regs trap_regs, sc_regs;
static volatile unsigned traps, syscalls;
#define SYSCALL_RET 0x5678ABCDull

void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    if (f->vector == HAKO_TRAP_SYSCALL) {
        sc_seen = *f, sc_regs = *g, syscalls++;
        f->rax = SYSCALL_RET;           /* the stub irets back to user mode */
        return;
    }
    trap_seen = *f, trap_regs = *g, traps++;
    if (armed) {
        armed = 0;
        kjmp_jump(&jb, 1);
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx addr %lx flags %lx\n", f->vector,
            f->error_code, f->rip, f->fault_addr, f->flags);
    die("unexpected exception");
}

/* Run fn(arg); 1 if it trapped (the handler longjmp'd back), 0 if it returned. */
static __attribute__((noinline)) int protected_call(void (*fn)(uint64_t), uint64_t arg)
{
    if (kjmp_save(&jb))
        return 1;
    armed = 1;
    fn(arg);
    armed = 0;
    return 0;
}

static uint64_t write_value;
static void do_read(uint64_t va) { (void)*(volatile uint64_t *)va; }
static void do_write(uint64_t va) { *(volatile uint64_t *)va = write_value; }
static long iret_rc;
static void do_iret(uint64_t frame) { iret_rc = iret_to((struct hako_trap_frame *)frame); }

/* ---- the scratch area ---------------------------------------------------------------- */

static uint64_t l3a, l2a, l1a;         /* mfns of the scratch tables */
static uint64_t d1, d2;                /* data frames */
#define L1A(i) ENT(l1a, i)
#define L2A(i) ENT(l2a, i)
#define L3A(i) ENT(l3a, i)
#define L4E(i) ENT(l4_mfn, i)
#define SCR_VA(i) (SCR + (uint64_t)(i) * 4096)
static const uint64_t *l1a_view, *l2a_view;

/* After every attack: counts consistent, and a valid mapping still works. */
static void alive(void)
{
    long bad = audit();
    XTF_CHECK(bad == 0, "[attack %d] audit found %ld frames with wrong counts", cur_attack, bad);
    long rc = mmu1(L1A(0), (d1 << 12) | F_P | F_U | nx);
    int ok = XTF_EXPECT_RC(rc, 0, what("[attack %d] follow-up: map a data frame", cur_attack));
    if (ok)
        ok = XTF_CHECK(*(volatile uint64_t *)SCR_VA(0) == *(volatile uint64_t *)frame_va(d1),
                       "[attack %d] follow-up mapping reads wrong data", cur_attack);
    VALID("follow-up: unmap it", mmu1(L1A(0), 0));
    kprintf("[attack %d] domain alive, audit %ld%s\n", cur_attack, bad,
            bad == 0 && ok ? "" : "  <-- FAILED");
}

/* ---- the attacks ----------------------------------------------------------------------- */

static uint64_t foreign_mfn;           /* an mfn in RAM the guest does not own */

static void attack_foreign(void)
{
    cur_attack = 1;
    ATTACK("map the hypervisor image (mfn 0x100) read-only",
           mmu1(L1A(1), (HV_IMAGE_MFN << 12) | F_P | F_U), EPERM);
    ATTACK("map the hypervisor image (mfn 0x100) writable",
           mmu1(L1A(1), (HV_IMAGE_MFN << 12) | F_P | F_W | F_U), EPERM);
    ATTACK(what("map an unowned RAM frame (mfn %lx, m2p invalid)", foreign_mfn),
           mmu1(L1A(1), (foreign_mfn << 12) | F_P | F_U), EPERM);
    ATTACK("update_va_mapping to the hypervisor image",
           uvm(SCR_VA(1), (HV_IMAGE_MFN << 12) | F_P | F_U, HAKO_UVMF_INVLPG), EPERM);
    ATTACK("map mfn 0 (firmware, owned by nobody)", mmu1(L1A(1), F_P | F_U), EPERM);
    XTF_CHECK(l1a_view[1] == 0, "refused entry was written: %lx", l1a_view[1]);
    alive();
}

static void attack_beyond_ram(void)
{
    cur_attack = 2;
    ATTACK(what("map mfn m2p_entries + 10 (%lx, beyond RAM)", m2p_entries + 10),
           mmu1(L1A(1), ((m2p_entries + 10) << 12) | F_P | F_U), EPERM);
    ATTACK("map the highest mfn a PTE can name",
           mmu1(L1A(1), ADDR | F_P | F_W | F_U), EPERM);
    ATTACK("map mfn m2p_entries (first beyond RAM)",
           mmu1(L1A(1), (m2p_entries << 12) | F_P | F_U), EPERM);
    alive();
}

static void attack_own_tables_writable(void)
{
    cur_attack = 3;
    uint64_t last_l1 = mfn_of_pfn(si->pt_first_pfn + si->nr_pt_frames - 1);
    ATTACK("map own L4 writable", mmu1(L1A(1), (l4_mfn << 12) | F_P | F_W | F_U), EBUSY);
    ATTACK("map an initial L1 writable", mmu1(L1A(1), (last_l1 << 12) | F_P | F_W | F_U), EBUSY);
    ATTACK("map the scratch L3 writable", mmu1(L1A(1), (l3a << 12) | F_P | F_W | F_U), EBUSY);
    ATTACK("make the L4's own linear mapping writable (update_va_mapping)",
           set_va_writable(si->pt_base_va, 1), EBUSY);
    ATTACK("make the scratch L1's linear mapping writable",
           set_va_writable((uint64_t)l1a_view, 1), EBUSY);
    ATTACK("map own L4 writable, A and D set",
           mmu1(L1A(1), (l4_mfn << 12) | F_P | F_W | F_U | F_A | F_D), EBUSY);
    /* Read-only mappings of page tables are fine. */
    if (VALID("map own L4 read-only", mmu1(L1A(1), (l4_mfn << 12) | F_P | F_U | nx)))
        XTF_CHECK(((volatile uint64_t *)SCR_VA(1))[511] == ((const uint64_t *)si->pt_base_va)[511],
                  "read-only L4 alias shows different contents");
    VALID("unmap it", mmu1(L1A(1), 0));
    alive();
}

static void attack_writable_then_pin(void)
{
    cur_attack = 4;
    uint64_t f = alloc_data();
    uint64_t fva = (uint64_t)frame_va(f);
    VALID("map a free frame writable in the scratch L1", mmu1(L1A(2), (f << 12) | F_P | F_W | F_U | nx));
    /* A foreign mapping written into it while it is only data. */
    ((volatile uint64_t *)SCR_VA(2))[7] = (HV_IMAGE_MFN << 12) | F_P | F_W | F_U;
    ATTACK("pin a frame as L1 while it is mapped writable (twice)", PIN(1, f), EBUSY);
    VALID("drop its linear mapping's write access", set_va_writable(fva, 0));
    ATTACK("pin it as L1 while still mapped writable once", PIN(1, f), EBUSY);
    ATTACK("pin it as L4 while mapped writable", PIN(4, f), EBUSY);
    VALID("unmap the writable alias", mmu1(L1A(2), 0));
    ATTACK("pin it as L1 now: entry 7 maps the hypervisor image", PIN(1, f), EPERM);
    ATTACK("link it as L1 under the scratch L2: same bad entry", mmu1(L2A(3), (f << 12) | TBL), EPERM);
    XTF_CHECK(l2a_view[3] == 0, "refused L2 entry was written: %lx", l2a_view[3]);
    VALID("make it writable again (validation failed, so it is plain data)", set_va_writable(fva, 1));
    ((volatile uint64_t *)fva)[7] = 0;
    VALID("read-only again", set_va_writable(fva, 0));
    VALID("unmapped and clean: pin as L1 succeeds", PIN(1, f));
    ATTACK("map the pinned L1 writable", mmu1(L1A(2), (f << 12) | F_P | F_W | F_U), EBUSY);
    ATTACK("its linear mapping writable", set_va_writable(fva, 1), EBUSY);
    ATTACK("pin it again", PIN(1, f), EEXIST);
    VALID("unpin it", UNPIN(f));
    ATTACK("unpin it twice", UNPIN(f), EINVAL);
    VALID("unpinned: writable again", set_va_writable(fva, 1));
    alive();
}

static void attack_hv_slots(void)
{
    cur_attack = 5;
    const volatile uint64_t *l4 = (const volatile uint64_t *)si->pt_base_va;
    uint64_t n3 = new_table();
    uint64_t saved[16];
    for (unsigned s = 0; s < 16; s++)
        saved[s] = l4[HAKO_HV_L4_FIRST + s];
    ATTACK("L4 slot 256 (hypervisor direct map) -> a guest L3", mmu1(L4E(256), (n3 << 12) | TBL), EPERM);
    ATTACK("L4 slot 271 (last hypervisor slot) -> a guest L3", mmu1(L4E(271), (n3 << 12) | TBL), EPERM);
    ATTACK("L4 slot 258 (m2p) cleared", mmu1(L4E(258), 0), EPERM);
    ATTACK("L4 slot 256 via a batch after a valid entry", ({
               struct hako_mmu_update r[2] __attribute__((aligned(16))) = {
                   { L1A(1), (d1 << 12) | F_P | F_U }, { L4E(256), 0 } };
               uint64_t done = 0;
               long rc = mmu_batch(r, 2, &done);
               XTF_CHECK(done == 1, "batch done = %lu, expected 1", done);
               rc; }), EPERM);
    VALID("undo the batch's first entry", mmu1(L1A(1), 0));
    int same = 1;
    for (unsigned s = 0; s < 16; s++)
        same &= l4[HAKO_HV_L4_FIRST + s] == saved[s];
    XTF_CHECK(same, "hypervisor L4 slots changed");
    if (VALID("L4 slot 255 (lower half, guest) -> a guest L3", mmu1(L4E(255), (n3 << 12) | TBL)))
        XTF_CHECK(l4[255] == ((n3 << 12) | TBL), "L4[255] reads %lx", l4[255]);
    VALID("L4 slot 255 cleared", mmu1(L4E(255), 0));
    if (VALID("L4 slot 272 (first guest slot above the hypervisor) -> a guest L3",
              mmu1(L4E(272), (n3 << 12) | TBL)))
        XTF_CHECK(l4[272] == ((n3 << 12) | TBL), "L4[272] reads %lx", l4[272]);
    VALID("L4 slot 272 cleared", mmu1(L4E(272), 0));
    kprintf("[attack 5] slots 255/272 usable ok\n");

    /* A new L4 whose hypervisor slots hold garbage: the hypervisor must overwrite them. */
    uint64_t pfn = alloc_pfn(), nl4 = mfn_of_pfn(pfn);
    uint64_t *w = (uint64_t *)va_of_pfn(pfn);
    memset(w, 0, 4096);
    for (unsigned s = HAKO_HV_L4_FIRST; s <= HAKO_HV_L4_LAST; s++)
        w[s] = (HV_IMAGE_MFN << 12) | F_P | F_W | F_U;    /* "map the hypervisor" */
    VALID("new L4 with garbage in its hypervisor slots: read-only", set_va_writable((uint64_t)w, 0));
    if (ATTACK("pin an L4 whose hypervisor slots hold guest garbage (slots are ignored)",
               PIN(4, nl4), 0)) {
        same = 1;
        for (unsigned s = 0; s < 16; s++)
            same &= ((w[HAKO_HV_L4_FIRST + s] ^ saved[s]) & ~(F_A | F_D)) == 0;  /* CPU sets A */
        if (!XTF_CHECK(same, "pinned L4's hypervisor slots were not replaced by the hypervisor's"))
            for (unsigned s = 0; s < 16; s++)
                kprintf("  slot %u: new L4 %lx, live L4 %lx\n", HAKO_HV_L4_FIRST + s,
                        w[HAKO_HV_L4_FIRST + s], saved[s]);
        VALID("unpin it", UNPIN(nl4));
        int zero = 1;
        for (unsigned s = HAKO_HV_L4_FIRST; s <= HAKO_HV_L4_LAST; s++)
            zero &= w[s] == 0;
        XTF_CHECK(zero, "unpinned L4 still holds hypervisor pointers in its slots");
    }
    VALID("the unpinned L4 is data again", set_va_writable((uint64_t)w, 1));
    alive();
}

static void attack_bad_bits(void)
{
    cur_attack = 6;
    const uint64_t ok = (d1 << 12) | F_P | F_U;
    static const struct { uint64_t bits; const char *name; } bad[] = {
        { F_PWT, "PWT" }, { F_PCD, "PCD" }, { F_G, "G" }, { F_PAT1, "PAT (bit 7) in an L1" },
        { 1ull << 52, "bit 52" }, { 1ull << 62, "bit 62 (protection key)" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ATTACK(what("L1 entry with %s", bad[i].name), mmu1(L1A(3), ok | bad[i].bits), EINVAL);
        ATTACK(what("update_va_mapping with %s", bad[i].name),
               uvm(SCR_VA(3), ok | bad[i].bits, HAKO_UVMF_INVLPG), EINVAL);
    }
    ATTACK("L1 entry without U", mmu1(L1A(3), (d1 << 12) | F_P), EINVAL);
    ATTACK("L1 entry without U, writable", mmu1(L1A(3), (d1 << 12) | F_P | F_W), EINVAL);
    if (!nx)
        ATTACK("L1 entry with NX on a CPU without NX", mmu1(L1A(3), ok | HAKO_PTE_NX), EINVAL);
    ATTACK("L2 entry with PCD", mmu1(L2A(3), (l1a << 12) | TBL | F_PCD), EINVAL);
    ATTACK("L2 entry without U", mmu1(L2A(3), (l1a << 12) | F_P | F_W), EINVAL);
    ATTACK("L3 entry with PS (1 GiB page)", mmu1(L3A(1), F_P | F_U | F_PS), EINVAL);
    ATTACK("L4 entry with PS", mmu1(L4E(3), (l3a << 12) | TBL | F_PS), EINVAL);
    ATTACK("L4 entry with G", mmu1(L4E(3), (l3a << 12) | TBL | F_G), EINVAL);
    XTF_CHECK(l1a_view[3] == 0 && l2a_view[3] == 0, "refused entries were written");
    VALID("L1 entry with A, D and the available bits", mmu1(L1A(3), ok | F_A | F_D | HAKO_PTE_AVAIL));
    if (nx)
        VALID("L1 entry with NX (CPU has NX)", mmu1(L1A(3), ok | HAKO_PTE_NX));
    VALID("not-present entry with arbitrary other bits",
          mmu1(L1A(3), (HV_IMAGE_MFN << 12) | F_W | F_PCD | F_G | (1ull << 52)));
    VALID("clear it", mmu1(L1A(3), 0));
    alive();
}

static void attack_large_pages(void)
{
    cur_attack = 7;
    const uint64_t ps = F_P | F_U | F_PS;
    if (!owned(0))
        ATTACK("2 MiB page at machine address 0", mmu1(L2A(1), ps), EPERM);
    ATTACK("2 MiB page over the hypervisor image (mfn 0x000-0x1ff)",
           mmu1(L2A(1), (HV_IMAGE_MFN & ~511ull) << 12 | ps | F_W), EPERM);
    uint64_t beyond = (m2p_entries + 511) & ~511ull;
    ATTACK("2 MiB page beyond RAM", mmu1(L2A(1), (beyond << 12) | ps), EPERM);
    uint64_t mis = d1 | 1;                     /* an owned mfn that is not 512-aligned */
    ATTACK("misaligned 2 MiB page (own frames)", mmu1(L2A(1), (mis << 12) | ps), EINVAL);
    ATTACK("2 MiB page with the PAT bit (bit 12)", mmu1(L2A(1), (1ull << 12) | ps), EINVAL);
    ATTACK("2 MiB page with PCD", mmu1(L2A(1), ps | F_PCD), EINVAL);

    /* A 2 MiB region the guest owns only part of: refused, references rolled back. */
    uint64_t lo = ~0ull, hi = 0;
    for (uint64_t pfn = 0; pfn < si->nr_pages; pfn++) {
        uint64_t m = mfn_of_pfn(pfn);
        lo = m < lo ? m : lo, hi = m > hi ? m : hi;
    }
    uint64_t part = (lo & 511) ? (lo & ~511ull) : (hi & 511) != 511 ? (hi & ~511ull) : ~0ull;
    if (part != ~0ull) {
        ATTACK(what("2 MiB page over mfns %lx.. (partly the guest's)", part),
               mmu1(L2A(1), (part << 12) | ps), EPERM);
        ATTACK("same, writable", mmu1(L2A(1), (part << 12) | ps | F_W), EPERM);
    }

    /* A 2 MiB region entirely the guest's: read-only works; writable over tables does not. */
    uint64_t full = ~0ull;
    for (uint64_t base = (lo + 511) & ~511ull; base + 511 <= hi && full == ~0ull; base += 512) {
        int all = 1;
        for (unsigned k = 0; k < 512 && all; k++)
            all = owned(base + k) && pfn_of_mfn(base + k) < si->nr_mapped_pages;
        if (all)
            full = base;
    }
    if (full != ~0ull) {
        if (VALID("2 MiB read-only page over the guest's own frames", mmu1(L2A(1), (full << 12) | ps))) {
            const volatile uint64_t *big = (const volatile uint64_t *)(SCR + (2ull << 20));
            XTF_CHECK(big[0] == frame_va(full)[0] && big[511 * 512 + 1] == frame_va(full + 511)[1],
                      "2 MiB mapping shows the wrong frames");
            ATTACK("update_va_mapping of a va inside a 2 MiB page (no L1)",
                   uvm(SCR + (2ull << 20), (d1 << 12) | F_P | F_U, 0), EINVAL);
        }
        VALID("unmap it", mmu1(L2A(1), 0));
        int has_pt = 0;
        for (unsigned k = 0; k < 512; k++) {
            uint64_t pfn = pfn_of_mfn(full + k);
            has_pt |= pfn >= si->pt_first_pfn && pfn < si->pt_first_pfn + si->nr_pt_frames;
        }
        if (has_pt)
            ATTACK("2 MiB writable page over frames including page tables",
                   mmu1(L2A(1), (full << 12) | ps | F_W), EBUSY);
    } else {
        kprintf("[attack 7] note: no 2 MiB region wholly owned; that part skipped\n");
    }
    XTF_CHECK(l2a_view[1] == 0, "refused 2 MiB entry was written: %lx", l2a_view[1]);
    ATTACK("update_va_mapping of a va whose L2 entry is empty",
           uvm(SCR + (2ull << 20), (d1 << 12) | F_P | F_U, 0), EINVAL);
    alive();
}

static void attack_pins(void)
{
    cur_attack = 8;
    uint64_t l1_live = mfn_of_pfn(si->pt_first_pfn + si->nr_pt_frames - 1);
    ATTACK("unpin a live L1 that is not pinned", UNPIN(l1_live), EINVAL);
    ATTACK("unpin a data frame", UNPIN(d1), EINVAL);
    ATTACK("unpin the hypervisor image", UNPIN(HV_IMAGE_MFN), EPERM);
    ATTACK("unpin beyond RAM", UNPIN(m2p_entries + 10), EPERM);
    ATTACK("pin the current L4 again", PIN(4, l4_mfn), EEXIST);
    ATTACK("pin a live L1 as L2 (retype a table in use)", PIN(2, l1_live), EBUSY);
    ATTACK("pin the live (pinned) L4 as L3", PIN(3, l4_mfn), EBUSY);
    ATTACK("pin the scratch L3 (in use, not pinned) as L4", PIN(4, l3a), EBUSY);
    ATTACK("pin the scratch L3 as L2", PIN(2, l3a), EBUSY);
    ATTACK("pin the scratch L2 as L1", PIN(1, l2a), EBUSY);
    ATTACK("pin a writable data frame as L4", PIN(4, d1), EBUSY);
    ATTACK("pin the hypervisor image as L1", PIN(1, HV_IMAGE_MFN), EPERM);
    ATTACK("pin a frame beyond RAM", PIN(1, m2p_entries + 10), EPERM);
    ATTACK("new base pointer: an L1", ext(HAKO_MMUEXT_NEW_BASEPTR, l1_live), EBUSY);
    ATTACK("new base pointer: the hypervisor image", ext(HAKO_MMUEXT_NEW_BASEPTR, HV_IMAGE_MFN), EPERM);
    ATTACK("new base pointer: none", ext(HAKO_MMUEXT_NEW_BASEPTR, 0), EINVAL);
    ATTACK("new user base pointer: a data frame", ext(HAKO_MMUEXT_NEW_USER_BASEPTR, d1), EBUSY);
    ATTACK("unknown mmuext command", ext(11, 0), ENOSYS);
    ATTACK("mmuext with nonzero arg2", ({
               static struct hako_mmuext_op op = { HAKO_MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 1 };
               HC3(HAKO_HC_mmuext_op, &op, 1, 0); }), EINVAL);
    ATTACK("invlpg of a hypervisor address", ext(HAKO_MMUEXT_INVLPG_LOCAL, HAKO_HV_VA_START), EINVAL);
    VALID("pin a live L1 as L1 (same type: fine)", PIN(1, l1_live));
    VALID("and unpin it", UNPIN(l1_live));
    VALID("new base pointer: the current L4", ext(HAKO_MMUEXT_NEW_BASEPTR, l4_mfn));
    VALID("flush the TLB", ext(HAKO_MMUEXT_TLB_FLUSH_ALL, 0));
    alive();
}

static void attack_loops(void)
{
    cur_attack = 9;
    ATTACK("L4 entry -> the L4 itself", mmu1(L4E(2), (l4_mfn << 12) | TBL), EBUSY);
    ATTACK("L4 entry -> the L4 itself, read-only", mmu1(L4E(2), (l4_mfn << 12) | F_P | F_U), EBUSY);
    ATTACK("L3 entry -> its own L3", mmu1(L3A(1), (l3a << 12) | TBL), EBUSY);
    ATTACK("L2 entry -> its own L2", mmu1(L2A(2), (l2a << 12) | TBL), EBUSY);
    ATTACK("L3 entry -> the L4", mmu1(L3A(1), (l4_mfn << 12) | TBL), EBUSY);
    ATTACK("L2 entry -> the scratch L3", mmu1(L2A(2), (l3a << 12) | TBL), EBUSY);
    ATTACK("L1 entry -> its own L1, writable", mmu1(L1A(4), (l1a << 12) | F_P | F_W | F_U), EBUSY);
    VALID("L1 entry -> its own L1, read-only (harmless)", mmu1(L1A(4), (l1a << 12) | F_P | F_U | nx));
    VALID("undo", mmu1(L1A(4), 0));

    /* A fresh frame pointing at itself, linked in: validation must see the loop. */
    uint64_t qp = alloc_pfn(), q = mfn_of_pfn(qp);
    uint64_t *qw = (uint64_t *)va_of_pfn(qp);
    qw[0] = (q << 12) | TBL;
    VALID("self-referencing fresh frame: read-only", set_va_writable((uint64_t)qw, 0));
    ATTACK("link a fresh L3 whose entry 0 points to itself", mmu1(L4E(2), (q << 12) | TBL), EBUSY);
    ATTACK("pin it as L2", PIN(2, q), EBUSY);
    ATTACK("pin it as L1 (its entry maps itself writable)", PIN(1, q), EBUSY);
    VALID("it was never validated: writable again", set_va_writable((uint64_t)qw, 1));

    /* Two fresh frames pointing at each other. */
    uint64_t rp = alloc_pfn(), r = mfn_of_pfn(rp);
    uint64_t *rw = (uint64_t *)va_of_pfn(rp);
    qw[0] = (r << 12) | TBL, rw[0] = (q << 12) | TBL;
    VALID("pair: read-only", set_va_writable((uint64_t)qw, 0));
    VALID("pair: read-only", set_va_writable((uint64_t)rw, 0));
    ATTACK("link a fresh L3 -> L2 -> the same L3 as L1", mmu1(L4E(2), (q << 12) | TBL), EBUSY);
    ATTACK("pin the pair as L4", PIN(4, q), EBUSY);
    XTF_CHECK(((const uint64_t *)si->pt_base_va)[2] == 0, "refused L4 entry was written");
    /* A fresh frame pointing at the live L4. */
    VALID("pair: writable", set_va_writable((uint64_t)rw, 1));
    rw[0] = (l4_mfn << 12) | TBL;
    VALID("pair: read-only", set_va_writable((uint64_t)rw, 0));
    ATTACK("fresh L3 whose entry points at the live L4 (as L2)", mmu1(L4E(2), (r << 12) | TBL), EBUSY);
    VALID("fresh frames are data again", set_va_writable((uint64_t)qw, 1));
    VALID("fresh frames are data again", set_va_writable((uint64_t)rw, 1));
    alive();
}

static void attack_partial_batch(void)
{
    cur_attack = 10;
    static struct hako_mmu_update r[8] __attribute__((aligned(16)));
    uint64_t data[8];
    for (unsigned i = 0; i < 8; i++) {
        data[i] = alloc_data();
        r[i].ptr = L1A(8 + i);
        r[i].val = (data[i] << 12) | F_P | F_U | nx;
    }
    r[4].val = (HV_IMAGE_MFN << 12) | F_P | F_U;
    uint64_t done = 0xdead;
    ATTACK("batch of 8, the 5th maps the hypervisor", mmu_batch(r, 8, &done), EPERM);
    XTF_CHECK(done == 4, "batch: done = %lu, expected 4", done);
    int applied = 1, untouched = 1;
    for (unsigned i = 0; i < 4; i++)
        applied &= (l1a_view[8 + i] & ~(F_A | F_D)) == r[i].val;
    for (unsigned i = 4; i < 8; i++)
        untouched &= l1a_view[8 + i] == 0;
    XTF_CHECK(applied, "the first 4 entries of the failed batch were not applied");
    XTF_CHECK(untouched, "entries at or after the failing one were applied");
    kprintf("[attack 10] done = %lu, first 4 applied: %s, rest untouched: %s\n", done,
            applied ? "yes" : "NO", untouched ? "yes" : "NO");
    if (applied)
        XTF_CHECK(*(volatile uint64_t *)SCR_VA(8 + 3) == *(volatile uint64_t *)frame_va(data[3]),
                  "applied batch entry maps the wrong frame");

    r[4].val = (data[4] << 12) | F_P | F_U | F_PCD;
    done = 0xdead;
    ATTACK("same batch, the 5th with PCD", mmu_batch(r, 8, &done), EINVAL);
    XTF_CHECK(done == 4, "batch: done = %lu, expected 4", done);

    /* mmuext batch: pin, pin again (fails), never reached. */
    static struct hako_mmuext_op ops[3] __attribute__((aligned(16)));
    uint64_t t = new_table();
    ops[0] = (struct hako_mmuext_op){ HAKO_MMUEXT_PIN_L1_TABLE, 0, t, 0 };
    ops[1] = ops[0];
    ops[2] = (struct hako_mmuext_op){ HAKO_MMUEXT_UNPIN_TABLE, 0, t, 0 };
    done = 0xdead;
    ATTACK("mmuext batch: pin, pin again, unpin", HC3(HAKO_HC_mmuext_op, ops, 3, &done), EEXIST);
    XTF_CHECK(done == 1, "mmuext batch: done = %lu, expected 1", done);
    VALID("unpin it", UNPIN(t));

    for (unsigned i = 0; i < 8; i++)
        r[i].val = 0;
    done = 0xdead;
    VALID("clear the 8 entries in one batch", mmu_batch(r, 8, &done));
    XTF_CHECK(done == 8, "clearing batch: done = %lu", done);
    alive();
}

static void attack_long_batch(void)
{
    cur_attack = 11;
    const uint64_t n = 100000;
    const uint64_t pages = (n * sizeof(struct hako_mmu_update) + 4095) / 4096;
    uint64_t first = alloc_pfn();
    for (uint64_t i = 1; i < pages; i++)
        alloc_pfn();
    struct hako_mmu_update *r = (struct hako_mmu_update *)va_of_pfn(first);
    uint64_t x = new_table();           /* frame linked as L1, then mapped writable */
    /* item 0 links x as an L1; item 1 unlinks it; item 2 maps x writable. Restarting the
     * batch from 0 after item 2 fails (x is writable-typed), so a continuation that loses
     * its place shows up as -EBUSY instead of a hang. The rest toggle the A bit of a
     * read-only mapping of d2; the last item unmaps x. */
    r[0] = (struct hako_mmu_update){ L2A(5), (x << 12) | TBL };
    r[1] = (struct hako_mmu_update){ L2A(5), 0 };
    r[2] = (struct hako_mmu_update){ L1A(20), (x << 12) | F_P | F_W | F_U | nx };
    for (uint64_t i = 3; i < n - 1; i++)
        r[i] = (struct hako_mmu_update){ L1A(21), (d2 << 12) | F_P | F_U | nx | ((i & 1) ? F_A : 0) };
    r[n - 1] = (struct hako_mmu_update){ L1A(20), 0 };
    long c0 = continuations();
    uint64_t done = 0xdead;
    long rc = mmu_batch(r, n, &done);
    long c1 = continuations();
    ATTACK("batch of 100000 entries (split and continued)", rc, 0);
    XTF_CHECK(done == n, "long batch: done = %lu, expected %lu", done, n);
    XTF_CHECK(c1 > c0, "long batch was never split: continuations %ld -> %ld", c0, c1);
    if (rc == EBUSY && done == 0)
        xtf_failure("long batch restarted from item 0 after a split: the continuation lost "
                    "its progress (hc_resume never matches?)");
    kprintf("[attack 11] rc %ld, done %lu, continuations %ld -> %ld\n", rc, done, c0, c1);
    uint64_t want21 = (d2 << 12) | F_P | F_U | nx | (((n - 2) & 1) ? F_A : 0);
    XTF_CHECK(l2a_view[5] == 0 && l1a_view[20] == 0 && l1a_view[21] == want21,
              "long batch final state: L2[5] %lx L1[20] %lx L1[21] %lx (want 0 0 %lx)",
              l2a_view[5], l1a_view[20], l1a_view[21], want21);
    /* Clean up whatever state a failure left. */
    mmu1(L1A(20), 0), mmu1(L2A(5), 0), mmu1(L1A(21), 0);
    VALID("x is clean: pin as L1", PIN(1, x));
    VALID("unpin x", UNPIN(x));
    ATTACK("batch larger than HAKO_MMU_BATCH_MAX", mmu_batch(r, HAKO_MMU_BATCH_MAX + 1ull, &done), E2BIG);
    alive();
}

/* User mode: the user address space, the trap handlers, and the attacks from user mode. */
static uint8_t kstack[16384] __attribute__((aligned(16)));
static struct hako_trap_frame uframe __attribute__((aligned(16)));
static struct hako_trap_info traps_tbl[HAKO_TRAP_VECTORS] __attribute__((aligned(16)));

#define USER_CODE  0x400000ull
#define USER_STACK 0x401000ull
#define UOFF(sym) (USER_CODE + (uint64_t)((sym) - user_code_start))

static void install_traps(int on)
{
    for (unsigned v = 0; v < HAKO_TRAP_VECTORS; v++) {
        traps_tbl[v].vector = (uint8_t)v;
        traps_tbl[v].handler = on ? UL(guest_trap_entry) : 0;
    }
    VALID("set_trap_table", HC3(HAKO_HC_set_trap_table, traps_tbl, HAKO_TRAP_VECTORS, 0));
    VALID("stack_switch", HC3(HAKO_HC_stack_switch, on ? UL(kstack + sizeof(kstack)) : 0, 0, 0));
    VALID("set_callback(SYSCALL)",
          HC3(HAKO_HC_set_callback, HAKO_CALLBACK_SYSCALL, on ? UL(guest_trap_entry) : 0, 0));
}

/* Enter user mode at rip; 1 when a trap brought us back. */
static int run_user(uint64_t rip)
{
    memset(&uframe, 0, sizeof(uframe));
    uframe.rip = rip;
    uframe.rsp = USER_STACK + 4096;
    uframe.flags = HAKO_TF_USER;
    uframe.rflags = HAKO_GUEST_RFLAGS;
    uframe.cs = HAKO_GUEST_CS64;
    uframe.ss = HAKO_GUEST_DS;
    iret_rc = 0;
    int trapped = protected_call(do_iret, UL(&uframe));
    if (!trapped)
        xtf_failure("iret to user mode at %lx returned %ld (%s)", rip, iret_rc,
                    xtf_errname(iret_rc));
    return trapped;
}

/* The hypervisor's fast paths for a user-mode iret and a user syscall (entry.S) take
 * only good frames and stacks; everything else must be refused exactly as before. With
 * a user base pointer set, so that nothing but the case under test sends an iret with
 * HAKO_TF_USER to the full path. */
static void attack_user_fast_paths(void)
{
    static const struct { uint64_t at; long rc; const char *what; } frames[] = {
        { HAKO_HV_VA_START, EFAULT, "in the hypervisor's range" },
        { HAKO_HV_VA_END - 48, EFAULT, "starting in the hypervisor's range, ending above it" },
        { HAKO_LOWER_HALF_END - 48, EFAULT, "straddling the end of the lower half" },
        { 0xFFFFFFFFFFFFFFC0ull, EFAULT, "wrapping around the address space" },
        { 0x1000, EFAULT, "unmapped" },
    };
    for (unsigned i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
        ATTACK(what("user-mode iret, frame %s", frames[i].what),
               iret_to((struct hako_trap_frame *)frames[i].at), frames[i].rc);
    memset(&uframe, 0, sizeof(uframe));
    uframe.rsp = USER_STACK + 4096, uframe.flags = HAKO_TF_USER;
    static const struct { uint64_t rip, flags; const char *what; } bad[] = {
        { HAKO_LOWER_HALF_END, HAKO_TF_USER, "a non-canonical rip" },
        { HAKO_HV_VA_START + 0x1000, HAKO_TF_USER, "a rip in the hypervisor" },
        { HAKO_HV_VA_END - 1, HAKO_TF_USER | HAKO_TF_EVENTS_MASKED, "a rip on the hypervisor's last byte" },
        { USER_CODE, HAKO_TF_USER | (1ull << 2), "an unknown flag beside TF_USER" },
        { USER_CODE, HAKO_TF_USER | (1ull << 63), "the top flag bit beside TF_USER" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uframe.rip = bad[i].rip, uframe.flags = bad[i].flags;
        ATTACK(what("user-mode iret with %s", bad[i].what), iret_to(&uframe), EINVAL);
    }
    /* Entering user mode masked: the syscall frame carries the mask, and the kernel's
     * iret back to user mode keeps it. */
    struct hako_vcpu_info *vi = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    unsigned s0 = syscalls;
    memset(&uframe, 0, sizeof(uframe));
    uframe.rip = USER_CODE, uframe.rsp = USER_STACK + 4096;
    uframe.flags = HAKO_TF_USER | HAKO_TF_EVENTS_MASKED;
    uframe.rflags = HAKO_GUEST_RFLAGS, uframe.cs = HAKO_GUEST_CS64, uframe.ss = HAKO_GUEST_DS;
    iret_rc = 0;
    if (XTF_CHECK(protected_call(do_iret, UL(&uframe)), "masked iret to user mode returned %ld",
                  iret_rc))
        XTF_CHECK(syscalls == s0 + 1 && sc_seen.flags == (HAKO_TF_USER | HAKO_TF_EVENTS_MASKED) &&
                      trap_regs.rdx == SYSCALL_RET,
                  "masked user syscall: %u calls, flags %lx, result %lx", syscalls - s0,
                  sc_seen.flags, trap_regs.rdx);
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    /* crash=syscall-stack: a kernel stack the syscall frame cannot be written to (the
     * read-only page of the kernel's top-level table); the domain must stop with "cannot
     * write a trap frame" (tests/system/test-crash.sh). */
    if (cmdline_has(si->cmdline, "crash=syscall-stack")) {
        VALID("stack_switch onto a page table", HC3(HAKO_HC_stack_switch, si->pt_base_va + 4096, 0, 0));
        kprintf("user syscall with the kernel stack on a page table: the domain must crash\n");
        run_user(USER_CODE);
        xtf_failure("the syscall frame was written on a read-only page table");
    }
}

static void attack_user(void)
{
    cur_attack = 12;
    /* The pages: code (read-only for the user), stack, and the four tables, all filled in
     * while still writable data, then made read-only and validated in one pin. */
    uint64_t code = alloc_data(), stack = alloc_data();
    uint64_t up[4], um[4];
    for (unsigned i = 0; i < 4; i++)
        up[i] = alloc_pfn(), um[i] = mfn_of_pfn(up[i]);
    uint64_t *u4 = (uint64_t *)va_of_pfn(up[0]), *u3 = (uint64_t *)va_of_pfn(up[1]);
    uint64_t *u2 = (uint64_t *)va_of_pfn(up[2]), *u1 = (uint64_t *)va_of_pfn(up[3]);
    memcpy(frame_va(code), user_code_start, (size_t)(user_code_end - user_code_start));
    for (unsigned i = 0; i < 4; i++)
        memset((void *)va_of_pfn(up[i]), 0, 4096);
    u1[(USER_CODE >> 12) & 511] = (code << 12) | F_P | F_U;
    u1[(USER_STACK >> 12) & 511] = (stack << 12) | F_P | F_W | F_U | nx;
    u2[(USER_CODE >> 21) & 511] = (um[3] << 12) | TBL;
    u3[0] = (um[2] << 12) | TBL;
    u4[0] = (um[1] << 12) | TBL;
    u4[HAKO_HV_L4_FIRST + 4] = (HV_IMAGE_MFN << 12) | TBL;   /* garbage, must be ignored */
    for (unsigned i = 0; i < 4; i++)
        VALID("user table read-only", set_va_writable(va_of_pfn(up[i]), 0));

    install_traps(1);
    ATTACK("set_trap_table with a handler in the hypervisor range", ({
               static struct hako_trap_info t = { 14, { 0 }, HAKO_HV_VA_START };
               HC3(HAKO_HC_set_trap_table, &t, 1, 0); }), EINVAL);
    /* iret to user mode before there is a user address space. */
    memset(&uframe, 0, sizeof(uframe));
    uframe.rip = USER_CODE, uframe.rsp = USER_STACK + 4096, uframe.flags = HAKO_TF_USER;
    ATTACK("iret to user mode with no user base pointer", iret_to(&uframe), EINVAL);
    uframe.flags = 1ull << 2;            /* the first bit ABI.md does not define */
    ATTACK("iret with unknown flags", iret_to(&uframe), EINVAL);
    uframe.flags = HAKO_TF_USER, uframe.rip = HAKO_HV_VA_START;
    ATTACK("iret to a hypervisor rip", iret_to(&uframe), EINVAL);

    if (!VALID("pin the user L4 (validates the whole user tree)", PIN(4, um[0])))
        return;
    XTF_CHECK(((u4[HAKO_HV_L4_FIRST + 4] ^ ((const uint64_t *)si->pt_base_va)[HAKO_HV_L4_FIRST + 4]) &
               ~(F_A | F_D)) == 0,
              "user L4's hypervisor slot kept the guest's garbage");
    ATTACK("user base pointer: the user L3 (now an L3)", ext(HAKO_MMUEXT_NEW_USER_BASEPTR, um[1]), EBUSY);
    ATTACK("user base pointer: the hypervisor image", ext(HAKO_MMUEXT_NEW_USER_BASEPTR, HV_IMAGE_MFN),
           EPERM);
    ATTACK("map the user code page's L1 writable", mmu1(L1A(1), (um[3] << 12) | F_P | F_W | F_U), EBUSY);
    if (!VALID("set the user base pointer", ext(HAKO_MMUEXT_NEW_USER_BASEPTR, um[0])))
        return;
    XTF_CHECK(audit() == 0, "audit with a user base pointer");

    /* 1: syscall (a hypercall number: must reach the guest kernel), then read kernel text. */
    unsigned s0 = syscalls, t0 = traps;
    if (run_user(USER_CODE)) {
        XTF_CHECK(syscalls == s0 + 1, "user syscall did not reach the kernel's callback");
        XTF_CHECK(sc_seen.vector == HAKO_TRAP_SYSCALL && sc_seen.flags == HAKO_TF_USER,
                  "syscall frame: vector %lu flags %lx", sc_seen.vector, sc_seen.flags);
        XTF_CHECK(sc_seen.rax == HAKO_HC_sched_op && sc_regs.rdi == HAKO_SCHED_SHUTDOWN &&
                      sc_regs.rsi == 0 && sc_regs.rdx == 77,
                  "syscall registers: rax %lx rdi %lx rsi %lx rdx %lx", sc_seen.rax,
                  sc_regs.rdi, sc_regs.rsi, sc_regs.rdx);
        XTF_CHECK(sc_seen.rip == UOFF(user_after_syscall) && sc_seen.rsp == USER_STACK + 4096,
                  "syscall frame rip %lx rsp %lx", sc_seen.rip, sc_seen.rsp);
        kprintf("[attack 12] user syscall with a hypercall number -> kernel callback %s\n",
                syscalls == s0 + 1 ? "ok" : "FAILED");
        int ok = XTF_CHECK(traps == t0 + 1 && trap_seen.vector == 14 &&
                               trap_seen.flags == HAKO_TF_USER &&
                               trap_seen.fault_addr == 0xFFFFFFFF80000000ull &&
                               (trap_seen.error_code & 7) == 4 &&
                               trap_seen.rip == UOFF(user_read_kernel),
                           "user read of kernel text: vector %lu flags %lx addr %lx error %lx rip %lx",
                           trap_seen.vector, trap_seen.flags, trap_seen.fault_addr,
                           trap_seen.error_code, trap_seen.rip);
        XTF_CHECK(trap_regs.rdx == SYSCALL_RET, "syscall result seen by user: %lx", trap_regs.rdx);
        kprintf("[attack 12] user reads kernel text -> #PF to the kernel (user, addr %lx) %s\n",
                trap_seen.fault_addr, ok ? "ok" : "FAILED");
    }
    /* 2: read the hypervisor's direct map from user mode. */
    t0 = traps;
    if (run_user(UOFF(user_read_hv))) {
        int ok = XTF_CHECK(traps == t0 + 1 && trap_seen.vector == 14 &&
                               trap_seen.flags == HAKO_TF_USER &&
                               trap_seen.fault_addr == HAKO_HV_VA_START &&
                               (trap_seen.error_code & 6) == 4 &&
                               trap_seen.rip == UOFF(user_read_hv_insn),
                           "user read of hypervisor memory: vector %lu flags %lx addr %lx "
                           "error %lx", trap_seen.vector, trap_seen.flags,
                           trap_seen.fault_addr, trap_seen.error_code);
        kprintf("[attack 12] user reads hypervisor memory -> #PF (error %lx) %s\n",
                trap_seen.error_code, ok ? "ok" : "FAILED");
    }
    /* 3: write its own read-only code page. */
    t0 = traps;
    if (run_user(UOFF(user_write_ro))) {
        int ok = XTF_CHECK(traps == t0 + 1 && trap_seen.vector == 14 &&
                               trap_seen.flags == HAKO_TF_USER &&
                               trap_seen.fault_addr == USER_CODE &&
                               (trap_seen.error_code & 7) == 7 &&
                               trap_seen.rip == UOFF(user_write_ro_insn),
                           "user write to read-only page: vector %lu flags %lx addr %lx error %lx",
                           trap_seen.vector, trap_seen.flags, trap_seen.fault_addr,
                           trap_seen.error_code);
        XTF_CHECK(memcmp(frame_va(code), user_code_start, 8) == 0, "user wrote its read-only page");
        kprintf("[attack 12] user writes its read-only page -> #PF %s\n", ok ? "ok" : "FAILED");
    }

    attack_user_fast_paths();

    VALID("drop the user base pointer", ext(HAKO_MMUEXT_NEW_USER_BASEPTR, 0));
    VALID("unpin the user L4", UNPIN(um[0]));
    for (unsigned i = 0; i < 4; i++)
        VALID("user tables are data again", set_va_writable(va_of_pfn(up[i]), 1));
    alive();
}

/* The TLB must not keep a writable translation of a frame that becomes a page table.
 * One L1 entry maps two VAs when its L1 is linked under two L2 slots; update_va_mapping
 * changes the entry through one VA. */
static void attack_stale_tlb(void)
{
    cur_attack = 13;
    uint64_t x = new_table();
    const uint64_t slot = 30, alias_l2 = 6;
    uint64_t v1 = SCR_VA(slot), v2 = SCR + (alias_l2 << 21) + (slot << 12);
    for (int variant = 0; variant < 2; variant++) {
        const char *how = variant ? "mmu_update" : "update_va_mapping";
        VALID("link the scratch L1 a second time", mmu1(L2A(alias_l2), (l1a << 12) | TBL));
        VALID("map a free frame writable", mmu1(L1A(slot), (x << 12) | F_P | F_W | F_U | nx));
        *(volatile uint64_t *)(v2 + 40) = 0;           /* a writable TLB entry for v2 */
        if (variant)
            VALID("unmap it (mmu_update)", mmu1(L1A(slot), 0));
        else
            VALID("unmap it through v1 (update_va_mapping)", uvm(v1, 0, HAKO_UVMF_INVLPG));
        if (!VALID("pin the frame as L1 (no writable mapping is left)", PIN(1, x)))
            continue;
        write_value = 0x0000000DEAD0000ull;            /* not present: harmless if it lands */
        int trapped = protected_call(do_write, v2 + 40);
        uint64_t now = frame_va(x)[5];
        int ok = XTF_CHECK(trapped && now == 0,
                           "wrote a validated L1 (entry 5 = %lx) through a stale TLB entry of an "
                           "alias VA after unmapping with %s: the TLB was not flushed when the "
                           "frame's last writable mapping went / its type changed", now, how);
        if (trapped)
            XTF_CHECK(trap_seen.vector == 14 && trap_seen.fault_addr == v2 + 40 &&
                          trap_seen.flags == 0,
                      "stale-TLB probe trapped with vector %lu addr %lx", trap_seen.vector,
                      trap_seen.fault_addr);
        kprintf("[attack 13] write a new L1 through an alias VA's stale TLB entry (unmapped "
                "with %s) -> #PF %s\n", how, ok ? "ok" : "FAILED (page-table write got through)");
        VALID("unpin it", UNPIN(x));
        VALID("unlink the second L1 link", mmu1(L2A(alias_l2), 0));
        if (now) {   /* clean the marker so the frame can be reused */
            set_va_writable((uint64_t)frame_va(x), 1);
            frame_va(x)[5] = 0;
            set_va_writable((uint64_t)frame_va(x), 0);
        }
    }
    alive();
}

static void attack_kernel_faults(void)
{
    cur_attack = 14;
    uint64_t l4va = si->pt_base_va;
    write_value = 0;
    int t = protected_call(do_write, l4va + 8 * 3);
    XTF_CHECK(t && trap_seen.vector == 14 && trap_seen.fault_addr == l4va + 24 &&
                  trap_seen.flags == 0 && (trap_seen.error_code & 3) == 3,
              "kernel write to its read-only L4: trapped %d vector %lu addr %lx error %lx", t,
              trap_seen.vector, trap_seen.fault_addr, trap_seen.error_code);
    kprintf("[attack 14] kernel writes its own L4 directly -> #PF %s\n", t ? "ok" : "FAILED");
    t = protected_call(do_read, HAKO_HV_VA_START + (HV_IMAGE_MFN << 12));
    XTF_CHECK(t && trap_seen.vector == 14 &&
                  trap_seen.fault_addr == HAKO_HV_VA_START + (HV_IMAGE_MFN << 12),
              "kernel read of the hypervisor image: trapped %d addr %lx", t, trap_seen.fault_addr);
    kprintf("[attack 14] kernel reads the hypervisor image -> #PF %s\n", t ? "ok" : "FAILED");
    t = protected_call(do_write, HAKO_M2P_VA);
    XTF_CHECK(t && trap_seen.vector == 14 && trap_seen.fault_addr == HAKO_M2P_VA,
              "kernel write to the m2p: trapped %d", t);
    kprintf("[attack 14] kernel writes the read-only m2p -> #PF %s\n", t ? "ok" : "FAILED");
    alive();
}

static void attack_malformed(void)
{
    cur_attack = 15;
    uint64_t done = 0;
    ATTACK("mmu_update command 2", mmu1(L1A(1) | 2, 0), EINVAL);
    ATTACK("mmu_update command 3", mmu1(L1A(1) | 3, 0), EINVAL);
    ATTACK("mmu_update ptr not 8-aligned", mmu1(L1A(1) + 4, 0), EINVAL);
    ATTACK("mmu_update into a data frame (not a page table)", mmu1(d1 << 12, 0), EINVAL);
    ATTACK("mmu_update into the hypervisor image", mmu1(HV_IMAGE_MFN << 12, 0), EPERM);
    ATTACK("mmu_update into a frame beyond RAM", mmu1((m2p_entries + 10) << 12, 0), EPERM);
    ATTACK("m2p update of a hypervisor frame", mmu1((HV_IMAGE_MFN << 12) | HAKO_MMU_MACHPHYS_UPDATE, 5),
           EPERM);
    ATTACK("m2p update with offset bits", mmu1((d1 << 12) | 8 | HAKO_MMU_MACHPHYS_UPDATE, 5), EINVAL);
    VALID("m2p update of an own frame (same value)",
          mmu1((d1 << 12) | HAKO_MMU_MACHPHYS_UPDATE, pfn_of_mfn(d1)));
    ATTACK("mmu_update from an unmapped request array", mmu_batch((void *)0x1000, 1, &done), EFAULT);
    ATTACK("mmu_update with done in the read-only L4",
           mmu_batch((const void *)l1a_view, 1, (uint64_t *)si->pt_base_va), EFAULT);
    ATTACK("mmu_update with a misaligned done", mmu_batch((const void *)l1a_view, 1,
                                                          (uint64_t *)((char *)&done + 1)), EINVAL);
    ATTACK("update_va_mapping of a hypervisor address",
           uvm(HAKO_HV_VA_START, (d1 << 12) | F_P | F_U, 0), EINVAL);
    ATTACK("update_va_mapping of a non-canonical address",
           uvm(0x0000800000000000ull, (d1 << 12) | F_P | F_U, 0), EINVAL);
    ATTACK("update_va_mapping of an address with no L1", uvm(0x1000, (d1 << 12) | F_P | F_U, 0), EINVAL);
    ATTACK("update_va_mapping with flags 3", uvm(SCR_VA(1), 0, 3), EINVAL);
    alive();
}

/* ---- attack 16: OUT values through an address space the batch itself changed ------- */

/* A batch that switches base pointers must never write its OUT values through the table
 * it left: that tree is devalidated the moment it loses its last reference, and a frame
 * that was writable only through it may have become a page table later in the same
 * batch. The batch below does exactly that -- NEW_BASEPTR back to the live L4 (dropping
 * the copy's last reference), then PIN the frame as an L1 -- with `done` aimed, through
 * the copy's private tree, at an entry of that frame. The count (2 = W, not present:
 * harmless even if it lands) must not land: `done` is written through the current
 * address space, which does not map it, so the call ends with -EFAULT, its items applied.
 * Run directly, inside a multicall and as an asynchronous submission; and in an
 * mmu_update form where the batch unmaps `done` itself without a base switch. */
#define PRIV_L4_IDX 3u
#define PRIV (3ull << 39)
#define DONE_IDX 5u                     /* the entry of the frame `done` is aimed at */

static uint64_t a2, l3p, l2p, l1p, victim;   /* the copy L4, its private tree, the frame */
static struct hako_mmuext_op stale_ops[2] __attribute__((aligned(16)));
static struct hako_multicall_entry stale_mc[1] __attribute__((aligned(16)));

/* A fresh frame filled by fill() while writable, then made read-only (a table to be). */
static uint64_t table_with(void (*fill)(uint64_t *t))
{
    uint64_t pfn = alloc_pfn();
    uint64_t *t = (uint64_t *)va_of_pfn(pfn);
    memset(t, 0, 4096);
    if (fill)
        fill(t);
    if (set_va_writable((uint64_t)t, 0))
        die("cannot make a table-to-be read-only");
    return mfn_of_pfn(pfn);
}
static void fill_a2(uint64_t *t)
{
    memcpy(t, (const void *)si->pt_base_va, 4096);     /* hypervisor slots: ignored */
    t[PRIV_L4_IDX] = (l3p << 12) | TBL;
}
static void fill_l3p(uint64_t *t) { t[0] = (l2p << 12) | TBL; }
static void fill_l2p(uint64_t *t) { t[0] = (l1p << 12) | TBL; }
static void fill_l1p(uint64_t *t) { t[0] = (victim << 12) | F_P | F_W | F_U | nx; }

/* The victim frame as the hypervisor left it: every entry still 0. */
static int victim_clean(void)
{
    const uint64_t *v = frame_va(victim);
    for (unsigned i = 0; i < 512; i++)
        if (v[i])
            return 0;
    return 1;
}

/* Run the base-switching batch one way; its result (the entry's result for the batch
 * forms). */
static long stale_batch(int form)
{
    uint64_t done = PRIV + DONE_IDX * 8;
    stale_ops[0] = (struct hako_mmuext_op){ HAKO_MMUEXT_NEW_BASEPTR, 0, l4_mfn, 0 };
    stale_ops[1] = (struct hako_mmuext_op){ HAKO_MMUEXT_PIN_L1_TABLE, 0, victim, 0 };
    if (form == 0)
        return HC3(HAKO_HC_mmuext_op, stale_ops, 2, done);
    if (form == 1) {
        stale_mc[0] = (struct hako_multicall_entry){
            .op = HAKO_HC_mmuext_op, .args = { UL(stale_ops), 2, done }, .result = 0x5555 };
        long rc = HC3(HAKO_HC_multicall, stale_mc, 1, 0);
        XTF_CHECK(rc == 1, "[attack 16] multicall returned %ld, expected 1", rc);
        return stale_mc[0].result;
    }
    return xtf_async_once((struct hako_async_sqe){
        .op = HAKO_HC_mmuext_op, .args = { UL(stale_ops), 2, done } });
}

static void attack_stale_root(void)
{
    static const char *const forms[] = { "mmuext_op", "multicall", "async" };
    cur_attack = 16;
    victim = new_table();
    l1p = table_with(fill_l1p);
    l2p = table_with(fill_l2p);
    l3p = table_with(fill_l3p);
    a2 = table_with(fill_a2);
    for (int form = 0; form < 3; form++) {
        if (!VALID("[attack 16] switch to the copy L4 (validates its private tree)",
                   ext(HAKO_MMUEXT_NEW_BASEPTR, a2)))
            return;
        *(volatile uint64_t *)(PRIV + 8) = 0;          /* done's page is writable there */
        long rc = stale_batch(form);
        int clean = victim_clean();
        ATTACK(what("%s [NEW_BASEPTR(live L4), PIN_L1(frame)], done via the old L4 into "
                    "the frame", forms[form]), rc, EFAULT);
        XTF_CHECK(clean, "[attack 16] %s: the count was written into a validated L1 through "
                         "a devalidated tree (entry %u = %lx)",
                  forms[form], DONE_IDX, frame_va(victim)[DONE_IDX]);
        /* The items took effect: back on the live L4 (the copy is data again, so its
         * linear mapping can become writable), and the frame is a pinned L1. */
        VALID("[attack 16] the copy is no longer an L4", set_va_writable((uint64_t)frame_va(a2), 1));
        VALID("[attack 16] and read-only again", set_va_writable((uint64_t)frame_va(a2), 0));
        ATTACK("the frame was pinned by the batch", PIN(1, victim), EEXIST);
        VALID("[attack 16] unpin it", UNPIN(victim));
        kprintf("[attack 16] %s: done %s\n", forms[form],
                clean ? "not written through the stale tree ok" : "WRITTEN INTO A PAGE TABLE");
        alive();
    }

    /* mmu_update: the batch unlinks done's own tree (dropping the frame's only writable
     * mapping) and then links the frame as an L1; done goes through the live tables. */
    static struct hako_mmu_update r[2] __attribute__((aligned(16)));
    if (!VALID("[attack 16] link the private tree into the live L4",
               mmu1(L4E(PRIV_L4_IDX), (l3p << 12) | TBL)))
        return;
    r[0] = (struct hako_mmu_update){ L4E(PRIV_L4_IDX), 0 };
    r[1] = (struct hako_mmu_update){ L2A(7), (victim << 12) | TBL };
    ATTACK("mmu_update [unlink done's tree, link the frame as an L1], done into the frame",
           mmu_batch(r, 2, (uint64_t *)(PRIV + DONE_IDX * 8)), EFAULT);
    XTF_CHECK(victim_clean(), "[attack 16] mmu_update: the count was written into an L1");
    XTF_CHECK(l2a_view[7] == ((victim << 12) | TBL), "[attack 16] mmu_update items not applied");
    VALID("[attack 16] unlink the frame", mmu1(L2A(7), 0));
    alive();
}

/* ---- 17: update_va_mapping's flush flags (a valid use, not an attack) ---------------- */

/* The per-vCPU debug counter which (HAKO_COUNTER_*). */
static long counter(unsigned which) { return HC3(HAKO_HC_debug_op, HAKO_DEBUG_COUNTER, which, 0); }

/* Remapping a va the TLB holds to another frame with HAKO_UVMF_INVLPG or _TLB_FLUSH
 * (ABI.md 12.5) reads the new frame at once, and the flush is counted; with _NONE the
 * old translation may stay (QEMU's TCG keeps it: shown, not checked), so a missing
 * flush is visible. */
static void check_uvm_flush(void)
{
    static const struct { unsigned flag, counter; const char *name; } kinds[] = {
        { HAKO_UVMF_INVLPG, HAKO_COUNTER_INVLPGS, "INVLPG" },
        { HAKO_UVMF_TLB_FLUSH, HAKO_COUNTER_TLB_FLUSHES, "TLB_FLUSH" },
        { HAKO_UVMF_NONE, HAKO_COUNTER_INVLPGS, "NONE" },
    };
    cur_attack = 17;
    const unsigned slot = 40;
    const uint64_t va = SCR_VA(slot), old_mark = 0x01D0F7A3E01D0F7Aull,
                   new_mark = 0x0E7FACE0E7FACE0Eull;
    uint64_t from = alloc_data(), to = alloc_data();
    frame_va(from)[0] = old_mark;
    frame_va(to)[0] = new_mark;
    for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        VALID("map the old frame", mmu1(L1A(slot), (from << 12) | F_P | F_U | nx));
        uint64_t before = *(volatile uint64_t *)va;          /* now in the TLB */
        long n0 = counter(kinds[k].counter);
        VALID(what("remap to the new frame with %s", kinds[k].name),
              uvm(va, (to << 12) | F_P | F_U | nx, kinds[k].flag));
        long flushes = counter(kinds[k].counter) - n0;
        uint64_t after = *(volatile uint64_t *)va;
        if (kinds[k].flag == HAKO_UVMF_NONE) {
            kprintf("[attack 17] remapped without a flush: the va reads the %s frame\n",
                    after == old_mark ? "old (the TLB's stale translation)" : "new");
        } else {
            int ok = XTF_CHECK(before == old_mark && after == new_mark,
                               "update_va_mapping with %s: read %lx before and %lx after the "
                               "remap; want %lx then %lx (the old value after it: a stale TLB entry)",
                               kinds[k].name, before, after, old_mark, new_mark);
            ok &= XTF_CHECK(flushes >= 1 && (kinds[k].flag != HAKO_UVMF_INVLPG || flushes == 1),
                            "update_va_mapping with %s: its counter went up by %ld", kinds[k].name,
                            flushes);
            kprintf("[attack 17] remap a va the TLB holds with %s -> new frame read %s\n",
                    kinds[k].name, ok ? "ok" : "FAILED");
        }
        VALID("unmap it", uvm(va, 0, HAKO_UVMF_INVLPG));
    }
    alive();
}

void test_main(const struct hako_start_info *start)
{
    si = start;
    p2m = (const uint64_t *)si->p2m_va;
    next_pfn = si->first_free_pfn;
    l4_mfn = mfn_of_pfn(si->pt_first_pfn);

    static struct hako_machphys_mapping mm;
    static struct hako_version_info vi;
    if (!XTF_EXPECT_RC(HC3(HAKO_HC_memory_op, HAKO_MEM_MACHPHYS_MAPPING, &mm, 0), 0,
                       "memory_op MACHPHYS_MAPPING") ||
        !XTF_EXPECT_RC(HC3(HAKO_HC_version, HAKO_VERSION_INFO, &vi, 0), 0, "version INFO"))
        return;
    m2p_entries = mm.m2p_entries;
    nx = (vi.features & HAKO_FEAT_NX) ? HAKO_PTE_NX : 0;
    XTF_CHECK(mm.m2p_va == HAKO_M2P_VA && mm.p2m_va == si->p2m_va && mm.p2m_entries == si->nr_pages,
              "machphys mapping: m2p %lx p2m %lx/%lu", mm.m2p_va, mm.p2m_va, mm.p2m_entries);
    if (!XTF_CHECK(pfn_of_mfn(l4_mfn) == si->pt_first_pfn && pfn_of_mfn(mfn_of_pfn(0)) == 0,
                   "m2p does not invert p2m"))
        return;
    if (owned(HV_IMAGE_MFN))
        die("the guest owns mfn 0x100; the test assumes it is the hypervisor's");
    foreign_mfn = ~0ull;
    for (uint64_t m = m2p_entries - 1; m > HV_IMAGE_MFN && foreign_mfn == ~0ull; m--)
        if (M2P[m] == HAKO_M2P_INVALID)
            foreign_mfn = m;
    if (foreign_mfn == ~0ull)
        foreign_mfn = HV_IMAGE_MFN + 1;
    kprintf("guest: %lu pages, %lu mapped, first free pfn %lu; host: %lu frames; NX %s\n",
            si->nr_pages, si->nr_mapped_pages, si->first_free_pfn, m2p_entries, nx ? "yes" : "no");
    XTF_EXPECT_RC(audit(), 0, "audit at boot");

    /* The scratch area. */
    l3a = new_table(), l2a = new_table(), l1a = new_table();
    d1 = alloc_data(), d2 = alloc_data();
    ((uint64_t *)frame_va(d1))[0] = 0x1111222233334444ull;
    if (!VALID("link the scratch L3 at L4 slot 1", mmu1(L4E(SCR_L4_IDX), (l3a << 12) | TBL)) ||
        !VALID("link the scratch L2", mmu1(L3A(0), (l2a << 12) | TBL)) ||
        !VALID("link the scratch L1", mmu1(L2A(0), (l1a << 12) | TBL)))
        return;
    l1a_view = frame_va(l1a), l2a_view = frame_va(l2a);
    if (!XTF_CHECK(pte_maddr(SCR_VA(0)) == L1A(0), "scratch walk broken"))
        return;
    XTF_EXPECT_RC(audit(), 0, "audit after building the scratch area");

    attack_foreign();
    attack_beyond_ram();
    attack_own_tables_writable();
    attack_writable_then_pin();
    attack_hv_slots();
    attack_bad_bits();
    attack_large_pages();
    attack_pins();
    attack_loops();
    attack_partial_batch();
    attack_long_batch();
    attack_user();
    attack_stale_tlb();
    attack_kernel_faults();
    attack_malformed();
    attack_stale_root();
    check_uvm_flush();

    install_traps(0);
    cur_attack = 99;
    long bad = audit();
    XTF_CHECK(bad == 0, "final audit: %ld frames with wrong counts", bad);
    if (VALID("final valid mapping", mmu1(L1A(100), (d1 << 12) | F_P | F_W | F_U | nx)))
        XTF_CHECK(*(volatile uint64_t *)SCR_VA(100) == 0x1111222233334444ull,
                  "final mapping reads the wrong data");
    VALID("unmap it", mmu1(L1A(100), 0));
    VALID("tear down the scratch area", mmu1(L4E(SCR_L4_IDX), 0));
    VALID("scratch L1 is data again", set_va_writable((uint64_t)l1a_view, 1));
    bad = audit();
    XTF_CHECK(bad == 0, "audit after teardown: %ld", bad);
    kprintf("final audit %ld; %u checks\n", bad, xtf_checks);
}
