/*
 * workload.c — turns a workload definition into the list of requests a run replays.
 *
 * A definition is an INI file (read with libinih) whose lengths come from seeded GSL
 * distributions or from a request trace CSV (read with libcsv; the Azure LLM inference trace
 * 2023 is accepted unchanged). Server arrivals come from the trace or from gamma-distributed
 * gaps. Every rejected input names the file, the line and the key or column. The format is
 * documented for users in workloads/README.md.
 */
#include "jb_workload.h"

#include "jb_file.h"
#include "jb_ini.h"

#include <csv.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define REQUESTS_MAX 10000000 /* requests (or trace rows) in one workload: 320 MB of requests */
#define LENGTH_MAX 1048576    /* tokens in one prompt or output; the default clip bound */
#define PARALLEL_MAX 65536    /* batch and concurrency */
#define FIELD_MAX 64          /* characters kept of a trace field; longer ones are malformed */
#define WHERE_LEN (PATH_MAX + 64)

#define SCENARIO_LIST "single-stream, offline, server, concurrency, pp, tg"
#define RUN_LIST_HINT "run `joulebench workloads` to list the workloads"

/* ==== scenarios =============================================================================== */

static const char *const scenario_names[JB_SCENARIO_COUNT] = {
    [JB_SCENARIO_SINGLE_STREAM] = "single-stream",
    [JB_SCENARIO_OFFLINE] = "offline",
    [JB_SCENARIO_SERVER] = "server",
    [JB_SCENARIO_CONCURRENCY] = "concurrency",
    [JB_SCENARIO_PP] = "pp",
    [JB_SCENARIO_TG] = "tg",
};

const char *jb_scenario_name(enum jb_scenario s)
{
    return (unsigned)s < JB_SCENARIO_COUNT ? scenario_names[s] : "unknown";
}

int jb_scenario_parse(const char *s, enum jb_scenario *out)
{
    for (int i = 0; s && i < JB_SCENARIO_COUNT; i++)
        if (strcmp(s, scenario_names[i]) == 0) {
            *out = (enum jb_scenario)i;
            return 0;
        }
    return JB_EINVAL;
}

/* ==== numbers and words ======================================================================= */

