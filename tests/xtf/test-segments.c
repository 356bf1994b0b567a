/*
 * tests/xtf/test-segments.c: the CPU structures a guest can name (ABI.md 2). There is no
 * LDT: every selector with the table bit set faults with #GP(selector & ~3) however it is
 * used -- loaded into DS/ES/FS/GS/SS, far call, far jump, far return, iretq -- and
 * lar/verr call it invalid; the hypervisor's own GDT selectors and the DPL-0 IDT gates
 * fault the same way; ring-0 instructions fault; with UMIP, so do sgdt/sidt/sldt/str.
 * Every probe runs in guest kernel mode and in guest user mode. A page at linear address
 * 0 holds valid-looking descriptors, so a CPU that still read an LDT from there (LDTR
 * in its reset state) would load them instead of faulting, with or without SMAP.
 * XTF-CPUS: max max,-smap,-smep
 */
#include "framework.h"

#include <hako/traps.h>

#include "mm.h"
#include "privops.h"
#include "trap.h"

const char test_title[] = "segments: no LDT, the hypervisor's selectors and gates out of reach";

#define UL(x) ((unsigned long)(x))
#define USER_CODE  0x400000ull
#define USER_STACK 0x402000ull
#define GP 13

/* Probes: position independent (copied to the user page too); each takes the selector
 * in rdi and a far pointer in rsi, faults at its first instruction or returns rax (ZF
 * for the lar/verr ones). The user stub calls the probe named in the argument block and
 * goes back to the kernel with a user syscall. */
extern const char probes_start[], probes_end[], user_stub[];
extern const char p_mov_ds[], p_mov_es[], p_mov_fs[], p_mov_gs[], p_mov_ss[], p_lcall[],
    p_ljmp[], p_lret[], p_iretq[], p_lar[], p_verr[], p_int2[], p_int8[], p_int80[],
    p_lldt[], p_ltr[], p_lgdt[], p_cli[], p_in[], p_sgdt[], p_sldt[], p_str[];
__asm__(".pushsection .text\n"
        ".globl probes_start, probes_end, user_stub\n"
        "probes_start:\n"
        "p_mov_ds: movw %di, %ds\n xorl %eax, %eax\n movw %ax, %ds\n ret\n"
        "p_mov_es: movw %di, %es\n xorl %eax, %eax\n movw %ax, %es\n ret\n"
        "p_mov_fs: movw %di, %fs\n xorl %eax, %eax\n movw %ax, %fs\n ret\n"
        "p_mov_gs: movw %di, %gs\n xorl %eax, %eax\n movw %ax, %gs\n ret\n"
        "p_mov_ss: movw %di, %ss\n movl $0x23, %eax\n movw %ax, %ss\n ret\n"
        "p_lcall: lcall *(%rsi)\n ret\n"
        "p_ljmp: ljmp *(%rsi)\n ret\n"
        "p_lret: pushq %rdi\n leaq 1f(%rip), %rax\n pushq %rax\n lretq\n1: ret\n"
        "p_iretq: movq %rsp, %rax\n pushq $0x23\n pushq %rax\n pushfq\n pushq %rdi\n"
        "    leaq 1f(%rip), %rax\n pushq %rax\n iretq\n1: ret\n"
        "p_lar: xorl %eax, %eax\n larl %edi, %ecx\n setz %al\n ret\n"
        "p_verr: xorl %eax, %eax\n verr %di\n setz %al\n ret\n"
        "p_int2: int $2\n ret\n"
        "p_int8: int $8\n ret\n"
        "p_int80: int $0x80\n ret\n"
        "p_lldt: lldt %di\n ret\n"
        "p_ltr: ltr %di\n ret\n"
        "p_lgdt: lgdt (%rsi)\n ret\n"
        "p_cli: cli\n ret\n"
        "p_in: inb $0x80, %al\n ret\n"
        "p_sgdt: sgdt (%rsi)\n ret\n"
        "p_sldt: sldt %ax\n ret\n"
        "p_str: str %ax\n ret\n"
        /* args block at USER_CODE + 0x800: fn, rdi, rsi (then the far pointer at +0x40) */
        "user_stub: movq probes_start+0x808(%rip), %rdi\n"
        "    movq probes_start+0x810(%rip), %rsi\n"
        "    call *probes_start+0x800(%rip)\n"
        "    movq %rax, probes_start+0x818(%rip)\n"
        "    syscall\n"
        "    ud2\n"
        "probes_end:\n"
        ".popsection\n");

