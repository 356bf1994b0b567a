/*
 * tests/xtf/test-trap.c: trap-and-emulate mode (ABI.md "Trap-and-emulate mode"). Booted
 * with privops=trap, so the hypervisor runs this kernel as a trap-mode domain and the
 * framework already reached here through lgdt, ltr, lidt and the emulated UART. Each
 * emulated instruction is checked to do what it should, and each refused form to give
 * the documented fault (the original #GP or #PF, caught by the kernel's own IDT gate):
 *   flags     cli/sti move the upcall mask; sti; hlt takes a pending event
 *   cr        mov from cr0/cr2/cr3/cr4/cr8; mov to cr3 (same table: a flush); writes that
 *             change cr0/cr4/cr8, a cr3 with reserved bits or not an L4 -> #GP
 *   msr       EFER/PAT/LSTAR/SFMASK/USER_ROOT read back; unknown MSRs, a changed EFER,
 *             a non-canonical LSTAR -> #GP; the TSC deadline fires the timer virq
 *   io        the UART's scratch and line-status registers; other ports, wide accesses
 *   desc      with UMIP, sidt/sgdt/str/smsw are emulated and give back what was loaded;
 *             without it (XTF-CPUS max,-umip) they run natively and show the
 *             hypervisor's tables, TSS and CR0, counting nothing; lidt with a bad gate,
 *             ltr of a non-TSS selector, lldt of a non-null selector -> #GP
 *   pte       plain stores into a page table (mov, xchg, cmpxchg) map and unmap a page;
 *             a store that maps a page table writable, or a hypervisor frame (its image
 *             at 1 MiB, its table in an L4 hypervisor slot, machine frame 1), is the
 *             guest's #PF and changes nothing
 *   decode    a 16-byte prefix run is #GP; 14 prefixes and cli (15 bytes) is emulated;
 *             a privileged instruction (mov from cr3, out) whose bytes run from the end of
 *             a mapped page into an unmapped one is the CPU's fetch #PF at the unmapped
 *             page (not looked at, not counted), or where the CPU raises #GP first
 *             (QEMU's TCG for mov from crN) a refused fetch: the #GP(0), counted as
 *             refused; never emulated. A cli that is the last byte of such a page is
 *             emulated (the fetch stops at the page end)
 *   cpuid     with HAKO_FEAT_CPUID_EMULATED (CPUID faulting): each cpuid is one emulated
 *             instruction and shows hako's view (hypervisor bit set; XSAVE, AVX, VMX,
 *             PCID, x2APIC, PGE, APIC, MTRR, SEP, FSGSBASE, SMEP, SMAP, UMIP clear; one
 *             CPU; leaves past the maximum and 0xD read 0); without it cpuid runs
 *             natively (no counter moves) and the view checks are reported as skipped
 *   sensitive the rows of ABI.md 20.4: pushf shows IF 1 with the virtual IF clear; popf
 *             of IF 0 changes neither; mov from cs/ss shows the real selectors; sldt is
 *             #GP with UMIP, 0 without; swapgs is #GP; rdtsc (and rdtscp where cpuid
 *             has it) runs; an iretq to the real ring-3 selectors does not touch the
 *             virtual IF (under TCG with SMAP it is a refused #PF instead)
 *   counters  GETINFO of itself: mode trap, and each kind of emulated[] moves by exactly
 *             the instructions run between two reads (refusals and the iretq of the
 *             fault handler included); slots past HAKO_EMUL_KINDS stay 0
 * and the hypervisor's audit of the domain's frames is clean at the end.
 * XTF-ENVS: trap
 * XTF-CPUS: max max,-umip max,-smap
 */
#include "framework.h"

#include <hako/domctl.h>
#include <hako/events.h>
#include <hako/trapmode.h>

#include "mm.h"
#include "privops.h"
#include "trap.h"

#define HC3(n, a, b, c) hako_hypercall3(HAKO_HC_##n, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c))
#define UL(x) ((uint64_t)(x))

const char test_title[] = "trap-and-emulate mode";

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);

static const struct hako_start_info *boot;
static struct hako_vcpu_info *vcpu;

/* ---- catching faults ------------------------------------------------------------------ */

static volatile int armed;
static volatile uint64_t skip;          /* bytes to skip over the faulting instruction */
static volatile uint64_t resume_at;     /* else, when set: where to resume instead */
static struct hako_trap_frame seen;
static volatile unsigned events_seen;

void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    if (f->vector == HAKO_TRAP_EVENT) {         /* take every pending port */
        struct hako_shared_info *sh = (struct hako_shared_info *)boot->shared_info_va;
        events_seen++;
        __atomic_store_n(&vcpu->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&vcpu->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        for (unsigned i = 0; i < HAKO_NR_EVENT_CHANNELS / 64; i++)
            __atomic_store_n(&sh->evtchn_pending[i], 0, __ATOMIC_SEQ_CST);
        return;
    }
    if (armed) {
        seen = *f;
        armed = 0;
        f->rip = resume_at ? resume_at : f->rip + skip;
        resume_at = 0;
        return;
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx addr %lx\n", f->vector,
            f->error_code, f->rip, f->fault_addr);
    xtf_error("unexpected exception");
    kprintf("%u checks, %u failed\nTest result: ERROR\n", xtf_checks, xtf_failures);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, 2);
}

/* Arm for one fault of an instruction `len` bytes long. */
static void arm(uint64_t len)
{
    seen = (struct hako_trap_frame){ .vector = ~0ull };
    skip = len;
    armed = 1;
}

/* Check that the armed instruction faulted with vector (and error code, unless ~0). */
static void expect_fault(const char *what_, uint64_t vector, uint64_t error)
{
    int hit = !armed && seen.vector == vector && (error == ~0ull || seen.error_code == error);
    XTF_CHECK(hit, "%s: expected vector %lu error %lx, got vector %ld error %lx", what_,
              vector, error, (long)(armed ? -1 : (long)seen.vector), seen.error_code);
    armed = 0;
}

