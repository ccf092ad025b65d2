/*
 * nvml.c — NVIDIA GPU energy through NVML, loaded at run time with dlopen (no build-time
 * dependency; $JOULEBENCH_NVML_LIB names another library, e.g. a test's scripted one).
 *
 * Per GPU: nvmlDeviceGetTotalEnergyConsumption (mJ since the driver loaded, Volta and newer)
 * when it answers, else nvmlDeviceGetPowerUsage (mW) integrated over time by trapezoids at
 * every read — the meter's sampler reads every --sample-ms — and then labelled "integrated".
 */
#include "jb_energy.h"
#include "jb_clock.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvml_return; /* nvmlReturn_t: 0 is NVML_SUCCESS */
typedef void *nvml_device;

struct nvml_api {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    const char *(*error_string)(nvml_return);
    nvml_return (*count)(unsigned *);
    nvml_return (*handle)(unsigned, nvml_device *);
    nvml_return (*name)(nvml_device, char *, unsigned);
    nvml_return (*energy_mj)(nvml_device, unsigned long long *);
    nvml_return (*power_mw)(nvml_device, unsigned *);
};

#define MAX_GPUS 8

struct nvml_ctx {
    struct nvml_api api;
    int n;
    nvml_device dev[MAX_GPUS];
    bool integrated[MAX_GPUS];
    unsigned long long first_mj[MAX_GPUS];
    double acc_j[MAX_GPUS], last_w[MAX_GPUS];
    int64_t last_ns;
};

static const char *lib_name(void)
{
    const char *env = getenv("JOULEBENCH_NVML_LIB");
    return env && *env ? env : "libnvidia-ml.so.1";
}

static void api_close(struct nvml_api *a)
{
    if (a->lib) {
        if (a->shutdown)
            a->shutdown();
        dlclose(a->lib);
    }
    memset(a, 0, sizeof *a);
}

/* Loads the library and its symbols and initialises NVML; the reason in why on failure. */
static int api_open(struct nvml_api *a, char *why, size_t len)
{
    memset(a, 0, sizeof *a);
    a->lib = dlopen(lib_name(), RTLD_NOW | RTLD_LOCAL);
    if (!a->lib) {
        snprintf(why, len, "%s not loadable (no NVIDIA driver here): %s", lib_name(), dlerror());
        return JB_ENOTSUP;
    }
    const struct {
        const char *sym;
        void **slot;
    } syms[] = {
        { "nvmlInit_v2", (void **)&a->init },
        { "nvmlShutdown", (void **)&a->shutdown },
        { "nvmlErrorString", (void **)&a->error_string },
        { "nvmlDeviceGetCount_v2", (void **)&a->count },
        { "nvmlDeviceGetHandleByIndex_v2", (void **)&a->handle },
        { "nvmlDeviceGetName", (void **)&a->name },
        { "nvmlDeviceGetTotalEnergyConsumption", (void **)&a->energy_mj },
        { "nvmlDeviceGetPowerUsage", (void **)&a->power_mw },
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (!(*syms[i].slot = dlsym(a->lib, syms[i].sym))) {
            snprintf(why, len, "%s lacks %s", lib_name(), syms[i].sym);
            a->shutdown = NULL;
            api_close(a);
            return JB_ENOTSUP;
        }
    nvml_return r = a->init();
    if (r) {
        snprintf(why, len, "nvmlInit: %s", a->error_string(r));
        a->shutdown = NULL;
        api_close(a);
        return JB_ENOTSUP;
    }
    return 0;
}

static int nv_probe(const struct jb_energy_opts *o, char *why, size_t len)
{
    (void)o;
    struct nvml_api a;
    unsigned n = 0;
    int rc = api_open(&a, why, len);
    if (rc)
        return rc;
    nvml_return r = a.count(&n);
    if (r || n == 0) {
        snprintf(why, len, "NVML loaded but %s", r ? a.error_string(r) : "found no GPU");
        rc = JB_ENOTSUP;
    }
    api_close(&a);
    return rc;
}

static int nv_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    struct nvml_ctx *c = ctx;
    const int64_t t = jb_now_ns();
    const double dt = (double)(t - c->last_ns) * 1e-9;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->n; i++) {
        nvml_return r;
        if (!c->integrated[i]) {
            unsigned long long mj;
            if ((r = c->api.energy_mj(c->dev[i], &mj)))
                return jb_fail(err, JB_EIO, "nvmlDeviceGetTotalEnergyConsumption(gpu %d): %s", i,
                    c->api.error_string(r));
            c->acc_j[i] = (double)(mj - c->first_mj[i]) * 1e-3;
        } else {
            unsigned mw;
            if ((r = c->api.power_mw(c->dev[i], &mw)))
                return jb_fail(err, JB_EIO, "nvmlDeviceGetPowerUsage(gpu %d): %s", i,
                    c->api.error_string(r));
            const double w = (double)mw * 1e-3;
            c->acc_j[i] += 0.5 * (w + c->last_w[i]) * dt;
            c->last_w[i] = w;
        }
        out->joules[i] = c->acc_j[i];
    }
    c->last_ns = t;
    return 0;
}

