/*
 * costs.c — the cost model (cost.c) applied to the report: one row of cost.csv per
 * configuration, from its medians and the cost profile, and the cost of the energy and time
 * the fits predict for a size that was not run.
 */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void cost_inputs(const struct jb_report_config *c, struct jb_cost_inputs *in)
{
    in->j_per_query = c->j_per_query;
    in->machine_s_per_query = c->machine_s_per_query;
    in->output_tokens_per_query = c->output_tokens_per_query;
}

/* One row of cost.csv per configuration: its figures through the cost model at --qps. */
int jb__report_compute_costs(struct report *r, struct jb_err *err)
{
    r->cost = calloc(r->d.n_configs + 1, sizeof *r->cost);
    if (!r->cost)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->d.n_configs; i++) {
        const struct jb_report_config *c = &r->d.configs[i];
        struct cost_row *k = &r->cost[i];
        struct jb_cost_inputs in;
        snprintf(k->label, sizeof k->label, "%s", c->label);
        snprintf(k->model, sizeof k->model, "%s", c->model);
        snprintf(k->dtype, sizeof k->dtype, "%s", c->dtype);
        snprintf(k->workload, sizeof k->workload, "%s", c->workload);
        snprintf(k->scenario, sizeof k->scenario, "%s", c->scenario);
        snprintf(k->energy_method, sizeof k->energy_method, "%s", c->energy_method);
        snprintf(k->machine, sizeof k->machine, "%s", c->machine);
        snprintf(k->currency, sizeof k->currency, "%s", r->prof.currency);
        k->params = c->params;
        k->batch = c->batch;
        k->threads = c->threads;
        cost_inputs(c, &in);
        k->j_per_query = in.j_per_query;
        k->machine_s_per_query = in.machine_s_per_query;
        k->output_tokens_per_query = in.output_tokens_per_query;
        jb_cost_compute(&r->prof, &in, r->o->qps, &k->c);
        k->energy_per_1k = 1000 * k->c.energy_per_query;
        k->hardware_per_1k = 1000 * k->c.hardware_per_query;
        k->qps = r->o->qps;
    }
    return 0;
}

/* Cost per 1,000 queries from predicted energy and time (no load: servers are not counted). */
double jb__report_predicted_cost_1k(
    const struct report *r, double j_per_query, double machine_s, double out_tokens, double *g_co2e)
{
    struct jb_cost_inputs in = { j_per_query, machine_s, out_tokens };
    struct jb_cost c;
    jb_cost_compute(&r->prof, &in, NAN, &c);
    if (g_co2e)
        *g_co2e = c.g_co2e_per_query;
    return c.per_1k_queries;
}
