/* The INT8 matrix product with AVX2 (no VNNI): the activations are widened to 16 bits and the
 * weights sign-extended to 16 bits, so vpmaddwd forms two exact products a 32-bit lane and sums
 * them exactly (vpmaddubsw would saturate its 16-bit sums with unsigned bytes up to 255).
 * Compiled with per-function target attributes, so the file builds for baseline x86-64;
 * gemm_int8.c calls it only at the AVX2 level, which dispatch.c grants only when cpuid and
 * xgetbv report AVX2. Elsewhere it is empty.
 *
 * The packed layout is the one every level shares (gemm_int8.c): per panel of 16 output
 * channels, 64 bytes a group of 4 inner values. 16 of those bytes (4 channels × 4 values)
 * sign-extend to one register of 16 words. A block of activation rows is first widened to
 * words with the 128 offset already taken off (a - 128, as the portable kernel does), so each
 * row's 4 values of a group are one 64-bit broadcast. A tile is up to 6 rows × 8 channels:
 * 12 accumulators of the 16 registers, each widened weight register used by 6 rows. vpmaddwd
 * leaves each channel's sum in two lanes, added once a tile (vphaddd). The float form is
 * dequantized with the same operations in the same order as the portable kernel, so both give
 * the same bits. On AMD Zen 3 (no VNNI) this measured 1.3-1.5× OpenBLAS sgemm's rate at
 * all-MiniLM-L6-v2's shapes, activation quantization included (Benchmarks/encoder/
 * gemm_int8_bench.c); the portable kernel runs at a thirtieth of sgemm's. */

#pragma STDC FP_CONTRACT OFF

#include "dispatch.h"

#if QK_X86

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define QK_AVX2 __attribute__((target("avx2")))
#define QK_INLINE static inline __attribute__((always_inline))

/* Two registers of 4 channels each (channel_sums pairs them): 8 channels, half a packed panel. */
enum { TILE_ROWS = 6, TILE_VECTORS = 2, TILE_CHANNELS = TILE_VECTORS * 4 };

/* Activation words widened per block: about 96 KiB, so the block stays in L2 while every strip
 * of channels sweeps it. */
enum { BLOCK_BYTES = 96 * 1024 };

/* Writes rows [0, rows) of `a` as 16-bit a - 128 into `wide` (rows of `width` words: k rounded
 * up to 4); the words past k are zero, as the portable kernel ignores those bytes. */
static QK_AVX2 void widen_rows(const uint8_t *a, size_t lda, size_t rows, size_t k, int16_t *wide,
                               size_t width) {
    const __m256i offset = _mm256_set1_epi16(128);
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *source = a + r * lda;
        int16_t *target = wide + r * width;
        size_t i = 0;
        for (; i + 16 <= k; i += 16) {
            const __m256i words = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(source + i)));
            _mm256_storeu_si256((__m256i *)(target + i), _mm256_sub_epi16(words, offset));
        }
        for (; i < k; i++) target[i] = (int16_t)((int)source[i] - 128);
        for (; i < width; i++) target[i] = 0;
    }
}

/* Eight channels' exact sums from one row's two accumulators: vphaddd adds each channel's two
 * lanes, leaving channels 0, 1, 4, 5 | 2, 3, 6, 7; the 64-bit permute puts them in order. */
QK_INLINE QK_AVX2 __m256i channel_sums(__m256i first_four, __m256i second_four) {
    const __m256i paired = _mm256_hadd_epi32(first_four, second_four);
    return _mm256_permute4x64_epi64(paired, _MM_SHUFFLE(3, 1, 2, 0));
}

/* The columns of a strip that exist: all 8, or the first few (masked loads and stores, slow on
 * AMD, are kept for the last strip). */
typedef struct {
    int all;
    __m256i mask;
} columns;

QK_INLINE QK_AVX2 __m256 load_columns(columns which, const float *p) {
    return which.all ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, which.mask);
}

QK_INLINE QK_AVX2 void store_columns(columns which, float *p, __m256 values) {
    if (which.all)
        _mm256_storeu_ps(p, values);
    else
        _mm256_maskstore_ps(p, which.mask, values);
}