static void expect_no_fault(const char *what_)
{
    XTF_CHECK(armed, "%s: faulted (vector %lu error %lx)", what_, seen.vector, seen.error_code);
    armed = 0;
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

#define READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
/* mov %rax, %crN is 3 bytes (0F 22 /r) */
#define WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n : : "a"((uint64_t)(v)) : "memory")

static uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "d"(port));
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "d"(port));
}

/* ---- groups --------------------------------------------------------------------------- */

/* Bind virq to a port (its events come to guest_trap). */
static void bind_virq(unsigned virq, const char *name)
{
    struct hako_evtchn op __attribute__((aligned(8))) = { .virq = virq };
    XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_event_channel_op, HAKO_EVTCHNOP_BIND_VIRQ, UL(&op)), 0,
                  what("bind the %s virq", name));
}

static void test_flags(void)
{
    bind_virq(HAKO_VIRQ_DEBUG, "debug");
    __asm__ volatile("cli" ::: "memory");
    XTF_CHECK(vcpu->evtchn_upcall_mask == 1, "cli sets the upcall mask");
    __asm__ volatile("sti" ::: "memory");
    XTF_CHECK(vcpu->evtchn_upcall_mask == 0, "sti clears the upcall mask");
    __asm__ volatile("cli" ::: "memory");
    /* An event raised while masked is taken right after sti; hlt. */
    unsigned before = events_seen;
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_RAISE_VIRQ, 0, 0), 0, "raise the debug virq");
    XTF_CHECK(events_seen == before, "a masked event is not delivered");
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    XTF_CHECK(events_seen == before + 1, "sti; hlt takes the pending event (%u)",
              events_seen - before);
}

static void test_cr(void)
{
    XTF_CHECK(READ_CR(0) == HAKO_TRAP_CR0, "cr0 reads %lx", READ_CR(0));
    XTF_CHECK(READ_CR(4) == HAKO_TRAP_CR4, "cr4 reads %lx", READ_CR(4));
    XTF_CHECK(READ_CR(8) == 0, "cr8 reads 0");
    uint64_t cr3 = READ_CR(3);
    XTF_CHECK(cr3 && !(cr3 & 0xFFF), "cr3 is a page-aligned machine address (%lx)", cr3);
    uint64_t flushes = (uint64_t)HC3(debug_op, HAKO_DEBUG_COUNTER, HAKO_COUNTER_TLB_FLUSHES, 0);
    arm(3); WRITE_CR(3, cr3); expect_no_fault("mov to cr3, the same table");
    XTF_CHECK((uint64_t)HC3(debug_op, HAKO_DEBUG_COUNTER, HAKO_COUNTER_TLB_FLUSHES, 0) > flushes,
              "reloading cr3 flushes the TLB");
    arm(3); WRITE_CR(2, 0x1234); expect_no_fault("mov to cr2");
    XTF_CHECK(READ_CR(2) == 0x1234, "cr2 reads back what was written");
    arm(3); WRITE_CR(0, HAKO_TRAP_CR0); expect_no_fault("mov to cr0 keeping its value");
    arm(3); WRITE_CR(0, HAKO_TRAP_CR0 & ~(1ull << 16)); expect_fault("mov to cr0 clearing WP", 13, 0);
    arm(3); WRITE_CR(4, HAKO_TRAP_CR4 | (1ull << 7)); expect_fault("mov to cr4 setting PGE", 13, 0);
    arm(4); WRITE_CR(8, 1); expect_fault("mov to cr8 = 1", 13, 0);
    arm(3); WRITE_CR(3, cr3 | (1ull << 63)); expect_fault("mov to cr3 with bit 63", 13, 0);
    /* A frame of ours that is not an L4 table (this kernel's own data page). */
    uint64_t pfn = ((uint64_t)&seen - boot->virt_base) >> 12;
    uint64_t maddr = ((const uint64_t *)boot->p2m_va)[pfn] << 12;
    arm(3); WRITE_CR(3, maddr); expect_fault("mov to cr3 of a data page", 13, 0);
    XTF_CHECK(READ_CR(3) == cr3, "a refused cr3 leaves the table loaded");
}

static void test_msr(void)
{
    uint64_t efer = rdmsr(HAKO_MSR_EFER);
    XTF_CHECK((efer & 0x500) == 0x500, "EFER shows LME and LMA (%lx)", efer);
    arm(2); wrmsr(HAKO_MSR_EFER, efer); expect_no_fault("wrmsr EFER with its value");
    arm(2); wrmsr(HAKO_MSR_EFER, efer & ~1ull); expect_fault("wrmsr EFER clearing SCE", 13, 0);
    uint64_t pat = rdmsr(HAKO_MSR_PAT);
    arm(2); wrmsr(HAKO_MSR_PAT, pat ^ 1); expect_fault("wrmsr PAT changing it", 13, 0);
    uint64_t lstar = rdmsr(HAKO_MSR_LSTAR);
    XTF_CHECK(lstar != 0, "LSTAR holds the syscall entry the backend set");
    arm(2); wrmsr(HAKO_MSR_LSTAR, 0x8000000000000000ull); expect_fault("wrmsr LSTAR non-canonical", 13, 0);
    XTF_CHECK(rdmsr(HAKO_MSR_LSTAR) == lstar, "a refused LSTAR keeps the old one");
    arm(2); wrmsr(HAKO_MSR_SFMASK, 0x700); expect_no_fault("wrmsr SFMASK");
    XTF_CHECK(rdmsr(HAKO_MSR_SFMASK) == 0x700, "SFMASK reads back");
    wrmsr(HAKO_MSR_SFMASK, 0x40700);
    arm(2); (void)rdmsr(0x1B); expect_fault("rdmsr APIC_BASE (not emulated)", 13, 0);
    arm(2); wrmsr(0xC0000100, 0); expect_fault("wrmsr FS_BASE (not emulated)", 13, 0);
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, 0x123); expect_fault("wrmsr USER_ROOT unaligned", 13, 0);
    /* The TSC deadline: a deadline in the past fires the timer virq at once. */
    bind_virq(HAKO_VIRQ_TIMER, "timer");
    unsigned before = events_seen;
    privops->set_timer(privops->time_ns() + 2000000);       /* 2 ms */
    for (int i = 0; i < 100 && events_seen == before; i++)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    XTF_CHECK(events_seen > before, "the TSC-deadline timer fired");
    XTF_CHECK(rdmsr(HAKO_MSR_TSC_DEADLINE) != 0, "the deadline reads back");
}

