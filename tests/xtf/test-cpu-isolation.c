/*
 * tests/xtf/test-cpu-isolation.c: the CPU state a guest can reach is its own (ABI.md 2,
 * 4.3, 13.3). Each group runs in guest kernel mode and in guest user mode:
 *   ldt        no LDT: every selector with the table bit faults with #GP(sel & ~3) in
 *              every form (mov to DS/ES/FS/GS/SS, far jmp/call m16:32 and m16:64, lretq,
 *              iretq), and lar/lsl/verr/verw call it invalid
 *   gdt-hv     the hypervisor's GDT selectors, and those past the GDT limit, fault
 *   gdt-guest  null and the two guest descriptors load into DS/ES/FS/GS (any RPL)
 *   idt        int $n for a DPL-0 gate is #GP(n << 3 | 2) for the guest (QEMU's TCG:
 *              n << 4 | 2, see check_idt); int3 is vector 3
 *   ring0      ring-0 instructions are #GP(0)
 *   umip       with UMIP, sgdt/sidt/sldt/str/smsw are #GP(0)
 *   selectors  DS/ES/FS/GS start null, belong to the vCPU (survive yield, an exception,
 *              user mode) and have base 0
 *   trap-table set_trap_table is all or nothing: a bad entry after a good one leaves
 *              the old handler in place (kernel mode only)
 *   iret       the iret hypercall forces IOPL=0, NT=0, IF=1 and the guest CS/SS, keeps
 *              exactly CF PF AF ZF SF TF DF OF AC of the frame's RFLAGS (each bit tried
 *              alone), refuses a non-canonical rip, and survives a non-canonical user rsp
 *              (kernel mode and user mode are one group each)
 * A page at linear address 0 (in the kernel and the user address space) holds what a
 * CPU with LDTR in its reset state (base 0) would read as the LDT: a valid DPL-3 data
 * descriptor at index 0, a call gate to the hypervisor's code selector at index 1 and a
 * DPL-3 code descriptor at index 3. So on a hypervisor that never loads a null LDT the
 * loads succeed instead of faulting even without SMAP: the test runs once with QEMU's
 * `-cpu max` and once without SMAP and SMEP (tests/run.sh passes the model on the
 * command line as xtf-cpu=SPEC; the test checks CPUID agrees).
 * XTF-CPUS: max max,-smap,-smep
 */
#include "framework.h"

#include <hako/events.h>
#include <hako/memory.h>
#include <hako/traps.h>

#include "mm.h"
#include "privops.h"
#include "trap.h"

const char test_title[] = "cpu-isolation: LDT, GDT, IDT, ring-0 instructions, selectors, iret frames";

#define UL(x) ((unsigned long)(x))
#define HC3(nr, a, b, c) hako_hypercall3(UL(nr), UL(a), UL(b), UL(c))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define DB 1u
#define GP 13u
#define PF 14u

/* The user address space: one L1 maps the decoy LDT at 0, the code and the data page. */
#define USER_CODE  0x10000ul
#define USER_DATA  0x11000ul            /* argument block, then the stack up to its end */
#define USER_DATA_OFF "0x1000"           /* USER_DATA - USER_CODE, for the asm below */
#define NONCANON   0x0000800000000000ul

/* The decoy LDT (page at linear address 0). */
#define LDT_DATA   0x00CFF2000000FFFFul /* index 0: flat data, DPL 3 */
#define LDT_CODE   0x00AFFB000000FFFFul /* index 3: 64-bit code, DPL 3, accessed */
#define GATE_OFF   0x8000000000000000ul /* the call gate's target: non-canonical, so a
                                            CPU that took the gate faults at once */
#define GATE_LO    ((GATE_OFF & 0xFFFF) | (0x08ul << 16) | (0xECul << 40) | \
                    (((GATE_OFF >> 16) & 0xFFFF) << 48))   /* P, DPL 3, 64-bit call gate */

/* ---- probes ----------------------------------------------------------------------------
 * Position-independent snippets, run in kernel mode and copied to the user code page:
 * each takes rdi (a selector or value) and rsi (struct farptrs), faults at its label
 * <name>_f or returns rax (lar/lsl/verr/verw: ZF, which the xor before them set, so
 * they must clear it themselves). ci_user_stub calls the probe named in the user argument
 * block and comes back to the kernel with a user syscall. */
#define GET_SELS "xorl %eax, %eax; movw %gs, %ax; shlq $16, %rax; movw %fs, %ax;" \
                 "shlq $16, %rax; movw %es, %ax; shlq $16, %rax; movw %ds, %ax"
#define SET_SELS "movq %rdi, %rax; movw %ax, %ds; shrq $16, %rax; movw %ax, %es;" \
                 "shrq $16, %rax; movw %ax, %fs; shrq $16, %rax; movw %ax, %gs"
/* After a far return that should have faulted: back on the guest code selector. */
#define BACK_TO_CS64 "1: pushq $0x2b; leaq 2f(%rip), %rax; pushq %rax; lretq; 2:"
#define LOAD(seg) "xorl %eax, %eax; movw %" seg ", %cx", "movw %di, %" seg, \
                  "movw %" seg ", %ax; movw %cx, %" seg

