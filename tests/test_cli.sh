#!/usr/bin/env bash
# test_cli.sh — the command line as a user meets it: the model ladder, generation, the memory
# refusal of the large references, exit codes and one-line errors, run's refusals of hostile
# input (FIFOs, folders, absurd replays, over-long --out, commas in paths), and the kernel
# benchmark's report. Usage: test_cli.sh PATH/TO/joulebench SOURCE_DIR
set -u
jb=$1
src=$2
export JOULEBENCH_MODELS_DIR="$src/models"
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# run NAME EXPECTED_EXIT ARGS...: runs joulebench, keeps stdout/stderr in $tmp/NAME.{out,err}
run() {
    local name=$1 want=$2
    shift 2
    "$jb" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$name: exit $got, expected $want (joulebench $*)"
        sed 's/^/    /' "$tmp/$name.err" | head -5
        return 1
    fi
    return 0
}

expect_in() { # expect_in NAME FILE TEXT
    grep -qF -- "$3" "$tmp/$1.$2" && ok "$1: $2 has \"$3\"" || fail "$1: $2 lacks \"$3\": $(head -c 400 "$tmp/$1.$2")"
}

one_error_line() { # errors are one line, prefixed, and stdout stays empty
    local n
    n=$(wc -l <"$tmp/$1.err")
    [ "$n" -eq 1 ] && ok "$1: one error line" || fail "$1: $n error lines"
    grep -q '^joulebench: ' "$tmp/$1.err" || fail "$1: error line lacks the joulebench: prefix"
    [ ! -s "$tmp/$1.out" ] || fail "$1: wrote to stdout on error"
}

# --- models: every published count appears exactly, ladder sorted, large ones do not fit
if run models 0 models; then
    tail -n +2 "$src/models/published_params.tsv" | while IFS=$'\t' read -r name params _; do
        awk -v n="$name" -v p="$params" '$1 == n && $6 == p { found = 1 } END { exit !found }' \
            "$tmp/models.out" || echo "FAIL: models: $name without its published count $params"
    done | tee "$tmp/models.check"
    [ -s "$tmp/models.check" ] && fails=$((fails + 1)) || ok "models: published counts listed"
    [ "$(awk 'NR == 2 { print $1 }' "$tmp/models.out")" = tiny ] && ok "models: tiny first" || fail "models: tiny not first"
    awk '$1 == "Llama-3-70B" || $1 == "Llama-3.1-405B" { if ($(NF - 1) != "none") bad = 1; n++ }
         END { exit bad || n != 2 }' "$tmp/models.out" && ok "models: 70B and 405B fit nowhere" \
        || fail "models: 70B/405B fit column wrong"
    # under 16 GiB both run sampled in q8_0 (2 layers of 405B take 10.9 GiB), with K of L
    JOULEBENCH_MEM_LIMIT=16G "$jb" models >"$tmp/models16.out" 2>&1
    awk '$1 == "Llama-3-70B" && $NF ~ /(^|,)q8_0:[0-9]+\/80(,|$)/ { a = 1 }
         $1 == "Llama-3.1-405B" && $NF ~ /(^|,)q8_0:[0-9]+\/126(,|$)/ { b = 1 }
         $1 == "tiny" && $NF == "-" { c = 1 } END { exit !(a && b && c) }' "$tmp/models16.out" \
        && ok "models: 70B and 405B run sampled in q8_0 (K/L), tiny whole" \
        || fail "models: sampled column: $(grep -E '^(tiny|Llama-3-70B|Llama-3.1-405B) ' "$tmp/models16.out")"
fi

# --- generate: N ids on one line; dtypes; determinism; sampling with a seed
for dt in f32 bf16 q8_0; do
    if run "gen_$dt" 0 generate --model tiny --prompt-ids 1,2,3,4,5 --max-tokens 6 --dtype "$dt"; then
        [ "$(wc -l <"$tmp/gen_$dt.out")" -eq 1 ] && [ "$(wc -w <"$tmp/gen_$dt.out")" -eq 6 ] \
            && grep -qE '^[0-9]+( [0-9]+){5}$' "$tmp/gen_$dt.out" \
            && ok "generate $dt: 6 ids on one line" || fail "generate $dt: output $(cat "$tmp/gen_$dt.out")"
        [ ! -s "$tmp/gen_$dt.err" ] || fail "generate $dt: stderr not quiet: $(head -2 "$tmp/gen_$dt.err")"
    fi
