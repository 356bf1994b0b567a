/*
 * guest-pv/arch/native/rtc.c: the time of day from the CMOS real-time clock, read once
 * at boot as a native kernel reads it (BCD or binary, 12- or 24-hour, per status B).
 */
#include "native.h"
#include "x86.h"

/* CMOS register reg (NMIs stay enabled: bit 7 clear). */
static uint8_t cmos(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static unsigned from_bcd(uint8_t v, int bcd)
{
    return bcd ? (v >> 4) * 10u + (v & 15u) : v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian calendar). */
static int64_t days_since_epoch(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t native_rtc_seconds(void)
{
    uint8_t r[6], again[6];
    static const uint8_t regs[6] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09 };
    unsigned tries = 0;
    do {                                 /* two equal reads outside an update */
        while ((cmos(0x0A) & 0x80) && ++tries < 1000000u)
            ;
        for (int i = 0; i < 6; i++)
            r[i] = cmos(regs[i]);
        for (int i = 0; i < 6; i++)
            again[i] = cmos(regs[i]);
    } while (__builtin_memcmp(r, again, sizeof r) && ++tries < 1000000u);
    uint8_t b = cmos(0x0B);
    int bcd = !(b & 0x04), pm = !(b & 0x02) && (r[2] & 0x80);
    unsigned sec = from_bcd(r[0], bcd), min = from_bcd(r[1], bcd);
    unsigned hour = from_bcd(r[2] & 0x7F, bcd), day = from_bcd(r[3], bcd);
    unsigned mon = from_bcd(r[4], bcd), year = from_bcd(r[5], bcd) + 2000;
    if (!(b & 0x02))                     /* 12-hour clock: 12 AM is 0, 12 PM is 12 */
        hour = hour % 12 + (pm ? 12 : 0);
    if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || mon < 1 || mon > 12)
        return 0;
    return (uint64_t)(days_since_epoch(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec);
}
