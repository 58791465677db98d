/*
 * srv_sweep_tb.c - the sweep directory's own TensorBoard records (see
 * srv_sweep_tb.h).
 *
 * Owns the experiment definition of a sweep.  The trials' runs write their
 * session_start_info as every job does (srv_run.c), and none of their own
 * experiment, because their parent holds sweep.json: TensorBoard then finds
 * exactly one definition under `--logdir <the sweep's directory>`, this one.
 */
#include "srv_sweep_tb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/tb.h"
#include "srv_run.h"

static enum ae_status write_json(const char *dir, const json_t *body, struct ae_err *err)
{
    char path[4400], tmp[4420];
    snprintf(path, sizeof path, "%s/%s", dir, SRV_RUN_SWEEP_MARKER);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(body, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        rename(tmp, path) != 0) {
        unlink(tmp);
        return ae_err_set(err, AE_ERR_IO, "%s: could not write it", path);
    }
    return AE_OK;
}

enum ae_status srv_sweep_tb_write(const char *dir, const struct srv_sweepspec *s,
                                  const json_t *body, double t, struct ae_err *err)
{
    size_t n_set = 0;
    const struct ae_setting *tab = ae_settings(&n_set);
    struct tb_hparam_info *infos = calloc(n_set + 2, sizeof *infos);
    double *fixed = calloc(n_set + 1, sizeof *fixed);
    const char *model = s->base.model, *dataset = s->base.dataset;
    struct tb_writer *w = NULL;
    struct tb_err terr = {0};
    enum ae_status st;
    char host[256] = "";
    int32_t n = 0;
    static const struct tb_metric_info metrics[2] = {
        {.group = "", .tag = "loss", .dataset_type = TB_DATASET_TRAINING},
        {.group = "", .tag = "val_loss", .dataset_type = TB_DATASET_VALIDATION},
    };

    if (!infos || !fixed) {
        st = ae_err_set(err, AE_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = srv_run_mkdirs(dir, err)) != AE_OK) goto out;
    if ((st = write_json(dir, body, err)) != AE_OK) goto out;
    infos[n++] = (struct tb_hparam_info){.name = "model", .type = TB_HPARAM_STRING,
                                         .values = &model, .n_values = 1};
    infos[n++] = (struct tb_hparam_info){.name = "dataset", .type = TB_HPARAM_STRING,
                                         .values = &dataset, .n_values = 1};
    for (size_t k = 0; k < n_set; k++) {
        const struct srv_sweep_param *p = NULL;
        if (!tab[k].hparam || !(tab[k].models & (1u << (unsigned)s->base.cfg.model))) continue;
        for (size_t i = 0; i < s->n_params; i++)
            if (!strcmp(s->params[i].name, tab[k].name)) p = &s->params[i];
        infos[n] = (struct tb_hparam_info){.name = tab[k].name, .type = TB_HPARAM_FLOAT64};
        if (p && p->dist == SRV_SWEEP_VALUES) {
            infos[n].num_values = p->values;
            infos[n].n_num_values = (int32_t)p->n_values;
        } else if (p) {
            infos[n].has_interval = true;
            infos[n].min_value = p->min;
            infos[n].max_value = p->max;
        } else {
            /* Fixed: one value.  epochs is every trial's budget. */
            ae_config_get(&s->base.cfg, tab[k].name, &fixed[k]);
            if (!strcmp(tab[k].name, "epochs")) fixed[k] = s->trial_epochs;
            infos[n].num_values = &fixed[k];
            infos[n].n_num_values = 1;
        }
        n++;
    }
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (tb_writer_open(dir, t, host, (int64_t)getpid(), &w, &terr) != TB_OK ||
        tb_writer_add_hparams_experiment(w, t, 0, infos, n, metrics, 2, 0.0, &terr) != TB_OK) {
        st = ae_err_set(err, terr.code == TB_ERR_NOMEM ? AE_ERR_NOMEM : AE_ERR_IO,
                        "sweep hparams experiment: %s", terr.msg);
        goto out;
    }
    if (tb_writer_close(w, &terr) != TB_OK) {
        w = NULL;
        st = ae_err_set(err, AE_ERR_IO, "sweep hparams experiment: %s", terr.msg);
        goto out;
    }
    w = NULL;
out:
    if (w) tb_writer_close(w, NULL);
    free(infos);
    free(fixed);
    return st;
}
