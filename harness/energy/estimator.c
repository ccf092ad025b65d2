/*
 * estimator.c — the estimator energy source: where no energy counter exists, joules are a
 * model's power integrated over time, always labelled "estimated". Power of the CPUs this
 * process may use follows their measured load (/proc/stat) along a curve set by the CPU's TDP
 * (CodeCarbon's table) or by a measured profile; docs/estimator.md gives the model, its fit on
 * measured machines (scripts/estimator_fit.py) and its error.
 */
#define _GNU_SOURCE
#include "jb_cpu_model.h"
#include "jb_energy.h"
#include "jb_clock.h"
#include "jb_file.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef JB_SOURCE_DIR
#define JB_SOURCE_DIR "."
#endif

/* ==== the model (no file reading here) ======================================================= */

int jb_cpu_model_build(struct jb_cpu_model *m, double tdp_pkg_w, double idle_w, int n_used,
    int n_pkg, int threads_per_core)
{
    if (!(tdp_pkg_w > 0) || !(idle_w >= 0) || n_used < 1 || n_pkg < 1 || threads_per_core < 1)
        return JB_EINVAL;
    const double share_w = tdp_pkg_w * n_used / n_pkg;
    memset(m, 0, sizeof *m);
    m->idle_w = idle_w > 0 ? idle_w : JB_CPU_IDLE_FRAC * share_w;
    m->full_w = fmax(JB_CPU_FULL_FRAC * share_w, m->idle_w);
    m->knee_load = 1.0 / threads_per_core;
    return 0;
}

int jb_cpu_model_from_profile(struct jb_cpu_model *m, const struct jb_cpu_profile *p, int n_used)
{
    if (p->n_points < 1 || p->n_points > JB_CPU_PROFILE_MAX || n_used < 1)
        return JB_EINVAL;
    const double scale = p->cpus > 0 ? (double)n_used / p->cpus : 1.0;
    memset(m, 0, sizeof *m);
    m->n_points = p->n_points;
    for (int i = 0; i < p->n_points; i++) {
        m->load[i] = p->load[i];
        m->watts[i] = p->watts[i] * scale;
    }
    m->idle_w = m->watts[0];
    m->full_w = m->watts[p->n_points - 1];
    m->knee_load = 1.0;
    return 0;
}

static double interpolate(const struct jb_cpu_model *m, double u)
{
    if (m->n_points == 1 || u <= m->load[0])
        return m->watts[0];
    for (int i = 1; i < m->n_points; i++)
        if (u <= m->load[i]) {
            const double f = (u - m->load[i - 1]) / (m->load[i] - m->load[i - 1]);
            return m->watts[i - 1] + f * (m->watts[i] - m->watts[i - 1]);
        }
    return m->watts[m->n_points - 1];
}

double jb_cpu_model_power_w(const struct jb_cpu_model *m, double load)
{
    const double u = load > 0 ? (load < 1 ? load : 1) : 0; /* NaN -> 0 */
    if (m->n_points > 0)
        return interpolate(m, u);
    const double knee = m->knee_load > 0 ? m->knee_load : 1.0;
    return m->idle_w + (m->full_w - m->idle_w) * (u < knee ? u / knee : 1.0);
}

/* ---- profile files --------------------------------------------------------------------------- */

/* A number at *s (after blanks); false when there is none. */
static bool take_number(const char **s, double *v)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
    char *end;
    errno = 0;
    *v = strtod(*s, &end);
    if (end == *s || errno == ERANGE || !isfinite(*v))
        return false;
    *s = end;
    return true;
}

static bool only_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0';
}

static int profile_cpus(
    char *rest, const char *name, int line, struct jb_cpu_profile *p, struct jb_err *err)
{
    char *end;
    errno = 0;
    const long n = strtol(rest, &end, 10);
    if (end == rest || errno || n < 1 || n > INT_MAX || !only_blanks(end))
        return jb_fail(err, JB_EPARSE, "%s:%d: \"cpus\" needs a positive integer, got \"%s\"", name,
            line, rest);
    if (p->cpus)
        return jb_fail(err, JB_EPARSE, "%s:%d: \"cpus\" given twice", name, line);
    p->cpus = (int)n;
    return 0;
}

