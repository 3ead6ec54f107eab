/* The INT8 matrix product with AVX-512 VNNI (vpdpbusd: unsigned activation bytes times signed
 * weight bytes, four products a 32-bit lane). Compiled with per-function target attributes, so
 * the file builds for baseline x86-64; gemm_int8.c calls it only at the AVX-512 level, which
 * dispatch.c grants only when cpuid and xgetbv report AVX512_VNNI. Elsewhere it is empty.
 *
 * A tile is up to 6 activation rows × 4 weight panels (64 output channels): 24 accumulators
 * of the 32 registers, each 64-byte weight load used by 6 rows and each broadcast activation
 * word by 4 panels. Each accumulator then loses 128 × its channel's weight sum (the offset of
 * the unsigned activations) and, for the float form, is dequantized with the same operations
 * in the same order as the portable kernel, so both give the same bits. */

#pragma STDC FP_CONTRACT OFF

#include "dispatch.h"

#if QK_X86

#include <float.h>
#include <immintrin.h>
#include <string.h>

#define QK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define QK_INLINE static inline __attribute__((always_inline))

enum { TILE_ROWS = 6, TILE_PANELS = 4 };

QK_INLINE QK_VNNI void tile(const uint8_t *a, size_t lda, size_t groups, const int8_t *panels,
                            const int32_t *sums, size_t first_column, size_t n, size_t first_row,
                            int32_t *c, size_t ldc, const qk_gemm_epilogue *epilogue, int rows,
                            int panel_count) {
    const size_t panel_stride = groups * 64;
    __m512i acc[TILE_ROWS][TILE_PANELS];
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < panel_count; p++) acc[r][p] = _mm512_setzero_si512();
    for (size_t g = 0; g < groups; g++) {
        __m512i weights[TILE_PANELS];
        for (int p = 0; p < panel_count; p++)
            weights[p] = _mm512_loadu_si512((const void *)(panels + p * panel_stride + g * 64));
        for (int r = 0; r < rows; r++) {
            int32_t word;
            memcpy(&word, a + r * lda + g * 4, 4);
            const __m512i activations = _mm512_set1_epi32(word);
            for (int p = 0; p < panel_count; p++)
                acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], activations, weights[p]);
        }
    }
    for (int p = 0; p < panel_count; p++) {
        const size_t column = first_column + (size_t)p * 16;
        const size_t width = n - column < 16 ? n - column : 16;
        const __mmask16 mask = (__mmask16)(width == 16 ? 0xffffu : (1u << width) - 1u);
        const __m512i offset = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(mask, sums + column), 7);
        for (int r = 0; r < rows; r++) {
            const size_t row = first_row + (size_t)r;
            const __m512i exact = _mm512_sub_epi32(acc[r][p], offset);
            if (epilogue == NULL) {
                _mm512_mask_storeu_epi32(c + row * ldc + column, mask, exact);
                continue;
            }
            const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(epilogue->a_scales[row]),
                                               _mm512_maskz_loadu_ps(mask, epilogue->w_scales + column));
            __m512 value = _mm512_mul_ps(_mm512_cvtepi32_ps(exact), scale);
            if (epilogue->bias != NULL)
                value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, epilogue->bias + column));
            float *target = epilogue->out + row * epilogue->ldo + column;
            if (epilogue->accumulate) value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, target), value);
            _mm512_mask_storeu_ps(target, mask, value);
        }
    }
}

/* One call of `tile` per shape, so each is compiled with constant bounds (fully unrolled, the
 * accumulators in registers). */
#define QK_TILE_CASE(R, P)                                                                         \
    case (R) * 8 + (P):                                                                            \
        tile(a, lda, groups, panels, sums, first_column, n, first_row, c, ldc, epilogue, R, P);    \
        return;
#define QK_TILE_ROW_CASES(R) QK_TILE_CASE(R, 1) QK_TILE_CASE(R, 2) QK_TILE_CASE(R, 3) QK_TILE_CASE(R, 4)

