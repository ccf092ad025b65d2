/*
 * cmd_report.c — `joulebench report RESULTS_DIR`: what a query and a token cost, in joules,
 * money and CO2, written as report.md (and report.html) with its tables as CSV and six
 * pictures drawn by gnuplot (nine when the results hold several machines). The work is in
 * harness/report/; this file is the command line, and it reads the model registry for the
 * report (names and parameter counts of the models that can be predicted), since the report
 * reads results, never models.
 */
#include "jb_cli.h"
#include "jb_model.h"
#include "jb_run.h"
#include "jb_report.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOS 16 /* --slo given this many times at most */

static struct jb_slo slos[MAX_SLOS]; /* --slo, in order */

/* One --slo: parsed into slos[o->n_slos]. */
static int add_slo(struct jb_report_opts *o, const char *spec)
{
    struct jb_err err;
    if (o->n_slos == MAX_SLOS) {
        jb_errorf("option --slo: given more than %d times", MAX_SLOS);
        return -1;
    }
    if (jb_slo_parse(spec, &slos[o->n_slos], &err)) {
        jb_errorf("option --slo: %s", err.msg);
        return -1;
    }
    snprintf(slos[o->n_slos].from, sizeof slos[0].from, "--slo");
    o->slos = slos;
    o->n_slos++;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench report RESULTS_DIR [--cost PROFILE] [--out DIR] [--qps Q]\n"
        "           [--workload NAME] [--predict NAME|N,...] [--fit-min-params N]\n"
        "           [--machines-by host|cpu] [--slo tpot_ms=MS,ttft_ms=MS]... [--allow-invalid]\n"
        "Writes report.md, report.html, the CSV of every table and the pictures (PNG and SVG,\n"
        "drawn with gnuplot when it is installed) into DIR (default RESULTS_DIR/report).\n"
        "Results of several machines (a merged fleet folder) are kept apart per machine.\n"
        "  --cost PROFILE      cost profile: a NAME in profiles/ or an .ini file (default %s)\n"
        "  --qps Q             load the servers-needed column is computed for (default %g)\n"
        "  --workload NAME     workload of the pictures and fits (default: the one run most)\n"
        "  --predict LIST      model NAMEs or parameter counts (8e9) to predict from the fits\n"
        "                      (default: the ladder's models that were not run)\n"
        "  --fit-min-params N  leave smaller models out of the fits (default %g)\n"
        "  --machines-by KEY   what tells machines apart: host (host and cpu_info, the\n"
        "                      default) or cpu (cpu_info alone: alike nodes are one machine)\n"
        "  --allow-invalid     energy figures from every repetition, also those judged\n"
        "                      invalid (runs.csv valid = 0; docs/validity.md); by default\n"
        "                      their energy is left out and counted on stderr\n"
        "  --slo BOUNDS        a latency target on the 90th percentiles, e.g. tpot_ms=200,\n"
        "                      ttft_ms=2000; repeat for several (at most %d). The report names\n"
        "                      the configuration of each model with the lowest J/output token\n"
        "                      and the lowest cost that meets it (default: the [slo] of the\n"
        "                      workloads run, else %s)\n"
        "Every formula and picture is explained in docs/report.md.\n",
        JB_REPORT_DEFAULT_PROFILE, JB_REPORT_DEFAULT_QPS, JB_REPORT_DEFAULT_FIT_MIN_PARAMS,
        MAX_SLOS, JB_SLO_DEFAULT);
}

/* ---- the models the report knows by name, from the registry ------------------------------ */

/* What the report is given in jb_report_opts.models; owns the names. */
struct known_models {
    struct jb_report_model *m; /* (n) */
    char **names;              /* (n) the strings m[i].name points to */
    size_t n, cap;
};

static void known_models_free(struct known_models *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->names[i]);
    free(k->names);
    free(k->m);
    memset(k, 0, sizeof *k);
}

