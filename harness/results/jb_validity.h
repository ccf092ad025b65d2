/*
 * jb_validity.h — the validity verdict of a run row (runs.csv `valid`, `validity_reasons`):
 * whether its figures can be trusted as what they claim to be, from what the run itself
 * recorded. The thresholds are here, in one place, and docs/validity.md explains each. Rules
 * of one repetition are judged when it is written; rules of a configuration (spread and drift
 * across its repetitions) when its last repetition is written, on that row, and every reader
 * applies them to all the configuration's rows (jb_validity_spread).
 */
#ifndef JB_VALIDITY_H
#define JB_VALIDITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jb_records.h"

/* ---- the thresholds (docs/validity.md) --------------------------------------------------- */

/* 1. The measured window must span this many updates of the energy source. */
#define JB_VALID_WINDOW_UPDATES 10
/* NVML's power and energy readings change about every 100 ms on most boards (NVML API
 * reference, nvmlDeviceGetPowerUsage), whatever the source says of itself. */
#define JB_VALID_NVML_UPDATE_S 0.1
/* 2. Fewest energy observations in a phase that has energy columns (prefill, decode): below
 * it the error of one update at each end of the phase (2/N) is above 40%. */
#define JB_VALID_MIN_PHASE_SAMPLES 5
/* 3. Sampler intervals longer than this many periods count as missed samples ... */
#define JB_VALID_GAP_PERIODS 2.0
/* ... and the missed time may be at most this share of the window. */
#define JB_VALID_MAX_GAP_SHARE 0.01
/* 5. The idle baseline: its sd at most this share of its mean, and the machine at most this
 * busy (share of all CPUs' time not idle, /proc/stat) while it was measured. */
#define JB_VALID_IDLE_MAX_CV 0.05
#define JB_VALID_IDLE_MAX_BUSY 0.10
/* 6. The coefficient of variation over repetitions above --cv-warn (default 10%). */
#define JB_VALID_DEFAULT_CV_WARN 0.10
/* 7. Drift between the first and the last repetition: CPU frequency (relative) and steal
 * time (percentage points of all CPU time). */
#define JB_VALID_MAX_FREQ_DRIFT 0.05
#define JB_VALID_MAX_STEAL_DRIFT 0.02

/* The reason codes, each the start of a reason ("code:figure"). */
#define JB_VALID_WINDOW_SHORT "window_short"
#define JB_VALID_FEW_SAMPLES "few_samples"
#define JB_VALID_SAMPLER_GAPS "sampler_gaps"
#define JB_VALID_WRAP_UNACCOUNTED "wrap_unaccounted"
#define JB_VALID_IDLE_UNSTABLE "idle_unstable"
#define JB_VALID_IDLE_BUSY "idle_busy"
#define JB_VALID_CV_HIGH "cv_high"
#define JB_VALID_FREQ_DRIFT "freq_drift"
#define JB_VALID_STEAL_DRIFT "steal_drift"
#define JB_VALID_VM_MEASURED "vm_measured"

/* ---- one repetition ------------------------------------------------------------------------ */

/* What a repetition recorded about its own measurement (NAN / 0 when not known). */
struct jb_validity_rep {
    bool energy;               /* energy columns were measured (energy_j not empty) */
    char method[16];           /* "measured", "integrated", "estimated" */
    char source[48];           /* energy_source, e.g. "powercap+nvml" */
    double window_s;           /* the measured interval, real seconds */
    double update_s;           /* how often the source's figure changes (s); 0: unknown */
    double period_s;           /* the sampler's period (s) */
    double phase_s[2];         /* real seconds in prefill [0] and decode [1] */
    int64_t phase_samples[2];  /* sampler reads inside prefill [0] and decode [1] */
    int64_t missed_samples;    /* sampler periods missed (intervals > JB_VALID_GAP_PERIODS) */
    int64_t unaccounted_wraps; /* read gaps longer than a counter's wrap period */
    double idle_w, idle_sd_w;  /* the idle baseline (NAN when not measured) */
    double idle_busy_share;    /* machine busy share during it (NAN when not known) */
    bool vm;                   /* a hypervisor is present (cpuinfo's hypervisor flag) */
};

/* A zeroed facts struct with every number unknown. */
void jb_validity_rep_init(struct jb_validity_rep *f);

/* Judges one repetition: appends a reason for every rule it breaks to reasons (";"-joined,
 * within len) and returns the number of rules broken (0: valid). */
int jb_validity_judge_rep(const struct jb_validity_rep *f, char *reasons, size_t len);

/* ---- a configuration -------------------------------------------------------------------- */

/* Machine state read at the end of each repetition (NAN when not known). */
struct jb_validity_state {
    double cpu_mhz;     /* mean scaling_cur_freq of the CPUs */
    double steal_share; /* steal time / all CPU time over the repetition */
};

/* Judges the repetitions runs[0 .. n) of one configuration (n >= 2; file order), with the
 * machine state of the first and the last: CV of the latency and throughput figures (and
 * j_per_token) above cv_warn, and frequency or steal drift. Appends reasons; returns the
 * number of rules broken. first or last NULL: no drift rule. */
int jb_validity_judge_config(const struct jb_run_record *runs, size_t n, double cv_warn,
    const struct jb_validity_state *first, const struct jb_validity_state *last, char *reasons,
    size_t len);

/* Adds reasons (";"-joined) to a row's verdict: valid becomes 0 when any are given. */
void jb_validity_add(struct jb_run_record *run, const char *reasons);

/* ---- reading ---------------------------------------------------------------------------- */

/* Whether a reason code is of a configuration (cv_high, freq_drift, steal_drift). */
bool jb_validity_code_is_config(const char *code);

/* Applies the configuration-level reasons found on any row to every row of the same
 * configuration on the same machine (config_id, host, cpu_info), as readers must. Rows
 * without a verdict (older files) stay unknown. */
void jb_validity_spread(struct jb_run_record *runs, size_t n);

/* Rows left out, by reason code. */
#define JB_VALIDITY_MAX_CODES 16
struct jb_validity_tally {
    size_t rows;    /* rows judged invalid */
    size_t unknown; /* rows without a verdict (written before verdicts), kept as valid */
    size_t n_codes;
    char code[JB_VALIDITY_MAX_CODES][32];
    size_t count[JB_VALIDITY_MAX_CODES];
};

/* Whether a row's figures may be used: valid = 1, or unknown (older files; counted in t). */
bool jb_validity_ok(const struct jb_run_record *run);
/* Counts the invalid rows of runs[0 .. n) and their reasons into t (zeroed first). */
void jb_validity_count(const struct jb_run_record *runs, size_t n, struct jb_validity_tally *t);
/* Empties the energy columns (every number whose name ends in _j or _w or holds j_per) of the
 * invalid rows, so that only valid rows give energy figures; latency stays. */
void jb_validity_drop_energy(struct jb_run_record *runs, size_t n);
/* One line per reason code on f (NULL: none): "PREFIX: N row(s) WHAT: CODE (docs/validity.md)",
 * e.g. WHAT "left out of energy figures"; a row of several reasons counts under each. */
void jb_validity_print(
    const struct jb_validity_tally *t, const char *prefix, const char *what, FILE *f);

#endif
