/* guest-pv/user/bin/poweroff.c: poweroff [code]: shut this domain down (dom0: the
 * machine); the code becomes its exit status (dom0's: make run's status). */
#include <stdio.h>
#include <stdlib.h>

#include "hoslib.h"

/* Ask the kernel to power off; returns only when it refused. */
int main(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 0;
    fflush(NULL);
    hos_reboot(HOS_REBOOT_POWEROFF, code);
    perror("poweroff");
    return 1;
}
