/*
 * hako public ABI: the shared-info page, event channels, virtual IRQs and time.
 * See ABI.md "Events and time".
 */
#ifndef HAKO_EVENTS_H
#define HAKO_EVENTS_H

#include "compiler.h"

#define HAKO_NR_EVENT_CHANNELS 1024  /* ports 1..1023; port 0 is never valid */
#define HAKO_SHINFO_VCPUS      8     /* vcpu_info slots in the shared-info page */

/* Virtual IRQs a domain can bind a port to (event_channel_op BIND_VIRQ). */
#define HAKO_VIRQ_TIMER    0  /* the vCPU's one-shot or periodic timer fired */
#define HAKO_VIRQ_CONSOLE  1  /* console input is waiting (control domain only) */
#define HAKO_VIRQ_DOM_EXC  2  /* some domain stopped or crashed (control domain only) */
#define HAKO_VIRQ_DEBUG    3  /* raised by debug_op; for tests */
#define HAKO_VIRQ_ASYNC    4  /* new asynchronous-hypercall completions (async.h) */
#define HAKO_VIRQ_DEVICE0  5  /* 0.9: device n's interrupt is virq HAKO_VIRQ_DEVICE0 + n
                                 (control domain only; physdev.h, ABI.md 22) */
#define HAKO_NR_VIRQS      13

#ifndef __ASSEMBLER__
/*
 * Time. system_time_ns(now) = system_time + (((tsc_now - tsc_timestamp) << tsc_shift
 * (or >> -tsc_shift when negative)) * tsc_to_system_mul >> 32), the product taken in 128
 * bits (or 64 bits when the delta is known to be small: the record is refreshed when
 * the vCPU is scheduled, at most once a millisecond and at least about every 10 ms while
 * it runs). The hypervisor updates
 * the record under `version`: read version, read the fields, read version again; retry
 * when the two differ or are odd. System time is monotonic, in nanoseconds since the
 * hypervisor started, and the same for every domain.
 */
struct hako_vcpu_time_info {
    uint32_t version;
    uint32_t _pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t   tsc_shift;
    uint8_t  _pad1[3];
};
HAKO_STATIC_ASSERT(sizeof(struct hako_vcpu_time_info) == 32, "vcpu_time_info size");

#if defined(__GNUC__) && defined(__x86_64__)
/* The time-stamp counter. rdtsc is allowed in ring 3 (CR4.TSD is clear). */
static inline uint64_t hako_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* System time now, in ns, from a vCPU's time record, retried while the hypervisor is
 * updating it (ABI.md "Time"). */
static inline uint64_t hako_system_time_ns(const volatile struct hako_vcpu_time_info *ti)
{
    uint32_t v;
    uint64_t t;
    do {
        v = ti->version;
        __asm__ __volatile__("" ::: "memory");
        uint64_t d = hako_rdtsc() - ti->tsc_timestamp;
        int8_t shift = ti->tsc_shift;
        d = shift >= 0 ? d << shift : d >> -shift;
        __extension__ typedef unsigned __int128 hako_u128;
        t = ti->system_time + (uint64_t)(((hako_u128)d * ti->tsc_to_system_mul) >> 32);
        __asm__ __volatile__("" ::: "memory");
    } while ((v & 1) || v != ti->version);
    return t;
}
#endif

struct hako_vcpu_info {
    uint8_t  evtchn_upcall_pending;  /* set by the hypervisor: an unmasked event is pending */
    uint8_t  evtchn_upcall_mask;     /* set by the guest: 1 = no upcalls (its interrupt flag) */
    uint8_t  _pad0[6];
    uint64_t evtchn_pending_sel;     /* bit w: word w of evtchn_pending may have news */
    struct hako_vcpu_time_info time;
    uint64_t _reserved[2];
};
HAKO_STATIC_ASSERT(sizeof(struct hako_vcpu_info) == 64, "vcpu_info size");

struct hako_shared_info {
    struct hako_vcpu_info vcpu_info[HAKO_SHINFO_VCPUS];
    uint64_t evtchn_pending[HAKO_NR_EVENT_CHANNELS / 64];   /* bit p: port p pending */
    uint64_t evtchn_mask[HAKO_NR_EVENT_CHANNELS / 64];      /* bit p: port p masked */
    uint32_t wc_version;     /* wall clock, same version protocol as time */
    uint32_t _pad0;
    uint64_t wc_sec;         /* wall-clock time when system time was 0 */
    uint64_t wc_nsec;
};
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_shared_info, evtchn_pending) == 512, "pending");
HAKO_STATIC_ASSERT(HAKO_OFFSETOF(struct hako_shared_info, evtchn_mask) == 640, "mask");
HAKO_STATIC_ASSERT(sizeof(struct hako_shared_info) == 792, "shared_info size");

/* event_channel_op(cmd, arg): commands taking a struct hako_evtchn * as arg */
#define HAKO_EVTCHNOP_ALLOC_UNBOUND    0  /* IN remote_dom; OUT port */
#define HAKO_EVTCHNOP_BIND_INTERDOMAIN 1  /* IN remote_dom, remote_port; OUT port */
#define HAKO_EVTCHNOP_BIND_VIRQ        2  /* IN virq; OUT port */
#define HAKO_EVTCHNOP_STATUS           3  /* IN port; OUT state, remote_dom, remote_port, virq */
/* ... and commands taking the port itself as arg */
#define HAKO_EVTCHNOP_SEND             4
#define HAKO_EVTCHNOP_CLOSE            5
#define HAKO_EVTCHNOP_UNMASK           6

/* remote_dom of an unbound port whose peer domain was destroyed: nobody can bind it. */
#define HAKO_DOMID_NONE 0xFFFFu

/* hako_evtchn.state */
#define HAKO_EVTCHN_FREE        0
#define HAKO_EVTCHN_UNBOUND     1   /* waiting for remote_dom to bind */
#define HAKO_EVTCHN_INTERDOMAIN 2   /* connected to remote_dom:remote_port */
#define HAKO_EVTCHN_VIRQ        3   /* bound to virq */

struct hako_evtchn {
    uint32_t port;          /* IN or OUT per command */
    uint32_t remote_port;   /* IN (BIND_INTERDOMAIN) / OUT (STATUS) */
    uint16_t remote_dom;    /* IN (ALLOC_UNBOUND, BIND_INTERDOMAIN) / OUT (STATUS) */
    uint16_t state;         /* OUT (STATUS): HAKO_EVTCHN_* */
    uint32_t virq;          /* IN (BIND_VIRQ) / OUT (STATUS) */
} HAKO_ALIGNED(8);          /* hypercall structures are 8-aligned (ABI.md 6) */
HAKO_STATIC_ASSERT(sizeof(struct hako_evtchn) == 16, "hako_evtchn size");
HAKO_STATIC_ASSERT(HAKO_ALIGNOF(struct hako_evtchn) == 8, "hako_evtchn align");
#endif /* __ASSEMBLER__ */

/* set_timer_op(cmd, value): HAKO_VIRQ_TIMER fires at the deadline / every period. */
#define HAKO_TIMER_ONESHOT   0   /* value = absolute system time in ns; 0 cancels */
#define HAKO_TIMER_PERIODIC  1   /* value = period in ns (>= HAKO_TIMER_MIN_PERIOD); 0 stops */
#define HAKO_TIMER_MIN_PERIOD 1000000ULL

#endif /* HAKO_EVENTS_H */
