/*
 * merge.c — several results folders into one (`joulebench merge OUT DIR...`): the rows of
 * runs.csv, requests.csv and power.csv copied as text, cell for cell, under the reader's rule
 * that a repetition counts once (identical copies left out with a warning naming both folders,
 * two different rows of one identity refused naming both), the rows of repetitions that never
 * finished left out as jb_results_open leaves them out, summary.csv recomputed and meta.json
 * saying where every row came from. Everything is read and checked before anything is written,
 * and OUT must be new or empty, so a merge never mixes with a run's rows.
 */
#include "jb_results.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jb_version.h"

enum { RUNS, REQUESTS, POWER, N_FILES };

static const struct file_kind {
    const char *name;
    const struct jb_column *cols;
    const size_t *n_cols;
    size_t size; /* of a typed record: the cells are checked by reading them as records */
} kinds[N_FILES] = {
    { "runs.csv", jb_run_columns, &jb_n_run_columns, sizeof(struct jb_run_record) },
    { "requests.csv", jb_request_columns, &jb_n_request_columns, sizeof(struct jb_request_record) },
    { "power.csv", jb_power_columns, &jb_n_power_columns, sizeof(struct jb_power_record) },
};

/* One source folder, read whole. */
struct source {
    const char *dir; /* as given */
    char abs[PATH_MAX];
    dev_t dev;
    ino_t ino;
    struct jb_meta meta;
    bool have_meta;
    char path[N_FILES][PATH_MAX + 16];
    struct jb_table t[N_FILES]; /* zeroed when the file is absent */
    bool *drop[N_FILES];        /* (t[k].n_rows) rows left out */
    const char **run_ids;       /* sorted run_id cells of its runs.csv (in t[RUNS]) */
    size_t n_run_ids;
    size_t orphans[N_FILES]; /* rows of unfinished repetitions left out */
    size_t runs_kept;
};

/* A row left out as a copy of a row of an earlier (or the same) folder, for the warnings. */
struct copy_event {
    int kind;
    bool samples;          /* power.csv samples of a repetition whose run row came from earlier */
    size_t later, earlier; /* sources */
    size_t seq;            /* order of discovery: the first identity named in the warning */
    const char *id;        /* identity of the first row left out (owned by the caller's list) */
};

struct merge {
    struct source *src;
    size_t n;
    struct copy_event *events;
    size_t n_events, cap_events;
    char **ids; /* identities kept alive for the events' messages */
    size_t n_ids, cap_ids;
    struct jb_merge_stats *st;
};

static bool is_idle(const char *run_id)
{
    return strncmp(run_id, "idle:", 5) == 0;
}

/* ---- reading and checking one source ---------------------------------------------------------- */

/* The schema_version a file of other columns says it has (its first row's cell, else
 * meta.json's), as text; "unknown" when neither says. */
static void schema_of(const struct source *s, int k, char *buf, size_t len)
{
    const struct jb_table *t = &s->t[k];
    const int c = jb_table_col(t, "schema_version");
    snprintf(buf, len, "unknown");
    if (c >= 0 && t->n_rows > 0) {
        char *end;
        const long long v = strtoll(t->rows[0][c], &end, 10);
        if (end != t->rows[0][c] && !*end) {
            snprintf(buf, len, "%lld", v);
            return;
        }
    }
    if (s->have_meta && s->meta.schema_version)
        snprintf(buf, len, "%lld", (long long)s->meta.schema_version);
}

/* The header must be this build's columns, in order: rows are copied cell for cell under it. */
static int check_columns(const struct source *s, int k, struct jb_err *err)
{
    const struct jb_table *t = &s->t[k];
    const struct jb_column *cols = kinds[k].cols;
    const size_t n = *kinds[k].n_cols;
    size_t same = 0;
    while (same < n && same < t->n_cols && strcmp(t->header[same], cols[same].name) == 0)
        same++;
    if (same == n && t->n_cols == n)
        return 0;
    char version[32], mine[32];
    schema_of(s, k, version, sizeof version);
    snprintf(mine, sizeof mine, "%d", JB_SCHEMA_VERSION);
    if (strcmp(version, "unknown") != 0 && strcmp(version, mine) != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: schema_version %s, and this joulebench merges schema_version %d: folders of "
            "different schema versions are not merged (report and compare read each as it is)",
            s->path[k], version, JB_SCHEMA_VERSION);
    if (same < n && same < t->n_cols)
        return jb_fail(err, JB_EPARSE,
            "%s: its columns are not schema_version %d's (column %zu is \"%s\", expected \"%s\"): "
            "another version's, or a damaged or edited file",
            s->path[k], JB_SCHEMA_VERSION, same + 1, t->header[same], cols[same].name);
    if (same < n)
        return jb_fail(err, JB_EPARSE,
            "%s: its header lacks column \"%s\" of schema_version %d: another version's, or a "
            "damaged or edited file",
            s->path[k], cols[same].name, JB_SCHEMA_VERSION);
    return jb_fail(err, JB_EPARSE,
        "%s: its header has a column schema_version %d lacks (\"%s\"): another version's, or a "
        "damaged or edited file",
        s->path[k], JB_SCHEMA_VERSION, t->header[n]);
}

