/*
 * fuzz_safetensors.c — libFuzzer target: the input as a model folder's model.safetensors beside
 * a fixed tiny config, checked as a run's plan checks it (jb_safetensors_check), then loaded
 * (jb_model_init, f32, q8_0, q4_0 or q4_k storage). Any bytes give 0 or one error, never a
 * crash, a leak or a read outside the file; and the check and the load agree, code and
 * message, so a checkpoint the plan passes never fails once the run has started.
 *
 * Seeds (tests/fuzz/corpus/safetensors, each under 4 KiB): checkpoints of this config written
 * as the safetensors library writes them: f32 (header padded to 8 bytes), bf16 (with
 * __metadata__, unpadded), f16 (header keys in another order than the data, an ignorable
 * rotary_emb.inv_freq) and mixed dtypes.
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_model.h"

/* The seeds' model: a Llama of head_dim 4 with tied embeddings. */
static const char config_json[]
    = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 8,"
      " \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
      " \"num_key_value_heads\": 1, \"vocab_size\": 16, \"max_position_embeddings\": 32,"
      " \"rope_theta\": 10000.0, \"rms_norm_eps\": 1e-05, \"tie_word_embeddings\": true,"
      " \"hidden_act\": \"silu\", \"torch_dtype\": \"float32\"}";

static char dir[256], path[300];
static struct jb_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct jb_err err;
    (void)argc;
    (void)argv;
    omp_set_num_threads(1); /* the load's parallel loops: one thread is plenty for 16 rows */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/joulebench-fuzz-st-%ld", base, (long)getpid());
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
        || jb_config_parse(config_json, sizeof config_json - 1, "config.json", &cfg, &err) != 0)
        abort();
    snprintf(cfg.name, sizeof cfg.name, "fuzz");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
    struct jb_err check = { 0 }, load = { 0 };
    struct jb_model m;
    static const enum jb_dtype dtypes[4]
        = { JB_DTYPE_F32, JB_DTYPE_Q8_0, JB_DTYPE_Q4_0, JB_DTYPE_Q4_K };
    const struct jb_model_opts o = { .dtype = dtypes[size % 4], .seed = 1 };
    const int check_rc = jb_safetensors_check(&cfg, dir, &check);
    const int load_rc = jb_model_init(&m, &cfg, dir, &o, &load);
    if (load_rc == 0)
        jb_model_free(&m);
    if (check_rc != load_rc || (check_rc && strcmp(check.msg, load.msg) != 0)) {
        fprintf(
            stderr, "check %d \"%s\" but load %d \"%s\"\n", check_rc, check.msg, load_rc, load.msg);
        abort();
    }
    unlink(path);
    return 0;
}
