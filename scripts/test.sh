#!/usr/bin/env bash
# test.sh - install what is missing, build every configuration, run every
# test, and end with one line: `tests: N passed, M failed`.
#
# Each build is one line of BUILDS below: a build directory, its `meson
# setup` options, its `meson test` options and the environment its tests
# run with.  A build that fails to configure or compile counts as one
# failed test; it never passes silently.  N and M are summed from each
# build's meson-logs/testlog.json.
#
#   build           release: every suite
#   build-asan      ASan + UBSan: every suite; a sanitizer report (or a leak
#                   at exit) fails the test, including in the aelabd and aelab
#                   processes the tests start
#   build-tsan      ThreadSanitizer: the integration suite (the real aelabd and
#                   aelab); halt_on_error makes a race end the process, which
#                   fails its test; tests/tsan.supp lists the only suppressions
#   build-valgrind  -Dnative=false (valgrind cannot run AVX-512): aelabd under
#                   valgrind through a scripted session (tests/valgrind/)
#
#   scripts/test.sh                 everything
#   scripts/test.sh build           only the builds named
#   AELAB_SKIP_SETUP=1 scripts/...  skip scripts/setup.sh (already done)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

#  dir            | meson setup options | meson test options | environment
BUILDS=(
  "build          | -Dbuildtype=release
                  | | "
  "build-asan     | -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
                    -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
                  | --timeout-multiplier=4
                  | ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
                    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1"
  "build-tsan     | -Dbuildtype=debugoptimized -Db_sanitize=thread
                  | --suite integration --timeout-multiplier=6
                  | TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp"
  "build-valgrind | -Dbuildtype=debugoptimized -Dnative=false
                  | --suite valgrind
                  | "
)

if [ "${AELAB_SKIP_SETUP:-0}" != 1 ]; then
    bash scripts/setup.sh || { echo "test.sh: set-up failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
fi

py=/usr/bin/python3
total_pass=0 total_fail=0
report=()

# Count passed/failed tests in one build's testlog.json.
count_log() {
    "$py" - "$1" <<'PYEOF'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
            failed += 1
print(passed, failed, skipped)
PYEOF
}

for line in "${BUILDS[@]}"; do
    IFS='|' read -r dir setup_opts test_opts env_vars <<<"$(echo $line)"
    dir=$(echo $dir)
    if [ "$#" -gt 0 ] && [[ " $* " != *" $dir "* ]]; then continue; fi
    started=$SECONDS
    echo "=== $dir: meson setup $setup_opts"
    # shellcheck disable=SC2086
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" $setup_opts >/dev/null
    else
        meson setup "$dir" $setup_opts
    fi
    status=$?
    if [ $status -eq 0 ]; then
        echo "=== $dir: ninja"
        ninja -C "$dir"
        status=$?
    fi
    if [ $status -ne 0 ]; then
        echo "=== $dir: BUILD FAILED"
        report+=("$(printf '%-15s %8s %8s %8s %8s   %s' "$dir" 0 1 0 $((SECONDS - started)) 'build failed')")
        total_fail=$((total_fail + 1))
        continue
    fi
    echo "=== $dir: meson test $test_opts"
    rm -f "$dir/meson-logs/testlog.json"
    # shellcheck disable=SC2086
    env $env_vars meson test -C "$dir" --print-errorlogs $test_opts
    if [ ! -s "$dir/meson-logs/testlog.json" ]; then
        report+=("$(printf '%-15s %8s %8s %8s %8s   %s' "$dir" 0 1 0 $((SECONDS - started)) 'meson test did not run')")
        total_fail=$((total_fail + 1))
        continue
    fi
    read -r p f s < <(count_log "$dir/meson-logs/testlog.json")
    report+=("$(printf '%-15s %8s %8s %8s %8s' "$dir" "$p" "$f" "$s" $((SECONDS - started)))")
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
done

echo
printf '%-15s %8s %8s %8s %8s\n' build passed failed skipped seconds
for r in "${report[@]}"; do echo "$r"; done
echo "total time: $SECONDS s"
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "${#report[@]}" -gt 0 ]
