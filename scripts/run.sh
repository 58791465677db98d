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
# Until aelabd exists this trains the seed's convolutional autoencoder on
# Fashion-MNIST (installed by setup.sh) and writes TensorBoard event files
# under runs/.  When the daemon lands, this block becomes: start
# build/server/aelabd with its embedded defaults and print the URLs.
exec build/server/aelab train --model conv --dataset fashion-mnist --logdir runs "$@"