static void test_io(void)
{
    uint16_t base = HAKO_TRAP_UART_BASE;
    arm(1); outb(base + 7, 0x5A); expect_no_fault("out to the UART scratch register");
    XTF_CHECK(inb(base + 7) == 0x5A, "the scratch register reads back");
    XTF_CHECK(inb(base + 5) & 0x20, "LSR: transmitter empty");
    arm(1); (void)inb(0x80); expect_fault("in from port 0x80", 13, 0);
    arm(1); outb(0x3F7, 0); expect_fault("out to port 0x3F7", 13, 0);
    arm(1);
    __asm__ volatile("inl %%dx, %%eax" : : "d"(base) : "rax");
    expect_fault("a 4-byte in from the UART", 13, 0);
}

/* GETINFO of this domain (dom0) into *info; the domctl's result. */
static long getinfo_self(struct hako_domctl_info *info)
{
    memset(info, 0xA5, sizeof(*info));
    info->domid = 0;
    return hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, UL(info));
}

static struct hako_domctl_info info_a __attribute__((aligned(8))), info_b __attribute__((aligned(8)));

static struct __attribute__((packed)) { uint16_t limit; uint64_t base; } dt;
static struct { uint64_t lo, hi; } bad_idt[33] __attribute__((aligned(16)));

/* The backend loads arch/x86/cpu.c's tables: 36 IDT gates, 10 GDT descriptors. */
/* The CPU has UMIP (so hako sets CR4.UMIP): told apart by what sidt shows, since a
 * cpuid view may hide the bit. Set by test_desc. */
static int umip;

static void test_desc(void)
{
    uint16_t tr = 0;
    uint64_t msw = 0;
    __asm__ volatile("sidt %0" : "=m"(dt));
    umip = !(dt.base >= HAKO_HV_VA_START && dt.base < HAKO_HV_VA_END);
    if (umip) {
        XTF_CHECK(dt.base && dt.limit == 36 * 16 - 1, "sidt: the IDT loaded (%lx, %u)", dt.base,
                  dt.limit);
        __asm__ volatile("sgdt %0" : "=m"(dt));
        XTF_CHECK(dt.base && dt.limit == 10 * 8 - 1, "sgdt: the GDT loaded (%lx, %u)", dt.base,
                  dt.limit);
        __asm__ volatile("str %0" : "=r"(tr));
        XTF_CHECK(tr == 0x18, "str: the TSS selector loaded (%x)", tr);
        __asm__ volatile("smsw %0" : "=r"(msw));
        XTF_CHECK(msw == HAKO_TRAP_CR0, "smsw: cr0 (%lx)", msw);
        static volatile uint16_t msw16[2] = { 0xAAAA, 0xAAAA };
        __asm__ volatile("smsw %0" : "=m"(msw16[0]));
        XTF_CHECK(msw16[0] == (HAKO_TRAP_CR0 & 0xFFFF) && msw16[1] == 0xAAAA,
                  "smsw to memory: the low 16 bits of cr0 (%x, next %x)", msw16[0], msw16[1]);
    } else {                    /* native: the hypervisor's own, nothing emulated */
        kprintf("note: no UMIP: sgdt/sidt/str/smsw run natively\n");
        XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before sgdt/str/smsw");
        __asm__ volatile("sgdt %0" : "=m"(dt));
        XTF_CHECK(dt.base >= HAKO_HV_VA_START && dt.base < HAKO_HV_VA_END && dt.limit != 10 * 8 - 1,
                  "no UMIP: sgdt shows the hypervisor's GDT (%lx, %u)", dt.base, dt.limit);
        __asm__ volatile("str %0" : "=r"(tr));
        XTF_CHECK(tr == 0x30, "no UMIP: str shows the hypervisor's TSS (%x)", tr);
        __asm__ volatile("smsw %0" : "=r"(msw));
        XTF_CHECK((msw & 0x1) && msw != HAKO_TRAP_CR0, "no UMIP: smsw shows the real CR0 (%lx)", msw);
        XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after sgdt/str/smsw");
        XTF_CHECK(info_b.emulated[HAKO_EMUL_DESC] == info_a.emulated[HAKO_EMUL_DESC],
                  "no UMIP: nothing counted as emulated (%lu)",
                  info_b.emulated[HAKO_EMUL_DESC] - info_a.emulated[HAKO_EMUL_DESC]);
    }
    /* A gate with a selector other than the kernel's: refused, the old IDT stays. */
    bad_idt[13].lo = 0x00008E0000100000ull | (UL(guest_trap_entry) & 0xFFFF);
    bad_idt[13].hi = UL(guest_trap_entry) >> 32;
    dt.limit = sizeof(bad_idt) - 1;
    dt.base = UL(bad_idt);
    arm(7);     /* lidt with a rip-relative operand: 0F 01 1D disp32 */
    __asm__ volatile("lidt dt(%%rip)" ::: "memory");
    expect_fault("lidt with a gate naming selector 0x10", 13, 0);
    /* ltr of the kernel code descriptor (not a TSS), lldt of a non-null selector. */
    arm(3); __asm__ volatile("ltr %%ax" : : "a"(0x08)); expect_fault("ltr of a code descriptor", 13, 0);
    arm(3); __asm__ volatile("lldt %%ax" : : "a"(0x18)); expect_fault("lldt 0x18", 13, 0);
    arm(3); __asm__ volatile("lldt %%ax" : : "a"(0)); expect_no_fault("lldt 0 (no LDT)");

}

