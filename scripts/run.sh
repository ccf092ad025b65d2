#!/usr/bin/env bash
# The main job: installs what is missing, builds, runs the default sweep, prints its table and
# writes its report (report.md with the cost table and six pictures).
# Usage: scripts/run.sh [--large | --pareto] [extra sweep options, e.g. --reps 5 or --out DIR]
#
# The default sweep: the small end of the ladder (tiny to Llama-3.2-1B) on the chat workload,
# in q8_0, q4_0 and f32, three repetitions each after a warm-up. Two requests per repetition at a
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
#
# --pareto: the energy-optimal configuration at a latency target (docs/report.md): SmolLM2-135M
# and SmolLM2-360M in q8_0 and f32 on 1 and 2 threads, served chat traffic (8 requests at 4 per
# second, a twentieth of chat's lengths) decoded up to 1, 4 or 8 at a time (--batch), and the
# same as 4 closed-loop users (--scenario concurrency); the two sweeps are merged into
# results/pareto/all and reported with chat's [slo] as the latency target (override with
# JB_SLO, e.g. JB_SLO=tpot_ms=100): pareto.csv, slo.csv and the two Pareto pictures.
# Extra options go to both sweeps (not --out: the folders are results/pareto/*).
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
elif [[ ${1:-} == --pareto ]]; then
    shift
    out=results/pareto
    common=(--models SmolLM2-135M,SmolLM2-360M --workloads chat --dtypes q8_0,f32 --threads 1,2
        --requests 8 --token-scale 0.05 --reps 1 --warmup 1 --idle-s 0)
    "$jb" sweep "${common[@]}" --scenario server --rate 4 --batch 1,4,8 --out "$out/server" "$@"
    "$jb" sweep "${common[@]}" --scenario concurrency --concurrency 4 --out "$out/concurrency" "$@"
    rm -rf "$out/all"
    "$jb" merge "$out/all" "$out/server" "$out/concurrency"
    slo=()
    [[ -n ${JB_SLO:-} ]] && slo=(--slo "$JB_SLO")
    "$jb" report "$out/all" --cost "${JB_COST_PROFILE:-cloud-vm}" "${slo[@]}"
    exit 0
else
    "$jb" sweep --models tiny,SmolLM2-135M,SmolLM2-360M,Qwen2.5-0.5B,Llama-3.2-1B \
        --workloads chat --dtypes q8_0,q4_0,f32 --requests 2 --token-scale 0.25 --reps 3 --warmup 1 "$@"
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
