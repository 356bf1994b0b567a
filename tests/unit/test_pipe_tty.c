/*
 * tests/unit/test_pipe_tty.c: host cmocka tests for pipes (guest-pv/kernel/pipe.c) and the
 * console tty's line discipline (guest-pv/drivers/tty.c), through the file interface the
 * system calls use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs.h"
#include "kern.h"
#include "guest_stubs.h"

static int setup(void **state)
{
    (void)state;
    tty_init();
    stub_out_clear();
    stub_wakeups_clear();
    stub_signals = 0;
    stub_drained = 0;
    stub_console_hold(NULL, 0);
    stub_usage_mark();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stub_usage_check();
    return 0;
}

static void type(const char *s)
{
    tty_input(s, strlen(s));
}

/* ---- pipes ----------------------------------------------------------------------- */

static void test_pipe_basic(void **state)
{
    (void)state;
    struct file *rd, *wr;
    char buf[64];
    assert_int_equal(pipe_open(&rd, &wr), 0);
    assert_ptr_equal(file_wait_chan(rd), file_wait_chan(wr));
    assert_int_equal(file_read(rd, buf, sizeof(buf)), -HOS_EAGAIN);   /* empty, writer */
    stub_wakeups_clear();
    assert_int_equal(file_write(wr, "abc", 3), 3);
    assert_true(stub_woken(file_wait_chan(rd)));
    stub_wakeups_clear();
    assert_int_equal(file_read(rd, buf, 2), 2);
    assert_memory_equal(buf, "ab", 2);
    assert_true(stub_woken(file_wait_chan(wr)));
    assert_int_equal(file_read(rd, buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 'c');
    assert_int_equal(file_read(rd, buf, 0), 0);
    /* Wrong directions, seeking, stat. */
    assert_int_equal(file_write(rd, "x", 1), -HOS_EBADF);
    assert_int_equal(file_read(wr, buf, 1), -HOS_EBADF);
    assert_int_equal(file_lseek(rd, 0, HOS_SEEK_SET), -HOS_ESPIPE);
    assert_int_equal(file_lseek(wr, 0, HOS_SEEK_CUR), -HOS_ESPIPE);
    struct hos_stat st;
    assert_int_equal(file_fstat(rd, &st), 0);
    assert_int_equal(st.mode & HOS_S_IFMT, HOS_S_IFIFO);
    struct hos_dirent d;
    assert_int_equal(file_readdir(rd, &d), -HOS_ENOTDIR);
    /* Closing the writer: remaining data, then end of file; a dup keeps it open. */
    struct file *wr2 = file_dup(wr);
    assert_int_equal(file_write(wr, "zz", 2), 2);
    file_close(wr);
    assert_int_equal(file_read(rd, buf, 1), 1);
    assert_int_equal(file_read(rd, buf, 1), 1);
    assert_int_equal(file_read(rd, buf, 1), -HOS_EAGAIN);              /* wr2 remains */
    stub_wakeups_clear();
    file_close(wr2);
    assert_true(stub_woken(file_wait_chan(rd)));
    assert_int_equal(file_read(rd, buf, 1), 0);
    file_close(rd);
}

static void test_pipe_full_partial_and_wrap(void **state)
{
    (void)state;
    struct file *rd, *wr;
    assert_int_equal(pipe_open(&rd, &wr), 0);
    static unsigned char out[PIPE_SIZE + 1000], in[PIPE_SIZE + 1000];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i * 13 + 1);
    assert_int_equal(file_write(wr, out, sizeof(out)), PIPE_SIZE);      /* partial */
    assert_int_equal(file_write(wr, out, 1), -HOS_EAGAIN);              /* full */
    assert_int_equal(file_read(rd, in, 1000), 1000);
    assert_memory_equal(in, out, 1000);
    /* Write across the end of the ring and read it all back in order. */
    assert_int_equal(file_write(wr, out + PIPE_SIZE, 1000), 1000);
    size_t got = 1000;
    while (got < sizeof(out)) {
        long r = file_read(rd, in + got, 777);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(in, out, sizeof(out));
    /* Many small rounds through the ring. */
    for (int i = 0; i < 3000; i++) {
        char c = (char)i, back;
        assert_int_equal(file_write(wr, &c, 1), 1);
        assert_int_equal(file_read(rd, &back, 1), 1);
        assert_int_equal(back, c);
    }
    file_close(rd);
    file_close(wr);
}

static void test_pipe_no_reader(void **state)
{
    (void)state;
    struct file *rd, *wr;
    assert_int_equal(pipe_open(&rd, &wr), 0);
    assert_int_equal(file_write(wr, "abc", 3), 3);
    stub_wakeups_clear();
    file_close(rd);
    assert_true(stub_woken(file_wait_chan(wr)));
    assert_int_equal(file_write(wr, "x", 1), -HOS_EPIPE);
    assert_int_equal(file_write(wr, "", 0), -HOS_EPIPE);
    file_close(wr);
}

static void test_pipe_out_of_memory(void **state)
{
    (void)state;
    for (long budget = 0; budget < 8; budget++) {
        stub_fail_after(budget);
        struct file *rd = NULL, *wr = NULL;
        long r = pipe_open(&rd, &wr);
        stub_fail_after(-1);
        if (r == 0) {
            file_close(rd);
            file_close(wr);
        } else {
            assert_int_equal(r, -HOS_ENOMEM);
        }
        stub_usage_check();
    }
}

/* ---- tty: cooked mode ------------------------------------------------------------ */

static void test_tty_lines_and_echo(void **state)
{
    (void)state;
    struct file *t = tty_open();
    assert_non_null(t);
    char buf[64];
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    type("ls -l");
    assert_string_equal(stub_out, "ls -l");
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);    /* no line yet */
    stub_wakeups_clear();
    type("\r");
    assert_true(stub_woken(file_wait_chan(t)));
    assert_string_equal(stub_out, "ls -l\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "ls -l\n", 6);
    /* Two lines typed ahead: one line per read; CR LF counts once; LF alone works. */
    type("one\r\ntwo\nthree\r\r");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "one\n", 4);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "two\n", 4);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "three\n", 6);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 1);               /* empty line */
    assert_int_equal(buf[0], '\n');
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    /* A small buffer reads one line in pieces, never into the next line. */
    type("abcdef\nxy\n");
    assert_int_equal(file_read(t, buf, 4), 4);
    assert_memory_equal(buf, "abcd", 4);
    assert_int_equal(file_read(t, buf, 4), 3);
    assert_memory_equal(buf, "ef\n", 3);
    assert_int_equal(file_read(t, buf, 4), 3);
    assert_memory_equal(buf, "xy\n", 3);
    /* Output, seeking, stat, dup. */
    stub_out_clear();
    assert_int_equal(file_write(t, "out", 3), 3);
    assert_string_equal(stub_out, "out");
    assert_int_equal(file_lseek(t, 0, HOS_SEEK_SET), -HOS_ESPIPE);
    struct hos_stat st;
    assert_int_equal(file_fstat(t, &st), 0);
    assert_int_equal(st.mode & HOS_S_IFMT, HOS_S_IFCHR);
    struct file *t2 = tty_open();
    assert_ptr_equal(file_wait_chan(t2), file_wait_chan(t));   /* one shared tty */
    type("shared\n");
    assert_int_equal(file_read(t2, buf, sizeof(buf)), 7);
    file_close(t2);
    assert_ptr_equal(file_dup(t), t);
    file_close(t);
    file_close(t);
}