static void test_pte(void)
{
    uint64_t root = mm_kernel_root();
    static volatile uint64_t probe_page[512] __attribute__((aligned(4096)));
    uint64_t va;
    uint64_t pfn = ((uint64_t)probe_page - boot->virt_base) >> 12;
    probe_page[0] = 0xC0FFEE;
    /* Map it with mm_map: the backend writes the entries with plain stores. */
    va = boot->virt_base + (boot->nr_mapped_pages + 64) * PAGE_SIZE;
    XTF_EXPECT_RC(mm_map(root, va, pfn, PTE_KERNEL_RW), 0, "mm_map with trapped stores");
    XTF_EXPECT_RC(mm_flush(), 0, "mm_flush");
    XTF_CHECK(*(volatile uint64_t *)va == 0xC0FFEE, "the store-mapped page shows the frame");
    uint64_t l1;
    XTF_CHECK(mm_table(root, va, 1, &l1), "the L1 table of the probe address exists");
    volatile uint64_t *e = (volatile uint64_t *)pfn_to_va(l1) + mm_index(va, 1);
    uint64_t good = *e;
    /* xchg: unmap, and get the old entry back. */
    uint64_t v = 0;
    __asm__ volatile("xchgq %0, %1" : "+r"(v), "+m"(*e) : : "memory");
    XTF_CHECK(v == good && *e == 0, "xchg into the table swaps the entry (%lx)", v);
    /* cmpxchg: a failing compare writes nothing, a matching one maps again. */
    uint64_t expect = 1, newv = good;
    unsigned char zf;
    __asm__ volatile("lock cmpxchgq %3, %1; setz %2"
                     : "+a"(expect), "+m"(*e), "=q"(zf) : "r"(newv) : "memory", "cc");
    XTF_CHECK(!zf && expect == 0 && *e == 0, "cmpxchg with a wrong old value writes nothing");
    expect = 0;
    __asm__ volatile("lock cmpxchgq %3, %1; setz %2"
                     : "+a"(expect), "+m"(*e), "=q"(zf) : "r"(newv) : "memory", "cc");
    XTF_CHECK(zf && *e == good, "cmpxchg with the right old value maps the page again");
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
    XTF_CHECK(*(volatile uint64_t *)va == 0xC0FFEE, "mapped again after invlpg");
    /* Refused: map the L1 table itself writable, or a frame that is not ours. */
    uint64_t l1_maddr = ((const uint64_t *)boot->p2m_va)[l1] << 12;
    arm(3);     /* mov %rax, (%rdx) = 48 89 02 */
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(l1_maddr | PTE_KERNEL_RW), "d"(e) : "memory");
    expect_fault("a store mapping a page table writable", 14, ~0ull);
    XTF_CHECK(*e == good, "the refused store changed nothing");
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0x1000ull | PTE_KERNEL_RW), "d"(e) : "memory");
    expect_fault("a store mapping machine frame 1 (not ours)", 14, ~0ull);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0x100000ull | PTE_KERNEL_RO), "d"(e) : "memory");
    expect_fault("a store mapping the hypervisor's image (machine frame 0x100)", 14, ~0ull);
    uint64_t hv_table = ((const uint64_t *)pfn_to_va(root))[HAKO_HV_L4_FIRST];
    XTF_CHECK(hv_table & HAKO_PTE_P, "L4 slot %u holds a hypervisor table (%lx)", HAKO_HV_L4_FIRST,
              hv_table);
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)"
                     : : "a"((hv_table & HAKO_PTE_ADDR) | PTE_KERNEL_RO), "d"(e) : "memory");
    expect_fault("a store mapping a hypervisor page table", 14, ~0ull);
    arm(2);     /* mov %eax, (%rdx) = 89 02 */
    __asm__ volatile("movl %%eax, (%%rdx)" : : "a"(0), "d"(e) : "memory");
    expect_fault("a 4-byte store into a page table", 14, ~0ull);
    XTF_CHECK(*e == good, "the refused stores changed nothing");
    XTF_EXPECT_RC(mm_unmap(root, va), 0, "unmap the probe address");
    XTF_EXPECT_RC(mm_flush(), 0, "mm_flush");
}

