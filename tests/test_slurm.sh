#!/usr/bin/env bash
# test_slurm.sh — the fleet scripts (scripts/slurm/) on a real Slurm, not a mock: installs
# Debian's slurm-wlm and munge when missing, starts munged, slurmctld and slurmd for this host
# in a temporary folder (one node, select/cons_tres, no cgroups, two partitions over the node),
# submits a two-shard sweep with scripts/slurm/submit.sh and waits for its merge job; the
# merged runs.csv must hold every planned configuration exactly once, each shard the
# configurations the plan gave it, and the report must be written. A failing shard must
# cancel the merge; bad input must be exit 2 with nothing made or queued; two partitions (the
# second under another host name) must merge as two machines. Stops the daemons it started
# (by pid) and removes its files. docs/fleet.md lists every check.
# Skipped (77) only when Slurm cannot be installed or its daemons cannot start here, or (after
# every other check passed) when unshare --uts is not permitted for the two-machine check.
# Usage: test_slurm.sh PATH/TO/joulebench SOURCE_DIR
set -u
jb=$1
src=$(cd "$2" && pwd)
export JOULEBENCH_MODELS_DIR="$src/models" JOULEBENCH_WORKLOADS_DIR="$src/workloads"
submit=$src/scripts/slurm/submit.sh
export JOULEBENCH=$jb # submit.sh's binary: the one under test, not build/joulebench
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }

# --- Slurm and MUNGE from Debian, only when missing
[ "$(id -u)" -eq 0 ] || skip "needs root to install and run the Slurm daemons (running as $(id -un))"
have_slurm() {
    command -v munged && command -v slurmctld && command -v slurmd && command -v sbatch
} >/dev/null
if ! have_slurm; then
    command -v apt-get >/dev/null || skip "slurm-wlm and munge are not installed and there is no apt-get"
    echo "installing slurm-wlm and munge (Debian packages)" >&2
    apt() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >&2; }
    apt || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && apt; } ||
        skip "apt-get could not install slurm-wlm and munge"
    have_slurm || skip "slurm-wlm and munge installed, but munged, slurmctld, slurmd or sbatch is missing"
fi

