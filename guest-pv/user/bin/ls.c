/* guest-pv/user/bin/ls.c: ls [-l] [-a] [path...]: list directories (sorted) and name
 * files; -l adds the mode and the size, -a shows names starting with '.'. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hoslib.h"

static int long_format;
static int show_hidden;

/* Write mode as the usual ten characters ("drwxr-xr-x") into out[11]. */
static void mode_string(unsigned mode, char *out)
{
    static const char rwx[] = "rwxrwxrwx";
    switch (mode & S_IFMT) {
    case S_IFDIR: out[0] = 'd'; break;
    case S_IFCHR: out[0] = 'c'; break;
    case S_IFIFO: out[0] = 'p'; break;
    default:      out[0] = '-'; break;
    }
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
    out[10] = '\0';
}

/* Print one entry: the name, or with -l the mode, size and name. */
static void print_entry(const char *name, const struct stat *st)
{
    if (!long_format) {
        printf("%s\n", name);
        return;
    }
    char mode[11];
    mode_string((unsigned)st->st_mode, mode);
    printf("%s %10lld %s\n", mode, (long long)st->st_size, name);
}

/* qsort comparison of two name pointers. */
static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the entries of directory path, sorted by name; 0 or 1 after a message. */
static int list_directory(const char *path)
{
    HOS_DIR *dir = hos_opendir(path);
    if (!dir) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct hos_dirent *de;
    errno = 0;
    while ((de = hos_readdir(dir)) != NULL) {
        if (de->name[0] == '.' && !show_hidden)
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 32;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger)
                break;
            names = bigger;
        }
        names[count] = strdup(de->name);
        if (!names[count])
            break;
        count++;
    }
    int status = errno ? 1 : 0;
    if (status)
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
    hos_closedir(dir);
    qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        struct stat st = { 0 };
        if (long_format) {
            char full[HOS_PATH_MAX];
            snprintf(full, sizeof full, "%s%s%s", path,
                     path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
            if (stat(full, &st) < 0) {
                fprintf(stderr, "ls: %s: %s\n", full, strerror(errno));
                status = 1;
            }
        }
        print_entry(names[i], &st);
        free(names[i]);
    }
    free(names);
    return status;
}

/* List one command-line argument: a directory's entries or the file itself. */
static int list_path(const char *path, int with_header)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        print_entry(path, &st);
        return 0;
    }
    if (with_header)
        printf("%s:\n", path);
    return list_directory(path);
}

/* Parse options, then list every path (the working directory when none). */
int main(int argc, char **argv)
{
    int first = 1, status = 0;
    for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
        for (const char *o = argv[first] + 1; *o; o++) {
            if (*o == 'l')
                long_format = 1;
            else if (*o == 'a')
                show_hidden = 1;
            else {
                fprintf(stderr, "usage: ls [-l] [-a] [path...]\n");
                return 2;
            }
        }
    }
    if (first == argc)
        return list_path(".", 0);
    for (int i = first; i < argc; i++) {
        if (i > first)
            printf("\n");
        status |= list_path(argv[i], argc - first > 1);
    }
    return status;
}
