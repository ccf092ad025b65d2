/*
 * kernels.c — choosing a kernel table: the fastest this CPU supports, or one by name; and the
 * runtime check that guards the AVX-512 table (this file is compiled for any x86-64, so the
 * check itself cannot fault on a CPU without AVX-512).
 */
#include "jb_kernels.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#include "kernels_avx512.h"

struct avx512_caps {
    bool base; /* F, BW, VL and DQ, and the OS saves opmask and ZMM state */
    bool vnni, bf16;
};

/* CPUID leaf 7 subleaf 0 (EBX: F bit 16, DQ 17, BW 30, VL 31; ECX: VNNI bit 11) and subleaf 1
 * (EAX: AVX512-BF16 bit 5), and XCR0 read with xgetbv once CPUID.1:ECX.OSXSAVE (bit 27) allows:
 * bits 1, 2 (SSE and AVX state) and 5, 6, 7 (opmask, upper halves of ZMM0-15, ZMM16-31) say the
 * OS saves those registers across context switches; without them the CPU flags mean nothing. */
static struct avx512_caps avx512_probe(void)
{
    struct avx512_caps c = { false, false, false };
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27)))
        return c;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    const unsigned xcr0_need = (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7);
    if ((xcr0_lo & xcr0_need) != xcr0_need || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return c;
    const unsigned max_subleaf = eax;
    const unsigned ebx_need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    c.base = (ebx & ebx_need) == ebx_need;
    c.vnni = c.base && (ecx & (1u << 11));
    if (c.base && max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
        c.bf16 = eax & (1u << 5);
    return c;
}

static struct jb_kernel_ops avx512_ops;
static bool avx512_ok;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;

/* The AVX-512 table is the AVX2 one (every AVX-512 CPU has AVX2, FMA and F16C) with the slots
 * kernels_avx512.c overrides; built once, on first use. */
static void avx512_init(void)
{
    const struct jb_kernel_ops *avx2 = jb_kernels_avx2();
    const struct avx512_caps c = avx512_probe();
    if (!avx2 || !c.base)
        return;
    avx512_ops = *avx2;
    jb_kernels_avx512_fill(&avx512_ops, c.vnni, c.bf16);
    avx512_ok = true;
}

const struct jb_kernel_ops *jb_kernels_avx512(void)
{
    pthread_once(&avx512_once, avx512_init);
    return avx512_ok ? &avx512_ops : NULL;
}
#else
const struct jb_kernel_ops *jb_kernels_avx512(void)
{
    return NULL;
}
#endif

const struct jb_kernel_ops *jb_kernels_best(void)
{
    const struct jb_kernel_ops *k = jb_kernels_avx512();
    if (!k)
        k = jb_kernels_avx2();
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
    if (strcmp(name, "avx512") == 0)
        return jb_kernels_avx512();
    return NULL;
}

int jb_kernels_lookup(const char *name, const struct jb_kernel_ops **out, struct jb_err *err)
{
    static const struct {
        const char *name, *needs;
    } known[] = {
        { "ref", "" },
        { "avx2", "AVX2, FMA and F16C" },
        { "avx512", "AVX-512 F/BW/VL/DQ, and an OS that saves the ZMM registers: XCR0" },
    };
    if ((*out = jb_kernels_by_name(name)))
        return 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0)
            return jb_fail(err, JB_ENOTSUP,
                "kernel table \"%s\" is not supported by this CPU (it needs %s)", name,
                known[i].needs);
    return jb_fail(err, JB_EINVAL, "unknown kernel table \"%s\" (auto, ref, avx2 or avx512)", name);
}
