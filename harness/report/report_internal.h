/*
 * report_internal.h — what the files of harness/report/ share to write one report and what is
 * not part of its interface (jb_report.h): the report's state, the records of its tables with
 * their column tables, the six pictures, and one entry per step of jb_report_write. Shared
 * names start with jb__report_; everything used in one file stays static there.
 */
#ifndef JB_REPORT_INTERNAL_H
#define JB_REPORT_INTERNAL_H

#include "jb_report.h"

#include <stddef.h>

#include "jb_results.h"

#ifndef JB_SOURCE_DIR
#define JB_SOURCE_DIR "."
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ==== records of the report's tables (their columns: tables.c) =============================== */

/* cost.csv: one row per configuration. */
struct cost_row {
    char label[224], model[128], dtype[16], workload[128], scenario[24], energy_method[16];
    char machine[64];
    char currency[8];
    int64_t params, batch, threads;
    double j_per_query, machine_s_per_query, output_tokens_per_query;
    struct jb_cost c;
    double energy_per_1k, hardware_per_1k, qps;
};

/* fit.csv: one row per series and quantity. */
struct fit_row {
    char series[96], machine[64], quantity[32], unit[16];
    int64_t n;
    double a, b, b_se, r2, params_min, params_max;
};

/* loo.csv: each fitted configuration predicted from the others. */
struct loo_row {
    char series[96], machine[64], model[128], kind[16];
    int64_t params;
    double e_tok, e_tok_pred, e_tok_err_pct, cost_1k, cost_1k_pred, cost_1k_err_pct;
};

/* predict.csv: sizes not run, from the fits. */
struct predict_row {
    char series[96], machine[64], model[128], kind[16];
    int64_t params;
    double factor, e_tok, j_per_query, machine_s_per_query, cost_1k, g_co2e, loo_err_pct;
};

/* extrapolated.csv: each layer-sampled model against the fit of the measured whole models. */
struct sampled_row {
    char series[96], machine[64], model[128], layers[32];
    int64_t params;
    double factor; /* params / the largest model fitted */
    double e_tok, e_tok_fit, e_tok_diff_pct, s_query, s_query_fit, s_query_diff_pct;
    double cost_1k, cost_1k_fit, cost_1k_diff_pct;
};

/* profile.csv: the inputs of the cost model. */
struct input_row {
    char input[32], value[272], unit[24], from[384];
};

extern const struct jb_column jb__report_cost_columns[];
extern const size_t jb__report_n_cost_columns;
extern const struct jb_column jb__report_fit_columns[];
extern const size_t jb__report_n_fit_columns;
extern const struct jb_column jb__report_loo_columns[];
extern const size_t jb__report_n_loo_columns;
extern const struct jb_column jb__report_predict_columns[];
extern const size_t jb__report_n_predict_columns;
extern const struct jb_column jb__report_sampled_columns[];
extern const size_t jb__report_n_sampled_columns;
extern const struct jb_column jb__report_sampled_machine_column;
extern const struct jb_column jb__report_input_columns[];
extern const size_t jb__report_n_input_columns;
/* The `machine` column of each table, added (second) when the results hold several machines. */
extern const struct jb_column jb__report_cost_machine_column;
extern const struct jb_column jb__report_fit_machine_column;
extern const struct jb_column jb__report_loo_machine_column;
extern const struct jb_column jb__report_predict_machine_column;

/* ==== the pictures (plotdata.c) ============================================================= */

/* Six pictures; three more across machines when the results hold several. */
#define N_PICTURES 6
#define N_PICTURES_MAX 9

enum picture {
    PIC_ENERGY,
    PIC_SPEED,
    PIC_LATENCY,
    PIC_POWER,
    PIC_COST,
    PIC_SPLIT,
    PIC_MACHINES_ENERGY, /* J/output token per model, one line per machine */
    PIC_MACHINES_COST,   /* cost per 1,000 queries per model, one line per machine */
    PIC_MACHINES_SPEED,  /* decode tokens/s per model, one line per machine */
};

/* A picture: its gnuplot script, its file names (out.png, out.svg), its title in the report
 * and the data file it plots. */
struct picture_def {
    const char *script, *out, *title, *data;
};

extern const struct picture_def jb__report_pictures[N_PICTURES_MAX];

/* ==== the report's state ===================================================================== */

/* The fits of one series on one machine (a line in the pictures). */
struct series {
    char name[96];   /* dtype and what else varies (jb_report_config.series) */
    int64_t machine; /* its machine (index into d.machines) */
    char line[160];  /* its name in the pictures: name, or machine/name with several machines */
    bool ok_tok, ok_query, ok_time;
    struct jb_powerlaw tok, query, time; /* j_per_output_token, j_per_query, machine_s_per_query */
    double output_tokens_per_query;      /* median over its configurations */
    double loo_extrapolation_err_pct;    /* its largest model's cost predicted from the others */
    /* j_per_output_token fitted over the measured whole models and the layer-sampled ones
     * (extrapolated) together; ok_tok_all false when the series has no layer-sampled model */
    bool ok_tok_all;
    struct jb_powerlaw tok_all;
};

