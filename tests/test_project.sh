#!/usr/bin/env bash
# test_project.sh — `joulebench project` end to end: a device file with a missing or nonsensical
# field (missing bandwidth, zero bandwidth, a negative price, an unknown backend) is exit 2 with
# one line naming the file, line and field; catalog devices project every model, dtype and
# workload asked for into projection.csv (method projected in every row), projection.md and the
# terminal table, all saying "projected"; projecting a results folder's own configuration
# (--from) reproduces its measured decode tok/s within the leave-one-out error the command
# reports, and its power calibration leaves out the energy of rows judged invalid; a published table row without a source URL is refused; compare refuses a projection
# as its baseline unless --allow-projected.
# Usage: test_project.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"
fx="$src/tests/fixtures/project"

bad() { # bad NAME FILE TEXT...: project on device FILE is exit 2, one stderr line with every TEXT
    local name=$1 file=$2 t
    shift 2
    "$jb" project --hardware "$fx/$file" --models tiny --published none --out "$name" \
        >"$name.out" 2>"$name.err"
    local got=$?
    [ "$got" -eq 2 ] || { fail "$name: exit $got, expected 2: $(head -3 "$name.err")"; return; }
    for t in "$@"; do
        grep -qF -- "$t" "$name.err" || { fail "$name: error lacks \"$t\": $(cat "$name.err")"; return; }
    done
    [ "$(wc -l <"$name.err")" -eq 1 ] || { fail "$name: $(wc -l <"$name.err") lines on stderr"; return; }
    [ ! -e "$name/projection.csv" ] || { fail "$name: projection.csv written"; return; }
    ok "$name: exit 2, $(cut -c1-160 "$name.err")"
}

bad missing missing-bandwidth.ini "missing-bandwidth.ini: [memory] bandwidth_gbs is missing"
bad zero zero-bandwidth.ini "zero-bandwidth.ini:10:" "bandwidth_gbs" 'got "0"'
bad negative negative-price.ini "negative-price.ini:21:" "purchase_usd" 'got "-5"'
bad backend unknown-backend.ini "unknown-backend.ini:4:" "backend" '"tpu"'

# --- catalog devices: every combination, every row projected
"$jb" project --hardware h100-sxm,epyc-9654,m2-ultra,this-machine --models SmolLM2-135M,Llama-3-70B \
    --workloads chat,tg128 --dtypes q8_0,f32 --out p >p.out 2>p.err
rc=$?
[ "$rc" -eq 0 ] && ok "project on 4 catalog devices: exit 0" || fail "project: exit $rc, $(cat p.err)"
[ "$(rows p/projection.csv)" -eq 32 ] && ok "projection.csv: 4 devices x 2 models x 2 workloads x 2 dtypes = 32 rows" \
    || fail "projection.csv has $(rows p/projection.csv) rows"
[ "$(col p/projection.csv method | sort -u)" = "projected" ] && [ "$(col p/projection.csv energy_method | sort -u)" = "projected" ] \
    && ok "method and energy_method are projected in every row" || fail "methods: $(col p/projection.csv method | sort -u)"
head -1 p.out | grep -q "^PROJECTED" && ok "the terminal table is headed PROJECTED" || fail "table head: $(head -1 p.out)"
grep -q "^# Projected" p/projection.md && ok "projection.md is headed Projected" || fail "projection.md head"
# Llama-3-70B in f32 (~263 GiB) fits neither a 80 GiB H100 nor 23.5 GiB here; the note says what would
python3 - p/projection.csv <<'EOF' && ok "70B f32: does not fit h100-sxm (q4_0 or more devices named); 135M fits everywhere" || fail "fit marks wrong"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
h = [r for r in rows if r["device"] == "h100-sxm" and r["model"] == "Llama-3-70B" and r["dtype"] == "f32"]
assert h and all(r["fits"] == "no" and ("would fit" in r["fit_note"] or "devices" in r["fit_note"]) for r in h), h
assert all(r["fits"] == "yes" for r in rows if r["model"] == "SmolLM2-135M")
# decode is bandwidth-bound for a 70B q8_0 on the H100: decode tok/s <= bandwidth / weight bytes
for r in rows:
    if r["model"] == "Llama-3-70B" and r["dtype"] == "q8_0" and r["workload"] == "chat":
        assert float(r["decode_tok_s"]) <= float(r["bandwidth_gbs"]) / float(r["weight_gb_per_token"]) + 1e-9, r
EOF

# --- a price the device does not have is refused, naming the file and the key
"$jb" project --hardware mac-mini-m1 --models tiny --price cloud --out nocloud >nocloud.out 2>nocloud.err
rc=$?
[ "$rc" -eq 2 ] && grep -qF "mac-mini-m1.ini: no cloud_usd_per_hour in [price]" nocloud.err \
    && ok "--price cloud on a device sold, not rented: exit 2, $(cat nocloud.err)" || fail "--price cloud: exit $rc, $(cat nocloud.err)"

# --- --from: its own configuration reproduced within the leave-one-out error
"$jb" project --validate-from "$fx/results" --calibration-hardware "$fx/good.ini" >loo.out 2>loo.err \
    || fail "validate-from: $(cat loo.err)"
