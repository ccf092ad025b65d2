/*
 * report_data.c — a results folder as the report sees it: runs.csv checked column by column
 * (a missing column or a cell that is not a number is an error naming the file, the record
 * and the column) and summarised per configuration (medians over repetitions), requests.csv
 * and power.csv checked the same way, and the machine from meta.json.
 */
#include "jb_report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    CFG_I64("in_fit", in_fit, "1 when the power-law fits use this configuration"),
    CFG_F64("prompt_tokens_per_query", prompt_tokens_per_query, "prompt_tokens / requests"),
    CFG_F64("output_tokens_per_query", output_tokens_per_query, "gen_tokens / requests"),
    CFG_F64("machine_s_per_query", machine_s_per_query,
        "duration_s / requests: how long one query holds the machine (s)"),
    CFG_F64("machine_s_cv", machine_s_cv,
        "coefficient of variation of machine_s_per_query over repetitions"),
    CFG_F64("req_s", req_s, "requests / duration_s"),
    CFG_F64("ttft_ms_p50", ttft_ms_p50, "median time to first token (ms)"),
    CFG_F64("tpot_ms_p50", tpot_ms_p50, "median time per output token after the first (ms)"),
    CFG_F64("e2e_ms_p50", e2e_ms_p50, "median end-to-end latency (ms)"),
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

/* ==== checking columns ======================================================================= */

enum need_kind { NEED_TEXT, NEED_NUM, NEED_INT };

struct need {
    const char *name;
    enum need_kind kind;
    bool required;
};

/* runs.csv columns the report reads; their index in the table is in runs_col[] below. */
enum run_col {
    R_CONFIG_ID,
    R_RUN_ID,
    R_MODEL,
    R_PARAMS,
    R_DTYPE,
    R_WORKLOAD,
    R_SCENARIO,
    R_KERNELS,
    R_BATCH,
    R_THREADS,
    R_REQUESTS,
    R_PROMPT_TOKENS,
    R_GEN_TOKENS,
    R_DURATION_S,
    R_TTFT_P50,
    R_TPOT_P50,
    R_E2E_P50,
    R_PREFILL_TOK_S,
    R_DECODE_TOK_S,
    R_ENERGY_J,
    R_ENERGY_PREFILL_J,
    R_ENERGY_DECODE_J,
    R_J_PER_OUTPUT_TOKEN,
    R_J_PER_PROMPT_TOKEN,
    R_J_PER_QUERY,
    R_AVG_POWER_W,
    R_ENERGY_METHOD,
    R_ENERGY_SOURCE,
    R_ENERGY_UNCERTAINTY,
    R_TIMESTAMP,
    R_HOST,
    R_CPU_INFO,
    R_COUNT
};

static const struct need run_needs[R_COUNT] = {
    [R_CONFIG_ID] = { "config_id", NEED_TEXT, true },
    [R_RUN_ID] = { "run_id", NEED_TEXT, true },
    [R_MODEL] = { "model", NEED_TEXT, true },
    [R_PARAMS] = { "params", NEED_INT, true },
    [R_DTYPE] = { "dtype", NEED_TEXT, true },
    [R_WORKLOAD] = { "workload", NEED_TEXT, true },
    [R_SCENARIO] = { "scenario", NEED_TEXT, true },
    [R_KERNELS] = { "kernels", NEED_TEXT, false },
    [R_BATCH] = { "batch", NEED_INT, true },
    [R_THREADS] = { "threads", NEED_INT, true },
    [R_REQUESTS] = { "requests", NEED_INT, true },
    [R_PROMPT_TOKENS] = { "prompt_tokens", NEED_INT, true },
    [R_GEN_TOKENS] = { "gen_tokens", NEED_INT, true },
    [R_DURATION_S] = { "duration_s", NEED_NUM, true },
    [R_TTFT_P50] = { "ttft_ms_p50", NEED_NUM, true },
    [R_TPOT_P50] = { "tpot_ms_p50", NEED_NUM, true },
    [R_E2E_P50] = { "e2e_ms_p50", NEED_NUM, false },
    [R_PREFILL_TOK_S] = { "prefill_tok_s", NEED_NUM, false },
    [R_DECODE_TOK_S] = { "decode_tok_s", NEED_NUM, true },
    [R_ENERGY_J] = { "energy_j", NEED_NUM, true },
    [R_ENERGY_PREFILL_J] = { "energy_prefill_j", NEED_NUM, true },
    [R_ENERGY_DECODE_J] = { "energy_decode_j", NEED_NUM, true },
    [R_J_PER_OUTPUT_TOKEN] = { "j_per_output_token", NEED_NUM, true },
    [R_J_PER_PROMPT_TOKEN] = { "j_per_prompt_token", NEED_NUM, false },
    [R_J_PER_QUERY] = { "j_per_query", NEED_NUM, true },
    [R_AVG_POWER_W] = { "avg_power_w", NEED_NUM, false },
    [R_ENERGY_METHOD] = { "energy_method", NEED_TEXT, true },
    [R_ENERGY_SOURCE] = { "energy_source", NEED_TEXT, false },
    [R_ENERGY_UNCERTAINTY] = { "energy_uncertainty", NEED_TEXT, false },
    [R_TIMESTAMP] = { "timestamp_utc", NEED_TEXT, false },
    [R_HOST] = { "host", NEED_TEXT, false },
    [R_CPU_INFO] = { "cpu_info", NEED_TEXT, false },
};

