/*
 * jb_project.h — projection onto hardware this machine is not: a catalog of devices
 * (hardware/NAME.ini, every number with its source), a per-phase roofline over the engine's own
 * byte and FLOP counts (jb_forward_cost) divided by efficiencies that come from measurements
 * (this machine's results for the CPU, published llama.cpp measurements for the others), a
 * power model per phase and the cost model of jb_cost.h. Every figure made here is projected,
 * never measured: rows carry method=projected. docs/projection.md explains every formula.
 */
#ifndef JB_PROJECT_H
#define JB_PROJECT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "jb_cost.h"
#include "jb_csvio.h"
#include "jb_error.h"
#include "jb_model.h"

/* ==== formats and backends ==================================================================== */

/* Weight formats a projection knows: the engine's storage types (q4_0 and q4_k in llama.cpp's
 * block layouts, 4.5 bits a weight: 18 bytes a block of 32, 144 a super-block of 256), which
 * published measurements also use. f16 and bf16 move the same bytes and are one format. */
enum jb_format {
    JB_FORMAT_F32,
    JB_FORMAT_F16,
    JB_FORMAT_Q8_0,
    JB_FORMAT_Q4_0,
    JB_FORMAT_Q4_K,
    JB_FORMAT_COUNT
};

/* "f32", "f16" (also "bf16"), "q8_0", "q4_0", "q4_k" -> *out; JB_EINVAL otherwise. */
int jb_format_parse(const char *s, enum jb_format *out);
const char *jb_format_name(enum jb_format f);
/* Bits a weight takes in the format: 32, 16, 8.5, 4.5, 4.5. */
double jb_format_bits(enum jb_format f);

enum jb_backend { JB_BACKEND_CPU, JB_BACKEND_CUDA, JB_BACKEND_METAL, JB_BACKEND_COUNT };

/* "cpu", "cuda", "metal" -> *out; JB_EINVAL otherwise. */
int jb_backend_parse(const char *s, enum jb_backend *out);
const char *jb_backend_name(enum jb_backend b);

/* ==== the hardware catalog (hardware.c) ======================================================= */

enum jb_hw_key {
    JB_HW_KEY_DESCRIPTION,
    JB_HW_KEY_BACKEND,
    JB_HW_KEY_CORES,
    JB_HW_KEY_THREADS,
    JB_HW_KEY_CAPACITY_GB,
    JB_HW_KEY_BANDWIDTH_GBS,
    JB_HW_KEY_MEASURED_BANDWIDTH_GBS,
    JB_HW_KEY_F32_TFLOPS,
    JB_HW_KEY_F16_TFLOPS,
    JB_HW_KEY_INT8_TOPS,
    JB_HW_KEY_TDP_W,
    JB_HW_KEY_IDLE_W,
    JB_HW_KEY_PURCHASE_USD,
    JB_HW_KEY_CLOUD_USD_PER_HOUR,
    JB_HW_KEY_COUNT
};

/* One device as its file describes it. Optional numbers are NAN when the file leaves them out.
 * Caller-owned, no pointers inside. */
struct jb_hw {
    char path[PATH_MAX];
    char name[64]; /* the file's stem: hardware/h100-sxm.ini is "h100-sxm" */
    char description[160];
    enum jb_backend backend;
    double cores, threads;         /* threads NAN when not given */
    double capacity_gb;            /* memory the device can hold weights in, GiB */
    double bandwidth_gbs;          /* peak memory bandwidth, GB/s (1e9 bytes) */
    double measured_bandwidth_gbs; /* a published or measured read bandwidth; NAN if none */
    double f32_tflops, f16_tflops; /* dense peak; f16 stands for f16/bf16 */
    double int8_tops;              /* dense peak; NAN when the device has no faster int8 path */
    double tdp_w, idle_w;          /* power at full load and at idle, W */
    double purchase_usd;           /* NAN when not sold */
    double cloud_usd_per_hour;     /* NAN when not rented */
    int line[JB_HW_KEY_COUNT];     /* where the file sets each key; 0 = not set */
};

