/*
 * data.c — a results folder as the report sees it: runs.csv, requests.csv and power.csv read
 * through the results module (a missing column or a cell that is not a number is an error
 * naming the file, the record and the column), runs summarised per configuration (medians
 * over repetitions, one configuration per machine: host + cpu_info of the rows), the machines
 * and their labels, and the machine from meta.json.
 */
#include "jb_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jb_results.h"
#include "jb_stats.h"

/* ==== the configuration table ================================================================ */

#define CFG_STR(n, f, d) JB_COLUMN(struct jb_report_config, STR, n, f, d)
#define CFG_I64(n, f, d) JB_COLUMN(struct jb_report_config, I64, n, f, d)
#define CFG_F64(n, f, d) JB_COLUMN(struct jb_report_config, F64, n, f, d)

const struct jb_column jb_report_config_columns[] = {
    CFG_STR("config_id", config_id, "the configuration (runs.csv)"),
    CFG_STR("label", label, "its name in the report: model/dtype and what else varies"),
    CFG_STR("series", series, "its line in the pictures: dtype and what else varies"),
    CFG_STR("model", model, "model"),
    CFG_I64("params", params, "exact parameter count"),
    CFG_STR("dtype", dtype, "weight storage type"),
    CFG_STR("workload", workload, "workload"),
    CFG_STR("scenario", scenario, "scenario"),
    CFG_STR("kernels", kernels, "kernel path"),
    CFG_I64("batch", batch, "most sequences per forward call"),
    CFG_I64("threads", threads, "threads"),
    CFG_I64("reps", reps, "repetitions summarised"),
    CFG_I64("extrapolated", extrapolated,
        "1 when layer-sampled: its figures are the whole model's, extrapolated (runs.csv)"),
    CFG_I64("layers_run", layers_run, "decoder layers run (layer sampling: K of layers_total)"),
    CFG_I64("layers_total", layers_total, "decoder layers of the model"),
    CFG_I64("in_fit", in_fit,
        "1 when the power-law fits use this configuration (measured whole models only)"),
    CFG_F64("prompt_tokens_per_query", prompt_tokens_per_query, "prompt_tokens / requests"),
    CFG_F64("output_tokens_per_query", output_tokens_per_query, "gen_tokens / requests"),
    CFG_F64("machine_s_per_query", machine_s_per_query,
        "busy_s / requests (duration_s / requests for results without busy_s): how long one "
        "query holds the machine (s)"),
    CFG_F64("machine_s_cv", machine_s_cv,
        "coefficient of variation of machine_s_per_query over repetitions"),
    CFG_F64("req_s", req_s, "requests / duration_s"),
    CFG_F64("ttft_ms_p50", ttft_ms_p50, "median time to first token (ms)"),
    CFG_F64("tpot_ms_p50", tpot_ms_p50, "median time per output token after the first (ms)"),
    CFG_F64("e2e_ms_p50", e2e_ms_p50, "median end-to-end latency (ms)"),
    CFG_F64("ttft_ms_p90", ttft_ms_p90,
        "median over repetitions of the 90th percentile of time to first token (ms)"),
    CFG_F64("tpot_ms_p90", tpot_ms_p90,
        "median over repetitions of the 90th percentile of time per output token (ms)"),
    CFG_F64("prefill_tok_s", prefill_tok_s, "prompt tokens per second of prefill"),
    CFG_F64("decode_tok_s", decode_tok_s, "generated tokens per second of decode"),
    CFG_F64("energy_j", energy_j, "energy of a repetition (J)"),
    CFG_F64("j_per_query", j_per_query, "energy per query (J)"),
    CFG_F64("j_per_output_token", j_per_output_token, "decode energy per generated token (J)"),
    CFG_F64("j_per_output_token_cv", j_per_output_token_cv,
        "coefficient of variation of j_per_output_token over repetitions"),
    CFG_F64("j_per_prompt_token", j_per_prompt_token, "prefill energy per prompt token (J)"),
    CFG_F64("avg_power_w", avg_power_w, "average power (W)"),
    CFG_F64("prefill_energy_share", prefill_energy_share,
        "energy_prefill_j / energy_j, summed over repetitions"),
    CFG_F64("decode_energy_share", decode_energy_share,
        "energy_decode_j / energy_j, summed over repetitions"),
    CFG_F64("other_energy_share", other_energy_share,
        "the rest: idle between arrivals, KV-cache setup"),
    CFG_STR("energy_method", energy_method,
        "measured, integrated or estimated (the weakest over repetitions); none"),
    CFG_STR("energy_source", energy_source, "where the joules come from"),
    CFG_STR("first_run_id", first_run_id, "the repetition whose power trace is drawn"),
};
const size_t jb_n_report_config_columns
    = sizeof jb_report_config_columns / sizeof jb_report_config_columns[0];
