/*
 * guest-pv/kernel/klib.h: the guest kernel's freestanding library (strings, formatting, console).
 */
#ifndef GUEST_KLIB_H
#define GUEST_KLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* Is there a NUL among the first n bytes of s? */
int memchr_nul(const char *s, size_t n);

/* Does the space-separated command line contain the word `word` (exactly)? */
int cmdline_has(const char *cmdline, const char *word);

/* Format like snprintf: %s %c %d %u %x %p, 'l' size, '0' padding and width. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Format into buf like snprintf (same conversions as kvsnprintf). */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print through the privileged-operations table's console. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GUEST_KLIB_H */
