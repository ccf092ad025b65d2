/*
 * runner.c — one repetition of a workload on a loaded model.
 *
 * A small continuous-batching scheduler: up to n_slots sequences are in flight; requests are
 * admitted in order when they have arrived (server: their arrival time; offline: at once;
 * single-stream, pp, tg: when the previous one ends; concurrency N: when one of N users'
 * previous request ends) and a slot is free. Each step is one forward call: prompt chunks of
 * newly admitted requests first (prefill-first, at most max_tokens tokens), otherwise one
 * decode token for every sequence in flight. Tokens are chosen greedily and every request
 * generates exactly its output length. All buffers are allocated before the clock starts.
 */
#include "jb_run.h"

#include "jb_clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jb_stats.h"

#define STOP_POLL_S 0.1 /* the longest nap between checks of the stop flag */

#ifdef JB_TEST_HOOKS
/* Test builds only (cmake -DJB_TEST_HOOKS=ON; the release binary has no trace of it):
 * JOULEBENCH_TEST_SLOWDOWN=F > 1 makes every decode step F times as long by spinning, busy like
 * slower code, for (F - 1) times the step's own time: a regression of known size for
 * scripts/ci-aa.sh to detect. */
static void test_slowdown(double step_s)
{
    static double factor = -1.0;
    if (factor < 0.0) {
        const char *v = getenv("JOULEBENCH_TEST_SLOWDOWN");
        factor = v ? strtod(v, NULL) : 1.0;
        if (!(factor > 1.0 && factor < 100.0))
            factor = 1.0;
    }
    if (factor == 1.0)
        return;
    const double until = jb_now_s() + (factor - 1.0) * step_s;
    while (jb_now_s() < until)
        ;
}
#endif

struct slot {
    int64_t req;         /* index into the workload's requests; -1 when free */
    int64_t prompt_done; /* prompt tokens already in the cache */
    int64_t generated;   /* tokens generated so far */
    int32_t last;        /* the last token, fed to the next decode step */
    double last_s;       /* when it was produced */
};

struct sched {
    struct jb_loaded *L;
    const struct jb_workload *w;
    const struct jb_rep_opts *o;
    struct jb_meter *meter;
    struct jb_request_record *reqs;
    int64_t n, n_slots, max_tokens, vocab, max_prompt;
    int64_t released, next, done; /* requests [0, released) have a ready time */
    int64_t t0_ns;
    struct slot *slots;
    int32_t *prompts;      /* (n_slots, max_prompt) */
    int32_t *depth_tokens; /* (depth) */
    double *ready;         /* (n) admission time, seconds from the start */
    struct jb_chunk *chunks;
    int64_t *chunk_slot;
    int64_t n_chunks;
    float *logits; /* (n_slots, vocab) */
    double *itl;   /* (total output tokens) pooled gaps, seconds */
    int64_t n_itl;
    double *scratch; /* (n) for percentiles */
    double prefill_s, decode_s, flops, weight_bytes;
    int64_t prompt_tokens, decode_tokens, gen_tokens;
    int steady;              /* 0 not yet, 1 batch full (window open), 2 draining (closed) */
    int64_t steady_gen0, steady_tokens;
    /* layer sampling: the virtual clock runs ahead of the real one by extra_s, (scale - 1) x
     * the real time spent inside the sampled layers so far */
    double scale;                    /* layers_total / layers_run; 1 when the whole model runs */
    double extra_s;                  /* virtual - real, seconds */
    int64_t layers_t_ns;             /* when the current call entered its layers */
    enum jb_phase phase;             /* the phase of the forward call under way */
    double layers_s[JB_PHASE_COUNT]; /* real seconds inside the layers, per phase */
    double real_prefill_s, real_decode_s;
    double real_s; /* real seconds the repetition took */
    double idle_s; /* waiting for an arrival with nothing in flight, after the first admission */
};

static int64_t clock_ns(const struct sched *s)
{
    return s->o->clock_ns ? s->o->clock_ns(s->o->clock_ctx) : jb_now_ns();
}

/* Seconds since the repetition began, on the virtual clock (the real one without sampling). */
static double now_s(const struct sched *s)
{
    return (double)(clock_ns(s) - s->t0_ns) * 1e-9 + s->extra_s;
}

