/*
 * roofline.c — one configuration projected onto one device: per request, the prefill's time is
 * its FLOPs over the device's peak (or its bytes over the bandwidth, whichever is longer) and
 * each decode step's time its bytes (weights + KV cache at that depth, the engine's count) over
 * the bandwidth, each divided by the phase's efficiency (a decode step also pays a fixed time per
 * decoder layer, where one was fitted); power per phase is idle + utilisation x
 * (TDP - idle); energy and the cost model (jb_cost_compute) follow. docs/projection.md has the
 * formulas. Also the column table of projection.csv.
 */
#include "jb_project.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jb_results.h"
#include "jb_stats.h"

#define GIB 1073741824.0

/* ==== the roofline ============================================================================ */

void jb_project_forward_cost(const struct jb_config *c, enum jb_format f, int64_t n_tokens,
    int64_t pos0, struct jb_forward_cost *out)
{
    switch (f) {
    case JB_FORMAT_F16: jb_forward_cost(c, JB_DTYPE_BF16, n_tokens, pos0, 1, out); return;
    case JB_FORMAT_Q8_0: jb_forward_cost(c, JB_DTYPE_Q8_0, n_tokens, pos0, 1, out); return;
    case JB_FORMAT_Q4_0: jb_forward_cost(c, JB_DTYPE_Q4_0, n_tokens, pos0, 1, out); return;
    case JB_FORMAT_Q4_K: jb_forward_cost(c, JB_DTYPE_Q4_K, n_tokens, pos0, 1, out); return;
    default: jb_forward_cost(c, JB_DTYPE_F32, n_tokens, pos0, 1, out); return;
    }
}

double jb_roofline_s(
    double bytes, double flops, double bw_gbs, double peak_tflops, double eff, bool *memory_bound)
{
    if (!(eff > 0) || !(bw_gbs > 0) || !(peak_tflops > 0) || !(bytes >= 0) || !(flops >= 0))
        return NAN;
    const double t_mem = bytes / (bw_gbs * 1e9), t_flop = flops / (peak_tflops * 1e12);
    if (memory_bound)
        *memory_bound = t_mem >= t_flop;
    return (t_mem > t_flop ? t_mem : t_flop) / eff;
}

double jb_decode_step_s(double roof_s, double eff, double n_layers, double layer_overhead_s)
{
    return roof_s / eff + n_layers * layer_overhead_s;
}

double jb_phase_power_w(double idle_w, double tdp_w, double util)
{
    const double u = util < 0 ? 0 : util > 1 ? 1 : util;
    return idle_w + u * (tdp_w - idle_w);
}

/* ==== projection.csv's columns ================================================================= */

#define P_STR(name, field, doc) JB_COLUMN(struct jb_projection, STR, name, field, doc)
#define P_I64(name, field, doc) JB_COLUMN(struct jb_projection, I64, name, field, doc)
#define P_F64(name, field, doc) JB_COLUMN_FMT(struct jb_projection, F64, name, field, doc, "%.6g")

