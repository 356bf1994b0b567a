/*
 * guest-pv/drivers/hvplatform.h: the platform services every privops backend that runs
 * on hako shares, since they have no native form there: the PV clock and wall clock of
 * the shared-info page, the hypervisor's version string, yield and shutdown (sched_op).
 */
#ifndef GUEST_HVPLATFORM_H
#define GUEST_HVPLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include <hako/start_info.h>

/* Remember the shared-info page of si (before any call below). */
void hv_platform_init(const struct hako_start_info *si);

/* privops entries (privops.h says what each does). */
long hv_platform_version(char *buf, size_t len);
uint64_t hv_time_ns(void);
uint64_t hv_wallclock_ns(void);
void hv_yield(void);
/* privops->hw_counts on hako: the hypervisor's counts for this domain (GETINFO of
 * itself, which only the control domain may make: others read 0) and this vCPU. */
struct privops_hw;
void hv_hw_counts(struct privops_hw *out);
void hv_shutdown(unsigned reason, unsigned code) __attribute__((noreturn));
long hv_event_channel_op(unsigned cmd, uint64_t arg);

#endif /* GUEST_HVPLATFORM_H */
