/*
 * cli_progress.h - `aelab train --progress FILE`: the progress file an
 * executor (aelabd's Slurm executor) follows, one JSON object per line.
 *
 * Lines: start, batch (at most one per 0.2 s, plus the last of each epoch),
 * epoch, end; each written with one write(2) on an O_APPEND descriptor, and
 * start/epoch/end followed by fdatasync.  The line formats are fixed by the
 * contract between the CLI and aelabd (README.md, "Command line").
 *
 * A failed write is remembered: cli_progress_failed() says so (with the
 * text), and after a partial write nothing more is written, so no line is
 * ever spliced onto a torn one.
 */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ae.h"

struct cli_progress;

/* Open (create, append to) path, making its directory if missing.  NULL with a message in err on failure. */
struct cli_progress *cli_progress_open(const char *path, char *err, size_t err_len);
void cli_progress_close(struct cli_progress *p);

void cli_progress_start(struct cli_progress *p, int32_t start_epoch, int32_t epochs);
void cli_progress_batch(struct cli_progress *p, const struct ae_progress *b);
/* One "epoch" line: epoch and the ae_metrics() rows that model kind reports. */
void cli_progress_epoch(struct cli_progress *p, const struct ae_epoch_stats *s,
                        enum ae_model_kind kind);
/* status: "succeeded", "suspended" or "failed"; error only for failed. */
void cli_progress_end(struct cli_progress *p, const char *status, const char *error);

/* The first write error so far (a message naming the file), or NULL. */
const char *cli_progress_failed(const struct cli_progress *p);

#endif /* CLI_PROGRESS_H */
