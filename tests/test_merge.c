/*
 * test_merge.c — jb_results_merge (`joulebench merge`) on folders written here with this
 * build's column tables: disjoint folders give their union with every row byte for byte as in
 * its source; an overlapping folder's identical copies are left out with a warning naming both
 * folders (its power samples of those repetitions too); one run_id with two different rows,
 * a damaged file (wrong field count, a NUL byte, a bad number), another schema_version
 * (runs.csv or meta.json) and an OUT that is not new or empty are refused naming what is wrong,
 * and nothing is written; an interrupted folder gives its finished repetitions, the rows of
 * its unfinished one left out; one host name with two machine descriptions is a warning and
 * meta.json keeps only what the sources agree on; meta.json's sources round-trip.
 */
#include "jb_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_results.h"

static char g_dir[4096];

/* ---- folders written with this build's column tables ------------------------------------------- */

/* g_dir/name, made; the path stays valid for the next few calls. */
static const char *folder(const char *name)
{
    static char bufs[8][4200];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", g_dir, name);
    assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
    return p;
}

/* dir/name opened for appending, with the header first when the file is new. */
static FILE *append(const char *dir, const char *name, const struct jb_column *cols, size_t n)
{
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const bool fresh = stat(path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    if (fresh)
        jb_csv_write_header(f, cols, n);
    return f;
}

/* A repetition of configuration cfg: run_id cfg-rREP. The model name needs quoting. */
static void add_run(const char *dir, const char *cfg, int rep, double energy_j)
{
    struct jb_run_record r;
    memset(&r, 0, sizeof r);
    r.schema_version = JB_SCHEMA_VERSION;
    snprintf(r.run_id, sizeof r.run_id, "%s-r%d", cfg, rep);
    snprintf(r.config_id, sizeof r.config_id, "%s", cfg);
    snprintf(r.model, sizeof r.model, "tiny, \"odd\"");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.workload, sizeof r.workload, "chat");
    snprintf(r.scenario, sizeof r.scenario, "single-stream");
    r.rep = rep;
    r.requests = 2;
    r.gen_tokens = 10;
    r.duration_s = 1.0 / 3;
    r.energy_j = energy_j;
    r.ttft_ms_p50 = 12.5 + rep;
    r.idle_power_w = NAN; /* not measured: an empty cell */
    r.energy_net_j = -0.25;
    FILE *f = append(dir, "runs.csv", jb_run_columns, jb_n_run_columns);
    jb_csv_write_row(f, jb_run_columns, jb_n_run_columns, &r);
    fclose(f);
}

static void add_request(const char *dir, const char *run_id, int id, double ttft_ms)
{
    struct jb_request_record q;
    memset(&q, 0, sizeof q);
    q.schema_version = JB_SCHEMA_VERSION;
    snprintf(q.run_id, sizeof q.run_id, "%s", run_id);
    q.request_id = id;
    q.ttft_ms = ttft_ms;
    q.tpot_ms = NAN;
    q.slo_met = JB_I64_NONE;
    FILE *f = append(dir, "requests.csv", jb_request_columns, jb_n_request_columns);
    jb_csv_write_row(f, jb_request_columns, jb_n_request_columns, &q);
    fclose(f);
}

static void add_power(const char *dir, const char *run_id, double t_s, double watts)
{
    struct jb_power_record p;
    memset(&p, 0, sizeof p);
    p.schema_version = JB_SCHEMA_VERSION;
    snprintf(p.run_id, sizeof p.run_id, "%s", run_id);
    snprintf(p.phase, sizeof p.phase, "decode");
    snprintf(p.domain, sizeof p.domain, "total");
    p.t_s = t_s;
    p.watts = watts;
    p.summed = JB_I64_NONE;
    FILE *f = append(dir, "power.csv", jb_power_columns, jb_n_power_columns);
    jb_csv_write_row(f, jb_power_columns, jb_n_power_columns, &p);
    fclose(f);
}

/* A repetition whole: its run row, two requests and two samples. */
static void add_rep(const char *dir, const char *cfg, int rep, double energy_j)
{
    char id[64];
    snprintf(id, sizeof id, "%s-r%d", cfg, rep);
    add_request(dir, id, 0, 10 + rep);
    add_request(dir, id, 1, 20 + rep);
    add_power(dir, id, 0.1, 30 + rep);
    add_power(dir, id, 0.2, 31 + rep);
    add_run(dir, cfg, rep, energy_j);
}