static void test_tty_editing(void **state)
{
    (void)state;
    struct file *t = tty_open();
    char buf[64];
    type("helo\bp\x7f" "lo\n");
    assert_string_equal(stub_out, "helo\b \bp\b \blo\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "hello\n", 6);
    stub_out_clear();
    type("\b\x7f" "ab\x15" "cd\n");            /* erase on an empty line does nothing */
    assert_string_equal(stub_out, "ab\b \b\b \bcd\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "cd\n", 3);
    /* A UTF-8 character is erased whole. */
    type("a\xc3\xa9\x7f\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "a\n", 2);
    file_close(t);
}

static void test_tty_ctrl_c(void **state)
{
    (void)state;
    struct file *t = tty_open();
    char buf[64];
    type("partial\x03");
    assert_int_equal(stub_signals, 0);                     /* no foreground group */
    assert_string_equal(stub_out, "partial^C\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);    /* discarded */
    tty_set_fg(42);
    assert_int_equal(tty_fg(), 42);
    type("x\x03" "y\n");
    assert_int_equal(stub_signals, 1);
    assert_int_equal(stub_signal_pgid, 42);
    assert_int_equal(stub_signal_sig, HOS_SIGINT);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "y\n", 2);
    file_close(t);
}

static void test_tty_ctrl_d(void **state)
{
    (void)state;
    struct file *t = tty_open();
    char buf[64];
    type("line\n\x04" "after\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 5);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 0);              /* end of file */
    assert_int_equal(file_read(t, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "after\n", 6);
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    /* ^D in the middle of a line hands over what was typed, without a newline. */
    type("abc\x04");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    file_close(t);
}

static void test_tty_raw_mode(void **state)
{
    (void)state;
    struct file *t = tty_open();
    char buf[64];
    tty_set_fg(7);
    tty_set_mode(HOS_TTY_RAW);
    type("a\x03\x7f\r\x04z");
    assert_int_equal(stub_out_len, 0);                     /* no echo */
    assert_int_equal(stub_signals, 0);                     /* no signal */
    assert_int_equal(file_read(t, buf, 3), 3);
    assert_memory_equal(buf, "a\x03\x7f", 3);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "\r\x04z", 3);
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    /* Switching back: pending raw bytes stay readable, then cooked rules apply. */
    type("qq");
    tty_set_mode(HOS_TTY_COOKED);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "qq", 2);
    type("ok\n");
    assert_string_equal(stub_out, "ok\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 3);
    /* Raw input holding several lines is cut into lines again (typed-ahead commands
     * after a raw session must reach their readers one line at a time). */
    tty_set_mode(HOS_TTY_RAW);
    type("one\ntwo\nthr");
    tty_set_mode(HOS_TTY_COOKED);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "one\n", 4);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "two\n", 4);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "thr", 3);
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    stub_out_len = 0, stub_out[0] = 0;
    /* A half-typed line becomes raw input when switching to raw. */
    type("half");
    tty_set_mode(HOS_TTY_RAW);
    assert_int_equal(file_read(t, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "half", 4);
    tty_set_mode(99);                                      /* ignored */
    type("r");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 1);
    file_close(t);
}

static void test_tty_overflow(void **state)
{
    (void)state;
    struct file *t = tty_open();
    static char big[100000], buf[TTY_IN_SIZE * 2];
    /* One enormous line: kept up to TTY_LINE_MAX, the rest dropped. */
    memset(big, 'x', sizeof(big));
    tty_input(big, sizeof(big));
    type("\n");
    long r = file_read(t, buf, sizeof(buf));
    assert_int_equal(r, TTY_LINE_MAX + 1);
    assert_int_equal(buf[r - 1], '\n');
    assert_int_equal(file_read(t, buf, sizeof(buf)), -HOS_EAGAIN);
    /* Many lines typed ahead: what does not fit is dropped, whole lines only. */
    for (int i = 0; i < 5000; i++)
        type("0123456789\n");
    long total = 0, lines = 0;
    while ((r = file_read(t, buf, sizeof(buf))) > 0) {
        assert_int_equal(r, 11);
        assert_memory_equal(buf, "0123456789\n", 11);
        total += r;
        lines++;
    }
    assert_int_equal(r, -HOS_EAGAIN);
    assert_true(total <= TTY_IN_SIZE);
    assert_true(lines >= 200);
    /* It works again afterwards. */
    type("again\n");
    assert_int_equal(file_read(t, buf, sizeof(buf)), 6);
    /* Raw mode overflow: a flood keeps the first TTY_IN_SIZE bytes. */
    tty_set_mode(HOS_TTY_RAW);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)i;
    tty_input(big, sizeof(big));
    tty_input(big, sizeof(big));
    r = file_read(t, buf, sizeof(buf));
    assert_int_equal(r, TTY_IN_SIZE);
    assert_memory_equal(buf, big, TTY_IN_SIZE);
    tty_input(NULL, 5);
    file_close(t);
}

