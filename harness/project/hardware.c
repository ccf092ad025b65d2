/*
 * hardware.c — the hardware catalog: one INI file a device (hardware/NAME.ini), read with the
 * project's INI helper (common/ini.c) and checked strictly, so that a nonsensical device (zero
 * bandwidth, a negative price, an unknown backend) is refused naming FILE:LINE and the key
 * instead of projecting nonsense. Also the names of formats and backends, and which bandwidth
 * and peak a format runs at on a device.
 */
#include "jb_project.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jb_file.h"
#include "jb_ini.h"

/* ==== formats and backends ==================================================================== */

static const struct {
    const char *name;
    double bits;
} formats[JB_FORMAT_COUNT] = {
    [JB_FORMAT_F32] = { "f32", 32.0 },
    [JB_FORMAT_F16] = { "f16", 16.0 },
    [JB_FORMAT_Q8_0] = { "q8_0", 8.5 }, /* 34 bytes a block of 32 */
    [JB_FORMAT_Q4_0] = { "q4_0", 4.5 }, /* 18 bytes a block of 32 */
    [JB_FORMAT_Q4_K] = { "q4_k", 4.5 }, /* 144 bytes a super-block of 256 */
};

int jb_format_parse(const char *s, enum jb_format *out)
{
    if (strcmp(s, "bf16") == 0) {
        *out = JB_FORMAT_F16;
        return 0;
    }
    for (int f = 0; f < JB_FORMAT_COUNT; f++)
        if (strcmp(s, formats[f].name) == 0) {
            *out = (enum jb_format)f;
            return 0;
        }
    return JB_EINVAL;
}

const char *jb_format_name(enum jb_format f)
{
    return (unsigned)f < JB_FORMAT_COUNT ? formats[f].name : "?";
}

double jb_format_bits(enum jb_format f)
{
    return (unsigned)f < JB_FORMAT_COUNT ? formats[f].bits : NAN;
}

static const char *const backends[JB_BACKEND_COUNT] = { "cpu", "cuda", "metal" };

int jb_backend_parse(const char *s, enum jb_backend *out)
{
    for (int b = 0; b < JB_BACKEND_COUNT; b++)
        if (strcmp(s, backends[b]) == 0) {
            *out = (enum jb_backend)b;
            return 0;
        }
    return JB_EINVAL;
}

const char *jb_backend_name(enum jb_backend b)
{
    return (unsigned)b < JB_BACKEND_COUNT ? backends[b] : "?";
}

/* ==== the keys of a device file =============================================================== */

enum kind { KIND_TEXT, KIND_BACKEND, KIND_REAL };

static const struct hw_key {
    const char *section, *name; /* first: jb_ini walks the table by these */
    enum kind kind;
    double min, max; /* KIND_REAL: (min, max] when min_open, else [min, max] */
    bool min_open, required;
} keys[JB_HW_KEY_COUNT] = {
    [JB_HW_KEY_DESCRIPTION] = { "device", "description", KIND_TEXT, 0, 0, false, true },
    [JB_HW_KEY_BACKEND] = { "device", "backend", KIND_BACKEND, 0, 0, false, true },
    [JB_HW_KEY_CORES] = { "device", "cores", KIND_REAL, 1, 1e6, false, true },
    [JB_HW_KEY_THREADS] = { "device", "threads", KIND_REAL, 1, 1e7, false, false },
    [JB_HW_KEY_CAPACITY_GB] = { "memory", "capacity_gb", KIND_REAL, 0, 1e6, true, true },
    [JB_HW_KEY_BANDWIDTH_GBS] = { "memory", "bandwidth_gbs", KIND_REAL, 0, 1e6, true, true },
    [JB_HW_KEY_MEASURED_BANDWIDTH_GBS]
    = { "memory", "measured_bandwidth_gbs", KIND_REAL, 0, 1e6, true, false },
    [JB_HW_KEY_F32_TFLOPS] = { "compute", "f32_tflops", KIND_REAL, 0, 1e5, true, true },
    [JB_HW_KEY_F16_TFLOPS] = { "compute", "f16_tflops", KIND_REAL, 0, 1e5, true, true },
    [JB_HW_KEY_INT8_TOPS] = { "compute", "int8_tops", KIND_REAL, 0, 1e5, true, false },
    [JB_HW_KEY_TDP_W] = { "power", "tdp_w", KIND_REAL, 0, 1e5, true, true },
    [JB_HW_KEY_IDLE_W] = { "power", "idle_w", KIND_REAL, 0, 1e5, false, true },
    [JB_HW_KEY_PURCHASE_USD] = { "price", "purchase_usd", KIND_REAL, 0, 1e9, false, false },
    [JB_HW_KEY_CLOUD_USD_PER_HOUR]
    = { "price", "cloud_usd_per_hour", KIND_REAL, 0, 1e6, false, false },
};