/* A whole decimal integer and nothing else (no blanks, no fraction, no exponent). */
static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || !isdigit((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

/* A finite number and nothing else. */
static bool parse_real(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

/* Splits a copy of text (in buf) at blanks into words; returns how many (max + 1: too many). */
static int split_words(const char *text, char *buf, size_t len, char **words, int max)
{
    int n = 0;
    snprintf(buf, len, "%s", text);
    for (char *tok = strtok(buf, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (n == max)
            return max + 1;
        words[n++] = tok;
    }
    return n;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ==== seeded random numbers =================================================================== */

/* One generator per purpose, so that changing one setting (say the rate) does not reshuffle
 * the others (the lengths). */
enum rng_stream { STREAM_PROMPT = 1, STREAM_OUTPUT, STREAM_SAMPLE, STREAM_ARRIVALS };

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* mt19937 keeps 32 bits of its seed: they are mixed from all 64 bits and the stream, so seeds
 * 1 and 2^32 + 1 differ. NULL when out of memory (GSL's default error handler aborts first,
 * unless the program turned it off). */
static gsl_rng *rng_open(uint64_t seed, enum rng_stream stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, (unsigned long)(splitmix64(seed ^ splitmix64((uint64_t)stream)) >> 32));
    return r;
}

static int rng_fail(const struct jb_workload *w, struct jb_err *err)
{
    return jb_fail(err, JB_ENOMEM, "%s: out of memory for a random number generator", w->path);
}

/* ==== length distributions ==================================================================== */

#define DIST_USAGE                                                                                 \
    "expected \"fixed N\", \"uniform MIN MAX\", \"normal MEAN SD [MIN MAX]\" or "                  \
    "\"lognormal MEDIAN SIGMA [MIN MAX]\""

static const struct dist_form {
    const char *name, *usage;
    enum jb_dist kind;
    int n_params;         /* before the optional MIN MAX */
    bool integer_params;  /* the parameters are themselves lengths */
    bool optional_bounds; /* MIN MAX may follow */
} dist_forms[] = {
    { "fixed", "fixed N", JB_DIST_FIXED, 1, true, false },
    { "uniform", "uniform MIN MAX", JB_DIST_UNIFORM, 2, true, false },
    { "normal", "normal MEAN SD [MIN MAX]", JB_DIST_NORMAL, 2, false, true },
    { "lognormal", "lognormal MEDIAN SIGMA [MIN MAX]", JB_DIST_LOGNORMAL, 2, false, true },
};

static int why_fail(char *why, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int why_fail(char *why, size_t len, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return code;
}

/* Parses the words after the kind: integers where they are lengths, numbers otherwise. */
static int dist_params(
    const struct dist_form *f, char **words, int n, double *p, char *why, size_t len)
{
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (!f->integer_params && i < f->n_params) {
            if (!parse_real(words[i], &p[i]))
                return why_fail(why, len, JB_EPARSE, "\"%s\" is not a number (expected \"%s\")",
                    words[i], f->usage);
            continue;
        }
        if (!parse_i64(words[i], &v))
            return why_fail(why, len, JB_EPARSE,
                "\"%s\" is not a whole number of tokens (expected \"%s\")", words[i], f->usage);
        if (v < 1 || v > LENGTH_MAX)
            return why_fail(why, len, JB_ERANGE, "lengths must be from 1 to %d tokens", LENGTH_MAX);
        p[i] = (double)v;
    }
    return 0;
}

static int dist_check(const struct jb_length_dist *d, char *why, size_t len)
{
    if (d->min > d->max)
        return why_fail(why, len, JB_ERANGE, "MIN (%lld) must not exceed MAX (%lld)",
            (long long)d->min, (long long)d->max);
    if ((d->kind == JB_DIST_NORMAL || d->kind == JB_DIST_LOGNORMAL)
        && !(d->a >= 1 && d->a <= LENGTH_MAX))
        return why_fail(why, len, JB_ERANGE, "%s must be from 1 to %d tokens",
            d->kind == JB_DIST_NORMAL ? "MEAN" : "MEDIAN", LENGTH_MAX);
    if ((d->kind == JB_DIST_NORMAL || d->kind == JB_DIST_LOGNORMAL) && !(d->b >= 0))
        return why_fail(
            why, len, JB_ERANGE, "%s must be >= 0", d->kind == JB_DIST_NORMAL ? "SD" : "SIGMA");
    return 0;
}

/* "KIND P1 [P2] [MIN MAX]" -> d. On failure returns JB_EPARSE or JB_ERANGE and says why. */
static int dist_parse(const char *text, struct jb_length_dist *d, char *why, size_t len)
{
    char buf[256], *words[6];
    int n = split_words(text, buf, sizeof buf, words, 5);
    const struct dist_form *f = NULL;
    double p[4] = { 0 };
    for (size_t i = 0; n > 0 && i < ARRAY_LEN(dist_forms); i++)
        if (strcmp(words[0], dist_forms[i].name) == 0)
            f = &dist_forms[i];
    if (!f)
        return why_fail(why, len, JB_EPARSE, DIST_USAGE);
    int given = n - 1;
    if (given != f->n_params && !(f->optional_bounds && given == f->n_params + 2))
        return why_fail(why, len, JB_EPARSE, "expected \"%s\"", f->usage);
    int rc = dist_params(f, words + 1, given, p, why, len);
    if (rc)
        return rc;
    bool bounded = given > f->n_params;
    d->kind = f->kind;
    d->a = p[0];
    d->b = f->kind == JB_DIST_FIXED ? 0 : p[1];
    d->min = (int64_t)(f->integer_params ? p[0] : bounded ? p[2] : 1);
    d->max = (int64_t)(f->kind == JB_DIST_FIXED ? p[0]
            : f->integer_params                 ? p[1]
            : bounded                           ? p[3]
                                                : LENGTH_MAX);
    return dist_check(d, why, len);
}

/* One length: drawn, rounded half away from zero, clipped to [min, max]. */
static int64_t dist_draw(const struct jb_length_dist *d, const gsl_rng *r)
{
    double x;
    switch (d->kind) {
    case JB_DIST_UNIFORM:
        return d->min + (int64_t)gsl_rng_uniform_int(r, (unsigned long)(d->max - d->min + 1));
    case JB_DIST_NORMAL: x = d->a + gsl_ran_gaussian(r, d->b); break;
    case JB_DIST_LOGNORMAL: x = gsl_ran_lognormal(r, log(d->a), d->b); break;
    case JB_DIST_FIXED:
    default: return d->min;
    }
    if (!(x >= (double)d->min)) /* NaN too */
        return d->min;
    if (x >= (double)d->max)
        return d->max;
    return (int64_t)llround(x);
}

/* ==== what a definition says ================================================================== */

enum key_id {
    K_DESCRIPTION,
    K_SCENARIO,
    K_REQUESTS,
    K_SEED,
    K_PROMPT,
    K_OUTPUT,
    K_BATCH,
    K_CONCURRENCY,
    K_RATE,
    K_BURSTINESS,
    K_DEPTH,
    K_TRACE,
    K_TOKEN_SCALE,
    K_TIME_SCALE,
    K_TTFT,
    K_TPOT,
    K_COUNT
};

enum key_kind {
    KIND_TEXT,
    KIND_SCENARIO,
    KIND_INT,
    KIND_SEED,
    KIND_POSITIVE,
    KIND_DIST,
    KIND_PATH
};

static const struct key_spec {
    const char *section, *name;
    const char *option; /* the command-line flag that overrides it, if any */
    enum key_kind kind;
    double min, max; /* KIND_INT: [min, max]; KIND_POSITIVE: (0, max] */
} key_specs[K_COUNT] = {
    [K_DESCRIPTION] = { "workload", "description", NULL, KIND_TEXT, 0, 0 },
    [K_SCENARIO] = { "workload", "scenario", "--scenario", KIND_SCENARIO, 0, 0 },
    [K_REQUESTS] = { "workload", "requests", "--requests", KIND_INT, 1, REQUESTS_MAX },
    [K_SEED] = { "workload", "seed", "--seed", KIND_SEED, 0, 0 },
    [K_PROMPT] = { "workload", "prompt_tokens", NULL, KIND_DIST, 0, 0 },
    [K_OUTPUT] = { "workload", "output_tokens", NULL, KIND_DIST, 0, 0 },
    [K_BATCH] = { "workload", "batch", "--batch", KIND_INT, 1, PARALLEL_MAX },
    [K_CONCURRENCY] = { "workload", "concurrency", "--concurrency", KIND_INT, 1, PARALLEL_MAX },
    [K_RATE] = { "workload", "rate", "--rate", KIND_POSITIVE, 0, 1e6 },
    [K_BURSTINESS] = { "workload", "burstiness", NULL, KIND_POSITIVE, 0, 1e3 },
    [K_DEPTH] = { "workload", "depth", "--depth", KIND_INT, 0, LENGTH_MAX },
    [K_TRACE] = { "workload", "trace", NULL, KIND_PATH, 0, 0 },
    [K_TOKEN_SCALE] = { "workload", "token_scale", "--token-scale", KIND_POSITIVE, 0, 1e3 },
    [K_TIME_SCALE] = { "workload", "time_scale", "--time-scale", KIND_POSITIVE, 0, 1e6 },
    [K_TTFT] = { "slo", "ttft_ms", NULL, KIND_POSITIVE, 0, 1e9 },
    [K_TPOT] = { "slo", "tpot_ms", NULL, KIND_POSITIVE, 0, 1e9 },
};

/* A definition as read from its file, then overridden by the options. */
struct settings {
    const char *path;          /* the definition file, for messages */
    int line[K_COUNT];         /* where the file sets each key; 0 = not in the file */
    bool from_option[K_COUNT]; /* set on the command line */
    char scenario_from[64];    /* why the scenario is what it is, for messages */
    char description[256];
    enum jb_scenario scenario;
    int64_t num[K_COUNT]; /* KIND_INT keys */
    double real[K_COUNT]; /* KIND_POSITIVE keys */
    uint64_t seed;
    struct jb_length_dist prompt, output;
    char trace[PATH_MAX]; /* resolved against the definition's folder */
};

static bool is_set(const struct settings *s, enum key_id k)
{
    return s->line[k] > 0 || s->from_option[k];
}

/* Where setting k came from: "FILE:LINE: key \"rate\"" or "FILE: --rate". */
static const char *origin(const struct settings *s, enum key_id k, char *buf, size_t len)
{
    if (s->line[k] > 0)
        snprintf(buf, len, "%s:%d: key \"%s\"", s->path, s->line[k], key_specs[k].name);
    else if (s->from_option[k] && key_specs[k].option)
        snprintf(buf, len, "%s: %s", s->path, key_specs[k].option);
    else
        snprintf(buf, len, "%s: key \"%s\"", s->path, key_specs[k].name);
    return buf;
}

static void settings_init(struct settings *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->scenario = JB_SCENARIO_SINGLE_STREAM;
    snprintf(s->scenario_from, sizeof s->scenario_from, "the default");
}

/* ==== INI definitions (libinih) =============================================================== */

/* inih reads lines through ini_read_line, so the line number, the raw line (to tell an indented
 * continuation line) and the section headers are known here; inih reports only syntax. */
/* "FILE:LINE: key \"k\": WHY, got \"VALUE\"" */
static int value_fail(
    struct jb_ini *ini, enum key_id k, int code, const char *why, const char *value)
{
    return jb_ini_fail(ini, code, "key \"%s\": %s, got \"%s\"", key_specs[k].name, why, value);
}

static int parse_int_key(struct jb_ini *ini, struct settings *s, enum key_id k, const char *value)
{
    char why[96];
    int64_t v;
    snprintf(why, sizeof why, "expected an integer from %.0f to %.0f", key_specs[k].min,
        key_specs[k].max);
    if (!parse_i64(value, &v))
        return value_fail(ini, k, JB_EPARSE, why, value);
    if (v < key_specs[k].min || v > key_specs[k].max)
        return value_fail(ini, k, JB_ERANGE, why, value);
    s->num[k] = v;
    return 0;
}

static int parse_positive_key(
    struct jb_ini *ini, struct settings *s, enum key_id k, const char *value)
{
    char why[96];
    double v;
    snprintf(why, sizeof why, "expected a positive number up to %g", key_specs[k].max);
    if (!parse_real(value, &v))
        return value_fail(ini, k, JB_EPARSE, why, value);
    if (!(v > 0 && v <= key_specs[k].max))
        return value_fail(ini, k, JB_ERANGE, why, value);
    s->real[k] = v;
    return 0;
}

/* trace = PATH, relative to the folder of the definition. */
static int parse_trace_key(struct jb_ini *ini, struct settings *s, const char *value)
{
    const char *slash = strrchr(s->path, '/');
    int n;
    if (!*value)
        return value_fail(ini, K_TRACE, JB_EPARSE, "expected the path of a trace CSV", value);
    if (value[0] == '/' || !slash)
        n = snprintf(s->trace, sizeof s->trace, "%s", value);
    else
        n = snprintf(s->trace, sizeof s->trace, "%.*s/%s", (int)(slash - s->path), s->path, value);
    if (n < 0 || (size_t)n >= sizeof s->trace)
        return value_fail(ini, K_TRACE, JB_ERANGE, "the path is too long", value);
    return 0;
}

static int parse_key(struct jb_ini *ini, struct settings *s, enum key_id k, const char *value)
{
    char why[160];
    int rc;
    switch (key_specs[k].kind) {
    case KIND_TEXT:
        if (strlen(value) >= sizeof s->description)
            return value_fail(ini, k, JB_ERANGE, "expected at most 255 characters", value);
        snprintf(s->description, sizeof s->description, "%s", value);
        return 0;
    case KIND_SCENARIO:
        if (jb_scenario_parse(value, &s->scenario))
            return value_fail(ini, k, JB_EPARSE, "expected one of " SCENARIO_LIST, value);
        snprintf(s->scenario_from, sizeof s->scenario_from, "key \"scenario\", line %d",
            jb_ini_line(ini));
        return 0;
    case KIND_SEED:
        if (!parse_u64(value, &s->seed))
            return value_fail(
                ini, k, JB_EPARSE, "expected an integer from 0 to 18446744073709551615", value);
        return 0;
    case KIND_INT: return parse_int_key(ini, s, k, value);
    case KIND_POSITIVE: return parse_positive_key(ini, s, k, value);
    case KIND_DIST:
        rc = dist_parse(value, k == K_PROMPT ? &s->prompt : &s->output, why, sizeof why);
        return rc ? value_fail(ini, k, rc, why, value) : 0;
    case KIND_PATH: return parse_trace_key(ini, s, value);
    }
    return 0;
}

static int on_key(struct jb_ini *ini, int k, const char *value, void *user)
{
    return parse_key(ini, user, (enum key_id)k, value);
}

static int ini_read(FILE *f, struct settings *s, struct jb_err *err)
{
    return jb_ini_parse(
        f, s->path, key_specs, sizeof key_specs[0], K_COUNT, s->line, on_key, s, err);
}

/* ==== request traces (libcsv) ================================================================= */

enum { COL_TIMESTAMP, COL_CONTEXT, COL_GENERATED, COL_COUNT };
static const char *const trace_columns[COL_COUNT]
    = { "TIMESTAMP", "ContextTokens", "GeneratedTokens" };

struct trace_row {
    int64_t t_s; /* whole seconds since 1970 (UTC) */
    int32_t t_ns;
    int64_t prompt, output;
};

struct trace {
    struct trace_row *rows; /* (n), owned */
    int64_t n, cap;
    int64_t bad_rows; /* skipped */
};

/* The file is fed to libcsv one physical line at a time, so the callbacks know the line. */
struct csv_reader {
    const char *path;
    bool skip_bad_rows;
    struct trace *t;
    struct jb_err *err;
    int rc;            /* first fatal error */
    int64_t line;      /* physical line being fed, 1-based */
    int64_t row_line;  /* line the current record started on */
    int64_t prev_line; /* line of the last row kept */
    bool have_header;
    int n_cols;         /* fields in the header */
    int col[COL_COUNT]; /* where each needed column is in the header; -1: absent */
    int n_fields;       /* fields of the current record so far */
    int nul_field;      /* the first field of the current record holding a NUL byte; -1: none */
    char field[COL_COUNT][FIELD_MAX];
    bool too_long[COL_COUNT];
    char header[256]; /* the header as read, for messages */
};

static const char *take_digits(const char *p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)p[i]))
            return NULL;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return p + count;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* ".6805900" (any number of digits) -> nanoseconds; p is past the fraction on return. */
static const char *take_fraction(const char *p, int32_t *ns)
{
    int digits = 0;
    *ns = 0;
    if (*p != '.')
        return p;
    for (p++; isdigit((unsigned char)*p); p++, digits++)
        if (digits < 9)
            *ns = *ns * 10 + (*p - '0');
    for (int i = digits; i < 9; i++)
        *ns *= 10;
    return digits ? p : NULL;
}

/* "Z", "+HH:MM", "-HH:MM" or nothing (UTC) -> seconds east of UTC. */
static const char *take_utc_offset(const char *p, int *offset_s)
{
    int h, m;
    *offset_s = 0;
    if (*p == 'Z')
        return p + 1;
    if (*p != '+' && *p != '-')
        return p;
    const char *q = take_digits(p + 1, 2, &h);
    if (!q || *q != ':' || !(q = take_digits(q + 1, 2, &m)) || h > 23 || m > 59)
        return NULL;
    *offset_s = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return q;
}

/* "2023-11-16 18:15:46.6805900" (a space or T between date and time, any fraction, optionally
 * Z or +HH:MM) -> seconds and nanoseconds since 1970 UTC. */
static bool parse_timestamp(const char *s, int64_t *t_s, int32_t *t_ns)
{
    int y, mo, d, h, mi, sec, offset_s;
    const char *p = s;
    if (!(p = take_digits(p, 4, &y)) || *p != '-' || !(p = take_digits(p + 1, 2, &mo)) || *p != '-'
        || !(p = take_digits(p + 1, 2, &d)) || (*p != ' ' && *p != 'T')
        || !(p = take_digits(p + 1, 2, &h)) || *p != ':' || !(p = take_digits(p + 1, 2, &mi))
        || *p != ':' || !(p = take_digits(p + 1, 2, &sec)) || !(p = take_fraction(p, t_ns))
        || !(p = take_utc_offset(p, &offset_s)) || *p)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return false;
    *t_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    return true;
}

static void header_field(struct csv_reader *c, const char *s)
{
    if (c->n_fields == 0 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte-order mark */
        s += 3;
    jb_appendf(c->header, sizeof c->header, "%s%s", *c->header ? "," : "", s);
    for (int j = 0; j < COL_COUNT; j++)
        if (strcmp(s, trace_columns[j]) == 0 && c->col[j] < 0)
            c->col[j] = c->n_fields;
}

static void csv_on_field(void *data, size_t len, void *user)
{
    struct csv_reader *c = user;
    const char *s = data ? data : "";
    if (c->rc)
        return;
    if (c->n_fields == 0)
        c->row_line = c->line;
    if (c->nul_field < 0 && len > 0 && memchr(s, '\0', len))
        c->nul_field = c->n_fields; /* "12\0999" would read as 12 */
    if (!c->have_header)
        header_field(c, s);
    for (int j = 0; c->have_header && j < COL_COUNT; j++)
        if (c->col[j] == c->n_fields) {
            c->too_long[j] = len >= FIELD_MAX;
            snprintf(c->field[j], FIELD_MAX, "%s", s);
        }
    c->n_fields++;
}

/* A NUL byte inside a field: text after it would be silently dropped, so the row is malformed.
 * Names the column when it is one of ours, with what comes before the NUL. */
static int nul_fail(const struct csv_reader *c, struct jb_err *err)
{
    for (int j = 0; c->have_header && j < COL_COUNT; j++)
        if (c->col[j] == c->nul_field)
            return jb_fail(err, JB_EPARSE,
                "%s:%lld: column \"%s\": a NUL byte inside the field (after \"%s\")", c->path,
                (long long)c->row_line, trace_columns[j], c->field[j]);
    return jb_fail(err, JB_EPARSE, "%s:%lld: a NUL byte inside field %d%s", c->path,
        (long long)c->row_line, c->nul_field + 1, c->have_header ? "" : " of the header");
}

static int header_check(struct csv_reader *c)
{
    if (c->nul_field >= 0)
        return nul_fail(c, c->err);
    for (int j = 0; j < COL_COUNT; j++)
        if (c->col[j] < 0)
            return jb_fail(c->err, JB_EPARSE,
                "%s:%lld: not a request trace: no column \"%s\" in the header \"%s\" (expected "
                "TIMESTAMP, ContextTokens and GeneratedTokens)",
                c->path, (long long)c->row_line, trace_columns[j], c->header);
    c->n_cols = c->n_fields;
    c->have_header = true;
    return 0;
}

/* "FILE:LINE: column \"C\": WHY, got \"VALUE\"" */
static int column_fail(
    const struct csv_reader *c, struct jb_err *err, int code, int j, const char *why)
{
    return jb_fail(err, code, "%s:%lld: column \"%s\": %s, got \"%s%s\"", c->path,
        (long long)c->row_line, trace_columns[j], why, c->field[j], c->too_long[j] ? "..." : "");
}

static int field_count_fail(const struct csv_reader *c, struct jb_err *err)
{
    for (int j = 0; j < COL_COUNT; j++)
        if (c->col[j] >= c->n_fields)
            return jb_fail(err, JB_EPARSE,
                "%s:%lld: column \"%s\": missing (the row has %d fields, the header %d)", c->path,
                (long long)c->row_line, trace_columns[j], c->n_fields, c->n_cols);
    return jb_fail(err, JB_EPARSE, "%s:%lld: the row has %d fields, the header %d (\"%s\")",
        c->path, (long long)c->row_line, c->n_fields, c->n_cols, c->header);
}

static int tokens_parse(const struct csv_reader *c, struct jb_err *err, int j, int64_t *out)
{
    static const char why[] = "expected a whole number of tokens from 1 to 1048576";
    if (c->too_long[j] || !parse_i64(c->field[j], out))
        return column_fail(c, err, JB_EPARSE, j, why);
    if (*out < 1 || *out > LENGTH_MAX)
        return column_fail(c, err, JB_ERANGE, j, why);
    return 0;
}

/* The current record as a row; err gets the message (NULL when rows are skipped). */
static int row_parse(const struct csv_reader *c, struct trace_row *row, struct jb_err *err)
{
    int rc;
    if (c->nul_field >= 0)
        return nul_fail(c, err);
    if (c->n_fields != c->n_cols)
        return field_count_fail(c, err);
    if (c->too_long[COL_TIMESTAMP]
        || !parse_timestamp(c->field[COL_TIMESTAMP], &row->t_s, &row->t_ns))
        return column_fail(
            c, err, JB_EPARSE, COL_TIMESTAMP, "expected a time like 2023-11-16 18:15:46.6805900");
    if ((rc = tokens_parse(c, err, COL_CONTEXT, &row->prompt))
        || (rc = tokens_parse(c, err, COL_GENERATED, &row->output)))
        return rc;
    const struct trace_row *last = c->t->n ? &c->t->rows[c->t->n - 1] : NULL;
    if (last && (row->t_s < last->t_s || (row->t_s == last->t_s && row->t_ns < last->t_ns)))
        return jb_fail(err, JB_EPARSE,
            "%s:%lld: column \"TIMESTAMP\": %s is earlier than the row on line %lld "
            "(rows must be in time order)",
            c->path, (long long)c->row_line, c->field[COL_TIMESTAMP], (long long)c->prev_line);
    return 0;
}

static int trace_push(struct csv_reader *c, const struct trace_row *row)
{
    struct trace *t = c->t;
    if (t->n == REQUESTS_MAX)
        return jb_fail(c->err, JB_ERANGE, "%s:%lld: more than %d rows", c->path,
            (long long)c->row_line, REQUESTS_MAX);
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 1024;
        struct trace_row *rows = realloc(t->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            return jb_fail(c->err, JB_ENOMEM, "%s: out of memory at line %lld", c->path,
                (long long)c->row_line);
        t->rows = rows;
        t->cap = cap;
    }
    t->rows[t->n++] = *row;
    c->prev_line = c->row_line;
    return 0;
}

static int trace_row(struct csv_reader *c)
{
    struct trace_row row;
    int rc = row_parse(c, &row, c->skip_bad_rows ? NULL : c->err);
    if (rc && c->skip_bad_rows) {
        c->t->bad_rows++;
        return 0;
    }
    return rc ? rc : trace_push(c, &row);
}

static void csv_on_row(int terminator, void *user)
{
    struct csv_reader *c = user;
    (void)terminator;
    if (!c->rc)
        c->rc = c->have_header ? trace_row(c) : header_check(c);
    c->n_fields = 0;
    c->nul_field = -1;
    memset(c->too_long, 0, sizeof c->too_long);
}

static int csv_syntax_fail(const struct csv_reader *c, struct csv_parser *p)
{
    if (csv_error(p) == CSV_ENOMEM)
        return jb_fail(
            c->err, JB_ENOMEM, "%s: out of memory at line %lld", c->path, (long long)c->line);
    return jb_fail(c->err, JB_EPARSE,
        "%s:%lld: malformed CSV: a quote inside an unquoted field, text after a closing quote "
        "or a quote left open (RFC 4180)",
        c->path, (long long)c->line);
}

/* Feeds the file line by line; stops at the first fatal error. */
static int trace_parse(FILE *f, struct csv_reader *c)
{
    struct csv_parser p;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL))
        return jb_fail(c->err, JB_ENOMEM, "%s: out of memory", c->path);
    while (!c->rc && (n = getline(&line, &cap, f)) > 0) {
        c->line++;
        if (csv_parse(&p, line, (size_t)n, csv_on_field, csv_on_row, c) != (size_t)n && !c->rc)
            c->rc = csv_syntax_fail(c, &p);
    }
    const int read_errno = errno;
    if (!c->rc && ferror(f))
        c->rc = jb_fail(c->err, JB_EIO, "%s: read error: %s", c->path, strerror(read_errno));
    if (!c->rc && csv_fini(&p, csv_on_field, csv_on_row, c) != 0 && !c->rc)
        c->rc = csv_syntax_fail(c, &p);
    csv_free(&p);
    free(line);
    return c->rc;
}

/* Opens the trace: a regular file only, so a FIFO, a device or a folder named by key "trace"
 * is refused at once (and named with the key's line) instead of blocking or failing to read. */
static FILE *trace_open(const struct settings *s, int *rc, struct jb_err *err)
{
    FILE *f = jb_fopen_input(s->trace, err, rc);
    if (!f && s->line[K_TRACE]) {
        char why[JB_ERR_MSG_LEN];
        snprintf(why, sizeof why, "%s", err ? err->msg : "cannot open");
        *rc = jb_fail(err, *rc, "%s:%d: key \"trace\": %s", s->path, s->line[K_TRACE], why);
    }
    return f;
}

/* Reads the trace named by the settings into t (which the caller frees). */
static int trace_read(
    const struct settings *s, bool skip_bad_rows, struct trace *t, struct jb_err *err)
{
    struct csv_reader c
        = { .path = s->trace, .skip_bad_rows = skip_bad_rows, .t = t, .err = err, .nul_field = -1 };
    int rc;
    FILE *f = trace_open(s, &rc, err);
    if (!f)
        return rc;
    for (int j = 0; j < COL_COUNT; j++)
        c.col[j] = -1;
    rc = trace_parse(f, &c);
    fclose(f);
    if (!rc && !c.have_header)
        rc = jb_fail(err, JB_EPARSE,
            "%s: empty file (expected a header TIMESTAMP,ContextTokens,GeneratedTokens)", s->trace);
    if (!rc && t->n == 0)
        rc = jb_fail(err, JB_EPARSE,
            "%s: no requests after the header (%lld malformed rows skipped)", s->trace,
            (long long)t->bad_rows);
    return rc;
}

/* ==== options and consistency ================================================================= */

/* Whether a setting means anything in the scenario of s. */
static bool key_applies(const struct settings *s, enum key_id k)
{
    const enum jb_scenario sc = s->scenario;
    switch (k) {
    case K_BATCH:
        return s->num[K_BATCH] <= 1 || sc == JB_SCENARIO_OFFLINE || sc == JB_SCENARIO_SERVER
            || sc == JB_SCENARIO_CONCURRENCY;
    case K_CONCURRENCY: return sc == JB_SCENARIO_CONCURRENCY;
    case K_RATE:
    case K_BURSTINESS: return sc == JB_SCENARIO_SERVER;
    case K_DEPTH: return s->num[K_DEPTH] == 0 || sc == JB_SCENARIO_PP || sc == JB_SCENARIO_TG;
    case K_OUTPUT:
        return sc != JB_SCENARIO_PP
            || (s->output.kind == JB_DIST_FIXED && s->output.min == 1 && s->output.max == 1);
    default: return true;
    }
}

static const char *not_applicable_why(enum key_id k)
{
    switch (k) {
    case K_BATCH: return "batch > 1 needs scenario offline, server or concurrency";
    case K_CONCURRENCY: return "only applies to scenario concurrency";
    case K_RATE: return "only applies to scenario server";
    case K_BURSTINESS: return "only applies to scenario server";
    case K_DEPTH: return "depth > 0 only applies to scenarios pp and tg";
    case K_OUTPUT:
        return "scenario pp generates only the prefill's token: give \"fixed 1\" or none";
    default: return "does not apply";
    }
}

static const enum key_id scenario_keys[]
    = { K_BATCH, K_CONCURRENCY, K_RATE, K_BURSTINESS, K_DEPTH, K_OUTPUT };

/* Negative or non-finite option values are mistakes; zero means "as the file says". */
static int opts_check(const struct jb_workload_opts *o, const char *path, struct jb_err *err)
{
    const struct {
        const char *flag;
        double value, max;
    } v[] = {
        { "--requests", (double)o->requests, REQUESTS_MAX },
        { "--sample", (double)o->sample, REQUESTS_MAX },
        { "--batch", (double)o->batch, PARALLEL_MAX },
        { "--concurrency", (double)o->concurrency, PARALLEL_MAX },
        { "--depth", (double)o->depth, LENGTH_MAX },
        { "--rate", o->rate, key_specs[K_RATE].max },
        { "--token-scale", o->token_scale, key_specs[K_TOKEN_SCALE].max },
        { "--time-scale", o->time_scale, key_specs[K_TIME_SCALE].max },
    };
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        if (!(v[i].value >= 0))
            return jb_fail(err, JB_EINVAL, "%s: %s %g: expected a positive number", path, v[i].flag,
                v[i].value);
        if (v[i].value > v[i].max)
            return jb_fail(
                err, JB_ERANGE, "%s: %s %g: at most %g", path, v[i].flag, v[i].value, v[i].max);
    }
    return 0;
}

