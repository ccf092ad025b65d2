/*
 * cmd_bench_kernels.c — `joulebench bench-kernels`: how close the kernels run to this
 * machine's limits, measured in the same run:
 *   limits:  STREAM-like read bandwidth (the better of a prefetching sum and OpenBLAS sgemv
 *            over a 1 GiB array) and the OpenBLAS sgemm peak (square 2048 product);
 *   kernels: each matmul of a model's layer, GEMV (decode) and GEMM (prefill), per dtype,
 *            cycling through copies larger than the last-level cache so weights come from DRAM;
 *   prefill: widening bf16/q8_0/q4 weights for sgemm against the table's direct GEMM (gemm_q.c),
 *            per shape of a model's layer;
 *   model:   whole decode steps and prefills, against the targets in docs/engine.md.
 * Timings are the best of several repetitions; nothing here is asserted by tests.
 */
#include "jb_cli.h"
#include "jb_clock.h"
#include "jb_run.h"

#include <cblas.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct bench_opts {
    const char *model;
    int64_t threads, prefill_tokens, ctx, decode_tokens;
    uint64_t bw_bytes;
    int64_t sgemm_n;
    double min_seconds;
    bool quick, skip_kernels, prefill_paths_only;
    const char *kernels; /* --kernels: a table name, NULL for the best */
};

struct limits {
    double bw_gbs, peak_gflops;
};

/* Runs fn until at least min_reps runs and min_seconds have passed; returns the best time. */
static double best_of(void (*fn)(void *), void *ctx, int min_reps, double min_seconds)
{
    double best = 1e30, total = 0;
    for (int r = 0; r < min_reps || total < min_seconds; r++) {
        int64_t t0 = jb_now_ns();
        fn(ctx);
        double s = (double)(jb_now_ns() - t0) * 1e-9;
        total += s;
        if (s < best)
            best = s;
        if (r > 1000)
            break;
    }
    return best;
}

static void *big_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

/* ---- limits ------------------------------------------------------------------------------- */

struct read_ctx {
    const struct jb_kernel_ops *k;
    const float *a;
    int64_t n;
    volatile float sink;
};

static void read_all(void *p)
{
    struct read_ctx *c = p;
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int64_t chunk = (c->n + nt - 1) / nt, lo = id * chunk;
        const int64_t hi = lo + chunk < c->n ? lo + chunk : c->n;
        if (lo < hi)
            total += c->k->sum_f32(c->a + lo, hi - lo);
    }
    c->sink = total;
}

struct sgemm_ctx {
    const float *a, *b;
    float *c;
    int n;
};

static void sgemm_square(void *p)
{
    struct sgemm_ctx *s = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->n, s->n, s->n, 1.0f, s->a, s->n, s->b,
        s->n, 0.0f, s->c, s->n);
}

struct sgemv_ctx {
    const float *a, *x;
    float *y;
    int rows, cols;
};

static void sgemv_all(void *p)
{
    struct sgemv_ctx *c = p;
    cblas_sgemv(
        CblasRowMajor, CblasNoTrans, c->rows, c->cols, 1.0f, c->a, c->cols, c->x, 1, 0.0f, c->y, 1);
}

/* The best read rate of two methods over the same array: our prefetching sum, and OpenBLAS's
 * sgemv (what f32 decode runs on). */