loo=$(sed -n 's/^largest decode_tok_s error: \([0-9.]*\)%$/\1/p' loo.out)
[ -n "$loo" ] && ok "leave-one-out: largest decode error $loo%" || fail "no leave-one-out error: $(tail -3 loo.out)"
"$jb" project --from "$fx/results" --calibration-hardware "$fx/good.ini" --hardware "$fx/good.ini" \
    --workloads tg128 --dtypes q8_0 --published none --out own >own.out 2>own.err \
    || fail "project --from: $(cat own.err)"
python3 - "$fx/results/runs.csv" own/projection.csv "$loo" <<'EOF' && ok "own decode tok/s within the leave-one-out error" || fail "own decode tok/s off"
import csv, sys
meas = [r for r in csv.DictReader(open(sys.argv[1])) if r["dtype"] == "q8_0" and r["workload"] == "tg128"]
proj = [r for r in csv.DictReader(open(sys.argv[2]))]
m, p, loo = float(meas[0]["decode_tok_s"]), float(proj[0]["decode_tok_s"]), float(sys.argv[3]) / 100
err = abs(p - m) / m
print(f"measured {m}, projected {p}, error {err:.3f}, leave-one-out {loo:.3f}")
assert proj[0]["eff_decode_from"].startswith("results:"), proj[0]["eff_decode_from"]
assert err <= loo
EOF

# --- --from calibrates power only on valid rows: every configuration gets a second repetition
# with 50x the energy; judged invalid (valid 0) it changes nothing, judged valid it does
for v in 0 1; do
    mkdir -p "calib$v"
    python3 - "$fx/results/runs.csv" "calib$v/runs.csv" "$v" <<'EOF' || fail "writing calib$v"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = list(rows[0].keys()) + ["valid", "validity_reasons"]
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=cols)
w.writeheader()
for r in rows:
    w.writerow(dict(r, valid=1, validity_reasons=""))
    bad = dict(r, rep=2, valid=sys.argv[3], validity_reasons="" if sys.argv[3] == "1" else "vm_measured")
    for c in ("energy_prefill_j", "energy_decode_j", "energy_j", "j_per_token"):
        bad[c] = repr(float(r[c]) * 50)
    w.writerow(bad)
EOF
    "$jb" project --from "calib$v" --calibration-hardware "$fx/good.ini" --hardware "$fx/good.ini" \
        --workloads tg128 --dtypes q8_0 --published none --out "own$v" >"own$v.out" 2>"own$v.err" \
        || fail "project --from calib$v: $(cat "own$v.err")"
done
util() { python3 -c 'import csv, sys; r = next(csv.DictReader(open(sys.argv[1]))); print(r["util_prefill"], r["util_decode"])' "$1"; }
[ "$(util own/projection.csv)" = "$(util own0/projection.csv)" ] \
    && [ "$(util own/projection.csv)" != "$(util own1/projection.csv)" ] \
    && ok "--from: invalid rows' energy left out of the power calibration (utilisation $(util own0/projection.csv); with them valid: $(util own1/projection.csv))" \
    || fail "--from and invalid rows: utilisation $(util own/projection.csv) (fixture), $(util own0/projection.csv) (bogus rows invalid), $(util own1/projection.csv) (bogus rows valid)"

# --- a published row without its source is refused
printf 'device,backend,model,format,pp512_tok_s,tg128_tok_s,source_url\nrtx-4090,cuda,tiny,q4_0,100,10,https://example.org/x\nrtx-4090,cuda,tiny,q4_0,100,10,\n' >pub.csv
"$jb" project --validate-published --published pub.csv >pub.out 2>pub.err
rc=$?
[ "$rc" -eq 2 ] && grep -qF 'pub.csv: record 3, column "source_url"' pub.err && ok "published row without a URL: exit 2, $(cat pub.err)" \
    || fail "published row without a URL: exit $rc, $(cat pub.err)"

# --- compare: a projection is no baseline unless --allow-projected
"$jb" project --hardware "$fx/good.ini" --models tiny --workloads tg128 --dtypes q8_0 --published none \
    --from "$fx/results" --calibration-hardware "$fx/good.ini" --out proj >/dev/null 2>proj.err || fail "project: $(cat proj.err)"
"$jb" compare proj "$fx/results" >cmp.out 2>cmp.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "PROJECTED" cmp.err && ok "compare PROJ MEASURED: exit 2, $(cut -c1-150 cmp.err)" \
    || fail "compare with a projected base: exit $rc, $(cat cmp.err)"
"$jb" compare proj/projection.csv "$fx/results" >cmp2.out 2>cmp2.err
[ "$?" -eq 2 ] && grep -q "PROJECTED" cmp2.err && ok "compare projection.csv MEASURED: refused too" || fail "projection.csv as base: $(cat cmp2.err)"
"$jb" compare --allow-projected proj "$fx/results" >cmp3.out 2>cmp3.err
rc=$?
{ [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; } && ! grep -q "PROJECTED" cmp3.err && ok "--allow-projected compares (exit $rc)" \
    || fail "--allow-projected: exit $rc, $(cat cmp3.err)"

jb_test_end test_project
