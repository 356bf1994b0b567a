/*
 * hypervisor/debug.h: debug_op, the self-checks a guest can ask for.
 */
#ifndef HV_DEBUG_H
#define HV_DEBUG_H

#include "hcall_list.h"

/* debug_op(cmd, arg) */
long hc_debug_op(HC_ARGS);

#endif /* HV_DEBUG_H */