static double measure_bandwidth(
    const struct bench_opts *o, const struct jb_kernel_ops *k, double *sum_gbs, double *sgemv_gbs)
{
    const int64_t n = (int64_t)(o->bw_bytes / sizeof(float)), cols = 4096;
    float *a = big_alloc(o->bw_bytes);
    float *xy = malloc((size_t)(cols + n / cols) * sizeof(float));
    if (!a || !xy) {
        if (a)
            munmap(a, o->bw_bytes);
        free(xy);
        return -1;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        a[i] = (float)(i & 1023) * 1e-3f;
    for (int64_t i = 0; i < cols; i++)
        xy[i] = 1.0f;
    struct read_ctx rc = { k, a, n, 0 };
    struct sgemv_ctx gc = { a, xy, xy + cols, (int)(n / cols), (int)cols };
    const int reps = o->quick ? 1 : 5;
    double s_sum = 1e30, s_gemv = 1e30;
    for (int r = 0; r < reps; r++) { /* interleaved, so drift on a shared host hits both */
        double s = best_of(read_all, &rc, 1, 0);
        s_sum = s < s_sum ? s : s_sum;
        s = best_of(sgemv_all, &gc, 1, 0);
        s_gemv = s < s_gemv ? s : s_gemv;
    }
    munmap(a, o->bw_bytes);
    free(xy);
    *sum_gbs = (double)o->bw_bytes / s_sum * 1e-9;
    *sgemv_gbs = (double)o->bw_bytes / s_gemv * 1e-9;
    return *sum_gbs > *sgemv_gbs ? *sum_gbs : *sgemv_gbs;
}

static int measure_limits(
    const struct bench_opts *o, const struct jb_kernel_ops *k, struct limits *lim)
{
    double sum_gbs, sgemv_gbs;
    lim->bw_gbs = measure_bandwidth(o, k, &sum_gbs, &sgemv_gbs);
    if (lim->bw_gbs < 0)
        return -1;
    const size_t nn = (size_t)o->sgemm_n * (size_t)o->sgemm_n;
    float *m = malloc(3 * nn * sizeof(float));
    if (!m)
        return -1;
    for (size_t i = 0; i < 2 * nn; i++)
        m[i] = (float)(i % 17) * 0.01f;
    struct sgemm_ctx sc = { m, m + nn, m + 2 * nn, (int)o->sgemm_n };
    double s = best_of(sgemm_square, &sc, o->quick ? 1 : 5, 0);
    lim->peak_gflops = 2.0 * (double)nn * (double)o->sgemm_n / s * 1e-9;
    free(m);
    printf("limits (measured now):\n");
    printf("  memory read bandwidth %8.1f GB/s      (best of a prefetching sum, %.1f, and "
           "cblas_sgemv, %.1f, over %.0f MiB)\n",
        lim->bw_gbs, sum_gbs, sgemv_gbs, (double)o->bw_bytes / 1048576.0);
    printf("  sgemm peak            %8.1f GFLOP/s  (cblas_sgemm %lld x %lld x %lld, best of %d)\n",
        lim->peak_gflops, (long long)o->sgemm_n, (long long)o->sgemm_n, (long long)o->sgemm_n,
        o->quick ? 1 : 5);
    return 0;
}

/* ---- kernels on a model's shapes -------------------------------------------------------- */

struct mm_ctx {
    const struct jb_kernel_ops *k;
    struct jb_tensor *copies;
    int n_copies, next;
    float *x, *y;
    int64_t n;
    void *scratch;
    size_t scratch_bytes;
    enum jb_matmul_path path;
};

static void mm_once(void *p)
{
    struct mm_ctx *c = p;
    jb_matmul(c->k, c->y, c->x, &c->copies[c->next], c->n, c->scratch, c->scratch_bytes, c->path);
    c->next = (c->next + 1) % c->n_copies;
}

/* Times one matmul shape in one dtype, GEMV with 1 row and GEMM with `rows` rows. */
static void bench_shape(const struct bench_opts *o, const struct jb_kernel_ops *k,
    const struct limits *lim, const char *what, enum jb_dtype t, int64_t out, int64_t in)
{
    const size_t bytes = (size_t)out * jb_dtype_row_bytes(t, in);
    const int n_copies = o->quick ? 1 : (int)((512u << 20) / bytes + 1);
    struct jb_tensor *copies = calloc((size_t)n_copies, sizeof *copies);
    char *mem = big_alloc(bytes * (size_t)n_copies);
    const int64_t rows = o->prefill_tokens;
    float *x = malloc((size_t)(rows * in + rows * out) * sizeof(float));
    const struct jb_tensor shape = { t, out, in, NULL };
    size_t sb = jb_matmul_scratch_bytes(&shape, rows, omp_get_max_threads());
    void *scratch = malloc(sb ? sb : 1);
    if (!copies || !mem || !x || !scratch)
        goto out;
    for (int64_t i = 0; i < rows * in; i++)
        x[i] = (float)((i * 7) % 13) * 0.05f - 0.3f;
    float *row = malloc((size_t)in * sizeof(float));
    for (int c = 0; c < n_copies; c++) {
        copies[c] = (struct jb_tensor) { t, out, in, mem + (size_t)c * bytes };
        for (int64_t r = 0; r < out && row; r++) {
            for (int64_t i = 0; i < in; i++)
                row[i] = (float)(((r + i * 3 + c) % 31) - 15) * 0.01f;
            jb_row_from_f32(
                t, (char *)copies[c].data + (size_t)r * jb_dtype_row_bytes(t, in), row, in);
        }
    }
    free(row);
    struct mm_ctx c = { k, copies, n_copies, 0, x, x + rows * in, 1, scratch, sb, JB_MATMUL_GEMV };
    double s_gemv = best_of(mm_once, &c, o->quick ? 1 : 3 * n_copies, o->min_seconds);
    c.n = rows;
    c.path = JB_MATMUL_GEMM;
    double s_gemm = best_of(mm_once, &c, o->quick ? 1 : n_copies, o->min_seconds);
    const double gemv_gbs = (double)bytes / s_gemv * 1e-9;
    const double gemm_gf = 2.0 * (double)rows * (double)out * (double)in / s_gemm * 1e-9;
    printf(
        "  %-9s %-5s %6lld x %-6lld %8.3f ms %7.1f GB/s %4.0f%% | %8.2f ms %7.1f GFLOP/s %4.0f%%\n",
        what, jb_dtype_name(t), (long long)out, (long long)in, s_gemv * 1e3, gemv_gbs,
        100.0 * gemv_gbs / lim->bw_gbs, s_gemm * 1e3, gemm_gf, 100.0 * gemm_gf / lim->peak_gflops);
out:
    free(copies);
    if (mem)
        munmap(mem, bytes * (size_t)n_copies);
    free(x);
    free(scratch);
}

static void bench_kernels(const struct bench_opts *o, const struct jb_kernel_ops *k,
    const struct limits *lim, const struct jb_config *c)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    printf("\nkernels on %s shapes (weights cycled through >= 512 MiB of copies):\n", c->name);
    printf("  %-9s %-5s %15s %11s %12s %4s | %11s %15s %4s\n", "matrix", "dtype", "out x in",
        "gemv n=1", "", "%bw", "", "gemm", "%pk");
    const struct {
        const char *what;
        int64_t out, in;
    } shapes[] = { { "qkv", q + 2 * kv, d }, { "o", d, q }, { "gate_up", 2 * f, d },
        { "down", d, f }, { "lm_head", c->vocab_size, d } };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < JB_DTYPE_COUNT; t++)
            bench_shape(o, k, lim, shapes[i].what, (enum jb_dtype)t, shapes[i].out, shapes[i].in);
    printf("  (gemm: %lld activation rows; %%bw of the read bandwidth, %%pk of the sgemm peak)\n",
        (long long)o->prefill_tokens);
}

