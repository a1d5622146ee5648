/* runtime.c: thread settings, linked into every extension module.
 * Each extension has its own copy of the setting; fastnn.set_num_threads updates all of them.
 * Also the column sums shared by the families' bias gradients (fnn_colsum). */
#ifndef FNN_GENERIC
#include "runtime.h"
#include "cblas.h"

static int fnn_num_threads_setting = 0;   /* 0: follow OpenMP's default */

void fnn_set_num_threads(int n)
{
    fnn_num_threads_setting = n > 0 ? n : 0;
}

int fnn_get_num_threads(void)
{
    if (fnn_num_threads_setting > 0)
        return fnn_num_threads_setting;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void fnn_blas_keep_serial(void)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return;
#endif
    if (scipy_openblas_get_num_threads() != 1)
        scipy_openblas_set_num_threads(1);
}

int fnn_threads_for(int64_t work, int64_t grain)
{
    fnn_blas_keep_serial();
    int t = fnn_get_num_threads();
    if (grain < 1)
        grain = 1;
    int64_t most = work / grain;
    if (most < 1)
        return 1;
    return most < t ? (int)most : t;
}

int fnn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

void fnn_runtime_init(void)
{
    scipy_openblas_set_num_threads(1);
}

#define FNN_GENERIC "runtime.c"
#include "dtype.h"

#else  /* generic part, once per dtype */

void FNN(fnn_colsum)(real *s, const real *a, int64_t rows, int64_t cols, int64_t grain)
{
    int nt = fnn_threads_for(rows * cols, grain);
    #pragma omp parallel num_threads(nt) if(nt > 1)
    {
        int64_t j0, j1;
        fnn_thread_range(cols, 1, &j0, &j1);
        double acc_small[64];
        double *acc = (j1 - j0) <= 64 ? acc_small : (double *)malloc((size_t)(j1 - j0) * sizeof(double));
        if (acc) {
            for (int64_t j = j0; j < j1; j++)
                acc[j - j0] = 0;
            for (int64_t i = 0; i < rows; i++) {
                const real *row = a + i * cols;
                for (int64_t j = j0; j < j1; j++)
                    acc[j - j0] += row[j];
            }
            for (int64_t j = j0; j < j1; j++)
                s[j] = (real)acc[j - j0];
            if (acc != acc_small)
                free(acc);
        } else {             /* out of memory for the accumulator: sum column by column */
            for (int64_t j = j0; j < j1; j++) {
                double sum = 0;
                for (int64_t i = 0; i < rows; i++)
                    sum += a[i * cols + j];
                s[j] = (real)sum;
            }
        }
    }
}

#endif
