/* Run-time selection of the kernel level.
 *
 * Each dispatched kernel is called through one function pointer. The pointers start out at
 * small "resolver" stubs that run the one-time initialisation (CPU detection, the
 * QUARRY_KERNEL_LEVEL cap) through pthread_once and then forward the call, so after the first
 * call the hot path is a single relaxed atomic load (a plain mov on x86) plus an indirect call.
 * qk_set_level may swap the table later; every level computes identical results, so a caller
 * racing with it merely runs one level or the other for that call. */

#include "dispatch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if QK_X86
#include <cpuid.h>
#endif

typedef void (*hamming_fn)(const uint8_t *, const uint8_t *, size_t, size_t, uint16_t *);
typedef void (*asymmetric_fn)(const uint8_t *, int, int32_t, const uint8_t *, size_t, size_t,
                              int32_t *);
typedef void (*asymmetric_gather_fn)(const uint8_t *, int, int32_t, const uint8_t *const *, size_t,
                                     size_t, int32_t *);
typedef int32_t (*dot_fn)(const int8_t *, const int8_t *, size_t);
typedef void (*dot_batch_fn)(const int8_t *, const int8_t *, size_t, size_t, size_t, int32_t *);
typedef void (*dot_gather_fn)(const int8_t *, const int8_t *const *, size_t, size_t, int32_t *);

/* ---- CPU detection ---------------------------------------------------------------------- */

#if QK_X86
/* XCR0: which register state the OS saves on context switch. Read only when CPUID reports
 * OSXSAVE, otherwise xgetbv faults. */
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int detect_level(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return QK_LEVEL_PORTABLE;
    const int has_popcnt = (ecx >> 23) & 1;
    const int has_osxsave = (ecx >> 27) & 1;
    const int has_avx = (ecx >> 28) & 1;
    if (!has_osxsave || !has_avx || !has_popcnt) return QK_LEVEL_PORTABLE;

    const uint64_t xcr0 = read_xcr0();
    const uint64_t ymm_state = 0x6;    /* XMM (bit 1) + upper YMM (bit 2) */
    const uint64_t zmm_state = 0xe0;   /* opmask (5), upper ZMM0-15 (6), ZMM16-31 (7) */
    if ((xcr0 & ymm_state) != ymm_state) return QK_LEVEL_PORTABLE;

    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return QK_LEVEL_PORTABLE;
    const int has_avx2 = (ebx >> 5) & 1;
    if (!has_avx2) return QK_LEVEL_PORTABLE;

    const int has_avx512f = (ebx >> 16) & 1;
    const int has_avx512bw = (ebx >> 30) & 1;
    const int has_avx512vl = (ebx >> 31) & 1;
    const int has_vnni = (ecx >> 11) & 1;      /* AVX512_VNNI */
    const int has_vpopcntdq = (ecx >> 14) & 1; /* AVX512_VPOPCNTDQ */
    if (has_avx512f && has_avx512bw && has_avx512vl && has_vnni && has_vpopcntdq &&
        (xcr0 & zmm_state) == zmm_state)
        return QK_LEVEL_AVX512;
    return QK_LEVEL_AVX2;
}