#define PROBES(X)                                                                       \
    X(ld_ds, LOAD("ds")) X(ld_es, LOAD("es")) X(ld_fs, LOAD("fs")) X(ld_gs, LOAD("gs"))  \
    X(ld_ss, LOAD("ss"))                                                                 \
    X(lar, "xorl %eax, %eax", "larl %edi, %ecx", "setz %al")                             \
    X(lsl, "xorl %eax, %eax", "lsll %edi, %ecx", "setz %al")                             \
    X(verr, "xorl %eax, %eax", "verr %di", "setz %al")                                   \
    X(verw, "xorl %eax, %eax", "verw %di", "setz %al")                                   \
    X(lret, "pushq %rdi; leaq 1f(%rip), %rax; pushq %rax", "lretq", BACK_TO_CS64)        \
    X(iretq, "movq %rsp, %rax; pushq $0x23; pushq %rax; pushfq; pushq %rdi;"             \
             "leaq 1f(%rip), %rax; pushq %rax", "iretq", BACK_TO_CS64)                   \
    X(ljmp32, "", "ljmp *(%rsi)", "") X(ljmp64, "", "rex64 ljmp *8(%rsi)", "")          \
    X(lcall32, "", "lcall *(%rsi)", "") X(lcall64, "", "rex64 lcall *8(%rsi)", "")      \
    X(int2, "", "int $2", "") X(int8, "", "int $8", "") X(int18, "", "int $18", "")     \
    X(int32, "", "int $32", "") X(int80, "", "int $0x80", "") X(intff, "", "int $0xff", "") \
    X(int3, "", "int3", "")                                                              \
    X(lgdt, "", "lgdt 24(%rsi)", "") X(lidt, "", "lidt 24(%rsi)", "")                    \
    X(lldt, "", "lldt %di", "") X(ltr, "", "ltr %di", "")                                \
    X(cli, "", "cli", "") X(sti, "", "sti", "") X(hlt, "", "hlt", "")                    \
    X(in80, "", "inb $0x80, %al", "") X(out80, "xorl %eax, %eax", "outb %al, $0x80", "") \
    X(inf4, "movl $0xf4, %edx", "inb %dx, %al", "")                                      \
    X(outf4, "movl $0xf4, %edx; movl $100, %eax", "outb %al, %dx", "")                  \
    X(rdcr0, "", "movq %cr0, %rax", "") X(wrcr0, "", "movq %rdi, %cr0", "")              \
    X(rdcr3, "", "movq %cr3, %rax", "") X(wrcr3, "", "movq %rdi, %cr3", "")              \
    X(rdmsr, "movl $0xc0000080, %ecx", "rdmsr", "")                                      \
    X(wrmsr, "movl $0xc0000100, %ecx; xorl %eax, %eax; xorl %edx, %edx", "wrmsr", "")    \
    X(invlpg, "", "invlpg (%rsi)", "") X(clts, "", "clts", "") X(wbinvd, "", "wbinvd", "") \
    X(swapgs, "", "swapgs", "") X(rddr7, "", "movq %dr7, %rax", "")                      \
    X(rdpmc, "xorl %ecx, %ecx", "rdpmc", "")                                             \
    X(sgdt, "", "sgdt 24(%rsi)", "") X(sidt, "", "sidt 24(%rsi)", "")                    \
    X(sldt, "", "sldt %ax", "") X(str, "", "str %ax", "") X(smsw, "", "smsw %ax", "")    \
    X(get_sels, "", GET_SELS, "") X(set_sels, "", SET_SELS, "")                          \
    X(sels_int3, SET_SELS, "int3", GET_SELS)                                             \
    X(fs0, "", "movq %fs:0, %rax", "") X(gs8, "", "movq %gs:8, %rax", "")                \
    X(pushf, "", "pushfq", "popq %rax")                                                  \
    X(cs_ss, "", "xorl %eax, %eax; movw %ss, %ax; shll $16, %eax; movw %cs, %ax", "")    \
    X(push, "", "pushq %rax", "popq %rax")

#define PROBE_ASM(...) PROBE_ASM_(__VA_ARGS__)   /* expands LOAD() into its three parts */
#define PROBE_ASM_(name, pre, insn, post) \
    "ci_" #name ":\n" pre "\nci_" #name "_f:\n" insn "\n" post "\n    ret\n"
#define PROBE_DECL(name, ...) extern const char ci_##name[], ci_##name##_f[];
#define PROBE_DEF(name, ...) \
    static const struct probe P_##name __attribute__((unused)) = { #name, ci_##name, ci_##name##_f };

struct probe {
    const char *name;
    const char *fn, *fault;              /* entry, and the instruction under test */
};
PROBES(PROBE_DECL)
PROBES(PROBE_DEF)
extern const char ci_start[], ci_end[], ci_user_stub[], ci_land[];
uint64_t iret_seen_flags;                /* written by iret_self's resume path */
uint16_t iret_seen_cs, iret_seen_ss;
long iret_self(struct hako_trap_frame *f);
extern const char ci_other_handler[];    /* a second trap handler: counts, then as usual */
unsigned other_handler_runs;

__asm__(".pushsection .text\n"
        "ci_start:\n"
        PROBES(PROBE_ASM)
        "ci_land: ud2\n"                 /* where a far transfer that wrongly worked lands */
        "ci_user_stub:\n"                /* fn, rdi, rsi, then rax at USER_DATA */
        "    movq ci_start+" USER_DATA_OFF "+8(%rip), %rdi\n"
        "    movq ci_start+" USER_DATA_OFF "+16(%rip), %rsi\n"
        "    call *ci_start+" USER_DATA_OFF "(%rip)\n"
        "    movq %rax, ci_start+" USER_DATA_OFF "+24(%rip)\n"
        "    syscall\n"
        "    ud2\n"
        "ci_end:\n"
        /* long iret_self(frame): the iret hypercall on frame, resuming at 1: (or at the
         * frame's rip if set) with rsp as it was; 1 when resumed there, else the error. */
        "iret_self:\n"
        "    pushq %rbx\n"
        "    movq %rsp, %rbx\n"
        "    cmpq $0, 56(%rdi)\n"
        "    jne 2f\n"
        "    leaq 1f(%rip), %rax\n"
        "    movq %rax, 56(%rdi)\n"
        "2:  movq %rsp, 80(%rdi)\n"
        "    movq %rdi, %rsp\n"
        "    movl $9, %eax\n"
        "    syscall\n"
        "    movq %rbx, %rsp\n"          /* refused: rax is the error */
        "    popq %rbx\n"
        "    ret\n"
        "1:  pushfq\n"                   /* the first thing after resuming */
        "    popq iret_seen_flags(%rip)\n"
        "    pushq $0x202\n"            /* DF, AC etc. from the frame must not reach C */
        "    popfq\n"
        "    movw %cs, iret_seen_cs(%rip)\n"
        "    movw %ss, iret_seen_ss(%rip)\n"
        "    popq %rbx\n"
        "    movl $1, %eax\n"
        "    ret\n"
        "ci_other_handler:\n"
        "    lock incl other_handler_runs(%rip)\n"
        "    jmp guest_trap_entry\n"
        ".popsection\n");
_Static_assert(HAKO_HC_iret == 9, "iret number used in the asm above");

