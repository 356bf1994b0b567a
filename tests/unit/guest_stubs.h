/*
 * tests/unit/guest_stubs.h: controls and records of the guest-kernel stubs in
 * guest_stubs.c (page allocator, wakeups, signals, console output) for host tests.
 */
#ifndef GUEST_STUBS_H
#define GUEST_STUBS_H

#include <stddef.h>
#include <stdint.h>

#define STUB_PAGES 20000u        /* pages in the fake pseudo-physical memory */

/* Let the next n pfn_alloc() calls succeed and fail every one after; n < 0 = never fail. */
void stub_fail_after(long n);
/* Pages handed out by pfn_alloc() and not yet freed. */
uint64_t stub_pages_used(void);

/* kwakeup(): how many calls, and the last channel. */
extern unsigned long stub_wakeups;
extern const void *stub_last_wakeup;
/* Was chan woken since the counter was last cleared with stub_wakeups_clear()? */
int stub_woken(const void *chan);
void stub_wakeups_clear(void);

/* ksignal_group(): how many calls, and the last arguments. */
extern unsigned long stub_signals;
extern int stub_signal_pgid, stub_signal_sig;

/* tty_output(): everything written, NUL-terminated (the oldest bytes kept on overflow). */
extern char stub_out[1 << 16];
extern size_t stub_out_len;
void stub_out_clear(void);

/* tty_drained(): how many calls. Each call moves console input held back for lack of
 * room into the tty, as far as tty_room() allows (as console.c does);
 * stub_console_hold() sets that input (the bytes must stay valid) and moves what fits
 * at once, as the console's input event would. */
extern unsigned long stub_drained;
void stub_console_hold(const char *buf, size_t n);

/* Test helper (not a stub): remove everything below the ramfs root, or fail the test. */
void stub_fs_wipe(void);

/* Test fixture helpers (not stubs), for checking that a test gives back what it took.
 * stub_usage_mark(): end failure injection and record the pages and kernel-heap pages in
 * use (the heap's figure also in stub_heap_marked). stub_usage_check(): end failure
 * injection and fail the test unless both are back to the recorded figures.
 * stub_fs_clean_check(): end failure injection, stub_fs_wipe(), then the ramfs must
 * hold no page, then stub_usage_check(). */
extern uint64_t stub_heap_marked;
void stub_usage_mark(void);
void stub_usage_check(void);
void stub_fs_clean_check(void);

#endif /* GUEST_STUBS_H */
