/*
 * jb_results.h — a results folder, both ways. Writing: runs.csv and requests.csv appended one
 * repetition at a time (whole rows or nothing, synced, so an interruption or a full disk loses
 * at most the repetition in progress), a lock so two joulebench processes never interleave
 * rows, resumption (what is already there is skipped, never written twice), meta.json.
 * Reading: the same files back into the typed records of jb_records.h, grouped into
 * configurations, and meta.json; the summary, the report and compare all read through here.
 */
#ifndef JB_RESULTS_H
#define JB_RESULTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "jb_file.h"
#include "jb_records.h"

struct jb_results {
    char dir[PATH_MAX];
    bool is_open;                       /* between jb_results_open and jb_results_close */
    int lock_fd;                        /* .lock, held with flock(2); -1 when not held */
    int runs_fd, requests_fd, power_fd; /* O_APPEND; power.csv: the meter's samples */
    int power_errno; /* the first failed power.csv append not yet reported (atomic access) */
    char **done;     /* run_ids already in runs.csv */
    size_t n_done, cap_done;
};

/* Creates dir (and parents) if needed, takes its lock (JB_EBUSY, naming the owner's pid, while
 * another process holds it; the kernel releases it when its owner dies, so a stale .lock never
 * blocks), drops a last line cut short by a failed write (saying so on stderr), checks that
 * existing CSV files have this version's columns, drops request and power rows of repetitions
 * that never finished, and opens the files for appending. */
int jb_results_open(struct jb_results *r, const char *dir, struct jb_err *err);
/* Closes the files and releases the lock; accepts a zeroed struct. */
void jb_results_close(struct jb_results *r);
/* True when runs.csv already holds this run_id. */
bool jb_results_has(const struct jb_results *r, const char *run_id);
/* Appends one row to power.csv, whole or not at all (synced with the next repetition's rows).
 * The meter's sampler thread calls it, through the session, while the runner works; a failure
 * is also kept and reported by the next jb_results_append or jb_results_sync. */
int jb_results_append_power(struct jb_results *r, const struct jb_power_record *p);
/* Appends one repetition: its request rows, then its run row, each file synced. All or
 * nothing: on a failed write (a full disk) the files are cut back to their old lengths and
 * JB_EIO names the file; a power row lost since the last call fails it the same way. */
int jb_results_append(struct jb_results *r, const struct jb_run_record *run,
    const struct jb_request_record *reqs, int64_t n_reqs, struct jb_err *err);
/* Syncs power.csv; JB_EIO naming it when a power row could not be written since the last
 * jb_results_append (the idle baseline after the last repetition, say). */
int jb_results_sync(struct jb_results *r, struct jb_err *err);

/* ---- reading a results folder back --------------------------------------------------------- */

enum jb_results_part {
    JB_RESULTS_RUNS = 1,     /* runs.csv (always read) */
    JB_RESULTS_REQUESTS = 2, /* requests.csv, when present */
    JB_RESULTS_POWER = 4,    /* power.csv, when present */
};

/* A results folder read into records. Columns an older file lacks (schema_version 1) are
 * empty in the records; *_present says which columns the files have. */
struct jb_results_data {
    char dir[PATH_MAX];
    char runs_path[PATH_MAX + 16];
    struct jb_run_record *runs; /* (n_runs) in file order */
    size_t n_runs;
    bool run_present[JB_MAX_COLUMNS];   /* [i]: runs.csv has jb_run_columns[i] */
    struct jb_request_record *requests; /* (n_requests); NULL when absent or not asked for */
    size_t n_requests;
    bool have_requests, request_present[JB_MAX_COLUMNS];
    struct jb_power_record *power; /* (n_power); NULL when absent or not asked for */
    size_t n_power;
    bool have_power, power_present[JB_MAX_COLUMNS];
};

/* Reads the results at path, a folder or a runs.csv file (then its folder holds the rest), and
 * the parts asked for (a mask of jb_results_part). Every cell must fit its column's type
 * ("FILE: record N, column \"X\": \"abc\" is not a number"); rows of a newer schema than this
 * build's are refused. Numbers must be finite, and not negative in the columns schema.c marks
 * (all but the idle-subtracted energies); a NUL byte is refused naming its line. Identical
 * copies of a runs.csv or requests.csv row (same run_id; same run_id and request_id) are counted
 * once, with a warning on stderr; two different rows of one identity are JB_EPARSE naming both.
 * A last line without its line end (a write cut short) is left out with a note on stderr.
 * JB_ENOENT when runs.csv does not exist. Free with jb_results_data_free, which accepts a
 * zeroed struct. */
