#!/usr/bin/env bash
# test_shard.sh — `joulebench sweep --shard I/N` and `--plan`: the shards of a plan are a
# partition (for N = 1..7 every configuration is in exactly one shard, sizes differ by at most
# one, skipped configurations keep their index), two shards of a real sweep write disjoint
# configurations whose union is the plan, into folders named after the whole sweep's; bad
# --shard values and --shard on `run` exit 2 creating nothing; bad input in another shard's
# configuration fails every shard; --plan prints the plan and creates nothing; --shard without
# --threads says why on stderr.
# Usage: test_shard.sh PATH/TO/joulebench SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"
jb_test_init "$@"

empty_here() { [ -z "$(ls -A "${1:-.}")" ]; }
# ids FILE COLUMN: the distinct values of a CSV column, sorted
ids() {
    python3 -c 'import csv, sys
print("\n".join(sorted({r[sys.argv[2]] for r in csv.DictReader(open(sys.argv[1], newline=""))})))' "$1" "$2"
}
# meta_ids FOLDER: the config_ids meta.json lists, sorted
meta_ids() {
    python3 -c 'import json, sys
print("\n".join(sorted(c["config_id"] for c in json.load(open(sys.argv[1] + "/meta.json"))["configurations"])))' "$1"
}

# --- the shards of a plan are a partition: 3 dtypes x 3 workloads x 2 thread counts x a model
# that fits and one that does not (skipped, kept in the plan with its index and shard)
mkdir plans && cd plans || exit 1
plan=(sweep --models tiny,SmolLM2-360M --workloads chat,code,tg128 --dtypes f32,bf16,q8_0
    --threads 1,2 --requests 1)
export JOULEBENCH_MEM_LIMIT=300M
if "$jb" "${plan[@]}" --plan >whole.tsv 2>whole.err; then
    total=$(($(wc -l <whole.tsv) - 1))
    head -1 whole.tsv | grep -q $'^#index\tshard\tconfig_id\tmodel\tdtype\tworkload\tthreads\tbatch\tlayers\tstatus$' \
        && ok "--plan: a header line naming the columns" || fail "--plan header: $(head -1 whole.tsv)"
    [ "$total" -eq 36 ] && ok "--plan: 36 configurations" || fail "--plan lines: $total"
    awk -F'\t' 'NR > 1 && (NF != 10 || $1 != NR - 2 || $2 != 0) { bad = 1 } END { exit bad }' whole.tsv \
        && ok "--plan: 10 fields a line, indices 0.., shard 0 without --shard" || fail "--plan lines: $(sed -n 2,3p whole.tsv)"
    skips=$(grep -c $'\tskip: SmolLM2-360M in ' whole.tsv)
    [ "$skips" -eq 18 ] && [ "$(grep -c $'\trun$' whole.tsv)" -eq 18 ] \
        && ok "--plan: 18 to run, 18 skipped with the reason" || fail "--plan statuses: $(cut -f10 whole.tsv | sort | uniq -c)"
    [ ! -s whole.err ] && ok "--plan with --threads: stderr quiet" || fail "--plan stderr: $(cat whole.err)"
    for n in 1 2 3 4 5 6 7; do
        : >mine.all
        sizes=""
        good=1
        for ((i = 0; i < n; i++)); do
            if ! "$jb" "${plan[@]}" --plan --shard "$i/$n" >"s$i.tsv" 2>"s$i.err"; then
                fail "--plan --shard $i/$n: $(cat "s$i.err")"
                good=0
                continue
            fi
            # the same plan on every shard: index, config_id and the rest but shard and status
            cmp -s <(cut -f1,3-9 whole.tsv) <(cut -f1,3-9 "s$i.tsv") || { fail "shard $i/$n plans differently"; good=0; }
            awk -F'\t' -v n="$n" -v i="$i" 'NR > 1 && ($2 != $1 % n || (($10 == "other shard") != ($1 % n != i))) { bad = 1 }
                END { exit bad }' "s$i.tsv" || { fail "shard $i/$n: shard column or status wrong"; good=0; }
            # a skipped configuration of this shard stays a skip here, with its reason
            awk -F'\t' -v n="$n" -v i="$i" 'NR > 1 && $1 % n == i { print $1 "\t" $10 }' "s$i.tsv" >mine
            awk -F'\t' -v n="$n" -v i="$i" 'NR > 1 && $1 % n == i { print $1 "\t" $10 }' whole.tsv | cmp -s - mine \
                || { fail "shard $i/$n: its configurations' statuses differ from the whole plan's"; good=0; }
            cut -f1 mine >>mine.all
            sizes="$sizes $(wc -l <mine)"
        done
        # exactly once each, and shard sizes within one of each other
        [ "$(sort -n mine.all | tr '\n' ' ')" = "$(seq 0 $((total - 1)) | tr '\n' ' ')" ] \
            || { fail "N=$n: shards are not a partition: $(sort -n mine.all | uniq -c | awk '$1 != 1' | head -3)"; good=0; }
        read -r lo hi < <(echo $sizes | tr ' ' '\n' | sort -n | sed -n '1p;$p' | tr '\n' ' ')
        [ $((hi - lo)) -le 1 ] || { fail "N=$n: shard sizes$sizes"; good=0; }
        [ "$good" -eq 1 ] && ok "N=$n: the shards cover the plan exactly once (sizes$sizes)"
    done
    empty_here . || [ "$(ls -A | grep -cvE '\.(tsv|err|all)$|^mine$')" -eq 0 ] \
        && ok "--plan created nothing" || fail "--plan created: $(ls -A | grep -vE '\.(tsv|err|all)$|^mine$')"
