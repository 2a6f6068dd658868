#!/bin/sh
# Regenerate every lab scenario in network namespaces (samples/lab/lab.sh)
# into a temporary folder and check each set: every pcap non-empty and
# readable by tcpdump, truth.json parses and holds the expected number of
# conntrack entries, attempts, events and offsets. Root only; ~1 minute.
skip() { echo "t_lab_regen: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip iptables conntrack tcpdump ethtool timeout editcap python3; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
probe="nllabprobe$$"
ip netns add "$probe" 2>/dev/null || skip "ip netns add failed (no namespace support)"
ok=1
ip netns exec "$probe" iptables -t nat -L -n >/dev/null 2>&1 || ok=0
ip netns exec "$probe" conntrack -L >/dev/null 2>&1 || ok=0
ip netns del "$probe"
[ $ok = 1 ] || skip "iptables nat or conntrack unusable in a namespace"

here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d /tmp/t_lab_regen.XXXXXX)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
NLLAB_PREFIX=nllabt$$ timeout 170 bash "$here/samples/lab/lab.sh" "$out" >"$out/lab.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: lab.sh exited $rc"; tail -n 30 "$out/lab.log"; exit 1
fi
echo "lab.sh took $(( $(date +%s) - start )) s"
fail=0
for d in "$out"/*/; do
    for f in "$d"*.pcap; do
        [ -s "$f" ] || { echo "FAIL: empty $f"; fail=1; continue; }
        n=$(tcpdump -r "$f" -n 2>/dev/null | wc -l)
        [ "$n" -gt 0 ] || { echo "FAIL: tcpdump reads no packet from $f"; fail=1; }
    done
done
# scenario  nat  attempts  events  isn_offsets  captures  time_shift
python3 - "$out" <<'EOF' || fail=1
import json, os, sys
out = sys.argv[1]
want = {
    "nonat":       (6, 0, 0, 0, 2, 0.0),
    "snat-masq":   (8, 0, 0, 0, 2, 0.0),
    "dualnic":     (10, 0, 2, 0, 4, 0.0),
    "snat-switch": (9, 0, 1, 0, 2, 0.0),
    "snat-pool":   (18, 0, 0, 0, 2, 0.0),
    "isn-rewrite": (8, 0, 0, 4, 2, 0.0),
    "mss-clamp":   (3, 0, 0, 0, 2, 0.0),
    "time-shift":  (8, 0, 0, 0, 2, 437.25),
    "asym-return": (5, 5, 4, 0, 6, 0.0),
    "halfopen":    (3, 4, 0, 0, 2, 0.0),
    "lb":          (12, 0, 0, 0, 6, 0.0),
}
bad = 0
def check(cond, msg):
    global bad
    if not cond:
        print("FAIL:", msg)
        bad = 1
for s, (nat, att, ev, isn, caps, shift) in sorted(want.items()):
    p = os.path.join(out, s, "truth.json")
    try:
        t = json.load(open(p))
    except (OSError, ValueError) as e:
        check(False, "%s: %s" % (p, e))
        continue
    check(t["scenario"] == s, "%s: scenario is %r" % (s, t["scenario"]))
    got = (len(t["nat"]), len(t["attempts"]), len(t["events"]), len(t["isn_offsets"]),
           len(t["captures"]), t["time_shift_s"])
    check(got == (nat, att, ev, isn, caps, shift),
          "%s: (nat, attempts, events, isn_offsets, captures, shift) = %r, want %r"
          % (s, got, (nat, att, ev, isn, caps, shift)))
    for c in t["captures"]:
        check(os.path.getsize(os.path.join(out, s, c["file"])) > 24, "%s: %s empty" % (s, c["file"]))
    for n in t["nat"]:
        check(n["start_ts"] is not None, "%s: entry %s has no NEW event" % (s, n["conntrack_id"]))
    kinds = {n["kind"] for n in t["nat"]}
    if s == "nonat":
        check(kinds == {"none"}, "%s: kinds %r" % (s, kinds))
    elif s == "lb":
        check(kinds == {"snat+dnat"}, "%s: kinds %r" % (s, kinds))
    elif s == "asym-return":
        check(kinds == {"dnat"}, "%s: kinds %r" % (s, kinds))
        res = [(a["expected"], a["client_result"]) for a in t["attempts"]]
        check(res == [("asymmetric_return", "timeout"), ("handshake_broken", "timeout"),
                      ("ok", "ok"), ("ok", "ok"), ("ok", "ok")], "%s: attempts %r" % (s, res))
    else:
        check(kinds == {"snat"}, "%s: kinds %r" % (s, kinds))
    if s in ("snat-masq", "isn-rewrite", "time-shift"):
        remapped = [n for n in t["nat"] if n["outside_port"] != n["inner_port"]]
        check(len(remapped) == 3, "%s: %d remapped ports, want 3 (tcp, udp, icmp)" % (s, len(remapped)))
    if s == "snat-switch":
        sw = t["events"][0]["ts"]
        for n in t["nat"]:
            want_ip = "203.0.113.10" if n["start_ts"] < sw else "203.0.113.11"
            check(n["outside_ip"] == want_ip, "%s: %s:%s got %s" % (s, n["inner_ip"], n["inner_port"], n["outside_ip"]))
    if s == "snat-pool":
        pool = {n["outside_ip"] for n in t["nat"]}
        check(len(pool) >= 2 and pool <= {"203.0.113.2%d" % i for i in range(4)}, "%s: pool %r" % (s, pool))
    if s == "dualnic":
        ats = [n["at"] for n in t["nat"]]
        check(ats.count("nat_a") == 6 and ats.count("nat_b") == 4, "%s: at %r" % (s, ats))
    if s == "halfopen":
        res = [(a["dest_port"], a["expected"], a["client_result"]) for a in t["attempts"]]
        check(res == [(80, "ok", "ok"), (8080, "handshake_broken", "timeout"),
                      (8081, "rejected", "refused"), (8082, "handshake_broken", "timeout")],
              "%s: attempts %r" % (s, res))
sys.exit(bad)
EOF
# The ISN rewrite must leave valid TCP checksums.
if tcpdump -r "$out/isn-rewrite/server.pcap" -n -vv tcp 2>/dev/null | grep -qi "incorrect"; then
    echo "FAIL: isn-rewrite/server.pcap has bad TCP checksums"; fail=1
fi
ip netns list | grep -q "^nllabt$$-" && { echo "FAIL: lab namespaces left behind:"; ip netns list | grep "^nllabt$$-"; fail=1; }
# Ground truth on fresh kernel traffic, not only on the committed set:
# correlate must match this run's conntrack exactly, and findings must name
# this run's broken attempts.
if [ -x "${NATLENS:-}" ]; then
    SAMPLES_DIR=$out sh "$here/tests/t_correlate_samples.sh" >"$out/corr.log" 2>&1 ||
        { echo "FAIL: correlate on the fresh set:"; tail -n 30 "$out/corr.log"; fail=1; }
    SAMPLES_DIR=$out sh "$here/tests/t_findings.sh" >"$out/find.log" 2>&1 ||
        { echo "FAIL: findings on the fresh set:"; tail -n 30 "$out/find.log"; fail=1; }
    grep -h "precision" "$out/corr.log" | head -n 12
fi
[ $fail = 0 ] && echo "t_lab_regen: all scenarios regenerated and sane"
exit $fail