const struct jb_column jb_projection_columns[] = {
    P_STR("method", method, "always \"projected\": a roofline estimate, never a measurement"),
    P_STR("device", device, "catalog device (hardware/NAME.ini)"),
    P_STR("device_file", device_file, "the device file read"),
    P_STR("backend", backend, "cpu, cuda or metal"),
    P_STR("host", host, "the device's name again, so that compare can tell devices apart"),
    P_STR("model", model, "model (models/NAME)"),
    P_I64("params", params, "parameters (Hugging Face count)"),
    P_STR("dtype", dtype, "weight format: f32, f16 (= bf16), q8_0, q4_0, q4_k"),
    P_STR("workload", workload, "workload (workloads/NAME)"),
    P_STR("scenario", scenario, "the workload's scenario"),
    P_STR("scenario_projected", scenario_projected, "how it was projected: requests one at a time"),
    P_I64("batch", batch, "sequences decoded together (projections: 1)"),
    P_I64("threads", threads, "the device's threads (cores when not given)"),
    P_I64("requests", requests, "requests of the workload"),
    P_I64("prompt_tokens", prompt_tokens, "prompt tokens, all requests"),
    P_I64("gen_tokens", gen_tokens, "output tokens, all requests"),
    P_I64("depth", depth, "tokens in the KV cache before each request"),
    P_F64("bandwidth_gbs", bandwidth_gbs, "memory bandwidth the roofline divides by, GB/s"),
    P_STR("bandwidth_kind", bandwidth_kind, "measured (the file's measured_bandwidth_gbs) or peak"),
    P_F64("peak_tflops", peak_tflops, "dense peak the prefill divides by, TFLOP/s"),
    P_STR("peak_kind", peak_kind, "which peak: f32, f16 or int8"),
    P_F64("eff_prefill", eff_prefill, "prefill efficiency: measured / roofline speed"),
    P_STR("eff_prefill_from", eff_prefill_from, "where eff_prefill comes from"),
    P_F64("eff_decode", eff_decode, "decode efficiency: measured / roofline speed"),
    P_STR("eff_decode_from", eff_decode_from, "where eff_decode comes from"),
    P_F64("layer_overhead_us", layer_overhead_us,
        "fixed time per decoder layer of a decode step, microseconds"),
    P_STR("overhead_from", overhead_from, "where layer_overhead_us comes from"),
    P_F64("util_prefill", util_prefill, "share of (tdp - idle) drawn during prefill"),
    P_F64("util_decode", util_decode, "share of (tdp - idle) drawn during decode"),
    P_F64("tdp_w", tdp_w, "device power at full load, W"),
    P_F64("idle_w", idle_w, "device power at idle, W"),
    P_F64("weight_gb_per_token", weight_gb_per_token, "weights read by one decode step, GB"),
    P_F64("kv_gb_per_token", kv_gb_per_token, "KV cache read by one decode step at mean depth, GB"),
    P_F64("gflop_per_token", gflop_per_token, "prefill GFLOP per prompt token"),
    P_F64("memory_needed_gib", memory_needed_gib, "weights + KV cache + activations, GiB"),
    P_F64("memory_gib", memory_gib, "the device's memory, GiB"),
    P_STR("fits", fits, "yes or no: memory_needed_gib <= memory_gib"),
    P_STR("fit_note", fit_note, "when it does not fit: what would"),
    P_STR("prefill_bound", prefill_bound, "memory or compute: the larger roofline term"),
    P_STR("decode_bound", decode_bound, "memory or compute: the larger roofline term"),
    P_F64("ttft_ms_p50", ttft_ms_p50, "projected time to first token, median over requests"),
    P_F64("ttft_ms_p90", ttft_ms_p90, "projected time to first token, 90th percentile"),
    P_F64("tpot_ms_p50", tpot_ms_p50, "projected time per output token after the first, median"),
    P_F64("tpot_ms_p90", tpot_ms_p90, "projected time per output token, 90th percentile"),
    P_F64("e2e_ms_p50", e2e_ms_p50, "projected request latency, median"),
    P_F64("e2e_ms_p90", e2e_ms_p90, "projected request latency, 90th percentile"),
    P_F64("prefill_tok_s", prefill_tok_s, "projected prompt tokens / prefill time"),
    P_F64("decode_tok_s", decode_tok_s, "projected decode tokens / decode time"),
    P_F64("total_tok_s", total_tok_s, "projected (prompt + output tokens) / duration"),
    P_F64("req_s", req_s, "projected requests per second (one at a time)"),
    P_F64("duration_s", duration_s, "projected time of all requests one after another"),
    P_F64("prefill_power_w", prefill_power_w, "idle + util_prefill x (tdp - idle)"),
    P_F64("decode_power_w", decode_power_w, "idle + util_decode x (tdp - idle)"),
    P_F64("avg_power_w", avg_power_w, "energy_j / duration_s"),
    P_F64("energy_prefill_j", energy_prefill_j, "prefill_power_w x prefill time"),
    P_F64("energy_decode_j", energy_decode_j, "decode_power_w x decode time"),
    P_F64("energy_j", energy_j, "projected device energy, all requests"),
    P_F64("j_per_query", j_per_query, "energy_j / requests"),
    P_F64("j_per_token", j_per_token, "energy_j / (prompt_tokens + gen_tokens)"),
    P_F64("j_per_output_token", j_per_output_token, "energy_j / gen_tokens"),
    P_STR("energy_method", energy_method, "always \"projected\""),
    P_STR("profile", profile, "cost profile (electricity, PUE, grid, utilisation, lifetime)"),
    P_STR("currency", currency, "the profile's currency"),
    P_STR("price_kind", price_kind, "purchase (the device's price over the lifetime) or cloud"),
    P_F64("hardware_per_busy_hour", hardware_per_busy_hour, "hardware cost of one busy hour"),
    P_F64("energy_cost_per_query", energy_cost_per_query, "electricity cost of one query"),
    P_F64("hardware_cost_per_query", hardware_cost_per_query, "hardware cost of one query"),
    P_F64("cost_per_query", cost_per_query, "energy + hardware cost of one query"),
    P_F64("cost_per_1k_queries", cost_per_1k_queries, "1000 x cost_per_query"),
    P_F64(
        "cost_per_1m_output_tokens", cost_per_1m_output_tokens, "cost of a million output tokens"),
    P_F64("g_co2e_per_query", g_co2e_per_query, "grams of CO2e of one query"),
};
const size_t jb_n_projection_columns
    = sizeof jb_projection_columns / sizeof jb_projection_columns[0];

