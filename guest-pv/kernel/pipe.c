/*
 * guest-pv/kernel/pipe.c: pipes. A pipe is a one-page ring buffer with a count of open read
 * and write descriptions; each end is a struct file (FILE_PIPE_READ / FILE_PIPE_WRITE)
 * pointing at it. The pipe itself is the wait channel of both ends: every change of
 * state (data in, data out, an end closed) wakes everyone sleeping on it.
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

/* A new pipe: its read end in *rd, its write end in *wr. 0 or -HOS_ENOMEM. */
long pipe_open(struct file **rd, struct file **wr)
{
    struct pipe *p = kmalloc(sizeof(*p));
    char *buf = kmalloc(PIPE_SIZE);
    struct file *r = file_alloc(FILE_PIPE_READ, HOS_O_RDONLY);
    struct file *w = file_alloc(FILE_PIPE_WRITE, HOS_O_WRONLY);
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

/* Read what is there (up to n): bytes, 0 when empty and no writer remains, -HOS_EAGAIN
 * when empty with writers. */
long pipe_read(struct pipe *p, void *buf, size_t n)
{
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

/* Write what fits (up to n): bytes, -HOS_EAGAIN when full, -HOS_EPIPE when no reader. */
long pipe_write(struct pipe *p, const void *buf, size_t n)
{
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
void pipe_close_end(struct pipe *p, int writer)
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
