/*
 * kernels.c — choosing a kernel table: the fastest this CPU supports, or one by name.
 */
#include "jb_kernels.h"

#include <string.h>

const struct jb_kernel_ops *jb_kernels_best(void)
{
    const struct jb_kernel_ops *k = jb_kernels_avx2();
    return k ? k : jb_kernels_ref();
}

const struct jb_kernel_ops *jb_kernels_by_name(const char *name)
{
    if (!name || strcmp(name, "auto") == 0)
        return jb_kernels_best();
    if (strcmp(name, "ref") == 0)
        return jb_kernels_ref();
    if (strcmp(name, "avx2") == 0)
        return jb_kernels_avx2();
    return NULL;
}
