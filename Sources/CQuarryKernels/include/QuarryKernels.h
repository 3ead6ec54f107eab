#ifndef QUARRY_KERNELS_H
#define QUARRY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels the kernels can run at. Higher levels are used only when the CPU
/// reports them (cpuid + xgetbv); the portable level is plain C and runs everywhere.
typedef enum {
    QK_LEVEL_PORTABLE = 0,
    QK_LEVEL_AVX2 = 1,   /* AVX2 + POPCNT */
    QK_LEVEL_AVX512 = 2, /* AVX-512 F/BW/VL + VPOPCNTDQ + VNNI */
} qk_level;

/// The highest level this CPU supports.
int qk_detected_level(void);
/// The level the kernels currently dispatch to.
int qk_active_level(void);
/// Forces the dispatch level (clamped to what the CPU supports); returns the level in effect.
/// Meant for tests and benchmarks that compare paths. The environment variable
/// QUARRY_KERNEL_LEVEL (portable|avx2|avx512) caps the level chosen at start-up.
int qk_set_level(int level);

/// Packs the signs of `dims` INT8 values into bits, most significant bit first
/// (bit 7 of byte 0 is dimension 0), bit = 1 when value >= 0. Writes (dims + 7) / 8 bytes;
/// unused trailing bits are zero.
void qk_pack_signs_i8(const int8_t *values, size_t dims, uint8_t *out);
/// Same for float values (bit = 1 when value >= 0).
void qk_pack_signs_f32(const float *values, size_t dims, uint8_t *out);

/// Rounds an INT8 query to `bits` bits a dimension (q' = round(q / 2^(8 - bits)), ties away from
/// zero, clamped to -2^(bits-1)...2^(bits-1) - 1) and writes the unsigned values q' + 2^(bits-1)
/// as `bits` planes of `code_bytes` bytes (least significant first, packed like the codes).
/// `maximum` receives the sum of the positive q' and `range` the sum of |q'|.
void qk_query_planes(const int8_t *values, size_t dims, int bits, size_t code_bytes, uint8_t *planes,
                     int32_t *maximum, int32_t *range);

/// Hamming distances of one query code against `n` contiguous codes of `code_bytes` bytes each.
/// `code_bytes` is a multiple of 8. Pointers need no particular alignment.
void qk_hamming_batch(const uint8_t *query, const uint8_t *codes, size_t code_bytes, size_t n,
                      uint16_t *out);

/// Asymmetric scores of a bit-plane query against `n` contiguous 1-bit codes:
/// out[i] = sum_{p < nplanes} (popcount(plane_p & code_i) << p) - offset * popcount(code_i).
/// `planes` holds nplanes planes of `code_bytes` bytes each, plane 0 (least significant) first.
/// Higher is more similar.
void qk_asymmetric_batch(const uint8_t *planes, int nplanes, int32_t offset, const uint8_t *codes,
                         size_t code_bytes, size_t n, int32_t *out);

/// The same scores as distances: out[i] = (uint16_t)(maximum - score_i), maximum being the
/// largest score any code can reach (so distances run from 0, nearest, upwards).
void qk_asymmetric_distances_u16(const uint8_t *planes, int nplanes, int32_t offset, int32_t maximum,
                                 const uint8_t *codes, size_t code_bytes, size_t n, uint16_t *out);

/// The same distances for `n` codes given by pointer (the survivors of a cheaper first scan,
/// scattered through the blocks it read): out[i] = maximum - score(codes[i]).
void qk_asymmetric_gather_distances_u16(const uint8_t *planes, int nplanes, int32_t offset,
                                        int32_t maximum, const uint8_t *const *codes,
                                        size_t code_bytes, size_t n, uint16_t *out);

/// Dot product of two INT8 vectors.
int32_t qk_dot_i8(const int8_t *a, const int8_t *b, size_t dims);

/// Dot products of one INT8 query against `n` contiguous INT8 vectors separated by `stride` bytes.
void qk_dot_i8_batch(const int8_t *query, const int8_t *vectors, size_t stride, size_t dims,
                     size_t n, int32_t *out);

