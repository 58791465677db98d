#!/usr/bin/env bash
# run.sh - install what is missing, build, and run aelab's main job.
#
#   scripts/run.sh        set-up, release build in build/, then the main job
#
# Extra arguments are passed to the main job.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/setup.sh
[ -f build/build.ninja ] || meson setup build -Dbuildtype=release
ninja -C build

# --- the main job -----------------------------------------------------------
# aelabd with its embedded defaults: http://127.0.0.1:8080/ (API under /api/,
# the dashboard at /), jobs and metrics in ./aelab.db, TensorBoard runs in
# ./runs, data sets from ./data/<name>/ and Debian's fashion-mnist.  It prints
# the API and dashboard URLs and the `tensorboard --logdir runs` command to
# run beside it.  Extra arguments go to aelabd (see build/server/aelabd --help),
# e.g. scripts/run.sh --listen 127.0.0.1:9000.  Ctrl-C stops it; running jobs
# resume on the next start.
exec build/server/aelabd "$@"
