/*
 * fuzz_config.c — libFuzzer target: a Hugging Face config.json parsed, then sized (parameter
 * count, memory plan, FLOP count), as joulebench does before it allocates anything.
 */
#include <stdint.h>
#include <stdlib.h>

#include "jb_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jb_config c;
    struct jb_err err;
    if (jb_config_parse((const char *)data, size, "fuzz.json", &c, &err) != 0)
        return 0;
    struct jb_mem_plan plan;
    struct jb_forward_cost cost;
    (void)jb_config_params(&c);
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        jb_mem_plan(&c, (enum jb_dtype)t, 2, c.max_position_embeddings, 64, 2, &plan);
        jb_forward_cost(&c, (enum jb_dtype)t, 64, 100, 1, &cost);
    }
    return 0;
}
