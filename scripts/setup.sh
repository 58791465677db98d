#!/usr/bin/env bash
# setup.sh - install what aelab needs on Debian 12, and nothing that is
# already there.  Safe to run again: a ready machine only runs dpkg-query.
#
#   scripts/setup.sh           build, test and run dependencies
#   scripts/setup.sh --bench   also what bench/ needs (python3-torch, ...)
#
# Needs root, or sudo when not root.  Non-interactive.
set -euo pipefail

with_bench=0
for arg in "$@"; do
    case "$arg" in
        --bench) with_bench=1 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

# One package per line, grouped by who needs it.
packages=(
    # build
    gcc libc6-dev meson ninja-build pkg-config
    libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libpng-dev
    libjansson-dev libsqlite3-dev libopenblas-dev libopenblas0-openmp nettle-dev libcairo2-dev
    # data: Fashion-MNIST, the second data set (MNIST, the default, is in data/mnist/)
    dataset-fashion-mnist
    # tests: protobuf decoding of run dirs, sanitizers, valgrind, HTTP, HTTPS
    python3 python3-protobuf protobuf-compiler clang libclang-rt-14-dev valgrind curl openssl
    # dashboard tests (browser)
    chromium chromium-driver
    # tests: a real Slurm cluster
    munge slurmctld slurmd slurm-client
)
bench_packages=(python3-torch python3-numpy wrk)
[ "$with_bench" = 1 ] && packages+=("${bench_packages[@]}")

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [ "${status:0:2}" = "ii" ] || missing+=("$p")
done
# Node.js and npm may come from elsewhere than Debian's packages: only the
# commands matter.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup.sh: all packages present"
fi

# The dashboard's npm dependencies, once web/ has them; skipped when
# web/node_modules is already newer than the lock file.
top=$(cd "$(dirname "$0")/.." && pwd)
web="$top/web"
if [ -f "$web/package.json" ]; then
    if [ -f "$web/package-lock.json" ]; then
        if [ "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ]; then
            echo "setup.sh: web/node_modules is up to date"
        else
            (cd "$web" && npm ci --no-audit --no-fund)
        fi
    else
        (cd "$web" && npm install --no-audit --no-fund)
    fi
fi
