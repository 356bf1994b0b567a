/*
 * dom0-tools/hako.c: the `hako` command, dom0's domain manager (in the spirit of Xen's
 * xl). A user program of the hako guest OS, linked with newlib and libhos.
 *
 *   hako list                              domains: id, name, state, memory, CPU time, mode
 *   hako create [image] [name=N] [mem=MiB] [weight=W] [cap=C] [cmdline="..."]
 *               [privops=pv|pv-batch|pv-async|trap] [initrd=path] [disk=SIZE[@START]]
 *   hako destroy|pause|unpause <dom>       dom = id or name
 *   hako console <dom>                     attach to its console; detach with ^]
 *   hako top [-n iterations] [-d seconds]  per domain: CPU %, hypercalls/s, traps/s, events/s,
 *                                          mode; for trap-mode domains emulations/s by kind
 *   hako sched <dom> [weight=W] [cap=C]    show or set scheduling parameters
 *   hako help
 *
 * Exit status: 0 success, 1 failure (with a "hako: ..." message), 2 usage error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hako/domctl.h>
#include <hako/start_info.h>

#include "hoslib.h"

#define DEFAULT_IMAGE  "/boot/hako-guest.elf"
#define DEFAULT_INITRD "/boot/domu.cpio"
#define DEFAULT_MEM_MB 16
#define MAX_DOMS       64

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *const state_names[] = { "running", "paused", "shutdown", "crashed" };

/* Short names of the HAKO_EMUL_* kinds (hako_domctl_info.emulated), for `hako top`. */
static const char *const emul_names[HAKO_EMUL_KINDS] = {
    [HAKO_EMUL_REFUSED] = "refused",   [HAKO_EMUL_CLI_STI] = "cli/sti",
    [HAKO_EMUL_HLT] = "hlt",           [HAKO_EMUL_CR_READ] = "cr-read",
    [HAKO_EMUL_CR_WRITE] = "cr-write", [HAKO_EMUL_INVLPG] = "invlpg",
    [HAKO_EMUL_WBINVD] = "wbinvd",     [HAKO_EMUL_MSR_READ] = "rdmsr",
    [HAKO_EMUL_MSR_WRITE] = "wrmsr",   [HAKO_EMUL_DESC] = "desc",
    [HAKO_EMUL_PORT_IN] = "in",        [HAKO_EMUL_PORT_OUT] = "out",
    [HAKO_EMUL_PTE_STORE] = "pte",     [HAKO_EMUL_IRET] = "iret",
    [HAKO_EMUL_SYSRET] = "sysret",     [HAKO_EMUL_CPUID] = "cpuid",
};

/* Print the usage summary to f. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: hako <command> [arguments]\n"
            "  list                              list domains\n"
            "  create [image] [name=N] [mem=MiB] [weight=W] [cap=C] [privops=pv|pv-batch|pv-async|trap]\n"
            "         [cmdline=\"...\"] [initrd=path] [disk=SIZE[@START]]\n"
            "                                    build and start a domU (default image %s,\n"
            "                                    initrd %s, %d MiB)\n"
            "  destroy <dom>                     stop a domain and free its memory\n"
            "  pause <dom> / unpause <dom>       stop / resume scheduling a domain\n"
            "  console <dom>                     attach to a domain's console (detach with ^])\n"
            "  top [-n iterations] [-d seconds]  CPU, hypercall, trap and event rates\n"
            "  sched <dom> [weight=W] [cap=C]    show or set scheduling parameters\n"
            "  help                              this text\n"
            "<dom> is a domain id or name.\n",
            DEFAULT_IMAGE, DEFAULT_INITRD, DEFAULT_MEM_MB);
}

/* Report a failed domain operation with a clear reason; returns EXIT_FAIL. */
static int fail_errno(const char *what)
{
    if (errno == EPERM)
        fprintf(stderr, "hako: not privileged (only the control domain manages domains)\n");
    else if (errno == ENOSYS)
        fprintf(stderr, "hako: not running on a hypervisor\n");
    else
        fprintf(stderr, "hako: %s: %s\n", what, strerror(errno));
    return EXIT_FAIL;
}

/* GETINFO for domid into *info; 0 or -1 with errno set. */
static int getinfo(unsigned domid, struct hako_domctl_info *info)
{
    memset(info, 0, sizeof(*info));
    info->domid = (uint16_t)domid;
    return hos_domctl(HAKO_DOMCTL_GETINFO, (uint64_t)(uintptr_t)info, sizeof(*info)) < 0 ? -1 : 0;
}