static int profile_point(
    const char *text, const char *name, int line, struct jb_cpu_profile *p, struct jb_err *err)
{
    const char *s = text;
    double load, watts;
    bool ok = take_number(&s, &load);
    while (ok && (*s == ' ' || *s == '\t'))
        s++;
    if (ok && *s == ',')
        s++;
    ok = ok && take_number(&s, &watts) && only_blanks(s);
    if (!ok)
        return jb_fail(err, JB_EPARSE,
            "%s:%d: expected \"LOAD WATTS\" (or \"cpus N\"), got \"%.80s\"", name, line, text);
    if (load < 0 || load > 1)
        return jb_fail(err, JB_EPARSE,
            "%s:%d: load %g is outside 0..1 (a fraction of the CPUs' time, not a percentage)", name,
            line, load);
    if (watts < 0)
        return jb_fail(err, JB_EPARSE, "%s:%d: negative power %g W", name, line, watts);
    if (p->n_points > 0 && load <= p->load[p->n_points - 1])
        return jb_fail(err, JB_EPARSE, "%s:%d: load %g does not increase (previous point: %g)",
            name, line, load, p->load[p->n_points - 1]);
    if (p->n_points == JB_CPU_PROFILE_MAX)
        return jb_fail(
            err, JB_EPARSE, "%s:%d: more than %d points", name, line, JB_CPU_PROFILE_MAX);
    p->load[p->n_points] = load;
    p->watts[p->n_points++] = watts;
    return 0;
}

/* One line: blank, a comment, "cpus N" or "LOAD WATTS". */
static int profile_line(
    char *line, const char *name, int no, struct jb_cpu_profile *p, struct jb_err *err)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    if (n == 0)
        return 0;
    if (strncmp(line, "cpus", 4) == 0 && (line[4] == ' ' || line[4] == '\t'))
        return profile_cpus(line + 5, name, no, p, err);
    return profile_point(line, name, no, p, err);
}

int jb_cpu_profile_parse(
    const char *text, const char *name, struct jb_cpu_profile *p, struct jb_err *err)
{
    memset(p, 0, sizeof *p);
    int no = 0, first_no = 0, last_no = 0;
    for (const char *s = text; *s;) {
        const char *eol = strchr(s, '\n');
        const size_t n = eol ? (size_t)(eol - s) : strlen(s);
        char line[256];
        no++;
        if (n >= sizeof line)
            return jb_fail(
                err, JB_EPARSE, "%s:%d: line longer than %zu bytes", name, no, sizeof line - 1);
        memcpy(line, s, n);
        line[n] = '\0';
        s += n + (eol ? 1 : 0);
        const int had = p->n_points;
        const int rc = profile_line(line, name, no, p, err);
        if (rc)
            return rc;
        if (p->n_points > had) {
            first_no = first_no ? first_no : no;
            last_no = no;
        }
    }
    if (p->n_points < 2)
        return jb_fail(err, JB_EPARSE, "%s:%d: %d point(s); a profile needs at least load 0 and 1",
            name, no, p->n_points);
    if (p->load[0] != 0)
        return jb_fail(err, JB_EPARSE, "%s:%d: the curve starts at load %g; it must start at 0",
            name, first_no, p->load[0]);
    if (p->load[p->n_points - 1] != 1)
        return jb_fail(err, JB_EPARSE, "%s:%d: the curve ends at load %g; it must end at 1", name,
            last_no, p->load[p->n_points - 1]);
    return 0;
}

/* ==== CPU names and the TDP table ============================================================= */

#define MAX_WORDS 24

struct words {
    int n;
    char *w[MAX_WORDS];
    char buf[256];
};

const char *jb_cpu_tdp_table_path(char *buf, size_t len)
{
    const char *dir = getenv("JOULEBENCH_DATA_DIR");
    snprintf(buf, len, "%s/codecarbon/cpu_power.csv", dir && *dir ? dir : JB_SOURCE_DIR "/data");
    return buf;
}