/* The argument block of the user page (offset 0x800), and its far pointer. */
struct user_args {
    uint64_t fn, rdi, rsi, result, _pad[4];
    uint32_t far_off;
    uint16_t far_sel;
    uint8_t spare[10];                     /* sgdt stores 10 bytes there */
} __attribute__((packed));
#define ARGS_OFF 0x800u

extern char guest_trap_entry[];
static struct kjmp jb;
static volatile int armed;
static struct hako_trap_frame seen;
static uint8_t kstack[16384] __attribute__((aligned(16)));
static struct hako_trap_info traps[HAKO_TRAP_VECTORS] __attribute__((aligned(16)));
static uint8_t *user_page;
static uint64_t user_l4;

/* Every exception and the user syscall: record the frame; back to protected_probe. */
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    seen = *f;
    if (armed) {
        armed = 0;
        kjmp_jump(&jb, 1);
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx\n", f->vector, f->error_code, f->rip);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, 2);
}

/* What one probe did: faulted (vector, error code, at which rip) or returned rax. */
struct outcome {
    int trapped;
    uint64_t vector, error, rip, rax, addr;
};

/* The far pointer (m16:32) the transfer probes use; room for sgdt's 10 bytes too. */
static struct { uint32_t off; uint16_t sel; uint8_t spare[10]; } __attribute__((packed)) farptr;

