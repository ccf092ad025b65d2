/*
 * test_results.c — the results module both ways: records written through the column tables
 * read back equal, a schema_version 1 folder (the columns of the runner issue, before the
 * energy columns) reads with its per-token energies derived (summary and report included),
 * power.csv rows keep their formats, bad cells and newer schemas are
 * refused naming the file, record and column, configurations group in order of first
 * appearance under both keys, and meta.json round-trips.
 */
#include "jb_test.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "jb_report.h"
#include "jb_results.h"

static char g_dir[4096];

/* The header of runs.csv at schema_version 1 (git e27657c, harness/records.c). */
static const char v1_header[]
    = "schema_version,run_id,config_id,timestamp_utc,host,build_commit,cpu_info,model,model_type,"
      "params,model_size,weights,dtype,workload,scenario,kernels,batch,threads,rep,requests,"
      "prompt_tokens,gen_tokens,depth,duration_s,ttft_ms_p50,ttft_ms_p90,ttft_ms_p99,tpot_ms_p50,"
      "tpot_ms_p90,tpot_ms_p99,itl_ms_p50,itl_ms_p90,itl_ms_p99,e2e_ms_p50,e2e_ms_p90,e2e_ms_p99,"
      "queue_ms_p50,queue_ms_p99,prefill_s,decode_s,prefill_tok_s,decode_tok_s,total_tok_s,req_s,"
      "avg_ts,stddev_ts,slo_ttft_ms,slo_tpot_ms,slo_met_share,goodput_req_s,energy_j,"
      "energy_prefill_j,energy_decode_j,j_per_token,j_per_query,avg_power_w,energy_source,"
      "energy_method,energy_domains,energy_reason,gflop_per_token,weight_gb_per_token\r\n";

/* One v1 row: rep r of configuration cfg; 2 requests, 20 prompt and 10 generated tokens,
 * prefill energy 4 J, decode energy (8 + r) J. */
static void v1_row(char *buf, size_t len, const char *cfg, const char *model, int r)
{
    snprintf(buf, len,
        "1,%s-r%d,%s,2026-11-29T03:00:0%dZ,host,abc,CPU,%s,llama,1049728,4198912,random (seed 1),"
        "f32,chat,single-stream,avx2,1,2,%d,2,20,10,0,1.5,10,11,12,2,2.1,2.2,2,2.1,2.2,30,31,32,0,"
        "0,0.5,1,40,8,20,1.3,9,1,,,1,1.3,%d,4,%d,0.4,%d,8,estimator,estimated,cpu,,0.002,0.004\r\n",
        cfg, r, cfg, r, model, r, 12 + r, 8 + r, 6 + r / 2);
}