/* The scenario the options ask for, explicitly or through --concurrency or --rate. */
static int opts_scenario(struct settings *s, const struct jb_workload_opts *o, struct jb_err *err)
{
    enum jb_scenario sc = s->scenario, named;
    const char *from = NULL;
    if (o->concurrency > 0 && o->rate > 0)
        return jb_fail(err, JB_EINVAL,
            "%s: --concurrency (a closed loop) and --rate (open-loop arrivals) exclude each other",
            s->path);
    if (o->concurrency > 0 || o->rate > 0) {
        sc = o->rate > 0 ? JB_SCENARIO_SERVER : JB_SCENARIO_CONCURRENCY;
        from = o->rate > 0 ? "implied by --rate" : "implied by --concurrency";
    }
    if (o->scenario && jb_scenario_parse(o->scenario, &named))
        return jb_fail(err, JB_EINVAL, "%s: --scenario \"%s\": expected one of " SCENARIO_LIST,
            s->path, o->scenario);
    if (o->scenario && from && named != sc)
        return jb_fail(err, JB_EINVAL, "%s: --scenario %s contradicts %s, which implies %s",
            s->path, o->scenario, o->rate > 0 ? "--rate" : "--concurrency", scenario_names[sc]);
    if (o->scenario) {
        sc = named;
        from = "--scenario";
    }
    if (!from)
        return 0;
    s->scenario = sc;
    s->from_option[K_SCENARIO] = true;
    snprintf(s->scenario_from, sizeof s->scenario_from, "%s", from);
    /* the user re-scenarioed the file: its settings for the old scenario no longer apply */
    for (size_t i = 0; i < ARRAY_LEN(scenario_keys); i++)
        if (s->line[scenario_keys[i]] && !key_applies(s, scenario_keys[i])) {
            s->line[scenario_keys[i]] = 0;
            s->num[scenario_keys[i]] = 0;
            s->real[scenario_keys[i]] = 0;
        }
    return 0;
}