/* ---- prefill paths ------------------------------------------------------------------------ */

struct pp_ctx {
    const struct jb_kernel_ops *k;
    const struct jb_tensor *w;
    const float *x;
    float *y;
    int64_t n;
    void *scratch;
    size_t scratch_bytes;
    enum jb_matmul_path path;
};

static void pp_once(void *p)
{
    struct pp_ctx *c = p;
    jb_matmul(c->k, c->y, c->x, c->w, c->n, c->scratch, c->scratch_bytes, c->path);
}

/* One shape in one dtype: widen + sgemm, then the direct GEMM where table k has one; the two
 * interleaved so drift on a shared host hits both. The weights stay in one copy (compute-bound:
 * each is read once per 32-row panel and reused by every activation row). */
static void bench_prefill_shape(const struct bench_opts *o, const struct jb_kernel_ops *k,
    const struct limits *lim, const char *what, enum jb_dtype t, int64_t out, int64_t in)
{
    const int64_t n = o->prefill_tokens;
    struct jb_tensor w = { t, out, in, malloc((size_t)out * jb_dtype_row_bytes(t, in)) };
    float *x = malloc((size_t)(n * in + n * out) * sizeof(float)), *row = malloc((size_t)in * 4);
    const size_t sb = jb_matmul_scratch_bytes(&w, n, omp_get_max_threads());
    void *scratch = malloc(sb ? sb : 1);
    if (w.data && x && row && scratch) {
        for (int64_t i = 0; i < n * in; i++)
            x[i] = (float)((i * 7) % 13) * 0.05f - 0.3f;
        for (int64_t r = 0; r < out; r++) {
            for (int64_t i = 0; i < in; i++)
                row[i] = (float)(((r + i * 3) % 31) - 15) * 0.01f;
            jb_row_from_f32(t, (char *)w.data + (size_t)r * jb_dtype_row_bytes(t, in), row, in);
        }
        const bool direct = jb_matmul_gemm_direct(k, &w, n, JB_MATMUL_GEMM_DIRECT);
        struct pp_ctx c = { k, &w, x, x + n * in, n, scratch, sb, JB_MATMUL_GEMM_WIDEN };
        double s_widen = 1e30, s_direct = 1e30;
        for (int rep = 0; rep < (o->quick ? 1 : 3); rep++) {
            c.path = JB_MATMUL_GEMM_WIDEN;
            const double s1 = best_of(pp_once, &c, 1, o->min_seconds / 3);
            s_widen = s1 < s_widen ? s1 : s_widen;
            if (!direct)
                continue;
            c.path = JB_MATMUL_GEMM_DIRECT;
            const double s2 = best_of(pp_once, &c, 1, o->min_seconds / 3);
            s_direct = s2 < s_direct ? s2 : s_direct;
        }
        const double flop = 2.0 * (double)n * (double)out * (double)in * 1e-9;
        printf("  %-9s %-5s %6lld x %-6lld | %8.2f ms %6.1f GF/s %4.0f%% |", what, jb_dtype_name(t),
            (long long)out, (long long)in, s_widen * 1e3, flop / s_widen,
            100.0 * flop / s_widen / lim->peak_gflops);
        if (direct)
            printf(" %8.2f ms %6.1f GF/s %4.0f%% | %5.2fx %s\n", s_direct * 1e3, flop / s_direct,
                100.0 * flop / s_direct / lim->peak_gflops, s_widen / s_direct,
                jb_matmul_gemm_direct(k, &w, n, JB_MATMUL_GEMM) ? "direct" : "widen");
        else
            printf(" %29s | %5s %s\n", "(no direct GEMM in this table)", "", "widen");
    }
    free(scratch);
    free(row);
    free(x);
    free(w.data);
}