/* ==== one configuration ======================================================================== */

/* The q-quantile (0..1) of v[0..n) (sorted in place): the results module's percentile. */
static double quantile(double *v, size_t n, double q)
{
    jb_sort(v, n);
    return jb_percentile(v, n, 100 * q);
}

/* What the device needs for the model at the longest request, and what would fit otherwise. */
static void check_fit(const struct jb_hw *hw, const struct jb_config *c, enum jb_format f,
    int64_t ctx, int64_t batch_tokens, struct jb_projection *p)
{
    struct jb_mem_plan plan;
    static const enum jb_dtype engine_dtype[JB_FORMAT_COUNT] = { [JB_FORMAT_F32] = JB_DTYPE_F32,
        [JB_FORMAT_F16] = JB_DTYPE_BF16, [JB_FORMAT_Q8_0] = JB_DTYPE_Q8_0,
        [JB_FORMAT_Q4_0] = JB_DTYPE_Q4_0, [JB_FORMAT_Q4_K] = JB_DTYPE_Q4_K };
    jb_mem_plan(c, engine_dtype[f], 1, ctx, batch_tokens, 1, &plan);
    const double weights = (double)plan.weight_bytes;
    const double rest = (double)plan.kv_bytes + (double)plan.act_bytes;
    p->memory_needed_gib = (weights + rest) / GIB;
    p->memory_gib = hw->capacity_gb;
    const bool fits = p->memory_needed_gib <= p->memory_gib;
    snprintf(p->fits, sizeof p->fits, "%s", fits ? "yes" : "no");
    p->fit_note[0] = '\0';
    if (fits)
        return;
    for (int g = f + 1; g < JB_FORMAT_COUNT; g++) { /* smaller formats come later */
        const double w = weights * jb_format_bits((enum jb_format)g) / jb_format_bits(f);
        if ((w + rest) / GIB <= p->memory_gib) {
            snprintf(p->fit_note, sizeof p->fit_note, "needs %.1f GiB of %.1f GiB; %s would fit",
                p->memory_needed_gib, p->memory_gib, jb_format_name((enum jb_format)g));
            return;
        }
    }
    snprintf(p->fit_note, sizeof p->fit_note, "needs %.1f GiB of %.1f GiB: %.0f devices of it",
        p->memory_needed_gib, p->memory_gib, ceil(p->memory_needed_gib / p->memory_gib));
}

/* Times of one request: its prefill (the first output token), then one decode step per further
 * output token, each at its depth. pp has one output token (no decode), tg a one-token prompt. */
