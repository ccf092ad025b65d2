#!/usr/bin/env bash
# submit.sh — a joulebench sweep across a Slurm cluster: one job array per partition (shard I of
# N on its own node, scripts/slurm/sweep.sbatch), then one job that runs after all of them
# succeeded (--dependency=afterok) and merges the shard folders and writes the report.
# docs/fleet.md explains the layout, the choices and how energy is accessed on the nodes.
#
# Usage: scripts/slurm/submit.sh --shards N [options] -- SWEEP OPTIONS...
#   --shards N          shards per partition: array tasks 0-(N-1) (required; at most the
#                       number of configurations the sweep plans)
#   --out DIR           base folder on a filesystem every node shares (default
#                       results/fleet-<UTC time> under the current folder):
#                         DIR/shards/PARTITION/shard-I-of-N   each shard's results
#                         DIR/merged, DIR/merged/report       the merged results, their report
#                         DIR/logs                            Slurm's output of every job
#                         DIR/merge.sh                        the merge job's script
#   --bin PATH          joulebench binary (default $JOULEBENCH, else build/joulebench of the
#                       source tree this script is in); at the same path on every node
#   --partition P[,Q..] one array per partition (default: the cluster's default partition)
#   --merge-partition P where the merge job runs (default: the first partition)
#   --time LIMIT        time limit of each shard (sbatch --time; default: the partition's)
#   --no-exclusive      let shards share nodes with other jobs (sbatch --oversubscribe; their
#                       joules then include the neighbours' power: only for clusters that
#                       refuse --exclusive);
#                       sweep.sbatch asks for all of a node's memory (--mem=0): give what a
#                       shard needs with --sbatch --mem=SIZE
#   --sbatch OPT        an extra option for every sbatch call (repeatable: --sbatch
#                       --account=abc --sbatch --qos=high)
#   --report-opt OPT    an extra option for `joulebench report` (repeatable: --report-opt
#                       --cost --report-opt cloud-vm)
#   --wait              wait for the merge job to end; exit 0 only when it completed
#   --dry-run           print the sbatch commands instead of running them
# SWEEP OPTIONS go unchanged to every shard. Without --threads, each partition's shards get
# --threads C, C being the CPUs per node Slurm reports for that partition (refused when its
# nodes differ): every shard must plan the same configurations, and sweep's default (the
# node's CPU count) may differ between the submitting host and the nodes.
# Shard jobs carry --comment=joulebench-energy, which a node prolog may key on to open RAPL
# to the job (docs/fleet.md); an --sbatch --comment=... overrides it.
# stdout: one line per job, "sweep JOBID PARTITION" then "merge JOBID".
# Exit status: 0 submitted (with --wait: merged and reported), 1 Slurm refused a submission
# (arrays already submitted are cancelled) or the merge job failed, 2 usage or input error
# (the sweep options are checked with `joulebench sweep --plan` before anything is submitted).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

die() { # die STATUS MESSAGE
    echo "submit.sh: $2" >&2
    exit "$1"
}
need() { [ "$2" -ge 2 ] || die 2 "$1 needs a value"; }

shards='' out='' bin=${JOULEBENCH:-$root/build/joulebench} time_limit='' merge_partition=
partitions=() extra=() report_opts=() exclusive=(--exclusive) wait=0 dry=0
while [ $# -gt 0 ]; do
    case "$1" in
    --shards) need "$1" $#; shards=$2; shift 2 ;;
    --out) need "$1" $#; out=$2; shift 2 ;;
    --bin) need "$1" $#; bin=$2; shift 2 ;;
    --partition) need "$1" $#; IFS=, read -r -a partitions <<<"$2"; shift 2 ;;
    --merge-partition) need "$1" $#; merge_partition=$2; shift 2 ;;
    --time) need "$1" $#; time_limit=$2; shift 2 ;;
    --no-exclusive) exclusive=(--oversubscribe); shift ;; # overrides the script's #SBATCH --exclusive
    --sbatch) need "$1" $#; extra+=("$2"); shift 2 ;;
    --report-opt) need "$1" $#; report_opts+=("$2"); shift 2 ;;
    --wait) wait=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) die 2 "unknown option \"$1\" (sweep options go after --; --help for usage)" ;;
    esac
