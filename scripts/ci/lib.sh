# scripts/ci/lib.sh — the CI example's sweep in one place, sourced by scripts/ci-example.sh,
# scripts/ci-ab.sh and scripts/ci-aa.sh so that all three measure exactly the same thing.

# jb_ci_sweep JOULEBENCH OUT_DIR REPS [WARMUP]: SmolLM2-135M tg128 and pp512 in q8_0, REPS
# repetitions after WARMUP (default 2) warm-ups, pinned to every CPU, no idle baseline. Run
# again on the same folder with a larger REPS it adds only the missing repetitions, which is
# how scripts/ci-ab.sh interleaves two binaries one repetition at a time.
jb_ci_sweep() {
    local jb=$1 out=$2 reps=$3 warmup=${4:-2}
    "$jb" sweep --models SmolLM2-135M --workloads tg128,pp512 --dtypes q8_0 \
        --reps "$reps" --warmup "$warmup" --idle-s 0 --cpus "0-$(($(nproc) - 1))" --out "$out"
}
