/*
 * test_config.c — Hugging Face config.json parsing: every shipped model parses and its exact
 * parameter count equals the count published for it (models/published_params.tsv); bad
 * configs give one error naming the field; memory plans and FLOP counts agree with the
 * tensors a built model actually holds.
 */
#include "jb_test.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <sys/stat.h>

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
    assert_int_equal(
        parse("{" BASE ", \"num_key_value_heads\": 4, \"head_dim\": 10}", &c, &err), 0);
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

/* JOULEBENCH_MEM_LIMIT's sizes: bytes, or K/M/G/T (powers of 1024, either case). */
static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t bytes;
    } cases[] = {
        { "1048576", 1048576 },
        { "512M", 512ull << 20 },
        { "8G", 8ull << 30 },
        { "8g", 8ull << 30 },
        { "1.5k", 1536 },
        { "2T", 2ull << 40 },
        { "x", 0 },
        { "", 0 },
        { "-1G", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (jb_parse_size(cases[i].s) != cases[i].bytes)
            fail_msg("\"%s\": %llu bytes, expected %llu", cases[i].s,
                (unsigned long long)jb_parse_size(cases[i].s), (unsigned long long)cases[i].bytes);
    setenv("JOULEBENCH_MEM_LIMIT", "300M", 1);
    assert_int_equal(jb_mem_limit_bytes(), 300ull << 20);
    setenv("JOULEBENCH_MEM_LIMIT", "", 1);
    assert_int_equal(jb_mem_limit_bytes(), 0);
    unsetenv("JOULEBENCH_MEM_LIMIT");
    assert_int_equal(jb_mem_limit_bytes(), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_defaults),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_ladder_matches_published_counts),
        cmocka_unit_test(test_plan_and_cost_match_model),
        cmocka_unit_test(test_memory_refusal),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_list_reports_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
