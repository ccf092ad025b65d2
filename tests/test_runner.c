/*
 * test_runner.c — the scheduler's promises, checked on the tiny model with workloads built in
 * the test: every request gets exactly its output length; single-stream runs one request at a
 * time; offline, server and concurrency never exceed their batch; TTFT includes queueing;
 * TPOT and ITL follow their definitions; SLO accounting; the stop flag abandons a repetition,
 * also one waiting an hour for its next arrival.
 */
#include "jb_test.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jb_cli.h"
#include "jb_run.h"

#define MAX_REQ 16

struct fixture {
    struct jb_workload w;
    struct jb_request req[MAX_REQ];
    struct jb_loaded L;
    struct jb_meter *meter;
    struct jb_run_record run;
    struct jb_request_record rec[MAX_REQ];
};

static void make_workload(struct fixture *f, enum jb_scenario sc, int64_t n, int64_t batch)
{
    memset(&f->w, 0, sizeof f->w);
    snprintf(f->w.name, sizeof f->w.name, "test");
    f->w.scenario = sc;
    f->w.batch = batch;
    f->w.concurrency = batch;
    f->w.seed = 1;
    f->w.requests = f->req;
    f->w.n_requests = n;
    for (int64_t i = 0; i < n; i++)
        f->req[i] = (struct jb_request) { i, 0.0, 5 + (i * 7) % 23, 2 + (i * 3) % 9 };
}

static void run_watched(struct fixture *f, volatile sig_atomic_t *stop, jb_progress_fn progress,
    void *progress_ctx, int want_rc)
{
    struct jb_err err = { 0 };
    int64_t n_seqs, ctx, bt;
    assert_int_equal(jb_run_shape(&f->w, 1024, &n_seqs, &ctx, &bt, &err), 0);
    const struct jb_load_opts lo
        = { "tiny", JB_DTYPE_F32, 1, true, NULL, n_seqs, ctx, bt, NULL, 0 };
    if (jb_load(&f->L, &lo, &err))
        fail_msg("%s", err.msg);
    const struct jb_meter_opts mo = { .energy = "none" };
    assert_int_equal(jb_meter_open(&f->meter, &mo, &err), 0);
    const struct jb_rep_opts o = { 42, stop, progress, progress_ctx, 0, "test", NULL, NULL, NULL };
    memset(&f->run, 0, sizeof f->run);
    int rc = jb_run_rep(&f->L, &f->w, f->meter, &o, &f->run, f->rec, &err);
    if (rc != want_rc)
        fail_msg("jb_run_rep returned %d (%s), expected %d", rc, err.msg, want_rc);
    jb_meter_close(f->meter);
    jb_unload(&f->L);
}

static void run(struct fixture *f, volatile sig_atomic_t *stop, int want_rc)
{
    run_watched(f, stop, NULL, NULL, want_rc);
}

/* Largest number of requests in flight at once (admitted, not yet finished). */
static int max_overlap(const struct fixture *f)
{
    int best = 0;
    for (int64_t i = 0; i < f->w.n_requests; i++) {
        int n = 0;
        const double t = f->rec[i].start_ms;
        for (int64_t j = 0; j < f->w.n_requests; j++)
            n += f->rec[j].start_ms <= t && f->rec[j].end_ms > t;
        best = n > best ? n : best;
    }
    return best;
}

/* Definitions that hold for every request of every scenario. */
static void check_common(const struct fixture *f)
{
    int64_t gen = 0, prompt = 0;
    for (int64_t i = 0; i < f->w.n_requests; i++) {
        const struct jb_request_record *q = &f->rec[i];
        assert_int_equal(q->request_id, i);
        assert_int_equal(q->output_tokens, f->req[i].output_tokens);
        ASSERT_LE(q->arrival_ms, q->start_ms);
        ASSERT_LE(q->start_ms, q->first_token_ms);
        ASSERT_LE(q->first_token_ms, q->end_ms);
        ASSERT_CLOSE(q->queue_ms, q->start_ms - q->arrival_ms, 1e-9);
        ASSERT_CLOSE(q->ttft_ms, q->first_token_ms - q->arrival_ms, 1e-9);
        ASSERT_CLOSE(q->e2e_ms, q->end_ms - q->arrival_ms, 1e-9);
        ASSERT_LE(q->queue_ms, q->ttft_ms); /* TTFT includes queueing */
        if (q->output_tokens > 1)
            ASSERT_CLOSE(
                q->tpot_ms, (q->e2e_ms - q->ttft_ms) / (double)(q->output_tokens - 1), 1e-9);
        else
            assert_true(isnan(q->tpot_ms));
        gen += q->output_tokens;
        prompt += q->prompt_tokens;
    }
    assert_int_equal(f->run.requests, f->w.n_requests);
    assert_int_equal(f->run.gen_tokens, gen); /* exactly as requested: no early stop */
    assert_int_equal(f->run.prompt_tokens, prompt);
    ASSERT_LE(f->run.ttft_ms_p50, f->run.ttft_ms_p99);
    if (gen > f->w.n_requests) /* some request generated more than its first token */
        ASSERT_LE(f->run.itl_ms_p50, f->run.itl_ms_p99);
    else
        assert_true(isnan(f->run.itl_ms_p50)); /* no gaps: empty, not 0 */
    ASSERT_LE(0, f->run.prefill_tok_s);
    ASSERT_CLOSE(
        f->run.total_tok_s, (double)(prompt + gen) / f->run.duration_s, 1e-6 * f->run.total_tok_s);
    assert_true(isnan(f->run.energy_j)); /* no source: empty, with the reason */
    assert_true(strlen(f->run.energy_reason) > 0);
}