/// Dot products of one INT8 query against `n` INT8 vectors of `dims` values given by pointer
/// (e.g. rescoring candidates scattered in a memory map): out[i] = dot(query, vectors[i]).
/// Prefetches the vectors a few positions ahead. Pointers need no particular alignment.
void qk_dot_i8_gather(const int8_t *query, const int8_t *const *vectors, size_t n, size_t dims,
                      int32_t *out);

/// Sum of squares of an INT8 vector.
int64_t qk_norm2_i8(const int8_t *a, size_t dims);

/// Selects the positions of the `m` smallest values among `n` distances in 0...max_value
/// (ties broken by lower position) with a counting pass instead of a heap; writes min(m, n)
/// positions to `out` in no particular order and returns how many it wrote. `histogram` is
/// caller scratch of max_value + 1 counters.
size_t qk_select_smallest_u16(const uint16_t *distances, size_t n, size_t m, uint16_t max_value,
                              uint32_t *histogram, uint32_t *out);

/// Sets bit i % 64 of words[i / 64] for each of the `n` float64 values (little-endian, any
/// alignment) with lower <= value <= upper, clearing the others (NaN lies in no range); writes
/// (n + 63) / 64 words. Filters' numeric range conditions over a column segment.
void qk_range_mask_f64(const void *values, size_t n, double lower, double upper, uint64_t *words);

/// Adds one to histogram[d] for each of the `n` distances d (the two halves of the selection
/// above, for callers that split a scan across threads and merge the counts).
void qk_histogram_u16(const uint16_t *distances, size_t n, uint32_t *histogram);
/// Writes, in position order, the positions of the distances below `threshold` and of the first
/// `ties` equal to it; returns how many it wrote.
size_t qk_select_below_u16(const uint16_t *distances, size_t n, uint32_t threshold, size_t ties,
                           uint32_t *out);

/// Tells the CPU the calling thread is busy-waiting (x86 PAUSE; nothing elsewhere).
void qk_spin_pause(void);

/* ---- F32 encoder kernels ----------------------------------------------------------------
 * Element-wise activations, softmax and the norms of the transformer encoders, in place on
 * contiguous row-major buffers. Plain C vectorised by the compiler (no per-level variants);
 * exp and erf are polynomials accurate to a few F32 ulps, not libm calls. */

/// GELU with the exact error function: x * (1 + erf(x / sqrt 2)) / 2.
void qk_gelu_erf_f32(float *values, size_t n);
/// GELU with the tanh approximation: x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2.
void qk_gelu_tanh_f32(float *values, size_t n);
/// SiLU: x / (1 + e^-x).
void qk_silu_f32(float *values, size_t n);
/// ReLU: max(x, 0).
void qk_relu_f32(float *values, size_t n);
/// values[i] *= factors[i].
void qk_multiply_f32(float *values, const float *factors, size_t n);
/// Numerically stable softmax of `n` values (the largest is subtracted before exponentiating).
void qk_softmax_f32(float *values, size_t n);
/// LayerNorm of `rows` rows of `width` values: (x - mean) / sqrt(variance + epsilon) * gain +
/// shift, with the biased variance (as PyTorch).
void qk_layer_norm_f32(float *values, size_t rows, size_t width, const float *gain,
                       const float *shift, float epsilon);
/// RMSNorm of `rows` rows of `width` values: gain * (x / sqrt(mean(x^2) + epsilon)), from
/// `input` into `output` (which may be `input`).
void qk_rms_norm_f32(const float *input, float *output, size_t rows, size_t width,
                     const float *gain, float epsilon);

/* ---- INT8 matrix products of the quantized encoders -------------------------------------
 * y = x Wᵀ with W [n, k] INT8 (one scale per output row, symmetric) and x quantized per row to
 * INT8 and stored offset-binary (q + 128, as VNNI's unsigned-by-signed vpdpbusd wants): the
 * products sum (x_u8 - 128) * w = sum x_u8 * w - 128 * sum w, so each column's weight sum is
 * kept beside the packed weights. The AVX-512 level uses VNNI; every level gives identical
 * results (the integer sums exactly, the dequantized floats bit for bit). */

