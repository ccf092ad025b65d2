/*
 * test_config.c — Hugging Face config.json parsing: every shipped model parses and its exact
 * parameter count equals the count published for it (models/published_params.tsv); bad
 * configs give one error naming the field; memory plans and FLOP counts agree with the
 * tensors a built model actually holds.
 */
#include "jb_test.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <omp.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jb_cli.h"
#include "jb_run.h"
#include "jb_model.h"

static int parse(const char *json, struct jb_config *c, struct jb_err *err)
{
    return jb_config_parse(json, strlen(json), "test.json", c, err);
}

#define BASE                                                                                       \
    "\"hidden_size\": 64, \"intermediate_size\": 96, \"num_hidden_layers\": 2, "                   \
    "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 100"

static void test_valid_defaults(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    assert_int_equal(parse("{" BASE "}", &c, &err), 0);
    assert_int_equal(c.head_dim, 16);
    assert_int_equal(c.n_kv_heads, 2);
    assert_int_equal(c.max_position_embeddings, 2048); /* LlamaConfig default */
    ASSERT_CLOSE(c.rope_theta, 10000.0, 0);
    ASSERT_CLOSE(c.norm_eps, 1e-6f, 0);
    assert_false(c.tie_word_embeddings); /* LlamaConfig default */
    assert_int_equal(c.act, JB_ACT_SILU);
    assert_string_equal(c.model_type, "llama");
    assert_false(c.qkv_bias);

    assert_int_equal(parse("{" BASE ", \"model_type\": \"qwen2\"}", &c, &err), 0);
    assert_true(c.qkv_bias);
    assert_false(c.o_bias);
    assert_int_equal(
        parse("{" BASE ", \"model_type\": \"gemma\", \"hidden_act\": \"gelu\"}", &c, &err), 0);
    assert_true(c.tie_word_embeddings);        /* GemmaConfig default */
    assert_int_equal(c.act, JB_ACT_GELU_TANH); /* hidden_activation unset: gelu_pytorch_tanh */
    assert_true(c.norm_plus_one && c.embed_scale_sqrt_dim);
    assert_int_equal(parse("{" BASE ", \"hidden_act\": \"gelu\"}", &c, &err), 0);
    assert_int_equal(c.act, JB_ACT_GELU);
    assert_int_equal(parse("{" BASE ", \"head_dim\": 10}", &c, &err), 0);
    assert_int_equal(c.head_dim, 10);
}

/* A bad config: BASE with one field set to `value` (raw JSON; NULL removes the field), the
 * code expected and a piece of the message (which names the field). */
static const struct {
    const char *field, *value;
    int code;
    const char *needle;
} bad_fields[] = {
    { "hidden_size", NULL, JB_EPARSE, "\"hidden_size\": missing" },
    { "num_attention_heads", "0", JB_EPARSE,
        "\"num_attention_heads\": expected an integer in [1, 65536], got 0" },
    { "num_hidden_layers", "1e9", JB_EPARSE,
        "\"num_hidden_layers\": expected an integer in [1, 16384], got 1000000000" },
    { "hidden_size", "-64", JB_EPARSE, "\"hidden_size\": expected an integer in [1, 1048576], got -64" },
    { "intermediate_size", "96.5", JB_EPARSE, "\"intermediate_size\"" },
    { "vocab_size", "\"100\"", JB_EPARSE, "\"vocab_size\": expected an integer in [1, 16777216], got \"100\"" },
    { "hidden_size", "66", JB_EPARSE,
        "\"hidden_size\": 66 is not divisible by num_attention_heads (4)" },
    { "num_key_value_heads", "3", JB_EPARSE, "\"num_key_value_heads\": must divide" },
    { "head_dim", "7", JB_EPARSE, "\"head_dim\": rotary embedding needs an even" },
    { "torch_dtype", "\"float8\"", JB_EPARSE, "\"torch_dtype\": expected one of" },
    { "hidden_act", "\"relu\"", JB_EPARSE, "\"hidden_act\"" },
    { "model_type", "\"mamba\"", JB_EPARSE, "\"model_type\"" },
    { "tie_word_embeddings", "\"yes\"", JB_EPARSE,
        "\"tie_word_embeddings\": expected true or false" },
    { "rope_theta", "0", JB_EPARSE, "\"rope_theta\": expected a positive number" },
    { "rms_norm_eps", "-1e-5", JB_EPARSE, "\"rms_norm_eps\"" },
    { "max_position_embeddings", "0", JB_EPARSE, "\"max_position_embeddings\"" },
    { "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4}", JB_ENOTSUP,
        "\"rope_scaling.rope_type\": \"yarn\" is not supported" },
    { "rope_scaling",
        "{\"rope_type\": \"llama3\", \"factor\": 8, \"high_freq_factor\": 4, "
        "\"original_max_position_embeddings\": 8192}",
        JB_EPARSE, "\"rope_scaling.low_freq_factor\": missing" },
    { "rope_scaling", "3", JB_EPARSE, "\"rope_scaling\": expected an object" },
};

