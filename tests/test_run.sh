#!/usr/bin/env bash
# test_run.sh — `joulebench run` and `sweep` end to end: every required column is written,
# rows add up, an interrupted sweep resumes with every repetition exactly once, a second
# writer is refused, bad input fails with one line and a non-zero exit, existing results are
# never truncated, and docs/csv.md matches the column tables.
# Usage: test_run.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"

# --- a run writes every required column (issue: runner), and the rows add up
required="schema_version run_id timestamp_utc model params dtype workload scenario batch threads
rep requests prompt_tokens gen_tokens ttft_ms_p50 ttft_ms_p99 tpot_ms_p50 tpot_ms_p99 itl_ms_p99
e2e_ms_p50 e2e_ms_p99 prefill_tok_s decode_tok_s total_tok_s energy_j j_per_token j_per_query
energy_source energy_method build_commit cpu_info avg_ts stddev_ts req_s goodput_req_s
energy_prefill_j energy_decode_j j_per_prompt_token j_per_output_token avg_power_w energy_pkg_j
energy_cores_j energy_dram_j energy_gpu_j energy_domains energy_reads energy_wraps idle_power_w
energy_net_j steady_j_per_output_token instructions cycles counters_reason"
if "$jb" run --model tiny --workload chat --requests 3 --reps 2 --warmup 0 --idle-s 1 --out run1 >run1.out 2>run1.err; then
    header=$(head -1 run1/runs.csv | tr -d '\r')
    missing=""
    for c in $required; do
        echo ",$header," | grep -q ",$c," || missing="$missing $c"
    done
    [ -z "$missing" ] && ok "runs.csv has every required column" || fail "runs.csv lacks:$missing"
    [ "$(rows run1/runs.csv)" -eq 2 ] && ok "2 repetitions" || fail "runs.csv rows: $(rows run1/runs.csv)"
    [ "$(rows run1/requests.csv)" -eq 6 ] && ok "6 request rows" || fail "requests.csv rows: $(rows run1/requests.csv)"
    col run1/runs.csv energy_j | grep -qvE '^[0-9.e+-]+$' && fail "energy_j not numeric: $(col run1/runs.csv energy_j)" \
        || ok "energy_j filled"
    col run1/runs.csv energy_method | grep -qvE '^(measured|estimated|integrated)$' \
        && fail "energy_method: $(col run1/runs.csv energy_method)" || ok "energy_method names the method"
    [ "$(col run1/runs.csv idle_power_w | grep -cE '^[0-9.e+-]+$')" -eq 2 ] && ok "idle power measured" || fail "idle_power_w empty"
    [ "$(col run1/runs.csv instructions | sort -u)" = "" ] && col run1/runs.csv counters_reason | grep -q . \
        || [ "$(col run1/runs.csv instructions | grep -cE '^[0-9.e+-]+$')" -eq 2 ] \
        && ok "counters counted, or empty with the reason" || fail "counters neither counted nor explained"
    [ "$(col run1/power.csv run_id | grep -c -- '-r[01]$')" -gt 0 ] && grep -q '^schema_version,run_id,t_s,phase,domain,watts,summed' run1/power.csv \
        && ok "power.csv sampled during the repetitions" || fail "power.csv: $(head -3 run1/power.csv)"
    grep -q '"sampler_cpu_share_of_one_core":' run1/meta.json && ok "sampler load recorded" || fail "no sampler load in meta.json"
    [ "$(col run1/runs.csv ttft_ms_p50 | grep -c '^[0-9.e+-]*$')" -eq 2 ] && ok "ttft measured" || fail "ttft not numeric"
    grep -q '"command":' run1/meta.json && grep -q '"--workload"' run1/meta.json \
        && grep -q '"cpu_model":' run1/meta.json && ok "meta.json has the command and machine" || fail "meta.json incomplete"
    grep -q "^tiny *f32 *chat *single-stream" run1.out && ok "summary table printed" || fail "no summary table: $(cat run1.out)"
    [ -s run1/summary.csv ] && grep -q "decode_tok_s" run1/summary.csv && ok "summary.csv written" || fail "summary.csv missing"
    [ ! -e run1/.lock ] && ok "lock released" || fail "lock left behind"
    [ ! -s run1.err ] && ok "stderr quiet when not a terminal" || fail "stderr: $(head -3 run1.err)"
