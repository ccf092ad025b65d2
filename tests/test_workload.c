/*
 * test_workload.c — workload definitions and request traces: every shipped workload loads
 * within its declared bounds; the Azure trace (excerpt, and the full file when present) loads
 * unchanged; options, scales and seeds give the hand-computed, reproducible lists; gamma
 * arrivals and length distributions have the stated moments; every malformed INI file and
 * trace gives one error naming the file, the line and the key or column; FIFOs and folders are
 * refused without blocking, NUL bytes are errors, and an absurdly long replay is measured and
 * refused with the time scale that brings it in.
 */
#include "jb_test.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_workload.h"

#define TRACES JB_SOURCE_DIR "/workloads/traces"
#define EXCERPT TRACES "/azure-conv-excerpt.csv"
#define FULL_TRACE                                                                                 \
    JB_SOURCE_DIR "/../shared/data/azure-llm-trace-2023/AzureLLMInferenceTrace_conv.csv"

static char tmp_dir[4096];

static int group_setup(void **state)
{
    setenv("JOULEBENCH_WORKLOADS_DIR", JB_SOURCE_DIR "/workloads", 1);
    return jb_test_tmp_setup(state, tmp_dir, sizeof tmp_dir);
}

/* Writes content to tmp_dir/name; returns the path (valid until the next call). */
static const char *write_file(const char *name, const char *content)
{
    return jb_test_write(tmp_dir, name, content);
}

static void load_ok(const char *path, const struct jb_workload_opts *o, struct jb_workload *w)
{
    struct jb_err err = { 0 };
    int rc = jb_workload_load(path, o, w, &err);
    if (rc != 0)
        fail_msg("%s: got %d (%s) \"%s\", expected success", path, rc, jb_strerror(rc), err.msg);
}

static void expect_error(const char *path, const struct jb_workload_opts *o, int code,
    const char *needle, const char *label)
{
    struct jb_workload w;
    struct jb_err err = { 0 };
    int rc = jb_workload_load(path, o, &w, &err);
    if (rc != code || err.code != code || !strstr(err.msg, needle))
        fail_msg("%s: got %d (%s) \"%s\", expected %d (%s) with \"%s\"", label, rc, jb_strerror(rc),
            err.msg, code, jb_strerror(code), needle);
    assert_null(w.requests);
    assert_int_equal(w.n_requests, 0);
}

static void assert_arrivals_sorted_from_zero(const struct jb_workload *w)
{
    ASSERT_CLOSE(w->requests[0].arrival_s, 0.0, 0);
    for (int64_t i = 1; i < w->n_requests; i++)
        if (w->requests[i].arrival_s < w->requests[i - 1].arrival_s)
            fail_msg("%s: request %lld arrives at %.9g, before request %lld at %.9g", w->name,
                (long long)i, w->requests[i].arrival_s, (long long)i - 1,
                w->requests[i - 1].arrival_s);
}

/* ---- scenarios and listing --------------------------------------------------------------- */

static void test_scenario_names(void **state)
{
    (void)state;
    const char *names[] = { "single-stream", "offline", "server", "concurrency", "pp", "tg" };
    for (int i = 0; i < JB_SCENARIO_COUNT; i++) {
        enum jb_scenario s = JB_SCENARIO_COUNT;
        assert_string_equal(jb_scenario_name((enum jb_scenario)i), names[i]);
        assert_int_equal(jb_scenario_parse(names[i], &s), 0);
        assert_int_equal(s, i);
    }
    enum jb_scenario s = JB_SCENARIO_TG;
    assert_int_equal(jb_scenario_parse("Server", &s), JB_EINVAL);
    assert_int_equal(jb_scenario_parse(NULL, &s), JB_EINVAL);
    assert_int_equal(s, JB_SCENARIO_TG); /* untouched */
    assert_string_equal(jb_scenario_name(JB_SCENARIO_COUNT), "unknown");
}

