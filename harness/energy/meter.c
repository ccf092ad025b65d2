/*
 * meter.c — energy and counters around the runner's phases.
 *
 * Up to two sources are open at once (the CPU source and NVML). Every read, from the
 * sampler thread or at a phase boundary, goes through one mutex and one combined reading;
 * the energy between two consecutive reads is charged to the phase that was current, so
 * phase attribution is exact whatever the sampler does. The sampler only adds reads (and
 * power samples for power.csv) so that counters are polled faster than they can wrap. The
 * layer part of a phase (layer sampling) is marked without reads, inside the forward pass:
 * each interval's energy goes to it in proportion to the time spent inside the layers.
 */
#define _GNU_SOURCE
#include "jb_meter.h"
#include "jb_clock.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SOURCES 2
#define MAX_DOMAINS (MAX_SOURCES * JB_ENERGY_MAX_DOMAINS)
#define LOW_CONFIDENCE_UPDATES 50 /* a phase shorter than this many counter updates */
/* A window at least this many updates long in which a summed counter did not move: the counter
 * is stuck (or virtualised), not measuring. A working counter changes every update. */
#define STUCK_UPDATES LOW_CONFIDENCE_UPDATES
#define STUCK_UNKNOWN_S 1.0      /* the same, for a source that does not say how often it updates */
#define IDLE_WINDOW_S 0.5        /* the idle baseline's default window */
#define IDLE_MAX_S 1e6           /* the longest idle baseline accepted (11 days) */
#define STOP_POLL_MIN_NS 1000000 /* the idle baseline checks the stop flag every sampling */
#define STOP_POLL_MAX_NS 100000000 /* period, kept within [1 ms, 100 ms] */

struct combined {
    double j[MAX_DOMAINS];
    int64_t wraps, gaps;
    int64_t t_ns;
};

struct jb_meter {
    const struct jb_energy_source *src[MAX_SOURCES];
    void *ctx[MAX_SOURCES];
    struct jb_energy_info info[MAX_SOURCES];
    int n_src, n_dom;
    struct jb_energy_domain dom[MAX_DOMAINS];
    int dom_src[MAX_DOMAINS]; /* the source each domain comes from */
    enum jb_energy_method method;
    double update_s;
    char describe[768];
    char choice[1536]; /* why each source before the chosen one was passed over */
    struct jb_counters *counters;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t sampler;
    bool sampler_running, stop;
    int64_t period_ns;
    double idle_window_s;
    volatile sig_atomic_t *stop_flag; /* cuts the idle baseline short; NULL: none */
    jb_power_sink_fn power_fn; /* where samples go; NULL: nowhere */
    void *power_ctx;
    long samples;
    double sampler_cpu_s, sampler_wall_s;

    /* the interval being measured (guarded by lock) */
    bool active;
    char run_id[48];
    enum jb_phase phase;
    int64_t t0_ns, phase_t_ns;
    struct combined first, last, sample_last, steady_begin;
    bool steady_begun, steady_done;
    double phase_j[JB_PHASE_COUNT][MAX_DOMAINS];
    double phase_s[JB_PHASE_COUNT];
    double steady_j, steady_s;
    /* inside decoder layers (jb_meter_layers): marks only, no reads; charge() shares each
     * interval's energy by the time spent inside the layers during it */
    bool in_layers;
    int64_t layers_t_ns;    /* when the layers were entered */
    int64_t layers_mark_ns; /* from when the open layer part is not yet counted */
    int64_t layers_acc_ns;  /* time inside the layers since the last read */
    double layers_j[JB_PHASE_COUNT][MAX_DOMAINS];
    double layers_s[JB_PHASE_COUNT];
    double layers_cum_j, layers_cum_s; /* summed domains, the whole interval so far */
    double steady_layers_j0, steady_layers_s0, steady_layers_j, steady_layers_s;
    int64_t reads;
    int64_t phase_samples[JB_PHASE_COUNT]; /* sampler reads charged to each phase */
    int64_t missed_samples;                /* periods lost in late sampler wake-ups */
    int64_t sampler_prev_ns;               /* the sampler's previous read in the interval */
    char error[600];
    struct jb_counter_values ctr_last, ctr_phase[JB_PHASE_COUNT];
};

const char *jb_phase_name(enum jb_phase p)
{
    static const char *const names[JB_PHASE_COUNT] = { "idle", "setup", "prefill", "decode" };
    return (unsigned)p < JB_PHASE_COUNT ? names[p] : "?";
}