done
run gen_again 0 generate --model tiny --prompt-ids 1,2,3,4,5 --max-tokens 6 --dtype f32 \
    && cmp -s "$tmp/gen_f32.out" "$tmp/gen_again.out" && ok "generate: deterministic" || fail "generate: not deterministic"
run gen_path 0 generate --model "$src/models/tiny" --prompt-ids 1,2,3,4,5 --max-tokens 6 \
    && cmp -s "$tmp/gen_f32.out" "$tmp/gen_path.out" && ok "generate: a path works as a name" || fail "generate: path differs"
run samp1 0 generate --model tiny --prompt-ids 9,8,7 --max-tokens 12 --temperature 1.5 --top-p 0.9 --sample-seed 3
run samp2 0 generate --model tiny --prompt-ids 9,8,7 --max-tokens 12 --temperature 1.5 --top-p 0.9 --sample-seed 3
cmp -s "$tmp/samp1.out" "$tmp/samp2.out" && ok "generate: seeded sampling repeats" || fail "generate: seeded sampling differs"
run timing 0 generate --model tiny --prompt-ids 1,2,3 --max-tokens 3 --timing && expect_in timing err "decode:"

# --- refusals and bad input: exit code, one line, names the thing
for m in Llama-3-70B Llama-3.1-405B; do
    if run "big_$m" 1 generate --model "$m" --prompt-ids 1,2 --max-tokens 2 --dtype q8_0; then
        expect_in "big_$m" err "needs"
        expect_in "big_$m" err "GiB is available"
        expect_in "big_$m" err "use a smaller model or a machine with more memory"
        one_error_line "big_$m"
    fi
done
JOULEBENCH_MEM_LIMIT=8G run fit_bf16 1 generate --model Llama-3.2-3B --prompt-ids 1 --max-tokens 1 \
    && expect_in fit_bf16 err "try --dtype bf16"
run unknown_model 2 generate --model no-such --prompt-ids 1 --max-tokens 1 \
    && expect_in unknown_model err 'unknown model "no-such"' && one_error_line unknown_model
run bad_dtype 2 generate --model tiny --prompt-ids 1 --max-tokens 1 --dtype fp8 \
    && expect_in bad_dtype err 'option --dtype: unknown storage type "fp8"' && one_error_line bad_dtype
run bad_ids 2 generate --model tiny --prompt-ids 1,x,3 --max-tokens 1 \
    && expect_in bad_ids err 'element 2 ("x")' && one_error_line bad_ids
run big_id 2 generate --model tiny --prompt-ids 1,5000 --max-tokens 1 \
    && expect_in big_id err "token id 5000 is outside the vocabulary of tiny (0..2047)" && one_error_line big_id
run fits_ctx 0 generate --model tiny --prompt-ids 1,2 --max-tokens 1023 \
    && ok "generate: prompt + max tokens - 1 = 1024 positions fit"
run long_ctx 2 generate --model tiny --prompt-ids 1,2 --max-tokens 1024 \
    && expect_in long_ctx err "max_position_embeddings (1024) (the prompt has 2 tokens and --max-tokens is 1024)"
run bad_threads 2 generate --model tiny --prompt-ids 1 --max-tokens 1 --threads 0 \
    && expect_in bad_threads err "option --threads"
run no_model 2 generate --prompt-ids 1 --max-tokens 1 && expect_in no_model err "--model is required"
run bad_cmd 2 frobnicate && expect_in bad_cmd err 'unknown command "frobnicate"'
mkdir -p "$tmp/broken" && echo '{"hidden_size": 0}' >"$tmp/broken/config.json"
run broken_cfg 2 generate --model "$tmp/broken" --prompt-ids 1 --max-tokens 1 \
    && expect_in broken_cfg err "$tmp/broken/config.json: field \"hidden_size\"" && one_error_line broken_cfg

