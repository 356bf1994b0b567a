/* guest-pv/user/bin/reboot.c: reboot: restart this domain (dom0: the machine). */
#include <stdio.h>

#include "hoslib.h"

/* Ask the kernel to reboot; returns only when it refused. */
int main(void)
{
    fflush(NULL);
    hos_reboot(HOS_REBOOT_REBOOT, 0);
    perror("reboot");
    return 1;
}