static void add_meta(
    const char *dir, const char *status, const char *host, const char *cpu, int64_t schema_version)
{
    struct jb_meta m = { .schema_version = schema_version };
    struct jb_err err = { 0 };
    char *argv[] = { "run", "--model", "tiny", "--out", (char *)dir };
    snprintf(m.status, sizeof m.status, "%s", status);
    snprintf(m.started_utc, sizeof m.started_utc, "2026-01-02T03:04:05Z");
    snprintf(m.machine.host, sizeof m.machine.host, "%s", host);
    snprintf(m.machine.cpu_model, sizeof m.machine.cpu_model, "%s", cpu);
    snprintf(m.machine.kernel, sizeof m.machine.kernel, "Linux 6.1");
    m.machine.cpus_online = 8;
    m.machine.memory_bytes = 16e9;
    m.energy.sample_ms = 100;
    m.energy.idle_s = 3;
    assert_int_equal(jb_meta_set_command(&m, 5, argv, &err), 0);
    assert_int_equal(jb_meta_write(dir, &m, &err), 0);
    jb_meta_free(&m);
}

/* ---- reading back --------------------------------------------------------------------------- */

/* The data lines of dir/name (header left out), each with its line end, appended to buf. */
static void lines_of(const char *dir, const char *name, char *buf, size_t len)
{
    char path[4400], line[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f)); /* the header */
    while (fgets(line, sizeof line, f)) {
        assert_true(strlen(buf) + strlen(line) < len);
        strcat(buf, line);
    }
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* stderr into a file while a merge runs, then back (assertions only after it is back). */
static int g_saved_stderr = -1;
static char g_stderr_path[4200];

