/*
 * tests/xtf/framework.h: a tiny XTF-style framework for hako test kernels.
 *
 * A test file defines `const char test_title[]` and `void test_main(si)`. The framework
 * prints a banner, runs test_main, then prints exactly one result line and powers off:
 *   Test result: SUCCESS  (status 0)   every check passed
 *   Test result: SKIP     (status 0)   the test does not apply here
 *   Test result: ERROR    (status 2)   the test itself could not run properly
 *   Test result: FAILURE  (status 1)   the thing tested is wrong
 * The worst outcome reported wins (FAILURE > ERROR > SKIP > SUCCESS). SUCCESS needs at
 * least one check: a test that returns with no check made and no SKIP reports ERROR.
 * None of the xtf_* reporters stop the test; return from test_main to give up early.
 */
#ifndef XTF_FRAMEWORK_H
#define XTF_FRAMEWORK_H

#include <hako/arch-x86_64.h>
#include <hako/hcall.h>
#include <hako/hypercall.h>
#include <hako/start_info.h>

#include "klib.h"

#define XTF_FMT __attribute__((format(printf, 1, 2)))

extern const char test_title[];
void test_main(const struct hako_start_info *si);

void xtf_failure(const char *fmt, ...) XTF_FMT;   /* prints "FAIL: ...", continues */
void xtf_error(const char *fmt, ...) XTF_FMT;     /* prints "ERROR: ..." */
void xtf_skip(const char *fmt, ...) XTF_FMT;      /* prints "SKIP: ..." */

/* "-EFAULT" for -HAKO_EFAULT, "0"/"ok" style for >= 0, "-E???" for an unknown code. */
const char *xtf_errname(long rc);

/* Count one check; on mismatch report a failure naming the call and both codes. */
int xtf_expect_rc(long got, long expected, const char *what, const char *expr,
                  const char *file, int line);
/* Count one check; on !ok report a failure with the formatted message. */
int xtf_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks run and failed so far. */
extern unsigned xtf_checks, xtf_failures;

/* Format a check description into a static buffer (valid until the next call). */
const char *what(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define XTF_EXPECT_RC(expr, expected, what) \
    xtf_expect_rc((long)(expr), (long)(expected), (what), #expr, __FILE__, __LINE__)

#define XTF_CHECK(cond, ...) xtf_check(!!(cond), __VA_ARGS__)

#endif /* XTF_FRAMEWORK_H */
