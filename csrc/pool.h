/* pool.h: 2-D max, average and global average pooling (NCHW), forward and backward.
 *
 * Geometry, for planes x (h, w):  h_out = floor((h + 2 ph - kh) / sh) + 1 (w_out likewise), or
 * with ceil_mode the ceiling, less one if that last window would start past h + ph (PyTorch's
 * rule); the Python layer computes it. It checked every size: kernel and stride positive,
 * 0 <= padding <= kernel / 2 (so every window holds at least one real pixel), and the kernel
 * fits the padded input. Windows are clipped to the input: padding is -inf for max and 0 for
 * average pooling; with count_include_pad the divisor counts the padding but not the part of a
 * ceil_mode window past the padded input.
 */
#ifndef FNN_GENERIC
#ifndef FNN_POOL_H
#define FNN_POOL_H
#include "runtime.h"

typedef struct {
    int64_t n, c, h, w;            /* input (N, C, H, W) */
    int64_t kh, kw, sh, sw, ph, pw;
    int64_t h_out, w_out;
} fnn_pool_geom;

#define FNN_GENERIC "pool.h"
#include "dtype.h"
#endif
#else

/* y (N, C, h_out, w_out) = max over each window of x (N, C, H, W); argmax (N, C, h_out, w_out)
 * the flat index ih * W + iw of the maximum within its (H, W) plane, as torch's indices: ties
 * go to the first maximum in row-major window order, and a NaN wins (the last NaN). */
void FNN(fnn_max_pool2d_fwd)(real *y, int32_t *argmax, const real *x, const fnn_pool_geom *g);

/* dx (N, C, H, W) = dy (N, C, h_out, w_out) scattered to the argmax positions (summed where
 * windows overlap). */
void FNN(fnn_max_pool2d_bwd)(real *dx, const real *dy, const int32_t *argmax, const fnn_pool_geom *g);

/* y (N, C, h_out, w_out) = mean over each window of x (N, C, H, W); the divisor is the window's
 * size within the padded input (kh * kw but for ceil_mode's last windows) when
 * count_include_pad, else the number of real (non-padding) pixels in the window. */
void FNN(fnn_avg_pool2d_fwd)(real *y, const real *x, const fnn_pool_geom *g, int count_include_pad);

/* dx (N, C, H, W): each dy (N, C, h_out, w_out) spread evenly over its window (same divisor). */
void FNN(fnn_avg_pool2d_bwd)(real *dx, const real *dy, const fnn_pool_geom *g, int count_include_pad);

/* y (planes,) = mean of each of the planes rows of x (planes, hw), accumulated in double. */
void FNN(fnn_global_avg_pool2d_fwd)(real *y, const real *x, int64_t planes, int64_t hw);

/* dx (planes, hw) = dy (planes,) / hw broadcast over each row. */
void FNN(fnn_global_avg_pool2d_bwd)(real *dx, const real *dy, int64_t planes, int64_t hw);

#endif