static void test_decode(void)
{
    /* 15 operand-size prefixes and cli: 16 bytes, over the limit: #GP, not emulated. */
    arm(16);
    __asm__ volatile(".rept 15; .byte 0x66; .endr; .byte 0xFA" ::: "memory");
    expect_fault("a 16-byte prefix run", 13, 0);
    /* 14 prefixes and cli: 15 bytes, the longest legal form: emulated. */
    __asm__ volatile("sti");
    arm(15);
    __asm__ volatile(".rept 14; .byte 0x66; .endr; .byte 0xFA" ::: "memory");
    expect_no_fault("cli with 14 prefixes (15 bytes)");
    XTF_CHECK(vcpu->evtchn_upcall_mask == 1, "the 15-byte cli took effect");
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#define BIT(n) (1u << (n))

static void test_cpuid(void)
{
    static struct hako_version_info vi __attribute__((aligned(8)));
    if (!XTF_EXPECT_RC(hako_hypercall2(HAKO_HC_version, HAKO_VERSION_INFO, UL(&vi)), 0, "version INFO"))
        return;
    int emulated = !!(vi.features & HAKO_FEAT_CPUID_EMULATED);
    uint32_t r[4], l0[4];
    __asm__ volatile("cli" ::: "memory");           /* nothing else counted meanwhile */
    XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before cpuid");
    arm(2); cpuid(0, 0, l0); expect_no_fault("cpuid leaf 0");
    XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after cpuid");
    uint64_t n = info_b.emulated[HAKO_EMUL_CPUID] - info_a.emulated[HAKO_EMUL_CPUID];
    XTF_CHECK(n == (uint64_t)emulated && info_b.emulated[HAKO_EMUL_REFUSED] ==
              info_a.emulated[HAKO_EMUL_REFUSED],
              "cpuid counted %lu times as emulated (CPUID_EMULATED %d)", n, emulated);
    if (!emulated) {
        kprintf("SKIP (not a failure): no CPUID faulting here: cpuid runs natively and "
                "hako's cpuid view is not checked\n");
        return;
    }
    XTF_CHECK(l0[0] >= 1 && l0[0] <= 7, "leaf 0: max basic leaf %u (at most 7)", l0[0]);
    cpuid(1, 0, r);
    XTF_CHECK(r[2] & BIT(31), "leaf 1: the hypervisor bit is set (ecx %x)", r[2]);
    uint32_t ecx_hidden = BIT(3) | BIT(5) | BIT(6) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28);
    uint32_t edx_hidden = BIT(1) | BIT(2) | BIT(9) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(7);
    XTF_CHECK(!(r[2] & ecx_hidden), "leaf 1: no MONITOR VMX SMX PCID x2APIC XSAVE OSXSAVE AVX (ecx %x)", r[2]);
    XTF_CHECK(!(r[3] & edx_hidden), "leaf 1: no VME DE APIC SEP MTRR PGE MCA MCE (edx %x)", r[3]);
    XTF_CHECK((r[3] & (BIT(0) | BIT(4) | BIT(25) | BIT(26))) == (BIT(0) | BIT(4) | BIT(25) | BIT(26)),
              "leaf 1: FPU TSC SSE SSE2 shown (edx %x)", r[3]);
    XTF_CHECK((r[1] >> 24) == 0 && ((r[1] >> 16) & 0xFF) == 1, "leaf 1: APIC ID 0, one CPU (ebx %x)", r[1]);
    cpuid(7, 0, r);
    XTF_CHECK(r[0] == 0 && !(r[1] & (BIT(0) | BIT(5) | BIT(7) | BIT(10) | BIT(16) | BIT(20))) &&
              !(r[2] & (BIT(2) | BIT(3) | BIT(16))) && r[3] == 0,
              "leaf 7: no FSGSBASE AVX2 SMEP INVPCID AVX512 SMAP UMIP PKU LA57, edx 0 (%x %x %x %x)",
              r[0], r[1], r[2], r[3]);
    cpuid(0xD, 0, r);
    XTF_CHECK(!(r[0] | r[1] | r[2] | r[3]), "leaf 0xD (XSAVE) reads 0");
    cpuid(l0[0] + 1, 0, r);
    XTF_CHECK(!(r[0] | r[1] | r[2] | r[3]), "the leaf past the maximum reads 0");
    cpuid(0x80000001u, 0, r);
    XTF_CHECK((r[3] & BIT(29)) && (r[3] & BIT(11)) && !(r[3] & BIT(26)),
              "0x80000001: long mode and syscall, no 1 GiB pages (edx %x)", r[3]);
    cpuid(0x40000000u, 0, r);
    XTF_CHECK(!(r[0] | r[1] | r[2] | r[3]), "leaf 0x40000000 reads 0");
}

static void test_counters(void)
{
    if (!XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO of itself"))
        return;
    XTF_CHECK(info_a.mode == HAKO_DOMMODE_TRAP && info_a._pad1 == 0, "mode %u (trap is %u), pad %u",
              info_a.mode, HAKO_DOMMODE_TRAP, info_a._pad1);
    XTF_CHECK(info_a.emulated[HAKO_EMUL_DESC] >= 3 && info_a.emulated[HAKO_EMUL_PORT_OUT] > 0 &&
              info_a.emulated[HAKO_EMUL_REFUSED] > 0,
              "the groups so far counted: desc %lu out %lu refused %lu",
              info_a.emulated[HAKO_EMUL_DESC], info_a.emulated[HAKO_EMUL_PORT_OUT],
              info_a.emulated[HAKO_EMUL_REFUSED]);
    /* A leaf entry to store into: the one mapping this kernel's own data. */
    uint64_t root = mm_kernel_root(), l1;
    if (!XTF_CHECK(mm_table(root, UL(&seen), 1, &l1), "the L1 table of a data page"))
        return;
    volatile uint64_t *e = (volatile uint64_t *)pfn_to_va(l1) + mm_index(UL(&seen), 1);
    uint64_t entry = *e, cr3 = READ_CR(3);
    uint64_t want[HAKO_EMUL_SLOTS] = { 0 };
    /* Events masked throughout, so nothing but what runs here is counted (no prints). */
    __asm__ volatile("cli" ::: "memory");
    XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before");
    __asm__ volatile("cli; cli" ::: "memory");                        want[HAKO_EMUL_CLI_STI] += 2;
    (void)READ_CR(0); (void)READ_CR(4);                                want[HAKO_EMUL_CR_READ] += 2;
    WRITE_CR(3, cr3);                                                  want[HAKO_EMUL_CR_WRITE] += 1;
    __asm__ volatile("invlpg (%0)" : : "r"(&seen) : "memory");         want[HAKO_EMUL_INVLPG] += 1;
    __asm__ volatile("wbinvd" ::: "memory");                           want[HAKO_EMUL_WBINVD] += 1;
    uint64_t sfmask = rdmsr(HAKO_MSR_SFMASK);                          want[HAKO_EMUL_MSR_READ] += 1;
    wrmsr(HAKO_MSR_SFMASK, sfmask);                                    want[HAKO_EMUL_MSR_WRITE] += 1;
    wrmsr(HAKO_MSR_TSC_DEADLINE, 0);  /* the #GP fast path */          want[HAKO_EMUL_MSR_WRITE] += 1;
    __asm__ volatile("sidt %0; sgdt %0" : "=m"(dt));                   want[HAKO_EMUL_DESC] += umip ? 2 : 0;
    (void)inb(HAKO_TRAP_UART_BASE + 7);                                want[HAKO_EMUL_PORT_IN] += 1;
    outb(HAKO_TRAP_UART_BASE + 7, 0x33);                               want[HAKO_EMUL_PORT_OUT] += 1;
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(entry), "d"(e) : "memory");
                                                                       want[HAKO_EMUL_PTE_STORE] += 1;
    /* A refusal: the #GP goes to guest_trap, whose return is one emulated iretq. */
    arm(2); (void)rdmsr(0x1B); expect_fault("rdmsr APIC_BASE", 13, 0);
    want[HAKO_EMUL_REFUSED] += 1;
    want[HAKO_EMUL_IRET] += 1;
    /* sti; hlt with an event pending is one hlt; the event's return another iretq. */
    unsigned before = events_seen;
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_RAISE_VIRQ, 0, 0), 0, "raise the debug virq");
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    want[HAKO_EMUL_HLT] += 1;
    want[HAKO_EMUL_IRET] += 1;
    want[HAKO_EMUL_CLI_STI] += 1;
    XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after");
    XTF_CHECK(events_seen == before + 1, "the event was taken once (%u)", events_seen - before);
    for (unsigned k = 0; k < HAKO_EMUL_SLOTS; k++) {
        uint64_t got = info_b.emulated[k] - info_a.emulated[k];
        XTF_CHECK(got == want[k], "emulated[%u] moved by %lu, expected %lu", k, got, want[k]);
    }
    for (unsigned k = HAKO_EMUL_KINDS; k < HAKO_EMUL_SLOTS; k++)
        XTF_CHECK(info_b.emulated[k] == 0, "emulated[%u] (no such kind) is %lu", k,
                  info_b.emulated[k]);
}