/* Run probe fn with selector sel in kernel mode (user == 0) or user mode. */
static struct outcome run_probe(const char *fn, uint16_t sel, int user)
{
    struct outcome o = { 0 };
    uint64_t rax = 0;
    farptr.off = 0x1000, farptr.sel = sel;
    struct user_args *a = (struct user_args *)(user_page + ARGS_OFF);
    if (user) {
        a->fn = USER_CODE + (uint64_t)(fn - probes_start);
        a->rdi = sel, a->far_off = 0x1000, a->far_sel = sel;
        a->rsi = USER_CODE + ARGS_OFF + __builtin_offsetof(struct user_args, far_off);
        a->result = 0xdead;
    }
    if (kjmp_save(&jb)) {
        int via_syscall = seen.vector == HAKO_TRAP_SYSCALL;
        o.trapped = !via_syscall;
        o.vector = seen.vector, o.error = seen.error_code, o.rip = seen.rip;
        o.addr = seen.fault_addr;
        o.rax = via_syscall ? a->result : 0;
        if (user)
            o.rip -= o.trapped ? USER_CODE - UL(probes_start) : 0;
        return o;
    }
    armed = 1;
    if (user) {
        static struct hako_trap_frame uf __attribute__((aligned(16)));
        uf = (struct hako_trap_frame){ .rip = USER_CODE + (uint64_t)(user_stub - probes_start),
                                       .rsp = USER_STACK + 4096, .rflags = HAKO_GUEST_RFLAGS,
                                       .flags = HAKO_TF_USER };
        privops->resume(&uf);
        armed = 0;
        xtf_error("iret to user mode failed");
        return o;
    }
    __asm__ volatile("call *%3" : "=a"(rax) : "D"((uint64_t)sel), "S"(&farptr), "r"(fn)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
    armed = 0;
    o.rax = rax;
    return o;
}

/* Expect fn(sel) to raise vector with error code err, inside the probe (at its first
 * instruction but for lret/iretq, which build their stack first). */
static void expect_fault(const char *name, const char *fn, uint16_t sel, uint64_t vector,
                         uint64_t err, int user)
{
    struct outcome o = run_probe(fn, sel, user);
    XTF_CHECK(o.trapped && o.vector == vector && o.error == err && o.rip >= UL(fn) &&
                  o.rip < UL(fn) + 32,
              "%s mode: %s 0x%x: %s vector %lu error 0x%lx rip %lx addr %lx (want vector %lu "
              "error 0x%lx at %lx)", user ? "user" : "kernel", name, sel,
              o.trapped ? "trapped with" : "did NOT fault:", o.vector, o.error, o.rip, o.addr, vector,
              err, UL(fn));
}

static const uint16_t ldt_sels[] = { 0x4, 0x7, 0xC, 0xF, 0xFFFC, 0xFFFF };
/* The hypervisor's (code, data, the empty 32-bit slot, TSS) and beyond the GDT. */
static const uint16_t hv_sels[] = { 0x08, 0x0B, 0x10, 0x13, 0x18, 0x1B, 0x30, 0x33, 0x40, 0xFFF8 };
static const struct { const char *name; const char *fn; } loads[] = {
    { "mov ds", p_mov_ds }, { "mov es", p_mov_es }, { "mov fs", p_mov_fs },
    { "mov gs", p_mov_gs }, { "mov ss", p_mov_ss },
};

static int smap;

/* A far return or iretq probe: #GP(sel & ~3). QEMU's TCG pops their stack with
 * supervisor accesses, so with SMAP on it faults first with #PF (error 1, a supervisor
 * read of the stack); that is accepted only then, and the -smap run checks the #GP. */
static void expect_return_fault(const char *name, const char *fn, uint16_t sel, int user)
{
    struct outcome o = run_probe(fn, sel, user);
    if (smap && o.trapped && o.vector == 14 && o.error == 1)
        return;
    XTF_CHECK(o.trapped && o.vector == GP && o.error == (sel & 0xFFFCu) && o.rip >= UL(fn) &&
                  o.rip < UL(fn) + 32,
              "%s mode: %s 0x%x: trapped %d vector %lu error 0x%lx rip %lx (want #GP 0x%x)",
              user ? "user" : "kernel", name, sel, o.trapped, o.vector, o.error, o.rip,
              sel & 0xFFFCu);
}

/* Every LDT selector form faults; lar and verr call them invalid. */
static void check_ldt(int user)
{

    for (unsigned i = 0; i < sizeof(ldt_sels) / sizeof(ldt_sels[0]); i++) {
        uint16_t s = ldt_sels[i];
        for (unsigned k = 0; k < sizeof(loads) / sizeof(loads[0]); k++)
            expect_fault(loads[k].name, loads[k].fn, s, GP, s & 0xFFFC, user);
        expect_fault("lcall", p_lcall, s, GP, s & 0xFFFC, user);
        expect_fault("ljmp", p_ljmp, s, GP, s & 0xFFFC, user);
        expect_return_fault("lret", p_lret, s | 3, user);
        expect_return_fault("iretq", p_iretq, s | 3, user);
        struct outcome lar = run_probe(p_lar, s, user), verr = run_probe(p_verr, s, user);
        XTF_CHECK(!lar.trapped && lar.rax == 0 && !verr.trapped && verr.rax == 0,
                  "%s mode: lar/verr 0x%x: trapped %d/%d ZF %lu/%lu (want no fault, ZF 0)",
                  user ? "user" : "kernel", s, lar.trapped, verr.trapped, lar.rax, verr.rax);
    }
    kprintf("%s mode: %u LDT selectors fault in every form\n", user ? "user" : "kernel",
            (unsigned)(sizeof(ldt_sels) / sizeof(ldt_sels[0])));
}

/* The hypervisor's selectors cannot be loaded or jumped to; the guest's can be loaded. */
static void check_gdt(int user)
{
    for (unsigned i = 0; i < sizeof(hv_sels) / sizeof(hv_sels[0]); i++) {
        uint16_t s = hv_sels[i];
        for (unsigned k = 0; k < 4; k++)                      /* ds es fs gs */
            expect_fault(loads[k].name, loads[k].fn, s, GP, s & 0xFFFC, user);
        expect_fault("lcall", p_lcall, s, GP, s & 0xFFFC, user);
        expect_fault("ljmp", p_ljmp, s, GP, s & 0xFFFC, user);
    }
    static const uint16_t ok[] = { 0, 3, 0x20, 0x23, 0x28, 0x2B };
    for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        for (unsigned k = 0; k < 4; k++) {
            struct outcome o = run_probe(loads[k].fn, ok[i], user);
            XTF_CHECK(!o.trapped, "%s mode: %s 0x%x (a guest selector) faulted: vector %lu",
                      user ? "user" : "kernel", loads[k].name, ok[i], o.vector);
        }
    kprintf("%s mode: hypervisor selectors refused, guest selectors load\n",
            user ? "user" : "kernel");
}

/* DPL-0 gates and ring-0 instructions fault; UMIP hides the tables where the CPU has it. */
static void check_gates_and_insns(int user, int umip)
{
    static const struct { const char *fn; unsigned n; } gates[] = {
        { p_int2, 2 }, { p_int8, 8 }, { p_int80, 0x80 } };
    for (unsigned i = 0; i < 3; i++) {
        /* #GP(n << 3 | 2) on hardware; QEMU's TCG reports n << 4 | 2 in long mode. */
        struct outcome o = run_probe(gates[i].fn, 0, user);
        XTF_CHECK(o.trapped && o.vector == GP &&
                      (o.error == (gates[i].n << 3 | 2) || o.error == (gates[i].n << 4 | 2)),
                  "%s mode: int $0x%x: trapped %d vector %lu error 0x%lx (want #GP 0x%x)",
                  user ? "user" : "kernel", gates[i].n, o.trapped, o.vector, o.error,
                  gates[i].n << 3 | 2);
    }
    expect_fault("lldt", p_lldt, 0, GP, 0, user);
    expect_fault("ltr", p_ltr, 0x30, GP, 0, user);
    expect_fault("lgdt", p_lgdt, 0, GP, 0, user);
    expect_fault("cli", p_cli, 0, GP, 0, user);
    expect_fault("in", p_in, 0, GP, 0, user);
    if (umip) {
        expect_fault("sgdt", p_sgdt, 0, GP, 0, user);
        expect_fault("sldt", p_sldt, 0, GP, 0, user);
        expect_fault("str", p_str, 0, GP, 0, user);
    }
}

/* The page at linear address 0: an LDT's worth of valid-looking descriptors. */
static void map_decoy_ldt(uint64_t l4)
{
    static uint64_t pfn;
    if (!pfn) {
        pfn = pfn_alloc();
        uint64_t *d = pfn_to_va(pfn);
        d[0] = 0x00CFF2000000FFFFull;          /* index 0: flat data, DPL 3 */
        d[1] = 0x00AFFA000000FFFFull;          /* index 1: 64-bit code, DPL 3 */
        for (unsigned i = 2; i < 512; i++)
            d[i] = d[i & 1];
    }
    if (mm_map(l4, 0, pfn_to_mfn(pfn), PTE_KERNEL_RO) || mm_flush())
        xtf_error("cannot map the decoy descriptors at address 0");
}

/* A user address space: the probes and the argument block (one page), and a stack. */
static int user_space(void)
{
    uint64_t code = pfn_alloc(), stack = pfn_alloc();
    user_l4 = mm_new_l4();
    if (!code || !stack || !user_l4)
        return 0;
    user_page = pfn_to_va(code);
    memcpy(user_page, probes_start, (size_t)(probes_end - probes_start));
    map_decoy_ldt(user_l4);
    return !mm_map(user_l4, USER_CODE, pfn_to_mfn(code), HAKO_PTE_P | HAKO_PTE_U | HAKO_PTE_W) &&
           !mm_map(user_l4, USER_STACK, pfn_to_mfn(stack), PTE_USER_RW) && !mm_flush() &&
           !privops->set_user_context(UL(kstack + sizeof(kstack)), user_l4);
}

void test_main(const struct hako_start_info *si)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    int smep = (b >> 7) & 1, umip = (c >> 2) & 1;
    smap = (b >> 20) & 1;
    kprintf("cpu: smep %d smap %d umip %d\n", smep, smap, umip);
    if (!umip)
        kprintf("note: UMIP not offered by this CPU: the sgdt/sldt/str checks are left out\n");
    mm_init(si);
    for (unsigned v = 0; v < HAKO_TRAP_VECTORS; v++)
        traps[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    if (!XTF_EXPECT_RC(privops->set_trap_table(traps, HAKO_TRAP_VECTORS), 0, "set_trap_table") ||
        !XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "syscall entry"))
        return;
    map_decoy_ldt(mm_kernel_l4());
    if (!XTF_CHECK(user_space(), "cannot build the user address space"))
        return;
    for (int user = 0; user < 2; user++) {
        check_ldt(user);
        check_gdt(user);
        check_gates_and_insns(user, umip);
    }
    XTF_EXPECT_RC(hako_hypercall1(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT), 0, "audit at the end");
}
