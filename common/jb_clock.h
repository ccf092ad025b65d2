/*
 * jb_clock.h — the one clock joulebench times with: CLOCK_MONOTONIC (never the wall clock,
 * which steps under NTP), in nanoseconds for intervals and in seconds for rates.
 */
#ifndef JB_CLOCK_H
#define JB_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in nanoseconds since an arbitrary origin (boot). */
static inline int64_t jb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The same clock in seconds. */
static inline double jb_now_s(void)
{
    return (double)jb_now_ns() * 1e-9;
}

#endif