static void set_num(struct settings *s, enum key_id k, int64_t v)
{
    s->num[k] = v;
    s->line[k] = 0;
    s->from_option[k] = true;
}

static void set_real(struct settings *s, enum key_id k, double v)
{
    s->real[k] = v;
    s->line[k] = 0;
    s->from_option[k] = true;
}

static int opts_apply(struct settings *s, const struct jb_workload_opts *o, struct jb_err *err)
{
    int rc;
    if ((rc = opts_check(o, s->path, err)) || (rc = opts_scenario(s, o, err)))
        return rc;
    if (o->requests > 0)
        set_num(s, K_REQUESTS, o->requests);
    if (o->batch > 0)
        set_num(s, K_BATCH, o->batch);
    if (o->concurrency > 0)
        set_num(s, K_CONCURRENCY, o->concurrency);
    if (o->depth_set)
        set_num(s, K_DEPTH, o->depth);
    if (o->rate > 0)
        set_real(s, K_RATE, o->rate);
    if (o->token_scale > 0)
        set_real(s, K_TOKEN_SCALE, o->token_scale);
    if (o->time_scale > 0)
        set_real(s, K_TIME_SCALE, o->time_scale);
    if (o->seed_set) {
        s->seed = o->seed;
        s->line[K_SEED] = 0;
        s->from_option[K_SEED] = true;
    }
    return 0;
}