const struct jb_column jb_report_config_machine_column
    = CFG_STR("machine", machine, "the machine it ran on (machines.csv: host and cpu_info)");

#define MAC_STR(n, f, d) JB_COLUMN(struct jb_report_machine, STR, n, f, d)
#define MAC_I64(n, f, d) JB_COLUMN(struct jb_report_machine, I64, n, f, d)

const struct jb_column jb_report_machine_columns[] = {
    MAC_STR("machine", label, "its label in the report's tables and pictures"),
    MAC_STR("host", host, "host of its rows (runs.csv)"),
    MAC_STR("cpu_info", cpu_info, "CPU model of its rows (runs.csv)"),
    MAC_I64("configs", configs, "configurations run on it"),
    MAC_I64("reps", reps, "repetitions run on it (that completed a request)"),
    MAC_STR("first_utc", first_utc, "its first repetition (timestamp_utc)"),
    MAC_STR("last_utc", last_utc, "its last repetition (timestamp_utc)"),
};
const size_t jb_n_report_machine_columns
    = sizeof jb_report_machine_columns / sizeof jb_report_machine_columns[0];

/* ==== machines and their labels ============================================================== */

/* Words of cpu_info that name no particular CPU. */
static bool noise_word(const char *w, size_t n)
{
    static const char *const noise[] = { "CPU", "Processor", "processor", "Intel", "AMD", NULL };
    for (int i = 0; noise[i]; i++)
        if (strlen(noise[i]) == n && strncmp(w, noise[i], n) == 0)
            return true;
    return false;
}

/* Appends s[0 .. n) to buf (length len), each character outside letters, digits and ._+-:
 * as '_', up to max characters of buf in all. */
