/*
 * folder.c — a results folder that survives interruption, a full disk and concurrent use:
 * rows appended all or nothing (one buffered write, cut back to the old length when it fails)
 * and synced per repetition, a lock the kernel releases when its owner dies (flock(2) on .lock,
 * which names the owner), resumption that skips finished repetitions and drops rows of
 * unfinished ones, and a last line cut short by a failed write removed on reopening.
 */
#include "jb_results.h"

#include "jb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int make_folder(const char *dir, struct jb_err *err)
{
    int rc = jb_mkdir_p(dir, 0777, "results folder", err);
    if (!rc && access(dir, W_OK) != 0)
        rc = jb_fail(err, JB_EIO, "results folder %s is not writable: %s", dir, strerror(errno));
    return rc;
}

/* ---- lock --------------------------------------------------------------------------------------
 * .lock is held with flock(2): the kernel drops the lock when its owner exits, however it exits,
 * so a stale file (a SIGKILLed run, or any pid at all written in it) never blocks, and taking it
 * over is one atomic step. The owner writes its pid into the file for the "busy" message, and
 * removes the file on release while still holding the lock; a process that locked the file just
 * before its removal sees that the path no longer names what it locked, and tries again. */

/* The pid written in the lock (0 when none yet: its owner may be about to write it). */
static long lock_owner(int fd)
{
    char buf[32];
    for (int tries = 0; tries < 20; tries++) {
        const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        const long pid = strtol(buf, NULL, 10);
        if (pid > 0)
            return pid;
        nanosleep(&(struct timespec) { .tv_nsec = 2500000 }, NULL);
    }
    return 0;
}

/* Whether path still names the file open as fd. */
static bool still_there(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev
        && a.st_ino == b.st_ino;
}

static int busy(const struct jb_results *r, int fd, struct jb_err *err)
{
    const long pid = lock_owner(fd);
    close(fd);
    if (pid > 0)
        return jb_fail(err, JB_EBUSY,
            "%s is being written by another joulebench (pid %ld); "
            "wait for it or choose another --out",
            r->dir, pid);
    return jb_fail(err, JB_EBUSY,
        "%s is being written by another joulebench; wait for it or choose another --out", r->dir);
}

static int take_lock(struct jb_results *r, struct jb_err *err)
{
    char path[PATH_MAX + 8], buf[32];
    snprintf(path, sizeof path, "%s/.lock", r->dir);
    for (int attempt = 0; attempt < 100; attempt++) {
        const int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return jb_fail(err, JB_EIO, "%s: cannot create the lock: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                return busy(r, fd, err);
            const int e = errno;
            close(fd);
            return jb_fail(err, JB_EIO, "%s: cannot lock: %s", path, strerror(e));
        }
        if (!still_there(fd, path)) { /* released and removed by its owner: lock the new one */
            close(fd);
            continue;
        }
        const int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
            const int e = errno;
            close(fd);
            return jb_fail(err, JB_EIO, "%s: cannot write the lock: %s", path, strerror(e));
        }
        r->lock_fd = fd;
        return 0;
    }
    return jb_fail(err, JB_EBUSY, "%s: cannot take the lock", path);
}

static void release_lock(struct jb_results *r)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/.lock", r->dir);
    unlink(path); /* still holding it: see the lock's comment */
    close(r->lock_fd);
    r->lock_fd = -1;
}

/* ---- appending, all or nothing ------------------------------------------------------------- */

/* Appends len bytes to fd (O_APPEND, the lock held: nobody else writes). When any part fails
 * (a full disk, a file size limit) the file is cut back to its old length, so it never keeps a
 * piece of a row. 0 or -errno. */
static int append_all(int fd, const char *buf, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    for (size_t done = 0; done < len;) {
        const ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int e = n < 0 ? errno : EIO;
            if (ftruncate(fd, st.st_size) != 0)
                return -errno;
            return -e;
        }
        done += (size_t)n;
    }
    return 0;
}

