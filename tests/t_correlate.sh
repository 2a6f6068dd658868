#!/bin/sh
# t_correlate.sh - `natlens correlate` end to end on a generated NAT'd pair
# (tests/gen/gen_capture --pair: SNAT pool with port remaps, ISN rewriting,
# loss repaired by retransmission, blocked flows, far clock 437.25 s ahead):
# pairing precision/recall against the generator's truth, clock offset,
# unmatched reasons, the text sections, colour rules, DIR mode, three
# captures, --fail-on-findings and exit status 2 on unreadable input.
set -u
NATLENS=${NATLENS:-$PWD/build/natlens}
[ -x "$NATLENS" ] || { echo "natlens not built: $NATLENS"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d /tmp/nl-corr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

cc -O2 -o "$tmp/gen" tests/gen/gen_*.c -lpcap 2>"$tmp/cc.err" ||
    { cat "$tmp/cc.err"; echo "cannot build tests/gen/gen_*.c"; exit 77; }
"$tmp/gen" --pair -f 3000 --offset 437.25 -s 7 -o "$tmp/client.pcap" \
    -O "$tmp/server.pcap" -t "$tmp/truth.json" 2>/dev/null || bad "gen_capture --pair"

# 1. JSON: pairs against the truth, offset, blocked flows unmatched.
"$NATLENS" correlate --json "$tmp/client.pcap" "$tmp/server.pcap" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/err"; bad "correlate --json exit $rc"; }
python3 tests/gen/pair_score.py "$tmp/truth.json" "$tmp/out.json" --json >"$tmp/score.json" ||
    bad "pair_score"
cat "$tmp/score.json"
python3 - "$tmp/score.json" "$tmp/out.json" "$tmp/truth.json" <<'EOF' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
ok = True
def need(cond, what):
    global ok
    if not cond:
        print("FAIL:", what); ok = False
need(s["precision"] >= 0.999, f"precision {s['precision']} < 0.999")
need(s["recall"] >= 0.995, f"recall {s['recall']} < 0.995")
need(s["isn_recall"] is None or s["isn_recall"] >= 0.99, f"ISN-rewritten recall {s['isn_recall']}")
need(s["offset_error_s"] is not None and s["offset_error_s"] < 0.001,
     f"clock offset error {s['offset_error_s']}")
need(s["blocked_reported_unmatched"] == s["blocked"],
     f"blocked flows reported unmatched {s['blocked_reported_unmatched']}/{s['blocked']}")
for k in ("captures", "clock_offsets", "matches", "unmatched", "egress", "ip_changes",
          "chains", "findings"):
    need(k in d, f"key {k} missing")
o = d["clock_offsets"][0]
need(o["from"] == 0 and o["to"] == 1 and o["samples"] > 100 and o["spread_s"] >= 0, f"offset {o}")
m = d["matches"][0]
for k in ("near", "far", "translation", "evidence", "confidence", "near_capture", "far_capture"):
    need(k in m, f"match key {k} missing")
need(all(x["translation"] in ("none", "snat", "dnat", "snat+dnat") for x in d["matches"]), "translation names")
need(all(0 <= x["confidence"] <= 1 for x in d["matches"]), "confidence range")
need(any("seq_offset" in x for x in d["matches"]), "no seq_offset reported for ISN-rewritten flows")
need(all(u["reason"] in ("never_arrived", "from_elsewhere", "outside_window", "answered_elsewhere",
                         "no_common_clock") for u in d["unmatched"]),
     "unmatched reasons")
need(len(d["chains"]) == len(d["matches"]), "two captures: chains repeat matches")
need(all(e["egress_ip"].startswith("203.0.113.") for e in d["egress"]) and d["egress"], "egress in the SNAT pool")
need(isinstance(d["findings"], list), "findings is a list")
# the per-flow sequence offset equals the generator's ISN rewrite
truth = json.load(open(sys.argv[3]))
def k(f):
    a, b = (f["orig_ip"], f["orig_port"]), (f["resp_ip"], f["resp_port"])
    return (min(a, b), max(a, b))
isn = {k(t["near"]): t["isn_offset"] for t in truth["flows"]
       if t.get("isn_offset") and t.get("far")}
checked = 0
for x in d["matches"]:
    want = isn.get(k(x["near"]))
    got = x.get("seq_offset", {}).get("orig")
    if want is not None:
        checked += 1
        need(got is not None and got & 0xffffffff == want, f"seq_offset {got} != {want}")
    else:
        need(got is None or got == 0, f"seq_offset {got} on a flow the NAT left alone")
need(checked == len(isn), f"seq offsets checked {checked}/{len(isn)}")
sys.exit(0 if ok else 1)
EOF

# 2. Text: sections in order, paste-able allow lines, no colour off a tty.
NO_COLOR= "$NATLENS" correlate "$tmp/client.pcap" "$tmp/server.pcap" >"$tmp/out.txt" 2>&1 ||
    bad "text mode exit"
head -1 "$tmp/out.txt" | grep -q "server.pcap runs 437.250 s ahead of client.pcap" ||
    bad "header line: $(head -1 "$tmp/out.txt")"
order=$(grep -o "^EGRESS\|^SOURCE CHANGES\|^FLOWS\|^FINDINGS" "$tmp/out.txt" | tr '\n' ' ')
[ "$order" = "EGRESS SOURCE CHANGES FLOWS FINDINGS " ] || bad "section order: $order"
grep -q "^  allow 203\.0\.113\.[0-9]*" "$tmp/out.txt" || bad "allow line"
grep -q "^  10\.[0-9.]* .* 203\.0\.113\.[0-9]* " "$tmp/out.txt" || bad "egress detail rows"
[ "$(grep -c '^  allow ' "$tmp/out.txt")" -eq 1 ] || bad "one allow line for one capture point"
grep -q "never arrived" "$tmp/out.txt" || bad "blocked flows not shown as never arrived"
if grep -q "$(printf '\033')" "$tmp/out.txt"; then bad "colour escapes off a terminal"; fi

# 3. A directory: role order (client*, fw*, other names, server*), not
#    alphabetical: aaa.pcap goes between client and server.
mkdir "$tmp/dir"
cp "$tmp/server.pcap" "$tmp/dir/server.pcap"
cp "$tmp/server.pcap" "$tmp/dir/aaa.pcap"
cp "$tmp/client.pcap" "$tmp/dir/client.pcap"
echo "not a capture, ignored by extension" >"$tmp/dir/notes.txt"
"$NATLENS" correlate --json "$tmp/dir" >"$tmp/dir.json" || bad "DIR mode exit"
python3 - "$tmp/out.json" "$tmp/dir.json" <<'EOF2' || bad "DIR mode order or result"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
files = [c["file"].rsplit("/", 1)[-1] for c in b["captures"]]
assert files == ["client.pcap", "aaa.pcap", "server.pcap"], files
n0 = sum(1 for m in b["matches"] if m["near_capture"] == 0)
assert n0 == len(a["matches"]), (n0, len(a["matches"]))
EOF2

# 4. Three captures, the far file twice: the same capture is said, not
#    paired with itself (issue #12: no allow line from a file and its copy);
#    chains still span all three positions.
cp "$tmp/server.pcap" "$tmp/server-copy.pcap"
"$NATLENS" correlate --json "$tmp/client.pcap" "$tmp/server.pcap" "$tmp/server-copy.pcap" \
    >"$tmp/three.json" || bad "three captures exit"
python3 - "$tmp/three.json" <<'EOF' || bad "three captures"
import json, sys
d = json.load(open(sys.argv[1]))
pairs = {(m["near_capture"], m["far_capture"]) for m in d["matches"]}
assert pairs == {(0, 1)}, pairs
o = d["clock_offsets"]
assert len(o) == 2 and o[1]["same_capture"] and not o[0]["same_capture"], o
assert o[1]["offset_s"] is None and o[0]["basis"] == "strong_keys", o
assert all(len(c["flows"]) == 3 for c in d["chains"])
EOF

# 5. Exit status: findings, usage, unreadable input naming the file.
"$NATLENS" correlate --json --fail-on-findings "$tmp/client.pcap" "$tmp/server.pcap" >"$tmp/ff.json"
rc=$?
nf=$(python3 -c 'import json,sys; print(sum(1 for f in json.load(open(sys.argv[1]))["findings"] if f.get("severity") in ("warning", "error")))' "$tmp/ff.json")
if [ "$nf" -gt 0 ]; then want=1; else want=0; fi
[ $rc -eq $want ] || bad "--fail-on-findings: exit $rc with $nf findings"
"$NATLENS" correlate "$tmp/client.pcap" "$tmp/nope.pcap" >/dev/null 2>"$tmp/err2"
[ $? -eq 2 ] || bad "missing file: exit not 2"
grep -q "nope.pcap" "$tmp/err2" || bad "missing file not named: $(cat "$tmp/err2")"
printf 'not a capture\n' >"$tmp/junk.pcap"
"$NATLENS" correlate "$tmp/junk.pcap" "$tmp/server.pcap" >/dev/null 2>"$tmp/err3"
[ $? -eq 2 ] || bad "junk file: exit not 2"
grep -q "junk.pcap" "$tmp/err3" || bad "junk file not named"
"$NATLENS" correlate "$tmp/client.pcap" >/dev/null 2>&1
[ $? -eq 2 ] || bad "one capture: exit not 2"
"$NATLENS" correlate --bogus "$tmp/client.pcap" "$tmp/server.pcap" >/dev/null 2>&1
[ $? -eq 2 ] || bad "unknown option: exit not 2"

# 6. --max-flows is passed to the flow tables: memory bounded, still a
#    valid document; a bad value is a usage error.
"$NATLENS" correlate --json --max-flows 200 "$tmp/client.pcap" "$tmp/server.pcap" >"$tmp/mf.json" ||
    bad "--max-flows exit"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["matches"], "no matches"' "$tmp/mf.json" ||
    bad "--max-flows output"
"$NATLENS" correlate --max-flows x "$tmp/client.pcap" "$tmp/server.pcap" >/dev/null 2>&1
[ $? -eq 2 ] || bad "--max-flows x: exit not 2"

# 7. Text width: off a terminal nothing wraps; on a narrow terminal the prose
#    wraps but a fix's command line never does (it pastes whole).
A=samples/asym-return
"$NATLENS" correlate $A/client.pcap $A/server.pcap >"$tmp/nowrap.txt" 2>/dev/null
grep -q "asymmetric_return .*bypassing the device that translated the request" "$tmp/nowrap.txt" ||
    bad "summary wrapped off a terminal"
if command -v script >/dev/null 2>&1; then
    NO_COLOR=1 COLUMNS=70 script -qc "$NATLENS correlate $A/client.pcap $A/server.pcap" /dev/null \
        | tr -d '\r' >"$tmp/tty.txt" 2>/dev/null
    sed -n '/FINDINGS/,$p' "$tmp/tty.txt" | awk 'length($0) > 70 && !/^ +(ip|iptables) /' |
        grep -q . && bad "a finding's prose wider than the 70-column terminal"
    grep -q "^ *iptables -t mangle -A PREROUTING -i .* -j CONNMARK --set-mark 1$" "$tmp/tty.txt" ||
        bad "a command line of the fix was wrapped on a 70-column terminal"
fi

# 8. --csv: one header, one row per chain (as many as --json's chains) and
#    per lone flow; every row has the header's column count; the egress
#    column says what the server saw.
S=samples/snat-masq
"$NATLENS" correlate --csv $S/client.pcap $S/server.pcap >"$tmp/c.csv" || bad "--csv exit"
"$NATLENS" correlate --json $S/client.pcap $S/server.pcap >"$tmp/c.json"
python3 - "$tmp/c.csv" "$tmp/c.json" <<'PY' || bad "--csv rows"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
d = json.load(open(sys.argv[2]))
chains = [r for r in rows if r["kind"] == "chain"]
assert len(chains) == len(d["chains"]), (len(chains), len(d["chains"]))
assert all(len(r) == len(rows[0]) and None not in r for r in rows), "ragged row"
assert all(r["egress_ip"] == "203.0.113.2" for r in chains), "egress column"
assert all(r["c1_orig_ip"] == r["egress_ip"] for r in chains), "far side column"
PY

[ $fail -eq 0 ] && echo "t_correlate: ok"
exit $fail