/* Bytes that mean "space" or nothing: (R), (TM), the UTF-8 ® ™, no-break and zero-width
 * spaces. Returns how many input bytes were consumed (0: an ordinary byte) and sets *space. */
static size_t symbol_at(const char *s, bool *space)
{
    static const struct {
        const char *text;
        bool space;
    } symbols[] = {
        { "(r)", true },
        { "(tm)", true },
        { "\xc2\xae", true },
        { "\xe2\x84\xa2", true },
        { "\xc2\xa0", true },
        { "\xe2\x80\x8b", false },
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        const size_t n = strlen(symbols[i].text);
        if (strncasecmp(s, symbols[i].text, n) == 0) {
            *space = symbols[i].space;
            return n;
        }
    }
    return 0;
}

/* Lowercases, blanks symbols and punctuation, and stops at the clock ("@ 3.40GHz") and at an
 * integrated-graphics tail ("with Radeon Graphics", "w/ Radeon"). */
static void name_clean(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const char *s = in; *s && *s != '@' && o + 1 < len;) {
        bool space;
        const size_t n = symbol_at(s, &space);
        if (n) {
            if (space)
                out[o++] = ' ';
            s += n;
            continue;
        }
        const unsigned char ch = (unsigned char)*s++;
        out[o++] = (ch == '(' || ch == ')' || ch == ',' || isspace(ch)) ? ' ' : (char)tolower(ch);
    }
    out[o] = '\0';
    static const char *const tails[] = { " with ", " w/ " };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *t = strstr(out, tails[i]);
        if (t)
            *t = '\0';
    }
}

/* Words that name no particular CPU: "cpu", "processor", "8-core", "3.40ghz". */
static bool word_is_noise(const char *w)
{
    if (strcmp(w, "cpu") == 0 || strcmp(w, "processor") == 0)
        return true;
    const char *s = w;
    while (isdigit((unsigned char)*s) || (*s == '.' && s != w))
        s++;
    return s != w && (strcmp(s, "-core") == 0 || strcmp(s, "ghz") == 0);
}

void jb_cpu_name_normalise(const char *name, char *out, size_t len)
{
    char buf[256], *save = NULL;
    size_t o = 0;
    name_clean(name ? name : "", buf, sizeof buf);
    if (len)
        out[0] = '\0';
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (word_is_noise(w))
            continue;
        const int n = snprintf(out + o, len > o ? len - o : 0, "%s%s", o ? " " : "", w);
        if (n < 0 || o + (size_t)n >= len)
            break;
        o += (size_t)n;
    }
}

static void words_of(const char *normalised, struct words *ws)
{
    char *save = NULL;
    snprintf(ws->buf, sizeof ws->buf, "%s", normalised);
    ws->n = 0;
    for (char *w = strtok_r(ws->buf, " ", &save); w && ws->n < MAX_WORDS;
         w = strtok_r(NULL, " ", &save))
        ws->w[ws->n++] = w;
}

/* Every word of row is a word of query, and one of them holds a digit (a model number). */
static bool words_within(const struct words *row, const struct words *query)
{
    bool digit = false;
    for (int i = 0; i < row->n; i++) {
        bool found = false;
        for (int j = 0; j < query->n && !found; j++)
            found = strcmp(row->w[i], query->w[j]) == 0;
        if (!found)
            return false;
        digit = digit || strpbrk(row->w[i], "0123456789") != NULL;
    }
    return digit;
}

struct tdp_scan {
    char query[256]; /* normalised */
    struct words query_words;
    int field;
    char name[160], tdp[32];
    /* the best row so far */
    bool exact;
    int best_words;
    double best_tdp;
    char best[160];
    bool tie;
    char tie_name[160];
    double tie_tdp;
};

