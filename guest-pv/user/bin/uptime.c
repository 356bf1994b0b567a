/* guest-pv/user/bin/uptime.c: uptime: time since the domain booted. */
#include <stdio.h>
#include <time.h>

#include "hoslib.h"

/* Print the monotonic clock as "up H:MM:SS (S.mmm s)". */
int main(void)
{
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) {
        perror("uptime");
        return 1;
    }
    long long s = (long long)now.tv_sec;
    printf("up %lld:%02lld:%02lld (%lld.%03ld s)\n", s / 3600, s / 60 % 60, s % 60, s,
           now.tv_nsec / 1000000);
    return 0;
}
