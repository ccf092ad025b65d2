/*
 * jb_papi.h — what the two PAPI users (counters.c and energy/papi.c) share: one
 * initialisation per process and one lock every PAPI call is made under, and the energy
 * accumulator of the PAPI source (exposed for its test).
 */
#ifndef JB_PAPI_H
#define JB_PAPI_H

#include <stddef.h>
#include <stdint.h>

/* Initialises PAPI once (thread-safe); 0, or non-zero with the reason in why. */
int jb_papi_init(char *why, size_t why_len);
void jb_papi_lock(void);
void jb_papi_unlock(void);
/* "7.0.0.0" */
const char *jb_papi_version(char *buf, size_t len);

/* One PAPI energy event between reads: a 64-bit accumulator of counts since open. */
struct jb_papi_acc {
    uint64_t total; /* counts since open */
    long long prev; /* PAPI's value at the previous read (counts since PAPI_start) */
};

/* Folds PAPI's value v (counts since PAPI_start; modulo range when range > 0, as the powercap
 * component reports) into a, dt_s after the previous read. 0, or JB_ERANGE with why when the
 * value went backwards or implies more than 10 kW: a failed read, never a 0. */
int jb_papi_energy_step(struct jb_papi_acc *a, long long v, long long range, double dt_s,
    double scale_j, int64_t *wraps, char *why, size_t why_len);

#endif
