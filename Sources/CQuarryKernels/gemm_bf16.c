/* BF16 matrix products of the encoders: weight packing, rounding activations to BF16, the
 * run-time choice of kernel and the portable kernel, which computes what AVX-512 BF16's
 * vdpbf16ps computes.
 *
 * Packed layout: the weight rows (output channels) in panels of 16; within a panel, for each
 * pair of inner values, 16 × 2 BF16 values (row r's pair at elements 2r and 2r + 1), so one
 * 64-byte load feeds vdpbf16ps with 16 output channels × 2 products each. Rows past n and inner
 * values past k are zero.
 *
 * The arithmetic, at every level: each output starts at 0 and, pair by pair in order of the
 * inner index, adds the product of the odd elements, rounding to F32, then that of the even
 * elements, rounding again (the order of vdpbf16ps). A product of two BF16 values is exact in
 * F32 (8-bit significands), so only the additions round and the kernels agree bit for bit;
 * BF16 values that would be subnormal are flushed to zero by the rounding, as the hardware
 * treats them. Only products or sums in F32's subnormal range (never met in an encoder) could
 * differ, where the hardware flushes them. */

#pragma STDC FP_CONTRACT OFF

#include "QuarryKernels.h"
#include "dispatch.h"

#include <string.h>

static inline size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

uint16_t qk_bf16_from_f32(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u); /* quiet NaN */
    if ((bits & 0x7f800000u) == 0) return (uint16_t)((bits >> 16) & 0x8000u); /* zero, subnormal */
    bits += 0x7fffu + ((bits >> 16) & 1u); /* to nearest, ties to even */
    return (uint16_t)(bits >> 16);
}

float qk_f32_from_bf16(uint16_t value) {
    const uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, 4);
    return result;
}

size_t qk_gemm_bf16_packed_count(size_t n, size_t k) { return round_up(n, 16) * round_up(k, 2); }

void qk_gemm_bf16_pack(const float *w, size_t n, size_t k, uint16_t *packed) {
    const size_t pairs = round_up(k, 2) / 2;
    memset(packed, 0, qk_gemm_bf16_packed_count(n, k) * sizeof(uint16_t));
    for (size_t row = 0; row < n; row++) {
        uint16_t *panel = packed + (row / 16) * pairs * 32 + (row % 16) * 2;
        for (size_t i = 0; i < k; i++) panel[(i / 2) * 32 + i % 2] = qk_bf16_from_f32(w[row * k + i]);
    }
}

void qk_round_rows_bf16_portable(const float *x, size_t m, size_t k, size_t ldx, uint16_t *out,
                                 size_t ldo) {
    for (size_t row = 0; row < m; row++) {
        const float *values = x + row * ldx;
        uint16_t *target = out + row * ldo;
        for (size_t i = 0; i < k; i++) target[i] = qk_bf16_from_f32(values[i]);
        for (size_t i = k; i < ldo; i++) target[i] = 0;
    }
}

void qk_gemm_bf16_portable(const uint16_t *a, size_t lda, size_t m, size_t k,
                           const uint16_t *packed, size_t n, const float *bias, int accumulate,
                           float *out, size_t ldo) {
    const size_t pairs = round_up(k, 2) / 2;
    for (size_t i = 0; i < m; i++) {
        const uint16_t *row = a + i * lda;
        for (size_t first = 0; first < n; first += 16) {
            const uint16_t *panel = packed + (first / 16) * pairs * 32;
            float acc[16] = {0};
            for (size_t p = 0; p < pairs; p++) {
                /* Past k the weights are zero and the activations must be finite. */
                const float odd = qk_f32_from_bf16(row[2 * p + 1]);
                const float even = qk_f32_from_bf16(row[2 * p]);
                for (size_t lane = 0; lane < 16; lane++) {
                    acc[lane] = acc[lane] + odd * qk_f32_from_bf16(panel[p * 32 + lane * 2 + 1]);
                    acc[lane] = acc[lane] + even * qk_f32_from_bf16(panel[p * 32 + lane * 2]);
                }
            }
            const size_t width = n - first < 16 ? n - first : 16;
            for (size_t lane = 0; lane < width; lane++) {
                const size_t column = first + lane;
                float value = acc[lane];
                if (bias != NULL) value = value + bias[column];
                float *target = out + i * ldo + column;
                *target = accumulate ? *target + value : value;
            }
        }
    }
}

/* The AVX-512 BF16 kernel runs at the AVX-512 level on CPUs that also report AVX512_BF16. */
static int bf16_native(void) {
#if QK_X86
    return qk_active_level() == QK_LEVEL_AVX512 && qk_cpu_has_avx512_bf16();
#else
    return 0;
#endif
}

int qk_gemm_bf16_native(void) { return bf16_native(); }

void qk_round_rows_bf16(const float *x, size_t m, size_t k, size_t ldx, uint16_t *out, size_t ldo) {
#if QK_X86
    if (bf16_native()) {
        qk_round_rows_bf16_avx512(x, m, k, ldx, out, ldo);
        return;
    }
#endif
    qk_round_rows_bf16_portable(x, m, k, ldx, out, ldo);
}

void qk_gemm_bf16_f32(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *packed,
                      size_t n, const float *bias, int accumulate, float *out, size_t ldo) {
#if QK_X86
    if (bf16_native()) {
        qk_gemm_bf16_avx512(a, lda, m, k, packed, n, bias, accumulate, out, ldo);
        return;
    }
#endif
    qk_gemm_bf16_portable(a, lda, m, k, packed, n, bias, accumulate, out, ldo);
}
