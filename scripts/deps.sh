#!/usr/bin/env bash
# Installs the Debian packages joulebench needs, only those that are missing.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail

JB_PACKAGES=(
    build-essential cmake pkg-config
    libopenblas-openmp-dev   # OpenBLAS built on OpenMP: one thread pool shared with our kernels
    libpapi-dev papi-tools   # hardware counters and RAPL through PAPI
    libcsv-dev               # RFC 4180 CSV reader/writer
    libcjson-dev             # Hugging Face config.json and safetensors headers
    libinih-dev              # workload and cost-profile files (INI)
    libgsl-dev               # statistics: quantiles, t intervals, seeded distributions
    libcmocka-dev            # unit tests
    gnuplot-nox              # pictures in reports (runtime only)
    clang libclang-rt-14-dev libomp-dev  # libFuzzer targets and their sanitizer runtimes (tests)
    valgrind                 # memcheck of the tiny model (tests)
    python3                  # CSV and JSON checks in the shell tests
)

jb_missing_packages() {
    local p
    for p in "${JB_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$p"
        fi
    done
}

jb_install_deps() {
    local missing
    mapfile -t missing < <(jb_missing_packages)
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "joulebench: installing missing packages: ${missing[*]}" >&2
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "joulebench: need root or sudo to install: ${missing[*]}" >&2; return 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

# Configures and builds into build/ (or $JB_BUILD_DIR); arguments before an optional
# `--target ...` go to cmake's configure step, the rest to the build step.
jb_build() {
    local root build config=() targets=()
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    build=${JB_BUILD_DIR:-$root/build}
    while [ $# -gt 0 ]; do
        if [ "$1" = "--target" ]; then
            shift
            targets=(--target "$@")
            break
        fi
        config+=("$1")
        shift
    done
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${config[@]}" >&2
    cmake --build "$build" -j "$(nproc)" "${targets[@]}" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    jb_install_deps
fi
