/* guest-pv/user/bin/rm.c: rm [-r] path...: remove files (and empty directories); -r
 * removes directories with everything in them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoslib.h"

/* Remove everything inside directory path, then path itself; 0 or -1 (errno). */
static int remove_tree(const char *path)
{
    HOS_DIR *dir = hos_opendir(path);
    if (!dir)
        return -1;
    struct hos_dirent *de;
    int status = 0;
    while ((de = hos_readdir(dir)) != NULL) {
        if (strcmp(de->name, ".") == 0 || strcmp(de->name, "..") == 0)
            continue;
        char child[HOS_PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, de->name) >= (int)sizeof child) {
            errno = ENAMETOOLONG;
            status = -1;
            break;
        }
        int ret = (de->mode & S_IFMT) == S_IFDIR ? remove_tree(child) : unlink(child);
        if (ret < 0) {
            fprintf(stderr, "rm: %s: %s\n", child, strerror(errno));
            status = -1;
        }
    }
    hos_closedir(dir);
    return status < 0 ? -1 : unlink(path);
}

/* Remove each path; status 1 if any failed. */
int main(int argc, char **argv)
{
    int recursive = argc > 1 && strcmp(argv[1], "-r") == 0;
    int status = 0;
    if (argc < 2 + recursive) {
        fprintf(stderr, "usage: rm [-r] path...\n");
        return 1;
    }
    for (int i = 1 + recursive; i < argc; i++) {
        struct stat st;
        int is_dir = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode);
        if ((recursive && is_dir ? remove_tree(argv[i]) : unlink(argv[i])) < 0) {
            fprintf(stderr, "rm: %s: %s\n", argv[i], strerror(errno));
            status = 1;
        }
    }
    return status;
}
