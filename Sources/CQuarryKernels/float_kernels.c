/* Element-wise and row-wise F32 kernels of the transformer encoders (activations, softmax,
 * LayerNorm, RMSNorm).
 *
 * Plain C that the compiler vectorises: exp and erf are branch-free polynomials instead of
 * libm calls (float_math.h), and every reduction keeps fixed partial sums. The exp-heavy loops
 * (activations, softmax) are built at each instruction-set level and chosen at run time like
 * the other kernels; the norms and the trivial loops are built once for the baseline target.
 * FP contraction is off, so every level gives identical results. */

#pragma STDC FP_CONTRACT OFF

#include "QuarryKernels.h"
#include "dispatch.h"
#include "float_math.h"

#define QK_LEVEL_NAME(name) name##_portable
#define QK_LEVEL_TARGET
#include "float_activations.h"
#undef QK_LEVEL_NAME
#undef QK_LEVEL_TARGET

#if QK_X86
#define QK_LEVEL_NAME(name) name##_avx2
#define QK_LEVEL_TARGET __attribute__((target("avx2")))
#include "float_activations.h"
#undef QK_LEVEL_NAME
#undef QK_LEVEL_TARGET

#define QK_LEVEL_NAME(name) name##_avx512
#define QK_LEVEL_TARGET __attribute__((target("avx512f,avx512vl,avx512bw")))
#include "float_activations.h"
#undef QK_LEVEL_NAME
#undef QK_LEVEL_TARGET

/* Calls `name` at the active level (detected, capped by QUARRY_KERNEL_LEVEL or qk_set_level). */
#define QK_DISPATCH(name, ...)                                                                     \
    switch (qk_active_level()) {                                                                   \
    case QK_LEVEL_AVX512: name##_avx512(__VA_ARGS__); return;                                      \
    case QK_LEVEL_AVX2: name##_avx2(__VA_ARGS__); return;                                          \
    default: name##_portable(__VA_ARGS__); return;                                                 \
    }
#else
#define QK_DISPATCH(name, ...) name##_portable(__VA_ARGS__)
#endif

void qk_gelu_erf_f32(float *values, size_t n) { QK_DISPATCH(gelu_erf, values, n); }

void qk_gelu_tanh_f32(float *values, size_t n) { QK_DISPATCH(gelu_tanh, values, n); }

void qk_silu_f32(float *values, size_t n) { QK_DISPATCH(silu, values, n); }

void qk_softmax_f32(float *values, size_t n) {
    if (n == 0) return;
    QK_DISPATCH(softmax, values, n);
}

void qk_relu_f32(float *values, size_t n) {
    for (size_t i = 0; i < n; i++) values[i] = values[i] > 0.0f ? values[i] : 0.0f;
}

void qk_multiply_f32(float *values, const float *factors, size_t n) {
    for (size_t i = 0; i < n; i++) values[i] *= factors[i];
}

void qk_layer_norm_f32(float *values, size_t rows, size_t width, const float *gain,
                       const float *shift, float epsilon) {
    for (size_t row = 0; row < rows; row++) {
        float *x = values + row * width;
        float mean = qk_sum(x, width) / (float)width;
        for (size_t i = 0; i < width; i++) x[i] -= mean;
        float variance = qk_sum_squares(x, width) / (float)width;
        float scale = 1.0f / sqrtf(variance + epsilon);
        for (size_t i = 0; i < width; i++) x[i] = x[i] * scale * gain[i] + shift[i];
    }
}

void qk_rms_norm_f32(const float *input, float *output, size_t rows, size_t width,
                     const float *gain, float epsilon) {
    for (size_t row = 0; row < rows; row++) {
        const float *x = input + row * width;
        float *y = output + row * width;
        float scale = 1.0f / sqrtf(qk_sum_squares(x, width) / (float)width + epsilon);
        for (size_t i = 0; i < width; i++) y[i] = gain[i] * (x[i] * scale);
    }
}
