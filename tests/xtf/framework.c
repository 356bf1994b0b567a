/*
 * tests/xtf/framework.c: kernel_main for XTF-style test kernels (see framework.h).
 */
#include "framework.h"

#include <stdarg.h>

#include "privops.h"

enum xtf_status { XTF_SUCCESS, XTF_SKIP, XTF_ERROR, XTF_FAILURE };
static enum xtf_status status = XTF_SUCCESS;
unsigned xtf_checks, xtf_failures;

static void report(enum xtf_status s, const char *tag, const char *fmt, va_list ap)
{
    char buf[400];
    kvsnprintf(buf, sizeof(buf), fmt, ap);
    kprintf("%s: %s\n", tag, buf);
    if (s > status)
        status = s;
}

void xtf_failure(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xtf_failures++;
    report(XTF_FAILURE, "FAIL", fmt, ap);
    va_end(ap);
}

void xtf_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(XTF_ERROR, "ERROR", fmt, ap);
    va_end(ap);
}

void xtf_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(XTF_SKIP, "SKIP", fmt, ap);
    va_end(ap);
}

const char *xtf_errname(long rc)
{
    static const struct { long code; const char *name; } names[] = {
#include "errnames.h"   /* every code in hako/errno.h (scripts/gen-errnames.py) */
    };
    if (rc >= 0)
        return "success";
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (rc == -names[i].code)
            return names[i].name;
    return "-E??? (not a hako error code)";
}

int xtf_expect_rc(long got, long expected, const char *what, const char *expr,
                  const char *file, int line)
{
    xtf_checks++;
    if (got == expected)
        return 1;
    xtf_failure("%s\n      %s\n      got %ld (%s), expected %ld (%s)  [%s:%d]", what, expr,
                got, xtf_errname(got), expected, xtf_errname(expected), file, line);
    return 0;
}

int xtf_check(int ok, const char *fmt, ...)
{
    xtf_checks++;
    if (ok)
        return 1;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    xtf_failure("%s", buf);
    return 0;
}

void kernel_main(const struct hako_start_info *si)
{
    static const char *const names[] = { "SUCCESS", "SKIP", "ERROR", "FAILURE" };
    static const unsigned codes[] = { 0, 0, 2, 1 };
    int known = si->magic == HAKO_START_INFO_MAGIC ? privops_select(si->cmdline) : 0;
    kprintf("--- xtf test: %s ---\n", test_title);
    if (known < 0)
        xtf_error("unknown privops= backend on the command line");
    if (si->magic != HAKO_START_INFO_MAGIC)
        xtf_error("bad start info magic %x", si->magic);
    else if (known == 0) {
        privops->init(si);
        test_main(si);
    }
    if (status == XTF_SUCCESS && xtf_checks == 0)
        xtf_error("the test made no checks and did not skip: no result");
    kprintf("%u checks, %u failed\n", xtf_checks, xtf_failures);
    kprintf("Test result: %s\n", names[status]);
    privops->shutdown(HAKO_SHUTDOWN_POWEROFF, codes[status]);
}

const char *what(const char *fmt, ...)
{
    static char buf[200];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}