static void scan_field(void *s, size_t len, void *data)
{
    struct tdp_scan *t = data;
    char *dst = t->field == 0 ? t->name : t->field == 1 ? t->tdp : NULL;
    const size_t cap = t->field == 0 ? sizeof t->name : sizeof t->tdp;
    if (dst)
        snprintf(dst, cap, "%.*s", (int)(len < cap ? len : cap - 1), s ? (const char *)s : "");
    t->field++;
}

static void scan_row(int c, void *data)
{
    (void)c;
    struct tdp_scan *t = data;
    const int fields = t->field;
    t->field = 0;
    char *end;
    const double tdp = fields >= 2 ? strtod(t->tdp, &end) : 0;
    if (fields < 2 || end == t->tdp || !only_blanks(end) || !(tdp > 0) || !isfinite(tdp))
        return; /* the header, and the few rows without a usable TDP ("27.29.5") */
    char norm[256];
    jb_cpu_name_normalise(t->name, norm, sizeof norm);
    if (t->exact || !norm[0])
        return;
    if (strcmp(norm, t->query) == 0) {
        t->exact = true;
        t->best_tdp = tdp;
        snprintf(t->best, sizeof t->best, "%s", t->name);
        return;
    }
    struct words row;
    words_of(norm, &row);
    if (row.n < t->best_words || !words_within(&row, &t->query_words))
        return;
    if (row.n > t->best_words) {
        t->best_words = row.n;
        t->best_tdp = tdp;
        snprintf(t->best, sizeof t->best, "%s", t->name);
        t->tie = false;
    } else if (tdp != t->best_tdp && !t->tie) {
        t->tie = true;
        t->tie_tdp = tdp;
        snprintf(t->tie_name, sizeof t->tie_name, "%s", t->name);
    }
}

static int scan_file(const char *path, struct tdp_scan *t, struct jb_err *err)
{
    int rc;
    struct jb_err why;
    FILE *f = jb_fopen_input(path, &why, &rc);
    if (!f) /* never JB_ENOENT, which means "the CPU is not in the table" to the caller */
        return jb_fail(err, rc == JB_ENOENT ? JB_EIO : rc,
            "%s (the CPU TDP table: set JOULEBENCH_DATA_DIR to joulebench's data/ folder, or "
            "give --cpu-tdp-w)",
            why.msg);
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL) != 0) {
        fclose(f);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, n, scan_field, scan_row, t) != n)
            rc = jb_fail(
                err, JB_EPARSE, "%s: malformed CSV: %s", path, csv_strerror(csv_error(&p)));
    if (rc == 0 && ferror(f))
        rc = jb_fail(err, JB_EIO, "%s: read error", path);
    if (rc == 0)
        csv_fini(&p, scan_field, scan_row, t);
    csv_free(&p);
    fclose(f);
    return rc;
}

int jb_cpu_tdp_lookup(const char *csv_path, const char *model_name, double *tdp_w, char *match,
    size_t match_len, struct jb_err *err)
{
    struct tdp_scan *t = calloc(1, sizeof *t);
    if (!t)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    jb_cpu_name_normalise(model_name, t->query, sizeof t->query);
    words_of(t->query, &t->query_words);
    int rc = scan_file(csv_path, t, err);
    if (rc == 0 && (t->exact || (t->best_words > 0 && !t->tie))) {
        *tdp_w = t->best_tdp;
        snprintf(match, match_len, "%s", t->best);
    } else if (rc == 0 && t->best_words > 0) {
        rc = jb_fail(err, JB_ENOENT, "CPU \"%s\" matches \"%s\" (%g W) and \"%s\" (%g W) equally",
            model_name, t->best, t->best_tdp, t->tie_name, t->tie_tdp);
    } else if (rc == 0) {
        rc = jb_fail(err, JB_ENOENT, "CPU \"%s\" (read as \"%s\") matches no row of %s",
            model_name ? model_name : "", t->query, csv_path);
    }
    free(t);
    return rc;
}

/* ==== what /proc says ========================================================================= */

