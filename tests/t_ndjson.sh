#!/bin/sh
# t_ndjson.sh - `natlens correlate` on NDJSON flow records gives what it
# gives on the captures they came from. Every sample's client.pcap +
# server.pcap, the multi-point sets (asym-return through four points,
# dualnic's per-interface captures), each run on the pcaps and on their
# `flows --ndjson` output; the JSON documents must be identical but for the file names and format
# fields. Flow lines in reverse order give the same result; --max-flows
# streams evicted flows that `flows --json` on the records shows again.
# Also: `flows --ndjson -` writes to stdout, a cut file is read up to the
# cut with a warning, standard input as the capture is refused (exit 2).
set -u
NATLENS=${NATLENS:-$PWD/build/natlens}
[ -x "$NATLENS" ] || { echo "natlens not built: $NATLENS"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d /tmp/nl-ndjson.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

# the NDJSON of one capture, cached: $tmp/<scenario>-<file>.ndjson
nd() {
    out=$tmp/$(basename "$(dirname "$1")")-$(basename "$1" .pcap).ndjson
    if [ ! -f "$out" ]; then
        "$NATLENS" flows --ndjson "$out" "$1" || { echo "FAIL: flows --ndjson $1"; fail=1; }
    fi
    echo "$out"
}

same() { # label pcap...
    label=$1; shift
    "$NATLENS" correlate --json "$@" >"$tmp/a.json" 2>"$tmp/a.err" || { echo "FAIL: $label: correlate on pcaps"; fail=1; return; }
    set -- $(for p in "$@"; do nd "$p"; done)
    "$NATLENS" correlate --json "$@" >"$tmp/b.json" 2>"$tmp/b.err" || { echo "FAIL: $label: correlate on ndjson"; cat "$tmp/b.err"; fail=1; return; }
    if [ -s "$tmp/b.err" ]; then echo "FAIL: $label: stderr on ndjson:"; cat "$tmp/b.err"; fail=1; fi
    python3 - "$tmp/a.json" "$tmp/b.json" "$label" <<'EOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    for c in d["captures"]:
        c.pop("file"); c.pop("format")
if a != b:
    for k in a:
        if a[k] != b.get(k):
            sys.exit(f"FAIL: {sys.argv[3]}: '{k}' differs between pcap and ndjson")
    sys.exit(f"FAIL: {sys.argv[3]}: documents differ")
print(f"{sys.argv[3]}: identical ({len(a['matches'])} matches, {len(a['egress'])} egress rows, {len(a['findings'])} findings)")
EOF
    n=$((n + 1))
}

for d in samples/*/; do
    [ -f "$d/client.pcap" ] && [ -f "$d/server.pcap" ] || continue
    same "$(basename "$d")" "$d/client.pcap" "$d/server.pcap"
done
a=samples/asym-return
same "asym-return 4 points" $a/client.pcap $a/fw-out.pcap $a/fw-in.pcap $a/server.pcap
same "asym-return server ifaces" $a/client.pcap $a/server-eth0.pcap $a/server-eth1.pcap
d=samples/dualnic
same "dualnic per iface" $d/client-eth0.pcap $d/client-eth1.pcap $d/server.pcap
[ $n -ge 12 ] || { echo "FAIL: only $n comparisons"; fail=1; }

# order: flow lines are written as flows end; reversed, the result stays
c=$(nd samples/snat-pool/client.pcap)
s=$(nd samples/snat-pool/server.pcap)
{ head -n 1 "$c"; grep '"type":"flow"' "$c" | tac; tail -n 1 "$c"; } >"$tmp/rev.ndjson"
"$NATLENS" correlate --json "$c" "$s" >"$tmp/a.json"
"$NATLENS" correlate --json "$tmp/rev.ndjson" "$s" >"$tmp/b.json"
python3 - "$tmp/a.json" "$tmp/b.json" <<'EOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    for c in d["captures"]:
        c.pop("file")
if a != b:
    sys.exit("FAIL: flow lines in reverse order change the result")
EOF
# --max-flows streams (evicting): the records hold the same flows as
# `flows --json --max-flows` prints
"$NATLENS" flows --ndjson "$tmp/m.ndjson" --max-flows 2 samples/snat-pool/client.pcap
"$NATLENS" flows --json --max-flows 2 samples/snat-pool/client.pcap >"$tmp/m1.json"
"$NATLENS" flows --json "$tmp/m.ndjson" >"$tmp/m2.json"
python3 - "$tmp/m1.json" "$tmp/m2.json" <<'EOF' || fail=1
import json, sys
a, b = (sorted(json.load(open(p))["flows"], key=lambda f: f["id"]) for p in sys.argv[1:3])
if a != b:
    sys.exit("FAIL: --max-flows 2: the records do not hold the flows flows --json prints")
if not any(f.get("evicted") for f in a):
    sys.exit("FAIL: --max-flows 2 evicted nothing: the streaming path was not exercised")
print(f"--max-flows 2: {len(a)} flows streamed, {sum(1 for f in a if f.get('evicted'))} evicted, same as flows --json")
EOF

# stdout, cut files, stdin refused
"$NATLENS" flows --ndjson - samples/nonat/client.pcap >"$tmp/o.ndjson" || { echo "FAIL: --ndjson -"; fail=1; }
head -n 1 "$tmp/o.ndjson" | grep -q '"type":"capture"' || { echo "FAIL: first line is not the capture line"; fail=1; }
tail -n 1 "$tmp/o.ndjson" | grep -q '"type":"capture_end"' || { echo "FAIL: last line is not capture_end"; fail=1; }
head -n 4 "$tmp/o.ndjson" >"$tmp/cut.ndjson"
"$NATLENS" flows --json "$tmp/cut.ndjson" >"$tmp/cut.json" 2>"$tmp/cut.err" || { echo "FAIL: cut file not read"; fail=1; }
grep -q "capture_end" "$tmp/cut.err" || { echo "FAIL: no warning for a cut file"; cat "$tmp/cut.err"; fail=1; }
"$NATLENS" flows --ndjson "$tmp/x.ndjson" - <samples/nonat/client.pcap 2>/dev/null
[ $? -eq 2 ] || { echo "FAIL: stdin as the capture not refused with exit 2"; fail=1; }
"$NATLENS" flows --ndjson "$tmp/x.ndjson" --point 'a b;c' samples/nonat/client.pcap 2>/dev/null
[ $? -eq 2 ] || { echo "FAIL: bad --point accepted"; fail=1; }

[ $fail -eq 0 ] && echo "ndjson: $n correlate runs identical on pcaps and their records"
exit $fail
