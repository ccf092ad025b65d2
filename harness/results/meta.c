/*
 * meta.c — meta.json, both ways: the machine, the versions, the command line, the energy
 * meter and the plan of a results folder, written by run/sweep (atomically, so a reader never
 * sees half a file; only when a full disk leaves no room for that is the status set in place)
 * and read back by the report and compare. One struct, one place.
 */
#include "jb_results.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JB_META_MAX_BYTES (64 << 20) /* a sweep of thousands of configurations is a few MiB */

/* ---- writing ------------------------------------------------------------------------------ */

static void add_config(cJSON *arr, const struct jb_meta_config *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "config_id", c->config_id);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "model_dir", c->model_dir);
    cJSON_AddStringToObject(o, "dtype", c->dtype);
    cJSON_AddStringToObject(o, "weights", c->weights);
    cJSON_AddStringToObject(o, "workload", c->workload);
    cJSON_AddStringToObject(o, "workload_file", c->workload_file);
    cJSON_AddStringToObject(o, "scenario", c->scenario);
    cJSON_AddNumberToObject(o, "requests", (double)c->requests);
    cJSON_AddNumberToObject(o, "threads", (double)c->threads);
    cJSON_AddNumberToObject(o, "batch", (double)c->batch);
    cJSON_AddNumberToObject(o, "context", (double)c->context);
    if (!isnan(c->idle_before_w)) {
        cJSON_AddNumberToObject(o, "idle_before_w", c->idle_before_w);
        cJSON_AddNumberToObject(o, "idle_before_sd_w", c->idle_before_sd_w);
    }
    if (!isnan(c->idle_after_w)) {
        cJSON_AddNumberToObject(o, "idle_after_w", c->idle_after_w);
        cJSON_AddNumberToObject(o, "idle_after_sd_w", c->idle_after_sd_w);
    }
    if (c->bad_rows_skipped)
        cJSON_AddNumberToObject(o, "bad_rows_skipped", (double)c->bad_rows_skipped);
    cJSON_AddStringToObject(o, "status", c->status);
    if (c->reason[0])
        cJSON_AddStringToObject(o, "reason", c->reason);
    cJSON_AddItemToArray(arr, o);
}

static void add_machine(cJSON *root, const struct jb_meta *m)
{
    cJSON *mach = cJSON_AddObjectToObject(root, "machine");
    cJSON_AddStringToObject(mach, "host", m->machine.host);
    cJSON_AddStringToObject(mach, "cpu_model", m->machine.cpu_model);
    cJSON_AddNumberToObject(mach, "cpus_online", (double)m->machine.cpus_online);
    cJSON_AddNumberToObject(mach, "cpus_allowed", (double)m->machine.cpus_allowed);
    cJSON_AddNumberToObject(mach, "memory_bytes", m->machine.memory_bytes);
    cJSON_AddStringToObject(mach, "kernel", m->machine.kernel);
    cJSON_AddStringToObject(mach, "compiler", m->machine.compiler);
    cJSON_AddStringToObject(mach, "openblas", m->machine.openblas);
    cJSON_AddStringToObject(mach, "openblas_config", m->machine.openblas_config);
    cJSON_AddNumberToObject(mach, "openblas_threads", (double)m->machine.openblas_threads);
    cJSON_AddStringToObject(mach, "kernels", m->machine.kernels);
}

static void add_energy(cJSON *root, const struct jb_meta *m)
{
    cJSON *energy = cJSON_AddObjectToObject(root, "energy");
    cJSON_AddStringToObject(energy, "meter", m->energy.meter);
    cJSON_AddStringToObject(energy, "passed_over", m->energy.passed_over);
    cJSON_AddNumberToObject(energy, "sample_ms", m->energy.sample_ms);
    cJSON_AddNumberToObject(energy, "idle_s", m->energy.idle_s);
    if (m->energy.sampler_samples) {
        cJSON_AddNumberToObject(
            energy, "sampler_cpu_share_of_one_core", m->energy.sampler_cpu_share);
        cJSON_AddNumberToObject(energy, "sampler_samples", (double)m->energy.sampler_samples);
    }
}

