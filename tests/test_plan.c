/*
 * test_plan.c — sharding a sweep's plan (run/plan.c): --shard's "I/N" parsed strictly; for
 * plans of 0 to 60 configurations and N = 1..7 the shards are a partition (every configuration
 * in exactly one, in plan order, sizes within one of each other) and jb_sweep_shard keeps the
 * plan whole, so it is freed once; a real plan's shard holds the very configurations of the
 * whole plan at its indices; the default folder of a shard is the whole sweep's with
 * "-shard-I-of-N", and the hash counts every configuration of a long plan.
 */
#include "jb_test.h"

#include "jb_run.h"

/* ---- --shard I/N ----------------------------------------------------------------------------- */

static void test_shard_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int index, count; /* count 0: refused */
        const char *why;
    } cases[] = {
        { "0/1", 0, 1, NULL },
        { "0/2", 0, 2, NULL },
        { "1/2", 1, 2, NULL },
        { "6/7", 6, 7, NULL },
        { "007/010", 7, 10, NULL },
        { "0/4096", 0, 4096, NULL },
        { "4095/4096", 4095, 4096, NULL },
        { "2/2", 0, 0, "must be below N (shards are numbered from 0: 0/2 .. 1/2)" },
        { "9/3", 0, 0, "must be below N" },
        { "0/0", 0, 0, "must be from 1 to 4096" },
        { "0/4097", 0, 0, "must be from 1 to 4096" },
        { "0/99999999999999999999999", 0, 0, "must be from 1 to 4096" },
        { "99999999999999999999999/2", 0, 0, "must be below N" },
        { "", 0, 0, "expected I/N" },
        { "1", 0, 0, "expected I/N" },
        { "1/", 0, 0, "expected I/N" },
        { "/2", 0, 0, "expected I/N" },
        { "-1/2", 0, 0, "expected I/N" },
        { "+1/2", 0, 0, "expected I/N" },
        { "1/+2", 0, 0, "expected I/N" },
        { " 1/2", 0, 0, "expected I/N" },
        { "1 /2", 0, 0, "expected I/N" },
        { "1/2 ", 0, 0, "expected I/N" },
        { "1/2/3", 0, 0, "expected I/N" },
        { "1//2", 0, 0, "expected I/N" },
        { "1.0/2", 0, 0, "expected I/N" },
        { "0x1/2", 0, 0, "expected I/N" },
        { "a/b", 0, 0, "expected I/N" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jb_err err = { 0 };
        int index = -5, count = -5;
        const int rc = jb_shard_parse(cases[i].s, &index, &count, &err);
        if (cases[i].count) {
            if (rc)
                fail_msg("\"%s\": refused: %s", cases[i].s, err.msg);
            assert_int_equal(index, cases[i].index);
            assert_int_equal(count, cases[i].count);
        } else {
            if (rc != JB_EINVAL)
                fail_msg("\"%s\": accepted as %d/%d", cases[i].s, index, count);
            if (!strstr(err.msg, "option --shard") || !strstr(err.msg, cases[i].why))
                fail_msg("\"%s\": error \"%s\" lacks \"%s\"", cases[i].s, err.msg, cases[i].why);
            assert_int_equal(index, -5); /* untouched when refused */
        }
    }
    struct jb_err err = { 0 };
    int index, count;
    assert_int_equal(jb_shard_parse(NULL, &index, &count, &err), JB_EINVAL);
}

/* ---- the shards are a partition --------------------------------------------------------------- */

/* A plan of n configurations whose ids are their indices ("0", "1", ...). */
static struct jb_sweep_config *fake_plan(int n)
{
    struct jb_sweep_config *c = calloc((size_t)n + 1, sizeof *c);
    assert_non_null(c);
    for (int k = 0; k < n; k++)
        snprintf(c[k].id, sizeof c[k].id, "%d", k);
    return c;
}