struct cpu_facts {
    char model[128]; /* "model name"; "" when absent (arm64) */
    int siblings;    /* logical CPUs per package; 0 when absent */
    int cores;       /* physical cores per package; 0 when absent */
    bool vm;         /* "hypervisor" in flags: siblings/cores describe the guest, not the host */
};

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static void cpuinfo_line(char *line, struct cpu_facts *f, bool *seen_model, bool *seen_flags)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return;
    char *key_end = colon;
    while (key_end > line && isspace((unsigned char)key_end[-1]))
        key_end--;
    *key_end = '\0';
    char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    val[strcspn(val, "\r\n")] = '\0';
    if (strcmp(line, "model name") == 0 && !*seen_model) {
        snprintf(f->model, sizeof f->model, "%s", val);
        *seen_model = true;
    } else if (strcmp(line, "siblings") == 0 && !f->siblings) {
        f->siblings = atoi(val);
    } else if (strcmp(line, "cpu cores") == 0 && !f->cores) {
        f->cores = atoi(val);
    } else if (strcmp(line, "flags") == 0 && !*seen_flags) {
        char *save = NULL;
        for (char *w = strtok_r(val, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
            f->vm = f->vm || strcmp(w, "hypervisor") == 0;
        *seen_flags = true;
    }
}

/* The first processor's model name, siblings, cpu cores and whether we run in a VM. */
static int read_cpuinfo(const char *path, struct cpu_facts *f, struct jb_err *err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return jb_fail(err, JB_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    bool seen_model = false, seen_flags = false;
    while (getline(&line, &cap, fp) > 0)
        cpuinfo_line(line, f, &seen_model, &seen_flags);
    free(line);
    fclose(fp);
    return 0;
}

/* A tick counter at *s (after blanks): digits only, so "-5" is refused. */
static bool take_ticks(const char **s, uint64_t *v)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
    if (!isdigit((unsigned char)**s))
        return false;
    char *end;
    errno = 0;
    *v = strtoull(*s, &end, 10);
    *s = end;
    return errno == 0;
}

/* "cpuN user nice system idle [iowait irq softirq steal guest guest_nice]" -> N, busy and total
 * ticks. Busy leaves out idle, iowait and steal (time the hypervisor gave to someone else);
 * guest time is already inside user. False when malformed. */
static bool stat_cpu_line(const char *line, int *cpu, uint64_t *busy, uint64_t *total)
{
    const char *s = line + 3;
    uint64_t n, v[10] = { 0 };
    if (!take_ticks(&s, &n) || n > INT_MAX)
        return false;
    int k = 0;
    while (k < 10 && take_ticks(&s, &v[k]))
        k++;
    if (k < 4 || !only_blanks(s))
        return false;
    *cpu = (int)n;
    *busy = v[0] + v[1] + v[2] + v[5] + v[6];
    *total = *busy + v[3] + v[4] + v[7];
    return true;
}

/* ==== the source ============================================================================== */

struct est_ctx {
    struct jb_cpu_model model;
    char stat_path[PATH_MAX];
    int n_cpus;                     /* CPUs this process may use */
    int *cpus;                      /* (n_cpus) their numbers */
    int slot[CPU_SETSIZE];          /* CPU number -> index into the arrays below, or -1 */
    uint64_t *busy, *total;         /* (n_cpus) ticks at the previous read */
    uint64_t *busy_now, *total_now; /* (n_cpus) ticks at this read */
    unsigned char *seen;            /* (n_cpus) */
    double t_prev_s, joules, load;
};

static int ctx_cpus(struct est_ctx *c, struct jb_err *err)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return jb_fail(err, JB_EIO, "sched_getaffinity: %s", strerror(errno));
    c->n_cpus = CPU_COUNT(&set);
    if (c->n_cpus < 1)
        return jb_fail(err, JB_EIO, "sched_getaffinity: no CPU");
    const size_t n = (size_t)c->n_cpus;
    c->cpus = calloc(n, sizeof *c->cpus);
    c->busy = calloc(4 * n, sizeof *c->busy);
    c->seen = calloc(n, 1);
    if (!c->cpus || !c->busy || !c->seen)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    c->total = c->busy + n;
    c->busy_now = c->busy + 2 * n;
    c->total_now = c->busy + 3 * n;
    for (int cpu = 0, k = 0; cpu < CPU_SETSIZE; cpu++) {
        c->slot[cpu] = CPU_ISSET(cpu, &set) ? k : -1;
        if (c->slot[cpu] >= 0)
            c->cpus[k++] = cpu;
    }
    return 0;
}