/* Parse a decimal number of at most max; 0 on success. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Resolve <dom> (an id or a name) to a domain id; -1 after printing why not. */
static long resolve(const char *dom)
{
    struct hako_domctl_info info;
    unsigned long id;
    if (parse_num(dom, MAX_DOMS - 1, &id) == 0) {
        if (getinfo((unsigned)id, &info) == 0)
            return (long)id;
        if (errno == EPERM)
            return fail_errno(dom), -1;
        fprintf(stderr, "hako: no domain %lu\n", id);
        return -1;
    }
    for (long d = 0; (d = hos_domctl(HAKO_DOMCTL_NEXT, (uint64_t)d, 0)) >= 0; d++)
        if (getinfo((unsigned)d, &info) == 0 && strncmp(info.name, dom, sizeof(info.name)) == 0)
            return d;
    if (errno == EPERM)
        return fail_errno(dom), -1;
    fprintf(stderr, "hako: no domain named %s\n", dom);
    return -1;
}

/* The state word for info. */
static const char *state_of(const struct hako_domctl_info *info)
{
    return info->state < 4 ? state_names[info->state] : "?";
}

/* The mode word for a hako_domctl_info.mode value. */
static const char *mode_name(uint32_t mode)
{
    return mode == HAKO_DOMMODE_PV ? "pv" : mode == HAKO_DOMMODE_TRAP ? "trap" : "?";
}

static int cmd_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage(stderr), EXIT_USAGE;
    struct hako_domctl_info info;
    long d = hos_domctl(HAKO_DOMCTL_NEXT, 0, 0);
    if (d < 0 && errno != ESRCH)
        return fail_errno("list");
    printf("%-4s %-24s %-9s %8s %10s %-4s\n", "ID", "Name", "State", "Mem(MiB)", "Time(s)",
           "Mode");
    for (; d >= 0; d = hos_domctl(HAKO_DOMCTL_NEXT, (uint64_t)d + 1, 0)) {
        if (getinfo((unsigned)d, &info))
            continue;                           /* destroyed meanwhile */
        char name[HAKO_DOMAIN_NAME_MAX + 1];
        memcpy(name, info.name, HAKO_DOMAIN_NAME_MAX);
        name[HAKO_DOMAIN_NAME_MAX] = 0;
        uint64_t ms = info.cpu_time_ns / 1000000;
        printf("%-4ld %-24s %-9s %8llu %6llu.%03llu %-4s", d, name, state_of(&info),
               (unsigned long long)(info.nr_pages * 4096 >> 20), (unsigned long long)(ms / 1000),
               (unsigned long long)(ms % 1000), mode_name(info.mode));
        if (info.state == HAKO_DOMSTATE_SHUTDOWN || info.state == HAKO_DOMSTATE_CRASHED)
            printf("  (code %u)", (unsigned)info.shutdown_code);
        printf("\n");
    }
    return EXIT_OK;
}

