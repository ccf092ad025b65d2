#!/usr/bin/env bash
# test_compare.sh — `joulebench compare` end to end: the fixture pair with a known 10% slowdown
# is a regression (exit 1), a 2% change inside the noise is not (exit 0), two runs of the same
# sweep are not (and, measured side by side, are compared round by round; --paired says how),
# the JSON outputs parse in the formats CI dashboards read, one-sided
# configurations and machine or method differences are reported, bad input exits 2 (nothing in
# common, conflicting rows of one run_id, negative joules, a NUL byte); identical copies of rows
# count once.
# Usage: test_compare.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"
fx="$src/tests/fixtures/compare"

"$jb" compare "$fx/base" "$fx/slower10" >slow.out 2>slow.err
rc=$?
[ "$rc" -eq 1 ] && ok "10% slowdown: exit 1" || fail "10% slowdown: exit $rc $(cat slow.err)"
grep -q "tiny q8_0 chat single-stream 1 2 *ttft_ms_p50 .* +10.0% .* regression" slow.out \
    && ok "ttft +10% is a regression" || fail "no ttft regression line: $(head -3 slow.out)"
grep -q "decode_tok_s .* -9.1% .* regression" slow.out && ok "decode tok/s -9% is a regression" \
    || fail "decode tok/s line"
grep -q "only in new: SmolLM2-135M q8_0" slow.out && ok "one-sided configuration listed" \
    || fail "one-sided configuration not listed"

"$jb" compare "$fx/base" "$fx/noise2" >noise.out 2>&1
rc=$?
[ "$rc" -eq 0 ] && ! grep -q " regression$" noise.out && ok "2% change in noise: no regression" \
    || fail "2% change: exit $rc $(tail -3 noise.out)"

"$jb" compare "$fx/base/runs.csv" "$fx/slower10/runs.csv" --markdown --json full.json \
    --gab gab --bencher bmf.json >md.out 2>md.err
rc=$?
[ "$rc" -eq 1 ] && head -2 md.out | grep -q '^| configuration | metric |' \
    && grep -q '\*\*regression\*\*' md.out && ok "markdown table" || fail "markdown: exit $rc $(head -3 md.out)"
python3 - <<'PY' && ok "JSON outputs parse as github-action-benchmark and Bencher formats" || fail "JSON outputs"
import json
full = json.load(open("full.json"))
assert full["verdict"] == "regression"
smaller = json.load(open("gab/customSmallerIsBetter.json"))
bigger = json.load(open("gab/customBiggerIsBetter.json"))
assert all({"name", "unit", "value"} <= set(e) for e in smaller + bigger)
assert any(e["name"].endswith("ttft_ms_p50") for e in smaller)
assert any(e["name"].endswith("decode_tok_s") for e in bigger)
assert not any(e["name"].endswith("decode_tok_s") for e in smaller)
bmf = json.load(open("bmf.json"))
v = bmf["tiny q8_0 chat single-stream 1 2"]["ttft_ms_p50"]
assert v["lower_value"] <= v["value"] <= v["upper_value"] * 1.2, v
PY

# different machines and energy methods are warned about
mkdir -p m1 m2
cp "$fx/base/runs.csv" m1/ && cp "$fx/base/runs.csv" m2/
echo '{"machine": {"host": "a", "cpu_model": "CPU A"}}' >m1/meta.json
echo '{"machine": {"host": "b", "cpu_model": "CPU B"}}' >m2/meta.json
sed -i 's/,estimated\r$/,measured\r/' m2/runs.csv
"$jb" compare m1 m2 >warn.out 2>&1
grep -q "warning: different machines: a (CPU A) vs b (CPU B)" warn.out && ok "different machines warned" \
    || fail "no machine warning: $(tail -3 warn.out)"
grep -q "energy method differs: estimated (base) vs measured (new)" warn.out && ok "different methods warned" \
    || fail "no method warning"

# too few repetitions: said, not guessed
head -4 "$fx/base/runs.csv" >few_base.csv && head -4 "$fx/slower10/runs.csv" >few_new.csv
"$jb" compare few_base.csv few_new.csv >few.out 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q "3 and 3 repetitions cannot reach p < alpha" few.out \
    && grep -q "too few repetitions" few.out && ok "3 repetitions: says it cannot decide" || fail "few: exit $rc $(cat few.out)"

# bad input: exit 2, one line naming the file and column
printf 'model,dtype\r\ntiny,f32\r\n' >nokeys.csv
"$jb" compare nokeys.csv "$fx/base" >bad.out 2>bad.err
rc=$?
[ "$rc" -eq 2 ] && grep -q 'nokeys.csv: no column "workload"' bad.err && [ "$(wc -l <bad.err)" -eq 1 ] \
    && ok "missing column: exit 2 naming it" || fail "missing column: exit $rc $(cat bad.err)"
"$jb" compare /nonexistent "$fx/base" >/dev/null 2>bad2.err
[ $? -eq 2 ] && grep -q "/nonexistent" bad2.err && ok "missing folder: exit 2" || fail "missing folder"
"$jb" compare "$fx/base" >/dev/null 2>&1
[ $? -eq 2 ] && ok "one argument: exit 2" || fail "one argument"