static void append_word_chars(char *buf, size_t len, size_t max, const char *s, size_t n)
{
    size_t k = strlen(buf);
    for (size_t i = 0; i < n && k < max && k + 1 < len; i++) {
        const char c = s[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || (c && strchr("._+-:", c));
        buf[k++] = ok ? c : '_';
    }
    buf[k] = '\0';
}

/* cpu_info abbreviated (see jb_report_machine_labels) onto buf. */
static void cpu_abbrev(const char *cpu, char *buf, size_t len)
{
    char clean[128];
    size_t k = 0;
    const size_t start = strlen(buf);
    for (const char *c = cpu; *c && k + 1 < sizeof clean; c++) {
        if (strncasecmp(c, "(R)", 3) == 0 || strncasecmp(c, "(TM)", 4) == 0) {
            c += c[2] == ')' ? 2 : 3;
            continue;
        }
        if (strncmp(c, " @ ", 3) == 0 || *c == '@')
            break;
        clean[k++] = *c;
    }
    clean[k] = '\0';
    for (char *w = clean; *w;) {
        const size_t n = strcspn(w, " \t");
        if (n && !noise_word(w, n)) {
            if (strlen(buf) > start)
                append_word_chars(buf, len, start + 24, "-", 1);
            append_word_chars(buf, len, start + 24, w, n);
        }
        w += n;
        w += strspn(w, " \t");
    }
}

void jb_report_machine_labels(struct jb_report_machine *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool shared = !*m[i].host;
        for (size_t j = 0; j < n && !shared; j++)
            shared = j != i && strcmp(m[i].host, m[j].host) == 0;
        m[i].label[0] = '\0';
        append_word_chars(m[i].label, sizeof m[i].label, 32, m[i].host, strlen(m[i].host));
        if (shared) {
            if (*m[i].label)
                strcat(m[i].label, "/"); /* at most 32 characters so far */
            cpu_abbrev(m[i].cpu_info, m[i].label, sizeof m[i].label);
            const size_t k = strlen(m[i].label);
            if (k && m[i].label[k - 1] == '/')
                m[i].label[k - 1] = '\0';
        }
        if (!*m[i].label)
            snprintf(m[i].label, sizeof m[i].label, "unknown");
    }
    /* alike labels: numbered in order (every one of them, so none reads as the only one); a
     * label is at most 57 characters here (host 32, '/', CPU 24) */
    char base[64];
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        snprintf(base, sizeof base, "%s", m[i].label);
        for (size_t j = i + 1; j < n; j++)
            count += strcmp(m[j].label, base) == 0;
        for (size_t j = i, k = 1; count && j < n; j++)
            if (strcmp(m[j].label, base) == 0)
                snprintf(m[j].label, sizeof m[j].label, "%.57s#%zu", base, k++);
    }
}

static bool same_machine(
    const struct jb_run_record *r, const struct jb_report_machine *m, enum jb_report_machines_by by)
{
    return strcmp(r->cpu_info, m->cpu_info) == 0
        && (by == JB_REPORT_MACHINES_BY_CPU || strcmp(r->host, m->host) == 0);
}

/* By cpu_info alone: host becomes the list of the machine's hosts, each once; "..." ends a
 * list that does not fit (there is always room left for it). */
static void add_host(struct jb_report_machine *m, const char *host)
{
    const size_t n = strlen(host), room = sizeof m->host - 4; /* for "...\0" */
    size_t used = strlen(m->host);
    if (n == 0)
        return;
    for (const char *h = m->host; *h;) {
        const size_t k = strcspn(h, " ");
        if (k == n && strncmp(h, host, n) == 0)
            return;
        h += k + (h[k] == ' ');
    }
    if (used >= 3 && strcmp(m->host + used - 3, "...") == 0)
        return;
    if (used)
        m->host[used++] = ' ';
    const size_t take = used + n < room ? n : room - used;
    memcpy(m->host + used, host, take);
    memcpy(m->host + used + take, take < n ? "..." : "", take < n ? 4 : 1);
}

/* The machines' labels: by cpu_info alone, from the CPU only. */
static void label_machines(struct jb_report_data *d, enum jb_report_machines_by by)
{
    char(*hosts)[64] = by == JB_REPORT_MACHINES_BY_CPU ? calloc(d->n_machines + 1, 64) : NULL;
    for (size_t i = 0; hosts && i < d->n_machines; i++) {
        memcpy(hosts[i], d->machines[i].host, 64);
        d->machines[i].host[0] = '\0';
    }
    jb_report_machine_labels(d->machines, d->n_machines);
    for (size_t i = 0; hosts && i < d->n_machines; i++)
        memcpy(d->machines[i].host, hosts[i], 64);
    free(hosts);
}

/* ==== checking columns ======================================================================= */

/* runs.csv columns the report cannot do without (the typed reader has checked every cell).
 * All are in schema_version 1 too; what version 1 lacks, the reader derives. */
static const char *const run_required[] = { "config_id", "run_id", "model", "params", "dtype",
    "workload", "scenario", "batch", "threads", "requests", "prompt_tokens", "gen_tokens",
    "duration_s", "ttft_ms_p50", "tpot_ms_p50", "decode_tok_s", "energy_j", "energy_prefill_j",
    "energy_decode_j", "j_per_query", "energy_method", NULL };

