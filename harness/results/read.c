/*
 * read.c — a results folder read back into the typed records of jb_records.h through the same
 * column tables that wrote it, and runs grouped into configurations. The summary, the report
 * and compare read through here, so a schema change is made in one place; older folders
 * (schema_version 1, fewer columns) read with the missing columns empty.
 */
#include "jb_results.h"
#include "jb_validity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Rows written by a newer joulebench may mean something else: refused, naming the file. */
static int check_schema(const char *path, const void *rows, size_t n, size_t size,
    const struct jb_column *cols, size_t n_cols, struct jb_err *err)
{
    const int c = jb_column_find(cols, n_cols, "schema_version");
    for (size_t r = 0; c >= 0 && r < n; r++) {
        int64_t v;
        memcpy(&v, (const char *)rows + r * size + cols[c].offset, sizeof v);
        if (v != JB_I64_NONE && v > JB_SCHEMA_VERSION)
            return jb_fail(err, JB_EPARSE,
                "%s: record %zu has schema_version %lld; this joulebench reads up to %d: "
                "use a newer joulebench",
                path, r + 2, (long long)v, JB_SCHEMA_VERSION);
    }
    return 0;
}

/* ---- duplicate rows ---------------------------------------------------------------------------
 * A row is one repetition (runs.csv) or one request of one (requests.csv): the same identity
 * twice would count it twice, and compare would see six copies of three repetitions as
 * eighteen (a p-value they cannot support). Copies identical cell for cell (files concatenated
 * twice, a merge that overlapped) are counted once, with a warning; two different rows of one
 * identity (a repetition re-run and appended by hand) are an error naming both records. */

void jb_row_identity(unsigned part, const struct jb_table *t, size_t r, char *buf, size_t len)
{
#define CELL(name) jb_table_cell(t, r, name)
    buf[0] = '\0';
    if (part == JB_RESULTS_RUNS && *CELL("run_id"))
        snprintf(buf, len, "run_id \"%s\"", CELL("run_id"));
    else if (part == JB_RESULTS_RUNS && *CELL("rep") && *CELL("config_id"))
        snprintf(buf, len, "rep %s of \"%s\"", CELL("rep"), CELL("config_id"));
    else if (part == JB_RESULTS_RUNS && *CELL("rep")) /* hand-made or trimmed: its shape */
        snprintf(buf, len, "rep %s of \"%s %s %s %s %s %s\"", CELL("rep"), CELL("model"),
            CELL("dtype"), CELL("workload"), CELL("scenario"), CELL("batch"), CELL("threads"));
    else if (part == JB_RESULTS_REQUESTS && *CELL("run_id") && *CELL("request_id"))
        snprintf(buf, len, "request %s of run_id \"%s\"", CELL("request_id"), CELL("run_id"));
#undef CELL
}

struct ident {
    char *id; /* owned */
    size_t row;
};

static int ident_cmp(const void *a, const void *b)
{
    const struct ident *x = a, *y = b;
    const int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row); /* first appearance first */
}

/* Marks in drop[] every row that repeats an earlier one of the same identity, cell for cell;
 * fails on two rows of one identity that differ. ids[0 .. n) sorted by identity, then row. */
static int mark_copies(const struct jb_table *t, const char *path, const struct ident *ids,
    size_t n, bool *drop, size_t *dropped, struct jb_err *err)
{
    for (size_t i = 1, first = 0; i < n; i++) {
        if (strcmp(ids[i].id, ids[first].id) != 0) {
            first = i;
            continue;
        }
        const size_t a = ids[first].row, b = ids[i].row;
        const long c = jb_table_first_difference(t, a, t, b);
        if (c >= 0)
            return jb_fail(err, JB_EPARSE,
                "%s: records %zu and %zu are both %s but differ in column \"%s\" (\"%s\" vs "
                "\"%s\"): keep one of them",
                path, a + 2, b + 2, ids[i].id, t->header[c], t->rows[a][c], t->rows[b][c]);
        drop[b] = true;
        (*dropped)++;
    }
    return 0;
}

/* Removes the rows drop[] marks from the n records of rows (size bytes each); the new count. */
static size_t compact(char *rows, size_t n, size_t size, const bool *drop)
{
    size_t kept = 0;
    for (size_t r = 0; r < n; r++)
        if (!drop[r])
            memmove(rows + kept++ * size, rows + r * size, size);
    return kept;
}

/* The identical copies among the records of t counted once (with a warning on stderr), the
 * conflicting ones an error; *count is updated. */
