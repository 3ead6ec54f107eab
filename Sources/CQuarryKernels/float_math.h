#ifndef QUARRY_KERNELS_FLOAT_MATH_H
#define QUARRY_KERNELS_FLOAT_MATH_H

/* Internal: branch-free F32 exp and erf, and fixed-order sums, for the encoder kernels
 * (float_kernels.c). Always inlined, so every instruction-set level that includes them
 * vectorises them at its own width. Files including this header turn FP contraction off,
 * so no level fuses a multiply and an add that another level rounds twice: every level
 * computes identical results. */

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QK_FLOAT_INLINE static inline __attribute__((always_inline))

/* Independent partial sums per reduction. Each is one lane of the vectoriser's accumulators,
 * so it needs no licence to reorder additions, and every target adds in the same order. */
#define QK_LANES 16

/* e^x for x in about [-87, 88] (inputs outside are clamped; e^-87 ~ 1.6e-38 stands in for
 * anything smaller). x = k ln2 + r with |r| <= ln2/2, ln2 split in a part with few significant
 * bits (k * hi is exact) and the rest; e^r by its Taylor series to r^7 (truncation below
 * 6e-9 relative), then the exponent k added to the bits. Within 1e-7 relative. */
QK_FLOAT_INLINE float qk_exp_poly(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float round_shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float k = (x * 1.44269504088896341f + round_shift) - round_shift;
    float r = x - k * 0.693145751953125f;
    r = r - k * 1.428606765330187e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* erf(x) within 1.5e-7 absolute everywhere. For |x| < 1, x P(x^2) with P a degree-6
 * least-squares fit (on Chebyshev nodes, reweighted toward minimax) to erf(t)/t, relative error
 * 1.2e-9; for 1 <= |x| <= 4, 1 - erfcx(|x|) e^(-x^2) with erfcx(t) = erfc(t) e^(t^2), which is
 * smooth, fitted the same way by a degree-10 polynomial in t - 2.5 (relative error 1.5e-7);
 * beyond 4, erf rounds to +-1 in F32 and the formula at 4 gives exactly that. */
QK_FLOAT_INLINE float qk_erf_poly(float x) {
    float t = fabsf(x);
    float u = t * t;
    float s = 7.853857823647559e-05f;
    s = s * u - 0.0008010192541405559f;
    s = s * u + 0.005188327748328447f;
    s = s * u - 0.026853810995817184f;
    s = s * u + 0.1128358542919159f;
    s = s * u - 0.3761262595653534f;
    s = s * u + 1.1283791065216064f;
    float small = t * s;

    float c = t < 1.0f ? 1.0f : t;
    c = c > 4.0f ? 4.0f : c;
    float v = c - 2.5f;
    float q = 1.5539328614977421e-06f;
    q = q * v - 6.3573875195288565e-06f;
    q = q * v + 1.5010261449788231e-05f;
    q = q * v - 5.372974919737317e-05f;
    q = q * v + 0.00021169536921661347f;
    q = q * v - 0.0007387576624751091f;
    q = q * v + 0.0024669915437698364f;
    q = q * v - 0.007999492809176445f;
    q = q * v + 0.02493792586028576f;
    q = q * v - 0.07434757798910141f;
    q = q * v + 0.21080636978149414f;
    float large = 1.0f - q * qk_exp_poly(-c * c);

    return copysignf(t < 1.0f ? small : large, x);
}

/* Adds the QK_LANES partial sums pairwise (lane j with lane j + width, halving the width). */
QK_FLOAT_INLINE float qk_fold_lanes(float lanes[QK_LANES]) {
    for (size_t width = QK_LANES / 2; width > 0; width /= 2)
        for (size_t j = 0; j < width; j++) lanes[j] += lanes[j + width];
    return lanes[0];
}

/* Sum of `n` values in QK_LANES partial sums. */
QK_FLOAT_INLINE float qk_sum(const float *x, size_t n) {
    float lanes[QK_LANES] = {0};
    size_t i = 0;
    for (; i + QK_LANES <= n; i += QK_LANES)
        for (size_t j = 0; j < QK_LANES; j++) lanes[j] += x[i + j];
    for (size_t j = 0; i < n; i++, j++) lanes[j] += x[i];
    return qk_fold_lanes(lanes);
}

/* Sum of squares of `n` values in QK_LANES partial sums. */
QK_FLOAT_INLINE float qk_sum_squares(const float *x, size_t n) {
    float lanes[QK_LANES] = {0};
    size_t i = 0;
    for (; i + QK_LANES <= n; i += QK_LANES)
        for (size_t j = 0; j < QK_LANES; j++) lanes[j] += x[i + j] * x[i + j];
    for (size_t j = 0; i < n; i++, j++) lanes[j] += x[i] * x[i];
    return qk_fold_lanes(lanes);
}

/* Largest of `n` >= 1 values. */
QK_FLOAT_INLINE float qk_max(const float *x, size_t n) {
    float lanes[QK_LANES];
    for (size_t j = 0; j < QK_LANES; j++) lanes[j] = x[0];
    size_t i = 0;
    for (; i + QK_LANES <= n; i += QK_LANES)
        for (size_t j = 0; j < QK_LANES; j++) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
    for (size_t j = 0; i < n; i++, j++) lanes[j] = x[i] > lanes[j] ? x[i] : lanes[j];
    float largest = lanes[0];
    for (size_t j = 1; j < QK_LANES; j++) largest = lanes[j] > largest ? lanes[j] : largest;
    return largest;
}

#endif
