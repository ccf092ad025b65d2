/*
 * schema.c — the CSV schema: the column tables of runs.csv, requests.csv and power.csv, each
 * column's name (with its unit), the record field it holds and what it means. The header, the
 * rows written, the records read back and docs/csv.md all come from these tables
 * (`joulebench columns --markdown`).
 */
#include "jb_records.h"

#include <stddef.h>

/* Every number of the three files is a quantity that cannot be below zero (energy, power,
 * times, tokens, counts, rates, shares), so a negative cell is refused on reading ("$-0.02 per
 * 1,000 queries" is a damaged file, not a result), with two exceptions, declared SIGNED: the
 * idle-subtracted energies (energy_net_j, net_j_per_token), which go below zero when idle power
 * was measured higher than the run's average. */
#define RUN_STR(n, f, d) JB_COLUMN(struct jb_run_record, STR, n, f, d)
#define RUN_I64(n, f, d) JB_COLUMN_NONNEG(struct jb_run_record, I64, n, f, d, NULL)
#define RUN_F64(n, f, d) JB_COLUMN_NONNEG(struct jb_run_record, F64, n, f, d, NULL)
#define RUN_F64_SIGNED(n, f, d) JB_COLUMN(struct jb_run_record, F64, n, f, d)
#define PCT(metric, what)                                                                          \
    RUN_F64(#metric "_p50", metric##_p50, "median " what),                                         \
        RUN_F64(#metric "_p90", metric##_p90, "90th percentile of " what),                         \
        RUN_F64(#metric "_p99", metric##_p99, "99th percentile of " what)

const struct jb_column jb_run_columns[] = {
    RUN_I64("schema_version", schema_version, "version of these columns (4)"),
    RUN_STR("run_id", run_id,
        "`config_id-MACHINE-rREP`: unique per configuration, machine (8 hex digits of a hash "
        "of host and cpu_info) and repetition"),
    RUN_STR("config_id", config_id,
        "hash of everything that defines the configuration (model, dtype, weights, workload and "
        "its options, scenario, batch, threads, kernels); equal ids are comparable runs"),
    RUN_STR("timestamp_utc", timestamp_utc, "start of the repetition, ISO 8601 UTC"),
    RUN_STR("host", host, "host name"),
    RUN_STR("build_commit", build_commit, "joulebench git commit (as llama-bench)"),
    RUN_STR("cpu_info", cpu_info, "CPU model name (as llama-bench)"),
    RUN_STR("model", model, "model folder name, e.g. Llama-3.2-1B"),
    RUN_STR("model_type", model_type, "config.json model_type (llama, qwen2, gemma, phi3)"),
    RUN_I64("params", params, "exact parameter count (llama-bench's model_n_params)"),
    RUN_I64("model_size", model_size, "bytes of weights in this dtype (as llama-bench)"),
    RUN_STR("weights", weights, "`random (seed N)` or the safetensors file"),
    RUN_I64("layers_run", layers_run,
        "decoder layers run: all of them (= layers_total), or the K sampled by --layers"),
    RUN_I64("layers_total", layers_total, "decoder layers of the model (num_hidden_layers)"),
    RUN_I64("extrapolated", extrapolated,
        "1 when the run sampled its layers and every time, rate and energy column is scaled to "
        "the full model (never measured as such), 0 when the whole model ran"),
    RUN_STR("extrapolation_method", extrapolation_method,
        "how the figures were scaled when extrapolated (docs/large-models.md), empty otherwise"),
    RUN_STR("dtype", dtype, "weight storage type: f32, bf16, q8_0, q4_0, q4_k"),
    RUN_STR("workload", workload, "workload name (file stem)"),
    RUN_STR("scenario", scenario,
        "single-stream, offline, server, concurrency (MLPerf meanings), pp or tg (llama-bench)"),
    RUN_STR("kernels", kernels, "kernel table: ref, avx2 or avx512 (see joulebench sources)"),
    RUN_I64("batch", batch, "most sequences processed together in one forward call"),
    RUN_I64("threads", threads, "OpenMP and OpenBLAS threads (llama-bench's n_threads)"),
    RUN_I64("rep", rep, "repetition number, from 0 (warm-up repetitions are not written)"),
    RUN_I64("requests", requests, "requests completed in this repetition"),
    RUN_I64("prompt_tokens", prompt_tokens, "prompt tokens processed, all requests (n_prompt)"),
    RUN_I64("gen_tokens", gen_tokens, "tokens generated, all requests (n_gen)"),
    RUN_I64("depth", depth, "tokens already in the KV cache before each request (untimed)"),
    RUN_F64("duration_s", duration_s, "from the first arrival to the last token"),
    RUN_F64("busy_s", busy_s,
        "duration_s less the gaps in which nothing was in flight and the engine waited for the "
        "next arrival (server scenarios): the machine time the queries took; equal to "
        "duration_s in closed-loop scenarios"),
    PCT(ttft_ms, "time to first token: arrival to first token, queueing included (ms)"),
    PCT(tpot_ms,
        "time per output token after the first: (e2e - ttft) / (output tokens - 1) per request "
        "(ms)"),
    PCT(itl_ms, "inter-token latency: every gap between consecutive tokens, pooled (ms)"),
    PCT(e2e_ms, "end-to-end latency: arrival to last token (ms)"),
    RUN_F64("queue_ms_p50", queue_ms_p50, "median wait from arrival to admission (ms)"),
    RUN_F64(
        "queue_ms_p99", queue_ms_p99, "99th percentile of the wait from arrival to admission (ms)"),
    RUN_F64("prefill_s", prefill_s, "time in forward calls that processed prompt tokens"),
    RUN_F64("decode_s", decode_s, "time in forward calls that generated tokens"),
    RUN_F64("prefill_tok_s", prefill_tok_s, "prompt tokens / prefill_s"),
    RUN_F64("decode_tok_s", decode_tok_s, "tokens generated by decode calls / decode_s"),
    RUN_F64("total_tok_s", total_tok_s, "(prompt_tokens + gen_tokens) / duration_s"),
    RUN_F64("req_s", req_s, "requests / duration_s"),
    RUN_F64("avg_ts", avg_ts,
        "llama-bench's avg_ts: mean over requests of tokens/s (pp: prompt tokens / prefill time; "
        "otherwise generated tokens after the first / (e2e - ttft))"),
    RUN_F64(
        "stddev_ts", stddev_ts, "standard deviation of those per-request tokens/s (llama-bench)"),
    RUN_F64("slo_ttft_ms", slo_ttft_ms, "TTFT objective of the workload; empty without one"),
    RUN_F64("slo_tpot_ms", slo_tpot_ms, "TPOT objective of the workload; empty without one"),
    RUN_F64("slo_met_share", slo_met_share, "share of requests meeting every objective (0..1)"),
    RUN_F64("goodput_req_s", goodput_req_s, "requests meeting every objective / duration_s"),
    RUN_F64("energy_j", energy_j,
        "energy of the repetition (J), summed over energy_domains; empty when not measured"),
    RUN_F64("energy_prefill_j", energy_prefill_j, "energy during prefill calls (J)"),
    RUN_F64("energy_decode_j", energy_decode_j, "energy during decode calls (J)"),
    RUN_F64("energy_idle_j", energy_idle_j,
        "energy while waiting for arrivals and filling the KV cache to its depth (J)"),
    RUN_F64("j_per_prompt_token", j_per_prompt_token, "energy_prefill_j / prompt_tokens"),
    RUN_F64("j_per_output_token", j_per_output_token,
        "energy_decode_j / tokens generated by decode calls (gen_tokens - requests: each "
        "request's first token comes from its prefill)"),
    RUN_F64("j_per_token", j_per_token, "energy_j / (prompt_tokens + gen_tokens)"),
    RUN_F64("j_per_query", j_per_query, "energy_j / requests"),
    RUN_F64("avg_power_w", avg_power_w, "energy_j / duration_s"),
    RUN_F64("energy_pkg_j", energy_pkg_j, "CPU packages (RAPL PKG), all phases (J)"),
    RUN_F64("energy_cores_j", energy_cores_j, "CPU cores (RAPL PP0; inside the package) (J)"),
    RUN_F64("energy_dram_j", energy_dram_j, "memory (RAPL DRAM) (J)"),
    RUN_F64("energy_psys_j", energy_psys_j, "the platform (RAPL PSYS) (J)"),
    RUN_F64("energy_gpu_j", energy_gpu_j, "GPUs (NVML) (J)"),
    RUN_F64("energy_cpu_j", energy_cpu_j, "the estimator's figure for the CPUs used (J)"),
    RUN_F64("steady_j_per_output_token", steady_j_per_output_token,
        "energy per generated token over the steady-state window, after the batch filled and "
        "before it drained (batched scenarios; as the ML.ENERGY benchmark reports)"),
    RUN_F64("steady_s", steady_s, "length of that window"),
    RUN_F64("idle_power_w", idle_power_w,
        "idle power measured with the same source before the configuration's repetitions"),
    RUN_F64("idle_power_sd_w", idle_power_sd_w, "standard deviation of idle power over windows"),
    RUN_F64_SIGNED(
        "energy_net_j", energy_net_j, "energy_j - idle_power_w * duration_s: the dynamic part"),
    RUN_F64_SIGNED(
        "net_j_per_token", net_j_per_token, "energy_net_j / (prompt_tokens + gen_tokens)"),
    RUN_STR("energy_source", energy_source,
        "where the joules come from: perf, powercap, papi, nvml, estimator (several joined by +); "
        "none when not measured"),
    RUN_STR("energy_method", energy_method,
        "measured (an energy counter), integrated (power samples), estimated (a model); the "
        "weakest of the sources used"),
    RUN_STR("energy_domains", energy_domains, "the domains summed into energy_j"),
    RUN_STR("energy_uncertainty", energy_uncertainty,
        "the known error of estimated figures (the estimator's out-of-sample error); empty for "
        "counters"),
    RUN_STR("energy_low_confidence", energy_low_confidence,
        "phases shorter than 50 counter updates: their energy is coarse"),
    RUN_I64("energy_reads", energy_reads, "energy reads during the repetition"),
    RUN_I64("energy_wraps", energy_wraps, "counter wrap-arounds corrected"),
    RUN_STR("energy_reason", energy_reason,
        "why the energy columns are empty (no source, a failed read, a read gap, a counter that "
        "did not advance over a busy window: stuck or virtualised)"),
    RUN_F64("instructions", instructions,
        "instructions retired on the CPUs used (PAPI_TOT_INS); empty when not counted"),
    RUN_F64("cycles", cycles, "cycles (PAPI_TOT_CYC)"),
    RUN_F64("fp_ops", fp_ops,
        "floating-point work (PAPI_FP_OPS, else PAPI_SP_OPS, PAPI_DP_OPS or PAPI_VEC_INS: see "
        "counter_events)"),
    RUN_F64("llc_misses", llc_misses,
        "last-level cache misses (PAPI_L3_TCM, else L3_DCM, L2_TCM or L2_DCM: see counter_events)"),
    RUN_F64("ipc", ipc, "instructions / cycles"),
    RUN_F64("instructions_per_token", instructions_per_token,
        "instructions / (prompt_tokens + gen_tokens): a noise-resistant cost per token"),
    RUN_F64("prefill_instructions", prefill_instructions, "instructions during prefill calls"),
    RUN_F64("decode_instructions", decode_instructions, "instructions during decode calls"),
    RUN_STR("counter_events", counter_events, "the PAPI events behind the counter columns"),
    RUN_STR("counters_reason", counters_reason, "why the counter columns are empty"),
    RUN_F64("gflop_per_token", gflop_per_token,
        "model FLOPs per processed token in this repetition (docs/engine.md#cost-accounting)"),
    RUN_F64("weight_gb_per_token", weight_gb_per_token,
        "weight bytes read per processed token in this repetition (GB)"),
    RUN_F64("memory_used_bytes", memory_used_bytes,
        "memory the run allocated: weights of the layers run + KV cache + activations (bytes)"),
    RUN_F64("memory_full_bytes", memory_full_bytes,
        "memory the whole model needs for this configuration: all weights + KV cache + "
        "activations (bytes); above memory_used_bytes when layers were sampled"),
    RUN_F64("measured_wall_s", measured_wall_s,
        "sampled runs: real seconds the repetition took, unscaled; empty for full runs"),
    RUN_F64("measured_prefill_s", measured_prefill_s,
        "sampled runs: real seconds in prefill calls, unscaled"),
    RUN_F64("measured_decode_s", measured_decode_s,
        "sampled runs: real seconds in decode calls, unscaled"),
    RUN_F64("measured_layers_s", measured_layers_s,
        "sampled runs: real seconds inside the sampled layers (all phases); each scaled time is "
        "the measured one + (layers_total / layers_run - 1) x its layer part"),
    RUN_F64("measured_energy_j", measured_energy_j,
        "sampled runs: energy measured, unscaled (J); empty when energy is not measured"),
    RUN_F64("measured_layers_j", measured_layers_j,
        "sampled runs: energy measured inside the sampled layers (J); energy_j = "
        "measured_energy_j + (layers_total / layers_run - 1) x measured_layers_j"),
    RUN_I64("valid", valid,
        "1 when the row's figures can be trusted as what they claim to be, 0 when a rule of "
        "docs/validity.md is broken (report and compare then leave its energy out unless "
        "--allow-invalid); empty in files written before verdicts (read as valid)"),
    RUN_STR("validity_reasons", validity_reasons,
        "the broken rules, ';'-joined code:figure (e.g. window_short:0.8ms<10x1ms); empty when "
        "valid. cv_high, freq_drift and steal_drift judge the configuration: written on its "
        "last repetition, applied by readers to all of its rows"),
};
const size_t jb_n_run_columns = sizeof jb_run_columns / sizeof jb_run_columns[0];

#define REQ_STR(n, f, d) JB_COLUMN(struct jb_request_record, STR, n, f, d)
#define REQ_I64(n, f, d) JB_COLUMN_NONNEG(struct jb_request_record, I64, n, f, d, NULL)
#define REQ_F64(n, f, d) JB_COLUMN_NONNEG(struct jb_request_record, F64, n, f, d, NULL)

const struct jb_column jb_request_columns[] = {
    REQ_I64("schema_version", schema_version, "version of these columns (4)"),
    REQ_STR("run_id", run_id, "the repetition (runs.csv)"),
    REQ_STR("config_id", config_id, "the configuration (runs.csv)"),
    REQ_I64("rep", rep, "repetition number"),
    REQ_I64("request_id", request_id, "index of the request in the workload, from 0"),
    REQ_I64("prompt_tokens", prompt_tokens, "prompt length"),
    REQ_I64(
        "output_tokens", output_tokens, "tokens generated (exactly as requested; no early stop)"),
    REQ_F64("arrival_ms", arrival_ms, "arrival, from the repetition's start"),
    REQ_F64("start_ms", start_ms, "admission into the batch"),
    REQ_F64("first_token_ms", first_token_ms, "first token"),
    REQ_F64("end_ms", end_ms, "last token"),
    REQ_F64("queue_ms", queue_ms, "start - arrival"),
    REQ_F64("ttft_ms", ttft_ms, "first_token - arrival"),
    REQ_F64("tpot_ms", tpot_ms, "(e2e - ttft) / (output_tokens - 1); empty for one token"),
    REQ_F64("e2e_ms", e2e_ms, "end - arrival"),
    REQ_F64("prefill_ms", prefill_ms, "first_token - start"),
    REQ_I64("slo_met", slo_met, "1 when every objective was met, 0 otherwise; empty without one"),
};
const size_t jb_n_request_columns = sizeof jb_request_columns / sizeof jb_request_columns[0];

#define POW_STR(n, f, d) JB_COLUMN(struct jb_power_record, STR, n, f, d)
#define POW_I64(n, f, d) JB_COLUMN_NONNEG(struct jb_power_record, I64, n, f, d, NULL)
#define POW_F64(n, f, d, fmt) JB_COLUMN_NONNEG(struct jb_power_record, F64, n, f, d, fmt)

const struct jb_column jb_power_columns[] = {
    POW_I64("schema_version", schema_version, "version of these columns (4)"),
    POW_STR("run_id", run_id,
        "the repetition (runs.csv), or idle:CONFIG_ID-MACHINE for an idle-baseline measurement"),
    POW_F64("t_s", t_s, "seconds since the repetition (or baseline) started", "%.6f"),
    POW_STR("phase", phase, "idle, setup, prefill or decode at the time of the sample"),
    POW_STR("domain", domain, "a power domain (package-0, dram-0, psys, gpu-0, cpu), or total"),
    POW_F64("watts", watts, "average power since the previous sample", "%.6g"),
    POW_I64("summed", summed, "1 when the domain is summed into total; empty on total rows"),
};
const size_t jb_n_power_columns = sizeof jb_power_columns / sizeof jb_power_columns[0];

/* The readers keep a presence flag per column in arrays of JB_MAX_COLUMNS. */
_Static_assert(sizeof jb_run_columns / sizeof jb_run_columns[0] <= JB_MAX_COLUMNS,
    "runs.csv has more columns than JB_MAX_COLUMNS");
_Static_assert(sizeof jb_request_columns / sizeof jb_request_columns[0] <= JB_MAX_COLUMNS,
    "requests.csv has more columns than JB_MAX_COLUMNS");
_Static_assert(sizeof jb_power_columns / sizeof jb_power_columns[0] <= JB_MAX_COLUMNS,
    "power.csv has more columns than JB_MAX_COLUMNS");
