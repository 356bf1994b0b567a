/* guest-pv/user/bin/sync.c: sync: write every file system's changes to its disk. */
#include <stdio.h>

#include "hoslib.h"

/* Ask the kernel to sync; status 1 when it failed. */
int main(void)
{
    if (hos_sync() < 0) {
        perror("sync");
        return 1;
    }
    return 0;
}