static void capture_begin(void)
{
    fflush(stderr);
    snprintf(g_stderr_path, sizeof g_stderr_path, "%s/stderr.txt", g_dir);
    const int fd = open(g_stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    g_saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(g_saved_stderr, 2);
    close(g_saved_stderr);
    return slurp(g_stderr_path);
}

/* Runs a merge of n folders into out, capturing stderr into *warnings. */
static int merge(const char *out, const char *const *dirs, size_t n, struct jb_merge_stats *st,
    struct jb_err *err, const char **warnings)
{
    char *argv[] = { "merge", (char *)out };
    capture_begin();
    const int rc = jb_results_merge(out, dirs, n, 2, argv, 0.10, st, err);
    *warnings = capture_end();
    return rc;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Disjoint folders: every row once, byte for byte as in its source, in command-line order. */
static void test_disjoint(void **state)
{
    (void)state;
    const char *a = folder("dis-a"), *b = folder("dis-b"), *out = folder("dis-out");
    add_meta(a, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_meta(b, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(a, "aaa", 0, 1.25);
    add_rep(a, "aaa", 1, 1.5);
    add_power(a, "idle:aaa", 0.5, 9.5);
    add_rep(b, "bbb", 0, 2.0 / 3);
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0); /* an empty OUT is fine */
    assert_string_equal(warnings, "");
    assert_int_equal(st.n_sources, 2);
    assert_int_equal(st.runs, 3);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.power, 7);
    assert_int_equal(st.dup_runs + st.dup_requests + st.dup_power + st.orphans + st.partial, 0);
    static const char *const files[] = { "runs.csv", "requests.csv", "power.csv" };
    for (int k = 0; k < 3; k++) {
        static char want[1 << 15], got[1 << 15];
        want[0] = got[0] = '\0';
        lines_of(a, files[k], want, sizeof want);
        lines_of(b, files[k], want, sizeof want);
        lines_of(out, files[k], got, sizeof got);
        assert_string_equal(got, want); /* the same bytes: no number reformatted */
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/summary.csv", out);
    assert_true(exists(path));
    snprintf(path, sizeof path, "%s/.lock", out);
    assert_false(exists(path)); /* released */
    struct jb_results_data d;
    assert_int_equal(
        jb_results_read(out, JB_RESULTS_RUNS | JB_RESULTS_REQUESTS | JB_RESULTS_POWER, &d, &err),
        0);
    assert_int_equal(d.n_runs, 3);
    assert_string_equal(d.runs[2].run_id, "bbb-r0");
    assert_string_equal(d.runs[0].model, "tiny, \"odd\"");
    jb_results_data_free(&d);
    /* meta.json: merged, the command line, one machine, both sources */
    struct jb_meta m;
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_string_equal(m.status, "merged");
    assert_int_equal(m.schema_version, JB_SCHEMA_VERSION);
    char line[512];
    jb_meta_command_line(&m, line, sizeof line);
    assert_non_null(strstr(line, "joulebench merge "));
    assert_string_equal(m.machine.host, "box");
    assert_string_equal(m.machine.cpu_model, "CPU X");
    assert_string_equal(m.machine.kernel, "Linux 6.1");
    assert_int_equal(m.machine.cpus_online, 8);
    assert_int_equal(m.n_sources, 2);
    assert_non_null(strstr(m.sources[0].path, "/dis-a"));
    assert_non_null(strstr(m.sources[1].path, "/dis-b"));
    assert_true(m.sources[0].path[0] == '/'); /* absolute */
    assert_string_equal(m.sources[0].host, "box");
    assert_string_equal(m.sources[0].cpu_model, "CPU X");
    assert_int_equal(m.sources[0].cpus_online, 8);
    ASSERT_CLOSE(m.sources[0].memory_bytes, 16e9, 0);
    assert_string_equal(m.sources[0].status, "finished");
    assert_string_equal(m.sources[0].started_utc, "2026-01-02T03:04:05Z");
    assert_int_equal(m.sources[0].n_command, 6);
    assert_string_equal(m.sources[0].command[1], "run");
    assert_int_equal(m.sources[0].runs, 2);
    assert_int_equal(m.sources[1].runs, 1);
    jb_meta_free(&m);
}

/* Overlapping folders: a repetition in both (identical) is merged once, with a warning naming
 * both folders; its requests and samples come from the first folder only. */
static void test_overlapping(void **state)
{
    (void)state;
    const char *a = folder("ovl-a"), *b = folder("ovl-b");
    char out[4300];
    snprintf(out, sizeof out, "%s/ovl-out/sub", g_dir); /* made, parents too */
    add_meta(a, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_meta(b, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(a, "aaa", 0, 1.25);
    add_rep(a, "aaa", 1, 1.5);
    add_power(a, "idle:aaa", 0.5, 9.5);
    add_rep(b, "aaa", 1, 1.5);           /* a copy of a's second repetition */
    add_power(b, "idle:aaa", 0.5, 9.5);  /* a copy of a's idle sample */
    add_power(b, "idle:aaa", 0.6, 9.75); /* a new one */
    add_rep(b, "aaa", 2, 1.75);
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0);
    assert_int_equal(st.runs, 3);
    assert_int_equal(st.dup_runs, 1);
    assert_int_equal(st.requests, 6);
    assert_int_equal(st.dup_requests, 2);
    assert_int_equal(st.power, 6 + 1 + 1); /* 3 reps x 2, a's idle sample, b's new one */
    assert_int_equal(st.dup_power, 3);     /* aaa-r1's two samples, the idle copy */
    char want[512];
    snprintf(want, sizeof want,
        "warning: %s/runs.csv: 1 row(s) are identical copies of rows of %s/runs.csv (run_id "
        "\"aaa-r1\")",
        b, a);
    assert_non_null(strstr(warnings, want));
    snprintf(
        want, sizeof want, "%s/requests.csv: 2 row(s) are identical copies of rows of %s", b, a);
    assert_non_null(strstr(warnings, want));
    snprintf(want, sizeof want,
        "%s/power.csv: 2 sample row(s) of repetitions already merged from %s", b, a);
    assert_non_null(strstr(warnings, want));
    /* every run_id once, in order of first appearance */
    char got[1 << 14] = "";
    lines_of(out, "runs.csv", got, sizeof got);
    const char *r0 = strstr(got, "aaa-r0"), *r1 = strstr(got, "aaa-r1"),
               *r2 = strstr(got, "aaa-r2");
    assert_true(r0 && r1 && r2 && r0 < r1 && r1 < r2);
    assert_null(strstr(r1 + 1, "aaa-r1,"));
    struct jb_meta m;
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_int_equal(m.sources[0].runs, 2);
    assert_int_equal(m.sources[1].runs, 1); /* its copy not counted */
    jb_meta_free(&m);
}

/* One run_id, two different rows: refused naming both folders, the run_id and the column;
 * nothing written. The same within one folder names its records. */
static void test_conflict(void **state)
{
    (void)state;
    const char *a = folder("con-a"), *b = folder("con-b"), *c = folder("con-c");
    char out[4300];
    snprintf(out, sizeof out, "%s/con-out", g_dir);
    add_rep(a, "aaa", 0, 1.25);
    add_rep(b, "aaa", 0, 1.3); /* the same repetition, another result */
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), JB_EPARSE);
    assert_non_null(strstr(err.msg, a));
    assert_non_null(strstr(err.msg, b));
    assert_non_null(strstr(err.msg, "run_id \"aaa-r0\""));
    assert_non_null(strstr(err.msg, "column \"energy_j\" (\"1.25\" vs \"1.3\")"));
    assert_false(exists(out));
    add_run(c, "ccc", 0, 1);
    add_run(c, "ccc", 0, 2);
    const char *one[] = { c };
    assert_int_equal(merge(out, one, 1, &st, &err, &warnings), JB_EPARSE);
    assert_non_null(strstr(err.msg, "con-c/runs.csv: records 2 and 3 are both run_id \"ccc-r0\""));
    assert_false(exists(out));
    /* requests of one repetition that differ between folders: refused too */
    const char *d = folder("con-d"), *e = folder("con-e");
    add_rep(d, "ddd", 0, 1);
    add_request(e, "ddd-r0", 1, 99); /* ddd-r0's request 1, another result */
    add_run(e, "ddd", 0, 1);
    const char *de[] = { d, e };
    assert_int_equal(merge(out, de, 2, &st, &err, &warnings), JB_EPARSE);
    assert_non_null(strstr(err.msg, "request 1 of run_id \"ddd-r0\""));
    assert_non_null(strstr(err.msg, "con-e/requests.csv"));
    assert_false(exists(out));
}

/* An interrupted folder: its finished repetitions, with a warning naming it; the request and
 * power rows of its unfinished repetition (no run row) and a last line cut short left out. */
static void test_interrupted(void **state)
{
    (void)state;
    const char *a = folder("int-a"), *b = folder("int-b");
    char out[4300];
    snprintf(out, sizeof out, "%s/int-out", g_dir);
    add_meta(a, "interrupted", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(a, "aaa", 0, 1.25);
    add_power(a, "idle:aaa", 0.5, 9.5);
    add_request(a, "aaa-r1", 0, 10); /* the repetition Ctrl-C ended: no run row */
    add_power(a, "aaa-r1", 0.1, 30);
    add_power(a, "aaa-r1", 0.2, 31);
    char path[4400];
    snprintf(path, sizeof path, "%s/runs.csv", a);
    FILE *f = fopen(path, "ab");
    fputs("2,aaa-r1,aaa,2026", f); /* a write cut short */
    fclose(f);
    add_meta(b, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(b, "bbb", 0, 2);
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0);
    assert_int_equal(st.partial, 1);
    assert_int_equal(st.runs, 2);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.power, 2 + 1 + 2);
    assert_int_equal(st.orphans, 3);
    char want[512];
    snprintf(want, sizeof want, "warning: %s: meta.json says \"interrupted\"", a);
    assert_non_null(strstr(warnings, want));
    snprintf(want, sizeof want, "%s/requests.csv: leaving out 1 row(s) of unfinished", a);
    assert_non_null(strstr(warnings, want));
    snprintf(want, sizeof want, "%s/power.csv: leaving out 2 row(s) of unfinished", a);
    assert_non_null(strstr(warnings, want));
    snprintf(want, sizeof want, "%s/runs.csv: leaving out an incomplete last line", a);
    assert_non_null(strstr(warnings, want));
    char got[1 << 14] = "";
    lines_of(out, "requests.csv", got, sizeof got);
    lines_of(out, "power.csv", got, sizeof got);
    lines_of(out, "runs.csv", got, sizeof got);
    assert_null(strstr(got, "aaa-r1"));
    assert_non_null(strstr(got, "idle:aaa")); /* a baseline belongs to no repetition: kept */
    struct jb_meta m;
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_string_equal(m.sources[0].status, "interrupted");
    assert_string_equal(m.status, "merged");
    jb_meta_free(&m);
}

/* Damaged files: refused naming the folder and the file; nothing written. */
static void test_corrupt(void **state)
{
    (void)state;
    const char *good = folder("cor-good");
    char out[4300], path[4400];
    snprintf(out, sizeof out, "%s/cor-out", g_dir);
    add_rep(good, "ggg", 0, 1);
    struct {
        const char *name, *file, *text, *want;
    } cases[] = {
        { "cor-fields", "power.csv", "2,ggg-r0,0.3\r\n",
            "cor-fields/power.csv: record 2 has 3 fields" },
        { "cor-nul", "requests.csv", "2,ggg-r0\0,x\r\n", "cor-nul/requests.csv: line 2" },
        { "cor-number", "runs.csv", NULL, "cor-number/runs.csv: record 2, column \"energy_j\"" },
        { "cor-header", "requests.csv", "schema_version,run_id\r\n",
            "cor-header/requests.csv: its header lacks column \"config_id\"" },
        { "cor-meta", "meta.json", "{\"status\": ", "cor-meta/meta.json: not a JSON object" },
        { "cor-norun", NULL, NULL, "cor-norun: no runs.csv here" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir = folder(cases[i].name);
        if (strcmp(cases[i].name, "cor-number") == 0) { /* energy_j "7.125" made "1.5J" */
            add_run(dir, "ccc", 0, 7.125);
            snprintf(path, sizeof path, "%s/runs.csv", dir);
            char *csv = strdup(slurp(path)), *cell = strstr(csv, ",7.125,");
            assert_non_null(cell);
            memcpy(cell, ",1.5J,", 6);
            memmove(cell + 6, cell + 7, strlen(cell + 7) + 1);
            jb_test_write(dir, "runs.csv", csv);
            free(csv);
        } else if (strcmp(cases[i].name, "cor-norun") != 0) {
            add_run(dir, cases[i].name + 4, 0, 1);
            snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
            if (strcmp(cases[i].file, "requests.csv") == 0 && strstr(cases[i].text, "schema"))
                unlink(path);
            FILE *f = fopen(path, strcmp(cases[i].file, "meta.json") == 0 ? "wb" : "ab");
            assert_non_null(f);
            if (strcmp(cases[i].file, "power.csv") == 0)
                jb_csv_write_header(f, jb_power_columns, jb_n_power_columns);
            if (strcmp(cases[i].name, "cor-nul") == 0) {
                jb_csv_write_header(f, jb_request_columns, jb_n_request_columns);
                fwrite(cases[i].text, 1, 14, f); /* the NUL included */
            } else {
                fputs(cases[i].text, f);
            }
            fclose(f);
        }
        struct jb_merge_stats st;
        struct jb_err err = { 0 };
        const char *warnings, *dirs[] = { good, dir };
        const int rc = merge(out, dirs, 2, &st, &err, &warnings);
        if (rc == 0 || !strstr(err.msg, cases[i].want))
            fail_msg(
                "%s: rc %d, \"%s\", expected \"%s\"", cases[i].name, rc, err.msg, cases[i].want);
        assert_true(rc == JB_EPARSE || rc == JB_ENOENT);
        assert_false(exists(out));
    }
}

/* Another schema_version, by runs.csv's columns or by meta.json: refused naming the folder and
 * the version. */
static void test_schema_version(void **state)
{
    (void)state;
    const char *good = folder("sch-good"), *v1 = folder("sch-v1"), *meta = folder("sch-meta");
    char out[4300];
    snprintf(out, sizeof out, "%s/sch-out", g_dir);
    add_rep(good, "ggg", 0, 1);
    jb_test_write(
        v1, "runs.csv", "schema_version,run_id,config_id,rep,energy_j\r\n1,vvv-r0,vvv,0,1.5\r\n");
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { good, v1 };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), JB_EPARSE);
    assert_non_null(strstr(err.msg, "sch-v1/runs.csv: schema_version 1"));
    assert_false(exists(out));
    add_run(meta, "mmm", 0, 1);
    add_meta(meta, "finished", "box", "CPU X", 1);
    dirs[1] = meta;
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), JB_EPARSE);
    assert_non_null(strstr(err.msg, "sch-meta/meta.json: schema_version 1"));
    assert_false(exists(out));
}