static const struct need request_needs[] = { { "config_id", NEED_TEXT, true },
    { "run_id", NEED_TEXT, true }, { "ttft_ms", NEED_NUM, true }, { "tpot_ms", NEED_NUM, true } };
static const struct need power_needs[] = { { "run_id", NEED_TEXT, true }, { "t_s", NEED_NUM, true },
    { "phase", NEED_TEXT, true }, { "domain", NEED_TEXT, true }, { "watts", NEED_NUM, true } };

static bool cell_ok(const char *s, enum need_kind kind)
{
    char *end;
    if (kind == NEED_TEXT || !*s)
        return true;
    errno = 0;
    if (kind == NEED_INT)
        (void)strtoll(s, &end, 10);
    else
        (void)strtod(s, &end);
    return end != s && !*end && !errno;
}

/* Finds every needed column (idx[i] = -1 for an absent optional one) and checks its cells. */
static int check_columns(const struct jb_table *t, const char *path, const struct need *need,
    size_t n, int *idx, struct jb_err *err)
{
    for (size_t i = 0; i < n; i++) {
        idx[i] = jb_table_col(t, need[i].name);
        if (idx[i] < 0 && need[i].required)
            return jb_fail(err, JB_EPARSE, "%s: missing column \"%s\"", path, need[i].name);
        for (size_t r = 0; idx[i] >= 0 && r < t->n_rows; r++)
            if (!cell_ok(t->rows[r][idx[i]], need[i].kind))
                return jb_fail(err, JB_EPARSE, "%s: record %zu, column \"%s\": \"%s\" is not %s",
                    path, r + 2, need[i].name, t->rows[r][idx[i]],
                    need[i].kind == NEED_INT ? "an integer" : "a number");
    }
    return 0;
}

double jb_report_num(const struct jb_table *t, size_t row, int col)
{
    if (col < 0 || !*t->rows[row][col])
        return NAN;
    return strtod(t->rows[row][col], NULL);
}

static const char *text(const struct jb_table *t, size_t row, int col)
{
    return col >= 0 ? t->rows[row][col] : "";
}

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

/* Medians over the rows of one configuration (rows[0..n)); v is scratch of n doubles. */
struct summariser {
    const struct jb_table *t;
    const int *col;
    const size_t *rows;
    size_t n;
    double *v;
};

static double med_col(const struct summariser *s, enum run_col c)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i] = jb_report_num(s->t, s->rows[i], s->col[c]);
    return median_of(s->v, s->n);
}

/* Median of column num / column den per repetition. */
static double med_ratio(const struct summariser *s, enum run_col num, enum run_col den)
{
    for (size_t i = 0; i < s->n; i++) {
        const double d = jb_report_num(s->t, s->rows[i], s->col[den]);
        s->v[i] = d > 0 ? jb_report_num(s->t, s->rows[i], s->col[num]) / d : NAN;
    }
    return median_of(s->v, s->n);
}

/* Share of the summed energy that column c holds. */
static double energy_share(const struct summariser *s, enum run_col c)
{
    double part = 0, all = 0;
    for (size_t i = 0; i < s->n; i++) {
        const double e = jb_report_num(s->t, s->rows[i], s->col[R_ENERGY_J]);
        const double p = jb_report_num(s->t, s->rows[i], s->col[c]);
        if (isfinite(e) && isfinite(p)) {
            all += e;
            part += p;
        }
    }
    return all > 0 ? part / all : NAN;
}

