/* AVX2 + POPCNT kernels. Compiled with per-function target attributes, so this file builds for
 * baseline x86-64; dispatch.c only calls these after cpuid + xgetbv confirm AVX2, POPCNT and OS
 * support for YMM state. On other architectures the file is empty. */

#include "dispatch.h"

#if QK_X86

#include <immintrin.h>
#include <string.h>

#define QK_AVX2 __attribute__((target("avx2,popcnt")))
#define QK_INLINE static inline __attribute__((always_inline))

QK_INLINE QK_AVX2 uint64_t load_u64(const void *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

QK_INLINE QK_AVX2 __m256i load_256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Horizontal sum of four 64-bit lanes. */
QK_INLINE QK_AVX2 uint64_t sum_u64x4(__m256i v) {
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
    return (uint64_t)_mm_cvtsi128_si64(s);
}

/* Horizontal sum of eight 32-bit lanes. */
QK_INLINE QK_AVX2 int32_t sum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Per-byte popcount with the nibble table: pshufb looks up the bit count of the low and of the
 * high nibble of every byte (0..4 each), giving 0..8 per byte. */
QK_INLINE QK_AVX2 __m256i popcount_bytes(__m256i v) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                           2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, nibble);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

/* Byte counters hold at most 8 per 32-byte chunk, so they are folded into 64-bit lanes with
 * psadbw at least every 31 chunks; 16 keeps the arithmetic obvious. */
#define QK_FLUSH_CHUNKS 16

/* ---- Hamming ---------------------------------------------------------------------------- */

/* Nibble-table popcounts measured faster than scalar POPCNT on 64-bit words (AMD Zen 4, codes
 * in L2: 128 bytes ~250-290 vs ~170-230 M codes/s, 320 bytes ~105-118 vs ~67 M codes/s).
 *
 * Hamming distance lanes of one code: four 64-bit partial sums. */
QK_INLINE QK_AVX2 __m256i hamming_lanes(const uint8_t *q, const uint8_t *c, size_t chunks) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i total = zero;
    size_t j = 0;
    while (j < chunks) {
        size_t stop = j + QK_FLUSH_CHUNKS < chunks ? j + QK_FLUSH_CHUNKS : chunks;
        __m256i bytes = zero;
        for (; j < stop; j++)
            bytes = _mm256_add_epi8(
                bytes, popcount_bytes(_mm256_xor_si256(load_256(q + 32 * j), load_256(c + 32 * j))));
        total = _mm256_add_epi64(total, _mm256_sad_epu8(bytes, zero));
    }
    return total;
}

QK_INLINE QK_AVX2 void hamming_lut(const uint8_t *query, const uint8_t *codes, size_t code_bytes,
                                   size_t n, uint16_t *out) {
    const size_t chunks = code_bytes / 32;
    const size_t tail_words = (code_bytes % 32) / 8;
    const size_t tail_at = chunks * 32;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = codes + i * code_bytes;
        uint64_t d = sum_u64x4(hamming_lanes(query, c, chunks));
        for (size_t w = 0; w < tail_words; w++)
            d += (uint64_t)_mm_popcnt_u64(load_u64(query + tail_at + 8 * w) ^
                                          load_u64(c + tail_at + 8 * w));
        out[i] = (uint16_t)d;
    }
}

QK_AVX2 void qk_hamming_batch_avx2(const uint8_t *query, const uint8_t *codes, size_t code_bytes,
                                   size_t n, uint16_t *out) {
    /* Constant sizes for the common widths let the word loops unroll completely. */
    switch (code_bytes) {
    case 128: hamming_lut(query, codes, 128, n, out); return;
    case 320: hamming_lut(query, codes, 320, n, out); return;
    default: hamming_lut(query, codes, code_bytes, n, out); return;
    }
}

/* ---- asymmetric bit-plane scores -------------------------------------------------------- */

/* NPLANES is a constant after inlining. Each 32-byte chunk of the code is and-ed with the
 * matching chunk of every plane; byte popcounts accumulate per plane and are folded with psadbw
 * and the plane's weight (a left shift by p) into 64-bit lanes. (Measured against scalar POPCNT
 * on 64-bit words: 69 vs 26 M codes/s for 4 planes of 128 bytes, Zen 4.) */
QK_INLINE QK_AVX2 int32_t asymmetric_one(const uint8_t *planes, const int NPLANES, int32_t offset,
                                         const uint8_t *code, size_t code_bytes, size_t chunks) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i score = zero, ones = zero;
    size_t j = 0;
    while (j < chunks) {
        size_t stop = j + QK_FLUSH_CHUNKS < chunks ? j + QK_FLUSH_CHUNKS : chunks;
        __m256i plane_bytes[8];
        __m256i ones_bytes = zero;
        for (int p = 0; p < NPLANES; p++) plane_bytes[p] = zero;
        for (; j < stop; j++) {
            __m256i c = load_256(code + 32 * j);
            ones_bytes = _mm256_add_epi8(ones_bytes, popcount_bytes(c));
            for (int p = 0; p < NPLANES; p++) {
                __m256i pv = load_256(planes + (size_t)p * code_bytes + 32 * j);
                plane_bytes[p] =
                    _mm256_add_epi8(plane_bytes[p], popcount_bytes(_mm256_and_si256(pv, c)));
            }
        }
        ones = _mm256_add_epi64(ones, _mm256_sad_epu8(ones_bytes, zero));
        for (int p = 0; p < NPLANES; p++)
            score = _mm256_add_epi64(
                score, _mm256_slli_epi64(_mm256_sad_epu8(plane_bytes[p], zero), p));
    }
    uint64_t s = sum_u64x4(score);
    uint64_t count = sum_u64x4(ones);
    /* Tail words (code_bytes is a multiple of 8, not necessarily of 32). */
    for (size_t at = chunks * 32; at < code_bytes; at += 8) {
        uint64_t c = load_u64(code + at);
        count += (uint64_t)_mm_popcnt_u64(c);
        for (int p = 0; p < NPLANES; p++)
            s += (uint64_t)_mm_popcnt_u64(load_u64(planes + (size_t)p * code_bytes + at) & c) << p;
    }
    /* Wrapping int32 arithmetic, the same result the portable kernel computes. */
    return (int32_t)((uint32_t)s - (uint32_t)offset * (uint32_t)count);
}

