#!/bin/sh
# t_drops: a capture whose own statistics record dropped packets (a pcapng
# Interface Statistics Block, as natlens-capture and dumpcap write it) is
# not analysed silently. samples/halfopen/server.pcap (a SYN-ACK never
# acknowledged) rewritten as natlens-capture's pcapng saying 744 of 1000
# packets were dropped: every presenter warns (flows text and JSON,
# correlate text and JSON, report HTML/Markdown/JSON, the viewer), and the
# findings that rest on a missing packet say the capture dropped packets.
# Read from a regular file, a gzip file and a FIFO (the counters come from
# the same single read). The same file with 0 drops gives no such words.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
GEN=$ROOT/$BUILD/tests/gen_hostmeta
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
[ -x "$GEN" ] || { echo "skip: $GEN not built (make units)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
S=$ROOT/samples/halfopen
T=$(mktemp -d /tmp/t_drops.XXXXXX)
SOCK=nldrops-$$
trap 'tmux -L "$SOCK" kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '%s' '{"natlens_hostmeta":1,"hostname":"srv","role":"server"}' > "$T/m.json"
"$GEN" "$S/server.pcap" "$T/m.json" "$T/server.pcapng" --drops 1000 744 || { echo "FAIL: gen"; exit 1; }
"$GEN" "$S/server.pcap" "$T/m.json" "$T/clean.pcapng" --drops 1000 0 || { echo "FAIL: gen"; exit 1; }
WARN='dropped 744 of 1000 packets'
NOTE='dropped 744 of 1000 packets while capturing'

# flows: text and JSON, from a file, gzip, a FIFO
"$NATLENS" flows "$T/server.pcapng" > "$T/o" 2> "$T/e"
grep -q "$WARN" "$T/e" || fail "flows: no warning on stderr"
grep -q 'handshake_broken' "$T/o" || fail "flows: the handshake_broken finding is missing"
tr -s ' \n' ' ' < "$T/o" | grep -q "$NOTE" || fail "flows: the finding does not say the capture dropped packets"
check_json() { # name file
    python3 - "$2" <<'EOF' || fail "$1: JSON without the drop counts or the finding's note"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["captures"][-1]
assert c.get("capture_dropped") == 744 and c.get("capture_received") == 1000, c
assert any("dropped 744 of 1000" in n for n in c.get("notes", [])), c.get("notes")
hb = [f for f in d["findings"] if f["kind"] in ("handshake_broken", "never_arrived")]
assert hb and all("dropped 744 of 1000 packets while capturing" in f["summary"] for f in hb), hb
EOF
}
"$NATLENS" flows --json "$T/server.pcapng" > "$T/j" 2>/dev/null
check_json "flows --json" "$T/j"
if command -v gzip >/dev/null 2>&1; then
    gzip -c "$T/server.pcapng" > "$T/server.gz"
    "$NATLENS" flows --json "$T/server.gz" > "$T/j" 2>/dev/null
    check_json "flows --json (gzip)" "$T/j"
fi
rm -f "$T/fifo"; mkfifo "$T/fifo"
timeout 20 sh -c 'cat "$1" > "$2"' x "$T/server.pcapng" "$T/fifo" &
timeout 15 "$NATLENS" flows --json "$T/fifo" > "$T/j" 2>/dev/null
check_json "flows --json (FIFO)" "$T/j"
wait

# correlate: text and JSON
"$NATLENS" correlate "$S/client.pcap" "$T/server.pcapng" > "$T/o" 2> "$T/e"
grep -q "$WARN" "$T/e" || fail "correlate: no warning on stderr"
"$NATLENS" correlate --json "$S/client.pcap" "$T/server.pcapng" > "$T/j" 2>/dev/null
check_json "correlate --json" "$T/j"

# reports
for fmt in html md json; do
    "$NATLENS" report -o "$T/r.$fmt" "$S/client.pcap" "$T/server.pcapng" 2>/dev/null
    grep -q "$WARN" "$T/r.$fmt" || fail "report $fmt: no drop warning"
    grep -q "$NOTE" "$T/r.$fmt" || fail "report $fmt: no note in the findings"
done

# no drops, no words
"$NATLENS" flows --json "$T/clean.pcapng" > "$T/j" 2> "$T/e"
grep -q 'dropped [0-9]' "$T/j" "$T/e" && fail "a capture without drops is said to have dropped packets"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"][0]; sys.exit(0 if c.get("capture_dropped")==0 else 1)' "$T/j" ||
    fail "clean capture: capture_dropped is not 0"

# the viewer
if command -v tmux >/dev/null 2>&1; then
    tmux -L "$SOCK" -f /dev/null new-session -d -s v -x 160 -y 40 \
        "env TERM=screen LANG=C.UTF-8 LC_ALL=C.UTF-8 $NATLENS tui '$T/server.pcapng'; sleep 30"
    n=300
    while [ $n -gt 0 ]; do
        tmux -L "$SOCK" capture-pane -p -t v > "$T/screen" 2>/dev/null
        grep -q 'dropped 744 packets' "$T/screen" && break
        sleep 0.1; n=$((n - 1))
    done
    [ $n -gt 0 ] || fail "tui: no drop warning on screen"
    tmux -L "$SOCK" send-keys -t v q
fi
[ $fails -eq 0 ] && echo "ok: recorded drops are said in every presenter and in the findings"
exit $fails
