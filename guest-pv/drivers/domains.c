/*
 * guest-pv/drivers/domains.c: the control domain's side of domain management.
 *
 * dom_create reads a kernel image and an initrd from files into a contiguous kernel
 * window (the hypervisor copies them from there), creates the domain, and attaches a
 * console backend to its console ring at once, so nothing it prints is lost while no
 * one watches (the ring holds the latest output). A domU asked for with a disk gets a
 * region of this kernel's disk, offered through its console page's link area
 * (blkback.c) and announced as "vbd=0" on its command line. dom_console_attach forwards
 * between the local console and the console ring; dom_domctl passes other domctl
 * operations through (DESTROY disconnects the disk and the console first).
 */
#include "domains.h"

#include <hako/console.h>
#include <hako/domctl.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>

#include "blkback.h"
#include "consring.h"
#include "fs.h"
#include "kern.h"
#include "klib.h"
#include "mm.h"
#include "privops.h"
#include "proc.h"

#define WINDOW_BASE  0xFFFFFFFFA0000000ull   /* images being handed to the hypervisor */
#define WINDOW_SIZE  (96ull << 20)
#define DETACH_KEY   0x1d                    /* ^] */
#define DOMCTL_ARG_MAX 1024

/* Each domU's console (from CREATE), to attach its back end again after a failed
 * destroy; the attached back ends themselves are consring_back_of(domid). */
static struct { uint64_t mfn; unsigned port; } consoles[CONSRING_BACK_SLOTS];

/* Map fresh pages at window pages [*n, end); *n counts what is mapped. 0 or
 * -HOS_ENOMEM. */
static long window_map(uint64_t end, uint64_t *pfns, uint64_t *n)
{
    for (; *n < end; (*n)++) {
        uint64_t pfn = pfn_free_count() > USER_RESERVE_PAGES ? pfn_alloc() : 0;
        if (!pfn || mm_map(mm_kernel_root(), WINDOW_BASE + *n * PAGE_SIZE, pfn, PTE_KERNEL_RW)) {
            if (pfn)
                pfn_free(pfn);
            mm_flush();
            return -HOS_ENOMEM;
        }
        pfns[*n] = pfn;
    }
    return mm_flush() ? -HOS_ENOMEM : 0;
}

/* Unmap the window's n pages and free them. */
static void window_unmap(uint64_t *pfns, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        mm_unmap(mm_kernel_root(), WINDOW_BASE + i * PAGE_SIZE);
    mm_flush();
    privops->tlb_flush();                       /* no stale translations of the window */
    for (uint64_t i = 0; i < n; i++)
        pfn_free(pfns[i]);
}

/* Read the whole file at path into the window at offset *used (page-aligned); its
 * length through *len. */
