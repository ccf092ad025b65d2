/*
 * test_folder.c — a results folder under hostile conditions (folder.c): many processes opening
 * one folder at once over a stale .lock (exactly one writes, the others are told who holds
 * it), a .lock naming a live unrelated process, appends that fail part-way (a file size limit
 * stands in for a full disk: the files stay byte for byte as they were), a last line cut short
 * (dropped on reopening, saying so, finished rows kept), and meta.json's status set in place
 * when it cannot be replaced.
 */
#include "jb_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jb_results.h"

static char g_dir[4096];

/* ---- helpers --------------------------------------------------------------------------------- */

static const char *folder(const char *name)
{
    static char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
    return dir;
}

/* dir/name read whole (NUL-terminated; *len bytes); the caller frees. "" when absent. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t got = 1; f && got;) {
        if (n + 1 == cap)
            assert_non_null(buf = realloc(buf, cap *= 2));
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    }
    if (f)
        fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void append_text(const char *dir, const char *name, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void make_run(struct jb_run_record *run, int rep)
{
    memset(run, 0, sizeof *run);
    run->schema_version = JB_SCHEMA_VERSION;
    snprintf(run->run_id, sizeof run->run_id, "cfg-r%d", rep);
    snprintf(run->config_id, sizeof run->config_id, "cfg");
    snprintf(run->model, sizeof run->model, "tiny");
    snprintf(run->energy_reason, sizeof run->energy_reason, "a reason, \"quoted\"\nover two lines");
    run->rep = rep;
    run->duration_s = 1.25 + rep;
}

static void make_requests(struct jb_request_record *q, int n, int rep)
{
    memset(q, 0, (size_t)n * sizeof *q);
    for (int i = 0; i < n; i++) {
        q[i].schema_version = JB_SCHEMA_VERSION;
        snprintf(q[i].run_id, sizeof q[i].run_id, "cfg-r%d", rep);
        snprintf(q[i].config_id, sizeof q[i].config_id, "cfg");
        q[i].rep = rep;
        q[i].request_id = i;
        q[i].e2e_ms = 10.5 * (i + 1);
    }
}

/* Appends repetition rep with n_reqs request rows, expecting want (the message in *err). */
static void append_rep(struct jb_results *r, int rep, int n_reqs, int want, struct jb_err *err)
{
    struct jb_run_record run;
    struct jb_request_record q[4];
    make_run(&run, rep);
    make_requests(q, n_reqs, rep);
    assert_int_equal(jb_results_append(r, &run, q, n_reqs, err), want);
}

static const struct jb_power_record g_power = {
    .schema_version = JB_SCHEMA_VERSION,
    .run_id = "cfg-r0",
    .t_s = 0.5,
    .phase = "decode",
    .domain = "package-0",
    .watts = 12.5,
    .summed = 1,
};

/* File writes past `bytes` of file size fail with EFBIG (SIGXFSZ ignored): a full disk that
 * needs neither root nor a small file system. */
static void limit_file_size(rlim_t bytes, struct rlimit *old)
{
    assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
    signal(SIGXFSZ, SIG_IGN);
    const struct rlimit lim = { bytes, old->rlim_max };
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void unlimit_file_size(const struct rlimit *old)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, old), 0);
    signal(SIGXFSZ, SIG_DFL);
}

