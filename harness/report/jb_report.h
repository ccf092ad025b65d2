/*
 * jb_report.h — `joulebench report`: a results folder in; report.md and report.html, the CSV
 * of every table and six pictures (gnuplot, PNG and SVG) out, nine when the results hold
 * several machines (each machine's figures kept apart). The pieces: loading and checking
 * a results folder (data.c), the power-law fit (fit.c), pictures through gnuplot (plot.c), the
 * Markdown/HTML writer (doc.c), the cost model (cost.c, jb_cost.h) and the report itself
 * (report.c and the files of report_internal.h). The report reads results, never models: what
 * it knows of models not run arrives in jb_report_opts. docs/report.md explains every number.
 */
#ifndef JB_REPORT_H
#define JB_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jb_cost.h"
#include "jb_pareto.h"
#include "jb_csvio.h"
#include "jb_results.h"
#include "jb_validity.h"

#define JB_REPORT_DEFAULT_PROFILE "onprem-cpu-server"
#define JB_REPORT_DEFAULT_QPS 1.0
#define JB_REPORT_DEFAULT_FIT_MIN_PARAMS 5e7
#define JB_REPORT_NOISY_CV 0.10 /* repetitions this far apart are flagged (as --cv-warn) */

/* ==== the report ============================================================================= */

/* A model the report knows by name and its exact parameter count (the caller reads them from
 * the model registry; the report does not). */
struct jb_report_model {
    const char *name;
    double params;
};

/* What makes two run rows the same machine. */
enum jb_report_machines_by {
    JB_REPORT_MACHINES_BY_HOST, /* host and cpu_info (the default) */
    JB_REPORT_MACHINES_BY_CPU,  /* cpu_info alone: alike nodes of a partition are one machine */
};

struct jb_report_opts {
    const char *results_dir;
    const char *out_dir;     /* NULL: RESULTS_DIR/report */
    const char *profile;     /* cost profile NAME or FILE; NULL: JB_REPORT_DEFAULT_PROFILE */
    const char *data_dir;    /* carbon data; NULL: jb_cost_data_dir() */
    const char *workload;    /* the pictures' and fits' workload; NULL: the one run most */
    const char *predict;     /* "NAME,8e9,...": sizes to predict; NULL: known models not run */
    double qps;              /* the load servers are counted for (queries/s) */
    double fit_min_params;   /* smaller models are shown but left out of the fits */
    const char *gnuplot;     /* NULL: $JOULEBENCH_GNUPLOT, else gnuplot on the PATH */
    const char *scripts_dir; /* NULL: $JOULEBENCH_SCRIPTS_DIR, else the source tree's */
    FILE *log;               /* one line per file written, warnings; NULL: quiet */
    /* (n_models) the models known by name, smallest first: --predict's NAMEs are looked up
     * here; without --predict, those not run and not below fit_min_params are predicted, in
     * this order (the ladder). The caller owns them; NULL with 0: none. */
    const struct jb_report_model *models;
    size_t n_models;
    /* what makes a machine in results of several (default JB_REPORT_MACHINES_BY_HOST) */
    enum jb_report_machines_by machines_by;
    /* --allow-invalid: energy figures from every row, not only from rows judged valid
     * (runs.csv valid, docs/validity.md) */
    bool allow_invalid;
    /* (n_slos) the latency targets of the Pareto section (--slo); NULL with 0: the [slo] of the
     * workloads run (runs.csv), else JB_SLO_DEFAULT. The caller owns them. */
    const struct jb_slo *slos;
    size_t n_slos;
};

/* Defaults for every field (results_dir NULL). */
void jb_report_opts_init(struct jb_report_opts *o);

/* Whether an item of a --predict list is a parameter count (a number >= 1, "8e9"), and which
 * (OUT: *params); any other item names a model. */
bool jb_report_predict_size(const char *item, double *params);

struct jb_report_result {
    char out_dir[PATH_MAX];
    int pictures;                        /* 6; 9 when the results hold several machines */
    int pictures_drawn, pictures_failed; /* of those */
    int machines;                        /* distinct host + cpu_info of the runs */
    bool gnuplot_missing;
};

/* Writes the report of o->results_dir into the output folder (created if needed): report.md,
 * report.html, one CSV per table, data/ (what each picture plots) and the pictures. Input
 * errors (a malformed or incomplete results CSV, a bad profile) name the file and column or
 * line and return JB_EPARSE / JB_ERANGE / JB_ENOENT; a missing or failing gnuplot is not an
 * error (the report says so and res counts the pictures). */
int jb_report_write(
    const struct jb_report_opts *o, struct jb_report_result *res, struct jb_err *err);

/* ==== a results folder, read and checked (data.c) ============================================ */

/* One configuration on one machine over its repetitions: medians unless said otherwise. The
 * same config_id run on two machines is two configurations (config_id does not hash the
 * machine). */