/* A merged folder's sources (jb_results_merge): where its rows came from. */
static void add_sources(cJSON *root, const struct jb_meta *m)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "sources");
    for (size_t i = 0; i < m->n_sources; i++) {
        const struct jb_meta_source *s = &m->sources[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", s->path);
        cJSON_AddStringToObject(o, "host", s->host);
        cJSON_AddStringToObject(o, "cpu_model", s->cpu_model);
        cJSON_AddNumberToObject(o, "cpus_online", (double)s->cpus_online);
        cJSON_AddNumberToObject(o, "memory_bytes", s->memory_bytes);
        cJSON_AddStringToObject(o, "status", s->status);
        cJSON_AddStringToObject(o, "started_utc", s->started_utc);
        cJSON_AddStringToObject(o, "git_commit", s->git_commit);
        cJSON *cmd = cJSON_AddArrayToObject(o, "command");
        for (int a = 0; a < s->n_command; a++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(s->command[a]));
        cJSON_AddNumberToObject(o, "runs", (double)s->runs);
        cJSON_AddItemToArray(arr, o);
    }
}

static cJSON *meta_json(const struct jb_meta *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *jb = cJSON_AddObjectToObject(root, "joulebench");
    cJSON_AddStringToObject(jb, "version", m->version);
    cJSON_AddStringToObject(jb, "git_commit", m->git_commit);
    cJSON_AddNumberToObject(jb, "schema_version", (double)m->schema_version);
    cJSON *cmd = cJSON_AddArrayToObject(root, "command");
    for (int i = 0; i < m->n_command; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(m->command[i]));
    cJSON_AddStringToObject(root, "started_utc", m->started_utc);
    cJSON_AddStringToObject(root, "status", m->status);
    add_machine(root, m);
    add_energy(root, m);
    cJSON *cfgs = cJSON_AddArrayToObject(root, "configurations");
    for (size_t i = 0; i < m->n_configs; i++)
        add_config(cfgs, &m->configs[i]);
    if (m->n_sources) /* a merged folder only */
        add_sources(root, m);
    return root;
}

static int write_json(FILE *f, void *ctx)
{
    cJSON *root = meta_json(ctx);
    char *text = cJSON_Print(root);
    int rc = text && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : JB_EIO;
    free(text);
    cJSON_Delete(root);
    return rc;
}

int jb_meta_write(const char *dir, const struct jb_meta *m, struct jb_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    return jb_write_atomic(path, write_json, (void *)m, err);
}

/* Writes text over fd's first bytes, padded with spaces (JSON's whitespace) to len bytes. */
static int overwrite(int fd, const char *text, size_t len)
{
    char *buf = malloc(len);
    if (!buf)
        return ENOMEM;
    const size_t n = strlen(text);
    memcpy(buf, text, n);
    memset(buf + n, ' ', len - n);
    buf[len - 1] = '\n';
    int e = 0;
    for (size_t done = 0; !e && done < len;) {
        const ssize_t w = pwrite(fd, buf + done, len - done, (off_t)done);
        if (w > 0)
            done += (size_t)w;
        else if (w == 0 || errno != EINTR)
            e = w < 0 ? errno : EIO;
    }
    free(buf);
    return e ? e : fsync(fd) == 0 ? 0 : errno;
}

/* dir/meta.json (its path into path) parsed into *root, a JSON object; *len its size in bytes
 * (may be NULL). JB_ENOENT when absent, JB_EPARSE naming it when it is not a JSON object. */
static int load_json(
    const char *dir, char *path, size_t path_len, cJSON **root, size_t *len, struct jb_err *err)
{
    char *text;
    snprintf(path, path_len, "%s/meta.json", dir);
    int rc = jb_read_file(path, JB_META_MAX_BYTES, &text, len, err);
    if (rc)
        return rc;
    *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return jb_fail(err, JB_EPARSE, "%s: not a JSON object", path);
    }
    return 0;
}

int jb_meta_patch_status(const char *dir, const char *status, struct jb_err *err)
{
    char path[PATH_MAX + 16];
    size_t len;
    cJSON *root;
    int rc = load_json(dir, path, sizeof path, &root, &len, err);
    if (rc)
        return rc;
    cJSON_DeleteItemFromObjectCaseSensitive(root, "status");
    char *flat
        = cJSON_AddStringToObject(root, "status", status) ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    int e = flat ? EFBIG : ENOMEM; /* EFBIG: no shorter without its layout (not ours) */
    if (flat && strlen(flat) < len) {
        const int fd = open(path, O_WRONLY | O_CLOEXEC);
        e = fd < 0 ? errno : overwrite(fd, flat, len);
        if (fd >= 0)
            close(fd);
    }
    free(flat);
    return e
        ? jb_fail(err, JB_EIO, "%s: cannot set its status to \"%s\": %s", path, status, strerror(e))
        : 0;
}

