#!/bin/sh
# t_valgrind.sh - one `natlens flows --json` run on a sample, and one on a
# capture cut in the middle of a record (the damage path), the same for a
# capture carrying conntrack events, under valgrind: any memory error or a
# definite/indirect leak fails.
cd "$(dirname "$0")/.." || exit 2
CORPUS=${CORPUS:-$PWD/tests/corpus}
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind not installed (apt-get install valgrind)"
    exit 77
fi
if [ ! -x "$NATLENS" ]; then
    echo "natlens binary not built ($NATLENS)"
    exit 77
fi
sample=$(find samples -type f \( -name '*.pcap' -o -name '*.pcapng' \) -size -1024k 2>/dev/null | sort | head -n 1)
[ -n "$sample" ] || sample=$CORPUS/zeek/wikipedia.pcap
if [ ! -f "$sample" ]; then
    echo "no sample capture (samples/ or $CORPUS)"
    exit 77
fi
tmp=$(mktemp -d /tmp/natlens-vg.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
size=$(wc -c < "$sample")
head -c $((size * 2 / 3 + 5)) "$sample" > "$tmp/cut.pcap"

# a router capture with conntrack event blocks (natlens-capture --conntrack),
# whole and cut: the record flows made while reading packets
ct=samples/records/capture/router-conntrack.pcapng
cts=""
if [ -f "$ct" ]; then
    size=$(wc -c < "$ct")
    head -c $((size * 2 / 3 + 7)) "$ct" > "$tmp/ct-cut.pcapng"
    cts="$ct $tmp/ct-cut.pcapng"
fi
fails=0
for f in "$sample" "$tmp/cut.pcap" $cts; do
    valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect "$NATLENS" flows --json "$f" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ $rc -eq 3 ] || grep -q '^==[0-9]*==' "$tmp/err"; then
        echo "FAIL valgrind reports on $f (exit $rc):"
        grep '^==[0-9]*==' "$tmp/err" | head -n 40
        fails=$((fails + 1))
    elif [ $rc -ne 0 ]; then
        echo "FAIL natlens exit $rc on $f:"; head -n 5 "$tmp/err"
        fails=$((fails + 1))
    else
        echo "ok   $f"
    fi
done
[ $fails -eq 0 ]