else
    fail "--plan failed: $(cat whole.err)"
fi
unset JOULEBENCH_MEM_LIMIT
cd "$tmp" || exit 1

# --- --plan creates no folder, --out or not; a run's plan is one line; it exits 0 for a skip
mkdir noout && cd noout || exit 1
"$jb" sweep --models tiny --workloads chat,code --threads 1 --plan --shard 1/2 >/dev/null 2>err \
    && "$jb" sweep --models tiny --workloads chat --threads 1 --plan --out somewhere >/dev/null 2>>err \
    && "$jb" run --model tiny --workload chat --threads 1 --plan >run.tsv 2>>err
rc=$?
mv run.tsv err ..
[ "$rc" -eq 0 ] && empty_here . && ok "--plan creates no folder (with --out or without)" \
    || fail "--plan: exit $rc, left: $(ls -A) $(cat ../err)"
cd "$tmp" || exit 1
[ "$(wc -l <run.tsv)" -eq 2 ] && grep -q $'^0\t0\t[0-9a-f]\\{16\\}\ttiny\tf32\tchat\t1\t1\t4\trun$' run.tsv \
    && ok "run --plan: one configuration" || fail "run --plan: $(cat run.tsv)"
JOULEBENCH_MEM_LIMIT=300M "$jb" run --model SmolLM2-360M --workload chat --threads 1 --plan >big.tsv 2>big.err
rc=$?
[ "$rc" -eq 0 ] && grep -q $'\tskip: SmolLM2-360M in f32 needs' big.tsv \
    && ok "run --plan of what does not fit: exit 0, the skip and its reason" || fail "run --plan skip: exit $rc $(cat big.tsv big.err)"

# --- two shards of a real sweep: disjoint, their union the plan, in the whole sweep's folder
mkdir real && cd real || exit 1
sweep=(sweep --models tiny --workloads chat,code --dtypes f32,q8_0 --requests 1 --reps 1
    --warmup 0 --idle-s 0 --threads 1)
"$jb" "${sweep[@]}" --plan | awk -F'\t' 'NR > 1 { print $3 }' | sort >plan.ids
if "$jb" "${sweep[@]}" --shard 0/2 >s0.out 2>s0.err && "$jb" "${sweep[@]}" --shard 1/2 >s1.out 2>s1.err; then
    d0=$(ls -d results/sweep-*-shard-0-of-2 2>/dev/null)
    d1=$(ls -d results/sweep-*-shard-1-of-2 2>/dev/null)
    if [ -n "$d0" ] && [ -n "$d1" ]; then
        ids "$d0/runs.csv" config_id >s0.ids
        ids "$d1/runs.csv" config_id >s1.ids
        [ "$(wc -l <s0.ids)" -eq 2 ] && [ "$(wc -l <s1.ids)" -eq 2 ] && [ -z "$(comm -12 s0.ids s1.ids)" ] \
            && ok "shards 0/2 and 1/2 ran 2 configurations each, none twice" || fail "shard ids: $(cat s0.ids s1.ids)"
        sort s0.ids s1.ids | cmp -s - plan.ids && ok "their union is the plan" \
            || fail "union $(sort s0.ids s1.ids | tr '\n' ' ') vs plan $(tr '\n' ' ' <plan.ids)"
        meta_ids "$d0" | cmp -s - s0.ids && meta_ids "$d1" | cmp -s - s1.ids \
            && ok "each shard's meta.json lists only its configurations" || fail "meta.json: $(meta_ids "$d0")"
        grep -q '"--shard", "0/2"' "$d0/meta.json" && ok "meta.json's command names the shard" || fail "meta.json command"
        grep -q "shard 0/2: 2 of the plan's 4 configurations" s0.err && ok "the shard says what it runs" \
            || fail "shard stderr: $(cat s0.err)"
        "$jb" "${sweep[@]}" --shard 1/2 >again.out 2>&1 && grep -q "0 repetitions recorded now" again.out \
            && ok "a finished shard re-run adds nothing" || fail "shard re-run: $(cat again.out)"
        "$jb" "${sweep[@]}" >whole.out 2>&1
        whole=$(ls -d results/sweep-* | grep -v -- -shard-)
        [ "$d0" = "$whole-shard-0-of-2" ] && [ "$d1" = "$whole-shard-1-of-2" ] \
            && ok "shard folders are the whole sweep's with -shard-I-of-N" || fail "folders: $d0 $d1 vs $whole"
        ids "$whole/runs.csv" config_id | cmp -s - plan.ids && ok "the unsharded sweep runs the same configurations" \
            || fail "whole sweep ids differ"
    else
        fail "shard folders: $(ls results)"
    fi