struct report {
    const struct jb_report_opts *o;
    struct jb_report_data d;
    bool machines;  /* the results hold several machines: tables gain a machine column */
    int n_pictures; /* N_PICTURES, or N_PICTURES_MAX with several machines */
    struct jb_cost_profile prof;
    char out[PATH_MAX];
    char workload[128]; /* the pictures' and fits' workload */
    size_t *sel;        /* its configurations, by series then size */
    size_t n_sel;
    struct cost_row *cost; /* (d.n_configs) */
    struct series *series;
    size_t n_series;
    struct loo_row *loo;
    size_t n_loo;
    struct predict_row *pred;
    size_t n_pred;
    struct sampled_row *sampled; /* layer-sampled models against the fits */
    size_t n_sampled;
    char method[16];       /* the weakest energy method among the pictures' configurations */
    char subtitle[512];    /* machine, energy method and date, on every picture */
    struct jb_plot *plots; /* (N_PICTURES_MAX), n_pictures of them used */
    bool gnuplot_missing;
    char gnuplot_why[256];
    struct jb_doc doc;
    struct jb__report_pareto *pareto; /* the Pareto section (paretodoc.c) */
};

/* ==== figures for people and record tables (tables.c) ======================================= */

/* A figure for people: three significant digits, no exponent between 0.001 and 10^6. */
const char *jb__report_fmt_num(char *buf, size_t len, double v);
/* A parameter count: 134515008 -> "135M", 1235814400 -> "1.24B". */
const char *jb__report_fmt_params(char *buf, size_t len, double v);
/* A share as a percentage: "37%", "<1%", ">99%"; "-" when not finite. */
const char *jb__report_fmt_pct(char *buf, size_t len, double share);
/* Money: "$0.0123" or "0.0123 CHF"; "-" when not finite. */
const char *jb__report_fmt_money(char *buf, size_t len, double v, const char *currency);

/* Records of one table: n records of `size` bytes laid out as cols says. machine (may be NULL)
 * is the column naming each record's machine: with several machines it is written second in
 * the CSV and shown second in the document. */
struct records {
    const struct jb_column *cols;
    size_t n_cols;
    const void *recs;
    size_t size, n;
    const struct jb_column *machine;
};

enum view_fmt { V_TEXT, V_CODE, V_INT, V_NUM, V_PARAMS, V_MONEY, V_PCT, V_SIGNED_PCT };

/* One column of a table as shown in the report: a CSV column, its heading, its format. */
struct view {
    const char *col;
    char head[96];
    enum view_fmt fmt;
};

/* Writes OUT/name (a CSV of the records, atomically). 0 or a negative JB_E* code. */
int jb__report_save_records(
    struct report *r, const char *name, const struct records *t, struct jb_err *err);
/* Writes the records as OUT/csv (all columns) and as a table in the document (the view's
 * n_view columns, formatted for people), followed by a link to the CSV. 0 or JB_E*. */
int jb__report_emit_table(struct report *r, const char *csv, const struct records *t,
    const struct view *v, size_t n_view, struct jb_err *err);

/* ==== the steps of jb_report_write, in order ================================================= */

/* select.c: chooses the pictures' and fits' workload (--workload, else the one run most),
 * names every configuration (label, series, in_fit), selects the workload's configurations
 * by series then size and finds the weakest energy method among them. 0 or JB_ENOENT (no such
 * workload), JB_ENOMEM. */
int jb__report_select(struct report *r, struct jb_err *err);
/* select.c: index of configuration c's series (its name on its machine) in r->series, or -1. */
int jb__report_series_of(const struct report *r, const struct jb_report_config *c);
/* select.c: the models of the report's workload in ladder order (parameters, then name): the
 * index into d.configs of one configuration of each (OUT: models, r->n_sel of room); returns
 * how many. */
size_t jb__report_ladder(const struct report *r, size_t *models);
/* select.c: the name of configuration c in pictures: its label, "label@machine" with several
 * machines. */
const char *jb__report_picture_label(
    const struct report *r, const struct jb_report_config *c, char *buf, size_t len);

/* costs.c: one cost row per configuration (r->cost) from the cost profile. 0 or JB_ENOMEM. */
int jb__report_compute_costs(struct report *r, struct jb_err *err);
/* costs.c: cost per 1,000 queries of predicted energy and time per query; *g_co2e (may be
 * NULL) gets the grams of CO2e per query. */
double jb__report_predicted_cost_1k(const struct report *r, double j_per_query, double machine_s,
    double out_tokens, double *g_co2e);

/* fit.c: the power-law fits of every series and their leave-one-out rows (r->loo). 0 or
 * JB_ENOMEM. */
int jb__report_fit_all(struct report *r, struct jb_err *err);
/* fit.c: predictions (r->pred) for --predict's items, else for the known models not run.
 * 0, or JB_ENOENT / JB_ERANGE for a bad --predict, JB_ENOMEM. */
int jb__report_predict_all(struct report *r, struct jb_err *err);

/* plotdata.c: writes what each picture plots (OUT/data/), sets its gnuplot variables and
 * draws the pictures that have something to plot; a missing gnuplot is not an error
 * (r->gnuplot_missing says so). 0 or a JB_E* code of writing the data. */
int jb__report_draw_pictures(struct report *r, struct jb_err *err);

/* paretodoc.c: pareto.csv (every configuration and its frontiers), slo.csv (the choice at
 * each latency target) and their two pictures, after the other pictures (r->gnuplot_missing
 * known). 0 or a JB_E* code. */
int jb__report_pareto(struct report *r, struct jb_err *err);
/* paretodoc.c: the summary's sentences (one per target and model) and the document section. */
void jb__report_pareto_summary(struct report *r);
int jb__report_doc_pareto(struct report *r, struct jb_err *err);
void jb__report_pareto_free(struct report *r);

/* document.c: writes OUT/report.md and OUT/report.html with every table as CSV beside them.
 * 0 or a JB_E* code. */
int jb__report_write_document(struct report *r, struct jb_err *err);

#endif
