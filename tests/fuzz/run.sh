#!/usr/bin/env bash
# run.sh - one libFuzzer campaign of one harness, then a minimised corpus.
#
#   tests/fuzz/run.sh HARNESS [SECONDS] [EXTRA_CORPUS_DIR...]
#
# Runs BUILD/tests/fuzz/fuzz_HARNESS (BUILD = $FUZZ_BUILD, default
# build-fuzz, made by tests/fuzz/build.sh) for SECONDS (default 600) on the
# committed corpus tests/fuzz/corpus/HARNESS plus any extra directories
# (e.g. the output of make_seeds.py), with the harness's dictionary, a
# memory limit and a per-input time limit.  Then merges what it found and
# the committed corpus into a small set reaching the same edges
# (-set_cover_merge=1), and puts that set in tests/fuzz/corpus/HARNESS.
# The log is BUILD/fuzz-logs/HARNESS.log (its last lines are the figures
# in tests/fuzz/README.md); a crash is saved under BUILD/fuzz-artifacts/.
# Exits non-zero if the fuzzer found a crash, a leak or a timeout.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
h=${1:?usage: run.sh HARNESS [SECONDS] [EXTRA_CORPUS_DIR...]}
secs=${2:-600}
shift; [ "$#" -gt 0 ] && shift
build=${FUZZ_BUILD:-build-fuzz}
bin=$build/tests/fuzz/fuzz_$h
[ -x "$bin" ] || { echo "run.sh: $bin missing; run tests/fuzz/build.sh" >&2; exit 2; }

case $h in
    ckpt) max_len=40000 ;;
    idx | tbreader) max_len=8192 ;;
    *) max_len=4096 ;;
esac
corpus=tests/fuzz/corpus/$h
work=$build/fuzz-work/$h
mkdir -p "$corpus" "$work" "$build/fuzz-logs" "$build/fuzz-artifacts/$h"
log=$build/fuzz-logs/$h.log
opts=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len"
      -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$h/")
[ -f "tests/fuzz/dict/$h.dict" ] && opts+=(-dict="tests/fuzz/dict/$h.dict")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/fuzz/lsan.supp}
echo "run.sh: $bin ${opts[*]} $work $corpus $*" | tee "$log"
"$bin" "${opts[@]}" "$work" "$corpus" "$@" >>"$log" 2>&1
status=$?
tail -n 25 "$log"

# Minimise: a small set of files that still reaches every edge seen
# (greedy set cover over edges; hit-count buckets are left out, or the
# committed corpus would grow to thousands of files).
merged=$build/fuzz-work/$h.merged
rm -rf "$merged" && mkdir -p "$merged"
"$bin" -set_cover_merge=1 -use_counters=0 -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
    "$merged" "$corpus" "$work" "$@" \
    >>"$log" 2>&1 || { echo "run.sh: merge failed (see $log)" >&2; exit 1; }
rm -rf "$corpus" && mv "$merged" "$corpus"
echo "run.sh: $h: $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KiB in $corpus"
exit $status
