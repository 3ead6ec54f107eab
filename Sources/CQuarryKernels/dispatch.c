#include "dispatch.h"

/* Portable-only dispatch for now; the SIMD paths register here. */
static int active_level = QK_LEVEL_PORTABLE;

int qk_detected_level(void) { return QK_LEVEL_PORTABLE; }
int qk_active_level(void) { return active_level; }
int qk_set_level(int level) {
    int detected = qk_detected_level();
    active_level = level < 0 ? 0 : (level > detected ? detected : level);
    return active_level;
}

void qk_hamming_batch(const uint8_t *query, const uint8_t *codes, size_t code_bytes, size_t n,
                      uint16_t *out) {
    qk_hamming_batch_portable(query, codes, code_bytes, n, out);
}

void qk_asymmetric_batch(const uint8_t *planes, int nplanes, int32_t offset, const uint8_t *codes,
                         size_t code_bytes, size_t n, int32_t *out) {
    qk_asymmetric_batch_portable(planes, nplanes, offset, codes, code_bytes, n, out);
}

int32_t qk_dot_i8(const int8_t *a, const int8_t *b, size_t dims) {
    return qk_dot_i8_portable(a, b, dims);
}