/* requests.csv and power.csv columns the pictures read, when those files are there. */
static const char *const request_required[] = { "config_id", "run_id", "ttft_ms", "tpot_ms", NULL };
static const char *const power_required[] = { "run_id", "t_s", "phase", "domain", "watts", NULL };

/* ==== per configuration ====================================================================== */

static int method_rank(const char *m)
{
    static const char *const order[] = { "estimated", "integrated", "measured" };
    for (int i = 0; i < 3; i++)
        if (strcmp(m, order[i]) == 0)
            return i + 1;
    return 0; /* none, empty or unknown */
}

static double median_of(double *v, size_t n)
{
    struct jb_summary s;
    jb_summarize(v, n, &s);
    return s.median;
}

static double cv_of(double *v, size_t n)
{
    struct jb_summary s;
    jb_summarize(v, n, &s);
    return s.cv;
}

/* The repetitions of one configuration; v is scratch of n doubles. */
struct summariser {
    const struct jb_run_record *runs;
    const size_t *rows;
    size_t n;
    double *v;
};

static const struct jb_run_record *rep(const struct summariser *s, size_t i)
{
    return &s->runs[s->rows[i]];
}

static double med_col(const struct summariser *s, const char *col)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i] = jb_run_num(rep(s, i), col);
    return median_of(s->v, s->n);
}

/* Median of column num / column den per repetition. */
static double med_ratio(const struct summariser *s, const char *num, const char *den)
{
    for (size_t i = 0; i < s->n; i++) {
        const double d = jb_run_num(rep(s, i), den);
        s->v[i] = d > 0 ? jb_run_num(rep(s, i), num) / d : NAN;
    }
    return median_of(s->v, s->n);
}

/* Share of the summed energy that column c holds. */
static double energy_share(const struct summariser *s, const char *col)
{
    double part = 0, all = 0;
    for (size_t i = 0; i < s->n; i++) {
        const double e = rep(s, i)->energy_j, p = jb_run_num(rep(s, i), col);
        if (isfinite(e) && isfinite(p)) {
            all += e;
            part += p;
        }
    }
    return all > 0 ? part / all : NAN;
}

/* The weakest energy method over the repetitions that have energy; "none" without any. */
static void weakest_method(const struct summariser *s, char *out, size_t len)
{
    int rank = 99;
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(rep(s, i)->energy_j)) {
            const int m = method_rank(rep(s, i)->energy_method);
            if (m < rank) {
                rank = m;
                snprintf(out, len, "%s", rep(s, i)->energy_method);
            }
        }
    if (rank == 99 || rank == 0)
        snprintf(out, len, "none");
}