static void test_sensitive(void)
{
    uint64_t fl;
    __asm__ volatile("cli" ::: "memory");
    __asm__ volatile("pushfq; popq %0" : "=r"(fl));
    XTF_CHECK(fl & (1u << 9), "pushf shows the real IF (1) with the virtual IF clear (%lx)", fl);
    __asm__ volatile("sti" ::: "memory");
    __asm__ volatile("pushq %0; popfq" : : "r"(fl & ~(1ull << 9)) : "memory", "cc");
    __asm__ volatile("pushfq; popq %0" : "=r"(fl));
    XTF_CHECK((fl & (1u << 9)) && vcpu->evtchn_upcall_mask == 0,
              "popf of IF 0 changes neither IF (%lx) nor the virtual IF (mask %u)", fl,
              vcpu->evtchn_upcall_mask);
    __asm__ volatile("cli" ::: "memory");
    uint16_t cs, ss;
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
    XTF_CHECK(cs == HAKO_GUEST_CS64 && ss == HAKO_GUEST_DS,
              "mov from cs/ss shows the real selectors (%x %x)", cs, ss);
    uint16_t ldt = 0xFFFF;
    if (umip) {
        arm(4); __asm__ volatile("sldt %0" : "=r"(ldt)); expect_fault("sldt with UMIP", 13, 0);
    } else {
        arm(4); __asm__ volatile("sldt %0" : "=r"(ldt)); expect_no_fault("sldt without UMIP");
        XTF_CHECK(ldt == 0, "sldt without UMIP: the null LDT (%x)", ldt);
    }
    arm(3); __asm__ volatile("swapgs" ::: "memory"); expect_fault("swapgs", 13, 0);
    uint32_t lo, hi, lo2, hi2, aux, r[4];
    arm(2);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    __asm__ volatile("rdtsc" : "=a"(lo2), "=d"(hi2));
    expect_no_fault("rdtsc");
    XTF_CHECK(((uint64_t)hi2 << 32 | lo2) > ((uint64_t)hi << 32 | lo), "rdtsc counts up");
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0x80000001u), "c"(0));
    if (r[3] & (1u << 27)) {
        arm(3); __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux)); expect_no_fault("rdtscp");
    }
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(7), "c"(0));
    if (r[2] & (1u << 22)) {
        uint64_t pid;
        arm(4); __asm__ volatile("rdpid %0" : "=r"(pid)); expect_no_fault("rdpid");
    } else {
        kprintf("note: no RDPID on this CPU\n");
    }
    /* iretq to the real ring-3 selectors, with IF 0 in its frame: it is not emulated. */
    XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before a native-selector iretq");
    __asm__ volatile("sti" ::: "memory");
    arm(2);     /* a #PF, if any, is taken at the iretq (48 CF): resume at the label after it */
    __asm__ volatile("movq %%rsp, %%r12\n\t"
                     "pushq %1\n\t"
                     "pushq %%r12\n\t"
                     "pushq $0x2\n\t"
                     "pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "iretq\n\t"
                     "1:\n\t"
                     "movq %%r12, %%rsp"    /* the frame's own rsp either way: back to it */
                     : : "i"(HAKO_GUEST_CS64), "i"(HAKO_GUEST_DS) : "rax", "r12", "memory", "cc");
    int faulted = !armed;
    __asm__ volatile("cli" ::: "memory");
    XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after a native-selector iretq");
    uint64_t iret_n = info_b.emulated[HAKO_EMUL_IRET] - info_a.emulated[HAKO_EMUL_IRET];
    kprintf("note: iretq to the real selectors %s\n", faulted ? "faulted" : "returned natively");
    if (faulted) {              /* QEMU TCG with SMAP: the ring-3 iretq's stack read #PF,
                                   refused and delivered as the #GP(0) it is */
        XTF_CHECK(seen.vector == 13 && iret_n == 1 &&
                  info_b.emulated[HAKO_EMUL_REFUSED] == info_a.emulated[HAKO_EMUL_REFUSED] + 1,
                  "iretq to the real selectors: refused, #GP (vector %lu, iret %lu)", seen.vector,
                  iret_n);
    } else {
        armed = 0;
        XTF_CHECK(iret_n == 0, "iretq to the real selectors returns natively (%lu emulated)", iret_n);
    }
}

/* Kept user roots (ABI.md 20.5): a user root another one replaces stays validated, so
 * loading it again validates nothing, and nothing else changes: a store into its tree
 * is still applied as into a table not in use (the kept roots dropped when the store
 * conflicts with a type they hold), and validated again when it is next loaded; the
 * audit counts them all along. */
