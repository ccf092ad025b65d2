#!/usr/bin/env bash
# The main job: installs what is missing, builds, runs the default sweep, prints its table and
# writes its report (report.md with the cost table and six pictures).
# Usage: scripts/run.sh [extra sweep options, e.g. --reps 5 or --out DIR]
#
# The default sweep: the small end of the ladder (tiny to Llama-3.2-1B) on the chat workload,
# in q8_0 and f32, three repetitions each after a warm-up. Two requests per repetition at a
# quarter of chat's lengths keep it to a few minutes on a 2-core machine; raise them with
# --requests and --token-scale. Re-running the same command resumes an interrupted sweep.
# The report prices the runs with the cost profile $JB_COST_PROFILE (default cloud-vm, a
# 2-vCPU cloud machine like the development VM; see profiles/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
jb_install_deps
jb_build
jb="${JB_BUILD_DIR:-$root/build}/joulebench"
cd "$root"

"$jb" sweep --models tiny,SmolLM2-135M,SmolLM2-360M,Qwen2.5-0.5B,Llama-3.2-1B \
    --workloads chat --dtypes q8_0,f32 --requests 2 --token-scale 0.25 --reps 3 --warmup 1 "$@"
# The report goes with the folder the sweep wrote: --out DIR if given, else results/latest.
out=results/latest
prev=
for arg in "$@"; do
    [[ $prev == --out ]] && out=$arg
    [[ $arg == --out=* ]] && out=${arg#--out=}
    prev=$arg
done
"$jb" report "$out" --cost "${JB_COST_PROFILE:-cloud-vm}"
