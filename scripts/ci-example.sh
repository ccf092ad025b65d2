#!/usr/bin/env bash
# A CI job in one script: build, run a short sweep, compare it with a stored baseline, fail the
# job on a regression (exit 1). Usage: scripts/ci-example.sh BASELINE_DIR [OUT_DIR]
#
# BASELINE_DIR is a results folder kept between CI runs (a cache or an artifact of the main
# branch). When it does not exist yet, this run is stored as the baseline and the job passes.
# Noise control (docs/ci.md): seven repetitions after two warm-ups, the process pinned to its
# CPUs (--cpus), the idle baseline skipped, and instructions per token compared beside the
# timings where PAPI can count (bare metal).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: scripts/ci-example.sh BASELINE_DIR [OUT_DIR]}
out=${2:-$root/results/ci-$(date -u +%Y%m%dT%H%M%SZ)}
. "$root/scripts/deps.sh"
jb_install_deps
jb_build
jb="${JB_BUILD_DIR:-$root/build}/joulebench"
. "$root/scripts/ci/lib.sh"
jb_ci_sweep "$jb" "$out" 7

if [ ! -d "$base" ]; then
    mkdir -p "$(dirname "$base")"
    cp -r "$out" "$base"
    echo "no baseline at $base: this run is stored as the baseline"
    exit 0
fi
# exit status 1 on a regression fails the job; the Markdown goes to a pull-request comment,
# the JSON files to github-action-benchmark and Bencher dashboards
"$jb" compare "$base" "$out" --markdown --json "$out/compare.json" --gab "$out/gab" \
    --bencher "$out/bencher.json" | tee "$out/compare.md"