/* ---- reading ------------------------------------------------------------------------------- */

/* Reads every source into c; the caller holds the lock. */
static int read_all(struct jb_meter *m, struct combined *c, struct jb_err *err)
{
    int off = 0;
    memset(c, 0, sizeof *c);
    for (int s = 0; s < m->n_src; s++) {
        struct jb_energy_reading r;
        int rc = m->src[s]->read(m->ctx[s], &r, err);
        if (rc)
            return rc;
        memcpy(c->j + off, r.joules, (size_t)m->info[s].n_domains * sizeof(double));
        c->wraps += r.wraps;
        c->gaps += r.gaps;
        off += m->info[s].n_domains;
    }
    c->t_ns = jb_now_ns();
    return 0;
}

static double total_of(const struct jb_meter *m, const double *j)
{
    double t = 0;
    for (int d = 0; d < m->n_dom; d++)
        if (m->dom[d].in_total)
            t += j[d];
    return t;
}

static void read_counters(struct jb_meter *m, enum jb_phase charge)
{
    struct jb_counter_values v;
    if (!m->counters || jb_counters_read(m->counters, &v, NULL))
        return;
    for (int k = 0; k < JB_CTR_COUNT; k++)
        m->ctr_phase[charge].v[k] += v.v[k] - m->ctr_last.v[k];
    m->ctr_last = v;
}

/* Reads, and charges the energy since the previous read to the current phase. Lock held. */
static void charge(struct jb_meter *m)
{
    struct combined c;
    struct jb_err err;
    if (read_all(m, &c, &err)) {
        if (!m->error[0])
            snprintf(m->error, sizeof m->error, "an energy read failed mid-run: %s", err.msg);
        return;
    }
    m->reads++;
    /* the layers' share of this interval: their time in it over its length (the sampled
     * power integrated over the layer part, power taken as even within an interval) */
    int64_t inside = m->layers_acc_ns;
    if (m->in_layers) {
        inside += c.t_ns - m->layers_mark_ns;
        m->layers_mark_ns = c.t_ns;
    }
    m->layers_acc_ns = 0;
    if (!m->active) {
        m->last = c;
        return;
    }
    const int64_t span = c.t_ns - m->last.t_ns;
    const double share = span > 0 ? fmin(1.0, (double)inside / (double)span) : 0.0;
    for (int d = 0; d < m->n_dom; d++) {
        m->phase_j[m->phase][d] += c.j[d] - m->last.j[d];
        m->layers_j[m->phase][d] += share * (c.j[d] - m->last.j[d]);
    }
    m->layers_cum_j += share * (total_of(m, c.j) - total_of(m, m->last.j));
    m->last = c;
}

/* ---- the sampler ----------------------------------------------------------------------------- */

static void write_power_rows(struct jb_meter *m, const struct combined *c)
{
    const double dt = (double)(c->t_ns - m->sample_last.t_ns) * 1e-9;
    if (!m->power_fn || !m->active || dt <= 0)
        return;
    struct jb_power_sample s = { .run_id = m->run_id,
        .t_s = (double)(c->t_ns - m->t0_ns) * 1e-9,
        .phase = jb_phase_name(m->phase) };
    for (int d = 0; d < m->n_dom; d++) {
        s.domain = m->dom[d].name;
        s.watts = (c->j[d] - m->sample_last.j[d]) / dt;
        s.summed = m->dom[d].in_total;
        m->power_fn(m->power_ctx, &s);
    }
    s.domain = "total";
    s.watts = (total_of(m, c->j) - total_of(m, m->sample_last.j)) / dt;
    s.summed = -1;
    m->power_fn(m->power_ctx, &s);
}

/* Counts a sampler read of the interval in its phase, and the periods missed before it: an
 * interval between two sampler reads longer than twice the period lost floor(dt/period) - 1
 * samples (docs/validity.md). Lock held. */
static void count_sample(struct jb_meter *m)
{
    if (!m->active)
        return;
    m->phase_samples[m->phase]++;
    const int64_t dt = m->last.t_ns - m->sampler_prev_ns;
    if (m->sampler_prev_ns > 0 && dt > 2 * m->period_ns)
        m->missed_samples += dt / m->period_ns - 1;
    m->sampler_prev_ns = m->last.t_ns;
}

