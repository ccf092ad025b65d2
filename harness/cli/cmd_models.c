/*
 * cmd_models.c — `joulebench models`: the model ladder, with exact parameter counts and the
 * memory each storage type needs, whether it fits this machine now, and what layer sampling
 * (--layers auto) would run of a model that does not.
 */
#include "jb_cli.h"
#include "jb_run.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

static void human_count(int64_t n, char *buf, size_t len)
{
    if (n >= 1000000000)
        snprintf(buf, len, "%.2fB", (double)n / 1e9);
    else if (n >= 1000000)
        snprintf(buf, len, "%.1fM", (double)n / 1e6);
    else
        snprintf(buf, len, "%.1fK", (double)n / 1e3);
}

/* What --layers auto runs of c in storage types that do not fit whole ("q8_0:19/80"), with
 * one sequence of ctx positions and forward calls of up to 512 tokens. */
static void sampled_column(
    const struct jb_config *c, int64_t ctx, const bool *whole, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int t = 0; t < JB_DTYPE_COUNT && n < len; t++) {
        struct jb_config k = *c;
        struct jb_err err;
        if (whole[t]
            || jb_layers_auto(&k, (enum jb_dtype)t, 1, ctx, 512, omp_get_max_threads(), &err)
            || !jb_config_sampled(&k))
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s:%lld/%lld", n ? "," : "",
            jb_dtype_name((enum jb_dtype)t), (long long)k.layers_run, (long long)k.n_layers);
    }
}

static void print_row(const struct jb_config *c, int64_t ctx, uint64_t avail)
{
    char size[32], fits[48] = "", sampled[128];
    bool whole[JB_DTYPE_COUNT] = { false };
    double gib[JB_DTYPE_COUNT];
    const int64_t params = jb_config_params(c);
    const int64_t use_ctx = ctx < c->max_position_embeddings ? ctx : c->max_position_embeddings;
    struct jb_mem_plan plan;

    human_count(params, size, sizeof size);
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        jb_mem_plan(c, (enum jb_dtype)t, 1, use_ctx, 0, 1, &plan);
        gib[t] = plan.weight_bytes / GIB;
        if (plan.weight_bytes <= avail && plan.kv_bytes <= avail - plan.weight_bytes) {
            whole[t] = true;
            size_t n = 0;
            while (fits[n])
                n++;
            snprintf(fits + n, sizeof fits - n, "%s%s", n ? "," : "", jb_dtype_name(t));
        }
    }
    sampled_column(c, use_ctx, whole, sampled, sizeof sampled);
    jb_mem_plan(c, JB_DTYPE_F32, 1, 1024, 0, 1, &plan);
    printf("%-16s %-6s %6lld %6lld %5lld/%-3lld %13lld %8s %9.2f %9.2f %9.2f %9.2f %9.2f %9.1f  "
           "%-23s %s\n",
        c->name, c->model_type, (long long)c->n_layers, (long long)c->hidden_size,
        (long long)c->n_heads, (long long)c->n_kv_heads, (long long)params, size, gib[JB_DTYPE_F32],
        gib[JB_DTYPE_BF16], gib[JB_DTYPE_Q8_0], gib[JB_DTYPE_Q4_0], gib[JB_DTYPE_Q4_K],
        (double)plan.kv_bytes / (1024.0 * 1024.0), fits[0] ? fits : "none",
        sampled[0] ? sampled : "-");
}

int jb_cmd_models(int argc, char **argv)
{
    static const struct option opts[] = { { "ctx", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    int64_t ctx = 4096;
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (o == 'c' && jb_parse_i64("--ctx", optarg, 1, 1 << 24, &ctx) == 0)
            continue;
        if (o == 'h') {
            printf("usage: joulebench models [--ctx N]\n"
                   "Lists the models under %s: exact parameter count, weight memory per "
                   "storage type (GiB), KV cache per 1024 positions (MiB, f32 cache), and which "
                   "storage types fit in the memory available now with one sequence of N "
                   "positions (default 4096, capped at the model's maximum); for the others, "
                   "what --layers auto would run (K of L layers).\n",
                jb_models_dir());
            return JB_EXIT_OK;
        }
        return JB_EXIT_USAGE;
    }
    if (optind < argc) {
        jb_errorf("models: unexpected argument \"%s\"", argv[optind]);
        return JB_EXIT_USAGE;
    }
    struct jb_model_list list;
    struct jb_err err;
    uint64_t limit;
    int rc = jb_mem_limit(&limit, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    rc = jb_models_ladder(&list, &err);
    if (rc) {
        jb_models_list_free(&list);
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    const uint64_t avail = jb_mem_available_bytes(limit);
    printf("%-16s %-6s %6s %6s %9s %13s %8s %9s %9s %9s %9s %9s %9s  %-23s %s\n", "model", "type",
        "layers", "dim", "heads/kv", "params", "size", "f32_gib", "bf16_gib", "q8_0_gib",
        "q4_0_gib", "q4_k_gib", "kv_mib/1k", "fits", "sampled");
    for (int i = 0; i < list.count; i++) {
        struct jb_config c;
        char dir[4096];
        if (jb_model_config(jb_models_dir(), list.names[i], &c, dir, sizeof dir, &err) == 0)
            print_row(&c, ctx, avail);
    }
    jb_models_list_free(&list);
    char avail_text[JB_FMT_BYTES_LEN];
    printf("# memory available now: %s; \"fits\" counts weights + KV cache of one "
           "sequence of up to %lld positions; \"sampled\": what --layers auto runs of the rest "
           "(K/L layers, time and energy extrapolated to all L; docs/large-models.md)\n",
        avail ? jb_fmt_bytes(avail, avail_text, sizeof avail_text) : "unknown", (long long)ctx);
    return JB_EXIT_OK;
}
