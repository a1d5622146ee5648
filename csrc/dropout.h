/* dropout.h: inverted dropout with a counter-based mask.
 *
 * Element i (flat C-order index) is kept iff  (fnn_dropout_hash(key, i) >> 11) >= threshold,
 * i.e. iff the uniform double u_i = (hash >> 11) * 2^-53 in [0, 1) satisfies u_i >= p, with
 * threshold = ceil(p * 2^53) computed by the caller. The hash is splitmix64 seeded with key:
 * element i gets its (i+1)-th output,
 *     z = key + (i + 1) * 0x9e3779b97f4a7c15;
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *     hash = z ^ (z >> 31)        (all mod 2^64).
 * So the mask depends only on (key, p, i): not on the thread count, and the numpy twin
 * (fastnn/reference/dropout.py) reproduces it bit for bit. Nothing is stored between forward
 * and backward: the backward regenerates the mask from the key.
 */
#ifndef FNN_GENERIC
#ifndef FNN_DROPOUT_H
#define FNN_DROPOUT_H
#include "runtime.h"

static inline uint64_t fnn_dropout_hash(uint64_t key, uint64_t i)
{
    uint64_t z = key + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* keep (n,) = 1 where element i is kept, else 0. */
void fnn_dropout_mask(uint8_t *keep, int64_t n, uint64_t key, uint64_t threshold);

#define FNN_GENERIC "dropout.h"
#include "dtype.h"
#endif
#else

/* y (n,) = x * scale where kept, 0 elsewhere (scale = 1 / (1 - p)). */
void FNN(fnn_dropout_fwd)(real *y, const real *x, int64_t n, uint64_t key, uint64_t threshold, real scale);

/* dx (n,) = dy * scale where kept, 0 elsewhere: the forward's mask, regenerated from key. */
void FNN(fnn_dropout_bwd)(real *dx, const real *dy, int64_t n, uint64_t key, uint64_t threshold, real scale);

#endif
