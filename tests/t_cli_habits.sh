#!/bin/sh
# The habits engineers bring from tcpdump and other tools: -r FILE, -n,
# -f EXPR and a filter after -- in flows, correlate, report and tui;
# --community-id-seed against Suricata's own seeded baseline; "schema" at
# the top of every JSON document and integer-nanosecond twins of every
# float time; dates and zones in text times; no "1 flows".
set -u
N=${NATLENS:?}
C=${CORPUS:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
S=$ROOT/samples/snat-switch
[ -f "$S/client.pcap" ] && [ -f "$S/server.pcap" ] || { echo "samples/snat-switch missing"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
W=$C/zeek/wikipedia.pcap
A=$S/client.pcap
B=$S/server.pcap

# ---- flows: -r, -n, -f and -- give what the trailing expression gives ----
"$N" flows --json "$W" tcp port 80 > "$T/ref.json" || bad "flows with trailing filter"
for args in "-n -r $W tcp port 80" "-r $W -f tcp\ port\ 80" "$W -- tcp port 80" "-f tcp -r $W -- port 80"; do
    eval "set -- $args"
    "$N" flows --json "$@" > "$T/f.json" 2>"$T/err" && cmp -s "$T/f.json" "$T/ref.json" \
        && ok "flows $args" || bad "flows $args: $(head -c 300 "$T/err")"
done
"$N" flows "$W" -- 'tcp port' >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q filter "$T/err" && ok "flows: bad filter after -- exits 2" || bad "flows bad filter rc=$rc"

# ---- correlate: the filter reaches every capture ----
pkts() { python3 -c "import json,sys; print(' '.join(str(c['packets']) for c in json.load(open(sys.argv[1]))['captures']))" "$1"; }
"$N" correlate --json "$A" "$B" > "$T/c-all.json" || bad "correlate"
"$N" correlate --json "$A" "$B" -- udp > "$T/c-udp.json" || bad "correlate -- udp"
"$N" correlate --json -n -f udp -r "$A" -r "$B" > "$T/c-udp2.json" || bad "correlate -n -f -r"
all=$(pkts "$T/c-all.json"); udp=$(pkts "$T/c-udp.json")
[ -n "$udp" ] && [ "$udp" = "$(pkts "$T/c-udp2.json")" ] && ok "correlate -r/-f = files and -- ($udp packets)" || bad "correlate -r/-f differ"
want=$(for f in "$A" "$B"; do tcpdump -r "$f" udp 2>/dev/null | wc -l; done | tr '\n' ' ' | sed 's/ $//')
if command -v tcpdump >/dev/null 2>&1; then
    [ "$udp" = "$want" ] && [ "$udp" != "$all" ] && ok "correlate -- udp: tcpdump counts $want" \
        || bad "correlate -- udp packets '$udp', tcpdump '$want', unfiltered '$all'"
fi

# ---- report: -r, -f and the command line it records ----
"$N" report -o "$T/r.json" -n -r "$A" "$B" -- udp > /dev/null 2>"$T/err" || bad "report -r -- udp: $(cat "$T/err")"
python3 - "$T/r.json" "$udp" <<'PY' && ok "report filters every capture, records the filter" || bad "report filter"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 2 and list(d)[0] == "schema"
got = " ".join(str(f["packets"]) for f in d["summary"]["files"])
assert got == sys.argv[2], (got, sys.argv[2])
assert d["summary"]["command_line"].endswith("-- udp"), d["summary"]["command_line"]
PY

# ---- tui: the options parse, the filter is checked before the screen ----
"$N" tui -n -r "$A" "$B" -- 'tcp port' < /dev/null > /dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "filter" "$T/err" && ok "tui: bad filter after -- exits 2" || bad "tui bad filter rc=$rc $(cat "$T/err")"
"$N" tui -n -f udp -r "$A" "$B" < /dev/null > /dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "needs a terminal" "$T/err" && ok "tui: -n -f -r accepted" || bad "tui options rc=$rc $(cat "$T/err")"

# ---- --community-id-seed: Suricata's community-id-ipv6 test (seed 7) ----
CI=$C/suricata/community-id-ipv6
seeds=$(sed -n 's/^ *community-id-seed: *//p' "$CI/suricata.yaml")
want=$(sed -n 's/^ *community_id: *//p' "$CI/test.yaml" | sort -u | tr '\n' ' ')
got=$("$N" flows --json --community-id-seed "$seeds" "$CI/input.pcap" | python3 -c "
import json,sys; print(' '.join(sorted({f['community_id'] for f in json.load(sys.stdin)['flows'] if f['proto']=='tcp'})))")
[ "$got " = "$want" ] && ok "flows --community-id-seed $seeds = Suricata" || bad "seed: got '$got' want '$want'"
[ "$("$N" flows --csv --community-id-seed "$seeds" "$CI/input.pcap" | cut -d, -f16 | sed 1d | sort -u | tr '\n' ' ')" = "$want" ] \
    && ok "csv seed" || bad "csv seed"
"$N" flows --json "$CI/input.pcap" | grep -q "$(echo "$want" | cut -d' ' -f1)" && bad "seed 0 gives the seed-7 id" || ok "seed 0 differs"
"$N" correlate --json --community-id-seed 7 "$CI/input.pcap" "$CI/input.pcap" > "$T/cs.json" 2>/dev/null
"$N" report --community-id-seed=7 -o "$T/rs.json" "$CI/input.pcap" > /dev/null 2>&1
for f in cs rs; do
    python3 - "$T/$f.json" "$want" <<'PY' && ok "$f: seed 7 in every community_id" || bad "$f seed"
import json, sys
want = set(sys.argv[2].split())
ids = set()
def walk(o):
    if isinstance(o, dict):
        if "community_id" in o and o.get("proto") == "tcp":
            ids.add(o["community_id"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(json.load(open(sys.argv[1])))
assert ids == want, (ids, want)
PY
done
for v in 65536 -1 x ""; do
    "$N" flows --community-id-seed "$v" "$W" >/dev/null 2>&1; rc=$?
    [ $rc = 2 ] || bad "--community-id-seed '$v' exit $rc"
done
ok "bad seeds exit 2"

# ---- schema and _ns twins in every JSON document ----
"$N" flows --json --max-flows 5 "$W" > "$T/stream.json"
for f in "$T/ref.json" "$T/c-all.json" "$T/r.json" "$T/stream.json"; do
    python3 - "$f" <<'PY' && ok "schema 2 and _ns twins: $(basename "$f")" || bad "schema/_ns in $f"
import json, sys
from decimal import Decimal
d = json.load(open(sys.argv[1]), parse_float=Decimal)
assert d.get("schema") == 2 and list(d)[0] == "schema", list(d)[:3]
n = 0
def walk(o):
    global n
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "ts" or k.endswith("_ts"):
                twin = k[:-3] + "_ns" if k.endswith("_ts") else k + "_ns"
                if v is None:
                    continue
                assert isinstance(o.get(twin), int), (k, twin, o)
                assert Decimal(o[twin]) == v * 1000000000, (k, v, o[twin])
                n += 1
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
assert n > 0
PY
done

# ---- text times: the date when needed, the zone, d/h/m/s, plurals ----
"$N" flows "$C/zeek/modbus-rst.pcap" > "$T/m.txt"
head -1 "$T/m.txt" | grep -q "2004-08-26 12:12:06 → 2023-07-08 20:25:57 UTC (6890d 08h 13m 51s)" \
    && ok "a 19-year span shows dates and d/h/m/s" || bad "modbus span: $(head -1 "$T/m.txt")"
TZ=CET-1CEST,M3.5.0,M10.5.0/3 "$N" flows --localtime "$C/zeek/modbus-rst.pcap" > "$T/ml.txt"
head -1 "$T/ml.txt" | grep -q "2004-08-26 14:12:06 → 2023-07-08 22:25:57 CEST" && grep -q "FIRST (CEST)" "$T/ml.txt" \
    && ok "--localtime follows TZ and names the zone" || bad "localtime: $(head -1 "$T/ml.txt")"
"$N" flows "$C/zeek/syn-then-rst.pcap" | head -1 | grep -q " 2 packets, 1 flow, " \
    && ok "1 flow" || bad "plural: $("$N" flows "$C/zeek/syn-then-rst.pcap" | head -1)"
exit $fail