/* The far pointers and descriptor-table operand the probes take in rsi. */
struct farptrs {
    uint32_t off32;
    uint16_t sel32, _pad0;               /* m16:32 at 0 */
    uint64_t off64;
    uint16_t sel64, _pad1[3];            /* m16:64 at 8 (REX.W) */
    uint8_t table[16];                   /* lgdt/lidt/sgdt/sidt operand at 24 */
};
_Static_assert(__builtin_offsetof(struct farptrs, off64) == 8 &&
               __builtin_offsetof(struct farptrs, table) == 24, "offsets used by the probes");
/* The user argument block at USER_DATA, read by ci_user_stub. */
struct uargs {
    uint64_t fn, rdi, rsi, rax;
    struct farptrs fp;
};

/* ---- the guest's memory (guest-pv's mm.c builds every table) ------------------------ */

static const struct hako_start_info *si;
static uint64_t user_l4;
static struct uargs *uargs;              /* the user data page, through the linear map */
static uint8_t kstack[16384] __attribute__((aligned(16)));

/* The decoy LDT page (writable, so a CPU that took it could set its accessed bits) at
 * linear address 0 of the kernel address space and of a new user one, which also maps
 * the probes (read-only) and the data page; the user context is switched to it. */
static int build_memory(void)
{
    size_t len = (size_t)(ci_end - ci_start);
    uint64_t decoy = pfn_alloc(), code = pfn_alloc(), data = pfn_alloc();
    user_l4 = mm_new_root();
    if (!XTF_CHECK(len <= 4096 && decoy && code && data && user_l4,
                   "probes %lu bytes (a page at most), or out of memory", UL(len)))
        return 0;
    uint64_t *d = pfn_to_va(decoy);
    d[0] = LDT_DATA, d[1] = GATE_LO, d[2] = GATE_OFF >> 32, d[3] = LDT_CODE;
    memcpy(pfn_to_va(code), ci_start, len);
    uargs = pfn_to_va(data);
    return XTF_EXPECT_RC(mm_map(mm_kernel_root(), 0, decoy, PTE_USER_RW), 0,
                         "map the decoy at kernel address 0") &&
           XTF_EXPECT_RC(mm_map(user_l4, 0, decoy, PTE_USER_RW), 0,
                         "map the decoy at user address 0") &&
           XTF_EXPECT_RC(mm_map(user_l4, USER_CODE, code, PTE_USER_RX), 0,
                         "map the probes") &&
           XTF_EXPECT_RC(mm_map(user_l4, USER_DATA, data, PTE_USER_RW), 0,
                         "map the user data page") &&
           XTF_EXPECT_RC(mm_flush(), 0, "apply the mappings") &&
           XTF_EXPECT_RC(privops->set_user_context(UL(kstack + sizeof(kstack)), user_l4), 0,
                         "user base pointer and kernel stack");
}

/* Leave user mode's table and unmap address 0 again. */
static void teardown_memory(void)
{
    XTF_EXPECT_RC(privops->set_user_context(0, 0), 0, "drop the user base pointer");
    XTF_EXPECT_RC(mm_unmap(mm_kernel_root(), 0), 0, "unmap kernel address 0");
    XTF_EXPECT_RC(mm_flush(), 0, "apply the unmapping");
}

/* ---- traps and running probes -------------------------------------------------------- */

extern char guest_trap_entry[];
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f);

static struct kjmp jb;
static volatile int armed, int3_resume;
static volatile unsigned int3_resumed;
static struct hako_trap_frame seen;
static uint64_t handler_sels;            /* DS/ES/FS/GS as the handler found them */
static struct farptrs kfp;               /* the kernel-mode probes' rsi */
static struct hako_trap_info traps_tbl[HAKO_TRAP_VECTORS] __attribute__((aligned(16)));

/* Call probe fn in kernel mode, no protection: for probes that cannot fault. */
static uint64_t probe_call(const char *fn, uint64_t rdi)
{
    uint64_t rax;
    __asm__ volatile("call *%[fn]"
                     : "=a"(rax)
                     : [fn] "r"(fn), "D"(rdi), "S"(&kfp)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
    return rax;
}

/* Every exception and the user syscall: record the frame, then back to the probe's
 * caller (int3 while int3_resume: resume after it instead). */
void guest_trap(struct guest_regs *g, struct hako_trap_frame *f)
{
    (void)g;
    seen = *f;
    handler_sels = probe_call(ci_get_sels, 0);
    if (f->vector == 3 && int3_resume) {
        int3_resumed++;
        return;
    }
    if (armed) {
        armed = 0;
        kjmp_jump(&jb, 1);
    }
    kprintf("unexpected trap: vector %lu error %lx rip %lx addr %lx flags %lx\n", f->vector,
            f->error_code, f->rip, f->fault_addr, f->flags);
    xtf_error("unexpected exception");
    kprintf("%u checks, %u failed\nTest result: ERROR\n", xtf_checks, xtf_failures);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, 2);
}

/* What a probe did: trapped (the frame, rip in the kernel's copy of the probes) or
 * returned rax. trapped < 0: it could not be run. */
struct outcome {
    int trapped;
    struct hako_trap_frame f;
    uint64_t rax;
};

/* Where symbol sym of the probes is in the user code page. */
static uint64_t uoff(const char *sym) { return USER_CODE + (UL(sym) - UL(ci_start)); }

/* The outcome the trap handler recorded before jumping back. */
static struct outcome caught(int user)
{
    struct outcome o = { .trapped = seen.vector != HAKO_TRAP_SYSCALL, .f = seen };
    if (!o.trapped)
        o.rax = uargs->rax;
    if (user && seen.rip - USER_CODE < 4096)
        o.f.rip = seen.rip - USER_CODE + UL(ci_start);
    return o;
}

/* HAKO_TF_EVENTS_MASKED if the upcall mask is set now (frames keep it as it is). */
static uint64_t events_masked(void)
{
    const struct hako_shared_info *sh = (const struct hako_shared_info *)si->shared_info_va;
    return sh->vcpu_info[0].evtchn_upcall_mask ? HAKO_TF_EVENTS_MASKED : 0;
}

