/* runtime.c: thread settings, linked into every extension module.
 * Each extension has its own copy of the setting; fastnn.set_num_threads updates all of them. */
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
