#include "QuarryKernels.h"
#include "dispatch.h"

#include <string.h>

static inline uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

void qk_pack_signs_i8(const int8_t *values, size_t dims, uint8_t *out) {
    size_t bytes = (dims + 7) / 8;
    for (size_t b = 0; b < bytes; b++) {
        uint8_t byte = 0;
        for (size_t j = 0; j < 8; j++) {
            size_t i = b * 8 + j;
            if (i < dims && values[i] >= 0) byte |= (uint8_t)(0x80u >> j);
        }
        out[b] = byte;
    }
}

void qk_query_planes(const int8_t *values, size_t dims, int bits, size_t code_bytes, uint8_t *planes,
                     int32_t *maximum, int32_t *range) {
    int shift = 8 - bits;
    int32_t half = shift == 0 ? 0 : 1 << (shift - 1);
    int32_t offset = 1 << (bits - 1);
    int32_t highest = 0, span = 0;
    for (size_t b = 0; b < code_bytes; b++) {
        uint8_t unsigned_values[8] = {0}; /* dimensions past `dims` stay 0 in every plane */
        for (size_t j = 0; j < 8; j++) {
            size_t d = b * 8 + j;
            if (d >= dims) break;
            int32_t v = values[d];
            int32_t magnitude = v < 0 ? -v : v;
            int32_t rounded = (magnitude + half) >> shift;
            int32_t q = v < 0 ? -rounded : rounded;
            q = q < -offset ? -offset : (q > offset - 1 ? offset - 1 : q);
            highest += q > 0 ? q : 0;
            span += q < 0 ? -q : q;
            unsigned_values[j] = (uint8_t)(q + offset);
        }
        uint64_t word;
        memcpy(&word, unsigned_values, 8);
        for (int p = 0; p < bits; p++) {
            /* Bit p of each of the 8 bytes, gathered into one byte with byte j at bit 7 - j:
             * byte j's bit sits at 8j, and the multiplier moves it to 63 - j without carries. */
            uint64_t lows = (word >> p) & 0x0101010101010101ull;
            planes[(size_t)p * code_bytes + b] = (uint8_t)((lows * 0x8040201008040201ull) >> 56);
        }
    }
    *maximum = highest;
    *range = span;
}

void qk_pack_signs_f32(const float *values, size_t dims, uint8_t *out) {
    size_t bytes = (dims + 7) / 8;
    for (size_t b = 0; b < bytes; b++) {
        uint8_t byte = 0;
        for (size_t j = 0; j < 8; j++) {
            size_t i = b * 8 + j;
            if (i < dims && values[i] >= 0.0f) byte |= (uint8_t)(0x80u >> j);
        }
        out[b] = byte;
    }
}

void qk_hamming_batch_portable(const uint8_t *query, const uint8_t *codes, size_t code_bytes,
                               size_t n, uint16_t *out) {
    size_t words = code_bytes / 8;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *code = codes + i * code_bytes;
        uint32_t d = 0;
        for (size_t w = 0; w < words; w++)
            d += (uint32_t)__builtin_popcountll(load_u64(query + 8 * w) ^ load_u64(code + 8 * w));
        out[i] = (uint16_t)d;
    }
}

void qk_asymmetric_batch_portable(const uint8_t *planes, int nplanes, int32_t offset,
                                  const uint8_t *codes, size_t code_bytes, size_t n,
                                  int32_t *out) {
    size_t words = code_bytes / 8;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *code = codes + i * code_bytes;
        int32_t score = 0;
        int32_t ones = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t c = load_u64(code + 8 * w);
            ones += __builtin_popcountll(c);
            for (int p = 0; p < nplanes; p++) {
                uint64_t plane = load_u64(planes + (size_t)p * code_bytes + 8 * w);
                score += __builtin_popcountll(plane & c) << p;
            }
        }
        out[i] = score - offset * ones;
    }
}

void qk_asymmetric_gather_portable(const uint8_t *planes, int nplanes, int32_t offset,
                                   const uint8_t *const *codes, size_t code_bytes, size_t n,
                                   int32_t *out) {
    for (size_t i = 0; i < n; i++)
        qk_asymmetric_batch_portable(planes, nplanes, offset, codes[i], code_bytes, 1, out + i);
}

int32_t qk_dot_i8_portable(const int8_t *a, const int8_t *b, size_t dims) {
    int32_t sum = 0;
    for (size_t i = 0; i < dims; i++) sum += (int32_t)a[i] * (int32_t)b[i];
    return sum;
}

int64_t qk_norm2_i8(const int8_t *a, size_t dims) {
    int64_t sum = 0;
    for (size_t i = 0; i < dims; i++) sum += (int64_t)a[i] * (int64_t)a[i];
    return sum;
}

void qk_dot_i8_batch_portable(const int8_t *query, const int8_t *vectors, size_t stride,
                              size_t dims, size_t n, int32_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = qk_dot_i8_portable(query, vectors + i * stride, dims);
}

void qk_dot_i8_gather_portable(const int8_t *query, const int8_t *const *vectors, size_t n,
                               size_t dims, int32_t *out) {
    qk_gather_begin(vectors, n, dims);
    for (size_t i = 0; i < n; i++) {
        if (i + QK_GATHER_PREFETCH_AHEAD < n)
            qk_prefetch_vector(vectors[i + QK_GATHER_PREFETCH_AHEAD], dims);
        out[i] = qk_dot_i8_portable(query, vectors[i], dims);
    }
}

void qk_histogram_u16(const uint16_t *distances, size_t n, uint32_t *histogram) {
    for (size_t i = 0; i < n; i++) histogram[distances[i]]++;
}

size_t qk_select_below_u16(const uint16_t *distances, size_t n, uint32_t threshold, size_t ties,
                           uint32_t *out) {
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t d = distances[i];
        if (d < threshold) {
            out[written++] = (uint32_t)i;
        } else if (d == threshold && ties > 0) {
            out[written++] = (uint32_t)i;
            ties--;
        }
    }
    return written;
}

size_t qk_select_smallest_u16(const uint16_t *distances, size_t n, size_t m, uint16_t max_value,
                              uint32_t *histogram, uint32_t *out) {
    if (m == 0 || n == 0) return 0;
    if (m >= n) {
        for (size_t i = 0; i < n; i++) out[i] = (uint32_t)i;
        return n;
    }
    memset(histogram, 0, ((size_t)max_value + 1) * sizeof(uint32_t));
    qk_histogram_u16(distances, n, histogram);
    /* threshold: the smallest t with count(d <= t) >= m */
    size_t below = 0;
    uint32_t threshold = 0;
    for (;; threshold++) {
        if (below + histogram[threshold] >= m) break;
        below += histogram[threshold];
    }
    return qk_select_below_u16(distances, n, threshold, m - below, out);
}

void qk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void qk_range_mask_f64(const void *values, size_t n, double lower, double upper, uint64_t *words) {
    const uint8_t *bytes = values;
    for (size_t word = 0; word * 64 < n; word++) {
        size_t count = n - word * 64 < 64 ? n - word * 64 : 64;
        const uint8_t *start = bytes + 8 * 64 * word;
        uint64_t mask = 0;
        // A branch-free compare per value, which the compiler turns into vector compares.
        for (size_t bit = 0; bit < count; bit++) {
            double value;
            memcpy(&value, start + 8 * bit, 8);
            mask |= (uint64_t)((value >= lower) & (value <= upper)) << bit;
        }
        words[word] = mask;
    }
}
