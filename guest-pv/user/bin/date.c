/*
 * guest-pv/user/bin/date.c: print the time of day (UTC).
 */
#include <stdio.h>
#include <time.h>

/* date: the current time, from CLOCK_REALTIME (the hypervisor's wall clock). */
int main(void)
{
    char buf[64];
    time_t now = time(NULL);
    struct tm *tm = gmtime(&now);
    if (!tm || !strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S UTC %Y", tm)) {
        fprintf(stderr, "date: cannot tell the time\n");
        return 1;
    }
    puts(buf);
    return 0;
}