static char *config_with(const char *field, const char *value)
{
    cJSON *root = cJSON_Parse("{" BASE "}");
    cJSON_DeleteItemFromObjectCaseSensitive(root, field);
    if (value)
        cJSON_AddItemToObject(root, field, cJSON_Parse(value));
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

static void expect_error(const char *json, int code, const char *needle, size_t i)
{
    struct jb_config c;
    struct jb_err err = { 0 };
    int rc = parse(json, &c, &err);
    if (rc != code || !strstr(err.msg, needle) || !strstr(err.msg, "test.json"))
        fail_msg("case %zu: got %d \"%s\", expected %d with \"%s\"", i, rc, err.msg, code, needle);
}

static void test_bad_configs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
        char *json = config_with(bad_fields[i].field, bad_fields[i].value);
        expect_error(json, bad_fields[i].code, bad_fields[i].needle, i);
        free(json);
    }
    expect_error("[1, 2]", JB_EPARSE, "expected a JSON object", 100);
    expect_error("{\n  \"hidden_size\": 64,\n  \"vocab_size\": 100,,\n}", JB_EPARSE,
        "test.json:3: not valid JSON", 101);
    expect_error("", JB_EPARSE, "not valid JSON", 102);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    char dir[4096];
    assert_int_equal(jb_config_load("/nonexistent/config.json", "x", &c, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/config.json"));
    assert_int_equal(
        jb_model_config(jb_models_dir(), "no-such-model", &c, dir, sizeof dir, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "unknown model \"no-such-model\""));
}

/* Every shipped model: config parses; exact count equals the published one where we have it. */
static void test_ladder_matches_published_counts(void **state)
{
    (void)state;
    FILE *f = fopen(JB_SOURCE_DIR "/models/published_params.tsv", "r");
    char line[1024];
    int checked = 0;
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char name[128];
        long long published;
        struct jb_config c;
        struct jb_err err = { 0 };
        char dir[4096];
        if (sscanf(line, "%127[^\t]\t%lld", name, &published) != 2)
            continue;
        if (jb_model_config(jb_models_dir(), name, &c, dir, sizeof dir, &err) != 0)
            fail_msg("%s: %s", name, err.msg);
        if (jb_config_params(&c) != published)
            fail_msg("%s: %lld parameters counted, %lld published", name,
                (long long)jb_config_params(&c), published);
        checked++;
    }
    fclose(f);
    assert_true(checked >= 13);

    struct jb_model_list list;
    struct jb_err err = { 0 };
    assert_int_equal(jb_models_list(jb_models_dir(), &list, &err), 0);
    assert_true(list.count >= 14);
    assert_int_equal(list.n_skipped, 0);
    assert_string_equal(list.names[0], "tiny"); /* sorted by size */
    assert_string_equal(list.names[list.count - 1], "Llama-3.1-405B");
    jb_models_list_free(&list);
    jb_models_list_free(&list); /* a freed list may be freed again */
}

/* A models folder with a broken config.json: the list keeps the good folders and hands back
 * the broken one with the reason (the engine prints nothing); folders without a config.json
 * are not models at all. */
static void test_list_reports_skipped(void **state)
{
    char tmp[4096], path[4200];
    struct jb_model_list list;
    struct jb_err err = { 0 };
    (void)state;
    assert_non_null(jb_test_mkdtemp(tmp, sizeof tmp));
    const char *dirs[] = { "small", "large", "broken", "empty" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    jb_test_write(tmp, "small/config.json", "{" BASE "}");
    jb_test_write(tmp, "large/config.json",
        "{\"hidden_size\": 64, \"intermediate_size\": 96, \"num_hidden_layers\": 8, "
        "\"num_attention_heads\": 4, \"vocab_size\": 100}");
    jb_test_write(tmp, "broken/config.json", "{\"hidden_size\": 64,");

    assert_int_equal(jb_models_list(tmp, &list, &err), 0);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.names[0], "small");
    assert_string_equal(list.names[1], "large");
    assert_int_equal(list.n_skipped, 1);
    assert_string_equal(list.skipped[0].name, "broken");
    snprintf(path, sizeof path, "%s/broken/config.json", tmp);
    assert_non_null(strstr(list.skipped[0].msg, path));
    assert_non_null(strstr(list.skipped[0].msg, "not valid JSON"));
    jb_models_list_free(&list);

    /* NAMEs resolve under the folder given, whatever $JOULEBENCH_MODELS_DIR says */
    struct jb_config c;
    char dir[4096];
    assert_int_equal(jb_model_config(tmp, "large", &c, dir, sizeof dir, &err), 0);
    assert_int_equal(c.n_layers, 8);
    assert_string_equal(c.name, "large");
    assert_int_equal(jb_model_config(tmp, "broken", &c, dir, sizeof dir, &err), JB_EPARSE);
    assert_int_equal(jb_model_config(tmp, "tiny", &c, dir, sizeof dir, &err), JB_ENOENT);

    snprintf(path, sizeof path, "%s/missing", tmp);
    assert_int_equal(jb_models_list(path, &list, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "cannot open the models folder"));
    assert_int_equal(list.count, 0);
    jb_models_list_free(&list);
    jb_test_rmdir(tmp);
}

/* The memory plan's weight bytes are the model's actual arena, and the FLOP count of a decode
 * step is 2 x (multiply-adds of every matrix the step touches) + attention. */
