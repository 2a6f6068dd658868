#!/bin/sh
# t_multifile.sh - one host, several files (issue 12, section 6).
# samples/asym-return holds server-eth0.pcap and server-eth1.pcap, two
# interfaces of the web server. Given as one capture point
# (server-eth0.pcap+server-eth1.pcap) they are merged by time like mergecap:
# correlate sees two capture points (not three hops: no "vanished after"),
# the asymmetric-return finding names both files' interfaces, and every
# frame it cites is the frame in its own file (checked against tcpdump
# reading that file). Also: correlate DIR groups a host's files (by name,
# and by natlens-capture's host context), an all-interface capture stands
# for its host, `flows A B` reads two files instead of taking B as a
# filter, a file whose name holds '+' still opens as one file, a missing
# part is an error naming it, and a compressed file can be part of a point.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 missing"; exit 77; }
command -v tcpdump >/dev/null 2>&1 || { echo "skip: tcpdump missing (frame check)"; exit 77; }
S=$ROOT/samples/asym-return
T=$(mktemp -d /tmp/t_multifile.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 1. correlate client + server-eth0+server-eth1: one capture point
"$NATLENS" correlate "$S/client.pcap" "$S/server-eth0.pcap+$S/server-eth1.pcap" \
    >"$T/c1" 2>"$T/e1"
rc=$?
[ $rc -eq 0 ] || { cat "$T/e1"; fail "correlate with a FILE+FILE point: exit $rc"; }
grep -q '^natlens: 2 captures' "$T/c1" || fail "the merged point is not one capture point"
grep -q 'vanished after' "$T/c1" && fail "the server's interfaces were made successive hops"
grep -q 'share no traffic' "$T/c1" && fail "the two interfaces were paired as the two ends of a path"
grep -q 'server-eth0.pcap+server-eth1.pcap' "$T/c1" || fail "the point is not named by its files"
# the finding names the interface of each file (what the sample's README
# says: SYN in on eth0, SYN-ACK out by eth1, the server's default route)
grep 'asymmetric_return' "$T/c1" | grep -q 'SYN coming in on the interface of server-eth0.pcap.*SYN-ACK leaving by the interface of server-eth1.pcap' ||
    fail "asymmetric_return does not name both interfaces"
# every frame cited in a file of the point is that packet in that file
grep -E '^ +(evidence +)?server-eth[01]\.pcap +#[0-9]+ ' "$T/c1" >"$T/cited"
[ -s "$T/cited" ] || fail "no evidence line cites a frame with its file"
while read -r l; do
    set -- $l
    [ "$1" = evidence ] && shift
    file=$1 fr=${2#\#} what=$4
    pkt=$(tcpdump -nr "$S/$file" 2>/dev/null | sed -n "${fr}p")
    case $what in
    SYN) echo "$pkt" | grep -q 'Flags \[S\]' || fail "$file #$fr is not a SYN: $pkt" ;;
    SYN-ACK) echo "$pkt" | grep -q 'Flags \[S\.\]' || fail "$file #$fr is not a SYN-ACK: $pkt" ;;
    esac
done <"$T/cited"
grep -q '^ \+server-eth1\.pcap \+#3 .*SYN-ACK' "$T/c1" ||
    fail "the SYN-ACK is not cited as server-eth1.pcap #3"

# JSON: evidence says the file and the frame in it; 57 = 40 + 17 packets
"$NATLENS" correlate --json "$S/client.pcap" "$S/server-eth0.pcap+$S/server-eth1.pcap" \
    >"$T/c1.json" 2>/dev/null || fail "correlate --json with a point"
python3 - "$T/c1.json" <<'EOF' || fail "correlate --json of the point"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["captures"]) == 2, len(d["captures"])
assert d["captures"][1]["packets"] == 57, d["captures"][1]["packets"]
ev = [e for f in d["findings"] if f["kind"] == "asymmetric_return" for e in f["evidence"]
      if e.get("file")]
assert ev, "no evidence names its file"
assert {"server-eth0.pcap", "server-eth1.pcap"} <= {e["file"] for e in ev}, ev
assert all(e["frame"] is None or e["frame"] < 100 for e in ev), ev
EOF

# the merge is by time: flows of the point equal flows of the mergecap'd file
if command -v mergecap >/dev/null 2>&1; then
    mergecap -F pcap -w "$T/merged.pcap" "$S/server-eth0.pcap" "$S/server-eth1.pcap"
    "$NATLENS" flows --csv "$T/merged.pcap" >"$T/m.csv" 2>/dev/null
    "$NATLENS" flows --csv "$S/server-eth0.pcap+$S/server-eth1.pcap" >"$T/p.csv" 2>/dev/null
    cmp -s "$T/m.csv" "$T/p.csv" || { diff "$T/m.csv" "$T/p.csv" | head; fail "flows of A+B differ from mergecap's A B"; }
fi

# 2. correlate DIR: the host's files are one point, said on stderr
mkdir "$T/dir"
cp "$S/client.pcap" "$S/server-eth0.pcap" "$S/server-eth1.pcap" "$T/dir/"
"$NATLENS" correlate "$T/dir" >"$T/c2" 2>"$T/e2" || { cat "$T/e2"; fail "correlate DIR exit"; }
grep -q 'one capture point for host server: server-eth0.pcap server-eth1.pcap' "$T/e2" ||
    { cat "$T/e2"; fail "DIR mode did not say it grouped the server's files"; }
