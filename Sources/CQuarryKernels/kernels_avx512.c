/* AVX-512 kernels (F, BW, VL, VPOPCNTDQ, VNNI). Compiled with per-function target attributes,
 * so this file builds for baseline x86-64; dispatch.c only calls these after cpuid + xgetbv
 * confirm the CPU and the OS support them. On other architectures the file is empty. */

#include "dispatch.h"

#if QK_X86

#include <immintrin.h>

#define QK_AVX512                                                                                  \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni,avx2,popcnt")))
#define QK_INLINE static inline __attribute__((always_inline))

/* Mask of the first `words` 64-bit lanes (words < 8). Masked-off lanes are neither read nor
 * able to fault, so tails can be loaded in one go. */
QK_INLINE QK_AVX512 __mmask8 word_mask(size_t words) { return (__mmask8)((1u << words) - 1u); }

/* Mask of the first `bytes` byte lanes (bytes <= 64). */
QK_INLINE QK_AVX512 __mmask64 byte_mask(size_t bytes) {
    return bytes >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << bytes) - 1);
}

/* ---- Hamming ---------------------------------------------------------------------------- */

/* Streaming small codes from DRAM, a software prefetch into L2 (prefetcht2) about 2 KiB ahead
 * measured 10-20% faster than the hardware prefetchers alone (AMD Zen 4, 64 MiB of 128-byte
 * codes); prefetcht0 was 30% slower, and for 320-byte codes neither helped, so only the
 * packed small-code loop uses it. Prefetches never fault, so running past the end is harmless. */
#ifndef QK_STREAM_PREFETCH_BYTES
#define QK_STREAM_PREFETCH_BYTES 2048
#endif

QK_INLINE void prefetch_stream(const uint8_t *p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(p + QK_STREAM_PREFETCH_BYTES + off, 0, 1);
}

/* Per-lane popcounts of query ^ code, as 8 partial sums in 64-bit lanes. `full` 64-byte chunks
 * plus a masked tail of `tail` words; `qv` holds the query chunks. */
QK_INLINE QK_AVX512 __m512i hamming_lanes(const __m512i *qv, const uint8_t *code, size_t full,
                                          __mmask8 tail) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t j = 0; j < full; j++) {
        __m512i x = _mm512_xor_si512(_mm512_loadu_si512(code + 64 * j), qv[j]);
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    if (tail) {
        __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(tail, code + 64 * full), qv[full]);
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    return acc;
}

/* Query held in registers (code_bytes <= 64 * QK_MAX_QUERY_CHUNKS). With a constant code_bytes
 * the chunk loops unroll completely.
 *
 * Reduction trick: a distance fits in 16 bits (it is stored as uint16_t), and so does every
 * lane's partial sum. Four codes' lane sums are therefore packed into one 64-bit lane at bit
 * offsets 0, 16, 32, 48 without carries crossing fields, and a single horizontal add yields the
 * four distances already laid out as four consecutive little-endian uint16_t (valid since
 * code_bytes * 8 < 65536 here). */
#define QK_MAX_QUERY_CHUNKS 5

QK_INLINE QK_AVX512 void hamming_registers_impl(const uint8_t *query, const uint8_t *codes,
                                                size_t code_bytes, size_t n, uint16_t *out,
                                                const int prefetch) {
    const size_t full = code_bytes / 64;
    const __mmask8 tail = word_mask((code_bytes % 64) / 8);
    __m512i qv[QK_MAX_QUERY_CHUNKS + 1];
    for (size_t j = 0; j < full; j++) qv[j] = _mm512_loadu_si512(query + 64 * j);
    qv[full] = _mm512_maskz_loadu_epi64(tail, query + 64 * full);

    size_t i = 0;
    /* Packing interleaves four codes' loads, which for codes over two cache lines measured up to
     * 3x slower when streaming from DRAM (the hardware prefetchers lose the sequential
     * stream); larger codes go one at a time, in address order. The empty asm statements keep
     * the four codes' loads in address order too: left free, clang issued them last code first,
     * which halved the rate from DRAM (AMD EPYC, 128-byte codes: 84-126 vs 211-229 M codes/s
     * streaming 1 GB, 75-80 vs 150-179 over cold 1,000-code blocks; no measurable change with
     * the codes in L2). */
    if (code_bytes <= 128) {
        for (; i + 4 <= n; i += 4) {
            const uint8_t *c = codes + i * code_bytes;
            if (prefetch) prefetch_stream(c, 4 * code_bytes);
            __m512i d0 = hamming_lanes(qv, c, full, tail);
            __asm__ volatile("" ::: "memory");
            __m512i d1 = hamming_lanes(qv, c + code_bytes, full, tail);
            __asm__ volatile("" ::: "memory");
            __m512i d2 = hamming_lanes(qv, c + 2 * code_bytes, full, tail);
            __asm__ volatile("" ::: "memory");
            __m512i d3 = hamming_lanes(qv, c + 3 * code_bytes, full, tail);
            __m512i packed = _mm512_or_si512(
                _mm512_or_si512(d0, _mm512_slli_epi64(d1, 16)),
                _mm512_or_si512(_mm512_slli_epi64(d2, 32), _mm512_slli_epi64(d3, 48)));
            uint64_t four = (uint64_t)_mm512_reduce_add_epi64(packed);
            __builtin_memcpy(out + i, &four, sizeof four);
        }
    }
    for (; i < n; i++)
        out[i] = (uint16_t)_mm512_reduce_add_epi64(
            hamming_lanes(qv, codes + i * code_bytes, full, tail));
}