/* The folder device NAMEs resolve in: $JOULEBENCH_HARDWARE_DIR, else the source tree's hardware/. */
const char *jb_hw_dir(void);
/* Name of a key as written in a file ("bandwidth_gbs"), and its section ("memory"). */
const char *jb_hw_key_name(enum jb_hw_key k);
const char *jb_hw_key_section(enum jb_hw_key k);

/* Reads a device: NAME (NAME.ini in jb_hw_dir()) or a path (anything with a '/' or ending in
 * .ini). Strict: an unknown section or key, a number that is not finite or out of its range
 * (zero or negative bandwidth, capacity, peak or power; a negative price; idle above TDP), an
 * unknown backend, a missing required key or no price at all is refused with one line naming
 * FILE:LINE and the key (a missing key: FILE, [section] key). JB_ENOENT when there is no such
 * device, JB_EPARSE / JB_ERANGE for bad values. */
int jb_hw_load(const char *name_or_path, struct jb_hw *out, struct jb_err *err);

/* Bandwidth the roofline divides by, GB/s: the measured one when the file gives it, else the
 * peak. *kind (may be NULL) gets "measured" or "peak". */
double jb_hw_bandwidth(const struct jb_hw *h, const char **kind);
/* Dense peak FLOP/s (TFLOPS) a format's matrix products run at on the device: f32 at the f32
 * peak; on cpu f16 and q8_0 at the f32 peak (the engine widens weights to f32 for sgemm) and
 * q4_0/q4_k at the int8 peak (llama.cpp's integer dot products) when given; on
 * cuda f16 at the f16 peak and q8_0/q4_0/q4_k at the int8 peak (llama.cpp's MMQ) when given, else
 * f16; on metal every other format at the f16 peak. *which (may be NULL) names the peak. */
double jb_hw_peak_tflops(const struct jb_hw *h, enum jb_format f, const char **which);

/* ==== the roofline (roofline.c) ================================================================ */

/* Bytes and FLOPs of one forward call in a format: jb_forward_cost with the engine's storage
 * type (f16 as bf16). KV bytes are the engine's (f32). */
void jb_project_forward_cost(const struct jb_config *c, enum jb_format f, int64_t n_tokens,
    int64_t pos0, struct jb_forward_cost *out);

/* A decode step: the roofline time over the efficiency plus a fixed time per decoder layer. */
double jb_decode_step_s(double roof_s, double eff, double n_layers, double layer_overhead_s);

/* The roofline time of work moving `bytes` and doing `flops` on a device of bw_gbs and
 * peak_tflops: max(bytes / bw, flops / peak) / eff, in seconds. *memory_bound (may be NULL)
 * says which term is the larger. eff in (0, 1]; NAN for eff <= 0 or a bad input. */
double jb_roofline_s(
    double bytes, double flops, double bw_gbs, double peak_tflops, double eff, bool *memory_bound);

/* Power in a phase: idle + util * (tdp - idle), util clipped to [0, 1]. */
double jb_phase_power_w(double idle_w, double tdp_w, double util);

/* ==== efficiencies (calibrate.c) =============================================================== */

enum jb_proj_phase { JB_PROJ_PREFILL, JB_PROJ_DECODE, JB_PROJ_PHASES };

/* What a projection divides the roofline by, per backend, format and phase, and the power
 * utilisation per backend and phase, each with where it came from. */
struct jb_efficiency {
    double eff[JB_BACKEND_COUNT][JB_FORMAT_COUNT][JB_PROJ_PHASES];
    char from[JB_BACKEND_COUNT][JB_FORMAT_COUNT][JB_PROJ_PHASES][96];
    /* a decode step's fixed time per decoder layer (kernel launches, synchronisation, work
     * that is neither bytes nor FLOPs), fitted with the decode efficiency; 0 when not fitted */
    double layer_overhead_s[JB_BACKEND_COUNT];
    char overhead_from[JB_BACKEND_COUNT][96];
    double util[JB_BACKEND_COUNT][JB_PROJ_PHASES];
    char util_from[JB_BACKEND_COUNT][JB_PROJ_PHASES][96];
};

/* Defaults with no measurement: efficiency 0.5 and utilisation 1 (prefill) / 0.6 (decode),
 * every one labelled "ASSUMPTION". */