/* Rows printed into a memory buffer first, so a file only ever receives whole rows. */
struct rows_buf {
    FILE *f;
    char *text;
    size_t len;
};

static int rows_begin(struct rows_buf *b)
{
    b->text = NULL;
    b->len = 0;
    b->f = open_memstream(&b->text, &b->len);
    return b->f ? 0 : JB_ENOMEM;
}

/* Closes the stream; the text stays in b (rows_free). */
static int rows_end(struct rows_buf *b)
{
    const bool bad = ferror(b->f) != 0;
    const int closed = fclose(b->f);
    b->f = NULL;
    return bad || closed != 0 ? JB_ENOMEM : 0;
}

static void rows_free(struct rows_buf *b)
{
    if (b->f)
        fclose(b->f);
    free(b->text);
    b->f = NULL;
    b->text = NULL;
}

/* ---- a last line cut short ------------------------------------------------------------------ */

/* Where a CSV file's complete records end: just after the last line end (CR or LF) outside a
 * quoted field, by the rules libcsv reads with (a quote opens a field only at its start; "" in a
 * quoted field is a quote). */
struct tail_scan {
    enum { AT_FIELD, IN_FIELD, IN_QUOTES, QUOTE_SEEN } state;
    off_t pos, complete;
    char last;
};

static void scan_byte(struct tail_scan *s, char ch)
{
    const bool eol = ch == '\r' || ch == '\n';
    s->pos++;
    s->last = ch;
    switch (s->state) {
    case AT_FIELD:
        if (ch == '"')
            s->state = IN_QUOTES;
        else if (!eol && ch != ',' && ch != ' ' && ch != '\t')
            s->state = IN_FIELD;
        break;
    case IN_FIELD:
        if (ch == ',' || eol)
            s->state = AT_FIELD;
        break;
    case IN_QUOTES:
        if (ch == '"')
            s->state = QUOTE_SEEN;
        return;
    case QUOTE_SEEN:
        if (ch == ',' || eol)
            s->state = AT_FIELD;
        else if (ch != ' ' && ch != '\t')
            s->state = IN_QUOTES; /* "" is a quote; anything else is kept, as libcsv does */
        break;
    }
    if (eol && s->state == AT_FIELD)
        s->complete = s->pos;
}

static int scan_tail(int fd, struct tail_scan *s)
{
    char buf[65536];
    ssize_t n;
    memset(s, 0, sizeof *s);
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (ssize_t i = 0; i < n; i++)
            scan_byte(s, buf[i]);
    }
    return 0;
}

/* A file whose last line has no line end was cut short by a failed write (an older joulebench,
 * or a crash mid-write): that line is dropped, saying so, so the next row neither glues onto it
 * nor leaves the file unreadable. A last row ended by CR alone is whole: its LF is added. */