static void test_plan_and_cost_match_model(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    char dir[4096];
    assert_int_equal(jb_model_config(jb_models_dir(), "tiny", &c, dir, sizeof dir, &err), 0);
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        struct jb_model m;
        struct jb_model_opts o = { .dtype = (enum jb_dtype)t, .seed = 3, .random_weights = true };
        struct jb_mem_plan plan;
        assert_int_equal(jb_model_init(&m, &c, dir, &o, &err), 0);
        jb_mem_plan(&c, (enum jb_dtype)t, 2, 64, 8, 2, &plan);
        assert_int_equal(plan.weight_bytes, m.arena_bytes);
        /* KV cache: layers x seqs x 2 (k, v) x kv heads x positions x head_dim floats */
        assert_int_equal(plan.kv_bytes, 4ull * 2 * 2 * 2 * 64 * 32 * 4);

        double macs = 0, bytes = 0;
        for (int64_t l = 0; l < c.n_layers; l++) {
            const struct jb_tensor *ts[] = { &m.layers[l].wqkv, &m.layers[l].wo,
                &m.layers[l].w_gate_up, &m.layers[l].w_down };
            for (int i = 0; i < 4; i++) {
                macs += (double)ts[i]->rows * (double)ts[i]->cols;
                bytes += (double)ts[i]->rows * (double)jb_dtype_row_bytes(m.dtype, ts[i]->cols);
            }
        }
        macs += (double)m.lm_head.rows * (double)m.lm_head.cols;
        bytes += (double)m.lm_head.rows * (double)jb_dtype_row_bytes(m.dtype, m.lm_head.cols);
        const int64_t pos = 9; /* attends to 10 keys */
        const double attn = (double)c.n_layers * c.n_heads * 4.0 * c.head_dim * (pos + 1);
        struct jb_forward_cost cost;
        jb_forward_cost(&c, (enum jb_dtype)t, 1, pos, 1, &cost);
        ASSERT_CLOSE(cost.flops, 2 * macs + attn, 0.5);
        ASSERT_LE(bytes, cost.weight_bytes); /* plus norms and one embedding row */
        ASSERT_CLOSE(cost.weight_bytes, bytes, 0.02 * bytes);
        jb_model_free(&m);
    }
}

/* The memory check refuses before allocating, naming both figures (the engine's facts) and a
 * way out (the harness's words, under $JOULEBENCH_MEM_LIMIT). */
static void test_memory_refusal(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    char dir[4096];
    struct jb_mem_plan plan;
    assert_int_equal(jb_model_config(jb_models_dir(), "Llama-3-8B", &c, dir, sizeof dir, &err), 0);
    setenv("JOULEBENCH_MEM_LIMIT", "20G", 1);
    jb_mem_plan(&c, JB_DTYPE_F32, 1, 4096, 512, 2, &plan);
    assert_int_equal(jb_fit_check(&c, JB_DTYPE_F32, &plan, &err), JB_ETOOBIG);
    assert_non_null(strstr(err.msg, "Llama-3-8B in f32 needs "));
    assert_non_null(
        strstr(err.msg, "(weights 29.9 GiB + KV cache 1.00 GiB for 1 sequence(s) x 4096"));
    assert_non_null(strstr(err.msg, "only 20.0 GiB is available; try --dtype bf16 (weights "));
    jb_mem_plan(&c, JB_DTYPE_Q8_0, 1, 4096, 512, 2, &plan);
    assert_int_equal(jb_fit_check(&c, JB_DTYPE_Q8_0, &plan, &err), 0);

    /* weights fit, a long context for many sequences does not: the way out is the context */
    jb_mem_plan(&c, JB_DTYPE_Q8_0, 64, 8192, 512, 2, &plan);
    assert_int_equal(jb_fit_check(&c, JB_DTYPE_Q8_0, &plan, &err), JB_ETOOBIG);
    assert_non_null(strstr(err.msg,
        "only 20.0 GiB is available; try a shorter context or fewer sequences (the KV cache "
        "takes 16.0 MiB per position)"));
    unsetenv("JOULEBENCH_MEM_LIMIT");

    /* the engine checks against the figure it is given, and returns facts, not advice */
    const uint64_t gib20 = 20ull << 30;
    struct jb_mem_fit fit;
    jb_mem_plan(&c, JB_DTYPE_F32, 1, 4096, 512, 2, &plan);
    assert_int_equal(jb_mem_check(&c, JB_DTYPE_F32, &plan, gib20, &fit, &err), JB_ETOOBIG);
    assert_non_null(strstr(err.msg, "only 20.0 GiB is available"));
    assert_null(strstr(err.msg, "try"));
    assert_int_equal(fit.available_bytes, gib20);
    assert_false(fit.fits_as[JB_DTYPE_F32]);
    assert_true(fit.fits_as[JB_DTYPE_BF16] && fit.fits_as[JB_DTYPE_Q8_0]);
    assert_int_equal(fit.weight_bytes[JB_DTYPE_F32], plan.weight_bytes);
    ASSERT_CLOSE(fit.kv_bytes_per_pos, (double)plan.kv_bytes / 4096, 0);
    assert_int_equal(jb_mem_check(&c, JB_DTYPE_F32, &plan, 0, &fit, &err), 0); /* unknown */
    assert_int_equal(jb_mem_check(&c, JB_DTYPE_F32, &plan, 64ull << 30, NULL, &err), 0);

    /* the model itself refuses before allocating anything, under the limit it is given */
    struct jb_model m;
    struct jb_model_opts o = { .dtype = JB_DTYPE_F32, .seed = 1, .random_weights = true };
    o.mem_limit_bytes = gib20;
    assert_int_equal(jb_model_init(&m, &c, dir, &o, &err), JB_ETOOBIG);
    assert_null(m.arena);
    assert_non_null(strstr(err.msg, "Llama-3-8B in f32 needs 29.9 GiB"));
}

/* JOULEBENCH_MEM_LIMIT's sizes: bytes, or K/M/G/T (powers of 1024, either case); anything else
 * is an error, never a silent 0. */