struct req_times {
    double prefill_s, decode_s, ttft_s, tpot_s, e2e_s;
    int64_t decode_tokens;
};

static void project_request(const struct jb_hw *hw, const struct jb_config *c, enum jb_format f,
    const struct jb_project_request *r, double eff_p, double eff_d, double ovh_s, bool *pre_mem,
    bool *dec_mem, struct req_times *t)
{
    const double bw = jb_hw_bandwidth(hw, NULL), peak = jb_hw_peak_tflops(hw, f, NULL);
    struct jb_forward_cost fc;
    memset(t, 0, sizeof *t);
    jb_project_forward_cost(c, f, r->prompt_tokens, r->depth, &fc);
    t->prefill_s = jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, eff_p, pre_mem);
    const int64_t n_out = r->output_tokens - 1, pos0 = r->depth + r->prompt_tokens;
    for (int64_t i = 0; i < n_out; i++) {
        jb_project_forward_cost(c, f, 1, pos0 + i, &fc);
        const double roof
            = jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, 1, dec_mem);
        t->decode_s += jb_decode_step_s(roof, eff_d, (double)c->n_layers, ovh_s);
    }
    t->decode_tokens = n_out > 0 ? n_out : 0;
    t->ttft_s = t->prefill_s;
    t->tpot_s = n_out > 0 ? t->decode_s / (double)n_out : NAN;
    t->e2e_s = t->prefill_s + t->decode_s;
}

static void fill_inputs(const struct jb_hw *hw, const struct jb_config *c, enum jb_format f,
    const char *workload, const char *scenario, const struct jb_project_opts *o,
    struct jb_projection *p)
{
    const struct jb_efficiency *e = o->eff;
    const char *bw_kind, *peak_kind;
    snprintf(p->method, sizeof p->method, "projected");
    snprintf(p->energy_method, sizeof p->energy_method, "projected");
    snprintf(p->device, sizeof p->device, "%s", hw->name);
    snprintf(p->host, sizeof p->host, "%s", hw->name);
    snprintf(p->device_file, sizeof p->device_file, "%s", hw->path);
    snprintf(p->backend, sizeof p->backend, "%s", jb_backend_name(hw->backend));
    snprintf(p->model, sizeof p->model, "%s", c->name);
    p->params = jb_config_params(c);
    snprintf(p->dtype, sizeof p->dtype, "%s", jb_format_name(f));
    snprintf(p->workload, sizeof p->workload, "%s", workload);
    snprintf(p->scenario, sizeof p->scenario, "%s", scenario);
    snprintf(p->scenario_projected, sizeof p->scenario_projected, "one request at a time");
    p->batch = 1;
    p->threads = (int64_t)(isfinite(hw->threads) ? hw->threads : hw->cores);
    p->bandwidth_gbs = jb_hw_bandwidth(hw, &bw_kind);
    snprintf(p->bandwidth_kind, sizeof p->bandwidth_kind, "%s", bw_kind);
    p->peak_tflops = jb_hw_peak_tflops(hw, f, &peak_kind);
    snprintf(p->peak_kind, sizeof p->peak_kind, "%s", peak_kind);
    p->eff_prefill = e->eff[hw->backend][f][JB_PROJ_PREFILL];
    p->eff_decode = e->eff[hw->backend][f][JB_PROJ_DECODE];
    snprintf(p->eff_prefill_from, sizeof p->eff_prefill_from, "%s",
        e->from[hw->backend][f][JB_PROJ_PREFILL]);
    snprintf(p->eff_decode_from, sizeof p->eff_decode_from, "%s",
        e->from[hw->backend][f][JB_PROJ_DECODE]);
    p->layer_overhead_us = e->layer_overhead_s[hw->backend] * 1e6;
    snprintf(p->overhead_from, sizeof p->overhead_from, "%s", e->overhead_from[hw->backend]);
    p->util_prefill = e->util[hw->backend][JB_PROJ_PREFILL];
    p->util_decode = e->util[hw->backend][JB_PROJ_DECODE];
    p->tdp_w = hw->tdp_w;
    p->idle_w = hw->idle_w;
}

