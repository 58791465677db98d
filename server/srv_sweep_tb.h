/*
 * srv_sweep_tb.h - what TensorBoard sees of a sweep: at the root of the
 * sweep's directory, sweep.json (the sweep as accepted) and an event file
 * holding the HParams experiment whose domains are the sweep's.
 */
#ifndef SRV_SWEEP_TB_H
#define SRV_SWEEP_TB_H

#include <jansson.h>

#include "core/ae.h"
#include "srv_sweepspec.h"

/* Create dir (mkdir -p), write dir/sweep.json (body) and a new event file
 * with the "_hparams_/experiment" record: model and dataset (discrete, the
 * job's), every swept setting (listed values -> discrete domain; min/max ->
 * interval), every other hparam setting the model uses (discrete: its one
 * value), and the metrics loss and val_loss.  t is the wall time of the
 * records.  AE_ERR_IO names the path; AE_ERR_NOMEM. */
enum ae_status srv_sweep_tb_write(const char *dir, const struct srv_sweepspec *s,
                                  const json_t *body, double t, struct ae_err *err);

#endif /* SRV_SWEEP_TB_H */
