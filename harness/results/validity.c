/*
 * validity.c — the validity verdict of run rows: the rules of docs/validity.md applied to what
 * a repetition recorded of its own measurement (jb_validity_judge_rep) and to the repetitions
 * of a configuration (jb_validity_judge_config), and what readers do with verdicts: spread a
 * configuration's reasons to all its rows, count the rows left out, empty their energy.
 */
#include "jb_validity.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jb_stats.h"

/* Appends "code:figure" (printf) to reasons, ";"-separated; counts it in *n. */
static void add_reason(char *reasons, size_t len, int *n, const char *code, const char *fmt, ...)
{
    size_t used = strlen(reasons);
    if (used + 1 >= len) {
        (*n)++;
        return;
    }
    int w = snprintf(reasons + used, len - used, "%s%s:", used ? ";" : "", code);
    if (w > 0 && (size_t)w < len - used) {
        used += (size_t)w;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reasons + used, len - used, fmt, ap);
        va_end(ap);
    }
    (*n)++;
}

void jb_validity_rep_init(struct jb_validity_rep *f)
{
    memset(f, 0, sizeof *f);
    f->window_s = f->update_s = f->period_s = NAN;
    f->phase_s[0] = f->phase_s[1] = NAN;
    f->idle_w = f->idle_sd_w = f->idle_busy_share = NAN;
}

/* ---- one repetition ------------------------------------------------------------------------ */

static bool is_integrated(const struct jb_validity_rep *f)
{
    return strcmp(f->method, "integrated") == 0;
}

/* How often the energy figure changes: the sampler's period for power samples integrated over
 * time, else the counter's (or the estimator's CPU-time tick), never below NVML's documented
 * interval when NVML is one of the sources. */
static double update_interval_s(const struct jb_validity_rep *f)
{
    double u = is_integrated(f) ? f->period_s : f->update_s;
    if (strstr(f->source, "nvml") && !(u >= JB_VALID_NVML_UPDATE_S))
        u = JB_VALID_NVML_UPDATE_S;
    return u > 0 ? u : NAN;
}

static void judge_window(const struct jb_validity_rep *f, char *r, size_t len, int *n)
{
    const double u = update_interval_s(f);
    if (isfinite(u) && isfinite(f->window_s) && f->window_s < JB_VALID_WINDOW_UPDATES * u)
        add_reason(r, len, n, JB_VALID_WINDOW_SHORT, "%.3gms<%dx%.3gms", f->window_s * 1e3,
            JB_VALID_WINDOW_UPDATES, u * 1e3);
}

/* Energy observations in a phase: power samples when integrated, counter updates otherwise. */
static void judge_samples(const struct jb_validity_rep *f, char *r, size_t len, int *n)
{
    static const char *const names[2] = { "prefill", "decode" };
    const double u = update_interval_s(f);
    for (int p = 0; p < 2; p++) {
        if (!(f->phase_s[p] > 0))
            continue; /* no such phase in this workload */
        const double got = is_integrated(f) ? (double)f->phase_samples[p]
            : isfinite(u)                   ? floor(f->phase_s[p] / u)
                                            : NAN;
        if (isfinite(got) && got < JB_VALID_MIN_PHASE_SAMPLES)
            add_reason(r, len, n, JB_VALID_FEW_SAMPLES, "%s %.0f<%d", names[p], got,
                JB_VALID_MIN_PHASE_SAMPLES);
    }
}

static void judge_gaps(const struct jb_validity_rep *f, char *r, size_t len, int *n)
{
    if (!(f->window_s > 0) || !(f->period_s > 0) || f->missed_samples <= 0)
        return;
    const double share = (double)f->missed_samples * f->period_s / f->window_s;
    if (share > JB_VALID_MAX_GAP_SHARE)
        add_reason(r, len, n, JB_VALID_SAMPLER_GAPS, "%lld missed %.3g%%>%.3g%%",
            (long long)f->missed_samples, 100 * share, 100 * JB_VALID_MAX_GAP_SHARE);
}

static void judge_idle(const struct jb_validity_rep *f, char *r, size_t len, int *n)
{
    if (isfinite(f->idle_w) && f->idle_w > 0 && isfinite(f->idle_sd_w)
        && f->idle_sd_w > JB_VALID_IDLE_MAX_CV * f->idle_w)
        add_reason(r, len, n, JB_VALID_IDLE_UNSTABLE, "sd %.3g%%>%.3g%%",
            100 * f->idle_sd_w / f->idle_w, 100 * JB_VALID_IDLE_MAX_CV);
    if (isfinite(f->idle_w) && isfinite(f->idle_busy_share)
        && f->idle_busy_share > JB_VALID_IDLE_MAX_BUSY)
        add_reason(r, len, n, JB_VALID_IDLE_BUSY, "%.3g%%>%.3g%%", 100 * f->idle_busy_share,
            100 * JB_VALID_IDLE_MAX_BUSY);
}