# --- hostile input to run: FIFOs, folders, absurd replays, over-long --out, commas in paths
export JOULEBENCH_WORKLOADS_DIR="$src/workloads"
quick=(--reps 1 --warmup 0 --idle-s 0 --energy none)
# guarded NAME EXPECTED_EXIT ARGS...: run under a timeout, so a hang fails (exit 124) instead of
# stalling the suite
guarded() {
    local name=$1 want=$2
    shift 2
    timeout -k 5 60 "$jb" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local got=$?
    [ "$got" -eq "$want" ] && return 0
    fail "$name: exit $got, expected $want (joulebench $*)"
    sed 's/^/    /' "$tmp/$name.err" | head -5
    return 1
}
mkfifo "$tmp/fifo.csv"
printf '; trace in a FIFO\n[workload]\nrequests = 2\ntrace = fifo.csv\n' >"$tmp/fifo-trace.ini"
guarded fifo_trace 2 run --model tiny --workload "$tmp/fifo-trace.ini" "${quick[@]}" --out "$tmp/o-fifo" \
    && expect_in fifo_trace err 'fifo-trace.ini:4: key "trace": ' && expect_in fifo_trace err "fifo.csv: is a FIFO, not a regular file" \
    && one_error_line fifo_trace
guarded fifo_workload 2 run --model tiny --workload "$tmp/fifo.csv" "${quick[@]}" --out "$tmp/o-fifo" \
    && expect_in fifo_workload err "fifo.csv: is a FIFO, not a regular file" && one_error_line fifo_workload
mkdir "$tmp/dir.csv"
printf '; trace is a folder\n[workload]\nrequests = 2\ntrace = dir.csv\n' >"$tmp/dir-trace.ini"
run dir_trace 2 run --model tiny --workload "$tmp/dir-trace.ini" "${quick[@]}" --out "$tmp/o-dir" \
    && expect_in dir_trace err 'dir-trace.ini:4: key "trace": ' && expect_in dir_trace err "dir.csv: is a directory, not a regular file" \
    && one_error_line dir_trace
[ ! -e "$tmp/o-fifo" ] && [ ! -e "$tmp/o-dir" ] && ok "refused inputs create no results folder" \
    || fail "a results folder was created for refused input"

# rows 53 years apart: refused before anything runs, with the way out; --time-scale brings it
# in; --max-replay-s allows it (the run then starts, says how long it will take, and is stopped)
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n1970-01-01 00:00:00,8,2\n2023-01-01 00:00:00,8,2\n' >"$tmp/epoch.csv"
run long_replay 2 run --model tiny --workload "$tmp/epoch.csv" "${quick[@]}" --out "$tmp/o-long" \
    && expect_in long_replay err "epoch.csv: the arrivals span 53.0 years" \
    && expect_in long_replay err "more than the 24.0 h (86400 s) a replay may take" \
    && expect_in long_replay err "--time-scale 5.16e-05 or less" && one_error_line long_replay
[ ! -e "$tmp/o-long" ] && ok "long_replay: no results folder" || fail "long_replay: results folder created"
run long_scaled 0 run --model tiny --workload "$tmp/epoch.csv" "${quick[@]}" --time-scale 1e-9 --out "$tmp/o-scaled" \
    && [ "$(($(wc -l <"$tmp/o-scaled/requests.csv") - 1))" -eq 2 ] && ok "long_scaled: --time-scale brings it in, both requests run" \
    || fail "long_scaled: requests.csv: $(head -3 "$tmp/o-scaled/requests.csv" 2>&1)"
run long_limit 2 run --model tiny --workload "$tmp/epoch.csv" "${quick[@]}" --time-scale 1e-3 --max-replay-s 1e6 \
    --out "$tmp/o-limit" && expect_in long_limit err "more than the 11.6 days (1e+06 s)"
"$jb" run --model tiny --workload "$tmp/epoch.csv" "${quick[@]}" --max-replay-s 2e9 --out "$tmp/o-allowed" \
    >"$tmp/long_allowed.out" 2>"$tmp/long_allowed.err" &