done
sweep=("$@")
[ -n "$shards" ] || die 2 "--shards N is required (array tasks 0-(N-1) per partition)"
[[ $shards =~ ^[1-9][0-9]{0,5}$ ]] || die 2 "--shards: expected a whole number above 0, got \"$shards\""
[ ${#sweep[@]} -gt 0 ] || die 2 "no sweep options after -- (e.g. -- --models tiny --workloads chat --threads 8)"
[ -x "$bin" ] && [ -f "$bin" ] || die 2 "--bin $bin: not an executable file (build joulebench, or give --bin or JOULEBENCH)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

names_opt() { # names_opt ARG OPTION: ARG is OPTION, maybe abbreviated as getopt allows, or OPTION=...
    local n=${1%%=*}
    case "$n" in --?*) [ "${2#"$n"}" != "$2" ] ;; *) return 1 ;; esac
}
threads_given=0
for a in "${sweep[@]}"; do
    for o in --out --shard; do
        names_opt "$a" "$o" && die 2 "sweep option $a: $o is set per shard (use submit.sh's --out DIR)"
    done
    names_opt "$a" --plan && die 2 "sweep option $a: submit.sh plans the sweep itself"
    names_opt "$a" --threads && threads_given=1
done

out=$(realpath -m "${out:-results/fleet-$(date -u +%Y%m%d-%H%M%S)}")
[ -z "$(ls -A "$out/merged" 2>/dev/null)" ] ||
    die 2 "$out/merged already holds merged results: move it away, or choose another --out"
[ ${#partitions[@]} -gt 0 ] || partitions=("")
merge_partition=${merge_partition:-${partitions[0]}}

node_cpus() { # node_cpus PARTITION: the CPUs per node of the partition's nodes, when all agree
    local part=$1 c
    if [ -z "$part" ]; then # the cluster's default partition is marked with a *
        part=$(sinfo -h -o %P | sed -n 's/[*]$//p') || die 2 "sinfo failed: cannot ask Slurm for the CPUs per node; give --threads"
        [ -n "$part" ] || die 2 "the cluster has no default partition: give --partition"
    fi
    c=$(sinfo -h -p "$part" -o %c | sort -u) || die 2 "sinfo failed: cannot ask Slurm for the CPUs per node; give --threads"
    [ -n "$c" ] || die 2 "partition $part has no nodes"
    [[ $c =~ ^[0-9]+$ ]] || die 2 "partition $part's nodes have different CPU counts (${c//$'\n'/ }): give --threads"
    echo "$c"
}

plan_check() { # plan_check PARTITION SWEEP...: the sweep plans at least $shards configurations
    local label=$1 plan n
    shift
    plan=$("$bin" sweep "$@" --shard "0/$shards" --plan) ||
        die 2 "the sweep options are refused (joulebench sweep --plan above)${label:+ for partition $label}"
    n=$(grep -cv '^#' <<<"$plan" || true)
    [ "$n" -ge "$shards" ] ||
        die 2 "--shards $shards for $n configurations${label:+ in partition $label}: every shard needs one (give --shards $n or fewer)"
}

# Every partition's plan is checked before anything is made or submitted.
threads=()
for part in "${partitions[@]}"; do
    t=()
    if [ "$threads_given" -eq 0 ]; then
        cpus=$(node_cpus "$part")
        t=(--threads "$cpus")
        echo "submit.sh: partition ${part:-(default)}: --threads $cpus (its CPUs per node)" >&2
    fi
    plan_check "$part" "${sweep[@]}" "${t[@]}"
    threads+=("${t[*]}")
done
[ "$dry" -eq 1 ] || mkdir -p "$out/logs" || die 2 "--out $out: cannot make the folder"

quote() { # quote ARGS...: one line a shell reads back as ARGS (plain words left as they are)
    local a sep=
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./%:=,+@-]+$ ]]; then printf '%s%s' "$sep" "$a"; else printf '%s%q' "$sep" "$a"; fi
        sep=' '
    done
    echo
}

