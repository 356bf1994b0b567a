/*
 * hypervisor/devices.h: the machine's devices the control domain drives (ABI.md 22).
 */
#ifndef HV_DEVICES_H
#define HV_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include <hako/physdev.h>

#include "boot_info.h"
#include "hcall_list.h"

/* Take the virtio-mmio devices the boot command line names (see devices.c). */
void devices_init(const struct boot_info *bi);

/* True when machine frame mfn holds registers of a listed device. */
bool devices_frame_is_device(uint64_t mfn);

/* Route (bind) or mask (!bind) device index's interrupt for its virq; 0, or -HAKO_ENOENT
 * when there is no such device (evtchn.c, BIND_VIRQ and closing the port). */
int devices_irq_bind(unsigned index, bool bind);

/* Vector DEVICE_VECTOR0 + index fired (trap.c): mask the line until the control domain's
 * EOI, acknowledge the local APIC, raise the virq. */
#define DEVICE_VECTOR0 0xD0
void devices_interrupt(unsigned index);

/* physdev_op(cmd, arg) */
long hc_physdev_op(HC_ARGS);

#endif /* HV_DEVICES_H */
