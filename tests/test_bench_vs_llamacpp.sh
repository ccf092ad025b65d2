#!/usr/bin/env bash
# test_bench_vs_llamacpp.sh — scripts/bench-vs-llamacpp.sh without llama.cpp: bad arguments and
# missing or wrong files get one line naming them and exit 2; with stand-ins for llama-bench and
# joulebench that print known figures, the runs interleave (llama-bench, then joulebench's
# pp512 and tg128, per repetition) with the same thread count, and the printed medians and
# ratios are those of the known figures; a failing llama-bench is exit 1 naming it.
# Usage: test_bench_vs_llamacpp.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"
script=$src/scripts/bench-vs-llamacpp.sh

# stand-in llama-bench: logs its call, prints llama-bench's CSV with the next figures of
# $FAKE_LLAMA_PP and $FAKE_LLAMA_TG (one per call)
cat >llama-bench <<'EOF'
#!/usr/bin/env bash
dir=$(dirname "$0")
echo "llama $*" >>"$dir/order.log"
n=$(grep -c '^llama' "$dir/order.log")
pp=$(cut -d, -f"$n" <<<"$FAKE_LLAMA_PP")
tg=$(cut -d, -f"$n" <<<"$FAKE_LLAMA_TG")
echo "llama-bench: benchmark 1/2: warmup prompt run" >&2
echo '"build_commit","build_number","cpu_info","model_type","n_threads","n_prompt","n_gen","avg_ts"'
echo "\"abc1234\",\"4242\",\"Test CPU, 2 cores\",\"llama 1B Q4_0\",\"2\",\"512\",\"0\",\"$pp\""
echo "\"abc1234\",\"4242\",\"Test CPU, 2 cores\",\"llama 1B Q4_0\",\"2\",\"0\",\"128\",\"$tg\""
EOF
# stand-in joulebench: logs its call, writes runs.csv with the next figure of $FAKE_JB_PP or
# $FAKE_JB_TG into --out
cat >joulebench <<'EOF'
#!/usr/bin/env bash
dir=$(dirname "$0")
echo "jb $*" >>"$dir/order.log"
while [ $# -gt 0 ]; do
    case $1 in --workload) w=$2; shift 2 ;; --out) o=$2; shift 2 ;; *) shift ;; esac
done
n=$(grep -c "^jb .*--workload $w" "$dir/order.log")
if [ "$w" = pp512 ]; then v=$(cut -d, -f"$n" <<<"$FAKE_JB_PP"); else v=$(cut -d, -f"$n" <<<"$FAKE_JB_TG"); fi
mkdir -p "$o"
printf 'schema_version,build_commit,cpu_info,dtype,workload,threads,avg_ts\r\n' >"$o/runs.csv"
printf '3,def5678,Test CPU,q4_0,%s,2,%s\r\n' "$w" "$v" >>"$o/runs.csv"
EOF
chmod +x llama-bench joulebench
printf 'GGUF\3\0\0\0' >model.gguf
printf 'PK\3\4' >model.zip
touch not-exec

