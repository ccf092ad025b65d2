/*
 * test_kernels.c — every kernel in jb_kernels.h against a plain reference written here (double
 * accumulation, independent fp16/bf16 decoders), on odd sizes, for every kernel path this CPU
 * has (ref, and avx2 and avx512 where supported; skipped, not passed, where not). Quantization is checked
 * bit for bit; floating-point results within stated error bounds, each explained where it is
 * chosen. Buffers carry sentinels past their end so that overruns fail too.
 */
#include "jb_test.h"

#include <float.h>
#include <omp.h>
#include <string.h>

#include "jb_cli.h"
#include "jb_run.h"
#include "kernels_avx512.h" /* jb_kernels_avx512_fill, for the table without VNNI and BF16 */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define U_F32 (1.0 / 16777216.0) /* unit roundoff of f32, 2^-24 */

/* ASSERT_CLOSE, printing a line of context (shape, index) first when it is going to fail. */
#define ASSERT_CLOSE_AT(got, want, tol, ...)                                                       \
    do {                                                                                           \
        if (!(fabs((double)(got) - (double)(want)) <= (double)(tol))) {                            \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
        }                                                                                          \
        ASSERT_CLOSE(got, want, tol);                                                              \
    } while (0)

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* fp16 bits -> value, written from the IEEE definition (not from dtype.c's bit tricks). */
static double ref_fp16_value(uint16_t h)
{
    const int e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* f32 -> bf16 round to nearest even, on the bits (non-NaN input). */
static uint16_t ref_bf16(uint32_t u)
{
    uint32_t hi = u >> 16, lo = u & 0xffffu;
    if (lo > 0x8000u || (lo == 0x8000u && (hi & 1u)))
        hi++;
    return (uint16_t)hi;
}

static bool f32_is_nan_bits(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

static bool fp16_is_nan(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

/* malloc that fails the test when out of memory. Plain malloc, not cmocka's test_malloc: a
 * failed test leaves its buffers behind, and cmocka would then abort the remaining groups;
 * overruns are caught by the sentinels below instead. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Buffers with a sentinel tail: a kernel writing past n floats changes it. */
#define SENTINEL 12345.678f
#define TAIL 8

static float *alloc_floats(int64_t n)
{
    float *p = xmalloc((size_t)(n + TAIL) * sizeof(float));
    for (int64_t i = 0; i < n + TAIL; i++)
        p[i] = SENTINEL;
    return p;
}

static void check_tail(const float *p, int64_t n, const char *what)
{
    for (int64_t i = n; i < n + TAIL; i++)
        if (f32_bits(p[i]) != f32_bits(SENTINEL))
            fail_msg("%s: wrote past its %lld values (element %lld = %.9g)", what, (long long)n,
                (long long)i, (double)p[i]);
}

/* A kernel path under test: the state of each per-path test. */
struct path {
    const char *name;
    const struct jb_kernel_ops *(*get)(void);
};
static const struct path path_ref = { "ref", jb_kernels_ref };
static const struct path path_avx2 = { "avx2", jb_kernels_avx2 };
static const struct path path_avx512 = { "avx512", jb_kernels_avx512 };

/* The avx512 table as a CPU without VNNI and AVX512-BF16 (Skylake-X) gets it: its widening
 * bf16 dot, AVX2's int8 dots, no direct GEMMs; testable on any AVX-512 CPU. */
static const struct jb_kernel_ops *avx512_base(void)
{
    static struct jb_kernel_ops k;
    if (!jb_kernels_avx512())
        return NULL;
    k = *jb_kernels_avx2();
    jb_kernels_avx512_fill(&k, false, false);
    return &k;
}
static const struct path path_avx512_base = { "avx512", avx512_base };

/* The path's kernel table, or skip() when this CPU does not have it. */
static const struct jb_kernel_ops *ops_or_skip(void **state)
{
    const struct path *p = *state;
    const struct jb_kernel_ops *k = p->get();
    if (!k) {
        JB_SKIP("kernel path %s not supported on this CPU", p->name);
    }
    assert_string_equal(k->name, p->name);
    return k;
}

/* Sizes that are not only multiples of 8 or 32: tails of every vector loop. */
static const int64_t sizes[] = { 1, 7, 31, 32, 33, 45, 100, 257, 1000, 1007 };

/* ---- scalar conversions --------------------------------------------------------------------- */

static const struct {
    float f;
    uint16_t h;
    bool exact; /* f is an fp16 value: decoding h gives f back */
} fp16_cases[] = {
    { 1.0f, 0x3c00, true },
    { -2.0f, 0xc000, true },
    { 0.0f, 0x0000, true },
    { -0.0f, 0x8000, true },
    { 65504.0f, 0x7bff, true },   /* largest finite */
    { 65519.99f, 0x7bff, false }, /* just below the halfway point to 65536 */
    { 65520.0f, 0x7c00, false },  /* halfway: ties to even, which is inf */
    { -65520.0f, 0xfc00, false },
    { 1e6f, 0x7c00, false },
    { 0.1f, 0x2e66, false },
    { 0x1p-14f, 0x0400, true },            /* smallest normal */
    { 0x1p-14f - 0x1p-24f, 0x03ff, true }, /* largest subnormal */
    { 0x1p-24f, 0x0001, true },            /* smallest subnormal */
    { 0x1p-25f, 0x0000, false },           /* half of it: tie to even (0) */
    { 0x1.000002p-25f, 0x0001, false },    /* just above the tie: rounds up */
    { 0x3p-25f, 0x0002, false },           /* 1.5 ulp: tie to even (2) */
    { 0x5p-25f, 0x0002, false },           /* 2.5 ulp: tie to even (2) */
    { -0x1p-25f, 0x8000, false },
    { 1e-10f, 0x0000, false },
    { 0x1.002p0f, 0x3c00, false },             /* 1 + half an ulp: tie to even (down) */
    { 0x1.006p0f, 0x3c02, false },             /* 1 + 1.5 ulp: tie to even (up) */
    { 0x1.0020p0f + 0x1p-23f, 0x3c01, false }, /* just above the tie: up */
    { 0x1.ffcp0f, 0x3fff, true },              /* largest below 2 */
    { 0x1.ffep0f, 0x4000, false },             /* tie with carry into the exponent */
    { 3.140625f, 0x4248, true },
    { INFINITY, 0x7c00, true },
    { -INFINITY, 0xfc00, true },
};

static void test_fp16_known_values(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(fp16_cases); c++) {
        const uint16_t got = jb_f32_to_fp16(fp16_cases[c].f);
        if (got != fp16_cases[c].h)
            fail_msg("jb_f32_to_fp16(%a) = 0x%04x, expected 0x%04x", (double)fp16_cases[c].f, got,
                fp16_cases[c].h);
        if (fp16_cases[c].exact) {
            const float back = jb_fp16_to_f32(fp16_cases[c].h);
            if (f32_bits(back) != f32_bits(fp16_cases[c].f))
                fail_msg("jb_fp16_to_f32(0x%04x) = %a, expected %a", fp16_cases[c].h, (double)back,
                    (double)fp16_cases[c].f);
        }
    }
}

static void test_fp16_nan(void **state)
{
    (void)state;
    static const uint32_t nans[]
        = { 0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xffc00000u, 0xff800001u, 0x7f802000u };
    for (size_t c = 0; c < N_OF(nans); c++) {
        const uint16_t h = jb_f32_to_fp16(bits_f32(nans[c]));
        if (!fp16_is_nan(h))
            fail_msg("jb_f32_to_fp16(NaN 0x%08x) = 0x%04x, not an fp16 NaN", nans[c], h);
        assert_int_equal(h >> 15, nans[c] >> 31); /* sign kept */
    }
    static const uint16_t hnans[] = { 0x7c01, 0x7e00, 0x7fff, 0xfc01, 0xfe00 };
    for (size_t c = 0; c < N_OF(hnans); c++)
        if (!isnan(jb_fp16_to_f32(hnans[c])))
            fail_msg("jb_fp16_to_f32(0x%04x) = %g, expected NaN", hnans[c],
                (double)jb_fp16_to_f32(hnans[c]));
}

/* Every fp16 pattern: decoding matches the IEEE definition, the generated table matches the
 * function bit for bit (both NaN for NaNs), and encoding the decoded value gives h back. */
static void test_fp16_all_patterns(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = jb_fp16_to_f32((uint16_t)h), t = jb_fp16_table[h];
        const double want = ref_fp16_value((uint16_t)h);
        if (isnan(want)) {
            if (!isnan(f) || !isnan(t))
                fail_msg("0x%04x: jb_fp16_to_f32 = %g, table = %g, expected NaN", h, (double)f,
                    (double)t);
            continue;
        }
        if (f32_bits(f) != f32_bits((float)want))
            fail_msg("jb_fp16_to_f32(0x%04x) = %a, expected %a", h, (double)f, want);
        if (f32_bits(t) != f32_bits(f))
            fail_msg("jb_fp16_table[0x%04x] = %a, expected %a", h, (double)t, (double)f);
        if (jb_f32_to_fp16(f) != h)
            fail_msg("jb_f32_to_fp16(%a) = 0x%04x, expected 0x%04x (round trip)", (double)f,
                jb_f32_to_fp16(f), h);
    }
}

#ifdef HAVE_X86
__attribute__((target("f16c"))) static uint16_t hw_f32_to_fp16(float f)
{
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static void check_fp16_vs_hw(uint32_t u)
{
    if (f32_is_nan_bits(u))
        return; /* NaN payloads differ by design; test_fp16_nan covers NaN */
    const uint16_t got = jb_f32_to_fp16(bits_f32(u)), want = hw_f32_to_fp16(bits_f32(u));
    if (got != want)
        fail_msg("jb_f32_to_fp16(%a = 0x%08x) = 0x%04x, F16C's vcvtps2ph gives 0x%04x",
            (double)bits_f32(u), u, got, want);
}
#endif

/* jb_f32_to_fp16 against the hardware conversion the avx2 path uses (F16C, round to nearest
 * even): a stride through all 2^32 patterns, every pattern in the subnormal range, and every
 * pattern whose 13 dropped mantissa bits sit at or next to a tie (where rounding goes wrong). */
static void test_fp16_matches_f16c(void **state)
{
    (void)state;
#ifdef HAVE_X86
    if (!jb_kernels_avx2()) /* the avx2 path is the one that needs F16C */
        JB_SKIP("no avx2 path (F16C) on this CPU");
    for (uint64_t u = 0; u <= 0xffffffffu; u += 251)
        check_fp16_vs_hw((uint32_t)u);
    /* every positive and negative value from below half the smallest subnormal (2^-26) to
     * just past the smallest normal (2^-13): where the subnormal path rounds */
    for (uint32_t u = 101u << 23; u < 114u << 23; u++) {
        check_fp16_vs_hw(u);
        check_fp16_vs_hw(u | 0x80000000u);
    }
    static const uint32_t low[] = { 0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff };
    for (uint32_t hi = 0; hi < (1u << 19); hi++)
        for (size_t l = 0; l < N_OF(low); l++)
            check_fp16_vs_hw(hi << 13 | low[l]);
#else
    JB_SKIP("not an x86 CPU: no F16C");
#endif
}

static const struct {
    uint32_t in;
    uint16_t out;
} bf16_cases[] = {
    { 0x3f800000u, 0x3f80 }, /* 1.0 exact */
    { 0x3f808000u, 0x3f80 }, /* tie, even below: down */
    { 0x3f818000u, 0x3f82 }, /* tie, odd below: up */
    { 0x3f808001u, 0x3f81 }, /* above the tie: up */
    { 0x3f807fffu, 0x3f80 }, /* below the tie: down */
    { 0xbf818000u, 0xbf82 }, /* negative tie, odd: away from zero */
    { 0xbf808000u, 0xbf80 }, /* negative tie, even: toward zero */
    { 0x7f7fffffu, 0x7f80 }, /* FLT_MAX rounds to inf */
    { 0x7f7f7fffu, 0x7f7f }, /* just below that tie: stays finite */
    { 0x00008000u, 0x0000 }, /* subnormal tie, even: down */
    { 0x00018000u, 0x0002 }, /* subnormal tie, odd: up */
    { 0x80000000u, 0x8000 }, /* -0 */
    { 0x7f800000u, 0x7f80 }, /* inf */
    { 0xff800000u, 0xff80 }, /* -inf */
    { 0x3fffffffu, 0x4000 }, /* carry into the exponent */
};

static void test_bf16_rounding(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(bf16_cases); c++) {
        const uint16_t got = jb_f32_to_bf16(bits_f32(bf16_cases[c].in));
        if (got != bf16_cases[c].out)
            fail_msg("jb_f32_to_bf16(0x%08x) = 0x%04x, expected 0x%04x", bf16_cases[c].in, got,
                bf16_cases[c].out);
        assert_int_equal(
            f32_bits(jb_bf16_to_f32(bf16_cases[c].out)), (uint32_t)bf16_cases[c].out << 16);
    }
    /* A stride through every pattern against the bitwise definition. */
    for (uint64_t u = 0; u <= 0xffffffffu; u += 4099) {
        if (f32_is_nan_bits((uint32_t)u))
            continue;
        const uint16_t got = jb_f32_to_bf16(bits_f32((uint32_t)u));
        if (got != ref_bf16((uint32_t)u))
            fail_msg("jb_f32_to_bf16(0x%08x) = 0x%04x, expected 0x%04x", (uint32_t)u, got,
                ref_bf16((uint32_t)u));
    }
}

/* NaN stays NaN, including payloads that truncation alone would turn into inf. */
static void test_bf16_nan(void **state)
{
    (void)state;
    static const uint32_t nans[]
        = { 0x7fc00000u, 0x7f800001u, 0x7f80ffffu, 0xff800001u, 0x7fffffffu, 0xffffffffu };
    for (size_t c = 0; c < N_OF(nans); c++) {
        const uint16_t h = jb_f32_to_bf16(bits_f32(nans[c]));
        if (!isnan(jb_bf16_to_f32(h)))
            fail_msg("jb_f32_to_bf16(NaN 0x%08x) = 0x%04x, not a NaN", nans[c], h);
        assert_int_equal(h >> 15, nans[c] >> 31);
    }
}

/* ---- dtype names and sizes ---------------------------------------------------------------- */

static const struct {
    const char *s;
    int rc;
    enum jb_dtype t;
} dtype_parse_cases[] = {
    { "f32", 0, JB_DTYPE_F32 },
    { "bf16", 0, JB_DTYPE_BF16 },
    { "q8_0", 0, JB_DTYPE_Q8_0 },
    { "q4_0", 0, JB_DTYPE_Q4_0 },
    { "q4_k", 0, JB_DTYPE_Q4_K },
    { "Q4_K", JB_EINVAL, 0 },
    { "q4", JB_EINVAL, 0 },
    { "F32", JB_EINVAL, 0 },
    { "q8", JB_EINVAL, 0 },
    { "q8_0 ", JB_EINVAL, 0 },
    { "", JB_EINVAL, 0 },
    { "fp16", JB_EINVAL, 0 },
    { NULL, JB_EINVAL, 0 },
};

static void test_dtype_parse(void **state)
{
    (void)state;
    assert_true(JB_EINVAL < 0);
    for (size_t c = 0; c < N_OF(dtype_parse_cases); c++) {
        enum jb_dtype t = JB_DTYPE_COUNT; /* must stay untouched on error */
        const int rc = jb_dtype_parse(dtype_parse_cases[c].s, &t);
        if (rc != dtype_parse_cases[c].rc)
            fail_msg("jb_dtype_parse(\"%s\") = %d, expected %d",
                dtype_parse_cases[c].s ? dtype_parse_cases[c].s : "(null)", rc,
                dtype_parse_cases[c].rc);
        assert_int_equal(t, rc == 0 ? dtype_parse_cases[c].t : JB_DTYPE_COUNT);
        if (rc == 0)
            assert_string_equal(jb_dtype_name(t), dtype_parse_cases[c].s);
    }
    assert_string_equal(jb_dtype_name(JB_DTYPE_COUNT), "?");
}

static const struct {
    enum jb_dtype t;
    int64_t n;
    size_t bytes;
} row_bytes_cases[] = {
    { JB_DTYPE_F32, 0, 0 },
    { JB_DTYPE_F32, 1, 4 },
    { JB_DTYPE_F32, 7, 28 },
    { JB_DTYPE_F32, 257, 1028 },
    { JB_DTYPE_BF16, 1, 2 },
    { JB_DTYPE_BF16, 7, 14 },
    { JB_DTYPE_BF16, 257, 514 },
    { JB_DTYPE_Q8_0, 0, 0 },
    { JB_DTYPE_Q8_0, 1, 34 },
    { JB_DTYPE_Q8_0, 31, 34 },
    { JB_DTYPE_Q8_0, 32, 34 },
    { JB_DTYPE_Q8_0, 33, 68 },
    { JB_DTYPE_Q8_0, 64, 68 },
    { JB_DTYPE_Q8_0, 257, 306 },
    { JB_DTYPE_Q8_0, 4096, 4352 },
    { JB_DTYPE_Q4_0, 1, 18 },
    { JB_DTYPE_Q4_0, 32, 18 },
    { JB_DTYPE_Q4_0, 33, 36 },
    { JB_DTYPE_Q4_0, 4096, 2304 },
    { JB_DTYPE_Q4_K, 1, 144 },
    { JB_DTYPE_Q4_K, 256, 144 },
    { JB_DTYPE_Q4_K, 257, 288 },
    { JB_DTYPE_Q4_K, 4096, 2304 },
};

static void test_dtype_row_bytes(void **state)
{
    (void)state;
    assert_int_equal(sizeof(jb_block_q8_0), 34);
    for (size_t c = 0; c < N_OF(row_bytes_cases); c++) {
        const size_t got = jb_dtype_row_bytes(row_bytes_cases[c].t, row_bytes_cases[c].n);
        if (got != row_bytes_cases[c].bytes)
            fail_msg("jb_dtype_row_bytes(%s, %lld) = %zu, expected %zu",
                jb_dtype_name(row_bytes_cases[c].t), (long long)row_bytes_cases[c].n, got,
                row_bytes_cases[c].bytes);
    }
}

/* ---- q8_0 reference ------------------------------------------------------------------------ */

/* One block as the header specifies: amax over the len valid values, d = amax/127 (f32),
 * id = d ? 1/d : 0, q = round-half-even(x * id), zeros past len. Returns d. */
static float ref_quantize_block(const float *x, int64_t len, int8_t qs[JB_QK8_0])
{
    float amax = 0.0f;
    for (int64_t i = 0; i < len; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    if (amax / 127.0f < FLT_MIN) { /* 1/d would overflow: the block is stored as zeros */
        memset(qs, 0, JB_QK8_0);
        return 0.0f;
    }
    const float d = amax / 127.0f;
    const float id = 1.0f / d;
    for (int64_t i = 0; i < JB_QK8_0; i++)
        qs[i] = i < len ? (int8_t)rintf(x[i] * id) : 0;
    return d;
}

static int64_t block_len(int64_t n, int64_t b)
{
    return n - b * JB_QK8_0 < JB_QK8_0 ? n - b * JB_QK8_0 : JB_QK8_0;
}

static int64_t n_blocks(int64_t n)
{
    return (n + JB_QK8_0 - 1) / JB_QK8_0;
}

static void ref_quantize_q8_0(const float *x, jb_block_q8_0 *out, int64_t n)
{
    for (int64_t b = 0; b < n_blocks(n); b++)
        out[b].d = jb_f32_to_fp16(ref_quantize_block(x + b * JB_QK8_0, block_len(n, b), out[b].qs));
}

static void ref_quantize_q8_x(const float *x, jb_block_q8_x *out, int64_t n)
{
    for (int64_t b = 0; b < n_blocks(n); b++) {
        out[b].d = ref_quantize_block(x + b * JB_QK8_0, block_len(n, b), out[b].qs);
        out[b].sum = 0;
        for (int i = 0; i < JB_QK8_0; i++) {
            out[b].aqs[i] = (uint8_t)abs(out[b].qs[i]);
            out[b].sum += out[b].qs[i];
        }
    }
}

/* Input patterns per block of 32: random, all zeros, one large value among small ones (most
 * round to 0 or ±1), tiny values (the fp16 scale underflows to 0), values below 127 * FLT_MIN
 * (1/d would overflow: the block must come out as zeros, not garbage), exact halves (ties),
 * or all of these in turn (MIXED). */
enum pattern { PAT_RANDOM, PAT_ZEROS, PAT_SPIKE, PAT_TINY, PAT_SUBNORMAL, PAT_TIES, PAT_MIXED };

static float pattern_value(enum pattern p, int64_t n, int64_t i, float r)
{
    const int64_t b = i / JB_QK8_0, j = i % JB_QK8_0, len = block_len(n, b);
    const float sign = (b & 1) ? -1.0f : 1.0f;
    switch (p) {
    case PAT_ZEROS: return 0.0f;
    case PAT_SPIKE: return j == (b * 7) % len ? 1000.0f * sign : 8.0f * r;
    case PAT_TINY: return 1e-30f * r;
    case PAT_SUBNORMAL: return 1e-37f * r;
    case PAT_TIES: /* amax 127 gives d = 1, id = 1: x * id is exact, halves are true ties */
        return j == 0 ? 127.0f * sign : (float)(j - 16) + 0.5f;
    case PAT_MIXED: return pattern_value((enum pattern)(b % PAT_MIXED), n, i, r);
    default: return 3.0f * r;
    }
}

static void fill_pattern(float *x, int64_t n, enum pattern p, uint64_t seed)
{
    jb_test_fill(x, n, seed, 1.0f);
    for (int64_t i = 0; i < n; i++)
        x[i] = pattern_value(p, n, i, x[i]);
}

static const struct {
    int64_t n;
    enum pattern p;
} quant_cases[] = {
    { 1, PAT_RANDOM },
    { 1, PAT_ZEROS },
    { 7, PAT_RANDOM },
    { 31, PAT_SPIKE },
    { 32, PAT_TIES },
    { 33, PAT_MIXED },
    { 45, PAT_RANDOM },
    { 64, PAT_ZEROS },
    { 100, PAT_MIXED },
    { 257, PAT_SPIKE },
    { 257, PAT_TIES },
    { 257, PAT_TINY },
    { 33, PAT_SUBNORMAL },
    { 1000, PAT_MIXED },
    { 1000, PAT_RANDOM },
    { 1007, PAT_MIXED },
};

/* Properties that hold whatever the reference says: |q| <= 127, the largest value maps to
 * ±127, and d*q is within d/2 of x (plus f32 rounding of x*id). */
static void check_q8_properties(const float *x, int64_t n, int64_t b, float d, const int8_t *qs)
{
    const int64_t len = block_len(n, b);
    float amax = 0.0f;
    for (int64_t i = 0; i < len; i++)
        amax = fmaxf(amax, fabsf(x[b * JB_QK8_0 + i]));
    if (d == 0.0f) { /* zeros, or a block flushed to zero below 127 * FLT_MIN */
        ASSERT_LE(amax, 127.0f * FLT_MIN);
        for (int64_t i = 0; i < JB_QK8_0; i++)
            assert_int_equal(qs[i], 0);
        return;
    }
    for (int64_t i = 0; i < JB_QK8_0; i++) {
        assert_true(qs[i] >= -127 && qs[i] <= 127);
        if (i >= len) {
            assert_int_equal(qs[i], 0);
            continue;
        }
        const float xi = x[b * JB_QK8_0 + i];
        if (amax > 0.0f && fabsf(xi) == amax)
            assert_int_equal(abs(qs[i]), 127);
        ASSERT_CLOSE_AT((double)d * qs[i], xi, (double)d * (0.5 + 1e-4),
            "n=%lld block %lld element %lld", (long long)n, (long long)b, (long long)i);
    }
}

static void test_quantize_q8_0(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t c = 0; c < N_OF(quant_cases); c++) {
        const int64_t n = quant_cases[c].n, nb = n_blocks(n);
        float *x = alloc_floats(n);
        jb_block_q8_0 *got = xmalloc((size_t)(nb + 1) * sizeof *got);
        jb_block_q8_0 *want = xmalloc((size_t)nb * sizeof *want);
        fill_pattern(x, n, quant_cases[c].p, 100 + c);
        memset(got, 0xa5, (size_t)(nb + 1) * sizeof *got);
        k->quantize_q8_0(x, got, n);
        ref_quantize_q8_0(x, want, n);
        for (int64_t b = 0; b < nb; b++) {
            if (got[b].d != want[b].d)
                fail_msg("n=%lld pattern %d block %lld: d = 0x%04x, expected 0x%04x", (long long)n,
                    quant_cases[c].p, (long long)b, got[b].d, want[b].d);
            for (int i = 0; i < JB_QK8_0; i++)
                if (got[b].qs[i] != want[b].qs[i])
                    fail_msg("n=%lld pattern %d block %lld: qs[%d] = %d, expected %d", (long long)n,
                        quant_cases[c].p, (long long)b, i, got[b].qs[i], want[b].qs[i]);
        }
        const unsigned char *past = (const unsigned char *)&got[nb];
        for (size_t i = 0; i < sizeof *got; i++)
            assert_int_equal(past[i], 0xa5); /* nothing written past ceil(n/32) blocks */
        free(want);
        free(got);
        free(x);
    }
}

static void test_quantize_q8_x(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t c = 0; c < N_OF(quant_cases); c++) {
        const int64_t n = quant_cases[c].n, nb = n_blocks(n);
        float *x = alloc_floats(n);
        jb_block_q8_x *got = xmalloc((size_t)(nb + 1) * sizeof *got);
        jb_block_q8_x *want = xmalloc((size_t)nb * sizeof *want);
        fill_pattern(x, n, quant_cases[c].p, 200 + c);
        memset(got, 0xa5, (size_t)(nb + 1) * sizeof *got);
        k->quantize_q8_x(x, got, n);
        ref_quantize_q8_x(x, want, n);
        for (int64_t b = 0; b < nb; b++) {
            if (f32_bits(got[b].d) != f32_bits(want[b].d))
                fail_msg("n=%lld pattern %d block %lld: d = %a, expected %a", (long long)n,
                    quant_cases[c].p, (long long)b, (double)got[b].d, (double)want[b].d);
            for (int i = 0; i < JB_QK8_0; i++)
                if (got[b].qs[i] != want[b].qs[i] || got[b].aqs[i] != want[b].aqs[i])
                    fail_msg("n=%lld pattern %d block %lld: qs[%d] = %d (|q| %u), expected %d "
                             "(|q| %u)",
                        (long long)n, quant_cases[c].p, (long long)b, i, got[b].qs[i],
                        got[b].aqs[i], want[b].qs[i], want[b].aqs[i]);
            if (got[b].sum != want[b].sum)
                fail_msg("n=%lld pattern %d block %lld: sum %d, expected %d", (long long)n,
                    quant_cases[c].p, (long long)b, got[b].sum, want[b].sum);
            check_q8_properties(x, n, b, got[b].d, got[b].qs);
        }
        const unsigned char *past = (const unsigned char *)&got[nb];
        for (size_t i = 0; i < sizeof *got; i++)
            assert_int_equal(past[i], 0xa5);
        free(want);
        free(got);
        free(x);
    }
}

/* The ties pattern pins round-half-even explicitly (not just "whatever the reference does"):
 * x = j - 15.5 with d = 1 must give the even neighbour. */
static void test_quantize_ties_even(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    float x[JB_QK8_0];
    jb_block_q8_0 w;
    jb_block_q8_x a;
    fill_pattern(x, JB_QK8_0, PAT_TIES, 1);
    k->quantize_q8_0(x, &w, JB_QK8_0);
    k->quantize_q8_x(x, &a, JB_QK8_0);
    assert_int_equal(w.d, 0x3c00); /* 1.0 */
    ASSERT_CLOSE(a.d, 1.0, 0);
    for (int j = 1; j < JB_QK8_0; j++) {
        const double v = j - 15.5, lo = floor(v), even = fmod(lo, 2.0) == 0.0 ? lo : lo + 1.0;
        if (w.qs[j] != (int)even || a.qs[j] != (int)even)
            fail_msg("quantizing %.1f gave %d (q8_0) and %d (q8_x), expected %d", v, w.qs[j],
                a.qs[j], (int)even);
    }
}

/* ---- conversions to f32 ------------------------------------------------------------------- */

static void test_dequant_q8_0(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s], nb = n_blocks(n);
        jb_block_q8_0 *w = xmalloc((size_t)nb * sizeof *w);
        uint64_t rng = 300 + s;
        for (int64_t b = 0; b < nb; b++) { /* any finite scale, normal or subnormal */
            uint16_t d;
            do
                d = (uint16_t)jb_rng_next(&rng);
            while ((d & 0x7c00) == 0x7c00);
            w[b].d = d;
            for (int i = 0; i < JB_QK8_0; i++)
                w[b].qs[i] = (int8_t)((int)(jb_rng_next(&rng) % 255) - 127);
        }
        float *out = alloc_floats(n);
        k->dequant_q8_0(w, out, n);
        for (int64_t i = 0; i < n; i++) {
            const jb_block_q8_0 *blk = &w[i / JB_QK8_0];
            /* fp16 (11 bits) times int8 (8 bits) is exact in f32 */
            const double want = ref_fp16_value(blk->d) * blk->qs[i % JB_QK8_0];
            ASSERT_CLOSE_AT(out[i], want, 0, "n=%lld i=%lld", (long long)n, (long long)i);
        }
        check_tail(out, n, "dequant_q8_0");
        free(out);
        free(w);
    }
}

