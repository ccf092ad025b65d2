/*
 * jb_model.h — model shapes (Hugging Face config.json), weights and the forward pass.
 *
 * A model folder holds config.json and optionally model.safetensors (or a sharded index).
 * jb_config_load reads and validates the config; jb_mem_plan says what a model needs before
 * anything is allocated; jb_model_init allocates weights (pseudo-random from a seed, or real
 * ones from safetensors); jb_state holds the KV cache of a batch of sequences; jb_forward
 * runs prefill and decode over it. Conventions follow Hugging Face's Llama implementation
 * (see docs/engine.md).
 */
#ifndef JB_MODEL_H
#define JB_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "jb_error.h"
#include "jb_kernels.h"

/* ---- configuration ------------------------------------------------------------------------ */

enum jb_act {
    JB_ACT_SILU,      /* "silu": SwiGLU MLP (Llama, Qwen2, Phi-3) */
    JB_ACT_GELU_TANH, /* "gelu_pytorch_tanh" / "gelu_new": GeGLU, tanh approximation (Gemma) */
    JB_ACT_GELU,      /* "gelu": GeGLU, exact erf */
};

enum jb_rope_scaling {
    JB_ROPE_DEFAULT, /* inv_freq = theta^(-2i/d) */
    JB_ROPE_LINEAR,  /* frequencies divided by factor */
    JB_ROPE_LLAMA3,  /* Llama 3.1/3.2 frequency-dependent scaling */
};

#define JB_NAME_MAX 128

struct jb_config {
    char name[JB_NAME_MAX];    /* folder name, e.g. "Llama-3.2-1B" */
    char model_type[32];       /* "llama", "mistral", "qwen2", "gemma", "phi3" */
    int64_t hidden_size;       /* dim */
    int64_t intermediate_size; /* MLP width */
    int64_t n_layers;          /* num_hidden_layers */
    int64_t n_heads;           /* num_attention_heads */
    int64_t n_kv_heads;        /* num_key_value_heads (GQA), divides n_heads */
    int64_t head_dim;          /* head_dim, or hidden_size / n_heads */
    int64_t vocab_size;
    int64_t max_position_embeddings;
    double rope_theta;
    float norm_eps;           /* rms_norm_eps */
    bool tie_word_embeddings; /* lm_head shares the embedding matrix */
    bool qkv_bias, o_bias, mlp_bias;
    enum jb_act act;
    bool embed_scale_sqrt_dim; /* Gemma: embeddings multiplied by sqrt(hidden_size) */
    bool norm_plus_one;        /* Gemma: RMSNorm multiplies by (1 + weight) */
    bool fused_checkpoint;     /* Phi-3: qkv_proj and gate_up_proj tensors on disk */
    enum jb_rope_scaling rope_scaling;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int64_t rope_original_max_pos;
    /* Layer sampling (large models): the decoder layers actually instantiated and run, K of
     * n_layers, spread over the depth (jb_config_layer_index); 0 = all of them. Sizes, the KV
     * cache and the forward pass follow it; the parameter count and jb_forward_cost stay the
     * full model's. Set with jb_config_sample_layers, never by config.json. */
    int64_t layers_run;
};

/* The most a model's weights may take in any storage type: 2^56 bytes (64 PiB), some 40 000
 * times the largest published model, so that every size computed from a config (tensors,
 * parameter counts, offsets) stays far inside 64 bits. */
#define JB_MODEL_MAX_BYTES (1ull << 56)
/* The largest config.json read (bigger is an input error, JB_ERANGE). */
#define JB_CONFIG_MAX_BYTES (16u << 20)

/* Parses a Hugging Face config.json held in memory; `source` names it in error messages. The
 * document is one JSON object and nothing after it; a key given twice (at the top level or in
 * rope_scaling) is refused, naming it; a shape whose weights would exceed JB_MODEL_MAX_BYTES
 * in some storage type is JB_ERANGE naming its fields. */
int jb_config_parse(
    const char *json, size_t len, const char *source, struct jb_config *out, struct jb_err *err);
/* Reads (jb_read_file: a regular file of at most JB_CONFIG_MAX_BYTES) and parses path (a
 * config.json). name is copied into out->name (may be NULL). */
int jb_config_load(const char *path, const char *name, struct jb_config *out, struct jb_err *err);

