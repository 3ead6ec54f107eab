/* INT8 matrix products of the quantized encoders: weight packing, per-row activation
 * quantization, the run-time choice of level, and the portable kernel that every level must
 * match exactly.
 *
 * Packed layout: the weight rows (output channels) in panels of 16; within a panel, for each
 * group of 4 inner values, 16 × 4 bytes (row r's four values at bytes 4r...4r+3), so one 64-byte
 * load feeds vpdpbusd with 16 output channels × 4 products each (the AVX2 kernel sign-extends
 * 16 of those bytes, 4 channels, at a time). Rows past n and inner values past k are zero, so
 * they add nothing whatever the activations hold there. */

#pragma STDC FP_CONTRACT OFF

#include "QuarryKernels.h"
#include "dispatch.h"

#include <float.h>
#include <math.h>
#include <string.h>

static inline size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

size_t qk_gemm_i8_packed_bytes(size_t n, size_t k) { return round_up(n, 16) * round_up(k, 4); }

void qk_gemm_i8_pack(const int8_t *w, size_t n, size_t k, int8_t *packed, int32_t *sums) {
    const size_t groups = round_up(k, 4) / 4;
    memset(packed, 0, qk_gemm_i8_packed_bytes(n, k));
    for (size_t row = 0; row < n; row++) {
        int8_t *panel = packed + (row / 16) * groups * 64 + (row % 16) * 4;
        int32_t sum = 0;
        for (size_t i = 0; i < k; i++) {
            panel[(i / 4) * 64 + i % 4] = w[row * k + i];
            sum += w[row * k + i];
        }
        sums[row] = sum;
    }
}

/* The AVX-512 level quantizes with its own loop (gemm_int8_avx512.c), writing the same bytes. */
void qk_quantize_rows_u8_portable(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q,
                                  size_t ldq, float *scales) {
    for (size_t row = 0; row < m; row++) {
        const float *values = x + row * ldx;
        uint8_t *target = q + row * ldq;
        float largest = 0;
        int finite = 1;
        for (size_t i = 0; i < k; i++) {
            float magnitude = fabsf(values[i]);
            finite &= magnitude <= FLT_MAX; /* false for infinities and NaN */
            largest = magnitude > largest ? magnitude : largest;
        }
        /* A row with a value that is not finite quantizes to zeros rather than to undefined
         * conversions. */
        if (!finite || !(largest > 0)) {
            memset(target, 128, ldq);
            scales[row] = 0;
            continue;
        }
        const float inverse = 127.0f / largest;
        /* Adding and subtracting 1.5 * 2^23 rounds |v| < 2^22 to the nearest integer, ties to
         * even, as rintf does, without a call per value. */
        const float rounder = 12582912.0f;
        for (size_t i = 0; i < k; i++) {
            float scaled = values[i] * inverse;
            scaled = scaled > 127.0f ? 127.0f : (scaled < -127.0f ? -127.0f : scaled);
            scaled = (scaled + rounder) - rounder;
            target[i] = (uint8_t)((int32_t)scaled + 128);
        }
        if (ldq > k) memset(target + k, 128, ldq - k);
        scales[row] = largest / 127.0f;
    }
}

void qk_quantize_rows_u8(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q, size_t ldq,
                         float *scales) {
#if QK_X86
    if (qk_active_level() == QK_LEVEL_AVX512) {
        qk_quantize_rows_u8_avx512(x, m, k, ldx, q, ldq, scales);
        return;
    }
#endif
    qk_quantize_rows_u8_portable(x, m, k, ldx, q, ldq, scales);
}

void qk_gemm_u8i8_portable(const uint8_t *a, size_t lda, size_t m, size_t k, const int8_t *packed,
                           const int32_t *sums, size_t n, int32_t *c, size_t ldc,
                           const qk_gemm_epilogue *epilogue) {
    (void)sums; /* the portable loop subtracts the offset from each activation instead */
    const size_t groups = round_up(k, 4) / 4;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *row = a + i * lda;
        for (size_t first = 0; first < n; first += 16) {
            const int8_t *panel = packed + (first / 16) * groups * 64;
            int32_t acc[16] = {0};
            for (size_t g = 0; g < groups; g++) {
                for (size_t lane = 0; lane < 16; lane++) {
                    int32_t total = 0;
                    for (size_t j = 0; j < 4; j++) {
                        /* Inner values past k have zero weights; their activations may be anything. */
                        int32_t value = g * 4 + j < k ? (int32_t)row[g * 4 + j] - 128 : 0;
                        total += value * panel[g * 64 + lane * 4 + j];
                    }
                    acc[lane] += total;
                }
            }
            const size_t width = n - first < 16 ? n - first : 16;
            for (size_t lane = 0; lane < width; lane++) {
                const size_t column = first + lane;
                if (epilogue == NULL) {
                    c[i * ldc + column] = acc[lane];
                    continue;
                }
                float value = (float)acc[lane] * (epilogue->a_scales[i] * epilogue->w_scales[column]);
                if (epilogue->bias != NULL) value = value + epilogue->bias[column];
                float *target = epilogue->out + i * epilogue->ldo + column;
                *target = epilogue->accumulate ? *target + value : value;
            }
        }
    }
}

/* The VNNI kernel needs the AVX-512 level, which dispatch.c grants only with AVX512_VNNI, so
 * the AVX2 kernel (vpmaddwd) serves exactly the AVX2 level. */
static void gemm_at_active_level(const uint8_t *a, size_t lda, size_t m, size_t k,
                                 const int8_t *packed, const int32_t *sums, size_t n, int32_t *c,
                                 size_t ldc, const qk_gemm_epilogue *epilogue) {
#if QK_X86
    switch (qk_active_level()) {
    case QK_LEVEL_AVX512: qk_gemm_u8i8_avx512(a, lda, m, k, packed, sums, n, c, ldc, epilogue); return;
    case QK_LEVEL_AVX2: qk_gemm_u8i8_avx2(a, lda, m, k, packed, sums, n, c, ldc, epilogue); return;
    default: break;
    }
#endif
    qk_gemm_u8i8_portable(a, lda, m, k, packed, sums, n, c, ldc, epilogue);
}

void qk_gemm_u8i8_i32(const uint8_t *a, size_t lda, size_t m, size_t k, const int8_t *packed,
                      const int32_t *sums, size_t n, int32_t *c, size_t ldc) {
    gemm_at_active_level(a, lda, m, k, packed, sums, n, c, ldc, NULL);
}

void qk_gemm_u8i8_f32(const uint8_t *a, size_t lda, size_t m, size_t k, const int8_t *packed,
                      const int32_t *sums, size_t n, const float *a_scales, const float *w_scales,
                      const float *bias, int accumulate, float *out, size_t ldo) {
    const qk_gemm_epilogue epilogue = {a_scales, w_scales, bias, accumulate, out, ldo};
    gemm_at_active_level(a, lda, m, k, packed, sums, n, NULL, 0, &epilogue);
}