QK_INLINE QK_AVX2 void tile(const int16_t *wide, size_t width, size_t groups, const int8_t *strip,
                            size_t first_column, size_t n, size_t first_row, int32_t *c, size_t ldc,
                            const qk_gemm_epilogue *epilogue, int rows) {
    __m256i acc[TILE_ROWS][TILE_VECTORS];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < TILE_VECTORS; v++) acc[r][v] = _mm256_setzero_si256();
    for (size_t g = 0; g < groups; g++) {
        __m256i weights[TILE_VECTORS];
        for (int v = 0; v < TILE_VECTORS; v++)
            weights[v] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(strip + g * 64 + v * 16)));
        for (int r = 0; r < rows; r++) {
            int64_t quad;
            memcpy(&quad, wide + r * width + g * 4, 8);
            const __m256i activations = _mm256_set1_epi64x(quad);
            for (int v = 0; v < TILE_VECTORS; v++)
                acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(weights[v], activations));
        }
    }
    const size_t count = n - first_column < TILE_CHANNELS ? n - first_column : TILE_CHANNELS;
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const columns strip_columns = {count == TILE_CHANNELS,
                                   _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes)};
    for (int r = 0; r < rows; r++) {
        const size_t row = first_row + (size_t)r;
        const __m256i exact = channel_sums(acc[r][0], acc[r][1]);
        if (epilogue == NULL) {
            store_columns(strip_columns, (float *)(c + row * ldc + first_column),
                          _mm256_castsi256_ps(exact)); /* the integers' bits, unchanged */
            continue;
        }
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(epilogue->a_scales[row]),
                                           load_columns(strip_columns, epilogue->w_scales + first_column));
        __m256 value = _mm256_mul_ps(_mm256_cvtepi32_ps(exact), scale);
        if (epilogue->bias != NULL)
            value = _mm256_add_ps(value, load_columns(strip_columns, epilogue->bias + first_column));
        float *target = epilogue->out + row * epilogue->ldo + first_column;
        if (epilogue->accumulate) value = _mm256_add_ps(load_columns(strip_columns, target), value);
        store_columns(strip_columns, target, value);
    }
}

/* One call of `tile` per row count, so each is compiled with constant bounds (fully unrolled,
 * the accumulators in registers). */
#define QK_TILE_CASE(R)                                                                            \
    case R:                                                                                        \
        tile(wide, width, groups, strip, first_column, n, first_row, c, ldc, epilogue, R);         \
        return;

static QK_AVX2 void tile_of_rows(int rows, const int16_t *wide, size_t width, size_t groups,
                                 const int8_t *strip, size_t first_column, size_t n, size_t first_row,
                                 int32_t *c, size_t ldc, const qk_gemm_epilogue *epilogue) {
    switch (rows) {
        QK_TILE_CASE(1)
        QK_TILE_CASE(2)
        QK_TILE_CASE(3)
        QK_TILE_CASE(4)
        QK_TILE_CASE(5)
        QK_TILE_CASE(6)
    default: return;
    }
}

QK_AVX2 void qk_gemm_u8i8_avx2(const uint8_t *a, size_t lda, size_t m, size_t k,
                               const int8_t *packed, const int32_t *sums, size_t n, int32_t *c,
                               size_t ldc, const qk_gemm_epilogue *epilogue) {
    const size_t groups = (k + 3) / 4;
    const size_t width = groups * 4;
    size_t block_rows = BLOCK_BYTES / (width > 0 ? width * sizeof(int16_t) : 1) / TILE_ROWS * TILE_ROWS;
    if (block_rows < TILE_ROWS) block_rows = TILE_ROWS;
    if (block_rows > m) block_rows = m;
    int16_t *wide = malloc((block_rows * width > 0 ? block_rows * width : 1) * sizeof(int16_t));
    if (wide == NULL) { /* the same results, without the scratch */
        qk_gemm_u8i8_portable(a, lda, m, k, packed, sums, n, c, ldc, epilogue);
        return;
    }
    for (size_t block = 0; block < m; block += block_rows) {
        const size_t block_end = m - block < block_rows ? m : block + block_rows;
        widen_rows(a + block * lda, lda, block_end - block, k, wide, width);
        for (size_t first_column = 0; first_column < n; first_column += TILE_CHANNELS) {
            const int8_t *strip = packed + (first_column / 16) * groups * 64 + (first_column % 16) * 4;
            for (size_t first_row = block; first_row < block_end; first_row += TILE_ROWS) {
                const int rows = block_end - first_row < TILE_ROWS ? (int)(block_end - first_row) : TILE_ROWS;
                tile_of_rows(rows, wide + (first_row - block) * width, width, groups, strip,
                             first_column, n, first_row, c, ldc, epilogue);
            }
        }
    }
    free(wide);
}

#endif
