/*
 * tests/xtf/test-trap-attacks.c: the attack suite of trap-and-emulate mode (ABI.md 20,
 * with the page-table rules of 12). A hostile trap-mode kernel tries what
 * test-mmu-attacks and test-cpu-isolation try through hypercalls, the native way: plain
 * stores (mov, xchg, cmpxchg, lock cmpxchg and forms the emulator does not take) into
 * its read-only page tables, and privileged instructions with hostile operands. Each
 * attack must get the documented outcome -- a refused store is the kernel's own #PF
 * (present|write|user at the entry's address) with the entry and the instruction's
 * registers unchanged; a refused instruction is its #GP (or #UD) through the kernel's
 * IDT, nothing changed -- the hypervisor's audit must stay clean, and a valid store
 * must still map a page afterwards. Groups (numbered as printed):
 *   1 own tables writable   2 frames not owned     3 reserved bits    4 large pages
 *   5 hypervisor L4 slots   6 loops                7 tables built by raw stores
 *   8 store forms the emulator refuses, the m2p   9 cmpxchg/xchg semantics
 *  10 unmap/replace really takes effect; a stale writable TLB entry of a new table
 *  11 mov to cr3           12 wrmsr/rdmsr          13 invlpg, mov crN
 *  14 lidt                 15 lgdt, ltr, lldt     16 iretq/sysretq in kernel mode
 *  17 user mode: privileged instructions are never emulated, hostile rflags/rsp
 *  18 sidt/sgdt/str/smsw, ltr/lldt/lmsw, ins/outs aimed at tables, the m2p, the hypervisor
 *  19 another domain's frame (a domU from tests/xtf/domu): never mapped by a store; a
 *     foreign mapping a store removes is gone from the TLB before its frame is freed
 *  20 the paravirtual calls that have a native form: -ENOSYS, nothing done
 *  21 an event gate of trap type: events still clear the virtual IF
 *  22 hostile trap-mode domUs (tests/xtf/domu with privops=trap): one faulting with no
 *     IDT is crashed, one fuzzing hypercalls and others trying dom0-only calls stop
 *     cleanly; each is destroyed and every frame comes back
 * Checks test-trap already makes (one refused store of each simple kind, one bad gate,
 * one bad ltr/lldt, the basic MSR refusals) are not repeated. It runs with QEMU's `-cpu
 * max` and without SMAP/SMEP: under TCG with SMAP a ring-3 iretq faults as #PF on its
 * stack read rather than #GP (ABI.md 20.4), which changes which fault a refused iretq
 * raises natively, not which one the kernel must get.
 * XTF-ENVS: trap
 * XTF-CPUS: max max,-smap,-smep
 */
#include "framework.h"

#include <hako/async.h>
#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/memory.h>
#include <hako/trapmode.h>
#include <hako/traps.h>

#include "domwait.h"
#include "mm.h"
#include "privops.h"
#include "trap.h"

const char test_title[] = "trap-attacks: hostile page-table stores and privileged instructions";

#define UL(x) ((uint64_t)(x))
#define HC3(n, a, b, c) hako_hypercall3(HAKO_HC_##n, UL(a), UL(b), UL(c))

#define F_P    HAKO_PTE_P
#define F_W    HAKO_PTE_W
#define F_U    HAKO_PTE_U
#define F_PS   HAKO_PTE_PS
#define F_PWT  (1ull << 3)
#define F_PCD  (1ull << 4)
#define F_PAT1 (1ull << 7)      /* PAT bit of a 4 KiB leaf */
#define F_G    (1ull << 8)
#define ADDR   HAKO_PTE_ADDR
#define TBL    (F_P | F_W | F_U) /* an intermediate entry */
#define B9     HAKO_TRAP_PTE_TABLE

#define HV_IMAGE_MFN 0x100ull   /* 1 MiB: the hypervisor image */
#define PF_RO_WRITE  7ull       /* #PF error: present | write | user (a ring-3 store) */
#define ANY          (~0ull)
#define TWO_MIB      (2ull << 20)

#define RF_CF   0x1ull
#define RF_IF   0x200ull
#define RF_IOPL 0x3000ull
#define RF_NT   0x4000ull
/* The flags iretq/sysretq keep that are safe to set here (TF, DF and AC left out). */
#define RF_ARITH 0x8D5ull       /* CF PF AF ZF SF OF */

#define READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })

static const struct hako_start_info *si;
static const uint64_t *p2m;
#define M2P ((const uint64_t *)HAKO_M2P_VA)
static uint64_t m2p_entries, nx, foreign_mfn;
static struct hako_vcpu_info *vcpu;
static int cur_attack;

/* ---- small helpers ------------------------------------------------------------------ */

/* Stop the test with an error (the setup it needs failed). */
static __attribute__((noreturn)) void die(const char *why)
{
    xtf_error("%s", why);
    kprintf("%u checks, %u failed\n", xtf_checks, xtf_failures);
    kprintf("Test result: %s\n", xtf_failures ? "FAILURE" : "ERROR");
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, xtf_failures ? 1 : 2);
}

/* The machine frame of one of our pfns. */
static uint64_t mfn_of(uint64_t pfn) { return p2m[pfn]; }

/* The pfn an mfn belongs to in our p2m, or HAKO_M2P_INVALID. */
static uint64_t pfn_of(uint64_t mfn) { return mfn < m2p_entries ? M2P[mfn] : HAKO_M2P_INVALID; }

/* True when the domain owns mfn. */
static int owned(uint64_t mfn) { return pfn_of(mfn) < si->nr_pages; }

/* The linear-map view of pfn as a table of entries (read-only for page tables). */
static volatile uint64_t *tab(uint64_t pfn) { return (volatile uint64_t *)pfn_to_va(pfn); }

/* The hypervisor's recount of our frames: 0 when every count is consistent. */
static long audit(void) { return HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0); }

/* invlpg of one page (emulated). */
static void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* rdmsr (emulated); the MSR must be one the emulator reads. */
static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

/* ---- catching faults -------------------------------------------------------------------- */

enum arm_mode { ARM_OFF, ARM_SKIP, ARM_JUMP };
static volatile int armed;
static volatile uint64_t skip_len;
static struct hako_trap_frame seen;
static struct kjmp jb;

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);

static volatile unsigned events_seen, event_entry_mask;

/* Every event (counted, with the upcall mask it came in with, and cleared), exception
 * and user syscall: an armed one is recorded and resumed past the instruction
 * (ARM_SKIP) or at the kjmp point (ARM_JUMP); any other stops the test. */
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    if (f->vector == HAKO_TRAP_EVENT) {
        struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
        event_entry_mask = vcpu->evtchn_upcall_mask;
        events_seen++;
        __atomic_store_n(&vcpu->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&vcpu->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        for (unsigned i = 0; i < HAKO_NR_EVENT_CHANNELS / 64; i++)
            __atomic_store_n(&sh->evtchn_pending[i], 0, __ATOMIC_SEQ_CST);
        return;
    }
    if (armed == ARM_SKIP) {
        seen = *f;
        armed = ARM_OFF;
        f->rip += skip_len;
        return;
    }
    if (armed == ARM_JUMP) {
        seen = *f;
        armed = ARM_OFF;
        kjmp_jump(&jb, 1);
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx addr %lx cs %lx\n", f->vector,
            f->error_code, f->rip, f->fault_addr, f->cs);
    die("unexpected exception");
}

/* Arm for one fault of the next instruction, `len` bytes long. */
static void arm(uint64_t len)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    skip_len = len;
    armed = ARM_SKIP;
}

/* True (and disarmed) when the armed instruction faulted. */
static int fired(void)
{
    int hit = armed == ARM_OFF;
    armed = ARM_OFF;
    return hit;
}

/* One check with a verdict line: the armed instruction faulted with vector (and error,
 * unless ANY). */
static int expect_fault(const char *desc, uint64_t vector, uint64_t error)
{
    int hit = fired();
    int ok = XTF_CHECK(hit && seen.vector == vector && (error == ANY || seen.error_code == error),
                       "[attack %d] %s: expected vector %lu error %lx, got %s %lu error %lx",
                       cur_attack, desc, vector, error, hit ? "vector" : "no fault",
                       hit ? seen.vector : 0, hit ? seen.error_code : 0);
    kprintf("[attack %d] %s -> %s %s\n", cur_attack, desc,
            vector == 13 ? "#GP" : vector == 14 ? "#PF" : vector == 6 ? "#UD" : "fault",
            ok ? "ok" : "FAILED");
    return ok;
}

/* One check: the armed instruction did not fault (it was emulated). */
static int expect_no_fault(const char *desc)
{
    int hit = fired();
    return XTF_CHECK(!hit, "[attack %d] %s: faulted (vector %lu error %lx addr %lx)", cur_attack,
                     desc, seen.vector, seen.error_code, seen.fault_addr);
}

/* Run fn(arg) with faults coming back here: 1 when it faulted (seen holds it). */
static __attribute__((noinline)) int probe(void (*fn)(uint64_t), uint64_t arg)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    if (kjmp_save(&jb))
        return 1;
    armed = ARM_JUMP;
    fn(arg);
    armed = ARM_OFF;
    return 0;
}

static volatile uint64_t read_value, write_value;

/* Read the quadword at va. */
static void do_read(uint64_t va) { read_value = *(volatile uint64_t *)va; }

/* Write write_value to the quadword at va. */
static void do_write(uint64_t va) { *(volatile uint64_t *)va = write_value; }

/* ---- page-table stores ----------------------------------------------------------------- */

enum store_form { ST_MOV, ST_XCHG, ST_CMPXCHG, ST_LOCK_CMPXCHG };
static const char *const form_name[] = { "mov", "xchg", "cmpxchg", "lock cmpxchg" };

/* Store val into entry e with form, armed for a fault; a cmpxchg compares with the
 * current entry (so only validation can stop it). Returns the register the form
 * leaves (xchg, cmpxchg: rax; mov: val). */
static uint64_t pt_store(enum store_form form, volatile uint64_t *e, uint64_t val)
{
    uint64_t r;
    switch (form) {
    case ST_MOV:            /* 48 89 02 */
        arm(3);
        __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(val), "d"(e) : "memory");
        return val;
    case ST_XCHG:           /* 48 87 02 */
        r = val;
        arm(3);
        __asm__ volatile("xchgq %%rax, (%%rdx)" : "+a"(r) : "d"(e) : "memory");
        return r;
    case ST_CMPXCHG:        /* 48 0f b1 0a */
        r = *e;
        arm(4);
        __asm__ volatile("cmpxchgq %%rcx, (%%rdx)" : "+a"(r) : "c"(val), "d"(e) : "memory", "cc");
        return r;
    default:                /* f0 48 0f b1 0a */
        r = *e;
        arm(5);
        __asm__ volatile("lock cmpxchgq %%rcx, (%%rdx)" : "+a"(r) : "c"(val), "d"(e)
                         : "memory", "cc");
        return r;
    }
}

/* A store that must be refused: the kernel's #PF(present|write|user) at the entry, the
 * entry and the form's register unchanged. */
static int refused_store(const char *desc, enum store_form form, volatile uint64_t *e, uint64_t val)
{
    uint64_t before = *e;
    uint64_t reg = pt_store(form, e, val);
    int hit = fired();
    uint64_t want = form == ST_MOV || form == ST_XCHG ? val : before;
    int ok = XTF_CHECK(hit && seen.vector == 14 && seen.error_code == PF_RO_WRITE &&
                           seen.fault_addr == UL(e),
                       "[attack %d] %s (%s %lx): expected #PF(7) at %lx, got %s %lu error %lx "
                       "addr %lx", cur_attack, desc, form_name[form], val, UL(e),
                       hit ? "vector" : "no fault", hit ? seen.vector : 0, seen.error_code,
                       seen.fault_addr);
    ok &= XTF_CHECK(*e == before, "[attack %d] %s: refused store changed the entry %lx -> %lx",
                    cur_attack, desc, before, *e);
    ok &= XTF_CHECK(reg == want, "[attack %d] %s: refused %s changed rax to %lx (want %lx)",
                    cur_attack, desc, form_name[form], reg, want);
    kprintf("[attack %d] %s (%s) -> #PF %s\n", cur_attack, desc, form_name[form],
            ok ? "ok" : "FAILED");
    return ok;
}

/* A store that must be applied: no fault, the entry holds val, xchg returns the old
 * entry and cmpxchg leaves rax as it was (the old entry). */
static int applied_store(const char *desc, enum store_form form, volatile uint64_t *e, uint64_t val)
{
    uint64_t before = *e;
    uint64_t reg = pt_store(form, e, val);
    int ok = expect_no_fault(desc);
    ok &= XTF_CHECK((*e & ~(HAKO_PTE_A | HAKO_PTE_D)) == (val & ~(HAKO_PTE_A | HAKO_PTE_D)),
                    "[attack %d] %s (%s): entry reads %lx, stored %lx", cur_attack, desc,
                    form_name[form], *e, val);
    ok &= XTF_CHECK(reg == (form == ST_MOV ? val : before),
                    "[attack %d] %s (%s): rax %lx, old entry %lx", cur_attack, desc,
                    form_name[form], reg, before);
    return ok;
}

/* ---- the scratch area --------------------------------------------------------------------- */

static uint64_t root_pfn, root_mfn;        /* the kernel's (pinned) L4 */
static uint64_t l3_pfn, l2_pfn, l1_pfn;     /* the walk of probe_va */
static uint64_t probe_va;                   /* a fresh 2 MiB region: its own L1 */
static unsigned free_l2, free_l3, free_l4;  /* empty slots of those tables */
static uint64_t alive_pfn, d1_pfn, d2_pfn;  /* data frames with markers */
#define ALIVE_MARK 0xA11FE000A11FEull
#define D1_MARK    0xD1D1D1D1D1D1D1D1ull
#define D2_MARK    0xD2D2D2D2D2D2D2D2ull

enum { SLOT_ALIVE, SLOT_ATTACK, SLOT_TLB, SLOT_TLB2, SLOT_DATA_RO, SLOT_DATA_B9, SLOT_GATES,
       SLOT_GATES_HOLE, SLOT_CMPX, SLOT_FOREIGN };
#define SLOT_VA(i) (probe_va + (uint64_t)(i) * 4096)
#define L1E(i) (&tab(l1_pfn)[i])

/* A leaf entry for one of our data pfns. */
static uint64_t leaf(uint64_t pfn, uint64_t bits) { return (mfn_of(pfn) << 12) | bits | nx; }

/* A fresh zeroed frame whose linear alias is read-only and marked as a table alias
 * (what a trap-mode kernel does before it links a table). */