static void test_bf16_to_f32(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        uint16_t *w = xmalloc((size_t)n * sizeof *w);
        uint64_t rng = 400 + s;
        for (int64_t i = 0; i < n; i++)
            w[i] = (uint16_t)jb_rng_next(&rng); /* any pattern, NaNs included: bits compared */
        float *out = alloc_floats(n);
        k->bf16_to_f32(w, out, n);
        for (int64_t i = 0; i < n; i++)
            if (f32_bits(out[i]) != (uint32_t)w[i] << 16)
                fail_msg("n=%lld: bf16_to_f32(0x%04x) = 0x%08x, expected 0x%08x", (long long)n,
                    w[i], f32_bits(out[i]), (uint32_t)w[i] << 16);
        check_tail(out, n, "bf16_to_f32");
        free(out);
        free(w);
    }
}

static void test_row_from_f32(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        float *x = alloc_floats(n);
        fill_pattern(x, n, PAT_MIXED, 500 + s);
        /* f32: a copy */
        float *f = alloc_floats(n);
        jb_row_from_f32(JB_DTYPE_F32, f, x, n);
        assert_memory_equal(f, x, (size_t)n * sizeof(float));
        check_tail(f, n, "jb_row_from_f32(f32)");
        /* bf16: each value rounded to nearest even */
        uint16_t *h = xmalloc((size_t)n * sizeof *h);
        jb_row_from_f32(JB_DTYPE_BF16, h, x, n);
        for (int64_t i = 0; i < n; i++)
            assert_int_equal(h[i], ref_bf16(f32_bits(x[i])));
        /* q8_0: the quantizer */
        jb_block_q8_0 *got = xmalloc((size_t)n_blocks(n) * sizeof *got);
        jb_block_q8_0 *want = xmalloc((size_t)n_blocks(n) * sizeof *want);
        jb_row_from_f32(JB_DTYPE_Q8_0, got, x, n);
        ref_quantize_q8_0(x, want, n);
        assert_memory_equal(got, want, (size_t)n_blocks(n) * sizeof *got);
        free(want);
        free(got);
        free(h);
        free(f);
        free(x);
    }
}

