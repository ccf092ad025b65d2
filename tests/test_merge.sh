#!/usr/bin/env bash
# test_merge.sh — `joulebench merge OUT DIR...` end to end on real runs of models/tiny:
# disjoint folders give their union with every CSV line byte for byte as in its source;
# overlapping ones (a run continued in a copy) keep each repetition once with a warning naming
# both folders; one run_id with two different rows, a damaged file and a folder of schema
# version 1 are exit 2 naming the folder (and file, and run_id) with nothing written; a run
# interrupted with Ctrl-C merges its finished repetitions, the rows of the unfinished one left
# out; one host with two machine descriptions is a warning; an OUT that is not new or empty is
# refused and left alone; report reads the merged folder.
# Usage: test_merge.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"

data() { tail -n +2 "$1"; } # the data lines of a CSV file, as bytes (no quoted line breaks here)
meta() { # meta FOLDER EXPR: a value of meta.json (python, m is the object)
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1] + "/meta.json")); print(eval(sys.argv[2]))' "$1" "$2"
}
run() { "$jb" run --model tiny --requests 2 --warmup 0 --idle-s 0 "$@"; }
bad() { # bad NAME TEXT... -- ARGS: exit 2, one line on stderr holding every TEXT, OUT not made
    local name=$1 want=()
    shift
    while [ "$1" != "--" ]; do want+=("$1"); shift; done
    shift
    "$jb" merge "$name" "$@" >"$name.out" 2>"$name.err"
    local got=$? t
    if [ "$got" -ne 2 ]; then
        fail "$name: exit $got, expected 2: $(head -3 "$name.err")"
        return
    fi
    for t in "${want[@]}"; do
        grep -qF -- "$t" "$name.err" || { fail "$name: error lacks \"$t\": $(cat "$name.err")"; return; }
    done
    [ "$(wc -l <"$name.err")" -eq 1 ] || { fail "$name: $(wc -l <"$name.err") lines on stderr: $(cat "$name.err")"; return; }
    [ ! -e "$name" ] || { fail "$name: OUT was made"; return; }
    ok "$name: exit 2, $(cut -c1-150 "$name.err")"
}

# three folders: a (chat, 2 repetitions), b (code, 1), c (a copied, then continued to 3)
run --workload chat --reps 2 --out a >a.out 2>a.err || fail "run a: $(cat a.err)"
run --workload code --reps 1 --out b >b.out 2>b.err || fail "run b: $(cat b.err)"
cp -r a c
run --workload chat --reps 3 --out c >c.out 2>c.err || fail "run c: $(cat c.err)"

# --- disjoint folders: the union, every CSV line as in its source
"$jb" merge m1 a b >m1.out 2>m1.err
rc=$?
[ "$rc" -eq 0 ] && [ ! -s m1.err ] && ok "disjoint merge: exit 0, quiet" || fail "disjoint merge: exit $rc, $(cat m1.err)"
for f in runs requests power; do
    if [ "$(head -1 m1/$f.csv)" = "$(head -1 a/$f.csv)" ] && cmp -s <(data a/$f.csv; data b/$f.csv) <(data m1/$f.csv); then
        ok "$f.csv: the lines of a then b, byte for byte"
    else
        fail "$f.csv differs from its sources"
    fi
done
[ "$(rows m1/runs.csv)" -eq 3 ] && [ "$(col m1/runs.csv run_id | sort | uniq -d | wc -l)" -eq 0 ] \
    && ok "3 repetitions, each once" || fail "runs: $(col m1/runs.csv run_id | tr '\n' ' ')"
grep -q "^# merged 2 folders into m1: 3 repetitions, 6 request rows" m1.out \
    && grep -q "left out: 0 duplicate rows" m1.out && ok "stdout says what was merged" || fail "stdout: $(cat m1.out)"
[ "$(col m1/summary.csv config_id | sort -u | wc -l)" -eq 2 ] && ok "summary.csv: both configurations" \
    || fail "summary.csv: $(head -3 m1/summary.csv)"
[ "$(meta m1 'm["status"]')" = merged ] && [ "$(meta m1 '" ".join(m["command"])')" = "joulebench merge m1 a b" ] \
    && [ "$(meta m1 '[s["path"] for s in m["sources"]] == ["'"$tmp"'/a", "'"$tmp"'/b"]')" = True ] \
    && [ "$(meta m1 '" ".join(m["sources"][1]["command"])')" = "$(meta b '" ".join(m["command"])')" ] \
    && [ "$(meta m1 'm["sources"][0]["started_utc"] == json.load(open("a/meta.json"))["started_utc"]')" = True ] \
    && [ "$(meta m1 '[s["runs"] for s in m["sources"]]')" = "[2, 1]" ] \
    && ok "meta.json: merged, the command line, the sources" || fail "meta.json: $(cat m1/meta.json | head -40)"
