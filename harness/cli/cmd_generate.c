/*
 * cmd_generate.c — `joulebench generate`: token ids in, generated token ids out (one line,
 * space-separated), the check that real weights loaded from safetensors compute what Hugging
 * Face transformers computes (compare with model.generate(..., do_sample=False)).
 */
#include "jb_cli.h"
#include "jb_clock.h"
#include "jb_run.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_opts {
    struct jb_load_opts load;
    int32_t *prompt;
    int64_t n_prompt, max_tokens, threads;
    double temperature, top_p;
    uint64_t sample_seed;
    bool timing;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench generate --model NAME|DIR|FILE.gguf --prompt-ids 1,2,3 --max-tokens N\n"
        "           [--dtype f32|bf16|q8_0|q4_0|q4_k] [--threads N] [--seed S] [--random-weights]\n"
        "           [--temperature T] [--top-p P] [--sample-seed S] [--kernels auto|ref|avx2|avx512]\n"
        "           [--timing]\n"
        "Prints the N generated token ids (not the prompt) on one line. Greedy unless\n"
        "--temperature > 0. Weights come from the folder's model.safetensors when present\n"
        "(else pseudo-random from --seed, default 1). --timing prints prefill and decode\n"
        "speed on stderr.\n");
}

/* "1,2,3" -> ids; an error names the element. */
static int parse_ids(const char *s, int32_t **out, int64_t *n)
{
    int64_t cap = 16, count = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    const char *p = s;
    while (ids && *p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            jb_errorf("option --prompt-ids: element %lld (\"%.*s\") is not a token id "
                      "(a non-negative integer)",
                (long long)count + 1, (int)strcspn(p, ","), p);
            free(ids);
            return -1;
        }
        if (count == cap) {
            int32_t *grown = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
            if (!grown)
                break;
            ids = grown;
        }
        ids[count++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (!ids || count == 0) {
        jb_errorf("option --prompt-ids: expected comma-separated token ids, got \"%s\"", s);
        free(ids);
        return -1;
    }
    *out = ids;
    *n = count;
    return 0;
}

static int parse_args(int argc, char **argv, struct gen_opts *g)
{
    static const struct option opts[] = { { "model", required_argument, NULL, 'm' },
        { "prompt-ids", required_argument, NULL, 'p' },
        { "max-tokens", required_argument, NULL, 'n' }, { "dtype", required_argument, NULL, 'd' },
        { "threads", required_argument, NULL, 't' }, { "seed", required_argument, NULL, 's' },
        { "random-weights", no_argument, NULL, 'r' },
        { "temperature", required_argument, NULL, 'T' }, { "top-p", required_argument, NULL, 'P' },
        { "sample-seed", required_argument, NULL, 'S' },
        { "kernels", required_argument, NULL, 'k' }, { "timing", no_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    int64_t v;
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (o) {
        case 'm': g->load.model = optarg; break;
        case 'p':
            free(g->prompt);
            if (parse_ids(optarg, &g->prompt, &g->n_prompt))
                return -1;
            break;
        case 'n':
            if (jb_parse_i64("--max-tokens", optarg, 1, 1 << 24, &g->max_tokens))
                return -1;
            break;
        case 'd':
            if (jb_dtype_parse(optarg, &g->load.dtype)) {
                jb_errorf(
                    "option --dtype: unknown storage type \"%s\" (f32, bf16, q8_0, q4_0 or q4_k)",
                    optarg);
                return -1;
            }
            break;
        case 't':
            if (jb_parse_i64("--threads", optarg, 1, 1024, &g->threads))
                return -1;
            break;
        case 's':
        case 'S':
            if (jb_parse_i64(o == 's' ? "--seed" : "--sample-seed", optarg, 0, INT64_MAX, &v))
                return -1;
            *(o == 's' ? &g->load.seed : &g->sample_seed) = (uint64_t)v;
            break;
        case 'r': g->load.random_weights = true; break;
        case 'T':
            if (jb_parse_f64("--temperature", optarg, 0.0, 100.0, &g->temperature))
                return -1;
            break;
        case 'P':
            if (jb_parse_f64("--top-p", optarg, 1e-6, 1.0, &g->top_p))
                return -1;
            break;
        case 'k': {
            struct jb_err kerr;
            if (jb_kernels_lookup(optarg, &g->load.ops, &kerr)) {
                jb_errorf("option --kernels: %s", kerr.msg);
                return -1;
            }
            break;
        }
        case 'i': g->timing = true; break;
        case 'h': usage(stdout); return JB_PARSE_HELP;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc)
        jb_errorf("generate: unexpected argument \"%s\"", argv[optind]);
    else if (!g->load.model)
        jb_errorf("generate: --model is required");
    else if (!g->prompt)
        jb_errorf("generate: --prompt-ids is required");
    else if (!g->max_tokens)
        jb_errorf("generate: --max-tokens is required");
    else
        return 0;
    return -1;
}

static int generate(struct gen_opts *g, struct jb_loaded *L, struct jb_err *err)
{
    const struct jb_config *c = &L->cfg;
    float *logits = malloc((size_t)c->vocab_size * sizeof *logits);
    struct jb_prob_index *scratch = malloc((size_t)c->vocab_size * sizeof *scratch);
    int rc = (!logits || !scratch) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    uint64_t rng = g->sample_seed;
    int64_t seq = 0, t0 = jb_now_ns(), t1 = t0;

    if (!rc)
        rc = jb_prefill(&L->model, &L->state, 0, g->prompt, g->n_prompt, logits, err);
    for (int64_t i = 0; i < g->max_tokens && !rc; i++) {
        int32_t tok = (int32_t)jb_sample(
            logits, c->vocab_size, (float)g->temperature, (float)g->top_p, &rng, scratch);
        printf("%s%d", i ? " " : "", tok);
        if (i == 0)
            t1 = jb_now_ns();
        if (i + 1 < g->max_tokens)
            rc = jb_decode(&L->model, &L->state, &seq, &tok, 1, logits, err);
    }
    printf("\n");
    fflush(stdout);
    if (!rc && g->timing) {
        const double pre_s = (double)(t1 - t0) * 1e-9, dec_s = (double)(jb_now_ns() - t1) * 1e-9;
        fprintf(stderr, "%s %s, weights %s, %lld threads, kernels %s\n", c->name,
            jb_dtype_name(L->model.dtype), L->model.weights_source, (long long)g->threads,
            L->model.ops->name);
        fprintf(stderr, "prefill: %lld tokens in %.1f ms (%.1f tok/s)\n", (long long)g->n_prompt,
            pre_s * 1e3, (double)g->n_prompt / pre_s);
        if (g->max_tokens > 1)
            fprintf(stderr, "decode:  %lld tokens in %.1f ms (%.2f tok/s, %.1f ms/token)\n",
                (long long)g->max_tokens - 1, dec_s * 1e3, (double)(g->max_tokens - 1) / dec_s,
                dec_s * 1e3 / (double)(g->max_tokens - 1));
    }
    free(logits);
    free(scratch);
    return rc;
}

int jb_cmd_generate(int argc, char **argv)
{
    struct gen_opts g
        = { .load = { .dtype = JB_DTYPE_COUNT, .seed = 1 }, .top_p = 1.0, .threads = jb_cpu_count() };
    struct jb_loaded L;
    struct jb_err err;
    const int parsed = parse_args(argc, argv, &g);
    if (parsed) {
        free(g.prompt);
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    }
    if (g.load.dtype == JB_DTYPE_COUNT) /* no --dtype: f32, or a GGUF file's own type */
        g.load.dtype = jb_default_dtype(g.load.model);
    jb_set_threads((int)g.threads);
    g.load.ctx = g.n_prompt + g.max_tokens - 1; /* the last token generated is never fed back */
    g.load.batch_tokens = g.n_prompt < 512 ? g.n_prompt : 512;
    char why[96];
    snprintf(why, sizeof why, "the prompt has %lld tokens and --max-tokens is %lld",
        (long long)g.n_prompt, (long long)g.max_tokens);
    g.load.ctx_why = why;
    int rc = jb_load(&L, &g.load, &err);
    if (rc == 0) {
        for (int64_t i = 0; i < g.n_prompt && !rc; i++)
            if (g.prompt[i] >= L.cfg.vocab_size)
                rc = jb_fail(&err, JB_ERANGE,
                    "option --prompt-ids: token id %d is outside the "
                    "vocabulary of %s (0..%lld)",
                    g.prompt[i], L.cfg.name, (long long)L.cfg.vocab_size - 1);
        if (!rc)
            rc = generate(&g, &L, &err);
        jb_unload(&L);
    }
    if (rc)
        jb_errorf("%s", err.msg);
    free(g.prompt);
    return jb_exit_code(rc);
}