/* The cost model with the device's price in the hardware part. */
static int fill_cost(const struct jb_hw *hw, const struct jb_project_opts *o,
    struct jb_projection *p, struct jb_err *err)
{
    struct jb_cost_profile prof = *o->profile;
    const bool has_buy = isfinite(hw->purchase_usd), has_rent = isfinite(hw->cloud_usd_per_hour);
    const char *want = o->price ? o->price : "auto";
    bool cloud = strcmp(want, "cloud") == 0 || (strcmp(want, "auto") == 0 && !has_buy);
    if ((cloud && !has_rent) || (!cloud && !has_buy))
        return jb_fail(err, JB_EINVAL, "%s: no %s in [price] (--price %s)", hw->path,
            cloud ? "cloud_usd_per_hour" : "purchase_usd", want);
    prof.cloud = cloud;
    if (cloud) { /* the hourly price pays for the power, as profiles/cloud-vm.ini says */
        prof.cloud_price_per_hour = hw->cloud_usd_per_hour;
        prof.price_per_kwh = 0;
    } else {
        prof.purchase_price = hw->purchase_usd;
        if (!(prof.lifetime_years > 0))
            prof.lifetime_years = 5; /* a cloud profile has none: onprem-cpu-server's 5 years */
    }
    snprintf(p->profile, sizeof p->profile, "%s", prof.name);
    snprintf(p->currency, sizeof p->currency, "%s", prof.currency);
    snprintf(p->price_kind, sizeof p->price_kind, "%s", cloud ? "cloud" : "purchase");
    const struct jb_cost_inputs in = { p->j_per_query, p->duration_s / (double)p->requests,
        (double)p->gen_tokens / (double)p->requests };
    struct jb_cost cost;
    jb_cost_compute(&prof, &in, NAN, &cost);
    p->hardware_per_busy_hour = cost.hardware_per_busy_hour;
    p->energy_cost_per_query = cost.energy_per_query;
    p->hardware_cost_per_query = cost.hardware_per_query;
    p->cost_per_query = cost.per_query;
    p->cost_per_1k_queries = cost.per_1k_queries;
    p->cost_per_1m_output_tokens = cost.per_1m_output_tokens;
    p->g_co2e_per_query = cost.g_co2e_per_query;
    return 0;
}

/* Latency quantiles, speeds and energy from the requests' times. */
static void fill_outputs(const struct req_times *t, const struct jb_project_request *reqs, size_t n,
    struct jb_projection *p, double *scratch)
{
    double pre = 0, dec = 0, dec_tok = 0;
    for (size_t i = 0; i < n; i++) {
        pre += t[i].prefill_s;
        dec += t[i].decode_s;
        dec_tok += (double)t[i].decode_tokens;
        p->prompt_tokens += reqs[i].prompt_tokens;
        p->gen_tokens += reqs[i].output_tokens;
    }
#define Q(field, q, out)                                                                           \
    do {                                                                                           \
        size_t m = 0;                                                                              \
        for (size_t i = 0; i < n; i++)                                                             \
            if (isfinite(t[i].field))                                                              \
                scratch[m++] = t[i].field * 1e3;                                                   \
        out = quantile(scratch, m, q);                                                             \
    } while (0)
    Q(ttft_s, 0.5, p->ttft_ms_p50);
    Q(ttft_s, 0.9, p->ttft_ms_p90);
    Q(tpot_s, 0.5, p->tpot_ms_p50);
    Q(tpot_s, 0.9, p->tpot_ms_p90);
    Q(e2e_s, 0.5, p->e2e_ms_p50);
    Q(e2e_s, 0.9, p->e2e_ms_p90);
#undef Q
    p->duration_s = pre + dec;
    p->prefill_tok_s = pre > 0 ? (double)p->prompt_tokens / pre : NAN;
    p->decode_tok_s = dec > 0 ? dec_tok / dec : NAN;
    p->total_tok_s = (double)(p->prompt_tokens + p->gen_tokens) / p->duration_s;
    p->req_s = (double)n / p->duration_s;
    p->prefill_power_w = jb_phase_power_w(p->idle_w, p->tdp_w, p->util_prefill);
    p->decode_power_w = jb_phase_power_w(p->idle_w, p->tdp_w, p->util_decode);
    p->energy_prefill_j = p->prefill_power_w * pre;
    p->energy_decode_j = p->decode_power_w * dec;
    p->energy_j = p->energy_prefill_j + p->energy_decode_j;
    p->avg_power_w = p->energy_j / p->duration_s;
    p->j_per_query = p->energy_j / (double)n;
    p->j_per_token = p->energy_j / (double)(p->prompt_tokens + p->gen_tokens);
    p->j_per_output_token = p->gen_tokens ? p->energy_j / (double)p->gen_tokens : NAN;
}

