#!/bin/sh
# t_correlate_samples.sh - `natlens correlate --json` on every real lab
# sample (samples/<scenario>/ with truth.json), near = the truth's first
# capture, far = its last, checked by tests/correlate_samples_check.py
# against conntrack's own NAT mapping: precision and recall 1.0, egress
# addresses, the snat-switch moment (within 1 s), the time-shift offset
# (within 10 ms), per-flow sequence offsets. Then asym-return through four
# capture points (client, firewall outside, firewall inside, server): every
# conntrack entry followed through all four with the DNAT at the firewall.
set -u
# SAMPLES_DIR: another set of lab output (t_lab_regen checks a fresh one)
S=${SAMPLES_DIR:-samples}
NATLENS=${NATLENS:-$PWD/build/natlens}
[ -x "$NATLENS" ] || { echo "natlens not built: $NATLENS"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
ls "$S"/*/truth.json >/dev/null 2>&1 || { echo "no "$S"/*/truth.json"; exit 77; }
tmp=$(mktemp -d /tmp/nl-corr-samples.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
for truth in "$S"/*/truth.json; do
    dir=$(dirname "$truth")
    name=$(basename "$dir")
    set -- $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"]; print(c[0]["file"], c[-1]["file"])' "$truth")
    near=$dir/$1 far=$dir/$2
    if ! "$NATLENS" correlate --json "$near" "$far" >"$tmp/$name.json" 2>"$tmp/$name.err"; then
        echo "FAIL: $name: natlens correlate exit $?"; cat "$tmp/$name.err"; fail=1; continue
    fi
    python3 tests/correlate_samples_check.py "$truth" "$tmp/$name.json" || fail=1
    n=$((n + 1))
done
[ $n -gt 0 ] || { echo "FAIL: no scenario checked"; fail=1; }

a=$S/asym-return
if [ -f $a/fw-out.pcap ] && [ -f $a/fw-in.pcap ]; then
    "$NATLENS" correlate --json $a/client.pcap $a/fw-out.pcap $a/fw-in.pcap $a/server.pcap \
        >"$tmp/chain.json" || { echo "FAIL: four captures exit"; fail=1; }
    python3 - $a/truth.json "$tmp/chain.json" <<'EOF' || fail=1
import json, sys
truth, d = (json.load(open(p)) for p in sys.argv[1:3])
want = {(n["inner_ip"], n["inner_port"]) for n in truth["nat"]}
full = {}
for c in d["chains"]:
    if len(c["flows"]) != 4:
        sys.exit(f"FAIL: chain with {len(c['flows'])} flows, 4 captures given")
    f0 = c["flows"][0]
    if f0 and all(c["flows"]) and f0["resp_ip"] == "203.0.113.5":
        full[(f0["orig_ip"], f0["orig_port"])] = [h["translation"] for h in c["hops"]]
missing = want - set(full)
if missing:
    sys.exit(f"FAIL: conntrack entries not followed through 4 captures: {sorted(missing)}")
bad = {k: v for k, v in full.items() if v != ["none", "dnat", "none"]}
if bad:
    sys.exit(f"FAIL: hop translations {bad}")
pairs = {(m["near_capture"], m["far_capture"]) for m in d["matches"]}
if pairs != {(0, 1), (1, 2), (2, 3)}:
    sys.exit(f"FAIL: match capture pairs {sorted(pairs)}")
print(f"asym-return, 4 captures: {len(full)} connections followed client -> fw-out -> fw-in -> server, DNAT at the firewall")
EOF
fi
# The firewall captured on both sides at once (as `-i any` would): one
# capture holding both legs of each DNAT; chains must cross over.
if [ -f $a/fw-out.pcap ] && command -v mergecap >/dev/null 2>&1; then
    mergecap -F pcap -w "$tmp/fw-any.pcap" $a/fw-out.pcap $a/fw-in.pcap
    "$NATLENS" correlate --json $a/client.pcap "$tmp/fw-any.pcap" $a/server.pcap \
        >"$tmp/any.json" || { echo "FAIL: fw-any exit"; fail=1; }
    python3 - $a/truth.json "$tmp/any.json" <<'EOF' || fail=1
import json, sys
truth, d = (json.load(open(p)) for p in sys.argv[1:3])
want = {(n["inner_ip"], n["inner_port"]) for n in truth["nat"]}
got = {}
for c in d["chains"]:
    f0 = c["flows"][0]
    if f0 and all(c["flows"]) and f0["resp_ip"] == "203.0.113.5":
        got[(f0["orig_ip"], f0["orig_port"])] = ([h["translation"] for h in c["hops"]], c.get("alt_flows"))
missing = want - set(got)
if missing:
    sys.exit(f"FAIL: fw-any: not followed through 3 captures: {sorted(missing)}")
for k, (tr, alt) in got.items():
    if tr != ["none", "dnat"]:
        sys.exit(f"FAIL: fw-any: {k} hops {tr}, want none,dnat")
    if not alt or not alt[1] or alt[1]["resp_ip"] != "192.168.0.250":
        sys.exit(f"FAIL: fw-any: {k} has no inside leg at the firewall: {alt}")
print(f"asym-return, firewall capture with both legs: {len(got)} connections crossed over, DNAT inside the capture")
EOF
fi
[ $fail -eq 0 ] && echo "t_correlate_samples: ok ($n scenarios)"
exit $fail