static off_t file_size(const char *dir, const char *name)
{
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* jb_results_open with stderr caught in *said (caller frees). */
static int open_catching(struct jb_results *r, const char *dir, char **said, struct jb_err *err)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/stderr.txt", g_dir);
    fflush(stderr);
    const int saved = dup(STDERR_FILENO), fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    const int rc = jb_results_open(r, dir, err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    *said = slurp(g_dir, "stderr.txt", NULL);
    return rc;
}

/* ---- the lock -------------------------------------------------------------------------------- */

/* A pid that is certainly not running: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return pid;
}

#define N_RACERS 20

/* One racer (a child process): waits for the start, opens dir, reports 'W' (writes), 'B' (busy,
 * with the message), or 'E' (anything else), and holds what it got until the parent ends the
 * round, so a later racer cannot take the lock after it was let go. */
static void racer(const char *dir, int go, int report, int end)
{
    struct jb_results r;
    struct jb_err err = { 0 };
    char c;
    if (read(go, &c, 1) != 0)
        _exit(3);
    const int rc = jb_results_open(&r, dir, &err);
    const bool told = rc == JB_EBUSY && strstr(err.msg, "is being written by another joulebench");
    c = rc == 0 ? 'W' : told ? 'B' : 'E';
    if (write(report, &c, 1) != 1)
        _exit(3);
    close(report); /* so that a racer that died is an end of file for the parent, not a hang */
    if (read(end, &c, 1) != 0)
        _exit(3);
    jb_results_close(&r);
    _exit(0);
}

/* N_RACERS processes open dir at once; returns how many wrote, and checks the others were
 * told the folder is busy. */
static int race(const char *dir)
{
    int go[2], report[2], end[2];
    pid_t pids[N_RACERS];
    assert_int_equal(pipe(go) | pipe(report) | pipe(end), 0);
    for (int i = 0; i < N_RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(report[0]);
            close(end[1]);
            racer(dir, go[0], report[1], end[0]);
        }
    }
    close(go[0]);
    close(report[1]);
    close(end[0]);
    close(go[1]); /* the start: every racer's read returns at once */
    int writers = 0, busy = 0;
    char c;
    for (int i = 0; i < N_RACERS; i++) {
        assert_int_equal(read(report[0], &c, 1), 1);
        writers += c == 'W';
        busy += c == 'B';
    }
    close(end[1]); /* the end of the round */
    close(report[0]);
    for (int i = 0; i < N_RACERS; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(writers + busy, N_RACERS); /* no racer failed otherwise */
    return writers;
}

/* The race: two writers both took a stale lock over (read pid, unlink, O_EXCL create
 * is not atomic) in about 3 of 100 tries. With flock exactly one of many writes, every round,
 * whatever the stale .lock says. */
static void test_lock_racers(void **state)
{
    (void)state;
    char dir[4200], lock[4300], stale[64];
    snprintf(dir, sizeof dir, "%s", folder("race"));
    snprintf(lock, sizeof lock, "%s/.lock", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int round = 0; round < 8; round++) {
        switch (round % 4) {
        case 0: snprintf(stale, sizeof stale, "%ld\n", (long)dead_pid()); break;
        case 1: snprintf(stale, sizeof stale, "1\n"); break; /* live, not a joulebench */
        case 2: snprintf(stale, sizeof stale, "%ld\n", (long)getpid()); break;
        default: snprintf(stale, sizeof stale, "not a pid"); break;
        }
        jb_test_write(dir, ".lock", stale);
        const int writers = race(dir);
        if (writers != 1)
            fail_msg(
                "round %d (.lock \"%s\"): %d writers, expected exactly 1", round, stale, writers);
        char *runs = slurp(dir, "runs.csv", NULL);
        assert_int_equal(count(runs, "schema_version,run_id,"), 1); /* one header */
        free(runs);
        struct stat st;
        assert_int_equal(stat(lock, &st), -1); /* released and removed */
    }
}

/* One churner: opens dir over and over; while it holds the lock it owns dir/held (created
 * O_EXCL: a second holder at the same time finds it there). Exits 0, or 1 on an overlap, 2 on
 * an error other than "busy"; writes how many times it held the lock. */
static void churner(const char *dir, int go, int report)
{
    char held[4400], c;
    int wins = 0;
    snprintf(held, sizeof held, "%s/held", dir);
    if (read(go, &c, 1) != 0)
        _exit(3);
    for (int i = 0; i < 100; i++) {
        struct jb_results r;
        struct jb_err err = { 0 };
        const int rc = jb_results_open(&r, dir, &err);
        if (rc == JB_EBUSY)
            continue;
        if (rc)
            _exit(2);
        const int fd = open(held, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0)
            _exit(1);
        close(fd);
        wins++;
        unlink(held);
        jb_results_close(&r); /* removes .lock while others may have it open */
    }
    _exit(write(report, &wins, sizeof wins) == sizeof wins ? 0 : 3);
}

/* Holders let go while others are opening: a process that opened .lock just before its owner
 * removed it must not hold the removed file while a third holds the new one. */
static void test_lock_churn(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", folder("churn"));
    assert_int_equal(mkdir(dir, 0755), 0);
    int go[2], report[2];
    pid_t pids[N_RACERS];
    assert_int_equal(pipe(go) | pipe(report), 0);
    for (int i = 0; i < N_RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(report[0]);
            churner(dir, go[0], report[1]);
        }
    }
    close(go[0]);
    close(report[1]);
    close(go[1]);
    int wins = 0, w;
    for (int i = 0; i < N_RACERS; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("churner %d: %s %d", i, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        assert_int_equal(read(report[0], &w, sizeof w), sizeof w);
        wins += w;
    }
    close(report[0]);
    assert_true(wins > 0);
}

/* A live writer refuses a second one with its pid and the folder; once it closes, the folder
 * is free again. A .lock naming a live process that holds no lock (pid 1) does not block. */
static void test_lock_busy_and_free(void **state)
{
    (void)state;
    const char *dir = folder("busy");
    struct jb_results a, b;
    struct jb_err err = { 0 };
    assert_int_equal(mkdir(dir, 0755), 0);
    jb_test_write(dir, ".lock", "1\n");
    assert_int_equal(jb_results_open(&a, dir, &err), 0);
    assert_int_equal(jb_results_open(&b, dir, &err), JB_EBUSY);
    char want[4400];
    snprintf(want, sizeof want, "%s is being written by another joulebench (pid %ld)", dir,
        (long)getpid());
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    jb_results_close(&b); /* harmless after a failed open */
    jb_results_close(&a);
    assert_int_equal(jb_results_open(&b, dir, &err), 0);
    jb_results_close(&b);
    struct jb_results zero;
    memset(&zero, 0, sizeof zero);
    const int fd0 = fcntl(STDIN_FILENO, F_GETFD);
    jb_results_close(&zero); /* a zeroed struct: nothing to close (fd 0 is not its) */
    assert_int_equal(fcntl(STDIN_FILENO, F_GETFD), fd0);
}

/* ---- appends, all or nothing ----------------------------------------------------------------- */

struct snapshot {
    char *runs, *requests, *power;
    size_t n_runs, n_requests, n_power;
};

static void snap(const char *dir, struct snapshot *s)
{
    s->runs = slurp(dir, "runs.csv", &s->n_runs);
    s->requests = slurp(dir, "requests.csv", &s->n_requests);
    s->power = slurp(dir, "power.csv", &s->n_power);
}

/* The files are byte for byte as in s; s is freed. */
static void assert_unchanged(const char *dir, struct snapshot *s)
{
    struct snapshot now;
    snap(dir, &now);
    assert_int_equal(now.n_runs, s->n_runs);
    assert_int_equal(now.n_requests, s->n_requests);
    assert_int_equal(now.n_power, s->n_power);
    assert_memory_equal(now.runs, s->runs, s->n_runs);
    assert_memory_equal(now.requests, s->requests, s->n_requests);
    assert_memory_equal(now.power, s->power, s->n_power);
    free(now.runs), free(now.requests), free(now.power);
    free(s->runs), free(s->requests), free(s->power);
}

/* An append that fails part-way leaves every file at its old length, reports which file, and
 * the repetition counts as not done; once space is back the next appends work and the folder
 * reads back whole. */
static void test_append_all_or_nothing(void **state)
{
    (void)state;
    const char *dir = folder("append");
    struct jb_results r;
    struct jb_err err = { 0 };
    struct snapshot s;
    struct rlimit old;
    assert_int_equal(jb_results_open(&r, dir, &err), 0);
    for (int rep = 0; rep < 4; rep++) /* runs.csv grows well past requests.csv */
        append_rep(&r, rep, 0, 0, &err);
    assert_true(file_size(dir, "runs.csv") > file_size(dir, "requests.csv") + 1000);

    /* requests.csv fills up inside its second row (a row is about 45 bytes) */
    snap(dir, &s);
    limit_file_size((rlim_t)file_size(dir, "requests.csv") + 60, &old);
    append_rep(&r, 4, 3, JB_EIO, &err);
    unlimit_file_size(&old);
    assert_non_null(strstr(err.msg, "/requests.csv: cannot write: File too large"));
    assert_unchanged(dir, &s);
    assert_false(jb_results_has(&r, "cfg-r4"));

    /* the request rows fit, the run row does not: both files are cut back */
    snap(dir, &s);
    limit_file_size((rlim_t)file_size(dir, "runs.csv") + 200, &old);
    struct jb_run_record run;
    struct jb_request_record q[2];
    make_run(&run, 4);
    make_requests(q, 2, 4);
    assert_int_equal(jb_results_append(&r, &run, q, 2, &err), JB_EIO);
    unlimit_file_size(&old);
    assert_non_null(strstr(err.msg, "/runs.csv: cannot write: File too large"));
    assert_unchanged(dir, &s);
    assert_false(jb_results_has(&r, "cfg-r4"));

    /* a power row that does not fit is not written, and fails the next repetition */
    snap(dir, &s);
    limit_file_size((rlim_t)file_size(dir, "power.csv") + 10, &old);
    assert_int_equal(jb_results_append_power(&r, &g_power), JB_EIO);
    unlimit_file_size(&old);
    append_rep(&r, 4, 2, JB_EIO, &err);
    assert_non_null(strstr(err.msg, "/power.csv: cannot write: File too large"));
    assert_unchanged(dir, &s);
    assert_int_equal(jb_results_sync(&r, &err), 0); /* reported once */

    /* space again: the repetition is written whole */
    assert_int_equal(jb_results_append_power(&r, &g_power), 0);
    append_rep(&r, 4, 2, 0, &err);
    assert_true(jb_results_has(&r, "cfg-r4"));

    /* a power row lost after the last repetition is reported by jb_results_sync */
    limit_file_size((rlim_t)file_size(dir, "power.csv"), &old);
    assert_int_equal(jb_results_append_power(&r, &g_power), JB_EIO);
    unlimit_file_size(&old);
    assert_int_equal(jb_results_sync(&r, &err), JB_EIO);
    assert_non_null(strstr(err.msg, "/power.csv: cannot write"));
    jb_results_close(&r);

    struct jb_results_data d;
    assert_int_equal(
        jb_results_read(dir, JB_RESULTS_RUNS | JB_RESULTS_REQUESTS | JB_RESULTS_POWER, &d, &err),
        0);
    assert_int_equal(d.n_runs, 5);
    assert_string_equal(d.runs[4].run_id, "cfg-r4");
    assert_string_equal(d.runs[4].energy_reason, "a reason, \"quoted\"\nover two lines");
    assert_int_equal(d.n_requests, 2);
    assert_int_equal(d.n_power, 1);
    jb_results_data_free(&d);
}

/* ---- a last line cut short ------------------------------------------------------------------- */

/* A folder with two finished repetitions (one request row each, one power row). */
static const char *two_reps(const char *name, struct snapshot *s)
{
    const char *dir = folder(name);
    static char kept[4200];
    snprintf(kept, sizeof kept, "%s", dir);
    struct jb_results r;
    struct jb_err err = { 0 };
    assert_int_equal(jb_results_open(&r, kept, &err), 0);
    assert_int_equal(jb_results_append_power(&r, &g_power), 0);
    append_rep(&r, 0, 1, 0, &err);
    append_rep(&r, 1, 1, 0, &err);
    jb_results_close(&r);
    snap(kept, s);
    return kept;
}

/* Cuts in each file (what an older joulebench left on a full disk): a row's first fields, a
 * cut inside the last field (the row has every field: it would otherwise read as a row with a
 * wrong value, and the next row would glue onto it), a cut inside a quoted line break. */
static const struct {
    const char *file, *tail;
} cuts[] = {
    { "runs.csv", "2,cfg-r2,cfg" },
    { "requests.csv", "2,cfg-r1,cfg,1,7,20,10,1,2,3,4,5,6,7,8,9,1" },
    { "power.csv", "2,cfg-r1,0.5,decode,package-0,12.5,1" },
    { "runs.csv", "2,cfg-r9,\"a reason\nover" },
};

static void test_repair_cut_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char name[32];
        struct snapshot s;
        snprintf(name, sizeof name, "cut%zu", i);
        const char *dir = two_reps(name, &s);
        append_text(dir, cuts[i].file, cuts[i].tail);
        struct jb_results r;
        struct jb_err err = { 0 };
        char *said;
        assert_int_equal(open_catching(&r, dir, &said, &err), 0);
        char want[4400];
        snprintf(want, sizeof want, "%s/%s: dropping an incomplete last line (%zu bytes", dir,
            cuts[i].file, strlen(cuts[i].tail));
        if (!strstr(said, want))
            fail_msg("cut %zu: stderr \"%s\" lacks \"%s\"", i, said, want);
        free(said);
        assert_true(jb_results_has(&r, "cfg-r0") && jb_results_has(&r, "cfg-r1"));
        jb_results_close(&r);
        assert_unchanged(dir, &s); /* the finished rows, byte for byte */
        /* and a row appended after them reads back */
        assert_int_equal(jb_results_open(&r, dir, &err), 0);
        append_rep(&r, 2, 1, 0, &err);
        jb_results_close(&r);
        struct jb_results_data d;
        assert_int_equal(jb_results_read(dir, JB_RESULTS_RUNS | JB_RESULTS_REQUESTS, &d, &err), 0);
        assert_int_equal(d.n_runs, 3);
        assert_int_equal(d.n_requests, 3);
        assert_string_equal(d.runs[2].run_id, "cfg-r2");
        jb_results_data_free(&d);
    }
}

