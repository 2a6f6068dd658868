#!/bin/sh
# natlens test runner: unit binaries, then every tests/t_*.sh.
# A test passes with exit 0, is skipped with exit 77 (it prints why),
# fails otherwise. Ends with "N passed, N failed, N skipped".
# TESTS="t_foo t_bar" runs only those scripts.
BUILD=${BUILD:-build}
export BUILD
NATLENS=${NATLENS:-$PWD/$BUILD/natlens}
export NATLENS
export NATLENS_CAPTURE=${NATLENS_CAPTURE:-$PWD/$BUILD/natlens-capture}
export CORPUS=${CORPUS:-$(cd "$(dirname "$0")" && pwd)/corpus}
pass=0; fail=0; skip=0; failed=""
logdir=$(mktemp -d /tmp/natlens-test.XXXXXX)

run_one() { # name cmd...
    name=$1; shift
    start=$(date +%s)
    "$@" >"$logdir/$name.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS  $name (${secs}s)"
    elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "SKIP  $name: $(tail -n 1 "$logdir/$name.log")"
    else fail=$((fail+1)); failed="$failed $name"; echo "FAIL  $name (exit $rc)"; sed 's/^/      /' "$logdir/$name.log" | tail -n 40
    fi
}

if [ -z "$TESTS" ]; then
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$(basename "$t")" "$t"
    done
fi
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh)
    if [ -n "$TESTS" ]; then case " $TESTS " in *" $n "*) ;; *) continue ;; esac; fi
    run_one "$n" sh "$t"
done
echo "logs: $logdir"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