int jb_validity_judge_rep(const struct jb_validity_rep *f, char *reasons, size_t len)
{
    int n = 0;
    if (len)
        reasons[0] = '\0';
    /* the meter leaves energy empty over such a gap (energy_reason); said here as well */
    if (f->unaccounted_wraps > 0)
        add_reason(reasons, len, &n, JB_VALID_WRAP_UNACCOUNTED, "%lld gap(s)",
            (long long)f->unaccounted_wraps);
    if (!f->energy)
        return n; /* no energy figures to judge: latency rules are the configuration's */
    judge_window(f, reasons, len, &n);
    judge_samples(f, reasons, len, &n);
    judge_gaps(f, reasons, len, &n);
    judge_idle(f, reasons, len, &n);
    /* a guest's RAPL is the host's package, shared with other guests, or emulated; an
     * estimate says it is one and is judged as such */
    if (f->vm && strcmp(f->method, "measured") == 0)
        add_reason(reasons, len, &n, JB_VALID_VM_MEASURED, "%s in a VM", f->source);
    return n;
}

/* ---- a configuration ---------------------------------------------------------------------- */

/* The figures whose spread over repetitions is judged (the summary's flagged ones, and the
 * energy per token). */
static const char *const spread_metrics[] = { "ttft_ms_p50", "tpot_ms_p50", "prefill_tok_s",
    "decode_tok_s", "total_tok_s", "j_per_token", NULL };

static int n_metrics(void)
{
    int n = 0;
    while (spread_metrics[n])
        n++;
    return n;
}

int jb_validity_judge_config(const struct jb_run_record *runs, size_t n, double cv_warn,
    const struct jb_validity_state *first, const struct jb_validity_state *last, char *reasons,
    size_t len)
{
    int broken = 0;
    double v[64];
    if (len)
        reasons[0] = '\0';
    const char *worst = NULL;
    double worst_cv = 0;
    int over = 0;
    for (int m = 0; n >= 2 && spread_metrics[m]; m++) {
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof v / sizeof v[0]; i++)
            v[k++] = jb_record_num(jb_run_columns, jb_n_run_columns, &runs[i], spread_metrics[m]);
        struct jb_summary s;
        jb_summarize(v, k, &s);
        if (!(isfinite(s.cv) && s.cv > cv_warn))
            continue;
        over++;
        if (s.cv > worst_cv) {
            worst_cv = s.cv;
            worst = spread_metrics[m];
        }
    }
    if (worst) /* the worst figure named, and how many others are over */
        add_reason(reasons, len, &broken, JB_VALID_CV_HIGH, "%s %.3g%%>%.3g%% (%d of %d figures)",
            worst, 100 * worst_cv, 100 * cv_warn, over, n_metrics());
    if (!first || !last)
        return broken;
    if (first->cpu_mhz > 0 && isfinite(last->cpu_mhz)
        && fabs(last->cpu_mhz - first->cpu_mhz) > JB_VALID_MAX_FREQ_DRIFT * first->cpu_mhz)
        add_reason(reasons, len, &broken, JB_VALID_FREQ_DRIFT, "%.0f->%.0fMHz %.3g%%>%.3g%%",
            first->cpu_mhz, last->cpu_mhz,
            100 * fabs(last->cpu_mhz - first->cpu_mhz) / first->cpu_mhz,
            100 * JB_VALID_MAX_FREQ_DRIFT);
    if (isfinite(first->steal_share) && isfinite(last->steal_share)
        && fabs(last->steal_share - first->steal_share) > JB_VALID_MAX_STEAL_DRIFT)
        add_reason(reasons, len, &broken, JB_VALID_STEAL_DRIFT, "%.3g%%->%.3g%% >%.3gpt",
            100 * first->steal_share, 100 * last->steal_share, 100 * JB_VALID_MAX_STEAL_DRIFT);
    return broken;
}