[ "$(meta m1 'm["machine"] == json.load(open("a/meta.json"))["machine"]')" = True ] \
    && ok "meta.json: one machine throughout, so that machine" || fail "machine: $(meta m1 'm["machine"]')"
[ ! -e m1/.lock ] && ok "lock released" || fail "lock left behind"

# --- overlapping folders: c holds a's two repetitions and one more
"$jb" merge m2 a c >m2.out 2>m2.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: c/runs.csv: 2 row(s) are identical copies of rows of a/runs.csv" m2.err \
    && ok "overlap: exit 0, warning names both folders" || fail "overlap: exit $rc, $(cat m2.err)"
[ "$(rows m2/runs.csv)" -eq 3 ] && [ "$(col m2/runs.csv run_id | sort | uniq -d | wc -l)" -eq 0 ] \
    && cmp -s <(data a/runs.csv; grep -- '-r2,' c/runs.csv) <(data m2/runs.csv) \
    && ok "overlap: every repetition once, lines as in the sources" || fail "overlap runs: $(col m2/runs.csv run_id | tr '\n' ' ')"
[ "$(col m2/requests.csv run_id | paste -d, - <(col m2/requests.csv request_id) | sort | uniq -d | wc -l)" -eq 0 ] \
    && [ "$(rows m2/requests.csv)" -eq 6 ] && ok "overlap: every request once" || fail "overlap requests: $(rows m2/requests.csv)"
[ "$(rows m2/power.csv)" -eq $(($(rows a/power.csv) + $(grep -c -- '-r2,' c/power.csv))) ] \
    && ok "overlap: each repetition's samples once" || fail "overlap power: $(rows m2/power.csv)"
grep -q "left out: .* (2 runs, 4 requests" m2.out && ok "overlap: stdout counts the copies" || fail "stdout: $(cat m2.out)"

# --- one run_id, two different results: exit 2 naming both folders and the run_id
cp -r a d
python3 - <<'EOF'
import csv
rows = list(csv.reader(open("d/runs.csv", newline="")))
rows[1][rows[0].index("energy_j")] = "123.5"
csv.writer(open("d/runs.csv", "w", newline=""), lineterminator="\r\n").writerows(rows)
EOF
id0=$(col a/runs.csv run_id | sed -n 1p)
bad conflict "a/runs.csv" "d/runs.csv" "run_id \"$id0\"" 'column "energy_j"' -- a d

# --- damaged files: exit 2 naming the folder and the file
cp -r b nul && printf '2,x\0y\r\n' >>nul/requests.csv
bad corrupt_nul "nul/requests.csv" "NUL" -- a nul
cp -r b fields && printf '2,foo\r\n' >>fields/power.csv
bad corrupt_fields "fields/power.csv" "has 2 fields" -- a fields
cp -r b number && sed -i '2s/^[0-9]*,/2x,/' number/runs.csv
bad corrupt_number "number/runs.csv" 'column "schema_version"' -- a number
mkdir empty
bad not_results "empty: no runs.csv" -- a empty

# --- another schema version: runs.csv with the columns of schema_version 1
mkdir v1 && python3 - <<'EOF'
import csv
v1 = ("schema_version,run_id,config_id,timestamp_utc,host,build_commit,cpu_info,model,model_type,"
      "params,model_size,weights,dtype,workload,scenario,kernels,batch,threads,rep,requests,"
      "prompt_tokens,gen_tokens,depth,duration_s,ttft_ms_p50,ttft_ms_p90,ttft_ms_p99,tpot_ms_p50,"
      "tpot_ms_p90,tpot_ms_p99,itl_ms_p50,itl_ms_p90,itl_ms_p99,e2e_ms_p50,e2e_ms_p90,e2e_ms_p99,"
      "queue_ms_p50,queue_ms_p99,prefill_s,decode_s,prefill_tok_s,decode_tok_s,total_tok_s,req_s,"
      "avg_ts,stddev_ts,slo_ttft_ms,slo_tpot_ms,slo_met_share,goodput_req_s,energy_j,"
      "energy_prefill_j,energy_decode_j,j_per_token,j_per_query,avg_power_w,energy_source,"
      "energy_method,energy_domains,energy_reason,gflop_per_token,weight_gb_per_token").split(",")