static void test_kept_roots(void)
{
    static volatile uint64_t data_page[512] __attribute__((aligned(4096)));
    const uint64_t *p2m_ = (const uint64_t *)boot->p2m_va;
    uint64_t saved = rdmsr(HAKO_MSR_USER_ROOT), a = mm_new_root(), b = mm_new_root(), l1;
    uint64_t data_pfn = ((uint64_t)data_page - boot->virt_base) >> 12;
    if (!XTF_CHECK(a && b, "two new user roots") ||
        !XTF_EXPECT_RC(mm_map(a, 0x400000, data_pfn, PTE_USER_RW), 0, "map a page in root A") ||
        !XTF_EXPECT_RC(mm_flush(), 0, "mm_flush") ||
        !XTF_CHECK(mm_table(a, 0x400000, 1, &l1), "root A's L1 table"))
        return;
    volatile uint64_t *e = (volatile uint64_t *)pfn_to_va(l1) + mm_index(0x400000, 1);
    uint64_t good = *e, l1_maddr = p2m_[l1] << 12;
    uint64_t root_a = p2m_[a] << 12, root_b = p2m_[b] << 12;
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_no_fault("load root A (validated)");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_b); expect_no_fault("load root B, A is kept");
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit with root A kept");
    *e = good & ~HAKO_PTE_W;                    /* a good store into kept A's tree */
    XTF_CHECK(*e == (good & ~HAKO_PTE_W), "a good store into kept root A's tree is applied");
    *e = good;
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_no_fault("load root A again");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_b); expect_no_fault("and root B again");
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit after the switches");
    /* A store mapping A's own L1 writable: A is not in use, so it is the kernel's memory
     * and the store is applied (the kept roots give way); loading A is then refused. */
    arm(3);     /* mov %rax, (%rdx) = 48 89 02 */
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(l1_maddr | PTE_USER_RW), "d"(e) : "memory");
    expect_no_fault("a store into kept root A's tree mapping its L1 writable");
    XTF_CHECK(*e == (l1_maddr | PTE_USER_RW), "applied, as into a table not in use");
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit after the kept roots gave way");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_fault("loading root A with its L1 writable", 13, 0);
    XTF_CHECK(rdmsr(HAKO_MSR_USER_ROOT) == root_b, "root B stays loaded");
    *e = good;
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_no_fault("root A loads once repaired");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_b); expect_no_fault("B again, A kept again");
    /* An entry no validation accepts (machine frame 1 is not ours): the same. */
    arm(3);
    __asm__ volatile("movq %%rax, (%%rdx)" : : "a"(0x1000ull | PTE_USER_RW), "d"(e) : "memory");
    expect_no_fault("a store of another's frame into kept root A's tree");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_fault("loading root A mapping it", 13, 0);
    *e = good;
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_a); expect_no_fault("root A repaired again");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, root_b); expect_no_fault("B, A kept");
    /* A's L1 wanted as plain memory (its alias made writable): the same give-way. */
    privops->pt_release(l1, 1);
    ((volatile uint64_t *)pfn_to_va(l1))[0] = 0x5A5A;
    XTF_CHECK(((volatile uint64_t *)pfn_to_va(l1))[0] == 0x5A5A,
              "a kept tree's table made writable again");
    ((volatile uint64_t *)pfn_to_va(l1))[0] = 0;
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit after the release");
    arm(2); wrmsr(HAKO_MSR_USER_ROOT, saved); expect_no_fault("the kernel's user root back");
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit at the end");
}

/* A page of code mapped executable with nothing mapped after it. */
static uint8_t edge_page[4096] __attribute__((aligned(4096)));

/* Run the bytes at va (in the edge page's mapping) until they fault; the fault returns
 * to after the call. */
static void run_at(uint64_t va)
{
    __asm__ volatile("leaq 1f(%%rip), %%rcx\n\t"
                     "movq %%rcx, resume_at(%%rip)\n\t"
                     "jmp *%0\n\t"
                     "1:"
                     : : "r"(va) : "rax", "rcx", "rdx", "memory", "cc");
}

/* An instruction that ends at the top of the lower half: the rip after it would be
 * non-canonical, so it is refused (#GP(0) at the instruction, nothing changed) instead of
 * emulated into a return the CPU would fault on. */
static void test_canonical_end(uint64_t pfn)
{
    uint64_t root = mm_kernel_root(), va = HAKO_LOWER_HALF_END - PAGE_SIZE;
    if (!XTF_EXPECT_RC(mm_map(root, va, pfn, PTE_USER_RX), 0, "map the edge page at the lower half's top") ||
        !XTF_EXPECT_RC(mm_flush(), 0, "mm_flush"))
        return;
    const struct { const char *what; uint8_t bytes[3]; unsigned n; } cases[] = {
        { "cli", { 0xFA }, 1 }, { "sti", { 0xFB }, 1 }, { "wbinvd", { 0x0F, 0x09 }, 2 },
        { "mov cr0 -> rax", { 0x0F, 0x20, 0xC0 }, 3 },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *at = edge_page + PAGE_SIZE - cases[i].n;
        for (unsigned k = 0; k < cases[i].n; k++)
            at[k] = cases[i].bytes[k];
        uint8_t mask = (uint8_t)(i & 1);     /* cli from unmasked, sti from masked */
        vcpu->evtchn_upcall_mask = mask;
        XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before");
        arm(0);
        run_at(HAKO_LOWER_HALF_END - cases[i].n);
        XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after");
        XTF_CHECK(!armed && seen.vector == 13 && seen.error_code == 0 &&
                  seen.rip == HAKO_LOWER_HALF_END - cases[i].n && vcpu->evtchn_upcall_mask == mask &&
                  info_b.emulated[HAKO_EMUL_REFUSED] == info_a.emulated[HAKO_EMUL_REFUSED] + 1,
                  "%s ending at the lower half's top: refused, #GP(0) at it (vector %lu error %lx "
                  "rip %lx mask %u)", cases[i].what, seen.vector, seen.error_code, seen.rip,
                  vcpu->evtchn_upcall_mask);
        armed = 0;
        resume_at = 0;
    }
    __asm__ volatile("cli" ::: "memory");
    XTF_EXPECT_RC(mm_unmap(root, va), 0, "unmap the edge page at the lower half's top");
    XTF_EXPECT_RC(mm_flush(), 0, "mm_flush");
}