static void test_list(void **state)
{
    (void)state;
    char **names;
    int n;
    struct jb_err err = { 0 };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/list", tmp_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *files[] = { "b.ini", "a.ini", "c.txt", ".hidden.ini", "trace.csv", "x.ini.bak" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    setenv("JOULEBENCH_WORKLOADS_DIR", dir, 1);
    assert_string_equal(jb_workloads_root(), dir);
    assert_int_equal(jb_workloads_list(&names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);

    setenv("JOULEBENCH_WORKLOADS_DIR", "/nonexistent/workloads", 1);
    assert_int_equal(jb_workloads_list(&names, &n, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/workloads"));
    assert_int_equal(n, 0);
    setenv("JOULEBENCH_WORKLOADS_DIR", JB_SOURCE_DIR "/workloads", 1);
}

/* ---- the shipped workloads --------------------------------------------------------------- */

static const struct {
    const char *name;
    enum jb_scenario scenario;
    int64_t requests, batch, depth;
    double ttft_ms, tpot_ms;
} shipped[] = {
    { "azure-conv", JB_SCENARIO_SERVER, 16, 4, 0, 2000, 200 },
    { "batch-offline", JB_SCENARIO_OFFLINE, 64, 16, 0, 0, 0 },
    { "chat", JB_SCENARIO_SINGLE_STREAM, 8, 1, 0, 2000, 200 },
    { "chat-interactive", JB_SCENARIO_SERVER, 8, 4, 0, 450, 40 },
    { "code", JB_SCENARIO_SINGLE_STREAM, 8, 1, 0, 0, 0 },
    { "pp512", JB_SCENARIO_PP, 1, 1, 0, 0, 0 },
    { "summarize", JB_SCENARIO_SINGLE_STREAM, 4, 1, 0, 0, 0 },
    { "tg128", JB_SCENARIO_TG, 1, 1, 0, 0, 0 },
    { "tg128-d1024", JB_SCENARIO_TG, 1, 1, 1024, 0, 0 },
};

/* "requests = N" as the file writes it (read here independently of the parser), else 0. */
static int64_t declared_requests(const char *path, bool *has_comment_header)
{
    FILE *f = fopen(path, "r");
    char line[512];
    long long n = 0;
    assert_non_null(f);
    *has_comment_header = fgets(line, sizeof line, f) && (line[0] == ';' || line[0] == '#');
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "requests = %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void check_within_bounds(const struct jb_workload *w)
{
    for (int64_t i = 0; i < w->n_requests; i++) {
        const struct jb_request *q = &w->requests[i];
        assert_int_equal(q->id, i);
        if (!w->trace_path[0]) {
            ASSERT_LE(w->prompt.min, q->prompt_tokens);
            ASSERT_LE(q->prompt_tokens, w->prompt.max);
            ASSERT_LE(w->output.min, q->output_tokens);
            ASSERT_LE(q->output_tokens, w->output.max);
        }
        ASSERT_LE(1, q->prompt_tokens);
        ASSERT_LE(1, q->output_tokens);
        if (w->scenario != JB_SCENARIO_SERVER)
            ASSERT_CLOSE(q->arrival_s, 0.0, 0);
        if (w->scenario == JB_SCENARIO_PP)
            assert_int_equal(q->output_tokens, 1);
    }
    if (w->scenario == JB_SCENARIO_SERVER)
        assert_arrivals_sorted_from_zero(w);
}

static void test_shipped_workloads(void **state)
{
    (void)state;
    char **names;
    int n;
    struct jb_err err = { 0 };
    assert_int_equal(jb_workloads_list(&names, &n, &err), 0);
    assert_int_equal(n, (int)(sizeof shipped / sizeof shipped[0]));
    for (int i = 0; i < n; i++) {
        struct jb_workload w;
        bool commented;
        assert_string_equal(names[i], shipped[i].name); /* sorted, and no more, no fewer */
        load_ok(names[i], NULL, &w);
        int64_t declared = declared_requests(w.path, &commented);
        if (!commented)
            fail_msg("%s: no comment header saying what it models", w.path);
        assert_string_equal(w.name, shipped[i].name);
        assert_true(strlen(w.description) > 10);
        assert_int_equal(w.scenario, shipped[i].scenario);
        assert_int_equal(w.n_requests, declared ? declared : 1);
        assert_int_equal(w.n_requests, shipped[i].requests);
        assert_int_equal(w.batch, shipped[i].batch);
        assert_int_equal(w.depth, shipped[i].depth);
        ASSERT_CLOSE(w.slo_ttft_ms, shipped[i].ttft_ms, 0);
        ASSERT_CLOSE(w.slo_tpot_ms, shipped[i].tpot_ms, 0);
        check_within_bounds(&w);
        jb_workload_free(&w);
        jb_workload_free(&w); /* twice is harmless */
        free(names[i]);
    }
    free(names);
    jb_workload_free(NULL);
}

/* The numbers the shipped files promise in their comments. */
static void test_shipped_specifics(void **state)
{
    (void)state;
    struct jb_workload w;
    load_ok("pp512", NULL, &w);
    assert_int_equal(w.requests[0].prompt_tokens, 512);
    jb_workload_free(&w);
    load_ok("tg128", NULL, &w);
    assert_int_equal(w.requests[0].output_tokens, 128);
    assert_int_equal(w.requests[0].prompt_tokens, 1);
    jb_workload_free(&w);

    /* azure-conv: the excerpt's first rows, lengths x 0.2 (374 -> 74.8 -> 75, 44 -> 8.8 -> 9),
     * arrivals x 4 (the second row is 4.3145790 s after the first) */
    load_ok("azure-conv", NULL, &w);
    assert_string_equal(w.trace_path, JB_SOURCE_DIR "/workloads/traces/azure-conv-excerpt.csv");
    ASSERT_CLOSE(w.token_scale, 0.2, 0);
    ASSERT_CLOSE(w.time_scale, 4.0, 0);
    assert_int_equal(w.requests[0].prompt_tokens, 75);
    assert_int_equal(w.requests[0].output_tokens, 9);
    ASSERT_CLOSE(w.requests[1].arrival_s, 4 * 4.3145790, 1e-9);
    for (int64_t i = 0; i < w.n_requests; i++) /* fits the tiny model's 1024 positions */
        ASSERT_LE(w.requests[i].prompt_tokens + w.requests[i].output_tokens, 1024);
    jb_workload_free(&w);

    /* all 1000 rows fit too, as the comment says */
    struct jb_workload_opts o = { .requests = 1000 };
    load_ok("azure-conv", &o, &w);
    for (int64_t i = 0; i < w.n_requests; i++)
        ASSERT_LE(w.requests[i].prompt_tokens + w.requests[i].output_tokens, 1024);
    jb_workload_free(&w);
}

/* ---- the Azure trace --------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void test_excerpt_trace(void **state)
{
    (void)state;
    struct jb_workload w;
    load_ok(EXCERPT, NULL, &w);
    assert_string_equal(w.name, "azure-conv-excerpt");
    assert_int_equal(w.scenario, JB_SCENARIO_SERVER);
    assert_int_equal(w.n_requests, 1000);
    assert_int_equal(w.requests[0].prompt_tokens, 374);
    assert_int_equal(w.requests[0].output_tokens, 44);
    assert_int_equal(w.requests[1].prompt_tokens, 396);
    assert_int_equal(w.requests[1].output_tokens, 109);
    ASSERT_CLOSE(w.requests[1].arrival_s, 50.9951690 - 46.6805900, 1e-9);
    /* last row: 2023-11-16 18:19:22.7079830,309,18 */
    assert_int_equal(w.requests[999].prompt_tokens, 309);
    assert_int_equal(w.requests[999].output_tokens, 18);
    ASSERT_CLOSE(w.requests[999].arrival_s, 216.0273930, 1e-9);
    assert_arrivals_sorted_from_zero(&w);
    ASSERT_CLOSE(w.rate, 0.0, 0);
    assert_int_equal(w.bad_rows_skipped, 0);
    jb_workload_free(&w);

    /* byte for byte: 1001 CRLF-ended lines, a prefix of the full trace when it is here */
    size_t len, full_len;
    char *text = read_all(EXCERPT, &len), *full = read_all(FULL_TRACE, &full_len);
    int crlf = 0;
    assert_non_null(text);
    for (size_t i = 0; i + 1 < len; i++)
        crlf += text[i] == '\r' && text[i + 1] == '\n';
    assert_int_equal(crlf, 1001);
    assert_true(len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n');
    if (full) {
        assert_true(full_len > len);
        assert_memory_equal(text, full, len);
    }
    free(text);
    free(full);
}

static void test_full_trace(void **state)
{
    (void)state;
    if (access(FULL_TRACE, R_OK) != 0)
        JB_SKIP("the full Azure trace is not at %s", FULL_TRACE);
    struct jb_workload w;
    load_ok(FULL_TRACE, NULL, &w);
    assert_string_equal(w.name, "AzureLLMInferenceTrace_conv");
    assert_int_equal(w.n_requests, 19366); /* data rows; 19367 lines with the header */
    assert_int_equal(w.requests[0].prompt_tokens, 374);
    /* last row, without a final newline: 2023-11-16 19:14:08.4025270,197,183 */
    assert_int_equal(w.requests[19365].prompt_tokens, 197);
    assert_int_equal(w.requests[19365].output_tokens, 183);
    ASSERT_CLOSE(w.requests[19365].arrival_s, 3501.7219370, 1e-9);
    assert_arrivals_sorted_from_zero(&w);
    jb_workload_free(&w);
}

/* ---- options, seeds and scales ----------------------------------------------------------- */

static bool same_lengths(const struct jb_workload *a, const struct jb_workload *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (a->requests[i].prompt_tokens != b->requests[i].prompt_tokens
            || a->requests[i].output_tokens != b->requests[i].output_tokens)
            return false;
    return true;
}

static void test_requests_and_seed(void **state)
{
    (void)state;
    struct jb_workload a, b;
    struct jb_workload_opts o = { .requests = 20 };

    /* synthetic: the same seed gives the same list; more requests extend it */
    load_ok("chat", NULL, &a);
    load_ok("chat", NULL, &b);
    assert_int_equal(a.seed, 1);
    assert_true(same_lengths(&a, &b, 8));
    jb_workload_free(&b);
    load_ok("chat", &o, &b);
    assert_int_equal(b.n_requests, 20);
    assert_true(same_lengths(&a, &b, 8));
    jb_workload_free(&b);
    o = (struct jb_workload_opts) { .seed = 2, .seed_set = true };
    load_ok("chat", &o, &b);
    assert_int_equal(b.seed, 2);
    assert_false(same_lengths(&a, &b, 8));
    jb_workload_free(&b);
    o = (struct jb_workload_opts) { .seed = 1ull << 32 | 1, .seed_set = true };
    load_ok("chat", &o, &b);
    assert_false(same_lengths(&a, &b, 8)); /* all 64 bits of the seed count */
    jb_workload_free(&b);
    jb_workload_free(&a);

    /* a trace: the first N rows */
    o = (struct jb_workload_opts) { .requests = 10 };
    load_ok(EXCERPT, NULL, &a);
    load_ok(EXCERPT, &o, &b);
    assert_int_equal(b.n_requests, 10);
    assert_memory_equal(a.requests, b.requests, 10 * sizeof *a.requests);
    jb_workload_free(&b);
    o.requests = 1001;
    expect_error(EXCERPT, &o, JB_ERANGE, "1001 requests asked for", "requests > rows");
    jb_workload_free(&a);
}

/* Each sampled request is a row of the full list, in order, with arrivals from the first. */
static void check_sample_of(const struct jb_workload *all, const struct jb_workload *s)
{
    int64_t j = 0;
    double t0 = 0;
    for (int64_t i = 0; i < s->n_requests; i++, j++) {
        while (j < all->n_requests
            && (all->requests[j].prompt_tokens != s->requests[i].prompt_tokens
                || all->requests[j].output_tokens != s->requests[i].output_tokens))
            j++;
        if (j == all->n_requests)
            fail_msg("sampled request %lld is not a later row of the trace", (long long)i);
        if (i == 0)
            t0 = all->requests[j].arrival_s;
        ASSERT_CLOSE(s->requests[i].arrival_s, all->requests[j].arrival_s - t0, 1e-9);
        assert_int_equal(s->requests[i].id, i);
    }
}

static void test_sample(void **state)
{
    (void)state;
    struct jb_workload all, a, b;
    struct jb_workload_opts o = { .sample = 100, .seed = 7, .seed_set = true };
    load_ok(EXCERPT, NULL, &all);
    load_ok(EXCERPT, &o, &a);
    load_ok(EXCERPT, &o, &b);
    assert_int_equal(a.n_requests, 100);
    assert_memory_equal(a.requests, b.requests, 100 * sizeof *a.requests);
    check_sample_of(&all, &a);
    assert_false(same_lengths(&a, &all, 100)); /* not simply the first 100 */
    jb_workload_free(&b);
    o.seed = 8;
    load_ok(EXCERPT, &o, &b);
    assert_false(same_lengths(&a, &b, 100));
    check_sample_of(&all, &b);
    jb_workload_free(&b);

    o.sample = 1000; /* everything: the trace itself */
    load_ok(EXCERPT, &o, &b);
    assert_memory_equal(all.requests, b.requests, 1000 * sizeof *b.requests);
    jb_workload_free(&b);
    o.sample = 1001;
    expect_error(EXCERPT, &o, JB_ERANGE, "--sample 1001: only 1000 requests", "sample > rows");
    o = (struct jb_workload_opts) { .requests = 50, .sample = 60 };
    expect_error(EXCERPT, &o, JB_ERANGE, "--sample 60: only 50 requests", "sample > requests");
    jb_workload_free(&a);
    jb_workload_free(&all);
}

static void test_scales(void **state)
{
    (void)state;
    struct jb_workload w;
    /* 374 x 0.25 = 93.5 -> 94 (half away from zero), 44 -> 11, 396 -> 99, 109 -> 27.25 -> 27;
     * arrivals x 0.5 */
    struct jb_workload_opts o = { .token_scale = 0.25, .time_scale = 0.5 };
    load_ok(EXCERPT, &o, &w);
    assert_int_equal(w.requests[0].prompt_tokens, 94);
    assert_int_equal(w.requests[0].output_tokens, 11);
    assert_int_equal(w.requests[1].prompt_tokens, 99);
    assert_int_equal(w.requests[1].output_tokens, 27);
    ASSERT_CLOSE(w.requests[1].arrival_s, 0.5 * 4.3145790, 1e-9);
    ASSERT_CLOSE(w.requests[999].arrival_s, 0.5 * 216.0273930, 1e-9);
    ASSERT_CLOSE(w.token_scale, 0.25, 0);
    jb_workload_free(&w);

    /* tiny scales stop at one token */
    o = (struct jb_workload_opts) { .token_scale = 0.001 };
    load_ok(EXCERPT, &o, &w);
    assert_int_equal(w.requests[0].prompt_tokens, 1);
    assert_int_equal(w.requests[0].output_tokens, 1);
    jb_workload_free(&w);

    /* the option replaces the file's scale (azure-conv.ini says 0.2 and 4) */
    o = (struct jb_workload_opts) { .token_scale = 1, .time_scale = 1 };
    load_ok("azure-conv", &o, &w);
    assert_int_equal(w.requests[0].prompt_tokens, 374);
    assert_int_equal(w.requests[0].output_tokens, 44);
    ASSERT_CLOSE(w.requests[1].arrival_s, 4.3145790, 1e-9);
    jb_workload_free(&w);

    /* synthetic lengths: drawn, then scaled: fixed 512 x 0.5 */
    o = (struct jb_workload_opts) { .token_scale = 0.5 };
    load_ok("pp512", &o, &w);
    assert_int_equal(w.requests[0].prompt_tokens, 256);
    assert_int_equal(w.requests[0].output_tokens, 1); /* pp stays 1 */
    jb_workload_free(&w);
}

static void test_scenario_options(void **state)
{
    (void)state;
    struct jb_workload a, b;
    /* --rate on a single-stream file: server with gamma arrivals; lengths unchanged */
    struct jb_workload_opts o = { .rate = 2 };
    load_ok("chat", NULL, &a);
    load_ok("chat", &o, &b);
    assert_int_equal(b.scenario, JB_SCENARIO_SERVER);
    ASSERT_CLOSE(b.rate, 2.0, 0);
    assert_true(same_lengths(&a, &b, 8));
    assert_arrivals_sorted_from_zero(&b);
    assert_true(b.requests[7].arrival_s > 0);
    jb_workload_free(&b);
    jb_workload_free(&a);

    /* doubling the rate halves every arrival (same gamma draws, scale 1 / (rate x shape)) */
    load_ok("chat-interactive", NULL, &a);
    load_ok("chat-interactive", &o, &b);
    for (int64_t i = 0; i < a.n_requests; i++)
        ASSERT_CLOSE(b.requests[i].arrival_s, a.requests[i].arrival_s / 2, 1e-12);
    assert_true(same_lengths(&a, &b, a.n_requests));
    jb_workload_free(&b);
    /* --scenario single-stream drops the file's server settings */
    o = (struct jb_workload_opts) { .scenario = "single-stream" };
    load_ok("chat-interactive", &o, &b);
    assert_int_equal(b.scenario, JB_SCENARIO_SINGLE_STREAM);
    assert_int_equal(b.batch, 1);
    ASSERT_CLOSE(b.rate, 0.0, 0);
    ASSERT_CLOSE(b.requests[7].arrival_s, 0.0, 0);
    assert_true(same_lengths(&a, &b, a.n_requests));
    jb_workload_free(&b);
    jb_workload_free(&a);

    /* --concurrency implies the scenario; --batch, --depth */
    o = (struct jb_workload_opts) { .concurrency = 4, .batch = 2 };
    load_ok("chat", &o, &b);
    assert_int_equal(b.scenario, JB_SCENARIO_CONCURRENCY);
    assert_int_equal(b.concurrency, 4);
    assert_int_equal(b.batch, 2);
    jb_workload_free(&b);
    o = (struct jb_workload_opts) { .scenario = "offline" };
    load_ok("chat", &o, &b);
    assert_int_equal(b.batch, 8); /* offline's default */
    jb_workload_free(&b);
    o = (struct jb_workload_opts) { .depth = 256, .depth_set = true };
    load_ok("pp512", &o, &b);
    assert_int_equal(b.depth, 256);
    jb_workload_free(&b);
    o = (struct jb_workload_opts) { .depth = 0, .depth_set = true };
    load_ok("tg128-d1024", &o, &b);
    assert_int_equal(b.depth, 0);
    jb_workload_free(&b);
    /* a trace under pp: its prompts, one output token each */
    o = (struct jb_workload_opts) { .scenario = "pp", .requests = 3 };
    load_ok(EXCERPT, &o, &b);
    assert_int_equal(b.requests[0].prompt_tokens, 374);
    for (int64_t i = 0; i < b.n_requests; i++)
        assert_int_equal(b.requests[i].output_tokens, 1);
    jb_workload_free(&b);
    /* a trace under another scenario: its lengths, no arrivals */
    o = (struct jb_workload_opts) { .scenario = "offline", .requests = 3 };
    load_ok(EXCERPT, &o, &b);
    assert_int_equal(b.requests[2].prompt_tokens, 879);
    ASSERT_CLOSE(b.requests[2].arrival_s, 0.0, 0);
    jb_workload_free(&b);
}

static const struct {
    const char *name;
    struct jb_workload_opts o;
    int code;
    const char *needle;
} bad_opts[] = {
    { "chat", { .scenario = "streaming" }, JB_EINVAL, "--scenario \"streaming\": expected one of" },
    { "chat", { .concurrency = 4, .rate = 2 }, JB_EINVAL, "exclude each other" },
    { "chat", { .concurrency = 4, .scenario = "server" }, JB_EINVAL,
        "--scenario server contradicts --concurrency" },
    { "chat", { .batch = 4 }, JB_EINVAL, "chat.ini: --batch: batch > 1 needs scenario offline" },
    { "chat", { .depth = 5, .depth_set = true }, JB_EINVAL,
        "chat.ini: --depth: depth > 0 only applies to scenarios pp and tg" },
    { "chat", { .scenario = "server" }, JB_EINVAL, "scenario server needs arrivals" },
    { "chat", { .scenario = "concurrency" }, JB_EINVAL, "scenario concurrency needs key" },
    { "chat", { .requests = -1 }, JB_EINVAL, "--requests -1: expected a positive number" },
    { "chat", { .rate = -2 }, JB_EINVAL, "--rate -2" },
    { "chat", { .token_scale = -0.5 }, JB_EINVAL, "--token-scale -0.5" },
    { "chat", { .token_scale = 5000 }, JB_ERANGE, "--token-scale 5000: at most 1000" },
    { "chat", { .requests = 20000000 }, JB_ERANGE, "--requests 2e+07: at most 1e+07" },
};

static void test_bad_options(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "bad option %zu", i);
        expect_error(bad_opts[i].name, &bad_opts[i].o, bad_opts[i].code, bad_opts[i].needle, label);
    }
}

/* ---- distributions ----------------------------------------------------------------------- */

struct moments {
    double mean, sd, median;
    int64_t min, max;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct moments moments_of(const double *x, int64_t n)
{
    struct moments m = { 0, 0, 0, INT64_MAX, INT64_MIN };
    double *sorted = malloc((size_t)n * sizeof *sorted);
    assert_non_null(sorted);
    for (int64_t i = 0; i < n; i++) {
        m.mean += x[i] / (double)n;
        m.min = x[i] < (double)m.min ? (int64_t)x[i] : m.min;
        m.max = x[i] > (double)m.max ? (int64_t)x[i] : m.max;
        sorted[i] = x[i];
    }
    for (int64_t i = 0; i < n; i++)
        m.sd += (x[i] - m.mean) * (x[i] - m.mean) / (double)(n - 1);
    m.sd = sqrt(m.sd);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    m.median = sorted[n / 2];
    free(sorted);
    return m;
}

/* Gaps between arrivals: mean 1 / rate, coefficient of variation 1 / sqrt(burstiness). */
static void test_gamma_arrivals(void **state)
{
    (void)state;
    const int64_t n = 20001;
    const double rate = 4.0, burstiness[] = { 1.0, 0.25, 4.0 };
    for (size_t b = 0; b < sizeof burstiness / sizeof burstiness[0]; b++) {
        char ini[512];
        struct jb_workload w;
        snprintf(ini, sizeof ini,
            "[workload]\nscenario = server\nrequests = %lld\nrate = %g\nburstiness = %g\n"
            "seed = 11\nprompt_tokens = fixed 8\noutput_tokens = fixed 8\n",
            (long long)n, rate, burstiness[b]);
        load_ok(write_file("gamma.ini", ini), NULL, &w);
        assert_int_equal(w.n_requests, n);
        assert_arrivals_sorted_from_zero(&w);
        double *gaps = malloc((size_t)(n - 1) * sizeof *gaps);
        assert_non_null(gaps);
        for (int64_t i = 1; i < n; i++)
            gaps[i - 1] = w.requests[i].arrival_s - w.requests[i - 1].arrival_s;
        struct moments m = moments_of(gaps, n - 1);
        ASSERT_CLOSE(m.mean, 1.0 / rate, 0.02 / rate);
        ASSERT_CLOSE(m.sd / m.mean, 1.0 / sqrt(burstiness[b]), 0.05 / sqrt(burstiness[b]));
        ASSERT_CLOSE(w.burstiness, burstiness[b], 0);
        free(gaps);
        jb_workload_free(&w);
    }
}

static const struct {
    const char *spec;
    int64_t min, max;
    double mean, mean_tol, median, median_tol;
} dists[] = {
    { "uniform 100 400", 100, 400, 250, 2.5, 250, 5 },
    { "normal 1500 300 1000 2000", 1000, 2000, 1500, 10, 1500, 10 },
    { "normal 50 10", 1, 1048576, 50, 0.5, 50, 1 },
    { "lognormal 200 0.8 16 1024", 16, 1024, -1, 0, 200, 6 },
    { "fixed 128", 128, 128, 128, 1e-6, 128, 0 },
};

static void test_length_distributions(void **state)
{
    (void)state;
    const int64_t n = 20000;
    for (size_t d = 0; d < sizeof dists / sizeof dists[0]; d++) {
        char ini[512];
        struct jb_workload w;
        snprintf(ini, sizeof ini,
            "[workload]\nscenario = offline\nrequests = %lld\nprompt_tokens = %s\n"
            "output_tokens = %s\n",
            (long long)n, dists[d].spec, dists[d].spec);
        load_ok(write_file("dist.ini", ini), NULL, &w);
        assert_int_equal(w.prompt.min, dists[d].min);
        assert_int_equal(w.prompt.max, dists[d].max);
        double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        assert_non_null(x);
        assert_non_null(y);
        for (int64_t i = 0; i < n; i++) {
            x[i] = (double)w.requests[i].prompt_tokens;
            y[i] = (double)w.requests[i].output_tokens;
        }
        struct moments m = moments_of(x, n), mo = moments_of(y, n);
        ASSERT_LE(dists[d].min, m.min);
        ASSERT_LE(m.max, dists[d].max);
        if (dists[d].mean > 0)
            ASSERT_CLOSE(m.mean, dists[d].mean, dists[d].mean_tol);
        ASSERT_CLOSE(m.median, dists[d].median, dists[d].median_tol);
        if (strncmp(dists[d].spec, "uniform", 7) == 0) { /* both ends are drawn */
            assert_int_equal(m.min, 100);
            assert_int_equal(m.max, 400);
        }
        if (dists[d].min < dists[d].max) /* prompt and output lengths have their own streams */
            assert_false(memcmp(x, y, (size_t)n * sizeof *x) == 0);
        ASSERT_CLOSE(mo.mean, m.mean, m.sd * 0.05 + 1e-9);
        free(x);
        free(y);
        jb_workload_free(&w);
    }
}

/* ---- INI syntax -------------------------------------------------------------------------- */

static void test_ini_accepted(void **state)
{
    (void)state;
    struct jb_workload w;
    const char *path = write_file("ok.ini",
        "# a hash comment\n"
        "; a long comment: ......................................................................"
        ".........................................................................................."
        "."
        ".........................................................................................."
        ".\n"
        "; a semicolon comment\n"
        "\n"
        "[workload]\n"
        "description = with comments ; inline\n"
        "requests = 3   # inline hash comment\n"
        "scenario=offline\n"
        "prompt_tokens = fixed 7\n"
        "output_tokens =   uniform 2 2\n"
        "[slo]\n"
        "ttft_ms = 100\n");
    load_ok(path, NULL, &w);
    assert_string_equal(w.name, "ok");
    assert_string_equal(w.description, "with comments");
    assert_int_equal(w.n_requests, 3);
    assert_int_equal(w.scenario, JB_SCENARIO_OFFLINE);
    assert_int_equal(w.batch, 8);
    assert_int_equal(w.seed, 1);
    ASSERT_CLOSE(w.burstiness, 1.0, 0);
    ASSERT_CLOSE(w.token_scale, 1.0, 0);
    ASSERT_CLOSE(w.time_scale, 1.0, 0);
    ASSERT_CLOSE(w.slo_ttft_ms, 100.0, 0);
    ASSERT_CLOSE(w.slo_tpot_ms, 0.0, 0);
    assert_int_equal(w.requests[2].prompt_tokens, 7);
    assert_int_equal(w.requests[2].output_tokens, 2);
    assert_string_equal(w.trace_path, "");
    jb_workload_free(&w);

    /* a trace relative to the file's folder, lengths only under single-stream; tg defaults */
    write_file("t.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-01-01 00:00:00,5,6\n2024-01-01 00:00:09,7,8\n");
    path = write_file("t.ini", "[workload]\ntrace = t.csv\nrequests = 2\n");
    load_ok(path, NULL, &w);
    assert_int_equal(w.scenario, JB_SCENARIO_SINGLE_STREAM);
    assert_int_equal(w.requests[1].prompt_tokens, 7);
    ASSERT_CLOSE(w.requests[1].arrival_s, 0.0, 0);
    jb_workload_free(&w);
    load_ok(write_file("tg.ini", "[workload]\nscenario = tg\noutput_tokens = fixed 4\n"), NULL, &w);
    assert_int_equal(w.n_requests, 1);
    assert_int_equal(w.requests[0].prompt_tokens, 1);
    assert_int_equal(w.depth, 0);
    jb_workload_free(&w);
}

#define HEAD "; a test workload\n[workload]\n" /* lines 1-2; the first key is on line 3 */
#define LENGTHS "prompt_tokens = uniform 10 20\noutput_tokens = fixed 5\n"

static const struct {
    const char *text;
    int code;
    const char *needle;
} bad_inis[] = {
    { HEAD "requests = 0\n" LENGTHS, JB_ERANGE,
        "bad.ini:3: key \"requests\": expected an integer from 1 to 10000000, got \"0\"" },
    { HEAD "requests = -2\n" LENGTHS, JB_ERANGE, "bad.ini:3: key \"requests\"" },
    { HEAD "requests = four\n" LENGTHS, JB_EPARSE, "bad.ini:3: key \"requests\"" },
    { HEAD "requests = 4.5\n" LENGTHS, JB_EPARSE, "bad.ini:3: key \"requests\"" },
    { HEAD "requests =\n" LENGTHS, JB_EPARSE, "bad.ini:3: key \"requests\"" },
    { HEAD "requests = 4\nprompt_tokens = fixed 0\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": lengths must be from 1 to 1048576 tokens, got "
        "\"fixed 0\"" },
    { HEAD "requests = 4\nprompt_tokens = fixed -5\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": lengths must be" },
    { HEAD "requests = 4\nprompt_tokens = fixed 5\noutput_tokens = uniform 0 10\n", JB_ERANGE,
        "bad.ini:5: key \"output_tokens\": lengths must be" },
    { HEAD "requests = 4\nprompt_tokens = uniform 20 10\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": MIN (20) must not exceed MAX (10)" },
    { HEAD "requests = 4\nprompt_tokens = normal 100 -5\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": SD must be >= 0" },
    { HEAD "requests = 4\nprompt_tokens = normal -100 10\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": MEAN must be from 1" },
    { HEAD "requests = 4\nprompt_tokens = lognormal 0 0.5\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": MEDIAN must be from 1" },
    { HEAD "requests = 4\nprompt_tokens = normal 100 10 50\noutput_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini:4: key \"prompt_tokens\": expected \"normal MEAN SD [MIN MAX]\"" },
    { HEAD "requests = 4\nprompt_tokens = normal 100 10 0 50\noutput_tokens = fixed 5\n", JB_ERANGE,
        "bad.ini:4: key \"prompt_tokens\": lengths must be" },
    { HEAD "requests = 4\nprompt_tokens = gaussian 100 10\noutput_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini:4: key \"prompt_tokens\": expected \"fixed N\", \"uniform MIN MAX\"" },
    { HEAD "requests = 4\nprompt_tokens = fixed 12.5\noutput_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini:4: key \"prompt_tokens\": \"12.5\" is not a whole number" },
    { HEAD "requests = 4\nprompt_tokens = normal abc 3\noutput_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini:4: key \"prompt_tokens\": \"abc\" is not a number" },
    { HEAD "requests = 4\ntemperature = 0.7\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: unknown key \"temperature\" in [workload] (known: description, scenario," },
    { HEAD "requests = 4\n" LENGTHS "[model]\n", JB_EPARSE, "bad.ini:6: unknown section [model]" },
    { HEAD "requests = 4\nrequests = 5\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"requests\": set twice (first on line 3)" },
    { HEAD "requests = 4\n  seed = 3\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: an indented line continues the value of key \"requests\" (line 3)" },
    { "requests = 4\n[workload]\n" LENGTHS, JB_EPARSE,
        "bad.ini:1: key \"requests\" is outside a section" },
    { HEAD "requests = 4\nttft_ms = 100\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"ttft_ms\" belongs in [slo], not [workload]" },
    { HEAD "requests 4\n" LENGTHS, JB_EPARSE,
        "bad.ini:3: expected \"key = value\", \"[section]\" or a comment" },
    { HEAD "requests = 4\n" LENGTHS "[slo\n", JB_EPARSE, "bad.ini:6: expected \"key = value\"" },
    { HEAD "scenario = streaming\n", JB_EPARSE,
        "bad.ini:3: key \"scenario\": expected one of single-stream, offline, server, "
        "concurrency, pp, tg, got \"streaming\"" },
    { HEAD "scenario = server\nrequests = 4\nrate = 0\n" LENGTHS, JB_ERANGE,
        "bad.ini:5: key \"rate\": expected a positive number" },
    { HEAD "scenario = server\nrequests = 4\nrate = -1\n" LENGTHS, JB_ERANGE,
        "bad.ini:5: key \"rate\"" },
    { HEAD "scenario = server\nrequests = 4\nrate = 1\nburstiness = 0\n" LENGTHS, JB_ERANGE,
        "bad.ini:6: key \"burstiness\": expected a positive number" },
    { HEAD "scenario = offline\nrequests = 4\nbatch = 0\n" LENGTHS, JB_ERANGE,
        "bad.ini:5: key \"batch\": expected an integer from 1" },
    { HEAD "requests = 4\nseed = -1\n" LENGTHS, JB_EPARSE, "bad.ini:4: key \"seed\"" },
    { HEAD "requests = 4\ntoken_scale = 0\n" LENGTHS, JB_ERANGE, "bad.ini:4: key \"token_scale\"" },
    { HEAD "requests = 4\ntime_scale = fast\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"time_scale\"" },
    { HEAD "requests = 4\n" LENGTHS "[slo]\nttft_ms = -1\n", JB_ERANGE,
        "bad.ini:7: key \"ttft_ms\": expected a positive number" },
    { HEAD "description = "
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        JB_ERANGE, "bad.ini:3: line longer than 197 characters" },
    /* inconsistent combinations */
    { HEAD "scenario = server\nrequests = 4\n" LENGTHS, JB_EPARSE,
        "bad.ini:3: key \"scenario\": scenario server needs arrivals: key \"rate\"" },
    { HEAD "scenario = concurrency\nrequests = 4\n" LENGTHS, JB_EPARSE,
        "bad.ini:3: key \"scenario\": scenario concurrency needs key \"concurrency\"" },
    { HEAD "trace = x.csv\nprompt_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini:4: key \"prompt_tokens\": not allowed with key \"trace\" (line 3)" },
    { HEAD "requests = 4\nrate = 2\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"rate\": only applies to scenario server; the scenario is single-stream "
        "(the default)" },
    { HEAD "scenario = offline\nrequests = 4\nconcurrency = 4\n" LENGTHS, JB_EPARSE,
        "bad.ini:5: key \"concurrency\": only applies to scenario concurrency; the scenario is "
        "offline (key \"scenario\", line 3)" },
    { HEAD "requests = 4\nbatch = 4\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"batch\": batch > 1 needs scenario offline, server or concurrency" },
    { HEAD "requests = 4\ndepth = 10\n" LENGTHS, JB_EPARSE,
        "bad.ini:4: key \"depth\": depth > 0 only applies to scenarios pp and tg" },
    { HEAD "scenario = server\ntrace = x.csv\nburstiness = 0.5\n", JB_EPARSE,
        "bad.ini:5: key \"burstiness\": needs key \"rate\"" },
    { HEAD "scenario = pp\nprompt_tokens = fixed 8\noutput_tokens = fixed 4\n", JB_EPARSE,
        "bad.ini:5: key \"output_tokens\": scenario pp generates only the prefill's token" },
    { HEAD "requests = 4\noutput_tokens = fixed 5\n", JB_EPARSE,
        "bad.ini: key \"prompt_tokens\": missing: give a length distribution" },
    { HEAD LENGTHS, JB_EPARSE, "bad.ini: key \"requests\": missing" },
    { HEAD "requests = 4\ntrace = missing.csv\n", JB_ENOENT, "bad.ini:4: key \"trace\": " },
};

static void test_bad_inis(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_inis / sizeof bad_inis[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "bad INI %zu", i);
        expect_error(write_file("bad.ini", bad_inis[i].text), NULL, bad_inis[i].code,
            bad_inis[i].needle, label);
    }
}

/* ---- trace CSV --------------------------------------------------------------------------- */

static void test_trace_accepted(void **state)
{
    (void)state;
    struct jb_workload w;
    /* columns in another order, an extra column, quotes, LF ends, no final newline, fractions
     * of any length, a T and a Z, a byte-order mark; a .txt file told by its header */
    const char *path = write_file("odd.txt",
        "\xEF\xBB\xBFGeneratedTokens,Extra,TIMESTAMP,ContextTokens\n"
        "7,x,2023-11-16 18:15:46,100\n"
        "\"8\",\"y, with a comma\",\"2023-11-16 18:15:46.5\",\"200\"\n"
        "9,z,2023-11-16T18:15:47.250000000001Z,300\n"
        "10,,2023-11-16 19:15:48+01:00,400");
    load_ok(path, NULL, &w);
    assert_string_equal(w.name, "odd");
    assert_int_equal(w.scenario, JB_SCENARIO_SERVER);
    assert_int_equal(w.n_requests, 4);
    const double arrivals[] = { 0, 0.5, 1.25, 2.0 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w.requests[i].prompt_tokens, 100 * (i + 1));
        assert_int_equal(w.requests[i].output_tokens, 7 + i);
        ASSERT_CLOSE(w.requests[i].arrival_s, arrivals[i], 1e-12);
    }
    jb_workload_free(&w);
}

#define TH "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
#define R1 "2023-11-16 18:15:46.6805900,374,44\r\n"

static const struct {
    const char *text;
    int code;
    const char *needle;
} bad_traces[] = {
    { TH, JB_EPARSE, "bad.csv: no requests after the header" },
    { "", JB_EPARSE, "bad.csv: empty file" },
    { "TIMESTAMP,ContextTokens,Tokens\r\n" R1, JB_EPARSE,
        "bad.csv:1: not a request trace: no column \"GeneratedTokens\" in the header "
        "\"TIMESTAMP,ContextTokens,Tokens\"" },
    { TH R1 "2023-11-16 18:15:47,374\r\n", JB_EPARSE,
        "bad.csv:3: column \"GeneratedTokens\": missing (the row has 2 fields, the header 3)" },
    { TH R1 "2023-11-16 18:15:47,374,44,9\r\n", JB_EPARSE,
        "bad.csv:3: the row has 4 fields, the header 3" },
    { TH R1 "2023-13-16 18:15:47,374,44\r\n", JB_EPARSE,
        "bad.csv:3: column \"TIMESTAMP\": expected a time like 2023-11-16 18:15:46.6805900, got "
        "\"2023-13-16 18:15:47\"" },
    { TH R1 "2023-02-29 18:15:47,374,44\r\n", JB_EPARSE, "bad.csv:3: column \"TIMESTAMP\"" },
    { TH R1 "yesterday,374,44\r\n", JB_EPARSE, "bad.csv:3: column \"TIMESTAMP\"" },
    { TH R1 "2023-11-16 18:15:47.,374,44\r\n", JB_EPARSE, "bad.csv:3: column \"TIMESTAMP\"" },
    { TH R1 "2023-11-16 18:15:47,abc,44\r\n", JB_EPARSE,
        "bad.csv:3: column \"ContextTokens\": expected a whole number of tokens" },
    { TH R1 "2023-11-16 18:15:47,0,44\r\n", JB_ERANGE,
        "bad.csv:3: column \"ContextTokens\": expected a whole number of tokens from 1 to "
        "1048576, got \"0\"" },
    { TH R1 "2023-11-16 18:15:47,374,-3\r\n", JB_ERANGE, "bad.csv:3: column \"GeneratedTokens\"" },
    { TH R1 "2023-11-16 18:15:47,374,12.5\r\n", JB_EPARSE,
        "bad.csv:3: column \"GeneratedTokens\"" },
    { TH R1 "2023-11-16 18:15:47,374,\r\n", JB_EPARSE, "bad.csv:3: column \"GeneratedTokens\"" },
    { TH R1 "\r\n2023-11-16 18:15:45,374,44\r\n", JB_EPARSE,
        "bad.csv:4: column \"TIMESTAMP\": 2023-11-16 18:15:45 is earlier than the row on line 2" },
    { TH R1 "2023-11-16 18:15:47,\"37\"4,44\r\n", JB_EPARSE, "bad.csv:3: malformed CSV" },
    { TH R1 "2023-11-16 18:15:47,\"374,44\r\n", JB_EPARSE, "bad.csv:3: malformed CSV" },
};

static void test_bad_traces(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_traces / sizeof bad_traces[0]; i++) {
        char label[32];
        snprintf(label, sizeof label, "bad trace %zu", i);
        expect_error(write_file("bad.csv", bad_traces[i].text), NULL, bad_traces[i].code,
            bad_traces[i].needle, label);
    }
}

static void test_skip_bad_rows(void **state)
{
    (void)state;
    struct jb_workload w;
    struct jb_workload_opts o = { .skip_bad_rows = true };
    const char *path = write_file("skip.csv",
        TH R1 "2023-11-16 18:15:47,0,44\r\n"       /* zero tokens */
              "2023-11-16 18:15:48,375,45\r\n"     /* kept */
              "2023-11-16 18:15:40,376,46\r\n"     /* backwards */
              "2023-11-16 18:15:49,377\r\n"        /* a field short */
              "2023-11-16 18:15:50.5,378,47\r\n"); /* kept */
    expect_error(path, NULL, JB_ERANGE, "skip.csv:3: column \"ContextTokens\"", "no skipping");
    load_ok(path, &o, &w);
    assert_int_equal(w.n_requests, 3);
    assert_int_equal(w.bad_rows_skipped, 3);
    assert_int_equal(w.requests[1].prompt_tokens, 375);
    assert_int_equal(w.requests[2].prompt_tokens, 378);
    ASSERT_CLOSE(w.requests[2].arrival_s, 50.5 - 46.68059, 1e-9);
    jb_workload_free(&w);

    path = write_file("allbad.csv", TH "2023-11-16 18:15:47,0,44\r\nnope,1,1\r\n");
    expect_error(path, &o, JB_EPARSE, "allbad.csv: no requests after the header (2 malformed",
        "all rows bad");
    /* a broken header is never skipped */
    path = write_file("nohead.csv", "time,in,out\r\n" R1);
    expect_error(path, &o, JB_EPARSE, "nohead.csv:1: not a request trace", "bad header");
}

static void test_missing_files(void **state)
{
    (void)state;
    expect_error("no-such-workload", NULL, JB_ENOENT,
        "unknown workload \"no-such-workload\": no file " JB_SOURCE_DIR
        "/workloads/no-such-workload.ini (run `joulebench workloads`",
        "missing name");
    expect_error("/nonexistent/x.ini", NULL, JB_ENOENT,
        "/nonexistent/x.ini: No such file or directory (run `joulebench workloads`",
        "missing path");
    expect_error("gone.csv", NULL, JB_ENOENT, "gone.csv: No such file", "missing csv");
    expect_error("", NULL, JB_EINVAL, "no workload given", "empty name");
    expect_error(tmp_dir, NULL, JB_EINVAL, "is a directory, not a regular file", "a folder");
}

/* ---- hostile input: FIFOs, folders, NUL bytes, absurd replays ------------------------------ */

/* Writes len bytes (NULs included) to tmp_dir/name; returns the path (valid until the next
 * call). */
static const char *write_bytes(const char *name, const char *data, size_t len)
{
    static char path[4400];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

/* A FIFO where a definition or a trace is read is refused at once, never opened for a read that
 * blocks until a writer comes. The alarm turns a regression (a hang) into a failure. */
static void test_fifo_inputs(void **state)
{
    (void)state;
    char fifo[4300], ini[4300];
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", tmp_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    expect_error(fifo, NULL, JB_EINVAL, "fifo.csv: is a FIFO, not a regular file", "FIFO trace");
    snprintf(ini, sizeof ini, "%s/fifo.ini", tmp_dir);
    assert_int_equal(mkfifo(ini, 0600), 0);
    expect_error(ini, NULL, JB_EINVAL, "fifo.ini: is a FIFO, not a regular file", "FIFO .ini");
    const char *path = write_file("fifo-trace.ini", HEAD "requests = 4\ntrace = fifo.csv\n");
    expect_error(
        path, NULL, JB_EINVAL, "fifo-trace.ini:4: key \"trace\": ", "FIFO as key \"trace\"");
    expect_error(path, NULL, JB_EINVAL, "fifo.csv: is a FIFO, not a regular file",
        "FIFO as key \"trace\", the reason");
    alarm(0);
    unlink(fifo);
    unlink(ini);
}

/* A folder as a trace is an input error with the real reason, not a "read error". */
static void test_folder_as_trace(void **state)
{
    (void)state;
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/traces.csv", tmp_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *path = write_file("dir-trace.ini", HEAD "requests = 4\ntrace = traces.csv\n");
    expect_error(
        path, NULL, JB_EINVAL, "dir-trace.ini:4: key \"trace\": ", "folder as key \"trace\"");
    expect_error(path, NULL, JB_EINVAL, "traces.csv: is a directory, not a regular file",
        "folder as key \"trace\", the reason");
    expect_error(dir, NULL, JB_EINVAL, "traces.csv: is a directory, not a regular file",
        "folder as --workload");
    rmdir(dir);
}

#define NUL_TRACE_HEAD "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46,374,44\r\n"

/* A NUL byte inside a field would cut it short ("12\0999" read as 12): the row is malformed,
 * named by its line and column. */
static void test_nul_in_trace(void **state)
{
    (void)state;
    static const char row[] = NUL_TRACE_HEAD "2023-11-16 18:15:47,374,12\0999\r\n";
    const char *path = write_bytes("nul.csv", row, sizeof row - 1);
    expect_error(path, NULL, JB_EPARSE,
        "nul.csv:3: column \"GeneratedTokens\": a NUL byte inside the field (after \"12\")",
        "NUL in a token count");

    static const char ts[] = NUL_TRACE_HEAD "2023-11-16 18:15:47\0junk,374,12\r\n";
    path = write_bytes("nul.csv", ts, sizeof ts - 1);
    expect_error(path, NULL, JB_EPARSE,
        "nul.csv:3: column \"TIMESTAMP\": a NUL byte inside the field (after \"2023-11-16 "
        "18:15:47\")",
        "NUL in a timestamp");

    static const char extra[] = "TIMESTAMP,ContextTokens,GeneratedTokens,Note\n"
                                "2023-11-16 18:15:46,374,44,ok\n"
                                "2023-11-16 18:15:47,374,44,a\0b\n";
    path = write_bytes("nul.csv", extra, sizeof extra - 1);
    expect_error(path, NULL, JB_EPARSE, "nul.csv:3: a NUL byte inside field 4", "NUL elsewhere");

    static const char header[] = "TIMESTAMP,ContextTokens,GeneratedTokens\0x\n"
                                 "2023-11-16 18:15:46,374,44\n";
    path = write_bytes("nul.csv", header, sizeof header - 1);
    struct jb_workload_opts o = { .skip_bad_rows = true };
    expect_error(path, &o, JB_EPARSE, "nul.csv:1: a NUL byte inside field 3 of the header",
        "NUL in the header, even when skipping");

    /* a malformed row like any other: --skip-bad-rows counts it */
    struct jb_workload w;
    path = write_bytes("nul.csv", row, sizeof row - 1);
    load_ok(path, &o, &w);
    assert_int_equal(w.n_requests, 1);
    assert_int_equal(w.bad_rows_skipped, 1);
    jb_workload_free(&w);
}

/* The same in a definition: "requests = 1\0x" is not 1 requests but an error on its line. */
static void test_nul_in_ini(void **state)
{
    (void)state;
    static const char value[] = HEAD "requests = 1\0x\n" LENGTHS;
    expect_error(write_bytes("nul.ini", value, sizeof value - 1), NULL, JB_EPARSE,
        "nul.ini:3: a NUL byte at column 13", "NUL in a value");
    static const char comment[] = HEAD "requests = 1\n" LENGTHS "; a note\0\n";
    expect_error(write_bytes("nul.ini", comment, sizeof comment - 1), NULL, JB_EPARSE,
        "nul.ini:6: a NUL byte at column 9", "NUL in a comment");
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        double s;
        const char *words;
    } cases[] = {
        { 0, "0 s" },
        { 45, "45 s" },
        { 119, "119 s" },
        { 120, "2.0 min" },
        { 750, "12.5 min" },
        { 7200, "2.0 h" },
        { 86400, "24.0 h" },
        { 2 * 86400, "2.0 days" },
        { 1672531200, "53.0 years" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        jb_duration_format(cases[i].s, buf, sizeof buf);
        if (strcmp(buf, cases[i].words) != 0)
            fail_msg("%.17g s: got \"%s\", expected \"%s\"", cases[i].s, buf, cases[i].words);
    }
}

/* Reads the --time-scale an over-long replay's error suggests. */
static double suggested_time_scale(const char *msg)
{
    const char *p = strstr(msg, "--time-scale ");
    assert_non_null(p);
    return strtod(p + strlen("--time-scale "), NULL);
}

/* Rows 53 years apart, and rate = 1e-6: the span is what one replay waits at least; beyond the
 * limit it is refused with the --time-scale that brings it in, and that scale does. */
static void test_replay_span(void **state)
{
    (void)state;
    struct jb_workload w;
    struct jb_err err = { 0 };
    const char *path = write_file("epoch.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "1970-01-01 00:00:00,10,5\n"
        "2023-01-01 00:00:00,10,5\n");
    load_ok(path, NULL, &w);
    ASSERT_CLOSE(jb_workload_span_s(&w), 1672531200.0, 0);
    assert_int_equal(jb_workload_check_span(&w, JB_REPLAY_MAX_S_DEFAULT, &err), JB_ERANGE);
    assert_int_equal(err.code, JB_ERANGE);
    if (!strstr(err.msg, "epoch.csv: the arrivals span 53.0 years")
        || !strstr(err.msg, "more than the 24.0 h")
        || !strstr(err.msg, "--max-replay-s 1672531200"))
        fail_msg("message: \"%s\"", err.msg);
    const double scale = suggested_time_scale(err.msg);
    ASSERT_LE(scale * 1672531200.0, JB_REPLAY_MAX_S_DEFAULT);
    ASSERT_LE(JB_REPLAY_MAX_S_DEFAULT * 0.99, scale * 1672531200.0); /* not needlessly small */
    assert_int_equal(jb_workload_check_span(&w, 2e9, &err), 0);      /* a larger limit allows it */
    jb_workload_free(&w);

    struct jb_workload_opts o = { .time_scale = scale };
    load_ok(path, &o, &w);
    assert_int_equal(jb_workload_check_span(&w, JB_REPLAY_MAX_S_DEFAULT, &err), 0);
    jb_workload_free(&w);

    /* synthetic arrivals: 8 requests at 1e-6 per second are months apart */
    path = write_file("slow.ini", HEAD "scenario = server\nrate = 1e-6\nrequests = 8\n" LENGTHS);
    load_ok(path, NULL, &w);
    ASSERT_LE(1e6, jb_workload_span_s(&w));
    assert_int_equal(jb_workload_check_span(&w, JB_REPLAY_MAX_S_DEFAULT, &err), JB_ERANGE);
    assert_non_null(strstr(err.msg, "slow.ini: the arrivals span"));
    o = (struct jb_workload_opts) { .time_scale = suggested_time_scale(err.msg) };
    jb_workload_free(&w);
    load_ok(path, &o, &w);
    assert_int_equal(jb_workload_check_span(&w, JB_REPLAY_MAX_S_DEFAULT, &err), 0);
    jb_workload_free(&w);

    /* without arrival times a replay runs at the model's pace: no span */
    load_ok("chat", NULL, &w);
    ASSERT_CLOSE(jb_workload_span_s(&w), 0, 0);
    assert_int_equal(jb_workload_check_span(&w, 1, &err), 0);
    jb_workload_free(&w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_names),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_shipped_workloads),
        cmocka_unit_test(test_shipped_specifics),
        cmocka_unit_test(test_excerpt_trace),
        cmocka_unit_test(test_full_trace),
        cmocka_unit_test(test_requests_and_seed),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_scales),
        cmocka_unit_test(test_scenario_options),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_gamma_arrivals),
        cmocka_unit_test(test_length_distributions),
        cmocka_unit_test(test_ini_accepted),
        cmocka_unit_test(test_bad_inis),
        cmocka_unit_test(test_trace_accepted),
        cmocka_unit_test(test_bad_traces),
        cmocka_unit_test(test_skip_bad_rows),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_fifo_inputs),
        cmocka_unit_test(test_folder_as_trace),
        cmocka_unit_test(test_nul_in_trace),
        cmocka_unit_test(test_nul_in_ini),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_replay_span),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("workloads", tests, group_setup, jb_test_tmp_teardown));
}