/* ---- reductions ------------------------------------------------------------------------------ */

/* Rigorous bound for an f32 sum of n terms in any order (Higham's gamma_n = n*u/(1 - n*u)),
 * never below 1e-5 relative: |err| <= (1e-5 + n*u) * sum|terms| + 1e-6. */
static double sum_tol(int64_t n, double abs_sum)
{
    return (1e-5 + (double)(n + 1) * U_F32) * abs_sum + 1e-6;
}

static void test_sum_f32(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        float *a = alloc_floats(n);
        jb_test_fill(a, n, 600 + s, 2.0f);
        double want = 0.0, abs_sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            want += a[i];
            abs_sum += fabs(a[i]);
        }
        ASSERT_CLOSE_AT(k->sum_f32(a, n), want, sum_tol(n, abs_sum), "n=%lld", (long long)n);
        /* all ones: exact for any order */
        for (int64_t i = 0; i < n; i++)
            a[i] = 1.0f;
        ASSERT_CLOSE_AT(k->sum_f32(a, n), (double)n, 0, "n=%lld of ones", (long long)n);
        free(a);
    }
}

static void test_dot_f32(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        float *a = alloc_floats(n), *b = alloc_floats(n);
        jb_test_fill(a, n, 700 + s, 1.0f);
        jb_test_fill(b, n, 800 + s, 3.0f);
        double want = 0.0, abs_sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            want += (double)a[i] * b[i];
            abs_sum += fabs((double)a[i] * b[i]);
        }
        ASSERT_CLOSE_AT(k->dot_f32(a, b, n), want, sum_tol(n, abs_sum), "n=%lld", (long long)n);
        free(b);
        free(a);
    }
}

/* A table whose bf16 kernels round the activations to bf16 (vdpbf16ps: "bf16" among its
 * features): each |x~ - x| <= 2^-8 |x|, products of two bf16 exact in f32, so
 * |y - x.w| <= 2^-8 sum|w x| + gamma_n (1 + 2^-8) sum|w x|; BF16_X_TOL adds 1e-5 absolute. */
#define BF16_X_TOL(cols, abs_wx) ((0x1p-8 + 1.01 * (double)((cols) + 1) * U_F32) * (abs_wx) + 1e-5)

static bool rounds_x_to_bf16(const struct jb_kernel_ops *k)
{
    return k->features && strstr(k->features, "bf16");
}

static void test_dot_bf16(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        float *wf = alloc_floats(n), *x = alloc_floats(n);
        uint16_t *w = xmalloc((size_t)n * sizeof *w);
        jb_test_fill(wf, n, 900 + s, 1.0f);
        jb_test_fill(x, n, 1000 + s, 3.0f);
        for (int64_t i = 0; i < n; i++)
            w[i] = jb_f32_to_bf16(wf[i]);
        double want = 0.0, abs_sum = 0.0, want_xb = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const double p = (double)bits_f32((uint32_t)w[i] << 16) * x[i];
            want += p;
            abs_sum += fabs(p);
            want_xb += (double)bits_f32((uint32_t)w[i] << 16)
                * bits_f32((uint32_t)ref_bf16(f32_bits(x[i])) << 16);
        }
        const float got = k->dot_bf16(w, x, n);
        if (rounds_x_to_bf16(k)) { /* near x.w, and equal to the sum over bf16(x) */
            ASSERT_CLOSE_AT(got, want, BF16_X_TOL(n, abs_sum), "n=%lld (bound)", (long long)n);
            ASSERT_CLOSE_AT(got, want_xb, sum_tol(n, abs_sum), "n=%lld (bf16 x)", (long long)n);
        } else {
            ASSERT_CLOSE_AT(got, want, sum_tol(n, abs_sum), "n=%lld", (long long)n);
        }
        free(w);
        free(x);
        free(wf);
    }
}

/* Exact integer reference of a q8_0 dot: sum_b (sum_i wq*xq) * fp16(w.d) * x.d in double, and
 * the scale of its rounding error (sum of |terms|). */
static double ref_dot_q8_0(
    const jb_block_q8_0 *w, const jb_block_q8_x *x, int64_t nb, double *abs_sum)
{
    double sum = 0.0;
    *abs_sum = 0.0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t isum = 0, iabs = 0;
        for (int i = 0; i < JB_QK8_0; i++) {
            isum += (int64_t)w[b].qs[i] * x[b].qs[i];
            iabs += llabs((int64_t)w[b].qs[i] * x[b].qs[i]);
        }
        const double scale = ref_fp16_value(w[b].d) * (double)x[b].d;
        sum += (double)isum * scale;
        *abs_sum += (double)iabs * fabs(scale);
    }
    return sum;
}

/* The integer block sums are exact in f32 (|sum| <= 32 * 127^2 < 2^24); what rounds is the
 * scale product, the block product and the accumulation: nb + 2 roundings per term. */
static double q8_dot_tol(int64_t nb, double abs_sum)
{
    return (1e-5 + (double)(nb + 2) * U_F32) * abs_sum + 1e-12;
}

static void test_dot_q8_0(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s], nb = n_blocks(n);
        float *wf = alloc_floats(n), *x = alloc_floats(n);
        fill_pattern(wf, n, PAT_MIXED, 1100 + s);
        jb_test_fill(x, n, 1200 + s, 2.0f);
        jb_block_q8_0 *w = xmalloc((size_t)nb * sizeof *w);
        jb_block_q8_x *qx = xmalloc((size_t)nb * sizeof *qx);
        k->quantize_q8_0(wf, w, n); /* bit-exact with the reference (test_quantize_*) */
        k->quantize_q8_x(x, qx, n);
        double abs_sum;
        const double want = ref_dot_q8_0(w, qx, nb, &abs_sum);
        ASSERT_CLOSE_AT(
            k->dot_q8_0(w, qx, nb), want, q8_dot_tol(nb, abs_sum), "n=%lld", (long long)n);
        free(qx);
        free(w);
        free(x);
        free(wf);
    }
}

/* Products at the int8 extremes, every sign combination: 127*127 pairs must not saturate the
 * int16 pair sums of maddubs, and -127 * -127 must come out positive. */
static void test_dot_q8_0_extremes(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    enum { NB = 5 };
    jb_block_q8_0 w[NB];
    jb_block_q8_x x[NB];
    for (int b = 0; b < NB; b++) {
        w[b].d = jb_f32_to_fp16(0.5f * (float)(b + 1));
        x[b].d = 0.25f * (float)(b + 1);
        for (int i = 0; i < JB_QK8_0; i++) {
            const int ws = (b == 0 || (b >= 2 && (i & 1))) ? 1 : -1;
            const int xs = (b == 1 || (b >= 3 && (i & 2))) ? -1 : 1;
            w[b].qs[i] = (int8_t)(127 * ws);
            x[b].qs[i] = (int8_t)(b == 4 && i % 5 == 0 ? 0 : 127 * xs);
            x[b].aqs[i] = (uint8_t)abs(x[b].qs[i]);
        }
    }
    for (int64_t nb = 1; nb <= NB; nb++) {
        double abs_sum;
        const double want = ref_dot_q8_0(w, x, nb, &abs_sum);
        ASSERT_CLOSE_AT(
            k->dot_q8_0(w, x, nb), want, q8_dot_tol(nb, abs_sum), "%lld blocks", (long long)nb);
    }
}

/* ---- 4-bit weights: q4_0 and q4_K ----------------------------------------------------------- */

/* Decoders written here from llama.cpp's layouts (jb_kernels.h), independent of the kernels. */
static int tq4_0_code(const jb_block_q4_0 *b, int j)
{
    return j < 16 ? b->qs[j] & 15 : b->qs[j - 16] >> 4;
}

static int tq4_k_code(const jb_block_q4_k *b, int i)
{
    const int byte = b->qs[(i / 64) * 32 + i % 32];
    return (i % 64) < 32 ? byte & 15 : byte >> 4;
}

/* 6-bit scale and min of sub-block j: j < 4 in the low 6 bits of bytes j and j + 4; j >= 4 the
 * low 4 bits in byte j + 4 (scale low nibble, min high nibble), the top 2 bits in the top bits
 * of bytes j - 4 (scale) and j (min). */
static void tq4_k_scale_min(const jb_block_q4_k *b, int j, int *sc, int *m)
{
    const uint8_t *s = b->scales;
    *sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
    *m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | (s[j] >> 6) << 4;
}

/* Weight i of a q4_K row as the kernels must produce it: (d*sc)*q and dmin*m are exact in f32
 * (11-bit scale times 6 bits times 4 bits), so the one rounding is their f32 difference. */
static float tq4_k_value(const jb_block_q4_k *row, int64_t i)
{
    const jb_block_q4_k *b = &row[i / JB_QK_K];
    int sc, m;
    tq4_k_scale_min(b, (int)(i % JB_QK_K) / 32, &sc, &m);
    const float dlq = (float)(ref_fp16_value(b->d) * sc * tq4_k_code(b, (int)(i % JB_QK_K)));
    return dlq - (float)(ref_fp16_value(b->dmin) * m);
}

