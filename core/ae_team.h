/*
 * ae_team.h - internal: the threads a trainer owns.
 *
 * A team of n threads is the caller's thread (ith 0) plus n - 1 workers
 * created by ae_team_new and joined by ae_team_free.  ae_team_run(fn) runs
 * fn(arg, ith, n) on every thread and returns when all are done; work is
 * split explicitly by (ith, n) inside fn (ggml's compute params), so a
 * fixed n gives a fixed split and bit-identical results.
 */
#ifndef AE_TEAM_H
#define AE_TEAM_H

#include "ae.h"

struct ae_team;
typedef void (*ae_team_fn)(void *arg, int ith, int nth);

enum ae_status ae_team_new(int n, struct ae_team **out, struct ae_err *err);
void ae_team_free(struct ae_team *t);
int ae_team_size(const struct ae_team *t);
void ae_team_run(struct ae_team *t, ae_team_fn fn, void *arg);
/* Barrier among the team's threads, only valid inside fn. */
void ae_team_barrier(struct ae_team *t);

#endif /* AE_TEAM_H */
