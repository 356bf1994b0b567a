/*
 * guest-pv/user/bin/blkbench.c: blkbench: raw 4 KiB reads or writes on a disk device
 * (default /dev/xvda), sequential or random, one at a time; prints one line
 *   BLK <pattern> <op> ops=N bytes=B ns=T MiB/s=X lat_us=Y
 * Writes go to sectors [start, start + span) only (start= and span= in sectors; span
 * defaults to what the device has past start), so a benchmark can keep clear of a file
 * system on the same disk. Also `blkbench readat SECTOR`: read one 4 KiB block there and
 * print its first bytes, or the error (for tests of a back end's bounds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hoslib.h"

#define BS 4096u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned long long arg_num(const char *a, const char *key, unsigned long long def)
{
    size_t n = strlen(key);
    return strncmp(a, key, n) == 0 && a[n] == '=' ? strtoull(a + n + 1, NULL, 0) : def;
}

static int usage(void)
{
    fprintf(stderr, "usage: blkbench seq|rand read|write [n=OPS] [start=SECTOR] [span=SECTORS] "
                    "[dev=PATH]\n       blkbench readat SECTOR [dev=PATH]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static uint8_t buf[BS] __attribute__((aligned(BS)));   /* /dev/xvda moves whole
                                                               sectors of each page */
    const char *dev = "/dev/xvda";
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "dev=", 4) == 0)
            dev = argv[i] + 4;
    if (argc >= 3 && strcmp(argv[1], "readat") == 0) {
        int fd = open(dev, O_RDONLY);
        if (fd < 0 || lseek(fd, (off_t)strtoull(argv[2], NULL, 0) * 512, SEEK_SET) < 0) {
            perror("blkbench");
            return 1;
        }
        ssize_t r = read(fd, buf, BS);
        if (r < 0) {
            printf("readat %s: error: %s\n", argv[2], strerror(errno));
            return 1;
        }
        printf("readat %s: %zd bytes: %.16s\n", argv[2], r, (const char *)buf);
        return 0;
    }
    if (argc < 3)
        return usage();
    int rnd = strcmp(argv[1], "rand") == 0, wr = strcmp(argv[2], "write") == 0;
    if ((!rnd && strcmp(argv[1], "seq")) || (!wr && strcmp(argv[2], "read")))
        return usage();
    unsigned long long n = 256, start = 0, span = 0;
    for (int i = 3; i < argc; i++) {
        n = arg_num(argv[i], "n", n);
        start = arg_num(argv[i], "start", start);
        span = arg_num(argv[i], "span", span);
    }
    int fd = open(dev, wr ? O_RDWR : O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror("blkbench");
        return 1;
    }
    uint64_t sectors = (uint64_t)st.st_size / 512;
    if (start >= sectors)
        return fprintf(stderr, "blkbench: start past the device\n"), 1;
    if (!span || span > sectors - start)
        span = sectors - start;
    uint64_t blocks = span / (BS / 512);
    if (blocks == 0)
        return fprintf(stderr, "blkbench: span under 4 KiB\n"), 1;
    for (unsigned i = 0; i < BS; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    uint64_t x = 0x9E3779B97F4A7C15ull, t0 = now_ns();
    for (unsigned long long i = 0; i < n; i++) {
        uint64_t b = i % blocks;
        if (rnd) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;    /* xorshift64 */
            b = x % blocks;
        }
        if (lseek(fd, (off_t)((start + b * (BS / 512)) * 512), SEEK_SET) < 0 ||
            (wr ? write(fd, buf, BS) : read(fd, buf, BS)) != (ssize_t)BS) {
            fprintf(stderr, "blkbench: op %llu at block %llu: %s\n", i, (unsigned long long)b,
                    strerror(errno));
            return 1;
        }
    }
    uint64_t ns = now_ns() - t0;
    double mibs = ns ? (double)n * BS / (1024.0 * 1024.0) / ((double)ns / 1e9) : 0;
    printf("BLK %s %s ops=%llu bytes=%llu ns=%llu MiB/s=%.2f lat_us=%.1f\n", argv[1], argv[2],
           n, n * BS, (unsigned long long)ns, mibs, n ? (double)ns / 1000.0 / (double)n : 0);
    return 0;
}