/* Settings that the scenario does not use. From the file (with the file's scenario) that is a
 * malformed file; from the options, an invalid command line. */
static int check_scenario_keys(const struct settings *s, struct jb_err *err)
{
    char where[WHERE_LEN];
    for (size_t i = 0; i < ARRAY_LEN(scenario_keys); i++) {
        enum key_id k = scenario_keys[i];
        if (is_set(s, k) && !key_applies(s, k))
            return jb_fail(err, s->from_option[k] ? JB_EINVAL : JB_EPARSE,
                "%s: %s; the scenario is %s (%s)", origin(s, k, where, sizeof where),
                not_applicable_why(k), scenario_names[s->scenario], s->scenario_from);
    }
    return 0;
}

/* Lengths: from a trace, or from two distributions (pp and tg imply one of them). */
static int check_lengths(const struct settings *s, struct jb_err *err)
{
    char where[WHERE_LEN];
    const enum key_id lengths[2] = { K_PROMPT, K_OUTPUT };
    for (int i = 0; i < 2; i++) {
        enum key_id k = lengths[i];
        bool implied = (k == K_PROMPT && s->scenario == JB_SCENARIO_TG)
            || (k == K_OUTPUT && s->scenario == JB_SCENARIO_PP);
        if (s->trace[0] && s->line[k])
            return jb_fail(err, JB_EPARSE,
                "%s: not allowed with key \"trace\" (line %d), which gives the lengths",
                origin(s, k, where, sizeof where), s->line[K_TRACE]);
        if (!s->trace[0] && !s->line[k] && !implied)
            return jb_fail(err, JB_EPARSE,
                "%s: missing: give a length distribution such as \"uniform 100 400\", or a "
                "trace",
                origin(s, k, where, sizeof where));
    }
    return 0;
}