static uint64_t new_table_frame(void)
{
    uint64_t pfn = pfn_alloc();
    if (!pfn || privops->pt_adopt(pfn, 1))
        die("cannot prepare a table frame");
    return pfn;
}

/* Make pfn's linear alias writable again: must be accepted (the frame is no table). */
static int alias_writable(uint64_t pfn, const char *desc)
{
    volatile uint64_t *e = 0;
    uint64_t va = UL(pfn_to_va(pfn)), t;
    if (mm_table(root_pfn, va, 1, &t))
        e = &tab(t)[mm_index(va, 1)];
    if (!e)
        die("no L1 maps the linear map");
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(leaf(pfn, F_P | F_U | F_W)), "d"(e) : "memory");
    int ok = expect_no_fault(desc);
    invlpg(va);
    return ok;
}

/* After every attack: counts consistent, a valid store maps a page that reads right,
 * and unmapping it works. */
static void alive(void)
{
    long bad = audit();
    int ok = XTF_CHECK(bad == 0, "[attack %d] audit found %ld frames with wrong counts",
                       cur_attack, bad);
    volatile uint64_t *e = L1E(SLOT_ALIVE);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(leaf(alive_pfn, F_P | F_U)), "d"(e) : "memory");
    int mapped = expect_no_fault(what("[attack %d] follow-up: map a data page", cur_attack));
    invlpg(SLOT_VA(SLOT_ALIVE));
    if (mapped)
        ok &= XTF_CHECK(*(volatile uint64_t *)SLOT_VA(SLOT_ALIVE) == ALIVE_MARK,
                        "[attack %d] follow-up mapping reads the wrong data", cur_attack);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0ull), "d"(e) : "memory");
    ok &= mapped & expect_no_fault(what("[attack %d] follow-up: unmap it", cur_attack));
    invlpg(SLOT_VA(SLOT_ALIVE));
    kprintf("[attack %d] domain alive, audit %ld%s\n", cur_attack, bad, ok ? "" : "  <-- FAILED");
}

/* The first empty entry of table pfn in [from, to), or die. */
static unsigned empty_slot(uint64_t pfn, unsigned from, unsigned to, const char *what_)
{
    for (unsigned i = from; i < to; i++)
        if (tab(pfn)[i] == 0)
            return i;
    die(what_);
}

/* Build the scratch area: a fresh 2 MiB region above the linear map with its own L1. */
static void scratch_init(void)
{
    root_pfn = mm_kernel_root();
    root_mfn = mfn_of(root_pfn);
    uint64_t end = si->virt_base + si->nr_mapped_pages * PAGE_SIZE;
    probe_va = ((end + TWO_MIB - 1) & ~(TWO_MIB - 1)) + TWO_MIB;
    alive_pfn = pfn_alloc(), d1_pfn = pfn_alloc(), d2_pfn = pfn_alloc();
    if (!alive_pfn || !d1_pfn || !d2_pfn)
        die("out of memory");
    *(volatile uint64_t *)pfn_to_va(alive_pfn) = ALIVE_MARK;
    *(volatile uint64_t *)pfn_to_va(d1_pfn) = D1_MARK;
    *(volatile uint64_t *)pfn_to_va(d2_pfn) = D2_MARK;
    if (mm_map(root_pfn, probe_va, alive_pfn, PTE_KERNEL_RO) || mm_flush() ||
        mm_unmap(root_pfn, probe_va) || mm_flush())
        die("cannot build the scratch L1");
    invlpg(probe_va);
    if (!mm_table(root_pfn, probe_va, 1, &l1_pfn) || !mm_table(root_pfn, probe_va, 2, &l2_pfn) ||
        !mm_table(root_pfn, probe_va, 3, &l3_pfn))
        die("scratch walk broken");
    free_l2 = empty_slot(l2_pfn, mm_index(probe_va, 2) + 1, 512, "no free L2 slot");
    free_l3 = empty_slot(l3_pfn, 0, 512, "no free L3 slot");
    free_l4 = empty_slot(root_pfn, 1, 256, "no free lower-half L4 slot");
    kprintf("scratch: probe %lx, L4 %lx L3 %lx L2 %lx L1 %lx (pfns), free L2[%u] L3[%u] L4[%u]\n",
            probe_va, root_pfn, l3_pfn, l2_pfn, l1_pfn, free_l2, free_l3, free_l4);
}

/* ---- 1..9: page-table stores ---------------------------------------------------------- */

/* 1: no store maps one of the domain's page tables writable, at any level. */
static void attack_own_tables_writable(void)
{
    cur_attack = 1;
    volatile uint64_t *e = L1E(SLOT_ATTACK);
    refused_store("map the kernel L4 writable", ST_MOV, e, (root_mfn << 12) | F_P | F_W | F_U);
    refused_store("map the L3 writable", ST_XCHG, e, (mfn_of(l3_pfn) << 12) | F_P | F_W | F_U);
    refused_store("map the L2 writable", ST_LOCK_CMPXCHG, e,
                  (mfn_of(l2_pfn) << 12) | F_P | F_W | F_U | nx);
    refused_store("map this L1 itself writable, A and D set", ST_CMPXCHG, e,
                  (mfn_of(l1_pfn) << 12) | F_P | F_W | F_U | HAKO_PTE_A | HAKO_PTE_D);
    uint64_t last_pt = mfn_of(si->pt_first_pfn + si->nr_pt_frames - 1);
    refused_store("map the last initial table writable", ST_MOV, e, (last_pt << 12) | F_P | F_W | F_U);
    /* Read-only mappings of page tables are fine, and show the table. */
    if (applied_store("map the kernel L4 read-only", ST_MOV, e, (root_mfn << 12) | F_P | F_U | nx)) {
        invlpg(SLOT_VA(SLOT_ATTACK));
        XTF_CHECK(((volatile uint64_t *)SLOT_VA(SLOT_ATTACK))[511] == tab(root_pfn)[511],
                  "[attack 1] the read-only L4 alias shows other contents");
    }
    applied_store("unmap it", ST_XCHG, e, 0);
    invlpg(SLOT_VA(SLOT_ATTACK));
    alive();
}

/* 2: no store maps a frame the domain does not own. */
static void attack_not_owned(void)
{
    cur_attack = 2;
    volatile uint64_t *e = L1E(SLOT_ATTACK);
    refused_store("map the hypervisor image read-only", ST_MOV, e, (HV_IMAGE_MFN << 12) | F_P | F_U);
    refused_store("map the hypervisor image writable", ST_LOCK_CMPXCHG, e,
                  (HV_IMAGE_MFN << 12) | F_P | F_W | F_U);
    refused_store(what("map an unowned RAM frame (mfn %lx)", foreign_mfn), ST_XCHG, e,
                  (foreign_mfn << 12) | F_P | F_U | F_W);
    refused_store("map mfn 0 (firmware)", ST_CMPXCHG, e, F_P | F_U);
    refused_store(what("map mfn %lx (beyond RAM)", m2p_entries + 10), ST_MOV, e,
                  ((m2p_entries + 10) << 12) | F_P | F_U);
    refused_store("map the highest mfn an entry can name", ST_XCHG, e, ADDR | F_P | F_W | F_U);
    /* The table-alias bit makes no frame ours. */
    refused_store("map the hypervisor image with the table-alias bit", ST_MOV, e,
                  (HV_IMAGE_MFN << 12) | F_P | F_U | B9);
    alive();
}