/* Weight i of a q4_0 row: fp16 scale times a code in [-8, 7], exact in f32. */
static float tq4_0_value(const jb_block_q4_0 *row, int64_t i)
{
    const jb_block_q4_0 *b = &row[i / JB_QK4_0];
    return (float)(ref_fp16_value(b->d) * (tq4_0_code(b, (int)(i % JB_QK4_0)) - 8));
}

/* Exact reference of a q4 dot in double and the scale of its rounding error, as ref_dot_q8_0:
 * per activation block, sum(code * xq) times the scales, minus for q4_K the sub-block min times
 * sum(xq). The error scale sums |code * xq| element by element (a vector path rounds partial
 * sums of any subset; for q4_0 with the offset split off, |q xq| + 8 |xq|) and
 * |sum(xq) * min scale|. nb activation blocks; the weight row may span
 * more (q4_K pads to 8 per super-block), those count as zero activations. Each block adds two
 * rounded terms. */
static double ref_dot_q4(enum jb_dtype t, const void *w, const jb_block_q8_x *x, int64_t nb,
    int64_t nw, double *abs_sum)
{
    double sum = 0.0;
    *abs_sum = 0.0;
    for (int64_t b = 0; b < nb && b < nw; b++) {
        int64_t isum = 0, iabs = 0, xsum = 0;
        double scale, mscale = 0.0;
        if (t == JB_DTYPE_Q4_0) {
            const jb_block_q4_0 *wb = (const jb_block_q4_0 *)w + b;
            for (int i = 0; i < 32; i++) {
                isum += (int64_t)(tq4_0_code(wb, i) - 8) * x[b].qs[i];
                /* |q x| + 8 |x|: bounds both sum((q - 8) x) and sum(q x) - 8 sum(x) */
                iabs += llabs((int64_t)tq4_0_code(wb, i) * x[b].qs[i]) + 8 * llabs(x[b].qs[i]);
            }
            scale = ref_fp16_value(wb->d) * (double)x[b].d;
        } else {
            const jb_block_q4_k *wb = (const jb_block_q4_k *)w + b / 8;
            int sc, m;
            tq4_k_scale_min(wb, (int)(b % 8), &sc, &m);
            for (int i = 0; i < 32; i++) {
                isum += (int64_t)tq4_k_code(wb, (int)(b % 8) * 32 + i) * x[b].qs[i];
                iabs += llabs((int64_t)tq4_k_code(wb, (int)(b % 8) * 32 + i) * x[b].qs[i]);
                xsum += x[b].qs[i];
            }
            scale = ref_fp16_value(wb->d) * sc * (double)x[b].d;
            mscale = ref_fp16_value(wb->dmin) * m * (double)x[b].d;
        }
        sum += (double)isum * scale - (double)xsum * mscale;
        *abs_sum += (double)iabs * fabs(scale) + fabs((double)xsum * mscale);
    }
    return sum;
}

/* Hand-written bytes: a q4_0 block with d = 0.5 (fp16 0x3800, little-endian 00 38) whose byte
 * j holds j (low nibble, value j) and 15 - j (high nibble, value j + 16): values 0.5 * (j - 8)
 * and 0.5 * (7 - j). */
static void test_q4_0_layout(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    uint8_t raw[18] = { 0x00, 0x38 };
    for (int j = 0; j < 16; j++)
        raw[2 + j] = (uint8_t)(j | (15 - j) << 4);
    jb_block_q4_0 b;
    memcpy(&b, raw, sizeof raw);
    float out[32];
    k->dequant_q4_0(&b, out, 32);
    for (int j = 0; j < 16; j++) {
        ASSERT_CLOSE_AT(out[j], 0.5 * (j - 8), 0, "value %d", j);
        ASSERT_CLOSE_AT(out[j + 16], 0.5 * (7 - j), 0, "value %d", j + 16);
    }
    /* a one-hot activation block (d = 0.25, q = 4 at position i) reads value i back */
    for (int i = 0; i < 32; i++) {
        jb_block_q8_x x = { .d = 0.25f, .sum = 4 };
        x.qs[i] = 4;
        x.aqs[i] = 4;
        ASSERT_CLOSE_AT(k->dot_q4_0(&b, &x, 1), out[i], 0, "one-hot %d", i);
    }
}

/* A q4_K block packed by hand: d = 1 (3c00), dmin = 0.5 (3800), sub-block scales
 * 1 2 3 63 17 33 48 5 and mins 0 4 63 1 18 35 50 62, packed into the 12 bytes as llama.cpp's
 * get_scale_min_k4 reads them (worked out on paper in the comments); code of weight i is
 * l % 16 in low nibbles and 15 - l % 16 in high nibbles (l = i % 32). */
static void test_q4_k_layout(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    static const int sc[8] = { 1, 2, 3, 63, 17, 33, 48, 5 }, m[8] = { 0, 4, 63, 1, 18, 35, 50, 62 };
    uint8_t raw[144] = {
        0x00, 0x3c, 0x00, 0x38,
        0x41, 0x82, 0xc3, 0x3f, /* sc0-3 | (sc4-7 >> 4) << 6: 1|1<<6, 2|2<<6, 3|3<<6, 63|0 */
        0x40, 0x84, 0xff, 0xc1, /* m0-3 | (m4-7 >> 4) << 6: 0|1<<6, 4|2<<6, 63|3<<6, 1|3<<6 */
        0x21, 0x31, 0x20, 0xe5, /* (sc4-7 & 15) | (m4-7 & 15) << 4: 1|2, 1|3, 0|2, 5|14 */
    };
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            raw[16 + 32 * c + l] = (uint8_t)(l % 16 | (15 - l % 16) << 4);
    jb_block_q4_k b;
    memcpy(&b, raw, sizeof raw);
    for (int s = 0; s < 8; s++) {
        uint8_t gsc, gm;
        jb_q4_k_scale_min(b.scales, s, &gsc, &gm);
        assert_int_equal(gsc, sc[s]);
        assert_int_equal(gm, m[s]);
    }
    float out[256];
    k->dequant_q4_k(&b, out, 256);
    for (int i = 0; i < 256; i++) {
        const int s = i / 32, l = i % 32, q = (i % 64) < 32 ? l % 16 : 15 - l % 16;
        ASSERT_CLOSE_AT(out[i], 1.0 * sc[s] * q - 0.5 * m[s], 0, "value %d", i);
    }
    /* one-hot activations, each in its own sub-block: blocks other than i's are zero */
    jb_block_q8_x x[8];
    for (int i = 0; i < 256; i += 37) {
        memset(x, 0, sizeof x);
        x[i / 32].d = 0.5f;
        x[i / 32].qs[i % 32] = 2;
        x[i / 32].aqs[i % 32] = 2;
        x[i / 32].sum = 2;
        ASSERT_CLOSE_AT(k->dot_q4_k(&b, x, 1), out[i], 0, "one-hot %d", i);
    }
}

static const struct {
    int64_t n;
    enum pattern p;
} q4_cases[] = {
    { 1, PAT_RANDOM },
    { 31, PAT_SPIKE },
    { 32, PAT_ZEROS },
    { 33, PAT_MIXED },
    { 255, PAT_RANDOM },
    { 256, PAT_SPIKE },
    { 257, PAT_MIXED },
    { 257, PAT_TINY },
    { 1000, PAT_MIXED },
    { 1000, PAT_TIES },
    { 1007, PAT_RANDOM },
};

/* fp16 rounding error of a value v >= 0 stored as fp16: relative 2^-11 for normals, at most
 * 2^-25 absolute below 2^-14 (subnormals, or 0). */
static double fp16_err(double v)
{
    return fmax(v * ldexp(1.0, -11), ldexp(1.0, -25));
}

/* q4_0, derived bound. Per block m is the value of largest magnitude and d = fp16(m / -8), so
 * D = |d| is |m|/8 within fp16_err and every |x| <= |m| <= 8 (D + e). In units of d, x/d lies
 * in [-8 - 8e/D, 8 + 8e/D]; codes reach -8..7 (m's side gets -8). An x with x/d in [-8.5, 7.5]
 * is rounded to the nearest code: |x - x'| <= D/2 (plus f32 rounding of x/d: 2^-20 D). Beyond
 * 7.5 it is clamped to 7: |x - x'| <= D (1 + 8e/D) + 2^-20 D. D = 0 (an all-zero block, or one
 * whose scale underflows fp16) stores code 8 everywhere; then |x| <= 8e. Padding is code 8. */
static void check_q4_0_block(const float *x, int64_t len, const jb_block_q4_0 *b, const char *ctx)
{
    double amax = 0.0, m = 0.0;
    for (int64_t i = 0; i < len; i++)
        if (fabs(x[i]) > amax) {
            amax = fabs(x[i]);
            m = x[i];
        }
    assert_int_equal(b->d, jb_f32_to_fp16((float)m / -8.0f));
    const double d = ref_fp16_value(b->d), D = fabs(d), e = fp16_err(amax / 8.0);
    for (int i = 0; i < 32; i++) {
        const float xi = i < len ? x[i] : 0.0f;
        const double got = (double)(tq4_0_code(b, i) - 8) * d;
        if (D == 0.0) {
            assert_int_equal(tq4_0_code(b, i), 8);
            ASSERT_LE(fabs(xi), 8.0 * e);
            continue;
        }
        const double t = xi / d;
        const double tol = (t >= -8.5 && t <= 7.5) ? D * (0.5 + ldexp(1.0, -20))
                                                   : D * (1.0 + ldexp(1.0, -20)) + 8.0 * e;
        ASSERT_CLOSE_AT(got, xi, tol, "%s element %d (x/d = %.3f)", ctx, i, t);
        if (i < len && xi == m)
            assert_int_equal(tq4_0_code(b, i), 0); /* m itself is exact: -8 d */
    }
}

/* q4_K, derived bound. Sub-block j spans [lo, hi] = [min(0, min x), max(0, max x)]; s = (hi -
 * lo)/15 and mu = -lo. The quantizer stores D = fp16(max s / 63), M = fp16(max mu / 63) and
 * 6-bit sc = round(s / D), m = round(mu / M), so dl = D sc and dm = M m satisfy
 * |dl - s| <= D/2 + 63 eD and |dm - mu| <= M/2 + 63 eM (eD, eM: fp16 rounding of the scales;
 * the 63 covers a clamp at 63 or a scale rounded to 0). Codes 0..15 cover [-dm, 15 dl - dm]:
 * below, lo >= -dm - (M/2 + 63 eM); above, hi <= 15 dl - dm + 15 (D/2 + 63 eD) + M/2 + 63 eM;
 * inside, the nearest code is within dl/2. So |x - x'| <= dl/2 + 15 (D/2 + 63 eD) + M/2 + 63 eM
 * with dl <= s + D/2 + 63 eD, plus f32 rounding (2^-18 of the sub-block's range). */
static void check_q4_k_block(const float *x, int64_t len, const jb_block_q4_k *b, const char *ctx)
{
    double s[8], mu[8], smax = 0.0, mumax = 0.0;
    for (int j = 0; j < 8; j++) {
        double lo = 0.0, hi = 0.0;
        for (int64_t i = 32 * j; i < 32 * j + 32 && i < len; i++) {
            lo = fmin(lo, x[i]);
            hi = fmax(hi, x[i]);
        }
        s[j] = (hi - lo) / 15.0;
        mu[j] = -lo;
        smax = fmax(smax, s[j]);
        mumax = fmax(mumax, mu[j]);
    }
    const double D = ref_fp16_value(b->d), M = ref_fp16_value(b->dmin);
    /* fp16 rounding of the scales the quantizer computed in f32 (2^-20: its f32 roundings) */
    const double eD = fp16_err(smax / 63.0) + ldexp(smax / 63.0, -20);
    const double eM = fp16_err(mumax / 63.0) + ldexp(mumax / 63.0, -20);
    for (int j = 0; j < 8; j++) {
        const double dl_max = s[j] + D / 2.0 + 63.0 * eD;
        const double tol = dl_max / 2.0 + 15.0 * (D / 2.0 + 63.0 * eD) + M / 2.0 + 63.0 * eM
            + ldexp(15.0 * s[j] + mu[j], -18);
        for (int i = 32 * j; i < 32 * j + 32; i++) {
            const float xi = i < len ? x[i] : 0.0f;
            ASSERT_CLOSE_AT(tq4_k_value(b, i), xi, tol, "%s element %d", ctx, i);
        }
    }
}

/* The quantizers (load time, one reference each): jb_row_from_f32 is them, and the decoded
 * values keep the derived bounds above, partial last blocks zero-padded. */