static void test_shard_partition(void **state)
{
    (void)state;
    for (int n = 0; n <= 60; n++)
        for (int N = 1; N <= 7; N++) {
            int seen[64] = { 0 }, lo = n + 1, hi = -1;
            for (int I = 0; I < N; I++) {
                const struct jb_sweep s = { .sweep = true, .shard_index = I, .shard_count = N };
                struct jb_sweep_config *c = fake_plan(n);
                const int mine = jb_sweep_shard(&s, c, n);
                assert_true(mine >= 0);
                int at = 0, rest = 0, prev_mine = -1, prev_rest = -1;
                for (int j = 0; j < n; j++) {
                    const int k = atoi(c[j].id);
                    const bool in = jb_sweep_in_shard(&s, k);
                    /* this shard's first, then the others; each part in plan order */
                    if (j < mine) {
                        if (!in || k % N != I || k <= prev_mine)
                            fail_msg("n=%d %d/%d: entry %d is configuration %d", n, I, N, j, k);
                        prev_mine = k;
                        seen[k]++;
                        at++;
                    } else {
                        if (in || k <= prev_rest)
                            fail_msg("n=%d %d/%d: entry %d is configuration %d", n, I, N, j, k);
                        prev_rest = k;
                        rest++;
                    }
                }
                assert_int_equal(at + rest, n); /* the plan stays whole: nothing lost or doubled */
                lo = mine < lo ? mine : lo;
                hi = mine > hi ? mine : hi;
                free(c);
            }
            for (int k = 0; k < n; k++)
                if (seen[k] != 1)
                    fail_msg("n=%d N=%d: configuration %d is in %d shards", n, N, k, seen[k]);
            if (n > 0 && hi - lo > 1)
                fail_msg("n=%d N=%d: shard sizes from %d to %d", n, N, lo, hi);
        }
    /* without --shard (or 0/1) the plan is the shard, unmoved */
    const struct jb_sweep whole = { .sweep = true }, one = { .sweep = true, .shard_count = 1 };
    struct jb_sweep_config *c = fake_plan(5);
    assert_int_equal(jb_sweep_shard(&whole, c, 5), 5);
    assert_int_equal(jb_sweep_shard(&one, c, 5), 5);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(atoi(c[k].id), k);
        assert_true(jb_sweep_in_shard(&whole, k) && jb_sweep_in_shard(&one, k));
    }
    free(c);
}

/* ---- a real plan ---------------------------------------------------------------------------- */

static void test_real_plan_shard(void **state)
{
    (void)state;
    struct jb_sweep s = { .sweep = true,
        .models = { "tiny" },
        .workloads = { "chat", "code" },
        .dtypes = { JB_DTYPE_F32, JB_DTYPE_Q8_0 },
        .threads = { 1 },
        .batches = { 0 },
        .n_models = 1,
        .n_workloads = 2,
        .n_dtypes = 2,
        .n_threads = 1,
        .n_batches = 1,
        .reps = 1,
        .weights_seed = 1 };
    struct jb_err err = { 0 };
    struct jb_sweep_config *whole = NULL, *c = NULL;
    int n_whole = 0, n = 0;
    if (jb_sweep_plan(&s, &whole, &n_whole, &err))
        fail_msg("plan: %s", err.msg);
    assert_int_equal(n_whole, 4);
    s.shard_index = 1;
    s.shard_count = 2;
    if (jb_sweep_plan(&s, &c, &n, &err))
        fail_msg("plan: %s", err.msg);
    assert_int_equal(n, 4);
    /* --shard does not change the plan: same configurations, same ids */
    for (int k = 0; k < n; k++)
        assert_string_equal(c[k].id, whole[k].id);
    char folder[PATH_MAX], shard_folder[PATH_MAX], want[PATH_MAX + 32];
    s.shard_count = 0;
    jb_sweep_default_out(&s, whole, n_whole, folder, sizeof folder);
    s.shard_count = 2;
    jb_sweep_default_out(&s, c, n, shard_folder, sizeof shard_folder);
    snprintf(want, sizeof want, "%s-shard-1-of-2", folder);
    assert_string_equal(shard_folder, want);
    assert_int_equal(jb_sweep_shard(&s, c, n), 2);
    assert_string_equal(c[0].id, whole[1].id); /* k = 1 and 3, in order */
    assert_string_equal(c[1].id, whole[3].id);
    /* dtypes nest outside workloads: 1 is f32 code, 3 is q8_0 code */
    assert_int_equal(c[0].dtype, JB_DTYPE_F32);
    assert_string_equal(c[0].w.name, "code");
    assert_int_equal(c[1].dtype, JB_DTYPE_Q8_0);
    assert_string_equal(c[1].w.name, "code");
    jb_sweep_plan_free(c, n); /* whole: every workload freed once (ASan, valgrind) */
    jb_sweep_plan_free(whole, n_whole);
}