static void summarise_config(const struct summariser *s, struct jb_report_config *c)
{
    const struct jb_table *t = s->t;
    const size_t r0 = s->rows[0];
    const int *col = s->col;
    memset(c, 0, sizeof *c);
    snprintf(c->config_id, sizeof c->config_id, "%s", text(t, r0, col[R_CONFIG_ID]));
    snprintf(c->model, sizeof c->model, "%s", text(t, r0, col[R_MODEL]));
    snprintf(c->dtype, sizeof c->dtype, "%s", text(t, r0, col[R_DTYPE]));
    snprintf(c->workload, sizeof c->workload, "%s", text(t, r0, col[R_WORKLOAD]));
    snprintf(c->scenario, sizeof c->scenario, "%s", text(t, r0, col[R_SCENARIO]));
    snprintf(c->kernels, sizeof c->kernels, "%s", text(t, r0, col[R_KERNELS]));
    snprintf(c->energy_source, sizeof c->energy_source, "%s", text(t, r0, col[R_ENERGY_SOURCE]));
    snprintf(c->first_run_id, sizeof c->first_run_id, "%s", text(t, r0, col[R_RUN_ID]));
    c->params = strtoll(text(t, r0, col[R_PARAMS]), NULL, 10);
    c->batch = strtoll(text(t, r0, col[R_BATCH]), NULL, 10);
    c->threads = strtoll(text(t, r0, col[R_THREADS]), NULL, 10);
    c->reps = (int64_t)s->n;
    c->prompt_tokens_per_query = med_ratio(s, R_PROMPT_TOKENS, R_REQUESTS);
    c->output_tokens_per_query = med_ratio(s, R_GEN_TOKENS, R_REQUESTS);
    c->machine_s_per_query = med_ratio(s, R_DURATION_S, R_REQUESTS);
    c->machine_s_cv = cv_of(s->v, s->n); /* s->v still holds the ratios */
    c->req_s = med_ratio(s, R_REQUESTS, R_DURATION_S);
    c->ttft_ms_p50 = med_col(s, R_TTFT_P50);
    c->tpot_ms_p50 = med_col(s, R_TPOT_P50);
    c->e2e_ms_p50 = med_col(s, R_E2E_P50);
    c->prefill_tok_s = med_col(s, R_PREFILL_TOK_S);
    c->decode_tok_s = med_col(s, R_DECODE_TOK_S);
    c->energy_j = med_col(s, R_ENERGY_J);
    c->j_per_query = med_col(s, R_J_PER_QUERY);
    c->j_per_output_token = med_col(s, R_J_PER_OUTPUT_TOKEN);
    c->j_per_output_token_cv = cv_of(s->v, s->n);
    c->j_per_prompt_token = med_col(s, R_J_PER_PROMPT_TOKEN);
    c->avg_power_w = med_col(s, R_AVG_POWER_W);
    c->prefill_energy_share = energy_share(s, R_ENERGY_PREFILL_J);
    c->decode_energy_share = energy_share(s, R_ENERGY_DECODE_J);
    c->other_energy_share = isfinite(c->prefill_energy_share)
        ? 1.0 - c->prefill_energy_share - c->decode_energy_share
        : NAN;
    /* the weakest method over the repetitions that have energy */
    int rank = 99;
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(jb_report_num(t, s->rows[i], col[R_ENERGY_J]))) {
            const int m = method_rank(text(t, s->rows[i], col[R_ENERGY_METHOD]));
            if (m < rank) {
                rank = m;
                snprintf(c->energy_method, sizeof c->energy_method, "%s",
                    text(t, s->rows[i], col[R_ENERGY_METHOD]));
            }
        }
    if (rank == 99 || rank == 0)
        snprintf(c->energy_method, sizeof c->energy_method, "none");
}

/* Groups rows by config_id (order of first appearance), dropping rows without requests. */
static int build_configs(struct jb_report_data *d, const int *col, struct jb_err *err)
{
    const struct jb_table *t = &d->runs;
    size_t *rows = malloc((t->n_rows + 1) * sizeof *rows);
    bool *used = calloc(t->n_rows + 1, sizeof *used);
    double *v = malloc((t->n_rows + 1) * sizeof *v);
    d->configs = calloc(t->n_rows + 1, sizeof *d->configs);
    if (!rows || !used || !v || !d->configs) {
        free(rows);
        free(used);
        free(v);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        if (used[r] || !(jb_report_num(t, r, col[R_REQUESTS]) > 0))
            continue;
        size_t n = 0;
        for (size_t q = r; q < t->n_rows; q++)
            if (!used[q] && jb_report_num(t, q, col[R_REQUESTS]) > 0
                && strcmp(t->rows[q][col[R_CONFIG_ID]], t->rows[r][col[R_CONFIG_ID]]) == 0) {
                used[q] = true;
                rows[n++] = q;
            }
        struct summariser s = { t, col, rows, n, v };
        summarise_config(&s, &d->configs[d->n_configs++]);
    }
    free(rows);
    free(used);
    free(v);
    return 0;
}

/* ==== meta.json ============================================================================== */

