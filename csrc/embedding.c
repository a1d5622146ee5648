/* embedding.c: embedding lookup and its gradient.
 *
 * Forward: every index is checked first (out-of-range indices are reported to the caller,
 * which raises ValueError; nothing is read out of bounds), then rows are copied, threads
 * splitting the indices. Backward: a scatter-add into a dense zeroed dw. Repeated indices make
 * a split over indices race, so threads split the embedding columns instead: each thread walks
 * all indices in order and adds its own column block, which also keeps the summation order
 * (and so the result) the same for any thread count.
 */
#ifndef FNN_GENERIC
#include "fastnn.h"

/* Elements per thread worth forking for. */
#define FNN_EMB_GRAIN 65536
/* Column blocks are multiples of this (whole 64-byte lines of float32). */
#define FNN_EMB_COL_ALIGN 16

int64_t fnn_embedding_check(const int64_t *idx, int64_t n, int64_t V)
{
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= V)
            return i;
    return -1;
}

#define FNN_GENERIC "embedding.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

int64_t FNN(fnn_embedding_fwd)(real *out, const int64_t *idx, const real *w,
                               int64_t n, int64_t V, int64_t E)
{
    int64_t bad = fnn_embedding_check(idx, n, V);
    if (bad >= 0)
        return bad;
    int nt = fnn_threads_for(n * E, FNN_EMB_GRAIN);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * E, w + idx[i] * E, (size_t)E * sizeof(real));
    return -1;
}

void FNN(fnn_embedding_bwd)(real *dw, const real *dout, const int64_t *idx,
                            int64_t n, int64_t V, int64_t E, int64_t pad)
{
    int64_t blocks = (E + FNN_EMB_COL_ALIGN - 1) / FNN_EMB_COL_ALIGN;
    int nt = fnn_threads_for((n + V) * E, FNN_EMB_GRAIN);
    if (nt > blocks)
        nt = (int)blocks;
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        /* zero dw by contiguous ranges of rows (a split by columns made each thread write every
         * row in strided pieces: 2 threads were slower than 1), then add up by columns, so that
         * each dw element is summed by one thread in index order (no races, deterministic) */
        int64_t v0, v1, e0, e1;
        fnn_thread_range(V, 1, &v0, &v1);
        memset(dw + v0 * E, 0, (size_t)((v1 - v0) * E) * sizeof(real));
        #pragma omp barrier
        fnn_thread_range(E, FNN_EMB_COL_ALIGN, &e0, &e1);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = idx[i];
            if (v == pad)
                continue;
            real *restrict row = dw + v * E;
            const real *restrict g = dout + i * E;
            for (int64_t e = e0; e < e1; e++)
                row[e] += g[e];
        }
    }
}

#endif