static void test_single_stream(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_SINGLE_STREAM, 6, 4);
    run(&f, NULL, 0);
    check_common(&f);
    assert_int_equal(max_overlap(&f), 1);
    for (int64_t i = 1; i < 6; i++) /* the next arrives when the previous ends */
        ASSERT_CLOSE(f.rec[i].arrival_ms, f.rec[i - 1].end_ms, 1e-9);
    assert_true(f.run.busy_s == f.run.duration_s); /* closed loop: never waits */
}

static void test_offline_batches(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_OFFLINE, 10, 4);
    run(&f, NULL, 0);
    check_common(&f);
    assert_int_equal(max_overlap(&f), 4);
    for (int64_t i = 0; i < 10; i++)
        assert_true(f.rec[i].arrival_ms == 0.0); /* all available at once */
    ASSERT_LE(1e-6, f.rec[9].queue_ms);          /* the last waited for a free slot */
}

static void test_server_arrivals(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_SERVER, 5, 2);
    for (int64_t i = 0; i < 5; i++)
        f.req[i].arrival_s = 0.002 * (double)i;
    run(&f, NULL, 0);
    check_common(&f);
    ASSERT_LE(max_overlap(&f), 2);
    for (int64_t i = 0; i < 5; i++)
        ASSERT_CLOSE(f.rec[i].arrival_ms, 2.0 * (double)i, 1e-9);
}

/* Arrivals half a second apart, each request done in milliseconds: between them the engine
 * waits with nothing in flight, and busy_s is the duration less those gaps, which the request
 * records show (each from the end of one request to the arrival of the next); the gaps are
 * long so that a busy machine cannot fill them. */
static void test_busy_time(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_SERVER, 3, 2);
    for (int64_t i = 0; i < 3; i++) {
        f.req[i].arrival_s = 0.5 * (double)i;
        f.req[i].prompt_tokens = 4;
        f.req[i].output_tokens = 3;
    }
    run(&f, NULL, 0);
    check_common(&f);
    double gaps = 0, last_end = 0;
    for (int64_t i = 0; i < 3; i++) {
        gaps += fmax(0.0, f.rec[i].arrival_ms - last_end) * 1e-3;
        last_end = fmax(last_end, f.rec[i].end_ms);
    }
    ASSERT_LE(0.5, gaps); /* the requests did not fill the second between them */
    ASSERT_CLOSE(f.run.busy_s, f.run.duration_s - gaps, 0.05);
    ASSERT_LE(f.run.prefill_s + f.run.decode_s, f.run.busy_s);
}

static void test_concurrency_closed_loop(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_CONCURRENCY, 8, 3);
    run(&f, NULL, 0);
    check_common(&f);
    assert_int_equal(max_overlap(&f), 3);
    for (int64_t i = 3; i < 8; i++) { /* each later request arrives as an earlier one ends */
        bool found = false;
        for (int64_t j = 0; j < i && !found; j++)
            found = f.rec[j].end_ms == f.rec[i].arrival_ms;
        assert_true(found);
    }
}

static void test_pp_and_tg(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_PP, 2, 1);
    f.req[0].output_tokens = f.req[1].output_tokens = 1;
    run(&f, NULL, 0);
    check_common(&f);
    assert_true(isnan(f.run.tpot_ms_p50) && isnan(f.run.decode_tok_s));
    ASSERT_CLOSE(f.run.avg_ts,
        0.5
            * (f.rec[0].prompt_tokens / (f.rec[0].prefill_ms * 1e-3)
                + f.rec[1].prompt_tokens / (f.rec[1].prefill_ms * 1e-3)),
        1e-6 * f.run.avg_ts);

    make_workload(&f, JB_SCENARIO_TG, 1, 1);
    f.w.depth = 100;
    f.req[0].prompt_tokens = 1;
    f.req[0].output_tokens = 20;
    run(&f, NULL, 0);
    check_common(&f);
    assert_int_equal(f.run.prompt_tokens, 1); /* the depth fill is not counted */
    ASSERT_LE(1e-6, f.rec[0].arrival_ms);     /* the clock starts after the fill */
}