static void test_quantize_q4(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(q4_cases); c++) {
        const int64_t n = q4_cases[c].n, nb0 = (n + 31) / 32, nbk = (n + 255) / 256;
        float *x = alloc_floats(n);
        fill_pattern(x, n, q4_cases[c].p, 700 + c);
        jb_block_q4_0 *w0 = xmalloc((size_t)nb0 * sizeof *w0);
        jb_block_q4_0 *r0 = xmalloc((size_t)nb0 * sizeof *r0);
        jb_block_q4_k *wk = xmalloc((size_t)nbk * sizeof *wk);
        jb_block_q4_k *rk = xmalloc((size_t)nbk * sizeof *rk);
        jb_row_from_f32(JB_DTYPE_Q4_0, w0, x, n);
        jb_row_from_f32(JB_DTYPE_Q4_K, wk, x, n);
        jb_ref_quantize_q4_0(x, r0, n);
        jb_ref_quantize_q4_k(x, rk, n);
        assert_memory_equal(w0, r0, (size_t)nb0 * sizeof *w0);
        assert_memory_equal(wk, rk, (size_t)nbk * sizeof *wk);
        char ctx[96];
        for (int64_t b = 0; b < nb0; b++) {
            snprintf(ctx, sizeof ctx, "q4_0 n=%lld pattern %d block %lld", (long long)n,
                q4_cases[c].p, (long long)b);
            check_q4_0_block(x + 32 * b, n - 32 * b < 32 ? n - 32 * b : 32, &w0[b], ctx);
        }
        for (int64_t b = 0; b < nbk; b++) {
            snprintf(ctx, sizeof ctx, "q4_k n=%lld pattern %d super-block %lld", (long long)n,
                q4_cases[c].p, (long long)b);
            check_q4_k_block(x + 256 * b, n - 256 * b < 256 ? n - 256 * b : 256, &wk[b], ctx);
        }
        free(rk);
        free(wk);
        free(r0);
        free(w0);
        free(x);
    }
}

/* NaN and infinities must not reach an undefined float-to-int conversion (UBSan in CI), and
 * leave the block's finite neighbours alone where the format allows: a NaN in a q4_0 block is
 * stored as 0 and the others keep the bound. */
static void test_quantize_q4_nonfinite(void **state)
{
    (void)state;
    float x[512];
    jb_test_fill(x, 512, 9, 1.0f);
    x[3] = NAN;
    x[300] = INFINITY;
    x[301] = -INFINITY;
    x[40] = NAN;
    jb_block_q4_0 w0[16];
    jb_block_q4_k wk[2];
    jb_ref_quantize_q4_0(x, w0, 512);
    jb_ref_quantize_q4_k(x, wk, 512);
    assert_int_equal(tq4_0_code(&w0[0], 3), 8);
    float y[32];
    memcpy(y, x, sizeof y);
    y[3] = 0.0f;
    check_q4_0_block(y, 32, &w0[0], "q4_0 block with a NaN");
    assert_int_equal(tq4_k_code(&wk[0], 3), 0); /* q4_K: the sub-block's minimum */
    assert_int_equal(tq4_k_code(&wk[0], 40), 0);
}

/* Random blocks (every code, any finite scale), decoded bit for bit. */
static void test_dequant_q4(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s], nb0 = (n + 31) / 32, nbk = (n + 255) / 256;
        uint64_t rng = 800 + s;
        jb_block_q4_0 *w0 = xmalloc((size_t)nb0 * sizeof *w0);
        jb_block_q4_k *wk = xmalloc((size_t)nbk * sizeof *wk);
        unsigned char *p0 = (unsigned char *)w0, *pk = (unsigned char *)wk;
        for (size_t i = 0; i < (size_t)nb0 * sizeof *w0; i++)
            p0[i] = (unsigned char)jb_rng_next(&rng);
        for (size_t i = 0; i < (size_t)nbk * sizeof *wk; i++)
            pk[i] = (unsigned char)jb_rng_next(&rng);
        for (int64_t b = 0; b < nb0; b++)
            w0[b].d &= 0xbbff; /* clear an exponent bit: finite */
        for (int64_t b = 0; b < nbk; b++) {
            wk[b].d &= 0xbbff;
            wk[b].dmin &= 0xbbff;
        }
        float *out = alloc_floats(n);
        k->dequant_q4_0(w0, out, n);
        for (int64_t i = 0; i < n; i++)
            if (f32_bits(out[i]) != f32_bits(tq4_0_value(w0, i)))
                fail_msg("%s dequant_q4_0 n=%lld i=%lld: %a, expected %a", k->name, (long long)n,
                    (long long)i, (double)out[i], (double)tq4_0_value(w0, i));
        check_tail(out, n, "dequant_q4_0");
        k->dequant_q4_k(wk, out, n);
        for (int64_t i = 0; i < n; i++)
            if (f32_bits(out[i]) != f32_bits(tq4_k_value(wk, i)))
                fail_msg("%s dequant_q4_k n=%lld i=%lld: %a, expected %a", k->name, (long long)n,
                    (long long)i, (double)out[i], (double)tq4_k_value(wk, i));
        check_tail(out, n, "dequant_q4_k");
        free(out);
        free(wk);
        free(w0);
    }
}

/* q4 dots against the exact integer reference, to q8_dot_tol of two terms per block. Weights:
 * quantized patterns, then one block in three overwritten with every code at its extreme (0 or
 * 15) against activations at +-127: maddubs pair sums (2 * 15 * 127) must not saturate. */
static void test_dot_q4(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    static const int64_t dot_sizes[] = { 1, 31, 33, 255, 256, 257, 1000, 1007, 2048 };
    for (size_t s = 0; s < N_OF(dot_sizes); s++) {
        const int64_t n = dot_sizes[s], nb0 = (n + 31) / 32, nbk = (n + 255) / 256;
        float *wf = alloc_floats(n), *x = alloc_floats(8 * nbk * 32);
        fill_pattern(wf, n, PAT_MIXED, 1300 + s);
        jb_test_fill(x, 8 * nbk * 32, 1400 + s, 2.0f);
        for (int64_t i = n; i < 8 * nbk * 32; i++)
            x[i] = 0.0f; /* activations past the row: the zero blocks matmul passes */
        jb_block_q4_0 *w0 = xmalloc((size_t)nb0 * sizeof *w0);
        jb_block_q4_k *wk = xmalloc((size_t)nbk * sizeof *wk);
        jb_block_q8_x *qx = xmalloc((size_t)(8 * nbk) * sizeof *qx);
        jb_ref_quantize_q4_0(wf, w0, n);
        jb_ref_quantize_q4_k(wf, wk, n);
        k->quantize_q8_x(x, qx, 8 * nbk * 32);
        for (int64_t b = 0; b < nb0; b += 3) {
            memset(w0[b].qs, b % 2 ? 0xff : 0x00, sizeof w0[b].qs); /* codes 15 (7) or 0 (-8) */
            memset(qx[b].qs, b % 2 ? 127 : -127, 32);
            memset(qx[b].aqs, 127, 32);
            qx[b].sum = b % 2 ? 32 * 127 : -32 * 127;
        }
        for (int64_t b = 0; b < nbk; b += 2)
            memset(wk[b].qs, 0xff, sizeof wk[b].qs); /* code 15 against +-127 (above) */
        double abs_sum;
        double want = ref_dot_q4(JB_DTYPE_Q4_0, w0, qx, nb0, nb0, &abs_sum);
        ASSERT_CLOSE_AT(k->dot_q4_0(w0, qx, nb0), want, q8_dot_tol(2 * nb0, abs_sum),
            "%s dot_q4_0 n=%lld", k->name, (long long)n);
        want = ref_dot_q4(JB_DTYPE_Q4_K, wk, qx, 8 * nbk, 8 * nbk, &abs_sum);
        ASSERT_CLOSE_AT(k->dot_q4_k(wk, qx, nbk), want, q8_dot_tol(16 * nbk, abs_sum),
            "%s dot_q4_k n=%lld", k->name, (long long)n);
        free(qx);
        free(wk);
        free(w0);
        free(x);
        free(wf);
    }
}

/* ---- matrix products --------------------------------------------------------------------- */

static const int64_t mm_rows[] = { 37, 64, 300 }; /* 300: two panels, several GEMV chunks */
static const int64_t mm_cols[] = { 45, 64, 100, 257 };
static const int64_t mm_n[] = { 1, 3, 15, 16, 17, 40 }; /* around JB_MATMUL_GEMM_MIN_ROWS */
static const enum jb_matmul_path mm_paths[] = { JB_MATMUL_GEMV, JB_MATMUL_GEMM, JB_MATMUL_AUTO,
    JB_MATMUL_GEMM_WIDEN, JB_MATMUL_GEMM_DIRECT };
static const char *const mm_path_names[] = { "auto", "gemv", "gemm", "gemm_widen", "gemm_direct" };

/* Row r of w as the values its storage type holds, decoded here. */
static void ref_dequant_row(const struct jb_tensor *w, int64_t r, double *out)
{
    const char *row = (const char *)w->data + (size_t)r * jb_dtype_row_bytes(w->dtype, w->cols);
    for (int64_t i = 0; i < w->cols; i++) {
        if (w->dtype == JB_DTYPE_F32) {
            out[i] = ((const float *)row)[i];
        } else if (w->dtype == JB_DTYPE_BF16) {
            out[i] = bits_f32((uint32_t)((const uint16_t *)row)[i] << 16);
        } else if (w->dtype == JB_DTYPE_Q4_0) {
            out[i] = tq4_0_value((const jb_block_q4_0 *)row, i);
        } else if (w->dtype == JB_DTYPE_Q4_K) {
            out[i] = tq4_k_value((const jb_block_q4_k *)row, i);
        } else {
            const jb_block_q8_0 *b = (const jb_block_q8_0 *)row + i / JB_QK8_0;
            out[i] = ref_fp16_value(b->d) * b->qs[i % JB_QK8_0];
        }
    }
}

/* A weight matrix of random values in storage type t (free with free_tensor) and its decoded
 * values (rows, cols) in double. */
static struct jb_tensor make_tensor(
    enum jb_dtype t, int64_t rows, int64_t cols, uint64_t seed, double **wd)
{
    struct jb_tensor w = { .dtype = t, .rows = rows, .cols = cols };
    const size_t rb = jb_dtype_row_bytes(t, cols);
    float *f = alloc_floats(cols);
    w.data = xmalloc((size_t)rows * rb);
    *wd = xmalloc((size_t)(rows * cols) * sizeof(double));
    for (int64_t r = 0; r < rows; r++) {
        fill_pattern(f, cols, r % 5 == 4 ? PAT_MIXED : PAT_RANDOM, seed + (uint64_t)r);
        jb_row_from_f32(t, (char *)w.data + (size_t)r * rb, f, cols);
        ref_dequant_row(&w, r, *wd + r * cols);
    }
    free(f);
    return w;
}

/* Expected y for one (activation row, weight row) pair, and the data for its tolerance. */
struct mm_expect {
    double y;      /* x . w with the decoded weights */
    double abs_wx; /* sum |w_i x_i| */
    double qbound; /* sum |w_i| * d_block(i) / 2: the most activation quantization can move y */
    double yq;     /* the exact integer q8_0/q4 result (x quantized as the GEMV path does) */
    double yq_tol; /* q8_dot_tol of yq */
    double yb;     /* x . w with x rounded to bf16 (the direct bf16 GEMM's activations) */
};

static struct mm_expect mm_expect(const double *w, const float *x, int64_t cols, enum jb_dtype t,
    const void *wq, const jb_block_q8_x *xq)
{
    struct mm_expect e = { 0 };
    for (int64_t i = 0; i < cols; i++) {
        e.y += w[i] * x[i];
        e.abs_wx += fabs(w[i] * x[i]);
        e.yb += w[i] * (double)bits_f32((uint32_t)ref_bf16(f32_bits(x[i])) << 16);
    }
    if (!wq)
        return e;
    double abs_q;
    for (int64_t i = 0; i < cols; i++)
        e.qbound += fabs(w[i]) * (double)xq[i / JB_QK8_0].d / 2.0;
    if (t == JB_DTYPE_Q8_0) {
        e.yq = ref_dot_q8_0(wq, xq, n_blocks(cols), &abs_q);
        e.yq_tol = q8_dot_tol(n_blocks(cols), abs_q);
        return e;
    }
    const int64_t nw = t == JB_DTYPE_Q4_K ? (cols + 255) / 256 * 8 : n_blocks(cols);
    e.yq = ref_dot_q4(t, wq, xq, n_blocks(cols), nw, &abs_q);
    e.yq_tol = q8_dot_tol(2 * nw, abs_q);
    return e;
}

/* Where a matmul value came from, for failure messages. */
#define MM_CTX_FMT "%s %s path %s: rows %lld cols %lld n %lld: y[%lld][%lld]%s"
#define MM_CTX_ARGS(what)                                                                          \
    k->name, jb_dtype_name(w->dtype), mm_path_names[path], (long long)w->rows, (long long)w->cols, \
        (long long)n, (long long)j, (long long)r, what

/* Tolerances. f32, bf16 and q8_0 through GEMM (weights widened to f32, activations kept f32):
 * an f32 product of cols <= 257 terms errs by at most 257 u = 1.5e-5 relative to sum|w x|
 * whatever the order OpenBLAS sums in; 1e-4 * sum|w x| + 1e-5 leaves margin, yet a q8_0 GEMM
 * that quantized its activations (error ~ 1e-3 relative) would fail it.
 * q8_0 through GEMV quantizes each activation block to d * q with |x_i - d q_i| <= d/2 (d =
 * amax/127 of x's block; f32 rounding of x*id adds at most 127 * 2u, covered by the 1e-4
 * factor), so |y - x.w| <= sum_i |w_i| d_block(i) / 2 * (1 + 1e-4) + f32 rounding (the f32
 * term above). That bound is loose, so GEMV must also equal the exact integer result to
 * q8_dot_tol, which catches a single wrong block. A direct q8_0 GEMM (gemm_q.c) quantizes as
 * GEMV does and is held to the same two bounds.
 * A direct bf16 GEMM (and the GEMV of a table whose dot_bf16 uses vdpbf16ps) rounds each
 * activation to bf16 and sums exact products in f32: within BF16_X_TOL of x.w; loose again, so
 * it must also match the exact sum over the bf16-rounded activations to f32_tol. */
