/*
 * report.c — `joulebench report`: from a results folder and a cost profile to report.md and
 * report.html. This file holds the report's state from start to end and runs the steps in
 * order: select.c (what the pictures show), costs.c, fit.c (fits, leave-one-out,
 * predictions), plotdata.c (the pictures) and document.c (the summary and the document).
 * Results from several machines (host + cpu_info of the rows) keep each machine's figures
 * apart: a configuration per machine, fits per machine, a machine column in every table and
 * pictures across machines. docs/report.md explains every number.
 */
#include "report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jb_report_opts_init(struct jb_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->qps = JB_REPORT_DEFAULT_QPS;
    o->fit_min_params = JB_REPORT_DEFAULT_FIT_MIN_PARAMS;
}

/* Frees what the steps allocated; the struct itself is the caller's. */
static void report_free(struct report *r)
{
    jb_report_data_free(&r->d);
    free(r->sel);
    free(r->cost);
    free(r->series);
    free(r->loo);
    free(r->pred);
    free(r->sampled);
    free(r->plots);
    jb__report_pareto_free(r);
}

/* Loads the cost profile and the results, and makes the output folder and its data/. */
static int prepare(struct report *r, struct jb_err *err)
{
    const struct jb_report_opts *o = r->o;
    int rc = jb_cost_profile_load(
        o->profile ? o->profile : JB_REPORT_DEFAULT_PROFILE, o->data_dir, &r->prof, err);
    if (!rc)
        rc = jb_report_load_valid(o->results_dir, o->machines_by, o->allow_invalid, &r->d, err);
    if (!rc)
        jb_validity_print(&r->d.invalid, "joulebench: report",
            o->allow_invalid ? "judged invalid, kept (--allow-invalid)"
                             : "judged invalid, left out of energy figures",
            o->log);
    if (!rc && o->out_dir)
        snprintf(r->out, sizeof r->out, "%s", o->out_dir);
    else if (!rc
        && (size_t)snprintf(r->out, sizeof r->out, "%s/report", o->results_dir) >= sizeof r->out)
        rc = jb_fail(err, JB_ERANGE, "%s: path too long", o->results_dir);
    if (!rc)
        rc = jb_mkdir_p(r->out, 0755, NULL, err);
    if (!rc) {
        char data[PATH_MAX + 8];
        snprintf(data, sizeof data, "%s/data", r->out);
        rc = jb_mkdir_p(data, 0755, NULL, err);
    }
    return rc;
}

int jb_report_write(
    const struct jb_report_opts *o, struct jb_report_result *res, struct jb_err *err)
{
    struct report r;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.o = o;
    if (!(r.plots = calloc(N_PICTURES_MAX, sizeof *r.plots)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    int rc = prepare(&r, err);
    r.machines = !rc && r.d.n_machines > 1;
    r.n_pictures = r.machines ? N_PICTURES_MAX : N_PICTURES;
    if (!rc)
        rc = jb__report_select(&r, err);
    if (!rc)
        rc = jb__report_compute_costs(&r, err);
    if (!rc)
        rc = jb__report_fit_all(&r, err);
    if (!rc)
        rc = jb__report_predict_all(&r, err);
    if (!rc)
        rc = jb__report_draw_pictures(&r, err);
    if (!rc)
        rc = jb__report_pareto(&r, err);
    if (!rc)
        rc = jb__report_write_document(&r, err);
    snprintf(res->out_dir, sizeof res->out_dir, "%s", r.out);
    res->gnuplot_missing = r.gnuplot_missing;
    res->pictures = r.n_pictures;
    res->machines = (int)r.d.n_machines;
    for (int i = 0; i < r.n_pictures; i++) {
        res->pictures_drawn += r.plots[i].drawn;
        res->pictures_failed += !r.plots[i].drawn;
    }
    report_free(&r);
    return rc;
}
