/*
 * hypervisor/multicall.h: running a batch of hypercalls with one transition.
 */
#ifndef HV_MULTICALL_H
#define HV_MULTICALL_H

#include "hcall_list.h"

/* multicall(calls, count) */
long hc_multicall(HC_ARGS);

#endif /* HV_MULTICALL_H */