/* Enter user mode through the iret hypercall with this frame; back through a trap. */
static struct outcome enter_user(uint64_t rip, uint64_t rsp, uint64_t rflags, uint64_t cs,
                                 uint64_t ss)
{
    static struct hako_trap_frame uf __attribute__((aligned(16)));
    uf = (struct hako_trap_frame){ .rip = rip, .rsp = rsp, .rflags = rflags, .cs = cs, .ss = ss,
                                   .flags = HAKO_TF_USER | events_masked() };
    if (kjmp_save(&jb))
        return caught(1);
    armed = 1;
    long rc = privops->resume(&uf);
    armed = 0;
    xtf_error("iret to user mode at %lx refused: %ld (%s)", rip, rc, xtf_errname(rc));
    return (struct outcome){ .trapped = -1 };
}

/* Both far pointers name sel:land (land: where a transfer that wrongly works ends). */
static void set_farptrs(struct farptrs *fp, uint16_t sel, uint64_t land)
{
    fp->off32 = (uint32_t)land, fp->sel32 = sel;
    fp->off64 = land, fp->sel64 = sel;
}

/* Run probe p(arg) in user mode, entered with the given RFLAGS/CS/SS in the frame. */
static struct outcome run_user(const struct probe *p, uint64_t arg, uint64_t rflags,
                               uint64_t cs, uint64_t ss)
{
    uargs->fn = uoff(p->fn), uargs->rdi = arg, uargs->rax = 0xDEAD;
    uargs->rsi = USER_DATA + __builtin_offsetof(struct uargs, fp);
    set_farptrs(&uargs->fp, (uint16_t)arg, uoff(ci_land));
    return enter_user(uoff(ci_user_stub), USER_DATA + 4096, rflags, cs, ss);
}

/* Run probe p(arg) in guest kernel mode (user == 0) or user mode. */
static struct outcome run(const struct probe *p, uint64_t arg, int user)
{
    if (user)
        return run_user(p, arg, HAKO_GUEST_RFLAGS, HAKO_GUEST_CS64, HAKO_GUEST_DS);
    set_farptrs(&kfp, (uint16_t)arg, UL(ci_land));
    if (kjmp_save(&jb))
        return caught(0);
    armed = 1;
    uint64_t rax = probe_call(p->fn, arg);
    armed = 0;
    return (struct outcome){ .rax = rax };
}

/* ---- checking outcomes -------------------------------------------------------------- */

/* "kernel" or "user", for messages. */
static const char *mode_name(int user) { return user ? "user" : "kernel"; }

/* An outcome in words, rip relative to the probe. */
static const char *show(const struct outcome *o, const struct probe *p)
{
    static char buf[160];
    if (o->trapped < 0)
        return "not run";
    if (!o->trapped)
        ksnprintf(buf, sizeof(buf), "no fault (rax %lx)", o->rax);
    else
        ksnprintf(buf, sizeof(buf), "vector %lu error 0x%lx at %s+%ld (addr %lx rsp %lx flags %lx)",
                  o->f.vector, o->f.error_code, p->name, (long)(o->f.rip - UL(p->fn)),
                  o->f.fault_addr, o->f.rsp, o->f.flags);
    return buf;
}

/* The outcome is exactly this trap at this rip, from this mode. */
static int check_trap(const struct outcome *o, const struct probe *p, uint64_t arg, int user,
                      uint64_t vector, uint64_t error, uint64_t rip)
{
    return XTF_CHECK(o->trapped == 1 && o->f.vector == vector && o->f.error_code == error &&
                         o->f.rip == rip && (o->f.flags & HAKO_TF_USER) == (user ? HAKO_TF_USER : 0),
                     "%s mode: %s(0x%lx): %s; want vector %lu error 0x%lx at %s+%ld",
                     mode_name(user), p->name, arg, show(o, p), vector, error, p->name,
                     (long)(rip - UL(p->fn)));
}

/* p(arg) raises #GP(error) at its instruction under test. */
static int expect_gp(const struct probe *p, uint64_t arg, int user, uint64_t error)
{
    struct outcome o = run(p, arg, user);
    return check_trap(&o, p, arg, user, GP, error, UL(p->fault));
}

/* p(arg) does not fault and returns want. */
static int expect_value(const struct probe *p, uint64_t arg, int user, uint64_t want)
{
    struct outcome o = run(p, arg, user);
    return XTF_CHECK(!o.trapped && o.rax == want, "%s mode: %s(0x%lx): %s; want no fault, rax %lx",
                     mode_name(user), p->name, arg, show(&o, p), want);
}

/* CPU facts the expectations depend on (CPUID, and the model run.sh named). */
static int has_smap, has_smep, has_umip, is_tcg;

/* lretq/iretq with selector sel as CS. They pop their frame before looking at CS, and
 * QEMU 7.2's TCG (as observed) pops it with supervisor accesses even in ring 3: with SMAP
 * on, that read of the (user) stack page raises #PF with error code 1 (no U bit) at the
 * stack, whatever the selector. Elsewhere it is #GP(sel & ~3). */
static int expect_far_return(const struct probe *p, uint16_t sel, int user)
{
    struct outcome o = run(p, sel, user);
    if (is_tcg && has_smap)
        return check_trap(&o, p, sel, user, PF, 1, UL(p->fault)) &&
               XTF_CHECK(o.f.fault_addr == o.f.rsp, "%s mode: %s(0x%x): #PF at %lx, rsp %lx",
                         mode_name(user), p->name, sel, o.f.fault_addr, o.f.rsp);
    return check_trap(&o, p, sel, user, GP, sel & 0xFFFCu, UL(p->fault));
}

/* One line per check group: how many checks it made and whether all passed. */
static unsigned group_checks0, group_failures0, groups_done;
static void group_begin(void) { group_checks0 = xtf_checks, group_failures0 = xtf_failures; }
static void group_end(const char *group, int user, const char *what_ran)
{
    unsigned n = xtf_checks - group_checks0, bad = xtf_failures - group_failures0;
    kprintf("[%s] %s mode: %s: %u checks, %s\n", group, mode_name(user), what_ran, n,
            n == 0 ? "NONE RUN" : bad ? "FAILED" : "ok");
    if (n == 0)
        xtf_error("check group %s made no check", group);
    groups_done++;
}

/* ---- the check groups --------------------------------------------------------------- */

static const uint16_t ldt_sels[] = { 0x4, 0x7, 0xC, 0xF, 0x1F, 0xFFFC, 0xFFFF };
static const struct probe *const seg_loads[] = { &P_ld_ds, &P_ld_es, &P_ld_fs, &P_ld_gs, &P_ld_ss };
static const struct probe *const far_xfers[] = { &P_ljmp32, &P_ljmp64, &P_lcall32, &P_lcall64 };

