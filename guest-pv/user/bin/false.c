/* guest-pv/user/bin/false.c: false: do nothing, unsuccessfully. */

/* Exit with status 1. */
int main(void)
{
    return 1;
}