static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
        uint64_t bytes;
    } cases[] = {
        { "1048576", 0, 1048576 },
        { "512M", 0, 512ull << 20 },
        { "8G", 0, 8ull << 30 },
        { "8g", 0, 8ull << 30 },
        { "1.5k", 0, 1536 },
        { "0.5K", 0, 512 },
        { "2T", 0, 2ull << 40 },
        { "0", 0, 0 },
        { "16777215T", 0, 16777215ull << 40 },
        { "18446744073709551614", 0, 18446744073709551614ull },
        { "x", JB_EINVAL, 0 },
        { "", JB_EINVAL, 0 },
        { "abc", JB_EINVAL, 0 },
        { "-1G", JB_EINVAL, 0 },
        { "-5G", JB_EINVAL, 0 },
        { "0.5", JB_EINVAL, 0 }, /* half a byte */
        { "1e400", JB_EINVAL, 0 },
        { "1e3", JB_EINVAL, 0 },
        { "+8G", JB_EINVAL, 0 },
        { "8 G", JB_EINVAL, 0 },
        { "8G ", JB_EINVAL, 0 },
        { " 8G", JB_EINVAL, 0 },
        { "8GB", JB_EINVAL, 0 },
        { "8P", JB_EINVAL, 0 },
        { "0x10", JB_EINVAL, 0 },
        { "inf", JB_EINVAL, 0 },
        { "nan", JB_EINVAL, 0 },
        { "1.", JB_EINVAL, 0 },
        { ".5G", JB_EINVAL, 0 },
        { "16777216T", JB_ERANGE, 0 }, /* 2^64 */
        { "99999999999999999999", JB_ERANGE, 0 },
        { "99999999999999999999999999999G", JB_ERANGE, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t bytes = 7;
        int rc = jb_parse_size(cases[i].s, &bytes);
        if (rc != cases[i].rc || bytes != cases[i].bytes)
            fail_msg("\"%s\": %d with %llu bytes, expected %d with %llu", cases[i].s, rc,
                (unsigned long long)bytes, cases[i].rc, (unsigned long long)cases[i].bytes);
    }
}

/* The variable: unset or empty is no limit; a value that is not a size above 0 is an input
 * error naming the variable, the value and the form (exit 2), for jb_load and jb_fit_check. */
static void test_mem_limit_env(void **state)
{
    (void)state;
    uint64_t bytes;
    struct jb_err err = { 0 };
    setenv("JOULEBENCH_MEM_LIMIT", "300M", 1);
    assert_int_equal(jb_mem_limit(&bytes, &err), 0);
    assert_int_equal(bytes, 300ull << 20);
    setenv("JOULEBENCH_MEM_LIMIT", "", 1);
    assert_int_equal(jb_mem_limit(&bytes, &err), 0);
    assert_int_equal(bytes, 0);
    unsetenv("JOULEBENCH_MEM_LIMIT");
    assert_int_equal(jb_mem_limit(&bytes, &err), 0);
    assert_int_equal(bytes, 0);

    static const struct {
        const char *value;
        int rc;
        const char *why;
    } bad[] = {
        { "abc", JB_EINVAL, "is not a memory size" },
        { "-5G", JB_EINVAL, "is not a memory size" },
        { "0.5", JB_EINVAL, "is not a memory size" },
        { "1e400", JB_EINVAL, "is not a memory size" },
        { "0", JB_EINVAL, "is not a memory size" },
        { "99999999T", JB_ERANGE, "is too large" },
    };
    struct jb_config c;
    char dir[4096];
    assert_int_equal(jb_model_config(jb_models_dir(), "tiny", &c, dir, sizeof dir, &err), 0);
    struct jb_mem_plan plan;
    jb_mem_plan(&c, JB_DTYPE_F32, 1, 64, 8, 1, &plan);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "JOULEBENCH_MEM_LIMIT: \"%s\" %s", bad[i].value, bad[i].why);
        setenv("JOULEBENCH_MEM_LIMIT", bad[i].value, 1);
        bytes = 7;
        int rc = jb_mem_limit(&bytes, &err);
        if (rc != bad[i].rc || bytes != 0 || !strstr(err.msg, want)
            || !strstr(err.msg, "K, M, G or T suffix") || jb_exit_code(rc) != JB_EXIT_USAGE)
            fail_msg("\"%s\": %d (%llu bytes) \"%s\"", bad[i].value, rc, (unsigned long long)bytes,
                err.msg);
        /* callers refuse it rather than run without a limit */
        assert_int_equal(jb_fit_check(&c, JB_DTYPE_F32, &plan, &err), bad[i].rc);
        assert_non_null(strstr(err.msg, want));
        struct jb_loaded L;
        const struct jb_load_opts lo = { .model = "tiny",
            .dtype = JB_DTYPE_F32,
            .n_seqs = 1,
            .ctx = 64,
            .batch_tokens = 8,
            .random_weights = true };
        assert_int_equal(jb_load(&L, &lo, &err), bad[i].rc);
        assert_non_null(strstr(err.msg, want));
    }
    unsetenv("JOULEBENCH_MEM_LIMIT");
}

/* Byte counts are shown in the unit that shows them: neither "0.0 GiB" for a kilobyte nor a
 * wrapped figure for too much. */
