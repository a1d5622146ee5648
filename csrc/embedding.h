/* embedding.h: embedding lookup (gather of weight rows) and its gradient (scatter-add). */
#ifndef FNN_GENERIC
#ifndef FNN_EMBEDDING_H
#define FNN_EMBEDDING_H
#include "runtime.h"

/* Position (in [0, n)) of the first index outside [0, V), or -1 when all are in range. */
int64_t fnn_embedding_check(const int64_t *idx, int64_t n, int64_t V);

#define FNN_GENERIC "embedding.h"
#include "dtype.h"
#endif
#else

/* out (n, E) = w[idx[i]] for the n indices; w (V, E). Returns fnn_embedding_check(idx, n, V)
 * and writes nothing when that is not -1 (an index out of range). */
int64_t FNN(fnn_embedding_fwd)(real *out, const int64_t *idx, const real *w,
                               int64_t n, int64_t V, int64_t E);

/* dw (V, E) = sum over i with idx[i] == v of dout[i] (zeros for unused rows and for row pad
 * when 0 <= pad < V; pad < 0: no padding row). dout (n, E); every idx must be in [0, V) (the
 * forward checked them). Repeated indices accumulate in index order. */
void FNN(fnn_embedding_bwd)(real *dw, const real *dout, const int64_t *idx,
                            int64_t n, int64_t V, int64_t E, int64_t pad);

#endif
