/*
 * sources.c — the table of energy sources and the names of domains and methods.
 *
 * Order of preference for `--energy auto` (issue: energy): the perf power PMU (the kernel
 * already extends RAPL's 32-bit counter to 64 bits), powercap sysfs (our own accumulator),
 * PAPI's energy events, then the estimator, which is always available and always labelled.
 * NVML is not in the CPU chain: the meter adds it beside the CPU source when a GPU is there.
 */
#include "jb_energy.h"

#include <string.h>

const struct jb_energy_source *const jb_energy_sources[] = {
    &jb_energy_perf,
    &jb_energy_powercap,
    &jb_energy_papi,
    &jb_energy_estimator,
    &jb_energy_nvml,
    NULL,
};

const struct jb_energy_source *jb_energy_source_by_name(const char *name)
{
    for (int i = 0; name && jb_energy_sources[i]; i++)
        if (strcmp(jb_energy_sources[i]->name, name) == 0)
            return jb_energy_sources[i];
    return NULL;
}

const char *jb_domain_kind_name(enum jb_domain_kind k)
{
    static const char *const names[JB_DOMAIN_COUNT] = { "package", "cores", "uncore", "dram",
        "psys", "gpu", "cpu" };
    return (unsigned)k < JB_DOMAIN_COUNT ? names[k] : "?";
}

const char *jb_energy_method_name(enum jb_energy_method m)
{
    switch (m) {
    case JB_METHOD_MEASURED: return "measured";
    case JB_METHOD_INTEGRATED: return "integrated";
    case JB_METHOD_ESTIMATED: return "estimated";
    }
    return "?";
}
