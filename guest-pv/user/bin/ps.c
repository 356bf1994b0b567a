/* guest-pv/user/bin/ps.c: ps: every process with its parent, state, pages and CPU time. */
#include <stdio.h>

#include "hoslib.h"

/* One letter for a HOS_PROC_* state. */
static char state_letter(uint32_t state)
{
    switch (state) {
    case HOS_PROC_RUNNING:  return 'R';
    case HOS_PROC_SLEEPING: return 'S';
    case HOS_PROC_ZOMBIE:   return 'Z';
    default:                return '?';
    }
}

/* Walk the process table with procinfo and print a line per process. */
int main(void)
{
    struct hos_procinfo pi;
    printf("%5s %5s %5s %s %6s %9s %s\n", "PID", "PPID", "PGID", "S", "PAGES", "CPU(ms)", "NAME");
    for (int pid = 0; hos_procinfo(pid, &pi) >= 0; pid = pi.pid + 1) {
        pi.name[sizeof pi.name - 1] = '\0';
        printf("%5d %5d %5d %c %6llu %9llu %s\n", (int)pi.pid, (int)pi.ppid, (int)pi.pgid,
               state_letter(pi.state), (unsigned long long)pi.pages,
               (unsigned long long)(pi.cpu_ns / 1000000), pi.name);
    }
    return 0;
}
