/*
 * jb_meter.h — where energy measurement plugs into the runner. The meter owns the energy
 * source(s) chosen for the run (a CPU source, plus NVML when a GPU is there) and PAPI's
 * hardware counters; a sampler thread reads them every --sample-ms and hands each sample to a
 * sink (in a run, the results folder's power.csv: energy knows no file format); the
 * runner marks phase boundaries (idle, setup, prefill, decode) and the steady-state window,
 * and gets joules per phase and per domain with their provenance, or empty figures with the
 * reason. Nothing below the harness knows energy is being measured.
 */
#ifndef JB_METER_H
#define JB_METER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "jb_counters.h"
#include "jb_energy.h"
#include "jb_error.h"

enum jb_phase {
    JB_PHASE_IDLE,    /* waiting for arrivals, and the gaps between forward calls */
    JB_PHASE_SETUP,   /* untimed work: filling the KV cache to the workload's depth */
    JB_PHASE_PREFILL, /* forward calls that process prompt tokens */
    JB_PHASE_DECODE,  /* forward calls that generate tokens */
    JB_PHASE_COUNT
};

/* "idle", "setup", "prefill", "decode" */
const char *jb_phase_name(enum jb_phase p);

enum jb_mark {
    JB_MARK_STEADY_BEGIN, /* the batch has filled */
    JB_MARK_STEADY_END,   /* the batch starts to drain */
};

struct jb_meter_opts {
    const char *energy;        /* "auto", "none", or a source name (--energy) */
    double sample_ms;          /* sampler period (--sample-ms); 0 = 100 */
    struct jb_energy_opts source_opts;
    bool counters;             /* read PAPI hardware counters at phase boundaries */
};

/* The energy and counters of one measured interval (a repetition). Doubles are NAN when not
 * measured, and then `reason` says why. */
struct jb_meter_result {
    double energy_j;                     /* summed domains, all phases */
    double phase_j[JB_PHASE_COUNT];      /* summed domains, per phase */
    double phase_s[JB_PHASE_COUNT];      /* time spent in each phase */
    double kind_j[JB_DOMAIN_COUNT];      /* per kind of domain (all domains of it), all phases */
    double steady_j, steady_s;           /* between the steady-state marks; NAN when unmarked */
    int64_t reads, wraps, gaps;
    char source[48];                     /* "perf", "estimator", "powercap+nvml", "none" */
    char method[16];                     /* "measured", "integrated", "estimated"; "" when none */
    char domains[128];                   /* the summed domains, "package-0+dram-0" */
    char low_confidence[64];             /* phases shorter than 50 counter updates, "prefill" */
    char uncertainty[96];                /* the sources' known error; "" for counters */
    char reason[800];                    /* why energy is empty; "" when it is not */
    /* what the measurement recorded of itself (validity verdicts, docs/validity.md) */
    double window_s;                       /* real seconds from begin to end */
    double update_s;                       /* the slowest source's update interval; 0: unknown */
    double period_s;                       /* the sampler's period */
    int64_t phase_samples[JB_PHASE_COUNT]; /* sampler reads charged to each phase */
    int64_t missed_samples; /* sampler periods lost in intervals over twice the period */
    /* the part of the above spent inside decoder layers (jb_meter_layers; layer sampling) */
    double layers_j; /* summed domains, all phases; NAN when not measured */
    double layers_phase_j[JB_PHASE_COUNT];
    double layers_phase_s[JB_PHASE_COUNT];
    double layers_kind_j[JB_DOMAIN_COUNT];
    double layers_steady_j, layers_steady_s; /* inside the steady-state window */
    struct jb_counter_values counters;   /* all phases */
    struct jb_counter_values phase_counters[JB_PHASE_COUNT];
    char counters_reason[256];           /* why counters are empty; "" when they count */
};

struct jb_meter;

/* Chooses and opens the energy source (auto: the most trustworthy that works here, else the
 * estimator), adds NVML when a GPU answers, opens the counters when asked, and starts the
 * sampler thread. --energy NAME fails with the source's reason when it does not work here. */