static void summarise_config(const struct summariser *s, struct jb_report_config *c)
{
    const struct jb_run_record *r0 = rep(s, 0);
    memset(c, 0, sizeof *c);
    snprintf(c->config_id, sizeof c->config_id, "%s", r0->config_id);
    snprintf(c->model, sizeof c->model, "%s", r0->model);
    snprintf(c->dtype, sizeof c->dtype, "%s", r0->dtype);
    snprintf(c->workload, sizeof c->workload, "%s", r0->workload);
    snprintf(c->scenario, sizeof c->scenario, "%s", r0->scenario);
    snprintf(c->kernels, sizeof c->kernels, "%s", r0->kernels);
    snprintf(c->energy_source, sizeof c->energy_source, "%s", r0->energy_source);
    snprintf(c->first_run_id, sizeof c->first_run_id, "%s", r0->run_id);
    c->params = r0->params == JB_I64_NONE ? 0 : r0->params;
    c->batch = r0->batch == JB_I64_NONE ? 0 : r0->batch;
    c->threads = r0->threads == JB_I64_NONE ? 0 : r0->threads;
    c->reps = (int64_t)s->n;
    c->extrapolated = r0->extrapolated == 1; /* absent (schema 1 and 2): the whole model */
    c->layers_total = r0->layers_total == JB_I64_NONE ? 0 : r0->layers_total;
    c->layers_run = r0->layers_run == JB_I64_NONE ? c->layers_total : r0->layers_run;
    c->prompt_tokens_per_query = med_ratio(s, "prompt_tokens", "requests");
    c->output_tokens_per_query = med_ratio(s, "gen_tokens", "requests");
    /* the time a query holds the machine: busy time, without the waits for arrivals (a
     * server replay's idle gaps are the utilisation's business); duration_s for folders
     * written before busy_s */
    const bool busy = isfinite(jb_run_num(r0, "busy_s"));
    c->machine_s_per_query = med_ratio(s, busy ? "busy_s" : "duration_s", "requests");
    c->machine_s_cv = cv_of(s->v, s->n); /* s->v still holds the ratios */
    c->req_s = med_ratio(s, "requests", "duration_s");
    c->ttft_ms_p50 = med_col(s, "ttft_ms_p50");
    c->tpot_ms_p50 = med_col(s, "tpot_ms_p50");
    c->e2e_ms_p50 = med_col(s, "e2e_ms_p50");
    c->ttft_ms_p90 = med_col(s, "ttft_ms_p90");
    c->tpot_ms_p90 = med_col(s, "tpot_ms_p90");
    c->prefill_tok_s = med_col(s, "prefill_tok_s");
    c->decode_tok_s = med_col(s, "decode_tok_s");
    c->energy_j = med_col(s, "energy_j");
    c->j_per_query = med_col(s, "j_per_query");
    c->j_per_output_token = med_col(s, "j_per_output_token");
    c->j_per_output_token_cv = cv_of(s->v, s->n);
    c->j_per_prompt_token = med_col(s, "j_per_prompt_token");
    c->avg_power_w = med_col(s, "avg_power_w");
    c->prefill_energy_share = energy_share(s, "energy_prefill_j");
    c->decode_energy_share = energy_share(s, "energy_decode_j");
    c->other_energy_share = isfinite(c->prefill_energy_share)
        ? 1.0 - c->prefill_energy_share - c->decode_energy_share
        : NAN;
    weakest_method(s, c->energy_method, sizeof c->energy_method);
}

static bool completed_a_request(const struct jb_run_record *run)
{
    return run->requests != JB_I64_NONE && run->requests > 0;
}

/* The machines of the runs that completed a request (order of first appearance), each run's
 * machine (d->run_machine) and the machines' labels. */
static int find_machines(
    struct jb_report_data *d, enum jb_report_machines_by by, struct jb_err *err)
{
    const struct jb_results_data *x = &d->results;
    d->machines = calloc(x->n_runs + 1, sizeof *d->machines);
    d->run_machine = calloc(x->n_runs + 1, sizeof *d->run_machine);
    if (!d->machines || !d->run_machine)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < x->n_runs; i++) {
        const struct jb_run_record *r = &x->runs[i];
        size_t m = 0;
        d->run_machine[i] = -1;
        if (!completed_a_request(r))
            continue;
        while (m < d->n_machines && !same_machine(r, &d->machines[m], by))
            m++;
        struct jb_report_machine *mach = &d->machines[m];
        if (m == d->n_machines) {
            d->n_machines++;
            snprintf(mach->cpu_info, sizeof mach->cpu_info, "%s", r->cpu_info);
            snprintf(mach->first_utc, sizeof mach->first_utc, "%s", r->timestamp_utc);
        }
        if (by == JB_REPORT_MACHINES_BY_CPU)
            add_host(mach, r->host);
        else
            snprintf(mach->host, sizeof mach->host, "%s", r->host);
        if (strcmp(r->timestamp_utc, mach->first_utc) < 0)
            snprintf(mach->first_utc, sizeof mach->first_utc, "%s", r->timestamp_utc);
        if (strcmp(r->timestamp_utc, mach->last_utc) > 0)
            snprintf(mach->last_utc, sizeof mach->last_utc, "%s", r->timestamp_utc);
        mach->reps++;
        d->run_machine[i] = (int64_t)m;
    }
    label_machines(d, by);
    return 0;
}