else
    fail "shard runs failed: $(cat s0.err s1.err)"
fi
"$jb" "${sweep[@]}" --shard 2/3 --out three >three.out 2>three.err && [ -f three/runs.csv ] \
    && [ "$(($(wc -l <three/runs.csv) - 1))" -eq 1 ] && ok "--out overrides a shard's folder (shard 2/3: 1 configuration)" \
    || fail "--out with --shard: $(cat three.err)"
cd "$tmp" || exit 1

# --- a shard with nothing to run creates nothing; --shard without --threads says why
mkdir none && cd none || exit 1
"$jb" sweep --models tiny --workloads chat,code --requests 1 --reps 1 --warmup 0 --idle-s 0 \
    --threads 1 --shard 5/8 >none.out 2>none.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "none of the plan's 2 configurations" none.err && [ ! -e results ] \
    && ok "an empty shard exits 0 and creates nothing" || fail "empty shard: exit $rc $(cat none.err) $(ls)"
"$jb" sweep --models tiny --workloads chat --shard 0/2 --plan >/dev/null 2>note.err
grep -q "note: --shard without --threads" note.err && ok "--shard without --threads: a note on stderr" \
    || fail "no note: $(cat note.err)"
"$jb" sweep --models tiny --workloads chat --plan >/dev/null 2>nonote.err
[ ! -s nonote.err ] && ok "no note without --shard" || fail "note without --shard: $(cat nonote.err)"
cd "$tmp" || exit 1

# --- bad values: exit 2, one line naming --shard, nothing created
mkdir bad && cd bad || exit 1
for v in "" 2/2 5/3 -1/2 0/0 1/4097 a/2 0/2x " 0/2" "0/+2" 1 "1/" "/2" "0//2" 99999999999999999999/2; do
    "$jb" sweep --models tiny --workloads chat --threads 1 --shard "$v" --out o >o.out 2>o.err
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "option --shard" o.err && [ "$(wc -l <o.err)" -eq 1 ] && [ ! -e o ]; then
        ok "--shard \"$v\": exit 2, one line"
    else
        fail "--shard \"$v\": exit $rc: $(cat o.err)"
    fi
done
for v in 0/1 0/4096 4095/4096; do
    "$jb" sweep --models tiny --workloads chat --threads 1 --shard "$v" --plan >/dev/null 2>o.err \
        && ok "--shard $v accepted" || fail "--shard $v: $(cat o.err)"
done
"$jb" run --model tiny --workload chat --shard 0/1 --out o >o.out 2>o.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "option --shard: \`joulebench run\` is one configuration" o.err && [ ! -e o ] \
    && ok "run refuses --shard: exit 2" || fail "run --shard: exit $rc $(cat o.err)"
# bad input in another shard's configuration fails this shard too, before anything is created
"$jb" sweep --models tiny --workloads chat,no-such-workload --threads 1 --shard 0/2 --out o >o.out 2>o.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "no-such-workload" o.err && [ ! -e o ] \
    && ok "bad input in shard 1's configuration fails shard 0 (exit 2)" || fail "shard 0 with bad input: exit $rc $(cat o.err)"
"$jb" sweep --models tiny --workloads chat,no-such-workload --threads 1 --shard 0/2 --plan >o.out 2>o.err
rc=$?
[ "$rc" -eq 2 ] && [ ! -s o.out ] && ok "--plan of bad input: exit 2, no plan" || fail "--plan bad input: exit $rc"
empty_here . || [ "$(ls -A | tr '\n' ' ')" = "o.err o.out " ] && ok "nothing created for bad --shard" || fail "created: $(ls -A)"
cd "$tmp" || exit 1

jb_test_end test_shard