/* 3: entries with bits ABI.md 12.2 refuses are refused, whatever the store form. */
static void attack_bad_bits(void)
{
    cur_attack = 3;
    volatile uint64_t *e = L1E(SLOT_ATTACK);
    const uint64_t ok = leaf(d1_pfn, F_P | F_U);
    static const struct { uint64_t bits; const char *name; } bad[] = {
        { F_PWT, "PWT" }, { F_PCD, "PCD" }, { F_G, "G" }, { F_PAT1, "PAT (bit 7)" },
        { 1ull << 52, "bit 52" }, { 1ull << 62, "bit 62 (protection key)" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused_store(what("L1 entry with %s", bad[i].name), (enum store_form)(i % 4), e,
                      ok | bad[i].bits);
    refused_store("L1 entry without U", ST_MOV, e, (mfn_of(d1_pfn) << 12) | F_P | F_W);
    if (!nx)
        refused_store("L1 entry with NX on a CPU without NX", ST_XCHG, e, ok | HAKO_PTE_NX);
    /* movq $-1, (%rdx): an immediate store of every bit (48 c7 02 ff ff ff ff). */
    arm(7);
    __asm__ volatile("movq $-1, (%%rdx)" : : "d"(e) : "memory");
    expect_fault("movq $-1 (immediate) into an L1 entry", 14, PF_RO_WRITE);
    XTF_CHECK(*e == 0, "[attack 3] the refused immediate store changed the entry");
    volatile uint64_t *l2e = &tab(l2_pfn)[free_l2], *l4e = &tab(root_pfn)[free_l4];
    refused_store("L2 entry with PCD", ST_MOV, l2e, (mfn_of(l1_pfn) << 12) | TBL | F_PCD);
    refused_store("L2 entry without U", ST_LOCK_CMPXCHG, l2e, (mfn_of(l1_pfn) << 12) | F_P | F_W);
    refused_store("L4 entry with G", ST_XCHG, l4e, (mfn_of(l3_pfn) << 12) | TBL | F_G);
    applied_store("L1 entry with A, D and the available bits", ST_MOV, e,
                  ok | HAKO_PTE_A | HAKO_PTE_D | HAKO_PTE_AVAIL);
    applied_store("not-present entry with other bits", ST_MOV, e,
                  (HV_IMAGE_MFN << 12) | F_W | F_PCD | F_G | (1ull << 52));
    applied_store("clear it", ST_MOV, e, 0);
    invlpg(SLOT_VA(SLOT_ATTACK));
    alive();
}

/* 4: 2 MiB pages only of the domain's own aligned frames; no PS in L3 or L4 entries. */
static void attack_large_pages(void)
{
    cur_attack = 4;
    volatile uint64_t *l2e = &tab(l2_pfn)[free_l2];
    const uint64_t ps = F_P | F_U | F_PS;
    refused_store("2 MiB page over the hypervisor image (mfns 0-0x1ff)", ST_MOV, l2e, ps);
    refused_store("2 MiB writable page over the hypervisor image", ST_XCHG, l2e, ps | F_W);
    uint64_t beyond = (m2p_entries + 511) & ~511ull;
    refused_store("2 MiB page beyond RAM", ST_LOCK_CMPXCHG, l2e, (beyond << 12) | ps);
    refused_store("misaligned 2 MiB page of our own frames", ST_CMPXCHG, l2e,
                  ((mfn_of(d1_pfn) | 1) << 12) | ps);
    refused_store("2 MiB page with its PAT bit (bit 12)", ST_MOV, l2e, (1ull << 12) | ps);
    refused_store("1 GiB page (PS in an L3 entry)", ST_MOV, &tab(l3_pfn)[free_l3], ps);
    refused_store("PS in an L4 entry", ST_XCHG, &tab(root_pfn)[free_l4],
                  (mfn_of(l3_pfn) << 12) | TBL | F_PS);
    alive();
}

/* 5: the hypervisor's L4 slots cannot be written; the slots next to them can. */
static void attack_hv_slots(void)
{
    cur_attack = 5;
    volatile uint64_t *l4 = tab(root_pfn);
    uint64_t saved[16];
    for (unsigned s = 0; s < 16; s++)
        saved[s] = l4[HAKO_HV_L4_FIRST + s];
    uint64_t l3e = (mfn_of(l3_pfn) << 12) | TBL;
    refused_store("L4 slot 256 (direct map) -> our L3", ST_MOV, &l4[256], l3e);
    refused_store("L4 slot 271 (last hypervisor slot) -> our L3", ST_LOCK_CMPXCHG, &l4[271], l3e);
    refused_store("L4 slot 258 (m2p) cleared", ST_XCHG, &l4[258], 0);
    refused_store("L4 slot 260 cleared", ST_CMPXCHG, &l4[260], 0);
    arm(7);         /* movq $0, (%rdx): 48 c7 02 00 00 00 00 */
    __asm__ volatile("movq $0, (%%rdx)" : : "d"(&l4[257]) : "memory");
    expect_fault("L4 slot 257 cleared with an immediate store", 14, PF_RO_WRITE);
    int same = 1;
    for (unsigned s = 0; s < 16; s++)
        same &= l4[HAKO_HV_L4_FIRST + s] == saved[s];
    XTF_CHECK(same, "[attack 5] hypervisor L4 slots changed");
    /* The slots next to them are the guest's. */
    uint64_t n3 = new_table_frame();
    uint64_t n3e = (mfn_of(n3) << 12) | TBL;
    if (applied_store("L4 slot 255 -> a fresh L3", ST_MOV, &l4[255], n3e))
        applied_store("L4 slot 255 cleared", ST_XCHG, &l4[255], 0);
    if (applied_store("L4 slot 272 -> a fresh L3", ST_LOCK_CMPXCHG, &l4[272], n3e))
        applied_store("L4 slot 272 cleared", ST_MOV, &l4[272], 0);
    privops->tlb_flush();
    alias_writable(n3, "[attack 5] the unlinked L3 is data again");
    alive();
}

/* 6: no table may point at itself or at a table of its own level or above. */
static void attack_loops(void)
{
    cur_attack = 6;
    volatile uint64_t *l4e = &tab(root_pfn)[free_l4];
    refused_store("L4 entry -> the L4 itself", ST_MOV, l4e, (root_mfn << 12) | TBL);
    refused_store("L4 entry -> the L4 itself, read-only", ST_XCHG, l4e, (root_mfn << 12) | F_P | F_U);
    refused_store("L3 entry -> its own L3", ST_LOCK_CMPXCHG, &tab(l3_pfn)[free_l3],
                  (mfn_of(l3_pfn) << 12) | TBL);
    refused_store("L2 entry -> its own L2", ST_MOV, &tab(l2_pfn)[free_l2], (mfn_of(l2_pfn) << 12) | TBL);
    refused_store("L3 entry -> the L4", ST_CMPXCHG, &tab(l3_pfn)[free_l3], (root_mfn << 12) | TBL);
    refused_store("L2 entry -> an L3", ST_XCHG, &tab(l2_pfn)[free_l2], (mfn_of(l3_pfn) << 12) | TBL);
    refused_store("L1 entry -> the L2 above it, writable", ST_MOV, &tab(l1_pfn)[SLOT_ATTACK],
                  (mfn_of(l2_pfn) << 12) | F_P | F_W | F_U);
    /* A fresh frame written by raw stores (it is no table yet) to point at itself. */
    uint64_t q = new_table_frame(), r = new_table_frame();
    volatile uint64_t *qt = tab(q), *rt = tab(r);
    applied_store("raw store: a fresh frame's entry 0 -> itself", ST_MOV, qt, (mfn_of(q) << 12) | TBL);
    refused_store("link a fresh L3 whose entry 0 points to itself", ST_MOV, l4e, (mfn_of(q) << 12) | TBL);
    applied_store("raw store: entry 0 -> a second fresh frame", ST_XCHG, qt, (mfn_of(r) << 12) | TBL);
    applied_store("raw store: its entry 0 -> the first", ST_MOV, rt, (mfn_of(q) << 12) | TBL);
    refused_store("link a fresh L3 -> L2 -> the same L3 as L1", ST_LOCK_CMPXCHG, l4e,
                  (mfn_of(q) << 12) | TBL);
    refused_store("the same pair as a new L2 under our L3", ST_MOV, &tab(l3_pfn)[free_l3],
                  (mfn_of(q) << 12) | TBL);
    XTF_CHECK(*l4e == 0, "[attack 6] refused L4 entry was written");
    applied_store("raw store: clear the pair", ST_MOV, qt, 0);
    applied_store("raw store: clear the pair", ST_MOV, rt, 0);
    alias_writable(q, "[attack 6] the never-validated frame is data again");
    alias_writable(r, "[attack 6] the never-validated frame is data again");
    alive();
}

/* A table built with raw stores is validated when it is linked, every time: a bad entry
 * written while it is not a table (never, or no longer) is caught at the link. */
static void attack_built_tables(void)
{
    cur_attack = 7;
    volatile uint64_t *l2e = &tab(l2_pfn)[free_l2];
    uint64_t x = new_table_frame();
    volatile uint64_t *xt = tab(x);
    uint64_t bad = (HV_IMAGE_MFN << 12) | F_P | F_U;
    applied_store("raw store of a hypervisor-frame entry into a table being built", ST_MOV,
                  &xt[7], bad);
    refused_store("link it as an L1", ST_MOV, l2e, (mfn_of(x) << 12) | TBL);
    applied_store("raw store: fix the entry", ST_XCHG, &xt[7], 0);
    applied_store("raw store: a valid read-only entry", ST_MOV, &xt[1], leaf(d1_pfn, F_P | F_U));
    if (applied_store("link the clean table as an L1", ST_MOV, l2e, (mfn_of(x) << 12) | TBL)) {
        uint64_t va = probe_va + (uint64_t)(free_l2 - mm_index(probe_va, 2)) * TWO_MIB + 4096;
        XTF_CHECK(*(volatile uint64_t *)va == D1_MARK, "[attack 7] the linked table maps wrong");
        refused_store("now validated: the same hypervisor entry", ST_MOV, &xt[7], bad);
        refused_store("now validated: map its own L4 writable", ST_LOCK_CMPXCHG, &xt[8],
                      (root_mfn << 12) | F_P | F_W | F_U);
        applied_store("unlink it (it is no table now)", ST_XCHG, l2e, 0);
        privops->tlb_flush();
        applied_store("raw store into the former table: map the L4 writable", ST_MOV, &xt[8],
                      (root_mfn << 12) | F_P | F_W | F_U);
        refused_store("link it again: validated again", ST_CMPXCHG, l2e, (mfn_of(x) << 12) | TBL);
        applied_store("raw store: clear it", ST_MOV, &xt[8], 0);
    }
    applied_store("raw store: clear entry 1", ST_MOV, &xt[1], 0);
    alias_writable(x, "[attack 7] the unlinked table is data again");
    alive();
}

/* Store instructions the emulator does not take: each is the kernel's #PF at the
 * address it stored to, nothing written. */
static void attack_store_forms(void)
{
    cur_attack = 8;
    volatile uint64_t *e = L1E(SLOT_ATTACK);
    uint64_t good = leaf(d1_pfn, F_P | F_U);
    arm(2);         /* 88 02 */
    __asm__ volatile("movb %%al, (%%rdx)" : : "a"(0x27), "d"(e) : "memory");
    expect_fault("a byte store into a page table", 14, PF_RO_WRITE);
    arm(3);         /* 48 89 02 at entry + 4: straddles two entries */
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(good), "d"(UL(e) + 4) : "memory");
    int ok = expect_fault("a misaligned 8-byte store", 14, PF_RO_WRITE);
    XTF_CHECK(ok && seen.fault_addr == UL(e) + 4, "[attack 8] misaligned store: cr2 %lx",
              seen.fault_addr);
    arm(3);         /* 48 09 02 */
    __asm__ volatile("orq %%rax, (%%rdx)" : : "a"(good), "d"(e) : "memory", "cc");
    expect_fault("or (read-modify-write) into a page table", 14, PF_RO_WRITE);
    arm(4);         /* 48 0f c3 02 */
    __asm__ volatile("movnti %%rax, (%%rdx)" : : "a"(good), "d"(e) : "memory");
    expect_fault("movnti into a page table", 14, PF_RO_WRITE);
    uint64_t rdi = UL(e), rcx = 1;
    arm(3);         /* f3 48 ab */
    __asm__ volatile("rep stosq" : "+D"(rdi), "+c"(rcx) : "a"(good) : "memory");
    ok = expect_fault("rep stosq into a page table", 14, PF_RO_WRITE);
    XTF_CHECK(ok && rdi == UL(e) && rcx == 1, "[attack 8] rep stosq: rdi %lx rcx %lu after", rdi, rcx);
    arm(4);         /* 66 0f d6 02: an 8-byte SSE store */
    __asm__ volatile("movq %%rax, %%xmm0\n\tmovq %%xmm0, (%%rdx)" : : "a"(good), "d"(e) : "memory");
    expect_fault("movq %xmm0 (an 8-byte SSE store) into a page table", 14, PF_RO_WRITE);
    {
        volatile uint64_t *e16 = L1E(SLOT_TLB);     /* entries 2 and 3: 16-byte aligned, empty */
        uint64_t lo = e16[0], hi = e16[1];
        arm(5);     /* f0 48 0f c7 0f: lock cmpxchg16b (%rdi) */
        __asm__ volatile("lock cmpxchg16b (%%rdi)"
                         : "+a"(lo), "+d"(hi) : "b"(good), "c"(0ull), "D"(e16) : "memory", "cc");
        ok = expect_fault("lock cmpxchg16b into a page table", 14, PF_RO_WRITE);
        XTF_CHECK(ok && seen.fault_addr == UL(e16), "[attack 8] cmpxchg16b: cr2 %lx, entry %lx",
                  seen.fault_addr, UL(e16));
    }
    static volatile uint64_t src_entry;
    src_entry = good;
    uint64_t rsi = UL(&src_entry);
    rdi = UL(e);
    arm(2);         /* 48 a5 */
    __asm__ volatile("movsq" : "+S"(rsi), "+D"(rdi) : : "memory");
    ok = expect_fault("movsq into a page table", 14, PF_RO_WRITE);
    XTF_CHECK(ok && rsi == UL(&src_entry) && rdi == UL(e), "[attack 8] movsq: rsi %lx rdi %lx", rsi, rdi);
    arm(2);         /* 8f 02 */
    __asm__ volatile("pushq %%rax\n\tpopq (%%rdx)\n\tpopq %%rax" : : "a"(good), "d"(e) : "memory");
    expect_fault("popq into a page table", 14, PF_RO_WRITE);
    uint64_t xv = good;
    arm(4);         /* 48 0f c1 02 */
    __asm__ volatile("xaddq %%rax, (%%rdx)" : "+a"(xv) : "d"(e) : "memory", "cc");
    ok = expect_fault("xadd into a page table", 14, PF_RO_WRITE);
    XTF_CHECK(ok && xv == good, "[attack 8] xadd changed rax to %lx", xv);
    XTF_CHECK(*e == 0 && e[1] == 0 && e[-1] == 0, "[attack 8] a refused store form wrote the table");
    /* A not-present entry may hold anything; making it present takes a full store. */
    uint64_t parked = (HV_IMAGE_MFN << 12) | F_U | F_W;
    applied_store("park a not-present entry naming the hypervisor image", ST_MOV, e, parked);
    arm(6);         /* f0 48 0f ba 2a 00 */
    __asm__ volatile("lock btsq $0, (%%rdx)" : : "d"(e) : "memory", "cc");
    expect_fault("lock bts $0 (set P) on it", 14, PF_RO_WRITE);
    arm(4);         /* 48 83 0a 01 */
    __asm__ volatile("orq $1, (%%rdx)" : : "d"(e) : "memory", "cc");
    expect_fault("or $1 (set P) on it", 14, PF_RO_WRITE);
    arm(3);         /* 48 ff 02 */
    __asm__ volatile("incq (%%rdx)" : : "d"(e) : "memory", "cc");
    expect_fault("inc (set P) on it", 14, PF_RO_WRITE);
    XTF_CHECK(*e == parked, "[attack 8] a read-modify-write made the parked entry %lx", *e);
    applied_store("clear it", ST_MOV, e, 0);
    /* Other encodings of the forms it takes: REX registers, a SIB address. */
    {
        register uint64_t r9 __asm__("r9") = good;
        register volatile uint64_t *r13 __asm__("r13") = e;
        arm(4);     /* 4d 89 4d 00: mov %r9, 0(%r13) */
        __asm__ volatile("movq %%r9, (%%r13)" : : "r"(r9), "r"(r13), "a"(0x1111ull), "c"(0x2222ull),
                         "d"(0x3333ull) : "memory");
        if (expect_no_fault("mov %r9, (%r13) (REX.R and REX.B)"))
            XTF_CHECK(*e == good, "[attack 8] mov %%r9, (%%r13) stored %lx, want %lx", *e, good);
        uint64_t idx = 0;
        arm(4);     /* 48 89 34 ca: mov %rsi, (%rdx,%rcx,8) */
        __asm__ volatile("movq %%rsi, (%%rdx,%%rcx,8)" : : "S"(0ull), "d"(e), "c"(idx), "a"(good)
                         : "memory");
        if (expect_no_fault("mov %rsi, (%rdx,%rcx,8) (a SIB address)"))
            XTF_CHECK(*e == 0, "[attack 8] the SIB-addressed store left %lx", *e);
    }
    invlpg(SLOT_VA(SLOT_ATTACK));
    /* A read-only data page not marked as a table alias: its own #PF, not emulated. */
    volatile uint64_t *ro = L1E(SLOT_DATA_RO), *b9 = L1E(SLOT_DATA_B9);
    applied_store("map a data page read-only", ST_MOV, ro, leaf(d2_pfn, F_P | F_U));
    applied_store("map a data page read-only, marked as a table alias", ST_MOV, b9,
                  leaf(d2_pfn, F_P | F_U | B9));
    invlpg(SLOT_VA(SLOT_DATA_RO));
    invlpg(SLOT_VA(SLOT_DATA_B9));
    volatile uint64_t *rov = (volatile uint64_t *)SLOT_VA(SLOT_DATA_RO);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0x1234ull), "d"(rov + 3) : "memory");
    ok = expect_fault("store to a read-only data page (no table-alias bit)", 14, PF_RO_WRITE);
    XTF_CHECK(ok && seen.fault_addr == UL(rov + 3) && rov[3] == 0,
              "[attack 8] read-only data page: cr2 %lx, value %lx", seen.fault_addr, rov[3]);
    volatile uint64_t *b9v = (volatile uint64_t *)SLOT_VA(SLOT_DATA_B9);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0x5678ull), "d"(b9v + 4) : "memory");
    expect_no_fault("store through a table alias of a frame that is no table (written as is)");
    XTF_CHECK(b9v[4] == 0x5678 && rov[4] == 0x5678, "[attack 8] the table-alias store did not land");
    arm(2);         /* 89 02 */
    __asm__ volatile("movl %%eax, (%%rdx)" : : "a"(0x9ABC), "d"(b9v + 5) : "memory");
    expect_fault("a 4-byte store through a table alias", 14, PF_RO_WRITE);
    /* The m2p is read-only to guests and is the hypervisor's: never written. */
    uint64_t m = mfn_of(d1_pfn);
    volatile uint64_t *m2pe = (volatile uint64_t *)(HAKO_M2P_VA + m * 8);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(d2_pfn), "d"(m2pe) : "memory");
    ok = expect_fault("8-byte store into the m2p (our own frame's entry)", 14, PF_RO_WRITE);
    XTF_CHECK(*m2pe == d1_pfn, "[attack 8] the m2p entry changed to %lx", *m2pe);
    arm(7);         /* 48 c7 02 fe ff ff ff: a not-present entry, sign-extended as the CPU does */
    __asm__ volatile("movq $-2, (%%rdx)" : : "d"(ro) : "memory");
    if (expect_no_fault("movq $-2 (immediate, not present)"))
        XTF_CHECK(*ro == ~1ull, "[attack 8] the immediate was not sign-extended: %lx", *ro);
    arm(7);         /* 48 c7 02 00 00 00 00: an immediate store the emulator takes */
    __asm__ volatile("movq $0, (%%rdx)" : : "d"(ro) : "memory");
    expect_no_fault("movq $0 (immediate) unmapping the read-only data page");
    XTF_CHECK(*ro == 0, "[attack 8] the immediate unmap was not applied (%lx)", *ro);
    applied_store("unmap", ST_MOV, b9, 0);
    invlpg(SLOT_VA(SLOT_DATA_RO));
    invlpg(SLOT_VA(SLOT_DATA_B9));
    *(volatile uint64_t *)(UL(pfn_to_va(d2_pfn)) + 32) = 0;
    alive();
}

/* 9: cmpxchg and xchg behave as on hardware: a failed compare writes nothing and
 * loads rax, a refused store changes neither the entry nor the register. */