/* A header cut short leaves an empty file once repaired: the header is written again. A last
 * row ended by CR alone is whole: kept, its LF added. A file ending in a line end is left as
 * it is, with nothing said. */
static void test_repair_edges(void **state)
{
    (void)state;
    struct jb_results r;
    struct jb_err err = { 0 };
    struct snapshot s;
    char *said;
    const char *dir = folder("cuthead");
    assert_int_equal(mkdir(dir, 0755), 0);
    jb_test_write(dir, "runs.csv", "schema_version,run_");
    assert_int_equal(open_catching(&r, dir, &said, &err), 0);
    assert_non_null(strstr(said, "runs.csv: dropping an incomplete last line (19 bytes"));
    free(said);
    jb_results_close(&r);
    char *runs = slurp(dir, "runs.csv", NULL);
    assert_int_equal(strncmp(runs, "schema_version,run_id,config_id,", 32), 0);
    assert_int_equal(count(runs, "\r\n"), 1);
    free(runs);

    dir = two_reps("cr", &s);
    char path[4400];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    assert_int_equal(truncate(path, (off_t)s.n_runs - 1), 0); /* "...\r" */
    assert_int_equal(open_catching(&r, dir, &said, &err), 0);
    assert_string_equal(said, "");
    free(said);
    assert_true(jb_results_has(&r, "cfg-r1"));
    jb_results_close(&r);
    assert_unchanged(dir, &s); /* the same bytes again */

    dir = folder("fifo"); /* a FIFO in runs.csv's place is refused, not waited on */
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(jb_results_open(&r, dir, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, "/runs.csv: not a regular file"));
}