/* ---- --layers auto ---------------------------------------------------------------------------- */

/* The plan of one configuration (model on chat in q8_0, 1 thread) under --layers `layers`. */
static int plan_layers(
    const char *model, int64_t layers, struct jb_sweep_config **c, int *n, struct jb_err *err)
{
    struct jb_sweep s = { .models = { model },
        .workloads = { "chat" },
        .dtypes = { JB_DTYPE_Q8_0 },
        .threads = { 1 },
        .batches = { 0 },
        .n_models = 1,
        .n_workloads = 1,
        .n_dtypes = 1,
        .n_threads = 1,
        .n_batches = 1,
        .reps = 1,
        .weights_seed = 1,
        .layers = layers };
    return jb_sweep_plan(&s, c, n, err);
}

/* The reference: the memory of K layers of c's configuration, from jb_mem_plan. */
static uint64_t total_at(const struct jb_sweep_config *c, int64_t K)
{
    struct jb_config k = c->cfg;
    k.layers_run = K < k.n_layers ? K : 0;
    struct jb_mem_plan p;
    jb_mem_plan(&k, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, 1, &p);
    return p.total_bytes;
}

/* The smallest memory limit (a multiple of 100 bytes) whose 90% holds `bytes`. */
static uint64_t limit_for(uint64_t bytes)
{
    return (bytes * 10 + 899) / 900 * 100; /* L >= 10 bytes / 9, rounded up to 100 */
}

static void set_limit(uint64_t bytes)
{
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)bytes);
    setenv("JOULEBENCH_MEM_LIMIT", v, 1);
}

/* Under JOULEBENCH_MEM_LIMIT, auto takes the largest K whose plan fits in 90% of the limit: at
 * the exact limit for K it is K, 100 bytes below it K - 1; the whole model when it fits; a
 * skip naming the figures when not even 2 layers fit. The config_id names K. */