static long window_load(const char *path, uint64_t *used, uint64_t *len, uint64_t *pfns,
                        uint64_t *npfns)
{
    struct file *f;
    struct hos_stat st;
    long rc = fs_open(cur->cwd, path, HOS_O_RDONLY, 0, &f);
    if (rc)
        return rc;
    rc = file_fstat(f, &st);
    if (rc == 0 && (st.mode & HOS_S_IFMT) != HOS_S_IFREG)
        rc = -HOS_EINVAL;
    uint64_t size = (st.size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (rc == 0 && (st.size == 0 || size > WINDOW_SIZE - *used))
        rc = -HOS_EFBIG;
    if (rc == 0 && (rc = window_map((*used + size) / PAGE_SIZE, pfns, npfns)) == 0) {
        char *dst = (char *)(WINDOW_BASE + *used);
        for (uint64_t done = 0; done < st.size && rc == 0;) {
            long r = file_read(f, dst + done, st.size - done);
            rc = r > 0 ? 0 : -HOS_EIO;
            done += r > 0 ? (uint64_t)r : 0;
        }
    }
    file_close(f);
    *len = st.size;
    *used += size;
    return rc;
}

long dom_create(uint64_t req_uva)
{
    static uint64_t pfns[WINDOW_SIZE / PAGE_SIZE];
    struct hos_domain_create req;
    char image[HOS_PATH_MAX], initrd[HOS_PATH_MAX];
    static char cmdline[HAKO_CMDLINE_MAX];
    if (copy_from_user(&cur->vm, &req, req_uva, sizeof(req)))
        return -HOS_EFAULT;
    if (req._pad0 || req.name[sizeof(req.name) - 1] || req.cap > 100)
        return -HOS_EINVAL;
    uint64_t disk_start = req.disk_start;
    if (req.disk_sectors) {                 /* the region first: no domain without it */
        long r = blkback_pick_region(req.disk_sectors, &disk_start);
        if (r)
            return r == -HAKO_ENOENT ? -HOS_ENODEV : r == -HAKO_EINVAL ? -HOS_EINVAL : -HOS_ENXIO;
    }
    long rc = strncpy_from_user(&cur->vm, image, req.image_path, sizeof(image));
    if (rc >= 0 && req.initrd_path)
        rc = strncpy_from_user(&cur->vm, initrd, req.initrd_path, sizeof(initrd));
    /* The new kernel learns its name from its command line (hostname=). */
    size_t prefix = 0;
    if (req.name[0])
        prefix = (size_t)ksnprintf(cmdline, sizeof(cmdline), "hostname=%s ", req.name);
    if (req.disk_sectors)                   /* its block back end is this domain */
        prefix += (size_t)ksnprintf(cmdline + prefix, sizeof(cmdline) - prefix, "vbd=0 ");
    cmdline[prefix] = 0;
    if (rc >= 0 && req.cmdline)
        rc = strncpy_from_user(&cur->vm, cmdline + prefix, req.cmdline, sizeof(cmdline) - prefix);
    if (rc < 0)
        return rc;

    uint64_t used = 0, npfns = 0, image_len = 0, initrd_len = 0;
    struct hako_domctl_create c __attribute__((aligned(8)));
    memset(&c, 0, sizeof(c));
    rc = window_load(image, &used, &image_len, pfns, &npfns);
    uint64_t initrd_off = used;
    if (rc == 0 && req.initrd_path)
        rc = window_load(initrd, &used, &initrd_len, pfns, &npfns);
    if (rc == 0) {
        c.image_va = WINDOW_BASE;
        c.image_len = image_len;
        c.mem_pages = req.mem_pages ? req.mem_pages : 4096;
        c.cmdline_va = (uint64_t)cmdline;
        memcpy(c.name, req.name, sizeof(c.name));
        c.weight = req.weight;
        c.cap = req.cap;
        c.module_va = initrd_len ? WINDOW_BASE + initrd_off : 0;
        c.module_len = initrd_len;
        rc = hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_CREATE, (uint64_t)&c);
    }
    window_unmap(pfns, npfns);
    if (rc < 0)
        return rc;
    if (c.domid < CONSRING_BACK_SLOTS && c.console_mfn) {
        consoles[c.domid].mfn = c.console_mfn;
        consoles[c.domid].port = c.console_port;
        consring_back_attach(c.domid, c.console_mfn, c.console_port);
    }
    if (c.domid < CONSRING_BACK_SLOTS && !consring_back_of(c.domid))
        kprintf("domains: d%u has no console backend\n", c.domid);
    struct consring_back *b = c.domid < CONSRING_BACK_SLOTS ? consring_back_of(c.domid) : NULL;
    if (req.disk_sectors && (!b || blkback_offer(c.domid, &consring_back_page(b)->vbd,
                                                 disk_start, req.disk_sectors))) {
        kprintf("domains: d%u: cannot offer its disk: destroyed\n", c.domid);
        if (b)
            consring_back_detach(b);
        hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_DESTROY, c.domid);
        return -HOS_ENXIO;
    }
    return rc;
}

/* The argument domctl command cmd takes: the size of its structure, 0 for a number, or
 * -1 for a command not passed through (CREATE: images come from files, domain_create;
 * unknown ones: the hypervisor would take arg for a pointer into this kernel). */