/* jb_forward's layers hook: splits each call into its layer part and the rest. */
static void on_layers(void *ctx, bool entering)
{
    struct sched *s = ctx;
    if (!entering) {
        const double dt = (double)(clock_ns(s) - s->layers_t_ns) * 1e-9;
        s->layers_s[s->phase] += dt;
        s->extra_s += (s->scale - 1.0) * dt;
    }
    jb_meter_layers(s->meter, entering);
    if (entering)
        s->layers_t_ns = clock_ns(s);
}

static bool closed_loop(enum jb_scenario sc)
{
    return sc != JB_SCENARIO_SERVER && sc != JB_SCENARIO_OFFLINE;
}

int jb_run_shape(const struct jb_workload *w, int64_t max_pos, int64_t *n_seqs, int64_t *ctx,
    int64_t *batch_tokens, struct jb_err *err)
{
    int64_t max_prompt = 1;
    *ctx = 1;
    for (int64_t i = 0; i < w->n_requests; i++) {
        const struct jb_request *r = &w->requests[i];
        const int64_t need = w->depth + r->prompt_tokens + r->output_tokens - 1;
        if (need > max_pos)
            return jb_fail(err, JB_ERANGE,
                "workload %s: request %lld needs %lld positions (depth "
                "%lld + prompt %lld + output %lld - 1) but the model holds %lld "
                "(max_position_embeddings); lower --token-scale or --depth",
                w->name, (long long)r->id, (long long)need, (long long)w->depth,
                (long long)r->prompt_tokens, (long long)r->output_tokens, (long long)max_pos);
        *ctx = need > *ctx ? need : *ctx;
        max_prompt = r->prompt_tokens > max_prompt ? r->prompt_tokens : max_prompt;
    }
    switch (w->scenario) {
    case JB_SCENARIO_OFFLINE:
    case JB_SCENARIO_SERVER: *n_seqs = w->batch; break;
    case JB_SCENARIO_CONCURRENCY: *n_seqs = w->concurrency; break;
    default: *n_seqs = 1; break;
    }
    if (*n_seqs > w->n_requests)
        *n_seqs = w->n_requests > 0 ? w->n_requests : 1;
    int64_t bt = max_prompt < 512 ? max_prompt : 512;
    if (w->depth > bt)
        bt = w->depth < 512 ? w->depth : 512;
    *batch_tokens = bt > *n_seqs ? bt : *n_seqs;
    return 0;
}

/* ---- set-up and tear-down (outside the timed region) ----------------------------------- */

static void sched_free(struct sched *s)
{
    s->L->state.layers_hook = NULL;
    s->L->state.layers_hook_ctx = NULL;
    free(s->slots);
    free(s->prompts);
    free(s->depth_tokens);
    free(s->ready);
    free(s->chunks);
    free(s->chunk_slot);
    free(s->logits);
    free(s->itl);
    free(s->scratch);
}

static uint32_t synthetic_token(uint64_t seed, int64_t request, int64_t pos, int64_t vocab)
{
    uint64_t st = seed ^ ((uint64_t)request * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)pos << 32);
    return (uint32_t)(jb_rng_next(&st) % (uint64_t)vocab);
}