static void *sampler_main(void *arg)
{
    struct jb_meter *m = arg;
    struct timespec cpu0, cpu1;
    const int64_t wall0 = jb_now_ns();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    pthread_mutex_lock(&m->lock);
    int64_t next = jb_now_ns() + m->period_ns;
    while (!m->stop) {
        struct timespec until = { next / 1000000000, next % 1000000000 };
        int rc = pthread_cond_timedwait(&m->wake, &m->lock, &until);
        if (m->stop)
            break;
        if (rc != ETIMEDOUT)
            continue;
        next += m->period_ns;
        charge(m);
        count_sample(m);
        write_power_rows(m, &m->last);
        m->sample_last = m->last;
        m->samples++;
    }
    pthread_mutex_unlock(&m->lock);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    m->sampler_cpu_s
        = (double)(cpu1.tv_sec - cpu0.tv_sec) + (double)(cpu1.tv_nsec - cpu0.tv_nsec) * 1e-9;
    m->sampler_wall_s = (double)(jb_now_ns() - wall0) * 1e-9;
    return NULL;
}

static int start_sampler(struct jb_meter *m, struct jb_err *err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (m->n_src == 0)
        return 0;
    /* Ctrl-C and SIGTERM go to the other threads, where they cut sleeps short (the idle
     * baseline, the runner's waits); the sampler never takes them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&m->sampler, NULL, sampler_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return jb_fail(err, JB_EIO, "cannot start the energy sampler: %s", strerror(rc));
    m->sampler_running = true;
    return 0;
}

/* ---- opening ------------------------------------------------------------------------------- */

static int add_source(struct jb_meter *m, const struct jb_energy_source *s,
    const struct jb_meter_opts *o, struct jb_err *err)
{
    struct jb_energy_info *info = &m->info[m->n_src];
    int rc = s->open(&o->source_opts, &m->ctx[m->n_src], info, err);
    if (rc)
        return rc;
    m->src[m->n_src++] = s;
    for (int d = 0; d < info->n_domains; d++) {
        m->dom_src[m->n_dom] = m->n_src - 1;
        m->dom[m->n_dom++] = info->domains[d];
    }
    /* the row's method is the weakest of its sources: measured < integrated < estimated */
    if (m->n_src == 1 || info->method > m->method)
        m->method = info->method;
    if (info->update_s > m->update_s)
        m->update_s = info->update_s;
    return 0;
}

static void note(struct jb_meter *m, const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(m->choice);
    snprintf(m->choice + n, sizeof m->choice - n, fmt, a, b);
}

/* auto: the first CPU source that works here; the estimator at the end of the table always does. */
static int choose_auto(struct jb_meter *m, const struct jb_meter_opts *o, struct jb_err *err)
{
    for (int i = 0; jb_energy_sources[i]; i++) {
        const struct jb_energy_source *s = jb_energy_sources[i];
        char why[512] = "no reason given";
        if (s->beside)
            continue;
        if (s->probe(&o->source_opts, why, sizeof why)) {
            note(m, "%s not available (%s); ", s->name, why);
            continue;
        }
        if (add_source(m, s, o, err) == 0)
            return 0;
        note(m, "%s failed to open (%s); ", s->name, err->msg);
    }
    return jb_fail(err, JB_ENOTSUP, "no energy source works here: %s", m->choice);
}

/* auto, after the CPU source: every source of other hardware that works here. */
static void add_beside(struct jb_meter *m, const struct jb_meter_opts *o)
{
    for (int i = 0; jb_energy_sources[i]; i++) {
        const struct jb_energy_source *s = jb_energy_sources[i];
        char why[512] = "";
        struct jb_err err;
        if (s->beside && s->probe(&o->source_opts, why, sizeof why) == 0
            && add_source(m, s, o, &err) == 0)
            note(m, "%s added for %s; ", s->name, s->beside);
    }
}

static void describe(struct jb_meter *m, const char *how)
{
    m->describe[0] = '\0';
    for (int s = 0; s < m->n_src; s++) {
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, "%s%s (%s: %s)", s ? " + " : "",
            m->src[s]->name, jb_energy_method_name(m->info[s].method), m->info[s].detail);
    }
    if (how) {
        size_t n = strlen(m->describe);
        snprintf(m->describe + n, sizeof m->describe - n, "; %s", how);
    }
}