static void test_slo_accounting(void **state)
{
    (void)state;
    struct fixture f;
    make_workload(&f, JB_SCENARIO_SINGLE_STREAM, 4, 1);
    f.w.slo_ttft_ms = 1e6;
    f.w.slo_tpot_ms = 1e6;
    run(&f, NULL, 0);
    ASSERT_CLOSE(f.run.slo_met_share, 1.0, 0);
    ASSERT_CLOSE(f.run.goodput_req_s, f.run.req_s, 1e-9 * f.run.req_s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f.rec[i].slo_met, 1);
    f.w.slo_ttft_ms = 1e-9; /* nobody meets this */
    run(&f, NULL, 0);
    ASSERT_CLOSE(f.run.slo_met_share, 0.0, 0);
    ASSERT_CLOSE(f.run.goodput_req_s, 0.0, 0);
    f.w.slo_ttft_ms = f.w.slo_tpot_ms = 0; /* none: empty */
    run(&f, NULL, 0);
    assert_true(isnan(f.run.slo_met_share) && isnan(f.run.goodput_req_s));
    assert_int_equal(f.rec[0].slo_met, JB_I64_NONE);
}

static void test_stop_flag(void **state)
{
    (void)state;
    struct fixture f;
    volatile sig_atomic_t stop = 1;
    make_workload(&f, JB_SCENARIO_SINGLE_STREAM, 3, 1);
    run(&f, &stop, JB_EINTR);
}

/* Sets the stop flag from another thread 50 ms after the first request completes, as a signal
 * handler running there would: no signal interrupts the runner's sleep, so only its own checks
 * of the flag can see it. */
struct stopper {
    volatile sig_atomic_t stop, armed;
};

static void *stop_later(void *arg)
{
    struct stopper *x = arg;
    while (!x->armed)
        nanosleep(&(struct timespec) { 0, 1000000 }, NULL);
    nanosleep(&(struct timespec) { 0, 50000000 }, NULL);
    x->stop = 1;
    return NULL;
}

static void arm_stopper(void *ctx, int64_t done, int64_t total)
{
    (void)total;
    if (done == 1)
        ((struct stopper *)ctx)->armed = 1;
}

/* A server workload whose second request arrives an hour in: the stop flag set during the wait
 * for it abandons the repetition (JB_EINTR) instead of sleeping out the hour. alarm() turns a
 * wait that does not check the flag into a failure. */
static void test_stop_flag_during_arrival_wait(void **state)
{
    (void)state;
    struct fixture f;
    static struct stopper x; /* outlives the test, whatever happens to it */
    pthread_t t;
    make_workload(&f, JB_SCENARIO_SERVER, 2, 1);
    f.req[1].arrival_s = 3600;
    alarm(120);
    assert_int_equal(pthread_create(&t, NULL, stop_later, &x), 0);
    run_watched(&f, &x.stop, arm_stopper, &x, JB_EINTR);
    x.armed = 1; /* lets the thread end if the run failed before arming it */
    pthread_join(t, NULL);
    alarm(0);
}

static void test_shape_refuses_long_requests(void **state)
{
    (void)state;
    struct fixture f;
    struct jb_err err = { 0 };
    int64_t n, ctx, bt;
    make_workload(&f, JB_SCENARIO_OFFLINE, 3, 2);
    f.req[1].prompt_tokens = 1000;
    f.req[1].output_tokens = 30;
    assert_int_equal(jb_run_shape(&f.w, 1024, &n, &ctx, &bt, &err), JB_ERANGE);
    assert_non_null(strstr(err.msg, "request 1 needs 1029 positions"));
    f.req[1].output_tokens = 25;
    assert_int_equal(jb_run_shape(&f.w, 1024, &n, &ctx, &bt, &err), 0);
    assert_int_equal(ctx, 1024);
    assert_int_equal(n, 2);
}

/* ---- layer sampling on a fake clock ------------------------------------------------------- */

/* A clock that moves 1 ms every time it is read: every interval the runner measures is a
 * whole number of readings, the same in every run that reads it the same way. */
static int64_t g_fake_ns;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return g_fake_ns += 1000000;
}