# nothing in common: no verdict but an input error naming both sets
mkdir -p only_tiny only_smol
grep -v -e SmolLM2 -e Llama "$fx/slower10/runs.csv" >only_tiny/runs.csv
{ head -1 "$fx/slower10/runs.csv"; grep SmolLM2 "$fx/slower10/runs.csv"; } >only_smol/runs.csv
"$jb" compare only_tiny only_smol >disjoint.out 2>disjoint.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "nothing compared: only_tiny and only_smol have no configuration" disjoint.err \
    && grep -q "base has 1 configuration (tiny q8_0 chat single-stream 1 2)" disjoint.err \
    && grep -q "new has 1 configuration (SmolLM2-135M q8_0" disjoint.err \
    && ok "nothing in common: exit 2 naming both sets" || fail "disjoint: exit $rc $(cat disjoint.err)"

# every row copied six times: still three repetitions a side, too few for a verdict (once 18,
# and a regression), with a warning about the copies
head -4 "$fx/base/runs.csv" >copies_base.csv && head -4 "$fx/slower10/runs.csv" >copies_new.csv
for i in 1 2 3 4 5; do
    tail -n +2 "$fx/base/runs.csv" | head -3 >>copies_base.csv
    tail -n +2 "$fx/slower10/runs.csv" | head -3 >>copies_new.csv
done
"$jb" compare copies_base.csv copies_new.csv >copies.out 2>copies.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "3 and 3 repetitions cannot reach p < alpha" copies.out \
    && grep -q "copies_new.csv: 15 row(s) are identical copies of earlier ones" copies.err \
    && ok "copied rows count once, with a warning" || fail "copies: exit $rc $(cat copies.out copies.err)"

# a row of one run_id with other values: refused, naming both records
{ cat copies_new.csv; head -2 "$fx/slower10/runs.csv" | tail -1 | sed 's/,estimated/,measured/'; } \
    >conflict.csv
"$jb" compare "$fx/base" conflict.csv >/dev/null 2>conflict.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "conflict.csv: records 2 and 20 are both run_id" conflict.err \
    && ok "conflicting rows of one run_id: exit 2" || fail "conflict: exit $rc $(cat conflict.err)"

# a negative energy and a NUL byte: exit 2 naming the record or line
sed -E '3s/^(([^,]*,){15})/\1-/' "$fx/base/runs.csv" >negative.csv
"$jb" compare "$fx/base" negative.csv >/dev/null 2>negative.err
rc=$?
[ "$rc" -eq 2 ] && grep -q 'negative.csv: record 3, column "j_per_token": "-[0-9.]*" is negative' negative.err \
    && ok "negative joules: exit 2" || fail "negative joules: exit $rc $(cat negative.err)"
{ head -2 "$fx/base/runs.csv"; printf '2,tiny-q8_0-r9,tiny-q8_0,tiny,q8_0,chat,single-stream,1,2,9,1\0x\r\n'; } >nul.csv
"$jb" compare "$fx/base" nul.csv >/dev/null 2>nul.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "nul.csv: line 3 (record 3): a NUL byte" nul.err \
    && ok "NUL byte: exit 2 naming the line" || fail "NUL: exit $rc $(cat nul.err)"

# two results folders of the same sweep: no significant change. The folders are filled one
# repetition at a time, alternately (a resumed sweep adds the missing repetition), so the
# host's drift over the test lands on both sides alike, as docs/ci.md recommends.
for reps in 1 2 3 4 5 6; do
    for d in same1 same2; do
        "$jb" sweep --models SmolLM2-135M --workloads tg128 --dtypes q8_0 --requests 1 \
            --reps "$reps" --warmup 1 --idle-s 0 --energy none --out "$d" >/dev/null 2>&1 \
            || fail "sweep $d"
    done
done
"$jb" compare same1 same2 >same.out 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "same sweep twice: no regression" || fail "same sweep twice: exit $rc $(grep regression same.out)"
grep -q "^# paired: 1 of 1 configuration(s) measured side by side" same.out \
    && ok "sides measured side by side are compared round by round" || fail "not paired: $(tail -3 same.out)"
"$jb" compare same1 same2 --paired no >same_np.out 2>&1
! grep -q "paired:" same_np.out && ok "--paired no: two samples" || fail "--paired no paired: $(tail -3 same_np.out)"
"$jb" compare "$fx/base" "$fx/slower10" --paired yes --json paired.json >paired.out 2>&1
rc=$?
python3 - <<'PY' && [ "$rc" -eq 1 ] && ok "--paired yes pairs by rep (no times needed): exit 1, Wilcoxon in the JSON" \
    || fail "--paired yes: exit $rc $(tail -3 paired.out)"
import json
c = json.load(open("paired.json"))["configurations"][0]
assert c["paired"] and c["metrics"][0]["test"] == "wilcoxon-signed-rank", c
PY
"$jb" compare same1 same2 --paired maybe >/dev/null 2>bad_pair.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "paired is auto, yes or no, not 'maybe'" bad_pair.err \
    && ok "--paired maybe: exit 2" || fail "--paired maybe: exit $rc $(cat bad_pair.err)"

jb_test_end test_compare