const char *jb_meter_choice(const struct jb_meter *m)
{
    return m->choice;
}

static int meter_init(struct jb_meter **out, const struct jb_meter_opts *o, struct jb_err *err)
{
    struct jb_meter *m = calloc(1, sizeof *m);
    if (!m)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    const double ms = o && o->sample_ms > 0 ? o->sample_ms : 100.0;
    m->period_ns = (int64_t)(ms * 1e6);
    m->idle_window_s = IDLE_WINDOW_S;
    if (o && o->counters && jb_counters_open(&m->counters, err))
        m->counters = NULL; /* reported as empty with the reason */
    *out = m;
    return 0;
}

/* The sampler must beat the shortest wrap: shorten its period when a source needs it. */
static void fit_period(struct jb_meter *m)
{
    for (int s = 0; s < m->n_src; s++) {
        const double limit = m->info[s].max_poll_s;
        if (limit > 0 && (double)m->period_ns * 1e-9 > limit / 2)
            m->period_ns = (int64_t)(limit / 2 * 1e9);
    }
}

/* The last step of opening, whatever chose the sources: unless rc already says the set-up
 * failed, starts the sampler; hands m to *out, or closes it and returns the error. */
static int meter_finish_open(struct jb_meter *m, int rc, struct jb_meter **out, struct jb_err *err)
{
    if (!rc) {
        fit_period(m);
        rc = start_sampler(m, err);
    }
    if (rc) {
        jb_meter_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

int jb_meter_open_source(struct jb_meter **out, const struct jb_energy_source *src,
    const struct jb_meter_opts *o, struct jb_err *err)
{
    struct jb_meter *m;
    int rc = meter_init(&m, o, err);
    if (rc)
        return rc;
    if (src)
        rc = add_source(m, src, o, err);
    if (!rc)
        describe(m, NULL);
    return meter_finish_open(m, rc, out, err);
}

int jb_meter_open(struct jb_meter **out, const struct jb_meter_opts *o, struct jb_err *err)
{
    struct jb_meter *m;
    const char *want = o && o->energy ? o->energy : "auto";
    int rc = meter_init(&m, o, err);
    if (rc)
        return rc;
    if (strcmp(want, "none") == 0) {
        snprintf(m->describe, sizeof m->describe, "none (--energy none: energy not measured)");
    } else if (strcmp(want, "auto") == 0) {
        rc = choose_auto(m, o, err);
        if (!rc) {
            add_beside(m, o);
            describe(m,
                m->choice[0] ? "chosen by --energy auto: the sources before it do not "
                               "work here (joulebench sources says why)"
                             : "chosen by --energy auto");
        }
    } else {
        const struct jb_energy_source *s = jb_energy_source_by_name(want);
        char why[512] = "no reason given";
        if (!s)
            rc = jb_fail(err, JB_EINVAL,
                "option --energy: unknown source \"%s\" (auto, none, "
                "perf, powercap, papi, nvml, estimator; see `joulebench sources`)",
                want);
        else if (s->probe(&o->source_opts, why, sizeof why))
            rc = jb_fail(err, JB_ENOTSUP, "option --energy %s: not available here: %s", want, why);
        else if (!(rc = add_source(m, s, o, err)))
            describe(m, "forced with --energy");
    }
    return meter_finish_open(m, rc, out, err);
}

void jb_meter_stop(struct jb_meter *m)
{
    if (!m || !m->sampler_running)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->sampler, NULL);
    m->sampler_running = false;
}

void jb_meter_counter_events(const struct jb_meter *m, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int k = 0; m->counters && k < JB_CTR_COUNT; k++) {
        if (jb_counters_reason(m->counters, (enum jb_counter)k)[0])
            continue;
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s", n ? "," : "",
            jb_counters_event(m->counters, (enum jb_counter)k));
    }
}

void jb_meter_close(struct jb_meter *m)
{
    if (!m)
        return;
    jb_meter_stop(m);
    for (int s = 0; s < m->n_src; s++)
        m->src[s]->close(m->ctx[s]);
    jb_counters_close(m->counters);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    free(m);
}

void jb_meter_power_sink(struct jb_meter *m, jb_power_sink_fn fn, void *ctx)
{
    pthread_mutex_lock(&m->lock);
    m->power_fn = fn;
    m->power_ctx = ctx;
    pthread_mutex_unlock(&m->lock);
}

