#!/usr/bin/env bash
# A CI job that measures the base and the candidate in the same job, alternately, one repetition
# at a time, and fails on a regression (exit 1). Usage:
#   scripts/ci-ab.sh BASE_REV [OUT_DIR] [REPS (default 10)]
# BASE_REV (e.g. origin/main) is built from a temporary git worktree into build-base/, the
# working tree into build/ (or $JB_BUILD_DIR). JB_CI_BASE_BIN / JB_CI_NEW_BIN use given binaries
# instead of building. Why (docs/ci.md): a stored baseline was measured minutes or days ago,
# and this machine's speed drifts between runs by more than the spread inside one run; measured
# in one job, side by side, the drift falls on both sides alike. Each round runs the two in
# turn (base first in odd rounds, new first in even ones, so a steady drift cancels), each a
# fresh process with one warm-up, adding one repetition of the CI sweep (scripts/ci/lib.sh);
# compare then pairs repetition r of base with r of new (their times overlap; docs/ci.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: scripts/ci-ab.sh BASE_REV [OUT_DIR] [REPS]"
rev=${1:?$usage}
out=${2:-$root/results/ci-ab-$(date -u +%Y%m%dT%H%M%SZ)}
reps=${3:-10} # the setting measured in docs/ci.md: no false alarm in 60, every 10% slowdown caught
case $reps in '' | *[!0-9]* | 0) echo "ci-ab: REPS must be a positive integer, not '$reps'" >&2; exit 2 ;; esac
. "$root/scripts/deps.sh"
. "$root/scripts/ci/lib.sh"

new_jb=${JB_CI_NEW_BIN:-}
base_jb=${JB_CI_BASE_BIN:-}
if [ -z "$new_jb" ] || [ -z "$base_jb" ]; then
    jb_install_deps
fi
if [ -z "$new_jb" ]; then
    jb_build --target joulebench
    new_jb="${JB_BUILD_DIR:-$root/build}/joulebench"
fi
if [ -z "$base_jb" ]; then
    git -C "$root" rev-parse --verify -q "$rev^{commit}" >/dev/null \
        || { echo "ci-ab: '$rev' is not a commit of $root" >&2; exit 2; }
    wt=$(mktemp -d)
    trap 'git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
    git -C "$root" worktree add --detach "$wt" "$rev" >&2
    cmake -S "$wt" -B "$root/build-base" -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build "$root/build-base" -j "$(nproc)" --target joulebench >&2
    base_jb="$root/build-base/joulebench"
fi
for b in "$base_jb" "$new_jb"; do
    [ -x "$b" ] || { echo "ci-ab: $b is not an executable" >&2; exit 2; }
done

for n in $(seq 1 "$reps"); do
    echo "ci-ab: round $n of $reps" >&2
    if [ $((n % 2)) -eq 1 ]; then
        jb_ci_sweep "$base_jb" "$out/base" "$n" 1 >/dev/null
        jb_ci_sweep "$new_jb" "$out/new" "$n" 1 >/dev/null
    else
        jb_ci_sweep "$new_jb" "$out/new" "$n" 1 >/dev/null
        jb_ci_sweep "$base_jb" "$out/base" "$n" 1 >/dev/null
    fi
done
# exit status 1 on a regression fails the job (scripts/ci-example.sh explains the outputs)
"$new_jb" compare "$out/base" "$out/new" --markdown --json "$out/compare.json" --gab "$out/gab" \
    --bencher "$out/bencher.json" | tee "$out/compare.md"