/* The decoder layers a model of config c instantiates: layers_run when sampling, else all. */
static inline int64_t jb_config_layers(const struct jb_config *c)
{
    return c->layers_run > 0 && c->layers_run < c->n_layers ? c->layers_run : c->n_layers;
}
/* True when c runs a sample of its layers rather than all of them. */
static inline bool jb_config_sampled(const struct jb_config *c)
{
    return jb_config_layers(c) < c->n_layers;
}
/* The layer of the full model that instantiated layer k (0 <= k < jb_config_layers(c)) is:
 * round(k (L - 1) / (K - 1)), K layers spread evenly from the first to the last (distinct, as
 * K <= L); k itself when all layers run. */
int64_t jb_config_layer_index(const struct jb_config *c, int64_t k);
/* Makes c run k of its n_layers decoder layers (k == n_layers: all of them, layers_run 0).
 * JB_ERANGE naming the model when k < 2 or k > n_layers. */
int jb_config_sample_layers(struct jb_config *c, int64_t k, struct jb_err *err);

/* Exact parameter count, as Hugging Face's model.num_parameters() counts it (tied once);
 * INT64_MAX for a hand-made config whose count would not fit (never one jb_config_parse gave). */
int64_t jb_config_params(const struct jb_config *c);

/* ---- model folders ------------------------------------------------------------------------ */

/* NAME (a folder under models_dir) or a path to a folder with config.json -> its folder. */
int jb_model_resolve(
    const char *models_dir, const char *name_or_dir, char *dir, size_t dir_len, struct jb_err *err);
/* Loads the config of a model folder resolved by name (under models_dir) or path. */
int jb_model_config(const char *models_dir, const char *name_or_dir, struct jb_config *out,
    char *dir, size_t dir_len, struct jb_err *err);

/* A model folder jb_models_list left out, and why. */
struct jb_model_skip {
    char name[256];           /* the folder's name */
    char msg[JB_ERR_MSG_LEN]; /* what reading its config.json said */
};

struct jb_model_list {
    char **names; /* (count) folder names, sorted by parameter count */
    int count;
    struct jb_model_skip *skipped; /* (n_skipped) folders whose config.json failed to load */
    int n_skipped;
};

/* Lists the model folders under models_dir (those holding a config.json) into out (caller-owned
 * struct, emptied first): the names of those whose config loads, smallest first, and the others
 * in out->skipped, for the caller to report. Free with jb_models_list_free, also after an
 * error. */
int jb_models_list(const char *models_dir, struct jb_model_list *out, struct jb_err *err);
/* Releases what jb_models_list filled in; accepts a zeroed or already freed list. */
void jb_models_list_free(struct jb_model_list *l);

/* ---- cost accounting (for roofline figures) ----------------------------------------------- */

/* FLOPs and bytes moved by one forward call of n_tokens of one sequence starting at position
 * pos0, computing logits for `logit_rows` of them. Weights are read once per call. Always the
 * full model's figures (all n_layers), also for a config that samples its layers. */
struct jb_forward_cost {
    double flops;        /* matmuls + attention (2 per multiply-add); element-wise ops excluded */
    double weight_bytes; /* weights read: every matrix once, plus the embedding rows used */
    double kv_bytes;     /* KV cache read and written */
};
void jb_forward_cost(const struct jb_config *c, enum jb_dtype t, int64_t n_tokens, int64_t pos0,
    int64_t logit_rows, struct jb_forward_cost *out);

/* ---- memory ------------------------------------------------------------------------------- */

struct jb_mem_plan {
    uint64_t weight_bytes;
    uint64_t kv_bytes;
    uint64_t act_bytes; /* activations and scratch of one forward call */
    uint64_t total_bytes;
    int64_t n_seqs, ctx, batch_tokens;
};

/* A byte count too large for 64 bits: the sizes of a plan saturate at it, never wrap. */
#define JB_BYTES_OVERFLOW UINT64_MAX

/* What a model needs: weights in dtype t, a KV cache of n_seqs sequences of ctx positions,
 * and activations for forward calls of up to batch_tokens tokens on n_threads threads. A
 * figure that does not fit in 64 bits is JB_BYTES_OVERFLOW (so is the total then), which
 * jb_mem_check refuses. */
void jb_mem_plan(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch_tokens, int n_threads, struct jb_mem_plan *out);
/* bytes in the unit that shows it (B, KiB, MiB, GiB, TiB, PiB, EiB; three significant
 * digits), e.g. "512 B", "1.00 KiB", "29.9 GiB", "over 16 EiB" for JB_BYTES_OVERFLOW. Writes
 * into buf (JB_FMT_BYTES_LEN bytes suffice) and returns it. */