pid=$!
for _ in $(seq 1 600); do # until the run has started (meta.json written) or ended
    [ -f "$tmp/o-allowed/meta.json" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
got=$?
[ "$got" -eq 130 ] && [ -f "$tmp/o-allowed/meta.json" ] && ok "long_allowed: --max-replay-s lets the replay start" \
    || fail "long_allowed: exit $got, expected 130 once started: $(head -3 "$tmp/long_allowed.err")"
[ "$(head -1 "$tmp/long_allowed.err")" = "joulebench: the replay takes at least 53.0 years: the arrivals of epoch span 53.0 years per repetition, 1 repetition" ] \
    && ok "long_allowed: the duration is said first" || fail "long_allowed: first line: $(head -1 "$tmp/long_allowed.err")"

# --out: a path or a name the system cannot take is refused first, its reason in full
long_out=$(printf 'a%.0s' $(seq 1 4000))
run out_path_max 2 run --model tiny --workload chat "${quick[@]}" --out "$tmp/$long_out" \
    && expect_in out_path_max err "option --out: the path is $((${#tmp} + 4001)) characters long" \
    && expect_in out_path_max err "limit of 4096 (PATH_MAX)" && one_error_line out_path_max
run out_name_max 2 run --model tiny --workload chat "${quick[@]}" --out "$tmp/x/${long_out:0:300}/y" \
    && expect_in out_name_max err "is 300 characters long, more than the 255 a file name may have (NAME_MAX)" \
    && one_error_line out_name_max
[ ! -e "$tmp/x" ] && ok "out_name_max: nothing created" || fail "out_name_max: $tmp/x created"

# a comma inside a model or workload path: an existing path is taken whole, not as a list
ln -s "$src/models/tiny" "$tmp/ti,ny"
cp "$src/workloads/chat.ini" "$tmp/ch,at.ini"
run comma_path 0 run --model "$tmp/ti,ny" --workload "$tmp/ch,at.ini" --requests 1 "${quick[@]}" --out "$tmp/o-comma" \
    && [ "$(($(wc -l <"$tmp/o-comma/runs.csv") - 1))" -eq 1 ] && ok "comma_path: the model and workload paths with a comma run" \
    || fail "comma_path: $(head -3 "$tmp/comma_path.err")"
run comma_list 2 run --model "tiny,$tmp/ti,ny" --workload chat "${quick[@]}" --out "$tmp/o-list" \
    && expect_in comma_list err "run: one model" && one_error_line comma_list
run help_commas 0 run --help && expect_in help_commas out "names an existing file or folder is taken whole"

# --- --kernels: an unknown table is one error line (exit 2) on run, sweep, generate and
# bench-kernels; sources lists the tables, and a run's rows name the one auto picked
for cmd in run sweep; do
    run "kernels_$cmd" 2 "$cmd" --model tiny --workload chat --kernels avx3 "${quick[@]}" \
        --out "$tmp/o-k$cmd" && expect_in "kernels_$cmd" err 'unknown kernel table "avx3"' \
        && one_error_line "kernels_$cmd"
done
run kernels_generate 2 generate --model tiny --prompt-ids 1,2 --kernels avx3 \
    && expect_in kernels_generate err 'unknown kernel table "avx3"' && one_error_line kernels_generate
run kernels_bench 2 bench-kernels --quick --kernels avx3 \
    && expect_in kernels_bench err 'unknown kernel table "avx3"'
if run kernels_sources 0 sources; then
    for t in ref avx2 avx512; do
        grep -Eq "^  $t +(available|not available)" "$tmp/kernels_sources.out" \
            && ok "kernels_sources: lists $t" || fail "kernels_sources: no line for $t"
    done
    best=$(awk '/--kernels auto uses:/ { print $NF }' "$tmp/kernels_sources.out")
    if run kernels_row 0 run --model tiny --workload chat --requests 1 "${quick[@]}" \
        --out "$tmp/o-krow"; then
        got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kernels") c = i; next }
                       { print $c; exit }' "$tmp/o-krow/runs.csv")
        [ -n "$best" ] && [ "$got" = "$best" ] && ok "kernels_row: runs.csv names $best" \
            || fail "kernels_row: kernels column \"$got\", sources says \"$best\""
    fi
fi

# --- bench-kernels: prints its limits beside its results (figures are not asserted)
if run bench 0 bench-kernels --quick --no-kernels; then
    for s in "memory read bandwidth" "sgemm peak" "decode" "prefill" "share of read bandwidth" \
        "share of sgemm peak" "decode speed-up q8_0 over f32" "OpenBLAS"; do
        expect_in bench out "$s"
    done
fi

# --- the CI test hook (JOULEBENCH_TEST_SLOWDOWN) exists only in -DJB_TEST_HOOKS=ON builds
if grep -q JOULEBENCH_TEST_SLOWDOWN "$jb"; then
    fail "test_hooks: $jb reads JOULEBENCH_TEST_SLOWDOWN: a test hook is in this build"
else
    ok "test_hooks: no test hook in this build"
fi

[ "$fails" -eq 0 ] && echo "test_cli: all passed" || echo "test_cli: $fails failure(s)"
[ "$fails" -eq 0 ]