static void attack_cmpxchg(void)
{
    cur_attack = 9;
    volatile uint64_t *e = L1E(SLOT_CMPX);
    uint64_t good = leaf(d1_pfn, F_P | F_U), other = leaf(d2_pfn, F_P | F_U);
    applied_store("map a data page", ST_MOV, e, good);
    for (int lock = 0; lock < 2; lock++) {
        uint64_t rax = good ^ 0x1000;       /* not what the entry holds */
        unsigned char zf;
        arm(lock ? 5 : 4);
        if (lock)
            __asm__ volatile("lock cmpxchgq %%rcx, (%%rdx); setz %1"
                             : "+a"(rax), "=q"(zf) : "c"(other), "d"(e) : "memory", "cc");
        else
            __asm__ volatile("cmpxchgq %%rcx, (%%rdx); setz %1"
                             : "+a"(rax), "=q"(zf) : "c"(other), "d"(e) : "memory", "cc");
        int ok = expect_no_fault(lock ? "lock cmpxchg, compare fails" : "cmpxchg, compare fails");
        ok &= XTF_CHECK(!zf && rax == good && *e == good,
                        "[attack 9] %scmpxchg with a wrong compare value: ZF %u, rax %lx (entry "
                        "%lx), entry now %lx", lock ? "lock " : "", zf, rax, good, *e);
        kprintf("[attack 9] %scmpxchg with a failing compare -> nothing written, rax loaded %s\n",
                lock ? "lock " : "", ok ? "ok" : "FAILED");
    }
    invlpg(SLOT_VA(SLOT_CMPX));
    XTF_CHECK(*(volatile uint64_t *)SLOT_VA(SLOT_CMPX) == D1_MARK,
              "[attack 9] the mapping changed after a failed cmpxchg");
    /* Compare matches but the new value is refused: #PF, rax and the entry unchanged. */
    refused_store("cmpxchg whose new entry maps the hypervisor", ST_LOCK_CMPXCHG, e,
                  (HV_IMAGE_MFN << 12) | F_P | F_U);
    refused_store("xchg whose new entry maps the L1 writable", ST_XCHG, e,
                  (mfn_of(l1_pfn) << 12) | F_P | F_W | F_U);
    applied_store("cmpxchg replacing it (compare matches)", ST_CMPXCHG, e, other);
    invlpg(SLOT_VA(SLOT_CMPX));
    XTF_CHECK(*(volatile uint64_t *)SLOT_VA(SLOT_CMPX) == D2_MARK,
              "[attack 9] the replaced mapping shows the old frame");
    applied_store("unmap", ST_XCHG, e, 0);
    invlpg(SLOT_VA(SLOT_CMPX));
    alive();
}

/* ---- 10: mappings really go; no stale writable translation of a new table ----------- */

/* 10: an unmapped or replaced translation is really gone after invlpg, and a writable
 * one the kernel did not flush never reaches a frame that became a page table. */
static void attack_stale_tlb(void)
{
    cur_attack = 10;
    volatile uint64_t *e = L1E(SLOT_TLB);
    uint64_t va = SLOT_VA(SLOT_TLB);
    applied_store("map d1 writable", ST_MOV, e, leaf(d1_pfn, F_P | F_U | F_W));
    invlpg(va);
    XTF_CHECK(*(volatile uint64_t *)va == D1_MARK, "[attack 10] d1 mapping reads wrong");
    applied_store("unmap it", ST_MOV, e, 0);
    invlpg(va);
    int t = probe(do_read, va);
    int ok = XTF_CHECK(t && seen.vector == 14 && seen.fault_addr == va && !(seen.error_code & 1),
                       "[attack 10] read after unmap + invlpg: trapped %d vector %lu addr %lx "
                       "error %lx (value %lx)", t, seen.vector, seen.fault_addr, seen.error_code,
                       read_value);
    kprintf("[attack 10] read after a store unmapped the page -> not-present #PF %s\n",
            ok ? "ok" : "FAILED");
    applied_store("map d1 again", ST_MOV, e, leaf(d1_pfn, F_P | F_U));
    invlpg(va);
    (void)*(volatile uint64_t *)va;
    applied_store("replace it by d2", ST_XCHG, e, leaf(d2_pfn, F_P | F_U));
    invlpg(va);
    ok = XTF_CHECK(*(volatile uint64_t *)va == D2_MARK, "[attack 10] the replaced mapping shows d1");
    kprintf("[attack 10] a replaced mapping shows the new frame %s\n", ok ? "ok" : "FAILED");
    applied_store("unmap", ST_MOV, e, 0);
    invlpg(va);

    /* A frame mapped writable (and used, so the TLB holds a writable translation) is
     * unmapped with a plain store and no invlpg, then made an L1: writing it through
     * the old address must fault, whatever the kernel forgot to flush. */
    uint64_t x = pfn_alloc();
    volatile uint64_t *e2 = L1E(SLOT_TLB2);
    uint64_t va2 = SLOT_VA(SLOT_TLB2);
    applied_store("map a fresh frame writable", ST_MOV, e2, leaf(x, F_P | F_U | F_W));
    invlpg(va2);
    *(volatile uint64_t *)(va2 + 40) = 0;                 /* a writable TLB entry for va2 */
    applied_store("unmap it (no invlpg)", ST_MOV, e2, 0);
    if (privops->pt_adopt(x, 1))
        die("cannot make the frame's linear alias read-only");
    volatile uint64_t *l2e = &tab(l2_pfn)[free_l2];
    if (applied_store("link the frame as an L1 (no writable mapping is left)", ST_MOV, l2e,
                      (mfn_of(x) << 12) | TBL)) {
        write_value = 0x0000000DEAD0000ull;             /* not present: harmless if it lands */
        t = probe(do_write, va2 + 40);
        uint64_t now = tab(x)[5];
        ok = XTF_CHECK(t && now == 0 && seen.vector == 14 && seen.fault_addr == va2 + 40,
                       "[attack 10] wrote a validated L1 (entry 5 = %lx) through a stale TLB "
                       "entry after a plain-store unmap: trapped %d vector %lu addr %lx", now, t,
                       seen.vector, seen.fault_addr);
        kprintf("[attack 10] write a new L1 through a stale writable TLB entry -> #PF %s\n",
                ok ? "ok" : "FAILED (page-table write got through)");
        applied_store("unlink it", ST_MOV, l2e, 0);
        privops->tlb_flush();
        if (now) {
            alias_writable(x, "[attack 10] clean the marker");
            tab(x)[5] = 0;
        }
    }
    alias_writable(x, "[attack 10] the unlinked L1 is data again");
    invlpg(va2);
    alive();
}

/* ---- 11..13: control registers, MSRs, invlpg --------------------------------------------- */

/* mov %rax, %cr3 (0f 22 d8), armed. */
static void write_cr3(uint64_t v)
{
    arm(3);
    __asm__ volatile("mov %0, %%cr3" : : "a"(v) : "memory");
}

/* wrmsr (0f 30), armed. */
static void wrmsr_armed(uint32_t msr, uint64_t v)
{
    arm(2);
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* A fresh L4 holding the kernel's guest slots (copied with raw stores) and, when extra
 * is not 0, that entry at free_l4. */
static uint64_t build_l4(uint64_t extra)
{
    uint64_t pfn = new_table_frame();
    volatile uint64_t *t = tab(pfn);
    for (unsigned i = 0; i < 512; i++)
        if ((i < HAKO_HV_L4_FIRST || i > HAKO_HV_L4_LAST) && tab(root_pfn)[i])
            t[i] = tab(root_pfn)[i];
    if (extra)
        t[free_l4] = extra;
    return pfn;
}

/* 11: mov to cr3 loads only a valid L4 of the domain, validated as a whole. */
static void attack_cr3(void)
{
    cur_attack = 11;
    uint64_t cr3 = READ_CR(3);
    XTF_CHECK(cr3 == root_mfn << 12, "[attack 11] cr3 %lx is not the kernel root", cr3);
    uint64_t l1_live = mfn_of(si->pt_first_pfn + si->nr_pt_frames - 1);
    static const char *const names[] = { "the hypervisor image", "an unowned RAM frame",
                                         "mfn 0", "beyond RAM", "a live L1", "the live L3" };
    uint64_t bad[] = { HV_IMAGE_MFN, foreign_mfn, 0, m2p_entries + 10, l1_live, mfn_of(l3_pfn) };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_cr3(bad[i] << 12);
        expect_fault(what("mov to cr3: %s", names[i]), 13, 0);
    }
    write_cr3(cr3 | (1ull << 11));
    expect_fault("mov to cr3 with bit 11 (not PWT/PCD)", 13, 0);
    uint64_t hostile = build_l4((HV_IMAGE_MFN << 12) | TBL);
    write_cr3(mfn_of(hostile) << 12);
    expect_fault("mov to cr3: an L4 whose entry maps the hypervisor image", 13, 0);
    wrmsr_armed(HAKO_MSR_USER_ROOT, mfn_of(hostile) << 12);
    expect_fault("wrmsr USER_ROOT: the same hostile L4", 13, 0);
    XTF_CHECK(READ_CR(3) == cr3, "[attack 11] a refused cr3 changed the root");
    alias_writable(hostile, "[attack 11] the refused L4 was never typed: data again");
    write_cr3(cr3 | 0x18);
    expect_no_fault("mov to cr3: the current root with PWT and PCD");
    /* A valid switch: a copy of the root whose hypervisor slots hold garbage written
     * with raw stores ("map the hypervisor image writable", "map this L4 writable"):
     * loading it fills them with the hypervisor's own, unloading it clears them. */
    uint64_t copy = build_l4(0);
    volatile uint64_t *ct = tab(copy);
    for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
        ct[i] = i & 1 ? (HV_IMAGE_MFN << 12) | TBL : (mfn_of(copy) << 12) | TBL;
    write_cr3(mfn_of(copy) << 12);
    if (expect_no_fault("mov to cr3: a copy of the kernel root, garbage in its hypervisor slots")) {
        XTF_CHECK(READ_CR(3) == mfn_of(copy) << 12, "[attack 11] cr3 does not show the copy");
        int same = 1;
        for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
            same &= ((ct[i] ^ tab(root_pfn)[i]) & ~(HAKO_PTE_A | HAKO_PTE_D)) == 0;
        int ok = XTF_CHECK(same, "[attack 11] the loaded root's hypervisor slots are not the "
                           "hypervisor's (slot 256 %lx, kernel root %lx)", ct[256], tab(root_pfn)[256]);
        kprintf("[attack 11] load a root with garbage in the hypervisor slots -> replaced %s\n",
                ok ? "ok" : "FAILED");
        XTF_EXPECT_RC(audit(), 0, "[attack 11] audit on the copied root");
        write_cr3(cr3);
        expect_no_fault("mov to cr3: back to the kernel root");
        int zero = 1;
        for (unsigned i = HAKO_HV_L4_FIRST; i <= HAKO_HV_L4_LAST; i++)
            zero &= ct[i] == 0;
        XTF_CHECK(zero, "[attack 11] the unloaded root still holds hypervisor entries (%lx)", ct[256]);
    }
    XTF_CHECK(READ_CR(3) == cr3, "[attack 11] not back on the kernel root");
    alias_writable(copy, "[attack 11] the unloaded copy is data again");
    alive();
}

/* 12: wrmsr/rdmsr refuse hostile values and every MSR the emulator does not have. */
static void attack_msrs(void)
{
    cur_attack = 12;
    uint64_t lstar = rdmsr(HAKO_MSR_LSTAR);
    static const struct { uint64_t v; const char *name; } bad_lstar[] = {
        { HAKO_HV_VA_START + 0x1000, "in the hypervisor's direct map" },
        { HAKO_HV_VA_END - 8, "the hypervisor area's last bytes" },
        { HAKO_LOWER_HALF_END, "the first non-canonical address" },
        { 0xFFFF7FFFFFFFF000ull, "non-canonical, just below the upper half" },
    };
    for (unsigned i = 0; i < sizeof(bad_lstar) / sizeof(bad_lstar[0]); i++) {
        wrmsr_armed(HAKO_MSR_LSTAR, bad_lstar[i].v);
        expect_fault(what("wrmsr LSTAR %lx (%s)", bad_lstar[i].v, bad_lstar[i].name), 13, 0);
    }
    XTF_CHECK(rdmsr(HAKO_MSR_LSTAR) == lstar, "[attack 12] a refused LSTAR changed it");
    uint64_t l1_live = mfn_of(si->pt_first_pfn + si->nr_pt_frames - 1);
    static const char *const names[] = { "the hypervisor image", "an unowned RAM frame",
                                         "beyond RAM", "a live L1", "a data page mapped writable" };
    uint64_t bad[] = { HV_IMAGE_MFN, foreign_mfn, m2p_entries + 10, l1_live, mfn_of(d1_pfn) };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wrmsr_armed(HAKO_MSR_USER_ROOT, bad[i] << 12);
        expect_fault(what("wrmsr USER_ROOT: %s", names[i]), 13, 0);
    }
    wrmsr_armed(HAKO_MSR_USER_ROOT, (root_mfn << 12) | (1ull << 63));
    expect_fault("wrmsr USER_ROOT with bit 63", 13, 0);
    XTF_CHECK(rdmsr(HAKO_MSR_USER_ROOT) == 0, "[attack 12] a refused user root was loaded");
    uint64_t sfmask = rdmsr(HAKO_MSR_SFMASK);
    wrmsr_armed(HAKO_MSR_SFMASK, 1ull << 32);
    expect_fault("wrmsr SFMASK with bit 32", 13, 0);
    XTF_CHECK(rdmsr(HAKO_MSR_SFMASK) == sfmask, "[attack 12] a refused SFMASK changed it");
    uint64_t efer = rdmsr(HAKO_MSR_EFER);
    wrmsr_armed(HAKO_MSR_EFER, efer & ~(1ull << 8));
    expect_fault("wrmsr EFER clearing LME", 13, 0);
    wrmsr_armed(HAKO_MSR_EFER, efer ^ (1ull << 11));
    expect_fault("wrmsr EFER toggling NXE", 13, 0);
    /* Deadlines the timer code must survive: far away, and the largest; then none. */
    static const uint64_t deadlines[] = { 1ull << 62, ~0ull, 1 };
    for (unsigned i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
        wrmsr_armed(HAKO_MSR_TSC_DEADLINE, deadlines[i]);
        if (expect_no_fault(what("wrmsr TSC_DEADLINE %lx", deadlines[i])))
            XTF_CHECK(rdmsr(HAKO_MSR_TSC_DEADLINE) == deadlines[i], "[attack 12] deadline reads %lx",
                      rdmsr(HAKO_MSR_TSC_DEADLINE));
        privops->yield();
    }
    wrmsr_armed(HAKO_MSR_TSC_DEADLINE, 0);
    expect_no_fault("wrmsr TSC_DEADLINE 0 (off)");
    static const struct { uint32_t msr; const char *name; } real[] = {
        { 0x176, "SYSENTER_EIP" }, { 0xC0000102, "KERNEL_GS_BASE" }, { 0xC0000101, "GS_BASE" },
        { 0x1D9, "DEBUGCTL" }, { 0x48, "SPEC_CTRL" }, { 0x6E0 + 0x100, "an unknown MSR" },
    };
    for (unsigned i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
        wrmsr_armed(real[i].msr, 0);
        expect_fault(what("wrmsr %s", real[i].name), 13, 0);
        arm(2);
        __asm__ volatile("rdmsr" : : "c"(real[i].msr) : "rax", "rdx", "memory");
        expect_fault(what("rdmsr %s", real[i].name), 13, 0);
    }
    alive();
}

