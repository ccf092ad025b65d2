/*
 * jb_records.h — the records of a results folder: one struct per CSV row type (runs.csv,
 * requests.csv) and the column tables that write them, read them back and document them
 * (docs/csv.md is generated from these tables: `joulebench columns --markdown`). A schema
 * change is made here and in schema.c, nowhere else.
 */
#ifndef JB_RECORDS_H
#define JB_RECORDS_H

#include <stdint.h>

#include "jb_csvio.h"

/* The version of the columns this build writes; folders of versions 1 to 3 are still read
 * (their missing columns empty; a row without a validity verdict counts as valid). */
#define JB_SCHEMA_VERSION 4
/* More columns than any table has (runs.csv has 106). */
#define JB_MAX_COLUMNS 128

/* One row of runs.csv: a configuration x repetition. Times in ms, rates per second. */
struct jb_run_record {
    int64_t schema_version;
    char run_id[40], config_id[24], timestamp_utc[32], host[64];
    char build_commit[24], cpu_info[128];
    char model[128], model_type[32];
    int64_t params, model_size;
    char weights[512];
    int64_t layers_run, layers_total, extrapolated; /* layer sampling (docs/large-models.md) */
    char extrapolation_method[128];
    char dtype[8], workload[128], scenario[16], kernels[16];
    int64_t batch, threads, rep, requests, prompt_tokens, gen_tokens, depth;
    double duration_s, busy_s;
    double ttft_ms_p50, ttft_ms_p90, ttft_ms_p99, tpot_ms_p50, tpot_ms_p90, tpot_ms_p99;
    double itl_ms_p50, itl_ms_p90, itl_ms_p99, e2e_ms_p50, e2e_ms_p90, e2e_ms_p99;
    double queue_ms_p50, queue_ms_p99;
    double prefill_s, decode_s;
    double prefill_tok_s, decode_tok_s, total_tok_s, req_s;
    double avg_ts, stddev_ts;
    double slo_ttft_ms, slo_tpot_ms, slo_met_share, goodput_req_s;
    double energy_j, energy_prefill_j, energy_decode_j, energy_idle_j;
    double j_per_prompt_token, j_per_output_token, j_per_token, j_per_query, avg_power_w;
    double energy_pkg_j, energy_cores_j, energy_dram_j, energy_psys_j, energy_gpu_j;
    double energy_cpu_j;
    double steady_j_per_output_token, steady_s;
    double idle_power_w, idle_power_sd_w, energy_net_j, net_j_per_token;
    char energy_source[48], energy_method[16], energy_domains[128], energy_low_confidence[64];
    char energy_uncertainty[96];
    int64_t energy_reads, energy_wraps;
    char energy_reason[800];
    double instructions, cycles, fp_ops, llc_misses, ipc, instructions_per_token;
    double prefill_instructions, decode_instructions;
    char counter_events[96], counters_reason[256];
    double gflop_per_token, weight_gb_per_token;
    double memory_used_bytes, memory_full_bytes;
    /* layer sampling: what the sampled run itself measured, before scaling (NAN when not) */
    double measured_wall_s, measured_prefill_s, measured_decode_s, measured_layers_s;
    double measured_energy_j, measured_layers_j;
    /* the validity verdict (jb_validity.h): 1, 0, or JB_I64_NONE in files written before it */
    int64_t valid;
    char validity_reasons[512]; /* ";"-joined "code:figure", "" when valid */
};

/* One row of requests.csv. Times relative to the repetition's start. */
struct jb_request_record {
    int64_t schema_version;
    char run_id[40], config_id[24];
    int64_t rep, request_id, prompt_tokens, output_tokens;
    double arrival_ms, start_ms, first_token_ms, end_ms;
    double queue_ms, ttft_ms, tpot_ms, e2e_ms, prefill_ms;
    int64_t slo_met; /* 1 or 0; empty without SLO */
};

/* One row of power.csv (written by the meter's sampler, read back by the report). */
struct jb_power_record {
    int64_t schema_version;
    char run_id[64]; /* the repetition, or idle:CONFIG_ID for an idle baseline */
    double t_s;      /* since the repetition (or baseline) started */
    char phase[16], domain[48];
    double watts;
    int64_t summed; /* 1 or 0; empty on total rows */
};

extern const struct jb_column jb_run_columns[];
extern const size_t jb_n_run_columns;
extern const struct jb_column jb_request_columns[];
extern const size_t jb_n_request_columns;
/* power.csv: written by the meter's sampler; this table documents it, checks its header and
 * reads it back. */
extern const struct jb_column jb_power_columns[];
extern const size_t jb_n_power_columns;

#endif