static void bench_prefill_paths(const struct bench_opts *o, const struct jb_kernel_ops *k,
    const struct limits *lim, const struct jb_config *c)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    printf("\nprefill paths on %s shapes, %lld activation rows, kernels %s (%%pk: share of the "
           "sgemm peak):\n",
        c->name, (long long)o->prefill_tokens, k->name);
    printf("  %-9s %-5s %15s | %-29s | %-29s | %s\n", "matrix", "dtype", "out x in",
        "widen + sgemm", "direct", "speed-up, used");
    const struct {
        const char *what;
        int64_t out, in;
    } shapes[] = { { "qkv", q + 2 * kv, d }, { "o", d, q }, { "gate", f, d }, { "gate_up", 2 * f, d },
        { "down", d, f } };
    static const enum jb_dtype types[]
        = { JB_DTYPE_BF16, JB_DTYPE_Q8_0, JB_DTYPE_Q4_0, JB_DTYPE_Q4_K };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            bench_prefill_shape(o, k, lim, shapes[i].what, types[t], shapes[i].out, shapes[i].in);
}

/* ---- whole model ---------------------------------------------------------------------------- */

struct model_result {
    bool ok;
    double decode_s, decode_gbs, prefill_s, prefill_gflops;
};

static int bench_model(const struct bench_opts *o, const struct jb_kernel_ops *k,
    const struct limits *lim, enum jb_dtype t, struct model_result *r)
{
    struct jb_loaded L;
    struct jb_err err;
    const struct jb_load_opts lo
        = { o->model, t, 1, true, k, 1, o->ctx, o->prefill_tokens, NULL, 0 };
    memset(r, 0, sizeof *r);
    int rc = jb_load(&L, &lo, &err);
    if (rc) {
        printf("  %-5s skipped: %s\n", jb_dtype_name(t), err.msg);
        return 0;
    }
    int32_t *tokens = malloc((size_t)o->prefill_tokens * sizeof *tokens);
    float *logits = malloc((size_t)L.cfg.vocab_size * sizeof *logits);
    for (int64_t i = 0; i < o->prefill_tokens; i++)
        tokens[i] = (int32_t)((i * 7919) % L.cfg.vocab_size);

    /* prefill: best of a few fresh prefills of prefill_tokens */
    double best_pre = 1e30;
    for (int rep = 0; rep < (o->quick ? 1 : 3) && !rc; rep++) {
        jb_state_reset(&L.state, 0);
        int64_t t0 = jb_now_ns();
        rc = jb_prefill(&L.model, &L.state, 0, tokens, o->prefill_tokens, logits, &err);
        double s = (double)(jb_now_ns() - t0) * 1e-9;
        best_pre = s < best_pre ? s : best_pre;
    }
    /* decode: steps right after a short prompt, so weights (not attention) dominate */
    double best_dec = 1e30;
    jb_state_reset(&L.state, 0);
    if (!rc)
        rc = jb_prefill(&L.model, &L.state, 0, tokens, 8, logits, &err);
    int64_t seq = 0;
    for (int64_t i = 0; i < o->decode_tokens && !rc; i++) {
        int32_t tok = (int32_t)jb_argmax(logits, L.cfg.vocab_size);
        int64_t t0 = jb_now_ns();
        rc = jb_decode(&L.model, &L.state, &seq, &tok, 1, logits, &err);
        double s = (double)(jb_now_ns() - t0) * 1e-9;
        best_dec = s < best_dec ? s : best_dec;
    }
    if (rc) {
        printf("  %-5s failed: %s\n", jb_dtype_name(t), err.msg);
    } else {
        struct jb_forward_cost dc, pc;
        jb_forward_cost(&L.cfg, t, 1, 8 + o->decode_tokens / 2, 1, &dc);
        jb_forward_cost(&L.cfg, t, o->prefill_tokens, 0, 1, &pc);
        r->ok = true;
        r->decode_s = best_dec;
        r->decode_gbs = (dc.weight_bytes + dc.kv_bytes) / best_dec * 1e-9;
        r->prefill_s = best_pre;
        r->prefill_gflops = pc.flops / best_pre * 1e-9;
        printf("  %-5s decode %7.2f tok/s %7.1f GB/s %4.0f%% of bw | prefill %4lld tok %7.1f tok/s "
               "%7.1f GFLOP/s %4.0f%% of peak\n",
            jb_dtype_name(t), 1.0 / best_dec, r->decode_gbs, 100.0 * r->decode_gbs / lim->bw_gbs,
            (long long)o->prefill_tokens, (double)o->prefill_tokens / best_pre, r->prefill_gflops,
            100.0 * r->prefill_gflops / lim->peak_gflops);
    }
    free(tokens);
    free(logits);
    jb_unload(&L);
    return rc;
}

