#!/usr/bin/env bash
# test_q4.sh — the 4-bit weight formats from the command line: `run --dtype q4_0|q4_k` on ladder
# models writes rows naming the format, `generate` is repeatable in both, `models` lists their
# memory at 18/34 of q8_0's, and a misspelt format is refused with one line naming the choices.
# Usage: test_q4.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"

quick=(--workload chat --requests 1 --token-scale 0.05 --reps 1 --warmup 0 --idle-s 0)

# --- run: one row per format, the format named, decode measured
for m in tiny SmolLM2-135M; do
    for dt in q4_0 q4_k; do
        if "$jb" run --model "$m" --dtype "$dt" "${quick[@]}" --out "r_${m}_$dt" >"$m.$dt.out" 2>"$m.$dt.err"; then
            [ "$(col "r_${m}_$dt/runs.csv" dtype)" = "$dt" ] && ok "run $m $dt: dtype column" \
                || fail "run $m $dt: dtype column $(col "r_${m}_$dt/runs.csv" dtype)"
            col "r_${m}_$dt/runs.csv" decode_tok_s | grep -qE '^[0-9.e+-]+$' && ok "run $m $dt: decode measured" \
                || fail "run $m $dt: decode_tok_s $(col "r_${m}_$dt/runs.csv" decode_tok_s)"
        else
            fail "run $m $dt failed: $(cat "$m.$dt.err")"
        fi
    done
done

# --- generate: greedy tokens, the same twice (random weights, same seed)
for dt in q4_0 q4_k; do
    a=$("$jb" generate --model tiny --prompt-ids 1,2,3 --max-tokens 12 --dtype "$dt" 2>gen.err)
    b=$("$jb" generate --model tiny --prompt-ids 1,2,3 --max-tokens 12 --dtype "$dt" 2>>gen.err)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$(echo "$a" | wc -w)" -eq 12 ] && ok "generate $dt: 12 tokens, repeatable" \
        || fail "generate $dt: '$a' vs '$b': $(cat gen.err)"
done

# --- models: q4_0 and q4_k columns; TinyLlama's q4_0 weights are 18/34 of its q8_0 ones (the
# embeddings and layers dominate; norms stay f32), within 1%
if "$jb" models >models.out 2>&1; then
    head -1 models.out | grep -q "q8_0_gib *q4_0_gib *q4_k_gib" && ok "models: q4 columns" \
        || fail "models header: $(head -1 models.out)"
    awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
         $1 == "TinyLlama-1.1B" { r = $c["q4_0_gib"] / $c["q8_0_gib"]; k = $c["q4_k_gib"] / $c["q8_0_gib"]
             exit !(r > 0.99 * 18 / 34 && r < 1.01 * 18 / 34 && k > 0.99 * 18 / 34 && k < 1.01 * 18 / 34) }' \
        models.out && ok "models: q4 weights 18/34 of q8_0" || fail "models: $(grep -E '^(model|TinyLlama)' models.out)"
else
    fail "models failed: $(cat models.out)"
fi

# --- a wrong name: one line naming the choices, usage exit status
"$jb" run --model tiny --dtype q4 "${quick[@]}" --out bad >bad.out 2>bad.err
rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <bad.err)" -eq 1 ] && grep -q 'q4_0 or q4_k' bad.err && ok "--dtype q4 refused" \
    || fail "--dtype q4: rc $rc, $(cat bad.err)"

jb_test_end test_q4
