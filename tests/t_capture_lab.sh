#!/bin/sh
# natlens-capture in a namespace lab: client (10.72.2.222, 10.72.3.5) --
# NAT router (MASQUERADE to 203.0.113.2) -- server (198.51.100.80).
# Captures on client and server (plus a rotating one on the router's outside
# leg), bounded TCP traffic, marked probes from every client source (TCP and
# UDP), SIGINT stops. Checks: files valid for tcpdump and tshark, interface
# names, host metadata (role, routes, NAT rules read before -Z), probes
# recognised through libpcap + probe_recognize with seen_as equal to
# conntrack's reply destination, a SIGINT in the middle of a stream leaves
# every packet a parallel tcpdump saw, rotation + --keep, and a full disk
# gives a clear error and a valid file. Root only; about 15 s.
set -u
skip() { echo "t_capture_lab: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip iptables conntrack tcpdump tshark ethtool timeout python3 cc; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
CAP=${NATLENS_CAPTURE:-$here/$BUILD/natlens-capture}
[ -x "$CAP" ] || { echo "FAIL: no natlens-capture binary at $CAP"; exit 1; }
P=nlcap$$
C=$P-c; R=$P-r; S=$P-s
ip netns add "$C" 2>/dev/null || skip "ip netns add failed (no namespace support)"
T=$(mktemp -d /tmp/t_capture_lab.XXXXXX)
chmod 755 "$T"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    for n in "$C" "$R" "$S"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
X() { ns=$1; shift; ip netns exec "$ns" "$@"; }
# tshark as root prints a warning on stderr: keep only real complaints
tshark_err() { grep -v -e 'Running as user' -e '^$' "$1"; }

# ---- the lab (every veth end inside our namespaces)
ip netns add "$R" && ip netns add "$S" || { echo "FAIL: netns"; exit 1; }
ip link add name "${P}c0" netns "$C" type veth peer name "${P}r0" netns "$R" || exit 1
ip link add name "${P}r1" netns "$R" type veth peer name "${P}s0" netns "$S" || exit 1
CI=${P}c0; RI=${P}r0; RO=${P}r1; SI=${P}s0
for n in "$C" "$R" "$S"; do
    X "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    X "$n" ip link set lo up
done
for pair in "$C $CI" "$R $RI" "$R $RO" "$S $SI"; do
    set -- $pair
    X "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
    X "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1
    X "$1" ip link set "$2" up
done
X "$C" ip addr add 10.72.2.222/24 dev "$CI"
X "$C" ip addr add 10.72.3.5/24 dev "$CI"
X "$C" ip route add default via 10.72.2.1
X "$R" ip addr add 10.72.2.1/24 dev "$RI"
X "$R" ip addr add 10.72.3.1/24 dev "$RI"
X "$R" ip addr add 203.0.113.2/24 dev "$RO"
X "$R" ip route add 198.51.100.0/24 dev "$RO"
X "$R" sysctl -qw net.ipv4.ip_forward=1
X "$R" iptables -t nat -A POSTROUTING -o "$RO" -j MASQUERADE || skip "iptables nat unusable in a namespace"
X "$S" ip addr add 198.51.100.80/24 dev "$SI"
X "$S" ip route add 203.0.113.0/24 dev "$SI"

# ---- a tiny TCP echo server and a bounded client
cat > "$T/srv.py" <<'EOF'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.80", 8080)); s.listen(16); s.settimeout(0.5)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(1)
    try:
        d = c.recv(4096)
        c.sendall(b"echo:" + d)
    except Exception:
        pass
    c.close()
EOF
cat > "$T/cli.py" <<'EOF'
import socket, sys
for i in range(int(sys.argv[2])):
    c = socket.create_connection(("198.51.100.80", 8080), timeout=2)
    c.sendall(b"hello %d from %s" % (i, sys.argv[1].encode()))
    c.recv(4096); c.close()
EOF
cat > "$T/udp.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = int(sys.argv[1]); gap = float(sys.argv[2])
for i in range(n):
    s.sendto(b"x" * 1200, ("198.51.100.80", 9))
    time.sleep(gap)
EOF

# ---- the recogniser: libpcap (libnatlens source) + probe_recognize
helper=""
if [ -f "$here/$BUILD/libnatlens.a" ]; then
    cat > "$T/rec.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "natlens/source.h"
#include "natlens/probe.h"
#include "natlens/hostmeta.h"
int main(int argc, char **argv)
{
    char err[512], a[64], b[64];
    const uint8_t *bytes;
    nl_packet pkt;
    nl_probe_info pi;
    nl_source *s = source_open(argv[1], NULL, err);
    char *meta = hostmeta_read(argv[1], err);
    if (!s) { fprintf(stderr, "%s\n", err); return 2; }
    printf("meta %s\n", meta ? "yes" : "no");
    free(meta);
    while (source_next(s, &pkt, &bytes) == 1)
        if (probe_recognize(&pkt, bytes, &pi))
            printf("probe %u %s %s %s %s %u\n", pi.seq, pi.proto == 6 ? "tcp" : "udp",
                   nl_addr_str(&pi.inner_ip, a, sizeof a), pi.via,
                   nl_addr_str(&pi.seen_as_ip, b, sizeof b), pi.seen_as_port);
    source_close(s);
    return 0;
}
EOF
    if cc -std=c11 -D_GNU_SOURCE -I"$here/include" -o "$T/rec" "$T/rec.c" \
        "$here/$BUILD/libnatlens.a" $(cd "$here" && make -s --no-print-directory print-libs 2>/dev/null ||
        echo -lpcap -lm) 2>"$T/rec.err"; then
        helper="$T/rec"
    else
        echo "note: cannot build the recogniser against libnatlens.a:"; head -5 "$T/rec.err"
    fi
fi

# wait_listen FILE: until natlens-capture/tcpdump printed "listening on"
wait_listen() {
    i=0
    while ! grep -q "listening on" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { bad "no 'listening on' in $1"; cat "$1"; return 1; }
        sleep 0.1
    done
}
# stop PID: SIGINT, wait (bounded)
stop() {
    kill -INT "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { kill -9 "$1"; bad "pid $1 ignored SIGINT"; break; }
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}

mkdir -m 777 "$T/z"
# (background jobs started with ip netns exec directly, not through X: a
# function run with & gives a subshell PID that ignores SIGINT)
ip netns exec "$S" timeout 30 python3 "$T/srv.py" 25 & pids="$pids $!"
ip netns exec "$C" timeout 30 "$CAP" -i "$CI" -w "$T/z/client.pcapng" --role client --session lab1 -Z nobody 2>"$T/client.err" &
cpid=$!; pids="$pids $cpid"
ip netns exec "$S" timeout 30 "$CAP" -i "$SI" -w "$T/server.pcapng" --role server --session lab1 2>"$T/server.err" &
spid=$!; pids="$pids $spid"
ip netns exec "$R" timeout 30 "$CAP" -i "$RO" -w "$T/rot.pcapng" --role router --rotate-seconds 1 --keep 2 2>"$T/rot.err" &
rpid=$!; pids="$pids $rpid"
ip netns exec "$S" timeout 30 tcpdump -i "$SI" -U --immediate-mode -Z root -n -w "$T/server-td.pcap" 2>"$T/td.err" &
tpid=$!; pids="$pids $tpid"
wait_listen "$T/client.err"; wait_listen "$T/server.err"; wait_listen "$T/rot.err"; wait_listen "$T/td.err"
sleep 0.3

X "$C" timeout 10 python3 "$T/cli.py" client 3 || bad "tcp client failed"
X "$C" timeout 10 "$CAP" probe --to 198.51.100.80:8080 --all-sources --count 2 --rate 50 \
    --session lab1 > "$T/probe-tcp.out" 2>"$T/probe-tcp.err" || bad "probe tcp exit $?"
X "$C" timeout 10 "$CAP" probe --to 198.51.100.80:5353 --proto udp --count 2 --rate 50 \
    --session lab1 > "$T/probe-udp.out" 2>"$T/probe-udp.err" || bad "probe udp exit $?"
sleep 0.3
X "$R" conntrack -L 2>/dev/null > "$T/conntrack.txt"
# A stream, with the server capture stopped in the middle of it.
ip netns exec "$C" timeout 10 python3 "$T/udp.py" 150 0.01 & upid=$!; pids="$pids $upid"
sleep 0.8
tkill=$(date +%s.%N)
stop "$spid"
wait "$upid"
sleep 0.3
stop "$tpid"; stop "$cpid"
sleep 1.2   # let the router capture rotate at least twice
stop "$rpid"

cat "$T/probe-tcp.out" "$T/probe-udp.out"
[ "$(wc -l < "$T/probe-tcp.out")" = 4 ] && ok "4 tcp probes sent (2 sources x 2)" || bad "tcp probes: $(cat "$T/probe-tcp.err")"
[ "$(wc -l < "$T/probe-udp.out")" = 2 ] && ok "2 udp probes sent" || bad "udp probes: $(cat "$T/probe-udp.err")"

# ---- files are valid pcapng for both independent readers, names kept
for f in "$T/z/client.pcapng" "$T/server.pcapng"; do
    tcpdump -nn -r "$f" > "$T/td.txt" 2>"$T/td-r.err" && ok "tcpdump reads $(basename "$f") ($(wc -l < "$T/td.txt") packets)" \
        || bad "tcpdump -r $f: $(cat "$T/td-r.err")"
    tshark -r "$f" -T fields -e frame.interface_name > "$T/ts.txt" 2>"$T/ts.err"
    [ $? = 0 ] && ! tshark_err "$T/ts.err" >/dev/null && ok "tshark reads $(basename "$f") cleanly" || bad "tshark -r $f: $(tshark_err "$T/ts.err")"
    want=$CI; [ "$f" = "$T/server.pcapng" ] && want=$SI
    [ "$(sort -u "$T/ts.txt")" = "$want" ] && ok "interface name $want in every packet" || bad "interface names: $(sort -u "$T/ts.txt" | head -3)"
    capinfos "$f" 2>/dev/null | grep -q "Number of stat entries = 1" && ok "ISB (drop counters) present" || bad "no ISB in $f"
done
grep -q "^0 packets dropped by kernel" "$T/server.err" && ok "server: 0 dropped" || bad "server drops: $(cat "$T/server.err")"

# ---- -Z: file created by nobody, metadata read before the drop
[ "$(stat -c %U "$T/z/client.pcapng")" = nobody ] && ok "-Z nobody: file owned by nobody" || bad "-Z: owner $(stat -c %U "$T/z/client.pcapng")"
"$CAP" meta "$T/z/client.pcapng" > "$T/client-meta.json" || bad "meta client exit $?"
python3 - "$T/client-meta.json" "$CI" <<'EOF' && ok "client metadata: role, addresses, routes, rules, NAT readable before -Z" || bad "client metadata"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["natlens_hostmeta"] == 1 and d["role"] == "client" and d["session"] == "lab1", d
assert d["capture_iface"] == sys.argv[2]
addrs = [a["local"] for i in d["addr"] for a in i.get("addr_info", [])]
assert "10.72.2.222" in addrs and "10.72.3.5" in addrs, addrs
assert any(r.get("dst") == "default" and r.get("gateway") == "10.72.2.1" for r in d["route"])
assert any(r.get("table") == "main" for r in d["rule"])
assert d["nat_rules"] is not None and "*nat" in d["nat_rules"], d.get("errors")
assert any(i["name"] == sys.argv[2] and i["mac"] for i in d["ifaces"])
assert "synced" in d["clock"]
EOF
r=$("$CAP" meta "$T/z/client.pcapng" --route-dev 198.51.100.80)
[ "$r" = "$CI via 10.72.2.1" ] && ok "route lookup from stored tables: $r" || bad "route-dev gave '$r'"
[ "$("$CAP" meta "$T/server.pcapng" --get role)" = server ] && ok "server role stored" || bad "server role"

# ---- probes: recognised at the server, seen as conntrack's reply dst
if [ -n "$helper" ]; then
    "$helper" "$T/server.pcapng" > "$T/rec.txt" || bad "recogniser failed"
    "$helper" "$T/z/client.pcapng" > "$T/rec-client.txt" || bad "recogniser failed (client)"
    cat "$T/rec.txt"
    grep -q "^meta yes" "$T/rec.txt" && ok "hostmeta_read finds the metadata" || bad "hostmeta_read"
    [ "$(grep -c '^probe' "$T/rec.txt")" = 6 ] && ok "6 probes recognised at the server" || bad "probes at server: $(grep -c '^probe' "$T/rec.txt")"
    [ "$(grep -c '^probe' "$T/rec-client.txt")" = 6 ] && ok "6 probes recognised at the client" || bad "probes at client"
    grep -q "^probe [0-9]* tcp 10.72.3.5 $CI 203.0.113.2 " "$T/rec.txt" && ok "second source 10.72.3.5 seen as 203.0.113.2" || bad "10.72.3.5 probe"
    # each probe: the server's seen_as ip:port is conntrack's reply dst:dport
    n=0
    while read -r _ seq proto inner via seen_ip seen_port; do
        sport=$(awk -v s="$seq" -v p="$proto" -v i="$inner" '$2==s && $3==p {split($4,a,":"); if (a[1]==i) print a[2]}' \
            "$T/probe-tcp.out" "$T/probe-udp.out" | head -1)
        line=$(grep "^$proto .*src=$inner dst=198.51.100.80 sport=$sport " "$T/conntrack.txt" | head -1)
        rdst=$(echo "$line" | awk '{n=0; for(i=1;i<=NF;i++) if ($i ~ /^dst=/) {n++; if (n==2) print substr($i,5)}}')
        rport=$(echo "$line" | awk '{n=0; for(i=1;i<=NF;i++) if ($i ~ /^dport=/) {n++; if (n==2) print substr($i,7)}}')
        if [ -n "$sport" ] && [ "$rdst" = "$seen_ip" ] && [ "$rport" = "$seen_port" ]; then n=$((n + 1))
        else bad "probe $seq $proto from $inner:$sport seen as $seen_ip:$seen_port, conntrack says '$rdst:$rport'"; fi
    done <<EOF
$(grep '^probe' "$T/rec.txt")
EOF
    [ $n = 6 ] && ok "all 6 probes: seen_as ip:port == conntrack reply dst:dport"
else
    echo "note: libnatlens.a unavailable; checking the probe tag with tshark only"
    tshark -r "$T/server.pcapng" -Y 'frame contains "NLPROBE1"' -T fields -e ip.src > "$T/tsp.txt" 2>/dev/null
    [ "$(grep -c '^203.0.113.2$' "$T/tsp.txt")" = 6 ] && ok "6 probe tags arrived from 203.0.113.2" || bad "probe tags: $(cat "$T/tsp.txt")"
fi
NL=${NATLENS:-$here/$BUILD/natlens}
if [ -x "$NL" ]; then
    "$NL" flows --json "$T/server.pcapng" > "$T/flows.json" 2>/dev/null || bad "natlens flows exit $?"
    python3 - "$T/flows.json" "$T/conntrack.txt" "$T/probe-tcp.out" "$T/probe-udp.out" <<'EOF' \
        && ok "natlens flows --json: 6 probes, each seen_as == conntrack reply dst:dport" || bad "natlens flows --json probes"
import json, re, sys
p = json.load(open(sys.argv[1]))["probes"]
ct = open(sys.argv[2]).read().splitlines()
sent = {}
for f in sys.argv[3:5]:
    for l in open(f):
        w = l.split()   # probe SEQ PROTO SRC:SPORT -> DST:DPORT via IF ...
        ip, port = w[3].rsplit(":", 1)
        sent[(int(w[1]), w[2], ip)] = port
assert len(p) == 6, p
for x in p:
    assert x["inner_ip"] in ("10.72.2.222", "10.72.3.5") and x["via"], x
    assert isinstance(x["seen_as_port"], int) and isinstance(x["ts"], float), x
    sport = sent[(x["seq"], x["proto"], x["inner_ip"])]
    line = [l for l in ct if l.startswith(x["proto"]) and
            " src=%s dst=198.51.100.80 sport=%s " % (x["inner_ip"], sport) in l][0]
    dst = re.findall(r"dst=(\S+)", line)[1]
    dport = re.findall(r"dport=(\d+)", line)[1]
    assert (x["seen_as_ip"], str(x["seen_as_port"])) == (dst, dport), (x, line)
EOF
else
    echo "note: no natlens binary at $NL; probes checked with the recogniser only"
fi

# ---- SIGINT mid-stream: ours must be exactly the first N packets tcpdump
# saw on the same interface (timestamps differ by a few us between the two
# sockets, so compare the packets, in order, without them)
tcpdump -t -nn -r "$T/server-td.pcap" 2>/dev/null > "$T/td-all.txt"
tcpdump -t -nn -r "$T/server.pcapng" 2>/dev/null > "$T/ours.txt"
n=$(wc -l < "$T/ours.txt")
head -n "$n" "$T/td-all.txt" > "$T/td-head.txt"
udp_ours=$(grep -c 'UDP, length 1200' "$T/ours.txt")
udp_td=$(grep -c 'UDP, length 1200' "$T/td-all.txt")
# packets tcpdump stamped more than 1 ms before our SIGINT: all must be ours
k=$(tcpdump -tt -nn -r "$T/server-td.pcap" 2>/dev/null | awk -v t="$tkill" '$1 < t - 0.001' | wc -l)
echo "stream: ours $udp_ours of $udp_td datagrams (stopped mid-stream), $n packets; $k seen by tcpdump before the signal"
if cmp -s "$T/td-head.txt" "$T/ours.txt" && [ "$udp_ours" -gt 0 ] && [ "$udp_ours" -lt "$udp_td" ] &&
   [ "$k" -gt 0 ] && [ "$k" -le "$n" ]; then
    ok "SIGINT mid-stream: the file holds every packet tcpdump saw up to our stop"
else
    bad "SIGINT mid-stream: udp $udp_ours/$udp_td, before signal $k, ours $n"; diff "$T/td-head.txt" "$T/ours.txt" | head -5
fi

# ---- rotation: at most 2 files kept, each a valid section with metadata
nrot=$(ls "$T"/rot.*.pcapng 2>/dev/null | wc -l)
first=$(ls "$T"/rot.*.pcapng | head -1)
[ "$nrot" = 2 ] && [ ! -e "$T/rot.0000.pcapng" ] && ok "rotation with --keep 2: $(cd "$T" && ls rot.*.pcapng | tr '\n' ' ')" \
    || bad "rotation: $(ls "$T"/rot.* 2>&1)"
for f in "$T"/rot.*.pcapng; do
    tshark -r "$f" > /dev/null 2>"$T/ts.err" && ! tshark_err "$T/ts.err" >/dev/null || bad "tshark -r $f: $(tshark_err "$T/ts.err")"
    [ "$("$CAP" meta "$f" --get role)" = router ] || bad "no metadata in $f"
done

# ---- a full disk: clear error, exit 1, the file valid up to that point
ip netns exec "$S" sh -c "mount -t tmpfs -o size=96k nlcaptmp '$T/z' 2>/dev/null || exit 77
    timeout 20 '$CAP' -i '$SI' -w '$T/z/full.pcapng' 2>'$T/full.err' & p=\$!
    wait \$p; echo \$? > '$T/full.rc'
    cp '$T/z/full.pcapng' '$T/full.pcapng'
    umount '$T/z'" & fpid=$!; pids="$pids $fpid"
i=0; while [ ! -e "$T/full.rc" ] && ! grep -q "listening on" "$T/full.err" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.2
X "$C" timeout 10 python3 "$T/udp.py" 150 0.002
wait "$fpid"; frc=$?
if [ "$frc" = 77 ]; then
    echo "note: tmpfs mount not possible here; full-disk check skipped"
else
    [ "$(cat "$T/full.rc" 2>/dev/null)" = 1 ] && grep -q "No space left on device" "$T/full.err" \
        && ok "full disk: exit 1, '$(grep -o 'write failed.*' "$T/full.err" | head -1)'" \
        || bad "full disk: rc $(cat "$T/full.rc" 2>/dev/null), $(cat "$T/full.err")"
    n=$(tshark -r "$T/full.pcapng" 2>"$T/ts.err" | wc -l)
    ! tshark_err "$T/ts.err" >/dev/null && [ "$n" -gt 10 ] && ok "full disk: file valid with $n packets" \
        || bad "full disk file: $n packets, $(tshark_err "$T/ts.err")"
    grep -q "last $n packets" "$T/full.err" && ok "full disk: the message's packet count matches the file" \
        || bad "full disk: message vs file ($n): $(cat "$T/full.err")"
fi

[ $fail = 0 ] && echo "t_capture_lab: all checks passed" || echo "t_capture_lab: FAILED"
exit $fail
