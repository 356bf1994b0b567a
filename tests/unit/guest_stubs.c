/*
 * tests/unit/guest_stubs.c: what the guest kernel's file layer needs from the rest of
 * the guest kernel, for host tests: a page allocator over an mmap'ed arena (with failure
 * injection, double-free detection and ASan poisoning of free pages), and recorders for
 * kwakeup, ksignal_group and tty_output.
 */
#include "guest_stubs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "blkdev.h"
#include "fs.h"
#include "kern.h"
#include "mm.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n)   ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

static char *arena;             /* pfn p is at arena + p * PAGE_SIZE; pfn 0 is unused */
static uint64_t free_stack[STUB_PAGES];
static uint64_t free_top;
static unsigned char in_use[STUB_PAGES];
static long fail_after = -1;

unsigned long stub_wakeups;
const void *stub_last_wakeup;
static const void *woken[4096];
static size_t nwoken;
unsigned long stub_signals;
int stub_signal_pgid, stub_signal_sig;
char stub_out[1 << 16];
size_t stub_out_len;

/* Map the arena and fill the free stack so that low pfns come out first. */
static void arena_init(void)
{
    if (arena)
        return;
    arena = mmap(NULL, (size_t)STUB_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    for (uint64_t pfn = STUB_PAGES - 1; pfn >= 1; pfn--)
        free_stack[free_top++] = pfn;
}

void stub_fail_after(long n)
{
    fail_after = n;
}

uint64_t stub_pages_used(void)
{
    arena_init();
    return STUB_PAGES - 1 - free_top;
}

uint64_t pfn_alloc(void)
{
    arena_init();
    if (fail_after == 0 || free_top == 0)
        return 0;
    if (fail_after > 0)
        fail_after--;
    uint64_t pfn = free_stack[--free_top];
    in_use[pfn] = 1;
    ASAN_UNPOISON_MEMORY_REGION(arena + pfn * PAGE_SIZE, PAGE_SIZE);
    memset(arena + pfn * PAGE_SIZE, 0, PAGE_SIZE);
    return pfn;
}

void pfn_free(uint64_t pfn)
{
    arena_init();
    if (pfn == 0 || pfn >= STUB_PAGES || !in_use[pfn]) {
        fprintf(stderr, "pfn_free(%lu): not allocated\n", (unsigned long)pfn);
        abort();
    }
    in_use[pfn] = 0;
    ASAN_UNPOISON_MEMORY_REGION(arena + pfn * PAGE_SIZE, PAGE_SIZE); /* heap poisoning */
    memset(arena + pfn * PAGE_SIZE, 0xdb, PAGE_SIZE);
    ASAN_POISON_MEMORY_REGION(arena + pfn * PAGE_SIZE, PAGE_SIZE);
    free_stack[free_top++] = pfn;
}

uint64_t pfn_free_count(void)
{
    arena_init();
    return free_top;
}

void *pfn_to_va(uint64_t pfn)
{
    arena_init();
    return arena + pfn * PAGE_SIZE;
}

void kwakeup(const void *chan)
{
    stub_wakeups++;
    stub_last_wakeup = chan;
    if (nwoken < sizeof(woken) / sizeof(woken[0]))
        woken[nwoken++] = chan;
}

int stub_woken(const void *chan)
{
    for (size_t i = 0; i < nwoken; i++)
        if (woken[i] == chan)
            return 1;
    return 0;
}

void stub_wakeups_clear(void)
{
    nwoken = 0;
}

void ksignal_group(int pgid, int sig)
{
    stub_signals++;
    stub_signal_pgid = pgid;
    stub_signal_sig = sig;
}

uint64_t ktime_ns(void)
{
    static uint64_t now = 1000000000ull;
    return now += 1000;
}

uint64_t krealtime_ns(void)
{
    return ktime_ns() + 1700000000ull * 1000000000ull;
}

void tty_output(const char *buf, size_t n)
{
    size_t room = sizeof(stub_out) - 1 - stub_out_len;
    if (n > room)
        n = room;
    memcpy(stub_out + stub_out_len, buf, n);
    stub_out_len += n;
    stub_out[stub_out_len] = 0;
}

unsigned long stub_drained;
static const char *held;
static size_t nheld;

/* Move held console input into the tty, as much as fits. */
static void console_move(void)
{
    size_t n = tty_room();
    if (n > nheld)
        n = nheld;
    if (n)
        tty_input(held, n);
    held += n;
    nheld -= n;
}

void stub_console_hold(const char *buf, size_t n)
{
    held = buf;
    nheld = n;
    console_move();
}

void tty_drained(void)
{
    stub_drained++;
    console_move();
}

void stub_out_clear(void)
{
    stub_out_len = 0;
    stub_out[0] = 0;
}

/* Remove the first entry (other than "." and "..") of the directory at path, descending
 * into directories first: 1 if something was removed, 0 when it is empty. */
static int wipe_one(const char *path)
{
    struct file *f;
    if (fs_open(NULL, path, HOS_O_RDONLY | HOS_O_DIRECTORY, 0, &f) < 0)
        abort();
    struct hos_dirent d;
    int found = 0;
    char child[HOS_PATH_MAX];
    while (file_readdir(f, &d) == 1) {
        if (strcmp(d.name, ".") == 0 || strcmp(d.name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", d.name);
        found = 1;
        break;
    }
    file_close(f);
    if (!found)
        return 0;
    if ((d.mode & HOS_S_IFMT) == HOS_S_IFDIR)
        while (wipe_one(child))
            ;
    if (fs_unlink(NULL, child) < 0) {
        fprintf(stderr, "stub_fs_wipe: cannot remove %s\n", child);
        abort();
    }
    return 1;
}

void stub_fs_wipe(void)
{
    long saved = fail_after;
    fail_after = -1;
    while (wipe_one("/"))
        ;
    fail_after = saved;
}

uint64_t stub_heap_marked;
static uint64_t pages_marked;

void stub_usage_mark(void)
{
    stub_fail_after(-1);
    pages_marked = stub_pages_used();
    stub_heap_marked = kmalloc_pages();
}

void stub_usage_check(void)
{
    stub_fail_after(-1);
    assert_int_equal(kmalloc_pages(), stub_heap_marked);
    assert_int_equal(stub_pages_used(), pages_marked);
}

void stub_fs_clean_check(void)
{
    stub_fail_after(-1);
    stub_fs_wipe();
    assert_int_equal(fs_file_pages(), 0);
    stub_usage_check();
}

/* No disk in these tests (a test that has one defines a strong blkdev_disk). */
__attribute__((weak)) struct blkdev *blkdev_disk(void)
{
    return NULL;
}