int jb_meta_set_command(struct jb_meta *m, int argc, char *const *argv, struct jb_err *err)
{
    char **cmd = calloc((size_t)argc + 1, sizeof *cmd);
    if (!cmd || !(cmd[0] = strdup("joulebench")))
        goto fail;
    for (int i = 0; i < argc; i++)
        if (!(cmd[i + 1] = strdup(argv[i])))
            goto fail;
    for (int i = 0; i < m->n_command; i++)
        free(m->command[i]);
    free(m->command);
    m->command = cmd;
    m->n_command = argc + 1;
    return 0;
fail:
    for (int i = 0; cmd && i <= argc; i++)
        free(cmd[i]);
    free(cmd);
    return jb_fail(err, JB_ENOMEM, "out of memory");
}

void jb_meta_command_line(const struct jb_meta *m, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n_command && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", m->command[i]);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void get_str(const cJSON *o, const char *key, char *dst, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, len, "%s", v->valuestring);
}

static double get_num(const cJSON *o, const char *key, double absent)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : absent;
}

/* An integer key: absent when missing, not a number, or out of int64_t's range (a cast
 * would be undefined), never a wrapped value. */
static int64_t get_int(const cJSON *o, const char *key, int64_t absent)
{
    const double v = get_num(o, key, NAN);
    return v >= -9.2e18 && v <= 9.2e18 ? (int64_t)v : absent;
}

static void read_config(const cJSON *o, struct jb_meta_config *c)
{
    get_str(o, "config_id", c->config_id, sizeof c->config_id);
    get_str(o, "model", c->model, sizeof c->model);
    get_str(o, "model_dir", c->model_dir, sizeof c->model_dir);
    get_str(o, "dtype", c->dtype, sizeof c->dtype);
    get_str(o, "weights", c->weights, sizeof c->weights);
    get_str(o, "workload", c->workload, sizeof c->workload);
    get_str(o, "workload_file", c->workload_file, sizeof c->workload_file);
    get_str(o, "scenario", c->scenario, sizeof c->scenario);
    get_str(o, "status", c->status, sizeof c->status);
    get_str(o, "reason", c->reason, sizeof c->reason);
    c->requests = get_int(o, "requests", 0);
    c->threads = get_int(o, "threads", 0);
    c->batch = get_int(o, "batch", 0);
    c->context = get_int(o, "context", 0);
    c->idle_before_w = get_num(o, "idle_before_w", NAN);
    c->idle_before_sd_w = get_num(o, "idle_before_sd_w", NAN);
    c->idle_after_w = get_num(o, "idle_after_w", NAN);
    c->idle_after_sd_w = get_num(o, "idle_after_sd_w", NAN);
    c->bad_rows_skipped = get_int(o, "bad_rows_skipped", 0);
}

static void read_machine(const cJSON *mach, struct jb_meta *m)
{
    get_str(mach, "host", m->machine.host, sizeof m->machine.host);
    get_str(mach, "cpu_model", m->machine.cpu_model, sizeof m->machine.cpu_model);
    m->machine.cpus_online = get_int(mach, "cpus_online", 0);
    m->machine.cpus_allowed = get_int(mach, "cpus_allowed", 0);
    m->machine.memory_bytes = get_num(mach, "memory_bytes", 0);
    get_str(mach, "kernel", m->machine.kernel, sizeof m->machine.kernel);
    get_str(mach, "compiler", m->machine.compiler, sizeof m->machine.compiler);
    get_str(mach, "openblas", m->machine.openblas, sizeof m->machine.openblas);
    get_str(mach, "openblas_config", m->machine.openblas_config, sizeof m->machine.openblas_config);
    m->machine.openblas_threads = get_int(mach, "openblas_threads", 0);
    get_str(mach, "kernels", m->machine.kernels, sizeof m->machine.kernels);
}

