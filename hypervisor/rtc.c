/*
 * hypervisor/rtc.c: the CMOS real-time clock, read once at boot for the wall clock.
 */
#include "rtc.h"

#include "x86.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define RTC_UIP    0x80     /* status A: an update is in progress */
#define RTC_BINARY 0x04     /* status B: values are binary, not BCD */
#define RTC_24H    0x02     /* status B: 24-hour mode */

/* CMOS register reg (NMI stays enabled: bit 7 clear). */
static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (m 1..12). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;  /* months since March */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* One snapshot of the time registers (0: sec, 1: min, 2: hour, 3: day, 4: month,
 * 5: year, 6: century), taken outside an update. */
static void snapshot(uint8_t v[7])
{
    static const uint8_t regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };
    for (unsigned spin = 0; spin < 1000000 && (cmos_read(0x0A) & RTC_UIP); spin++)
        ;
    for (unsigned i = 0; i < 7; i++)
        v[i] = cmos_read(regs[i]);
}

/* BCD to binary when the clock counts in BCD. */
static unsigned value(uint8_t v, uint8_t status_b)
{
    return (status_b & RTC_BINARY) ? v : (unsigned)(v >> 4) * 10 + (v & 15);
}

uint64_t rtc_epoch_seconds(void)
{
    uint8_t a[7], b[7];
    snapshot(a);
    for (unsigned tries = 0; tries < 5; tries++) {   /* equal twice: not torn by a tick */
        snapshot(b);
        if (__builtin_memcmp(a, b, sizeof(a)) == 0)
            break;
        __builtin_memcpy(a, b, sizeof(a));
    }
    uint8_t sb = cmos_read(0x0B);
    if (sb == 0xFF)
        return 0;                                    /* no RTC on this machine */
    unsigned sec = value(a[0], sb), min = value(a[1], sb);
    unsigned hour = (sb & RTC_24H) ? value(a[2], sb)          /* 12-hour: bit 7 is PM */
                                   : value(a[2] & 0x7F, sb) % 12 + ((a[2] & 0x80) ? 12 : 0);
    unsigned day = value(a[3], sb), month = value(a[4], sb);
    unsigned century = value(a[6], sb);
    unsigned year = value(a[5], sb) + (century >= 19 && century <= 30 ? century * 100 : 2000);
    if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || month < 1 || month > 12)
        return 0;                                    /* nonsense: no usable clock */
    int64_t days = days_from_civil(year, month, day);
    if (days < 0)
        return 0;
    return (uint64_t)days * 86400 + hour * 3600 + min * 60 + sec;
}