static int check_settings(const struct settings *s, struct jb_err *err)
{
    char where[WHERE_LEN];
    int rc;
    if ((rc = check_scenario_keys(s, err)) || (rc = check_lengths(s, err)))
        return rc;
    if (!s->trace[0] && !is_set(s, K_REQUESTS) && s->scenario != JB_SCENARIO_PP
        && s->scenario != JB_SCENARIO_TG)
        return jb_fail(err, JB_EPARSE, "%s: missing: how many requests to make",
            origin(s, K_REQUESTS, where, sizeof where));
    if (is_set(s, K_BURSTINESS) && !is_set(s, K_RATE))
        return jb_fail(err, JB_EPARSE,
            "%s: needs key \"rate\": burstiness shapes synthetic arrivals (a trace brings its "
            "own)",
            origin(s, K_BURSTINESS, where, sizeof where));
    if (s->scenario == JB_SCENARIO_CONCURRENCY && !is_set(s, K_CONCURRENCY))
        return jb_fail(err, s->from_option[K_SCENARIO] ? JB_EINVAL : JB_EPARSE,
            "%s: scenario concurrency needs key \"concurrency\" (the number of users) or "
            "--concurrency",
            origin(s, K_SCENARIO, where, sizeof where));
    if (s->scenario == JB_SCENARIO_SERVER && !is_set(s, K_RATE) && !s->trace[0])
        return jb_fail(err, s->from_option[K_SCENARIO] ? JB_EINVAL : JB_EPARSE,
            "%s: scenario server needs arrivals: key \"rate\" (requests per second), --rate, or "
            "key \"trace\"",
            origin(s, K_SCENARIO, where, sizeof where));
    return 0;
}

static void settings_defaults(struct settings *s)
{
    if (!is_set(s, K_BATCH))
        s->num[K_BATCH] = s->scenario == JB_SCENARIO_OFFLINE ? 8 : 1;
    if (!is_set(s, K_BURSTINESS))
        s->real[K_BURSTINESS] = 1.0;
    if (!is_set(s, K_TOKEN_SCALE))
        s->real[K_TOKEN_SCALE] = 1.0;
    if (!is_set(s, K_TIME_SCALE))
        s->real[K_TIME_SCALE] = 1.0;
    if (!is_set(s, K_SEED))
        s->seed = 1;
    if (!is_set(s, K_REQUESTS) && !s->trace[0])
        s->num[K_REQUESTS] = 1; /* pp and tg: one measurement */
    if (!s->trace[0] && !s->line[K_OUTPUT] && s->scenario == JB_SCENARIO_PP)
        s->output = (struct jb_length_dist) { JB_DIST_FIXED, 1, 0, 1, 1 };
    if (!s->trace[0] && !s->line[K_PROMPT] && s->scenario == JB_SCENARIO_TG)
        s->prompt = (struct jb_length_dist) { JB_DIST_FIXED, 1, 0, 1, 1 };
}

/* ==== the request list ======================================================================== */

static int requests_alloc(struct jb_workload *w, int64_t n, struct jb_err *err)
{
    w->requests = calloc((size_t)n, sizeof *w->requests);
    if (!w->requests)
        return jb_fail(
            err, JB_ENOMEM, "%s: out of memory for %lld requests", w->path, (long long)n);
    w->n_requests = n;
    return 0;
}