/* The prefetches cost about 20% when the codes are already in L2, so only scans of more than
 * QK_STREAM_PREFETCH_MIN bytes (unlikely to be cache-resident) issue them. */
#define QK_STREAM_PREFETCH_MIN (1u << 20)

QK_INLINE QK_AVX512 void hamming_registers(const uint8_t *query, const uint8_t *codes,
                                           size_t code_bytes, size_t n, uint16_t *out) {
    if (code_bytes <= 128 && n * code_bytes > QK_STREAM_PREFETCH_MIN)
        hamming_registers_impl(query, codes, code_bytes, n, out, 1);
    else
        hamming_registers_impl(query, codes, code_bytes, n, out, 0);
}

/* Any code size: the query is re-read from L1 for every code. Distances are truncated to 16
 * bits like the portable kernel. */
static QK_AVX512 void hamming_any(const uint8_t *query, const uint8_t *codes, size_t code_bytes,
                                  size_t n, uint16_t *out) {
    const size_t full = code_bytes / 64;
    const __mmask8 tail = word_mask((code_bytes % 64) / 8);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = codes + i * code_bytes;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        size_t j = 0;
        for (; j + 2 <= full; j += 2) {
            __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(c + 64 * j),
                                          _mm512_loadu_si512(query + 64 * j));
            __m512i x1 = _mm512_xor_si512(_mm512_loadu_si512(c + 64 * j + 64),
                                          _mm512_loadu_si512(query + 64 * j + 64));
            acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(x0));
            acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(x1));
        }
        for (; j < full; j++) {
            __m512i x = _mm512_xor_si512(_mm512_loadu_si512(c + 64 * j),
                                         _mm512_loadu_si512(query + 64 * j));
            acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(x));
        }
        if (tail) {
            __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(tail, c + 64 * full),
                                         _mm512_maskz_loadu_epi64(tail, query + 64 * full));
            acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(x));
        }
        out[i] = (uint16_t)_mm512_reduce_add_epi64(_mm512_add_epi64(acc0, acc1));
    }
}

QK_AVX512 void qk_hamming_batch_avx512(const uint8_t *query, const uint8_t *codes,
                                       size_t code_bytes, size_t n, uint16_t *out) {
    /* Constant sizes get fully unrolled copies; the common embedding widths are 1024 and 2560
     * dimensions. */
    switch (code_bytes) {
    case 128: hamming_registers(query, codes, 128, n, out); return;
    case 320: hamming_registers(query, codes, 320, n, out); return;
    case 64: hamming_registers(query, codes, 64, n, out); return;
    case 96: hamming_registers(query, codes, 96, n, out); return;
    case 192: hamming_registers(query, codes, 192, n, out); return;
    case 256: hamming_registers(query, codes, 256, n, out); return;
    default: break;
    }
    if (code_bytes <= 64 * QK_MAX_QUERY_CHUNKS)
        hamming_registers(query, codes, code_bytes, n, out);
    else
        hamming_any(query, codes, code_bytes, n, out);
}

/* ---- asymmetric bit-plane scores -------------------------------------------------------- */

/* One code against NPLANES planes (NPLANES is a constant after inlining, so the plane loop
 * unrolls and the shifts take immediates). Lanes accumulate sum_p popcount(plane_p & c) << p
 * in their low 32 bits and popcount(c) in their high 32 bits, so one horizontal add gives both
 * totals (each stays far below 2^32). */