int jb_meter_open(struct jb_meter **m, const struct jb_meter_opts *o, struct jb_err *err);
void jb_meter_close(struct jb_meter *m); /* stops the sampler; accepts NULL */
/* Stops the sampler thread (no more power rows); the meter can still be read. */
void jb_meter_stop(struct jb_meter *m);
/* The PAPI events that count here, comma-separated ("" when none). */
void jb_meter_counter_events(const struct jb_meter *m, char *buf, size_t len);
/* One power sample as the sampler hands it out: the average power of one domain, or of the
 * summed total, since the previous sample. Pointers are valid during the call only. */
struct jb_power_sample {
    const char *run_id; /* the interval's label (jb_meter_begin) */
    double t_s;         /* since the interval began */
    const char *phase;  /* jb_phase_name of the phase at the time */
    const char *domain; /* a domain name ("package-0"), or "total" */
    double watts;
    int summed; /* 1 when the domain is summed into the total, 0 when not, -1 on the total */
};
/* Receives the samples, on the sampler thread (the results folder's power.csv, in a run). */
typedef void (*jb_power_sink_fn)(void *ctx, const struct jb_power_sample *s);
/* Where the sampler sends its samples from now on; fn NULL: nowhere. */
void jb_meter_power_sink(struct jb_meter *m, jb_power_sink_fn fn, void *ctx);
/* Starts a measured interval in phase p; power rows carry run_id. */
void jb_meter_begin(struct jb_meter *m, enum jb_phase p, const char *run_id);
/* Marks a phase boundary: from now on the interval is in phase p. */
void jb_meter_phase(struct jb_meter *m, enum jb_phase p);
void jb_meter_mark(struct jb_meter *m, enum jb_mark k);
/* Marks entering (true) or leaving (false) the decoder layers of a forward call: the time
 * between the two is the layers' part of the current phase (layer sampling scales it), and
 * so is that share of the energy of every interval between two reads (the sampler's or a
 * phase boundary's): the sampled power integrated over the layer part. A clock read only:
 * no source is read at a mark, so nothing slow runs inside the forward pass. */
void jb_meter_layers(struct jb_meter *m, bool entering);
/* Ends the interval and fills r. */
void jb_meter_end(struct jb_meter *m, struct jb_meter_result *r);
/* Measures idle power for `seconds`, however long, in windows of about half a second (at least
 * two): mean and sample standard deviation over the windows (running sums, nothing kept per
 * window); NAN when energy is not measured or a counter did not move. Power rows carry `label`
 * as their run_id. JB_EINTR (mean and sd NAN) within a sampling period of the stop flag being
 * set (jb_meter_stop_flag); JB_EIO when a read fails; JB_EINVAL for a length that is not finite
 * or over a million seconds. */
int jb_meter_idle(struct jb_meter *m, double seconds, const char *label, double *mean_w,
    double *sd_w, struct jb_err *err);
/* The flag (set by the program's SIGINT/SIGTERM handler) that cuts the idle baseline short;
 * NULL: none. The flag is the caller's and must outlive the meter. */
void jb_meter_stop_flag(struct jb_meter *m, volatile sig_atomic_t *stop);
/* One line: the source(s), method and detail, and how it was chosen. */
const char *jb_meter_describe(const struct jb_meter *m);
/* Why each source `auto` tried before the chosen one was passed over ("" when forced). */
const char *jb_meter_choice(const struct jb_meter *m);
/* The sampler thread's CPU time over its lifetime, as a share of one core, and its samples. */
double jb_meter_sampler_load(const struct jb_meter *m, long *samples);

/* For tests: the idle baseline's window (s) instead of half a second, so that a baseline of
 * many windows stays short. */
void jb_meter_idle_window(struct jb_meter *m, double window_s);
/* For tests: a meter on the given source (not in the table), e.g. a scripted one. */
int jb_meter_open_source(struct jb_meter **m, const struct jb_energy_source *src,
    const struct jb_meter_opts *o, struct jb_err *err);

#endif