const char *jb_meter_describe(const struct jb_meter *m)
{
    return m->describe;
}

double jb_meter_sampler_load(const struct jb_meter *m, long *samples)
{
    if (samples)
        *samples = m->samples;
    return m->sampler_wall_s > 0 ? m->sampler_cpu_s / m->sampler_wall_s : 0.0;
}

/* ---- intervals --------------------------------------------------------------------------------- */

static void close_phase_time(struct jb_meter *m, int64_t t)
{
    m->phase_s[m->phase] += (double)(t - m->phase_t_ns) * 1e-9;
    m->phase_t_ns = t;
}

void jb_meter_begin(struct jb_meter *m, enum jb_phase p, const char *run_id)
{
    pthread_mutex_lock(&m->lock);
    m->active = false;
    charge(m); /* the starting point */
    memset(m->phase_j, 0, sizeof m->phase_j);
    memset(m->phase_s, 0, sizeof m->phase_s);
    memset(m->ctr_phase, 0, sizeof m->ctr_phase);
    memset(m->layers_j, 0, sizeof m->layers_j);
    memset(m->layers_s, 0, sizeof m->layers_s);
    m->in_layers = false;
    m->layers_acc_ns = 0;
    m->layers_cum_j = m->layers_cum_s = 0;
    m->steady_layers_j = m->steady_layers_s = NAN;
    if (m->counters)
        jb_counters_read(m->counters, &m->ctr_last, NULL);
    m->error[0] = '\0';
    m->reads = 0;
    memset(m->phase_samples, 0, sizeof m->phase_samples);
    m->missed_samples = 0;
    m->sampler_prev_ns = m->last.t_ns;
    m->first = m->sample_last = m->last;
    m->t0_ns = m->phase_t_ns = jb_now_ns();
    if (m->n_src == 0)
        m->first.t_ns = m->last.t_ns = m->t0_ns;
    m->steady_begun = m->steady_done = false;
    m->steady_j = m->steady_s = NAN;
    m->phase = p;
    snprintf(m->run_id, sizeof m->run_id, "%s", run_id ? run_id : "");
    m->active = true;
    pthread_mutex_unlock(&m->lock);
}

void jb_meter_phase(struct jb_meter *m, enum jb_phase p)
{
    pthread_mutex_lock(&m->lock);
    if (p != m->phase) {
        if (m->n_src)
            charge(m);
        read_counters(m, m->phase);
        close_phase_time(m, jb_now_ns());
        m->phase = p;
    }
    pthread_mutex_unlock(&m->lock);
}

void jb_meter_mark(struct jb_meter *m, enum jb_mark k)
{
    pthread_mutex_lock(&m->lock);
    if (m->n_src)
        charge(m);
    if (k == JB_MARK_STEADY_BEGIN && !m->steady_begun) {
        m->steady_begin = m->last;
        m->steady_begin.t_ns = jb_now_ns();
        m->steady_layers_j0 = m->layers_cum_j;
        m->steady_layers_s0 = m->layers_cum_s;
        m->steady_begun = true;
    } else if (k == JB_MARK_STEADY_END && m->steady_begun && !m->steady_done) {
        m->steady_j = total_of(m, m->last.j) - total_of(m, m->steady_begin.j);
        m->steady_s = (double)(jb_now_ns() - m->steady_begin.t_ns) * 1e-9;
        m->steady_layers_j = m->layers_cum_j - m->steady_layers_j0;
        m->steady_layers_s = m->layers_cum_s - m->steady_layers_s0;
        m->steady_done = true;
    }
    pthread_mutex_unlock(&m->lock);
}

void jb_meter_layers(struct jb_meter *m, bool entering)
{
    pthread_mutex_lock(&m->lock);
    if (m->active && entering != m->in_layers) { /* a clock read: no I/O inside a forward call */
        const int64_t t = jb_now_ns();
        if (entering) {
            m->layers_t_ns = m->layers_mark_ns = t;
        } else {
            const double s = (double)(t - m->layers_t_ns) * 1e-9;
            m->layers_s[m->phase] += s;
            m->layers_cum_s += s;
            m->layers_acc_ns += t - m->layers_mark_ns;
        }
        m->in_layers = entering;
    }
    pthread_mutex_unlock(&m->lock);
}

