#!/usr/bin/env bash
# bench-vs-llamacpp.sh — joulebench beside llama.cpp on the same GGUF file: runs llama.cpp's
# llama-bench (pp512 and tg128) and `joulebench run` (workloads pp512 and tg128) with the same
# thread count, repetitions interleaved (llama-bench, joulebench, llama-bench, joulebench, ...
# so drift of the machine hits both alike), then prints the median tokens/s of each over the
# repetitions and their ratio joulebench / llama.cpp, with llama.cpp's commit and the CPU.
# Nothing is downloaded: the llama-bench binary and the GGUF file are the user's.
#
# Usage: scripts/bench-vs-llamacpp.sh LLAMA_BENCH GGUF [--threads N] [--reps N]
#            [--joulebench PATH] [--dtype T] [--out DIR] [--table | --tsv]
#   --threads N      threads of both (llama-bench -t N, joulebench --threads N); default: the
#                    CPUs online
#   --reps N         interleaved repetitions (default 3); each is one llama-bench call
#                    (-p 512 -n 128 -r 1, with its own warm-up) and one joulebench run per
#                    workload (--reps 1, one warm-up pass)
#   --joulebench P   the joulebench binary (default $JOULEBENCH, else build/joulebench)
#   --dtype T        joulebench's --dtype (convert the file's weights, e.g. bf16 from an F16
#                    file); default: the file's own type
#   --out DIR        keep every raw output there (llama-bench CSV, joulebench results folders,
#                    the logs); default: a temporary folder, removed at the end
#   --table | --tsv  the output: a table for people, or tab-separated lines (a header, then
#                    pp512 and tg128) for programs; default: the table when stdout is a terminal
# Figures: llama-bench's avg_ts, and joulebench's avg_ts in runs.csv (its equivalent:
# docs/csv.md); the 1-minute load average at the start and the end says how busy the machine
# was; progress goes to stderr. Exit 2 for bad arguments, 1 when a run fails.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
me=bench-vs-llamacpp
die() { echo "$me: $*" >&2; exit 2; }
fail() { echo "$me: $*" >&2; exit 1; }
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

jb=${JOULEBENCH:-$here/build/joulebench}
threads=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
reps=3
dtype=
out=
format=auto
pos=()
while [ $# -gt 0 ]; do
    case $1 in
    --threads) [ $# -ge 2 ] || die "--threads needs a value"; threads=$2; shift 2 ;;
    --reps) [ $# -ge 2 ] || die "--reps needs a value"; reps=$2; shift 2 ;;
    --joulebench) [ $# -ge 2 ] || die "--joulebench needs a value"; jb=$2; shift 2 ;;
    --dtype) [ $# -ge 2 ] || die "--dtype needs a value"; dtype=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --table) format=table; shift ;;
    --tsv) format=tsv; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (--help)" ;;
    *) pos+=("$1"); shift ;;
    esac
