/*
 * cmd_sources.c — `joulebench sources`: which energy sources and hardware counters work on
 * this machine, and for each that does not, the precise reason and the fix.
 */
#include "jb_cli.h"
#include "jb_run.h"

#include <stdio.h>
#include <string.h>

#include "jb_counters.h"
#include "jb_energy.h"
#include "jb_kernels.h"
#include "jb_meter.h"

static void print_available(const struct jb_energy_source *s, const struct jb_energy_opts *o)
{
    void *ctx;
    struct jb_energy_info info;
    struct jb_err err;
    if (s->open(o, &ctx, &info, &err)) {
        printf("  %-10s probe passed but open failed: %s\n", s->name, err.msg);
        return;
    }
    printf("  %-10s available: %s, %s\n", s->name, jb_energy_method_name(info.method), info.detail);
    if (info.uncertainty[0])
        printf("  %-10s   uncertainty: %s\n", "", info.uncertainty);
    if (info.resolution_j > 0)
        printf("  %-10s   resolution %.3g J\n", "", info.resolution_j);
    printf("  %-10s   updates every %.3g s; ", "", info.update_s);
    if (info.max_poll_s > 0)
        printf("must be read at least every %.1f s or a wrap may be missed\n", info.max_poll_s);
    else
        printf("no wrap-around to outrun\n");
    for (int d = 0; d < info.n_domains; d++)
        printf("  %-10s   domain %-12s %-8s %s\n", "", info.domains[d].name,
            jb_domain_kind_name(info.domains[d].kind),
            info.domains[d].in_total ? "summed into energy_j" : "reported, not summed (inside another)");
    s->close(ctx);
}

/* The kernel tables this CPU runs (CPUID and XCR0), and the one --kernels auto picks. */
static void print_kernel_tables(void)
{
    const struct jb_kernel_ops *tables[] = { jb_kernels_ref(), jb_kernels_avx2(), jb_kernels_avx512() };
    static const char *const names[] = { "ref", "avx2", "avx512" };
    printf("\nkernel tables (--kernels):\n");
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        const struct jb_kernel_ops *k = tables[i];
        if (!k)
            printf("  %-10s not available: this CPU or its OS lacks the instructions\n", names[i]);
        else if (k->features && k->features[0])
            printf("  %-10s available, with %s\n", k->name, k->features);
        else
            printf("  %-10s available\n", k->name);
    }
    printf("  --kernels auto uses: %s\n", jb_kernels_best()->name);
}

int jb_cmd_sources(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: joulebench sources\nEvery energy source and hardware counter: "
                   "available here or not, and why.\n");
            return JB_EXIT_OK;
        }
        jb_errorf("sources: unexpected argument \"%s\"", argv[1]);
        return JB_EXIT_USAGE;
    }
    const struct jb_energy_opts o = { 0 };
    printf("energy sources (--energy auto tries them in this order; nvml is added for GPUs):\n");
    for (int i = 0; jb_energy_sources[i]; i++) {
        const struct jb_energy_source *s = jb_energy_sources[i];
        char why[512] = "no reason given";
        if (s->probe(&o, why, sizeof why))
            printf("  %-10s not available: %s\n", s->name, why);
        else
            print_available(s, &o);
    }
    struct jb_meter *m;
    struct jb_err err;
    const struct jb_meter_opts mo = { "auto", 100, o, false };
    if (jb_meter_open(&m, &mo, &err) == 0) {
        printf("\n--energy auto uses: %s\n", jb_meter_describe(m));
        jb_meter_close(m);
    } else {
        printf("\n--energy auto: %s\n", err.msg);
    }
    print_kernel_tables();
    printf("\nhardware counters (PAPI):\n");
    fflush(stdout);
    jb_counters_report(stdout);
    return JB_EXIT_OK;
}