# refused LABEL WANT -- ARGS...: exit 2, one line on stderr containing WANT
refused() {
    local label=$1 want=$2
    shift 3
    "$script" "$@" >"$label.out" 2>"$label.err"
    local rc=$? lines
    lines=$(wc -l <"$label.err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$label.err"; then
        ok "$label: exit 2, one line"
    else
        fail "$label: exit $rc, $lines line(s): $(cat "$label.err")"
    fi
}
J=(--joulebench ./joulebench)
refused no_args "expected LLAMA_BENCH and GGUF, got 0" --
refused one_arg "expected LLAMA_BENCH and GGUF, got 1" -- ./llama-bench "${J[@]}"
refused three_args "got 3" -- ./llama-bench model.gguf extra "${J[@]}"
refused no_llama "./missing-bench: no such file" -- ./missing-bench model.gguf "${J[@]}"
refused llama_not_exec "not-exec: not executable" -- ./not-exec model.gguf "${J[@]}"
refused no_gguf "missing.gguf: no such file" -- ./llama-bench missing.gguf "${J[@]}"
refused not_gguf "model.zip: not a GGUF file" -- ./llama-bench model.zip "${J[@]}"
refused no_jb "./nowhere/joulebench: no joulebench binary" -- ./llama-bench model.gguf \
    --joulebench ./nowhere/joulebench
for v in 0 -1 x 1.5 ""; do
    refused "threads_${v:-empty}" "--threads: a whole number from 1" -- ./llama-bench model.gguf \
        "${J[@]}" --threads "$v"
    refused "reps_${v:-empty}" "--reps: a whole number from 1" -- ./llama-bench model.gguf \
        "${J[@]}" --reps "$v"
done
refused threads_missing "--threads needs a value" -- ./llama-bench model.gguf "${J[@]}" --threads
refused unknown "unknown option --frobnicate" -- ./llama-bench model.gguf "${J[@]}" --frobnicate
"$script" --help >help.out 2>&1 && grep -q '^Usage: scripts/bench-vs-llamacpp.sh LLAMA_BENCH GGUF' help.out \
    && ok "--help prints the usage" || fail "--help: $(cat help.out)"
[ ! -e order.log ] && ok "nothing ran for bad arguments" || fail "ran: $(cat order.log)"

# a whole comparison on known figures: medians 200 | 250 (pp512), 20 | 22 (tg128)
export FAKE_LLAMA_PP=100,300,200 FAKE_JB_PP=150,250,260 FAKE_LLAMA_TG=20,10,30 FAKE_JB_TG=22,22,40
if "$script" ./llama-bench model.gguf "${J[@]}" --threads 2 --reps 3 --out raw >tsv.out 2>tsv.err; then
    ok "a run with stand-ins exits 0"
else
    fail "run: $(cat tsv.err)"
fi
want_order="llama jb pp512 jb tg128 llama jb pp512 jb tg128 llama jb pp512 jb tg128"
got_order=$(awk '{ for (i = 1; i < NF; i++) if ($i == "--workload") w = " " $(i + 1);
        printf "%s%s%s", (NR > 1 ? " " : ""), $1, ($1 == "jb" ? w : "") }' order.log)
[ "$got_order" = "$want_order" ] && ok "interleaved: $got_order" \
    || fail "order: $got_order"
[ "$(grep -c -- '-t 2 ' order.log)" -eq 3 ] && [ "$(grep -c -- '--threads 2 ' order.log)" -eq 6 ] \
    && grep -q -- '-p 512 -n 128 -t 2 -r 1 -o csv' order.log \
    && ok "the same thread count for both" || fail "threads: $(cat order.log)"
line() { awk -F'\t' -v t="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) k[$i] = i; next }
        $1 == t { print $k[c] }' tsv.out; }
[ "$(line pp512 llama_tok_s)" = 200.000 ] && [ "$(line pp512 jb_tok_s)" = 250.000 ] \
    && [ "$(line pp512 jb_over_llama)" = 1.2500 ] && ok "pp512: medians 200 and 250, ratio 1.25" \
    || fail "pp512: $(cat tsv.out)"
[ "$(line tg128 llama_tok_s)" = 20.000 ] && [ "$(line tg128 jb_tok_s)" = 22.000 ] \
    && [ "$(line tg128 jb_over_llama)" = 1.1000 ] && ok "tg128: medians 20 and 22, ratio 1.10" \
    || fail "tg128: $(cat tsv.out)"
[ "$(line tg128 llama_commit)" = abc1234 ] && [ "$(line tg128 llama_build)" = 4242 ] \
    && [ "$(line tg128 cpu)" = "Test CPU, 2 cores" ] && [ "$(line pp512 jb_dtype)" = q4_0 ] \
    && ok "llama.cpp's commit and build, the CPU and the dtype are printed" || fail "info: $(cat tsv.out)"
[ "$(wc -l <tsv.out)" -eq 3 ] && [ "$(grep -c 'repetition' tsv.err)" -eq 9 ] \
    && ok "stdout: a header and two lines; progress on stderr" || fail "lines: $(cat tsv.out tsv.err)"
[ -f raw/llama-r3.csv ] && [ -f raw/jb-tg128-r3/runs.csv ] && ok "--out keeps the raw outputs" \
    || fail "raw outputs: $(ls -R raw)"
rm order.log
"$script" ./llama-bench model.gguf "${J[@]}" --threads 2 --reps 1 --table >table.out 2>/dev/null \
    <<<"" && grep -q 'abc1234 (build 4242)' table.out && grep -q '^pp512 ' table.out \
    && ok "--table prints the table" || fail "table: $(cat table.out)"

# a failing llama-bench: exit 1, naming it and its last words
cat >bad-bench <<'EOF'
#!/usr/bin/env bash
echo "error: failed to load model" >&2
exit 1
EOF
chmod +x bad-bench
"$script" ./bad-bench model.gguf "${J[@]}" --reps 1 >bad.out 2>bad.err
rc=$?
[ "$rc" -eq 1 ] && grep -q "llama-bench failed (repetition 1): error: failed to load model" bad.err \
    && ok "a failing llama-bench: exit 1 with its error" || fail "bad bench: exit $rc, $(cat bad.err)"

jb_test_end test_bench_vs_llamacpp