/* One host name, two machine descriptions: a warning naming both; meta.json's machine keeps
 * what every source agrees on. */
static void test_conflicting_meta(void **state)
{
    (void)state;
    const char *a = folder("mac-a"), *b = folder("mac-b");
    char out[4300];
    snprintf(out, sizeof out, "%s/mac-out", g_dir);
    add_meta(a, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_meta(b, "finished", "box", "CPU Y", JB_SCHEMA_VERSION);
    add_rep(a, "aaa", 0, 1);
    add_rep(b, "bbb", 0, 1);
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0);
    char want[512];
    snprintf(want, sizeof want,
        "warning: %s and %s both ran on host \"box\" but describe different machines (cpu_model "
        "\"CPU X\" vs \"CPU Y\")",
        a, b);
    assert_non_null(strstr(warnings, want));
    struct jb_meta m;
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_string_equal(m.machine.host, "box");
    assert_string_equal(m.machine.cpu_model, ""); /* they differ: not one machine's */
    assert_int_equal(m.machine.cpus_online, 8);
    assert_string_equal(m.sources[1].cpu_model, "CPU Y");
    jb_meta_free(&m);
    /* two hosts: no warning, no host */
    const char *c = folder("mac-c");
    add_meta(c, "finished", "other", "CPU Y", JB_SCHEMA_VERSION);
    add_rep(c, "ccc", 0, 1);
    snprintf(out, sizeof out, "%s/mac-out2", g_dir);
    dirs[1] = c;
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0);
    assert_null(strstr(warnings, "describe different machines"));
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_string_equal(m.machine.host, "");
    jb_meta_free(&m);
}