/* If arg is "key=value", the value, else NULL. */
static const char *opt(const char *arg, const char *key)
{
    size_t n = strlen(key);
    return strncmp(arg, key, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* A byte count with an optional K, M or G suffix (M when there is none) into 512-byte
 * sectors at *sectors; the rest of the string after it in *end. 0 or -1. */
static int parse_size(const char *s, uint64_t *sectors, const char **end)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (e == s || errno)
        return -1;
    unsigned shift = 20;
    if (*e == 'K' || *e == 'k')
        shift = 10, e++;
    else if (*e == 'M' || *e == 'm')
        e++;
    else if (*e == 'G' || *e == 'g')
        shift = 30, e++;
    if (v > (UINT64_MAX >> shift) || ((v << shift) % 512))
        return -1;
    *sectors = (v << shift) / 512;
    *end = e;
    return 0;
}

/* disk=SIZE or disk=SIZE@START (START where the region begins on dom0's disk). */
static int parse_disk(const char *v, uint64_t *sectors, uint64_t *start)
{
    const char *e;
    if (parse_size(v, sectors, &e) || *sectors == 0)
        return -1;
    *start = HOS_DISK_ANYWHERE;
    if (*e == '@')
        return parse_size(e + 1, start, &e) || *e ? -1 : 0;
    return *e ? -1 : 0;
}

static int cmd_create(int argc, char **argv)
{
    struct hos_domain_create req;
    memset(&req, 0, sizeof(req));
    const char *image = NULL, *initrd = DEFAULT_INITRD, *cmdline = NULL, *privops = NULL, *v;
    static char words[HAKO_CMDLINE_MAX];
    unsigned long mem = DEFAULT_MEM_MB, num;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((v = opt(a, "name"))) {
            if (!*v || strlen(v) >= sizeof(req.name)) {
                fprintf(stderr, "hako: name must be 1..%zu characters\n", sizeof(req.name) - 1);
                return EXIT_USAGE;
            }
            strcpy(req.name, v);
        } else if ((v = opt(a, "mem"))) {
            if (parse_num(v, 1ul << 20, &mem) || mem == 0) {
                fprintf(stderr, "hako: bad mem=%s (MiB, at least 1)\n", v);
                return EXIT_USAGE;
            }
        } else if ((v = opt(a, "weight"))) {
            if (parse_num(v, 65535, &num) || num == 0) {
                fprintf(stderr, "hako: bad weight=%s (1..65535)\n", v);
                return EXIT_USAGE;
            }
            req.weight = (uint16_t)num;
        } else if ((v = opt(a, "cap"))) {
            if (parse_num(v, 100, &num)) {
                fprintf(stderr, "hako: bad cap=%s (0..100 percent)\n", v);
                return EXIT_USAGE;
            }
            req.cap = (uint16_t)num;
        } else if ((v = opt(a, "cmdline"))) {
            cmdline = v;                        /* the shell already removed the quotes */
        } else if ((v = opt(a, "privops"))) {
            if (strcmp(v, "pv") && strcmp(v, "pv-batch") && strcmp(v, "pv-async") &&
                strcmp(v, "trap")) {
                fprintf(stderr, "hako: bad privops=%s (pv, pv-batch, pv-async or trap)\n", v);
                return EXIT_USAGE;
            }
            privops = v;
        } else if ((v = opt(a, "initrd"))) {
            initrd = *v ? v : NULL;             /* initrd= : none */
        } else if ((v = opt(a, "disk"))) {
            if (parse_disk(v, &req.disk_sectors, &req.disk_start)) {
                fprintf(stderr, "hako: bad disk=%s (SIZE or SIZE@START, with K, M or G)\n", v);
                return EXIT_USAGE;
            }
        } else if (!strchr(a, '=') && !image) {
            image = a;
        } else {
            fprintf(stderr, "hako: create: unknown argument '%s'\n", a);
            return usage(stderr), EXIT_USAGE;
        }
    }
    if (!image)
        image = DEFAULT_IMAGE;
    struct stat st;
    if (stat(image, &st) != 0) {
        fprintf(stderr, "hako: bad image: %s: %s\n", image, strerror(errno));
        return EXIT_FAIL;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "hako: bad image: %s: not a regular file\n", image);
        return EXIT_FAIL;
    }
    if (initrd && stat(initrd, &st) != 0) {
        fprintf(stderr, "hako: bad initrd: %s: %s\n", initrd, strerror(errno));
        return EXIT_FAIL;
    }
    req.image_path = (uint64_t)(uintptr_t)image;
    req.initrd_path = (uint64_t)(uintptr_t)initrd;
    if (privops) {                              /* the boot word both sides read */
        int n = snprintf(words, sizeof(words), "privops=%s%s%s", privops, cmdline ? " " : "",
                         cmdline ? cmdline : "");
        if (n < 0 || (size_t)n >= sizeof(words)) {
            fprintf(stderr, "hako: command line too long\n");
            return EXIT_USAGE;
        }
        cmdline = words;
    }
    req.cmdline = (uint64_t)(uintptr_t)cmdline;
    req.mem_pages = (uint64_t)mem << 8;         /* MiB -> 4 KiB pages */
    int id = hos_domain_create(&req);
    if (id < 0 && req.disk_sectors && (errno == ENODEV || errno == ENXIO)) {
        fprintf(stderr, "hako: disk: %s\n", errno == ENODEV ? "dom0 has no disk to share" :
                "the region is outside dom0's disk, overlaps dom0's file system or another "
                "domain's disk, or does not fit");
        return EXIT_FAIL;
    }
    if (id < 0) {
        switch (errno) {
        case EPERM:
        case ENOSYS:
            return fail_errno("create");
        case ENOEXEC:
        case EINVAL:
        case ERANGE:
        case E2BIG:
            fprintf(stderr, "hako: bad image: %s: %s\n", image, strerror(errno));
            return EXIT_FAIL;
        case ENOMEM:
            fprintf(stderr, "hako: not enough memory for a %lu MiB domain (with its image "
                    "and initrd)\n", mem);
            return EXIT_FAIL;
        case ENOSPC:
            fprintf(stderr, "hako: too many domains\n");
            return EXIT_FAIL;
        default:
            return fail_errno("create");
        }
    }
    printf("hako: created domain %d (%s), %lu MiB\n", id, req.name[0] ? req.name : "domU", mem);
    return EXIT_OK;
}