/* Ticks of every CPU we may use, into busy[] and total[]. */
static int read_stat(struct est_ctx *c, uint64_t *busy, uint64_t *total, struct jb_err *err)
{
    FILE *f = fopen(c->stat_path, "r");
    if (!f)
        return jb_fail(err, JB_EIO, "%s: cannot open: %s", c->stat_path, strerror(errno));
    memset(c->seen, 0, (size_t)c->n_cpus);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int no = 1; rc == 0 && getline(&line, &cap, f) > 0; no++) {
        if (strncmp(line, "cpu", 3) != 0 || line[3] == ' ')
            continue; /* other counters, and the all-CPU "cpu  ..." line */
        int cpu;
        uint64_t b, t;
        if (!stat_cpu_line(line, &cpu, &b, &t)) {
            line[strcspn(line, "\n")] = '\0';
            rc = jb_fail(err, JB_EPARSE,
                "%s:%d: expected \"cpuN\" and at least 4 tick counts, got \"%.60s\"", c->stat_path,
                no, line);
        } else if (cpu < CPU_SETSIZE && c->slot[cpu] >= 0) {
            busy[c->slot[cpu]] = b;
            total[c->slot[cpu]] = t;
            c->seen[c->slot[cpu]] = 1;
        }
    }
    free(line);
    fclose(f);
    for (int k = 0; rc == 0 && k < c->n_cpus; k++)
        if (!c->seen[k])
            rc = jb_fail(err, JB_EPARSE, "%s: no \"cpu%d\" line, a CPU this process may use",
                c->stat_path, c->cpus[k]);
    return rc;
}