static void test_layers_auto(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    struct jb_sweep_config *c = NULL, *whole = NULL;
    int n = 0, n_whole = 0;
    static const char *const models[] = { "Llama-3-70B", "Llama-3.1-405B" };
    static const int64_t ks[] = { 7, 3 };
    for (int m = 0; m < 2; m++) {
        unsetenv("JOULEBENCH_MEM_LIMIT");
        if (plan_layers(models[m], 0, &whole, &n_whole, &err))
            fail_msg("%s", err.msg);
        const int64_t K = ks[m];
        const uint64_t need = total_at(&whole[0], K);
        assert_true(need < total_at(&whole[0], K + 1));
        set_limit(limit_for(need));
        if (plan_layers(models[m], JB_LAYERS_AUTO, &c, &n, &err))
            fail_msg("%s", err.msg);
        assert_string_equal(c[0].skip, "");
        assert_int_equal(jb_config_layers(&c[0].cfg), K);
        assert_string_not_equal(c[0].id, whole[0].id);
        char id[24];
        snprintf(id, sizeof id, "%s", c[0].id);
        jb_sweep_plan_free(c, n);
        if (plan_layers(models[m], K, &c, &n, &err)) /* --layers K: the same configuration */
            fail_msg("%s", err.msg);
        assert_string_equal(c[0].id, id);
        jb_sweep_plan_free(c, n);
        set_limit(limit_for(need) - 100);
        if (plan_layers(models[m], JB_LAYERS_AUTO, &c, &n, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(jb_config_layers(&c[0].cfg), K - 1);
        jb_sweep_plan_free(c, n);
        /* not even two layers: a skip with the figures */
        set_limit(limit_for(total_at(&whole[0], 2)) - 100);
        if (plan_layers(models[m], JB_LAYERS_AUTO, &c, &n, &err))
            fail_msg("%s", err.msg);
        assert_non_null(strstr(c[0].skip, "does not fit even with 2 of its"));
        jb_sweep_plan_free(c, n);
        jb_sweep_plan_free(whole, n_whole);
    }
    /* a model that fits runs whole, under the id it has without --layers */
    set_limit(4000000000ull);
    if (plan_layers("tiny", 0, &whole, &n_whole, &err)
        || plan_layers("tiny", JB_LAYERS_AUTO, &c, &n, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(c[0].cfg.layers_run, 0);
    assert_string_equal(c[0].id, whole[0].id);
    jb_sweep_plan_free(c, n);
    jb_sweep_plan_free(whole, n_whole);
    /* --layers K beyond the model's layers: an input error naming it */
    assert_int_equal(plan_layers("tiny", 5, &c, &n, &err), JB_ERANGE);
    assert_non_null(strstr(err.msg, "cannot run 5 of its 4 decoder layers"));
    jb_sweep_plan_free(c, n);
    unsetenv("JOULEBENCH_MEM_LIMIT");
}

/* ---- the default folder --------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void test_default_out(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct jb_sweep_config *c = calloc(N, sizeof *c);
    char ids[128] = "";
    assert_non_null(c);
    for (int k = 0; k < N; k++)
        snprintf(c[k].id, sizeof c[k].id, "%016llx", 0x1234567800000000ull + (unsigned)k);
    struct jb_sweep s = { .sweep = true, .reps = 3, .warmup = 1 };
    char out[PATH_MAX], want[PATH_MAX], other[PATH_MAX];

    /* "results/sweep-" and the low 32 bits of FNV-1a over "ID,ID,...,|REPS|WARMUP" */
    for (int k = 0; k < 3; k++) {
        strcat(ids, c[k].id);
        strcat(ids, ",");
    }
    strcat(ids, "|3|1");
    snprintf(
        want, sizeof want, "results/sweep-%08llx", (unsigned long long)(fnv1a(ids) & 0xffffffffu));
    jb_sweep_default_out(&s, c, 3, out, sizeof out);
    assert_string_equal(out, want);

    s.shard_index = 2;
    s.shard_count = 5;
    jb_sweep_default_out(&s, c, 3, out, sizeof out);
    assert_string_equal(out, strcat(want, "-shard-2-of-5"));
    s.shard_index = 0;
    s.shard_count = 1;
    jb_sweep_default_out(&s, c, 3, out, sizeof out);
    assert_non_null(strstr(out, "-shard-0-of-1"));

    /* a long plan: its last configuration still counts */
    s.shard_count = 0;
    jb_sweep_default_out(&s, c, N, out, sizeof out);
    snprintf(c[N - 1].id, sizeof c[N - 1].id, "ffffffffffffffff");
    jb_sweep_default_out(&s, c, N, other, sizeof other);
    assert_string_not_equal(out, other);
    free(c);
}

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_parse),
        cmocka_unit_test(test_shard_partition),
        cmocka_unit_test(test_real_plan_shard),
        cmocka_unit_test(test_default_out),
        cmocka_unit_test(test_layers_auto),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("plan", tests, NULL, NULL));
}
