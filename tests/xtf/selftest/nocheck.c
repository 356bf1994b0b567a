/*
 * tests/xtf/selftest/nocheck.c: a test kernel that makes no check. The framework must
 * report ERROR for it, never SUCCESS; tests/run.sh counts a pass only when it does.
 */
#include "framework.h"

const char test_title[] = "framework self-test: no checks";

/* Do nothing a result could come from. */
void test_main(const struct hako_start_info *si)
{
    (void)si;
}