/* OUT must be new or empty: a folder with anything in it, or a file, is refused and left as it
 * was; a folder named twice is refused. */
static void test_out_not_empty(void **state)
{
    (void)state;
    const char *a = folder("out-a"), *full = folder("out-full");
    add_rep(a, "aaa", 0, 1);
    add_rep(full, "fff", 0, 1);
    char runs[4400], before[1 << 14];
    snprintf(runs, sizeof runs, "%s/runs.csv", full);
    snprintf(before, sizeof before, "%s", slurp(runs));
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, a };
    assert_int_equal(merge(full, dirs, 1, &st, &err, &warnings), JB_EINVAL);
    assert_non_null(strstr(err.msg, "out-full is not empty"));
    assert_string_equal(slurp(runs), before);
    const char *file = jb_test_write(g_dir, "out-file", "x");
    char path[4400];
    snprintf(path, sizeof path, "%s", file);
    assert_int_equal(merge(path, dirs, 1, &st, &err, &warnings), JB_EINVAL);
    assert_non_null(strstr(err.msg, "is not a folder"));
    const char *hidden = folder("out-hidden");
    jb_test_write(hidden, ".lock", "1\n"); /* a run's lock counts: not empty */
    assert_int_equal(merge(hidden, dirs, 1, &st, &err, &warnings), JB_EINVAL);
    snprintf(path, sizeof path, "%s/out-twice", g_dir);
    assert_int_equal(merge(path, dirs, 2, &st, &err, &warnings), JB_EINVAL);
    assert_non_null(strstr(err.msg, "are the same folder"));
    assert_false(exists(path));
    assert_int_equal(merge(path, dirs, 0, &st, &err, &warnings), JB_EINVAL);
}