/* 13: invlpg outside the guest's range, missing control registers, changes to CR0/CR4
 * and invd are refused. */
static void attack_invlpg_cr(void)
{
    cur_attack = 13;
    arm(3);         /* 0f 01 38 */
    __asm__ volatile("invlpg (%%rax)" : : "a"(HAKO_HV_VA_START) : "memory");
    expect_fault("invlpg of a hypervisor address", 13, 0);
    arm(3);
    __asm__ volatile("invlpg (%%rax)" : : "a"(HAKO_M2P_VA) : "memory");
    expect_fault("invlpg of the m2p (in the hypervisor slots)", 13, 0);
    arm(3);
    __asm__ volatile("invlpg (%%rax)" : : "a"(HAKO_LOWER_HALF_END) : "memory");
    expect_fault("invlpg of a non-canonical address", 13, 0);
    arm(3);
    __asm__ volatile("invlpg (%%rax)" : : "a"(probe_va) : "memory");
    expect_no_fault("invlpg of our own address");
    /* Control registers that do not exist: the instruction's own fault, #GP or #UD. */
    uint64_t v = 0;
    arm(3);         /* 0f 20 e8 */
    __asm__ volatile("mov %%cr5, %%rax" : "+a"(v) : : "memory");
    int hit = fired();
    XTF_CHECK(hit && (seen.vector == 13 || seen.vector == 6) && v == 0,
              "[attack 13] mov from cr5: fault %d vector %lu, rax %lx", hit, seen.vector, v);
    arm(3);         /* 0f 22 c8 */
    __asm__ volatile("mov %%rax, %%cr1" : : "a"(0ull) : "memory");
    hit = fired();
    XTF_CHECK(hit && (seen.vector == 13 || seen.vector == 6),
              "[attack 13] mov to cr1: fault %d vector %lu", hit, seen.vector);
    arm(3);
    __asm__ volatile("mov %%rax, %%cr4" : : "a"(HAKO_TRAP_CR4 & ~0x20ull) : "memory");
    expect_fault("mov to cr4 clearing PAE", 13, 0);
    arm(3);
    __asm__ volatile("mov %%rax, %%cr0" : : "a"(HAKO_TRAP_CR0 & ~0x80000000ull) : "memory");
    expect_fault("mov to cr0 clearing PG", 13, 0);
    arm(3);         /* 0f 01 f0: lmsw %ax */
    __asm__ volatile("lmsw %%ax" : : "a"((uint16_t)(HAKO_TRAP_CR0 & 0xFFF0)) : "memory");
    expect_fault("lmsw clearing PE", 13, 0);
    arm(2);         /* 0f 08 */
    __asm__ volatile("invd" ::: "memory");
    expect_fault("invd", 13, 0);
    XTF_CHECK(READ_CR(0) == HAKO_TRAP_CR0 && READ_CR(4) == HAKO_TRAP_CR4,
              "[attack 13] cr0/cr4 changed: %lx %lx", READ_CR(0), READ_CR(4));
    alive();
}

/* ---- 14, 15: descriptor tables ---------------------------------------------------------- */

struct __attribute__((packed)) pseudo_desc {
    uint16_t limit;
    uint64_t base;
};

struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, attr;
    uint16_t off1;
    uint32_t off2, reserved;
};

#define IDT_GATES 33
static struct idt_gate hostile_idt[IDT_GATES] __attribute__((aligned(16)));
static struct pseudo_desc live_idt, live_gdt, pd;
volatile int alt_hits __attribute__((used));
extern char alt_gp_entry[], x86_stubs[];

/* alt_gp_entry: count the #GP, then take it the usual way (the backend's vector-13 stub). */
__asm__(".pushsection .text\n"
        ".globl alt_gp_entry\n"
        "alt_gp_entry:\n"
        "    lock incl alt_hits(%rip)\n"
        "    jmp x86_stubs + 16 * 13\n"
        ".popsection\n");

/* sidt into out (emulated). */
static void sidt(struct pseudo_desc *out) { __asm__ volatile("sidt (%0)" : : "r"(out) : "memory"); }

/* sgdt into out (emulated). */
static void sgdt(struct pseudo_desc *out) { __asm__ volatile("sgdt (%0)" : : "r"(out) : "memory"); }

/* lidt (%rax) (0f 01 18), armed. */
static void lidt_armed(const struct pseudo_desc *d)
{
    arm(3);
    __asm__ volatile("lidt (%%rax)" : : "a"(d) : "memory");
}

/* lgdt (%rax) (0f 01 10), armed. */
static void lgdt_armed(const struct pseudo_desc *d)
{
    arm(3);
    __asm__ volatile("lgdt (%%rax)" : : "a"(d) : "memory");
}

/* Point gate v of hostile_idt at handler. */
static void set_handler(unsigned v, uint64_t handler)
{
    hostile_idt[v].off0 = (uint16_t)handler;
    hostile_idt[v].off1 = (uint16_t)(handler >> 16);
    hostile_idt[v].off2 = (uint32_t)(handler >> 32);
}

/* hostile_idt = the live IDT; pd names it. */
static void copy_idt(void)
{
    memcpy(hostile_idt, (const void *)live_idt.base, sizeof(hostile_idt));
    pd = (struct pseudo_desc){ sizeof(hostile_idt) - 1, UL(hostile_idt) };
}

/* True when sidt shows the IDT the test started with. */
static int idt_is_live(void)
{
    struct pseudo_desc now;
    sidt(&now);
    return now.base == live_idt.base && now.limit == live_idt.limit;
}

/* Raise #GP (in from an unemulated port); 1 when it came to our handler. */
static int raise_gp(void)
{
    arm(1);
    __asm__ volatile("inb %%dx, %%al" : : "d"(0x80) : "rax", "memory");
    return fired() && seen.vector == 13;
}

/* 14: lidt refuses every gate ABI.md 20.2 lists and tables it cannot read, all or
 * nothing; what it does not refuse takes effect at once. */