static int repair_tail(const char *path, struct jb_err *err)
{
    /* O_NONBLOCK: a FIFO in the file's place is refused below instead of blocking */
    const int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : jb_fail(err, JB_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return jb_fail(err, JB_EINVAL, "%s: not a regular file", path);
    }
    struct tail_scan s;
    int e = -scan_tail(fd, &s);
    if (!e && s.complete < s.pos) {
        fprintf(stderr,
            "joulebench: %s: dropping an incomplete last line (%lld bytes; a write was cut "
            "short)\n",
            path, (long long)(s.pos - s.complete));
        if (ftruncate(fd, s.complete) != 0 || fsync(fd) != 0)
            e = errno;
    } else if (!e && s.pos > 0 && s.last == '\r') {
        e = -append_all(fd, "\n", 1);
    }
    close(fd);
    return e ? jb_fail(err, JB_EIO, "%s: cannot repair its last line: %s", path, strerror(e)) : 0;
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

/* Reads an existing file of this version's columns; JB_ENOENT when absent or empty (a file
 * whose only line was cut short is empty once repaired: it gets its header again). */
static int read_existing(const char *path, const struct jb_column *cols, size_t n_cols,
    struct jb_table *t, struct jb_err *err)
{
    struct stat st;
    memset(t, 0, sizeof *t);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        return JB_ENOENT;
    int rc = jb_table_read(path, t, err);
    if (!rc && (rc = check_header(t, path, cols, n_cols, err)))
        jb_table_free(t);
    return rc;
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
    int rc = read_existing(path, jb_run_columns, jb_n_run_columns, &t, err);
    if (rc)
        return rc == JB_ENOENT ? 0 : rc;
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
    int rc = read_existing(path, cols, n_cols, &t, err);
    if (rc)
        return rc == JB_ENOENT ? 0 : rc;
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
    int *fd, const char *path, const struct jb_column *cols, size_t n, struct jb_err *err)
{
    *fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) != 0)
        return jb_fail(err, JB_EIO, "%s: cannot open for appending: %s", path, strerror(errno));
    if (st.st_size > 0)
        return 0;
    struct rows_buf b;
    int rc = rows_begin(&b);
    if (!rc) {
        jb_csv_write_header(b.f, cols, n);
        rc = rows_end(&b);
    }
    int e = rc ? 0 : -append_all(*fd, b.text, b.len);
    if (!rc && !e && fsync(*fd) != 0)
        e = errno;
    rows_free(&b);
    if (rc)
        return jb_fail(err, rc, "out of memory");
    return e ? jb_fail(err, JB_EIO, "%s: cannot write: %s", path, strerror(e)) : 0;
}

int jb_results_open(struct jb_results *r, const char *dir, struct jb_err *err)
{
    char runs[PATH_MAX + 16], reqs[PATH_MAX + 16], power[PATH_MAX + 16];
    memset(r, 0, sizeof *r);
    r->is_open = true;
    r->lock_fd = r->runs_fd = r->requests_fd = r->power_fd = -1;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(runs, sizeof runs, "%s/runs.csv", dir);
    snprintf(reqs, sizeof reqs, "%s/requests.csv", dir);
    snprintf(power, sizeof power, "%s/power.csv", dir);
    int rc = make_folder(dir, err);
    if (!rc)
        rc = take_lock(r, err);
    const char *const files[] = { runs, reqs, power };
    for (int i = 0; i < 3 && !rc; i++)
        rc = repair_tail(files[i], err);
    if (!rc)
        rc = load_runs(r, runs, err);
    if (!rc)
        rc = drop_orphans(r, reqs, jb_request_columns, jb_n_request_columns, err);
    if (!rc)
        rc = drop_orphans(r, power, jb_power_columns, jb_n_power_columns, err);
    if (!rc)
        rc = open_append(&r->runs_fd, runs, jb_run_columns, jb_n_run_columns, err);
    if (!rc)
        rc = open_append(&r->requests_fd, reqs, jb_request_columns, jb_n_request_columns, err);
    if (!rc)
        rc = open_append(&r->power_fd, power, jb_power_columns, jb_n_power_columns, err);
    if (rc)
        jb_results_close(r);
    return rc;
}

void jb_results_close(struct jb_results *r)
{
    if (r->is_open) {
        const int fds[] = { r->runs_fd, r->requests_fd, r->power_fd };
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (r->lock_fd >= 0)
            release_lock(r);
    }
    for (size_t i = 0; i < r->n_done; i++)
        free(r->done[i]);
    free(r->done);
    memset(r, 0, sizeof *r);
    r->lock_fd = r->runs_fd = r->requests_fd = r->power_fd = -1;
}