static void test_fmt_bytes(void **state)
{
    (void)state;
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        { 0, "0 B" },
        { 1023, "1023 B" },
        { 1024, "1.00 KiB" },
        { 1536, "1.50 KiB" },
        { 10ull << 20, "10.0 MiB" },
        { 16ull << 20, "16.0 MiB" },
        { 512ull << 20, "512 MiB" },
        { 32104296448ull, "29.9 GiB" },
        { 1ull << 40, "1.00 TiB" },
        { 1ull << 56, "64.0 PiB" },
        { UINT64_MAX - 1, "16.0 EiB" },
        { JB_BYTES_OVERFLOW, "over 16 EiB" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[JB_FMT_BYTES_LEN];
        assert_string_equal(jb_fmt_bytes(cases[i].bytes, buf, sizeof buf), cases[i].text);
    }

    /* a 1 KiB limit names both figures in units that show them */
    struct jb_config c;
    struct jb_err err = { 0 };
    char dir[4096];
    assert_int_equal(jb_model_config(jb_models_dir(), "tiny", &c, dir, sizeof dir, &err), 0);
    setenv("JOULEBENCH_MEM_LIMIT", "1K", 1);
    struct jb_loaded L;
    const struct jb_load_opts lo = { .model = "tiny",
        .dtype = JB_DTYPE_Q8_0,
        .n_seqs = 1,
        .ctx = 64,
        .batch_tokens = 8,
        .random_weights = true };
    assert_int_equal(jb_load(&L, &lo, &err), JB_ETOOBIG);
    unsetenv("JOULEBENCH_MEM_LIMIT");
    char want[160], size[JB_FMT_BYTES_LEN];
    struct jb_mem_plan plan;
    jb_mem_plan(&c, JB_DTYPE_Q8_0, 1, 64, 8, omp_get_max_threads(), &plan);
    snprintf(want, sizeof want, "tiny in q8_0 needs %s (weights ",
        jb_fmt_bytes(plan.total_bytes, size, sizeof size));
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "MiB"));
    assert_non_null(strstr(err.msg, "but only 1.00 KiB is available"));
    assert_null(strstr(err.msg, "0.0 GiB"));
    assert_null(strstr(err.msg, " 0 B"));
}

/* ---- sizes that would overflow 64 bits ----------------------------------------------------- */

/* A config with the given shape (raw JSON numbers). */
static char *shape_json(long long d, long long f, long long layers, long long heads, long long kv,
    long long hd, long long vocab, long long max_pos)
{
    char *json = malloc(512);
    snprintf(json, 512,
        "{\"hidden_size\": %lld, \"intermediate_size\": %lld, \"num_hidden_layers\": %lld, "
        "\"num_attention_heads\": %lld, \"num_key_value_heads\": %lld, \"head_dim\": %lld, "
        "\"vocab_size\": %lld, \"max_position_embeddings\": %lld}",
        d, f, layers, heads, kv, hd, vocab, max_pos);
    return json;
}

/* Every field within its range, together past 64 PiB of weights (some past 2^64, where the
 * sum used to wrap to a small figure): refused at parse, an input error naming the fields. */
