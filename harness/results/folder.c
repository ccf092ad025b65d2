/*
 * folder.c — a results folder that survives interruption and concurrent use: append-only
 * CSV files synced per repetition, an O_EXCL lock file naming its owner, resumption that
 * skips finished repetitions and drops rows of unfinished ones, atomic replacement.
 */
#include "jb_results.h"

#include "jb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_folder(const char *dir, struct jb_err *err)
{
    int rc = jb_mkdir_p(dir, 0777, "results folder", err);
    if (!rc && access(dir, W_OK) != 0)
        rc = jb_fail(err, JB_EIO, "results folder %s is not writable: %s", dir, strerror(errno));
    return rc;
}

/* ---- lock ------------------------------------------------------------------------------------ */

static int take_lock(struct jb_results *r, struct jb_err *err)
{
    char path[PATH_MAX + 8], buf[32];
    snprintf(path, sizeof path, "%s/.lock", r->dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        r->lock_fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (r->lock_fd >= 0) {
            int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
            if (write(r->lock_fd, buf, (size_t)n) != n)
                return jb_fail(err, JB_EIO, "%s: cannot write the lock: %s", path, strerror(errno));
            return 0;
        }
        if (errno != EEXIST)
            return jb_fail(err, JB_EIO, "%s: cannot create the lock: %s", path, strerror(errno));
        FILE *f = fopen(path, "r");
        long pid = 0;
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            return jb_fail(err, JB_EBUSY,
                "%s is being written by another joulebench (pid %ld); "
                "wait for it or choose another --out",
                r->dir, pid);
        unlink(path); /* stale: its owner is gone */
    }
    return jb_fail(err, JB_EBUSY, "%s: cannot take the lock", path);
}

/* ---- existing files ------------------------------------------------------------------------- */

static int check_header(const struct jb_table *t, const char *path, const struct jb_column *cols,
    size_t n, struct jb_err *err)
{
    bool same = t->n_cols == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(t->header[i], cols[i].name) == 0;
    if (!same)
        return jb_fail(err, JB_EPARSE,
            "%s: its columns are not this version's (schema %d); "
            "use another --out",
            path, JB_SCHEMA_VERSION);
    return 0;
}

static int note_done(struct jb_results *r, const char *run_id)
{
    if (r->n_done == r->cap_done) {
        size_t cap = r->cap_done ? 2 * r->cap_done : 64;
        char **d = realloc(r->done, cap * sizeof *d);
        if (!d)
            return JB_ENOMEM;
        r->done = d;
        r->cap_done = cap;
    }
    return (r->done[r->n_done++] = strdup(run_id)) ? 0 : JB_ENOMEM;
}

bool jb_results_has(const struct jb_results *r, const char *run_id)
{
    for (size_t i = 0; i < r->n_done; i++)
        if (strcmp(r->done[i], run_id) == 0)
            return true;
    return false;
}

static int load_runs(struct jb_results *r, const char *path, struct jb_err *err)
{
    struct jb_table t;
    int rc = jb_table_read(path, &t, err);
    if (rc == JB_ENOENT)
        return 0;
    if (rc || (rc = check_header(&t, path, jb_run_columns, jb_n_run_columns, err))) {
        jb_table_free(&t);
        return rc;
    }
    const int col = jb_table_col(&t, "run_id");
    for (size_t i = 0; i < t.n_rows && !rc; i++)
        if ((rc = note_done(r, t.rows[i][col])))
            rc = jb_fail(err, rc, "out of memory");
    jb_table_free(&t);
    return rc;
}

struct kept_rows {
    const struct jb_table *t;
    const struct jb_results *r;
    int col;
    const struct jb_column *cols;
    size_t n_cols;
};

/* A row stays when its repetition finished; idle-baseline rows (idle:...) always stay. */
static bool keep_row(const struct kept_rows *k, size_t i)
{
    const char *id = k->t->rows[i][k->col];
    return strncmp(id, "idle:", 5) == 0 || jb_results_has(k->r, id);
}

static int write_kept(FILE *f, void *ctx)
{
    const struct kept_rows *k = ctx;
    jb_csv_write_header(f, k->cols, k->n_cols);
    for (size_t i = 0; i < k->t->n_rows; i++) {
        if (!keep_row(k, i))
            continue;
        for (size_t c = 0; c < k->t->n_cols; c++) {
            if (c)
                fputc(',', f);
            jb_csv_write_field(f, k->t->rows[i][c]);
        }
        fputs("\r\n", f);
    }
    return ferror(f) ? JB_EIO : 0;
}

