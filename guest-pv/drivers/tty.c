/*
 * guest-pv/drivers/tty.c: the console tty and its line discipline.
 *
 * Input arrives through tty_input() (from the console event handler) and is kept in
 * two places: the line being edited (cooked mode only) and a ring of input ready for
 * readers. In cooked mode the ring is cut into records, one per completed line (a
 * record of length 0 is an end-of-file from ^D), and a read returns bytes of the first
 * record only, so at most one line. In raw mode the ring is a plain byte stream.
 * Input that does not fit is dropped; nothing here ever blocks.
 */
#include "fs.h"

#include "kern.h"
#include "klib.h"

#define TTY_RECORDS 256         /* completed lines waiting (cooked mode) */

#define CH_CTRL_C   0x03
#define CH_CTRL_D   0x04
#define CH_BS       0x08
#define CH_CTRL_U   0x15
#define CH_DEL      0x7f

static struct {
    int mode;                   /* HOS_TTY_* */
    int fg;                     /* foreground process group, 0 = none */
    int last_cr;                /* the previous byte was CR: a following LF is its pair */
    char ring[TTY_IN_SIZE];     /* input ready for readers */
    size_t head, count;
    uint32_t recs[TTY_RECORDS]; /* cooked: byte counts of the ready lines, in order */
    size_t rec_head, rec_count;
    char line[TTY_LINE_MAX];    /* cooked: the line being edited */
    size_t line_len;
} tty;

/* Reset the line discipline: cooked, no foreground group, no input. */
void tty_init(void)
{
    memset(&tty, 0, sizeof(tty));
}

/* A new description of the console, O_RDWR; NULL when out of memory. */
struct file *tty_open(void)
{
    return file_alloc(&tty_file_ops, HOS_O_RDWR);
}

/* Make pgid the foreground process group (^C goes to it); 0 = none. */
void tty_set_fg(int pgid)
{
    tty.fg = pgid;
}

/* The foreground process group, 0 = none. */
int tty_fg(void)
{
    return tty.fg;
}


/* Echo typed input (cooked mode only). */
static void echo(const char *s, size_t n)
{
    if (tty.mode == HOS_TTY_COOKED)
        tty_output(s, n);
}

/* Append n bytes to the ready ring: 1, or 0 (nothing added) when they do not fit. */
static int ring_put(const char *s, size_t n)
{
    if (n > TTY_IN_SIZE - tty.count)
        return 0;
    for (size_t i = 0; i < n; i++)
        tty.ring[(tty.head + tty.count + i) % TTY_IN_SIZE] = s[i];
    tty.count += n;
    return 1;
}

/* Move n bytes (n <= count) from the ring to dst. */
static void ring_take(char *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = tty.ring[(tty.head + i) % TTY_IN_SIZE];
    tty.head = (tty.head + n) % TTY_IN_SIZE;
    tty.count -= n;
}

/* Complete the edited line (with a '\n' when newline) as one record; a line that does
 * not fit is dropped. An empty line without newline is an end-of-file record. */
static void deliver_line(int newline)
{
    size_t len = tty.line_len + (newline ? 1 : 0);
    if (tty.rec_count < TTY_RECORDS && len <= TTY_IN_SIZE - tty.count) {
        ring_put(tty.line, tty.line_len);
        if (newline)
            ring_put("\n", 1);
        tty.recs[(tty.rec_head + tty.rec_count) % TTY_RECORDS] = (uint32_t)len;
        tty.rec_count++;
        kwakeup(&tty);
    }
    tty.line_len = 0;
}

/* Erase the last character of the edited line (all bytes of a UTF-8 sequence): 1 if
 * there was one. */
static int erase_char(void)
{
    if (tty.line_len == 0)
        return 0;
    while (tty.line_len > 1 && (tty.line[tty.line_len - 1] & 0xc0) == 0x80)
        tty.line_len--;                      /* continuation bytes */
    tty.line_len--;
    echo("\b \b", 3);
    return 1;
}

/* One input byte in cooked mode. */
static void cooked_input(char c)
{
    int was_cr = tty.last_cr;
    tty.last_cr = c == '\r';
    switch (c) {
    case '\n':
        if (was_cr)
            return;                          /* the LF of a CR LF pair */
        /* fall through */
    case '\r':
        echo("\n", 1);
        deliver_line(1);
        return;
    case CH_BS:
    case CH_DEL:
        erase_char();
        return;
    case CH_CTRL_U:
        while (erase_char())
            ;
        return;
    case CH_CTRL_C:
        tty.line_len = 0;
        echo("^C\n", 3);
        if (tty.fg > 0)
            ksignal_group(tty.fg, HOS_SIGINT);
        return;
    case CH_CTRL_D:
        deliver_line(0);                     /* at line start: end of file */
        return;
    default:
        if (tty.line_len < TTY_LINE_MAX) {
            tty.line[tty.line_len++] = c;
            echo(&c, 1);
        }
        return;
    }
}