/* The first n rows; id holds the row until the list is final. */
static int requests_from_trace(
    struct jb_workload *w, const struct settings *s, const struct trace *t, struct jb_err *err)
{
    char where[WHERE_LEN];
    int64_t n = is_set(s, K_REQUESTS) ? s->num[K_REQUESTS] : t->n;
    if (n > t->n)
        return jb_fail(err, JB_ERANGE, "%s: %lld requests asked for, the trace %s has %lld rows",
            origin(s, K_REQUESTS, where, sizeof where), (long long)n, s->trace, (long long)t->n);
    int rc = requests_alloc(w, n, err);
    for (int64_t i = 0; rc == 0 && i < n; i++)
        w->requests[i] = (struct jb_request) { i, 0, t->rows[i].prompt, t->rows[i].output };
    return rc;
}

static int requests_synthetic(struct jb_workload *w, const struct settings *s, struct jb_err *err)
{
    int rc = requests_alloc(w, s->num[K_REQUESTS], err);
    if (rc)
        return rc;
    gsl_rng *rp = rng_open(s->seed, STREAM_PROMPT), *ro = rng_open(s->seed, STREAM_OUTPUT);
    if (!rp || !ro)
        rc = rng_fail(w, err);
    for (int64_t i = 0; rc == 0 && i < w->n_requests; i++)
        w->requests[i]
            = (struct jb_request) { i, 0, dist_draw(&s->prompt, rp), dist_draw(&s->output, ro) };
    gsl_rng_free(rp);
    gsl_rng_free(ro);
    return rc;
}

/* k of the requests, chosen with a seeded generator, kept in their order. */
static int requests_sample(struct jb_workload *w, int64_t k, uint64_t seed, struct jb_err *err)
{
    if (k > w->n_requests)
        return jb_fail(err, JB_ERANGE, "%s: --sample %lld: only %lld requests to sample from",
            w->path, (long long)k, (long long)w->n_requests);
    struct jb_request *kept = malloc((size_t)k * sizeof *kept);
    if (!kept)
        return jb_fail(
            err, JB_ENOMEM, "%s: out of memory for %lld requests", w->path, (long long)k);
    gsl_rng *r = rng_open(seed, STREAM_SAMPLE);
    if (!r) {
        free(kept);
        return rng_fail(w, err);
    }
    gsl_ran_choose(r, kept, (size_t)k, w->requests, (size_t)w->n_requests, sizeof *kept);
    gsl_rng_free(r);
    free(w->requests);
    w->requests = kept;
    w->n_requests = k;
    return 0;
}

/* Gaps from a gamma distribution of shape `burstiness` and mean 1 / rate, the first request
 * at 0: burstiness 1 is a Poisson process, lower is burstier (as vLLM's benchmark_serving). */
static int arrivals_gamma(
    struct jb_workload *w, double rate, double burstiness, uint64_t seed, struct jb_err *err)
{
    gsl_rng *r = rng_open(seed, STREAM_ARRIVALS);
    if (!r)
        return rng_fail(w, err);
    const double scale_s = 1.0 / (rate * burstiness); /* mean = shape x scale */
    double t_s = 0;
    for (int64_t i = 0; i < w->n_requests; i++) {
        if (i > 0)
            t_s += gsl_ran_gamma(r, burstiness, scale_s);
        w->requests[i].arrival_s = t_s;
    }
    gsl_rng_free(r);
    return 0;
}

/* Seconds since the first kept row. */
static void arrivals_trace(struct jb_workload *w, const struct trace *t)
{
    const struct trace_row *first = &t->rows[w->requests[0].id];
    for (int64_t i = 0; i < w->n_requests; i++) {
        const struct trace_row *row = &t->rows[w->requests[i].id];
        w->requests[i].arrival_s
            = (double)(row->t_s - first->t_s) + (double)(row->t_ns - first->t_ns) * 1e-9;
    }
}

static int64_t scale_tokens(int64_t n, double f)
{
    int64_t scaled = f == 1.0 ? n : (int64_t)llround((double)n * f);
    return scaled < 1 ? 1 : scaled;
}

/* Arrivals, scales and final ids, once the list holds the right requests. */
static int requests_finish(
    struct jb_workload *w, const struct settings *s, const struct trace *t, struct jb_err *err)
{
    const double token_scale = s->real[K_TOKEN_SCALE], time_scale = s->real[K_TIME_SCALE];
    int rc = 0;
    if (s->scenario == JB_SCENARIO_SERVER && is_set(s, K_RATE))
        rc = arrivals_gamma(w, s->real[K_RATE], s->real[K_BURSTINESS], s->seed, err);
    else if (s->scenario == JB_SCENARIO_SERVER && w->n_requests > 0)
        arrivals_trace(w, t);
    for (int64_t i = 0; i < w->n_requests; i++) {
        struct jb_request *q = &w->requests[i];
        q->id = i;
        q->arrival_s *= time_scale;
        q->prompt_tokens = scale_tokens(q->prompt_tokens, token_scale);
        q->output_tokens
            = s->scenario == JB_SCENARIO_PP ? 1 : scale_tokens(q->output_tokens, token_scale);
    }
    return rc;
}

static int requests_build(struct jb_workload *w, const struct settings *s, const struct trace *t,
    int64_t sample, struct jb_err *err)
{
    int rc = s->trace[0] ? requests_from_trace(w, s, t, err) : requests_synthetic(w, s, err);
    if (rc == 0 && sample > 0)
        rc = requests_sample(w, sample, s->seed, err);
    if (rc == 0)
        rc = requests_finish(w, s, t, err);
    return rc;
}

/* ==== loading ================================================================================= */

/* NAME -> ROOT/NAME.ini; anything with a '/' or ending in .ini or .csv is a path. */
static bool names_a_path(const char *name_or_path)
{
    return strchr(name_or_path, '/') || ends_with(name_or_path, ".ini")
        || ends_with(name_or_path, ".csv");
}

static int resolve(const char *name_or_path, struct jb_workload *w, struct jb_err *err)
{
    if (!name_or_path || !*name_or_path)
        return jb_fail(err, JB_EINVAL, "no workload given (" RUN_LIST_HINT ")");
    int n = names_a_path(name_or_path)
        ? snprintf(w->path, sizeof w->path, "%s", name_or_path)
        : snprintf(w->path, sizeof w->path, "%s/%s.ini", jb_workloads_root(), name_or_path);
    if (n < 0 || (size_t)n >= sizeof w->path)
        return jb_fail(err, JB_ERANGE, "%.200s...: path too long", name_or_path);
    const char *base = strrchr(w->path, '/') ? strrchr(w->path, '/') + 1 : w->path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(w->name, sizeof w->name, "%.*s",
        (int)(stem < sizeof w->name ? stem : sizeof w->name - 1), base);
    return 0;
}

/* Opens the definition: a regular file only (a FIFO or a device would block or never end), so
 * every reason it cannot be read is an input error naming it. */