static int drop_duplicates(const struct jb_table *t, const char *path, unsigned part,
    void *records, size_t size, size_t *count, struct jb_err *err)
{
    struct ident *ids = calloc(t->n_rows + 1, sizeof *ids);
    bool *drop = calloc(t->n_rows + 1, sizeof *drop);
    size_t n = 0, dropped = 0;
    int rc = ids && drop ? 0 : jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
    for (size_t r = 0; !rc && r < t->n_rows; r++) {
        char buf[1200];
        jb_row_identity(part, t, r, buf, sizeof buf);
        if (!buf[0])
            continue;
        if (!(ids[n].id = strdup(buf)))
            rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
        ids[n++].row = r;
    }
    if (!rc) {
        qsort(ids, n, sizeof *ids, ident_cmp);
        rc = mark_copies(t, path, ids, n, drop, &dropped, err);
    }
    if (!rc && dropped) {
        *count = compact(records, t->n_rows, size, drop);
        fprintf(stderr,
            "joulebench: warning: %s: %zu row(s) are identical copies of earlier ones (the same "
            "repetition or request twice): each counted once\n",
            path, dropped);
    }
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i].id);
    free(ids);
    free(drop);
    return rc;
}

/* Reads path into records as cols describes: every cell checked, rows of a newer schema
 * refused, duplicates dropped or refused (by jb_row_identity of part; 0: no identity). JB_ENOENT passes through
 * for optional files. */
static int read_file(const char *path, const struct jb_column *cols, size_t n, size_t size,
    unsigned part, void **out, size_t *count, bool *present, struct jb_err *err)
{
    struct jb_table t;
    int rc = jb_table_read_lines(path, &t, err);
    *out = NULL;
    *count = 0;
    if (rc)
        return rc;
    if (t.cut_last)
        fprintf(stderr,
            "joulebench: note: %s: ignoring an incomplete last line (a write was cut short; the "
            "next run into this folder drops it)\n",
            path);
    rc = jb_records_from_table(&t, path, cols, n, size, out, present, err);
    if (!rc)
        rc = check_schema(path, *out, t.n_rows, size, cols, n, err);
    *count = t.n_rows;
    if (!rc && part)
        rc = drop_duplicates(&t, path, part, *out, size, count, err);
    if (rc) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    jb_table_free(&t);
    return rc;
}

/* Schema version 1 had no per-token energies; they are derived as version 2 defines them
 * (schema.c), so old folders plot and fit like new ones. */
static void upgrade_v1(struct jb_results_data *d)
{
    const bool out = jb_results_has_run_column(d, "j_per_output_token");
    const bool in = jb_results_has_run_column(d, "j_per_prompt_token");
    for (size_t i = 0; i < d->n_runs; i++) {
        struct jb_run_record *r = &d->runs[i];
        const bool counted = r->gen_tokens != JB_I64_NONE && r->requests != JB_I64_NONE;
        if (!out && counted && r->gen_tokens > r->requests) /* tokens from decode calls */
            r->j_per_output_token = r->energy_decode_j / (double)(r->gen_tokens - r->requests);
        if (!in && r->prompt_tokens != JB_I64_NONE && r->prompt_tokens > 0)
            r->j_per_prompt_token = r->energy_prefill_j / (double)r->prompt_tokens;
    }
}

static int read_optional(const char *dir, const char *name, const struct jb_column *cols, size_t n,
    size_t size, unsigned part, void **out, size_t *count, bool *have, bool *present,
    struct jb_err *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int rc = read_file(path, cols, n, size, part, out, count, present, err);
    *have = rc == 0;
    return rc == JB_ENOENT ? 0 : rc;
}

/* A folder, or a runs.csv file whose folder holds the rest. */
static void locate(const char *path, struct jb_results_data *d)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(d->dir, sizeof d->dir, "%s", path);
        snprintf(d->runs_path, sizeof d->runs_path, "%s/runs.csv", path);
        return;
    }
    const char *slash = strrchr(path, '/');
    snprintf(d->runs_path, sizeof d->runs_path, "%s", path);
    snprintf(d->dir, sizeof d->dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
}