static void test_straddle(void)
{
    uint64_t root = mm_kernel_root();
    uint64_t pfn = (UL(edge_page) - boot->virt_base) >> 12;
    uint64_t va = boot->virt_base + (boot->nr_mapped_pages + 96) * PAGE_SIZE, end = va + PAGE_SIZE;
    uint64_t leaf_pfn;
    XTF_CHECK(mm_leaf(root, end, &leaf_pfn) == 0, "the page after the edge page is unmapped");
    if (!XTF_EXPECT_RC(mm_map(root, va, pfn, PTE_USER_RX), 0, "map the edge page executable") ||
        !XTF_EXPECT_RC(mm_flush(), 0, "mm_flush"))
        return;
    struct { const char *what; uint8_t bytes[2]; unsigned n; unsigned kind; } cases[] = {
        { "mov from cr3 (0F 20 | D8)", { 0x0F, 0x20 }, 2, HAKO_EMUL_CR_READ },
        { "out %al, $0xF8 (E6 | F8)", { 0xE6 }, 1, HAKO_EMUL_PORT_OUT },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *at = edge_page + PAGE_SIZE - cases[i].n;
        for (unsigned k = 0; k < cases[i].n; k++)
            at[k] = cases[i].bytes[k];
        XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before");
        arm(0);
        run_at(end - cases[i].n);
        XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after");
        /* The CPU's fetch #PF (what hardware raises first), never looked at; or, where
         * the CPU raises #GP before fetching the rest (QEMU's TCG for mov from crN),
         * a fetch the emulator cannot complete: refused, the #GP(0) delivered. */
        int pf = seen.vector == 14;
        uint64_t refused = info_b.emulated[HAKO_EMUL_REFUSED] - info_a.emulated[HAKO_EMUL_REFUSED];
        kprintf("note: %s across the page end: %s\n", cases[i].what,
                pf ? "the CPU's fetch #PF" : "#GP, a refused fetch");
        XTF_CHECK(!armed && seen.rip == end - cases[i].n &&
                  (pf ? seen.error_code == 0x14 && seen.fault_addr == end && refused == 0
                      : seen.vector == 13 && seen.error_code == 0 && refused == 1),
                  "%s across the page end: vector %lu error %lx addr %lx rip %lx, %lu refused",
                  cases[i].what, seen.vector, seen.error_code, seen.fault_addr, seen.rip, refused);
        XTF_CHECK(info_b.emulated[cases[i].kind] == info_a.emulated[cases[i].kind],
                  "%s across the page end: not emulated", cases[i].what);
        armed = 0;
        resume_at = 0;
    }
    /* wbinvd 10 bytes before the page end, then ud2: the 16 bytes read at its rip run
     * into the unmapped page (the emulator falls back to walking), and it is emulated;
     * the ud2 after it is the kernel's own #UD. */
    edge_page[PAGE_SIZE - 10] = 0x0F, edge_page[PAGE_SIZE - 9] = 0x09;
    edge_page[PAGE_SIZE - 8] = 0x0F, edge_page[PAGE_SIZE - 7] = 0x0B;
    XTF_EXPECT_RC(getinfo_self(&info_a), 0, "GETINFO before");
    arm(0);
    run_at(end - 10);
    XTF_EXPECT_RC(getinfo_self(&info_b), 0, "GETINFO after");
    XTF_CHECK(!armed && seen.vector == 6 && seen.rip == end - 8 &&
              info_b.emulated[HAKO_EMUL_WBINVD] == info_a.emulated[HAKO_EMUL_WBINVD] + 1,
              "wbinvd 10 bytes before an unmapped page is emulated, then the ud2 faults "
              "(vector %lu rip %lx)", seen.vector, seen.rip);
    armed = 0;
    resume_at = 0;
    /* cli as the page's last byte: fetched up to the page end and emulated; the next
     * instruction is then the fetch #PF. */
    edge_page[PAGE_SIZE - 1] = 0xFA;
    __asm__ volatile("sti" ::: "memory");
    arm(0);
    run_at(end - 1);
    XTF_CHECK(vcpu->evtchn_upcall_mask == 1, "cli as a page's last byte is emulated");
    XTF_CHECK(!armed && seen.vector == 14 && seen.fault_addr == end && seen.rip == end,
              "then the fetch #PF at the next page (vector %lu addr %lx rip %lx)", seen.vector,
              seen.fault_addr, seen.rip);
    armed = 0;
    resume_at = 0;
    XTF_EXPECT_RC(mm_unmap(root, va), 0, "unmap the edge page");
    XTF_EXPECT_RC(mm_flush(), 0, "mm_flush");
    test_canonical_end(pfn);
}

void test_main(const struct hako_start_info *si)
{
    boot = si;
    vcpu = &((struct hako_shared_info *)si->shared_info_va)->vcpu_info[0];
    XTF_CHECK(strncmp(privops->name, "trap", 5) == 0, "built with the trap backend (%s)",
              privops->name);
    mm_init(si);
    struct hako_trap_info t[32];
    for (unsigned v = 0; v < 32; v++)
        t[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    XTF_EXPECT_RC(privops->set_trap_table(t, 32), 0, "install the IDT (lidt)");
    XTF_EXPECT_RC(privops->set_event_entry(UL(guest_trap_entry)), 0, "event gate");
    XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "LSTAR");
    test_flags();
    test_cr();
    test_msr();
    test_io();
    test_desc();
    test_pte();
    test_decode();
    test_straddle();
    test_kept_roots();
    test_counters();
    test_sensitive();
    test_cpuid();
    XTF_EXPECT_RC(HC3(debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit of the domain's frames");
}
