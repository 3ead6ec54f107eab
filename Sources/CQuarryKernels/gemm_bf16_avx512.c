/* The BF16 matrix product with AVX-512 BF16 (vdpbf16ps: pairs of BF16 products added to F32
 * lanes) and the rounding of activations to BF16 (vcvtne2ps2bf16). Compiled with per-function
 * target attributes, so the file builds for baseline x86-64; gemm_bf16.c calls it only at the
 * AVX-512 level on CPUs that report AVX512_BF16. Elsewhere it is empty.
 *
 * A tile is up to 6 activation rows × 4 weight panels (64 output channels), as in the VNNI
 * kernel: 24 accumulators, each 64-byte weight load used by 6 rows and each broadcast pair of
 * activations by 4 panels. The epilogue adds bias and target in the portable kernel's order. */

#pragma STDC FP_CONTRACT OFF

#include "dispatch.h"

#if QK_X86

#include <immintrin.h>
#include <string.h>

#define QK_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define QK_INLINE static inline __attribute__((always_inline))

enum { TILE_ROWS = 6, TILE_PANELS = 4 };

QK_BF16 void qk_round_rows_bf16_avx512(const float *x, size_t m, size_t k, size_t ldx,
                                       uint16_t *out, size_t ldo) {
    for (size_t row = 0; row < m; row++) {
        const float *values = x + row * ldx;
        uint16_t *target = out + row * ldo;
        size_t i = 0;
        for (; i + 32 <= k; i += 32) {
            const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(values + i + 16), _mm512_loadu_ps(values + i));
            _mm512_storeu_si512((void *)(target + i), (__m512i)pair);
        }
        for (; i < k; i += 16) {
            const size_t width = k - i < 16 ? k - i : 16;
            const __mmask16 mask = (__mmask16)(width == 16 ? 0xffffu : (1u << width) - 1u);
            const __m256bh half = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, values + i));
            _mm256_mask_storeu_epi16(target + i, mask, (__m256i)half);
        }
        for (i = k; i < ldo; i++) target[i] = 0;
    }
}

QK_INLINE QK_BF16 void tile(const uint16_t *a, size_t lda, size_t pairs, const uint16_t *panels,
                            size_t first_column, size_t n, size_t first_row, const float *bias,
                            int accumulate, float *out, size_t ldo, int rows, int panel_count) {
    const size_t panel_stride = pairs * 32;
    __m512 acc[TILE_ROWS][TILE_PANELS];
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < panel_count; p++) acc[r][p] = _mm512_setzero_ps();
    for (size_t g = 0; g < pairs; g++) {
        __m512bh weights[TILE_PANELS];
        for (int p = 0; p < panel_count; p++)
            weights[p] = (__m512bh)_mm512_loadu_si512((const void *)(panels + p * panel_stride + g * 32));
        for (int r = 0; r < rows; r++) {
            int32_t word;
            memcpy(&word, a + r * lda + g * 2, 4);
            const __m512bh activations = (__m512bh)_mm512_set1_epi32(word);
            for (int p = 0; p < panel_count; p++)
                acc[r][p] = _mm512_dpbf16_ps(acc[r][p], activations, weights[p]);
        }
    }
    for (int p = 0; p < panel_count; p++) {
        const size_t column = first_column + (size_t)p * 16;
        const size_t width = n - column < 16 ? n - column : 16;
        const __mmask16 mask = (__mmask16)(width == 16 ? 0xffffu : (1u << width) - 1u);
        for (int r = 0; r < rows; r++) {
            __m512 value = acc[r][p];
            if (bias != NULL) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, bias + column));
            float *target = out + (first_row + (size_t)r) * ldo + column;
            if (accumulate) value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, target), value);
            _mm512_mask_storeu_ps(target, mask, value);
        }
    }
}

/* One call of `tile` per shape, so each is compiled with constant bounds. */
#define QK_TILE_CASE(R, P)                                                                         \
    case (R) * 8 + (P):                                                                            \
        tile(a, lda, pairs, panels, first_column, n, first_row, bias, accumulate, out, ldo, R, P); \
        return;
#define QK_TILE_ROW_CASES(R) QK_TILE_CASE(R, 1) QK_TILE_CASE(R, 2) QK_TILE_CASE(R, 3) QK_TILE_CASE(R, 4)

static QK_BF16 void tile_of_shape(int rows, int panel_count, const uint16_t *a, size_t lda,
                                  size_t pairs, const uint16_t *panels, size_t first_column,
                                  size_t n, size_t first_row, const float *bias, int accumulate,
                                  float *out, size_t ldo) {
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

QK_BF16 void qk_gemm_bf16_avx512(const uint16_t *a, size_t lda, size_t m, size_t k,
                                 const uint16_t *packed, size_t n, const float *bias,
                                 int accumulate, float *out, size_t ldo) {
    const size_t pairs = (k + 1) / 2;
    /* Blocks of activation rows of about 96 KiB (L2) are each swept by every strip of 64
     * output channels, a tile of 6 rows at a time. */
    const size_t row_bytes = lda * sizeof(uint16_t);
    size_t block_rows = (96 * 1024 / (row_bytes > 0 ? row_bytes : 1)) / TILE_ROWS * TILE_ROWS;
    if (block_rows < TILE_ROWS) block_rows = TILE_ROWS;
    for (size_t block = 0; block < m; block += block_rows) {
        const size_t block_end = m - block < block_rows ? m : block + block_rows;
        for (size_t first_column = 0; first_column < n; first_column += 16 * TILE_PANELS) {
            const size_t panels_left = (n - first_column + 15) / 16;
            const int panel_count = panels_left < TILE_PANELS ? (int)panels_left : TILE_PANELS;
            const uint16_t *panels = packed + (first_column / 16) * pairs * 32;
            for (size_t first_row = block; first_row < block_end; first_row += TILE_ROWS) {
                const int rows = block_end - first_row < TILE_ROWS ? (int)(block_end - first_row) : TILE_ROWS;
                tile_of_shape(rows, panel_count, a + first_row * lda, lda, pairs, panels,
                              first_column, n, first_row, bias, accumulate, out, ldo);
            }
        }
    }
}

#endif