static void test_overflowing_configs_refused(void **state)
{
    (void)state;
    static const struct {
        long long d, f, layers, heads, kv, hd, vocab;
        const char *size; /* the figure named, in f32 */
    } cases[] = {
        { 1 << 20, 1 << 22, 1 << 14, 1 << 16, 1 << 16, 1 << 16, 1 << 24, "over 16 EiB" },
        /* 2^64 + 12 MiB in f32: the unchecked sum wrapped to 12 MiB, which "fitted" */
        { 1 << 20, 2, 1 << 14, 55830, 1, 2404, 1, "over 16 EiB" },
        { 1 << 20, 1 << 22, 1 << 12, 1 << 14, 1 << 14, 1 << 8, 1 << 24, "448 PiB" },
        { 1 << 20, 1 << 22, 600, 1 << 14, 1 << 14, 1 << 8, 1 << 24, "65.8 PiB" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = shape_json(cases[i].d, cases[i].f, cases[i].layers, cases[i].heads,
            cases[i].kv, cases[i].hd, cases[i].vocab, 4096);
        struct jb_config c;
        struct jb_err err = { 0 };
        int rc = parse(json, &c, &err);
        char want[64];
        snprintf(want, sizeof want, "the weights would take %s in f32", cases[i].size);
        if (rc != JB_ERANGE || jb_exit_code(rc) != JB_EXIT_USAGE || !strstr(err.msg, "test.json: ")
            || !strstr(err.msg, "\"hidden_size\" (1048576)")
            || !strstr(err.msg, "\"num_hidden_layers\"") || !strstr(err.msg, "\"head_dim\"")
            || !strstr(err.msg, "\"num_attention_heads\"") || !strstr(err.msg, "\"vocab_size\"")
            || !strstr(err.msg, want) || !strstr(err.msg, "more than the 64 PiB"))
            fail_msg("case %zu: %d \"%s\", expected JB_ERANGE with \"%s\"", i, rc, err.msg, want);
        free(json);
    }
}

/* The f32 bytes of a shape without biases, counted in 128 bits: every tensor, the norms and
 * the RoPE frequencies (each a multiple of 64 bytes for the shapes used here). */
static unsigned __int128 ref_f32_bytes(const struct jb_config *c, unsigned __int128 *params)
{
    const unsigned __int128 d = (uint64_t)c->hidden_size, f = (uint64_t)c->intermediate_size;
    const unsigned __int128 q = (unsigned __int128)(uint64_t)c->n_heads * (uint64_t)c->head_dim;
    const unsigned __int128 kv = (unsigned __int128)(uint64_t)c->n_kv_heads * (uint64_t)c->head_dim;
    const unsigned __int128 layer = 2 * d + (q + 2 * kv) * d + q * d + 3 * f * d;
    *params = (uint64_t)c->vocab_size * d * (c->tie_word_embeddings ? 1 : 2)
        + (uint64_t)c->n_layers * layer + d;
    return 4 * *params + 4 * (uint64_t)(c->head_dim / 2);
}

/* Just under the limit: accepted, and every figure is the exact one (no wrap anywhere), from
 * the parameter count to the plan's total; a KV cache of many long sequences past 2^64 is
 * refused as an input error naming the sequences and positions, not planned as a small one. */
static void test_config_near_limit_sizes(void **state)
{
    (void)state;
    char *json = shape_json(1 << 20, 1 << 22, 512, 1 << 14, 1 << 14, 1 << 8, 1 << 24, 1 << 26);
    struct jb_config c;
    struct jb_err err = { 0 };
    if (parse(json, &c, &err) != 0)
        fail_msg("%s", err.msg);
    free(json);
    snprintf(c.name, sizeof c.name, "huge");

    unsigned __int128 params;
    const unsigned __int128 f32 = ref_f32_bytes(&c, &params);
    assert_true(f32 <= JB_MODEL_MAX_BYTES);
    assert_true(f32 > JB_MODEL_MAX_BYTES / 8 * 7); /* near the limit indeed */
    assert_true(params == (unsigned __int128)jb_config_params(&c));

    struct jb_mem_plan plan;
    jb_mem_plan(&c, JB_DTYPE_F32, 1, 4096, 512, 2, &plan);
    assert_true(plan.weight_bytes == f32);
    const unsigned __int128 kv = (unsigned __int128)2 * 512 * (1 << 14) * 4096 * 256 * 4;
    assert_true(plan.kv_bytes == kv);
    assert_true(plan.act_bytes > 0 && plan.act_bytes < (1ull << 40));
    assert_true((unsigned __int128)plan.total_bytes
        == (unsigned __int128)plan.weight_bytes + plan.kv_bytes + plan.act_bytes);
    /* every storage type is smaller than f32 for these widths, and exact too */
    jb_mem_plan(&c, JB_DTYPE_BF16, 1, 4096, 512, 2, &plan);
    const unsigned __int128 norms = (unsigned __int128)4 * (2 * 512 + 1) * (1 << 20);
    const unsigned __int128 rope = 4 * 128;
    assert_true(plan.weight_bytes == (f32 - norms - rope) / 2 + norms + rope);
    jb_mem_plan(&c, JB_DTYPE_Q8_0, 1, 4096, 512, 2, &plan);
    assert_true(plan.weight_bytes == (f32 - norms - rope) / 4 / 32 * 34 + norms + rope);

    /* refused for memory with figures that show the size */
    jb_mem_plan(&c, JB_DTYPE_F32, 1, 4096, 512, 2, &plan);
    assert_int_equal(jb_mem_check(&c, JB_DTYPE_F32, &plan, 64ull << 30, NULL, &err), JB_ETOOBIG);
    assert_non_null(strstr(err.msg, "huge in f32 needs 56."));
    assert_non_null(strstr(err.msg, "PiB (weights 56."));
    assert_non_null(strstr(err.msg, "only 64.0 GiB is available"));

    /* 65536 sequences x 2^26 positions: 2^76 bytes of KV cache */
    struct jb_mem_fit fit;
    jb_mem_plan(&c, JB_DTYPE_Q8_0, 65536, 1 << 26, 65536, 2, &plan);
    assert_true(plan.kv_bytes == JB_BYTES_OVERFLOW);
    assert_true(plan.total_bytes == JB_BYTES_OVERFLOW);
    int rc = jb_mem_check(&c, JB_DTYPE_Q8_0, &plan, 0, &fit, &err); /* even with no known limit */
    assert_int_equal(rc, JB_ERANGE);
    assert_int_equal(jb_exit_code(rc), JB_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "huge in q8_0: 65536 sequence(s) x 67108864 positions"));
    assert_non_null(strstr(err.msg, "KV cache over 16 EiB"));
    for (int t = 0; t < JB_DTYPE_COUNT; t++)
        assert_false(fit.fits_as[t]);
    assert_int_equal(jb_fit_check(&c, JB_DTYPE_Q8_0, &plan, &err), JB_ERANGE);
    assert_non_null(strstr(err.msg, "65536 sequence(s) x 67108864 positions"));

    /* a plan its caller trimmed by hand (weights already allocated) is not wrapped either */
    plan.weight_bytes = 0;
    plan.total_bytes = plan.kv_bytes + plan.act_bytes; /* wraps: the check recomputes it */
    assert_int_equal(jb_mem_check(&c, JB_DTYPE_Q8_0, &plan, 1ull << 30, NULL, &err), JB_ERANGE);
}

/* A config built by hand past the limit (never one jb_config_parse returns) is refused by the
 * model before it maps anything, and its parameter count does not wrap. */
static void test_hand_made_overflow_refused(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    assert_int_equal(parse("{" BASE "}", &c, &err), 0);
    snprintf(c.name, sizeof c.name, "hand");
    c.hidden_size = 1 << 20;
    c.intermediate_size = 1 << 22;
    c.n_layers = 1 << 14;
    c.n_heads = c.n_kv_heads = c.head_dim = 1 << 16;
    c.vocab_size = 1 << 24;
    assert_int_equal(jb_config_params(&c), INT64_MAX);
    struct jb_model m;
    struct jb_model_opts o = { .dtype = JB_DTYPE_F32, .seed = 1, .random_weights = true };
    assert_int_equal(jb_model_init(&m, &c, NULL, &o, &err), JB_ERANGE);
    assert_null(m.arena);
    assert_non_null(strstr(err.msg, "hand in f32: the weights are too large to count"));
}