/* Summarises the rows of one config_id group run on machine m (sub: scratch for their
 * indices); nothing when none ran there. */
static void summarise_on(
    struct jb_report_data *d, const struct jb_config_group *g, size_t m, size_t *sub, double *v)
{
    size_t n = 0;
    for (size_t j = 0; j < g->n; j++)
        if (d->run_machine[g->rows[j]] == (int64_t)m)
            sub[n++] = g->rows[j];
    if (n == 0)
        return;
    const struct summariser s = { .runs = d->results.runs, .rows = sub, .n = n, .v = v };
    struct jb_report_config *c = &d->configs[d->n_configs++];
    summarise_config(&s, c);
    c->machine_idx = (int64_t)m;
    snprintf(c->machine, sizeof c->machine, "%s", d->machines[m].label);
    d->machines[m].configs++;
}

/* Groups the runs by config_id (order of first appearance), dropping runs without requests,
 * and splits each group by machine: config_id does not hash the machine, and one
 * configuration on two machines is two sets of figures, never one. */
static int build_configs(
    struct jb_report_data *d, enum jb_report_machines_by by, struct jb_err *err)
{
    const struct jb_results_data *x = &d->results;
    struct jb_config_group *g = NULL;
    size_t n_groups = 0;
    double *v = malloc((x->n_runs + 1) * sizeof *v);
    size_t *sub = malloc((x->n_runs + 1) * sizeof *sub);
    d->configs = calloc(x->n_runs + 1, sizeof *d->configs);
    int rc = v && sub && d->configs ? 0 : jb_fail(err, JB_ENOMEM, "out of memory");
    if (!rc)
        rc = find_machines(d, by, err);
    if (!rc)
        rc = jb_config_groups(
            x->runs, x->n_runs, JB_KEY_CONFIG_ID, completed_a_request, &g, &n_groups, err);
    for (size_t i = 0; !rc && i < n_groups; i++)
        for (size_t m = 0; m < d->n_machines; m++)
            summarise_on(d, &g[i], m, sub, v);
    jb_config_groups_free(g, n_groups);
    free(v);
    free(sub);
    return rc;
}

/* ==== meta.json ============================================================================== */

static void meta_read(struct jb_report_data *d)
{
    struct jb_report_meta *m = &d->meta;
    struct jb_meta jm;
    struct jb_err ignored;
    memset(m, 0, sizeof *m);
    if (jb_meta_read(d->dir, &jm, &ignored) == 0) { /* absent or unreadable: runs.csv instead */
        snprintf(m->host, sizeof m->host, "%s", jm.machine.host);
        snprintf(m->cpu_model, sizeof m->cpu_model, "%s", jm.machine.cpu_model);
        snprintf(m->started_utc, sizeof m->started_utc, "%s", jm.started_utc);
        snprintf(m->energy_meter, sizeof m->energy_meter, "%s", jm.energy.meter);
        jb_meta_command_line(&jm, m->command, sizeof m->command);
        m->cpus = jm.machine.cpus_allowed;
        m->from_meta_json = true;
        jb_meta_free(&jm);
    }
    const struct jb_run_record *r0 = d->results.n_runs ? &d->results.runs[0] : NULL;
    if (r0) {
        if (!*m->host)
            snprintf(m->host, sizeof m->host, "%s", r0->host);
        if (!*m->cpu_model)
            snprintf(m->cpu_model, sizeof m->cpu_model, "%s", r0->cpu_info);
        if (!*m->started_utc)
            snprintf(m->started_utc, sizeof m->started_utc, "%s", r0->timestamp_utc);
        snprintf(m->energy_uncertainty, sizeof m->energy_uncertainty, "%s", r0->energy_uncertainty);
    }
    snprintf(m->date, sizeof m->date, "%.10s", *m->started_utc ? m->started_utc : "unknown date");
    if (!*m->cpu_model)
        snprintf(m->cpu_model, sizeof m->cpu_model, "unknown CPU");
}

