/*
 * hypervisor/time.c: the time base, the local APIC timer, and the set_timer_op hypercall.
 *
 * At boot the TSC and the APIC timer are measured against the PIT (1.193182 MHz, polled,
 * no interrupts). System time is derived from the TSC with a 32.32 fixed-point factor,
 * exactly the formula guests use from their vcpu_info. The APIC timer runs in one-shot
 * mode; TSC-deadline mode is used where the CPU has it.
 */
#include "time.h"

#include "console.h"
#include "cpu.h"
#include "evtchn.h"
#include "hypercall.h"
#include "lib.h"
#include "mm.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "rtc.h"
#include "sched.h"
#include "x86.h"

#define PIT_HZ          1193182ull
#define CALIBRATE_TICKS 11932u          /* 10 ms of PIT ticks */
#define MSR_APIC_BASE   0x1B
#define MSR_TSC_DEADLINE 0x6E0
#define APIC_VA         0xFFFF820000000000ull   /* hypervisor slot 260 */
#define APIC_EOI        0xB0
#define APIC_SVR        0xF0
#define APIC_LVT_TIMER  0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3E0

static uint64_t tsc_at_boot, tsc_hz, apic_hz;
static uint32_t tsc_mul;          /* ns = (tsc_delta << shift) * mul >> 32 */
static int8_t tsc_shift;
static bool deadline_mode;
static uint64_t wallclock_at_zero_ns;   /* time of day when system time was 0, 0: unknown */

static uint32_t apic_read(unsigned reg)
{
    return *(volatile uint32_t *)(APIC_VA + reg);
}

static void apic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)(APIC_VA + reg) = v;
}

/* The PIT channel 0 counter (counting down). */
static uint16_t pit_read(void)
{
    outb(0x43, 0x00);                       /* latch channel 0 */
    uint8_t lo = inb(0x40);
    return (uint16_t)(lo | (inb(0x40) << 8));
}

/* Choose mul/shift so that (delta << shift) * mul >> 32 converts TSC ticks to ns. */
static void set_scale(uint64_t hz)
{
    int shift = 0;
    uint64_t ns = 1000000000ull;
    while (hz > 2 * ns) {                   /* keep mul = ns/hz * 2^32 below 2^32 */
        hz >>= 1;
        shift--;
    }
    while (hz <= ns) {
        hz <<= 1;
        shift++;
    }
    tsc_shift = (int8_t)shift;
    tsc_mul = (uint32_t)((ns << 32) / hz);
}

void time_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    paging_map_hv_page(APIC_VA, maddr_to_mfn(base & PTE_ADDR),
                       PTE_P | PTE_W | PTE_PCD | PTE_PWT | (cpu_has.nx ? PTE_NX : 0));
    wrmsr(MSR_APIC_BASE, base | (1u << 11));          /* globally enabled, xAPIC mode */
    apic_write(APIC_SVR, 0x100 | SPURIOUS_VECTOR);   /* software enable */
    apic_write(APIC_TIMER_DIV, 0x3);                  /* divide by 16 */
    apic_write(APIC_LVT_TIMER, 1u << 16);             /* masked while calibrating */
    apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);

    outb(0x43, 0x30);                                 /* ch0, lo/hi, mode 0 */
    outb(0x40, 0xFF);
    outb(0x40, 0xFF);
    uint16_t p0 = pit_read();
    uint64_t t0 = rdtsc();
    uint32_t a0 = apic_read(APIC_TIMER_CUR);
    uint16_t p;
    unsigned spins = 0;
    do {
        p = pit_read();
    } while ((uint16_t)(p0 - p) < CALIBRATE_TICKS && ++spins < 50000000u);
    uint64_t t1 = rdtsc();
    uint32_t a1 = apic_read(APIC_TIMER_CUR);
    uint64_t ticks = (uint16_t)(p0 - p);
    if (ticks < CALIBRATE_TICKS)
        panic("the PIT does not count: cannot calibrate the TSC");
    tsc_hz = (t1 - t0) * PIT_HZ / ticks;
    apic_hz = (uint64_t)(a0 - a1) * PIT_HZ / ticks;
    if (!tsc_hz || !apic_hz)
        panic("timer calibration failed (tsc %lu Hz, apic %lu Hz)", tsc_hz, apic_hz);
    set_scale(tsc_hz);
    tsc_at_boot = rdtsc();

    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    deadline_mode = c & (1u << 24);
    apic_write(APIC_TIMER_INIT, 0);
    apic_write(APIC_LVT_TIMER, TIMER_VECTOR | (deadline_mode ? (2u << 17) : 0));
    printk("time: TSC %lu kHz, APIC timer %lu kHz, %s mode\n", tsc_hz / 1000, apic_hz / 1000,
           deadline_mode ? "TSC-deadline" : "one-shot");
    uint64_t rtc = rtc_epoch_seconds(), now = time_now_ns();
    if (rtc && rtc * 1000000000ull > now)
        wallclock_at_zero_ns = rtc * 1000000000ull - now;
    printk("time: wall clock %lu s since 1970 (%s)\n", rtc, rtc ? "RTC" : "no RTC: 0");
}