void jb_efficiency_defaults(struct jb_efficiency *e);

/* One published measurement (data/published-bench/): llama-bench pp512 and tg128 of a model
 * in a format on a catalog device. */
struct jb_published {
    char device[64], model[128], format[16], source_url[512];
    enum jb_backend backend;
    enum jb_format fmt;
    double pp512_tok_s, tg128_tok_s;     /* NAN when the row gives only one */
    struct jb_hw hw;                     /* the device, loaded */
    struct jb_config cfg;                /* the model, loaded */
    double roof_pp_tok_s, roof_tg_tok_s; /* the roofline with efficiency 1 */
};

/* Reads a table of published measurements (columns device, backend, model, format,
 * pp512_tok_s, tg128_tok_s, source_url; others ignored) and loads each row's device and model
 * (models under models_dir). Every row needs a source_url. Errors name FILE, record and column.
 * *rows (caller frees) gets n rows. */
int jb_published_read(const char *path, const char *models_dir, struct jb_published **rows,
    size_t *n, struct jb_err *err);

/* Efficiencies from the published rows, skipping row `skip` (SIZE_MAX: none). Prefill: the
 * median of measured / roofline tok/s per backend and format; a format without rows takes the
 * median of the backend's formats that divide by the same peak, or keeps its default. Decode:
 * per backend, a least-squares fit (GSL) of measured time per token = roofline time / eff +
 * layers x overhead when at least 3 rows make a physical fit (eff <= 1, overhead >= 0), which
 * sets every format's decode efficiency and the backend's layer_overhead_s; else the medians.
 * Writes only what the rows cover. */
void jb_efficiency_from_published(struct jb_efficiency *e, const struct jb_published *rows,
    size_t n, size_t skip, const char *path);

/* One configuration of a results folder, summarised for calibration. */
struct jb_measured {
    char model[128], dtype[16], workload[128];
    enum jb_format fmt;
    struct jb_config cfg;
    double requests, prompt_tokens, gen_tokens, depth;
    double prefill_s, decode_s, decode_tokens; /* decode_tokens = decode_tok_s * decode_s */
    double prefill_tok_s, decode_tok_s, ttft_ms_p50, tpot_ms_p50;
    double energy_prefill_j, energy_decode_j, j_per_token; /* NAN when not measured */
    double roof_prefill_s, roof_decode_s; /* roofline times with efficiency 1 on the device */
};

/* Reads a results folder (runs.csv) and summarises each configuration (medians over
 * repetitions) against device hw: roofline times of its prefills and decode steps. Models are
 * looked up under models_dir by the name runs.csv gives. *out (caller frees) gets n. */
int jb_measured_read(const char *dir, const char *models_dir, const struct jb_hw *hw,
    struct jb_measured **out, size_t *n, struct jb_err *err);

/* Sets the cpu backend's efficiencies (median per format of measured / roofline, a format
 * without configurations taking the median over all; prompts under 16 tokens do not count for
 * prefill), clears its per-layer overhead, and sets its utilisations (from each phase's energy,
 * idle and TDP of hw) from configurations m[0..n), skipping m[skip] (SIZE_MAX: none). */
void jb_efficiency_from_measured(struct jb_efficiency *e, const struct jb_measured *m, size_t n,
    size_t skip, const struct jb_hw *hw, const char *dir);

/* ==== projecting one configuration (roofline.c) =============================================== */

/* What a projection needs beyond the device and the model. */
struct jb_project_opts {
    const struct jb_efficiency *eff;
    const struct jb_cost_profile *profile; /* electricity, PUE, grid, utilisation, lifetime */
    const char *price;                     /* "auto", "purchase" or "cloud" */
};

