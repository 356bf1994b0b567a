/*
 * guest-pv/kernel/klib.c: strings, a small formatter and kprintf for the guest kernel.
 */
#include "klib.h"

#include "privops.h"

void *memset(void *dst, int c, size_t n)
{
    void *ret = dst;
    uint64_t q = n / 8, r = n % 8;          /* quadwords, then the tail */
    uint64_t v = (unsigned char)c * 0x0101010101010101ull;
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(r) : "a"(v) : "memory");
    return ret;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *ret = dst;
    size_t q = n / 8, r = n % 8;            /* quadwords, then the tail */
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n && *a && *a == *b; n--, a++, b++)
        ;
    return n ? (unsigned char)*a - (unsigned char)*b : 0;
}

int memchr_nul(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i])
            return 1;
    return 0;
}

int cmdline_has(const char *c, const char *word)
{
    size_t n = strlen(word);
    while (*c) {
        if (strncmp(c, word, n) == 0 && (c[n] == ' ' || c[n] == '\0'))
            return 1;
        while (*c && *c != ' ')
            c++;
        while (*c == ' ')
            c++;
    }
    return 0;
}

/* Append character c to the bounded buffer state. */
static void put(char *buf, size_t size, size_t *pos, char c)
{
    if (*pos + 1 < size)
        buf[*pos] = c;
    (*pos)++;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t pos = 0;
    while (*fmt) {
        char c = *fmt++;
        if (c != '%') {
            put(buf, size, &pos, c);
            continue;
        }
        char pad = ' ';
        int width = 0, is_long = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            is_long = 1, fmt++;
        char conv = *fmt ? *fmt++ : '%';
        char digits[24];
        int nd = 0, neg = 0;
        uint64_t v = 0;
        const char *s = NULL;
        switch (conv) {
        case 's':
            s = va_arg(ap, const char *);
            s = s ? s : "(null)";
            break;
        case 'c':
            digits[nd++] = (char)va_arg(ap, int);
            break;
        case 'd': {
            int64_t x = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);
            neg = x < 0;
            v = neg ? 0 - (uint64_t)x : (uint64_t)x;
            break;
        }
        case 'p':
            v = (uintptr_t)va_arg(ap, void *);
            conv = 'x';
            break;
        case 'u':
        case 'x':
            v = is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            break;
        default:
            digits[nd++] = conv;
        }
        if (conv == 'd' || conv == 'u' || conv == 'x') {
            unsigned base = conv == 'x' ? 16 : 10;
            do {
                digits[nd++] = "0123456789abcdef"[v % base];
                v /= base;
            } while (v);
            if (neg)
                digits[nd++] = '-';
        }
        int len = s ? (int)strlen(s) : nd;
        for (; width > len; width--)
            put(buf, size, &pos, pad);
        if (s)
            while (*s)
                put(buf, size, &pos, *s++);
        while (!s && nd)
            put(buf, size, &pos, digits[--nd]);
    }
    if (size)
        buf[pos < size ? pos : size - 1] = '\0';
    return (int)pos;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    privops->console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}