/* TSC ticks -> ns with the guests' formula. */
static uint64_t tsc_to_ns(uint64_t delta)
{
    delta = tsc_shift >= 0 ? delta << tsc_shift : delta >> -tsc_shift;
    return (uint64_t)(((unsigned __int128)delta * tsc_mul) >> 32);
}

uint64_t time_tsc_to_ns(uint64_t tsc)
{
    return tsc > tsc_at_boot ? tsc_to_ns(tsc - tsc_at_boot) : 0;
}

uint64_t time_now_ns(void)
{
    return tsc_to_ns(rdtsc() - tsc_at_boot);
}

void time_fill(struct hako_vcpu_time_info *t, uint32_t *version)
{
    uint64_t tsc = rdtsc();
    *version |= 1;                                                      /* odd: updating */
    __atomic_store_n(&t->version, *version, __ATOMIC_SEQ_CST);
    t->tsc_timestamp = tsc;
    t->system_time = tsc_to_ns(tsc - tsc_at_boot);
    t->tsc_to_system_mul = tsc_mul;
    t->tsc_shift = tsc_shift;
    *version += 1;                                                      /* even: done */
    __atomic_store_n(&t->version, *version, __ATOMIC_SEQ_CST);
}

void time_fill_wallclock(struct hako_shared_info *sh)
{
    uint32_t v = __atomic_load_n(&sh->wc_version, __ATOMIC_RELAXED);
    __atomic_store_n(&sh->wc_version, (v | 1), __ATOMIC_SEQ_CST);       /* odd: updating */
    sh->wc_sec = wallclock_at_zero_ns / 1000000000ull;
    sh->wc_nsec = wallclock_at_zero_ns % 1000000000ull;
    __atomic_store_n(&sh->wc_version, (v | 1) + 1, __ATOMIC_SEQ_CST);   /* even: done */
}

void time_set_deadline(uint64_t deadline_ns)
{
    if (!deadline_ns) {
        if (deadline_mode)
            wrmsr(MSR_TSC_DEADLINE, 0);
        else
            apic_write(APIC_TIMER_INIT, 0);
        return;
    }
    /* Far deadlines are approached in steps of at most a second (no overflow; the
     * interrupt then simply finds nothing due and asks again). */
    uint64_t now = time_now_ns();
    uint64_t delta = deadline_ns > now ? MIN(deadline_ns - now, 1000000000ull) : 1000;
    if (deadline_mode) {
        wrmsr(MSR_TSC_DEADLINE, rdtsc() + delta * tsc_hz / 1000000000ull + 1);
    } else {
        uint64_t count = delta * apic_hz / 1000000000ull;
        apic_write(APIC_TIMER_INIT, (uint32_t)MIN(MAX(count, 1ull), 0xFFFFFFFFull));
    }
}

void time_ack(void)
{
    apic_write(APIC_EOI, 0);
}

void time_set_oneshot(struct vcpu *v, uint64_t deadline_ns)
{
    v->timer_deadline_ns = deadline_ns;
    if (deadline_ns && deadline_ns <= time_now_ns()) {  /* already due: fire now */
        v->timer_deadline_ns = 0;
        evtchn_send_virq(v->dom, HAKO_VIRQ_TIMER);
    }
    sched_timers_changed();
}

/* set_timer_op(cmd, value) */
long hc_set_timer_op(HC_ARGS)
{
    (void)a3;
    struct vcpu *v = current_vcpu();
    switch (a1) {
    case HAKO_TIMER_ONESHOT:
        time_set_oneshot(v, a2);
        return 0;
    case HAKO_TIMER_PERIODIC:
        if (a2 && a2 < HAKO_TIMER_MIN_PERIOD)
            return -HAKO_EINVAL;
        uint64_t now = time_now_ns();
        v->timer_period_ns = a2;
        v->timer_next_ns = !a2 ? 0 : a2 > UINT64_MAX - now ? UINT64_MAX : now + a2;
        break;
    default:
        return -HAKO_ENOSYS;
    }
    sched_timers_changed();
    return 0;
}