int jb_results_read(
    const char *path, unsigned parts, struct jb_results_data *d, struct jb_err *err);
void jb_results_data_free(struct jb_results_data *d);
/* The identity of row r of a runs.csv (part JB_RESULTS_RUNS: its run_id; without one its rep
 * and configuration) or requests.csv table (JB_RESULTS_REQUESTS: run_id and request_id), as
 * messages name it ("run_id \"X\"", "request 3 of run_id \"X\""), into buf; "" when the row
 * has none. Rows of one identity are one repetition or request: jb_results_read counts
 * identical copies once and refuses different ones, and jb_results_merge does across folders. */
void jb_row_identity(unsigned part, const struct jb_table *t, size_t r, char *buf, size_t len);
/* Whether runs.csv has the named column. */
bool jb_results_has_run_column(const struct jb_results_data *d, const char *name);
/* A run row's field by column name as a number (NAN when empty, absent or text). */
double jb_run_num(const struct jb_run_record *run, const char *name);

/* What makes runs "the same configuration": the key a run is grouped by. */
enum jb_config_key {
    JB_KEY_CONFIG_ID, /* config_id: everything that defines the run (within one result set) */
    JB_KEY_SHAPE,     /* "model dtype workload scenario batch threads", and "layers K/L" for
                       * a layer-sampled run: matches configurations across result sets
                       * (builds, machines) for compare */
    JB_KEY_CONFIG_MACHINE, /* config_id, host and cpu_info: a configuration on one machine
                            * (a merged fleet folder holds one configuration on several) */
};

/* The key of a run as text (its configuration's name in compare's output for JB_KEY_SHAPE). */
void jb_config_key_of(const struct jb_run_record *run, enum jb_config_key k, char *buf, size_t len);

/* One configuration: the indices of its runs in file order. */
struct jb_config_group {
    char key[1024];
    size_t *rows; /* (n) indices into the runs array; owned by the group list */
    size_t n;
};

/* Groups runs[0 .. n) by key, in order of first appearance, keeping only runs for which keep
 * (may be NULL: all) is true. Free with jb_config_groups_free. */
int jb_config_groups(const struct jb_run_record *runs, size_t n, enum jb_config_key k,
    bool (*keep)(const struct jb_run_record *run), struct jb_config_group **groups,
    size_t *n_groups, struct jb_err *err);
void jb_config_groups_free(struct jb_config_group *groups, size_t n_groups);

/* ---- meta.json: the machine and the invocation -------------------------------------------- */

/* One configuration of the plan, as meta.json lists it. */
struct jb_meta_config {
    char config_id[24], model[128], model_dir[PATH_MAX], dtype[16], weights[PATH_MAX + 32];
    char workload[128], workload_file[PATH_MAX], scenario[24];
    int64_t requests, threads, batch, context;
    double idle_before_w, idle_before_sd_w; /* NAN when not measured */
    double idle_after_w, idle_after_sd_w;   /* NAN when not measured */
    int64_t bad_rows_skipped;               /* trace rows skipped; 0: the key is left out */
    char status[16];                        /* "planned" or "skipped" */
    char reason[1024];                      /* why skipped; "" otherwise */
};

/* One folder a merged folder was made from (`joulebench merge`), as its meta.json described it
 * (empty fields where it had none). */
struct jb_meta_source {
    char path[PATH_MAX]; /* absolute */
    char host[256], cpu_model[160];
    int64_t cpus_online;
    double memory_bytes;
    char status[24], started_utc[40], git_commit[48];
    char **command; /* (n_command) its command line, "joulebench" first; owned */
    int n_command;
    int64_t runs; /* repetitions merged from it (copies of earlier folders' rows not counted) */
};