/* No LDT: loads, lar/lsl/verr/verw, far returns, far jumps, then far calls (last: on a
 * broken hypervisor the call gate at LDT index 1 is taken) with every LDT selector. */
static void check_ldt(int user)
{
    static const struct probe *const tests[] = { &P_lar, &P_lsl, &P_verr, &P_verw };
    group_begin();
    for (unsigned i = 0; i < NELEM(ldt_sels); i++)
        for (unsigned k = 0; k < NELEM(seg_loads); k++)
            expect_gp(seg_loads[k], ldt_sels[i], user, ldt_sels[i] & 0xFFFCu);
    for (unsigned i = 0; i < NELEM(ldt_sels); i++)
        for (unsigned k = 0; k < NELEM(tests); k++)
            expect_value(tests[k], ldt_sels[i], user, 0);       /* no fault, ZF=0 */
    for (unsigned i = 0; i < NELEM(ldt_sels); i++) {
        expect_far_return(&P_lret, ldt_sels[i], user);
        expect_far_return(&P_iretq, ldt_sels[i], user);
    }
    for (unsigned k = 0; k < NELEM(far_xfers); k++)
        for (unsigned i = 0; i < NELEM(ldt_sels); i++)
            expect_gp(far_xfers[k], ldt_sels[i], user, ldt_sels[i] & 0xFFFCu);
    group_end("ldt", user, "7 LDT selectors x mov ds/es/fs/gs/ss, lar/lsl/verr/verw, "
                           "lretq/iretq, ljmp/lcall m16:32/m16:64");
}

/* The hypervisor's GDT selectors and those past its limit: no load, no far transfer. */
static void check_gdt_hv(int user)
{
    static const uint16_t sels[] = { 0x08, 0x0B, 0x10, 0x13, 0x18, 0x1B, 0x30, 0x33, 0x38,
                                     0x40, 0x48, 0xFFF8 };
    static const uint16_t targets[] = { 0x08, 0x1B, 0x30 };
    group_begin();
    for (unsigned i = 0; i < NELEM(sels); i++)
        for (unsigned k = 0; k < NELEM(seg_loads); k++)
            expect_gp(seg_loads[k], sels[i], user, sels[i] & 0xFFFCu);
    for (unsigned i = 0; i < NELEM(targets); i++)
        for (unsigned k = 0; k < NELEM(far_xfers); k++)
            expect_gp(far_xfers[k], targets[i], user, targets[i] & 0xFFFCu);
    group_end("gdt-hv", user, "12 selectors x mov ds/es/fs/gs/ss, ljmp/lcall to 0x08/0x1B/0x30");
}

/* Null and the guest's own descriptors load into DS/ES/FS/GS and read back as loaded. */
static void check_gdt_guest(int user)
{
    static const uint16_t sels[] = { 0, 1, 2, 3, 0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2A, 0x2B };
    group_begin();
    for (unsigned i = 0; i < NELEM(sels); i++)
        for (unsigned k = 0; k < 4; k++)                        /* ds es fs gs */
            expect_value(seg_loads[k], sels[i], user, sels[i]);
    expect_value(&P_ld_ss, HAKO_GUEST_DS, user, HAKO_GUEST_DS);
    group_end("gdt-guest", user, "null, 0x20..0x23, 0x28..0x2B into ds/es/fs/gs, 0x23 into ss");
}

/* int $n through a DPL-0 gate is #GP(n << 3 | 2), the IDT index with the IDT bit; QEMU
 * 7.2's TCG (as observed) reports n << 4 | 2 in long mode (the byte offset of the 16-byte
 * gate plus the IDT bit), so that is what the guest must see there. int3 is vector 3. */
static void check_idt(int user)
{
    static const struct { const struct probe *p; uint64_t n; } gates[] = {
        { &P_int2, 2 }, { &P_int8, 8 }, { &P_int18, 18 }, { &P_int32, 32 },
        { &P_int80, 0x80 }, { &P_intff, 0xFF } };
    group_begin();
    for (unsigned i = 0; i < NELEM(gates); i++)
        expect_gp(gates[i].p, 0, user, (gates[i].n << (is_tcg ? 4 : 3)) | 2);
    struct outcome o = run(&P_int3, 0, user);
    check_trap(&o, &P_int3, 0, user, 3, 0, UL(P_int3.fault) + 1);
    group_end("idt", user, "int $2/$8/$18/$32/$0x80/$0xff, int3");
}

/* Ring-0 instructions: #GP(0). */
static void check_ring0(int user)
{
    static const struct { const struct probe *p; uint64_t rdi; } insns[] = {
        { &P_lgdt, 0 }, { &P_lidt, 0 }, { &P_lldt, 0 }, { &P_ltr, 0x30 }, { &P_cli, 0 },
        { &P_sti, 0 }, { &P_hlt, 0 }, { &P_in80, 0 }, { &P_out80, 0 }, { &P_inf4, 0 },
        { &P_outf4, 0 }, { &P_rdcr0, 0 }, { &P_wrcr0, 0x80050033 }, { &P_rdcr3, 0 },
        { &P_wrcr3, 0 }, { &P_rdmsr, 0 }, { &P_wrmsr, 0 }, { &P_invlpg, 0 }, { &P_clts, 0 },
        { &P_wbinvd, 0 }, { &P_swapgs, 0 }, { &P_rddr7, 0 }, { &P_rdpmc, 0 } };
    group_begin();
    for (unsigned i = 0; i < NELEM(insns); i++)
        expect_gp(insns[i].p, insns[i].rdi, user, 0);
    group_end("ring0", user, "lgdt lidt lldt ltr cli sti hlt in/out 0x80/0xf4 cr0/cr3 rdmsr "
                             "wrmsr invlpg clts wbinvd swapgs dr7 rdpmc");
}

/* With UMIP the descriptor-table stores and smsw are #GP(0) too. */
static void check_umip(int user)
{
    static const struct probe *const insns[] = { &P_sgdt, &P_sidt, &P_sldt, &P_str, &P_smsw };
    if (!has_umip) {
        kprintf("[umip] %s mode: UMIP not offered by this CPU: sgdt/sidt/sldt/str/smsw checks "
                "skipped\n", mode_name(user));
        return;
    }
    group_begin();
    for (unsigned i = 0; i < NELEM(insns); i++)
        expect_gp(insns[i], 0, user, 0);
    group_end("umip", user, "sgdt sidt sldt str smsw");
}