/// Bytes of a packed [n, k] weight matrix: n rounded up to 16 times k rounded up to 4.
size_t qk_gemm_i8_packed_bytes(size_t n, size_t k);
/// Packs row-major INT8 weights `w` [n, k] into panels of 16 output rows × 4 inner values
/// (`packed` holds qk_gemm_i8_packed_bytes(n, k) bytes; padding is zero) and writes each row's
/// sum of weights to `sums` [n].
void qk_gemm_i8_pack(const int8_t *w, size_t n, size_t k, int8_t *packed, int32_t *sums);
/// Quantizes `m` rows of `k` floats (row stride `ldx`) per row: scale = max|x| / 127 (0 for an
/// all-zero row), q = x / scale rounded to nearest even, written as q + 128 to rows of `ldq`
/// bytes (ldq >= k rounded up to 4; the padding bytes are written as 128); scales[m].
void qk_quantize_rows_u8(const float *x, size_t m, size_t k, size_t ldx, uint8_t *q, size_t ldq,
                         float *scales);
/// c[i, j] = sum_k (a[i, k] - 128) * w[j, k] exactly, for offset-binary rows `a` of `lda` bytes
/// (lda >= k rounded up to 4; bytes past k are ignored) and packed weights with their sums.
void qk_gemm_u8i8_i32(const uint8_t *a, size_t lda, size_t m, size_t k, const int8_t *packed,
                      const int32_t *sums, size_t n, int32_t *c, size_t ldc);
/// The same products dequantized: v = (float)c[i, j] * (a_scales[i] * w_scales[j]), plus
/// bias[j] when `bias` is not NULL; written to out[i, j], or added to it when `accumulate`.
void qk_gemm_u8i8_f32(const uint8_t *a, size_t lda, size_t m, size_t k, const int8_t *packed,
                      const int32_t *sums, size_t n, const float *a_scales, const float *w_scales,
                      const float *bias, int accumulate, float *out, size_t ldo);

/* ---- BF16 matrix products of the encoders -----------------------------------------------
 * y = x Wᵀ with W [n, k] and x rounded to BF16 (to nearest, ties to even), products summed in
 * F32: AVX-512 BF16 (vdpbf16ps) at the AVX-512 level on CPUs that have it, else portable C that
 * computes the same thing in the same order (bit for bit, outside F32's subnormal range). */

/// Whether this CPU has AVX512_BF16 (and the AVX-512 level's other features).
int qk_cpu_has_avx512_bf16(void);
/// Whether the BF16 product runs on AVX-512 BF16 at the active level (else portable C).
int qk_gemm_bf16_native(void);
/// `value` rounded to BF16, to nearest with ties to even; subnormals become signed zero, NaN
/// stays a (quiet) NaN.
uint16_t qk_bf16_from_f32(float value);
/// The BF16 `value` widened to F32 (exact).
float qk_f32_from_bf16(uint16_t value);
/// Elements of a packed [n, k] BF16 weight matrix: n rounded up to 16 times k rounded up to 2.
size_t qk_gemm_bf16_packed_count(size_t n, size_t k);
/// Rounds row-major F32 weights `w` [n, k] to BF16 and packs them into panels of 16 output
/// rows × 2 inner values (`packed` holds qk_gemm_bf16_packed_count(n, k) elements; padding is
/// zero).
void qk_gemm_bf16_pack(const float *w, size_t n, size_t k, uint16_t *packed);
/// Rounds `m` rows of `k` floats (row stride `ldx`) to BF16 rows of `ldo` elements (ldo >= k
/// rounded up to 2), writing zeros past k.
void qk_round_rows_bf16(const float *x, size_t m, size_t k, size_t ldx, uint16_t *out, size_t ldo);
/// out[i, j] = sum_k a[i, k] * w[j, k] (+ bias[j] when `bias` is not NULL), written or, with
/// `accumulate`, added to out[i, j]; `a` holds BF16 rows of `lda` elements (lda >= k rounded
/// up to 2; the padding element must be finite, as qk_round_rows_bf16 writes it).
void qk_gemm_bf16_f32(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *packed,
                      size_t n, const float *bias, int accumulate, float *out, size_t ldo);

#ifdef __cplusplus
}
#endif

#endif