int jb_results_read(const char *path, unsigned parts, struct jb_results_data *d, struct jb_err *err)
{
    memset(d, 0, sizeof *d);
    locate(path, d);
    int rc = read_file(d->runs_path, jb_run_columns, jb_n_run_columns, sizeof *d->runs,
        JB_RESULTS_RUNS, (void **)&d->runs, &d->n_runs, d->run_present, err);
    if (!rc) {
        upgrade_v1(d);
        /* a configuration's reasons (spread, drift) are written on its last repetition */
        jb_validity_spread(d->runs, d->n_runs);
    }
    if (!rc && (parts & JB_RESULTS_REQUESTS))
        rc = read_optional(d->dir, "requests.csv", jb_request_columns, jb_n_request_columns,
            sizeof *d->requests, JB_RESULTS_REQUESTS, (void **)&d->requests, &d->n_requests,
            &d->have_requests, d->request_present, err);
    if (!rc && (parts & JB_RESULTS_POWER)) /* samples have no identity: none are dropped */
        rc = read_optional(d->dir, "power.csv", jb_power_columns, jb_n_power_columns,
            sizeof *d->power, 0, (void **)&d->power, &d->n_power, &d->have_power,
            d->power_present, err);
    if (rc)
        jb_results_data_free(d);
    return rc;
}

void jb_results_data_free(struct jb_results_data *d)
{
    free(d->runs);
    free(d->requests);
    free(d->power);
    memset(d, 0, sizeof *d);
}

bool jb_results_has_run_column(const struct jb_results_data *d, const char *name)
{
    const int i = jb_column_find(jb_run_columns, jb_n_run_columns, name);
    return i >= 0 && d->run_present[i];
}

double jb_run_num(const struct jb_run_record *run, const char *name)
{
    return jb_record_num(jb_run_columns, jb_n_run_columns, run, name);
}

/* ---- configurations ---------------------------------------------------------------------------- */

/* An integer column as written (empty when not measured). */
static const char *int_text(int64_t v, char *buf, size_t len)
{
    if (v == JB_I64_NONE)
        buf[0] = '\0';
    else
        snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

void jb_config_key_of(const struct jb_run_record *run, enum jb_config_key k, char *buf, size_t len)
{
    char batch[24], threads[24];
    if (k == JB_KEY_CONFIG_ID) {
        snprintf(buf, len, "%s", run->config_id);
        return;
    }
    if (k == JB_KEY_CONFIG_MACHINE) {
        snprintf(buf, len, "%s\t%s\t%s", run->config_id, run->host, run->cpu_info);
        return;
    }
    /* a layer-sampled run is another configuration than the whole model's: its figures are
     * extrapolated (the whole model's key is unchanged, so older baselines still match) */
    char layers[64] = "";
    if (run->extrapolated == 1)
        snprintf(layers, sizeof layers, " layers %lld/%lld", (long long)run->layers_run,
            (long long)run->layers_total);
    snprintf(buf, len, "%s %s %s %s %s %s%s", run->model, run->dtype, run->workload, run->scenario,
        int_text(run->batch, batch, sizeof batch), int_text(run->threads, threads, sizeof threads),
        layers);
}

void jb_config_groups_free(struct jb_config_group *groups, size_t n_groups)
{
    if (groups && n_groups)
        free(groups[0].rows); /* every group's rows lie in one array, group 0's first */
    free(groups);
}

/* The group of key among g[0 .. n), or -1. */
static long find_group(const struct jb_config_group *g, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].key, key) == 0)
            return (long)i;
    return -1;
}

int jb_config_groups(const struct jb_run_record *runs, size_t n, enum jb_config_key k,
    bool (*keep)(const struct jb_run_record *run), struct jb_config_group **groups,
    size_t *n_groups, struct jb_err *err)
{
    struct jb_config_group *g = calloc(n ? n : 1, sizeof *g);
    long *of = malloc((n ? n : 1) * sizeof *of);           /* each run's group, -1: not kept */
    size_t *rows = malloc((n ? n : 1) * sizeof *rows), count = 0;
    *groups = NULL;
    *n_groups = 0;
    if (!g || !of || !rows) {
        free(g);
        free(of);
        free(rows);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < n; r++) { /* first pass: which group, and how many in each */
        char key[sizeof g->key];
        of[r] = -1;
        if (keep && !keep(&runs[r]))
            continue;
        jb_config_key_of(&runs[r], k, key, sizeof key);
        if ((of[r] = find_group(g, count, key)) < 0) {
            snprintf(g[count].key, sizeof g->key, "%s", key);
            of[r] = (long)count++;
        }
        g[of[r]].n++;
    }
    for (size_t i = 0, start = 0; i < count; i++) { /* then lay them out, one after another */
        g[i].rows = rows + start;
        start += g[i].n;
        g[i].n = 0; /* counts again as the rows are placed */
    }
    for (size_t r = 0; r < n; r++)
        if (of[r] >= 0)
            g[of[r]].rows[g[of[r]].n++] = r;
    free(of);
    if (!count)
        free(rows);
    *groups = g;
    *n_groups = count;
    return 0;
}
