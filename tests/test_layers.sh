#!/usr/bin/env bash
# test_layers.sh — layer sampling from the command line: bad --layers values get one line and
# exit 2; a model too large for memory is refused (exit 1) with --layers auto named as the way
# out; --layers auto on a model that does not fit even at K = 2 is one line and exit 1; --plan
# shows K/L; a sampled run of the tiny model writes extrapolated rows whose scaled figures add
# up from its measured ones (docs/large-models.md), and the whole model under --layers auto
# is the very configuration it is without --layers.
# Usage: test_layers.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"
quick=(--workload tg128 --token-scale 0.1 --reps 2 --warmup 0 --idle-s 0 --energy estimator)

# refused LABEL EXIT WANT -- ARGS...: exit EXIT, one line on stderr containing WANT, no folder
refused() {
    local label=$1 want_rc=$2 want=$3
    shift 4
    "$jb" "$@" --out "out_$label" >"$label.out" 2>"$label.err"
    local rc=$? lines
    lines=$(wc -l <"$label.err")
    if [ "$rc" -eq "$want_rc" ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$label.err" \
        && [ ! -e "out_$label" ]; then
        ok "$label: exit $rc, one line"
    else
        fail "$label: exit $rc (want $want_rc), $lines line(s): $(cat "$label.err")"
    fi
}

for v in 0 1 -3 x 2.5 ""; do
    refused "layers_${v:-empty}" 2 "option --layers: expected auto or a whole number" -- \
        run --model tiny "${quick[@]}" --layers "$v"
done
refused layers_beyond 2 "tiny: cannot run 5 of its 4 decoder layers" -- \
    run --model tiny "${quick[@]}" --layers 5
refused whole_too_big 1 "try --layers auto" -- \
    run --model Llama-3.1-405B --dtype q8_0 "${quick[@]}"
JOULEBENCH_MEM_LIMIT=2G refused auto_too_big 1 "does not fit even with 2 of its 126 layers" -- \
    run --model Llama-3.1-405B --dtype q8_0 "${quick[@]}" --layers auto

# --plan: K/L for a sampled configuration, L for a whole one
"$jb" sweep --models tiny,Llama-3-70B --workloads tg128 --dtypes q8_0 --layers auto --plan \
    >plan.tsv 2>plan.err
if awk -F'\t' '$4 == "tiny" && $9 == "4" && $10 == "run" { a = 1 }
        $4 == "Llama-3-70B" && $9 ~ /^[0-9]+\/80$/ && $10 == "run" { b = 1 } END { exit !(a && b) }' plan.tsv; then
    ok "--plan shows 4 for tiny and K/80 for Llama-3-70B"
else
    fail "--plan: $(cat plan.tsv plan.err)"
fi
whole_id=$("$jb" run --model tiny "${quick[@]}" --plan | awk -F'\t' 'NR == 2 { print $3 }')
auto_id=$("$jb" run --model tiny "${quick[@]}" --layers auto --plan | awk -F'\t' 'NR == 2 { print $3 }')
two_id=$("$jb" run --model tiny "${quick[@]}" --layers 2 --plan | awk -F'\t' 'NR == 2 { print $3 }')
[ -n "$whole_id" ] && [ "$whole_id" = "$auto_id" ] && [ "$two_id" != "$whole_id" ] \
    && ok "auto on a model that fits is the whole model's configuration" \
    || fail "config ids: whole $whole_id auto $auto_id two $two_id"

# a sampled run: the rows say so, and the scaled figures follow from the measured ones
if "$jb" run --model tiny "${quick[@]}" --layers 2 --out sampled >sampled.out 2>sampled.err; then
    grep -q "^tiny .* EXTRAPOLATED from 2 of 4 layers" sampled.out \
        && [ "$(col sampled/summary.csv extrapolated | sort -u)" = 1 ] \
        && ok "the summary (table and summary.csv) says extrapolated" || fail "summary: $(cat sampled.out)"
    python3 - sampled/runs.csv <<'PY' && ok "sampled rows: extrapolated, scaled from their measured figures" || fail "sampled rows"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 2, rows
for r in rows:
    f = lambda k: float(r[k])
    assert r["layers_run"] == "2" and r["layers_total"] == "4" and r["extrapolated"] == "1", r
    assert "x 4/2" in r["extrapolation_method"], r["extrapolation_method"]
    layers = f("measured_layers_s")
    assert 0 < layers < f("measured_wall_s"), r
    scaled = f("prefill_s") + f("decode_s") - f("measured_prefill_s") - f("measured_decode_s")
    assert abs(scaled - layers) <= 1e-6 * max(1.0, layers), (scaled, layers)  # (4/2 - 1) x
    assert abs(f("energy_j") - f("measured_energy_j") - f("measured_layers_j")) <= 1e-6 * f("energy_j")
    assert f("memory_used_bytes") < f("memory_full_bytes"), r
PY
else
    fail "sampled run: $(cat sampled.err)"
fi
# a whole run leaves the audit columns empty (and, with a warm-up, power.csv holds no rows of
# the warm-up: it is not a repetition)
if "$jb" run --model tiny "${quick[@]}" --warmup 1 --sample-ms 2 --out whole >/dev/null 2>whole.err; then
    [ "$(col whole/power.csv run_id | grep -c '^$')" -eq 0 ] && [ "$(rows whole/power.csv)" -gt 0 ] \
        && ok "no power rows of the warm-up" || fail "power rows without a run_id (the warm-up's)"
    [ "$(col whole/runs.csv extrapolated | sort -u)" = 0 ] && [ -z "$(col whole/runs.csv measured_layers_s | tr -d '\n')" ] \
        && [ "$(col whole/runs.csv memory_used_bytes | sort -u)" = "$(col whole/runs.csv memory_full_bytes | sort -u)" ] \
        && ok "whole rows: extrapolated 0, no measured_* figures" || fail "whole rows"
else
    fail "whole run: $(cat whole.err)"
fi

# the report of the fixture (tests/fixtures/report: f32 follows exact power laws) with a
# layer-sampled f32 Llama-3-70B added at 1.2x the energy law and 1.5x the time law: the fits
# stay those of the models measured whole (a = 3e-9, b = 0.92), the 70B row is set against
# them (-16.7% and -33.3%, by construction), and the fit with it included has one more point
mkdir rep && cp "$src"/tests/fixtures/report/*.csv "$src"/tests/fixtures/report/meta.json rep/
python3 - rep/runs.csv <<'PY'
import csv, sys
path = sys.argv[1]
rows = list(csv.DictReader(open(path, newline="")))
head = list(rows[0].keys())
at = head.index("weights") + 1
head[at:at] = ["layers_run", "layers_total", "extrapolated", "extrapolation_method"]
n70, n1 = 70553706496, 1235814400
e_law = lambda n: 3e-9 * n ** 0.92
t_law = lambda n: 4e-8 * n ** 0.95
f, g = 1.2 * e_law(n70) / e_law(n1), 1.5 * t_law(n70) / t_law(n1)
out = []
for r in rows:
    r.update(layers_run="16", layers_total="16", extrapolated="0", extrapolation_method="")
    out.append(r)
for r in [dict(r) for r in rows if r["model"] == "Llama-3.2-1B" and r["dtype"] == "f32"]:
    r.update(model="Llama-3-70B", params=str(n70), layers_run="4", layers_total="80",
             extrapolated="1", extrapolation_method="layer sampling: x 80/4")
    r["config_id"] = "70b0000000000000"
    r["run_id"] = "70b0000000000000-r" + r["rep"]
    for k, v in r.items():
        if v == "" or k in ("params", "schema_version", "rep", "requests", "prompt_tokens",
                            "gen_tokens", "batch", "threads", "depth", "layers_run",
                            "layers_total", "extrapolated"):
            continue
        if k.startswith("energy_") and not k.startswith(("energy_source", "energy_method",
                "energy_domains", "energy_reason", "energy_uncertainty", "energy_low",
                "energy_reads", "energy_wraps")) or k.startswith("j_per_"):
            r[k] = repr(float(v) * f)
        elif k in ("duration_s", "prefill_s", "decode_s") or k.endswith("_ms_p50") \
                or k.endswith("_ms_p90") or k.endswith("_ms_p99"):
            r[k] = repr(float(v) * g)
        elif k.endswith("tok_s") or k in ("req_s", "avg_ts"):
            r[k] = repr(float(v) / g)
    out.append(r)
with open(path, "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=head, lineterminator="\r\n")
    w.writeheader()
    w.writerows(out)
PY
if "$jb" report rep --out rep/report >report.out 2>report.err; then
    python3 - rep/report <<'PY' && ok "report: the sampled model apart from the fits, set against them" || fail "report: sampled model"
import csv, sys
d = sys.argv[1]
read = lambda name: list(csv.DictReader(open(f"{d}/{name}", newline="")))
fit = {(r["series"], r["quantity"]): r for r in read("fit.csv")}
whole = fit[("f32", "j_per_output_token")]
assert abs(float(whole["a"]) / 3e-9 - 1) < 1e-6 and abs(float(whole["b"]) - 0.92) < 1e-9, whole
assert whole["n"] == "3" and float(whole["params_max"]) == 1235814400, whole
assert fit[("f32", "j_per_output_token+extrapolated")]["n"] == "4"
x = [r for r in read("extrapolated.csv") if r["model"] == "Llama-3-70B"]
assert len(x) == 1 and x[0]["layers"] == "4/80" and x[0]["series"] == "f32", x
x = x[0]
n = 70553706496
assert abs(float(x["j_per_output_token_fit"]) / (3e-9 * n ** 0.92) - 1) < 1e-6, x
assert abs(float(x["j_per_output_token_fit_diff_pct"]) - 100 * (1 / 1.2 - 1)) < 1e-3, x
assert abs(float(x["machine_s_per_query_fit_diff_pct"]) - 100 * (1 / 1.5 - 1)) < 1e-3, x
c = [r for r in read("data/configs.csv") if r["model"] == "Llama-3-70B"]
assert c[0]["in_fit"] == "0" and c[0]["extrapolated"] == "1", c
assert "extrapolated-4-of-80-layers" in c[0]["label"], c[0]["label"]
md = open(f"{d}/report.md").read()
assert "**Llama-3-70B** (f32, layer-sampled: 4/80 layers, extrapolated)" in md
assert "17% off (too low)" in md
PY
else
    fail "report with a sampled model: $(cat report.err)"
fi

jb_test_end test_layers
