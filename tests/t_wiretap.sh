#!/bin/sh
# t_wiretap: pcapng files whose interfaces have several link types or snap
# lengths (libpcap 1.10 stops at the first that differs), or no interface
# block at all, are read whole (Wireshark's wiretap, analyzer/
# source_wiretap.c): natlens's packets equal tshark's packet records, and
# for every packet natlens kept the frame number, the timestamp (ns) and
# the pcapng interface id equal tshark's. No "stopped at byte offset"
# warning. From a pipe such a file cannot be read again: the warning says
# so. Files: hadrielk/pcapng-test-generator (MIT) and Zeek's
# multi-interface trace (BSD), copied under tests/corpus/.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
DUMP=$ROOT/$BUILD/tests/dump_records
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
[ -x "$DUMP" ] || { echo "skip: $DUMP not built (make units)"; exit 77; }
command -v tshark >/dev/null 2>&1 || { echo "skip: tshark not installed (the oracle)"; exit 77; }
C=$ROOT/tests/corpus
files=""
for f in pcapng/hadrielk/output_le/basic/test002.pcapng pcapng/hadrielk/output_le/basic/test004.pcapng \
         pcapng/hadrielk/output_le/basic/test005.pcapng pcapng/hadrielk/output_le/basic/test006.pcapng \
         pcapng/hadrielk/output_le/basic/test008.pcapng pcapng/hadrielk/output_le/basic/test017.pcapng \
         pcapng/hadrielk/output_le/advanced/test100.pcapng pcapng/hadrielk/output_le/advanced/test101.pcapng \
         pcapng/hadrielk/output_le/advanced/test102.pcapng pcapng/hadrielk/output_le/difficult/test202.pcapng \
         pcapng/hadrielk/output_be/basic/test006.pcapng pcapng/hadrielk/output_be/advanced/test102.pcapng \
         zeek/pcapng-multi-interface.pcapng; do
    [ -f "$C/$f" ] && files="$files $f"
done
[ -n "$files" ] || { echo "skip: tests/corpus has none of the multi-interface pcapng files"; exit 77; }
T=$(mktemp -d /tmp/t_wiretap.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for f in $files; do
    "$NATLENS" flows "$C/$f" > "$T/out" 2> "$T/err"
    rc=$?
    [ $rc = 0 ] || { fail "$f: exit $rc: $(head -c 300 "$T/err")"; continue; }
    grep -q 'stopped at byte offset' "$T/err" && fail "$f: natlens still stops: $(cat "$T/err")"
    "$DUMP" "$C/$f" > "$T/nl" 2>&1 || { fail "$f: dump_records failed"; continue; }
    # tshark: one line per record; packet records have an interface id
    tshark -r "$C/$f" -T fields -e frame.number -e frame.time_epoch -e frame.interface_id \
        > "$T/ts" 2>/dev/null
    python3 - "$f" "$T/nl" "$T/ts" <<'EOF' || fail "$f: differs from tshark"
import sys
from decimal import Decimal
name, nl, ts = sys.argv[1], sys.argv[2], sys.argv[3]
want = {}
for line in open(ts):
    p = line.rstrip("\n").split("\t")
    if len(p) < 3 or p[2] == "":
        continue                      # not a packet (custom block, ...)
    t = int(Decimal(p[1]) * 1000000000) if p[1] else 0
    want[int(p[0])] = (t, int(p[2]))
got, packets = {}, None
for line in open(nl):
    p = line.split()
    if p[0] == "packets":
        packets = int(p[1])
    else:
        got[int(p[0])] = (int(p[1]), int(p[2]))
bad = 0
if packets != len(want):
    print(f"{name}: natlens read {packets} packets, tshark {len(want)}")
    bad += 1
for fr, (t, ifx) in sorted(got.items()):
    if fr not in want:
        print(f"{name}: natlens frame #{fr} is no packet for tshark")
        bad += 1
    elif t != want[fr][0] or (ifx >= 0 and ifx != want[fr][1]):
        print(f"{name}: frame #{fr}: natlens ts {t} if {ifx}, tshark ts {want[fr][0]} if {want[fr][1]}")
        bad += 1
sys.exit(1 if bad else 0)
EOF
done
# the interface ids are natlens's own for the files wiretap reads
"$DUMP" "$C/pcapng/hadrielk/output_le/advanced/test102.pcapng" 2>/dev/null | grep -q '^7 .* 1$' ||
    fail "test102: frame #7 not on interface 1"

# from a pipe: cannot be read again, says so
f=pcapng/hadrielk/output_le/basic/test006.pcapng
if [ -f "$C/$f" ]; then
    cat "$C/$f" | "$NATLENS" flows - > "$T/out" 2> "$T/err"
    grep -q 'regular file' "$T/err" || fail "$f from a pipe: no warning that it needs a regular file"
fi
[ $fails -eq 0 ] && echo "ok: $(echo $files | wc -w) pcapng files read as tshark reads them"
exit $fails
