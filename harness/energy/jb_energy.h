/*
 * jb_energy.h — energy sources: one small interface, one file per source in this folder.
 *
 * A source says whether it works here (and precisely why not), opens, and reads cumulative
 * joules per domain since it was opened, with counter units and wrap-around already handled
 * inside it. The meter (meter.c) picks a source, samples it on a thread, reads it at
 * phase boundaries and attributes energy; nothing else knows how joules are obtained.
 */
#ifndef JB_ENERGY_H
#define JB_ENERGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"

#define JB_ENERGY_MAX_DOMAINS 16

enum jb_domain_kind {
    JB_DOMAIN_PACKAGE, /* a CPU package (socket) */
    JB_DOMAIN_CORES,   /* the cores of a package: inside PACKAGE */
    JB_DOMAIN_UNCORE,  /* the uncore/graphics of a package: inside PACKAGE */
    JB_DOMAIN_DRAM,    /* memory attached to a package: not inside PACKAGE on servers */
    JB_DOMAIN_PSYS,    /* the whole platform (SoC): includes packages and DRAM */
    JB_DOMAIN_GPU,     /* an accelerator */
    JB_DOMAIN_CPU,     /* the estimator's figure for the CPUs this process may use */
    JB_DOMAIN_COUNT
};

/* "package", "cores", "uncore", "dram", "psys", "gpu", "cpu" */
const char *jb_domain_kind_name(enum jb_domain_kind k);

struct jb_energy_domain {
    char name[48];            /* e.g. "package-0", "dram-0", "psys", "gpu-0", "cpu" */
    enum jb_domain_kind kind;
    bool in_total;            /* summed into energy_j: never a sub-zone and its package twice,
                               * never psys and packages together */
};

enum jb_energy_method {
    JB_METHOD_MEASURED,   /* an energy counter */
    JB_METHOD_INTEGRATED, /* power samples integrated over time (NVML without an energy counter) */
    JB_METHOD_ESTIMATED,  /* a model (the estimator); always labelled as such */
};

/* "measured", "integrated", "estimated" */
const char *jb_energy_method_name(enum jb_energy_method m);

/* What an open source measures. */
struct jb_energy_info {
    int n_domains;
    struct jb_energy_domain domains[JB_ENERGY_MAX_DOMAINS];
    enum jb_energy_method method;
    double resolution_j; /* smallest step of the counter (J); 0 when unknown */
    double update_s;     /* how often the counter changes (s); 0 when unknown */
    double max_poll_s;   /* read at least this often or a wrap may be missed (s); 0 = no limit */
    char detail[256];    /* one line: where the figures come from, e.g. "perf power PMU type 9" */
    char uncertainty[96]; /* the figures' known error, e.g. "about +-30% at high load"; "" for
                           * counters */
};

struct jb_energy_reading {
    double joules[JB_ENERGY_MAX_DOMAINS]; /* cumulative per domain since open */
    int64_t wraps; /* counter wrap-arounds corrected since open */
    int64_t gaps;  /* intervals between reads longer than max_poll_s since open: a wrap may have
                    * been missed there, so energy over them is not trusted */
};

/* Settings a source may use (the estimator does; counters ignore them). */
struct jb_energy_opts {
    double cpu_tdp_w;         /* --cpu-tdp-w: rated TDP of the CPU package (of the CPUs used when
                               * the package size is unknown, as in a VM); 0 = look it up */
    int cpu_package_cpus;     /* --cpu-package-cpus: logical CPUs in the package; 0 = from
                               * /proc/cpuinfo outside a VM, unknown inside one */
    double cpu_idle_w;        /* --cpu-idle-w: idle power of the CPUs used; 0 = from the model */
    const char *cpu_profile;  /* --cpu-profile FILE: a measured load->power curve; NULL = none */
};

struct jb_energy_source {
    const char *name; /* "perf", "powercap", "papi", "nvml", "estimator" */
    const char *what; /* one line for `joulebench sources` */
    /* (optional) What the source measures when it is not a CPU source, e.g. "the GPUs": such a
     * source is never chosen instead of a CPU source; `--energy auto` adds it beside the one
     * chosen when it works here. NULL for CPU sources. */
    const char *beside;
    /* 0 when the source works here; otherwise a JB_E* code and, in why, the precise reason and
     * the fix ("energy_uj is readable by root only since Linux 5.10: run as root or ..."). */
    int (*probe)(const struct jb_energy_opts *o, char *why, size_t why_len);
    /* Opens the source (caller-owned *ctx, freed by close) and describes it in *info. */
    int (*open)(const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info,
        struct jb_err *err);
    /* Cumulative joules per domain since open. A failed read is an error (never 0, never a
     * wrap). The meter serialises calls. */
    int (*read)(void *ctx, struct jb_energy_reading *out, struct jb_err *err);
    void (*close)(void *ctx); /* accepts NULL */
};

extern const struct jb_energy_source jb_energy_perf;
extern const struct jb_energy_source jb_energy_powercap;
extern const struct jb_energy_source jb_energy_papi;
extern const struct jb_energy_source jb_energy_nvml;
extern const struct jb_energy_source jb_energy_estimator;

/* Every source, in `--energy auto`'s order of preference; NULL-terminated. */
extern const struct jb_energy_source *const jb_energy_sources[];
/* A source by name, or NULL. */
const struct jb_energy_source *jb_energy_source_by_name(const char *name);

#endif