static void attack_lidt(void)
{
    cur_attack = 14;
    sidt(&live_idt);
    static const struct { unsigned v; const char *name; } cases[] = {
        { 14, "#PF gate with a non-canonical handler" },
        { 14, "#PF gate with a handler in the hypervisor" },
        { 3, "#BP gate with IST 1" },
        { 13, "#GP gate of type call gate (0xC)" },
        { 13, "#GP gate of type 16-bit interrupt gate (0x6)" },
        { 13, "#GP gate of type task gate (0x5)" },
        { 13, "#GP gate with selector 0x0B (kernel CS, RPL 3)" },
        { 13, "#GP gate with the real guest code selector" },
        { 13, "#GP gate with the TSS selector" },
        { 32, "event gate (32) with IST 2, gate 13 elsewhere" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        copy_idt();
        struct idt_gate *g = &hostile_idt[cases[i].v];
        switch (i) {
        case 0: set_handler(14, 0x0000800000001000ull); break;
        case 1: set_handler(14, HAKO_HV_VA_START + 0x1000); break;
        case 2: g->ist = 1; break;
        case 3: g->attr = 0x8C; break;
        case 4: g->attr = 0x86; break;
        case 5: g->attr = 0x85; break;
        case 6: g->sel = 0x0B; break;
        case 7: g->sel = HAKO_GUEST_CS64; break;
        case 8: g->sel = 0x18; break;
        default:            /* present (the kernel has no event gate) but with an IST */
            *g = (struct idt_gate){ .sel = HAKO_TRAP_KERNEL_CS, .ist = 2, .attr = 0x8E };
            set_handler(32, UL(x86_stubs) + 16 * 32);
            set_handler(13, UL(alt_gp_entry));
            break;
        }
        lidt_armed(&pd);
        expect_fault(what("lidt: %s", cases[i].name), 13, 0);
        XTF_CHECK(idt_is_live(), "[attack 14] a refused lidt (%s) changed the IDT", cases[i].name);
    }
    /* All or nothing: the refused table's good gate 13 must not be in use. */
    alt_hits = 0;
    int gp = raise_gp();
    XTF_CHECK(gp && alt_hits == 0, "[attack 14] after the refused lidt #GP went to gate 13 of the "
              "refused table (hits %d, delivered %d)", alt_hits, gp);
    /* Tables the hypervisor cannot read, or that are not the guest's. */
    static const struct { uint64_t base; uint16_t limit; const char *name; } tables[] = {
        { HAKO_HV_VA_START, 0xFFF, "in the hypervisor" },
        { HAKO_LOWER_HALF_END, 0xFFF, "non-canonical" },
        { 0x1000, IDT_GATES * 16 - 1, "unmapped guest memory" },
        { 0, IDT_GATES * 16 - 1, "straddling into an unmapped page" },
        { HAKO_HV_VA_START - 16 * 8, 0xFFF, "running into the hypervisor slots" },
    };
    volatile uint64_t *ge = L1E(SLOT_GATES);
    applied_store("map a page for gates", ST_MOV, ge, leaf(d2_pfn, F_P | F_U));
    invlpg(SLOT_VA(SLOT_GATES));
    for (unsigned i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        pd = (struct pseudo_desc){ tables[i].limit,
                                   tables[i].base ? tables[i].base : SLOT_VA(SLOT_GATES_HOLE) - 16 * 8 };
        lidt_armed(&pd);
        expect_fault(what("lidt of a table %s", tables[i].name), 13, 0);
    }
    applied_store("unmap it", ST_MOV, ge, 0);
    invlpg(SLOT_VA(SLOT_GATES));
    arm(3);         /* the pseudo-descriptor itself in the hypervisor */
    __asm__ volatile("lidt (%%rax)" : : "a"(HAKO_HV_VA_START) : "memory");
    expect_fault("lidt with its operand in the hypervisor", 13, 0);
    XTF_CHECK(idt_is_live(), "[attack 14] a refused lidt changed the IDT");
    /* Not refused (ABI.md 20.2 lists what is): a DPL-3 gate, a missing gate; and the
     * check above can fail: a valid table with gate 13 elsewhere is used at once. */
    copy_idt();
    hostile_idt[3].attr = 0xEE;
    hostile_idt[2].attr = 0;
    set_handler(13, UL(alt_gp_entry));
    lidt_armed(&pd);
    if (expect_no_fault("lidt: a DPL-3 gate, a missing NMI gate, gate 13 elsewhere")) {
        alt_hits = 0;
        gp = raise_gp();
        XTF_CHECK(gp && alt_hits == 1, "[attack 14] the accepted IDT's gate 13 was not used "
                  "(hits %d)", alt_hits);
        pd = live_idt;
        lidt_armed(&pd);
        expect_no_fault("lidt: back to the kernel's IDT");
    }
    XTF_CHECK(idt_is_live(), "[attack 14] the kernel's IDT is not back");
    alive();
}

static uint64_t hostile_gdt[22] __attribute__((aligned(16)));
static uint8_t spare_tss[104] __attribute__((aligned(16)));

/* Write a 16-byte system descriptor (base, limit, type byte) at GDT slot sel. */
static void sys_desc(uint16_t sel, uint64_t base, uint32_t limit, uint8_t type)
{
    uint64_t *d = &hostile_gdt[sel / 8];
    d[0] = (limit & 0xFFFFull) | (base & 0xFFFFFFull) << 16 | (uint64_t)type << 40 |
           (uint64_t)((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFFull) << 56;
    d[1] = base >> 32;
}

/* ltr %ax (0f 00 d8), armed. */
static void ltr_armed(uint16_t sel)
{
    arm(3);
    __asm__ volatile("ltr %%ax" : : "a"(sel) : "memory");
}

/* str (emulated). */
static uint16_t read_tr(void)
{
    uint16_t tr = 0;
    __asm__ volatile("str %0" : "=r"(tr));
    return tr;
}

/* 15: lgdt refuses tables outside the guest's range; ltr and lldt refuse every
 * descriptor that is not a usable 64-bit TSS (or the null LDT). */
static void attack_gdt_ltr(void)
{
    cur_attack = 15;
    sgdt(&live_gdt);
    uint16_t tr = read_tr();
    static const struct { uint64_t base; uint16_t limit; const char *name; } tables[] = {
        { HAKO_HV_VA_START, 0x7F, "in the hypervisor" },
        { HAKO_LOWER_HALF_END, 0x7F, "non-canonical" },
        { HAKO_LOWER_HALF_END - 16, 0xFF, "running into the non-canonical hole" },
        { HAKO_HV_VA_START - 8, 0xF, "running into the hypervisor slots" },
    };
    for (unsigned i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        pd = (struct pseudo_desc){ tables[i].limit, tables[i].base };
        lgdt_armed(&pd);
        expect_fault(what("lgdt of a table %s", tables[i].name), 13, 0);
        struct pseudo_desc now;
        sgdt(&now);
        XTF_CHECK(now.base == live_gdt.base && now.limit == live_gdt.limit,
                  "[attack 15] a refused lgdt changed the GDT");
    }
    /* A GDT of hostile TSS descriptors (loading it is fine: lgdt checks only the range). */
    memset(hostile_gdt, 0, sizeof(hostile_gdt));
    uint64_t tss = UL(spare_tss);
    sys_desc(0x10, tss, 0x67, 0x8B);                         /* busy */
    sys_desc(0x20, HAKO_HV_VA_START, 0x67, 0x89);
    sys_desc(0x30, HAKO_LOWER_HALF_END, 0x67, 0x89);
    sys_desc(0x40, tss, 0x66, 0x89);                         /* too small */
    sys_desc(0x50, tss, 0x67, 0x09);                         /* not present */
    sys_desc(0x60, tss, 0x67, 0x81);                         /* 16-bit TSS */
    sys_desc(0x70, tss, 0x67, 0x82);                         /* an LDT */
    sys_desc(0x80, HAKO_HV_VA_START - 0x40, 0x67, 0x89);     /* runs into the hypervisor */
    sys_desc(0x90, tss, 0x67, 0x89);                         /* valid */
    hostile_gdt[0xA0 / 8] = hostile_gdt[0x90 / 8];           /* valid low half, last slot */
    pd = (struct pseudo_desc){ 0xA7, UL(hostile_gdt) };
    lgdt_armed(&pd);
    if (!expect_no_fault("lgdt of a table of hostile TSS descriptors"))
        return;
    static const struct { uint16_t sel; const char *name; } sels[] = {
        { 0x10, "a busy TSS" }, { 0x20, "a TSS in the hypervisor" },
        { 0x30, "a TSS at a non-canonical base" }, { 0x40, "a TSS with limit 0x66" },
        { 0x50, "a TSS that is not present" }, { 0x60, "a 16-bit TSS" }, { 0x70, "an LDT" },
        { 0x80, "a TSS running into the hypervisor" },
        { 0xA0, "a descriptor whose upper half is past the limit" },
        { 0xA8, "a selector past the limit" }, { 0x94, "a selector with TI set" },
        { 0, "the null selector" },
    };
    for (unsigned i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        ltr_armed(sels[i].sel);
        expect_fault(what("ltr %x: %s", sels[i].sel, sels[i].name), 13, 0);
        XTF_CHECK(read_tr() == tr, "[attack 15] a refused ltr changed TR to %x", read_tr());
    }
    ltr_armed(0x90);
    if (expect_no_fault("ltr of the valid TSS in the hostile GDT"))
        XTF_CHECK(read_tr() == 0x90, "[attack 15] str after ltr 0x90 reads %x", read_tr());
    arm(3);         /* 0f 00 d0 */
    __asm__ volatile("lldt %%ax" : : "a"(0x04) : "memory");
    expect_fault("lldt 0x04 (TI set, index 0)", 13, 0);
    arm(3);
    __asm__ volatile("lldt %%ax" : : "a"(0x90) : "memory");
    expect_fault("lldt of a TSS selector", 13, 0);
    /* Back to the kernel's GDT and TSS. */
    pd = live_gdt;
    lgdt_armed(&pd);
    expect_no_fault("lgdt: back to the kernel's GDT");
    ltr_armed(tr);
    expect_no_fault("ltr: back to the kernel's TSS");
    XTF_CHECK(read_tr() == tr, "[attack 15] TR is not back (%x)", read_tr());
    alive();
}

/* ---- 18: instructions the emulator completes through guest memory ------------------------ */

/* The fault a descriptor store into memory it may not write must raise: #GP(0) (it is
 * refused; with UMIP that is its native fault too) or, on a CPU without UMIP where it
 * ran natively, its #PF at the target. */
static int store_refused(const char *desc, uint64_t target)
{
    int hit = fired();
    int ok = XTF_CHECK(hit && ((seen.vector == 13 && seen.error_code == 0) ||
                               (seen.vector == 14 && seen.fault_addr == target)),
                       "[attack 18] %s: fault %d vector %lu error %lx addr %lx", desc, hit,
                       seen.vector, seen.error_code, seen.fault_addr);
    kprintf("[attack 18] %s -> refused %s\n", desc, ok ? "ok" : "FAILED");
    return ok;
}

/* 18: sidt/sgdt/str/smsw write, ltr/lldt/lmsw read, ins/outs move memory: none of them
 * may write a page table or the m2p, or read or write the hypervisor. */
static void attack_memory_operands(void)
{
    cur_attack = 18;
    volatile uint64_t *e = L1E(SLOT_ATTACK);
    uint64_t m2pe = HAKO_M2P_VA + mfn_of(d1_pfn) * 8;
    const uint64_t where[3] = { UL(e), m2pe, HAKO_HV_VA_START + 0x100000 };
    static const char *const where_name[3] = { "a page-table entry", "the m2p", "the hypervisor" };
    for (unsigned i = 0; i < 3; i++) {
        uint64_t at = where[i];
        arm(3);     /* 0f 01 08 */
        __asm__ volatile("sidt (%%rax)" : : "a"(at) : "memory");
        store_refused(what("sidt into %s", where_name[i]), at);
        arm(3);     /* 0f 01 00 */
        __asm__ volatile("sgdt (%%rax)" : : "a"(at) : "memory");
        store_refused(what("sgdt into %s", where_name[i]), at);
        arm(3);     /* 0f 00 08 */
        __asm__ volatile("str (%%rax)" : : "a"(at) : "memory");
        store_refused(what("str into %s", where_name[i]), at);
        arm(3);     /* 0f 01 20 */
        __asm__ volatile("smsw (%%rax)" : : "a"(at) : "memory");
        store_refused(what("smsw into %s", where_name[i]), at);
    }
    XTF_CHECK(*e == 0 && e[1] == 0, "[attack 18] a descriptor store wrote the page table: %lx %lx",
              *e, e[1]);
    XTF_CHECK(*(volatile uint64_t *)m2pe == d1_pfn, "[attack 18] a descriptor store wrote the m2p");
    uint64_t hv = HAKO_HV_VA_START + 0x100000;
    uint16_t tr = read_tr();
    arm(3);         /* 0f 00 18 */
    __asm__ volatile("ltr (%%rax)" : : "a"(hv) : "memory");
    expect_fault("ltr with its selector read from the hypervisor", 13, 0);
    arm(3);         /* 0f 00 10 */
    __asm__ volatile("lldt (%%rax)" : : "a"(hv) : "memory");
    expect_fault("lldt with its selector read from the hypervisor", 13, 0);
    arm(3);         /* 0f 01 30 */
    __asm__ volatile("lmsw (%%rax)" : : "a"(hv) : "memory");
    expect_fault("lmsw with its operand read from the hypervisor", 13, 0);
    XTF_CHECK(read_tr() == tr, "[attack 18] TR changed");
    uint64_t rdi = UL(e), rsi = hv;
    arm(1);         /* 6c */
    __asm__ volatile("insb" : "+D"(rdi) : "d"(HAKO_TRAP_UART_BASE + 7) : "memory");
    int ok = expect_fault("insb from the UART into a page table", 13, 0);
    XTF_CHECK(ok && rdi == UL(e) && *e == 0, "[attack 18] insb: rdi %lx, entry %lx", rdi, *e);
    arm(1);         /* 6e */
    __asm__ volatile("outsb" : "+S"(rsi) : "d"(HAKO_TRAP_UART_BASE + 7) : "memory");
    ok = expect_fault("outsb from the hypervisor to the UART", 13, 0);
    XTF_CHECK(ok && rsi == hv, "[attack 18] outsb: rsi %lx", rsi);
    uint64_t rcx = 8;
    arm(2);         /* f3 6e */
    __asm__ volatile("rep outsb" : "+S"(rsi), "+c"(rcx) : "d"(HAKO_TRAP_UART_BASE) : "memory");
    ok = expect_fault("rep outsb of hypervisor memory to the console", 13, 0);
    XTF_CHECK(ok && rsi == hv && rcx == 8, "[attack 18] rep outsb: rsi %lx rcx %lu", rsi, rcx);
    alive();
}

/* ---- 19: another domain's frames --------------------------------------------------------- */

extern const char domu_image_start[] __attribute__((weak));
extern const char domu_image_end[] __attribute__((weak));
static struct hako_domctl_create create_req __attribute__((aligned(8)));
static char domu_cmdline[] = "block";

/* domctl(cmd, arg) (a hypercall trap mode keeps). */
static long domctl(uint32_t cmd, uint64_t arg) { return HC3(domctl, cmd, arg, 0); }

/* 19: a domU's frame cannot be mapped by a store, directly or in a table built by raw
 * stores; a foreign mapping (mmu_update FOREIGN) that a store removes drops its
 * reference and its translation, so the domU can be destroyed and its frame freed
 * while no stale TLB entry of it survives. */
static void attack_other_domain(void)
{
    cur_attack = 19;
    if (!domu_image_start) {
        xtf_skip("no domU image linked: attack 19 not run");
        return;
    }
    memset(&create_req, 0, sizeof(create_req));
    create_req.image_va = UL(domu_image_start);
    create_req.image_len = (uint64_t)(domu_image_end - domu_image_start);
    create_req.mem_pages = 256;
    create_req.cmdline_va = UL(domu_cmdline);
    ksnprintf(create_req.name, sizeof(create_req.name), "victim");
    long d = domctl(HAKO_DOMCTL_CREATE, UL(&create_req));
    if (!XTF_CHECK(d > 0 && create_req.console_mfn, "[attack 19] create a domU: %ld (%s)", d,
                   xtf_errname(d)))
        return;
    uint64_t cmfn = create_req.console_mfn;
    volatile uint64_t *e = L1E(SLOT_FOREIGN);
    uint64_t va = SLOT_VA(SLOT_FOREIGN);
    refused_store("map the domU's console page read-only", ST_MOV, e, (cmfn << 12) | F_P | F_U | nx);
    refused_store("map the domU's console page writable", ST_XCHG, e,
                  (cmfn << 12) | F_P | F_U | F_W | nx);
    uint64_t x = new_table_frame();
    applied_store("raw store of the domU's frame into a table being built", ST_MOV, &tab(x)[3],
                  (cmfn << 12) | F_P | F_U);
    refused_store("link that table", ST_LOCK_CMPXCHG, &tab(l2_pfn)[free_l2], (mfn_of(x) << 12) | TBL);
    applied_store("raw store: clear it", ST_MOV, &tab(x)[3], 0);
    alias_writable(x, "[attack 19] the refused table is data again");
    /* The way dom0 may map it, then a plain store to unmap it. */
    static struct hako_mmu_update req __attribute__((aligned(8)));
    req.ptr = ((mfn_of(l1_pfn) << 12) | SLOT_FOREIGN * 8) | HAKO_MMU_PT_UPDATE_FOREIGN;
    req.val = (cmfn << 12) | F_P | F_U | F_W | nx;
    long rc = hako_hypercall6(HAKO_HC_mmu_update, UL(&req), 1, 0, UL(d), 0, 0);
    if (XTF_EXPECT_RC(rc, 0, "[attack 19] mmu_update FOREIGN: the domU's console page")) {
        invlpg(va);
        volatile uint64_t *page = (volatile uint64_t *)va;
        page[0] = page[0];                          /* a writable TLB entry for it */
        XTF_EXPECT_RC(domctl(HAKO_DOMCTL_DESTROY, UL(d)), -HAKO_EBUSY,
                      "[attack 19] DESTROY while we map its frame");
        applied_store("a plain store unmaps the foreign page (no invlpg)", ST_MOV, e, 0);
    }
    int ok = XTF_EXPECT_RC(domctl(HAKO_DOMCTL_DESTROY, UL(d)), 0,
                           "[attack 19] DESTROY after the store dropped the mapping");
    kprintf("[attack 19] destroy the domU after a store unmapped its page -> 0 %s\n",
            ok ? "ok" : "FAILED");
    if (rc == 0) {
        write_value = 0;
        int t = probe(do_write, va);
        ok = XTF_CHECK(t && seen.vector == 14 && seen.fault_addr == va,
                       "[attack 19] wrote the freed frame of a destroyed domain through a stale "
                       "TLB entry (trapped %d vector %lu addr %lx)", t, seen.vector, seen.fault_addr);
        kprintf("[attack 19] write the freed frame through the old address -> #PF %s\n",
                ok ? "ok" : "FAILED");
    }
    invlpg(va);
    alive();
}

/* ---- 16: iretq / sysretq in kernel mode ---------------------------------------------------- */

static uint64_t landed_flags;

/* iretq to rip (0: right after it) with cs, rflags, ss and the current rsp: 1 when it
 * faulted (seen holds the fault); landed_flags = pushf where it landed. */
static __attribute__((noinline)) int try_iretq(uint64_t rip, uint64_t cs, uint64_t rflags, uint64_t ss)
{
    uint64_t out;
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    if (kjmp_save(&jb))
        return 1;
    armed = ARM_JUMP;
    __asm__ volatile("movq %%rsp, %%r8\n\t"
                     "andq $-16, %%rsp\n\t"
                     "pushq %[ss]\n\t"
                     "pushq %%r8\n\t"
                     "pushq %[fl]\n\t"
                     "pushq %[cs]\n\t"
                     "testq %[rip], %[rip]\n\t"
                     "jnz 2f\n\t"
                     "leaq 1f(%%rip), %[rip]\n"
                     "2:\n\t"
                     "pushq %[rip]\n\t"
                     "iretq\n"
                     "1:\n\t"
                     "pushfq\n\t"
                     "popq %[out]\n\t"
                     "movq %%r8, %%rsp\n\t"
                     "cld"
                     : [out] "=&r"(out), [rip] "+&r"(rip)
                     : [cs] "r"(cs), [fl] "r"(rflags), [ss] "r"(ss)
                     : "r8", "memory", "cc");
    armed = ARM_OFF;
    landed_flags = out;
    return 0;
}

/* sysretq with rcx and r11 (rsp as it is): 1 when it faulted. */
static __attribute__((noinline)) int try_sysretq(uint64_t rcx, uint64_t r11)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    if (kjmp_save(&jb))
        return 1;
    armed = ARM_JUMP;
    register uint64_t r11_ __asm__("r11") = r11;
    __asm__ volatile("sysretq" : : "c"(rcx), "r"(r11_) : "memory");
    armed = ARM_OFF;
    return 0;
}

/* sysretl (0f 07, no REX.W: a return to compatibility mode) with rcx and r11: 1 when
 * it faulted. */
static __attribute__((noinline)) int try_sysretl(uint64_t rcx, uint64_t r11)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    if (kjmp_save(&jb))
        return 1;
    armed = ARM_JUMP;
    register uint64_t r11_ __asm__("r11") = r11;
    __asm__ volatile("sysretl" : : "c"(rcx), "r"(r11_) : "memory");
    armed = ARM_OFF;
    return 0;
}

/* One refused iretq: #GP in kernel mode, nothing else. */
static void refused_iretq(const char *desc, uint64_t rip, uint64_t cs, uint64_t rflags, uint64_t ss)
{
    int t = try_iretq(rip, cs, rflags, ss);
    int ok = XTF_CHECK(t && seen.vector == 13 && seen.cs == HAKO_TRAP_KERNEL_CS,
                       "[attack 16] iretq %s: faulted %d vector %lu error %lx cs %lx cr2 %lx "
                       "(the frame at rsp %lx)", desc, t, seen.vector, seen.error_code, seen.cs,
                       seen.fault_addr, seen.rsp);
    kprintf("[attack 16] iretq %s -> #GP %s\n", desc, ok ? "ok" : "FAILED");
}

#define HOSTILE_RFLAGS (0xFFFFFFFF00000000ull | 0x200000 /* ID */ | 0x100000 /* VIP */ | \
                        0x80000 /* VIF */ | 0x20000 /* VM */ | 0x10000 /* RF */ |          \
                        0x8000 | 0x20 | 0x8 /* reserved */ | RF_NT | RF_IOPL | RF_ARITH)

/* 16: iretq/sysretq from kernel mode: only the documented selector pairs and guest
 * rips, and only the documented rflags bits reach the CPU. */
