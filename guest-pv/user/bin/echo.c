/* guest-pv/user/bin/echo.c: echo [-n] [word...]: print the words separated by spaces. */
#include <stdio.h>
#include <string.h>

/* Print the arguments, then a newline unless -n came first. */
int main(int argc, char **argv)
{
    int newline = 1, first = 1;
    if (argc > first && strcmp(argv[first], "-n") == 0) {
        newline = 0;
        first++;
    }
    for (int i = first; i < argc; i++)
        printf(i > first ? " %s" : "%s", argv[i]);
    if (newline)
        putchar('\n');
    return fflush(stdout) == 0 ? 0 : 1;
}