/* Input the tty had no room for waits in the console; every read that makes room
 * brings it in, whoever reads (the shell through read(), or dom0's console attachment
 * through file_read in raw mode): a 6000-byte paste arrives whole, in order. */
static void test_tty_read_pulls_held_input(void **state)
{
    (void)state;
    static char paste[6000], got[sizeof(paste)];
    for (size_t i = 0; i < sizeof(paste); i++)
        paste[i] = (char)('a' + i % 26);
    for (int raw = 1; raw >= 0; raw--) {
        struct file *t = tty_open();
        if (raw) {
            tty_set_mode(HOS_TTY_RAW);
        } else {
            for (size_t i = 99; i < sizeof(paste); i += 100)
                paste[i] = '\n';                  /* cooked: 60 lines of 100 bytes */
        }
        stub_console_hold(paste, sizeof(paste));   /* the input event: what fits */
        if (raw)
            assert_int_equal(tty_room(), 0);       /* the rest is held back */
        size_t n = 0;
        long r;
        while (n < sizeof(got) && (r = file_read(t, got + n, sizeof(got) - n)) > 0)
            n += (size_t)r;
        assert_int_equal(n, sizeof(paste));
        assert_memory_equal(got, paste, sizeof(paste));
        assert_int_equal(file_read(t, got, sizeof(got)), -HOS_EAGAIN);
        assert_true(stub_drained > 0);
        tty_set_mode(HOS_TTY_COOKED);
        file_close(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_pipe_basic),
        T(test_pipe_full_partial_and_wrap),
        T(test_pipe_no_reader),
        T(test_pipe_out_of_memory),
        T(test_tty_lines_and_echo),
        T(test_tty_editing),
        T(test_tty_ctrl_c),
        T(test_tty_ctrl_d),
        T(test_tty_raw_mode),
        T(test_tty_overflow),
        T(test_tty_read_pulls_held_input),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
