#!/bin/sh
# t_names_escaped: nothing raw from a file name or a file's host context
# reaches the terminal. File names carrying an OSC title sequence, SGR, BEL,
# DEL, a C1 CSI (U+009B and a raw 0x9b byte) and a bidi override (U+202E)
# go through: flows (text, a cut copy's warning), correlate FILE FILE and
# correlate DIR (names found in the directory), report (stderr), error
# messages (missing file, not a capture), natlens-capture meta (stored JSON
# with DEL, C1 and bidi characters; --get), and natlens-capture's echo of a
# bad interface name and output path. Every byte on stdout and stderr must
# be printable UTF-8 without control or bidi characters (tab, newline ok).
set -u
NATLENS=${NATLENS:-build/natlens}
NATLENS_CAPTURE=${NATLENS_CAPTURE:-build/natlens-capture}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
case $NATLENS_CAPTURE in /*) ;; *) NATLENS_CAPTURE=$ROOT/$NATLENS_CAPTURE ;; esac
GEN=$ROOT/$BUILD/tests/gen_hostmeta
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
S=$ROOT/samples/snat-masq
T=$(mktemp -d /tmp/t_names_escaped.XXXXXX)
NS=nlnames$$
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat > "$T/safe.py" <<'EOF'
import sys, unicodedata
UNSAFE = {0x61c, 0x200e, 0x200f, 0x2028, 0x2029} | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))
bad = 0
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"{path}: not UTF-8 at byte {e.start}: {data[max(0, e.start - 20):e.start + 4]!r}")
        bad += 1
        continue
    for i, ch in enumerate(text):
        o = ord(ch)
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) == "Cc" or o in UNSAFE:
            print(f"{path}: raw U+{o:04X} near {text[max(0, i - 20):i]!r}")
            bad += 1
            break
sys.exit(1 if bad else 0)
EOF
# check NAME FILE...
check() {
    name=$1; shift
    python3 "$T/safe.py" "$@" > "$T/why" || { fail "$name: raw bytes on the terminal"; sed 's/^/    /' "$T/why"; }
}

EV="evil$(printf '\033]0;pwned\007\033[31m\177x\302\233y\233\342\200\256')gpj"
mkdir -p "$T/dir"
cp "$S/client.pcap" "$T/dir/client-$EV.pcap"
cp "$S/server.pcap" "$T/dir/server-$EV.pcap"
A="$T/dir/client-$EV.pcap"
B="$T/dir/server-$EV.pcap"
head -c 3000 "$S/client.pcap" > "$T/cut-$EV.pcap"
echo "not a capture" > "$T/text-$EV.pcap"

"$NATLENS" flows "$A" > "$T/o1" 2> "$T/e1"
grep -q 'client-evil' "$T/o1" || fail "flows: the file name is not shown at all"
check "flows text" "$T/o1" "$T/e1"
"$NATLENS" flows "$T/cut-$EV.pcap" > "$T/o2" 2> "$T/e2"
grep -q 'warning' "$T/e2" || fail "flows on a cut file: no warning"
check "flows cut file" "$T/o2" "$T/e2"
"$NATLENS" flows "$T/missing-$EV.pcap" > "$T/o3" 2> "$T/e3"
[ $? -eq 2 ] || fail "flows on a missing file: exit status not 2"
grep -q 'missing-evil' "$T/e3" || fail "flows on a missing file: the message does not name it"
check "flows missing file" "$T/o3" "$T/e3"
"$NATLENS" flows "$T/text-$EV.pcap" > "$T/o4" 2> "$T/e4"
check "flows not a capture" "$T/o4" "$T/e4"
"$NATLENS" correlate "$A" "$B" > "$T/o5" 2> "$T/e5"
check "correlate FILE FILE" "$T/o5" "$T/e5"
"$NATLENS" correlate "$T/dir" > "$T/o6" 2> "$T/e6"
grep -q 'paired' "$T/o6" || fail "correlate DIR did not correlate the two files"
check "correlate DIR" "$T/o6" "$T/e6"
cp "$T/text-$EV.pcap" "$T/dir/"
"$NATLENS" correlate "$T/dir" > "$T/o7" 2> "$T/e7"
check "correlate DIR with a bad file" "$T/o7" "$T/e7"
"$NATLENS" report -o "$T/r.md" "$A" "$T/cut-$EV.pcap" > "$T/o8" 2> "$T/e8"
check "report" "$T/o8" "$T/e8"
check "report (Markdown)" "$T/r.md"
"$NATLENS" report -o "$T/r.html" "$A" "$B" > "$T/o9" 2> "$T/e9"
check "report (HTML)" "$T/r.html"

# natlens-capture meta: stored JSON with characters JSON allows raw
if [ -x "$GEN" ] && [ -x "$NATLENS_CAPTURE" ]; then
    printf '{"natlens_hostmeta":1,"hostname":"h\177\302\233\342\200\256x","role":"r\302\2332J",\n "ifaces":[{"index":2,"name":"e\342\200\256th0"}]}\n' > "$T/m.json"
    "$GEN" "$S/server.pcap" "$T/m.json" "$T/m-$EV.pcapng" || fail "gen_hostmeta"
    "$NATLENS_CAPTURE" meta "$T/m-$EV.pcapng" > "$T/o10" 2> "$T/e10"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["hostname"] == "h\x7f\x9b\u202ex", d["hostname"]' "$T/o10" ||
        fail "natlens-capture meta: not the same JSON document"
    check "natlens-capture meta" "$T/o10" "$T/e10"
    "$NATLENS_CAPTURE" meta "$T/m-$EV.pcapng" --get hostname > "$T/o11" 2> "$T/e11"
    check "natlens-capture meta --get" "$T/o11" "$T/e11"
    "$NATLENS_CAPTURE" meta "$T/m-$EV.pcapng" --ifname 2 > "$T/o12" 2> "$T/e12"
    check "natlens-capture meta --ifname" "$T/o12" "$T/e12"
    "$NATLENS_CAPTURE" meta "$T/missing-$EV.pcapng" > "$T/o13" 2> "$T/e13"
    check "natlens-capture meta (missing file)" "$T/o13" "$T/e13"
    # interface name and output path echoed in errors (inside a namespace
    # of our own: nothing is captured or sent)
    if [ "$(id -u)" = 0 ] && ip netns add "$NS" 2>/dev/null; then
        timeout 10 ip netns exec "$NS" "$NATLENS_CAPTURE" -i "$EV" -w "$T/x.pcapng" > "$T/o14" 2> "$T/e14"
        [ $? -eq 2 ] || fail "natlens-capture with a bad interface: exit status not 2"
        check "natlens-capture -i BAD" "$T/o14" "$T/e14"
        ip -n "$NS" link set lo up
        timeout 10 ip netns exec "$NS" "$NATLENS_CAPTURE" -q -i lo -w "$T/nodir/$EV.pcapng" > "$T/o15" 2> "$T/e15"
        grep -q 'cannot create' "$T/e15" || fail "natlens-capture -w BAD: no 'cannot create' message"
        check "natlens-capture -w BAD" "$T/o15" "$T/e15"
    else
        echo "note: not root or no namespaces: natlens-capture's live errors not checked"
    fi
fi
[ $fails -eq 0 ] && echo "ok: no raw control or bidi byte reached the terminal"
exit $fails