void jb_validity_add(struct jb_run_record *run, const char *reasons)
{
    if (run->valid == JB_I64_NONE)
        run->valid = 1;
    if (!reasons || !reasons[0])
        return;
    size_t used = strlen(run->validity_reasons);
    snprintf(run->validity_reasons + used, sizeof run->validity_reasons - used, "%s%s",
        used ? ";" : "", reasons);
    run->valid = 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

bool jb_validity_code_is_config(const char *code)
{
    static const char *const codes[]
        = { JB_VALID_CV_HIGH, JB_VALID_FREQ_DRIFT, JB_VALID_STEAL_DRIFT, NULL };
    for (int i = 0; codes[i]; i++) {
        const size_t k = strlen(codes[i]);
        if (strncmp(code, codes[i], k) == 0 && (code[k] == ':' || code[k] == '\0'))
            return true;
    }
    return false;
}

static bool same_config(const struct jb_run_record *a, const struct jb_run_record *b)
{
    return strcmp(a->config_id, b->config_id) == 0 && strcmp(a->host, b->host) == 0
        && strcmp(a->cpu_info, b->cpu_info) == 0;
}

/* Adds to row `to` every configuration-level reason of row `from` it does not hold yet. */
static void spread_one(const struct jb_run_record *from, struct jb_run_record *to)
{
    char buf[sizeof from->validity_reasons];
    snprintf(buf, sizeof buf, "%s", from->validity_reasons);
    for (char *save = NULL, *r = strtok_r(buf, ";", &save); r; r = strtok_r(NULL, ";", &save))
        if (jb_validity_code_is_config(r) && !strstr(to->validity_reasons, r))
            jb_validity_add(to, r);
}

static bool has_config_reason(const char *reasons)
{
    return strstr(reasons, JB_VALID_CV_HIGH) || strstr(reasons, JB_VALID_FREQ_DRIFT)
        || strstr(reasons, JB_VALID_STEAL_DRIFT);
}

void jb_validity_spread(struct jb_run_record *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (runs[i].valid != 0 || !has_config_reason(runs[i].validity_reasons))
            continue;
        for (size_t j = 0; j < n; j++)
            if (j != i && runs[j].valid != JB_I64_NONE && same_config(&runs[i], &runs[j]))
                spread_one(&runs[i], &runs[j]);
    }
}

bool jb_validity_ok(const struct jb_run_record *run)
{
    return run->valid != 0;
}

/* The code of a reason: the text before ':' into buf. */
static void code_of(const char *reason, char *buf, size_t len)
{
    const size_t k = strcspn(reason, ":");
    snprintf(buf, len, "%.*s", (int)k, reason);
}

static void tally_code(struct jb_validity_tally *t, const char *code)
{
    size_t i = 0;
    while (i < t->n_codes && strcmp(t->code[i], code) != 0)
        i++;
    if (i == t->n_codes) {
        if (t->n_codes == JB_VALIDITY_MAX_CODES)
            return;
        snprintf(t->code[t->n_codes++], sizeof t->code[0], "%s", code);
    }
    t->count[i]++;
}

void jb_validity_count(const struct jb_run_record *runs, size_t n, struct jb_validity_tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].valid == JB_I64_NONE)
            t->unknown++;
        if (jb_validity_ok(&runs[i]))
            continue;
        t->rows++;
        char buf[sizeof runs[i].validity_reasons], code[32];
        snprintf(buf, sizeof buf, "%s", runs[i].validity_reasons);
        char *save = NULL, *r = strtok_r(buf, ";", &save);
        if (!r)
            tally_code(t, "unstated");
        char seen[512] = ";"; /* a row counts once under each of its codes */
        for (; r; r = strtok_r(NULL, ";", &save)) {
            char key[40];
            code_of(r, code, sizeof code);
            snprintf(key, sizeof key, ";%s;", code);
            if (strstr(seen, key))
                continue;
            tally_code(t, code);
            snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s;", code);
        }
    }
}

static bool is_energy_column(const struct jb_column *c)
{
    const size_t k = strlen(c->name);
    return c->type == JB_COL_F64
        && (strstr(c->name, "j_per")
            || (k > 2
                && (strcmp(c->name + k - 2, "_j") == 0 || strcmp(c->name + k - 2, "_w") == 0)));
}

void jb_validity_drop_energy(struct jb_run_record *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jb_validity_ok(&runs[i]))
            continue;
        for (size_t c = 0; c < jb_n_run_columns; c++)
            if (is_energy_column(&jb_run_columns[c])) {
                const double nan = NAN;
                memcpy((char *)&runs[i] + jb_run_columns[c].offset, &nan, sizeof nan);
            }
    }
}

void jb_validity_print(
    const struct jb_validity_tally *t, const char *prefix, const char *what, FILE *f)
{
    for (size_t i = 0; f && i < t->n_codes; i++)
        fprintf(
            f, "%s: %zu row(s) %s: %s (docs/validity.md)\n", prefix, t->count[i], what, t->code[i]);
}