/* Appends a model and the parameter count of its config. */
static int known_models_add(
    struct known_models *k, const char *name, const struct jb_config *c, struct jb_err *err)
{
    if (k->n == k->cap) {
        const size_t cap = k->cap ? 2 * k->cap : 16;
        struct jb_report_model *m = realloc(k->m, cap * sizeof *m);
        if (m)
            k->m = m;
        char **names = m ? realloc(k->names, cap * sizeof *names) : NULL;
        if (!names)
            return jb_fail(err, JB_ENOMEM, "out of memory");
        k->names = names;
        k->cap = cap;
    }
    if (!(k->names[k->n] = strdup(name)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    k->m[k->n].name = k->names[k->n];
    k->m[k->n++].params = (double)jb_config_params(c);
    return 0;
}

/* The config of a model NAME (under jb_models_dir()) or folder; why (OUT) says what failed. */
static int model_config(const char *name, struct jb_config *c, struct jb_err *why)
{
    char dir[PATH_MAX];
    return jb_model_config(jb_models_dir(), name, c, dir, sizeof dir, why);
}

/* Without --predict: the ladder, every model folder whose config loads, smallest first (the
 * others are named on stderr). A models folder that cannot be listed gives none. */
static int ladder_models(struct known_models *k, struct jb_err *err)
{
    struct jb_model_list list;
    struct jb_err why;
    int rc = 0;
    if (jb_models_ladder(&list, &why) == 0) {
        for (int i = 0; !rc && i < list.count; i++) {
            struct jb_config c;
            if (model_config(list.names[i], &c, &why) == 0)
                rc = known_models_add(k, list.names[i], &c, err);
        }
    }
    jb_models_list_free(&list);
    return rc;
}

/* With --predict: its items that are not parameter counts, each a model NAME or folder. One
 * that is neither is JB_ENOENT. The list is read as the report reads it (1 KiB at most). */
static int predict_models(const char *predict, struct known_models *k, struct jb_err *err)
{
    char buf[1024];
    int rc = 0;
    snprintf(buf, sizeof buf, "%s", predict);
    for (char *save, *tok = strtok_r(buf, ",", &save); !rc && tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct jb_config c;
        struct jb_err why;
        double n;
        if (jb_report_predict_size(tok, &n))
            continue;
        if (model_config(tok, &c, &why) == 0)
            rc = known_models_add(k, tok, &c, err);
        else
            rc = jb_fail(err, JB_ENOENT,
                "option --predict: \"%.100s\" is neither a parameter count nor a model (%.300s)",
                tok, why.msg);
    }
    return rc;
}

static int parse_args(int argc, char **argv, struct jb_report_opts *o)
{
    static const struct option opts[] = { { "cost", required_argument, NULL, 'c' },
        { "out", required_argument, NULL, 'o' }, { "qps", required_argument, NULL, 'q' },
        { "workload", required_argument, NULL, 'w' }, { "predict", required_argument, NULL, 'p' },
        { "fit-min-params", required_argument, NULL, 'm' },
        { "machines-by", required_argument, NULL, 'b' }, { "slo", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' }, { "allow-invalid", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 'c': o->profile = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'q':
            if (jb_parse_f64("--qps", optarg, 1e-9, 1e12, &o->qps))
                return -1;
            break;
        case 'w': o->workload = optarg; break;
        case 'p': o->predict = optarg; break;
        case 'm':
            if (jb_parse_f64("--fit-min-params", optarg, 0, 1e15, &o->fit_min_params))
                return -1;
            break;
        case 'b':
            if (strcmp(optarg, "host") == 0)
                o->machines_by = JB_REPORT_MACHINES_BY_HOST;
            else if (strcmp(optarg, "cpu") == 0)
                o->machines_by = JB_REPORT_MACHINES_BY_CPU;
            else {
                jb_errorf("option --machines-by: expected host or cpu, got \"%s\"", optarg);
                return -1;
            }
            break;
        case 's':
            if (add_slo(o, optarg))
                return -1;
            break;
        case 'I': o->allow_invalid = true; break;
        case 'h': usage(stdout); return JB_PARSE_HELP;
        default: usage(stderr); return -1;
        }
    }
    if (optind == argc)
        jb_errorf("report: RESULTS_DIR is required (a folder written by joulebench run or sweep)");
    else if (optind + 1 < argc)
        jb_errorf("report: unexpected argument \"%s\"", argv[optind + 1]);
    else {
        o->results_dir = argv[optind];
        return 0;
    }
    return -1;
}

int jb_cmd_report(int argc, char **argv)
{
    struct jb_report_opts o;
    struct jb_report_result res;
    struct known_models known = { 0 };
    struct jb_err err;
    jb_report_opts_init(&o);
    o.log = stderr;
    const int parsed = parse_args(argc, argv, &o);
    if (parsed)
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    int rc = o.predict ? predict_models(o.predict, &known, &err) : ladder_models(&known, &err);
    if (!rc) {
        o.models = known.m;
        o.n_models = known.n;
        rc = jb_report_write(&o, &res, &err);
    }
    known_models_free(&known);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    printf("%s/report.md\n", res.out_dir);
    if (res.gnuplot_missing)
        fprintf(stderr,
            "# report: tables only, no pictures (gnuplot is missing; the report says so)\n");
    else
        fprintf(stderr, "# report: tables and %d of %d pictures%s; report.html beside it\n",
            res.pictures_drawn, res.pictures,
            res.pictures_failed ? " (report.md says why not the others)" : "");
    return JB_EXIT_OK;
}