/* text into detail, ending in "..." when it had to be cut. */
static void copy_detail(char *detail, size_t len, const char *text)
{
    const size_t n = strlen(text);
    if (n < len) {
        memcpy(detail, text, n + 1);
    } else if (len > 4) {
        memcpy(detail, text, len - 4);
        memcpy(detail + len - 4, "...", 4);
    }
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The model from a --cpu-profile file; TDP and idle overrides do not apply (the detail says
 * so when they were given). */
static int plan_profile(
    struct est_ctx *c, const struct jb_energy_opts *o, char *detail, size_t len, struct jb_err *err)
{
    const char *path = o->cpu_profile;
    char *text = NULL;
    int rc = jb_read_file(path, 1u << 20, &text, NULL, err);
    struct jb_cpu_profile *p = calloc(1, sizeof *p);
    if (rc == 0 && !p)
        rc = jb_fail(err, JB_ENOMEM, "out of memory");
    if (rc == 0)
        rc = jb_cpu_profile_parse(text, path, p, err);
    if (rc == 0)
        rc = jb_cpu_model_from_profile(&c->model, p, c->n_cpus);
    if (rc == 0) {
        char over[48] = "", line[640];
        if (p->cpus)
            snprintf(over, sizeof over, ", measured over %d CPUs", p->cpus);
        snprintf(line, sizeof line,
            "measured profile '%.48s' (%d points%s), %d CPUs used: idle %.3g W, "
            "full %.3g W%s",
            base_name(path), p->n_points, over, c->n_cpus, c->model.idle_w, c->model.full_w,
            o->cpu_tdp_w > 0 || o->cpu_idle_w > 0 ? "; --cpu-tdp-w/--cpu-idle-w ignored" : "");
        copy_detail(detail, len, line);
    }
    free(p);
    free(text);
    return rc;
}

/* Logical CPUs per package: --cpu-package-cpus, else cpuinfo's siblings outside a VM; 0 when
 * unknown (a VM shows its own topology, not the host's). */
static int package_cpus(const struct jb_energy_opts *o, const struct cpu_facts *f, int *n_pkg,
    struct jb_err *err)
{
    (void)err;
    *n_pkg = o->cpu_package_cpus > 0 ? o->cpu_package_cpus : !f->vm && f->siblings > 0 ? f->siblings : 0;
    return 0;
}

/* Package TDP and where it came from; n_pkg is set when it was unknown (0). */
static int plan_tdp_value(const struct jb_energy_opts *o, const struct cpu_facts *f, int n_used,
    int *n_pkg, double *tdp_w, char *src, size_t len, struct jb_err *err)
{
    if (o->cpu_tdp_w > 0) {
        *tdp_w = o->cpu_tdp_w;
        snprintf(src, len, "override%s", *n_pkg ? "" : ", for the CPUs used");
        *n_pkg = *n_pkg ? *n_pkg : n_used;
        return 0;
    }
    char path[PATH_MAX], match[160];
    double table_w;
    struct jb_err lerr = { 0 };
    const int rc = jb_cpu_tdp_lookup(
        jb_cpu_tdp_table_path(path, sizeof path), f->model, &table_w, match, sizeof match, &lerr);
    if (rc != 0 && rc != JB_ENOENT) {
        if (err)
            *err = lerr;
        return rc;
    }
    if (rc == 0 && *n_pkg) {
        *tdp_w = table_w;
        snprintf(src, len, "table: '%.40s'", match);
    } else if (rc == 0) {
        *n_pkg = n_used;
        *tdp_w = fmin(table_w, JB_CPU_DEFAULT_W_PER_CPU * n_used);
        snprintf(
            src, len, "%g W/CPU; table: '%.32s' %g W", JB_CPU_DEFAULT_W_PER_CPU, match, table_w);
    } else {
        *n_pkg = *n_pkg ? *n_pkg : n_used;
        *tdp_w = JB_CPU_DEFAULT_W_PER_CPU * *n_pkg;
        snprintf(src, len, "default %g W/CPU: '%.32s' not in table", JB_CPU_DEFAULT_W_PER_CPU,
            f->model[0] ? f->model : "no model name");
    }
    return 0;
}

/* The knee model from the CPU's TDP and counts (docs/estimator.md: "TDP and CPU counts"). */
static int plan_tdp(
    struct est_ctx *c, const struct jb_energy_opts *o, char *detail, size_t len, struct jb_err *err)
{
    if (!(o->cpu_tdp_w >= 0) || !(o->cpu_idle_w >= 0))
        return jb_fail(err, JB_EINVAL, "--cpu-tdp-w %g, --cpu-idle-w %g: must be >= 0 (0: model)",
            o->cpu_tdp_w, o->cpu_idle_w);
    struct cpu_facts f;
    int n_pkg;
    int rc = read_cpuinfo(env_or("JOULEBENCH_CPUINFO", "/proc/cpuinfo"), &f, err);
    if (rc == 0)
        rc = package_cpus(o, &f, &n_pkg, err);
    const bool pkg_known = rc == 0 && n_pkg > 0;
    double tdp_w = 0;
    char src[112];
    if (rc == 0)
        rc = plan_tdp_value(o, &f, c->n_cpus, &n_pkg, &tdp_w, src, sizeof src, err);
    const int tpc
        = f.siblings > 0 && f.cores > 0 && f.siblings % f.cores == 0 ? f.siblings / f.cores : 1;
    if (rc == 0 && jb_cpu_model_build(&c->model, tdp_w, o->cpu_idle_w, c->n_cpus, n_pkg, tpc))
        rc = jb_fail(err, JB_EINVAL, "cannot build the CPU model (TDP %g W, %d of %d CPUs)", tdp_w,
            c->n_cpus, n_pkg);
    if (rc)
        return rc;
    char cpus[48], text[640];
    if (pkg_known)
        snprintf(cpus, sizeof cpus, "%d of %d CPUs", c->n_cpus, n_pkg);
    else
        snprintf(cpus, sizeof cpus, "%d CPUs, package size unknown", c->n_cpus);
    snprintf(text, sizeof text,
        "knee model, TDP %.4g W (%s), %s: idle %.3g W%s, full %.3g W from load %.2f",
        tdp_w, src, cpus, c->model.idle_w, o->cpu_idle_w > 0 ? " (override)" : "", c->model.full_w,
        c->model.knee_load);
    copy_detail(detail, len, text);
    return 0;
}

static void est_close(void *ctx)
{
    struct est_ctx *c = ctx;
    if (!c)
        return;
    free(c->cpus);
    free(c->busy);
    free(c->seen);
    free(c);
}

static int est_probe(const struct jb_energy_opts *o, char *why, size_t why_len)
{
    (void)o;
    if (why && why_len)
        why[0] = '\0';
    return 0;
}

static int est_open(
    const struct jb_energy_opts *o, void **out, struct jb_energy_info *info, struct jb_err *err)
{
    static const struct jb_energy_opts none = { 0 };
    o = o ? o : &none;
    *out = NULL;
    struct est_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    memset(info, 0, sizeof *info);
    snprintf(c->stat_path, sizeof c->stat_path, "%s", env_or("JOULEBENCH_PROC_STAT", "/proc/stat"));
    int rc = ctx_cpus(c, err);
    if (rc == 0)
        rc = o->cpu_profile ? plan_profile(c, o, info->detail, sizeof info->detail, err)
                            : plan_tdp(c, o, info->detail, sizeof info->detail, err);
    if (rc == 0)
        rc = read_stat(c, c->busy, c->total, err);
    if (rc) {
        est_close(c);
        return rc;
    }
    c->t_prev_s = jb_now_s();
    info->n_domains = 1;
    snprintf(info->domains[0].name, sizeof info->domains[0].name, "cpu");
    info->domains[0].kind = JB_DOMAIN_CPU;
    info->domains[0].in_total = true;
    info->method = JB_METHOD_ESTIMATED;
    snprintf(info->uncertainty, sizeof info->uncertainty, "%s",
        o->cpu_profile ? "that of the measured profile"
                       : "about +-30% at high load, +-50% over all loads (docs/estimator.md)");
    info->resolution_j = 0;
    const long hz = sysconf(_SC_CLK_TCK); /* /proc/stat counts ticks of 1/hz s */
    info->update_s = hz > 0 ? 1.0 / (double)hz : 0.01;
    info->max_poll_s = 0;
    *out = c;
    return 0;
}

/* Load over the interval since the previous read (unchanged when no tick passed), its power,
 * times the interval, added to the total. */
static int est_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    struct est_ctx *c = ctx;
    const int rc = read_stat(c, c->busy_now, c->total_now, err);
    if (rc)
        return rc;
    const double t = jb_now_s();
    uint64_t d_busy = 0, d_total = 0;
    for (int k = 0; k < c->n_cpus; k++) {
        const uint64_t db = c->busy_now[k] >= c->busy[k] ? c->busy_now[k] - c->busy[k] : 0;
        const uint64_t dt = c->total_now[k] >= c->total[k] ? c->total_now[k] - c->total[k] : 0;
        d_busy += db < dt ? db : dt;
        d_total += dt;
    }
    if (d_total > 0)
        c->load = (double)d_busy / (double)d_total;
    c->joules += jb_cpu_model_power_w(&c->model, c->load) * (t - c->t_prev_s);
    c->t_prev_s = t;
    memcpy(c->busy, c->busy_now, (size_t)c->n_cpus * sizeof *c->busy);
    memcpy(c->total, c->total_now, (size_t)c->n_cpus * sizeof *c->total);
    memset(out, 0, sizeof *out);
    out->joules[0] = c->joules;
    return 0;
}

const struct jb_energy_source jb_energy_estimator = {
    .name = "estimator",
    .what = "a model: CPU load (/proc/stat) x the CPU's TDP (CodeCarbon's table); estimated",
    .probe = est_probe,
    .open = est_open,
    .read = est_read,
    .close = est_close,
};