/* ---- meta.json ------------------------------------------------------------------------------- */

/* When meta.json cannot be replaced (no room for the temporary file), its status is still set
 * in place: the file keeps its length and reads back with the new status and the rest. */
static void test_meta_status_in_place(void **state)
{
    (void)state;
    const char *dir = folder("meta");
    struct jb_meta m = { .schema_version = JB_SCHEMA_VERSION };
    struct jb_err err = { 0 };
    char *argv[] = { "run", "--model", "tiny" };
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(m.status, sizeof m.status, "running");
    snprintf(m.machine.host, sizeof m.machine.host, "box");
    assert_int_equal(jb_meta_set_command(&m, 3, argv, &err), 0);
    assert_int_equal(jb_meta_write(dir, &m, &err), 0);
    const off_t before = file_size(dir, "meta.json");
    snprintf(m.status, sizeof m.status, "finished");
    snprintf(m.energy.meter, sizeof m.energy.meter, "a meter with a longer description");
    struct rlimit old;
    limit_file_size((rlim_t)before, &old);
    const int atomic = jb_meta_write(dir, &m, &err);
    const int patched = jb_meta_patch_status(dir, "write failed", &err);
    unlimit_file_size(&old);
    assert_int_equal(atomic, JB_EIO);
    assert_int_equal(patched, 0);
    assert_int_equal(file_size(dir, "meta.json"), before);
    struct jb_meta back;
    assert_int_equal(jb_meta_read(dir, &back, &err), 0);
    assert_string_equal(back.status, "write failed");
    assert_string_equal(back.machine.host, "box");
    assert_int_equal(back.n_command, 4);
    jb_meta_free(&back);
    jb_meta_free(&m);
    jb_test_write(dir, "meta.json", "[1, 2]");
    assert_int_equal(jb_meta_patch_status(dir, "write failed", &err), JB_EPARSE);
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_racers),
        cmocka_unit_test(test_lock_churn),
        cmocka_unit_test(test_lock_busy_and_free),
        cmocka_unit_test(test_append_all_or_nothing),
        cmocka_unit_test(test_repair_cut_line),
        cmocka_unit_test(test_repair_edges),
        cmocka_unit_test(test_meta_status_in_place),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("folder", tests, setup, jb_test_tmp_teardown));
}