static void nv_close(void *ctx)
{
    struct nvml_ctx *c = ctx;
    if (!c)
        return;
    api_close(&c->api);
    free(c);
}

static int open_devices(struct nvml_ctx *c, struct jb_energy_info *info, struct jb_err *err)
{
    unsigned n = 0;
    nvml_return r = c->api.count(&n);
    if (r || n == 0)
        return jb_fail(err, JB_ENOTSUP, "NVML: %s", r ? c->api.error_string(r) : "no GPU");
    bool any_integrated = false;
    char names[128] = "";
    for (unsigned i = 0; i < n && c->n < MAX_GPUS; i++, c->n++) {
        if ((r = c->api.handle(i, &c->dev[c->n])))
            return jb_fail(err, JB_EIO, "nvmlDeviceGetHandleByIndex(%u): %s", i,
                c->api.error_string(r));
        unsigned mw;
        c->integrated[c->n] = c->api.energy_mj(c->dev[c->n], &c->first_mj[c->n]) != 0;
        if (c->integrated[c->n] && (r = c->api.power_mw(c->dev[c->n], &mw)))
            return jb_fail(err, JB_EIO, "gpu %u has neither an energy counter nor a power "
                "reading: %s", i, c->api.error_string(r));
        if (c->integrated[c->n])
            c->last_w[c->n] = (double)mw * 1e-3;
        any_integrated |= c->integrated[c->n];
        struct jb_energy_domain *d = &info->domains[c->n];
        snprintf(d->name, sizeof d->name, "gpu-%u", i);
        d->kind = JB_DOMAIN_GPU;
        d->in_total = true;
        if (i == 0)
            c->api.name(c->dev[0], names, sizeof names);
    }
    info->n_domains = c->n;
    info->method = any_integrated ? JB_METHOD_INTEGRATED : JB_METHOD_MEASURED;
    info->resolution_j = any_integrated ? 0 : 1e-3;
    info->update_s = any_integrated ? 0.02 : 0.01;
    snprintf(info->detail, sizeof info->detail, "NVML (%s), %d GPU(s): %s; %s", lib_name(), c->n,
        names, any_integrated ? "power samples integrated" : "total energy counters");
    return 0;
}

static int nv_open(const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info,
    struct jb_err *err)
{
    (void)o;
    char why[256];
    struct nvml_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    if (api_open(&c->api, why, sizeof why)) {
        free(c);
        return jb_fail(err, JB_ENOTSUP, "%s", why);
    }
    memset(info, 0, sizeof *info);
    int rc = open_devices(c, info, err);
    if (rc) {
        nv_close(c);
        return rc;
    }
    c->last_ns = jb_now_ns();
    *ctx = c;
    return 0;
}

const struct jb_energy_source jb_energy_nvml = {
    .name = "nvml",
    .what = "NVIDIA GPUs through NVML (dlopen): energy counter, else integrated power",
    .beside = "the GPUs",
    .probe = nv_probe,
    .open = nv_open,
    .read = nv_read,
    .close = nv_close,
};