static void join_sources(const struct jb_meter *m, struct jb_meter_result *r)
{
    for (int s = 0; s < m->n_src; s++) {
        size_t n = strlen(r->source);
        snprintf(r->source + n, sizeof r->source - n, "%s%s", s ? "+" : "", m->src[s]->name);
    }
    for (int d = 0; d < m->n_dom; d++) {
        if (!m->dom[d].in_total)
            continue;
        size_t n = strlen(r->domains);
        snprintf(r->domains + n, sizeof r->domains - n, "%s%s", n ? "+" : "", m->dom[d].name);
    }
    snprintf(r->method, sizeof r->method, "%s", jb_energy_method_name(m->method));
    for (int s = 0; s < m->n_src && !r->uncertainty[0]; s++)
        snprintf(r->uncertainty, sizeof r->uncertainty, "%s", m->info[s].uncertainty);
}

/* How long a window must be for a summed counter of domain d that did not move over it to be
 * stuck: STUCK_UPDATES of its source's updates. 0 for an estimate, which is never stuck. */
static double stuck_after_s(const struct jb_meter *m, int d)
{
    const struct jb_energy_info *info = &m->info[m->dom_src[d]];
    if (!m->dom[d].in_total || info->method == JB_METHOD_ESTIMATED)
        return 0;
    return info->update_s > 0 ? STUCK_UPDATES * info->update_s : STUCK_UNKNOWN_S;
}

static void stuck_reason(const struct jb_meter *m, int d, const char *window, double window_s,
    const char *what, char *reason, size_t len)
{
    snprintf(reason, len,
        "the energy counter %s (%s) did not advance over %s%.3g s (%s), at least %d of its "
        "updates: a stuck or virtualised counter, as virtual machines expose; the energy is "
        "left empty rather than reported as 0 J measured",
        m->dom[d].name, m->src[m->dom_src[d]]->name, window, window_s, what, STUCK_UPDATES);
}

/* A summed counter that did not move over a window long enough that a working one must have:
 * a busy phase (setup, prefill, decode), the busy phases together, or the whole interval.
 * Writes the reason and returns true. Lock held. */
static bool stuck_counter(const struct jb_meter *m, struct jb_meter_result *r)
{
    for (int d = 0; d < m->n_dom; d++) {
        const double need_s = stuck_after_s(m, d);
        if (need_s <= 0)
            continue;
        double busy_s = 0, busy_j = 0, all_s = 0, all_j = 0;
        for (int p = 0; p < JB_PHASE_COUNT; p++) {
            const double j = fabs(m->phase_j[p][d]);
            all_s += r->phase_s[p];
            all_j += j;
            if (p == JB_PHASE_IDLE)
                continue;
            busy_s += r->phase_s[p];
            busy_j += j;
            if (r->phase_s[p] >= need_s && j == 0) {
                stuck_reason(m, d, "a busy window of ", r->phase_s[p], jb_phase_name(p), r->reason,
                    sizeof r->reason);
                return true;
            }
        }
        if (busy_s >= need_s && busy_j == 0) {
            stuck_reason(m, d, "a busy window of ", busy_s, "setup, prefill and decode together",
                r->reason, sizeof r->reason);
            return true;
        }
        if (all_s >= need_s && all_j == 0) {
            stuck_reason(
                m, d, "", all_s, "the whole interval, idle included", r->reason, sizeof r->reason);
            return true;
        }
    }
    return false;
}

/* Joules per phase and domain j summed: per phase over the summed domains (phase_j), per kind
 * of domain over all phases (kind_j, NAN for a kind no domain is), and the total returned. */
static double totals(
    const struct jb_meter *m, const double (*j)[MAX_DOMAINS], double *phase_j, double *kind_j)
{
    double total = 0;
    for (int p = 0; p < JB_PHASE_COUNT; p++) {
        phase_j[p] = total_of(m, j[p]);
        total += phase_j[p];
    }
    for (int k = 0; k < JB_DOMAIN_COUNT; k++) {
        bool any = false;
        double sum = 0;
        for (int d = 0; d < m->n_dom; d++)
            if (m->dom[d].kind == (enum jb_domain_kind)k) {
                any = true;
                for (int p = 0; p < JB_PHASE_COUNT; p++)
                    sum += j[p][d];
            }
        kind_j[k] = any ? sum : NAN;
    }
    return total;
}