/* ---- the config file itself ------------------------------------------------------------------ */

/* One JSON object and nothing after it; a key given twice is refused (Hugging Face keeps the
 * last value where cJSON would give the first), at every level read. */
static void test_trailing_text_and_duplicate_keys(void **state)
{
    (void)state;
    struct jb_config c;
    struct jb_err err = { 0 };
    assert_int_equal(parse("{" BASE "}\n \t\r\n", &c, &err), 0); /* whitespace is fine */
    expect_error(
        "{" BASE "} x", JB_EPARSE, "test.json:1: unexpected text after the JSON object", 0);
    expect_error("{" BASE "}\n{}", JB_EPARSE, "test.json:2: unexpected text after the JSON", 1);
    expect_error("{" BASE "},", JB_EPARSE, "unexpected text after the JSON object (byte ", 2);
    static const char nul[] = "{" BASE "}\0{}";
    assert_int_equal(jb_config_parse(nul, sizeof nul - 1, "test.json", &c, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "unexpected text after the JSON object"));

    expect_error("{" BASE ", \"hidden_size\": 128}", JB_EPARSE,
        "test.json: field \"hidden_size\": given more than once", 3);
    expect_error("{\"vocab_size\": 5, " BASE "}", JB_EPARSE,
        "field \"vocab_size\": given more than once", 4);
    expect_error("{" BASE ", \"architectures\": [\"A\"], \"architectures\": [\"B\"]}", JB_EPARSE,
        "field \"architectures\": given more than once", 5);
    expect_error("{" BASE ", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2, "
                 "\"factor\": 4}}",
        JB_EPARSE, "field \"rope_scaling.factor\": given more than once", 6);
    expect_error("{" BASE ", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2}, "
                 "\"rope_scaling\": null}",
        JB_EPARSE, "field \"rope_scaling\": given more than once", 7);
    /* the same key in an object joulebench does not read is not its business */
    assert_int_equal(parse("{" BASE ", \"x\": {\"a\": 1, \"a\": 2}}", &c, &err), 0);
    /* keys differing only in case are different keys */
    assert_int_equal(parse("{" BASE ", \"Hidden_size\": 1}", &c, &err), 0);
}

/* What is not a readable regular file is said so, an input error (exit 2): a folder, a FIFO
 * (without waiting for a writer), a device, a file too large, one without permission, a loop of
 * links; "missing" is kept for what does not exist. */
static void test_config_file_kinds(void **state)
{
    const char *tmp = *state;
    char path[4200], other[4200];
    struct jb_config c;
    struct jb_err err = { 0 };
    static const struct {
        const char *name;
        int rc;
        const char *needle;
    } kinds[] = {
        { "folder", JB_EINVAL, "is a directory, not a regular file" },
        { "fifo", JB_EINVAL, "is a FIFO, not a regular file" },
        { "big.json", JB_ERANGE, "larger than 16777216 bytes" },
        { "loop", JB_EINVAL, "" }, /* strerror(ELOOP), below */
        { "missing.json", JB_ENOENT, "No such file or directory" },
    };
    snprintf(path, sizeof path, "%s/folder", tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/fifo", tmp);
    assert_int_equal(mkfifo(path, 0644), 0);
    snprintf(path, sizeof path, "%s/big.json", tmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{" BASE "}", f);
    for (int i = 0; i < (16 << 20) / 64 + 1; i++)
        fputs("                                                               \n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/loop", tmp);
    snprintf(other, sizeof other, "%s/loop2", tmp);
    assert_int_equal(symlink(other, path), 0);
    assert_int_equal(symlink(path, other), 0);

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, kinds[i].name);
        const char *needle = strcmp(kinds[i].name, "loop") == 0 ? strerror(ELOOP) : kinds[i].needle;
        int rc = jb_config_load(path, "x", &c, &err);
        if (rc != kinds[i].rc || !strstr(err.msg, path) || !strstr(err.msg, needle)
            || jb_exit_code(rc) != JB_EXIT_USAGE)
            fail_msg("%s: %d \"%s\", expected %d with \"%s\"", kinds[i].name, rc, err.msg,
                kinds[i].rc, needle);
    }
    assert_int_equal(jb_config_load("/dev/zero", "x", &c, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, "/dev/zero: is a device, not a regular file"));
}

/* A model folder whose config.json cannot be read says why rather than "missing", and the
 * ladder lists it as skipped with that reason rather than dropping it unseen. */