grep -q '^natlens: 2 captures' "$T/c2" || fail "DIR mode: the server's files are not one point"
grep -q 'vanished after' "$T/c2" && fail "DIR mode chained the server's interfaces"
# an all-interface capture (server.pcap, -i any) stands for the host
cp "$S/server.pcap" "$T/dir/"
"$NATLENS" correlate "$T/dir" >"$T/c3" 2>"$T/e3" || fail "correlate DIR with server.pcap"
grep -q 'server.pcap is an all-interface capture of host server.*left out server-eth0.pcap server-eth1.pcap' "$T/e3" ||
    { cat "$T/e3"; fail "DIR mode: the all-interface capture did not stand for its host"; }
grep -q '^natlens: 2 captures' "$T/c3" || fail "DIR mode with server.pcap: not 2 points"
# natlens-capture's host context groups files whatever their names
GEN=$ROOT/$BUILD/tests/gen_hostmeta
if [ -x "$GEN" ]; then
    mkdir "$T/hdir"
    printf '{"natlens_hostmeta":1,"hostname":"web1","session":"s7","role":"server"}' >"$T/m.json"
    "$GEN" "$S/server-eth0.pcap" "$T/m.json" "$T/hdir/zz-lan.pcapng" &&
    "$GEN" "$S/server-eth1.pcap" "$T/m.json" "$T/hdir/uplink.pcapng" || fail "gen_hostmeta"
    cp "$S/client.pcap" "$T/hdir/"
    "$NATLENS" correlate "$T/hdir" >"$T/c4" 2>"$T/e4" || fail "correlate DIR (host context)"
    grep -q 'one capture point for host web1, session s7: .*uplink.pcapng.*zz-lan.pcapng\|one capture point for host web1, session s7: .*zz-lan.pcapng.*uplink.pcapng' "$T/e4" ||
        { cat "$T/e4"; fail "DIR mode did not group by the host context"; }
    grep -q '^natlens: 2 captures' "$T/c4" || fail "DIR mode (host context): not 2 points"
else
    echo "note: $GEN not built: host-context grouping not checked"
fi

# 3. flows A B: two files, one table each; a filter still filters
"$NATLENS" flows "$S/server-eth0.pcap" "$S/server-eth1.pcap" >"$T/f1" 2>"$T/ef1"
rc=$?
[ $rc -eq 0 ] || { cat "$T/ef1"; fail "flows A B: exit $rc"; }
grep -q '^server-eth0.pcap: pcap, EN10MB, 40 packets' "$T/f1" || fail "flows A B: no table of A"
grep -q '^server-eth1.pcap: pcap, EN10MB, 17 packets' "$T/f1" || fail "flows A B: no table of B"
"$NATLENS" flows "$S/server-eth0.pcap" tcp port 41003 >"$T/f2" 2>&1 || fail "flows A FILTER"
grep -q '^server-eth0.pcap: pcap, EN10MB, 10 packets, 1 flow' "$T/f2" ||
    { head -2 "$T/f2"; fail "flows A FILTER no longer filters"; }
"$NATLENS" flows "$S/server-eth0.pcap+$S/server-eth1.pcap" >"$T/f3" 2>&1 || fail "flows A+B"
grep -q '^server-eth0.pcap+server-eth1.pcap: pcap, EN10MB, 57 packets' "$T/f3" ||
    { head -2 "$T/f3"; fail "flows A+B is not one merged table"; }
"$NATLENS" flows --json "$S/server-eth0.pcap" "$S/server-eth1.pcap" >/dev/null 2>"$T/ef4"
[ $? -eq 2 ] && grep -q 'text output only' "$T/ef4" || fail "flows --json A B: not refused"

# 4. a file whose name holds '+' opens as the one file it is
cp "$S/server-eth0.pcap" "$T/a+b.pcap"
"$NATLENS" flows "$T/a+b.pcap" >"$T/f5" 2>&1 || { cat "$T/f5"; fail "flows 'a+b.pcap' (a real file)"; }
grep -q '^a+b.pcap: pcap, EN10MB, 40 packets' "$T/f5" || fail "'a+b.pcap' not read as one file"
"$NATLENS" correlate "$S/client.pcap" "$T/a+b.pcap" >"$T/c5" 2>&1 || fail "correlate with 'a+b.pcap'"
# ... and with it as part of a point? no: '+' splits; a missing part is named
"$NATLENS" flows "$S/server-eth0.pcap+$T/nope.pcap" >"$T/f6" 2>&1
[ $? -eq 2 ] || fail "a point with a missing file: exit not 2"
grep -q "file '$T/nope.pcap' does not exist" "$T/f6" || { cat "$T/f6"; fail "the missing part is not named"; }

# 5. a compressed file joins a point (read through the stream layer)
if command -v gzip >/dev/null 2>&1; then
    gzip -c "$S/server-eth1.pcap" >"$T/eth1.pcap.gz"
    "$NATLENS" flows "$S/server-eth0.pcap+$T/eth1.pcap.gz" >"$T/f7" 2>&1 || fail "flows A+B.gz"
    grep -q '57 packets' "$T/f7" || { head -2 "$T/f7"; fail "A+B.gz not merged whole"; }
fi

# 6. report and the records of a point: the report cites the file too
"$NATLENS" report -o "$T/r.md" "$S/client.pcap" "$S/server-eth0.pcap+$S/server-eth1.pcap" \
    >/dev/null 2>"$T/er" || { cat "$T/er"; fail "report with a point"; }
grep -q '| server-eth1.pcap | #3 |' "$T/r.md" || fail "report does not cite server-eth1.pcap #3"
grep -q 'sha256' "$T/er" && fail "report warns about a point's sha256"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: multifile"
