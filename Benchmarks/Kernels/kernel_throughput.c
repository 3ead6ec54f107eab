/* Build (from the repo root; -O2 is what SwiftPM release builds use for C): clang -O2 -ISources/CQuarryKernels/include Sources/CQuarryKernels/[a-z]*.c Benchmarks/Kernels/kernel_throughput.c -lpthread -o /tmp/kernel_throughput */

/* Single-thread throughput of the CQuarryKernels kernels at every level this CPU supports.
 * Prints the best of several repetitions; a manual check, not a test. */

#include "QuarryKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t random_byte(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static void fill(void *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) ((uint8_t *)p)[i] = random_byte();
}

static volatile uint64_t sink;

/* Million items per second for the best of `reps` runs of `items` items each. */
#define BEST_RATE(reps, items, body)                                                               \
    ({                                                                                             \
        double best = 1e30;                                                                        \
        for (int r_ = 0; r_ < (reps); r_++) {                                                      \
            double t0_ = now();                                                                    \
            body;                                                                                  \
            double t_ = now() - t0_;                                                               \
            if (t_ < best) best = t_;                                                              \
        }                                                                                          \
        (double)(items) / best / 1e6;                                                              \
    })

int main(void) {
    const char *names[] = {"portable", "avx2", "avx512"};
    const size_t big = 64u << 20;
    uint8_t *codes = malloc(big + 64);
    int8_t *vectors = malloc(big + 64);
    uint8_t query[4096];
    int8_t q8[4096];
    fill(codes, big + 64);
    fill(vectors, big + 64);
    fill(query, sizeof query);
    fill(q8, sizeof q8);
    uint16_t *dist = malloc(sizeof(uint16_t) * (big / 8));
    int32_t *scores = malloc(sizeof(int32_t) * (big / 8));

    /* Scattered rescoring candidates: 65536 random 1024-dim vectors (64 MiB, twice the L3 of
     * the machine this was written on) out of a 256 MiB map. */
    enum { CANDIDATES = 65536 };
    const size_t pool_bytes = 256u << 20;
    int8_t *pool = malloc(pool_bytes);
    fill(pool, pool_bytes);
    const int8_t **gather = malloc(sizeof(int8_t *) * CANDIDATES);
    for (size_t i = 0; i < CANDIDATES; i++) {
        size_t slot = ((size_t)random_byte() << 16 | (size_t)random_byte() << 8 | random_byte()) %
                      (pool_bytes / 1024);
        gather[i] = pool + slot * 1024;
    }

    for (int level = 0; level <= qk_detected_level(); level++) {
        qk_set_level(level);
        printf("== %s\n", names[qk_active_level()]);
        for (size_t cb = 128; cb <= 320; cb += 192) {
            size_t n = big / cb;
            double rate = BEST_RATE(5, n, qk_hamming_batch(query, codes, cb, n, dist));
            size_t nl2 = (256u << 10) / cb;
            double rate_l2 =
                BEST_RATE(50, nl2 * 20, for (int k = 0; k < 20; k++)
                                            qk_hamming_batch(query, codes, cb, nl2, dist));
            printf("hamming      %4zu B/code: %7.1f M codes/s (64 MiB), %7.1f M codes/s (256 KiB)\n",
                   cb, rate, rate_l2);
        }
        for (int np = 1; np <= 8; np *= 2) {
            size_t cb = 128, n = (256u << 10) / cb;
            double rate = BEST_RATE(50, n * 10, for (int k = 0; k < 10; k++)
                                                    qk_asymmetric_batch(query, np, 7, codes, cb, n,
                                                                        scores));
            printf("asymmetric    128 B/code, %d planes: %7.1f M codes/s (256 KiB)\n", np, rate);
        }
        {
            size_t dims = 1024, n = (384u << 10) / dims;
            double batch = BEST_RATE(50, n * 10, for (int k = 0; k < 10; k++)
                                                     qk_dot_i8_batch(q8, vectors, dims, dims, n,
                                                                     scores));
            double single = BEST_RATE(50, n * 10, for (int k = 0; k < 10; k++) for (size_t i = 0;
                                                                                      i < n; i++)
                                                      sink += (uint64_t)qk_dot_i8(
                                                          q8, vectors + i * dims, dims));
            double gathered =
                BEST_RATE(5, CANDIDATES, qk_dot_i8_gather(q8, gather, CANDIDATES, dims, scores));
            printf("dot_i8       1024 dims: batch %6.1f M/s, single %6.1f M/s (384 KiB); "
                   "gather %5.1f M/s (random in 256 MiB)\n",
                   batch, single, gathered);
        }
    }
    free(codes);
    free(vectors);
    free(dist);
    free(scores);
    free(gather);
    free(pool);
    return 0;
}
