/*
 * cmd_workloads.c — `joulebench workloads`: what traffic is available, one line a workload
 * (scenario, requests, lengths, objectives).
 */
#include "jb_cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jb_workload.h"

static void describe_dist(const struct jb_length_dist *d, char *buf, size_t len)
{
    switch (d->kind) {
    case JB_DIST_FIXED: snprintf(buf, len, "%g", d->a); break;
    case JB_DIST_UNIFORM: snprintf(buf, len, "%g-%g", d->a, d->b); break;
    case JB_DIST_NORMAL: snprintf(buf, len, "N(%g,%g)", d->a, d->b); break;
    case JB_DIST_LOGNORMAL: snprintf(buf, len, "LN(%g,%g)", d->a, d->b); break;
    }
}

static void print_workload(const struct jb_workload *w)
{
    char prompt[48], output[48], slo[48] = "-";
    if (w->trace_path[0]) {
        snprintf(prompt, sizeof prompt, "trace");
        snprintf(output, sizeof output, "trace");
    } else {
        describe_dist(&w->prompt, prompt, sizeof prompt);
        describe_dist(&w->output, output, sizeof output);
    }
    if (w->slo_ttft_ms > 0 || w->slo_tpot_ms > 0)
        snprintf(slo, sizeof slo, "%g/%g", w->slo_ttft_ms, w->slo_tpot_ms);
    printf("%-20s %-13s %8lld %5lld %14s %14s %6lld %11s  %s\n", w->name,
        jb_scenario_name(w->scenario), (long long)w->n_requests, (long long)w->batch, prompt,
        output, (long long)w->depth, slo, w->description);
}

int jb_cmd_workloads(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: joulebench workloads\nLists the workloads under %s (format: "
                   "workloads/README.md).\n",
                jb_workloads_root());
            return JB_EXIT_OK;
        }
        jb_errorf("workloads: unexpected argument \"%s\"", argv[1]);
        return JB_EXIT_USAGE;
    }
    char **names;
    int n, bad = 0;
    struct jb_err err = { 0 };
    int rc = jb_workloads_list(&names, &n, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    printf("%-20s %-13s %8s %5s %14s %14s %6s %11s  %s\n", "workload", "scenario", "requests",
        "batch", "prompt_tokens", "output_tokens", "depth", "slo_ms", "description");
    for (int i = 0; i < n; i++) {
        struct jb_workload w;
        if (jb_workload_load(names[i], NULL, &w, &err) == 0) {
            print_workload(&w);
            jb_workload_free(&w);
        } else {
            jb_errorf("%s", err.msg);
            bad++;
        }
        free(names[i]);
    }
    free(names);
    printf("# slo_ms: TTFT/TPOT objectives; prompt/output: fixed, A-B uniform, N(mean,sd), "
           "LN(median,sigma), or from a trace\n");
    return bad ? JB_EXIT_USAGE : JB_EXIT_OK;
}
