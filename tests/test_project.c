/*
 * test_project.c — the projection's arithmetic and its catalog reader: roofline times on
 * hand-computed cases, a whole configuration against the formulas written out again here (a
 * second implementation on the engine's byte counts), the memory check, the decode fit's
 * recovery of a known efficiency and per-layer overhead, and device files with a missing or
 * nonsensical field refused naming the file, line and field.
 */
#include "jb_test.h"

#include "jb_project.h"
#include "jb_run.h"

#define FIXTURES JB_SOURCE_DIR "/tests/fixtures/project"

/* ---- the roofline, hand-computed ---------------------------------------------------------- */

static void test_roofline_cases(void **state)
{
    (void)state;
    bool mem = false;
    /* 2 GB at 100 GB/s = 20 ms; 1 GFLOP at 1 TFLOP/s = 1 ms: memory bound, / 0.5 = 40 ms */
    ASSERT_CLOSE(jb_roofline_s(2e9, 1e9, 100, 1, 0.5, &mem), 0.040, 1e-15);
    assert_true(mem);
    /* 1 MB at 1000 GB/s = 1 us; 1 TFLOP at 100 TFLOP/s = 10 ms: compute bound, / 0.8 = 12.5 ms */
    ASSERT_CLOSE(jb_roofline_s(1e6, 1e12, 1000, 100, 0.8, &mem), 0.0125, 1e-15);
    assert_false(mem);
    /* no efficiency, no time */
    assert_true(isnan(jb_roofline_s(1e6, 1e6, 1, 1, 0, NULL)));
    assert_true(isnan(jb_roofline_s(1e6, 1e6, 0, 1, 0.5, NULL)));
    /* a decode step: 10 ms / 0.5 + 32 layers x 10 us = 20.32 ms */
    ASSERT_CLOSE(jb_decode_step_s(0.010, 0.5, 32, 10e-6), 0.02032, 1e-15);
    /* power: idle 10 W, TDP 110 W, 60% -> 70 W; utilisation clipped to [0, 1] */
    ASSERT_CLOSE(jb_phase_power_w(10, 110, 0.6), 70, 1e-12);
    ASSERT_CLOSE(jb_phase_power_w(10, 110, 1.5), 110, 1e-12);
    ASSERT_CLOSE(jb_phase_power_w(10, 110, -1), 10, 1e-12);
}

static void load_tiny(struct jb_config *c)
{
    char dir[PATH_MAX];
    struct jb_err err;
    if (jb_model_config(JB_SOURCE_DIR "/models", "tiny", c, dir, sizeof dir, &err))
        fail_msg("tiny: %s", err.msg);
}

/* q4_0 moves about 4.5/32 of f32's weight bytes (norms stay f32), the same KV cache and FLOPs;
 * q8_0, q4_0 and q4_k are the engine's. */
static void test_format_bytes(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_forward_cost f32, q4, q8, engine_q8;
    load_tiny(&c);
    jb_project_forward_cost(&c, JB_FORMAT_F32, 1, 10, &f32);
    jb_project_forward_cost(&c, JB_FORMAT_Q4_0, 1, 10, &q4);
    jb_project_forward_cost(&c, JB_FORMAT_Q8_0, 1, 10, &q8);
    jb_forward_cost(&c, JB_DTYPE_Q8_0, 1, 10, 1, &engine_q8);
    struct jb_forward_cost q4k, engine_q4, engine_q4k;
    jb_project_forward_cost(&c, JB_FORMAT_Q4_K, 1, 10, &q4k);
    jb_forward_cost(&c, JB_DTYPE_Q4_0, 1, 10, 1, &engine_q4);
    jb_forward_cost(&c, JB_DTYPE_Q4_K, 1, 10, 1, &engine_q4k);
    ASSERT_CLOSE(q4.weight_bytes, engine_q4.weight_bytes, 0);
    ASSERT_CLOSE(q4k.weight_bytes, engine_q4k.weight_bytes, 0);
    ASSERT_CLOSE(q4.weight_bytes, f32.weight_bytes * 4.5 / 32, 0.01 * f32.weight_bytes * 4.5 / 32);
    ASSERT_CLOSE(q4.kv_bytes, f32.kv_bytes, 0);
    ASSERT_CLOSE(q4.flops, f32.flops, 0);
    ASSERT_CLOSE(q8.weight_bytes, engine_q8.weight_bytes, 0);
    enum jb_format f;
    assert_int_equal(jb_format_parse("bf16", &f), 0);
    assert_int_equal(f, JB_FORMAT_F16);
    assert_int_equal(jb_format_parse("q4_k", &f), 0);
    assert_int_equal(f, JB_FORMAT_Q4_K);
    assert_int_equal(jb_format_parse("q4_K", &f), JB_EINVAL);
}

