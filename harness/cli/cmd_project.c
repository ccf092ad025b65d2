/*
 * cmd_project.c — `joulebench project`: latency, energy and cost of models on catalog hardware
 * (hardware/NAME.ini) this machine is not, from a per-phase roofline calibrated by measurements:
 * the published llama.cpp table (data/published-bench/) for every backend it covers, this
 * machine's results (--from) for the cpu. Writes projection.csv, projection.md and pictures;
 * --validate-published and --validate-from print the leave-one-out errors instead.
 */
#include "jb_cli.h"

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jb_project.h"
#include "jb_report.h"
#include "jb_run.h"
#include "jb_workload.h"

#define DEFAULT_PUBLISHED JB_SOURCE_DIR "/data/published-bench/llamacpp.csv"

struct proj_opts {
    const char *hardware, *models, *from, *workloads, *dtypes, *profile, *price, *published, *out;
    const char *calib_hw, *validate_from;
    bool validate_published;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench project --hardware NAME|FILE,.. (--models A,B,..|--from RESULTS_DIR)\n"
        "           [--workloads chat,..] [--dtypes q8_0,..] [--profile NAME|FILE]\n"
        "           [--price auto|purchase|cloud] [--published FILE|none]\n"
        "           [--calibration-hardware NAME|FILE] [--out DIR]\n"
        "       joulebench project --validate-published [--published FILE]\n"
        "       joulebench project --validate-from RESULTS_DIR [--calibration-hardware NAME]\n"
        "PROJECTS (does not measure) TTFT, TPOT, tok/s, J/token and cost per query of each\n"
        "device x model x dtype x workload: a roofline over the engine's bytes and FLOPs divided\n"
        "by efficiencies measured on this machine (--from, for the cpu backend; its device is\n"
        "--calibration-hardware, default this-machine) and in published llama.cpp runs (the\n"
        "others). dtypes: f32, f16 (= bf16), q8_0, q4_0, q4_k. Writes DIR/projection.csv (method\n"
        "projected), projection.md and pictures (default DIR: projection). docs/projection.md.\n");
}

