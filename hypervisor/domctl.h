/*
 * hypervisor/domctl.h: domain control from the control domain.
 */
#ifndef HV_DOMCTL_H
#define HV_DOMCTL_H

#include "hcall_list.h"

/* domctl(cmd, arg) */
long hc_domctl(HC_ARGS);

#endif /* HV_DOMCTL_H */