# --- a one-node cluster in a temporary folder
tmp=$(mktemp -d /tmp/jb-slurm.XXXXXX) || exit 1
chmod 755 "$tmp" # munged wants its socket's folders searchable by all, writable by none but root
pids=()
cleanup() {
    if [ -n "${ctld:-}" ] && kill -0 "$ctld" 2>/dev/null; then
        scancel --quiet --user=root 2>/dev/null # only this cluster's jobs: SLURM_CONF is ours
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # slurmd, slurmctld, then munged
        kill "${pids[$i]}" 2>/dev/null
        wait "${pids[$i]}" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # the daemons are stopped on these too
mkdir -p "$tmp/munge" "$tmp/run" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/work"
chmod 700 "$tmp/munge"
chmod 755 "$tmp/run"

# Two free TCP ports for slurmctld and slurmd (the defaults may belong to a real Slurm here).
read -r ctld_port slurmd_port < <(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
nodeline=$(slurmd -C 2>/dev/null | head -1) # NodeName=host CPUs=.. Sockets.. RealMemory=..
[[ $nodeline == NodeName=* ]] || skip "slurmd -C cannot describe this node: $(slurmd -C 2>&1 | tail -1)"
node=${nodeline%% *}
node=${node#NodeName=}
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$nodeline")

export SLURM_CONF=$tmp/slurm.conf
cat >"$SLURM_CONF" <<EOF
# A one-node cluster for tests/test_slurm.sh; every file in $tmp.
ClusterName=jbtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/run/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
Prolog=$tmp/prolog.sh
$nodeline NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=second Nodes=$node MaxTime=INFINITE State=UP
EOF

# The node prolog records each job's comment, which docs/fleet.md's prolog keys on.
printf '#!/bin/sh\necho "prolog $%s ${%s:-}" >>%s\nexit 0\n' SLURM_JOB_ID SLURM_JOB_COMMENT \
    "$tmp/log/prolog.log" >"$tmp/prolog.sh"
chmod 755 "$tmp/prolog.sh"

daemons_down() { # daemons_down WHY: skip, showing the daemons' last words
    echo "--- the daemons' logs:"
    tail -n 5 "$tmp"/log/* 2>/dev/null
    skip "the Slurm daemons cannot start here: $1"
}
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$tmp/munge/munge.key"
munged -F --key-file="$tmp/munge/munge.key" --socket="$tmp/run/munge.socket" \
    --pid-file="$tmp/run/munged.pid" --seed-file="$tmp/munge/seed" \
    --log-file="$tmp/log/munged.log" 2>>"$tmp/log/munged.log" &
pids+=($!)
for _ in $(seq 1 50); do
    [ -S "$tmp/run/munge.socket" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || daemons_down "munged exited"
    sleep 0.1
done
[ -S "$tmp/run/munge.socket" ] || daemons_down "munged made no socket"
slurmctld -D -c -f "$SLURM_CONF" >>"$tmp/log/slurmctld.out" 2>&1 &
ctld=$!
pids+=("$ctld")
slurmd -D -f "$SLURM_CONF" >>"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
state=
for _ in $(seq 1 150); do # the node registers within seconds; 30 s is the limit
    state=$(sinfo -h -n "$node" -o %t 2>/dev/null | sort -u)
    [ "$state" = idle ] && break
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || daemons_down "a daemon exited (pid $p)"
    done
    sleep 0.2
done
[ "$state" = idle ] || daemons_down "node $node is \"${state:-unknown}\", not idle, after 30 s"
ok "munged, slurmctld and slurmd started ($SECONDS s): node $node ($cpus CPUs) idle in partition debug"
cd "$tmp/work" || exit 1

col() { # col FILE NAME: the values of one column, read by a real CSV parser
    python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print(r[sys.argv[2]])' "$1" "$2"
}
job_field() { # job_field JOBID FIELD: FIELD=value of every job (array task) of JOBID
    scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"
}
queue_empty() { [ -z "$(squeue -h -o %i)" ]; }

# --- bad input is exit 2, and nothing is queued
sweep=(--models tiny,SmolLM2-135M --workloads chat --dtypes q8_0)
fast=(--reps 1 --warmup 0 --idle-s 0 --requests 2 --token-scale 0.25 --energy estimator)
bad() { # bad WHAT EXPECTED-IN-MESSAGE SUBMIT-ARGS...
    local what=$1 want=$2
    shift 2
    "$submit" "$@" >../bad.out 2>../bad.err
    local rc=$?
    [ "$rc" -eq 2 ] && grep -q -- "$want" ../bad.err && [ ! -s ../bad.out ] && queue_empty &&
        [ -z "$(ls -A)" ] && ok "$what: exit 2 ($(tail -1 ../bad.err)), nothing made or queued" ||
        fail "$what: exit $rc, stderr: $(cat ../bad.err), stdout: $(cat ../bad.out), queue: $(squeue -h), made: $(ls -A)"
}
bad "no --shards" "--shards N is required" --out bad -- "${sweep[@]}"
bad "--out among the sweep options" "is set per shard" --shards 2 -- "${sweep[@]}" --out x
bad "more shards than configurations" "every shard needs one" --shards 3 --out bad -- "${sweep[@]}" --threads 1
bad "an unknown model" "no-such-model" --shards 2 --out bad -- --models no-such-model --workloads chat

# --- the issue's command: two shards of tiny and SmolLM2-135M, merged, reported
t0=$SECONDS
"$submit" --shards 2 --out "$tmp/work/fleet" --wait -- "${sweep[@]}" "${fast[@]}" >fleet.out 2>fleet.err
rc=$?
sweep_id=$(awk '$1 == "sweep" { print $2 }' fleet.out)
merge_id=$(awk '$1 == "merge" { print $2 }' fleet.out)
[ "$rc" -eq 0 ] && [ -n "$sweep_id" ] && [ -n "$merge_id" ] &&
    ok "submit.sh --wait: exit 0; array $sweep_id, merge job $merge_id ($((SECONDS - t0)) s)" ||
    fail "submit.sh: exit $rc; stdout: $(cat fleet.out); stderr: $(cat fleet.err); logs: $(tail -n 5 fleet/logs/* 2>&1)"
{ scontrol -o show job "$sweep_id"; scontrol -o show job "$merge_id"; } 2>/dev/null | awk '{ # when each ran
    for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|JobName|ArrayTaskId|StartTime|EndTime)=/) l = l " " $i
    print "info:" l; l = "" }'
grep -q -- "--threads $cpus" fleet.err && ok "--threads $cpus taken from Slurm's CPUs per node" ||
    fail "no --threads chosen from sinfo: $(cat fleet.err)"
states=$(job_field "$sweep_id" JobState | sort | uniq -c | xargs)
[ "$states" = "2 COMPLETED" ] && ok "both array tasks completed" || fail "array task states: $states"
shared=$(job_field "$sweep_id" OverSubscribe | sort | uniq -c | xargs)
[ "$shared" = "2 NO" ] && ok "both shards had their node to themselves (--exclusive)" ||
    fail "shards' OverSubscribe: $shared"
[ "$(job_field "$merge_id" JobState)" = COMPLETED ] && ok "merge job completed" ||
    fail "merge job: $(job_field "$merge_id" JobState)"
last_end=$(job_field "$sweep_id" EndTime | sort | tail -1) # ISO times sort as text
merge_start=$(job_field "$merge_id" StartTime)
[ -n "$last_end" ] && [[ ! $merge_start < $last_end ]] &&
    [ "$(job_field "$merge_id" Command)" = "$tmp/work/fleet/merge.sh" ] &&
    ok "merge job ran merge.sh after both shards ended ($merge_start >= $last_end)" ||
    fail "merge job: $(scontrol -o show job "$merge_id"), shards ended $last_end"

marked=0
for t in $(job_field "$sweep_id" JobId); do # each array task is a job of its own
    grep -qx "prolog $t joulebench-energy" "$tmp/log/prolog.log" && marked=$((marked + 1))
done
grep -qx "prolog $merge_id " "$tmp/log/prolog.log" && [ "$marked" -eq 2 ] &&
    ok "the node prolog saw the shards' comment joulebench-energy (and not the merge job's)" ||
    fail "prolog log: $(cat "$tmp/log/prolog.log")"

# The plan, from joulebench itself: which configuration belongs to which shard.
"$jb" sweep "${sweep[@]}" "${fast[@]}" --threads "$cpus" --shard 0/2 --plan >plan.tsv 2>plan.err ||
    fail "sweep --plan: $(cat plan.err)"
planned=$(grep -v '^#' plan.tsv | awk -F'\t' '{ print $3 }' | sort)
[ "$(wc -l <<<"$planned")" -eq 2 ] || fail "the plan has not 2 configurations: $(cat plan.tsv)"
base=$tmp/work/fleet
for i in 0 1; do
    d=$base/shards/default/shard-$i-of-2
    want=$(grep -v '^#' plan.tsv | awk -F'\t' -v i="$i" '$2 == i { print $3 }' | sort)
    got=$(col "$d/runs.csv" config_id 2>/dev/null | sort)
    [ -n "$want" ] && [ "$got" = "$want" ] && ok "shard $i/2 ran its configuration ($got) and no other" ||
        fail "shard $i/2 ran [$got], the plan gave it [$want]"
done
m=$base/merged
got=$(col "$m/runs.csv" config_id 2>/dev/null | sort)
[ "$got" = "$planned" ] && ok "merged runs.csv: every configuration exactly once" ||
    fail "merged config_ids [$(echo $got)], planned [$(echo $planned)]"
[ "$(col "$m/runs.csv" model 2>/dev/null | sort | xargs)" = "SmolLM2-135M tiny" ] &&
    [ "$(col "$m/runs.csv" threads 2>/dev/null | sort -u)" = "$cpus" ] &&
    ok "merged: tiny and SmolLM2-135M at $cpus threads" || fail "merged rows: $(cat "$m/runs.csv")"
[ "$(col "$m/requests.csv" run_id 2>/dev/null | wc -l)" -eq 4 ] && ok "merged requests.csv: 2 requests per run" ||
    fail "merged requests.csv: $(col "$m/requests.csv" run_id 2>&1)"
python3 - "$m/meta.json" "$base/shards/default" <<'EOF' && ok "meta.json: status merged, both shards as sources" || fail "meta.json: $(cat "$m/meta.json")"
import json, os, sys
m = json.load(open(sys.argv[1]))
want = sorted(os.path.realpath(f"{sys.argv[2]}/shard-{i}-of-2") for i in range(2))
got = sorted(os.path.realpath(s.get("path", "")) for s in m.get("sources", []))
sys.exit(0 if m.get("status") == "merged" and got == want else 1)
EOF
[ -s "$m/report/report.md" ] && grep -q SmolLM2-135M "$m/report/report.md" && grep -q tiny "$m/report/report.md" &&
    ok "report written: merged/report/report.md names both models" || fail "no report: $(ls "$m" "$m/report" 2>&1)"
nlogs=$(ls "$base/logs" | grep -c '\.out$')
[ "$nlogs" -eq 3 ] && ok "Slurm's logs in fleet/logs (2 shards, 1 merge)" || fail "logs: $(ls "$base/logs")"
grep -q "shard 1/2 on $host" "$base"/logs/jb-sweep-*_1.out && ok "the log names the shard and node" ||
    fail "shard log: $(cat "$base"/logs/jb-sweep-*_1.out)"

# --- a failing shard: the merge job is cancelled, nothing merged, submit.sh --wait exits 1
cat >"$tmp/failing-jb" <<EOF
#!/bin/sh
# joulebench, except that shard 1 of 2 fails
case " \$* " in *" --shard 1/2 "*) echo "shard 1/2 made to fail" >&2; exit 1 ;; esac
exec "$jb" "\$@"
EOF
chmod +x "$tmp/failing-jb"
t0=$SECONDS
"$submit" --shards 2 --out "$tmp/work/broken" --bin "$tmp/failing-jb" --wait -- --models tiny \
    --workloads chat --dtypes q8_0,f32 --threads 1 "${fast[@]}" >broken.out 2>broken.err
rc=$?
merge_id=$(awk '$1 == "merge" { print $2 }' broken.out)
[ "$rc" -eq 1 ] && [ "$(job_field "$merge_id" JobState)" = CANCELLED ] &&
    [ ! -e "$tmp/work/broken/merged/runs.csv" ] &&
    ok "a failed shard cancels the merge: exit 1 ($(tail -1 broken.err)) ($((SECONDS - t0)) s)" ||
    fail "failed shard: exit $rc, merge job $(job_field "$merge_id" JobState), stderr: $(cat broken.err)"
[ -s "$tmp/work/broken/shards/default/shard-0-of-2/runs.csv" ] && ok "the other shard's results are kept" ||
    fail "shard 0's results missing"

# --- one array per partition, then one merge: partition "second" runs under another host name
# (a UTS namespace), so that the merge sees two machines, as on a cluster of two node types
not_run=""
if unshare --uts true 2>/dev/null; then
    cat >"$tmp/renaming-jb" <<EOF
#!/bin/sh
# joulebench; in partition "second" under the host name $host-b, as if on another machine
[ "\${SLURM_JOB_PARTITION:-}" = second ] || exec "$jb" "\$@"
exec unshare --uts sh -c 'hostname "\$0" && exec "\$@"' "$host-b" "$jb" "\$@"
EOF
    chmod +x "$tmp/renaming-jb"
    t0=$SECONDS
    "$submit" --shards 1 --partition debug,second --out "$tmp/work/multi" --bin "$tmp/renaming-jb" \
        --wait -- --models tiny --workloads chat --dtypes q8_0 --threads 1 "${fast[@]}" >multi.out 2>multi.err
    rc=$?
    m=$tmp/work/multi/merged
    [ "$rc" -eq 0 ] && [ "$(awk '$1 == "sweep" { print $3 }' multi.out | xargs)" = "debug second" ] &&
        ok "two partitions, two arrays, one merge: exit 0 ($((SECONDS - t0)) s)" ||
        fail "two partitions: exit $rc; stdout: $(cat multi.out); stderr: $(cat multi.err); merge: $(cat "$tmp"/work/multi/logs/jb-merge-*.out)"
    [ "$(col "$m/runs.csv" host 2>/dev/null | sort | xargs)" = "$host $host-b" ] &&
        [ "$(col "$m/runs.csv" config_id 2>/dev/null | sort -u | wc -l)" -eq 1 ] &&
        ok "merged: the one configuration once per machine ($host, $host-b)" ||
        fail "merged rows of two partitions: $(cut -d, -f1-5 "$m/runs.csv" 2>&1)"
    [ -s "$m/report/report.md" ] && grep -q -- "$host-b" "$m/report/report.md" &&
        ok "the report names both machines" || fail "report of two machines: $(ls "$m/report" 2>&1)"
else
    not_run="two partitions as two machines (unshare --uts is not permitted here)"
    echo "not run: $not_run"
fi

[ "$fails" -eq 0 ] && echo "all Slurm checks passed${not_run:+ but one not run}" || echo "$fails check(s) failed"
[ "$fails" -eq 0 ] || exit 1
[ -z "$not_run" ] || skip "$not_run; every other check passed"
