/* blas.c: fnn_gemm, OpenMP-partitioned single-threaded OpenBLAS (see blas.h). Linked into
 * every extension module.
 *
 * Findings (2-core AMD EPYC Zen 2 VM, shared with other jobs; OpenBLAS 0.3.34 from the
 * scipy-openblas32 wheel running its Haswell kernels, numpy 2.4.6 with its own OpenBLAS 0.3.31;
 * us per call, float32; the machine load is noted with each column):
 *
 *   shape (C = A @ B)              fastnn 1   numpy 1    fastnn 2     numpy 2    OpenBLAS32 2*
 *   64x784 @ 784x256   (forward)       316       308    408 (278)   344 (311)    379 (286)
 *   256x64 @ 64x784    (weight grad)   301       291    346 (313)   281 (267)    448 (322)
 *   64x256 @ 256x784   (input grad)    313       302    312 (301)   260 (247)    356 (307)
 *   256x784 @ 784x256                 1092      1088    800 (659)   809 (764)    880 (813)
 *   1024x784 @ 784x256                4262      4234   2627 (2434) 2654 (2444)  6566 (6375)
 *   64x288 @ 288x12544 (conv-like)    5944      5893   9918 (7998) 3792 (3631)  7803 (7429)
 *   "1": one thread, interleaved fastnn/numpy in one process (load ~1). "2": two threads,
 *   median (first quartile), fastnn's runs and numpy's in separate processes, load 0.6-1.2 from
 *   other jobs on the 2 cores, so the 2-thread columns are rough. * OpenBLAS's own 2 threads
 *   with fastnn at 1 OpenMP thread, interleaved with the OpenMP runs (partly slowed by the
 *   idle-pool effect of finding 2). linear_forward 64x784->256 + bias + relu, each alone,
 *   2 threads: fastnn 203-214 us vs numpy's np.maximum(x @ w.T + b, 0) 244-248 us (1.16-1.20x).
 *
 * 1. Single-threaded, the wheel's OpenBLAS and numpy's run the same kernels at the same speed
 *    (+-3%, ~80 GFLOP/s on 64x784x256). Two threads give 1.4-1.6x on the mid-size shapes for
 *    both libraries when the machine is quiet; OpenBLAS's own threading was not better than
 *    fastnn's split, so fastnn keeps OpenBLAS at one thread and owns the threads (one pool,
 *    nothing to oversubscribe inside fastnn). The conv-like shape (short and very wide, 14 MB
 *    of B) did not speed up with the column split in these runs while numpy's did (1.55x):
 *    unresolved, see the report; it was measured only under load.
 * 2. The "linear_forward at batch 256 slower than numpy" reading was not the GEMM: it was idle
 *    thread pools fighting over the 2 cores when numpy and fastnn calls alternate. numpy's
 *    OpenBLAS workers spin (a sched_yield loop) for 2^28 TSC cycles, ~0.12 s, after every
 *    threaded call, and libgomp's workers spin ~300000 iterations after every parallel region.
 *    64x784->256 linear+relu, fastnn vs np.maximum(x @ w.T + b, 0), alternating in one process:
 *        default environment                      1401 us vs 1287 us  (alone: 203 vs 244)
 *        OPENBLAS_THREAD_TIMEOUT=4                 209 us vs  249 us
 *        + GOMP_SPINCOUNT=3000                     202 us vs  262 us; batch 256: 691 vs 731
 *        OMP_WAIT_POLICY=passive                   fastnn alone 345 us (futex wake-ups cost
 *                                                  ~70 us per region on this VM): never do this
 *    OPENBLAS_THREAD_TIMEOUT=4 and GOMP_SPINCOUNT=3000 cost neither library anything when it runs
 *    alone (203 -> 191 us fastnn, 244 -> 237 us numpy), so `fastnn bench` runs with them, and
 *    they are the advice for training loops that mix numpy matmuls and fastnn kernels (they
 *    must be set before numpy / fastnn are imported: both libraries read them at load).
 *    Inside fastnn there is no thrash: OpenBLAS never has threads of its own, so OpenMP regions
 *    and BLAS calls alternate on the same libgomp team.
 * 3. On a loaded machine (other processes on one core) any static 2-way split waits for the
 *    slower core and can take longer than 1 thread; numpy's OpenBLAS has the same problem. No
 *    split heuristic fixes that; fnn_set_num_threads(1) does.
 * 4. Bitwise reproducibility across thread counts: OpenBLAS's float32 Haswell kernels give
 *    different roundings for the same element depending on where the call's column range starts
 *    (row-major C's columns are OpenBLAS's M dimension): splitting C's columns changes a few ulps
 *    in a 16-column band around each boundary, at ANY boundary alignment tried (8..192). Splitting
 *    C's rows (OpenBLAS's N) is bitwise identical to the unsplit call when the boundaries are
 *    multiples of 24 (16 or 32 are not); float64 is identical for any split. So fnn_gemm splits
 *    rows, 24-aligned, whenever each thread gets >= FNN_GEMM_ROW_MIN rows (results then do not
 *    depend on the thread count), and splits columns only for short-and-wide products (batch 64
 *    forward / input grad, conv), where a rows split would be badly unbalanced: there float32
 *    results may differ between thread counts by a few ulps.
 */
