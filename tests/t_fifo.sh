#!/bin/sh
# t_fifo: a capture given as a named FIFO (or on standard input) is read
# once and the command ends: nothing opens the path a second time (the
# host-context reader used to, and hung forever). flows, flows --json,
# report and correlate, on a classic pcap and on a natlens-capture pcapng
# whose host context must still be found (it comes from the same read),
# each under `timeout` so a hang fails the test. The results must equal the
# same commands on the regular file.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
GEN=$ROOT/$BUILD/tests/gen_hostmeta
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v mkfifo >/dev/null 2>&1 || { echo "skip: mkfifo missing"; exit 77; }
S=$ROOT/samples/asym-return
T=$(mktemp -d /tmp/t_fifo.XXXXXX)
WPIDS=""
cleanup() {
    for p in $WPIDS; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# feed FILE FIFO: a writer that ends by itself (timeout) if nobody reads
feed() {
    timeout 20 sh -c 'cat "$1" > "$2"' feed "$1" "$2" &
    WPIDS="$WPIDS $!"
}

# run NAME EXPECTED_RC CMD...: with a 15 s limit
run() {
    name=$1; want=$2; shift 2
    timeout 15 "$@" > "$T/out" 2> "$T/err"
    rc=$?
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        fail "$name: still running after 15 s (hangs on a FIFO)"
        return 1
    fi
    [ $rc = "$want" ] || { fail "$name: exit $rc, wanted $want"; sed 's/^/    /' "$T/err" | head -5; return 1; }
    return 0
}

# a pcapng with host context (eth0 / eth1 named by ifindex)
printf '%s' '{"natlens_hostmeta":1,"hostname":"web","role":"server","ifaces":[{"index":2,"name":"eth0"},{"index":3,"name":"eth1"}],"route":[{"dst":"default","gateway":"192.168.1.1","dev":"eth1"},{"dst":"192.168.0.0/24","dev":"eth0"},{"dst":"10.0.0.0/8","gateway":"192.168.0.1","dev":"eth0"}]}' > "$T/meta.json"
if [ -x "$GEN" ]; then
    "$GEN" "$S/server.pcap" "$T/meta.json" "$T/server.pcapng" || fail "gen_hostmeta"
    caps="$S/client.pcap $T/server.pcapng"
else
    echo "note: $GEN not built: pcapng with host context not checked"
    caps="$S/client.pcap $S/server.pcap"
fi

for f in $caps; do
    b=$(basename "$f")
    rm -f "$T/fifo"; mkfifo "$T/fifo"
    feed "$f" "$T/fifo"
    run "flows $b (FIFO)" 0 "$NATLENS" flows "$T/fifo" || continue
    grep -q 'FINDINGS' "$T/out" || fail "flows $b (FIFO): no findings section"

    rm -f "$T/fifo"; mkfifo "$T/fifo"
    feed "$f" "$T/fifo"
    run "flows --json $b (FIFO)" 0 "$NATLENS" flows --json "$T/fifo" || continue
    # the same document as from the file, but for the name
    "$NATLENS" flows --json "$f" 2>/dev/null > "$T/file.json"
    python3 - "$T/out" "$T/file.json" "$T/fifo" "$f" <<'EOF' || fail "flows --json $b: FIFO and file differ"
import json, os, re, sys
a = open(sys.argv[1]).read().replace(sys.argv[3], sys.argv[4])
a = re.sub(r"\bfifo\b", os.path.basename(sys.argv[4]), a)
da, db = json.loads(a), json.loads(open(sys.argv[2]).read())
if not da["flows"] or da != db:
    print("differs:", [k for k in da if da[k] != db.get(k)])
    sys.exit(1)
EOF
    case $b in *.pcapng)
        grep -q '"host_context": *true' "$T/out" || fail "flows --json $b (FIFO): host context not read"
        grep -q 'eth0 (ifindex 2)' "$T/out" || fail "flows --json $b (FIFO): findings do not name eth0 from the host context"
    esac

    rm -f "$T/fifo"; mkfifo "$T/fifo"
    feed "$f" "$T/fifo"
    run "report $b (FIFO)" 0 "$NATLENS" report -o "$T/r.json" "$T/fifo" || continue
    python3 - "$T/r.json" "$f" <<'EOF' || fail "report $b (FIFO): sha256 or host context missing"
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
blob = json.dumps(d)
assert want in blob, "sha256 of the FIFO's bytes not in the report"
if sys.argv[2].endswith(".pcapng"):
    assert '"web"' in blob, "host context (hostname) not in the report"
EOF
    grep -qi 'no such file\|no sha256' "$T/err" && fail "report $b (FIFO): warns about the sha256"
done

# correlate with the near side on a FIFO and the far side on standard input
rm -f "$T/fifo"; mkfifo "$T/fifo"
set -- $caps
feed "$1" "$T/fifo"
timeout 15 "$NATLENS" correlate --json "$T/fifo" - < "$2" > "$T/out" 2> "$T/err"
rc=$?
if [ $rc = 124 ]; then
    fail "correlate FIFO -: hangs"
else
    [ $rc = 0 ] || fail "correlate FIFO -: exit $rc"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["matches"] else 1)' "$T/out" ||
        fail "correlate FIFO -: nothing paired"
fi
rm -f "$T/fifo"; mkfifo "$T/fifo"
feed "$2" "$T/fifo"
run "correlate FILE FIFO (text)" 0 "$NATLENS" correlate "$1" "$T/fifo" &&
    { grep -q 'paired' "$T/out" || fail "correlate FILE FIFO: no pairs"; }
[ $fails -eq 0 ] && echo "ok: FIFOs and standard input read once, no hang"
exit $fails