#define PACK(ds, es, fs, gs) ((uint64_t)(ds) | (uint64_t)(es) << 16 | (uint64_t)(fs) << 32 | \
                              (uint64_t)(gs) << 48)
#define NULL_MASK 0xFFFCFFFCFFFCFFFCul  /* a null selector reads back as 0..3 */
static uint64_t boot_sels;

/* FS and GS have base 0: fs:0 and gs:8 read the decoy page at linear address 0. */
static void check_bases(const char *when, int user)
{
    uint64_t fs0 = run(&P_fs0, 0, user).rax, gs8 = run(&P_gs8, 0, user).rax;
    XTF_CHECK(fs0 == LDT_DATA && gs8 == GATE_LO,
              "%s mode, %s: fs:0 = %lx, gs:8 = %lx; want %lx, %lx (bases 0)", mode_name(user),
              when, fs0, gs8, LDT_DATA, GATE_LO);
}

/* The kernel's DS/ES/FS/GS (packed) are want. */
static void expect_sels(uint64_t want, const char *when)
{
    uint64_t now = probe_call(ci_get_sels, 0);
    XTF_CHECK(now == want, "kernel ds/es/fs/gs %s: %016lx, want %016lx", when, now, want);
}

/* Load sels and take an int3 in that mode: the handler and the code after it see them. */
static void sels_across_int3(uint64_t sels, int user)
{
    unsigned n = int3_resumed;
    int3_resume = 1;
    struct outcome o = run(&P_sels_int3, sels, user);
    int3_resume = 0;
    XTF_CHECK(!o.trapped && int3_resumed == n + 1 && o.rax == sels && handler_sels == sels &&
                  (seen.flags & HAKO_TF_USER) == (user ? HAKO_TF_USER : 0),
              "%s mode: selectors %016lx across int3: %s, int3 taken %u, handler saw %016lx, "
              "after %016lx", mode_name(user), sels, show(&o, &P_sels_int3), int3_resumed - n,
              handler_sels, o.rax);
}

/* DS/ES/FS/GS start null and belong to the vCPU: they survive a yield, an exception and
 * user mode (whose own loads the kernel sees next), with base 0 throughout. */
static void check_selectors(void)
{
    const uint64_t k = PACK(0x21, 0x2A, 0x23, 0x28), u = PACK(0x2B, 0x20, 0x29, 0x22);
    group_begin();
    XTF_CHECK((boot_sels & NULL_MASK) == 0, "ds/es/fs/gs at entry: %016lx, want null", boot_sels);
    check_bases("null selectors at entry", 0);
    probe_call(ci_set_sels, k);
    expect_sels(k, "after loading them");
    check_bases("fs 0x23, gs 0x28", 0);
    XTF_EXPECT_RC(HC3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0), 0, "sched_op YIELD");
    expect_sels(k, "after sched_op(YIELD)");
    check_bases("after a yield", 0);
    sels_across_int3(k, 0);
    group_end("selectors", 0, "null at entry, kept over yield and int3, bases 0");

    group_begin();
    expect_value(&P_get_sels, 0, 1, k);                  /* user mode sees the kernel's */
    check_bases("fs 0x23, gs 0x28", 1);
    expect_sels(k, "after a round trip to user mode");
    sels_across_int3(u, 1);                              /* user mode loads its own */
    expect_sels(u, "after user mode loaded others");
    check_bases("fs 0x29, gs 0x22, back in kernel mode", 0);
    XTF_EXPECT_RC(HC3(HAKO_HC_sched_op, HAKO_SCHED_YIELD, 0, 0), 0, "sched_op YIELD");
    expect_sels(u, "after another yield");
    probe_call(ci_set_sels, 0);
    expect_sels(0, "restored to null");
    check_bases("null again", 1);
    group_end("selectors", 1, "inherited, kept over int3, seen by the kernel, bases 0");
}

#define RFL_CF   0x1ul
#define RFL_TF   0x100ul
#define RFL_SF   0x80ul
#define RFL_IF   0x200ul
#define RFL_IOPL 0x3000ul
#define RFL_NT   0x4000ul
#define RFL_RF   0x10000ul
#define RFL_VM   0x20000ul
#define RFL_KEPT 0x40DD5ul              /* CF PF AF ZF SF TF DF OF AC (ABI.md 13.3) */

/* Every RFLAGS bit alone in an iret frame (IF clear, so IF=1 is forced every time), in
 * kernel or user mode: the kept bits (RFL_KEPT) read back set with pushfq, every other
 * one clear (a mask that drops only IOPL/NT/RF/VM lets ID through; one that drops TF,
 * DF or AC loses them). TF is seen as a single-step #DB after the first user
 * instruction; kernel mode does not try TF (the #DB would land in iret_self's resume). */
static void expect_iret_each_bit(int user)
{
    static struct hako_trap_frame f __attribute__((aligned(16)));
    unsigned wrong = 0;
    for (unsigned b = 0; b < 64; b++) {
        uint64_t bit = 1ul << b, want = (bit & RFL_KEPT) | HAKO_GUEST_RFLAGS, got;
        if (user) {
            struct outcome o = run_user(&P_pushf, 0, bit, HAKO_GUEST_CS64, HAKO_GUEST_DS);
            if (bit == RFL_TF) {
                XTF_CHECK(o.trapped == 1 && o.f.vector == DB && (o.f.flags & HAKO_TF_USER) &&
                              (o.f.rflags & RFL_TF) && o.f.rip > UL(ci_user_stub) &&
                              o.f.rip < UL(ci_end),
                          "user mode entered with TF: %s; want a single-step #DB in the stub "
                          "with TF in the frame's rflags", show(&o, &P_pushf));
                continue;
            }
            got = o.trapped ? ~0ul : o.rax;
        } else {
            if (bit == RFL_TF)
                continue;
            f = (struct hako_trap_frame){ .rflags = bit, .flags = events_masked() };
            got = iret_self(&f) == 1 ? iret_seen_flags : ~0ul;
        }
        wrong += !XTF_CHECK(got == want, "%s mode: iret with rflags bit %u (%lx) alone resumed "
                            "with rflags %lx (~0: not resumed); want %lx", mode_name(user), b,
                            bit, got, want);
    }
    if (!wrong)
        kprintf("[iret] %s mode: each of the 64 rflags bits alone: kept %lx, the rest dropped\n",
                mode_name(user), RFL_KEPT);
}

