#!/usr/bin/env bash
# The main job: installs what is missing, builds, runs the default sweep, prints its table and
# writes its report (report.md with the cost table and six pictures).
# Usage: scripts/run.sh [--large] [extra sweep options, e.g. --reps 5 or --out DIR]
#
# The default sweep: the small end of the ladder (tiny to Llama-3.2-1B) on the chat workload,
# in q8_0 and f32, three repetitions each after a warm-up. Two requests per repetition at a
# quarter of chat's lengths keep it to a few minutes on a 2-core machine; raise them with
# --requests and --token-scale. Re-running the same command resumes an interrupted sweep.
# The report prices the runs with the cost profile $JB_COST_PROFILE (default cloud-vm, a
# 2-vCPU cloud machine like the development VM; see profiles/).
#
# --large: the large end instead (docs/large-models.md): Llama-3.2-1B, Llama-3.2-3B,
# Llama-3-8B, Llama-3-70B and Llama-3.1-405B on chat in q8_0 with --layers auto, so the three
# smaller ones run whole and 70B and 405B run the most layers that fit in memory, their time
# and energy extrapolated to all of them, and the report sets those against the power law of
# the three; one request at a quarter of chat's lengths, one warm-up and one repetition
# (a model's first repetition after loading runs slow on some machines: docs/large-models.md),
# into results/large (about eight minutes on a 2-core, 24 GiB machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
jb_install_deps
jb_build
jb="${JB_BUILD_DIR:-$root/build}/joulebench"
cd "$root"

out=results/latest
if [[ ${1:-} == --large ]]; then
    shift
    out=results/large
    "$jb" sweep --models Llama-3.2-1B,Llama-3.2-3B,Llama-3-8B,Llama-3-70B,Llama-3.1-405B \
        --workloads chat --dtypes q8_0 \
        --layers auto --requests 1 --token-scale 0.25 --reps 1 --warmup 1 --out "$out" "$@"
else
    "$jb" sweep --models tiny,SmolLM2-135M,SmolLM2-360M,Qwen2.5-0.5B,Llama-3.2-1B \
        --workloads chat --dtypes q8_0,f32 --requests 2 --token-scale 0.25 --reps 3 --warmup 1 "$@"
fi
# The report goes with the folder the sweep wrote: --out DIR if given, else results/latest
# (results/large with --large).
prev=
for arg in "$@"; do
    [[ $prev == --out ]] && out=$arg
    [[ $arg == --out=* ]] && out=${arg#--out=}
    prev=$arg
done
"$jb" report "$out" --cost "${JB_COST_PROFILE:-cloud-vm}"
