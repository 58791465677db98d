/*
 * ae_pca.c - principal component analysis of a set of codes.
 *
 * Owns ae_pca_fit and ae_pca_project (ae.h): the column means and the
 * leading eigenvectors of the sample covariance of n rows of d floats, and
 * the projection of rows onto them.  Used to draw every non-vae model's code
 * as a 2-D scatter.  Does not own any drawing or the choice of which images
 * to encode.
 *
 * Design: the numerics are LAPACK's, not ours.  The covariance is built in
 * double precision with OpenBLAS's dsyrk over centred chunks of rows (two
 * passes: the means first, so a code with a large offset loses no digits),
 * and its top k eigenpairs come from dsyevr (MRRR), which OpenBLAS ships
 * with its LAPACK.  An eigenvector's sign is arbitrary, so each component is
 * flipped to make its largest-magnitude entry positive (the first such entry
 * on ties): the same data always gives the same picture, whatever the
 * solver's internals.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ae.h"
#include "ae_kernels.h"

#define CHUNK_ROWS 256

/* LAPACK's symmetric eigen-solver (Fortran calling convention; the three
 * trailing arguments are the hidden lengths of the character arguments). */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
                    double *a, const int *lda, const double *vl, const double *vu, const int *il,
                    const int *iu, const double *abstol, int *m, double *w, double *z,
                    const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t jobz_len, size_t range_len,
                    size_t uplo_len);

enum ae_status ae_pca_fit(const float *x, int32_t n, int32_t d, int32_t k, double *mean,
                          double *components, double *variances, struct ae_err *err)
{
    enum ae_status st = AE_OK;
    double *cov = NULL, *chunk = NULL, *w = NULL, *z = NULL, *work = NULL;
    int *iwork = NULL, *isuppz = NULL;

    if (!x || !mean || !components)
        return ae_err_set(err, AE_ERR_ARG, "ae_pca_fit: x, mean and components are required");
    if (n < 2 || d < 1 || k < 1 || k > d)
        return ae_err_set(err, AE_ERR_ARG,
                          "ae_pca_fit: need n >= 2 rows and 1 <= k <= d, got n %d, d %d, k %d",
                          n, d, k);

    /* Pass 1: column means (double), and no NaN or infinity anywhere. */
    for (int32_t j = 0; j < d; j++) mean[j] = 0.0;
    for (int32_t i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        for (int32_t j = 0; j < d; j++) {
            if (!isfinite(row[j]))
                return ae_err_set(err, AE_ERR_NUMERIC,
                                  "ae_pca_fit: value %g at row %d, column %d is not finite",
                                  (double)row[j], i, j);
            mean[j] += row[j];
        }
    }
    for (int32_t j = 0; j < d; j++) mean[j] /= (double)n;

    size_t dd = (size_t)d * (size_t)d;
    int lwork = 26 * d, liwork = 10 * d; /* dsyevr's documented minimums */
    cov = ae_calloc(dd, sizeof *cov);
    chunk = ae_malloc(sizeof *chunk * (size_t)CHUNK_ROWS * (size_t)d);
    w = ae_malloc(sizeof *w * (size_t)d);
    z = ae_malloc(sizeof *z * (size_t)d * (size_t)k);
    work = ae_malloc(sizeof *work * (size_t)lwork);
    iwork = ae_malloc(sizeof *iwork * (size_t)liwork);
    isuppz = ae_malloc(sizeof *isuppz * 2 * (size_t)k);
    if (!cov || !chunk || !w || !z || !work || !iwork || !isuppz) {
        st = ae_err_set(err, AE_ERR_NOMEM, "ae_pca_fit: out of memory for a %dx%d covariance", d, d);
        goto fail;
    }

    /* Pass 2: cov (column-major, upper triangle) = sum over rows of
     * (x - mean)(x - mean)^T.  A chunk of r centred rows, row-major, is a
     * column-major (d, r) matrix A, and A A^T is what dsyrk adds. */
    ae_dense_setup(); /* OpenBLAS single-threaded: the caller's thread does the work */
    for (int32_t i0 = 0; i0 < n; i0 += CHUNK_ROWS) {
        int32_t r = n - i0 < CHUNK_ROWS ? n - i0 : CHUNK_ROWS;
        for (int32_t i = 0; i < r; i++) {
            const float *row = x + (size_t)(i0 + i) * (size_t)d;
            double *c = chunk + (size_t)i * (size_t)d;
            for (int32_t j = 0; j < d; j++) c[j] = (double)row[j] - mean[j];
        }
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, r, 1.0, chunk, d, 1.0, cov, d);
    }
    for (size_t q = 0; q < dd; q++) cov[q] /= (double)(n - 1);

    /* The k largest eigenpairs: indices d-k+1 .. d in dsyevr's ascending
     * order. */
    int nn = d, il = d - k + 1, iu = d, found = 0, info = 0;
    double vl = 0.0, vu = 0.0, abstol = 0.0;
    dsyevr_("V", "I", "U", &nn, cov, &nn, &vl, &vu, &il, &iu, &abstol, &found, w, z, &nn, isuppz,
            work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || found != k) {
        st = ae_err_set(err, AE_ERR_NUMERIC,
                        "ae_pca_fit: LAPACK dsyevr failed (info %d, %d of %d eigenvalues)", info,
                        found, k);
        goto fail;
    }

    for (int32_t c = 0; c < k; c++) {
        const double *v = z + (size_t)(k - 1 - c) * (size_t)d; /* largest first */
        int32_t big = 0;
        for (int32_t j = 1; j < d; j++)
            if (fabs(v[j]) > fabs(v[big])) big = j;
        double sign = v[big] < 0.0 ? -1.0 : 1.0;
        for (int32_t j = 0; j < d; j++) components[(size_t)c * (size_t)d + j] = sign * v[j];
        /* Rounding may leave a tiny negative eigenvalue of a PSD matrix. */
        if (variances) variances[c] = w[k - 1 - c] > 0.0 ? w[k - 1 - c] : 0.0;
    }

fail:
    ae_free(isuppz);
    ae_free(iwork);
    ae_free(work);
    ae_free(z);
    ae_free(w);
    ae_free(chunk);
    ae_free(cov);
    return st;
}

void ae_pca_project(const float *x, int32_t n, int32_t d, int32_t k, const double *mean,
                    const double *components, float *out)
{
    for (int32_t i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        for (int32_t c = 0; c < k; c++) {
            const double *v = components + (size_t)c * (size_t)d;
            double s = 0.0;
            for (int32_t j = 0; j < d; j++) s += ((double)row[j] - mean[j]) * v[j];
            out[(size_t)i * (size_t)k + c] = (float)s;
        }
    }
}