static const char *write_v1(const char *name)
{
    char path[4200], row[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(mkdir(path, 0755) == 0 || errno == EEXIST, 1);
    strcat(path, "/runs.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(v1_header, f);
    for (int r = 0; r < 3; r++) {
        v1_row(row, sizeof row, "aaa", "tiny", r);
        fputs(row, f);
        v1_row(row, sizeof row, "bbb", "tiny2", r);
        fputs(row, f);
    }
    fclose(f);
    static char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
    return dir;
}

static void test_v1_folder_reads(void **state)
{
    (void)state;
    struct jb_results_data d;
    struct jb_err err = { 0 };
    const char *dir = write_v1("v1");
    assert_int_equal(jb_results_read(dir, JB_RESULTS_RUNS | JB_RESULTS_REQUESTS, &d, &err), 0);
    assert_int_equal(d.n_runs, 6);
    assert_false(d.have_requests); /* absent: not an error */
    assert_true(jb_results_has_run_column(&d, "energy_decode_j"));
    assert_false(jb_results_has_run_column(&d, "j_per_output_token"));
    const struct jb_run_record *r = &d.runs[2]; /* aaa, rep 1 */
    assert_string_equal(r->run_id, "aaa-r1");
    assert_int_equal(r->schema_version, 1);
    assert_int_equal(r->params, 1049728);
    ASSERT_CLOSE(r->energy_decode_j, 9.0, 0);
    /* derived as version 2 defines them: decode J / (gen_tokens - requests), prefill J / prompt */
    ASSERT_CLOSE(r->j_per_output_token, 9.0 / (10 - 2), 1e-12);
    ASSERT_CLOSE(r->j_per_prompt_token, 4.0 / 20, 1e-12);
    /* columns version 1 lacks are empty, never 0 */
    assert_true(isnan(r->idle_power_w));
    assert_true(isnan(r->instructions));
    assert_int_equal(r->energy_reads, JB_I64_NONE);
    assert_string_equal(r->energy_uncertainty, "");
    ASSERT_CLOSE(jb_run_num(r, "energy_decode_j"), 9.0, 0);
    assert_true(isnan(jb_run_num(r, "model"))); /* text: not a number */
    assert_true(isnan(jb_run_num(r, "no_such_column")));
    jb_results_data_free(&d);
}

/* The summary reads a version-1 folder as it reads a new one. */
static void test_v1_summary(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    char path[4300], line[4096];
    const char *dir = write_v1("v1sum");
    assert_int_equal(jb_summary_write(dir, 0.10, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "aaa,host,CPU,tiny,", 18) == 0 && strstr(line, ",energy_j,")) {
            /* energy_j 12, 13, 14: n 3, median 13, mean 13 */
            assert_non_null(strstr(line, ",energy_j,3,13,13,1,"));
            found = true;
        }
    fclose(f);
    assert_true(found);
}

/* One configuration on two machines (a merged fleet folder) is summarised once per machine:
 * the host "other" holds repetitions 1 and 2 (energy 13, 14), "host" repetition 0 (12). */
static void test_summary_per_machine(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    char path[4300], line[4096];
    const char *dir = write_v1("v1machines");
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(v1_header, f);
    for (int r = 0; r < 3; r++) {
        char row[1024], moved[1100];
        v1_row(row, sizeof row, "aaa", "tiny", r);
        char *h = strstr(row, ",host,");
        assert_non_null(h);
        snprintf(moved, sizeof moved, "%.*s,other,%s", (int)(h - row), row, h + 6);
        fputs(r ? moved : row, f);
    }
    fclose(f);
    assert_int_equal(jb_summary_write(dir, 0.10, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, ",energy_j,")) {
            if (strncmp(line, "aaa,host,CPU,", 13) == 0)
                assert_non_null(strstr(line, ",energy_j,1,12,12,")), found |= 1;
            else if (strncmp(line, "aaa,other,CPU,", 14) == 0)
                assert_non_null(strstr(line, ",energy_j,2,13.5,13.5,")), found |= 2;
            else
                fail_msg("unexpected summary row %s", line);
        }
    fclose(f);
    assert_int_equal(found, 3);
}

/* The report reads a version-1 folder: two configurations, per-token energy from the derived
 * column (decode J 8, 9, 10 over 8 tokens: median 9 / 8). */
static void test_v1_report_data(void **state)
{
    (void)state;
    struct jb_report_data d;
    struct jb_err err = { 0 };
    const char *dir = write_v1("v1rep");
    if (jb_report_load(dir, &d, &err))
        fail_msg("report: %s", err.msg);
    assert_int_equal(d.n_configs, 2);
    assert_string_equal(d.configs[0].config_id, "aaa");
    assert_string_equal(d.configs[1].model, "tiny2");
    assert_int_equal(d.configs[0].reps, 3);
    ASSERT_CLOSE(d.configs[0].j_per_output_token, 9.0 / 8, 1e-12);
    ASSERT_CLOSE(d.configs[0].j_per_prompt_token, 4.0 / 20, 1e-12);
    assert_string_equal(d.configs[0].energy_method, "estimated");
    assert_false(d.meta.from_meta_json);
    assert_string_equal(d.meta.cpu_model, "CPU"); /* from runs.csv without meta.json */
    jb_report_data_free(&d);
}

/* Records written through the column table read back field for field. */
static void test_round_trip(void **state)
{
    (void)state;
    struct jb_run_record w[2];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 2; i++) {
        w[i].schema_version = JB_SCHEMA_VERSION;
        snprintf(w[i].run_id, sizeof w[i].run_id, "cfg-r%d", i);
        snprintf(w[i].config_id, sizeof w[i].config_id, "cfg");
        snprintf(w[i].model, sizeof w[i].model, "a \"quoted\", model");
        snprintf(w[i].energy_reason, sizeof w[i].energy_reason, "line one\nline two");
        w[i].params = 123456789012345;
        w[i].batch = 4;
        w[i].threads = JB_I64_NONE;
        w[i].rep = i;
        for (size_t c = 0; c < jb_n_run_columns; c++)
            if (jb_run_columns[c].type == JB_COL_F64) {
                double v = (c % 7 == 0) ? NAN : 0.1 * (double)c + i;
                memcpy((char *)&w[i] + jb_run_columns[c].offset, &v, sizeof v);
            }
    }
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/rt", g_dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "wb");
    jb_csv_write_header(f, jb_run_columns, jb_n_run_columns);
    for (int i = 0; i < 2; i++)
        jb_csv_write_row(f, jb_run_columns, jb_n_run_columns, &w[i]);
    fclose(f);
    struct jb_results_data d;
    struct jb_err err = { 0 };
    assert_int_equal(jb_results_read(path, JB_RESULTS_RUNS, &d, &err), 0); /* a runs.csv path */
    assert_string_equal(d.dir, dir);
    assert_int_equal(d.n_runs, 2);
    for (int i = 0; i < 2; i++) {
        const struct jb_run_record *r = &d.runs[i];
        assert_string_equal(r->run_id, w[i].run_id);
        assert_string_equal(r->model, w[i].model);
        assert_string_equal(r->energy_reason, w[i].energy_reason);
        assert_int_equal(r->params, w[i].params);
        assert_int_equal(r->threads, JB_I64_NONE);
        for (size_t c = 0; c < jb_n_run_columns; c++)
            if (jb_run_columns[c].type == JB_COL_F64) {
                double a, b;
                memcpy(&a, (const char *)&w[i] + jb_run_columns[c].offset, sizeof a);
                memcpy(&b, (const char *)r + jb_run_columns[c].offset, sizeof b);
                if (isnan(a))
                    assert_true(isnan(b));
                else
                    ASSERT_CLOSE(b, a, 1e-9 * fabs(a)); /* written with 10 significant digits */
            }
    }
    for (size_t c = 0; c < jb_n_run_columns; c++)
        assert_true(d.run_present[c]);
    jb_results_data_free(&d);
}

static void expect_error(const char *name, const char *content, const char *msg)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
    mkdir(dir, 0755);
    jb_test_write(dir, "runs.csv", content);
    struct jb_results_data d;
    struct jb_err err = { 0 };
    assert_int_equal(jb_results_read(dir, JB_RESULTS_RUNS, &d, &err), JB_EPARSE);
    if (!strstr(err.msg, msg))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
    assert_null(d.runs);
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_error("badnum", "schema_version,run_id,duration_s\r\n2,a,1.5\r\n2,b,1.5s\r\n",
        "/badnum/runs.csv: record 3, column \"duration_s\": \"1.5s\" is not a number");
    expect_error("badint", "schema_version,run_id,params\r\n2,a,1.3e8\r\n",
        "/badint/runs.csv: record 2, column \"params\": \"1.3e8\" is not an integer");
    expect_error("newer", "schema_version,run_id\r\n2,a\r\n5,b\r\n",
        "/newer/runs.csv: record 3 has schema_version 5; this joulebench reads up to 4");
    struct jb_results_data d;
    struct jb_err err = { 0 };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/none", g_dir);
    assert_int_equal(jb_results_read(dir, JB_RESULTS_RUNS, &d, &err), JB_ENOENT);
}

