#!/usr/bin/env bash
# build.sh - the libFuzzer build of the harnesses in tests/fuzz/.
#
#   tests/fuzz/build.sh [BUILD_DIR]      (default: build-fuzz)
#
# Configures BUILD_DIR with clang, AddressSanitizer + UndefinedBehavior-
# Sanitizer (no recovery: the first report stops the run) and libFuzzer's
# coverage instrumentation on every file of the tree, then builds the five
# fuzz_<harness> binaries (tests/fuzz/meson.build links them with
# -fsanitize=fuzzer).  Campaigns are run with tests/fuzz/run.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
dir=${1:-build-fuzz}
cflags="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer -g"

if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dbuildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args="$cflags" -Dc_link_args="-fno-sanitize-recover=all"
fi
targets=()
for h in idx ckpt tbreader jobspec http; do targets+=("tests/fuzz/fuzz_$h"); done
ninja -C "$dir" "${targets[@]}"
echo "build.sh: built ${targets[*]} in $dir"
