/*
 * fuzz_gguf.c — libFuzzer target: the input as a .gguf file, read as `--model FILE.gguf` reads
 * it (jb_gguf_config: header, metadata, tensor infos, every tensor checked against the config),
 * then loaded (jb_model_init, f32 or q8_0 storage). Any bytes give 0 or one error, never a
 * crash, a leak or a read outside the file; and a file whose config reads must load, so that
 * a check that passes before a run never fails once it has started.
 *
 * Seeds (tests/fuzz/corpus/gguf, each under 4 KiB): one-layer models of hidden size 8: llama
 * F32 (tied, vocab size from llama.vocab_size), qwen2 F16 with q/k/v biases and a
 * tokenizer.ggml.tokens array, llama with Q8_0 / F16 / BF16 matrices, general.alignment 16
 * and rope_freqs.weight, and phi3 (fused attn_qkv, ffn_up) with Q4_0 / BF16 / F32 matrices.
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "jb_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    omp_set_num_threads(1); /* the load's parallel loops: one thread is plenty for tiny models */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".gguf");
    struct jb_err err = { 0 };
    struct jb_config cfg;
    enum jb_dtype own;
    if (jb_gguf_config(path, &cfg, &own, &err) == 0) {
        struct jb_model m;
        const struct jb_model_opts o = { .dtype = size % 2 ? JB_DTYPE_Q8_0 : own, .seed = 1 };
        if (jb_model_init(&m, &cfg, path, &o, &err) != 0) {
            fprintf(stderr, "the config read but loading failed: %s\n", err.msg);
            abort();
        }
        jb_model_free(&m);
    }
    unlink(path);
    return 0;
}