static void verdict(
    const char *what, double got, double target, const char *unit, const char *why_missed)
{
    printf("  %-44s %6.2f%s (target >= %.2f%s)  %s%s\n", what, got, unit, target, unit,
        got >= target ? "met" : "MISSED", got >= target ? "" : why_missed);
}

static void report_targets(const struct model_result *r, const struct limits *lim)
{
    const struct model_result *f32 = &r[JB_DTYPE_F32], *q8 = &r[JB_DTYPE_Q8_0];
    printf("\ntargets (docs/engine.md):\n");
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        char what[64];
        if (!r[t].ok)
            continue;
        if (t != JB_DTYPE_BF16) {
            snprintf(what, sizeof what, "decode %s, share of read bandwidth", jb_dtype_name(t));
            verdict(what, 100.0 * r[t].decode_gbs / lim->bw_gbs, 80, "%",
                " — see the kernel table for the matrix that falls short");
        }
        snprintf(what, sizeof what, "prefill %s, share of sgemm peak", jb_dtype_name(t));
        verdict(what, 100.0 * r[t].prefill_gflops / lim->peak_gflops, t == JB_DTYPE_BF16 ? 80 : 70,
            "%",
            t == JB_DTYPE_F32 ? " — attention and element-wise work are not GEMM"
                              : " — see the prefill paths: widening for sgemm, or no direct GEMM");
    }
    if (f32->ok && q8->ok)
        verdict("decode speed-up q8_0 over f32", f32->decode_s / q8->decode_s, 3, "x",
            " — q8_0 moves 3.76x fewer bytes; check its bandwidth share above");
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = { { "model", required_argument, NULL, 'm' },
        { "threads", required_argument, NULL, 't' }, { "prefill", required_argument, NULL, 'p' },
        { "decode", required_argument, NULL, 'n' }, { "quick", no_argument, NULL, 'q' },
        { "no-kernels", no_argument, NULL, 'K' }, { "help", no_argument, NULL, 'h' },
        { "kernels", required_argument, NULL, 'k' }, { "prefill-paths", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 't':
            if (jb_parse_i64("--threads", optarg, 1, 1024, &o->threads))
                return -1;
            break;
        case 'p':
            if (jb_parse_i64("--prefill", optarg, 2, 8192, &o->prefill_tokens))
                return -1;
            break;
        case 'n':
            if (jb_parse_i64("--decode", optarg, 1, 4096, &o->decode_tokens))
                return -1;
            break;
        case 'q':
            o->quick = true;
            o->bw_bytes = 64u << 20;
            o->sgemm_n = 256;
            o->min_seconds = 0;
            o->decode_tokens = 2;
            o->prefill_tokens = 32;
            if (!o->model)
                o->model = "tiny";
            break;
        case 'K': o->skip_kernels = true; break;
        case 'k': o->kernels = optarg; break;
        case 'P': o->prefill_paths_only = true; break;
        case 'h':
            printf("usage: joulebench bench-kernels [--model NAME] [--threads N] [--prefill N]\n"
                   "           [--decode N] [--no-kernels] [--quick] [--kernels auto|ref|avx2|avx512]\n"
                   "           [--prefill-paths]\n"
                   "Measures read bandwidth and sgemm peak, then the matmuls of NAME's layer and "
                   "its\nwhole decode (N steps) and prefill (N tokens) per dtype, with the shares "
                   "of those\nlimits. Default model Llama-3.2-1B; --quick is a seconds-long smoke "
                   "run on tiny.\n--prefill-paths: only the limits and the prefill paths (widen + "
                   "sgemm against the direct\nGEMM of the table) on NAME's shapes.\n");
            return JB_PARSE_HELP;
        default: return -1;
        }
    }
    if (optind < argc) {
        jb_errorf("bench-kernels: unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (!o->model)
        o->model = "Llama-3.2-1B";
    o->ctx = o->prefill_tokens + o->decode_tokens + 8;
    return 0;
}

int jb_cmd_bench_kernels(int argc, char **argv)
{
    struct bench_opts o = { .threads = jb_cpu_count(),
        .prefill_tokens = 256,
        .decode_tokens = 16,
        .bw_bytes = 1u << 30,
        .sgemm_n = 2048,
        .min_seconds = 0.3 };
    const int parsed = parse_args(argc, argv, &o);
    if (parsed)
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    jb_set_threads((int)o.threads);

    struct jb_sysinfo si;
    struct jb_config cfg;
    struct jb_err err;
    char dir[PATH_MAX];
    int rc = jb_model_config(jb_models_dir(), o.model, &cfg, dir, sizeof dir, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    const struct jb_kernel_ops *k = jb_kernels_best();
    if (o.kernels && jb_kernels_lookup(o.kernels, &k, &err)) {
        jb_errorf("option --kernels: %s", err.msg);
        return JB_EXIT_USAGE;
    }
    jb_sysinfo_read(&si);
    printf("machine: %s, %lld threads; OpenBLAS %s; joulebench kernels %s%s%s%s\n", si.cpu_model,
        (long long)o.threads, si.blas, k->name, k->features && k->features[0] ? " (" : "",
        k->features ? k->features : "", k->features && k->features[0] ? ")" : "");
    struct limits lim;
    if (measure_limits(&o, k, &lim)) {
        jb_errorf("bench-kernels: cannot allocate the bandwidth buffer");
        return JB_EXIT_FAIL;
    }
    if (o.prefill_paths_only) {
        bench_prefill_paths(&o, k, &lim, &cfg);
        return JB_EXIT_OK;
    }
    if (!o.skip_kernels) {
        bench_kernels(&o, k, &lim, &cfg);
        bench_prefill_paths(&o, k, &lim, &cfg);
    }

    struct model_result r[JB_DTYPE_COUNT];
    printf("\nmodel %s (%.2fB params), random weights, batch 1:\n", cfg.name,
        (double)jb_config_params(&cfg) * 1e-9);
    for (int t = 0; t < JB_DTYPE_COUNT && !rc; t++)
        rc = bench_model(&o, k, &lim, (enum jb_dtype)t, &r[t]);
    if (!rc)
        report_targets(r, &lim);
    return rc ? JB_EXIT_FAIL : JB_EXIT_OK;
}
