#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs four stages.
#   main   build with gcc and -Werror; every test through ctest (valgrind's memcheck included)
#          but the slurm stage's
#   slurm  the fleet scripts on a real Slurm (ctest label slurm: tests/test_slurm.sh installs
#          slurm-wlm and munge when missing, starts the daemons for this host, stops them;
#          skipped, exit 77, where they cannot start)
#   asan   the same tests as main built with AddressSanitizer and UndefinedBehaviorSanitizer
#   fuzz   the libFuzzer targets (clang) run JB_FUZZ_SECONDS each (default 20) from
#          tests/fuzz/corpus
# Usage: scripts/test.sh [ctest arguments for the main stage...]
# JB_TEST_STAGES="main slurm asan fuzz" selects stages (JB_TEST_STAGES=main for a quick run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
jb_install_deps
stages=${JB_TEST_STAGES:-main slurm asan fuzz}
fuzz_seconds=${JB_FUZZ_SECONDS:-20}

stage() { printf '\n== test stage: %s\n' "$1" >&2; }

fuzz() { # fuzz TARGET: runs one target from its seed corpus; a crash fails the suite
    local t=$1 work=$2
    mkdir -p "$work/$t"
    if ! "$root/build-fuzz/fuzz_$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
        -artifact_prefix="$work/$t-" "$work/$t" "$root/tests/fuzz/corpus/$t" >"$work/$t.log" 2>&1; then
        echo "fuzz_$t found a crash (input saved under $work):" >&2
        tail -40 "$work/$t.log" >&2
        return 1
    fi
    grep -E '^stat::number_of_executed_units' "$work/$t.log" | sed "s/^/fuzz_$t: /" >&2
}

for s in $stages; do
    case "$s" in
    main)
        stage main
        JB_BUILD_DIR="$root/build" jb_build -DJB_WERROR=ON -DJB_SANITIZE= -DJB_FUZZ=OFF
        (cd "$root/build" && ctest --output-on-failure --timeout 900 -LE slurm "$@")
        ;;
    slurm)
        stage "slurm (the fleet scripts on a real Slurm)"
        JB_BUILD_DIR="$root/build" jb_build -DJB_WERROR=ON -DJB_SANITIZE= -DJB_FUZZ=OFF
        (cd "$root/build" && ctest --output-on-failure -L slurm)
        ;;
    asan)
        stage "asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
        JB_BUILD_DIR="$root/build-asan" jb_build -DCMAKE_BUILD_TYPE=Debug \
            -DJB_SANITIZE=address,undefined
        (cd "$root/build-asan" &&
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            ctest --output-on-failure --timeout 900 -LE slurm)
        ;;
    fuzz)
        stage "fuzz (libFuzzer, ${fuzz_seconds} s per target)"
        CC=clang JB_BUILD_DIR="$root/build-fuzz" jb_build -DJB_FUZZ=ON \
            -DJB_SANITIZE=address,undefined --target fuzz_config fuzz_workload fuzz_csv fuzz_meta fuzz_safetensors \
            fuzz_gguf
        work=$(mktemp -d)
        for t in config workload csv meta safetensors gguf; do
            fuzz "$t" "$work"
        done
        rm -rf "$work"
        ;;
    *)
        echo "scripts/test.sh: unknown stage \"$s\" (main, slurm, asan, fuzz)" >&2
        exit 2
        ;;
    esac
done
