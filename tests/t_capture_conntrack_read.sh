#!/bin/sh
# t_capture_conntrack_read.sh - reading conntrack events inside a capture,
# without root: samples/records/capture/ holds a router capture made by
# `natlens-capture --conntrack` in the t_capture_conntrack lab, with the
# `conntrack -E -o timestamp,id` and `conntrack -L -o id` run beside it, and
# a capture whose listener lost events (LOSS blocks). Checks: natlens's
# record flows are conntrack's events and mappings (tests/ctev_check.py
# decodes the blocks on its own), record frames are custom block frames in
# tshark, `natlens flows` prints the NAT MAPPINGS and keeps the record flows
# out of the packet flow table, the loss is warned about; the conntrack -E
# text of the same traffic read by the conntrack reader gives the same
# mappings (one event -> record step for both).
cd "$(dirname "$0")/.." || exit 2
NL=${NATLENS:-$PWD/${BUILD:-build}/natlens}
D=samples/records/capture
[ -x "$NL" ] || { echo "natlens not built ($NL)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
[ -f "$D/router-conntrack.pcapng" ] || { echo "FAIL: $D/router-conntrack.pcapng missing"; exit 1; }
tmp=$(mktemp -d /tmp/natlens-ctread.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

"$NL" flows --json "$D/router-conntrack.pcapng" > "$tmp/flows.json" 2> "$tmp/err" || bad "flows --json exit $?"
[ -s "$tmp/err" ] && bad "warnings on a clean file: $(cat "$tmp/err")"
python3 tests/ctev_check.py compare "$D/router-conntrack.pcapng" "$D/router-conntrack.events.txt" \
    "$tmp/flows.json" "$D/router-conntrack.list.txt" && ok "events and mappings are conntrack's" \
    || bad "events or mappings differ from conntrack's"

if command -v tshark >/dev/null 2>&1; then
    tshark -r "$D/router-conntrack.pcapng" -T fields -e frame.number -e frame.encap_type > "$tmp/ts.txt" 2>/dev/null
    python3 - "$tmp/flows.json" "$tmp/ts.txt" <<'EOF' && ok "record frames are custom block frames in tshark; packet frames agree" || bad "frame numbers differ from tshark's"
import json, sys
d = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
cb = {int(n) for n, e in rows if e == ""}
pk = {int(n) for n, e in rows if e != ""}
fr = {r["frame"] for r in d["records"]}
assert fr and fr <= cb, sorted(fr - cb)[:5]
# packet flows: their first frame is a packet in tshark's numbering too
ff = {f["first_frame"] for f in d["flows"] if not f.get("record")}
# a record flow counts no packets it does not hold: null, not 0
assert all(f["orig_pkts"] is None and f["first_frame"] is None for f in d["flows"] if f.get("record"))
assert ff and ff <= pk, sorted(ff - pk)[:5]
EOF
else
    echo "note: tshark missing, frame numbers not cross-checked"
fi

"$NL" flows "$D/router-conntrack.pcapng" > "$tmp/flows.txt" 2>&1
np=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["flows"]) - len(d["records"]))' "$tmp/flows.json")
rows=$(sed -n '/^ *# PROTO/,/^$/p' "$tmp/flows.txt" | grep -c '^ *[0-9]')
want=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["captures"][0]["conntrack"]
print("%d events, %d record flows (%d NAT mappings)" % (c["events"], c["record_flows"],
      sum(1 for r in d["records"] if r["side"] == "inner" and r["other_leg"])))' "$tmp/flows.json")
[ "$rows" = "$np" ] && grep -q "^  conntrack events in the capture: $want" "$tmp/flows.txt" &&
    grep -q "^NAT MAPPINGS (from the conntrack events in the capture)" "$tmp/flows.txt" &&
    ok "flows: $rows packet flows in the table; $want under NAT MAPPINGS" ||
    { bad "flows text"; head -5 "$tmp/flows.txt"; }

# the same traffic as conntrack -E printed it, through the conntrack reader
"$NL" flows --json "$D/router-conntrack.events.txt" > "$tmp/text.json" 2>/dev/null || bad "conntrack reader exit $?"
python3 - "$tmp/flows.json" "$tmp/text.json" <<'EOF' && ok "the conntrack -E text gives the same mappings, states and flags" || bad "capture vs text records differ"
import json, sys
def maps(p):
    d = json.load(open(p)); fl = {f["id"]: f for f in d["flows"]}; m = {}
    for r in d["records"]:
        if r["side"] == "inner":
            i, o = fl[r["flow"]], fl[r["other_leg"]]
            m[r["conntrack_id"]] = ((i["proto"], i["orig_ip"], i["orig_port"], i["resp_ip"], i["resp_port"]),
                                    (o["orig_ip"], o["orig_port"], o["resp_ip"], o["resp_port"]),
                                    r["state"], sorted(r["conntrack"]), r["records"])
    return m
a, b = maps(sys.argv[1]), maps(sys.argv[2])
assert a == b, [(k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)][:3]
EOF

"$NL" flows --json "$D/router-conntrack-loss.pcapng" > "$tmp/loss.json" 2> "$tmp/loss.err" || bad "loss file exit $?"
grep -Eq "router-conntrack-loss.pcapng: the kernel dropped conntrack events [0-9]+ times? while capturing \(first before byte offset [0-9]+, frame [0-9]+\)" "$tmp/loss.err" &&
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"][0]["conntrack"]; sys.exit(not c["losses"])' "$tmp/loss.json" &&
    ok "LOSS blocks: $(grep -o 'the kernel dropped[^(]*' "$tmp/loss.err")" || bad "loss warning: $(cat "$tmp/loss.err")"

[ $fail = 0 ] && echo "t_capture_conntrack_read: all checks passed"
exit $fail