/* destroy, pause, unpause: one domctl on one domain. */
static int cmd_simple(unsigned cmd, const char *verb, int argc, char **argv)
{
    if (argc != 1)
        return usage(stderr), EXIT_USAGE;
    long d = resolve(argv[0]);
    if (d < 0)
        return EXIT_FAIL;
    if (hos_domctl(cmd, (uint64_t)d, 0) < 0) {
        if (errno == EINVAL)
            fprintf(stderr, "hako: cannot %s domain %ld: it is this domain\n", verb, d);
        else if (errno == EBUSY)
            fprintf(stderr, "hako: cannot %s domain %ld: its memory is still mapped "
                    "(detach its console first)\n", verb, d);
        else
            return fail_errno(verb);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_console(int argc, char **argv)
{
    if (argc != 1)
        return usage(stderr), EXIT_USAGE;
    long d = resolve(argv[0]);
    if (d < 0)
        return EXIT_FAIL;
    if (d == 0) {
        fprintf(stderr, "hako: domain 0 has no console ring (this is its console)\n");
        return EXIT_FAIL;
    }
    fprintf(stderr, "hako: connected to domain %ld; detach with ^]\n", d);
    if (hos_console_attach((int)d) < 0)
        return fail_errno("console");
    fprintf(stderr, "\nhako: detached from domain %ld\n", d);
    return EXIT_OK;
}

static int cmd_sched(int argc, char **argv)
{
    if (argc < 1 || argc > 3)
        return usage(stderr), EXIT_USAGE;
    long d = resolve(argv[0]);
    if (d < 0)
        return EXIT_FAIL;
    struct hako_domctl_info info;
    if (getinfo((unsigned)d, &info))
        return fail_errno("sched");
    struct hako_domctl_sched s = { .domid = (uint16_t)d, .weight = info.weight, .cap = info.cap };
    const char *v;
    unsigned long num;
    for (int i = 1; i < argc; i++) {
        if ((v = opt(argv[i], "weight")) && parse_num(v, 65535, &num) == 0 && num > 0) {
            s.weight = (uint16_t)num;
        } else if ((v = opt(argv[i], "cap")) && parse_num(v, 100, &num) == 0) {
            s.cap = (uint16_t)num;
        } else {
            fprintf(stderr, "hako: sched: bad argument '%s' (weight=1..65535, cap=0..100)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (argc > 1 && hos_domctl(HAKO_DOMCTL_SET_SCHED, (uint64_t)(uintptr_t)&s, sizeof(s)) < 0)
        return fail_errno("sched");
    printf("domain %ld: weight %u, cap %u%s\n", d, s.weight, s.cap, s.cap ? "%" : " (none)");
    return EXIT_OK;
}

/* ---- top ---- */

struct sample {
    int present;
    uint64_t cpu_ns, hypercalls, traps, events;
    uint64_t emulated[HAKO_EMUL_KINDS];     /* trap mode, by HAKO_EMUL_* */
    char name[HAKO_DOMAIN_NAME_MAX + 1];
    uint16_t state;
    uint32_t mode;                          /* HAKO_DOMMODE_* */
};

/* Take a sample of every domain into s[MAX_DOMS]; 0 or -1 with errno. */
static int take_sample(struct sample *s)
{
    struct hako_domctl_info info;
    memset(s, 0, sizeof(*s) * MAX_DOMS);
    long d = hos_domctl(HAKO_DOMCTL_NEXT, 0, 0);
    if (d < 0 && errno != ESRCH)
        return -1;
    for (; d >= 0 && d < MAX_DOMS; d = hos_domctl(HAKO_DOMCTL_NEXT, (uint64_t)d + 1, 0)) {
        if (getinfo((unsigned)d, &info))
            continue;
        struct sample *x = &s[d];
        x->present = 1;
        x->cpu_ns = info.cpu_time_ns;
        x->events = info.events;
        for (unsigned i = 0; i < HAKO_DOMCTL_HC_SLOTS; i++)
            x->hypercalls += info.hc_counts[i];
        for (unsigned i = 0; i < 32; i++)
            x->traps += info.traps[i];
        for (unsigned i = 0; i < HAKO_EMUL_KINDS; i++)
            x->emulated[i] = info.emulated[i];
        memcpy(x->name, info.name, HAKO_DOMAIN_NAME_MAX);
        x->state = info.state;
        x->mode = info.mode;
    }
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Per-second rate of a counter that moved by delta in dt_ns. */
static unsigned long long rate(uint64_t delta, uint64_t dt_ns)
{
    return dt_ns ? (unsigned long long)((unsigned __int128)delta * 1000000000u / dt_ns) : 0;
}

/* A trap-mode domain's emulations per second by kind (a before, b after, dt_ns apart; a
 * NULL for a new domain): every kind that has ever counted, and always the refusals. */
static void print_emulated(unsigned d, const struct sample *a, const struct sample *b,
                           uint64_t dt)
{
    printf("     d%u emulated/s:", d);
    for (unsigned k = 0; k < HAKO_EMUL_KINDS; k++)
        if (b->emulated[k] || k == HAKO_EMUL_REFUSED)
            printf(" %s %llu", emul_names[k],
                   rate(b->emulated[k] - (a ? a->emulated[k] : 0), dt));
    printf("\n");
}

static int cmd_top(int argc, char **argv)
{
    unsigned long iterations = 0, delay = 1;     /* 0 iterations: until ^C */
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc && !parse_num(argv[i + 1], 1ul << 30, &iterations))
            i++;
        else if (!strcmp(argv[i], "-d") && i + 1 < argc && !parse_num(argv[i + 1], 3600, &delay) &&
                 delay > 0)
            i++;
        else
            return usage(stderr), EXIT_USAGE;
    }
    static struct sample a[MAX_DOMS], b[MAX_DOMS];
    if (take_sample(a))
        return fail_errno("top");
    uint64_t t0 = now_ns();
    for (unsigned long it = 0; iterations == 0 || it < iterations; it++) {
        sleep((unsigned)delay);
        if (take_sample(b))
            return fail_errno("top");
        uint64_t t1 = now_ns(), dt = t1 - t0;
        printf("\033[H\033[2J");
        printf("hako top: every %lu s (^C to quit)\n", delay);
        printf("%-4s %-20s %-9s %7s %12s %10s %10s %-4s\n", "ID", "Name", "State", "CPU%",
               "hcalls/s", "traps/s", "events/s", "Mode");
        for (unsigned d = 0; d < MAX_DOMS; d++) {
            if (!b[d].present)
                continue;
            int same = a[d].present && !strcmp(a[d].name, b[d].name);  /* else: a new domain */
            uint64_t cpu = same ? b[d].cpu_ns - a[d].cpu_ns : b[d].cpu_ns;
            uint64_t pm = dt ? (uint64_t)((unsigned __int128)cpu * 1000 / dt) : 0;
            printf("%-4u %-20s %-9s %5llu.%llu %12llu %10llu %10llu %-4s\n", d, b[d].name,
                   b[d].state < 4 ? state_names[b[d].state] : "?",
                   (unsigned long long)(pm / 10), (unsigned long long)(pm % 10),
                   rate(b[d].hypercalls - (same ? a[d].hypercalls : 0), dt),
                   rate(b[d].traps - (same ? a[d].traps : 0), dt),
                   rate(b[d].events - (same ? a[d].events : 0), dt), mode_name(b[d].mode));
        }
        for (unsigned d = 0; d < MAX_DOMS; d++) {
            int same = a[d].present && !strcmp(a[d].name, b[d].name);
            if (b[d].present && b[d].mode == HAKO_DOMMODE_TRAP)
                print_emulated(d, same ? &a[d] : NULL, &b[d], dt);
        }
        fflush(stdout);
        memcpy(a, b, sizeof(a));
        t0 = t1;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int n = argc - 2;
    char **args = argv + 2;
    if (!strcmp(cmd, "list"))
        return cmd_list(n, args);
    if (!strcmp(cmd, "create"))
        return cmd_create(n, args);
    if (!strcmp(cmd, "destroy"))
        return cmd_simple(HAKO_DOMCTL_DESTROY, "destroy", n, args);
    if (!strcmp(cmd, "pause"))
        return cmd_simple(HAKO_DOMCTL_PAUSE, "pause", n, args);
    if (!strcmp(cmd, "unpause"))
        return cmd_simple(HAKO_DOMCTL_UNPAUSE, "unpause", n, args);
    if (!strcmp(cmd, "console"))
        return cmd_console(n, args);
    if (!strcmp(cmd, "top"))
        return cmd_top(n, args);
    if (!strcmp(cmd, "sched"))
        return cmd_sched(n, args);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "hako: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