static FILE *definition_open(
    const char *name_or_path, const char *path, int *rc, struct jb_err *err)
{
    FILE *f = jb_fopen_input(path, err, rc);
    if (*rc == JB_ENOENT && !names_a_path(name_or_path))
        *rc = jb_fail(err, JB_ENOENT, "unknown workload \"%s\": no file %s (" RUN_LIST_HINT ")",
            name_or_path, path);
    else if (*rc == JB_ENOENT)
        *rc = jb_fail(err, JB_ENOENT,
            "%s: %s (" RUN_LIST_HINT ", or give the path of an .ini file or a trace .csv)", path,
            strerror(ENOENT));
    return f;
}

/* A trace is told by its header, whatever the file is called. */
static bool looks_like_trace(FILE *f)
{
    char line[512];
    bool yes = fgets(line, sizeof line, f) && strstr(line, trace_columns[COL_TIMESTAMP])
        && strstr(line, trace_columns[COL_CONTEXT]) && strstr(line, trace_columns[COL_GENERATED]);
    rewind(f);
    return yes;
}

/* The definition at path: an INI file, or a trace replayed as it is (scenario server). */
static int definition_read(
    const char *name_or_path, const char *path, struct settings *s, struct jb_err *err)
{
    int rc;
    settings_init(s, path);
    FILE *f = definition_open(name_or_path, path, &rc, err);
    if (!f)
        return rc;
    bool trace = ends_with(path, ".csv") || (!ends_with(path, ".ini") && looks_like_trace(f));
    if (trace) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        s->scenario = JB_SCENARIO_SERVER;
        snprintf(s->scenario_from, sizeof s->scenario_from, "a trace replays as server");
        snprintf(s->trace, sizeof s->trace, "%s", path);
        snprintf(s->description, sizeof s->description, "replay of the trace %.200s", base);
    } else {
        rc = ini_read(f, s, err);
    }
    fclose(f);
    return rc;
}

static void workload_fill(struct jb_workload *w, const struct settings *s, const struct trace *t)
{
    snprintf(w->description, sizeof w->description, "%s", s->description);
    w->scenario = s->scenario;
    w->batch = s->num[K_BATCH];
    w->concurrency = s->num[K_CONCURRENCY];
    w->rate = s->scenario == JB_SCENARIO_SERVER ? s->real[K_RATE] : 0;
    w->burstiness = s->real[K_BURSTINESS];
    w->seed = s->seed;
    w->depth = s->num[K_DEPTH];
    w->slo_ttft_ms = s->real[K_TTFT];
    w->slo_tpot_ms = s->real[K_TPOT];
    snprintf(w->trace_path, sizeof w->trace_path, "%s", s->trace);
    w->bad_rows_skipped = t->bad_rows;
    w->token_scale = s->real[K_TOKEN_SCALE];
    w->time_scale = s->real[K_TIME_SCALE];
    if (!s->trace[0]) {
        w->prompt = s->prompt;
        w->output = s->output;
    }
}

const char *jb_workloads_root(void)
{
    const char *dir = getenv("JOULEBENCH_WORKLOADS_DIR");
    return dir && *dir ? dir : JB_SOURCE_DIR "/workloads";
}

int jb_workload_load(const char *name_or_path, const struct jb_workload_opts *o,
    struct jb_workload *w, struct jb_err *err)
{
    struct settings s;
    struct trace t = { 0 };
    memset(w, 0, sizeof *w);
    int rc = resolve(name_or_path, w, err);
    if (rc == 0)
        rc = definition_read(name_or_path, w->path, &s, err);
    if (rc == 0 && o)
        rc = opts_apply(&s, o, err);
    if (rc == 0 && (rc = check_settings(&s, err)) == 0)
        settings_defaults(&s);
    if (rc == 0 && s.trace[0])
        rc = trace_read(&s, o && o->skip_bad_rows, &t, err);
    if (rc == 0)
        rc = requests_build(w, &s, &t, o ? o->sample : 0, err);
    if (rc == 0)
        workload_fill(w, &s, &t);
    else
        jb_workload_free(w);
    free(t.rows);
    return rc;
}

void jb_workload_free(struct jb_workload *w)
{
    if (!w)
        return;
    free(w->requests);
    w->requests = NULL;
    w->n_requests = 0;
}

/* ==== how long a replay takes ================================================================= */

double jb_workload_span_s(const struct jb_workload *w)
{
    double span_s = 0;
    for (int64_t i = 0; w->scenario == JB_SCENARIO_SERVER && i < w->n_requests; i++)
        if (w->requests[i].arrival_s > span_s)
            span_s = w->requests[i].arrival_s;
    return span_s;
}

void jb_duration_format(double s, char *buf, size_t len)
{
    static const struct {
        double unit_s, from_s; /* shown in this unit from from_s seconds on */
        const char *name;
    } units[] = {
        { 365.25 * 86400, 2 * 365.25 * 86400, "years" },
        { 86400, 2 * 86400, "days" },
        { 3600, 2 * 3600, "h" },
        { 60, 120, "min" },
    };
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
        if (s >= units[i].from_s) {
            snprintf(buf, len, "%.1f %s", s / units[i].unit_s, units[i].name);
            return;
        }
    snprintf(buf, len, "%.0f s", s);
}

/* x rounded down to 3 significant digits, so that the value printed is never above x. */
static double floor_3_digits(double x)
{
    const double step = pow(10, floor(log10(x)) - 2);
    return floor(x * (1 - 1e-12) / step) * step;
}

int jb_workload_check_span(const struct jb_workload *w, double max_s, struct jb_err *err)
{
    const double span_s = jb_workload_span_s(w);
    if (span_s <= max_s)
        return 0;
    char span[32], limit[32];
    jb_duration_format(span_s, span, sizeof span);
    jb_duration_format(max_s, limit, sizeof limit);
    const double scale = w->time_scale > 0 ? w->time_scale : 1;
    return jb_fail(err, JB_ERANGE,
        "%s: the arrivals span %s (%.6g s at time scale %g), more than the %s (%g s) a replay may "
        "take: compress them with --time-scale %.3g or less, or allow it with --max-replay-s %.0f",
        w->path, span, span_s, scale, limit, max_s, floor_3_digits(scale * max_s / span_s),
        ceil(span_s));
}

/* ==== listing ================================================================================= */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int jb_workloads_list(char ***names, int *count, struct jb_err *err)
{
    const char *root = jb_workloads_root();
    char **list = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    *names = NULL;
    *count = 0;
    DIR *d = opendir(root);
    if (!d)
        return jb_fail(err, JB_ENOENT,
            "%s: cannot list workloads: %s (set JOULEBENCH_WORKLOADS_DIR to their folder)", root,
            strerror(errno));
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 4 || !ends_with(e->d_name, ".ini"))
            continue;
        if (n == cap) {
            char **grown = realloc(list, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *list);
            if (!grown)
                break;
            list = grown;
        }
        if (!(list[n] = strndup(e->d_name, len - 4)))
            break;
        n++;
    }
    closedir(d);
    if (e) {
        names_free(list, n);
        return jb_fail(err, JB_ENOMEM, "%s: out of memory listing workloads", root);
    }
    qsort(list, (size_t)n, sizeof *list, cmp_names);
    *names = list;
    *count = n;
    return 0;
}