/* Per-token figures of the row: decode at the mean depth, prefill FLOPs per prompt token. */
static void fill_per_token(const struct jb_config *c, enum jb_format f,
    const struct jb_project_request *reqs, size_t n, struct jb_projection *p)
{
    double depth = 0, prompt = 0;
    for (size_t i = 0; i < n; i++) {
        depth += (double)reqs[i].depth + (double)reqs[i].prompt_tokens
            + (double)reqs[i].output_tokens / 2.0;
        prompt += (double)reqs[i].prompt_tokens;
    }
    struct jb_forward_cost fc;
    jb_project_forward_cost(c, f, 1, (int64_t)(depth / (double)n), &fc);
    p->weight_gb_per_token = fc.weight_bytes * 1e-9;
    p->kv_gb_per_token = fc.kv_bytes * 1e-9;
    const int64_t pl = (int64_t)(prompt / (double)n + 0.5);
    jb_project_forward_cost(c, f, pl > 0 ? pl : 1, 0, &fc);
    p->gflop_per_token = fc.flops * 1e-9 / (double)(pl > 0 ? pl : 1);
}

int jb_project_one(const struct jb_hw *hw, const struct jb_config *c, enum jb_format f,
    const char *workload, const char *scenario, const struct jb_project_request *reqs,
    size_t n_reqs, const struct jb_project_opts *o, struct jb_projection *out, struct jb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!n_reqs)
        return jb_fail(err, JB_EINVAL, "workload %s: no requests to project", workload);
    fill_inputs(hw, c, f, workload, scenario, o, out);
    struct req_times *t = calloc(n_reqs, sizeof *t);
    double *scratch = calloc(n_reqs, sizeof *scratch);
    if (!t || !scratch) {
        free(t);
        free(scratch);
        return jb_fail(err, JB_ENOMEM, "out of memory projecting %s", workload);
    }
    bool pre_mem = false, dec_mem = true;
    int64_t ctx = 1, batch_tokens = 1;
    for (size_t i = 0; i < n_reqs; i++) {
        project_request(hw, c, f, &reqs[i], out->eff_prefill, out->eff_decode,
            out->layer_overhead_us * 1e-6, &pre_mem, &dec_mem, &t[i]);
        const int64_t need = reqs[i].depth + reqs[i].prompt_tokens + reqs[i].output_tokens;
        ctx = need > ctx ? need : ctx;
        batch_tokens = reqs[i].prompt_tokens > batch_tokens ? reqs[i].prompt_tokens : batch_tokens;
    }
    out->requests = (int64_t)n_reqs;
    out->depth = reqs[0].depth;
    snprintf(out->prefill_bound, sizeof out->prefill_bound, "%s", pre_mem ? "memory" : "compute");
    snprintf(out->decode_bound, sizeof out->decode_bound, "%s", dec_mem ? "memory" : "compute");
    fill_outputs(t, reqs, n_reqs, out, scratch);
    fill_per_token(c, f, reqs, n_reqs, out);
    check_fit(hw, c, f, ctx, batch_tokens, out);
    free(t);
    free(scratch);
    return fill_cost(hw, o, out, err);
}