rows = list(csv.DictReader(open("b/runs.csv", newline="")))
with open("v1/runs.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(v1)
    for r in rows:
        r["schema_version"] = "1"
        w.writerow([r[c] for c in v1])
EOF
bad schema_v1 "v1/runs.csv: schema_version 1" "merges schema_version 4" -- a v1
"$jb" report v1 >/dev/null 2>&1 && ok "(the v1 folder itself reads: report)" || fail "the v1 folder does not read"

# --- a run interrupted with Ctrl-C, and a stray request row of an unfinished repetition
"$jb" run --model tiny --requests 2 --warmup 0 --idle-s 0 --workload chat --reps 200 --out i >i.out 2>i.err &
pid=$! # joulebench itself, not a subshell running run(): it takes the Ctrl-C
for _ in $(seq 1 400); do
    [ -f i/runs.csv ] && [ "$(rows i/runs.csv)" -ge 1 ] && break
    sleep 0.05
done
kill -INT "$pid"
wait "$pid"
[ "$(meta i 'm["status"]')" = interrupted ] || fail "the run was not interrupted: $(meta i 'm["status"]')"
python3 - <<'EOF'
import csv
rows = list(csv.reader(open("i/requests.csv", newline="")))
stray = rows[1][:]
stray[1] = stray[1].rsplit("-r", 1)[0] + "-r999"
with open("i/requests.csv", "a", newline="") as f:
    csv.writer(f, lineterminator="\r\n").writerow(stray)
EOF
finished=$(rows i/runs.csv)
"$jb" merge m4 i b >m4.out 2>m4.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: i: meta.json says \"interrupted\"" m4.err \
    && grep -q "i/requests.csv: leaving out 1 row(s) of unfinished repetitions" m4.err \
    && ok "interrupted: exit 0, warning names the folder" || fail "interrupted: exit $rc, $(cat m4.err)"
[ "$(rows m4/runs.csv)" -eq $((finished + 1)) ] && ! grep -q -- '-r999,' m4/requests.csv \
    && ok "interrupted: its $finished finished repetition(s), not the unfinished one" || fail "interrupted: $(rows m4/runs.csv) runs"
ids=$(col m4/runs.csv run_id | sort -u)
[ -z "$(comm -23 <(col m4/requests.csv run_id | sort -u) <(echo "$ids"))" ] \
    && [ -z "$(comm -23 <(col m4/power.csv run_id | grep -v '^idle:' | sort -u) <(echo "$ids"))" ] \
    && ok "interrupted: every request and sample row belongs to a merged repetition" || fail "orphans merged"
grep -q "1 folder had not finished" m4.out && [ "$(meta m4 'm["sources"][0]["status"]')" = interrupted ] \
    && ok "interrupted: said on stdout and in meta.json's sources" || fail "stdout: $(cat m4.out)"

# --- one host name, two machine descriptions: a warning naming both folders
run --workload chat-interactive --reps 1 --out e >e.out 2>e.err || fail "run e: $(cat e.err)"
python3 -c 'import json; m = json.load(open("e/meta.json")); m["machine"]["cpu_model"] = "Another CPU"; json.dump(m, open("e/meta.json", "w"))'
"$jb" merge m5 a e >m5.out 2>m5.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: a and e both ran on host \"$(meta a 'm["machine"]["host"]')\" but describe different machines (cpu_model" m5.err \
    && ok "conflicting machine descriptions: a warning naming both" || fail "meta conflict: exit $rc, $(cat m5.err)"
[ "$(meta m5 'm["machine"]["cpu_model"]')" = "" ] && [ "$(meta m5 'm["sources"][1]["cpu_model"]')" = "Another CPU" ] \
    && ok "meta.json: the machine keeps what the sources agree on" || fail "machine: $(meta m5 'm["machine"]')"

# --- OUT not new or empty: refused, left as it was
sum=$(cat a/*.csv a/meta.json | md5sum)
"$jb" merge a b >full.out 2>full.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "a is not empty" full.err && [ "$(cat a/*.csv a/meta.json | md5sum)" = "$sum" ] \
    && ok "OUT not empty: exit 2, untouched" || fail "OUT not empty: exit $rc, $(cat full.err)"
mkdir out-empty
"$jb" merge out-empty a >/dev/null 2>&1 && [ "$(rows out-empty/runs.csv)" -eq 2 ] \
    && ok "an empty OUT is fine" || fail "empty OUT refused"
"$jb" merge m6 a ./a/ >m6.out 2>m6.err
[ $? -eq 2 ] && grep -q "same folder" m6.err && ok "a folder named twice: exit 2" || fail "twice: $(cat m6.err)"
"$jb" merge m7 >m7.out 2>m7.err
[ $? -eq 2 ] && ok "no folder to merge: exit 2" || fail "usage: $(cat m7.err)"

# --- the merged folder is a results folder: report reads it, and it merges again
"$jb" report m2 >rep.out 2>rep.err && [ -s m2/report/report.md ] \
    && ok "report reads the merged folder" || fail "report: $(cat rep.err)"
"$jb" merge m8 m1 c >m8.out 2>m8.err && [ "$(rows m8/runs.csv)" -eq 4 ] \
    && [ "$(meta m8 'm["sources"][0]["status"]')" = merged ] \
    && ok "a merged folder merges again" || fail "nested: $(cat m8.err)"

jb_test_end test_merge
