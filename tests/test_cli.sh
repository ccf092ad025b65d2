#!/usr/bin/env bash
# test_cli.sh — the command line as a user meets it: the model ladder, generation, the memory
# refusal of the large references, exit codes and one-line errors, and the kernel benchmark's
# report. Usage: test_cli.sh PATH/TO/joulebench SOURCE_DIR
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
    awk '$1 == "Llama-3-70B" || $1 == "Llama-3.1-405B" { if ($NF != "none") bad = 1; n++ }
         END { exit bad || n != 2 }' "$tmp/models.out" && ok "models: 70B and 405B fit nowhere" \
        || fail "models: 70B/405B fit column wrong"
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
    && expect_in long_ctx err "max_position_embeddings (1024)"
run bad_threads 2 generate --model tiny --prompt-ids 1 --max-tokens 1 --threads 0 \
    && expect_in bad_threads err "option --threads"
run no_model 2 generate --prompt-ids 1 --max-tokens 1 && expect_in no_model err "--model is required"
run bad_cmd 2 frobnicate && expect_in bad_cmd err 'unknown command "frobnicate"'
mkdir -p "$tmp/broken" && echo '{"hidden_size": 0}' >"$tmp/broken/config.json"
run broken_cfg 2 generate --model "$tmp/broken" --prompt-ids 1 --max-tokens 1 \
    && expect_in broken_cfg err "$tmp/broken/config.json: field \"hidden_size\"" && one_error_line broken_cfg

# --- bench-kernels: prints its limits beside its results (figures are not asserted)
if run bench 0 bench-kernels --quick --no-kernels; then
    for s in "memory read bandwidth" "sgemm peak" "decode" "prefill" "share of read bandwidth" \
        "share of sgemm peak" "decode speed-up q8_0 over f32" "OpenBLAS"; do
        expect_in bench out "$s"
    done
fi

[ "$fails" -eq 0 ] && echo "test_cli: all passed" || echo "test_cli: $fails failure(s)"
[ "$fails" -eq 0 ]
