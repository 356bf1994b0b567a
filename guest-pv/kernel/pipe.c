/*
 * guest-pv/kernel/pipe.c: pipes. A pipe is a one-page ring buffer with a count of open read
 * and write descriptions; each end is a struct file pointing at it, with the ops of its
 * end. The pipe itself is the wait channel of both ends: every change of state (data
 * in, data out, an end closed) wakes everyone sleeping on it.
 */
#include "fs.h"

#include "kern.h"
#include "klib.h"

struct pipe {
    char *buf;                  /* PIPE_SIZE bytes, one page from kmalloc */
    size_t head;                /* next byte to read */
    size_t count;               /* bytes waiting */
    uint32_t readers, writers;  /* open ends (each end is one description) */
};

_Static_assert(PIPE_SIZE == 4096, "a pipe's buffer is one page");

/* read on the read end: what is there (up to n), 0 when empty and no writer remains,
 * -HOS_EAGAIN when empty with writers. */
static long pipe_read(struct file *f, void *buf, size_t n)
{
    struct pipe *p = f->pipe;
    if (n == 0)
        return 0;
    if (p->count == 0)
        return p->writers ? -HOS_EAGAIN : 0;
    if (n > p->count)
        n = p->count;
    char *dst = buf;
    size_t first = PIPE_SIZE - p->head;      /* bytes before the ring wraps */
    if (first > n)
        first = n;
    memcpy(dst, p->buf + p->head, first);
    memcpy(dst + first, p->buf, n - first);
    p->head = (p->head + n) % PIPE_SIZE;
    p->count -= n;
    kwakeup(p);
    return (long)n;
}

/* write on the write end: what fits (up to n), -HOS_EAGAIN when full, -HOS_EPIPE when
 * no reader. */
static long pipe_write(struct file *f, const void *buf, size_t n)
{
    struct pipe *p = f->pipe;
    if (p->readers == 0)
        return -HOS_EPIPE;
    if (n == 0)
        return 0;
    size_t space = PIPE_SIZE - p->count;
    if (space == 0)
        return -HOS_EAGAIN;
    if (n > space)
        n = space;
    const char *src = buf;
    size_t tail = (p->head + p->count) % PIPE_SIZE;
    size_t first = PIPE_SIZE - tail;
    if (first > n)
        first = n;
    memcpy(p->buf + tail, src, first);
    memcpy(p->buf, src + first, n - first);
    p->count += n;
    kwakeup(p);
    return (long)n;
}

/* One end's last description closed; the pipe goes when both ends have. */
static void close_end(struct pipe *p, int writer)
{
    if (writer && p->writers)
        p->writers--;
    else if (!writer && p->readers)
        p->readers--;
    kwakeup(p);
    if (p->readers == 0 && p->writers == 0) {
        kfree(p->buf);
        kfree(p);
    }
}

/* release of the read end: one reader fewer. */
static void pipe_release_reader(struct file *f)
{
    close_end(f->pipe, 0);
}

/* release of the write end: one writer fewer. */
static void pipe_release_writer(struct file *f)
{
    close_end(f->pipe, 1);
}

/* stat of either end: a FIFO, one link, nothing else. */
static void pipe_stat(const struct file *f, struct hos_stat *st)
{
    (void)f;
    memset(st, 0, sizeof(*st));
    st->nlink = 1;
    st->mode = HOS_S_IFIFO | 0600;
}

/* wait_chan of either end: the pipe, which every change of state wakes. */
static const void *pipe_wait_chan(const struct file *f)
{
    return f->pipe;
}

/* The read end: no write, no lseek, no readdir. */
static const struct file_ops pipe_read_end_ops = {
    .read = pipe_read,
    .stat = pipe_stat,
    .release = pipe_release_reader,
    .wait_chan = pipe_wait_chan,
};

/* The write end: no read, no lseek, no readdir. */
static const struct file_ops pipe_write_end_ops = {
    .write = pipe_write,
    .stat = pipe_stat,
    .release = pipe_release_writer,
    .wait_chan = pipe_wait_chan,
};

/* A new pipe: its read end in *rd, its write end in *wr. 0 or -HOS_ENOMEM. */
long pipe_open(struct file **rd, struct file **wr)
{
    struct pipe *p = kmalloc(sizeof(*p));
    char *buf = kmalloc(PIPE_SIZE);
    struct file *r = file_alloc(&pipe_read_end_ops, HOS_O_RDONLY);
    struct file *w = file_alloc(&pipe_write_end_ops, HOS_O_WRONLY);
    if (!p || !buf || !r || !w) {
        kfree(p);
        kfree(buf);
        kfree(r);
        kfree(w);
        return -HOS_ENOMEM;
    }
    p->buf = buf;
    p->readers = p->writers = 1;
    r->pipe = w->pipe = p;
    *rd = r;
    *wr = w;
    return 0;
}
