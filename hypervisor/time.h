/*
 * hypervisor/time.h: system time (TSC based), the local APIC timer, guest timers.
 */
#ifndef HV_TIME_H
#define HV_TIME_H

#include <stdint.h>

#include <hako/events.h>
#include "hcall_list.h"

#define TIMER_VECTOR    0xF0
#define SPURIOUS_VECTOR 0xFF

/* Calibrate the TSC and the APIC timer against the PIT and start the APIC. */
void time_init(void);

/* Nanoseconds since boot. */
uint64_t time_now_ns(void);

/* The system time (ns since boot) at which the TSC reads tsc; 0 for a time before boot. */
uint64_t time_tsc_to_ns(uint64_t tsc);

struct vcpu;
/* Arm v's one-shot timer at deadline_ns (0 = off); a deadline already passed fires the
 * timer virq at once (set_timer_op ONESHOT, and the trap-mode TSC-deadline MSR). */
void time_set_oneshot(struct vcpu *v, uint64_t deadline_ns);

/* Describe the time base to a guest as of now (version protocol of hako_vcpu_time_info;
 * *version is the hypervisor's own copy of the counter, never read back from the guest);
 * refreshed when the vCPU is scheduled (at most once a millisecond), so its TSC deltas
 * stay small. */
void time_fill(struct hako_vcpu_time_info *t, uint32_t *version);

/* Write the wall clock (time of day at system time 0, from the RTC read at boot) into a
 * domain's shared-info page, under its wc_version protocol. */
void time_fill_wallclock(struct hako_shared_info *sh);

/* Ask for a timer interrupt at deadline_ns (system time); 0 = none. The latest call wins. */
void time_set_deadline(uint64_t deadline_ns);

/* Acknowledge a timer interrupt. */
void time_ack(void);

/* set_timer_op(cmd, value): the caller's one-shot and periodic timers. */
long hc_set_timer_op(HC_ARGS);

#endif /* HV_TIME_H */