/* One projected row: every input beside every output (projection.csv). */
struct jb_projection {
    char method[16]; /* "projected" */
    char device[64], device_file[PATH_MAX], backend[8], host[64];
    char model[128];
    int64_t params;
    char dtype[8], workload[128], scenario[16], scenario_projected[48];
    int64_t batch, threads, requests, prompt_tokens, gen_tokens, depth;
    double bandwidth_gbs; /* what the roofline divided by */
    char bandwidth_kind[12];
    double peak_tflops;
    char peak_kind[8];
    double eff_prefill, eff_decode, layer_overhead_us;
    char eff_prefill_from[96], eff_decode_from[96], overhead_from[96];
    double util_prefill, util_decode, tdp_w, idle_w;
    double weight_gb_per_token, kv_gb_per_token,
        gflop_per_token; /* decode at mean depth; prefill */
    double memory_needed_gib, memory_gib;
    char fits[4], fit_note[160];
    char prefill_bound[8], decode_bound[8];
    double ttft_ms_p50, ttft_ms_p90, tpot_ms_p50, tpot_ms_p90, e2e_ms_p50, e2e_ms_p90;
    double prefill_tok_s, decode_tok_s, total_tok_s, req_s, duration_s;
    double prefill_power_w, decode_power_w, avg_power_w;
    double energy_prefill_j, energy_decode_j, energy_j;
    double j_per_query, j_per_token, j_per_output_token;
    char energy_method[16]; /* "projected" */
    char profile[64], currency[8], price_kind[12];
    double hardware_per_busy_hour, energy_cost_per_query, hardware_cost_per_query;
    double cost_per_query, cost_per_1k_queries, cost_per_1m_output_tokens, g_co2e_per_query;
};

extern const struct jb_column jb_projection_columns[];
extern const size_t jb_n_projection_columns;

/* One request's shape: prompt and output tokens and tokens already cached. Its prefill gives
 * the first output token, each further one is a decode step (a pp request has one output token,
 * a tg request a one-token prompt, as the runner runs them). */
struct jb_project_request {
    int64_t prompt_tokens, output_tokens, depth;
};

/* Projects model c in format f on device hw over the requests (one at a time: batch 1) into
 * out (every field, method "projected"). workload and scenario name them in the row. Returns 0,
 * or JB_EINVAL naming what is missing (the price o->price asks for). */
int jb_project_one(const struct jb_hw *hw, const struct jb_config *c, enum jb_format f,
    const char *workload, const char *scenario, const struct jb_project_request *reqs,
    size_t n_reqs, const struct jb_project_opts *o, struct jb_projection *out, struct jb_err *err);

/* ==== validation (calibrate.c) ================================================================= */

/* Leave-one-out over published rows: each row projected with the efficiencies of the other
 * rows, beside the plain bound (efficiency 1); prints per backend the median and 90th
 * percentile absolute error of decode (tg128) and prefill (pp512) tok/s, and the rows, as
 * Markdown on f. */
void jb_validate_published(FILE *f, const struct jb_published *rows, size_t n);

/* Leave-one-out over this machine's configurations against device hw: each configuration's
 * decode and prefill tok/s, TPOT, TTFT and J/token projected from the efficiencies fitted on the
 * others; prints the per-metric errors and rows as Markdown on f. Returns the largest absolute
 * relative error of decode tok/s (NAN with fewer than two configurations). */
double jb_validate_measured(FILE *f, const struct jb_measured *m, size_t n, const struct jb_hw *hw);

/* ==== output (output.c) ======================================================================== */

/* Writes projection.csv (every row), projection.md (method, table, pictures) and the picture
 * data into out_dir (created if needed), and draws the pictures with gnuplot (prog NULL:
 * $JOULEBENCH_GNUPLOT or gnuplot; scripts_dir NULL: $JOULEBENCH_SCRIPTS_DIR or the source
 * tree's scripts/report). log gets one line per file. Returns 0 or JB_EIO naming the file. */
int jb_projection_write(const char *out_dir, const struct jb_projection *rows, size_t n,
    const struct jb_efficiency *e, const char *command, const char *gnuplot,
    const char *scripts_dir, FILE *log, struct jb_err *err);

/* v printed with fmt into buf (len bytes), or "-" when v is not finite; returns buf. A table
 * cell. */
const char *jb_project_num(char *buf, size_t len, const char *fmt, double v);

/* The terminal table of rows on f, headed so that nobody takes it for a measurement. */
void jb_projection_print(FILE *f, const struct jb_projection *rows, size_t n);

#endif
