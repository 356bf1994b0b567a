/* guest-pv/user/bin/sleep.c: sleep seconds: wait that long (fractions allowed: 0.25). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hoslib.h"

/* Sleep for the number of seconds in argv[1]. */
int main(int argc, char **argv)
{
    char *end;
    double seconds = argc == 2 ? strtod(argv[1], &end) : -1;
    if (argc != 2 || *end != '\0' || end == argv[1] || seconds < 0 || seconds > 1e9) {
        fprintf(stderr, "usage: sleep seconds\n");
        return 1;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999)
        ts.tv_nsec = 999999999;
    if (nanosleep(&ts, NULL) < 0) {
        perror("sleep");
        return 1;
    }
    return 0;
}
