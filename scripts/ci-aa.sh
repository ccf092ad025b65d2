#!/usr/bin/env bash
# How often does `joulebench compare` call a regression when nothing changed, and how often does
# it catch a real one? Usage:
#   scripts/ci-aa.sh [--runs K] [--reps R] [--slowdown F] [--mode stored|interleaved|both]
#                    [--out DIR] [--judge-only] [--compare-args ARGS] [--tag NAME]
# Builds a test build (build-test-hooks/, -DJB_TEST_HOOKS=ON: the hidden JOULEBENCH_TEST_SLOWDOWN
# that makes every decode step F times as long) and runs the CI example's sweep
# (scripts/ci/lib.sh) the two ways a CI job can get its baseline, comparing with `compare` at
# its defaults:
#   stored:      K separate runs of the sweep as they are (A) and K with the slowdown (S), one
#                after the other, as a CI job and the baseline it stored earlier are; false
#                alarms over the K(K-1)/2 A/A pairs, detections over the K*K A/S pairs.
#   interleaved: K jobs of scripts/ci-ab.sh's method, each filling three folders (A, A', S) one
#                repetition at a time in rotation; one A/A' and one A/S comparison per job
#                (compare pairs them round by round: their times overlap).
# --judge-only measures nothing and judges the folders a previous call left in --out again;
# --compare-args passes more options to compare (e.g. "--paired no" for the two-sample test on
# the same data); --tag NAME writes verdicts-NAME.tsv instead of verdicts.tsv.
# A detection counts only when the decode figures of tg128 (tpot_ms_p50 or decode_tok_s) are
# among the regressions, the ones a decode slowdown must move. Prints one line per mode:
#   mode  comparisons  false_alarms  rate  slowdown_comparisons  detected  rate
# and writes every verdict to OUT/verdicts.tsv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=6 reps=7 slowdown=1.10 mode=both out="" judge_only=0 compare_args="" tag=""
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=${2:?}; shift 2 ;;
    --reps) reps=${2:?}; shift 2 ;;
    --slowdown) slowdown=${2:?}; shift 2 ;;
    --mode) mode=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --judge-only) judge_only=1; shift ;;
    --compare-args) compare_args=${2?}; shift 2 ;;
    --tag) tag=${2:?}; shift 2 ;;
    *) echo "ci-aa: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
    esac
done
for v in "$runs" "$reps"; do
    case $v in '' | *[!0-9]* | 0 | 1) echo "ci-aa: --runs and --reps need an integer >= 2, not '$v'" >&2; exit 2 ;; esac
done
case $mode in stored | interleaved | both) ;; *) echo "ci-aa: --mode is stored, interleaved or both, not '$mode'" >&2; exit 2 ;; esac
awk -v f="$slowdown" 'BEGIN { exit !(f + 0 > 1 && f + 0 < 100) }' \
    || { echo "ci-aa: --slowdown must be a factor above 1 (e.g. 1.10), not '$slowdown'" >&2; exit 2; }
[ "$judge_only" = 0 ] || [ -n "$out" ] || { echo "ci-aa: --judge-only needs --out DIR" >&2; exit 2; }
out=${out:-$root/results/ci-aa-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
. "$root/scripts/deps.sh"
. "$root/scripts/ci/lib.sh"
jb_install_deps
JB_BUILD_DIR="$root/build-test-hooks" jb_build -DJB_TEST_HOOKS=ON --target joulebench
jb="$root/build-test-hooks/joulebench"
verdicts="$out/verdicts${tag:+-$tag}.tsv"
printf 'mode\tbase\tnew\texpected\texit\tregressions\n' >"$verdicts"

# judge MODE BASE NEW EXPECTED: one compare at its defaults, one line in verdicts.tsv
judge() {
    local rc=0 regs
    # shellcheck disable=SC2086 # --compare-args is a list of options
    "$jb" compare "$2" "$3" $compare_args >"$out/compare.txt" 2>&1 || rc=$?
    [ "$rc" -le 1 ] || { echo "ci-aa: compare $2 $3 failed (exit $rc):" >&2; cat "$out/compare.txt" >&2; exit 1; }
    regs=$(awk '/regression$/ { printf "%s%s:%s", sep, $3, $(NF - 7); sep = "," }' "$out/compare.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "${2#"$out"/}" "${3#"$out"/}" "$4" "$rc" "$regs" >>"$verdicts"
}
slowed() { JOULEBENCH_TEST_SLOWDOWN=$slowdown "$@"; }

if [ "$mode" != interleaved ]; then
    for i in $(seq 1 "$runs"); do
        [ "$judge_only" = 0 ] || break
        echo "ci-aa: stored, run $i of $runs" >&2
        jb_ci_sweep "$jb" "$out/stored/a$i" "$reps" >/dev/null
        slowed jb_ci_sweep "$jb" "$out/stored/s$i" "$reps" >/dev/null
    done
    for i in $(seq 1 "$runs"); do
        for j in $(seq 1 "$runs"); do
            [ "$j" -le "$i" ] || judge stored "$out/stored/a$i" "$out/stored/a$j" same
            judge stored "$out/stored/a$i" "$out/stored/s$j" slower
        done
    done
fi
if [ "$mode" != stored ]; then
    for k in $(seq 1 "$runs"); do
        d="$out/interleaved/job$k"
        if [ "$judge_only" = 1 ]; then
            [ -f "$d/complete" ] || break # as many jobs as the earlier call completed
            judge interleaved "$d/a" "$d/b" same
            judge interleaved "$d/a" "$d/s" slower
            continue
        fi
        for n in $(seq 1 "$reps"); do
            echo "ci-aa: interleaved, job $k of $runs, round $n of $reps" >&2
            case $((n % 3)) in
            1) order="a b s" ;; 2) order="b s a" ;; *) order="s a b" ;;
            esac
            for side in $order; do
                if [ "$side" = s ]; then
                    slowed jb_ci_sweep "$jb" "$d/$side" "$n" 1 >/dev/null
                else
                    jb_ci_sweep "$jb" "$d/$side" "$n" 1 >/dev/null
                fi
            done
        done
        touch "$d/complete"
        judge interleaved "$d/a" "$d/b" same
        judge interleaved "$d/a" "$d/s" slower
    done
fi

printf 'mode\tcomparisons\tfalse_alarms\trate\tslowdown_comparisons\tdetected\trate\n'
awk -F'\t' 'NR > 1 {
        if ($4 == "same") { n[$1]++; fa[$1] += ($5 == 1) }
        else { m[$1]++; det[$1] += ($5 == 1 && $6 ~ /tg128:(tpot_ms_p50|decode_tok_s)/) }
    }
    END { for (k in n) printf "%s\t%d\t%d\t%.1f%%\t%d\t%d\t%.1f%%\n", k, n[k], fa[k],
        100 * fa[k] / n[k], m[k], det[k], 100 * det[k] / m[k] }' "$verdicts" | sort
if [ "$judge_only" = 1 ]; then
    echo "ci-aa: every verdict in $verdicts (the folders of $out judged again)" >&2
else
    echo "ci-aa: every verdict in $verdicts (slowdown $slowdown, $reps repetitions)" >&2
fi
