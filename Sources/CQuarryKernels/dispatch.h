#ifndef QUARRY_KERNELS_DISPATCH_H
#define QUARRY_KERNELS_DISPATCH_H

/* Internal: the per-level implementations that dispatch.c chooses between. Every level
 * implements the same six kernels with identical (exact) results. */

#include "QuarryKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define QK_X86 1
#else
#define QK_X86 0
#endif

#define QK_DECLARE_LEVEL(suffix)                                                                   \
    void qk_hamming_batch_##suffix(const uint8_t *query, const uint8_t *codes, size_t code_bytes,  \
                                   size_t n, uint16_t *out);                                       \
    void qk_asymmetric_batch_##suffix(const uint8_t *planes, int nplanes, int32_t offset,          \
                                      const uint8_t *codes, size_t code_bytes, size_t n,           \
                                      int32_t *out);                                               \
    void qk_asymmetric_gather_##suffix(const uint8_t *planes, int nplanes, int32_t offset,         \
                                       const uint8_t *const *codes, size_t code_bytes, size_t n,   \
                                       int32_t *out);                                              \
    int32_t qk_dot_i8_##suffix(const int8_t *a, const int8_t *b, size_t dims);                     \
    void qk_dot_i8_batch_##suffix(const int8_t *query, const int8_t *vectors, size_t stride,       \
                                  size_t dims, size_t n, int32_t *out);                            \
    void qk_dot_i8_gather_##suffix(const int8_t *query, const int8_t *const *vectors, size_t n,    \
                                   size_t dims, int32_t *out);

QK_DECLARE_LEVEL(portable)
#if QK_X86
QK_DECLARE_LEVEL(avx2)
QK_DECLARE_LEVEL(avx512)
#endif

/* The INT8 matrix product at one level: the packed layout and the epilogue are shared
 * (gemm_int8.c); `out` is NULL for the exact integer form, which writes `c`. */
typedef struct {
    const float *a_scales;
    const float *w_scales;
    const float *bias;
    int accumulate;
    float *out;
    size_t ldo;
} qk_gemm_epilogue;

#define QK_DECLARE_GEMM_I8(suffix)                                                                 \
    void qk_gemm_u8i8_##suffix(const uint8_t *a, size_t lda, size_t m, size_t k,                   \
                               const int8_t *packed, const int32_t *sums, size_t n, int32_t *c,    \
                               size_t ldc, const qk_gemm_epilogue *epilogue);

void qk_quantize_rows_u8_portable(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q,
                                  size_t ldq, float *scales);
#if QK_X86
void qk_quantize_rows_u8_avx512(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q,
                                size_t ldq, float *scales);
#endif

QK_DECLARE_GEMM_I8(portable)
#if QK_X86
QK_DECLARE_GEMM_I8(avx2)
QK_DECLARE_GEMM_I8(avx512)
#endif

/* The BF16 matrix product and activation rounding (gemm_bf16.c): portable, and AVX-512 BF16
 * where qk_cpu_has_avx512_bf16 reports it. */
void qk_round_rows_bf16_portable(const float *x, size_t m, size_t k, size_t ldx, uint16_t *out,
                                 size_t ldo);
void qk_gemm_bf16_portable(const uint16_t *a, size_t lda, size_t m, size_t k,
                           const uint16_t *packed, size_t n, const float *bias, int accumulate,
                           float *out, size_t ldo);
#if QK_X86
void qk_round_rows_bf16_avx512(const float *x, size_t m, size_t k, size_t ldx, uint16_t *out,
                               size_t ldo);
void qk_gemm_bf16_avx512(const uint16_t *a, size_t lda, size_t m, size_t k,
                         const uint16_t *packed, size_t n, const float *bias, int accumulate,
                         float *out, size_t ldo);
#endif

/* How many vectors ahead qk_dot_i8_gather prefetches. */
#ifndef QK_GATHER_PREFETCH_AHEAD
#define QK_GATHER_PREFETCH_AHEAD 6
#endif

/* Prefetches every cache line of a `bytes`-byte vector into all cache levels. */
static inline void qk_prefetch_vector(const int8_t *p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off, 0, 3);
    if (bytes > 0) __builtin_prefetch(p + bytes - 1, 0, 3); /* last line when p is unaligned */
}

/* Starts a gather: one load from each vector (independent loads, so their cache and TLB misses
 * overlap instead of each waiting for the one before), then prefetches of the vectors the first
 * dot products need. */
static inline void qk_gather_begin(const int8_t *const *vectors, size_t n, size_t dims) {
    if (dims == 0) return;
    int8_t touched = 0;
    for (size_t i = 0; i < n; i++) touched ^= *(const volatile int8_t *)vectors[i];
    (void)touched;
    for (size_t i = 0; i < n && i < QK_GATHER_PREFETCH_AHEAD; i++) qk_prefetch_vector(vectors[i], dims);
}

/* The plane counts the asymmetric kernels specialise (the count is a constant in each case, so
 * the plane loop unrolls): CASE(np) for np = 1...8; other counts take the portable kernel. */
#define QK_FOR_EACH_PLANE_COUNT(CASE) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)

/* Codes ahead of the one being scored that the asymmetric kernels prefetch (at 1,024 dimensions
 * 2 KB: a posting-list block is cold when a search reaches it, and prefetching ahead measured a
 * third off a top-10 search's scan at 1M vectors). Prefetches never fault past the end. */
#ifndef QK_SCAN_PREFETCH_CODES
#define QK_SCAN_PREFETCH_CODES 16
#endif

static inline void qk_prefetch_code_ahead(const uint8_t *codes, size_t i, size_t code_bytes) {
    const uint8_t *ahead = (const uint8_t *)((uintptr_t)codes + (i + QK_SCAN_PREFETCH_CODES) * code_bytes);
    for (size_t off = 0; off < code_bytes; off += 64) __builtin_prefetch(ahead + off, 0, 3);
}

/* The same for codes given by pointer (the survivors of a first scan, scattered through the
 * probed blocks): the code QK_SCAN_PREFETCH_CODES positions ahead, if there is one. */
static inline void qk_prefetch_gathered_code(const uint8_t *const *codes, size_t i, size_t n,
                                             size_t code_bytes) {
    if (i + QK_SCAN_PREFETCH_CODES >= n) return;
    const uint8_t *ahead = codes[i + QK_SCAN_PREFETCH_CODES];
    for (size_t off = 0; off < code_bytes; off += 64) __builtin_prefetch(ahead + off, 0, 3);
}

#endif