static void json_str(const cJSON *o, const char *key, char *dst, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, len, "%s", v->valuestring);
}

static void meta_from_json(struct jb_report_meta *m, const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *buf = malloc(1 << 22);
    size_t n = buf ? fread(buf, 1, (1 << 22) - 1, f) : 0;
    fclose(f);
    if (!buf)
        return;
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    if (!root)
        return;
    const cJSON *machine = cJSON_GetObjectItemCaseSensitive(root, "machine");
    const cJSON *energy = cJSON_GetObjectItemCaseSensitive(root, "energy");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
    const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(machine, "cpus_allowed");
    json_str(machine, "host", m->host, sizeof m->host);
    json_str(machine, "cpu_model", m->cpu_model, sizeof m->cpu_model);
    json_str(root, "started_utc", m->started_utc, sizeof m->started_utc);
    json_str(energy, "meter", m->energy_meter, sizeof m->energy_meter);
    if (cJSON_IsNumber(cpus))
        m->cpus = (int64_t)cpus->valuedouble;
    const cJSON *arg;
    size_t used = 0;
    cJSON_ArrayForEach(arg, cmd) if (cJSON_IsString(arg) && used < sizeof m->command) used
        += (size_t)snprintf(
            m->command + used, sizeof m->command - used, "%s%s", used ? " " : "", arg->valuestring);
    m->from_meta_json = true;
    cJSON_Delete(root);
}

static void meta_read(struct jb_report_data *d, const int *col)
{
    struct jb_report_meta *m = &d->meta;
    memset(m, 0, sizeof *m);
    meta_from_json(m, d->dir);
    if (d->runs.n_rows) {
        if (!*m->host)
            snprintf(m->host, sizeof m->host, "%s", text(&d->runs, 0, col[R_HOST]));
        if (!*m->cpu_model)
            snprintf(m->cpu_model, sizeof m->cpu_model, "%s", text(&d->runs, 0, col[R_CPU_INFO]));
        if (!*m->started_utc)
            snprintf(
                m->started_utc, sizeof m->started_utc, "%s", text(&d->runs, 0, col[R_TIMESTAMP]));
        snprintf(m->energy_uncertainty, sizeof m->energy_uncertainty, "%s",
            text(&d->runs, 0, col[R_ENERGY_UNCERTAINTY]));
    }
    snprintf(m->date, sizeof m->date, "%.10s", *m->started_utc ? m->started_utc : "unknown date");
    if (!*m->cpu_model)
        snprintf(m->cpu_model, sizeof m->cpu_model, "unknown CPU");
}

/* ==== loading ================================================================================ */

/* Reads dir/name into t; an absent optional file leaves t empty and *have false. */
static int read_optional(const char *dir, const char *name, struct jb_table *t, bool *have,
    const struct need *need, size_t n, struct jb_err *err)
{
    char path[PATH_MAX + 32];
    int idx[8];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = jb_table_read(path, t, err);
    *have = rc == 0;
    if (rc == JB_ENOENT)
        return 0;
    if (!rc)
        rc = check_columns(t, path, need, n, idx, err);
    return rc;
}

int jb_report_load(const char *dir, struct jb_report_data *d, struct jb_err *err)
{
    char path[PATH_MAX + 16];
    int col[R_COUNT];
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    int rc = jb_table_read(path, &d->runs, err);
    if (rc == JB_ENOENT)
        rc = jb_fail(err, JB_ENOENT,
            "%s: no runs.csv here: is this a results folder "
            "(joulebench run/sweep --out)?",
            dir);
    if (!rc)
        rc = check_columns(&d->runs, path, run_needs, R_COUNT, col, err);
    if (!rc && d->runs.n_rows == 0)
        rc = jb_fail(err, JB_EPARSE, "%s: no repetitions recorded (only the header)", path);
    if (!rc)
        rc = read_optional(dir, "requests.csv", &d->requests, &d->have_requests, request_needs,
            sizeof request_needs / sizeof request_needs[0], err);
    if (!rc)
        rc = read_optional(dir, "power.csv", &d->power, &d->have_power, power_needs,
            sizeof power_needs / sizeof power_needs[0], err);
    if (!rc)
        rc = build_configs(d, col, err);
    if (!rc && d->n_configs == 0)
        rc = jb_fail(err, JB_EPARSE, "%s: no repetition completed a request", path);
    if (rc) {
        jb_report_data_free(d);
        return rc;
    }
    meta_read(d, col);
    return 0;
}

void jb_report_data_free(struct jb_report_data *d)
{
    jb_table_free(&d->runs);
    jb_table_free(&d->requests);
    jb_table_free(&d->power);
    free(d->configs);
    d->configs = NULL;
    d->n_configs = 0;
}