submitted=()
cancel_submitted() {
    [ ${#submitted[@]} -gt 0 ] && [ "$dry" -eq 0 ] && scancel "${submitted[@]}" 2>/dev/null
    return 0
}
submit() { # submit SBATCH ARGS...: the job id on stdout (--dry-run: the command on stderr)
    if [ "$dry" -eq 1 ]; then
        quote sbatch "$@" >&2
        echo "dry-run-${#submitted[@]}"
        return 0
    fi
    local id
    id=$(sbatch --parsable "$@") || { cancel_submitted; die 1 "sbatch refused the job (its message is above)"; }
    echo "${id%%;*}"
}

dirs=()
for k in "${!partitions[@]}"; do
    part=${partitions[$k]}
    label=${part:-default}
    read -r -a t <<<"${threads[$k]}"
    [ "$dry" -eq 1 ] || mkdir -p "$out/shards/$label"
    for ((i = 0; i < shards; i++)); do
        dirs+=("$out/shards/$label/shard-$i-of-$shards")
    done
    id=$(submit --array="0-$((shards - 1))" "${exclusive[@]}" ${part:+--partition="$part"} \
        ${time_limit:+--time="$time_limit"} --job-name="jb-sweep${part:+-$part}" \
        --output="$out/logs/%x-%A_%a.out" --comment=joulebench-energy "${extra[@]}" \
        "$root/scripts/slurm/sweep.sbatch" --bin "$bin" --out "$out/shards/$label" \
        --shards "$shards" -- "${sweep[@]}" "${t[@]}")
    submitted+=("$id")
    echo "sweep $id $label"
done

merge_script() {
    echo '#!/usr/bin/env bash'
    echo '# Written by scripts/slurm/submit.sh: merges the shard folders, then writes the report.'
    echo '# Run by Slurm once every shard succeeded; run it again by hand after resubmitting one'
    echo '# (it merges into merged.new and only then replaces merged).'
    echo 'set -euo pipefail'
    echo "rm -rf $(quote "$out/merged.new")"
    quote "$bin" merge "$out/merged.new" "${dirs[@]}"
    echo "rm -rf $(quote "$out/merged") && mv $(quote "$out/merged.new") $(quote "$out/merged")"
    quote "$bin" report "$out/merged" "${report_opts[@]}"
}
if [ "$dry" -eq 1 ]; then
    echo "--- $out/merge.sh:" >&2
    merge_script >&2
else
    merge_script >"$out/merge.sh"
    chmod +x "$out/merge.sh"
fi

dep=afterok$(printf ':%s' "${submitted[@]}")
merge_args=(--dependency="$dep" --kill-on-invalid-dep=yes ${merge_partition:+--partition="$merge_partition"}
    --job-name=jb-merge --ntasks=1 --output="$out/logs/%x-%j.out" "${extra[@]}" "$out/merge.sh")
id=$(submit "${merge_args[@]}")
echo "merge $id"
if [ "$wait" -eq 0 ] || [ "$dry" -eq 1 ]; then
    echo "submit.sh: results will be in $out/merged, the report in $out/merged/report/report.md," \
        "Slurm's logs in $out/logs" >&2
    exit 0
fi

# --wait. Not sbatch --wait: its polls grow to 32 s apart, and it exits 0 for a job cancelled
# before it ran (as when a shard failed). Here: polls 1, 2, 4, 8, then 10 s apart; the end state.
job_state() { # job_state ID: the job's state now, from slurmctld, else from accounting; "" if neither knows
    local s
    s=$(scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p' | head -1)
    [ -n "$s" ] || s=$(sacct -n -X -P -j "$1" -o State 2>/dev/null | head -1 | cut -d' ' -f1)
    echo "$s"
}
echo "submit.sh: waiting for the merge job $id (results: $out/merged)" >&2
delay=1 unknown=0
while :; do
    state=$(job_state "$id")
    case "$state" in
    COMPLETED | FAILED | CANCELLED* | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE) break ;;
    "") unknown=$((unknown + 1))
        [ "$unknown" -lt 5 ] || die 1 "lost track of the merge job $id: neither scontrol nor sacct knows it" ;;
    *) unknown=0 ;;
    esac
    sleep "$delay"
    delay=$((delay < 5 ? delay * 2 : 10))
done
[ "$state" = COMPLETED ] ||
    die 1 "the merge job $id ended $state: a shard failed (see $out/logs), or the merge did ($out/logs/jb-merge-$id.out)"
echo "submit.sh: merged into $out/merged; report: $out/merged/report/report.md" >&2
