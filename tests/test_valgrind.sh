#!/usr/bin/env bash
# test_valgrind.sh — the tiny model under valgrind's memcheck: generation in every dtype and a
# short run (OpenMP threads, the energy sampler thread, CSV writing) must show no invalid
# access and no definite leak. Skipped (77) when valgrind is not installed.
# Usage: test_valgrind.sh PATH/TO/joulebench SOURCE_DIR
set -u
jb=$1
src=$2
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
export JOULEBENCH_MODELS_DIR="$src/models" JOULEBENCH_WORKLOADS_DIR="$src/workloads"
# valgrind 3.19 does not decode AVX-512: keep OpenBLAS on its AVX2 kernels
export OPENBLAS_CORETYPE=Haswell
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
vg() {
    local name=$1
    shift
    if valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-origins=yes --quiet "$jb" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err"; then
        echo "ok: $name clean under memcheck"
    else
        echo "FAIL: $name (exit $?):"
        head -40 "$tmp/$name.err"
        fails=$((fails + 1))
    fi
}
for dt in f32 bf16 q8_0 q4_0 q4_k; do
    vg "generate_$dt" generate --model tiny --prompt-ids 1,2,3,4 --max-tokens 4 --dtype "$dt"
done
vg run run --model tiny --workload tg128 --requests 1 --reps 1 --warmup 0 --idle-s 0.2 \
    --energy estimator --out "$tmp/results"
vg compare compare "$src/tests/fixtures/compare/base" "$src/tests/fixtures/compare/noise2"
[ "$fails" -eq 0 ]
