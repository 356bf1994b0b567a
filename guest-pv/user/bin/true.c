/* guest-pv/user/bin/true.c: true: do nothing, successfully. */

/* Exit with status 0. */
int main(void)
{
    return 0;
}
