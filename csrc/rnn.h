/* rnn.h: recurrent kernels (Elman RNN tanh/relu, LSTM, GRU), single layer, unidirectional,
 * time-major, PyTorch's equations, weight layouts and gate orders.
 *
 * Shapes (all C-contiguous): x (T, N, D), h0 / c0 (N, H), w_ih (G*H, D), w_hh (G*H, H),
 * b_ih / b_hh (G*H,) or NULL, out (T, N, H) every step's hidden state; G = 1 (RNN),
 * 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n). T >= 1, H >= 1 (checked by the Python layer).
 * Backward: dout (T, N, H) and the final-state gradients (N, H) may be NULL (zeros). Every
 * weight gradient is computed by GEMMs over all steps at once from the stored gate gradients.
 * `work` is caller-provided scratch of the size given with each function (in elements).
 */
#ifndef FNN_GENERIC
#ifndef FNN_RNN_H
#define FNN_RNN_H
#include "runtime.h"

/* Scratch sizes, in elements of the kernel's dtype. trunc < 0 means full BPTT. */
static inline int64_t fnn_rnn_fwd_work(int64_t T, int64_t N, int64_t H) { (void)T; (void)N; return H; }
static inline int64_t fnn_rnn_bwd_work(int64_t T, int64_t N, int64_t H, int64_t trunc)
{
    int64_t K = (trunc < 0 || trunc >= T - 1) ? 1 : trunc + 1;
    return T * N * H + 2 * K * N * H;
}
static inline int64_t fnn_lstm_fwd_work(int64_t T, int64_t N, int64_t H) { (void)T; return 4 * H + 4 * H * H + N * 4 * H; }
static inline int64_t fnn_lstm_bwd_work(int64_t T, int64_t N, int64_t H) { return T * N * 4 * H + 2 * N * H; }
static inline int64_t fnn_gru_fwd_work(int64_t T, int64_t N, int64_t H) { (void)T; return N * 3 * H + 6 * H + 3 * H * H; }
static inline int64_t fnn_gru_bwd_work(int64_t T, int64_t N, int64_t H) { return 2 * T * N * 3 * H + N * H; }

#define FNN_GENERIC "rnn.h"
#include "dtype.h"
#endif
#else

/* Elman RNN: h_t = act(x_t w_ih^T + b_ih + h_{t-1} w_hh^T + b_hh), act tanh (relu = 0) or relu
 * (relu = 1). Writes out (T, N, H). work: fnn_rnn_fwd_work(T, N, H). */
void FNN(fnn_rnn_fwd)(real *out, real *work, const real *x, const real *h0, const real *w_ih,
                      const real *w_hh, const real *b_ih, const real *b_hh,
                      int64_t T, int64_t N, int64_t D, int64_t H, int relu);

/* Gradients of fnn_rnn_fwd given its out. dx (T, N, D), dh0 (N, H), dw_ih (H, D), dw_hh (H, H),
 * db_ih / db_hh (H,) (either may be NULL: not wanted). trunc < 0: full BPTT; trunc = k >= 0:
 * per-output truncated BPTT (the error of output t flows back through steps t .. max(0, t-k)
 * only; dhn is truncated like an error arriving at step T-1; dh0 collects the errors of the
 * outputs t <= k). work: fnn_rnn_bwd_work(T, N, H, trunc). */
void FNN(fnn_rnn_bwd)(real *dx, real *dh0, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh,
                      real *work, const real *dout, const real *dhn, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *out,
                      int64_t T, int64_t N, int64_t D, int64_t H, int relu, int64_t trunc);

/* LSTM: writes out (T, N, H), gates (T, N, 4H) after their activations (i, f, g, o) and
 * c (T, N, H) every step's cell state. work: fnn_lstm_fwd_work(T, N, H). */
void FNN(fnn_lstm_fwd)(real *out, real *gates, real *c, real *work, const real *x,
                       const real *h0, const real *c0, const real *w_ih, const real *w_hh,
                       const real *b_ih, const real *b_hh,
                       int64_t T, int64_t N, int64_t D, int64_t H);

/* Gradients of fnn_lstm_fwd: dx, dh0, dc0 (N, H), dw_ih (4H, D), dw_hh (4H, H), db_ih / db_hh
 * (4H,) or NULL; dhn, dcn (N, H) or NULL. work: fnn_lstm_bwd_work(T, N, H). */
void FNN(fnn_lstm_bwd)(real *dx, real *dh0, real *dc0, real *dw_ih, real *dw_hh, real *db_ih,
                       real *db_hh, real *work, const real *dout, const real *dhn,
                       const real *dcn, const real *x, const real *h0, const real *c0,
                       const real *w_ih, const real *w_hh, const real *out, const real *gates,
                       const real *c, int64_t T, int64_t N, int64_t D, int64_t H);

/* GRU: writes out (T, N, H), gates (T, N, 3H) after their activations (r, z, n) and
 * hn (T, N, H) = h_{t-1} w_hn^T + b_hn. work: fnn_gru_fwd_work(T, N, H). */
void FNN(fnn_gru_fwd)(real *out, real *gates, real *hn, real *work, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *b_ih,
                      const real *b_hh, int64_t T, int64_t N, int64_t D, int64_t H);

/* Gradients of fnn_gru_fwd: dx, dh0, dw_ih (3H, D), dw_hh (3H, H), db_ih / db_hh (3H,) or
 * NULL; dhn (N, H) or NULL. work: fnn_gru_bwd_work(T, N, H). */
void FNN(fnn_gru_bwd)(real *dx, real *dh0, real *dw_ih, real *dw_hh, real *db_ih, real *db_hh,
                      real *work, const real *dout, const real *dhn, const real *x,
                      const real *h0, const real *w_ih, const real *w_hh, const real *out,
                      const real *gates, const real *hn, int64_t T, int64_t N, int64_t D, int64_t H);

/* Temporal cross-entropy over rows = T*N rows of V logits (V >= 1): per row r with weight
 * w[r] != 0 (w NULL: all 1), nll_r = logsumexp(x_r) - x_r[target[r]]; *loss = sum(w nll) /
 * sum(w) (accumulated in double; NaN when sum(w) == 0), *wsum = sum(w). lse (rows,) receives each row's
 * log-sum-exp (for the backward; unspecified for rows with w == 0). Returns -1, or the first row
 * with w != 0 whose target is outside [0, V) (then *loss and lse are unspecified). */
int64_t FNN(fnn_temporal_ce_fwd)(real *loss, double *wsum, real *lse, const real *x,
                                 const int64_t *target, const real *w, int64_t rows, int64_t V);

/* dx (rows, V) = g * w[r] * (softmax(x_r) - onehot(target[r])), 0 for rows with w == 0;
 * g = dloss / sum(w). */
void FNN(fnn_temporal_ce_bwd)(real *dx, const real *x, const real *lse, const int64_t *target,
                              const real *w, double g, int64_t rows, int64_t V);

#endif
