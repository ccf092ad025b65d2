/*
 * jb_meter.h — where energy measurement plugs into the runner. The runner marks phase
 * boundaries (setup, prefill, decode, idle) and asks for the energy of a repetition; a meter
 * answers with joules and the source and method behind them, or an empty figure and the
 * reason. Nothing below the harness knows energy is being measured.
 */
#ifndef JB_METER_H
#define JB_METER_H

#include "jb_error.h"

enum jb_phase {
    JB_PHASE_IDLE,    /* waiting for arrivals */
    JB_PHASE_SETUP,   /* untimed work: filling the KV cache to the workload's depth */
    JB_PHASE_PREFILL, /* forward calls that process prompt tokens */
    JB_PHASE_DECODE,  /* forward calls that generate tokens */
    JB_PHASE_COUNT
};

/* The energy of one interval, or why there is none. */
struct jb_energy {
    double joules;    /* NAN when not measured */
    char source[32];  /* e.g. "powercap", "estimator"; "none" */
    char method[16];  /* "measured" or "estimated"; "" when none */
    char domains[64]; /* what was summed, e.g. "package-0+dram"; "" when none */
    char reason[160]; /* why joules is empty; "" when measured */
};

struct jb_meter;

/* Opens the meter `want` ("auto" or a source name). Until energy sources exist this build
 * has one meter, "none", which measures nothing and says so. */
int jb_meter_open(struct jb_meter **m, const char *want, struct jb_err *err);
void jb_meter_close(struct jb_meter *m);
/* Starts a measured interval (a repetition) in phase p. */
void jb_meter_begin(struct jb_meter *m, enum jb_phase p);
/* Marks a phase boundary: from now on the interval is in phase p. */
void jb_meter_phase(struct jb_meter *m, enum jb_phase p);
/* Ends the interval: total energy and energy per phase (out arrays of JB_PHASE_COUNT). */
void jb_meter_end(struct jb_meter *m, struct jb_energy *total, struct jb_energy *per_phase);
/* Short description for logs: "none (no energy source in this build: time only)". */
const char *jb_meter_describe(const struct jb_meter *m);

#endif
