/* guest-pv/user/bin/kill.c: kill [-9|-15|-2|-KILL|-TERM|-INT] pid...: send a signal
 * (SIGTERM unless given); a negative pid names a process group. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The signal number an option names ("9", "KILL", "SIGKILL"), or -1. */
static int parse_signal(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
    };
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    char *end;
    long n = strtol(s, &end, 10);
    return (*s && !*end && n > 0 && n < 32) ? (int)n : -1;
}

/* Send the signal to every pid given; status 1 if any failed. */
int main(int argc, char **argv)
{
    int sig = SIGTERM, first = 1, status = 0;
    if (argc > 1 && argv[1][0] == '-' && !(argv[1][1] >= '0' && argv[1][1] <= '9' && argc == 2)) {
        sig = parse_signal(argv[1] + 1);
        first = 2;
    }
    if (sig < 0 || first >= argc) {
        fprintf(stderr, "usage: kill [-9|-15|-2|-KILL|-TERM|-INT] pid...\n");
        return 1;
    }
    for (int i = first; i < argc; i++) {
        char *end;
        long pid = strtol(argv[i], &end, 10);
        if (!*argv[i] || *end || pid == 0) {
            fprintf(stderr, "kill: %s: not a pid\n", argv[i]);
            status = 1;
        } else if (kill((pid_t)pid, sig) < 0) {
            fprintf(stderr, "kill: %ld: %s\n", pid, strerror(errno));
            status = 1;
        }
    }
    return status;
}
