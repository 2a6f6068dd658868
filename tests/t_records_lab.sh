#!/bin/sh
# t_records_lab.sh - the conntrack reader on freshly recorded kernel records
# (root): samples/lab/lab.sh runs real NAT in network namespaces and keeps
# conntrack -E -o timestamp,id and conntrack -L -o extended,id of every NAT
# namespace; ct2truth.py (an independent parser) derives truth.json from
# them. natlens must read every mapping back exactly (tests/records_check.py
# with NATLENS_SAMPLES), then the same traffic's table as -o xml.
# Network rule: lab.sh creates its namespaces (unique prefix per run), both
# veth ends inside them, and deletes them on exit.
skip() { echo "t_records_lab: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip iptables conntrack tcpdump ethtool timeout editcap python3; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
probe="nlrecprobe$$"
ip netns add "$probe" 2>/dev/null || skip "ip netns add failed (no namespace support)"
ok=1
ip netns exec "$probe" iptables -t nat -L -n >/dev/null 2>&1 || ok=0
ip netns exec "$probe" conntrack -L >/dev/null 2>&1 || ok=0
ip netns del "$probe"
[ $ok = 1 ] || skip "iptables nat or conntrack unusable in a namespace"

here=$(cd "$(dirname "$0")/.." && pwd)
NATLENS=${NATLENS:-$here/${BUILD:-build}/natlens}
[ -x "$NATLENS" ] || skip "natlens not built"
out=$(mktemp -d /tmp/t_records_lab.XXXXXX)
trap 'rm -rf "$out"' EXIT
NLLAB_PREFIX=nlrec$$ timeout 170 bash "$here/samples/lab/lab.sh" "$out" snat-masq snat-pool dualnic \
    >"$out/lab.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: lab.sh exited $rc"; tail -n 30 "$out/lab.log"; exit 1
fi
rm -f "$out/lab.log"
fail=0
NATLENS_SAMPLES=$out python3 "$here/tests/records_check.py" "$NATLENS" || fail=1
exit $fail
