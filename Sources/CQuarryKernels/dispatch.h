#ifndef QUARRY_KERNELS_DISPATCH_H
#define QUARRY_KERNELS_DISPATCH_H

#include "QuarryKernels.h"

void qk_hamming_batch_portable(const uint8_t *query, const uint8_t *codes, size_t code_bytes,
                               size_t n, uint16_t *out);
void qk_asymmetric_batch_portable(const uint8_t *planes, int nplanes, int32_t offset,
                                  const uint8_t *codes, size_t code_bytes, size_t n,
                                  int32_t *out);
int32_t qk_dot_i8_portable(const int8_t *a, const int8_t *b, size_t dims);

#endif