done
[ ${#pos[@]} -eq 2 ] || die "expected LLAMA_BENCH and GGUF, got ${#pos[@]} argument(s) (--help)"
lb=${pos[0]}
gguf=${pos[1]}
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "--threads: a whole number from 1, got \"$threads\""
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps: a whole number from 1, got \"$reps\""
[ -f "$lb" ] || die "$lb: no such file (the llama-bench binary of a llama.cpp build)"
[ -x "$lb" ] || die "$lb: not executable (the llama-bench binary of a llama.cpp build)"
[ -f "$gguf" ] || die "$gguf: no such file (a GGUF model file)"
[ -r "$gguf" ] || die "$gguf: cannot be read"
[ "$(head -c 4 "$gguf")" = GGUF ] || die "$gguf: not a GGUF file (its first bytes are not \"GGUF\")"
[[ -f $jb && -x $jb ]] || die "$jb: no joulebench binary there (build it, or give --joulebench PATH)"
command -v python3 >/dev/null || die "python3 is needed to read the CSV files"
if [ "$format" = auto ]; then
    if [ -t 1 ]; then format=table; else format=tsv; fi
fi
if [ -n "$out" ]; then
    [ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || die "$out: exists and is not empty"
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
gguf_abs=$(cd "$(dirname "$gguf")" && pwd)/$(basename "$gguf")
jb_opts=(--threads "$threads" --reps 1 --idle-s 0 --energy none)
[ -z "$dtype" ] || jb_opts+=(--dtype "$dtype")

loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ""; }
load_start=$(loadavg)
step=0
total=$((reps * 3))
progress() { step=$((step + 1)); echo "$me: [$step/$total] repetition $1: $2" >&2; }
for r in $(seq 1 "$reps"); do
    progress "$r" "llama-bench pp512 tg128, $threads threads"
    if ! "$lb" -m "$gguf_abs" -p 512 -n 128 -t "$threads" -r 1 -o csv \
        >"$out/llama-r$r.csv" 2>"$out/llama-r$r.log"; then
        fail "llama-bench failed (repetition $r): $(tail -n 3 "$out/llama-r$r.log" | tr '\n' ' ')"
    fi
    for w in pp512 tg128; do
        progress "$r" "joulebench $w, $threads threads${dtype:+, --dtype $dtype}"
        if ! "$jb" run --model "$gguf_abs" --workload "$w" "${jb_opts[@]}" --out "$out/jb-$w-r$r" \
            >"$out/jb-$w-r$r.log" 2>&1; then
            fail "joulebench run --workload $w failed (repetition $r): $(tail -n 3 "$out/jb-$w-r$r.log" | tr '\n' ' ')"
        fi
    done
done

load_end=$(loadavg)

python3 - "$out" "$reps" "$threads" "$format" "$gguf" "$load_start" "$load_end" <<'PY'
import csv, os, statistics, sys
out, reps, threads, fmt, gguf, load0, load1 = sys.argv[1:]
reps = int(reps)
me = "bench-vs-llamacpp"

def die(msg):
    print(f"{me}: {msg}", file=sys.stderr)
    sys.exit(1)

def number(row, key, where):
    try:
        v = float(row[key])
    except (KeyError, ValueError):
        die(f"{where}: no number in column {key}")
    if not v > 0:
        die(f"{where}: {key} is {row[key]}")
    return v

tests = {"pp512": (512, 0), "tg128": (0, 128)}
llama = {t: [] for t in tests}
jb = {t: [] for t in tests}
info = {}
for r in range(1, reps + 1):
    path = os.path.join(out, f"llama-r{r}.csv")
    rows = list(csv.DictReader(open(path, newline="")))
    for t, (p, g) in tests.items():
        hit = [x for x in rows if x.get("n_prompt") == str(p) and x.get("n_gen") == str(g)]
        if len(hit) != 1:
            die(f"{path}: expected one row of n_prompt {p}, n_gen {g}, found {len(hit)}")
        llama[t].append(number(hit[0], "avg_ts", path))
        for k in ("build_commit", "build_number", "cpu_info", "model_type", "n_threads"):
            info.setdefault("llama_" + k, hit[0].get(k, ""))
    for t in tests:
        path = os.path.join(out, f"jb-{t}-r{r}", "runs.csv")
        if not os.path.exists(path):
            die(f"{path}: missing (joulebench wrote no runs.csv)")
        rows = list(csv.DictReader(open(path, newline="")))
        if len(rows) != 1:
            die(f"{path}: expected one row, found {len(rows)}")
        jb[t].append(number(rows[0], "avg_ts", path))
        for k in ("dtype", "build_commit", "cpu_info", "threads"):
            info.setdefault("jb_" + k, rows[0].get(k, ""))

med = {t: (statistics.median(llama[t]), statistics.median(jb[t])) for t in tests}
fmtv = lambda vs: ",".join(f"{v:.2f}" for v in vs)
if fmt == "tsv":
    cols = ["test", "llama_tok_s", "jb_tok_s", "jb_over_llama", "llama_reps_tok_s", "jb_reps_tok_s",
            "reps", "threads", "llama_model_type", "jb_dtype", "llama_commit", "llama_build",
            "jb_commit", "cpu", "load_start", "load_end", "gguf"]
    print("\t".join(cols))
    for t in tests:
        l, j = med[t]
        vals = [t, f"{l:.3f}", f"{j:.3f}", f"{j / l:.4f}", fmtv(llama[t]), fmtv(jb[t]), str(reps),
                threads, info["llama_model_type"], info["jb_dtype"], info["llama_build_commit"],
                info["llama_build_number"], info["jb_build_commit"], info["llama_cpu_info"], load0, load1,
                gguf]
        print("\t".join(v.replace("\t", " ") for v in vals))
else:
    print(f"llama.cpp {info['llama_build_commit']} (build {info['llama_build_number']}) beside "
          f"joulebench {info['jb_build_commit']}")
    print(f"CPU: {info['llama_cpu_info']}; {threads} threads; median of {reps} interleaved repetitions; "
          f"load average {load0} at the start, {load1} at the end")
    print(f"GGUF: {gguf} (llama.cpp: {info['llama_model_type']}; joulebench dtype {info['jb_dtype']})")
    print(f"{'test':<6} {'llama.cpp tok/s':>16} {'joulebench tok/s':>17} {'jb/llama':>9}   repetitions (llama.cpp | joulebench)")
    for t in tests:
        l, j = med[t]
        print(f"{t:<6} {l:>16.2f} {j:>17.2f} {j / l:>8.3f}x   {fmtv(llama[t])} | {fmtv(jb[t])}")
PY