struct jb_report_config {
    char config_id[24], model[128], dtype[16], workload[128], scenario[24], kernels[16];
    char machine[64];    /* its machine's label (jb_report_machine.label) */
    int64_t machine_idx; /* index of its machine in jb_report_data.machines */
    int64_t params, batch, threads, reps;
    /* layer sampling: extrapolated 1 when its figures are the whole model's scaled from
     * layers_run of layers_total layers (runs.csv), 0 when the whole model ran */
    int64_t extrapolated, layers_run, layers_total;
    char label[224];  /* its name in tables and pictures: model/dtype[/what else varies] */
    char series[160]; /* its line in pictures: dtype[/what else varies within the workload],
                       * at most 95 characters (data/configs.csv: machine/series with several
                       * machines) */
    int64_t in_fit;   /* 1 when the power-law fits use it */
    double prompt_tokens_per_query, output_tokens_per_query;
    double machine_s_per_query; /* duration_s / requests */
    double machine_s_cv;        /* its coefficient of variation over repetitions; NAN for one */
    double j_per_output_token_cv;
    double req_s, ttft_ms_p50, tpot_ms_p50, e2e_ms_p50, prefill_tok_s, decode_tok_s;
    double ttft_ms_p90, tpot_ms_p90; /* median of each repetition's 90th percentile */
    double energy_j, j_per_query, j_per_output_token, j_per_prompt_token, avg_power_w;
    double prefill_energy_share, decode_energy_share, other_energy_share; /* of summed energy_j */
    char energy_method
        [16]; /* the weakest over repetitions: measured > integrated > estimated > none */
    char energy_source[64];
    char first_run_id[48]; /* its first repetition, whose power trace is drawn */
};
extern const struct jb_column jb_report_config_columns[];
extern const size_t jb_n_report_config_columns;
/* The `machine` column of configs.csv, added (second) when the results hold several machines. */
extern const struct jb_column jb_report_config_machine_column;

/* A machine: the host and cpu_info of run rows (runs.csv), and the short label the report
 * names it by (jb_report_machine_labels). By cpu_info alone, host lists its hosts (space
 * between, "..." when they do not fit). */
struct jb_report_machine {
    char label[64], host[64], cpu_info[128];
    int64_t configs, reps;            /* configurations and repetitions run on it */
    char first_utc[32], last_utc[32]; /* its first and last repetition's timestamp_utc */
};
extern const struct jb_column jb_report_machine_columns[];
extern const size_t jb_n_report_machine_columns;

/* Labels machines m[0 .. n) uniquely (OUT: m[i].label) from their host and cpu_info:
 *   - the host, when no other machine has the same host;
 *   - else host/CPU, CPU being cpu_info abbreviated: "(R)", "(TM)", "CPU", "Processor",
 *     "Intel", "AMD" and everything from " @ " dropped, words joined by '-', at most 24
 *     characters ("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz" -> "Xeon-Platinum-8480+");
 *     just CPU for an empty host; "unknown" when both are empty;
 *   - characters other than letters, digits and . _ + - : become '_', the host part is cut at
 *     32 characters;
 *   - labels still alike after that are numbered in order of first appearance: "x#1", "x#2".
 * Labels are words (no blanks, commas or quotes): gnuplot word lists and CSV cells. */
void jb_report_machine_labels(struct jb_report_machine *m, size_t n);

/* The machine and the invocation, from meta.json (else from runs.csv). */
struct jb_report_meta {
    char host[256], cpu_model[160], started_utc[40], date[16];
    char command[1024];
    char energy_meter[512];
    char energy_uncertainty[192]; /* runs.csv's energy_uncertainty (first row), when present */
    int64_t cpus;
    bool from_meta_json;
};

struct jb_report_data {
    char dir[PATH_MAX];
    struct jb_results_data results; /* runs.csv, requests.csv and power.csv as typed records */
    /* (n_configs), in order of first appearance of their config_id; one config_id run on
     * several machines gives one configuration per machine, side by side, in machine order */
    struct jb_report_config *configs;
    size_t n_configs;
    struct jb_report_machine *machines; /* (n_machines), in order of first appearance */
    size_t n_machines;
    int64_t *run_machine; /* (results.n_runs) machine index of each run row; -1: no request */
    struct jb_report_meta meta;
    /* rows judged invalid (docs/validity.md): their energy columns were emptied before the
     * configurations were summarised, unless allow_invalid */
    struct jb_validity_tally invalid;
    bool allow_invalid;
};

/* Reads dir/runs.csv (required), requests.csv and power.csv (optional) and meta.json
 * (optional), checks that every column the report uses is there and that its cells are
 * numbers where numbers are expected ("FILE: missing column \"X\"", "FILE: record N, column
 * \"X\": \"abc\" is not a number"), finds the machines (host + cpu_info of the rows that
 * completed a request) and summarises each configuration on each machine. Free with
 * jb_report_data_free (which accepts a zeroed struct). */
