/* Internal: the activation and softmax loops, included by float_kernels.c once per
 * instruction-set level with QK_LEVEL_NAME(name) (the function's name at that level) and
 * QK_LEVEL_TARGET (its target attribute) defined. No include guard on purpose. */

QK_LEVEL_TARGET static void QK_LEVEL_NAME(gelu_erf)(float *values, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = values[i];
        values[i] = 0.5f * x * (1.0f + qk_erf_poly(x * 0.70710678118654752f));
    }
}

QK_LEVEL_TARGET static void QK_LEVEL_NAME(gelu_tanh)(float *values, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = values[i];
        float y = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        /* tanh |y| = 1 - 2 / (e^(2|y|) + 1); the exp clamps, so large |y| gives exactly 1. */
        float magnitude = 1.0f - 2.0f / (qk_exp_poly(2.0f * fabsf(y)) + 1.0f);
        values[i] = 0.5f * x * (1.0f + copysignf(magnitude, y));
    }
}

QK_LEVEL_TARGET static void QK_LEVEL_NAME(silu)(float *values, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = values[i];
        values[i] = x / (1.0f + qk_exp_poly(-x));
    }
}

QK_LEVEL_TARGET static void QK_LEVEL_NAME(softmax)(float *values, size_t n) {
    float largest = qk_max(values, n);
    for (size_t i = 0; i < n; i++) values[i] = qk_exp_poly(values[i] - largest);
    float scale = 1.0f / qk_sum(values, n);
    for (size_t i = 0; i < n; i++) values[i] *= scale;
}