QK_INLINE QK_AVX512 int32_t asymmetric_one(const uint8_t *planes, const int NPLANES,
                                           int32_t offset, const uint8_t *code, size_t code_bytes,
                                           size_t full, __mmask8 tail) {
    __m512i acc = _mm512_setzero_si512();
    __m512i ones = _mm512_setzero_si512();
    for (size_t j = 0; j <= full; j++) {
        __m512i c;
        if (j < full) {
            c = _mm512_loadu_si512(code + 64 * j);
        } else {
            if (!tail) break;
            c = _mm512_maskz_loadu_epi64(tail, code + 64 * j);
        }
        ones = _mm512_add_epi64(ones, _mm512_popcnt_epi64(c));
        for (int p = 0; p < NPLANES; p++) {
            /* Plane bytes past the tail are and-ed with zeroed code lanes; the load itself
             * must still be masked so it cannot read past the plane. */
            const uint8_t *pp = planes + (size_t)p * code_bytes + 64 * j;
            __m512i pv = j < full ? _mm512_loadu_si512(pp) : _mm512_maskz_loadu_epi64(tail, pp);
            __m512i bits = _mm512_popcnt_epi64(_mm512_and_si512(pv, c));
            acc = _mm512_add_epi64(acc, _mm512_slli_epi64(bits, (unsigned)p));
        }
    }
    uint64_t both = (uint64_t)_mm512_reduce_add_epi64(
        _mm512_add_epi64(acc, _mm512_slli_epi64(ones, 32)));
    uint32_t score = (uint32_t)both;
    uint32_t count = (uint32_t)(both >> 32);
    /* Wrapping int32 arithmetic, the same result the portable kernel computes. */
    return (int32_t)(score - (uint32_t)offset * count);
}

QK_INLINE QK_AVX512 void asymmetric_planes(const uint8_t *planes, const int NPLANES,
                                           int32_t offset, const uint8_t *codes,
                                           size_t code_bytes, size_t n, int32_t *out) {
    const size_t full = code_bytes / 64;
    const __mmask8 tail = word_mask((code_bytes % 64) / 8);
    for (size_t i = 0; i < n; i++) {
        qk_prefetch_code_ahead(codes, i, code_bytes);
        out[i] = asymmetric_one(planes, NPLANES, offset, codes + i * code_bytes, code_bytes, full,
                                tail);
    }
}

#define QK_ASYM_CASE(np)                                                                           \
    case np: asymmetric_planes(planes, np, offset, codes, code_bytes, n, out); return;

QK_AVX512 void qk_asymmetric_batch_avx512(const uint8_t *planes, int nplanes, int32_t offset,
                                          const uint8_t *codes, size_t code_bytes, size_t n,
                                          int32_t *out) {
    switch (nplanes) {
        QK_FOR_EACH_PLANE_COUNT(QK_ASYM_CASE)
    default: qk_asymmetric_batch_portable(planes, nplanes, offset, codes, code_bytes, n, out);
    }
}

QK_INLINE QK_AVX512 void asymmetric_gathered(const uint8_t *planes, const int NPLANES,
                                             int32_t offset, const uint8_t *const *codes,
                                             size_t code_bytes, size_t n, int32_t *out) {
    const size_t full = code_bytes / 64;
    const __mmask8 tail = word_mask((code_bytes % 64) / 8);
    for (size_t i = 0; i < n; i++) {
        qk_prefetch_gathered_code(codes, i, n, code_bytes);
        out[i] = asymmetric_one(planes, NPLANES, offset, codes[i], code_bytes, full, tail);
    }
}

#define QK_ASYM_GATHER_CASE(np)                                                                    \
    case np: asymmetric_gathered(planes, np, offset, codes, code_bytes, n, out); return;

QK_AVX512 void qk_asymmetric_gather_avx512(const uint8_t *planes, int nplanes, int32_t offset,
                                           const uint8_t *const *codes, size_t code_bytes,
                                           size_t n, int32_t *out) {
    switch (nplanes) {
        QK_FOR_EACH_PLANE_COUNT(QK_ASYM_GATHER_CASE)
    default: qk_asymmetric_gather_portable(planes, nplanes, offset, codes, code_bytes, n, out);
    }
}

/* ---- INT8 dot products (VNNI) ----------------------------------------------------------- */