/* A last line without its line end was cut short by a failed write: the reader leaves it out
 * (whatever its field count) and keeps every whole row; a data CSV's last line is kept. */
static void test_cut_last_line(void **state)
{
    (void)state;
    char dir[4200];
    const char *whole = "schema_version,run_id,duration_s\r\n2,a,1.5\r\n2,b,2.5\r\n";
    const char *cuts[] = { "2,c", "2,c,3.", "2,\"c\r\nx" }; /* too few fields, a cut number, in quotes */
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char content[256];
        snprintf(dir, sizeof dir, "%s/cut%zu", g_dir, i);
        mkdir(dir, 0755);
        snprintf(content, sizeof content, "%s%s", whole, cuts[i]);
        jb_test_write(dir, "runs.csv", content);
        struct jb_results_data d;
        struct jb_err err = { 0 };
        assert_int_equal(jb_results_read(dir, JB_RESULTS_RUNS, &d, &err), 0);
        assert_int_equal(d.n_runs, 2);
        assert_string_equal(d.runs[1].run_id, "b");
        ASSERT_CLOSE(d.runs[1].duration_s, 2.5, 0);
        jb_results_data_free(&d);
    }
    struct jb_table t;
    struct jb_err err = { 0 };
    assert_int_equal(jb_table_read(jb_test_write(g_dir, "data.csv", "a,b\n1,2\n3,4"), &t, &err), 0);
    assert_int_equal(t.n_rows, 2); /* a data file's last line needs no line end */
    assert_false(t.cut_last);
    jb_table_free(&t);
}

