/*
 * hypervisor/multicall.h: running a batch of hypercalls with one transition.
 */
#ifndef HV_MULTICALL_H
#define HV_MULTICALL_H

#include "hcall_list.h"

/* multicall(calls, count) */
long hc_multicall(HC_ARGS);

/* entry.S: the burst-table slot of the calls mc_burst leaves to the full path. Never
 * called from C (it unwinds mc_burst). */
long mc_slow_op(HC_ARGS);

#endif /* HV_MULTICALL_H */