/* ---- one configuration against the formulas, written out again ----------------------------- */

static struct jb_hw test_device(void)
{
    struct jb_hw hw;
    struct jb_err err;
    if (jb_hw_load(FIXTURES "/good.ini", &hw, &err))
        fail_msg("%s", err.msg);
    return hw;
}

/* A cost profile with round numbers: 0.10/kWh, PUE 1.5, 100 g/kWh, utilisation 0.5, 4 years. */
static struct jb_cost_profile test_profile(void)
{
    struct jb_cost_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "test");
    snprintf(p.currency, sizeof p.currency, "USD");
    p.price_per_kwh = 0.10;
    p.pue = 1.5;
    p.grid_g_per_kwh = 100;
    p.utilisation = 0.5;
    p.lifetime_years = 4;
    p.purchase_price = p.cloud_price_per_hour = NAN;
    return p;
}

static void test_project_formulas(void **state)
{
    (void)state;
    struct jb_hw hw = test_device(); /* 50 GB/s, 0.2 TFLOP/s, idle 2 W, TDP 10 W, 1000 USD */
    struct jb_config c;
    load_tiny(&c);
    struct jb_efficiency e;
    jb_efficiency_defaults(&e);
    e.eff[JB_BACKEND_CPU][JB_FORMAT_Q8_0][JB_PROJ_PREFILL] = 0.4;
    e.eff[JB_BACKEND_CPU][JB_FORMAT_Q8_0][JB_PROJ_DECODE] = 0.8;
    e.layer_overhead_s[JB_BACKEND_CPU] = 5e-6;
    e.util[JB_BACKEND_CPU][JB_PROJ_PREFILL] = 1.0;
    e.util[JB_BACKEND_CPU][JB_PROJ_DECODE] = 0.5;
    const struct jb_cost_profile prof = test_profile();
    const struct jb_project_opts o = { &e, &prof, "purchase" };
    /* two requests: 20 prompt + 4 output, 30 prompt + 3 output, 5 tokens already cached */
    const struct jb_project_request reqs[2] = { { 20, 4, 5 }, { 30, 3, 5 } };
    struct jb_projection p;
    struct jb_err err;
    assert_int_equal(
        jb_project_one(&hw, &c, JB_FORMAT_Q8_0, "w", "single-stream", reqs, 2, &o, &p, &err), 0);

    /* the same, by hand on the engine's counts */
    double pre[2], dec[2];
    int64_t dec_tok = 0;
    for (int i = 0; i < 2; i++) {
        struct jb_forward_cost fc;
        jb_forward_cost(&c, JB_DTYPE_Q8_0, reqs[i].prompt_tokens, reqs[i].depth, 1, &fc);
        const double t_mem = (fc.weight_bytes + fc.kv_bytes) / 50e9, t_flop = fc.flops / 0.2e12;
        pre[i] = (t_mem > t_flop ? t_mem : t_flop) / 0.4;
        dec[i] = 0;
        for (int64_t k = 0; k < reqs[i].output_tokens - 1; k++) {
            jb_forward_cost(
                &c, JB_DTYPE_Q8_0, 1, reqs[i].depth + reqs[i].prompt_tokens + k, 1, &fc);
            const double m = (fc.weight_bytes + fc.kv_bytes) / 50e9, fl = fc.flops / 0.2e12;
            dec[i] += (m > fl ? m : fl) / 0.8 + (double)c.n_layers * 5e-6;
            dec_tok++;
        }
    }
    const double t_pre = pre[0] + pre[1], t_dec = dec[0] + dec[1], dur = t_pre + t_dec;
    ASSERT_CLOSE(p.prefill_tok_s, 50.0 / t_pre, 1e-9 * p.prefill_tok_s);
    ASSERT_CLOSE(p.decode_tok_s, (double)dec_tok / t_dec, 1e-9 * p.decode_tok_s);
    ASSERT_CLOSE(p.ttft_ms_p50, 1e3 * (pre[0] + pre[1]) / 2, 1e-9); /* median of two */
    const double e0 = pre[0] + dec[0], e1 = pre[1] + dec[1];
    const double lo = e0 < e1 ? e0 : e1, hi = e0 < e1 ? e1 : e0;
    ASSERT_CLOSE(p.e2e_ms_p90, 1e3 * (lo + 0.9 * (hi - lo)), 1e-9 * p.e2e_ms_p90);
    const double j = 10 * t_pre + (2 + 0.5 * 8) * t_dec; /* prefill at TDP, decode at 6 W */
    ASSERT_CLOSE(p.energy_j, j, 1e-12);
    ASSERT_CLOSE(p.j_per_token, j / 57, 1e-12);
    ASSERT_CLOSE(p.j_per_output_token, j / 7, 1e-12);
    /* cost: 1000 USD over 4 years at 50% = 1000 / (4 * 8760 * 0.5) per busy hour */
    const double hw_hour = 1000.0 / (4 * 8760 * 0.5);
    const double per_q = (j / 2) * 1.5 / 3.6e6 * 0.10 + hw_hour * (dur / 2) / 3600;
    ASSERT_CLOSE(p.hardware_per_busy_hour, hw_hour, 1e-12);
    ASSERT_CLOSE(p.cost_per_query, per_q, 1e-15);
    ASSERT_CLOSE(p.cost_per_1m_output_tokens, per_q * 1e6 / 3.5, 1e-9);
    assert_string_equal(p.method, "projected");
    assert_string_equal(p.energy_method, "projected");
    assert_string_equal(p.fits, "yes");
    assert_string_equal(p.price_kind, "purchase");
    /* the cloud price when asked: energy is in the hourly rate */
    const struct jb_project_opts oc = { &e, &prof, "cloud" };
    assert_int_equal(
        jb_project_one(&hw, &c, JB_FORMAT_Q8_0, "w", "single-stream", reqs, 2, &oc, &p, &err), 0);
    ASSERT_CLOSE(p.hardware_per_busy_hour, 0.1 / 0.5, 1e-12);
    ASSERT_CLOSE(p.energy_cost_per_query, 0, 0);
}

