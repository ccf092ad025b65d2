/*
 * make_gguf.c — a test tool: writes a GGUF v3 file of a model's shape (a NAME of the models
 * folder, or a folder with config.json) with pseudo-random weights and a minimal SentencePiece
 * vocabulary, so that joulebench and llama.cpp (llama-bench, llama-cli) can both load it with
 * nothing downloaded. Matrices in the type asked for (F32, F16, BF16, Q8_0, Q4_0), norms F32.
 *
 *   make_gguf MODEL f32|f16|bf16|q8_0|q4_0 OUT.gguf [SEED]
 *
 * Weights are uniform with variance about 1/fan_in (norms around 1), as joulebench's own random
 * weights, so activations stay near unit scale through the layers. Rows are written as they are
 * made: a billion-weight model needs only a few rows of memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jb_model.h"
#include "jb_run.h"

#include "gguf_writer.h"

static const struct {
    const char *name;
    uint32_t type;
    const char *file_type_name;
    uint32_t file_type; /* llama.cpp's general.file_type (LLAMA_FTYPE_*) */
} types[] = {
    { "f32", GW_F32, "F32", 0 },
    { "f16", GW_F16, "F16", 1 },
    { "q4_0", GW_Q4_0, "Q4_0", 2 },
    { "q8_0", GW_Q8_0, "Q8_0", 7 },
    { "bf16", GW_BF16, "BF16", 32 },
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Encodes n f32 values as type into out (gw_row_bytes(type, n) bytes). */
static void encode(uint32_t type, const float *x, unsigned char *out, int64_t n)
{
    switch (type) {
    case GW_F32: memcpy(out, x, (size_t)n * 4); break;
    case GW_F16:
    case GW_BF16:
        for (int64_t i = 0; i < n; i++) {
            const uint16_t h = type == GW_F16 ? gw_f16_bits(x[i]) : gw_bf16_bits(x[i]);
            memcpy(out + 2 * i, &h, 2);
        }
        break;
    case GW_Q8_0: gw_quantize_q8_0(x, out, n); break;
    case GW_Q4_0: gw_quantize_q4_0(x, out, n); break;
    default: abort();
    }
}

static void write_tensor(struct gw *w, int i, uint64_t *seed)
{
    const struct gw_tensor *t = &w->t[i];
    const int64_t cols = (int64_t)t->ne[0], rows = t->n_dims == 2 ? (int64_t)t->ne[1] : 1;
    const bool norm = t->n_dims == 1 && strstr(t->name, "norm");
    const float amp = t->n_dims == 1 ? (norm ? 0.1f : 0.02f) : 1.7320508f / sqrtf((float)cols);
    float *x = malloc((size_t)cols * sizeof *x);
    unsigned char *row = malloc(gw_row_bytes(t->type, (uint64_t)cols));
    if (!x || !row)
        abort();
    gw_next_tensor(w);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < cols; j++)
            x[j] = ((float)(next(seed) >> 40) * (2.0f / 16777216.0f) - 1.0f) * amp
                + (norm ? 1.0f : 0.0f);
        encode(t->type, x, row, cols);
        gw_append(w, row, gw_row_bytes(t->type, (uint64_t)cols));
    }
    free(x);
    free(row);
}

int main(int argc, char **argv)
{
    struct jb_config c;
    struct jb_err err;
    char dir[4096];
    int ti = -1;
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: make_gguf MODEL f32|f16|bf16|q8_0|q4_0 OUT.gguf [SEED]\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(argv[2], types[i].name) == 0)
            ti = (int)i;
    if (ti < 0) {
        fprintf(stderr, "make_gguf: unknown type \"%s\" (f32, f16, bf16, q8_0, q4_0)\n", argv[2]);
        return 2;
    }
    if (jb_model_config(jb_models_dir(), argv[1], &c, dir, sizeof dir, &err)) {
        fprintf(stderr, "make_gguf: %s\n", err.msg);
        return 1;
    }
    const char *arch = c.model_type;
    if (strcmp(arch, "mistral") == 0) /* llama.cpp writes Mistral as llama */
        arch = "llama";
    struct gw w = { 0 };
    gw_model_kv(&w, &c, arch, true);
    gw_kv_u32(&w, "general.file_type", types[ti].file_type);
    gw_kv_u32(&w, "general.quantization_version", 2);
    gw_model_tensors(&w, &c, types[ti].type);
    gw_begin(&w, argv[3]);
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
    for (int i = 0; i < w.n_tensors; i++)
        write_tensor(&w, i, &seed);
    const uint64_t bytes = gw_header_bytes(&w) + w.written;
    const int n = w.n_tensors;
    gw_end(&w);
    printf("%s: %s (%s) in %s, %d tensors, %.1f MiB\n", argv[3], c.name, arch,
        types[ti].file_type_name, n, (double)bytes / 1048576.0);
    return 0;
}
