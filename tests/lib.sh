# lib.sh — what the shell tests share. A test sources it and calls jb_test_init with its own
# arguments (PATH/TO/joulebench SOURCE_DIR): jb (the binary, absolute) and src are set, the
# model and workload folders exported, and the test works in a temporary folder ($tmp, its
# current folder) removed on exit with any job it left running. ok and fail report checks;
# jb_test_end NAME prints the tally and is the test's exit status.

jb_test_init() {
    jb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    src=$(cd "$2" && pwd)
    export JOULEBENCH_MODELS_DIR="$src/models" JOULEBENCH_WORKLOADS_DIR="$src/workloads"
    fails=0
    tmp=$(mktemp -d)
    trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
    cd "$tmp" || exit 1
}

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

rows() { # rows FILE: its data rows, read by a real CSV parser (quoted line breaks included)
    python3 -c 'import csv, sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' "$1"
}

col() { # col FILE NAME: the values of one column, read by a real CSV parser
    python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print(r[sys.argv[2]])' "$1" "$2"
}

jb_test_end() { # jb_test_end NAME
    if [ "$fails" -eq 0 ]; then
        echo "$1: all passed"
    else
        echo "$1: $fails failure(s)"
    fi
    [ "$fails" -eq 0 ]
}
