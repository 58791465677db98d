/*
 * ae_adam.c - Adam exactly as Keras 2 implements it.
 *
 * Owns the update rule.  Keras folds the bias corrections into the step
 * size: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), then m = b1 m + (1 - b1) g,
 * v = b2 v + (1 - b2) g^2, w -= lr_t m / (sqrt(v) + eps), with eps = 1e-7
 * added to sqrt(v) (not to the corrected v-hat as in the paper).
 */
#include <math.h>

#include "ae_kernels.h"

struct ae_adam_hp ae_adam_hparams(double lr, int64_t t)
{
    struct ae_adam_hp hp;
    hp.beta1 = 0.9f;
    hp.beta2 = 0.999f;
    hp.eps = 1e-7f;
    double b1t = pow(0.9, (double)t), b2t = pow(0.999, (double)t);
    hp.lr_t = (float)(lr * sqrt(1.0 - b2t) / (1.0 - b1t));
    return hp;
}

void ae_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                    const struct ae_adam_hp *hp)
{
    ae_adam_update_sum(w, m, v, &g, 1, n, hp);
}

void ae_adam_update_scalar(float *w, float *m, float *v, const float *const *g, int k, int64_t n,
                           const struct ae_adam_hp *hp)
{
    const float b1 = hp->beta1, b2 = hp->beta2, c1 = 1.f - hp->beta1, c2 = 1.f - hp->beta2;
    const float lr_t = hp->lr_t, eps = hp->eps;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[0][i];
        for (int c = 1; c < k; c++) gi += g[c][i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        w[i] -= lr_t * mi / (sqrtf(vi) + eps);
    }
}