/* One repetition of f's workload running `layers` of tiny's 4 layers, on the fake clock. */
static void run_layers_fake(struct fixture *f, int64_t layers)
{
    struct jb_err err = { 0 };
    int64_t n_seqs, ctx, bt;
    assert_int_equal(jb_run_shape(&f->w, 1024, &n_seqs, &ctx, &bt, &err), 0);
    const struct jb_load_opts lo = { .model = "tiny",
        .dtype = JB_DTYPE_F32,
        .seed = 1,
        .random_weights = true,
        .n_seqs = n_seqs,
        .ctx = ctx,
        .batch_tokens = bt,
        .layers = layers };
    if (jb_load(&f->L, &lo, &err))
        fail_msg("%s", err.msg);
    const struct jb_meter_opts mo = { .energy = "none" };
    assert_int_equal(jb_meter_open(&f->meter, &mo, &err), 0);
    const struct jb_rep_opts o = { .prompt_seed = 3, .run_id = "t", .clock_ns = fake_clock };
    memset(&f->run, 0, sizeof f->run);
    g_fake_ns = 0;
    if (jb_run_rep(&f->L, &f->w, f->meter, &o, &f->run, f->rec, &err))
        fail_msg("%s", err.msg);
    assert_null(f->L.state.layers_hook); /* taken down with the repetition */
    jb_meter_close(f->meter);
    jb_unload(&f->L);
}

/* Three single-stream requests of 10 prompt and 6 output tokens: 3 prefill calls and 15
 * decode calls, the layer part of each one clock reading (1 ms) long. The measured layer time
 * is 18 ms; each scaled time is the measured one + (L/K - 1) x its layer part; and two runs
 * of K = 2 (x2) and K = 3 (x4/3), whose clocks are read alike, differ in every request's
 * TTFT, TPOT and e2e by exactly (2 - 4/3) ms per call those span. */
static void test_layer_sampling_fake_clock(void **state)
{
    (void)state;
    static struct fixture f2, f3, full;
    struct fixture *fx[3] = { &f2, &f3, &full };
    const int64_t layers[3] = { 2, 3, 4 };
    for (int i = 0; i < 3; i++) {
        make_workload(fx[i], JB_SCENARIO_SINGLE_STREAM, 3, 1);
        for (int r = 0; r < 3; r++)
            fx[i]->req[r] = (struct jb_request) { r, 0.0, 10, 6 };
        run_layers_fake(fx[i], layers[i]);
    }
    for (int i = 0; i < 2; i++) {
        const struct jb_run_record *r = &fx[i]->run;
        const double scale = 4.0 / (double)layers[i];
        assert_int_equal(r->extrapolated, 1);
        assert_int_equal(r->layers_run, layers[i]);
        assert_int_equal(r->layers_total, 4);
        assert_non_null(strstr(r->extrapolation_method, i == 0 ? "x 4/2" : "x 4/3"));
        ASSERT_CLOSE(r->measured_layers_s, 18e-3, 1e-12);
        ASSERT_CLOSE(r->prefill_s - r->measured_prefill_s, (scale - 1) * 3e-3, 1e-12);
        ASSERT_CLOSE(r->decode_s - r->measured_decode_s, (scale - 1) * 15e-3, 1e-12);
        assert_true(r->measured_wall_s > 0 && r->measured_wall_s < r->duration_s);
        ASSERT_CLOSE(r->decode_tok_s, 15 / r->decode_s, 1e-9);
    }
    const double d = 2.0 - 4.0 / 3.0; /* ms per call between the two runs */
    for (int q = 0; q < 3; q++) {
        ASSERT_CLOSE(f2.rec[q].ttft_ms - f3.rec[q].ttft_ms, d * 1, 1e-6);
        ASSERT_CLOSE(f2.rec[q].e2e_ms - f3.rec[q].e2e_ms, d * 6, 1e-6);
        ASSERT_CLOSE(f2.rec[q].tpot_ms - f3.rec[q].tpot_ms, d, 1e-6);
        /* closed loop: request q arrives when q - 1 ends, on the virtual clock */
        ASSERT_CLOSE(f2.rec[q].arrival_ms - f3.rec[q].arrival_ms, d * 6 * q, 1e-6);
    }
    ASSERT_CLOSE(f2.run.duration_s - f3.run.duration_s, d * 18 * 1e-3, 1e-9);
    ASSERT_CLOSE(f2.run.tpot_ms_p50 - f3.run.tpot_ms_p50, d, 1e-6);
    /* the whole model: nothing scaled, nothing to audit */
    assert_int_equal(full.run.extrapolated, 0);
    assert_int_equal(full.run.layers_run, 4);
    assert_string_equal(full.run.extrapolation_method, "");
    assert_true(isnan(full.run.measured_layers_s) && isnan(full.run.measured_wall_s));
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_stream),
        cmocka_unit_test(test_offline_batches),
        cmocka_unit_test(test_server_arrivals),
        cmocka_unit_test(test_concurrency_closed_loop),
        cmocka_unit_test(test_pp_and_tg),
        cmocka_unit_test(test_slo_accounting),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_stop_flag_during_arrival_wait),
        cmocka_unit_test(test_shape_refuses_long_requests),
        cmocka_unit_test(test_layer_sampling_fake_clock),
        cmocka_unit_test(test_busy_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