static void attack_iret_kernel(void)
{
    cur_attack = 16;
    const uint64_t kcs = HAKO_TRAP_KERNEL_CS, kss = HAKO_TRAP_KERNEL_SS;
    refused_iretq("with a non-canonical rip", 0x0000800000000000ull, kcs, 2, kss);
    refused_iretq("with rip in the hypervisor", HAKO_HV_VA_START + 0x1000, kcs, 2, kss);
    refused_iretq("with cs 0x08, ss 0x4B (mixed)", 0, kcs, 2, HAKO_TRAP_USER_SS);
    refused_iretq("with cs 0x43, ss 0x10 (mixed)", 0, HAKO_TRAP_USER_CS, 2, kss);
    refused_iretq("with cs 0x0B, ss 0x13 (kernel selectors, RPL 3)", 0, 0x0B, 2, 0x13);
    refused_iretq("with cs 0x09, ss 0x11 (kernel selectors, RPL 1)", 0, 0x09, 2, 0x11);
    refused_iretq("with cs 0, ss 0", 0, 0, 2, 0);
    refused_iretq("to user mode with no user root", 0, HAKO_TRAP_USER_CS, 2, HAKO_TRAP_USER_SS);
    /* Accepted, with every flag bit set: only the arithmetic ones and the virtual IF
     * survive; IOPL and NT never reach the CPU. */
    int t = try_iretq(0, kcs, HOSTILE_RFLAGS, kss);
    int ok = XTF_CHECK(!t, "[attack 16] iretq with hostile rflags faulted (vector %lu)", seen.vector);
    if (ok)
        ok = XTF_CHECK(landed_flags == (RF_ARITH | 0x202) && vcpu->evtchn_upcall_mask == 1,
                       "[attack 16] iretq with rflags %lx: pushf shows %lx (want %lx), upcall "
                       "mask %u", UL(HOSTILE_RFLAGS), landed_flags, UL(RF_ARITH | 0x202),
                       vcpu->evtchn_upcall_mask);
    kprintf("[attack 16] iretq with IOPL 3, NT, VM, ID... -> only CF PF AF ZF SF OF kept %s\n",
            ok ? "ok" : "FAILED");
    ok = raise_gp();
    XTF_CHECK(ok, "[attack 16] after it an unemulated port still faults");
    t = try_iretq(0, kcs, RF_IF | 2, kss);
    XTF_CHECK(!t && vcpu->evtchn_upcall_mask == 0, "[attack 16] iretq with IF: mask %u",
              vcpu->evtchn_upcall_mask);
    __asm__ volatile("cli" ::: "memory");
    /* The real guest selectors: a native iretq (not emulated; under QEMU's TCG with SMAP
     * it faults on its stack read instead), which cannot raise IOPL either way. */
    t = try_iretq(0, HAKO_GUEST_CS64, RF_IOPL | RF_CF | 2, HAKO_GUEST_DS);
    XTF_CHECK(t ? seen.cs == HAKO_TRAP_KERNEL_CS
                : (landed_flags & RF_IOPL) == 0 && (landed_flags & RF_CF),
              "[attack 16] native iretq with IOPL 3: faulted %d (vector %lu), pushf %lx", t,
              seen.vector, landed_flags);
    /* sysretq: refused without a user root, or with a bad rcx. */
    static const struct { uint64_t rcx; const char *name; } bad[] = {
        { 0x0000800000000000ull, "a non-canonical rcx" },
        { HAKO_HV_VA_START + 0x1000, "rcx in the hypervisor" },
        { 0x400000, "no user root" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = try_sysretq(bad[i].rcx, 2);
        ok = XTF_CHECK(t && seen.vector == 13 && seen.cs == HAKO_TRAP_KERNEL_CS,
                       "[attack 16] sysretq with %s: faulted %d vector %lu cs %lx", bad[i].name, t,
                       seen.vector, seen.cs);
        kprintf("[attack 16] sysretq with %s -> #GP %s\n", bad[i].name, ok ? "ok" : "FAILED");
    }
    XTF_CHECK(READ_CR(3) == root_mfn << 12, "[attack 16] not on the kernel root");
    alive();
}

/* ---- 17: user mode ------------------------------------------------------------------------- */

#define UCODE      UL(0x400000)
#define USTACK     UL(0x600000)
#define USTACK_TOP (USTACK + 4096)
#define UPT        UL(0x800000)     /* the user L1 of UCODE, mapped read-only for the user */

extern const char user_code_start[], user_code_end[], user_pushf[], user_pushf_sysret[],
    user_sti[], user_wrmsr[], user_cr3[], user_out[], user_lidt[], user_hlt[], user_iretq[],
    user_iretq_insn[], user_sysretq[], user_sysretq_insn[], user_cli_pt[], user_pt_store[];
#define UOFF(sym) (UCODE + (UL(sym) - UL(user_code_start)))

/* User-mode code, copied to the user code page. rbx = a kernel address, r12 = a kernel
 * stack, r13 = the user stack, r14/r15 = an address and a value: what a hostile process
 * would aim at. */
__asm__(".pushsection .text\n"
        ".globl user_code_start, user_pushf, user_pushf_sysret, user_sti, user_wrmsr\n"
        ".globl user_cr3, user_out, user_lidt, user_hlt, user_iretq, user_iretq_insn\n"
        ".globl user_sysretq, user_sysretq_insn, user_cli_pt, user_pt_store, user_code_end\n"
        "user_code_start:\n"
        "user_pushf_sysret:\n"
        "    movq %r13, %rsp\n"
        "user_pushf:\n"
        "    pushfq\n"
        "    popq %rax\n"
        "    syscall\n"                 /* the kernel reads rflags in rax */
        "    ud2\n"
        "user_sti:\n"
        "    sti\n"
        "    ud2\n"
        "user_wrmsr:\n"
        "    movl $0xC0000082, %ecx\n"  /* LSTAR = 0 */
        "    xorl %eax, %eax\n"
        "    xorl %edx, %edx\n"
        "    wrmsr\n"
        "    ud2\n"
        "user_cr3:\n"
        "    movq %rbx, %rax\n"
        "    movq %rax, %cr3\n"
        "    ud2\n"
        "user_out:\n"
        "    movw $0x3FF, %dx\n"        /* the emulated UART's scratch register */
        "    movb $0xEE, %al\n"
        "    outb %al, %dx\n"
        "    ud2\n"
        "user_lidt:\n"
        "    pushq $0\n"
        "    pushq $0\n"
        "    lidt (%rsp)\n"
        "    ud2\n"
        "user_hlt:\n"
        "    hlt\n"
        "    ud2\n"
        "user_iretq:\n"                 /* a kernel-mode frame, to rbx on the stack r12 */
        "    pushq $0x10\n"
        "    pushq %r12\n"
        "    pushq $0x2\n"
        "    pushq $0x08\n"
        "    pushq %rbx\n"
        "user_iretq_insn:\n"
        "    iretq\n"
        "    ud2\n"
        "user_sysretq:\n"
        "    movq %rbx, %rcx\n"
        "    movl $0x3202, %r11d\n"
        "user_sysretq_insn:\n"
        "    sysretq\n"
        "    ud2\n"
        "user_cli_pt:\n"
        "    cli\n"
        "    ud2\n"
        "user_pt_store:\n"             /* r15 into the user-visible page-table entry r14 */
        "    movq %r15, (%r14)\n"
        "    ud2\n"
        "user_code_end:\n"
        ".popsection\n");

static uint8_t user_kstack[8192] __attribute__((aligned(16)));
static uint8_t escape_stack[4096] __attribute__((aligned(16)));
static volatile int escaped;

void user_escaped(void) __attribute__((noreturn, used));

/* Reached only if a user-mode iretq/sysretq got into kernel mode here. */
void user_escaped(void)
{
    escaped = 1;
    armed = ARM_OFF;
    kjmp_jump(&jb, 2);
}

static uint64_t user_r14, user_r15;

/* Enter user mode at rip with rflags (through iretq with usp, or sysretq), r14/r15 from
 * user_r14/user_r15, and come back on its first fault or syscall: 1 (seen holds it), 2
 * if it escaped into kernel mode at user_escaped. */
static __attribute__((noinline)) int run_user(uint64_t rip, uint64_t rflags, uint64_t usp, int sysret)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    escaped = 0;
    int r = kjmp_save(&jb);
    if (r)
        return r;
    armed = ARM_JUMP;
    register uint64_t r11_ __asm__("r11") = rflags;
    register uint64_t r12_ __asm__("r12") = UL(escape_stack) + sizeof(escape_stack);
    register uint64_t r13_ __asm__("r13") = USTACK_TOP;
    register uint64_t r14_ __asm__("r14") = user_r14;
    register uint64_t r15_ __asm__("r15") = user_r15;
    if (sysret)
        __asm__ volatile("sysretq" : : "c"(rip), "r"(r11_), "r"(r12_), "r"(r13_), "r"(r14_),
                         "r"(r15_), "b"(user_escaped) : "memory");
    else
        __asm__ volatile("pushq %[ss]\n\t"
                         "pushq %[usp]\n\t"
                         "pushq %[fl]\n\t"
                         "pushq %[cs]\n\t"
                         "pushq %[rip]\n\t"
                         "iretq"
                         : : [ss] "i"(HAKO_TRAP_USER_SS), [cs] "i"(HAKO_TRAP_USER_CS),
                           [usp] "r"(usp), [fl] "r"(rflags), [rip] "r"(rip), "r"(r12_), "r"(r13_),
                           "r"(r14_), "r"(r15_), "b"(user_escaped)
                         : "memory");
    armed = ARM_OFF;
    return 0;
}

/* A user program that must fault in user mode at insn with vector (ANY: #GP, or the #PF
 * QEMU's TCG raises for an iretq's stack read under SMAP, ABI.md 20.4), nothing emulated. */
static int user_faults(const char *desc, uint64_t entry, uint64_t insn, uint64_t vector)
{
    int r = run_user(UOFF(entry), 2, USTACK_TOP, 0);
    int vector_ok = vector == ANY ? seen.vector == 13 || seen.vector == 14 : seen.vector == vector;
    int ok = XTF_CHECK(r == 1 && vector_ok && seen.cs == HAKO_TRAP_USER_CS &&
                           (seen.flags & HAKO_TF_USER) && seen.rip == UOFF(insn),
                       "[attack 17] user %s: came back %d (escaped %d) vector %lu cs %lx rip %lx "
                       "(want %lx) error %lx", desc, r, escaped, seen.vector, seen.cs, seen.rip,
                       UOFF(insn), seen.error_code);
    kprintf("[attack 17] user-mode %s -> %s in user mode %s\n", desc,
            vector == 13 ? "#GP" : "a fault", ok ? "ok" : "FAILED");
    __asm__ volatile("cli" ::: "memory");
    return ok;
}

/* 17: user mode: no privileged instruction or page-table store is emulated for it, and
 * the rflags and rsp it is entered with cannot hurt the hypervisor. */
static void attack_user(void)
{
    cur_attack = 17;
    uint64_t uroot = mm_new_root(), code = pfn_alloc(), stack = pfn_alloc();
    if (!uroot || !code || !stack)
        die("out of memory for user mode");
    memcpy(pfn_to_va(code), user_code_start, UL(user_code_end) - UL(user_code_start));
    uint64_t ul1;
    if (mm_map(uroot, UCODE, code, PTE_USER_RX) || mm_map(uroot, USTACK, stack, PTE_USER_RW) ||
        mm_flush() || !mm_table(uroot, UCODE, 1, &ul1) ||
        mm_map(uroot, UPT, ul1, F_P | F_U | nx) || mm_flush())
        die("cannot build the user address space");
    if (privops->set_user_context(UL(user_kstack) + sizeof(user_kstack), uroot))
        die("cannot load the user root");
    if (!XTF_CHECK(rdmsr(HAKO_MSR_USER_ROOT) == mfn_of(uroot) << 12, "[attack 17] user root %lx",
                   rdmsr(HAKO_MSR_USER_ROOT)))
        return;
    XTF_EXPECT_RC(audit(), 0, "[attack 17] audit with a user root");
    /* The loaded user root is a table now: its hypervisor slots are refused too. */
    refused_store("user root: L4 slot 256 cleared", ST_MOV, &tab(uroot)[256], 0);

    /* Hostile rflags into user mode, by iretq and by sysretq. */
    for (int sysret = 0; sysret < 2; sysret++) {
        int r = run_user(UOFF(sysret ? user_pushf_sysret : user_pushf), HOSTILE_RFLAGS,
                         USTACK_TOP, sysret);
        int ok = XTF_CHECK(r == 1 && seen.vector == HAKO_TRAP_SYSCALL &&
                               seen.rax == (RF_ARITH | 0x202),
                           "[attack 17] %s to user mode with rflags %lx: back %d vector %lu, user "
                           "pushf %lx (want %lx)", sysret ? "sysretq" : "iretq",
                           UL(HOSTILE_RFLAGS), r, seen.vector, seen.rax, UL(RF_ARITH | 0x202));
        kprintf("[attack 17] %s into user mode with IOPL 3, NT... -> user sees IOPL 0 %s\n",
                sysret ? "sysretq" : "iretq", ok ? "ok" : "FAILED");
        __asm__ volatile("cli" ::: "memory");
    }
    uint64_t lstar = rdmsr(HAKO_MSR_LSTAR);
    struct pseudo_desc idt_before;
    sidt(&idt_before);
    arm(1);
    __asm__ volatile("outb %%al, %%dx" : : "a"(0x11), "d"(HAKO_TRAP_UART_BASE + 7) : "memory");
    expect_no_fault("kernel: UART scratch = 0x11");
    user_faults("sti", UL(user_sti), UL(user_sti), 13);
    user_faults("cli", UL(user_cli_pt), UL(user_cli_pt), 13);
    user_faults("wrmsr LSTAR = 0", UL(user_wrmsr), UL(user_wrmsr) + 9, 13);
    XTF_CHECK(rdmsr(HAKO_MSR_LSTAR) == lstar, "[attack 17] user wrmsr changed LSTAR");
    user_faults("mov to cr3", UL(user_cr3), UL(user_cr3) + 3, 13);
    XTF_CHECK(READ_CR(3) == root_mfn << 12, "[attack 17] user mov to cr3 changed the root");
    user_faults("out to the UART", UL(user_out), UL(user_out) + 6, 13);
    uint8_t scratch;
    __asm__ volatile("inb %%dx, %%al" : "=a"(scratch) : "d"(HAKO_TRAP_UART_BASE + 7));
    XTF_CHECK(scratch == 0x11, "[attack 17] user out reached the UART (scratch %x)", scratch);
    user_faults("lidt", UL(user_lidt), UL(user_lidt) + 4, 13);
    XTF_CHECK(idt_is_live(), "[attack 17] user lidt changed the IDT");
    user_faults("hlt", UL(user_hlt), UL(user_hlt), 13);
    user_faults("iretq with a kernel-mode frame", UL(user_iretq), UL(user_iretq_insn), ANY);
    user_faults("sysretq", UL(user_sysretq), UL(user_sysretq_insn), 13);
    /* A process storing into a page table it can read: never emulated, even for a
     * value the kernel could store (its code page, writable). */
    unsigned ci = mm_index(UCODE, 1);
    uint64_t code_entry = tab(ul1)[ci];
    user_r14 = UPT + ci * 8;
    user_r15 = leaf(code, F_P | F_U | F_W);
    int stored = user_faults("8-byte store into its page table", UL(user_pt_store),
                             UL(user_pt_store), 14);
    XTF_CHECK(stored && seen.error_code == PF_RO_WRITE && seen.fault_addr == user_r14 &&
                  tab(ul1)[ci] == code_entry,
              "[attack 17] user page-table store: error %lx addr %lx, entry %lx -> %lx",
              seen.error_code, seen.fault_addr, code_entry, tab(ul1)[ci]);
    user_r14 = user_r15 = 0;
    {
        int r = run_user(UOFF(user_pushf), 2, 0x0000800000001000ull, 0);   /* push: #SS */
        int ok = XTF_CHECK(r == 1 && (seen.vector == 12 || seen.vector == 13) &&
                               seen.cs == HAKO_TRAP_USER_CS && seen.rip == UOFF(user_pushf),
                           "[attack 17] user mode with a non-canonical rsp: back %d vector %lu cs "
                           "%lx rip %lx", r, seen.vector, seen.cs, seen.rip);
        kprintf("[attack 17] iretq to user mode with a non-canonical rsp -> its push faults in "
                "user mode %s\n", ok ? "ok" : "FAILED");
        __asm__ volatile("cli" ::: "memory");
    }
    refused_iretq("to user mode with a non-canonical rip", 0x0000800000000000ull,
                  HAKO_TRAP_USER_CS, 2, HAKO_TRAP_USER_SS);
    int t = try_sysretl(UOFF(user_pushf), 2);
    int ok32 = XTF_CHECK(t && seen.vector == 13 && seen.cs == HAKO_TRAP_KERNEL_CS,
                         "[attack 17] sysretl (to compatibility mode) with a user root: faulted %d "
                         "vector %lu cs %lx", t, seen.vector, seen.cs);
    kprintf("[attack 17] sysretl into 32-bit user mode -> #GP %s\n", ok32 ? "ok" : "FAILED");
    t = try_sysretq(HAKO_HV_VA_START, 2);
    XTF_CHECK(t && seen.vector == 13 && seen.cs == HAKO_TRAP_KERNEL_CS,
              "[attack 17] sysretq to a hypervisor rcx with a user root: %d vector %lu", t,
              seen.vector);
    if (privops->set_user_context(0, 0))
        die("cannot drop the user root");
    XTF_CHECK(rdmsr(HAKO_MSR_USER_ROOT) == 0, "[attack 17] the user root is still loaded");
    alive();
}

