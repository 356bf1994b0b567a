/* guest-pv/user/bin/cat.c: cat [file...]: copy files (or stdin; "-" is stdin) to stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Copy everything readable from fd to stdout; 0, or -1 after a message naming name. */
static int copy_fd(int fd, const char *name)
{
    static char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "cat: %s: %s\n", name, strerror(errno));
            return -1;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buf + done, (size_t)(n - done));
            if (w <= 0) {
                fprintf(stderr, "cat: write: %s\n", w < 0 ? strerror(errno) : "no progress");
                return -1;
            }
            done += w;
        }
    }
}

/* Copy each argument (or stdin) in turn; status 1 if any failed. */
int main(int argc, char **argv)
{
    int status = 0;
    if (argc < 2)
        return copy_fd(0, "stdin") < 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            status |= copy_fd(0, "stdin") < 0;
            continue;
        }
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        status |= copy_fd(fd, argv[i]) < 0;
        close(fd);
    }
    return status;
}