static void test_model_folder_config_reasons(void **state)
{
    const char *tmp = *state;
    char path[8400], models[4200];
    struct jb_config c;
    struct jb_err err = { 0 };
    char dir[4096];
    snprintf(models, sizeof models, "%s/models", tmp);
    assert_int_equal(mkdir(models, 0755), 0);
    const char *dirs[] = { "ok", "dirconf", "loop", "none" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", models, dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    jb_test_write(models, "ok/config.json", "{" BASE "}");
    snprintf(path, sizeof path, "%s/dirconf/config.json", models);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/loop/config.json", models);
    assert_int_equal(symlink(path, path), 0);

    assert_int_equal(jb_model_config(models, "ok", &c, dir, sizeof dir, &err), 0);
    assert_int_equal(jb_model_config(models, "dirconf", &c, dir, sizeof dir, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, "dirconf/config.json: is a directory"));
    assert_int_equal(jb_model_resolve(models, "loop", dir, sizeof dir, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, strerror(ELOOP)));
    assert_null(strstr(err.msg, "missing"));
    assert_int_equal(jb_model_resolve(models, "none", dir, sizeof dir, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "none/config.json: missing"));

    struct jb_model_list list;
    assert_int_equal(jb_models_list(models, &list, &err), 0);
    assert_int_equal(list.count, 1);
    assert_int_equal(list.n_skipped, 2); /* "none" is not a model folder at all */
    for (int i = 0; i < list.n_skipped; i++) {
        const char *n = list.skipped[i].name, *msg = list.skipped[i].msg;
        const char *why = strcmp(n, "dirconf") == 0 ? "is a directory" : strerror(ELOOP);
        if (!strstr(msg, why))
            fail_msg("skipped %s: \"%s\", expected \"%s\"", n, msg, why);
    }
    jb_models_list_free(&list);
}

/* Runs check(arg) (0: passed; it prints why not) as user nobody when this process is root, who
 * reads any file whatever its mode: in a child that drops root. -1 when it cannot. */
static int run_unprivileged(int (*check)(const char *), const char *arg)
{
    if (geteuid() != 0)
        return check(arg);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        const int rc = check(arg);
        fflush(NULL);
        _exit(rc ? 1 : 0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return 1;
    return WEXITSTATUS(st) == 77 ? -1 : WEXITSTATUS(st);
}

/* The EACCES cases in folder tmp (whose noperm.json and models/noperm/config.json have mode
 * 0): the real reason, an input error, never "missing". */
static int check_permission_denied(const char *tmp)
{
    char path[4200], models[4200], dir[4096];
    struct jb_config c;
    struct jb_err err = { 0 };
    struct jb_model_list list;
    const char *denied = strerror(EACCES);
    int bad = 0;
    snprintf(path, sizeof path, "%s/noperm.json", tmp);
    snprintf(models, sizeof models, "%s/models", tmp);
    int rc = jb_config_load(path, "x", &c, &err);
    if (rc != JB_EINVAL || !strstr(err.msg, path) || !strstr(err.msg, denied)) {
        fprintf(stderr, "config: %d \"%s\"\n", rc, err.msg);
        bad = 1;
    }
    rc = jb_model_resolve(models, "noperm", dir, sizeof dir, &err);
    if (rc != JB_EINVAL || !strstr(err.msg, denied) || strstr(err.msg, "missing")) {
        fprintf(stderr, "resolve: %d \"%s\"\n", rc, err.msg);
        bad = 1;
    }
    rc = jb_models_list(models, &list, &err);
    if (rc != 0 || list.count != 1 || list.n_skipped != 1
        || strcmp(list.skipped[0].name, "noperm") != 0 || !strstr(list.skipped[0].msg, denied)) {
        fprintf(stderr, "list: %d, %d listed, %d skipped\n", rc, list.count, list.n_skipped);
        bad = 1;
    }
    jb_models_list_free(&list);
    return bad;
}

/* A config.json without read permission (checked as an unprivileged user when run as root). */
static void test_config_permission_denied(void **state)
{
    const char *tmp = *state;
    char path[4200];
    assert_int_equal(chmod(tmp, 0755), 0); /* mkdtemp's 0700 would hide everything */
    jb_test_write(tmp, "noperm.json", "{" BASE "}");
    snprintf(path, sizeof path, "%s/models", tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/models/noperm", tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/models/ok", tmp);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(chmod(jb_test_write(tmp, "models/ok/config.json", "{" BASE "}"), 0644), 0);
    jb_test_write(tmp, "models/noperm/config.json", "{" BASE "}");
    snprintf(path, sizeof path, "%s/models/noperm/config.json", tmp);
    assert_int_equal(chmod(path, 0), 0);
    snprintf(path, sizeof path, "%s/noperm.json", tmp);
    assert_int_equal(chmod(path, 0), 0);
    const int rc = run_unprivileged(check_permission_denied, tmp);
    if (rc < 0)
        JB_SKIP("running as root and cannot become user nobody to test permissions");
    assert_int_equal(rc, 0);
}

static char tmp_dir[4096];

static int tmp_setup(void **state)
{
    return jb_test_tmp_setup(state, tmp_dir, sizeof tmp_dir);
}

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    if (jb_test_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_defaults),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_ladder_matches_published_counts),
        cmocka_unit_test(test_plan_and_cost_match_model),
        cmocka_unit_test(test_memory_refusal),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_mem_limit_env),
        cmocka_unit_test(test_fmt_bytes),
        cmocka_unit_test(test_list_reports_skipped),
        cmocka_unit_test(test_overflowing_configs_refused),
        cmocka_unit_test(test_config_near_limit_sizes),
        cmocka_unit_test(test_hand_made_overflow_refused),
        cmocka_unit_test(test_trailing_text_and_duplicate_keys),
    };
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(test_config_file_kinds),
        cmocka_unit_test(test_model_folder_config_reasons),
    };
    const struct CMUnitTest permission_tests[] = {
        cmocka_unit_test(test_config_permission_denied),
    };
    int failed = JB_RUN_GROUP("config", tests, NULL, NULL);
    failed += JB_RUN_GROUP("config files", file_tests, tmp_setup, jb_test_tmp_teardown);
    failed += JB_RUN_GROUP("config permissions", permission_tests, tmp_setup, jb_test_tmp_teardown);
    return jb_test_status(failed);
}