/* How many input bytes fit now without anything being dropped (the line being edited
 * counts as used: it needs room in the ring when it is finished). */
size_t tty_room(void)
{
    size_t used = tty.count + tty.line_len;
    if (tty.rec_count >= TTY_RECORDS - 1 || used >= TTY_IN_SIZE)
        return 0;
    return TTY_IN_SIZE - used;
}

/* Console bytes arrived: edit, echo, signal and buffer them; wake readers. */
void tty_input(const char *buf, size_t n)
{
    if (!buf)
        return;
    if (tty.mode == HOS_TTY_RAW) {
        size_t fit = TTY_IN_SIZE - tty.count;
        ring_put(buf, n < fit ? n : fit);
        if (n)
            kwakeup(&tty);
        return;
    }
    for (size_t i = 0; i < n; i++)
        cooked_input(buf[i]);
}

/* Switch between cooked and raw input; pending input stays readable. */
void tty_set_mode(int mode)
{
    if ((mode != HOS_TTY_COOKED && mode != HOS_TTY_RAW) || mode == tty.mode)
        return;
    if (mode == HOS_TTY_RAW) {
        size_t fit = TTY_IN_SIZE - tty.count;  /* the half-typed line becomes input */
        ring_put(tty.line, tty.line_len < fit ? tty.line_len : fit);
        tty.line_len = 0;
        tty.rec_count = tty.rec_head = 0;
    } else {                                   /* raw bytes become lines again */
        tty.rec_head = tty.rec_count = 0;
        uint32_t len = 0;
        for (size_t i = 0; i < tty.count; i++) {
            len++;
            if (tty.ring[(tty.head + i) % TTY_IN_SIZE] == '\n' || i + 1 == tty.count) {
                if (tty.rec_count == TTY_RECORDS - 1) {   /* the rest as one record */
                    tty.recs[tty.rec_count++] = (uint32_t)(tty.count - i - 1) + len;
                    break;
                }
                tty.recs[tty.rec_count++] = len;
                len = 0;
            }
        }
    }
    tty.last_cr = 0;
    tty.mode = mode;
    kwakeup(&tty);
}

/* read on a tty description: at most one line in cooked mode; 0 at an end of file
 * (^D); -HOS_EAGAIN when nothing is ready. Whatever was taken makes room for input the
 * console held back (tty_drained), whoever the reader is. */
static long tty_read(struct file *f, void *buf, size_t n)
{
    (void)f;
    if (n == 0)
        return 0;
    if (tty.mode == HOS_TTY_RAW) {
        if (tty.count == 0)
            return -HOS_EAGAIN;
        if (n > tty.count)
            n = tty.count;
        ring_take(buf, n);
    } else {
        if (tty.rec_count == 0)
            return -HOS_EAGAIN;
        uint32_t *rec = &tty.recs[tty.rec_head];
        if (n > *rec)
            n = *rec;
        ring_take(buf, n);
        *rec -= (uint32_t)n;
        if (*rec == 0) {                       /* line (or end of file) consumed */
            tty.rec_head = (tty.rec_head + 1) % TTY_RECORDS;
            tty.rec_count--;
        }
    }
    tty_drained();
    return (long)n;
}

/* write on a tty description: console output, everything is taken. */
static long tty_write(struct file *f, const void *buf, size_t n)
{
    (void)f;
    if (n > (1ul << 30))
        n = 1ul << 30;
    tty_output(buf, n);
    return (long)n;
}

/* stat of a tty description: a character device, one link, nothing else. */
static void tty_stat(const struct file *f, struct hos_stat *st)
{
    (void)f;
    memset(st, 0, sizeof(*st));
    st->nlink = 1;
    st->mode = HOS_S_IFCHR | 0620;
}

/* wait_chan of a tty description: the one tty all descriptions share. */
static const void *tty_file_wait_chan(const struct file *f)
{
    (void)f;
    return &tty;
}

/* Descriptions of the console: no lseek, no readdir, nothing to release. */
const struct file_ops tty_file_ops = {
    .read = tty_read,
    .write = tty_write,
    .stat = tty_stat,
    .wait_chan = tty_file_wait_chan,
};
