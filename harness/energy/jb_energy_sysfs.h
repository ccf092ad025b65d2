/*
 * jb_energy_sysfs.h — what the powercap and perf sources read from sysfs, parsed into plain
 * structs, so tests can point the real parsers at a fake tree (JOULEBENCH_POWERCAP_ROOT,
 * JOULEBENCH_PERF_PMU_ROOT) and check every field.
 */
#ifndef JB_ENERGY_SYSFS_H
#define JB_ENERGY_SYSFS_H

#include <limits.h>

#include "jb_energy.h"

/* ---- powercap (/sys/class/powercap) --------------------------------------------------------- */

struct jb_powercap_zone {
    char dir[PATH_MAX];       /* the zone's folder */
    struct jb_energy_domain domain;
    uint64_t max_range_uj;    /* max_energy_range_uj: the counter wraps here */
    uint64_t max_power_uw;    /* constraint_0_max_power_uw; 0 when absent */
};

struct jb_powercap_tree {
    int n;
    struct jb_powercap_zone zones[JB_ENERGY_MAX_DOMAINS];
    int skipped_mmio;         /* intel-rapl-mmio zones left out (duplicates of intel-rapl) */
};

/* The powercap root: $JOULEBENCH_POWERCAP_ROOT or /sys/class/powercap. */
const char *jb_powercap_root(void);
/* Scans root for intel-rapl zones and sub-zones (not intel-rapl-mmio), names them from their
 * `name` files and sets in_total (psys alone when present, else packages and dram). */
int jb_powercap_scan(const char *root, struct jb_powercap_tree *t, struct jb_err *err);
/* Reads a zone's energy_uj; errors name the file and why (EACCES: root only since 5.10). */
int jb_powercap_read_uj(const struct jb_powercap_zone *z, uint64_t *uj, struct jb_err *err);
/* The longest safe gap between reads: the shortest wrap time at the zones' maximum power,
 * halved (max power unknown: 500 W assumed). */
double jb_powercap_max_poll_s(const struct jb_powercap_tree *t);
/* Energy between two readings of a counter that wraps at range (0: unknown, a decrease is an
 * error, *delta set to NAN); *wrapped tells whether it wrapped. */
double jb_counter_delta_uj(uint64_t before, uint64_t after, uint64_t range, int *wrapped);

/* ---- perf power PMU (/sys/bus/event_source/devices/power) ---------------------------------- */

#define JB_PERF_MAX_EVENTS 8
#define JB_PERF_MAX_CPUS 16

struct jb_perf_event {
    char name[32];            /* "energy-pkg" */
    uint64_t config;          /* from "event=0x02" */
    double scale;             /* joules per count, from energy-pkg.scale */
    enum jb_domain_kind kind;
};

struct jb_perf_pmu {
    int type;                 /* perf_event_attr.type */
    int n_cpus;
    int cpus[JB_PERF_MAX_CPUS]; /* cpumask: one CPU per package */
    int n_events;
    struct jb_perf_event events[JB_PERF_MAX_EVENTS];
};

/* The PMU folder: $JOULEBENCH_PERF_PMU_ROOT or /sys/bus/event_source/devices/power. */
const char *jb_perf_pmu_root(void);
/* Reads type, cpumask and every events/energy-* with its .scale and .unit (must be Joules). */
int jb_perf_pmu_scan(const char *root, struct jb_perf_pmu *p, struct jb_err *err);
/* "event=0x02" (also "event=2", with other terms after commas) -> config. */
int jb_perf_parse_event(const char *text, uint64_t *config);
/* "0", "0,28", "0-1,4" -> cpus; returns how many, or -1 when malformed or too many. */
int jb_perf_parse_cpulist(const char *text, int *cpus, int max);

#endif
