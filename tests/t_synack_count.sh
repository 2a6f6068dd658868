#!/bin/sh
# t_synack_count: "SYN-ACK sent N times" in the single-capture findings of
# `natlens flows` counts every SYN-ACK of the flow, as tshark and the flow
# table do - also when the flow has more packets than `flows` keeps records
# for (samples/halfopen/server.pcap: 4 SYNs and 6 SYN-ACKs; flows keeps 8
# records a flow and once said 4). Checked on every server-side sample.
set -u
NATLENS=${NATLENS:-build/natlens}
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
T=$(mktemp -d /tmp/t_synack.XXXXXX)
trap 'rm -rf "$T"' EXIT
have_tshark=0
command -v tshark >/dev/null 2>&1 && have_tshark=1
fail=0 checked=0
for f in samples/*/server*.pcap; do
    "$NATLENS" flows --json "$f" > "$T/out.json" 2> "$T/err"
    rc=$?
    [ $rc -le 1 ] || { echo "FAIL $f: exit $rc"; cat "$T/err"; fail=1; continue; }
    : > "$T/synacks"
    [ $have_tshark = 1 ] && tshark -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==1' \
        -T fields -e tcp.dstport -e tcp.srcport 2>/dev/null > "$T/synacks"
    python3 - "$f" "$T/out.json" "$T/synacks" $have_tshark <<'EOF' > "$T/res" || fail=1
import json, re, sys
path, out, synacks, have_tshark = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
doc = json.load(open(out))
tsh = {}
for line in open(synacks):
    p = line.split()
    if len(p) == 2:
        tsh[(int(p[0]), int(p[1]))] = tsh.get((int(p[0]), int(p[1])), 0) + 1
bad = n = 0
for fd in doc.get("findings", []):
    for e in fd.get("evidence", []):
        m = re.match(r"SYN-ACK sent (\d+) times", e.get("what", ""))
        if not m or len(fd["flows"]) != 1:
            continue
        fl = fd["flows"][0]
        said = int(m.group(1))
        # the flow table's own count: every packet of the responder of a
        # flow that never got past the handshake is a SYN-ACK here
        want = [fl["resp_pkts"]] if fl["history"].lower().replace("r", "") in ("sh", "^h", "h") else []
        if have_tshark:
            want.append(tsh.get((fl["orig_port"], fl["resp_port"]), 0))
        n += 1
        if any(w != said for w in want):
            bad += 1
            print(f"FAIL {path}: {fl['orig_port']}->{fl['resp_port']} says 'SYN-ACK sent {said} times', "
                  f"counted {want} (flow table, tshark)")
print(f"CHECKED {n}")
sys.exit(1 if bad else 0)
EOF
    cat "$T/res" | grep -v '^CHECKED'
    checked=$((checked + $(sed -n 's/^CHECKED //p' "$T/res")))
done
[ $checked -gt 0 ] || { echo "FAIL: no 'SYN-ACK sent N times' line found in any sample"; exit 1; }
echo "$checked SYN-ACK counts checked"
exit $fail