/* ==== loading ================================================================================ */

/* Every name in need is a column of the file (present[] as the reader filled it for cols). */
static int check_present(const char *dir, const char *file, const char *const *need,
    const struct jb_column *cols, size_t n_cols, const bool *present, struct jb_err *err)
{
    for (int i = 0; need[i]; i++) {
        const int c = jb_column_find(cols, n_cols, need[i]);
        if (c < 0 || !present[c])
            return jb_fail(err, JB_EPARSE, "%s/%s: missing column \"%s\"", dir, file, need[i]);
    }
    return 0;
}

static int check_runs(const struct jb_report_data *d, struct jb_err *err)
{
    for (int i = 0; run_required[i]; i++)
        if (!jb_results_has_run_column(&d->results, run_required[i]))
            return jb_fail(
                err, JB_EPARSE, "%s: missing column \"%s\"", d->results.runs_path, run_required[i]);
    if (d->results.n_runs == 0)
        return jb_fail(
            err, JB_EPARSE, "%s: no repetitions recorded (only the header)", d->results.runs_path);
    return 0;
}

int jb_report_load(const char *dir, struct jb_report_data *d, struct jb_err *err)
{
    return jb_report_load_by(dir, JB_REPORT_MACHINES_BY_HOST, d, err);
}

int jb_report_load_by(
    const char *dir, enum jb_report_machines_by by, struct jb_report_data *d, struct jb_err *err)
{
    return jb_report_load_valid(dir, by, false, d, err);
}

int jb_report_load_valid(const char *dir, enum jb_report_machines_by by, bool allow_invalid,
    struct jb_report_data *d, struct jb_err *err)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    int rc = jb_results_read(
        dir, JB_RESULTS_RUNS | JB_RESULTS_REQUESTS | JB_RESULTS_POWER, &d->results, err);
    if (rc == JB_ENOENT)
        rc = jb_fail(err, JB_ENOENT,
            "%s: no runs.csv here: is this a results folder "
            "(joulebench run/sweep --out)?",
            dir);
    if (!rc)
        rc = check_runs(d, err);
    if (!rc && d->results.have_requests)
        rc = check_present(dir, "requests.csv", request_required, jb_request_columns,
            jb_n_request_columns, d->results.request_present, err);
    if (!rc && d->results.have_power)
        rc = check_present(dir, "power.csv", power_required, jb_power_columns, jb_n_power_columns,
            d->results.power_present, err);
    if (!rc) { /* only valid rows give energy figures (docs/validity.md) */
        jb_validity_count(d->results.runs, d->results.n_runs, &d->invalid);
        d->allow_invalid = allow_invalid;
        if (!allow_invalid)
            jb_validity_drop_energy(d->results.runs, d->results.n_runs);
    }
    if (!rc)
        rc = build_configs(d, by, err);
    if (!rc && d->n_configs == 0)
        rc = jb_fail(err, JB_EPARSE, "%s: no repetition completed a request", d->results.runs_path);
    if (rc) {
        jb_report_data_free(d);
        return rc;
    }
    meta_read(d);
    return 0;
}

void jb_report_data_free(struct jb_report_data *d)
{
    jb_results_data_free(&d->results);
    free(d->configs);
    free(d->machines);
    free(d->run_machine);
    d->configs = NULL;
    d->machines = NULL;
    d->run_machine = NULL;
    d->n_configs = d->n_machines = 0;
}