static bool even_rep(const struct jb_run_record *r)
{
    return r->rep % 2 == 0;
}

static void test_groups(void **state)
{
    (void)state;
    struct jb_run_record r[5];
    memset(r, 0, sizeof r);
    const char *ids[] = { "x", "y", "x", "z", "y" };
    const char *models[] = { "m1", "m2", "m1", "m1", "m2" };
    for (int i = 0; i < 5; i++) {
        snprintf(r[i].config_id, sizeof r[i].config_id, "%s", ids[i]);
        snprintf(r[i].model, sizeof r[i].model, "%s", models[i]);
        snprintf(r[i].dtype, sizeof r[i].dtype, "q8_0");
        snprintf(r[i].workload, sizeof r[i].workload, "chat");
        snprintf(r[i].scenario, sizeof r[i].scenario, "offline");
        r[i].batch = 8;
        r[i].threads = i == 3 ? JB_I64_NONE : 2;
        r[i].rep = i;
    }
    struct jb_config_group *g;
    size_t n;
    struct jb_err err = { 0 };
    assert_int_equal(jb_config_groups(r, 5, JB_KEY_CONFIG_ID, NULL, &g, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(g[0].key, "x");
    assert_int_equal(g[0].n, 2);
    assert_int_equal(g[0].rows[1], 2);
    assert_string_equal(g[1].key, "y");
    assert_int_equal(g[1].rows[1], 4);
    assert_string_equal(g[2].key, "z");
    jb_config_groups_free(g, n);
    assert_int_equal(jb_config_groups(r, 5, JB_KEY_SHAPE, even_rep, &g, &n, &err), 0);
    assert_int_equal(n, 2); /* reps 0, 2, 4: m1 twice, m2 once */
    assert_string_equal(g[0].key, "m1 q8_0 chat offline 8 2");
    assert_int_equal(g[0].n, 2);
    assert_string_equal(g[1].key, "m2 q8_0 chat offline 8 2");
    assert_int_equal(g[1].rows[0], 4);
    jb_config_groups_free(g, n);
    char key[64];
    jb_config_key_of(&r[3], JB_KEY_SHAPE, key, sizeof key);
    assert_string_equal(key, "m1 q8_0 chat offline 8 "); /* an empty integer stays empty */
}

static void test_meta_round_trip(void **state)
{
    (void)state;
    struct jb_meta m = { .schema_version = JB_SCHEMA_VERSION };
    struct jb_err err = { 0 };
    char *argv[] = { "sweep", "--models", "tiny,SmolLM2-135M", "--out", "dir with space" };
    snprintf(m.version, sizeof m.version, "0.1.0");
    snprintf(m.status, sizeof m.status, "finished");
    snprintf(m.machine.host, sizeof m.machine.host, "box");
    snprintf(m.machine.cpu_model, sizeof m.machine.cpu_model, "Some CPU");
    m.machine.cpus_allowed = 2;
    snprintf(m.energy.meter, sizeof m.energy.meter, "estimator (estimated)");
    m.energy.sample_ms = 100;
    m.energy.sampler_samples = 0; /* no sampler keys written */
    assert_int_equal(jb_meta_set_command(&m, 5, argv, &err), 0);
    struct jb_meta_config c[2] = {
        { .requests = 8,
            .threads = 2,
            .batch = 1,
            .context = 512,
            .idle_before_w = 1.5,
            .idle_before_sd_w = 0.1,
            .idle_after_w = NAN,
            .idle_after_sd_w = NAN },
        { .idle_before_w = NAN, .idle_after_w = NAN, .bad_rows_skipped = 3 },
    };
    snprintf(c[0].config_id, sizeof c[0].config_id, "abc");
    snprintf(c[0].status, sizeof c[0].status, "planned");
    snprintf(c[1].status, sizeof c[1].status, "skipped");
    snprintf(c[1].reason, sizeof c[1].reason, "needs 70 GiB");
    m.configs = c;
    m.n_configs = 2;
    assert_int_equal(jb_meta_write(g_dir, &m, &err), 0);
    m.configs = NULL; /* the stack array is not m's to free */
    m.n_configs = 0;
    struct jb_meta back;
    assert_int_equal(jb_meta_read(g_dir, &back, &err), 0);
    assert_string_equal(back.machine.host, "box");
    assert_string_equal(back.machine.cpu_model, "Some CPU");
    assert_int_equal(back.machine.cpus_allowed, 2);
    assert_int_equal(back.schema_version, JB_SCHEMA_VERSION);
    assert_string_equal(back.status, "finished");
    assert_int_equal(back.n_command, 6);
    char line[256];
    jb_meta_command_line(&back, line, sizeof line);
    assert_string_equal(line, "joulebench sweep --models tiny,SmolLM2-135M --out dir with space");
    assert_int_equal(back.n_configs, 2);
    ASSERT_CLOSE(back.configs[0].idle_before_w, 1.5, 0);
    assert_true(isnan(back.configs[0].idle_after_w)); /* not written, not read as 0 */
    assert_int_equal(back.configs[0].context, 512);
    assert_string_equal(back.configs[1].reason, "needs 70 GiB");
    assert_int_equal(back.configs[1].bad_rows_skipped, 3);
    assert_true(isnan(back.energy.sampler_cpu_share));
    jb_meta_free(&back);
    jb_meta_free(&m);
    /* an integer out of int64_t's range is absent, not a wrapped value (fuzz_meta found the
     * cast undefined) */
    jb_test_write(g_dir, "meta.json",
        "{\"machine\": {\"cpus_allowed\": 1e300, \"cpus_online\": -4.8e216}, "
        "\"configurations\": [{\"context\": 2048.0}]}");
    assert_int_equal(jb_meta_read(g_dir, &back, &err), 0);
    assert_int_equal(back.machine.cpus_allowed, 0);
    assert_int_equal(back.machine.cpus_online, 0);
    assert_int_equal(back.configs[0].context, 2048);
    jb_meta_free(&back);
    /* not JSON: an error naming the file; absent: JB_ENOENT */
    jb_test_write(g_dir, "meta.json", "{\"machine\": ");
    assert_int_equal(jb_meta_read(g_dir, &back, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "/meta.json: not a JSON object"));
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/v1", g_dir);
    write_v1("v1");
    assert_int_equal(jb_meta_read(empty, &back, &err), JB_ENOENT);
}

/* power.csv rows go through the column table, in the sampler's formats (t_s to the
 * microsecond, watts to 6 digits), and read back. */
static void test_power_rows(void **state)
{
    (void)state;
    struct jb_results r;
    struct jb_err err = { 0 };
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/power", g_dir);
    assert_int_equal(jb_results_open(&r, dir, &err), 0);
    const struct jb_power_record rows[] = {
        { .schema_version = 2,
            .run_id = "cfg-r0",
            .t_s = 0.125,
            .phase = "decode",
            .domain = "package-0",
            .watts = 10.123456789,
            .summed = 1 },
        { .schema_version = 2,
            .run_id = "idle:cfg",
            .t_s = 1.0 / 3,
            .phase = "idle",
            .domain = "total",
            .watts = 3.5,
            .summed = JB_I64_NONE },
    };
    for (int i = 0; i < 2; i++)
        assert_int_equal(jb_results_append_power(&r, &rows[i]), 0);
    jb_results_close(&r);
    snprintf(path, sizeof path, "%s/power.csv", dir);
    FILE *f = fopen(path, "rb");
    char text[1024] = "";
    assert_non_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_string_equal(text,
        "schema_version,run_id,t_s,phase,domain,watts,summed\r\n"
        "2,cfg-r0,0.125000,decode,package-0,10.1235,1\r\n"
        "2,idle:cfg,0.333333,idle,total,3.5,\r\n");
    struct jb_results_data d;
    assert_int_equal(jb_results_read(dir, JB_RESULTS_POWER, &d, &err), 0);
    assert_true(d.have_power);
    assert_int_equal(d.n_power, 2);
    assert_string_equal(d.power[1].run_id, "idle:cfg");
    assert_int_equal(d.power[1].summed, JB_I64_NONE);
    ASSERT_CLOSE(d.power[0].watts, 10.1235, 0);
    jb_results_data_free(&d);
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_folder_reads),
        cmocka_unit_test(test_v1_summary),
        cmocka_unit_test(test_v1_report_data),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_cut_last_line),
        cmocka_unit_test(test_summary_per_machine),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_meta_round_trip),
        cmocka_unit_test(test_power_rows),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("results", tests, setup, jb_test_tmp_teardown));
}
