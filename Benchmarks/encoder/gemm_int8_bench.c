/* The INT8 encoder GEMM at each kernel level against OpenBLAS sgemm, at all-MiniLM-L6-v2's layer
 * shapes, on one thread: GMAC/s of thread CPU time for activation quantization plus the INT8
 * product with the float epilogue (what QuantizedMatrix.apply runs), beside sgemm on the same
 * F32 inputs, and the ratio, in one run. Before timing it checks that every level writes the
 * portable kernel's floats bit for bit.
 *
 * Build and run from the repository root (no Swift build needed; clang as SwiftPM uses):
 *   clang -O2 -ISources/CQuarryKernels/include -ISources/CQuarryKernels \
 *       Benchmarks/encoder/gemm_int8_bench.c Sources/CQuarryKernels/[a-z]*.c \
 *       $(pkg-config --cflags --libs openblas) -lm -lpthread -o /tmp/gemm_int8_bench
 *   OPENBLAS_NUM_THREADS=1 /tmp/gemm_int8_bench [rows]
 */

#include "QuarryKernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    size_t n, k;
} layer_shape;

typedef struct {
    size_t m, n, k, stride;
    float *x, *weights, *w_scales, *bias, *out;
    uint8_t *activations;
    float *a_scales;
    int8_t *packed;
    int32_t *sums;
} layer_case;

/* The calling thread's CPU time: on a shared machine, time spent preempted does not count. */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float uniform(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static layer_case make_case(size_t m, size_t n, size_t k, unsigned seed) {
    layer_case c = {m, n, k, (k + 3) / 4 * 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    c.x = malloc(m * k * sizeof(float));
    c.weights = malloc(n * k * sizeof(float));
    c.w_scales = malloc(n * sizeof(float));
    c.bias = malloc(n * sizeof(float));
    c.out = malloc(m * n * sizeof(float));
    c.activations = malloc(m * c.stride);
    c.a_scales = malloc(m * sizeof(float));
    c.packed = malloc(qk_gemm_i8_packed_bytes(n, k));
    c.sums = malloc(n * sizeof(int32_t));
    int8_t *quantized = malloc(n * k);
    for (size_t i = 0; i < m * k; i++) c.x[i] = uniform(&seed);
    for (size_t i = 0; i < n * k; i++) {
        c.weights[i] = 0.05f * uniform(&seed);
        quantized[i] = (int8_t)(127.0f * uniform(&seed));
    }
    for (size_t j = 0; j < n; j++) {
        c.w_scales[j] = 0.001f;
        c.bias[j] = uniform(&seed);
    }
    qk_gemm_i8_pack(quantized, n, k, c.packed, c.sums);
    free(quantized);
    return c;
}

static void run_int8(const layer_case *c) {
    qk_quantize_rows_u8(c->x, c->m, c->k, c->k, c->activations, c->stride, c->a_scales);
    qk_gemm_u8i8_f32(c->activations, c->stride, c->m, c->k, c->packed, c->sums, c->n, c->a_scales,
                     c->w_scales, c->bias, 0, c->out, c->n);
}

static void run_sgemm(const layer_case *c) {
    for (size_t i = 0; i < c->m; i++) memcpy(c->out + i * c->n, c->bias, c->n * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->m, (int)c->n, (int)c->k, 1, c->x,
                (int)c->k, c->weights, (int)c->k, 1, c->out, (int)c->n);
}

/* Seconds a call of one batch of calls lasting at least 20 ms. */
static double timed_batch(void (*run)(const layer_case *), const layer_case *c) {
    int calls = 0;
    const double start = now();
    double elapsed;
    do {
        run(c);
        calls++;
        elapsed = now() - start;
    } while (elapsed < 0.02);
    return elapsed / calls;
}

enum { ROUNDS = 15, PORTABLE_ROUNDS = 2 };

int main(int argc, char **argv) {
    const size_t m = argc > 1 ? (size_t)atol(argv[1]) : 512;
    const layer_shape shapes[] = {{"q/k/v/o 384x384", 384, 384},
                                  {"intermediate 1536x384", 1536, 384},
                                  {"output 384x1536", 384, 1536}};
    const int detected = qk_detected_level();
    static const char *level_names[] = {"portable", "avx2", "avx512"};
    printf("rows %zu, detected level %s, one thread; GMAC/s (INT8 includes quantizing the rows)\n", m,
           level_names[detected]);
    printf("| layer | sgemm F32 |");
    for (int level = 0; level <= detected; level++) printf(" INT8 %s |", level_names[level]);
    printf(" INT8 %s / sgemm |\n|---|---:|", level_names[detected]);
    for (int level = 0; level <= detected; level++) printf("---:|");
    printf("---:|\n");
    int mismatches = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        layer_case c = make_case(m, shapes[s].n, shapes[s].k, 7u + (unsigned)s);
        float *reference = malloc(m * c.n * sizeof(float));
        qk_set_level(QK_LEVEL_PORTABLE);
        run_int8(&c);
        memcpy(reference, c.out, m * c.n * sizeof(float));
        for (int level = 1; level <= detected; level++) {
            qk_set_level(level);
            run_int8(&c);
            if (memcmp(reference, c.out, m * c.n * sizeof(float)) != 0) {
                printf("MISMATCH: %s at level %s\n", shapes[s].name, level_names[level]);
                mismatches++;
            }
        }
        /* Rounds of one batch per path in turn, the best batch of each counting, so a change of
         * load on a shared machine reaches every path alike. */
        double best[1 + 3];
        for (int path = 0; path <= detected + 1; path++) best[path] = 1e30;
        run_sgemm(&c);
        for (int round = 0; round < ROUNDS; round++) {
            for (int path = 0; path <= detected + 1; path++) {
                if (path == 1 && round >= PORTABLE_ROUNDS) continue; /* slow, and only for scale */
                double seconds;
                if (path == 0) {
                    seconds = timed_batch(run_sgemm, &c);
                } else {
                    qk_set_level(path - 1);
                    seconds = timed_batch(run_int8, &c);
                }
                if (seconds < best[path]) best[path] = seconds;
            }
        }
        const double macs = (double)m * (double)c.n * (double)c.k / 1e9;
        printf("| %s |", shapes[s].name);
        for (int path = 0; path <= detected + 1; path++) printf(" %.1f |", macs / best[path]);
        printf(" %.2fx |\n", best[0] / best[detected + 1]);
        free(reference);
    }
    return mismatches == 0 ? 0 : 1;
}