int jb_report_load(const char *dir, struct jb_report_data *d, struct jb_err *err);
/* jb_report_load with machines told apart by `by` (jb_report_load: by host and cpu_info). */
int jb_report_load_by(
    const char *dir, enum jb_report_machines_by by, struct jb_report_data *d, struct jb_err *err);
/* jb_report_load_by that keeps the energy of rows judged invalid when allow_invalid (else
 * empties it: only valid rows give energy figures; d->invalid counts them by reason). */
int jb_report_load_valid(const char *dir, enum jb_report_machines_by by, bool allow_invalid,
    struct jb_report_data *d, struct jb_err *err);
void jb_report_data_free(struct jb_report_data *d);

/* ==== the power law E = a * N^b (fit.c) ====================================================== */

struct jb_powerlaw {
    double a, b; /* y = a * x^b */
    double r2;   /* coefficient of determination of the log-log line; NAN for 2 points */
    double b_se; /* standard error of b; NAN for 2 points */
    size_t n;    /* points used */
    double x_min, x_max;
};

/* Least squares on ln y = ln a + b ln x (GSL's gsl_fit_linear) over the points where x > 0
 * and y > 0 are finite. JB_EINVAL when fewer than two distinct x remain. */
int jb_powerlaw_fit(const double *x, const double *y, size_t n, struct jb_powerlaw *out);
/* a * x^b */
double jb_powerlaw_eval(const struct jb_powerlaw *p, double x);
/* Leave-one-out: pred[i] is point i predicted by the fit of all the other points (NAN when
 * those do not make a fit, or point i is not usable). Returns how many were predicted. */
size_t jb_powerlaw_loo(const double *x, const double *y, size_t n, double *pred);

/* ==== pictures through gnuplot (plot.c) ====================================================== */

#define JB_PLOT_VARS_LEN 8192

struct jb_plot {
    const char *script;          /* file in the scripts folder, e.g. "energy_per_token.gp" */
    const char *out;             /* picture base name: OUT/out.png and OUT/out.svg */
    char vars[JB_PLOT_VARS_LEN]; /* gnuplot assignments run before the script (jb_plot_var_*) */
    bool overflow;               /* vars did not fit: the picture is not drawn */
    bool drawn;                  /* OUT: both files exist and are not empty */
    char why[256];               /* OUT: why not drawn */
};

/* Appends name='value' (quoted for gnuplot: any text is safe) or name=number to p->vars. */
void jb_plot_var_str(struct jb_plot *p, const char *name, const char *value);
void jb_plot_var_num(struct jb_plot *p, const char *name, double value);

/* Whether gnuplot runs at all (prog --version); why (OUT) says what failed. */
bool jb_gnuplot_works(const char *prog, char *why, size_t len);

/* Draws every picture: one gnuplot process each (run side by side, no shell: file names are
 * passed as arguments and gnuplot runs inside out_dir, so paths with spaces or quotes are
 * safe), its stderr kept in out_dir/data/OUT.log when not empty. Sets drawn and why. */
void jb_plots_draw(const char *prog, const char *scripts_dir, const char *out_dir,
    struct jb_plot *plots, size_t n);

/* ==== Markdown and HTML side by side (doc.c) ================================================= */

/* A document written as Markdown and HTML at once, in memory until jb_doc_save. Inline markup
 * in text: **bold**, `code` and [text](link); everything else is literal. */
struct jb_doc {
    FILE *md, *html;
    char *md_buf, *html_buf;
    size_t md_len, html_len;
    bool in_list; /* the last block was a list item */
};

int jb_doc_open(struct jb_doc *d, const char *title, struct jb_err *err);
void jb_doc_heading(struct jb_doc *d, int level, const char *text);
void jb_doc_para(struct jb_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A paragraph that must not be missed (estimated energy, missing pictures). */
void jb_doc_warning(struct jb_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bulleted item; consecutive items make one list. */
void jb_doc_item(struct jb_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Literal lines (formulas, commands), shown as they are. */
void jb_doc_code(struct jb_doc *d, const char *text);
/* A table: head[n_cols], cells[n_rows * n_cols] row by row, align[c] 'l' or 'r'. */
void jb_doc_table(struct jb_doc *d, const char *const *head, const char *align, size_t n_cols,
    char *const *cells, size_t n_rows);
/* A picture: Markdown shows the PNG, HTML the SVG; both link the other format. */
void jb_doc_image(struct jb_doc *d, const char *png, const char *svg, const char *alt);
/* Writes both files (each atomically) and frees the document. html_path may be NULL. */
int jb_doc_save(struct jb_doc *d, const char *md_path, const char *html_path, struct jb_err *err);
/* Frees an unsaved document; accepts a zeroed struct. */
void jb_doc_free(struct jb_doc *d);

#endif
