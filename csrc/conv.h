/* conv.h: 2-D convolution (NCHW, PyTorch's layouts) through im2col + GEMM, and im2col/col2im.
 *
 * Geometry shared by every function here, for one image x (C, H, W):
 *     H_out = (H + 2 pH - dH (kH - 1) - 1) / sH + 1        (and the same for W)
 * The column matrix of one image is cols (C kH kW, H_out W_out), row r = (c, i, j) in that
 * order, exactly torch.nn.functional.unfold's layout:
 *     cols[(c kH + i) kW + j, oh W_out + ow] = x[c, oh sH - pH + i dH, ow sW - pW + j dW]
 * with zeros where the input position falls in the padding (bounds checks, never a padded copy).
 * The Python layer validated every size; C trusts them.
 */
#ifndef FNN_GENERIC
#ifndef FNN_CONV_H
#define FNN_CONV_H
#include "runtime.h"

/* The geometry of one convolution, filled by the Python layer (all sizes > 0 except the pads;
 * n may be 0). */
typedef struct {
    int64_t n, c, h, w;            /* input (N, C, H, W) */
    int64_t c_out, kh, kw;         /* weight (C_out, C / groups, kH, kW) */
    int64_t sh, sw, ph, pw, dh, dw;
    int64_t groups;
    int64_t h_out, w_out;
    int threads;                   /* the thread count the workspace was sized for (>= 1) */
} fnn_conv_geom;

/* Bytes of scratch that fnn_conv2d_fwd (backward = 0) or fnn_conv2d_bwd (backward = 1) need
 * for this geometry and activation (FNN_ACT_*), on g->threads threads, for elements of
 * elem_size bytes (4 or 8). The caller allocates it (fastnn's binding caches it across calls);
 * the kernels never allocate. */
int64_t fnn_conv2d_workspace_bytes(const fnn_conv_geom *g, int backward, int act, int elem_size);

#define FNN_GENERIC "conv.h"
#include "dtype.h"
#endif
#else

/* cols (N, C kH kW, H_out W_out) = unfold(x (N, C, H, W)); g->c_out and g->groups unused. */
void FNN(fnn_im2col)(real *cols, const real *x, const fnn_conv_geom *g);

/* x (N, C, H, W) = fold(cols (N, C kH kW, H_out W_out)): overlapping entries summed. */
void FNN(fnn_col2im)(real *x, const real *cols, const fnn_conv_geom *g);

/* y (N, C_out, H_out, W_out) = act(conv2d(x (N, C, H, W), w (C_out, C/groups, kH, kW)) + b);
 * b (C_out,) may be NULL; act is FNN_ACT_NONE or FNN_ACT_RELU; work has
 * fnn_conv2d_workspace_bytes(g, 0, act, sizeof(real)) bytes, aligned as malloc's. */
void FNN(fnn_conv2d_fwd)(real *y, void *work, const real *x, const real *w, const real *b,
                         const fnn_conv_geom *g, int act);

/* Gradients of fnn_conv2d_fwd given dy (N, C_out, H_out, W_out); y is the forward's output
 * (read only when act is relu: dz = dy * (y > 0)). dx (N, C, H, W), dw (C_out, C/groups, kH, kW),
 * db (C_out,) may each be NULL (not wanted); db is accumulated in double. work has
 * fnn_conv2d_workspace_bytes(g, 1, act, sizeof(real)) bytes. */
void FNN(fnn_conv2d_bwd)(real *dx, real *dw, real *db, void *work, const real *dy,
                         const real *x, const real *w, const real *y,
                         const fnn_conv_geom *g, int act);

#endif