struct jb_meta {
    char version[32], git_commit[48];
    int64_t schema_version;
    char **command; /* (n_command) the command line, "joulebench" first; owned */
    int n_command;
    char started_utc[40], status[24];
    struct {
        char host[256], cpu_model[160];
        int64_t cpus_online, cpus_allowed;
        double memory_bytes;
        char kernel[256], compiler[64], openblas[192], openblas_config[192];
        int64_t openblas_threads;
        char kernels[16];
    } machine;
    struct {
        char meter[512], passed_over[1024];
        double sample_ms, idle_s;
        double sampler_cpu_share; /* of one core; written when sampler_samples > 0 */
        int64_t sampler_samples;
    } energy;
    struct jb_meta_config *configs; /* (n_configs); owned */
    size_t n_configs;
    struct jb_meta_source *sources; /* (n_sources) a merged folder's; "sources" key; owned */
    size_t n_sources;
};

/* Copies argc strings of argv (after "joulebench") into m->command. */
int jb_meta_set_command(struct jb_meta *m, int argc, char *const *argv, struct jb_err *err);
/* Writes dir/meta.json atomically (jb_write_atomic): readers see a whole file. */
int jb_meta_write(const char *dir, const struct jb_meta *m, struct jb_err *err);
/* When meta.json cannot be replaced (a full disk: jb_meta_write's temporary file cannot be
 * written), sets its top-level status in place: the file is rewritten unformatted over its own
 * bytes, padded with spaces, so it needs no new space. Not atomic; only for that fallback.
 * JB_EIO naming the file when it cannot (JB_EPARSE when it is not a JSON object). */
int jb_meta_patch_status(const char *dir, const char *status, struct jb_err *err);
/* Reads dir/meta.json into m (zeroed first; absent keys stay empty). JB_ENOENT when there is
 * none, JB_EPARSE naming the file when it is not JSON. Free with jb_meta_free. */
int jb_meta_read(const char *dir, struct jb_meta *m, struct jb_err *err);
/* Frees what m owns; accepts a zeroed struct. */
void jb_meta_free(struct jb_meta *m);
/* The command line joined by spaces into buf. */
void jb_meta_command_line(const struct jb_meta *m, char *buf, size_t len);

/* ---- merging results folders ------------------------------------------------------------- */

/* What a merge wrote and left out. */
struct jb_merge_stats {
    size_t n_sources;
    size_t runs, requests, power;             /* rows written to each file */
    size_t dup_runs, dup_requests, dup_power; /* identical copies (and copied samples) left out */
    size_t orphans; /* request and power rows of repetitions that never finished, left out */
    size_t partial; /* sources whose meta.json does not say they finished */
};

/* Merges the results folders dirs[0 .. n_dirs) into out, which must not exist or be an empty
 * folder (JB_EINVAL otherwise: a merge never mixes with a run's rows). Every source is read
 * and checked before anything is written: its runs.csv, requests.csv and power.csv must have
 * this build's columns (JB_SCHEMA_VERSION; JB_EPARSE naming the folder and its
 * schema_version), every cell must read as the reader wants (JB_EPARSE naming the file). Rows
 * are copied as text, cell for cell, in command-line then file order; a row whose identity
 * (read.c's) an earlier row already has is left out with a warning naming both folders when
 * it is an identical copy, and is JB_EPARSE naming both folders and the identity when it
 * differs. Request and power rows of a repetition with no run row in their own folder are
 * left out (as jb_results_open drops them); a source whose meta.json does not say it finished
 * is merged with what it holds, with a warning. out gets runs.csv, requests.csv, power.csv
 * (written under its lock, each atomically), summary.csv (jb_summary_write with cv_warn) and
 * meta.json: status "merged", the command line (argc strings of argv, after "joulebench"),
 * the machine fields the sources agree on and every source (jb_meta_source). Two sources of
 * one host name that describe different machines get a warning. Warnings go to stderr. */
int jb_results_merge(const char *out, const char *const *dirs, size_t n_dirs, int argc,
    char *const *argv, double cv_warn, struct jb_merge_stats *st, struct jb_err *err);

/* ---- the summary ------------------------------------------------------------------------------ */

/* Recomputes dir/summary.csv from dir/runs.csv (median, mean, spread, 95% interval and CV of
 * each metric over repetitions, per configuration) and prints a short table on out (also when
 * summary.csv cannot be written: JB_EIO naming it). CVs above cv_warn (a fraction) are
 * flagged. */
int jb_summary_write(const char *dir, double cv_warn, FILE *out, struct jb_err *err);
extern const struct jb_column jb_summary_columns[];
extern const size_t jb_n_summary_columns;

#endif