static void check_mm_values(const struct jb_kernel_ops *k, const struct jb_tensor *w, int64_t n,
    enum jb_matmul_path path, const float *y, const struct mm_expect *e)
{
    enum jb_matmul_path eff = path;
    if (eff == JB_MATMUL_AUTO)
        eff = n < JB_MATMUL_GEMM_MIN_ROWS ? JB_MATMUL_GEMV : JB_MATMUL_GEMM;
    const bool direct = eff != JB_MATMUL_GEMV && jb_matmul_gemm_direct(k, w, n, path);
    const bool q4 = w->dtype == JB_DTYPE_Q4_0 || w->dtype == JB_DTYPE_Q4_K; /* GEMV as q8_0 */
    const bool quantized
        = (w->dtype == JB_DTYPE_Q8_0 || q4) && (eff == JB_MATMUL_GEMV || direct);
    const bool bf16_x
        = w->dtype == JB_DTYPE_BF16 && (direct || (eff == JB_MATMUL_GEMV && rounds_x_to_bf16(k)));
    for (int64_t j = 0; j < n; j++)
        for (int64_t r = 0; r < w->rows; r++) {
            const struct mm_expect *x = &e[j * w->rows + r];
            const float got = y[j * w->rows + r];
            const double f32_tol = 1e-4 * x->abs_wx + 1e-5;
            if (bf16_x) {
                ASSERT_CLOSE_AT(got, x->y, BF16_X_TOL(w->cols, x->abs_wx), MM_CTX_FMT,
                    MM_CTX_ARGS(" (bf16 activation bound)"));
                ASSERT_CLOSE_AT(got, x->yb, f32_tol, MM_CTX_FMT, MM_CTX_ARGS(" (bf16 activations)"));
                continue;
            }
            if (!quantized) {
                ASSERT_CLOSE_AT(got, x->y, f32_tol, MM_CTX_FMT, MM_CTX_ARGS(""));
                continue;
            }
            ASSERT_CLOSE_AT(got, x->y, x->qbound * (1.0 + 1e-4) + f32_tol, MM_CTX_FMT,
                MM_CTX_ARGS(" (quantization bound)"));
            ASSERT_CLOSE_AT(got, x->yq, x->yq_tol, MM_CTX_FMT, MM_CTX_ARGS(" (integer reference)"));
        }
}

/* One weight matrix, n activation rows, every path; expectations computed once. */
static void check_matmul_shape(const struct jb_kernel_ops *k, const struct jb_tensor *w,
    const double *wd, int64_t n, uint64_t seed)
{
    const int64_t rows = w->rows, cols = w->cols, nb = n_blocks(cols);
    const bool q8 = w->dtype != JB_DTYPE_F32 && w->dtype != JB_DTYPE_BF16; /* q8_0 or q4 */
    const size_t rb = jb_dtype_row_bytes(w->dtype, cols);
    float *x = alloc_floats(n * cols);
    jb_test_fill(x, n * cols, seed, 2.0f);
    struct mm_expect *e = xmalloc((size_t)(n * rows) * sizeof *e);
    jb_block_q8_x *xq = xmalloc((size_t)(n * nb) * sizeof *xq);
    for (int64_t j = 0; j < n; j++) {
        if (q8)
            ref_quantize_q8_x(x + j * cols, xq + j * nb, cols);
        for (int64_t r = 0; r < rows; r++)
            e[j * rows + r] = mm_expect(wd + r * cols, x + j * cols, cols, w->dtype,
                q8 ? (const char *)w->data + (size_t)r * rb : NULL, q8 ? xq + j * nb : NULL);
    }
    const size_t sb = jb_matmul_scratch_bytes(w, n, omp_get_max_threads());
    unsigned char *scratch = xmalloc(sb + 64);
    float *y = alloc_floats(n * rows);
    for (size_t p = 0; p < N_OF(mm_paths); p++) {
        memset(scratch + sb, 0x5a, 64);
        jb_matmul(k, y, x, w, n, scratch, sb, mm_paths[p]);
        check_tail(y, n * rows, "jb_matmul y");
        for (int i = 0; i < 64; i++)
            assert_int_equal(scratch[sb + (size_t)i], 0x5a);
        check_mm_values(k, w, n, mm_paths[p], y, e);
    }
    free(y);
    free(scratch);
    free(xq);
    free(e);
    free(x);
}

static void check_matmul(void **state, enum jb_dtype t)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    uint64_t seed = 5000 + 1000 * (uint64_t)t;
    for (size_t ri = 0; ri < N_OF(mm_rows); ri++)
        for (size_t ci = 0; ci < N_OF(mm_cols); ci++) {
            double *wd;
            struct jb_tensor w = make_tensor(t, mm_rows[ri], mm_cols[ci], seed++, &wd);
            for (size_t ni = 0; ni < N_OF(mm_n); ni++)
                check_matmul_shape(k, &w, wd, mm_n[ni], seed++);
            free(wd);
            free(w.data);
        }
}

static void test_matmul_f32(void **state)
{
    check_matmul(state, JB_DTYPE_F32);
}

static void test_matmul_bf16(void **state)
{
    check_matmul(state, JB_DTYPE_BF16);
}

static void test_matmul_q8_0(void **state)
{
    check_matmul(state, JB_DTYPE_Q8_0);
}

static void test_matmul_q4_0(void **state)
{
    check_matmul(state, JB_DTYPE_Q4_0);
}

static void test_matmul_q4_k(void **state)
{
    check_matmul(state, JB_DTYPE_Q4_K);
}

/* Embedding rows: exactly the decoded values, for every dtype and a few rows. */
static void test_tensor_row_f32(void **state)
{
    const struct jb_kernel_ops *k = ops_or_skip(state);
    static const int64_t cols[] = { 1, 45, 257 };
    for (int t = 0; t < JB_DTYPE_COUNT; t++)
        for (size_t c = 0; c < N_OF(cols); c++) {
            double *wd;
            struct jb_tensor w = make_tensor((enum jb_dtype)t, 7, cols[c], 77, &wd);
            float *out = alloc_floats(cols[c]);
            for (int64_t r = 0; r < w.rows; r++) {
                jb_tensor_row_f32(k, &w, r, out);
                for (int64_t i = 0; i < cols[c]; i++)
                    ASSERT_CLOSE_AT(out[i], wd[r * cols[c] + i], 0, "%s row %lld col %lld",
                        jb_dtype_name(w.dtype), (long long)r, (long long)i);
                check_tail(out, cols[c], "jb_tensor_row_f32");
            }
            free(out);
            free(wd);
            free(w.data);
        }
}

/* ---- norms and element-wise operations ------------------------------------------------- */

static const struct {
    int64_t n;
    float eps, amp;
    bool in_place;
} norm_cases[] = {
    { 1, 1e-5f, 1.0f, false },
    { 7, 1e-6f, 3.0f, true },
    { 33, 1e-5f, 0.01f, false },
    { 100, 1e-6f, 100.0f, true },
    { 1000, 1e-5f, 1.0f, false },
    { 1007, 1e-6f, 1e-3f, true },
};

/* Elementwise results: a few f32 roundings (x*inv, *w, the rounded inv) after an exact double
 * reduction: 1e-6 relative is ~8 roundings of margin. */
#define ELEM_REL 1e-6

static void test_rmsnorm(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(norm_cases); c++) {
        const int64_t n = norm_cases[c].n;
        float *x = alloc_floats(n), *w = alloc_floats(n), *out = alloc_floats(n);
        jb_test_fill(x, n, 1300 + c, norm_cases[c].amp);
        jb_test_fill(w, n, 1400 + c, 2.0f);
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)x[i] * x[i];
        const double inv = 1.0 / sqrt(ss / (double)n + (double)norm_cases[c].eps);
        float *dst = norm_cases[c].in_place ? x : out;
        float *x0 = alloc_floats(n);
        memcpy(x0, x, (size_t)n * sizeof(float));
        jb_rmsnorm(dst, x, w, n, norm_cases[c].eps);
        for (int64_t i = 0; i < n; i++) {
            const double want = (double)w[i] * x0[i] * inv;
            ASSERT_CLOSE_AT(
                dst[i], want, ELEM_REL * fabs(want) + 1e-30, "case %zu i=%lld", c, (long long)i);
        }
        check_tail(dst, n, "jb_rmsnorm");
        free(x0);
        free(out);
        free(w);
        free(x);
    }
    /* a zero row stays zero (eps keeps the division finite) */
    float z[5] = { 0 }, one[5] = { 1, 1, 1, 1, 1 };
    jb_rmsnorm(z, z, one, 5, 1e-6f);
    for (int i = 0; i < 5; i++)
        ASSERT_CLOSE(z[i], 0.0, 0);
}

static void check_layernorm(size_t c, bool bias)
{
    const int64_t n = norm_cases[c].n;
    float *x = alloc_floats(n), *w = alloc_floats(n), *b = alloc_floats(n), *out = alloc_floats(n);
    jb_test_fill(x, n, 1500 + c, norm_cases[c].amp);
    for (int64_t i = 0; i < n; i++)
        x[i] += 0.5f * norm_cases[c].amp; /* a non-zero mean to subtract */
    jb_test_fill(w, n, 1600 + c, 2.0f);
    jb_test_fill(b, n, 1700 + c, 1.0f);
    double sum = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    const double mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    const double inv = 1.0 / sqrt(ss / (double)n + (double)norm_cases[c].eps);
    float *x0 = alloc_floats(n);
    memcpy(x0, x, (size_t)n * sizeof(float));
    float *dst = norm_cases[c].in_place ? x : out;
    jb_layernorm(dst, x, w, bias ? b : NULL, n, norm_cases[c].eps);
    for (int64_t i = 0; i < n; i++) {
        const double scaled = (x0[i] - mean) * inv * w[i], want = scaled + (bias ? b[i] : 0.0);
        ASSERT_CLOSE_AT(dst[i], want, ELEM_REL * (fabs(scaled) + (bias ? fabs(b[i]) : 0)) + 1e-30,
            "case %zu bias %d i=%lld", c, bias, (long long)i);
    }
    check_tail(dst, n, "jb_layernorm");
    free(x0);
    free(out);
    free(b);
    free(w);
    free(x);
}

static void test_layernorm(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(norm_cases); c++) {
        check_layernorm(c, false);
        check_layernorm(c, true);
    }
    /* a constant row normalizes to 0: only the bias remains */
    float x[4] = { 3, 3, 3, 3 }, w[4] = { 1, 2, 3, 4 }, b[4] = { 0.5f, -1, 2, 0 };
    jb_layernorm(x, x, w, b, 4, 1e-5f);
    for (int i = 0; i < 4; i++)
        ASSERT_CLOSE(x[i], b[i], 0);
}

/* softmax: the rounded x - max moves expf's result by |x - max| * u relative; expf itself, the
 * rounded 1/sum and the final product add a few u more. Tolerance: (|x - max| + 8) * 2u
 * relative (2e-6 for the |x - max| ~ 40 of the random rows). */
static void check_softmax(const float *in, int64_t n, const char *what)
{
    float *x = alloc_floats(n);
    memcpy(x, in, (size_t)n * sizeof(float));
    double max = -INFINITY, sum = 0.0, got_sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        max = in[i] > max ? in[i] : max;
    for (int64_t i = 0; i < n; i++)
        sum += exp(in[i] - max);
    jb_softmax(x, n);
    for (int64_t i = 0; i < n; i++) {
        const double want = exp(in[i] - max) / sum, gap = isfinite(in[i]) ? fabs(in[i] - max) : 0;
        ASSERT_CLOSE_AT(x[i], want, (gap + 8.0) * 2.0 * U_F32 * want + 1e-30, "%s n=%lld i=%lld",
            what, (long long)n, (long long)i);
        assert_true(isfinite(x[i]));
        got_sum += x[i];
    }
    ASSERT_CLOSE_AT(got_sum, 1.0, 1e-5, "%s n=%lld: sum", what, (long long)n);
    check_tail(x, n, "jb_softmax");
    free(x);
}

static void test_softmax(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_OF(sizes); s++) {
        float *x = alloc_floats(sizes[s]);
        jb_test_fill(x, sizes[s], 1800 + s, 20.0f);
        check_softmax(x, sizes[s], "random");
        free(x);
    }
    static const float big[] = { 1000.0f, -1000.0f, 999.0f, 0.0f, 1000.0f };
    check_softmax(big, 5, "large");
    static const float neg[] = { -1000.0f, -1001.0f, -1e30f };
    check_softmax(neg, 3, "very negative");
    static const float masked[] = { 1.0f, -INFINITY, 2.0f, -INFINITY };
    check_softmax(masked, 4, "-inf masked");
    static const float same[] = { 7.0f, 7.0f, 7.0f, 7.0f, 7.0f, 7.0f, 7.0f };
    check_softmax(same, 7, "constant");
    float one = 42.0f;
    jb_softmax(&one, 1);
    ASSERT_CLOSE(one, 1.0, 0);
}

/* Gated activations, formulas in double. Where gelu's (1 + tanh) or (1 + erf) cancels (gate
 * very negative), f32 can only resolve the result to |g u| * ulp(1) = |g u| * 2u; that term is
 * added to the relative tolerance. */
enum act { ACT_SILU, ACT_GELU_TANH, ACT_GELU_ERF };

static double ref_act(enum act a, double g)
{
    switch (a) {
    case ACT_SILU: return g / (1.0 + exp(-g));
    case ACT_GELU_TANH:
        return 0.5 * g * (1.0 + tanh(sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g)));
    default: return 0.5 * g * (1.0 + erf(g / sqrt(2.0)));
    }
}