#define JB_FMT_BYTES_LEN 24
const char *jb_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* Memory this process may still use: MemAvailable, lowered by a cgroup limit and by
 * limit_bytes (0: no limit of the caller's). 0 when none of these is known. */
uint64_t jb_mem_available_bytes(uint64_t limit_bytes);

/* The figures a way out of a memory refusal is chosen from. */
struct jb_mem_fit {
    uint64_t available_bytes;              /* what the plan was checked against; 0 = unknown */
    uint64_t weight_bytes[JB_DTYPE_COUNT]; /* the model's weights stored in each type */
    bool fits_as[JB_DTYPE_COUNT];          /* the plan fits with the weights stored in that type */
    double kv_bytes_per_pos;               /* the plan's KV cache per position (all sequences) */
};

/* 0 when plan fits in avail_bytes (always when avail_bytes is 0, unknown); else JB_ETOOBIG with
 * the facts in err: "<model> in <dtype> needs X GiB (weights .. + KV cache .. + activations ..)
 * but only Y GiB is available" (units from jb_fmt_bytes). A plan with a JB_BYTES_OVERFLOW
 * figure is JB_ERANGE, an input error naming the sequences, positions and tokens asked for. The
 * total is recomputed from the parts (plan->total_bytes is not trusted). fit (may be NULL)
 * receives the figures either way. */
int jb_mem_check(const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *plan,
    uint64_t avail_bytes, struct jb_mem_fit *fit, struct jb_err *err);

/* ---- weights ------------------------------------------------------------------------------ */

struct jb_layer_weights {
    float *attn_norm;           /* (dim) */
    struct jb_tensor wqkv;      /* (q_dim + 2 kv_dim, dim): q_proj, k_proj, v_proj rows */
    float *bqkv;                /* (q_dim + 2 kv_dim) or NULL */
    struct jb_tensor wo;        /* (dim, q_dim) */
    float *bo;                  /* (dim) or NULL */
    float *ffn_norm;            /* (dim) */
    struct jb_tensor w_gate_up; /* (2 ffn, dim): gate_proj rows, then up_proj rows */
    float *b_gate_up;           /* (2 ffn) or NULL */
    struct jb_tensor w_down;    /* (dim, ffn) */
    float *b_down;              /* (dim) or NULL */
};

struct jb_model {
    struct jb_config cfg;
    enum jb_dtype dtype;
    const struct jb_kernel_ops *ops;
    struct jb_tensor embed;          /* (vocab, dim) */
    struct jb_layer_weights *layers; /* (jb_config_layers(&cfg)): the layers run */
    float *final_norm;               /* (dim) */
    struct jb_tensor lm_head;        /* (vocab, dim); shares embed.data when tied */
    float *rope_inv_freq;            /* (head_dim / 2) */
    char weights_source[512];        /* "random (seed N)" or the safetensors path */
    uint64_t mem_limit_bytes;        /* from jb_model_opts; jb_state_init checks against it */
    void *arena;                     /* owns everything above (one mapping) */
    uint64_t arena_bytes;
};

struct jb_model_opts {
    enum jb_dtype dtype;
    uint64_t seed;                   /* pseudo-random weights */
    const struct jb_kernel_ops *ops; /* NULL: jb_kernels_best() */
    bool random_weights;             /* ignore model.safetensors even when the folder has one */
    uint64_t mem_limit_bytes;        /* memory this model and its states may use at most
                                      * (with jb_mem_available_bytes); 0 = what the machine has */
};

/* Allocates and fills m (caller-owned struct). Weights come from dir's safetensors when it has
 * them (and !o->random_weights), else from o->seed. Refuses with JB_ETOOBIG (the facts of
 * jb_mem_check) before allocating when the weights do not fit under o->mem_limit_bytes. Free
 * with jb_model_free. */
int jb_model_init(struct jb_model *m, const struct jb_config *cfg, const char *dir,
    const struct jb_model_opts *o, struct jb_err *err);
/* Releases what jb_model_init allocated; accepts a zeroed or already freed model. */
void jb_model_free(struct jb_model *m);

/* ---- KV cache and forward pass ------------------------------------------------------------ */

/* Called by jb_forward with true just before a call's first decoder layer and with false just
 * after its last, when set: the runner splits time and energy there (layer sampling). */
typedef void (*jb_layers_hook_fn)(void *ctx, bool entering);

struct jb_state {
    const struct jb_model *m; /* not owned */
    jb_layers_hook_fn layers_hook; /* NULL: none (jb_state_init leaves it NULL) */
    void *layers_hook_ctx;
    int64_t n_seqs, ctx_cap, max_tokens;
    int n_threads;            /* OpenMP threads the scratch was sized for */
    int64_t *seq_len;         /* (n_seqs): positions already in each sequence's cache */
    float *k_cache, *v_cache; /* (layers run, n_seqs, n_kv_heads, ctx_cap, head_dim) */
    float *x, *xn, *qkv, *attn, *proj, *ffn, *hidden; /* activations, (max_tokens, ...) */
    float *rope_cos, *rope_sin;                       /* (max_tokens, head_dim / 2) */
    float *last;             /* (max_tokens, dim): final-normed rows that get logits */
    struct jb_chunk *chunks; /* (max_tokens): jb_decode's one-token chunks */
    float *attn_scratch;
    size_t attn_scratch_floats;
    void *mm_scratch;
    size_t mm_scratch_bytes;
    void *arena; /* owns everything above */
    uint64_t arena_bytes;
};

/* A KV cache for n_seqs sequences of up to ctx positions, and activations for forward calls of
 * up to max_tokens tokens, sized for omp_get_max_threads() threads. Refuses with JB_ETOOBIG
 * before allocating when it does not fit under the model's mem_limit_bytes. */
int jb_state_init(struct jb_state *s, const struct jb_model *m, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, struct jb_err *err);
void jb_state_free(struct jb_state *s);
/* Forgets a sequence's tokens (its cache slots are reused). */
void jb_state_reset(struct jb_state *s, int64_t seq);

/* A run of consecutive tokens appended to one sequence. */
struct jb_chunk {
    int64_t seq;
    const int32_t *tokens;
    int64_t n;
};

/* One forward call over several sequences at once (continuous batching): each chunk's tokens
 * are appended to its sequence's cache. logits (n_chunks, vocab) receives the logits of each
 * chunk's last token; NULL skips the output layer. A sequence may appear in one chunk only. */
int jb_forward(const struct jb_model *m, struct jb_state *s, const struct jb_chunk *chunks,
    int64_t n_chunks, float *logits, struct jb_err *err);
/* Appends n prompt tokens to one sequence, in calls of at most s->max_tokens tokens;
 * logits (vocab) of the last token, or NULL. */
int jb_prefill(const struct jb_model *m, struct jb_state *s, int64_t seq, const int32_t *tokens,
    int64_t n, float *logits, struct jb_err *err);
/* One decode step for n sequences: tokens[i] is appended to seqs[i]; logits (n, vocab). */
int jb_decode(const struct jb_model *m, struct jb_state *s, const int64_t *seqs,
    const int32_t *tokens, int64_t n, float *logits, struct jb_err *err);

/* ---- safetensors -------------------------------------------------------------------------- */

/* Fills m's weights from dir/model.safetensors or dir/model.safetensors.index.json (F32, BF16
 * or F16 tensors under Hugging Face names), converting to m->dtype. Files are mmap'd. */
int jb_model_load_safetensors(struct jb_model *m, const char *dir, struct jb_err *err);
/* Checks dir's checkpoint against config c as jb_model_load_safetensors would, converting
 * nothing (the headers are parsed, the data only mmap'd): every file regular, its header and
 * data_offsets well formed (no overflow, overlap or gap), every tensor c implies present with a
 * readable dtype and c's shape, none it does not imply. 0, or the error loading would give
 * (JB_EPARSE, JB_ERANGE, JB_EINVAL, JB_ENOENT, JB_ENOTSUP: bad input; JB_EIO, JB_ENOMEM). */
int jb_safetensors_check(const struct jb_config *c, const char *dir, struct jb_err *err);
/* True when dir has an entry named model.safetensors or model.safetensors.index.json, of any
 * kind: one that cannot be read is then an error, never a silent fall back to random weights. */
bool jb_safetensors_present(const char *dir);

/* ---- GGUF (models/gguf.c, docs/gguf.md) --------------------------------------------------- */

/* True when path names a GGUF file (it ends in ".gguf"): --model takes it in a folder's place. */
bool jb_gguf_path(const char *path);
/* Reads the config of a GGUF file (versions 2, 3; llama, qwen2, gemma, phi3) from its metadata
 * and checks every tensor it holds against it (names, shapes, types, offsets), converting
 * nothing. out->name is the file's name without ".gguf". *dtype (may be NULL) receives the
 * storage type that keeps the file's own quantisation. 0, or one error naming the file. */
int jb_gguf_config(
    const char *path, struct jb_config *out, enum jb_dtype *dtype, struct jb_err *err);
/* Fills m's weights (m->cfg read by jb_gguf_config from the same file) from the GGUF file at
 * path, converting to m->dtype; a tensor of that very type is copied byte for byte. */
int jb_model_load_gguf(struct jb_model *m, const char *path, struct jb_err *err);

#endif