else
    fail "run failed: $(cat run1.err)"
fi

# --- existing results are never truncated: another run into the same folder appends
"$jb" run --model tiny --workload code --requests 2 --reps 1 --warmup 0 --idle-s 0 --out run1 >/dev/null 2>&1
[ "$(rows run1/runs.csv)" -eq 3 ] && [ "$(rows run1/requests.csv)" -eq 8 ] \
    && ok "second run appended, first kept" || fail "rows after append: $(rows run1/runs.csv)/$(rows run1/requests.csv)"

# --- a sweep interrupted with Ctrl-C resumes: every repetition exactly once
sweep=(sweep --models tiny --workloads chat-interactive --rate 4 --requests 3 --dtypes f32,q8_0
    --threads 1,2 --reps 2 --warmup 0 --idle-s 0 --out sw)
"$jb" "${sweep[@]}" >sw1.out 2>sw1.err &
pid=$!
for _ in $(seq 1 300); do
    [ -f sw/runs.csv ] && [ "$(rows sw/runs.csv)" -ge 2 ] && break
    sleep 0.05
done
# a second writer on the same folder is refused while the first holds the lock
"$jb" run --model tiny --workload chat --requests 1 --reps 1 --idle-s 0 --out sw >second.out 2>second.err
rc=$?
[ "$rc" -ne 0 ] && grep -q "being written by another joulebench" second.err \
    && ok "second writer refused (exit $rc)" || fail "second writer: exit $rc $(cat second.err)"
kill -INT "$pid"
wait "$pid"
rc=$?
before=$(rows sw/runs.csv)
[ "$rc" -eq 130 ] && ok "interrupted sweep exits 130" || fail "interrupted sweep exit $rc"
grep -q "interrupted" sw1.err && ok "interruption reported" || fail "no interruption message"
[ "$before" -ge 2 ] && [ "$before" -lt 8 ] && ok "$before of 8 repetitions recorded before Ctrl-C" \
    || fail "rows before resume: $before"
"$jb" "${sweep[@]}" >sw2.out 2>sw2.err || fail "resumed sweep failed: $(cat sw2.err)"
[ "$(rows sw/runs.csv)" -eq 8 ] && ok "resumed sweep completes 8 repetitions" || fail "rows after resume: $(rows sw/runs.csv)"
[ "$(col sw/runs.csv run_id | sort | uniq -d | wc -l)" -eq 0 ] && ok "no repetition twice" || fail "duplicate run_ids"
[ "$(col sw/requests.csv run_id | sort -u)" = "$(col sw/runs.csv run_id | sort -u)" ] \
    && ok "request rows belong to recorded repetitions" || fail "orphan or missing request rows"
[ "$(rows sw/requests.csv)" -eq 24 ] && ok "24 request rows (8 x 3)" || fail "request rows: $(rows sw/requests.csv)"
[ "$(col sw/requests.csv run_id | paste -d, - <(col sw/requests.csv request_id) | sort | uniq -d | wc -l)" -eq 0 ] \
    && ok "no request row twice" || fail "duplicate request rows"
"$jb" "${sweep[@]}" >sw3.out 2>&1 && [ "$(rows sw/runs.csv)" -eq 8 ] \
    && grep -q "0 repetitions recorded now" sw3.out && ok "a finished sweep re-run adds nothing" || fail "re-run of finished sweep"
# a folder begun before run_ids named the machine (CONFIG_ID-rREP) continues without re-running
cp -r sw legacy
for f in runs.csv requests.csv power.csv; do
    sed -E -i 's/([0-9a-f]{16})-[0-9a-f]{8}-r([0-9]+)/\1-r\2/g' "legacy/$f"
done
if [ "$(col legacy/runs.csv run_id | grep -cE '^[0-9a-f]{16}-r[0-9]+$')" -eq 8 ]; then
    "$jb" "${sweep[@]}" --out legacy >lg.out 2>&1 && [ "$(rows legacy/runs.csv)" -eq 8 ] \
        && grep -q "0 repetitions recorded now" lg.out && ok "a folder of legacy run_ids continues, adding nothing" \
        || fail "legacy run_ids re-run: $(rows legacy/runs.csv) rows; $(tail -3 lg.out)"