static void check_act(enum act a, const char *name)
{
    static const float special[]
        = { 0.0f, -0.0f, 1.0f, -1.0f, 20.0f, -20.0f, 100.0f, -100.0f, 3.5f, -3.5f, 1e-20f };
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s] + (int64_t)N_OF(special);
        float *g = alloc_floats(n), *u = alloc_floats(n), *out = alloc_floats(n);
        jb_test_fill(g, n, 1900 + s, 8.0f);
        jb_test_fill(u, n, 2000 + s, 2.0f);
        memcpy(g + sizes[s], special, sizeof special);
        if (a == ACT_SILU)
            jb_swiglu(out, g, u, n);
        else if (a == ACT_GELU_TANH)
            jb_geglu_tanh(out, g, u, n);
        else
            jb_geglu_erf(out, g, u, n);
        for (int64_t i = 0; i < n; i++) {
            const double want = ref_act(a, g[i]) * u[i];
            const double tol = 2e-6 * fabs(want) + 4.0 * U_F32 * fabs((double)g[i] * u[i]);
            ASSERT_CLOSE_AT(out[i], want, a == ACT_SILU ? 2e-6 * fabs(want) + 1e-30 : tol,
                "%s gate %.9g up %.9g", name, (double)g[i], (double)u[i]);
        }
        check_tail(out, n, name);
        free(out);
        free(u);
        free(g);
    }
}

static void test_swiglu(void **state)
{
    (void)state;
    check_act(ACT_SILU, "jb_swiglu");
}

static void test_geglu_tanh(void **state)
{
    (void)state;
    check_act(ACT_GELU_TANH, "jb_geglu_tanh");
}

static void test_geglu_erf(void **state)
{
    (void)state;
    check_act(ACT_GELU_ERF, "jb_geglu_erf");
}

/* One f32 rounding each: the expected value is the same f32 operation, so exact. */
static void test_add_scale(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_OF(sizes); s++) {
        const int64_t n = sizes[s];
        float *y = alloc_floats(n), *x = alloc_floats(n), *y0 = alloc_floats(n);
        jb_test_fill(y, n, 2100 + s, 5.0f);
        jb_test_fill(x, n, 2200 + s, 5.0f);
        memcpy(y0, y, (size_t)n * sizeof(float));
        jb_add(y, x, n);
        for (int64_t i = 0; i < n; i++)
            ASSERT_CLOSE_AT(
                y[i], y0[i] + x[i], 0, "jb_add n=%lld i=%lld", (long long)n, (long long)i);
        check_tail(y, n, "jb_add");
        memcpy(y, y0, (size_t)n * sizeof(float));
        jb_scale(y, -0.37f, n);
        for (int64_t i = 0; i < n; i++)
            ASSERT_CLOSE_AT(
                y[i], y0[i] * -0.37f, 0, "jb_scale n=%lld i=%lld", (long long)n, (long long)i);
        check_tail(y, n, "jb_scale");
        free(y0);
        free(x);
        free(y);
    }
}

/* ---- rotary embedding --------------------------------------------------------------------- */

static const int64_t rope_heads[] = { 1, 3, 8 };
static const int64_t rope_dims[] = { 2, 6, 64 };

/* Rotate-half with arbitrary cos/sin (not unit: the formula, not just a rotation); each output
 * is two products and a sum in f32: 3 roundings of the larger term. */
static void test_rope_formula(void **state)
{
    (void)state;
    for (size_t h = 0; h < N_OF(rope_heads); h++)
        for (size_t d = 0; d < N_OF(rope_dims); d++) {
            const int64_t nh = rope_heads[h], hd = rope_dims[d], half = hd / 2, n = nh * hd;
            float *x = alloc_floats(n), *x0 = alloc_floats(n);
            float *c = alloc_floats(half), *s = alloc_floats(half);
            jb_test_fill(x, n, 2300 + h * 10 + d, 4.0f);
            jb_test_fill(c, half, 2400 + d, 1.5f);
            jb_test_fill(s, half, 2500 + d, 1.5f);
            memcpy(x0, x, (size_t)n * sizeof(float));
            jb_rope(x, nh, hd, c, s);
            for (int64_t k = 0; k < nh; k++)
                for (int64_t i = 0; i < half; i++) {
                    const double a = x0[k * hd + i], b = x0[k * hd + i + half];
                    const double mag = fabs(a * c[i]) + fabs(b * s[i]);
                    const double mag2 = fabs(b * c[i]) + fabs(a * s[i]);
                    ASSERT_CLOSE_AT(x[k * hd + i], a * c[i] - b * s[i], 1e-6 * mag + 1e-30,
                        "heads %lld dim %lld head %lld i=%lld", (long long)nh, (long long)hd,
                        (long long)k, (long long)i);
                    ASSERT_CLOSE_AT(x[k * hd + i + half], b * c[i] + a * s[i], 1e-6 * mag2 + 1e-30,
                        "heads %lld dim %lld head %lld i=%lld+d/2", (long long)nh, (long long)hd,
                        (long long)k, (long long)i);
                }
            check_tail(x, n, "jb_rope");
            free(s);
            free(c);
            free(x0);
            free(x);
        }
}

/* Angle 0 is the identity (exactly); real angles keep each (i, i + d/2) pair's length. */
static void test_rope_identity_and_norm(void **state)
{
    (void)state;
    for (size_t d = 0; d < N_OF(rope_dims); d++) {
        const int64_t nh = 3, hd = rope_dims[d], half = hd / 2, n = nh * hd;
        float *x = alloc_floats(n), *x0 = alloc_floats(n);
        float *c = alloc_floats(half), *s = alloc_floats(half);
        jb_test_fill(x, n, 2600 + d, 4.0f);
        memcpy(x0, x, (size_t)n * sizeof(float));
        for (int64_t i = 0; i < half; i++) {
            c[i] = 1.0f;
            s[i] = 0.0f;
        }
        jb_rope(x, nh, hd, c, s);
        assert_memory_equal(x, x0, (size_t)n * sizeof(float));
        for (int64_t i = 0; i < half; i++) { /* position 37 of a theta=10000 table */
            const double theta = 37.0 * pow(10000.0, -2.0 * (double)i / (double)hd);
            c[i] = (float)cos(theta);
            s[i] = (float)sin(theta);
        }
        jb_rope(x, nh, hd, c, s);
        for (int64_t k = 0; k < nh; k++)
            for (int64_t i = 0; i < half; i++) {
                const double a0 = x0[k * hd + i], b0 = x0[k * hd + i + half];
                const double a = x[k * hd + i], b = x[k * hd + i + half];
                ASSERT_CLOSE_AT(a * a + b * b, a0 * a0 + b0 * b0, 1e-6 * (a0 * a0 + b0 * b0),
                    "dim %lld head %lld pair %lld", (long long)hd, (long long)k, (long long)i);
            }
        free(s);
        free(c);
        free(x0);
        free(x);
    }
}

/* ---- attention ------------------------------------------------------------------------------ */

struct attn_case {
    int64_t n_heads, n_kv, head_dim, n, pos0;
};

/* Naive causal GQA in double; mag[i] = sum_j p_j |v_j| per output element (its scale). */
static void ref_attention(double *out, double *mag, const float *q, int64_t ldq, const float *k,
    const float *v, const struct attn_case *c, const struct jb_attn_shape *s)
{
    const int64_t hd = c->head_dim, ld = c->n_heads * hd, group = c->n_heads / c->n_kv;
    double *p = xmalloc((size_t)(c->pos0 + c->n) * sizeof(double));
    for (int64_t t = 0; t < c->n; t++)
        for (int64_t h = 0; h < c->n_heads; h++) {
            const float *qh = q + t * ldq + h * hd;
            const float *kh = k + (h / group) * s->ctx_cap * hd;
            const float *vh = v + (h / group) * s->ctx_cap * hd;
            const int64_t len = c->pos0 + t + 1;
            double max = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < len; j++) {
                double dot = 0.0;
                for (int64_t i = 0; i < hd; i++)
                    dot += (double)qh[i] * kh[j * hd + i];
                p[j] = dot * s->scale;
                max = p[j] > max ? p[j] : max;
            }
            for (int64_t j = 0; j < len; j++)
                sum += (p[j] = exp(p[j] - max));
            for (int64_t i = 0; i < hd; i++) {
                double o = 0.0, m = 0.0;
                for (int64_t j = 0; j < len; j++) {
                    o += p[j] / sum * vh[j * hd + i];
                    m += p[j] / sum * fabs(vh[j * hd + i]);
                }
                out[t * ld + h * hd + i] = o;
                mag[t * ld + h * hd + i] = m;
            }
        }
    free(p);
}

/* Cache slots past pos0 + n and q's padding hold NaN: reading them poisons the result. */
static void check_attention_case(const struct attn_case *c)
{
    const int64_t hd = c->head_dim, ld = c->n_heads * hd;
    const int64_t ldq = (c->n_heads + 2 * c->n_kv) * hd; /* q inside a fused qkv row */
    const struct jb_attn_shape s = { .n_heads = c->n_heads,
        .n_kv_heads = c->n_kv,
        .head_dim = hd,
        .ctx_cap = c->pos0 + c->n + 7,
        .scale = 1.0f / sqrtf((float)hd) };
    const int64_t cache = c->n_kv * s.ctx_cap * hd;
    float *q = alloc_floats(c->n * ldq), *k = alloc_floats(cache), *v = alloc_floats(cache);
    jb_test_fill(q, c->n * ldq, 3000 + (uint64_t)(c->n * 7 + c->pos0), 3.0f);
    jb_test_fill(k, cache, 3100 + (uint64_t)hd, 3.0f);
    jb_test_fill(v, cache, 3200 + (uint64_t)c->n_kv, 1.0f);
    for (int64_t t = 0; t < c->n; t++)
        for (int64_t i = ld; i < ldq; i++)
            q[t * ldq + i] = NAN;
    for (int64_t kv = 0; kv < c->n_kv; kv++)
        for (int64_t j = c->pos0 + c->n; j < s.ctx_cap; j++)
            for (int64_t i = 0; i < hd; i++)
                k[(kv * s.ctx_cap + j) * hd + i] = v[(kv * s.ctx_cap + j) * hd + i] = NAN;
    double *want = xmalloc((size_t)(c->n * ld) * sizeof(double));
    double *mag = xmalloc((size_t)(c->n * ld) * sizeof(double));
    ref_attention(want, mag, q, ldq, k, v, c, &s);
    const size_t sf = jb_attention_scratch_floats(c->n, c->pos0 + c->n, omp_get_max_threads());
    float *scratch = alloc_floats((int64_t)sf), *out = alloc_floats(c->n * ld);
    jb_attention(out, q, ldq, k, v, c->n, c->pos0, &s, scratch);
    /* Scores err by ~hd u |q||k| scale in f32 (about 1e-6 here), which moves each output by
     * that much relative to sum p|v|; 1e-5 of that scale leaves a 10x margin. */
    for (int64_t i = 0; i < c->n * ld; i++)
        ASSERT_CLOSE_AT(out[i], want[i], 1e-5 * mag[i] + 1e-7,
            "heads %lld kv %lld dim %lld n %lld pos0 %lld: token %lld head %lld elem %lld",
            (long long)c->n_heads, (long long)c->n_kv, (long long)hd, (long long)c->n,
            (long long)c->pos0, (long long)(i / ld), (long long)(i % ld / hd), (long long)(i % hd));
    check_tail(out, c->n * ld, "jb_attention out");
    check_tail(scratch, (int64_t)sf, "jb_attention scratch");
    free(out);
    free(scratch);
    free(mag);
    free(want);
    free(v);
    free(k);
    free(q);
}

static void test_attention(void **state)
{
    (void)state;
    static const int64_t heads[][2]
        = { { 2, 2 }, { 4, 2 }, { 6, 2 }, { 6, 1 } }; /* group 1,2,3,6 */
    static const int64_t dims[] = { 6, 64 };
    static const int64_t ns[] = { 1, 5, 70 }; /* decode; prefill within and across 64 queries */
    static const int64_t pos0s[] = { 0, 13 };
    for (size_t h = 0; h < N_OF(heads); h++)
        for (size_t d = 0; d < N_OF(dims); d++)
            for (size_t n = 0; n < N_OF(ns); n++)
                for (size_t p = 0; p < N_OF(pos0s); p++) {
                    const struct attn_case c
                        = { heads[h][0], heads[h][1], dims[d], ns[n], pos0s[p] };
                    check_attention_case(&c);
                }
}

/* ---- sampling -------------------------------------------------------------------------------- */

static const struct {
    float x[5];
    int64_t n, want;
} argmax_cases[] = {
    { { 5.0f }, 1, 0 },
    { { 1.0f, 3.0f, 3.0f, 2.0f }, 4, 1 }, /* first of a tie */
    { { 2.0f, 2.0f, 2.0f }, 3, 0 },
    { { -1.0f, -0.5f, -0.5f, -3.0f }, 4, 1 },
    { { -INFINITY, -5.0f }, 2, 1 },
    { { 0.0f, 0.0f, 0.0f, 0.0f, 1e-30f }, 5, 4 },
    { { 7.0f, 1.0f, 1.0f, 1.0f, 7.0f }, 5, 0 },
};

static void test_argmax(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(argmax_cases); c++) {
        const int64_t got = jb_argmax(argmax_cases[c].x, argmax_cases[c].n);
        if (got != argmax_cases[c].want)
            fail_msg("argmax case %zu = %lld, expected %lld", c, (long long)got,
                (long long)argmax_cases[c].want);
    }
}