QK_INLINE QK_AVX2 void asymmetric_planes(const uint8_t *planes, const int NPLANES, int32_t offset,
                                         const uint8_t *codes, size_t code_bytes, size_t n,
                                         int32_t *out) {
    const size_t chunks = code_bytes / 32;
    for (size_t i = 0; i < n; i++) {
        qk_prefetch_code_ahead(codes, i, code_bytes);
        out[i] = asymmetric_one(planes, NPLANES, offset, codes + i * code_bytes, code_bytes, chunks);
    }
}

#define QK_ASYM_CASE(np)                                                                           \
    case np: asymmetric_planes(planes, np, offset, codes, code_bytes, n, out); return;

QK_AVX2 void qk_asymmetric_batch_avx2(const uint8_t *planes, int nplanes, int32_t offset,
                                      const uint8_t *codes, size_t code_bytes, size_t n,
                                      int32_t *out) {
    switch (nplanes) {
        QK_FOR_EACH_PLANE_COUNT(QK_ASYM_CASE)
    default: qk_asymmetric_batch_portable(planes, nplanes, offset, codes, code_bytes, n, out);
    }
}

QK_INLINE QK_AVX2 void asymmetric_gathered(const uint8_t *planes, const int NPLANES, int32_t offset,
                                           const uint8_t *const *codes, size_t code_bytes,
                                           size_t n, int32_t *out) {
    const size_t chunks = code_bytes / 32;
    for (size_t i = 0; i < n; i++) {
        qk_prefetch_gathered_code(codes, i, n, code_bytes);
        out[i] = asymmetric_one(planes, NPLANES, offset, codes[i], code_bytes, chunks);
    }
}

#define QK_ASYM_GATHER_CASE(np)                                                                    \
    case np: asymmetric_gathered(planes, np, offset, codes, code_bytes, n, out); return;

QK_AVX2 void qk_asymmetric_gather_avx2(const uint8_t *planes, int nplanes, int32_t offset,
                                       const uint8_t *const *codes, size_t code_bytes, size_t n,
                                       int32_t *out) {
    switch (nplanes) {
        QK_FOR_EACH_PLANE_COUNT(QK_ASYM_GATHER_CASE)
    default: qk_asymmetric_gather_portable(planes, nplanes, offset, codes, code_bytes, n, out);
    }
}

/* ---- INT8 dot products ------------------------------------------------------------------ */

/* vpmaddubsw would saturate (255 * 127 * 2 > 32767), so both operands are sign-extended to
 * 16 bits and multiplied with vpmaddwd: each pair sum is at most 2 * 128 * 128 = 32768, which
 * int32 holds exactly. Four accumulators of 8 int32 lanes each. */
QK_INLINE QK_AVX2 __m256i widen(const int8_t *p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

QK_AVX2 int32_t qk_dot_i8_avx2(const int8_t *a, const int8_t *b, size_t dims) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    __m256i acc2 = _mm256_setzero_si256(), acc3 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 64 <= dims; i += 64) {
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(widen(a + i), widen(b + i)));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(widen(a + i + 16), widen(b + i + 16)));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(widen(a + i + 32), widen(b + i + 32)));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(widen(a + i + 48), widen(b + i + 48)));
    }
    for (; i + 16 <= dims; i += 16)
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(widen(a + i), widen(b + i)));
    __m256i acc = _mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3));
    uint32_t sum = (uint32_t)sum_i32x8(acc);
    for (; i < dims; i++) sum += (uint32_t)((int32_t)a[i] * (int32_t)b[i]);
    return (int32_t)sum;
}

QK_AVX2 void qk_dot_i8_batch_avx2(const int8_t *query, const int8_t *vectors, size_t stride,
                                  size_t dims, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = qk_dot_i8_avx2(query, vectors + i * stride, dims);
}

QK_AVX2 void qk_dot_i8_gather_avx2(const int8_t *query, const int8_t *const *vectors, size_t n,
                                   size_t dims, int32_t *out) {
    qk_gather_begin(vectors, n, dims);
    for (size_t i = 0; i < n; i++) {
        if (i + QK_GATHER_PREFETCH_AHEAD < n)
            qk_prefetch_vector(vectors[i + QK_GATHER_PREFETCH_AHEAD], dims);
        out[i] = qk_dot_i8_avx2(query, vectors[i], dims);
    }
}

#endif /* QK_X86 */
