/* Proves build-newlib.sh's libc/libm link into a freestanding x86-64 image (snprintf "%d %f" + our syscall stubs, below 2 GiB). */
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>

static char heap[64 * 1024];
static size_t heap_used;
static char out[64];
volatile int sink;

int write(int fd, const void *buf, size_t n) { (void)fd; (void)buf; return (int)n; }
int read(int fd, void *buf, size_t n) { (void)fd; (void)buf; (void)n; return 0; }
int close(int fd) { (void)fd; return -1; }
int fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int isatty(int fd) { (void)fd; return 1; }
off_t lseek(int fd, off_t off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int getpid(void) { return 1; }
int kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void *sbrk(ptrdiff_t incr)
{
    if (incr < 0 || heap_used + (size_t)incr > sizeof heap) { errno = ENOMEM; return (void *)-1; }
    void *p = heap + heap_used;
    heap_used += (size_t)incr;
    return p;
}
void _exit(int code) { (void)code; for (;;) __asm__ volatile("hlt"); }

void _start(void)
{
    sink = snprintf(out, sizeof out, "%d %f", 42, 3.25);
    _exit(sink);
}