/* A model larger than the device: marked, with a smaller format that fits or a device count. */
static void test_fit(void **state)
{
    (void)state;
    struct jb_hw hw = test_device();
    struct jb_config c;
    char dir[PATH_MAX];
    struct jb_err err;
    assert_int_equal(
        jb_model_config(JB_SOURCE_DIR "/models", "Llama-3-8B", &c, dir, sizeof dir, &err), 0);
    struct jb_efficiency e;
    jb_efficiency_defaults(&e);
    const struct jb_cost_profile prof = test_profile();
    const struct jb_project_opts o = { &e, &prof, "auto" };
    const struct jb_project_request r = { 100, 2, 0 };
    struct jb_projection p;
    /* 8B in f32 is ~30 GiB of weights on a 16 GiB device: the note names a smaller format,
     * and that format fits */
    assert_int_equal(
        jb_project_one(&hw, &c, JB_FORMAT_F32, "w", "single-stream", &r, 1, &o, &p, &err), 0);
    assert_string_equal(p.fits, "no");
    ASSERT_LE(16, p.memory_needed_gib);
    const char *fmt = strstr(p.fit_note, "; ");
    assert_non_null(fmt);
    assert_non_null(strstr(fmt, " would fit"));
    char name[16];
    snprintf(name, sizeof name, "%.*s", (int)(strstr(fmt, " would fit") - fmt - 2), fmt + 2);
    enum jb_format smaller;
    assert_int_equal(jb_format_parse(name, &smaller), 0);
    assert_int_equal(
        jb_project_one(&hw, &c, smaller, "w", "single-stream", &r, 1, &o, &p, &err), 0);
    assert_string_equal(p.fits, "yes");
    ASSERT_LE(p.memory_needed_gib, 16);
}

/* ---- the decode fit recovers a known efficiency and overhead ------------------------------- */

