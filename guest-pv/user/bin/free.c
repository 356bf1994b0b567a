/* guest-pv/user/bin/free.c: free: the domain's memory in KiB (total, used, free, and
 * what the kernel and file data hold). */
#include <stdio.h>

#include "hoslib.h"

/* Print one table row from hos_meminfo. */
int main(void)
{
    struct hos_meminfo mi;
    if (hos_meminfo(&mi) < 0) {
        perror("free");
        return 1;
    }
    unsigned long long kib = mi.page_size / 1024;
    printf("%-5s %10s %10s %10s %10s %10s\n", "KiB", "total", "used", "free", "kernel", "files");
    printf("%-5s %10llu %10llu %10llu %10llu %10llu\n", "Mem:",
           (unsigned long long)mi.total_pages * kib,
           (unsigned long long)(mi.total_pages - mi.free_pages) * kib,
           (unsigned long long)mi.free_pages * kib, (unsigned long long)mi.kernel_pages * kib,
           (unsigned long long)mi.file_pages * kib);
    return 0;
}
