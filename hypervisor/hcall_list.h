/*
 * hypervisor/hcall_list.h: every hypercall, once. The syscall dispatch table, the
 * multicall and async burst tables, the batch handlers and the per-call flags are all
 * generated from HC_LIST (hypercall.c, multicall.c, async.c); nothing else says which
 * call may run where.
 *
 * HC_LIST(X, c) expands X(c, name, entry, nargs, flags, guests) once per hypercall, in
 * number order with no gaps (asserted in hypercall.c); c is passed through (a user that
 * needs nothing passes 0):
 *   name    the ABI name: the number is HAKO_HC_<name>, the C handler hc_<name>
 *   entry   what a syscall from the guest calls: hc_<name>, or an entry.S wrapper that
 *           completes the register frame first (hc_<name>_full)
 *   nargs   arguments it reads; above 3 it reads the 4th with hc_arg4 (a burst loop,
 *           which passes three, must leave it to the full path)
 *   flags   HCF_* below
 *   guests  HCG_* mask: the guest types that may call it (others get ENOSYS)
 */
#ifndef HV_HCALL_LIST_H
#define HV_HCALL_LIST_H

#include <stdint.h>

/* Handlers get the first three arguments (rdi, rsi, rdx) directly; the rare one that
 * needs more reads r10/r8/r9 from its frame (vcpu_regs), which keeps the entry path
 * from shuffling r10 into rcx for every call. */
#define HC_ARGS uint64_t a1, uint64_t a2, uint64_t a3
typedef long (*hypercall_fn)(uint64_t, uint64_t, uint64_t);

#define HCF_MULTICALL 0x1u  /* may run as a multicall entry */
#define HCF_ASYNC     0x2u  /* may run as an async submission */
#define HCF_MAPPINGS  0x4u  /* may change the caller's mappings, itself or by running other
                             * calls: a multicall re-translates its array after it */

#define HCG_PV        0x1u  /* paravirtualized guests */
#define HCG_TRAP      0x2u  /* trap-and-emulate guests: only the PV devices (events,
                             * domain control, console, foreign maps) and shutdown */
#define HCG_ALL       (HCG_PV | HCG_TRAP)

#define HC_BATCH (HCF_MULTICALL | HCF_ASYNC)

/* clang-format off */
#define HC_LIST(X, c)                                                                       \
    X(c, console_io,        hc_console_io,        3, HC_BATCH,                     HCG_ALL)   \
    X(c, version,           hc_version,           2, HC_BATCH,                     HCG_ALL)   \
    X(c, sched_op,          hc_sched_op_full,     4, HCF_MULTICALL | HCF_MAPPINGS, HCG_ALL)   \
    X(c, mmu_update,        hc_mmu_update,        4, HC_BATCH | HCF_MAPPINGS,      HCG_ALL)   \
    X(c, mmuext_op,         hc_mmuext_op,         3, HC_BATCH | HCF_MAPPINGS,      HCG_PV)    \
    X(c, update_va_mapping, hc_update_va_mapping, 3, HC_BATCH | HCF_MAPPINGS,      HCG_PV)    \
    X(c, memory_op,         hc_memory_op,         2, HC_BATCH,                     HCG_ALL)   \
    X(c, set_trap_table,    hc_set_trap_table,    2, HC_BATCH,                     HCG_PV)    \
    X(c, stack_switch,      hc_stack_switch,      1, HC_BATCH,                     HCG_PV)    \
    X(c, iret,              hc_iret_fast,         0, 0,                            HCG_PV)    \
    X(c, set_callback,      hc_set_callback,      2, HC_BATCH,                     HCG_PV)    \
    X(c, debug_op,          hc_debug_op,          2, HC_BATCH,                     HCG_ALL)   \
    X(c, event_channel_op,  hc_event_channel_op,  2, HC_BATCH,                     HCG_ALL)   \
    X(c, set_timer_op,      hc_set_timer_op,      2, HC_BATCH,                     HCG_PV)    \
    X(c, domctl,            hc_domctl,            2, HC_BATCH,                     HCG_ALL)   \
    X(c, multicall,         hc_multicall,         2, 0,                            HCG_PV)    \
    X(c, async_op,          hc_async_op,          2, HCF_MULTICALL | HCF_MAPPINGS, HCG_PV)    \
    X(c, grant_table_op,    hc_grant_table_op,    3, HCF_MULTICALL | HCF_MAPPINGS, HCG_ALL)   \
    X(c, physdev_op,        hc_physdev_op,        2, HCF_MULTICALL,                HCG_ALL)
/* clang-format on */

/* The number of hypercalls: numbers 0 .. HC_NR-1 exist. */
enum hc_index {
#define HC_INDEX(c, name, entry, nargs, flags, guests) HC_INDEX_##name,
    HC_LIST(HC_INDEX, 0)
#undef HC_INDEX
    HC_NR
};

#endif /* HV_HCALL_LIST_H */