const char *jb_hw_key_name(enum jb_hw_key k)
{
    return (unsigned)k < JB_HW_KEY_COUNT ? keys[k].name : "?";
}

const char *jb_hw_key_section(enum jb_hw_key k)
{
    return (unsigned)k < JB_HW_KEY_COUNT ? keys[k].section : "?";
}

static double *real_field(struct jb_hw *h, enum jb_hw_key k)
{
    switch (k) {
    case JB_HW_KEY_CORES: return &h->cores;
    case JB_HW_KEY_THREADS: return &h->threads;
    case JB_HW_KEY_CAPACITY_GB: return &h->capacity_gb;
    case JB_HW_KEY_BANDWIDTH_GBS: return &h->bandwidth_gbs;
    case JB_HW_KEY_MEASURED_BANDWIDTH_GBS: return &h->measured_bandwidth_gbs;
    case JB_HW_KEY_F32_TFLOPS: return &h->f32_tflops;
    case JB_HW_KEY_F16_TFLOPS: return &h->f16_tflops;
    case JB_HW_KEY_INT8_TOPS: return &h->int8_tops;
    case JB_HW_KEY_TDP_W: return &h->tdp_w;
    case JB_HW_KEY_IDLE_W: return &h->idle_w;
    case JB_HW_KEY_PURCHASE_USD: return &h->purchase_usd;
    case JB_HW_KEY_CLOUD_USD_PER_HOUR: return &h->cloud_usd_per_hour;
    default: return NULL;
    }
}

/* A finite number and nothing else. */

static int parse_real_key(struct jb_ini *ini, struct jb_hw *h, enum jb_hw_key k, const char *v)
{
    const struct hw_key *s = &keys[k];
    double x;
    char why[96];
    snprintf(why, sizeof why, "expected a number %s %g and <= %g", s->min_open ? ">" : ">=", s->min,
        s->max);
    if (!jb_ini_number(v, &x))
        return jb_ini_fail(ini, JB_EPARSE, "key \"%s\": %s, got \"%s\"", s->name, why, v);
    if (x < s->min || (s->min_open && x == s->min) || x > s->max)
        return jb_ini_fail(ini, JB_ERANGE, "key \"%s\": %s, got \"%s\"", s->name, why, v);
    *real_field(h, k) = x;
    return 0;
}

static int on_key(struct jb_ini *ini, int k, const char *value, void *user)
{
    struct jb_hw *h = user;
    switch (keys[k].kind) {
    case KIND_TEXT:
        if (!*value || strlen(value) >= sizeof h->description)
            return jb_ini_fail(ini, JB_ERANGE, "key \"description\": expected 1 to %zu characters",
                sizeof h->description - 1);
        snprintf(h->description, sizeof h->description, "%s", value);
        return 0;
    case KIND_BACKEND:
        if (jb_backend_parse(value, &h->backend))
            return jb_ini_fail(
                ini, JB_EPARSE, "key \"backend\": expected cpu, cuda or metal, got \"%s\"", value);
        return 0;
    case KIND_REAL: return parse_real_key(ini, h, (enum jb_hw_key)k, value);
    }
    return 0;
}