static void test_decode_fit(void **state)
{
    (void)state;
    struct jb_published rows[5];
    memset(rows, 0, sizeof rows);
    const double roof[5] = { 100, 200, 400, 800, 300 }, layers[5] = { 32, 32, 32, 32, 80 };
    for (int i = 0; i < 5; i++) {
        rows[i].backend = JB_BACKEND_CUDA;
        rows[i].fmt = JB_FORMAT_Q4_0;
        rows[i].cfg.n_layers = (int64_t)layers[i];
        rows[i].roof_tg_tok_s = roof[i];
        rows[i].roof_pp_tok_s = 1000;
        rows[i].pp512_tok_s = 500;
        /* measured = 1 / (roofline time / 0.75 + layers x 20 us) */
        rows[i].tg128_tok_s = 1 / (1 / roof[i] / 0.75 + layers[i] * 20e-6);
    }
    struct jb_efficiency e;
    jb_efficiency_defaults(&e);
    jb_efficiency_from_published(&e, rows, 5, SIZE_MAX, "t.csv");
    ASSERT_CLOSE(e.eff[JB_BACKEND_CUDA][JB_FORMAT_Q4_0][JB_PROJ_DECODE], 0.75, 1e-9);
    ASSERT_CLOSE(e.eff[JB_BACKEND_CUDA][JB_FORMAT_F16][JB_PROJ_DECODE], 0.75, 1e-9);
    ASSERT_CLOSE(e.layer_overhead_s[JB_BACKEND_CUDA], 20e-6, 1e-12);
    ASSERT_CLOSE(e.eff[JB_BACKEND_CUDA][JB_FORMAT_Q4_0][JB_PROJ_PREFILL], 0.5, 1e-12);
    /* backends without rows keep their defaults, labelled as assumptions */
    ASSERT_CLOSE(e.eff[JB_BACKEND_METAL][JB_FORMAT_Q4_0][JB_PROJ_DECODE], 0.5, 0);
    assert_non_null(strstr(e.from[JB_BACKEND_METAL][JB_FORMAT_Q4_0][JB_PROJ_DECODE], "ASSUMPTION"));
    /* two rows make no fit: the median ratio, no overhead */
    jb_efficiency_defaults(&e);
    jb_efficiency_from_published(&e, rows, 2, SIZE_MAX, "t.csv");
    ASSERT_CLOSE(e.layer_overhead_s[JB_BACKEND_CUDA], 0, 0);
    const double r0 = rows[0].tg128_tok_s / roof[0], r1 = rows[1].tg128_tok_s / roof[1];
    ASSERT_CLOSE(e.eff[JB_BACKEND_CUDA][JB_FORMAT_Q4_0][JB_PROJ_DECODE], (r0 + r1) / 2, 1e-12);
}

/* ---- the catalog reader ------------------------------------------------------------------- */

static void test_catalog_good(void **state)
{
    (void)state;
    struct jb_hw hw = test_device();
    assert_string_equal(hw.name, "good");
    assert_int_equal(hw.backend, JB_BACKEND_CPU);
    ASSERT_CLOSE(hw.bandwidth_gbs, 50, 0);
    assert_true(isnan(hw.int8_tops));
    const char *kind;
    ASSERT_CLOSE(jb_hw_bandwidth(&hw, &kind), 50, 0);
    assert_string_equal(kind, "peak");
    ASSERT_CLOSE(jb_hw_peak_tflops(&hw, JB_FORMAT_Q8_0, &kind), 0.2, 0);
    assert_string_equal(kind, "f32");
}

static const struct bad_case {
    const char *file, *want[3];
    int code;
} bad_cases[] = {
    { "missing-bandwidth.ini", { "missing-bandwidth.ini: [memory] bandwidth_gbs is missing", NULL },
        JB_EPARSE },
    { "zero-bandwidth.ini", { "zero-bandwidth.ini:10:", "bandwidth_gbs", "got \"0\"" }, JB_ERANGE },
    { "negative-price.ini", { "negative-price.ini:21:", "purchase_usd", "got \"-5\"" }, JB_ERANGE },
    { "unknown-backend.ini", { "unknown-backend.ini:4:", "backend", "\"tpu\"" }, JB_EPARSE },
};

static void test_catalog_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char path[PATH_MAX];
        struct jb_hw hw;
        struct jb_err err = { 0 };
        snprintf(path, sizeof path, "%s/%s", FIXTURES, bad_cases[i].file);
        const int rc = jb_hw_load(path, &hw, &err);
        if (rc != bad_cases[i].code)
            fail_msg(
                "%s: rc %d, expected %d (%s)", bad_cases[i].file, rc, bad_cases[i].code, err.msg);
        for (int k = 0; k < 3 && bad_cases[i].want[k]; k++)
            if (!strstr(err.msg, bad_cases[i].want[k]))
                fail_msg(
                    "%s: \"%s\" lacks \"%s\"", bad_cases[i].file, err.msg, bad_cases[i].want[k]);
    }
    struct jb_hw hw;
    struct jb_err err;
    assert_int_equal(jb_hw_load("no-such-device", &hw, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "hardware/README.md"));
}

/* Every device of the catalog loads. */
static void test_catalog_all(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls %s/hardware/*.ini", JB_SOURCE_DIR);
    FILE *ls = popen(cmd, "r");
    assert_non_null(ls);
    char line[PATH_MAX];
    int n = 0;
    while (fgets(line, sizeof line, ls)) {
        line[strcspn(line, "\n")] = '\0';
        struct jb_hw hw;
        struct jb_err err;
        if (jb_hw_load(line, &hw, &err))
            fail_msg("%s", err.msg);
        n++;
    }
    pclose(ls);
    ASSERT_LE(21, n); /* at least 20 devices and this-machine */
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roofline_cases),
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_project_formulas),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_decode_fit),
        cmocka_unit_test(test_catalog_good),
        cmocka_unit_test(test_catalog_bad),
        cmocka_unit_test(test_catalog_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
