#!/usr/bin/env bash
# test_compare.sh — `joulebench compare` end to end: the fixture pair with a known 10% slowdown
# is a regression (exit 1), a 2% change inside the noise is not (exit 0), two runs of the same
# sweep are not, the JSON outputs parse in the formats CI dashboards read, one-sided
# configurations and machine or method differences are reported, bad input exits 2.
# Usage: test_compare.sh PATH/TO/joulebench SOURCE_DIR
set -u
jb=$1
src=$2
fx="$src/tests/fixtures/compare"
export JOULEBENCH_MODELS_DIR="$src/models" JOULEBENCH_WORKLOADS_DIR="$src/workloads"
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

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

[ "$fails" -eq 0 ] && echo "test_compare: all passed" || echo "test_compare: $fails failure(s)"
[ "$fails" -eq 0 ]