static int64_t sample_once(const float *logits, int64_t n, float temp, float top_p, uint64_t *rng)
{
    float x[8];
    struct jb_prob_index scratch[8];
    assert_true(n <= 8);
    memcpy(x, logits, (size_t)n * sizeof(float));
    return jb_sample(x, n, temp, top_p, rng, scratch);
}

/* The draw at the very top of [0, 1) when the f32 probabilities sum to less than 1 must not
 * return a token of probability 0 (the last one here): found by search, seed 3747935 draws
 * 1 - 2^-24 and these probabilities sum to 0.99999994. */
static void test_sample_rounding_slack(void **state)
{
    (void)state;
    float x[11] = { 0x1.207d6p-2f, 0x1.7b603p-1f, 0x1.1bd434p+0f, -0x1.29c028p-1f, -0x1.b6c7c8p+0f,
        -0x1.4d6ea4p+0f, -0x1.22c4p+0f, -0x1.a9564p-4f, 0x1.6a8b7cp+0f, 0x1.4104e4p+0f, -INFINITY };
    struct jb_prob_index scratch[11];
    uint64_t rng = 3747935;
    const int64_t tok = jb_sample(x, 11, 1.0f, 1.0f, &rng, scratch);
    assert_true(tok >= 0 && tok < 10);
}

/* temperature <= 0 is argmax, whatever the generator says. */
static void test_sample_greedy(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 50; seed++) {
        float logits[8];
        jb_test_fill(logits, 8, 4000 + seed, 5.0f);
        uint64_t rng = seed;
        assert_int_equal(sample_once(logits, 8, 0.0f, 1.0f, &rng), jb_argmax(logits, 8));
        assert_int_equal(sample_once(logits, 8, -1.0f, 0.5f, &rng), jb_argmax(logits, 8));
    }
}

/* The same seed gives the same draws, and one draw advances the generator by one step. */
static void test_sample_repeatable(void **state)
{
    (void)state;
    float logits[8];
    jb_test_fill(logits, 8, 4100, 2.0f);
    int64_t first[100];
    uint64_t rng = 99;
    for (int i = 0; i < 100; i++)
        first[i] = sample_once(logits, 8, 0.8f, 0.9f, &rng);
    rng = 99;
    for (int i = 0; i < 100; i++)
        assert_int_equal(sample_once(logits, 8, 0.8f, 0.9f, &rng), first[i]);
    uint64_t a = 12345, b = 12345;
    sample_once(logits, 8, 1.0f, 1.0f, &a);
    jb_rng_next(&b);
    assert_int_equal(a, b);
}

/* Frequencies over 20000 seeded draws within 0.02 of the distribution (~6 standard
 * deviations); tokens with probability 0 (cut by top_p) must never appear. */
#define N_DRAWS 20000
static const struct {
    float p[4];
    int64_t n;
    float temp, top_p;
    double want[4];
} dist_cases[] = {
    { { 0.5f, 0.3f, 0.2f }, 3, 1.0f, 1.0f, { 0.5, 0.3, 0.2 } },
    { { 0.5f, 0.3f, 0.2f }, 3, 1.0f, 0.75f, { 0.625, 0.375, 0.0 } },
    { { 0.2f, 0.5f, 0.3f }, 3, 1.0f, 0.75f, { 0.0, 0.625, 0.375 } }, /* sorted by probability */
    { { 0.5f, 0.3f, 0.2f }, 3, 2.0f, 1.0f,                           /* p^(1/2), normalized */
        { 0.41545, 0.32180, 0.26275 } },
    { { 0.25f, 0.25f, 0.25f, 0.25f }, 4, 1.0f, 0.3f, { 0.5, 0.5, 0.0, 0.0 } }, /* ties: low index */
    { { 0.2f, 0.5f, 0.3f }, 3, 1.0f, 1e-6f, { 0.0, 1.0, 0.0 } }, /* tiny top_p: argmax */
    { { 0.5f, 0.3f, 0.2f }, 3, 1.0f, 1e-6f, { 1.0, 0.0, 0.0 } },
};

static void test_sample_distribution(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_OF(dist_cases); c++) {
        float logits[4];
        for (int64_t i = 0; i < dist_cases[c].n; i++)
            logits[i] = logf(dist_cases[c].p[i]);
        int64_t count[4] = { 0 };
        uint64_t rng = 777 + c;
        for (int d = 0; d < N_DRAWS; d++) {
            const int64_t t = sample_once(
                logits, dist_cases[c].n, dist_cases[c].temp, dist_cases[c].top_p, &rng);
            assert_true(t >= 0 && t < dist_cases[c].n);
            count[t]++;
        }
        for (int64_t i = 0; i < dist_cases[c].n; i++) {
            const double want = dist_cases[c].want[i], got = (double)count[i] / N_DRAWS;
            if (want == 0.0 || want == 1.0)
                ASSERT_CLOSE_AT(got, want, 0, "case %zu token %lld", c, (long long)i);
            else
                ASSERT_CLOSE_AT(got, want, 0.02, "case %zu token %lld", c, (long long)i);
        }
    }
}

/* ---- kernel tables ------------------------------------------------------------------------ */

static void test_kernels_by_name(void **state)
{
    (void)state;
    const struct jb_kernel_ops *avx2 = jb_kernels_avx2(), *avx512 = jb_kernels_avx512();
    const struct {
        const char *name;
        const struct jb_kernel_ops *want;
    } cases[] = {
        { "ref", jb_kernels_ref() },
        { "avx2", avx2 }, /* NULL where unsupported */
        { "auto", jb_kernels_best() },
        { "bogus", NULL },
        { "", NULL },
        { "avx512", avx512 }, /* NULL where unsupported */
        { "AVX512", NULL },
    };
    for (size_t c = 0; c < N_OF(cases); c++)
        if (jb_kernels_by_name(cases[c].name) != cases[c].want)
            fail_msg("jb_kernels_by_name(\"%s\") = %p, expected %p", cases[c].name,
                (const void *)jb_kernels_by_name(cases[c].name), (const void *)cases[c].want);
    assert_non_null(jb_kernels_ref());
    assert_string_equal(jb_kernels_ref()->name, "ref");
    assert_ptr_equal(jb_kernels_best(), avx512 ? avx512 : avx2 ? avx2 : jb_kernels_ref());
    if (avx2)
        assert_string_equal(avx2->name, "avx2");
}

/* The AVX-512 table exists exactly where the compiler's own CPU check (libgcc's, which reads
 * CPUID and XCR0 itself) finds F, BW, VL and DQ, and names the extensions it uses. */
static void test_kernels_avx512_dispatch(void **state)
{
    (void)state;
#ifdef HAVE_X86
    __builtin_cpu_init();
    const bool want = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const struct jb_kernel_ops *k = jb_kernels_avx512();
    assert_int_equal(k != NULL, want);
    if (!k)
        return;
    assert_string_equal(k->name, "avx512");
    assert_non_null(k->features);
    const bool vnni = __builtin_cpu_supports("avx512vnni");
    const bool bf16 = __builtin_cpu_supports("avx512bf16");
    assert_int_equal(strstr(k->features, "vnni") != NULL, vnni);
    assert_int_equal(strstr(k->features, "bf16") != NULL, bf16);
    assert_int_equal(k->gemm_q8_0 != NULL, vnni);
    assert_int_equal(k->gemm_bf16 != NULL, bf16);
#else
    assert_null(jb_kernels_avx512());
#endif
}

/* Every slot of every table is filled; the reference table is the exported functions. */
static void test_kernel_tables_complete(void **state)
{
    (void)state;
    const struct jb_kernel_ops *r = jb_kernels_ref();
    assert_ptr_equal(r->sum_f32, jb_ref_sum_f32);
    assert_ptr_equal(r->dot_f32, jb_ref_dot_f32);
    assert_ptr_equal(r->dot_bf16, jb_ref_dot_bf16);
    assert_ptr_equal(r->dot_q8_0, jb_ref_dot_q8_0);
    assert_ptr_equal(r->quantize_q8_0, jb_ref_quantize_q8_0);
    assert_ptr_equal(r->quantize_q8_x, jb_ref_quantize_q8_x);
    assert_ptr_equal(r->dequant_q8_0, jb_ref_dequant_q8_0);
    assert_ptr_equal(r->bf16_to_f32, jb_ref_bf16_to_f32);
    assert_ptr_equal(r->dot_q4_0, jb_ref_dot_q4_0);
    assert_ptr_equal(r->dot_q4_k, jb_ref_dot_q4_k);
    assert_ptr_equal(r->dequant_q4_0, jb_ref_dequant_q4_0);
    assert_ptr_equal(r->dequant_q4_k, jb_ref_dequant_q4_k);
    const struct jb_kernel_ops *tables[] = { r, jb_kernels_avx2(), jb_kernels_avx512() };
    for (size_t t = 0; t < N_OF(tables); t++) {
        const struct jb_kernel_ops *k = tables[t];
        if (!k)
            continue;
        assert_non_null(k->name);
        assert_true(k->sum_f32 && k->dot_f32 && k->dot_bf16 && k->dot_q8_0);
        assert_true(k->quantize_q8_0 && k->quantize_q8_x && k->dequant_q8_0 && k->bf16_to_f32);
        assert_true(k->dot_q4_0 && k->dot_q4_k && k->dequant_q4_0 && k->dequant_q4_k);
    }
    /* the AVX-512 table keeps the AVX2 slots it does not override: the q4 dequantizers, and
     * the q4 dots where the CPU lacks VNNI */
    const struct jb_kernel_ops *a2 = jb_kernels_avx2(), *a5 = jb_kernels_avx512();
    if (a2 && a5) {
        const bool vnni = a5->gemm_q8_0 != NULL;
        assert_int_equal(a5->dot_q4_0 == a2->dot_q4_0, !vnni);
        assert_int_equal(a5->dot_q4_k == a2->dot_q4_k, !vnni);
        assert_ptr_equal(a5->dequant_q4_0, a2->dequant_q4_0);
        assert_ptr_equal(a5->dequant_q4_k, a2->dequant_q4_k);
    }
}

/* ---- main ------------------------------------------------------------------------------------ */

/* One test per kernel path, named test/path. */
#define PATH_TESTS(fn)                                                                             \
    { .name = #fn "/ref", .test_func = fn, .initial_state = (void *)&path_ref },                   \
    { .name = #fn "/avx2", .test_func = fn, .initial_state = (void *)&path_avx2 },                 \
    { .name = #fn "/avx512", .test_func = fn, .initial_state = (void *)&path_avx512 },             \
    {                                                                                              \
        .name = #fn "/avx512_base", .test_func = fn, .initial_state = (void *)&path_avx512_base    \
    }

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    const struct CMUnitTest conversions[] = {
        cmocka_unit_test(test_fp16_known_values),
        cmocka_unit_test(test_fp16_nan),
        cmocka_unit_test(test_fp16_all_patterns),
        { .name = "test_fp16_matches_f16c/avx2", .test_func = test_fp16_matches_f16c },
        cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_bf16_nan),
        cmocka_unit_test(test_dtype_parse),
        cmocka_unit_test(test_dtype_row_bytes),
        cmocka_unit_test(test_row_from_f32),
        cmocka_unit_test(test_quantize_q4),
        cmocka_unit_test(test_quantize_q4_nonfinite),
    };
    const struct CMUnitTest tables[] = {
        cmocka_unit_test(test_kernels_by_name),
        cmocka_unit_test(test_kernels_avx512_dispatch),
        cmocka_unit_test(test_kernel_tables_complete),
    };
    const struct CMUnitTest paths[] = {
        PATH_TESTS(test_quantize_q8_0),
        PATH_TESTS(test_quantize_q8_x),
        PATH_TESTS(test_quantize_ties_even),
        PATH_TESTS(test_dequant_q8_0),
        PATH_TESTS(test_bf16_to_f32),
        PATH_TESTS(test_sum_f32),
        PATH_TESTS(test_dot_f32),
        PATH_TESTS(test_dot_bf16),
        PATH_TESTS(test_dot_q8_0),
        PATH_TESTS(test_dot_q8_0_extremes),
        PATH_TESTS(test_matmul_f32),
        PATH_TESTS(test_matmul_bf16),
        PATH_TESTS(test_matmul_q8_0),
        PATH_TESTS(test_q4_0_layout),
        PATH_TESTS(test_q4_k_layout),
        PATH_TESTS(test_dequant_q4),
        PATH_TESTS(test_dot_q4),
        PATH_TESTS(test_matmul_q4_0),
        PATH_TESTS(test_matmul_q4_k),
        PATH_TESTS(test_tensor_row_f32),
    };
    const struct CMUnitTest ops[] = {
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_geglu_tanh),
        cmocka_unit_test(test_geglu_erf),
        cmocka_unit_test(test_add_scale),
        cmocka_unit_test(test_rope_formula),
        cmocka_unit_test(test_rope_identity_and_norm),
        cmocka_unit_test(test_attention),
    };
    const struct CMUnitTest sampling[] = {
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_sample_greedy),
        cmocka_unit_test(test_sample_repeatable),
        cmocka_unit_test(test_sample_distribution),
        cmocka_unit_test(test_sample_rounding_slack),
    };
    if (jb_test_args(argc, argv))
        return 2;
    int failed = 0;
    failed += JB_RUN_GROUP("conversions", conversions, NULL, NULL);
    failed += JB_RUN_GROUP("kernel tables", tables, NULL, NULL);
    failed += JB_RUN_GROUP("kernel paths", paths, NULL, NULL);
    failed += JB_RUN_GROUP("ops", ops, NULL, NULL);
    failed += JB_RUN_GROUP("sampling", sampling, NULL, NULL);
    return jb_test_status(failed);
}