else
    fail "could not write legacy run_ids: $(col legacy/runs.csv run_id | head -2)"
fi

# --- bad input: one line on stderr, non-zero exit, nothing written
bad() { # bad NAME EXIT TEXT ARGS...
    local name=$1 want=$2 text=$3
    shift 3
    "$jb" "$@" >"$name.out" 2>"$name.err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$name: exit $got, expected $want: $(head -2 "$name.err")"
    elif ! grep -qF -- "$text" "$name.err"; then
        fail "$name: error lacks \"$text\": $(cat "$name.err")"
    elif [ "$(wc -l <"$name.err")" -ne 1 ]; then
        fail "$name: $(wc -l <"$name.err") error lines"
    else
        ok "$name: exit $want, \"$text\""
    fi
}
printf '[workload]\nscenario = single-stream\nprompt_tokens = fixed 10\noutput_tokens = fixed 5\ncolour = blue\n' >badkey.ini
bad unknown_key 2 "badkey.ini:5" run --model tiny --workload ./badkey.ini --out badkey
[ ! -e badkey ] && ok "nothing written for bad input" || fail "folder created for bad input"
printf '[workload]\nprompt_tokens = fixed 0\noutput_tokens = fixed 5\n' >zero.ini
bad zero_length 2 "zero.ini:2" run --model tiny --workload ./zero.ini --out zero
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.00,abc,10\n2023-11-16 18:15:48.00,20,5\n' >trace.csv
bad bad_trace_row 2 "trace.csv:3" run --model tiny --workload ./trace.csv --out tr
"$jb" run --model tiny --workload ./trace.csv --skip-bad-rows --reps 1 --warmup 0 --idle-s 0 --time-scale 0.01 --out tr >tr.out 2>tr.err \
    && [ "$(rows tr/requests.csv)" -eq 2 ] && grep -q '"bad_rows_skipped":' tr/meta.json \
    && ok "--skip-bad-rows replays the good rows and counts the bad one" || fail "skip-bad-rows: $(cat tr.err)"
bad missing_workload 2 "no-such" run --model tiny --workload no-such
bad missing_model 2 'unknown model "no-such"' run --model no-such --workload chat
bad bad_reps 2 "option --reps" run --model tiny --workload chat --reps 0
bad bad_dtype 2 'unknown storage type "f16"' sweep --models tiny --workloads chat --dtypes f32,f16
bad too_long 2 "needs" run --model tiny --workload summarize --token-scale 2
touch afile
bad unwritable 1 "cannot create results folder" run --model tiny --workload chat --requests 1 --idle-s 0 --out afile/sub
bad run_list 2 "use \`joulebench sweep\`" run --model tiny,SmolLM2-135M --workload chat
bad too_big 1 "needs" run --model Llama-3-70B --workload chat --dtype q8_0

# --- a sweep skips what does not fit, with the reason, and runs the rest
JOULEBENCH_MEM_LIMIT=300M "$jb" sweep --models tiny,SmolLM2-360M --workloads chat --requests 1 \
    --reps 1 --warmup 0 --idle-s 0 --out skip >skip.out 2>skip.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "skipping SmolLM2-360M f32 chat: SmolLM2-360M in f32 needs" skip.err \
    && [ "$(rows skip/runs.csv)" -eq 1 ] && grep -q '"status":.*"skipped"' skip/meta.json \
    && ok "sweep skips what does not fit, logs why, runs the rest" || fail "skip: exit $rc $(cat skip.err)"

# --- docs/csv.md is the column tables
"$jb" columns --markdown >cols.md
if grep -qF -f <(head -3 cols.md) "$src/docs/csv.md" && \
   python3 -c "import sys; sys.exit(0 if open(sys.argv[1]).read() in open(sys.argv[2]).read() else 1)" cols.md "$src/docs/csv.md"; then
    ok "docs/csv.md matches joulebench columns --markdown"
else
    fail "docs/csv.md is out of date: regenerate its tables with joulebench columns --markdown"
fi

jb_test_end test_run