static int sched_init(struct sched *s, struct jb_loaded *L, const struct jb_workload *w,
    struct jb_meter *meter, const struct jb_rep_opts *o, struct jb_request_record *reqs,
    struct jb_err *err)
{
    memset(s, 0, sizeof *s);
    s->L = L;
    s->w = w;
    s->o = o;
    s->meter = meter;
    s->reqs = reqs;
    s->n = o->max_requests > 0 && o->max_requests < w->n_requests ? o->max_requests : w->n_requests;
    s->n_slots = L->state.n_seqs;
    s->scale = (double)L->cfg.n_layers / (double)jb_config_layers(&L->cfg);
    if (jb_config_sampled(&L->cfg)) {
        L->state.layers_hook = on_layers;
        L->state.layers_hook_ctx = s;
    }
    s->max_tokens = L->state.max_tokens;
    s->vocab = L->cfg.vocab_size;
    int64_t outputs = 0;
    s->max_prompt = 1;
    for (int64_t i = 0; i < s->n; i++) {
        outputs += w->requests[i].output_tokens;
        if (w->requests[i].prompt_tokens > s->max_prompt)
            s->max_prompt = w->requests[i].prompt_tokens;
    }
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    s->prompts = malloc((size_t)(s->n_slots * s->max_prompt) * sizeof *s->prompts);
    s->depth_tokens = malloc((size_t)(w->depth + 1) * sizeof *s->depth_tokens);
    s->ready = malloc((size_t)(s->n + 1) * sizeof *s->ready);
    s->chunks = malloc((size_t)s->n_slots * sizeof *s->chunks);
    s->chunk_slot = malloc((size_t)s->n_slots * sizeof *s->chunk_slot);
    s->logits = malloc((size_t)(s->n_slots * s->vocab) * sizeof *s->logits);
    s->itl = malloc((size_t)(outputs + 1) * sizeof *s->itl);
    s->scratch = malloc((size_t)(s->n + 1) * sizeof *s->scratch);
    if (!s->slots || !s->prompts || !s->depth_tokens || !s->ready || !s->chunks || !s->chunk_slot
        || !s->logits || !s->itl || !s->scratch) {
        sched_free(s);
        return jb_fail(err, JB_ENOMEM, "out of memory preparing the run");
    }
    for (int64_t k = 0; k < s->n_slots; k++) {
        s->slots[k].req = -1;
        jb_state_reset(&L->state, k);
    }
    for (int64_t i = 0; i < w->depth; i++)
        s->depth_tokens[i] = (int32_t)synthetic_token(o->prompt_seed, -1, i, s->vocab);
    /* open loop: every request has its time; closed loop: the first ones start at once */
    const bool closed = closed_loop(w->scenario);
    s->released = closed ? (s->n_slots < s->n ? s->n_slots : s->n) : s->n;
    for (int64_t i = 0; i < s->n; i++)
        s->ready[i] = w->scenario == JB_SCENARIO_SERVER ? w->requests[i].arrival_s : 0.0;
    memset(reqs, 0, (size_t)s->n * sizeof *reqs);
    return 0;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static int fill_depth(struct sched *s, int64_t k, struct jb_err *err)
{
    if (s->w->depth <= 0)
        return 0;
    jb_meter_phase(s->meter, JB_PHASE_SETUP);
    s->phase = JB_PHASE_SETUP;
    return jb_prefill(&s->L->model, &s->L->state, k, s->depth_tokens, s->w->depth, NULL, err);
}

static int admit(struct sched *s, struct jb_err *err)
{
    for (int64_t k = 0; k < s->n_slots && s->next < s->released; k++) {
        if (s->slots[k].req >= 0 || s->ready[s->next] > now_s(s))
            continue;
        const int64_t i = s->next++;
        const struct jb_request *r = &s->w->requests[i];
        int rc = fill_depth(s, k, err);
        if (rc)
            return rc;
        if (s->w->depth > 0 && s->w->scenario != JB_SCENARIO_SERVER)
            s->ready[i] = now_s(s); /* the request's clock starts after the untimed fill */
        for (int64_t p = 0; p < r->prompt_tokens; p++)
            s->prompts[k * s->max_prompt + p]
                = (int32_t)synthetic_token(s->o->prompt_seed, r->id, p, s->vocab);
        s->slots[k] = (struct slot) { .req = i };
        s->reqs[i].arrival_ms = s->ready[i] * 1e3;
        s->reqs[i].start_ms = now_s(s) * 1e3;
    }
    return 0;
}

static bool any_active(const struct sched *s)
{
    for (int64_t k = 0; k < s->n_slots; k++)
        if (s->slots[k].req >= 0)
            return true;
    return false;
}

/* Sleeps until the next request arrives (open loop, or nothing in flight), at most
 * STOP_POLL_S at a time: the loop checks the stop flag between naps, so Ctrl-C acts within
 * one even when the signal lands on another thread or the next arrival is an hour away. */
static void wait_for_arrival(struct sched *s)
{
    double wait = s->ready[s->next] - now_s(s);
    if (wait <= 0)
        return;
    jb_meter_phase(s->meter, JB_PHASE_IDLE);
    wait = wait < STOP_POLL_S ? wait : STOP_POLL_S;
    struct timespec ts = { (time_t)wait, (long)((wait - floor(wait)) * 1e9) };
    const double t0 = now_s(s);
    nanosleep(&ts, NULL); /* a signal cuts it short too */
    if (s->next > 0)      /* inside the window duration_s spans: from the first arrival on */
        s->idle_s += now_s(s) - t0;
}

/* Chunks for this step: prompt pieces first; when no prompt is pending, one decode token per
 * sequence in flight. Returns true for a prefill step. */
static bool plan_step(struct sched *s)
{
    int64_t budget = s->max_tokens;
    s->n_chunks = 0;
    for (int64_t k = 0; k < s->n_slots && budget > 0; k++) {
        struct slot *sl = &s->slots[k];
        if (sl->req < 0)
            continue;
        const int64_t left = s->w->requests[sl->req].prompt_tokens - sl->prompt_done;
        if (left <= 0)
            continue;
        const int64_t take = left < budget ? left : budget;
        s->chunks[s->n_chunks]
            = (struct jb_chunk) { k, s->prompts + k * s->max_prompt + sl->prompt_done, take };
        s->chunk_slot[s->n_chunks++] = k;
        budget -= take;
    }
    if (s->n_chunks > 0)
        return true;
    for (int64_t k = 0; k < s->n_slots; k++) {
        if (s->slots[k].req < 0)
            continue;
        s->chunks[s->n_chunks] = (struct jb_chunk) { k, &s->slots[k].last, 1 };
        s->chunk_slot[s->n_chunks++] = k;
    }
    return false;
}

/* Model work of this step, for the FLOP and byte figures (weights are read once per call). */
static void account_cost(struct sched *s)
{
    struct jb_forward_cost c;
    int64_t tokens = 0;
    for (int64_t i = 0; i < s->n_chunks; i++) {
        const int64_t k = s->chunk_slot[i];
        jb_forward_cost(&s->L->cfg, s->L->model.dtype, s->chunks[i].n,
            s->L->state.seq_len[k] - s->chunks[i].n, 1, &c);
        s->flops += c.flops;
        tokens += s->chunks[i].n;
    }
    jb_forward_cost(&s->L->cfg, s->L->model.dtype, tokens, 0, s->n_chunks, &c);
    s->weight_bytes += c.weight_bytes;
}

static void complete(struct sched *s, int64_t k, double t)
{
    struct slot *sl = &s->slots[k];
    s->reqs[sl->req].end_ms = t * 1e3;
    sl->req = -1;
    jb_state_reset(&s->L->state, k);
    s->done++;
    if (closed_loop(s->w->scenario) && s->released < s->n)
        s->ready[s->released++] = t; /* the user's next request */
}

/* Takes each chunk's token, records its time, and frees finished sequences. */
static void take_tokens(struct sched *s, bool prefill, double t)
{
    for (int64_t i = 0; i < s->n_chunks; i++) {
        const int64_t k = s->chunk_slot[i];
        struct slot *sl = &s->slots[k];
        const struct jb_request *r = &s->w->requests[sl->req];
        if (prefill) {
            sl->prompt_done += s->chunks[i].n;
            if (sl->prompt_done < r->prompt_tokens)
                continue; /* more of this prompt next step */
            s->reqs[sl->req].first_token_ms = t * 1e3;
        } else {
            s->itl[s->n_itl++] = t - sl->last_s;
        }
        sl->last = (int32_t)jb_argmax(s->logits + i * s->vocab, s->vocab);
        sl->last_s = t;
        sl->generated++;
        s->gen_tokens++;
        if (sl->generated == r->output_tokens)
            complete(s, k, t);
    }
}

static int step(struct sched *s, struct jb_err *err)
{
    const bool prefill = plan_step(s);
    s->phase = prefill ? JB_PHASE_PREFILL : JB_PHASE_DECODE;
    jb_meter_phase(s->meter, s->phase);
    const double extra_a = s->extra_s, t_a = now_s(s);
    int rc = jb_forward(&s->L->model, &s->L->state, s->chunks, s->n_chunks, s->logits, err);
#ifdef JB_TEST_HOOKS
    if (!prefill)
        test_slowdown(now_s(s) - t_a);
#endif
    const double t_b = now_s(s), real = (t_b - t_a) - (s->extra_s - extra_a);
    if (rc)
        return rc;
    if (prefill) {
        s->prefill_s += t_b - t_a;
        s->real_prefill_s += real;
        for (int64_t i = 0; i < s->n_chunks; i++)
            s->prompt_tokens += s->chunks[i].n;
    } else {
        s->decode_s += t_b - t_a;
        s->real_decode_s += real;
        s->decode_tokens += s->n_chunks;
    }
    take_tokens(s, prefill, t_b);
    account_cost(s);
    return 0;
}

static int64_t in_flight(const struct sched *s)
{
    int64_t n = 0;
    for (int64_t k = 0; k < s->n_slots; k++)
        n += s->slots[k].req >= 0;
    return n;
}

/* The steady-state window of a batched run: from the first step with every slot busy to the
 * first step after which no request is left to admit and a slot is free (the drain). */
static void track_steady(struct sched *s)
{
    if (s->n_slots < 2 || !(s->w->scenario == JB_SCENARIO_OFFLINE
            || s->w->scenario == JB_SCENARIO_SERVER || s->w->scenario == JB_SCENARIO_CONCURRENCY))
        return;
    const int64_t busy = in_flight(s);
    if (s->steady == 0 && busy == s->n_slots) {
        jb_meter_mark(s->meter, JB_MARK_STEADY_BEGIN);
        s->steady_gen0 = s->gen_tokens;
        s->steady = 1;
    } else if (s->steady == 1 && s->next >= s->n && busy < s->n_slots) {
        jb_meter_mark(s->meter, JB_MARK_STEADY_END);
        s->steady_tokens = s->gen_tokens - s->steady_gen0;
        s->steady = 2;
    }
}

static int run_loop(struct sched *s, struct jb_err *err)
{
    int rc = 0;
    while (!rc && s->done < s->n) {
        if (s->o->stop && *s->o->stop)
            return jb_fail(err, JB_EINTR, "interrupted");
        const int64_t before = s->done;
        if ((rc = admit(s, err)))
            break;
        if (!any_active(s)) {
            if (s->next >= s->released)
                return jb_fail(err, JB_EINVAL, "scheduler stalled with %lld of %lld requests done",
                    (long long)s->done, (long long)s->n);
            wait_for_arrival(s);
            continue;
        }
        rc = step(s, err);
        track_steady(s);
        if (s->o->progress && s->done != before)
            s->o->progress(s->o->progress_ctx, s->done, s->n);
    }
    if (s->steady == 1) { /* the batch drained as the last requests finished */
        jb_meter_mark(s->meter, JB_MARK_STEADY_END);
        s->steady_tokens = s->gen_tokens - s->steady_gen0;
    }
    return rc;
}

/* ---- results ------------------------------------------------------------------------------ */

static void request_metrics(struct sched *s, int64_t i)
{
    struct jb_request_record *q = &s->reqs[i];
    const struct jb_request *r = &s->w->requests[i];
    q->schema_version = JB_SCHEMA_VERSION;
    q->request_id = r->id;
    q->prompt_tokens = r->prompt_tokens;
    q->output_tokens = r->output_tokens;
    q->queue_ms = q->start_ms - q->arrival_ms;
    q->ttft_ms = q->first_token_ms - q->arrival_ms;
    q->e2e_ms = q->end_ms - q->arrival_ms;
    q->prefill_ms = q->first_token_ms - q->start_ms;
    q->tpot_ms
        = r->output_tokens > 1 ? (q->e2e_ms - q->ttft_ms) / (double)(r->output_tokens - 1) : NAN;
    const bool has_slo = s->w->slo_ttft_ms > 0 || s->w->slo_tpot_ms > 0;
    const bool met = (s->w->slo_ttft_ms <= 0 || q->ttft_ms <= s->w->slo_ttft_ms)
        && (s->w->slo_tpot_ms <= 0 || isnan(q->tpot_ms) || q->tpot_ms <= s->w->slo_tpot_ms);
    q->slo_met = has_slo ? met : JB_I64_NONE;
}

/* Percentiles p50/p90/p99 of field `off` (a double in the request record) over n requests. */
static void percentiles(struct sched *s, size_t off, double *p50, double *p90, double *p99)
{
    size_t m = 0;
    for (int64_t i = 0; i < s->n; i++) {
        double v;
        memcpy(&v, (const char *)&s->reqs[i] + off, sizeof v);
        if (!isnan(v))
            s->scratch[m++] = v;
    }
    jb_sort(s->scratch, m);
    *p50 = jb_percentile(s->scratch, m, 50);
    if (p90)
        *p90 = jb_percentile(s->scratch, m, 90);
    *p99 = jb_percentile(s->scratch, m, 99);
}

static double per_request_ts(const struct sched *s, int64_t i)
{
    const struct jb_request_record *q = &s->reqs[i];
    if (s->w->scenario == JB_SCENARIO_PP)
        return (double)q->prompt_tokens / (q->prefill_ms * 1e-3);
    if (q->output_tokens < 2)
        return NAN;
    return (double)(q->output_tokens - 1) / ((q->e2e_ms - q->ttft_ms) * 1e-3);
}

/* What layer sampling ran, and what the sampled run measured before scaling. */
static void layer_metrics(const struct sched *s, struct jb_run_record *run)
{
    const struct jb_config *c = &s->L->cfg;
    run->layers_run = jb_config_layers(c);
    run->layers_total = c->n_layers;
    run->extrapolated = jb_config_sampled(c);
    run->measured_wall_s = run->measured_prefill_s = run->measured_decode_s = NAN;
    run->measured_layers_s = run->measured_energy_j = run->measured_layers_j = NAN;
    run->extrapolation_method[0] = '\0';
    if (!run->extrapolated)
        return;
    snprintf(run->extrapolation_method, sizeof run->extrapolation_method,
        "layer sampling: time and energy in the layers x %lld/%lld", (long long)c->n_layers,
        (long long)run->layers_run);
    run->measured_wall_s = s->real_s;
    run->measured_prefill_s = s->real_prefill_s;
    run->measured_decode_s = s->real_decode_s;
    run->measured_layers_s = 0;
    for (int p = 0; p < JB_PHASE_COUNT; p++)
        run->measured_layers_s += s->layers_s[p];
}

static void run_metrics(struct sched *s, struct jb_run_record *run)
{
    double first = INFINITY, last = 0;
    int64_t met = 0;
    for (int64_t i = 0; i < s->n; i++) {
        request_metrics(s, i);
        first = fmin(first, s->reqs[i].arrival_ms);
        last = fmax(last, s->reqs[i].end_ms);
        met += s->reqs[i].slo_met == 1;
        s->scratch[i] = per_request_ts(s, i);
    }
    struct jb_summary ts;
    jb_summarize(s->scratch, (size_t)s->n, &ts);
    run->avg_ts = ts.mean;
    run->stddev_ts = ts.stddev;
    run->requests = s->n;
    run->prompt_tokens = s->prompt_tokens;
    run->gen_tokens = s->gen_tokens;
    run->duration_s = (last - first) * 1e-3;
    run->busy_s = fmax(0.0, run->duration_s - s->idle_s);
#define REQ_PCT(field, metric)                                                                     \
    percentiles(s, offsetof(struct jb_request_record, field), &run->metric##_p50,                  \
        &run->metric##_p90, &run->metric##_p99)
    REQ_PCT(ttft_ms, ttft_ms);
    REQ_PCT(tpot_ms, tpot_ms);
    REQ_PCT(e2e_ms, e2e_ms);
#undef REQ_PCT
    percentiles(s, offsetof(struct jb_request_record, queue_ms), &run->queue_ms_p50, NULL,
        &run->queue_ms_p99);
    for (int64_t i = 0; i < s->n_itl; i++)
        s->itl[i] *= 1e3;
    jb_sort(s->itl, (size_t)s->n_itl);
    run->itl_ms_p50 = jb_percentile(s->itl, (size_t)s->n_itl, 50);
    run->itl_ms_p90 = jb_percentile(s->itl, (size_t)s->n_itl, 90);
    run->itl_ms_p99 = jb_percentile(s->itl, (size_t)s->n_itl, 99);
    run->prefill_s = s->prefill_s;
    run->decode_s = s->decode_s;
    run->prefill_tok_s = s->prefill_s > 0 ? (double)s->prompt_tokens / s->prefill_s : NAN;
    run->decode_tok_s = s->decode_s > 0 ? (double)s->decode_tokens / s->decode_s : NAN;
    run->total_tok_s = (double)(s->prompt_tokens + s->gen_tokens) / run->duration_s;
    run->req_s = (double)s->n / run->duration_s;
    const bool has_slo = s->w->slo_ttft_ms > 0 || s->w->slo_tpot_ms > 0;
    run->slo_ttft_ms = s->w->slo_ttft_ms > 0 ? s->w->slo_ttft_ms : NAN;
    run->slo_tpot_ms = s->w->slo_tpot_ms > 0 ? s->w->slo_tpot_ms : NAN;
    run->slo_met_share = has_slo ? (double)met / (double)s->n : NAN;
    run->goodput_req_s = has_slo ? (double)met / run->duration_s : NAN;
    const double tokens = (double)(s->prompt_tokens + s->gen_tokens);
    run->gflop_per_token = s->flops / tokens * 1e-9;
    run->weight_gb_per_token = s->weight_bytes / tokens * 1e-9;
    layer_metrics(s, run);
}

static double per(double x, double n)
{
    return n > 0 ? x / n : NAN;
}

static void counter_metrics(struct jb_run_record *run, const struct jb_meter_result *r)
{
    const double tokens = (double)(run->prompt_tokens + run->gen_tokens);
    run->instructions = r->counters.v[JB_CTR_INSTRUCTIONS];
    run->cycles = r->counters.v[JB_CTR_CYCLES];
    run->fp_ops = r->counters.v[JB_CTR_FP];
    run->llc_misses = r->counters.v[JB_CTR_LLC_MISSES];
    run->ipc = per(run->instructions, run->cycles);
    run->instructions_per_token = per(run->instructions, tokens);
    run->prefill_instructions = r->phase_counters[JB_PHASE_PREFILL].v[JB_CTR_INSTRUCTIONS];
    run->decode_instructions = r->phase_counters[JB_PHASE_DECODE].v[JB_CTR_INSTRUCTIONS];
    snprintf(run->counters_reason, sizeof run->counters_reason, "%s", r->counters_reason);
}

/* Layer sampling: the energy of the full model, from the sampled run's layer part x scale. */
static void scale_energy(struct jb_meter_result *r, double scale)
{
    const double k = scale - 1.0;
    r->energy_j += k * r->layers_j;
    for (int p = 0; p < JB_PHASE_COUNT; p++)
        r->phase_j[p] += k * r->layers_phase_j[p];
    for (int d = 0; d < JB_DOMAIN_COUNT; d++)
        r->kind_j[d] += k * r->layers_kind_j[d];
    r->steady_j += k * r->layers_steady_j;
    r->steady_s += k * r->layers_steady_s;
}

static void energy_metrics(
    struct jb_run_record *run, struct jb_meter_result *r, const struct sched *s)
{
    if (run->extrapolated) {
        run->measured_energy_j = r->energy_j;
        run->measured_layers_j = r->layers_j;
        scale_energy(r, s->scale);
    }
    const double tokens = (double)(run->prompt_tokens + run->gen_tokens);
    run->energy_j = r->energy_j;
    run->energy_prefill_j = r->phase_j[JB_PHASE_PREFILL];
    run->energy_decode_j = r->phase_j[JB_PHASE_DECODE];
    run->energy_idle_j = r->phase_j[JB_PHASE_IDLE] + r->phase_j[JB_PHASE_SETUP];
    run->j_per_prompt_token = per(run->energy_prefill_j, (double)run->prompt_tokens);
    run->j_per_output_token = per(run->energy_decode_j, (double)(run->gen_tokens - run->requests));
    run->j_per_token = per(r->energy_j, tokens);
    run->j_per_query = per(r->energy_j, (double)run->requests);
    run->avg_power_w = per(r->energy_j, run->duration_s);
    run->energy_pkg_j = r->kind_j[JB_DOMAIN_PACKAGE];
    run->energy_cores_j = r->kind_j[JB_DOMAIN_CORES];
    run->energy_dram_j = r->kind_j[JB_DOMAIN_DRAM];
    run->energy_psys_j = r->kind_j[JB_DOMAIN_PSYS];
    run->energy_gpu_j = r->kind_j[JB_DOMAIN_GPU];
    run->energy_cpu_j = r->kind_j[JB_DOMAIN_CPU];
    run->steady_j_per_output_token = per(r->steady_j, (double)s->steady_tokens);
    run->steady_s = r->steady_s;
    run->idle_power_w = run->idle_power_sd_w = run->energy_net_j = run->net_j_per_token = NAN;
    snprintf(run->energy_source, sizeof run->energy_source, "%s", r->source);
    snprintf(run->energy_method, sizeof run->energy_method, "%s", r->method);
    snprintf(run->energy_domains, sizeof run->energy_domains, "%s", r->domains);
    snprintf(run->energy_low_confidence, sizeof run->energy_low_confidence, "%s", r->low_confidence);
    snprintf(run->energy_uncertainty, sizeof run->energy_uncertainty, "%s", r->uncertainty);
    snprintf(run->energy_reason, sizeof run->energy_reason, "%s", r->reason);
    run->energy_reads = r->reads;
    run->energy_wraps = r->wraps;
    counter_metrics(run, r);
}

/* What the meter recorded of its own measurement, for the row's validity verdict; the idle
 * baseline and the machine facts are the session's. */
static void validity_facts(
    const struct jb_run_record *run, const struct jb_meter_result *r, struct jb_validity_rep *f)
{
    jb_validity_rep_init(f);
    f->energy = isfinite(run->energy_j);
    snprintf(f->method, sizeof f->method, "%s", r->method);
    snprintf(f->source, sizeof f->source, "%s", r->source);
    f->window_s = r->window_s;
    f->update_s = r->update_s;
    f->period_s = r->period_s;
    f->phase_s[0] = r->phase_s[JB_PHASE_PREFILL];
    f->phase_s[1] = r->phase_s[JB_PHASE_DECODE];
    f->phase_samples[0] = r->phase_samples[JB_PHASE_PREFILL];
    f->phase_samples[1] = r->phase_samples[JB_PHASE_DECODE];
    f->missed_samples = r->missed_samples;
    f->unaccounted_wraps = r->gaps;
}

void jb_run_apply_idle(struct jb_run_record *run, double idle_w, double idle_sd_w)
{
    run->idle_power_w = idle_w;
    run->idle_power_sd_w = idle_sd_w;
    run->energy_net_j = run->energy_j - idle_w * run->duration_s;
    run->net_j_per_token = per(run->energy_net_j, (double)(run->prompt_tokens + run->gen_tokens));
}

void jb_run_counter_events(struct jb_run_record *run, const char *events)
{
    snprintf(run->counter_events, sizeof run->counter_events, "%s", events);
}

int jb_run_rep(struct jb_loaded *L, const struct jb_workload *w, struct jb_meter *meter,
    const struct jb_rep_opts *o, struct jb_run_record *run, struct jb_request_record *reqs,
    struct jb_err *err)
{
    struct sched s;
    int rc = sched_init(&s, L, w, meter, o, reqs, err);
    if (rc)
        return rc;
    struct jb_meter_result energy;
    jb_meter_begin(meter, JB_PHASE_IDLE, o->run_id);
    s.t0_ns = clock_ns(&s);
    rc = run_loop(&s, err);
    s.real_s = (double)(clock_ns(&s) - s.t0_ns) * 1e-9;
    jb_meter_end(meter, &energy);
    if (!rc) {
        run_metrics(&s, run);
        energy_metrics(run, &energy, &s);
        run->valid = JB_I64_NONE; /* judged by the caller, who knows the idle baseline */
        run->validity_reasons[0] = '\0';
        if (o->validity)
            validity_facts(run, &energy, o->validity);
    }
    sched_free(&s);
    return rc;
}