/* Keys required, and what must hold between keys. */
static int check_complete(const struct jb_hw *h, struct jb_err *err)
{
    for (int k = 0; k < JB_HW_KEY_COUNT; k++)
        if (keys[k].required && !h->line[k])
            return jb_fail(
                err, JB_EPARSE, "%s: [%s] %s is missing", h->path, keys[k].section, keys[k].name);
    if (!h->line[JB_HW_KEY_PURCHASE_USD] && !h->line[JB_HW_KEY_CLOUD_USD_PER_HOUR])
        return jb_fail(err, JB_EPARSE,
            "%s: [price] purchase_usd is missing (give purchase_usd, cloud_usd_per_hour or both)",
            h->path);
    if (h->idle_w >= h->tdp_w)
        return jb_fail(err, JB_ERANGE,
            "%s:%d: key \"idle_w\": %g W is not below tdp_w (%g W, line %d)", h->path,
            h->line[JB_HW_KEY_IDLE_W], h->idle_w, h->tdp_w, h->line[JB_HW_KEY_TDP_W]);
    if (h->line[JB_HW_KEY_THREADS] && h->threads < h->cores)
        return jb_fail(err, JB_ERANGE,
            "%s:%d: key \"threads\": %g is fewer than cores (%g, line %d)", h->path,
            h->line[JB_HW_KEY_THREADS], h->threads, h->cores, h->line[JB_HW_KEY_CORES]);
    return 0;
}

static void hw_init(struct jb_hw *h, const char *path)
{
    memset(h, 0, sizeof *h);
    snprintf(h->path, sizeof h->path, "%s", path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    snprintf(h->name, sizeof h->name, "%.*s", (int)(dot && dot != base ? dot - base : 63), base);
    for (int k = 0; k < JB_HW_KEY_COUNT; k++)
        if (real_field(h, (enum jb_hw_key)k))
            *real_field(h, (enum jb_hw_key)k) = NAN;
}

const char *jb_hw_dir(void)
{
    const char *env = getenv("JOULEBENCH_HARDWARE_DIR");
    return env && *env ? env : JB_SOURCE_DIR "/hardware";
}

int jb_hw_load(const char *name_or_path, struct jb_hw *out, struct jb_err *err)
{
    char path[PATH_MAX];
    const size_t n = strlen(name_or_path);
    if (!n)
        return jb_fail(err, JB_EINVAL, "empty device name");
    if (strchr(name_or_path, '/') || (n > 4 && strcmp(name_or_path + n - 4, ".ini") == 0))
        snprintf(path, sizeof path, "%s", name_or_path);
    else
        snprintf(path, sizeof path, "%s/%s.ini", jb_hw_dir(), name_or_path);
    struct jb_err why;
    int rc;
    FILE *f = jb_fopen_input(path, &why, &rc);
    if (!f)
        return jb_fail(err, rc, "device %s%s", why.msg,
            rc == JB_ENOENT && !strchr(name_or_path, '/')
                ? " (the catalog is hardware/: see hardware/README.md)"
                : "");
    hw_init(out, path);
    rc = jb_ini_parse(f, path, keys, sizeof keys[0], JB_HW_KEY_COUNT, out->line, on_key, out, err);
    fclose(f);
    return rc ? rc : check_complete(out, err);
}

double jb_hw_bandwidth(const struct jb_hw *h, const char **kind)
{
    const bool measured = isfinite(h->measured_bandwidth_gbs);
    if (kind)
        *kind = measured ? "measured" : "peak";
    return measured ? h->measured_bandwidth_gbs : h->bandwidth_gbs;
}

double jb_hw_peak_tflops(const struct jb_hw *h, enum jb_format f, const char **which)
{
    const char *w = "f32";
    double v = h->f32_tflops;
    const bool q4 = f == JB_FORMAT_Q4_0 || f == JB_FORMAT_Q4_K;
    const bool int8_path = (h->backend == JB_BACKEND_CUDA && (f == JB_FORMAT_Q8_0 || q4))
        || (h->backend == JB_BACKEND_CPU && q4);
    if (int8_path && isfinite(h->int8_tops)) {
        w = "int8";
        v = h->int8_tops;
    } else if (f != JB_FORMAT_F32 && h->backend != JB_BACKEND_CPU) {
        w = "f16";
        v = h->f16_tflops;
    }
    if (which)
        *which = w;
    return v;
}