static long domctl_arg_size(uint64_t cmd)
{
    switch (cmd) {
    case HAKO_DOMCTL_DESTROY:
    case HAKO_DOMCTL_PAUSE:
    case HAKO_DOMCTL_UNPAUSE:
    case HAKO_DOMCTL_NEXT:      return 0;
    case HAKO_DOMCTL_GETINFO:   return sizeof(struct hako_domctl_info);
    case HAKO_DOMCTL_SET_SCHED: return sizeof(struct hako_domctl_sched);
    default:                    return -1;
    }
}

long dom_domctl(uint64_t cmd, uint64_t arg, uint64_t len)
{
    static uint64_t buf[DOMCTL_ARG_MAX / 8];
    _Static_assert(sizeof(struct hako_domctl_info) <= sizeof(buf), "domctl buffer too small");
    long size = domctl_arg_size(cmd);
    if (size < 0 || len != (uint64_t)size)
        return -HOS_EINVAL;
    struct consring_back *b = cmd == HAKO_DOMCTL_DESTROY ? consring_back_of(arg) : NULL;
    if (cmd == HAKO_DOMCTL_DESTROY && arg < 0x7FF0)
        blkback_disconnect((unsigned)arg);     /* no DMA may reach its freed frames */
    if (b) {
        consring_back_detach(b);               /* the hypervisor refuses while mapped */
        long rc = hako_hypercall2(HAKO_HC_domctl, cmd, arg);
        if (rc)                                /* still there: serve its console again */
            consring_back_attach((unsigned)arg, consoles[arg].mfn, consoles[arg].port);
        return rc;
    }
    if (len == 0)
        return hako_hypercall2(HAKO_HC_domctl, cmd, arg);
    if (copy_from_user(&cur->vm, buf, arg, len))
        return -HOS_EFAULT;
    long rc = hako_hypercall2(HAKO_HC_domctl, cmd, (uint64_t)buf);
    if (copy_to_user(&cur->vm, arg, buf, len))
        return -HOS_EFAULT;
    return rc;
}

/* Is domain domid still running (not stopped, crashed or gone)? */
static int domain_alive(unsigned domid)
{
    static struct hako_domctl_info info __attribute__((aligned(8)));
    memset(&info, 0, sizeof(info));
    info.domid = (uint16_t)domid;
    return hako_hypercall2(HAKO_HC_domctl, HAKO_DOMCTL_GETINFO, (uint64_t)&info) == 0 &&
           info.state <= HAKO_DOMSTATE_PAUSED;
}

long dom_console_attach(uint64_t domid)
{
    struct consring_back *b = consring_back_of(domid);
    if (!b)
        return -HOS_ENOENT;
    struct file *tty = tty_open();
    char buf[256];
    long rc = 0;
    tty_set_mode(HOS_TTY_RAW);
    for (;;) {
        long n;
        while ((n = consring_back_read(b, buf, sizeof(buf))) > 0)  /* all it has said */
            tty_output(buf, (size_t)n);
        /* Byte by byte, so input typed after ^] stays for whoever reads next. */
        int detach = 0;
        for (n = 0; n < (long)sizeof(buf) && file_read(tty, buf + n, 1) == 1; n++)
            if (buf[n] == DETACH_KEY) {
                detach = 1;
                break;
            }
        if (n > 0)
            consring_back_write(b, buf, (size_t)n);
        if (detach)
            break;
        if (!domain_alive((unsigned)domid)) {
            tty_output("\r\n[domain stopped]\r\n", 20);
            break;
        }
        if ((rc = proc_sleep(b, ktime_ns() + 20000000ull)) < 0)
            break;
        if (consring_back_of(domid) != b) { /* destroyed (and b freed) while asleep */
            tty_output("\r\n[domain stopped]\r\n", 20);
            break;
        }
    }
    tty_set_mode(HOS_TTY_COOKED);
    file_close(tty);
    return rc;
}