/* AVX512_BF16 (cpuid 7.1 eax bit 5), reported only where the AVX-512 level itself is. */
static int detect_avx512_bf16(void) {
    unsigned eax, ebx, ecx, edx;
    if (detect_level() != QK_LEVEL_AVX512 || !__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return 0;
    return (eax >> 5) & 1;
}
#else
static int detect_level(void) { return QK_LEVEL_PORTABLE; }
static int detect_avx512_bf16(void) { return 0; }
#endif

/* ---- dispatch table --------------------------------------------------------------------- */

static void hamming_resolve(const uint8_t *, const uint8_t *, size_t, size_t, uint16_t *);
static void asymmetric_resolve(const uint8_t *, int, int32_t, const uint8_t *, size_t, size_t,
                               int32_t *);
static void asymmetric_gather_resolve(const uint8_t *, int, int32_t, const uint8_t *const *,
                                      size_t, size_t, int32_t *);
static int32_t dot_resolve(const int8_t *, const int8_t *, size_t);
static void dot_batch_resolve(const int8_t *, const int8_t *, size_t, size_t, size_t, int32_t *);
static void dot_gather_resolve(const int8_t *, const int8_t *const *, size_t, size_t, int32_t *);

static _Atomic(hamming_fn) hamming_ptr = hamming_resolve;
static _Atomic(asymmetric_fn) asymmetric_ptr = asymmetric_resolve;
static _Atomic(asymmetric_gather_fn) asymmetric_gather_ptr = asymmetric_gather_resolve;
static _Atomic(dot_fn) dot_ptr = dot_resolve;
static _Atomic(dot_batch_fn) dot_batch_ptr = dot_batch_resolve;
static _Atomic(dot_gather_fn) dot_gather_ptr = dot_gather_resolve;

static int detected_level = QK_LEVEL_PORTABLE; /* written once under pthread_once */
static int detected_bf16 = 0;                   /* likewise */
static atomic_int active_level = QK_LEVEL_PORTABLE;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

#define STORE(ptr, fn) atomic_store_explicit(&(ptr), (fn), memory_order_release)
#define LOAD(ptr) atomic_load_explicit(&(ptr), memory_order_relaxed)

static void install_level(int level) {
    switch (level) {
#if QK_X86
    case QK_LEVEL_AVX512:
        STORE(hamming_ptr, qk_hamming_batch_avx512);
        STORE(asymmetric_ptr, qk_asymmetric_batch_avx512);
        STORE(asymmetric_gather_ptr, qk_asymmetric_gather_avx512);
        STORE(dot_ptr, qk_dot_i8_avx512);
        STORE(dot_batch_ptr, qk_dot_i8_batch_avx512);
        STORE(dot_gather_ptr, qk_dot_i8_gather_avx512);
        break;
    case QK_LEVEL_AVX2:
        STORE(hamming_ptr, qk_hamming_batch_avx2);
        STORE(asymmetric_ptr, qk_asymmetric_batch_avx2);
        STORE(asymmetric_gather_ptr, qk_asymmetric_gather_avx2);
        STORE(dot_ptr, qk_dot_i8_avx2);
        STORE(dot_batch_ptr, qk_dot_i8_batch_avx2);
        STORE(dot_gather_ptr, qk_dot_i8_gather_avx2);
        break;
#endif
    default:
        level = QK_LEVEL_PORTABLE;
        STORE(hamming_ptr, qk_hamming_batch_portable);
        STORE(asymmetric_ptr, qk_asymmetric_batch_portable);
        STORE(asymmetric_gather_ptr, qk_asymmetric_gather_portable);
        STORE(dot_ptr, qk_dot_i8_portable);
        STORE(dot_batch_ptr, qk_dot_i8_batch_portable);
        STORE(dot_gather_ptr, qk_dot_i8_gather_portable);
        break;
    }
    atomic_store_explicit(&active_level, level, memory_order_release);
}

/* Parses QUARRY_KERNEL_LEVEL; returns -1 when unset or unrecognised. */
static int level_from_environment(void) {
    const char *value = getenv("QUARRY_KERNEL_LEVEL");
    if (value == NULL || *value == '\0') return -1;
    if (strcasecmp(value, "portable") == 0 || strcmp(value, "0") == 0) return QK_LEVEL_PORTABLE;
    if (strcasecmp(value, "avx2") == 0 || strcmp(value, "1") == 0) return QK_LEVEL_AVX2;
    if (strcasecmp(value, "avx512") == 0 || strcmp(value, "2") == 0) return QK_LEVEL_AVX512;
    fprintf(stderr, "quarry: ignoring QUARRY_KERNEL_LEVEL=%s (expected portable|avx2|avx512)\n",
            value);
    return -1;
}

static void initialise(void) {
    detected_level = detect_level();
    detected_bf16 = detect_avx512_bf16();
    int level = detected_level;
    int cap = level_from_environment();
    if (cap >= 0 && cap < level) level = cap;
    install_level(level);
}

static inline void ensure_initialised(void) { pthread_once(&init_once, initialise); }

static void hamming_resolve(const uint8_t *q, const uint8_t *c, size_t cb, size_t n,
                            uint16_t *out) {
    ensure_initialised();
    LOAD(hamming_ptr)(q, c, cb, n, out);
}
static void asymmetric_resolve(const uint8_t *planes, int np, int32_t offset,
                               const uint8_t *codes, size_t cb, size_t n, int32_t *out) {
    ensure_initialised();
    LOAD(asymmetric_ptr)(planes, np, offset, codes, cb, n, out);
}
static void asymmetric_gather_resolve(const uint8_t *planes, int np, int32_t offset,
                                      const uint8_t *const *codes, size_t cb, size_t n,
                                      int32_t *out) {
    ensure_initialised();
    LOAD(asymmetric_gather_ptr)(planes, np, offset, codes, cb, n, out);
}
static int32_t dot_resolve(const int8_t *a, const int8_t *b, size_t dims) {
    ensure_initialised();
    return LOAD(dot_ptr)(a, b, dims);
}
static void dot_batch_resolve(const int8_t *q, const int8_t *v, size_t stride, size_t dims,
                              size_t n, int32_t *out) {
    ensure_initialised();
    LOAD(dot_batch_ptr)(q, v, stride, dims, n, out);
}
static void dot_gather_resolve(const int8_t *q, const int8_t *const *v, size_t n, size_t dims,
                               int32_t *out) {
    ensure_initialised();
    LOAD(dot_gather_ptr)(q, v, n, dims, out);
}

/* ---- public API ------------------------------------------------------------------------- */

int qk_detected_level(void) {
    ensure_initialised();
    return detected_level;
}

int qk_cpu_has_avx512_bf16(void) {
    ensure_initialised();
    return detected_bf16;
}

int qk_active_level(void) {
    ensure_initialised();
    return atomic_load_explicit(&active_level, memory_order_acquire);
}

int qk_set_level(int level) {
    ensure_initialised();
    if (level < QK_LEVEL_PORTABLE) level = QK_LEVEL_PORTABLE;
    if (level > detected_level) level = detected_level;
    install_level(level);
    return level;
}

void qk_hamming_batch(const uint8_t *query, const uint8_t *codes, size_t code_bytes, size_t n,
                      uint16_t *out) {
    LOAD(hamming_ptr)(query, codes, code_bytes, n, out);
}

void qk_asymmetric_batch(const uint8_t *planes, int nplanes, int32_t offset, const uint8_t *codes,
                         size_t code_bytes, size_t n, int32_t *out) {
    LOAD(asymmetric_ptr)(planes, nplanes, offset, codes, code_bytes, n, out);
}

void qk_asymmetric_distances_u16(const uint8_t *planes, int nplanes, int32_t offset, int32_t maximum,
                                 const uint8_t *codes, size_t code_bytes, size_t n, uint16_t *out) {
    int32_t scores[256];
    for (size_t start = 0; start < n; start += 256) {
        size_t count = n - start < 256 ? n - start : 256;
        LOAD(asymmetric_ptr)(planes, nplanes, offset, codes + start * code_bytes, code_bytes, count, scores);
        for (size_t i = 0; i < count; i++) out[start + i] = (uint16_t)(maximum - scores[i]);
    }
}

void qk_asymmetric_gather_distances_u16(const uint8_t *planes, int nplanes, int32_t offset,
                                        int32_t maximum, const uint8_t *const *codes,
                                        size_t code_bytes, size_t n, uint16_t *out) {
    int32_t scores[256];
    for (size_t start = 0; start < n; start += 256) {
        size_t count = n - start < 256 ? n - start : 256;
        LOAD(asymmetric_gather_ptr)(planes, nplanes, offset, codes + start, code_bytes, count, scores);
        for (size_t i = 0; i < count; i++) out[start + i] = (uint16_t)(maximum - scores[i]);
    }
}

int32_t qk_dot_i8(const int8_t *a, const int8_t *b, size_t dims) {
    return LOAD(dot_ptr)(a, b, dims);
}

void qk_dot_i8_batch(const int8_t *query, const int8_t *vectors, size_t stride, size_t dims,
                     size_t n, int32_t *out) {
    LOAD(dot_batch_ptr)(query, vectors, stride, dims, n, out);
}

void qk_dot_i8_gather(const int8_t *query, const int8_t *const *vectors, size_t n, size_t dims,
                      int32_t *out) {
    LOAD(dot_gather_ptr)(query, vectors, n, dims, out);
}