#ifndef FNN_GENERIC
#include "blas.h"

/* Below this many multiply-adds a GEMM runs on the calling thread: splitting costs more than
 * it saves (a fork/join is a few microseconds). */
#define FNN_GEMM_PARALLEL_MIN (1 << 19)
/* Row blocks are multiples of this (bitwise-stable float32 results, finding 4 above). */
#define FNN_GEMM_ROW_ALIGN 24
/* Column blocks are multiples of this (whole 64-byte lines of float32 C). */
#define FNN_GEMM_COL_ALIGN 16
/* Split rows when every thread gets at least this many. */
#define FNN_GEMM_ROW_MIN 96

/* Split [0, total) into `parts` blocks whose boundaries are multiples of `align`. */
static void fnn_block(int64_t total, int64_t align, int parts, int index, int64_t *lo, int64_t *hi)
{
    int64_t units = (total + align - 1) / align;
    int64_t a = units * index / parts * align, b = units * (index + 1) / parts * align;
    *lo = a < total ? a : total;
    *hi = b < total ? b : total;
}

#define FNN_GENERIC "blas.c"
#include "dtype.h"

#else  /* generic part */

void FNN(fnn_gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                   real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                   real beta, real *c, int64_t ldc)
{
    FNN(fnn_gemm_ep)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL, NULL);
}

void FNN(fnn_gemm_ep)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                      real alpha, const real *a, int64_t lda, const real *b, int64_t ldb,
                      real beta, real *c, int64_t ldc, fnn_epilogue ep, void *ep_arg)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {                  /* empty sum: C = beta * C (BLAS would reject ld = 0) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0 ? (real)0 : beta * c[i * ldc + j];
        if (ep)
            ep(ep_arg, 0, m, 0, n);
        return;
    }
    fnn_blas_keep_serial();
    int64_t work = m * n * k;
    int nt = work < FNN_GEMM_PARALLEL_MIN ? 1 : fnn_get_num_threads();
    /* rows when each thread gets FNN_GEMM_ROW_MIN of them (or m >= n), else columns */
    int split_rows = m >= (int64_t)FNN_GEMM_ROW_MIN * nt || m >= n;
    int64_t extent = split_rows ? m : n;
    int64_t align = split_rows ? FNN_GEMM_ROW_ALIGN : FNN_GEMM_COL_ALIGN;
    if (nt > 1)
        nt = fnn_threads_for((extent + align - 1) / align, 2);   /* >= 2 blocks per thread */
    if (nt <= 1) {
        FNN(fnn_gemm_serial)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (ep)
            ep(ep_arg, 0, m, 0, n);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        fnn_block(extent, align, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        if (hi > lo) {
            if (split_rows) {          /* rows lo..hi of op(A) and of C */
                const real *ab = ta ? a + lo : a + lo * lda;
                FNN(fnn_gemm_serial)(ta, tb, hi - lo, n, k, alpha, ab, lda, b, ldb, beta,
                                     c + lo * ldc, ldc);
                if (ep)          /* while the block is still in this core's cache */
                    ep(ep_arg, lo, hi, 0, n);
            } else {                   /* columns lo..hi of op(B) and of C */
                const real *bb = tb ? b + lo * ldb : b + lo;
                FNN(fnn_gemm_serial)(ta, tb, m, hi - lo, k, alpha, a, lda, bb, ldb, beta,
                                     c + lo, ldc);
                if (ep)
                    ep(ep_arg, 0, m, lo, hi);
            }
        }
    }
#else
    FNN(fnn_gemm_serial)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (ep)
        ep(ep_arg, 0, m, 0, n);
#endif
}

#endif