static void read_energy(const cJSON *energy, struct jb_meta *m)
{
    get_str(energy, "meter", m->energy.meter, sizeof m->energy.meter);
    get_str(energy, "passed_over", m->energy.passed_over, sizeof m->energy.passed_over);
    m->energy.sample_ms = get_num(energy, "sample_ms", NAN);
    m->energy.idle_s = get_num(energy, "idle_s", NAN);
    m->energy.sampler_cpu_share = get_num(energy, "sampler_cpu_share_of_one_core", NAN);
    m->energy.sampler_samples = get_int(energy, "sampler_samples", 0);
}

/* A command line (an array of strings; anything else in it is passed over) into *out. */
static int read_command(const cJSON *cmd, char ***out, int *n_out)
{
    const cJSON *arg;
    int n = 0;
    *out = calloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof **out);
    if (!*out)
        return JB_ENOMEM;
    cJSON_ArrayForEach(arg, cmd)
    {
        if (!cJSON_IsString(arg) || !arg->valuestring)
            continue;
        if (!((*out)[n] = strdup(arg->valuestring)))
            return JB_ENOMEM;
        *n_out = ++n;
    }
    return 0;
}

static int read_sources(const cJSON *arr, struct jb_meta *m)
{
    const cJSON *o;
    m->sources = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *m->sources);
    if (!m->sources)
        return JB_ENOMEM;
    cJSON_ArrayForEach(o, arr)
    {
        if (!cJSON_IsObject(o))
            continue;
        struct jb_meta_source *s = &m->sources[m->n_sources++];
        get_str(o, "path", s->path, sizeof s->path);
        get_str(o, "host", s->host, sizeof s->host);
        get_str(o, "cpu_model", s->cpu_model, sizeof s->cpu_model);
        s->cpus_online = get_int(o, "cpus_online", 0);
        s->memory_bytes = get_num(o, "memory_bytes", 0);
        get_str(o, "status", s->status, sizeof s->status);
        get_str(o, "started_utc", s->started_utc, sizeof s->started_utc);
        get_str(o, "git_commit", s->git_commit, sizeof s->git_commit);
        s->runs = get_int(o, "runs", 0);
        if (read_command(
                cJSON_GetObjectItemCaseSensitive(o, "command"), &s->command, &s->n_command))
            return JB_ENOMEM;
    }
    return 0;
}

static int read_root(const cJSON *root, struct jb_meta *m)
{
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(root, "joulebench");
    get_str(jb, "version", m->version, sizeof m->version);
    get_str(jb, "git_commit", m->git_commit, sizeof m->git_commit);
    m->schema_version = get_int(jb, "schema_version", 0);
    get_str(root, "started_utc", m->started_utc, sizeof m->started_utc);
    get_str(root, "status", m->status, sizeof m->status);
    read_machine(cJSON_GetObjectItemCaseSensitive(root, "machine"), m);
    read_energy(cJSON_GetObjectItemCaseSensitive(root, "energy"), m);
    if (read_command(cJSON_GetObjectItemCaseSensitive(root, "command"), &m->command, &m->n_command)
        || read_sources(cJSON_GetObjectItemCaseSensitive(root, "sources"), m))
        return JB_ENOMEM;
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(root, "configurations"), *c;
    m->configs = calloc((size_t)cJSON_GetArraySize(cfgs) + 1, sizeof *m->configs);
    if (!m->configs)
        return JB_ENOMEM;
    cJSON_ArrayForEach(c, cfgs) if (cJSON_IsObject(c)) read_config(c, &m->configs[m->n_configs++]);
    return 0;
}

int jb_meta_read(const char *dir, struct jb_meta *m, struct jb_err *err)
{
    char path[PATH_MAX + 16];
    cJSON *root;
    memset(m, 0, sizeof *m);
    int rc = load_json(dir, path, sizeof path, &root, NULL, err);
    if (rc)
        return rc;
    rc = read_root(root, m);
    cJSON_Delete(root);
    if (rc) {
        jb_meta_free(m);
        return jb_fail(err, rc, "%s: out of memory", path);
    }
    return 0;
}

void jb_meta_free(struct jb_meta *m)
{
    for (int i = 0; i < m->n_command; i++)
        free(m->command[i]);
    free(m->command);
    free(m->configs);
    for (size_t i = 0; m->sources && i < m->n_sources; i++) {
        for (int a = 0; a < m->sources[i].n_command; a++)
            free(m->sources[i].command[a]);
        free(m->sources[i].command);
    }
    free(m->sources);
    memset(m, 0, sizeof *m);
}
