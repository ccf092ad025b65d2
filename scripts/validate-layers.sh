#!/usr/bin/env bash
# validate-layers.sh — how far layer sampling (--layers K) lands from the whole model: runs
# models that fit in full both whole and with K of their layers, repetitions interleaved (pass r
# runs repetition r of every model x workload x K before pass r + 1 starts, so drift of the
# machine hits whole and sampled runs alike), then prints the relative error of the sampled
# figures against the whole ones: TTFT p50, TPOT p50, decode tokens/s and J/token, medians over
# repetitions. docs/large-models.md explains the method and reports what was measured.
#
# Usage: scripts/validate-layers.sh [--models A,B] [--workloads X,Y] [--ks 2,4,8] [--dtype T]
#            [--reps N] [--warmup N] [--out DIR] [--table-only] [-- extra joulebench run options]
# Defaults: Llama-3.2-3B,Phi-3-mini,Llama-3-8B; pp512,tg128,tg128-d1024,chat; K 2,4,8; q8_0;
# 3 repetitions, 1 warm-up each; results/validate-layers. Extra options (e.g. --token-scale 0.25 --requests 2)
# go to every run, whole and sampled alike. A folder already holding a repetition is not run
# again, so an interrupted validation continues where it stopped; --table-only prints the table
# of what is there. The table is also written to OUT/errors.csv.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
jb=${JOULEBENCH:-$here/build/joulebench}
models=Llama-3.2-3B,Phi-3-mini,Llama-3-8B
workloads=pp512,tg128,tg128-d1024,chat
ks=2,4,8
dtype=q8_0
reps=3
warmup=1
out=results/validate-layers
table_only=0
extra=()
die() { echo "validate-layers: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --models) models=${2:?}; shift 2 ;;
    --workloads) workloads=${2:?}; shift 2 ;;
    --ks) ks=${2:?}; shift 2 ;;
    --dtype) dtype=${2:?}; shift 2 ;;
    --reps) reps=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --table-only) table_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps: a whole number from 1, got \"$reps\""
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup: a whole number, got \"$warmup\""
IFS=, read -ra M <<<"$models"
IFS=, read -ra W <<<"$workloads"
IFS=, read -ra K <<<"$ks"
for k in "${K[@]}"; do [[ $k =~ ^[0-9]+$ && $k -ge 2 ]] || die "--ks: whole numbers from 2, got \"$k\""; done
[ -x "$jb" ] || die "no joulebench at $jb (build it: scripts/run.sh or cmake --build build)"

# every model must run whole here: the point is to compare with the whole model
if [ "$table_only" = 0 ]; then
    for m in "${M[@]}"; do
        for w in "${W[@]}"; do
            line=$("$jb" run --model "$m" --workload "$w" --dtype "$dtype" --plan "${extra[@]}" | tail -1)
            case $(cut -f10 <<<"$line") in
            run) ;;
            *) die "$m on $w in $dtype does not run whole here: $(cut -f10 <<<"$line")" ;;
            esac
        done
    done
    total=$((reps * ${#M[@]} * ${#W[@]} * (${#K[@]} + 1)))
    done_n=0
    for r in $(seq 1 "$reps"); do
        for m in "${M[@]}"; do
            for w in "${W[@]}"; do
                for k in all "${K[@]}"; do
                    done_n=$((done_n + 1))
                    layers=()
                    [ "$k" = all ] || layers=(--layers "$k")
                    echo "validate-layers: [$done_n/$total] repetition $r: $m $w $dtype layers $k" >&2
                    "$jb" run --model "$m" --workload "$w" --dtype "$dtype" "${layers[@]}" \
                        --reps "$r" --warmup "$warmup" --idle-s 0 --out "$out/$m/$w/$k" "${extra[@]}" \
                        >/dev/null
                done
            done
        done
    done
fi

python3 - "$out" "$ks" <<'PY'
import csv, glob, os, statistics, sys
out, ks = sys.argv[1], sys.argv[2].split(",")
metrics = [("ttft_ms_p50", "TTFT"), ("tpot_ms_p50", "TPOT"), ("decode_tok_s", "decode tok/s"),
           ("j_per_token", "J/token")]
def medians(folder):
    try:
        rows = list(csv.DictReader(open(os.path.join(folder, "runs.csv"), newline="")))
    except FileNotFoundError:
        return None, 0
    m = {}
    for key, _ in metrics:
        vals = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
        m[key] = statistics.median(vals) if vals else float("nan")
        # the spread of the repetitions: the noise an error must stand out of
        m[key + "_cv"] = (statistics.stdev(vals) / statistics.mean(vals) * 100
                          if len(vals) > 1 and statistics.mean(vals) else float("nan"))
    return m, len(rows)
lines = []
for model_dir in sorted(glob.glob(os.path.join(out, "*"))):
    if not os.path.isdir(model_dir):
        continue
    for wl_dir in sorted(glob.glob(os.path.join(model_dir, "*"))):
        whole, n_whole = medians(os.path.join(wl_dir, "all"))
        if not whole:
            continue
        for k in ks:
            part, n = medians(os.path.join(wl_dir, k))
            if not part:
                continue
            errs = []
            for key, _ in metrics:
                w, s = whole[key], part[key]
                errs.append(100 * (s - w) / w if w == w and s == s and w != 0 else float("nan"))
            # noise: the whole model's own spread over its repetitions, on the metric that
            # matters for the workload (TTFT for prefill-only ones, else TPOT)
            noise = whole["tpot_ms_p50_cv"] if whole["tpot_ms_p50"] == whole["tpot_ms_p50"] \
                else whole["ttft_ms_p50_cv"]
            lines.append((os.path.basename(model_dir), os.path.basename(wl_dir), k,
                          min(n, n_whole), errs, noise))
hdr = ["model", "workload", "K", "reps"] + [f"{name} err %" for _, name in metrics] + ["whole CV %"]
with open(os.path.join(out, "errors.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "workload", "k", "reps"] + [f"{key}_err_pct" for key, _ in metrics]
               + ["whole_cv_pct"])
    for m, wl, k, n, e, cv in lines:
        w.writerow([m, wl, k, n] + [f"{x:.2f}" for x in e] + [f"{cv:.2f}"])
print("relative error of the layer-sampled figures against the whole model (sampled - whole) / whole;")
print("whole CV: the whole model's own spread over its repetitions (TPOT; TTFT for pp)")
print(f"{hdr[0]:<16} {hdr[1]:<12} {hdr[2]:>3} {hdr[3]:>4} " + " ".join(f"{h:>17}" for h in hdr[4:]))
for m, wl, k, n, e, cv in lines:
    print(f"{m:<16} {wl:<12} {k:>3} {n:>4} " + " ".join(f"{x:>+17.2f}" for x in e) + f" {cv:>17.2f}")
worst = {}
for m, wl, k, n, e, cv in lines:
    for (key, name), x in zip(metrics, e):
        if x == x:
            worst[(k, name)] = max(worst.get((k, name), 0.0), abs(x))
for k in ks:
    parts = [f"{name} {worst[(k, name)]:.1f}%" for _, name in metrics if (k, name) in worst]
    if parts:
        print(f"# K = {k}: largest |error|: " + ", ".join(parts))
PY
