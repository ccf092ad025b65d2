#!/usr/bin/env bash
# test_folder.sh — a results folder under hostile conditions, end to end (`joulebench run`):
# results that cannot be written (a file size limit stands in for a full disk; summary.csv
# blocked by a directory) make the run exit 1 with meta.json saying "write failed" and leave
# only whole rows, which the next run continues from; a last line cut short is dropped with a
# message and the finished rows kept; a .lock naming a live unrelated process does not block;
# of several runs started together over a stale .lock only one writes.
# Usage: test_folder.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"

whole() { # whole FOLDER: every CSV ends in a line end and every row has the header's fields
    python3 -c 'import csv, sys, glob
for p in glob.glob(sys.argv[1] + "/*.csv"):
    data = open(p, "rb").read()
    assert data.endswith(b"\r\n"), p + " does not end in a line end"
    rows = list(csv.reader(open(p, newline="")))
    bad = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
    assert not bad, "%s: rows %s have the wrong number of fields" % (p, bad)' "$1"
}
status() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$1/meta.json"; }
run() { "$jb" run --model tiny --workload chat --requests 1 --warmup 0 --idle-s 0 "$@"; }

# --- summary.csv cannot be written (a directory in its place); .lock names pid 1 (alive, holds
# no lock): the run is not blocked, exits 1, says so, and meta.json ends "write failed"
mkdir -p sum/summary.csv
echo 1 >sum/.lock
run --reps 1 --out sum >sum.out 2>sum.err
rc=$?
[ "$rc" -eq 1 ] && grep -q "summary.csv: cannot write" sum.err \
    && ok "summary.csv not written: exit 1 with the reason" || fail "summary: exit $rc, $(cat sum.err)"
grep -q "^# results:" sum.out && ! grep "^# results:" sum.out | grep -q "summary.csv" \
    && ok "stdout names the files written, not summary.csv" \
    || fail "stdout's results line: $(grep '^# results' sum.out || echo none)"
[ "$(status sum)" = "write failed" ] && ok "meta.json status: write failed" || fail "meta.json status: $(status sum)"
[ "$(rows sum/runs.csv)" -eq 1 ] && ok "the repetition is kept" || fail "runs.csv rows: $(rows sum/runs.csv)"

# --- a full disk mid-run: exit 1, only whole rows, and the next run continues
run --reps 2 --out lim >lim1.out 2>lim1.err || fail "first run into lim: $(cat lim1.err)"
size() { stat -c %s "$1"; }
kib=$((($(size lim/runs.csv) + 1023) / 1024)) # ulimit -f counts KiB
meta=$((($(size lim/meta.json) + 1535) / 1024)) # meta.json, a little longer at the end, fits
[ "$meta" -gt "$kib" ] && kib=$meta
row=$((($(size lim/runs.csv) - $(head -1 lim/runs.csv | wc -c)) / 2)) # bytes of a run row
reps=$((2 + (kib * 1024 - $(size lim/runs.csv)) / (row / 2) + 2)) # enough rows to cross it
(trap '' XFSZ; ulimit -f "$kib"; run --reps "$reps" --out lim >lim2.out 2>lim2.err)
rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot write: File too large" lim2.err \
    && ok "results that cannot be written: exit 1 ($(grep -o '[a-z]*\.csv: cannot write' lim2.err | head -1))" \
    || fail "limited run ($kib KiB, $reps reps): exit $rc, $(cat lim2.err)"
[ "$(status lim)" = "write failed" ] && ok "meta.json status: write failed" || fail "meta.json status: $(status lim)"
msg=$(whole lim 2>&1) && ok "only whole rows after the failed writes" || fail "$msg"
run --reps "$reps" --out lim >lim3.out 2>lim3.err || fail "run after the full disk: $(cat lim3.err)"
[ "$(rows lim/runs.csv)" -eq "$reps" ] && [ "$(col lim/runs.csv run_id | sort | uniq -d | wc -l)" -eq 0 ] \
    && ok "the next run completes $reps repetitions, none twice" || fail "runs.csv: $(col lim/runs.csv run_id | tr '\n' ' ')"
[ "$(status lim)" = "finished" ] && ok "meta.json status: finished" || fail "meta.json status: $(status lim)"

# --- a last line cut short (an older joulebench on a full disk): dropped, saying so; the
# finished rows are kept and the next row does not glue onto it
printf '2,%s-r99,x,2026-01-01T00:00:00Z,host' "$(col lim/runs.csv config_id | head -1)" >>lim/runs.csv
run --reps $((reps + 1)) --out lim >cut.out 2>cut.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "lim/runs.csv: dropping an incomplete last line" cut.err \
    && ok "a cut last line is dropped with a message" || fail "cut: exit $rc, $(cat cut.err)"
[ "$(rows lim/runs.csv)" -eq $((reps + 1)) ] && msg=$(whole lim 2>&1) && ok "$reps rows kept, 1 added, all whole" \
    || fail "after the cut: $(rows lim/runs.csv) rows; $msg"

# --- several runs started together over a stale .lock (its owner was SIGKILLed): one writes
mkdir race
sh -c 'exit 0' &
dead=$!
wait "$dead"
echo "$dead" >race/.lock
for i in 1 2 3 4 5 6; do
    run --reps 1 --out race >"race$i.out" 2>"race$i.err" &
done
wait
recorded=0
for i in 1 2 3 4 5 6; do
    n=$(grep -o '[0-9]* repetitions recorded now' "race$i.out" | cut -d' ' -f1)
    recorded=$((recorded + ${n:-0}))
    [ -z "$n" ] && ! grep -q "is being written by another joulebench (pid [0-9]*)" "race$i.err" \
        && fail "racer $i neither ran nor was refused: $(cat "race$i.err")"
done
[ "$recorded" -eq 1 ] && [ "$(grep -c '^schema_version,' race/runs.csv)" -eq 1 ] && [ "$(rows race/runs.csv)" -eq 1 ] \
    && ok "one of 6 racers wrote: one header, one row" \
    || fail "racers recorded $recorded; runs.csv: $(cat race/runs.csv | cut -c1-40)"

jb_test_end test_folder