static int parse(int argc, char **argv, struct proj_opts *o)
{
    static const struct option opts[] = { { "hardware", required_argument, NULL, 'H' },
        { "models", required_argument, NULL, 'm' }, { "from", required_argument, NULL, 'f' },
        { "workloads", required_argument, NULL, 'w' }, { "dtypes", required_argument, NULL, 'd' },
        { "profile", required_argument, NULL, 'p' }, { "price", required_argument, NULL, 'P' },
        { "published", required_argument, NULL, 'b' }, { "out", required_argument, NULL, 'o' },
        { "calibration-hardware", required_argument, NULL, 'c' },
        { "validate-from", required_argument, NULL, 'V' },
        { "validate-published", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 'H': o->hardware = optarg; break;
        case 'm': o->models = optarg; break;
        case 'f': o->from = optarg; break;
        case 'w': o->workloads = optarg; break;
        case 'd': o->dtypes = optarg; break;
        case 'p': o->profile = optarg; break;
        case 'P': o->price = optarg; break;
        case 'b': o->published = optarg; break;
        case 'o': o->out = optarg; break;
        case 'c': o->calib_hw = optarg; break;
        case 'V': o->validate_from = optarg; break;
        case 'v': o->validate_published = true; break;
        case 'h': usage(stdout); return JB_PARSE_HELP;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        jb_errorf("project: unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (strcmp(o->price, "auto") && strcmp(o->price, "purchase") && strcmp(o->price, "cloud")) {
        jb_errorf("option --price: expected auto, purchase or cloud, got \"%s\"", o->price);
        return -1;
    }
    if (o->validate_published || o->validate_from)
        return 0;
    if (!o->hardware || (!o->models && !o->from)) {
        jb_errorf("project: --hardware and --models (or --from RESULTS_DIR) are required");
        return -1;
    }
    return 0;
}

/* ---- a comma list ----------------------------------------------------------------------------- */

struct list {
    char *buf;
    char **items;
    size_t n;
};

static int list_split(const char *s, struct list *l)
{
    memset(l, 0, sizeof *l);
    l->buf = strdup(s);
    l->items = calloc(strlen(s) / 2 + 2, sizeof *l->items);
    if (!l->buf || !l->items)
        return JB_ENOMEM;
    for (char *save = NULL, *t = strtok_r(l->buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        l->items[l->n++] = t;
    return 0;
}

static void list_free(struct list *l)
{
    free(l->buf);
    free(l->items);
}

/* The distinct models of a results folder, in order of first appearance, as a comma list. */
static int models_of(const char *dir, char **out, struct jb_err *err)
{
    struct jb_results_data d;
    int rc = jb_results_read(dir, JB_RESULTS_RUNS, &d, err);
    if (rc)
        return rc;
    size_t cap = 1;
    for (size_t i = 0; i < d.n_runs; i++)
        cap += strlen(d.runs[i].model) + 1;
    *out = calloc(cap, 1);
    for (size_t i = 0; i < d.n_runs && *out; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(d.runs[i].model, d.runs[j].model) == 0;
        if (!seen)
            jb_appendf(*out, cap, "%s%s", **out ? "," : "", d.runs[i].model);
    }
    jb_results_data_free(&d);
    return *out ? 0 : jb_fail(err, JB_ENOMEM, "out of memory");
}

/* ---- efficiencies -------------------------------------------------------------------------- */

/* Published table first (every backend it covers), then this machine's results (cpu). */
static int calibrate(const struct proj_opts *o, struct jb_efficiency *e, struct jb_err *err)
{
    jb_efficiency_defaults(e);
    const char *pub = o->published ? o->published : DEFAULT_PUBLISHED;
    if (strcmp(pub, "none") != 0) {
        struct jb_published *rows;
        size_t n;
        int rc = jb_published_read(pub, jb_models_dir(), &rows, &n, err);
        if (rc)
            return rc;
        jb_efficiency_from_published(e, rows, n, SIZE_MAX, pub);
        free(rows);
    }
    if (!o->from)
        return 0;
    struct jb_hw hw;
    struct jb_measured *m;
    size_t n;
    int rc = jb_hw_load(o->calib_hw, &hw, err);
    if (!rc)
        rc = jb_measured_read(o->from, jb_models_dir(), &hw, &m, &n, err);
    if (rc)
        return rc;
    jb_efficiency_from_measured(e, m, n, SIZE_MAX, &hw, o->from);
    free(m);
    return 0;
}

/* ---- projecting every combination ---------------------------------------------------------- */

struct grid {
    struct list hw, models, workloads, dtypes;
    struct jb_projection *rows;
    size_t n_rows;
};

static int project_workload(struct grid *g, const struct jb_hw *hw, const struct jb_config *c,
    enum jb_format f, const struct jb_workload *w, const struct jb_project_opts *po,
    struct jb_err *err)
{
    struct jb_project_request *reqs = calloc((size_t)w->n_requests + 1, sizeof *reqs);
    if (!reqs)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (int64_t i = 0; i < w->n_requests; i++)
        reqs[i] = (struct jb_project_request) { w->requests[i].prompt_tokens,
            w->requests[i].output_tokens, w->depth };
    const int rc = jb_project_one(hw, c, f, w->name, jb_scenario_name(w->scenario), reqs,
        (size_t)w->n_requests, po, &g->rows[g->n_rows], err);
    free(reqs);
    if (!rc)
        g->n_rows++;
    return rc;
}

static int project_all(struct grid *g, const struct jb_project_opts *po, struct jb_err *err)
{
    int rc = 0;
    g->rows = calloc(g->hw.n * g->models.n * g->workloads.n * g->dtypes.n + 1, sizeof *g->rows);
    if (!g->rows)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t h = 0; h < g->hw.n && !rc; h++) {
        struct jb_hw hw;
        if ((rc = jb_hw_load(g->hw.items[h], &hw, err)))
            break;
        for (size_t m = 0; m < g->models.n && !rc; m++) {
            struct jb_config c;
            char dir[PATH_MAX];
            if ((rc = jb_model_config(
                     jb_models_dir(), g->models.items[m], &c, dir, sizeof dir, err)))
                break;
            for (size_t wi = 0; wi < g->workloads.n && !rc; wi++) {
                struct jb_workload w;
                if ((rc = jb_workload_load(g->workloads.items[wi], NULL, &w, err)))
                    break;
                for (size_t d = 0; d < g->dtypes.n && !rc; d++) {
                    enum jb_format f;
                    if (jb_format_parse(g->dtypes.items[d], &f))
                        rc = jb_fail(err, JB_EINVAL,
                            "option --dtypes: expected f32, f16, bf16, "
                            "q8_0, q4_0 or q4_k, got \"%s\"",
                            g->dtypes.items[d]);
                    else
                        rc = project_workload(g, &hw, &c, f, &w, po, err);
                }
                jb_workload_free(&w);
            }
        }
    }
    return rc;
}

/* ---- the validations ------------------------------------------------------------------------- */

static int validate(const struct proj_opts *o, struct jb_err *err)
{
    if (o->validate_published) {
        const char *pub = o->published ? o->published : DEFAULT_PUBLISHED;
        struct jb_published *rows;
        size_t n;
        int rc = jb_published_read(pub, jb_models_dir(), &rows, &n, err);
        if (rc)
            return rc;
        printf("Leave-one-out over %zu published measurements (%s); errors are |projected - "
               "measured| / measured, PROJECTED rows:\n\n",
            n, pub);
        jb_validate_published(stdout, rows, n);
        free(rows);
    }
    if (o->validate_from) {
        struct jb_hw hw;
        struct jb_measured *m;
        size_t n;
        int rc = jb_hw_load(o->calib_hw, &hw, err);
        if (!rc)
            rc = jb_measured_read(o->validate_from, jb_models_dir(), &hw, &m, &n, err);
        if (rc)
            return rc;
        printf("Leave-one-out over the %zu configurations of %s on %s (PROJECTED from the "
               "others):\n\n",
            n, o->validate_from, hw.name);
        jb_validate_measured(stdout, m, n, &hw);
        free(m);
    }
    return 0;
}

static void command_line(int argc, char **argv, char *buf, size_t len)
{
    snprintf(buf, len, "joulebench");
    for (int i = 0; i < argc; i++)
        jb_appendf(buf, len, " %s", argv[i]);
}

int jb_cmd_project(int argc, char **argv)
{
    struct proj_opts o = { .workloads = "chat",
        .dtypes = "q8_0",
        .profile = NULL,
        .price = "auto",
        .out = "projection",
        .calib_hw = "this-machine" };
    struct jb_err err = { .code = 0 };
    struct grid g;
    memset(&g, 0, sizeof g);
    const int parsed = parse(argc, argv, &o);
    if (parsed)
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    if (o.validate_published || o.validate_from) {
        const int rc = validate(&o, &err);
        if (rc)
            jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    struct jb_efficiency e;
    struct jb_cost_profile prof;
    char *from_models = NULL, cmd[2048];
    int rc = calibrate(&o, &e, &err);
    if (!rc)
        rc = jb_cost_profile_load(
            o.profile ? o.profile : JB_REPORT_DEFAULT_PROFILE, NULL, &prof, &err);
    if (!rc && !o.models)
        rc = models_of(o.from, &from_models, &err);
    if (!rc
        && (list_split(o.hardware, &g.hw)
            || list_split(o.models ? o.models : from_models, &g.models)
            || list_split(o.workloads, &g.workloads) || list_split(o.dtypes, &g.dtypes)))
        rc = jb_fail(&err, JB_ENOMEM, "out of memory");
    const struct jb_project_opts po = { &e, &prof, o.price };
    if (!rc)
        rc = project_all(&g, &po, &err);
    if (!rc) {
        command_line(argc, argv, cmd, sizeof cmd);
        jb_projection_print(stdout, g.rows, g.n_rows);
        rc = jb_projection_write(o.out, g.rows, g.n_rows, &e, cmd, NULL, NULL, stdout, &err);
    }
    if (rc)
        jb_errorf("%s", err.msg);
    free(from_models);
    free(g.rows);
    list_free(&g.hw);
    list_free(&g.models);
    list_free(&g.workloads);
    list_free(&g.dtypes);
    return jb_exit_code(rc);
}