static QK_VNNI void tile_of_shape(int rows, int panel_count, const uint8_t *a, size_t lda,
                                  size_t groups, const int8_t *panels, const int32_t *sums,
                                  size_t first_column, size_t n, size_t first_row, int32_t *c,
                                  size_t ldc, const qk_gemm_epilogue *epilogue) {
    switch (rows * 8 + panel_count) {
        QK_TILE_ROW_CASES(1)
        QK_TILE_ROW_CASES(2)
        QK_TILE_ROW_CASES(3)
        QK_TILE_ROW_CASES(4)
        QK_TILE_ROW_CASES(5)
        QK_TILE_ROW_CASES(6)
    default: return;
    }
}

/* Per-row quantization as qk_quantize_rows_u8_portable does it, 16 values a step: the same
 * maximum, the same product by 127 / max, the same clamp, and vcvtps2dq rounds to nearest
 * even as the portable rounding trick does (MXCSR's default mode), so the bytes are equal. */
QK_VNNI void qk_quantize_rows_u8_avx512(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q,
                                        size_t ldq, float *scales) {
    const __m512 limit = _mm512_set1_ps(FLT_MAX);
    for (size_t row = 0; row < m; row++) {
        const float *values = x + row * ldx;
        uint8_t *target = q + row * ldq;
        __m512 largest = _mm512_setzero_ps();
        __mmask16 finite = 0xffff;
        for (size_t i = 0; i < k; i += 16) {
            const __mmask16 mask = k - i >= 16 ? 0xffff : (__mmask16)((1u << (k - i)) - 1u);
            const __m512 magnitude = _mm512_abs_ps(_mm512_maskz_loadu_ps(mask, values + i));
            finite &= _mm512_cmp_ps_mask(magnitude, limit, _CMP_LE_OQ); /* false for inf, NaN */
            largest = _mm512_max_ps(largest, magnitude);
        }
        const float top = _mm512_reduce_max_ps(largest);
        if (finite != 0xffff || !(top > 0)) {
            memset(target, 128, ldq);
            scales[row] = 0;
            continue;
        }
        const __m512 inverse = _mm512_set1_ps(127.0f / top);
        const __m512 high = _mm512_set1_ps(127.0f), low = _mm512_set1_ps(-127.0f);
        const __m512i offset = _mm512_set1_epi32(128);
        for (size_t i = 0; i < k; i += 16) {
            const __mmask16 mask = k - i >= 16 ? 0xffff : (__mmask16)((1u << (k - i)) - 1u);
            __m512 scaled = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, values + i), inverse);
            scaled = _mm512_max_ps(_mm512_min_ps(scaled, high), low);
            const __m512i shifted = _mm512_add_epi32(_mm512_cvtps_epi32(scaled), offset);
            _mm_mask_storeu_epi8(target + i, mask, _mm512_cvtepi32_epi8(shifted));
        }
        if (ldq > k) memset(target + k, 128, ldq - k);
        scales[row] = top / 127.0f;
    }
}

QK_VNNI void qk_gemm_u8i8_avx512(const uint8_t *a, size_t lda, size_t m, size_t k,
                                 const int8_t *packed, const int32_t *sums, size_t n, int32_t *c,
                                 size_t ldc, const qk_gemm_epilogue *epilogue) {
    const size_t groups = (k + 3) / 4;
    /* Blocks of activation rows small enough to stay in L2 (about 96 KiB) are each swept by
     * every strip of 64 output channels (at K = 1,536 another 96 KiB of weights), a tile of 6
     * rows at a time. */
    size_t block_rows = (96 * 1024 / (lda > 0 ? lda : 1)) / TILE_ROWS * TILE_ROWS;
    if (block_rows < TILE_ROWS) block_rows = TILE_ROWS;
    for (size_t block = 0; block < m; block += block_rows) {
        const size_t block_end = m - block < block_rows ? m : block + block_rows;
        for (size_t first_column = 0; first_column < n; first_column += 16 * TILE_PANELS) {
            const size_t panels_left = (n - first_column + 15) / 16;
            const int panel_count = panels_left < TILE_PANELS ? (int)panels_left : TILE_PANELS;
            const int8_t *panels = packed + (first_column / 16) * groups * 64;
            for (size_t first_row = block; first_row < block_end; first_row += TILE_ROWS) {
                const int rows = block_end - first_row < TILE_ROWS ? (int)(block_end - first_row) : TILE_ROWS;
                tile_of_shape(rows, panel_count, a + first_row * lda, lda, groups, panels, sums,
                              first_column, n, first_row, c, ldc, epilogue);
            }
        }
    }
}

#endif