/* vpdpbusd multiplies unsigned bytes by signed bytes. Flipping the top bit of a signed byte
 * (x ^ 0x80) gives the unsigned byte x + 128, so
 *     sum (a + 128) * b = dot(a, b) + 128 * sum(b)
 * and dot(a, b) = dpbusd(a ^ 0x80, b) - 128 * sum(b), exact in wrapping int32 arithmetic.
 * sum(b) comes from a second dpbusd against a vector of ones. In tails both operands are loaded
 * with zeroing masks: the flipped a lanes become 128 but meet b = 0, contributing nothing. */
QK_AVX512 int32_t qk_dot_i8_avx512(const int8_t *a, const int8_t *b, size_t dims) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= dims; i += 128) {
        __m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(a + i), flip);
        __m512i a1 = _mm512_xor_si512(_mm512_loadu_si512(a + i + 64), flip);
        __m512i b0 = _mm512_loadu_si512(b + i);
        __m512i b1 = _mm512_loadu_si512(b + i + 64);
        acc0 = _mm512_dpbusd_epi32(acc0, a0, b0);
        acc1 = _mm512_dpbusd_epi32(acc1, a1, b1);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, b0);
        sum1 = _mm512_dpbusd_epi32(sum1, ones, b1);
    }
    for (; i < dims; i += 64) {
        __mmask64 m = byte_mask(dims - i);
        __m512i a0 = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i), flip);
        __m512i b0 = _mm512_maskz_loadu_epi8(m, b + i);
        acc0 = _mm512_dpbusd_epi32(acc0, a0, b0);
        sum0 = _mm512_dpbusd_epi32(sum0, ones, b0);
    }
    __m512i acc = _mm512_add_epi32(acc0, acc1);
    __m512i sum = _mm512_add_epi32(sum0, sum1);
    return _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, _mm512_slli_epi32(sum, 7)));
}

/* With a fixed query the roles swap: the stored vector is flipped to unsigned and the query is
 * the signed operand, so the correction 128 * sum(query) is computed once per call and each
 * vector costs one load, one xor and one dpbusd per 64 bytes. */
QK_INLINE QK_AVX512 int32_t query_correction(const int8_t *query, size_t dims) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i sum = _mm512_setzero_si512();
    for (size_t i = 0; i < dims; i += 64)
        sum = _mm512_dpbusd_epi32(sum, ones, _mm512_maskz_loadu_epi8(byte_mask(dims - i), query + i));
    return (int32_t)((uint32_t)_mm512_reduce_add_epi32(sum) << 7);
}

QK_INLINE QK_AVX512 int32_t dot_with_query(const int8_t *query, int32_t correction,
                                           const int8_t *v, size_t dims) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= dims; i += 128) {
        __m512i v0 = _mm512_xor_si512(_mm512_loadu_si512(v + i), flip);
        __m512i v1 = _mm512_xor_si512(_mm512_loadu_si512(v + i + 64), flip);
        acc0 = _mm512_dpbusd_epi32(acc0, v0, _mm512_loadu_si512(query + i));
        acc1 = _mm512_dpbusd_epi32(acc1, v1, _mm512_loadu_si512(query + i + 64));
    }
    for (; i < dims; i += 64) {
        __mmask64 m = byte_mask(dims - i);
        __m512i v0 = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, v + i), flip);
        acc0 = _mm512_dpbusd_epi32(acc0, v0, _mm512_maskz_loadu_epi8(m, query + i));
    }
    uint32_t total = (uint32_t)_mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
    return (int32_t)(total - (uint32_t)correction);
}

QK_AVX512 void qk_dot_i8_batch_avx512(const int8_t *query, const int8_t *vectors, size_t stride,
                                      size_t dims, size_t n, int32_t *out) {
    if (n == 0) return;
    const int32_t correction = query_correction(query, dims);
    for (size_t i = 0; i < n; i++)
        out[i] = dot_with_query(query, correction, vectors + i * stride, dims);
}

QK_AVX512 void qk_dot_i8_gather_avx512(const int8_t *query, const int8_t *const *vectors,
                                       size_t n, size_t dims, int32_t *out) {
    if (n == 0) return;
    const int32_t correction = query_correction(query, dims);
    qk_gather_begin(vectors, n, dims);
    for (size_t i = 0; i < n; i++) {
        if (i + QK_GATHER_PREFETCH_AHEAD < n)
            qk_prefetch_vector(vectors[i + QK_GATHER_PREFETCH_AHEAD], dims);
        out[i] = dot_with_query(query, correction, vectors[i], dims);
    }
}

#endif /* QK_X86 */
