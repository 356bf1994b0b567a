/* guest-pv/user/bin/mkdir.c: mkdir [-p] dir...: create directories (-p: parents too, no
 * error if one exists). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hoslib.h"

/* Create path and, with parents, every missing directory above it; 0 or -1 (errno). */
static int make_dir(const char *path, int parents)
{
    if (!parents)
        return mkdir(path, 0755);
    char buf[HOS_PATH_MAX];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    for (char *p = buf; ; p++) {
        if ((*p == '/' && p > buf) || *p == '\0') {    /* "" fails in mkdir() itself */
            char saved = *p;
            *p = '\0';
            struct stat st;
            if (mkdir(buf, 0755) < 0 && !(errno == EEXIST && stat(buf, &st) == 0 &&
                                          S_ISDIR(st.st_mode)))
                return -1;
            *p = saved;
            if (saved == '\0')
                return 0;
        }
    }
}

/* Create each directory named; status 1 if any failed. */
int main(int argc, char **argv)
{
    int parents = argc > 1 && strcmp(argv[1], "-p") == 0;
    int status = 0;
    if (argc < 2 + parents) {
        fprintf(stderr, "usage: mkdir [-p] dir...\n");
        return 1;
    }
    for (int i = 1 + parents; i < argc; i++) {
        if (make_dir(argv[i], parents) < 0) {
            fprintf(stderr, "mkdir: %s: %s\n", argv[i], strerror(errno));
            status = 1;
        }
    }
    return status;
}