/* The iret hypercall in kernel mode: flags and selectors sanitized, bad rips refused. */
static void check_iret_kernel(uint64_t bad)
{
    static struct hako_trap_frame f __attribute__((aligned(16)));
    group_begin();
    f = (struct hako_trap_frame){ .rflags = bad, .cs = 0x08, .ss = 0x10, .flags = events_masked() };
    if (XTF_EXPECT_RC(iret_self(&f), 1, "iret frame with IOPL=3 NT RF VM, IF=0, cs 0x08 ss 0x10"))
        XTF_CHECK(iret_seen_flags == ((bad & RFL_KEPT) | HAKO_GUEST_RFLAGS) &&
                      iret_seen_cs == HAKO_GUEST_CS64 && iret_seen_ss == HAKO_GUEST_DS,
                  "kernel mode resumed with rflags %lx cs %x ss %x; want %lx, 0x2b, 0x23",
                  iret_seen_flags, iret_seen_cs, iret_seen_ss,
                  (bad & RFL_KEPT) | HAKO_GUEST_RFLAGS);
    expect_iret_each_bit(0);
    expect_gp(&P_cli, 0, 0, 0);                          /* still IOPL 0 */
    expect_gp(&P_in80, 0, 0, 0);
    static const uint64_t rips[] = { NONCANON, 0x8000000000000000ul, HAKO_HV_VA_START };
    for (unsigned i = 0; i < NELEM(rips); i++)
        for (uint64_t mode = 0; mode <= HAKO_TF_USER; mode++) {
            f = (struct hako_trap_frame){ .rip = rips[i], .rflags = HAKO_GUEST_RFLAGS,
                                          .flags = mode | events_masked() };
            XTF_EXPECT_RC(iret_self(&f), -HAKO_EINVAL,
                          what("iret to %s rip %lx", mode ? "user" : "kernel", rips[i]));
        }
    group_end("iret", 0, "rflags (each bit alone too), cs, ss sanitized, cli/in still fault, "
                         "bad rips refused");
}

/* Bits 63..47 all equal. */
static int canonical(uint64_t va) { return ((int64_t)va >> 47) == 0 || ((int64_t)va >> 47) == -1; }

/* iret to user mode with a non-canonical rsp: the hypervisor must not fault on the way
 * (no check is needed there); the user code's first push does, in user mode: #PF when
 * rsp - 8 is canonical (0x800000000000 - 8 is just unmapped), else #SS(0) or #GP(0). */
static void check_user_rsp(uint64_t rsp)
{
    struct outcome o = enter_user(uoff(ci_push), rsp, HAKO_GUEST_RFLAGS, HAKO_GUEST_CS64,
                                  HAKO_GUEST_DS);
    int pf = canonical(rsp - 8);
    int ok = XTF_CHECK(o.trapped == 1 && (o.f.flags & HAKO_TF_USER) && o.f.rip == UL(P_push.fault) &&
                           o.f.rsp == rsp &&
                           (pf ? o.f.vector == PF && o.f.error_code == 6 && o.f.fault_addr == rsp - 8
                               : (o.f.vector == 12 || o.f.vector == GP) && o.f.error_code == 0),
                       "user mode with rsp %lx: %s; want %s at push, from user mode", rsp,
                       show(&o, &P_push), pf ? "#PF(6) at rsp - 8" : "#SS(0) or #GP(0)");
    if (ok)
        kprintf("[iret] user rsp %lx: the first push raises %s in user mode\n", rsp,
                o.f.vector == PF ? "#PF(6)" : o.f.vector == 12 ? "#SS(0)" : "#GP(0)");
}

/* The iret hypercall into user mode: the same sanitizing; a non-canonical rsp is the user
 * code's problem, not the hypervisor's. */
static void check_iret_user(uint64_t bad)
{
    group_begin();
    struct outcome o = run_user(&P_pushf, 0, bad, 0x08, 0x10);
    XTF_CHECK(!o.trapped && o.rax == ((bad & RFL_KEPT) | HAKO_GUEST_RFLAGS),
              "user mode entered with rflags %lx: pushfq %s; want %lx", bad, show(&o, &P_pushf),
              (bad & RFL_KEPT) | HAKO_GUEST_RFLAGS);
    expect_iret_each_bit(1);
    o = run_user(&P_cs_ss, 0, bad, 0x08, 0x10);
    XTF_CHECK(!o.trapped && o.rax == (HAKO_GUEST_CS64 | HAKO_GUEST_DS << 16),
              "user mode entered with cs 0x08 ss 0x10 runs on %s; want cs 0x2b ss 0x23",
              show(&o, &P_cs_ss));
    static const struct probe *const still[] = { &P_cli, &P_sti, &P_in80, &P_outf4 };
    for (unsigned i = 0; i < NELEM(still); i++) {
        o = run_user(still[i], 0, bad, HAKO_GUEST_CS64, HAKO_GUEST_DS);
        check_trap(&o, still[i], 0, 1, GP, 0, UL(still[i]->fault));
    }
    static const uint64_t rsps[] = { NONCANON, NONCANON + 0x10, 0x8000000000000000ul };
    for (unsigned i = 0; i < NELEM(rsps); i++)
        check_user_rsp(rsps[i]);
    group_end("iret", 1, "rflags (each bit alone too), cs, ss sanitized, cli/sti/in/out still "
                         "fault, non-canonical rsp");
}

/* int3 in kernel mode reached vector 3's handler: guest_trap_entry itself (other == 0)
 * or through ci_other_handler (other == 1). */
static int expect_int3_handler(int other, const char *when)
{
    unsigned runs = other_handler_runs;
    struct outcome o = run(&P_int3, 0, 0);
    unsigned ran_other = other_handler_runs - runs;
    return XTF_CHECK(o.trapped == 1 && o.f.vector == 3 && ran_other == (unsigned)other,
                     "%s: int3 %s, the other handler ran %u times; want the %s handler",
                     when, show(&o, &P_int3), ran_other, other ? "other" : "old");
}

