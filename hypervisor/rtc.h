/*
 * hypervisor/rtc.h: the CMOS real-time clock.
 */
#ifndef HV_RTC_H
#define HV_RTC_H

#include <stdint.h>

/* The RTC's time as seconds since 1970-01-01 UTC (the clock is taken to run in UTC,
 * as QEMU's does by default), or 0 when there is no usable clock. */
uint64_t rtc_epoch_seconds(void);

#endif /* HV_RTC_H */