int jb_results_append_power(struct jb_results *r, const struct jb_power_record *p)
{
    if (r->power_fd < 0)
        return JB_EINVAL;
    struct rows_buf b;
    int e = rows_begin(&b) ? ENOMEM : 0;
    if (!e) {
        jb_csv_write_row(b.f, jb_power_columns, jb_n_power_columns, p);
        e = rows_end(&b) ? ENOMEM : -append_all(r->power_fd, b.text, b.len);
    }
    rows_free(&b);
    if (e) /* the first failure is kept for the next jb_results_append or jb_results_sync */
        __atomic_compare_exchange_n(
            &r->power_errno, &(int) { 0 }, e, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return e ? (e == ENOMEM ? JB_ENOMEM : JB_EIO) : 0;
}

/* A power row that could not be written since the last check, as an error naming power.csv. */
static int power_failure(struct jb_results *r, struct jb_err *err)
{
    const int e = __atomic_exchange_n(&r->power_errno, 0, __ATOMIC_SEQ_CST);
    return e ? jb_fail(err, JB_EIO, "%s/power.csv: cannot write: %s", r->dir, strerror(e)) : 0;
}

int jb_results_sync(struct jb_results *r, struct jb_err *err)
{
    int rc = power_failure(r, err);
    if (!rc && r->power_fd >= 0 && fsync(r->power_fd) != 0)
        rc = jb_fail(err, JB_EIO, "%s/power.csv: cannot write: %s", r->dir, strerror(errno));
    return rc;
}

/* The request rows and the run row of one repetition, printed. */
static int print_rep(struct rows_buf *reqs_b, struct rows_buf *run_b,
    const struct jb_run_record *run, const struct jb_request_record *reqs, int64_t n_reqs)
{
    if (rows_begin(reqs_b) || rows_begin(run_b))
        return JB_ENOMEM;
    for (int64_t i = 0; i < n_reqs; i++)
        jb_csv_write_row(reqs_b->f, jb_request_columns, jb_n_request_columns, &reqs[i]);
    jb_csv_write_row(run_b->f, jb_run_columns, jb_n_run_columns, run);
    return rows_end(reqs_b) || rows_end(run_b) ? JB_ENOMEM : 0;
}

/* Writes a printed repetition: its request rows, power.csv synced, then its run row, the
 * commit (a repetition counts as finished once its run row is there). When the run row cannot
 * be written, the request rows are taken back too. */
static int write_rep(struct jb_results *r, const struct rows_buf *reqs_b,
    const struct rows_buf *run_b, struct jb_err *err)
{
    struct stat st;
    if (fstat(r->requests_fd, &st) != 0)
        return jb_fail(err, JB_EIO, "%s/requests.csv: %s", r->dir, strerror(errno));
    int e = -append_all(r->requests_fd, reqs_b->text, reqs_b->len);
    if (!e && (fsync(r->requests_fd) != 0 || fsync(r->power_fd) != 0))
        e = errno;
    if (e)
        return jb_fail(err, JB_EIO, "%s/requests.csv: cannot write: %s", r->dir, strerror(e));
    e = -append_all(r->runs_fd, run_b->text, run_b->len);
    if (!e && fsync(r->runs_fd) != 0)
        e = errno;
    if (e) {
        if (ftruncate(r->requests_fd, st.st_size) == 0)
            (void)fsync(r->requests_fd);
        return jb_fail(err, JB_EIO, "%s/runs.csv: cannot write: %s", r->dir, strerror(e));
    }
    return 0;
}

int jb_results_append(struct jb_results *r, const struct jb_run_record *run,
    const struct jb_request_record *reqs, int64_t n_reqs, struct jb_err *err)
{
    if (r->runs_fd < 0)
        return jb_fail(err, JB_EINVAL, "results folder not open");
    struct rows_buf reqs_b = { 0 }, run_b = { 0 };
    int rc = print_rep(&reqs_b, &run_b, run, reqs, n_reqs)
        ? jb_fail(err, JB_ENOMEM, "out of memory")
        : power_failure(r, err);
    if (!rc)
        rc = write_rep(r, &reqs_b, &run_b, err);
    rows_free(&reqs_b);
    rows_free(&run_b);
    if (!rc && note_done(r, run->run_id))
        rc = jb_fail(err, JB_ENOMEM, "out of memory");
    return rc;
}