/* Every cell must read as the reader wants it (numbers finite, not negative where they cannot
 * be), and every row must be of this schema version: the merged folder reads as its sources. */
static int check_cells(const struct source *s, int k, struct jb_err *err)
{
    const struct jb_column *cols = kinds[k].cols;
    const size_t n = *kinds[k].n_cols;
    void *recs = NULL;
    int rc = jb_records_from_table(&s->t[k], s->path[k], cols, n, kinds[k].size, &recs, NULL, err);
    const int c = jb_column_find(cols, n, "schema_version");
    for (size_t r = 0; !rc && c >= 0 && r < s->t[k].n_rows; r++) {
        int64_t v;
        memcpy(&v, (const char *)recs + r * kinds[k].size + cols[c].offset, sizeof v);
        if (v != JB_I64_NONE && v != JB_SCHEMA_VERSION)
            rc = jb_fail(err, JB_EPARSE,
                "%s: record %zu has schema_version %lld, and this joulebench merges "
                "schema_version %d: folders of different schema versions are not merged",
                s->path[k], r + 2, (long long)v, JB_SCHEMA_VERSION);
    }
    free(recs);
    return rc;
}

/* Reads one CSV file of s; an absent (or empty) requests.csv or power.csv has no rows. */
static int read_part(struct source *s, int k, struct jb_err *err)
{
    struct stat st;
    snprintf(s->path[k], sizeof s->path[k], "%s/%s", s->dir, kinds[k].name);
    int rc = stat(s->path[k], &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0
        ? JB_ENOENT /* created, no header yet: nothing was written */
        : jb_table_read_lines(s->path[k], &s->t[k], err);
    if (rc == JB_ENOENT) {
        memset(&s->t[k], 0, sizeof s->t[k]);
        if (k == RUNS && !(stat(s->path[k], &st) == 0 && S_ISREG(st.st_mode)))
            return jb_fail(err, JB_ENOENT,
                "%s: no runs.csv here: is this a results folder (joulebench run/sweep --out)?",
                s->dir);
        rc = 0;
    }
    if (!rc && s->t[k].n_cols)
        rc = check_columns(s, k, err);
    if (!rc && s->t[k].n_cols)
        rc = check_cells(s, k, err);
    if (!rc && !(s->drop[k] = calloc(s->t[k].n_rows + 1, sizeof *s->drop[k])))
        rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", s->path[k]);
    return rc;
}

/* meta.json: absent is allowed (note_partial warns; the rows still merge); not JSON, or
 * another schema version, refuses the folder. */
static int read_meta(struct source *s, struct jb_err *err)
{
    const int rc = jb_meta_read(s->dir, &s->meta, err);
    if (rc == JB_ENOENT)
        return 0;
    if (rc)
        return rc;
    s->have_meta = true;
    if (s->meta.schema_version && s->meta.schema_version != JB_SCHEMA_VERSION)
        return jb_fail(err, JB_EPARSE,
            "%s/meta.json: schema_version %lld, and this joulebench merges schema_version %d: "
            "folders of different schema versions are not merged (report and compare read each "
            "as it is)",
            s->dir, (long long)s->meta.schema_version, JB_SCHEMA_VERSION);
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_run(const struct source *s, const char *run_id)
{
    return s->n_run_ids
        && bsearch(&run_id, s->run_ids, s->n_run_ids, sizeof *s->run_ids, str_cmp) != NULL;
}

static int read_source(struct source *s, struct jb_err *err)
{
    struct stat st;
    if (stat(s->dir, &st) != 0)
        return jb_fail(err, errno == ENOENT ? JB_ENOENT : JB_EINVAL, "%s: cannot read: %s", s->dir,
            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return jb_fail(err, JB_EINVAL, "%s: not a folder (merge takes results folders)", s->dir);
    if (strlen(s->dir) + 32 >= PATH_MAX)
        return jb_fail(err, JB_EINVAL, "%.60s...: the path is too long", s->dir);
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    if (!realpath(s->dir, s->abs))
        snprintf(s->abs, sizeof s->abs, "%s", s->dir);
    int rc = read_meta(s, err);
    for (int k = 0; !rc && k < N_FILES; k++)
        rc = read_part(s, k, err);
    if (rc)
        return rc;
    const struct jb_table *t = &s->t[RUNS];
    if (!(s->run_ids = calloc(t->n_rows + 1, sizeof *s->run_ids)))
        return jb_fail(err, JB_ENOMEM, "%s: out of memory", s->path[RUNS]);
    const int c = jb_table_col(t, "run_id");
    for (size_t r = 0; c >= 0 && r < t->n_rows; r++)
        if (*t->rows[r][c])
            s->run_ids[s->n_run_ids++] = t->rows[r][c];
    qsort(s->run_ids, s->n_run_ids, sizeof *s->run_ids, str_cmp);
    return 0;
}

static void free_source(struct source *s)
{
    jb_meta_free(&s->meta);
    for (int k = 0; k < N_FILES; k++) {
        jb_table_free(&s->t[k]);
        free(s->drop[k]);
    }
    free(s->run_ids);
}

/* ---- what a source holds ----------------------------------------------------------------------- */

static bool finished(const char *status)
{
    return strcmp(status, "finished") == 0 || strcmp(status, "finished with failures") == 0
        || strcmp(status, "merged") == 0;
}

/* What a source's reading left out or could not tell, said once every source passed its
 * checks (an error is then the only line): a last line cut short, no meta.json, a folder that
 * did not finish (interrupted, still running, a write that failed, a merge cut short: its
 * finished repetitions are merged), rows of unfinished repetitions. */
static void note_source(struct merge *m, const struct source *s)
{
    for (int k = 0; k < N_FILES; k++)
        if (s->t[k].cut_last)
            fprintf(stderr,
                "joulebench: note: %s: leaving out an incomplete last line (a write was cut "
                "short)\n",
                s->path[k]);
    for (int k = REQUESTS; k < N_FILES; k++)
        if (s->orphans[k])
            fprintf(stderr,
                "joulebench: note: %s: leaving out %zu row(s) of unfinished repetitions (no run "
                "row in %s)\n",
                s->path[k], s->orphans[k], s->path[RUNS]);
    if (!s->have_meta)
        fprintf(stderr,
            "joulebench: warning: %s: no meta.json: its machine and command line are unknown; "
            "merging its %zu repetition(s)\n",
            s->dir, s->t[RUNS].n_rows);
    if (!s->have_meta || finished(s->meta.status))
        return;
    m->st->partial++;
    fprintf(stderr,
        "joulebench: warning: %s: meta.json says \"%s\" (it did not finish): merging the %zu "
        "finished repetition(s) it holds\n",
        s->dir, s->meta.status[0] ? s->meta.status : "no status", s->t[RUNS].n_rows);
}

/* Request and power rows whose repetition has no run row in their own folder were written by a
 * repetition that never finished: left out, as jb_results_open drops them. Idle-baseline power
 * rows (idle:CONFIG_ID) belong to no repetition and stay. */
static void drop_orphans(struct merge *m, struct source *s)
{
    for (int k = REQUESTS; k < N_FILES; k++) {
        const struct jb_table *t = &s->t[k];
        const int c = jb_table_col(t, "run_id");
        for (size_t r = 0; c >= 0 && r < t->n_rows; r++)
            if (!(k == POWER && is_idle(t->rows[r][c])) && !has_run(s, t->rows[r][c])) {
                s->drop[k][r] = true;
                s->orphans[k]++;
            }
        m->st->orphans += s->orphans[k];
    }
}

/* ---- identities and copies --------------------------------------------------------------------- */

/* One row of one source under its identity. */
struct ident {
    char *id; /* owned by the merge's list */
    size_t src, row;
};

static int ident_cmp(const void *a, const void *b)
{
    const struct ident *x = a, *y = b;
    const int c = strcmp(x->id, y->id);
    if (c)
        return c;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row); /* first appearance first */
}

/* The identity of a row as read.c gives it (jb_row_identity), and for an idle-baseline power
 * row every cell (a sample has no identity of its own; an identical one in another folder is a
 * copy). "" when the row has none. */
static void identity(int k, const struct jb_table *t, size_t r, char *buf, size_t len)
{
    static const unsigned parts[N_FILES] = { [RUNS] = JB_RESULTS_RUNS,
        [REQUESTS] = JB_RESULTS_REQUESTS };
    buf[0] = '\0';
    if (parts[k]) {
        jb_row_identity(parts[k], t, r, buf, len);
    } else if (is_idle(jb_table_cell(t, r, "run_id"))) {
        size_t used = (size_t)snprintf(
            buf, len, "an idle-baseline sample of \"%s\" (", jb_table_cell(t, r, "run_id") + 5);
        for (size_t c = 0; c < t->n_cols && used < len; c++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", c ? "," : "", t->rows[r][c]);
        if (used < len)
            snprintf(buf + used, len - used, ")");
    }
}

static int add_event(
    struct merge *m, int k, bool samples, size_t later, size_t earlier, const char *id)
{
    if (m->n_events == m->cap_events) {
        const size_t cap = m->cap_events ? 2 * m->cap_events : 64;
        struct copy_event *e = realloc(m->events, cap * sizeof *e);
        if (!e)
            return JB_ENOMEM;
        m->events = e;
        m->cap_events = cap;
    }
    m->events[m->n_events] = (struct copy_event) { .kind = k,
        .samples = samples,
        .later = later,
        .earlier = earlier,
        .seq = m->n_events,
        .id = id };
    m->n_events++;
    return 0;
}

/* Two rows of one identity: the later one is left out when it is an identical copy, else the
 * folders disagree about one repetition (or request) and the merge is refused. */
static int settle(
    struct merge *m, int k, const struct ident *first, const struct ident *x, struct jb_err *err)
{
    const struct source *a = &m->src[first->src], *b = &m->src[x->src];
    const long c = jb_table_first_difference(&a->t[k], first->row, &b->t[k], x->row);
    if (c >= 0 && first->src == x->src)
        return jb_fail(err, JB_EPARSE,
            "%s: records %zu and %zu are both %s but differ in column \"%s\" (\"%s\" vs \"%s\"): "
            "keep one of them",
            a->path[k], first->row + 2, x->row + 2, x->id, a->t[k].header[c],
            a->t[k].rows[first->row][c], b->t[k].rows[x->row][c]);
    if (c >= 0)
        return jb_fail(err, JB_EPARSE,
            "%s (record %zu) and %s (record %zu) are both %s but differ in column \"%s\" (\"%s\" "
            "vs \"%s\"): two different results of one identity; leave one of the folders out or "
            "keep one of the rows",
            a->path[k], first->row + 2, b->path[k], x->row + 2, x->id, a->t[k].header[c],
            a->t[k].rows[first->row][c], b->t[k].rows[x->row][c]);
    m->src[x->src].drop[k][x->row] = true;
    if (k == RUNS)
        m->st->dup_runs++;
    else if (k == REQUESTS)
        m->st->dup_requests++;
    else
        m->st->dup_power++;
    return add_event(m, k, false, x->src, first->src, x->id)
        ? jb_fail(err, JB_ENOMEM, "out of memory")
        : 0;
}

/* Collects the identities of the rows of file k still kept, in every source. */
static int collect(struct merge *m, int k, struct ident **out, size_t *n_out, struct jb_err *err)
{
    size_t total = 0, n = 0;
    for (size_t s = 0; s < m->n; s++)
        total += m->src[s].t[k].n_rows;
    struct ident *ids = calloc(total + 1, sizeof *ids);
    if (!ids)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t s = 0; s < m->n; s++) {
        const struct jb_table *t = &m->src[s].t[k];
        for (size_t r = 0; r < t->n_rows; r++) {
            char buf[1400];
            if (m->src[s].drop[k][r])
                continue;
            identity(k, t, r, buf, sizeof buf);
            if (!buf[0])
                continue;
            if (m->n_ids == m->cap_ids) {
                const size_t cap = m->cap_ids ? 2 * m->cap_ids : 256;
                char **p = realloc(m->ids, cap * sizeof *p);
                if (!p) {
                    free(ids);
                    return jb_fail(err, JB_ENOMEM, "out of memory");
                }
                m->ids = p;
                m->cap_ids = cap;
            }
            if (!(m->ids[m->n_ids] = strdup(buf))) {
                free(ids);
                return jb_fail(err, JB_ENOMEM, "out of memory");
            }
            ids[n++] = (struct ident) { .id = m->ids[m->n_ids++], .src = s, .row = r };
        }
    }
    qsort(ids, n, sizeof *ids, ident_cmp);
    *out = ids;
    *n_out = n;
    return 0;
}

/* runs.csv and requests.csv: a row whose identity an earlier row has is a copy (left out) or
 * a conflict (refused). */
static int drop_copies(struct merge *m, int k, struct jb_err *err)
{
    struct ident *ids = NULL;
    size_t n = 0;
    int rc = collect(m, k, &ids, &n, err);
    for (size_t i = 1, first = 0; !rc && i < n; i++) {
        if (strcmp(ids[i].id, ids[first].id) != 0)
            first = i;
        else
            rc = settle(m, k, &ids[first], &ids[i], err);
    }
    free(ids);
    return rc;
}

/* Which source's run row of run_id was kept (SIZE_MAX: none). */
struct owner {
    const char *run_id;
    size_t src;
};

static int owner_cmp(const void *a, const void *b)
{
    return strcmp(((const struct owner *)a)->run_id, ((const struct owner *)b)->run_id);
}

/* power.csv: the samples of a repetition come from the folder whose run row was kept (another
 * folder's are a copy of the same repetition's); an idle-baseline sample identical to one of an
 * earlier folder is a copy. Samples within one folder are never left out (read.c's rule). */
static int drop_power_copies(struct merge *m, struct jb_err *err)
{
    size_t n_owners = 0, total = 0;
    for (size_t s = 0; s < m->n; s++)
        total += m->src[s].t[RUNS].n_rows;
    struct owner *owners = calloc(total + 1, sizeof *owners);
    if (!owners)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t s = 0; s < m->n; s++) {
        const struct jb_table *t = &m->src[s].t[RUNS];
        for (size_t r = 0; r < t->n_rows; r++)
            if (!m->src[s].drop[RUNS][r] && *jb_table_cell(t, r, "run_id"))
                owners[n_owners++] = (struct owner) { jb_table_cell(t, r, "run_id"), s };
    }
    qsort(owners, n_owners, sizeof *owners, owner_cmp);
    int rc = 0;
    for (size_t s = 0; !rc && s < m->n; s++) {
        const struct jb_table *t = &m->src[s].t[POWER];
        const int c = jb_table_col(t, "run_id");
        for (size_t r = 0; !rc && c >= 0 && r < t->n_rows; r++) {
            const struct owner key = { t->rows[r][c], 0 };
            const struct owner *o = m->src[s].drop[POWER][r] || is_idle(key.run_id)
                ? NULL
                : bsearch(&key, owners, n_owners, sizeof *owners, owner_cmp);
            if (!o || o->src == s)
                continue;
            m->src[s].drop[POWER][r] = true;
            m->st->dup_power++;
            if (add_event(m, POWER, true, s, o->src, o->run_id))
                rc = jb_fail(err, JB_ENOMEM, "out of memory");
        }
    }
    free(owners);
    struct ident *ids = NULL;
    size_t n = 0;
    if (!rc)
        rc = collect(m, POWER, &ids, &n, err); /* idle-baseline samples, every cell */
    for (size_t i = 1, first = 0; !rc && i < n; i++) {
        if (strcmp(ids[i].id, ids[first].id) != 0)
            first = i;
        else if (ids[i].src != ids[first].src)
            rc = settle(m, POWER, &ids[first], &ids[i], err);
    }
    free(ids);
    return rc;
}

/* Events of one warning: one file, one kind of copy, one pair of folders. */
static int group_cmp(const struct copy_event *x, const struct copy_event *y)
{
    if (x->kind != y->kind)
        return x->kind - y->kind;
    if (x->samples != y->samples)
        return x->samples - y->samples;
    if (x->later != y->later)
        return x->later < y->later ? -1 : 1;
    if (x->earlier != y->earlier)
        return x->earlier < y->earlier ? -1 : 1;
    return 0;
}

static int event_cmp(const void *a, const void *b)
{
    const struct copy_event *x = a, *y = b;
    const int c = group_cmp(x, y);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* One warning per file and pair of folders: how many rows were copies, and the first. */
static void warn_copies(struct merge *m)
{
    if (m->n_events)
        qsort(m->events, m->n_events, sizeof *m->events, event_cmp);
    for (size_t i = 0, j; i < m->n_events; i = j) {
        const struct copy_event *e = &m->events[i];
        for (j = i + 1; j < m->n_events && group_cmp(e, &m->events[j]) == 0; j++)
            ;
        const struct source *later = &m->src[e->later], *earlier = &m->src[e->earlier];
        const size_t count = j - i;
        if (e->samples)
            fprintf(stderr,
                "joulebench: warning: %s: %zu sample row(s) of repetitions already merged from "
                "%s (run_id \"%s\"%s) left out: each repetition's samples are taken once, with "
                "its run row\n",
                later->path[POWER], count, earlier->path[POWER], e->id, count > 1 ? ", ..." : "");
        else if (e->later == e->earlier)
            fprintf(stderr,
                "joulebench: warning: %s: %zu row(s) are identical copies of earlier ones (%s%s): "
                "each counted once\n",
                later->path[e->kind], count, e->id, count > 1 ? ", ..." : "");
        else
            fprintf(stderr,
                "joulebench: warning: %s: %zu row(s) are identical copies of rows of %s (%s%s): "
                "each counted once\n",
                later->path[e->kind], count, earlier->path[e->kind], e->id,
                count > 1 ? ", ..." : "");
    }
}

/* ---- meta.json of the merged folder ------------------------------------------------------------ */

/* Two sources of one host name that describe different machines: a warning naming both. */
static void warn_machines(const struct merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = i + 1; j < m->n; j++) {
            const struct source *a = &m->src[i], *b = &m->src[j];
            if (!a->have_meta || !b->have_meta || !a->meta.machine.host[0]
                || strcmp(a->meta.machine.host, b->meta.machine.host) != 0)
                continue;
            char what[1024] = "";
            if (strcmp(a->meta.machine.cpu_model, b->meta.machine.cpu_model) != 0)
                jb_appendf(what, sizeof what, "cpu_model \"%s\" vs \"%s\"",
                    a->meta.machine.cpu_model, b->meta.machine.cpu_model);
            if (a->meta.machine.cpus_online != b->meta.machine.cpus_online)
                jb_appendf(what, sizeof what, "%scpus_online %lld vs %lld", what[0] ? ", " : "",
                    (long long)a->meta.machine.cpus_online, (long long)b->meta.machine.cpus_online);
            if (a->meta.machine.memory_bytes != b->meta.machine.memory_bytes)
                jb_appendf(what, sizeof what, "%smemory_bytes %.0f vs %.0f", what[0] ? ", " : "",
                    a->meta.machine.memory_bytes, b->meta.machine.memory_bytes);
            if (what[0])
                fprintf(stderr,
                    "joulebench: warning: %s and %s both ran on host \"%s\" but describe "
                    "different machines (%s): merged; the merged meta.json's machine keeps only "
                    "what every source agrees on\n",
                    a->dir, b->dir, a->meta.machine.host, what);
        }
}

#define AGREE_STR(field)                                                                           \
    do {                                                                                           \
        if (strcmp(out->field, in->field) != 0)                                                    \
            out->field[0] = '\0';                                                                  \
    } while (0)
#define AGREE_NUM(field, none)                                                                     \
    do {                                                                                           \
        if (out->field != in->field)                                                               \
            out->field = (none);                                                                   \
    } while (0)

/* The machine and energy fields every source agrees on; a field they differ on is left empty
 * (0, or NAN for the meter's settings). One machine throughout: that machine. */
static void agree(struct jb_meta *out, const struct jb_meta *in)
{
    AGREE_STR(machine.host);
    AGREE_STR(machine.cpu_model);
    AGREE_NUM(machine.cpus_online, 0);
    AGREE_NUM(machine.cpus_allowed, 0);
    AGREE_NUM(machine.memory_bytes, 0);
    AGREE_STR(machine.kernel);
    AGREE_STR(machine.compiler);
    AGREE_STR(machine.openblas);
    AGREE_STR(machine.openblas_config);
    AGREE_NUM(machine.openblas_threads, 0);
    AGREE_STR(machine.kernels);
    AGREE_STR(energy.meter);
    AGREE_STR(energy.passed_over);
    AGREE_NUM(energy.sample_ms, NAN);
    AGREE_NUM(energy.idle_s, NAN);
}

static void common_machine(const struct merge *m, struct jb_meta *out)
{
    bool all = m->n > 0;
    for (size_t i = 0; i < m->n; i++)
        all = all && m->src[i].have_meta;
    if (!all) { /* a folder without meta.json: its machine is unknown, so the merge's is */
        memset(&out->machine, 0, sizeof out->machine);
        out->energy.sample_ms = out->energy.idle_s = NAN;
        return;
    }
    out->machine = m->src[0].meta.machine;
    snprintf(out->energy.meter, sizeof out->energy.meter, "%s", m->src[0].meta.energy.meter);
    snprintf(out->energy.passed_over, sizeof out->energy.passed_over, "%s",
        m->src[0].meta.energy.passed_over);
    out->energy.sample_ms = m->src[0].meta.energy.sample_ms;
    out->energy.idle_s = m->src[0].meta.energy.idle_s;
    for (size_t i = 1; i < m->n; i++)
        agree(out, &m->src[i].meta);
}

/* The sources' planned configurations, once per config_id: the first folder's entry, unless it
 * skipped a configuration a later folder ran. */
static int union_configs(const struct merge *m, struct jb_meta *out, struct jb_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < m->n; i++)
        total += m->src[i].meta.n_configs;
    if (!(out->configs = calloc(total + 1, sizeof *out->configs)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n; i++)
        for (size_t c = 0; c < m->src[i].meta.n_configs; c++) {
            const struct jb_meta_config *in = &m->src[i].meta.configs[c];
            size_t j = 0;
            while (j < out->n_configs && strcmp(out->configs[j].config_id, in->config_id) != 0)
                j++;
            if (j == out->n_configs)
                out->configs[out->n_configs++] = *in;
            else if (strcmp(out->configs[j].status, "skipped") == 0
                && strcmp(in->status, "skipped") != 0)
                out->configs[j] = *in;
        }
    return 0;
}

static int copy_command(struct jb_meta_source *o, const struct jb_meta *in)
{
    if (!(o->command = calloc((size_t)in->n_command + 1, sizeof *o->command)))
        return JB_ENOMEM;
    for (int a = 0; a < in->n_command; a++) {
        if (!(o->command[a] = strdup(in->command[a])))
            return JB_ENOMEM;
        o->n_command = a + 1;
    }
    return 0;
}

static int fill_sources(const struct merge *m, struct jb_meta *out, struct jb_err *err)
{
    if (!(out->sources = calloc(m->n + 1, sizeof *out->sources)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n; i++) {
        const struct source *s = &m->src[i];
        struct jb_meta_source *o = &out->sources[out->n_sources++];
        snprintf(o->path, sizeof o->path, "%s", s->abs);
        o->runs = (int64_t)s->runs_kept;
        if (!s->have_meta)
            continue;
        snprintf(o->host, sizeof o->host, "%s", s->meta.machine.host);
        snprintf(o->cpu_model, sizeof o->cpu_model, "%s", s->meta.machine.cpu_model);
        o->cpus_online = s->meta.machine.cpus_online;
        o->memory_bytes = s->meta.machine.memory_bytes;
        snprintf(o->status, sizeof o->status, "%s", s->meta.status);
        snprintf(o->started_utc, sizeof o->started_utc, "%s", s->meta.started_utc);
        snprintf(o->git_commit, sizeof o->git_commit, "%s", s->meta.git_commit);
        if (copy_command(o, &s->meta))
            return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    return 0;
}

/* meta.json of the merged folder but its status. */
static int build_meta(
    const struct merge *m, int argc, char *const *argv, struct jb_meta *out, struct jb_err *err)
{
    time_t now = time(NULL);
    struct tm tm;
    memset(out, 0, sizeof *out);
    out->schema_version = JB_SCHEMA_VERSION;
    snprintf(out->version, sizeof out->version, "%s", JB_VERSION);
    snprintf(out->git_commit, sizeof out->git_commit, "%s", JB_GIT_COMMIT);
    gmtime_r(&now, &tm);
    strftime(out->started_utc, sizeof out->started_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    common_machine(m, out);
    int rc = jb_meta_set_command(out, argc, argv, err);
    if (!rc)
        rc = union_configs(m, out, err);
    if (!rc)
        rc = fill_sources(m, out, err);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------ */

/* OUT must not exist, or be an empty folder: a merge never mixes with a run's rows. */
static int check_out(const char *out, struct jb_err *err)
{
    struct stat st;
    if (strlen(out) + 64 >= PATH_MAX)
        return jb_fail(err, JB_EINVAL, "%.60s...: the path is too long", out);
    if (stat(out, &st) != 0)
        return errno == ENOENT ? 0 : jb_fail(err, JB_EIO, "%s: %s", out, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return jb_fail(
            err, JB_EINVAL, "%s exists and is not a folder: merge into a new or empty one", out);
    DIR *d = opendir(out);
    if (!d)
        return jb_fail(err, JB_EIO, "%s: cannot read: %s", out, strerror(errno));
    char first[NAME_MAX + 1] = "";
    for (struct dirent *e; !first[0] && (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            snprintf(first, sizeof first, "%s", e->d_name);
    closedir(d);
    if (first[0])
        return jb_fail(err, JB_EINVAL,
            "%s is not empty (it holds \"%s\"): merge into a new or empty folder, so that merged "
            "rows never mix with a run's",
            out, first);
    return 0;
}

struct rows_ctx {
    const struct merge *m;
    int k;
    size_t written;
};

/* The kept rows of every source, in command-line then file order, cell for cell. */
static int write_rows(FILE *f, void *ctx)
{
    struct rows_ctx *x = ctx;
    const int k = x->k;
    x->written = 0;
    jb_csv_write_header(f, kinds[k].cols, *kinds[k].n_cols);
    for (size_t s = 0; s < x->m->n; s++) {
        const struct jb_table *t = &x->m->src[s].t[k];
        for (size_t r = 0; r < t->n_rows; r++) {
            if (x->m->src[s].drop[k][r])
                continue;
            for (size_t c = 0; c < t->n_cols; c++) {
                if (c)
                    fputc(',', f);
                jb_csv_write_field(f, t->rows[r][c]);
            }
            fputs("\r\n", f);
            x->written++;
        }
    }
    return ferror(f) ? JB_EIO : 0;
}

/* Writes the merged folder under its lock: meta.json ("merging"), requests.csv and power.csv,
 * then runs.csv (a repetition counts once its run row is there), summary.csv, and meta.json
 * "merged". When a write fails, meta.json says "write failed". */
static int write_out(
    const char *out, struct merge *m, struct jb_meta *meta, double cv_warn, struct jb_err *err)
{
    struct jb_results res;
    int rc = jb_results_open(&res, out, err);
    if (rc)
        return rc;
    if (res.n_done) { /* a run wrote here since check_out looked */
        jb_results_close(&res);
        return jb_fail(err, JB_EINVAL,
            "%s is not empty (a run wrote to it): merge into a new or empty folder", out);
    }
    snprintf(meta->status, sizeof meta->status, "merging");
    rc = jb_meta_write(out, meta, err);
    static const int order[] = { REQUESTS, POWER, RUNS };
    size_t *counts[] = { &m->st->requests, &m->st->power, &m->st->runs };
    for (int i = 0; !rc && i < N_FILES; i++) {
        char path[PATH_MAX + 16];
        struct rows_ctx x = { .m = m, .k = order[i] };
        snprintf(path, sizeof path, "%s/%s", out, kinds[order[i]].name);
        rc = jb_write_atomic(path, write_rows, &x, err);
        *counts[i] = x.written;
    }
    if (!rc)
        rc = jb_summary_write(out, cv_warn, NULL, err);
    if (!rc) {
        snprintf(meta->status, sizeof meta->status, "merged");
        rc = jb_meta_write(out, meta, err);
    }
    if (rc) {
        struct jb_err ignored;
        snprintf(meta->status, sizeof meta->status, "write failed");
        if (jb_meta_write(out, meta, &ignored))
            (void)jb_meta_patch_status(out, "write failed", &ignored);
    }
    jb_results_close(&res);
    return rc;
}

/* ---- the merge ---------------------------------------------------------------------------------- */

static int read_all(struct merge *m, const char *const *dirs, struct jb_err *err)
{
    for (size_t i = 0; i < m->n; i++) {
        m->src[i].dir = dirs[i];
        int rc = read_source(&m->src[i], err);
        for (size_t j = 0; !rc && j < i; j++)
            if (m->src[j].dev == m->src[i].dev && m->src[j].ino == m->src[i].ino)
                rc = jb_fail(err, JB_EINVAL, "%s and %s are the same folder: name it once",
                    m->src[j].dir, m->src[i].dir);
        if (rc)
            return rc;
    }
    return 0;
}

int jb_results_merge(const char *out, const char *const *dirs, size_t n_dirs, int argc,
    char *const *argv, double cv_warn, struct jb_merge_stats *st, struct jb_err *err)
{
    struct merge m = { .n = n_dirs, .st = st };
    struct jb_meta meta = { 0 };
    memset(st, 0, sizeof *st);
    st->n_sources = n_dirs;
    if (n_dirs == 0)
        return jb_fail(err, JB_EINVAL, "nothing to merge: name at least one results folder");
    int rc = check_out(out, err);
    if (!rc && !(m.src = calloc(n_dirs, sizeof *m.src)))
        rc = jb_fail(err, JB_ENOMEM, "out of memory");
    if (!rc)
        rc = read_all(&m, dirs, err);
    for (size_t i = 0; !rc && i < m.n; i++)
        drop_orphans(&m, &m.src[i]);
    if (!rc)
        rc = drop_copies(&m, RUNS, err);
    if (!rc)
        rc = drop_copies(&m, REQUESTS, err);
    if (!rc)
        rc = drop_power_copies(&m, err);
    if (!rc) {
        for (size_t i = 0; i < m.n; i++)
            note_source(&m, &m.src[i]);
        warn_copies(&m);
        warn_machines(&m);
        for (size_t i = 0; i < m.n; i++)
            for (size_t r = 0; r < m.src[i].t[RUNS].n_rows; r++)
                m.src[i].runs_kept += !m.src[i].drop[RUNS][r];
        rc = build_meta(&m, argc, argv, &meta, err);
    }
    if (!rc)
        rc = write_out(out, &m, &meta, cv_warn, err);
    jb_meta_free(&meta);
    for (size_t i = 0; m.src && i < m.n; i++)
        free_source(&m.src[i]);
    free(m.src);
    for (size_t i = 0; i < m.n_ids; i++)
        free(m.ids[i]);
    free(m.ids);
    free(m.events);
    return rc;
}
