#!/bin/sh
# t_stdin_args: standard input is one capture. `correlate - -` (and
# `report - -`) is refused up front with a clear message and exit 2,
# before anything is read; `report -o r.html -` reads standard input (a
# redirected file or a pipe) without the old "-: No such file or directory
# (no sha256)" warning, and the report carries the SHA-256 of the bytes read.
set -u
NATLENS=${NATLENS:-build/natlens}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
S=$ROOT/samples/halfopen
T=$(mktemp -d /tmp/t_stdin_args.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for cmd in "correlate - -" "correlate --json - $S/server.pcap -" "report -o $T/r.html - -"; do
    # shellcheck disable=SC2086
    timeout 10 "$NATLENS" $cmd < /dev/null > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc = 2 ] || fail "'$cmd': exit $rc, wanted 2"
    grep -q "standard input ('-') can be read only once" "$T/err" ||
        fail "'$cmd': no clear message: $(cat "$T/err")"
    [ -s "$T/out" ] && fail "'$cmd': wrote to stdout"
done

want=$(sha256sum "$S/server.pcap" | cut -d' ' -f1)
for how in redirect pipe; do
    for fmt in html md json; do
        if [ $how = redirect ]; then
            "$NATLENS" report -o "$T/r.$fmt" - < "$S/server.pcap" > "$T/out" 2> "$T/err"
        else
            cat "$S/server.pcap" | "$NATLENS" report -o "$T/r.$fmt" - > "$T/out" 2> "$T/err"
        fi
        rc=$?
        [ $rc = 0 ] || fail "report $fmt from stdin ($how): exit $rc"
        if grep -qiE 'no such file|no sha256' "$T/err"; then
            fail "report $fmt from stdin ($how): warns: $(cat "$T/err")"
        fi
        grep -q "$want" "$T/r.$fmt" || fail "report $fmt from stdin ($how): no sha256 of the input"
    done
done
# one '-' among files still works
"$NATLENS" correlate --json "$S/client.pcap" - < "$S/server.pcap" > "$T/out" 2> "$T/err" ||
    fail "correlate FILE -: exit $?"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["matches"] else 1)' "$T/out" ||
    fail "correlate FILE -: nothing paired"
[ $fails -eq 0 ] && echo "ok: '-' once; report from stdin with its sha256"
exit $fails