/* ---- 20: the paravirtual back doors ------------------------------------------------------- */

long pv_iret_from(void *frame);

/* long pv_iret_from(frame): the iret hypercall with rsp = frame; back here only when it
 * returns (with its result). */
__asm__(".pushsection .text\n"
        ".globl pv_iret_from\n"
        "pv_iret_from:\n"
        "    pushq %rbx\n"
        "    movq %rsp, %rbx\n"
        "    movq %rdi, %rsp\n"
        "    movl $9, %eax\n"
        "    syscall\n"
        "    movq %rbx, %rsp\n"
        "    popq %rbx\n"
        "    ret\n"
        ".popsection\n");
_Static_assert(HAKO_HC_iret == 9, "the iret number used above");

static long pv_rc;
static struct hako_trap_frame pv_frame __attribute__((aligned(16)));

/* The iret hypercall on a frame that would resume right here in kernel mode. */
static void do_pv_iret(uint64_t unused)
{
    (void)unused;
    pv_rc = pv_iret_from(&pv_frame);
}

/* 20: every hypercall trap mode replaces by an instruction returns -ENOSYS and does
 * nothing, even with arguments a PV domain would have had accepted. */
static void attack_pv_calls(void)
{
    cur_attack = 20;
    uint64_t x = new_table_frame();
    static struct hako_mmuext_op pin __attribute__((aligned(8)));
    pin = (struct hako_mmuext_op){ .cmd = HAKO_MMUEXT_PIN_L1_TABLE, .arg1 = mfn_of(x) };
    static struct hako_trap_info same[1] __attribute__((aligned(8)));
    same[0] = (struct hako_trap_info){ .vector = 3, .handler = UL(guest_trap_entry) };
    static const char *const names[] = { "mmuext_op PIN_L1 of a clean frame",
        "update_va_mapping mapping a data page", "set_trap_table", "stack_switch",
        "set_callback", "set_timer_op ONESHOT 0", "multicall of nothing", "async_op TEARDOWN" };
    long rcs[] = {
        HC3(mmuext_op, &pin, 1, 0),
        HC3(update_va_mapping, SLOT_VA(SLOT_ALIVE), leaf(alive_pfn, F_P | F_U), HAKO_UVMF_INVLPG),
        HC3(set_trap_table, same, 1, 0),
        HC3(stack_switch, UL(user_kstack) + sizeof(user_kstack), 0, 0),
        HC3(set_callback, HAKO_CALLBACK_SYSCALL, UL(guest_trap_entry), 0),
        HC3(set_timer_op, HAKO_TIMER_ONESHOT, 0, 0),
        HC3(multicall, 0, 0, 0),
        HC3(async_op, HAKO_ASYNC_TEARDOWN, 0, 0),
    };
    for (unsigned i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
        int ok = XTF_EXPECT_RC(rcs[i], -HAKO_ENOSYS, what("[attack 20] %s", names[i]));
        kprintf("[attack 20] %s -> -ENOSYS %s\n", names[i], ok ? "ok" : "FAILED");
    }
    XTF_CHECK(*L1E(SLOT_ALIVE) == 0, "[attack 20] update_va_mapping mapped the page");
    pv_frame = (struct hako_trap_frame){ .rip = UL(user_escaped), .cs = HAKO_GUEST_CS64,
                                         .rflags = 0x202, .rsp = UL(escape_stack) + sizeof(escape_stack),
                                         .ss = HAKO_GUEST_DS };
    pv_rc = 0;
    escaped = 0;
    int t = probe(do_pv_iret, 0);
    int ok = XTF_CHECK(!t && !escaped && pv_rc == -HAKO_ENOSYS,
                       "[attack 20] the iret hypercall: faulted %d, escaped %d, rc %ld", t, escaped,
                       pv_rc);
    kprintf("[attack 20] the iret hypercall -> -ENOSYS %s\n", ok ? "ok" : "FAILED");
    alias_writable(x, "[attack 20] the frame PIN named is not pinned");
    alive();
}

/* ---- 21: events through a trap gate ------------------------------------------------------- */

/* 21: gate 32 may be a trap gate, but an event entering through it still clears the
 * virtual IF (else every pending event would nest on the kernel stack). */
static void attack_event_trap_gate(void)
{
    cur_attack = 21;
    static struct hako_evtchn op __attribute__((aligned(8)));
    op = (struct hako_evtchn){ .virq = HAKO_VIRQ_DEBUG };
    if (!XTF_EXPECT_RC(HC3(event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, &op, 0), 0,
                       "[attack 21] bind the debug virq"))
        return;
    copy_idt();
    hostile_idt[HAKO_TRAP_EVENT_VECTOR].attr = 0x8F;
    lidt_armed(&pd);
    if (!expect_no_fault("lidt: the event gate a trap gate"))
        return;
    unsigned before = events_seen;
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_RAISE_VIRQ, 0, 0), 0, "[attack 21] raise the debug virq");
    XTF_CHECK(events_seen == before, "[attack 21] an event came in with the virtual IF clear");
    __asm__ volatile("sti" ::: "memory");       /* the pending event is taken at once */
    __asm__ volatile("cli" ::: "memory");
    int ok = XTF_CHECK(events_seen == before + 1 && event_entry_mask == 1,
                       "[attack 21] event through a trap gate: %u taken, upcall mask %u on entry",
                       events_seen - before, event_entry_mask);
    kprintf("[attack 21] an event through a trap-type gate 32 -> virtual IF cleared %s\n",
            ok ? "ok" : "FAILED");
    pd = live_idt;
    lidt_armed(&pd);
    expect_no_fault("lidt: back to the kernel's IDT");
    alive();
}

/* ---- 22: hostile trap-mode domUs ---------------------------------------------------------- */

static struct hako_domctl_info dinfo __attribute__((aligned(8)));
static char domu_line[64];

/* 22: trap-mode domUs doing what their command line says must each end as documented:
 * a fault with no IDT crashes only that domain; the fuzzer's audit stays clean; the
 * unprivileged calls are refused. Each is destroyed, and no frame leaks. */
static void attack_trap_domus(void)
{
    cur_attack = 22;
    if (!domu_image_start) {
        xtf_skip("no domU image linked: attack 22 not run");
        return;
    }
    static struct hako_evtchn op __attribute__((aligned(8)));
    op = (struct hako_evtchn){ .virq = HAKO_VIRQ_DOM_EXC };
    if (!XTF_EXPECT_RC(HC3(event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, &op, 0), 0,
                       "[attack 22] bind VIRQ_DOM_EXC"))
        return;
    uint32_t exc_port = op.port;
    struct hako_shared_info *sh = (struct hako_shared_info *)si->shared_info_va;
    long free0 = HC3(debug_op, HAKO_DEBUG_FREE_FRAMES, 0, 0);
    static const struct { const char *cmdline; int crash; const char *name; } domus[] = {
        { "crash privops=trap", 1, "a page fault with no IDT" },
        { "fuzz seed=11 n=3000 privops=trap", -1, "3000 hostile hypercalls" },
        { "foreign privops=trap", 0, "mmu_update FOREIGN onto dom0" },
        { "domctl privops=trap", 0, "domain control" },
    };
    for (unsigned i = 0; i < sizeof(domus) / sizeof(domus[0]); i++) {
        memset(&create_req, 0, sizeof(create_req));
        ksnprintf(domu_line, sizeof(domu_line), "%s", domus[i].cmdline);
        create_req.image_va = UL(domu_image_start);
        create_req.image_len = (uint64_t)(domu_image_end - domu_image_start);
        create_req.mem_pages = 256;
        create_req.cmdline_va = UL(domu_line);
        ksnprintf(create_req.name, sizeof(create_req.name), "hostile%u", i);
        long d = domctl(HAKO_DOMCTL_CREATE, UL(&create_req));
        if (!XTF_CHECK(d > 0, "[attack 22] create \"%s\": %ld (%s)", domus[i].cmdline, d,
                       xtf_errname(d)))
            continue;
        int stopped = dom_wait_stopped(sh, exc_port, &dinfo, (unsigned)d);
        int crashed = stopped && dinfo.state == HAKO_DOMSTATE_CRASHED;
        int clean = stopped && dinfo.state == HAKO_DOMSTATE_SHUTDOWN && dinfo.shutdown_code == 0;
        int ok = domus[i].crash > 0 ? crashed : domus[i].crash == 0 ? clean : crashed || clean || !stopped;
        XTF_CHECK(ok, "[attack 22] trap-mode domU \"%s\": stopped %d state %u code %u",
                  domus[i].cmdline, stopped, dinfo.state, dinfo.shutdown_code);
        kprintf("[attack 22] trap-mode domU, %s -> %s %s\n", domus[i].name,
                domus[i].crash > 0 ? "crashed" : domus[i].crash == 0 ? "refused, exit 0"
                                                                      : "audit clean",
                ok ? "ok" : "FAILED");
        XTF_EXPECT_RC(domctl(HAKO_DOMCTL_DESTROY, UL(d)), 0, what("[attack 22] destroy \"%s\"",
                                                                 domus[i].cmdline));
    }
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_FREE_FRAMES, 0, 0), free0,
                  "[attack 22] every domU frame is free again");
    alive();
}

/* The attacks in order, each followed by alive(); a clean audit at the end. */
void test_main(const struct hako_start_info *start)
{
    si = start;
    p2m = (const uint64_t *)si->p2m_va;
    vcpu = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    if (!XTF_CHECK(strncmp(privops->name, "trap", 5) == 0, "built with the trap backend (%s)",
                   privops->name))
        return;
    static struct hako_machphys_mapping mm;
    static struct hako_version_info vi;
    if (!XTF_EXPECT_RC(HC3(memory_op, HAKO_MEM_MACHPHYS_MAPPING, &mm, 0), 0, "MACHPHYS_MAPPING") ||
        !XTF_EXPECT_RC(HC3(version, HAKO_VERSION_INFO, &vi, 0), 0, "version INFO"))
        return;
    m2p_entries = mm.m2p_entries;
    nx = (vi.features & HAKO_FEAT_NX) ? HAKO_PTE_NX : 0;
    if (owned(HV_IMAGE_MFN))
        die("the guest owns mfn 0x100; the test assumes it is the hypervisor's");
    foreign_mfn = HV_IMAGE_MFN + 1;
    for (uint64_t m = m2p_entries - 1; m > HV_IMAGE_MFN; m--)
        if (M2P[m] == HAKO_M2P_INVALID) {
            foreign_mfn = m;
            break;
        }
    mm_init(si);
    struct hako_trap_info t[32];
    for (unsigned v = 0; v < 32; v++)
        t[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    XTF_EXPECT_RC(privops->set_trap_table(t, 32), 0, "install the IDT (lidt)");
    XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "LSTAR");
    XTF_EXPECT_RC(privops->set_event_entry(UL(guest_trap_entry)), 0, "event gate");
    __asm__ volatile("cli" ::: "memory");
    XTF_EXPECT_RC(audit(), 0, "audit at boot");
    scratch_init();
    XTF_EXPECT_RC(audit(), 0, "audit after building the scratch area");
    attack_own_tables_writable();
    attack_not_owned();
    attack_bad_bits();
    attack_large_pages();
    attack_hv_slots();
    attack_loops();
    attack_built_tables();
    attack_store_forms();
    attack_cmpxchg();
    attack_stale_tlb();
    attack_cr3();
    attack_msrs();
    attack_invlpg_cr();
    attack_lidt();
    attack_gdt_ltr();
    attack_memory_operands();
    attack_iret_kernel();
    attack_user();
    attack_other_domain();
    attack_pv_calls();
    attack_event_trap_gate();
    attack_trap_domus();
    cur_attack = 99;
    alive();
    XTF_EXPECT_RC(audit(), 0, "final audit");
}