/* Request and power rows whose repetition has no run row were written by an interrupted
 * repetition: they are dropped (the repetition runs again). */
static int drop_orphans(struct jb_results *r, const char *path, const struct jb_column *cols,
    size_t n_cols, struct jb_err *err)
{
    struct jb_table t;
    int rc = jb_table_read(path, &t, err);
    if (rc == JB_ENOENT)
        return 0;
    if (rc || (rc = check_header(&t, path, cols, n_cols, err))) {
        jb_table_free(&t);
        return rc;
    }
    struct kept_rows k = { &t, r, jb_table_col(&t, "run_id"), cols, n_cols };
    size_t orphans = 0;
    for (size_t i = 0; i < t.n_rows; i++)
        orphans += !keep_row(&k, i);
    if (orphans) {
        fprintf(stderr, "joulebench: %s: dropping %zu rows of an unfinished repetition\n", path,
            orphans);
        rc = jb_write_atomic(path, write_kept, &k, err);
    }
    jb_table_free(&t);
    return rc;
}

static int open_append(
    FILE **f, const char *path, const struct jb_column *cols, size_t n, struct jb_err *err)
{
    *f = fopen(path, "ab");
    if (!*f)
        return jb_fail(err, JB_EIO, "%s: cannot open for appending: %s", path, strerror(errno));
    if (ftell(*f) == 0 && jb_csv_write_header(*f, cols, n) == 0)
        fflush(*f);
    return ferror(*f) ? jb_fail(err, JB_EIO, "%s: write error", path) : 0;
}

int jb_results_open(struct jb_results *r, const char *dir, struct jb_err *err)
{
    char runs[PATH_MAX + 16], reqs[PATH_MAX + 16], power[PATH_MAX + 16];
    memset(r, 0, sizeof *r);
    r->lock_fd = -1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(runs, sizeof runs, "%s/runs.csv", dir);
    snprintf(reqs, sizeof reqs, "%s/requests.csv", dir);
    snprintf(power, sizeof power, "%s/power.csv", dir);
    int rc = make_folder(dir, err);
    if (!rc)
        rc = take_lock(r, err);
    if (!rc)
        rc = load_runs(r, runs, err);
    if (!rc)
        rc = drop_orphans(r, reqs, jb_request_columns, jb_n_request_columns, err);
    if (!rc)
        rc = drop_orphans(r, power, jb_power_columns, jb_n_power_columns, err);
    if (!rc)
        rc = open_append(&r->runs, runs, jb_run_columns, jb_n_run_columns, err);
    if (!rc)
        rc = open_append(&r->requests, reqs, jb_request_columns, jb_n_request_columns, err);
    if (!rc)
        rc = open_append(&r->power, power, jb_power_columns, jb_n_power_columns, err);
    if (rc)
        jb_results_close(r);
    return rc;
}

void jb_results_close(struct jb_results *r)
{
    if (r->runs)
        fclose(r->runs);
    if (r->requests)
        fclose(r->requests);
    if (r->power)
        fclose(r->power);
    if (r->lock_fd >= 0) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/.lock", r->dir);
        unlink(path);
        close(r->lock_fd);
    }
    for (size_t i = 0; i < r->n_done; i++)
        free(r->done[i]);
    free(r->done);
    memset(r, 0, sizeof *r);
    r->lock_fd = -1;
}

static int sync_file(FILE *f)
{
    return fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f) ? 0 : JB_EIO;
}

int jb_results_append_power(struct jb_results *r, const struct jb_power_record *p)
{
    if (!r->power)
        return JB_EINVAL;
    jb_csv_write_row(r->power, jb_power_columns, jb_n_power_columns, p);
    return fflush(r->power) == 0 && !ferror(r->power) ? 0 : JB_EIO;
}

int jb_results_append(struct jb_results *r, const struct jb_run_record *run,
    const struct jb_request_record *reqs, int64_t n_reqs, struct jb_err *err)
{
    for (int64_t i = 0; i < n_reqs; i++)
        jb_csv_write_row(r->requests, jb_request_columns, jb_n_request_columns, &reqs[i]);
    if (sync_file(r->requests) || sync_file(r->power))
        return jb_fail(err, JB_EIO, "%s: write error: %s", r->dir, strerror(errno));
    jb_csv_write_row(r->runs, jb_run_columns, jb_n_run_columns, run);
    if (sync_file(r->runs))
        return jb_fail(err, JB_EIO, "%s/runs.csv: write error: %s", r->dir, strerror(errno));
    return note_done(r, run->run_id) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
}