/* set_trap_table is all or nothing (ABI.md 13.2): a table that first sets vector 3's
 * handler to another one (or removes it) and then has a bad entry is refused, and int3
 * still reaches the old handler. A valid one-entry table shows the other handler is seen. */
static void check_trap_table_atomic(void)
{
    static struct hako_trap_info t[2] __attribute__((aligned(16)));
    static const struct { struct hako_trap_info bad; const char *why; } bads[] = {
        { { .vector = HAKO_TRAP_VECTORS, .handler = 0 }, "vector 32" },
        { { .vector = 4, ._pad0 = { 1 }, .handler = 0 }, "non-zero padding" },
        { { .vector = 5, .handler = HAKO_HV_VA_START }, "a handler in the hypervisor" },
        { { .vector = 6, .handler = NONCANON }, "a non-canonical handler" },
    };
    group_begin();
    for (int remove = 0; remove < 2; remove++)
        for (unsigned i = 0; i < NELEM(bads); i++) {
            t[0] = (struct hako_trap_info){ .vector = 3,
                                            .handler = remove ? 0 : UL(ci_other_handler) };
            t[1] = bads[i].bad;
            const char *when = what("vector 3 %s, then %s", remove ? "removed" : "changed",
                                    bads[i].why);
            if (remove && i == 0)
                kprintf("[trap-table] next: tables removing vector 3 (a crash: a refused one "
                        "removed int3's handler)\n");
            XTF_EXPECT_RC(HC3(HAKO_HC_set_trap_table, t, 2, 0), -HAKO_EINVAL, when);
            if (!expect_int3_handler(0, when))
                privops->set_trap_table(traps_tbl, HAKO_TRAP_VECTORS);   /* undo it */
        }
    t[0] = (struct hako_trap_info){ .vector = 3, .handler = UL(ci_other_handler) };
    XTF_EXPECT_RC(HC3(HAKO_HC_set_trap_table, t, 1, 0), 0, "vector 3 changed alone");
    expect_int3_handler(1, "vector 3 changed alone");
    XTF_EXPECT_RC(privops->set_trap_table(traps_tbl, HAKO_TRAP_VECTORS), 0, "set_trap_table again");
    expect_int3_handler(0, "the table set again");
    group_end("trap-table", 0, "a refused table (4 kinds of bad entry after a good one) "
                               "changes no handler; a good one does");
}

/* CPUID: SMAP, SMEP, UMIP, and whether this is QEMU's TCG; the model run.sh named. */
static void check_cpu(void)
{
    uint32_t r[4], h[4];
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(7), "c"(0));
    has_smep = (r[1] >> 7) & 1, has_smap = (r[1] >> 20) & 1, has_umip = (r[2] >> 2) & 1;
    __asm__ volatile("cpuid" : "=a"(h[0]), "=b"(h[1]), "=c"(h[2]), "=d"(h[3]) : "a"(0x40000000), "c"(0));
    is_tcg = memcmp(&h[1], "TCGTCGTCGTCG", 12) == 0;
    kprintf("cpu: CPUID says SMAP %s, SMEP %s, UMIP %s; QEMU TCG %s\n", has_smap ? "yes" : "no",
            has_smep ? "yes" : "no", has_umip ? "yes" : "no", is_tcg ? "yes" : "no");

    const char *c = si->cmdline, *model = 0;
    for (; *c; c++)
        if ((c == si->cmdline || c[-1] == ' ') && strncmp(c, "xtf-cpu=", 8) == 0)
            model = c + 8;
    if (!model) {
        kprintf("cpu: no xtf-cpu= on the command line: the CPU model is not checked\n");
        return;
    }
    size_t n = 0;
    while (model[n] && model[n] != ' ')
        n++;
    char name[64];
    ksnprintf(name, n < sizeof(name) ? n + 1 : sizeof(name), "%s", model);
    kprintf("cpu: QEMU model %s (from xtf-cpu=)\n", name);
    static const struct { const char *off; int *has; const char *name; } feats[] = {
        { ",-smap", &has_smap, "SMAP" }, { ",-smep", &has_smep, "SMEP" }, { ",-umip", &has_umip, "UMIP" } };
    for (unsigned i = 0; i < NELEM(feats); i++)
        for (size_t k = 0, l = strlen(feats[i].off); k + l <= n; k++)
            if (strncmp(model + k, feats[i].off, l) == 0 && (k + l == n || model[k + l] == ','))
                XTF_CHECK(!*feats[i].has, "the model turns %s off but CPUID reports it",
                          feats[i].name);
}

void test_main(const struct hako_start_info *start)
{
    boot_sels = probe_call(ci_get_sels, 0);              /* before anything else runs */
    si = start;
    mm_init(si);
    check_cpu();
    for (unsigned v = 0; v < HAKO_TRAP_VECTORS; v++)
        traps_tbl[v] = (struct hako_trap_info){ .vector = (uint8_t)v, .handler = UL(guest_trap_entry) };
    if (!XTF_EXPECT_RC(privops->set_trap_table(traps_tbl, HAKO_TRAP_VECTORS), 0, "set_trap_table") ||
        !XTF_EXPECT_RC(privops->set_syscall_entry(UL(guest_trap_entry)), 0, "syscall callback") ||
        !build_memory())
        return;
    XTF_EXPECT_RC(HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit after the set-up");

    check_selectors();
    for (int user = 0; user < 2; user++) {
        check_ldt(user);
        check_gdt_hv(user);
        check_gdt_guest(user);
        check_idt(user);
        check_ring0(user);
        check_umip(user);
    }
    const uint64_t bad = RFL_IOPL | RFL_NT | RFL_RF | RFL_VM | RFL_CF | RFL_SF;   /* IF=0 */
    check_iret_kernel(bad);
    check_iret_user(bad);
    check_trap_table_atomic();

    teardown_memory();
    struct outcome o = run(&P_fs0, 0, 0);
    check_trap(&o, &P_fs0, 0, 0, PF, 4, UL(P_fs0.fault));   /* address 0 unmapped again */
    XTF_EXPECT_RC(HC3(HAKO_HC_debug_op, HAKO_DEBUG_AUDIT, 0, 0), 0, "audit at the end");
    unsigned want = 2 + 2 * (has_umip ? 6 : 5) + 2 + 1;
    if (groups_done != want)
        xtf_error("%u check groups ran, expected %u", groups_done, want);
    kprintf("%u check groups\n", groups_done);
}
