/*
 * guest-pv/arch/native/native.h: the native backend's own layout, shared by boot.c (which
 * builds the machine's first page tables and the start info) and privops.c.
 */
#ifndef GUEST_NATIVE_H
#define GUEST_NATIVE_H

#include <stdint.h>

#include <hako/start_info.h>

#define NATIVE_VIRT_BASE 0xFFFFFFFF80000000ull   /* VA of physical address 0 */
#define NATIVE_MAX_RAM   (1ull << 30)            /* what the linear map covers */

/* The local APIC and the I/O APIC, mapped uncached at fixed VAs by boot.c. */
#define NATIVE_LAPIC_PA  0xFEE00000ull
#define NATIVE_IOAPIC_PA 0xFEC00000ull
#define NATIVE_LAPIC_VA  0xFFFFFFFFFFE00000ull
#define NATIVE_IOAPIC_VA 0xFFFFFFFFFFE01000ull

/* boot.c: the start info it built (what native_boot passes to kernel_main). */
extern struct hako_start_info native_si;

/* rtc.c: seconds since 1970 UTC by the CMOS clock, 0 when it shows nothing sensible. */
uint64_t native_rtc_seconds(void);

#endif /* GUEST_NATIVE_H */