static void fill_energy(const struct jb_meter *m, struct jb_meter_result *r)
{
    join_sources(m, r);
    r->reads = m->reads;
    r->wraps = m->last.wraps - m->first.wraps;
    r->gaps = m->last.gaps - m->first.gaps;
    if (m->error[0]) {
        snprintf(r->reason, sizeof r->reason, "%s", m->error);
        return;
    }
    if (r->gaps > 0) {
        snprintf(r->reason, sizeof r->reason,
            "%lld read gap(s) longer than the counter's wrap "
            "period: a wrap may have been missed, so the energy is not trusted",
            (long long)r->gaps);
        return;
    }
    if (stuck_counter(m, r))
        return;
    r->energy_j = totals(m, m->phase_j, r->phase_j, r->kind_j);
    r->layers_j = totals(m, m->layers_j, r->layers_phase_j, r->layers_kind_j);
    if (m->steady_done) {
        r->steady_j = m->steady_j;
        r->steady_s = m->steady_s;
        r->layers_steady_j = m->steady_layers_j;
    }
    for (int p = 0; p < JB_PHASE_COUNT && m->update_s > 0; p++)
        if (r->phase_s[p] > 0 && r->phase_s[p] < LOW_CONFIDENCE_UPDATES * m->update_s) {
            size_t n = strlen(r->low_confidence);
            snprintf(r->low_confidence + n, sizeof r->low_confidence - n, "%s%s", n ? "+" : "",
                jb_phase_name(p));
        }
}

static void fill_counters(const struct jb_meter *m, struct jb_meter_result *r)
{
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        r->counters.v[k] = 0;
        for (int p = 0; p < JB_PHASE_COUNT; p++) {
            r->phase_counters[p].v[k] = m->counters ? m->ctr_phase[p].v[k] : NAN;
            r->counters.v[k] += r->phase_counters[p].v[k];
        }
    }
    if (!m->counters) {
        snprintf(r->counters_reason, sizeof r->counters_reason, "hardware counters not opened");
        return;
    }
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        const char *why = jb_counters_reason(m->counters, (enum jb_counter)k);
        if (why[0] && !r->counters_reason[0])
            snprintf(r->counters_reason, sizeof r->counters_reason, "%s: %s",
                jb_counters_event(m->counters, (enum jb_counter)k), why);
    }
}

void jb_meter_end(struct jb_meter *m, struct jb_meter_result *r)
{
    pthread_mutex_lock(&m->lock);
    if (m->n_src)
        charge(m);
    read_counters(m, m->phase);
    close_phase_time(m, jb_now_ns());
    m->active = false;
    memset(r, 0, sizeof *r);
    r->energy_j = r->steady_j = r->steady_s = r->layers_j = r->layers_steady_j = NAN;
    r->layers_steady_s = m->steady_done ? m->steady_layers_s : NAN;
    for (int p = 0; p < JB_PHASE_COUNT; p++) {
        r->phase_j[p] = r->layers_phase_j[p] = NAN;
        r->phase_s[p] = m->phase_s[p];
        r->layers_phase_s[p] = m->layers_s[p];
    }
    for (int k = 0; k < JB_DOMAIN_COUNT; k++)
        r->kind_j[k] = r->layers_kind_j[k] = NAN;
    r->window_s = (double)(m->phase_t_ns - m->t0_ns) * 1e-9;
    r->update_s = m->update_s;
    r->period_s = (double)m->period_ns * 1e-9;
    memcpy(r->phase_samples, m->phase_samples, sizeof r->phase_samples);
    r->missed_samples = m->missed_samples;
    if (m->n_src)
        fill_energy(m, r);
    else
        snprintf(r->reason, sizeof r->reason, "%s", m->describe);
    if (!m->n_src)
        snprintf(r->source, sizeof r->source, "none");
    fill_counters(m, r);
    pthread_mutex_unlock(&m->lock);
}

/* ---- the idle baseline ------------------------------------------------------------------------ */

void jb_meter_stop_flag(struct jb_meter *m, volatile sig_atomic_t *stop)
{
    m->stop_flag = stop;
}

void jb_meter_idle_window(struct jb_meter *m, double window_s)
{
    m->idle_window_s = window_s > 0 ? window_s : IDLE_WINDOW_S;
}

static bool stop_requested(const struct jb_meter *m)
{
    return m->stop_flag && *m->stop_flag;
}

/* Mean and variance updated one window at a time (Welford): nothing is kept per window, so a
 * baseline of any length fits. */