/* A folder without meta.json merges with a warning; the machine is then unknown. A merged
 * folder merges again. */
static void test_no_meta_and_nested(void **state)
{
    (void)state;
    const char *a = folder("nes-a"), *b = folder("nes-b"), *c = folder("nes-c");
    char out[4300], out2[4300];
    snprintf(out, sizeof out, "%s/nes-out", g_dir);
    snprintf(out2, sizeof out2, "%s/nes-out2", g_dir);
    add_meta(a, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(a, "aaa", 0, 1);
    add_rep(b, "bbb", 0, 1);
    add_meta(c, "finished", "box", "CPU X", JB_SCHEMA_VERSION);
    add_rep(c, "ccc", 0, 1);
    struct jb_merge_stats st;
    struct jb_err err = { 0 };
    const char *warnings, *dirs[] = { a, b };
    assert_int_equal(merge(out, dirs, 2, &st, &err, &warnings), 0);
    char want[512];
    snprintf(want, sizeof want, "warning: %s: no meta.json", b);
    assert_non_null(strstr(warnings, want));
    struct jb_meta m;
    assert_int_equal(jb_meta_read(out, &m, &err), 0);
    assert_string_equal(m.machine.host, "");
    assert_string_equal(m.sources[1].status, "");
    jb_meta_free(&m);
    const char *again[] = { out, c };
    assert_int_equal(merge(out2, again, 2, &st, &err, &warnings), 0);
    assert_int_equal(st.runs, 3);
    assert_int_equal(jb_meta_read(out2, &m, &err), 0);
    assert_string_equal(m.sources[0].status, "merged");
    jb_meta_free(&m);
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    if (jb_test_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disjoint),
        cmocka_unit_test(test_overlapping),
        cmocka_unit_test(test_conflict),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_schema_version),
        cmocka_unit_test(test_conflicting_meta),
        cmocka_unit_test(test_out_not_empty),
        cmocka_unit_test(test_no_meta_and_nested),
    };
    return jb_test_status(JB_RUN_GROUP("merge", tests, setup, jb_test_tmp_teardown));
}
