#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the default benchmark.
# Usage: scripts/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
jb_install_deps
jb_build
jb="${JB_BUILD_DIR:-$root/build}/joulebench"

echo "== the model ladder (parameters, memory per storage type, what fits here)"
"$jb" models
echo
echo "== a tiny model generates (greedy, pseudo-random weights)"
"$jb" generate --model tiny --prompt-ids 1,2,3,4 --max-tokens 8 --timing
echo
echo "== engine speed beside this machine's limits (Llama-3.2-1B, f32 / bf16 / q8_0)"
"$jb" bench-kernels --no-kernels