struct running {
    int64_t n;
    double mean, m2;
};

static void running_add(struct running *r, double x)
{
    r->n++;
    const double d = x - r->mean;
    r->mean += d / (double)r->n;
    r->m2 += d * (x - r->mean);
}

/* Sleeps until the monotonic time until_ns, waking every sampling period to check the stop
 * flag; false when it is set. Lock not held. */
static bool idle_sleep(const struct jb_meter *m, int64_t until_ns)
{
    int64_t step = m->period_ns;
    step = step < STOP_POLL_MIN_NS ? STOP_POLL_MIN_NS : step;
    step = step > STOP_POLL_MAX_NS ? STOP_POLL_MAX_NS : step;
    for (int64_t now = jb_now_ns(); now < until_ns && !stop_requested(m); now = jb_now_ns()) {
        const int64_t t = until_ns - now > step ? now + step : until_ns;
        const struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: checked above */
    }
    return !stop_requested(m);
}

/* Starts the idle interval: its label, the idle phase and the first reading. Lock held. */
static void idle_begin(struct jb_meter *m, const char *label)
{
    m->error[0] = '\0';
    charge(m);
    snprintf(m->run_id, sizeof m->run_id, "%s", label ? label : "");
    m->phase = JB_PHASE_IDLE;
    m->t0_ns = jb_now_ns();
    m->sample_last = m->last;
    m->active = true;
}

/* True when a summed counter did not move from `from` to m->last over a window long enough
 * that a working one must have: the baseline then measured nothing. Lock held. */
static bool idle_stuck(const struct jb_meter *m, const struct combined *from)
{
    const double s = (double)(m->last.t_ns - from->t_ns) * 1e-9;
    for (int d = 0; d < m->n_dom; d++) {
        const double need_s = stuck_after_s(m, d);
        if (need_s > 0 && s >= need_s && m->last.j[d] == from->j[d])
            return true;
    }
    return false;
}

int jb_meter_idle(struct jb_meter *m, double seconds, const char *label, double *mean_w,
    double *sd_w, struct jb_err *err)
{
    *mean_w = *sd_w = NAN;
    if (m->n_src == 0 || seconds == 0)
        return 0;
    if (!(seconds > 0 && seconds <= IDLE_MAX_S))
        return jb_fail(err, JB_EINVAL, "idle baseline: %g s is not a length between 0 and %g s",
            seconds, IDLE_MAX_S);
    if (stop_requested(m))
        return jb_fail(err, JB_EINTR, "idle baseline: interrupted before it began");
    int64_t windows = llround(seconds / m->idle_window_s);
    windows = windows < 2 ? 2 : windows; /* a standard deviation needs two */
    struct running w = { 0 };
    bool stopped = false;
    pthread_mutex_lock(&m->lock);
    idle_begin(m, label);
    const struct combined first = m->last;
    struct combined prev = m->last;
    for (int64_t i = 0; i < windows && !m->error[0] && !stopped; i++) {
        /* window ends on a fixed grid from the start, so late wake-ups do not add up */
        const int64_t end = m->t0_ns + (int64_t)(seconds * 1e9 * (double)(i + 1) / (double)windows);
        pthread_mutex_unlock(&m->lock);
        stopped = !idle_sleep(m, end);
        pthread_mutex_lock(&m->lock);
        if (stopped)
            break;
        charge(m);
        const double dt = (double)(m->last.t_ns - prev.t_ns) * 1e-9;
        if (!m->error[0] && dt > 0)
            running_add(&w, (total_of(m, m->last.j) - total_of(m, prev.j)) / dt);
        prev = m->last;
    }
    m->active = false;
    const double done_s = (double)(jb_now_ns() - m->t0_ns) * 1e-9;
    const bool stuck = idle_stuck(m, &first);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", m->error);
    pthread_mutex_unlock(&m->lock);
    if (msg[0])
        return jb_fail(err, JB_EIO, "idle baseline: %s", msg);
    if (stopped)
        return jb_fail(
            err, JB_EINTR, "idle baseline: interrupted after %.3g of %.3g s", done_s, seconds);
    if (stuck || w.n == 0)
        return 0; /* a counter that did not move measured nothing: empty, not 0 W */
    *mean_w = w.mean;
    if (w.n > 1)
        *sd_w = sqrt(w.m2 / (double)(w.n - 1));
    return 0;
}
